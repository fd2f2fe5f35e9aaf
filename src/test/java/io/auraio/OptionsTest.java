package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Options}: the reference's defaults, each value checked with the field named, copies. No io_uring needed. */
class OptionsTest {
    @Test
    void defaultsMatchTheReference() {
        Options o = Options.defaults();
        assertThat(o.queueDepth()).isEqualTo(256);
        assertThat(o.ringCount()).isZero();
        assertThat(o.initialInFlight()).isEqualTo(64);
        assertThat(o.minInFlight()).isEqualTo(4);
        assertThat(o.maxP99LatencyMs()).isZero();
        assertThat(o.bufferAlignment()).isEqualTo(4096);
        assertThat(o.disableAdaptive()).isFalse();
        assertThat(o.enableSqpoll()).isFalse();
        assertThat(o.sqpollIdleMs()).isEqualTo(1000);
        assertThat(o.ringSelect()).isEqualTo(RingSelect.ADAPTIVE);
        assertThat(Options.builder().build()).usingRecursiveComparison().isEqualTo(o);
    }

    @FunctionalInterface
    private interface Setting {
        void apply(Options.Builder b);
    }

    static Stream<Arguments> invalidValues() {
        return Stream.of(
                invalid("queueDepth", b -> b.queueDepth(-1)),
                invalid("queueDepth", b -> b.queueDepth(0)),
                invalid("queueDepth", b -> b.queueDepth(40_000)),
                invalid("queueDepth", b -> b.queueDepth(Options.MAX_QUEUE_DEPTH + 1)),
                invalid("ringCount", b -> b.ringCount(-1)),
                invalid("ringCount", b -> b.ringCount(1025)),
                invalid("initialInFlight", b -> b.initialInFlight(-1)),
                invalid("initialInFlight", b -> b.queueDepth(16).initialInFlight(17).build()),
                invalid("initialInFlight", b -> b.initialInFlight(257).build()),
                invalid("minInFlight", b -> b.minInFlight(0)),
                invalid("minInFlight", b -> b.minInFlight(-3)),
                invalid("minInFlight", b -> b.queueDepth(16).minInFlight(17).build()),
                invalid("minInFlight", b -> b.initialInFlight(8).minInFlight(9).build()),
                invalid("maxP99LatencyMs", b -> b.maxP99LatencyMs(-1)),
                invalid("maxP99LatencyMs", b -> b.maxP99LatencyMs(Double.NaN)),
                invalid("maxP99LatencyMs", b -> b.maxP99LatencyMs(Double.POSITIVE_INFINITY)),
                invalid("maxP99LatencyMs", b -> b.maxP99LatencyMs(Double.NEGATIVE_INFINITY)),
                invalid("bufferAlignment", b -> b.bufferAlignment(3)),
                invalid("bufferAlignment", b -> b.bufferAlignment(0)),
                invalid("bufferAlignment", b -> b.bufferAlignment(-4096)),
                invalid("bufferAlignment", b -> b.bufferAlignment(4)),
                invalid("bufferAlignment", b -> b.bufferAlignment(2L << 20)),
                invalid("bufferAlignment", b -> b.bufferAlignment(4097)),
                invalid("sqpollIdleMs", b -> b.sqpollIdleMs(-1)));
    }

    private static Arguments invalid(String field, Setting setting) {
        return Arguments.of(field, setting);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("invalidValues")
    void invalidValueIsRefusedWithTheFieldNamed(String field, Setting setting) {
        assertThatThrownBy(() -> setting.apply(Options.builder()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(field + " must be");
    }

    @Test
    void nullRingSelectIsRefused() {
        assertThatThrownBy(() -> Options.builder().ringSelect(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("ringSelect");
    }

    @Test
    void valuesAtTheLimitsAreAccepted() {
        Options low = Options.builder().queueDepth(1).ringCount(1).minInFlight(1).bufferAlignment(8)
                .maxP99LatencyMs(0).sqpollIdleMs(0).build();
        assertThat(low.queueDepth()).isEqualTo(1);
        assertThat(low.initialInFlight()).isEqualTo(1);
        assertThat(low.minInFlight()).isEqualTo(1);
        assertThat(low.bufferAlignment()).isEqualTo(8);
        Options high = Options.builder().queueDepth(Options.MAX_QUEUE_DEPTH).ringCount(1024)
                .initialInFlight(Options.MAX_QUEUE_DEPTH).minInFlight(Options.MAX_QUEUE_DEPTH)
                .bufferAlignment(1 << 20).maxP99LatencyMs(Double.MAX_VALUE).build();
        assertThat(high.queueDepth()).isEqualTo(Options.MAX_QUEUE_DEPTH);
        assertThat(high.ringCount()).isEqualTo(1024);
        assertThat(high.minInFlight()).isEqualTo(Options.MAX_QUEUE_DEPTH);
        assertThat(high.bufferAlignment()).isEqualTo(1 << 20);
    }

    @Test
    void initialInFlightDefaultsToAQuarterOfTheQueueDepthAndTheDefaultFloorShrinksToFit() {
        assertThat(Options.builder().queueDepth(1000).build().initialInFlight()).isEqualTo(250);
        Options small = Options.builder().queueDepth(8).build();
        assertThat(small.initialInFlight()).isEqualTo(2);
        assertThat(small.minInFlight()).isEqualTo(2);
        Options tiny = Options.builder().queueDepth(2).build();
        assertThat(tiny.initialInFlight()).isEqualTo(1);
        assertThat(tiny.minInFlight()).isEqualTo(1);
    }

    @Test
    void aBuilderBuildsTheSameWayAgainAfterTheQueueDepthChanges() {
        Options.Builder b = Options.builder();
        assertThat(b.queueDepth(8).build().minInFlight()).isEqualTo(2);
        Options again = b.queueDepth(256).build();
        assertThat(again.minInFlight()).isEqualTo(4);
        assertThat(again.initialInFlight()).isEqualTo(64);
    }

    @Test
    void toBuilderRoundTripKeepsEveryValue() {
        Options o = Options.builder().queueDepth(512).ringCount(3).initialInFlight(100).minInFlight(7)
                .maxP99LatencyMs(2.5).bufferAlignment(512).disableAdaptive(true).enableSqpoll(true)
                .sqpollIdleMs(20).ringSelect(RingSelect.ROUND_ROBIN).build();
        Options copy = o.toBuilder().build();
        assertThat(copy).isNotSameAs(o).usingRecursiveComparison().isEqualTo(o);
        assertThat(copy.toString()).isEqualTo(o.toString());
        assertThat(Options.defaults().toBuilder().build()).usingRecursiveComparison().isEqualTo(Options.defaults());
    }

    @Test
    void toBuilderLeavesTheOriginalUnchanged() {
        Options o = Options.builder().queueDepth(64).build();
        Options changed = o.toBuilder().ringCount(5).ringSelect(RingSelect.CPU_LOCAL).build();
        assertThat(changed.ringCount()).isEqualTo(5);
        assertThat(changed.ringSelect()).isEqualTo(RingSelect.CPU_LOCAL);
        assertThat(o.ringCount()).isZero();
        assertThat(o.ringSelect()).isEqualTo(RingSelect.ADAPTIVE);
    }

    /** A default that was never set keeps following the queue depth in a copy, as in a new builder. */
    @Test
    void toBuilderOfDefaultsAcceptsASmallerQueueDepth() {
        Options copy = Options.defaults().toBuilder().queueDepth(16).build();
        assertThat(copy.queueDepth()).isEqualTo(16);
        assertThat(copy).usingRecursiveComparison().isEqualTo(Options.builder().queueDepth(16).build());
    }

    @Test
    void toStringNamesEveryField() {
        assertThat(Options.defaults().toString()).contains("queueDepth=256", "ringCount=0", "initialInFlight=64",
                "minInFlight=4", "maxP99LatencyMs=0.0", "bufferAlignment=4096", "disableAdaptive=false",
                "enableSqpoll=false", "sqpollIdleMs=1000", "ringSelect=ADAPTIVE");
    }
}
