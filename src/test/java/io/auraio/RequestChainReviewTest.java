package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of linked requests and the request-level API: a chain's later link must not reach a
 * descriptor its file's close gave to another file, chains at the queue depth, every link
 * completing exactly once, cancel racing completion, and the sync requests' errno.
 */
@ExtendWith(IoUringAvailable.class)
class RequestChainReviewTest {
    private static final long ECANCELED = -125;
    private static final long EBADF = -9;
    private static final long EINVAL = -22;
    private static final long EISDIR = -21;
    private static final long ESPIPE = -29;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;
    private Arena arena;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeEngine() {
        try {
            if (!engine.isClosed()) {
                assertNothingLeaked(engine);
            }
        } finally {
            engine.close();
            arena.close();
        }
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(HANG.toSeconds(), TimeUnit.SECONDS);
    }

    private void awaitCallbacks(Map<Request, Long> results, int n) throws Exception {
        long deadline = System.nanoTime() + HANG.toNanos();
        while (results.size() < n) {
            engine.await(100);
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + results.size() + " of " + n + " callbacks ran");
            }
        }
    }

    private static long errno(CompletableFuture<?> f) throws Exception {
        try {
            Object v = get(f);
            throw new AssertionError("completed normally with " + v);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
            return -((AuraIOException) e.getCause()).errno();
        }
    }

    /** Opens {@code path} until a file gets descriptor {@code fd}; the last one has it. */
    private List<AuraFile> openUntilNumberReused(Path path, int fd) throws Exception {
        List<AuraFile> files = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            AuraFile f = AuraFile.open(engine, path, WRITE);
            files.add(f);
            if (f.fd() == fd) {
                return files;
            }
        }
        closeAll(files);
        throw new AssertionError("descriptor " + fd + " was not reused");
    }

    private static void closeAll(List<AuraFile> files) throws Exception {
        for (AuraFile f : files) {
            f.close();
        }
    }

    @Test
    void closingAFileStopsAChainWhoseLaterLinkWritesToIt() throws Exception {
        Path a = Files.write(dir.resolve("a"), new byte[0]);
        Path b = Files.write(dir.resolve("b"), new byte[0]);
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            AuraFile fileA = AuraFile.open(engine, a, WRITE);
            int fdA = fileA.fd();
            Map<Request, Long> results = new ConcurrentHashMap<>();
            // The write waits in the kernel behind the FIFO read, for data nobody has sent yet.
            Request[] rs = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).write(fdA, buf.ref(), 5, 0)
                    .submit(results::put, null);
            awaitInKernel(engine, 2);
            fileA.close();
            List<AuraFile> reusers = openUntilNumberReused(b, fdA);
            try {
                fifo.write(ByteBuffer.wrap("fifo!".getBytes(StandardCharsets.US_ASCII)), 0);
                awaitCallbacks(results, 2);
            } finally {
                closeAll(reusers);
            }
            assertThat(Files.size(b)).as("the chain's write went to the file that reused the descriptor")
                    .isZero();
            assertThat(results.get(rs[1])).isIn(ECANCELED, EBADF);
        }
    }

    @Test
    void closingAFileStopsAChainWhoseLaterLinkClosesIt() throws Exception {
        Path a = Files.write(dir.resolve("a"), new byte[0]);
        Path b = Files.write(dir.resolve("b"), new byte[0]);
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            AuraFile fileA = AuraFile.open(engine, a, WRITE);
            int fdA = fileA.fd();
            Map<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).close(fdA).submit(results::put, null);
            awaitInKernel(engine, 2);
            fileA.close();
            List<AuraFile> reusers = openUntilNumberReused(b, fdA);
            try {
                fifo.write(ByteBuffer.wrap("fifo!".getBytes(StandardCharsets.US_ASCII)), 0);
                awaitCallbacks(results, 2);
                assertThat(results.get(rs[1])).isIn(ECANCELED, EBADF);
                // The file that reused the number is still open: a write through it works.
                assertThat(reusers.getLast().write(ByteBuffer.wrap(new byte[] {1}), 0)).isEqualTo(1);
            } finally {
                closeAll(reusers);
            }
        }
    }

    @Test
    void aChainAsLongAsTheQueueDepthRunsAndOneLongerIsRefused() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[0]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            int depth = engine.options().queueDepth();
            RequestChain chain = engine.chain();
            for (int i = 0; i < depth; i++) {
                chain.write(fd, BufferRef.of(arena.allocateFrom(String.valueOf((char) ('a' + i)),
                        StandardCharsets.US_ASCII).asSlice(0, 1)), 1, i);
            }
            long[] r = get(chain.submitAsync());
            assertThat(r).hasSize(depth).containsOnly(1L);
            assertThat(Files.readString(file)).isEqualTo("abcdefghijklmnop".substring(0, depth));
            RequestChain tooLong = engine.chain();
            for (int i = 0; i <= depth; i++) {
                tooLong.fsync(fd);
            }
            assertThatThrownBy(tooLong::submitAsync).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> engine.chain().submit(null, null)).isInstanceOf(IllegalStateException.class);
            // A chain of one is a plain request.
            assertThat(get(engine.chain().fsync(fd).submitAsync())).containsExactly(0);
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void aFirstLinkThatFailsCancelsEveryLaterOneExactlyOnce() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[8]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try (Buffer buf = engine.allocateBuffer(8)) {
            for (int badFd : new int[] {1_000_000, 999_999}) {
                Map<Request, AtomicInteger> calls = new ConcurrentHashMap<>();
                Map<Request, Long> results = new ConcurrentHashMap<>();
                Request[] rs = engine.chain().read(badFd, buf.ref(), 8, 0).read(fd, buf.ref(), 8, 0).fsync(fd)
                        .write(fd, buf.ref(), 8, 0).submit((r, res) -> {
                            calls.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet();
                            results.put(r, res);
                        }, null);
                awaitCallbacks(results, 4);
                engine.drain(100);
                assertThat(results.get(rs[0])).isEqualTo(EBADF);
                for (int i = 1; i < 4; i++) {
                    assertThat(results.get(rs[i])).isEqualTo(ECANCELED);
                    assertThat(rs[i].isPending()).isFalse();
                    assertThat(engine.cancel(rs[i])).isFalse();
                }
                assertThat(calls.values()).allMatch(c -> c.get() == 1);
            }
            // A read of a directory: EISDIR, the future names it.
            int dirFd = get(engine.openatAsync(dir.path(), READ));
            try {
                assertThat(errno(engine.chain().read(dirFd, buf.ref(), 8, 0).fsync(fd).submitAsync()))
                        .isEqualTo(EISDIR);
            } finally {
                get(engine.closeAsync(dirFd));
            }
        } finally {
            get(engine.closeAsync(fd));
        }
        assertThat(engine.pendingCount()).isZero();
    }

    @Test
    void cancelRacingCompletionNeverLosesNorRepeatsACallback() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[4096]);
        int fd = get(engine.openatAsync(file, READ));
        try (Buffer buf = engine.allocateBuffer(4096)) {
            for (int i = 0; i < 1000; i++) {
                AtomicInteger calls = new AtomicInteger();
                long[] result = {Long.MIN_VALUE};
                Request r = engine.read(fd, buf.ref(), 4096, 0, (q, res) -> {
                    calls.incrementAndGet();
                    result[0] = res;
                });
                CountDownLatch go = new CountDownLatch(1);
                Thread canceller = Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        engine.cancel(r);
                        engine.cancel(r);
                    } catch (InterruptedException | AuraIOException e) {
                        throw new AssertionError(e);
                    }
                });
                go.countDown();
                TestSupport.awaitCondition("callback " + i, () -> {
                    engine.poll();
                    return calls.get() > 0;
                });
                canceller.join(HANG.toMillis());
                engine.poll();
                assertThat(calls.get()).isEqualTo(1);
                assertThat(result[0]).isIn(4096L, ECANCELED);
                assertThat(r.isPending()).isFalse();
                assertThat(engine.cancel(r)).isFalse();
            }
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void syncRequestsGiveTheErrnoOfFsync() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[8]);
        int ro = get(engine.openatAsync(file, READ));
        int dirFd = get(engine.openatAsync(dir.path(), READ));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            assertThat(get(engine.fsyncAsync(ro))).isZero();
            assertThat(get(engine.fdatasyncAsync(ro))).isZero();
            assertThat(get(engine.fsyncAsync(dirFd))).isZero();
            assertThat(errno(engine.fsyncAsync(fifo.fd()))).isEqualTo(EINVAL);
            assertThat(errno(engine.fdatasyncAsync(fifo.fd()))).isEqualTo(EINVAL);
            assertThat(errno(engine.fsyncAsync(1_000_000))).isEqualTo(EBADF);
            // As sync_file_range(2), fallocate(2), posix_fadvise(3) and ftruncate(2) answer (6.18).
            int fifoFd = fifo.fd();
            assertThat(errno(engine.syncFileRangeAsync(fifoFd, 0, 0, SyncRangeFlag.WRITE))).isEqualTo(ESPIPE);
            assertThat(errno(engine.fallocateAsync(fifoFd, 0, 10, AllocateMode.ALLOCATE))).isEqualTo(ESPIPE);
            assertThat(errno(engine.fadviseAsync(fifoFd, 0, 0, Advice.SEQUENTIAL))).isEqualTo(ESPIPE);
            assertThat(errno(engine.ftruncateAsync(fifoFd, 1))).isEqualTo(EINVAL);
            assertThat(get(engine.syncFileRangeAsync(ro, 0, 0, SyncRangeFlag.WRITE))).isZero();
            assertThat(errno(engine.fallocateAsync(ro, 0, 10, AllocateMode.ALLOCATE))).isEqualTo(EBADF);
            assertThat(errno(engine.ftruncateAsync(ro, 1))).isEqualTo(EINVAL);
            assertThat(get(engine.fdatasyncAsync(dirFd))).isZero();
            assertThat(get(engine.syncFileRangeAsync(dirFd, 0, 0, SyncRangeFlag.WRITE))).isZero();
            assertThat(errno(engine.fallocateAsync(dirFd, 0, 10, AllocateMode.ALLOCATE))).isEqualTo(EBADF);
            assertThat(errno(engine.ftruncateAsync(dirFd, 1))).isEqualTo(EINVAL);
            assertThat(get(engine.fadviseAsync(dirFd, 0, 0, Advice.SEQUENTIAL))).isZero();
            // In a chain, the same errno, and the links after it cancelled.
            assertThat(errno(engine.chain().fsync(ro).fsync(fifoFd).fsync(ro).submitAsync())).isEqualTo(EINVAL);
        } finally {
            get(engine.closeAsync(ro));
            get(engine.closeAsync(dirFd));
        }
    }
    @Test
    void cancellingChainLinksWhileTheyCompleteCompletesEachExactlyOnce() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[4096]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try (Buffer buf = engine.allocateBuffer(4096)) {
            for (int i = 0; i < 300; i++) {
                Map<Request, AtomicInteger> calls = new ConcurrentHashMap<>();
                Map<Request, Long> results = new ConcurrentHashMap<>();
                Request[] rs = engine.chain().read(fd, buf.ref(), 4096, 0).write(fd, buf.ref(), 4096, 0).fsync(fd)
                        .submit((r, res) -> {
                            calls.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet();
                            results.put(r, res);
                        }, null);
                Request target = rs[i % 3];
                Thread canceller = Thread.ofPlatform().start(() -> {
                    try {
                        engine.cancel(target);
                        engine.cancel(target);
                    } catch (AuraIOException e) {
                        throw new AssertionError(e);
                    }
                });
                awaitCallbacks(results, 3);
                canceller.join(HANG.toMillis());
                engine.poll();
                assertThat(calls.values()).as("iteration " + i).hasSize(3).allMatch(c -> c.get() == 1);
                // Once a link failed, every later one is cancelled.
                for (int k = 1; k < 3; k++) {
                    if (results.get(rs[k - 1]) < 0) {
                        assertThat(results.get(rs[k])).as("iteration " + i + " link " + k).isEqualTo(ECANCELED);
                    }
                }
            }
        } finally {
            get(engine.closeAsync(fd));
        }
        assertThat(engine.pendingCount()).isZero();
    }

    @Test
    void cancellingALinkThatWaitsInTheKernelLetsItRunAsDocumented() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[0]);
        int out = get(engine.openatAsync(file, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            Map<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).write(out, buf.ref(), 5, 0)
                    .submit(results::put, null);
            awaitInKernel(engine, 2);
            assertThat(engine.cancel(rs[1])).isTrue();
            assertThat(engine.cancel(rs[1])).isTrue();
            fifo.write(ByteBuffer.wrap("fifo!".getBytes(StandardCharsets.US_ASCII)), 0);
            awaitCallbacks(results, 2);
            assertThat(results.get(rs[0])).isEqualTo(5);
            assertThat(results.get(rs[1])).isEqualTo(5);
            assertThat(engine.cancel(rs[0])).isFalse();
            assertThat(engine.cancel(rs[1])).isFalse();
        } finally {
            get(engine.closeAsync(out));
        }
        assertThat(Files.readString(file)).isEqualTo("fifo!");
    }

    @Test
    void callbacksOfAChainMaySubmitChains() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[0]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try (Buffer buf = engine.allocateBuffer(1)) {
            AtomicInteger done = new AtomicInteger();
            AtomicInteger failures = new AtomicInteger();
            Callback[] again = new Callback[1];
            again[0] = (r, res) -> {
                if (res < 0) {
                    failures.incrementAndGet();
                }
                if (r.attachment() != null && done.incrementAndGet() < 100) {
                    try {
                        engine.chain().write(fd, buf.ref(), 1, done.get()).fdatasync(fd).submit(again[0], null);
                        engine.chain().fsync(fd).submit(again[0], "next");
                    } catch (AuraIOException e) {
                        failures.incrementAndGet();
                    }
                }
            };
            engine.chain().fsync(fd).submit(again[0], "next");
            long deadline = System.nanoTime() + HANG.toNanos();
            while (done.get() < 100) {
                engine.await(100);
                assertThat(System.nanoTime()).isLessThan(deadline);
            }
            engine.drain(HANG.toMillis());
            assertThat(failures).hasValue(0);
            assertThat(Files.size(file)).isEqualTo(100);
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void aChainQueuedWhenTheEngineClosesEndsWithEshutdownOnEveryLink() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build());
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        Buffer buf = engine.allocateBuffer(5);
        CompletableFuture<Long> read = engine.readAsync(fifo.fd(), buf.ref(), 5, 0);
        awaitInKernel(engine, 1);
        Map<Request, AtomicInteger> calls = new ConcurrentHashMap<>();
        Map<Request, Long> results = new ConcurrentHashMap<>();
        Request[] rs = engine.chain().fsync(fd).fdatasync(fd).write(fd, buf.ref(), 1, 0).submit((r, res) -> {
            calls.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet();
            results.put(r, res);
        }, null);
        CompletableFuture<long[]> f = engine.chain().fsync(fd).fsync(fd).submitAsync();
        engine.close();
        assertThat(results).hasSize(3);
        assertThat(calls.values()).allMatch(c -> c.get() == 1);
        for (Request r : rs) {
            assertThat(results.get(r)).isIn(-108L, ECANCELED); // ESHUTDOWN
            assertThat(r.isPending()).isFalse();
        }
        assertThat(errno(f)).isEqualTo(-108L);
        assertThat(errno(read)).isEqualTo(-108L);
        fifo.file().close();
        buf.close();
        assertThatThrownBy(() -> engine.chain().fsync(fd).submit(null, null)).isInstanceOf(AuraIOException.class);
    }
    @Test
    void chainsSubmittedWhileTheEngineClosesAllCompleteExactlyOnce() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        for (int round = 0; round < 20; round++) {
            Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(16).build());
            Map<Request, AtomicInteger> calls = new ConcurrentHashMap<>();
            AtomicInteger submitted = new AtomicInteger();
            List<CompletableFuture<long[]>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch started = new CountDownLatch(4);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int kind = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    started.countDown();
                    while (true) {
                        try {
                            if (kind % 2 == 0) {
                                Request[] rs = e.chain().fsync(fd).fdatasync(fd).fsync(fd).submit((r, res) ->
                                        calls.computeIfAbsent(r, k -> new AtomicInteger()).incrementAndGet(), null);
                                submitted.addAndGet(rs.length);
                            } else {
                                CompletableFuture<long[]> f = e.chain().fsync(fd).fsync(fd).submitAsync();
                                futures.add(f);
                                if (f.isCompletedExceptionally() && e.isClosed()) {
                                    return; // refused: submitAsync tells ESHUTDOWN through the future
                                }
                            }
                        } catch (AuraIOException x) {
                            if (x.isShutdown()) {
                                return;
                            }
                            Thread.onSpinWait(); // EAGAIN: the ring is full
                            e.poll();
                        }
                        if (kind % 2 == 0) {
                            e.poll();
                        }
                    }
                }));
            }
            started.await();
            Thread.sleep(round % 5);
            e.close();
            for (Thread t : threads) {
                t.join(HANG.toMillis());
                assertThat(t.getState() != Thread.State.TERMINATED).isFalse();
            }
            TestSupport.awaitCondition("every link's callback", () -> calls.size() == submitted.get());
            assertThat(calls.values()).allMatch(c -> c.get() == 1);
            for (CompletableFuture<long[]> f : futures) {
                try {
                    get(f);
                } catch (ExecutionException x) {
                    AuraIOException cause = (AuraIOException) x.getCause();
                    assertThat(cause.isShutdown() || cause.isAgain()).as(cause.toString()).isTrue();
                }
            }
        }
        get(engine.closeAsync(fd));
    }
    @Test
    void aChainMayMixRegisteredBuffersPoolBuffersAndPlainMemory() throws Exception {
        Path src = Files.write(dir.resolve("src"), "0123456789abcdef".getBytes(StandardCharsets.US_ASCII));
        Path dst = Files.write(dir.resolve("dst"), new byte[0]);
        int in = get(engine.openatAsync(src, READ));
        int out = get(engine.openatAsync(dst, WRITE));
        try (Buffer registered = engine.allocateBuffer(4096); Buffer pooled = engine.allocateBuffer(4096);
             Buffer more = engine.allocateBuffer(4096)) {
            engine.registerBuffers(registered);
            // Shared-arena memory: the write reaches the kernel as a copy made at submission.
            java.lang.foreign.MemorySegment shared = arena.allocateFrom("XYZW", StandardCharsets.US_ASCII)
                    .asSlice(0, 4);
            // A link refused at submission: what the links before it took is given back (the
            // engine's leak check after the test), and nothing is submitted.
            RequestChain tooLong = engine.chain().read(in, BufferRef.fixed(0), 4, 0).read(in, pooled.ref(), 4, 4)
                    .write(out, pooled.ref(), 8192, 0);
            assertThatThrownBy(tooLong::submitAsync).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("exceeds");
            long[] r = get(engine.chain()
                    .read(in, BufferRef.fixed(0), 4, 0)
                    .write(out, BufferRef.fixed(0), 4, 0)
                    .read(in, pooled.ref(), 4, 4)
                    .write(out, pooled.ref(), 4, 4)
                    .read(in, more.ref(), 8, 8)
                    .write(out, more.ref(), 8, 8)
                    .write(out, BufferRef.of(shared), 4, 16)
                    .fdatasync(out).submitAsync());
            assertThat(r).containsExactly(4, 4, 4, 4, 8, 8, 4, 0);
            assertThat(Files.readString(dst)).isEqualTo("0123456789abcdefXYZW");
        } finally {
            engine.unregisterBuffers();
            get(engine.closeAsync(in));
            get(engine.closeAsync(out));
        }
    }
    /**
     * The refusal of "read, then write" through copied memory named a confined arena's memory as
     * a way out, which every chain refuses (a confined arena's owner may close it while the kernel
     * uses it): the advice must name only memory a chain takes.
     */
    @Test
    void aRefusedReadThenWriteChainAdvisesOnlyMemoryAChainTakes() throws Exception {
        Path src = Files.write(dir.resolve("src"), new byte[8]);
        int in = get(engine.openatAsync(src, READ, WRITE));
        try (Arena confined = Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate(8);
            assertThatThrownBy(engine.chain().read(in, BufferRef.of(seg), 8, 0).write(in, BufferRef.of(seg), 8, 0)
                    ::submitAsync).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("use a Buffer").hasMessageNotContaining("confined");
            java.lang.foreign.MemorySegment own = confined.allocate(8);
            assertThatThrownBy(engine.chain().read(in, BufferRef.of(own), 8, 0).write(in, BufferRef.of(own), 8, 0)
                    ::submitAsync).isInstanceOf(IllegalStateException.class).hasMessageContaining("confined");
            // What it advises works: the global arena's memory (8 bytes, for the JVM's life).
            java.lang.foreign.MemorySegment global = Arena.global().allocate(8);
            assertThat(get(engine.chain().read(in, BufferRef.of(global), 8, 0).write(in, BufferRef.of(global), 8, 8)
                    .submitAsync())).containsExactly(8, 8);
        } finally {
            get(engine.closeAsync(in));
        }
    }
    @Test
    void closingAFileCancelsAHeldBackChainWhoseLaterLinkClosesIt() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build());
        Path a = Files.write(dir.resolve("a"), new byte[0]);
        Path b = Files.write(dir.resolve("b"), new byte[0]);
        Path other = Files.write(dir.resolve("other"), new byte[1]);
        int otherFd = get(engine.openatAsync(other, READ, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            // The FIFO read takes the ring's one in-flight place: the chain is held back behind it.
            CompletableFuture<Long> read = engine.readAsync(fifo.fd(), buf.ref(), 5, 0);
            awaitInKernel(engine, 1);
            AuraFile fileA = AuraFile.open(engine, a, WRITE);
            int fdA = fileA.fd();
            Map<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().fsync(otherFd).close(fdA).submit(results::put, null);
            fileA.close();
            List<AuraFile> reusers = openUntilNumberReused(b, fdA);
            try {
                fifo.write(ByteBuffer.wrap("fifo!".getBytes(StandardCharsets.US_ASCII)), 0);
                assertThat(get(read)).isEqualTo(5);
                awaitCallbacks(results, 2);
                assertThat(results.get(rs[1])).isIn(ECANCELED, EBADF);
                assertThat(reusers.getLast().write(ByteBuffer.wrap(new byte[] {1}), 0)).isEqualTo(1);
            } finally {
                closeAll(reusers);
            }
        } finally {
            get(engine.closeAsync(otherFd));
        }
    }
    /**
     * A cancelled chain held back behind another held-back request (behind a FIFO read that holds
     * the ring's one in-flight place) completes at once, as a single request does there; it
     * waited for the FIFO's data.
     */
    @Test
    void cancellingAChainHeldBackBehindAnotherRequestCompletesItAtOnce() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build());
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            CompletableFuture<Long> read = engine.readAsync(fifo.fd(), buf.ref(), 5, 0);
            awaitInKernel(engine, 1);
            CompletableFuture<Long> single = engine.fsyncAsync(fd); // held back: the head of the list
            Map<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().fsync(fd).fdatasync(fd).submit(results::put, null);
            assertThat(engine.cancel(rs[0])).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (results.size() < 2 && System.nanoTime() < deadline) {
                engine.await(100);
            }
            assertThat(results).as("the cancelled chain's callbacks, with the FIFO still empty").hasSize(2);
            assertThat(results.values()).containsOnly(ECANCELED);
            assertThat(single).isNotDone();
            fifo.write(ByteBuffer.wrap(new byte[5]), 0);
            assertThat(get(read)).isEqualTo(5);
            assertThat(get(single)).isZero();
        } finally {
            get(engine.closeAsync(fd));
        }
    }
}
