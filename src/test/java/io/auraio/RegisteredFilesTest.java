package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Registered files ({@link Engine#registerFiles}, {@link Engine#updateFile}, the deferred and
 * blocking unregister).
 *
 * <p>To prove that requests really go through the registered table ({@code IOSQE_FIXED_FILE})
 * and not through the process's descriptor table, the tests make the two disagree: after
 * registering descriptor {@code a} (file A), {@code dup2(b, a)} makes the number {@code a} name file
 * B in the process, atomically (no window where the number is free for another thread to take).
 * A request on {@code a} that reads A's bytes went through the registered table; one that reads
 * B's bytes used the plain descriptor.
 */
@ExtendWith(IoUringAvailable.class)
class RegisteredFilesTest {
    private static final int SIZE = 4096;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;
    private final List<Integer> openFds = new ArrayList<>();

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(2).build());
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeEverything() throws Exception {
        engine.close();
        for (int fd : openFds) {
            Posix.close(fd);
        }
        arena.close();
    }

    /** A file of {@link #SIZE} bytes from {@code seed}, opened with {@code flags}; closed after the test. */
    private int open(String name, long seed, int flags) throws Exception {
        Path path = dir.resolve(name);
        Files.write(path, randomBytes(SIZE, seed));
        int fd = Posix.open(path, flags);
        openFds.add(fd);
        return fd;
    }

    /** {@return the first 64 bytes read at offset 0 of {@code fd} through a callback request} */
    private byte[] readThroughEngine(int fd) throws Exception {
        Completions done = new Completions();
        MemorySegment into = arena.allocate(64);
        Request r = engine.read(fd, BufferRef.of(into), 64, 0, done);
        done.awaitCount(engine, 1);
        assertThat(done.resultOf(r)).as("read of fd %d", fd).isEqualTo(64);
        return into.toArray(JAVA_BYTE);
    }

    private byte[] readThroughFuture(int fd) throws Exception {
        MemorySegment into = arena.allocate(64);
        assertThat(engine.readAsync(fd, BufferRef.of(into), 64, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                .isEqualTo(64L);
        return into.toArray(JAVA_BYTE);
    }

    private static byte[] head(long seed) {
        return Arrays.copyOf(randomBytes(SIZE, seed), 64);
    }

    /**
     * A registered AuraFile, closed, must not serve the next file given its number: close()
     * takes its descriptor out of the registered table, so requests on the new file reach it.
     */
    @Test
    void aClosedAuraFileLeavesTheRegisteredTableSoTheNextFileWithItsNumberIsServed() throws Exception {
        Path fPath = Files.write(dir.resolve("f"), randomBytes(SIZE, 1));
        Path gPath = Files.write(dir.resolve("g"), randomBytes(SIZE, 2));
        AuraFile f = AuraFile.open(engine, fPath, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
        engine.registerFiles(f.fd());
        int number = f.fd();
        f.close();
        try (AuraFile g = AuraFile.open(engine, gPath, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            org.junit.jupiter.api.Assumptions.assumeTrue(g.fd() == number, "the next open got another number");
            assertThat(readThroughFuture(g.fd())).as("g's bytes").isEqualTo(head(2));
            MemorySegment news = arena.allocate(8);
            news.fill((byte) 7);
            assertThat(engine.writeAsync(g.fd(), BufferRef.of(news), 8, 0).join()).isEqualTo(8);
        }
        assertThat(Arrays.copyOf(Files.readAllBytes(gPath), 8)).as("the write went to g").containsOnly((byte) 7);
        assertThat(Files.readAllBytes(fPath)).as("the closed f is untouched").isEqualTo(randomBytes(SIZE, 1));
    }

    /**
     * A descriptor closed while still registered (here with close(2); also what a registerFiles
     * racing the AuraFile's close leaves): the table holds that file under the number. An AuraFile
     * opened later on the engine and given the number must be the one its requests reach (they
     * read the old file before); the other registered descriptors stay registered.
     */
    @Test
    void anAuraFileGivenTheNumberOfAStaleRegistrationIsTheFileItsRequestsReach() throws Exception {
        Path stalePath = Files.write(dir.resolve("stale"), randomBytes(SIZE, 4));
        Path newPath = Files.write(dir.resolve("new"), randomBytes(SIZE, 5));
        int stale = Posix.open(stalePath, Posix.O_RDONLY);
        int other = open("other", 6, Posix.O_RDONLY);
        int b = open("b", 7, Posix.O_RDONLY);
        engine.registerFiles(stale, other);
        Posix.close(stale); // not unregistered: the ring's table keeps the file
        try (AuraFile g = AuraFile.open(engine, newPath, java.nio.file.StandardOpenOption.READ)) {
            org.junit.jupiter.api.Assumptions.assumeTrue(g.fd() == stale, "the next open got another number");
            assertThat(readThroughFuture(g.fd())).as("the new file's bytes").isEqualTo(head(5));
            assertThat(readThroughEngine(g.fd())).as("callback requests too").isEqualTo(head(5));
        }
        Posix.dup2(b, other); // the number names b in the process, the registered file in the ring
        assertThat(readThroughEngine(other)).as("still through the registered table").isEqualTo(head(6));
        engine.unregisterFiles();
        assertNothingLeaked(engine);
    }

    @Test
    void requestsOnARegisteredDescriptorGoThroughTheRegisteredTable() throws Exception {
        int a = open("a", 1, Posix.O_RDONLY);
        int b = open("b", 2, Posix.O_RDONLY);
        engine.registerFiles(a);
        assertThat(readThroughEngine(a)).isEqualTo(head(1));

        Posix.dup2(b, a); // the number a now names file B in the process, file A in the ring
        assertThat(readThroughEngine(a)).as("through the registered table").isEqualTo(head(1));
        assertThat(readThroughFuture(a)).as("futures too").isEqualTo(head(1));
        assertThat(readThroughEngine(b)).as("an unregistered descriptor").isEqualTo(head(2));

        engine.unregisterFiles();
        assertThat(readThroughEngine(a)).as("plain descriptor after unregister").isEqualTo(head(2));
        assertNothingLeaked(engine);
    }

    @Test
    void aRegisteredFileIsStillReadAfterItsDescriptorIsClosed() throws Exception {
        Path path = dir.resolve("a");
        Files.write(path, randomBytes(SIZE, 3));
        int a = Posix.open(path, Posix.O_RDONLY); // closed by the test itself, never twice
        engine.registerFiles(a);
        Posix.close(a);
        // The kernel's table holds its own reference to the file. Whether or not another thread
        // of this JVM reuses the number meanwhile, a read on it must return A's bytes.
        assertThat(readThroughEngine(a)).isEqualTo(head(3));
        engine.unregisterFiles();
        assertNothingLeaked(engine);
    }

    @Test
    void writesAndFsyncWorkOnRegisteredDescriptors() throws Exception {
        Path path = dir.resolve("w");
        Files.write(path, new byte[0]);
        int w = Posix.open(path, Posix.O_RDWR);
        openFds.add(w);
        engine.registerFiles(-1, w);
        byte[] data = randomBytes(1000, 4);
        Completions done = new Completions();
        Request write = engine.write(w, BufferRef.of(arena.allocateFrom(JAVA_BYTE, data)), 1000, 0, done);
        Request vec = engine.writev(w, new MemorySegment[] {arena.allocateFrom(JAVA_BYTE, data)}, 1000, done);
        done.awaitCount(engine, 2);
        Request sync = engine.fsync(w, done);
        Request dsync = engine.fdatasync(w, done);
        done.awaitCount(engine, 4);
        assertThat(done.resultOf(write)).isEqualTo(1000);
        assertThat(done.resultOf(vec)).isEqualTo(1000);
        assertThat(done.resultOf(sync)).isZero();
        assertThat(done.resultOf(dsync)).isZero();
        byte[] onDisk = Files.readAllBytes(path);
        assertThat(Arrays.copyOfRange(onDisk, 0, 1000)).isEqualTo(data);
        assertThat(Arrays.copyOfRange(onDisk, 1000, 2000)).isEqualTo(data);
        engine.unregisterFiles();
        assertNothingLeaked(engine);
    }

    @Test
    void updateFilePutsANewDescriptorAtAnIndexAndMinusOneEmptiesIt() throws Exception {
        int a = open("a", 5, Posix.O_RDONLY);
        int c = open("c", 6, Posix.O_RDONLY);
        int d = open("d", 7, Posix.O_RDONLY);
        int e = open("e", 8, Posix.O_RDONLY);
        engine.registerFiles(a, -1);

        engine.updateFile(1, c);
        Posix.dup2(d, c); // c now names D in the process; index 1 still holds C
        assertThat(readThroughEngine(c)).as("c uses index 1").isEqualTo(head(6));

        Posix.dup2(e, a); // a now names E in the process; index 0 still holds A
        assertThat(readThroughEngine(a)).isEqualTo(head(5));
        engine.updateFile(0, -1);
        assertThat(readThroughEngine(a)).as("index 0 emptied: the plain descriptor").isEqualTo(head(8));
        assertThat(readThroughEngine(c)).as("index 1 untouched").isEqualTo(head(6));

        engine.unregisterFiles();
        assertThat(readThroughEngine(c)).isEqualTo(head(7));
        assertNothingLeaked(engine);
    }

    @Test
    void updateFileWithNothingRegisteredIsNotFoundAndOutsideTheTableIsIllegal() throws Exception {
        int a = open("a", 9, Posix.O_RDONLY);
        assertThatThrownBy(() -> engine.updateFile(0, a)).isInstanceOf(AuraIOException.class)
                .matches(t -> ((AuraIOException) t).isNotFound(), "isNotFound()");
        engine.registerFiles(a, -1);
        assertThatThrownBy(() -> engine.updateFile(2, a)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2");
        assertThatThrownBy(() -> engine.updateFile(-1, a)).isInstanceOf(IllegalArgumentException.class);
        engine.unregisterFiles();
        assertThatThrownBy(() -> engine.updateFile(0, a)).isInstanceOf(AuraIOException.class)
                .matches(t -> ((AuraIOException) t).isNotFound(), "isNotFound() after unregister");
        assertNothingLeaked(engine);
    }

    @Test
    void registeringTwiceIsBusyAndBadDescriptorsAreRefused() throws Exception {
        int a = open("a", 10, Posix.O_RDONLY);
        assertThatThrownBy(() -> engine.registerFiles()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.registerFiles(a, 1_000_000)).isInstanceOf(AuraIOException.class)
                .satisfies(t -> assertThat(((AuraIOException) t).errno()).isEqualTo(9));
        engine.registerFiles(a); // the failed attempt left nothing behind
        assertThatThrownBy(() -> engine.registerFiles(a)).isInstanceOf(AuraIOException.class)
                .matches(t -> ((AuraIOException) t).isBusy(), "isBusy()");
        assertThatThrownBy(() -> engine.updateFile(0, 1_000_000)).isInstanceOf(AuraIOException.class)
                .satisfies(t -> assertThat(((AuraIOException) t).errno()).isEqualTo(9));
        engine.unregisterFiles();
        engine.unregisterFiles(); // nothing registered: does nothing
        engine.requestUnregisterFiles();
        assertNothingLeaked(engine);
    }

    @Test
    void requestUnregisterFilesStopsUsingTheTableAtOnceAndCompletesInTheBackground() throws Exception {
        int a = open("a", 11, Posix.O_RDONLY);
        int b = open("b", 12, Posix.O_RDONLY);
        engine.registerFiles(a);
        Posix.dup2(b, a);
        assertThat(readThroughEngine(a)).isEqualTo(head(11));
        engine.requestUnregisterFiles();
        assertThat(readThroughEngine(a)).as("new requests use the plain descriptor").isEqualTo(head(12));
        registerWhenFree(b);
        engine.unregisterFiles();
        assertNothingLeaked(engine);
    }

    private void registerWhenFree(int... fds) throws Exception {
        AsyncFixtures.registerWhenFree(() -> engine.registerFiles(fds));
    }

    /** A blocking unregister waits for requests that use the table; cancel one from another thread. */
    @Test
    void unregisterFilesWaitsForARegisteredFifoReadUntilItIsCancelled() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            engine.registerFiles(fifo.fd());
            Request stuck = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            awaitInKernel(engine, 1);
            Thread main = Thread.currentThread();
            Thread canceller = Thread.ofVirtual().start(() -> {
                try {
                    awaitCondition("unregisterFiles waits", () -> main.getState() == Thread.State.WAITING);
                    engine.cancel(stuck);
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
            });
            engine.unregisterFiles();
            joinAll(List.of(canceller));
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(stuck)).isEqualTo(-125);
            engine.registerFiles(fifo.fd()); // the unregister finished: registering works
            engine.unregisterFiles();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void unregisterFilesInsideACallbackReturnsAtOnceAndCompletesLater() throws Exception {
        int a = open("a", 13, Posix.O_RDONLY);
        Completions done = new Completions();
        AtomicBoolean returned = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            engine.registerFiles(fifo.fd(), a);
            // Uses the table and never completes on its own: a blocking unregister would hang.
            Request stuck = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            awaitInKernel(engine, 1);
            engine.read(a, BufferRef.of(arena.allocate(8)), 8, 0, (req, result) -> {
                try {
                    engine.unregisterFiles();
                    engine.requestUnregisterFiles();
                    returned.set(true);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            awaitCondition("the callback ran", () -> {
                engine.poll();
                return returned.get() || failure.get() != null;
            });
            assertThat(failure.get()).isNull();
            assertThatThrownBy(() -> engine.registerFiles(a)).as("still draining")
                    .isInstanceOf(AuraIOException.class).matches(t -> ((AuraIOException) t).isBusy(), "isBusy()");
            assertThat(engine.cancel(stuck)).isTrue();
            done.awaitCount(engine, 1);
            registerWhenFree(a);
            assertThat(readThroughEngine(a)).isEqualTo(head(13));
            engine.unregisterFiles();
        }
        assertNothingLeaked(engine);
    }
}
