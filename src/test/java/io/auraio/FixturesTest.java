package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.abort;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.PrintAvailability;
import io.auraio.testing.TestSupport;
import io.auraio.testing.UringFailShim;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.opentest4j.TestAbortedException;

/**
 * The native test fixtures do what the fault and fallback tests will rely on: faultfs passes
 * through and injects each fault when told, and the shim makes io_uring setup fail with the chosen
 * errno. Skipped with the reason where a fixture is not built or FUSE is missing.
 */
class FixturesTest {
    /** One mount for the faultfs tests, made by the first of them; every test starts from {@code reset}. */
    private static FaultFs mount;
    private static String mountSkipped;

    private Path file;

    @AfterAll
    static void unmount() throws IOException {
        if (mount != null) {
            mount.close();
            mount = null;
        }
    }

    /** Mounts faultfs if not yet mounted (skipping the test with the reason if it cannot be), then resets it. */
    private FaultFs faultFs(TestInfo test) throws Exception {
        if (mount == null) {
            if (mountSkipped != null) {
                abort(mountSkipped);
            }
            try {
                mount = FixtureAvailability.mountFaultFs("FixturesTest");
            } catch (TestAbortedException e) {
                mountSkipped = e.getMessage();
                throw e;
            }
        }
        mount.reset();
        file = mount.path(test.getTestMethod().orElseThrow().getName());
        return mount;
    }

    @Test
    void writesAndReadsPassThroughToTheBackingDirectory(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        byte[] data = TestSupport.randomBytes(300_000, 1);
        Files.write(file, data);

        assertThat(Files.readAllBytes(fs.backing().resolve(file.getFileName().toString()))).isEqualTo(data);
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
        try (var names = Files.list(fs.path())) {
            assertThat(names.map(p -> p.getFileName().toString()))
                    .as("the control file is not listed")
                    .contains(file.getFileName().toString())
                    .doesNotContain(FaultFs.CONTROL_FILE);
        }
        FaultFs.Counters c = fs.counters();
        assertThat(c.bytesWritten()).isEqualTo(data.length);
        assertThat(c.bytesRead()).isEqualTo(data.length);
        assertThat(c.outstanding()).isZero();
    }

    @Test
    void everyReadReachesTheDaemonAndWaitsOutTheLatency(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Files.write(file, TestSupport.randomBytes(8192, 2));
        Duration latency = Duration.ofMillis(100);
        fs.latency(latency).resetCounters();

        long start = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file)) {
            for (int i = 0; i < 3; i++) {
                assertThat(ch.read(ByteBuffer.allocate(4096), 0)).isEqualTo(4096);
            }
        }
        long elapsed = System.nanoTime() - start;

        FaultFs.Counters c = fs.counters();
        assertThat(c.reads()).as("direct_io: no read is served from the page cache").isEqualTo(3);
        assertThat(c.delayedOps()).isEqualTo(3);
        assertThat(c.latencyMicrosTotal()).isEqualTo(3 * latency.toNanos() / 1000);
        // A lower bound only: the daemon sleeps at least this long inside each read.
        assertThat(elapsed).isGreaterThanOrEqualTo(3 * latency.toNanos());
    }

    @Test
    void randomLatencyStaysWithinItsRange(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Files.write(file, TestSupport.randomBytes(4096, 3));
        fs.latency(Duration.ofNanos(1_000_000), Duration.ofNanos(2_000_000)).resetCounters();

        try (FileChannel ch = FileChannel.open(file)) {
            for (int i = 0; i < 10; i++) {
                ch.read(ByteBuffer.allocate(4096), 0);
            }
        }

        FaultFs.Counters c = fs.counters();
        assertThat(c.delayedOps()).isEqualTo(10);
        assertThat(c.latencyMicrosTotal()).isBetween(10 * 1000L, 10 * 2000L);
    }

    @Test
    void latencyGrowsWithOutstandingRequestsBeyondTheKnee(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Files.write(file, TestSupport.randomBytes(4096, 4));
        int readers = 8;
        int knee = 2;
        long baseMicros = 20_000;
        // Gather all readers in the daemon first, so the first one released sees all 8 outstanding.
        fs.hangReads(file).resetCounters();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < readers; i++) {
            threads.add(Thread.ofPlatform().start(() -> readQuietly(file)));
        }
        fs.awaitBlockedReads(readers);
        fs.latency(Duration.ofNanos(baseMicros * 1000)).knee(knee).release();
        TestSupport.joinAll(threads);

        FaultFs.Counters c = fs.counters();
        assertThat(c.maxOutstanding()).isEqualTo(readers);
        assertThat(c.delayedOps()).isEqualTo(readers);
        // Without the knee: exactly readers * base. The first released read alone costs base * 8 / 2.
        assertThat(c.latencyMicrosTotal())
                .isGreaterThanOrEqualTo((readers - 1) * baseMicros + baseMicros * readers / knee)
                .isLessThanOrEqualTo(readers * baseMicros * readers / knee);
    }

    @Test
    void eioAtAnOffsetFailsOnlyTheReadsCoveringIt(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Files.write(file, TestSupport.randomBytes(65536, 5));
        fs.eioAtOffset(20_000).resetCounters();

        try (FileChannel ch = FileChannel.open(file)) {
            assertThat(ch.read(ByteBuffer.allocate(4096), 0)).isEqualTo(4096);
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(4096), 16384))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("Input/output error");
            assertThat(ch.read(ByteBuffer.allocate(4096), 20_001)).isEqualTo(4096);
        }
        assertThat(fs.counters().eioInjected()).isEqualTo(1);
    }

    @Test
    void eioEveryNthOperation(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Files.write(file, TestSupport.randomBytes(4096, 6));
        fs.eioEvery(3);

        try (FileChannel ch = FileChannel.open(file)) {
            for (int round = 0; round < 2; round++) {
                assertThat(ch.read(ByteBuffer.allocate(512), 0)).isEqualTo(512);
                assertThat(ch.read(ByteBuffer.allocate(512), 0)).isEqualTo(512);
                assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(512), 0))
                        .hasMessageContaining("Input/output error");
            }
        }
        assertThat(fs.counters().eioInjected()).isEqualTo(2);
    }

    @Test
    void writesFailWithEnospcOnceTheLimitIsWritten(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        fs.enospcAfter(10_000);
        Files.write(file, new byte[8000]);

        assertThatThrownBy(() -> Files.write(file, new byte[8000], StandardOpenOption.APPEND))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("No space left on device");
        assertThat(Files.size(fs.backing().resolve(file.getFileName().toString())))
                .as("the write crossing the limit is cut short at it")
                .isEqualTo(10_000);
        assertThat(fs.counters().enospcInjected()).isEqualTo(1);
    }

    @Test
    void shortReadsAndWritesTransferAtMostTheLimitPerCall(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        byte[] data = TestSupport.randomBytes(8192, 7);
        Files.write(file, data);
        fs.shortReads(1000).shortWrites(1500);

        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer dst = ByteBuffer.allocate(8192);
            assertThat(ch.read(dst, 0)).isEqualTo(1000);
            assertThat(Arrays.copyOf(dst.array(), 1000)).isEqualTo(Arrays.copyOf(data, 1000));
            assertThat(ch.write(ByteBuffer.wrap(new byte[8192]), 0)).isEqualTo(1500);
        }
        assertThat(Files.readAllBytes(file)).as("readAllBytes loops over short reads").hasSize(8192);
        FaultFs.Counters c = fs.counters();
        assertThat(c.shortReadsInjected()).isGreaterThanOrEqualTo(1);
        assertThat(c.shortWritesInjected()).isEqualTo(1);
    }

    @Test
    void aHungReadBlocksUntilReleased(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        byte[] data = TestSupport.randomBytes(4096, 8);
        Files.write(file, data);
        fs.hangReads(file);

        CompletableFuture<byte[]> read = new CompletableFuture<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            try (FileChannel ch = FileChannel.open(file)) {
                started.countDown();
                ByteBuffer dst = ByteBuffer.allocate(4096);
                ch.read(dst, 0);
                read.complete(dst.array());
            } catch (IOException | RuntimeException e) {
                read.completeExceptionally(e);
            }
        });
        assertThat(started.await(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS)).isTrue();
        fs.awaitBlockedReads(1);
        assertThat(read).isNotDone();
        assertThat(reader.isAlive()).isTrue();
        assertThat(Files.readAllBytes(fs.backing().resolve(file.getFileName().toString())))
                .as("other reads (of the backing file) are not held").isEqualTo(data);

        fs.release();

        assertThat(read.get(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(data);
        TestSupport.joinAll(List.of(reader));
        FaultFs.Counters c = fs.counters();
        assertThat(c.blockedReads()).isZero();
        assertThat(c.released()).isEqualTo(1);
        assertThat(c.outstanding()).isZero();
    }

    @Test
    void releaseOfNReleasesThatManyBlockedReads(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Files.write(file, TestSupport.randomBytes(4096, 9));
        fs.hangReads();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            threads.add(Thread.ofPlatform().start(() -> readQuietly(file)));
        }
        fs.awaitBlockedReads(3);

        fs.release(2);
        TestSupport.awaitCondition("two reads released", () -> released() == 2);
        assertThat(fs.blockedReads()).isEqualTo(1);

        fs.release();
        TestSupport.joinAll(threads);
        assertThat(fs.counters().outstanding()).isZero();
    }

    @Test
    void metadataLatencyDelaysEachKindOfMetadataOperation(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Path sub = Files.createDirectories(fs.path("meta-" + test.getTestMethod().orElseThrow().getName()));
        Files.write(sub.resolve("f"), new byte[5]);
        Duration latency = Duration.ofMillis(50);
        // Each knob alone: the call that needs that operation waits it out (a lower bound only).
        record Case(FaultFs.MetaOp op, String knob, IoCall call) {}
        List<Case> cases = List.of(
                new Case(FaultFs.MetaOp.GETATTR, "getattr_latency_us", () -> Files.size(sub.resolve("f"))),
                new Case(FaultFs.MetaOp.READDIR, "readdir_latency_us", () -> {
                    try (var s = Files.list(sub)) {
                        s.count();
                    }
                }),
                new Case(FaultFs.MetaOp.MKDIR, "mkdir_latency_us", () -> Files.createDirectory(sub.resolve("d"))),
                new Case(FaultFs.MetaOp.RENAME, "rename_latency_us", () -> Files.move(sub.resolve("d"), sub.resolve("e"))),
                new Case(FaultFs.MetaOp.RMDIR, "rmdir_latency_us", () -> Files.delete(sub.resolve("e"))),
                new Case(FaultFs.MetaOp.UNLINK, "unlink_latency_us", () -> Files.delete(sub.resolve("f"))));
        for (Case c : cases) {
            fs.reset();
            fs.metaLatency(c.op(), latency);
            assertThat(fs.state()).containsEntry(c.knob(), Long.toString(latency.toNanos() / 1000));
            long start = System.nanoTime();
            c.call().run();
            assertThat(System.nanoTime() - start).as(c.knob()).isGreaterThanOrEqualTo(latency.toNanos());
            assertThat(Long.parseLong(fs.state().get("meta_delayed"))).as(c.knob()).isPositive();
        }
        fs.reset();
        fs.control("lookup_latency_us=7");
        assertThat(fs.state()).as("lookup is getattr in libfuse's high-level API")
                .containsEntry("getattr_latency_us", "7");
        fs.metaLatency(Duration.ofMillis(3));
        assertThat(fs.state()).containsEntry("unlink_latency_us", "3000").containsEntry("readdir_latency_us", "3000");
        fs.reset();
        assertThat(fs.state()).containsEntry("getattr_latency_us", "0").containsEntry("hang_meta", "off");
        assertThatThrownBy(() -> fs.control("mkdir_latency_us=-1")).isInstanceOf(IOException.class);
    }

    /** A call for {@link #metadataLatencyDelaysEachKindOfMetadataOperation}. */
    @FunctionalInterface
    interface IoCall {
        void run() throws IOException;
    }

    @Test
    void aHungMetadataOperationBlocksUntilReleasedAndTheControlFileStaysReachable(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        Path sub = Files.createDirectories(fs.path("meta-" + test.getTestMethod().orElseThrow().getName()));
        Files.write(sub.resolve("f"), new byte[5]);
        fs.hangMeta();
        CompletableFuture<Long> size = new CompletableFuture<>();
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                size.complete(Files.size(sub.resolve("f")));
            } catch (IOException | RuntimeException e) {
                size.completeExceptionally(e);
            }
        });
        fs.awaitBlockedMeta(1);
        assertThat(size).isNotDone();
        assertThat(fs.state()).containsEntry("hang_meta", "all");
        fs.release();
        assertThat(size.get(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS)).isEqualTo(5);
        TestSupport.joinAll(List.of(caller));
        assertThat(fs.blockedMeta()).isZero();
        assertThat(fs.state()).containsEntry("hang_meta", "off");

        fs.hangMeta(sub.resolve("g"));
        assertThat(Files.size(sub.resolve("f"))).as("another path is not held").isEqualTo(5);
        assertThat(fs.blockedMeta()).isZero();
    }

    @Test
    void rejectsUnknownControlLines(TestInfo test) throws Exception {
        FaultFs fs = faultFs(test);
        assertThatThrownBy(() -> fs.control("no_such_knob=1"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no_such_knob");
    }

    @Test
    void closeUnmountsAndStopsTheDaemonEvenWithAFileStillOpen() throws Exception {
        FaultFs fs = FixtureAvailability.mountFaultFs("FixturesTest-close");
        Path f = Files.write(fs.path("still-open"), new byte[4096]);
        FileChannel ch = FileChannel.open(f);
        try {
            fs.close();

            assertThat(Files.exists(fs.path())).as("mount directory removed").isFalse();
            assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(4096), 0))
                    .as("the open file lost its daemon")
                    .isInstanceOf(IOException.class);
        } finally {
            try {
                ch.close();
            } catch (IOException e) {
                // close(2) sends FUSE a flush, which the aborted connection refuses; the fd is closed anyway
                assertThat(e).hasMessageContaining("not connected");
            }
        }
    }

    private static long released() {
        try {
            return mount.counters().released();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void readQuietly(Path file) {
        try (FileChannel ch = FileChannel.open(file)) {
            ch.read(ByteBuffer.allocate(4096), 0);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest(name = "{0} via {2}")
    @CsvSource({
        "EPERM,  Operation not permitted,  PRELOAD",
        "ENOMEM, Cannot allocate memory,   PRELOAD",
        "ENOSYS, Function not implemented, PRELOAD",
        "EPERM,  Operation not permitted,  LIBRARY_PATH",
    })
    void ioUringSetupFailsWithTheChosenErrno(String errno, String message, UringFailShim.Mechanism mechanism)
            throws Exception {
        FixtureAvailability.assumeUringFailShim();
        ForkedJvm.Result r = ForkedJvm.of(PrintAvailability.class)
                .property(AuraIO.BINDING_PROPERTY, "liburing") // the shim is a liburing
                .env(UringFailShim.environment(errno, 0, mechanism))
                .run();

        assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stdout()).as("%s", r)
                .contains("available=false")
                .containsPattern("cause=.*" + message);
    }

    @Test
    void withNothingToFailTheShimPassesThrough() throws Exception {
        FixtureAvailability.assumeUringFailShim();
        assumeTrue(AuraIO.isAvailable(), () -> "io_uring unavailable: " + AuraIO.unavailabilityCause().orElse(""));
        ForkedJvm.Result r = ForkedJvm.of(PrintAvailability.class)
                .property(AuraIO.BINDING_PROPERTY, "liburing") // the shim is a liburing
                .env(UringFailShim.environment(null, 0, UringFailShim.Mechanism.PRELOAD))
                .run();

        assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stdout()).as("%s", r).contains("available=true");
    }

    @Test
    void failAfterLetsTheFirstSetupsThrough() throws Exception {
        FixtureAvailability.assumeUringFailShim();
        assumeTrue(AuraIO.isAvailable(), () -> "io_uring unavailable: " + AuraIO.unavailabilityCause().orElse(""));
        ForkedJvm.Result r = ForkedJvm.of(PrintAvailability.class)
                .property(AuraIO.BINDING_PROPERTY, "liburing") // the shim is a liburing
                .env(UringFailShim.environment("ENOMEM", 1, UringFailShim.Mechanism.PRELOAD))
                .env(UringFailShim.VERBOSE_VARIABLE, "1")
                .run();

        assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stdout()).as("the probe is the first setup").contains("available=true");
        assertThat(r.stderr()).as("%s", r).contains("uring_fail:");
    }
}
