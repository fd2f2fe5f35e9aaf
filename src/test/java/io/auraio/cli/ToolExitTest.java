package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A tool run leaves no engine poller thread alive when its JVM exits ({@link ToolEngine}): the
 * default engine, never closed, kept two in {@code io_uring_enter}, and HotSpot's exit then waited
 * ~300 ms for them on every run.
 */
class ToolExitTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private List<String> probe(String... args) throws IOException {
        List<String> command = new ArrayList<>(Tools.auraioCommand(dir.path()));
        // Tools.auraioCommand ends with the main class; the probe wraps it, from the test classes.
        command.remove(command.size() - 1);
        int cp = command.indexOf("-cp") + 1;
        command.set(cp, command.get(cp) + ":" + FixtureAvailability.projectDirectory().resolve("target/test-classes"));
        command.add("io.auraio.cli.ExitProbe");
        command.addAll(List.of(args));
        return command;
    }

    @Test
    void cpAndHashExitWithNoPollerThreadLeft() throws IOException {
        Path source = dir.resolve("source");
        Files.writeString(source, "some bytes\n");
        Tools.Run cp = Tools.run(probe("cp", source.toString(), dir.resolve("copy").toString()));
        assertThat(cp.exitCode()).as(cp.err()).isZero();
        assertThat(cp.err()).isEqualTo("poller threads at exit: 0\n");
        assertThat(Files.readString(dir.resolve("copy"))).isEqualTo("some bytes\n");

        Tools.Run hash = Tools.run(probe("hash", "--progress", source.toString()));
        assertThat(hash.exitCode()).as(hash.err()).isZero();
        assertThat(hash.err()).endsWith("poller threads at exit: 0\n");
        assertThat(hash.out()).endsWith("  " + source + "\n");
    }
}
