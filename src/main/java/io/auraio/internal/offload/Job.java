package io.auraio.internal.offload;

/** Work for a pool thread: {@link #compute()} runs on it, then {@link #finish()} once it is listed idle again. */
interface Job {
    /** Does the work on the pool thread. */
    void compute();

    /** Publishes the outcome (wakes whoever waits for it). */
    void finish();
}
