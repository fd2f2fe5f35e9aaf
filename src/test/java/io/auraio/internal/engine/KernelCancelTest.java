package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.ThreadStartLimit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests the kernel cancels though nobody asked it to ({@link RingPoller}'s resubmission): they
 * never ran, and the caller must get the request's real result, not ECANCELED. The cause here is
 * the one profiling found ({@code auraio bench} under async-profiler at a 50 µs interval failed
 * with "statx: Operation canceled"): a {@code statx} runs on an io-wq worker, the kernel starts the
 * worker from the thread that submitted the request (the ring's poller), and when that start fails
 * three times (there: a profiler's signal pending on the poller) it cancels every request waiting
 * for a worker. Made to fail on demand by a cgroup that lets the poller start no thread
 * ({@link ThreadStartLimit}); real rings, real files. The other cause, a submitting thread that
 * exited, is {@code CallerSubmitTest}'s.
 */
@ExtendWith(IoUringAvailable.class)
class KernelCancelTest {
    /** 64 slots, a fixed limit of 64 (adaptive tuning off), no SQPOLL, daemon pollers, the default path. */
    private static final RingConfig CONFIG = new RingConfig(64, 64, 4, 0, false, false, 0, true, true);
    private static final byte[] CONTENT = "seventeen bytes!\n".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;
    private Arena arena;
    private MemorySegment path;
    private IoEngine engine;
    private RingPoller ring;
    private ThreadStartLimit limit;

    @BeforeEach
    void limitThePollersThreadStarts() throws Exception {
        ThreadStartLimit.unsupported().ifPresent(Assumptions::abort);
        startTheCarriers();
        arena = Arena.ofShared();
        path = arena.allocateFrom(Files.write(dir.resolve("data"), CONTENT).toString());
        // A fresh ring: its poller has started no io-wq worker yet, so a statx needs one started.
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        ring = engine.ring(0);
        limit = ThreadStartLimit.on(ring.callOnRing(u -> Posix.gettid()));
    }

    /**
     * The poller unparks virtual threads and starts the ones that complete futures: the scheduler
     * must have its carriers before the poller may start no thread, or a carrier it would start
     * fails (and the JVM's first virtual thread, started there, fails its class initialisation).
     */
    private static void startTheCarriers() throws InterruptedException {
        Thread[] threads = new Thread[2 * Runtime.getRuntime().availableProcessors()];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = Thread.ofVirtual().start(() -> {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
                while (System.nanoTime() - until < 0) {
                    Thread.onSpinWait(); // busy, so that every carrier is started to run the others
                }
            });
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    @AfterEach
    void close() throws Exception {
        if (limit != null) {
            limit.lift();
        }
        if (engine != null) {
            engine.close();
        }
        if (limit != null) {
            limit.close();
        }
        if (arena != null) {
            arena.close();
        }
    }

    /** {@return a statx of the test file through the ring, on a virtual thread; its result, or the size on success} */
    private CompletableFuture<Long> statxOnAVirtualThread() {
        CompletableFuture<Long> done = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            long r = ring.execute(Opcode.STATX, 0, Statx.AT_FDCWD, statx.address(), path.address(), Statx.STATX_SIZE,
                    0, 0);
            done.complete(r == 0 ? Statx.size(statx) : r);
        });
        return done;
    }

    private void awaitResubmissions(long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ring.resubmittedAfterKernelCancel() < atLeast && System.nanoTime() - deadline < 0) {
            Thread.sleep(1);
        }
        assertThat(ring.resubmittedAfterKernelCancel()).as("requests the kernel cancelled, submitted again")
                .isGreaterThanOrEqualTo(atLeast);
    }

    /**
     * The kernel cannot start a worker for the statx and cancels it; once the poller may start
     * threads again, the statx submitted anew returns the file's size. Before the resubmission it
     * failed with ECANCELED.
     */
    @Test
    void aStatxTheKernelCancelsForWantOfAWorkerIsSubmittedAgainAndReturnsTheSize() throws Exception {
        CompletableFuture<Long> statx = statxOnAVirtualThread();
        awaitResubmissions(1);
        assertThat(limit.refusals()).as("worker starts the cgroup refused").isPositive();
        limit.lift();
        assertThat(statx.get(30, TimeUnit.SECONDS)).as("the statx's size").isEqualTo(CONTENT.length);
        assertThat(ring.inUse()).isZero();
    }

    /**
     * A future's statx (the request kind {@code Engine.statxAsync} makes) is submitted again the
     * same way: its completion sees the size, never the kernel's ECANCELED.
     */
    @Test
    void anAsyncStatxTheKernelCancelsIsSubmittedAgainBeforeItsCompletionRuns() throws Exception {
        MemorySegment statx = arena.allocate(Statx.BYTES, 8);
        CompletableFuture<Long> done = new CompletableFuture<>();
        ring.submit(Slot.FUTURE, Opcode.STATX, 0, Statx.AT_FDCWD, statx.address(), path.address(), Statx.STATX_SIZE,
                0, 0, result -> done.complete(result == 0 ? Statx.size(statx) : result), null, false, false);
        awaitResubmissions(1);
        assertThat(done).as("not completed while the kernel cancels it").isNotDone();
        limit.lift();
        assertThat(done.get(30, TimeUnit.SECONDS)).as("the statx's size").isEqualTo(CONTENT.length);
    }

    /**
     * A cause that does not pass (the process at its thread limit) must not keep the caller
     * forever: after {@link RingPoller#KERNEL_CANCEL_RESUBMITS} resubmissions it ends with EAGAIN
     * (what the worker's start failed with; the kernel's ECANCELED would say someone cancelled
     * it). The ring still serves: a statx made once threads may start again returns the size.
     */
    @Test
    void aRequestTheKernelKeepsCancellingEndsWithEagainAfterItsResubmissions() throws Exception {
        assertThat(statxOnAVirtualThread().get(30, TimeUnit.SECONDS)).isEqualTo(-Errno.EAGAIN);
        assertThat(ring.resubmittedAfterKernelCancel()).isEqualTo(RingPoller.KERNEL_CANCEL_RESUBMITS);
        limit.lift();
        assertThat(statxOnAVirtualThread().get(30, TimeUnit.SECONDS)).isEqualTo(CONTENT.length);
        assertThat(ring.inUse()).isZero();
    }

    /**
     * A linked chain is not submitted again: its later links end with ECANCELED whenever an earlier
     * one fails, which says nothing of the kernel cancelling on its own, and a chain cannot be
     * resumed from its middle. Both links end with ECANCELED, none resubmitted.
     */
    @Test
    void aChainTheKernelCancelsIsNotSubmittedAgain() throws Exception {
        MemorySegment first = arena.allocate(Statx.BYTES, 8);
        MemorySegment second = arena.allocate(Statx.BYTES, 8);
        CompletableFuture<Long> firstDone = new CompletableFuture<>();
        CompletableFuture<Long> secondDone = new CompletableFuture<>();
        ring.submitChain(Slot.FUTURE, new Link[] {
            new Link(Opcode.STATX, 0, Statx.AT_FDCWD, first.address(), path.address(), Statx.STATX_SIZE, 0, 0,
                    firstDone::complete, null, false, false),
            new Link(Opcode.STATX, 0, Statx.AT_FDCWD, second.address(), path.address(), Statx.STATX_SIZE, 0, 0,
                    secondDone::complete, null, false, false)});
        assertThat(firstDone.get(30, TimeUnit.SECONDS)).isEqualTo(-Errno.ECANCELED);
        assertThat(secondDone.get(30, TimeUnit.SECONDS)).isEqualTo(-Errno.ECANCELED);
        assertThat(ring.resubmittedAfterKernelCancel()).isZero();
    }

    /**
     * A write through a registered descriptor that the kernel cancels for want of a worker is
     * submitted again; its first SQE named the registered slot holding its file, and an update put
     * another file in that slot before it went back in. The write was asked of its file and must
     * land there: until 2026-12-07 the resubmission kept the slot's number and wrote the other
     * file. An ext4 buffered write that allocates blocks cannot be done without blocking, so an
     * io-wq worker runs it, and the kernel cancels it while the poller may start none; the poller
     * may start threads again once it resubmitted the write.
     */
    @Test
    void aResubmittedWriteThroughARegisteredFileLandsInItsFileAfterItsSlotWasUpdated() throws Exception {
        MemorySegment from = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_BYTE, CONTENT);
        SlotUpdated run = throughASlotUpdatedMeanwhile(Opcode.WRITE, from.address(), CONTENT.length,
                () -> ring.resubmittedAfterKernelCancel() > 0);
        Assumptions.assumeTrue(ring.resubmittedAfterKernelCancel() > 0, () -> "the kernel wrote to " + dir
                + " without an io-wq worker (a file system that takes buffered writes without blocking): nothing"
                + " was cancelled to submit again");
        assertThat(run.result()).as("the write's result").isEqualTo(CONTENT.length);
        assertThat(Files.readAllBytes(run.other())).as("the file the slot holds now").isEmpty();
        assertThat(Files.readAllBytes(run.asked())).as("the file the write was asked of").isEqualTo(CONTENT);
    }

    /**
     * An fallocate through a registered descriptor goes to an io-wq worker unissued (the kernel
     * forces it async), and the kernel looks a registered slot up only when the worker starts it.
     * An update of the slot between the ring's submit and the worker's start made it allocate the
     * other file (an fsync would have synced the other file). The ring names the plain descriptor
     * for such requests since 2026-12-07. The poller may start no worker while the update runs; it
     * may again in the pass after, when the kernel retries the start.
     */
    @Test
    void anFallocateThroughARegisteredFileAllocatesItsFileThoughItsSlotIsUpdatedBeforeAWorkerStartsIt()
            throws Exception {
        // fallocate(fd, mode 0, offset 0, length 8192): the SQE carries the length in addr.
        SlotUpdated run = throughASlotUpdatedMeanwhile(Opcode.FALLOCATE, 8192, 0, () -> true);
        assertThat(run.lifted()).as("the poller could start threads again while the fallocate waited").isTrue();
        assertThat(run.result()).as("the fallocate's result").isZero();
        assertThat(Files.size(run.other())).as("the file the slot holds now").isZero();
        assertThat(Files.size(run.asked())).as("the file the fallocate was asked of").isEqualTo(8192);
    }

    /**
     * What {@link #throughASlotUpdatedMeanwhile} did: the request's result, the two files it made
     * empty, and whether the thread limit was lifted while the request waited (else it completed
     * without a worker).
     */
    private record SlotUpdated(long result, Path asked, Path other, boolean lifted) {}

    /**
     * Registers a new empty file {@code asked} in slot 0 and submits a future request on it at
     * offset 0 through the slot ({@code usesFixedFile}). The test seam holds the poller once the
     * request's SQE is filled until an update of slot 0 to another new empty file is queued as a
     * ring task (it runs at the poller's next pass, after this SQE is in the kernel); at each later
     * pass it lets the poller start threads again once {@code liftWhen} says so.
     */
    private SlotUpdated throughASlotUpdatedMeanwhile(int opcode, long address, int length,
                                                     java.util.function.BooleanSupplier liftWhen) throws Exception {
        Path asked = Files.createFile(dir.resolve("asked"));
        Path other = Files.createFile(dir.resolve("other"));
        int fdAsked = Posix.open(asked, Posix.O_RDWR);
        int fdOther = Posix.open(other, Posix.O_RDWR);
        try {
            assertThat(engine.registerFiles(new int[] {fdAsked})).isZero();
            java.util.concurrent.CountDownLatch filled = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicReference<Thread> updater = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicInteger stage = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicReference<Throwable> hookFailure = new java.util.concurrent.atomic.AtomicReference<>();
            ring.gatherForTests = gathered -> {
                try {
                    if (stage.get() == 0 && gathered > 0) {
                        filled.countDown();
                        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                        Thread t;
                        while (((t = updater.get()) == null || t.getState() != Thread.State.WAITING)
                                && System.nanoTime() < giveUp) {
                            Thread.onSpinWait();
                        }
                        stage.set(1);
                    } else if (stage.get() == 1 && liftWhen.getAsBoolean()) {
                        limit.lift();
                        stage.set(2);
                    }
                } catch (Throwable e) {
                    hookFailure.compareAndSet(null, e);
                }
                return false;
            };
            CompletableFuture<Long> done = new CompletableFuture<>();
            assertThat(engine.acquireFixedFile(fdAsked)).as("the descriptor is registered").isTrue();
            ring.submit(Slot.FUTURE, opcode, 0, fdAsked, 0, address, length, 0, 0, done::complete, null, false, true);
            assertThat(filled.await(30, TimeUnit.SECONDS)).as("the poller filled the request's SQE").isTrue();
            java.util.concurrent.atomic.AtomicInteger updated = new java.util.concurrent.atomic.AtomicInteger(1);
            Thread t = Thread.ofPlatform().unstarted(() -> updated.set(engine.updateFile(0, fdOther)));
            updater.set(t);
            t.start();
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(updated.get()).as("the update").isZero();
            long result = done.get(30, TimeUnit.SECONDS);
            assertThat(hookFailure.get()).isNull();
            return new SlotUpdated(result, asked, other, stage.get() == 2);
        } finally {
            ring.gatherForTests = null;
            Posix.close(fdAsked);
            Posix.close(fdOther);
        }
    }
}
