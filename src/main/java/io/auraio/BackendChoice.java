package io.auraio;

import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * The backend of this JVM, decided once on first use from {@value AuraIO#BACKEND_PROPERTY} and, by
 * default, from whether the default engine can be created. Logs the one warning a fallback gets.
 */
final class BackendChoice {
    static final System.Logger LOGGER = System.getLogger("io.auraio");

    /** The backend in use. */
    static final Backend BACKEND;
    /** Why {@link Backend#JDK} is in use, or null. */
    static final String FALLBACK_CAUSE;

    static {
        String requested = System.getProperty(AuraIO.BACKEND_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        Backend backend;
        String cause = null;
        switch (requested) {
            case "jdk" -> {
                backend = Backend.JDK;
                cause = "-D" + AuraIO.BACKEND_PROPERTY + "=jdk";
                // Asked for, so not worth a warning.
                LOGGER.log(Level.DEBUG, "AuraIO uses the JDK's FileChannel: " + cause);
            }
            // Never fall back: open(Path) then fails with the default engine's exception.
            case "io_uring", "io-uring", "iouring" -> backend = Backend.IO_URING;
            default -> {
                if (!requested.equals("auto")) {
                    LOGGER.log(Level.WARNING, "ignoring -D" + AuraIO.BACKEND_PROPERTY + "=" + requested
                            + " (expected auto, io_uring or jdk)");
                }
                try {
                    AuraIO.defaultEngine();
                    backend = Backend.IO_URING;
                } catch (AuraIOException e) {
                    backend = Backend.JDK;
                    cause = e.getMessage();
                    LOGGER.log(Level.WARNING, "io_uring cannot be used, AuraFile and AuraFiles fall back to the"
                            + " JDK's FileChannel: " + cause + " (-D" + AuraIO.BACKEND_PROPERTY
                            + "=jdk chooses this without a warning, -D" + AuraIO.BACKEND_PROPERTY
                            + "=io_uring fails instead)");
                }
            }
        }
        BACKEND = backend;
        FALLBACK_CAUSE = cause;
    }

    private BackendChoice() {}
}
