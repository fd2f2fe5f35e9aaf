package io.auraio.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/** A write of an {@code AuraFile}: {@code jdk.FileWrite}'s fields, and how AuraIO served it. */
@Name("io.auraio.FileWrite")
@Label("AuraIO File Write")
@Category({"AuraIO", "File"})
@Description("Writing data to a file through AuraIO")
@StackTrace(true)
@Threshold("20 ms")
final class FileWriteEvent extends jdk.jfr.Event {
    @Label("Path")
    @Description("Full path of the file, or null if it was opened without one")
    String path;

    @Label("Bytes Written")
    @Description("Number of bytes written to the file")
    @DataAmount
    long bytesWritten;

    @Label("Ring")
    @Description("Index of the io_uring ring that served the write, -1 if no ring did (page cache fast path)")
    int ring;

    @Label("Time Queued")
    @Description("Time between asking a ring and the request reaching the kernel: the admission gate and the poller's queue")
    @Timespan(Timespan.NANOSECONDS)
    long queuedTime;

    @Label("Time in Kernel")
    @Description("Time between the request reaching the kernel and its completion being reaped")
    @Timespan(Timespan.NANOSECONDS)
    long kernelTime;

    @Label("Page Cache Fast Path")
    @Description("If the calling thread wrote into the page cache itself (pwritev2), with no ring request")
    boolean pageCache;

    @Label("Direct I/O")
    @Description("If the file is open with O_DIRECT")
    boolean direct;
}
