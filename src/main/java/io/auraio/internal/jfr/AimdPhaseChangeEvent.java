package io.auraio.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** A ring's adaptive controller changed its phase or its in-flight limit. */
@Name("io.auraio.AimdPhaseChange")
@Label("AuraIO AIMD Change")
@Category({"AuraIO", "Ring"})
@Description("A ring's adaptive controller changed its phase or its in-flight limit")
@StackTrace(false)
final class AimdPhaseChangeEvent extends jdk.jfr.Event {
    @Label("Engine")
    String engine;

    @Label("Ring")
    int ring;

    @Label("Old Phase")
    String oldPhase;

    @Label("New Phase")
    String newPhase;

    @Label("Old In-Flight Limit")
    int oldLimit;

    @Label("New In-Flight Limit")
    int newLimit;
}
