package io.auraio;

/**
 * One ring's statistics (the reference's {@code auraio_ring_stats_t}): an immutable snapshot from
 * {@link Engine#ringStats(int)}. Its {@code opsCompleted} and {@code bytesTransferred} are one
 * pair even while the ring completes requests: the bytes are those of exactly the requests counted.
 *
 * @param ringIndex        which ring, 0 to {@code ringCount() - 1}
 * @param opsCompleted     requests this ring's kernel completed, exact (not those cancelled before
 *                         they reached it: {@link Stats#opsCompleted()})
 * @param bytesTransferred bytes those requests moved, exact
 * @param pendingCount     requests of this ring queued, in the kernel or completing
 * @param inFlightLimit    the adaptive in-flight limit
 * @param batchThreshold   the adaptive submit batch threshold
 * @param p99LatencyMs     current P99 latency estimate, milliseconds (of the controller's last window
 *                         with enough samples; below 100 samples in it, their P95)
 * @param throughputBps    current throughput, bytes per second
 * @param aimdPhase        the controller phase, 0 to 5 ({@link AimdPhase#value()})
 * @param queueDepth       request slots of the ring
 */
public record RingStats(int ringIndex, long opsCompleted, long bytesTransferred, int pendingCount, int inFlightLimit,
                        int batchThreshold, double p99LatencyMs, double throughputBps, int aimdPhase, int queueDepth) {

    /** {@return the controller phase's name, e.g. "PROBING" (the reference's {@code auraio_phase_name})} */
    public String aimdPhaseName() {
        return AimdPhase.name(aimdPhase);
    }

    /** {@return the controller phase} */
    public AimdPhase phase() {
        return AimdPhase.of(aimdPhase);
    }
}
