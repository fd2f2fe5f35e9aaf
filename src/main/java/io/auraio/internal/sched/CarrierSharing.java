package io.auraio.internal.sched;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import jdk.management.VirtualThreadSchedulerMXBean;

/**
 * Makes a virtual thread that never parks share its carrier: the fast path (a read served from
 * the page cache, a buffered write, both on the calling thread) never gives the carrier up, so a
 * thread whose every operation hits would hold it for ever. The JDK does not preempt virtual
 * threads, so the library gives each such thread a time budget.
 *
 * <p>Once a thread has served itself for {@link #BUDGET_NANOS}, it asks the scheduler whether any
 * virtual thread waits for a carrier ({@link VirtualThreadSchedulerMXBean#getQueuedVirtualThreadCount()},
 * a sum over the scheduler's queues, submissions from platform threads included). Only then does
 * it give the carrier up: a lone reader used to yield at every budget, each yield waking the idle
 * carrier and often moving the thread to the other CPU, which cost a single buffered reader or
 * writer 6-8% of its rate (issue 14). A thread queued just after the check waits one more budget.
 */
public final class CarrierSharing {
    /**
     * How long a virtual thread may keep serving itself before it looks whether others wait. A time
     * budget, not a count of operations: a page-cache read takes 1 us, a buffered write 3-5 us.
     */
    static final long BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * The clock is read every this many operations, not at each: an operation costs ~1 us or
     * more, a clock read (vDSO) ~5% of that, and 16 operations overshoot the budget by ~20 us at most.
     */
    private static final int CLOCK_EVERY = 16;
    /**
     * Every this many shares the thread parks briefly instead of yielding: a yield re-queues the
     * thread where its carrier looks first, so a virtual thread queued elsewhere (started or
     * unparked by a platform thread: a ring poller's wake-up included) would never run while
     * every carrier has such a thread. A park costs ~70 us (a timer and a wake-up).
     */
    private static final int PARK_EVERY = 4;
    /**
     * Per thread: [0] when its current run began (its last share or look, or its first
     * operation), [1] operations since the clock was last read, [2] shares so far.
     */
    private static final ThreadLocal<long[]> RUN = ThreadLocal.withInitial(() -> new long[] {System.nanoTime(), 0, 0});

    private static final LongAdder BUDGETS_SPENT = new LongAdder();
    private static final LongAdder SHARES = new LongAdder();

    private CarrierSharing() {}

    /**
     * After an operation that did not park: gives the carrier up when this virtual thread has
     * served itself for the budget and another virtual thread waits for a carrier. A thread that
     * parked in between gave its carrier away already; the budget then only makes the look come
     * sooner than needed, never later. Platform threads are the OS scheduler's business.
     */
    public static void afterOperationWithoutPark() {
        if (!Thread.currentThread().isVirtual()) {
            return;
        }
        long[] run = RUN.get();
        if (++run[1] < CLOCK_EVERY) {
            return;
        }
        run[1] = 0;
        if (System.nanoTime() - run[0] <= BUDGET_NANOS) {
            return;
        }
        BUDGETS_SPENT.increment();
        if (Queued.othersWait()) {
            SHARES.increment();
            if (++run[2] % PARK_EVERY != 0) {
                CarrierWaits.yieldOrStay();
            } else {
                // A timed park takes the thread out of every queue until its timer fires; the
                // carrier then finds the others. It may consume a pending unpark permit, as the
                // JDK's own I/O on virtual threads (sockets) and every ring request here do; a permit
                // given back would make each later park return at once, and nothing would be shared.
                CarrierWaits.parkNanos(null, 1);
            }
        }
        run[0] = System.nanoTime();
    }

    /** {@return whether a virtual thread waits for a carrier now: an estimate, as of this call} */
    public static boolean othersWaitForCarrier() {
        return Queued.othersWait();
    }

    /** {@return how many times a thread spent its budget and looked for others, since start} For tests and diagnostics. */
    public static long budgetsSpent() {
        return BUDGETS_SPENT.sum();
    }

    /** {@return how many of those looks found others waiting and gave the carrier up} */
    public static long shares() {
        return SHARES.sum();
    }

    /** The scheduler's queue, looked up on the first spent budget. */
    private static final class Queued {
        private static final VirtualThreadSchedulerMXBean SCHEDULER = lookUp();

        private static VirtualThreadSchedulerMXBean lookUp() {
            try {
                VirtualThreadSchedulerMXBean bean = ManagementFactory.getPlatformMXBean(VirtualThreadSchedulerMXBean.class);
                return bean != null && bean.getQueuedVirtualThreadCount() >= 0 ? bean : null;
            } catch (RuntimeException | LinkageError e) {
                return null; // a runtime without it (or a scheduler it cannot see): share at every budget
            }
        }

        static boolean othersWait() {
            return SCHEDULER == null || SCHEDULER.getQueuedVirtualThreadCount() > 0;
        }
    }
}
