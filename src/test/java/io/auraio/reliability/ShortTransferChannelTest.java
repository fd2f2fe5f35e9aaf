package io.auraio.reliability;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFileChannel;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link AuraFileChannel} over short transfers, side by side with the JDK's {@code FileChannel}
 * on the same faultfs file: a short read or write is a legal result for one call, so the channel
 * must report it exactly as the JDK's does (same counts, same position), and the loops callers
 * write over it must end with the right bytes in memory and on disk.
 */
@ExtendWith(IoUringAvailable.class)
class ShortTransferChannelTest {
    private static final int SHORT_READ = 1000;
    private static final int SHORT_WRITE = 1500;
    private static final int SIZE = 200_003;

    /** Reads the whole file with the usual loop; {@return the count of each call, then the bytes} */
    private static List<Integer> readAll(FileChannel ch, ByteArrayOutputStream out) throws Exception {
        List<Integer> counts = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        int n;
        while ((n = ch.read(buf.clear())) >= 0) {
            counts.add(n);
            out.write(buf.array(), 0, n);
        }
        return counts;
    }

    @Test
    void relativeReadsAndTransferToReturnTheSameShortCountsAsFileChannelAndEndWithTheFile() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ShortChannelReads")) {
            byte[] content = TestSupport.randomBytes(SIZE, 3);
            Files.write(fs.backing().resolve("data"), content);
            fs.shortReads(SHORT_READ);
            Path path = fs.path("data");
            try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
                ByteArrayOutputStream jdkBytes = new ByteArrayOutputStream();
                ByteArrayOutputStream auraBytes = new ByteArrayOutputStream();
                List<Integer> jdkCounts;
                List<Integer> auraCounts;
                try (FileChannel jdk = FileChannel.open(path, READ);
                     FileChannel aura = AuraFileChannel.open(engine, path, READ)) {
                    jdkCounts = readAll(jdk, jdkBytes);
                    auraCounts = readAll(aura, auraBytes);
                    assertThat(aura.position()).isEqualTo(jdk.position()).isEqualTo(SIZE);
                }
                assertThat(auraCounts).isEqualTo(jdkCounts);
                assertThat(auraCounts).as("the reads were short").contains(SHORT_READ);
                assertThat(auraBytes.toByteArray()).isEqualTo(content).isEqualTo(jdkBytes.toByteArray());

                ByteArrayOutputStream transferred = new ByteArrayOutputStream();
                try (FileChannel aura = AuraFileChannel.open(engine, path, READ)) {
                    long done = 0;
                    while (done < SIZE) {
                        long n = aura.transferTo(done, SIZE - done, Channels.newChannel(transferred));
                        assertThat(n).isPositive();
                        done += n;
                    }
                    assertThat(aura.position()).as("transferTo leaves the position alone").isZero();
                }
                assertThat(transferred.toByteArray()).isEqualTo(content);
            }
        }
    }

    /** Short writes reach io_uring callers as short counts only with FUSE's synchronous direct I/O. */
    @Test
    void gatheringWritesLoopedUntilDoneLeaveTheSameBytesOnDiskAsFileChannel() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ShortChannelWrites", FaultFs.SYNC_DIRECT_IO)) {
            byte[] content = TestSupport.randomBytes(SIZE, 4);
            Files.write(fs.backing().resolve("jdk"), new byte[0]);
            Files.write(fs.backing().resolve("aura"), new byte[0]);
            fs.shortWrites(SHORT_WRITE);
            try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
                 FileChannel jdk = FileChannel.open(fs.path("jdk"), WRITE);
                 FileChannel aura = AuraFileChannel.open(engine, fs.path("aura"), WRITE)) {
                List<Long> jdkCounts = writeAll(jdk, content);
                List<Long> auraCounts = writeAll(aura, content);
                // One writev per call on both sides, cut by the filesystem at the same place.
                assertThat(auraCounts).isEqualTo(jdkCounts);
                assertThat(aura.position()).isEqualTo(jdk.position()).isEqualTo(SIZE);
                assertThat(auraCounts.size()).as("the writes were short").isGreaterThan(SIZE / SHORT_WRITE / 2);
            }
            assertThat(Files.readAllBytes(fs.backing().resolve("aura"))).isEqualTo(content)
                    .isEqualTo(Files.readAllBytes(fs.backing().resolve("jdk")));
        }
    }

    /** Writes {@code content} through three buffers with the usual gathering loop. */
    private static List<Long> writeAll(FileChannel ch, byte[] content) throws Exception {
        int third = content.length / 3;
        ByteBuffer[] srcs = {
            ByteBuffer.wrap(Arrays.copyOfRange(content, 0, third)),
            ByteBuffer.allocateDirect(third).put(content, third, third).flip(),
            ByteBuffer.wrap(Arrays.copyOfRange(content, 2 * third, content.length)),
        };
        List<Long> counts = new ArrayList<>();
        while (srcs[2].hasRemaining()) {
            counts.add(ch.write(srcs));
        }
        return counts;
    }
}
