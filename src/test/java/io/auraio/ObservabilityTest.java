package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.auraio.management.EngineMXBean;
import io.auraio.management.LatencyPercentiles;
import io.auraio.management.RingMXBean;
import io.auraio.micrometer.AuraMeterBinder;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.JMX;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenMBeanAttributeInfo;
import javax.management.openmbean.OpenType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The observability surface against its documentation: stats, MXBeans, Micrometer, the
 * Prometheus config; the first tests are cases that differed once (each fails without its fix).
 */
@ExtendWith(IoUringAvailable.class)
class ObservabilityTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();
    private static final int PAGE = 4096;

    private static ObjectName engineName(String name) throws Exception {
        return new ObjectName("io.auraio:type=Engine,name=" + name);
    }

    private static ObjectName ringName(String name, int ring) throws Exception {
        return new ObjectName("io.auraio:type=Ring,engine=" + name + ",ring=" + ring);
    }

    // ---- cases that differed once ---------------------------------------------------------------------------

    /**
     * EngineMXBean#setTargetP99LatencyMillis: "the target, {@code > 0}; or 0 to let each ring
     * detect it". A positive target under 1 ns stays a target of 1 ns, as Options.maxP99LatencyMs
     * and Engine#setMaxP99Latency keep it (it was truncated to 0, the automatic target).
     */
    @Test
    void aPositiveJmxTargetUnderOneNanosecondIsNotSilentlyTheAutomaticTarget() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("observability-target-tiny").build())) {
            EngineMonitoring.awaitRegistrations();
            EngineMXBean bean = JMX.newMXBeanProxy(SERVER, engineName("observability-target-tiny"), EngineMXBean.class);
            bean.setTargetP99LatencyMillis(1e-7); // 0.1 ns: positive, finite
            assertThat(engine.core().ring(0).controller().userTargetP99Nanos())
                    .as("a positive target set through JMX must not become 0 (automatic)")
                    .isPositive();
            assertThat(bean.getTargetP99LatencyMillis()).isPositive();
        }
    }

    /**
     * A target above a day is "no target" and capped at a day by Engine#setMaxP99Latency and
     * Options, and through JMX too (it became Long.MAX_VALUE ns there: the double-to-long cast
     * saturated, so the same setting read differently depending on where it was made).
     */
    @Test
    void aHugeJmxTargetIsCappedAsEngineSetMaxP99LatencyCapsIt() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("observability-target-huge").build())) {
            EngineMonitoring.awaitRegistrations();
            EngineMXBean bean = JMX.newMXBeanProxy(SERVER, engineName("observability-target-huge"), EngineMXBean.class);
            engine.setMaxP99Latency(java.time.Duration.ofDays(365_000));
            long viaEngine = engine.core().ring(0).controller().userTargetP99Nanos();
            bean.setTargetP99LatencyMillis(365_000.0 * 86_400_000);
            long viaJmx = engine.core().ring(0).controller().userTargetP99Nanos();
            assertThat(viaEngine).isEqualTo(TimeUnit.DAYS.toNanos(1));
            assertThat(viaJmx).as("the same target through JMX").isEqualTo(viaEngine);
        }
    }

    /**
     * Stats#opsCompleted: "requests completed, exact: through the rings plus reads served by the
     * caller-thread fast path". One read of a file whose first page is in the page cache and the
     * second is not (a hole past a 4 KiB buffered write) is one request.
     */
    @Test
    void aReadPartlyServedFromThePageCacheIsOneOperation() throws Exception {
        Path path = dir.resolve("partly-cached");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             Arena arena = Arena.ofConfined()) {
            MemorySegment two = Direct.aligned(arena, 2 * PAGE);
            try (AuraFile buffered = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                buffered.writeFully(two.asSlice(0, PAGE), 0); // page 0 cached
                try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(path.toFile(), "rw")) {
                    raf.setLength(2 * PAGE); // page 1: a hole, not in the page cache
                }
                Stats before = engine.stats();
                long ringBefore = engine.ringStats(0).opsCompleted();
                int r = buffered.read(two, 0);
                Stats after = engine.stats();
                long ringOps = engine.ringStats(0).opsCompleted() - ringBefore;
                long ops = after.opsCompleted() - before.opsCompleted();
                assertThat(after.bytesTransferred() - before.bytesTransferred()).isEqualTo(r);
                assertThat(ops).as("one read call of %d bytes (ring requests %d), one request", r, ringOps)
                        .isEqualTo(1);
            }
        }
    }

    // ---- verified edge cases ----------------------------------------------------------------------

    /** Micrometer's doc: "a closed engine's meters keep its last values"; JMX clients poll forever. */
    @Test
    void gettersOfAClosedEngineKeepTheLastValuesAndDoNotThrow() throws Exception {
        Path path = dir.resolve("closed");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Engine engine = Engine.create(Options.builder().ringCount(2).name("observability-closed").build());
        try (AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            new AuraMeterBinder(engine).bindTo(registry);
            MemorySegment block = Direct.aligned(arena, PAGE);
            for (int i = 0; i < 20; i++) {
                file.write(block, (long) i * PAGE);
            }
        }
        Stats open = engine.stats();
        engine.close();
        assertThat(engine.isClosed()).isTrue();
        assertThatCode(() -> {
            Stats s = engine.stats();
            assertThat(s.opsCompleted()).isEqualTo(open.opsCompleted());
            assertThat(s.bytesTransferred()).isEqualTo(20L * PAGE);
            assertThat(s.currentInFlight()).isZero();
            for (int i = 0; i < engine.ringCount(); i++) {
                engine.ringStats(i);
                engine.histogram(i);
            }
            assertThat(engine.bufferStats().totalBuffers()).isZero();
            assertThat(EngineMonitoring.percentiles(List.of(engine.histogram(0))).samples()).isNotNegative();
        }).doesNotThrowAnyException();
        assertThat(registry.get("auraio.bytes").functionCounter().count()).isEqualTo(20.0 * PAGE);
        registry.getMeters().forEach(m -> m.measure().forEach(ms -> assertThat(ms.getValue()).isNotNaN()));
        EngineMonitoring.awaitRegistrations();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,name=observability-closed"), null)).isEmpty();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,engine=observability-closed"), null)).isEmpty();
    }

    /** One name reused by engine after engine, with and without waiting for registration. */
    @Test
    void enginesCreatedAndClosedInALoopUnderOneNameLeaveNoMXBeans() throws Exception {
        for (int i = 0; i < 25; i++) {
            try (Engine engine = Engine.create(Options.builder().ringCount(2).name("observability-loop").build())) {
                assertThat(engine.name()).isEqualTo("observability-loop");
                if (i % 2 == 0) {
                    EngineMonitoring.awaitRegistrations();
                    assertThat(SERVER.isRegistered(engineName("observability-loop"))).isTrue();
                    assertThat(SERVER.isRegistered(ringName("observability-loop", 1))).isTrue();
                    // The registered bean is this engine's, not an earlier one's.
                    assertThat(SERVER.getAttribute(engineName("observability-loop"), "RingCount")).isEqualTo(2);
                    assertThat(JMX.newMXBeanProxy(SERVER, engineName("observability-loop"), EngineMXBean.class)
                            .getStats().opsCompleted()).isZero();
                }
            }
        }
        EngineMonitoring.awaitRegistrations();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,name=observability-loop"), null)).isEmpty();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,engine=observability-loop"), null)).isEmpty();
    }

    /** Nothing (MBean server, JFR sources, pending registrations) keeps a closed engine reachable. */
    @Test
    void aClosedEngineIsCollectable() throws Exception {
        WeakReference<Engine> ref = createUseAndClose(dir.resolve("gc"));
        EngineMonitoring.awaitRegistrations();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (ref.get() != null && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(ref.get()).as("closed engine still reachable").isNull();
    }

    private static WeakReference<Engine> createUseAndClose(Path path) throws Exception {
        Engine engine = Engine.create(Options.builder().ringCount(1).name("observability-gc").build());
        try (AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            file.writeFully(arena.allocate(PAGE), 0);
            EngineMonitoring.awaitRegistrations();
            assertThat(SERVER.isRegistered(engineName("observability-gc"))).isTrue();
        }
        engine.close();
        return new WeakReference<>(engine);
    }

    /** A fresh engine: no samples, no window: every rate and percentile 0, never NaN or negative. */
    @Test
    void anIdleEngineReportsZerosNotNaN() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).name("observability-idle").build())) {
            EngineMonitoring.awaitRegistrations();
            Stats s = engine.stats();
            assertThat(s.throughputBps()).isZero();
            assertThat(s.p99LatencyMs()).isZero();
            EngineMXBean bean = JMX.newMXBeanProxy(SERVER, engineName("observability-idle"), EngineMXBean.class);
            LatencyPercentiles p = bean.getLatencyPercentiles();
            assertThat(List.of(p.p50Millis(), p.p90Millis(), p.p99Millis(), p.p999Millis())).containsOnly(0.0);
            assertThat(bean.getStats().p99LatencyMillis()).isZero();
            RingMXBean ring = JMX.newMXBeanProxy(SERVER, ringName("observability-idle", 1), RingMXBean.class);
            assertThat(ring.getP99LatencyMillis()).isZero();
            assertThat(ring.getThroughputBytesPerSecond()).isZero();
            assertThat(engine.histogram(0).percentile(99)).isZero();
        }
    }

    /**
     * Accumulating histogram (adaptive off): JMX percentiles ordered, within the histogram's range,
     * equal to Histogram#percentile, samples equal to the bucket sum; ops exact on the ring path.
     */
    @Test
    void percentilesAndCountsAgreeOnTheRingPath() throws Exception {
        Path path = dir.resolve("ring");
        int n = 300;
        try (Engine engine = Engine.create(Options.builder().ringCount(1).disableAdaptive(true)
                .name("observability-ring").build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, PAGE);
            // The open itself may be a ring request (counted as one, 0 bytes): count from here.
            long opsBefore = engine.ringStats(0).opsCompleted();
            long samplesBefore = engine.histogram(0).totalCount();
            for (int i = 0; i < n; i++) {
                file.write(block, (long) (i % 16) * PAGE);
            }
            for (int i = 0; i < n; i++) {
                assertThat(file.read(block, (long) (i % 16) * PAGE)).isEqualTo(PAGE);
            }
            EngineMonitoring.awaitRegistrations();
            RingStats rs = engine.ringStats(0);
            assertThat(rs.opsCompleted() - opsBefore).isEqualTo(2L * n);
            assertThat(rs.bytesTransferred()).isEqualTo(2L * n * PAGE);
            Histogram h = engine.histogram(0);
            long sum = h.overflow();
            for (long b : h.buckets()) {
                sum += b;
            }
            assertThat(sum).isEqualTo(h.totalCount()).isEqualTo(2L * n + samplesBefore);
            RingMXBean ring = JMX.newMXBeanProxy(SERVER, ringName("observability-ring", 0), RingMXBean.class);
            LatencyPercentiles p = ring.getLatencyPercentiles();
            assertThat(p.samples()).isEqualTo(h.totalCount());
            assertThat(p.p50Millis()).isPositive().isLessThanOrEqualTo(p.p90Millis());
            assertThat(p.p90Millis()).isLessThanOrEqualTo(p.p99Millis());
            assertThat(p.p99Millis()).isLessThanOrEqualTo(p.p999Millis()).isLessThanOrEqualTo(10.0);
            assertThat(p.p99Millis()).isEqualTo(h.percentile(99));
            assertThat(p.p999Millis()).isEqualTo(h.percentile(99.9));
            assertThat(ring.getOpsCompleted()).isEqualTo(rs.opsCompleted());
            assertThat(ring.getInFlightLimit()).isEqualTo(rs.inFlightLimit());
            assertThat(ring.getInFlight()).isZero();
        }
    }

    /** docs/prometheus-jmx.yaml names only attributes (and composite keys) the MXBeans have. */
    @Test
    void thePrometheusConfigNamesOnlyAttributesTheMXBeansHave() throws Exception {
        String yaml = Files.readString(Path.of("docs/prometheus-jmx.yaml"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("observability-prom").build())) {
            assertThat(engine.ringCount()).isEqualTo(1);
            EngineMonitoring.awaitRegistrations();
            Pattern rule = Pattern.compile("pattern: 'io\\.auraio<type=(Ring|Engine), [^']*?><([^>]*)>([^:]+): \\(\\.\\*\\)'");
            Matcher m = rule.matcher(yaml);
            int rules = 0;
            while (m.find()) {
                rules++;
                ObjectName bean = m.group(1).equals("Ring") ? ringName("observability-prom", 0) : engineName("observability-prom");
                String composite = m.group(2);
                String attribute = m.group(3);
                Set<String> names = new HashSet<>();
                if (composite.isEmpty()) {
                    for (MBeanAttributeInfo a : SERVER.getMBeanInfo(bean).getAttributes()) {
                        names.add(a.getName());
                    }
                    assertThat(names).as(m.group()).contains(attribute);
                } else {
                    OpenType<?> type = null;
                    for (MBeanAttributeInfo a : SERVER.getMBeanInfo(bean).getAttributes()) {
                        if (a.getName().equals(composite)) {
                            type = ((OpenMBeanAttributeInfo) a).getOpenType();
                        }
                    }
                    assertThat(type).as(m.group()).isInstanceOf(CompositeType.class);
                    Set<String> keys = ((CompositeType) type).keySet();
                    Matcher alt = Pattern.compile("^(.*)\\(([^)]*)\\)(.*)$").matcher(attribute);
                    List<String> wanted = new ArrayList<>();
                    if (alt.matches()) {
                        for (String a : alt.group(2).split("\\|")) {
                            wanted.add(alt.group(1) + a + alt.group(3));
                        }
                    } else {
                        wanted.add(attribute);
                    }
                    assertThat(keys).as(m.group()).containsAll(wanted);
                }
            }
            assertThat(rules).isEqualTo(18);
        }
    }
}
