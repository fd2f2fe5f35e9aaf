package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.testing.IoUringAvailable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The poller parks, rather than wait in the kernel where every completion wakes it, while callers
 * poll for every request it has in the kernel ({@code RingPoller.parkWhileCallersPoll}). Each
 * liveness test stretches the park to an hour ({@link RingPoller#parkNanosForTests}), so that a
 * wake-up the protocol misses hangs the test instead of costing a tick: every other reason the
 * poller has to run (a request nobody polls for, one pushed for it, a caller that gives up
 * polling, a close) must unpark it. Real rings, real O_DIRECT reads; the file's bytes are the oracle.
 */
@ExtendWith(IoUringAvailable.class)
class PollerParkTest {
    private static final int FILE_BYTES = 16 << 20;
    private static final int BLOCK = 4096;
    /** Larger than a polling caller's budget (200 µs) takes to read: it stops polling first. */
    private static final int LARGE = 8 << 20;
    /** 64 slots, a fixed limit of 64 (adaptive tuning off), no SQPOLL, non-daemon pollers, callers submit. */
    private static final RingConfig CONFIG = new RingConfig(64, 64, 4, 0, false, false, 0, false, true, true);

    @TempDir
    Path dir;
    private byte[] content;
    private int fd = -1;
    private IoEngine engine;
    private RingPoller ring;

    @BeforeEach
    void openFile() throws Exception {
        content = new byte[FILE_BYTES];
        new Random(11).nextBytes(content);
        Path file = Files.write(dir.resolve("data"), content);
        try (FileChannel written = FileChannel.open(file, StandardOpenOption.WRITE)) {
            written.force(true); // else each O_DIRECT read first writes its dirty range back
        }
        fd = Libc.open(file.toString(), OpenFlags.O_RDONLY | OpenFlags.O_DIRECT, 0);
        Assumptions.assumeTrue(fd >= 0, "O_DIRECT refused here: " + -fd);
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        ring = engine.ring(0);
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

    /**
     * One virtual reader, alone on its carrier, polls for each of its O_DIRECT reads: their
     * completions do not wake the poller, which used to wait in the kernel and be woken by each
     * (then took the reader's CPU to reap what the reader reaped itself).
     */
    @Test
    void aPollingReadersCompletionsLeaveThePollerParked() throws Exception {
        long waitsBefore = ring.kernelWaits();
        List<String> failures = onVirtualThread(() -> readBlocks(600, 1));
        assertThat(failures).isEmpty();
        long polled = ring.polledCompletions();
        Assumptions.assumeTrue(polled > 300, "too few reads ended while their reader polled (" + polled
                + " of 600): this device answers slower than a polling caller waits");
        assertThat(ring.parks()).as("the poller parked").isPositive();
        assertThat(ring.kernelWaits() - waitsBefore)
                .as("waits in the kernel, for %d reads that ended while their reader polled", polled)
                .isLessThan(polled / 4);
    }

    /** A platform thread never polls: its read, submitted while the poller is parked, wakes it. */
    @Test
    void aReadNobodyPollsForWakesTheParkedPoller() throws Exception {
        ring.parkNanosForTests = TimeUnit.HOURS.toNanos(1);
        readUntilParked(2);
        List<String> failures = new ArrayList<>();
        Thread platform = Thread.ofPlatform().start(() -> failures.addAll(readBlocks(50, 3)));
        assertThat(platform.join(Duration.ofSeconds(30))).as("the platform thread's reads ended").isTrue();
        assertThat(failures).isEmpty();
    }

    /**
     * A read that takes longer than a caller polls: the caller gives up polling, and must wake
     * the poller that parked counting it polled for.
     */
    @Test
    void aCallerThatStopsPollingWakesThePoller() throws Exception {
        ring.parkNanosForTests = TimeUnit.HOURS.toNanos(1);
        assertThat(onVirtualThread(() -> readBlocks(50, 4))).isEmpty();
        long parksBefore = ring.parks();
        List<String> failures = onVirtualThread(() -> {
            List<String> wrong = new ArrayList<>();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(LARGE, BLOCK);
                for (int i = 0; i < 4; i++) {
                    readAndCheck((long) i * BLOCK * 7, buffer, wrong);
                }
            }
            return wrong;
        });
        assertThat(failures).isEmpty();
        assertThat(ring.parks()).as("the poller parked again meanwhile").isGreaterThan(parksBefore);
    }

    /** A request for the poller to submit (a future's) wakes it from its park. */
    @Test
    void aRequestPushedForThePollerWakesIt() throws Exception {
        ring.parkNanosForTests = TimeUnit.HOURS.toNanos(1);
        readUntilParked(5);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(BLOCK, BLOCK);
            CompletableFuture<Long> read = new CompletableFuture<>();
            ring.submit(RingPoller.KIND_FUTURE, Opcode.READ, 0, fd, 3 * BLOCK, buffer.address(), BLOCK, 0, 0,
                    read::complete, null, false, false);
            assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(BLOCK);
            assertThat(MemorySegment.ofArray(content).asSlice(3 * BLOCK, BLOCK).mismatch(buffer)).isEqualTo(-1);
        }
    }

    /** The engine's close wakes a parked poller, which then ends the ring. */
    @Test
    void aCloseWakesTheParkedPoller() throws Exception {
        ring.parkNanosForTests = TimeUnit.HOURS.toNanos(1);
        readUntilParked(6);
        IoEngine closing = engine;
        engine = null;
        Thread closer = Thread.ofPlatform().start(closing::close);
        assertThat(closer.join(Duration.ofSeconds(30))).as("the close returned").isTrue();
        assertThat(ring.execute(Opcode.READ, 0, fd, 0, 0, BLOCK, 0, 0)).isEqualTo(-Errno.ESHUTDOWN);
    }

    /**
     * Reads on a virtual thread, 50 blocks at a time, until the poller has parked. It parks only
     * when its pass ends while the reader polls for a read in the kernel, which a few reads may
     * never meet (a busy CPU, most reads ending before their reader polls): 50 reads then a wait
     * failed once in six runs of the package, beside a build.
     */
    private void readUntilParked(long seed) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (long s = seed; ring.parks() == 0 && System.nanoTime() - deadline < 0; s += 1_000) {
            long batchSeed = s;
            assertThat(onVirtualThread(() -> readBlocks(50, batchSeed))).isEmpty();
        }
        Assumptions.assumeTrue(ring.parks() > 0, "the poller never parked in 10 s of reads ("
                + ring.polledCompletions() + " ended while their reader polled): this device answers slower than "
                + "a polling caller waits");
        Thread.sleep(10); // and is in its park, not on its way there: a wake-up before it is one too
    }

    /** Runs {@code reads} on a new virtual thread and {@return what went wrong}, within 30 s. */
    private List<String> onVirtualThread(java.util.function.Supplier<List<String>> reads) throws InterruptedException {
        List<String> failures = new ArrayList<>();
        Thread t = Thread.ofVirtual().start(() -> failures.addAll(reads.get()));
        assertThat(t.join(Duration.ofSeconds(30))).as("the virtual thread's reads ended").isTrue();
        return failures;
    }

    /** Reads {@code reads} random blocks on the calling thread; {@return what went wrong} */
    private List<String> readBlocks(int reads, long seed) {
        List<String> wrong = new ArrayList<>();
        Random random = new Random(seed);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(BLOCK, BLOCK);
            for (int i = 0; i < reads; i++) {
                readAndCheck((long) random.nextInt(FILE_BYTES / BLOCK) * BLOCK, buffer, wrong);
            }
        }
        return wrong;
    }

    /** Reads {@code buffer}'s size at {@code offset}, adding to {@code wrong} what differs from the file. */
    private void readAndCheck(long offset, MemorySegment buffer, List<String> wrong) {
        int length = (int) buffer.byteSize();
        long r = ring.execute(Opcode.READ, 0, fd, offset, buffer.address(), length, 0, 0);
        if (r != length) {
            wrong.add("read at " + offset + ": " + r);
        } else if (MemorySegment.ofArray(content).asSlice(offset, length).mismatch(buffer) != -1) {
            wrong.add("read at " + offset + ": other bytes than the file's");
        }
    }
}
