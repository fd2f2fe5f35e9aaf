package io.auraio;

import static io.auraio.AsyncFixtures.ringThreads;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Engine#create()} and {@link Engine#create(Options)} (the reference's {@code auraio_create}
 * and {@code auraio_create_with_options}) through {@link Engine#close()}: an engine serves all
 * three request forms, and its threads and memory are gone after close. (Close under load is
 * {@code EngineCloseTest}'s subject.)
 */
@ExtendWith(IoUringAvailable.class)
class EngineLifecycleTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** A callback read, a future write and a blocking round trip on {@code path}, all checked. */
    private static void useAllRequestForms(Engine engine, Path path) throws Exception {
        byte[] data = Files.readAllBytes(path);
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE); Arena arena = Arena.ofShared()) {
            Completions done = new Completions();
            MemorySegment into = arena.allocate(1000);
            Request r = engine.read(file.fd(), BufferRef.of(into), 1000, 10, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(1000);
            assertThat(into.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(data, 10, 1010));

            MemorySegment out = arena.allocateFrom(JAVA_BYTE, randomBytes(500, 99));
            assertThat(engine.writeAsync(file.fd(), BufferRef.of(out), 500, 2000).get(HANG.toSeconds(),
                    TimeUnit.SECONDS)).isEqualTo(500L);

            ByteBuffer back = ByteBuffer.allocate(500);
            file.readFully(back, 2000);
            assertThat(back.array()).isEqualTo(randomBytes(500, 99));
            file.force(true);
        }
        awaitCondition("future slots released", () -> engine.pendingCount() == 0);
        assertNothingLeaked(engine);
    }

    private Path dataFile() throws Exception {
        Path path = dir.resolve("data-" + System.nanoTime());
        Files.write(path, randomBytes(8192, 1));
        return path;
    }

    @Test
    void createWithDefaultsGivesOneRingPerProcessorAndTheDefaultOptions() throws Exception {
        long before = ringThreads();
        Engine engine = Engine.create();
        try {
            int cpus = Runtime.getRuntime().availableProcessors();
            assertThat(engine.ringCount()).isEqualTo(cpus);
            assertThat(ringThreads() - before).isEqualTo(cpus);
            Options o = engine.options();
            Options d = Options.defaults();
            assertThat(o.queueDepth()).isEqualTo(d.queueDepth()).isEqualTo(256);
            assertThat(o.ringSelect()).isEqualTo(RingSelect.ADAPTIVE);
            assertThat(o.bufferAlignment()).isEqualTo(d.bufferAlignment());
            assertThat(engine.isClosed()).isFalse();
            for (int i = 0; i < cpus; i++) {
                assertThat(engine.ringStats(i).queueDepth()).isEqualTo(256);
            }
            useAllRequestForms(engine, dataFile());
        } finally {
            engine.close();
        }
        assertThat(engine.isClosed()).isTrue();
        assertThat(engine.toString()).contains("closed");
        assertThat(ringThreads()).as("poller threads joined by close").isEqualTo(before);
    }

    @Test
    void createWithOptionsKeepsThemAndBuildsTheRingsFromThem() throws Exception {
        long before = ringThreads();
        Options options = Options.builder().ringCount(3).queueDepth(32).bufferAlignment(8192)
                .ringSelect(RingSelect.ROUND_ROBIN).build();
        try (Engine engine = Engine.create(options)) {
            assertThat(engine.options()).isSameAs(options);
            assertThat(engine.ringCount()).isEqualTo(3);
            assertThat(ringThreads() - before).isEqualTo(3);
            for (int i = 0; i < 3; i++) {
                assertThat(engine.ringStats(i).queueDepth()).isEqualTo(32);
            }
            try (Buffer b = engine.allocateBuffer(10)) {
                assertThat(b.segment().address() % 8192).isZero();
            }
            useAllRequestForms(engine, dataFile());
        }
        assertThat(ringThreads()).isEqualTo(before);
    }

    @Test
    void theLargestQueueDepthIsAccepted() throws Exception {
        Options options = Options.builder().ringCount(1).queueDepth(Options.MAX_QUEUE_DEPTH).build();
        try (Engine engine = Engine.create(options)) {
            assertThat(engine.ringStats(0).queueDepth()).isEqualTo(Options.MAX_QUEUE_DEPTH);
            useAllRequestForms(engine, dataFile());
        }
    }

    /** Callbacks of requests that completed but were never polled run on the thread that closes. */
    @Test
    void closeRunsTheCallbacksStillQueuedOnTheClosingThread() throws Exception {
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        Completions done = new Completions();
        List<Request> requests = new ArrayList<>();
        try (Arena arena = Arena.ofShared(); AuraFile file = AuraFile.open(engine, dataFile(), READ)) {
            for (int i = 0; i < 10; i++) {
                requests.add(engine.read(file.fd(), BufferRef.of(arena.allocate(100)), 100, 0, done));
            }
            awaitCondition("all completed", () -> requests.stream().noneMatch(Request::isPending));
            assertThat(done.count()).isZero();
            Thread closer = Thread.ofPlatform().name("closer").start(engine::close);
            joinAll(List.of(closer));
            assertThat(done.count()).isEqualTo(10);
            assertThat(done.all()).allMatch(c -> c.thread() == closer && c.result() == 100);
        } finally {
            engine.close();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void severalEnginesLiveSideBySideAndCloseInAnyOrder() throws Exception {
        long before = ringThreads();
        List<Engine> engines = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                engines.add(Engine.create(Options.builder().ringCount(i).build()));
            }
            assertThat(ringThreads() - before).isEqualTo(1 + 2 + 3);
            Path path = dataFile();
            for (Engine e : engines) {
                useAllRequestForms(e, path);
            }
            engines.get(1).close();
            assertThat(ringThreads() - before).isEqualTo(1 + 3);
            useAllRequestForms(engines.get(0), path);
            useAllRequestForms(engines.get(2), path);
        } finally {
            for (Engine e : engines.reversed()) {
                e.close();
            }
        }
        assertThat(ringThreads()).isEqualTo(before);
    }

    @Test
    void createAndCloseManyTimesLeavesNoThreadBehind() throws Exception {
        long before = ringThreads();
        for (int i = 0; i < 50; i++) {
            Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(8).build());
            engine.close();
            engine.close();
        }
        assertThat(ringThreads()).isEqualTo(before);
    }
}
