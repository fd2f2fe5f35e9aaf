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
 * @param callerSubmit    whether a thread running a blocking read or write on a ring holding few
 *                        requests may write its SQE and enter the kernel itself, into a second,
 *                        small io_uring the poller keeps for that (set up without
 *                        {@code SINGLE_ISSUER}), instead of handing the request to the poller;
 *                        ignored with {@code sqpoll}
 */
public record RingConfig(int queueDepth, int initialInFlight, int minInFlight, long targetP99Nanos, boolean adaptive,
                         boolean sqpoll, int sqpollIdleMs, boolean daemon, boolean submitAll, boolean callerSubmit) {
    /**
     * The default of {@link #callerSubmit}: on, unless the system property
     * {@code io.auraio.callerSubmit} is {@code false}. On since it measured better where few
     * requests are in flight on the 2-core test machine (one O_DIRECT reader 0.7-0.9x -> 1.1-1.4x
     * FileChannel); deeper queues go to the poller's ring either way (docs/design.md, "Two rings");
     * {@code false} gives the poller-only path back (CI runs the suite on both).
     */
    public static final boolean CALLER_SUBMIT_DEFAULT =
            Boolean.parseBoolean(System.getProperty("io.auraio.callerSubmit", "true"));

    /** A ring that asks for {@code IORING_SETUP_SUBMIT_ALL}, with the default submission path. */
    public RingConfig(int queueDepth, int initialInFlight, int minInFlight, long targetP99Nanos, boolean adaptive,
                      boolean sqpoll, int sqpollIdleMs, boolean daemon) {
        this(queueDepth, initialInFlight, minInFlight, targetP99Nanos, adaptive, sqpoll, sqpollIdleMs, daemon, true);
    }

    /** A ring with the default submission path. */
    public RingConfig(int queueDepth, int initialInFlight, int minInFlight, long targetP99Nanos, boolean adaptive,
                      boolean sqpoll, int sqpollIdleMs, boolean daemon, boolean submitAll) {
        this(queueDepth, initialInFlight, minInFlight, targetP99Nanos, adaptive, sqpoll, sqpollIdleMs, daemon, submitAll,
                CALLER_SUBMIT_DEFAULT);
    }

    /** {@return this configuration with {@link #callerSubmit} set as given} */
    public RingConfig withCallerSubmit(boolean on) {
        return new RingConfig(queueDepth, initialInFlight, minInFlight, targetP99Nanos, adaptive, sqpoll, sqpollIdleMs,
                daemon, submitAll, on);
    }
}
