package io.auraio.management;

/**
 * One ring's statistics, the JMX form of {@link io.auraio.RingStats}.
 *
 * @param ring                     the ring's index
 * @param opsCompleted             requests completed since the ring started
 * @param bytesTransferred         bytes transferred since the ring started
 * @param inFlight                 requests admitted and not yet released
 * @param inFlightLimit            the admission gate's limit
 * @param waiting                  callers parked at the admission gate
 * @param batchThreshold           the batch threshold in force
 * @param p99LatencyMillis         P99 of the controller's last window, 0 before one
 * @param targetP99LatencyMillis   the P99 target in force (set or detected), 0 if none
 * @param throughputBytesPerSecond over the controller's last window
 * @param phase                    the adaptive controller's phase
 * @param queueDepth               the ring's queue depth
 */
public record RingStatistics(int ring, long opsCompleted, long bytesTransferred, int inFlight, int inFlightLimit,
                             int waiting, int batchThreshold, double p99LatencyMillis,
                             double targetP99LatencyMillis, double throughputBytesPerSecond, String phase,
                             int queueDepth) {}
