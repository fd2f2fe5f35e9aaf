package io.auraio.internal.adaptive;

import java.util.Arrays;

/**
 * The minimum of the uncongested P99 values seen over the last {@code size} evaluations: the
 * latency the device gives when it is not queueing, from which the automatic target is derived.
 * An evaluation whose P99 was congested still takes its place in the window (as "no value"), so
 * old values age out by time even while the ring is congested. Single-threaded.
 */
final class BaselineWindow {
    private static final long ABSENT = Long.MAX_VALUE;

    private final long[] values;
    private int next;

    BaselineWindow(int size) {
        values = new long[size];
        Arrays.fill(values, ABSENT);
    }

    /** Adds one evaluation: {@code p99Nanos}, or a gap if it was congested or not measured. */
    void add(long p99Nanos, boolean clean) {
        values[next] = clean && p99Nanos >= 0 ? p99Nanos : ABSENT;
        next = (next + 1) % values.length;
    }

    /** {@return the smallest clean value in the window, or -1 if it holds none} */
    long min() {
        long m = ABSENT;
        for (long v : values) {
            m = Math.min(m, v);
        }
        return m == ABSENT ? -1 : m;
    }
}
