package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import io.auraio.internal.mapped.MappedReads;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A virtual thread whose reads always hit the page cache never parks (the fast path reads on the
 * caller), so only the fast path's time budget makes it give its carrier up. With one such reader
 * per carrier, any other virtual thread waits for those yields: it must still get to run.
 */
class FastPathCarrierSharingTest {
    @TempDir
    Path dir;

    @Test
    void readersThatAlwaysHitTheCacheStillLetAnotherVirtualThreadRun() throws Exception {
        assertAnotherVirtualThreadRuns(false, false);
    }

    /**
     * The same with data the mapped path serves (blocks that do not end in a zero byte): its
     * reads make no system call at all, and share the carrier by the same budget.
     */
    @Test
    void readersServedFromTheFilesMappingStillLetAnotherVirtualThreadRun() throws Exception {
        assumeTrue(MappedReads.enabled(), "mapped reads are off in this JVM (not x86-64, or turned off)");
        assertAnotherVirtualThreadRuns(false, true);
    }

    /** Buffered writes to a local file system are written on the caller too (pwrite, as FileChannel does). */
    @Test
    void bufferedWritersStillLetAnotherVirtualThreadRun() throws Exception {
        assertAnotherVirtualThreadRuns(true, false);
    }

    /** @param mappable whether the file's blocks end in non-zero bytes, which the mapped path serves */
    private void assertAnotherVirtualThreadRuns(boolean write, boolean mappable) throws Exception {
        Path path = dir.resolve("cached");
        byte[] data = new byte[64 * 1024];
        Arrays.fill(data, (byte) (mappable ? 1 : 0));
        Files.write(path, data);
        // One reader per carrier: the scheduler's parallelism, the CPU count unless set.
        int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
                Runtime.getRuntime().availableProcessors());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long totalBefore = engine.stats().opsCompleted();
            long ringBefore = engine.ringStats(0).opsCompleted();
            CountDownLatch readersRunning = new CountDownLatch(carriers);
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < carriers; i++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment block = arena.allocate(4096);
                        readersRunning.countDown();
                        long n = 0;
                        while (!stop.get()) {
                            long position = (n++ % 16) * 4096;
                            if ((write ? file.write(block, position) : file.read(block, position)) != 4096) {
                                throw new AssertionError("short transfer of a cached block");
                            }
                        }
                        reads.addAndGet(n);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }));
            }
            assertThat(readersRunning.await(10, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(50); // the readers now hold every carrier
            CountDownLatch ran = new CountDownLatch(1);
            Thread.ofVirtual().start(ran::countDown);
            boolean otherRan = ran.await(10, TimeUnit.SECONDS);
            stop.set(true);
            for (Thread r : readers) {
                r.join(TimeUnit.SECONDS.toMillis(10));
            }
            assertThat(otherRan).as("a virtual thread ran while %d %s hit the page cache on %d carriers",
                    carriers, write ? "writers" : "readers", carriers).isTrue();
            assertThat(readers).noneMatch(Thread::isAlive);
            // The reads were fast-path hits (no ring, no park), which is what the test is about.
            long fastPathOps = (engine.stats().opsCompleted() - totalBefore) - (engine.ringStats(0).opsCompleted() - ringBefore);
            assertThat(reads.get()).isPositive();
            assertThat(fastPathOps).isGreaterThanOrEqualTo(reads.get());
            if (mappable) {
                assumeTrue(file.mappedReads() != null, "mapped reads do not serve this file system's files");
                assertThat(file.mappedReads().served()).as("reads served from the mapping").isPositive();
            }
        }
    }

    /**
     * The other side of the budget: a lone reader whose every read hits, with no other virtual
     * thread waiting, keeps its carrier when its budget is spent (a yield there woke the idle
     * carrier and moved the thread across CPUs, 6-8% of a lone reader's rate, issue 14).
     */
    @Test
    void aLoneReaderKeepsItsCarrierWhenNoOtherVirtualThreadWaits() throws Exception {
        Path path = dir.resolve("lone");
        Files.write(path, new byte[64 * 1024]);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.READ)) {
            long[] counts = new long[2];
            Thread reader = Thread.ofVirtual().start(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment block = arena.allocate(4096);
                    long budgets = io.auraio.internal.sched.CarrierSharing.budgetsSpent();
                    long shares = io.auraio.internal.sched.CarrierSharing.shares();
                    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                    for (long n = 0; System.nanoTime() < until; n++) {
                        file.read(block, (n % 16) * 4096);
                    }
                    counts[0] = io.auraio.internal.sched.CarrierSharing.budgetsSpent() - budgets;
                    counts[1] = io.auraio.internal.sched.CarrierSharing.shares() - shares;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertThat(reader.join(java.time.Duration.ofSeconds(30))).isTrue();
            // Budgets are counted by every thread of the JVM, shares too: another test's leftover
            // virtual thread may be queued now and then, never at most looks.
            assertThat(counts[0]).as("budgets spent in 300 ms of page-cache hits").isGreaterThanOrEqualTo(50);
            assertThat(counts[1]).as("carrier given up, of %d budgets spent", counts[0]).isLessThan(counts[0] / 2);
        }
    }
}
