package io.auraio;

import static io.auraio.testing.TestSupport.randomBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FaultFs;
import io.auraio.testing.Fifo;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of {@link AuraFiles}' content calls ({@code readAllBytes}, {@code readString},
 * {@code write}, {@code writeString}, {@code size}, {@code list}, {@code walk}) with {@link Files}
 * side by side as the oracle, from platform and virtual threads: full file systems, devices that
 * never end, FIFOs whose reader is interrupted, streams closed early or iterated after close, walks
 * that loop or are cut by depth. What is already pinned by {@link AuraFilesParityTest} and
 * {@link AuraFilesTest} is not repeated.
 */
class AuraFilesContentReviewTest {
    private static final int MIB = 1024 * 1024;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @RegisterExtension
    final TestDirectory others = TestDirectory.enterableByOthers();

    // ---- helpers ------------------------------------------------------------------------------

    /** {@return what {@code c} did: its value, or "threw " its class (an AuraIOException as IOException) and message} */
    private static String outcome(Callable<?> c) {
        try {
            Object v = c.call();
            if (v instanceof byte[] b) {
                return "returned " + b.length + " bytes";
            }
            return "returned " + v;
        } catch (Throwable t) {
            String type = t instanceof AuraIOException ? IOException.class.getName() : t.getClass().getName();
            String cause = t.getCause() == null ? "" : " caused by " + outcome(() -> {
                throw (Exception) t.getCause();
            });
            return "threw " + type + ": " + t.getMessage() + cause;
        }
    }

    /** {@code aura} does what {@code files} does, on this (platform) thread and on a virtual thread. */
    private static void assertSameOutcome(String what, Callable<?> files, Callable<?> aura) throws Exception {
        String expected = outcome(files);
        assertThat(outcome(aura)).as("%s, platform thread", what).isEqualTo(expected);
        assertThat(TestSupport.onVirtualThread(() -> outcome(aura))).as("%s, virtual thread", what).isEqualTo(expected);
    }

    /** {@return a tmpfs of {@code size} mounted at a new directory, or a skip if it cannot be mounted} */
    private Path tinyTmpfs(String name, String size) throws Exception {
        Path mount = Files.createDirectory(dir.resolve(name));
        Commands.Ran ran = Commands.run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mount.toString());
        assumeTrue(ran.succeeded(), "cannot mount a tmpfs (root and CAP_SYS_ADMIN needed): " + ran);
        return mount;
    }

    private static void unmount(Path mount) throws Exception {
        new ProcessBuilder("umount", mount.toString()).inheritIO().start().waitFor();
    }

    // ---- writes to a full file system ----------------------------------------------------------

    /**
     * A write that fills the file system fails as the JDK's does, and leaves the file the JDK
     * leaves: the bytes written before the failure, from the start of the file, and no more.
     */
    @Test
    void aWriteToAFullFileSystemLeavesWhatFilesLeaves() throws Exception {
        Path mount = tinyTmpfs("full", "1m");
        try {
            byte[] bytes = randomBytes(4 * MIB, 7);
            for (int round = 0; round < 4; round++) {
                boolean virtual = round % 2 == 1;
                Path theirs = mount.resolve("theirs");
                Path ours = mount.resolve("ours");
                String expected = outcome(() -> Files.write(theirs, bytes));
                long theirSize = Files.size(theirs);
                Files.delete(theirs);
                String actual = virtual ? TestSupport.onVirtualThread(() -> outcome(() -> AuraFiles.write(ours, bytes)))
                        : outcome(() -> AuraFiles.write(ours, bytes));
                assertThat(actual).as("virtual=%s", virtual).isEqualTo(expected).contains("No space left on device");
                assertThat(Files.size(ours)).as("virtual=%s: the partial file's size", virtual).isEqualTo(theirSize);
                byte[] left = Files.readAllBytes(ours);
                assertThat(left).as("what was written is a prefix of the bytes")
                        .isEqualTo(java.util.Arrays.copyOf(bytes, left.length));
                Files.delete(ours);
            }
        } finally {
            unmount(mount);
        }
    }

    /**
     * On a slow file system (FaultFs, latency per write) the chunks of a write are in flight at
     * once; when the space runs out, the file left must still be as the JDK leaves it: the bytes
     * written, from the start, with no chunk of a later offset written past a hole. (Before the
     * fix the file was 1311720 bytes, chunks past the failure included, where Files left 1049576.)
     */
    @Test
    void aChunkedWriteThatRunsOutOfSpaceOnASlowFileSystemLeavesWhatFilesLeaves() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("enospc")) {
            byte[] bytes = randomBytes(4 * MIB, 9);
            fs.latency(Duration.ofMillis(1), Duration.ofMillis(20));
            for (boolean virtual : new boolean[] {false, true}) {
                Path theirs = fs.path("theirs-" + virtual);
                Path ours = fs.path("ours-" + virtual);
                fs.enospcAfter(MIB + 1000);
                String expected = outcome(() -> Files.write(theirs, bytes));
                fs.enospcAfter(MIB + 1000);
                String actual = virtual ? TestSupport.onVirtualThread(() -> outcome(() -> AuraFiles.write(ours, bytes)))
                        : outcome(() -> AuraFiles.write(ours, bytes));
                fs.noEnospc();
                assertThat(actual).as("virtual=%s", virtual).isEqualTo(expected).contains("No space left on device");
                // FaultFs counts the bytes written, not the space held: what the chunks past the
                // failure wrote is not given back when they are cut off, so the write on from the
                // first gap stops sooner than Files' did; the file is still a prefix, never longer.
                byte[] left = Files.readAllBytes(ours);
                assertThat((long) left.length).as("virtual=%s: the partial file's size", virtual)
                        .isLessThanOrEqualTo(Files.size(theirs));
                assertThat(left).as("what was written is a prefix of the bytes")
                        .isEqualTo(java.util.Arrays.copyOf(bytes, left.length));
            }
        }
    }

    /**
     * An interrupt while the chunks of a write wait on a slow file system is ignored, as by
     * {@code Files.write} (its channel is not interruptible): the write completes, with every
     * byte, and the caller keeps its status; from a platform and from a virtual thread.
     */
    @Test
    void anInterruptDuringAChunkedWriteIsIgnoredAndKept() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("interrupt")) {
            byte[] bytes = randomBytes(3 * MIB + 5, 11);
            for (boolean virtual : new boolean[] {false, true}) {
                Path file = fs.path("w-" + virtual);
                Files.writeString(file, "old");
                fs.hangWrites(file);
                String[] result = new String[2];
                Thread caller = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                    result[0] = outcome(() -> AuraFiles.write(file, bytes).getFileName());
                    result[1] = "interrupted=" + Thread.currentThread().isInterrupted();
                });
                fs.awaitBlockedWrites(1);
                caller.interrupt();
                assertThat(caller.join(Duration.ofMillis(200))).as("the interrupt ended the write: %s", result[0])
                        .isFalse();
                fs.release();
                fs.reset();
                assertThat(caller.join(TestSupport.HANG)).as("writer ended").isTrue();
                assertThat(result).as("virtual=%s", virtual)
                        .containsExactly("returned " + file.getFileName(), "interrupted=true");
                assertThat(Files.readAllBytes(file)).as("virtual=%s", virtual).isEqualTo(bytes);
            }
        }
    }

    /** Option sets of a multi-chunk write side by side with Files, on missing, shorter and longer files. */
    @Test
    void writeOptionSetsOfAMultiChunkWriteAgreeWithFiles() throws Exception {
        byte[] bytes = randomBytes(Chunks.CHUNK * 3 + 7, 3);
        byte[] longer = randomBytes(Chunks.CHUNK * 5, 4);
        List<StandardOpenOption[]> sets = List.of(
                new StandardOpenOption[] {},
                new StandardOpenOption[] {StandardOpenOption.WRITE},
                new StandardOpenOption[] {StandardOpenOption.READ},
                new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE},
                new StandardOpenOption[] {StandardOpenOption.CREATE},
                new StandardOpenOption[] {StandardOpenOption.CREATE_NEW},
                new StandardOpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.CREATE},
                new StandardOpenOption[] {StandardOpenOption.APPEND, StandardOpenOption.CREATE},
                new StandardOpenOption[] {StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.DSYNC},
                new StandardOpenOption[] {StandardOpenOption.SYNC, StandardOpenOption.CREATE},
                new StandardOpenOption[] {StandardOpenOption.SPARSE, StandardOpenOption.CREATE_NEW});
        for (StandardOpenOption[] options : sets) {
            for (byte[] before : new byte[][] {null, new byte[10], longer}) {
                String what = java.util.Arrays.toString(options) + " before " + (before == null ? "none" : before.length);
                Path theirs = dir.resolve("theirs");
                Path ours = dir.resolve("ours");
                for (Path p : List.of(theirs, ours)) {
                    Files.deleteIfExists(p);
                    if (before != null) {
                        Files.write(p, before);
                    }
                }
                String expected = outcome(() -> Files.write(theirs, bytes, options).getFileName()).replace("theirs", "X");
                String actual = outcome(() -> AuraFiles.write(ours, bytes, options).getFileName()).replace("ours", "X");
                assertThat(actual.replace(ours.toString(), "X")).as(what)
                        .isEqualTo(expected.replace(theirs.toString(), "X"));
                assertThat(outcome(() -> java.util.HexFormat.of().formatHex(java.security.MessageDigest
                        .getInstance("SHA-256").digest(Files.readAllBytes(ours)))).replace(ours.toString(), "X"))
                        .as(what).isEqualTo(outcome(() -> java.util.HexFormat.of().formatHex(java.security.MessageDigest
                        .getInstance("SHA-256").digest(Files.readAllBytes(theirs)))).replace(theirs.toString(), "X"));
            }
        }
    }

    // ---- text ----------------------------------------------------------------------------------

    private static final List<java.nio.charset.Charset> CHARSETS = java.util.stream.Stream.of("UTF-8", "UTF-16",
            "UTF-16LE", "UTF-32", "US-ASCII", "ISO-8859-1", "windows-1252", "Shift_JIS", "EUC-JP", "GB18030",
            "ISO-2022-JP", "Big5", "CESU-8", "x-UTF-16LE-BOM", "windows-1253")
            .filter(java.nio.charset.Charset::isSupported).map(java.nio.charset.Charset::forName).toList();

    /** Bytes that are mostly the lead and continuation bytes of multi-byte sequences, cut anywhere. */
    private static byte[] nastyBytes(java.util.Random random) {
        byte[] b = new byte[random.nextInt(9)];
        int[] pool = {0x41, 0x80, 0x8f, 0x9f, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf8,
            0xff, 0x00, 0x1b, 0x24, 0x42, 0x28, 0xa1, 0xfe, 0x81, 0x30};
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : pool[random.nextInt(pool.length)]);
        }
        return b;
    }

    /** Decoding errors of readString: the JDK's exception type and input length, for many byte strings and charsets. */
    @Test
    void readStringOfFuzzedBytesFailsOrDecodesAsFiles() throws Exception {
        java.util.Random random = new java.util.Random(2026);
        Path file = dir.resolve("text");
        for (int i = 0; i < 800; i++) {
            byte[] b = nastyBytes(random);
            Files.write(file, b);
            for (java.nio.charset.Charset cs : CHARSETS) {
                String expected = outcome(() -> Files.readString(file, cs));
                assertThat(outcome(() -> AuraFiles.readString(file, cs))).as("%s %s", cs, java.util.HexFormat.of()
                        .formatHex(b)).isEqualTo(expected);
            }
        }
    }

    /** Encoding errors of writeString: the JDK's exception type and input length, and the file it leaves. */
    @Test
    void writeStringOfFuzzedTextFailsOrEncodesAsFiles() throws Exception {
        java.util.Random random = new java.util.Random(2027);
        char[] pool = {'a', '\u00e9', '\u20ac', '\u3042', '\ud83d', '\ude00', '\udc00', '\ud800', '\uffff', '\u0391', '\u00ff',
            '\u0100', '\u0000'};
        Path theirs = dir.resolve("theirs");
        Path ours = dir.resolve("ours");
        for (int i = 0; i < 100; i++) {
            char[] c = new char[random.nextInt(6)];
            for (int j = 0; j < c.length; j++) {
                c[j] = pool[random.nextInt(pool.length)];
            }
            String text = new String(c);
            for (java.nio.charset.Charset cs : CHARSETS) {
                Files.writeString(theirs, "old");
                Files.writeString(ours, "old");
                String expected = outcome(() -> Files.writeString(theirs, text, cs).getFileName()).replace("theirs", "X");
                String actual = outcome(() -> AuraFiles.writeString(ours, text, cs).getFileName()).replace("ours", "X");
                String what = cs + " " + text.chars().mapToObj(Integer::toHexString).toList();
                assertThat(actual).as(what).isEqualTo(expected);
                assertThat(Files.readAllBytes(ours)).as(what).isEqualTo(Files.readAllBytes(theirs));
            }
        }
    }

    /**
     * For {@link #aWritePastTheFileSizeLimitLeavesWhatFilesLeaves}: writes 4 MiB to {@code args[0]}
     * with Files, and to {@code args[1]} with AuraFiles from a platform and a virtual thread,
     * printing each outcome and the digest of the file left.
     */
    public static final class SizeLimited {
        private SizeLimited() {}

        /**
         * Runs the writes.
         *
         * @param args the two files
         * @throws Exception never expected
         */
        public static void main(String[] args) throws Exception {
            byte[] bytes = randomBytes(4 * MIB, 5);
            Path theirs = Path.of(args[0]);
            Path ours = Path.of(args[1]);
            System.out.println("files=" + outcome(() -> Files.write(theirs, bytes).getFileName()) + " " + left(theirs));
            System.out.println("aura=" + outcome(() -> AuraFiles.write(ours, bytes).getFileName()) + " " + left(ours));
            Files.delete(ours);
            System.out.println("auraVirtual=" + TestSupport.onVirtualThread(
                    () -> outcome(() -> AuraFiles.write(ours, bytes).getFileName())) + " " + left(ours));
        }

        private static String left(Path p) throws Exception {
            byte[] b = Files.readAllBytes(p);
            return b.length + " bytes " + java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(b));
        }
    }

    /**
     * A process's file size limit (RLIMIT_FSIZE, under {@code prlimit}) cuts a write as the JDK's
     * is cut: "File too large", the file left the bytes up to the limit, in order, no hole where a
     * chunk was stopped.
     */
    @Test
    void aWritePastTheFileSizeLimitLeavesWhatFilesLeaves() throws Exception {
        assumeTrue(Commands.run("prlimit", "--version").succeeded(), "no prlimit");
        List<String> command = List.of("prlimit", "--fsize=" + (3 * MIB / 2 + 100),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                SizeLimited.class.getName(), dir.resolve("theirs").toString(), dir.resolve("ours").toString());
        Commands.Ran ran = Commands.run(command);
        String out = ran.output();
        assertThat(ran.exitCode()).as(out).isZero();
        java.util.Map<String, String> values = new java.util.HashMap<>();
        out.lines().filter(l -> l.contains("=")).forEach(l -> values.put(l.substring(0, l.indexOf('=')),
                l.substring(l.indexOf('=') + 1).replace("ours", "X").replace("theirs", "X")));
        assertThat(values.get("files")).as(out).contains("File too large", (3 * MIB / 2 + 100) + " bytes");
        assertThat(values.get("aura")).as(out).isEqualTo(values.get("files"));
        assertThat(values.get("auraVirtual")).as(out).isEqualTo(values.get("files"));
    }

    /**
     * On a file system whose reads come short (a FUSE daemon's) or fail at one offset, a chunked
     * {@code readAllBytes} returns every byte, or fails with the JDK's message, as Files.
     */
    @Test
    void shortAndFailingReadsOfAChunkedReadAgreeWithFiles() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("reads")) {
            byte[] bytes = randomBytes(3 * MIB + 17, 13);
            Path file = fs.path("f");
            Files.write(file, bytes);
            fs.shortReads(1000);
            assertSameOutcome("short reads", () -> java.util.Arrays.hashCode(Files.readAllBytes(file)),
                    () -> java.util.Arrays.hashCode(AuraFiles.readAllBytes(file)));
            assertThat(AuraFiles.readAllBytes(file)).isEqualTo(bytes);
            fs.reset();
            fs.eioAtOffset(2 * MIB + 5);
            assertSameOutcome("EIO", () -> Files.readAllBytes(file), () -> AuraFiles.readAllBytes(file));
            assertThat(outcome(() -> AuraFiles.readString(file))).contains("Input/output error");
            fs.reset();
        }
        Leaks.assertNothingLeaked(AuraIO.defaultEngine());
    }

    // ---- devices and FIFOs ----------------------------------------------------------------------

    /** Reads /dev/zero (size 0, never ends) with the given reader, in a JVM of 64 MiB of heap. */
    public static final class DevZero {
        private DevZero() {}

        /**
         * Prints {@code files=} and {@code aura=} outcomes (the Throwable's class and message).
         *
         * @param args ignored
         * @throws Exception never expected
         */
        public static void main(String[] args) throws Exception {
            Path zero = Path.of("/dev/zero");
            System.out.println("files=" + outcome(() -> Files.readAllBytes(zero)));
            System.out.println("aura=" + outcome(() -> AuraFiles.readAllBytes(zero)));
            System.out.println("auraVirtual=" + TestSupport.onVirtualThread(() -> outcome(() -> AuraFiles.readAllBytes(zero))));
        }
    }

    /**
     * {@code /dev/zero} has size 0 and never ends: {@code Files.readAllBytes} grows its array until
     * the heap (or the array limit) refuses, and so must this; in a small heap, the same error.
     */
    @Test
    void devZeroIsReadUntilTheHeapRefusesAsByFiles() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(DevZero.class).jvmArgs("-Xmx64m").timeout(Duration.ofSeconds(60)).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        String files = r.values().get("files");
        assertThat(files).as("%s", r).startsWith("threw java.lang.OutOfMemoryError");
        assertThat(r.values().get("aura")).as("%s", r).isEqualTo(files);
        assertThat(r.values().get("auraVirtual")).as("%s", r).isEqualTo(files);
    }

    /** {@code /dev/null} reads as empty and takes any write, as with Files. */
    @Test
    void devNullReadsEmptyAndTakesWrites() throws Exception {
        Path dn = Path.of("/dev/null");
        byte[] bytes = randomBytes(3 * MIB, 1);
        assertSameOutcome("readAllBytes", () -> Files.readAllBytes(dn), () -> AuraFiles.readAllBytes(dn));
        assertSameOutcome("readString", () -> Files.readString(dn), () -> AuraFiles.readString(dn));
        assertSameOutcome("write", () -> Files.write(dn, bytes), () -> AuraFiles.write(dn, bytes));
        assertSameOutcome("write APPEND", () -> Files.write(dn, bytes, StandardOpenOption.APPEND),
                () -> AuraFiles.write(dn, bytes, StandardOpenOption.APPEND));
        assertSameOutcome("size", () -> Files.size(dn), () -> AuraFiles.size(dn));
    }

    /**
     * sysfs files announce 4096 bytes and hold fewer, procfs files announce 0 and hold more: read
     * to their end, as by Files, from both kinds of threads.
     */
    @Test
    void sysfsAndProcfsFilesReadAsFilesReadsThem() throws Exception {
        List<Path> files = Stream.of("/sys/devices/system/cpu/online",
                "/sys/kernel/mm/transparent_hugepage/enabled", "/proc/self/mountinfo", "/proc/cpuinfo")
                .map(Path::of).filter(Files::isReadable).toList();
        assumeTrue(!files.isEmpty(), "no readable sysfs or procfs file");
        for (Path p : files) {
            // procfs text may change between two reads: compared by whether there is any.
            assertSameOutcome("readString " + p, () -> Files.readString(p).length() > 0,
                    () -> AuraFiles.readString(p).length() > 0);
            if (p.startsWith("/sys")) {
                assertSameOutcome("readAllBytes " + p, () -> new String(Files.readAllBytes(p)),
                        () -> new String(AuraFiles.readAllBytes(p)));
                assertSameOutcome("size " + p, () -> Files.size(p), () -> AuraFiles.size(p));
            }
        }
    }

    /**
     * A reader of a FIFO blocks in the open while there is no writer, and in a read while the
     * writer writes nothing; interrupted there it goes on, as {@code Files.readAllBytes} does (its
     * channel is not interruptible), reads what the writer then writes, and keeps its interrupt
     * status; from platform and virtual threads.
     */
    @Test
    void aFifoReaderInterruptedWhileWaitingReadsOnAsFilesDoes() throws Exception {
        for (boolean writerFirst : new boolean[] {false, true}) {
            for (boolean virtual : new boolean[] {false, true}) {
                for (boolean aura : new boolean[] {false, true}) {
                    String what = "writerFirst=" + writerFirst + " virtual=" + virtual + " aura=" + aura;
                    Path fifo = Fifo.create(dir.resolve("fifo-" + writerFirst + "-" + virtual + "-" + aura));
                    String[] result = new String[2];
                    // O_RDWR opens a FIFO without waiting for a reader: the writer that holds it open.
                    java.nio.channels.FileChannel writer = writerFirst ? java.nio.channels.FileChannel.open(fifo,
                            StandardOpenOption.READ, StandardOpenOption.WRITE) : null;
                    Thread reader = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
                        result[0] = outcome(() -> new String(aura ? AuraFiles.readAllBytes(fifo) : Files.readAllBytes(fifo)));
                        result[1] = "interrupted=" + Thread.currentThread().isInterrupted();
                    });
                    TestSupport.awaitCondition("the reader to block: " + what, () -> isBlockedIn(reader,
                            writerFirst ? "read" : "open"));
                    reader.interrupt();
                    assertThat(reader.join(Duration.ofMillis(100))).as("the interrupt ended the read: %s %s", what,
                            result[0]).isFalse();
                    if (writer == null) {
                        try (OutputStream out = Files.newOutputStream(fifo)) {
                            out.write("hello".getBytes());
                        }
                    } else {
                        writer.write(java.nio.ByteBuffer.wrap("hello".getBytes()));
                        writer.close(); // the last writer gone: the reader's end of file
                    }
                    assertThat(reader.join(TestSupport.HANG)).as("reader ended: %s", what).isTrue();
                    assertThat(result).as(what).containsExactly("returned hello", "interrupted=true");
                }
            }
        }
    }

    private static boolean isBlockedIn(Thread t, String method) {
        if (t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING) {
            return true; // a virtual thread parked while its call is made elsewhere
        }
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.isNativeMethod() && e.getMethodName().toLowerCase(java.util.Locale.ROOT).contains(method)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Calls that fail (a directory read, a missing file, CREATE_NEW on an existing one, READ among
     * write options, an unmappable character, a walk into a loop, a FIFO's multi-chunk write with no
     * reader) leave no descriptor, request or pool buffer behind, on platform and virtual threads.
     */
    @Test
    void failingCallsLeaveNothingBehind() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Path f = Files.writeString(dir.resolve("f"), "x");
        Files.createSymbolicLink(d.resolve("loop"), d);
        byte[] big = new byte[3 * MIB];
        List<Callable<?>> calls = List.of(
                () -> AuraFiles.readAllBytes(d),
                () -> AuraFiles.readString(dir.resolve("missing")),
                () -> AuraFiles.write(f, big, StandardOpenOption.CREATE_NEW),
                () -> AuraFiles.write(f, big, StandardOpenOption.READ),
                () -> AuraFiles.write(dir.resolve("missing"), big, StandardOpenOption.WRITE),
                () -> AuraFiles.writeString(f, "\u20ac", java.nio.charset.StandardCharsets.US_ASCII),
                () -> sorted(AuraFiles.walk(d, FileVisitOption.FOLLOW_LINKS)),
                () -> AuraFiles.size(d.resolve("missing")));
        // The default engine's ring and the offload's threads, started by a first call, stay.
        AuraFiles.readAllBytes(f);
        TestSupport.onVirtualThread(() -> sorted(AuraFiles.walk(dir.path())));
        for (Callable<?> c : calls) {
            Map<Integer, String> before = Descriptors.open();
            String outcome = outcome(c);
            assertThat(outcome).startsWith("threw");
            assertThat(TestSupport.onVirtualThread(() -> outcome(c))).startsWith("threw");
            Descriptors.assertNoneNew(before, "the call that " + outcome);
        }
        Leaks.assertNothingLeaked(AuraIO.defaultEngine());
    }

    /**
     * A FIFO's writer whose reader goes away after the first bytes fails with the JDK's "Broken
     * pipe", from platform and virtual threads, and the process lives on (SIGPIPE is ignored).
     */
    @Test
    void aFifoWriterWhoseReaderLeavesGetsBrokenPipeAsFilesDoes() throws Exception {
        byte[] bytes = randomBytes(4 * MIB, 21);
        for (boolean virtual : new boolean[] {false, true}) {
            List<String> outcomes = new ArrayList<>();
            for (boolean aura : new boolean[] {false, true}) {
                Path fifo = Fifo.create(dir.resolve("pipe-" + virtual + "-" + aura));
                Thread reader = Thread.ofPlatform().start(() -> {
                    try (var in = Files.newInputStream(fifo)) {
                        in.readNBytes(1000);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                Callable<String> write = () -> outcome(() -> (aura ? AuraFiles.write(fifo, bytes)
                        : Files.write(fifo, bytes)).getFileName()).replace(fifo.getFileName().toString(), "X");
                outcomes.add(virtual ? TestSupport.onVirtualThread(write) : write.call());
                assertThat(reader.join(TestSupport.HANG)).isTrue();
            }
            assertThat(outcomes.getFirst()).as("virtual=%s", virtual).contains("Broken pipe");
            assertThat(outcomes.get(1)).as("virtual=%s", virtual).isEqualTo(outcomes.getFirst());
        }
    }

    // ---- an unprivileged user -----------------------------------------------------------------

    /**
     * For {@link #refusalsForNobodyAreTheJdks}: prints, for each call on {@code args[0]}'s tree, a
     * line {@code name: same} and the outcome when AuraFiles (on a platform and on a virtual thread) did what
     * Files did, else the three outcomes.
     */
    public static final class Unprivileged {
        private Unprivileged() {}

        /**
         * Runs the calls.
         *
         * @param args the tree's root
         * @throws Exception never expected
         */
        public static void main(String[] args) throws Exception {
            Path base = Path.of(args[0]);
            Path closed = base.resolve("closed");
            java.util.Map<String, Callable<?>[]> calls = new java.util.LinkedHashMap<>();
            calls.put("walk", new Callable<?>[] {() -> sorted(Files.walk(base)), () -> sorted(AuraFiles.walk(base))});
            calls.put("walk depth 1", new Callable<?>[] {() -> sorted(Files.walk(base, 1)),
                    () -> sorted(AuraFiles.walk(base, 1))});
            calls.put("walk closed depth 0", new Callable<?>[] {() -> sorted(Files.walk(closed, 0)),
                    () -> sorted(AuraFiles.walk(closed, 0))});
            calls.put("list closed", new Callable<?>[] {() -> sorted(Files.list(closed)),
                    () -> sorted(AuraFiles.list(closed))});
            calls.put("readAllBytes f600", new Callable<?>[] {() -> Files.readAllBytes(base.resolve("f600")),
                    () -> AuraFiles.readAllBytes(base.resolve("f600"))});
            calls.put("readString closed/f", new Callable<?>[] {() -> Files.readString(closed.resolve("f")),
                    () -> AuraFiles.readString(closed.resolve("f"))});
            calls.put("size closed/f", new Callable<?>[] {() -> Files.size(closed.resolve("f")),
                    () -> AuraFiles.size(closed.resolve("f"))});
            calls.put("write f644", new Callable<?>[] {() -> Files.write(base.resolve("f644"), new byte[3 * MIB]),
                    () -> AuraFiles.write(base.resolve("f644"), new byte[3 * MIB])});
            calls.put("writeString new", new Callable<?>[] {() -> Files.writeString(base.resolve("new"), "x"),
                    () -> AuraFiles.writeString(base.resolve("new"), "x")});
            for (var e : calls.entrySet()) {
                String files = outcome(e.getValue()[0]);
                String aura = outcome(e.getValue()[1]);
                String virtual = TestSupport.onVirtualThread(() -> outcome(e.getValue()[1]));
                System.out.println(e.getKey() + ": " + (files.equals(aura) && files.equals(virtual) ? "same " + files
                        : "files " + files + " | aura " + aura + " | virtual " + virtual));
            }
            System.out.println("f644 size " + Files.size(base.resolve("f644")));
        }
    }

    /**
     * As nobody (in a JVM of its own through {@code setpriv}: root may do everything), a walk that
     * meets a directory it cannot read, a list of it, reads of files it cannot read and writes it
     * may not make fail as the JDK's do, with the same exception (an UncheckedIOException from
     * the walk's stream) and message.
     */
    @Test
    void refusalsForNobodyAreTheJdks() throws Exception {
        assumeTrue(Commands.run("setpriv", "--version").succeeded(), "no setpriv");
        assumeTrue(Files.readString(Path.of("/proc/self/status")).lines()
                .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0")), "not root: cannot become nobody");
        Path project = FixtureAvailability.projectDirectory();
        assumeTrue(TestDirectory.othersCanEnter(others.path()) && TestDirectory.othersCanEnter(
                project.resolve("target/test-classes")), "nobody cannot enter the test directory or read the classes");
        Path base = Files.createDirectories(others.path().toAbsolutePath().resolve("perm/closed"));
        Files.writeString(base.resolve("f"), "closed");
        base = base.getParent();
        Files.createDirectories(base.resolve("open/sub"));
        Files.writeString(base.resolve("f600"), "secret");
        Files.writeString(base.resolve("f644"), "public");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(base.resolve("closed"), PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(base.resolve("f600"), PosixFilePermissions.fromString("rw-------"));
        List<String> command = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", project.resolve("target/classes") + ":" + project.resolve("target/test-classes")
                        + ":" + System.getProperty("java.class.path"),
                Unprivileged.class.getName(), base.toString());
        Commands.Ran ran = Commands.run(command);
        String out = ran.output();
        assertThat(ran.exitCode()).as(out).isZero();
        List<String> lines = out.lines().filter(l -> l.contains(": ")).toList();
        assertThat(lines).as(out).hasSize(9).allMatch(l -> l.contains(": same "));
        assertThat(lines.getFirst()).as(out).contains("UncheckedIOException", "AccessDeniedException");
        assertThat(out).as(out).contains("list closed: same threw java.nio.file.AccessDeniedException",
                "readAllBytes f600: same threw java.nio.file.AccessDeniedException",
                "write f644: same threw java.nio.file.AccessDeniedException");
        assertThat(out).as("the refused writes left the file alone").contains("f644 size 6");
    }

    // ---- list and walk ----------------------------------------------------------------------------

    private Path tree() throws IOException {
        Path root = Files.createDirectories(dir.resolve("tree"));
        for (int i = 0; i < 5; i++) {
            Path d = Files.createDirectories(root.resolve("d" + i + "/e/f"));
            for (int j = 0; j < 40; j++) {
                Files.writeString(d.resolve("file" + j), "x");
            }
        }
        return root;
    }

    @Test
    void walkDepthsAgreeWithFiles() throws Exception {
        Path root = tree();
        for (int depth : new int[] {-1, 0, 1, 2, Integer.MAX_VALUE}) {
            assertSameOutcome("walk depth " + depth, () -> sorted(Files.walk(root, depth)),
                    () -> sorted(AuraFiles.walk(root, depth)));
        }
        assertSameOutcome("walk", () -> sorted(Files.walk(root)), () -> sorted(AuraFiles.walk(root)));
        Path missing = root.resolve("missing");
        assertSameOutcome("walk missing", () -> sorted(Files.walk(missing)), () -> sorted(AuraFiles.walk(missing)));
        assertSameOutcome("list missing", () -> sorted(Files.list(missing)), () -> sorted(AuraFiles.list(missing)));
        Path file = root.resolve("d0/e/f/file0");
        assertSameOutcome("list a file", () -> sorted(Files.list(file)), () -> sorted(AuraFiles.list(file)));
        assertSameOutcome("walk a file", () -> sorted(Files.walk(file)), () -> sorted(AuraFiles.walk(file)));
    }

    private static List<Path> sorted(Stream<Path> s) {
        try (s) {
            return s.sorted().toList();
        }
    }

    /** A loop of links is a FileSystemLoopException with FOLLOW_LINKS, a link without; as in Files. */
    @Test
    void symlinkLoopsWithFollowLinksFailAsInFiles() throws Exception {
        Path root = Files.createDirectories(dir.resolve("loop/a"));
        Files.createSymbolicLink(root.resolve("up"), root.getParent());
        Files.createSymbolicLink(root.resolve("self"), Path.of("self"));
        Path start = root.getParent();
        assertSameOutcome("walk FOLLOW_LINKS", () -> sorted(Files.walk(start, FileVisitOption.FOLLOW_LINKS)),
                () -> sorted(AuraFiles.walk(start, FileVisitOption.FOLLOW_LINKS)));
        assertSameOutcome("walk", () -> sorted(Files.walk(start)), () -> sorted(AuraFiles.walk(start)));
        Path self = root.resolve("self");
        assertSameOutcome("walk self FOLLOW_LINKS", () -> sorted(Files.walk(self, FileVisitOption.FOLLOW_LINKS)),
                () -> sorted(AuraFiles.walk(self, FileVisitOption.FOLLOW_LINKS)));
        assertSameOutcome("list self", () -> sorted(Files.list(self)), () -> sorted(AuraFiles.list(self)));
    }

    /** A stream closed early, or never iterated, leaves no descriptor open; iterating after close ends. */
    @Test
    void streamsClosedEarlyLeaveNoDescriptor() throws Exception {
        Path root = tree();
        // The default engine's ring and the offload's threads, started by a first call, stay.
        sorted(AuraFiles.walk(root));
        TestSupport.onVirtualThread(() -> sorted(AuraFiles.walk(root)));
        for (boolean virtual : new boolean[] {false, true}) {
            Callable<String> run = () -> {
                Map<Integer, String> before = Descriptors.open();
                List<String> seen = new ArrayList<>();
                for (int take : new int[] {0, 1, 40}) {
                    try (Stream<Path> s = AuraFiles.walk(root)) {
                        s.limit(take).forEach(p -> { });
                    }
                    try (Stream<Path> s = AuraFiles.list(root.resolve("d0/e/f"))) {
                        s.limit(take).forEach(p -> { });
                    }
                }
                // Iterating after close: the JDK's ends (a directory stream closed is at its end).
                Stream<Path> theirs = Files.list(root.resolve("d0/e/f"));
                theirs.close();
                Stream<Path> ours = AuraFiles.list(root.resolve("d0/e/f"));
                ours.close();
                seen.add("list after close: files " + outcome(() -> theirs.count()) + ", aura " + outcome(() -> ours.count()));
                Stream<Path> theirWalk = Files.walk(root);
                theirWalk.close();
                Stream<Path> ourWalk = AuraFiles.walk(root);
                ourWalk.close();
                seen.add("walk after close: files " + outcome(() -> theirWalk.count()) + ", aura "
                        + outcome(() -> ourWalk.count()));
                seen.add("descriptors left " + Descriptors.newSince(before));
                return String.join("\n", seen);
            };
            String r = virtual ? TestSupport.onVirtualThread(run) : run.call();
            List<String> lines = r.lines().toList();
            assertThat(lines.get(2)).as("virtual=%s", virtual).isEqualTo("descriptors left {}");
            for (String line : lines.subList(0, 2)) {
                String[] parts = line.split(": files |, aura ");
                assertThat(parts[2]).as("virtual=%s %s", virtual, line).isEqualTo(parts[1]);
            }
        }
        Leaks.assertNothingLeaked(AuraIO.defaultEngine());
    }

    /**
     * An iterator drawn from, then its stream closed, answers as the JDK's: a list's is at its end,
     * a walk's throws {@code IllegalStateException}. (A virtual caller's iterator returned the 31
     * entries it had read ahead in its batch before the fix.)
     */
    @Test
    void anIteratorDrawnAfterItsStreamClosedEndsOrThrowsAsFilesDoes() throws Exception {
        Path root = tree();
        Path flat = root.resolve("d0/e/f");
        assertSameOutcome("list", () -> afterClose(Files.list(flat)), () -> afterClose(AuraFiles.list(flat)));
        assertSameOutcome("walk", () -> afterClose(Files.walk(root)), () -> afterClose(AuraFiles.walk(root)));
        assertThat(outcome(() -> afterClose(Files.list(flat)))).isEqualTo("returned more 0");
        assertThat(outcome(() -> afterClose(Files.walk(root)))).startsWith("threw java.lang.IllegalStateException");
    }

    private static String afterClose(Stream<Path> s) {
        Iterator<Path> it = s.iterator();
        it.next();
        s.close();
        int more = 0;
        while (it.hasNext()) {
            it.next();
            more++;
        }
        return "more " + more;
    }

    /** An interrupt status set before the call is ignored and kept by list, walk and size, as by Files. */
    @Test
    void anInterruptStatusSetBeforeListWalkOrSizeIsIgnoredAndKept() throws Exception {
        Path root = tree();
        for (Callable<?> c : List.<Callable<?>>of(
                () -> sorted(AuraFiles.list(root)), () -> sorted(AuraFiles.walk(root)),
                () -> AuraFiles.size(root.resolve("d0/e/f/file0")))) {
            String expected = outcome(c) + " interrupted=true";
            String got = TestSupport.onVirtualThread(() -> {
                Thread.currentThread().interrupt();
                String o = outcome(c);
                return o + " interrupted=" + Thread.interrupted();
            });
            assertThat(got).isEqualTo(expected);
        }
    }
}
