package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFileChannel;
import io.auraio.AuraIO;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.SeccompRefusal;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.UringFailShim;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link AuraFileSystemProvider} installed as the JVM's default provider with
 * {@code -Djava.nio.file.spi.DefaultFileSystemProvider}, in a forked JVM running
 * {@link DefaultProviderProbe}: the JDK's own entry points open {@link AuraFileChannel}s, the
 * bytes round-trip, and the requests reach the ring.
 */
class AuraFileSystemProviderForkedTest {
    private static final String PROPERTY = "java.nio.file.spi.DefaultFileSystemProvider";

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    @ExtendWith(IoUringAvailable.class)
    void theJdksEntryPointsOpenAuraFileChannelsThatGoThroughTheRing() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(DefaultProviderProbe.class)
                .property(PROPERTY, AuraFileSystemProvider.class.getName())
                .args(dir.path().toString())
                .run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Map<String, String> v = r.values();
        String provider = AuraFileSystemProvider.class.getName();
        String channel = AuraFileChannel.class.getName();
        assertThat(v).as("%s", r)
                .containsEntry("defaultProvider", provider)
                .containsEntry("pathProvider", provider)
                .containsEntry("toPathProvider", provider)
                .containsEntry("FileChannel.open", channel)
                .containsEntry("FileChannel.open.roundTrip", "true")
                .containsEntry("Files.newByteChannel", channel)
                .containsEntry("Files.readAllBytes.roundTrip", "true")
                .containsEntry("Files.newInputStream.roundTrip", "true")
                .containsEntry("Files.newOutputStream.size", "1000")
                .containsEntry("createTempFile.permissions", "rw-------")
                .containsEntry("Files.readAllLines", "[one, two, three]")
                .containsEntry("Files.lines", "[one, two, three]")
                .containsEntry("Files.copy.roundTrip", "true")
                .containsEntry("Files.newDirectoryStream.secure", "true")
                .containsEntry("Files.readAllBytes.interrupted", "true true")
                .containsEntry("Files.walk.count", "4")
                .containsEntry("Files.walk.provider", provider)
                .containsEntry("deleted", "true")
                .containsEntry("pagesDropped", "true");
        assertThat(Long.parseLong(v.get("ringOps"))).as("%s", r).isPositive();
        // At least the bytes the probe wrote through channels: 100,000 + 1,000 + 14 (Files.copy is the
        // platform's), through the engine: its rings, or its page-cache path on the calling thread.
        assertThat(Long.parseLong(v.get("engineBytes"))).as("%s", r).isGreaterThanOrEqualTo(101_014);
    }

    @Test
    @ExtendWith(IoUringAvailable.class)
    void javacAndTheZipFileSystemWorkThroughTheProvider() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(ToolsProbe.class)
                .property(PROPERTY, AuraFileSystemProvider.class.getName())
                .args(dir.path().toString())
                .run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Map<String, String> v = r.values();
        assertThat(v).as("%s", r).containsEntry("javac", "0");
        assertThat(Long.parseLong(v.get("classFile"))).as("%s", r).isPositive();
        assertThat(v.get("zipped")).as("%s", r).isEqualTo(v.get("classFile"));
    }

    @Test
    void withoutIoUringTheProviderOpensThePlatformsChannels() throws Exception {
        FixtureAvailability.assumeUringFailShim();
        ForkedJvm.Result r = ForkedJvm.of(PlatformFallbackProbe.class)
                .property(PROPERTY, AuraFileSystemProvider.class.getName())
                .env(UringFailShim.environment("EPERM"))
                .property(AuraIO.BINDING_PROPERTY, "liburing") // the shim stands in for liburing
                .args(dir.path().toString())
                .run();
        assertPlatformChannels(r);
    }

    @Test
    void underASeccompFilterThatRefusesIoUringTheProviderOpensThePlatformsChannels() throws Exception {
        ForkedJvm.Result r = SeccompRefusal.jvm("EPERM")
                .property(PROPERTY, AuraFileSystemProvider.class.getName())
                .args(PlatformFallbackProbe.class.getName(), dir.path().toString())
                .run();
        assertPlatformChannels(r);
        assertThat(r.values().get("cause")).as("%s", r).contains("Operation not permitted");
    }

    private static void assertPlatformChannels(ForkedJvm.Result r) {
        assertThat(r.exitCode()).as("%s", r).isZero();
        Map<String, String> v = r.values();
        assertThat(v).as("%s", r)
                .containsEntry("defaultProvider", AuraFileSystemProvider.class.getName())
                .containsEntry("available", "false")
                .containsEntry("roundTrip", "true");
        assertThat(v.get("channel")).as("%s", r).isNotEqualTo(AuraFileChannel.class.getName());
    }
}
