package io.auraio.internal.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import io.auraio.testing.ThreadStartLimit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link BlockingOffload} and {@link MountTable} with real threads, real files and the real mount table. */
class BlockingOffloadTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final BlockingOffload offload = new BlockingOffload(8, 2);

    /** Runs {@code call} on a fresh virtual thread and returns what it returned or threw. */
    private static Object virtually(BlockingCall<Object, Exception> call) throws InterruptedException {
        AtomicReference<Object> out = new AtomicReference<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                out.set(call.call());
            } catch (Throwable e) {
                out.set(e);
            }
        });
        TestSupport.joinAll(List.of(t));
        return out.get();
    }

    /** Waits for {@code latch} on a pool thread, standing for a call to a mount that does not answer. */
    private static Object await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return null;
    }

    @Test
    void aVirtualCallerParksWhileADaemonPoolThreadMakesTheCall() throws Exception {
        Object ran = virtually(() -> offload.call(dir.path(), Thread::currentThread));
        Thread worker = (Thread) ran;
        assertThat(worker.isVirtual()).isFalse();
        assertThat(worker.isDaemon()).isTrue();
        assertThat(worker.getName()).startsWith("auraio-offload-");
        assertThat(offload.poolSize()).isBetween(1, 8);
    }

    @Test
    void aPlatformCallerMakesTheCallItself() throws Exception {
        Thread me = Thread.currentThread();
        assertThat(offload.call(dir.path(), Thread::currentThread)).isSameAs(me);
        assertThat(offload.poolSize()).isZero();
    }

    @Test
    void failuresComeBackAsTheSameExceptionWithTheCallersFrames() throws Exception {
        Path missing = dir.path().resolve("missing");
        IOException thrown = new IOException("x");
        Object failure = virtually(() -> offload.call(missing, () -> Files.size(missing)));
        assertThat((Throwable) failure).isInstanceOf(NoSuchFileException.class).hasMessage(missing.toString());
        List<String> frames = Arrays.stream(((Throwable) failure).getStackTrace())
                .map(f -> f.getClassName() + "." + f.getMethodName()).toList();
        // The JDK's frames of the call, then this test's: as if the caller had made it.
        assertThat(frames).anyMatch(f -> f.startsWith("sun.nio.fs.UnixException"));
        assertThat(frames).anyMatch(f -> f.startsWith(BlockingOffloadTest.class.getName() + ".lambda$failuresComeBack"));
        assertThat(frames).noneMatch(f -> f.contains("$Worker"));

        Object same = virtually(() -> offload.call(missing, () -> {
            throw thrown;
        }));
        assertThat(same).isSameAs(thrown);
        Object unchecked = virtually(() -> offload.call(missing, () -> {
            throw new IllegalStateException("boom");
        }));
        assertThat((Throwable) unchecked).isInstanceOf(IllegalStateException.class).hasMessage("boom");
        Object error = virtually(() -> offload.call(missing, () -> {
            throw new AssertionError("err");
        }));
        assertThat((Throwable) error).isInstanceOf(AssertionError.class).hasMessage("err");
    }

    /** The oracle: the JDK's Files.size on a virtual thread whose interrupt status is set. */
    @Test
    void anInterruptStatusSetBeforeTheCallIsKeptAndIgnoredAsByTheJdk() throws Exception {
        Path file = Files.write(dir.path().resolve("f"), new byte[123]);
        Object jdk = virtually(() -> {
            Thread.currentThread().interrupt();
            return Files.size(file) + " " + Thread.currentThread().isInterrupted();
        });
        Object ours = virtually(() -> {
            Thread.currentThread().interrupt();
            return offload.call(file, () -> Files.size(file)) + " " + Thread.currentThread().isInterrupted();
        });
        assertThat(jdk).isEqualTo("123 true");
        assertThat(ours).isEqualTo(jdk);
    }

    @Test
    void anInterruptDuringTheCallDoesNotEndTheWaitAndIsKept() throws Exception {
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        AtomicReference<String> out = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            String v = offload.call(dir.path(), () -> {
                inCall.countDown();
                await(answer); // a hung mount
                return "answered";
            });
            out.set(v + " " + Thread.currentThread().isInterrupted());
        });
        inCall.await();
        for (int i = 0; i < 5; i++) {
            caller.interrupt();
            Thread.sleep(20);
        }
        assertThat(caller.isAlive()).as("the caller still waits for the call").isTrue();
        answer.countDown();
        TestSupport.joinAll(List.of(caller));
        assertThat(out.get()).isEqualTo("answered true");
    }

    /**
     * A mount whose calls never answer takes at most perMount (2) of the 8 pool threads; the callers
     * beyond park without a pool thread, and calls on another mount still run.
     */
    @Test
    void aHungMountHoldsAtMostItsShareOfThePool() throws Exception {
        Path hung = Path.of("/proc/self/status"); // /proc: a mount of its own
        assertThat(new MountTable().mountOf(hung)).isEqualTo("/proc");
        assertThat(new MountTable().mountOf(dir.path())).isNotEqualTo("/proc");
        CountDownLatch answer = new CountDownLatch(1);
        List<Thread> stuck = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            stuck.add(Thread.ofVirtual().start(() -> offload.call(hung, () -> await(answer))));
        }
        TestSupport.awaitCondition("the hung mount's share taken", () -> offload.availablePermits(hung) == 0
                && offload.active() == 2);
        Thread.sleep(50);
        assertThat(offload.active()).as("pool threads on the hung mount").isEqualTo(2);
        assertThat(stuck).allMatch(Thread::isAlive);

        Path file = Files.write(dir.path().resolve("g"), new byte[7]);
        List<Thread> others = new ArrayList<>();
        List<Long> sizes = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 30; i++) {
            others.add(Thread.ofVirtual().start(() -> {
                try {
                    sizes.add(offload.call(file, () -> Files.size(file)));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }));
        }
        TestSupport.joinAll(others);
        assertThat(sizes).hasSize(30).containsOnly(7L);
        assertThat(stuck).allMatch(Thread::isAlive);

        answer.countDown();
        TestSupport.joinAll(stuck);
        assertThat(offload.availablePermits(hung)).isEqualTo(2);
    }

    @Test
    void aCallOnTwoMountsCountsAgainstBoth() throws Exception {
        Path a = Path.of("/proc/self/status");
        Path b = dir.path();
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        Thread t = Thread.ofVirtual().start(() -> offload.call(a, b, () -> {
            inCall.countDown();
            return await(answer);
        }));
        inCall.await();
        assertThat(offload.availablePermits(a)).isEqualTo(1);
        assertThat(offload.availablePermits(b)).isEqualTo(1);
        answer.countDown();
        TestSupport.joinAll(List.of(t));
        assertThat(offload.availablePermits(a)).isEqualTo(2);
        assertThat(offload.availablePermits(b)).isEqualTo(2);
    }

    @Test
    void mountPointsAreMatchedByWholeComponentsAndUnescaped() {
        MountTable table = new MountTable();
        assertThat(table.mountOf(Path.of("/proc"))).isEqualTo("/proc");
        assertThat(table.mountOf(Path.of("/proc/1/../self"))).isEqualTo("/proc");
        assertThat(table.mountOf(Path.of("/procx/y"))).isNotEqualTo("/proc");
        assertThat(MountTable.unescape("/mnt/a\\040b\\134c")).isEqualTo("/mnt/a b\\c");
        assertThat(MountTable.unescape("/mnt/a\\04")).isEqualTo("/mnt/a\\04");
    }

    @Test
    void poolThreadsAreStartedWhenCallsComeAndEndWhenIdle() throws Exception {
        BlockingOffload quick = new BlockingOffload(4, 4, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(quick.poolSize()).as("no thread before the first call").isZero();
        CountDownLatch answer = new CountDownLatch(1);
        List<Thread> callers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            callers.add(Thread.ofVirtual().start(() -> quick.call(dir.path(), () -> await(answer))));
        }
        TestSupport.awaitCondition("three pool threads", () -> quick.poolSize() == 3);
        answer.countDown();
        TestSupport.joinAll(callers);
        TestSupport.awaitCondition("idle pool threads to end", () -> quick.poolSize() == 0);
    }

    @Test
    void sequentialCallsReuseOneThreadAndManyCallersShareABoundedPool() throws Exception {
        Object sizes = virtually(() -> {
            List<Integer> seen = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                offload.call(dir.path(), () -> null);
                seen.add(offload.poolSize());
            }
            return seen.stream().distinct().toList();
        });
        assertThat(sizes).isEqualTo(List.of(1));

        // 200 callers of 4 mounts' worth of calls at once: every call done, never more than 8 threads.
        List<Thread> callers = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        List<Path> paths = List.of(dir.path(), Path.of("/proc/self"), Path.of("/sys/kernel"), Path.of("/dev/null"));
        for (int i = 0; i < 200; i++) {
            Path p = paths.get(i % paths.size());
            callers.add(Thread.ofVirtual().start(() -> offload.call(p, () -> {
                most.accumulateAndGet(offload.active(), Math::max);
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                return done.incrementAndGet();
            })));
        }
        TestSupport.joinAll(callers);
        assertThat(done.get()).isEqualTo(200);
        assertThat(most.get()).isBetween(1, 8);
        assertThat(offload.poolSize()).isBetween(1, 8);
    }

    /**
     * A virtual caller polls for a short call's end instead of parking (a park and the wake-up
     * after it were two sleeping hand-offs), and one that outlasts the poll parks and still gets
     * its result; the pool thread that made calls back to back spins for the next one only
     * briefly, then parks (an idle pool takes no CPU).
     */
    @Test
    void aVirtualCallerPollsForAShortCallAndParksForALongOne() throws Exception {
        long polledBefore = offload.callsPolled();
        Object sum = virtually(() -> {
            long total = 0;
            for (int i = 0; i < 200; i++) {
                int n = i;
                total += offload.call(dir.path(), () -> n);
            }
            return total;
        });
        assertThat(sum).isEqualTo(199L * 200 / 2);
        assertThat(offload.callsPolled() - polledBefore).as("calls seen done while polling").isPositive();
        long polled = offload.callsPolled();
        Object late = virtually(() -> offload.call(dir.path(), () -> {
            Thread.sleep(20);
            return "late";
        }));
        assertThat(late).isEqualTo("late");
        assertThat(offload.callsPolled()).as("a 20 ms call is waited for parked").isEqualTo(polled);
        TestSupport.awaitCondition("the idle pool thread parked", () -> Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("auraio-offload-"))
                .allMatch(t -> t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING
                        || !t.isAlive()));
    }

    /**
     * A caller polling for its calls keeps its carrier only while no other virtual thread waits
     * for one: a virtual thread sleeping 1 ms at a time beside callers on every carrier that make
     * calls back to back still runs its 200 sleeps.
     */
    @Test
    void pollingCallersLetOtherVirtualThreadsRun() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> callers = new ArrayList<>();
        for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
            callers.add(Thread.ofVirtual().start(() -> {
                while (!stop.get()) {
                    offload.call(dir.path(), () -> null);
                }
            }));
        }
        java.util.concurrent.atomic.AtomicInteger ticks = new java.util.concurrent.atomic.AtomicInteger();
        Thread ticker = Thread.ofVirtual().start(() -> {
            for (int i = 0; i < 200; i++) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                ticks.incrementAndGet();
            }
        });
        try {
            assertThat(ticker.join(java.time.Duration.ofSeconds(20))).as("200 ticks of 1 ms beside polling callers, %d run",
                    ticks.get()).isTrue();
        } finally {
            stop.set(true);
            TestSupport.joinAll(callers);
        }
    }

    @Test
    void limitsAreChecked() {
        assertThatThrownBy(() -> new BlockingOffload(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BlockingOffload(4, 5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BlockingOffload(4, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    /** An abandonable call that waits for {@code latch} (a hung mount), counting its releases. */
    private static final class LatchCall extends AbandonableCall {
        final CountDownLatch latch;
        final java.util.concurrent.atomic.AtomicInteger releases = new java.util.concurrent.atomic.AtomicInteger();
        volatile boolean ran;

        LatchCall(CountDownLatch latch) {
            this.latch = latch;
        }

        @Override
        protected long call() {
            ran = true;
            await(latch);
            return 42;
        }

        @Override
        protected void release() {
            releases.incrementAndGet();
        }
    }

    @Test
    void abandonableCallsOfAHungMountHoldOnlyItsPermitsAndEveryCallerCanLeave() throws Exception {
        CountDownLatch hung = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
        List<LatchCall> calls = new ArrayList<>();
        List<Thread> callers = new ArrayList<>();
        List<Long> results = java.util.Collections.synchronizedList(new ArrayList<>());
        // Two hold the mount's two permits in the "kernel", two more wait for a permit.
        for (int i = 0; i < 4; i++) {
            LatchCall c = new LatchCall(hung);
            calls.add(c);
            callers.add(Thread.ofVirtual().start(() -> results.add(offload.callAbandonable("dead", c, true, closed::get))));
            TestSupport.awaitCondition("caller " + i + " to be in place", () -> c.ran || offload.active() >= 2);
        }
        TestSupport.awaitCondition("both permits taken", () -> offload.active() == 2);
        // Another mount is still served meanwhile.
        LatchCall other = new LatchCall(new CountDownLatch(0));
        assertThat(virtually(() -> offload.callAbandonable("alive", other, true, () -> false))).isEqualTo(42L);
        // An interrupt makes a caller leave, whether in the call or waiting for a permit; the closed
        // flag (and an unpark, as the file's close gives) makes the others leave.
        callers.get(0).interrupt();
        callers.get(3).interrupt();
        TestSupport.joinAll(List.of(callers.get(0), callers.get(3)));
        closed.set(true);
        callers.forEach(java.util.concurrent.locks.LockSupport::unpark);
        TestSupport.joinAll(callers);
        assertThat(results).containsOnly(BlockingOffload.ABANDONED).hasSize(4);
        // The calls still in the "kernel" release their memory when they return, not before.
        assertThat(calls.stream().filter(c -> c.ran).mapToInt(c -> c.releases.get()).sum()).isZero();
        assertThat(calls.stream().filter(c -> !c.ran).mapToInt(c -> c.releases.get()).toArray()).containsOnly(1);
        hung.countDown();
        TestSupport.awaitCondition("the hung calls to return and release", () -> offload.active() == 0
                && calls.stream().allMatch(c -> c.releases.get() == 1));
        assertThat(other.releases.get()).as("a result taken by its caller is the caller's to free").isZero();
    }

    /**
     * Calls nobody waits for ({@link BlockingOffload#runDetached}: the closes of a slow mount's
     * files that callers left) take their mount's share: those of a hung mount beyond its share
     * wait in a queue holding no thread, another mount's calls still run, and once the hung ones
     * return every queued one runs, once. Failed before: the detached calls took a pool thread
     * each, counted against no share (here 5 threads of the hung mount where its share is 2).
     */
    @Test
    void detachedCallsOfAHungMountHoldOnlyItsShare() throws Exception {
        CountDownLatch hung = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger started = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        for (int i = 0; i < 5; i++) {
            offload.runDetached("dead", () -> {
                started.incrementAndGet();
                await(hung);
                ran.incrementAndGet();
            });
        }
        TestSupport.awaitCondition("the share's two calls on pool threads", () -> started.get() >= 2);
        assertThat(offload.active()).as("pool threads the hung mount holds").isEqualTo(2);
        assertThat(offload.unwaitedQueued("dead")).isEqualTo(3);
        CountDownLatch aliveRan = new CountDownLatch(1);
        offload.runDetached("alive", aliveRan::countDown);
        assertThat(aliveRan.await(10, java.util.concurrent.TimeUnit.SECONDS)).as("another mount's call").isTrue();
        assertThat(virtually(() -> offload.callAbandonable("alive", new LatchCall(new CountDownLatch(0)), true,
                () -> false))).isEqualTo(42L);
        Thread.sleep(50); // time for a wrongly started call to show
        assertThat(started.get()).as("calls of the hung mount started").isEqualTo(2);
        hung.countDown();
        TestSupport.awaitCondition("every detached call to run", () -> ran.get() == 5 && offload.active() == 0);
        assertThat(started.get()).isEqualTo(5);
        assertThat(offload.unwaitedQueued("dead")).isZero();
    }

    /**
     * Where the process may start no more threads (a container's pids limit), a call is made on
     * its caller's thread, as FileChannel makes it, rather than failing with the JDK's
     * OutOfMemoryError ("unable to create native thread"): an abandonable call (a slow file's
     * transfer), whose mount permit is given back, and a plain call of a virtual thread, which
     * runs on that virtual thread (its carrier limited while the virtual thread spins on it, so
     * that it is not unmounted). Once threads may start again, calls go to the pool.
     */
    @Test
    void withNoThreadToStartACallIsMadeOnItsCallersThread() throws Exception {
        ThreadStartLimit.unsupported().ifPresent(Assumptions::abort);
        // Idle pool threads end after 100 ms: a call then needs a new one.
        BlockingOffload fresh = new BlockingOffload(4, 2, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100));
        LatchCall abandonable = new LatchCall(new CountDownLatch(0));
        long abandonableResult;
        try (ThreadStartLimit limit = ThreadStartLimit.on(Posix.gettid())) {
            abandonableResult = fresh.callAbandonable("m", abandonable, true, () -> false);
            assertThat(limit.refusals()).as("thread starts refused").isPositive();
        }
        assertThat(abandonableResult).isEqualTo(42L);
        assertThat(abandonable.releases.get()).as("a result taken by its caller is the caller's to free").isZero();
        assertThat(fresh.active()).as("the mount's permit given back").isZero();
        assertThat(fresh.callsOnCaller()).isEqualTo(1);

        // The mount table read (it is then kept for a second) and the pool thread that read it gone.
        assertThat(virtually(() -> fresh.call(dir.path(), Thread::currentThread))).isInstanceOf(Thread.class);
        TestSupport.awaitCondition("the idle pool thread to end", () -> fresh.poolSize() == 0);
        java.util.concurrent.atomic.AtomicInteger carrier = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean limited = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean lifted = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicReference<Object> ranOn = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            carrier.set(Posix.gettid());
            while (!limited.get()) {
                Thread.onSpinWait();
            }
            try {
                ranOn.set(fresh.call(dir.path(), Thread::currentThread));
            } catch (Throwable t) {
                ranOn.set(t);
            }
            while (!lifted.get()) {
                Thread.onSpinWait();
            }
        });
        TestSupport.awaitCondition("the caller on its carrier", () -> carrier.get() != 0);
        try (ThreadStartLimit limit = ThreadStartLimit.on(carrier.get())) {
            limited.set(true);
            TestSupport.awaitCondition("the call made", () -> ranOn.get() != null);
            assertThat(limit.refusals()).as("thread starts refused").isPositive();
        } finally {
            limited.set(true);
            lifted.set(true);
        }
        TestSupport.joinAll(List.of(caller));
        assertThat(ranOn.get()).as("the thread that made the call").isSameAs(caller);
        assertThat(fresh.callsOnCaller()).isEqualTo(2);
        assertThat(fresh.poolSize()).isZero();
        Object later = virtually(() -> fresh.call(dir.path(), Thread::currentThread));
        assertThat(((Thread) later).getName()).as("once threads may start").startsWith("auraio-offload-");
        assertThat(fresh.callsOnCaller()).isEqualTo(2);
    }
}
