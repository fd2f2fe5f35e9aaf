package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.engine.RingProbe;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SequencedSet;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The adaptive controller end to end on the build's real disk: 4 KiB random O_DIRECT reads from
 * virtual threads through one ring, watched only through the public stats.
 */
@ExtendWith(IoUringAvailable.class)
class AdaptiveRealDiskTest {
    private static final int BLOCK = 4096;
    private static final long FILE_SIZE = 64L << 20;
    private static final int READERS = 64;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Virtual threads reading random blocks until stopped; failures are kept, not lost. */
    private static final class Readers implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLongArray reads;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<Thread> threads = new ArrayList<>();

        Readers(AuraFile file, int count) {
            reads = new AtomicLongArray(count);
            for (int i = 0; i < count; i++) {
                int id = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    SplittableRandom random = new SplittableRandom(id);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment dst = Direct.aligned(arena, BLOCK);
                        while (!stop.get()) {
                            long position = random.nextLong(FILE_SIZE / BLOCK) * BLOCK;
                            if (file.read(dst, position) != BLOCK) {
                                throw new AssertionError("short read at " + position);
                            }
                            reads.incrementAndGet(id);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
        }

        long[] snapshot() {
            long[] s = new long[reads.length()];
            for (int i = 0; i < s.length; i++) {
                s[i] = reads.get(i);
            }
            return s;
        }

        @Override
        public void close() {
            stop.set(true);
            try {
                TestSupport.joinAll(threads);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while joining the readers", e);
            }
            assertThat(failure.get()).isNull();
        }
    }

    private Path dataFile() throws IOException {
        Path p = dir.resolve("data");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer chunk = ByteBuffer.wrap(TestSupport.randomBytes(1 << 20, 7));
            for (long off = 0; off < FILE_SIZE; off += chunk.capacity()) {
                ch.write(chunk.clear(), off);
            }
        }
        return p;
    }

    @Test
    void underLoadThePhasesMoveFromBaselineThroughProbingToASettledLimit() throws Exception {
        Path data = dataFile();
        Options options = Options.builder().ringCount(1).queueDepth(256).initialInFlight(16).build();
        try (Engine engine = Engine.create(options);
             AuraFile file = AuraFile.open(engine, data, StandardOpenOption.READ, Direct.DIRECT)) {
            ReliabilityAdaptiveKneeTest.quietMonitoring();
            SequencedSet<AimdPhase> seen = new LinkedHashSet<>();
            List<String> trajectory = new ArrayList<>();
            try (Readers readers = new Readers(file, READERS)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                AimdPhase last = null;
                // 64 readers against a limit of 16: demand reaches the limit, so the controller
                // must leave BASELINE, probe, and settle (SETTLING, then STEADY).
                while (!(seen.contains(AimdPhase.PROBING) && seen.contains(AimdPhase.STEADY))
                        && System.nanoTime() < deadline) {
                    RingStats rs = engine.ringStats(0);
                    if (rs.phase() != last) {
                        last = rs.phase();
                        seen.add(last);
                        trajectory.add(last + "@" + rs.inFlightLimit());
                    }
                    Thread.sleep(1);
                }
                assertThat(seen).as("phases seen: %s", trajectory)
                        .contains(AimdPhase.BASELINE, AimdPhase.PROBING, AimdPhase.STEADY);
                assertThat(seen.getFirst()).isEqualTo(AimdPhase.BASELINE);
                // Settled: in STEADY the limit is held; it is somewhere the options allow.
                RingStats settled = engine.ringStats(0);
                System.out.printf("real disk, %d readers: phases %s, settled at %d in flight, p99 %.3f ms%n",
                        READERS, trajectory, settled.inFlightLimit(), settled.p99LatencyMs());
                assertThat(settled.inFlightLimit()).as("trajectory %s", trajectory).isBetween(4, 256);
                assertThat(settled.p99LatencyMs()).isPositive();
                assertThat(settled.throughputBps()).isPositive();
                long[] before = readers.snapshot();
                Thread.sleep(200);
                long[] after = readers.snapshot();
                for (int i = 0; i < READERS; i++) {
                    assertThat(after[i]).as("reader %d progresses at the settled limit", i).isGreaterThan(before[i]);
                }
            }
            Leaks.assertNothingLeaked(engine);
        }
    }

    @Test
    void aTargetBelowWhatTheDiskCanDoHoldsTheLimitAtMinInFlightWithoutStarvingAnyone() throws Exception {
        Path data = dataFile();
        int min = 2;
        // 1 microsecond: no disk answers an O_DIRECT read that fast, so every window is a spike.
        Options options = Options.builder().ringCount(1).queueDepth(128).initialInFlight(32).minInFlight(min)
                .maxP99LatencyMs(0.001).build();
        try (Engine engine = Engine.create(options);
             AuraFile file = AuraFile.open(engine, data, StandardOpenOption.READ, Direct.DIRECT)) {
            ReliabilityAdaptiveKneeTest.quietMonitoring();
            try (Readers readers = new Readers(file, 32)) {
                TestSupport.awaitCondition("the limit to reach minInFlight",
                        () -> engine.ringStats(0).inFlightLimit() == min);
                var ring = engine.core().ring(0);
                TestSupport.awaitCondition("requests admitted before the cut to finish",
                        () -> RingProbe.inKernel(ring) <= min);
                long[] before = readers.snapshot();
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
                int maxInKernel = 0;
                while (System.nanoTime() < end) {
                    assertThat(engine.ringStats(0).inFlightLimit()).isEqualTo(min);
                    maxInKernel = Math.max(maxInKernel, RingProbe.inKernel(ring));
                    Thread.sleep(1);
                }
                long[] after = readers.snapshot();
                assertThat(maxInKernel).isLessThanOrEqualTo(min);
                for (int i = 0; i < after.length; i++) {
                    assertThat(after[i]).as("reads of thread %d at the floor", i).isGreaterThan(before[i]);
                }
            }
            Leaks.assertNothingLeaked(engine);
        }
    }
}
