package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.engine.AsyncCompletion;
import io.auraio.internal.engine.RingPoller;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the reference's later versions added besides requests: the runtime setters, the peak
 * in-flight count, {@link Histogram#percentile}, "am I in a callback", and the latched fatal error.
 */
@ExtendWith(IoUringAvailable.class)
class EngineRuntimeSettingsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(2).queueDepth(32).build());
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    @Test
    void settersReachEveryRingAndCheckTheirRange() {
        engine.setMaxP99Latency(Duration.ofMillis(5));
        for (int i = 0; i < engine.ringCount(); i++) {
            assertThat(engine.core().ring(i).controller().userTargetP99Nanos()).isEqualTo(5_000_000L);
        }
        engine.setMaxP99Latency(Duration.ZERO);
        assertThat(engine.core().ring(1).controller().userTargetP99Nanos()).isZero();
        assertThatThrownBy(() -> engine.setMaxP99Latency(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class);

        engine.setMinInFlight(6);
        for (int i = 0; i < engine.ringCount(); i++) {
            assertThat(engine.core().ring(i).controller().minInFlight()).isEqualTo(6);
        }
        assertThatThrownBy(() -> engine.setMinInFlight(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.setMinInFlight(33)).isInstanceOf(IllegalArgumentException.class);
        assertThat(engine.core().ring(1).controller().minInFlight()).isEqualTo(6);

        engine.setBatchThreshold(8);
        for (int i = 0; i < engine.ringCount(); i++) {
            assertThat(engine.ringStats(i).batchThreshold()).isEqualTo(8);
        }
        assertThatThrownBy(() -> engine.setBatchThreshold(65)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> engine.setBatchThreshold(1)).isInstanceOf(IllegalArgumentException.class);
        engine.setBatchThreshold(0);
        assertThat(engine.core().ring(0).controller().pinnedBatchThreshold()).isZero();
    }

    @Test
    void theMinimumRaisesTheLimitAtTheNextTick() throws Exception {
        engine.setMinInFlight(20);
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = engine.openatAsync(file).get(HANG.toSeconds(), TimeUnit.SECONDS);
        try {
            long deadline = System.nanoTime() + HANG.toNanos();
            // The pollers apply the floor at their controller ticks, which run while requests flow.
            while (!(engine.ringStats(0).inFlightLimit() >= 20 && engine.ringStats(1).inFlightLimit() >= 20)) {
                assertThat(System.nanoTime() - deadline).as("limits still below 20").isNegative();
                engine.fadviseAsync(fd, 0, 0, Advice.NORMAL).get(HANG.toSeconds(), TimeUnit.SECONDS);
            }
        } finally {
            engine.closeAsync(fd).get(HANG.toSeconds(), TimeUnit.SECONDS);
        }
    }

    @Test
    void isInCallbackIsTrueOnlyInACallback() throws Exception {
        assertThat(engine.isInCallback()).isFalse();
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = engine.openatAsync(file).get(HANG.toSeconds(), TimeUnit.SECONDS);
        AtomicBoolean inside = new AtomicBoolean();
        engine.fsync(fd, (r, res) -> inside.set(engine.isInCallback()));
        engine.drain(HANG.toMillis());
        assertThat(inside).isTrue();
        assertThat(engine.isInCallback()).isFalse();
        engine.closeAsync(fd).get(HANG.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void peakInFlightRemembersTheMostRequestsAtOnce() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(32).build());
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            try (Buffer buf = engine.allocateBuffer(3)) {
                CompletableFuture<?>[] reads = new CompletableFuture<?>[3];
                for (int i = 0; i < 3; i++) {
                    reads[i] = engine.readAsync(fifo.fd(), buf.ref(), 1, 0);
                }
                awaitInKernel(engine, 3);
                assertThat(engine.stats().peakInFlight()).isGreaterThanOrEqualTo(3);
                fifo.write(ByteBuffer.wrap(new byte[3]), 0);
                for (CompletableFuture<?> r : reads) {
                    r.get(HANG.toSeconds(), TimeUnit.SECONDS);
                }
            }
            awaitCondition("nothing in flight", () -> engine.stats().currentInFlight() == 0);
            assertThat(engine.stats().peakInFlight()).isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void histogramPercentileIsTheBucketEdgeOfTheRank() {
        long[] buckets = new long[Histogram.BUCKET_COUNT];
        buckets[0] = 50;  // 0-50 µs
        buckets[9] = 49;  // 450-500 µs
        Histogram h = new Histogram(buckets, 1, 100, 50, 10_000);
        assertThat(h.percentile(0)).isEqualTo(0.05);
        assertThat(h.percentile(50)).isEqualTo(0.05);
        assertThat(h.percentile(50.1)).isEqualTo(0.5);
        assertThat(h.percentile(99)).isEqualTo(0.5);
        assertThat(h.percentile(100)).isEqualTo(10.0); // in the overflow: at least the last edge
        // The MXBean's percentiles, computed separately, agree.
        var p = EngineMonitoring.percentiles(List.of(h));
        assertThat(h.percentile(50)).isEqualTo(p.p50Millis());
        assertThat(h.percentile(99)).isEqualTo(p.p99Millis());
        assertThat(h.percentile(99.9)).isEqualTo(p.p999Millis());
        assertThat(new Histogram(new long[Histogram.BUCKET_COUNT], 0, 0, 50, 10_000).percentile(99)).isZero();
        assertThatThrownBy(() -> h.percentile(100.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> h.percentile(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aFailureOnThePollerIsLatchedAndTheRingShutsDownInOrder() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(32).build());
        assertThat(engine.fatalError()).isNull();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(1)) {
            // A request in the kernel when the ring fails: cancelled and waited for, not abandoned.
            CompletableFuture<Long> pending = engine.readAsync(fifo.fd(), buf.ref(), 1, 0);
            awaitInKernel(engine, 1);
            // The library's own completion code failing on the poller, injected through the core.
            IllegalStateException boom = new IllegalStateException("injected");
            AtomicLong delivered = new AtomicLong(1);
            CompletableFuture<Void> done = new CompletableFuture<>();
            engine.core().ring(0).submit(RingPoller.KIND_FUTURE, Opcode.NOP, 0, 0, 0, 0, 0, 0, 0,
                    new AsyncCompletion() {
                        @Override
                        public long kernelDone(long result) {
                            throw boom;
                        }

                        @Override
                        public void complete(long result) {
                            delivered.set(result);
                            done.complete(null);
                        }
                    }, null, false, false);
            done.get(HANG.toSeconds(), TimeUnit.SECONDS);
            assertThat(delivered.get()).isEqualTo(-5); // EIO
            assertThat(engine.fatalError()).isSameAs(boom);
            try {
                pending.get(HANG.toSeconds(), TimeUnit.SECONDS);
                throw new AssertionError("the pending read completed normally");
            } catch (ExecutionException e) {
                assertThat(((AuraIOException) e.getCause()).isShutdown()).isTrue();
            }
            try {
                engine.fsyncAsync(fifo.fd()).get(HANG.toSeconds(), TimeUnit.SECONDS);
                throw new AssertionError("the dead ring took a request");
            } catch (ExecutionException e) {
                assertThat(((AuraIOException) e.getCause()).isShutdown()).isTrue();
            }
        }
        engine.close(); // returns: the ring's poller already ended
        assertThat(engine.fatalError()).isNotNull();
    }
}
