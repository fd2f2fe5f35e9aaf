package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.PeriodicTicker;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Metadata calls through {@link AuraFileSystemProvider} on a FUSE file system whose metadata is
 * slow or hung must not hold carriers: a 1 ms ticker virtual thread keeps running. The bounds
 * asserted are loose (liveness, not timing); the JDK provider's numbers are printed beside them.
 */
class MetadataCarrierLivenessTest {
    private static final int THREADS = 64;
    private static final Duration RUN = Duration.ofSeconds(3);

    private final FileSystem aura =
            new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));

    /**
     * A virtual thread that wants to run every millisecond from the moment it is started until
     * {@code run} later; the gap before its first run and after its last one count.
     */
    private record Ticker(Thread thread, AtomicLong ticks, AtomicLong worstGapNanos) {
        static Ticker start(Duration run) {
            long start = System.nanoTime();
            long end = start + run.toNanos();
            AtomicLong ticks = new AtomicLong();
            AtomicLong worst = new AtomicLong();
            Thread t = Thread.ofVirtual().start(() -> {
                long last = start;
                while (true) {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                    long now = System.nanoTime();
                    worst.accumulateAndGet(now - last, Math::max);
                    if (now >= end) {
                        return;
                    }
                    ticks.incrementAndGet();
                    last = now;
                }
            });
            return new Ticker(t, ticks, worst);
        }
    }

    /** What a workload run saw: the ticker, and how many metadata calls the workers finished. */
    private record Run(PeriodicTicker ticker, long calls) {
        @Override
        public String toString() {
            return String.format("ticker ran %d times in %d ms (worst gap %.1f ms), %d metadata calls",
                    ticker.ticks(), RUN.toMillis(), ticker.worstGapNanos() / 1e6, calls);
        }
    }

    /**
     * 64 virtual threads, each in its own directory under {@code base}, loop over exists, size,
     * readAttributes, list, createDirectory, move and delete while the ticker runs.
     */
    private static Run run(FaultFs fs, Path base) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong calls = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        long metaBefore = fs.metaOps();
        for (int i = 0; i < THREADS; i++) {
            Path mine = base.resolve("t" + i);
            workers.add(Thread.ofVirtual().start(() -> {
                try {
                    Path file = mine.resolve("f");
                    // Each call checks stop: once the run is over, a worker starved of carriers
                    // (the JDK's case) leaves after the call it is in.
                    while (!stop.get()) {
                        assertThat(Files.exists(file)).isTrue();
                        calls.incrementAndGet();
                        if (stop.get()) {
                            break;
                        }
                        assertThat(Files.size(file)).isEqualTo(4096);
                        calls.incrementAndGet();
                        if (stop.get()) {
                            break;
                        }
                        assertThat(Files.readAttributes(file, BasicFileAttributes.class).isRegularFile()).isTrue();
                        calls.incrementAndGet();
                        if (stop.get()) {
                            break;
                        }
                        try (Stream<Path> entries = Files.list(mine)) {
                            assertThat(entries.count()).isEqualTo(1);
                        }
                        calls.incrementAndGet();
                        // create, move and delete as one step: the directory is left as found
                        Files.createDirectory(mine.resolve("n"));
                        Files.move(mine.resolve("n"), mine.resolve("m"));
                        Files.delete(mine.resolve("m"));
                        calls.addAndGet(3);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        try {
            TestSupport.awaitCondition("the workers to be in the file system", () -> {
                try {
                    return fs.metaOps() - metaBefore >= THREADS;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            // The window starts now, not when the ticker is first scheduled (PeriodicTicker's
            // clock): a ticker starved from the start (the JDK's case) must count as late.
            Ticker ticker = Ticker.start(RUN);
            Thread.sleep(RUN.toMillis());
            long done = calls.get();
            stop.set(true);
            TestSupport.joinAll(workers);
            TestSupport.joinAll(List.of(ticker.thread()));
            assertThat(failure.get()).as("a worker failed").isNull();
            return new Run(new PeriodicTicker(ticker.ticks().get(), ticker.worstGapNanos().get()), done);
        } finally {
            stop.set(true);
            TestSupport.joinAll(workers);
        }
    }

    @Test
    void aTickerKeepsRunningWhile64VirtualThreadsMakeSlowMetadataCalls() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("metadata-liveness")) {
            for (String side : List.of("aura", "jdk")) {
                for (int i = 0; i < THREADS; i++) {
                    Files.createDirectories(fs.backing().resolve(side + "/t" + i));
                    Files.write(fs.backing().resolve(side + "/t" + i + "/f"), new byte[4096]);
                }
            }
            fs.metaLatency(Duration.ofMillis(20));

            Run ours = run(fs, aura.getPath(fs.path("aura").toString()));
            Run jdk = run(fs, fs.path("jdk"));
            System.out.println("[metadata liveness, 20 ms metadata, " + THREADS + " virtual threads, "
                    + Runtime.getRuntime().availableProcessors() + " carriers] AuraFileSystemProvider: " + ours
                    + "; JDK provider: " + jdk);

            assertThat(ours.calls()).as("metadata calls through the provider").isPositive();
            // ~3,000 ticks if never late; a starved ticker runs a handful of times.
            assertThat(ours.ticker().ticks()).as("ticker runs with the provider: %s", ours).isGreaterThan(300);
            assertThat(ours.ticker().worstGapNanos()).as("worst ticker gap with the provider: %s", ours)
                    .isLessThan(Duration.ofSeconds(1).toNanos());
        }
    }

    /**
     * Metadata of one mount hangs: its callers park (at most the offload's per-mount share of pool
     * threads held), while callers of another mount and the ticker keep running; released, the
     * parked callers finish with the right answer.
     */
    @Test
    void aHungMountStallsOnlyTheCallersThatTouchIt() throws Exception {
        try (FaultFs healthy = FixtureAvailability.mountFaultFs("metadata-healthy");
             FaultFs hung = FixtureAvailability.mountFaultFs("metadata-hung")) {
            awaitOwnShare(healthy, hung);
            int stuckCallers = 48;
            for (int i = 0; i < stuckCallers; i++) {
                Files.createDirectories(hung.backing().resolve("sub"));
                Files.createFile(hung.backing().resolve("sub/f" + i));
            }
            Files.createDirectories(healthy.backing().resolve("d"));
            Files.write(healthy.backing().resolve("d/f"), new byte[10]);
            hung.hangMeta();

            Path hungDir = aura.getPath(hung.path("sub").toString());
            List<Boolean> answers = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> stuck = new ArrayList<>();
            for (int i = 0; i < stuckCallers; i++) {
                Path file = hungDir.resolve("f" + i);
                stuck.add(Thread.ofVirtual().start(() -> answers.add(Files.exists(file))));
            }
            BlockingOffload offload = BlockingOffload.shared();
            hung.awaitBlockedMeta(1);
            TestSupport.awaitCondition("the hung mount's share of the pool taken",
                    () -> offload.availablePermits(hung.path()) == 0);

            Path healthyDir = aura.getPath(healthy.path("d").toString());
            List<Thread> others = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int i = 0; i < THREADS; i++) {
                others.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int k = 0; k < 10; k++) {
                            assertThat(Files.size(healthyDir.resolve("f"))).isEqualTo(10);
                            try (Stream<Path> entries = Files.list(healthyDir)) {
                                assertThat(entries.count()).isEqualTo(1);
                            }
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            PeriodicTicker ticker = PeriodicTicker.run(Duration.ofSeconds(1));
            TestSupport.joinAll(others);
            assertThat(failure.get()).as("a caller of the healthy mount failed").isNull();
            System.out.println("[hung mount] ticker while " + stuckCallers + " callers wait on a hung mount: "
                    + ticker.ticks() + " runs in 1 s, worst gap " + ticker.worstGapNanos() / 1_000_000 + " ms");
            assertThat(ticker.ticks()).as("ticker runs while a mount hangs").isGreaterThan(100);
            assertThat(stuck).as("callers of the hung mount still wait").allMatch(Thread::isAlive);
            assertThat(offload.availablePermits(hung.path())).isZero();

            hung.release();
            TestSupport.joinAll(stuck);
            assertThat(answers).hasSize(stuckCallers).containsOnly(true);
        }
    }

    /**
     * Every routed call on a mount whose metadata hangs: its caller parks with the call on an
     * offload thread (the mount's share of the pool goes down by one per call), none holds a
     * carrier (the ticker runs), and released, each finishes.
     */
    @Test
    void everyRoutedCallWaitsForAHungMountOnThePoolNotOnACarrier() throws Exception {
        try (FaultFs hung = FixtureAvailability.mountFaultFs("metadata-every-call")) {
            awaitOwnShare(hung);
            Files.createDirectories(hung.backing().resolve("sub/d"));
            // The calls run at once when released: each has files of its own to change.
            for (String name : List.of("f", "m", "c0", "k")) {
                Files.write(hung.backing().resolve("sub/" + name), new byte[3]);
            }
            Files.createSymbolicLink(hung.backing().resolve("sub/link"), Path.of("f"));
            Path sub = aura.getPath(hung.path("sub").toString());
            record Call(String name, Callable call) {}
            List<Call> calls = List.of(
                    new Call("exists", () -> Files.exists(sub.resolve("f"))),
                    new Call("size", () -> Files.size(sub.resolve("f"))),
                    new Call("readAttributes by name", () -> Files.readAttributes(sub.resolve("f"), "size")),
                    new Call("checkAccess", () -> {
                        sub.getFileSystem().provider().checkAccess(sub.resolve("f"));
                        return null;
                    }),
                    new Call("setAttribute", () -> Files.setAttribute(sub.resolve("f"), "lastModifiedTime",
                            java.nio.file.attribute.FileTime.fromMillis(1000))),
                    new Call("view setTimes", () -> Files.setLastModifiedTime(sub.resolve("f"),
                            java.nio.file.attribute.FileTime.fromMillis(2000))),
                    new Call("view readAttributes", () -> Files.getFileAttributeView(sub.resolve("f"),
                            java.nio.file.attribute.PosixFileAttributeView.class).readAttributes().size()),
                    new Call("list", () -> {
                        try (Stream<Path> s = Files.list(sub)) {
                            return s.count();
                        }
                    }),
                    new Call("createDirectory", () -> Files.createDirectory(sub.resolve("n"))),
                    new Call("delete", () -> {
                        Files.delete(sub.resolve("d"));
                        return null;
                    }),
                    new Call("deleteIfExists", () -> Files.deleteIfExists(sub.resolve("nope"))),
                    new Call("move", () -> Files.move(sub.resolve("m"), sub.resolve("g"))),
                    new Call("copy", () -> Files.copy(sub.resolve("c0"), sub.resolve("c"))),
                    new Call("createLink", () -> Files.createLink(sub.resolve("h"), sub.resolve("k"))),
                    new Call("createSymbolicLink", () -> Files.createSymbolicLink(sub.resolve("l2"), sub.resolve("x"))),
                    new Call("readSymbolicLink", () -> Files.readSymbolicLink(sub.resolve("link"))),
                    new Call("isSameFile", () -> Files.isSameFile(sub.resolve("link"), sub)),
                    new Call("getFileStore", () -> Files.getFileStore(sub.resolve("link")).type()));
            hung.hangMeta();
            BlockingOffload offload = BlockingOffload.shared();
            int share = offload.availablePermits(hung.path());
            assertThat(share).isGreaterThan(calls.size());
            List<Thread> callers = new ArrayList<>();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (Call c : calls) {
                callers.add(Thread.ofVirtual().start(() -> {
                    try {
                        c.call().call();
                    } catch (Exception e) {
                        failures.add(c.name() + ": " + e);
                    }
                }));
            }
            TestSupport.awaitCondition("every call on the pool", () -> offload.availablePermits(hung.path())
                    == share - calls.size());
            PeriodicTicker ticker = PeriodicTicker.run(Duration.ofMillis(500));
            assertThat(ticker.ticks()).as("ticker runs while %d calls wait on a hung mount", calls.size())
                    .isGreaterThan(50);
            assertThat(callers).allMatch(Thread::isAlive);
            hung.release();
            TestSupport.joinAll(callers);
            assertThat(failures).isEmpty();
            assertThat(offload.availablePermits(hung.path())).isEqualTo(share);
        }
    }

    /**
     * The JDK's {@code stat} on a hung mount ignores interrupts: the caller stays in the call and
     * comes back with its status set once the mount answers. A virtual caller parked on the
     * offload does the same, side by side with a JDK caller on the same hung mount.
     */
    @Test
    void aCallerInterruptedWhileAMountHangsWaitsAndKeepsItsStatusAsTheJdks() throws Exception {
        try (FaultFs hung = FixtureAvailability.mountFaultFs("metadata-interrupt")) {
            awaitOwnShare(hung);
            Files.createDirectories(hung.backing().resolve("sub"));
            Files.write(hung.backing().resolve("sub/f"), new byte[3]);
            hung.hangMeta();
            int share = BlockingOffload.shared().availablePermits(hung.path());
            List<String> outcomes = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread jdk = Thread.ofPlatform().start(() -> outcomes.add("jdk " + sizeAndStatus(hung.path("sub/f"))));
            Thread ours = Thread.ofVirtual().start(() -> outcomes.add("aura "
                    + sizeAndStatus(aura.getPath(hung.path("sub/f").toString()))));
            hung.awaitBlockedMeta(1);
            TestSupport.awaitCondition("the virtual caller's call on the pool",
                    () -> BlockingOffload.shared().availablePermits(hung.path()) == share - 1);
            for (int i = 0; i < 5; i++) {
                jdk.interrupt();
                ours.interrupt();
                Thread.sleep(20);
            }
            assertThat(outcomes).as("neither call ended on an interrupt").isEmpty();
            assertThat(jdk.isAlive()).isTrue();
            assertThat(ours.isAlive()).isTrue();
            hung.release();
            TestSupport.joinAll(List.of(jdk, ours));
            assertThat(outcomes).containsExactlyInAnyOrder("jdk 3 interrupted", "aura 3 interrupted");
        }
    }

    private static String sizeAndStatus(Path file) {
        try {
            long size = Files.size(file);
            return size + (Thread.currentThread().isInterrupted() ? " interrupted" : " not interrupted");
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** A routed call for {@link #everyRoutedCallWaitsForAHungMountOnThePoolNotOnACarrier}. */
    @FunctionalInterface
    interface Callable {
        Object call() throws Exception;
    }

    /**
     * Waits until the offload tells each mount's calls apart from the rest: its mount table is read
     * again at most once a second, and a mount made within that second still counts as the file
     * system it was made on, whose share of the pool a hung mount's callers would then take from
     * every other caller there (seen once in a full run, right after a test that used the offload).
     */
    private static void awaitOwnShare(FaultFs... mounts) throws Exception {
        for (FaultFs fs : mounts) {
            TestSupport.awaitCondition("the offload to see mount " + fs.path(),
                    () -> BlockingOffload.shared().mountOf(fs.path())
                            .equals(fs.path().toAbsolutePath().normalize().toString()));
        }
    }
}
