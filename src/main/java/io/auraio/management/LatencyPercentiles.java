package io.auraio.management;

/**
 * Latency percentiles of a histogram window, in milliseconds, each the upper edge of the 50 µs
 * bucket where it falls (the histogram's last edge, 10 ms, for samples beyond it); all 0 while
 * the window is empty.
 *
 * @param p50Millis  median
 * @param p90Millis  90th percentile
 * @param p99Millis  99th percentile
 * @param p999Millis 99.9th percentile
 * @param samples    requests in the window
 */
public record LatencyPercentiles(double p50Millis, double p90Millis, double p99Millis, double p999Millis,
                                 long samples) {}
