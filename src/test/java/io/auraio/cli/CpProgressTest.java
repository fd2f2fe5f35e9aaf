package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code auraio cp --progress} while a copy lasts long enough to be shown: a source on faultfs
 * whose every read waits, so the copy takes at least a known time (a lower bound, never an upper
 * one) and the progress line must have been drawn meanwhile: a bar rewritten in place on a
 * terminal, plain lines otherwise.
 */
class CpProgressTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /**
     * 24 chunks of 512 KiB: with at most 8 chunk reads of a file at once and every read waiting
     * the latency in the daemon, the copy lasts at least 3 latencies (three rounds of 8 reads).
     */
    private static final int SIZE = 24 * 512 * 1024;

    @Test
    void terminalGetsABarRewrittenInPlace() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("CpProgressTest")) {
            Path source = slowSource(fs);
            Cli.Result r = Cli.runOnTerminal("cp", "--progress", source.toString(), dir.resolve("copy").toString());

            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.err()).contains("\r[").contains("/ 12.00 MiB").contains("ETA ").contains(" files");
            String last = r.err().substring(r.err().lastIndexOf('\r') + 1);
            assertThat(last.strip()).as("the bar is wiped before the summary")
                    .startsWith("auraio cp: copied 1 files, 12.00 MiB in ");
            // Compared with the backing file: reading the source through the slow mount would take minutes.
            assertThat(Files.mismatch(fs.backing().resolve("source"), dir.resolve("copy"))).isEqualTo(-1);
        }
    }

    @Test
    void elsewhereGetsPlainLines() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("CpProgressTest")) {
            Path source = slowSource(fs);
            fs.latency(Duration.ofMillis(600)); // at least 1.8 s: a line a second must have come
            Cli.Result r = Cli.run("cp", "--progress", source.toString(), dir.resolve("copy").toString());

            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(r.err()).doesNotContain("\r");
            assertThat(r.err().lines().filter(l -> l.startsWith("copied ") && l.contains(" of 12.00 MiB")))
                    .isNotEmpty();
            assertThat(r.err().lines().reduce((a, b) -> b).orElseThrow()).startsWith("auraio cp: copied 1 files");
        }
    }

    private static Path slowSource(FaultFs fs) throws Exception {
        byte[] bytes = new byte[SIZE];
        new Random(9).nextBytes(bytes);
        Path source = Files.write(fs.path("source"), bytes);
        fs.latency(Duration.ofMillis(150)); // at least 450 ms: the bar is drawn every 250 ms
        return source;
    }
}
