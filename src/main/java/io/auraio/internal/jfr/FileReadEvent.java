package io.auraio.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/** A read of an {@code AuraFile}: {@code jdk.FileRead}'s fields, and how AuraIO served it. */
@Name("io.auraio.FileRead")
@Label("AuraIO File Read")
@Category({"AuraIO", "File"})
@Description("Reading data from a file through AuraIO")
@StackTrace(true)
@Threshold("20 ms")
final class FileReadEvent extends jdk.jfr.Event {
    @Label("Path")
    @Description("Full path of the file, or null if it was opened without one")
    String path;

    @Label("Bytes Read")
    @Description("Number of bytes read from the file (possibly 0)")
    @DataAmount
    long bytesRead;

    @Label("End of File")
    @Description("If the read found no byte at its position: the end of the file")
    boolean endOfFile;

    @Label("Ring")
    @Description("Index of the io_uring ring that served the read, -1 if no ring did (page cache fast path)")
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
    @Description("If the calling thread read from the page cache itself (preadv2 RWF_NOWAIT), with no ring request")
    boolean pageCache;

    @Label("Direct I/O")
    @Description("If the file is open with O_DIRECT")
    boolean direct;
}
