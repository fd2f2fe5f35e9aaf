package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A transfer served off the ring (a slow file system's) is counted by the ring's poller
 * ({@link RingPoller#opsCompleted()}, the engine's stats, the controller's samples) once it is
 * given back, also when the poller then has nothing in flight and may sleep without a bound.
 */
@ExtendWith(IoUringAvailable.class)
class OffloadedCountTest {
    private IoEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    /**
     * The poller used to count given-back transfers only at its 10 ms tick: one woken for
     * something else before that tick (a ring task here, a CQE or a cancel in real use) saw nothing
     * in flight and slept without a bound on the poller-only path, the transfer left uncounted
     * until something woke it again.
     */
    @ParameterizedTest(name = "caller submit {0}")
    @ValueSource(booleans = {false, true})
    void aGivenBackTransferIsCountedAlsoWhenThePollerIsWokenBeforeItsTick(boolean callerSubmit) throws Exception {
        engine = IoEngine.start(1, new RingConfig(16, 16, 4, 0, true, false, 0, true, true, callerSubmit),
                IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        for (int i = 1; i <= 20; i++) {
            RingPoller.Offloaded admitted = ring.admitOffloaded(-1, false);
            assertThat(admitted).isNotNull().isNotSameAs(RingPoller.OFFLOAD_CANCELLED);
            ring.releaseOffloaded(admitted, 4096, true);
            ring.callOnRing(u -> 0); // wakes the poller now, before its next tick
            long expected = i;
            TestSupport.awaitCondition("given-back transfer " + i + " counted", () -> ring.opsCompleted() == expected);
            assertThat(ring.bytesTransferred()).isEqualTo(4096L * i);
            assertThat(ring.pendingOffloadedSamples()).isZero();
        }
    }
}
