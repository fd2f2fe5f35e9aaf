package io.auraio.internal.engine;

import io.auraio.internal.sched.CarrierWaits;
import io.auraio.internal.sched.SharedLocks;
import java.util.ArrayDeque;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Hands out a ring's request slots. Requests that count against the in-flight {@code limit}
 * ("metered") are admitted while fewer than {@code limit} are in flight; a thread that finds the
 * ring at its limit parks in FIFO order until it is admitted; nothing spins and nobody is told
 * EAGAIN. Closing fails every waiter and every later acquire. The lock guarding all this is only
 * ever queued for by platform threads ({@link #lockGate}).
 *
 * <p>Slots and admission are two separate things (issue 11). A slot is only the bookkeeping of one
 * request; a blocking request never waits for one: when every preallocated slot is held (by
 * callback completions nobody has polled yet, or by requests that may never finish) the gate makes
 * another. What a blocking request may wait for is admission, and only requests that are really
 * in flight on the device count against it: not callback requests that have completed and wait for
 * their callback, and not exempt requests, which may wait forever (reads of a FIFO or a pipe, known
 * when submitted; or requests the poller found older than the controller's view of the device, a
 * hung FUSE or NFS file). A parked waiter wakes on close, when {@link #cancelWaiters} names its
 * descriptor (its file is closing), and, if it asked to be interruptible, on an interrupt.
 */
final class AdmissionGate {
    /** Returned by {@link #acquire(int, boolean, boolean)} when the wait was given up: interrupt or file close. */
    static final Slot CANCELLED = new Slot(-1, null);
    /** {@code user_data} carries the slot index in 31 bits; far more than any ring needs. */
    private static final int MAX_SLOTS = 1 << 20;

    /** Spare waiters kept for reuse at most; more than this many parked at once allocate. */
    private static final int MAX_SPARE_WAITERS = 1024;

    /** A thread parked for admission. Reused (under the lock) once its thread has left the gate. */
    private static final class Waiter {
        Thread thread;
        int fd;
        Slot granted;
        boolean refused;
        boolean cancelled;

        void reset(Thread parked, int parkedFd) {
            thread = parked;
            fd = parkedFd;
            granted = null;
            refused = false;
            cancelled = false;
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final RingPoller ring;
    private final int capacity;
    /** Every slot made so far; grows (under the lock) and is read without it by the poller. */
    private volatile Slot[] slots;
    private int[] free;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /**
     * Waiters whose threads have left the gate: a ring at its limit parks a caller per request, and
     * a new waiter each time was a third of the heap a request cost at 256 callers.
     */
    private final ArrayDeque<Waiter> spareWaiters = new ArrayDeque<>();
    private int freeCount;
    /**
     * Slots whose callback request has completed but whose callback has not run yet (it waits for
     * the event loop). They keep their slot but are no longer in flight, so they do not count
     * against {@link #limit}: otherwise completions nobody polls would hold up blocking requests,
     * which must complete whether or not anyone polls.
     */
    private int completedHeld;
    /** Slots of exempt requests (may wait forever): not counted against the limit. */
    private int exempt;
    /**
     * Slots held by callback and future requests, which may take at most {@link #capacity}.
     * Written under the lock, read without it by {@link #tryAcquire()}'s refusal (see there).
     */
    private volatile int asyncInUse;
    /** Written under the lock, read without it by ring selection and stats. */
    private volatile int inUse;
    private volatile int limit;
    /** The most slots held at once; written under the lock. */
    private volatile int peakInUse;
    /** Written under the lock, read without it by {@link #isClosed()}. */
    private volatile boolean closed;

    AdmissionGate(RingPoller ring, int capacity, int limit) {
        this.ring = ring;
        this.capacity = capacity;
        this.slots = new Slot[capacity];
        this.free = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            slots[i] = new Slot(i, ring);
            free[i] = capacity - 1 - i;
        }
        this.freeCount = capacity;
        this.limit = Math.min(limit, capacity);
    }

    /** Takes the gate's lock, which the poller and the event loop share with virtual threads ({@link SharedLocks}). */
    private void lockGate() {
        SharedLocks.lock(lock);
    }

    Slot slot(int index) {
        return slots[index];
    }

    /** {@return the preallocated slots: the queue depth} */
    int capacity() {
        return capacity;
    }

    /** {@return every slot made so far, preallocated or grown; the poller scans this many} */
    int slotCount() {
        return slots.length;
    }

    /**
     * Takes a slot for a metered request, parking uninterruptibly (the interrupt status is kept)
     * while the ring is at its limit. {@return the slot, or null once the gate is closed}
     */
    Slot acquire() {
        Slot s = acquire(-1, false, false);
        return s == CANCELLED ? null : s;
    }

    /**
     * Takes a slot for a blocking request on {@code fd}. An {@code exempt} request (one that may
     * wait forever) is admitted at once; a metered one parks while the ring is at its limit.
     *
     * @param fd            the request's descriptor, for {@link #cancelWaiters}; -1 or less: none
     * @param exempt        whether the request may wait forever and so does not count
     * @param interruptible whether an interrupt of the parked thread gives up the wait (its status
     *                      stays set); otherwise the wait goes on and the status is kept
     * @return the slot; null once the gate is closed; {@link #CANCELLED} when the wait was given up
     */
    Slot acquire(int fd, boolean exempt, boolean interruptible) {
        return acquire(fd, exempt, interruptible, false);
    }

    /**
     * As {@link #acquire(int, boolean, boolean)}, for a request that goes to the ring, whose
     * poller holds requests back while the ring is at its limit: over the limit such a request
     * still takes a free slot (none is made for it) and goes to the poller instead of parking
     * here, so its caller parks once (for the completion) instead of twice (for admission, then
     * for the completion): measured at 256 O_DIRECT readers, 12% of the CPU per request and most
     * of its heap. The limit then holds at the kernel's door ({@code RingPoller.fillSubmissions})
     * instead of here. It parks here as before when no slot is free, or when others already wait
     * here (transfers served off the ring, which only this gate admits: first come, first served).
     */
    Slot acquireForRing(int fd, boolean exempt, boolean interruptible) {
        return acquire(fd, exempt, interruptible, true);
    }

    private Slot acquire(int fd, boolean exempt, boolean interruptible, boolean ringHoldsBack) {
        Waiter w;
        lockGate();
        try {
            if (closed) {
                return null;
            }
            if (exempt) {
                Slot s = take();
                s.exempt = true;
                this.exempt++;
                return s;
            }
            if (waiters.isEmpty() && metered() < limit) {
                return take();
            }
            if (interruptible && Thread.currentThread().isInterrupted()) {
                return CANCELLED;
            }
            if (ringHoldsBack && waiters.isEmpty() && freeCount > 0) {
                return take();
            }
            w = spareWaiters.pollLast();
            if (w == null) {
                w = new Waiter();
            }
            w.reset(Thread.currentThread(), fd);
            waiters.addLast(w);
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        Slot outcome;
        while (true) {
            lockGate();
            try {
                outcome = w.granted != null ? w.granted
                        : w.refused ? null
                        : w.cancelled ? CANCELLED
                        : null;
                boolean giveUp = outcome == null && !w.refused && interrupted && interruptible;
                if (giveUp) {
                    waiters.remove(w);
                    outcome = CANCELLED;
                }
                if (outcome != null || w.refused) {
                    // Out of the queue in every case (granted, refused, cancelled: taken out by
                    // whoever decided; given up: just now), so nothing refers to it any more.
                    recycle(w);
                    break;
                }
            } finally {
                lock.unlock();
            }
            CarrierWaits.park(this);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return outcome;
    }

    /** Keeps a waiter whose thread is leaving for the next one to park; under the lock. */
    private void recycle(Waiter w) {
        w.reset(null, -1);
        if (spareWaiters.size() < MAX_SPARE_WAITERS) {
            spareWaiters.addLast(w);
        }
    }

    /**
     * Takes a slot for a request whose submitter must not park (callbacks, futures): any free
     * slot, whatever the in-flight limit (the poller holds such requests back until the ring is
     * under its limit), but no more than the queue depth of them at once.
     * {@return the slot, or null when the queue depth is taken or the gate is closed}
     *
     * <p>A full queue is refused without the lock. Callers retry EAGAIN, and retrying callers that
     * took the lock to be refused kept it from the thread that releases slots as their callbacks
     * run: 8 virtual threads retrying on 2 carriers held an event loop's releases off for over a
     * minute (EngineCallbackTest, in CI). The count read may be a release behind: that refusal is
     * then one the caller would have had a moment earlier.
     */
    Slot tryAcquire() {
        if (asyncInUse >= capacity) {
            return null;
        }
        lockGate();
        try {
            if (closed || asyncInUse >= capacity) {
                return null;
            }
            Slot s = take();
            s.async = true;
            asyncInUse++;
            return s;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes {@code n} slots at once for a linked chain of callback or future requests, as
     * {@link #tryAcquire()} each: all or none, so a chain never holds some slots while waiting for
     * the rest. {@return the slots, or null when fewer than {@code n} of the queue depth are left or
     * the gate is closed}
     */
    Slot[] tryAcquire(int n) {
        if (asyncInUse + n > capacity) {
            return null; // without the lock, as tryAcquire()
        }
        lockGate();
        try {
            if (closed || asyncInUse + n > capacity) {
                return null;
            }
            Slot[] taken = new Slot[n];
            for (int i = 0; i < n; i++) {
                Slot s = take();
                s.async = true;
                taken[i] = s;
            }
            asyncInUse += n;
            return taken;
        } finally {
            lock.unlock();
        }
    }

    /** {@return whether the gate is closed} Without the lock: a refused caller asks it to name its refusal. */
    boolean isClosed() {
        return closed;
    }

    /** Slots that count against the limit: in use, less completed callbacks and exempt requests. */
    private int metered() {
        return inUse - completedHeld - exempt;
    }

    private Slot take() {
        if (freeCount == 0) {
            grow();
        }
        inUse++;
        if (inUse > peakInUse) {
            peakInUse = inUse;
        }
        Slot s = slots[free[--freeCount]];
        s.state = Slot.QUEUED;
        return s;
    }

    /** Makes more slots: every one is held, by requests that do not count or wait for a poll. */
    private void grow() {
        Slot[] old = slots;
        int n = old.length;
        if (n >= MAX_SLOTS) {
            throw new IllegalStateException("more than " + MAX_SLOTS + " requests at once on one ring");
        }
        int grown = Math.min(MAX_SLOTS, Math.max(16, n * 2));
        Slot[] bigger = java.util.Arrays.copyOf(old, grown);
        int[] biggerFree = java.util.Arrays.copyOf(free, grown);
        for (int i = grown - 1; i >= n; i--) {
            bigger[i] = new Slot(i, ring);
            biggerFree[freeCount++] = i;
        }
        free = biggerFree;
        slots = bigger; // volatile: the poller sees a slot before any user_data can name it
    }

    /**
     * A callback request of {@code slot} has completed; the slot stays taken until its callback
     * has run and {@link #release} is called, but no longer counts as in flight.
     */
    void completed(Slot slot) {
        lockGate();
        try {
            if (!slot.exempt) {
                slot.completedHeld = true;
                completedHeld++;
            }
            grantWaiters();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The poller found {@code slot}'s request older than the device's latencies explain (a hung
     * file): from now on it does not count against the limit. Idempotent.
     */
    void exempt(Slot slot) {
        lockGate();
        try {
            if (!slot.exempt && !slot.completedHeld && slot.state != Slot.FREE) {
                slot.exempt = true;
                exempt++;
                grantWaiters();
            }
        } finally {
            lock.unlock();
        }
    }

    void release(Slot slot) {
        lockGate();
        try {
            if (slot.completedHeld) {
                slot.completedHeld = false;
                completedHeld--;
            }
            if (slot.exempt) {
                slot.exempt = false;
                exempt--;
            }
            if (slot.async) {
                slot.async = false;
                asyncInUse--;
            }
            slot.generation = (slot.generation + 1) & 0x7FFF_FFFF;
            slot.waiter = null;
            slot.state = Slot.FREE;
            free[freeCount++] = slot.index;
            inUse--;
            grantWaiters();
        } finally {
            lock.unlock();
        }
    }

    private void grantWaiters() {
        while (!waiters.isEmpty() && metered() < limit) {
            Waiter w = waiters.pollFirst();
            w.granted = take();
            LockSupport.unpark(w.thread);
        }
    }

    /**
     * {@return whether a slot in use may hold a request on {@code fd}} Without the lock, and
     * conservative: a slot taken but still being prepared may show the descriptor of its earlier
     * use (a false "may", which only costs {@link RingPoller#cancelFd} its hand-off). A request whose
     * submission returned before this call shows its own descriptor: it was written before the
     * request was queued.
     */
    boolean mayHoldRequestOn(int fd) {
        if (inUse == 0) {
            return false; // no slot taken (the common close): no scan of every slot
        }
        for (Slot s : slots) {
            if (s.state != Slot.FREE && s.fd == fd) {
                return true;
            }
        }
        return false;
    }

    /**
     * Wakes the threads parked for admission with a request on {@code fd}: its file is closing.
     * They get {@link #CANCELLED}.
     */
    void cancelWaiters(int fd) {
        if (fd < 0) {
            return;
        }
        lockGate();
        try {
            for (java.util.Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                if (w.fd == fd) {
                    it.remove();
                    w.cancelled = true;
                    LockSupport.unpark(w.thread);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    void setLimit(int newLimit) {
        lockGate();
        try {
            limit = Math.max(1, Math.min(newLimit, capacity));
            grantWaiters();
        } finally {
            lock.unlock();
        }
    }

    int limit() {
        return limit;
    }

    /** {@return the most slots held at once since the ring started} */
    int peakInUse() {
        return peakInUse;
    }

    /** {@return slots handed out and not yet released: requests queued, in the kernel or completing} */
    int inUse() {
        return inUse;
    }

    /** {@return requests that count against the limit now} Approximate without the lock. */
    int meteredInUse() {
        lockGate();
        try {
            return metered();
        } finally {
            lock.unlock();
        }
    }

    /** Test seam: runs {@code action} holding the gate's lock, as a thread that releases a slot would. */
    void runUnderLockForTests(Runnable action) {
        lockGate();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    /** Test seam: whether {@code thread} is queued for the gate's lock. */
    boolean queuedForLockForTests(Thread thread) {
        return lock.hasQueuedThread(thread);
    }

    int waiting() {
        lockGate();
        try {
            return waiters.size();
        } finally {
            lock.unlock();
        }
    }

    /** Refuses every parked and future acquire. Slots already handed out stay valid. */
    void close() {
        lockGate();
        try {
            closed = true;
            // poll, not an iterator: a close under a full heap (an engine's creation failing
            // with an OutOfMemoryError) must not fail for want of one.
            Waiter w;
            while ((w = waiters.poll()) != null) {
                w.refused = true;
                LockSupport.unpark(w.thread);
            }
        } finally {
            lock.unlock();
        }
    }
}
