package io.auraio.internal.adaptive;

/**
 * One probing session of the controller: a hill climb for the knee, the smallest in-flight limit
 * that still gets (nearly) the most throughput the device gives.
 *
 * <p>Up first: the limit grows by {@link #step} while each step still pays. A step pays when its
 * throughput elasticity, (relative throughput gain) / (relative limit increase), is at least
 * {@value #GAIN_ELASTICITY}: half of what perfect scaling would give. That threshold is relative
 * and scale-free; an absolute one (the reference's) stops early on a slow device and never on a
 * fast one, and even "1% per slot" stops a device that scales perfectly at 100 slots, where one
 * slot can only add 1%. After {@value #FLAT_STEPS} steps in a row that do not pay, the climb ends
 * on the smallest limit measured within {@value #PLATEAU_TOLERANCE} of the best throughput, plus
 * one step of headroom (so measurement noise costs a little latency rather than throughput).
 *
 * <p>If that smallest limit is the start itself, going up bought nothing and the start may be past
 * the knee, where extra slots only add queueing latency: the probe then walks down from the start
 * while throughput stays within the tolerance of the plateau's mean, and settles one step above
 * the last limit that did.
 *
 * <p>Steps are proportional ({@code limit / 16}, at least 1), not +1: at 64 in flight one more
 * slot moves throughput by at most 1.6%, below the noise of a short window, while a 6% step is
 * measurable. After each change the probe lets {@value #SKIP_LATENCIES} mean latencies pass
 * (requests admitted under the old limit are still completing; at least one window), then
 * measures for at least {@value #MIN_SAMPLES} completions and {@value #MEASURE_LATENCIES} mean
 * latencies. A step up that pushes P99 over the target ends the climb below it. While demand is
 * below the limit nothing can be measured: the probe holds, and gives up after
 * {@value #MAX_PAUSE} evaluations. Single-threaded (the ring's poller).
 */
final class KneeProbe {
    static final double GAIN_ELASTICITY = 0.5;
    static final double PLATEAU_TOLERANCE = 0.05;
    static final int FLAT_STEPS = 2;
    static final long MIN_SAMPLES = 100;
    static final int MEASURE_LATENCIES = 25;
    static final int SKIP_LATENCIES = 2;
    static final int MAX_POINTS = 64;
    static final int MAX_PAUSE = 100;

    private int min;
    private final int max;
    private final int[] limits = new int[MAX_POINTS];
    private final double[] rates = new double[MAX_POINTS];
    private int points;
    private int start;
    private int limit;
    private boolean down;
    private boolean skipping;
    private int lowestGood;
    private boolean finished;
    private int flat;
    private int paused;
    private long accOps;
    private long accBytes;
    private long accNanos;
    private long accLatency;

    /** A new floor for the steps; the controller's poller thread only. */
    void setMin(int newMin) {
        min = newMin;
    }

    KneeProbe(int min, int max) {
        this.min = min;
        this.max = max;
    }

    /** {@return the probe step at a limit: 1/16 of it, at least 1} */
    static int step(int limit) {
        return Math.max(1, limit / 16);
    }

    /** Starts a session at the current limit, which is measured first (no settling window: it has been in force). */
    void begin(int startLimit) {
        start = startLimit;
        limit = startLimit;
        points = 0;
        down = false;
        skipping = false;
        finished = false;
        flat = 0;
        paused = 0;
        clearMeasurement();
    }

    boolean finished() {
        return finished;
    }

    /** {@return whether the current limit is above the start on the way up: latency over target there is the probe's doing} */
    boolean steppedUp() {
        return !down && limit > start;
    }

    /**
     * Feeds one evaluation window measured while the probe's limit was in force.
     *
     * @param ops          completions in the window
     * @param bytes        bytes they transferred
     * @param nanos        the window's length
     * @param latencyNanos the sum of the completions' latencies
     * @param timed        false if the window's length cannot be trusted (clock step, long gap)
     * @param pressured    whether demand reached the limit during the window
     * @param overTarget   whether the window's P99 was above the latency target
     * @return the limit to apply now
     */
    int onWindow(long ops, long bytes, long nanos, long latencyNanos, boolean timed, boolean pressured,
                 boolean overTarget) {
        if (overTarget && steppedUp()) {
            return endClimb();
        }
        if (!pressured) {
            clearMeasurement();
            skipping = true;
            if (++paused > MAX_PAUSE) {
                return finish(limit);
            }
            return limit;
        }
        paused = 0;
        if (!timed || nanos <= 0) {
            return limit;
        }
        accOps += ops;
        accBytes += bytes;
        accNanos += nanos;
        accLatency += latencyNanos;
        long meanLatency = accOps > 0 ? accLatency / accOps : 0;
        if (skipping) {
            // Requests admitted under the previous limit are still completing: wait two latencies.
            if (accOps > 0 && accNanos >= SKIP_LATENCIES * meanLatency) {
                skipping = false;
                clearMeasurement();
            }
            return limit;
        }
        // Counting completions in a window misses up to one latency's worth at each end, an error
        // of about (mean latency / window): measure for many latencies, not for a fixed time.
        if (accOps < MIN_SAMPLES || accNanos < MEASURE_LATENCIES * meanLatency) {
            return limit;
        }
        // Bytes where there are any; completions for byte-less work (fsync, open).
        double rate = (accBytes > 0 ? accBytes : accOps) * 1e9 / accNanos;
        clearMeasurement();
        return measured(rate);
    }

    private int measured(double rate) {
        int prev = points - 1;
        limits[points] = limit;
        rates[points] = rate;
        points++;
        if (!down) {
            if (prev >= 0) {
                double elasticity = (rate / rates[prev] - 1) / ((double) limit / limits[prev] - 1);
                flat = elasticity >= GAIN_ELASTICITY ? 0 : flat + 1;
            }
            if (flat >= FLAT_STEPS || limit >= max || points == MAX_POINTS) {
                return endClimb();
            }
            return moveTo(Math.min(max, limit + step(limit)));
        }
        // Judged against the mean of the plateau measured so far, not its maximum: the largest of
        // several noisy measurements is biased upwards and would stop the walk early.
        if (rate >= (1 - PLATEAU_TOLERANCE) * plateauMean()) {
            lowestGood = limit;
            if (limit > min && points < MAX_POINTS) {
                return moveTo(Math.max(min, limit - step(limit)));
            }
        } else {
            points--; // below the knee: not part of the plateau
        }
        return finish(withHeadroom(lowestGood));
    }

    /**
     * Ends the climb. If the start itself was within the tolerance of the best throughput seen,
     * going up paid nothing worth its latency and the knee may lie below the start: walk down.
     */
    private int endClimb() {
        int best = smallestGood();
        if (best == start && start > min) {
            down = true;
            lowestGood = start;
            double bar = (1 - PLATEAU_TOLERANCE) * maxRate();
            int kept = 0;
            for (int i = 0; i < points; i++) {
                if (rates[i] >= bar) {
                    limits[kept] = limits[i];
                    rates[kept] = rates[i];
                    kept++;
                }
            }
            points = kept;
            return moveTo(Math.max(min, start - step(start)));
        }
        return finish(withHeadroom(best));
    }

    /** {@return the smallest limit measured within the tolerance of the best throughput} */
    private int smallestGood() {
        double bar = (1 - PLATEAU_TOLERANCE) * maxRate();
        int best = Integer.MAX_VALUE;
        for (int i = 0; i < points; i++) {
            if (rates[i] >= bar) {
                best = Math.min(best, limits[i]);
            }
        }
        return best == Integer.MAX_VALUE ? start : best;
    }

    private double maxRate() {
        double m = 0;
        for (int i = 0; i < points; i++) {
            m = Math.max(m, rates[i]);
        }
        return m;
    }

    private double plateauMean() {
        double sum = 0;
        for (int i = 0; i < points - 1; i++) {
            sum += rates[i];
        }
        return points > 1 ? sum / (points - 1) : rates[0];
    }

    /** One step above {@code l}, but never beyond the largest limit measured (a step up that went over target was not measured). */
    private int withHeadroom(int l) {
        int largest = start;
        for (int i = 0; i < points; i++) {
            largest = Math.max(largest, limits[i]);
        }
        return Math.clamp(Math.min(l + step(l), largest), min, max);
    }

    private int moveTo(int next) {
        limit = next;
        skipping = true;
        clearMeasurement();
        return next;
    }

    private int finish(int at) {
        limit = at;
        finished = true;
        return at;
    }

    private void clearMeasurement() {
        accOps = 0;
        accBytes = 0;
        accNanos = 0;
        accLatency = 0;
    }
}
