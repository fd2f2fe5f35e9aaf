package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.micrometer.AuraMeterBinder;
import io.auraio.testing.Direct;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of what a user observes the engine through: exact counters under known
 * workloads (transfers, failures, cancels), peaks, per-ring sums, monotonicity under concurrent
 * snapshots, percentiles, and the Micrometer binder.
 */
@ExtendWith(IoUringAvailable.class)
class ObservabilityReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final int BLOCK = Direct.ALIGN;

    private static long ringOps(Engine engine) {
        long sum = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            sum += engine.ringStats(i).opsCompleted();
        }
        return sum;
    }

    /** Requests in the kernel now (not queued): a cancel or close of one is counted. */
    private static int inKernel(Engine engine) {
        int n = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            n += engine.core().ring(i).inKernel();
        }
        return n;
    }

    private static long ringBytes(Engine engine) {
        long sum = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            sum += engine.ringStats(i).bytesTransferred();
        }
        return sum;
    }

    /**
     * Writes, reads, an fsync, failures the kernel answers (EBADF, EINVAL) and a cancelled read
     * the kernel held: each one operation, bytes only for the transfers, the rings' sums equal to
     * the engine's (O_DIRECT: no fast path), nothing in flight afterwards.
     */
    @Test
    void aKnownMixOfRequestsIsCountedExactly() throws Exception {
        Path path = dir.resolve("mix");
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            MemorySegment block = Direct.aligned(arena, 2 * BLOCK);
            Stats before = engine.stats();
            for (int i = 0; i < 10; i++) {
                assertThat(file.write(block.asSlice(0, BLOCK), (long) i * BLOCK)).isEqualTo(BLOCK);
            }
            for (int i = 0; i < 7; i++) {
                assertThat(file.read(block.asSlice(0, BLOCK), (long) i * BLOCK)).isEqualTo(BLOCK);
            }
            // A read at the end of the file (-1, as FileChannel): one operation, 0 bytes.
            assertThat(file.read(block.asSlice(0, BLOCK), 10L * BLOCK)).isEqualTo(-1);
            List<Long> results = new java.util.concurrent.CopyOnWriteArrayList<>();
            Callback collect = (r, result) -> results.add(result);
            engine.fsync(file.fd(), collect);
            // EINVAL from the kernel: an O_DIRECT read at an unaligned offset.
            engine.read(file.fd(), BufferRef.of(block), BLOCK, 1, collect);
            // EBADF from the kernel: a descriptor that is not open (far above any this process holds).
            engine.read(1_000_000, BufferRef.of(block), BLOCK, 0, collect);
            engine.drain(-1);
            // A FIFO read the kernel holds, cancelled there: one operation ending ECANCELED.
            Request held = engine.read(pipe.fd(), BufferRef.of(block), 8, 0, collect);
            TestSupport.awaitCondition("the FIFO read to reach the kernel", () -> inKernel(engine) == 1);
            assertThat(engine.cancel(held)).isTrue();
            engine.drain(-1);
            assertThat(results).containsExactlyInAnyOrder(0L, -22L, -9L, -125L);

            Stats after = engine.stats();
            assertThat(after.opsCompleted() - before.opsCompleted()).as("ops").isEqualTo(10 + 7 + 1 + 1 + 2 + 1);
            assertThat(after.bytesTransferred() - before.bytesTransferred()).as("bytes").isEqualTo(17L * BLOCK);
            assertThat(after.currentInFlight()).isZero();
            assertThat(ringOps(engine)).isEqualTo(after.opsCompleted());
            assertThat(ringBytes(engine)).isEqualTo(after.bytesTransferred());
            for (int i = 0; i < engine.ringCount(); i++) {
                assertThat(engine.ringStats(i).pendingCount()).isZero();
            }
        }
    }

    /** Reads parked in the kernel on one ring: the peak is exactly their number, and stays after they end. */
    @Test
    void peakInFlightIsTheMostRequestsHeldAtOnce() throws Exception {
        Path fifo = Fifo.create(dir.resolve("peak"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            assertThat(engine.stats().peakInFlight()).isZero();
            List<Request> held = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                held.add(engine.read(pipe.fd(), BufferRef.of(arena.allocate(8)), 8, 0, null));
            }
            TestSupport.awaitCondition("5 FIFO reads in flight", () -> engine.stats().currentInFlight() == 5);
            assertThat(engine.stats().peakInFlight()).isEqualTo(5);
            assertThat(engine.ringStats(0).pendingCount()).isEqualTo(5);
            for (Request r : held) {
                engine.cancel(r);
            }
            engine.drain(-1);
            Stats s = engine.stats();
            assertThat(s.currentInFlight()).isZero();
            assertThat(s.peakInFlight()).isEqualTo(5);
        }
    }

    /**
     * Snapshots taken by several threads while many virtual threads read (page cache and ring)
     * and write: every counter of every snapshot is at least that of the snapshot before it on
     * the same thread, a ring's bytes are always those of exactly the requests it counts, and at
     * quiescence the totals are exact.
     */
    @Test
    void countersNeverGoBackwardsUnderConcurrentSnapshots() throws Exception {
        Path buffered = dir.resolve("buffered");
        Path direct = dir.resolve("direct");
        int writers = 8;
        int perThread = 40;
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
             AuraFile cached = AuraFile.open(engine, buffered, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE);
             AuraFile odirect = AuraFile.open(engine, direct, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT)) {
            Stats before = engine.stats();
            RingStats[] ringsBefore = new RingStats[engine.ringCount()];
            for (int i = 0; i < ringsBefore.length; i++) {
                ringsBefore[i] = engine.ringStats(i);
            }
            AtomicBoolean done = new AtomicBoolean();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicInteger snapshots = new AtomicInteger();
            List<Thread> watchers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                watchers.add(Thread.ofPlatform().start(() -> {
                    long ops = 0;
                    long bytes = 0;
                    long spills = 0;
                    int peak = 0;
                    long[] rOps = new long[engine.ringCount()];
                    long[] rBytes = new long[engine.ringCount()];
                    try {
                        while (!done.get()) {
                            Stats s = engine.stats();
                            check("opsCompleted", ops, s.opsCompleted());
                            check("bytesTransferred", bytes, s.bytesTransferred());
                            check("adaptiveSpills", spills, s.adaptiveSpills());
                            check("peakInFlight", peak, s.peakInFlight());
                            assertThat(s.currentInFlight()).isNotNegative();
                            ops = s.opsCompleted();
                            bytes = s.bytesTransferred();
                            spills = s.adaptiveSpills();
                            peak = s.peakInFlight();
                            for (int i = 0; i < rOps.length; i++) {
                                RingStats r = engine.ringStats(i);
                                check("ring opsCompleted", rOps[i], r.opsCompleted());
                                check("ring bytesTransferred", rBytes[i], r.bytesTransferred());
                                // Every request since the baseline moves one block: a ring's pair
                                // is one snapshot, its bytes those of exactly the requests counted.
                                long blocks = (r.bytesTransferred() - ringsBefore[i].bytesTransferred()) / BLOCK;
                                assertThat(r.bytesTransferred() % BLOCK).isEqualTo(ringsBefore[i].bytesTransferred() % BLOCK);
                                assertThat(blocks).as("ring %d blocks against operations", i)
                                        .isEqualTo(r.opsCompleted() - ringsBefore[i].opsCompleted());
                                rOps[i] = r.opsCompleted();
                                rBytes[i] = r.bytesTransferred();
                            }
                            snapshots.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < writers; t++) {
                int id = t;
                workers.add(Thread.ofVirtual().start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment block = Direct.aligned(arena, BLOCK);
                        for (int i = 0; i < perThread; i++) {
                            long at = (long) (id * perThread + i) * BLOCK;
                            odirect.write(block, at);
                            cached.write(block, at);
                            cached.read(block, at);
                            odirect.read(block, at);
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            TestSupport.joinAll(workers);
            done.set(true);
            TestSupport.joinAll(watchers);
            assertThat(failures).isEmpty();
            assertThat(snapshots.get()).isPositive();
            Stats after = engine.stats();
            long ops = 4L * writers * perThread;
            assertThat(after.opsCompleted() - before.opsCompleted()).isEqualTo(ops);
            assertThat(after.bytesTransferred() - before.bytesTransferred()).isEqualTo(ops * BLOCK);
            assertThat(after.currentInFlight()).isZero();
            // The rings served at least the O_DIRECT half; the rest went through the fast path or a ring.
            assertThat(ringOps(engine)).isBetween(2L * writers * perThread, after.opsCompleted());
        }
    }

    private static void check(String what, long previous, long now) {
        if (now < previous) {
            throw new AssertionError(what + " went backwards: " + previous + " -> " + now);
        }
    }

    /** Heap arrays read and written through the pool's bounce buffers: the pool is back at its baseline after. */
    @Test
    void bufferStatsReturnToTheirBaselineAfterBounceBuffersAndClosedBuffers() throws Exception {
        Path path = dir.resolve("bounce");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT)) {
            BufferStats baseline = engine.bufferStats();
            MemorySegment heap = MemorySegment.ofArray(new byte[BLOCK]);
            for (int i = 0; i < 20; i++) {
                file.write(heap, (long) i * BLOCK);
                file.read(heap, (long) i * BLOCK);
            }
            List<Buffer> buffers = new ArrayList<>();
            for (int size : new int[] {1, 4096, 4097, 65536, 1 << 20}) {
                buffers.add(engine.allocateBuffer(size));
            }
            BufferStats five = engine.bufferStats();
            assertThat(five.totalBuffers() - baseline.totalBuffers()).isEqualTo(5);
            assertThat(five.totalAllocatedBytes() - baseline.totalAllocatedBytes())
                    .isGreaterThanOrEqualTo(1 + 4096 + 4097 + 65536 + (1 << 20));
            buffers.forEach(Buffer::close);
            assertThat(engine.bufferStats()).isEqualTo(baseline);
        }
    }

    /** The reference's percentile: the rank is ceil(p/100 * n), so P99.9 of 1000 samples is the 999th. */
    @Test
    void histogramPercentileRanksAreNotOffByOneFromFloatingPoint() {
        long[] buckets = new long[Histogram.BUCKET_COUNT];
        buckets[0] = 999;
        buckets[199] = 1;
        Histogram h = new Histogram(buckets, 0, 1000, Histogram.BUCKET_WIDTH_US, 10_000);
        assertThat(h.percentile(99.9)).isEqualTo(0.05);
        assertThat(h.percentile(100)).isEqualTo(10.0);
        buckets[0] = 99;
        buckets[199] = 1;
        h = new Histogram(buckets, 0, 100, Histogram.BUCKET_WIDTH_US, 10_000);
        assertThat(h.percentile(99)).isEqualTo(0.05);
        buckets[0] = 9_999;
        h = new Histogram(buckets, 0, 10_000, Histogram.BUCKET_WIDTH_US, 10_000);
        assertThat(h.percentile(99.99)).isEqualTo(0.05);
        assertThatThrownBy(() -> new Histogram(new long[200], 0, 0, 50, 10_000).percentile(Double.NaN))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** A bad ring index says what the count is. */
    @Test
    void aBadRingIndexNamesTheRingCount() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(3).build())) {
            assertThatThrownBy(() -> engine.ringStats(3)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("3");
            assertThatThrownBy(() -> engine.ringStats(-1)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("-1").hasMessageContaining("3");
        }
    }

    /** Binding one engine twice to one registry adds no meter and counts nothing twice. */
    @Test
    void bindingAnEngineTwiceAddsNoMeters() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Path path = dir.resolve("twice");
        try (Engine engine = Engine.create(Options.builder().ringCount(2).name("review-twice").build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            new AuraMeterBinder(engine).bindTo(registry);
            int meters = registry.getMeters().size();
            new AuraMeterBinder(engine).bindTo(registry);
            assertThat(registry.getMeters()).hasSize(meters);
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 5; i++) {
                file.write(block, (long) i * BLOCK);
            }
            assertThat(registry.get("auraio.bytes").functionCounter().count())
                    .isEqualTo((double) engine.stats().bytesTransferred());
            registry.getMeters().forEach(m -> assertThat(m.getId().getName()).matches("[a-z0-9.]+"));
        }
    }

    /**
     * Throughput while a known load runs is of the order of the bytes moved over the time taken;
     * once the engine has been idle for a second it is "current": zero, not the last busy window's.
     */
    @Test
    void throughputFollowsTheLoadAndFallsToZeroWhenIdle() throws Exception {
        Path path = dir.resolve("throughput");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, 64 * 1024);
            long start = System.nanoTime();
            long startBytes = engine.stats().bytesTransferred();
            double seen = 0;
            int i = 0;
            while (System.nanoTime() - start < 400_000_000L) {
                file.write(block, (long) (i++ % 256) * block.byteSize());
                seen = Math.max(seen, engine.ringStats(0).throughputBps());
            }
            double rate = (engine.stats().bytesTransferred() - startBytes) * 1e9 / (System.nanoTime() - start);
            assertThat(seen).as("highest throughput seen vs the %.0f B/s measured", rate)
                    .isBetween(rate / 4, rate * 10);
            long idleSince = System.nanoTime();
            TestSupport.settle(() -> engine.stats().throughputBps() == 0, java.time.Duration.ofSeconds(3));
            assertThat(engine.stats().throughputBps()).as("throughput %.1f s after the last request",
                    (System.nanoTime() - idleSince) / 1e9).isZero();
            assertThat(engine.ringStats(0).throughputBps()).isZero();
        }
    }

    /**
     * Over a real JMX connector: the engine's Stats attribute is every field of
     * {@link Engine#stats()}, as its javadoc says, the peak included; the ring beans sum to it;
     * once the engine is closed its beans are gone, not left answering.
     */
    @Test
    void theMXBeansOverAConnectorAreTheEnginesStatistics() throws Exception {
        Path fifo = Fifo.create(dir.resolve("jmx-fifo"));
        javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        javax.management.remote.JMXConnectorServer connector = javax.management.remote.JMXConnectorServerFactory
                .newJMXConnectorServer(new javax.management.remote.JMXServiceURL("service:jmx:rmi://localhost"),
                        null, server);
        connector.start();
        javax.management.ObjectName engineName = EngineMonitoring.engineObjectName("review-jmx");
        try (javax.management.remote.JMXConnector client = javax.management.remote.JMXConnectorFactory
                .connect(connector.getAddress())) {
            javax.management.MBeanServerConnection remote = client.getMBeanServerConnection();
            Engine engine = Engine.create(Options.builder().ringCount(2).name("review-jmx").build());
            try (AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 Arena arena = Arena.ofShared()) {
                EngineMonitoring.awaitRegistrations();
                List<Request> held = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    held.add(engine.read(pipe.fd(), BufferRef.of(arena.allocate(8)), 8, 0, null, null));
                }
                TestSupport.awaitCondition("3 reads in flight", () -> engine.stats().currentInFlight() == 3);
                Stats stats = engine.stats();
                javax.management.openmbean.CompositeData c =
                        (javax.management.openmbean.CompositeData) remote.getAttribute(engineName, "Stats");
                for (java.lang.reflect.RecordComponent rc : Stats.class.getRecordComponents()) {
                    String key = rc.getName().replace("throughputBps", "throughputBytesPerSecond")
                            .replace("p99LatencyMs", "p99LatencyMillis");
                    assertThat(c.containsKey(key)).as("Stats attribute has " + key).isTrue();
                }
                assertThat(c.get("currentInFlight")).isEqualTo(3);
                assertThat(c.get("peakInFlight")).isEqualTo(stats.peakInFlight());
                long inFlight = 0;
                for (int i = 0; i < 2; i++) {
                    inFlight += ((Number) remote.getAttribute(EngineMonitoring.ringObjectName("review-jmx", i),
                            "InFlight")).longValue();
                }
                assertThat(inFlight).isEqualTo(3);
                for (Request r : held) {
                    engine.cancel(r);
                }
                engine.drain(-1);
            } finally {
                engine.close();
            }
            EngineMonitoring.awaitRegistrations();
            assertThat(remote.isRegistered(engineName)).isFalse();
            assertThat(remote.queryNames(new javax.management.ObjectName("io.auraio:engine=review-jmx,*"), null))
                    .isEmpty();
        } finally {
            connector.stop();
        }
    }

    /**
     * {@code io.auraio.RingStatistics} reports what a ring did "since the last event": over a
     * recording started after the engine had already worked, the events add up to what the ring
     * did during the recording, not since the engine was created.
     */
    @Test
    void ringStatisticsEventsCountOnlyWhatHappenedDuringTheRecording() throws Exception {
        Path path = dir.resolve("jfr-delta");
        Path dump = dir.resolve("delta.jfr");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).name("review-jfr-delta").build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 50; i++) {
                file.write(block, (long) i * BLOCK); // before any recording
            }
            long during;
            long lateOps;
            try (jdk.jfr.Recording recording = new jdk.jfr.Recording()) {
                recording.enable("io.auraio.RingStatistics").withPeriod(java.time.Duration.ofMillis(50));
                recording.start();
                Thread.sleep(200);
                long before = engine.ringStats(0).opsCompleted();
                for (int i = 0; i < 7; i++) {
                    file.write(block, (long) i * BLOCK);
                }
                during = engine.ringStats(0).opsCompleted() - before;
                // An engine created during the recording: its events count from its creation.
                try (Engine late = Engine.create(Options.builder().ringCount(1).name("review-jfr-late").build());
                     AuraFile lateFile = AuraFile.open(late, dir.resolve("jfr-late"), StandardOpenOption.CREATE,
                             StandardOpenOption.WRITE, Direct.DIRECT)) {
                    for (int i = 0; i < 3; i++) {
                        lateFile.write(block, (long) i * BLOCK);
                    }
                    lateOps = late.ringStats(0).opsCompleted();
                    Thread.sleep(300); // a few periods: the last event comes after the last write
                }
                recording.stop();
                recording.dump(dump);
            }
            long ops = 0;
            long bytes = 0;
            int events = 0;
            long lateSum = 0;
            for (jdk.jfr.consumer.RecordedEvent e : jdk.jfr.consumer.RecordingFile.readAllEvents(dump)) {
                if (e.getEventType().getName().equals("io.auraio.RingStatistics")
                        && "review-jfr-late".equals(e.getString("engine"))) {
                    lateSum += e.getLong("operations");
                }
                if (e.getEventType().getName().equals("io.auraio.RingStatistics")
                        && "review-jfr-delta".equals(e.getString("engine"))) {
                    events++;
                    ops += e.getLong("operations");
                    bytes += e.getLong("bytes");
                }
            }
            assertThat(events).isGreaterThan(2);
            assertThat(during).isEqualTo(7);
            assertThat(ops).as("operations over the recording").isEqualTo(7);
            assertThat(bytes).as("bytes over the recording").isEqualTo(7L * BLOCK);
            assertThat(lateOps).isGreaterThanOrEqualTo(3);
            assertThat(lateSum).as("operations of the engine created during the recording").isEqualTo(lateOps);
        }
    }

    /**
     * A registry that outlives an engine, and a new engine under the same name bound to it (a
     * service restarting its engine): the meters are the new engine's, not the closed one's
     * frozen values.
     */
    @Test
    void anEngineBoundUnderTheNameOfAClosedOneGetsItsOwnMeters() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            try (Engine first = Engine.create(Options.builder().ringCount(1).name("review-reuse").build());
                 AuraFile file = AuraFile.open(first, dir.resolve("reuse-1"), StandardOpenOption.CREATE,
                         StandardOpenOption.WRITE, Direct.DIRECT)) {
                new AuraMeterBinder(first).bindTo(registry);
                for (int i = 0; i < 5; i++) {
                    file.write(block, (long) i * BLOCK);
                }
            }
            int meters = registry.getMeters().size();
            try (Engine second = Engine.create(Options.builder().ringCount(1).name("review-reuse").build());
                 AuraFile file = AuraFile.open(second, dir.resolve("reuse-2"), StandardOpenOption.CREATE,
                         StandardOpenOption.WRITE, Direct.DIRECT)) {
                new AuraMeterBinder(second).bindTo(registry);
                for (int i = 0; i < 3; i++) {
                    file.write(block, (long) i * BLOCK);
                }
                assertThat(registry.getMeters()).hasSize(meters);
                assertThat(registry.get("auraio.bytes").functionCounter().count())
                        .isEqualTo((double) second.stats().bytesTransferred());
                assertThat(registry.get("auraio.ring.bytes").functionCounter().count())
                        .isEqualTo((double) second.ringStats(0).bytesTransferred());
                assertThat(registry.get("auraio.operations").functionCounter().count())
                        .isEqualTo((double) second.stats().opsCompleted());
            }
        }
    }

    /** 500 engines created and closed, half of them registered first: no MXBean and no name is left. */
    @Test
    void fiveHundredEnginesLeaveNoMXBeanBehind() throws Exception {
        javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        javax.management.ObjectName ours = new javax.management.ObjectName("io.auraio:*");
        java.util.Set<javax.management.ObjectName> before = server.queryNames(ours, null);
        for (int i = 0; i < 500; i++) {
            try (Engine engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).build())) {
                if (i % 50 == 0) {
                    EngineMonitoring.awaitRegistrations();
                    assertThat(server.isRegistered(EngineMonitoring.engineObjectName(engine.name()))).isTrue();
                }
            }
        }
        EngineMonitoring.awaitRegistrations();
        assertThat(server.queryNames(ours, null)).isEqualTo(before);
        // Two open engines never share an ObjectName.
        try (Engine a = Engine.create(Options.builder().ringCount(1).build());
             Engine b = Engine.create(Options.builder().ringCount(1).build())) {
            EngineMonitoring.awaitRegistrations();
            assertThat(a.name()).isNotEqualTo(b.name());
            assertThat(server.getAttribute(EngineMonitoring.engineObjectName(a.name()), "Name")).isEqualTo(a.name());
            assertThat(server.getAttribute(EngineMonitoring.engineObjectName(b.name()), "Name")).isEqualTo(b.name());
        }
    }

    /**
     * With adaptive tuning off the P99 estimate covers every sample, as the histogram does: it
     * lies within the bucket that {@link Histogram#percentile} names (its upper edge), and the
     * engine's P99 is the highest ring's.
     */
    @Test
    void theP99EstimateAgreesWithTheHistogramWithinABucket() throws Exception {
        Path path = dir.resolve("p99");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).disableAdaptive(true).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 300; i++) {
                file.write(block, (long) (i % 64) * BLOCK);
            }
            Histogram h = engine.histogram(0);
            assertThat(h.totalCount()).isGreaterThanOrEqualTo(300);
            double edge = h.percentile(99);
            double p99 = engine.ringStats(0).p99LatencyMs();
            assertThat(p99).isPositive().isLessThanOrEqualTo(edge)
                    .isGreaterThanOrEqualTo(edge - Histogram.BUCKET_WIDTH_US / 1000.0 - 1e-9);
            assertThat(engine.stats().p99LatencyMs()).isEqualTo(p99);
        }
    }

    /**
     * Reads into heap arrays (through pool bounce buffers) parked on FIFOs, their threads
     * interrupted: once they have ended nothing is in flight and the pool is back at its baseline.
     */
    @Test
    void interruptedReadsLeaveNothingInFlightNorHandedOut() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            BufferStats baseline = engine.bufferStats();
            List<Thread> readers = new ArrayList<>();
            ConcurrentLinkedQueue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
            for (int t = 0; t < 4; t++) {
                Path fifo = Fifo.create(dir.resolve("intr-" + t));
                AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
                readers.add(Thread.ofVirtual().start(() -> {
                    try (pipe) {
                        pipe.read(MemorySegment.ofArray(new byte[4096]), 0);
                        outcomes.add(new AssertionError("read returned"));
                    } catch (Throwable e) {
                        outcomes.add(e);
                    }
                }));
            }
            TestSupport.awaitCondition("4 reads in flight", () -> engine.stats().currentInFlight() == 4);
            assertThat(engine.bufferStats().totalBuffers() - baseline.totalBuffers()).isEqualTo(4);
            readers.forEach(Thread::interrupt);
            TestSupport.assertAllEnd(readers, java.time.Duration.ofSeconds(10), () -> "interrupted FIFO readers");
            assertThat(outcomes).hasSize(4).allSatisfy(e -> assertThat(e)
                    .isInstanceOf(java.nio.channels.ClosedByInterruptException.class));
            TestSupport.settle(() -> engine.stats().currentInFlight() == 0, java.time.Duration.ofSeconds(5));
            assertThat(engine.stats().currentInFlight()).isZero();
            assertThat(engine.bufferStats()).isEqualTo(baseline);
        }
    }

    /**
     * A registry that outlives its engine: once the engine is closed the meters report its last
     * values, without error, and do not keep it reachable.
     */
    @Test
    void metersOfAClosedEngineKeepItsLastValuesButNotTheEngine() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        java.lang.ref.WeakReference<Engine> ref = bindWriteAndClose(registry, dir.resolve("weak"));
        EngineMonitoring.awaitRegistrations();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (ref.get() != null && System.nanoTime() < deadline) {
            registry.getMeters().forEach(m -> m.measure().forEach(ms -> assertThat(ms.getValue()).isNotNaN()));
            System.gc();
            Thread.sleep(20);
        }
        assertThat(ref.get()).as("closed engine still reachable from its meters").isNull();
        assertThat(registry.get("auraio.bytes").functionCounter().count()).isEqualTo(4.0 * BLOCK);
        assertThat(registry.get("auraio.ring.bytes").functionCounter().count()).isEqualTo(4.0 * BLOCK);
        assertThat(registry.get("auraio.inflight").gauge().value()).isZero();
        assertThat(registry.get("auraio.ring.queue.depth").gauge().value()).isPositive();
        registry.getMeters().forEach(m -> m.measure().forEach(ms -> assertThat(ms.getValue()).isNotNaN()));
    }

    private static java.lang.ref.WeakReference<Engine> bindWriteAndClose(SimpleMeterRegistry registry, Path path)
            throws Exception {
        Engine engine = Engine.create(Options.builder().ringCount(1).name("review-weak").build());
        try (AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            new AuraMeterBinder(engine).bindTo(registry);
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 4; i++) {
                file.write(block, (long) i * BLOCK);
            }
        } finally {
            engine.close();
        }
        return new java.lang.ref.WeakReference<>(engine);
    }

    /**
     * Meters scraped from another thread while requests run and the engine closes: no reading
     * throws or is NaN, counters never go back, and the P99 time gauge is the ring's P99.
     */
    @Test
    void metersScrapedDuringIoAndCloseNeitherThrowNorGoBack() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Engine engine = Engine.create(Options.builder().ringCount(2).disableAdaptive(true).name("review-scrape").build());
        new AuraMeterBinder(engine).bindTo(registry);
        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        Thread scraper = Thread.ofPlatform().start(() -> {
            double bytes = 0;
            try {
                while (!done.get()) {
                    registry.getMeters().forEach(m -> m.measure().forEach(ms -> {
                        if (Double.isNaN(ms.getValue())) {
                            throw new AssertionError(m.getId() + " is NaN");
                        }
                    }));
                    double now = registry.get("auraio.bytes").functionCounter().count();
                    check("auraio.bytes", (long) bytes, (long) now);
                    bytes = now;
                }
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        try (AuraFile file = AuraFile.open(engine, dir.resolve("scrape"), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            for (int i = 0; i < 200; i++) {
                file.write(block, (long) (i % 32) * BLOCK);
            }
            for (int r = 0; r < 2; r++) {
                assertThat(registry.get("auraio.ring.latency.p99").tag("ring", Integer.toString(r)).timeGauge()
                        .value(java.util.concurrent.TimeUnit.MILLISECONDS))
                        .isCloseTo(engine.ringStats(r).p99LatencyMs(), org.assertj.core.data.Offset.offset(1e-9));
            }
        } finally {
            engine.close();
            Thread.sleep(50);
            done.set(true);
            scraper.join(10_000);
        }
        assertThat(scraper.getState() != Thread.State.TERMINATED).isFalse();
        assertThat(failures).isEmpty();
        assertThat(registry.get("auraio.bytes").functionCounter().count())
                .isEqualTo((double) engine.stats().bytesTransferred());
    }

    /** Buffers still held when the engine closes, closed after it: the pool's counts never go negative. */
    @Test
    void buffersClosedAfterTheirEngineLeaveSaneBufferStats() throws Exception {
        Engine engine = Engine.create(Options.builder().ringCount(1).build());
        Buffer a = engine.allocateBuffer(4096);
        Buffer b = engine.allocateBuffer(8192);
        engine.close();
        BufferStats atClose = engine.bufferStats();
        a.close();
        b.close();
        BufferStats after = engine.bufferStats();
        assertThat(atClose.totalBuffers()).isBetween(0L, 2L);
        assertThat(after.totalBuffers()).isZero();
        assertThat(after.totalAllocatedBytes()).isZero();
    }

    /**
     * A read the kernel holds when the engine closes: it reached the kernel, so it counts once
     * (ending ESHUTDOWN for its caller), and nothing stays in flight.
     */
    @Test
    void aReadInTheKernelAtCloseCountsOnce() throws Exception {
        Path fifo = Fifo.create(dir.resolve("close-fifo"));
        Engine engine = Engine.create(Options.builder().ringCount(1).build());
        List<Long> results = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
            engine.read(pipe.fd(), BufferRef.of(arena.allocate(8)), 8, 0, (r, result) -> results.add(result));
            TestSupport.awaitCondition("the read in the kernel", () -> inKernel(engine) == 1);
            long before = engine.stats().opsCompleted();
            engine.close();
            assertThat(results).containsExactly(-108L);
            Stats after = engine.stats();
            assertThat(after.currentInFlight()).isZero();
            assertThat(after.opsCompleted() - before).isEqualTo(1);
            assertThat(engine.ringStats(0).opsCompleted()).isEqualTo(after.opsCompleted());
            pipe.close();
        }
    }
}
