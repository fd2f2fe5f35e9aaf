package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.testing.ExitingThread;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The caller-side submit ({@link RingConfig#callerSubmit}): a thread running a blocking read
 * enters the kernel itself while the poller sleeps. Real rings, real files, real threads; the bytes
 * the file was written with are the oracle.
 */
@ExtendWith(IoUringAvailable.class)
class CallerSubmitTest {
    private static final int FILE_BYTES = 1 << 20;
    private static final int BLOCK = 4096;
    /** 64 slots, a fixed limit of 64 (adaptive tuning off), no SQPOLL, non-daemon pollers. */
    private static final RingConfig CONFIG = new RingConfig(64, 64, 4, 0, false, false, 0, false, true, true);

    @TempDir
    Path dir;
    private Path file;
    private byte[] content;
    private int fd = -1;
    private IoEngine engine;

    @BeforeEach
    void createFile() throws Exception {
        content = new byte[FILE_BYTES];
        new Random(42).nextBytes(content);
        file = Files.write(dir.resolve("data"), content);
        fd = Libc.open(file.toString(), OpenFlags.O_RDONLY, 0);
        assertThat(fd).isGreaterThanOrEqualTo(0);
    }

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
        if (fd >= 0) {
            Libc.close(fd);
        }
    }

    /** {@return a descriptor of a new FIFO, opened for reading and writing: its own writer, so the open does not wait} */
    private int openFifo() throws Exception {
        int fifoFd = Libc.open(Fifo.create(dir.resolve("fifo")).toString(), OpenFlags.O_RDWR, 0);
        assertThat(fifoFd).isNotNegative();
        return fifoFd;
    }

    /**
     * Reads {@code reads} random blocks on a virtual thread of its own and checks that it ends
     * within 30 s with every block as the file has it.
     */
    private void readOnAVirtualThread(RingPoller ring, int reads, long seed) throws InterruptedException {
        List<Long> errors = new ArrayList<>();
        AtomicInteger wrong = new AtomicInteger();
        Thread t = Thread.ofVirtual().start(() -> wrong.set(readAndCompare(ring, reads, seed, errors)));
        assertThat(t.join(Duration.ofSeconds(30))).as("every read ends").isTrue();
        assertThat(errors).isEmpty();
        assertThat(wrong).hasValue(0);
    }

    /**
     * Starts {@code held} one-byte reads of the empty FIFO {@code fifoFd}, each on a virtual thread
     * storing its result in {@code results}, and waits until all of them wait in the kernel.
     * {@return the reading threads}
     */
    private static List<Thread> startFifoReadsHeldInKernel(RingPoller ring, int fifoFd, int held, Arena arena,
                                                           long[] results) throws InterruptedException {
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i < held; i++) {
            MemorySegment buffer = arena.allocate(1);
            int index = i;
            readers.add(Thread.ofVirtual().start(() -> results[index] = ring.execute(Opcode.READ, 0, fifoFd, 0,
                    buffer.address(), 1, 0, 0, false, false)));
        }
        TestSupport.settle(() -> ring.inKernel() >= held, Duration.ofSeconds(30));
        assertThat(ring.inKernel()).as("the FIFO reads wait in the kernel").isEqualTo(held);
        return readers;
    }

    /** Reads {@code reads} random blocks on the calling thread; {@return how many differed from the file} */
    private int readAndCompare(RingPoller ring, int reads, long seed, List<Long> errors) {
        AtomicInteger wrong = new AtomicInteger();
        errors.addAll(readBlocks(ring, fd, reads, seed, wrong));
        return wrong.get();
    }

    @Test
    void aLoneVirtualThreadsReadsAreSubmittedByItselfAndReturnTheFilesBytes() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        assertThat(ring.callerRingSetupFlags() & (IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN
                | IoUring.SETUP_COOP_TASKRUN)).as("a caller ring any thread may submit to").isZero();
        assertThat(ring.setupFlags() & IoUring.SETUP_SQPOLL).isZero();
        readOnAVirtualThread(ring, 500, 1);
        assertThat(ring.opsCompleted()).isEqualTo(500);
        // The poller sleeps between one thread's reads, so nearly every read finds the lock free.
        assertThat(ring.callerSubmits()).isGreaterThan(250);
        assertThat(ring.sqesSubmitted()).isEqualTo(500);
        assertThat(ring.inUse()).isZero();
        assertThat(ring.inKernel()).isZero();
    }

    @Test
    void withTheOptionOffEveryRequestGoesThroughThePoller() throws Exception {
        engine = IoEngine.start(1, CONFIG.withCallerSubmit(false), IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        readOnAVirtualThread(ring, 200, 2);
        assertThat(ring.callerSubmits()).isZero();
        assertThat(ring.sqesSubmitted()).isEqualTo(200);
    }

    /**
     * A request the caller put into the ring belongs, for the kernel, to the thread that entered
     * with it: a carrier the scheduler retires (idle 30 s, while its virtual thread stayed parked on
     * a request that long) takes with it what is still queued or polled, completed with ECANCELED
     * though nobody cancelled it (IoUringTest). The waiting thread must not see that: the request is
     * submitted again by the poller, and the read returns the data once it comes. A carrier cannot
     * be retired on demand: through {@link RingPoller#submitterForTests}, {@link ExitingThread}
     * submits on a platform thread that has exited before the data comes.
     */
    @Test
    void aRequestCancelledBecauseItsSubmittingThreadExitedIsSubmittedAgainByThePoller() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        ring.submitterForTests = ExitingThread::run;
        int fifoFd = openFifo();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            long[] result = new long[1];
            int exitedBefore = ExitingThread.EXITED.get();
            // Not marked as one that may wait forever, as a read of a regular file on a stalled
            // disk is not.
            Thread reader = Thread.ofVirtual().start(() -> result[0] = ring.execute(Opcode.READ, 0, fifoFd, 0,
                    buffer.address(), 16, 0, 0, false, false));
            TestSupport.settle(() -> ExitingThread.EXITED.get() != exitedBefore, Duration.ofSeconds(30));
            assertThat(ring.callerSubmits()).isEqualTo(1);
            MemorySegment data = arena.allocate(16);
            data.fill((byte) 7);
            assertThat(Libc.write(fifoFd, data, 16)).isEqualTo(16);
            assertThat(reader.join(Duration.ofSeconds(30))).isTrue();
            assertThat(result[0]).as("the read's result").isEqualTo(16);
            assertThat(ring.resubmittedAfterKernelCancel()).as("cancelled by the kernel, submitted again").isEqualTo(1);
            assertThat(buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsOnly((byte) 7);
            assertThat(ring.inUse()).isZero();
        } finally {
            Libc.close(fifoFd);
        }
    }

    /**
     * A caller polling for a request that does not end lets its CPU go every few microseconds: a
     * thread woken onto a CPU whose carrier spins (the JDK's timer thread, a ring's poller) waits
     * otherwise until the spin ends, since the kernel lets the running thread finish its slice
     * first. An empty FIFO's read is polled for the whole polling time, then parked on; the data
     * written afterwards still ends it. Reads go on until one yielded, for 5 s at most: a poll whose
     * carrier the kernel takes away for its whole polling time (a busy machine) ends before its
     * first yield, and a yield that came back late pauses the yields for 50 ms.
     */
    @Test
    void aCallerPollingForARequestThatDoesNotEndLetsItsCpuGoMeanwhile() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        int fifoFd = openFifo();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            MemorySegment data = arena.allocate(16);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (int read = 1; ring.pollYields() == 0 && System.nanoTime() - until < 0; read++) {
                long[] result = new long[1];
                long submitsBefore = ring.callerSubmits();
                Thread reader = Thread.ofVirtual().start(() -> result[0] = ring.execute(Opcode.READ, 0, fifoFd, 0,
                        buffer.address(), 16, 0, 0, false, false));
                TestSupport.settle(() -> ring.callerSubmits() != submitsBefore
                        && reader.getState() == Thread.State.WAITING, Duration.ofSeconds(30));
                assertThat(reader.getState()).as("parked once its polling time is over").isEqualTo(Thread.State.WAITING);
                data.fill((byte) read);
                assertThat(Libc.write(fifoFd, data, 16)).isEqualTo(16);
                assertThat(reader.join(Duration.ofSeconds(30))).isTrue();
                assertThat(result[0]).as("the read's result").isEqualTo(16);
                assertThat(buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsOnly((byte) read);
            }
            assertThat(ring.pollYields()).as("CPU given up while polling ~200 us").isPositive();
            assertThat(ring.inUse()).isZero();
        } finally {
            Libc.close(fifoFd);
        }
    }

    /** The caller's own cancel (an interrupt) of a request it submitted still ends it: it is not submitted again. */
    @Test
    void anInterruptedCallersCancelledRequestIsNotSubmittedAgain() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        int fifoFd = openFifo();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            long[] result = new long[1];
            Thread reader = Thread.ofVirtual().start(() -> result[0] = ring.executeInterruptibly(Opcode.READ, 0, fifoFd,
                    0, buffer.address(), 16, 0, 0));
            TestSupport.settle(() -> ring.callerSubmits() != 0, Duration.ofSeconds(30));
            assertThat(ring.callerSubmits()).isEqualTo(1);
            reader.interrupt();
            assertThat(reader.join(Duration.ofSeconds(30))).isTrue();
            assertThat(result[0]).isEqualTo(-Errno.ECANCELED);
            assertThat(ring.resubmittedAfterKernelCancel()).isZero();
            assertThat(ring.inUse()).isZero();
        } finally {
            Libc.close(fifoFd);
        }
    }

    /**
     * Callers submit only to a ring that holds few requests ({@link RingPoller#CALLER_MAX_IN_USE}):
     * with more in it, a read goes to the poller's own ring, whose completions interrupt no carrier.
     * FIFO reads that wait for data hold the ring's places; the file's reads made meanwhile are all
     * the poller's, and return the file's bytes; then the FIFO reads end with the data written.
     */
    @Test
    void aRingHoldingMoreThanAFewRequestsLeavesNewOnesToThePoller() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        int fifoFd = openFifo();
        int held = RingPoller.CALLER_MAX_IN_USE + 2;
        try (Arena arena = Arena.ofShared()) {
            long[] results = new long[held];
            List<Thread> readers = startFifoReadsHeldInKernel(ring, fifoFd, held, arena, results);
            assertThat(ring.callerSubmits()).as("only while the ring held few").isBetween(0L,
                    (long) RingPoller.CALLER_MAX_IN_USE);
            long callerSubmits = ring.callerSubmits();
            long sqes = ring.sqesSubmitted();
            readOnAVirtualThread(ring, 50, 3);
            assertThat(ring.sqesSubmitted() - sqes).isEqualTo(50);
            assertThat(ring.callerSubmits()).as("no read of a busy ring submitted by its caller").isEqualTo(callerSubmits);
            MemorySegment data = arena.allocate(held);
            assertThat(Libc.write(fifoFd, data, held)).isEqualTo(held);
            for (Thread r : readers) {
                assertThat(r.join(Duration.ofSeconds(30))).isTrue();
            }
            assertThat(results).containsOnly(1L);
            assertThat(ring.inUse()).isZero();
        } finally {
            Libc.close(fifoFd);
        }
    }

    /**
     * A caller whose {@code io_uring_enter} took none of the SQEs it published (EINTR, or its passes
     * for others' SQEs ran out) leaves them to the poller: the poller, whose own enters submit only
     * its own ring, must submit what waits in the caller ring, or those reads never end.
     */
    @Test
    void sqesACallerLeftInTheCallerRingAreSubmittedByThePoller() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        ring.leaveCallerSubmitsForTests = true;
        readOnAVirtualThread(ring, 20, 4);
        assertThat(ring.callerSubmits()).as("published by the reader").isPositive();
        assertThat(ring.inUse()).isZero();
    }

    /**
     * Closing the engine while requests wait in both of a ring's io_urings (callers' reads in the
     * caller ring, the rest in the poller's): each is cancelled through the ring it is in, every
     * caller returns, and neither ring nor the eventfd stays open. A cancel sent through the wrong
     * ring finds nothing, and its reader would wait for data that never comes.
     */
    @Test
    void closingTheEngineEndsRequestsInBothRingsAndClosesBoth() throws Exception {
        java.util.function.Predicate<String> ringOrEventFd = target -> target.equals("anon_inode:[io_uring]")
                || target.equals("anon_inode:[eventfd]");
        java.util.Map<Integer, String> before = io.auraio.testing.Descriptors.open(ringOrEventFd);
        IoEngine e = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = e.ring(0);
        assertThat(io.auraio.testing.Descriptors.newSince(before, ringOrEventFd).values())
                .as("the poller's ring and the caller ring").filteredOn("anon_inode:[io_uring]"::equals).hasSize(2);
        int fifoFd = openFifo();
        int held = RingPoller.CALLER_MAX_IN_USE + 3;
        try (Arena arena = Arena.ofShared()) {
            long[] results = new long[held];
            List<Thread> readers = startFifoReadsHeldInKernel(ring, fifoFd, held, arena, results);
            assertThat(ring.callerSubmits()).as("some in the caller ring").isPositive();
            assertThat(ring.callerSubmits()).as("some in the poller's").isLessThan(held);
            // On a thread of its own: a close that waits for a request nobody cancelled never ends.
            Thread closer = Thread.ofPlatform().daemon().start(e::close);
            assertThat(closer.join(Duration.ofSeconds(10))).as("the close ends").isTrue();
            for (Thread r : readers) {
                assertThat(r.join(Duration.ofSeconds(10))).as("every reader returns").isTrue();
            }
            assertThat(results).as("cancelled by the close").containsOnly((long) -Errno.ESHUTDOWN);
            assertThat(io.auraio.testing.Descriptors.newSince(before, ringOrEventFd)).isEmpty();
        } finally {
            try (Arena arena = Arena.ofConfined()) {
                // Data for any read still waiting (a close that failed to cancel it): it ends, and so does the close.
                Libc.write(fifoFd, arena.allocate(held), held);
            }
            e.close();
            Libc.close(fifoFd);
        }
    }

    /** Runs {@code threads} virtual threads of {@code perThread} reads each; {@return the most requests seen in the kernel at once} */
    private int readFromManyThreads(RingPoller ring, int threads, int perThread) throws Exception {
        return readFromManyThreads(ring, fd, Thread.ofVirtual(), threads, perThread);
    }

    /** As {@link #readFromManyThreads(RingPoller, int, int)}, of {@code readFd}, on threads {@code kind} makes. */
    private int readFromManyThreads(RingPoller ring, int readFd, Thread.Builder kind, int threads, int perThread)
            throws Exception {
        ConcurrentLinkedQueue<Long> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger wrong = new AtomicInteger();
        AtomicInteger maxInKernel = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = 100 + t;
            workers.add(kind.start(() -> errors.addAll(readBlocks(ring, readFd, perThread, seed, wrong))));
        }
        Thread watcher = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                maxInKernel.accumulateAndGet(ring.inKernel(), Math::max);
                Thread.onSpinWait();
            }
        });
        for (Thread w : workers) {
            assertThat(w.join(Duration.ofSeconds(60))).isTrue();
        }
        watcher.interrupt();
        assertThat(errors).isEmpty();
        assertThat(wrong).hasValue(0);
        long total = (long) threads * perThread;
        assertThat(ring.opsCompleted()).isEqualTo(total);
        assertThat(ring.sqesSubmitted()).as("every request submitted exactly once").isEqualTo(total);
        assertThat(ring.inUse()).isZero();
        return maxInKernel.get();
    }

    @Test
    void manyThreadsMixingBothPathsEachGetTheirOwnBytesExactlyOnce() throws Exception {
        // As many slots as threads: nobody waits at the gate, and each request goes the caller's
        // way unless the poller holds the lock at that moment (then through the stack).
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        readFromManyThreads(ring, 64, 200);
        assertThat(ring.callerSubmits()).isBetween(1L, 64L * 200);
    }

    @Test
    void theInFlightLimitHoldsWhateverPathARequestTakes() throws Exception {
        // A limit below the thread count: threads wait at the gate, some requests are held back by
        // the poller, others go the caller's way until the poller's tick sees the queue.
        engine = IoEngine.start(1, new RingConfig(64, 16, 4, 0, false, false, 0, false, true, true),
                IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        assertThat(readFromManyThreads(ring, 64, 200)).isLessThanOrEqualTo(16);
    }

    @Test
    void aCompletionArrivingWhileTheSubmittingCarrierSleepsStillWakesTheReader() throws Exception {
        // A FIFO read waits until a writer comes: the submitting virtual thread parks and its
        // carrier goes idle. The completion's task work belongs to that carrier (it submitted), so
        // the ring must be set up to wake it (without COOP_TASKRUN, where it would wait forever).
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        RingPoller ring = engine.ring(0);
        int readFd = openFifo();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            long[] result = {Long.MIN_VALUE};
            long start = ring.callerSubmits();
            for (int round = 0; round < 3; round++) {
                Thread reader = Thread.ofVirtual().start(() -> result[0] =
                        ring.execute(Opcode.READ, 0, readFd, -1, buffer.address(), 16, 0, 0));
                // Long enough for the carrier to run out of work and park.
                TimeUnit.MILLISECONDS.sleep(300);
                assertThat(reader.isAlive()).isTrue();
                MemorySegment one = arena.allocate(1);
                one.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) ('a' + round));
                assertThat(Libc.write(readFd, one, 1)).isEqualTo(1);
                assertThat(reader.join(Duration.ofSeconds(10))).as("the read completed").isTrue();
                assertThat(result[0]).isEqualTo(1);
                assertThat(buffer.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) ('a' + round));
            }
            // Each read was submitted by its reader unless the poller held the lock at that moment.
            assertThat(ring.callerSubmits() - start).as("reads submitted by their reader").isBetween(1L, 3L);
        } finally {
            Libc.close(readFd);
        }
    }

    @Test
    void closingTheEngineUnderCallerSubmitsEndsEveryRequestAndNeverTouchesTheClosedRing() throws Exception {
        for (int attempt = 0; attempt < 5; attempt++) {
            IoEngine e = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
            RingPoller ring = e.ring(0);
            ConcurrentLinkedQueue<Long> unexpected = new ConcurrentLinkedQueue<>();
            AtomicInteger wrong = new AtomicInteger();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < 32; t++) {
                long seed = attempt * 100 + t;
                workers.add(Thread.ofVirtual().start(() -> {
                    Random random = new Random(seed);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment buffer = arena.allocate(BLOCK, BLOCK);
                        while (true) {
                            long offset = (long) random.nextInt(FILE_BYTES / BLOCK) * BLOCK;
                            long r = ring.execute(Opcode.READ, 0, fd, offset, buffer.address(), BLOCK, 0, 0);
                            if (r == -Errno.ESHUTDOWN || r == -Errno.ECANCELED) {
                                return;
                            }
                            if (r != BLOCK) {
                                unexpected.add(r);
                                return;
                            }
                            if (MemorySegment.ofArray(content).asSlice(offset, BLOCK).mismatch(buffer) != -1) {
                                wrong.incrementAndGet();
                            }
                        }
                    }
                }));
            }
            TimeUnit.MILLISECONDS.sleep(50 + 30 * attempt);
            e.close();
            for (Thread w : workers) {
                assertThat(w.join(Duration.ofSeconds(10))).as("every reader ends").isTrue();
            }
            assertThat(unexpected).isEmpty();
            assertThat(wrong).hasValue(0);
            assertThat(ring.inUse()).isZero();
        }
    }

    /** {@return a descriptor of the test file opened with O_DIRECT: its reads complete later, by interrupt} */
    private int openDirect() {
        int direct = Libc.open(file.toString(), OpenFlags.O_RDONLY | OpenFlags.O_DIRECT, 0);
        org.junit.jupiter.api.Assumptions.assumeTrue(direct >= 0, "O_DIRECT refused here: " + -direct);
        return direct;
    }

    /**
     * Reads {@code reads} random blocks of {@code readFd} on the calling thread, counting in
     * {@code wrong} those that differ from the file; stops at the engine's shutdown. {@return the
     * results that were not a full block}
     */
    private List<Long> readBlocks(RingPoller ring, int readFd, int reads, long seed, AtomicInteger wrong) {
        List<Long> errors = new ArrayList<>();
        Random random = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(BLOCK, BLOCK);
            for (int i = 0; i < reads; i++) {
                long offset = (long) random.nextInt(FILE_BYTES / BLOCK) * BLOCK;
                long r = ring.execute(Opcode.READ, 0, readFd, offset, buffer.address(), BLOCK, 0, 0);
                if (r != BLOCK) {
                    errors.add(r);
                    if (r == -Errno.ESHUTDOWN || r == -Errno.ECANCELED) {
                        return errors;
                    }
                } else if (MemorySegment.ofArray(content).asSlice(offset, BLOCK).mismatch(buffer) != -1) {
                    wrong.incrementAndGet();
                }
            }
        }
        return errors;
    }

    /**
     * Threads submitting at once on one ring: one that finds another inside {@code io_uring_enter}
     * leaves its SQE to it (flat combining), and none is lost or stranded: every read returns the
     * file's bytes within the time limit, and the ring ends with nothing in the kernel. O_DIRECT,
     * so that a submit spends long enough in the kernel for others to arrive meanwhile.
     */
    @Test
    void callersLeaveTheirSqesToTheOneInTheKernelAndNoneIsStranded() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() >= 2,
                "two submitters at once need two CPUs");
        int direct = openDirect();
        try {
            engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
            RingPoller ring = engine.ring(0);
            // Every thread done within the limit with the file's bytes, each request submitted once.
            readFromManyThreads(ring, direct, Thread.ofPlatform(), 4, 1500);
            assertThat(ring.inKernel()).isZero();
            assertThat(ring.combinedSubmits()).as("submits left to a caller in the kernel").isPositive();
        } finally {
            Libc.close(direct);
        }
    }

    /**
     * A lone virtual reader whose carrier has nothing else to run polls the completion queue for
     * its O_DIRECT read instead of parking (the completion's task work runs on its own carrier):
     * every read still returns the file's bytes, and most end without a park.
     */
    @Test
    void aLoneReaderPollsForItsOwnCompletionAndGetsTheFilesBytes() throws Exception {
        int direct = openDirect();
        try {
            engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
            RingPoller ring = engine.ring(0);
            AtomicInteger wrong = new AtomicInteger();
            List<List<Long>> errors = new ArrayList<>();
            Thread t = Thread.ofVirtual().start(() -> errors.add(readBlocks(ring, direct, 300, 7, wrong)));
            assertThat(t.join(Duration.ofSeconds(30))).isTrue();
            assertThat(errors).hasSize(1);
            assertThat(errors.get(0)).isEmpty();
            assertThat(wrong).hasValue(0);
            assertThat(ring.opsCompleted()).isEqualTo(300);
            assertThat(ring.polledCompletions()).as("reads that ended while their reader polled").isGreaterThan(150);
            assertThat(ring.inUse()).isZero();
        } finally {
            Libc.close(direct);
        }
    }

    /**
     * Polling holds a carrier only while no other virtual thread waits for one: with a polling
     * reader on every carrier, a virtual thread started meanwhile still runs, and the readers go on.
     */
    @Test
    void pollingReadersOnEveryCarrierStillLetAnotherVirtualThreadRun() throws Exception {
        int direct = openDirect();
        int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
                Runtime.getRuntime().availableProcessors());
        try {
            engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
            RingPoller ring = engine.ring(0);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            AtomicInteger wrong = new AtomicInteger();
            ConcurrentLinkedQueue<Long> errors = new ConcurrentLinkedQueue<>();
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < carriers; i++) {
                long seed = i;
                readers.add(Thread.ofVirtual().start(() -> {
                    while (!stop.get()) {
                        errors.addAll(readBlocks(ring, direct, 20, seed, wrong));
                    }
                }));
            }
            TimeUnit.MILLISECONDS.sleep(50);
            long before = ring.opsCompleted();
            java.util.concurrent.CountDownLatch ran = new java.util.concurrent.CountDownLatch(1);
            Thread.ofVirtual().start(ran::countDown);
            boolean otherRan = ran.await(10, TimeUnit.SECONDS);
            TimeUnit.MILLISECONDS.sleep(20);
            stop.set(true);
            for (Thread r : readers) {
                assertThat(r.join(Duration.ofSeconds(10))).isTrue();
            }
            assertThat(otherRan).as("a virtual thread ran beside %d polling readers", carriers).isTrue();
            assertThat(ring.opsCompleted()).as("the readers went on").isGreaterThan(before);
            assertThat(errors).isEmpty();
            assertThat(wrong).hasValue(0);
        } finally {
            Libc.close(direct);
        }
    }

    /**
     * The engine closing while a reader polls the completion queue without the lock: the ring is
     * unmapped only once the poller is out of it (no crash), and the reader ends with the
     * shutdown's answer.
     */
    @Test
    void closingTheEngineWhileAReaderPollsNeverTouchesTheUnmappedRing() throws Exception {
        int direct = openDirect();
        try {
            for (int attempt = 0; attempt < 20; attempt++) {
                IoEngine e = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
                RingPoller ring = e.ring(0);
                AtomicInteger wrong = new AtomicInteger();
                List<List<Long>> outcome = new ArrayList<>();
                Thread reader = Thread.ofVirtual().start(() -> outcome.add(readBlocks(ring, direct,
                        Integer.MAX_VALUE, 11, wrong)));
                TimeUnit.MILLISECONDS.sleep(5 + attempt);
                e.close();
                assertThat(reader.join(Duration.ofSeconds(10))).as("the reader ends").isTrue();
                assertThat(outcome).hasSize(1);
                assertThat(outcome.get(0)).singleElement().isIn((long) -Errno.ESHUTDOWN, (long) -Errno.ECANCELED);
                assertThat(wrong).hasValue(0);
                assertThat(ring.inUse()).isZero();
            }
        } finally {
            Libc.close(direct);
        }
    }
}
