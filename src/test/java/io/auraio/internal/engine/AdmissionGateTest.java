package io.auraio.internal.engine;

import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

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
}
