package io.auraio.internal.jfr;

/**
 * One thread's file event objects, reused from operation to operation, and the code that fills
 * and commits them. Only this class (and the event classes) name the event types: it is loaded
 * when the first traced operation begins, that is once Flight Recorder is initialized, so that a
 * JVM that never records never loads an event class (see {@link JfrState}).
 */
final class FileEventObjects {
    private final FileReadEvent read = new FileReadEvent();
    private final FileWriteEvent write = new FileWriteEvent();
    private final FileForceEvent force = new FileForceEvent();
    private int kind;

    void begin(int eventKind) {
        kind = eventKind;
        switch (eventKind) {
            case FileEvents.READ -> read.begin();
            case FileEvents.WRITE -> write.begin();
            default -> force.begin();
        }
    }

    void end() {
        switch (kind) {
            case FileEvents.READ -> read.end();
            case FileEvents.WRITE -> write.end();
            default -> force.end();
        }
    }

    void commitTransfer(RequestTrace trace, String path, long result, long requested, boolean pageCache,
                        boolean direct) {
        if (kind == FileEvents.READ) {
            if (read.shouldCommit()) {
                read.path = path;
                read.bytesRead = Math.max(0, result);
                read.endOfFile = result == 0 && requested > 0;
                read.ring = trace.ring;
                read.queuedTime = trace.queuedNanos;
                read.kernelTime = trace.kernelNanos;
                read.pageCache = pageCache;
                read.direct = direct;
                read.commit();
            }
        } else if (write.shouldCommit()) {
            write.path = path;
            write.bytesWritten = Math.max(0, result);
            write.ring = trace.ring;
            write.queuedTime = trace.queuedNanos;
            write.kernelTime = trace.kernelNanos;
            write.pageCache = pageCache;
            write.direct = direct;
            write.commit();
        }
    }

    void commitForce(RequestTrace trace, String path, boolean metaData) {
        if (force.shouldCommit()) {
            force.path = path;
            force.metaData = metaData;
            force.ring = trace.ring;
            force.queuedTime = trace.queuedNanos;
            force.kernelTime = trace.kernelNanos;
            force.commit();
        }
    }
}
