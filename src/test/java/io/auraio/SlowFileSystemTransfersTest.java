package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reads and writes of files on FUSE go to the offload pool ({@link SlowFile}), on the faultfs
 * fixture: many in flight at once, the JDK's results, and a caller the daemon holds wakes on
 * interrupt and on close, without the late answer touching its memory or another file.
 */
@ExtendWith(IoUringAvailable.class)
class SlowFileSystemTransfersTest {
    private static final int BLOCK = 4096;
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static FaultFs fs;
    private static Engine engine;

    @BeforeAll
    static void mount() throws Exception {
        fs = FixtureAvailability.mountFaultFs("slowfiles");
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(16).initialInFlight(4).minInFlight(1)
                .disableAdaptive(true).build());
    }

    @AfterAll
    static void unmount() throws Exception {
        if (fs != null) {
            fs.close();
        }
        if (engine != null) {
            engine.close();
        }
    }

    @BeforeEach
    void resetKnobs() throws Exception {
        fs.reset();
    }

    private static Path file(String name, byte[] content) throws Exception {
        Files.write(fs.backing().resolve(name), content);
        return fs.path(name);
    }

    /** Joins {@code t} within {@link #BOUND}, failing if it is still parked. */
    private static void joinWithinBound(Thread t, String what) throws InterruptedException {
        if (!t.join(BOUND)) {
            AssertionError e = new AssertionError(what + ": still parked after " + BOUND);
            e.setStackTrace(t.getStackTrace());
            throw e;
        }
    }

    /**
     * A FUSE connection at the kernel's default {@code max_background} (12) runs at most 12 of
     * io_uring's (asynchronous) requests at once; 64 readers of the offload pool are all in the
     * daemon at once, up to the engine's in-flight limit (64 here), which still governs them.
     */
    @Test
    void manyReadersOfA50msFileSystemAreInFlightAtOnceBeyondFusesBackgroundLimit() throws Exception {
        byte[] content = TestSupport.randomBytes(64 * BLOCK, 7);
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (FaultFs plain = FixtureAvailability.mountFaultFs("slowfiles-default", "--max-background=0");
             Engine wide = Engine.create(Options.builder().ringCount(1).queueDepth(128).initialInFlight(64)
                     .disableAdaptive(true).build())) {
            Files.write(plain.backing().resolve("many"), content);
            plain.latency(Duration.ofMillis(50)).resetCounters();
            try (AuraFile f = AuraFile.open(wide, plain.path("many"), StandardOpenOption.READ)) {
                List<Thread> readers = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    int block = i;
                    readers.add(Thread.ofVirtual().start(() -> {
                        try {
                            ByteBuffer b = ByteBuffer.allocate(BLOCK);
                            assertThat(f.read(b, (long) block * BLOCK)).isEqualTo(BLOCK);
                            assertThat(b.array()).isEqualTo(
                                    Arrays.copyOfRange(content, block * BLOCK, (block + 1) * BLOCK));
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                }
                TestSupport.joinAll(readers);
            }
            assertThat(failures).isEmpty();
            long most = plain.counters().maxOutstanding();
            assertThat(most).as("reads in the daemon at once").isGreaterThan(12).isLessThanOrEqualTo(64);
            Leaks.assertNothingLeaked(wide);
        }
    }

    @Test
    void transfersGiveTheJdksResults() throws Exception {
        byte[] content = TestSupport.randomBytes(3 * BLOCK + 100, 3);
        Path ours = file("ours", content);
        Path theirs = file("theirs", content);
        try (AuraFileChannel a = AuraFileChannel.open(engine, ours, java.util.Set.of(StandardOpenOption.READ,
                StandardOpenOption.WRITE));
             FileChannel j = FileChannel.open(theirs, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (long position : new long[] {0, 100, 3 * BLOCK, 3 * BLOCK + 100, 5 * BLOCK}) {
                ByteBuffer x = ByteBuffer.allocate(BLOCK);
                ByteBuffer y = ByteBuffer.allocate(BLOCK);
                assertThat(a.read(x, position)).as("read at %d", position).isEqualTo(j.read(y, position));
                assertThat(x.flip()).isEqualTo(y.flip());
            }
            // Relative and vectored transfers at the channel's position
            ByteBuffer[] ax = {ByteBuffer.allocate(10), ByteBuffer.allocateDirect(5000), ByteBuffer.allocate(7)};
            ByteBuffer[] jx = {ByteBuffer.allocate(10), ByteBuffer.allocateDirect(5000), ByteBuffer.allocate(7)};
            a.position(50);
            j.position(50);
            assertThat(a.read(ax)).isEqualTo(j.read(jx));
            assertThat(a.position()).isEqualTo(j.position());
            for (int i = 0; i < ax.length; i++) {
                assertThat(ax[i].flip()).isEqualTo(jx[i].flip());
            }
            ByteBuffer[] w1 = {ByteBuffer.wrap("hello ".getBytes()), ByteBuffer.wrap("world".getBytes())};
            ByteBuffer[] w2 = {ByteBuffer.wrap("hello ".getBytes()), ByteBuffer.wrap("world".getBytes())};
            assertThat(a.write(w1)).isEqualTo(j.write(w2));
            assertThat(a.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5 * BLOCK))
                    .isEqualTo(j.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5 * BLOCK));
            assertThat(a.size()).isEqualTo(j.size());
        }
        assertThat(Files.readAllBytes(fs.backing().resolve("ours"))).isEqualTo(Files.readAllBytes(fs.backing().resolve("theirs")));
    }

    @Test
    void aReaderTheDaemonHoldsWakesOnInterruptAndItsMemoryIsNeverTouchedAfterwards() throws Exception {
        Path path = file("hung-interrupt", TestSupport.randomBytes(BLOCK, 5));
        fs.hangReads(path);
        AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ);
        ByteBuffer heap = ByteBuffer.allocate(BLOCK);
        Arena arena = Arena.ofShared();
        MemorySegment nativeMemory = arena.allocate(BLOCK);
        AtomicReference<Throwable> heapOutcome = new AtomicReference<>();
        AtomicReference<Throwable> nativeOutcome = new AtomicReference<>();
        Thread heapReader = Thread.ofVirtual().start(() -> heapOutcome.set(thrown(() -> f.read(heap, 0))));
        Thread nativeReader = Thread.ofVirtual().start(() -> nativeOutcome.set(thrown(() -> f.read(nativeMemory, 0))));
        fs.awaitBlockedReads(2);
        heapReader.interrupt();
        joinWithinBound(heapReader, "a reader the daemon holds, interrupted");
        joinWithinBound(nativeReader, "the other reader of the file its interrupt closed");
        assertThat(heapOutcome.get()).isInstanceOf(ClosedByInterruptException.class);
        assertThat(nativeOutcome.get()).isInstanceOf(AsynchronousCloseException.class);
        assertThat(f.isOpen()).isFalse();
        arena.close(); // the caller frees its memory; the kernel must not write into it later
        fs.release();
        TestSupport.awaitCondition("the abandoned reads to return", () -> outstanding() == 0);
        assertThat(heap.array()).as("the caller's buffer after the late answer").containsOnly(0);
    }

    /**
     * {@link Engine#close()} ends the ring's requests in the kernel with ESHUTDOWN; a transfer of
     * a slow file the daemon holds must end so too, not stay parked until the daemon answers
     * (forever, on a hung mount), and the late answer must not touch the caller's buffer.
     */
    @Test
    void aReaderTheDaemonHoldsWakesWithIsShutdownWhenItsEngineCloses() throws Exception {
        Path path = file("hung-engine-close", TestSupport.randomBytes(BLOCK, 6));
        fs.hangReads(path);
        Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
        AuraFile f = AuraFile.open(own, path, StandardOpenOption.READ);
        ByteBuffer heap = ByteBuffer.allocate(BLOCK);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = Thread.ofVirtual().start(() -> outcome.set(thrown(() -> f.read(heap, 0))));
        try {
            fs.awaitBlockedReads(1);
            own.close();
            joinWithinBound(reader, "a reader the daemon holds, its engine closed");
            assertThat(outcome.get()).isInstanceOf(AuraIOException.class);
            assertThat(((AuraIOException) outcome.get()).isShutdown()).as("isShutdown, as ring requests").isTrue();
        } finally {
            fs.release();
            joinWithinBound(reader, "the reader after the daemon's answer");
            f.close();
        }
        TestSupport.awaitCondition("the abandoned read to return", () -> outstanding() == 0);
        assertThat(heap.array()).as("the caller's buffer after the late answer").containsOnly(0);
    }

    /**
     * A file whose transfer the engine's close abandoned, then dropped without close(): its
     * Cleaner must leave the descriptor to the call still in the daemon, as close() does, or the
     * number could name another file when the late pwrite lands.
     */
    @Test
    void anUnreachableFileKeepsItsDescriptorForATransferItsEnginesCloseLeft() throws Exception {
        Path path = file("hung-unreachable", new byte[0]);
        fs.hangWrites(path);
        Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
        AtomicReference<AuraFile> holder = new AtomicReference<>(AuraFile.open(own, path, StandardOpenOption.WRITE));
        int fd = holder.get().fd();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread writer = Thread.ofVirtual().start(() -> outcome.set(thrown(
                () -> holder.get().write(ByteBuffer.wrap("late".getBytes()), 0))));
        Path link = Path.of("/proc/self/fd/" + fd);
        try {
            fs.awaitBlockedWrites(1);
            own.close();
            joinWithinBound(writer, "a writer the daemon holds, its engine closed");
            assertThat(outcome.get()).isInstanceOf(AuraIOException.class);
            java.lang.ref.WeakReference<AuraFile> weak = new java.lang.ref.WeakReference<>(holder.getAndSet(null));
            TestSupport.awaitCondition("the dropped file to be collected", () -> {
                System.gc();
                return weak.get() == null;
            });
            // The Cleaner runs right after the collection; without the deferral it closes the
            // descriptor while the pwrite is still in the daemon.
            long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < until) {
                assertThat(readLink(link)).as("fd %d while its pwrite is in the daemon", fd).endsWith("hung-unreachable");
                Thread.sleep(20);
            }
        } finally {
            fs.release();
        }
        TestSupport.awaitCondition("the Cleaner's deferred close after the late write",
                () -> !readLink(link).endsWith("hung-unreachable"));
        assertThat(Files.readString(fs.backing().resolve("hung-unreachable"))).isEqualTo("late");
    }

    @Test
    void aWriterTheDaemonHoldsWakesOnCloseAndTheLateWriteLandsInItsOwnFile() throws Exception {
        Path path = file("hung-write", new byte[0]);
        fs.hangWrites(path);
        AuraFile f = AuraFile.open(engine, path, StandardOpenOption.WRITE);
        int fd = f.fd();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread writer = Thread.ofVirtual().start(() -> outcome.set(thrown(
                () -> f.write(ByteBuffer.wrap("late".getBytes()), 0))));
        fs.awaitBlockedWrites(1);
        Thread closer = Thread.ofVirtual().start(() -> thrown(() -> {
            f.close();
            return null;
        }));
        joinWithinBound(writer, "a writer the daemon holds, its file closed");
        joinWithinBound(closer, "close() of a file whose write the daemon holds");
        assertThat(outcome.get()).isInstanceOf(AsynchronousCloseException.class);
        // The descriptor stays open for the write still in the kernel, so no other file can get
        // its number and the late write cannot land there.
        Path link = Path.of("/proc/self/fd/" + fd);
        assertThat(Files.readSymbolicLink(link).toString()).endsWith("hung-write");
        fs.release();
        TestSupport.awaitCondition("the descriptor to be closed after the late write",
                () -> !Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        || !Files.isSymbolicLink(link) || !readLink(link).endsWith("hung-write"));
        // As FileChannel's write interrupted in the system call: it may land after the caller left.
        assertThat(Files.readString(fs.backing().resolve("hung-write"))).isEqualTo("late");
    }

    @Test
    void uninterruptibleFilesKeepWaitingAndKeepTheInterruptStatus() throws Exception {
        Path path = file("hung-uninterruptible", TestSupport.randomBytes(BLOCK, 9));
        fs.hangReads(path);
        try (AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ)) {
            f.setUninterruptible();
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    outcome.set(f.read(ByteBuffer.allocate(BLOCK), 0));
                } catch (Throwable t) {
                    outcome.set(t);
                }
                if (!Thread.currentThread().isInterrupted()) {
                    outcome.set("interrupt status lost");
                }
            });
            fs.awaitBlockedReads(1);
            reader.interrupt();
            Thread.sleep(100);
            assertThat(reader.isAlive()).as("still waiting for the daemon").isTrue();
            fs.release();
            joinWithinBound(reader, "an uninterruptible reader after the daemon answered");
            assertThat(outcome.get()).isEqualTo(BLOCK);
        }
    }

    @Test
    void aHungMountHoldsAtMostItsPermitsAndThoseWaitingForOneStillLeaveOnInterrupt() throws Exception {
        assertThat(BlockingOffload.transfers()).isNotNull();
        Path path = file("hung-many", TestSupport.randomBytes(BLOCK, 11));
        fs.hangReads(path);
        AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ);
        List<Thread> readers = new ArrayList<>();
        Queue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < 8; i++) {
            readers.add(Thread.ofVirtual().start(() -> outcomes.add(thrown(() -> f.read(ByteBuffer.allocate(BLOCK), 0)))));
        }
        fs.awaitBlockedReads(8);
        readers.getFirst().interrupt();
        for (Thread t : readers) {
            joinWithinBound(t, "a reader of a hung file closed by another's interrupt");
        }
        assertThat(outcomes).hasSize(8).allMatch(t -> t instanceof ClosedByInterruptException
                || t instanceof AsynchronousCloseException);
        fs.release();
        TestSupport.awaitCondition("the abandoned reads to return", () -> outstanding() == 0);
    }

    /**
     * A transfer the daemon holds counts against the ring's in-flight limit only until the poller
     * finds it older than the device's latencies explain (at least 1 s): with a limit of 1, a read
     * of another file on the same mount still completes, and the hung one's caller still leaves.
     */
    @Test
    void aHungTransferStopsHoldingTheRingsOnlyAdmissionOnceStale() throws Exception {
        Path hung = file("stale-hung", TestSupport.randomBytes(BLOCK, 13));
        byte[] content = TestSupport.randomBytes(BLOCK, 17);
        Path other = file("stale-other", content);
        fs.hangReads(hung);
        try (Engine one = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(1).minInFlight(1)
                     .disableAdaptive(true).build());
             AuraFile h = AuraFile.open(one, hung, StandardOpenOption.READ);
             AuraFile o = AuraFile.open(one, other, StandardOpenOption.READ)) {
            AtomicReference<Throwable> hungOutcome = new AtomicReference<>();
            Thread stuck = Thread.ofVirtual().start(() -> hungOutcome.set(thrown(() -> h.read(ByteBuffer.allocate(BLOCK), 0))));
            fs.awaitBlockedReads(1);
            AtomicReference<Object> otherOutcome = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                ByteBuffer b = ByteBuffer.allocate(BLOCK);
                Throwable t = thrown(() -> o.read(b, 0));
                otherOutcome.set(t != null ? t : b.array());
            });
            joinWithinBound(reader, "a read of another file while the only admission is held by a hung read");
            assertThat(otherOutcome.get()).isEqualTo(content);
            stuck.interrupt();
            joinWithinBound(stuck, "the hung reader, interrupted");
            assertThat(hungOutcome.get()).isInstanceOf(ClosedByInterruptException.class);
        } finally {
            fs.release();
        }
        TestSupport.awaitCondition("the abandoned read to return", () -> outstanding() == 0);
    }

    private static String readLink(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static long outstanding() {
        try {
            return fs.counters().outstanding();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @FunctionalInterface
    private interface Task {
        Object run() throws Exception;
    }

    private static Throwable thrown(Task task) {
        try {
            task.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }
}
