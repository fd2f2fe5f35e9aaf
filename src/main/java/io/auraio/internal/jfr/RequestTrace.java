package io.auraio.internal.jfr;

/**
 * What the ring requests of one traced file operation went through, for its event: the ring
 * that served it and the time spent queued and in the kernel. A thread's trace is in use only
 * while a recording takes the operation's event, from {@link FileEvents}' {@code begin} to its
 * {@code commit}; the ring the thread asks adds to it on the same thread.
 *
 * <p>Each thread keeps one trace and one event object of each kind, reused from operation to
 * operation: an operation under the threshold (most of them, at the default 20 ms) then
 * allocates nothing, where a fresh event per operation cost about 140 bytes.
 */
public final class RequestTrace {
    private static final ThreadLocal<RequestTrace> CURRENT = ThreadLocal.withInitial(RequestTrace::new);

    /** The thread's event objects; a class of its own so that linking this one loads no event class. */
    final FileEventObjects events = new FileEventObjects();
    private boolean active;
    int ring;
    long queuedNanos;
    long kernelNanos;

    private RequestTrace() {}

    /** {@return the calling thread's trace, begun for an event of {@code kind}} */
    static RequestTrace begin(int kind) {
        RequestTrace trace = CURRENT.get();
        trace.ring = -1;
        trace.queuedNanos = 0;
        trace.kernelNanos = 0;
        trace.active = true;
        trace.events.begin(kind);
        return trace;
    }

    void end() {
        active = false;
        events.end();
    }

    /**
     * {@return the trace of the file operation the calling thread is running, or null} Null
     * without a thread-local lookup while no recording takes a file event, so a ring's
     * submitter pays one flag check per request.
     */
    public static RequestTrace current() {
        if (!FileEvents.anyEnabled()) {
            return null;
        }
        RequestTrace trace = CURRENT.get();
        return trace.active ? trace : null;
    }

    /**
     * Adds one ring request to the operation (a short fast-path read finished by a ring makes
     * one more; the last ring is kept).
     *
     * @param ringIndex   the ring that served it
     * @param queuedNanos from asking the ring to the request reaching the kernel
     * @param kernelNanos from reaching the kernel to the completion being reaped; 0 if it never
     *                    reached the kernel
     */
    public void ringRequest(int ringIndex, long queuedNanos, long kernelNanos) {
        this.ring = ringIndex;
        this.queuedNanos += Math.max(0, queuedNanos);
        this.kernelNanos += Math.max(0, kernelNanos);
    }
}
