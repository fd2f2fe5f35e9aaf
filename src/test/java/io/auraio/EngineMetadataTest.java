package io.auraio;

import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.MetadataRequest.DESCRIPTOR;
import static io.auraio.MetadataRequest.RESULT;
import static io.auraio.MetadataRequest.STAT;
import static io.auraio.testing.TestSupport.HANG;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Commands;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The engine's metadata requests (openat, close, statx, fallocate, ftruncate, sync_file_range,
 * fadvise, unlinkat, renameat, mkdirat, symlinkat, linkat) in their three forms, on real files,
 * with the JDK as the oracle: the same attributes as {@code Files.readAttributes}, the same
 * exception types as {@code Files} for the same failure.
 */
@ExtendWith(IoUringAvailable.class)
class EngineMetadataTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(2).build());
    }

    @AfterEach
    void closeEngine() {
        Engine.forceTruncateOffload = false;
        try {
            assertNothingLeaked(engine);
        } finally {
            engine.close();
        }
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(HANG.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        }
    }

    /** {@return the exception {@code call} throws, or null} */
    private static Throwable thrown(ThrowingCall call) {
        try {
            call.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    @FunctionalInterface
    private interface ThrowingCall {
        void run() throws Exception;
    }

    /** Asserts that both calls fail with the same exception type (or both succeed). */
    private static void sameOutcome(ThrowingCall ours, ThrowingCall jdks) {
        Throwable a = thrown(ours);
        Throwable b = thrown(jdks);
        assertThat(a == null ? null : a.getClass()).as("ours: %s, the JDK's: %s", a, b)
                .isEqualTo(b == null ? null : b.getClass());
    }

    private static void assertSameAttributes(FileStat ours, Path path, LinkOption... options) throws IOException {
        BasicFileAttributes jdk = Files.readAttributes(path, BasicFileAttributes.class, options);
        assertThat(ours.size()).isEqualTo(jdk.size());
        assertThat(ours.isRegularFile()).isEqualTo(jdk.isRegularFile());
        assertThat(ours.isDirectory()).isEqualTo(jdk.isDirectory());
        assertThat(ours.isSymbolicLink()).isEqualTo(jdk.isSymbolicLink());
        assertThat(ours.isOther()).isEqualTo(jdk.isOther());
        assertThat(ours.lastModifiedTime()).isEqualTo(jdk.lastModifiedTime());
        assertThat(ours.lastAccessTime()).isEqualTo(jdk.lastAccessTime());
        assertThat(ours.creationTime()).isEqualTo(jdk.creationTime());
        Map<String, Object> unix = Files.readAttributes(path, "unix:*", options);
        assertThat(ours.mode()).isEqualTo(unix.get("mode"));
        assertThat(ours.inode()).isEqualTo(unix.get("ino"));
        assertThat(ours.device()).isEqualTo(unix.get("dev"));
        assertThat(ours.rdev()).isEqualTo(unix.get("rdev"));
        assertThat(ours.linkCount()).isEqualTo(unix.get("nlink"));
        assertThat(ours.uid()).isEqualTo(unix.get("uid"));
        assertThat(ours.gid()).isEqualTo(unix.get("gid"));
        assertThat(ours.lastChangeTime()).isEqualTo(unix.get("ctime"));
    }

    // ---- statx -------------------------------------------------------------------------------

    @Test
    void statxReportsWhatTheJdkReports() throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, new byte[12345]);
        Path sub = Files.createDirectory(dir.resolve("d"));
        Path link = Files.createSymbolicLink(dir.resolve("l"), file);
        assertSameAttributes(get(engine.statxAsync(file)), file);
        assertSameAttributes(get(engine.statxAsync(sub)), sub);
        assertSameAttributes(get(engine.statxAsync(link)), link);
        assertSameAttributes(get(engine.statxAsync(link, LinkOption.NOFOLLOW_LINKS)), link, LinkOption.NOFOLLOW_LINKS);
        assertSameAttributes(get(engine.statxAsync(Path.of("/dev/null"))), Path.of("/dev/null"));
        assertSameAttributes(engine.execute(MetadataRequest.stat(engine.core(), file), STAT), file);
        try (FileChannel ch = FileChannel.open(file)) {
            // The descriptor form, on a descriptor the engine opened itself.
            int fd = get(engine.openatAsync(file));
            try {
                assertSameAttributes(get(engine.statxAsync(fd)), file);
            } finally {
                get(engine.closeAsync(fd));
            }
            assertThat(ch.size()).isEqualTo(12345);
        }
    }

    /**
     * A time outside {@link java.time.Instant}'s range (tmpfs keeps any 64-bit second, and anyone
     * may set one with utimensat): the JDK reports it, and decoding it must neither fail the
     * request nor stop the ring (the decoding runs on its poller).
     */
    @Test
    void statxOfATimeBeyondInstantsRangeReportsWhatTheJdkReportsAndTheRingGoesOn() throws Exception {
        Path shm = Path.of("/dev/shm");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm),
                "needs a writable /dev/shm (tmpfs, which keeps 64-bit times)");
        Path file = Files.createTempFile(shm, "auraio-far-future", "");
        try {
            // With touch: the JDK's setLastModifiedTime stops at 2262 (nanoseconds in a long).
            Commands.Ran touch = Commands.run("touch", "-m", "-d", "@" + (1L << 62), file.toString());
            org.junit.jupiter.api.Assumptions.assumeTrue(touch.succeeded(), "touch -d failed: " + touch);
            Map<String, Object> unix = Files.readAttributes(file, "unix:lastModifiedTime");
            org.junit.jupiter.api.Assumptions.assumeTrue(((java.nio.file.attribute.FileTime) unix.get(
                    "lastModifiedTime")).to(TimeUnit.SECONDS) > 31_556_889_864_403_199L,
                    "the file system kept " + unix + ", within Instant's range");
            for (int i = 0; i < 2; i++) { // both rings
                assertSameAttributes(get(engine.statxAsync(file)), file);
            }
            assertSameAttributes(engine.execute(MetadataRequest.stat(engine.core(), file), STAT), file);
            assertThat(engine.fatalError()).isNull();
            assertSameAttributes(get(engine.statxAsync(dir.path())), dir.path());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void statxFailsAsTheJdk() {
        Path missing = dir.resolve("missing");
        sameOutcome(() -> get(engine.statxAsync(missing)),
                () -> Files.readAttributes(missing, BasicFileAttributes.class));
        sameOutcome(() -> engine.execute(MetadataRequest.stat(engine.core(), missing), STAT),
                () -> Files.readAttributes(missing, BasicFileAttributes.class));
        assertThatThrownBy(() -> get(engine.statxAsync(123_456))).isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(9)); // EBADF
        assertThatThrownBy(() -> engine.statxAsync(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.statxAsync((Path) null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void statxCallbackGetsTheAttributes() throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, new byte[77]);
        AtomicReference<FileStat> got = new AtomicReference<>();
        long[] result = {1};
        Request r = engine.statx(file, (request, res, stat) -> {
            result[0] = res;
            got.set(stat);
        }, "a");
        assertThat(r.attachment()).isEqualTo("a");
        engine.drain(HANG.toMillis());
        assertThat(result[0]).isZero();
        assertSameAttributes(got.get(), file);
        engine.statx(dir.resolve("missing"), (request, res, stat) -> {
            result[0] = res;
            got.set(stat);
        }, null);
        engine.drain(HANG.toMillis());
        assertThat(result[0]).isEqualTo(-2); // ENOENT
        assertThat(got.get()).isNull();
    }

    // ---- openat and close ----------------------------------------------------------------------

    @Test
    void openatOpensAsFilesWouldAndCloseClosesIt() throws Exception {
        Path file = dir.resolve("new");
        int fd = get(engine.openatAsync(file, CREATE_NEW, WRITE));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocateFrom("hello");
            assertThat(get(engine.writeAsync(fd, BufferRef.of(data), 5, 0))).isEqualTo(5);
        } finally {
            get(engine.closeAsync(fd));
        }
        assertThat(Files.readString(file)).isEqualTo("hello");
        sameOutcome(() -> get(engine.openatAsync(file, CREATE_NEW, WRITE)),
                () -> Files.newByteChannel(file, CREATE_NEW, WRITE).close());
        Path missing = dir.resolve("missing");
        sameOutcome(() -> get(engine.openatAsync(missing, READ)), () -> Files.newByteChannel(missing, READ).close());
        assertThatThrownBy(() -> engine.openatAsync(file, java.nio.file.StandardOpenOption.DELETE_ON_CLOSE))
                .isInstanceOf(UnsupportedOperationException.class);
        // A closed descriptor: EBADF, as close(2) says.
        assertThatThrownBy(() -> get(engine.closeAsync(fd))).isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(9));
        // The blocking form.
        int fd2 = engine.execute(MetadataRequest.open(engine.core(), file, READ), DESCRIPTOR);
        assertThat(engine.execute(MetadataRequest.close(engine.core(), fd2), RESULT)).isZero();
    }

    @Test
    void openatCallbackGetsTheDescriptor() throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, new byte[3]);
        long[] fd = {-1};
        engine.openat(file, (r, res) -> fd[0] = res, null, READ);
        engine.drain(HANG.toMillis());
        assertThat(fd[0]).isGreaterThanOrEqualTo(0);
        long[] closed = {-1};
        engine.close((int) fd[0], (r, res) -> closed[0] = res, null);
        engine.drain(HANG.toMillis());
        assertThat(closed[0]).isZero();
    }

    // ---- fallocate, ftruncate, sync_file_range, fadvise ------------------------------------------

    @Test
    void fallocateAndFtruncateChangeTheSizeAsFileChannel() throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, new byte[100]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            assertThat(get(engine.fallocateAsync(fd, 0, 8192, AllocateMode.ALLOCATE))).isZero();
            assertThat(Files.size(file)).isEqualTo(8192);
            assertThat(get(engine.fallocateAsync(fd, 8192, 4096, AllocateMode.KEEP_SIZE))).isZero();
            assertThat(Files.size(file)).isEqualTo(8192);
            assertThat(get(engine.ftruncateAsync(fd, 10))).isZero();
            assertThat(Files.size(file)).isEqualTo(10);
            Engine.forceTruncateOffload = true; // the path of kernels before 6.9
            assertThat(get(engine.ftruncateAsync(fd, 20))).isZero();
            assertThat(Files.size(file)).isEqualTo(20);
            long[] result = {1};
            engine.ftruncate(fd, 30, (r, res) -> result[0] = res, null);
            engine.drain(HANG.toMillis());
            assertThat(result[0]).isZero();
            assertThat(Files.size(file)).isEqualTo(30);
            assertThat(engine.execute(MetadataRequest.truncate(fd, 40), RESULT)).isZero();
            assertThat(Files.size(file)).isEqualTo(40);
            Engine.forceTruncateOffload = false;
            assertThat(engine.execute(MetadataRequest.truncate(fd, 50), RESULT)).isZero();
            assertThat(Files.size(file)).isEqualTo(50);
        } finally {
            get(engine.closeAsync(fd));
        }
        assertThatThrownBy(() -> engine.ftruncateAsync(0, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.fallocateAsync(0, 0, 0, AllocateMode.ALLOCATE))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void punchHoleReadsAsZeros() throws Exception {
        Path file = dir.resolve("f");
        byte[] ones = new byte[16384];
        java.util.Arrays.fill(ones, (byte) 1);
        Files.write(file, ones);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            Throwable t = thrown(() -> get(engine.fallocateAsync(fd, 4096, 4096, AllocateMode.PUNCH_HOLE)));
            org.junit.jupiter.api.Assumptions.assumeTrue(t == null, "the test directory's file system cannot punch "
                    + "holes: " + t);
        } finally {
            get(engine.closeAsync(fd));
        }
        byte[] after = Files.readAllBytes(file);
        assertThat(after).hasSize(16384);
        assertThat(after[4095]).isEqualTo((byte) 1);
        assertThat(java.util.Arrays.copyOfRange(after, 4096, 8192)).containsOnly((byte) 0);
        assertThat(after[8192]).isEqualTo((byte) 1);
    }

    @Test
    void syncFileRangeAndFadviseSucceedOnAFileAndFailOnABadDescriptor() throws Exception {
        Path file = dir.resolve("f");
        Files.write(file, new byte[8192]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            assertThat(get(engine.syncFileRangeAsync(fd, 0, 0, SyncRangeFlag.WAIT_BEFORE, SyncRangeFlag.WRITE,
                    SyncRangeFlag.WAIT_AFTER))).isZero();
            for (Advice a : Advice.values()) {
                assertThat(get(engine.fadviseAsync(fd, 0, 4096, a))).isZero();
            }
        } finally {
            get(engine.closeAsync(fd));
        }
        assertThatThrownBy(() -> get(engine.syncFileRangeAsync(fd, 0, 0, SyncRangeFlag.WRITE)))
                .isInstanceOf(AuraIOException.class);
        assertThatThrownBy(() -> get(engine.fadviseAsync(fd, 0, 0, Advice.NORMAL)))
                .isInstanceOf(AuraIOException.class);
        assertThatThrownBy(() -> engine.fadviseAsync(0, 0, 1L << 32, Advice.NORMAL))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- unlinkat, renameat, mkdirat, symlinkat, linkat --------------------------------------------

    @Test
    void unlinkatRemovesAsFilesDeleteAndFailsAsIt() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        assertThat(get(engine.unlinkatAsync(file, false))).isZero();
        assertThat(Files.exists(file, LinkOption.NOFOLLOW_LINKS)).isFalse();
        sameOutcome(() -> get(engine.unlinkatAsync(file, false)), () -> Files.delete(file));
        Path full = Files.createDirectory(dir.resolve("full"));
        Files.write(full.resolve("x"), new byte[1]);
        sameOutcome(() -> get(engine.unlinkatAsync(full, true)), () -> Files.delete(full));
        assertThatThrownBy(() -> get(engine.unlinkatAsync(full, true))).isInstanceOf(DirectoryNotEmptyException.class);
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThat(engine.execute(MetadataRequest.unlink(engine.core(), empty, true), RESULT)).isZero();
        assertThat(Files.exists(empty)).isFalse();
        long[] result = {1};
        engine.unlinkat(full.resolve("x"), false, (r, res) -> result[0] = res, null);
        engine.drain(HANG.toMillis());
        assertThat(result[0]).isZero();
    }

    @Test
    void renameatMovesAsFilesMove() throws Exception {
        Path a = Files.writeString(dir.resolve("a"), "A");
        Path b = Files.writeString(dir.resolve("b"), "B");
        sameOutcome(() -> get(engine.renameatAsync(a, b)), () -> Files.move(a, b));
        assertThatThrownBy(() -> get(engine.renameatAsync(a, b))).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(get(engine.renameatAsync(a, b, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE))).isZero();
        assertThat(Files.readString(b)).isEqualTo("A");
        assertThat(Files.exists(a)).isFalse();
        sameOutcome(() -> get(engine.renameatAsync(a, b)), () -> Files.move(a, b));
        assertThatThrownBy(() -> engine.renameatAsync(b, a, StandardCopyOption.COPY_ATTRIBUTES))
                .isInstanceOf(UnsupportedOperationException.class);
        Path full = Files.createDirectory(dir.resolve("full"));
        Files.write(full.resolve("x"), new byte[1]);
        Path other = Files.createDirectory(dir.resolve("other"));
        sameOutcome(() -> get(engine.renameatAsync(other, full, StandardCopyOption.REPLACE_EXISTING)),
                () -> Files.move(other, full, StandardCopyOption.REPLACE_EXISTING));
        assertThat(engine.execute(MetadataRequest.rename(engine.core(), b, a), RESULT)).isZero();
        assertThat(Files.readString(a)).isEqualTo("A");
    }

    @Test
    void mkdiratCreatesAsFilesCreateDirectory() throws Exception {
        Path d = dir.resolve("d");
        assertThat(get(engine.mkdiratAsync(d))).isZero();
        assertThat(Files.isDirectory(d)).isTrue();
        sameOutcome(() -> get(engine.mkdiratAsync(d)), () -> Files.createDirectory(d));
        Path missingParent = dir.resolve("no/such");
        sameOutcome(() -> get(engine.mkdiratAsync(missingParent)), () -> Files.createDirectory(missingParent));
        Path p = dir.resolve("p");
        Path q = dir.resolve("q");
        var perms = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        get(engine.mkdiratAsync(p, perms));
        Files.createDirectory(q, perms);
        assertThat(Files.getPosixFilePermissions(p)).isEqualTo(Files.getPosixFilePermissions(q));
        assertThatThrownBy(() -> engine.mkdiratAsync(dir.resolve("r"), new java.nio.file.attribute.FileAttribute<>() {
            @Override
            public String name() {
                return "dos:hidden";
            }

            @Override
            public Object value() {
                return true;
            }
        })).isInstanceOf(UnsupportedOperationException.class);
    }

    /**
     * The target is stored as given: the empty path is not "." there (the kernel refuses it, as
     * the JDK's symlink call shows), and a path of another file system is refused as the JDK does.
     */
    @Test
    void symlinkatTakesItsTargetAsTheJdkDoes() throws Exception {
        sameOutcome(() -> get(engine.symlinkatAsync(dir.resolve("ours"), Path.of(""))),
                () -> Files.createSymbolicLink(dir.resolve("jdks"), Path.of("")));
        assertThat(Files.exists(dir.resolve("ours"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        try (java.nio.file.FileSystem zip = java.nio.file.FileSystems.newFileSystem(dir.resolve("z.zip"),
                Map.of("create", "true"))) {
            Path other = zip.getPath("/inside");
            sameOutcome(() -> get(engine.symlinkatAsync(dir.resolve("ours2"), other)),
                    () -> Files.createSymbolicLink(dir.resolve("jdks2"), other));
            assertThat(Files.exists(dir.resolve("ours2"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        }
    }

    @Test
    void symlinkatAndLinkatLinkAsFiles() throws Exception {
        Path target = Files.writeString(dir.resolve("t"), "T");
        Path link = dir.resolve("link");
        assertThat(get(engine.symlinkatAsync(link, Path.of("t")))).isZero();
        assertThat(Files.readSymbolicLink(link)).isEqualTo(Path.of("t"));
        assertThat(Files.readString(link)).isEqualTo("T");
        sameOutcome(() -> get(engine.symlinkatAsync(link, Path.of("t"))),
                () -> Files.createSymbolicLink(link, Path.of("t")));
        Path hard = dir.resolve("hard");
        assertThat(get(engine.linkatAsync(hard, target))).isZero();
        assertThat(Files.isSameFile(hard, target)).isTrue();
        sameOutcome(() -> get(engine.linkatAsync(hard, target)), () -> Files.createLink(hard, target));
        Path missing = dir.resolve("missing");
        sameOutcome(() -> get(engine.linkatAsync(dir.resolve("h2"), missing)),
                () -> Files.createLink(dir.resolve("h3"), missing));
        // NOFOLLOW_LINKS links the symbolic link itself, as Files.createLink does.
        Path ofLink = dir.resolve("oflink");
        get(engine.linkatAsync(ofLink, link, LinkOption.NOFOLLOW_LINKS));
        assertThat(Files.isSymbolicLink(ofLink)).isTrue();
        Path followed = dir.resolve("followed");
        get(engine.linkatAsync(followed, link));
        assertThat(Files.isSymbolicLink(followed)).isFalse();
        assertThat(Files.isSameFile(followed, target)).isTrue();
    }

    // ---- lifecycle -----------------------------------------------------------------------------------

    @Test
    void aClosedEngineRefusesEveryForm() throws Exception {
        Engine other = Engine.create(Options.builder().ringCount(1).build());
        other.close();
        Path file = dir.resolve("f");
        assertThatThrownBy(() -> get(other.statxAsync(file))).isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).isShutdown()).isTrue());
        assertThatThrownBy(() -> other.mkdirat(file, null, null)).isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).isShutdown()).isTrue());
        assertThatThrownBy(() -> other.execute(MetadataRequest.unlink(other.core(), file, false), RESULT))
                .isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).isShutdown()).isTrue());
        assertThat(other.core().pool().outstandingBuffers()).isZero();
    }

    @Test
    void manyConcurrentStatsFromVirtualThreadsAllAgreeWithTheJdk() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[4242]);
        BasicFileAttributes jdk = Files.readAttributes(file, BasicFileAttributes.class);
        try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            var futures = new java.util.ArrayList<java.util.concurrent.Future<FileStat>>();
            for (int i = 0; i < 200; i++) {
                futures.add(executor.submit(() -> engine.execute(MetadataRequest.stat(engine.core(), file), STAT)));
            }
            for (var f : futures) {
                FileStat s = f.get(HANG.toSeconds(), TimeUnit.SECONDS);
                assertThat(s.size()).isEqualTo(jdk.size());
                assertThat(s.lastModifiedTime()).isEqualTo(jdk.lastModifiedTime());
            }
        }
    }
}
