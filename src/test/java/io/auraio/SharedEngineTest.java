package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.THROWABLE;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestExecutionResult.Status;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * {@link SharedEngine}, run as JUnit runs it: each fixture class below is launched here, in this
 * JVM, and its outcomes are checked. A leak after a test fails that test; one left at the end
 * fails the class; the engine is closed after the class either way.
 */
@ExtendWith(IoUringAvailable.class)
class SharedEngineTest {
    private static final Options ONE_RING = Options.builder().ringCount(1).build();

    /** Set while a test here launches a fixture: a fixture found on its own (an IDE, a pattern) skips. */
    private static volatile boolean launching;

    /** {@return the outcome of each test of {@code fixture} (as "name()") and of the class (as "class")} */
    private static Map<String, TestExecutionResult> launch(Class<?> fixture) {
        Map<String, TestExecutionResult> results = new ConcurrentHashMap<>();
        // No auto-registered listeners: SkipSummary would count the fixture's tests with this run's.
        Launcher launcher = LauncherFactory.create(LauncherConfig.builder()
                .enableTestExecutionListenerAutoRegistration(false).build());
        launching = true;
        try {
            launcher.execute(LauncherDiscoveryRequestBuilder.request()
                    .selectors(DiscoverySelectors.selectClass(fixture))
                    .filters(EngineFilter.includeEngines("junit-jupiter"))
                    .build(), new TestExecutionListener() {
                        @Override
                        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                            if (id.isTest()) {
                                results.put(id.getDisplayName(), result);
                            } else if (id.getSource().orElse(null) instanceof ClassSource) {
                                results.put("class", result);
                            }
                        }
                    });
        } finally {
            launching = false;
        }
        return results;
    }

    private static void onlyWhenLaunched() {
        assumeTrue(launching, "a fixture of SharedEngineTest, run by it");
    }

    /** Asserts that {@code result} is a failure whose message contains {@code message}. */
    private static void assertFailed(TestExecutionResult result, String message) {
        assertThat(result).as("outcome").isNotNull();
        assertThat(result.getStatus()).as("status of %s", result).isEqualTo(Status.FAILED);
        assertThat(result.getThrowable()).get(THROWABLE)
                .isInstanceOf(AssertionError.class).hasMessageContaining(message);
    }

    private static void assertSucceeded(TestExecutionResult result) {
        assertThat(result).as("outcome").isNotNull();
        assertThat(result.getStatus()).as("status of %s", result).isEqualTo(Status.SUCCESSFUL);
    }

    // ---- fixtures: run only by launch() ----------------------------------------------------

    /** Uses its engine in @BeforeAll and in two tests, leaves nothing behind. */
    static final class UsesItsEngineCleanly {
        @RegisterExtension
        static final SharedEngine shared = new SharedEngine(ONE_RING);

        @RegisterExtension
        final TestDirectory dir = new TestDirectory();

        static final Map<String, Engine> seen = new ConcurrentHashMap<>();

        @BeforeAll
        static void setUp() {
            onlyWhenLaunched();
            seen.put("beforeAll", shared.engine());
        }

        private void readBack(String name) throws Exception {
            Path path = Files.write(dir.resolve(name), new byte[] {1, 2, 3});
            try (AuraFile file = AuraFile.open(shared.engine(), path, READ)) {
                ByteBuffer b = ByteBuffer.allocate(3);
                assertThat(file.read(b, 0)).isEqualTo(3);
            }
            seen.put(name, shared.engine());
        }

        @Test
        void first() throws Exception {
            readBack("first");
        }

        @Test
        void second() throws Exception {
            readBack("second");
        }
    }

    /** Takes a pool buffer in its test and gives it back in its own @AfterEach. */
    static final class ReturnsABufferInItsAfterEach {
        @RegisterExtension
        static final SharedEngine shared = new SharedEngine(ONE_RING);

        private MemorySegment kept;

        @BeforeAll
        static void setUp() {
            onlyWhenLaunched();
        }

        @Test
        void keepsABufferUntilAfterEach() {
            kept = shared.engine().core().pool().acquire(4096);
        }

        @AfterEach
        void giveItBack() {
            if (kept != null) {
                shared.engine().core().pool().release(kept);
            }
        }
    }

    /** Keeps a pool buffer past its test; gives it back in @AfterAll, before the last check. */
    static final class KeepsAPoolBuffer {
        @RegisterExtension
        static final SharedEngine shared = new SharedEngine(ONE_RING);

        static MemorySegment kept;

        @BeforeAll
        static void setUp() {
            onlyWhenLaunched();
        }

        @Test
        void keepsABuffer() {
            kept = shared.engine().core().pool().acquire(4096);
        }

        @AfterAll
        static void giveItBack() {
            if (kept != null) {
                shared.engine().core().pool().release(kept);
            }
        }
    }

    /** Leaves a read waiting on a FIFO past its test; completes it in @AfterAll, before the last check. */
    static final class LeavesARequestPending {
        // Its read never settles before the check: a second shows that as well as the usual ten.
        @RegisterExtension
        static final SharedEngine shared = new SharedEngine(ONE_RING, Duration.ofSeconds(1));

        @RegisterExtension
        final TestDirectory dir = new TestDirectory();

        static AuraFile fifo;
        static Arena arena;
        static CompletableFuture<Long> read;

        @BeforeAll
        static void setUp() {
            onlyWhenLaunched();
        }

        @Test
        void leavesAReadWaiting() throws Exception {
            fifo = AuraFile.open(shared.engine(), Fifo.create(dir.resolve("fifo")), READ, WRITE);
            arena = Arena.ofShared();
            read = shared.engine().readAsync(fifo.fd(), BufferRef.of(arena.allocate(16)), 16, 0);
            TestSupport.awaitCondition("the read to wait in the kernel", () -> shared.engine().pendingCount() == 1);
        }

        @AfterAll
        static void completeTheRead() throws Exception {
            if (fifo != null) {
                fifo.write(ByteBuffer.wrap(new byte[16]), 0);
                assertThat(read.get(TestSupport.HANG.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(16);
                fifo.close();
                arena.close();
            }
        }
    }

    /** Leaks nothing in its test, but keeps a pool buffer from @AfterAll: the last check's to find. */
    static final class KeepsABufferPastTheClass {
        @RegisterExtension
        static final SharedEngine shared = new SharedEngine(ONE_RING);

        static Engine engine;
        static MemorySegment kept;

        @BeforeAll
        static void setUp() {
            onlyWhenLaunched();
            engine = shared.engine();
        }

        @Test
        void leaksNothing() {
            assertThat(shared.engine().pendingCount()).isZero();
        }

        @AfterAll
        static void keepABuffer() {
            kept = shared.engine().core().pool().acquire(4096);
        }
    }

    /** Skips the class it is on, as {@code IoUringAvailable} does where io_uring is missing. */
    static final class SkipsTheClass implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            assumeTrue(false, "skipped before its engine is made");
        }
    }

    /** Skipped by an extension that runs before SharedEngine's: it never gets an engine. */
    @ExtendWith(SkipsTheClass.class)
    static final class SkippedBeforeItsEngine {
        @RegisterExtension
        static final SharedEngine shared = new SharedEngine(ONE_RING);

        @Test
        void neverRuns() {
            throw new AssertionError("ran in a skipped class");
        }
    }

    // ---- the tests -------------------------------------------------------------------------

    @Test
    void aCleanClassPassesWithOneEngineForItsTestsAndItsBeforeAllThenClosed() {
        Map<String, TestExecutionResult> results = launch(UsesItsEngineCleanly.class);
        assertSucceeded(results.get("first()"));
        assertSucceeded(results.get("second()"));
        assertSucceeded(results.get("class"));
        Engine engine = UsesItsEngineCleanly.seen.get("beforeAll");
        assertThat(UsesItsEngineCleanly.seen).containsOnlyKeys("beforeAll", "first", "second")
                .allSatisfy((k, e) -> assertThat(e).as(k).isSameAs(engine));
        assertThat(engine.isClosed()).as("closed after the class").isTrue();
    }

    @Test
    void theCheckRunsAfterTheTestsOwnAfterEach() {
        Map<String, TestExecutionResult> results = launch(ReturnsABufferInItsAfterEach.class);
        assertSucceeded(results.get("keepsABufferUntilAfterEach()"));
        assertSucceeded(results.get("class"));
    }

    @Test
    void aPoolBufferKeptPastATestFailsThatTest() {
        Map<String, TestExecutionResult> results = launch(KeepsAPoolBuffer.class);
        assertFailed(results.get("keepsABuffer()"), "pool buffers not returned");
        assertSucceeded(results.get("class"));
    }

    @Test
    void aRequestLeftPendingPastATestFailsThatTest() {
        Map<String, TestExecutionResult> results = launch(LeavesARequestPending.class);
        assertFailed(results.get("leavesAReadWaiting()"), "requests pending in");
        assertSucceeded(results.get("class"));
        assertThat(LeavesARequestPending.read).as("the read, completed in @AfterAll").isCompleted();
    }

    @Test
    void aLeakLeftAtTheEndFailsTheClassAndTheEngineIsClosedAnyway() {
        try {
            Map<String, TestExecutionResult> results = launch(KeepsABufferPastTheClass.class);
            assertSucceeded(results.get("leaksNothing()"));
            assertFailed(results.get("class"), "pool buffers not returned");
            assertThat(KeepsABufferPastTheClass.engine.isClosed()).as("closed after the failed check").isTrue();
        } finally {
            if (KeepsABufferPastTheClass.kept != null) {
                KeepsABufferPastTheClass.engine.core().pool().release(KeepsABufferPastTheClass.kept);
            }
        }
    }

    @Test
    void aClassSkippedBeforeItsEngineIsMadeIsSkippedNotFailed() {
        Map<String, TestExecutionResult> results = launch(SkippedBeforeItsEngine.class);
        assertThat(results.get("class")).as("outcome").isNotNull()
                .extracting(TestExecutionResult::getStatus).isEqualTo(Status.ABORTED);
        assertThat(results).containsOnlyKeys("class");
    }

    @Test
    void theEngineIsRefusedWhereTheExtensionNeverStarted() {
        // As on an instance field, where JUnit calls no beforeAll.
        assertThatThrownBy(() -> new SharedEngine(ONE_RING).engine())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("static field");
    }
}
