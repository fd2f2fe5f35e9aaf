package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.internal.adaptive.AimdController;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The engine's options (each bad value refused naming the option), its liveness under extreme but
 * valid options, its close racing callers, slow (FUSE) file systems that hang, and the adaptive
 * controller's bounds.
 * Every wait is bounded; a caller still parked at the bound fails its test with its stack.
 */
@ExtendWith(IoUringAvailable.class)
class OptionsAndLivenessTest {
    private static final Duration BOUND = Duration.ofSeconds(30);
    private static final int BLOCK = 4096;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    // ------------------------------------------------------------------ (1) options validation

    @Test
    void everyOutOfRangeOptionIsRefusedNamingTheOption() {
        record Bad(String option, Runnable set) {}
        List<Bad> bad = List.of(
                new Bad("queueDepth", () -> Options.builder().queueDepth(0)),
                new Bad("queueDepth", () -> Options.builder().queueDepth(-1)),
                new Bad("queueDepth", () -> Options.builder().queueDepth(Options.MAX_QUEUE_DEPTH + 1)),
                new Bad("queueDepth", () -> Options.builder().queueDepth(Integer.MIN_VALUE)),
                new Bad("ringCount", () -> Options.builder().ringCount(-1)),
                new Bad("ringCount", () -> Options.builder().ringCount(1025)),
                new Bad("initialInFlight", () -> Options.builder().initialInFlight(-1)),
                new Bad("initialInFlight", () -> Options.builder().queueDepth(8).initialInFlight(9).build()),
                new Bad("minInFlight", () -> Options.builder().minInFlight(0)),
                new Bad("minInFlight", () -> Options.builder().minInFlight(-5)),
                new Bad("minInFlight", () -> Options.builder().queueDepth(8).initialInFlight(2).minInFlight(3).build()),
                new Bad("minInFlight", () -> Options.builder().queueDepth(8).minInFlight(9).build()),
                new Bad("maxP99LatencyMs", () -> Options.builder().maxP99LatencyMs(-1)),
                new Bad("maxP99LatencyMs", () -> Options.builder().maxP99LatencyMs(-0.0001)),
                new Bad("maxP99LatencyMs", () -> Options.builder().maxP99LatencyMs(Double.NaN)),
                new Bad("maxP99LatencyMs", () -> Options.builder().maxP99LatencyMs(Double.POSITIVE_INFINITY)),
                new Bad("maxP99LatencyMs", () -> Options.builder().maxP99LatencyMs(Double.NEGATIVE_INFINITY)),
                new Bad("bufferAlignment", () -> Options.builder().bufferAlignment(0)),
                new Bad("bufferAlignment", () -> Options.builder().bufferAlignment(4097)),
                new Bad("bufferAlignment", () -> Options.builder().bufferAlignment(1L << 21)),
                new Bad("sqpollIdleMs", () -> Options.builder().sqpollIdleMs(-1)),
                new Bad("name", () -> Options.builder().name("")),
                new Bad("name", () -> Options.builder().name("a=b")));
        for (Bad b : bad) {
            assertThatThrownBy(b.set()::run).as(b.option())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(b.option());
        }
        // Documented clamps: the default floor of 4 shrinks to fit a tiny ring; 0 = queueDepth / 4.
        Options one = Options.builder().queueDepth(1).build();
        assertThat(one.initialInFlight()).isEqualTo(1);
        assertThat(one.minInFlight()).isEqualTo(1);
        Options three = Options.builder().queueDepth(3).build();
        assertThat(three.initialInFlight()).isEqualTo(1);
        assertThat(three.minInFlight()).isEqualTo(1);
        // A builder keeps its settings: initialInFlight checked against the final queueDepth only.
        assertThat(Options.builder().initialInFlight(64).queueDepth(64).build().initialInFlight()).isEqualTo(64);
        assertThat(Options.builder().queueDepth(64).build().toBuilder().queueDepth(8).build().initialInFlight())
                .as("a default initialInFlight follows a changed queueDepth through toBuilder").isEqualTo(2);
    }

    /**
     * A positive P99 target too small for a whole nanosecond ({@code maxP99LatencyMs(1e-7)}) stays
     * a target (1 ns): {@code Engine.start} truncated {@code ms * 1_000_000} to 0 nanoseconds, which
     * the controller reads as "detect it", the opposite of the user's strict target.
     */
    @Test
    void aTinyPositiveP99TargetIsNotSilentlyTurnedIntoAutoDetect() throws Exception {
        Options options = Options.builder().ringCount(1).queueDepth(8).maxP99LatencyMs(1e-7).build();
        assertThat(options.maxP99LatencyMs()).isPositive();
        try (Engine e = Engine.create(options)) {
            assertThat(e.core().ring(0).controller().userTargetP99Nanos())
                    .as("the controller's user target for maxP99LatencyMs(1e-7), a positive target")
                    .isPositive();
        }
    }

    /** Odd but valid shapes start and serve: non-power-of-two depths, the kernel's maximum depth. */
    @Test
    void oddQueueDepthsStartAndServe() throws Exception {
        Path p = dir.resolve("odd");
        Files.write(p, TestSupport.randomBytes(BLOCK, 1));
        for (int depth : new int[] {1, 3, 7, Options.MAX_QUEUE_DEPTH}) {
            try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(depth).build());
                 AuraFile f = AuraFile.open(e, p, StandardOpenOption.READ)) {
                assertThat(f.read(ByteBuffer.allocate(BLOCK), 0)).as("queueDepth %d", depth).isEqualTo(BLOCK);
                assertThat(e.ringStats(0).queueDepth()).isEqualTo(depth);
            }
        }
    }

    // ------------------------------------------------------------------ (5) adaptive controller

    /**
     * The controller fed hostile samples (0, negative, Long.MAX_VALUE latencies, a clock that
     * jumps back and far forward, demand that flips) never leaves [min, queueDepth], with and
     * without a user target, for tiny and large rings.
     */
    @Test
    void theControllerStaysWithinItsBoundsUnderHostileSamples() {
        Random random = new Random(42);
        for (int depth : new int[] {1, 2, 3, 16, 4096}) {
            for (long target : new long[] {0, 1, 1_000_000, Long.MAX_VALUE}) {
                int min = Math.max(1, depth / 8);
                AtomicLong clock = new AtomicLong(1_000_000_000L);
                AimdController c = new AimdController(depth, min, depth, target, false, clock::get);
                for (int step = 0; step < 20_000; step++) {
                    int n = random.nextInt(200);
                    for (int i = 0; i < n; i++) {
                        long latency = switch (random.nextInt(6)) {
                            case 0 -> 0;
                            case 1 -> -random.nextInt(1_000_000);
                            case 2 -> Long.MAX_VALUE;
                            case 3 -> random.nextInt(100_000);
                            default -> (long) (random.nextDouble() * 5e9);
                        };
                        c.recordCompletion(latency, random.nextInt(3) == 0 ? -1 : random.nextInt(1 << 20));
                    }
                    int inUse = random.nextInt(depth + 1);
                    c.observePending(inUse, random.nextInt(3) == 0 ? random.nextInt(1000) : 0, random.nextInt(inUse + 1));
                    long advance = switch (random.nextInt(20)) {
                        case 0 -> -5_000_000_000L; // steps back
                        case 1 -> 60_000_000_000L; // a long stall
                        default -> 10_000_000L;
                    };
                    clock.addAndGet(advance);
                    if (step % 997 == 0) {
                        c.setMinInFlight(1 + random.nextInt(depth));
                        min = c.minInFlight();
                    }
                    c.tick();
                    assertThat(c.inFlightLimit()).as("depth %d target %d step %d", depth, target, step)
                            .isBetween(1, depth);
                }
            }
        }
    }

    // ------------------------------------------------------------------ (2) liveness, extreme options

    /** One caller's mix: open, write, read, fsync, statx (size), close; the AuraFileChannel twin. */
    private static void mixedWork(Engine engine, Path file, int seed, int rounds) throws IOException {
        byte[] data = TestSupport.randomBytes(BLOCK, seed);
        for (int r = 0; r < rounds; r++) {
            if ((seed + r) % 2 == 0) {
                try (AuraFile f = AuraFile.open(engine, file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
                    assertThat(f.write(ByteBuffer.wrap(data), (long) r * BLOCK)).isEqualTo(BLOCK);
                    ByteBuffer back = ByteBuffer.allocate(BLOCK);
                    assertThat(f.read(back, (long) r * BLOCK)).isEqualTo(BLOCK);
                    assertThat(back.array()).isEqualTo(data);
                    f.force(r % 3 == 0);
                    assertThat(f.size()).isGreaterThanOrEqualTo((long) (r + 1) * BLOCK);
                }
            } else {
                try (AuraFileChannel ch = AuraFileChannel.open(engine, file, Set.of(StandardOpenOption.CREATE,
                        StandardOpenOption.READ, StandardOpenOption.WRITE))) {
                    assertThat(ch.write(ByteBuffer.wrap(data), (long) r * BLOCK)).isEqualTo(BLOCK);
                    ByteBuffer back = ByteBuffer.allocate(BLOCK);
                    assertThat(ch.read(back, (long) r * BLOCK)).isEqualTo(BLOCK);
                    assertThat(back.array()).isEqualTo(data);
                    ch.force(true);
                    assertThat(ch.size()).isGreaterThanOrEqualTo((long) (r + 1) * BLOCK);
                }
            }
        }
    }

    /** Runs {@code n} virtual callers of {@code body} and joins them within {@link #BOUND}, dumping stuck ones. */
    private static List<Throwable> runCallers(int n, java.util.function.IntFunction<TestSupport.Task> body)
            throws InterruptedException {
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TestSupport.Task task = body.apply(i);
            threads.add(Thread.ofVirtual().name("caller-" + i).start(() -> {
                try {
                    go.await();
                    task.run();
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        go.countDown();
        assertAllEnd(threads, BOUND);
        return new ArrayList<>(failures);
    }

    private static void assertAllEnd(List<Thread> threads, Duration bound) throws InterruptedException {
        TestSupport.assertAllEnd(threads, bound, () -> "callers parked");
    }

    @Test
    void queueDepthOneServesSixtyFourMixedCallers() throws Exception {
        try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(1).build())) {
            List<Throwable> failures = runCallers(64, i -> () -> mixedWork(e, dir.resolve("qd1-" + i), i, 4));
            assertThat(failures).isEmpty();
            assertThat(e.stats().currentInFlight()).isZero();
        }
    }

    @Test
    void inFlightLimitOneWithoutAdaptationServesSixtyFourMixedCallers() throws Exception {
        try (Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(2).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build())) {
            List<Throwable> failures = runCallers(64, i -> () -> mixedWork(e, dir.resolve("l1-" + i), i, 3));
            assertThat(failures).isEmpty();
        }
    }

    @Test
    void farMoreRingsThanCpusServeSixtyFourMixedCallers() throws Exception {
        int rings = Math.min(1024, 32 * Runtime.getRuntime().availableProcessors());
        for (RingSelect select : RingSelect.values()) {
            try (Engine e = Engine.create(Options.builder().ringCount(rings).queueDepth(2).ringSelect(select).build())) {
                assertThat(e.ringCount()).isEqualTo(rings);
                List<Throwable> failures = runCallers(64, i -> () -> mixedWork(e, dir.resolve("rings-" + i), i, 2));
                assertThat(failures).as("ringSelect %s", select).isEmpty();
            }
        }
    }

    // ------------------------------------------------------------------ (3) Engine.close() racing callers

    private static boolean isExpectedAfterClose(Throwable t) {
        return (t instanceof AuraIOException a && a.isShutdown()) || t instanceof ClosedChannelException
                || t instanceof AsynchronousCloseException;
    }

    /**
     * 64 callers looping on reads, writes, fsync, statx, opens and closes of a queueDepth-2 ring
     * while another thread closes the engine: close returns, every caller ends with a result or a
     * shutdown, and no descriptor is left open (files are closed with try-with-resources).
     */
    @Test
    void engineCloseRacingMixedCallersEndsEveryCallerAndLeaksNoDescriptor() throws Exception {
        for (int round = 0; round < 5; round++) {
            Map<Integer, String> before = Descriptors.open();
            Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(2).build());
            AtomicBoolean stop = new AtomicBoolean();
            Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            List<Thread> callers = new ArrayList<>();
            CountDownLatch running = new CountDownLatch(64);
            for (int i = 0; i < 64; i++) {
                Path file = dir.resolve("race-" + round + "-" + i);
                int seed = i;
                callers.add(Thread.ofVirtual().name("racer-" + i).start(() -> {
                    running.countDown();
                    try {
                        while (!stop.get()) {
                            mixedWork(e, file, seed, 1);
                        }
                    } catch (Throwable t) {
                        if (!isExpectedAfterClose(t)) {
                            unexpected.add(t);
                        }
                    }
                }));
            }
            running.await();
            Thread.sleep(20 + 10 * round);
            Thread closer = Thread.ofPlatform().name("closer").start(e::close);
            assertAllEnd(List.of(closer), Duration.ofSeconds(10));
            stop.set(true);
            assertAllEnd(callers, Duration.ofSeconds(10));
            assertThat(unexpected).as("round %d: failures other than a shutdown", round).isEmpty();
            Descriptors.assertNoneNew(before, "round " + round + " of callers racing a close");
        }
    }

    // ------------------------------------------------------------------ (4) slow file systems

    private static void expectWithin(Thread t, Duration bound, String what) throws InterruptedException {
        if (!t.join(bound)) {
            AssertionError e = new AssertionError(what + ": still parked after " + bound);
            e.setStackTrace(t.getStackTrace());
            throw e;
        }
    }

    private static Throwable thrown(TestSupport.Task task) {
        try {
            task.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /**
     * {@link Engine#close()} promises that every thread parked on a request wakes; a transfer of a
     * FUSE file the daemon holds does (SlowFileSystemTransfersTest), and so does a {@code force},
     * {@code size} or {@code truncate} of such a file (made on the offload pool by
     * {@code SlowFile.call}), with ESHUTDOWN: it waited for its own file's close or an interrupt
     * alone, and its caller stayed parked after the engine's close for as long as the daemon held
     * the call.
     */
    @Test
    void aForceTheDaemonHoldsWakesWhenItsEngineCloses() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ForceClose")) {
            Files.write(fs.backing().resolve("f"), TestSupport.randomBytes(BLOCK, 3));
            Path path = fs.path("f");
            Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(8).build());
            AuraFile f = AuraFile.open(own, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            fs.hangMeta(path); // after the open, whose lookup it would hold
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread caller = Thread.ofVirtual().start(() -> outcome.set(thrown(() -> f.force(true))));
            try {
                fs.awaitBlockedMeta(1);
                own.close();
                expectWithin(caller, Duration.ofSeconds(5), "a force() the daemon holds, its engine closed");
                assertThat(outcome.get()).isInstanceOf(AuraIOException.class);
                assertThat(((AuraIOException) outcome.get()).isShutdown()).isTrue();
            } finally {
                fs.release();
                caller.join(BOUND);
                f.close();
            }
        }
    }

    /**
     * Hung transfers that their callers left (interrupt, close), then the daemon's recovery: every
     * descriptor of the files is closed and the transfer pool's calls end; the engine shows
     * nothing in flight. Descriptors are compared before and after with a bounded wait. (With an
     * in-flight limit of L, N hung transfers take about N / L seconds to all become exempt: a
     * local file's caller on the same ring waits that long behind them.)
     */
    @Test
    void abandonedHungTransfersLeaveNoDescriptorOnceTheDaemonRecovers() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("AbandonLeaks");
             Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).initialInFlight(8)
                     .minInFlight(1).build())) {
            for (int i = 0; i < 16; i++) {
                Files.write(fs.backing().resolve("h" + i), TestSupport.randomBytes(BLOCK, i));
            }
            Map<Integer, String> before = Descriptors.open();
            fs.hangReads();
            fs.hangWrites();
            List<AuraFile> files = new ArrayList<>();
            List<Thread> callers = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                AuraFile f = AuraFile.open(own, fs.path("h" + i), StandardOpenOption.READ, StandardOpenOption.WRITE);
                files.add(f);
                boolean read = i % 2 == 0;
                callers.add(Thread.ofVirtual().start(() -> thrown(() -> {
                    if (read) {
                        f.read(ByteBuffer.allocate(BLOCK), 0);
                    } else {
                        f.write(ByteBuffer.allocate(BLOCK), 0);
                    }
                })));
            }
            // Only 8 are admitted until the poller finds them stale (>= 1 s); then the rest go in.
            TestSupport.awaitCondition("every transfer held by the daemon",
                    () -> uncheck(() -> fs.counters().blockedReads() + fs.counters().blockedWrites()) >= 16);
            for (int i = 0; i < 16; i++) {
                if (i % 4 == 0) {
                    callers.get(i).interrupt();
                } else {
                    files.get(i).close();
                }
            }
            assertAllEnd(callers, Duration.ofSeconds(5));
            assertThat(files).noneMatch(AuraFile::isOpen);
            String mount = fs.path().toString();
            assertThat(Descriptors.newSince(before, target -> target.startsWith(mount)))
                    .as("descriptors on the files while the daemon still holds the calls")
                    .hasSizeGreaterThanOrEqualTo(16);
            fs.release();
            Descriptors.awaitNoneNew(before, "the abandoned transfers, once the daemon recovered");
            assertThat(fs.counters().outstanding()).isZero();
            TestSupport.awaitCondition("nothing in flight", () -> own.stats().currentInFlight() == 0);
            TestSupport.awaitCondition("the transfer pool's calls ended",
                    () -> io.auraio.internal.offload.BlockingOffload.transfers().active() == 0);
        }
    }

    /**
     * Metadata calls of a hung mount beyond its share of the shared offload pool (32) park for a
     * permit; a second FUSE mount's calls, and the local disk's, are still served meanwhile; all
     * end once the daemon answers, and the pool's threads then go idle.
     */
    @Test
    void aHungMountsExhaustedShareLeavesAnotherMountServed() throws Exception {
        try (FaultFs hung = FixtureAvailability.mountFaultFs("ShareHung");
             FaultFs fine = FixtureAvailability.mountFaultFs("ShareFine")) {
            for (int i = 0; i < 48; i++) {
                Files.write(hung.backing().resolve("f" + i), new byte[] {(byte) i});
            }
            Files.write(fine.backing().resolve("g"), new byte[] {1, 2, 3});
            TestSupport.awaitCondition("both mounts known as slow",
                    () -> io.auraio.internal.offload.SlowFileSystems.isSlowPath(hung.path("f0"))
                            && io.auraio.internal.offload.SlowFileSystems.isSlowPath(fine.path("g")));
            hung.hangMeta();
            List<Thread> held = new ArrayList<>();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            for (int i = 0; i < 48; i++) {
                Path p = hung.path("f" + i);
                held.add(Thread.ofVirtual().start(() -> {
                    try {
                        assertThat(AuraFiles.size(p)).isEqualTo(1);
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            hung.awaitBlockedMeta(1);
            Thread.sleep(300);
            AtomicReference<Object> other = new AtomicReference<>();
            Thread served = Thread.ofVirtual().start(() -> {
                try {
                    other.set(AuraFiles.size(fine.path("g")) + AuraFiles.readAllBytes(fine.path("g")).length);
                } catch (Throwable t) {
                    other.set(t);
                }
            });
            expectWithin(served, Duration.ofSeconds(5), "a call on another FUSE mount while one hangs");
            assertThat(other.get()).isEqualTo(6L);
            assertThat(held).as("the hung mount's callers still wait").allMatch(Thread::isAlive);
            hung.release();
            assertAllEnd(held, Duration.ofSeconds(10));
            assertThat(failures).isEmpty();
        }
    }

    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    private static <T> T uncheck(IoSupplier<T> s) {
        try {
            return s.get();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
