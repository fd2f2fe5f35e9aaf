/**
 * Adaptive tuning of a ring: the AIMD controller that sets the ring's in-flight limit and submit
 * batch threshold, and the latency histogram it reads. Pure Java: no native code, no threads of its
 * own, and no wall clock (time is injected), so tests drive it tick by tick.
 *
 * <p>Not exported: the engine package owns one {@link io.auraio.internal.adaptive.AimdController}
 * per ring and feeds it from the ring's poller thread.
 */
package io.auraio.internal.adaptive;
