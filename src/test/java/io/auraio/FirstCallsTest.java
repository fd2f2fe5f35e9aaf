package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FirstCallProbe;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.SeccompRefusal;
import io.auraio.testing.TestDirectory;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A fresh JVM's first {@link AuraFiles} calls do not wait for the default engine's start (0.1-0.3 s,
 * the JVM's first links of native functions) on a platform thread: the JDK answers them while the
 * engine starts on a thread of its own, then the engine serves. A virtual thread waits for the
 * engine, as before. Each case in a JVM of its own ({@link FirstCallProbe}), whose engine start is
 * held in the ring's setup, so that "while it starts" lasts as long as the probe wants.
 */
class FirstCallsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    @ExtendWith(IoUringAvailable.class)
    void aPlatformThreadsCallsAreAnsweredWhileTheEngineStartsAndAVirtualThreadWaitsForIt() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(FirstCallProbe.class).timeout(java.time.Duration.ofSeconds(60))
                .args(dir.path().toString(), "hold").run();
        Map<String, String> out = assertAnsweredThenServedByTheEngine(r);
        assertThat(out.get("platform.heldStart")).as("they returned without the engine: %s", r).isEqualTo("true");
        assertThat(out.get("virtual.doneWhileHeld")).as("a virtual thread waits: %s", r).isEqualTo("false");
        assertThat(out.get("virtual.read")).as("%s", r).isEqualTo("ok");
        assertThat(out).as("%s", r).doesNotContainKey("problem");
        assertThat(r.stderr()).as("%s", r).doesNotContain("WARNING").doesNotContain("Exception");
    }

    /**
     * The start failing with something other than io_uring's refusal (here an unchecked exception
     * in the ring's setup): the call that started it was answered, the next one starts the engine on
     * its own thread, which works this time; nothing is said, nothing is left running.
     */
    @Test
    @ExtendWith(IoUringAvailable.class)
    void aStartThatFailedIsMadeAgainByTheNextCall() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(FirstCallProbe.class).args(dir.path().toString(), "failOnce").run();
        Map<String, String> out = assertAnsweredThenServedByTheEngine(r);
        assertThat(out.get("afterFailure.calls")).as("%s", r).isEqualTo("ok");
    }

    /**
     * What {@link FirstCallProbe} must end with in every case where io_uring works: the platform
     * thread's calls gave the JDK's answers, then the engine served one more, and no start thread
     * is left. {@return its key=value lines}
     */
    private static Map<String, String> assertAnsweredThenServedByTheEngine(ForkedJvm.Result r) {
        assertThat(r.exitCode()).as("%s", r).isZero();
        Map<String, String> out = r.values();
        assertThat(out.get("platform.calls")).as("%s", r).isEqualTo("ok");
        assertThat(out.get("backend")).as("%s", r).isEqualTo("IO_URING");
        assertThat(Long.parseLong(out.get("engine.opsAdded"))).as("then the engine serves: %s", r).isPositive();
        assertThat(out.get("startThreads")).as("%s", r).isEqualTo("0");
        assertThat(out.get("problems")).as("%s", r).isEqualTo("none");
        return out;
    }

    /** With {@code -Dauraio.backend=io_uring} ("never fall back") even a platform thread waits for the engine. */
    @Test
    @ExtendWith(IoUringAvailable.class)
    void aBackendAskedForIsWaitedFor() throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(FirstCallProbe.class).property(AuraIO.BACKEND_PROPERTY, "io_uring")
                .args(dir.path().toString(), "failOnce").run();
        assertThat(r.exitCode()).as("the failed start reaches the first caller: %s", r).isNotZero();
        assertThat(r.stderr()).as("%s", r).contains("the probe's failed start");
        assertThat(r.values()).as("%s", r).doesNotContainKey("platform.calls");
    }

    /**
     * Where io_uring is refused (a seccomp filter), the decision made on the daemon thread is the
     * fallback's, with its one warning; the calls before it and after it are the JDK's.
     */
    @Test
    void whereIoUringIsRefusedTheDecisionInTheBackgroundFallsBackWithOneWarning() throws Exception {
        ForkedJvm.Result r = SeccompRefusal.jvm("EPERM").args(FirstCallProbe.class.getName(), dir.path().toString(),
                "plain").run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        Map<String, String> out = r.values();
        assertThat(out.get("platform.calls")).as("%s", r).isEqualTo("ok");
        assertThat(out.get("backend")).as("%s", r).isEqualTo("JDK");
        assertThat(out.get("problems")).as("%s", r).isEqualTo("none");
        assertThat(r.stderr().lines().filter(l -> l.startsWith("WARNING:")).toList()).as("%s", r).singleElement()
                .asString().contains("fall back to the JDK's FileChannel").contains("Operation not permitted");
    }
}
