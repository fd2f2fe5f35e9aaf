package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.file.Path;
import java.util.List;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code auraio bench --jfr FILE} and the shipped {@code META-INF/auraio.jfc}. */
@ExtendWith(IoUringAvailable.class)
class BenchJfrTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void benchRecordsTheJdksAndAuraIosEventsToTheFile() throws Exception {
        Path jfr = dir.resolve("bench.jfr");
        Cli.Result r = Cli.run("bench", "--directory", dir.path().toString(), "--size", "8m", "--threads", "4",
                "--runtime", "1.5", "--ramp", "0.2", "--rounds", "1", "--engine", "aura", "--jfr", jfr.toString());
        assertThat(r.exitCode()).as("%s", r).isZero();
        List<RecordedEvent> events = RecordingFile.readAllEvents(jfr);
        assertThat(events).extracting(e -> e.getEventType().getName())
                .contains("io.auraio.RingStatistics", "io.auraio.EngineConfiguration", "jdk.CPULoad");
        assertThat(events).filteredOn(e -> e.getEventType().getName().equals("io.auraio.RingStatistics"))
                .anySatisfy(e -> assertThat(e.getLong("operations")).isPositive());
    }

    @Test
    void theShippedSettingsEnableEveryAuraIoEventWithTheJdksFileThreshold() throws Exception {
        // As the library jar ships it (target/classes is what the jar packs).
        var settings = jdk.jfr.Configuration.create(Path.of(System.getProperty("basedir", "."), "target", "classes",
                "META-INF", "auraio.jfc")).getSettings();
        for (String event : List.of("FileRead", "FileWrite", "FileForce")) {
            assertThat(settings).containsEntry("io.auraio." + event + "#enabled", "true")
                    .containsEntry("io.auraio." + event + "#threshold", "20 ms")
                    .containsEntry("io.auraio." + event + "#stackTrace", "true");
        }
        assertThat(settings).containsEntry("io.auraio.RingStatistics#period", "1 s")
                .containsEntry("io.auraio.EngineConfiguration#enabled", "true")
                .containsEntry("io.auraio.AimdPhaseChange#enabled", "true");
    }

    @Test
    void anUnwritableJfrFileIsAUsageError() {
        Cli.Result r = Cli.run("bench", "--jfr", dir.resolve("no/such/dir/x.jfr").toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--jfr");
    }
}
