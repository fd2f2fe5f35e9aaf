package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The failures a user of {@code auraio cp} meets that need more than a file tree: a full disk
 * (faultfs' ENOSPC knob) and permission denied (checked as an unprivileged user, since root
 * reads and writes everything), each one line as cp prints it, exit status 1.
 */
class CpErrorsTest {
    @RegisterExtension
    final TestDirectory dir = TestDirectory.enterableByOthers(); // tools run as an unprivileged user here

    @Test
    void diskFullIsOneLineAsCpSaysIt() throws Exception {
        Tools.assumePresent("cp");
        Path source = dir.resolve("source");
        byte[] bytes = new byte[4 << 20];
        new Random(3).nextBytes(bytes);
        Files.write(source, bytes);
        try (FaultFs fs = FixtureAvailability.mountFaultFs("CpErrorsTest")) {
            Path target = fs.path("copy");

            fs.enospcAfter(1 << 20);
            Cli.Result ours = Cli.run("cp", source.toString(), target.toString());
            long enospcOurs = fs.counters().enospcInjected();
            fs.reset();
            Files.deleteIfExists(target);
            fs.enospcAfter(1 << 20);
            Tools.Run theirs = Tools.run("cp", source.toString(), target.toString());

            assertThat(enospcOurs).as("the file system refused a write").isPositive();
            assertThat(ours.err()).isEqualTo("auraio cp: error writing '" + target + "': No space left on device\n");
            assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
        }
    }

    /**
     * An I/O error part way through a copy (faultfs fails the read of the source, or the write of
     * the copy, that covers byte 1 MiB + 1000 with EIO) leaves what cp leaves: a prefix of the
     * source, with cp's message and exit status. The file's chunks are read and written by
     * several threads at once, and those past the bad one were written while it was not: the
     * copy had a hole of zeros in the middle. Deterministic: the error is where it is whatever the
     * timing; whether a chunk past it was written first is not (the 2 ms each read or write on
     * faultfs takes lets most threads take theirs before the bad one fails, as on a slow disk), so
     * the copy is made a few times, and every copy must be a prefix.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = FaultFs.Ops.class, names = {"READ", "WRITE"})
    void anIoErrorPartWayLeavesAPrefixOfTheSourceAsCp(FaultFs.Ops failing) throws Exception {
        Tools.assumePresent("cp");
        byte[] bytes = FullDisk.nonZeroBytes(4 << 20, 4);
        long bad = (1 << 20) + 1000;
        try (FaultFs fs = FixtureAvailability.mountFaultFs("CpErrorsTest")) {
            boolean reads = failing == FaultFs.Ops.READ;
            Path source = Files.write(reads ? fs.path("source") : dir.resolve("source"), bytes);
            Path ours = reads ? dir.resolve("ours") : fs.path("ours");
            Path theirs = reads ? dir.resolve("theirs") : fs.path("theirs");
            fs.eioOps(failing).eioAtOffset(bad).latency(Duration.ofMillis(2));
            Tools.Run theirRun = Tools.run("cp", source.toString(), theirs.toString());
            FullDisk.assertPrefixOf(theirs, bytes); // faultfs fails only reads or only writes: a copy reads back whole
            for (int round = 0; round < 3; round++) { // each a new interleaving of the chunks
                Files.deleteIfExists(ours);
                Cli.Result ourRun = Cli.run("cp", source.toString(), ours.toString());
                assertThat(ourRun.err()).isEqualTo("auraio cp: " + (reads ? "error reading '" + source
                        : "error writing '" + ours) + "': Input/output error\n");
                assertThat(Tools.asTool(ourRun.err(), "auraio cp", "cp").replace(ours.toString(), theirs.toString()))
                        .isEqualTo(theirRun.err());
                assertThat(ourRun.exitCode()).isEqualTo(theirRun.exitCode()).isEqualTo(1);
                FullDisk.assertPrefixOf(ours, bytes);
                assertThat(Files.size(ours)).as("bytes copied: none from where the error is").isLessThanOrEqualTo(bad);
            }
        }
    }

    static Stream<Arguments> deniedScenarios() {
        return Stream.of(
                Arguments.of("unreadable source", List.of("secret", "copy")),
                Arguments.of("target directory not writable", List.of("a", "locked/a")),
                Arguments.of("existing target not writable", List.of("a", "readonly")),
                Arguments.of("unreadable directory in a tree", List.of("-r", "tree", "copy")),
                Arguments.of("directory not searchable", List.of("closed/inside", "copy")));
    }

    /** Files owned by root that the unprivileged user may or may not touch. */
    private static void deniedTree(Path w) throws IOException {
        Files.writeString(w.resolve("a"), "a\n");
        Files.writeString(w.resolve("secret"), "no\n");
        Files.setPosixFilePermissions(w.resolve("secret"), PosixFilePermissions.fromString("---------"));
        Files.createDirectories(w.resolve("locked"));
        Files.setPosixFilePermissions(w.resolve("locked"), PosixFilePermissions.fromString("r-xr-xr-x"));
        Files.writeString(w.resolve("readonly"), "old\n");
        Files.setPosixFilePermissions(w.resolve("readonly"), PosixFilePermissions.fromString("r--r--r--"));
        Files.createDirectories(w.resolve("tree/open"));
        Files.createDirectories(w.resolve("tree/shut"));
        Files.writeString(w.resolve("tree/open/f"), "f\n");
        Files.writeString(w.resolve("tree/shut/g"), "g\n");
        Files.setPosixFilePermissions(w.resolve("tree/shut"), PosixFilePermissions.fromString("---------"));
        Files.createDirectories(w.resolve("closed"));
        Files.writeString(w.resolve("closed/inside"), "i\n");
        Files.setPosixFilePermissions(w.resolve("closed"), PosixFilePermissions.fromString("rw-rw-rw-"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("deniedScenarios")
    void permissionDeniedIsOneLineAsCpSaysIt(String name, List<String> args) throws Exception {
        Tools.assumePresent("cp");
        Tools.assumeRootWithSetpriv();
        Path w = dir.path();
        Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        List<String> auraio = new ArrayList<>(Tools.auraioCommand(scratch));
        auraio.add("cp");

        Tools.Run theirs = runAsNobody(w, List.of("cp"), args);
        Tools.Run ours = runAsNobody(w, auraio, args);

        assertThat(theirs.err()).as("cp itself was refused").contains("Permission denied");
        assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
    }

    /** Sets the scenario up afresh in {@code w} and runs {@code command args} there as the unprivileged user. */
    private static Tools.Run runAsNobody(Path w, List<String> command, List<String> args) throws IOException {
        try (Stream<Path> old = Files.list(w)) {
            for (Path p : old.toList()) {
                if (!p.getFileName().toString().equals("scratch")) {
                    makeRemovable(p);
                    TestDirectory.deleteRecursively(p);
                }
            }
        }
        deniedTree(w);
        List<String> full = new ArrayList<>(command);
        for (String a : args) {
            full.add(a.startsWith("-") ? a : w + "/" + a);
        }
        Tools.Run run = Tools.runAsNobody(full);
        try (Stream<Path> all = Files.walk(w)) {
            for (Path p : all.toList()) {
                makeRemovable(p);
            }
        }
        return run;
    }

    private static void makeRemovable(Path p) throws IOException {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
            try (Stream<Path> children = Files.list(p)) {
                for (Path c : children.toList()) {
                    makeRemovable(c);
                }
            }
        }
    }
}
