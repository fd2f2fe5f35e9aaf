package io.auraio.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.Buffer;
import io.auraio.BufferRef;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.lifecycle.PropagationMode;

/**
 * The engine's callback and future requests with arbitrary arguments: descriptors (open, negative,
 * unused), buffers (native, registered at any index and offset, pool buffers open and closed,
 * memory of a closed arena, heap memory), lengths and offsets (negative, in range, past the
 * buffer, past Linux's transfer limit, overflowing), vectors of 0 to 4 segments of any kind. Each
 * call either completes correctly (bytes checked against the file as plain java.nio reads it; a
 * kernel refusal arrives as a negated errno) or throws an exception type its javadoc names.
 */
@AddLifecycleHook(value = IoUringAvailableHook.class, propagateTo = PropagationMode.ALL_DESCENDANTS)
class PropertyEngineRequestTest {
    private static final int TRIES = 400;
    private static final int FILE_SIZE = 65_536;
    private static final int REGISTERED = 8192;
    private static final int UNUSED_FD = 1_000_000;

    enum Form { READ, WRITE, READ_ASYNC, WRITE_ASYNC, READV, WRITEV, READV_ASYNC, WRITEV_ASYNC, FSYNC, FDATASYNC,
        FSYNC_ASYNC, FDATASYNC_ASYNC }

    enum Fd { FILE, NEGATIVE, UNUSED }

    enum Memory { NATIVE, REGISTERED, POOL, CLOSED_POOL, CLOSED_ARENA, HEAP, READ_ONLY }

    private static Engine engine;
    private static Path dir;
    private static Path path;
    private static AuraFile file;
    private static Buffer registered;

    @BeforeContainer
    static void open() throws IOException {
        dir = PropertyFiles.newDirectory("PropertyEngineRequestTest");
        path = Files.write(dir.resolve("data"), TestSupport.randomBytes(FILE_SIZE, 2));
        engine = Engine.create(Options.builder().ringCount(2).build());
        file = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        registered = engine.allocateBuffer(REGISTERED);
        engine.registerBuffers(registered);
    }

    @AfterContainer
    static void close() throws IOException {
        if (engine != null) {
            engine.unregisterBuffers();
            registered.close();
            file.close();
            assertThat(engine.stats().currentInFlight()).isZero();
            assertThat(engine.bufferStats().totalBuffers()).as("pool buffers returned").isZero();
            engine.close();
        }
        TestDirectory.deleteRecursively(dir);
    }

    @Provide
    Arbitrary<Long> lengths() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.longs().lessOrEqual(-1)),
                Tuple.of(1, Arbitraries.of(0x7ffff000L, 0x7ffff001L, Long.MAX_VALUE, (long) Integer.MAX_VALUE)),
                Tuple.of(6, Arbitraries.longs().between(0, 9000)));
    }

    @Provide
    Arbitrary<Long> offsets() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.longs().lessOrEqual(-1)),
                Tuple.of(1, Arbitraries.of(Long.MAX_VALUE, Long.MAX_VALUE - 4096)),
                Tuple.of(6, Arbitraries.longs().between(0, FILE_SIZE + 10_000)));
    }

    @Property(tries = TRIES, shrinking = ShrinkingMode.BOUNDED)
    void requestsCompleteCorrectlyOrThrowADocumentedException(
            @ForAll Form form, @ForAll Fd fdKind, @ForAll Memory memory,
            @ForAll @IntRange(min = 0, max = 9000) int size, @ForAll("lengths") long length,
            @ForAll("offsets") long offset, @ForAll @IntRange(min = -1, max = 2) int fixedIndex,
            @ForAll @IntRange(min = 0, max = REGISTERED + 10) int fixedOffset,
            @ForAll @Size(max = 4) List<Memory> vector, @ForAll long seed) throws Exception {
        int fd = switch (fdKind) {
            case FILE -> file.fd();
            case NEGATIVE -> -1;
            case UNUSED -> UNUSED_FD;
        };
        boolean write = form.name().startsWith("WRITE");
        if (write && offset > FILE_SIZE + 10_000 && offset < Long.MAX_VALUE) {
            // Writes far out would succeed on filesystems with huge limits and leave huge sparse files.
            offset = Long.MAX_VALUE;
        }
        try (Arena arena = Arena.ofShared()) {
            List<Buffer> pool = new ArrayList<>();
            try {
                byte[] fill = TestSupport.randomBytes(Math.max(size, REGISTERED), seed);
                CompletableFuture<Long> result;
                MemorySegment single = null;
                MemorySegment[] iov = null;
                try {
                    BufferRef ref = null;
                    if (form.ordinal() <= Form.WRITE_ASYNC.ordinal()) {
                        single = memoryOf(memory, size, arena, pool, fill);
                        ref = memory == Memory.REGISTERED ? BufferRef.fixed(fixedIndex, fixedOffset)
                                : memory == Memory.POOL || memory == Memory.CLOSED_POOL ? pool.getLast().ref()
                                : BufferRef.of(single);
                        if (memory == Memory.REGISTERED) {
                            single = registered.segment().asSlice(Math.min(fixedOffset, REGISTERED));
                        }
                    } else if (form.ordinal() <= Form.WRITEV_ASYNC.ordinal()) {
                        iov = new MemorySegment[vector.size()];
                        for (int i = 0; i < iov.length; i++) {
                            Memory m = vector.get(i) == Memory.REGISTERED ? Memory.NATIVE : vector.get(i);
                            iov[i] = memoryOf(m, size / Math.max(1, iov.length), arena, pool, fill);
                        }
                    }
                    result = submit(form, fd, ref, length, offset, iov);
                } catch (RuntimeException | AuraIOException e) {
                    assertDocumented(form, e);
                    return;
                }
                long r = await(result);
                check(form, fdKind, r, single, iov, length, offset);
            } finally {
                for (Buffer b : pool) {
                    b.close();
                }
            }
        }
    }

    private static MemorySegment memoryOf(Memory memory, int size, Arena arena, List<Buffer> pool, byte[] fill)
            throws AuraIOException {
        MemorySegment s = switch (memory) {
            case NATIVE, REGISTERED -> arena.allocate(Math.max(1, size)).asSlice(0, size);
            case POOL, CLOSED_POOL -> {
                Buffer b = engine.allocateBuffer(size);
                pool.add(b);
                yield b.segment();
            }
            case CLOSED_ARENA -> {
                Arena gone = Arena.ofShared();
                MemorySegment g = gone.allocate(Math.max(1, size));
                gone.close();
                yield g;
            }
            case HEAP -> MemorySegment.ofArray(new byte[size]);
            case READ_ONLY -> arena.allocate(Math.max(1, size)).asSlice(0, size);
        };
        if (memory != Memory.CLOSED_ARENA) {
            MemorySegment.copy(fill, 0, s, ValueLayout.JAVA_BYTE, 0, size);
        }
        if (memory == Memory.CLOSED_POOL) {
            pool.getLast().close();
        }
        return memory == Memory.READ_ONLY ? s.asReadOnly() : s;
    }

    private static CompletableFuture<Long> submit(Form form, int fd, BufferRef ref, long length, long offset,
                                                  MemorySegment[] iov) throws AuraIOException {
        CompletableFuture<Long> done = new CompletableFuture<>();
        io.auraio.Callback cb = (request, r) -> done.complete(r);
        return switch (form) {
            case READ -> { engine.read(fd, ref, length, offset, cb); yield done; }
            case WRITE -> { engine.write(fd, ref, length, offset, cb, "attachment"); yield done; }
            case READ_ASYNC -> engine.readAsync(fd, ref, length, offset);
            case WRITE_ASYNC -> engine.writeAsync(fd, ref, length, offset);
            case READV -> { engine.readv(fd, iov, offset, cb); yield done; }
            case WRITEV -> { engine.writev(fd, iov, offset, cb); yield done; }
            case READV_ASYNC -> engine.readvAsync(fd, iov, offset);
            case WRITEV_ASYNC -> engine.writevAsync(fd, iov, offset);
            case FSYNC -> { engine.fsync(fd, cb); yield done; }
            case FDATASYNC -> { engine.fdatasync(fd, cb, null); yield done; }
            case FSYNC_ASYNC -> engine.fsyncAsync(fd);
            case FDATASYNC_ASYNC -> engine.fdatasyncAsync(fd);
        };
    }

    /** {@return the result, running callbacks meanwhile; a future's failure as its negated errno} */
    private static long await(CompletableFuture<Long> result) throws Exception {
        long deadline = System.nanoTime() + TestSupport.HANG.toNanos();
        while (!result.isDone()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("a request did not complete");
            }
            engine.await(10);
        }
        try {
            return result.get(0, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).as("a future's failure").isInstanceOf(AuraIOException.class);
            return -((AuraIOException) e.getCause()).errno();
        }
    }

    private static void check(Form form, Fd fdKind, long r, MemorySegment single, MemorySegment[] iov, long length,
                              long offset) throws IOException {
        if (fdKind != Fd.FILE) {
            assertThat(r).as("%s on a descriptor that is not open", form).isEqualTo(-9L);
            return;
        }
        if (r < 0 || form.ordinal() >= Form.FSYNC.ordinal()) {
            return; // the kernel's answer (EINVAL, EFBIG...), or a completed fsync
        }
        MemorySegment memory = single != null ? single.asSlice(0, Math.min(length, single.byteSize()))
                : concat(iov);
        assertThat(r).isLessThanOrEqualTo(memory.byteSize());
        byte[] moved = memory.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE);
        assertThat(moved).as("%s of %d bytes at %d", form, r, offset).isEqualTo(PropertyFiles.read(path, offset,
                (int) r));
    }

    private static MemorySegment concat(MemorySegment[] iov) {
        long total = 0;
        for (MemorySegment s : iov) {
            total += s.byteSize();
        }
        MemorySegment all = MemorySegment.ofArray(new byte[(int) total]);
        long at = 0;
        for (MemorySegment s : iov) {
            MemorySegment.copy(s, 0, all, at, s.byteSize());
            at += s.byteSize();
        }
        return all;
    }

    /** The exception types each method's javadoc names (NullPointerException aside: no nulls are passed). */
    private static void assertDocumented(Form form, Throwable e) {
        List<Class<?>> documented = switch (form) {
            case READ, WRITE, READ_ASYNC, WRITE_ASYNC, READV, WRITEV, READV_ASYNC, WRITEV_ASYNC ->
                    List.of(IllegalArgumentException.class, IllegalStateException.class, AuraIOException.class);
            case FSYNC, FDATASYNC -> List.of(IllegalArgumentException.class, AuraIOException.class);
            case FSYNC_ASYNC, FDATASYNC_ASYNC -> List.of(IllegalArgumentException.class);
        };
        PropertyAuraFileTest.assertDocumented(e, documented);
    }
}
