package io.auraio.cli;

import java.util.List;
import java.util.Locale;

/** Which engines a bench runs ({@code --engine}); {@code both} alternates them round by round. */
enum EngineChoice {
    AURA,
    FILECHANNEL,
    BOTH;

    /** {@return the engines to run in each round, in order} */
    List<String> engines() {
        return switch (this) {
            case AURA -> List.of(BenchRun.AURA);
            case FILECHANNEL -> List.of(BenchRun.FILECHANNEL);
            case BOTH -> List.of(BenchRun.AURA, BenchRun.FILECHANNEL);
        };
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
