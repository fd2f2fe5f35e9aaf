package io.auraio;

import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile review of the engine's request API beyond plain reads and writes: metadata requests
 * with awkward arguments, registered files and buffers misused, request handles used after the
 * fact. Each case ends with the engine still serving and nothing leaked.
 */
@ExtendWith(IoUringAvailable.class)
class EngineRequestsReviewTest {
    /** What /proc/self/fd names an io_uring descriptor. */
    private static final String RING = "anon_inode:[io_uring]";

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private final List<Integer> openFds = new ArrayList<>();

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(2).build());
    }

    @AfterEach
    void closeEverything() throws Exception {
        try {
            assertServing(engine);
            assertNothingLeaked(engine);
        } finally {
            engine.close();
            for (int fd : openFds) {
                Posix.close(fd);
            }
        }
    }

    /** The engine still answers a request: a statx of the test directory. */
    private void assertServing(Engine e) throws Exception {
        assertThat(e.statxAsync(dir.path()).get(HANG.toSeconds(), TimeUnit.SECONDS).isDirectory())
                .as("the engine still serves").isTrue();
    }

    private int open(Path path, int flags) throws IOException {
        int fd = Posix.open(path, flags);
        openFds.add(fd);
        return fd;
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(HANG.toSeconds(), TimeUnit.SECONDS);
    }

    /** {@return the exception {@code f} failed with} */
    private static Throwable failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(HANG.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("the request succeeded");
    }

    // ---- paths ----------------------------------------------------------------------------------

    /** A path longer than PATH_MAX fails as the JDK's: a FileSystemException, "File name too long". */
    @Test
    void aPathOverPathMaxFailsAsTheJdks() throws Exception {
        Path longPath = dir.resolve("x".repeat(200) + "/" + "y".repeat(200)).resolve("z".repeat(4000));
        Throwable jdk = org.assertj.core.api.Assertions.catchThrowable(
                () -> Files.readAttributes(longPath, java.nio.file.attribute.BasicFileAttributes.class));
        assertThat(jdk).isInstanceOf(FileSystemException.class);
        Throwable ours = failure(engine.statxAsync(longPath));
        assertThat(ours).isExactlyInstanceOf(jdk.getClass());
        assertThat(((FileSystemException) ours).getReason()).isEqualTo(((FileSystemException) jdk).getReason());
        assertThat(failure(engine.openatAsync(longPath))).isExactlyInstanceOf(jdk.getClass());
        assertThat(failure(engine.unlinkatAsync(longPath, false))).isExactlyInstanceOf(jdk.getClass());
    }

    /** Paths with a NUL never reach the engine: the JDK refuses to make them. */
    @Test
    void aPathWithANulIsRefusedBeforeTheEngine() {
        assertThatThrownBy(() -> Path.of(dir.path() + "/a\0b"))
                .isInstanceOf(java.nio.file.InvalidPathException.class).hasMessageContaining("Nul character");
    }

    /**
     * A Path implementation of its own that claims the default file system and holds a NUL (the
     * JDK's Path.of refuses one): refused as the JDK refuses such a string, InvalidPathException
     * "Nul character not allowed". The kernel stopped at the NUL: it deleted, opened, renamed a
     * different file, the path's prefix.
     */
    @Test
    void aForeignPathWithANulNeverReachesTheFileItsPrefixNames() throws Exception {
        Path victim = Files.write(dir.resolve("victim"), randomBytes(10, 1));
        Path nul = pathOfString(victim + "\0.tmp");
        Path nulDir = pathOfString(dir.resolve("newdir") + "\0x");
        List<org.assertj.core.api.ThrowableAssert.ThrowingCallable> calls = List.of(
                () -> engine.unlinkatAsync(nul, false),
                () -> engine.unlinkat(nul, false, null, null),
                () -> engine.openatAsync(nul, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING),
                () -> engine.statxAsync(nul),
                () -> engine.renameatAsync(nul, dir.resolve("moved")),
                () -> engine.renameatAsync(dir.resolve("moved"), nul,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING),
                () -> engine.linkatAsync(dir.resolve("hard"), nul),
                () -> engine.symlinkatAsync(dir.resolve("sym"), nul),
                () -> engine.mkdiratAsync(nulDir),
                () -> AuraFile.open(engine, nul, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING));
        for (org.assertj.core.api.ThrowableAssert.ThrowingCallable call : calls) {
            assertThatThrownBy(call).isInstanceOf(java.nio.file.InvalidPathException.class)
                    .hasMessageContaining("Nul character not allowed");
        }
        assertThat(Files.readAllBytes(victim)).isEqualTo(randomBytes(10, 1));
        assertThat(dir.resolve("newdir")).doesNotExist();
        assertThat(dir.resolve("hard")).doesNotExist();
        assertThat(Files.exists(dir.resolve("sym"), LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    /** {@return a Path of its own, of the default file system, whose string is {@code s}} */
    private static Path pathOfString(String s) {
        return (Path) java.lang.reflect.Proxy.newProxyInstance(Path.class.getClassLoader(),
                new Class<?>[] {Path.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "toString" -> s;
                    case "getFileSystem" -> java.nio.file.FileSystems.getDefault();
                    case "hashCode" -> s.hashCode();
                    case "equals" -> proxy == args[0];
                    case "isAbsolute" -> s.startsWith("/");
                    case "toAbsolutePath", "normalize" -> proxy;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /**
     * The empty path names the working directory, as for the JDK: a directory for statx, and
     * removing it fails as Files.delete(Path.of("")) fails (rmdir of "." is EINVAL).
     */
    @Test
    void theEmptyPathIsTheWorkingDirectory() throws Exception {
        assertThat(await(engine.statxAsync(Path.of(""))).isDirectory())
                .isEqualTo(Files.isDirectory(Path.of("")));
        Throwable jdk = org.assertj.core.api.Assertions.catchThrowable(() -> Files.delete(Path.of("")));
        assertThat(jdk).isInstanceOf(FileSystemException.class);
        assertThat(failure(engine.unlinkatAsync(Path.of(""), true))).isExactlyInstanceOf(jdk.getClass())
                .hasMessage(jdk.getMessage());
        assertThat(Path.of("").toAbsolutePath()).isDirectory();
    }

    // ---- fd requests with awkward ranges --------------------------------------------------------

    /** ftruncate beyond the largest file: the JDK's RandomAccessFile.setLength fails with EFBIG too. */
    @Test
    void truncateBeyondTheLargestFileFailsAsTheJdk() throws Exception {
        Path f = Files.write(dir.resolve("t"), randomBytes(100, 1));
        int fd = open(f, Posix.O_RDWR);
        String jdk;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(Long.MAX_VALUE);
            jdk = null;
        } catch (IOException e) {
            jdk = e.getMessage();
        }
        assertThat(jdk).isEqualTo("File too large");
        Throwable ours = failure(engine.ftruncateAsync(fd, Long.MAX_VALUE));
        assertThat(ours).isInstanceOfSatisfying(AuraIOException.class, e -> assertThat(e.errno()).isEqualTo(27))
                .hasMessage("ftruncate: " + jdk);
        // The same where the kernel lacks IORING_OP_FTRUNCATE and the offload makes the call.
        Engine.forceTruncateOffload = true;
        try {
            assertThat(failure(engine.ftruncateAsync(fd, Long.MAX_VALUE))).isInstanceOfSatisfying(
                    AuraIOException.class, e -> assertThat(e.errno()).isEqualTo(27)).hasMessage("ftruncate: " + jdk);
            Completions done = new Completions();
            Request r = engine.ftruncate(fd, Long.MAX_VALUE, done, null);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(-27);
        } finally {
            Engine.forceTruncateOffload = false;
        }
        assertThat(Files.size(f)).isEqualTo(100);
    }

    /**
     * Ranges that run past the largest offset: answered as libc answers them (sync_file_range
     * EINVAL, posix_fadvise 0, fallocate EFBIG), not refused up front nor wrapped.
     */
    @Test
    void rangesPastTheLargestOffsetAreAnsweredAsLibcAnswersThem() throws Exception {
        Path f = Files.write(dir.resolve("s"), randomBytes(100, 1));
        int fd = open(f, Posix.O_RDWR);
        CompletableFuture<Long> s = engine.syncFileRangeAsync(fd, Long.MAX_VALUE - 5, 10);
        CompletableFuture<Long> a = engine.fadviseAsync(fd, Long.MAX_VALUE - 5, 10, Advice.DONT_NEED);
        assertThat(failure(s)).isInstanceOfSatisfying(AuraIOException.class, e -> assertThat(e.isInvalid()).isTrue());
        assertThat(await(a)).isZero();
        CompletableFuture<Long> al = engine.fallocateAsync(fd, Long.MAX_VALUE - 5, 5, AllocateMode.ALLOCATE);
        assertThat(failure(al)).isInstanceOfSatisfying(AuraIOException.class, e -> assertThat(e.errno()).isEqualTo(27));
        assertThat(Files.size(f)).isEqualTo(100);
        assertThatThrownBy(() -> engine.fallocateAsync(fd, Long.MAX_VALUE - 5, 10, AllocateMode.ALLOCATE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.syncFileRangeAsync(fd, -1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.fadviseAsync(fd, 0, -1, Advice.NORMAL))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.ftruncateAsync(fd, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void fdRequestsOnANumberThatIsNoDescriptorFailWithEbadf() throws Exception {
        // A number no descriptor has (beyond any open-files limit): a closed one could be reused
        // meanwhile by another thread's open.
        int fd = 1 << 30;
        for (CompletableFuture<?> c : List.of(engine.fsyncAsync(fd), engine.fdatasyncAsync(fd),
                engine.ftruncateAsync(fd, 1), engine.fallocateAsync(fd, 0, 1, AllocateMode.ALLOCATE),
                engine.syncFileRangeAsync(fd, 0, 0), engine.fadviseAsync(fd, 0, 0, Advice.NORMAL),
                engine.statxAsync(fd), engine.closeAsync(fd))) {
            assertThat(failure(c)).isInstanceOfSatisfying(AuraIOException.class,
                    e -> assertThat(e.errno()).isEqualTo(9)).hasMessageEndingWith(": Bad file descriptor");
        }
    }

    // ---- request handles ------------------------------------------------------------------------

    @Test
    void cancelAfterCompletionAndTwiceAnswersFalseAndTheCallbackRunsOnce() throws Exception {
        Completions done = new Completions();
        Request r = engine.fsync(open(Files.write(dir.resolve("c"), new byte[1]), Posix.O_RDWR), done, null);
        done.awaitCount(engine, 1);
        assertThat(r.isPending()).isFalse();
        assertThat(engine.cancel(r)).isFalse();
        assertThat(engine.cancel(r)).isFalse();
        engine.await(10);
        assertThat(done.count()).isEqualTo(1);
        assertThat(done.resultOf(r)).isZero();
    }

    @Test
    void aRequestOfAnotherEngineIsRefusedAndIsPendingAfterCloseIsFalse() throws Exception {
        Completions done = new Completions();
        Engine other = Engine.create();
        try {
            Request r = other.fsync(open(Files.write(dir.resolve("o"), new byte[1]), Posix.O_RDWR), done, null);
            assertThatThrownBy(() -> engine.cancel(r)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("another engine");
            done.awaitCount(other, 1);
            other.close();
            assertThat(r.isPending()).isFalse();
            assertThat(other.cancel(r)).isFalse();
        } finally {
            other.close();
        }
    }

    /**
     * A callback that throws: as Callback documents, the exception comes out of the call that ran
     * it; the request completed once, and the engine goes on serving.
     */
    @Test
    void aThrowingCallbackSurfacesFromAwaitAndTheEngineGoesOn() throws Exception {
        int fd = open(Files.write(dir.resolve("th"), new byte[1]), Posix.O_RDWR);
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        IllegalStateException thrown = new IllegalStateException("from the callback");
        Request r = engine.fsync(fd, (req, res) -> {
            calls.incrementAndGet();
            throw thrown;
        }, null);
        Throwable seen = null;
        long deadline = System.nanoTime() + HANG.toNanos();
        while (seen == null && System.nanoTime() < deadline) {
            try {
                engine.await(20);
            } catch (IllegalStateException e) {
                seen = e;
            }
        }
        assertThat(seen).isSameAs(thrown);
        assertThat(calls.get()).isEqualTo(1);
        assertThat(r.isPending()).isFalse();
        assertThat(engine.fatalError()).isNull();
        assertThat(engine.await(0)).isZero();
        assertThat(calls.get()).as("run once").isEqualTo(1);
    }

    // ---- registered files -----------------------------------------------------------------------

    @Test
    void updateFileRefusesBadIndexesAndDescriptors() throws Exception {
        Path f = Files.write(dir.resolve("u"), randomBytes(100, 1));
        int fd = open(f, Posix.O_RDONLY);
        assertThatThrownBy(() -> engine.updateFile(0, fd)).isInstanceOfSatisfying(AuraIOException.class,
                e -> assertThat(e.isNotFound()).isTrue());
        engine.registerFiles(fd, -1);
        assertThatThrownBy(() -> engine.updateFile(-1, fd)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.updateFile(2, fd)).isInstanceOf(IllegalArgumentException.class);
        int closed = 1 << 30; // no such descriptor, race free where a closed number could be reused
        assertThatThrownBy(() -> engine.updateFile(1, closed)).isInstanceOfSatisfying(AuraIOException.class,
                e -> assertThat(e.errno()).isEqualTo(9));
        assertThatThrownBy(() -> engine.updateFile(1, -3)).isInstanceOfSatisfying(AuraIOException.class,
                e -> assertThat(e.errno()).isEqualTo(9));
        // -2 is the kernel's "skip this slot": taken as a descriptor, the slot kept the file while
        // the engine thought it empty, and a close left the file open.
        assertThatThrownBy(() -> engine.updateFile(0, -2)).isInstanceOfSatisfying(AuraIOException.class,
                e -> assertThat(e.errno()).isEqualTo(9));
        assertThat(engine.core().fixedFileIndex(fd)).as("fd still in slot 0").isZero();
        engine.unregisterFiles();
    }

    /**
     * A descriptor registered in two slots, one of them emptied: closing it through the engine
     * must empty the other slot too, or the kernel keeps the file open (a FIFO's reader never
     * sees the end of file).
     */
    @Test
    void closeEmptiesEverySlotOfADescriptorRegisteredTwice() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        int reader = open(fifo, Posix.O_RDONLY | Posix.O_NONBLOCK);
        int writer = Posix.open(fifo, Posix.O_WRONLY);
        engine.registerFiles(writer, writer);
        engine.updateFile(0, -1);
        assertThat(await(engine.closeAsync(writer))).isZero();
        MemorySegment into = Arena.ofAuto().allocate(8);
        assertThat(await(engine.readAsync(reader, BufferRef.of(into), 8, 0)))
                .as("the reader sees the end of file: no writer is left").isZero();
        engine.unregisterFiles();
    }

    // ---- registered buffers ---------------------------------------------------------------------

    @Test
    void registerBuffersRefusesHeapEmptyHugeAndFreeableMemory() throws Exception {
        assertThatThrownBy(() -> engine.registerBuffers(MemorySegment.ofArray(new byte[16])))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.registerBuffers(new MemorySegment[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.registerBuffers(Arena.global().allocate(1).asSlice(0, 0)))
                .isInstanceOf(IllegalArgumentException.class);
        MemorySegment huge = MemorySegment.ofAddress(Arena.global().allocate(1).address()).reinterpret((1L << 30) + 1);
        assertThatThrownBy(() -> engine.registerBuffers(huge)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 GiB");
        try (Arena confined = Arena.ofConfined()) {
            MemorySegment c = confined.allocate(4096);
            assertThatThrownBy(() -> engine.registerBuffers(c)).isInstanceOf(IllegalArgumentException.class);
        }
        Arena closedArena = Arena.ofShared();
        MemorySegment gone = closedArena.allocate(4096);
        closedArena.close();
        assertThatThrownBy(() -> engine.registerBuffers(gone)).isInstanceOf(IllegalStateException.class);
        Buffer b = engine.allocateBuffer(4096);
        b.close();
        assertThatThrownBy(() -> engine.registerBuffers(b)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void fixedRequestsOutsideTheRegisteredBufferAreRefused() throws Exception {
        Path f = Files.write(dir.resolve("fx"), randomBytes(8192, 3));
        int fd = open(f, Posix.O_RDWR);
        try (Buffer b = engine.allocateBuffer(4096); Buffer same = b) {
            engine.registerBuffers(b, same);
            Throwable t1 = org.assertj.core.api.Assertions.catchThrowable(
                    () -> engine.readAsync(fd, BufferRef.fixed(0, 1), 4096, 0).join());
            Throwable t2 = org.assertj.core.api.Assertions.catchThrowable(
                    () -> engine.readAsync(fd, BufferRef.fixed(2, 0), 1, 0).join());
            Throwable t3 = org.assertj.core.api.Assertions.catchThrowable(
                    () -> engine.readAsync(fd, BufferRef.fixed(-1, 0), 1, 0).join());
            Throwable t4 = org.assertj.core.api.Assertions.catchThrowable(
                    () -> engine.readAsync(fd, BufferRef.fixed(0, -1), 1, 0).join());
            // Refused at once, before anything reaches the kernel: none is a CompletionException.
            for (Throwable t : List.of(t1, t2, t3, t4)) {
                assertThat(t).isExactlyInstanceOf(IllegalArgumentException.class);
            }
            assertThat(await(engine.readAsync(fd, BufferRef.fixed(1, 0), 4096, 4096))).isEqualTo(4096);
            engine.unregisterBuffers();
            assertThat(b.segment().toArray(JAVA_BYTE)).isEqualTo(java.util.Arrays.copyOfRange(
                    randomBytes(8192, 3), 4096, 8192));
        }
    }

    /** Overlapping and repeated segments register (the kernel allows it) and each index is its own. */
    @Test
    void overlappingAndRepeatedSegmentsServeEachByItsOwnIndex() throws Exception {
        Path f = Files.write(dir.resolve("ov"), randomBytes(4096, 5));
        int fd = open(f, Posix.O_RDONLY);
        MemorySegment g = Arena.global().allocate(8192);
        MemorySegment first = g.asSlice(0, 4096);
        engine.registerBuffers(first, g.asSlice(2048, 4096), first);
        try {
            assertThat(await(engine.readAsync(fd, BufferRef.fixed(1, 0), 4096, 0))).isEqualTo(4096);
            assertThat(g.asSlice(2048, 4096).toArray(JAVA_BYTE)).isEqualTo(randomBytes(4096, 5));
            assertThat(await(engine.readAsync(fd, BufferRef.fixed(2, 0), 1024, 0))).isEqualTo(1024);
            assertThat(g.asSlice(0, 1024).toArray(JAVA_BYTE))
                    .isEqualTo(java.util.Arrays.copyOf(randomBytes(4096, 5), 1024));
        } finally {
            engine.unregisterBuffers();
        }
    }

    /**
     * A Buffer of another engine, registered here, stays allocated when that engine closes (the
     * registration holds it): READ_FIXED into it still lands in live memory, until unregistered.
     */
    @Test
    void aRegisteredBufferOfAnotherEngineOutlivesThatEngine() throws Exception {
        Path f = Files.write(dir.resolve("ob"), randomBytes(4096, 8));
        int fd = open(f, Posix.O_RDONLY);
        Engine other = Engine.create();
        Buffer b;
        try {
            b = other.allocateBuffer(4096);
            engine.registerBuffers(b);
            b.close();
        } finally {
            other.close();
        }
        assertThat(await(engine.readAsync(fd, BufferRef.fixed(0, 0), 4096, 0))).isEqualTo(4096);
        // The closed Buffer's segment is no longer readable from Java: its bytes are checked by a
        // WRITE_FIXED of them into another file.
        Path copy = Files.createFile(dir.resolve("copy"));
        int out = open(copy, Posix.O_RDWR);
        assertThat(await(engine.writeAsync(out, BufferRef.fixed(0, 0), 4096, 0))).isEqualTo(4096);
        assertThat(Files.readAllBytes(copy)).isEqualTo(randomBytes(4096, 8));
        engine.unregisterBuffers();
        assertThat(other.core().pool().outstandingBuffers()).as("given back once unregistered").isZero();
    }

    /**
     * Cancelling a request's future, as the JDK's cancel(false), stops nothing in the kernel: the
     * request runs on, completes once (its memory back to the pool), and the future stays
     * cancelled. A future that completed first is not cancelled after.
     */
    @Test
    void aCancelledFutureLeavesItsRequestToCompleteOnce() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        int reader = open(fifo, Posix.O_RDONLY | Posix.O_NONBLOCK);
        int writer = open(fifo, Posix.O_WRONLY);
        MemorySegment into = Arena.ofAuto().allocate(8);
        CompletableFuture<Long> read = engine.readAsync(reader, BufferRef.of(into), 8, 0);
        io.auraio.AsyncFixtures.awaitInKernel(engine, 1);
        assertThat(read.cancel(true)).isTrue();
        assertThat(engine.pendingCount()).as("still in the kernel").isEqualTo(1);
        Files.write(fifo, new byte[] {1, 2, 3});
        io.auraio.testing.TestSupport.settle(() -> engine.pendingCount() == 0, HANG);
        assertThat(engine.pendingCount()).isZero();
        assertThat(read.isCancelled()).isTrue();
        assertThat(into.asSlice(0, 3).toArray(JAVA_BYTE)).as("the read took the bytes").containsExactly(1, 2, 3);
        CompletableFuture<Long> sync = engine.fsyncAsync(open(Files.write(dir.resolve("s"), new byte[1]),
                Posix.O_RDWR));
        assertThat(await(sync)).isZero();
        assertThat(sync.cancel(true)).isFalse();
        assertThat(sync.isCancelled()).isFalse();
        assertThat(writer).isNotNegative();
    }

    /**
     * A read-only segment registered (for WRITE_FIXED) is refused as a READ_FIXED destination, as
     * it is for a plain read: the kernel wrote into it before.
     */
    @Test
    void aReadOnlyRegisteredSegmentServesWritesButNoReadInto() throws Exception {
        Path f = Files.write(dir.resolve("ro"), randomBytes(4096, 3));
        int fd = open(f, Posix.O_RDWR);
        MemorySegment g = Arena.global().allocate(4096);
        g.fill((byte) 9);
        MemorySegment ro = g.asReadOnly();
        assertThatThrownBy(() -> engine.readAsync(fd, BufferRef.of(ro), 4096, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
        engine.registerBuffers(ro);
        try {
            assertThatThrownBy(() -> engine.readAsync(fd, BufferRef.fixed(0, 0), 4096, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
            assertThatThrownBy(() -> engine.read(fd, BufferRef.fixed(0, 0), 4096, 0, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
            assertThat(g.toArray(JAVA_BYTE)).as("the read-only memory is untouched").containsOnly(9);
            assertThat(await(engine.writeAsync(fd, BufferRef.fixed(0, 0), 4096, 0))).isEqualTo(4096);
            assertThat(Files.readAllBytes(f)).containsOnly(9);
        } finally {
            engine.unregisterBuffers();
        }
    }

    /**
     * An open with NOFOLLOW_LINKS of a symbolic link fails as FileChannel's: a plain IOException
     * saying NOFOLLOW_LINKS was specified (it was a FileSystemException with another message).
     */
    @Test
    void anOpenWithNoFollowLinksOfALinkFailsAsTheJdks() throws Exception {
        Path f = Files.write(dir.resolve("m"), randomBytes(10, 3));
        Path link = Files.createSymbolicLink(dir.resolve("l"), f);
        Throwable jdk = org.assertj.core.api.Assertions.catchThrowable(
                () -> Files.newByteChannel(link, LinkOption.NOFOLLOW_LINKS).close());
        assertThat(jdk).isNotNull();
        Throwable ours = failure(engine.openatAsync(link, LinkOption.NOFOLLOW_LINKS));
        assertThat(ours).isExactlyInstanceOf(jdk.getClass()).hasMessage(jdk.getMessage());
        Completions done = new Completions();
        Request r = engine.openat(link, done, null, LinkOption.NOFOLLOW_LINKS);
        done.awaitCount(engine, 1);
        assertThat(done.resultOf(r)).isEqualTo(-40); // ELOOP
        // CREATE_NEW turns NOFOLLOW_LINKS off, as for the JDK: the link exists, so EEXIST.
        assertThat(failure(engine.openatAsync(link, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW,
                LinkOption.NOFOLLOW_LINKS))).isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    }

    /** Open options, good and contradictory, are judged as Files.newByteChannel judges them. */
    @Test
    void openOptionsAreJudgedAsTheJdkJudgesThem() throws Exception {
        Path f = Files.write(dir.resolve("o"), randomBytes(10, 3));
        for (OpenOption[] opts : List.<OpenOption[]>of(
                new OpenOption[] {StandardOpenOption.READ, StandardOpenOption.APPEND},
                new OpenOption[] {StandardOpenOption.APPEND, StandardOpenOption.TRUNCATE_EXISTING},
                new OpenOption[] {StandardOpenOption.TRUNCATE_EXISTING},
                new OpenOption[] {StandardOpenOption.CREATE_NEW},
                new OpenOption[] {StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW},
                new OpenOption[] {new OpenOption() {}})) {
            Throwable jdk = org.assertj.core.api.Assertions.catchThrowable(() -> Files.newByteChannel(f, opts).close());
            Throwable ours = org.assertj.core.api.Assertions.catchThrowable(() -> {
                int fd = await(engine.openatAsync(f, opts));
                await(engine.closeAsync(fd));
            });
            if (ours instanceof ExecutionException e) {
                ours = e.getCause();
            }
            if (jdk == null) {
                assertThat(ours).as("%s", List.of(opts)).isNull();
            } else {
                assertThat(ours).as("%s", List.of(opts)).isExactlyInstanceOf(jdk.getClass());
                if (!(jdk instanceof UnsupportedOperationException)) {
                    assertThat(ours).hasMessage(jdk.getMessage());
                }
            }
        }
        assertThat(Files.size(f)).as("TRUNCATE_EXISTING without WRITE truncates nothing").isEqualTo(10);
    }

    /** Link to a directory and a mkdir attribute of the wrong type fail as the JDK's. */
    @Test
    void linkToADirectoryAndABadMkdirAttributeFailAsTheJdks() throws Exception {
        Throwable jdk = org.assertj.core.api.Assertions.catchThrowable(
                () -> Files.createLink(dir.resolve("hl"), dir.path()));
        Throwable ours = failure(engine.linkatAsync(dir.resolve("hl"), dir.path()));
        assertThat(ours).isExactlyInstanceOf(jdk.getClass()).hasMessage(jdk.getMessage());
        java.nio.file.attribute.FileAttribute<String> bad = new java.nio.file.attribute.FileAttribute<>() {
            @Override
            public String name() {
                return "posix:permissions";
            }

            @Override
            public String value() {
                return "rwx";
            }
        };
        Throwable jm = org.assertj.core.api.Assertions.catchThrowable(
                () -> Files.createDirectory(dir.resolve("d"), bad));
        assertThatThrownBy(() -> engine.mkdiratAsync(dir.resolve("d"), bad)).isExactlyInstanceOf(jm.getClass());
        assertThat(dir.resolve("d")).doesNotExist();
    }

    /**
     * The engine's own descriptors (its pollFd, its rings and their eventfds) are refused by
     * close: closed, the number went to the caller's next file, and the engine wrote its 8-byte
     * wake-ups into that file.
     */
    @Test
    void closeRefusesTheEnginesOwnDescriptors() throws Exception {
        int pollFd = engine.pollFd();
        assertThatThrownBy(() -> engine.closeAsync(pollFd)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("engine's own");
        assertThatThrownBy(() -> engine.close(pollFd, null, null)).isInstanceOf(IllegalArgumentException.class);
        Throwable chained = org.assertj.core.api.Assertions.catchThrowable(
                () -> engine.chain().close(pollFd).submitAsync());
        assertThat(chained).isInstanceOf(IllegalArgumentException.class);
        Map<Integer, String> before = Descriptors.open(EngineRequestsReviewTest::ringOrEventfd);
        Engine other = Engine.create(Options.builder().ringCount(2).build());
        try {
            java.util.Set<Integer> owned =
                    Descriptors.newSince(before, EngineRequestsReviewTest::ringOrEventfd).keySet();
            assertThat(owned).as("two rings and their eventfds, the poll eventfd").hasSizeGreaterThanOrEqualTo(5);
            for (int fd : owned) {
                assertThatThrownBy(() -> other.closeAsync(fd)).as("fd %d", fd)
                        .isInstanceOf(IllegalArgumentException.class);
            }
            assertServing(other);
        } finally {
            other.close();
        }
        // The engine goes on with its callbacks, and writes into no file of the caller's.
        Path victim = Files.write(dir.resolve("victim"), new byte[0]);
        int vfd = open(victim, Posix.O_RDWR);
        Completions done = new Completions();
        Request r = engine.fsync(vfd, done, null);
        done.awaitCount(engine, 1);
        assertThat(done.resultOf(r)).isZero();
        assertThat(Files.size(victim)).isZero();
    }

    /**
     * Cancel of a request parked in the kernel, twice: the callback runs once, with ECANCELED,
     * and later cancels answer false.
     */
    @Test
    void cancelTwiceOfAParkedRequestCompletesItOnceWithEcanceled() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        int reader = open(fifo, Posix.O_RDONLY | Posix.O_NONBLOCK);
        open(fifo, Posix.O_WRONLY); // a writer, so the read waits for data rather than ending
        MemorySegment into = Arena.ofAuto().allocate(8);
        Completions done = new Completions();
        Request r = engine.read(reader, BufferRef.of(into), 8, 0, done);
        io.auraio.AsyncFixtures.awaitInKernel(engine, 1);
        assertThat(r.isPending()).isTrue();
        assertThat(engine.cancel(r)).isTrue();
        // True while the first cancel has not reached the slot, false once it has: either way one
        // completion.
        engine.cancel(r);
        done.awaitCount(engine, 1);
        assertThat(done.resultOf(r)).isEqualTo(-AuraIOException.ECANCELED);
        assertThat(r.isPending()).isFalse();
        assertThat(engine.cancel(r)).isFalse();
        engine.await(0);
        assertThat(done.count()).isEqualTo(1);
    }

    /** A ring's descriptor (another engine's) is refused by the kernel as a registered file: EBADF. */
    @Test
    void aRingDescriptorIsRefusedAsARegisteredFile() throws Exception {
        int writer = open(Files.write(dir.resolve("w"), new byte[1]), Posix.O_RDWR);
        Map<Integer, String> before = Descriptors.open(RING::equals);
        Engine other = Engine.create(Options.builder().ringCount(1).build());
        try {
            java.util.Set<Integer> rings = Descriptors.newSince(before, RING::equals).keySet();
            org.junit.jupiter.api.Assumptions.assumeTrue(!rings.isEmpty(), "no new io_uring descriptor seen");
            int ringFd = rings.iterator().next();
            assertThatThrownBy(() -> engine.registerFiles(ringFd)).isInstanceOfSatisfying(AuraIOException.class,
                    e -> assertThat(e.errno()).isEqualTo(9));
            engine.registerFiles(writer);
            assertThatThrownBy(() -> engine.updateFile(0, ringFd)).isInstanceOfSatisfying(AuraIOException.class,
                    e -> assertThat(e.errno()).isEqualTo(9));
            assertThat(engine.core().fixedFileIndex(writer)).as("the slot kept its file").isZero();
            engine.unregisterFiles();
            assertServing(other);
        } finally {
            other.close();
        }
    }

    /** {@return whether {@code target} is an io_uring or an eventfd descriptor's} */
    private static boolean ringOrEventfd(String target) {
        return target.equals(RING) || target.equals("anon_inode:[eventfd]");
    }
}
