package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Direct;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The request path's races (RingPoller, AdmissionGate, AuraFile's close and interrupt protocol): interrupts, closes of the file and of the engine at random moments, a
 * tiny in-flight limit, FIFOs whose reads wait for data, cold and O_DIRECT files, and the
 * callback API on the same ring. Randomized with fixed seeds and a fixed number of rounds; every
 * call must return or throw within {@link #BOUND} (else the stuck threads' stacks are reported).
 */
@ExtendWith(IoUringAvailable.class)
class RingRacesTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Every call returns or throws within this; only a hang reaches it. */
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final int BLOCK = 4096;

    private static Options tinyLimit() {
        return Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(1).minInFlight(1).build();
    }

    // ------------------------------------------------------------------------------------ helpers

    private static void spinMicros(long micros) {
        long end = System.nanoTime() + micros * 1000;
        while (System.nanoTime() - end < 0) {
            Thread.onSpinWait();
        }
    }

    /** Joins {@code threads} within {@code bound}; otherwise fails with the stuck threads' stacks. */
    private static void assertAllEnd(List<Thread> threads, Duration bound, String context) throws InterruptedException {
        assertAllEnd(threads, bound, () -> context);
    }

    /** As above, with the context made once the bound has passed (the state then). */
    private static void assertAllEnd(List<Thread> threads, Duration bound, java.util.function.Supplier<String> context)
            throws InterruptedException {
        TestSupport.assertAllEnd(threads, bound, context);
    }

    private static boolean isCloseOutcome(Throwable t) {
        return t instanceof AsynchronousCloseException && !(t instanceof ClosedByInterruptException)
                || t instanceof ClosedChannelException && !(t instanceof AsynchronousCloseException);
    }

    private static boolean isShutdownOutcome(Throwable t) {
        return t instanceof AuraIOException a && a.isShutdown() || isCloseOutcome(t);
    }

    private Path filled(String name, int blocks, long seed) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, TestSupport.nonZeroBytes(blocks * BLOCK, seed));
        return p;
    }

    // ------------------------------------------------------------------------ interrupt vs. FIFO

    /**
     * An interrupted reader closes the file without waiting ({@code AuraFile.closeWithoutWaiting}).
     * Every other thread already inside a read of that file must be woken too
     * (AsynchronousCloseException), as {@code close()} does, and the descriptor then closed.
     * Readers of a FIFO nobody writes, started together, reader 0 interrupted after a random few
     * microseconds. It used to cancel once: a reader that entered the file before it was marked
     * closed, but whose request reached the poller's stack only after that pass (or when no slot
     * yet showed the descriptor, so the cancel was skipped), was never cancelled and waited for
     * data for ever, holding the descriptor open. Such a reader now cancels its own request once
     * it is in the ring if the file is closing by then ({@code RingPoller.execute}'s
     * {@code abandoned}); {@link #aReaderDescheduledOnItsWayToTheRingIsWokenByAnInterruptsClose}
     * holds one there as long as it takes.
     */
    @Test
    void readersEnteringWhileAnInterruptClosesTheFifoAreAllWoken() throws Exception {
        interruptClosesWhileOthersEnter(false);
    }

    /**
     * The contrast, which holds: the same readers when another thread calls {@code close()} (which
     * waits for the file's users and cancels again every 50 ms meanwhile) all end.
     */
    @Test
    void readersEnteringWhileAnotherThreadClosesTheFifoAreAllWoken() throws Exception {
        interruptClosesWhileOthersEnter(true);
    }

    private void interruptClosesWhileOthersEnter(boolean closeInstead) throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Random random = new Random(20261206);
        int readers = 12;
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            for (int round = 0; round < (closeInstead ? 150 : 1000); round++) {
                AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
                int fd = pipe.fd();
                CountDownLatch go = new CountDownLatch(1);
                AtomicReferenceArray<Throwable> outcome = new AtomicReferenceArray<>(readers);
                AtomicBoolean firstKeptInterrupt = new AtomicBoolean();
                // Odd rounds: reader 0 interrupts itself as it starts, started among the others
                // (which are then entering the file on the other carriers).
                boolean selfInterrupt = !closeInstead && round % 2 == 1;
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < readers; i++) {
                    int index = i;
                    threads.add(Thread.ofVirtual().name("round-" + round + "-reader-" + i).unstarted(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt(); // interrupted before its read: begin() sees it
                        }
                        if (index == 0 && selfInterrupt) {
                            Thread.currentThread().interrupt();
                        }
                        try {
                            int n = pipe.read(ByteBuffer.allocate(8), 0);
                            outcome.set(index, new AssertionError("read " + n + " bytes nobody wrote"));
                        } catch (Throwable t) {
                            outcome.set(index, t);
                            if (index == 0) {
                                firstKeptInterrupt.set(Thread.currentThread().isInterrupted());
                            }
                        }
                    }));
                }
                if (selfInterrupt) {
                    go.countDown();
                    int victimAfter = 1 + random.nextInt(readers - 1);
                    for (int i = 1; i < readers; i++) {
                        threads.get(i).start();
                        if (i == victimAfter) {
                            spinMicros(random.nextInt(10));
                            threads.get(0).start();
                        }
                    }
                } else {
                    for (Thread t : threads) {
                        t.start();
                    }
                    go.countDown();
                    spinMicros(random.nextInt(150));
                    if (closeInstead) {
                        pipe.close();
                    } else {
                        threads.get(0).interrupt();
                    }
                }
                int r0 = round;
                assertAllEnd(threads, Duration.ofSeconds(3), () -> "round " + r0 + ", reader 0 interrupted and ended with "
                        + outcome.get(0) + "; file " + (pipe.isOpen() ? "open" : "closed")
                        + ", descriptor " + fd + (Descriptors.isOpenOn(fd, fifo) ? " still open" : " closed")
                        + ", requests pending " + engine.pendingCount() + ", in the kernel "
                        + engine.core().ring(0).inKernel());
                if (!closeInstead) {
                    assertThat(outcome.get(0)).as("round %d: the interrupted reader", round)
                            .isInstanceOf(ClosedByInterruptException.class);
                    assertThat(firstKeptInterrupt.get()).as("interrupt status kept").isTrue();
                }
                for (int i = closeInstead ? 0 : 1; i < readers; i++) {
                    assertThat(isCloseOutcome(outcome.get(i))).as("round %d, reader %d: %s", round, i, outcome.get(i))
                            .isTrue();
                }
                TestSupport.settle(() -> !Descriptors.isOpenOn(fd, fifo) && engine.pendingCount() == 0, BOUND);
                assertThat(Descriptors.isOpenOn(fd, fifo)).as("round %d: descriptor %d closed", round, fd).isFalse();
                assertThat(engine.pendingCount()).isZero();
            }
            assertThat(engine.core().pool().outstandingBuffers()).isZero();
        }
    }

    /**
     * The deterministic form of the race above: a FIFO reader holds its slot but is held on its way
     * to the ring (as a thread the scheduler deschedules there) while another reader of the file is
     * interrupted, whose close cancels the file's requests once and returns without waiting. The
     * held reader reaches the ring only after that: it must still end (AsynchronousCloseException)
     * and the descriptor be closed by the last to leave. Until 2026-12-06 the interrupt's close
     * cancelled again for 2 ms only, so a reader held longer waited for ever.
     */
    @Test
    void aReaderDescheduledOnItsWayToTheRingIsWokenByAnInterruptsClose() throws Exception {
        readerHeldOnItsWayToTheRing(false);
    }

    /** The same reader held while another thread's {@code close()} runs (and waits for it). */
    @Test
    void aReaderDescheduledOnItsWayToTheRingIsWokenByAClose() throws Exception {
        readerHeldOnItsWayToTheRing(true);
    }

    private void readerHeldOnItsWayToTheRing(boolean closeInstead) throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
            int fd = pipe.fd();
            CountDownLatch heldAtTheRing = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            engine.core().ring(0).beforeRingForTests = () -> {
                if (Thread.currentThread().getName().equals("held")) {
                    heldAtTheRing.countDown();
                    boolean interrupted = false;
                    while (true) {
                        try {
                            release.await();
                            break;
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                    }
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            };
            AtomicReferenceArray<Throwable> outcome = new AtomicReferenceArray<>(2);
            Thread held = Thread.ofVirtual().name("held").start(() -> outcome.set(0, readNothing(pipe)));
            assertThat(heldAtTheRing.await(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            Thread other = Thread.ofVirtual().name("other").start(() -> outcome.set(1, readNothing(pipe)));
            TestSupport.settle(() -> engine.core().ring(0).inKernel() == 1, BOUND); // the other's read waits for data
            Thread closer;
            if (closeInstead) {
                closer = Thread.ofVirtual().start(() -> {
                    try {
                        pipe.close();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                TestSupport.settle(() -> outcome.get(1) != null, BOUND); // the close cancelled the other's read
            } else {
                closer = other;
                other.interrupt();
                assertAllEnd(List.of(other), BOUND, "the interrupted reader");
                assertThat(outcome.get(1)).isInstanceOf(ClosedByInterruptException.class);
            }
            assertThat(Descriptors.isOpenOn(fd, fifo)).as("descriptor kept open for the held reader").isTrue();
            release.countDown(); // the held reader's request reaches the ring after the close's cancel
            assertAllEnd(List.of(held, closer), BOUND, () -> "the held reader; descriptor " + fd
                    + (Descriptors.isOpenOn(fd, fifo) ? " still open" : " closed") + ", in the kernel "
                    + engine.core().ring(0).inKernel());
            assertThat(isCloseOutcome(outcome.get(0))).as("held reader: %s", outcome.get(0)).isTrue();
            if (closeInstead) {
                assertThat(isCloseOutcome(outcome.get(1))).as("other reader: %s", outcome.get(1)).isTrue();
            }
            TestSupport.settle(() -> !Descriptors.isOpenOn(fd, fifo) && engine.pendingCount() == 0, BOUND);
            assertThat(Descriptors.isOpenOn(fd, fifo)).as("descriptor %d closed", fd).isFalse();
            assertThat(engine.pendingCount()).isZero();
        }
    }

    /**
     * A close while the poller gathers a batch: the poller has put a future read of a FIFO into an
     * SQE but not yet entered the kernel (it takes another pass for more requests) when the close's
     * cancellation runs on the ring. The read must reach the kernel, and be cancelled there, before
     * the close returns and {@code close(2)} frees its number (a close waits for its blocking
     * reads, not for callback and future requests). Until 2026-12-06 the cancellation returned with
     * both SQEs unsubmitted, and the read went in after the close: on whatever file took the number
     * since (here a decoy full of data, whose bytes it returned), or failing with EBADF.
     */
    @Test
    void aCloseWhileThePollerGathersABatchSubmitsTheGatheredReadBeforeTheNumberIsFreed() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path decoy = filled("decoy", 1, 7);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             Arena arena = Arena.ofShared()) {
            AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
            int fd = pipe.fd();
            io.auraio.internal.engine.RingPoller ring = engine.core().ring(0);
            CountDownLatch closed = new CountDownLatch(1);
            long giveUp = System.nanoTime() + BOUND.toNanos();
            CountDownLatch gathering = AsyncFixtures.gatherUntil(ring, closed, giveUp);
            java.util.concurrent.CompletableFuture<Long> read;
            List<FileChannel> decoys = new ArrayList<>();
            try {
                read = engine.readAsync(fd, BufferRef.of(arena.allocate(16)), 16, 0);
                assertThat(gathering.await(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS))
                        .as("the poller filled the read's SQE").isTrue();
                Thread closer = Thread.ofVirtual().start(() -> {
                    try {
                        pipe.close();
                        // The lowest free number: the one the close freed, unless another thread of
                        // the JVM took it first (the read would then fail with EBADF instead).
                        decoys.add(FileChannel.open(decoy, READ));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    } finally {
                        closed.countDown();
                    }
                });
                assertAllEnd(List.of(closer), BOUND, () -> "the closer; in the kernel " + ring.inKernel());
                assertThat(System.nanoTime()).as("the close returned while the poller gathered").isLessThan(giveUp);
                try {
                    Long n = read.get(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
                    throw new AssertionError("the read returned " + n + " bytes (of the file that took number "
                            + fd + ")");
                } catch (java.util.concurrent.ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
                    assertThat(((AuraIOException) e.getCause()).isCancelled())
                            .as("the gathered read: %s", e.getCause()).isTrue();
                }
            } finally {
                ring.gatherForTests = null;
                for (FileChannel c : decoys) {
                    c.close();
                }
            }
            TestSupport.settle(() -> engine.pendingCount() == 0, BOUND);
        }
    }

    /**
     * The same window for a registered file's slot: a future read of file A through its slot sits
     * filled in an SQE while {@link Engine#updateFile} puts file B in that slot. The read was asked
     * of A and must read A; until 2026-12-07 the update ran first and the read returned B's bytes.
     */
    @Test
    void aSlotUpdatedWhileThePollerGathersABatchLeavesTheGatheredReadOnItsFile() throws Exception {
        byte[] a = TestSupport.randomBytes(BLOCK, 1);
        Path fileA = dir.resolve("a");
        Files.write(fileA, a);
        Path fileB = filled("b", 1, 2);
        int fdA = Posix.open(fileA, Posix.O_RDONLY);
        int fdB = Posix.open(fileB, Posix.O_RDONLY);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             Arena arena = Arena.ofShared()) {
            engine.registerFiles(fdA);
            io.auraio.internal.engine.RingPoller ring = engine.core().ring(0);
            CountDownLatch updated = new CountDownLatch(1);
            long giveUp = System.nanoTime() + BOUND.toNanos();
            CountDownLatch gathering = AsyncFixtures.gatherUntil(ring, updated, giveUp);
            try {
                MemorySegment buffer = arena.allocate(BLOCK);
                java.util.concurrent.CompletableFuture<Long> read =
                        engine.readAsync(fdA, BufferRef.of(buffer), BLOCK, 0);
                assertThat(gathering.await(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS))
                        .as("the poller filled the read's SQE").isTrue();
                Thread updater = Thread.ofVirtual().start(() -> {
                    try {
                        engine.updateFile(0, fdB);
                    } catch (AuraIOException e) {
                        throw new java.io.UncheckedIOException(e);
                    } finally {
                        updated.countDown();
                    }
                });
                assertAllEnd(List.of(updater), BOUND, "the update");
                assertThat(System.nanoTime()).as("the update returned while the poller gathered").isLessThan(giveUp);
                assertThat(read.get(BOUND.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(BLOCK);
                byte[] got = buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                assertThat(Arrays.equals(got, a)).as("the read returned file A's bytes (B's: %s)",
                        Arrays.equals(got, Files.readAllBytes(fileB))).isTrue();
            } finally {
                ring.gatherForTests = null;
            }
        } finally {
            Posix.close(fdA);
            Posix.close(fdB);
        }
    }

    /** Reads a FIFO nobody writes. {@return what ended the read} */
    private static Throwable readNothing(AuraFile pipe) {
        try {
            int n = pipe.read(ByteBuffer.allocate(8), 0);
            return new AssertionError("read " + n + " bytes nobody wrote");
        } catch (Throwable t) {
            return t;
        }
    }

    // ---------------------------------------------------------------- FIFO data under close races

    /**
     * 8-byte records (sequence numbers) written at a steady pace into a FIFO that 8 virtual
     * threads read through one AuraFile with buffers of 1-8 records, while the file is closed at a
     * random moment; the rest is drained afterwards through another descriptor. Every record must
     * be read exactly once: by a successful read (in order within that read) or by the drain. A
     * read the close cancels must not have taken data; one that took data must return it.
     */
    @Test
    void fifoReadsRacingACloseLoseAndDuplicateNothing() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Random random = new Random(42);
        int records = 3000; // 24 KB: the pipe (64 KiB) never fills, so the writer never waits
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FileChannel keeper = FileChannel.open(fifo, READ, WRITE)) {
            long seq = 1;
            for (int round = 0; round < 30; round++) {
                AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
                Queue<long[]> chunks = new ConcurrentLinkedQueue<>();
                Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                long first = seq;
                for (int i = 0; i < 8; i++) {
                    long readerSeed = random.nextLong();
                    threads.add(Thread.ofVirtual().name("reader-" + i).start(() -> {
                        Random r = new Random(readerSeed);
                        try {
                            while (true) {
                                ByteBuffer b = r.nextBoolean() ? ByteBuffer.allocate(8 * (1 + r.nextInt(8)))
                                        : ByteBuffer.allocateDirect(8 * (1 + r.nextInt(8)));
                                int n = pipe.read(b, 0);
                                if (n % 8 != 0) {
                                    failures.add(new AssertionError("a read of " + n + " bytes"));
                                    return;
                                }
                                b.flip();
                                long[] chunk = new long[n / 8];
                                for (int k = 0; k < chunk.length; k++) {
                                    chunk[k] = b.getLong();
                                }
                                chunks.add(chunk);
                            }
                        } catch (Throwable t) {
                            if (!isCloseOutcome(t)) {
                                failures.add(t);
                            }
                        }
                    }));
                }
                long start = seq;
                Thread writer = Thread.ofPlatform().name("writer").start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(8);
                    try {
                        for (long s = start; s < start + records; s++) {
                            b.clear();
                            b.putLong(s).flip();
                            while (b.hasRemaining()) {
                                keeper.write(b);
                            }
                            if ((s & 7) == 0) {
                                spinMicros(3);
                            }
                        }
                    } catch (IOException e) {
                        failures.add(e);
                    }
                });
                Thread.sleep(random.nextInt(4));
                spinMicros(random.nextInt(1000));
                pipe.close();
                threads.add(writer);
                assertAllEnd(threads, BOUND, "round " + round + " after the close");
                seq += records;
                // The rest, through the other descriptor, up to a sentinel.
                ByteBuffer end = ByteBuffer.allocate(8).putLong(-1).flip();
                while (end.hasRemaining()) {
                    keeper.write(end);
                }
                List<Long> drained = new ArrayList<>();
                ByteBuffer b = ByteBuffer.allocate(8);
                Thread drainer = Thread.ofPlatform().start(() -> {
                    try {
                        while (true) {
                            b.clear();
                            while (b.hasRemaining()) {
                                keeper.read(b);
                            }
                            long v = b.flip().getLong();
                            if (v == -1) {
                                return;
                            }
                            drained.add(v);
                        }
                    } catch (IOException e) {
                        failures.add(e);
                    }
                });
                assertAllEnd(List.of(drainer), BOUND, "draining round " + round);
                assertThat(failures).as("round %d", round).isEmpty();
                Set<Long> seen = new HashSet<>();
                List<Long> duplicates = new ArrayList<>();
                for (long[] chunk : chunks) {
                    for (int k = 0; k < chunk.length; k++) {
                        if (k > 0) {
                            assertThat(chunk[k]).as("round %d: records of one read in order", round)
                                    .isEqualTo(chunk[k - 1] + 1);
                        }
                        if (!seen.add(chunk[k])) {
                            duplicates.add(chunk[k]);
                        }
                    }
                }
                for (long v : drained) {
                    if (!seen.add(v)) {
                        duplicates.add(v);
                    }
                }
                assertThat(duplicates).as("round %d: records read twice", round).isEmpty();
                List<Long> missing = new ArrayList<>();
                for (long s = first; s < first + records; s++) {
                    if (!seen.contains(s)) {
                        missing.add(s);
                    }
                }
                assertThat(missing).as("round %d: records lost (%d read by reads, %d drained)", round,
                        seen.size() - drained.size(), drained.size()).isEmpty();
                assertThat(seen).hasSize(records);
                assertThat(engine.pendingCount()).isZero();
            }
            assertThat(engine.core().pool().outstandingBuffers()).isZero();
        }
    }

    /**
     * The writing side: 6 virtual threads write 8-byte records (each its own numbers, 64 a write) into a FIFO
     * through one AuraFile while a slow reader on another descriptor keeps the pipe mostly full
     * (so writes wait in the kernel for room), and the file is closed at a random moment. A write
     * that returned 8 must arrive exactly once; a write that threw must not arrive at all (the
     * close's cancel of a write waiting for room must not have written it).
     */
    @Test
    void fifoWritesRacingACloseArriveExactlyWhenTheyReturned() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo-w"));
        Random random = new Random(43);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FileChannel keeper = FileChannel.open(fifo, READ, WRITE);
             // Its own channel: FileChannel's relative reads and writes share one lock.
             FileChannel sentinelWriter = FileChannel.open(fifo, READ, WRITE)) {
            int waitingAtClose = 0;
            for (int round = 0; round < 8; round++) {
                AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
                Queue<Long> returned = new ConcurrentLinkedQueue<>();
                Queue<Long> threw = new ConcurrentLinkedQueue<>();
                Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                for (int w = 0; w < 6; w++) {
                    long base = ((long) round << 40) | ((long) (w + 1) << 32);
                    threads.add(Thread.ofVirtual().name("writer-" + w).start(() -> {
                        // 64 records (512 bytes, under PIPE_BUF: written whole or not at all) per write.
                        for (long k = 0; ; k += 64) {
                            ByteBuffer b = ByteBuffer.allocate(512);
                            for (int j = 0; j < 64; j++) {
                                b.putLong(base | (k + j));
                            }
                            b.flip();
                            try {
                                int n = pipe.write(b, 0);
                                if (n != 512) {
                                    failures.add(new AssertionError("a write of " + n + " bytes"));
                                    return;
                                }
                                for (int j = 0; j < 64; j++) {
                                    returned.add(base | (k + j));
                                }
                            } catch (Throwable t) {
                                if (!isCloseOutcome(t)) {
                                    failures.add(t);
                                }
                                for (int j = 0; j < 64; j++) {
                                    threw.add(base | (k + j));
                                }
                                return;
                            }
                        }
                    }));
                }
                List<Long> received = java.util.Collections.synchronizedList(new ArrayList<>());
                Thread reader = Thread.ofPlatform().name("slow-reader").start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(8 * 16);
                    try {
                        while (true) {
                            b.clear();
                            keeper.read(b);
                            b.flip();
                            while (b.remaining() >= 8) {
                                long v = b.getLong();
                                received.add(v);
                                if (v == -1) {
                                    return;
                                }
                            }
                            if (b.hasRemaining()) {
                                failures.add(new AssertionError("a read of a partial record"));
                                return;
                            }
                            if (pipe.isOpen()) {
                                spinMicros(1000); // slow while the writers write: the pipe fills
                            }
                        }
                    } catch (IOException e) {
                        failures.add(e);
                    }
                });
                if (round % 2 == 1) {
                    // The pipe full: writes wait in the kernel for room when the close comes.
                    TestSupport.settle(() -> engine.core().ring(0).inKernel() > 0, BOUND);
                    spinMicros(random.nextInt(2000));
                } else {
                    Thread.sleep(1 + random.nextInt(40));
                }
                waitingAtClose += engine.core().ring(0).inKernel();
                pipe.close();
                assertAllEnd(threads, BOUND, "writers of round " + round + " after the close");
                // The rest, up to a sentinel the keeper writes after every writer has ended.
                ByteBuffer end = ByteBuffer.allocate(8).putLong(-1).flip();
                Thread sentinel = Thread.ofPlatform().start(() -> {
                    try {
                        while (end.hasRemaining()) {
                            sentinelWriter.write(end);
                        }
                    } catch (IOException e) {
                        failures.add(e);
                    }
                });
                assertAllEnd(List.of(sentinel, reader), BOUND, "draining round " + round);
                assertThat(failures).as("round %d", round).isEmpty();
                assertThat(received).last().isEqualTo(-1L);
                List<Long> got = new ArrayList<>(received.subList(0, received.size() - 1));
                assertThat(new HashSet<>(got)).as("round %d: no record twice", round).hasSize(got.size());
                assertThat(new HashSet<>(got)).as("round %d: every returned write arrived, nothing else", round)
                        .isEqualTo(new HashSet<>(returned));
                assertThat(threw).as("round %d: writes that threw", round).doesNotContainAnyElementsOf(got);
                assertThat(engine.pendingCount()).isZero();
            }
            assertThat(engine.core().pool().outstandingBuffers()).isZero();
            assertThat(waitingAtClose).as("writes waiting in the kernel for room when the file was closed").isPositive();
        }
    }

    // --------------------------------------------------- interrupts, held back at a limit of 1

    /**
     * A limit of 1 on one ring: 24 virtual threads read cold files (their own, O_DIRECT for half)
     * in loops, so most requests are held back by the poller; four of them share one FIFO file
     * (exempt from the limit), and a callback reader keeps a request of the callback API on the
     * same ring. Threads are interrupted at random moments. Every interrupted thread ends with
     * ClosedByInterruptException and its interrupt status kept; the others of a file an interrupt
     * closed with AsynchronousCloseException or ClosedChannelException; no read returns wrong
     * bytes; afterwards nothing is pending, every pool buffer is back, no descriptor is left and
     * the ring still serves.
     */
    @Test
    void interruptsAtRandomMomentsOfHeldBackColdAndDirectReadersEndEachCallOnce() throws Exception {
        interruptRounds(tinyLimit(), 7);
    }

    /**
     * As above with a queue depth of 2: most readers park at the admission gate (no free slot),
     * so interrupts also land on threads waiting there and on the gate's grants.
     */
    @Test
    void interruptsAtRandomMomentsOfReadersQueuedAtTheGateEndEachCallOnce() throws Exception {
        interruptRounds(Options.builder().ringCount(1).queueDepth(2).disableAdaptive(true).initialInFlight(1)
                .minInFlight(1).build(), 8);
    }

    private void interruptRounds(Options options, long baseSeed) throws Exception {
        Random random = new Random(baseSeed);
        int workers = 24;
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            paths.add(filled("cold-" + baseSeed + "-" + i, 16, i));
        }
        Path fifo = Fifo.create(dir.resolve("fifo-" + baseSeed));
        Map<Integer, String> fdsBefore = Descriptors.open();
        try (Engine engine = Engine.create(options); Arena arena = Arena.ofShared()) {
            for (int round = 0; round < 5; round++) {
                for (Path p : paths) {
                    Posix.dropCachedPages(p);
                }
                AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
                List<AuraFile> files = new ArrayList<>();
                for (int i = 0; i < workers; i++) {
                    files.add(i % 2 == 0 ? AuraFile.open(engine, paths.get(i), READ, Direct.DIRECT)
                            : AuraFile.open(engine, paths.get(i), READ));
                }
                AtomicReferenceArray<Throwable> outcome = new AtomicReferenceArray<>(workers + 4);
                AtomicReferenceArray<Boolean> keptInterrupt = new AtomicReferenceArray<>(workers + 4);
                Queue<Throwable> wrong = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < workers; i++) {
                    int index = i;
                    AuraFile f = files.get(i);
                    byte[] expected = Files.readAllBytes(paths.get(i));
                    long seed = random.nextLong();
                    threads.add(Thread.ofVirtual().name("worker-" + i).start(() -> {
                        Random r = new Random(seed);
                        try {
                            MemorySegment buf = Direct.aligned(arena, BLOCK);
                            while (true) {
                                int block = r.nextInt(16);
                                int n = f.read(buf, (long) block * BLOCK);
                                if (n != BLOCK || !Arrays.equals(buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                                        Arrays.copyOfRange(expected, block * BLOCK, (block + 1) * BLOCK))) {
                                    wrong.add(new AssertionError("worker " + index + ": block " + block + " read " + n));
                                }
                            }
                        } catch (Throwable t) {
                            outcome.set(index, t);
                            keptInterrupt.set(index, Thread.currentThread().isInterrupted());
                        }
                    }));
                }
                for (int i = 0; i < 4; i++) {
                    int index = workers + i;
                    threads.add(Thread.ofVirtual().name("fifo-reader-" + i).start(() -> {
                        try {
                            int n = pipe.read(ByteBuffer.allocate(8), 0);
                            outcome.set(index, new AssertionError("read " + n + " bytes nobody wrote"));
                        } catch (Throwable t) {
                            outcome.set(index, t);
                            keptInterrupt.set(index, Thread.currentThread().isInterrupted());
                        }
                    }));
                }
                // The callback API on the same ring: reads of file 1 (held back like the others).
                AtomicInteger callbacks = new AtomicInteger();
                AtomicInteger submitted = new AtomicInteger();
                AtomicBoolean stopCallbacks = new AtomicBoolean();
                int cbFd = Posix.open(paths.get(1), Posix.O_RDONLY);
                Thread callbackThread = Thread.ofPlatform().name("callbacks").start(() -> {
                    MemorySegment buf = arena.allocate(BLOCK);
                    try {
                        while (!stopCallbacks.get()) {
                            try {
                                engine.read(cbFd, BufferRef.of(buf), BLOCK, 0, (req, res) -> callbacks.incrementAndGet());
                                submitted.incrementAndGet();
                            } catch (AuraIOException e) {
                                if (!e.isAgain()) {
                                    wrong.add(e);
                                    return;
                                }
                            }
                            engine.await(1);
                        }
                    } catch (Throwable t) {
                        wrong.add(t);
                    }
                });
                // Interrupt every thread once, at random moments over ~20 ms.
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < threads.size(); i++) {
                    order.add(i);
                }
                java.util.Collections.shuffle(order, random);
                for (int i : order) {
                    spinMicros(random.nextInt(1500));
                    threads.get(i).interrupt();
                }
                assertAllEnd(threads, BOUND, "round " + round + " after interrupting every thread");
                stopCallbacks.set(true);
                assertAllEnd(List.of(callbackThread), BOUND, "callback thread");
                assertThat(engine.drain(BOUND.toMillis())).isNotNegative();
                assertThat(callbacks.get()).as("callbacks run once each").isEqualTo(submitted.get());
                Posix.close(cbFd);
                assertThat(wrong).as("round %d", round).isEmpty();
                for (int i = 0; i < threads.size(); i++) {
                    Throwable t = outcome.get(i);
                    // Each thread was interrupted; an interrupt may also come after its file was
                    // closed by another (the FIFO's readers share one): then the close's exception.
                    boolean ok = t instanceof ClosedByInterruptException
                            || (i >= workers && isCloseOutcome(t));
                    assertThat(ok).as("round %d, thread %d: %s", round, i, t).isTrue();
                    if (t instanceof ClosedByInterruptException) {
                        assertThat(keptInterrupt.get(i)).as("round %d, thread %d keeps its interrupt", round, i)
                                .isTrue();
                    }
                }
                for (AuraFile f : files) {
                    assertThat(f.isOpen()).isFalse();
                }
                TestSupport.settle(() -> engine.pendingCount() == 0, BOUND);
                assertThat(engine.pendingCount()).as("round %d: pending", round).isZero();
                pipe.close();
            }
            assertThat(engine.core().pool().outstandingBuffers()).isZero();
            // The ring still serves.
            try (AuraFile f = AuraFile.open(engine, paths.get(0), READ)) {
                ByteBuffer b = ByteBuffer.allocate(BLOCK);
                assertThat(f.read(b, 0)).isEqualTo(BLOCK);
            }
        }
        Descriptors.awaitNoneNew(fdsBefore, "interrupts of readers queued at the gate");
    }

    // ------------------------------------------------------- closes of the file at random moments

    /**
     * A limit of 1: 16 virtual threads read and write one O_DIRECT file and one buffered (cold)
     * file in loops, through two AuraFiles, while another thread closes each file at a random
     * moment (and reopens it, 6 rounds). Each call completes with correct data, or throws
     * AsynchronousCloseException / ClosedChannelException; none stays parked.
     */
    @Test
    void closesAtRandomMomentsEndHeldBackAndInKernelRequests() throws Exception {
        Random random = new Random(99);
        Path direct = filled("direct", 32, 1);
        Path cold = filled("cold", 32, 2);
        byte[] directBytes = Files.readAllBytes(direct);
        byte[] coldBytes = Files.readAllBytes(cold);
        Map<Integer, String> fdsBefore = Descriptors.open();
        try (Engine engine = Engine.create(tinyLimit()); Arena arena = Arena.ofShared()) {
            for (int round = 0; round < 40; round++) {
                Posix.dropCachedPages(cold);
                AuraFile d = AuraFile.open(engine, direct, READ, WRITE, Direct.DIRECT);
                AuraFile c = AuraFile.open(engine, cold, READ, WRITE);
                Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
                List<Thread> threads = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    boolean useDirect = i % 2 == 0;
                    AuraFile f = useDirect ? d : c;
                    byte[] expected = useDirect ? directBytes : coldBytes;
                    long seed = random.nextLong();
                    threads.add(Thread.ofVirtual().name("worker-" + i).start(() -> {
                        Random r = new Random(seed);
                        MemorySegment buf = Direct.aligned(arena, BLOCK);
                        try {
                            while (true) {
                                int block = r.nextInt(32);
                                MemorySegment want = MemorySegment.ofArray(
                                        Arrays.copyOfRange(expected, block * BLOCK, (block + 1) * BLOCK));
                                if (r.nextInt(4) == 0) {
                                    // Rewrite the block with its own bytes: reads stay checkable.
                                    buf.copyFrom(want);
                                    int n = f.write(buf, (long) block * BLOCK);
                                    if (n != BLOCK) {
                                        failures.add(new AssertionError("short write " + n));
                                    }
                                } else {
                                    int n = f.read(buf, (long) block * BLOCK);
                                    if (n != BLOCK || buf.mismatch(want) != -1) {
                                        failures.add(new AssertionError("block " + block + " read " + n));
                                    }
                                }
                            }
                        } catch (Throwable t) {
                            if (!isCloseOutcome(t)) {
                                failures.add(t);
                            }
                        }
                    }));
                }
                spinMicros(random.nextInt(3000));
                d.close();
                spinMicros(random.nextInt(500));
                c.close();
                assertAllEnd(threads, BOUND, "round " + round + " after both closes");
                assertThat(failures).as("round %d", round).isEmpty();
                TestSupport.settle(() -> engine.pendingCount() == 0, BOUND);
                assertThat(engine.pendingCount()).isZero();
            }
            assertThat(engine.core().pool().outstandingBuffers()).isZero();
        }
        Descriptors.assertNoneNew(fdsBefore, "closes at random moments");
    }

    // --------------------------------------------------------- Engine.close() at random moments

    /**
     * Engine.close() at a random moment of a mixed load on one ring at a limit of 1: FIFO readers
     * and writers, cold and O_DIRECT readers (most held back), threads parked for admission
     * (queue depth 4, so the gate queues), callback reads. close() returns; every thread ends with
     * data or a shutdown/close exception; every callback runs once; no descriptor or pool buffer
     * is left.
     */
    @Test
    void engineCloseAtRandomMomentsEndsEveryCallerOnce() throws Exception {
        Random random = new Random(5);
        Path cold = filled("cold", 32, 3);
        Path direct = filled("direct", 32, 4);
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Map<Integer, String> fdsBefore = Descriptors.open();
        for (int round = 0; round < 20; round++) {
            Posix.dropCachedPages(cold);
            Engine engine = Engine.create(Options.builder().ringCount(1).queueDepth(4).disableAdaptive(true)
                    .initialInFlight(1).minInFlight(1).build());
            Arena arena = Arena.ofShared();
            AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
            AuraFile c = AuraFile.open(engine, cold, READ);
            AuraFile d = AuraFile.open(engine, direct, READ, Direct.DIRECT);
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int kind = i % 4;
                long seed = random.nextLong();
                threads.add(Thread.ofVirtual().name("worker-" + i + "-kind-" + kind).start(() -> {
                    Random r = new Random(seed);
                    MemorySegment buf = Direct.aligned(arena, BLOCK);
                    try {
                        while (true) {
                            switch (kind) {
                                case 0 -> pipe.read(ByteBuffer.allocate(8), 0);
                                case 1 -> pipe.write(ByteBuffer.allocate(8), 0);
                                case 2 -> c.read(buf, (long) r.nextInt(32) * BLOCK);
                                default -> d.read(buf, (long) r.nextInt(32) * BLOCK);
                            }
                        }
                    } catch (Throwable t) {
                        if (!isShutdownOutcome(t)) {
                            failures.add(t);
                        }
                    }
                }));
            }
            AtomicInteger callbacks = new AtomicInteger();
            AtomicInteger submitted = new AtomicInteger();
            Thread callbackThread = Thread.ofPlatform().start(() -> {
                MemorySegment buf = arena.allocate(BLOCK);
                try {
                    while (true) {
                        try {
                            engine.read(c.fd(), BufferRef.of(buf), BLOCK, 0, (req, res) -> callbacks.incrementAndGet());
                            submitted.incrementAndGet();
                        } catch (AuraIOException e) {
                            if (!e.isAgain()) {
                                throw e;
                            }
                        }
                        engine.await(1);
                    }
                } catch (AuraIOException e) {
                    if (!e.isShutdown()) {
                        failures.add(e);
                    }
                } catch (IllegalStateException | InterruptedException e) {
                    // the engine closed under await
                } catch (Throwable t) {
                    failures.add(t);
                }
            });
            spinMicros(random.nextInt(5000));
            Thread closer = Thread.ofPlatform().start(engine::close);
            threads.add(closer);
            threads.add(callbackThread);
            assertAllEnd(threads, BOUND, "round " + round + " after Engine.close()");
            assertThat(failures).as("round %d", round).isEmpty();
            assertThat(callbacks.get()).as("round %d: callbacks run once each", round).isEqualTo(submitted.get());
            assertThat(engine.pendingCount()).isZero();
            assertThat(engine.core().pool().outstandingBuffers()).isZero();
            pipe.close();
            c.close();
            d.close();
            arena.close();
        }
        Descriptors.awaitNoneNew(fdsBefore, "engine closes at random moments");
    }
}
