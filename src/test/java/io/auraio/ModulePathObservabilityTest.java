package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.ModulePathProbe;
import io.auraio.testing.TestDirectory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The events and the MXBean with {@code io.auraio} as a named module, as applications on the
 * module path get it (the other tests run on the class path): JFR instruments and records event
 * classes of a package the module does not export, and JMX reads the exported MXBean interface.
 * The engine starts before Flight Recorder is initialized, as in most applications: its periodic
 * events still come.
 */
@ExtendWith(IoUringAvailable.class)
class ModulePathObservabilityTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void eventsAreRecordedAndTheMXBeanReadFromTheNamedModule() throws Exception {
        Path classes = Path.of(System.getProperty("basedir", "."), "target", "classes");
        ForkedJvm.Result r = ForkedJvm.of(ModulePathProbe.class)
                .jvmArgs("--module-path", classes.toString(), "--add-modules", "io.auraio",
                        "--enable-native-access=io.auraio")
                .args(dir.path().toString())
                .run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        // Micrometer is not on the module path: the core runs without it (requires static).
        assertThat(r.stdout()).contains("module=io.auraio", "micrometer=false", "jfr.initialized.before=false", "mxbean.rings=1",
                "event=io.auraio.FileWrite", "event=io.auraio.FileForce", "event=io.auraio.FileRead",
                "event=io.auraio.EngineConfiguration", "event=io.auraio.RingStatistics");
        assertThat(r.stderr()).doesNotContain("WARNING");
    }

    /**
     * A JVM that never records loads no event class: the first {@code jdk.jfr.Event} subclass
     * loaded bootstraps Flight Recorder's machinery (about 200 ms of CPU).
     */
    @Test
    void aJvmThatNeverRecordsLoadsNoEventClass() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(io.auraio.testing.NoRecordingProbe.class)
                .jvmArgs("-Xlog:class+load=info:stdout")
                .args(dir.path().toString())
                .run();
        assertThat(r.exitCode()).as("%s", r.stderr()).isZero();
        assertThat(r.stdout()).contains("jfr.initialized=false", "io.auraio.internal.jfr.RingEvents")
                .doesNotContain("io.auraio.internal.jfr.FileReadEvent", "io.auraio.internal.jfr.RingStatisticsEvent",
                        "jdk.jfr.Event ");
    }
}
