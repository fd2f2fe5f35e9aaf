package io.auraio.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/** A {@code force} of an {@code AuraFile} (fsync or fdatasync): {@code jdk.FileForce}'s fields, and its ring. */
@Name("io.auraio.FileForce")
@Label("AuraIO File Force")
@Category({"AuraIO", "File"})
@Description("Force updates to be written to the file's storage device through AuraIO")
@StackTrace(true)
@Threshold("20 ms")
final class FileForceEvent extends jdk.jfr.Event {
    @Label("Path")
    @Description("Full path of the file, or null if it was opened without one")
    String path;

    @Label("Update Metadata")
    @Description("Whether the file metadata is updated (fsync) or not (fdatasync)")
    boolean metaData;

    @Label("Ring")
    @Description("Index of the io_uring ring that served the request, -1 if no ring did")
    int ring;

    @Label("Time Queued")
    @Description("Time between asking a ring and the request reaching the kernel: the admission gate and the poller's queue")
    @Timespan(Timespan.NANOSECONDS)
    long queuedTime;

    @Label("Time in Kernel")
    @Description("Time between the request reaching the kernel and its completion being reaped")
    @Timespan(Timespan.NANOSECONDS)
    long kernelTime;
}
