package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FallbackUsageProbe;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJUnit;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.ProviderBackendProbe;
import io.auraio.testing.ProviderDescriptorExhaustionProbe;
import io.auraio.testing.SeccompRefusal;
import io.auraio.testing.TestDirectory;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A review of the JDK fallback: {@link FallbackReviewContractTest} (channels compared with the JDK's)
 * in a JVM whose backend is {@link Backend#JDK}, and checks that need such a JVM of their own.
 */
class FallbackReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static Properties stdout(ForkedJvm.Result r) {
        Properties p = new Properties();
        p.putAll(r.values());
        return p;
    }

    /** {@return the result of the JUnit classes run in a JVM whose backend is JDK} */
    private static ForkedJvm.Result inJdkMode(Class<?>... classes) throws Exception {
        return ForkedJvm.of(ForkedJUnit.class).property(AuraIO.BACKEND_PROPERTY, "jdk")
                .property("auraio.review.defaultBackend", "true")
                .property(FixtureAvailability.DIR_PROPERTY, FixtureAvailability.buildDirectory().toString())
                .property("basedir", FixtureAvailability.projectDirectory().toString())
                .args(Arrays.stream(classes).map(Class::getName).toArray(String[]::new)).run();
    }

    private static void assertAllPassed(ForkedJvm.Result r, int atLeast) {
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(Integer.parseInt(out.getProperty("tests.found"))).as("%s", r).isGreaterThanOrEqualTo(atLeast);
        assertThat(out.getProperty("tests.failed")).as("%s", r).isEqualTo("0");
        assertThat(out.getProperty("tests.succeeded")).as("%s", r).isEqualTo(out.getProperty("tests.found"));
    }

    @Test
    void theReviewContractHoldsInJdkMode() throws Exception {
        assertAllPassed(inJdkMode(FallbackReviewContractTest.class), 2);
    }

    /**
     * AuraFileChannelReviewTest (its fixed-seed differential run against FileChannel included)
     * with channels opened without an engine in JDK mode. Where io_uring is unavailable here it
     * skips itself (it creates an engine for its other mode), so it is asked for only where it runs.
     */
    @Test
    void theChannelReviewHoldsInJdkMode() throws Exception {
        Assumptions.assumeTrue(AuraIO.isAvailable(), () -> "io_uring is not usable here: "
                + AuraIO.unavailabilityCause().orElse(""));
        assertAllPassed(inJdkMode(AuraFileChannelReviewTest.class), 10);
    }

    /** TransferReviewTest (transfers, positions, size, truncate against FileChannel), likewise. */
    @Test
    void theTransferReviewHoldsInJdkMode() throws Exception {
        Assumptions.assumeTrue(AuraIO.isAvailable(), () -> "io_uring is not usable here: "
                + AuraIO.unavailabilityCause().orElse(""));
        assertAllPassed(inJdkMode(TransferReviewTest.class), 15);
    }

    @Test
    void underASeccompRefusalEveryWayInWorksWithoutLeaksAndOneWarning() throws Exception {
        ForkedJvm.Result r = SeccompRefusal.jvm("EPERM")
                .args(FallbackUsageProbe.class.getName(), dir.path().toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("backend")).as("%s", r).isEqualTo("JDK");
        assertThat(out.getProperty("data")).as("%s", r).isEqualTo("ok");
        assertThat(out.getProperty("fds.new")).as("descriptors left open: %s", r).isEqualTo("{}");
        assertThat(out.getProperty("threads.new")).as("threads left by the rounds: %s", r).isEqualTo("[]");
        assertThat(out.getProperty("defaultEngine")).as("%s", r).contains("Operation not permitted")
                .contains("seccomp");
        assertThat(out.getProperty("engineCreate")).as("%s", r).contains("Operation not permitted");
        List<String> warnings = r.stderr().lines().filter(l -> l.startsWith("WARNING:")).toList();
        // One in all, though AuraFiles and the provider both met the refusal (the provider said
        // it again in other words before it followed AuraIO.backend()).
        assertThat(warnings).as("%s", r).singleElement().asString().contains("fall back to the JDK's FileChannel")
                .contains("Operation not permitted");
    }

    /**
     * {@code -Dauraio.backend=jdk} asks for the JDK everywhere, without a warning: the provider
     * followed it only where io_uring was unusable (it asked {@code AuraIO.isAvailable()}, not
     * {@code AuraIO.backend()}). Failed before: an AuraFileChannel.
     */
    @Test
    void theProviderFollowsTheBackendAskedFor() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(ProviderBackendProbe.class).property(AuraIO.BACKEND_PROPERTY, "jdk")
                .args(dir.path().toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("read")).as("%s", r).isEqualTo("probe");
        assertThat(out.getProperty("channel")).as("%s", r).isEqualTo("sun.nio.ch.FileChannelImpl");
        assertThat(r.stderr()).as("asked for, so no warning: %s", r).doesNotContain("WARNING");
    }

    /**
     * The provider's first channel asked for while the process is out of descriptors: that
     * moment must not keep the provider on the platform's channels for good, as it keeps no
     * file on the JDK (AuraIO.backend()).
     */
    @Test
    void runningOutOfDescriptorsAtTheProvidersFirstOpenIsNoFallbackForGood() throws Exception {
        Assumptions.assumeTrue(AuraIO.isAvailable(), () -> "io_uring is not usable here: "
                + AuraIO.unavailabilityCause().orElse(""));
        ForkedJvm.Result r = ForkedJvm.of(ProviderDescriptorExhaustionProbe.class).args(dir.path().toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(out.getProperty("first")).as("%s", r).contains("Too many open files");
        // Before the fix: the platform's channel (sun.nio.ch.FileChannelImpl) for the rest of the JVM's life.
        assertThat(out.getProperty("later")).as("%s", r).isEqualTo(AuraFileChannel.class.getName());
        assertThat(r.stderr()).as("no fallback was announced: %s", r).doesNotContain("WARNING");
    }
}
