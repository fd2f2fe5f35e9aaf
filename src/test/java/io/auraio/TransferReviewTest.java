package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of {@link AuraFileChannel}'s transfers, positions, size, truncate, append and
 * force, with {@code FileChannel.open} as the oracle: every case runs the same calls on a JDK
 * channel and on an AuraFileChannel, each on its own copy of the same file, and requires the same
 * returns, exceptions, positions, sizes and bytes on disk; afterwards no descriptor is left open.
 */
@ExtendWith(IoUringAvailable.class)
@SuppressWarnings("try") // channels closed inside their try blocks, to test what a closed channel does
class TransferReviewTest {
    private static final int SIZE = 100_000;

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Map<Integer, String> descriptors;

    @BeforeAll
    static void takeLifelongDescriptors() throws IOException {
        // Descriptors kept for the JVM's life, taken before the first count: the JDK's on its
        // first pipe, and the reserve the first AuraFileChannel takes (JdkCompanionChannel).
        Pipe pipe = Pipe.open();
        pipe.source().close();
        pipe.sink().close();
        AuraFileChannel.open(shared.engine(), Path.of("/dev/null"), READ).close();
    }

    @BeforeEach
    void recordDescriptors() throws IOException {
        descriptors = Descriptors.open();
    }

    /** Every case of a test runs; the mismatches are reported together. */
    private final SoftAssertions softly = new SoftAssertions();

    /** Checks beyond {@link SharedEngine}'s, which checks the engine after these. */
    @AfterEach
    void nothingLeft() throws IOException {
        softly.assertAll();
        // A close the offload makes for an interrupted caller ends a little later.
        Descriptors.awaitNoneNew(descriptors, "the test");
        TestSupport.settle(() -> threadsInsideAFile().isEmpty(), Duration.ofSeconds(10));
        assertThat(threadsInsideAFile()).as("threads left in a read, write or transfer").isEmpty();
    }

    /** {@return the (platform) threads but this one with a frame of AuraFile, AuraFiles or AuraFileChannel} */
    private static List<String> threadsInsideAFile() {
        return Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> e.getKey() != Thread.currentThread())
                .filter(e -> Arrays.stream(e.getValue()).anyMatch(f -> f.getClassName().startsWith("io.auraio.AuraFile")))
                .map(e -> e.getKey() + " " + Arrays.toString(e.getValue()))
                .toList();
    }

    @FunctionalInterface
    private interface Opener {
        FileChannel open(Path path, OpenOption... options) throws IOException;
    }

    private static final Opener JDK = FileChannel::open;
    /**
     * With {@code -Dauraio.review.defaultBackend=true} (and {@code -Dauraio.backend=jdk}) the
     * channels are opened on the default engine, so in JDK mode, as {@code FallbackReviewTest}
     * runs {@link AuraFileChannelReviewTest}.
     */
    private static final boolean DEFAULT_BACKEND = Boolean.getBoolean("auraio.review.defaultBackend");
    private static final Opener AURA = (path, options) ->
            DEFAULT_BACKEND ? AuraFileChannel.open(path, options) : AuraFileChannel.open(shared.engine(), path, options);

    /** One case, run once per opener on a file of its own. */
    @FunctionalInterface
    private interface Case {
        String run(Opener opener, Path file) throws Exception;
    }

    /** {@return what {@code c} gave with FileChannel, asserting the AuraFileChannel gave the same} */
    private String assertAlike(String name, Case c) throws Exception {
        String jdk = c.run(JDK, file(name + "-jdk", SIZE));
        String aura = c.run(AURA, file(name + "-aura", SIZE));
        softly.assertThat(aura).as(name).isEqualTo(jdk);
        return jdk;
    }

    /** Where {@link #file} creates files: the test's directory, or one on tmpfs. */
    private Path base;

    private Path file(String name, int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return Files.write((base == null ? dir.path() : base).resolve(name), bytes);
    }

    /**
     * {@return the file's size and a hash of its bytes: of its first 1 MiB and its last 64 KiB
     * where it is larger (a transfer to a huge position leaves a sparse file of terabytes)}
     */
    private static String disk(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, 1 << 20));
            ByteBuffer tail = ByteBuffer.allocate((int) Math.min(size - head.capacity(), 1 << 16));
            while (head.hasRemaining() && ch.read(head, head.position()) > 0) {
                // fill it
            }
            while (tail.hasRemaining() && ch.read(tail, size - tail.capacity() + tail.position()) > 0) {
                // fill it
            }
            return "disk=" + size + "/" + Arrays.hashCode(head.array()) + "/" + Arrays.hashCode(tail.array());
        }
    }

    /** {@return the call's result, or its exception's type (and an IOException's message)} */
    private static String call(Callable<?> c) {
        try {
            return String.valueOf(c.call());
        } catch (AuraIOException e) {
            // The library's IOException subclass, by design: the type the JDK throws and its message.
            return IOException.class.getName() + ": " + e.getMessage();
        } catch (Exception e) {
            return e.getClass().getName() + (e.getClass() == IOException.class ? ": " + e.getMessage() : "");
        }
    }

    private static String state(FileChannel ch, Path file) throws IOException {
        return " position=" + ch.position() + " size=" + ch.size() + " " + disk(file);
    }

    // ---- overlapping self-transfers ---------------------------------------------------------

    /** Source and target ranges of one file: {at, count, to}; overlapping forwards, backwards, equal, and apart. */
    private static final long[][] RANGES = {
        {0, 50_000, 10_000}, {10_000, 50_000, 0}, {0, 1_000, 500}, {500, 1_000, 0}, {1_000, 1_000, 1_000},
        {0, SIZE, 50_000}, {50_000, SIZE, 0}, {0, 20_000, 19_999}, {19_999, 20_000, 0}, {0, 10_000, 60_000},
        {90_000, 30_000, 95_000}, {0, Long.MAX_VALUE, 1}, {1, Long.MAX_VALUE, 0}, {0, 70_000, 65_536},
    };

    @Test
    void transferToTheSameChannelOverOverlappingRangesIsFileChannels() throws Exception {
        for (long[] r : RANGES) {
            assertAlike("to-self-" + r[0] + "-" + r[2], (opener, file) -> {
                try (FileChannel ch = opener.open(file, READ, WRITE)) {
                    ch.position(r[2]);
                    return call(() -> ch.transferTo(r[0], r[1], ch)) + state(ch, file);
                }
            });
        }
    }

    @Test
    void transferFromTheSameChannelOverOverlappingRangesIsFileChannels() throws Exception {
        for (long[] r : fromRanges()) {
            assertAlike("from-self-" + r[0] + "-" + r[2], (opener, file) -> {
                try (FileChannel ch = opener.open(file, READ, WRITE)) {
                    ch.position(r[0]);
                    return call(() -> ch.transferFrom(ch, r[2], r[1])) + state(ch, file);
                }
            });
        }
    }

    /**
     * {@link #RANGES} but those a byte apart: the JDK's transferFrom writes those from a mapping of
     * the file, and what a write from memory overlapping it by less than the CPU's copy block reads
     * is the CPU's memcpy (a block at a time), not a contract.
     */
    private static List<long[]> fromRanges() {
        return Arrays.stream(RANGES).filter(r -> Math.abs(r[2] - r[0]) > 1).toList();
    }

    @Test
    void transfersBetweenTwoChannelsOfOneFileOverOverlappingRangesAreFileChannels() throws Exception {
        for (long[] r : RANGES) {
            assertAlike("to-same-file-" + r[0] + "-" + r[2], (opener, file) -> {
                try (FileChannel in = opener.open(file, READ); FileChannel out = opener.open(file, WRITE)) {
                    out.position(r[2]);
                    return call(() -> in.transferTo(r[0], r[1], out)) + " in at " + in.position() + state(out, file);
                }
            });
            if (Math.abs(r[2] - r[0]) <= 1) {
                continue; // as fromRanges()
            }
            assertAlike("from-same-file-" + r[0] + "-" + r[2], (opener, file) -> {
                try (FileChannel in = opener.open(file, READ); FileChannel out = opener.open(file, WRITE)) {
                    in.position(r[0]);
                    return call(() -> out.transferFrom(in, r[2], r[1])) + " in at " + in.position() + state(out, file);
                }
            });
        }
    }

    @Test
    void transfersIntoAnAppendingChannelOfTheSameFileAreFileChannels() throws Exception {
        for (long count : new long[] {0, 1_000, 20_000, SIZE, Long.MAX_VALUE}) {
            assertAlike("to-append-" + count, (opener, file) -> {
                try (FileChannel in = opener.open(file, READ); FileChannel out = opener.open(file, APPEND)) {
                    return call(() -> in.transferTo(5_000, count, out)) + state(out, file);
                }
            });
            assertAlike("from-append-" + count, (opener, file) -> {
                try (FileChannel in = opener.open(file, READ); FileChannel out = opener.open(file, APPEND)) {
                    in.position(5_000);
                    return call(() -> out.transferFrom(in, 0, count)) + " in at " + in.position() + state(out, file);
                }
            });
        }
    }

    // ---- transferFrom: empty counts, huge positions ---------------------------------------------

    @Test
    void transferFromWithCountZeroOrAtHugePositionsIsFileChannels() throws Exception {
        transfersFromToHugePositions();
    }

    /**
     * As on the test's file system (ext4 refuses positions from 16 TiB), on tmpfs, whose largest
     * offset is Long.MAX_VALUE: the JDK's copy from a file there stops at it where a write across
     * it fails with "Invalid argument".
     */
    @Test
    void transferFromAtHugePositionsOnTmpfsIsFileChannels() throws Exception {
        Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm)
                && "tmpfs".equals(Files.getFileStore(shm).type()), "no writable tmpfs at /dev/shm");
        base = Files.createTempDirectory(shm, "auraio-transfer-review");
        try {
            transfersFromToHugePositions();
        } finally {
            try (var files = Files.list(base)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(base);
        }
    }

    private void transfersFromToHugePositions() throws Exception {
        long[] positions = {0, SIZE, SIZE + 1, 1L << 40, 1L << 44, (1L << 44) - 10, Long.MAX_VALUE - 1_000,
            Long.MAX_VALUE - 1, Long.MAX_VALUE};
        for (long position : positions) {
            for (long count : new long[] {0, 1, 1_000, 20_000, Long.MAX_VALUE}) {
                String name = "huge-" + position + "-" + count;
                assertAlike(name + "-file", (opener, file) -> {
                    try (FileChannel in = FileChannel.open(file(file.getFileName() + "-src", 30_000), READ);
                         FileChannel out = opener.open(file, READ, WRITE)) {
                        return call(() -> out.transferFrom(in, position, count)) + " in at " + in.position()
                                + state(out, file);
                    }
                });
                assertAlike(name + "-aura-source", (opener, file) -> {
                    try (FileChannel in = opener.open(file(file.getFileName() + "-src", 30_000), READ);
                         FileChannel out = opener.open(file, READ, WRITE)) {
                        return call(() -> out.transferFrom(in, position, count)) + " in at " + in.position()
                                + state(out, file);
                    }
                });
                assertAlike(name + "-pipe", (opener, file) -> {
                    Pipe pipe = Pipe.open();
                    try (Pipe.SourceChannel source = pipe.source(); Pipe.SinkChannel sink = pipe.sink();
                         FileChannel out = opener.open(file, READ, WRITE)) {
                        sink.write(ByteBuffer.wrap(new byte[3_000]));
                        sink.close();
                        String r = call(() -> out.transferFrom(source, position, count));
                        ByteBuffer left = ByteBuffer.allocate(4_000);
                        int rest = Math.max(0, source.read(left));
                        return r + " left in pipe " + rest + state(out, file);
                    }
                });
            }
        }
    }

    // ---- RLIMIT_FSIZE ----------------------------------------------------------------------------

    /** The file size limit of {@link FileSizeLimitProbe}'s JVM. */
    private static final long FILE_SIZE_LIMIT = 200_000;

    /**
     * Under a file size limit ({@code ulimit -f}; the JVM ignores {@code SIGXFSZ}), in a JVM of its
     * own: writes and transfers that reach the limit stop at it, and those past it fail with "File
     * too large", count 0 included, as FileChannel's.
     */
    @Test
    void transfersAndWritesUnderAFileSizeLimitAreFileChannels() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(FileSizeLimitProbe.class).args(dir.path().toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Map<String, String> values = r.values();
        assertThat(values).as("%s", r).containsKey("cases");
        int cases = Integer.parseInt(values.get("cases"));
        for (int i = 0; i < cases; i++) {
            softly.assertThat(values.get(i + ".aura")).as(values.get(i + ".name")).isEqualTo(values.get(i + ".jdk"));
        }
        assertThat(values.get("limited")).as("the limit holds in the probe: %s", r).startsWith("java.io.IOException: File too large");
    }

    /** {@link #transfersAndWritesUnderAFileSizeLimitAreFileChannels}'s JVM: {@code i.name}, {@code i.jdk}, {@code i.aura} lines. */
    static final class FileSizeLimitProbe {
        private FileSizeLimitProbe() {}

        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            Posix.limitFileSize(FILE_SIZE_LIMIT);
            Opener aura = AuraFileChannel::open;
            Map<String, Case> cases = new LinkedHashMap<>();
            for (long position : new long[] {FILE_SIZE_LIMIT - 1_000, FILE_SIZE_LIMIT, FILE_SIZE_LIMIT + 100_000}) {
                for (long count : new long[] {0, 5_000, 20_000}) {
                    String at = position + "-" + count;
                    cases.put("from-file-" + at, (opener, file) -> {
                        try (FileChannel in = opener.open(file.resolveSibling(file.getFileName() + "-src"), READ);
                             FileChannel out = opener.open(file, READ, WRITE)) {
                            return call(() -> out.transferFrom(in, position, count)) + " in at " + in.position()
                                    + state(out, file);
                        }
                    });
                    cases.put("from-jdk-file-" + at, (opener, file) -> {
                        try (FileChannel in = FileChannel.open(file.resolveSibling(file.getFileName() + "-src"), READ);
                             FileChannel out = opener.open(file, READ, WRITE)) {
                            return call(() -> out.transferFrom(in, position, count)) + " in at " + in.position()
                                    + state(out, file);
                        }
                    });
                    cases.put("from-pipe-" + at, (opener, file) -> {
                        Pipe pipe = Pipe.open();
                        try (Pipe.SourceChannel source = pipe.source(); Pipe.SinkChannel sink = pipe.sink();
                             FileChannel out = opener.open(file, READ, WRITE)) {
                            sink.write(ByteBuffer.wrap(new byte[30_000]));
                            sink.close();
                            String n = call(() -> out.transferFrom(source, position, count));
                            long left = 0;
                            for (int k; (k = source.read(ByteBuffer.allocate(1 << 16))) > 0; ) {
                                left += k;
                            }
                            return n + " left in pipe " + left + state(out, file);
                        }
                    });
                    cases.put("to-file-" + at, (opener, file) -> {
                        try (FileChannel in = opener.open(file.resolveSibling(file.getFileName() + "-src"), READ);
                             FileChannel out = opener.open(file, READ, WRITE)) {
                            out.position(position);
                            return call(() -> in.transferTo(0, count, out)) + state(out, file);
                        }
                    });
                    cases.put("write-" + at, (opener, file) -> {
                        try (FileChannel out = opener.open(file, READ, WRITE)) {
                            String positional = call(() -> out.write(ByteBuffer.allocate((int) count), position));
                            out.position(position);
                            return positional + " " + call(() -> out.write(ByteBuffer.allocate((int) count))) + state(out, file);
                        }
                    });
                }
            }
            int i = 0;
            for (var c : cases.entrySet()) {
                System.out.println(i + ".name=" + c.getKey());
                for (String side : new String[] {"jdk", "aura"}) {
                    Path file = dir.resolve(i + "-" + side);
                    Files.write(file.resolveSibling(file.getFileName() + "-src"), new byte[50_000]);
                    Files.write(file, new byte[SIZE]);
                    System.out.println(i + "." + side + "=" + call(() -> c.getValue().run(side.equals("jdk") ? JDK : aura, file)));
                }
                i++;
            }
            System.out.println("cases=" + i);
            try (FileChannel ch = FileChannel.open(dir.resolve("limited"), READ, WRITE, java.nio.file.StandardOpenOption.CREATE)) {
                System.out.println("limited=" + call(() -> ch.write(ByteBuffer.allocate(10), FILE_SIZE_LIMIT)));
            }
        }
    }

    // ---- non-file channels ---------------------------------------------------------------------

    /** Given as a {@link Target}'s or {@link Source}'s failure: it interrupts its thread then, and goes on. */
    private static final RuntimeException INTERRUPT = new RuntimeException("interrupts its thread instead");

    /**
     * What a {@link Target} or {@link Source} does at its failing call: with {@code INTERRUPT}
     * interrupts its thread (and goes on), else throws {@code unchecked}, or an IOException saying
     * {@code message}.
     */
    private static void failCall(RuntimeException unchecked, String message) throws IOException {
        if (unchecked == INTERRUPT) {
            Thread.currentThread().interrupt();
        } else if (unchecked != null) {
            throw unchecked;
        } else {
            throw new IOException(message);
        }
    }

    /** A target that takes at most {@code most} bytes a write and fails (or throws) after {@code writes} writes. */
    private static final class Target implements WritableByteChannel {
        private final int most;
        private final int writes;
        private final RuntimeException unchecked;
        private int calls;
        private long taken;

        Target(int most, int writes, RuntimeException unchecked) {
            this.most = most;
            this.writes = writes;
            this.unchecked = unchecked;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (calls++ == writes) {
                failCall(unchecked, "target failed");
            }
            int n = Math.min(most, src.remaining());
            src.position(src.position() + n);
            taken += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}

        @Override
        public String toString() {
            return "target took " + taken + " in " + calls + " calls";
        }
    }

    /** A source of {@code total} bytes giving at most {@code most} a read, failing (or throwing) after {@code reads} reads. */
    private static final class Source implements ReadableByteChannel {
        private final int most;
        private final int reads;
        private final RuntimeException unchecked;
        private long left;
        private int calls;

        Source(long total, int most, int reads, RuntimeException unchecked) {
            this.left = total;
            this.most = most;
            this.reads = reads;
            this.unchecked = unchecked;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (calls++ == reads) {
                failCall(unchecked, "source failed");
            }
            if (left == 0) {
                return -1;
            }
            int n = (int) Math.min(Math.min(most, dst.remaining()), left);
            for (int i = 0; i < n; i++) {
                dst.put((byte) (left - i));
            }
            left -= n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}

        @Override
        public String toString() {
            return "source left " + left + " after " + calls + " calls";
        }
    }

    @Test
    void transferToCustomChannelsThatTakeNothingTakeLittleOrFailIsFileChannels() throws Exception {
        List<Callable<Target>> targets = List.of(
                () -> new Target(0, Integer.MAX_VALUE, null), () -> new Target(100, Integer.MAX_VALUE, null),
                () -> new Target(Integer.MAX_VALUE, Integer.MAX_VALUE, null), () -> new Target(Integer.MAX_VALUE, 0, null),
                () -> new Target(Integer.MAX_VALUE, 1, null), () -> new Target(Integer.MAX_VALUE, 1, new IllegalStateException()),
                () -> new Target(Integer.MAX_VALUE, 0, new IllegalStateException()),
                () -> new Target(Integer.MAX_VALUE, 0, INTERRUPT), () -> new Target(Integer.MAX_VALUE, 2, INTERRUPT));
        for (int t = 0; t < targets.size(); t++) {
            Callable<Target> target = targets.get(t);
            for (long count : new long[] {0, 10, 70_000, SIZE, Long.MAX_VALUE}) {
                assertAlike("custom-target-" + t + "-" + count, (opener, file) -> {
                    Target out = target.call();
                    try (FileChannel ch = opener.open(file, READ)) {
                        ch.position(7);
                        String r = call(() -> ch.transferTo(1_000, count, out));
                        return r + " " + out + " interrupted " + Thread.interrupted() + " open " + ch.isOpen()
                                + (ch.isOpen() ? state(ch, file) : " " + disk(file));
                    }
                });
            }
        }
    }

    @Test
    void transferFromCustomChannelsThatGiveNothingGiveLittleOrFailIsFileChannels() throws Exception {
        List<Callable<Source>> sources = List.of(
                () -> new Source(SIZE, 0, Integer.MAX_VALUE, null), () -> new Source(SIZE, 100, Integer.MAX_VALUE, null),
                () -> new Source(SIZE, Integer.MAX_VALUE, Integer.MAX_VALUE, null), () -> new Source(0, 10, Integer.MAX_VALUE, null),
                () -> new Source(SIZE, Integer.MAX_VALUE, 0, null), () -> new Source(SIZE, Integer.MAX_VALUE, 1, null),
                () -> new Source(SIZE, 5_000, 3, new IllegalStateException()),
                () -> new Source(SIZE, 5_000, 0, new IllegalStateException()),
                () -> new Source(SIZE, 5_000, 0, INTERRUPT), () -> new Source(SIZE, 5_000, 2, INTERRUPT));
        for (int s = 0; s < sources.size(); s++) {
            Callable<Source> source = sources.get(s);
            for (long count : new long[] {0, 10, 70_000, 3 * SIZE, Long.MAX_VALUE}) {
                for (long position : new long[] {0, 50_000, 2 * SIZE}) {
                    assertAlike("custom-source-" + s + "-" + count + "-" + position, (opener, file) -> {
                        Source in = source.call();
                        try (FileChannel ch = opener.open(file, READ, WRITE)) {
                            ch.position(7);
                            String r = call(() -> ch.transferFrom(in, position, count));
                            return r + " " + in + " interrupted " + Thread.interrupted() + " open " + ch.isOpen()
                                    + (ch.isOpen() ? state(ch, file) : " " + disk(file));
                        }
                    });
                }
            }
        }
    }

    /**
     * {@code transferFrom} a channel that gives some bytes and then fails (or throws) into an
     * {@code APPEND} channel, whose transfers of 16 KiB or more write whole chunks: what the
     * source gave before the failure is written and counted, and the failure thrown only where
     * nothing was, as by FileChannel, which reads such a channel 8 KiB at a time and writes each
     * read before the next.
     */
    @Test
    void transferFromACustomChannelThatFailsMidwayIntoAnAppendChannelIsFileChannels() throws Exception {
        List<Callable<Source>> sources = List.of(
                () -> new Source(SIZE, 5_000, 3, null), () -> new Source(SIZE, Integer.MAX_VALUE, 1, null),
                () -> new Source(SIZE, 100, 50, null), () -> new Source(SIZE, Integer.MAX_VALUE, 0, null),
                () -> new Source(SIZE, 5_000, 3, new IllegalStateException()));
        for (int s = 0; s < sources.size(); s++) {
            Callable<Source> source = sources.get(s);
            for (long count : new long[] {10, 20_000, 70_000, 3 * SIZE, Long.MAX_VALUE}) {
                assertAlike("append-failing-source-" + s + "-" + count, (opener, file) -> {
                    Source in = source.call();
                    try (FileChannel ch = opener.open(file, WRITE, APPEND)) {
                        String r = call(() -> ch.transferFrom(in, 0, count));
                        return r + " " + in + state(ch, file);
                    }
                });
            }
        }
    }

    /**
     * The application's own FileChannel over a JDK one, without positional reads and writes (a
     * stream-like channel): FileChannel's transfers read and write it with its relative calls
     * only, and check the access mode of the JDK's own channels alone.
     */
    private static final class SequentialChannel extends FileChannel {
        private final FileChannel inner;
        private final List<String> calls = new ArrayList<>();

        SequentialChannel(FileChannel inner) {
            this.inner = inner;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            calls.add("read");
            return inner.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            calls.add("read[]");
            return inner.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            calls.add("write");
            return inner.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            calls.add("write[]");
            return inner.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            calls.add("position");
            return inner.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            calls.add("position(" + newPosition + ")");
            inner.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            calls.add("size");
            return inner.size();
        }

        @Override
        public FileChannel truncate(long size) {
            throw new UnsupportedOperationException("truncate");
        }

        @Override
        public void force(boolean metaData) throws IOException {
            inner.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) {
            throw new UnsupportedOperationException("transferTo");
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) {
            throw new UnsupportedOperationException("transferFrom");
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            throw new UnsupportedOperationException("positional read");
        }

        @Override
        public int write(ByteBuffer src, long position) {
            throw new UnsupportedOperationException("positional write");
        }

        @Override
        public java.nio.MappedByteBuffer map(MapMode mode, long position, long size) {
            throw new UnsupportedOperationException("map");
        }

        @Override
        public java.nio.channels.FileLock lock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException("lock");
        }

        @Override
        public java.nio.channels.FileLock tryLock(long position, long size, boolean shared) {
            throw new UnsupportedOperationException("tryLock");
        }

        @Override
        protected void implCloseChannel() throws IOException {
            inner.close();
        }
    }

    @Test
    void transfersWithTheApplicationsOwnFileChannelUseItsRelativeCallsOnly() throws Exception {
        for (long count : new long[] {0, 1_000, 20_000, Long.MAX_VALUE}) {
            for (long position : new long[] {0, 50_000, -1}) {
                assertAlike("own-target-" + count + "-" + position, (opener, file) -> {
                    Path other = file(file.getFileName() + "-other", 30_000);
                    try (FileChannel ch = opener.open(file, READ, WRITE);
                         SequentialChannel writable = new SequentialChannel(FileChannel.open(other, WRITE));
                         SequentialChannel readOnly = new SequentialChannel(FileChannel.open(other, READ))) {
                        writable.position(10_000);
                        String r = call(() -> ch.transferTo(position, count, writable)) + " "
                                + call(() -> ch.transferTo(position, count, readOnly));
                        return r + " " + writable.calls + readOnly.calls + state(ch, file) + " " + disk(other);
                    }
                });
                assertAlike("own-source-" + count + "-" + position, (opener, file) -> {
                    Path other = file(file.getFileName() + "-other", 30_000);
                    try (FileChannel ch = opener.open(file, READ, WRITE);
                         SequentialChannel readable = new SequentialChannel(FileChannel.open(other, READ));
                         SequentialChannel writeOnly = new SequentialChannel(FileChannel.open(other, WRITE))) {
                        readable.position(10_000);
                        String r = call(() -> ch.transferFrom(readable, position, count)) + " "
                                + call(() -> ch.transferFrom(writeOnly, position, count)) + " "
                                + call(() -> ch.transferFrom(readable, Long.MAX_VALUE - 10, count));
                        return r + " " + readable.calls + writeOnly.calls + state(ch, file);
                    }
                });
            }
        }
    }

    @Test
    void transfersWithPipesBlockingAndNot() throws Exception {
        for (boolean blocking : new boolean[] {true, false}) {
            for (long count : new long[] {0, 1_000, SIZE, Long.MAX_VALUE}) {
                assertAlike("pipe-to-" + blocking + "-" + count, (opener, file) -> {
                    Pipe pipe = Pipe.open();
                    try (Pipe.SourceChannel source = pipe.source(); Pipe.SinkChannel sink = pipe.sink();
                         FileChannel ch = opener.open(file, READ)) {
                        sink.configureBlocking(blocking);
                        // A pipe holds 64 KiB: what the transfer writes before it would block.
                        String r = blocking && count > 60_000 ? "" : call(() -> ch.transferTo(0, count, sink));
                        sink.close();
                        long drained = 0;
                        ByteBuffer b = ByteBuffer.allocate(1 << 16);
                        for (int n; (n = source.read(b.clear())) > 0; ) {
                            drained += n;
                        }
                        return r + " drained " + drained + state(ch, file);
                    }
                });
                assertAlike("pipe-from-" + blocking + "-" + count, (opener, file) -> {
                    Pipe pipe = Pipe.open();
                    try (Pipe.SourceChannel source = pipe.source(); Pipe.SinkChannel sink = pipe.sink();
                         FileChannel ch = opener.open(file, READ, WRITE)) {
                        source.configureBlocking(blocking);
                        sink.write(ByteBuffer.wrap(new byte[20_000]));
                        if (blocking) {
                            sink.close(); // else a blocking read after the 20,000 bytes waits forever
                        }
                        String r = call(() -> ch.transferFrom(source, 40_000, count));
                        return r + state(ch, file);
                    }
                });
            }
        }
    }

    @Test
    void transfersWithAConnectedSocketPairAreFileChannels() throws Exception {
        for (boolean blocking : new boolean[] {true, false}) {
            for (long count : new long[] {0, 1_000, SIZE, Long.MAX_VALUE}) {
                assertAlike("socket-to-" + blocking + "-" + count, (opener, file) -> {
                    try (var server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                         SocketChannel out = SocketChannel.open(server.getLocalAddress());
                         SocketChannel in = server.accept();
                         FileChannel ch = opener.open(file, READ)) {
                        out.configureBlocking(blocking);
                        // Drained meanwhile: a blocking socket's write waits for room.
                        Thread drain = Thread.ofPlatform().start(() -> {
                            ByteBuffer b = ByteBuffer.allocate(1 << 16);
                            try {
                                while (in.read(b.clear()) > 0) {
                                    // count nothing: the transfer's count is the check
                                }
                            } catch (IOException closed) {
                                // the test's end
                            }
                        });
                        // Non-blocking, what a transfer takes depends on how fast the other end drains.
                        String r = blocking || count <= 1_000 ? call(() -> ch.transferTo(0, count, out)) : "not made";
                        out.shutdownOutput();
                        drain.join();
                        return r + state(ch, file);
                    }
                });
                assertAlike("socket-from-" + blocking + "-" + count, (opener, file) -> {
                    try (var server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                         SocketChannel out = SocketChannel.open(server.getLocalAddress());
                         SocketChannel in = server.accept();
                         FileChannel ch = opener.open(file, READ, WRITE)) {
                        in.configureBlocking(blocking);
                        out.write(ByteBuffer.wrap(new byte[20_000]));
                        out.shutdownOutput();
                        // On loopback the bytes are at the other end once write returns, even to a non-blocking read.
                        String r = call(() -> ch.transferFrom(in, 30_000, count));
                        long rest = 0;
                        in.configureBlocking(true);
                        for (int n; (n = in.read(ByteBuffer.allocate(1 << 16))) > 0; ) {
                            rest += n;
                        }
                        return r + " rest " + rest + state(ch, file);
                    }
                });
            }
        }
    }

    // ---- argument misuse, closed channels ----------------------------------------------------

    @Test
    void negativeAndMisorderedArgumentsAreRefusedAsByFileChannel() throws Exception {
        long[] values = {-1, Long.MIN_VALUE, 0, Long.MAX_VALUE};
        for (long position : values) {
            for (long count : values) {
                assertAlike("args-" + position + "-" + count, (opener, file) -> {
                    Path other = file(file.getFileName() + "-other", 10);
                    List<String> r = new ArrayList<>();
                    try (FileChannel rw = opener.open(file, READ, WRITE); FileChannel ro = opener.open(other, READ);
                         FileChannel wo = opener.open(other, WRITE); FileChannel closed = opener.open(other, READ, WRITE)) {
                        closed.close();
                        r.add(call(() -> rw.transferTo(position, count, ro)));
                        r.add(call(() -> wo.transferTo(position, count, rw)));
                        r.add(call(() -> rw.transferTo(position, count, closed)));
                        r.add(call(() -> rw.transferTo(position, count, wo)));
                        r.add(call(() -> rw.transferFrom(wo, position, count)));
                        r.add(call(() -> ro.transferFrom(rw, position, count)));
                        r.add(call(() -> rw.transferFrom(closed, position, count)));
                        r.add(call(() -> rw.transferFrom(ro, position, count)));
                        r.add(call(() -> rw.truncate(position).size()));
                        r.add(call(() -> rw.position(position).position()));
                        r.add(call(() -> rw.read(ByteBuffer.allocate(10), position)));
                        r.add(call(() -> rw.write(ByteBuffer.allocate(10), position)));
                        r.add(call(() -> lockRange(rw.tryLock(position, count, false))));
                        r.add(call(() -> lockRange(rw.tryLock(position, count, true))));
                        r.add(call(() -> lockRange(ro.tryLock(position, count, true))));
                        r.add(call(() -> lockRange(ro.tryLock(position, count, false))));
                        r.add(state(rw, file));
                    }
                    return String.join("\n", r);
                });
            }
        }
    }

    /** {@return the lock's range and mode, released} */
    private static String lockRange(java.nio.channels.FileLock lock) throws IOException {
        try (lock) {
            return lock.position() + "+" + lock.size() + (lock.isShared() ? " shared" : " exclusive");
        }
    }

    /** Every call of a channel closed by close() or by an interrupt, and of one whose other side is closed. */
    @Test
    void everyCallOfAClosedChannelThrowsWhatFileChannelThrows() throws Exception {
        for (boolean byInterrupt : new boolean[] {false, true}) {
            assertAlike("closed-" + byInterrupt, (opener, file) -> {
                FileChannel ch = opener.open(file, READ, WRITE);
                if (byInterrupt) {
                    Thread.currentThread().interrupt();
                    String r = call(() -> ch.size());
                    boolean stillInterrupted = Thread.interrupted();
                    if (!r.equals(java.nio.channels.ClosedByInterruptException.class.getName()) || !stillInterrupted) {
                        return "interrupt: " + r + " " + stillInterrupted;
                    }
                } else {
                    ch.close();
                }
                try (FileChannel open = opener.open(file(file.getFileName() + "-open", 100), READ, WRITE)) {
                    return outcomesOf(ch, open) + "\nopen stays " + open.isOpen();
                } finally {
                    ch.close();
                }
            });
        }
    }

    private static String outcomesOf(FileChannel ch, FileChannel open) {
        ByteBuffer b = ByteBuffer.allocate(10);
        ByteBuffer[] bs = {ByteBuffer.allocate(4), ByteBuffer.allocate(4)};
        List<Callable<?>> calls = List.of(
                () -> ch.read(b), () -> ch.read(b, 0), () -> ch.read(bs), () -> ch.read(bs, 0, 2), () -> ch.read(bs, 5, 1),
                () -> ch.write(b), () -> ch.write(b, 0), () -> ch.write(bs), () -> ch.write(bs, -1, 1),
                () -> ch.position(), () -> ch.position(5), () -> ch.position(-1), () -> ch.size(), () -> ch.truncate(0),
                () -> ch.truncate(-1), () -> { ch.force(true); return null; }, () -> { ch.force(false); return null; },
                () -> ch.transferTo(0, 10, open), () -> ch.transferTo(-1, 10, open), () -> open.transferTo(0, 10, ch),
                () -> ch.transferFrom(open, 0, 10), () -> open.transferFrom(ch, 0, 10), () -> ch.transferFrom(open, -1, 10),
                () -> ch.lock(), () -> ch.tryLock(), () -> ch.tryLock(-1, 1, false),
                () -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 10), () -> ch.read((ByteBuffer) null), () -> ch.write((ByteBuffer) null));
        List<String> r = new ArrayList<>();
        for (Callable<?> c : calls) {
            r.add(call(c).replaceAll("@.*", ""));
        }
        return String.join("\n", r);
    }

    // ---- positions, size, truncate, append, force -------------------------------------------

    @Test
    void positionsSizesTruncatesAndAppendsAreFileChannels() throws Exception {
        assertAlike("hole", (opener, file) -> {
            try (FileChannel ch = opener.open(file, READ, WRITE)) {
                ch.position(SIZE + 10_000);
                String r = ch.read(ByteBuffer.allocate(10)) + " " + ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                return r + state(ch, file);
            }
        });
        assertAlike("truncate", (opener, file) -> {
            List<String> r = new ArrayList<>();
            try (FileChannel ch = opener.open(file, READ, WRITE)) {
                ch.position(50_000);
                r.add(call(() -> ch.truncate(SIZE + 5).position()) + state(ch, file));
                r.add(call(() -> ch.truncate(SIZE).position()) + state(ch, file));
                r.add(call(() -> ch.truncate(60_000).position()) + state(ch, file));
                r.add(call(() -> ch.truncate(40_000).position()) + state(ch, file));
                ch.position(70_000);
                r.add(call(() -> ch.truncate(40_000).position()) + state(ch, file));
                r.add(call(() -> ch.truncate(0).position()) + state(ch, file));
                r.add(call(() -> ch.write(ByteBuffer.wrap(new byte[] {9}))) + state(ch, file));
            }
            return String.join("\n", r);
        });
        assertAlike("append", (opener, file) -> {
            List<String> r = new ArrayList<>();
            try (FileChannel ch = opener.open(file, WRITE, APPEND)) {
                r.add(call(() -> ch.position()));
                r.add(call(() -> ch.position(5).position()));
                r.add(call(() -> ch.write(ByteBuffer.wrap(new byte[] {1, 2}), 3)) + state(ch, file));
                r.add(call(() -> ch.write(ByteBuffer.wrap(new byte[] {3, 4}), SIZE * 3)) + state(ch, file));
                r.add(call(() -> ch.write(ByteBuffer.wrap(new byte[] {5}))) + state(ch, file));
                r.add(call(() -> ch.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {6}), ByteBuffer.allocate(0)}))
                        + state(ch, file));
                r.add(call(() -> ch.truncate(50_000).position()) + state(ch, file));
                r.add(call(() -> ch.transferFrom(new Source(10, 10, Integer.MAX_VALUE, null), 7, 10)) + state(ch, file));
            }
            return String.join("\n", r);
        });
        assertAlike("size-grown-elsewhere", (opener, file) -> {
            try (FileChannel ch = opener.open(file, READ)) {
                long before = ch.size();
                // Its pipes closed before the descriptors are counted after the test (Commands).
                String exit = io.auraio.testing.Commands.run("sh", "-c", "head -c 12345 /dev/zero >> '" + file + "'")
                        .exitCode() + "";
                ByteBuffer b = ByteBuffer.allocate(20_000);
                return before + " exit " + exit + " " + ch.read(b, SIZE) + state(ch, file);
            }
        });
    }

    @Test
    void forceOnReadOnlyClosedAndDirectoryChannelsIsFileChannels() throws Exception {
        assertAlike("force", (opener, file) -> {
            List<String> r = new ArrayList<>();
            try (FileChannel ro = opener.open(file, READ); FileChannel dirCh = opener.open(dir.path(), READ)) {
                r.add(call(() -> { ro.force(true); return "ok"; }));
                r.add(call(() -> { ro.force(false); return "ok"; }));
                r.add(call(() -> { dirCh.force(true); return "ok"; }));
                r.add(call(() -> { dirCh.force(false); return "ok"; }));
                r.add(call(() -> dirCh.size() >= 0));
                r.add(call(() -> dirCh.position(5).position()));
                r.add(call(() -> dirCh.read(ByteBuffer.allocate(5))));
                r.add(call(() -> dirCh.transferTo(0, 5, new Target(10, Integer.MAX_VALUE, null))));
                ro.close();
                r.add(call(() -> { ro.force(true); return "ok"; }));
            }
            return String.join("\n", r);
        });
    }

    // ---- buffer arrays -------------------------------------------------------------------------

    @Test
    void scatteringAndGatheringWithOddBuffersAreFileChannels() throws Exception {
        assertAlike("vectored", (opener, file) -> {
            List<String> r = new ArrayList<>();
            try (FileChannel ch = opener.open(file, READ, WRITE)) {
                ByteBuffer shared = ByteBuffer.allocate(100);
                ByteBuffer dup = shared.duplicate();
                ByteBuffer ro = ByteBuffer.allocate(10).asReadOnlyBuffer();
                ByteBuffer empty = ByteBuffer.allocate(0);
                ByteBuffer full = ByteBuffer.allocate(10).position(10);
                r.add(call(() -> ch.read(new ByteBuffer[] {shared, dup})) + " " + shared + " " + dup + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[] {empty, full, ro})) + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[] {empty, full})) + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5), ro}, 0, 1)) + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5), null}, 0, 2)) + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5), null}, 0, 1)) + state(ch, file));
                for (int[] range : new int[][] {{-1, 1}, {0, 3}, {2, 0}, {3, 0}, {1, -1}, {Integer.MAX_VALUE, 1}}) {
                    r.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5), ByteBuffer.allocate(5)},
                            range[0], range[1])));
                    r.add(call(() -> ch.write(new ByteBuffer[] {ByteBuffer.allocate(5), ByteBuffer.allocate(5)},
                            range[0], range[1])));
                }
                ByteBuffer data = ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5});
                r.add(call(() -> ch.write(new ByteBuffer[] {data, data.duplicate(), ro, empty})) + state(ch, file));
                r.add(call(() -> ch.write(new ByteBuffer[] {data, null})) + state(ch, file));
                r.add(call(() -> ch.write(new ByteBuffer[0])) + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[0])) + state(ch, file));
                ch.position(SIZE + 100);
                r.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5)})) + state(ch, file));
                r.add(call(() -> ch.read(new ByteBuffer[] {empty})) + state(ch, file));
            }
            return String.join("\n", r);
        });
    }

    @Test
    void lockRangesThatOverflowAreFileChannels() throws Exception {
        long[][] ranges = {{-1, 1}, {0, -1}, {Long.MAX_VALUE, 1}, {Long.MAX_VALUE, Long.MAX_VALUE}, {1, Long.MAX_VALUE},
            {Long.MAX_VALUE - 1, 1}, {0, Long.MAX_VALUE}, {0, 0}, {Long.MAX_VALUE, 0}};
        assertAlike("locks", (opener, file) -> {
            List<String> r = new ArrayList<>();
            try (FileChannel ch = opener.open(file, READ, WRITE)) {
                for (long[] range : ranges) {
                    r.add(call(() -> {
                        try (var lock = ch.tryLock(range[0], range[1], false)) {
                            return lock.position() + "+" + lock.size() + " " + lock.isValid();
                        }
                    }));
                    r.add(call(() -> {
                        try (var lock = ch.lock(range[0], range[1], true)) {
                            return lock.position() + "+" + lock.size() + " " + lock.isShared();
                        }
                    }));
                }
            }
            return String.join("\n", r);
        });
    }
}
