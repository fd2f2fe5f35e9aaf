package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Linked requests ({@link RequestChain}, {@code IOSQE_IO_LINK}) on real files and FIFOs: order,
 * the kernel's ECANCELED for the links after a failure (and after a short transfer), cancel and
 * close of a chain in the kernel, the all-or-nothing slot reservation, and the limits.
 */
@ExtendWith(IoUringAvailable.class)
class RequestChainTest {
    private static final long ECANCELED = -125;
    private static final long EBADF = -9;

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

    private static AuraIOException failure(CompletableFuture<?> f) throws Exception {
        try {
            Object v = get(f);
            throw new AssertionError("completed normally with " + v);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(AuraIOException.class);
            return (AuraIOException) e.getCause();
        }
    }

    private MemorySegment bytes(String s) {
        return arena.allocateFrom(s, StandardCharsets.US_ASCII).asSlice(0, s.length());
    }

    /** Runs callbacks until {@code results} holds {@code n} entries. */
    private void awaitCallbacks(ConcurrentHashMap<Request, Long> results, int n) throws Exception {
        long deadline = System.nanoTime() + HANG.toNanos();
        while (results.size() < n) {
            engine.await(100);
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + results.size() + " of " + n + " callbacks ran");
            }
        }
    }

    @Test
    void writeThenFdatasyncSucceedsAsOneUnit() throws Exception {
        Path file = dir.resolve("f");
        int fd = get(engine.openatAsync(file, java.nio.file.StandardOpenOption.CREATE, WRITE));
        try {
            long[] r = get(engine.chain().write(fd, BufferRef.of(bytes("hello")), 5, 0)
                    .write(fd, BufferRef.of(bytes(" world")), 6, 5).fdatasync(fd).submitAsync());
            assertThat(r).containsExactly(5, 6, 0);
        } finally {
            get(engine.closeAsync(fd));
        }
        assertThat(Files.readString(file)).isEqualTo("hello world");
    }

    @Test
    void aChainThatClosesARegisteredDescriptorWritesThroughItFirst() throws Exception {
        Path file = dir.resolve("f");
        int fd = get(engine.openatAsync(file, java.nio.file.StandardOpenOption.CREATE, WRITE));
        engine.registerFiles(fd);
        try {
            long[] r = get(engine.chain().write(fd, BufferRef.of(bytes("abc")), 3, 0).fsync(fd).close(fd)
                    .submitAsync());
            assertThat(r).containsExactly(3, 0, 0);
        } finally {
            engine.unregisterFiles();
        }
        assertThat(Files.readString(file)).isEqualTo("abc");
    }

    @Test
    void readThenWriteCopiesAFile() throws Exception {
        byte[] data = new byte[64 * 1024];
        new java.util.Random(7).nextBytes(data);
        Path src = Files.write(dir.resolve("src"), data);
        Path dst = dir.resolve("dst");
        int in = get(engine.openatAsync(src, READ));
        int out = get(engine.openatAsync(dst, java.nio.file.StandardOpenOption.CREATE, WRITE));
        try (Buffer buf = engine.allocateBuffer(data.length)) {
            ConcurrentHashMap<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().read(in, buf.ref(), data.length, 0)
                    .write(out, buf.ref(), data.length, 0).close(out)
                    .submit((request, result) -> results.put(request, result), "copy");
            assertThat(rs).hasSize(3);
            assertThat(rs[0].attachment()).isEqualTo("copy");
            awaitCallbacks(results, 3);
            assertThat(results.get(rs[0])).isEqualTo(data.length);
            assertThat(results.get(rs[1])).isEqualTo(data.length);
            assertThat(results.get(rs[2])).isZero();
        } finally {
            get(engine.closeAsync(in));
        }
        assertThat(Files.readAllBytes(dst)).isEqualTo(data);
    }

    @Test
    void aFailedLinkCancelsTheRestAsTheKernelDoes() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[10]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            // A write to a descriptor that is not open fails; the fsync and write after it never run.
            ConcurrentHashMap<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().write(123_456, BufferRef.of(bytes("x")), 1, 0).fsync(fd)
                    .write(fd, BufferRef.of(bytes("y")), 1, 0).submit((r, res) -> results.put(r, res), null);
            awaitCallbacks(results, 3);
            assertThat(results.get(rs[0])).isEqualTo(EBADF);
            assertThat(results.get(rs[1])).isEqualTo(ECANCELED);
            assertThat(results.get(rs[2])).isEqualTo(ECANCELED);
            assertThat(Files.readAllBytes(file)).containsOnly((byte) 0);

            AuraIOException e = failure(engine.chain().fsync(123_456).write(fd, BufferRef.of(bytes("y")), 1, 0)
                    .submitAsync());
            assertThat(e.errno()).isEqualTo(9);
            assertThat(e.getMessage()).contains("chain request 0 of 2 (fsync)");
            assertThat(Files.readAllBytes(file)).containsOnly((byte) 0);
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void aShortReadBreaksTheChain() throws Exception {
        Path src = Files.write(dir.resolve("src"), new byte[100]);
        Path dst = Files.write(dir.resolve("dst"), new byte[0]);
        int in = get(engine.openatAsync(src, READ));
        int out = get(engine.openatAsync(dst, WRITE));
        try (Buffer buf = engine.allocateBuffer(4096)) {
            AuraIOException e = failure(engine.chain().read(in, buf.ref(), 4096, 0)
                    .write(out, buf.ref(), 4096, 0).submitAsync());
            assertThat(e.errno()).isEqualTo(125);
            assertThat(e.getMessage()).contains("transferred 100 of 4096 bytes");
        } finally {
            get(engine.closeAsync(in));
            get(engine.closeAsync(out));
        }
        assertThat(Files.size(dst)).isZero();
    }

    @Test
    void aLinkStartsOnlyWhenTheOneBeforeItHasCompleted() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[0]);
        int out = get(engine.openatAsync(file, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            CompletableFuture<long[]> f = engine.chain().read(fifo.fd(), buf.ref(), 5, 0)
                    .write(out, buf.ref(), 5, 0).submitAsync();
            awaitInKernel(engine, 2); // both are in the kernel; the write waits for the read
            Thread.sleep(50);
            assertThat(Files.size(file)).as("the write ran before the read completed").isZero();
            assertThat(f).isNotDone();
            fifo.write(ByteBuffer.wrap("fifo!".getBytes(StandardCharsets.US_ASCII)), 0);
            assertThat(get(f)).containsExactly(5, 5);
        } finally {
            get(engine.closeAsync(out));
        }
        assertThat(Files.readString(file)).isEqualTo("fifo!");
    }

    @Test
    void cancellingAChainInTheKernelCancelsTheRest() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[0]);
        int out = get(engine.openatAsync(file, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            ConcurrentHashMap<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().read(fifo.fd(), buf.ref(), 5, 0)
                    .write(out, buf.ref(), 5, 0).submit((r, res) -> results.put(r, res), null);
            awaitInKernel(engine, 2);
            assertThat(rs[0].isPending()).isTrue();
            assertThat(engine.cancel(rs[0])).isTrue();
            awaitCallbacks(results, 2);
            assertThat(results.get(rs[0])).isIn(ECANCELED, -4L); // EINTR: a read interrupted in the kernel
            assertThat(results.get(rs[1])).isEqualTo(ECANCELED);
        } finally {
            get(engine.closeAsync(out));
        }
        assertThat(Files.size(file)).isZero();
    }

    @Test
    void cancellingAHeldBackChainCompletesEveryLinkWithoutTheKernel() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build());
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            // The FIFO read takes the ring's one in-flight place: the chain is held back behind it.
            CompletableFuture<Long> read = engine.readAsync(fifo.fd(), buf.ref(), 5, 0);
            awaitInKernel(engine, 1);
            ConcurrentHashMap<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().fsync(fd).fdatasync(fd).submit((r, res) -> results.put(r, res), null);
            assertThat(rs[1].isPending()).isTrue();
            assertThat(engine.cancel(rs[1])).isTrue(); // a later link: the whole chain goes
            awaitCallbacks(results, 2);
            assertThat(results.get(rs[0])).isEqualTo(ECANCELED);
            assertThat(results.get(rs[1])).isEqualTo(ECANCELED);
            assertThat(read).isNotDone();
            fifo.write(ByteBuffer.wrap(new byte[5]), 0);
            assertThat(get(read)).isEqualTo(5);
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void closingTheEngineEndsAChainInTheKernel() throws Exception {
        Path fifoPath = dir.resolve("fifo");
        FifoFile fifo = openFifo(engine, fifoPath);
        Buffer buf = engine.allocateBuffer(5);
        CompletableFuture<long[]> f = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).fsync(fifo.fd())
                .submitAsync();
        awaitInKernel(engine, 2);
        engine.close();
        AuraIOException e = failure(f);
        assertThat(e.isShutdown()).isTrue();
        buf.close();
        fifo.close();
    }

    @Test
    void aChainTakesItsSlotsAllOrNone() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(4).build());
        int fd = get(engine.openatAsync(Files.write(dir.resolve("f"), new byte[1]), READ, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            CompletableFuture<long[]> held = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).fsync(fd)
                    .fsync(fd).submitAsync();
            awaitInKernel(engine, 3);
            // Two more need two slots; one is left: refused whole, nothing queued.
            RequestChain two = engine.chain().fsync(fd).fsync(fd);
            assertThat(failure(two.submitAsync()).isAgain()).isTrue(); // the future form, as readAsync
            assertThatThrownBy(() -> engine.chain().fsync(fd).fsync(fd).submit(null, null))
                    .isInstanceOf(AuraIOException.class)
                    .satisfies(x -> assertThat(((AuraIOException) x).isAgain()).isTrue());
            assertThat(engine.pendingCount()).isEqualTo(3);
            // One fits.
            assertThat(get(engine.chain().fsync(fd).submitAsync())).containsExactly(0);
            fifo.write(ByteBuffer.wrap(new byte[5]), 0);
            assertThat(get(held)).containsExactly(5, 0, 0);
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    /** EAGAIN says "not now", as for a single request: the refused chain is submitted again later. */
    @Test
    void aChainRefusedWithEagainCanBeSubmittedAgain() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(4).build());
        int fd = get(engine.openatAsync(Files.write(dir.resolve("f"), new byte[1]), READ, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            CompletableFuture<long[]> held = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).fsync(fd)
                    .fsync(fd).submitAsync();
            awaitInKernel(engine, 3);
            RequestChain future = engine.chain().fsync(fd).fdatasync(fd);
            assertThat(failure(future.submitAsync()).isAgain()).isTrue();
            RequestChain callback = engine.chain().fdatasync(fd).fsync(fd);
            assertThatThrownBy(() -> callback.submit(null, null)).isInstanceOf(AuraIOException.class)
                    .satisfies(x -> assertThat(((AuraIOException) x).isAgain()).isTrue());
            fifo.write(ByteBuffer.wrap(new byte[5]), 0);
            assertThat(get(held)).containsExactly(5, 0, 0);
            assertThat(get(future.submitAsync())).containsExactly(0, 0);
            ConcurrentHashMap<Request, Long> results = new ConcurrentHashMap<>();
            callback.submit((r, result) -> results.put(r, result), null);
            awaitCallbacks(results, 2);
            assertThat(results.values()).containsOnly(0L);
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void aChainLongerThanTheInFlightLimitStillRuns() throws Exception {
        engine.close();
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(8).initialInFlight(1).minInFlight(1)
                .disableAdaptive(true).build());
        Path file = Files.write(dir.resolve("f"), new byte[1]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            RequestChain chain = engine.chain();
            for (int i = 0; i < 8; i++) {
                chain.fdatasync(fd);
            }
            long[] r = get(chain.submitAsync());
            assertThat(r).hasSize(8).containsOnly(0);
            // And with other requests in flight around it.
            CompletableFuture<?>[] many = new CompletableFuture<?>[4];
            for (int i = 0; i < many.length; i++) {
                many[i] = engine.chain().fsync(fd).fdatasync(fd).submitAsync();
            }
            for (CompletableFuture<?> f : many) {
                assertThat((long[]) get(f)).containsExactly(0, 0);
            }
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    @Test
    void badChainsAreRefusedBeforeAnythingIsSubmitted() throws Exception {
        assertThatThrownBy(() -> engine.chain().submitAsync()).isInstanceOf(IllegalStateException.class);
        RequestChain tooLong = engine.chain();
        for (int i = 0; i < 17; i++) {
            tooLong.fsync(0);
        }
        assertThatThrownBy(tooLong::submitAsync).isInstanceOf(IllegalArgumentException.class);
        RequestChain once = engine.chain().fsync(0);
        get(once.submitAsync().exceptionally(t -> null));
        assertThatThrownBy(once::submitAsync).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> once.fsync(0)).isInstanceOf(IllegalStateException.class);
        // A bad link: nothing is submitted, and the memory of the links before it goes back.
        try (Buffer buf = engine.allocateBuffer(4096)) {
            RequestChain bad = engine.chain().write(0, buf.ref(), 4096, 0).write(0, buf.ref(), 8192, 0);
            assertThatThrownBy(bad::submitAsync).isInstanceOf(IllegalArgumentException.class);
            Arena confined = Arena.ofConfined();
            MemorySegment m = confined.allocate(16);
            RequestChain confinedChain = engine.chain().write(0, buf.ref(), 1, 0).write(0, BufferRef.of(m), 16, 0);
            assertThatThrownBy(confinedChain::submitAsync).isInstanceOf(IllegalStateException.class);
            confined.close();
        }
        assertThat(engine.pendingCount()).isZero();
    }
}
