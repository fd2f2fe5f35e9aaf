package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.testing.IoUringAvailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link IoEngine}: ring selection, requests through a poller, close. */
@ExtendWith(IoUringAvailable.class)
class IoEngineTest {
    /** 32 slots, a fixed limit of 32 (adaptive tuning off), no SQPOLL, non-daemon pollers. */
    private static final RingConfig CONFIG = new RingConfig(32, 32, 4, 0, false, false, 0, false);

    private IoEngine engine;

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    private static long nop(RingPoller ring) {
        return ring.execute(Opcode.NOP, 0, -1, 0, 0, 0, 0, 0);
    }

    @Test
    void roundRobinTakesTheRingsInTurn() throws IoUring.SetupException {
        engine = IoEngine.start(3, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller first = engine.chosen(engine.choose());
        int start = first.index();
        for (int i = 1; i < 9; i++) {
            assertThat(engine.chosen(engine.choose()).index()).isEqualTo((start + i) % 3);
        }
        for (int i = 0; i < 30; i++) {
            assertThat(nop(engine.chosen(engine.choose()))).isZero();
        }
        for (int r = 0; r < 3; r++) {
            assertThat(engine.ring(r).opsCompleted()).as("ring %d", r).isEqualTo(10);
        }
        assertThat(engine.pendingCount()).isZero();
    }

    @Test
    void cpuLocalTakesTheRingOfTheCurrentCpu() throws IoUring.SetupException {
        engine = IoEngine.start(2, CONFIG, IoEngine.Selection.CPU_LOCAL, 4096);
        assertThat(stableSelection()).isTrue();
    }

    @Test
    void adaptiveStaysOnTheLocalRingWhileItIsLightlyLoaded() throws IoUring.SetupException {
        engine = IoEngine.start(2, CONFIG, IoEngine.Selection.ADAPTIVE, 4096);
        assertThat(stableSelection()).isTrue();
        assertThat(engine.adaptiveSpills()).isZero();
    }

    /**
     * Looks for a selection made while the thread stayed on one CPU (it may migrate) and checks
     * that it picked that CPU's ring. {@return whether such a sample was found}
     */
    private boolean stableSelection() {
        for (int attempt = 0; attempt < 10_000; attempt++) {
            int before = Libc.schedGetCpu();
            RingPoller ring = engine.chosen(engine.choose());
            int after = Libc.schedGetCpu();
            if (before == after) {
                assertThat(ring.index()).isEqualTo(before % engine.ringCount());
                return true;
            }
        }
        return false;
    }

    @Test
    void executeReturnsTheKernelsResult() throws IoUring.SetupException {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ADAPTIVE, 4096);
        RingPoller ring = engine.ring(0);
        assertThat(nop(ring)).isZero();
        assertThat(ring.execute(Opcode.READ, 0, 1_000_000, 0, 0, 0, 0, 0)).isEqualTo(-Errno.EBADF);
        assertThat(ring.opsCompleted()).isEqualTo(2);
        assertThat(ring.inUse()).isZero();
        assertThat(ring.queueDepth()).isEqualTo(32);
        assertThat(ring.limit()).isEqualTo(32);
        assertThat(engine.isPollerThread()).isFalse();
    }

    @Test
    void afterCloseRequestsFailWithEshutdownAndCloseIsIdempotent() throws IoUring.SetupException {
        engine = IoEngine.start(2, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(1);
        engine.close();
        assertThat(engine.isClosed()).isTrue();
        assertThat(nop(ring)).isEqualTo(-Errno.ESHUTDOWN);
        engine.close();
        assertThat(engine.pendingCount()).isZero();
    }

    @Test
    void thePollerGathersOnlyWhileMoreRequestsAreQueuedAndBelowTheBatchThreshold() {
        assertThat(RingPoller.shouldGather(true, 0, 2, 64)).isTrue();
        assertThat(RingPoller.shouldGather(true, 1, 2, 64)).isTrue();
        assertThat(RingPoller.shouldGather(true, 2, 2, 64)).as("threshold reached").isFalse();
        assertThat(RingPoller.shouldGather(false, 0, 64, 64)).as("nothing else queued: submit now").isFalse();
        assertThat(RingPoller.shouldGather(true, 10, 64, 2)).as("SQ nearly full").isFalse();
        assertThat(RingPoller.shouldGather(true, 63, 64, 3)).isTrue();
    }

    @Test
    void everyRequestIsSubmittedExactlyOnceWhateverTheBatching() throws Exception {
        engine = IoEngine.start(1, new RingConfig(64, 64, 4, 0, true, false, 0, false),
                IoEngine.Selection.ADAPTIVE, 4096);
        RingPoller ring = engine.ring(0);
        int threads = 64;
        int perThread = 300;
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    if (nop(ring) != 0) {
                        failures.incrementAndGet();
                    }
                }
            });
        }
        for (Thread w : workers) {
            w.join();
        }
        assertThat(failures).hasValue(0);
        assertThat(ring.opsCompleted()).isEqualTo((long) threads * perThread);
        assertThat(ring.sqesSubmitted()).isEqualTo((long) threads * perThread);
        assertThat(ring.submitCalls()).isBetween(1L, ring.sqesSubmitted());
    }
}
