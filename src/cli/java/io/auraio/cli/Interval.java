package io.auraio.cli;

/** The difference between two successive samples of a run's counters: rates and latency over that interval. */
final class Interval {
    private long[] previousBuckets = new long[LogHistogram.BUCKETS];
    private long previousOps;
    private long previousBytes;
    private long previousNanos;

    Interval(long startNanos) {
        previousNanos = startNanos;
    }

    record Rates(double iops, double bytesPerSecond, long p50Nanos, long p99Nanos) {}

    /** {@return the rates since the previous call (or since the start), and moves the mark to now} */
    Rates advance(long[] buckets, long ops, long bytes, long nowNanos) {
        long[] delta = new long[buckets.length];
        long count = 0;
        for (int i = 0; i < buckets.length; i++) {
            delta[i] = buckets[i] - previousBuckets[i];
            count += delta[i];
        }
        double seconds = Math.max(1e-9, (nowNanos - previousNanos) / 1e9);
        Rates rates = new Rates((ops - previousOps) / seconds, (bytes - previousBytes) / seconds,
                LogHistogram.percentile(delta, count, 0.50), LogHistogram.percentile(delta, count, 0.99));
        previousBuckets = buckets.clone();
        previousOps = ops;
        previousBytes = bytes;
        previousNanos = nowNanos;
        return rates;
    }
}
