package io.auraio.cli;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A log-linear latency histogram in nanoseconds: 32 linear sub-buckets per power of two (at most
 * ~3% relative error), no allocation on {@link #record}. One writer per instance (each worker has its
 * own); readers on other threads see counts that are at most a few records behind, which is all a
 * live status line needs. The final report reads it after the writer has been joined.
 */
final class LogHistogram {
    private static final int SUB_BITS = 5;
    private static final int SUB_COUNT = 1 << SUB_BITS;
    /** Values up to 2^40 ns (~18 minutes); anything larger lands in the last bucket. */
    private static final int MAX_EXPONENT = 40;
    static final int BUCKETS = (MAX_EXPONENT - SUB_BITS + 2) * SUB_COUNT;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final AtomicLong max = new AtomicLong();

    /** Records one value; called only by this histogram's owner. */
    void record(long nanos) {
        int i = index(Math.max(0, nanos));
        // Single writer: a plain read and an opaque write are enough, and cheaper than getAndIncrement.
        counts.setOpaque(i, counts.getPlain(i) + 1);
        if (nanos > max.getPlain()) {
            max.setOpaque(nanos);
        }
    }

    /** {@return the largest value recorded so far} */
    long max() {
        return max.getOpaque();
    }

    /** Adds this histogram's current counts into {@code into} (which has {@link #BUCKETS} slots). */
    void addTo(long[] into) {
        for (int i = 0; i < BUCKETS; i++) {
            into[i] += counts.getOpaque(i);
        }
    }

    static int index(long value) {
        if (value < SUB_COUNT) {
            return (int) value;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(value); // >= SUB_BITS
        if (exponent > MAX_EXPONENT) {
            return BUCKETS - 1;
        }
        int sub = (int) (value >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1);
        return (exponent - SUB_BITS + 1) * SUB_COUNT + sub;
    }

    /** {@return the smallest value that falls into bucket {@code index}} */
    static long lowerBound(int index) {
        if (index < SUB_COUNT) {
            return index;
        }
        int exponent = index / SUB_COUNT + SUB_BITS - 1;
        int sub = index % SUB_COUNT;
        return (long) (SUB_COUNT + sub) << (exponent - SUB_BITS);
    }

    /** {@return the largest value that falls into bucket {@code index}} */
    static long upperBound(int index) {
        return index == BUCKETS - 1 ? Long.MAX_VALUE : lowerBound(index + 1) - 1;
    }

    /** Summary statistics over merged bucket counts. */
    record Summary(long count, long p50, long p90, long p99, long p999, long max, double mean) {
        static Summary of(long[] buckets, long max) {
            long count = 0;
            double sum = 0;
            for (int i = 0; i < buckets.length; i++) {
                if (buckets[i] > 0) {
                    count += buckets[i];
                    sum += buckets[i] * (double) midpoint(i);
                }
            }
            if (count == 0) {
                return new Summary(0, 0, 0, 0, 0, 0, 0);
            }
            // A bucket's midpoint may lie above the largest value actually seen.
            return new Summary(count, Math.min(max, percentile(buckets, count, 0.50)),
                    Math.min(max, percentile(buckets, count, 0.90)), Math.min(max, percentile(buckets, count, 0.99)),
                    Math.min(max, percentile(buckets, count, 0.999)), max, sum / count);
        }
    }

    static long midpoint(int index) {
        long lo = lowerBound(index);
        return index == BUCKETS - 1 ? lo : lo + (upperBound(index) - lo) / 2;
    }

    /** {@return the value at {@code quantile} (bucket midpoint), or 0 when there are no values} */
    static long percentile(long[] buckets, long count, double quantile) {
        if (count == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(quantile * count);
        long seen = 0;
        for (int i = 0; i < buckets.length; i++) {
            seen += buckets[i];
            if (seen >= rank && buckets[i] > 0) {
                return midpoint(i);
            }
        }
        return midpoint(buckets.length - 1);
    }
}
