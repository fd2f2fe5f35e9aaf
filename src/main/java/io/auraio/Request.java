package io.auraio;

import io.auraio.internal.engine.RequestHandle;

/**
 * A submitted callback request (the reference's {@code auraio_request_t}). Unlike the reference's
 * handle, a {@code Request} stays safe to use forever: after completion it reports not pending,
 * and {@link Engine#cancel(Request)} returns false. Thread-safe.
 */
public final class Request {
    private final Engine engine;
    private final int fd;
    private final Object attachment;
    private volatile RequestHandle handle;

    Request(Engine engine, int fd, Object attachment) {
        this.engine = engine;
        this.fd = fd;
        this.attachment = attachment;
    }

    void bind(RequestHandle handle) {
        this.handle = handle;
    }

    RequestHandle handle() {
        return handle;
    }

    Engine engine() {
        return engine;
    }

    /** {@return whether the request has not completed yet (the reference's {@code auraio_request_pending})} */
    public boolean isPending() {
        RequestHandle h = handle;
        return h != null && h.isPending();
    }

    /** {@return the file descriptor the request was submitted on (the reference's {@code auraio_request_fd})} */
    public int fd() {
        return fd;
    }

    /** {@return the object given at submission, or null (the reference's {@code user_data})} */
    public Object attachment() {
        return attachment;
    }

    @Override
    public String toString() {
        return "Request[fd=" + fd + (isPending() ? ", pending" : ", done") + "]";
    }
}
