package io.auraio;

import static io.auraio.MappedFixtures.readUntilMapped;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.mapped.MappedReads;
import io.auraio.testing.Commands;
import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Page-cache reads copied from a mapping of the file ({@link MappedReads}) return exactly what
 * {@code pread} returns: each test reads through {@link AuraFile} and through the JDK's
 * {@link FileChannel} (the oracle) side by side, after the file was read often enough to be mapped,
 * and while or after another process or channel changes it.
 */
@ExtendWith(IoUringAvailable.class)
class MappedReadsTest {
    private static final int BLOCK = 4096;
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory directory = new TestDirectory();
    private Path dir;

    @BeforeEach
    void mappedReadsOn() {
        assumeTrue(MappedReads.enabled(), "mapped reads are off in this JVM (not x86-64, or turned off)");
        dir = directory.path();
    }

    /** {@return what FileChannel reads: the bytes, or null at the end of the file} */
    private static byte[] oracle(Path path, long position, int length) throws IOException {
        try (FileChannel fc = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            int n = fc.read(b, position);
            return n < 0 ? null : Arrays.copyOf(b.array(), n);
        }
    }

    /** A byte no read of the tests' files leaves in a buffer past what it read. */
    private static final byte UNREAD = 0x55;

    /** {@return a buffer filled with {@link #UNREAD}, after FileChannel read into it} */
    private static byte[] wholeBufferAfterFileChannelRead(Path path, long position, int length) throws IOException {
        try (FileChannel fc = FileChannel.open(path, StandardOpenOption.READ)) {
            byte[] b = new byte[length];
            Arrays.fill(b, UNREAD);
            fc.read(ByteBuffer.wrap(b), position);
            return b;
        }
    }

    /** {@return a buffer filled with {@link #UNREAD}, after {@code file} read into it} */
    private static byte[] wholeBufferAfterRead(AuraFile file, long position, int length) throws IOException {
        byte[] b = new byte[length];
        Arrays.fill(b, UNREAD);
        file.read(ByteBuffer.wrap(b), position);
        return b;
    }

    private static byte[] auraRead(AuraFile file, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        int n = file.read(b, position);
        return n < 0 ? null : Arrays.copyOf(b.array(), n);
    }

    private static void shell(String... command) throws Exception {
        Commands.Ran ran = Commands.run(new ProcessBuilder(command), Duration.ofSeconds(30));
        assertThat(ran.succeeded()).as("%s", ran).isTrue();
    }

    @Test
    void hotReadsAreServedFromTheMappingIntoEveryKindOfMemoryAndMatchFileChannel() throws Exception {
        Path path = dir.resolve("hot");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 1);
        Files.write(path, data);
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             Arena arena = Arena.ofShared()) {
            readUntilMapped(file, 0);
            long before = file.mappedReads().served();
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int i = 0; i < 2000; i++) {
                int length = 1 + random.nextInt(3 * BLOCK);
                long position = random.nextLong(data.length - length + 1);
                byte[] expected = Arrays.copyOfRange(data, (int) position, (int) position + length);
                switch (i % 3) {
                    case 0 -> assertThat(auraRead(file, position, length)).isEqualTo(expected);
                    case 1 -> {
                        ByteBuffer direct = ByteBuffer.allocateDirect(length);
                        assertThat(file.read(direct, position)).isEqualTo(length);
                        byte[] got = new byte[length];
                        direct.flip().get(got);
                        assertThat(got).isEqualTo(expected);
                    }
                    default -> {
                        MemorySegment segment = arena.allocate(length);
                        assertThat(file.read(segment, position)).isEqualTo(length);
                        assertThat(segment.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(expected);
                    }
                }
            }
            assertThat(file.mappedReads().served() - before).as("reads served from the mapping").isGreaterThan(1000);
            // Larger reads take preadv2 (a mapping's page faults and teardown cost more than the call).
            long served = file.mappedReads().served();
            assertThat(auraRead(file, 12_345, 64 * 1024)).isEqualTo(Arrays.copyOfRange(data, 12_345, 12_345 + 64 * 1024));
            assertThat(file.mappedReads().served()).isEqualTo(served);
            // Past the end, across it, at it: as FileChannel.
            for (long position : new long[] {data.length - 100, data.length, data.length + 5000}) {
                assertThat(auraRead(file, position, BLOCK)).isEqualTo(oracle(path, position, BLOCK));
            }
        }
    }

    /**
     * One pass of reads larger than 4 KiB never maps the file (a mapping's first touch of each
     * page costs what the saved call would), while the same reads made again do.
     */
    @Test
    void onePassOfLargerReadsDoesNotMapTheFileAndReadingItAgainDoes() throws Exception {
        Path path = dir.resolve("one-pass");
        byte[] data = TestSupport.nonZeroBytes(4 << 20, 11);
        Files.write(path, data);
        int size = 8 * 1024;
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
            assumeTrue(file.mappedReads() != null, "mapped reads do not serve this file system's files");
            for (int position = 0; position < data.length; position += size) {
                assertThat(auraRead(file, position, size)).isEqualTo(Arrays.copyOfRange(data, position, position + size));
            }
            assertThat(file.mappedReads().isMapped()).as("mapped after one pass of 8 KiB reads").isFalse();
            for (int pass = 0; pass < 20 && !file.mappedReads().isMapped(); pass++) {
                for (int position = 0; position < data.length; position += size) {
                    auraRead(file, position, size);
                }
            }
            assertThat(file.mappedReads().isMapped()).as("mapped once its pages are read again").isTrue();
        }
    }

    /** A block that ends in a zero byte may lie past a shortened file's end: pread serves it, with the same bytes. */
    @Test
    void blocksEndingInAZeroByteAreReadCorrectlyToo() throws Exception {
        Path path = dir.resolve("zeros");
        byte[] data = TestSupport.nonZeroBytes(256 * 1024, 2);
        for (int i = BLOCK - 1; i < data.length; i += 2 * BLOCK) {
            data[i] = 0;
        }
        Files.write(path, data);
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
            readUntilMapped(file, 0);
            for (int b = 0; b < data.length / BLOCK; b++) {
                assertThat(auraRead(file, (long) b * BLOCK, BLOCK))
                        .isEqualTo(Arrays.copyOfRange(data, b * BLOCK, (b + 1) * BLOCK));
            }
        }
    }

    /** Blocks that all end in zeros would be copied twice (mapping, then pread): such a file stops being mapped. */
    @Test
    void aFileWhoseBlocksAllEndInZerosStopsBeingServedFromAMapping() throws Exception {
        Path path = dir.resolve("sparse");
        byte[] data = new byte[256 * 1024];
        data[0] = 1; // the first block too ends in a zero
        Files.write(path, data);
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
            readUntilMapped(file, 0);
            for (int i = 0; i < 1000; i++) {
                long position = (long) (i % 64) * BLOCK;
                assertThat(auraRead(file, position, BLOCK))
                        .isEqualTo(Arrays.copyOfRange(data, (int) position, (int) position + BLOCK));
            }
            assertThat(file.mappedReads().isMapped()).as("still served from a mapping").isFalse();
            assertThat(file.mappedReads().served()).isZero();
        }
    }

    @Test
    void aFileTruncatedByAnotherProcessReadsAsFileChannelReadsIt() throws Exception {
        Path path = dir.resolve("truncated");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 3);
        Files.write(path, data);
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
            readUntilMapped(file, 0);
            // Warm every block the checks below read, so their residency says "in memory" (whether
            // a copy then faults depends on whether that was asked again since: either way, the
            // bytes must be FileChannel's).
            for (long p = 0; p < data.length; p += BLOCK) {
                auraRead(file, p, BLOCK);
            }
            int newSize = 10_000; // inside a page: its tail past the end reads as zeros in a mapping
            shell("truncate", "-s", String.valueOf(newSize), path.toString());
            long[] positions = {0, 4096, 8192, 9000, newSize - 1, newSize, 12_288, 65_536, data.length - BLOCK};
            for (long position : positions) {
                assertThat(auraRead(file, position, BLOCK)).as("read at %d of a file shortened to %d", position, newSize)
                        .isEqualTo(oracle(path, position, BLOCK));
                // The memory past the count as FileChannel leaves it: untouched (a declined
                // mapped read copied first and asked after, so pread's short count left the
                // mapping's zeros behind it).
                assertThat(wholeBufferAfterRead(file, position, BLOCK))
                        .as("the whole buffer after a read at %d of a file shortened to %d", position, newSize)
                        .isEqualTo(wholeBufferAfterFileChannelRead(path, position, BLOCK));
            }
            // The file grows back with other bytes: read as they are now.
            byte[] regrown = TestSupport.nonZeroBytes(1 << 20, 4);
            Files.write(path, regrown, StandardOpenOption.WRITE);
            for (int i = 0; i < 200; i++) {
                long position = ThreadLocalRandom.current().nextLong(regrown.length - BLOCK);
                assertThat(auraRead(file, position, BLOCK))
                        .isEqualTo(Arrays.copyOfRange(regrown, (int) position, (int) position + BLOCK));
            }
        }
    }

    @Test
    void aFileThatGrowsIsReadPastItsMappedSizeAndMappedAgainOnceItDoubled() throws Exception {
        Path path = dir.resolve("growing");
        byte[] first = TestSupport.nonZeroBytes(256 * 1024, 5);
        Files.write(path, first);
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            readUntilMapped(file, 0);
            long mappingsBefore = MappedReads.mappingsMadeInThisJvm();
            byte[] more = TestSupport.nonZeroBytes(768 * 1024, 6);
            assertThat(file.write(ByteBuffer.wrap(more), first.length)).isEqualTo(more.length);
            // Past the mapped size: read with pread, and counted towards a new mapping.
            for (int i = 0; i < 10 * 64; i++) {
                long position = first.length + (long) (i % 100) * BLOCK;
                int at = (int) position - first.length;
                assertThat(auraRead(file, position, BLOCK)).isEqualTo(Arrays.copyOfRange(more, at, at + BLOCK));
            }
            assertThat(MappedReads.mappingsMadeInThisJvm() - mappingsBefore).as("mapped again at the grown size")
                    .isPositive();
            long served = file.mappedReads().served();
            for (int i = 0; i < 100; i++) {
                long position = first.length + (long) i * BLOCK;
                int at = (int) position - first.length;
                assertThat(auraRead(file, position, BLOCK)).isEqualTo(Arrays.copyOfRange(more, at, at + BLOCK));
            }
            assertThat(file.mappedReads().served() - served).as("served from the new mapping").isPositive();
        }
    }

    /** Writes through another channel, this file, and with O_DIRECT (which drops cached pages) are all seen at once. */
    @Test
    void writesByAnyoneAreSeenByTheNextRead() throws Exception {
        Path path = dir.resolve("written");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 7);
        Files.write(path, data);
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileChannel other = FileChannel.open(path, StandardOpenOption.WRITE)) {
            readUntilMapped(file, 0);
            for (int round = 0; round < 50; round++) {
                long position = (long) ThreadLocalRandom.current().nextInt(data.length / BLOCK) * BLOCK;
                auraRead(file, position, BLOCK); // cached and known resident
                byte[] viaOther = TestSupport.nonZeroBytes(BLOCK, 100 + round);
                other.write(ByteBuffer.wrap(viaOther), position);
                assertThat(auraRead(file, position, BLOCK)).as("after a write through another channel").isEqualTo(viaOther);
                byte[] viaThis = TestSupport.nonZeroBytes(BLOCK, 200 + round);
                file.write(ByteBuffer.wrap(viaThis), position);
                assertThat(auraRead(file, position, BLOCK)).as("after a write through this file").isEqualTo(viaThis);
            }
            long served = file.mappedReads().served();
            assertThat(served).isPositive();
            // O_DIRECT: the kernel writes to the device and drops the cached pages it covers.
            try (AuraFile direct = AuraFile.open(shared.engine(), path, StandardOpenOption.WRITE,
                    Direct.DIRECT);
                 Arena arena = Arena.ofConfined()) {
                MemorySegment aligned = arena.allocate(BLOCK, BLOCK);
                for (int round = 0; round < 20; round++) {
                    long position = (long) round * 8 * BLOCK;
                    auraRead(file, position, BLOCK);
                    byte[] viaDirect = TestSupport.nonZeroBytes(BLOCK, 300 + round);
                    MemorySegment.copy(MemorySegment.ofArray(viaDirect), 0, aligned, 0, BLOCK);
                    assertThat(direct.write(aligned, position)).isEqualTo(BLOCK);
                    assertThat(auraRead(file, position, BLOCK)).as("after an O_DIRECT write").isEqualTo(viaDirect);
                }
            }
        }
    }

    /**
     * Readers on virtual threads while another thread shortens and regrows the file over and over:
     * copies fault (SIGBUS) now and then, and every one is caught inside the read (an InternalError
     * escaping into the reader's loop fails the test), each read returns what pread could have
     * (the data's bytes, or the zeros a shortening leaves; never more than asked), and the file
     * stays usable.
     */
    @Test
    void copiesThatFaultWhileTheFileShrinksNeverEscapeTheRead() throws Exception {
        Path path = dir.resolve("churn");
        int size = 1 << 20;
        byte[] data = new byte[size];
        Arrays.fill(data, (byte) 7);
        Files.write(path, data);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong reads = new AtomicLong();
        try (AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel writer = FileChannel.open(path, StandardOpenOption.WRITE)) {
            readUntilMapped(file, 0);
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    ByteBuffer b = ByteBuffer.allocate(BLOCK);
                    try {
                        while (!stop.get()) {
                            long position = (long) ThreadLocalRandom.current().nextInt(size / BLOCK) * BLOCK;
                            b.clear();
                            int n = file.read(b, position);
                            if (n > BLOCK) {
                                throw new AssertionError("read " + n + " bytes into " + BLOCK);
                            }
                            for (int i = 0; i < Math.max(n, 0); i++) {
                                byte v = b.get(i);
                                if (v != 7 && v != 0) {
                                    throw new AssertionError("byte " + v + " at " + (position + i));
                                }
                            }
                            reads.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            ByteBuffer all = ByteBuffer.wrap(data);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            long minimum = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (failure.get() == null && System.nanoTime() < deadline
                    && (System.nanoTime() < minimum || file.mappedReads().faults() < 10)) {
                writer.truncate(ThreadLocalRandom.current().nextInt(size));
                Thread.sleep(1);
                all.clear();
                writer.write(all, 0);
                Thread.sleep(1);
            }
            stop.set(true);
            for (Thread r : readers) {
                assertThat(r.join(Duration.ofSeconds(10))).isTrue();
            }
            assertThat(failure.get()).as("a reader's failure").isNull();
            assertThat(reads.get()).isPositive();
            assertThat(file.mappedReads().faults()).as("copies that faulted, each read again with pread").isPositive();
            // Still served from a mapping afterwards.
            readUntilMapped(file, 0);
            assertThat(auraRead(file, 0, BLOCK)).isEqualTo(Arrays.copyOf(data, BLOCK));
        }
    }

    /** Closing the file unmaps it: no mapping of it outlives the file (/proc/self/maps). */
    @Test
    void closeUnmapsTheFile() throws Exception {
        Path path = dir.resolve("unmapped-at-close");
        AuraFile file = openMapped(path, 8);
        assertThat(mapsOf(path)).as("mappings of the file while open").isPositive();
        long live = MappedReads.liveMappingsInThisJvm();
        file.close();
        assertThat(mapsOf(path)).as("mappings of the file after close").isZero();
        // Counted out too (its mincore vector freed with it), or the JVM's limit would fill up.
        assertThat(MappedReads.liveMappingsInThisJvm()).isLessThan(live);
    }

    /** An interrupted reader closes the file without waiting (as FileChannel): the last user to leave unmaps it. */
    @Test
    void aFileClosedByAnInterruptIsUnmapped() throws Exception {
        Path path = dir.resolve("unmapped-on-interrupt");
        AuraFile file = openMapped(path, 9);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            Thread.currentThread().interrupt();
            try {
                auraRead(file, 0, BLOCK);
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        assertThat(reader.join(Duration.ofSeconds(10))).isTrue();
        assertThat(outcome.get()).isInstanceOf(java.nio.channels.ClosedByInterruptException.class);
        assertThat(file.isOpen()).isFalse();
        assertThat(mapsOf(path)).as("mappings of the file after the interrupt closed it").isZero();
    }

    /** A file dropped without close is unmapped with its descriptor closed, by its cleaner. */
    @Test
    void aFileDroppedWithoutCloseIsUnmappedOnceUnreachable() throws Exception {
        Path path = dir.resolve("unmapped-when-unreachable");
        openMapped(path, 10); // and dropped
        assertThat(mapsOf(path)).as("mappings of the dropped file").isPositive();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (mapsOf(path) > 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(mapsOf(path)).as("mappings of the dropped file once unreachable").isZero();
    }

    /** Writes 256 KiB of {@link #nonZero} bytes to {@code path} and opens it, read until mapped. */
    private static AuraFile openMapped(Path path, long seed) throws IOException {
        Files.write(path, TestSupport.nonZeroBytes(256 * 1024, seed));
        AuraFile file = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
        readUntilMapped(file, 0);
        return file;
    }

    private static long mapsOf(Path path) throws IOException {
        String name = path.toRealPath().toString();
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.endsWith(" " + name)).count();
        }
    }
}
