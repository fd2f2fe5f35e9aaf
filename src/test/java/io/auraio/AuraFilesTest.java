package io.auraio;

import static io.auraio.testing.TestSupport.randomBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.Charset;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnmappableCharacterException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link AuraFiles} against {@link Files} on real files: the same bytes, text, results and
 * exceptions. Runs in the backend of this JVM; {@code FallbackTest} runs it again in JDK mode.
 */
class AuraFilesTest {
    private static final int MIB = 1024 * 1024;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Sizes around the chunking: empty, one byte, one chunk, one chunk + 1, several MiB with a ragged end. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4096, Chunks.CHUNK, Chunks.CHUNK + 1, 5 * MIB + 777, 17 * Chunks.CHUNK + 3})
    void writeReadAndCopyAgreeWithFiles(int size) throws IOException {
        byte[] data = randomBytes(size, size);
        Path a = dir.resolve("a");
        assertThat(AuraFiles.write(a, data)).isEqualTo(a);
        assertThat(Files.readAllBytes(a)).isEqualTo(data);
        assertThat(AuraFiles.readAllBytes(a)).isEqualTo(data);
        assertThat(AuraFiles.size(a)).isEqualTo(size);

        Path b = AuraFiles.copy(a, dir.resolve("b"));
        assertThat(b).isEqualTo(dir.resolve("b"));
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
    }

    @Test
    void sparseFilesReadAndCopyAsTheirZeroesAndData() throws IOException {
        Path sparse = dir.resolve("sparse");
        try (RandomAccessFile raf = new RandomAccessFile(sparse.toFile(), "rw")) {
            raf.setLength(6L * MIB + 5);
            raf.seek(3L * MIB + 17);
            raf.write(randomBytes(1000, 5));
        }
        assertThat(AuraFiles.readAllBytes(sparse)).isEqualTo(Files.readAllBytes(sparse));
        AuraFiles.copy(sparse, dir.resolve("copy"));
        assertThat(Files.readAllBytes(dir.resolve("copy"))).isEqualTo(Files.readAllBytes(sparse));
    }

    @Test
    void filesWithoutASizeAreReadToTheirEnd() throws IOException {
        Path proc = Path.of("/proc/version"); // st_size 0, has content
        assertThat(Files.size(proc)).isZero();
        assertThat(AuraFiles.readAllBytes(proc)).isEqualTo(Files.readAllBytes(proc)).isNotEmpty();
        assertThat(AuraFiles.readString(proc)).isEqualTo(Files.readString(proc));
        AuraFiles.copy(proc, dir.resolve("copy"));
        assertThat(Files.readAllBytes(dir.resolve("copy"))).isEqualTo(Files.readAllBytes(proc));
    }

    @Test
    void readAllBytesOfAFileLargerThanAnArrayThrowsOutOfMemoryErrorAsFilesDoes() throws IOException {
        Path huge = dir.resolve("huge");
        try (RandomAccessFile raf = new RandomAccessFile(huge.toFile(), "rw")) {
            raf.setLength(Integer.MAX_VALUE + 1L); // sparse: no disk space used
        }
        assertThatThrownBy(() -> Files.readAllBytes(huge)).isInstanceOf(OutOfMemoryError.class)
                .hasMessage("Required array size too large");
        assertThatThrownBy(() -> AuraFiles.readAllBytes(huge)).isInstanceOf(OutOfMemoryError.class)
                .hasMessage("Required array size too large");
    }

    /** Both throw, with the same exception class (and message, where {@code sameMessage}), or both return equal values. */
    private static void assertSameOutcome(Callable<?> files, Callable<?> aura, boolean sameMessage) {
        Object expected = null;
        Object actual = null;
        Throwable expectedFailure = catchThrowable(() -> result(files));
        Throwable actualFailure = catchThrowable(() -> result(aura));
        if (expectedFailure == null) {
            assertThat(actualFailure).isNull();
            try {
                expected = files.call();
                actual = aura.call();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            assertThat(actual).isEqualTo(expected);
            return;
        }
        assertThat(actualFailure).isExactlyInstanceOf(expectedFailure.getClass());
        if (sameMessage) {
            assertThat(actualFailure).hasMessage(expectedFailure.getMessage());
        }
    }

    private static void result(Callable<?> c) throws Exception {
        c.call();
    }

    @Test
    void missingFilesAreNoSuchFileExceptionsNamingThem() {
        Path missing = dir.resolve("missing");
        assertSameOutcome(() -> Files.readAllBytes(missing), () -> AuraFiles.readAllBytes(missing), true);
        assertSameOutcome(() -> Files.readString(missing), () -> AuraFiles.readString(missing), true);
        assertSameOutcome(() -> Files.size(missing), () -> AuraFiles.size(missing), true);
        assertSameOutcome(() -> Files.copy(missing, dir.resolve("t1")), () -> AuraFiles.copy(missing, dir.resolve("t2")),
                false);
        assertThat(catchThrowable(() -> AuraFiles.copy(missing, dir.resolve("t")))).hasMessage(missing.toString());
        assertSameOutcome(() -> Files.write(missing, new byte[1], StandardOpenOption.WRITE),
                () -> AuraFiles.write(missing, new byte[1], StandardOpenOption.WRITE), true);
        assertThat(dir.resolve("t1")).doesNotExist();
        assertThat(dir.resolve("t2")).doesNotExist();
    }

    @Test
    void aDirectoryCannotBeReadButHasASize() throws IOException {
        Path d = Files.createDirectory(dir.resolve("d"));
        Throwable expected = catchThrowable(() -> Files.readAllBytes(d));
        Throwable actual = catchThrowable(() -> AuraFiles.readAllBytes(d));
        assertThat(expected).isInstanceOf(IOException.class).hasMessageContaining("Is a directory");
        assertThat(actual).isInstanceOf(IOException.class).hasMessageContaining("Is a directory");
        assertThat(AuraFiles.size(d)).isEqualTo(Files.size(d));
    }

    @Test
    void textIsDecodedStrictlyAsFilesDecodesIt() throws IOException {
        Path text = dir.resolve("text");
        String s = "héllo wörld, ☃ and 𝄞 ";
        Files.writeString(text, s.repeat(50_000)); // > 1 MiB: read in chunks
        assertThat(AuraFiles.readString(text)).isEqualTo(s.repeat(50_000));
        assertSameOutcome(() -> Files.readString(text, StandardCharsets.ISO_8859_1),
                () -> AuraFiles.readString(text, StandardCharsets.ISO_8859_1), true);

        Path bad = dir.resolve("bad");
        Files.write(bad, new byte[] {'o', 'k', (byte) 0xC3, '(', 'x'});
        assertSameOutcome(() -> Files.readString(bad), () -> AuraFiles.readString(bad), true);
        assertThatThrownBy(() -> AuraFiles.readString(bad)).isInstanceOf(MalformedInputException.class);
        assertSameOutcome(() -> Files.readString(bad, StandardCharsets.US_ASCII),
                () -> AuraFiles.readString(bad, StandardCharsets.US_ASCII), true);
        Path empty = Files.createFile(dir.resolve("empty"));
        assertThat(AuraFiles.readString(empty)).isEmpty();
    }

    @Test
    void writeStringEncodesStrictlyBeforeTouchingTheFile() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        assertThat(AuraFiles.writeString(a, "grüße ☃")).isEqualTo(a);
        Files.writeString(b, "grüße ☃");
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        AuraFiles.writeString(a, new StringBuilder("grüße"), StandardCharsets.ISO_8859_1);
        assertThat(Files.readString(a, StandardCharsets.ISO_8859_1)).isEqualTo("grüße");

        Charset ascii = StandardCharsets.US_ASCII;
        assertSameOutcome(() -> Files.writeString(b, "ü", ascii), () -> AuraFiles.writeString(a, "ü", ascii), true);
        assertThatThrownBy(() -> AuraFiles.writeString(a, "ü", ascii)).isInstanceOf(UnmappableCharacterException.class);
        String loneSurrogate = "x\uD800y";
        assertSameOutcome(() -> Files.writeString(b, loneSurrogate), () -> AuraFiles.writeString(a, loneSurrogate),
                true);
        assertThat(Files.readString(a, StandardCharsets.ISO_8859_1)).as("left untouched").isEqualTo("grüße");
    }

    @Test
    void writeOptionsFollowFilesWrite() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        for (Path p : new Path[] {a, b}) {
            Files.write(p, "0123456789".getBytes());
        }
        AuraFiles.write(a, "abc".getBytes());
        Files.write(b, "abc".getBytes());
        assertThat(Files.readString(a)).as("defaults truncate").isEqualTo(Files.readString(b)).isEqualTo("abc");
        AuraFiles.write(a, "de".getBytes(), StandardOpenOption.APPEND);
        Files.write(b, "de".getBytes(), StandardOpenOption.APPEND);
        assertThat(Files.readString(a)).isEqualTo(Files.readString(b)).isEqualTo("abcde");
        AuraFiles.write(a, "X".getBytes(), StandardOpenOption.WRITE);
        Files.write(b, "X".getBytes(), StandardOpenOption.WRITE);
        assertThat(Files.readString(a)).as("WRITE alone overwrites in place").isEqualTo(Files.readString(b))
                .isEqualTo("Xbcde");
        byte[] big = randomBytes(3 * MIB + 5, 7);
        AuraFiles.write(a, big, StandardOpenOption.APPEND);
        assertThat(Files.readAllBytes(a)).startsWith("Xbcde".getBytes()).endsWith(big).hasSize(big.length + 5);

        assertSameOutcome(() -> Files.write(b, new byte[1], StandardOpenOption.CREATE_NEW),
                () -> AuraFiles.write(a, new byte[1], StandardOpenOption.CREATE_NEW), false);
        assertThatThrownBy(() -> AuraFiles.write(a, new byte[1], StandardOpenOption.CREATE_NEW))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessage(a.toString());
        assertSameOutcome(() -> Files.write(b, new byte[1], StandardOpenOption.READ),
                () -> AuraFiles.write(a, new byte[1], StandardOpenOption.READ), true);
    }

    @Test
    void copyRefusesAnExistingTargetUnlessToldToReplaceIt() throws IOException {
        Path source = dir.resolve("source");
        Path target = dir.resolve("target");
        Files.write(source, randomBytes(100_000, 8));
        Files.write(target, "old".getBytes());

        assertThatThrownBy(() -> AuraFiles.copy(source, target)).isInstanceOf(FileAlreadyExistsException.class)
                .hasMessage(target.toString());
        assertThat(Files.readString(target)).isEqualTo("old");
        AuraFiles.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        assertThat(Files.readAllBytes(target)).isEqualTo(Files.readAllBytes(source));

        Path fullDirectory = Files.createDirectory(dir.resolve("full"));
        Files.createFile(fullDirectory.resolve("x"));
        assertSameOutcome(() -> Files.copy(source, fullDirectory, StandardCopyOption.REPLACE_EXISTING),
                () -> AuraFiles.copy(source, fullDirectory, StandardCopyOption.REPLACE_EXISTING), true);
        assertThatThrownBy(() -> AuraFiles.copy(source, fullDirectory, StandardCopyOption.REPLACE_EXISTING))
                .isInstanceOf(DirectoryNotEmptyException.class);

        assertThat(AuraFiles.copy(source, source)).as("a file onto itself: nothing to do").isEqualTo(source);
        assertThatThrownBy(() -> AuraFiles.copy(source, dir.resolve("t"), StandardCopyOption.ATOMIC_MOVE))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(dir.resolve("t")).doesNotExist();
    }

    @Test
    void copyGivesTheTargetTheSourcePermissionsAndWithCopyAttributesItsTimes() throws IOException {
        Path source = dir.resolve("source");
        Files.write(source, randomBytes(1000, 9));
        Files.setPosixFilePermissions(source, PosixFilePermissions.fromString("rwxr-x--x"));
        FileTime old = FileTime.from(Instant.parse("2001-02-03T04:05:06Z"));
        Files.setLastModifiedTime(source, old);

        AuraFiles.copy(source, dir.resolve("aura"));
        Files.copy(source, dir.resolve("jdk"));
        assertThat(Files.getPosixFilePermissions(dir.resolve("aura")))
                .isEqualTo(Files.getPosixFilePermissions(dir.resolve("jdk")));

        AuraFiles.copy(source, dir.resolve("aura-attrs"), StandardCopyOption.COPY_ATTRIBUTES);
        assertThat(Files.getPosixFilePermissions(dir.resolve("aura-attrs")))
                .isEqualTo(PosixFilePermissions.fromString("rwxr-x--x"));
        assertThat(Files.getLastModifiedTime(dir.resolve("aura-attrs"))).isEqualTo(old);
        assertThat(Files.readAllBytes(dir.resolve("aura-attrs"))).isEqualTo(Files.readAllBytes(source));
    }

    @Test
    void copyOfADirectoryOrALinkIsWhatFilesCopyMakes() throws IOException {
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.createFile(d.resolve("inside"));
        AuraFiles.copy(d, dir.resolve("d2"));
        assertThat(dir.resolve("d2")).isEmptyDirectory();

        Path file = Files.writeString(dir.resolve("file"), "through the link");
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        AuraFiles.copy(link, dir.resolve("followed"));
        assertThat(Files.isSymbolicLink(dir.resolve("followed"))).isFalse();
        assertThat(Files.readString(dir.resolve("followed"))).isEqualTo("through the link");
        AuraFiles.copy(link, dir.resolve("link2"), LinkOption.NOFOLLOW_LINKS);
        assertThat(Files.readSymbolicLink(dir.resolve("link2"))).isEqualTo(file);
    }
    @Test
    void largeFilesAreReadWithManyRequestsInFlight() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("AuraFilesTest")) {
            Path file = fs.path("big");
            byte[] data = randomBytes(8 * MIB, 11);
            Files.write(file, data);
            fs.hangReads(file);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(AuraFiles.readAllBytes(file));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            // Through io_uring every worker's read reaches the daemon at once; FileChannel reads on
            // virtual threads hold their carriers, so in JDK mode there may be as few as one.
            int expected = AuraIO.backend() == Backend.IO_URING ? Chunks.MAX_WORKERS : 1;
            TestSupport.awaitCondition(expected + " reads blocked in faultfs, or the caller done",
                    () -> blockedReads(fs) >= expected || !caller.isAlive());
            assertThat(caller.isAlive()).as("caller ended early with %s", outcome.get()).isTrue();
            fs.release();
            caller.join();
            assertThat(outcome.get()).isEqualTo(data);
            if (AuraIO.backend() == Backend.IO_URING) {
                assertThat(fs.counters().maxOutstanding()).isEqualTo(Chunks.MAX_WORKERS);
            }
        }
    }

    /**
     * As {@code Files.readAllBytes}, whose channel the JDK makes uninterruptible: an interrupt
     * during a chunked read neither ends it nor closes the file; the bytes come back and the
     * interrupt status stays set.
     */
    @Test
    void anInterruptDuringAChunkedReadIsIgnoredAsByFiles() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("AuraFilesTest")) {
            Path file = fs.path("big");
            byte[] data = randomBytes(4 * MIB, 12);
            Files.write(file, data);
            fs.hangReads(file);
            AtomicReference<Object> outcome = new AtomicReference<>();
            AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(AuraFiles.readAllBytes(file));
                } catch (Throwable t) {
                    outcome.set(t);
                }
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
            TestSupport.awaitCondition("a read blocked in faultfs, or the caller done",
                    () -> blockedReads(fs) >= 1 || !caller.isAlive());
            assertThat(caller.isAlive()).as("caller ended early with %s", outcome.get()).isTrue();
            caller.interrupt();
            caller.join(200);
            assertThat(caller.isAlive()).as("the interrupt ended the read with %s", outcome.get()).isTrue();
            fs.release();
            TestSupport.joinAll(java.util.List.of(caller));
            assertThat(outcome.get()).isEqualTo(data);
            assertThat(stillInterrupted.get()).isTrue();
        }
    }

    /**
     * {@code Files}' whole-file methods ignore an interrupt status already set (the JDK makes their
     * channels uninterruptible) and keep it: so do these, side by side with {@code Files}, for one
     * chunk and for several. Before, a write truncated the file and then threw, and a copy deleted
     * the target and then threw.
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 3 * Chunks.CHUNK + 5})
    void anInterruptStatusAlreadySetIsIgnoredAndKeptAsByFiles(int size) throws Exception {
        byte[] data = randomBytes(size, 77);
        String text = "new text";
        for (boolean aura : new boolean[] {false, true}) {
            Path t = Files.writeString(dir.resolve("t-" + aura), "old");
            Path bin = Files.write(dir.resolve("bin-" + aura), new byte[] {1});
            Path source = Files.write(dir.resolve("source-" + aura), data);
            Thread.currentThread().interrupt();
            try {
                if (aura) {
                    AuraFiles.writeString(t, text);
                    AuraFiles.write(bin, data);
                    assertThat(AuraFiles.readString(t)).isEqualTo(text);
                    assertThat(AuraFiles.readAllBytes(bin)).isEqualTo(data);
                    assertThat(AuraFiles.size(bin)).isEqualTo(size);
                    AuraFiles.copy(source, t, StandardCopyOption.REPLACE_EXISTING);
                } else {
                    Files.writeString(t, text);
                    Files.write(bin, data);
                    assertThat(Files.readString(t)).isEqualTo(text);
                    assertThat(Files.readAllBytes(bin)).isEqualTo(data);
                    assertThat(Files.size(bin)).isEqualTo(size);
                    Files.copy(source, t, StandardCopyOption.REPLACE_EXISTING);
                }
                assertThat(Thread.currentThread().isInterrupted()).as("aura=%s: status kept", aura).isTrue();
            } finally {
                Thread.interrupted();
            }
            assertThat(Files.readAllBytes(t)).as("aura=%s", aura).isEqualTo(data);
            assertThat(Files.readAllBytes(bin)).as("aura=%s", aura).isEqualTo(data);
        }
    }

    /**
     * A path of another file system (a zip file system) names a file there, not on the host: as
     * {@code Files}, read, size, write and copy it there. One of its paths spells a host file's
     * absolute path, which a method that went to the host would read.
     */
    @Test
    void pathsOfAnotherFileSystemAreServedThereAsByFiles() throws IOException {
        Path host = Files.writeString(dir.resolve("host"), "the host file");
        Path zip = dir.resolve("z.zip");
        try (var zipfs = java.nio.file.FileSystems.newFileSystem(zip, java.util.Map.of("create", "true"))) {
            Path inZip = zipfs.getPath(host.toString());
            Files.createDirectories(inZip.getParent());
            Files.writeString(inZip, "the file in the zip");
            assertThat(AuraFiles.readString(inZip)).isEqualTo(Files.readString(inZip)).isEqualTo("the file in the zip");
            assertThat(AuraFiles.readAllBytes(inZip)).isEqualTo(Files.readAllBytes(inZip));
            assertThat(AuraFiles.size(inZip)).isEqualTo(Files.size(inZip)).isEqualTo(19);
            assertSameOutcome(() -> Files.size(zipfs.getPath("/missing")), () -> AuraFiles.size(zipfs.getPath("/missing")),
                    true);

            Path written = zipfs.getPath("/written");
            AuraFiles.writeString(written, "written in the zip");
            AuraFiles.write(zipfs.getPath("/bytes"), new byte[] {1, 2, 3});
            assertThat(Files.readString(written)).isEqualTo("written in the zip");
            assertThat(Files.readAllBytes(zipfs.getPath("/bytes"))).containsExactly(1, 2, 3);
            assertThat(Path.of("/written")).doesNotExist();

            Path out = AuraFiles.copy(inZip, dir.resolve("out"));
            assertThat(Files.readString(out)).isEqualTo("the file in the zip");
            AuraFiles.copy(host, zipfs.getPath("/copied"));
            assertThat(Files.readString(zipfs.getPath("/copied"))).isEqualTo("the host file");
            AuraFiles.copy(inZip, zipfs.getPath("/copied"), StandardCopyOption.REPLACE_EXISTING);
            assertThat(Files.readString(zipfs.getPath("/copied"))).isEqualTo("the file in the zip");

            assertThatThrownBy(() -> AuraFile.open(inZip, StandardOpenOption.READ))
                    .isInstanceOf(java.nio.file.ProviderMismatchException.class);
        }
        assertThat(Files.readString(host)).isEqualTo("the host file");
    }

    /** As {@code Files.size} (the JDK's readAttributes), "file/x" under a regular file does not exist. */
    @Test
    void aPathBelowARegularFileDoesNotExist() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        Path below = file.resolve("x");
        assertSameOutcome(() -> Files.size(below), () -> AuraFiles.size(below), true);
        assertThatThrownBy(() -> AuraFiles.size(below)).isExactlyInstanceOf(NoSuchFileException.class);
        assertSameOutcome(() -> Files.readAllBytes(below), () -> AuraFiles.readAllBytes(below), true);
    }

    @Test
    void aCopyThatFailsLeavesNoTargetBehindAsFilesCopyDoes() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("AuraFilesTest")) {
            Path source = fs.path("source");
            Files.write(source, randomBytes(3 * MIB, 13));
            fs.eioAtOffset(2 * MIB + 5);
            Path target = dir.resolve("target");

            Throwable e = catchThrowable(() -> AuraFiles.copy(source, target));

            assertThat(e).isInstanceOf(IOException.class).hasMessageContaining("Input/output error");
            assertThat(target).doesNotExist();
            assertThatThrownBy(() -> Files.copy(source, dir.resolve("jdk"))).isInstanceOf(IOException.class);
            assertThat(dir.resolve("jdk")).doesNotExist();
        }
    }

    private static long blockedReads(FaultFs fs) {
        try {
            return fs.blockedReads();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
