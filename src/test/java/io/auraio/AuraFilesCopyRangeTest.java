package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link AuraFiles#copyRange}: {@code copy_file_range(2)} between two {@link AuraFile}s, with the
 * JDK's {@code FileChannel.transferTo} (which makes the same call between two file channels) as
 * the oracle for what lands where, on real files.
 */
class AuraFilesCopyRangeTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private byte[] content;
    private Path source;

    @BeforeEach
    void source() throws IOException {
        assumeTrue(AuraIO.backend() == Backend.IO_URING, "needs io_uring: " + AuraIO.backend());
        content = new byte[3 * 1024 * 1024 + 777];
        new Random(3).nextBytes(content);
        source = dir.resolve("source");
        Files.write(source, content);
    }

    @Test
    void copiesWhatTransferToCopiesAtTheSamePositions() throws IOException {
        long[][] cases = {{0, 0, 1000}, {12345, 0, 70000}, {0, 4096, 65536}, {1_000_000, 2_000_000, 10}, {3_000_000, 5, 1 << 20}};
        for (long[] c : cases) {
            Path ours = dir.resolve("ours-" + c[0] + "-" + c[1]);
            Path jdks = dir.resolve("jdk-" + c[0] + "-" + c[1]);
            Files.write(ours, new byte[] {1, 2, 3});
            Files.write(jdks, new byte[] {1, 2, 3});
            long copied = 0;
            try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
                 AuraFile out = AuraFile.open(ours, StandardOpenOption.WRITE)) {
                long n;
                while (copied < c[2] && (n = AuraFiles.copyRange(in, c[0] + copied, out, c[1] + copied, c[2] - copied)) > 0) {
                    copied += n;
                }
            }
            long jdkCopied = 0;
            try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                 FileChannel out = FileChannel.open(jdks, StandardOpenOption.WRITE)) {
                out.position(c[1]);
                long n; // looped as ours: either may copy less per call when a signal comes (a profiler's)
                while (jdkCopied < c[2] && (n = in.transferTo(c[0] + jdkCopied, c[2] - jdkCopied, out)) > 0) {
                    jdkCopied += n;
                }
            }
            assertThat(copied).as("bytes copied, case %s", Arrays.toString(c)).isEqualTo(jdkCopied);
            assertThat(Files.readAllBytes(ours)).as("case %s", Arrays.toString(c)).isEqualTo(Files.readAllBytes(jdks));
        }
    }

    /**
     * After the files' engine closed, a copy says what a read of the same files says (ESHUTDOWN):
     * it runs on the offload, not the engine, and copied on as if nothing had closed. Failed
     * before: the copy made.
     */
    @Test
    void aCopyBetweenFilesOfAClosedEngineFailsAsTheirReadsDo() throws IOException {
        Path target = dir.resolve("after-close");
        Engine own = Engine.create(Options.builder().ringCount(1).build());
        try (AuraFile in = AuraFile.open(own, source, StandardOpenOption.READ);
             AuraFile out = AuraFile.open(own, target, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            own.close();
            AuraIOException read = org.junit.jupiter.api.Assertions.assertThrows(AuraIOException.class,
                    () -> in.read(java.nio.ByteBuffer.allocate(10), 0));
            AuraIOException copy = org.junit.jupiter.api.Assertions.assertThrows(AuraIOException.class,
                    () -> AuraFiles.copyRange(in, 0, out, 0, 100));
            assertThat(copy.isShutdown()).as("%s", copy).isTrue();
            assertThat(copy.errno()).isEqualTo(read.errno());
        }
        assertThat(Files.size(target)).isZero();
    }

    @Test
    void atOrPastTheEndCopiesNothingAndCountZeroIsZero() throws IOException {
        Path target = dir.resolve("t");
        try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
             AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            assertThat(AuraFiles.copyRange(in, content.length, out, 0, 100)).isZero();
            assertThat(AuraFiles.copyRange(in, content.length + 5000L, out, 0, 100)).isZero();
            assertThat(AuraFiles.copyRange(in, 0, out, 0, 0)).isZero();
        }
        assertThat(Files.size(target)).isZero();
    }

    @Test
    void aCallCopiesAtMostEightMebibytes() throws IOException {
        byte[] big = new byte[9 << 20];
        new Random(5).nextBytes(big);
        Files.write(source, big);
        Path target = dir.resolve("t");
        try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
             AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            // A call may copy less (the kernel's copy stops early when a signal comes, as
            // FileChannel.transferTo's), never more; calls until the end copy the rest.
            long copied = 0;
            int calls = 0;
            while (copied < big.length) {
                long n = AuraFiles.copyRange(in, copied, out, copied, Long.MAX_VALUE);
                assertThat(n).as("call %d at %d", ++calls, copied).isPositive().isLessThanOrEqualTo(8L << 20);
                copied += n;
            }
            assertThat(copied).isEqualTo(big.length);
            assertThat(calls).as("calls for 9 MiB").isGreaterThanOrEqualTo(2);
        }
        assertThat(Files.readAllBytes(target)).isEqualTo(big);
    }

    @Test
    void acrossFileSystemsItSaysMinusOneAndCopiesNothing() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        String here = Files.getFileStore(source).type();
        String there = Files.getFileStore(shm).type();
        assumeTrue(!here.equals(there), "the test directory is on " + here + " as /dev/shm: no second file system type");
        Path target = Files.createTempFile(shm, "copyrange", ".tmp");
        try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
             AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE)) {
            assertThat(AuraFiles.copyRange(in, 0, out, 0, 1000)).isEqualTo(-1);
            assertThat(Files.size(target)).isZero();
        } finally {
            Files.deleteIfExists(target);
        }
    }

    @Test
    void directOrAppendTargetSaysMinusOne() throws IOException {
        Path target = dir.resolve("t");
        Files.write(target, new byte[] {9});
        try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
             AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            assertThat(AuraFiles.copyRange(in, 0, out, 0, 1000)).isEqualTo(-1);
        }
        AuraFile direct;
        try {
            direct = AuraFile.open(source, StandardOpenOption.READ, io.auraio.testing.Direct.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            direct = null; // a file system without O_DIRECT (tmpfs): the APPEND case above stands alone
        }
        if (direct != null) {
            try (AuraFile in = direct; AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE)) {
                assertThat(AuraFiles.copyRange(in, 0, out, 0, 4096)).isEqualTo(-1);
            }
        }
        assertThat(Files.readAllBytes(target)).containsExactly(9);
    }

    @Test
    void misuseFailsAsFileChannelsTransfersDo() throws IOException {
        Path target = dir.resolve("t");
        Files.write(target, new byte[0]);
        try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
             AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE);
             AuraFile readOnlyTarget = AuraFile.open(target, StandardOpenOption.READ);
             AuraFile writeOnlySource = AuraFile.open(source, StandardOpenOption.WRITE)) {
            assertThatThrownBy(() -> AuraFiles.copyRange(in, -1, out, 0, 1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> AuraFiles.copyRange(in, 0, out, -1, 1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> AuraFiles.copyRange(in, 0, out, 0, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> AuraFiles.copyRange(in, 0, readOnlyTarget, 0, 1))
                    .isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> AuraFiles.copyRange(writeOnlySource, 0, out, 0, 1))
                    .isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> AuraFiles.copyRange(null, 0, out, 0, 1)).isInstanceOf(NullPointerException.class);
        }
        AuraFile closed = AuraFile.open(source, StandardOpenOption.READ);
        closed.close();
        try (AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE)) {
            assertThatThrownBy(() -> AuraFiles.copyRange(closed, 0, out, 0, 1)).isInstanceOf(ClosedChannelException.class);
        }
        assertThat(Files.size(target)).isZero();
    }

    @Test
    void aurafilesCopyCopiesInTheKernelAndAcrossFileSystemsAlike() throws IOException {
        Path same = dir.resolve("same-fs-copy");
        AuraFiles.copy(source, same);
        assertThat(Files.readAllBytes(same)).isEqualTo(content);
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        Path there = shm.resolve("copyrange-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            AuraFiles.copy(source, there);
            assertThat(Files.readAllBytes(there)).isEqualTo(content);
            Path back = dir.resolve("back");
            AuraFiles.copy(there, back);
            assertThat(Files.readAllBytes(back)).isEqualTo(content);
        } finally {
            Files.deleteIfExists(there);
        }
    }

    @Test
    void fromAVirtualThreadTheCallIsOffloadedAndCopiesTheSame() throws Exception {
        Path target = dir.resolve("t");
        Thread t = Thread.ofVirtual().start(() -> {
            try (AuraFile in = AuraFile.open(source, StandardOpenOption.READ);
                 AuraFile out = AuraFile.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                long position = 0;
                long n;
                while ((n = AuraFiles.copyRange(in, position, out, position, 1 << 20)) > 0) {
                    position += n;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertThat(t.join(java.time.Duration.ofSeconds(10))).as("copy finished within 10 s").isTrue();
        assertThat(Files.readAllBytes(target)).isEqualTo(content);
    }
}
