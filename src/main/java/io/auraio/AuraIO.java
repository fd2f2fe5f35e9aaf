package io.auraio;

import io.auraio.internal.binding.UringBinding;
import io.auraio.internal.engine.IoEngine;
import java.util.Optional;

/**
 * Library-wide entry points: version, availability, the shared default engine and the
 * {@linkplain #backend() backend} of files opened without an engine.
 *
 * <p><b>Binding.</b> The io_uring system calls go through liburing ({@code liburing.so.2}) where it is
 * installed, else through libc's {@code syscall(2)}: nothing needs to be installed for io_uring
 * (see {@link #binding()}).
 *
 * <p><b>Fallback.</b> Where io_uring cannot be used ({@code kernel.io_uring_disabled}, a seccomp
 * profile that refuses it, a kernel without io_uring, {@code ENOMEM} under the memlock limit), {@link
 * AuraFile#open(java.nio.file.Path, java.nio.file.OpenOption...)} and {@link AuraFiles} keep working on
 * the JDK's own {@link java.nio.channels.FileChannel}; the first use logs one warning naming the cause
 * ({@link System.Logger} {@code "io.auraio"}). {@link Engine#create()} and {@link #defaultEngine()}
 * never fall back: they throw an {@link AuraIOException} that names the cause. The system property
 * {@value #BACKEND_PROPERTY} chooses: {@code auto} (the default: io_uring if the default engine can
 * be created, else the JDK with a warning), {@code jdk} (always the JDK, no warning; for tests and for
 * systems known to lack io_uring) or {@code io_uring} (never fall back: opening without an engine
 * throws the default engine's exception). It is read once, on first use.
 */
public final class AuraIO {
    /** The system property that chooses the {@linkplain #backend() backend}: {@code auto}, {@code jdk} or {@code io_uring}. */
    public static final String BACKEND_PROPERTY = "auraio.backend";

    /**
     * The system property that chooses the {@linkplain #binding() binding}: {@code auto},
     * {@code liburing} or {@code syscall}.
     */
    public static final String BINDING_PROPERTY = UringBinding.PROPERTY;

    /** Major version (the reference's {@code AURAIO_VERSION_MAJOR}). */
    public static final int VERSION_MAJOR = 0;
    /** Minor version. */
    public static final int VERSION_MINOR = 1;
    /** Patch version. */
    public static final int VERSION_PATCH = 0;

    private AuraIO() {}

    /** {@return the version string, {@code "0.1.0"}} */
    public static String version() {
        return VERSION_MAJOR + "." + VERSION_MINOR + "." + VERSION_PATCH;
    }

    /** {@return the version as {@code major * 10000 + minor * 100 + patch}, e.g. 100} */
    public static int versionInt() {
        return VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH;
    }

    /** The answer of {@link IoEngine#probe()}, once it is one for good; null until then. */
    private static volatile IoEngine.Probe availability;

    /**
     * Probes once; a failure for want of file descriptors (EMFILE, ENFILE) is not the answer for
     * good: the next call probes again, once descriptors may have been freed.
     */
    private static IoEngine.Probe availability() {
        IoEngine.Probe p = availability;
        if (p == null) {
            p = IoEngine.probe();
            if (!p.isTransient()) {
                availability = p;
            }
        }
        return p;
    }

    /** {@return whether the io_uring binding loads and the kernel lets this process set up an io_uring} */
    public static boolean isAvailable() {
        return availability().cause() == null;
    }

    /** {@return why io_uring cannot be used, or empty when it can} */
    public static Optional<String> unavailabilityCause() {
        return Optional.ofNullable(availability().cause());
    }

    /**
     * Which binding makes the io_uring system calls ({@code io_uring_setup}, {@code io_uring_enter},
     * {@code io_uring_register}) in this JVM, chosen once, on first use, from the system property
     * {@value #BINDING_PROPERTY}:
     * <ul>
     * <li>{@code "liburing"}: liburing's wrappers, from {@code liburing.so.2} (package {@code liburing2},
     *     liburing 2.3 or later). With {@code auto} (the default) wherever that library loads; with
     *     {@code liburing} always, and where it cannot be loaded io_uring is then unavailable, the
     *     {@linkplain #unavailabilityCause() cause} saying why.</li>
     * <li>{@code "syscall"}: libc's {@code syscall(2)}, which needs nothing installed. With
     *     {@code auto} where liburing cannot be loaded; with {@code syscall} always.</li>
     * </ul>
     * Both make the same calls with the same results; everything else (ring memory, SQEs, CQEs)
     * is the library's own. The binding says nothing about whether the kernel lets this process
     * use io_uring: {@link #isAvailable()} and {@link #backend()} do.
     *
     * @return {@code "liburing"} or {@code "syscall"}
     */
    public static String binding() {
        return UringBinding.name();
    }

    /**
     * The backend serving files opened without an engine ({@link AuraFile#open(java.nio.file.Path,
     * java.nio.file.OpenOption...)}, {@link AuraFiles}), decided once per JVM on the first call of
     * this method or of those: {@link Backend#JDK} when {@value #BACKEND_PROPERTY} is {@code jdk} or
     * when the default engine cannot be created (that decision logs one warning naming the cause),
     * else {@link Backend#IO_URING}. Files opened on an explicit {@link Engine} always use io_uring.
     * A default engine that cannot be created for want of file descriptors (EMFILE, ENFILE)
     * decides nothing: this call answers {@link Backend#JDK}, and the next one tries again. A
     * platform thread's {@link AuraFiles} call does not wait for the decision: it starts it on a
     * daemon thread and is answered by {@code Files} meanwhile.
     *
     * @return the backend of this JVM
     */
    public static Backend backend() {
        return BackendChoice.backend();
    }

    /**
     * {@return why this JVM uses {@link Backend#JDK}: the default engine's failure, or the property
     * that asked for it; empty while it uses {@link Backend#IO_URING}}
     */
    public static Optional<String> fallbackCause() {
        return Optional.ofNullable(BackendChoice.fallbackCause());
    }

    private static final Object DEFAULT_ENGINE_LOCK = new Object();
    private static volatile Engine defaultEngine;
    /** Why the default engine cannot be created, for good; null while it may yet be. */
    private static AuraIOException defaultEngineFailure;

    /**
     * The shared engine for scripts and for {@link AuraFile#open(java.nio.file.Path,
     * java.nio.file.OpenOption...)}: created with the default options on first use, its poller
     * threads are daemon threads, and it is never closed.
     *
     * @return the default engine
     * @throws AuraIOException if io_uring cannot be used (the same exception on every call), or
     *         the process is out of file descriptors (EMFILE, ENFILE), at its thread limit
     *         (EAGAIN) or out of Java heap (ENOMEM caused by an OutOfMemoryError): that failure is
     *         not kept, and a later call tries again
     */
    public static Engine defaultEngine() throws AuraIOException {
        Engine engine = defaultEngine;
        if (engine != null) {
            return engine;
        }
        synchronized (DEFAULT_ENGINE_LOCK) {
            if (defaultEngine != null) {
                return defaultEngine;
            }
            AuraIOException e = defaultEngineFailure;
            if (e == null) {
                try {
                    defaultEngine = Engine.create(Options.defaults(), true);
                    return defaultEngine;
                } catch (AuraIOException failure) {
                    if (IoEngine.isTransient(failure.errno(), failure.getCause())) {
                        throw failure;
                    }
                    defaultEngineFailure = e = failure;
                }
            }
            throw new AuraIOException(e.getMessage(), e.errno(), e);
        }
    }
}
