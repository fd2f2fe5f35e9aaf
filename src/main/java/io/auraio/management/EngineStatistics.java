package io.auraio.management;

/**
 * Engine-wide statistics, the JMX form of {@link io.auraio.Stats}.
 *
 * @param opsCompleted             requests completed, the page cache fast path included
 * @param bytesTransferred         bytes transferred, the fast path included
 * @param throughputBytesPerSecond summed over the rings' last windows
 * @param p99LatencyMillis         the highest ring P99, in milliseconds
 * @param currentInFlight          requests queued, in the kernel or completing
 * @param optimalInFlight          the rings' in-flight limits, summed
 * @param optimalBatchSize         the rings' batch thresholds, summed
 * @param adaptiveSpills           requests sent to another ring than their own by adaptive selection
 * @param peakInFlight             the most requests one ring has held at once since the engine was
 *                                 created, the highest over the rings
 */
public record EngineStatistics(long opsCompleted, long bytesTransferred, double throughputBytesPerSecond,
                               double p99LatencyMillis, int currentInFlight, int optimalInFlight,
                               int optimalBatchSize, long adaptiveSpills, int peakInFlight) {}
