package io.auraio.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraIOException;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.RingSelect;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.PropagationMode;

/**
 * {@link Options.Builder} with arbitrary values: each setter keeps a value in its documented range
 * and throws {@link IllegalArgumentException} for anything else; {@code build()} either yields
 * consistent options (1 &lt;= minInFlight &lt;= initialInFlight &lt;= queueDepth) that survive
 * {@code toBuilder()}, or throws {@link IllegalArgumentException}; and an engine made from small
 * valid options starts and closes, or refuses with an {@link AuraIOException}.
 */
class PropertyOptionsTest {
    @Provide
    Arbitrary<Integer> ints() {
        return Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.integers()),
                Tuple.of(3, Arbitraries.integers().between(-2, 300)),
                Tuple.of(1, Arbitraries.of(Integer.MIN_VALUE, Integer.MAX_VALUE, Options.MAX_QUEUE_DEPTH,
                        Options.MAX_QUEUE_DEPTH + 1, 1024, 1025)));
    }

    @Provide
    Arbitrary<Double> latencies() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.doubles().between(-10, 100)),
                Tuple.of(1, Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0,
                        0.0, Double.MIN_VALUE, Double.MAX_VALUE)));
    }

    @Provide
    Arbitrary<Long> alignments() {
        return Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.longs()),
                Tuple.of(3, Arbitraries.integers().between(0, 24).map(i -> 1L << i)),
                Tuple.of(1, Arbitraries.of(0L, -8L, 3L, 4097L, Long.MIN_VALUE)));
    }

    @Property(tries = 500, shrinking = ShrinkingMode.BOUNDED)
    void everySetterKeepsAValueInRangeOrThrowsIllegalArgumentException(
            @ForAll("ints") int queueDepth, @ForAll("ints") int ringCount, @ForAll("ints") int initialInFlight,
            @ForAll("ints") int minInFlight, @ForAll("latencies") double p99, @ForAll("alignments") long alignment,
            @ForAll("ints") int sqpollIdle, @ForAll boolean disableAdaptive, @ForAll RingSelect select,
            @ForAll @IntRange(min = 0, max = 127) int setMask) {
        Options.Builder b = Options.builder();
        set(setMask, 0, () -> b.queueDepth(queueDepth), queueDepth >= 1 && queueDepth <= Options.MAX_QUEUE_DEPTH);
        set(setMask, 1, () -> b.ringCount(ringCount), ringCount >= 0 && ringCount <= 1024);
        set(setMask, 2, () -> b.initialInFlight(initialInFlight), initialInFlight >= 0);
        set(setMask, 3, () -> b.minInFlight(minInFlight), minInFlight >= 1);
        set(setMask, 4, () -> b.maxP99LatencyMs(p99), p99 >= 0 && !Double.isInfinite(p99));
        set(setMask, 5, () -> b.bufferAlignment(alignment),
                alignment >= 8 && alignment <= (1 << 20) && Long.bitCount(alignment) == 1);
        set(setMask, 6, () -> b.sqpollIdleMs(sqpollIdle), sqpollIdle >= 0);
        b.disableAdaptive(disableAdaptive).ringSelect(select);

        Options o;
        try {
            o = b.build();
        } catch (IllegalArgumentException e) {
            assertThat(e).hasMessageMatching("(initialInFlight|minInFlight) must be .*");
            return;
        }
        assertThat(o.queueDepth()).isBetween(1, Options.MAX_QUEUE_DEPTH);
        assertThat(o.ringCount()).isBetween(0, 1024);
        assertThat(o.minInFlight()).isGreaterThanOrEqualTo(1).isLessThanOrEqualTo(o.initialInFlight());
        assertThat(o.initialInFlight()).isLessThanOrEqualTo(o.queueDepth());
        assertThat(o.maxP99LatencyMs()).isNotNaN().isGreaterThanOrEqualTo(0).isFinite();
        assertThat(Long.bitCount(o.bufferAlignment())).isEqualTo(1);
        assertThat(o.disableAdaptive()).isEqualTo(disableAdaptive);
        assertThat(o.ringSelect()).isEqualTo(select);
        assertThat(o.toBuilder().build().toString()).as("toBuilder round trip").isEqualTo(o.toString());
    }

    /** Calls a setter if its bit of {@code mask} is set; checks it throws exactly when the value is out of range. */
    private static void set(int mask, int bit, Runnable setter, boolean valid) {
        if ((mask & (1 << bit)) == 0) {
            return;
        }
        try {
            setter.run();
            assertThat(valid).as("setter %d accepted an out-of-range value", bit).isTrue();
        } catch (IllegalArgumentException e) {
            assertThat(valid).as("setter %d refused a valid value: %s", bit, e.getMessage()).isFalse();
        }
    }

    @Property(tries = 40, shrinking = ShrinkingMode.BOUNDED)
    @AddLifecycleHook(value = IoUringAvailableHook.class, propagateTo = PropagationMode.NO_DESCENDANTS)
    void anEngineFromSmallValidOptionsStartsAndClosesOrRefusesWithAnAuraIOException(
            @ForAll @IntRange(min = 1, max = 4096) int queueDepth, @ForAll @IntRange(min = 1, max = 3) int rings,
            @ForAll @IntRange(min = 0, max = 64) int initial, @ForAll boolean disableAdaptive,
            @ForAll RingSelect select, @ForAll @IntRange(min = 3, max = 16) int alignmentLog2) {
        Options o;
        try {
            o = Options.builder().queueDepth(queueDepth).ringCount(rings).initialInFlight(Math.min(initial, queueDepth))
                    .disableAdaptive(disableAdaptive).ringSelect(select).bufferAlignment(1L << alignmentLog2).build();
        } catch (IllegalArgumentException e) {
            throw new AssertionError("valid options refused", e);
        }
        try (Engine engine = Engine.create(o)) {
            assertThat(engine.ringCount()).isEqualTo(rings);
            assertThat(engine.stats().currentInFlight()).isZero();
            for (int i = 0; i < rings; i++) {
                assertThat(engine.ringStats(i).queueDepth()).isEqualTo(queueDepth);
            }
            try (var buffer = engine.allocateBuffer(100)) {
                assertThat(buffer.segment().address() % (1L << alignmentLog2)).isZero();
            }
        } catch (AuraIOException e) {
            // a refusal by the kernel (ENOMEM under the memlock limit) is documented
            assertThat(e.errno()).isPositive();
        }
    }
}
