package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.LoopDevice;
import io.auraio.testing.TestDirectory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code size()} of a file on a local file system is an {@code fstat} on the caller, as
 * FileChannel's (an open file's attributes are in memory there: nothing to wait for), not a ring
 * {@code statx}, which io_uring runs on an io-wq thread (measured 0.003x FileChannel's rate): the
 * same sizes as FileChannel's as another writer grows and shrinks the file, and no ring request.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileSizeTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void sizeFollowsAnotherWritersChangesAsFileChannelsWithoutTheRing() throws Exception {
        Path file = Files.write(dir.resolve("data"), new byte[1000]);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile aura = AuraFile.open(engine, file, READ);
             FileChannel channel = AuraFileChannel.open(engine, file, READ);
             FileChannel jdk = FileChannel.open(file, READ);
             FileChannel writer = FileChannel.open(file, WRITE)) {
            long before = ringOps(engine);
            for (long size : new long[] {1000, 0, 4096, 1L << 20, 12_345, (1L << 40) + 7, 1}) {
                if (size != 1000) {
                    if (size < writer.size()) {
                        writer.truncate(size);
                    } else {
                        writer.write(ByteBuffer.wrap(new byte[] {1}), size - 1);
                    }
                }
                assertThat(jdk.size()).isEqualTo(size);
                assertThat(aura.size()).as("AuraFile's size after the writer made it %d", size).isEqualTo(size);
                assertThat(channel.size()).as("AuraFileChannel's size").isEqualTo(size);
            }
            assertThat(ringOps(engine) - before).as("ring requests of size()").isZero();
        }
    }

    /**
     * A block device's size is the device's, as FileChannel's (which asks {@code BLKGETSIZE64}),
     * not its inode's 0, for AuraFile as for the channel; the file's offset is left where it was.
     */
    @Test
    void aBlockDevicesSizeIsTheDevicesAsFileChannels() throws Exception {
        Path image = Files.write(dir.resolve("image"), new byte[3 << 20]);
        try (LoopDevice loop = LoopDevice.over(image);
             FileChannel jdk = FileChannel.open(loop.path(), READ);
             AuraFile aura = AuraFile.open(loop.path(), READ);
             FileChannel channel = AuraFileChannel.open(loop.path(), READ)) {
            assertThat(jdk.size()).isEqualTo(3 << 20);
            assertThat(aura.size()).isEqualTo(jdk.size());
            channel.position(4096);
            assertThat(channel.size()).isEqualTo(jdk.size());
            assertThat(channel.read(ByteBuffer.allocate(16))).isEqualTo(16);
            assertThat(channel.position()).isEqualTo(4096 + 16);
        }
    }

    /** A FIFO's size is FileChannel's: 0. */
    @Test
    void aFifosSizeIsFileChannels() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (FileChannel jdk = FileChannel.open(fifo, READ, WRITE);
             AuraFile aura = AuraFile.open(fifo, READ, WRITE)) {
            assertThat(aura.size()).isEqualTo(jdk.size()).isZero();
        }
    }

    /** After Engine.close() size() fails as every other request of the file does. */
    @Test
    void sizeAfterTheEngineClosedFailsWithShutdown() throws Exception {
        Path file = Files.write(dir.resolve("data"), new byte[10]);
        Engine engine = Engine.create(Options.builder().ringCount(1).build());
        try (AuraFile aura = AuraFile.open(engine, file, READ)) {
            assertThat(aura.size()).isEqualTo(10);
            engine.close();
            assertThatThrownBy(aura::size).isInstanceOf(AuraIOException.class)
                    .matches(t -> ((AuraIOException) t).isShutdown(), "isShutdown()");
        } finally {
            engine.close();
        }
    }

    private static long ringOps(Engine engine) {
        long ops = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            ops += engine.ringStats(i).opsCompleted();
        }
        return ops;
    }
}
