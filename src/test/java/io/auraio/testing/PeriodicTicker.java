package io.auraio.testing;

import java.time.Duration;
import java.util.List;

/**
 * A virtual thread that wants to run every millisecond, for carrier-liveness tests: if blocked
 * I/O holds the carriers, its runs come late or not at all.
 *
 * @param ticks         how many times it ran
 * @param worstGapNanos the longest time between two runs
 */
public record PeriodicTicker(long ticks, long worstGapNanos) {
    /**
     * Runs the ticker on a virtual thread for {@code duration} and waits for it.
     *
     * @return what it saw
     */
    public static PeriodicTicker run(Duration duration) throws InterruptedException {
        long[] ticks = new long[1];
        long[] worstGapNanos = new long[1];
        Thread periodic = Thread.ofVirtual().start(() -> {
            long end = System.nanoTime() + duration.toNanos();
            long last = System.nanoTime();
            while (last < end) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
                long now = System.nanoTime();
                worstGapNanos[0] = Math.max(worstGapNanos[0], now - last);
                ticks[0]++;
                last = now;
            }
        });
        TestSupport.joinAll(List.of(periodic));
        return new PeriodicTicker(ticks[0], worstGapNanos[0]);
    }
}
