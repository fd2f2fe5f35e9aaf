package io.auraio;

import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Direct;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Engine#close()} with requests in flight: every parked caller wakes with an exception,
 * close returns, later calls fail with ESHUTDOWN, and nothing is left behind.
 */
@ExtendWith(IoUringAvailable.class)
class EngineCloseTest {
    private static final int FIFO_READERS = 64;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /**
     * Starts {@link #FIFO_READERS} virtual threads and one platform thread reading {@code fifo},
     * which never gets data, and waits until all of their requests are pending.
     */
    private static List<Thread> startBlockedReaders(Engine engine, AuraFile fifo, AtomicReferenceArray<Throwable> outcomes)
            throws InterruptedException {
        List<Thread> readers = new ArrayList<>();
        for (int i = 0; i <= FIFO_READERS; i++) {
            int index = i;
            Runnable read = () -> {
                try (Arena arena = Arena.ofConfined()) {
                    // Half read into native memory, half into heap memory through a pool buffer.
                    int n = index % 2 == 0 ? fifo.read(ByteBuffer.allocate(16), 0) : fifo.read(arena.allocate(16), 0);
                    outcomes.set(index, new AssertionError("read of an empty FIFO returned " + n));
                } catch (Throwable t) {
                    outcomes.set(index, t);
                }
            };
            readers.add(i < FIFO_READERS ? Thread.ofVirtual().start(read) : Thread.ofPlatform().start(read));
        }
        // In the kernel, not just pending: a request still queued for its poller when close begins
        // fails with ESHUTDOWN instead of being cancelled, which is right, but not this test's case.
        awaitCondition("every FIFO read is in the kernel",
                () -> io.auraio.internal.engine.RingProbe.inKernel(engine.core()) == FIFO_READERS + 1);
        return readers;
    }

    @Test
    void closeWakesEveryThreadBlockedReadingAFifoWithAShutdownException() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        // READ + WRITE: opening a FIFO O_RDWR never blocks, and holding the write end means a
        // read waits for data forever. The engine is closed by the test; the close in finally
        // only cleans up after a failure.
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        try (AuraFile file = AuraFile.open(engine, fifo, READ, WRITE)) {
            AtomicReferenceArray<Throwable> outcomes = new AtomicReferenceArray<>(FIFO_READERS + 1);
            List<Thread> readers = startBlockedReaders(engine, file, outcomes);

            Thread closer = Thread.ofPlatform().start(engine::close);
            joinAll(List.of(closer));
            joinAll(readers);

            for (int i = 0; i <= FIFO_READERS; i++) {
                assertThat(outcomes.get(i)).as("reader %d", i).isInstanceOf(AuraIOException.class)
                        .matches(t -> ((AuraIOException) t).isShutdown(), "isShutdown()")
                        .hasMessageContaining("read");
            }
            assertThat(engine.isClosed()).isTrue();
            assertNothingLeaked(engine);
        } finally {
            engine.close();
        }
    }

    /** One documented outcome for every form: a request that close() ends fails with ESHUTDOWN. */
    @Test
    void closeFailsTheFutureAndCallbackRequestsItEndsWithShutdown() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        try (AuraFile file = AuraFile.open(engine, fifo, READ, WRITE)) {
            Buffer buffer = engine.allocateBuffer(16);
            List<java.util.concurrent.CompletableFuture<Long>> futures = new ArrayList<>();
            java.util.Queue<Long> results = new java.util.concurrent.ConcurrentLinkedQueue<>();
            for (int i = 0; i < 16; i++) {
                futures.add(engine.readAsync(file.fd(), buffer.ref(), 16, 0));
                engine.read(file.fd(), buffer.ref(), 16, 0, (request, r) -> results.add(r));
            }
            awaitCondition("every FIFO read is in the kernel",
                    () -> io.auraio.internal.engine.RingProbe.inKernel(engine.core()) == 32);
            engine.close();
            for (var f : futures) {
                assertThatThrownBy(f::join).hasCauseInstanceOf(AuraIOException.class)
                        .satisfies(e -> assertThat(((AuraIOException) e.getCause()).isShutdown()).isTrue());
            }
            assertThat(results).hasSize(16).containsOnly((long) -io.auraio.internal.binding.Errno.ESHUTDOWN);
            buffer.close();
            assertNothingLeaked(engine);
        } finally {
            engine.close();
        }
    }

    @Test
    void closeIsIdempotentAndMayBeCalledFromManyThreadsAtOnceWhileRequestsWait() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Engine engine = Engine.create(Options.builder().ringCount(2).build());
        try (AuraFile file = AuraFile.open(engine, fifo, READ, WRITE)) {
            AtomicReferenceArray<Throwable> outcomes = new AtomicReferenceArray<>(FIFO_READERS + 1);
            List<Thread> readers = startBlockedReaders(engine, file, outcomes);

            List<Throwable> closeFailures = TestSupport.atOnce(8, engine::close);
            joinAll(readers);

            for (int i = 0; i < 8; i++) {
                assertThat(closeFailures.get(i)).as("closer %d", i).isNull();
            }
            for (int i = 0; i <= FIFO_READERS; i++) {
                assertThat(outcomes.get(i)).as("reader %d", i).isInstanceOf(AuraIOException.class);
            }
            engine.close();
            engine.close();
            assertThat(engine.isClosed()).isTrue();
            assertThat(engine.toString()).contains("closed");
            assertNothingLeaked(engine);
        } finally {
            engine.close();
        }
    }

    @Test
    void closeDuringBusyTrafficFailsEveryCallerItWakesWithShutdown() throws Exception {
        Path direct = dir.resolve("direct");
        Path buffered = dir.resolve("buffered");
        Files.write(direct, randomBytes(256 * Direct.ALIGN, 1));
        Files.write(buffered, randomBytes(1 << 20, 2));
        int workers = 200;
        AtomicLong operations = new AtomicLong();
        AtomicReferenceArray<Throwable> outcomes = new AtomicReferenceArray<>(workers);
        Engine engine = Engine.create(Options.builder().ringCount(2).queueDepth(32).build());
        try (AuraFile directFile = AuraFile.open(engine, direct, READ, WRITE, Direct.DIRECT);
             AuraFile bufferedFile = AuraFile.open(engine, buffered, READ, WRITE)) {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                int index = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment block = Direct.aligned(arena, Direct.ALIGN);
                        ByteBuffer heap = ByteBuffer.allocate(512);
                        while (true) {
                            long block4k = ThreadLocalRandom.current().nextInt(256) * (long) Direct.ALIGN;
                            switch (index % 3) {
                                case 0 -> directFile.read(block, block4k);
                                case 1 -> directFile.write(block, block4k);
                                default -> bufferedFile.write(heap.clear(), index * 512L);
                            }
                            operations.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        outcomes.set(index, t);
                    }
                }));
            }
            awaitCondition("traffic is flowing", () -> operations.get() > 5_000);

            Thread closer = Thread.ofPlatform().start(engine::close);
            joinAll(List.of(closer));
            joinAll(threads);

            for (int i = 0; i < workers; i++) {
                assertThat(outcomes.get(i)).as("worker %d", i).isInstanceOf(AuraIOException.class)
                        .matches(t -> ((AuraIOException) t).isShutdown(), "isShutdown()");
            }
            assertNothingLeaked(engine);

            // Everything afterwards fails with ESHUTDOWN, including a read the page cache could serve.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment block = Direct.aligned(arena, Direct.ALIGN);
                assertShutdown(() -> directFile.read(block, 0));
                assertShutdown(() -> directFile.write(block, 0));
                assertShutdown(() -> bufferedFile.read(ByteBuffer.allocate(10), 0));
                assertShutdown(() -> bufferedFile.write(ByteBuffer.allocate(10), 0));
                assertShutdown(() -> bufferedFile.size());
                assertShutdown(() -> bufferedFile.force(true));
                assertShutdown(() -> AuraFile.open(engine, buffered, READ).close());
                assertShutdown(() -> AuraFile.open(engine, dir.resolve("new"), CREATE_NEW, WRITE).close());
            }
            assertThat(Files.exists(dir.resolve("new"))).isFalse();
            assertNothingLeaked(engine);
        } finally {
            engine.close();
        }
    }

    @Test
    void filesOfAClosedEngineStillCloseAndReleaseTheirDescriptor() throws IOException {
        Path path = dir.resolve("f");
        Files.write(path, new byte[100]);
        Engine engine = Engine.create(Options.builder().ringCount(1).build());
        AuraFile file = AuraFile.open(engine, path, READ);
        try {
            int fd = file.fd();
            engine.close();
            file.close();
            assertThat(file.isOpen()).isFalse();
            assertThatThrownBy(() -> file.read(ByteBuffer.allocate(1), 0)).isInstanceOf(ClosedChannelException.class);
            Descriptors.assertClosed(fd, path, "the file closed after its engine");
        } finally {
            file.close();
            engine.close();
        }
    }

    private static void assertShutdown(ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(AuraIOException.class)
                .matches(t -> ((AuraIOException) t).isShutdown(), "isShutdown()");
    }
}
