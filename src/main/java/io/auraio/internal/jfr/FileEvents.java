package io.auraio.internal.jfr;

/**
 * The file operations' entry points to {@code io.auraio.FileRead}, {@code FileWrite} and
 * {@code FileForce}. An operation calls {@code begin...} before it starts and, only if that
 * returned a trace, {@code commit...} when it ends (also when it failed, as the JDK's file events
 * do); with no recording taking the event, {@code begin...} is one flag check and returns null.
 */
public final class FileEvents {
    /**
     * Never committed: only asked isEnabled(), which JFR instruments to read the event's
     * setting. Loaded only once Flight Recorder is initialized ({@link JfrState}).
     */
    private static final class Probes {
        static final FileReadEvent READ = new FileReadEvent();
        static final FileWriteEvent WRITE = new FileWriteEvent();
        static final FileForceEvent FORCE = new FileForceEvent();
    }

    static final int READ = 0;
    static final int WRITE = 1;
    static final int FORCE = 2;

    private FileEvents() {}

    static boolean anyEnabled() {
        return JfrState.initialized
                && (Probes.READ.isEnabled() || Probes.WRITE.isEnabled() || Probes.FORCE.isEnabled());
    }

    /** {@return a trace for a read or write about to start, or null when no recording takes its event} */
    public static RequestTrace beginTransfer(boolean read) {
        if (!JfrState.initialized || (read ? !Probes.READ.isEnabled() : !Probes.WRITE.isEnabled())) {
            return null;
        }
        return RequestTrace.begin(read ? READ : WRITE);
    }

    /** {@return a trace for a force about to start, or null when no recording takes its event} */
    public static RequestTrace beginForce() {
        return JfrState.initialized && Probes.FORCE.isEnabled() ? RequestTrace.begin(FORCE) : null;
    }

    /**
     * Ends a read or write and commits its event if it lasted at least the threshold.
     *
     * @param trace     what {@link #beginTransfer} returned
     * @param path      the file
     * @param result    the bytes transferred, or a negative value if it failed
     * @param requested the bytes asked for
     * @param fastPathPossible whether the calling thread may have done it itself (the io_uring
     *                  backend: no ring request then means the page cache fast path served it)
     * @param direct    whether the file is open with O_DIRECT
     */
    public static void commitTransfer(RequestTrace trace, String path, long result, long requested,
                                      boolean fastPathPossible, boolean direct) {
        trace.end();
        trace.events.commitTransfer(trace, path, result, requested,
                fastPathPossible && trace.ring < 0 && result >= 0, direct);
    }

    /**
     * Ends a force and commits its event if it lasted at least the threshold.
     *
     * @param trace    what {@link #beginForce} returned
     * @param path     the file
     * @param metaData fsync (true) or fdatasync (false)
     */
    public static void commitForce(RequestTrace trace, String path, boolean metaData) {
        trace.end();
        trace.events.commitForce(trace, path, metaData);
    }
}
