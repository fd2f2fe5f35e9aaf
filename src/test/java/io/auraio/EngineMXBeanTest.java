package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.tools.attach.VirtualMachine;
import io.auraio.management.EngineMXBean;
import io.auraio.management.EngineStatistics;
import io.auraio.management.LatencyPercentiles;
import io.auraio.management.RingMXBean;
import io.auraio.management.RingStatistics;
import io.auraio.testing.Direct;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.ObservedWorkload;
import io.auraio.testing.TestDirectory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Each engine's MXBeans: names, attributes against {@link Engine#stats()}, the writable settings, a remote client. */
@ExtendWith(IoUringAvailable.class)
class EngineMXBeanTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();
    private static final int BLOCK = Direct.ALIGN;

    private static ObjectName engineName(String name) throws Exception {
        return new ObjectName("io.auraio:type=Engine,name=" + name);
    }

    private static ObjectName ringName(String name, int ring) throws Exception {
        return new ObjectName("io.auraio:type=Ring,engine=" + name + ",ring=" + ring);
    }

    @Test
    void anEngineAndEachRingAreRegisteredWhileOpenAndUnregisteredOnClose() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(3).name("mx-lifecycle").build())) {
            EngineMonitoring.awaitRegistrations();
            assertThat(engine.name()).isEqualTo("mx-lifecycle");
            assertThat(SERVER.isRegistered(engineName("mx-lifecycle"))).isTrue();
            assertThat(SERVER.queryNames(new ObjectName("io.auraio:type=Ring,engine=mx-lifecycle,*"), null))
                    .containsExactlyInAnyOrder(ringName("mx-lifecycle", 0), ringName("mx-lifecycle", 1),
                            ringName("mx-lifecycle", 2));
            assertThat(SERVER.isInstanceOf(engineName("mx-lifecycle"), EngineMXBean.class.getName())).isTrue();
        }
        EngineMonitoring.awaitRegistrations();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,name=mx-lifecycle"), null)).isEmpty();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,engine=mx-lifecycle"), null)).isEmpty();
    }

    /** Without {@link EngineMonitoring#awaitRegistrations()}: what a JMX client sees of an engine that stays open. */
    @Test
    void anEngineThatStaysOpenIsRegisteredByItself() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("mx-delayed").build())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            // The ring's bean is registered after the engine's, by the same background task.
            while (!SERVER.isRegistered(ringName("mx-delayed", 0)) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(SERVER.isRegistered(engineName("mx-delayed"))).isTrue();
            assertThat(SERVER.isRegistered(ringName("mx-delayed", 0))).isTrue();
            assertThat(engine.name()).isEqualTo("mx-delayed");
        }
        EngineMonitoring.awaitRegistrations();
        assertThat(SERVER.isRegistered(engineName("mx-delayed"))).isFalse();
    }

    /**
     * A short run (a tool, a script) never starts the platform MBean server: its engine closed
     * before its registration was due. Checked in a fresh JVM, where nothing else asked for it.
     */
    @Test
    void aShortRunNeverStartsTheMBeanServer() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(ShortRun.class).args(dir.path().toString()).run();
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout().trim()).as(r.toString()).isEqualTo("read 5, MBean servers after close: 0");
    }

    /** Opens an engine, reads a file, closes it, waits past the registration delay, counts MBean servers. */
    public static final class ShortRun {
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0], "short-run");
            java.nio.file.Files.writeString(file, "hello");
            int n;
            try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
                 AuraFile f = AuraFile.open(engine, file, java.util.Set.of(StandardOpenOption.READ))) {
                n = f.read(java.nio.ByteBuffer.allocate(16), 0);
            }
            Thread.sleep(2 * EngineMonitoring.REGISTRATION_DELAY_MS);
            System.out.println("read " + n + ", MBean servers after close: "
                    + javax.management.MBeanServerFactory.findMBeanServer(null).size());
        }
    }

    @Test
    void anEngineClosedAtOnceLeavesNothingRegistered() throws Exception {
        for (int i = 0; i < 20; i++) {
            Engine.create(Options.builder().ringCount(1).name("mx-brief").build()).close();
        }
        EngineMonitoring.awaitRegistrations();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,name=mx-brief"), null)).isEmpty();
        assertThat(SERVER.queryNames(new ObjectName("io.auraio:*,engine=mx-brief"), null)).isEmpty();
    }

    @Test
    void namesAreUniqueAmongOpenEnginesAndFreedOnClose() throws Exception {
        try (Engine a = Engine.create(Options.builder().ringCount(1).name("mx-twice").build())) {
            EngineMonitoring.awaitRegistrations();
            assertThatThrownBy(() -> Engine.create(Options.builder().ringCount(1).name("mx-twice").build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"mx-twice\"");
            assertThat(a.isClosed()).isFalse();
            assertThat(SERVER.isRegistered(engineName("mx-twice"))).isTrue();
        }
        try (Engine again = Engine.create(Options.builder().ringCount(1).name("mx-twice").build());
             Engine unnamed1 = Engine.create(Options.builder().ringCount(1).build());
             Engine unnamed2 = Engine.create(Options.builder().ringCount(1).build())) {
            EngineMonitoring.awaitRegistrations();
            assertThat(again.name()).isEqualTo("mx-twice");
            assertThat(unnamed1.name()).startsWith("engine-").isNotEqualTo(unnamed2.name());
            assertThat(unnamed2.name()).startsWith("engine-");
            assertThat(SERVER.isRegistered(engineName(unnamed1.name()))).isTrue();
            assertThat(unnamed1.toString()).contains(unnamed1.name());
        }
    }

    @Test
    void theDefaultEngineIsNamedDefault() throws Exception {
        Engine engine = AuraIO.defaultEngine();
        EngineMonitoring.awaitRegistrations();
        assertThat(engine.name()).isEqualTo("default");
        assertThat(SERVER.getAttribute(engineName("default"), "Name")).isEqualTo("default");
        assertThatThrownBy(() -> Engine.create(Options.builder().ringCount(1).name("default").build()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * An MXBean name someone else took: the engine serves without MXBeans (a warning is logged)
     * and leaves the other bean alone, registered or not; closed, it frees its name.
     */
    @Test
    void anEngineWhoseMXBeanNameIsTakenServesWithoutAndTouchesNothingElse(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        ObjectName taken = engineName("mx-taken");
        Runnable nothing = () -> { };
        SERVER.registerMBean(new javax.management.StandardMBean(nothing, Runnable.class), taken);
        try {
            try (Engine engine = Engine.create(Options.builder().ringCount(2).name("mx-taken").build());
                 AuraFile file = AuraFile.open(engine, tmp.resolve("f"), StandardOpenOption.CREATE,
                         StandardOpenOption.WRITE)) {
                EngineMonitoring.awaitRegistrations();
                assertThat(SERVER.queryNames(new ObjectName("io.auraio:type=Ring,engine=mx-taken,*"), null)).isEmpty();
                assertThat(SERVER.isInstanceOf(taken, EngineMXBean.class.getName())).isFalse();
                assertThat(file.write(java.nio.ByteBuffer.allocate(10), 0)).isEqualTo(10);
            }
            EngineMonitoring.awaitRegistrations();
            assertThat(SERVER.isRegistered(taken)).as("not ours to unregister").isTrue();
            assertThat(SERVER.isInstanceOf(taken, EngineMXBean.class.getName())).isFalse();
        } finally {
            SERVER.unregisterMBean(taken);
        }
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("mx-taken").build())) {
            EngineMonitoring.awaitRegistrations();
            assertThat(SERVER.getAttribute(taken, "Name")).isEqualTo(engine.name());
        }
    }

    @Test
    void optionsRefuseNamesAnObjectNameWouldHaveToQuote() {
        for (String bad : new String[] {"", "a,b", "a=b", "a:b", "a\"b", "a*", "a?", "a\\b", "a\nb", "x".repeat(65)}) {
            assertThatThrownBy(() -> Options.builder().name(bad)).as("%s", bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
        }
        assertThatThrownBy(() -> Options.builder().name(null)).isInstanceOf(NullPointerException.class);
        Options named = Options.builder().name("db-7.ssd_a").build();
        assertThat(named.name()).isEqualTo("db-7.ssd_a");
        assertThat(named.toBuilder().build().name()).isEqualTo("db-7.ssd_a");
        assertThat(Options.defaults().name()).isEmpty();
    }

    @Test
    void attributesAreTheEnginesStatistics() throws Exception {
        Path path = dir.resolve("attributes.dat");
        try (Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(64).name("mx-attributes").build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 50; i++) {
                file.write(block, (long) i * BLOCK);
                file.read(block, (long) i * BLOCK);
            }
            EngineMonitoring.awaitRegistrations();
            EngineMXBean bean = JMX.newMXBeanProxy(SERVER, engineName("mx-attributes"), EngineMXBean.class);
            Stats stats = engine.stats();
            EngineStatistics s = bean.getStats();
            assertThat(s.opsCompleted()).isEqualTo(stats.opsCompleted()).isGreaterThanOrEqualTo(100);
            assertThat(s.bytesTransferred()).isEqualTo(stats.bytesTransferred()).isEqualTo(100L * BLOCK);
            assertThat(bean.getName()).isEqualTo("mx-attributes");
            assertThat(bean.getRingCount()).isEqualTo(2);
            RingStatistics[] rings = bean.getRingStats();
            assertThat(rings).hasSize(2);
            for (int i = 0; i < 2; i++) {
                RingStats r = engine.ringStats(i);
                assertThat(rings[i].ring()).isEqualTo(i);
                assertThat(rings[i].opsCompleted()).isEqualTo(r.opsCompleted());
                assertThat(rings[i].bytesTransferred()).isEqualTo(r.bytesTransferred());
                assertThat(rings[i].queueDepth()).isEqualTo(64);
                assertThat(rings[i].phase()).isEqualTo(r.aimdPhaseName());
                RingMXBean ring = JMX.newMXBeanProxy(SERVER, ringName("mx-attributes", i), RingMXBean.class);
                assertThat(ring.getOpsCompleted()).isEqualTo(r.opsCompleted());
                assertThat(ring.getInFlightLimit()).isEqualTo(r.inFlightLimit());
                assertThat(ring.getPhaseCode()).isEqualTo(r.aimdPhase());
                assertThat(ring.getEngine()).isEqualTo("mx-attributes");
            }
            assertThat(rings[0].bytesTransferred() + rings[1].bytesTransferred()).isEqualTo(100L * BLOCK);
            assertThat(bean.getBufferStats().shards()).isEqualTo(engine.bufferStats().shardCount());
            // The bean and the histograms are read one after the other: a window that rotates (or a
            // sample that lands) between the two reads makes them differ once; they must agree
            // when read back to back with nothing changing.
            LatencyPercentiles p = bean.getLatencyPercentiles();
            long inWindows = engine.histogram(0).totalCount() + engine.histogram(1).totalCount();
            for (int tries = 0; tries < 100 && p.samples() != inWindows; tries++) {
                Thread.sleep(20);
                p = bean.getLatencyPercentiles();
                inWindows = engine.histogram(0).totalCount() + engine.histogram(1).totalCount();
            }
            assertThat(p.samples()).isEqualTo(inWindows);
            if (p.samples() > 0) {
                assertThat(p.p50Millis()).isPositive().isLessThanOrEqualTo(p.p90Millis());
                assertThat(p.p90Millis()).isLessThanOrEqualTo(p.p99Millis());
                assertThat(p.p99Millis()).isLessThanOrEqualTo(p.p999Millis());
            }
            // Open types: a client without AuraIO's classes reads CompositeData.
            CompositeData raw = (CompositeData) SERVER.getAttribute(engineName("mx-attributes"), "Stats");
            assertThat(raw.get("opsCompleted")).isEqualTo(s.opsCompleted());
        }
    }

    @Test
    void percentilesAreTheUpperEdgesOfTheirBuckets() {
        long[] buckets = new long[Histogram.BUCKET_COUNT];
        buckets[1] = 50;  // 50-100 us
        buckets[9] = 40;  // 450-500 us
        buckets[99] = 9;  // 4.95-5 ms
        LatencyPercentiles p = EngineMonitoring.percentiles(java.util.List.of(
                new Histogram(buckets, 1, 100, Histogram.BUCKET_WIDTH_US, 10_000)));
        assertThat(p.samples()).isEqualTo(100);
        assertThat(p.p50Millis()).isEqualTo(0.1);
        assertThat(p.p90Millis()).isEqualTo(0.5);
        assertThat(p.p99Millis()).isEqualTo(5.0);
        assertThat(p.p999Millis()).as("the overflow: at least the last edge").isEqualTo(10.0);
        assertThat(EngineMonitoring.percentiles(java.util.List.of()).samples()).isZero();
    }

    @Test
    void writableAttributesReachEveryRing() throws Exception {
        Path path = dir.resolve("settings.dat");
        try (Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(64).initialInFlight(4)
                        .minInFlight(2).name("mx-settings").build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            EngineMonitoring.awaitRegistrations();
            EngineMXBean bean = JMX.newMXBeanProxy(SERVER, engineName("mx-settings"), EngineMXBean.class);
            bean.setBatchThreshold(8);
            bean.setTargetP99LatencyMillis(7.5);
            bean.setMinInFlight(24);
            assertThat(bean.getBatchThreshold()).isEqualTo(8);
            assertThat(bean.getTargetP99LatencyMillis()).isEqualTo(7.5);
            assertThat(bean.getMinInFlight()).isEqualTo(24);
            MemorySegment block = Direct.aligned(arena, BLOCK);
            RingMXBean[] rings = new RingMXBean[2];
            for (int i = 0; i < 2; i++) {
                rings[i] = JMX.newMXBeanProxy(SERVER, ringName("mx-settings", i), RingMXBean.class);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // The pollers apply the floor at their ticks, to the controller and then to the ring's
            // admission gate, which the ring's bean reports: wait for what is asserted (the engine's
            // statistics, read from the controller, could show it a moment before the bean does).
            for (long i = 0; !(allAtLeast(engine, 24) && beansAtLeast(rings, 24)) && System.nanoTime() < deadline;
                    i++) {
                file.write(block, (i % 64) * BLOCK);
            }
            for (RingMXBean ring : rings) {
                assertThat(ring.getInFlightLimit()).isGreaterThanOrEqualTo(24);
                assertThat(ring.getBatchThreshold()).isEqualTo(8);
                assertThat(ring.getTargetP99LatencyMillis()).isEqualTo(7.5);
            }
            assertThatThrownBy(() -> bean.setMinInFlight(65)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("minInFlight");
            assertThatThrownBy(() -> bean.setBatchThreshold(100)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> bean.setTargetP99LatencyMillis(Double.NaN))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThat(bean.getMinInFlight()).isEqualTo(24);
            bean.setBatchThreshold(0);
            assertThat(bean.getBatchThreshold()).isZero();
        }
    }

    /**
     * A floor set while the rings have nothing to do is applied at once, by every ring: an idle
     * poller sleeps in the kernel and does not tick, and the controller raised a limit below the
     * floor only at a tick, so a ring nobody used kept reporting its old limit (on one CPU, where
     * a thread's requests all go to one ring, {@link #writableAttributesReachEveryRing} waited for
     * the other ring for its whole minute). Through the engine, then through the MXBean.
     */
    @Test
    void aFloorSetWhileTheRingsAreIdleIsAppliedByEveryRingAtOnce() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(64).initialInFlight(4)
                .minInFlight(2).name("mx-idle-floor").build())) {
            engine.setMinInFlight(24);
            awaitAllAtLeast(engine, 24);
            EngineMonitoring.awaitRegistrations();
            JMX.newMXBeanProxy(SERVER, engineName("mx-idle-floor"), EngineMXBean.class).setMinInFlight(40);
            awaitAllAtLeast(engine, 40);
            for (int i = 0; i < 2; i++) {
                assertThat(JMX.newMXBeanProxy(SERVER, ringName("mx-idle-floor", i), RingMXBean.class)
                        .getInFlightLimit()).as("ring %d", i).isGreaterThanOrEqualTo(40);
            }
            assertThatThrownBy(() -> engine.setMinInFlight(0)).isInstanceOf(IllegalArgumentException.class);
            assertThat(engine.ringStats(1).inFlightLimit()).as("nothing changed by the refused floor")
                    .isGreaterThanOrEqualTo(40);
        }
    }

    /** Waits up to 10 s (the poller applies it within a pass) for every ring's limit to reach {@code limit}. */
    private static void awaitAllAtLeast(Engine engine, int limit) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!allAtLeast(engine, limit) && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        for (int i = 0; i < engine.ringCount(); i++) {
            assertThat(engine.ringStats(i).inFlightLimit()).as("ring %d's limit", i).isGreaterThanOrEqualTo(limit);
        }
    }

    private static boolean beansAtLeast(RingMXBean[] rings, int limit) {
        for (RingMXBean ring : rings) {
            if (ring.getInFlightLimit() < limit) {
                return false;
            }
        }
        return true;
    }

    private static boolean allAtLeast(Engine engine, int limit) {
        for (int i = 0; i < engine.ringCount(); i++) {
            if (engine.ringStats(i).inFlightLimit() < limit) {
                return false;
            }
        }
        return true;
    }

    @Test
    void aRemoteClientReadsAndWritesAnotherJvmsEngine() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(ForkedJvm.of(ObservedWorkload.class)
                .args("mx-remote", "2", dir.path().toString()).command())
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        Process workload = pb.start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(workload.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("READY");
            VirtualMachine vm = VirtualMachine.attach(Long.toString(workload.pid()));
            String address;
            try {
                address = vm.startLocalManagementAgent();
            } finally {
                vm.detach();
            }
            try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
                MBeanServerConnection remote = connector.getMBeanServerConnection();
                // A client with no AuraIO class: open types only.
                CompositeData stats = (CompositeData) remote.getAttribute(engineName("mx-remote"), "Stats");
                assertThat((Long) stats.get("opsCompleted")).isPositive();
                CompositeData[] rings = (CompositeData[]) remote.getAttribute(engineName("mx-remote"), "RingStats");
                assertThat(rings).hasSize(2);
                assertThat(remote.getAttribute(ringName("mx-remote", 1), "Phase")).isInstanceOf(String.class);
                EngineMXBean bean = JMX.newMXBeanProxy(remote, engineName("mx-remote"), EngineMXBean.class);
                long before = bean.getStats().opsCompleted();
                bean.setBatchThreshold(4);
                assertThat(bean.getBatchThreshold()).isEqualTo(4);
                assertThat(bean.getRingStats()).allSatisfy(r -> assertThat(r.batchThreshold()).isEqualTo(4));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (bean.getStats().opsCompleted() == before && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(bean.getStats().opsCompleted()).as("the remote engine keeps serving").isGreaterThan(before);
            }
        } finally {
            workload.getOutputStream().close();
            if (!workload.waitFor(30, TimeUnit.SECONDS)) {
                workload.destroyForcibly();
            }
        }
        assertThat(workload.exitValue()).isZero();
    }
}
