package io.auraio;

import static io.auraio.testing.TestSupport.HANG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Descriptors;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile review of engine creation, {@link Options}, the runtime settings and what the adaptive
 * controller does with extreme inputs: every refusal names the parameter and the value, every
 * accepted extreme serves, and nothing is left behind.
 */
@ExtendWith(IoUringAvailable.class)
class EngineOptionsReviewTest {
    private static final int BLOCK = 4096;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static void refused(Consumer<Options.Builder> setting, String field, String value) {
        assertThatThrownBy(() -> setting.accept(Options.builder()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(field)
                .hasMessageContaining(value);
    }

    // ------------------------------------------------------------------ the builder's extremes

    @Test
    void everyBuilderExtremeIsRefusedNamingTheParameterAndTheValue() {
        refused(b -> b.queueDepth(0), "queueDepth", "0");
        refused(b -> b.queueDepth(-1), "queueDepth", "-1");
        refused(b -> b.queueDepth(Options.MAX_QUEUE_DEPTH + 1), "queueDepth", "32769");
        refused(b -> b.queueDepth(Integer.MAX_VALUE), "queueDepth", String.valueOf(Integer.MAX_VALUE));
        refused(b -> b.queueDepth(Integer.MIN_VALUE), "queueDepth", String.valueOf(Integer.MIN_VALUE));
        refused(b -> b.ringCount(-1), "ringCount", "-1");
        refused(b -> b.ringCount(1025), "ringCount", "1025");
        refused(b -> b.ringCount(Integer.MAX_VALUE), "ringCount", String.valueOf(Integer.MAX_VALUE));
        refused(b -> b.initialInFlight(-1), "initialInFlight", "-1");
        refused(b -> b.initialInFlight(Integer.MAX_VALUE).build(), "initialInFlight",
                String.valueOf(Integer.MAX_VALUE));
        refused(b -> b.queueDepth(1).initialInFlight(2).build(), "initialInFlight", "2");
        refused(b -> b.minInFlight(0), "minInFlight", "0");
        refused(b -> b.minInFlight(Integer.MIN_VALUE), "minInFlight", String.valueOf(Integer.MIN_VALUE));
        refused(b -> b.minInFlight(Integer.MAX_VALUE).build(), "minInFlight", String.valueOf(Integer.MAX_VALUE));
        refused(b -> b.queueDepth(8).initialInFlight(2).minInFlight(3).build(), "minInFlight", "3");
        refused(b -> b.maxP99LatencyMs(Double.NaN), "maxP99LatencyMs", "NaN");
        refused(b -> b.maxP99LatencyMs(Double.POSITIVE_INFINITY), "maxP99LatencyMs", "Infinity");
        refused(b -> b.maxP99LatencyMs(Double.NEGATIVE_INFINITY), "maxP99LatencyMs", "-Infinity");
        refused(b -> b.maxP99LatencyMs(-Double.MIN_VALUE), "maxP99LatencyMs", "-4.9E-324");
        refused(b -> b.bufferAlignment(0), "bufferAlignment", "0");
        refused(b -> b.bufferAlignment(-4096), "bufferAlignment", "-4096");
        refused(b -> b.bufferAlignment(4), "bufferAlignment", "4");
        refused(b -> b.bufferAlignment(4097), "bufferAlignment", "4097");
        refused(b -> b.bufferAlignment(1L << 21), "bufferAlignment", "2097152");
        refused(b -> b.bufferAlignment(Long.MIN_VALUE), "bufferAlignment", String.valueOf(Long.MIN_VALUE));
        refused(b -> b.sqpollIdleMs(-1), "sqpollIdleMs", "-1");
        refused(b -> b.name(""), "name", "\"\"");
        refused(b -> b.name("x".repeat(65)), "name", "x".repeat(65));
        refused(b -> b.name("a\u0000b"), "name", "a\u0000b");
        assertThatThrownBy(() -> Options.builder().name(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("name");
        assertThatThrownBy(() -> Engine.create(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("options");
    }

    @Test
    void theBuilderAcceptsEveryBoundaryValue() {
        Options o = Options.builder().queueDepth(Options.MAX_QUEUE_DEPTH).ringCount(1024)
                .initialInFlight(Options.MAX_QUEUE_DEPTH).minInFlight(Options.MAX_QUEUE_DEPTH)
                .maxP99LatencyMs(Double.MAX_VALUE).bufferAlignment(1 << 20).sqpollIdleMs(Integer.MAX_VALUE)
                .name("x".repeat(64)).build();
        assertThat(o.queueDepth()).isEqualTo(32768);
        assertThat(o.initialInFlight()).isEqualTo(32768);
        assertThat(o.minInFlight()).isEqualTo(32768);
        assertThat(o.maxP99LatencyMs()).isEqualTo(Double.MAX_VALUE);
        // A target of -0.0 is the automatic target, as 0.
        assertThat(Options.builder().maxP99LatencyMs(-0.0).build().maxP99LatencyMs()).isZero();
        Options one = Options.builder().queueDepth(1).initialInFlight(1).minInFlight(1).build();
        assertThat(one.initialInFlight()).isEqualTo(1);
        assertThat(Options.builder().queueDepth(1).build().initialInFlight()).isEqualTo(1);
        assertThat(Options.builder().queueDepth(1).build().minInFlight()).isEqualTo(1);
    }

    @Test
    void extremeP99TargetsReachTheControllersWithinOneNanosecondAndADay() throws Exception {
        long day = Duration.ofDays(1).toNanos();
        try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(4)
                .maxP99LatencyMs(Double.MAX_VALUE).build())) {
            assertThat(e.core().ring(0).controller().userTargetP99Nanos()).isEqualTo(day);
            e.setMaxP99Latency(Duration.ofNanos(1));
            assertThat(e.core().ring(0).controller().userTargetP99Nanos()).isEqualTo(1);
            // Duration's largest value: no overflow in toNanos.
            e.setMaxP99Latency(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999));
            assertThat(e.core().ring(0).controller().userTargetP99Nanos()).isEqualTo(day);
            e.setMaxP99Latency(Duration.ofHours(1));
            assertThat(e.core().ring(0).controller().userTargetP99Nanos()).isEqualTo(Duration.ofHours(1).toNanos());
            assertThatThrownBy(() -> e.setMaxP99Latency(Duration.ofSeconds(Long.MIN_VALUE)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("P99");
            assertThatThrownBy(() -> e.setMaxP99Latency(Duration.ofNanos(-1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-0.000000001");
            assertThatThrownBy(() -> e.setMaxP99Latency(null)).isInstanceOf(NullPointerException.class)
                    .hasMessageContaining("target");
            assertThatThrownBy(() -> e.setMinInFlight(5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("minInFlight").hasMessageContaining("5");
            assertThatThrownBy(() -> e.setMinInFlight(Integer.MIN_VALUE)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("minInFlight").hasMessageContaining(String.valueOf(Integer.MIN_VALUE));
            assertThatThrownBy(() -> e.setBatchThreshold(-1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("batchThreshold").hasMessageContaining("-1");
        }
        try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(4)
                .maxP99LatencyMs(Double.MIN_VALUE).build())) {
            assertThat(e.core().ring(0).controller().userTargetP99Nanos()).isEqualTo(1);
        }
    }

    // ------------------------------------------------------------------ the kernel's maxima

    @Test
    void theKernelsLargestAndOddQueueDepthsStartAndServe() throws Exception {
        Path file = Files.write(dir.resolve("f"), TestSupport.randomBytes(BLOCK, 7));
        for (int depth : new int[] {Options.MAX_QUEUE_DEPTH, Options.MAX_QUEUE_DEPTH - 1, 3, 1000}) {
            try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(depth).build());
                    AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ)) {
                ByteBuffer back = ByteBuffer.allocate(BLOCK);
                assertThat(f.read(back, 0)).as("queueDepth %d", depth).isEqualTo(BLOCK);
                assertThat(back.array()).isEqualTo(Files.readAllBytes(file));
            }
        }
    }

    @Test
    void athousandAndTwentyFourRingsStartServeAndCloseLeavingNothing() throws Exception {
        Path file = Files.write(dir.resolve("f"), TestSupport.randomBytes(BLOCK, 8));
        Map<Integer, String> fdsBefore = Descriptors.open();
        long threadsBefore = Thread.getAllStackTraces().size();
        try (Engine e = Engine.create(Options.builder().ringCount(1024).queueDepth(1)
                .ringSelect(RingSelect.ROUND_ROBIN).build())) {
            assertThat(e.ringCount()).isEqualTo(1024);
            List<Throwable> failures = TestSupport.atOnce(64, () -> {
                try (AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ)) {
                    ByteBuffer back = ByteBuffer.allocate(BLOCK);
                    assertThat(f.read(back, 0)).isEqualTo(BLOCK);
                }
            });
            assertThat(failures).containsOnlyNulls();
        }
        TestSupport.awaitCondition("threads back to where they were",
                () -> Thread.getAllStackTraces().size() <= threadsBefore + 2);
        Descriptors.awaitNoneNew(fdsBefore, "1024 rings started, used and closed");
    }

    // ------------------------------------------------------------------ settings after close

    @Test
    void runtimeSettersOnAClosedEngineNeitherCrashNorReopenIt() throws Exception {
        Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(8).build());
        e.close();
        e.setMaxP99Latency(Duration.ofMillis(3));
        e.setMinInFlight(8);
        e.setBatchThreshold(4);
        assertThatThrownBy(() -> e.setMinInFlight(9)).isInstanceOf(IllegalArgumentException.class);
        assertThat(e.isClosed()).isTrue();
        assertThat(e.stats()).isNotNull();
        assertThat(e.ringStats(1)).isNotNull();
        assertThatThrownBy(() -> e.fsyncAsync(0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                .hasCauseInstanceOf(AuraIOException.class);
    }

    // ------------------------------------------------------------------ liveness at depth 1 and 2

    /**
     * Runs {@code submit} again while it is refused with EAGAIN, which the callback, future and
     * chain forms throw (or complete with) when the ring's slots are all taken.
     */
    private static <T> T untilAdmitted(AtomicInteger refusals, java.util.concurrent.Callable<T> submit)
            throws Exception {
        while (true) {
            try {
                return submit.call();
            } catch (AuraIOException | java.util.concurrent.ExecutionException ex) {
                Throwable cause = ex instanceof java.util.concurrent.ExecutionException ? ex.getCause() : ex;
                if (!(cause instanceof AuraIOException a && a.isAgain())) {
                    throw ex;
                }
                refusals.incrementAndGet();
                Thread.sleep(1);
            }
        }
    }

    /**
     * 100 virtual threads at once on a ring of depth 1 to 4 (in-flight limit down to 1): blocking
     * reads and writes, futures, callbacks driven by {@link Engine#await}, and chains as long as the queue
     * depth (longer than the in-flight limit). Everything ends; a chain is refused only with EAGAIN,
     * as its javadoc says, and then submitted again.
     */
    private void hundredMixedCallers(Options options) throws Exception {
        Path file = Files.write(dir.resolve("mixed"), new byte[BLOCK * 128]);
        try (Engine e = Engine.create(options);
                AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            int fd = f.fd();
            int depth = options.queueDepth();
            AtomicInteger eagain = new AtomicInteger();
            AtomicBoolean callbacksDone = new AtomicBoolean();
            AtomicLong outstandingCallbacks = new AtomicLong();
            Thread driver = Thread.ofPlatform().start(() -> {
                try {
                    while (!callbacksDone.get() || outstandingCallbacks.get() > 0) {
                        e.await(10);
                    }
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            });
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                int n = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    try (Arena arena = Arena.ofShared()) {
                        go.await();
                        byte[] data = TestSupport.randomBytes(BLOCK, n);
                        long offset = (long) n * BLOCK;
                        MemorySegment seg = arena.allocate(BLOCK, BLOCK);
                        seg.copyFrom(MemorySegment.ofArray(data));
                        switch (n % 4) {
                            case 0 -> {
                                assertThat(f.write(ByteBuffer.wrap(data), offset)).isEqualTo(BLOCK);
                                ByteBuffer back = ByteBuffer.allocate(BLOCK);
                                assertThat(f.read(back, offset)).isEqualTo(BLOCK);
                                assertThat(back.array()).isEqualTo(data);
                            }
                            case 1 -> {
                                assertThat(untilAdmitted(eagain, () -> e.writeAsync(fd, BufferRef.of(seg), BLOCK, offset)
                                        .get(HANG.toSeconds(), TimeUnit.SECONDS))).isEqualTo(BLOCK);
                                assertThat(untilAdmitted(eagain, () -> e.readAsync(fd, BufferRef.of(seg), BLOCK, offset)
                                        .get(HANG.toSeconds(), TimeUnit.SECONDS))).isEqualTo(BLOCK);
                            }
                            case 2 -> {
                                CompletableFuture<Long> done = new CompletableFuture<>();
                                untilAdmitted(eagain, () -> {
                                    outstandingCallbacks.incrementAndGet();
                                    try {
                                        return e.write(fd, BufferRef.of(seg), BLOCK, offset, (req, result) -> {
                                            outstandingCallbacks.decrementAndGet();
                                            done.complete(result);
                                        });
                                    } catch (AuraIOException refused) {
                                        outstandingCallbacks.decrementAndGet();
                                        throw refused;
                                    }
                                });
                                assertThat(done.get(HANG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(BLOCK);
                            }
                            default -> {
                                // Engine memory: the chain's reads and writes share it, which
                                // arena memory (copied at submission) may not.
                                long[] results;
                                try (Buffer buf = e.allocateBuffer(BLOCK)) {
                                    buf.segment().copyFrom(seg);
                                    results = untilAdmitted(eagain, () -> {
                                        RequestChain chain = e.chain();
                                        for (int k = 0; k < depth; k++) {
                                            if (k % 2 == 0) {
                                                chain.write(fd, buf.ref(), BLOCK, offset);
                                            } else {
                                                chain.read(fd, buf.ref(), BLOCK, offset);
                                            }
                                        }
                                        return chain.submitAsync().get(HANG.toSeconds(), TimeUnit.SECONDS);
                                    });
                                }
                                assertThat(results).containsOnly((long) BLOCK);
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            go.countDown();
            TestSupport.assertAllEnd(threads, Duration.ofSeconds(60), () -> "callers parked");
            assertThat(failures).isEmpty();
            callbacksDone.set(true);
            driver.join(HANG.toMillis());
            assertThat(driver.isAlive()).as("callback driver ended; outstanding %d, stack %s", outstandingCallbacks.get(),
                    java.util.Arrays.toString(driver.getStackTrace())).isFalse();
            assertThat(e.stats().currentInFlight()).isZero();
        }
    }

    @Test
    void queueDepthOneServesAHundredMixedCallers() throws Exception {
        hundredMixedCallers(Options.builder().ringCount(1).queueDepth(1).build());
    }

    @Test
    void queueDepthTwoWithLimitOneServesAHundredMixedCallersAndChainsOfTwo() throws Exception {
        hundredMixedCallers(Options.builder().ringCount(1).queueDepth(2).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build());
    }

    @Test
    void adaptiveLimitCutToOneByAOneNanosecondTargetStillServesChainsOfTheQueueDepth() throws Exception {
        Options options = Options.builder().ringCount(1).queueDepth(4).initialInFlight(4).minInFlight(1)
                .maxP99LatencyMs(1e-6).build();
        hundredMixedCallers(options);
    }
    // ------------------------------------------------------------------ what monitoring reports

    /**
     * The Flight Recorder's EngineConfiguration event reports the P99 target the controller keeps
     * under: a target of a tenth of a nanosecond is 1 ns there too (it was truncated to 0, which
     * the event calls "detected"), and one beyond a day a day (it was Long.MAX_VALUE ns).
     */
    @Test
    void theConfigurationEventReportsTheTargetTheControllerKeeps() throws Exception {
        java.util.Map<String, Long> targets = new java.util.concurrent.ConcurrentHashMap<>();
        CountDownLatch both = new CountDownLatch(2);
        try (jdk.jfr.consumer.RecordingStream rs = new jdk.jfr.consumer.RecordingStream();
                Engine tiny = Engine.create(Options.builder().ringCount(1).queueDepth(4).maxP99LatencyMs(1e-7)
                        .name("review-p99-tiny").build());
                Engine huge = Engine.create(Options.builder().ringCount(1).queueDepth(4).maxP99LatencyMs(1e300)
                        .name("review-p99-huge").build())) {
            rs.enable("io.auraio.EngineConfiguration");
            rs.onEvent("io.auraio.EngineConfiguration", ev -> {
                String engine = ev.getString("engine");
                if (engine.startsWith("review-p99-")
                        && targets.putIfAbsent(engine, ev.getLong("targetP99Latency")) == null) {
                    both.countDown();
                }
            });
            rs.startAsync();
            assertThat(both.await(HANG.toSeconds(), TimeUnit.SECONDS)).as("configuration events %s", targets).isTrue();
            assertThat(targets.get("review-p99-tiny"))
                    .isEqualTo(tiny.core().ring(0).controller().userTargetP99Nanos()).isEqualTo(1);
            assertThat(targets.get("review-p99-huge"))
                    .isEqualTo(huge.core().ring(0).controller().userTargetP99Nanos())
                    .isEqualTo(Duration.ofDays(1).toNanos());
        }
    }

    // ------------------------------------------------------------------ create racing close

    /**
     * Creating an engine under the name of one being closed on another thread: the create either
     * is refused naming the name (the old engine still held it) or succeeds, and the engine that
     * ends up with the name has its MXBean, which the old one's unregistration does not take away.
     */
    @Test
    void createRacingCloseOfTheSameNameEndsWithTheNewEngineRegistered() throws Exception {
        javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        String name = "review-create-close";
        javax.management.ObjectName beanName = EngineMonitoring.engineObjectName(name);
        Map<Integer, String> fdsBefore = Descriptors.open();
        for (int round = 0; round < 10; round++) {
            Engine old = Engine.create(Options.builder().ringCount(1).queueDepth(4).name(name).build());
            if (round % 2 == 0) {
                EngineMonitoring.awaitRegistrations(); // half the rounds: the old one is registered
            }
            CountDownLatch go = new CountDownLatch(1);
            Thread closer = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    old.close();
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            });
            go.countDown();
            Engine created = null;
            long deadline = System.nanoTime() + HANG.toNanos();
            while (created == null) {
                try {
                    created = Engine.create(Options.builder().ringCount(1).queueDepth(4).name(name).build());
                } catch (IllegalArgumentException taken) {
                    assertThat(taken).hasMessageContaining("\"" + name + "\"");
                    assertThat(System.nanoTime() - deadline).as("name never released").isNegative();
                    Thread.onSpinWait();
                }
            }
            try (Engine e = created) {
                assertThat(e.name()).isEqualTo(name);
                closer.join(HANG.toMillis());
                assertThat(closer.getState() != Thread.State.TERMINATED).isFalse();
                EngineMonitoring.awaitRegistrations();
                assertThat(server.isRegistered(beanName)).as("round %d: the new engine's MXBean", round).isTrue();
                assertThat(server.getAttribute(beanName, "RingCount")).isEqualTo(1);
            }
            EngineMonitoring.awaitRegistrations();
            assertThat(server.isRegistered(beanName)).as("round %d: unregistered after close", round).isFalse();
        }
        Descriptors.assertNoneNew(fdsBefore, "engines created racing the close of their name");
    }

    // ------------------------------------------------------------------ settings under load

    /**
     * The runtime setters hammered with their extremes from several threads while 32 virtual
     * threads read and write: every request completes with its bytes, and every ring's limit stays
     * within 1 and the queue depth.
     */
    @Test
    void settersHammeredWithExtremesUnderLoadKeepEveryRequestServed() throws Exception {
        int depth = 8;
        Path file = Files.write(dir.resolve("load"), new byte[BLOCK * 32]);
        try (Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(depth).minInFlight(1)
                .initialInFlight(1).build());
                AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger refusals = new AtomicInteger();
            AtomicInteger slots = new AtomicInteger();
            Queue<Throwable> setterFailures = new ConcurrentLinkedQueue<>();
            List<Thread> setters = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int seed = t;
                setters.add(Thread.ofPlatform().start(() -> {
                    java.util.Random random = new java.util.Random(seed);
                    try {
                        while (!stop.get()) {
                            switch (random.nextInt(3)) {
                                case 0 -> e.setMinInFlight(random.nextBoolean() ? 1 : depth);
                                case 1 -> e.setMaxP99Latency(random.nextBoolean() ? Duration.ofNanos(1)
                                        : random.nextBoolean() ? Duration.ofHours(1) : Duration.ZERO);
                                default -> e.setBatchThreshold(random.nextBoolean() ? 0 : 64);
                            }
                            for (int r = 0; r < e.ringCount(); r++) {
                                int limit = e.ringStats(r).inFlightLimit();
                                assertThat(limit).isBetween(1, depth);
                            }
                        }
                    } catch (Throwable ex) {
                        setterFailures.add(ex);
                    }
                }));
            }
            List<Throwable> failures = TestSupport.atOnce(32, () -> {
                int n = slots.getAndIncrement(); // a block of its own
                byte[] data = TestSupport.randomBytes(BLOCK, n);
                long offset = (long) n * BLOCK;
                // The engine's own requests: AuraFile serves page-cache reads without the ring.
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment seg = arena.allocate(BLOCK, BLOCK);
                    for (int i = 0; i < 50; i++) {
                        seg.copyFrom(MemorySegment.ofArray(data));
                        assertThat(untilAdmitted(refusals, () -> e.writeAsync(f.fd(), BufferRef.of(seg), BLOCK, offset)
                                .get(HANG.toSeconds(), TimeUnit.SECONDS))).isEqualTo(BLOCK);
                        seg.fill((byte) 0);
                        assertThat(untilAdmitted(refusals, () -> e.readAsync(f.fd(), BufferRef.of(seg), BLOCK, offset)
                                .get(HANG.toSeconds(), TimeUnit.SECONDS))).isEqualTo(BLOCK);
                        assertThat(seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(data);
                    }
                }
            });
            stop.set(true);
            for (Thread t : setters) {
                t.join(HANG.toMillis());
                assertThat(t.getState() != Thread.State.TERMINATED).isFalse();
            }
            assertThat(setterFailures).isEmpty();
            assertThat(failures).containsOnlyNulls();
            // A floor of the queue depth, set last, lifts every limit to it at the next ticks.
            e.setMinInFlight(depth);
            long deadline = System.nanoTime() + HANG.toNanos();
            while (e.ringStats(0).inFlightLimit() < depth || e.ringStats(1).inFlightLimit() < depth) {
                assertThat(System.nanoTime() - deadline)
                        .as("limits still below %d: %s, %s", depth, e.ringStats(0), e.ringStats(1)).isNegative();
                e.fadviseAsync(f.fd(), 0, 0, Advice.NORMAL).get(HANG.toSeconds(), TimeUnit.SECONDS);
            }
            assertThat(e.stats().opsCompleted()).isPositive();
        }
    }
    // ------------------------------------------------------------------ the controller's extremes

    /** Futures from {@code callers} virtual threads, each until {@code until} holds. */
    private static List<Thread> loadUntil(Engine e, int fd, int callers, AtomicBoolean until) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment seg = arena.allocate(BLOCK, BLOCK);
                    AtomicInteger ignored = new AtomicInteger();
                    while (!until.get()) {
                        assertThat(untilAdmitted(ignored, () -> e.readAsync(fd, BufferRef.of(seg), BLOCK, 0)
                                .get(HANG.toSeconds(), TimeUnit.SECONDS))).isEqualTo(BLOCK);
                    }
                } catch (Exception ex) {
                    throw new AssertionError(ex);
                }
            }));
        }
        return threads;
    }

    /**
     * A target of 1 ns, which no request meets, cuts the adaptive limit to the floor of 1 under
     * load, and requests keep completing there; a floor of the queue depth then raises the limit
     * to it, and a target of an hour lets it stay.
     */
    @Test
    void aOneNanosecondTargetCutsTheLimitToOneAndARaisedFloorLiftsItUnderLoad() throws Exception {
        int depth = 16;
        Path file = Files.write(dir.resolve("aimd"), new byte[BLOCK]);
        try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(depth).initialInFlight(depth)
                .minInFlight(1).build());
                AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ)) {
            e.setMaxP99Latency(Duration.ofNanos(1));
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> load = loadUntil(e, f.fd(), 64, stop);
            try {
                long deadline = System.nanoTime() + HANG.toNanos();
                while (e.ringStats(0).inFlightLimit() > 1) {
                    assertThat(System.nanoTime() - deadline).as("limit not cut to 1: %s", e.ringStats(0)).isNegative();
                    Thread.sleep(5);
                }
                long before = e.ringStats(0).opsCompleted();
                TestSupport.awaitCondition("requests complete at a limit of 1",
                        () -> e.ringStats(0).opsCompleted() > before + 100);
                e.setMaxP99Latency(Duration.ofHours(1));
                e.setMinInFlight(depth);
                deadline = System.nanoTime() + HANG.toNanos();
                while (e.ringStats(0).inFlightLimit() < depth) {
                    assertThat(System.nanoTime() - deadline).as("limit not raised: %s", e.ringStats(0)).isNegative();
                    Thread.sleep(5);
                }
            } finally {
                stop.set(true);
                TestSupport.assertAllEnd(load, Duration.ofSeconds(60), () -> "readers parked");
            }
            assertThat(e.ringStats(0).inFlightLimit()).isEqualTo(depth);
        }
    }

    /**
     * Without adaptive tuning the limit stays at initialInFlight, as the javadoc says, whatever
     * floor or target is set at runtime, and requests beyond it wait rather than fail.
     */
    @Test
    void withoutAdaptiveTuningTheLimitStaysWhereItWasSet() throws Exception {
        Path file = Files.write(dir.resolve("fixed"), new byte[BLOCK]);
        try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(2).minInFlight(1)
                .disableAdaptive(true).build());
                AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ)) {
            e.setMinInFlight(8);
            e.setMaxP99Latency(Duration.ofNanos(1));
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> load = loadUntil(e, f.fd(), 16, stop);
            try {
                long before = e.ringStats(0).opsCompleted();
                TestSupport.awaitCondition("requests complete", () -> e.ringStats(0).opsCompleted() > before + 200);
                assertThat(e.ringStats(0).inFlightLimit()).isEqualTo(2);
            } finally {
                stop.set(true);
                TestSupport.assertAllEnd(load, Duration.ofSeconds(60), () -> "readers parked");
            }
        }
    }

    /** SQPOLL with an idle time of 0 and of Integer.MAX_VALUE ms starts, serves and closes. */
    @Test
    void sqpollAtItsIdleExtremesServes() throws Exception {
        Path file = Files.write(dir.resolve("sq"), TestSupport.randomBytes(BLOCK, 3));
        for (int idle : new int[] {0, Integer.MAX_VALUE}) {
            Engine e;
            try {
                e = Engine.create(Options.builder().ringCount(1).queueDepth(4).enableSqpoll(true).sqpollIdleMs(idle)
                        .build());
            } catch (AuraIOException refused) {
                assertThat(refused).hasMessageContaining("enableSqpoll");
                org.junit.jupiter.api.Assumptions.abort("the kernel refuses SQPOLL here: " + refused.getMessage());
                return;
            }
            try (e; Arena arena = Arena.ofShared();
                    AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ)) {
                MemorySegment seg = arena.allocate(BLOCK, BLOCK);
                assertThat(e.readAsync(f.fd(), BufferRef.of(seg), BLOCK, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                        .as("sqpollIdleMs %d", idle).isEqualTo(BLOCK);
                assertThat(seg.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(Files.readAllBytes(file));
            }
        }
    }
    /**
     * A batch threshold of 64 pinned on rings of depth 1 and 2, which can never gather 64
     * submissions: the poller submits when it would otherwise sleep, so every request completes.
     */
    @Test
    void aBatchThresholdAboveTheQueueDepthStrandsNoRequest() throws Exception {
        Path file = Files.write(dir.resolve("batch"), new byte[BLOCK]);
        for (int depth = 1; depth <= 2; depth++) {
            try (Engine e = Engine.create(Options.builder().ringCount(1).queueDepth(depth).build());
                    AuraFile f = AuraFile.open(e, file, StandardOpenOption.READ)) {
                e.setBatchThreshold(64);
                assertThat(e.ringStats(0).batchThreshold()).isEqualTo(64);
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> load = loadUntil(e, f.fd(), 32, stop);
                try {
                    long before = e.ringStats(0).opsCompleted();
                    TestSupport.awaitCondition("requests complete at depth " + depth,
                            () -> e.ringStats(0).opsCompleted() > before + 200);
                } finally {
                    stop.set(true);
                    TestSupport.assertAllEnd(load, Duration.ofSeconds(60), () -> "readers parked");
                }
                // One caller alone, the ring otherwise idle: its request is not held for company.
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment seg = arena.allocate(BLOCK, BLOCK);
                    assertThat(e.readAsync(f.fd(), BufferRef.of(seg), BLOCK, 0).get(HANG.toSeconds(), TimeUnit.SECONDS))
                            .isEqualTo(BLOCK);
                }
            }
        }
    }

    /** ringCount 0 is one ring per available processor, and the engine hands back its options. */
    @Test
    void ringCountZeroIsOneRingPerProcessor() throws Exception {
        Options options = Options.builder().queueDepth(2).build();
        try (Engine e = Engine.create(options)) {
            assertThat(e.ringCount()).isEqualTo(Runtime.getRuntime().availableProcessors());
            assertThat(e.options()).isSameAs(options);
            assertThat(e.options().ringCount()).isZero();
        }
    }

    // ------------------------------------------------------------------ creation failing midway

    /**
     * 1024 rings of the kernel's largest depth in a JVM of a small heap: the create either
     * succeeds or fails midway (the heap or the kernel's memory runs out), and a failure leaves no
     * descriptor, no poller and not the name behind: an engine of that name starts afterwards.
     */
    @Test
    void theLargestRingsTimesTheLargestDepthFailMidwayLeavingNothing() throws Exception {
        io.auraio.testing.ForkedJvm.Result r = io.auraio.testing.ForkedJvm.of(MidwayProbe.class).jvmArgs("-Xmx48m")
                .run();
        assertThat(r.timedOut()).as(r.toString()).isFalse();
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).as(r.toString()).contains("done").containsAnyOf("created", "refused")
                .doesNotContain("LEAK").doesNotContain("UNEXPECTED");
    }

    /** Main class for {@link #theLargestRingsTimesTheLargestDepthFailMidwayLeavingNothing}. */
    static final class MidwayProbe {
        private MidwayProbe() {}

        public static void main(String[] args) throws Exception {
            Engine.create(Options.builder().ringCount(2).queueDepth(8).name("midway").build()).close(); // warm up
            Map<Integer, String> fds = Descriptors.open();
            long pollers = EngineLifecycleReviewTest.HalfwayProbe.pollers();
            Options huge = Options.builder().ringCount(1024).queueDepth(Options.MAX_QUEUE_DEPTH).name("midway").build();
            try (Engine e = Engine.create(huge)) {
                System.out.println("created " + e);
            } catch (AuraIOException | OutOfMemoryError refused) {
                System.out.println("refused: " + refused + " at " + refused.getStackTrace()[0]);
            } catch (Throwable t) {
                System.out.println("UNEXPECTED " + t);
                t.printStackTrace(System.out);
            }
            EngineLifecycleReviewTest.HalfwayProbe.check("the huge create", fds, pollers);
            try (Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(8).name("midway").build())) {
                System.out.println("after: " + e);
            }
            System.out.println("done");
        }
    }
}
