package io.auraio.internal.jfr;

/**
 * The file operations' entry points to {@code io.auraio.FileRead}, {@code FileWrite} and
 * {@code FileForce}. An operation calls {@code begin...} before it starts and, only if that
 * returned a trace, {@code commit...} when it ends (also when it failed, as the JDK's file events
 * do); with no recording taking the event, {@code begin...} is one flag check and returns null.
 */
public final class FileEvents {
    // Never committed: only asked isEnabled(), which JFR instruments to read the event's setting.
    private static final FileReadEvent READ_PROBE = new FileReadEvent();
    private static final FileWriteEvent WRITE_PROBE = new FileWriteEvent();
    private static final FileForceEvent FORCE_PROBE = new FileForceEvent();

    static final int READ = 0;
    static final int WRITE = 1;
    static final int FORCE = 2;

    private FileEvents() {}

    static boolean anyEnabled() {
        return READ_PROBE.isEnabled() || WRITE_PROBE.isEnabled() || FORCE_PROBE.isEnabled();
    }

    /** {@return a trace for a read or write about to start, or null when no recording takes its event} */
    public static RequestTrace beginTransfer(boolean read) {
        if (read ? !READ_PROBE.isEnabled() : !WRITE_PROBE.isEnabled()) {
            return null;
        }
        return RequestTrace.begin(read ? READ : WRITE);
    }

    /** {@return a trace for a force about to start, or null when no recording takes its event} */
    public static RequestTrace beginForce() {
        return FORCE_PROBE.isEnabled() ? RequestTrace.begin(FORCE) : null;
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
        boolean pageCache = fastPathPossible && trace.ring < 0 && result >= 0;
        if (trace.event instanceof FileReadEvent e) {
            if (e.shouldCommit()) {
                e.path = path;
                e.bytesRead = Math.max(0, result);
                e.endOfFile = result == 0 && requested > 0;
                e.ring = trace.ring;
                e.queuedTime = trace.queuedNanos;
                e.kernelTime = trace.kernelNanos;
                e.pageCache = pageCache;
                e.direct = direct;
                e.commit();
            }
        } else if (trace.event instanceof FileWriteEvent e && e.shouldCommit()) {
            e.path = path;
            e.bytesWritten = Math.max(0, result);
            e.ring = trace.ring;
            e.queuedTime = trace.queuedNanos;
            e.kernelTime = trace.kernelNanos;
            e.pageCache = pageCache;
            e.direct = direct;
            e.commit();
        }
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
        FileForceEvent e = (FileForceEvent) trace.event;
        if (e.shouldCommit()) {
            e.path = path;
            e.metaData = metaData;
            e.ring = trace.ring;
            e.queuedTime = trace.queuedNanos;
            e.kernelTime = trace.kernelNanos;
            e.commit();
        }
    }
}
