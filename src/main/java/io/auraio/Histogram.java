package io.auraio;

/**
 * A ring's latency histogram (the reference's {@code auraio_histogram_t}): 200 buckets of 50 µs
 * each, covering 0 to 10 ms, plus an overflow count. An approximate snapshot of the controller's
 * current window (or of everything since creation when adaptive tuning is disabled): each bucket
 * is read atomically, but {@code totalCount} may differ slightly from the sum of the buckets and
 * the overflow.
 *
 * @param buckets      counts per bucket; the record keeps its own copy
 * @param overflow     samples of {@code maxTrackedUs} or more
 * @param totalCount   samples in the snapshot
 * @param bucketWidthUs width of each bucket, microseconds
 * @param maxTrackedUs upper end of the last bucket, microseconds
 */
public record Histogram(long[] buckets, long overflow, long totalCount, int bucketWidthUs, int maxTrackedUs) {
    /** Number of buckets ({@code AURAIO_HISTOGRAM_BUCKETS}). */
    public static final int BUCKET_COUNT = 200;
    /** Bucket width in microseconds ({@code AURAIO_HISTOGRAM_BUCKET_WIDTH_US}). */
    public static final int BUCKET_WIDTH_US = 50;

    /**
     * Copies the bucket array.
     *
     * @throws NullPointerException if {@code buckets} is null
     */
    public Histogram {
        buckets = buckets.clone();
    }

    /** {@return a copy of the bucket counts} */
    @Override
    public long[] buckets() {
        return buckets.clone();
    }

    /**
     * {@return the count of bucket {@code index}, or 0 when out of range}
     *
     * @param index 0 to 199
     */
    public long bucket(int index) {
        return index >= 0 && index < buckets.length ? buckets[index] : 0;
    }

    /**
     * {@return the lower bound of bucket {@code index} in microseconds, or 0 when out of range}
     *
     * @param index 0 to 199
     */
    public int bucketLowerUs(int index) {
        return index >= 0 && index < buckets.length ? index * bucketWidthUs : 0;
    }

    /**
     * {@return the upper bound of bucket {@code index} in microseconds, or 0 when out of range}
     *
     * @param index 0 to 199
     */
    public int bucketUpperUs(int index) {
        return index >= 0 && index < buckets.length ? (index + 1) * bucketWidthUs : 0;
    }

    /**
     * {@return the latency below which {@code percentile} percent of the samples fall, in
     * milliseconds: the upper edge of the bucket that holds that rank (the reference's
     * {@code auraio_histogram_percentile}); the last bucket's upper edge when the rank falls in
     * the overflow (the latency is at least that), 0 for an empty histogram}
     *
     * @param percentile 0 to 100, e.g. 99 or 99.9
     * @throws IllegalArgumentException if {@code percentile} is outside 0 to 100 or NaN
     */
    public double percentile(double percentile) {
        if (!(percentile >= 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be between 0 and 100, was " + percentile);
        }
        long total = overflow;
        for (long b : buckets) {
            total += b;
        }
        if (total == 0) {
            return 0;
        }
        // The rank in decimal, as the percentile is written: in binary 99.9 / 100 * 1000 is
        // 999.0000000000001, whose ceiling made the P99.9 of 1000 samples the largest one.
        long rank = Math.max(1, java.math.BigDecimal.valueOf(percentile).multiply(java.math.BigDecimal.valueOf(total))
                .divide(java.math.BigDecimal.valueOf(100), 0, java.math.RoundingMode.CEILING).longValueExact());
        long seen = 0;
        for (int i = 0; i < buckets.length; i++) {
            seen += buckets[i];
            if (seen >= rank) {
                return (i + 1) * (double) bucketWidthUs / 1000.0;
            }
        }
        return buckets.length * (double) bucketWidthUs / 1000.0;
    }
}
