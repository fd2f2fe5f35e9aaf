package io.auraio;

/**
 * Receives the completion of a callback request (the reference's {@code auraio_callback_t}).
 *
 * <p>Runs on a thread that calls {@link Engine#poll()}, {@link Engine#await(long)},
 * {@link Engine#run()} or {@link Engine#drain(long)} (or {@link Engine#close()} for requests that
 * complete while the engine shuts down), never on a poller thread, and exactly once per request.
 * It may submit more I/O; it must not call {@code poll}, {@code await}, {@code run},
 * {@code drain} or {@code close} (those throw {@link IllegalStateException} there). An exception
 * it throws propagates out of the {@code poll}-family call that ran it; later completions stay
 * queued for the next call.
 *
 * <p>It may also make blocking calls ({@link AuraFile} reads and writes, {@code size()},
 * {@code open}, {@code close}): they are served by the pollers as from any other thread and never
 * wait for callbacks to run, so they complete even while every request slot of the ring is held
 * by completions still queued behind this callback. They block the thread running callbacks
 * meanwhile, so the callbacks queued behind it wait that long.
 */
@FunctionalInterface
public interface Callback {
    /**
     * Handles one completion.
     *
     * @param request the request; {@link Request#isPending()} is already false
     * @param result  bytes transferred (reads, writes) or 0 (fsync), or a negated errno:
     *                {@code -125} (ECANCELED) when cancelled, {@code -108} (ESHUTDOWN) when the
     *                engine closed before the request reached the kernel
     */
    void completed(Request request, long result);
}
