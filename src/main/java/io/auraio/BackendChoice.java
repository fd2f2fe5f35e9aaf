package io.auraio;

import io.auraio.internal.engine.IoEngine;
import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The backend of this JVM, decided on first use (see {@link #decide()} for the exception) from {@value AuraIO#BACKEND_PROPERTY} and, by
 * default, from whether the default engine can be created. Logs the one warning a fallback gets.
 */
final class BackendChoice {
    /**
     * {@return the library's logger} Looked up when something is to be said, not in a static
     * field: its set-up (the logger finder, 3-5 ms) would be part of every first open otherwise.
     */
    private static System.Logger logger() {
        return System.getLogger("io.auraio");
    }

    /** The backend in use, once decided; null until then. */
    private static volatile Backend backend;
    /** Why {@link Backend#JDK} is in use, or null. */
    private static volatile String fallbackCause;

    private BackendChoice() {}

    /** {@return the backend in use} Decided on the first call, unless a transient failure prevents it. */
    static Backend backend() {
        Backend b = backend;
        return b != null ? b : decide();
    }

    /**
     * {@return the backend for one call that the JDK serves alike, such as {@link AuraFiles#readAllBytes}}
     * Once decided, the backend in use. Until then a platform thread does not wait for the default
     * engine's start (0.1-0.3 s in a fresh JVM, nearly all of it the JVM's first links of native
     * functions, where the JDK's first read of a small file takes 1-2 ms): the decision is made on a
     * daemon thread of its own and the JDK serves this call, whose answer is the one the library
     * gives. A virtual thread waits for the decision, as {@link #backend()} does: the JDK would hold
     * its carrier for the call. So does every thread where {@value AuraIO#BACKEND_PROPERTY} is set to
     * anything but {@code auto} ({@code jdk} decides at once), and every thread once the decision
     * failed on that daemon thread with something other than io_uring's refusal (the next call then
     * meets the failure itself).
     */
    static Backend backendForOneCall() {
        Backend b = backend;
        if (b != null) {
            return b;
        }
        if (Thread.currentThread().isVirtual() || decidingFailed || !"auto".equals(requested())) {
            return decide();
        }
        decideInBackground();
        return Backend.JDK;
    }

    /** Whether a daemon thread is deciding ({@link #decideInBackground}); false again once it ends. */
    private static final AtomicBoolean deciding = new AtomicBoolean();
    /** Whether that thread's decision failed with an exception: callers then decide themselves. */
    private static volatile boolean decidingFailed;

    /** Starts {@link #decide()} on a daemon thread unless one is at it. */
    private static void decideInBackground() {
        if (!deciding.compareAndSet(false, true)) {
            return;
        }
        try {
            Thread.ofPlatform().daemon().name("auraio-start").start(new BackgroundDecision());
        } catch (Throwable t) {
            // No thread to be had (OutOfMemoryError: the process's thread limit): the JDK serves
            // this call and the next one tries again.
            deciding.set(false);
        }
    }

    /**
     * {@link #decide()} on the daemon thread. A class, not a lambda: the JVM's first lambda spins
     * its bootstrap (~6 ms), on the caller that the JDK is meant to serve at once.
     */
    private static final class BackgroundDecision implements Runnable {
        @Override
        public void run() {
            try {
                decide(); // undecided after a transient failure: the next call starts another
            } catch (Throwable t) {
                decidingFailed = true;
            } finally {
                deciding.set(false);
            }
        }
    }

    private static String requested() {
        return System.getProperty(AuraIO.BACKEND_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    }

    /** {@return why {@link Backend#JDK} is in use, or null} */
    static String fallbackCause() {
        backend();
        return fallbackCause;
    }

    /**
     * Decides from the property and the default engine. When the engine cannot be created for want
     * of file descriptors (EMFILE, ENFILE) the JDK serves this call, and nothing is decided: the
     * next call tries io_uring again, so a moment without descriptors does not keep the JVM on the
     * JDK for good.
     */
    private static synchronized Backend decide() {
        if (backend != null) {
            return backend;
        }
        String requested = requested();
        Backend chosen;
        String cause = null;
        switch (requested) {
            case "jdk" -> {
                chosen = Backend.JDK;
                cause = "-D" + AuraIO.BACKEND_PROPERTY + "=jdk";
                // Asked for, so not worth a warning.
                logger().log(Level.DEBUG, "AuraIO uses the JDK's FileChannel: " + cause);
            }
            // Never fall back: open(Path) then fails with the default engine's exception.
            case "io_uring", "io-uring", "iouring" -> chosen = Backend.IO_URING;
            default -> {
                if (!requested.equals("auto")) {
                    logger().log(Level.WARNING, "ignoring -D" + AuraIO.BACKEND_PROPERTY + "=" + requested
                            + " (expected auto, io_uring or jdk)");
                }
                try {
                    AuraIO.defaultEngine();
                    chosen = Backend.IO_URING;
                } catch (AuraIOException e) {
                    if (IoEngine.isTransient(e.errno(), e.getCause())) {
                        logger().log(Level.DEBUG, "io_uring not set up for now, the JDK serves this file: "
                                + e.getMessage());
                        return Backend.JDK;
                    }
                    chosen = Backend.JDK;
                    cause = e.getMessage();
                    logger().log(Level.WARNING, "io_uring cannot be used, AuraFile, AuraFiles and the provider fall"
                            + " back to the JDK's FileChannel: " + cause + " (-D" + AuraIO.BACKEND_PROPERTY
                            + "=jdk chooses this without a warning, -D" + AuraIO.BACKEND_PROPERTY
                            + "=io_uring fails instead)");
                }
            }
        }
        fallbackCause = cause;
        backend = chosen;
        return chosen;
    }
}
