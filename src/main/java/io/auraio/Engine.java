package io.auraio;

import io.auraio.internal.binding.IoUring;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.engine.RingConfig;
import java.util.Objects;

/**
 * A set of io_uring rings, each owned and driven by one dedicated platform poller thread, that
 * serves the requests of {@link AuraFile}s (the reference's {@code auraio_engine_t}).
 *
 * <p>Callers block in plain {@code read}/{@code write} calls: each request is handed to a ring's
 * poller, the calling thread (virtual or platform) parks on its own request, and the poller
 * unparks it when the kernel reports the result. A virtual thread therefore never holds its
 * carrier while the device works.
 *
 * <p>An engine is safe for use by any number of threads. It owns native memory and threads, so
 * close it when done; {@link AuraIO#defaultEngine()} is a shared engine for scripts that is never
 * closed.
 */
public final class Engine implements AutoCloseable {
    private final IoEngine core;
    private final Options options;
    private final boolean shared;

    private Engine(IoEngine core, Options options, boolean shared) {
        this.core = core;
        this.options = options;
        this.shared = shared;
    }

    /**
     * Creates an engine with the default {@link Options}: one ring per available processor.
     *
     * @return a new engine
     * @throws AuraIOException if io_uring cannot be used; the message names the cause (liburing
     *         missing, ring setup refused with EPERM, ENOMEM under a low memlock limit...) and
     *         {@link AuraIOException#errno()} carries the errno
     */
    public static Engine create() throws AuraIOException {
        return create(Options.defaults());
    }

    /**
     * Creates an engine.
     *
     * @param options the configuration
     * @return a new engine
     * @throws AuraIOException if io_uring cannot be used or a ring cannot be set up as asked
     *         (e.g. {@code enableSqpoll} refused by the kernel); the message names the cause
     */
    public static Engine create(Options options) throws AuraIOException {
        return create(options, false);
    }

    static Engine create(Options options, boolean shared) throws AuraIOException {
        Objects.requireNonNull(options, "options");
        int rings = options.ringCount() > 0 ? options.ringCount() : Runtime.getRuntime().availableProcessors();
        // Until the adaptive controller exists the gate admits a full queue depth, unless adaptive
        // tuning is disabled, where the reference holds the limit at initialInFlight.
        int limit = options.disableAdaptive() ? options.initialInFlight() : options.queueDepth();
        RingConfig config = new RingConfig(options.queueDepth(), limit, options.enableSqpoll(),
                options.sqpollIdleMs(), shared);
        IoEngine.Selection selection = IoEngine.Selection.valueOf(options.ringSelect().name());
        try {
            return new Engine(IoEngine.start(rings, config, selection, options.bufferAlignment()), options, shared);
        } catch (IoUring.SetupException e) {
            String what = options.enableSqpoll() ? "cannot set up an io_uring with SQPOLL (enableSqpoll): "
                    : "cannot set up an io_uring: ";
            throw new AuraIOException(what + e.getMessage(), e.errno(), e);
        } catch (LinkageError | IllegalArgumentException e) {
            throw new AuraIOException("io_uring is unavailable: liburing.so.2 cannot be loaded (" + e.getMessage()
                    + "); install liburing2", 38, e);
        }
    }

    /** {@return the options this engine was created with} */
    public Options options() {
        return options;
    }

    /** {@return the number of rings} */
    public int ringCount() {
        return core.ringCount();
    }

    /** {@return whether {@link #close()} has been called} */
    public boolean isClosed() {
        return core.isClosed();
    }

    IoEngine core() {
        return core;
    }

    /** Requests queued, in the kernel or completing, over all rings; for tests and stats. */
    int pendingCount() {
        return core.pendingCount();
    }

    /**
     * Shuts the engine down: new requests fail with {@link AuraIOException#isShutdown()}, queued
     * requests fail the same way, requests in the kernel are cancelled (or allowed to finish when
     * the kernel cannot cancel them), every thread parked on a request wakes with its result or an
     * exception, native memory is freed only after the kernel is done with it, and the poller
     * threads exit. Blocks until all of that is done. Idempotent and callable from any thread.
     *
     * @throws UnsupportedOperationException on the shared {@linkplain AuraIO#defaultEngine()
     *         default engine}, which other code may be using
     */
    @Override
    public void close() {
        if (shared) {
            throw new UnsupportedOperationException("the default engine is shared and cannot be closed");
        }
        core.close();
    }

    @Override
    public String toString() {
        return "Engine[rings=" + ringCount() + (isClosed() ? ", closed" : "") + "]";
    }
}
