package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
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
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review of the buffers the Engine API hands out and takes ({@link Buffer}, {@link BufferRef},
 * the pool and its copies): the kernel never reads or writes memory that was freed or handed to
 * someone else, and every pool buffer comes back.
 */
@ExtendWith(IoUringAvailable.class)
@Timeout(120)
class BufferReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(1).build());
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /**
     * A Buffer closed while a read into it waits in the kernel, the data arriving afterwards: the
     * read completes with its bytes (into the memory it held), no buffer allocated meanwhile is
     * written, and the memory goes back to the pool only once the read is done.
     */
    @Test
    void dataArrivingAfterABufferIsClosedNeverReachesAnotherBuffer() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Buffer buf = engine.allocateBuffer(4096);
            long address = buf.segment().address();
            CompletableFuture<Long> f = engine.readAsync(fifo.fd(), buf.ref(), 16, 0);
            awaitInKernel(engine, 1);
            buf.close();
            buf.close(); // twice: nothing more happens
            assertThat(buf.isClosed()).isTrue();
            assertThat(engine.bufferStats().totalBuffers()).as("held by the read").isEqualTo(1);
            List<Buffer> fresh = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Buffer b = engine.allocateBuffer(4096);
                assertThat(b.segment().address()).isNotEqualTo(address);
                b.segment().fill((byte) 0);
                fresh.add(b);
            }
            fifo.write(ByteBuffer.wrap(ascii("0123456789abcdef")), 0);
            assertThat(get(f)).isEqualTo(16);
            for (Buffer b : fresh) {
                assertThat(b.segment().toArray(JAVA_BYTE)).containsOnly((byte) 0);
                b.close();
            }
            awaitCondition("the read's buffer back in the pool", () -> engine.bufferStats().totalBuffers() == 0);
            assertThat(engine.bufferStats().totalAllocatedBytes()).isZero();
            // The pool hands the memory out again, now that the kernel is done with it.
            try (Buffer again = engine.allocateBuffer(4096)) {
                assertThat(again.segment().byteSize()).isEqualTo(4096);
            }
        }
    }

    /** A closed Buffer, its ref, its segment or a slice of it in new requests: clear exceptions, nothing held. */
    @Test
    void aClosedBufferIsRefusedByEveryKindOfRequest() throws Exception {
        Path path = dir.resolve("data");
        Files.write(path, randomBytes(8192, 3));
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE)) {
            Buffer buf = engine.allocateBuffer(8192);
            BufferRef ref = buf.ref();
            MemorySegment slice = buf.segment().asSlice(100, 100);
            buf.close();
            int fd = file.fd();
            assertThatThrownBy(() -> engine.read(fd, ref, 10, 0, null)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(() -> engine.writeAsync(fd, ref, 10, 0)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(() -> engine.readAsync(fd, BufferRef.of(slice), 10, 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> engine.readvAsync(fd, new MemorySegment[] {slice}, 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThatThrownBy(() -> engine.registerBuffers(buf)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
            assertThatThrownBy(() -> engine.chain().read(fd, ref, 10, 0).submitAsync())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThat(engine.pendingCount()).isZero();
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    /**
     * A slice of a Buffer's segment through {@link BufferRef#of}: the Buffer is not held, so the
     * kernel gets a copy; closing the Buffer while the read waits loses the bytes (EFAULT), writes
     * no other buffer, and every copy comes back.
     */
    @Test
    void aSliceOfABufferWithoutItsOwnerIsCopiedAndItsCloseMidReadLosesOnlyItsBytes() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Buffer buf = engine.allocateBuffer(4096);
            CompletableFuture<Long> f = engine.readAsync(fifo.fd(), BufferRef.of(buf.segment().asSlice(64, 16)), 16, 0);
            awaitInKernel(engine, 1);
            buf.close();
            assertThat(engine.bufferStats().totalBuffers()).as("only the copy").isEqualTo(1);
            try (Buffer other = engine.allocateBuffer(4096)) {
                other.segment().fill((byte) 0);
                fifo.write(ByteBuffer.wrap(ascii("0123456789abcdef")), 0);
                assertThatThrownBy(() -> get(f)).hasCauseInstanceOf(AuraIOException.class)
                        .cause().satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(14));
                assertThat(other.segment().toArray(JAVA_BYTE)).containsOnly((byte) 0);
            }
            awaitCondition("every copy back", () -> engine.bufferStats().totalBuffers() == 0);
        }
    }

    /**
     * An automatic arena's memory whose only reference is the request: the request keeps it
     * reachable through garbage collections while the read waits, and the bytes arriving late land
     * in it.
     */
    @Test
    void anAutomaticArenasMemoryReferencedOnlyByTheRequestSurvivesCollections() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            // The memory lives as long as its scope is reachable (not the segment object: slices share the scope).
            MemorySegment segment = Arena.ofAuto().allocate(4096);
            long address = segment.address();
            WeakReference<MemorySegment.Scope> weak = new WeakReference<>(segment.scope());
            CompletableFuture<Long> f = engine.readAsync(fifo.fd(), BufferRef.of(segment), 16, 0);
            segment = null; // the request's reference is the only one left
            awaitInKernel(engine, 1);
            for (int i = 0; i < 10; i++) {
                System.gc();
                Thread.sleep(20);
            }
            MemorySegment.Scope still = weak.get(); // held from here on: the memory stays allocated
            assertThat(still).as("the memory's scope, referenced only by the request").isNotNull();
            assertThat(still.isAlive()).isTrue();
            fifo.write(ByteBuffer.wrap(ascii("0123456789abcdef")), 0);
            assertThat(get(f)).isEqualTo(16);
            MemorySegment view = MemorySegment.ofAddress(address).reinterpret(16);
            assertThat(new String(view.toArray(JAVA_BYTE), java.nio.charset.StandardCharsets.US_ASCII))
                    .isEqualTo("0123456789abcdef");
            assertThat(still.isAlive()).isTrue(); // and reachable until the bytes were read
        }
    }

    /**
     * A direct ByteBuffer's memory (freed by a Cleaner once the buffer is unreachable) whose only
     * reference is the request: the buffer stays reachable through collections while the read
     * waits, and the late bytes land in it.
     */
    @Test
    void aDirectByteBufferReferencedOnlyByTheRequestSurvivesCollections() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            WeakReference<ByteBuffer> weak = new WeakReference<>(direct);
            CompletableFuture<Long> f = engine.readAsync(fifo.fd(), BufferRef.of(MemorySegment.ofBuffer(direct)), 16, 0);
            direct = null; // the request's reference is the only one left
            awaitInKernel(engine, 1);
            for (int i = 0; i < 10; i++) {
                System.gc();
                Thread.sleep(20);
            }
            ByteBuffer still = weak.get();
            assertThat(still).as("the direct buffer, referenced only by the request").isNotNull();
            fifo.write(ByteBuffer.wrap(ascii("0123456789abcdef")), 0);
            assertThat(get(f)).isEqualTo(16);
            byte[] got = new byte[16];
            still.get(0, got);
            assertThat(new String(got, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("0123456789abcdef");
        }
    }

    /** Bad lengths, offsets and memory: each refused before anything is submitted or held. */
    @Test
    void badArgumentsAreRefusedWithClearExceptionsAndHoldNothing() throws Exception {
        Path path = dir.resolve("data");
        Files.write(path, randomBytes(4096, 4));
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE);
             Buffer buf = engine.allocateBuffer(100);
             Arena confined = Arena.ofConfined()) {
            int fd = file.fd();
            assertThatThrownBy(() -> engine.readAsync(fd, buf.ref(), 101, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds");
            assertThatThrownBy(() -> engine.readAsync(fd, buf.ref(), 10, Long.MAX_VALUE - 5))
                    .isInstanceOf(AuraIOException.class).hasMessageContaining("overflows");
            assertThatThrownBy(() -> engine.readAsync(fd, BufferRef.of(buf.segment().asReadOnly()), 10, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
            assertThatThrownBy(() -> BufferRef.of(MemorySegment.ofArray(new byte[10])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("native");
            assertThatThrownBy(() -> engine.readAsync(fd, BufferRef.of(confined.allocate(10)), 10, 0))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("confined");
            assertThatThrownBy(() -> engine.readvAsync(fd, new MemorySegment[0], 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1024");
            MemorySegment[] tooMany = new MemorySegment[1025];
            Arrays.fill(tooMany, buf.segment().asSlice(0, 1));
            assertThatThrownBy(() -> engine.readvAsync(fd, tooMany, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1024");
            // A zero-length read and write: nothing moves, the buffer is untouched.
            buf.segment().fill((byte) 7);
            assertThat(get(engine.readAsync(fd, buf.ref(), 0, 0))).isZero();
            assertThat(get(engine.writeAsync(fd, buf.ref(), 0, 0))).isZero();
            assertThat(buf.segment().toArray(JAVA_BYTE)).containsOnly((byte) 7);
            assertThat(engine.pendingCount()).isZero();
            assertThat(engine.bufferStats().totalBuffers()).isEqualTo(1);
        }
    }

    /**
     * An iovec array whose lengths add up past Long.MAX_VALUE (segments made with {@code
     * reinterpret}): its total wrapped negative and passed the MAX_RW_COUNT check; with copied
     * memory the copy's allocation then failed with "size must not be negative, was -2" and the
     * iovec array's pool buffer leaked. Refused now, holding nothing.
     */
    @Test
    void anIovecWhoseTotalOverflowsIsRefusedAndHoldsNothing() throws Exception {
        try (Arena shared = Arena.ofShared();
             AuraFile sink = AuraFile.open(engine, Path.of("/dev/null"), WRITE)) {
            MemorySegment huge = shared.allocate(16).reinterpret(Long.MAX_VALUE);
            MemorySegment[] iov = {huge, huge};
            assertThatThrownBy(() -> engine.writevAsync(sink.fd(), iov, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bytes");
            MemorySegment global = MemorySegment.ofAddress(huge.address()).reinterpret(Long.MAX_VALUE);
            assertThatThrownBy(() -> engine.writevAsync(sink.fd(), new MemorySegment[] {global, global}, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bytes");
            assertThat(engine.pendingCount()).isZero();
            assertThat(engine.bufferStats().totalBuffers()).as("pool buffers held").isZero();
        }
    }

    /**
     * writev then readv of IOV_MAX (1024) segments of every kind at once (Buffers, shared, automatic
     * and global memory), odd sizes: the file and the memory match byte for byte, every copy comes back.
     */
    @Test
    void iovMaxSegmentsOfMixedMemoryWriteAndReadBackExactly() throws Exception {
        Path path = dir.resolve("vec");
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE, CREATE);
             Arena shared = Arena.ofShared()) {
            List<Buffer> buffers = new ArrayList<>();
            MemorySegment[] out = new MemorySegment[1024];
            MemorySegment[] in = new MemorySegment[1024];
            int total = 0;
            for (int i = 0; i < 1024; i++) {
                int size = 1 + (i * 37) % 200;
                total += size;
                for (MemorySegment[] side : List.of(out, in)) {
                    side[i] = switch (i % 4) {
                        case 0 -> {
                            Buffer b = engine.allocateBuffer(size + 7);
                            buffers.add(b);
                            yield b.segment().asSlice(7, size);
                        }
                        case 1 -> shared.allocate(size);
                        case 2 -> Arena.ofAuto().allocate(size);
                        default -> Arena.global().allocate(size);
                    };
                }
            }
            byte[] data = randomBytes(total, 5);
            int at = 0;
            for (MemorySegment s : out) {
                MemorySegment.copy(data, at, s, JAVA_BYTE, 0, (int) s.byteSize());
                at += (int) s.byteSize();
            }
            assertThat(get(engine.writevAsync(file.fd(), out, 0))).isEqualTo(total);
            assertThat(Files.readAllBytes(path)).isEqualTo(data);
            assertThat(get(engine.readvAsync(file.fd(), in, 0))).isEqualTo(total);
            at = 0;
            for (MemorySegment s : in) {
                assertThat(s.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(data, at, at + (int) s.byteSize()));
                at += (int) s.byteSize();
            }
            buffers.forEach(Buffer::close);
            awaitCondition("every copy back", () -> engine.bufferStats().totalBuffers() == 0);
        }
    }

    /**
     * Closing the engine with future reads waiting in the kernel into Buffers (closed by their
     * caller), into copied memory and through readv: every Buffer and every copy is back once close
     * returns. They came back later (22 of 32 still out when close returned, 2 runs in 3): a
     * future request gave them back on the virtual thread that completes its future.
     */
    @Test
    void closingTheEngineWithReadsInFlightGivesEveryBufferBack() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             Arena shared = Arena.ofShared()) {
            List<CompletableFuture<Long>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Buffer b = engine.allocateBuffer(4096);
                futures.add(engine.readAsync(fifo.fd(), b.ref(), 16, 0));
                b.close();
                futures.add(engine.readAsync(fifo.fd(), BufferRef.of(shared.allocate(16)), 16, 0));
                futures.add(engine.readvAsync(fifo.fd(), new MemorySegment[] {shared.allocate(8), shared.allocate(8)}, 0));
            }
            awaitInKernel(engine, futures.size());
            engine.close();
            assertThat(engine.bufferStats().totalBuffers()).as("once close returns").isZero();
            for (CompletableFuture<Long> f : futures) {
                assertThatThrownBy(() -> get(f)).hasCauseInstanceOf(AuraIOException.class);
            }
            assertThat(engine.bufferStats().totalAllocatedBytes()).isZero();
        }
    }

    /**
     * A chain that reads into memory through a copy (a Buffer's segment without its owner) and
     * then writes or reads that memory as it is (the Buffer's own ref): the copy reaches the
     * Buffer only when the poller reaps the read, and the kernel ran the next link before that.
     * A FIFO read then write wrote the bytes from before the read with a success (3 times in 5:
     * "----------------" where "0123456789abcdef" was read). Refused, as the mirror case (a
     * copied write after a direct read) is, and nothing is left held.
     */
    @Test
    void aChainWritingABufferStraightAfterACopiedReadIntoItIsRefused() throws Exception {
        byte[] data = ascii("the bytes that were read");
        Path src = Files.write(dir.resolve("src"), data);
        Path dst = dir.resolve("dst");
        try (AuraFile in = AuraFile.open(engine, src, READ);
             AuraFile out = AuraFile.open(engine, dst, READ, WRITE, CREATE);
             Buffer buf = engine.allocateBuffer(data.length)) {
            buf.segment().fill((byte) '-');
            int n = data.length;
            List<RequestChain> chains = List.of(
                    engine.chain().read(in.fd(), BufferRef.of(buf.segment()), n, 0).write(out.fd(), buf.ref(), n, 0),
                    engine.chain().read(in.fd(), BufferRef.of(buf.segment()), n, 0).read(in.fd(), buf.ref(), n, 0));
            for (RequestChain chain : chains) {
                assertThatThrownBy(chain::submitAsync).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("link 1 of the chain");
                assertThat(engine.bufferStats().totalBuffers()).as("only the Buffer held").isEqualTo(1);
            }
            assertThat(Files.size(dst)).isZero();
            // Through the Buffer's own ref both ways, the same chain writes the bytes read.
            long[] results = get(engine.chain().read(in.fd(), buf.ref(), n, 0).write(out.fd(), buf.ref(), n, 0)
                    .submitAsync());
            assertThat(results).containsExactly(n, n);
            assertThat(Files.readAllBytes(dst)).isEqualTo(data);
        }
    }

    /**
     * Requests through a Buffer's ref racing its close from another thread, many rounds: each
     * request either is refused (IllegalStateException) or completes with its bytes; the memory is
     * given back exactly once (the pool never hands one block to two live buffers afterwards), and
     * the counts end at zero.
     */
    @Test
    void requestsRacingABuffersCloseGiveItsMemoryBackExactlyOnce() throws Exception {
        Path path = dir.resolve("data");
        byte[] data = randomBytes(4096, 6);
        Files.write(path, data);
        try (AuraFile file = AuraFile.open(engine, path, READ)) {
            long refused = 0;
            long completed = 0;
            for (int round = 0; round < 200; round++) {
                Buffer buf = engine.allocateBuffer(4096);
                List<CompletableFuture<CompletableFuture<Long>>> submits = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    submits.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            return engine.readAsync(file.fd(), buf.ref(), 4096, 0);
                        } catch (AuraIOException e) {
                            return CompletableFuture.failedFuture(e);
                        }
                    }, r -> Thread.ofVirtual().start(r)));
                }
                buf.close();
                for (CompletableFuture<CompletableFuture<Long>> submit : submits) {
                    try {
                        assertThat(get(get(submit))).isEqualTo(4096);
                        completed++;
                    } catch (java.util.concurrent.ExecutionException e) {
                        assertThat(e.getCause()).isInstanceOf(IllegalStateException.class)
                                .hasMessageContaining("closed");
                        refused++;
                    }
                }
                awaitCondition("the buffer back", () -> engine.bufferStats().totalBuffers() == 0);
            }
            assertThat(refused + completed).isEqualTo(800);
            // A block given back twice would sit twice in the free list: two live buffers would share it.
            List<Buffer> live = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                live.add(engine.allocateBuffer(4096));
            }
            assertThat(live.stream().map(b -> b.segment().address()).distinct().count()).isEqualTo(64);
            live.forEach(Buffer::close);
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    /**
     * Threads write their own pattern through their own Buffers and read it back, while others
     * allocate and close Buffers of the same classes: no request sees another thread's bytes.
     */
    @Test
    void concurrentRequestsThroughBuffersNeverSeeEachOthersBytes() throws Exception {
        Path path = dir.resolve("patterns");
        int threads = 32;
        int size = 8192;
        Files.write(path, new byte[threads * size]);
        try (AuraFile file = AuraFile.open(engine, path, READ, WRITE)) {
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicLong checked = new AtomicLong();
            List<Thread> started = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                started.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int round = 0; round < 20; round++) {
                            int pattern = id * 1000 + round;
                            try (Buffer out = engine.allocateBuffer(size); Buffer in = engine.allocateBuffer(size)) {
                                for (long off = 0; off < size; off += 4) {
                                    out.segment().set(JAVA_INT, off, pattern);
                                }
                                if (id % 2 == 0) {
                                    assertThat(get(engine.writeAsync(file.fd(), out.ref(), size, (long) id * size)))
                                            .isEqualTo(size);
                                    assertThat(get(engine.readAsync(file.fd(), in.ref(), size, (long) id * size)))
                                            .isEqualTo(size);
                                } else {
                                    Completions done = new Completions();
                                    Request w = engine.write(file.fd(), out.ref(), size, (long) id * size, done);
                                    done.awaitCount(engine, 1);
                                    Request r = engine.read(file.fd(), in.ref(), size, (long) id * size, done);
                                    done.awaitCount(engine, 2);
                                    assertThat(done.resultOf(w)).isEqualTo(size);
                                    assertThat(done.resultOf(r)).isEqualTo(size);
                                }
                                for (long off = 0; off < size; off += 4) {
                                    int got = in.segment().get(JAVA_INT, off);
                                    if (got != pattern) {
                                        throw new AssertionError("thread " + id + " read " + got + " at " + off);
                                    }
                                }
                                checked.incrementAndGet();
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            joinAll(started);
            assertThat(failures).isEmpty();
            assertThat(checked).hasValue(threads * 20L);
            awaitCondition("every buffer back", () -> engine.bufferStats().totalBuffers() == 0);
        }
    }
}
