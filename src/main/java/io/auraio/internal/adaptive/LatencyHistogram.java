package io.auraio.internal.adaptive;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Completion latencies of one ring: {@value #BUCKETS} buckets of {@value #BUCKET_WIDTH_US} µs
 * covering 0 to {@value #MAX_TRACKED_US} µs, plus an overflow count for longer operations (the
 * reference's {@code auraio_histogram_t}). Bucket {@code i} counts latencies in
 * {@code [i * 50 µs, (i + 1) * 50 µs)}; negative latencies (a clock step) count as 0.
 *
 * <p>Three windows: samples go to the active window; {@link #rotateWindow()} makes an empty one
 * active and keeps the closed one as the last window, which the controller reads in place
 * ({@link #lastWindowCount()}, {@link #lastWindowPercentileNanos}), and clears the window it
 * replaces: no copy, no allocation (a copy per window was most of the heap a request cost at low
 * rates). {@link #rotate()} does the same and returns the closed window as a {@link Snapshot}.
 * A histogram made to {@linkplain #LatencyHistogram(boolean) accumulate forever}
 * refuses to rotate: its one window holds every sample since creation (the reference's behaviour
 * when adaptive tuning is disabled).
 *
 * <p>Thread-safety: {@link #record} and {@link #rotate} are for one thread (the ring's poller):
 * counts are bumped with plain read-modify-write, not atomic adds, because nothing else writes
 * them. {@link #snapshot()}, {@link #lastWindow()} and {@link #count()} may be called from any
 * thread: every count is written and read with opaque access, so a reader sees whole values, never
 * torn ones; a snapshot taken while samples arrive (or while a closed window is being cleared) is
 * approximate, as the reference's is.
 */
public final class LatencyHistogram {
    /** Number of buckets. */
    public static final int BUCKETS = 200;
    /** Width of a bucket in microseconds. */
    public static final int BUCKET_WIDTH_US = 50;
    /** Largest latency the buckets track, in microseconds; longer operations count as overflow. */
    public static final int MAX_TRACKED_US = BUCKETS * BUCKET_WIDTH_US;

    static final long BUCKET_WIDTH_NANOS = BUCKET_WIDTH_US * 1_000L;
    static final long MAX_TRACKED_NANOS = MAX_TRACKED_US * 1_000L;

    // Layout of one window: the buckets, then three counters.
    private static final int OVERFLOW = BUCKETS;
    private static final int COUNT = BUCKETS + 1;
    private static final int LARGEST = BUCKETS + 2;
    private static final int SLOTS = BUCKETS + 3;

    private static final Snapshot EMPTY = new Snapshot(new long[BUCKETS], 0, 0, BUCKET_WIDTH_US, MAX_TRACKED_US, 0);

    private final AtomicLongArray[] windows = {
        new AtomicLongArray(SLOTS), new AtomicLongArray(SLOTS), new AtomicLongArray(SLOTS)};
    private final boolean accumulating;
    /** Index of the active window; volatile so a reader on another thread follows a rotation. */
    private volatile int active;
    /** Index of the window closed by the last rotation, -1 before the first. */
    private volatile int last = -1;

    /**
     * Creates an empty histogram.
     *
     * @param accumulateForever true for one window that is never reset ({@link #rotate()} then
     *                          throws), false for the double-buffered windows an adaptive
     *                          controller rotates
     */
    public LatencyHistogram(boolean accumulateForever) {
        this.accumulating = accumulateForever;
    }

    /** {@return whether this histogram keeps every sample and refuses to rotate} */
    public boolean accumulatesForever() {
        return accumulating;
    }

    /**
     * Counts one completion latency in the active window. A few nanoseconds, allocation-free.
     * Single writer: call from the thread that owns this histogram (see the class comment).
     *
     * @param latencyNanos the operation's latency; below 0 counts as 0, at or above
     *                     {@value #MAX_TRACKED_US} µs as overflow
     */
    public void record(long latencyNanos) {
        AtomicLongArray w = windows[active];
        int slot = slotOf(latencyNanos);
        // Single writer: a plain read of our own last write, then an opaque store so readers on
        // other threads see a whole value.
        w.setOpaque(slot, w.getPlain(slot) + 1);
        w.setOpaque(COUNT, w.getPlain(COUNT) + 1);
        if (latencyNanos > w.getPlain(LARGEST)) {
            w.setOpaque(LARGEST, latencyNanos);
        }
    }

    /** {@return the bucket index (0 to 199) of a latency, or 200 for overflow} */
    static int slotOf(long latencyNanos) {
        if (latencyNanos <= 0) {
            return 0;
        }
        return latencyNanos >= MAX_TRACKED_NANOS ? OVERFLOW : (int) (latencyNanos / BUCKET_WIDTH_NANOS);
    }

    /** {@return how many samples the active window holds; from any thread, approximate while samples arrive} */
    public long count() {
        return windows[active].getOpaque(COUNT);
    }

    /**
     * Copies the active window. From any thread.
     *
     * @return an immutable snapshot of the samples recorded since the last rotation (since
     *         creation for an accumulating histogram)
     */
    public Snapshot snapshot() {
        return copy(windows[active]);
    }

    /**
     * {@return the window closed by the last {@link #rotate()}, or an empty snapshot before the
     * first rotation} From any thread. More useful to a stats reader than {@link #snapshot()},
     * whose window may have been opened a moment ago.
     */
    public Snapshot lastWindow() {
        int closed = last;
        return closed < 0 ? EMPTY : copy(windows[closed]);
    }

    /**
     * Closes the active window: the other, empty, window becomes active, and the closed one is
     * copied, remembered as {@link #lastWindow()} and cleared for its next turn. Call from the
     * recording thread, so no sample can land in a window while it is being cleared.
     *
     * @return the closed window
     * @throws IllegalStateException if this histogram accumulates forever
     */
    public Snapshot rotate() {
        rotateWindow();
        return lastWindow();
    }

    /**
     * Closes the active window without copying it: an empty window becomes active, the closed one
     * becomes the last window, and the window it replaces is cleared for its next turn. Call from
     * the recording thread. Allocation-free.
     *
     * @throws IllegalStateException if this histogram accumulates forever
     */
    public void rotateWindow() {
        if (accumulating) {
            throw new IllegalStateException("an accumulate-forever histogram is never rotated; use snapshot()");
        }
        int closed = active;
        int previous = last;
        // The third window: neither active nor last, and clean (cleared when it stopped being last).
        int next = previous < 0 ? (closed + 1) % 3 : 3 - closed - previous;
        active = next;
        last = closed;
        if (previous >= 0) {
            AtomicLongArray w = windows[previous];
            for (int i = 0; i < SLOTS; i++) {
                w.setOpaque(i, 0);
            }
        }
    }

    /** {@return how many samples the last closed window holds, 0 before the first rotation} Recording thread. */
    public long lastWindowCount() {
        int closed = last;
        return closed < 0 ? 0 : windows[closed].getPlain(COUNT);
    }

    /**
     * {@return a percentile of the last closed window, read in place, or -1 if it holds no samples}
     * As {@link Snapshot#percentileNanos}. Recording thread.
     *
     * @param quantile the fraction of samples at or below the answer, from 0 to 1
     */
    public long lastWindowPercentileNanos(double quantile) {
        int closed = last;
        if (closed < 0) {
            return -1;
        }
        AtomicLongArray w = windows[closed];
        return percentile(w::getPlain, BUCKETS, w.getPlain(OVERFLOW), BUCKET_WIDTH_US, MAX_TRACKED_US, w.getPlain(LARGEST), quantile);
    }

    /**
     * The percentile estimate of {@link Snapshot#percentileNanos}, over {@code buckets} bucket
     * counts read through {@code bucket} (a snapshot's array, or a live window in place).
     */
    private static long percentile(java.util.function.IntToLongFunction bucket, int buckets, long overflow, int bucketWidthUs,
                                   int maxTrackedUs, long largestNanos, double quantile) {
        if (!(quantile >= 0.0 && quantile <= 1.0)) {
            throw new IllegalArgumentException("quantile must be within 0 and 1, was " + quantile);
        }
        long total = overflow;
        for (int i = 0; i < buckets; i++) {
            total += bucket.applyAsLong(i);
        }
        if (total == 0) {
            return -1;
        }
        long rank = Math.max(1, (long) Math.ceil(quantile * total));
        long widthNanos = bucketWidthUs * 1_000L;
        long below = 0;
        for (int i = 0; i < buckets; i++) {
            long c = bucket.applyAsLong(i);
            if (below + c >= rank) {
                double within = (double) (rank - below) / c;
                long estimate = Math.round((i + within) * widthNanos);
                return largestNanos > 0 ? Math.min(estimate, largestNanos) : estimate;
            }
            below += c;
        }
        return Math.max(maxTrackedUs * 1_000L, largestNanos);
    }

    private static Snapshot copy(AtomicLongArray w) {
        long[] buckets = new long[BUCKETS];
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            buckets[i] = w.getOpaque(i);
            total += buckets[i];
        }
        long overflow = w.getOpaque(OVERFLOW);
        return new Snapshot(buckets, overflow, total + overflow, BUCKET_WIDTH_US, MAX_TRACKED_US, w.getOpaque(LARGEST));
    }

    /**
     * An immutable copy of one histogram window (the reference's {@code auraio_histogram_t}).
     * Made by {@link LatencyHistogram}, {@code totalCount} is the sum of the buckets and overflow.
     *
     * @param buckets       sample counts per bucket (copied in and out: the record cannot be changed)
     * @param overflow      samples at or above {@code maxTrackedUs}
     * @param totalCount    samples in the window
     * @param bucketWidthUs width of each bucket in microseconds
     * @param maxTrackedUs  largest latency tracked by the buckets, in microseconds
     * @param largestNanos  the largest latency recorded in the window, in nanoseconds (0 if none);
     *                      what a percentile that falls in the overflow reports
     */
    public record Snapshot(long[] buckets, long overflow, long totalCount, int bucketWidthUs, int maxTrackedUs,
                           long largestNanos) {
        /**
         * Copies {@code buckets}.
         *
         * @throws IllegalArgumentException if a count is negative or a width is not positive
         */
        public Snapshot {
            buckets = buckets.clone();
            if (bucketWidthUs <= 0 || maxTrackedUs <= 0 || overflow < 0 || totalCount < 0) {
                throw new IllegalArgumentException("widths must be positive and counts not negative");
            }
        }

        /** {@return a copy of the bucket counts} */
        @Override
        public long[] buckets() {
            return buckets.clone();
        }

        /**
         * {@return the count in one bucket, or 0 for an index outside the buckets}
         *
         * @param index bucket index, 0 for the lowest
         */
        public long bucket(int index) {
            return index >= 0 && index < buckets.length ? buckets[index] : 0;
        }

        /**
         * Estimates a latency percentile, interpolating linearly inside the bucket where the
         * wanted rank falls, and never above the largest latency recorded. Ranks that fall in the
         * overflow report {@code largestNanos} (at least {@code maxTrackedUs}): a value above the
         * tracked range is then still comparable with a target above it.
         *
         * @param quantile the fraction of samples at or below the answer, from 0 to 1 (0.99 for P99)
         * @return the latency in nanoseconds, or -1 if the window holds no samples
         * @throws IllegalArgumentException if {@code quantile} is not within 0 to 1
         */
        public long percentileNanos(double quantile) {
            long[] counts = buckets;
            return percentile(i -> counts[i], counts.length, overflow, bucketWidthUs, maxTrackedUs,
                    largestNanos, quantile);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Snapshot s && Arrays.equals(buckets, s.buckets) && overflow == s.overflow
                    && totalCount == s.totalCount && bucketWidthUs == s.bucketWidthUs
                    && maxTrackedUs == s.maxTrackedUs && largestNanos == s.largestNanos;
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(buckets) + Long.hashCode(totalCount);
        }

        @Override
        public String toString() {
            return "Snapshot[totalCount=" + totalCount + ", overflow=" + overflow + ", p50="
                    + percentileNanos(0.5) + "ns, p99=" + percentileNanos(0.99) + "ns, largest=" + largestNanos + "ns]";
        }
    }
}
