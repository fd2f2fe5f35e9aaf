package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code auraio hash} against {@code sha256sum}, {@code sha1sum} and {@code md5sum} as oracles:
 * the same stdout byte for byte, the same stderr (with "auraio hash" for the tool's name) and the
 * same exit status, for files of every size around the chunk and read-ahead boundaries, names
 * that need escaping, directories, missing files, and {@code -c} lists with good, bad, missing and
 * malformed lines.
 */
class HashCommandTest {
    /** FileDigester.CHUNK and READ_AHEAD (the CLI classes are not on the test compile class path). */
    static final int CHUNK = 256 * 1024;
    static final int READ_AHEAD = 4;

    @RegisterExtension
    final TestDirectory dir = TestDirectory.enterableByOthers(); // tools run as an unprivileged user here

    private Path w;

    @BeforeEach
    void files() throws IOException {
        w = dir.path();
        Random random = new Random(42);
        int[] sizes = {0, 1, 55, 4096, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK * READ_AHEAD, CHUNK * READ_AHEAD + 7,
            3 * CHUNK * READ_AHEAD + 12345};
        for (int size : sizes) {
            byte[] b = new byte[size];
            random.nextBytes(b);
            Files.write(w.resolve("f" + size), b);
        }
        Files.writeString(w.resolve("back\\slash"), "b\n");
        Files.writeString(w.resolve("new\nline"), "n\n");
        Files.writeString(w.resolve("carriage\rreturn"), "r\n");
        Files.writeString(w.resolve("with space"), "s\n");
        Files.createDirectories(w.resolve("sub/deeper"));
        Files.writeString(w.resolve("sub/deeper/z"), "z\n");
        Files.writeString(w.resolve("sub/a"), "a\n");
        Files.createSymbolicLink(w.resolve("sub/link"), Path.of("a"));
    }

    private List<String> allFiles() throws IOException {
        List<String> names = new ArrayList<>();
        try (var s = Files.list(w)) {
            s.filter(Files::isRegularFile).map(Path::toString).sorted().forEach(names::add);
        }
        return names;
    }

    @ParameterizedTest
    @CsvSource({"sha256,sha256sum", "sha1,sha1sum", "md5,md5sum"})
    void printsWhatTheCoreutilsToolPrints(String algorithm, String tool) throws IOException {
        Tools.assumePresent(tool);
        List<String> args = allFiles();
        args.add(w.resolve("sub").toString()); // a directory: "Is a directory"
        args.add(w.resolve("missing").toString());
        args.add(1, w.resolve("missing-too").toString());
        args.add(2, w.resolve("f55") + "/"); // not a directory

        assertSameAs(tool, args, prepend(List.of("hash", "-a", algorithm), args));
    }

    @Test
    void manyFilesComeOutInArgumentOrder() throws IOException {
        Tools.assumePresent("sha256sum");
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            Path f = w.resolve("many-" + i);
            Files.writeString(f, "x".repeat(i * 997 % 5000));
            args.add(f.toString());
        }
        args.add(w.resolve("f" + (3 * CHUNK * READ_AHEAD + 12345)).toString());
        args.addAll(args.subList(0, 10)); // the same file twice is two lines, as sha256sum prints

        assertSameAs("sha256sum", args, prepend(List.of("hash"), args));
    }

    @Test
    void recursiveOutputIsCheckedBySha256sumAndMatchesFind() throws IOException {
        Tools.assumePresent("sha256sum", "find");
        Cli.Result ours = Cli.run("hash", "-r", w.toString());
        assertThat(ours.exitCode()).as(ours.err()).isZero();

        Tools.Run check = Tools.run(List.of("sha256sum", "-c", "--quiet", "-"), ours.out().getBytes());
        assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
        Tools.Run find = Tools.run("find", w.toString(), "-type", "f", "-exec", "sha256sum", "{}", "+");
        assertThat(ours.out().lines().sorted().toList()).isEqualTo(find.out().lines().sorted().toList());
    }

    @Test
    void checksTheListsSha256sumWrites() throws IOException {
        Tools.assumePresent("sha256sum");
        List<String> args = allFiles();
        Tools.Run sums = Tools.run(prepend(List.of("sha256sum"), args));
        Path list = w.resolve("list");
        Files.writeString(list, sums.out() + "this line is not a checksum\n"
                + "0".repeat(64) + "  " + w.resolve("missing") + "\n"
                + "SHA256 (" + w.resolve("f55") + ") = " + Tools.sha256(w.resolve("f55")) + "\n");
        Files.writeString(w.resolve("f4096"), "changed"); // now FAILED
        Files.delete(w.resolve("f1")); // now FAILED open or read

        assertSameAs("sha256sum", List.of("-c", list.toString()), List.of("hash", "-c", list.toString()));
    }

    @Test
    void checkAllGoodExitsZero() throws IOException {
        Tools.assumePresent("md5sum");
        Tools.Run sums = Tools.run(prepend(List.of("md5sum"), allFiles()));
        Path list = Files.writeString(w.resolve("list"), sums.out());

        assertSameAs("md5sum", List.of("-c", list.toString()), List.of("hash", "-a", "md5", "-c", list.toString()));
        assertThat(Cli.run("hash", "-a", "md5", "-c", list.toString()).exitCode()).isZero();
    }

    @Test
    void checkWithoutAnyChecksumLine() throws IOException {
        Tools.assumePresent("sha1sum");
        Path list = Files.writeString(w.resolve("list"), "nothing here\n");

        assertSameAs("sha1sum", List.of("-c", list.toString()), List.of("hash", "-a", "sha1", "-c", list.toString()));
    }

    /** Files whose size says 0 although they hold bytes: read to their end, as sha256sum does. */
    @Test
    void procFilesAreReadToTheirEnd() {
        Tools.assumePresent("sha256sum");
        assertSameAs("sha256sum", List.of("/proc/version", "/proc/filesystems"),
                List.of("hash", "/proc/version", "/proc/filesystems"));
    }

    /** An unreadable file: "Permission denied" as sha256sum says it, checked as an unprivileged user. */
    @Test
    void permissionDeniedAsSha256sumSaysIt() throws IOException {
        Tools.assumePresent("sha256sum");
        Tools.assumeRootWithSetpriv();
        Files.setPosixFilePermissions(w, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(w.resolve("f55"), java.nio.file.attribute.PosixFilePermissions.fromString("---------"));
        List<String> files = List.of(w.resolve("f1").toString(), w.resolve("f55").toString(), w.resolve("f4096").toString());
        List<String> ours = new ArrayList<>(Tools.auraioCommand(w));
        ours.add("hash");

        Tools.Run theirs = Tools.runAsNobody(prepend(List.of("sha256sum"), files));
        Tools.Run mine = Tools.runAsNobody(prepend(ours, files));

        assertThat(theirs.err()).contains("Permission denied");
        assertThat(mine.out()).isEqualTo(theirs.out());
        assertThat(Tools.asTool(mine.err(), "auraio hash", "sha256sum")).isEqualTo(theirs.err());
        assertThat(mine.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
    }

    @Test
    void unknownAlgorithmIsAUsageError() {
        Cli.Result r = Cli.run("hash", "-a", "crc32", w.resolve("f1").toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("auraio hash: Invalid value for option '--algorithm'")
                .contains("Try 'auraio hash --help' for more information.");
        assertThat(r.out()).isEmpty();
    }

    private void assertSameAs(String tool, List<String> toolArgs, List<String> ourArgs) {
        Tools.Run theirs = Tools.run(prepend(List.of(tool), toolArgs));
        Cli.Result ours = Cli.run(ourArgs.toArray(String[]::new));

        assertThat(ours.out()).as("stdout").isEqualTo(theirs.out());
        assertThat(Tools.asTool(ours.err(), "auraio hash", tool)).as("stderr").isEqualTo(theirs.err());
        assertThat(ours.exitCode()).as("exit status").isEqualTo(theirs.exitCode());
    }

    private static List<String> prepend(List<String> head, List<String> tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(tail);
        return all;
    }
}
