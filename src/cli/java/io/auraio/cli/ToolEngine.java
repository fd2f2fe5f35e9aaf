package io.auraio.cli;

import io.auraio.AuraFile;
import io.auraio.AuraIO;
import io.auraio.AuraIOException;
import io.auraio.Backend;
import io.auraio.Engine;
import java.io.IOException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The engine the tools open their files on: one of their own, created on first use and closed by
 * {@link Auraio#main} before the JVM exits, rather than the default engine, which is never closed.
 * Why: at exit HotSpot waits up to 300 ms for threads that are inside a native call to leave it
 * ({@code VM_Exit::wait_for_threads_in_native_to_block}), and an open engine's poller threads sit
 * in {@code io_uring_enter}: measured as 250-320 ms added to every short run (an empty copy took
 * 0.33 s from {@code System.exit} to the end of the process, 0.05 s without an engine). Closed,
 * the pollers have left their native waits. Where io_uring cannot be used, files are opened as
 * {@link AuraFile#open(Path, OpenOption...)} opens them (the JDK backend). Thread-safe.
 */
final class ToolEngine {
    private static final Object LOCK = new Object();
    private static Engine engine;
    private static boolean closed;

    private ToolEngine() {}

    /**
     * {@return the tools' engine, created now if need be; null where the JDK backend serves} Not
     * through {@link AuraIO#backend()}, which decides by creating the default engine. As that
     * decision: {@code -Dauraio.backend=jdk} means none; where io_uring cannot be set up, none
     * (and the library's fallback serves, with its warning), unless {@code -Dauraio.backend=io_uring}
     * asked for it, when the failure is thrown.
     *
     * @throws AuraIOException if io_uring was asked for and cannot be set up, or for a passing
     *         shortage (file descriptors), which a later call may not meet
     */
    static Engine get() throws AuraIOException {
        synchronized (LOCK) {
            if (engine == null && !closed) {
                String requested = System.getProperty(AuraIO.BACKEND_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
                if (requested.equals("jdk")) {
                    return null;
                }
                try {
                    engine = Engine.create();
                } catch (AuraIOException e) {
                    if (requested.equals("auto") && AuraIO.backend() == Backend.JDK) {
                        return null; // io_uring cannot be used here: AuraFile.open falls back, and says why
                    }
                    throw e;
                }
            }
            return engine;
        }
    }

    /** Opens {@code path} on the tools' engine, or as {@link AuraFile#open(Path, OpenOption...)} without one. */
    static AuraFile open(Path path, OpenOption... options) throws IOException {
        Engine e = get();
        return e == null ? AuraFile.open(path, options) : AuraFile.open(e, path, options);
    }

    /** Closes the engine, if one was made; later {@link #get()} calls answer null. For the end of {@code main}. */
    static void close() {
        Engine e;
        synchronized (LOCK) {
            closed = true;
            e = engine;
            engine = null;
        }
        if (e != null) {
            e.close();
        }
    }
}
