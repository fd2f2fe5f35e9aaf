package io.auraio.testing;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints, once at the end of the test run, each reason tests were skipped (an assumption that
 * failed: a fixture this machine lacks, FUSE missing...) with how many it skipped. Surefire shows
 * only a count; a newcomer must see why without opening the reports. Registered through
 * {@code META-INF/services}; {@link ForkedJUnit} turns it off for its own runs.
 */
public final class SkipSummary implements TestExecutionListener {
    private final Map<String, AtomicInteger> reasons = new TreeMap<>();

    @Override
    public synchronized void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            String reason = result.getThrowable().map(Throwable::getMessage).orElse("(no reason given)");
            reasons.computeIfAbsent(reason.replaceFirst("^Assumption failed: ", ""), r -> new AtomicInteger())
                    .incrementAndGet();
        }
    }

    @Override
    public synchronized void executionSkipped(TestIdentifier id, String reason) {
        reasons.computeIfAbsent(reason, r -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public synchronized void testPlanExecutionFinished(TestPlan plan) {
        if (reasons.isEmpty()) {
            return;
        }
        int total = reasons.values().stream().mapToInt(AtomicInteger::get).sum();
        StringBuilder out = new StringBuilder();
        out.append("[auraio] ").append(total).append(" test(s) or class(es) skipped, by reason")
                .append(" (AURAIO_FIXTURES_REQUIRED=1 makes a missing fixture fail; .ci/run installs everything):\n");
        reasons.forEach((reason, count) -> out.append("[auraio]   ").append(count).append(" x ").append(reason)
                .append('\n'));
        System.out.print(out);
        System.out.flush();
    }
}
