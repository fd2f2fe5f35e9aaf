package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.engine.RingProbe;
import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.Descriptors;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * How {@link AuraFile#close()} closes the descriptor: a regular file opened only for reading on a
 * local page-cache file system, that still has a name, with {@code close(2)} on the calling thread
 * (no I/O to wait for; the ring round trip it saves was a fifth of reading a small file, issue
 * 17); a file open for writing through the ring; one whose last name is gone (its close frees
 * its pages and blocks, on the closing thread) on the blocking offload's pool. Counted with the
 * rings' completed requests, on an engine of the test's own; the descriptor is really closed
 * either way ({@link Descriptors}).
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileLocalCloseTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static long ringRequests(Engine engine) {
        return RingProbe.opsCompleted(engine.core());
    }

    private void assumeLocalPageCacheFileSystem() throws IOException {
        String type = Files.getFileStore(dir.path()).type();
        assumeTrue(Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "bcachefs").contains(type),
                "the test directory is on " + type + ", not a local page-cache file system");
    }

    @Test
    void aReadOnlyFileIsClosedWithoutARingRequest() throws Exception {
        assumeLocalPageCacheFileSystem();
        Path path = Files.write(dir.resolve("data"), "0123456789".getBytes());
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            AuraFile file = AuraFile.open(engine, path, StandardOpenOption.READ);
            ByteBuffer buf = ByteBuffer.allocate(16);
            assertThat(file.read(buf, 0)).isEqualTo(10);
            int fd = file.fd();
            assertThat(Descriptors.isOpenOn(fd, path)).isTrue();
            long before = ringRequests(engine);
            file.close();
            assertThat(ringRequests(engine)).as("ring requests made by close").isEqualTo(before);
            assertThat(Descriptors.isOpenOn(fd, path)).as("descriptor %d still open on the file", fd).isFalse();

            Map<Integer, String> descriptors = Descriptors.open();
            for (int i = 0; i < 2000; i++) {
                try (AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ)) {
                    f.read(ByteBuffer.allocate(4), 0);
                }
            }
            Descriptors.assertNoneNew(descriptors, "2000 opens and closes");
        }
    }

    /**
     * A writable file's close may start writeback (ext4 after O_TRUNC): off a virtual thread's
     * carrier and off the pollers, on the blocking offload's pool (a ring CLOSE waited for a
     * poller's wake-up, then ran on the poller).
     */
    @Test
    void aWritableFileIsClosedOnTheOffloadNotThroughTheRing() throws Exception {
        assumeLocalPageCacheFileSystem();
        Path path = Files.write(dir.resolve("data"), "0123456789".getBytes());
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            AuraFile writable = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            int fd = writable.fd();
            long ringBefore = ringRequests(engine);
            long poolBefore = io.auraio.internal.offload.BlockingOffload.shared().callsOnPool();
            io.auraio.testing.TestSupport.onVirtualThread(() -> {
                writable.close();
                return null;
            });
            assertThat(ringRequests(engine)).as("ring requests made by close of a writable file").isEqualTo(ringBefore);
            assertThat(io.auraio.internal.offload.BlockingOffload.shared().callsOnPool() - poolBefore)
                    .as("calls on the offload's pool").isEqualTo(1);
            assertThat(Descriptors.isOpenOn(fd, path)).isFalse();
        }
    }

    /**
     * The last close of a file without a name frees its pages and blocks on the thread that makes
     * it; a ring's CLOSE made the poller do it (its ring serving nothing meanwhile). On the
     * offload's pool instead, whatever the file was opened for, DELETE_ON_CLOSE included.
     */
    @Test
    void aFileWithoutANameIsClosedOnTheOffloadPoolNotOnARing() throws Exception {
        assumeLocalPageCacheFileSystem();
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            Path path = dir.resolve("data");
            for (Set<StandardOpenOption> options : List.of(Set.of(StandardOpenOption.READ),
                    Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE),
                    Set.of(StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE))) {
                Files.write(path, new byte[1 << 20]);
                AuraFile nameless = AuraFile.open(engine, path, options);
                Files.deleteIfExists(path);
                int fd = nameless.fd();
                long ringBefore = ringRequests(engine);
                long poolBefore = BlockingOffload.shared().callsOnPool();
                Thread closer = Thread.ofVirtual().start(() -> {
                    try {
                        nameless.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                closer.join();
                assertThat(ringRequests(engine)).as("ring requests made by close, %s", options).isEqualTo(ringBefore);
                assertThat(BlockingOffload.shared().callsOnPool()).as("calls on the offload's pool, %s", options)
                        .isGreaterThan(poolBefore);
                assertThat(Descriptors.isOpenOn(fd, path))
                        .as("descriptor %d still open on the deleted file, %s", fd, options).isFalse();
            }
        }
    }

    /** The cleaner's close of a file dropped without close() takes the same way: no ring request. */
    @Test
    void anUnreachableFileWithoutANameIsNotClosedThroughTheRing() throws Exception {
        assumeLocalPageCacheFileSystem();
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            Path path = Files.write(dir.resolve("data"), new byte[1 << 20]);
            int fd = openAndDrop(engine, path);
            Files.delete(path);
            long before = ringRequests(engine);
            for (int i = 0; i < 500 && Descriptors.isOpenOn(fd, path); i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertThat(Descriptors.isOpenOn(fd, path)).as("descriptor %d closed by the cleaner", fd).isFalse();
            assertThat(ringRequests(engine)).as("ring requests made by the cleaner's close").isEqualTo(before);
        }
    }

    private static int openAndDrop(Engine engine, Path path) throws IOException {
        // Writable: were it closed as a file with a name, that would be through the ring.
        AuraFile file = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        file.read(ByteBuffer.allocate(4), 0);
        return file.fd();
    }
}
