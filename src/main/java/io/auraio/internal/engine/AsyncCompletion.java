package io.auraio.internal.engine;

/** Receives the result of a CALLBACK or FUTURE request: bytes transferred or a negated errno. */
@FunctionalInterface
public interface AsyncCompletion {
    void complete(long result);

    /**
     * Runs on the poller thread as soon as the kernel has completed a CALLBACK or FUTURE request,
     * before the request's memory goes back to the pool and before the
     * request stops being pending, so whatever the caller may look at once it is no longer
     * pending (the bytes of a read copied out of a bounce buffer) is in place by then; the
     * callback itself runs later, from the event loop.
     *
     * @param result the kernel's result
     * @return the result the callback is given
     */
    default long kernelDone(long result) {
        return result;
    }
}
