package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Commands;
import io.auraio.testing.TestDirectory;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a user typing {@code auraio} on a terminal runs into: help at the top level, an empty file
 * name, outputs that are directories, a --size that the disk cannot hold, Ctrl-C during a bench.
 */
class CliArgumentsReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static void assertUsageError(Cli.Result r, String expected) {
        assertThat(r.exitCode()).as("exit code, stderr: %s", r.err()).isEqualTo(2);
        assertThat(r.err()).contains(expected);
        assertThat(r.err().strip().lines()).as("stderr lines").hasSize(1);
        assertThat(r.err()).doesNotContain("Exception", "\tat ");
        assertThat(r.out()).as("nothing ran").doesNotContain("IOPS", "filling");
    }

    @Test
    void topLevelHelpListsTheCommandsAndExitsZero() {
        for (String help : List.of("--help", "-h", "help")) {
            Cli.Result r = Cli.run(help);
            assertThat(r.exitCode()).as("%s: %s", help, r.err()).isZero();
            assertThat(r.out()).contains("bench", "cp", "hash", "tree", "top");
            assertThat(r.err()).isEmpty();
        }
    }

    /** sha256sum and tree(1) take "" as a name that does not exist; Path.of("") is the current directory. */
    @Test
    void anEmptyNameIsNoSuchFileNotTheCurrentDirectory() {
        for (List<String> args : List.of(List.of("hash", ""), List.of("hash", "-r", ""))) {
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as("%s", args).isEqualTo(1);
            assertThat(r.out()).as("%s", args).isEmpty();
            assertThat(r.err()).as("%s", args).isEqualTo("auraio hash: '': No such file or directory\n");
        }
        Cli.Result tree = Cli.run("tree", "");
        assertThat(tree.exitCode()).isEqualTo(2);
        assertThat(tree.out()).isEqualTo("  [error opening dir]\n\n0 directories, 0 files\n");
    }

    /** An empty name for any path option is no file: not the current directory. */
    @Test
    void benchPathOptionsThatAreEmptyAreNoSuchFile() {
        for (String option : List.of("--file", "--directory", "--json", "--plot", "--jfr")) {
            assertUsageError(Cli.run("bench", "--runtime", "1", option, ""), option + " '': No such file or directory");
        }
    }

    @Test
    void benchOutputsThatAreDirectoriesAreRefusedBeforeTheRun() throws IOException {
        Path d = Files.createDirectory(dir.resolve("out"));
        for (String option : List.of("--json", "--plot", "--jfr")) {
            Cli.Result r = Cli.run("bench", "--directory", dir.path().toString(), "--size", "64k", "--runtime", "1",
                    "--ramp", "0", "--rounds", "1", "--threads", "1", "--engine", "aura", option, d.toString());
            assertUsageError(r, option + " " + d + ": is a directory");
        }
    }

    @Test
    void benchOptionsOfTheEngineAreNamedAsOptions() {
        assertUsageError(Cli.run("bench", "--queue-depth", "0"), "--queue-depth");
        assertUsageError(Cli.run("bench", "--rings", "-1"), "--rings");
        assertUsageError(Cli.run("bench", "--in-flight", "-5"), "--in-flight");
        assertUsageError(Cli.run("bench", "--target-p99", "-1"), "--target-p99");
    }

    /** A --bs that O_DIRECT cannot use is that problem, not "a file system without O_DIRECT support". */
    @Test
    void benchDirectWithAnUnalignedBlockSizeNamesTheBlockSize() {
        assertUsageError(Cli.run("bench", "--directory", dir.path().toString(), "--direct", "--bs", "3", "--size", "64k"),
                "--bs 3: O_DIRECT needs a multiple of 512");
    }

    @Test
    void benchSizeBeyondTheFreeSpaceIsRefusedBeforeFilling() throws IOException {
        long free = Files.getFileStore(dir.path()).getUsableSpace();
        long tooBig = free + (1L << 30);
        long start = System.nanoTime();
        Cli.Result r = Cli.run("bench", "--directory", dir.path().toString(), "--size", Long.toString(tooBig),
                "--runtime", "1", "--ramp", "0", "--rounds", "1");
        assertUsageError(r, "--size " + tooBig + ": ");
        assertThat(r.err()).contains("free");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).as("seconds").isLessThan(30);
        assertThat(tempFiles()).isEmpty();
    }

    @Test
    void benchStdoutThatFailsIsAFailure() throws Exception {
        Path devFull = Path.of("/dev/full");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(devFull), "/dev/full");
        List<String> command = new ArrayList<>(Tools.auraioCommand(dir.path()));
        command.addAll(List.of("bench", "--directory", dir.path().toString(), "--size", "64k", "--bs", "4k",
                "--runtime", "0.2", "--ramp", "0", "--rounds", "1", "--threads", "1", "--engine", "aura", "--json", "-"));
        Path err = dir.resolve("err");
        Process p = new ProcessBuilder(command).redirectOutput(devFull.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("bench finished").isTrue();
        } finally {
            p.destroyForcibly();
        }
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(stderr).isEqualTo(1);
        assertThat(stderr).contains("auraio bench: write error").doesNotContain("Exception");
    }

    @Test
    void benchInterruptedDeletesItsTempFileAndExitsPromptly() throws Exception {
        for (String signal : List.of("INT", "TERM")) {
            // As from a terminal's Ctrl-C: a shell that starts a job in the background without job
            // control (a CI runner's `... &`) leaves SIGINT ignored in everything under it, the
            // JVM then keeps it ignored, and the bench would run its 60 s (coreutils' env resets it).
            List<String> command = new ArrayList<>(List.of("env", "--default-signal=INT"));
            command.addAll(Tools.auraioCommand(dir.path()));
            command.addAll(List.of("bench", "--directory", dir.path().toString(), "--size", "4m", "--runtime", "60",
                    "--ramp", "0", "--rounds", "1", "--threads", "2", "--engine", "aura"));
            Path out = dir.resolve("out-" + signal);
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!Files.readString(out).contains("run(s) of") && System.nanoTime() < deadline && p.isAlive()) {
                    Thread.sleep(50);
                }
                assertThat(Files.readString(out)).as("the bench started").contains("run(s) of");
                Thread.sleep(500); // into the measured run
                assertThat(tempFiles()).as("the temp file while it runs").hasSize(1);
                Commands.run(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())), Duration.ofSeconds(10));
                assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("exited within 15 s of SIG%s", signal).isTrue();
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            assertThat(tempFiles()).as("temp files left after SIG%s", signal).isEmpty();
        }
    }

    /** 1 ns of runtime ended before the measured window began, 1e300 s overflowed the deadline: both "failed: IllegalStateException". */
    @Test
    void benchRuntimesTooShortOrTooLongAreUsageErrors() {
        assertUsageError(Cli.run("bench", "--runtime", "1e-9"), "--runtime must be at least 1ms");
        assertUsageError(Cli.run("bench", "--runtime", "1e300"), "--runtime must be at most");
        assertUsageError(Cli.run("bench", "--ramp", "1e300"), "--ramp must be at most");
        assertUsageError(Cli.run("bench", "--liveness", "--tick", "Infinity"), "--tick must be at most");
    }

    /**
     * {@code auraio bench | head -3}: the bench ran on for its whole time into the closed pipe
     * (SIGPIPE ends coreutils at once), then said "write error" with exit 1; now it stops, silently,
     * with the status of a tool killed by SIGPIPE (141, see ToolOutput).
     */
    @Test
    void benchStopsSoonAfterItsStdoutIsClosed() throws Exception {
        List<String> command = new ArrayList<>(Tools.auraioCommand(dir.path()));
        command.addAll(List.of("bench", "--directory", dir.path().toString(), "--size", "4m", "--runtime", "60",
                "--ramp", "0", "--rounds", "1", "--threads", "2", "--engine", "aura"));
        Path err = dir.resolve("err");
        Process p = new ProcessBuilder(command).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        try {
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = lines.readLine()) != null && !line.contains("run(s) of")) {
                // the header, up to the line that says the runs begin
            }
            assertThat(line).as("the bench started").isNotNull();
            p.getInputStream().close();
            assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("exited within 15 s of its stdout closing").isTrue();
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(stderr).isEqualTo(141);
        assertThat(stderr).isEmpty();
        assertThat(tempFiles()).isEmpty();
    }

    @Test
    void topPidMustBePositive() {
        for (String pid : List.of("0", "-1")) {
            assertUsageError(Cli.run("top", pid), "PID");
        }
    }

    private List<Path> tempFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir.path())) {
            return files.filter(f -> f.getFileName().toString().startsWith("auraio-bench-")).toList();
        }
    }
}
