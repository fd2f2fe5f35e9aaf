package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every usage error is one line on stderr that names the problem, exit code 2, no stack trace, no run. */
class BenchOptionErrorsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    static Stream<Arguments> usageErrors() {
        return Stream.of(
                Arguments.of(new String[] {"bench", "--bs", "0"}, "--bs must be positive"),
                Arguments.of(new String[] {"bench", "--bs", "4x"}, "'4x' is not a size"),
                Arguments.of(new String[] {"bench", "--bogus"}, "Unknown option: '--bogus'"),
                Arguments.of(new String[] {"bench", "--file"}, "Missing required parameter for option '--file'"),
                Arguments.of(new String[] {"bench", "--file", "/nonexistent/auraio-bench.dat"}, "no such file"),
                Arguments.of(new String[] {"bench", "--directory", "/nonexistent-dir"}, "no such directory"),
                // procfs refuses file creation (and O_DIRECT), whoever runs the test, root included.
                Arguments.of(new String[] {"bench", "--directory", "/proc"}, "--directory /proc: not writable"),
                // tmpfs accepts O_DIRECT since Linux 6.6, procfs never does.
                Arguments.of(new String[] {"bench", "--file", "/proc/version", "--direct"},
                        "without O_DIRECT support"),
                Arguments.of(new String[] {"bench", "--direct", "--buffered"}, "exclude each other"),
                Arguments.of(new String[] {"bench", "--rw", "sideways"}, "Invalid value for option '--rw'"),
                Arguments.of(new String[] {"bench", "--engine", "posix"}, "Invalid value for option '--engine'"),
                Arguments.of(new String[] {"bench", "--threads", "0"}, "--threads must be 1 to"),
                Arguments.of(new String[] {"bench", "--runtime", "0"}, "--runtime must be positive"),
                Arguments.of(new String[] {"bench", "--runtime", "soon"}, "'soon' is not a duration"),
                Arguments.of(new String[] {"bench", "--fsync", "-1"}, "--fsync must not be negative"),
                Arguments.of(new String[] {"bench", "--queue-depth", "0"}, "queue"),
                Arguments.of(new String[] {"bench", "--json", "/nonexistent-dir/out.json"}, "--json"),
                Arguments.of(new String[] {"frobnicate"}, "frobnicate"));
    }

    @ParameterizedTest
    @MethodSource("usageErrors")
    void usageErrorIsOneLineAndExitCodeTwo(String[] args, String expected) {
        Cli.Result r = Cli.run(args);

        assertThat(r.exitCode()).as("exit code, stderr: %s", r.err()).isEqualTo(2);
        assertThat(r.err()).contains(expected);
        assertThat(r.err().strip().lines()).as("stderr lines").hasSize(1);
        assertThat(r.err()).doesNotContain("Exception in", "\tat ", "at io.auraio");
        assertThat(r.out()).as("nothing ran").doesNotContain("IOPS");
    }

    @Test
    void fileTooSmallForOneBlockIsAUsageError() throws Exception {
        Path tiny = dir.resolve("tiny");
        Files.write(tiny, new byte[100]);

        Cli.Result r = Cli.run("bench", "--file", tiny.toString(), "--buffered", "--bs", "4k");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("less than one --bs block");
    }

    @Test
    void helpListsTheFioLikeOptionsAndExitsZero() {
        Cli.Result r = Cli.run("bench", "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("--rw", "--bs", "--size", "--file", "--threads", "--runtime", "--direct",
                "--buffered", "--fsync", "--ring-select", "--queue-depth", "--target-p99", "--no-adaptive",
                "--in-flight", "--rings", "--engine", "--json", "--plot", "--liveness");
    }
}
