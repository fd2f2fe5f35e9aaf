package io.auraio.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** The options of every open engine, at the start of each recording chunk and when an engine starts. */
@Name("io.auraio.EngineConfiguration")
@Label("AuraIO Engine Configuration")
@Category({"AuraIO", "Ring"})
@Description("The options an AuraIO engine was created with")
@Period("beginChunk")
@StackTrace(false)
final class EngineConfigurationEvent extends jdk.jfr.Event {
    @Label("Engine")
    String engine;

    @Label("Rings")
    int rings;

    @Label("Queue Depth")
    int queueDepth;

    @Label("Initial In-Flight Limit")
    int initialInFlight;

    @Label("Minimum In-Flight Limit")
    int minInFlight;

    @Label("P99 Latency Target")
    @Description("The P99 target the controller keeps under; 0: detected from the device")
    @Timespan(Timespan.NANOSECONDS)
    long targetP99Latency;

    @Label("Adaptive")
    boolean adaptive;

    @Label("SQPOLL")
    boolean sqpoll;

    @Label("Ring Selection")
    String ringSelect;

    @Label("Buffer Alignment")
    @DataAmount
    long bufferAlignment;
}
