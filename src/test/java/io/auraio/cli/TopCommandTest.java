package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IdleJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.ObservedWorkload;
import io.auraio.testing.TestDirectory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code auraio top PID} against forked JVMs: one doing I/O, one without AuraIO, one gone. */
class TopCommandTest {
    /** The JDK's attach timeout in milliseconds, read at each attach (HotSpotVirtualMachine). */
    private static final String ATTACH_TIMEOUT = "sun.tools.attach.attachTimeout";

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Runs {@code body} with a forked JVM that has printed READY, and ends that JVM afterwards. */
    private static void withForked(ForkedJvm fork, ProcessBody body) throws Exception {
        Process p = new ProcessBuilder(fork.command()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("READY");
            body.run(p.pid());
        } finally {
            p.getOutputStream().close();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private interface ProcessBody {
        void run(long pid) throws Exception;
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void showsEveryRingOfARunningEngineThenATotalForEachFrame() throws Exception {
        withForked(ForkedJvm.of(ObservedWorkload.class).args("top-test", "2", dir.path().toString()), pid -> {
            Cli.Result r = Cli.run("top", Long.toString(pid), "--iterations", "2", "--interval", "300ms");
            assertThat(r.exitCode()).as("%s", r).isZero();
            assertThat(r.err()).isEmpty();
            List<String> lines = Arrays.asList(r.out().split("\n"));
            // Not a terminal: plain lines, no escape sequences.
            assertThat(r.out()).doesNotContain("\033");
            assertThat(lines).filteredOn(l -> l.startsWith("auraio top - pid " + pid)).hasSize(2);
            assertThat(lines).filteredOn(l -> l.startsWith("ENGINE")).hasSize(2)
                    .allSatisfy(l -> assertThat(l).contains("IOPS", "MB/s", "INFLIGHT/LIM", "PHASE", "P99(ms)", "QUEUE"));
            List<String> rings = lines.stream().filter(l -> l.startsWith("top-test")).toList();
            assertThat(rings).hasSize(4);
            assertThat(rings).allSatisfy(l -> assertThat(l.split("\\s+")[7]).isEqualTo("256")); // queue depth
            List<String> totals = lines.stream().filter(l -> l.startsWith("TOTAL")).toList();
            assertThat(totals).hasSize(2);
            // The workload never pauses: every frame's total shows operations.
            assertThat(totals).allSatisfy(l -> assertThat(Double.parseDouble(l.split("\\s+")[1])).isPositive());
            // Busiest first within a frame.
            double first = Double.parseDouble(rings.get(0).split("\\s+")[2]);
            double second = Double.parseDouble(rings.get(1).split("\\s+")[2]);
            assertThat(first).isGreaterThanOrEqualTo(second);

            // On a terminal each frame starts by homing the cursor and clearing the screen.
            Cli.Result t = Cli.run(true, "top", Long.toString(pid), "--iterations", "2", "--interval", "100ms");
            assertThat(t.exitCode()).isZero();
            assertThat(t.out()).startsWith("\033[H\033[2J");
            assertThat(t.out().split("\033\\[H\033\\[2J", -1)).hasSize(3);
        });
    }

    @Test
    void aJvmWithoutAnEngineGetsAClearMessage() throws Exception {
        withForked(ForkedJvm.of(IdleJvm.class), pid -> {
            Cli.Result r = Cli.run("top", Long.toString(pid), "--iterations", "1");
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).startsWith("auraio top: JVM " + pid + " has no AuraIO engine");
        });
    }

    @Test
    void aProcessThatIsNotAJvmOrIsGoneCannotBeAttached() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        assertThat(gone.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Cli.Result r = Cli.run("top", Long.toString(gone.pid()), "--iterations", "1");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("auraio top: cannot attach to JVM " + gone.pid() + ":");

        Process notJava = new ProcessBuilder("sleep", "30").start();
        // The JDK gives up on a process that does not catch SIGQUIT once half its attach timeout
        // has passed (5.5 s of its default 10 s): a 1 s timeout takes the same way out in 0.6 s.
        String timeout = System.setProperty(ATTACH_TIMEOUT, "1000");
        try {
            Cli.Result s = Cli.run("top", Long.toString(notJava.pid()), "--iterations", "1");
            assertThat(s.exitCode()).isEqualTo(1);
            assertThat(s.err()).startsWith("auraio top: cannot attach to JVM " + notJava.pid() + ":");
        } finally {
            if (timeout == null) {
                System.clearProperty(ATTACH_TIMEOUT);
            } else {
                System.setProperty(ATTACH_TIMEOUT, timeout);
            }
            notJava.destroy();
            notJava.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(Cli.run("top", "1", "--iterations", "-1").exitCode()).isEqualTo(2);
        assertThat(Cli.run("top", "1", "--interval", "0").exitCode()).isEqualTo(2);
        assertThat(Cli.run("top").exitCode()).isEqualTo(2);
        Cli.Result help = Cli.run("top", "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("PID", "--iterations", "--interval");
    }
}
