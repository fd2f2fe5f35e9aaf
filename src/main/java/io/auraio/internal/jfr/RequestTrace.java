package io.auraio.internal.jfr;

/**
 * What the ring requests of one traced file operation went through, for its event: the ring
 * that served it and the time spent queued and in the kernel. A trace exists only while a
 * recording takes the operation's event; the calling thread holds it from {@link FileEvents}'
 * {@code begin} to its {@code commit}, and the ring it asks adds to it on the same thread.
 */
public final class RequestTrace {
    private static final ThreadLocal<RequestTrace> CURRENT = new ThreadLocal<>();

    final jdk.jfr.Event event;
    int ring = -1;
    long queuedNanos;
    long kernelNanos;

    private RequestTrace(jdk.jfr.Event event) {
        this.event = event;
    }

    static RequestTrace begin(jdk.jfr.Event event) {
        RequestTrace trace = new RequestTrace(event);
        event.begin();
        CURRENT.set(trace);
        return trace;
    }

    void end() {
        CURRENT.remove();
        event.end();
    }

    /**
     * {@return the trace of the file operation the calling thread is running, or null} Null
     * without a thread-local lookup while no recording takes a file event, so a ring's
     * submitter pays one flag check per request.
     */
    public static RequestTrace current() {
        return FileEvents.anyEnabled() ? CURRENT.get() : null;
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
