package io.auraio;

import java.io.IOException;

/**
 * An I/O failure that carries the Linux errno it came from, with the reference's predicates.
 * Where the JDK has its own exception type for a condition ({@link java.nio.file.NoSuchFileException},
 * {@link java.nio.channels.ClosedChannelException}...), the library throws that type instead.
 */
public class AuraIOException extends IOException {
    private static final long serialVersionUID = 1L;

    /** {@code EINVAL}. */
    public static final int EINVAL = 22;
    /** {@code EAGAIN}. */
    public static final int EAGAIN = 11;
    /** {@code ESHUTDOWN}. */
    public static final int ESHUTDOWN = 108;
    /** {@code ECANCELED}. */
    public static final int ECANCELED = 125;
    /** {@code EBUSY}. */
    public static final int EBUSY = 16;
    /** {@code ENOENT}. */
    public static final int ENOENT = 2;

    private final int errno;

    /**
     * Creates an exception.
     *
     * @param message what failed and why, e.g. {@code "read: Input/output error"}
     * @param errno   the positive errno value
     */
    public AuraIOException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /**
     * Creates an exception with a cause.
     *
     * @param message what failed and why
     * @param errno   the positive errno value
     * @param cause   the underlying failure
     */
    public AuraIOException(String message, int errno, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** {@return the positive errno value, e.g. 5 for EIO} */
    public int errno() {
        return errno;
    }

    /** {@return whether this is EINVAL: an invalid argument} */
    public boolean isInvalid() {
        return errno == EINVAL;
    }

    /** {@return whether this is EAGAIN: the ring is at capacity, retry later} */
    public boolean isAgain() {
        return errno == EAGAIN;
    }

    /** {@return whether this is ESHUTDOWN: the engine is closing or closed} */
    public boolean isShutdown() {
        return errno == ESHUTDOWN;
    }

    /** {@return whether this is ECANCELED: the request was cancelled} */
    public boolean isCancelled() {
        return errno == ECANCELED;
    }

    /** {@return whether this is EBUSY: registered resources are being unregistered} */
    public boolean isBusy() {
        return errno == EBUSY;
    }

    /** {@return whether this is ENOENT: no such file, or no ring available} */
    public boolean isNotFound() {
        return errno == ENOENT;
    }
}
