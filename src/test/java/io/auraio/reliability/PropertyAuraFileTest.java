package io.auraio.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.Engine;
import io.auraio.Options;
import io.auraio.testing.Direct;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.lifecycle.PropagationMode;

/**
 * {@link AuraFile}'s blocking reads and writes with arbitrary arguments: every kind of buffer
 * (heap, direct, read-only, segment-backed, sliced, empty, of a closed arena) in every
 * position/limit state, every kind of file (read-only, write-only, read-write, O_DIRECT, closed,
 * of a closed engine), positions negative, small, page-aligned and huge. Each call either does
 * what its javadoc says (checked against the file as plain java.nio reads it) or throws an
 * exception type its javadoc names; anything else, including a crash, fails the property.
 */
@AddLifecycleHook(value = IoUringAvailableHook.class, propagateTo = PropagationMode.ALL_DESCENDANTS)
class PropertyAuraFileTest {
    private static final int TRIES = 300;
    private static final int FILE_SIZE = 65_536;

    enum FileKind { READ_ONLY, WRITE_ONLY, READ_WRITE, DIRECT, CLOSED, CLOSED_ENGINE }

    enum BufferKind { HEAP, DIRECT, READ_ONLY_HEAP, READ_ONLY_DIRECT, SEGMENT_BACKED, SLICED_HEAP, SLICED_DIRECT,
        EMPTY, CLOSED_ARENA }

    enum SegmentKind { NATIVE_ALIGNED, NATIVE_ODD, HEAP, READ_ONLY, SLICED, EMPTY, CLOSED_ARENA }

    enum Call { READ, WRITE, READ_FULLY, WRITE_FULLY }

    private static Engine engine;
    private static Engine closedEngine;
    private static Path dir;
    private static Path path;
    private static final Map<FileKind, AuraFile> files = new EnumMap<>(FileKind.class);

    @BeforeContainer
    static void open() throws IOException {
        dir = PropertyFiles.newDirectory("PropertyAuraFileTest");
        path = Files.write(dir.resolve("data"), TestSupport.randomBytes(FILE_SIZE, 1));
        engine = Engine.create(Options.builder().ringCount(1).build());
        closedEngine = Engine.create(Options.builder().ringCount(1).build());
        files.put(FileKind.READ_ONLY, AuraFile.open(engine, path, StandardOpenOption.READ));
        files.put(FileKind.WRITE_ONLY, AuraFile.open(engine, path, StandardOpenOption.WRITE));
        files.put(FileKind.READ_WRITE, AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE));
        files.put(FileKind.DIRECT, AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                Direct.DIRECT));
        AuraFile closed = AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        closed.close();
        files.put(FileKind.CLOSED, closed);
        files.put(FileKind.CLOSED_ENGINE, AuraFile.open(closedEngine, path, StandardOpenOption.READ,
                StandardOpenOption.WRITE));
        closedEngine.close();
    }

    @AfterContainer
    static void close() throws IOException {
        for (AuraFile f : files.values()) {
            f.close();
        }
        files.clear();
        if (engine != null) {
            assertThat(engine.stats().currentInFlight()).isZero();
            assertThat(engine.bufferStats().totalBuffers()).as("pool buffers returned").isZero();
            engine.close();
        }
        TestDirectory.deleteRecursively(dir);
    }

    @Provide
    Arbitrary<Long> positions() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.longs().lessOrEqual(-1)),
                Tuple.of(1, Arbitraries.of(Long.MIN_VALUE, -1L, Long.MAX_VALUE, Long.MAX_VALUE - 3)),
                Tuple.of(4, Arbitraries.longs().between(0, FILE_SIZE + 10_000)),
                Tuple.of(3, Arbitraries.integers().between(0, 20).map(i -> i * 4096L)));
    }

    @Provide
    Arbitrary<Integer> capacities() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.integers().between(0, 9000)),
                Tuple.of(2, Arbitraries.integers().between(0, 3).map(i -> i * 4096)));
    }

    @Property(tries = TRIES, shrinking = ShrinkingMode.BOUNDED)
    void byteBufferCallsSucceedCorrectlyOrThrowADocumentedException(
            @ForAll FileKind fileKind, @ForAll BufferKind bufferKind, @ForAll Call call,
            @ForAll("capacities") int capacity, @ForAll @IntRange(min = 0, max = 1000) int limitPerMille,
            @ForAll @IntRange(min = 0, max = 1000) int positionPerMille, @ForAll("positions") long position,
            @ForAll long seed) throws IOException {
        AuraFile file = files.get(fileKind);
        try (Arena arena = Arena.ofShared()) {
            ByteBuffer buffer = newBuffer(bufferKind, capacity, arena, new Random(seed));
            if (bufferKind != BufferKind.CLOSED_ARENA) {
                int limit = (int) ((long) buffer.capacity() * limitPerMille / 1000);
                buffer.limit(limit).position((int) ((long) limit * positionPerMille / 1000));
            }
            int before = buffer.position();
            int remaining = buffer.remaining();
            byte[] source = bufferKind == BufferKind.CLOSED_ARENA ? new byte[0] : contents(buffer);
            try {
                switch (call) {
                    case READ -> {
                        int n = file.read(buffer, position);
                        checkRead(n, buffer, before, remaining, position);
                    }
                    case WRITE -> {
                        int n = file.write(buffer, position);
                        checkWrite(n, buffer, before, remaining, position, source);
                    }
                    case READ_FULLY -> {
                        file.readFully(buffer, position);
                        assertThat(buffer.hasRemaining()).isFalse();
                        checkRead(remaining, buffer, before, remaining, position);
                    }
                    case WRITE_FULLY -> {
                        file.writeFully(buffer, position);
                        checkWrite(remaining, buffer, before, remaining, position, source);
                    }
                }
                // readFully/writeFully of nothing make no call at all, so they cannot see the close.
                if (remaining > 0 || call == Call.READ || call == Call.WRITE) {
                    assertThat(fileKind).as("a call on a closed file succeeded").isNotEqualTo(FileKind.CLOSED);
                }
                if (fileKind == FileKind.CLOSED_ENGINE) {
                    assertThat(remaining).as("a transfer through a closed engine succeeded").isZero();
                }
            } catch (EOFException e) {
                assertThat(call).as("EOFException from %s", call).isEqualTo(Call.READ_FULLY);
                checkRead(buffer.position() - before, buffer, before, remaining, position);
            } catch (RuntimeException | IOException e) {
                List<Class<?>> documented = switch (call) {
                    case READ, READ_FULLY -> List.of(IllegalArgumentException.class, IllegalStateException.class,
                            ClosedChannelException.class, NonReadableChannelException.class, AuraIOException.class);
                    case WRITE, WRITE_FULLY -> List.of(IllegalArgumentException.class, IllegalStateException.class,
                            ClosedChannelException.class, NonWritableChannelException.class, AuraIOException.class);
                };
                assertDocumented(e, documented);
                if (fileKind == FileKind.CLOSED_ENGINE && e instanceof AuraIOException a) {
                    assertThat(a.isShutdown()).as("%s", a).isTrue();
                }
            }
        }
    }

    /** {@return the buffer's remaining bytes, without moving it} */
    private static byte[] contents(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static void checkRead(int n, ByteBuffer buffer, int before, int remaining, long position)
            throws IOException {
        long size = Files.size(path);
        if (n == -1) {
            assertThat(remaining).as("-1 only when the buffer had room").isPositive();
            assertThat(position).as("-1 only at or past the end").isGreaterThanOrEqualTo(size);
            assertThat(buffer.position()).isEqualTo(before);
            return;
        }
        assertThat(n).isBetween(0, remaining);
        assertThat(buffer.position()).isEqualTo(before + n);
        if (remaining > 0 && position < size) {
            assertThat(n).as("a regular file read before its end moves bytes").isPositive();
        }
        byte[] got = new byte[n];
        buffer.duplicate().position(before).get(got);
        assertThat(got).as("bytes read at %d", position).isEqualTo(PropertyFiles.read(path, position, n));
    }

    private static void checkWrite(int n, ByteBuffer buffer, int before, int remaining, long position,
                                   byte[] source) throws IOException {
        assertThat(n).as("a regular file takes the whole write").isEqualTo(remaining);
        assertThat(buffer.position()).isEqualTo(before + n);
        assertThat(PropertyFiles.read(path, position, n)).as("bytes on disk at %d", position).isEqualTo(source);
    }

    static void assertDocumented(Throwable e, List<Class<?>> documented) {
        if (documented.stream().noneMatch(c -> c.isInstance(e))) {
            throw new AssertionError("undocumented exception " + e.getClass().getName() + " (documented: "
                    + documented + ")", e);
        }
    }

    private static ByteBuffer newBuffer(BufferKind kind, int capacity, Arena arena, Random random) {
        byte[] fill = new byte[capacity];
        random.nextBytes(fill);
        return switch (kind) {
            case HEAP -> ByteBuffer.wrap(fill);
            case DIRECT -> ByteBuffer.allocateDirect(capacity).put(fill).clear();
            case READ_ONLY_HEAP -> ByteBuffer.wrap(fill).asReadOnlyBuffer();
            case READ_ONLY_DIRECT -> ByteBuffer.allocateDirect(capacity).put(fill).clear().asReadOnlyBuffer();
            case SEGMENT_BACKED -> arena.allocate(Math.max(1, capacity), 4096).asByteBuffer().limit(capacity).slice()
                    .put(fill).clear();
            case SLICED_HEAP -> ByteBuffer.allocate(capacity + 13).slice(13, capacity).put(fill).clear();
            case SLICED_DIRECT -> arena.allocate(capacity + 7L, 4096).asByteBuffer().slice(7, capacity).put(fill)
                    .clear();
            case EMPTY -> ByteBuffer.allocate(0);
            case CLOSED_ARENA -> {
                Arena gone = Arena.ofShared();
                ByteBuffer b = gone.allocate(Math.max(1, capacity), 4096).asByteBuffer();
                gone.close();
                yield b;
            }
        };
    }

    @Property(tries = TRIES, shrinking = ShrinkingMode.BOUNDED)
    void segmentCallsSucceedCorrectlyOrThrowADocumentedException(
            @ForAll FileKind fileKind, @ForAll SegmentKind segmentKind, @ForAll Call call,
            @ForAll("capacities") int size, @ForAll("positions") long position, @ForAll long seed) throws IOException {
        AuraFile file = files.get(fileKind);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment segment = newSegment(segmentKind, size, arena, new Random(seed));
            byte[] source = segmentKind == SegmentKind.CLOSED_ARENA ? new byte[0]
                    : segment.toArray(ValueLayout.JAVA_BYTE);
            int length = (int) Math.min(segment.byteSize(), Integer.MAX_VALUE);
            try {
                switch (call) {
                    case READ -> {
                        int n = file.read(segment, position);
                        if (n == -1) {
                            assertThat(length).isPositive();
                            assertThat(position).isGreaterThanOrEqualTo(Files.size(path));
                        } else {
                            assertThat(n).isBetween(0, length);
                            assertThat(segment.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE))
                                    .isEqualTo(PropertyFiles.read(path, position, n));
                        }
                    }
                    case READ_FULLY -> {
                        file.readFully(segment, position);
                        assertThat(segment.toArray(ValueLayout.JAVA_BYTE))
                                .isEqualTo(PropertyFiles.read(path, position, length));
                    }
                    case WRITE -> {
                        int n = file.write(segment, position);
                        assertThat(n).isEqualTo(length);
                        assertThat(PropertyFiles.read(path, position, n)).isEqualTo(source);
                    }
                    case WRITE_FULLY -> {
                        file.writeFully(segment, position);
                        assertThat(PropertyFiles.read(path, position, length)).isEqualTo(source);
                    }
                }
                if (length > 0 || call == Call.READ || call == Call.WRITE) {
                    assertThat(fileKind).as("a call on a closed file succeeded").isNotEqualTo(FileKind.CLOSED);
                }
            } catch (EOFException e) {
                assertThat(call).isEqualTo(Call.READ_FULLY);
            } catch (RuntimeException | IOException e) {
                List<Class<?>> documented = switch (call) {
                    case READ, READ_FULLY -> List.of(IllegalArgumentException.class, IllegalStateException.class,
                            ClosedChannelException.class, NonReadableChannelException.class, AuraIOException.class);
                    case WRITE, WRITE_FULLY -> List.of(IllegalArgumentException.class, IllegalStateException.class,
                            ClosedChannelException.class, NonWritableChannelException.class, AuraIOException.class);
                };
                assertDocumented(e, documented);
            }
        }
    }

    private static MemorySegment newSegment(SegmentKind kind, int size, Arena arena, Random random) {
        byte[] fill = new byte[size];
        random.nextBytes(fill);
        MemorySegment s = switch (kind) {
            case NATIVE_ALIGNED -> arena.allocate(Math.max(1, size), 4096).asSlice(0, size);
            case NATIVE_ODD -> arena.allocate(size + 3L).asSlice(3);
            case HEAP -> MemorySegment.ofArray(new byte[size]);
            case READ_ONLY -> arena.allocate(Math.max(1, size)).asSlice(0, size);
            case SLICED -> arena.allocate(size + 100L, 4096).asSlice(100, size);
            case EMPTY -> arena.allocate(1).asSlice(0, 0);
            case CLOSED_ARENA -> {
                Arena gone = Arena.ofShared();
                MemorySegment g = gone.allocate(Math.max(1, size), 4096);
                gone.close();
                yield g;
            }
        };
        if (kind != SegmentKind.CLOSED_ARENA && s.byteSize() > 0) {
            MemorySegment.copy(fill, 0, s, ValueLayout.JAVA_BYTE, 0, (int) s.byteSize());
        }
        return kind == SegmentKind.READ_ONLY ? s.asReadOnly() : s;
    }
}
