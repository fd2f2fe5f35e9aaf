package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code auraio tree} against tree(1) (the Debian package {@code tree}, 2.x) in a UTF-8 locale:
 * the same output byte for byte, counts and sizes included, and the same exit status.
 */
class TreeCommandTest {
    @RegisterExtension
    final TestDirectory dir = TestDirectory.enterableByOthers(); // tools run as an unprivileged user here

    private Path w;

    @BeforeEach
    void tree() throws IOException {
        w = dir.path();
        Files.createDirectories(w.resolve("root/b-dir/inner/innermost"));
        Files.createDirectories(w.resolve("root/A-upper"));
        Files.createDirectories(w.resolve("root/empty"));
        Files.createDirectories(w.resolve("root/.hidden-dir"));
        Files.writeString(w.resolve("root/.hidden"), "h");
        Files.writeString(w.resolve("root/a"), "alpha\n");
        Files.writeString(w.resolve("root/Z"), "upper case sorts first in the C locale\n");
        Files.writeString(w.resolve("root/with space"), "s");
        if (namesCanBeNonAscii()) {
            // Under LANG=C the JVM cannot name such a file (sun.jnu.encoding is ASCII); the tree
            // compared is then all ASCII.
            Files.writeString(w.resolve("root/é-accent"), "é");
        }
        Files.writeString(w.resolve("root/a-dash"), "-");
        Files.writeString(w.resolve("root/a.dot"), ".");
        Files.write(w.resolve("root/b-dir/big"), new byte[123_457]);
        Files.writeString(w.resolve("root/b-dir/inner/x"), "x");
        Files.writeString(w.resolve("root/b-dir/inner/innermost/y"), "yy");
        Files.createSymbolicLink(w.resolve("root/link-to-a"), Path.of("a"));
        Files.createSymbolicLink(w.resolve("root/link-to-dir"), Path.of("b-dir"));
        Files.createSymbolicLink(w.resolve("root/dangling"), Path.of("nowhere"));
        Files.createSymbolicLink(w.resolve("root/b-dir/up"), Path.of(".."));
    }

    private static boolean namesCanBeNonAscii() {
        String jnu = System.getProperty("sun.jnu.encoding", java.nio.charset.Charset.defaultCharset().name());
        return java.nio.charset.Charset.isSupported(jnu) && java.nio.charset.Charset.forName(jnu).newEncoder().canEncode("é");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-s", "--du", "-L 1", "-L 2", "-s -L 2", "--du -L 1", "--du -L 3"})
    void printsWhatTreePrints(String options) {
        List<String> args = new ArrayList<>(options.isEmpty() ? List.of() : List.of(options.split(" ")));
        args.add(w.resolve("root").toString());
        assertSameAsTree(args);
    }

    @Test
    void severalRootsAFileAndAMissingOne() {
        assertSameAsTree(List.of(w.resolve("root/b-dir").toString(), w.resolve("root/a").toString(),
                w.resolve("missing").toString(), w.resolve("root/empty").toString()));
    }

    @Test
    void sizesOfSeveralRoots() {
        assertSameAsTree(List.of("--du", w.resolve("root/b-dir").toString(), w.resolve("root/empty").toString()));
    }

    @Test
    void emptyRootsOnly() {
        assertSameAsTree(List.of("--du", w.resolve("root/empty").toString(), w.resolve("root/A-upper").toString()));
        assertSameAsTree(List.of(w.resolve("root/empty").toString()));
    }

    /**
     * A directory that cannot be read is marked, and makes tree exit with 2 (0 with --du, and not
     * marked where -L keeps tree from opening it): checked as an unprivileged user.
     */
    @Test
    void unreadableDirectoryIsMarkedAndExitsTwo() throws Exception {
        Tools.assumePresent("tree");
        Tools.assumeRootWithSetpriv();
        Files.setPosixFilePermissions(w, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(w.resolve("root/b-dir/inner"),
                java.nio.file.attribute.PosixFilePermissions.fromString("---------"));
        try {
            for (List<String> options : List.of(List.<String>of(), List.of("--du"), List.of("-s"), List.of("-L", "2"))) {
                List<String> args = new ArrayList<>(options);
                args.add(w.resolve("root").toString());
                List<String> theirs = new ArrayList<>(List.of("tree"));
                theirs.addAll(args);
                List<String> ours = new ArrayList<>(Tools.auraioCommand(w));
                ours.add("tree");
                ours.addAll(args);
                Tools.Run t = Tools.runAsNobody(theirs);
                Tools.Run o = Tools.runAsNobody(ours);

                assertThat(t.out()).contains(options.contains("-L") ? "inner\n" : "inner  [error opening dir]");
                assertThat(o.out()).as("tree %s", options).isEqualTo(t.out());
                assertThat(o.exitCode()).as("tree %s", options).isEqualTo(t.exitCode());
            }
        } finally {
            Files.setPosixFilePermissions(w.resolve("root/b-dir/inner"),
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /**
     * A level below 1 is tree(1)'s usage error: its message, then the line that points to the help
     * (as every usage error of the tools), its exit status, and no listing. tree(1) says the same
     * for a level that is no number; ours names the option and the value there.
     */
    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "abc"})
    void aLevelBelowOneOrNoNumberIsTreesUsageError(String level) {
        Tools.assumePresent("tree");
        Tools.Run theirs = Tools.run("tree", "-L", level, w.resolve("root").toString());
        Cli.Result ours = Cli.run("tree", "-L", level, w.resolve("root").toString());

        assertThat(theirs.err()).isEqualTo("tree: Invalid level, must be greater than 0.\n");
        assertThat(ours.err()).isEqualTo("auraio tree: " + levelProblem(level)
                + "\nTry 'auraio tree --help' for more information.\n");
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
        assertThat(ours.out()).isEqualTo(theirs.out()).isEmpty();
    }

    /**
     * Levels tree(1) takes by reading a number's leading digits or letting it wrap ("1x" is 1,
     * 99999999999 and -2147483648 list everything) are usage errors here, as any other level
     * that is no int from 1 up.
     */
    @ParameterizedTest
    @ValueSource(strings = {"-2147483648", "1x", "99999999999", ""})
    void aLevelTreeReadsLooselyIsAUsageError(String level) {
        Cli.Result ours = Cli.run("tree", "-L", level, w.resolve("root").toString());

        assertThat(ours.err()).isEqualTo("auraio tree: " + levelProblem(level)
                + "\nTry 'auraio tree --help' for more information.\n");
        assertThat(ours.exitCode()).isEqualTo(1);
        assertThat(ours.out()).isEmpty();
    }

    private static String levelProblem(String level) {
        return level.matches("-?[0-9]{1,10}") ? "Invalid level, must be greater than 0."
                : "Invalid value for option '-L': '" + level + "' is not an int";
    }

    private static void assertSameAsTree(List<String> args) {
        Tools.assumePresent("tree");
        List<String> command = new ArrayList<>(List.of("tree"));
        command.addAll(args);
        Tools.Run theirs = Tools.run(command);
        command.set(0, "tree");
        Cli.Result ours = Cli.run(command.toArray(String[]::new));

        assertThat(ours.out()).as("stdout").isEqualTo(theirs.out());
        assertThat(ours.err()).as("stderr").isEqualTo(theirs.err());
        assertThat(ours.exitCode()).as("exit status").isEqualTo(theirs.exitCode());
    }
}
