package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraIO;
import io.auraio.Backend;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code auraio cp} against GNU {@code cp} as the oracle: each scenario is set up afresh, run by
 * cp, recorded (exit status, stderr, the resulting tree with types, permission bits, contents and
 * link targets), set up again at the same paths and run by {@code auraio cp}; everything must be
 * the same, messages included (with "auraio cp" for "cp").
 */
class CpCommandTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** CHUNK and MAX_FILES (the CLI classes are not on the test compile class path). */
    static final int CHUNK = 512 * 1024;
    static final int MAX_FILES = 64;

    private Path w;

    @BeforeEach
    void workDirectory() {
        w = dir.path();
    }

    /** The same starting state for every run of a scenario: files of chunked and unchunked sizes, links, a tree. */
    static void baseline(Path w) throws IOException {
        Files.writeString(w.resolve("a"), "alpha\n");
        Random random = new Random(17);
        byte[] big = new byte[3 * CHUNK / 2 + 12345]; // several chunks, the last one short
        random.nextBytes(big);
        Files.write(w.resolve("big"), big);
        Files.setPosixFilePermissions(w.resolve("big"), PosixFilePermissions.fromString("rw-r-----"));
        Files.write(w.resolve("empty"), new byte[0]);
        Path d = Files.createDirectories(w.resolve("d/sub/deeper"));
        Files.writeString(w.resolve("d/x"), "x\n");
        Files.setPosixFilePermissions(w.resolve("d/x"), PosixFilePermissions.fromString("rwxr-x---"));
        byte[] chunk = new byte[CHUNK];
        random.nextBytes(chunk);
        Files.write(w.resolve("d/sub/exactly-one-chunk"), chunk);
        Files.writeString(d.resolve("y with space"), "y\n");
        Files.createDirectories(w.resolve("d/empty-dir"));
        Files.setPosixFilePermissions(w.resolve("d/sub"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.createSymbolicLink(w.resolve("d/link-to-x"), Path.of("x"));
        Files.createSymbolicLink(w.resolve("d/dangling"), Path.of("nowhere"));
        Files.createSymbolicLink(w.resolve("d/link-to-sub"), Path.of("sub"));
        Files.createSymbolicLink(w.resolve("link"), Path.of("a"));
        Files.createSymbolicLink(w.resolve("dangling"), Path.of("nowhere"));
        Files.createDirectories(w.resolve("target"));
        Files.writeString(w.resolve("existing"), "old contents, longer than the new ones\n");
        Files.setPosixFilePermissions(w.resolve("existing"), PosixFilePermissions.fromString("rw-------"));
    }

    /** Extra set-up of a scenario on top of the baseline. */
    interface Setup {
        void apply(Path w) throws IOException;
    }

    static Stream<Arguments> scenarios() {
        Setup none = w -> { };
        return Stream.of(
                Arguments.of("file to a new name", none, List.of("a", "copy")),
                Arguments.of("chunked file to a new name", none, List.of("big", "copy")),
                Arguments.of("empty file", none, List.of("empty", "copy")),
                Arguments.of("file into a directory", none, List.of("a", "target")),
                Arguments.of("files into a directory", none, List.of("a", "big", "empty", "target/")),
                Arguments.of("overwrite keeps the target's permissions", none, List.of("a", "existing")),
                Arguments.of("missing source, the others still copied", none, List.of("a", "missing", "big", "target")),
                Arguments.of("directory without -r", none, List.of("d", "target")),
                Arguments.of("directory without -r among files", none, List.of("a", "d", "target")),
                Arguments.of("onto itself", none, List.of("a", "a")),
                Arguments.of("onto itself through the target directory", none, List.of("target/f", "target")),
                Arguments.of("onto itself through a link", none, List.of("link", "a")),
                Arguments.of("several sources, target a file", none, List.of("a", "big", "existing")),
                Arguments.of("several sources, target missing", none, List.of("a", "big", "missing-dir")),
                Arguments.of("file over a directory", (Setup) w -> Files.createDirectories(w.resolve("target/a")),
                        List.of("a", "target")),
                Arguments.of("-r directory over a file", none, List.of("-r", "d", "existing")),
                Arguments.of("-r tree to a new name", none, List.of("-r", "d", "copy")),
                Arguments.of("-r tree into a directory", none, List.of("-r", "d", "a", "link", "target")),
                Arguments.of("-r tree with a trailing slash", none, List.of("-r", "d/", "copy")),
                Arguments.of("-r tree merged into an existing copy", (Setup) w -> {
                    Files.createDirectories(w.resolve("target/d/sub"));
                    Files.writeString(w.resolve("target/d/x"), "old x, to be overwritten\n");
                    Files.writeString(w.resolve("target/d/link-to-x"), "a file where the link goes\n");
                    Files.writeString(w.resolve("target/d/kept"), "not in the source\n");
                }, List.of("-r", "d", "target")),
                Arguments.of("-r link named on the command line is copied as a link", none,
                        List.of("-r", "link", "dangling", "target")),
                Arguments.of("link followed without -r", none, List.of("link", "copy")),
                Arguments.of("dangling link without -r", none, List.of("dangling", "copy")),
                Arguments.of("no writing through a dangling link", (Setup) w ->
                        Files.createSymbolicLink(w.resolve("target/a"), Path.of("nowhere")), List.of("a", "target")),
                Arguments.of("-r directory link on the command line", none, List.of("-r", "d/link-to-sub", "copy")),
                Arguments.of("directory link without -r", none, List.of("d/link-to-sub", "copy")),
                Arguments.of("file to a missing directory named with a slash", none, List.of("a", "new-dir/")),
                Arguments.of("file onto a file named with a slash", none, List.of("a", "existing/")),
                Arguments.of("-r tree to a new name with a slash", none, List.of("-r", "d", "copy/")),
                Arguments.of("missing file operand", none, List.of()),
                Arguments.of("missing destination", none, List.of("a")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void behavesAsCp(String name, Setup setup, List<String> args) throws IOException {
        Tools.assumePresent("cp");
        Outcome theirs = outcome(setup, args, true);
        Outcome ours = outcome(setup, args, false);

        assertThat(ours.stderr).as("stderr").isEqualTo(theirs.stderr);
        assertThat(ours.exitCode).as("exit status, stderr: %s", ours.stderr).isEqualTo(theirs.exitCode);
        assertThat(ours.tree).as("the tree afterwards").isEqualTo(theirs.tree);
    }

    /**
     * cp reports a directory copied into itself, copies its entries in readdir order up to and
     * including the one that holds the copy, and stops there; which entries that is depends on the
     * directory's order, so the report and the exit status are held against cp, and the copy must
     * hold what cp's holds, and all the rest but itself.
     */
    @Test
    void directoryIntoItselfIsReportedAndDoesNotRecurse() throws IOException {
        Tools.assumePresent("cp");
        Outcome theirs = outcome(w -> { }, List.of("-r", "d", "d/sub"), true);
        Outcome ours = outcome(w -> { }, List.of("-r", "d", "d/sub"), false);

        assertThat(ours.stderr).isEqualTo(theirs.stderr).contains("into itself");
        assertThat(ours.exitCode).isEqualTo(theirs.exitCode).isEqualTo(1);
        // cp stops after the entry that holds the copy (which one that is depends on readdir's
        // order); auraio cp copies every entry but the copy itself: what cp copied, it copied too.
        assertThat(ours.tree).containsAllEntriesOf(theirs.tree).containsKey("d/sub/d/sub/deeper/y with space");
        assertThat(ours.tree.keySet()).noneMatch(k -> k.startsWith("d/sub/d/sub/d/") || k.equals("d/sub/d/sub/d"));
    }

    @Test
    void preserveKeepsPermissionsAndTimesOfFilesAndDirectories() throws IOException {
        Tools.assumePresent("cp");
        Setup aged = w -> {
            FileTime past = FileTime.fromMillis(1_000_000_000_000L);
            try (Stream<Path> walk = Files.walk(w.resolve("d"))) {
                for (Path p : walk.toList()) { // links too: cp -p keeps a link's own times
                    Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS).setTimes(past, past, null);
                }
            }
            Files.setLastModifiedTime(w.resolve("a"), past);
        };
        Outcome theirs = outcome(aged, List.of("-rp", "d", "a", "target"), true, true);
        Outcome ours = outcome(aged, List.of("-r", "-p", "d", "a", "target"), false, true);

        assertThat(ours.stderr).isEmpty();
        assertThat(ours.exitCode).isZero();
        assertThat(copies(ours.tree)).isEqualTo(copies(theirs.tree)).hasSize(11);
        assertThat(ours.tree.get("target/d/sub")).as("a directory's time is set after its contents")
                .endsWith("mtime 1000000000000");
    }

    @Test
    void newFilesGetTheSourcePermissionsLessTheUmask() throws IOException {
        Tools.assumePresent("cp");
        Outcome theirs = outcome(w -> Files.setPosixFilePermissions(w.resolve("a"),
                PosixFilePermissions.fromString("rwxrwxrwx")), List.of("a", "big", "copy-dir-missing"), true);
        assertThat(theirs.exitCode).isEqualTo(1); // several sources, no such directory
        Outcome ours = outcome(w -> Files.setPosixFilePermissions(w.resolve("a"),
                PosixFilePermissions.fromString("rwxrwxrwx")), List.of("a", "copy"), false);
        Outcome cp = outcome(w -> Files.setPosixFilePermissions(w.resolve("a"),
                PosixFilePermissions.fromString("rwxrwxrwx")), List.of("a", "copy"), true);
        assertThat(ours.tree.get("copy")).isEqualTo(cp.tree.get("copy"));
    }

    @Test
    void progressEndsWithASummaryOfThroughputAndRings() throws IOException {
        baseline(w);
        Cli.Result r = Cli.run("cp", "-r", "--progress", w.resolve("d").toString(), w.resolve("big").toString(),
                w.resolve("target").toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        String summary = r.err().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertThat(summary).startsWith("auraio cp: copied 4 files, ").contains("/s; ");
        if (AuraIO.backend() == Backend.IO_URING) {
            assertThat(summary).contains("io_uring", "ring 0: ", "limit ");
        } else {
            assertThat(summary).contains("backend JDK FileChannel");
        }
        assertThat(Tools.describe(w.resolve("target/d"), false)).isEqualTo(Tools.describe(w.resolve("d"), false));
    }

    @Test
    void directCopiesTheSameBytesAndCutsThePadding() throws IOException {
        baseline(w);
        Cli.Result r = Cli.run("cp", "-r", "--direct", w.resolve("d").toString(), w.resolve("big").toString(),
                w.resolve("target").toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Tools.describe(w.resolve("target/d"), false)).isEqualTo(Tools.describe(w.resolve("d"), false));
        assertThat(Files.mismatch(w.resolve("big"), w.resolve("target/big"))).isEqualTo(-1);
    }

    @Test
    void manySmallFilesAllArrive() throws IOException {
        Path src = Files.createDirectories(w.resolve("many"));
        for (int i = 0; i < 3 * MAX_FILES; i++) {
            Files.writeString(src.resolve("f" + i), "file " + i + "\n".repeat(i));
        }
        Cli.Result r = Cli.run("cp", "-r", src.toString(), w.resolve("copy").toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Tools.describe(w.resolve("copy"), false)).isEqualTo(Tools.describe(src, false));
    }

    /** {@return the entries under target/: the setup's own files carry the times of each run's setup} */
    private static Map<String, String> copies(Map<String, String> tree) {
        Map<String, String> copies = new java.util.TreeMap<>(tree);
        copies.keySet().removeIf(k -> !k.startsWith("target/"));
        return copies;
    }

    record Outcome(int exitCode, String stderr, Map<String, String> tree) {}

    private Outcome outcome(Setup setup, List<String> args, boolean systemCp) throws IOException {
        return outcome(setup, args, systemCp, false);
    }

    /** Sets the scenario up afresh in {@link #w}, runs cp or auraio cp there with absolute names, and records what happened. */
    private Outcome outcome(Setup setup, List<String> args, boolean systemCp, boolean times) throws IOException {
        TestDirectory.deleteRecursively(w);
        Files.createDirectories(w);
        baseline(w);
        setup.apply(w);
        List<String> absolute = new ArrayList<>();
        for (String a : args) {
            absolute.add(a.startsWith("-") ? a : w + "/" + a);
        }
        int exit;
        String err;
        if (systemCp) {
            List<String> command = new ArrayList<>(List.of("cp"));
            command.addAll(absolute);
            Tools.Run run = Tools.run(command);
            exit = run.exitCode();
            err = run.err();
        } else {
            List<String> command = new ArrayList<>(List.of("cp"));
            command.addAll(absolute);
            Cli.Result run = Cli.run(command.toArray(String[]::new));
            exit = run.exitCode();
            err = Tools.asTool(run.err(), "auraio cp", "cp");
        }
        return new Outcome(exit, sortedLines(err), Tools.describe(w, times));
    }

    /** Our files finish in parallel, so per-file messages may come in another order than cp's. */
    static String sortedLines(String text) {
        return text.lines().sorted().reduce("", (a, b) -> a + b + "\n");
    }
}
