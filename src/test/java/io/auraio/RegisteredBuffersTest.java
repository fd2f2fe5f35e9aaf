package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Registered buffers ({@link Engine#registerBuffers}, {@link BufferRef#fixed(int, long)}, the
 * deferred and blocking unregister) with {@code READ_FIXED}/{@code WRITE_FIXED} requests on real
 * files and FIFOs.
 */
@ExtendWith(IoUringAvailable.class)
class RegisteredBuffersTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;
    private Path path;

    @BeforeEach
    void createEngine() throws Exception {
        engine = Engine.create(Options.builder().ringCount(2).build());
        arena = Arena.ofShared();
        path = dir.resolve("data");
        Files.write(path, randomBytes(64 * 1024, 1));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
        arena.close();
    }

    private static void assertErrno(ThrowingCallable call, int errno) {
        assertThatThrownBy(call).isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).errno()).as("errno of %s", e).isEqualTo(errno));
    }

    /** Re-registers until a draining unregister has finished (EBUSY until then). */
    private void registerWhenFree(Buffer... buffers) throws Exception {
        AsyncFixtures.registerWhenFree(() -> engine.registerBuffers(buffers));
    }

    @Test
    void fixedReadsAndWritesThroughRegisteredPoolBuffersMoveTheRightBytes() throws Exception {
        byte[] file = Files.readAllBytes(path);
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, path, READ, WRITE);
             Buffer b0 = engine.allocateBuffer(8192);
             Buffer b1 = engine.allocateBuffer(8192)) {
            engine.registerBuffers(b0, b1);

            Request read = engine.read(f.fd(), BufferRef.fixed(0, 4096), 2000, 10_000, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(read)).isEqualTo(2000);
            assertThat(b0.segment().asSlice(4096, 2000).toArray(JAVA_BYTE))
                    .isEqualTo(Arrays.copyOfRange(file, 10_000, 12_000));

            byte[] fresh = randomBytes(1000, 2);
            b1.segment().asSlice(100, 1000).copyFrom(MemorySegment.ofArray(fresh));
            Request write = engine.write(f.fd(), BufferRef.fixed(1, 100), 1000, 500, done);
            done.awaitCount(engine, 2);
            assertThat(done.resultOf(write)).isEqualTo(1000);
            assertThat(Arrays.copyOfRange(Files.readAllBytes(path), 500, 1500)).isEqualTo(fresh);

            // The future forms take registered buffers too; fixed(i) is fixed(i, 0).
            assertThat(engine.readAsync(f.fd(), BufferRef.fixed(1), 8192, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(8192L);
            assertThat(b1.segment().toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(Files.readAllBytes(path), 0, 8192));
            assertThat(engine.writeAsync(f.fd(), BufferRef.fixed(0, 8191), 1, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(1L);

            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void registeredNativeSegmentsServeFixedRequests() throws Exception {
        MemorySegment a = Arena.global().allocate(4096, 4096); // memory that is never freed
        MemorySegment b = Arena.global().allocate(100); // not only page-aligned
        byte[] file = Files.readAllBytes(path);
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, path, READ)) {
            engine.registerBuffers(a, b);
            Request ra = engine.read(f.fd(), BufferRef.fixed(0), 4096, 0, done);
            Request rb = engine.read(f.fd(), BufferRef.fixed(1, 50), 50, 7, done);
            done.awaitCount(engine, 2);
            assertThat(done.resultOf(ra)).isEqualTo(4096);
            assertThat(done.resultOf(rb)).isEqualTo(50);
            assertThat(a.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(file, 0, 4096));
            assertThat(b.asSlice(50, 50).toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(file, 7, 57));
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void fixedReferencesAreRegisteredAndRefuseNegativeValues() {
        assertThat(BufferRef.fixed(3, 7)).isEqualTo(new BufferRef.Fixed(3, 7));
        assertThat(BufferRef.fixed(3)).isEqualTo(new BufferRef.Fixed(3, 0));
        assertThat(BufferRef.fixed(0).isRegistered()).isTrue();
        assertThatThrownBy(() -> BufferRef.fixed(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index");
        assertThatThrownBy(() -> BufferRef.fixed(0, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offset");
    }

    @Test
    void anIndexOffsetOrLengthOutsideTheRegisteredBufferIsRefusedWithIllegalArgumentException() throws Exception {
        try (AuraFile f = AuraFile.open(engine, path, READ, WRITE);
             Buffer b0 = engine.allocateBuffer(8192)) {
            engine.registerBuffers(b0);
            int fd = f.fd();
            assertThatThrownBy(() -> engine.read(fd, BufferRef.fixed(1), 1, 0, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1");
            assertThatThrownBy(() -> engine.read(fd, BufferRef.fixed(0, 8192), 1, 0, null))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> engine.write(fd, BufferRef.fixed(0, 8000), 193, 0, null))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> engine.readAsync(fd, BufferRef.fixed(0), 8193, 0))
                    .isInstanceOf(IllegalArgumentException.class);
            // Exactly to the end is fine.
            assertThat(engine.readAsync(fd, BufferRef.fixed(0, 8000), 192, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(192L);
            assertThat(engine.pendingCount()).isZero();
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aFixedRequestWithNothingRegisteredFailsWithIsNotFound() throws Exception {
        try (AuraFile f = AuraFile.open(engine, path, READ, WRITE)) {
            for (ThrowingCallable call : List.<ThrowingCallable>of(
                    () -> engine.read(f.fd(), BufferRef.fixed(0), 10, 0, null),
                    () -> engine.write(f.fd(), BufferRef.fixed(0), 10, 0, null),
                    () -> engine.readAsync(f.fd(), BufferRef.fixed(0), 10, 0))) {
                assertThatThrownBy(call).isInstanceOf(AuraIOException.class)
                        .matches(e -> ((AuraIOException) e).isNotFound(), "isNotFound()")
                        .hasMessageContaining("registered");
            }
        }
        // Unregistering with nothing registered does nothing.
        engine.requestUnregisterBuffers();
        engine.unregisterBuffers();
        assertNothingLeaked(engine);
    }

    @Test
    void registeringTwiceIsBusyAndBadArgumentsAreRefused() throws Exception {
        try (Buffer b = engine.allocateBuffer(4096)) {
            Buffer c = engine.allocateBuffer(4096);
            engine.registerBuffers(b);
            assertErrno(() -> engine.registerBuffers(c), 16);
            assertErrno(() -> engine.registerBuffers(Arena.global().allocate(64)), 16);
            assertThat(engine.bufferStats().totalBuffers()).as("the refused buffer is not kept").isEqualTo(2);
            engine.unregisterBuffers();
            c.close();
            assertThatThrownBy(() -> engine.registerBuffers(c)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> engine.registerBuffers(new MemorySegment[0]))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> engine.registerBuffers(MemorySegment.ofArray(new byte[10])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("native");
            assertThatThrownBy(() -> engine.registerBuffers((Buffer) null)).isInstanceOf(NullPointerException.class);
            MemorySegment freed;
            try (Arena gone = Arena.ofConfined()) {
                freed = gone.allocate(4096);
            }
            MemorySegment live = Arena.global().allocate(4096);
            assertThatThrownBy(() -> engine.registerBuffers(live, freed)).as("the kernel must not pin freed memory")
                    .isInstanceOf(IllegalStateException.class);
            // After the refusals, registering works.
            engine.registerBuffers(b);
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    /**
     * The kernel writes into registered memory for as long as it is registered, which no arena's
     * close() waits for: memory that can be freed meanwhile is refused (Buffers are kept
     * allocated by the library instead), and sizes the kernel refuses are bad arguments, not I/O
     * errors.
     */
    @Test
    void memoryThatCanBeFreedWhileRegisteredAndBadSizesAreRefusedAsArguments() throws Exception {
        try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared()) {
            for (MemorySegment freeable : List.of(confined.allocate(4096), shared.allocate(4096),
                    Arena.ofAuto().allocate(4096), MemorySegment.ofBuffer(java.nio.ByteBuffer.allocateDirect(4096)))) {
                assertThatThrownBy(() -> engine.registerBuffers(freeable)).as("%s", freeable)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("freed while registered");
            }
        }
        assertThatThrownBy(() -> engine.registerBuffers(Arena.global().allocate(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 byte to 1 GiB");
        try (Buffer empty = engine.allocateBuffer(0); Buffer huge = engine.allocateBuffer((1L << 30) + 1)) {
            assertThatThrownBy(() -> engine.registerBuffers(empty))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 byte to 1 GiB");
            assertThatThrownBy(() -> engine.registerBuffers(huge))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 byte to 1 GiB");
        }
        assertNothingLeaked(engine);
    }

    /**
     * The reference's EBUSY: while a deferred unregister waits for a fixed-buffer read stuck on a
     * FIFO, new fixed-buffer requests fail; once the read is cancelled the unregister completes
     * and the buffers can be registered again.
     */
    @Test
    void fixedRequestsAreBusyWhileADeferredUnregisterDrainsAndWorkAgainAfterward() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             AuraFile f = AuraFile.open(engine, path, READ);
             Buffer b0 = engine.allocateBuffer(4096)) {
            engine.registerBuffers(b0);
            Request stuck = engine.read(fifo.fd(), BufferRef.fixed(0), 16, 0, done);
            awaitInKernel(engine, 1);

            engine.requestUnregisterBuffers();
            engine.requestUnregisterBuffers(); // idempotent while draining
            for (ThrowingCallable call : List.<ThrowingCallable>of(
                    () -> engine.read(f.fd(), BufferRef.fixed(0), 10, 0, null),
                    () -> engine.write(fifo.fd(), BufferRef.fixed(0), 10, 0, null),
                    () -> engine.readAsync(f.fd(), BufferRef.fixed(0), 10, 0))) {
                assertThatThrownBy(call).isInstanceOf(AuraIOException.class)
                        .matches(e -> ((AuraIOException) e).isBusy(), "isBusy()");
            }
            assertErrno(() -> engine.registerBuffers(b0), 16);
            // Requests on plain memory are not affected.
            Request plain = engine.read(f.fd(), b0.ref(), 100, 0, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(plain)).isEqualTo(100);
            assertThat(stuck.isPending()).isTrue();

            // A blocking unregister waits for the stuck read: cancel it from another thread.
            Thread main = Thread.currentThread();
            Thread canceller = Thread.ofVirtual().start(() -> {
                try {
                    awaitCondition("unregisterBuffers waits", () -> main.getState() == Thread.State.WAITING);
                    assertThat(stuck.isPending()).isTrue();
                    engine.cancel(stuck);
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
            });
            engine.unregisterBuffers();
            joinAll(List.of(canceller));
            assertThat(stuck.isPending()).isFalse();
            done.awaitCount(engine, 2);
            assertThat(done.resultOf(stuck)).isEqualTo(-125);

            engine.registerBuffers(b0);
            Request again = engine.read(f.fd(), BufferRef.fixed(0), 100, 0, done);
            done.awaitCount(engine, 3);
            assertThat(done.resultOf(again)).isEqualTo(100);
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void unregisterBuffersInsideACallbackReturnsAtOnceAndTheUnregisterCompletesLater() throws Exception {
        Completions done = new Completions();
        AtomicBoolean returned = new AtomicBoolean();
        AtomicReference<Throwable> inCallback = new AtomicReference<>();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             AuraFile f = AuraFile.open(engine, path, READ);
             Buffer b0 = engine.allocateBuffer(4096)) {
            engine.registerBuffers(b0);
            // This fixed read keeps the buffers in use: a blocking unregister here would never return.
            Request stuck = engine.read(fifo.fd(), BufferRef.fixed(0), 16, 0, done);
            awaitInKernel(engine, 1);
            engine.read(f.fd(), BufferRef.fixed(0, 2048), 10, 0, (req, result) -> {
                try {
                    engine.unregisterBuffers();
                    returned.set(true);
                } catch (Throwable t) {
                    inCallback.set(t);
                }
            });
            awaitCondition("the callback ran", () -> {
                try {
                    engine.poll();
                } catch (RuntimeException e) {
                    inCallback.set(e);
                }
                return returned.get() || inCallback.get() != null;
            });
            assertThat(inCallback.get()).isNull();
            assertThat(returned.get()).isTrue();
            // Deferred: fixed requests are refused while the stuck read holds the buffers.
            assertThatThrownBy(() -> engine.read(f.fd(), BufferRef.fixed(0), 10, 0, null))
                    .matches(e -> ((AuraIOException) e).isBusy(), "isBusy()");

            assertThat(engine.cancel(stuck)).isTrue();
            done.awaitCount(engine, 1);
            registerWhenFree(b0); // the unregister completed: registering works again
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void closingTheEngineWakesAThreadWaitingInUnregisterBuffers() throws Exception {
        Completions done = new Completions();
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        try (Buffer b0 = engine.allocateBuffer(4096)) {
            engine.registerBuffers(b0);
            Request stuck = engine.read(fifo.fd(), BufferRef.fixed(0), 16, 0, done);
            awaitInKernel(engine, 1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread unregisterer = Thread.ofPlatform().start(() -> {
                try {
                    engine.unregisterBuffers(); // waits for the stuck read
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            awaitCondition("unregisterBuffers waits", () -> unregisterer.getState() == Thread.State.WAITING);
            engine.close(); // cancels the read; the unregister then completes
            joinAll(List.of(unregisterer));
            assertThat(failure.get()).isNull();
            assertThat(done.resultOf(stuck)).isEqualTo(-108); // -ESHUTDOWN: ended by the close
        } finally {
            fifo.close();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void requestUnregisterBuffersInsideACallbackIsDeferredToo() throws Exception {
        AtomicBoolean returned = new AtomicBoolean();
        try (AuraFile f = AuraFile.open(engine, path, READ);
             Buffer b0 = engine.allocateBuffer(4096)) {
            engine.registerBuffers(b0);
            engine.read(f.fd(), BufferRef.fixed(0), 10, 0, (req, result) -> {
                engine.requestUnregisterBuffers();
                returned.set(true);
            });
            engine.drain(-1);
            assertThat(returned.get()).isTrue();
            registerWhenFree(b0);
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aBufferClosedWhileRegisteredKeepsItsMemoryUntilUnregistered() throws Exception {
        assertThat(engine.bufferStats().totalBuffers()).isZero();
        Buffer b0 = engine.allocateBuffer(4096);
        engine.registerBuffers(b0);
        b0.close();
        assertThat(b0.isClosed()).isTrue();
        assertThatThrownBy(() -> b0.segment().get(JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
        assertThat(engine.bufferStats().totalBuffers()).as("still pinned by the kernel").isEqualTo(1);
        assertThat(engine.bufferStats().totalAllocatedBytes()).isEqualTo(4096);

        // The kernel can still use it: write from it, through the registered table.
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, path, READ, WRITE)) {
            Request r = engine.write(f.fd(), BufferRef.fixed(0), 4096, 0, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(4096);
        }
        engine.unregisterBuffers();
        assertThat(engine.bufferStats().totalBuffers()).as("given back once unregistered").isZero();
        assertNothingLeaked(engine);
    }

    @Test
    void closingTheEngineGivesRegisteredBuffersBackToTheirOwners() throws Exception {
        Buffer open = engine.allocateBuffer(4096);
        Buffer closed = engine.allocateBuffer(4096);
        engine.registerBuffers(open, closed);
        closed.close();
        engine.close();
        assertThat(engine.bufferStats().totalBuffers()).as("only the open buffer is out").isEqualTo(1);
        open.segment().set(JAVA_BYTE, 0, (byte) 1); // still the caller's memory
        open.close();
        assertThat(engine.bufferStats().totalBuffers()).isZero();
    }

    /**
     * Register, start a deferred unregister, register again as soon as it has finished: a new
     * registration made the moment the previous unregister completes must be unregistrable too
     * (a blocking unregister that never returns fails the test by its timeout).
     */
    @Test
    void registeringAgainRightAfterADeferredUnregisterCompletesNeverWedgesTheNextUnregister() throws Exception {
        try (Buffer b = engine.allocateBuffer(4096)) {
            for (int i = 0; i < 1000; i++) {
                registerWhenFree(b);
                engine.requestUnregisterBuffers();
            }
            engine.unregisterBuffers();
            engine.registerBuffers(b);
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void manyThreadsUseTheirOwnRegisteredBuffersAtOnce() throws Exception {
        int threads = 16;
        int size = 4096;
        Path target = dir.resolve("target");
        Files.write(target, new byte[threads * size]);
        Buffer[] buffers = new Buffer[threads];
        for (int i = 0; i < threads; i++) {
            buffers[i] = engine.allocateBuffer(size);
        }
        engine.registerBuffers(buffers);
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (AuraFile f = AuraFile.open(engine, target, READ, WRITE)) {
            List<Thread> started = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int index = i;
                started.add(Thread.ofVirtual().start(() -> {
                    try {
                        MemorySegment mine = buffers[index].segment();
                        for (int round = 0; round < 20; round++) {
                            byte[] data = randomBytes(size, index * 100 + round);
                            mine.copyFrom(MemorySegment.ofArray(data));
                            long w = engine.writeAsync(f.fd(), BufferRef.fixed(index), size, (long) index * size)
                                    .get(HANG.toSeconds(), TimeUnit.SECONDS);
                            mine.fill((byte) 0);
                            long r = engine.readAsync(f.fd(), BufferRef.fixed(index), size, (long) index * size)
                                    .get(HANG.toSeconds(), TimeUnit.SECONDS);
                            if (w != size || r != size || !Arrays.equals(mine.toArray(JAVA_BYTE), data)) {
                                throw new AssertionError("thread " + index + " round " + round + ": " + w + "/" + r);
                            }
                        }
                    } catch (ExecutionException e) {
                        failures.add(e.getCause());
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            joinAll(started);
            ByteBuffer check = ByteBuffer.allocate(size);
            f.readFully(check, 0);
            assertThat(check.array()).isEqualTo(buffers[0].segment().toArray(JAVA_BYTE));
        }
        assertThat(failures).isEmpty();
        engine.unregisterBuffers();
        for (Buffer b : buffers) {
            b.close();
        }
        awaitCondition("future slots released", () -> engine.pendingCount() == 0);
        assertNothingLeaked(engine);
    }
}
