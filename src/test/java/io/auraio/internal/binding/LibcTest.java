package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Fifo;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The libc calls of the binding layer, each returning its result or a negated errno. No io_uring needed. */
class LibcTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void errnoMessagesComeFromTheCLibrary() {
        assertThat(Errno.message(2)).isEqualTo("No such file or directory");
        assertThat(Errno.message(Errno.EINVAL)).isEqualTo("Invalid argument");
        assertThat(Libc.strerror(Errno.ECANCELED)).isEqualTo("Operation canceled");
        assertThat(Libc.strerror(Errno.ESHUTDOWN)).isEqualTo("Cannot send after transport endpoint shutdown");
        assertThat(Libc.strerror(99_999)).isEqualTo("Unknown error 99999");
    }

    @Test
    void preadv2WithNowaitReadsACachedFile() throws Exception {
        byte[] content = TestSupport.randomBytes(8192, 4);
        Path path = Files.write(dir.resolve("cached"), content); // just written: in the page cache
        int fd = Libc.open(path.toString(), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(1000);
            assertThat(Libc.preadv2(fd, buffer.address(), 1000, 4000, Libc.RWF_NOWAIT)).isEqualTo(1000);
            assertThat(buffer.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(content, 4000, 5000));
            assertThat(Libc.preadv2(fd, buffer.address(), 1000, 8192, Libc.RWF_NOWAIT)).as("at the end").isZero();
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
    }

    /**
     * The linker's guarantee the library relies on: a segment passed to a downcall is kept alive
     * for the whole call, so closing its shared arena from another thread throws, as with
     * FileChannel, instead of freeing memory the kernel is about to write into.
     */
    @Test
    void aReadHoldingItsBufferKeepsASharedArenaFromClosingUntilItReturns() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Libc.canHoldDuringCall(), "no syscall numbers for this arch");
        Path fifo = Fifo.create(dir.resolve("fifo"));
        int fd = Libc.open(fifo.toString(), OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        Arena arena = Arena.ofShared();
        MemorySegment buffer = arena.allocate(8);
        long[] result = new long[1];
        // Offset -1: the stream's position, so a FIFO read blocks until data comes.
        Thread reader = Thread.ofPlatform().start(() -> result[0] = Libc.preadv2Holding(fd, buffer, buffer.address(),
                8, -1, 0));
        try {
            TestSupport.awaitCondition("the read to block in the kernel", () -> someThreadBlocksInPreadv2(fd));
            assertThatThrownBy(arena::close).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("acquired");
        } finally {
            try (Arena a = Arena.ofConfined()) {
                assertThat(Libc.write(fd, a.allocateFrom(JAVA_LONG, 42L), 8)).isEqualTo(8);
            }
            reader.join(TestSupport.HANG);
            assertThat(Libc.close(fd)).isZero();
        }
        assertThat(result[0]).isEqualTo(8);
        assertThat(buffer.get(JAVA_LONG, 0)).isEqualTo(42L);
        arena.close(); // free once the call has returned
    }

    /** Whether a thread of this process sits in {@code preadv2(fd, ...)}, per {@code /proc/self/task/<tid>/syscall}. */
    private static boolean someThreadBlocksInPreadv2(int fd) {
        String number = System.getProperty("os.arch").equals("aarch64") ? "286" : "327";
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.anyMatch(task -> {
                try {
                    return Files.readString(task.resolve("syscall")).startsWith(number + " 0x" + Integer.toHexString(fd) + " ");
                } catch (java.io.IOException gone) {
                    return false;
                }
            });
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void preadv2WithNowaitOnAFifoIsRefusedSoTheRingMustServeIt() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        int fd = Libc.open(fifo.toString(), OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(16);
            assertThat(Libc.preadv2(fd, buffer.address(), 16, 0, Libc.RWF_NOWAIT))
                    .isIn((long) -Errno.ESPIPE, (long) -Errno.EOPNOTSUPP);
            assertThat(Libc.preadv2(fd, buffer.address(), 16, -1, Libc.RWF_NOWAIT))
                    .isIn((long) -Errno.ESPIPE, (long) -Errno.EOPNOTSUPP, (long) -Errno.EAGAIN);
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
    }

    /** {@return a descriptor of the new file {@code path}, opened for reading and writing} */
    private static int createForWriting(Path path) {
        int fd = Libc.open(path.toString(), OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_CLOEXEC,
                0644);
        assertThat(fd).isNotNegative();
        return fd;
    }

    @Test
    void pwritev2WritesAndFstatSeesTheSize() throws Exception {
        Path path = dir.resolve("w");
        int fd = createForWriting(path);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocateFrom("hello");
            assertThat(Libc.pwritev2(fd, data.address(), 5, 100, 0)).isEqualTo(5);
            assertThat(Libc.fstatSize(fd)).isEqualTo(105);
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
        assertThat(Arrays.copyOfRange(Files.readAllBytes(path), 100, 105)).isEqualTo("hello".getBytes());
    }

    /**
     * The plain {@code pwrite} of the inline-write path, alone and holding the caller's memory: the
     * bytes land at the offset, a failure is a negated errno, and memory whose arena is closed is
     * refused before the kernel sees it.
     */
    @Test
    void pwriteWritesAtItsOffsetWithOrWithoutHoldingItsMemory() throws Exception {
        Path path = dir.resolve("pw");
        int fd = createForWriting(path);
        Arena shared = Arena.ofShared();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocateFrom("hello");
            assertThat(Libc.pwrite(fd, data.address(), 5, 10)).isEqualTo(5);
            assertThat(Libc.pwrite(fd, data.address(), 5, -1)).as("negative offset").isEqualTo(-Errno.EINVAL);
            assertThat(Libc.pwrite(1_000_000, data.address(), 5, 0)).isEqualTo(-Errno.EBADF);
            if (Libc.canHoldDuringCall()) {
                MemorySegment held = shared.allocateFrom("world");
                assertThat(Libc.pwriteHolding(fd, held, held.address() + 1, 4, 30)).isEqualTo(4);
                assertThat(Libc.pwriteHolding(1_000_000, held, held.address(), 5, 0)).isEqualTo(-Errno.EBADF);
                shared.close();
                assertThatThrownBy(() -> Libc.pwriteHolding(fd, held, held.address(), 5, 0))
                        .isInstanceOf(IllegalStateException.class);
            }
            assertThat(Libc.fstatSize(fd)).isEqualTo(Libc.canHoldDuringCall() ? 34 : 15);
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
        byte[] bytes = Files.readAllBytes(path);
        assertThat(Arrays.copyOfRange(bytes, 10, 15)).isEqualTo("hello".getBytes());
        if (Libc.canHoldDuringCall()) {
            assertThat(Arrays.copyOfRange(bytes, 30, 34)).isEqualTo("orld".getBytes());
        }
    }

    @Test
    void failuresComeBackAsNegatedErrno() {
        assertThat(Libc.open(dir.resolve("missing").toString(), OpenFlags.O_RDONLY, 0)).isEqualTo(-Errno.ENOENT);
        assertThat(Libc.close(1_000_000)).isEqualTo(-Errno.EBADF);
        assertThat(Libc.fstatSize(1_000_000)).isEqualTo(-Errno.EBADF);
        assertThat(Libc.preadv2(1_000_000, 0, 0, 0, Libc.RWF_NOWAIT)).isEqualTo(-Errno.EBADF);
    }

    @Test
    void eventfdCountsWakeUps() {
        int fd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        assertThat(fd).isNotNegative();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_LONG, 1L);
            assertThat(Libc.write(fd, one, 8)).isEqualTo(8);
            assertThat(Libc.write(fd, one, 8)).isEqualTo(8);
            MemorySegment counter = arena.allocate(JAVA_LONG);
            assertThat(Libc.preadv2(fd, counter.address(), 8, -1, 0)).isEqualTo(8);
            assertThat(counter.get(JAVA_LONG, 0)).isEqualTo(2);
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
    }

    @Test
    void alignedAllocReturnsAlignedMemoryOfTheAskedSize() {
        for (long alignment : new long[] {8, 512, 4096, 1 << 20}) {
            MemorySegment m = Libc.alignedAlloc(alignment, 100);
            assertThat(m.address() % alignment).isZero();
            assertThat(m.byteSize()).isEqualTo(100);
            m.fill((byte) 7); // writable over its whole size
            Libc.free(m);
        }
    }

    @Test
    void schedGetCpuNamesAnOnlineProcessor() {
        assertThat(Libc.schedGetCpu()).isNotNegative();
    }
}
