package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A hostile review of the event loop ({@link Engine#poll()}, {@link Engine#await(long)},
 * {@link Engine#run()}, {@link Engine#stop()}, {@link Engine#drain(long)}, {@link Engine#pollFd()}):
 * callers that wait behind another thread's {@code run()}, close racing the loop and its callbacks,
 * throwing callbacks, callbacks submitting at capacity and after close. Real kernel, files and
 * threads. Bounds only turn hangs into failures.
 */
@ExtendWith(IoUringAvailable.class)
class EventLoopReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;
    private Path file;
    private final List<Thread> started = new ArrayList<>();

    @BeforeEach
    void createEngine() throws Exception {
        engine = Engine.create(Options.builder().ringCount(2).build());
        arena = Arena.ofShared();
        file = dir.resolve("data");
        Files.write(file, randomBytes(64 * 1024, 3));
    }

    @AfterEach
    void closeEngine() throws InterruptedException {
        engine.stop();
        engine.close();
        joinAll(started);
        arena.close();
    }

    private Request read(int fd, Callback callback) throws AuraIOException {
        return engine.read(fd, BufferRef.of(arena.allocate(64)), 64, 0, callback);
    }

    private interface Call {
        Object call() throws Throwable;
    }

    /** What a call on another thread ended with: its value, or what it threw. */
    private static final class Outcome {
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<Object> value = new AtomicReference<>();
        final AtomicReference<Throwable> thrown = new AtomicReference<>();

        /** Waits (bounded) for the call to end; fails, naming it, when it does not. */
        Outcome ended(String what) throws InterruptedException {
            assertThat(done.await(HANG.toMillis(), TimeUnit.MILLISECONDS)).as("%s ended", what).isTrue();
            return this;
        }
    }

    private Thread thread(Outcome outcome, Call call) {
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                outcome.value.set(call.call());
            } catch (Throwable e) {
                outcome.thrown.set(e);
            } finally {
                outcome.done.countDown();
            }
        });
        started.add(t);
        return t;
    }

    /** Starts {@code engine.run()} on a thread of its own and waits until it waits for completions. */
    private Outcome runLoop() throws InterruptedException {
        Outcome loop = new Outcome();
        Thread t = thread(loop, () -> {
            engine.run();
            return "returned";
        });
        awaitCondition("run() waits", () -> t.getState() == Thread.State.WAITING);
        return loop;
    }

    private static void awaitParked(Thread t) throws InterruptedException {
        awaitCondition("the caller waits", () -> t.getState() == Thread.State.WAITING
                || t.getState() == Thread.State.TIMED_WAITING);
    }

    // ---- callers behind another thread's run() ------------------------------------------------

    /**
     * {@code await(timeout)} waits "until at least one callback request completes or the timeout
     * passes": a run() on another thread must not hold it past its timeout.
     */
    @Test
    void anAwaitWithATimeoutReturnsWhileAnotherThreadIsInRun() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            Request r = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            Outcome loop = runLoop();
            Outcome waiter = new Outcome();
            thread(waiter, () -> engine.await(50));
            waiter.ended("await(50) beside a run()");
            assertThat(waiter.thrown.get()).isNull();
            assertThat(waiter.value.get()).isEqualTo(0);
            engine.cancel(r);
            awaitCondition("run() delivered the cancellation", () -> done.count() == 1);
            engine.stop();
            assertThat(loop.ended("run()").thrown.get()).isNull();
        }
        assertNothingLeaked(engine);
    }

    /** poll() runs what is queued "without waiting": a run() waiting on another thread holds it up not. */
    @Test
    void aPollReturnsWhileAnotherThreadIsInRun() throws Exception {
        Outcome loop = runLoop();
        Outcome poller = new Outcome();
        thread(poller, () -> engine.poll());
        poller.ended("poll() beside a run()");
        assertThat(poller.thrown.get()).isNull();
        assertThat(poller.value.get()).isEqualTo(0);
        engine.stop();
        assertThat(loop.ended("run()").thrown.get()).isNull();
    }

    /** {@code drain(timeout)} throws ETIMEDOUT at its deadline, a run() on another thread or not. */
    @Test
    void aDrainWithATimeoutTimesOutWhileAnotherThreadIsInRun() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            Request r = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            Outcome loop = runLoop();
            Outcome drainer = new Outcome();
            thread(drainer, () -> engine.drain(50));
            drainer.ended("drain(50) beside a run()");
            assertThat(drainer.thrown.get()).isInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(110));
            engine.cancel(r);
            awaitCondition("run() delivered the cancellation", () -> done.count() == 1);
            engine.stop();
            assertThat(loop.ended("run()").thrown.get()).isNull();
        }
        assertNothingLeaked(engine);
    }

    /**
     * {@code drain(-1)} waits "until every request of the engine has completed": when a run() on
     * another thread runs their callbacks, that is when drain returns, not when the run() stops.
     */
    @Test
    void drainReturnsOnceARunOnAnotherThreadHasDeliveredEverything() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            Request r = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            Outcome loop = runLoop();
            Outcome drainer = new Outcome();
            Thread d = thread(drainer, () -> engine.drain(-1));
            awaitParked(d);
            fifo.write(ByteBuffer.wrap(new byte[] {5}), 0);
            drainer.ended("drain(-1) beside a run() that delivered everything");
            assertThat(drainer.thrown.get()).isNull();
            assertThat(drainer.value.get()).as("the callback ran once, on the run() or the drain").isIn(0, 1);
            assertThat(done.resultOf(r)).isEqualTo(1);
            assertThat(loop.done.getCount()).as("run() goes on").isEqualTo(1);
            engine.stop();
            assertThat(loop.ended("run()").thrown.get()).isNull();
        }
        assertNothingLeaked(engine);
    }

    /**
     * "throws InterruptedException if the thread is interrupted while waiting": waiting for the
     * turn behind another thread's run() is waiting too.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"await", "drain", "run"})
    void aCallerWaitingForItsTurnBehindARunIsInterruptible(String which) throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            Request r = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            Outcome loop = runLoop();
            Outcome waiter = new Outcome();
            Thread w = thread(waiter, switch (which) {
                case "await" -> () -> engine.await(-1);
                case "drain" -> () -> engine.drain(-1);
                default -> () -> {
                    engine.run();
                    return "returned";
                };
            });
            awaitParked(w);
            w.interrupt();
            waiter.ended(which + " interrupted behind a run()");
            assertThat(waiter.thrown.get()).isInstanceOf(InterruptedException.class);
            assertThat(loop.done.getCount()).as("the other run() goes on").isEqualTo(1);
            engine.cancel(r);
            awaitCondition("run() delivered the cancellation", () -> done.count() == 1);
            engine.stop();
            assertThat(loop.ended("run()").thrown.get()).isNull();
            assertThat(done.resultOf(r)).isEqualTo(-125);
        }
        assertNothingLeaked(engine);
    }

    /** Timeouts below -1 are refused before anything waits, for drain as for await. */
    @Test
    void negativeTimeoutsOtherThanMinusOneAreRefused() {
        for (long t : new long[] {-2, Long.MIN_VALUE}) {
            assertThatThrownBy(() -> engine.await(t)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> engine.drain(t)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    /** Huge timeouts are no limit in practice: no overflow makes them return early or throw. */
    @Test
    void hugeTimeoutsWaitForTheCompletion() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            for (Call wait : List.<Call>of(() -> engine.await(Long.MAX_VALUE), () -> engine.drain(Long.MAX_VALUE),
                    () -> engine.await(Integer.MAX_VALUE))) {
                Request r = read(fifo.fd(), done);
                awaitInKernel(engine, 1);
                Outcome waiter = new Outcome();
                Thread w = thread(waiter, wait);
                awaitParked(w);
                fifo.write(ByteBuffer.wrap(new byte[] {1}), 0);
                assertThat(waiter.ended("a wait with a huge timeout").thrown.get()).isNull();
                assertThat(waiter.value.get()).isEqualTo(1);
                assertThat(done.resultOf(r)).isEqualTo(1);
            }
        }
        assertNothingLeaked(engine);
    }

    // ---- close racing the loop ------------------------------------------------------------------

    /**
     * close() while another thread waits in await(-1) or drain(-1) on a FIFO read that would never
     * finish: the waiter returns, the cancelled request's callback runs exactly once.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"await", "drain"})
    void closeEndsAWaitOnARequestThatWouldNeverFinish(String which) throws Exception {
        Completions done = new Completions();
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        Request r = read(fifo.fd(), done);
        awaitInKernel(engine, 1);
        Outcome waiter = new Outcome();
        Thread w = thread(waiter, which.equals("await") ? () -> engine.await(-1) : () -> engine.drain(-1));
        awaitParked(w);
        Outcome closer = new Outcome();
        thread(closer, () -> {
            engine.close();
            return "closed";
        });
        assertThat(closer.ended("close()").thrown.get()).isNull();
        assertThat(waiter.ended(which + " beside close()").thrown.get()).isNull();
        assertThat(done.of(r).result()).isIn(-125L, -108L);
        assertThat(done.count()).isEqualTo(1);
        fifo.close();
    }

    /**
     * close() while run() on another thread is inside a callback: close waits for that callback,
     * every callback runs exactly once (the rest on the one thread or the other), and run() returns.
     */
    @Test
    void closeWhileRunIsInsideACallbackRunsEveryCallbackOnce() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        Completions done = new Completions();
        Callback first = (req, result) -> {
            calls.incrementAndGet();
            inside.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        List<Request> fifoReads = new ArrayList<>();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            Outcome loop = runLoop();
            read(f.fd(), first);
            assertThat(inside.await(HANG.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                reads.add(read(f.fd(), done));
            }
            for (int i = 0; i < 3; i++) {
                fifoReads.add(read(fifo.fd(), done));
            }
            awaitCondition("the file reads completed", () -> reads.stream().noneMatch(Request::isPending));
            Outcome closer = new Outcome();
            Thread c = thread(closer, () -> {
                engine.close();
                return "closed";
            });
            awaitCondition("close() waits for the callback", () -> c.getState() == Thread.State.WAITING
                    || c.getState() == Thread.State.TIMED_WAITING || closer.done.getCount() == 0);
            assertThat(closer.done.getCount()).as("close() returned while a callback ran").isEqualTo(1);
            release.countDown();
            assertThat(closer.ended("close()").thrown.get()).isNull();
            assertThat(loop.ended("run()").thrown.get()).isNull();
            assertThat(calls.get()).isEqualTo(1);
            assertThat(done.count()).isEqualTo(13);
            for (Request r : reads) {
                assertThat(done.resultOf(r)).isEqualTo(64);
            }
            for (Request r : fifoReads) {
                assertThat(done.resultOf(r)).isIn(-125L, -108L);
            }
        } finally {
            fifo.close();
        }
    }

    /**
     * close() while run() on another thread is inside a callback blocked in a blocking read of a
     * FIFO that no one writes: close ends that read (the callback sees an exception), then the
     * callback returns, run() returns and close() returns; nothing waits forever.
     */
    @Test
    void closeEndsABlockingReadInsideACallbackOfARun() throws Exception {
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        AtomicReference<Object> blockingOutcome = new AtomicReference<>();
        CountDownLatch inside = new CountDownLatch(1);
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            Outcome loop = runLoop();
            read(f.fd(), (req, result) -> {
                inside.countDown();
                try {
                    blockingOutcome.set(fifo.file().read(ByteBuffer.allocate(8), 0));
                } catch (Throwable t) {
                    blockingOutcome.set(t);
                }
            });
            assertThat(inside.await(HANG.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
            awaitInKernel(engine, 1);
            Outcome closer = new Outcome();
            thread(closer, () -> {
                engine.close();
                return "closed";
            });
            assertThat(closer.ended("close()").thrown.get()).isNull();
            assertThat(loop.ended("run()").thrown.get()).isNull();
            assertThat(blockingOutcome.get()).as("the blocking read in the callback").isInstanceOf(Throwable.class);
        } finally {
            fifo.close();
        }
    }

    /** A callback run by close() (the engine shutting down) that submits more gets ESHUTDOWN, no leak. */
    @Test
    void aCallbackSubmittingDuringCloseGetsEshutdown() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            read(fifo.fd(), (req, result) -> {
                calls.incrementAndGet();
                try {
                    read(f.fd(), (q, r) -> calls.incrementAndGet());
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            awaitInKernel(engine, 1);
            engine.close();
        }
        fifo.close();
        assertThat(calls.get()).isEqualTo(1);
        assertThat(thrown.get()).isInstanceOf(AuraIOException.class)
                .satisfies(e -> assertThat(((AuraIOException) e).isShutdown()).isTrue());
        assertThat(engine.core().pool().outstandingBuffers()).isZero();
        assertThat(engine.await(-1)).as("nothing outstanding is left counted").isZero();
    }

    // ---- throwing callbacks ---------------------------------------------------------------------

    /**
     * An Error out of a callback inside run(): run() propagates it, the request's slot and memory
     * are released, the other completions stay queued (and the poll fd readable) for the next run.
     */
    @Test
    void anErrorThrownByACallbackInRunLosesNothing() throws Exception {
        Error boom = new AssertionError("boom");
        AtomicInteger calls = new AtomicInteger();
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, file, READ); Buffer buffer = engine.allocateBuffer(64)) {
            List<Request> reads = new ArrayList<>();
            reads.add(engine.read(f.fd(), buffer.ref(), 64, 0, (req, result) -> {
                calls.incrementAndGet();
                throw boom;
            }));
            for (int i = 0; i < 5; i++) {
                reads.add(read(f.fd(), done));
            }
            awaitCondition("all completed", () -> reads.stream().noneMatch(Request::isPending));
            assertThat(Posix.readable(engine.pollFd(), 0)).isTrue();
            // The first queued completion may be any of them: run() until the throwing one has run.
            while (calls.get() == 0) {
                engine.stop();
                try {
                    engine.run();
                } catch (Error e) {
                    assertThat(e).isSameAs(boom);
                }
            }
            assertThat(calls.get()).isEqualTo(1);
            engine.poll();
            assertThat(done.count()).isEqualTo(5);
            assertThat(Posix.readable(engine.pollFd(), 0)).isFalse();
            assertThat(engine.poll()).isZero();
        }
        assertNothingLeaked(engine);
    }

    // ---- callbacks at the ring's capacity -------------------------------------------------------

    /**
     * A callback that submits while every slot is held by completions queued behind it gets EAGAIN
     * at once (it must not wait for a slot only its own thread can free), and the loop goes on.
     */
    @Test
    void aCallbackSubmittingAtCapacityGetsEagainAndTheLoopGoesOn() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
        AtomicInteger again = new AtomicInteger();
        AtomicInteger submitted = new AtomicInteger();
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            Callback resubmit = (req, result) -> {
                try {
                    read(f.fd(), done);
                    submitted.incrementAndGet();
                } catch (AuraIOException e) {
                    assertThat(e.isAgain()).isTrue();
                    again.incrementAndGet();
                }
            };
            List<Request> reads = new ArrayList<>();
            long deadline = System.nanoTime() + HANG.toNanos();
            while (true) {
                try {
                    reads.add(read(f.fd(), resubmit));
                } catch (AuraIOException e) {
                    assertThat(e.isAgain()).isTrue();
                    break;
                }
                assertThat(System.nanoTime() - deadline).as("the ring never filled").isNegative();
            }
            awaitCondition("all completed", () -> reads.stream().noneMatch(Request::isPending));
            // The callbacks' own reads complete meanwhile: the same poll may run them too.
            assertThat(engine.poll()).isGreaterThanOrEqualTo(reads.size());
            assertThat(again.get()).as("the first callback found every slot taken").isPositive();
            assertThat(again.get() + submitted.get()).isEqualTo(reads.size());
            done.awaitCount(engine, submitted.get());
        }
        assertNothingLeaked(engine);
    }
}
