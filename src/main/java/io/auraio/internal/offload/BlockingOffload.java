package io.auraio.internal.offload;

import io.auraio.internal.sched.CarrierPolling;
import io.auraio.internal.sched.CarrierWaits;
import io.auraio.internal.sched.SharedLocks;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs blocking system calls that io_uring has no opcode for ({@code getdents}, {@code access},
 * {@code readlink}, {@code statfs}, a platform provider's {@code stat}, ...) on a bounded, elastic
 * pool of platform threads while the calling virtual thread parks, so that the call does not hold
 * the virtual thread's carrier (tokio's {@code spawn_blocking}). A platform thread makes the call
 * itself: parking it would only add a hand-off.
 *
 * <p><b>Pool.</b> Daemon threads named {@code auraio-offload-N}, started when calls come and
 * retired after {@link #KEEP_ALIVE_SECONDS} idle; at most {@code maxThreads} at once, later calls
 * wait in a queue.
 *
 * <p><b>A mount that hangs.</b> A call to a hung NFS server or FUSE daemon holds its pool thread
 * until the mount answers, which may be never. So that one dead mount cannot take the whole pool,
 * at most {@code perMount} calls per mount are handed to the pool at once (the mount found from the
 * path's name in {@code /proc/self/mountinfo}, see {@link MountTable}; no call that could hang is
 * made to find it); further callers for that mount park before taking a pool thread. Calls to
 * other mounts keep running until {@code maxThreads / perMount} mounts hang at once.
 *
 * <p><b>Interrupts.</b> The JDK's {@code Files} calls are not interruptible: a thread in
 * {@code stat} on a hung mount stays there, and an interrupt status set before or during the call
 * is kept, not acted on. The parked caller matches that: it waits for the call however often it
 * is interrupted, and returns with its interrupt status set if it was set.
 *
 * <p><b>Failures.</b> What the call throws is rethrown to the caller as is (same exception object,
 * type, message, cause and suppressed), its stack trace the pool thread's frames of the call
 * followed by the caller's frames, as if the caller had made the call itself.
 *
 * <p>Thread-safe.
 */
public final class BlockingOffload {
    /** Seconds a pool thread waits for work before it ends. */
    public static final long KEEP_ALIVE_SECONDS = 10;
    /** Default pool size: {@code -Dauraio.offload.maxThreads}, else 128. */
    static final int DEFAULT_MAX_THREADS = Integer.getInteger("auraio.offload.maxThreads", 128);
    /** Default calls per mount: {@code -Dauraio.offload.perMount}, else 32 (four hung mounts to fill the pool). */
    static final int DEFAULT_PER_MOUNT = Integer.getInteger("auraio.offload.perMount", 32);

    /**
     * Pool size for file transfers ({@link #transfers()}): {@code -Dauraio.offload.transferThreads},
     * else 1024. A transfer of a slow file system holds its thread for the whole round trip, so the
     * parallelism callers get is this pool's.
     */
    static final int DEFAULT_TRANSFER_THREADS = Integer.getInteger("auraio.offload.transferThreads", 1024);
    /** Transfers per mount on that pool: {@code -Dauraio.offload.transferPerMount}, else 256 (four hung mounts to fill it). */
    static final int DEFAULT_TRANSFER_PER_MOUNT = Integer.getInteger("auraio.offload.transferPerMount", 256);
    /** {@link #callAbandonable}'s result when the caller gave up: interrupted, or its file closed. */
    public static final long ABANDONED = Long.MIN_VALUE;
    /** How long a virtual caller polls for its call's end before it parks ({@link #pollWhileCarrierIsFree}). */
    private static final long CALLER_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(100);
    /**
     * How long a pool thread that finished a call waits for the next one spinning, before it
     * parks: only when its calls come one after another (the last came within this long of the
     * call before it), as a virtual thread's file operations do; a trickle of calls never makes
     * it spin. Without it each call of such a run waits for the pool thread's wake-up (20-40 µs).
     */
    private static final long WORKER_SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(30);
    /** How often a caller waiting for a mount's permit looks whether its file was closed. */
    private static final long PERMIT_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private static final class Holder {
        // Out-of-range properties are clamped: a typo must not make every metadata call fail.
        static final int MAX = Math.max(1, DEFAULT_MAX_THREADS);
        static final BlockingOffload SHARED = new BlockingOffload(MAX, Math.clamp(DEFAULT_PER_MOUNT, 1, MAX));
    }

    private static final class TransferHolder {
        static final int MAX = Math.max(1, DEFAULT_TRANSFER_THREADS);
        static final BlockingOffload TRANSFERS = new BlockingOffload(MAX,
                Math.clamp(DEFAULT_TRANSFER_PER_MOUNT, 1, MAX));
    }

    private final int maxThreads;
    private final long keepAliveNanos;
    private final ThreadFactory factory = Thread.ofPlatform().daemon().name("auraio-offload-", 0).factory();
    private final ReentrantLock lock = new ReentrantLock();
    /** Calls no thread could take: all maxThreads busy. Guarded by lock. */
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    /** Threads waiting for a call, the most recently idle first. Guarded by lock. */
    private final ArrayDeque<Worker> idleWorkers = new ArrayDeque<>();
    /** Pool threads alive. Guarded by lock. */
    private int threads;
    /** Pool threads running a call. */
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong callsOnPool = new AtomicLong();
    /** Calls made on their caller's thread because no pool thread could be started. */
    private final AtomicLong callsOnCaller = new AtomicLong();
    /** Calls whose virtual caller saw them end while polling, without parking. */
    private final LongAdder callsPolled = new LongAdder();
    private final int perMount;
    private final MountTable mounts = new MountTable();
    private final ConcurrentHashMap<String, MountShare> permits = new ConcurrentHashMap<>();

    /**
     * A pool of its own (the library uses {@link #shared()}).
     *
     * @param maxThreads the most pool threads at once
     * @param perMount   the most calls of one mount on the pool at once
     * @throws IllegalArgumentException if either is below 1, or {@code perMount > maxThreads}
     */
    public BlockingOffload(int maxThreads, int perMount) {
        this(maxThreads, perMount, TimeUnit.SECONDS.toNanos(KEEP_ALIVE_SECONDS));
    }

    /** As {@link #BlockingOffload(int, int)}, with idle threads ending after {@code keepAliveNanos}. */
    BlockingOffload(int maxThreads, int perMount, long keepAliveNanos) {
        if (maxThreads < 1 || perMount < 1 || perMount > maxThreads) {
            throw new IllegalArgumentException("need 1 <= perMount <= maxThreads: maxThreads=" + maxThreads
                    + ", perMount=" + perMount);
        }
        this.perMount = perMount;
        this.maxThreads = maxThreads;
        this.keepAliveNanos = keepAliveNanos;
    }

    /*
     * The pool. Not a ThreadPoolExecutor: with core = max it starts a thread per call until max
     * exist and then keeps them all, each taking calls in turn, so none retires under a steady
     * trickle of calls; with core = 0 and a hand-off queue it refuses calls once max are busy.
     * Here a call goes to the most recently idle thread, else to a new thread while fewer than
     * maxThreads exist, else it queues; a thread left idle keepAliveNanos ends. So the pool is as
     * large as the calls in flight recently, and the threads it keeps are the ones in use.
     */
    private void execute(Job task) {
        Worker started = null;
        SharedLocks.lock(lock);
        try {
            Worker w = idleWorkers.pollFirst();
            if (w != null) {
                w.spinsNext = System.nanoTime() - w.finishedAt <= WORKER_SPIN_NANOS;
                w.handed = task;
                LockSupport.unpark(w.thread);
                return;
            }
            if (threads < maxThreads) {
                threads++;
                started = new Worker(task);
            } else {
                queue.add(task);
                return;
            }
        } finally {
            lock.unlock();
        }
        try {
            started.thread = factory.newThread(started);
            started.thread.start();
        } catch (OutOfMemoryError noThread) {
            // "unable to create native thread": the process may start no more threads now (a
            // container's pids limit, ulimit -u). The call is made on the caller's thread, as
            // FileChannel makes it (holding a virtual thread's carrier while it lasts), rather than
            // failing a read or a close for want of a helper.
            notStarted();
            callsOnCaller.incrementAndGet();
            task.compute();
            task.finish();
        } catch (Throwable t) {
            notStarted();
            throw t;
        }
    }

    /** A pool thread: runs the call it was started for, then queued or handed calls, until idle too long. */
    private final class Worker implements Runnable {
        volatile Thread thread;
        /** A call handed to this idle thread; written under lock, read under it or spinning. */
        volatile Job handed;
        /** When this thread last finished a call and went idle; under lock. */
        long finishedAt;
        /** Whether the call just handed came within {@link #WORKER_SPIN_NANOS} of the one before; under lock. */
        boolean spinsNext;
        private final Job first;

        Worker(Job first) {
            this.first = first;
        }

        @Override
        public void run() {
            Job task = first;
            while (task != null) {
                active.incrementAndGet();
                try {
                    task.compute();
                } finally {
                    active.decrementAndGet();
                }
                task = take(task);
            }
        }

        /**
         * Finishes {@code done} (wakes its caller) and {@return the next call, or null when this
         * thread has been idle keepAliveNanos and ends} The thread is listed idle before the caller
         * wakes, so a caller making calls one after another finds it rather than starting another.
         */
        private Job take(Job done) {
            long deadline = System.nanoTime() + keepAliveNanos;
            boolean finished = false;
            SharedLocks.lock(lock);
            try {
                Job queued = queue.pollFirst();
                if (queued != null) {
                    return queued;
                }
                idleWorkers.addFirst(this);
                finishedAt = System.nanoTime();
                boolean spin = spinsNext;
                lock.unlock();
                try {
                    done.finish();
                    finished = true;
                    if (spin) {
                        spinForNextCall(this);
                    }
                } finally {
                    SharedLocks.lock(lock);
                }
                for (;;) {
                    if (handed != null) {
                        Job call = handed;
                        handed = null;
                        return call;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        idleWorkers.remove(this);
                        threads--;
                        return null;
                    }
                    lock.unlock();
                    try {
                        LockSupport.parkNanos(this, left);
                    } finally {
                        SharedLocks.lock(lock);
                    }
                }
            } finally {
                lock.unlock();
                if (!finished) {
                    done.finish();
                }
            }
        }
    }

    /**
     * Spins up to {@link #WORKER_SPIN_NANOS} for a call to be handed to this idle thread, letting
     * the CPU go every few microseconds ({@link CarrierPolling#yieldIfDue}): the caller that
     * makes calls one after another is on the other CPU, or on this one.
     */
    private void spinForNextCall(Worker w) {
        long lastYield = System.nanoTime();
        long end = lastYield + WORKER_SPIN_NANOS;
        for (int spins = 1; w.handed == null; spins++) {
            Thread.onSpinWait();
            if ((spins & 31) == 0) {
                long now = System.nanoTime();
                if (now - end > 0) {
                    return;
                }
                lastYield = CarrierPolling.yieldIfDue(now, lastYield);
            }
        }
    }

    /** {@return the library's pool} */
    public static BlockingOffload shared() {
        return Holder.SHARED;
    }

    /**
     * {@return the library's pool for reads and writes of files on slow or remote file systems}
     * Its own pool, larger than {@link #shared()}'s: transfers of a slow mount take as many
     * threads as callers want in flight, which must not starve metadata calls.
     */
    public static BlockingOffload transfers() {
        return TransferHolder.TRANSFERS;
    }

    /**
     * Makes {@code call} on a pool thread while the calling thread parks, and lets the caller walk
     * away: an interrupt (if {@code interruptible}) or {@code closed} becoming true ends the wait
     * at once, the call itself going on in the kernel until it returns, when the pool thread
     * releases its memory ({@link AbandonableCall}). At most {@code perMount} such calls of one
     * mount are on the pool at once; a caller beyond that parks for a permit, and gives up that
     * wait the same way, so that one hung mount holds at most {@code perMount} threads and its
     * callers can still leave.
     *
     * <p>The caller must unpark its thread when {@code closed} turns true, or the caller notices
     * it only when the call returns; the wait for a permit looks every 20 ms.
     *
     * @param mount         the mount the call touches (a key: calls with equal keys share permits)
     * @param call          the call; when this returns {@link #ABANDONED} its memory is, or will be,
     *                      released by {@link AbandonableCall#release()}; otherwise the caller owns it
     * @param interruptible whether an interrupt ends the wait (the status stays set); otherwise the
     *                      wait goes on and the status is kept
     * @param closed        whether the caller's file is closed (the wait then ends)
     * @return the call's result, or {@link #ABANDONED}
     */
    public long callAbandonable(String mount, AbandonableCall call, boolean interruptible,
                                java.util.function.BooleanSupplier closed) {
        Semaphore permit = permits(mount);
        boolean interrupted = false;
        try {
            if (!permit.tryAcquire()) {
                while (true) {
                    if ((interruptible && (interrupted || Thread.currentThread().isInterrupted()))
                            || closed.getAsBoolean()) {
                        call.release(); // never handed over: the caller's to free
                        return ABANDONED;
                    }
                    try {
                        if (permit.tryAcquire(PERMIT_POLL_NANOS, TimeUnit.NANOSECONDS)) {
                            break;
                        }
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            call.permit = permit;
            call.boundTo(Thread.currentThread());
            try {
                execute(call);
            } catch (Throwable t) { // no thread could be started
                call.permit = null;
                permit.release();
                call.release();
                throw t;
            }
            while (!call.isDone()) {
                if ((interruptible && (interrupted || Thread.currentThread().isInterrupted()))
                        || closed.getAsBoolean()) {
                    if (call.abandon()) {
                        return ABANDONED;
                    }
                    continue; // the result came first: take it
                }
                CarrierWaits.park(call);
                interrupted |= Thread.interrupted(); // cleared so that park parks again; set again below
            }
            return call.result();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Runs {@code call} on a pool thread and returns without waiting for it: for a system call
     * nobody waits for that may wait for ever (the {@code close(2)} of a FUSE file, whose FLUSH a
     * hung daemon holds, left to a caller that is leaving), which must hold neither that caller
     * nor its carrier. It takes a place in {@code mount}'s share of the pool as any call there
     * does; while the share is full it waits in a queue of that mount, holding no thread, and
     * starts when one of the mount's calls returns. (Counted against no share, the closes of
     * files of one hung mount took a pool thread each until the whole pool was theirs, and
     * every other mount's calls waited in its queue.) Where no pool thread can be started it runs
     * on the caller, as {@link #callAbandonable} does.
     *
     * @param mount the mount the call touches (a key: calls with equal keys share permits)
     * @param call  the call; what it throws is lost (it must report its own failures)
     */
    public void runDetached(String mount, Runnable call) {
        MountShare share = permits(mount);
        share.unwaited.add(call);
        share.startUnwaited();
    }

    /**
     * One mount's share of the pool: {@code perMount} permits, and the calls nobody waits for
     * ({@link #runDetached}) that wait for one without holding a thread. Every permit given back
     * starts the next of those, so none is left queued while the share has room: a queued call
     * either finds a permit when it is queued, or every permit is held then and each holder, on
     * giving it back, looks at the queue.
     */
    private final class MountShare extends Semaphore {
        @java.io.Serial
        private static final long serialVersionUID = 1L;
        final transient ConcurrentLinkedQueue<Runnable> unwaited = new ConcurrentLinkedQueue<>();

        MountShare() {
            super(perMount, true);
        }

        @Override
        public void release() {
            super.release();
            if (!unwaited.isEmpty()) {
                startUnwaited();
            }
        }

        void startUnwaited() {
            while (!unwaited.isEmpty() && tryAcquire()) {
                Runnable next = unwaited.poll();
                if (next == null) { // another thread took it: give the permit back and look again
                    super.release();
                    continue;
                }
                callsOnPool.incrementAndGet();
                execute(new Job() {
                    @Override
                    public void compute() {
                        try {
                            next.run();
                        } finally {
                            release();
                        }
                    }

                    @Override
                    public void finish() {}
                });
            }
        }
    }

    /** {@return how many calls nobody waits for are queued for a permit of {@code mount}} For tests. */
    public int unwaitedQueued(String mount) {
        return permits(mount).unwaited.size();
    }

    /** {@return the number of pool threads now, idle ones included} */
    public int poolSize() {
        SharedLocks.lock(lock);
        try {
            return threads;
        } finally {
            lock.unlock();
        }
    }

    /** {@return how many calls were handed to pool threads since this pool was made} For tests. */
    public long callsOnPool() {
        return callsOnPool.get();
    }

    /** {@return how many calls' virtual callers saw them end while polling, without parking} For tests. */
    public long callsPolled() {
        return callsPolled.sum();
    }

    /** {@return how many calls were made on their caller's thread for want of a pool thread} For tests. */
    public long callsOnCaller() {
        return callsOnCaller.get();
    }

    /** {@return the number of calls on pool threads now} */
    public int active() {
        return active.get();
    }

    /** Gives back the place in the pool taken for a thread that did not start. */
    private void notStarted() {
        SharedLocks.lock(lock);
        try {
            threads--;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes {@code call}, which touches the file system {@code path} is on: on a pool thread while
     * a virtual caller parks, on the caller's own thread otherwise.
     *
     * @param path the path the call touches (only its name is used, to find its mount)
     * @param call the call
     * @param <T> what it returns
     * @param <X> what it throws
     * @return what {@code call} returned
     * @throws X as {@code call}; unchecked exceptions and errors of {@code call} as well
     */
    public <T, X extends Exception> T call(Path path, BlockingCall<T, X> call) throws X {
        return call(path, null, call);
    }

    /**
     * As {@link #call(Path, BlockingCall)} for a call that touches two paths ({@code rename},
     * {@code link}, a copy): it counts against the limit of both mounts where they differ.
     *
     * @param path  one path the call touches
     * @param other the other, or null
     * @param call  the call
     * @param <T> what it returns
     * @param <X> what it throws
     * @return what {@code call} returned
     * @throws X as {@code call}; unchecked exceptions and errors of {@code call} as well
     */
    public <T, X extends Exception> T call(Path path, Path other, BlockingCall<T, X> call) throws X {
        if (!Thread.currentThread().isVirtual()) {
            return call.call();
        }
        String first = mounts.mountOf(path);
        String second = other == null ? null : mounts.mountOf(other);
        if (second != null && (second.equals(first))) {
            second = null;
        }
        if (second != null && second.compareTo(first) < 0) { // one order for every caller: no deadlock
            String t = first;
            first = second;
            second = t;
        }
        MountShare a = permits(first);
        MountShare b = second == null ? null : permits(second);
        a.acquireUninterruptibly(); // keeps the interrupt status, as the JDK's call would
        try {
            if (b != null) {
                b.acquireUninterruptibly();
            }
            try {
                // No polling for a call to a FUSE or network mount: its answer takes a daemon's or
                // a server's round trip, far longer than the poll.
                return runOnPool(call, !SlowFileSystems.isSlowPath(path));
            } finally {
                if (b != null) {
                    b.release();
                }
            }
        } finally {
            a.release();
        }
    }

    private MountShare permits(String mount) {
        return permits.computeIfAbsent(mount, m -> new MountShare());
    }

    /**
     * {@return the mount point whose share of the pool a call on {@code path} takes} For tests: the
     * mount table is read again at most once a second ({@link MountTable#MAX_AGE_NANOS}), so a
     * mount made within that second still counts as the one it was made on.
     */
    public String mountOf(Path path) {
        return mounts.mountOf(path);
    }

    /** {@return how many more calls on {@code path}'s mount may go to the pool now} For tests. */
    public int availablePermits(Path path) {
        return permits(mounts.mountOf(path)).availablePermits();
    }

    @SuppressWarnings("unchecked")
    private <T, X extends Exception> T runOnPool(BlockingCall<T, X> call, boolean poll) throws X {
        Task<T, X> task = new Task<>(call, Thread.currentThread());
        callsOnPool.incrementAndGet();
        execute(task);
        if (poll) {
            pollWhileCarrierIsFree(task);
        }
        boolean interrupted = false;
        while (!task.done) {
            CarrierWaits.park(task);
            if (Thread.interrupted()) { // cleared so that park parks again; set again below
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable failure = task.failure;
        if (failure == null) {
            return task.value;
        }
        stitch(failure);
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        throw (X) failure; // the call declares only X besides unchecked ones
    }

    /**
     * Before parking: while no other virtual thread waits for a carrier, the caller polls for the
     * call's end for up to {@link #CALLER_POLL_NANOS} ({@link CarrierPolling}'s rules). Most calls
     * here (an unlink, a stat of a name not cached, a create) take a few microseconds, and a park
     * costs two sleeping hand-offs, the pool thread's wake-up and then the caller's carrier's
     * (20-40 µs each here): a {@code Files.delete} from one virtual thread took 72 µs parking,
     * 40 µs polling, 8 µs polling with the pool thread spinning between calls
     * ({@code bench/CreateWriteDelete.java}; docs/design.md, "The offload's hand-offs").
     */
    private void pollWhileCarrierIsFree(Task<?, ?> task) {
        if (!CarrierPolling.mayPoll()) {
            return;
        }
        long lastYield = System.nanoTime();
        long end = lastYield + CALLER_POLL_NANOS;
        for (int spins = 1; ; spins++) {
            if (task.done) {
                callsPolled.increment();
                return;
            }
            Thread.onSpinWait();
            if ((spins & 31) == 0) {
                long now = System.nanoTime();
                if (CarrierPolling.mustStop(now, end)) {
                    return;
                }
                lastYield = CarrierPolling.yieldIfDue(now, lastYield);
            }
        }
    }

    /**
     * Gives {@code failure} the stack it would have had on the caller's thread: its frames down to
     * the pool's task, then the caller's frames below this class.
     */
    static void stitch(Throwable failure) {
        StackTraceElement[] theirs = failure.getStackTrace();
        int cut = 0;
        while (cut < theirs.length && !theirs[cut].getClassName().equals(Task.class.getName())) {
            cut++;
        }
        if (cut == theirs.length) {
            return; // not thrown by a task's call (or frames elided): leave it be
        }
        StackTraceElement[] ours = new Throwable().getStackTrace();
        int skip = 0;
        while (skip < ours.length && ours[skip].getClassName().startsWith(BlockingOffload.class.getName())) {
            skip++;
        }
        List<StackTraceElement> frames = new ArrayList<>(cut + ours.length - skip);
        frames.addAll(Arrays.asList(theirs).subList(0, cut));
        frames.addAll(Arrays.asList(ours).subList(skip, ours.length));
        failure.setStackTrace(frames.toArray(StackTraceElement[]::new));
    }

    /** One call on the pool; {@code done} publishes {@code value} and {@code failure}. */
    private static final class Task<T, X extends Exception> implements Job {
        private final BlockingCall<T, X> call;
        private final Thread caller;
        private T value;
        private Throwable failure;
        private volatile boolean done;

        Task(BlockingCall<T, X> call, Thread caller) {
            this.call = call;
            this.caller = caller;
        }

        /** Makes the call on the pool thread; its stack frames end here ({@link #stitch}). */
        @Override
        public void compute() {
            try {
                value = call.call();
            } catch (Throwable t) {
                failure = t;
            }
        }

        /** Publishes the outcome and wakes the caller. */
        @Override
        public void finish() {
            done = true;
            LockSupport.unpark(caller);
        }
    }
}
