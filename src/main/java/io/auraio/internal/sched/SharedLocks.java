package io.auraio.internal.sched;

import io.auraio.internal.binding.Libc;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Taking a lock that platform threads on the request path (a ring's poller, an event loop, the
 * offload pool's threads) share with virtual threads. A {@code ReentrantLock} serves its queue in
 * order, and a virtual thread at its head must get a carrier before it can take the lock: while
 * virtual threads keep every carrier (retrying, yielding, computing), every platform thread
 * queued behind it waits too (8 virtual threads retrying EAGAIN on 2 carriers held an event
 * loop's slot releases off for over a minute; docs/design.md, "Locks the poller shares with
 * virtual threads"). So a virtual thread never queues for such a lock: it retries, yielding its
 * carrier, and after a few yields also parks briefly between tries, since a yield re-queues it
 * where its carrier looks first and would not let a thread queued elsewhere run
 * ({@link CarrierSharing}). Platform threads queue as usual, behind platform threads only.
 *
 * <p>For locks held for a few hundred nanoseconds, never across a wait.
 */
public final class SharedLocks {
    /** Retries that only yield, before each also parks. */
    private static final int YIELDS_BEFORE_PARKING = 16;
    /** How long a virtual thread parks between later retries. */
    private static final long RETRY_PARK_NANOS = 20_000;

    private SharedLocks() {}

    /**
     * Takes {@code lock} without ever queueing for it, whatever the thread: for a thread that
     * must not wait behind a virtual thread at all (a ring's reaper, the poller or a caller
     * reaping under the ring's submission lock), on a lock whose holders run while they hold it
     * and whose queue virtual threads cannot be kept out of (a condition's {@code await}
     * re-queues its waiters). It spins, and every {@link #SPINS_BEFORE_OS_YIELD} tries lets its
     * CPU go with {@code sched_yield} in case the holder's thread was descheduled: an OS yield,
     * so a virtual caller stays on its carrier and keeps what it holds there (a
     * {@code Thread.yield()} would unmount it holding the submission lock, which the poller would
     * then wait for behind a carrier). Uninterruptible.
     */
    public static void lockWithoutQueueing(ReentrantLock lock) {
        for (int tries = 1; !lock.tryLock(); tries++) {
            if (tries % SPINS_BEFORE_OS_YIELD == 0) {
                Libc.schedYield();
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /** Tries of {@link #lockWithoutQueueing} between two yields of the CPU. */
    private static final int SPINS_BEFORE_OS_YIELD = 64;

    /** Takes {@code lock}: queued for on a platform thread, retried on a virtual one. Uninterruptible. */
    public static void lock(ReentrantLock lock) {
        int held = lock.getHoldCount();
        try {
            if (!Thread.currentThread().isVirtual()) {
                lock.lock();
                return;
            }
            for (int tries = 1; !lock.tryLock(); tries++) {
                CarrierWaits.yieldOrStay();
                if (tries >= YIELDS_BEFORE_PARKING) {
                    CarrierWaits.parkNanos(lock, RETRY_PARK_NANOS);
                }
            }
        } catch (StackOverflowError e) {
            // The JVM lets ReentrantLock finish taking the lock in the stack it reserves for it
            // and throws the overflow as it returns: the lock may be held, and the caller's try,
            // not entered yet, would never let it go (docs/design.md, "A caller that runs out of
            // stack inside a request").
            if (lock.getHoldCount() > held) {
                lock.unlock();
            }
            throw e;
        }
    }
}
