package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
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
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
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
 * The event loop: {@link Engine#poll()}, {@link Engine#await(long)}, {@link Engine#run()},
 * {@link Engine#stop()}, {@link Engine#drain(long)} and {@link Engine#pollFd()}, checked with a real
 * {@code poll(2)}.
 */
@ExtendWith(IoUringAvailable.class)
class EventLoopTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;
    private Path file;

    @BeforeEach
    void createEngine() throws Exception {
        engine = Engine.create(Options.builder().ringCount(2).build());
        arena = Arena.ofShared();
        file = dir.resolve("data");
        Files.write(file, randomBytes(64 * 1024, 1));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
        arena.close();
    }

    private Request read(int fd, Callback callback) throws AuraIOException {
        return engine.read(fd, BufferRef.of(arena.allocate(64)), 64, 0, callback);
    }

    // ---- poll and await ------------------------------------------------------------------------

    @Test
    void pollWithNothingQueuedReturnsZero() throws Exception {
        assertThat(engine.poll()).isZero();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            Request r = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            assertThat(engine.poll()).as("a request in the kernel is not a completion").isZero();
            engine.cancel(r);
            done.awaitCount(engine, 1);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void pollRunsEveryQueuedCallbackAndReturnsTheirCount() throws Exception {
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                reads.add(read(f.fd(), done));
            }
            awaitCondition("all ten completed", () -> reads.stream().noneMatch(Request::isPending));
            assertThat(done.count()).as("callbacks wait for poll").isZero();
            assertThat(engine.poll()).isEqualTo(10);
            assertThat(done.count()).isEqualTo(10);
            assertThat(engine.poll()).isZero();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void awaitWithNothingOutstandingReturnsZeroAtOnce() throws Exception {
        assertThat(engine.await(0)).isZero();
        assertThat(engine.await(50)).isZero();
        assertThat(engine.await(-1)).as("-1 must not hang with nothing outstanding").isZero();
        assertThatThrownBy(() -> engine.await(-2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void awaitReturnsZeroAfterItsTimeoutWhileARequestStaysPending() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = read(fifo.fd(), done);
            assertThat(engine.await(30)).isZero();
            assertThat(engine.await(0)).isZero();
            assertThat(r.isPending()).isTrue();
            assertThat(done.count()).isZero();

            fifo.write(ByteBuffer.wrap(new byte[] {7}), 0);
            assertThat(engine.await(-1)).as("waits for the one outstanding callback").isEqualTo(1);
            assertThat(done.resultOf(r)).isEqualTo(1);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void awaitWithoutLimitRunsCompletionsAsTheyCome() throws Exception {
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            for (int i = 0; i < 20; i++) {
                read(f.fd(), done);
            }
            int total = 0;
            while (total < 20) {
                int n = engine.await(-1);
                assertThat(n).isPositive();
                total += n;
            }
            assertThat(done.count()).isEqualTo(20);
        }
        assertNothingLeaked(engine);
    }

    private interface Wait {
        Object call() throws Exception;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"await", "drain", "run"})
    void waitingIsInterruptible(String which) throws Exception {
        Wait wait = switch (which) {
            case "await" -> () -> engine.await(-1);
            case "drain" -> () -> engine.drain(-1);
            default -> () -> {
                engine.run();
                return "run() returned";
            };
        };
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = read(fifo.fd(), done);
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(new AssertionError(which + " returned " + wait.call()));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            awaitCondition("the waiter waits", () -> waiter.getState() == Thread.State.TIMED_WAITING
                    || waiter.getState() == Thread.State.WAITING);
            waiter.interrupt();
            joinAll(List.of(waiter));
            assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
            engine.cancel(r);
            done.awaitCount(engine, 1);
        }
        assertNothingLeaked(engine);
    }

    /** poll/await/run/drain are serialized: two threads polling run every callback exactly once. */
    @Test
    void concurrentPollersRunEachCallbackOnce() throws Exception {
        int requests = 200; // fewer than a ring's slots: no EAGAIN whatever ring they land on
        AtomicInteger ran = new AtomicInteger();
        Queue<Request> seen = new ConcurrentLinkedQueue<>();
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            List<Thread> pollers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                pollers.add(Thread.ofPlatform().start(() -> {
                    try {
                        long deadline = AsyncFixtures.deadline();
                        while (ran.get() < requests) {
                            AsyncFixtures.checkDeadline(deadline, "every callback ran");
                            if (engine.await(5) + engine.poll() == 0) {
                                Thread.yield();
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            List<Request> submitted = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                submitted.add(read(f.fd(), (req, result) -> {
                    seen.add(req);
                    ran.incrementAndGet();
                }));
            }
            joinAll(pollers);
            assertThat(failures).isEmpty();
            assertThat(seen).hasSize(requests).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(submitted);
        }
        assertNothingLeaked(engine);
    }

    // ---- run and stop --------------------------------------------------------------------------

    @Test
    void runProcessesCallbacksUntilStopIsCalledFromAnotherThread() throws Exception {
        Completions done = new Completions();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = Thread.ofPlatform().name("event-loop").start(() -> {
            try {
                engine.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            for (int round = 0; round < 3; round++) {
                int target = (round + 1) * 10;
                for (int i = 0; i < 10; i++) {
                    read(f.fd(), done);
                }
                awaitCondition(target + " callbacks ran", () -> done.count() == target);
            }
            assertThat(loop.isAlive()).as("run() keeps going between bursts").isTrue();
            assertThat(done.all()).allMatch(c -> c.thread() == loop);
        }
        engine.stop();
        joinAll(List.of(loop));
        assertThat(failure.get()).isNull();

        // After run() returned, a later run() runs again until the next stop().
        Thread again = Thread.ofPlatform().start(() -> {
            try {
                engine.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        awaitCondition("run() waits", () -> again.getState() == Thread.State.WAITING);
        engine.stop();
        joinAll(List.of(again));
        assertThat(failure.get()).isNull();
        assertNothingLeaked(engine);
    }

    /** run() calls are serialized; one stop() ends all of them, the one waiting its turn too. */
    @Test
    void oneStopEndsEveryRunInProgress() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> loops = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            loops.add(Thread.ofPlatform().name("event-loop-" + i).start(() -> {
                try {
                    engine.run();
                } catch (Throwable t) {
                    failure.set(t);
                }
            }));
        }
        awaitCondition("both run() calls wait", () -> loops.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
        engine.stop();
        joinAll(loops);
        assertThat(failure.get()).isNull();

        // A run() started afterwards runs until the next stop().
        Thread later = Thread.ofPlatform().start(() -> {
            try {
                engine.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        awaitCondition("the later run() waits", () -> later.getState() == Thread.State.WAITING);
        assertThat(later.isAlive()).isTrue();
        engine.stop();
        joinAll(List.of(later));
        assertThat(failure.get()).isNull();
    }

    @Test
    void runReturnsAfterStopIsCalledFromInsideACallback() throws Exception {
        AtomicInteger ran = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CompletableFuture<Void> returned = new CompletableFuture<>();
        Thread loop = Thread.ofPlatform().start(() -> {
            try {
                engine.run();
                returned.complete(null);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            read(f.fd(), (req, result) -> {
                ran.incrementAndGet();
                engine.stop();
            });
            joinAll(List.of(loop));
        }
        assertThat(failure.get()).isNull();
        assertThat(returned).isDone();
        assertThat(ran.get()).isEqualTo(1);
        assertNothingLeaked(engine);
    }

    /**
     * A stop() that no run() has answered yet is kept for the next run() only: await (the
     * reference's auraio_wait) still waits for a completion or its timeout, rather than returning
     * at once, which made a loop of await(-1) spin. The next run() then returns at once.
     */
    @Test
    void aStopKeptForTheNextRunDoesNotEndAnAwait() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Completions done = new Completions();
            Request r = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            engine.stop(); // no run() in progress: kept for the next one
            long timeoutMillis = 300;
            long t0 = System.nanoTime();
            assertThat(engine.await(timeoutMillis)).isZero();
            long waitedNanos = System.nanoTime() - t0;
            assertThat(r.isPending()).isTrue();
            assertThat(waitedNanos).as("await(%d) with a request outstanding returned early", timeoutMillis)
                    .isGreaterThanOrEqualTo(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
            engine.run(); // answers the kept stop: returns at once
            engine.cancel(r);
            done.awaitCount(engine, 1);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void runReturnsWhenTheEngineCloses() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loop = Thread.ofPlatform().start(() -> {
            try {
                engine.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        awaitCondition("run() waits", () -> loop.getState() == Thread.State.WAITING);
        engine.close();
        joinAll(List.of(loop));
        assertThat(failure.get()).isNull();
    }

    @Test
    void afterCloseTheEventLoopCallsReturnAtOnce() throws Exception {
        engine.close();
        assertThat(engine.poll()).isZero();
        assertThat(engine.await(-1)).isZero();
        assertThat(engine.drain(-1)).isZero();
        engine.run(); // returns: the engine is closed
        engine.stop();
    }

    // ---- drain ---------------------------------------------------------------------------------

    @Test
    void drainTimesOutWithEtimedoutWhileAFifoReadIsPending() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request r = read(fifo.fd(), done);
            assertThatThrownBy(() -> engine.drain(30)).isInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(110))
                    .hasMessageContaining("pending");
            assertThatThrownBy(() -> engine.drain(0)).isInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(110));
            assertThat(r.isPending()).isTrue();
            assertThat(engine.cancel(r)).isTrue();
            assertThat(engine.drain(-1)).isEqualTo(1);
            assertThat(done.resultOf(r)).isEqualTo(-125);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void drainWithoutLimitReturnsOnceEveryRequestCompleted() throws Exception {
        Completions done = new Completions();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             AuraFile f = AuraFile.open(engine, file, READ, WRITE)) {
            Request waiting = read(fifo.fd(), done);
            for (int i = 0; i < 30; i++) {
                read(f.fd(), done);
            }
            CompletableFuture<Long> future = engine.fsyncAsync(f.fd());
            Thread main = Thread.currentThread();
            // Feed the FIFO once this thread is waiting inside drain.
            Thread feeder = Thread.ofVirtual().start(() -> {
                try {
                    awaitCondition("drain waits", () -> main.getState() == Thread.State.TIMED_WAITING);
                    fifo.write(ByteBuffer.wrap(new byte[] {1, 2}), 0);
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
            });
            int ran = engine.drain(-1);
            joinAll(List.of(feeder));
            assertThat(ran).isEqualTo(31);
            assertThat(done.count()).isEqualTo(31);
            assertThat(done.resultOf(waiting)).isEqualTo(2);
            // Delivered to the future on a thread of its own, possibly just after drain returned.
            assertThat(future).succeedsWithin(java.time.Duration.ofSeconds(10));
            assertThat(engine.pendingCount()).isZero();
            assertThat(engine.drain(0)).as("nothing left").isZero();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void drainWaitsForRequestsSubmittedByCallbacksDuringTheDrain() throws Exception {
        AtomicInteger chain = new AtomicInteger();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            Callback[] next = new Callback[1];
            next[0] = (req, result) -> {
                if (chain.incrementAndGet() < 25) {
                    try {
                        read(f.fd(), next[0]);
                    } catch (AuraIOException e) {
                        throw new AssertionError(e);
                    }
                }
            };
            read(f.fd(), next[0]);
            assertThat(engine.drain(-1)).isEqualTo(25);
            assertThat(chain.get()).isEqualTo(25);
        }
        assertNothingLeaked(engine);
    }

    // ---- pollFd --------------------------------------------------------------------------------

    @Test
    void pollFdIsReadableExactlyWhileCallbackCompletionsAreQueued() throws Exception {
        int pollFd = engine.pollFd();
        assertThat(pollFd).isNotNegative();
        assertThat(Posix.readable(pollFd, 0)).as("nothing queued").isFalse();
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, file, READ);
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Request pendingRead = read(fifo.fd(), done);
            awaitInKernel(engine, 1);
            assertThat(Posix.readable(pollFd, 0)).as("a request in the kernel is not a completion").isFalse();

            Request a = read(f.fd(), done);
            Request b = read(f.fd(), done);
            assertThat(Posix.readable(pollFd, 60_000)).as("a completion is queued").isTrue();
            awaitCondition("both reads completed", () -> !a.isPending() && !b.isPending());
            // Level-triggered: still readable however often it is polled, until poll() runs them.
            assertThat(Posix.readable(pollFd, 0)).isTrue();
            assertThat(Posix.readable(pollFd, 0)).isTrue();
            assertThat(engine.poll()).isEqualTo(2);
            assertThat(Posix.readable(pollFd, 0)).as("after poll() ran them").isFalse();

            fifo.write(ByteBuffer.wrap(new byte[] {9}), 0);
            assertThat(Posix.readable(pollFd, 60_000)).isTrue();
            assertThat(engine.poll()).isEqualTo(1);
            assertThat(done.resultOf(pendingRead)).isEqualTo(1);
            assertThat(Posix.readable(pollFd, 0)).isFalse();
        }
        assertThat(engine.pollFd()).as("the same fd for the engine's life").isEqualTo(pollFd);
        assertNothingLeaked(engine);
    }

    @Test
    void pollFdIsNotReadableForBlockingOrFutureCompletions() throws Exception {
        int pollFd = engine.pollFd();
        try (AuraFile f = AuraFile.open(engine, file, READ, WRITE)) {
            f.write(ByteBuffer.allocate(10), 0);
            f.force(true);
            assertThat(engine.fsyncAsync(f.fd()).join()).isZero();
            assertThat(Posix.readable(pollFd, 0)).isFalse();
            assertThat(engine.poll()).isZero();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aPollFdLoopDrivesCallbacksToTheEnd() throws Exception {
        int pollFd = engine.pollFd();
        Completions done = new Completions();
        try (AuraFile f = AuraFile.open(engine, file, READ)) {
            for (int i = 0; i < 50; i++) {
                read(f.fd(), done);
            }
            // The reference's integration pattern: wait on the fd, then poll.
            while (done.count() < 50) {
                assertThat(Posix.readable(pollFd, 60_000)).isTrue();
                assertThat(engine.poll()).isPositive();
            }
            assertThat(Posix.readable(pollFd, 0)).isFalse();
        }
        assertNothingLeaked(engine);
    }
}
