package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Commands;
import io.auraio.testing.TestDirectory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code auraio cp}, {@code hash} and {@code tree} against the coreutils and tree(1) they follow
 * (README: "cp(1): same rules, messages and exit status", "tree(1) 2.x output, byte for byte",
 * sha256sum's lines), each run beside the real tool where it is installed. The first tests of each
 * section are cases that differed once (each fails without its fix); the rest, edge cases checked
 * at the same time.
 */
class ToolsAgainstCoreutilsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    private static void sh(String script, Path cwd) throws IOException, InterruptedException {
        Commands.Ran ran = Commands.run(new ProcessBuilder("sh", "-c", script).directory(cwd.toFile()),
                Duration.ofSeconds(10));
        assertThat(ran.succeeded()).as("%s", ran).isTrue();
    }

    /** {@code ls -b} of a directory: names with octal escapes, so bytes that are not UTF-8 stay visible. */
    private static String lsB(Path d) {
        return Tools.run("ls", "-b", d.toString()).out();
    }

    // ---- cp: cases that differed once ------------------------------------------------------------------------

    /** cp -p keeps setuid, setgid and sticky bits (mode 4755, 3777), as cp (it dropped them: PosixFilePermission has no such bits). */
    @Test
    void preserveKeepsSetuidSetgidAndStickyBits() throws Exception {
        Tools.assumePresent("cp");
        Path file = Files.writeString(dir.resolve("suid"), "x\n");
        Files.setAttribute(file, "unix:mode", 04755);
        Path sticky = Files.createDirectory(dir.resolve("sticky"));
        Files.setAttribute(sticky, "unix:mode", 03777);

        Tools.Run theirs = Tools.run("cp", "-rp", file.toString(), sticky.toString(), Files.createDirectory(
                dir.resolve("theirs")).toString());
        Cli.Result ours = Cli.run("cp", "-rp", file.toString(), sticky.toString(),
                Files.createDirectory(dir.resolve("ours")).toString());

        assertThat(theirs.exitCode()).isZero();
        assertThat(ours.exitCode()).as(ours.err()).isZero();
        assertThat(Integer.toOctalString(mode(dir.resolve("theirs/suid")))).isEqualTo("4755");
        assertThat(Integer.toOctalString(mode(dir.resolve("ours/suid")))).as("file mode after cp -p").isEqualTo("4755");
        assertThat(Integer.toOctalString(mode(dir.resolve("ours/sticky")))).as("directory mode after cp -rp")
                .isEqualTo(Integer.toOctalString(mode(dir.resolve("theirs/sticky")))).isEqualTo("3777");
    }

    /**
     * cp -r refuses to put a directory where the target's entry is a symbolic link (even one to a
     * directory): "cannot overwrite non-directory", as cp (auraio cp followed the link and wrote
     * wherever it pointed, outside the target tree).
     */
    @Test
    void recursiveCopyDoesNotWriteThroughASymlinkToADirectory() throws Exception {
        Tools.assumePresent("cp");
        Path src = Files.createDirectory(dir.resolve("m1"));
        Files.writeString(src.resolve("payload"), "p\n");
        Path target = Files.createDirectory(dir.resolve("T"));
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere"));
        Files.createSymbolicLink(target.resolve("m1"), elsewhere);

        Tools.Run theirs = Tools.run("cp", "-r", src.toString(), target.toString());
        assertThat(Files.exists(elsewhere.resolve("payload"))).isFalse();
        Cli.Result ours = Cli.run("cp", "-r", src.toString(), target.toString());

        assertThat(theirs.err()).contains("cannot overwrite non-directory");
        assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
        assertThat(elsewhere.resolve("payload")).as("written through the link").doesNotExist();
    }

    /**
     * cp -r A/d B/d DEST merges both trees (B's files overwrite A's, exit 0), as cp: auraio cp
     * handed A's files to the mover and, not waiting for them, looked B's targets up before A's
     * existed (B's exclusive creates failed with "File exists"); a source now starts once the
     * last one's copies are done.
     */
    @Test
    void recursiveCopyOfTwoTreesIntoOneTargetMergesThemAsCp() throws Exception {
        Tools.assumePresent("cp");
        Path a = Files.createDirectories(dir.resolve("a/d"));
        Path b = Files.createDirectories(dir.resolve("b/d"));
        for (int i = 0; i < 50; i++) {
            Files.writeString(a.resolve("f" + i), "from a " + i + "\n");
            Files.writeString(b.resolve("f" + i), "from b " + i + "\n");
        }
        Path theirsDest = Files.createDirectory(dir.resolve("theirs"));
        Path oursDest = Files.createDirectory(dir.resolve("ours"));
        Tools.Run theirs = Tools.run("cp", "-r", a.toString(), b.toString(), theirsDest.toString());
        Cli.Result ours = Cli.run("cp", "-r", a.toString(), b.toString(), oursDest.toString());

        assertThat(theirs.exitCode()).isZero();
        assertThat(theirs.err()).isEmpty();
        assertThat(ours.err()).isEmpty();
        assertThat(ours.exitCode()).isZero();
        assertThat(Tools.describe(oursDest, false)).isEqualTo(Tools.describe(theirsDest, false));
    }

    /** cp a/x b/x DIR: "will not overwrite just-created 'DIR/x' with 'b/x'", and DIR/x holds a/x. */
    @Test
    void twoSourcesWithOneNameRefuseTheSecondAsCp() throws Exception {
        Tools.assumePresent("cp");
        Path x1 = Files.writeString(Files.createDirectory(dir.resolve("s1")).resolve("x"), "one\n");
        Path x2 = Files.writeString(Files.createDirectory(dir.resolve("s2")).resolve("x"), "two\n");
        Path theirsDest = Files.createDirectory(dir.resolve("theirs"));
        Path oursDest = Files.createDirectory(dir.resolve("ours"));
        Tools.Run theirs = Tools.run("cp", x1.toString(), x2.toString(), theirsDest.toString());
        Cli.Result ours = Cli.run("cp", x1.toString(), x2.toString(), oursDest.toString());

        assertThat(theirs.err()).contains("will not overwrite just-created");
        assertThat(Tools.asTool(ours.err(), "auraio cp", "cp").replace(oursDest.toString(), theirsDest.toString()))
                .isEqualTo(theirs.err());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
        assertThat(Files.readString(oursDest.resolve("x"))).isEqualTo("one\n");
    }

    /** cp f f DIR: a warning ("specified more than once") and exit 0, as cp (it said "File exists", exit 1). */
    @Test
    void sameSourceTwiceWarnsAndSucceedsAsCp() throws Exception {
        Tools.assumePresent("cp");
        Path f = Files.writeString(dir.resolve("f"), "f\n");
        Path theirsDest = Files.createDirectory(dir.resolve("theirs"));
        Path oursDest = Files.createDirectory(dir.resolve("ours"));
        Tools.Run theirs = Tools.run("cp", f.toString(), f.toString(), theirsDest.toString());
        Cli.Result ours = Cli.run("cp", f.toString(), f.toString(), oursDest.toString());

        assertThat(theirs.exitCode()).isZero();
        assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
        assertThat(ours.exitCode()).isZero();
    }

    /**
     * A name that is not UTF-8 (byte 0xff) is copied by cp -r under its own bytes, as cp (auraio cp
     * rebuilt the target name from the decoded String: U+FFFD, bytes ef bf bd, another name).
     */
    @Test
    void recursiveCopyKeepsANameThatIsNotUtf8() throws Exception {
        Path src = Files.createDirectory(dir.resolve("src"));
        sh("printf 'data\\n' > \"$(printf 'src/\\377bad')\"", dir.path());
        Cli.Result ours = Cli.run("cp", "-r", src.toString(), dir.resolve("copy").toString());

        assertThat(ours.exitCode()).as(ours.err()).isZero();
        assertThat(lsB(src)).isEqualTo("\\377bad\n");
        assertThat(lsB(dir.resolve("copy"))).isEqualTo(lsB(src));
    }

    /**
     * With no UTF-8 locale (LANG unset, LC_ALL=C: cron, many containers) cp -r of a tree holding
     * "é.txt" works, as cp (the names of a directory's entries are resolved as Paths, which keep
     * their bytes; it stopped the whole copy with an InvalidPathException: the JVM decodes names
     * with the locale's ASCII, sun.jnu.encoding).
     */
    @Test
    void inTheCLocaleNonAsciiNamesAreCopied() throws Exception {
        try {
            dir.resolve("é.txt");
        } catch (java.nio.file.InvalidPathException e) {
            org.junit.jupiter.api.Assumptions.abort("this test JVM's own locale cannot name é.txt ("
                    + e.getMessage() + "): run the tests in a UTF-8 locale");
        }
        Path src = Files.createDirectory(dir.resolve("src"));
        Files.writeString(src.resolve("é.txt"), "accent\n");
        Files.writeString(src.resolve("plain"), "plain\n");
        Tools.Run run = runInCLocale("cp", "-r", src.toString(), dir.resolve("copy").toString());

        assertThat(run.err()).doesNotContain("Exception").isEmpty();
        assertThat(run.exitCode()).isZero();
        assertThat(Tools.describe(dir.resolve("copy"), false)).isEqualTo(Tools.describe(src, false));
    }

    /** Runs auraio in a fresh JVM with LANG unset and LC_ALL=C. */
    private Tools.Run runInCLocale(String... args) throws Exception {
        List<String> command = new ArrayList<>(Tools.auraioCommand(Files.createDirectories(dir.resolve("jvm"))));
        command.addAll(List.of(args));
        Path out = dir.resolve("jvm/out");
        Path err = dir.resolve("jvm/err");
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().remove("LANG");
        pb.environment().keySet().removeIf(k -> k.startsWith("LC_"));
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Tools.Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /**
     * A copy to another file system that runs out of space part way (16 MiB of non-zero bytes onto
     * a tmpfs of 4500 KiB) leaves what cp leaves: a prefix of the source, with cp's message and
     * exit status; with or without {@code --direct} (O_DIRECT reads of the source). Across file
     * systems a file's chunks are written by several threads at once, and the copy was left with
     * holes when a chunk past the one that failed had been written first. Whether that happens
     * depends on the order the writes ran in, so the copy is made a few times, each a new
     * interleaving (on 2 CPUs the holes showed in one copy in two with the default binding, one
     * in five to ten with the syscall binding); what the test asserts does not: the tmpfs is full
     * at 4500 KiB whatever the timing, and every copy must be a prefix.
     */
    @ParameterizedTest
    @ValueSource(strings = {"page cache", "--direct"})
    void aCopyCutShortByAFullDiskLeavesAPrefixOfTheSourceAsCp(String how) throws Exception {
        Tools.assumePresent("cp");
        byte[] bytes = FullDisk.nonZeroBytes(16 << 20, 5);
        Path source = Files.write(dir.resolve("big"), bytes);
        try (FullDisk disk = FullDisk.mount(dir.resolve("small"), "4500k")) {
            Path target = disk.path("copy");
            Cli.Result ours = null;
            for (int round = 0; round < 6; round++) {
                Files.deleteIfExists(target);
                ours = how.startsWith("--") ? Cli.run("cp", how, source.toString(), target.toString())
                        : Cli.run("cp", source.toString(), target.toString());
                assertThat(ours.err()).isEqualTo("auraio cp: error writing '" + target + "': No space left on device\n");
                assertThat(ours.exitCode()).isEqualTo(1);
                FullDisk.assertPrefixOf(target, bytes);
            }

            Files.delete(target);
            Tools.Run theirs = Tools.run("cp", source.toString(), target.toString());
            assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
            assertThat(theirs.exitCode()).isEqualTo(1);
            FullDisk.assertPrefixOf(target, bytes);
        }
    }

    /**
     * cp -r of a tree onto a file system that fills part way (six 1.5 MiB files onto a 4 MiB
     * tmpfs): as with cp, the copy goes on after a file fails, and each file ends whole or as a
     * prefix of its source, the ones cut short each named in cp's message, exit status 1. Which
     * files fail may differ from cp's (auraio cp writes several files at once, and a failed one
     * gives back the space of what it wrote past its prefix), not what is left of each.
     */
    @Test
    void aTreeCopiedOntoAFullDiskLeavesEachFileWholeOrAPrefixAsCp() throws Exception {
        Tools.assumePresent("cp");
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Map<String, byte[]> sources = new TreeMap<>();
        for (int i = 0; i < 6; i++) {
            sources.put("f" + i, FullDisk.nonZeroBytes(3 << 19, 10 + i));
        }
        sources.put("small", FullDisk.nonZeroBytes(1000, 20));
        for (var e : sources.entrySet()) {
            Files.write(tree.resolve(e.getKey()), e.getValue());
        }
        try (FullDisk disk = FullDisk.mount(dir.resolve("small-fs"), "4m")) {
            for (int round = 0; round < 3; round++) { // each a new interleaving of the files' and chunks' writes
                Cli.Result ours = Cli.run("cp", "-r", tree.toString(), disk.path("ours").toString());
                assertThat(ours.exitCode()).as(ours.err()).isEqualTo(1);
                assertCutShortAndNamed(ours.err(), "auraio cp", disk.path("ours"), sources);
                try (Stream<Path> ourCopy = Files.walk(disk.path("ours"))) { // make room for the next copy
                    for (Path p : ourCopy.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
            Tools.Run theirs = Tools.run("cp", "-r", tree.toString(), disk.path("theirs").toString());
            assertThat(theirs.exitCode()).as(theirs.err()).isEqualTo(1);
            assertCutShortAndNamed(theirs.err(), "cp", disk.path("theirs"), sources);
        }
    }

    /** Each file of {@code copy} is whole or a prefix; those cut short are the ones {@code err} names, once each. */
    private static void assertCutShortAndNamed(String err, String tool, Path copy, Map<String, byte[]> sources)
            throws IOException {
        List<String> named = new ArrayList<>();
        for (String line : err.lines().toList()) {
            String prefix = tool + ": error writing '" + copy + "/";
            String suffix = "': No space left on device";
            assertThat(line).as("a line of %s's stderr", tool).startsWith(prefix).endsWith(suffix);
            named.add(line.substring(prefix.length(), line.length() - suffix.length()));
        }
        List<String> cutShort = new ArrayList<>();
        for (var e : sources.entrySet()) {
            Path file = copy.resolve(e.getKey());
            FullDisk.assertPrefixOf(file, e.getValue());
            if (Files.size(file) < e.getValue().length) {
                cutShort.add(e.getKey());
            }
        }
        assertThat(cutShort).as("files %s cut short (%s)", tool, err).isNotEmpty();
        assertThat(named).as("files named in %s's messages", tool).containsExactlyInAnyOrderElementsOf(cutShort);
    }

    // ---- hash: cases that differed once ------------------------------------------------------------------------

    /** sha256sum > /dev/full: "sha256sum: write error", exit 1, as sha256sum (it exited 0 silently: PrintStream swallows the error). */
    @Test
    void hashReportsAWriteErrorOnItsOutput() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "f\n");
        OutputStream full = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(full, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = (int) Class.forName("io.auraio.cli.Auraio")
                    .getMethod("run", String[].class, PrintStream.class, PrintStream.class, boolean.class)
                    .invoke(null, new String[] {"hash", f.toString()}, o, e, false);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("write error");
        assertThat(code).isEqualTo(1);
    }

    /** The same as a process: auraio hash FILE > /dev/full. */
    @Test
    void hashIntoDevFullFailsAsSha256sum() throws Exception {
        Tools.assumePresent("sha256sum", "sh");
        Path f = Files.writeString(dir.resolve("f"), "f\n");
        Tools.Run theirs = Tools.run("sh", "-c", "sha256sum \"$0\" > /dev/full", f.toString());
        List<String> ours = new ArrayList<>(Tools.auraioCommand(Files.createDirectories(dir.resolve("jvm"))));
        ours.addAll(List.of("hash", f.toString()));
        Process p = new ProcessBuilder(ours).redirectOutput(new java.io.File("/dev/full"))
                .redirectError(dir.resolve("jvm/err").toFile()).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(theirs.exitCode()).isEqualTo(1);
        assertThat(theirs.err()).startsWith("sha256sum: write error"); // coreutils 9.1: no reason after it
        assertThat(Files.readString(dir.resolve("jvm/err"))).startsWith("auraio hash: write error");
        assertThat(p.exitValue()).isEqualTo(1);
    }

    // ---- tree: cases that differed once ------------------------------------------------------------------------

    /**
     * tree 2.x prints non-printable characters of names as octal escapes (\012, \011, \033): a name
     * with a newline stays one line, an escape sequence does not reach the terminal (it printed
     * the raw bytes).
     */
    @Test
    void treeEscapesNonPrintableCharactersAsTreeDoes() throws Exception {
        Tools.assumePresent("tree");
        Path root = Files.createDirectory(dir.resolve("ctl"));
        for (String name : List.of("new\nline", "tab\there", "esc\u001b[31mred", "cr\r", "plain")) {
            Files.createFile(root.resolve(name));
        }
        Tools.Run theirs = Tools.run("tree", root.toString());
        Cli.Result ours = Cli.run("tree", root.toString());

        assertThat(theirs.out()).contains("new\\012line", "tab\\011here", "esc\\033[31mred");
        assertThat(ours.out()).isEqualTo(theirs.out());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode());
    }

    // ---- edge cases that behave ------------------------------------------------------------------------

    /** cp /dev/zero onto a full file system stops with cp's message and exit status (it does not run forever). */
    @Test
    void devZeroOntoAFullFileSystemStopsAsCp() throws Exception {
        Tools.assumePresent("cp");
        Path small = Files.createDirectory(dir.resolve("small"));
        Commands.Ran mount = Commands.run(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                small.toString()), Duration.ofSeconds(10));
        assumeTrue(mount.succeeded(), "cannot mount a tmpfs here: " + mount);
        try {
            Tools.Run theirs = Tools.run("cp", "/dev/zero", small.resolve("z").toString());
            long theirSize = Files.size(small.resolve("z"));
            Files.delete(small.resolve("z"));
            Cli.Result ours = Cli.run("cp", "/dev/zero", small.resolve("z").toString());

            assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err())
                    .endsWith("No space left on device\n");
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
            assertThat(Files.size(small.resolve("z"))).isEqualTo(theirSize);
        } finally {
            Commands.run(new ProcessBuilder("umount", small.toString()), Duration.ofSeconds(10));
        }
    }

    /** Names with a space, a backslash, a newline and a CR, and an empty file: sha256sum's lines, and sha256sum -c's report. */
    @Test
    void hashLinesAndChecksOfAwkwardNamesAreSha256sums() throws Exception {
        Tools.assumePresent("sha256sum", "sh");
        Path d = Files.createDirectory(dir.resolve("names"));
        List<String> names = List.of("a b", "back\\slash", "new\nline", "cr\r", "empty");
        for (String n : names) {
            Files.writeString(d.resolve(n), n.equals("empty") ? "" : n);
        }
        List<String> paths = names.stream().map(n -> d.resolve(n).toString()).toList();
        List<String> sum = new ArrayList<>(List.of("sha256sum"));
        sum.addAll(paths);
        Tools.Run theirs = Tools.run(sum);
        List<String> hash = new ArrayList<>(List.of("hash"));
        hash.addAll(paths);
        Cli.Result ours = Cli.run(hash.toArray(String[]::new));
        assertThat(ours.out()).isEqualTo(theirs.out());
        assertThat(ours.exitCode()).isZero();

        Path list = Files.writeString(dir.resolve("list"), theirs.out());
        Tools.Run theirCheck = Tools.run("sha256sum", "-c", list.toString());
        Cli.Result ourCheck = Cli.run("hash", "-c", list.toString());
        assertThat(ourCheck.out()).isEqualTo(theirCheck.out());
        assertThat(ourCheck.exitCode()).isEqualTo(theirCheck.exitCode()).isZero();
    }

    /** Bad or conflicting options: a message, the "Try ... --help" line and exit 1, never a stack trace. */
    @ParameterizedTest
    @ValueSource(strings = {"cp --bogus a b", "cp -x a b", "cp", "cp onlyone", "hash -a", "hash -a sha512 f",
        "hash -c", "hash -c sums f", "hash -a md5 -a sha1 f", "tree -L", "tree -L x", "tree -L 0", "tree -L -1",
        "tree --bogus"})
    void badOptionsAreAMessageAndExitOne(String line) {
        Cli.Result r = Cli.run(line.split(" "));
        assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).doesNotContain("Exception", "\tat ").endsWith("Try 'auraio " + line.split(" ")[0]
                + " --help' for more information.\n");
        assertThat(r.err().lines().count()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
    }

    /** cp FILE DIR where DIR/FILE is a symbolic link to FILE: "are the same file", exit 1, the source intact. */
    @Test
    void sameFileThroughALinkInTheTargetDirectory() throws Exception {
        Tools.assumePresent("cp");
        Path f = Files.writeString(dir.resolve("f"), "f\n");
        Path d = Files.createDirectory(dir.resolve("d"));
        Files.createSymbolicLink(d.resolve("f"), f);
        Tools.Run theirs = Tools.run("cp", f.toString(), d.toString());
        Cli.Result ours = Cli.run("cp", f.toString(), d.toString());

        assertThat(theirs.err()).contains("are the same file");
        assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
        assertThat(Files.readString(f)).isEqualTo("f\n");
    }
}
