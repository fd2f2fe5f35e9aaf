package io.auraio.reliability;

import static io.auraio.reliability.Quiescence.assertQuiescent;
import static io.auraio.reliability.Quiescence.joinAll;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.io.EOFException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link AuraFile#readFully} and {@link AuraFile#writeFully} loop over short transfers: faultfs
 * cuts every read to 1000 bytes and every write to 1500, sizes that divide neither the transfers
 * nor the page size, and the bytes that arrive (in memory, and on disk as plain java.nio sees
 * the backing file) are exactly the ones asked for, from every kind of memory, with many threads
 * at once.
 */
@ExtendWith(IoUringAvailable.class)
class ShortTransferTest {
    private static final int SHORT_READ = 1000;
    private static final int SHORT_WRITE = 1500;
    private static final int REGION = 50_001;
    /** Not a multiple of anything: regions start mid-page. */
    private static final long START = 12_345;
    private static final int THREADS = 32;

    /** The four kinds of memory, by thread index. */
    private enum Kind { HEAP_BUFFER, DIRECT_BUFFER, NATIVE_SEGMENT, HEAP_SEGMENT }

    private static long position(int region) {
        return START + (long) region * REGION;
    }

    private static Engine newEngine() throws Exception {
        return Engine.create(Options.builder().ringCount(2).build());
    }

    @Test
    void readFullyLoopsOverShortReadsIntoEveryKindOfMemory() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ShortReads")) {
            byte[] content = TestSupport.randomBytes((int) position(THREADS), 1);
            Files.write(fs.backing().resolve("data"), content);
            fs.shortReads(SHORT_READ).resetCounters();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            try (Engine engine = newEngine();
                 AuraFile file = AuraFile.open(engine, fs.path("data"), READ)) {
                assertThat(file.read(ByteBuffer.allocate(4096), 0)).as("one read surfaces the short count")
                        .isEqualTo(SHORT_READ);
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int region = t;
                    threads.add(Thread.ofVirtual().start(() -> {
                        try (Arena arena = Arena.ofConfined()) {
                            byte[] got = readRegion(file, Kind.values()[region % 4], arena, position(region));
                            byte[] want = Arrays.copyOfRange(content, (int) position(region),
                                    (int) position(region) + REGION);
                            if (!Arrays.equals(got, want)) {
                                throw new AssertionError("region " + region + " differs at " + Arrays.mismatch(got, want));
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }));
                }
                joinAll(threads, "short reads");
                assertThat(failures).isEmpty();
                assertThat(fs.counters().shortReadsInjected()).as("the loops did go round")
                        .isGreaterThanOrEqualTo((long) THREADS * (REGION / SHORT_READ));

                // Past the end: EOFException, and the buffer's position tells how much was read.
                ByteBuffer tail = ByteBuffer.allocate(5000);
                long from = content.length - 3210;
                assertThatThrownBy(() -> file.readFully(tail, from)).isInstanceOf(EOFException.class);
                assertThat(tail.position()).isEqualTo(3210);
                assertThat(Arrays.copyOf(tail.array(), 3210))
                        .isEqualTo(Arrays.copyOfRange(content, (int) from, content.length));
                assertQuiescent(engine);
            }
        }
    }

    private static byte[] readRegion(AuraFile file, Kind kind, Arena arena, long position) throws Exception {
        byte[] out = new byte[REGION];
        switch (kind) {
            case HEAP_BUFFER, DIRECT_BUFFER -> {
                ByteBuffer dst = kind == Kind.HEAP_BUFFER ? ByteBuffer.allocate(REGION + 7)
                        : arena.allocate(REGION + 7).asByteBuffer();
                dst.position(3).limit(3 + REGION); // a window inside the buffer
                file.readFully(dst, position);
                assertThat(dst.position()).isEqualTo(3 + REGION);
                dst.get(3, out);
            }
            case NATIVE_SEGMENT, HEAP_SEGMENT -> {
                MemorySegment dst = kind == Kind.NATIVE_SEGMENT ? arena.allocate(REGION)
                        : MemorySegment.ofArray(new byte[REGION]);
                file.readFully(dst, position);
                MemorySegment.copy(dst, ValueLayout.JAVA_BYTE, 0, out, 0, REGION);
            }
        }
        return out;
    }

    /**
     * Short writes reach io_uring callers as short counts only with FUSE's synchronous direct I/O
     * ({@link FaultFs#SYNC_DIRECT_IO}); asynchronous direct I/O turns them into EIO in the kernel.
     */
    @Test
    void writeFullyLoopsOverShortWritesFromEveryKindOfMemory() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ShortWrites", FaultFs.SYNC_DIRECT_IO)) {
            Path backing = fs.backing().resolve("data");
            Files.write(backing, new byte[0]);
            fs.shortWrites(SHORT_WRITE).resetCounters();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            try (Engine engine = newEngine();
                 AuraFile file = AuraFile.open(engine, fs.path("data"), READ, WRITE)) {
                assertThat(file.write(ByteBuffer.allocate(4096), position(THREADS)))
                        .as("one write surfaces the short count").isEqualTo(SHORT_WRITE);
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int region = t;
                    threads.add(Thread.ofVirtual().start(() -> {
                        try (Arena arena = Arena.ofConfined()) {
                            writeRegion(file, Kind.values()[region % 4], arena, position(region), pattern(region));
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }));
                }
                joinAll(threads, "short writes");
                assertThat(failures).isEmpty();
                assertThat(fs.counters().shortWritesInjected()).as("the loops did go round")
                        .isGreaterThanOrEqualTo((long) THREADS * (REGION / SHORT_WRITE));
                assertQuiescent(engine);
            }
            byte[] onDisk = Files.readAllBytes(backing);
            assertThat(onDisk).hasSize((int) position(THREADS) + SHORT_WRITE);
            assertThat(Arrays.copyOf(onDisk, (int) START)).as("before the first region").containsOnly(0);
            for (int region = 0; region < THREADS; region++) {
                int from = (int) position(region);
                assertThat(Arrays.copyOfRange(onDisk, from, from + REGION)).as("region %d on disk", region)
                        .isEqualTo(pattern(region));
            }
        }
    }

    private static byte[] pattern(int region) {
        return TestSupport.randomBytes(REGION, 100 + region);
    }

    private static void writeRegion(AuraFile file, Kind kind, Arena arena, long position, byte[] data)
            throws Exception {
        switch (kind) {
            case HEAP_BUFFER, DIRECT_BUFFER -> {
                ByteBuffer src = kind == Kind.HEAP_BUFFER ? ByteBuffer.allocate(REGION + 7)
                        : arena.allocate(REGION + 7).asByteBuffer();
                src.put(5, data).position(5).limit(5 + REGION);
                file.writeFully(src, position);
                assertThat(src.hasRemaining()).isFalse();
            }
            case NATIVE_SEGMENT, HEAP_SEGMENT -> {
                MemorySegment src = kind == Kind.NATIVE_SEGMENT ? arena.allocate(REGION)
                        : MemorySegment.ofArray(new byte[REGION]);
                MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, REGION);
                file.writeFully(src, position);
            }
        }
    }
}
