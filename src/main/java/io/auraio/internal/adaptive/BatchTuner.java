package io.auraio.internal.adaptive;

/**
 * The inner loop: how many SQEs the poller should gather before it enters the kernel.
 *
 * <p>As the reference: +1 while fewer than {@value #LOW_RATIO} SQEs go per submit, -1 above
 * {@value #HIGH_RATIO}, within {@value #MIN} to {@value #MAX}. Two changes, both so that batching
 * never holds requests back from an idle device:
 * <ul>
 * <li>it only grows while demand reaches the in-flight limit (there are requests to batch, and the
 *     device is kept busy by those already in flight); otherwise it shrinks towards {@value #MIN},
 *     i.e. submit at once while few requests are in flight;</li>
 * <li>it never exceeds half the in-flight limit: a batch the gate cannot fill would idle the
 *     device while the poller waits for it.</li>
 * </ul>
 * Single-threaded (the ring's poller).
 */
final class BatchTuner {
    static final int MIN = 2;
    static final int MAX = 64;
    static final int LOW_RATIO = 8;
    static final int HIGH_RATIO = 12;

    private int threshold = MIN;
    private long submits;
    private long sqes;

    void record(int sqesInSubmit) {
        if (sqesInSubmit > 0) {
            submits++;
            sqes += sqesInSubmit;
        }
    }

    /** Adjusts the threshold from the submits seen since the last evaluation; returns the new threshold. */
    int update(boolean demandAtLimit, int inFlightLimit) {
        int cap = Math.clamp(inFlightLimit / 2, MIN, MAX);
        if (submits > 0) {
            double perSubmit = (double) sqes / submits;
            if (!demandAtLimit || perSubmit > HIGH_RATIO) {
                threshold--;
            } else if (perSubmit < LOW_RATIO) {
                threshold++;
            }
        } else if (!demandAtLimit) {
            threshold--;
        }
        submits = 0;
        sqes = 0;
        threshold = Math.clamp(threshold, MIN, cap);
        return threshold;
    }

    int threshold() {
        return threshold;
    }
}
