package io.auraio;

/**
 * How a submission picks one of the engine's rings (the reference's {@code auraio_ring_select_t}).
 */
public enum RingSelect {
    /**
     * The default: the ring of the CPU the calling thread runs on, until that ring is above 75% of
     * its in-flight limit; then, unless it carries more than twice the average load (an outlier
     * stays local), the lighter of two randomly chosen other rings. Each such move is counted as an
     * adaptive spill.
     */
    ADAPTIVE,
    /** Always the ring of the CPU the calling thread (for a virtual thread: its carrier) runs on. */
    CPU_LOCAL,
    /** Rings in turn, from an atomic counter; spreads a single submitting thread over all rings. */
    ROUND_ROBIN
}
