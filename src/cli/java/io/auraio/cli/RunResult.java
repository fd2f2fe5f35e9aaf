package io.auraio.cli;

import java.util.List;

/**
 * What one measured run (one engine, one round) produced.
 *
 * @param engine        {@code aura} or {@code filechannel}
 * @param round         1-based round
 * @param ops           completed reads + writes in the measured window
 * @param reads         of which reads
 * @param writes        of which writes
 * @param fsyncs        fsyncs issued (not counted in ops or latency)
 * @param bytes         bytes transferred
 * @param seconds       length of the measured window
 * @param cpuSeconds    process CPU (user + system) in the window
 * @param allocBytes    Java heap bytes allocated by all threads in the window, or -1 if unknown
 * @param osThreadsAtStart OS threads of the process when the run started (a previous FileChannel run's
 *                      extra carrier threads linger for a while, idle, and are counted here)
 * @param osThreadsPeak largest OS thread count of the process seen during the run
 * @param latency       per-operation latency summary (nanoseconds)
 * @param buckets       the latency histogram ({@link LogHistogram} buckets)
 * @param timeline      samples over the window
 * @param aimd          AIMD phase changes per ring (empty for FileChannel)
 * @param liveness      the periodic virtual thread's lateness, or null when not measured
 * @param perThread     how the operations were shared among the worker threads
 */
record RunResult(String engine, int round, long ops, long reads, long writes, long fsyncs, long bytes, double seconds,
                 double cpuSeconds, long allocBytes, int osThreadsAtStart, int osThreadsPeak, LogHistogram.Summary latency, long[] buckets,
                 List<TimelinePoint> timeline, List<AimdEvent> aimd, Liveness liveness, OpsPerThread perThread) {

    double iops() {
        return ops / seconds;
    }

    double bytesPerSecond() {
        return bytes / seconds;
    }

    double cpuMicrosPerOp() {
        return ops == 0 ? Double.NaN : cpuSeconds * 1e6 / ops;
    }

    /** {@return OS threads the run added over those alive when it started} */
    int osThreadsAdded() {
        return Math.max(0, osThreadsPeak - osThreadsAtStart);
    }

    double allocBytesPerOp() {
        return ops == 0 || allocBytes < 0 ? Double.NaN : (double) allocBytes / ops;
    }

    /**
     * Operations each worker thread completed in the measured window: the fewest, the median and
     * the most. Per-operation latency does not show a thread that never got a carrier (it makes no
     * operation to time); this does.
     */
    record OpsPerThread(long min, long median, long max) {
        static OpsPerThread of(long[] perThread) {
            long[] sorted = perThread.clone();
            java.util.Arrays.sort(sorted);
            return sorted.length == 0 ? new OpsPerThread(0, 0, 0)
                    : new OpsPerThread(sorted[0], sorted[sorted.length / 2], sorted[sorted.length - 1]);
        }
    }

    /**
     * One sample.
     *
     * @param seconds       time since the measured window started
     * @param iops          operations per second over the sample interval
     * @param bytesPerSecond bytes per second over the interval
     * @param p99Nanos      P99 latency over the interval
     * @param inFlightLimit sum of the rings' in-flight limits (-1 for FileChannel)
     * @param ringLimits    each ring's in-flight limit (empty for FileChannel)
     * @param ringPhases    each ring's AIMD phase (empty for FileChannel)
     */
    record TimelinePoint(double seconds, double iops, double bytesPerSecond, long p99Nanos, int inFlightLimit,
                         List<Integer> ringLimits, List<String> ringPhases) {}

    /** A ring entered {@code phase} at {@code seconds} (since the run started, ramp included), with that limit. */
    record AimdEvent(double seconds, int ring, String phase, int inFlightLimit) {}

    /**
     * How late a periodic virtual thread ran while the workers did I/O.
     *
     * @param periodMillis its period
     * @param ticks        how many times it ran
     * @param expected     how many times it would have run with no lateness
     * @param lateness     lateness summary (nanoseconds)
     */
    record Liveness(double periodMillis, long ticks, long expected, LogHistogram.Summary lateness) {}
}
