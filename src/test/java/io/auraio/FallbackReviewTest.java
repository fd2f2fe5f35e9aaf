package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJUnit;
import io.auraio.testing.ForkedJvm;
import java.io.IOException;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * A review of the JDK fallback: {@link FallbackReviewContractTest} (channels compared with the JDK's)
 * in a JVM whose backend is {@link Backend#JDK}, and checks that need such a JVM of their own.
 */
class FallbackReviewTest {
    private static Properties stdout(ForkedJvm.Result r) {
        Properties p = new Properties();
        for (String line : r.stdout().lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                p.setProperty(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return p;
    }

    @Test
    void theReviewContractHoldsInJdkMode() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(ForkedJUnit.class).property(AuraIO.BACKEND_PROPERTY, "jdk")
                .property(FixtureAvailability.DIR_PROPERTY, FixtureAvailability.buildDirectory().toString())
                .property("basedir", FixtureAvailability.projectDirectory().toString())
                .args(FallbackReviewContractTest.class.getName()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Properties out = stdout(r);
        assertThat(Integer.parseInt(out.getProperty("tests.found"))).as("%s", r).isPositive();
        assertThat(out.getProperty("tests.failed")).as("%s", r).isEqualTo("0");
        assertThat(out.getProperty("tests.succeeded")).as("%s", r).isEqualTo(out.getProperty("tests.found"));
    }
}
