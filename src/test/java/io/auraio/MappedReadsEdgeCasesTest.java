package io.auraio;

import static io.auraio.MappedFixtures.readUntilMapped;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.mapped.MappedReads;
import io.auraio.testing.Commands;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Edge cases of {@link MappedReads}: large sparse files (2^31, 2^32, the last page),
 * holes, odd buffers, files changed by others while mapped, and the mappings' life (close,
 * delete, rename, engine close, many instances, many threads closing while others read). The
 * JDK's {@link FileChannel} is the oracle throughout.
 */
@ExtendWith(IoUringAvailable.class)
class MappedReadsEdgeCasesTest {
    private static final int BLOCK = 4096;
    private static final long GIB = 1L << 30;
    private static final byte UNREAD = 0x55;
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory directory = new TestDirectory();
    private Path dir;

    @BeforeEach
    void mappedReadsOn() {
        assumeTrue(MappedReads.enabled(), "mapped reads are off in this JVM");
        dir = directory.path();
    }

    // ---- helpers ---------------------------------------------------------------------------

    /** A buffer of {@code kind} with {@code length} bytes between position {@code offset} and its limit, the rest {@link #UNREAD}. */
    private static ByteBuffer buffer(int kind, int offset, int length, Arena arena) {
        int capacity = offset + length + 7;
        ByteBuffer b = switch (kind) {
            case 0 -> ByteBuffer.allocate(capacity);
            case 1 -> ByteBuffer.allocateDirect(capacity);
            default -> Arena.ofAuto().allocate(capacity).asByteBuffer();
        };
        for (int i = 0; i < capacity; i++) {
            b.put(i, UNREAD);
        }
        b.position(offset).limit(offset + length);
        return b;
    }

    private static byte[] whole(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.duplicate().clear().get(0, out);
        return out;
    }

    /** Reads at {@code position} with both and asserts the same count, position and whole buffer. */
    private static void assertSameRead(AuraFile aura, FileChannel jdk, long position, int length, int kind, int offset,
                                       Arena arena) throws IOException {
        ByteBuffer ours = buffer(kind, offset, length, arena);
        ByteBuffer theirs = buffer(kind, offset, length, arena);
        Object n = outcome(() -> aura.read(ours, position));
        Object m = outcome(() -> jdk.read(theirs, position));
        String what = "read of " + length + " at " + position + " (kind " + kind + ", offset " + offset + ")";
        assertThat(n).as("count of the %s", what).isEqualTo(m);
        assertThat(ours.position()).as("buffer position after the %s", what).isEqualTo(theirs.position());
        assertThat(Arrays.equals(whole(ours), whole(theirs))).as("bytes of the %s", what).isTrue();
    }

    interface Read {
        int read() throws IOException;
    }

    /** {@return the count, or the exception (IOException for any of its kinds, with its message)} */
    private static Object outcome(Read read) {
        try {
            return read.read();
        } catch (IOException e) {
            return "IOException: " + e.getMessage();
        } catch (RuntimeException e) {
            return e.getClass().getSimpleName();
        }
    }

    private static long inode(Path path) throws IOException {
        return ((Number) Files.getAttribute(path, "unix:ino")).longValue();
    }

    /** {@return the lines of /proc/self/maps that map the file with inode {@code ino}} */
    private static long mapsOfInode(long ino) throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.trim().split("\\s+")).filter(f -> f.length >= 6 && f[4].equals(Long.toString(ino)))
                    .count();
        }
    }

    /** A sparse file of {@code size} bytes with non-zero data in windows around each of {@code centres}. */
    private static byte[][] sparseWithWindows(Path path, long size, long[] centres, int half) throws IOException {
        byte[][] windows = new byte[centres.length][];
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            raf.setLength(size);
            for (int i = 0; i < centres.length; i++) {
                long start = Math.max(0, centres[i] - half);
                long end = Math.min(size, centres[i] + half);
                windows[i] = TestSupport.nonZeroBytes((int) (end - start), 100 + i);
                raf.seek(start);
                raf.write(windows[i]);
            }
        }
        return windows;
    }

    // ---- large files, boundaries, holes, odd buffers ----------------------------------------

    private void boundariesMatchFileChannel(Path path) throws Exception {
        long size = 4 * GIB + 8 * BLOCK + 123; // past 2^32, its last page partial
        long[] centres = {0, 1L << 31, 1L << 32, size};
        sparseWithWindows(path, size, centres, 96 * 1024);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             Arena arena = Arena.ofShared()) {
            readUntilMapped(aura, 0);
            int[] lengths = {0, 1, 2, 4095, 4096, 4097, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, (1 << 20) + 3};
            long[] deltas = {-(1 << 20) - 5, -32 * 1024, -4097, -4096, -4095, -100, -1, 0, 1, 4095, 4096};
            for (int pass = 0; pass < 3; pass++) { // again once the pages are in memory and the mapping served
                int k = 0;
                for (long centre : new long[] {1L << 31, 1L << 32, size}) {
                    for (long delta : deltas) {
                        for (int length : lengths) {
                            long position = centre + delta;
                            if (position < 0) {
                                continue;
                            }
                            k++;
                            assertSameRead(aura, jdk, position, length, k % 3, k % 5, arena);
                            // The same read ending exactly at the centre (a read straddling it ends on it).
                            if (centre - length >= 0) {
                                assertSameRead(aura, jdk, centre - length, length, (k + 1) % 3, (k * 7) % 13, arena);
                            }
                        }
                    }
                }
            }
            // The mapping itself served reads straddling 2^31 and 2^32 (their pages in memory now).
            for (long centre : new long[] {1L << 31, 1L << 32}) {
                long before = aura.mappedReads().served();
                assertSameRead(aura, jdk, centre - 2049, BLOCK, 2, 1, arena);
                assertThat(aura.mappedReads().served() - before).as("a read straddling %d served mapped", centre)
                        .isEqualTo(1);
            }
            // Holes: zeros, counted as FileChannel counts them (the mapped path declines zero-ended reads).
            for (int i = 0; i < 200; i++) {
                long position = (3L * GIB) + (long) i * 9 * BLOCK + (i % 7);
                assertSameRead(aura, jdk, position, 1 + (i * 997) % (32 * 1024), i % 3, i % 11, arena);
            }
            // After the hole reads the mapping still serves the data windows exactly.
            for (int i = 0; i < 300; i++) {
                long position = (1L << 32) - 64 * 1024 + ThreadLocalRandom.current().nextLong(128 * 1024 - BLOCK);
                assertSameRead(aura, jdk, position, 1 + ThreadLocalRandom.current().nextInt(BLOCK), i % 3, i % 9, arena);
            }
            // At and past the end, and near Long.MAX_VALUE.
            for (long position : new long[] {size - 1, size, size + 1, size + BLOCK, Long.MAX_VALUE - 1,
                    Long.MAX_VALUE - BLOCK, Long.MAX_VALUE - 32 * 1024, Long.MAX_VALUE, 1L << 62}) {
                for (int length : new int[] {0, 1, BLOCK, 64 * 1024}) {
                    assertSameRead(aura, jdk, position, length, 0, 3, arena);
                }
            }
        }
    }

    /** Reads straddling 2^31, 2^32 and the end of a 4 GiB sparse file on ext4, of every size and buffer kind. */
    @Test
    void readsAcrossTwoAndFourGiBAndTheLastPageMatchFileChannel() throws Exception {
        boundariesMatchFileChannel(dir.resolve("big"));
    }

    /** The same on tmpfs, where the file is mapped at its third read. */
    @Test
    void readsAcrossTwoAndFourGiBAndTheLastPageMatchFileChannelOnTmpfs() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && "tmpfs".equals(Files.getFileStore(shm).type()), "no tmpfs /dev/shm");
        Path path = Files.createTempFile(shm, "auraio-mapped", ".big");
        try {
            boundariesMatchFileChannel(path);
        } finally {
            Files.deleteIfExists(path);
        }
    }

    // ---- the file changed under the mapping -------------------------------------------------

    private static byte pattern(long p) {
        byte b = (byte) (p * 31 + (p >>> 12) * 7 + 1);
        return b == 0 ? 1 : b;
    }

    /**
     * Another channel shrinks the file below its mapped size and grows it past it (writing the
     * same pattern back) again and again while readers run: no crash, every count within the
     * request, every byte the file's (or zero, which a concurrent truncate lets pread see too:
     * counted for both).
     */
    @Test
    void aFileShrunkAndGrownRepeatedlyWhileReadersRunReadsOnlyItsOwnBytes() throws Exception {
        Path path = dir.resolve("breathing");
        int max = 4 << 20;
        byte[] full = new byte[max];
        for (int i = 0; i < max; i++) {
            full[i] = pattern(i);
        }
        Files.write(path, Arrays.copyOf(full, 1 << 20));
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             FileChannel writer = FileChannel.open(path, StandardOpenOption.WRITE)) {
            readUntilMapped(aura, 0);
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            AtomicLong auraZeros = new AtomicLong();
            AtomicLong jdkZeros = new AtomicLong();
            AtomicLong reads = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                boolean useJdk = t % 2 == 1;
                threads.add(Thread.ofVirtual().start(() -> {
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    try {
                        while (!stop.get()) {
                            int length = 1 + r.nextInt(r.nextBoolean() ? 64 : 32 * 1024);
                            long position = r.nextLong(max);
                            ByteBuffer b = ByteBuffer.allocate(length);
                            int n = useJdk ? jdk.read(b, position) : aura.read(b, position);
                            reads.incrementAndGet();
                            if (n > length || n == 0) {
                                wrong.add("count " + n + " of " + length + " at " + position);
                            }
                            for (int i = 0; i < Math.max(n, 0); i++) {
                                byte got = b.get(i);
                                if (got == 0) {
                                    (useJdk ? jdkZeros : auraZeros).incrementAndGet();
                                    break;
                                } else if (got != pattern(position + i)) {
                                    wrong.add("byte " + got + " at " + (position + i) + " (read of " + length + " at "
                                            + position + ", " + (useJdk ? "jdk" : "aura") + ")");
                                    break;
                                }
                            }
                        }
                    } catch (Throwable e) {
                        wrong.add(e.toString());
                    }
                }));
            }
            Random random = new Random(3);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500);
            long size = 1 << 20;
            while (System.nanoTime() < deadline && wrong.isEmpty()) {
                long next = random.nextInt(max);
                if (next < size) {
                    writer.truncate(next);
                } else {
                    writer.write(ByteBuffer.wrap(full, (int) size, (int) (next - size)), size);
                }
                size = next;
                Thread.sleep(0, 200_000);
            }
            stop.set(true);
            TestSupport.joinAll(threads);
            assertThat(wrong).as("wrong reads (of %d)", reads.get()).isEmpty();
            assertThat(aura.mappedReads().served() + aura.mappedReads().faults()).as("mapped copies").isPositive();
            // Zeros are seen by pread too while a truncate races; the mapping must not see many more.
            assertThat(auraZeros.get()).as("reads with a zero byte: aura %d, jdk %d", auraZeros.get(), jdkZeros.get())
                    .isLessThanOrEqualTo(10 * jdkZeros.get() + 10);
        }
    }

    /** Holes: a sparse region read as zeros with FileChannel's counts, while the data around it is served from the mapping. */
    @Test
    void holesPunchedUnderTheMappingReadAsZeros() throws Exception {
        Path path = dir.resolve("punched");
        byte[] data = TestSupport.nonZeroBytes(4 << 20, 9);
        Files.write(path, data);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             Arena arena = Arena.ofShared()) {
            readUntilMapped(aura, 0);
            for (long p = 0; p < data.length; p += BLOCK) {
                assertSameRead(aura, jdk, p, BLOCK, 0, 0, arena); // all resident
            }
            long served = aura.mappedReads().served();
            assertThat(served).isPositive();
            Commands.Ran punch = Commands.run(new ProcessBuilder("fallocate", "--punch-hole", "--offset",
                    String.valueOf(1 << 20), "--length", String.valueOf(1 << 20), path.toString()),
                    Duration.ofSeconds(30));
            assumeTrue(punch.succeeded(), "fallocate --punch-hole failed: " + punch);
            // At once (within the residency's 20 ms) and later.
            for (int round = 0; round < 2; round++) {
                for (long p = (1 << 20) - 3 * BLOCK; p < (2 << 20) + 3 * BLOCK; p += BLOCK / 2 + 17) {
                    assertSameRead(aura, jdk, p, BLOCK, (int) (p % 3), (int) (p % 5), arena);
                }
                Thread.sleep(30);
            }
        }
    }

    // ---- lifecycle: instances, close, delete, rename, engine close --------------------------

    /** Each instance maps the file once; close unmaps each, and no mapping of the inode is left. */
    @Test
    void manyInstancesOfOneFileEachMapAndCloseUnmapsEveryOne() throws Exception {
        Path path = dir.resolve("shared");
        byte[] data = TestSupport.nonZeroBytes(256 * 1024, 11);
        Files.write(path, data);
        long ino = inode(path);
        long liveBefore = MappedReads.liveMappingsInThisJvm();
        List<AuraFile> files = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) {
                AuraFile f = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
                files.add(f);
                readUntilMapped(f, 0);
            }
            assertThat(mapsOfInode(ino)).as("one mapping per instance").isEqualTo(40);
            assertThat(MappedReads.liveMappingsInThisJvm() - liveBefore).isEqualTo(40);
        } finally {
            for (AuraFile f : files) {
                f.close();
            }
        }
        assertThat(mapsOfInode(ino)).isZero();
        assertThat(MappedReads.liveMappingsInThisJvm()).isEqualTo(liveBefore);
    }

    /** DELETE_ON_CLOSE, and a file deleted while mapped: read exactly, and unmapped at close (no "(deleted)" mapping left). */
    @Test
    void deletedFilesReadExactlyAndAreUnmappedAtClose() throws Exception {
        Path path = dir.resolve("doomed");
        byte[] data = TestSupport.nonZeroBytes(512 * 1024, 12);
        Files.write(path, data);
        long ino = inode(path);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE)) {
            readUntilMapped(aura, 0);
            Files.deleteIfExists(path); // gone already or not: either way still mapped
            for (int i = 0; i < 500; i++) {
                int p = ThreadLocalRandom.current().nextInt(data.length - BLOCK);
                ByteBuffer b = ByteBuffer.allocate(BLOCK);
                assertThat(aura.read(b, p)).isEqualTo(BLOCK);
                assertThat(Arrays.equals(b.array(), 0, BLOCK, data, p, p + BLOCK)).isTrue();
            }
            assertThat(aura.mappedReads().served()).isPositive();
            assertThat(mapsOfInode(ino)).isEqualTo(1);
        }
        assertThat(Files.exists(path)).isFalse();
        assertThat(mapsOfInode(ino)).as("mappings of the deleted inode after close").isZero();
    }

    /** A file replaced by rename (same path, new inode) while mapped: the old inode's bytes, as an open FileChannel reads them. */
    @Test
    void aFileReplacedByRenameKeepsReadingTheOldInodeAsFileChannelDoes() throws Exception {
        Path path = dir.resolve("replaced");
        byte[] old = TestSupport.nonZeroBytes(256 * 1024, 13);
        Files.write(path, old);
        long oldIno = inode(path);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             Arena arena = Arena.ofShared()) {
            readUntilMapped(aura, 0);
            Path fresh = dir.resolve("fresh");
            Files.write(fresh, TestSupport.nonZeroBytes(64 * 1024, 14));
            Files.move(fresh, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            for (int i = 0; i < 300; i++) {
                long p = ThreadLocalRandom.current().nextLong(old.length + BLOCK);
                assertSameRead(aura, jdk, p, 1 + ThreadLocalRandom.current().nextInt(BLOCK * 2), i % 3, i % 7, arena);
            }
            assertThat(aura.size()).isEqualTo(old.length);
        }
        assertThat(mapsOfInode(oldIno)).isZero();
    }

    /** After Engine.close() the mapped file reads as every other request then (shutdown), and its close still unmaps it. */
    @Test
    void anEngineClosedUnderAMappedFileStopsItsReadsAndCloseStillUnmaps() throws Exception {
        Path path = dir.resolve("orphan");
        Files.write(path, TestSupport.nonZeroBytes(256 * 1024, 15));
        long ino = inode(path);
        Engine own = Engine.create(Options.builder().ringCount(1).build());
        AuraFile aura = AuraFile.open(own, path, StandardOpenOption.READ);
        try {
            readUntilMapped(aura, 0);
            own.close();
            ByteBuffer b = ByteBuffer.allocate(BLOCK);
            assertThat(outcome(() -> aura.read(b, 0))).as("a mapped read after Engine.close()").asString()
                    .startsWith("IOException");
            assertThat(b.position()).isZero();
            assertThat(mapsOfInode(ino)).isEqualTo(1);
        } finally {
            aura.close();
            own.close();
        }
        assertThat(mapsOfInode(ino)).isZero();
    }

    /**
     * Memory safety: readers on many virtual threads read mapped instances of one file while
     * other threads close them and open new ones. A copy from an unmapped region would crash
     * the JVM; every read must be exact or fail as closed.
     */
    @Test
    void closingWhileOthersReadNeverReadsUnmappedMemory() throws Exception {
        Path path = dir.resolve("churn");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 16);
        Files.write(path, data);
        long ino = inode(path);
        int slots = 6;
        AtomicReferenceArray<AuraFile> files = new AtomicReferenceArray<>(slots);
        for (int i = 0; i < slots; i++) {
            AuraFile f = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
            readUntilMapped(f, 0);
            files.set(i, f);
        }
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicLong exact = new AtomicLong();
        AtomicLong closedSeen = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 12; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                ByteBuffer direct = ByteBuffer.allocateDirect(32 * 1024);
                while (!stop.get()) {
                    AuraFile f = files.get(r.nextInt(slots));
                    int length = 1 + r.nextInt(r.nextBoolean() ? BLOCK : 32 * 1024);
                    int p = r.nextInt(data.length - length);
                    ByteBuffer b = r.nextBoolean() ? ByteBuffer.allocate(length) : direct.clear().limit(length);
                    try {
                        int n = f.read(b, p);
                        if (n != length) {
                            wrong.add("count " + n + " of " + length);
                            continue;
                        }
                        for (int i = 0; i < length; i++) {
                            if (b.get(i) != data[p + i]) {
                                wrong.add("byte at " + (p + i));
                                break;
                            }
                        }
                        exact.incrementAndGet();
                    } catch (ClosedChannelException e) {
                        closedSeen.incrementAndGet();
                    } catch (Throwable e) {
                        wrong.add(e.toString());
                    }
                }
            }));
        }
        for (int t = 0; t < 2; t++) {
            threads.add(Thread.ofVirtual().start(() -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                while (!stop.get()) {
                    int slot = r.nextInt(slots);
                    try {
                        AuraFile fresh = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
                        ByteBuffer warm = ByteBuffer.allocate(BLOCK);
                        for (int i = 0; i < 80 && !fresh.mappedReads().isMapped(); i++) {
                            warm.clear();
                            fresh.read(warm, (long) (i % 16) * BLOCK);
                        }
                        AuraFile old = files.get(slot);
                        old.close(); // while still in its slot: readers find it closed
                        if (!files.compareAndSet(slot, old, fresh)) {
                            fresh.close(); // the other closer replaced it first
                        }
                    } catch (Throwable e) {
                        wrong.add("closer: " + e);
                    }
                }
            }));
        }
        Thread.sleep(2500);
        stop.set(true);
        TestSupport.joinAll(threads);
        for (int i = 0; i < slots; i++) {
            files.get(i).close();
        }
        assertThat(wrong).isEmpty();
        assertThat(exact.get()).isPositive();
        assertThat(closedSeen.get()).isPositive();
        assertThat(mapsOfInode(ino)).as("mappings left after every instance closed").isZero();
    }

    /** Relative reads of a channel interleaved with position(long) and another channel's writes: as FileChannel. */
    @Test
    void relativeReadsInterleavedWithPositionAndWritesMatchFileChannel() throws Exception {
        Path path = dir.resolve("relative");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 17);
        Files.write(path, data);
        Random random = new Random(18);
        try (AuraFileChannel aura = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             FileChannel writer = FileChannel.open(path, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            for (int i = 0; i < 3000; i++) {
                int op = random.nextInt(10);
                if (op == 0) {
                    long p = random.nextInt(data.length + 2 * BLOCK);
                    aura.position(p);
                    jdk.position(p);
                } else if (op == 1) {
                    byte[] w = TestSupport.nonZeroBytes(1 + random.nextInt(2 * BLOCK), i);
                    if (i % 5 == 0) {
                        w[w.length - 1] = 0; // a zero-ended block too
                    }
                    writer.write(ByteBuffer.wrap(w), random.nextInt(data.length + BLOCK));
                } else {
                    int length = random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(random.nextBoolean() ? 64 : 40 * 1024);
                    int kind = random.nextInt(3);
                    int offset = random.nextInt(9);
                    ByteBuffer ours = buffer(kind, offset, length, arena);
                    ByteBuffer theirs = buffer(kind, offset, length, arena);
                    int n = aura.read(ours);
                    int m = jdk.read(theirs);
                    assertThat(n).as("read %d", i).isEqualTo(m);
                    assertThat(whole(ours)).as("read %d", i).isEqualTo(whole(theirs));
                    assertThat(aura.position()).isEqualTo(jdk.position());
                }
            }
        }
    }

    /** An O_DIRECT write through another descriptor above 4 GiB drops the cached pages; later mapped reads see it. */
    @Test
    void oDirectWritesAboveFourGiBAreSeenByMappedReads() throws Exception {
        Path path = dir.resolve("direct-big");
        long centre = (1L << 32) + 64 * 1024;
        byte[][] windows = sparseWithWindows(path, 5 * GIB, new long[] {0, centre}, 64 * 1024);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             Arena arena = Arena.ofShared()) {
            readUntilMapped(aura, 0);
            for (int i = 0; i < 200; i++) {
                assertSameRead(aura, jdk, centre - 32 * 1024 + (i % 16) * BLOCK, BLOCK, 0, 0, arena);
            }
            long served = aura.mappedReads().served();
            assertThat(served).as("served above 4 GiB").isGreaterThan(100);
            assertThat(windows[1][0]).isNotZero();
            try (FileChannel direct = FileChannel.open(path, StandardOpenOption.WRITE,
                    io.auraio.testing.Direct.DIRECT)) {
                ByteBuffer w = ByteBuffer.allocateDirect(2 * BLOCK + BLOCK).alignedSlice(BLOCK);
                w.limit(2 * BLOCK);
                byte[] fresh = TestSupport.nonZeroBytes(2 * BLOCK, 19);
                w.put(0, fresh);
                assertThat(direct.write(w, centre - BLOCK)).isEqualTo(2 * BLOCK);
            }
            for (int i = 0; i < 200; i++) {
                assertSameRead(aura, jdk, centre - 2 * BLOCK + (i % 4) * BLOCK + (i % 3), BLOCK, i % 3, i % 5, arena);
            }
        }
    }

    private static Path tmpfsFile(String suffix) throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && "tmpfs".equals(Files.getFileStore(shm).type()), "no tmpfs /dev/shm");
        return Files.createTempFile(shm, "auraio-mapped", suffix);
    }

    /**
     * The design: "past [the mapped size] they take preadv2, and the file is mapped again once it
     * has doubled". On tmpfs (and overlayfs: {@code mapsWithoutHits}) no page-cache hit is ever
     * told, and {@code mapWithoutHits} mapped only while there was no mapping: a file that grew
     * was never mapped again. Reads past the mapped size now count towards a new mapping.
     */
    @Test
    void aTmpfsFileThatGrowsIsMappedAgainOnceItDoubled() throws Exception {
        Path path = tmpfsFile(".growing");
        try {
            byte[] data = TestSupport.nonZeroBytes(1 << 20, 20);
            Files.write(path, Arrays.copyOf(data, 64 * 1024));
            try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
                readUntilMapped(aura, 0);
                try (FileChannel writer = FileChannel.open(path, StandardOpenOption.WRITE)) {
                    writer.write(ByteBuffer.wrap(data, 64 * 1024, data.length - 64 * 1024), 64 * 1024);
                }
                long mappings = MappedReads.mappingsMadeInThisJvm();
                for (int i = 0; i < 2000; i++) {
                    int p = 64 * 1024 + (i % 200) * BLOCK;
                    ByteBuffer b = ByteBuffer.allocate(BLOCK);
                    assertThat(aura.read(b, p)).isEqualTo(BLOCK);
                    assertThat(Arrays.equals(b.array(), 0, BLOCK, data, p, p + BLOCK)).isTrue();
                }
                long served = aura.mappedReads().served();
                for (int i = 0; i < 200; i++) {
                    aura.read(ByteBuffer.allocate(BLOCK), 64 * 1024 + (long) i * BLOCK);
                }
                assertThat(MappedReads.mappingsMadeInThisJvm() - mappings)
                        .as("mappings made after the file grew 16x (2,000 hot reads of the new part)").isPositive();
                assertThat(aura.mappedReads().served() - served).as("reads of the grown part served from a mapping")
                        .isPositive();
            }
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /**
     * At the JVM's limit of live mappings (4096) a file is refused a mapping for now, not for good
     * (it was: {@code eligible = false}): once the other files are closed and the mappings free
     * again, a hot file opened during the peak is mapped and served from it.
     */
    @Test
    void aFileRefusedAtTheLiveMappingLimitIsMappedOnceMappingsAreFreeAgain() throws Exception {
        Path path = tmpfsFile(".limit");
        List<AuraFile> filler = new ArrayList<>();
        try {
            Files.write(path, TestSupport.nonZeroBytes(16 * 1024, 21));
            ByteBuffer b = ByteBuffer.allocate(BLOCK);
            for (int i = 0; MappedReads.liveMappingsInThisJvm() < 4096 && i < 4200; i++) {
                AuraFile f = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
                filler.add(f);
                for (int r = 0; r < 4 && !f.mappedReads().isMapped(); r++) {
                    f.read(b.clear(), 0);
                }
            }
            assertThat(MappedReads.liveMappingsInThisJvm()).isGreaterThanOrEqualTo(4096);
            try (AuraFile late = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
                for (int r = 0; r < 10; r++) {
                    late.read(b.clear(), 0);
                }
                assertThat(late.mappedReads().isMapped()).as("mapped at the limit").isFalse();
                for (AuraFile f : filler) {
                    f.close();
                }
                filler.clear();
                for (int r = 0; r < 1000; r++) {
                    late.read(b.clear(), (r % 4) * BLOCK);
                }
                assertThat(late.mappedReads().served()).as("reads served from a mapping once 4096 were freed")
                        .isPositive();
            }
        } finally {
            for (AuraFile f : filler) {
                f.close();
            }
            Files.deleteIfExists(path);
        }
    }

    /**
     * Memory safety of the close without waiting (an interrupted reader closes the channel, as
     * FileChannel): the other readers may still be copying from the mapping, and the last of them
     * to leave unmaps it. Channels are opened, read by several threads, and closed by an
     * interrupt, again and again; every read is exact or ends as closed.
     */
    @Test
    void interruptClosesWhileOthersCopyFromTheMappingNeverReadUnmappedMemory() throws Exception {
        Path path = dir.resolve("interrupted");
        byte[] data = TestSupport.nonZeroBytes(1 << 20, 22);
        Files.write(path, data);
        long ino = inode(path);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicLong exact = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500);
        int rounds = 0;
        while (System.nanoTime() < deadline && wrong.isEmpty()) {
            rounds++;
            AuraFileChannel channel = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ);
            ByteBuffer warm = ByteBuffer.allocate(BLOCK);
            for (int i = 0; i < 80; i++) {
                channel.read(warm.clear(), (long) (i % 16) * BLOCK);
            }
            List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    while (true) {
                        int length = 1 + r.nextInt(BLOCK * 2);
                        int p = r.nextInt(64 * 1024);
                        ByteBuffer b = r.nextBoolean() ? ByteBuffer.allocate(length) : ByteBuffer.allocateDirect(length);
                        try {
                            int n = channel.read(b, p);
                            if (n != length || !Arrays.equals(whole(b), 0, length, data, p, p + length)) {
                                wrong.add("read of " + length + " at " + p + ": " + n);
                            }
                            exact.incrementAndGet();
                        } catch (ClosedChannelException e) {
                            return;
                        } catch (Throwable e) {
                            wrong.add(e.toString());
                            return;
                        }
                    }
                }));
            }
            Thread.sleep(0, 300_000);
            readers.get(rounds % readers.size()).interrupt();
            TestSupport.joinAll(readers);
            assertThat(channel.isOpen()).isFalse();
        }
        assertThat(wrong).isEmpty();
        assertThat(exact.get()).isPositive();
        assertThat(mapsOfInode(ino)).as("mappings left after %d channels closed by interrupts", rounds).isZero();
    }
}
