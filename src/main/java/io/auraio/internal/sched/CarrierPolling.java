package io.auraio.internal.sched;

import io.auraio.internal.binding.Libc;
import java.util.concurrent.TimeUnit;

/**
 * The rules for a virtual thread that polls, on its carrier, for a result another thread is about
 * to publish (a ring's completion, a blocking-offload call's end), instead of parking at once: a
 * park and the wake-up after it cost two sleeping hand-offs, 20-40 µs each on this kind of machine,
 * where the result often comes within a few microseconds (docs/design.md, "Callers polling").
 *
 * <p>A polling caller keeps its carrier, so it polls only while no other virtual thread waits for
 * one, and stops as soon as one does; and it keeps a CPU, so it lets that CPU go every
 * {@link #YIELD_EVERY_NANOS} ({@code sched_yield}): a thread the kernel wakes onto a CPU whose
 * thread spins waits for the spin's end otherwise, the kernel letting a running thread finish its
 * slice first (up to a 4 ms tick). The JDK's timer thread is one such thread.
 *
 * <p>Used in a loop as: every few spins, {@link #mustStop} (then park), else
 * {@code lastYield = yieldIfDue(now, lastYield)}. Static and allocation-free: the loop runs once
 * per request.
 */
public final class CarrierPolling {
    /**
     * A polling caller lets the CPU go this often: a 1 ms periodic virtual thread beside one
     * polling O_DIRECT reader ran 2.6 ms late at p99 without the yields, 0.26 ms with them
     * (FileChannel 0.18-0.19 ms; 20 µs between yields: 0.9-1.1 ms). A yield with nothing else
     * runnable costs ~0.5 µs.
     */
    static final long YIELD_EVERY_NANOS = TimeUnit.MICROSECONDS.toNanos(5);
    /**
     * A yield that returns later than this gave the CPU to a thread that ran for long: another
     * process's (a busy machine) or the JIT's, not one of the short hand-offs the yields are for.
     * Each yield would then cost the polling caller that thread's whole slice (milliseconds): one
     * O_DIRECT reader beside two busy processes fell from 8.8-14.9k IOPS (polling without yields)
     * to 3.0-10.5k, 6.5k on average (FileChannel 11.6-15.4k). Polling callers then stop yielding
     * for {@link #YIELD_PAUSE_NANOS}, and the kernel's tick shares the CPU as before the yields:
     * 9.4-11.9k.
     */
    static final long YIELD_LOST_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /**
     * How long polling callers do not yield after a yield lost the CPU for long: each such yield
     * costs a slice, so one in this long at most. On a quiet machine (a spinning thread beside
     * nothing: 1-3 yields of ~525k over 1 ms) only the JIT's compiles make one, while it warms up.
     */
    static final long YIELD_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /**
     * Until when ({@link System#nanoTime()}) polling callers do not yield. Static: what sets it, a
     * CPU wanted by threads that run for long, is the machine's state, not one poller's.
     */
    private static volatile long yieldsPausedUntil = System.nanoTime();

    private CarrierPolling() {}

    /**
     * {@return whether a virtual thread may poll on its carrier now} Not on a platform thread (the
     * OS schedules those), not while another virtual thread waits for a carrier.
     */
    public static boolean mayPoll() {
        return Thread.currentThread().isVirtual() && !CarrierSharing.othersWaitForCarrier();
    }

    /** {@return whether polling must stop: {@code end} passed, the thread interrupted, or another virtual thread waits for a carrier} */
    public static boolean mustStop(long now, long end) {
        return now - end > 0 || Thread.currentThread().isInterrupted() || CarrierSharing.othersWaitForCarrier();
    }

    /**
     * Lets the CPU go if the last yield was {@link #YIELD_EVERY_NANOS} ago and yields are not
     * paused.
     *
     * @param now       the time now ({@link System#nanoTime()})
     * @param lastYield when the caller last yielded (or began to poll)
     * @return when the caller last yielded: {@code lastYield}, or the time this yield returned
     */
    public static long yieldIfDue(long now, long lastYield) {
        if (now - lastYield <= YIELD_EVERY_NANOS || now - yieldsPausedUntil < 0) {
            return lastYield;
        }
        Libc.schedYield();
        long back = System.nanoTime();
        if (back - now > YIELD_LOST_NANOS) {
            yieldsPausedUntil = back + YIELD_PAUSE_NANOS;
        }
        return back;
    }
}
