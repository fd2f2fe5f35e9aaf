package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestSupport;

/** The end-of-test check that nothing leaked: no request pending, every pooled buffer back. */
final class Leaks {
    private Leaks() {}

    /** Waits (bounded) for pending requests to settle ({@link TestSupport#settle}), then checks. */
    static void assertNothingLeaked(Engine engine) {
        TestSupport.settle(() -> engine.pendingCount() == 0, java.time.Duration.ofSeconds(10));
        assertThat(engine.pendingCount()).as("requests pending in %s", engine).isZero();
        assertThat(engine.core().pool().outstandingBuffers()).as("pool buffers not returned").isZero();
    }
}
