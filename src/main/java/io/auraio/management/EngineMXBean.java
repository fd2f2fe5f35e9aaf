package io.auraio.management;

/**
 * The management interface of one {@link io.auraio.Engine}, registered as
 * {@code io.auraio:type=Engine,name=<name>} while the engine is open. Reads are snapshots,
 * cheap enough for a once-a-second poll; the writable attributes change every ring's adaptive
 * controller at once, from then on.
 */
public interface EngineMXBean {
    /** The JMX domain of AuraIO's MXBeans. */
    String DOMAIN = "io.auraio";

    /** {@return the engine's name} */
    String getName();

    /** {@return the number of rings} */
    int getRingCount();

    /** {@return engine-wide statistics, as {@link io.auraio.Engine#stats()}} */
    EngineStatistics getStats();

    /** {@return each ring's statistics, in ring order, as {@link io.auraio.Engine#ringStats(int)}} */
    RingStatistics[] getRingStats();

    /** {@return latency percentiles over every ring's current histogram window} */
    LatencyPercentiles getLatencyPercentiles();

    /** {@return buffer pool statistics, as {@link io.auraio.Engine#bufferStats()}} */
    BufferStatistics getBufferStats();

    /** {@return the P99 latency target in milliseconds that was set, 0 when each ring detects its own} */
    double getTargetP99LatencyMillis();

    /**
     * Sets the P99 latency target of every ring.
     *
     * @param millis the target, {@code > 0}; or 0 to let each ring detect it from the device
     * @throws IllegalArgumentException if {@code millis} is negative, NaN or infinite
     */
    void setTargetP99LatencyMillis(double millis);

    /** {@return the floor of every ring's in-flight limit} */
    int getMinInFlight();

    /**
     * Sets the floor of every ring's in-flight limit; a limit below it is raised to it at once by
     * the ring's poller (an idle ring's too), without this call waiting for it.
     *
     * @param min 1 to the queue depth
     * @throws IllegalArgumentException if {@code min} is out of that range
     */
    void setMinInFlight(int min);

    /** {@return the batch threshold that was pinned, 0 while each ring tunes its own} */
    int getBatchThreshold();

    /**
     * Pins every ring's batch threshold (submissions gathered before entering the kernel while
     * requests keep arriving), or hands it back to the rings' tuners.
     *
     * @param threshold 2 to 64, or 0 for tuned
     * @throws IllegalArgumentException if {@code threshold} is out of that range
     */
    void setBatchThreshold(int threshold);
}
