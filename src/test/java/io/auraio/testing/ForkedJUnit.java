package io.auraio.testing;

import java.io.PrintWriter;
import java.util.Arrays;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Main class for a {@link ForkedJvm} that runs JUnit test classes there, for a suite that must run
 * under a JVM-wide setting decided once (e.g. {@code -Dauraio.backend=jdk}). Prints
 * {@code tests.found}, {@code tests.succeeded}, {@code tests.failed}, {@code tests.aborted} and
 * {@code tests.skipped} as {@code key=value} lines, then each failure with its stack trace; exits 0
 * when nothing failed.
 *
 * <p>Arguments: the fully qualified names of the test classes.
 */
public final class ForkedJUnit {
    private ForkedJUnit() {}

    /** Runs the classes named in {@code args}. */
    public static void main(String[] args) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(Arrays.stream(args).map(DiscoverySelectors::selectClass).toList())
                .build();
        // No auto-registered listeners: SkipSummary's lines would mix with the key=value output.
        Launcher launcher = LauncherFactory.create(LauncherConfig.builder()
                .enableTestExecutionListenerAutoRegistration(false).build());
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary summary = listener.getSummary();
        System.out.println("tests.found=" + summary.getTestsFoundCount());
        System.out.println("tests.succeeded=" + summary.getTestsSucceededCount());
        System.out.println("tests.failed=" + summary.getTotalFailureCount());
        System.out.println("tests.aborted=" + summary.getTestsAbortedCount());
        System.out.println("tests.skipped=" + summary.getTestsSkippedCount());
        PrintWriter out = new PrintWriter(System.out, true);
        summary.printFailuresTo(out, 30);
        out.flush();
        System.exit(summary.getTotalFailureCount() == 0 ? 0 : 1);
    }
}
