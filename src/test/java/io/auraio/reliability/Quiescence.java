package io.auraio.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.Engine;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The end-of-test checks of the reliability tests, through the public API only: every thread
 * joined (else their stacks in the failure message), no request pending, every pool buffer back.
 */
final class Quiescence {
    /** Generous bound: only turns a hang into a failure. */
    static final Duration JOIN_BOUND = Duration.ofSeconds(60);

    private Quiescence() {}

    /**
     * Asserts that {@code engine} has no request pending and has every pool buffer back. Waits
     * (bounded) for the first to settle ({@link io.auraio.testing.TestSupport#settle}).
     */
    static void assertQuiescent(Engine engine) {
        io.auraio.testing.TestSupport.settle(() -> engine.stats().currentInFlight() == 0, Duration.ofSeconds(10));
        assertThat(engine.stats().currentInFlight()).as("requests pending in %s", engine).isZero();
        assertThat(engine.bufferStats().totalBuffers()).as("pool buffers of %s not returned", engine).isZero();
        assertThat(engine.bufferStats().totalAllocatedBytes()).as("pool bytes of %s not returned", engine).isZero();
    }

    /**
     * Joins every thread within {@link #JOIN_BOUND} overall; fails with the stack of each thread
     * still alive (where it is parked tells what it waits for).
     *
     * @param context printed with the failure, e.g. the random seed
     */
    static void joinAll(Collection<Thread> threads, String context) throws InterruptedException {
        long deadline = System.nanoTime() + JOIN_BOUND.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                t.join(Duration.ofNanos(left));
            }
        }
        List<Thread> alive = threads.stream().filter(t -> t.getState() != Thread.State.TERMINATED).toList();
        if (!alive.isEmpty()) {
            // The engine's own threads (pollers) too: what they are stuck in explains the rest.
            Map<Thread, StackTraceElement[]> stacks = new java.util.LinkedHashMap<>();
            alive.stream().limit(20).forEach(t -> stacks.put(t, t.getStackTrace()));
            Thread.getAllStackTraces().forEach((t, stack) -> {
                if (t.getName().startsWith("auraio-")) {
                    stacks.put(t, stack);
                }
            });
            String dump = stacks.entrySet().stream()
                    .map(e -> e.getKey() + "\n\tat " + java.util.Arrays.stream(e.getValue()).map(Object::toString)
                            .collect(Collectors.joining("\n\tat ")))
                    .collect(Collectors.joining("\n"));
            throw new AssertionError(alive.size() + " of " + threads.size() + " threads still alive after "
                    + JOIN_BOUND + " (" + context + "); first stacks:\n" + dump);
        }
    }

    /**
     * {@return the seed named by system property {@code property}, or a fresh one} Printed by
     * the tests in every failure message, so that a failing run can be repeated with
     * {@code -Dproperty=seed}.
     */
    static long seed(String property) {
        Long fixed = Long.getLong(property);
        return fixed != null ? fixed : System.nanoTime() ^ Thread.currentThread().threadId() * 0x9E3779B97F4A7C15L;
    }
}
