package io.auraio;

import io.auraio.internal.engine.IoEngine;
import java.util.Optional;

/** Library-wide entry points: version, availability and the shared default engine. */
public final class AuraIO {
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

    private static final class Availability {
        static final String CAUSE = IoEngine.unavailabilityCause();
    }

    /** {@return whether liburing loads and the kernel lets this process set up an io_uring} */
    public static boolean isAvailable() {
        return Availability.CAUSE == null;
    }

    /** {@return why io_uring cannot be used, or empty when it can} */
    public static Optional<String> unavailabilityCause() {
        return Optional.ofNullable(Availability.CAUSE);
    }

    private static final class DefaultEngine {
        static final Engine ENGINE;
        static final AuraIOException FAILURE;

        static {
            Engine engine = null;
            AuraIOException failure = null;
            try {
                engine = Engine.create(Options.defaults(), true);
            } catch (AuraIOException e) {
                failure = e;
            }
            ENGINE = engine;
            FAILURE = failure;
        }
    }

    /**
     * The shared engine for scripts and for {@link AuraFile#open(java.nio.file.Path,
     * java.nio.file.OpenOption...)}: created with the default options on first use, its poller
     * threads are daemon threads, and it is never closed.
     *
     * @return the default engine
     * @throws AuraIOException if io_uring cannot be used (the same exception on every call)
     */
    public static Engine defaultEngine() throws AuraIOException {
        if (DefaultEngine.ENGINE == null) {
            AuraIOException e = DefaultEngine.FAILURE;
            throw new AuraIOException(e.getMessage(), e.errno(), e);
        }
        return DefaultEngine.ENGINE;
    }
}
