package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Blocking requests never wait for a poll (issue 11, item 3): completed callback requests that
 * nobody has polled yet (fire-and-forget ones included) held every slot of their ring, so
 * {@code size()}, reads and {@code close()} parked until someone called {@code poll()}, and a
 * callback making a blocking call deadlocked {@code drain()}.
 */
@ExtendWith(IoUringAvailable.class)
class UnpolledCallbacksTest {
    private static final Duration BOUND = Duration.ofSeconds(30);
    private static final int DEPTH = 256; // the default queue depth

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void blockingCallsCompleteWhileEverySlotHoldsAnUnpolledCallbackCompletion() throws Exception {
        Path path = Files.write(dir.resolve("f"), TestSupport.randomBytes(64 * 1024, 1));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             Arena arena = Arena.ofShared()) {
            assertThat(engine.options().queueDepth()).isEqualTo(DEPTH);
            AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ);
            MemorySegment buf = arena.allocate(4096);
            AtomicInteger ran = new AtomicInteger();
            long before = engine.stats().opsCompleted(); // the open may or may not have been a ring request
            for (int i = 0; i < DEPTH; i++) {
                // Half fire-and-forget (no callback), half with one.
                engine.read(f.fd(), BufferRef.of(buf), 4096, 0, i % 2 == 0 ? null : (r, res) -> ran.incrementAndGet());
            }
            TestSupport.awaitCondition("the reads to complete in the kernel",
                    () -> engine.stats().opsCompleted() >= before + DEPTH);
            assertTimeoutPreemptively(BOUND, () -> {
                assertThat(f.size()).isEqualTo(64 * 1024);
                ByteBuffer dst = ByteBuffer.allocateDirect(4096);
                assertThat(f.read(dst, 8192)).isEqualTo(4096);
                try (AuraFile g = AuraFile.open(engine, path, StandardOpenOption.READ)) {
                    assertThat(g.size()).isEqualTo(64 * 1024);
                }
                Thread closer = Thread.ofPlatform().start(() -> {
                    try {
                        f.close();
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                closer.join();
                assertThat(f.isOpen()).isFalse();
            }, "a blocking call waited for a poll");
            assertThat(engine.poll()).isEqualTo(DEPTH);
            assertThat(ran.get()).isEqualTo(DEPTH / 2);
            Leaks.assertNothingLeaked(engine);
        }
    }

    @Test
    void aCallbackMayMakeBlockingCallsWhileEverySlotHoldsAQueuedCompletion() throws Exception {
        Path path = Files.write(dir.resolve("f"), TestSupport.randomBytes(8192, 2));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile f = AuraFile.open(engine, path, StandardOpenOption.READ);
             Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(4096);
            AtomicInteger finished = new AtomicInteger();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            for (int i = 0; i < DEPTH; i++) {
                engine.read(f.fd(), BufferRef.of(buf), 4096, 0, (r, res) -> {
                    try {
                        assertThat(f.size()).isEqualTo(8192); // a blocking call inside a callback
                        ByteBuffer dst = ByteBuffer.allocate(100);
                        assertThat(f.read(dst, 0)).isEqualTo(100);
                        finished.incrementAndGet();
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                });
            }
            TestSupport.awaitCondition("the reads to complete in the kernel",
                    () -> engine.stats().opsCompleted() >= DEPTH);
            assertTimeoutPreemptively(BOUND, () -> engine.drain(-1), "drain() deadlocked on a blocking callback");
            assertThat(failures).isEmpty();
            assertThat(finished.get()).isEqualTo(DEPTH);
            Leaks.assertNothingLeaked(engine);
        }
    }
}
