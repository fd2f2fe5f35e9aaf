package io.auraio;

import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Commands;
import io.auraio.testing.DescriptorExhaustionProbe;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.UringFailShim;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Hostile review of the engine's life cycle: create, failed creates, close in odd places, reuse after close. */
@ExtendWith(IoUringAvailable.class)
class EngineLifecycleReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** close() from a callback is refused; the engine keeps its name, its MXBean and its service. */
    @Test
    void aCloseRefusedInACallbackLeavesTheEngineWholeAndItsNameTaken() throws Exception {
        String name = "review-close-in-callback";
        Engine engine = Engine.create(Options.builder().ringCount(1).name(name).build());
        try {
            EngineMonitoring.awaitRegistrations();
            ObjectName bean = new ObjectName("io.auraio:type=Engine,name=" + name);
            assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(bean)).isTrue();
            Path path = dir.resolve("f");
            Files.write(path, new byte[16]);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            try (AuraFile file = AuraFile.open(engine, path, java.nio.file.StandardOpenOption.READ)) {
                engine.fsync(file.fd(), (r, res) -> {
                    try {
                        engine.close();
                    } catch (Throwable t) {
                        thrown.set(t);
                    }
                });
                assertThat(engine.drain(HANG.toMillis())).isEqualTo(1);
                assertThat(thrown.get()).isInstanceOf(IllegalStateException.class);
                assertThat(engine.isClosed()).isFalse();
                // still serving
                assertThat(file.read(java.nio.ByteBuffer.allocate(16), 0)).isEqualTo(16);
            }
            EngineMonitoring.awaitRegistrations();
            assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(bean))
                    .as("the open engine's MXBean").isTrue();
            assertThatThrownBy(() -> Engine.create(Options.builder().ringCount(1).name(name).build()).close())
                    .as("a second open engine with the same name")
                    .isInstanceOf(IllegalArgumentException.class);
        } finally {
            engine.close();
        }
    }

    /**
     * A create that runs out of descriptors at each step of its set-up in turn (one descriptor
     * more free each time) fails with EMFILE naming the limit, and leaves no descriptor, no poller
     * thread and no pool memory behind.
     */
    @Test
    void aCreateOutOfDescriptorsAtAnyStepLeavesNothingBehind() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(HalfwayProbe.class).args("descriptors").run();
                assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stdout()).as("%s", r).contains("failures=").doesNotContain("LEAK").contains("done");
    }

    /** The 3rd of 4 rings refused by io_uring_setup (ENOMEM): the exception says so, nothing is left behind. */
    @Test
    void aCreateWhoseThirdRingIsRefusedLeavesNothingBehind() throws Exception {
        FixtureAvailability.assumeUringFailShim();
        ForkedJvm.Result r = ForkedJvm.of(HalfwayProbe.class).args("shim")
                .property(AuraIO.BINDING_PROPERTY, "liburing")
                .env(UringFailShim.environment("ENOMEM", 2, UringFailShim.Mechanism.PRELOAD))
                .env(UringFailShim.VERBOSE_VARIABLE, "1")
                .run();
                assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stderr()).as("the third setup failed, the first two passed: %s", r)
                .contains("call 2: passed through").contains("call 3: Cannot allocate memory");
        assertThat(r.stdout()).as("%s", r).contains("errno=12").contains("RLIMIT_MEMLOCK")
                .doesNotContain("LEAK").doesNotContain("created").contains("done");
    }

    /** Main class for a {@link ForkedJvm}: failed creates, each followed by a count of what is left. */
    static final class HalfwayProbe {
        private HalfwayProbe() {}

        static long pollers() {
            return Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && t.getName().startsWith("auraio-ring-")).count();
        }

        static void check(String what, Map<Integer, String> fdsBefore, long pollersBefore) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((!Descriptors.newSince(fdsBefore).isEmpty() || pollers() != pollersBefore)
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Map<Integer, String> left = Descriptors.newSince(fdsBefore);
            if (!left.isEmpty() || pollers() != pollersBefore) {
                System.out.println("LEAK after " + what + ": descriptors " + left + ", pollers " + pollersBefore
                        + " -> " + pollers());
            }
        }

        public static void main(String[] args) throws Exception {
            DescriptorExhaustionProbe.preloadLibraryClasses();
            if (args[0].equals("shim")) {
                Map<Integer, String> fds = Descriptors.open();
                long threads = pollers();
                try (Engine e = Engine.create(Options.builder().ringCount(4).build())) {
                    System.out.println("created " + e);
                } catch (AuraIOException e) {
                    System.out.println("errno=" + e.errno() + " " + e.getMessage());
                }
                check("a refused ring", fds, threads);
                System.out.println("done");
                return;
            }
            // Warm up: every class and thread the library starts once is started.
            Engine.create(Options.builder().ringCount(4).build()).close();
            int failures = 0;
            for (int spare = 0; spare < 40; spare++) {
                Map<Integer, String> fds = Descriptors.open();
                long threads = pollers();
                List<Integer> hoard = new ArrayList<>();
                try {
                    while (true) {
                        hoard.add(io.auraio.testing.Posix.open(Path.of("/dev/null"), io.auraio.testing.Posix.O_RDONLY));
                    }
                } catch (IOException exhausted) {
                    // out of descriptors
                }
                for (int i = 0; i < spare && !hoard.isEmpty(); i++) {
                    io.auraio.testing.Posix.close(hoard.removeLast());
                }
                String outcome;
                try (Engine e = Engine.create(Options.builder().ringCount(4).build())) {
                    outcome = "ok " + e.ringCount();
                } catch (AuraIOException e) {
                    outcome = "errno=" + e.errno() + " " + e.getMessage();
                    failures++;
                } catch (Throwable t) {
                    outcome = "UNEXPECTED " + t;
                    t.printStackTrace(System.out);
                }
                for (int fd : hoard) {
                    io.auraio.testing.Posix.close(fd);
                }
                System.out.println("spare=" + spare + " " + outcome);
                check("spare=" + spare, fds, threads);
                if (outcome.startsWith("ok")) {
                    break;
                }
            }
            System.out.println("failures=" + failures);
            System.out.println("done");
        }
    }

    /**
     * {@code default} is the default engine's name: an engine of the caller's named so would take
     * it while open, and {@link AuraIO#defaultEngine()} (and every {@code AuraFile.open} without
     * an engine) would then fail with an IllegalArgumentException its contract does not name.
     */
    @Test
    void theDefaultEnginesNameIsNotGivenToAnotherEngine() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(DefaultNameProbe.class).args(dir.resolve("d").toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stdout()).as("%s", r).contains("default engine: default").contains("read 3");
        assertThatThrownBy(() -> Options.builder().name("default"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name")
                .hasMessageContaining("default engine");
    }

    /** Main class for a {@link ForkedJvm}: an engine named "default" first, then the default engine. */
    static final class DefaultNameProbe {
        private DefaultNameProbe() {}

        public static void main(String[] args) throws Exception {
            try {
                Engine.create(Options.builder().name("default").ringCount(1).build()).close();
                System.out.println("an engine named default was created");
            } catch (IllegalArgumentException refused) {
                System.out.println("refused: " + refused.getMessage());
            }
            Engine mine;
            try {
                mine = Engine.create(Options.builder().name("default").ringCount(1).build());
            } catch (IllegalArgumentException refused) {
                mine = null;
            }
            try {
                System.out.println("default engine: " + AuraIO.defaultEngine().name());
                Files.writeString(Path.of(args[0]), "abc");
                try (AuraFile f = AuraFile.open(Path.of(args[0]))) {
                    System.out.println("read " + f.read(java.nio.ByteBuffer.allocate(10), 0));
                }
            } finally {
                if (mine != null) {
                    mine.close();
                }
            }
        }
    }

    private static long pollerThreads() {
        return HalfwayProbe.pollers();
    }

    private static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new AssertionError("no VmRSS");
    }

    /**
     * 2,000 engines created and closed, some used on every request form first, leave no
     * descriptor, poller thread, MXBean or name behind, and the resident memory does not grow
     * with them.
     */
    @Test
    void twoThousandEnginesLeaveNothingBehind() throws Exception {
        javax.management.MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName ours = new ObjectName("io.auraio:name=review-loop*,*");
        Path path = dir.resolve("loop");
        Files.write(path, new byte[8192]);
        Engine.create(Options.builder().ringCount(1).build()).close(); // warm up
        Map<Integer, String> fds = Descriptors.open();
        long pollers = pollerThreads();
        long rss = 0;
        for (int i = 0; i < 2000; i++) {
            if (i == 500) {
                System.gc();
                rss = residentKb();
            }
            Engine engine = Engine.create(Options.builder().ringCount(1 + i % 3).queueDepth(64)
                    .name("review-loop").build()); // the name is free again each time
            try {
                if (i % 10 == 0) {
                    try (AuraFile file = AuraFile.open(engine, path)) {
                        assertThat(file.read(java.nio.ByteBuffer.allocate(100), 0)).isEqualTo(100);
                        assertThat(engine.fsyncAsync(file.fd()).get(HANG.toSeconds(), TimeUnit.SECONDS)).isZero();
                        engine.fsync(file.fd(), null);
                    }
                    engine.allocateBuffer(1 << 16).close();
                }
                if (i % 50 == 0) {
                    EngineMonitoring.awaitRegistrations(); // some are registered before they close
                }
            } finally {
                engine.close();
            }
        }
        EngineMonitoring.awaitRegistrations();
        System.gc();
        Descriptors.assertNoneNew(fds, "2000 engines created and closed");
        assertThat(pollerThreads()).as("poller threads").isEqualTo(pollers);
        assertThat(server.queryNames(ours, null)).as("MXBeans").isEmpty();
        assertThat(residentKb() - rss).as("resident memory growth over 1,500 engines, KiB").isLessThan(128 * 1024);
    }

    /**
     * close() wakes every thread waiting in the event loop (run, await and drain without a
     * bound) and a callback blocked at close time, whose blocking read then fails with ESHUTDOWN.
     */
    @Test
    void closeWakesEveryEventLoopWaiterAndACallbackBlockedMeanwhile() throws Exception {
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        Path path = dir.resolve("w");
        Files.write(path, new byte[100]);
        java.util.Map<String, Object> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
        List<Thread> waiters = new ArrayList<>();
        CountDownLatch inCallback = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (AuraFile file = AuraFile.open(engine, path)) {
            engine.fsync(file.fd(), (r, res) -> {
                inCallback.countDown();
                try {
                    release.await();
                    file.read(java.nio.ByteBuffer.allocate(10), 0);
                    outcomes.put("callback", "read after close");
                } catch (Throwable t) {
                    outcomes.put("callback", t);
                }
            });
            waiters.add(Thread.ofPlatform().start(() -> record(outcomes, "run", () -> {
                engine.run();
                return "returned";
            })));
            assertThat(inCallback.await(HANG.toSeconds(), TimeUnit.SECONDS)).isTrue();
            waiters.add(Thread.ofVirtual().start(() -> record(outcomes, "await", () -> engine.await(-1))));
            waiters.add(Thread.ofPlatform().start(() -> record(outcomes, "awaitMax", () -> engine.await(Long.MAX_VALUE))));
            waiters.add(Thread.ofVirtual().start(() -> record(outcomes, "drain", () -> engine.drain(-1))));
            Thread.sleep(100);
            Thread closer = Thread.ofPlatform().start(engine::close);
            awaitCondition("closing", engine::isClosed);
            release.countDown();
            waiters.add(closer);
            for (Thread t : waiters) {
                t.join(HANG.toMillis());
                assertThat(t.getState() != Thread.State.TERMINATED).as("%s still waiting: %s", t, outcomes).isFalse();
            }
        }
        assertThat(outcomes.get("callback")).isInstanceOfSatisfying(AuraIOException.class,
                e -> assertThat(e.isShutdown()).isTrue());
        assertThat(outcomes).containsEntry("run", "returned").containsEntry("await", 0).containsEntry("awaitMax", 0)
                .containsEntry("drain", 0);
    }

    private static void record(java.util.Map<String, Object> outcomes, String key, java.util.concurrent.Callable<?> c) {
        try {
            outcomes.put(key, c.call());
        } catch (Throwable t) {
            outcomes.put(key, t);
        }
    }

    /** Every submission of a closed engine fails with ESHUTDOWN: thrown, or the future failed with it. */
    @Test
    void aClosedEngineRefusesEveryRequestWithShutdown() throws Exception {
        Path path = dir.resolve("closed");
        Files.write(path, new byte[8192]);
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        AuraFile file = AuraFile.open(engine, path, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
        int fd = file.fd();
        engine.close();
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            BufferRef ref = BufferRef.of(arena.allocate(4096, 4096));
            java.util.Map<String, java.util.concurrent.Callable<?>> calls = new java.util.LinkedHashMap<>();
            calls.put("read", () -> engine.read(fd, ref, 10, 0, null));
            calls.put("write", () -> engine.write(fd, ref, 10, 0, null));
            calls.put("fsync", () -> engine.fsync(fd, null));
            calls.put("readAsync", () -> engine.readAsync(fd, ref, 10, 0));
            calls.put("fsyncAsync", () -> engine.fsyncAsync(fd));
            calls.put("statxAsync", () -> engine.statxAsync(path));
            calls.put("openatAsync", () -> engine.openatAsync(path));
            calls.put("ftruncateAsync", () -> engine.ftruncateAsync(fd, 10));
            calls.put("chain", () -> engine.chain().read(fd, ref, 10, 0).submitAsync());
            calls.put("registerFiles", () -> {
                engine.registerFiles(fd);
                return null;
            });
            calls.put("file.read", () -> file.read(java.nio.ByteBuffer.allocate(10), 0));
            calls.put("AuraFile.open", () -> AuraFile.open(engine, path));
            calls.put("allocateBuffer", () -> engine.allocateBuffer(4096));
            for (var call : calls.entrySet()) {
                Throwable failure;
                try {
                    Object result = call.getValue().call();
                    assertThat(result).as(call.getKey()).isInstanceOf(java.util.concurrent.CompletableFuture.class);
                    failure = org.assertj.core.api.Assertions.catchThrowable(() ->
                            ((java.util.concurrent.CompletableFuture<?>) result).get(HANG.toSeconds(), TimeUnit.SECONDS))
                            .getCause();
                } catch (Throwable t) {
                    failure = t;
                }
                assertThat(failure).as(call.getKey()).isInstanceOfSatisfying(AuraIOException.class,
                        e -> assertThat(e.isShutdown()).as(call.getKey()).isTrue());
            }
        }
        assertThat(engine.poll()).isZero();
        assertThat(engine.drain(10)).isZero();
        // Its number was closed with the engine and may name another file by now.
        assertThat(engine.pollFd()).as("pollFd after close").isEqualTo(-1);
        engine.close(); // again: nothing
        file.close();   // the descriptor still closes
        assertThat(engine.toString()).contains("closed");
    }

    /** The default engine refuses close, and stays open and serving. */
    @Test
    void theDefaultEngineRefusesCloseAndServesOn() throws Exception {
        Engine engine = AuraIO.defaultEngine();
        assertThatThrownBy(engine::close).isInstanceOf(UnsupportedOperationException.class);
        assertThat(engine.isClosed()).isFalse();
        assertThat(AuraIO.defaultEngine()).isSameAs(engine);
        Path path = dir.resolve("default");
        Files.write(path, new byte[10]);
        try (AuraFile file = AuraFile.open(path)) {
            assertThat(file.read(java.nio.ByteBuffer.allocate(10), 0)).isEqualTo(10);
        }
        EngineMonitoring.awaitRegistrations();
        assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(
                new ObjectName("io.auraio:type=Engine,name=default"))).isTrue();
    }

    private static String underMemlock(String limit, String mode) throws Exception {
        List<String> command = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            // Without CAP_IPC_LOCK (root's), which would let the pinning past the limit.
            command.addAll(List.of("/usr/bin/setpriv", "--bounding-set", "-ipc_lock"));
        }
        command.addAll(List.of("/usr/bin/prlimit", "--memlock=" + limit + ":" + limit));
        command.addAll(ForkedJvm.of(MemlockProbe.class).args(mode).command());
        Commands.Ran ran = Commands.run(command);
        assertThat(ran.exitCode()).as("%s", ran).isZero();
        String output = ran.output();
        assertThat(output).as(output).contains("done").doesNotContain("Exception").doesNotContain("LEAK");
        return output;
    }

    /**
     * A low RLIMIT_MEMLOCK (prlimit on a forked JVM without CAP_IPC_LOCK): with room for two
     * rings of four, the create fails with ENOMEM naming the limit and leaves nothing behind;
     * with room for the rings, pinning a buffer beyond it fails with ENOMEM naming the limit (it
     * said "Cannot allocate memory" alone before), and the engine serves on.
     * Where the process keeps CAP_IPC_LOCK the limit does not bind, and the engine simply serves.
     */
    @Test
    void aLowMemlockLimitFailsCleanly() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/prlimit")), "no prlimit");
        String rings = underMemlock("1048576", "rings");
        if (!rings.contains("created")) {
            assertThat(rings).contains("create: errno=12").contains("RLIMIT_MEMLOCK");
        }
        String pin = underMemlock("8388608", "pin");
        assertThat(pin).contains("read 100").containsAnyOf("registered", "register: errno=12");
        if (pin.contains("register: ")) {
            assertThat(pin).as("the refusal names the limit").contains("16777216 bytes").contains("RLIMIT_MEMLOCK");
        }
    }

    /** Main class for the memlock checks: {@code rings} or {@code pin}. */
    static final class MemlockProbe {
        private MemlockProbe() {}

        public static void main(String[] args) throws Exception {
            Engine.create(Options.builder().ringCount(1).queueDepth(8).build()).close(); // warm up
            Path path = Files.createTempFile("memlock", ".bin"); // before the count: it opens /dev/random
            Files.write(path, new byte[100]);
            Map<Integer, String> fds = Descriptors.open();
            long pollers = HalfwayProbe.pollers();
            Options options = args[0].equals("rings") ? Options.builder().ringCount(4).queueDepth(4096).build()
                    : Options.builder().ringCount(1).queueDepth(64).build();
            try (Engine engine = Engine.create(options)) {
                System.out.println("created " + engine);
                if (args[0].equals("pin")) {
                    try (Buffer buffer = engine.allocateBuffer(16 << 20)) {
                        try {
                            engine.registerBuffers(buffer);
                            System.out.println("registered");
                            engine.unregisterBuffers();
                        } catch (AuraIOException e) {
                            System.out.println("register: errno=" + e.errno() + " " + e.getMessage());
                        }
                    }
                    try (AuraFile file = AuraFile.open(engine, path)) {
                        System.out.println("read " + file.read(java.nio.ByteBuffer.allocate(100), 0));
                    }
                }
            } catch (AuraIOException e) {
                System.out.println("create: errno=" + e.errno() + " " + e.getMessage());
            } finally {
                Files.delete(path);
            }
            HalfwayProbe.check(args[0], fds, pollers);
            System.out.println("done");
        }
    }

    /**
     * close() with waiters of kinds the close tests leave out: linked chains (future and callback)
     * in the kernel, a READ_FIXED future in the kernel with a thread in unregisterBuffers() waiting
     * for it, and blocking readers beyond the ring's slots waiting for one. Every one ends, with
     * ESHUTDOWN where it had a request.
     */
    @Test
    void closeEndsChainsFixedRequestsTheirUnregisterAndCallersWaitingForASlot() throws Exception {
        Path fifo = io.auraio.testing.Fifo.create(dir.resolve("fifo"));
        Engine engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).build());
        java.util.Map<String, Object> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
        List<Thread> waiters = new ArrayList<>();
        try (AuraFile file = AuraFile.open(engine, fifo, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
             Buffer buffer = engine.allocateBuffer(4096)) {
            engine.registerBuffers(buffer);
            var fixed = engine.readAsync(file.fd(), BufferRef.fixed(0, 0), 16, 0);
            var chain = engine.chain().read(file.fd(), BufferRef.of(arena.allocate(16)), 16, 0).fsync(file.fd())
                    .submitAsync();
            java.util.Queue<Long> chained = new java.util.concurrent.ConcurrentLinkedQueue<>();
            engine.chain().read(file.fd(), BufferRef.of(arena.allocate(16)), 16, 0).fsync(file.fd())
                    .submit((r, result) -> chained.add(result), null);
            for (int i = 0; i < 6; i++) { // 3 slots are left: 3 readers wait for one
                String key = "reader" + i;
                waiters.add(Thread.ofVirtual().start(() -> record(outcomes, key,
                        () -> file.read(java.nio.ByteBuffer.allocate(8), 0))));
            }
            waiters.add(Thread.ofPlatform().start(() -> record(outcomes, "unregister", () -> {
                engine.unregisterBuffers();
                return "returned";
            })));
            awaitCondition("every slot taken", () -> engine.pendingCount() >= 8);
            Thread.sleep(100);
            assertThat(outcomes).as("nothing ends before close").isEmpty();
            Thread closer = Thread.ofPlatform().start(engine::close);
            waiters.add(closer);
            for (Thread t : waiters) {
                t.join(HANG.toMillis());
                assertThat(t.getState() != Thread.State.TERMINATED).as("%s still waiting: %s", t, outcomes).isFalse();
            }
            assertThat(outcomes).containsEntry("unregister", "returned").hasSize(7);
            outcomes.forEach((key, outcome) -> {
                if (key.startsWith("reader")) {
                    assertThat(outcome).as(key).isInstanceOfSatisfying(AuraIOException.class,
                            e -> assertThat(e.isShutdown()).isTrue());
                }
            });
            for (var future : List.of(fixed, chain)) {
                assertThat(org.assertj.core.api.Assertions.catchThrowable(() ->
                        future.get(HANG.toSeconds(), TimeUnit.SECONDS)).getCause())
                        .isInstanceOfSatisfying(AuraIOException.class, e -> assertThat(e.isShutdown()).isTrue());
            }
            assertThat(chained).containsExactly((long) -io.auraio.internal.binding.Errno.ESHUTDOWN,
                    (long) -io.auraio.internal.binding.Errno.ESHUTDOWN);
        } finally {
            engine.close();
        }
    }

    /**
     * An engine closed by a shutdown hook at System.exit, with blocking readers (virtual and
     * platform threads), a future and a callback request in the kernel: the hook's close ends
     * them all and the JVM exits promptly with its status.
     */
    @Test
    void aShutdownHookClosesAnEngineWithRequestsInTheKernelAndTheJvmExits() throws Exception {
        Path fifo = io.auraio.testing.Fifo.create(dir.resolve("exit-fifo"));
        ForkedJvm.Result r = ForkedJvm.of(ExitHookProbe.class).args(fifo.toString())
                .timeout(java.time.Duration.ofSeconds(60)).run();
        assertThat(r.timedOut()).as("%s", r).isFalse();
        assertThat(r.exitCode()).as("%s", r).isEqualTo(3);
        assertThat(r.stdout()).as("%s", r).contains("closed by the hook").contains("future: ESHUTDOWN");
    }

    /** Main class for a {@link ForkedJvm}: System.exit(3) with requests in the kernel, the engine closed by a hook. */
    static final class ExitHookProbe {
        private ExitHookProbe() {}

        public static void main(String[] args) throws Exception {
            Engine engine = Engine.create(Options.builder().ringCount(2).build());
            AuraFile file = AuraFile.open(engine, Path.of(args[0]), java.nio.file.StandardOpenOption.READ,
                    java.nio.file.StandardOpenOption.WRITE);
            Buffer buffer = engine.allocateBuffer(16);
            java.util.concurrent.CompletableFuture<Long> future = engine.readAsync(file.fd(), buffer.ref(), 16, 0);
            engine.read(file.fd(), buffer.ref(), 16, 0, (request, result) -> { });
            Runnable read = () -> {
                try {
                    file.read(java.nio.ByteBuffer.allocate(8), 0);
                } catch (IOException expected) {
                    // ESHUTDOWN at close
                }
            };
            Thread.ofVirtual().start(read);
            Thread.ofPlatform().start(read);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                engine.close();
                System.out.println("closed by the hook");
                future.handle((v, t) -> t != null && t.getCause() instanceof AuraIOException e && e.isShutdown()
                        || t instanceof AuraIOException e2 && e2.isShutdown()).thenAccept(shutdown ->
                        System.out.println("future: " + (shutdown ? "ESHUTDOWN" : "other"))).join();
                System.out.flush();
            }));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (engine.pendingCount() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            System.exit(3);
        }
    }

    /**
     * What the Engine javadoc now says: a created engine's pollers are not daemon threads (an
     * engine left open keeps the JVM from exiting when main returns), the default engine's are.
     */
    @Test
    void aCreatedEnginesPollersKeepTheJvmAliveTheDefaultEnginesDoNot() throws Exception {
        AuraIO.defaultEngine();
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            List<Thread> pollers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("auraio-ring-") && !before.contains(t)).toList();
            assertThat(pollers).hasSize(engine.ringCount()).noneMatch(Thread::isDaemon);
        }
        assertThat(before.stream().filter(t -> t.getName().startsWith("auraio-ring-") && t.isAlive()))
                .as("the default engine's pollers").isNotEmpty().allMatch(Thread::isDaemon);
    }

    /**
     * An engine closed with files and buffers registered answers registerFiles and updateFile
     * with ESHUTDOWN, as registerBuffers does, where registerFiles said EBUSY ("files are already
     * registered") and updateFile ENOENT once the table was dropped.
     */
    @Test
    void registrationsOfAnEngineClosedWithFilesRegisteredFailWithShutdown() throws Exception {
        Path path = dir.resolve("registered");
        Files.write(path, new byte[100]);
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        try (AuraFile file = AuraFile.open(engine, path); Buffer buffer = engine.allocateBuffer(4096)) {
            engine.registerFiles(file.fd());
            engine.registerBuffers(buffer);
            engine.close();
            for (int round = 0; round < 2; round++) {
                for (org.assertj.core.api.ThrowableAssert.ThrowingCallable call : List.<org.assertj.core.api.ThrowableAssert.ThrowingCallable>of(
                        () -> engine.registerFiles(file.fd()), () -> engine.updateFile(0, file.fd()),
                        () -> engine.registerBuffers(buffer))) {
                    assertThatThrownBy(call).as("round %d", round).isInstanceOfSatisfying(AuraIOException.class,
                            e -> assertThat(e.isShutdown()).as("%s", e).isTrue());
                }
                engine.unregisterFiles(); // returns: nothing to wait for
                engine.unregisterBuffers();
            }
        }
    }

    /**
     * Every kind of call (registrations, stats and settings, blocking, callback, future and chain
     * requests, poll and drain) raced with close(), round after round: nothing hangs or crashes,
     * and every failure is an AuraIOException.
     */
    @Test
    void everyCallRacedWithCloseFailsCleanly() throws Exception {
        Path path = dir.resolve("race");
        Files.write(path, new byte[65536]);
        java.util.Set<String> failures = java.util.concurrent.ConcurrentHashMap.newKeySet();
        for (int round = 0; round < 12; round++) {
            Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(32).build());
            AuraFile file = AuraFile.open(engine, path);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            List<Thread> workers = new ArrayList<>();
            for (int k = 0; k < 6; k++) {
                int kind = k;
                workers.add(Thread.ofPlatform().start(() -> {
                    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
                        BufferRef ref = BufferRef.of(arena.allocate(4096, 4096));
                        while (!stop.get()) {
                            try {
                                switch (kind) {
                                    case 0 -> {
                                        try (Buffer b = engine.allocateBuffer(4096)) {
                                            engine.registerBuffers(b);
                                            engine.readAsync(file.fd(), BufferRef.fixed(0, 0), 100, 0);
                                            engine.unregisterBuffers();
                                        }
                                    }
                                    case 1 -> {
                                        engine.registerFiles(file.fd());
                                        engine.updateFile(0, file.fd());
                                        engine.unregisterFiles();
                                    }
                                    case 2 -> {
                                        engine.stats();
                                        engine.ringStats(1);
                                        engine.histogram(0);
                                        engine.setMinInFlight(3);
                                        engine.setBatchThreshold(0);
                                    }
                                    case 3 -> file.read(java.nio.ByteBuffer.allocate(100), 0);
                                    case 4 -> {
                                        engine.read(file.fd(), ref, 100, 0, (r, result) -> { });
                                        engine.poll();
                                        engine.drain(5);
                                    }
                                    default -> {
                                        engine.statxAsync(path);
                                        engine.chain().read(file.fd(), ref, 10, 0).fsync(file.fd()).submitAsync();
                                    }
                                }
                            } catch (AuraIOException expected) {
                                // ESHUTDOWN, EAGAIN, EBUSY, ETIMEDOUT (drain)
                            } catch (Throwable t) {
                                failures.add(kind + ": " + t);
                            }
                        }
                    }
                }));
            }
            Thread.sleep(20 + round % 4 * 10);
            Thread closer = Thread.ofPlatform().start(engine::close);
            closer.join(HANG.toMillis());
            assertThat(closer.getState() != Thread.State.TERMINATED).as("close of round %d", round).isFalse();
            stop.set(true);
            for (Thread t : workers) {
                t.join(HANG.toMillis());
                assertThat(t.getState() != Thread.State.TERMINATED).as("a worker of round %d", round).isFalse();
            }
            file.close();
        }
        assertThat(failures).isEmpty();
    }

    /**
     * Sixteen threads creating an engine of the same name at once: exactly one gets it, the
     * others IllegalArgumentException naming it, and none leaves a poller or descriptor behind.
     */
    @Test
    void concurrentCreatesOfOneNameGiveItToExactlyOne() throws Exception {
        Engine.create(Options.builder().ringCount(1).build()).close(); // warm up
        Map<Integer, String> fds = Descriptors.open();
        long pollers = pollerThreads();
        for (int round = 0; round < 5; round++) {
            java.util.Queue<Engine> created = new java.util.concurrent.ConcurrentLinkedQueue<>();
            java.util.Queue<Throwable> refused = new java.util.concurrent.ConcurrentLinkedQueue<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> creators = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                creators.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        created.add(Engine.create(Options.builder().ringCount(1).queueDepth(8).name("review-race").build()));
                    } catch (Throwable t) {
                        refused.add(t);
                    }
                }));
            }
            start.countDown();
            for (Thread t : creators) {
                t.join(HANG.toMillis());
                assertThat(t.getState() != Thread.State.TERMINATED).isFalse();
            }
            assertThat(created).hasSize(1);
            assertThat(refused).hasSize(15).allSatisfy(t -> assertThat(t).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("review-race"));
            created.forEach(Engine::close);
        }
        Descriptors.assertNoneNew(fds, "engines created at once under one name");
        assertThat(pollerThreads()).isEqualTo(pollers);
    }
}
