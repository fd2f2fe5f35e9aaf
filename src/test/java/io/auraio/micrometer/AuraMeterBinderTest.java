package io.auraio.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link AuraMeterBinder} on a {@link SimpleMeterRegistry}, against the engine's own statistics. */
@ExtendWith(IoUringAvailable.class)
class AuraMeterBinderTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final int BLOCK = Direct.ALIGN;

    @Test
    void metersReadTheEngineAndItsRingsTaggedByEngineAndRing() throws Exception {
        Path path = dir.resolve("metrics.dat");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(32).name("meters").build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            new AuraMeterBinder(engine, Tags.of("app", "test")).bindTo(registry);
            FunctionCounter ops = registry.get("auraio.operations").tags("engine", "meters", "app", "test")
                    .functionCounter();
            double opsBefore = ops.count();
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 40; i++) {
                file.write(block, (long) i * BLOCK);
            }
            assertThat(ops.count() - opsBefore).isEqualTo(40);
            assertThat(registry.get("auraio.bytes").functionCounter().count())
                    .isEqualTo(engine.stats().bytesTransferred()).isEqualTo(40.0 * BLOCK);
            assertThat(registry.get("auraio.bytes").functionCounter().getId().getBaseUnit()).isEqualTo("bytes");

            double ringBytes = 0;
            for (int i = 0; i < 2; i++) {
                String ring = Integer.toString(i);
                FunctionCounter bytes = registry.get("auraio.ring.bytes").tags("engine", "meters", "ring", ring)
                        .functionCounter();
                assertThat(bytes.count()).isEqualTo(engine.ringStats(i).bytesTransferred());
                ringBytes += bytes.count();
                int index = i;
                Gauge limit = registry.get("auraio.ring.inflight.limit").tag("ring", ring).gauge();
                assertReadAlike("limit", limit::value, () -> engine.ringStats(index).inFlightLimit());
                assertThat(registry.get("auraio.ring.queue.depth").tag("ring", ring).gauge().value()).isEqualTo(32);
                Gauge phase = registry.get("auraio.ring.phase").tag("ring", ring).gauge();
                assertReadAlike("phase", phase::value, () -> engine.ringStats(index).aimdPhase());
                assertThat(registry.get("auraio.ring.inflight").tag("ring", ring).gauge().value()).isZero();
                TimeGauge p99 = registry.get("auraio.ring.latency.p99").tag("ring", ring).timeGauge();
                assertReadAlike("p99", () -> p99.value(TimeUnit.MILLISECONDS),
                        () -> engine.ringStats(index).p99LatencyMs());
            }
            assertThat(ringBytes).isEqualTo(40.0 * BLOCK);
            assertThat(registry.getMeters()).allSatisfy(m -> {
                assertThat(m.getId().getName()).startsWith("auraio.").matches("[a-z0-9.]+");
                assertThat(m.getId().getTag("engine")).isEqualTo("meters");
                assertThat(m.getId().getTag("app")).isEqualTo("test");
            });
            // 4 engine meters, 9 per ring.
            assertThat(registry.getMeters()).hasSize(4 + 2 * 9);
            assertThat(registry.getMeters().stream().map(Meter::getId).map(Meter.Id::getName).distinct())
                    .contains("auraio.ring.inflight", "auraio.ring.throughput", "auraio.ring.batch.threshold",
                            "auraio.inflight", "auraio.buffers.allocated");
        }
        // A closed engine's meters keep its last values rather than failing the registry's readers.
        assertThat(registry.get("auraio.operations").functionCounter().count()).isGreaterThanOrEqualTo(40);
    }

    /**
     * Asserts that a meter reads what the engine's statistics say. The ring's controller updates
     * its limit, phase and P99 every 10 ms: two reads a tick fell between differ, so the pair is
     * read again (up to 100 times) until no tick separated them.
     */
    private static void assertReadAlike(String what, java.util.function.DoubleSupplier meter,
                                        java.util.function.DoubleSupplier stats) {
        double fromMeter = meter.getAsDouble();
        double fromStats = stats.getAsDouble();
        for (int tries = 0; fromMeter != fromStats && tries < 100; tries++) {
            fromStats = stats.getAsDouble();
            fromMeter = meter.getAsDouble();
        }
        assertThat(fromMeter).as(what).isEqualTo(fromStats);
    }
}
