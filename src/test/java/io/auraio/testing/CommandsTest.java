package io.auraio.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Commands} returns with the command's pipes closed: a test listing this process's
 * descriptors right after one sees none of them.
 */
class CommandsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Enough rounds that a pipe left to the JDK's reaper is seen: without the fix, about half are. */
    private static final int ROUNDS = 100;

    /** {@return whether {@code target} is a pipe's} */
    private static boolean pipe(String target) {
        return target.startsWith("pipe:");
    }

    @Test
    void aCommandRunToItsEndLeavesNoPipeOpenAtTheNextLook() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            Map<Integer, String> before = Descriptors.open(CommandsTest::pipe);
            Commands.Ran ran = Commands.run("sh", "-c", "echo out; echo err >&2");
            assertThat(ran.succeeded()).as("%s", ran).isTrue();
            Descriptors.assertNoneNew(before, CommandsTest::pipe, "round " + round + " (" + ran + ")");
        }
    }

    @Test
    void theOutputHoldsStandardOutputAndErrorAndTheExitStatusIsKept() throws Exception {
        Commands.Ran ran = Commands.run("sh", "-c", "echo out; echo err >&2; exit 3");
        assertThat(ran.exitCode()).isEqualTo(3);
        assertThat(ran.succeeded()).isFalse();
        assertThat(ran.output().lines()).containsExactlyInAnyOrder("out", "err");
        assertThat(ran.toString()).contains("exit 3").contains("out");
    }

    @Test
    void theCommandReadsAnEmptyInputAndRunsInTheBuildersDirectory() throws Exception {
        Commands.Ran ran = Commands.run(new ProcessBuilder("sh", "-c", "cat; pwd").directory(dir.path().toFile()));
        assertThat(ran.output().strip()).isEqualTo(dir.path().toRealPath().toString());
    }

    @Test
    void aMissingCommandThrowsAndLeavesNoPipe() throws Exception {
        Map<Integer, String> before = Descriptors.open(CommandsTest::pipe);
        assertThatThrownBy(() -> Commands.run("no-such-command-auraio")).isInstanceOf(IOException.class)
                .hasMessageContaining("no-such-command-auraio");
        Descriptors.assertNoneNew(before, CommandsTest::pipe, "a missing command");
    }

    /**
     * A command that closed its output but does not exit within the caller's bound is killed, and
     * the failure says so with what it wrote; its pipes are closed all the same.
     */
    @Test
    void aCommandPastItsBoundIsKilledAndLeavesNoPipe() throws Exception {
        Map<Integer, String> before = Descriptors.open(CommandsTest::pipe);
        Path pid = dir.resolve("pid");
        assertThatThrownBy(() -> Commands.run(new ProcessBuilder("sh", "-c",
                "echo $$ > '" + pid + "'; echo started; exec >&- 2>&-; exec sleep 600"), Duration.ofMillis(200)))
                .isInstanceOf(IOException.class).hasMessageContaining("did not exit within PT0.2S")
                .hasMessageContaining("started");
        ProcessHandle sh = ProcessHandle.of(Long.parseLong(Files.readString(pid).strip())).orElse(null);
        if (sh != null) {
            assertThat(sh.onExit().get(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS).isAlive()).isFalse();
        }
        Descriptors.assertNoneNew(before, CommandsTest::pipe, "a command killed past its bound");
    }

    @Test
    void closePipesClosesAStartedProcesssPipesAtOnce() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            Map<Integer, String> before = Descriptors.open(CommandsTest::pipe);
            Process p = new ProcessBuilder("sh", "-c", "echo out").start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
            Commands.closePipes(p);
            assertThat(out).isEqualTo("out\n");
            Descriptors.assertNoneNew(before, CommandsTest::pipe, "round " + round);
        }
    }
}
