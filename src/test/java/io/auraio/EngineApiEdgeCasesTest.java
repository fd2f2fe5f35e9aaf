package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.testing.Descriptors;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Edge cases of the asynchronous Engine API: memory handed to the kernel (never written after it
 * went back to the pool or its arena closed), liveness of callbacks and futures (each called
 * once, also when one throws during close), chains (cancels, memory a read fills and a write
 * takes), leaks, and the exceptions bad input gets.
 */
@ExtendWith(IoUringAvailable.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class EngineApiEdgeCasesTest {
    private static final long ECANCELED = -125;
    private static final long ESHUTDOWN = -108;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(1).queueDepth(16).build());
    }

    @AfterEach
    void closeEngine() {
        if (!engine.isClosed()) {
            try {
                engine.close();
            } catch (RuntimeException e) {
                engine.close(); // a test that made close throw: finish it
            }
        }
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    /** Polls the engine until {@code done}, for at most 10 s. */
    private void pollUntil(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for " + what);
            }
            engine.await(20);
        }
    }

    private static boolean allZero(MemorySegment s) {
        for (long i = 0; i < s.byteSize(); i++) {
            if (s.get(JAVA_BYTE, i) != 0) {
                return false;
            }
        }
        return true;
    }

    // ---- (1) memory safety ------------------------------------------------------------------

    /**
     * {@code BufferRef.Memory} is a public record: {@code new BufferRef.Memory(segment, owner)}
     * with an {@code owner} that does not hold the segment made the engine retain the owner and
     * hand the segment's address to the kernel as it is. Closing the segment's own Buffer then gave
     * its memory back to the pool while the kernel held the read, and the next allocateBuffer got
     * it: the kernel wrote into another live buffer (seen: "EVIL!" in it). The same constructor let
     * a confined arena's memory through the callback form, which refuses it otherwise. Both are
     * refused now, naming the problem, with the owner's hold given back; a slice of the owner's
     * own memory is accepted.
     */
    @Test
    void aMemoryRefWhoseOwnerDoesNotHoldItsSegmentIsRefused() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
             Buffer owner = engine.allocateBuffer(4096);
             Buffer other = engine.allocateBuffer(4096);
             Arena confined = Arena.ofConfined()) {
            long out = engine.core().pool().outstandingBuffers();
            MemorySegment confinedMemory = confined.allocate(4096);
            // Another Buffer's memory, a confined arena's, and memory that starts in the owner and runs past its end.
            MemorySegment pastTheEnd = MemorySegment.ofAddress(owner.segment().address() + 4000).reinterpret(500);
            for (MemorySegment foreign : List.of(other.segment(), confinedMemory, pastTheEnd)) {
                assertThatThrownBy(() -> engine.read(fifo.fd(), new BufferRef.Memory(foreign, owner), 500, 0, null))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("not memory of its owner");
            }
            assertThat(engine.core().pool().outstandingBuffers()).as("pool buffers held").isEqualTo(out);
            // A slice inside the owner: accepted, read, and the owner held meanwhile.
            AtomicLong result = new AtomicLong(Long.MIN_VALUE);
            engine.read(fifo.fd(), new BufferRef.Memory(owner.segment().asSlice(100, 5), owner), 5, 0,
                    (req, res) -> result.set(res));
            awaitInKernel(engine, 1);
            fifo.write(ByteBuffer.wrap("bytes".getBytes(StandardCharsets.US_ASCII)), 0);
            pollUntil("the read's callback", () -> result.get() != Long.MIN_VALUE);
            assertThat(result.get()).isEqualTo(5);
            byte[] got = new byte[5];
            MemorySegment.copy(owner.segment(), JAVA_BYTE, 100, got, 0, 5);
            assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("bytes");
        }
    }

    /**
     * A cancelled read into a Buffer whose caller closes the buffer at once: the memory stays
     * retained until the kernel's CQE, so a buffer allocated meanwhile is never written; the
     * callback runs once, with ECANCELED, and every pool buffer comes back.
     */
    @Test
    void cancelledReadIntoAClosedBufferNeverWritesReusedMemory() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Buffer buf = engine.allocateBuffer(4096);
            AtomicInteger calls = new AtomicInteger();
            AtomicLong result = new AtomicLong(Long.MIN_VALUE);
            Request r = engine.read(fifo.fd(), buf.ref(), 5, 0, (req, res) -> {
                calls.incrementAndGet();
                result.set(res);
            });
            awaitInKernel(engine, 1);
            long address = buf.segment().address();
            buf.close(); // while the read is in the kernel: the memory must stay out of the pool
            assertThatThrownBy(() -> buf.segment().get(JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
            List<Buffer> fresh = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                Buffer b = engine.allocateBuffer(4096);
                b.segment().fill((byte) 0);
                assertThat(b.segment().address()).isNotEqualTo(address);
                fresh.add(b);
            }
            assertThat(r.isPending()).isTrue();
            assertThat(engine.cancel(r)).isTrue();
            pollUntil("the cancelled read's callback", () -> calls.get() > 0);
            fifo.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), 0);
            engine.await(50);
            assertThat(calls).hasValue(1);
            assertThat(result).hasValue(ECANCELED);
            assertThat(engine.cancel(r)).isFalse();
            for (Buffer b : fresh) {
                assertThat(allZero(b.segment())).isTrue();
                b.close();
            }
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    /**
     * A future read into shared-arena memory whose arena is closed before the data arrives: the
     * kernel wrote into the engine's copy, the future fails with EFAULT, nothing crashes, the
     * copy goes back to the pool.
     */
    @Test
    void futureReadIntoASharedArenaClosedMeanwhileFailsWithEfault() throws Exception {
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            Arena shared = Arena.ofShared();
            MemorySegment seg = shared.allocate(64);
            CompletableFuture<Long> f = engine.readAsync(fifo.fd(), BufferRef.of(seg), 5, 0);
            awaitInKernel(engine, 1);
            shared.close(); // nothing holds it: the kernel has a copy
            fifo.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), 0);
            assertThatThrownBy(() -> get(f)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(AuraIOException.class)
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(14));
            io.auraio.testing.TestSupport.settle(() -> engine.bufferStats().totalBuffers() == 0,
                    java.time.Duration.ofSeconds(5));
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    // ---- (4) bad input ----------------------------------------------------------------------

    /**
     * A registered slice at an offset near Long.MAX_VALUE is refused with IllegalArgumentException,
     * as documented: the range check was {@code offset + length > size}, which overflowed, so the
     * slice was accepted, its address wrapped, and only the kernel's own check (EFAULT) stopped it.
     */
    @Test
    void aRegisteredSliceWhoseOffsetOverflowsIsRefused() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[4096]);
        int fd = get(engine.openatAsync(file, READ));
        try (Buffer reg = engine.allocateBuffer(4096)) {
            engine.registerBuffers(reg);
            try {
                assertThatThrownBy(() -> engine.read(fd, BufferRef.fixed(0, 4097), 1, 0, null))
                        .isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> engine.read(fd, BufferRef.fixed(1, 0), 1, 0, null))
                        .isInstanceOf(IllegalArgumentException.class);
                AtomicLong result = new AtomicLong(Long.MIN_VALUE);
                Request r = null;
                try {
                    r = engine.read(fd, BufferRef.fixed(0, Long.MAX_VALUE - 10), 100, 0,
                            (req, res) -> result.set(res));
                } catch (IllegalArgumentException expected) {
                    return;
                }
                pollUntil("the callback", () -> result.get() != Long.MIN_VALUE);
                throw new AssertionError("BufferRef.fixed(0, Long.MAX_VALUE - 10) with length 100 was accepted "
                        + "(offset + length overflows the range check); the callback got " + result.get());
            } finally {
                engine.unregisterBuffers();
            }
        } finally {
            get(engine.closeAsync(fd));
        }
    }

    /**
     * Requests that the kernel refuses end in their callback with the errno, once each, and the
     * ring goes on serving: a directory, a closed descriptor, an eventfd read shorter than 8
     * bytes, a write on a read-only descriptor; length 0 and offsets past the end read 0.
     */
    @Test
    void badDescriptorsFailInTheCallbackAndTheRingGoesOn() throws Exception {
        Path file = Files.write(dir.resolve("f"), "0123456789".getBytes(StandardCharsets.US_ASCII));
        int fd = get(engine.openatAsync(file, READ));
        int dirFd = get(engine.openatAsync(dir.resolve("."), READ));
        int closed = 999_999; // never open (a descriptor closed here could be reused by the eventfd below)
        int efd = io.auraio.internal.binding.Libc.eventfd(0, io.auraio.internal.binding.Libc.EFD_NONBLOCK);
        try (Buffer buf = engine.allocateBuffer(64)) {
            ConcurrentHashMap<String, Long> results = new ConcurrentHashMap<>();
            AtomicInteger calls = new AtomicInteger();
            Callback cb = (r, res) -> {
                calls.incrementAndGet();
                results.merge((String) r.attachment(), res, (a, b) -> Long.MIN_VALUE); // twice: poisoned
            };
            engine.read(dirFd, buf.ref(), 10, 0, cb, "dir");
            engine.read(closed, buf.ref(), 10, 0, cb, "closed");
            engine.read(efd, buf.ref(), 4, 0, cb, "eventfd");
            engine.write(fd, buf.ref(), 1, 0, cb, "readonly");
            engine.read(fd, buf.ref(), 0, 0, cb, "zero");
            engine.read(fd, buf.ref(), 10, 1L << 40, cb, "pastEnd");
            engine.fsync(closed, cb, "fsyncClosed");
            try {
                pollUntil("7 callbacks", () -> calls.get() == 7);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; completed: " + results, e);
            }
            assertThat(results).containsEntry("dir", -21L).containsEntry("closed", -9L)
                    .containsEntry("eventfd", -22L).containsEntry("readonly", -9L).containsEntry("zero", 0L)
                    .containsEntry("pastEnd", 0L).containsEntry("fsyncClosed", -9L);
            assertThat(get(engine.readAsync(fd, buf.ref(), 10, 0))).isEqualTo(10);
            assertThat(new String(buf.segment().asSlice(0, 10).toArray(JAVA_BYTE), StandardCharsets.US_ASCII))
                    .isEqualTo("0123456789");
            engine.await(20);
            assertThat(calls).hasValue(7);
        } finally {
            io.auraio.internal.binding.Libc.close(efd);
            get(engine.closeAsync(fd));
            get(engine.closeAsync(dirFd));
        }
        assertThatThrownBy(() -> engine.read(-1, BufferRef.of(Arena.global().allocate(8)), 8, 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fd");
        assertThatThrownBy(() -> engine.read(0, BufferRef.of(Arena.global().allocate(8)), 9, 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds");
        assertThatThrownBy(() -> engine.read(0, BufferRef.of(Arena.global().allocate(8)), -1, 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length");
        assertThatThrownBy(() -> engine.read(0, BufferRef.fixed(0), 8, 0, null))
                .isInstanceOf(AuraIOException.class).satisfies(e -> assertThat(((AuraIOException) e).errno())
                        .isEqualTo(2));
        assertThat(engine.pendingCount()).isZero();
        assertThat(engine.bufferStats().totalBuffers()).isZero();
    }

    // ---- chains -----------------------------------------------------------------------------

    /**
     * "Read, then write" through memory that reaches the kernel as a copy (a shared arena's): the
     * write's copy would be made at submission, before the read, and write the old bytes with a
     * success (it did: 24 zero bytes). Such a chain is refused, naming the links, and nothing of
     * it is left prepared (no pool copy outstanding); the same chain through a Buffer writes the
     * bytes read ({@code readThenWriteChainThroughABufferWritesTheBytesRead}).
     */
    @Test
    void aReadThenWriteChainThroughCopiedMemoryIsRefused() throws Exception {
        byte[] data = "the bytes that were read".getBytes(StandardCharsets.US_ASCII);
        Path src = Files.write(dir.resolve("src"), data);
        Path dst = dir.resolve("dst");
        int in = get(engine.openatAsync(src, READ));
        int out = get(engine.openatAsync(dst, CREATE, WRITE));
        try (Arena shared = Arena.ofShared()) {
            MemorySegment seg = shared.allocate(data.length);
            long outstanding = engine.core().pool().outstandingBuffers();
            RequestChain chain = engine.chain().read(in, BufferRef.of(seg), data.length, 0)
                    .write(out, BufferRef.of(seg.asSlice(4)), data.length - 4, 0);
            assertThatThrownBy(chain::submitAsync).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("link 1 of the chain writes memory that link 0 reads into");
            assertThat(engine.core().pool().outstandingBuffers()).as("pool copies left prepared").isEqualTo(outstanding);
            // Memory the chain does not read into is fine: a write of it and an fsync.
            MemorySegment other = shared.allocate(data.length).copyFrom(MemorySegment.ofArray(data));
            long[] results = get(engine.chain().write(out, BufferRef.of(other), data.length, 0).fsync(out).submitAsync());
            assertThat(results).containsExactly(data.length, 0);
            assertThat(Files.readAllBytes(dst)).isEqualTo(data);
        } finally {
            get(engine.closeAsync(in));
            get(engine.closeAsync(out));
        }
    }

    /** The same chain through a pool Buffer (no copy) is right: the control for the test above. */
    @Test
    void readThenWriteChainThroughABufferWritesTheBytesRead() throws Exception {
        byte[] data = "the bytes that were read".getBytes(StandardCharsets.US_ASCII);
        Path src = Files.write(dir.resolve("src"), data);
        Path dst = dir.resolve("dst");
        int in = get(engine.openatAsync(src, READ));
        int out = get(engine.openatAsync(dst, CREATE, WRITE));
        try (Buffer buf = engine.allocateBuffer(data.length)) {
            buf.segment().fill((byte) 0);
            long[] results = get(engine.chain().read(in, buf.ref(), data.length, 0)
                    .write(out, buf.ref(), data.length, 0).submitAsync());
            assertThat(results).containsExactly(data.length, data.length);
            assertThat(Files.readAllBytes(dst)).isEqualTo(data);
        } finally {
            get(engine.closeAsync(in));
            get(engine.closeAsync(out));
        }
    }

    /**
     * A chain in the kernel, its first link waiting (a FIFO read): cancelling that link ends it
     * and the link after it with ECANCELED, and the write never runs. (A later link, waiting for
     * the one before it, is not found by the kernel's cancel: RequestChain's documentation.)
     */
    @Test
    void cancellingTheFirstPendingLinkOfAChainInTheKernelEndsTheChain() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[0]);
        int out = get(engine.openatAsync(file, WRITE));
        try (FifoFile fifo = openFifo(engine, dir.resolve("fifo")); Buffer buf = engine.allocateBuffer(5)) {
            ConcurrentHashMap<Request, Long> results = new ConcurrentHashMap<>();
            Request[] rs = engine.chain().read(fifo.fd(), buf.ref(), 5, 0).write(out, buf.ref(), 5, 0)
                    .submit(results::put, null);
            awaitInKernel(engine, 2);
            assertThat(engine.cancel(rs[0])).isTrue();
            pollUntil("both links", () -> results.size() == 2);
            assertThat(results.get(rs[0])).isEqualTo(ECANCELED);
            assertThat(results.get(rs[1])).isEqualTo(ECANCELED);
            fifo.write(ByteBuffer.wrap("data!".getBytes(StandardCharsets.US_ASCII)), 0);
            assertThat(Files.size(file)).as("bytes the cancelled write wrote").isZero();
        } finally {
            get(engine.closeAsync(out));
        }
    }

    /**
     * Engine.close() racing submitters: every callback request that was accepted has its callback
     * called exactly once (ESHUTDOWN or its result), every refused one throws, nothing leaks.
     */
    @Test
    void closeRacingSubmittersCallsEveryAcceptedCallbackExactlyOnce() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[4096]);
        int fd = io.auraio.testing.Posix.open(file, io.auraio.testing.Posix.O_RDONLY);
        try {
            for (int round = 0; round < 5; round++) {
                Engine e = Engine.create(Options.builder().ringCount(2).queueDepth(32).build());
                AtomicInteger accepted = new AtomicInteger();
                AtomicInteger called = new AtomicInteger();
                ConcurrentHashMap<Request, Integer> perRequest = new ConcurrentHashMap<>();
                List<Thread> threads = new ArrayList<>();
                java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
                for (int t = 0; t < 3; t++) {
                    threads.add(Thread.ofPlatform().start(() -> {
                        MemorySegment seg = Arena.global().allocate(4096);
                        while (!stop.get()) {
                            try {
                                e.read(fd, BufferRef.of(seg), 4096, 0, (r, res) -> {
                                    called.incrementAndGet();
                                    perRequest.merge(r, 1, Integer::sum);
                                });
                                accepted.incrementAndGet();
                            } catch (AuraIOException x) {
                                if (x.isShutdown()) {
                                    return;
                                }
                                Thread.onSpinWait(); // EAGAIN: every slot held by unpolled completions
                            }
                        }
                    }));
                }
                Thread poller = Thread.ofPlatform().start(() -> {
                    while (!e.isClosed()) {
                        try {
                            e.await(5);
                        } catch (InterruptedException | RuntimeException x) {
                            return;
                        }
                    }
                });
                Thread.sleep(30);
                // On a loaded machine the submitters may not have submitted yet: the race needs some.
                io.auraio.testing.TestSupport.awaitCondition("a submission accepted", () -> accepted.get() > 0);
                e.close();
                stop.set(true);
                for (Thread t : threads) {
                    t.join(5000);
                    assertThat(t.getState() != Thread.State.TERMINATED).isFalse();
                }
                poller.join(5000);
                assertThat(called.get()).as("callbacks called vs accepted").isEqualTo(accepted.get());
                assertThat(perRequest.values()).containsOnly(1);
                assertThat(e.bufferStats().totalBuffers()).isZero();
            }
        } finally {
            io.auraio.testing.Posix.close(fd);
        }
    }

    /**
     * A chain's Request reports the descriptor it was submitted on, as a single request does
     * ({@link Request#fd()}), also on a registered file (it reported -1 there).
     */
    @Test
    void chainRequestOnARegisteredFileReportsItsDescriptor() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[10]);
        int fd = get(engine.openatAsync(file, READ, WRITE));
        try {
            engine.registerFiles(fd);
            AtomicInteger calls = new AtomicInteger();
            Request single = engine.fsync(fd, (r, res) -> calls.incrementAndGet());
            Request[] chained = engine.chain().fsync(fd).fdatasync(fd).submit((r, res) -> calls.incrementAndGet(),
                    null);
            pollUntil("3 callbacks", () -> calls.get() == 3);
            assertThat(single.fd()).isEqualTo(fd);
            assertThat(Arrays.stream(chained).mapToInt(Request::fd).toArray()).containsExactly(fd, fd);
        } finally {
            engine.unregisterFiles();
            get(engine.closeAsync(fd));
        }
    }

    // ---- (2) liveness: callbacks and close ---------------------------------------------------

    /**
     * Engine.close() runs the callbacks of requests its shutdown ends; one that throws no longer
     * stops it half way (the other callbacks never called, the engine's poll eventfd and pool
     * never freed): every callback runs once, the shutdown completes, and close() throws what the
     * callback threw.
     */
    @Test
    void aThrowingCallbackDuringCloseDoesNotStopTheShutdown() throws Exception {
        FifoFile fifo = openFifo(engine, dir.resolve("fifo"));
        try {
            AtomicInteger calls = new AtomicInteger();
            ConcurrentHashMap<String, Long> results = new ConcurrentHashMap<>();
            Callback cb = (r, res) -> {
                results.put((String) r.attachment(), res);
                if (calls.incrementAndGet() == 1) {
                    throw new IllegalStateException("callback failure");
                }
            };
            try (Buffer a = engine.allocateBuffer(8); Buffer b = engine.allocateBuffer(8)) {
                engine.read(fifo.fd(), a.ref(), 5, 0, cb, "a");
                engine.read(fifo.fd(), b.ref(), 5, 0, cb, "b");
                awaitInKernel(engine, 2);
                int pollFd = engine.pollFd();
                Throwable thrown = null;
                try {
                    engine.close();
                } catch (RuntimeException e) {
                    thrown = e;
                }
                String target = java.util.Objects.requireNonNullElse(Descriptors.target(pollFd), "(closed)");
                String observed = "close() threw " + thrown + "; callbacks called: " + calls.get() + " " + results
                        + "; the engine's poll fd " + pollFd + " afterwards: " + target;
                assertThat(calls.get()).as(observed).isEqualTo(2);
                assertThat(results).as(observed).containsEntry("a", ESHUTDOWN).containsEntry("b", ESHUTDOWN);
                assertThat(target).as(observed).doesNotContain("eventfd");
            }
        } finally {
            if (!engine.isClosed()) {
                engine.close();
            }
            fifo.file().close();
        }
    }

    /**
     * Re-entrancy: from a callback, submitting (also a blocking call) works, cancelling itself
     * reports false, and poll/await/drain/run/close are refused with IllegalStateException.
     */
    @Test
    void callbacksMaySubmitButNotReenterTheEventLoop() throws Exception {
        Path file = Files.write(dir.resolve("f"), "abcdef".getBytes(StandardCharsets.US_ASCII));
        int fd = get(engine.openatAsync(file, READ));
        try (Buffer buf = engine.allocateBuffer(16)) {
            List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicLong nested = new AtomicLong(Long.MIN_VALUE);
            engine.read(fd, buf.ref(), 6, 0, (r, res) -> {
                seen.add("result " + res);
                try {
                    seen.add("cancel self " + engine.cancel(r));
                    engine.read(fd, buf.ref(), 3, 3, (r2, res2) -> nested.set(res2));
                    seen.add("blocking size " + Files.size(file));
                } catch (Exception e) {
                    seen.add("failed " + e);
                }
                for (String op : List.of("poll", "await", "drain", "run", "close")) {
                    try {
                        switch (op) {
                            case "poll" -> engine.poll();
                            case "await" -> engine.await(0);
                            case "drain" -> engine.drain(0);
                            case "run" -> engine.run();
                            default -> engine.close();
                        }
                        seen.add(op + " allowed");
                    } catch (IllegalStateException e) {
                        seen.add(op + " refused");
                    } catch (Exception e) {
                        seen.add(op + " " + e);
                    }
                }
            });
            pollUntil("the nested callback", () -> nested.get() != Long.MIN_VALUE);
            assertThat(seen).containsExactly("result 6", "cancel self false", "blocking size 6", "poll refused",
                    "await refused", "drain refused", "run refused", "close refused");
            assertThat(nested).hasValue(3);
            assertThat(engine.isClosed()).isFalse();
        } finally {
            get(engine.closeAsync(fd));
        }
    }
}
