package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Direct;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link Engine#stats()}, {@link Engine#ringStats}, {@link Engine#histogram}, {@link AimdPhase}. */
@ExtendWith(IoUringAvailable.class)
class StatsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final int OPS = 100;
    private static final int BLOCK = 4096;

    @Test
    void opsCompletedAndBytesTransferredCountExactlyTheOperationsPerformed() throws Exception {
        Path path = dir.resolve("exact");
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            Stats before = engine.stats();
            for (int i = 0; i < OPS; i++) {
                file.write(block, (long) i * BLOCK);
            }
            for (int i = 0; i < OPS; i++) {
                file.read(block, (long) i * BLOCK);
            }
            Stats after = engine.stats();
            assertThat(after.opsCompleted() - before.opsCompleted()).isEqualTo(2L * OPS);
            assertThat(after.bytesTransferred() - before.bytesTransferred()).isEqualTo(2L * OPS * BLOCK);
            long ringOps = 0;
            long ringBytes = 0;
            for (int i = 0; i < engine.ringCount(); i++) {
                ringOps += engine.ringStats(i).opsCompleted();
                ringBytes += engine.ringStats(i).bytesTransferred();
            }
            // O_DIRECT never takes the caller-thread fast path: every operation went through a ring.
            assertThat(ringOps).isEqualTo(after.opsCompleted());
            assertThat(ringBytes).isEqualTo(after.bytesTransferred());
        }
    }

    @Test
    void pageCacheHitsServedByTheFastPathAreCountedToo() throws Exception {
        Path path = dir.resolve("cached");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(BLOCK);
            file.write(block, 0);
            Stats before = engine.stats();
            for (int i = 0; i < OPS; i++) {
                assertThat(file.read(block, 0)).isEqualTo(BLOCK);
            }
            Stats after = engine.stats();
            assertThat(after.opsCompleted() - before.opsCompleted()).isEqualTo(OPS);
            assertThat(after.bytesTransferred() - before.bytesTransferred()).isEqualTo((long) OPS * BLOCK);
        }
    }

    @Test
    void ringStatsDescribeEachRing() throws Exception {
        Options options = Options.builder().ringCount(3).queueDepth(64).initialInFlight(16).disableAdaptive(true)
                .build();
        try (Engine engine = Engine.create(options)) {
            assertThat(engine.ringCount()).isEqualTo(3);
            for (int i = 0; i < 3; i++) {
                RingStats rs = engine.ringStats(i);
                assertThat(rs.ringIndex()).isEqualTo(i);
                assertThat(rs.queueDepth()).isEqualTo(64);
                assertThat(rs.inFlightLimit()).isEqualTo(16);
                assertThat(rs.pendingCount()).isZero();
                assertThat(rs.batchThreshold()).isBetween(1, 64);
                assertThat(rs.aimdPhase()).isBetween(0, 5);
                assertThat(rs.aimdPhaseName()).isEqualTo(AimdPhase.name(rs.aimdPhase()));
                assertThat(rs.phase().value()).isEqualTo(rs.aimdPhase());
            }
            Stats stats = engine.stats();
            assertThat(stats.optimalInFlight()).isEqualTo(3 * 16);
            assertThat(stats.currentInFlight()).isZero();
        }
    }

    @Test
    void aBadRingIndexIsAnIndexOutOfBoundsException() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            for (int bad : new int[] {-1, 2, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
                assertThatThrownBy(() -> engine.ringStats(bad)).isInstanceOf(IndexOutOfBoundsException.class);
                assertThatThrownBy(() -> engine.histogram(bad)).isInstanceOf(IndexOutOfBoundsException.class);
            }
        }
    }

    @Test
    void withAdaptiveTuningDisabledTheHistogramAccumulatesEveryCompletion() throws Exception {
        Path path = dir.resolve("histogram");
        Options options = Options.builder().ringCount(1).disableAdaptive(true).build();
        try (Engine engine = Engine.create(options);
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment block = Direct.aligned(arena, BLOCK);
            long before = engine.histogram(0).totalCount();
            for (int i = 0; i < OPS; i++) {
                file.write(block, (long) i * BLOCK);
            }
            Histogram h = engine.histogram(0);
            assertThat(h.totalCount() - before).isEqualTo(OPS);
            long sum = h.overflow();
            for (long b : h.buckets()) {
                sum += b;
            }
            assertThat(sum).isEqualTo(h.totalCount());
            assertThat(h.buckets()).hasSize(Histogram.BUCKET_COUNT);
            assertThat(h.bucketWidthUs()).isEqualTo(Histogram.BUCKET_WIDTH_US);
            assertThat(h.maxTrackedUs()).isEqualTo(Histogram.BUCKET_COUNT * Histogram.BUCKET_WIDTH_US);
        }
    }

    @Test
    void histogramBucketBoundsFollowTheReference() {
        Histogram h = new Histogram(new long[Histogram.BUCKET_COUNT], 0, 0, 50, 10_000);
        assertThat(Histogram.BUCKET_COUNT).isEqualTo(200);
        assertThat(Histogram.BUCKET_WIDTH_US).isEqualTo(50);
        assertThat(h.bucketLowerUs(0)).isZero();
        assertThat(h.bucketUpperUs(0)).isEqualTo(50);
        assertThat(h.bucketLowerUs(199)).isEqualTo(9950);
        assertThat(h.bucketUpperUs(199)).isEqualTo(10_000);
        assertThat(h.bucket(-1)).isZero();
        assertThat(h.bucket(200)).isZero();
        assertThat(h.bucketLowerUs(200)).isZero();
        assertThat(h.bucketUpperUs(-1)).isZero();
    }

    @Test
    void aHistogramSnapshotCannotBeChangedThroughItsArray() {
        long[] counts = new long[Histogram.BUCKET_COUNT];
        Histogram h = new Histogram(counts, 0, 0, 50, 10_000);
        counts[0] = 7;
        h.buckets()[1] = 9;
        assertThat(h.bucket(0)).isZero();
        assertThat(h.bucket(1)).isZero();
    }

    @Test
    void phaseNamesAndValuesFollowTheReference() {
        String[] names = {"BASELINE", "PROBING", "STEADY", "BACKOFF", "SETTLING", "CONVERGED"};
        for (int i = 0; i < names.length; i++) {
            assertThat(AimdPhase.name(i)).isEqualTo(names[i]);
            assertThat(AimdPhase.of(i).value()).isEqualTo(i);
        }
        assertThat(AimdPhase.name(-1)).isEqualTo("UNKNOWN");
        assertThat(AimdPhase.name(6)).isEqualTo("UNKNOWN");
        assertThatThrownBy(() -> AimdPhase.of(6)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void currentInFlightCountsARequestThatIsStillPending() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            Request r = engine.read(pipe.fd(), BufferRef.of(arena.allocate(8)), 8, 0, null);
            TestSupport.awaitCondition("the FIFO read to be in flight", () -> engine.stats().currentInFlight() == 1);
            assertThat(engine.ringStats(0).pendingCount()).isEqualTo(1);
            assertThat(engine.cancel(r)).isTrue();
            engine.drain(-1);
            assertThat(engine.stats().currentInFlight()).isZero();
        }
    }

    @Test
    void statsAreSafeToReadFromAnyThreadDuringIo() throws Exception {
        Path path = dir.resolve("concurrent");
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE, Direct.DIRECT)) {
            AtomicBoolean done = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                long last = 0;
                try {
                    while (!done.get()) {
                        Stats s = engine.stats();
                        if (s.opsCompleted() < last) {
                            throw new AssertionError("opsCompleted went backwards: " + last + " -> " + s.opsCompleted());
                        }
                        last = s.opsCompleted();
                        for (int i = 0; i < engine.ringCount(); i++) {
                            engine.ringStats(i);
                            engine.histogram(i);
                        }
                        engine.bufferStats();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int id = t;
                writers.add(Thread.ofVirtual().start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment block = Direct.aligned(arena, BLOCK);
                        for (int i = 0; i < 50; i++) {
                            file.write(block, (long) (id * 50 + i) * BLOCK);
                        }
                    } catch (Exception e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            TestSupport.joinAll(writers);
            done.set(true);
            reader.join();
            assertThat(failure.get()).isNull();
            assertThat(engine.stats().opsCompleted()).isGreaterThanOrEqualTo(16 * 50);
        }
    }

    @Test
    void bufferStatsCountTheBuffersHandedOut() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            BufferStats empty = engine.bufferStats();
            assertThat(empty.totalBuffers()).isZero();
            assertThat(empty.shardCount()).isPositive();
            Buffer a = engine.allocateBuffer(4096);
            Buffer b = engine.allocateBuffer(10_000);
            BufferStats two = engine.bufferStats();
            assertThat(two.totalBuffers()).isEqualTo(2);
            assertThat(two.totalAllocatedBytes()).isGreaterThanOrEqualTo(4096 + 10_000);
            a.close();
            b.close();
            assertThat(engine.bufferStats().totalBuffers()).isZero();
            assertThat(engine.bufferStats().totalAllocatedBytes()).isZero();
        }
    }
}
