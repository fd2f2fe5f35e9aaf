package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Future requests ({@link Engine#readAsync} and friends, the C++/Rust async forms): results and
 * data, failures as {@link AuraIOException}s with the kernel's errno, and where dependent stages
 * run. Nobody polls the engine in these tests: futures complete on their own.
 */
@ExtendWith(IoUringAvailable.class)
class EngineFutureTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(2).build());
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeEngine() {
        engine.close();
        arena.close();
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(HANG.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("the future never completed", e);
        }
    }

    private static AuraIOException failure(CompletableFuture<?> f) throws Exception {
        try {
            Object value = get(f);
            throw new AssertionError("completed normally with " + value);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
            return (AuraIOException) e.getCause();
        }
    }

    private Path fileWith(byte[] data) throws Exception {
        Path path = dir.resolve("data-" + System.nanoTime());
        Files.write(path, data);
        return path;
    }

    @Test
    void readAndWriteFuturesGiveTheByteCountsAndTheData() throws Exception {
        byte[] data = randomBytes(10_000, 1);
        Path path = fileWith(data);
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE);
             Buffer buffer = engine.allocateBuffer(4000)) {
            assertThat(get(engine.readAsync(file.fd(), buffer.ref(), 4000, 1000))).isEqualTo(4000L);
            assertThat(buffer.segment().toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(data, 1000, 5000));

            byte[] fresh = randomBytes(3000, 2);
            MemorySegment src = arena.allocateFrom(JAVA_BYTE, fresh);
            assertThat(get(engine.writeAsync(file.fd(), BufferRef.of(src), 3000, 9000))).isEqualTo(3000L);
            assertThat(Files.size(path)).isEqualTo(12_000);
            assertThat(Arrays.copyOfRange(Files.readAllBytes(path), 9000, 12_000)).isEqualTo(fresh);

            assertThat(get(engine.readAsync(file.fd(), buffer.ref(), 4000, 12_000))).as("at the end").isZero();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void vectorFuturesScatterAndGatherInOrder() throws Exception {
        Path path = fileWith(new byte[0]);
        byte[] a = randomBytes(10, 3);
        byte[] b = randomBytes(9000, 4);
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE)) {
            MemorySegment[] out = {arena.allocateFrom(JAVA_BYTE, a), arena.allocateFrom(JAVA_BYTE, b)};
            assertThat(get(engine.writevAsync(file.fd(), out, 0))).isEqualTo(9010L);
            byte[] onDisk = Files.readAllBytes(path);
            assertThat(Arrays.copyOfRange(onDisk, 0, 10)).isEqualTo(a);
            assertThat(Arrays.copyOfRange(onDisk, 10, 9010)).isEqualTo(b);

            MemorySegment[] in = {arena.allocate(9000), arena.allocate(10)};
            assertThat(get(engine.readvAsync(file.fd(), in, 0))).isEqualTo(9010L);
            assertThat(in[0].toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(onDisk, 0, 9000));
            assertThat(in[1].toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(onDisk, 9000, 9010));
        }
        assertNothingLeaked(engine);
    }

    @Test
    void fsyncAndFdatasyncFuturesCompleteWithZero() throws Exception {
        try (AuraFile file = AuraFile.open(engine, fileWith(new byte[0]), READ, WRITE)) {
            file.writeFully(ByteBuffer.wrap(randomBytes(5000, 5)), 0);
            assertThat(get(engine.fsyncAsync(file.fd()))).isZero();
            file.writeFully(ByteBuffer.wrap(randomBytes(5000, 6)), 5000);
            assertThat(get(engine.fdatasyncAsync(file.fd()))).isZero();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aReadOfAWriteOnlyDescriptorFailsWithEbadf() throws Exception {
        try (AuraFile writeOnly = AuraFile.open(engine, fileWith(new byte[100]), WRITE)) {
            AuraIOException e = failure(engine.readAsync(writeOnly.fd(), BufferRef.of(arena.allocate(10)), 10, 0));
            assertThat(e.errno()).isEqualTo(9);
            assertThat(e).hasMessageContaining("read");
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aReadOfADirectoryFailsWithEisdir() throws Exception {
        int fd = Posix.open(dir.path(), Posix.O_RDONLY | Posix.O_DIRECTORY);
        try {
            AuraIOException e = failure(engine.readAsync(fd, BufferRef.of(arena.allocate(10)), 10, 0));
            assertThat(e.errno()).isEqualTo(21);
            AuraIOException v = failure(engine.readvAsync(fd, new MemorySegment[] {arena.allocate(10)}, 0));
            assertThat(v.errno()).isEqualTo(21);
            assertThat(v).hasMessageContaining("readv");
        } finally {
            Posix.close(fd);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aWriteOfAReadOnlyDescriptorFailsWithEbadf() throws Exception {
        try (AuraFile readOnly = AuraFile.open(engine, fileWith(new byte[100]), READ)) {
            AuraIOException e = failure(engine.writeAsync(readOnly.fd(), BufferRef.of(arena.allocate(10)), 10, 0));
            assertThat(e.errno()).isEqualTo(9);
            AuraIOException v = failure(engine.writevAsync(readOnly.fd(), new MemorySegment[] {arena.allocate(1)}, 0));
            assertThat(v.errno()).isEqualTo(9);
        }
        assertNothingLeaked(engine);
    }

    @Test
    void aFutureSubmittedToAClosedEngineFailsWithIsShutdownInsteadOfThrowing() throws Exception {
        try (AuraFile file = AuraFile.open(engine, fileWith(new byte[100]), READ)) {
            engine.close();
            assertThat(failure(engine.readAsync(file.fd(), BufferRef.of(arena.allocate(10)), 10, 0)).isShutdown())
                    .isTrue();
            assertThat(failure(engine.fsyncAsync(file.fd())).isShutdown()).isTrue();
            assertThat(failure(engine.readvAsync(file.fd(), new MemorySegment[] {arena.allocate(1)}, 0)).isShutdown())
                    .isTrue();
        }
        assertNothingLeaked(engine);
    }

    /** Stages attached before completion run where the future completes: never on a poller thread. */
    @Test
    void dependentStagesNeverRunOnAPollerThread() throws Exception {
        Queue<String> stageThreads = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<Long>> stages = new ArrayList<>();
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             AuraFile file = AuraFile.open(engine, fileWith(randomBytes(64 * 1024, 7)), READ)) {
            // Still pending when the stage is attached: the stage runs on the completing thread.
            CompletableFuture<Long> fifoRead = engine.readAsync(fifo.fd(), BufferRef.of(arena.allocate(8)), 8, 0);
            stages.add(fifoRead.thenApply(n -> {
                stageThreads.add(Thread.currentThread().getName());
                return n;
            }));
            awaitInKernel(engine, 1);
            for (int i = 0; i < 200; i++) {
                CompletableFuture<Long> f = engine.readAsync(file.fd(), BufferRef.of(arena.allocate(256)), 256,
                        i * 256L);
                stages.add(f.thenApply(n -> {
                    stageThreads.add(Thread.currentThread().getName());
                    return n;
                }).whenComplete((n, e) -> stageThreads.add(Thread.currentThread().getName())));
            }
            fifo.write(ByteBuffer.wrap(new byte[] {42}), 0);
            assertThat(get(stages.getFirst())).isEqualTo(1L);
            for (CompletableFuture<Long> s : stages.subList(1, stages.size())) {
                assertThat(get(s)).isEqualTo(256L);
            }
        }
        assertThat(stageThreads).hasSize(1 + 2 * 200);
        assertThat(stageThreads).noneMatch(name -> name.startsWith("auraio-ring-"));
        awaitCondition("every future's slot is released", () -> engine.pendingCount() == 0);
        assertNothingLeaked(engine);
    }

    /** The thread that completes a future is no callback thread: a stage may even close the engine. */
    @Test
    void aDependentStageMayCloseTheEngine() throws Exception {
        try (AuraFile file = AuraFile.open(engine, fileWith(new byte[10]), READ)) {
            CompletableFuture<Void> closed = engine.fsyncAsync(file.fd()).thenRun(engine::close);
            get(closed);
            assertThat(engine.isClosed()).isTrue();
        }
        assertNothingLeaked(engine);
    }

    @Test
    void manyVirtualThreadsWaitOnTheirOwnFutures() throws Exception {
        int threads = 500;
        byte[] data = randomBytes(threads * 128, 8);
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (AuraFile file = AuraFile.open(engine, fileWith(data), READ)) {
            List<Thread> started = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int index = i;
                started.add(Thread.ofVirtual().start(() -> {
                    try (Buffer buffer = engine.allocateBuffer(128)) {
                        long n;
                        long deadline = AsyncFixtures.deadline();
                        while (true) {
                            AsyncFixtures.checkDeadline(deadline, "a slot for a read");
                            try {
                                n = engine.readAsync(file.fd(), buffer.ref(), 128, index * 128L).join();
                                break;
                            } catch (CompletionException e) {
                                if (!(e.getCause() instanceof AuraIOException a) || !a.isAgain()) {
                                    throw e;
                                }
                                Thread.yield(); // every slot taken: retry
                            }
                        }
                        byte[] got = buffer.segment().toArray(JAVA_BYTE);
                        if (n != 128 || !Arrays.equals(got, Arrays.copyOfRange(data, index * 128, index * 128 + 128))) {
                            throw new AssertionError("thread " + index + " read " + n + " bytes, different data");
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            joinAll(started);
        }
        assertThat(failures).isEmpty();
        awaitCondition("every future's slot is released", () -> engine.pendingCount() == 0);
        assertNothingLeaked(engine);
    }
}
