package io.auraio.internal.adaptive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The runtime settings (what the engine's MXBean writes), driven by hand with a fake clock. */
class AimdControllerSettingsTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long US = TimeUnit.MICROSECONDS.toNanos(1);

    private long now = 1_000 * MS;

    private AimdController controller(int initial, int min, int max) {
        return new AimdController(initial, min, max, 0, false, () -> now);
    }

    /** One 10 ms window of {@code n} 4 KiB completions at {@code latency}, under pressure, then a tick. */
    private void window(AimdController c, int n, long latency) {
        for (int i = 0; i < n; i++) {
            c.recordCompletion(latency, 4096);
        }
        c.observePending(c.inFlightLimit(), 8, c.inFlightLimit());
        now += 10 * MS;
        c.tick();
    }

    @Test
    void aRaisedFloorLiftsTheLimitAtTheNextTickAndHoldsItThroughBackoff() {
        AimdController c = controller(8, 2, 64);
        c.setMinInFlight(32);
        assertThat(c.minInFlight()).isEqualTo(32);
        assertThat(c.inFlightLimit()).as("applied by the poller's tick, not by the caller").isEqualTo(8);
        window(c, 40, 100 * US);
        assertThat(c.inFlightLimit()).isEqualTo(32);
        c.setTargetP99Nanos(1 * MS);
        for (int i = 0; i < 10; i++) {
            window(c, 40, 50 * MS); // far over the target: backoff wants to cut
        }
        assertThat(c.inFlightLimit()).isGreaterThanOrEqualTo(32);
    }

    @Test
    void aLoweredFloorLetsBackoffCutBelowTheOldOne() {
        AimdController c = controller(32, 32, 64);
        c.setTargetP99Nanos(1 * MS);
        for (int i = 0; i < 5; i++) {
            window(c, 40, 50 * MS);
        }
        assertThat(c.inFlightLimit()).isEqualTo(32);
        c.setMinInFlight(4);
        for (int i = 0; i < 10; i++) {
            window(c, 40, 50 * MS);
        }
        assertThat(c.inFlightLimit()).isLessThan(32).isGreaterThanOrEqualTo(4);
    }

    @Test
    void aSetTargetIsInForceAtOnceAndZeroReturnsToTheDetectedOne() {
        AimdController c = controller(16, 4, 64);
        assertThat(c.userTargetP99Nanos()).isZero();
        c.setTargetP99Nanos(3 * MS);
        assertThat(c.targetP99Nanos()).isEqualTo(3 * MS);
        assertThat(c.userTargetP99Nanos()).isEqualTo(3 * MS);
        c.setTargetP99Nanos(0);
        window(c, 40, 100 * US);
        assertThat(c.userTargetP99Nanos()).isZero();
        assertThat(c.targetP99Nanos()).as("detected again").isNotEqualTo(3 * MS);
    }

    @Test
    void aPinnedBatchThresholdOverridesTheTunerUntilUnpinned() {
        AimdController c = controller(64, 4, 64);
        c.setBatchThreshold(16);
        assertThat(c.batchThreshold()).isEqualTo(16);
        for (int i = 0; i < 5; i++) {
            window(c, 40, 100 * US);
        }
        assertThat(c.batchThreshold()).isEqualTo(16);
        assertThat(c.pinnedBatchThreshold()).isEqualTo(16);
        c.setBatchThreshold(0);
        assertThat(c.pinnedBatchThreshold()).isZero();
        window(c, 40, 100 * US);
        assertThat(c.batchThreshold()).isBetween(2, 32); // the tuner's, capped at limit / 2
    }

    @Test
    void settingsOutOfRangeAreRefusedAndChangeNothing() {
        AimdController c = controller(16, 4, 64);
        assertThatThrownBy(() -> c.setMinInFlight(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("minInFlight");
        assertThatThrownBy(() -> c.setMinInFlight(65)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("64");
        assertThatThrownBy(() -> c.setTargetP99Nanos(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.setBatchThreshold(1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.setBatchThreshold(65)).isInstanceOf(IllegalArgumentException.class);
        assertThat(c.minInFlight()).isEqualTo(4);
        assertThat(c.pinnedBatchThreshold()).isZero();
        assertThat(c.userTargetP99Nanos()).isZero();
    }

    @Test
    void withAdaptiveTuningDisabledTheBatchPinAndTargetStillShow() {
        AimdController c = new AimdController(16, 4, 64, 0, true, () -> now);
        c.setBatchThreshold(8);
        assertThat(c.batchThreshold()).isEqualTo(8);
        c.setBatchThreshold(0);
        assertThat(c.batchThreshold()).isEqualTo(2);
        c.setTargetP99Nanos(2 * MS);
        assertThat(c.targetP99Nanos()).isEqualTo(2 * MS);
        c.setTargetP99Nanos(0);
        assertThat(c.targetP99Nanos()).isZero();
        c.setMinInFlight(32);
        window(c, 40, 100 * US);
        assertThat(c.inFlightLimit()).as("disabled: the limit is held where it started").isEqualTo(16);
    }
}
