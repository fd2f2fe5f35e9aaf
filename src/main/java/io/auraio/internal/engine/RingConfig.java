package io.auraio.internal.engine;

/**
 * What one ring is built with, derived from the public options by the API layer.
 *
 * @param queueDepth    request slots of the ring, and the minimum SQ size
 * @param initialLimit  in-flight limit the admission gate starts with
 * @param sqpoll        whether to ask for a kernel submission-polling thread
 * @param sqpollIdleMs  idle time before that thread sleeps
 * @param daemon        whether the poller thread is a daemon thread
 */
public record RingConfig(int queueDepth, int initialLimit, boolean sqpoll, int sqpollIdleMs, boolean daemon) {}
