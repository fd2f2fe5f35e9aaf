package io.auraio.internal.adaptive;

/**
 * Where a ring's {@link AimdController} is in its cycle. The {@link #code() codes} are the
 * reference's {@code AURAIO_PHASE_*} values (0 to 5) and are what the ring stats report as
 * {@code aimd_phase}; the enum order is that numbering, so {@code code() == ordinal()}.
 */
public enum Phase {
    /**
     * Measuring at the initial limit, and passthrough: the limit is left alone until callers keep
     * waiting at the admission gate. A controller with adaptive tuning disabled stays here.
     */
    BASELINE,
    /** Moving the limit step by step (up, then down if going up gained nothing) to find the knee. */
    PROBING,
    /** Holding the limit found; still reacting to latency above target and to a faster device. */
    STEADY,
    /** The limit was just cut because P99 latency stayed above the target. */
    BACKOFF,
    /** Holding a new limit (after a probe or a cut) before judging it. */
    SETTLING,
    /** Held the same limit for a long time; still reacts to a lasting latency rise, re-probes now and then. */
    CONVERGED;

    private static final Phase[] BY_CODE = values();

    /** {@return the reference's numeric value of this phase, 0 to 5} */
    public int code() {
        return ordinal();
    }

    /**
     * The phase with a reference numeric value.
     *
     * @param code a value from 0 to 5
     * @return the phase
     * @throws IllegalArgumentException if {@code code} is outside 0 to 5
     */
    public static Phase of(int code) {
        if (code < 0 || code >= BY_CODE.length) {
            throw new IllegalArgumentException("no AIMD phase has code " + code + " (valid: 0 to 5)");
        }
        return BY_CODE[code];
    }

    /**
     * The reference's {@code auraio_phase_name}: never fails, whatever the value.
     *
     * @param code a phase value, as found in ring stats
     * @return {@code "BASELINE"} to {@code "CONVERGED"} for 0 to 5, {@code "UNKNOWN"} otherwise
     */
    public static String phaseName(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code].name() : "UNKNOWN";
    }
}
