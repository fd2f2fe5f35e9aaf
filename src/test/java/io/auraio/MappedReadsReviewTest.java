package io.auraio;

import static io.auraio.MappedFixtures.readUntilMapped;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.mapped.MappedReads;
import io.auraio.testing.Commands;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Overlay;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.RandomAccessFile;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile review of page-cache reads copied from a mapping ({@link MappedReads}) and the caller's
 * {@code preadv2(RWF_NOWAIT)} path: files changed under the mapping by other processes (extent
 * shifts, holes, truncation and rewrites while virtual threads read), positions at the mapping's
 * end and near {@code Long.MAX_VALUE}, odd and freed buffers, the 64 GiB cap of a huge sparse file,
 * residency after pages were dropped, and mappings released at close. {@link FileChannel} is the
 * oracle wherever it can be run side by side.
 */
@ExtendWith(IoUringAvailable.class)
class MappedReadsReviewTest {
    private static final int BLOCK = 4096;
    private static final byte UNREAD = 0x55;
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

    // ---- helpers ---------------------------------------------------------------------------

    /** Runs a command; {@return its exit status} with its output in {@code out} (first element). */
    private static int run(String[] out, String... command) throws Exception {
        Commands.Ran ran = Commands.run(new ProcessBuilder(command), Duration.ofSeconds(60));
        if (out != null) {
            out[0] = ran.output();
        }
        return ran.exitCode();
    }

    private static void shell(String... command) throws Exception {
        String[] out = new String[1];
        assertThat(run(out, command)).as("%s: %s", String.join(" ", command), out[0]).isZero();
    }

    interface Read {
        int read() throws Exception;
    }

    /** {@return the count, or the exception's class and message} */
    private static Object outcome(Read read) {
        try {
            return read.read();
        } catch (IOException e) {
            // AuraIOException and the JDK's IOException for one errno: compared by message.
            return "IOException: " + e.getMessage();
        } catch (Exception e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    private static ByteBuffer filled(ByteBuffer b) {
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, UNREAD);
        }
        return b;
    }

    /** {@return the buffer's bytes, all of them; null for a buffer whose memory was freed} */
    private static byte[] whole(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        try {
            b.duplicate().clear().get(0, out);
        } catch (IllegalStateException freed) {
            return null;
        }
        return out;
    }

    /** Reads with both into twin buffers made by {@code make}; asserts the same outcome, position and whole buffer. */
    private static void assertSameRead(AuraFile aura, FileChannel jdk, long position, java.util.function.Supplier<ByteBuffer> make,
                                       String what) {
        ByteBuffer ours = make.get();
        ByteBuffer theirs = make.get();
        int ourStart = ours.position();
        Object n = outcome(() -> aura.read(ours, position));
        Object m = outcome(() -> jdk.read(theirs, position));
        String as = what + " at " + position;
        assertThat(n).as("outcome of the read %s", as).isEqualTo(m);
        assertThat(ours.position()).as("buffer position after the read %s", as).isEqualTo(theirs.position());
        assertThat(ours.position()).as("moved from %d", ourStart).isGreaterThanOrEqualTo(ourStart);
        if (!ours.isReadOnly()) {
            byte[] got = whole(ours);
            byte[] expected = whole(theirs);
            assertThat(got == null || expected == null ? (got == expected ? -1 : 0) : Arrays.mismatch(got, expected))
                    .as("first byte of the buffer unlike FileChannel's after the read %s (-1: none)", as).isEqualTo(-1);
        }
    }

    private static void assertSameReads(AuraFile aura, FileChannel jdk, long[] positions, int[] lengths, String what) {
        for (long p : positions) {
            for (int length : lengths) {
                assertSameRead(aura, jdk, p, () -> filled(ByteBuffer.allocate(length + 3)).position(1).limit(length + 1),
                        what + " (" + length + " bytes, heap)");
                assertSameRead(aura, jdk, p, () -> filled(ByteBuffer.allocateDirect(length + 3)).position(2).limit(length + 2),
                        what + " (" + length + " bytes, direct)");
            }
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

    /** Reads every block (and block straddling reads) of the first {@code size} bytes, so the mapping has touched them. */
    private static void readAll(AuraFile aura, long size) throws IOException {
        for (long p = 0; p < size; p += BLOCK) {
            aura.read(ByteBuffer.allocate(BLOCK), p);
        }
    }

    // ---- files changed by other processes ---------------------------------------------------

    /**
     * ext4's {@code fallocate} modes run by another process on a mapped, read-hot file: a
     * collapsed range (the rest of the file shifts down, the file shrinks), an inserted range
     * (shifts up, a hole appears), a zeroed range and a punched hole. Every read, at every block
     * and across each range's edges, must be FileChannel's at that moment.
     */
    @Test
    void extentShiftsAndHolesMadeByAnotherProcessReadAsFileChannel() throws Exception {
        Path path = dir.resolve("shifted");
        int size = 1 << 20;
        Files.write(path, TestSupport.nonZeroBytes(size, 21));
        String[][] changes = {
                {"fallocate", "-c", "-o", "65536", "-l", "131072"}, // collapse: 128 KiB gone from 64 KiB
                {"fallocate", "-i", "-o", "131072", "-l", "65536"}, // insert: a 64 KiB hole at 128 KiB
                {"fallocate", "-z", "-o", "262144", "-l", "10000"}, // zero a range ending inside a page
                {"fallocate", "-p", "-o", "401408", "-l", "8192"}, // punch a hole
                {"fallocate", "-c", "-o", "0", "-l", "4096"}, // collapse the first block
        };
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            readAll(aura, size);
            readAll(aura, size);
            for (String[] change : changes) {
                String[] command = Arrays.copyOf(change, change.length + 1);
                command[change.length] = path.toString();
                String[] out = new String[1];
                assumeTrue(run(out, command) == 0, String.join(" ", command) + " is not supported here: " + out[0]);
                long now = jdk.size();
                List<Long> positions = new ArrayList<>();
                for (long p = 0; p < size + 2 * BLOCK; p += BLOCK) {
                    positions.add(p);
                }
                for (long p : new long[] {65_535, 65_536 + 4000, 131_071, 196_607, 262_143, 262_144 + 9_999, 272_143,
                        401_407, 409_599, now - 1, now, now + 1, now - 4095}) {
                    positions.add(p);
                }
                String what = "after " + String.join(" ", change);
                assertSameReads(aura, jdk, positions.stream().mapToLong(Long::longValue).toArray(),
                        new int[] {1, 100, BLOCK, 3 * BLOCK + 5}, what);
            }
            assertThat(aura.mappedReads().served()).as("reads served from the mapping").isPositive();
        }
    }

    /**
     * Another process truncates the file (to zero and to sizes inside a page) and rewrites it
     * with one of two contents, over and over, while virtual threads read it at random (every
     * buffer kind, lengths up to the mapping's limit and past it). The file at any moment is a
     * prefix of what was written, so every byte a read returns is one of the two contents' byte
     * at that offset (never a zero: both are zero-free), a count never goes past the written
     * size, and nothing but counts comes back: no InternalError, no crash, no hang.
     */
    @Test
    void aFileTruncatedAndRewrittenByAnotherProcessWhileVirtualThreadsReadNeverReadsWhatWasNotThere() throws Exception {
        Path path = dir.resolve("churned");
        int size = 1 << 20;
        byte[] a = TestSupport.nonZeroBytes(size, 31);
        byte[] b = TestSupport.nonZeroBytes(size, 32);
        Files.write(path, a);
        Path srcA = dir.resolve("a");
        Path srcB = dir.resolve("b");
        Files.write(srcA, a);
        Files.write(srcB, b);
        Path stop = dir.resolve("stop");
        String script = "i=0; while [ ! -e " + stop + " ]; do i=$((i+1)); "
                + "truncate -s $(( (RANDOM * 37) % " + size + " )) " + path + "; "
                + "if [ $((i % 2)) -eq 0 ]; then s=" + srcA + "; else s=" + srcB + "; fi; "
                + "dd if=$s of=" + path + " bs=65536 conv=notrunc status=none; "
                + "if [ $((i % 5)) -eq 0 ]; then truncate -s 0 " + path + "; dd if=$s of=" + path
                + " bs=65536 conv=notrunc status=none; fi; done";
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            readAll(aura, size);
            Process churn = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            AtomicLong reads = new AtomicLong();
            AtomicBoolean done = new AtomicBoolean();
            List<Thread> readers = new ArrayList<>();
            int[] lengths = {1, 100, 4095, BLOCK, 8192, 32 * 1024, 32 * 1024 + 1};
            try (Arena arena = Arena.ofShared()) {
                for (int t = 0; t < 8; t++) {
                    int kind = t % 3;
                    readers.add(Thread.ofVirtual().start(() -> {
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        while (!done.get()) {
                            int length = lengths[random.nextInt(lengths.length)];
                            long position = random.nextLong(size + BLOCK);
                            ByteBuffer buf = switch (kind) {
                                case 0 -> ByteBuffer.allocate(length);
                                case 1 -> ByteBuffer.allocateDirect(length);
                                default -> arena.allocate(length).asByteBuffer();
                            };
                            int n;
                            try {
                                n = aura.read(buf, position);
                            } catch (Throwable e) {
                                wrong.add("read of " + length + " at " + position + " threw " + e);
                                return;
                            }
                            reads.incrementAndGet();
                            if (n == 0 || n > length || (n > 0 && position + n > size)) {
                                wrong.add("read of " + length + " at " + position + " returned " + n);
                                continue;
                            }
                            for (int i = 0; i < n; i++) {
                                byte got = buf.get(i);
                                int at = (int) position + i;
                                if (got != a[at] && got != b[at]) {
                                    wrong.add("read of " + length + " at " + position + " returned " + n + ", byte "
                                            + i + " is " + got + ", neither content's (" + a[at] + ", " + b[at] + ")");
                                    break;
                                }
                            }
                        }
                    }));
                }
                try {
                    TestSupport.awaitCondition("enough reads during the churn",
                            () -> reads.get() > 200_000 || !wrong.isEmpty() || !churn.isAlive());
                } finally {
                    done.set(true);
                    Files.createFile(stop);
                    TestSupport.assertAllEnd(readers, TestSupport.HANG, () -> "readers of the churned file");
                    assertThat(churn.waitFor(60, TimeUnit.SECONDS)).as("the churning process stopped").isTrue();
                }
            }
            String churnOut = new String(churn.getInputStream().readAllBytes());
            assertThat(churn.exitValue()).as("the churning process: %s", churnOut).isZero();
            assertThat(wrong).as("reads that returned what the file never held").isEmpty();
            assertThat(aura.mappedReads().served()).as("reads served from the mapping").isPositive();
            assertThat(aura.mappedReads().faults()).as("copies that faulted past a new end, caught in the read")
                    .isPositive();
        }
    }

    /**
     * Writes into the range being read by another process: through its own shared writable
     * mapping, with {@code copy_file_range} from another file, and with {@code O_DIRECT}. Each is
     * seen by the next read exactly as by FileChannel's.
     */
    @Test
    void writesByAnotherProcessThroughItsMappingCopyFileRangeAndODirectAreSeen() throws Exception {
        String[] out = new String[1];
        assumeTrue(run(out, "python3", "-c", "import os, mmap; os.copy_file_range") == 0,
                "python3 with os.copy_file_range is needed to write from another process: " + out[0]);
        Path path = dir.resolve("written");
        int size = 1 << 20;
        Files.write(path, TestSupport.nonZeroBytes(size, 41));
        Path other = dir.resolve("other");
        Files.write(other, TestSupport.nonZeroBytes(size, 42));
        String[] writers = {
                // a shared writable mapping of the file, written and flushed by another process
                "import mmap, os\nfd = os.open('" + path + "', os.O_RDWR)\nm = mmap.mmap(fd, 0)\n"
                        + "m[4000:12300] = bytes((i % 250) + 3 for i in range(8300))\nm.flush()\nm.close()\n",
                // copy_file_range from another file into the range
                "import os\ns = os.open('" + other + "', os.O_RDONLY)\nd = os.open('" + path + "', os.O_WRONLY)\n"
                        + "n = os.copy_file_range(s, d, 65536, 8192, 20000)\nassert n == 65536, n\n",
                // O_DIRECT write of aligned blocks (drops the cached pages it covers)
                "import os, mmap\nfd = os.open('" + path + "', os.O_WRONLY | os.O_DIRECT)\nb = mmap.mmap(-1, 16384)\n"
                        + "b.write(bytes((i % 200) + 7 for i in range(16384)))\nassert os.pwritev(fd, [b], 81920) == 16384\n",
        };
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            readAll(aura, 128 * 1024);
            readAll(aura, 128 * 1024);
            long[] positions = {0, 3999, 4000, 4096, 8192, 12299, 12300, 16384, 20000, 24576, 65536, 77824, 81920,
                    98303, 98304};
            for (String writer : writers) {
                shell("python3", "-c", writer);
                assertSameReads(aura, jdk, positions, new int[] {1, 300, BLOCK, 32 * 1024}, "after " + writer.lines()
                        .reduce((x, y) -> y).orElse(""));
            }
            assertThat(aura.mappedReads().served()).as("reads served from the mapping").isPositive();
        }
    }

    /**
     * A file of an overlay's lower layer, open for reading and hot, is copied up by another
     * process that writes it: from then on, {@code pread} through the same descriptor reads the
     * upper copy (overlayfs reopens the real file), while a mapping made through that descriptor
     * maps the lower file for good (overlayfs documents that a mapping does not follow a copy-up).
     * Every read must be FileChannel's on its own descriptor: the written bytes.
     */
    @Test
    void anOverlayFileCopiedUpByAnotherWriterReadsTheNewBytesAsFileChannel() throws Exception {
        try (Overlay overlay = Overlay.layers(dir.resolve("overlay"))) {
            int size = 256 * 1024;
            Files.write(overlay.lower().resolve("layered"), TestSupport.nonZeroBytes(size, 43));
            overlay.mount();
            Path path = overlay.merged().resolve("layered");
            try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
                 FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
                assumeTrue(aura.mappedReads() != null, "mapped reads are off here");
                for (int round = 0; round < 2; round++) {
                    readAll(aura, size);
                }
                // Another process writes through the overlay: the file is copied up.
                Path fresh = dir.resolve("fresh");
                Files.write(fresh, TestSupport.nonZeroBytes(3 * BLOCK, 44));
                shell("dd", "if=" + fresh, "of=" + path, "bs=4096", "seek=1", "conv=notrunc", "status=none");
                long[] positions = {0, 100, BLOCK - 1, BLOCK, BLOCK + 1000, 2 * BLOCK, 4 * BLOCK - 1, 4 * BLOCK,
                        5 * BLOCK, size - BLOCK};
                for (int round = 0; round < 3; round++) {
                    assertSameReads(aura, jdk, positions, new int[] {1, 100, BLOCK, 3 * BLOCK}, "after a copy-up");
                }
            }
        }
    }

    /**
     * The caller's {@code preadv2(RWF_NOWAIT)} stops at the first page not in memory; the rest
     * of the buffer is read on (from the page cache, then the ring): counts and whole buffers as
     * FileChannel's, from page-aligned and unaligned positions, across the cached part's end, to
     * the end of files that end inside a page and at a page's end.
     */
    @Test
    void readsThatMissPartWayAreContinuedToFileChannelsCount() throws Exception {
        long ringOpsBefore = ringOps();
        for (int size : new int[] {64 * 1024 + 500, 64 * 1024}) {
            Path path = dir.resolve("partly-" + size);
            Files.write(path, TestSupport.nonZeroBytes(size, 68));
            for (int cached : new int[] {1, 3, 15}) {
                for (long position : new long[] {0, 100, BLOCK, cached * (long) BLOCK - 10}) {
                    for (int length : new int[] {2 * BLOCK, 20_000, 64 * 1024 + 4096}) {
                        assumeTrue(Posix.keepOnlyTheFirstPages(path, cached), "pages cannot be dropped here");
                        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
                             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
                            assertSameRead(aura, jdk, position,
                                    () -> filled(ByteBuffer.allocateDirect(length + 8)).position(3).limit(length + 3),
                                    "of " + length + " bytes, " + cached + " pages cached, file of " + size);
                        }
                    }
                }
            }
        }
        assertThat(ringOps() - ringOpsBefore).as("ring reads for the parts not in memory").isPositive();
    }

    private static long ringOps() {
        long ops = 0;
        for (int i = 0; i < shared.engine().ringCount(); i++) {
            ops += shared.engine().ringStats(i).opsCompleted();
        }
        return ops;
    }

    // ---- positions and buffers --------------------------------------------------------------

    /**
     * Positions at the mapping's end (inside its last page, at the page's end, past it), past
     * the end by a lot, and near {@code Long.MAX_VALUE}; lengths 0, 1, a block, the mapping's
     * limit and one more: every outcome (count, or exception and message) and buffer as
     * FileChannel's.
     */
    @Test
    void positionsAtTheMappingsEndAndNearLongMaxReadAsFileChannel() throws Exception {
        Path path = dir.resolve("edges");
        int size = (1 << 20) + 123;
        Files.write(path, TestSupport.nonZeroBytes(size, 51));
        long pageEnd = (size + BLOCK - 1) & -BLOCK;
        long[] positions = {size - 32 * 1024, size - BLOCK, size - 124, size - 123, size - 1, size, size + 1,
                pageEnd - 1, pageEnd, pageEnd + 1, 1L << 40, (1L << 62) + 5, Long.MAX_VALUE - 32 * 1024,
                Long.MAX_VALUE - BLOCK, Long.MAX_VALUE - 1, Long.MAX_VALUE};
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            readAll(aura, size);
            assertSameReads(aura, jdk, positions, new int[] {0, 1, BLOCK, 32 * 1024, 32 * 1024 + 1}, "near the end");
            for (long negative : new long[] {-1, Long.MIN_VALUE}) {
                assertThat(outcome(() -> aura.read(ByteBuffer.allocate(BLOCK), negative)))
                        .isEqualTo(outcome(() -> jdk.read(ByteBuffer.allocate(BLOCK), negative)));
            }
        }
    }

    /**
     * Another process appends to a mapped file (not enough to map it again): reads across the
     * mapped size, across the old last page's end and wholly in the new bytes read as
     * FileChannel's (the mapping serves only what lies within the size it was made at); then it
     * shortens the file into the old last page and the same reads follow.
     */
    @Test
    void readsAcrossTheMappedSizeAfterAnotherProcessAppendsReadAsFileChannel() throws Exception {
        Path path = dir.resolve("appended");
        int size = 256 * 1024 + 100;
        Files.write(path, TestSupport.nonZeroBytes(size, 64));
        Path more = dir.resolve("more");
        Files.write(more, TestSupport.nonZeroBytes(64 * 1024, 65));
        long pageEnd = (size + BLOCK - 1) & -BLOCK;
        long[] positions = {size - 4000, size - 100, size - 1, size, size + 1, pageEnd - 50, pageEnd, pageEnd + 3,
                size + 60 * 1024, size + 64 * 1024 - 1, size + 64 * 1024};
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            readAll(aura, size);
            shell("sh", "-c", "cat " + more + " >> " + path);
            int[] lengths = {1, 200, BLOCK, 5000, 32 * 1024};
            assertSameReads(aura, jdk, positions, lengths, "after an append");
            assertSameReads(aura, jdk, positions, lengths, "after an append, again");
            shell("truncate", "-s", String.valueOf(size - 50), path.toString());
            assertSameReads(aura, jdk, positions, lengths, "after a truncation into the old last page");
        }
    }

    /**
     * Odd buffers into a mapped file, as FileChannel takes them: read-only heap and direct
     * buffers (IllegalArgumentException, nothing read), slices and duplicates of a direct buffer
     * with odd positions and limits, empty buffers at and past the end, and buffers of a closed
     * arena (IllegalStateException, not a crash), empty or not.
     */
    @Test
    void oddAndFreedBuffersReadAsFileChannel() throws Exception {
        Path path = dir.resolve("buffers");
        int size = 256 * 1024 + 77;
        Files.write(path, TestSupport.nonZeroBytes(size, 61));
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            readAll(aura, size);
            long served = aura.mappedReads().served();
            for (long p : new long[] {0, 4093, 65_536, size - 3, size, size + 9}) {
                assertSameRead(aura, jdk, p, () -> ByteBuffer.allocate(BLOCK).asReadOnlyBuffer(), "read-only heap");
                assertSameRead(aura, jdk, p, () -> ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer(), "read-only direct");
                assertSameRead(aura, jdk, p, () -> filled(ByteBuffer.allocateDirect(3 * BLOCK)).slice(3, 2 * BLOCK + 1)
                        .position(5).limit(BLOCK + 2), "a slice of a direct buffer");
                assertSameRead(aura, jdk, p, () -> filled(ByteBuffer.allocateDirect(3 * BLOCK)).position(7).limit(8000)
                        .duplicate(), "a duplicate of a direct buffer");
                assertSameRead(aura, jdk, p, () -> filled(ByteBuffer.allocate(3 * BLOCK)).slice(1, 2 * BLOCK).position(3)
                        .limit(2 * BLOCK - 1).slice(), "a slice of a heap slice");
                assertSameRead(aura, jdk, p, () -> ByteBuffer.allocateDirect(16).position(16), "an empty direct buffer");
                assertSameRead(aura, jdk, p, () -> ByteBuffer.allocate(0), "an empty heap buffer");
                assertSameRead(aura, jdk, p, () -> closedArenaBuffer(BLOCK, 0), "a buffer of a closed arena");
                assertSameRead(aura, jdk, p, () -> closedArenaBuffer(BLOCK, BLOCK), "an empty buffer of a closed arena");
            }
            assertThat(aura.mappedReads().served()).as("reads served from the mapping").isGreaterThan(served);
            // Segments of a closed arena, and read-only ones: no FileChannel call takes segments;
            // the AuraFile contract (IllegalStateException, IllegalArgumentException).
            Arena closed = Arena.ofShared();
            MemorySegment freed = closed.allocate(BLOCK);
            closed.close();
            assertThat(outcome(() -> aura.read(freed, 0))).asString().startsWith(IllegalStateException.class.getName());
            MemorySegment readOnly = Arena.ofAuto().allocate(BLOCK).asReadOnly();
            assertThat(outcome(() -> aura.read(readOnly, 0))).asString()
                    .startsWith(IllegalArgumentException.class.getName());
        }
        // Writes take an empty buffer of a closed arena as FileChannel does too (nothing to write).
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.WRITE);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.WRITE)) {
            for (int position : new int[] {0, BLOCK}) {
                assertThat(outcome(() -> aura.write(closedArenaBuffer(BLOCK, position), 0)))
                        .isEqualTo(outcome(() -> jdk.write(closedArenaBuffer(BLOCK, position), 0)));
            }
        }
    }

    /**
     * The channel's calls with buffers of a closed arena, empty or not, alone or among others in
     * a scattering read or gathering write: FileChannel's outcome and position for each.
     */
    @Test
    void channelCallsWithBuffersOfAClosedArenaMatchFileChannel() throws Exception {
        Path path = dir.resolve("channel");
        Files.write(path, TestSupport.nonZeroBytes(64 * 1024, 62));
        try (AuraFileChannel aura = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (int empty = 0; empty < 2; empty++) {
                int at = empty * BLOCK;
                String what = empty == 1 ? "an empty buffer of a closed arena" : "a buffer of a closed arena";
                assertThat(outcome(() -> aura.read(closedArenaBuffer(BLOCK, at))))
                        .as("relative read of %s", what).isEqualTo(outcome(() -> jdk.read(closedArenaBuffer(BLOCK, at))));
                assertThat(outcome(() -> aura.write(closedArenaBuffer(BLOCK, at))))
                        .as("relative write of %s", what).isEqualTo(outcome(() -> jdk.write(closedArenaBuffer(BLOCK, at))));
                assertThat(outcome(() -> aura.read(closedArenaBuffer(BLOCK, at), 100)))
                        .as("positioned read of %s", what).isEqualTo(outcome(() -> jdk.read(closedArenaBuffer(BLOCK, at), 100)));
                assertThat(outcome(() -> aura.write(closedArenaBuffer(BLOCK, at), 100)))
                        .as("positioned write of %s", what).isEqualTo(outcome(() -> jdk.write(closedArenaBuffer(BLOCK, at), 100)));
                assertThat(aura.position()).isEqualTo(jdk.position());
                for (int layout = 0; layout < 3; layout++) {
                    int l = layout;
                    java.util.function.Supplier<ByteBuffer[]> make = () -> switch (l) {
                        case 0 -> new ByteBuffer[] {closedArenaBuffer(BLOCK, at)};
                        case 1 -> new ByteBuffer[] {closedArenaBuffer(BLOCK, at), ByteBuffer.allocate(100)};
                        default -> new ByteBuffer[] {ByteBuffer.allocate(100), closedArenaBuffer(BLOCK, at)};
                    };
                    ByteBuffer[] ours = make.get();
                    ByteBuffer[] theirs = make.get();
                    assertThat(outcome(() -> (int) aura.read(ours))).as("scattering read, layout %d, of %s", l, what)
                            .isEqualTo(outcome(() -> (int) jdk.read(theirs)));
                    assertThat(aura.position()).isEqualTo(jdk.position());
                    ByteBuffer[] ourSources = make.get();
                    ByteBuffer[] theirSources = make.get();
                    assertThat(outcome(() -> (int) aura.write(ourSources))).as("gathering write, layout %d, of %s", l, what)
                            .isEqualTo(outcome(() -> (int) jdk.write(theirSources)));
                    assertThat(aura.position()).isEqualTo(jdk.position());
                }
            }
        }
    }

    /**
     * {@code -Dio.auraio.mappedReads=false}: no mapping is made, and every read (hot, past the
     * end, after another process shortened the file) is FileChannel's, as with the path on.
     */
    @Test
    void mappedReadsTurnedOffGiveTheSameAnswersWithoutAMapping() throws Exception {
        Path path = dir.resolve("parity");
        Files.write(path, TestSupport.nonZeroBytes(512 * 1024, 63));
        for (String setting : new String[] {"false", "true"}) {
            Files.write(path, TestSupport.nonZeroBytes(512 * 1024, 63));
            ForkedJvm.Result r = ForkedJvm.of(MappedParityProbe.class).property(MappedReads.PROPERTY, setting)
                    .args(path.toString()).run();
            assertThat(r.exitCode()).as("%s", r).isZero();
            var values = r.values();
            assertThat(values.get("mismatches")).as("reads unlike FileChannel's, mapped reads %s: %s", setting, r)
                    .isEqualTo("0");
            assertThat(values.get("enabled")).isEqualTo(setting);
            if (setting.equals("false")) {
                assertThat(values.get("mappedReads")).as("the file's mapped reads").isEqualTo("none");
                assertThat(values.get("mappingsMade")).isEqualTo("0");
            } else {
                assertThat(Long.parseLong(values.get("served"))).as("reads served from the mapping").isPositive();
            }
        }
    }

    /** Reads a file (args[0]) hot, past its end and after a truncation, beside FileChannel; prints key=value lines. */
    static final class MappedParityProbe {
        private MappedParityProbe() {}

        public static void main(String[] args) throws Exception {
            Path path = Path.of(args[0]);
            long mismatches = 0;
            String mapped;
            long served;
            try (Engine own = Engine.create(Options.builder().ringCount(1).build());
                 AuraFile aura = AuraFile.open(own, path, StandardOpenOption.READ);
                 FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
                java.util.Random random = new java.util.Random(7);
                for (int phase = 0; phase < 2; phase++) {
                    if (phase == 1) {
                        shell("truncate", "-s", "100000", path.toString());
                    }
                    for (int i = 0; i < 3000; i++) {
                        int length = 1 + random.nextInt(32 * 1024);
                        long position = random.nextInt(512 * 1024 + 8192);
                        ByteBuffer ours = filled(ByteBuffer.allocate(length));
                        ByteBuffer theirs = filled(ByteBuffer.allocate(length));
                        if (aura.read(ours, position) != jdk.read(theirs, position) || !ours.clear().equals(theirs.clear())) {
                            mismatches++;
                        }
                    }
                }
                mapped = aura.mappedReads() == null ? "none" : Boolean.toString(aura.mappedReads().isMapped());
                served = aura.mappedReads() == null ? 0 : aura.mappedReads().served();
            }
            System.out.println("enabled=" + MappedReads.enabled());
            System.out.println("mappedReads=" + mapped);
            System.out.println("served=" + served);
            System.out.println("mappingsMade=" + MappedReads.mappingsMadeInThisJvm());
            System.out.println("mismatches=" + mismatches);
        }
    }

    /**
     * A mapped read into memory that faults: a {@code MappedByteBuffer} of another file that
     * another process truncated. FileChannel's read fails (EFAULT); so must this one, with no
     * crash and no InternalError (with {@code -Dauraio.syscalls=libc}, where such memory is read
     * into through a pool buffer and copied, that copy's InternalError escaped), and the source
     * file's mapping keeps serving. A write from that memory fails as FileChannel's too.
     */
    @Test
    void aReadIntoAMappingOfATruncatedFileFailsAsFileChannelAndTheSourceStaysServed() throws Exception {
        Path path = dir.resolve("source");
        Files.write(path, TestSupport.nonZeroBytes(256 * 1024, 66));
        Path target = dir.resolve("target");
        Files.write(target, new byte[64 * 1024]);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ);
             FileChannel targetChannel = FileChannel.open(target, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            readUntilMapped(aura, 0);
            readAll(aura, 256 * 1024);
            java.nio.MappedByteBuffer faulting = targetChannel.map(FileChannel.MapMode.READ_WRITE, 0, 64 * 1024);
            shell("truncate", "-s", "0", target.toString());
            for (int length : new int[] {1, 100, BLOCK, 32 * 1024}) {
                for (long position : new long[] {0, 5000}) {
                    Object ours = outcome(() -> aura.read(faulting.clear().position(8192).limit(8192 + length), position));
                    Object theirs = outcome(() -> jdk.read(faulting.clear().position(8192).limit(8192 + length), position));
                    assertThat(ours).as("read of %d at %d into a truncated file's mapping", length, position)
                            .isEqualTo(theirs);
                }
            }
            Path written = dir.resolve("written-from-faulting");
            Files.write(written, new byte[BLOCK]);
            try (AuraFile out = AuraFile.open(shared.engine(), written, StandardOpenOption.WRITE);
                 FileChannel jdkOut = FileChannel.open(written, StandardOpenOption.WRITE)) {
                assertThat(outcome(() -> out.write(faulting.clear().limit(BLOCK), 0))).as("write from that memory")
                        .isEqualTo(outcome(() -> jdkOut.write(faulting.clear().limit(BLOCK), 0)));
            }
            // Scattering reads and gathering writes through the channel, the faulting buffer second.
            try (AuraFileChannel channel = AuraFileChannel.open(shared.engine(), written, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
                 FileChannel jdkChannel = FileChannel.open(written, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertThat(outcome(() -> (int) channel.read(new ByteBuffer[] {ByteBuffer.allocate(10),
                        faulting.clear().limit(BLOCK)})))
                        .as("scattering read into that memory").isEqualTo(outcome(() -> (int) jdkChannel.read(
                                new ByteBuffer[] {ByteBuffer.allocate(10), faulting.clear().limit(BLOCK)})));
                assertThat(outcome(() -> (int) channel.write(new ByteBuffer[] {ByteBuffer.allocate(10),
                        faulting.clear().limit(BLOCK)})))
                        .as("gathering write from that memory").isEqualTo(outcome(() -> (int) jdkChannel.write(
                                new ByteBuffer[] {ByteBuffer.allocate(10), faulting.clear().limit(BLOCK)})));
            }
            long served = aura.mappedReads().served();
            for (int i = 0; i < 2 * 64 * 10; i++) {
                aura.read(ByteBuffer.allocate(BLOCK), (i % 64) * (long) BLOCK);
            }
            assertThat(aura.mappedReads().served()).as("reads served from the source's mapping afterwards")
                    .isGreaterThan(served);
        }
    }

    /**
     * The same faulting memory for a file of a slow (FUSE) file system, whose transfers go
     * through the blocking offload with a copy of their own: FileChannel's outcome for a read
     * into it and a write from it.
     */
    @Test
    void aSlowFileReadIntoOrWrittenFromMemoryThatFaultsFailsAsFileChannel() throws Exception {
        Path target = dir.resolve("target");
        Files.write(target, new byte[64 * 1024]);
        try (FaultFs fs = FixtureAvailability.mountFaultFs("mapped-review");
             FileChannel targetChannel = FileChannel.open(target, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Path path = fs.path("slow");
            Files.write(path, TestSupport.nonZeroBytes(64 * 1024, 69));
            java.nio.MappedByteBuffer faulting = targetChannel.map(FileChannel.MapMode.READ_WRITE, 0, 64 * 1024);
            shell("truncate", "-s", "0", target.toString());
            try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertThat(outcome(() -> aura.read(faulting.clear().limit(BLOCK), 0))).as("read into that memory")
                        .isEqualTo(outcome(() -> jdk.read(faulting.clear().limit(BLOCK), 0)));
                assertThat(outcome(() -> aura.write(faulting.clear().limit(BLOCK), 0))).as("write from that memory")
                        .isEqualTo(outcome(() -> jdk.write(faulting.clear().limit(BLOCK), 0)));
            }
            try (AuraFileChannel channel = AuraFileChannel.open(shared.engine(), path, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
                 FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                for (int first : new int[] {0, 10}) {
                    assertThat(outcome(() -> (int) channel.read(new ByteBuffer[] {ByteBuffer.allocate(first),
                            faulting.clear().limit(BLOCK)}, 0, 2)))
                            .as("scattering read into that memory after %d bytes", first)
                            .isEqualTo(outcome(() -> (int) jdk.read(new ByteBuffer[] {ByteBuffer.allocate(first),
                                    faulting.clear().limit(BLOCK)}, 0, 2)));
                    assertThat(outcome(() -> (int) channel.write(new ByteBuffer[] {ByteBuffer.allocate(first),
                            faulting.clear().limit(BLOCK)}, 0, 2)))
                            .as("gathering write from that memory after %d bytes", first)
                            .isEqualTo(outcome(() -> (int) jdk.write(new ByteBuffer[] {ByteBuffer.allocate(first),
                                    faulting.clear().limit(BLOCK)}, 0, 2)));
                    assertThat(channel.position()).isEqualTo(jdk.position());
                }
            }
        }
    }

    private static ByteBuffer closedArenaBuffer(int capacity, int position) {
        Arena arena = Arena.ofShared();
        ByteBuffer b = arena.allocate(capacity).asByteBuffer().position(position);
        arena.close();
        return b;
    }

    // ---- limits and lifetime ------------------------------------------------------------------

    /**
     * A 1 TiB sparse file: mapped up to its first 64 GiB only. Reads inside the cap, across it,
     * past it and at the end read as FileChannel's (data windows and holes alike), and the one
     * mapping is gone at close.
     */
    @Test
    void aHugeSparseFileIsMappedUpToTheCapAndReadsAsFileChannel() throws Exception {
        Path path = dir.resolve("huge");
        long size = 1L << 40;
        long cap = 64L << 30;
        long[] windows = {0, cap - 64 * 1024, size - 64 * 1024};
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            try {
                raf.setLength(size);
            } catch (IOException e) {
                assumeTrue(false, "a 1 TiB sparse file cannot be made here: " + e);
            }
            for (int i = 0; i < windows.length; i++) {
                raf.seek(windows[i]);
                raf.write(TestSupport.nonZeroBytes(128 * 1024 - (i == 2 ? 64 * 1024 : 0), 70 + i));
            }
        }
        long ino = inode(path);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
             FileChannel jdk = FileChannel.open(path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            for (int round = 0; round < 2; round++) {
                for (long w : windows) {
                    for (long p = w; p < w + 128 * 1024 && p < size; p += BLOCK) {
                        aura.read(ByteBuffer.allocate(BLOCK), p);
                    }
                }
            }
            long served = aura.mappedReads().served();
            long[] positions = {0, 1, cap - 64 * 1024, cap - BLOCK, cap - 1000, cap - 1, cap, cap + 100, 1L << 39,
                    size - 64 * 1024, size - BLOCK, size - 1, size, size + 1};
            assertSameReads(aura, jdk, positions, new int[] {1, BLOCK, 32 * 1024}, "of a 1 TiB sparse file");
            assertThat(aura.mappedReads().served()).as("reads inside the cap served from the mapping")
                    .isGreaterThan(served);
            assertThat(mapsOfInode(ino)).as("mappings of the huge file while open").isEqualTo(1);
        }
        assertThat(mapsOfInode(ino)).as("mappings of the huge file after close").isZero();
    }

    /**
     * Many hot files mapped at once: one mapping each (counted in /proc/self/maps and in the
     * JVM's live count), every one gone at close.
     */
    @Test
    void manyMappedFilesAreAllUnmappedAtClose() throws Exception {
        int files = 100;
        long liveBefore = MappedReads.liveMappingsInThisJvm();
        List<AuraFile> open = new ArrayList<>();
        List<Long> inodes = new ArrayList<>();
        try {
            for (int i = 0; i < files; i++) {
                Path path = dir.resolve("many-" + i);
                Files.write(path, TestSupport.nonZeroBytes(64 * 1024, 80 + i));
                inodes.add(inode(path));
                AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ);
                open.add(aura);
                readUntilMapped(aura, (i % 16) * (long) BLOCK);
            }
            assertThat(MappedReads.liveMappingsInThisJvm() - liveBefore).isEqualTo(files);
            for (long ino : inodes) {
                assertThat(mapsOfInode(ino)).as("mappings of inode %d while open", ino).isEqualTo(1);
            }
        } finally {
            for (AuraFile f : open) {
                f.close();
            }
        }
        assertThat(MappedReads.liveMappingsInThisJvm()).isEqualTo(liveBefore);
        for (long ino : inodes) {
            assertThat(mapsOfInode(ino)).as("mappings of inode %d after close", ino).isZero();
        }
    }

    /**
     * Pages dropped from the page cache ({@code POSIX_FADV_DONTNEED}) are not copied from the
     * mapping once what {@code mincore} said has been asked again: the read goes to the ring
     * (which waits for the device off the carrier), and returns FileChannel's bytes.
     */
    @Test
    void pagesDroppedFromTheCacheAreNotCopiedFromTheMapping() throws Exception {
        Path path = dir.resolve("dropped");
        int size = 4 << 20;
        byte[] data = TestSupport.nonZeroBytes(size, 91);
        Files.write(path, data);
        try (AuraFile aura = AuraFile.open(shared.engine(), path, StandardOpenOption.READ)) {
            readUntilMapped(aura, 0);
            // Only the first block was touched through the mapping: the pages of the second 2 MiB
            // chunk are page cache no one maps, which DONTNEED drops.
            Posix.dropCachedPages(path);
            int fd = Posix.open(path, Posix.O_RDONLY);
            try {
                assumeTrue(!MappedReads.inMemory(fd, 3 << 20, BLOCK), "the dropped page is still in memory");
            } finally {
                Posix.close(fd);
            }
            long served = aura.mappedReads().served();
            ByteBuffer b = ByteBuffer.allocate(BLOCK);
            assertThat(aura.read(b, 3 << 20)).isEqualTo(BLOCK);
            assertThat(Arrays.equals(b.array(), 0, BLOCK, data, 3 << 20, (3 << 20) + BLOCK)).isTrue();
            assertThat(aura.mappedReads().served()).as("a read of a page not in memory served from the mapping")
                    .isEqualTo(served);
        }
    }
}
