package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link AuraIO}: version, availability and the shared default engine. */
class AuraIOTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void versionIsTheReferenceVersion() {
        assertThat(AuraIO.version()).isEqualTo("0.1.0");
        assertThat(AuraIO.versionInt()).isEqualTo(100);
        assertThat(AuraIO.VERSION_MAJOR * 10000 + AuraIO.VERSION_MINOR * 100 + AuraIO.VERSION_PATCH)
                .isEqualTo(AuraIO.versionInt());
    }

    @Test
    void availabilityAndItsCauseAgree() {
        assertThat(AuraIO.unavailabilityCause().isEmpty()).isEqualTo(AuraIO.isAvailable());
        AuraIO.unavailabilityCause().ifPresent(cause -> assertThat(cause).isNotBlank());
    }

    @Test
    void theBindingIsTheOneAskedForOrByDefaultLiburingWhereItLoads() {
        String asked = System.getProperty(AuraIO.BINDING_PROPERTY, "auto");
        String expected = switch (asked) {
            case "liburing", "syscall" -> asked;
            default -> FixtureAvailability.liburingUnavailable().isEmpty() ? "liburing" : "syscall";
        };
        assertThat(AuraIO.binding()).isEqualTo(expected);
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void ioUringIsAvailableWithNoCause() {
        assertThat(AuraIO.isAvailable()).isTrue();
        assertThat(AuraIO.unavailabilityCause()).isEmpty();
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void defaultEngineIsOneSharedEngineWithDefaultOptions() throws AuraIOException {
        Engine engine = AuraIO.defaultEngine();
        assertThat(AuraIO.defaultEngine()).isSameAs(engine);
        assertThat(engine.isClosed()).isFalse();
        assertThat(engine.ringCount()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(engine.options()).usingRecursiveComparison().isEqualTo(Options.defaults());
        // Its pollers are daemon threads (the only ones: other engines' pollers are not), so the
        // never-closed engine does not keep a JVM alive.
        long daemonPollers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("auraio-ring-") && t.isDaemon()).count();
        assertThat(daemonPollers).isEqualTo(engine.ringCount());
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void openWithoutAnEngineUsesTheDefaultEngine() throws IOException {
        Path path = dir.resolve("f");
        try (AuraFile file = AuraFile.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            assertThat(file.engine()).isSameAs(AuraIO.defaultEngine());
            assertThat(file.write(ByteBuffer.wrap("hello world".getBytes()), 0)).isEqualTo(11);
            ByteBuffer back = ByteBuffer.allocate(32);
            assertThat(file.read(back, 0)).isEqualTo(11);
            assertThat(new String(back.array(), 0, 11)).isEqualTo("hello world");
            assertThat(file.size()).isEqualTo(11);
        }
        assertThat(Files.readString(path)).isEqualTo("hello world");
        assertThat(AuraIO.defaultEngine().pendingCount()).isZero();
    }

    @Test
    void defaultEngineFailsWithTheCauseWhereIoUringIsUnavailable() {
        assumeFalse(AuraIO.isAvailable(), "io_uring is available here");
        assertThatThrownBy(AuraIO::defaultEngine).isInstanceOf(AuraIOException.class)
                .hasMessageContaining(AuraIO.unavailabilityCause().orElseThrow().substring(0, 10));
    }
}
