package io.auraio.internal.engine;

import java.util.ArrayDeque;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Hands out a ring's request slots, at most {@code limit} at a time. A thread that finds the ring
 * at its limit parks in FIFO order until a slot is handed to it; nothing spins and nobody is told
 * EAGAIN. Closing fails every waiter and every later acquire.
 */
final class AdmissionGate {
    private static final class Waiter {
        final Thread thread = Thread.currentThread();
        Slot granted;
        boolean refused;
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Slot[] slots;
    private final int[] free;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private int freeCount;
    /**
     * Slots whose callback request has completed but whose callback has not run yet (it waits for
     * the event loop). They keep their slot but are no longer in flight, so they do not count
     * against {@link #limit}: otherwise completions nobody polls would hold up blocking requests,
     * which must complete whether or not anyone polls.
     */
    private int completedHeld;
    /** Written under the lock, read without it by ring selection and stats. */
    private volatile int inUse;
    private volatile int limit;
    private boolean closed;

    AdmissionGate(RingPoller ring, int capacity, int limit) {
        this.slots = new Slot[capacity];
        this.free = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            slots[i] = new Slot(i, ring);
            free[i] = capacity - 1 - i;
        }
        this.freeCount = capacity;
        this.limit = Math.min(limit, capacity);
    }

    Slot slot(int index) {
        return slots[index];
    }

    int capacity() {
        return slots.length;
    }

    /**
     * Takes a slot, parking (uninterruptibly: the interrupt status is kept for the caller) while
     * the ring is at its limit. {@return the slot, or null once the gate is closed}
     */
    Slot acquire() {
        Waiter w;
        lock.lock();
        try {
            if (closed) {
                return null;
            }
            if (waiters.isEmpty() && inUse - completedHeld < limit && freeCount > 0) {
                return take();
            }
            w = new Waiter();
            waiters.addLast(w);
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        while (true) {
            lock.lock();
            try {
                if (w.granted != null || w.refused) {
                    break;
                }
            } finally {
                lock.unlock();
            }
            LockSupport.park(this);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return w.granted;
    }

    /**
     * Takes a slot for a request whose submitter must not park (callbacks, futures): any free
     * slot, whatever the in-flight limit (the poller holds such requests back until the ring is
     * under its limit). {@return the slot, or null when every slot is taken or the gate is closed}
     */
    Slot tryAcquire() {
        lock.lock();
        try {
            return closed || freeCount == 0 ? null : take();
        } finally {
            lock.unlock();
        }
    }

    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    private Slot take() {
        inUse++;
        Slot s = slots[free[--freeCount]];
        s.state = Slot.QUEUED;
        return s;
    }

    /**
     * A callback request of {@code slot} has completed; the slot stays taken until its callback
     * has run and {@link #release} is called, but no longer counts as in flight.
     */
    void completed(Slot slot) {
        lock.lock();
        try {
            slot.completedHeld = true;
            completedHeld++;
            grantWaiters();
        } finally {
            lock.unlock();
        }
    }

    void release(Slot slot) {
        lock.lock();
        try {
            if (slot.completedHeld) {
                slot.completedHeld = false;
                completedHeld--;
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
        while (!waiters.isEmpty() && inUse - completedHeld < limit && freeCount > 0) {
            Waiter w = waiters.pollFirst();
            w.granted = take();
            LockSupport.unpark(w.thread);
        }
    }

    void setLimit(int newLimit) {
        lock.lock();
        try {
            limit = Math.max(1, Math.min(newLimit, slots.length));
            grantWaiters();
        } finally {
            lock.unlock();
        }
    }

    int limit() {
        return limit;
    }

    /** {@return slots handed out and not yet released: requests queued, in the kernel or completing} */
    int inUse() {
        return inUse;
    }

    int waiting() {
        lock.lock();
        try {
            return waiters.size();
        } finally {
            lock.unlock();
        }
    }

    /** Refuses every parked and future acquire. Slots already handed out stay valid. */
    void close() {
        lock.lock();
        try {
            closed = true;
            for (Waiter w : waiters) {
                w.refused = true;
                LockSupport.unpark(w.thread);
            }
            waiters.clear();
        } finally {
            lock.unlock();
        }
    }
}
