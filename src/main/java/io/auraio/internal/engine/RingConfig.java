package io.auraio.internal.engine;

/**
 * What one ring is built with, derived from the public options by the API layer.
 *
 * @param queueDepth      request slots of the ring, and the minimum SQ size
 * @param initialInFlight in-flight limit the ring starts with
 * @param minInFlight     floor of the adaptive in-flight limit
 * @param targetP99Nanos  P99 latency target, or 0 to detect it
 * @param adaptive        whether the AIMD controller tunes the limit
 * @param sqpoll          whether to ask for a kernel submission-polling thread
 * @param sqpollIdleMs    idle time before that thread sleeps
 * @param daemon          whether the poller thread is a daemon thread
 * @param submitAll       whether to ask for {@code IORING_SETUP_SUBMIT_ALL} where the kernel has it
 *                        (always, but for tests of the submit path that older kernels take)
 */
public record RingConfig(int queueDepth, int initialInFlight, int minInFlight, long targetP99Nanos, boolean adaptive,
                         boolean sqpoll, int sqpollIdleMs, boolean daemon, boolean submitAll) {
    /** A ring that asks for {@code IORING_SETUP_SUBMIT_ALL}. */
    public RingConfig(int queueDepth, int initialInFlight, int minInFlight, long targetP99Nanos, boolean adaptive,
                      boolean sqpoll, int sqpollIdleMs, boolean daemon) {
        this(queueDepth, initialInFlight, minInFlight, targetP99Nanos, adaptive, sqpoll, sqpollIdleMs, daemon, true);
    }
}
