package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Commands;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Hostile review of {@code auraio cp}, {@code hash} and {@code tree} beside cp, sha256sum/md5sum
 * and tree(1), and of what the tools and the bench do when their reader goes away ({@code | head}).
 * The first tests are cases that differed (each fails without its fix); the rest pin behaviour
 * that was checked at the same time and found the same as the system tool's.
 */
class ToolsReviewTest {
    /** The status the shell reports for a tool killed by SIGPIPE (128 + 13), which the tools exit with themselves. */
    private static final int KILLED_BY_SIGPIPE = 141;

    @RegisterExtension
    final TestDirectory dir = TestDirectory.enterableByOthers(); // one case runs the tools as an unprivileged user

    /** Runs {@code script} with {@code sh} in {@code cwd}: the set-up of one side of a comparison. */
    private static void sh(String script, Path cwd) throws IOException, InterruptedException {
        Commands.Ran ran = Commands.run(new ProcessBuilder("sh", "-c", script).directory(cwd.toFile()),
                Duration.ofSeconds(30));
        assertThat(ran.succeeded()).as("%s", ran).isTrue();
    }

    /**
     * Sets up the same files in two fresh directories with {@code setup}, runs cp there and
     * {@code auraio cp} here with {@code args} (each {@code @} the directory), and requires the
     * same stderr (the program name and the directory normalised), exit status and resulting tree.
     * {@return cp's exit status}
     */
    private int cpSideBySide(String setup, String... args) throws Exception {
        return cpSideBySide(true, setup, args);
    }

    /** As {@link #cpSideBySide(String, String...)}; {@code files}: whether the resulting trees must be the same too. */
    private int cpSideBySide(boolean files, String setup, String... args) throws Exception {
        Tools.assumePresent("cp", "sh");
        Path theirs = Files.createDirectory(dir.resolve("theirs"));
        Path ours = Files.createDirectory(dir.resolve("ours"));
        sh(setup, theirs);
        sh(setup, ours);
        List<String> cp = new ArrayList<>(List.of("cp"));
        List<String> auraio = new ArrayList<>(List.of("cp"));
        for (String a : args) {
            cp.add(a.replace("@", theirs.toString()));
            auraio.add(a.replace("@", ours.toString()));
        }
        Tools.Run t = Tools.run(cp);
        Cli.Result o = Cli.run(auraio.toArray(String[]::new));
        String line = String.join(" ", args);
        assertThat(Tools.asTool(o.err(), "auraio cp", "cp").replace(ours.toString(), "@"))
                .as("stderr of cp %s", line).isEqualTo(t.err().replace(theirs.toString(), "@"));
        assertThat(o.exitCode()).as("exit status of cp %s: %s", line, o.err()).isEqualTo(t.exitCode());
        if (files) {
            assertThat(Tools.describe(ours, false)).as("files after cp %s", line)
                    .isEqualTo(Tools.describe(theirs, false));
        }
        return t.exitCode();
    }

    // ---- fixed: cp ---------------------------------------------------------------------------------------------

    /** "SRC/" of a file, or of a link to one: cp says Not a directory; auraio cp copied it as if it had no slash. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "echo a > f | -r | @/f/",
        "echo a > f | -p | @/f/",
        "echo a > f; ln -s f l | -r | @/l/",
    })
    void aSourceWithATrailingSlashMustBeADirectoryAsCp(String setup, String option, String source) throws Exception {
        assertThat(cpSideBySide(setup, option, source, "@/e")).isEqualTo(1);
    }

    /**
     * "DEST/" that is no directory: cp's stat of it fails, or its create. auraio cp said "not writing
     * through dangling symlink", "cannot overwrite non-directory ... with directory", or "are the
     * same file" (for "cp f f/").
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "echo a > f; ln -s nowhere dl | @/f | @/dl/",
        "echo a > f; ln -s nowhere dl | -r @/f | @/dl/",
        "mkdir d; ln -s nowhere dl | -r @/d | @/dl/",
        "mkdir d; echo b > g | -r @/d | @/g/",
        "mkdir d; echo b > g; ln -s g gl | -r @/d | @/gl/",
        "echo a > f | @/f | @/f/",
        "echo a > f | -r @/f | @/f/",
    })
    void aDestinationWithATrailingSlashMustBeADirectoryAsCp(String setup, String sources, String dest)
            throws Exception {
        List<String> args = new ArrayList<>(List.of(sources.split(" ")));
        args.add(dest);
        assertThat(cpSideBySide(setup, args.toArray(String[]::new))).isEqualTo(1);
    }

    /** cp -r "LINK/" of a link to a directory copies the directory (the slash resolves the link); auraio cp copied the link. */
    @Test
    void recursiveCopyOfALinkWithATrailingSlashCopiesTheDirectoryAsCp() throws Exception {
        assertThat(cpSideBySide("mkdir d; echo a > d/f; ln -s d l", "-r", "@/l/", "@/e")).isZero();
        assertThat(Files.isSymbolicLink(dir.resolve("ours/e"))).isFalse();
        assertThat(Files.readString(dir.resolve("ours/e/f"))).isEqualTo("a\n");
    }

    // ---- fixed: hash -c --------------------------------------------------------------------------------------

    /** sha256sum -c DIR: "DIR: read error", exit 1; auraio hash said "Is a directory". */
    @Test
    void checkingADirectoryIsAReadErrorAsSha256sum() throws Exception {
        Tools.assumePresent("sha256sum", "md5sum");
        Path d = Files.createDirectory(dir.resolve("d"));
        for (String[] tool : new String[][] {{"sha256sum", "sha256"}, {"md5sum", "md5"}}) {
            Tools.Run theirs = Tools.run(tool[0], "-c", d.toString());
            Cli.Result ours = Cli.run("hash", "-a", tool[1], "-c", d.toString());
            assertThat(theirs.err()).isEqualTo(tool[0] + ": " + d + ": read error\n");
            assertThat(Tools.asTool(ours.err(), "auraio hash", tool[0])).isEqualTo(theirs.err());
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
            assertThat(ours.out()).isEqualTo(theirs.out()).isEmpty();
        }
    }

    /** sha256sum -c '': no such file; Path.of("") is the current directory, which is no read error either. */
    @Test
    void checkingAnEmptyNameIsNoSuchFileAsSha256sum() {
        Tools.assumePresent("sha256sum");
        Tools.Run theirs = Tools.run("sha256sum", "-c", "");
        Cli.Result ours = Cli.run("hash", "-c", "");
        assertThat(Tools.asTool(ours.err(), "auraio hash", "sha256sum")).isEqualTo(theirs.err())
                .isEqualTo("sha256sum: '': No such file or directory\n");
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
    }

    /**
     * Lists as sha256sum -c reads them: comments and empty lines skipped (auraio hash warned of
     * improper lines), white space before the fields, BSD's reversed "HEX NAME" (md5 -r) as long
     * as the list does not mix it with "HEX  NAME" (auraio hash refused it).
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "# made by hand%n%nHEX  @a%n",
        "HEX  @a%r%n%r%n# x%r%n",
        "%s%sHEX  @a%n",
        "%t\\HEX  @a%n",
        "HEX @a%n",
        "HEX%t@a%n",
        "HEX @a%nHEX  @b%n",
        "HEX  @a%nHEX @a%n",
        "HEX *@a%nHEX @b%n",
        "HEX  @a%n   %n",
    })
    void checkListsOfHandMadeShapesAreReadAsSha256sum(String shape) throws Exception {
        Tools.assumePresent("sha256sum");
        Path d = Files.createDirectory(dir.resolve("files"));
        Files.writeString(d.resolve("a"), "abc");
        Files.writeString(d.resolve("b"), "def");
        String hex = Tools.sha256(d.resolve("a"));
        // %s: a space where CsvSource would trim one
        String list = shape.replace("%n", "\n").replace("%r", "\r").replace("%t", "\t").replace("%s", " ")
                .replace("HEX", hex).replace("@a", d.resolve("a").toString()).replace("@b", d.resolve("b").toString());
        Path file = Files.writeString(dir.resolve("list"), list);
        Tools.Run theirs = Tools.run("sha256sum", "-c", file.toString());
        Cli.Result ours = Cli.run("hash", "-c", file.toString());
        assertThat(ours.out()).as("stdout for %s", shape).isEqualTo(theirs.out());
        assertThat(Tools.asTool(ours.err(), "auraio hash", "sha256sum")).as("stderr for %s", shape)
                .isEqualTo(theirs.err());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode());
    }

    // ---- fixed: the bench's fill ---------------------------------------------------------------------------

    /**
     * The disk fills while the bench writes its file, after its free-space check passed (another
     * writer took the space): it said "failed: java.io.IOException: No space left on device". Now
     * one line naming the file and the cause, exit 1, and the temp file gone.
     */
    @Test
    void benchFillCutShortByAFullDiskIsOneLineAndLeavesNoFile() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ToolsReview-bench-enospc")) {
            // faultfs reports the backing file system's free space (the check passes) and fails
            // writes past 1 MiB with ENOSPC.
            fs.enospcAfter(1 << 20);
            Cli.Result r = Cli.run("bench", "--directory", fs.path().toString(), "--size", "4m", "--bs", "4k",
                    "--runtime", "1", "--ramp", "0", "--rounds", "1", "--threads", "1", "--engine", "aura", "--buffered");
            assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).matches("auraio bench: \\Q" + fs.path()
                    + "\\E/auraio-bench-[0-9]+\\.dat: cannot fill the bench file: No space left on device\n");
            try (Stream<Path> left = Files.list(fs.path())) {
                assertThat(left.filter(p -> p.getFileName().toString().startsWith("auraio-bench-")).toList())
                        .as("temp files left").isEmpty();
            }
        }
    }

    // ---- fixed: a reader gone away (| head) ------------------------------------------------------------------

    /**
     * Starts {@code auraio args} in a JVM of its own (stdout and stderr into one pipe), reads
     * until a line containing {@code marker}, closes the pipe, as {@code | head} does once it has
     * its lines, and {@return the exit status}; the process must end within 60 s.
     */
    private int closeAfter(String marker, String... args) throws Exception {
        List<String> command = new ArrayList<>(Tools.auraioCommand(dir.path()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            var lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = lines.readLine()) != null && !line.contains(marker)) {
                // up to the line the reader wanted
            }
            assertThat(line).as("a line with %s", marker).isNotNull();
            p.getInputStream().close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s ended after its reader went", args[0]).isTrue();
            return p.exitValue();
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * {@code auraio hash -r | head -1}: it hashed on to the end and said "write error", exit 1;
     * {@code auraio tree | head -1} exited 0. sha256sum and tree die of SIGPIPE (141). The output
     * of each is far more than a pipe holds, so the writes after the close fail.
     */
    @Test
    void hashAndTreeIntoAClosedPipeStopSilentlyWith141() throws Exception {
        Path d = Files.createDirectory(dir.resolve("many"));
        for (int i = 0; i < 20_000; i++) {
            Files.writeString(d.resolve("f" + i), Integer.toString(i));
        }
        // Everything after the first line goes into the closed pipe (stderr too): the exit status is all there is to see.
        assertThat(closeAfter("  " + d + "/f0", "hash", "-r", d.toString())).isEqualTo(KILLED_BY_SIGPIPE);
        assertThat(closeAfter(d.toString(), "tree", d.toString())).isEqualTo(KILLED_BY_SIGPIPE);
    }

    /** {@code auraio cp --progress 2>&1 | head -1}: the copy stops starting files, those in flight finish whole, exit 141. */
    @Test
    void cpProgressIntoAClosedPipeStopsWith141AndLeavesWholeFiles() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("ToolsReview-cp-pipe")) {
            Path source = Files.createDirectory(fs.path("tree"));
            int files = 2_000;
            for (int i = 0; i < files; i++) {
                Files.writeString(source.resolve("f" + i), "file " + i + "\n");
            }
            // A walk of ~40 s at least (a lookup and a getattr per file): still going when the reader leaves.
            fs.metaLatency(Duration.ofMillis(10));
            Path copy = dir.resolve("copy");
            assertThat(closeAfter("copied", "cp", "-r", "--progress", source.toString(), copy.toString()))
                    .isEqualTo(KILLED_BY_SIGPIPE);
            fs.metaLatency(Duration.ZERO);
            List<Path> copied;
            try (Stream<Path> all = Files.list(copy)) {
                copied = all.toList();
            }
            assertThat(copied.size()).as("files copied before the stop").isLessThan(files);
            for (Path c : copied) {
                assertThat(Files.readString(c)).isEqualTo("file " + c.getFileName().toString().substring(1) + "\n");
            }
        }
    }

    /**
     * {@code auraio cp FILE /dev/stdout | head -c 1}: it said "error writing '/dev/stdout': Broken
     * pipe", then "cannot truncate '/dev/stdout': Illegal seek" (cutting the copy back, which a pipe
     * cannot be), exit 1; cp dies of SIGPIPE at that write, silently (141). The target here is a
     * FIFO whose reader leaves after one byte of a file far larger than a pipe holds, for cp and for
     * auraio cp alike.
     */
    @Test
    void cpIntoAPipeWhoseReaderIsGoneStopsSilentlyWith141AsCp() throws Exception {
        Path source = dir.path().resolve("big");
        Files.write(source, new byte[8 << 20]);
        List<String> auraioCp = new ArrayList<>(Tools.auraioCommand(dir.path()));
        auraioCp.add("cp");
        for (List<String> cp : List.of(List.of("cp"), auraioCp)) {
            Path fifo = dir.path().resolve("fifo");
            Files.deleteIfExists(fifo);
            sh("mkfifo fifo", dir.path());
            // The reader first: its open of the FIFO waits for the writer's.
            Process reader = new ProcessBuilder("head", "-c", "1", fifo.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            List<String> command = new ArrayList<>(cp);
            command.addAll(List.of(source.toString(), fifo.toString()));
            Path errors = dir.path().resolve("stderr");
            Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errors.toFile()).start();
            try {
                // Before the fix auraio cp also hung here: it reopened the FIFO to cut the copy back,
                // and an open of a FIFO for writing waits for a reader.
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s ended after its reader went", command).isTrue();
            } finally {
                p.destroyForcibly();
                reader.destroyForcibly();
            }
            String err = Files.readString(errors);
            assertThat(p.exitValue()).as("%s: %s", command, err).isEqualTo(KILLED_BY_SIGPIPE);
            assertThat(err).as("%s's stderr", command).isEmpty();
        }
    }

    // ---- checked and found the same: cp ----------------------------------------------------------------------

    /** The cases of the review that cp and auraio cp answer alike: messages, exit status and the files left. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // onto itself: same path, through a symbolic link either way, through a hard link
        "echo a > f | @/f | @/f",
        "echo a > f; ln -s f l | @/f | @/l",
        "echo a > f; ln -s f l | @/l | @/f",
        "echo a > f; ln f h | @/f | @/h",
        "echo a > f; ln f h | -r @/f | @/h",
        // a symbolic link loop is copied as links; hard links become separate files, as cp -r without -a
        "mkdir d; ln -s ../d d/loop; ln -s loop2 d/loop1; ln -s loop1 d/loop2 | -r @/d | @/e",
        "mkdir d; echo a > d/f; ln d/f d/g | -r @/d | @/e",
        // the destination a dangling symbolic link
        "echo a > f; ln -s nowhere dl | @/f | @/dl",
        "echo a > f; ln -s nowhere dl | -r @/f | @/dl",
        "mkdir d; ln -s nowhere dl | -r @/d | @/dl",
        // trailing slashes
        "echo a > f | @/f | @/g/",
        "echo a > f; mkdir g | @/f | @/g/",
        "echo a > f; echo b > g | @/f | @/g/",
        "echo a > f; echo b > g; ln -s g gl | @/f | @/gl/",
        "mkdir d | -r @/d | @/new/",
        "echo a > f; mkdir d; ln -s d dl | @/f | @/dl/",
        "mkdir d; ln -s d dl | -r @/d | @/dl/",
        "mkdir d; echo a > d/f | -r @/d/ | @/e",
        "mkdir d; echo a > d/f; mkdir e | -r @/d/ | @/e/",
        "echo a > f | @/missing/ | @/e",
        "mkdir d; echo a > d/f; ln -s d l | @/l/ | @/e",
        // SRC... DEST where DEST is no directory
        "echo a > f; echo b > g; echo c > h | @/f @/g | @/h",
        "echo a > f; echo b > g | @/f @/g | @/missing",
        // -- and names starting with -
        "echo a > ./-f | -- @/-f | @/-g",
        "echo a > f; mkdir d | -p -- @/f | @/d",
    })
    void cpCasesAnsweredAsCp(String setup, String sources, String dest) throws Exception {
        List<String> args = new ArrayList<>(List.of(sources.split(" ")));
        args.add(dest);
        cpSideBySide(setup, args.toArray(String[]::new));
    }

    /**
     * A directory into itself or its own subdirectory: cp's message and exit status. The files differ by
     * design: cp stops the whole walk where it meets its copy (what it copied before depends on
     * the directory's order on disk), auraio cp copies everything but the copy itself
     * (CpCommandTest.directoryIntoItselfIsReportedAndDoesNotRecurse).
     */
    @ParameterizedTest
    @CsvSource({"@/d/s, d/s/d", "@/d/s/new, d/s/new", "@/d, d/d"})
    void aDirectoryIntoItsOwnSubdirectoryIsReportedAsCp(String dest, String made) throws Exception {
        assertThat(cpSideBySide(false, "mkdir -p d/s; echo a > d/f", "-r", "@/d", dest)).isEqualTo(1);
        Path copy = dir.resolve("ours").resolve(made);
        assertThat(Files.readString(copy.resolve("f"))).isEqualTo("a\n");
        assertThat(copy.resolve("s")).isDirectory();
        try (Stream<Path> inside = Files.list(copy.resolve("s"))) {
            assertThat(inside.toList()).as("the copy, not copied into itself").isEmpty();
        }
    }

    /** An unreadable file in the middle of a tree: its line, exit 1 at the end, every other file copied (as nobody). */
    @Test
    void anUnreadableFileInTheMiddleIsOneLineAndTheRestIsCopiedAsCp() throws Exception {
        Tools.assumeRootWithSetpriv();
        Tools.assumePresent("cp");
        Path scratch = Files.createDirectory(dir.resolve("scratch"));
        Files.setPosixFilePermissions(dir.path(), PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path src = Files.createDirectory(dir.resolve("src"));
        for (String n : List.of("a", "m", "z")) {
            Files.writeString(src.resolve(n), n);
        }
        Files.setPosixFilePermissions(src.resolve("m"), PosixFilePermissions.fromString("---------"));
        List<String> auraio = new ArrayList<>(Tools.auraioCommand(scratch));
        auraio.addAll(List.of("cp", "-r", src.toString(), scratch.resolve("ours").toString()));
        Tools.Run ours = Tools.runAsNobody(auraio);
        Tools.Run theirs = Tools.runAsNobody(List.of("cp", "-r", src.toString(), scratch.resolve("theirs").toString()));
        assertThat(theirs.exitCode()).isEqualTo(1);
        assertThat(Tools.asTool(ours.err(), "auraio cp", "cp").replace("ours", "X"))
                .isEqualTo(theirs.err().replace("theirs", "X"));
        assertThat(ours.exitCode()).isEqualTo(1);
        assertThat(Files.readString(scratch.resolve("ours/a"))).isEqualTo("a");
        assertThat(Files.readString(scratch.resolve("ours/z"))).isEqualTo("z");
    }

    // ---- checked and found the same: hash ---------------------------------------------------------------------

    /** -c lists with CRLF endings, BSD-style (--tag) lines, escaped names (a leading backslash), as sha256sum/md5sum read them. */
    @ParameterizedTest
    @CsvSource({"sha256sum, sha256", "md5sum, md5"})
    void checkListsOfEveryShapeAreReadAsTheCoreutils(String tool, String algorithm) throws Exception {
        Tools.assumePresent(tool);
        Path d = Files.createDirectory(dir.resolve("files"));
        List<String> names = List.of("plain", "new\nline", "back\\slash", "-dash");
        List<String> paths = new ArrayList<>();
        for (String n : names) {
            Files.writeString(d.resolve(n), n);
            paths.add(d.resolve(n).toString());
        }
        List<String> sum = new ArrayList<>(List.of(tool));
        sum.addAll(paths);
        String gnu = Tools.run(sum).out();
        List<String> tagged = new ArrayList<>(List.of(tool, "--tag"));
        tagged.addAll(paths);
        String bsd = Tools.run(tagged).out();
        assertThat(gnu).contains("\\").contains("\\n");
        for (String list : List.of(gnu, gnu.replace("\n", "\r\n"), bsd, bsd.replace("\n", "\r\n"))) {
            Path file = Files.writeString(dir.resolve("list"), list);
            Tools.Run theirs = Tools.run(tool, "-c", file.toString());
            Cli.Result ours = Cli.run("hash", "-a", algorithm, "-c", file.toString());
            assertThat(ours.out()).as("%s -c of %s", tool, list).isEqualTo(theirs.out());
            assertThat(Tools.asTool(ours.err(), "auraio hash", tool)).isEqualTo(theirs.err());
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isZero();
        }
    }

    /** Names with a newline or a backslash get sha256sum's leading backslash; "--" lets a name start with "-". */
    @Test
    void awkwardNamesAndDoubleDashAsSha256sum() throws Exception {
        Tools.assumePresent("sha256sum");
        Path d = Files.createDirectory(dir.resolve("names"));
        for (String n : List.of("-dash", "new\nline", "back\\slash")) {
            Files.writeString(d.resolve(n), n);
        }
        for (List<String> args : List.of(List.of("--", "-dash"), List.of("new\nline", "back\\slash"))) {
            List<String> sum = new ArrayList<>(List.of("sha256sum"));
            sum.addAll(args);
            // Relative names, as typed, for sha256sum run in the directory; ours (in this JVM) gets
            // the full paths, cut from its lines.
            List<String> hash = new ArrayList<>(List.of("hash"));
            args.forEach(a -> hash.add(a.equals("--") ? a : d.resolve(a).toString()));
            Tools.Run theirs = runIn(d, sum);
            Cli.Result ours = Cli.run(hash.toArray(String[]::new));
            assertThat(ours.out().replace(d + "/", "")).isEqualTo(theirs.out());
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isZero();
        }
    }

    private static Tools.Run runIn(Path cwd, List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Tools.Run(p.exitValue(), out, err);
    }

    // ---- checked and found the same: tree --------------------------------------------------------------------

    /** tree of a file, of a missing name, of a tree with a symbolic link loop and a FIFO, -L 1: as tree(1). */
    @Test
    void treeOfFilesLoopsAndLevelsAsTree() throws Exception {
        Tools.assumePresent("tree", "sh");
        Path w = Files.createDirectory(dir.resolve("w"));
        sh("mkdir -p t/x/y; echo hi > t/x/f; ln -s ../x t/x/y/loop; mkfifo t/fifo; echo a > file", w);
        for (List<String> args : List.of(List.of("file"), List.of("missing"), List.of("t"), List.of("-L", "1", "t"),
                List.of("t/x/f", "t/x"), List.of("t/"))) {
            List<String> tree = new ArrayList<>(List.of("tree"));
            tree.addAll(args.stream().map(a -> a.startsWith("-") || a.equals("1") ? a : w.resolve(a).toString()).toList());
            Tools.Run theirs = Tools.run(tree);
            Cli.Result ours = Cli.run(tree.toArray(String[]::new));
            assertThat(ours.out()).as("tree %s", args).isEqualTo(theirs.out());
            assertThat(ours.exitCode()).as("tree %s", args).isEqualTo(theirs.exitCode());
        }
    }
}
