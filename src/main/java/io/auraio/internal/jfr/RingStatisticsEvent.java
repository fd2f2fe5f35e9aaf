package io.auraio.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** Periodic: one event per ring of every open engine. */
@Name("io.auraio.RingStatistics")
@Label("AuraIO Ring Statistics")
@Category({"AuraIO", "Ring"})
@Description("What one io_uring ring did since the last event, and where its adaptive controller stands")
@Period("1 s")
@StackTrace(false)
final class RingStatisticsEvent extends jdk.jfr.Event {
    @Label("Engine")
    String engine;

    @Label("Ring")
    int ring;

    @Label("Operations")
    @Description("Requests completed by the ring since the last event")
    long operations;

    @Label("Bytes")
    @Description("Bytes transferred by the ring since the last event")
    @DataAmount
    long bytes;

    @Label("In Flight")
    @Description("Requests admitted and not yet released")
    int inFlight;

    @Label("In-Flight Limit")
    @Description("The admission gate's limit, set by the adaptive controller")
    int inFlightLimit;

    @Label("Waiting")
    @Description("Callers parked at the admission gate")
    int waiting;

    @Label("AIMD Phase")
    String phase;

    @Label("P99 Latency")
    @Description("P99 request latency of the controller's last window, 0 before one was measured")
    @Timespan(Timespan.NANOSECONDS)
    long p99Latency;

    @Label("Queue Depth")
    @Description("The ring's submission queue depth")
    int queueDepth;

    @Label("Batch Threshold")
    @Description("Submissions the poller gathers before it enters the kernel while requests keep arriving")
    int batchThreshold;
}
