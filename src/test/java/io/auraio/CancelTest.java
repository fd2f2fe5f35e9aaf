package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static java.nio.file.StandardOpenOption.READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Engine#cancel(Request)} (the reference's {@code auraio_cancel}): reads of a FIFO that never
 * gets data are cancelled for real by the kernel and complete with {@code -ECANCELED}.
 */
@ExtendWith(IoUringAvailable.class)
class CancelTest {
    private static final long ECANCELED = -125;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(2).build());
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeEngine() {
        engine.close();
        arena.close();
    }

    private Request readFifo(FifoFile fifo, Callback callback) throws AuraIOException {
        return engine.read(fifo.fd(), BufferRef.of(arena.allocate(16)), 16, 0, callback);
    }

    @Test
    void cancellingAFifoReadInTheKernelReturnsTrueAndItsCallbackGetsEcanceled() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = readFifo(fifo, done);
            awaitInKernel(engine, 1);
            assertThat(r.isPending()).isTrue();

            assertThat(engine.cancel(r)).isTrue();
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(ECANCELED);
            assertThat(r.isPending()).isFalse();
        }
        assertNothingLeaked(engine);
    }

    /** A request held back by the in-flight limit is cancelled without ever reaching the kernel. */
    @Test
    void cancellingARequestHeldBackByTheInFlightLimitCompletesItWithEcanceled() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(4).initialInFlight(1)
                .disableAdaptive(true).build());
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request inKernel = readFifo(fifo, done);
            Request heldBack = readFifo(fifo, done);
            awaitInKernel(engine, 1);
            assertThat(heldBack.isPending()).isTrue();
            assertThat(engine.pendingCount()).isEqualTo(2);

            assertThat(engine.cancel(heldBack)).isTrue();
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(heldBack)).isEqualTo(ECANCELED);
            assertThat(inKernel.isPending()).as("the other read is untouched").isTrue();

            assertThat(engine.cancel(inKernel)).isTrue();
            done.awaitCount(engine, 2);
            assertThat(done.resultOf(inKernel)).isEqualTo(ECANCELED);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void cancellingACompletedRequestReturnsFalseForEalready() throws Exception {
        Path path = dir.resolve("file");
        Files.write(path, new byte[100]);
        Completions done = new Completions();
        try (AuraFile file = AuraFile.open(engine, path, READ)) {
            Request r = engine.read(file.fd(), BufferRef.of(arena.allocate(16)), 16, 0, done);
            awaitCondition("the read completed", () -> !r.isPending());
            assertThat(engine.cancel(r)).as("completed, callback not run yet").isFalse();
            done.awaitCount(engine, 1);
            assertThat(engine.cancel(r)).as("callback ran").isFalse();
            assertThat(done.resultOf(r)).isEqualTo(16);
        }
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = readFifo(fifo, done);
            assertThat(engine.cancel(r)).isTrue();
            done.awaitCount(engine, 2);
            assertThat(engine.cancel(r)).as("already cancelled and completed").isFalse();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aRequestCancelledManyTimesFromManyThreadsCompletesExactlyOnce() throws Exception {
        Completions done = new Completions();
        int requests = 32;
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                reads.add(readFifo(fifo, done));
            }
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> cancellers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                cancellers.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (Request r : reads) {
                            engine.cancel(r); // true or false: both are fine, exceptions are not
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            joinAll(cancellers);
            assertThat(failures).isEmpty();
            done.awaitCount(engine, requests);
            assertThat(engine.drain(-1)).isZero();
            for (Request r : reads) {
                assertThat(done.resultOf(r)).isEqualTo(ECANCELED); // resultOf also checks "exactly once"
                assertThat(engine.cancel(r)).isFalse();
            }
        }
        assertNothingLeaked(engine);
    }

    @Test
    void cancellingARequestOfAnotherEngineThrowsIllegalArgumentException() throws Exception {
        Completions done = new Completions();
        try (Engine other = Engine.create(Options.builder().ringCount(1).build());
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = readFifo(fifo, done);
            assertThatThrownBy(() -> other.cancel(r)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("another engine");
            assertThat(r.isPending()).isTrue();
            assertThatThrownBy(() -> engine.cancel(null)).isInstanceOf(NullPointerException.class);
            assertThat(engine.cancel(r)).isTrue();
            done.awaitCount(engine, 1);
            assertNothingLeaked(other);
        }
        assertNothingLeaked(engine);
    }

    /**
     * Closing the engine cancels what is in the kernel and runs the callbacks on the closing
     * thread; afterwards the requests are complete, so cancel returns false. While the close is
     * under way, cancel may throw ESHUTDOWN instead (it cancels everything itself).
     */
    @Test
    void afterCloseAPendingRequestHasCompletedWithEcanceledAndCancelReturnsFalse() throws Exception {
        Completions done = new Completions();
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        try {
            Request r = readFifo(fifo, done);
            awaitInKernel(engine, 1);
            Thread closer = Thread.ofPlatform().name("closer").start(engine::close);

            // Cancel concurrently with the close: true (before), ESHUTDOWN (during), false (after),
            // in that order and nothing else.
            List<String> outcomes = new ArrayList<>();
            long deadline = System.nanoTime() + HANG.toNanos();
            while (true) {
                String outcome;
                try {
                    outcome = engine.cancel(r) ? "true" : "false";
                } catch (AuraIOException e) {
                    assertThat(e.isShutdown()).as("%s", e).isTrue();
                    outcome = "ESHUTDOWN";
                }
                if (outcomes.isEmpty() || !outcomes.getLast().equals(outcome)) {
                    outcomes.add(outcome);
                }
                if (outcome.equals("false") || System.nanoTime() - deadline > 0) {
                    break;
                }
            }
            joinAll(List.of(closer));
            assertThat(List.of(List.of("true", "ESHUTDOWN", "false"), List.of("true", "false"),
                    List.of("ESHUTDOWN", "false"), List.of("false"))).contains(outcomes);

            assertThat(done.resultOf(r)).isIn(ECANCELED, -108L);
            assertThat(done.of(r).thread()).isSameAs(closer);
            assertThat(engine.cancel(r)).isFalse();
            assertThat(r.isPending()).isFalse();
        } finally {
            fifo.close();
        }
        assertNothingLeaked(engine);
    }

    /**
     * Closing an {@link AuraFile} cancels the callback and future requests on its descriptor too,
     * even when they fill the ring's in-flight limit and nobody polls (the close itself then needs
     * a slot of that ring for the descriptor's close).
     */
    @Test
    void closingTheFileCancelsCallbackAndFutureRequestsOnItsDescriptor() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(16).initialInFlight(4)
                .disableAdaptive(true).build());
        Completions done = new Completions();
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        List<Request> reads = new ArrayList<>();
        CompletableFuture<Long> future;
        try {
            for (int i = 0; i < 4; i++) { // as many as the limit: a fifth request is held back
                reads.add(readFifo(fifo, done));
            }
            future = engine.readAsync(fifo.fd(), BufferRef.of(arena.allocate(16)), 16, 0);
            awaitInKernel(engine, 4);
            assertThat(engine.pendingCount()).isEqualTo(5);
            AtomicReference<Throwable> closeFailure = new AtomicReference<>();
            Thread closer = Thread.ofVirtual().start(() -> {
                try {
                    fifo.file().close(); // the AuraFile itself, while nobody polls
                } catch (Throwable t) {
                    closeFailure.set(t);
                }
            });
            try {
                joinAll(List.of(closer)); // fails (after TestSupport.HANG) if the close waits for a poll
                assertThat(closeFailure.get()).isNull();
            } finally {
                engine.poll(); // on failure: frees the slots, so that the close can finish
            }
            // Every cancelled request completed before the FifoFile's close, which closes an engine
            // that still has requests pending: that close turns the ECANCELED of a cancellation it
            // finds not yet reaped into ESHUTDOWN (seen once, in syscall mode on a loaded machine).
            done.awaitCount(engine, 4);
            awaitCondition("the future's slot is released", () -> engine.pendingCount() == 0);
        } finally {
            fifo.close();
        }
        assertCancelled(future);
        for (Request r : reads) {
            assertThat(done.resultOf(r)).isEqualTo(ECANCELED);
        }
        assertNothingLeaked(engine);
    }

    /**
     * A future request has no {@link Request} (as the reference's {@code IoFuture}, it cannot be
     * cancelled on its own): closing the engine cancels it, and it fails as every request the
     * close ends does, with isShutdown().
     */
    @Test
    void aFutureReadOfAFifoFailsWithIsShutdownWhenTheEngineCloses() throws Exception {
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        try {
            CompletableFuture<Long> f = engine.readAsync(fifo.fd(), BufferRef.of(arena.allocate(16)), 16, 0);
            awaitInKernel(engine, 1);
            engine.close();
            assertShutdown(f);
        } finally {
            fifo.close();
        }
        assertNothingLeaked(engine);
    }

    private static void assertShutdown(CompletableFuture<Long> f) throws InterruptedException {
        try {
            Long value = f.get(HANG.toSeconds(), TimeUnit.SECONDS);
            throw new AssertionError("the read returned " + value);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
            assertThat(((AuraIOException) e.getCause()).isShutdown()).as("%s", e.getCause()).isTrue();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the future never completed", e);
        }
    }

    private static void assertCancelled(CompletableFuture<Long> f) throws InterruptedException {
        try {
            Long value = f.get(HANG.toSeconds(), TimeUnit.SECONDS);
            throw new AssertionError("the read returned " + value);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
            AuraIOException cause = (AuraIOException) e.getCause();
            assertThat(cause.isCancelled()).as("%s", cause).isTrue();
            assertThat(cause.errno()).isEqualTo(125);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the future never completed", e);
        }
    }
}
