package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestSupport;
import java.time.Duration;

/** The end-of-test check that nothing leaked: no request pending, every pooled buffer back. */
final class Leaks {
    private Leaks() {}

    /** How long a check waits for pending requests to settle before it counts them. */
    static final Duration SETTLE = Duration.ofSeconds(10);

    /** Waits (at most {@link #SETTLE}) for pending requests to settle ({@link TestSupport#settle}), then checks. */
    static void assertNothingLeaked(Engine engine) {
        assertNothingLeaked(engine, SETTLE);
    }

    /** As {@link #assertNothingLeaked(Engine)}, waiting at most {@code settle}. */
    static void assertNothingLeaked(Engine engine, Duration settle) {
        TestSupport.settle(() -> engine.pendingCount() == 0, settle);
        assertThat(engine.pendingCount()).as("requests pending in %s", engine).isZero();
        assertThat(engine.core().pool().outstandingBuffers()).as("pool buffers not returned").isZero();
    }
}
