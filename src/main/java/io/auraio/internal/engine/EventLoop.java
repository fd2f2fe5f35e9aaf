package io.auraio.internal.engine;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.platform.StackHeadroom;
import io.auraio.internal.sched.SharedLocks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntSupplier;

/**
 * Where callback completions wait for a thread to run them: the reference's poll, wait, run,
 * stop and drain, and its pollable fd. Pollers only queue completed slots here; user callbacks
 * run on the threads that call {@link #poll}, {@link #await}, {@link #run} or {@link #drain}, one
 * such thread at a time (the others block for their turn, as the reference's C++ and Rust bindings
 * do). A turn is held only while callbacks run, never while a caller waits for completions: a
 * run() waiting on one thread holds up no poll, no await or drain past its timeout, and no
 * interrupt. A callback that calls them again gets an {@link IllegalStateException} instead of a
 * deadlock.
 *
 * <p>The poll fd is an eventfd in semaphore mode that counts queued completions, so it is readable
 * exactly while a completion waits (level-triggered).
 */
final class EventLoop implements AutoCloseable {
    private final ReentrantLock processing = new ReentrantLock();
    private final ReentrantLock queueLock = new ReentrantLock();
    private final Condition changed = queueLock.newCondition();
    private final ArrayDeque<Slot> ready = new ArrayDeque<>();
    private final int pollFd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_LONG, 1L);
    private final MemorySegment scratch = arena.allocate(ValueLayout.JAVA_LONG);
    /** Calls of {@link #stop()} so far. */
    private final java.util.concurrent.atomic.AtomicLong stops = new java.util.concurrent.atomic.AtomicLong();
    /**
     * The stops that a returning {@link #run()} has answered. A run() started while this was
     * {@code s} returns once {@link #stops} passes {@code s}: every run() in progress at a stop
     * (running, or waiting its turn for the processing lock) returns, and a stop made while no
     * run() was in progress makes the next one return at once.
     */
    private volatile long answeredStops;
    private volatile boolean closed;

    /** @throws IoUring.SetupException with the errno when the eventfd cannot be had (EMFILE...) */
    EventLoop() throws IoUring.SetupException {
        int fd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK | Libc.EFD_SEMAPHORE);
        if (fd < 0) {
            arena.close();
            throw new IoUring.SetupException(-fd, "eventfd failed: " + Errno.message(-fd));
        }
        this.pollFd = fd;
    }

    int pollFd() {
        return pollFd;
    }

    /** Called by a reaper (the poller, or a caller reaping for it): a callback request has completed. */
    void enqueue(Slot slot) {
        // Never queued for: virtual threads queue for this lock (poll, await and drain callers,
        // waiters a signal moves back), and a reaper behind one would wait for its carrier while
        // the ring reaps nothing (docs/design.md, "Locks the poller shares with virtual threads").
        SharedLocks.lockWithoutQueueing(queueLock);
        try {
            ready.addLast(slot);
            Libc.write(pollFd, one, 8);
            changed.signalAll();
        } finally {
            queueLock.unlock();
        }
    }

    /** Test seam: runs {@code action} holding the queue's lock. */
    void runUnderQueueLockForTests(Runnable action) {
        queueLock.lock();
        try {
            action.run();
        } finally {
            queueLock.unlock();
        }
    }

    /** Test seam: whether {@code thread} is queued for the queue's lock. */
    boolean queuedForQueueLockForTests(Thread thread) {
        return queueLock.hasQueuedThread(thread);
    }

    /** Test seam: completions queued and not yet taken. */
    int readyForTests() {
        queueLock.lock();
        try {
            return ready.size();
        } finally {
            queueLock.unlock();
        }
    }

    private Slot take() {
        queueLock.lock();
        try {
            Slot s = ready.pollFirst();
            if (s != null) {
                Libc.read(pollFd, scratch, 8); // semaphore mode: takes exactly this one
            }
            return s;
        } finally {
            queueLock.unlock();
        }
    }

    boolean isProcessingThread() {
        return processing.isHeldByCurrentThread();
    }

    private void checkNotInCallback(String what) {
        if (processing.isHeldByCurrentThread()) {
            throw new IllegalStateException(what + " called from a completion callback: callbacks run inside "
                    + "poll/await/run and must not re-enter them (submit more I/O instead)");
        }
    }

    /**
     * Takes the turn to run callbacks for a call that may wait: interruptibly, and only until
     * {@code deadline} when {@code timed}. The turn is held while callbacks run, never while a
     * caller waits for completions, so it is only ever waited for while another thread runs them.
     *
     * @return whether the turn was had
     */
    private boolean takeTurn(boolean timed, long deadline) throws InterruptedException {
        if (!timed) {
            processing.lockInterruptibly();
            return true;
        }
        return processing.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Runs the queued callbacks in a turn the caller has taken, and gives the turn back. */
    private int runReadyAndLeave() {
        try {
            return runReady();
        } finally {
            processing.unlock();
        }
    }

    /** Runs every queued callback. {@return how many ran} */
    int poll() {
        StackHeadroom.ensure(); // before the turn and the queue's lock, which the poller shares
        checkNotInCallback("poll()");
        processing.lock();
        return runReadyAndLeave();
    }

    private int runReady() {
        int n = 0;
        Slot s;
        while ((s = take()) != null) {
            n++;
            AsyncCompletion completion = s.completion;
            try {
                completion.complete(s.result);
            } finally {
                s.ring.release(s); // the request handle is valid until the callback returns
            }
        }
        return n;
    }

    /**
     * Waits until a callback completion is queued or the timeout passes, then runs what is queued.
     * {@link #stop()} does not end the wait: it is for {@link #run()} (the reference's
     * {@code auraio_wait} waits for a completion or its timeout only), and a stop that no run()
     * has answered yet must not make every await return at once. The wait holds no turn: a
     * {@link #run()} on another thread may run the completions meanwhile, and then this returns 0
     * at its timeout or once no callback request is outstanding.
     *
     * @param timeoutNanos negative: no limit; 0: do not wait
     * @param outstanding  callback requests not yet completed; nothing to wait for when 0
     * @return how many callbacks ran
     */
    int await(long timeoutNanos, IntSupplier outstanding) throws InterruptedException {
        StackHeadroom.ensure(); // before the turn and the queue's lock, which the poller shares
        checkNotInCallback("await()");
        boolean timed = timeoutNanos >= 0;
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            if (!takeTurn(timed, deadline)) {
                return 0;
            }
            int n = runReadyAndLeave();
            if (n > 0) {
                return n;
            }
            queueLock.lock();
            try {
                if (ready.isEmpty()) {
                    if (closed || outstanding.getAsInt() == 0) {
                        return 0;
                    }
                    long wait = TimeUnit.MILLISECONDS.toNanos(10); // re-checks `outstanding` now and then
                    if (timed) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return 0;
                        }
                        wait = Math.min(left, wait);
                    }
                    changed.awaitNanos(wait);
                }
            } finally {
                queueLock.unlock();
            }
        }
    }

    /** Processes callbacks until {@link #stop()} or close. */
    void run() throws InterruptedException {
        StackHeadroom.ensure(); // before the turn and the queue's lock, which the poller shares
        checkNotInCallback("run()");
        long stopsBefore = answeredStops; // before the first turn: a stop meanwhile ends this call too
        try {
            while (true) {
                boolean last = stops.get() != stopsBefore || closed;
                processing.lockInterruptibly();
                runReadyAndLeave();
                if (last) {
                    return;
                }
                queueLock.lock();
                try {
                    while (ready.isEmpty() && stops.get() == stopsBefore && !closed) {
                        changed.await();
                    }
                } finally {
                    queueLock.unlock();
                }
            }
        } finally {
            answeredStops = stops.get();
        }
    }

    /** Ends every {@link #run()} in progress, and the next one if none is. */
    void stop() {
        stops.incrementAndGet();
        signal();
    }

    private void signal() {
        queueLock.lock();
        try {
            changed.signalAll();
        } finally {
            queueLock.unlock();
        }
    }

    /**
     * Waits until {@code pending} reports 0, running callbacks meanwhile (or letting a
     * {@link #run()} on another thread run them).
     *
     * @param timeoutNanos negative: no limit
     * @return callbacks run, or -1 when the timeout passed first
     */
    int drain(long timeoutNanos, IntSupplier pending) throws InterruptedException {
        StackHeadroom.ensure(); // before the turn and the queue's lock, which the poller shares
        checkNotInCallback("drain()");
        boolean timed = timeoutNanos >= 0;
        long deadline = System.nanoTime() + timeoutNanos;
        int n = 0;
        while (true) {
            if (!takeTurn(timed, deadline)) {
                return pending.getAsInt() == 0 ? n : -1;
            }
            n += runReadyAndLeave();
            if (pending.getAsInt() == 0) {
                return n;
            }
            long left = timed ? deadline - System.nanoTime() : Long.MAX_VALUE;
            if (left <= 0) {
                return -1;
            }
            queueLock.lock();
            try {
                if (ready.isEmpty()) {
                    // Blocking and future completions do not signal: look again every millisecond.
                    changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(1)));
                }
            } finally {
                queueLock.unlock();
            }
        }
    }

    /** Stops event-loop callers and runs the callbacks still queued, on the closing thread. */
    void closeAndDeliverRest() {
        if (processing.isHeldByCurrentThread()) {
            throw new IllegalStateException("close() called from a completion callback: close the engine from "
                    + "another thread, or call stop() and close after run() returns");
        }
        closed = true;
        signal();
        processing.lock();
        Throwable first = null;
        try {
            // Every queued callback runs exactly once, whatever one of them throws: a throw ending
            // the loop left the others uncalled and the engine half closed (its pool, event fd
            // and registered buffers kept until close() was called again).
            for (;;) {
                try {
                    runReady();
                    break;
                } catch (RuntimeException | Error e) {
                    if (first == null) {
                        first = e;
                    } else if (first != e) {
                        first.addSuppressed(e);
                    }
                }
            }
        } finally {
            processing.unlock();
        }
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first instanceof Error e) {
            throw e;
        }
    }

    @Override
    public void close() {
        Libc.close(pollFd);
        arena.close();
    }
}
