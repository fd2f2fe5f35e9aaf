package io.auraio.internal.engine;

import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.LockHolder;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;

/** {@link AdmissionGate}: the limit holds under contention, waiters go in order, close refuses them. */
class AdmissionGateTest {
    @Test
    void aThousandVirtualThreadsNeverHoldMoreSlotsThanTheLimit() throws Exception {
        int limit = 4;
        AdmissionGate gate = new AdmissionGate(null, 16, limit); // the ring is only a back reference
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger maxHolding = new AtomicInteger();
        AtomicReferenceArray<Thread> owners = new AtomicReferenceArray<>(gate.capacity());
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    Slot slot = gate.acquire();
                    if (slot == null) {
                        throw new AssertionError("refused by an open gate");
                    }
                    if (!owners.compareAndSet(slot.index, null, Thread.currentThread())) {
                        throw new AssertionError("slot " + slot.index + " handed to two threads at once");
                    }
                    maxHolding.accumulateAndGet(holding.incrementAndGet(), Math::max);
                    if (gate.inUse() > limit) {
                        throw new AssertionError("inUse " + gate.inUse() + " above the limit");
                    }
                    Thread.sleep(1);
                    holding.decrementAndGet();
                    owners.set(slot.index, null);
                    gate.release(slot);
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        joinAll(threads);
        assertThat(failures).isEmpty();
        assertThat(maxHolding.get()).isBetween(1, limit);
        assertThat(gate.inUse()).isZero();
        assertThat(gate.waiting()).isZero();
    }

    /**
     * Waiters are reused once their thread has left the gate. Threads that park again and again,
     * with interrupts and file closes (cancelWaiters) landing at random, must each get exactly
     * their own outcome: a slot nobody else holds, or CANCELLED only when interrupted or their fd
     * was cancelled, and no thread may stay parked.
     */
    @Test
    void reusedWaitersGiveEveryThreadItsOwnOutcomeUnderInterruptsAndCancels() throws Exception {
        int limit = 2;
        int threadsCount = 16;
        AdmissionGate gate = new AdmissionGate(null, 8, limit);
        AtomicReferenceArray<Thread> owners = new AtomicReferenceArray<>(gate.capacity());
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger granted = new AtomicInteger();
        AtomicInteger cancelled = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < threadsCount; i++) {
            int fd = 100 + i;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int round = 0; round < 2000; round++) {
                        Slot slot = gate.acquire(fd, false, true);
                        Thread.interrupted(); // an interrupt that came too late to cancel is not this test's business
                        if (slot == null) {
                            throw new AssertionError("refused by an open gate");
                        }
                        if (slot == AdmissionGate.CANCELLED) {
                            cancelled.incrementAndGet();
                            continue;
                        }
                        if (!owners.compareAndSet(slot.index, null, Thread.currentThread())) {
                            throw new AssertionError("slot " + slot.index + " handed to two threads at once");
                        }
                        granted.incrementAndGet();
                        Thread.yield();
                        owners.set(slot.index, null);
                        gate.release(slot);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        Thread chaos = Thread.ofPlatform().start(() -> {
            java.util.SplittableRandom random = new java.util.SplittableRandom(7);
            while (running.get()) {
                int victim = random.nextInt(threadsCount);
                if (random.nextBoolean()) {
                    threads.get(victim).interrupt();
                } else {
                    gate.cancelWaiters(100 + victim);
                }
                java.util.concurrent.locks.LockSupport.parkNanos(20_000);
            }
        });
        try {
            joinAll(threads);
        } finally {
            running.set(false);
            chaos.join();
        }
        assertThat(failures).isEmpty();
        assertThat(granted.get() + cancelled.get()).isEqualTo(threadsCount * 2000);
        assertThat(granted.get()).isPositive();
        assertThat(cancelled.get()).isPositive();
        assertThat(gate.inUse()).isZero();
        assertThat(gate.waiting()).isZero();
    }

    @Test
    void releaseMovesTheGenerationOnAndFreesTheSlot() {
        AdmissionGate gate = new AdmissionGate(null, 4, 4);
        Slot slot = gate.acquire();
        assertThat(slot.state).isEqualTo(Slot.QUEUED);
        int generation = slot.generation;
        long userData = slot.userData();
        gate.release(slot);
        assertThat(slot.state).isEqualTo(Slot.FREE);
        assertThat(slot.generation).isEqualTo(generation + 1);
        assertThat(slot.userData()).isNotEqualTo(userData);
        assertThat(gate.inUse()).isZero();
    }

    /** For submitters that must not park (callbacks, futures): the poller holds their requests back instead. */
    @Test
    void tryAcquireTakesAnyFreeSlotWhateverTheLimitButNeverMoreThanTheCapacity() {
        AdmissionGate gate = new AdmissionGate(null, 3, 1);
        Slot a = gate.tryAcquire();
        Slot b = gate.tryAcquire();
        Slot c = gate.tryAcquire();
        assertThat(List.of(a, b, c)).doesNotContainNull().doesNotHaveDuplicates();
        assertThat(gate.tryAcquire()).isNull();
        gate.release(a);
        assertThat(gate.tryAcquire()).isNotNull();
    }

    /**
     * Callers retry EAGAIN: refusals that queued for the lock kept it from the thread releasing
     * slots (8 virtual threads retrying on 2 carriers starved an event loop's releases for over a
     * minute). A full queue is refused, and the refusal named, without waiting for the lock.
     */
    @Test
    void aFullQueueIsRefusedWithoutWaitingForTheLock() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 2, 1);
        Slot a = gate.tryAcquire();
        assertThat(gate.tryAcquire()).isNotNull();
        Queue<Object> answers = new ConcurrentLinkedQueue<>();
        try (LockHolder _ = LockHolder.hold(gate::runUnderLockForTests)) {
            Thread refused = Thread.ofPlatform().start(() -> {
                answers.add(String.valueOf(gate.tryAcquire()));
                answers.add(String.valueOf(gate.tryAcquire(1)));
                answers.add(gate.isClosed());
            });
            joinAll(List.of(refused)); // fails (after TestSupport.HANG) if a refusal waits for the lock
        }
        assertThat(answers).containsExactly("null", "null", false);
        gate.release(a);
        assertThat(gate.tryAcquire(1)).as("a released slot is taken again").hasSize(1);
        gate.close();
        assertThat(gate.tryAcquire()).isNull();
        assertThat(gate.isClosed()).isTrue();
    }

    /**
     * The poller and the event loop take the gate's lock for every completion and release; a
     * lock's queue is served in order, so a virtual thread queued ahead of them made them wait
     * until it had a carrier, which retrying submitters busy on every carrier kept from it for
     * over a minute (EngineCallbackTest in CI). Virtual threads retry the lock instead of queueing.
     */
    @Test
    void aVirtualThreadWaitingForTheLockDoesNotQueueAheadOfPlatformThreads() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 2, 1);
        Queue<Slot> taken = new ConcurrentLinkedQueue<>();
        Thread virtual;
        try (LockHolder _ = LockHolder.hold(gate::runUnderLockForTests)) {
            virtual = Thread.ofVirtual().start(() -> taken.add(gate.tryAcquire()));
            // Retrying, it parks between tries (TIMED_WAITING); queued, it would park untimed.
            awaitCondition("the virtual thread waits for the lock",
                    () -> virtual.getState() == Thread.State.TIMED_WAITING || gate.queuedForLockForTests(virtual));
            assertThat(gate.queuedForLockForTests(virtual)).as("queued for the lock").isFalse();
        }
        joinAll(List.of(virtual));
        assertThat(taken).singleElement().isNotNull();
        assertThat(gate.inUse()).isEqualTo(1);
    }

    @Test
    void waitersAreServedInArrivalOrder() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 4, 1);
        Slot held = gate.acquire();
        List<Integer> order = new ArrayList<>();
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int index = i;
            waiters.add(Thread.ofVirtual().start(() -> {
                Slot slot = gate.acquire();
                synchronized (order) {
                    order.add(index);
                }
                gate.release(slot);
            }));
            awaitCondition("waiter " + i + " is parked", () -> gate.waiting() == index + 1);
        }
        gate.release(held);
        joinAll(waiters);
        assertThat(order).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    }

    @Test
    void raisingTheLimitAdmitsParkedWaiters() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 8, 1);
        Slot held = gate.acquire();
        AtomicReferenceArray<Slot> granted = new AtomicReferenceArray<>(3);
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int index = i;
            waiters.add(Thread.ofVirtual().start(() -> granted.set(index, gate.acquire())));
        }
        awaitCondition("three waiters are parked", () -> gate.waiting() == 3);
        gate.setLimit(4);
        joinAll(waiters);
        assertThat(gate.inUse()).isEqualTo(4);
        for (int i = 0; i < 3; i++) {
            assertThat(granted.get(i)).isNotNull();
            gate.release(granted.get(i));
        }
        gate.release(held);
        gate.setLimit(0);
        assertThat(gate.limit()).as("at least one").isEqualTo(1);
        gate.setLimit(1000);
        assertThat(gate.limit()).as("at most the capacity").isEqualTo(8);
    }

    @Test
    void anInterruptedWaiterKeepsWaitingAndKeepsItsInterruptStatus() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 2, 1);
        Slot held = gate.acquire();
        AtomicReferenceArray<Object> result = new AtomicReferenceArray<>(2);
        Thread waiter = Thread.ofVirtual().start(() -> {
            Slot slot = gate.acquire();
            result.set(0, slot);
            result.set(1, Thread.currentThread().isInterrupted());
            gate.release(slot);
        });
        awaitCondition("the waiter is parked", () -> gate.waiting() == 1);
        waiter.interrupt();
        // Still queued: the interrupt did not make it give up its place.
        awaitCondition("the waiter saw the interrupt", () -> waiter.getState() == Thread.State.WAITING);
        assertThat(gate.waiting()).isEqualTo(1);
        gate.release(held);
        joinAll(List.of(waiter));
        assertThat(result.get(0)).isNotNull();
        assertThat(result.get(1)).isEqualTo(true);
    }

    @Test
    void closeRefusesParkedWaitersAndEveryLaterAcquire() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 1, 1);
        Slot held = gate.acquire();
        int waiters = 20;
        AtomicReferenceArray<Object> results = new AtomicReferenceArray<>(waiters);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < waiters; i++) {
            int index = i;
            Runnable acquire = () -> {
                Slot slot = gate.acquire();
                results.set(index, slot == null ? "refused" : slot);
            };
            threads.add(i == 0 ? Thread.ofPlatform().start(acquire) : Thread.ofVirtual().start(acquire));
        }
        awaitCondition("every waiter is parked", () -> gate.waiting() == waiters);
        gate.close();
        joinAll(threads);
        for (int i = 0; i < waiters; i++) {
            assertThat(results.get(i)).as("waiter %d", i).isEqualTo("refused");
        }
        assertThat(gate.waiting()).isZero();
        assertThat(gate.acquire()).isNull();
        assertThat(gate.tryAcquire()).isNull();
        gate.release(held); // a slot handed out before close stays valid
        assertThat(gate.inUse()).isZero();
        assertThat(gate.acquire()).as("still closed after the release").isNull();
    }

    // ---- issue 11: admission is interruptible and closable; slots never run out for blocking requests

    @Test
    void anInterruptibleWaiterGivesUpOnAnInterruptAndKeepsTheStatus() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 4, 1);
        Slot held = gate.acquire();
        AtomicReferenceArray<Object> result = new AtomicReferenceArray<>(2);
        Thread waiter = Thread.ofVirtual().start(() -> {
            result.set(0, gate.acquire(7, false, true));
            result.set(1, Thread.currentThread().isInterrupted());
        });
        awaitCondition("the waiter is parked", () -> gate.waiting() == 1);
        waiter.interrupt();
        joinAll(List.of(waiter));
        assertThat(result.get(0)).isSameAs(AdmissionGate.CANCELLED);
        assertThat(result.get(1)).isEqualTo(true);
        assertThat(gate.waiting()).isZero();
        gate.release(held);
        assertThat(gate.inUse()).as("the cancelled waiter took nothing").isZero();
    }

    @Test
    void cancellingADescriptorWakesOnlyItsWaiters() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 4, 1);
        Slot held = gate.acquire();
        AtomicReferenceArray<Slot> results = new AtomicReferenceArray<>(2);
        Thread onFive = Thread.ofVirtual().start(() -> results.set(0, gate.acquire(5, false, false)));
        awaitCondition("the first waiter is parked", () -> gate.waiting() == 1);
        Thread onSix = Thread.ofVirtual().start(() -> results.set(1, gate.acquire(6, false, false)));
        awaitCondition("both waiters are parked", () -> gate.waiting() == 2);
        gate.cancelWaiters(5);
        joinAll(List.of(onFive));
        assertThat(results.get(0)).isSameAs(AdmissionGate.CANCELLED);
        assertThat(gate.waiting()).isEqualTo(1);
        gate.release(held);
        joinAll(List.of(onSix));
        assertThat(results.get(1)).isNotNull().isNotSameAs(AdmissionGate.CANCELLED);
        gate.release(results.get(1));
        assertThat(gate.inUse()).isZero();
    }

    @Test
    void exemptRequestsNeitherWaitNorCountAndBlockingRequestsNeverRunOutOfSlots() {
        AdmissionGate gate = new AdmissionGate(null, 4, 2);
        List<Slot> exempt = new ArrayList<>();
        for (int i = 0; i < 10; i++) { // more than the capacity: FIFO reads that never finish
            exempt.add(gate.acquire(3, true, true));
        }
        assertThat(exempt).doesNotContainNull().doesNotHaveDuplicates();
        assertThat(gate.slotCount()).isGreaterThanOrEqualTo(10);
        Slot a = gate.acquire(4, false, false);
        Slot b = gate.acquire(4, false, false);
        assertThat(List.of(a, b)).doesNotContainNull().doesNotContain(AdmissionGate.CANCELLED);
        assertThat(gate.meteredInUse()).isEqualTo(2);
        exempt.forEach(gate::release);
        gate.release(a);
        gate.release(b);
        assertThat(gate.inUse()).isZero();
        assertThat(gate.meteredInUse()).isZero();
    }

    @Test
    void completedCallbacksHoldingEverySlotDoNotStopABlockingRequest() {
        AdmissionGate gate = new AdmissionGate(null, 4, 4);
        List<Slot> callbacks = new ArrayList<>();
        Slot s;
        while ((s = gate.tryAcquire()) != null) {
            callbacks.add(s);
            gate.completed(s); // completed, not yet polled
        }
        assertThat(callbacks).hasSize(4);
        Slot blocking = gate.acquire();
        assertThat(blocking).as("a fifth slot for a blocking request").isNotNull();
        assertThat(gate.tryAcquire()).as("callbacks stay bounded by the queue depth").isNull();
        gate.release(blocking);
        callbacks.forEach(gate::release);
        assertThat(gate.inUse()).isZero();
    }

    @Test
    void aRequestFoundStaleStopsCountingAndAdmitsAWaiter() throws Exception {
        AdmissionGate gate = new AdmissionGate(null, 4, 1);
        Slot hung = gate.acquire();
        AtomicReferenceArray<Slot> result = new AtomicReferenceArray<>(1);
        Thread waiter = Thread.ofVirtual().start(() -> result.set(0, gate.acquire()));
        awaitCondition("the waiter is parked", () -> gate.waiting() == 1);
        gate.exempt(hung);
        joinAll(List.of(waiter));
        assertThat(result.get(0)).isNotNull();
        gate.release(result.get(0));
        gate.release(hung);
        assertThat(gate.inUse()).isZero();
        assertThat(gate.meteredInUse()).isZero();
    }
}
