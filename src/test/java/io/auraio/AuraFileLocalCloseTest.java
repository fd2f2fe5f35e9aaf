package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.engine.RingProbe;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * How {@link AuraFile#close()} closes the descriptor: a regular file opened only for reading on a
 * local page-cache file system, that still has a name, with {@code close(2)} on the calling thread
 * (no I/O to wait for; the ring round trip it saves was a fifth of reading a small file, issue
 * 17); a file open for writing, or one whose last name is gone (its close frees its blocks),
 * through the ring as before. Counted with the rings' completed requests, on an engine of the
 * test's own; the descriptor is really closed either way ({@code /proc/self/fd}).
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

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /** {@return whether descriptor {@code fd} is open on {@code file}} */
    private static boolean openOn(int fd, Path file) throws IOException {
        Path link = Path.of("/proc/self/fd", Integer.toString(fd));
        if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            return Files.readSymbolicLink(link).toString().startsWith(file.toRealPath().toString());
        } catch (java.nio.file.NoSuchFileException closedMeanwhile) {
            return false;
        }
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
            assertThat(openOn(fd, path)).isTrue();
            long before = ringRequests(engine);
            file.close();
            assertThat(ringRequests(engine)).as("ring requests made by close").isEqualTo(before);
            assertThat(openOn(fd, path)).as("descriptor %d still open on the file", fd).isFalse();

            long descriptors = openDescriptors();
            for (int i = 0; i < 2000; i++) {
                try (AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ)) {
                    f.read(ByteBuffer.allocate(4), 0);
                }
            }
            assertThat(openDescriptors()).as("descriptors open after 2000 opens and closes")
                    .isLessThan(descriptors + 50);
        }
    }

    @Test
    void writableFilesAndFilesWithoutANameAreClosedThroughTheRing() throws Exception {
        assumeLocalPageCacheFileSystem();
        Path path = Files.write(dir.resolve("data"), "0123456789".getBytes());
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            AuraFile writable = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            int fd = writable.fd();
            long before = ringRequests(engine);
            writable.close();
            assertThat(ringRequests(engine)).as("ring requests made by close of a writable file").isEqualTo(before + 1);
            assertThat(openOn(fd, path)).isFalse();

            AuraFile nameless = AuraFile.open(engine, path, StandardOpenOption.READ);
            Files.delete(path); // its last close frees its blocks: not on the caller's thread
            before = ringRequests(engine);
            nameless.close();
            assertThat(ringRequests(engine)).as("ring requests made by close of a deleted file").isEqualTo(before + 1);
        }
    }
}
