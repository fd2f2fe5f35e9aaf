package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every errno of the reference's "Error Codes Reference" table, each produced by a real situation
 * against the kernel, and {@link AuraIOException}'s predicates.
 */
@ExtendWith(IoUringAvailable.class)
class ErrorCodesTest {
    private static final int EINVAL = 22;
    private static final int EAGAIN = 11;
    private static final int ESHUTDOWN = 108;
    private static final int ENOENT = 2;
    private static final int EOVERFLOW = 75;
    private static final int ENOMEM = 12;
    private static final int EBUSY = 16;
    private static final int ECANCELED = 125;
    private static final int ETIMEDOUT = 110;

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
        Files.write(path, randomBytes(4 * Direct.ALIGN, 1));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
        arena.close();
    }

    private static AuraIOException thrown(ThrowingCallable call) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(call);
        assertThat(t).isInstanceOf(AuraIOException.class);
        return (AuraIOException) t;
    }

    private static AuraIOException failureOf(CompletableFuture<?> f) throws Exception {
        try {
            Object value = f.get(HANG.toSeconds(), TimeUnit.SECONDS);
            throw new AssertionError("completed with " + value);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
            return (AuraIOException) e.getCause();
        }
    }

    @Test
    void predicatesMatchExactlyTheirErrno() {
        Map<Integer, Predicate<AuraIOException>> predicates = Map.of(
                EINVAL, AuraIOException::isInvalid,
                EAGAIN, AuraIOException::isAgain,
                ESHUTDOWN, AuraIOException::isShutdown,
                ECANCELED, AuraIOException::isCancelled,
                EBUSY, AuraIOException::isBusy,
                ENOENT, AuraIOException::isNotFound);
        for (int errno : List.of(EINVAL, EAGAIN, ESHUTDOWN, ECANCELED, EBUSY, ENOENT, EOVERFLOW, ENOMEM, ETIMEDOUT,
                5, 9, 114)) {
            AuraIOException e = new AuraIOException("op: why", errno);
            assertThat(e.errno()).isEqualTo(errno);
            assertThat(e).isInstanceOf(IOException.class).hasMessage("op: why");
            predicates.forEach((which, predicate) ->
                    assertThat(predicate.test(e)).as("predicate for %d on errno %d", which, errno)
                            .isEqualTo(which == errno));
        }
        Throwable cause = new IllegalStateException();
        assertThat(new AuraIOException("m", 5, cause)).hasCause(cause);
        assertThat(AuraIOException.EINVAL).isEqualTo(EINVAL);
        assertThat(AuraIOException.EAGAIN).isEqualTo(EAGAIN);
        assertThat(AuraIOException.ESHUTDOWN).isEqualTo(ESHUTDOWN);
        assertThat(AuraIOException.ECANCELED).isEqualTo(ECANCELED);
        assertThat(AuraIOException.EBUSY).isEqualTo(EBUSY);
        assertThat(AuraIOException.ENOENT).isEqualTo(ENOENT);
    }

    // ---- EINVAL ---------------------------------------------------------------------------------

    /** The kernel's EINVAL: an O_DIRECT transfer at an offset that is not block aligned. */
    @Test
    void einvalFromTheKernelForAMisalignedDirectTransfer() throws Exception {
        try (AuraFile direct = AuraFile.open(engine, path, READ, WRITE, Direct.DIRECT)) {
            MemorySegment aligned = Direct.aligned(arena, Direct.ALIGN);
            // Through the engine's request methods, the kernel itself refuses it...
            Completions done = new Completions();
            Request r = engine.read(direct.fd(), BufferRef.of(aligned), Direct.ALIGN, 1, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(-EINVAL);
            AuraIOException e = failureOf(engine.readAsync(direct.fd(), BufferRef.of(aligned), Direct.ALIGN, 1));
            assertThat(e.isInvalid()).as("%s", e).isTrue();
            assertThat(failureOf(engine.writeAsync(direct.fd(), BufferRef.of(aligned), 100, 0)).isInvalid()).isTrue();
            // ...and AuraFile says which value must be aligned to what.
            AuraIOException viaFile = thrown(() -> direct.read(aligned, 1));
            assertThat(viaFile.isInvalid()).isTrue();
            assertThat(viaFile).hasMessageContaining("O_DIRECT");
        }
        assertNothingLeaked(engine);
    }

    /** Java's form of the reference's EINVAL for bad arguments: an unchecked exception naming the argument. */
    @Test
    void einvalForBadArgumentsIsAnIllegalArgumentExceptionNamingTheArgument() throws Exception {
        try (AuraFile file = AuraFile.open(engine, path, READ)) {
            MemorySegment segment = arena.allocate(16);
            assertThatThrownBy(() -> engine.read(-1, BufferRef.of(segment), 16, 0, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fd");
            assertThatThrownBy(() -> engine.read(file.fd(), BufferRef.of(segment), 16, -5, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("offset");
            assertThatThrownBy(() -> engine.readAsync(file.fd(), BufferRef.of(segment), 17, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length");
            assertThatThrownBy(() -> engine.read(file.fd(), null, 16, 0, null)).isInstanceOf(NullPointerException.class);
            assertThatThrownBy(() -> Options.builder().queueDepth(0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("queueDepth");
        }
    }

    // ---- EAGAIN ---------------------------------------------------------------------------------

    @Test
    void eagainWhenEveryRequestSlotOfTheRingIsTaken() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(2).build());
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request a = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            Request b = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            AuraIOException e = thrown(() -> engine.fsync(fifo.fd(), done));
            assertThat(e.errno()).isEqualTo(EAGAIN);
            assertThat(e.isAgain()).isTrue();
            assertThat(failureOf(engine.readAsync(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0)).isAgain())
                    .isTrue();
            engine.cancel(a);
            engine.cancel(b);
            engine.drain(-1);
        }
        assertNothingLeaked(engine);
    }

    // ---- ESHUTDOWN ------------------------------------------------------------------------------

    @Test
    void eshutdownForEveryRequestAfterClose() throws Exception {
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE)) {
            int fd = file.fd();
            engine.close();
            MemorySegment s = arena.allocate(16);
            for (ThrowingCallable call : List.<ThrowingCallable>of(
                    () -> engine.read(fd, BufferRef.of(s), 16, 0, null),
                    () -> engine.write(fd, BufferRef.of(s), 16, 0, null, "x"),
                    () -> engine.readv(fd, new MemorySegment[] {s}, 0, null),
                    () -> engine.writev(fd, new MemorySegment[] {s}, 0, null),
                    () -> engine.fsync(fd, null),
                    () -> engine.fdatasync(fd, null),
                    () -> engine.registerBuffers(Arena.global().allocate(16)),
                    () -> engine.registerFiles(fd),
                    () -> file.read(ByteBuffer.allocate(4), 0),
                    () -> file.write(ByteBuffer.allocate(4), 0),
                    () -> file.force(true),
                    () -> AuraFile.open(engine, path, READ))) {
                AuraIOException e = thrown(call);
                assertThat(e.errno()).as("%s", e).isEqualTo(ESHUTDOWN);
                assertThat(e.isShutdown()).isTrue();
            }
            assertThat(failureOf(engine.writeAsync(fd, BufferRef.of(s), 16, 0)).isShutdown()).isTrue();
            assertThat(failureOf(engine.fdatasyncAsync(fd)).isShutdown()).isTrue();
        }
        assertNothingLeaked(engine);
    }

    /**
     * A callback request that had not reached the kernel when the engine closed completes with
     * {@code -ESHUTDOWN}; one in the kernel is cancelled, and completes the same way: one outcome
     * for every request the close ends.
     */
    @Test
    void eshutdownInTheCallbackOfARequestHeldBackWhenTheEngineCloses() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(4).initialInFlight(1)
                .disableAdaptive(true).build());
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request inKernel = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            Request heldBack = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            awaitInKernel(engine, 1);
            engine.close();
            assertThat(done.resultOf(inKernel)).isEqualTo(-ESHUTDOWN);
            assertThat(done.resultOf(heldBack)).isEqualTo(-ESHUTDOWN);
        }
        assertNothingLeaked(engine);
    }

    // ---- ENOENT ---------------------------------------------------------------------------------

    @Test
    void enoentWhenNothingIsRegisteredAndNoSuchFileExceptionForAMissingFile() throws Exception {
        try (AuraFile file = AuraFile.open(engine, path, READ)) {
            AuraIOException update = thrown(() -> engine.updateFile(0, file.fd()));
            assertThat(update.errno()).isEqualTo(ENOENT);
            assertThat(update.isNotFound()).isTrue();
            AuraIOException fixed = thrown(() -> engine.read(file.fd(), BufferRef.fixed(0), 8, 0, null));
            assertThat(fixed.isNotFound()).isTrue();
        }
        assertThatThrownBy(() -> AuraFile.open(engine, dir.resolve("missing"), READ))
                .isInstanceOf(NoSuchFileException.class);
        assertNothingLeaked(engine);
    }

    // ---- EOVERFLOW ------------------------------------------------------------------------------

    @Test
    void eoverflowWhenOffsetPlusLengthOverflows() throws Exception {
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE)) {
            MemorySegment s = arena.allocate(100);
            long offset = Long.MAX_VALUE - 10;
            for (ThrowingCallable call : List.<ThrowingCallable>of(
                    () -> engine.read(file.fd(), BufferRef.of(s), 100, offset, null),
                    () -> engine.write(file.fd(), BufferRef.of(s), 11, offset, null),
                    () -> engine.readAsync(file.fd(), BufferRef.of(s), 100, offset))) {
                AuraIOException e = thrown(call);
                assertThat(e.errno()).isEqualTo(EOVERFLOW);
                assertThat(e).hasMessageContaining("overflow");
            }
            // Exactly up to Long.MAX_VALUE does not overflow: the kernel answers (EINVAL or EFBIG
            // for a write there; a read past the end of the file reads nothing).
            Completions done = new Completions();
            Request atLimit = engine.read(file.fd(), BufferRef.of(s), 10, offset, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(atLimit)).isIn(0L, -22L);
        }
        assertNothingLeaked(engine);
    }

    // ---- ENOMEM ---------------------------------------------------------------------------------

    @Test
    void enomemWhenABufferCannotBeAllocated() throws Exception {
        AuraIOException e = thrown(() -> engine.allocateBuffer(Long.MAX_VALUE / 2));
        assertThat(e.errno()).isEqualTo(ENOMEM);
        assertThat(e).hasMessageContaining("allocateBuffer");
        assertThat(engine.bufferStats().totalBuffers()).isZero();
    }

    // ---- EBUSY ----------------------------------------------------------------------------------

    @Test
    void ebusyWhileRegisteredBuffersAreRegisteredOrDraining() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             Buffer buffer = engine.allocateBuffer(4096)) {
            engine.registerBuffers(buffer);
            assertThat(thrown(() -> engine.registerBuffers(buffer)).isBusy()).isTrue();
            Request stuck = engine.read(fifo.fd(), BufferRef.fixed(0), 8, 0, done);
            engine.requestUnregisterBuffers();
            AuraIOException e = thrown(() -> engine.read(fifo.fd(), BufferRef.fixed(0), 8, 0, done));
            assertThat(e.errno()).isEqualTo(EBUSY);
            assertThat(e.isBusy()).isTrue();
            engine.cancel(stuck);
            engine.drain(-1);
            engine.unregisterBuffers();
        }
        assertNothingLeaked(engine);
    }

    // ---- ECANCELED, ETIMEDOUT, EALREADY ---------------------------------------------------------

    @Test
    void ecanceledTimedOutAndAlreadyAroundAFifoRead() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
            awaitInKernel(engine, 1);

            AuraIOException timedOut = thrown(() -> engine.drain(1));
            assertThat(timedOut.errno()).isEqualTo(ETIMEDOUT);

            assertThat(engine.cancel(r)).isTrue();
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(-ECANCELED);

            assertThat(engine.cancel(r)).as("EALREADY").isFalse();
        }
        // A future request cancelled by the engine's close fails with isShutdown().
        List<CompletableFuture<Long>> futures = new ArrayList<>();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo2"))) {
            futures.add(engine.readAsync(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0));
            awaitInKernel(engine, 1);
            engine.close();
        }
        AuraIOException cancelled = failureOf(futures.getFirst());
        assertThat(cancelled.errno()).isEqualTo(ESHUTDOWN);
        assertThat(cancelled.isShutdown()).isTrue();
        assertNothingLeaked(engine);
    }
}
