package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

/** The end-of-test check that nothing leaked: no request pending, every pooled buffer back. */
final class Leaks {
    private Leaks() {}

    static void assertNothingLeaked(Engine engine) {
        assertThat(engine.pendingCount()).as("requests pending in %s", engine).isZero();
        assertThat(engine.core().pool().outstandingBuffers()).as("pool buffers not returned").isZero();
    }
}
