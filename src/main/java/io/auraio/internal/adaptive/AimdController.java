package io.auraio.internal.adaptive;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The adaptive controller of one ring: sets the ring's in-flight limit (outer loop, AIMD) and its
 * submit batch threshold (inner loop) from the completions it is shown.
 *
 * <h2>Cycle</h2>
 * The reference's phases ({@link Phase}), evaluated on windows of at least
 * {@value #MIN_SAMPLES} completions or 100 ms, whichever comes first:
 * {@code BASELINE} (measure at the initial limit) -&gt; {@code PROBING} (find the knee, see
 * {@code KneeProbe}) -&gt; {@code SETTLING} (10 evaluations) -&gt; {@code STEADY} -&gt;
 * {@code CONVERGED} after 500 evaluations. P99 above the target for 2 evaluations in a row (5 once
 * converged) cuts the limit by 0.8, floored at the minimum ({@code BACKOFF}), then
 * {@code SETTLING}, then a new probe. The target is the user's, or 10 times the smallest
 * uncongested P99 under demand of the last 50 evaluations, at least 1 ms (10 ms until one is
 * measured).
 *
 * <h2>What differs from the reference, and why</h2>
 * <ul>
 * <li>Passthrough: the limit only moves while demand reaches it (callers wait at the gate, or
 *     every slot is in use, as reported by {@link #observePending}); growing a limit nobody
 *     reaches measures nothing, and cutting one nobody reaches helps nobody. A page-cache workload
 *     that never fills the limit leaves the controller in {@code BASELINE} with the limit
 *     untouched; probing starts only after demand reached the limit for 3 evaluations running.</li>
 * <li>The throughput test of a probe step is relative (elasticity, see {@code KneeProbe}), and a
 *     probe also walks down when the start is past the knee: extra slots past the knee add only
 *     queueing latency.</li>
 * <li>A cut is 0.8 times what was really in flight (if less than the limit), as TCP bases its
 *     cut on the data in flight rather than on an unused window.</li>
 * <li>Under the detected target a cut is a trial. The target is an estimate of what congestion
 *     looks like, and a P99 over it may come from the CPU rather than the device: on a busy
 *     machine the poller reaps late, a delay that does not depend on what is in flight, and the
 *     reference's rule then cuts again and again, down to the minimum (measured: 64 to 4 per ring
 *     beside two busy processes, 0.48x FileChannel's IOPS). A queue's latency falls with what is
 *     in it, so after {@value #CUT_TRIAL_WINDOWS} measured windows the cut is judged: unless the
 *     mean latency fell to {@value #CUT_PAYS_FACTOR} of the mean that triggered it, the limit is
 *     restored and, for {@value #UNRESPONSIVE_EVALS} evaluations, a P99 up to
 *     {@value #UNRESPONSIVE_MARGIN} times the level seen is not read as congestion. One cut at a
 *     time: no further cut before the last one is judged. A user's target is a requirement, not
 *     an estimate, and is obeyed as the reference does.</li>
 * <li>{@code CONVERGED} still backs off on a lasting latency rise. {@code STEADY} and
 *     {@code CONVERGED} re-probe when P99 stays at under half or over twice its settled value
 *     (the device got faster, or lost parallelism without crossing the target), and
 *     {@code CONVERGED} re-probes every 3000 evaluations (the device may scale further now, which
 *     nothing at the current limit shows); a backoff is followed by a re-probe once it has
 *     settled.</li>
 * <li>Only windows in which demand reached the limit feed the baseline: an idle ring's P99 (one
 *     request at a time, no queue) is far below what the device gives at any useful depth, and a
 *     target derived from it would cut a loaded ring below its knee after every idle gap.
 *     Congested P99 values (above target, unless the limit is already at the minimum, or
 *     measured right after a cut) are kept out too; the baseline forgets old values by age,
 *     so a device that became slower for good raises the automatic target instead of pinning the
 *     ring at the minimum.</li>
 * <li>Windows of fewer than 100 samples use P95: their P99 is just their largest sample.</li>
 * <li>The batch threshold grows only while demand reaches the limit and stays under half the
 *     limit, so batching never holds requests back from an idle device (see {@code BatchTuner}).</li>
 * <li>Time is only ever compared: a clock step back restarts the window (negative elapsed counts
 *     as none), and a window longer than 1 s (no ticks for a while) updates the stats but is not
 *     used to judge a probe step.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * {@link #recordCompletion}, {@link #recordSubmitBatch}, {@link #observePending} and {@link #tick}
 * are for one thread at a time (they keep plain state): the ring's poller, or a caller holding the
 * ring's submission lock (caller-side submits and reaps). Every other method may be called
 * from any thread: the outputs are volatile fields written at a tick, the histogram and the
 * transition log are safe to read concurrently. The controller has no thread of its own and reads
 * time only through the clock it is given.
 */
public final class AimdController {
    /** Samples a window needs before its latency is judged. */
    public static final int MIN_SAMPLES = 20;
    /** Below this many samples a window's "P99" is its P95. */
    static final int P99_MIN_SAMPLES = 100;
    /** A window closes at a tick once it is this old and has {@link #MIN_SAMPLES}... */
    static final long MIN_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    /** ...or once it is this old, whatever it holds. */
    static final long MAX_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** A window longer than this (ticks stopped for a while) is not used to judge a probe step. */
    static final long STALE_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);

    static final int BASELINE_EVALS = 10;
    static final int PRESSURE_EVALS = 3;
    static final int SPIKE_EVALS = 2;
    static final int CONVERGED_SPIKE_EVALS = 5;
    static final int SETTLING_EVALS = 10;
    static final int CONVERGE_EVALS = 500;
    static final int REPROBE_EVALS = 3000;
    static final int SHIFTED_EVALS = 3;
    static final double BACKOFF_FACTOR = 0.8;
    /**
     * A cut under the detected target pays when the mean latency after it is at most this
     * fraction of the mean that triggered it: half of what a cut of {@link #BACKOFF_FACTOR}
     * gives a queue whose latency is proportional to what is in it.
     */
    static final double CUT_PAYS_FACTOR = 0.9;
    /** Measured windows after a cut (the straddling one excluded) before it is judged. */
    static final int CUT_TRIAL_WINDOWS = 3;
    /** How long a P99 level a cut was shown not to help is not read as congestion. */
    static final int UNRESPONSIVE_EVALS = 300;
    /** A P99 this many times above that level is judged again. */
    static final double UNRESPONSIVE_MARGIN = 1.5;

    static final int AUTO_TARGET_MULTIPLIER = 10;
    /** A window feeds the baseline only if the device held at least this share of the limit. */
    static final int DEVICE_AT_LIMIT_PERCENT = 75;
    static final long AUTO_TARGET_FLOOR_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long DEFAULT_TARGET_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    static final int BASELINE_WINDOW_EVALS = 50;

    /** Phase transitions kept for {@link #transitions()}; older ones are dropped. */
    public static final int TRANSITION_LOG_CAPACITY = 256;

    /**
     * One phase change, for a trajectory.
     *
     * @param timeNanos     when it happened, on the controller's clock
     * @param from          the phase left
     * @param to            the phase entered
     * @param inFlightLimit the in-flight limit once the change was made
     */
    public record Transition(long timeNanos, Phase from, Phase to, int inFlightLimit) {}

    /** The floor in force; poller thread only (a new one arrives through {@link #requestedMin}). */
    private int minInFlight;
    private final int maxInFlight;
    /** The user's P99 target, 0 for detected; any thread may set it ({@link #setTargetP99Nanos}). */
    private volatile long userTargetNanos;
    /** The floor asked for by {@link #setMinInFlight}, applied at the next tick. */
    private volatile int requestedMin;
    /** A batch threshold set by {@link #setBatchThreshold}, 0 while the tuner decides. */
    private volatile int pinnedBatch;
    private final boolean adaptive;
    private final LongSupplier clock;
    private final LatencyHistogram histogram;
    private final BaselineWindow baseline = new BaselineWindow(BASELINE_WINDOW_EVALS);
    private final BatchTuner batch = new BatchTuner();
    private final KneeProbe probe;
    /**
     * Replaced, never changed, by the poller at each transition (rare): readers take it without a
     * lock, which the poller would otherwise share with them (docs/design.md, "Locks the poller
     * shares with virtual threads").
     */
    private volatile List<Transition> log = List.of();

    // Outputs: written by the poller at a tick, read by anyone.
    private volatile int limit;
    private volatile int batchThreshold = BatchTuner.MIN;
    private volatile Phase phase = Phase.BASELINE;
    private volatile long p99Nanos = -1;
    private volatile double throughput;
    private volatile long targetNanos;
    private volatile long evaluations;

    // Poller-thread state: the open window.
    /** When the open window began; volatile for {@link #throughputBytesPerSecond()}, read on any thread. */
    private volatile long windowStart;
    private boolean windowTimed = true;
    private long windowOps;
    private long windowBytes;
    private long windowLatencyNanos;
    private int observations;
    private int pressuredObservations;
    private int peakInFlight;
    private long inDeviceSum;

    // Poller-thread state: the state machine.
    private int phaseEvals;
    private int spikeStreak;
    private int pressureStreak;
    private int shiftedStreak;
    private boolean settlingAfterBackoff;
    private long settlingMinP99 = Long.MAX_VALUE;
    private long settledP99 = -1;
    private long autoTargetNanos = DEFAULT_TARGET_NANOS;

    // Poller-thread state: the trial of the last cut under the detected target.
    private long streakLatencySum;
    private long streakOps;
    private boolean cutOnTrial;
    private int cutFromLimit;
    private long cutTriggerMeanNanos;
    private long cutTriggerP99Nanos;
    private long trialLatencySum;
    private long trialOps;
    private int trialWindows;
    private long trialMaxP99Nanos;
    /** A P99 level that a cut did not lower: not congestion, until {@link #unresponsiveUntil}. */
    private long unresponsiveP99Nanos = -1;
    private long unresponsiveUntil;

    /**
     * Creates the controller of one ring.
     *
     * @param initialInFlight limit to start with; clamped into [{@code minInFlight},
     *                        {@code maxInFlight}] (into [1, {@code maxInFlight}] when adaptive
     *                        tuning is disabled: the limit is then held there)
     * @param minInFlight     floor of the limit; clamped into [1, {@code maxInFlight}]
     * @param maxInFlight     ceiling of the limit: the ring's queue depth
     * @param targetP99Nanos  P99 latency to keep under, in nanoseconds; 0 to detect it
     * @param disableAdaptive true to hold the limit at {@code initialInFlight}, keep the phase at
     *                        {@link Phase#BASELINE} and let the histogram accumulate forever
     * @param nanoTime        the clock, in nanoseconds ({@code System::nanoTime} in production);
     *                        only differences are used, and it may step back
     * @throws IllegalArgumentException if {@code maxInFlight < 1} or {@code targetP99Nanos < 0}
     * @throws NullPointerException     if {@code nanoTime} is null
     */
    public AimdController(int initialInFlight, int minInFlight, int maxInFlight, long targetP99Nanos,
                          boolean disableAdaptive, LongSupplier nanoTime) {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be at least 1, was " + maxInFlight);
        }
        if (targetP99Nanos < 0) {
            throw new IllegalArgumentException("targetP99Nanos must be 0 (auto) or positive, was " + targetP99Nanos);
        }
        this.clock = Objects.requireNonNull(nanoTime, "nanoTime");
        this.maxInFlight = maxInFlight;
        this.minInFlight = Math.clamp(minInFlight, 1, maxInFlight);
        this.requestedMin = this.minInFlight;
        this.userTargetNanos = targetP99Nanos;
        this.adaptive = !disableAdaptive;
        this.limit = Math.clamp(initialInFlight, adaptive ? this.minInFlight : 1, maxInFlight);
        this.histogram = new LatencyHistogram(disableAdaptive);
        this.probe = new KneeProbe(this.minInFlight, maxInFlight);
        this.targetNanos = targetP99Nanos > 0 ? targetP99Nanos : adaptive ? DEFAULT_TARGET_NANOS : 0;
        this.windowStart = nanoTime.getAsLong();
    }

    // ---- inputs: the ring's poller thread only --------------------------------------------

    /**
     * Records one completed operation. A few nanoseconds, allocation-free. Poller thread only.
     *
     * @param latencyNanos submit-to-completion time; negative (a clock step) counts as 0
     * @param bytes        bytes transferred (0 for operations that move none, negative ignored)
     */
    public void recordCompletion(long latencyNanos, long bytes) {
        histogram.record(latencyNanos);
        windowOps++;
        windowLatencyNanos += Math.max(0, latencyNanos);
        if (bytes > 0) {
            windowBytes += bytes;
        }
    }

    /**
     * Records one submit call to the kernel. Poller thread only.
     *
     * @param sqesInThisSubmit SQEs that call handed to the kernel
     */
    public void recordSubmitBatch(int sqesInThisSubmit) {
        if (adaptive) {
            batch.record(sqesInThisSubmit);
        }
    }

    /**
     * Reports the ring's demand and what of it is in the device; call just before each
     * {@link #tick()}. Poller thread only. Without these reports the controller never sees demand
     * reach the limit and stays in passthrough. Slots in use and requests in the device differ
     * where the engine holds a slot from admission to the caller's return: a request that
     * completed but whose caller has not run yet (the CPU is busy, the JIT is still compiling)
     * holds its slot while the device has nothing of it. Only windows in which the device itself
     * held at least {@value #DEVICE_AT_LIMIT_PERCENT}% of the limit feed the baseline the detected
     * target is made from: a P99 of a device given fewer requests than the limit is not what it
     * gives at the limit.
     *
     * @param inFlight slots in use (admitted requests not yet released)
     * @param waiting  callers parked at the admission gate
     * @param inDevice of those, requests in the kernel that count against the limit
     */
    public void observePending(int inFlight, int waiting, int inDevice) {
        observations++;
        if (waiting > 0 || (long) inFlight + waiting >= limit) {
            pressuredObservations++;
        }
        peakInFlight = Math.max(peakInFlight, inFlight);
        inDeviceSum += Math.max(0, inDevice);
    }

    /**
     * Closes the current window if it is due and acts on it. Meant to be called every 10 ms or
     * so, but any cadence works: early ticks are no-ops, late ones close a longer window, a clock
     * that stepped back restarts the window. Poller thread only.
     */
    public void tick() {
        applyRequestedMin();
        long now = clock.getAsLong();
        long elapsed = now - windowStart;
        if (elapsed < 0) {
            // The clock stepped back: the window's length is unknown. Keep its samples, restart its timing.
            windowStart = now;
            windowTimed = false;
            return;
        }
        if (elapsed < MAX_WINDOW_NANOS && (elapsed < MIN_WINDOW_NANOS || windowOps < MIN_SAMPLES)) {
            return;
        }
        long ops = windowOps;
        long bytes = windowBytes;
        long latencySum = windowLatencyNanos;
        boolean timed = windowTimed;
        windowOps = 0;
        windowBytes = 0;
        windowLatencyNanos = 0;
        windowTimed = true;
        windowStart = now;
        if (timed) {
            throughput = bytes * 1e9 / elapsed;
        }
        if (adaptive) {
            evaluate(now, ops, bytes, latencySum, elapsed, timed && elapsed <= STALE_WINDOW_NANOS);
        }
        evaluations++;
    }

    private void evaluate(long now, long ops, long bytes, long latencySum, long elapsed, boolean timed) {
        histogram.rotateWindow();
        long samples = histogram.lastWindowCount();
        boolean measured = samples >= MIN_SAMPLES;
        long p99 = measured ? histogram.lastWindowPercentileNanos(samples < P99_MIN_SAMPLES ? 0.95 : 0.99) : -1;
        if (measured) {
            p99Nanos = p99;
        }
        boolean pressured = pressuredObservations * 2 > observations;
        int peak = peakInFlight;
        int current = limit;
        boolean deviceAtLimit = observations > 0
                && inDeviceSum * 100 >= (long) observations * current * DEVICE_AT_LIMIT_PERCENT;
        observations = 0;
        pressuredObservations = 0;
        peakInFlight = 0;
        inDeviceSum = 0;
        // Cutting only helps if the limit is what holds the ring back.
        boolean canCut = current > minInFlight && (pressured || peak * 2 >= current);

        boolean autoTarget = userTargetNanos == 0;
        // Under the detected target, a P99 level a cut was shown not to lower (the CPU, not the
        // device, delayed the completions) is not congestion for a while; see backoff and undoCut.
        boolean knownUnresponsive = autoTarget && evaluations < unresponsiveUntil
                && p99 <= UNRESPONSIVE_MARGIN * unresponsiveP99Nanos;
        boolean spike = measured && p99 > targetNanos && !knownUnresponsive;
        // The baseline is the latency under demand: a window whose requests met no queue of their
        // own (an idle gap, one caller) shows a P99 the ring never gives at the limit, and 10x
        // that would cut a loaded ring far below its knee. Demand is not enough: slots held by
        // callers that have not run yet (a cold JIT, a busy CPU) are demand the device never saw.
        // Measured (256 O_DIRECT readers, 2 cores, a JVM's first second): P99s of 131-200 us so
        // taken gave a target of 1.3-2 ms, under the 2-3 ms this device gives at the limit, and
        // the cuts took the ring to 8-25 in flight, 0.73x FileChannel's IOPS.
        boolean clean = measured && pressured && deviceAtLimit && phase != Phase.BACKOFF
                && (!spike || current <= minInFlight || peak <= minInFlight);
        baseline.add(p99, clean);
        if (userTargetNanos == 0) {
            long floor = baseline.min();
            if (floor > 0) {
                autoTargetNanos = Math.max(AUTO_TARGET_FLOOR_NANOS, floor * AUTO_TARGET_MULTIPLIER);
            }
            targetNanos = autoTargetNanos;
        }
        spikeStreak = spike ? spikeStreak + 1 : 0;
        if (spike) {
            streakLatencySum += latencySum;
            streakOps += ops;
        } else {
            streakLatencySum = 0;
            streakOps = 0;
        }
        pressureStreak = pressured ? pressureStreak + 1 : 0;
        int tuned = batch.update(pressured, current);
        int pinned = pinnedBatch;
        batchThreshold = pinned > 0 ? pinned : tuned;
        phaseEvals++;

        switch (phase) {
            case BASELINE -> {
                if (spikeStreak >= SPIKE_EVALS && canCut) {
                    backoff(peak, p99, now);
                } else if (phaseEvals >= BASELINE_EVALS && pressureStreak >= PRESSURE_EVALS && canProbe()) {
                    startProbe(now);
                }
            }
            case PROBING -> {
                if (spikeStreak >= SPIKE_EVALS && !probe.steppedUp() && canCut) {
                    backoff(peak, p99, now);
                } else {
                    setLimit(probe.onWindow(ops, bytes, elapsed, latencySum, timed, pressured, spike));
                    if (probe.finished()) {
                        settlingAfterBackoff = false;
                        enter(Phase.SETTLING, now);
                    }
                }
            }
            case BACKOFF -> {
                // This window straddled the cut: requests admitted under the old limit were still
                // completing. Judge the new limit from the next windows on.
                settlingAfterBackoff = true;
                spikeStreak = 0;
                enter(Phase.SETTLING, now);
            }
            case SETTLING -> {
                if (measured) {
                    settlingMinP99 = Math.min(settlingMinP99, p99);
                }
                if (cutOnTrial) {
                    if (measured) {
                        trialLatencySum += latencySum;
                        trialOps += ops;
                        trialWindows++;
                        trialMaxP99Nanos = Math.max(trialMaxP99Nanos, p99);
                    }
                    boolean due = spikeStreak >= SPIKE_EVALS || phaseEvals >= SETTLING_EVALS;
                    if (trialWindows >= CUT_TRIAL_WINDOWS && due) {
                        cutOnTrial = false;
                        if (trialLatencySum > CUT_PAYS_FACTOR * cutTriggerMeanNanos * trialOps) {
                            undoCut(now);
                            return;
                        }
                    } else if (phaseEvals >= SETTLING_EVALS) {
                        cutOnTrial = false; // too few measured windows to judge it: the cut stands
                    } else {
                        return; // one cut at a time: no further cut before this one is judged
                    }
                }
                if (spikeStreak >= SPIKE_EVALS && canCut) {
                    backoff(peak, p99, now);
                } else if (phaseEvals >= SETTLING_EVALS) {
                    settledP99 = settlingMinP99 != Long.MAX_VALUE ? settlingMinP99 : p99Nanos;
                    if (settlingAfterBackoff && pressured && !spike && canProbe()) {
                        startProbe(now);
                    } else {
                        enter(Phase.STEADY, now);
                    }
                }
            }
            case STEADY, CONVERGED -> {
                boolean converged = phase == Phase.CONVERGED;
                // P99 at half or twice its settled value while the limit is unchanged: the device
                // changed (faster, or fewer channels), so the knee has probably moved.
                boolean shifted = measured && settledP99 > 0 && (p99 * 2 < settledP99 || p99 > 2 * settledP99);
                shiftedStreak = shifted ? shiftedStreak + 1 : 0;
                boolean reprobe = shiftedStreak >= SHIFTED_EVALS || (converged && phaseEvals >= REPROBE_EVALS);
                if (spikeStreak >= (converged ? CONVERGED_SPIKE_EVALS : SPIKE_EVALS) && canCut) {
                    backoff(peak, p99, now);
                } else if (reprobe && pressureStreak >= PRESSURE_EVALS && !spike && canProbe()) {
                    startProbe(now);
                } else if (!converged && phaseEvals >= CONVERGE_EVALS) {
                    enter(Phase.CONVERGED, now);
                }
            }
        }
    }

    private boolean canProbe() {
        return minInFlight < maxInFlight;
    }

    private void startProbe(long now) {
        probe.begin(limit);
        shiftedStreak = 0;
        enter(Phase.PROBING, now);
    }

    private void backoff(int peakInFlight, long p99, long now) {
        int current = limit;
        int base = Math.min(current, Math.max(peakInFlight, minInFlight));
        int cut = (int) (base * BACKOFF_FACTOR);
        if (userTargetNanos == 0 && streakOps > 0) {
            // Under the detected target a cut is a trial: the target is only an estimate of what
            // congestion looks like (10x the uncongested P99), and a P99 over it may come from the
            // CPU (a busy machine delays the poller's reaping; that latency does not depend on
            // what is in flight). A queue's latency falls with what is in it: if the mean
            // latency does not fall after the cut, the cut only cost throughput, and it is undone.
            // A user's target is a requirement, not an estimate: it is obeyed whatever the cause.
            cutOnTrial = true;
            cutFromLimit = current;
            cutTriggerMeanNanos = streakLatencySum / streakOps;
            cutTriggerP99Nanos = p99;
            trialLatencySum = 0;
            trialOps = 0;
            trialWindows = 0;
            trialMaxP99Nanos = 0;
        }
        setLimit(Math.min(cut, current - 1));
        enter(Phase.BACKOFF, now);
    }

    /**
     * The last cut did not lower the mean latency: restores the limit it cut, and for
     * {@value #UNRESPONSIVE_EVALS} evaluations reads a P99 up to {@value #UNRESPONSIVE_MARGIN}
     * times the level seen as not congestion.
     */
    private void undoCut(long now) {
        unresponsiveP99Nanos = Math.max(cutTriggerP99Nanos, trialMaxP99Nanos);
        unresponsiveUntil = evaluations + UNRESPONSIVE_EVALS;
        spikeStreak = 0;
        streakLatencySum = 0;
        streakOps = 0;
        settlingAfterBackoff = false;
        settledP99 = settlingMinP99 != Long.MAX_VALUE ? settlingMinP99 : p99Nanos;
        setLimit(cutFromLimit);
        enter(Phase.STEADY, now);
    }

    private void setLimit(int newLimit) {
        limit = Math.clamp(newLimit, minInFlight, maxInFlight);
    }

    private void enter(Phase next, long now) {
        Phase from = phase;
        phaseEvals = 0;
        if (next == Phase.SETTLING) {
            settlingMinP99 = Long.MAX_VALUE;
        }
        phase = next;
        log = appended(log, new Transition(now, from, next, limit));
    }

    /** {@return {@code log} and then {@code t}: the last {@value #TRANSITION_LOG_CAPACITY} of them, a new list} */
    static List<Transition> appended(List<Transition> log, Transition t) {
        ArrayList<Transition> after = new ArrayList<>(log.subList(
                Math.max(0, log.size() - (TRANSITION_LOG_CAPACITY - 1)), log.size()));
        after.add(t);
        return List.copyOf(after);
    }

    private void applyRequestedMin() {
        int requested = requestedMin;
        if (requested != minInFlight) {
            minInFlight = requested;
            probe.setMin(requested);
            if (adaptive) {
                setLimit(limit);
            }
        }
    }

    // ---- runtime settings: any thread ------------------------------------------------------

    /**
     * Sets the P99 target the controller keeps under, from now on. Any thread.
     *
     * @param nanos the target in nanoseconds; 0 to detect it from the device again (the
     *              detected target takes over at the next judged window)
     * @throws IllegalArgumentException if {@code nanos} is negative
     */
    public void setTargetP99Nanos(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("targetP99Nanos must be 0 (auto) or positive, was " + nanos);
        }
        userTargetNanos = nanos;
        if (nanos > 0) {
            targetNanos = nanos;
        } else if (!adaptive) {
            targetNanos = 0;
        }
    }

    /** {@return the user's P99 target in nanoseconds, 0 when it is detected} Any thread. */
    public long userTargetP99Nanos() {
        return userTargetNanos;
    }

    /**
     * Sets the floor of the in-flight limit; the poller applies it at its next tick (raising the
     * limit to it if the limit is below). Any thread.
     *
     * @param min the floor, 1 to the ring's queue depth
     * @throws IllegalArgumentException if {@code min} is out of that range
     */
    public void setMinInFlight(int min) {
        if (min < 1 || min > maxInFlight) {
            throw new IllegalArgumentException("minInFlight must be between 1 and the queue depth (" + maxInFlight
                    + "), was " + min);
        }
        requestedMin = min;
    }

    /** {@return the floor of the in-flight limit (the last one set, applied at the next tick)} Any thread. */
    public int minInFlight() {
        return requestedMin;
    }

    /**
     * Pins the batch threshold, or hands it back to the tuner. Any thread.
     *
     * @param threshold 2 to 64, or 0 for tuned (the
     *                  tuner's value takes over at the next judged window)
     * @throws IllegalArgumentException if {@code threshold} is out of that range
     */
    public void setBatchThreshold(int threshold) {
        if (threshold != 0 && (threshold < BatchTuner.MIN || threshold > BatchTuner.MAX)) {
            throw new IllegalArgumentException("batchThreshold must be 0 (tuned) or between " + BatchTuner.MIN
                    + " and " + BatchTuner.MAX + ", was " + threshold);
        }
        pinnedBatch = threshold;
        if (threshold > 0) {
            batchThreshold = threshold;
        } else if (!adaptive) {
            batchThreshold = BatchTuner.MIN;
        }
    }

    /** {@return the pinned batch threshold, 0 while the tuner decides} Any thread. */
    public int pinnedBatchThreshold() {
        return pinnedBatch;
    }

    // ---- outputs: any thread ---------------------------------------------------------------

    /** {@return the in-flight limit the ring's admission gate should apply now} Any thread. */
    public int inFlightLimit() {
        return limit;
    }

    /**
     * {@return how many SQEs the poller should gather before it enters the kernel while requests
     * keep arriving, 2 to 64} The poller is expected to submit at once whenever it would otherwise
     * sleep, so the threshold never strands a request. Fixed at 2 when adaptive tuning is
     * disabled. Any thread.
     */
    public int batchThreshold() {
        return batchThreshold;
    }

    /** {@return the current phase; always {@link Phase#BASELINE} when adaptive tuning is disabled} Any thread. */
    public Phase phase() {
        return phase;
    }

    /**
     * {@return the current P99 latency estimate in nanoseconds, or -1 before a window held
     * {@value #MIN_SAMPLES} samples} With adaptive tuning, that of the last window judged (its P95
     * under 100 samples); disabled, that of every sample since creation (computed on each call).
     * Any thread.
     */
    public long p99LatencyNanos() {
        if (adaptive) {
            return p99Nanos;
        }
        LatencyHistogram.Snapshot all = histogram.snapshot();
        long n = all.totalCount();
        return n < MIN_SAMPLES ? -1 : all.percentileNanos(n < P99_MIN_SAMPLES ? 0.95 : 0.99);
    }

    /**
     * {@return bytes per second completed over the last closed window, 0 before the first} Any
     * thread. 0 too once the open window is older than twice the longest one: windows are closed
     * by ticks that come with completions (the poller's, or a caller's that reaps), so none came
     * since; the last closed window's rate would otherwise be reported for as long as the ring
     * stays idle (830 MB/s seen 3 s after the last write).
     */
    public double throughputBytesPerSecond() {
        long open = clock.getAsLong() - windowStart;
        return open > 2 * MAX_WINDOW_NANOS ? 0 : throughput;
    }

    /**
     * {@return the P99 target in force, in nanoseconds} The user's target if one was given,
     * otherwise the detected one (10 ms until a baseline is measured); 0 when adaptive tuning is
     * disabled and no target was given. Any thread.
     */
    public long targetP99Nanos() {
        return targetNanos;
    }

    /** {@return whether the controller adapts (false: adaptive tuning disabled)} */
    public boolean isAdaptive() {
        return adaptive;
    }

    /** {@return the ring's latency histogram (accumulating forever when adaptive tuning is disabled)} Any thread. */
    public LatencyHistogram histogram() {
        return histogram;
    }

    /** {@return how many windows have been closed so far} Any thread. */
    public long evaluations() {
        return evaluations;
    }

    /**
     * {@return the last {@value #TRANSITION_LOG_CAPACITY} phase transitions, oldest first}
     * Any thread; an unmodifiable snapshot.
     */
    public List<Transition> transitions() {
        return log;
    }
}
