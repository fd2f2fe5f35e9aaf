/**
 * The {@code io.auraio.*} JDK Flight Recorder events: one class per event, and the few entry
 * points through which the file operations, the rings' pollers and the engines report to them.
 *
 * <p>Nothing here costs anything while no recording takes these events: each entry point starts
 * with the event's {@code isEnabled()}, which JFR's instrumentation makes a field read, and
 * allocates nothing when it is false. The package depends on no other AuraIO package, so every
 * layer can report to it.
 */
package io.auraio.internal.jfr;
