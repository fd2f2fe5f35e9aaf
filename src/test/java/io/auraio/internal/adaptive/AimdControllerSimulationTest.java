package io.auraio.internal.adaptive;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.adaptive.ModelDevice.TickSample;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The controller against a {@link ModelDevice}, tick by tick on simulated time: no sleeping, no
 * wall clock, same result every run.
 *
 * <p>The device has a knee at K channels: below it latency is the service time, above it
 * throughput is flat and latency grows linearly. The right limit is therefore about K: less loses
 * throughput, more only adds queueing latency. Settled limits are asserted within
 * [0.9 K, 1.25 K]: one probe step (1/16) of measurement error below, one step of headroom plus one
 * of noise above. A controller that only probes upward from the default start (queue depth / 4 =
 * 64 = 2 K here), as the reference does, stays at or above 2 K and fails these bounds, and so does
 * one that never backs off, or one that treats every latency rise as congestion.
 */
class AimdControllerSimulationTest {
    private static final long US = TimeUnit.MICROSECONDS.toNanos(1);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final int QUEUE_DEPTH = 256;
    private static final int INITIAL = QUEUE_DEPTH / 4;
    private static final int MIN = 4;
    private static final double JITTER = 0.2;

    private record Run(ModelDevice device, AimdController controller) {
        List<TickSample> history() {
            return device.history();
        }
    }

    private static Run start(long serviceNanos, int knee, long targetNanos, int demand) {
        return start(serviceNanos, knee, JITTER, 1, INITIAL, targetNanos, false, demand);
    }

    private static Run start(long serviceNanos, int knee, double jitter, long seed, int initial, long targetNanos,
                             boolean disableAdaptive, int demand) {
        ModelDevice device = new ModelDevice(serviceNanos, knee, jitter, seed);
        AimdController controller = new AimdController(initial, MIN, QUEUE_DEPTH, targetNanos, disableAdaptive,
                device.clock());
        device.attach(controller);
        device.setDemand(demand);
        return new Run(device, controller);
    }

    /** {@return the phases seen in ticks [from, to), each run of equal phases once} */
    private static List<Phase> phases(List<TickSample> h, int from, int to) {
        List<Phase> runs = new ArrayList<>();
        for (TickSample s : h.subList(from, to)) {
            if (runs.isEmpty() || runs.getLast() != s.phase()) {
                runs.add(s.phase());
            }
        }
        return runs;
    }

    /** {@return the tick, counted from {@code from}, after which the limit no longer changed before {@code to}} */
    private static int ticksToSettle(List<TickSample> h, int from, int to) {
        int last = from;
        for (int t = from + 1; t < to; t++) {
            if (h.get(t).limit() != h.get(t - 1).limit()) {
                last = t;
            }
        }
        return last - from;
    }

    private static long maxExactP99(List<TickSample> h, int from, int to) {
        return h.subList(from, to).stream().mapToLong(TickSample::exactP99Nanos).max().orElseThrow();
    }

    private static long ticksOverTarget(List<TickSample> h, int from, int to) {
        return h.subList(from, to).stream().filter(s -> s.exactP99Nanos() > s.targetNanos()).count();
    }

    private static void report(String scenario, List<TickSample> h, int from, int to, int settle) {
        TickSample last = h.get(to - 1);
        System.out.printf("%-44s limit %3d after %3d ticks, p99 %6d us (max after settling %6d us), target %6d us%n",
                scenario, last.limit(), settle, last.exactP99Nanos() / US,
                maxExactP99(h, Math.min(to - 1, from + settle + 2), to) / US, last.targetNanos() / US);
    }

    @Test
    void aKneeDeviceWithAutoTargetSettlesAtTheKnee() {
        Run run = start(200 * US, 32, 0, 256);
        run.device().runTicks(1000);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 1000);
        report("a) knee 32, auto target", h, 0, 1000, settle);

        assertThat(phases(h, 0, 1000)).containsExactly(
                Phase.BASELINE, Phase.PROBING, Phase.SETTLING, Phase.STEADY, Phase.CONVERGED);
        assertThat(h.getLast().limit()).isBetween(29, 40);
        assertThat(settle).isLessThan(100);
        // At the knee nothing queues: P99 is the slowest service time (200 us + 20%).
        assertThat(maxExactP99(h, settle + 2, 1000)).isLessThanOrEqualTo(250 * US);
        assertThat(ticksOverTarget(h, 0, 1000)).isZero();
        assertThat(h.getLast().targetNanos()).isBetween(2 * MS, 2500 * US);
    }

    @Test
    void bKneeDeviceWithAUserTargetSettlesAtTheKneeUnderTheTarget() {
        Run run = start(200 * US, 32, 2 * MS, 256);
        run.device().runTicks(1000);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 1000);
        report("b) knee 32, target 2 ms", h, 0, 1000, settle);

        assertThat(phases(h, 0, 1000)).containsExactly(
                Phase.BASELINE, Phase.PROBING, Phase.SETTLING, Phase.STEADY, Phase.CONVERGED);
        assertThat(h.getLast().limit()).isBetween(29, 40);
        assertThat(settle).isLessThan(100);
        assertThat(h).allSatisfy(s -> {
            assertThat(s.targetNanos()).isEqualTo(2 * MS);
            assertThat(s.exactP99Nanos()).isLessThanOrEqualTo(2 * MS);
            assertThat(s.p99EstimateNanos()).isLessThanOrEqualTo(2 * MS);
        });
    }

    @Test
    void bATargetTheInitialLimitViolatesIsReachedByBackingOff() {
        // 1.2 ms service: 64 in flight (2 K) queue to 2.4 ms, over the 2 ms target.
        Run run = start(1200 * US, 32, 2 * MS, 256);
        run.device().runTicks(1000);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 1000);
        report("b) knee 32, 1.2 ms service, target 2 ms", h, 0, 1000, settle);

        List<Phase> phases = phases(h, 0, 1000);
        assertThat(phases).startsWith(Phase.BASELINE, Phase.BACKOFF, Phase.SETTLING);
        assertThat(phases).contains(Phase.PROBING);
        assertThat(phases.getLast()).isIn(Phase.STEADY, Phase.CONVERGED);
        assertThat(h.getLast().limit()).isBetween(29, 40);
        assertThat(settle).isLessThan(100);
        assertThat(maxExactP99(h, settle + 2, 1000)).isLessThanOrEqualTo(2 * MS);
        assertThat(ticksOverTarget(h, 0, 1000)).isLessThanOrEqualTo(10);
    }

    @Test
    void cADeviceSlowerThanTheTargetPinsTheLimitAtTheMinimum() {
        Run run = start(5 * MS, 32, 1 * MS, 256);
        run.device().runTicks(2000);
        List<TickSample> h = run.history();
        int atMin = 0;
        while (h.get(atMin).limit() != MIN) {
            atMin++;
        }
        report("c) 5 ms service, target 1 ms", h, 0, 2000, atMin);

        assertThat(atMin).isLessThan(100);
        assertThat(h.subList(atMin, 2000)).allSatisfy(s -> assertThat(s.limit()).isEqualTo(MIN));
        assertThat(h).allSatisfy(s -> assertThat(s.limit()).isBetween(MIN, INITIAL));
        // Pinned, not oscillating: no cut (and no probe) once at the minimum.
        long atMinNanos = (atMin + 1) * ModelDevice.TICK_NANOS; // history entry t is the tick at (t + 1) * 10 ms
        assertThat(run.controller().transitions()).filteredOn(t -> t.timeNanos() > atMinNanos)
                .noneMatch(t -> t.to() == Phase.BACKOFF || t.to() == Phase.PROBING);
        assertThat(h.getLast().phase()).isIn(Phase.STEADY, Phase.CONVERGED);
    }

    @Test
    void cLateReapsFromABusyCpuDoNotCutTheLimitBelowTheKnee() {
        // Settle at the knee, then let the CPU get busy: 3% of completions are reaped 5 ms late
        // (P99 ~5 ms, 25 x the 200 us service time, over the ~2.4 ms detected target), whatever
        // is in flight. Cutting cannot lower that; the reference's rule cut to the minimum.
        Run run = start(200 * US, 32, 0, 256);
        run.device().runTicks(600);
        int settled = run.history().get(599).limit();
        run.device().setLateReaps(0.03, 5 * MS);
        run.device().runTicks(2000);
        List<TickSample> h = run.history();
        report("c) late reaps (busy CPU), auto target", h, 600, 2600, ticksToSettle(h, 600, 2600));

        assertThat(settled).isBetween(29, 40);
        assertThat(h.subList(600, 2600)).allSatisfy(s -> assertThat(s.exactP99Nanos()).isLessThan(300 * US));
        // Cuts are tried (the P99 is over the target) but undone: never two in a row, never below
        // one cut under the settled limit, and back at the knee at the end.
        int lowest = h.subList(600, 2600).stream().mapToInt(TickSample::limit).min().orElseThrow();
        assertThat(lowest).isGreaterThanOrEqualTo((int) (0.8 * settled) - 1);
        assertThat(run.controller().transitions()).anyMatch(t -> t.to() == Phase.BACKOFF && t.timeNanos() > 600 * ModelDevice.TICK_NANOS);
        assertThat(h.getLast().limit()).isBetween(29, 40);
        long ticksBelow = h.subList(600, 2600).stream().filter(s -> s.limit() < 29).count();
        assertThat(ticksBelow).isLessThan(100);
    }

    @Test
    void cCallersSlowToRunAtStartDoNotSetTheTarget() {
        // A JVM's first second: callers hold their slots long after their requests completed (a
        // cold JIT, a busy CPU), so every slot is in use while the device has about one request.
        // Its P99 then is the bare service time; 10x that (2.4 ms) is under what the device gives
        // at the limit (64 on 4 channels: 3.2 ms), and the rings were cut from 64 to 8-25 in
        // flight, below what the device needed (256 O_DIRECT readers, 0.73x FileChannel).
        Run run = start(200 * US, 4, 0, 256);
        run.device().setCallerReturnNanos(100 * MS);
        run.device().runTicks(100);
        List<TickSample> warm = run.history();
        assertThat(warm.subList(50, 100)).allSatisfy(s -> assertThat(s.exactP99Nanos()).isLessThan(500 * US));
        run.device().setCallerReturnNanos(0);
        run.device().runTicks(300);
        List<TickSample> h = run.history();
        report("c) callers slow to run at start", h, 100, 400, ticksToSettle(h, 100, 400));

        // The target comes from windows in which the device held the limit (at the start, 64
        // requests at once: P99 3.2 ms), never from the warm-up's bare service time, so nothing is
        // cut for a P99 the limit itself gives; the probe walks down to the knee instead.
        assertThat(run.controller().transitions()).noneMatch(t -> t.to() == Phase.BACKOFF);
        assertThat(h.getLast().limit()).isBetween(4, 5);
    }

    @Test
    void cLateReapsUnderAUserTargetAreObeyedAsTheReferenceDoes() {
        // A user's target is a requirement: the controller cuts for it whatever the cause.
        Run run = start(200 * US, 32, 2 * MS, 256);
        run.device().runTicks(600);
        run.device().setLateReaps(0.03, 5 * MS);
        run.device().runTicks(600);
        assertThat(run.history().getLast().limit()).isEqualTo(MIN);
    }

    @Test
    void cACutThatPaysIsKeptAndTheDescentGoesOn() {
        // The device slows for good (K 8, 1 ms): latency is queueing, each cut lowers it, and the
        // trials let the descent reach the new knee (as dADeviceThatSlowsDown... checks in full).
        Run run = start(200 * US, 32, 0, 256);
        run.device().runTicks(600);
        run.device().setDevice(1000 * US, 8);
        run.device().runTicks(600);
        List<TickSample> h = run.history();
        assertThat(h.get(1199).limit()).isBetween(8, 12);
        assertThat(run.controller().transitions()).filteredOn(t -> t.timeNanos() > 600 * ModelDevice.TICK_NANOS)
                .filteredOn(t -> t.to() == Phase.BACKOFF).hasSizeGreaterThanOrEqualTo(3);
    }

    @Test
    void dADeviceThatSlowsDownIsBackedOffAndReprobedWhenItRecovers() {
        Run run = start(200 * US, 32, 0, 256);
        run.device().runTicks(600);
        // Slow: 5 x the service time and a quarter of the channels (K = 8): 20 x fewer IOPS.
        run.device().setDevice(1000 * US, 8);
        run.device().runTicks(600);
        run.device().setDevice(200 * US, 32);
        run.device().runTicks(600);
        List<TickSample> h = run.history();
        int slowSettle = ticksToSettle(h, 600, 1200);
        int fastSettle = ticksToSettle(h, 1200, 1800);
        report("d) slow phase (K 8, 1 ms)", h, 600, 1200, slowSettle);
        report("d) fast again (K 32, 200 us)", h, 1200, 1800, fastSettle);

        List<Phase> slow = phases(h, 600, 1200);
        assertThat(slow).startsWith(Phase.CONVERGED, Phase.BACKOFF);
        assertThat(slow).contains(Phase.PROBING);
        assertThat(slow.getLast()).isIn(Phase.STEADY, Phase.CONVERGED);
        assertThat(h.get(1199).limit()).isBetween(8, 12);
        assertThat(slowSettle).isLessThan(150);
        assertThat(ticksOverTarget(h, 600 + slowSettle + 2, 1200)).isZero();

        List<Phase> fast = phases(h, 1200, 1800);
        assertThat(fast).startsWith(h.get(1199).phase(), Phase.PROBING);
        assertThat(fast.getLast()).isIn(Phase.STEADY, Phase.CONVERGED);
        assertThat(h.get(1799).limit()).isBetween(29, 40);
        assertThat(fastSettle).isLessThan(100);
        assertThat(ticksOverTarget(h, 1200, 1800)).isZero();
    }

    @Test
    void eBurstyDemandNeitherRunsAwayNorFlaps() {
        Run run = start(200 * US, 32, 0, 256);
        for (int burst = 0; burst < 40; burst++) {
            run.device().setDemand(burst % 2 == 0 ? 256 : 4);
            run.device().runTicks(50);
        }
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 2000);
        report("e) demand 256/4 every 500 ms", h, 0, 2000, settle);

        assertThat(h).allSatisfy(s -> assertThat(s.limit()).isBetween(MIN, QUEUE_DEPTH));
        assertThat(h.subList(100, 2000)).allSatisfy(s -> assertThat(s.limit()).isBetween(29, 40));
        assertThat(run.controller().transitions()).hasSizeLessThan(10);
        assertThat(ticksOverTarget(h, 0, 2000)).isZero();
    }

    @Test
    void eBurstyDemandStartingLowProbesOnlyOnceDemandArrives() {
        Run run = start(200 * US, 32, 0, 4);
        for (int burst = 0; burst < 40; burst++) {
            run.device().setDemand(burst % 2 == 0 ? 4 : 256);
            run.device().runTicks(50);
        }
        List<TickSample> h = run.history();
        report("e) demand 4/256 every 500 ms", h, 0, 2000, ticksToSettle(h, 0, 2000));

        assertThat(h.subList(0, 50)).allSatisfy(s -> {
            assertThat(s.phase()).isEqualTo(Phase.BASELINE);
            assertThat(s.limit()).isEqualTo(INITIAL);
        });
        assertThat(h).allSatisfy(s -> assertThat(s.limit()).isBetween(MIN, QUEUE_DEPTH));
        assertThat(h.getLast().limit()).isBetween(29, 40);
        assertThat(run.controller().transitions()).hasSizeLessThan(10);
    }

    @Test
    void fAPageCacheWorkloadBelowTheLimitIsLeftAlone() {
        Run run = start(5 * US, 64, 0, 8);
        run.device().runTicks(300);
        List<TickSample> h = run.history();
        report("f) page cache, 5 us, 8 callers", h, 0, 300, ticksToSettle(h, 0, 300));

        assertThat(h).allSatisfy(s -> {
            assertThat(s.limit()).isEqualTo(INITIAL);
            assertThat(s.phase()).isEqualTo(Phase.BASELINE);
        });
        assertThat(run.controller().transitions()).isEmpty();
        assertThat(run.controller().batchThreshold()).isEqualTo(2);
        // Stats are still kept.
        assertThat(run.controller().evaluations()).isGreaterThanOrEqualTo(299);
        assertThat(run.controller().p99LatencyNanos()).isBetween(1L, 50 * US);
        assertThat(run.controller().throughputBytesPerSecond()).isGreaterThan(1e9);
    }

    @Test
    void gClockStepsBackAndLongGapsBreakNothing() {
        Run run = start(200 * US, 32, 0, 256);
        run.device().runTicks(30);                            // mid-probe
        run.device().stepClock(-TimeUnit.SECONDS.toNanos(5));
        run.device().runTicks(100);
        run.device().runWithoutTicks(TimeUnit.SECONDS.toNanos(10));
        run.device().runTicks(100);
        run.device().stepClock(-TimeUnit.HOURS.toNanos(1));   // settled
        run.device().runTicks(100);
        run.device().setDevice(200 * US, 8);                  // and it still reacts
        run.device().runTicks(300);
        List<TickSample> h = run.history();
        report("g) clock steps back, 10 s without ticks", h, 0, 330, ticksToSettle(h, 0, 330));
        report("g) then the knee drops to 8", h, 330, 630, ticksToSettle(h, 330, 630));

        assertThat(h).allSatisfy(s -> assertThat(s.limit()).isBetween(MIN, QUEUE_DEPTH));
        assertThat(h.get(329).limit()).isBetween(29, 40);
        assertThat(h.get(329).phase()).isIn(Phase.STEADY, Phase.CONVERGED);
        assertThat(h.getLast().limit()).isBetween(7, 12);
        double throughput = run.controller().throughputBytesPerSecond();
        assertThat(Double.isFinite(throughput) && throughput > 0).isTrue();
    }

    @Test
    void gIrregularTicksStillSettleAtTheKnee() {
        Run run = start(200 * US, 32, 0, 256);
        run.device().setTickJitter(0.8);                      // ticks 2 to 18 ms apart
        run.device().runTicks(300);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 300);
        report("g) ticks 2 to 18 ms apart", h, 0, 300, settle);
        assertThat(h.getLast().limit()).isBetween(29, 40);
        assertThat(settle).isLessThan(150);
    }

    @Test
    void hDisabledAdaptiveTuningHoldsTheLimitAndNeverResetsTheHistogram() {
        Run run = start(1 * MS, 32, JITTER, 1, INITIAL, 0, true, 256);
        long lastCount = 0;
        for (int i = 0; i < 100; i++) {
            run.device().runTicks(100);
            long count = run.controller().histogram().count();
            assertThat(count).isGreaterThan(lastCount);
            lastCount = count;
        }
        List<TickSample> h = run.history();
        assertThat(h).hasSize(10_000).allSatisfy(s -> {
            assertThat(s.limit()).isEqualTo(INITIAL);
            assertThat(s.phase()).isEqualTo(Phase.BASELINE);
        });
        assertThat(run.controller().transitions()).isEmpty();
        assertThat(run.controller().histogram().snapshot().totalCount()).isEqualTo(lastCount);
        // 64 in flight on 32 channels of 1 ms: 32 completions per ms, for 100 s.
        assertThat(lastCount).isBetween(3_150_000L, 3_250_000L);
        System.out.printf("%-44s limit %3d for 10000 ticks, %d samples kept%n", "h) adaptive tuning disabled",
                h.getLast().limit(), lastCount);
    }

    @Test
    void aKneeAboveTheStartIsFoundByClimbing() {
        Run run = start(200 * US, 128, 0, 256);
        run.device().runTicks(300);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 300);
        report("knee 128 (above the start)", h, 0, 300, settle);
        assertThat(h.getLast().limit()).isBetween(115, 160);
        assertThat(settle).isLessThan(100);
    }

    @Test
    void aSmallStartClimbsToTheKnee() {
        Run run = start(200 * US, 32, JITTER, 1, 8, 0, false, 256);
        run.device().runTicks(300);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 300);
        report("knee 32 from 8", h, 0, 300, settle);
        assertThat(h.getLast().limit()).isBetween(29, 40);
        assertThat(settle).isLessThan(100);
    }

    @Test
    void noisyServiceTimesStillSettleAtTheKnee() {
        for (long seed = 1; seed <= 3; seed++) {
            Run run = start(200 * US, 32, 0.9, seed, INITIAL, 0, false, 256);
            run.device().runTicks(300);
            List<TickSample> h = run.history();
            report("knee 32, service 200 us +-90%, seed " + seed, h, 0, 300, ticksToSettle(h, 0, 300));
            assertThat(h.getLast().limit()).isBetween(29, 40);
        }
    }

    @Test
    void aSlowDeviceIsMeasuredOverManyLatencies() {
        // Few completions per window (2 ms service): the knee is still found, it just takes longer.
        Run run = start(2 * MS, 16, 0.5, 1, INITIAL, 0, false, 256);
        run.device().runTicks(1000);
        List<TickSample> h = run.history();
        int settle = ticksToSettle(h, 0, 1000);
        report("knee 16, service 2 ms +-50%", h, 0, 1000, settle);
        assertThat(h.getLast().limit()).isBetween(15, 20);
        assertThat(settle).isLessThan(600);
    }

    @Test
    void aConvergedRingReprobesNowAndThenAndFindsMoreParallelism() {
        Run run = start(200 * US, 32, 0, 256);
        run.device().runTicks(600);
        assertThat(run.controller().phase()).isEqualTo(Phase.CONVERGED);
        // Twice the channels, same service time: nothing at the current limit changes.
        run.device().setDevice(200 * US, 64);
        run.device().runTicks(3200);
        List<TickSample> h = run.history();
        report("knee 32 -> 64 while converged", h, 600, 3800, ticksToSettle(h, 600, 3800));
        assertThat(h.get(600 + AimdController.REPROBE_EVALS - 100).limit()).isBetween(29, 40);
        assertThat(h.getLast().limit()).isBetween(58, 80);
    }
}
