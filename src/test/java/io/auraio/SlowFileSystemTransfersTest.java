package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
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
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

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

    /**
     * A FUSE file reached through a symbolic link from a local directory (its name is not on the
     * mount, so the open is not offloaded) is not left with the cached open's O_NONBLOCK: the
     * daemon gets a file's flags with every read, and an offloaded file never makes the ring
     * request before which a local file's flag is cleared. (On 6.18 the cached open refuses the
     * FUSE name, which needs revalidation, and the ring's open leaves no O_NONBLOCK; should a
     * cached open ever succeed there, AuraFile.open clears it at once.)
     */
    @Test
    void aFuseFileOpenedThroughALocalLinkIsNotLeftNonBlocking(@org.junit.jupiter.api.io.TempDir Path local)
            throws Exception {
        Path target = file("linked", TestSupport.randomBytes(3 * BLOCK, 11));
        Path link = Files.createSymbolicLink(local.resolve("link"), target);
        try (AuraFile file = AuraFile.open(engine, link, StandardOpenOption.READ)) {
            int flags = Posix.statusFlags(Descriptors.oneOn(target));
            assertThat(flags & Posix.O_NONBLOCK).as("O_NONBLOCK on the FUSE file's descriptor").isZero();
            ByteBuffer buf = ByteBuffer.allocate(3 * BLOCK);
            assertThat(file.read(buf, 0)).isEqualTo(3 * BLOCK);
        } finally {
            Files.delete(link); // not left for the temporary directory's clean-up, which warns of links out of it
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
            // One direct buffer twice: the second entry's bytes are what it holds, as the JDK's
            ByteBuffer twiceOurs = ByteBuffer.allocateDirect(10);
            ByteBuffer twiceTheirs = ByteBuffer.allocateDirect(10);
            assertThat(a.read(new ByteBuffer[] {twiceOurs, twiceOurs}, 0, 2))
                    .isEqualTo(j.read(new ByteBuffer[] {twiceTheirs, twiceTheirs}, 0, 2));
            assertThat(twiceOurs.position()).isEqualTo(twiceTheirs.position());
            assertThat(twiceOurs.flip()).isEqualTo(twiceTheirs.flip());
            assertThat(a.position()).isEqualTo(j.position());
            ByteBuffer[] w1 = {ByteBuffer.wrap("hello ".getBytes()), ByteBuffer.wrap("world".getBytes())};
            ByteBuffer[] w2 = {ByteBuffer.wrap("hello ".getBytes()), ByteBuffer.wrap("world".getBytes())};
            assertThat(a.write(w1)).isEqualTo(j.write(w2));
            assertThat(a.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5 * BLOCK))
                    .isEqualTo(j.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 5 * BLOCK));
            assertThat(a.size()).isEqualTo(j.size());
        }
        assertThat(Files.readAllBytes(fs.backing().resolve("ours"))).isEqualTo(Files.readAllBytes(fs.backing().resolve("theirs")));
    }

    /**
     * A transfer of 16 KiB or more into an {@code APPEND} channel writes each chunk with one write,
     * as the JDK writes each chunk it maps, so that other appenders never land inside it: also
     * where the source's reads come short, read until the chunk is full.
     */
    @Test
    void transfersIntoAnAppendChannelWriteEachChunkOnceWhereTheSourceReadsShort() throws Exception {
        int size = 40_000;
        byte[] content = TestSupport.randomBytes(size, 11);
        Path source = file("short-source", content);
        Path target = file("append-target", new byte[0]);
        fs.shortReads(1000);
        List<String> forms = List.of("transferTo", "transferFrom", "transferFrom a FileChannel");
        try (AuraFileChannel in = AuraFileChannel.open(engine, source, Set.of(StandardOpenOption.READ));
             FileChannel jdkIn = FileChannel.open(source, StandardOpenOption.READ);
             AuraFileChannel out = AuraFileChannel.open(engine, target,
                     Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND))) {
            for (String form : forms) {
                fs.resetCounters();
                long n = switch (form) {
                    case "transferTo" -> in.transferTo(0, size, out);
                    case "transferFrom" -> out.transferFrom(in.position(0), 0, size);
                    default -> out.transferFrom(jdkIn, 0, size);
                };
                FaultFs.Counters counters = fs.counters();
                assertThat(n).as(form).isEqualTo(size);
                assertThat(counters.shortReadsInjected()).as("%s: the reads were short", form).isPositive();
                assertThat(counters.writes()).as("%s: writes", form).isEqualTo(1);
                assertThat(counters.bytesWritten()).as(form).isEqualTo(size);
            }
        }
        byte[] expected = new byte[forms.size() * size];
        for (int i = 0; i < forms.size(); i++) {
            System.arraycopy(content, 0, expected, i * size, size);
        }
        assertThat(Files.readAllBytes(fs.backing().resolve("append-target"))).isEqualTo(expected);
    }

    /**
     * Into an {@code APPEND} channel, from a file's channel of the JDK (whose reads move its
     * position), and from an AuraFileChannel by {@code transferFrom} and by {@code transferTo}
     * (read at positions): a read that fails after others filled part of a chunk ends that chunk,
     * and what they read is written and counted, so that no byte the source gave is lost; the next
     * chunk's first read reports an error that lasts. (Failing the chunk instead lost those bytes,
     * or gave them back and failed the transfer; from an AuraFileChannel it threw, nothing written,
     * where the same transfer into a channel without {@code APPEND} returns the bytes read. The
     * JDK maps such a source and has no read to fail; this FUSE mount it cannot map.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"transferFrom a FileChannel", "transferFrom", "transferTo"})
    void aReadFailingWithinAChunkIntoAnAppendChannelEndsTheChunkWithWhatWasReadWritten(String form) throws Exception {
        int size = 40_000;
        byte[] content = TestSupport.randomBytes(size, 12);
        Path source = file("failing-source", content);
        Path target = fs.backing().resolve("append-after-eio"); // beside the mount: only the source's reads fail
        Files.deleteIfExists(target);
        try (FileChannel jdkIn = FileChannel.open(source, StandardOpenOption.READ);
             AuraFileChannel in = AuraFileChannel.open(engine, source, Set.of(StandardOpenOption.READ));
             AuraFileChannel out = AuraFileChannel.open(engine, target,
                     Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND))) {
            fs.shortReads(1000).eioOps(FaultFs.Ops.READ).eioEvery(3);
            long n = switch (form) {
                case "transferTo" -> in.transferTo(0, size, out);
                case "transferFrom" -> out.transferFrom(in, 0, size);
                default -> out.transferFrom(jdkIn, 0, size);
            };
            assertThat(n).isEqualTo(size);
            assertThat(fs.counters().eioInjected()).as("every third read failed").isPositive();
            FileChannel read = form.equals("transferFrom a FileChannel") ? jdkIn : in;
            assertThat(read.position()).as("the source's position").isEqualTo(form.equals("transferTo") ? 0 : size);
        }
        assertThat(Files.readAllBytes(target)).isEqualTo(content);
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
     * The close a transfer the daemon held left behind runs when the daemon answers, on the pool
     * thread that made the call, with {@code close(2)}: not as a ring request nobody waits for,
     * which showed the engine with a request in flight after it had had none (a flake of the
     * hazard test's end-of-round check).
     */
    @Test
    void theCloseAnAbandonedTransferLeftIsMadeOnItsPoolThreadNotThroughTheRing() throws Exception {
        Path path = file("hung-deferred-close", TestSupport.randomBytes(BLOCK, 8));
        fs.hangReads(path);
        try (Engine own = Engine.create(Options.builder().ringCount(1).queueDepth(16).build())) {
            AuraFile f = AuraFile.open(own, path, StandardOpenOption.READ);
            int fd = f.fd();
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> outcome.set(thrown(() -> f.read(ByteBuffer.allocate(BLOCK), 0))));
            fs.awaitBlockedReads(1);
            reader.interrupt();
            joinWithinBound(reader, "a reader the daemon holds, interrupted");
            assertThat(outcome.get()).isInstanceOf(ClosedByInterruptException.class);
            assertThat(Descriptors.isOpenOn(fd, path)).as("fd %d while its read is in the daemon", fd).isTrue();
            // The abandoned transfer counts as the ring's once its poller has seen it given back
            // (a pass after the caller left: on a loaded machine, after a snapshot taken at once).
            TestSupport.awaitCondition("the abandoned transfer counted",
                    () -> io.auraio.internal.engine.RingProbe.offloadedCounted(own.core()));
            long ringRequests = io.auraio.internal.engine.RingProbe.opsCompleted(own.core());
            fs.release();
            TestSupport.awaitCondition("the deferred close after the late answer",
                    () -> !Descriptors.isOpenOn(fd, path));
            assertThat(io.auraio.internal.engine.RingProbe.opsCompleted(own.core()))
                    .as("ring requests made after the caller left").isEqualTo(ringRequests);
            assertThat(own.stats().currentInFlight()).isZero();
        }
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
                assertThat(Descriptors.isOpenOn(fd, path)).as("fd %d while its pwrite is in the daemon", fd).isTrue();
                Thread.sleep(20);
            }
        } finally {
            fs.release();
        }
        TestSupport.awaitCondition("the Cleaner's deferred close after the late write",
                () -> !Descriptors.isOpenOn(fd, path));
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
        assertThat(Descriptors.isOpenOn(fd, path)).as("fd %d while its write is in the daemon", fd).isTrue();
        fs.release();
        TestSupport.awaitCondition("the descriptor to be closed after the late write",
                () -> !Descriptors.isOpenOn(fd, path));
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

    /**
     * {@code force}, {@code size}, {@code truncate} and what builds on them (the position in
     * APPEND mode, {@code transferTo}) of a FUSE file, made on the offload pool, give what the
     * JDK's {@code FileChannel} gives on a twin file.
     */
    @Test
    void metadataCallsGiveTheJdksResults() throws Exception {
        byte[] content = TestSupport.randomBytes(3 * BLOCK + 100, 19);
        Path ours = file("meta-ours", content);
        Path theirs = file("meta-theirs", content);
        Set<StandardOpenOption> rw = Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
        try (AuraFileChannel a = AuraFileChannel.open(engine, ours, rw);
             FileChannel j = FileChannel.open(theirs, rw)) {
            assertThat(a.size()).isEqualTo(j.size());
            a.force(true);
            j.force(true);
            a.force(false);
            j.force(false);
            a.position(3 * BLOCK);
            j.position(3 * BLOCK);
            assertThat(a.truncate(2 * BLOCK + 7)).isSameAs(a); // shrinks, and moves the position back
            j.truncate(2 * BLOCK + 7);
            assertThat(a.size()).isEqualTo(j.size()).isEqualTo(2 * BLOCK + 7);
            assertThat(a.position()).isEqualTo(j.position());
            a.truncate(5 * BLOCK); // larger: changes nothing
            j.truncate(5 * BLOCK);
            assertThat(a.size()).isEqualTo(j.size());
            var aOut = new java.io.ByteArrayOutputStream();
            var jOut = new java.io.ByteArrayOutputStream();
            assertThat(a.transferTo(100, 3 * BLOCK, java.nio.channels.Channels.newChannel(aOut)))
                    .isEqualTo(j.transferTo(100, 3 * BLOCK, java.nio.channels.Channels.newChannel(jOut)));
            assertThat(aOut.toByteArray()).isEqualTo(jOut.toByteArray());
        }
        try (AuraFileChannel a = AuraFileChannel.open(engine, ours, Set.of(StandardOpenOption.APPEND));
             FileChannel j = FileChannel.open(theirs, StandardOpenOption.APPEND)) {
            assertThat(a.position()).isEqualTo(j.position()); // the size, in APPEND mode
            a.write(ByteBuffer.wrap("tail".getBytes()));
            j.write(ByteBuffer.wrap("tail".getBytes()));
            assertThat(a.position()).isEqualTo(j.position());
        }
        try (AuraFile f = AuraFile.open(engine, ours, StandardOpenOption.READ)) {
            assertThat(f.size()).isEqualTo(Files.size(theirs));
            f.force(true); // fsync of a file open for reading works, as with FileChannel
        }
        assertThat(Files.readAllBytes(fs.backing().resolve("meta-ours")))
                .isEqualTo(Files.readAllBytes(fs.backing().resolve("meta-theirs")));
    }

    /** A call of a FUSE file's that may wait for the daemon, in each of its forms. */
    enum MetaForm {
        FILE_FORCE("fsync"), FILE_FORCE_DATA("fsync"), FILE_SIZE("fstatSize"), CHANNEL_FORCE("fsync"),
        CHANNEL_SIZE("fstatSize"), CHANNEL_TRUNCATE("ftruncate"), CHANNEL_APPEND_POSITION("fstatSize"),
        CHANNEL_TRANSFER_TO("fstatSize");

        /** The {@code Libc} method the pool thread is in while the daemon holds the call. */
        final String syscall;

        MetaForm(String syscall) {
            this.syscall = syscall;
        }

        void run(AuraFile file, AuraFileChannel channel) throws Exception {
            switch (this) {
                case FILE_FORCE -> file.force(true);
                case FILE_FORCE_DATA -> file.force(false);
                case FILE_SIZE -> file.size();
                case CHANNEL_FORCE -> channel.force(true);
                case CHANNEL_SIZE -> channel.size();
                case CHANNEL_TRUNCATE -> channel.truncate(10);
                case CHANNEL_APPEND_POSITION -> channel.position();
                case CHANNEL_TRANSFER_TO -> channel.transferTo(0, BLOCK,
                        java.nio.channels.Channels.newChannel(new java.io.ByteArrayOutputStream()));
            }
        }

        boolean onChannel() {
            return name().startsWith("CHANNEL");
        }
    }

    /**
     * A caller of {@code force}, {@code size}, {@code truncate} (and the position in APPEND mode,
     * and {@code transferTo}, which read the size) whose call the FUSE daemon holds wakes on its
     * interrupt with {@link ClosedByInterruptException}, and on a close by another thread with
     * {@link AsynchronousCloseException}, as {@code FileChannel}'s callers do; the close returns
     * at once, and the descriptor stays open until the abandoned call returns. Before these went
     * to the offload pool, the ring's {@code FSYNC}/{@code STATX} and the companion channel's
     * {@code ftruncate} held their callers until the daemon answered.
     */
    @ParameterizedTest
    @EnumSource(MetaForm.class)
    void aMetadataCallTheDaemonHoldsWakesOnInterruptAndOnClose(MetaForm form) throws Exception {
        for (boolean interrupt : new boolean[] {true, false}) {
            String name = "hung-" + form.name().toLowerCase(java.util.Locale.ROOT) + (interrupt ? "-i" : "-c");
            Path path = file(name, TestSupport.randomBytes(2 * BLOCK, 23));
            AuraFile file = form.onChannel() ? null : AuraFile.open(engine, path, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            AuraFileChannel channel = !form.onChannel() ? null : AuraFileChannel.open(engine, path,
                    form == MetaForm.CHANNEL_APPEND_POSITION ? Set.of(StandardOpenOption.APPEND)
                            : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
            int fd = file != null ? file.fd() : channel.file().fd();
            AutoCloseable closeable = file != null ? file : channel;
            try {
                fs.hangMeta(path); // after the open, whose lookup it would hold
                AtomicReference<Throwable> outcome = new AtomicReference<>();
                Thread caller = Thread.ofVirtual().start(() -> outcome.set(thrown(() -> {
                    form.run(file, channel);
                    return null;
                })));
                awaitHeld(form.syscall);
                // Checked once the caller woke: without the offload the call is a ring request
                // (or the companion's ftruncate), and the caller does not wake.
                boolean onPool = poolThreadIn(form.syscall);
                if (interrupt) {
                    caller.interrupt();
                    joinWithinBound(caller, form + ": a caller the daemon holds, interrupted");
                    assertThat(outcome.get()).as("%s, interrupted", form).isInstanceOf(ClosedByInterruptException.class);
                } else {
                    Thread closer = Thread.ofVirtual().start(() -> thrown(() -> {
                        closeable.close();
                        return null;
                    }));
                    joinWithinBound(caller, form + ": a caller the daemon holds, its file closed");
                    joinWithinBound(closer, form + ": close() of a file whose call the daemon holds");
                    assertThat(outcome.get()).as("%s, closed", form).isInstanceOf(AsynchronousCloseException.class);
                }
                assertThat(onPool).as("%s: the daemon held the call in Libc.%s on the offload pool", form, form.syscall)
                        .isTrue();
                assertThat(file != null ? file.isOpen() : channel.isOpen()).as("%s: the file is closed", form).isFalse();
                // The descriptor stays open for the call still in the kernel: no other file gets its number.
                assertThat(Descriptors.isOpenOn(fd, path))
                        .as("%s: the descriptor while the daemon holds the call", form).isTrue();
                fs.release();
                TestSupport.awaitCondition(form + ": the descriptor to be closed once the call returned",
                        () -> !Descriptors.isOpenOn(fd, path));
            } finally {
                fs.release();
                closeable.close();
            }
        }
    }

    /**
     * Waits until the daemon holds the caller's call: for {@code ftruncate}, lets the size check
     * before it go first (a pool thread in {@code fstatSize} while {@code ftruncate} is wanted).
     */
    private static void awaitHeld(String syscall) throws Exception {
        while (true) {
            fs.awaitBlockedMeta(1);
            if (!syscall.equals("ftruncate") || !poolThreadIn("fstatSize")) {
                return;
            }
            long ops = fs.metaOps();
            fs.release(1); // the truncate's size check: let it go
            TestSupport.awaitCondition("the truncate's next metadata operation", () -> {
                try {
                    return fs.metaOps() > ops;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    private static boolean poolThreadIn(String syscall) {
        for (var e : Thread.getAllStackTraces().entrySet()) {
            if (!e.getKey().getName().startsWith("auraio-offload-")) {
                continue;
            }
            for (StackTraceElement frame : e.getValue()) {
                if (frame.getClassName().equals("io.auraio.internal.binding.Libc")
                        && frame.getMethodName().equals(syscall)) {
                    return true;
                }
            }
        }
        return false;
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
