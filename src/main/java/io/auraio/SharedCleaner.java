package io.auraio;

import io.auraio.internal.binding.Errno;
import java.lang.ref.Cleaner;

/**
 * The one {@link Cleaner} (a daemon thread, {@code auraio-cleaner}) that closes {@link AuraFile}s
 * and {@link AuraFileChannel}s found unreachable while open. Started by the first engine (or the
 * first channel of the JDK backend), not when a class is initialised: a thread start that fails
 * in a class's initialiser (the process at its thread limit: a container's pids limit, {@code
 * ulimit -u}) would leave that class unusable for the JVM's life (the OutOfMemoryError once,
 * then NoClassDefFoundError at every use); here the caller gets an {@link AuraIOException} and a
 * later call tries again. Thread-safe.
 */
final class SharedCleaner {
    private static volatile Cleaner cleaner;

    private SharedCleaner() {}

    /**
     * Starts the cleaner if it is not running yet.
     *
     * @throws AuraIOException (EAGAIN) if its thread cannot be started now
     */
    static void start() throws AuraIOException {
        if (cleaner != null) {
            return;
        }
        synchronized (SharedCleaner.class) {
            if (cleaner == null) {
                try {
                    cleaner = Cleaner.create(Thread.ofPlatform().daemon().name("auraio-cleaner").factory());
                } catch (OutOfMemoryError e) { // "unable to create native thread"
                    throw new AuraIOException("cannot start the thread that closes unreachable files (" + e.getMessage()
                            + "): the process may start no more threads now", Errno.EAGAIN, e);
                }
            }
        }
    }

    /** {@return the cleaner} Only once {@link #start()} has returned (an engine exists). */
    static Cleaner get() {
        Cleaner c = cleaner;
        if (c == null) {
            throw new IllegalStateException("the cleaner was not started"); // a bug: every engine starts it
        }
        return c;
    }
}
