package io.auraio.management;

/**
 * The management interface of one ring of an {@link io.auraio.Engine}, registered as
 * {@code io.auraio:type=Ring,engine=<name>,ring=<index>} while the engine is open: the
 * {@link RingStatistics} of {@link EngineMXBean#getRingStats()} as flat attributes, one series
 * per ring for tools such as the Prometheus JMX exporter.
 */
public interface RingMXBean {
    /** {@return the engine's name} */
    String getEngine();

    /** {@return the ring's index} */
    int getRing();

    /** {@return requests completed since the ring started} */
    long getOpsCompleted();

    /** {@return bytes transferred since the ring started} */
    long getBytesTransferred();

    /** {@return requests admitted and not yet released} */
    int getInFlight();

    /** {@return the admission gate's in-flight limit} */
    int getInFlightLimit();

    /** {@return callers parked at the admission gate} */
    int getWaiting();

    /** {@return the batch threshold in force} */
    int getBatchThreshold();

    /** {@return the P99 latency of the controller's last window in milliseconds, 0 before one} */
    double getP99LatencyMillis();

    /** {@return the P99 target in force in milliseconds (set or detected), 0 if none} */
    double getTargetP99LatencyMillis();

    /** {@return bytes per second over the controller's last window} */
    double getThroughputBytesPerSecond();

    /** {@return the adaptive controller's phase: BASELINE, PROBING, STEADY, BACKOFF, SETTLING or CONVERGED} */
    String getPhase();

    /** {@return the phase's code, 0 to 5 in the order of {@link #getPhase()}'s list} */
    int getPhaseCode();

    /** {@return the ring's queue depth} */
    int getQueueDepth();

    /** {@return latency percentiles of the ring's current histogram window} */
    LatencyPercentiles getLatencyPercentiles();
}
