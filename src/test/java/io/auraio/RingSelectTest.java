package io.auraio;

import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.READ;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.engine.RingProbe;
import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link RingSelect}: which ring a submission lands on, observed through the ring of each
 * {@link Request} and the per-ring counts of {@link Engine#ringStats(int)}.
 */
@ExtendWith(IoUringAvailable.class)
class RingSelectTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static int ringOf(Request r) {
        return RingProbe.ringIndex(r.handle());
    }

    private Path dataFile() throws Exception {
        Path path = dir.resolve("data");
        Files.write(path, randomBytes(64 * 1024, 1));
        return path;
    }

    @ParameterizedTest(name = "{0} rings")
    @ValueSource(ints = {2, 3})
    void roundRobinTakesTheRingsInTurn(int rings) throws Exception {
        Options options = Options.builder().ringCount(rings).ringSelect(RingSelect.ROUND_ROBIN).build();
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             AuraFile file = AuraFile.open(engine, dataFile(), READ)) {
            long[] before = new long[rings];
            for (int i = 0; i < rings; i++) {
                before[i] = engine.ringStats(i).opsCompleted();
            }
            int submissions = 30 * rings;
            Completions done = new Completions();
            List<Request> requests = new ArrayList<>();
            for (int i = 0; i < submissions; i++) {
                requests.add(engine.read(file.fd(), BufferRef.of(arena.allocate(100)), 100, i * 100L, done));
            }
            done.awaitCount(engine, submissions);
            for (int i = 1; i < submissions; i++) {
                assertThat(ringOf(requests.get(i))).as("submission %d", i)
                        .isEqualTo((ringOf(requests.get(i - 1)) + 1) % rings);
            }
            for (int i = 0; i < rings; i++) {
                assertThat(engine.ringStats(i).opsCompleted() - before[i]).as("ring %d", i).isEqualTo(30);
            }
            assertNothingLeaked(engine);
        }
    }

    /**
     * CPU_LOCAL submits to ring {@code cpu % rings}. A platform thread may migrate between CPUs, so
     * only submissions with the same CPU sampled before and after are checked, and enough of them
     * are gathered.
     */
    @Test
    void cpuLocalSubmitsToTheRingOfTheCurrentCpu() throws Exception {
        int rings = 2;
        Options options = Options.builder().ringCount(rings).ringSelect(RingSelect.CPU_LOCAL).build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<int[]> samples = new ArrayList<>(); // {cpu, ring}
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             AuraFile file = AuraFile.open(engine, dataFile(), READ)) {
            Thread submitter = Thread.ofPlatform().start(() -> {
                try {
                    Completions done = new Completions();
                    int submitted = 0;
                    while (samples.size() < 200 && submitted < 100_000) {
                        int cpuBefore = Posix.schedGetCpu();
                        Request r = engine.read(file.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
                        int cpuAfter = Posix.schedGetCpu();
                        submitted++;
                        if (cpuBefore == cpuAfter) {
                            samples.add(new int[] {cpuBefore, ringOf(r)});
                        }
                        if (submitted % 100 == 0) {
                            done.awaitCount(engine, submitted);
                        }
                    }
                    engine.drain(-1);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            joinAll(List.of(submitter));
            assertThat(failure.get()).isNull();
            assertThat(samples).as("submissions without a CPU migration around them").hasSizeGreaterThanOrEqualTo(200);
            for (int[] s : samples) {
                assertThat(s[1]).as("ring of a submission on CPU %d", s[0]).isEqualTo(s[0] % rings);
            }
            assertNothingLeaked(engine);
        }
    }

    @Test
    void adaptiveStaysOnTheLocalRingWhileItIsLightlyLoaded() throws Exception {
        int rings = 2;
        Options options = Options.builder().ringCount(rings).queueDepth(64).initialInFlight(16).disableAdaptive(true)
                .ringSelect(RingSelect.ADAPTIVE).build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<int[]> samples = new ArrayList<>();
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             AuraFile file = AuraFile.open(engine, dataFile(), READ)) {
            Thread submitter = Thread.ofPlatform().start(() -> {
                try {
                    Completions done = new Completions();
                    for (int i = 0; i < 300; i++) {
                        int cpuBefore = Posix.schedGetCpu();
                        Request r = engine.read(file.fd(), BufferRef.of(arena.allocate(8)), 8, 0, done);
                        int cpuAfter = Posix.schedGetCpu();
                        if (cpuBefore == cpuAfter) {
                            samples.add(new int[] {cpuBefore, ringOf(r)});
                        }
                        done.awaitCount(engine, i + 1); // one at a time: the ring is never loaded
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            joinAll(List.of(submitter));
            assertThat(failure.get()).isNull();
            assertThat(samples).hasSizeGreaterThanOrEqualTo(100);
            for (int[] s : samples) {
                assertThat(s[1]).as("ring of a submission on CPU %d", s[0]).isEqualTo(s[0] % rings);
            }
            assertThat(engine.stats().adaptiveSpills()).isZero();
            assertNothingLeaked(engine);
        }
    }

    /**
     * ADAPTIVE moves a submission to another ring when the local one holds more than 75% of its
     * in-flight limit. With the limit held at 4 (adaptive tuning off), a ring takes at most 4
     * submissions as the local ring (at loads 0 to 3); so of 12 reads that never complete, at
     * least 4 spill, and each ring ends up holding at least 4, however the submitting thread
     * moves between CPUs.
     */
    @Test
    void adaptiveSpillsToTheOtherRingWhenTheLocalRingIsAboveThreeQuartersOfItsLimit() throws Exception {
        int rings = 2;
        int reads = 12;
        Options options = Options.builder().ringCount(rings).queueDepth(16).initialInFlight(4).disableAdaptive(true)
                .ringSelect(RingSelect.ADAPTIVE).build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Request> requests = new ArrayList<>();
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            assertThat(engine.ringStats(0).inFlightLimit()).isEqualTo(4);
            Thread submitter = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < reads; i++) {
                        requests.add(engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, null));
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            joinAll(List.of(submitter));
            assertThat(failure.get()).isNull();

            assertThat(engine.stats().adaptiveSpills()).isGreaterThanOrEqualTo(reads - 2 * 4);
            int[] perRing = new int[rings];
            for (Request r : requests) {
                perRing[ringOf(r)]++;
            }
            for (int i = 0; i < rings; i++) {
                assertThat(perRing[i]).as("requests on ring %d", i).isGreaterThanOrEqualTo(4);
                assertThat(engine.ringStats(i).pendingCount()).isEqualTo(perRing[i]);
            }

            for (Request r : requests) {
                engine.cancel(r);
            }
            engine.drain(-1);
            assertThat(requests).noneMatch(Request::isPending);
            assertNothingLeaked(engine);
        }
    }

    /**
     * A submission ADAPTIVE moves off the local ring counts as a spill only once that ring takes
     * it. With the in-flight limit held at 4, a ring holding more than 3 reads that never complete
     * sends each submission to the other; once the other's 8 request slots are all taken, each is
     * refused ("every request slot of the ring is taken"), and the count stays where it was but
     * for the few a move between CPUs lets in. (Before, each refused one counted.)
     */
    @Test
    void adaptiveCountsNoSpillForASubmissionTheRingRefused() throws Exception {
        int rings = 2;
        Options options = Options.builder().ringCount(rings).queueDepth(8).initialInFlight(4).disableAdaptive(true)
                .ringSelect(RingSelect.ADAPTIVE).build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Request> requests = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        long[] spills = new long[2];
        int[] acceptedMeanwhile = {0};
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared();
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Thread submitter = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; refusals.size() < 50 && i < 1_000; i++) {
                        if (refusals.size() == 10 && spills[0] == 0) {
                            spills[0] = engine.stats().adaptiveSpills();
                        }
                        try {
                            requests.add(engine.read(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0, null));
                            if (refusals.size() >= 10) {
                                acceptedMeanwhile[0]++;
                            }
                        } catch (AuraIOException e) {
                            refusals.add(e.getMessage());
                        }
                    }
                    spills[1] = engine.stats().adaptiveSpills();
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            joinAll(List.of(submitter));
            assertThat(failure.get()).isNull();
            assertThat(refusals).hasSize(50).allMatch(m -> m.contains("every request slot of the ring is taken"));
            assertThat(spills[0]).as("spills before: at least the reads past the local ring's 4, at most all")
                    .isBetween(1L, (long) requests.size());
            assertThat(spills[1] - spills[0]).as("spills counted over 40 refused submissions (%d accepted meanwhile)",
                    acceptedMeanwhile[0]).isLessThanOrEqualTo(acceptedMeanwhile[0]);

            for (Request r : requests) {
                engine.cancel(r);
            }
            engine.drain(-1);
            assertThat(requests).noneMatch(Request::isPending);
            assertNothingLeaked(engine);
        }
    }
}
