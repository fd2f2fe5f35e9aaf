package io.auraio.internal.sched;

import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.isIn;
import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** {@link SharedLocks}: who may queue for the lock (platform threads, or nobody); everyone gets it. */
class SharedLocksTest {
    @Test
    void aVirtualThreadRetriesWhileAPlatformThreadQueues() throws Exception {
        // Retrying, the virtual thread ends up parked between tries (TIMED_WAITING).
        bothWaitThenEnter(SharedLocks::lock,
                (lock, virtual, platform) -> (virtual.getState() == Thread.State.TIMED_WAITING
                        || lock.hasQueuedThread(virtual)) && lock.hasQueuedThread(platform),
                (lock, virtual, platform) -> !lock.hasQueuedThread(virtual));
    }

    /** A reaper, on either kind of thread, never queues: it gets the lock once the holder lets go. */
    @Test
    void lockWithoutQueueingNeverQueuesOnEitherKindOfThread() throws Exception {
        bothWaitThenEnter(SharedLocks::lockWithoutQueueing,
                (lock, virtual, platform) -> isIn(virtual, "lockWithoutQueueing")
                        && isIn(platform, "lockWithoutQueueing"),
                (lock, virtual, platform) -> !lock.hasQueuedThreads());
    }

    /** A condition on the lock and the two threads taking it. */
    private interface Waiting {
        boolean holds(ReentrantLock lock, Thread virtual, Thread platform);
    }

    /**
     * Holds a lock while a virtual and a platform thread take it with {@code locker}; once
     * {@code waiting} holds, {@code nobodyQueuedWrongly} must hold too; then lets go: both must
     * enter, once each.
     */
    private static void bothWaitThenEnter(Consumer<ReentrantLock> locker, Waiting waiting,
                                          Waiting nobodyQueuedWrongly) throws Exception {
        ReentrantLock lock = new ReentrantLock();
        AtomicInteger entered = new AtomicInteger();
        Runnable enter = () -> {
            locker.accept(lock);
            try {
                entered.incrementAndGet();
            } finally {
                lock.unlock();
            }
        };
        lock.lock();
        Thread virtual;
        Thread platform;
        try {
            virtual = Thread.ofVirtual().start(enter);
            platform = Thread.ofPlatform().start(enter);
            awaitCondition("both wait for the lock", () -> waiting.holds(lock, virtual, platform));
            assertThat(nobodyQueuedWrongly.holds(lock, virtual, platform)).as("queued for the lock: "
                    + lock).isTrue();
            assertThat(entered).hasValue(0);
        } finally {
            lock.unlock();
        }
        joinAll(List.of(virtual, platform));
        assertThat(entered).hasValue(2);
        assertThat(lock.isLocked()).isFalse();
    }

    /** An interrupt neither ends the wait nor is lost (as {@code lock()}). */
    @Test
    void anInterruptedVirtualThreadStillWaitsAndKeepsItsStatus() throws Exception {
        ReentrantLock lock = new ReentrantLock();
        CountDownLatch interrupted = new CountDownLatch(1);
        AtomicInteger outcome = new AtomicInteger(-1);
        lock.lock();
        Thread virtual;
        try {
            virtual = Thread.ofVirtual().start(() -> {
                Thread.currentThread().interrupt();
                interrupted.countDown();
                SharedLocks.lock(lock);
                try {
                    outcome.set(Thread.currentThread().isInterrupted() ? 1 : 0);
                } finally {
                    lock.unlock();
                }
            });
            interrupted.await();
            Thread.sleep(5); // it retries meanwhile: it must not take the held lock
            assertThat(outcome).hasValue(-1);
        } finally {
            lock.unlock();
        }
        joinAll(List.of(virtual));
        assertThat(outcome).as("took the lock with its interrupt status kept").hasValue(1);
    }
}
