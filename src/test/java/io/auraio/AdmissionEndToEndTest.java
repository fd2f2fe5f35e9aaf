package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The in-flight limit as the admission gate, end to end: requests go through a real ring to a FUSE
 * filesystem whose daemon counts how many reads it holds at once, so "never more than the limit at
 * the device" is measured where it matters, not sampled from the library's own counters.
 */
@ExtendWith(IoUringAvailable.class)
class AdmissionEndToEndTest {
    private static final int BLOCK = 4096;

    private static byte[] pattern(int block) {
        byte[] b = new byte[BLOCK];
        for (int i = 0; i < BLOCK; i++) {
            b[i] = (byte) (block * 31 + i);
        }
        return b;
    }

    @Test
    void aThousandVirtualThreadsAgainstALimitOfFourAllFinishAndTheDeviceNeverSeesMoreThanFour()
            throws Exception {
        int threads = 1000;
        try (FaultFs fs = FixtureAvailability.mountFaultFs("admission")) {
            Path backing = fs.backing().resolve("data");
            try (var out = Files.newOutputStream(backing)) {
                for (int i = 0; i < threads; i++) {
                    out.write(pattern(i));
                }
            }
            fs.latency(Duration.ofMillis(1)).resetCounters();
            Options options = Options.builder().ringCount(1).queueDepth(64).initialInFlight(4).disableAdaptive(true)
                    .build();
            try (Engine engine = Engine.create(options);
                 AuraFile file = AuraFile.open(engine, fs.path("data"), StandardOpenOption.READ)) {
                AtomicReference<Throwable> failure = new AtomicReference<>();
                List<Thread> readers = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    int block = i;
                    readers.add(Thread.ofVirtual().start(() -> {
                        try {
                            ByteBuffer dst = ByteBuffer.allocate(BLOCK);
                            file.readFully(dst, (long) block * BLOCK);
                            if (!java.util.Arrays.equals(dst.array(), pattern(block))) {
                                throw new AssertionError("block " + block + " read wrong bytes");
                            }
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    }));
                }
                TestSupport.joinAll(readers);
                assertThat(failure.get()).isNull();
                FaultFs.Counters c = fs.counters();
                assertThat(c.reads()).isGreaterThanOrEqualTo(threads);
                assertThat(c.maxOutstanding()).isBetween(1L, 4L);
                assertThat(engine.ringStats(0).inFlightLimit()).isEqualTo(4);
                Leaks.assertNothingLeaked(engine);
            }
        }
    }

    @Test
    void aP99TargetTheDeviceCannotMeetDrivesTheLimitToMinInFlightWithoutStarvingAnyone() throws Exception {
        int threads = 32;
        int min = 2;
        try (FaultFs fs = FixtureAvailability.mountFaultFs("target")) {
            Files.write(fs.backing().resolve("data"), new byte[threads * BLOCK]);
            fs.latency(Duration.ofMillis(3));
            Options options = Options.builder().ringCount(1).queueDepth(64).initialInFlight(16).minInFlight(min)
                    .maxP99LatencyMs(1.0).build();
            try (Engine engine = Engine.create(options);
                 AuraFile file = AuraFile.open(engine, fs.path("data"), StandardOpenOption.READ)) {
                AtomicBoolean stop = new AtomicBoolean();
                AtomicLongArray reads = new AtomicLongArray(threads);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                List<Thread> readers = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    int id = i;
                    readers.add(Thread.ofVirtual().start(() -> {
                        ByteBuffer dst = ByteBuffer.allocate(BLOCK);
                        try {
                            while (!stop.get()) {
                                file.read(dst.clear(), (long) id * BLOCK);
                                reads.incrementAndGet(id);
                            }
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        }
                    }));
                }
                try {
                    TestSupport.awaitCondition("the limit to reach minInFlight",
                            () -> engine.ringStats(0).inFlightLimit() == min);
                    long[] before = new long[threads];
                    for (int i = 0; i < threads; i++) {
                        before[i] = reads.get(i);
                    }
                    // Requests admitted under the old, higher limit may still be at the device:
                    // let them finish before the daemon starts counting what the floor allows.
                    TestSupport.awaitCondition("requests admitted before the cut to finish", () -> {
                        try {
                            return fs.counters().outstanding() <= min;
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                    fs.resetCounters();
                    // Long enough for every one of 32 FIFO-admitted readers to get several turns at
                    // 2 in flight and 3 ms each (about 0.05 s per round), short of a slow CI's patience.
                    Thread.sleep(1500);
                    FaultFs.Counters c = fs.counters();
                    assertThat(engine.ringStats(0).inFlightLimit()).isEqualTo(min);
                    assertThat(c.maxOutstanding()).isLessThanOrEqualTo(min);
                    for (int i = 0; i < threads; i++) {
                        assertThat(reads.get(i)).as("reads of thread %d while the limit is at its floor", i)
                                .isGreaterThan(before[i]);
                    }
                } finally {
                    stop.set(true);
                    TestSupport.joinAll(readers);
                }
                assertThat(failure.get()).isNull();
                assertThat(engine.ringStats(0).aimdPhaseName()).isNotEqualTo("UNKNOWN");
                Leaks.assertNothingLeaked(engine);
            }
        }
    }
}
