package io.auraio.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Commands} returns with the command's pipes closed: a test counting this process's
 * descriptors right after one sees none of them.
 */
class CommandsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Enough rounds that a pipe left to the JDK's reaper is seen: without the fix, about half are. */
    private static final int ROUNDS = 100;

    /** {@return how many pipes this process holds open, from /proc/self/fd} */
    private static long openPipes() throws IOException {
        long pipes = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).toString().startsWith("pipe:")) {
                        pipes++;
                    }
                } catch (IOException closedMeanwhile) {
                    // the listing's own descriptor, or one closed since the listing
                }
            }
        }
        return pipes;
    }

    @Test
    void aCommandRunToItsEndLeavesNoPipeOpenAtTheNextLook() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            long before = openPipes();
            Commands.Ran ran = Commands.run("sh", "-c", "echo out; echo err >&2");
            assertThat(ran.succeeded()).as("%s", ran).isTrue();
            assertThat(openPipes()).as("pipes open after round %d (%s)", round, ran).isLessThanOrEqualTo(before);
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
        long before = openPipes();
        assertThatThrownBy(() -> Commands.run("no-such-command-auraio")).isInstanceOf(IOException.class)
                .hasMessageContaining("no-such-command-auraio");
        assertThat(openPipes()).isLessThanOrEqualTo(before);
    }

    @Test
    void closePipesClosesAStartedProcesssPipesAtOnce() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            long before = openPipes();
            Process p = new ProcessBuilder("sh", "-c", "echo out").start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
            Commands.closePipes(p);
            assertThat(out).isEqualTo("out\n");
            assertThat(openPipes()).as("pipes open after round %d", round).isLessThanOrEqualTo(before);
        }
    }
}
