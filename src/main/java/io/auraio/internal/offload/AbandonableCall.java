package io.auraio.internal.offload;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A system call that its caller may walk away from while the kernel still has it: a
 * {@code pread}/{@code pwrite} of a file on a FUSE or network file system, which io_uring cannot
 * cancel once the request is in the daemon or on the wire, run by
 * {@link BlockingOffload#callAbandonable}. The call works only on memory the call owns (never the
 * caller's), so that a caller that gives up (interrupt, close) can return at once: the call's
 * memory is released by whichever side comes last, the caller taking the result or the pool
 * thread finding that nobody will.
 *
 * <p>Exactly one of two things happens to a call handed to the pool: the caller takes its result
 * (and frees what the call owns itself), or the caller abandons it and the pool thread
 * calls {@link #release()} once the system call has returned (or without making it, when the call
 * had not started). Thread-safe.
 */
public abstract class AbandonableCall implements Job {
    private static final int PENDING = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;
    private static final int ABANDONED = 3;

    private final AtomicInteger state = new AtomicInteger(PENDING);
    private volatile Thread caller;
    private long result;
    /** The per-mount permit this call holds from the caller's admission until the system call returns. */
    Semaphore permit;

    /** For subclasses. */
    protected AbandonableCall() {}

    /**
     * Makes the system call, on a pool thread. It must touch only memory the call owns.
     *
     * @return its result: a count, or a negated errno
     */
    protected abstract long call();

    /**
     * Frees what the call owns, on the pool thread, when its caller abandoned it: after the system
     * call returned, or instead of it when the call had not started. Never called when the caller
     * took the result: the caller frees then.
     */
    protected abstract void release();

    @Override
    public final void compute() {
        if (!state.compareAndSet(PENDING, RUNNING)) {
            return; // abandoned before a pool thread took it: finish() frees
        }
        long r;
        try {
            r = call();
        } catch (RuntimeException | Error e) {
            // Not expected of a system call; an I/O error rather than a lost caller or a leak.
            r = -io.auraio.internal.binding.Errno.EIO;
        }
        result = r;
    }

    @Override
    public final void finish() {
        Semaphore p = permit;
        permit = null;
        if (p != null) {
            p.release(); // the pool thread is free for the mount's next call
        }
        if (state.compareAndSet(RUNNING, DONE)) {
            LockSupport.unpark(caller);
            return;
        }
        // ABANDONED (before or during the call): nobody will take the result.
        release();
    }

    /** Before the call is handed over: the thread to wake. */
    void boundTo(Thread thread) {
        caller = thread;
    }

    /** {@return whether the result is there} */
    boolean isDone() {
        return state.get() == DONE;
    }

    /** {@return the result} Only once {@link #isDone()}. */
    long result() {
        return result;
    }

    /**
     * The caller gives up. {@return true if it did (the pool thread releases the memory); false
     * when the result came first, which the caller must then take}
     */
    boolean abandon() {
        return state.compareAndSet(PENDING, ABANDONED) || state.compareAndSet(RUNNING, ABANDONED);
    }
}
