package io.auraio;

/**
 * The phases of a ring's adaptive in-flight controller, with the reference's values
 * ({@code AURAIO_PHASE_*}).
 */
public enum AimdPhase {
    /** Collecting baseline latency samples (also: passthrough while demand stays under the limit). */
    BASELINE(0),
    /** Additive increase: trying a higher in-flight limit. */
    PROBING(1),
    /** Throughput plateau: holding the limit. */
    STEADY(2),
    /** Multiplicative decrease: P99 latency exceeded the target. */
    BACKOFF(3),
    /** Stabilising after a backoff. */
    SETTLING(4),
    /** The limit has held long enough to be called optimal; still watched for latency rises. */
    CONVERGED(5);

    private final int value;

    AimdPhase(int value) {
        this.value = value;
    }

    /** {@return the reference's numeric value, 0 to 5} */
    public int value() {
        return value;
    }

    /**
     * {@return the phase with the reference's numeric {@code value}}
     *
     * @param value 0 to 5
     * @throws IllegalArgumentException if {@code value} is out of range
     */
    public static AimdPhase of(int value) {
        if (value < 0 || value >= values().length) {
            throw new IllegalArgumentException("AIMD phase must be 0 to 5, was " + value);
        }
        return values()[value];
    }

    /**
     * The reference's {@code auraio_phase_name}.
     *
     * @param value a phase value
     * @return {@code "BASELINE"} ... {@code "CONVERGED"}, or {@code "UNKNOWN"} out of range
     */
    public static String name(int value) {
        return value >= 0 && value < values().length ? values()[value].name() : "UNKNOWN";
    }
}
