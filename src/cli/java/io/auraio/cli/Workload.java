package io.auraio.cli;

import java.util.Locale;

/** The access pattern of a run, named as fio names it ({@code --rw}). */
enum Workload {
    READ(true, false, false),
    WRITE(false, true, false),
    RANDREAD(true, false, true),
    RANDWRITE(false, true, true),
    RANDRW(true, true, true);

    private final boolean reads;
    private final boolean writes;
    private final boolean random;

    Workload(boolean reads, boolean writes, boolean random) {
        this.reads = reads;
        this.writes = writes;
        this.random = random;
    }

    boolean reads() {
        return reads;
    }

    boolean writes() {
        return writes;
    }

    boolean random() {
        return random;
    }

    /** {@return the name used on the command line and in JSON} */
    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
