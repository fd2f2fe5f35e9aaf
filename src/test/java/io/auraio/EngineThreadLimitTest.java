package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Descriptors;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.ThreadStartLimit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An engine made where the process may start no more threads (a container's pids limit, {@code
 * ulimit -u}): a clear {@link AuraIOException}, and nothing left behind (no ring, no descriptor, no
 * poller thread of the rings that did start). Made real with a cgroup that lets the creating
 * thread start only so many threads ({@link ThreadStartLimit}).
 */
@ExtendWith(IoUringAvailable.class)
class EngineThreadLimitTest {
    @BeforeEach
    void warmUp() throws Exception {
        ThreadStartLimit.unsupported().ifPresent(Assumptions::abort);
        // The binding chosen and the classes loaded, so that the only threads the engine below
        // starts are its rings' pollers.
        Engine.create(Options.builder().ringCount(1).build()).close();
    }

    @Test
    void noPollerCanStart() throws Exception {
        createAndExpectFailure(1);
    }

    @Test
    void theSecondRingsPollerCannotStart() throws Exception {
        createAndExpectFailure(2);
    }

    /**
     * The rings' pollers start, the thread that registers the MXBeans does not: the engine serves
     * without them, and its close neither throws nor leaves anything behind.
     */
    @Test
    void theMxBeansThreadCannotStart() throws Exception {
        // The JMX thread ends 1 s after its last task: wait for that, so the engine must start it.
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("auraio-jmx"))
                && System.nanoTime() - deadline < 0) {
            Thread.sleep(50);
        }
        Map<Integer, String> descriptorsBefore = Descriptors.open(EngineThreadLimitTest::ours);
        Set<String> pollersBefore = pollerThreads();
        Path file = Files.writeString(Files.createTempFile("auraio-limit", ".txt"), "served");
        try (ThreadStartLimit limit = ThreadStartLimit.on(Posix.gettid(), 3)) { // itself and two pollers
            Engine engine = Engine.create(Options.builder().ringCount(2).build());
            try (AuraFile f = AuraFile.open(engine, file, java.nio.file.StandardOpenOption.READ)) {
                java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(16);
                assertThat(f.read(buffer, 0)).isEqualTo(6);
            }
            engine.close();
            assertThat(limit.refusals()).as("thread starts the group refused").isPositive();
        } finally {
            Files.delete(file);
        }
        assertThat(pollerThreads()).as("poller threads").isEqualTo(pollersBefore);
        Descriptors.assertNoneNew(descriptorsBefore, EngineThreadLimitTest::ours, "an engine refused a thread");
    }

    /**
     * A JVM whose first file is opened while no thread can be started: with an engine made before,
     * the open needs none (the files' cleaner started with the engine), and AuraFile stays usable.
     * Its cleaner used to start in AuraFile's class initialiser: there the open failed with the
     * JDK's OutOfMemoryError ("unable to create native thread"), and every later use of AuraFile
     * with NoClassDefFoundError. In a fresh JVM, where AuraFile is not initialised yet.
     */
    @Test
    void aFirstFileOpenedWhileNoThreadCanStartOpensAndAuraFileStaysUsable() throws Exception {
        Path file = Files.writeString(Files.createTempFile("auraio-limit", ".txt"), "served");
        try {
            ForkedJvm.Result r = ForkedJvm.of(FirstOpenAtTheLimit.class).args(file.toString()).run();
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.stdout()).as(r.toString()).contains("at the limit: read 6").contains("after: read 6");
        } finally {
            Files.delete(file);
        }
    }

    /** Makes an engine, then opens and reads a file while its thread may start none, then again after. */
    public static final class FirstOpenAtTheLimit {
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
                try (ThreadStartLimit limit = ThreadStartLimit.on(Posix.gettid())) {
                    System.out.println("at the limit: read " + readWith(engine, file) + ", thread starts refused "
                            + limit.refusals());
                }
                System.out.println("after: read " + readWith(engine, file));
            }
        }

        private static int readWith(Engine engine, Path file) throws IOException {
            try (AuraFile f = AuraFile.open(engine, file, java.nio.file.StandardOpenOption.READ)) {
                return f.read(java.nio.ByteBuffer.allocate(16), 0);
            }
        }
    }

    private void createAndExpectFailure(int tasks) throws Exception {
        Map<Integer, String> descriptorsBefore = Descriptors.open(EngineThreadLimitTest::ours);
        Set<String> pollersBefore = pollerThreads();
        try (ThreadStartLimit limit = ThreadStartLimit.on(Posix.gettid(), tasks)) {
            assertThatThrownBy(() -> Engine.create(Options.builder().ringCount(2).build()))
                    .isInstanceOf(AuraIOException.class)
                    .hasMessageContaining("thread");
            assertThat(limit.refusals()).as("thread starts the group refused").isPositive();
        }
        assertThat(pollerThreads()).as("poller threads").isEqualTo(pollersBefore);
        Descriptors.assertNoneNew(descriptorsBefore, EngineThreadLimitTest::ours, "a create refused a thread");
    }

    /**
     * {@return whether {@code target} is what an engine or a file of these tests could leave open:
     * a ring or an eventfd ({@code anon_inode:}), the test's file} Not the class path's jars, which
     * the JVM opens as it loads classes.
     */
    private static boolean ours(String target) {
        return target.contains("anon_inode:") || target.contains("auraio-limit");
    }

    private static Set<String> pollerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("auraio-ring-"))
                .map(t -> t.getName() + "#" + t.threadId()).collect(Collectors.toSet());
    }
}
