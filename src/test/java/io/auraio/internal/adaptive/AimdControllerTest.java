package io.auraio.internal.adaptive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Unit behaviour of the controller, driven by hand with a fake clock. */
class AimdControllerTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long US = TimeUnit.MICROSECONDS.toNanos(1);

    private long now = 1_000 * MS;

    private AimdController controller(int initial, int min, int max, long target) {
        return new AimdController(initial, min, max, target, false, () -> now);
    }

    /**
     * One 10 ms window: {@code n} completions of {@code latency} and 4 KiB each, then a tick; every
     * slot in use is in the device.
     */
    private void window(AimdController c, int n, long latency, int inFlight, int waiting) {
        windowInDevice(c, n, latency, inFlight, waiting, inFlight);
    }

    /** As {@link #window}, with {@code inDevice} of the slots in use in the device. */
    private void windowInDevice(AimdController c, int n, long latency, int inFlight, int waiting, int inDevice) {
        for (int i = 0; i < n; i++) {
            c.recordCompletion(latency, 4096);
        }
        c.observePending(inFlight, waiting, inDevice);
        now += 10 * MS;
        c.tick();
    }

    @Test
    void rejectsWhatCannotBeALimitOrATarget() {
        assertThatThrownBy(() -> new AimdController(8, 4, 0, 0, false, () -> 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxInFlight");
        assertThatThrownBy(() -> new AimdController(8, 4, 64, -1, false, () -> 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targetP99Nanos");
        assertThatThrownBy(() -> new AimdController(8, 4, 64, 0, false, null))
                .isInstanceOf(NullPointerException.class);
    }

    @Test
    void startsAtTheInitialLimitClampedIntoMinAndMax() {
        assertThat(controller(64, 4, 256, 0).inFlightLimit()).isEqualTo(64);
        assertThat(controller(2, 4, 256, 0).inFlightLimit()).isEqualTo(4);
        assertThat(controller(1000, 4, 256, 0).inFlightLimit()).isEqualTo(256);
        assertThat(controller(8, 16, 8, 0).inFlightLimit()).isEqualTo(8);
        assertThat(new AimdController(2, 4, 256, 0, true, () -> 0).inFlightLimit()).isEqualTo(2);
    }

    @Test
    void reportsNothingBeforeTheFirstWindow() {
        AimdController c = controller(64, 4, 256, 0);
        assertThat(c.phase()).isEqualTo(Phase.BASELINE);
        assertThat(c.p99LatencyNanos()).isEqualTo(-1);
        assertThat(c.throughputBytesPerSecond()).isZero();
        assertThat(c.targetP99Nanos()).isEqualTo(AimdController.DEFAULT_TARGET_NANOS);
        assertThat(c.batchThreshold()).isEqualTo(2);
        assertThat(c.transitions()).isEmpty();
        assertThat(c.isAdaptive()).isTrue();
    }

    @Test
    void userTargetIsTheTargetInForce() {
        assertThat(controller(64, 4, 256, 2 * MS).targetP99Nanos()).isEqualTo(2 * MS);
        assertThat(new AimdController(64, 4, 256, 0, true, () -> 0).targetP99Nanos()).isZero();
    }

    /**
     * Windows close on ticks, which come with completions: once none come the last window's rate
     * is not the ring's throughput (it was reported for as long as the ring stayed idle).
     */
    @Test
    void throughputIsZeroOnceNoTickHasClosedAWindowForTwiceTheLongestOne() {
        AimdController c = controller(64, 4, 256, 0);
        window(c, 20, 100 * US, 10, 0);
        window(c, 20, 100 * US, 10, 0);
        assertThat(c.throughputBytesPerSecond()).isCloseTo(20 * 4096 / 0.010, within(1.0));
        now += 2 * AimdController.MAX_WINDOW_NANOS;
        assertThat(c.throughputBytesPerSecond()).as("at twice the longest window").isPositive();
        now += 1;
        assertThat(c.throughputBytesPerSecond()).as("past it, no tick since").isZero();
        window(c, 20, 100 * US, 10, 0); // a tick closes the long idle window: its own rate
        assertThat(c.throughputBytesPerSecond()).isCloseTo(20 * 4096 / (0.210 + 1e-9), within(1.0));
    }

    @Test
    void aWindowClosesWithTwentySamplesOrAfterOneHundredMilliseconds() {
        AimdController c = controller(64, 4, 256, 0);
        window(c, 19, 100 * US, 10, 0);
        assertThat(c.evaluations()).isZero();
        window(c, 1, 100 * US, 10, 0);
        assertThat(c.evaluations()).isEqualTo(1);
        assertThat(c.throughputBytesPerSecond()).isCloseTo(20 * 4096 / 0.020, within(1.0));
        for (int i = 0; i < 9; i++) {
            window(c, 1, 100 * US, 10, 0);
        }
        assertThat(c.evaluations()).isEqualTo(1);
        window(c, 1, 100 * US, 10, 0);
        assertThat(c.evaluations()).isEqualTo(2);
    }

    @Test
    void autoTargetIsTenTimesTheBaselineWithAOneMillisecondFloor() {
        AimdController slow = controller(64, 4, 256, 0);
        window(slow, 200, 500 * US, 64, 0);
        assertThat(slow.targetP99Nanos()).isEqualTo(5 * MS);
        AimdController fast = controller(64, 4, 256, 0);
        window(fast, 200, 5 * US, 64, 10);
        assertThat(fast.targetP99Nanos()).isEqualTo(AimdController.AUTO_TARGET_FLOOR_NANOS);
    }

    @Test
    void autoTargetIgnoresWindowsWithoutDemand() {
        AimdController c = controller(64, 4, 256, 0);
        window(c, 200, 50 * US, 1, 0); // one caller after an idle gap: no queue at all
        assertThat(c.targetP99Nanos()).isEqualTo(AimdController.DEFAULT_TARGET_NANOS);
        window(c, 200, 800 * US, 64, 20); // under load
        assertThat(c.targetP99Nanos()).isEqualTo(8 * MS);
        window(c, 200, 50 * US, 1, 0);
        assertThat(c.targetP99Nanos()).isEqualTo(8 * MS);
    }

    @Test
    void autoTargetIgnoresWindowsWhoseSlotsAreInUseButNotInTheDevice() {
        AimdController c = controller(64, 4, 256, 0);
        // Every slot in use and callers waiting, but the device holds 2 requests: the others
        // completed and their callers have not run yet (a cold JIT). Not the latency at the limit.
        for (int i = 0; i < 3; i++) {
            windowInDevice(c, 200, 50 * US, 64, 200, 2);
        }
        assertThat(c.targetP99Nanos()).isEqualTo(AimdController.DEFAULT_TARGET_NANOS);
        windowInDevice(c, 200, 800 * US, 64, 200, 60); // the device at the limit (60 of 64 is over 3/4)
        assertThat(c.targetP99Nanos()).isEqualTo(8 * MS);
        windowInDevice(c, 200, 50 * US, 64, 200, 47); // under 3/4 of the limit
        assertThat(c.targetP99Nanos()).isEqualTo(8 * MS);
        windowInDevice(c, 200, 600 * US, 64, 200, 48); // exactly 3/4
        assertThat(c.targetP99Nanos()).isEqualTo(6 * MS);
    }

    @Test
    void windowsOfFewerThanOneHundredSamplesUseP95() {
        AimdController c = controller(64, 4, 256, 0);
        for (int i = 0; i < 48; i++) {
            c.recordCompletion(100 * US, 0);
        }
        c.recordCompletion(8 * MS, 0);
        c.recordCompletion(8 * MS, 0);
        now += 10 * MS;
        c.tick();
        assertThat(c.p99LatencyNanos()).isLessThanOrEqualTo(150 * US);

        for (int i = 0; i < 196; i++) {
            c.recordCompletion(100 * US, 0);
        }
        for (int i = 0; i < 4; i++) {
            c.recordCompletion(8 * MS, 0);
        }
        now += 10 * MS;
        c.tick();
        assertThat(c.p99LatencyNanos()).isEqualTo(8 * MS);
    }

    @Test
    void baselineDoesNotProbeWhileDemandStaysBelowTheLimit() {
        AimdController c = controller(64, 4, 256, 0);
        for (int i = 0; i < 1000; i++) {
            window(c, 100, 5 * US, 8, 0);
        }
        assertThat(c.phase()).isEqualTo(Phase.BASELINE);
        assertThat(c.inFlightLimit()).isEqualTo(64);
        assertThat(c.transitions()).isEmpty();
    }

    @Test
    void probesOnceCallersKeepWaitingAtTheGate() {
        AimdController c = controller(64, 4, 256, 0);
        for (int i = 0; i < AimdController.BASELINE_EVALS; i++) {
            window(c, 100, 100 * US, 64, 10);
        }
        assertThat(c.phase()).isEqualTo(Phase.PROBING);
        assertThat(c.transitions()).singleElement()
                .isEqualTo(new AimdController.Transition(now, Phase.BASELINE, Phase.PROBING, 64));
    }

    /** The log is replaced, never changed (readers take it without a lock): the last 256 transitions. */
    @Test
    void theTransitionLogKeepsTheLastTransitionsInANewListEachTime() {
        List<AimdController.Transition> log = List.of();
        for (int i = 0; i < AimdController.TRANSITION_LOG_CAPACITY + 10; i++) {
            List<AimdController.Transition> before = log;
            log = AimdController.appended(log, new AimdController.Transition(i, Phase.BASELINE, Phase.PROBING, i));
            assertThat(before).as("unchanged").hasSize(Math.min(i, AimdController.TRANSITION_LOG_CAPACITY));
        }
        assertThat(log).hasSize(AimdController.TRANSITION_LOG_CAPACITY);
        assertThat(log.getFirst().timeNanos()).isEqualTo(10);
        assertThat(log.getLast().timeNanos()).isEqualTo(AimdController.TRANSITION_LOG_CAPACITY + 9);
    }

    @Test
    void aLastingSpikeCutsTheLimitToFourFifthsOfWhatWasInFlight() {
        AimdController c = controller(64, 4, 256, 1 * MS);
        window(c, 100, 3 * MS, 64, 100);
        assertThat(c.inFlightLimit()).isEqualTo(64);
        window(c, 100, 3 * MS, 64, 100);
        assertThat(c.phase()).isEqualTo(Phase.BACKOFF);
        assertThat(c.inFlightLimit()).isEqualTo(51);
        window(c, 100, 3 * MS, 51, 100);
        assertThat(c.phase()).isEqualTo(Phase.SETTLING);

        // Only 30 of the 51 slots in use (and nobody waiting): the cut starts from 30.
        window(c, 100, 3 * MS, 30, 0);
        window(c, 100, 3 * MS, 30, 0);
        assertThat(c.phase()).isEqualTo(Phase.BACKOFF);
        assertThat(c.inFlightLimit()).isEqualTo(24);
    }

    @Test
    void aSpikeDoesNotCutALimitNobodyReaches() {
        AimdController c = controller(64, 4, 256, 1 * MS);
        for (int i = 0; i < 50; i++) {
            window(c, 100, 3 * MS, 8, 0);
        }
        assertThat(c.inFlightLimit()).isEqualTo(64);
        assertThat(c.phase()).isEqualTo(Phase.BASELINE);
    }

    @Test
    void theLimitNeverGoesBelowTheMinimum() {
        AimdController c = controller(64, 4, 256, 1 * MS);
        for (int i = 0; i < 500; i++) {
            window(c, 100, 5 * MS, c.inFlightLimit(), 200);
            assertThat(c.inFlightLimit()).isBetween(4, 64);
        }
        assertThat(c.inFlightLimit()).isEqualTo(4);
    }

    @Test
    void batchThresholdGrowsWhileSubmitsAreSmallUnderLoadAndStaysWithinBounds() {
        AimdController c = controller(256, 256, 256, 0);
        for (int i = 0; i < 200; i++) {
            for (int s = 0; s < 50; s++) {
                c.recordSubmitBatch(1);
            }
            window(c, 50, 100 * US, 256, 10);
            assertThat(c.batchThreshold()).isBetween(2, 64);
        }
        assertThat(c.batchThreshold()).isEqualTo(64);
    }

    @Test
    void batchThresholdShrinksWhenSubmitsAreLargeOrDemandIsLow() {
        AimdController c = controller(256, 256, 256, 0);
        for (int i = 0; i < 20; i++) {
            c.recordSubmitBatch(1);
            window(c, 50, 100 * US, 256, 10);
        }
        int grown = c.batchThreshold();
        assertThat(grown).isEqualTo(22);
        c.recordSubmitBatch(40);
        window(c, 50, 100 * US, 256, 10);
        assertThat(c.batchThreshold()).isEqualTo(grown - 1);
        for (int i = 0; i < 100; i++) {
            c.recordSubmitBatch(1);
            window(c, 50, 100 * US, 3, 0);
        }
        assertThat(c.batchThreshold()).isEqualTo(2);
    }

    @Test
    void batchThresholdNeverExceedsHalfTheLimit() {
        AimdController c = controller(8, 8, 8, 0);
        for (int i = 0; i < 100; i++) {
            c.recordSubmitBatch(1);
            window(c, 50, 100 * US, 8, 10);
        }
        assertThat(c.batchThreshold()).isEqualTo(4);
    }

    @Test
    void aClockStepBackIsNotAnErrorAndLeavesTheThroughputAlone() {
        AimdController c = controller(64, 4, 256, 0);
        window(c, 100, 100 * US, 10, 0);
        double before = c.throughputBytesPerSecond();
        long evaluations = c.evaluations();
        c.recordCompletion(-3 * MS, 4096);
        now -= TimeUnit.HOURS.toNanos(1);
        c.tick();
        assertThat(c.evaluations()).isEqualTo(evaluations);
        window(c, 100, 100 * US, 10, 0);
        // That window's length is unknown (it straddled the step): judged for latency, not throughput.
        assertThat(c.evaluations()).isEqualTo(evaluations + 1);
        assertThat(c.throughputBytesPerSecond()).isEqualTo(before);
        window(c, 100, 100 * US, 10, 0);
        assertThat(c.throughputBytesPerSecond()).isCloseTo(100 * 4096 / 0.010, within(1.0));
    }

    @Test
    void disabledControllerHoldsTheLimitAndAccumulatesTheHistogram() {
        AimdController c = new AimdController(16, 4, 256, 0, true, () -> now);
        for (int i = 0; i < 100; i++) {
            c.recordSubmitBatch(1);
            window(c, 100, 20 * MS, 16, 100);
        }
        assertThat(c.isAdaptive()).isFalse();
        assertThat(c.inFlightLimit()).isEqualTo(16);
        assertThat(c.phase()).isEqualTo(Phase.BASELINE);
        assertThat(c.batchThreshold()).isEqualTo(2);
        assertThat(c.histogram().accumulatesForever()).isTrue();
        assertThat(c.histogram().count()).isEqualTo(10_000);
        assertThat(c.p99LatencyNanos()).isEqualTo(20 * MS);
        assertThat(c.throughputBytesPerSecond()).isCloseTo(100 * 4096 / 0.010, within(1.0));
        assertThat(c.transitions()).isEmpty();
    }

    @Test
    void transitionLogKeepsTheNewestEntriesOnly() {
        AimdController c = controller(64, 4, 256, 1 * MS);
        long early = 0;
        long recent = 0;
        // Alternate slow and fast windows under load: every slow pair cuts, every fast run re-probes.
        for (int round = 0; round < 400; round++) {
            early = round == 20 ? now : early;
            recent = round == 390 ? now : recent;
            for (int i = 0; i < 3; i++) {
                window(c, 100, 5 * MS, c.inFlightLimit(), 100);
            }
            for (int i = 0; i < 15; i++) {
                window(c, 100, 50 * US, c.inFlightLimit(), 100);
            }
        }
        var log = c.transitions();
        assertThat(log).hasSize(AimdController.TRANSITION_LOG_CAPACITY);
        assertThat(log.getFirst().timeNanos()).isGreaterThan(early);
        assertThat(log.getLast().timeNanos()).isGreaterThan(recent);
        for (int i = 1; i < log.size(); i++) {
            assertThat(log.get(i).from()).isEqualTo(log.get(i - 1).to());
            assertThat(log.get(i).timeNanos()).isGreaterThanOrEqualTo(log.get(i - 1).timeNanos());
        }
    }
}
