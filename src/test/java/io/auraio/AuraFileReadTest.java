package io.auraio;

import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads through {@link AuraFile} give what {@link FileChannel} gives: the same count, the same
 * bytes, the same buffer position and limit; buffered and O_DIRECT, for every kind of memory.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileReadTest {
    private static final int ALIGN = Direct.ALIGN;
    /** Not a multiple of the page size, so the file ends inside a block. */
    private static final int FILE_SIZE = 16 * ALIGN + 1234;
    private static final long FIVE_GIB = 5L << 30;
    /** Bytes the reads must leave alone. */
    private static final byte SENTINEL = (byte) 0xA5;

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(2).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Path file;
    private byte[] content;

    @BeforeEach
    void writeFile() throws IOException {
        content = randomBytes(FILE_SIZE, 42);
        file = dir.resolve("data");
        Files.write(file, content);
    }

    static Stream<Arguments> bufferedCases() {
        long[][] cases = {
            {0, 4096}, {1, 100}, {4095, 5000}, {0, FILE_SIZE}, {0, FILE_SIZE + 10_000},
            {FILE_SIZE - 10, 100}, {FILE_SIZE, 100}, {FILE_SIZE + 5000, 100}, {100, 0}, {FILE_SIZE, 0},
        };
        return BufferKind.withEachKind(cases);
    }

    static Stream<Arguments> directCases() {
        long[][] cases = {
            {0, ALIGN}, {2 * ALIGN, 4 * ALIGN}, {0, 17 * ALIGN},
            {16 * ALIGN, 2 * ALIGN},            // crosses the end of the file: short read
            {17 * ALIGN, ALIGN}, {32 * ALIGN, ALIGN}, // past the end
            {0, 0}, {17 * ALIGN, 0},
        };
        return BufferKind.withEachKind(cases);
    }

    @ParameterizedTest(name = "{0} at {1}, {2} bytes")
    @MethodSource("bufferedCases")
    void bufferedReadMatchesFileChannel(BufferKind kind, long position, int length) throws IOException {
        readMatchesFileChannel(kind, position, length, READ);
    }

    @ParameterizedTest(name = "{0} at {1}, {2} bytes")
    @MethodSource("directCases")
    void directReadMatchesFileChannel(BufferKind kind, long position, int length) throws IOException {
        readMatchesFileChannel(kind, position, length, READ, Direct.DIRECT);
    }

    /**
     * Reads {@code length} bytes at {@code position} with both channels, into buffers whose
     * position is {@link #ALIGN} (aligned for O_DIRECT, and not 0) and whose limit leaves room
     * behind, and compares everything observable. With O_DIRECT the bytes between the count and
     * the limit are not compared: for a read that ends at the end of the file the kernel may zero
     * the rest of the last block in the caller's memory, as it does for FileChannel.
     */
    private void readMatchesFileChannel(BufferKind kind, long position, int length, OpenOption... options)
            throws IOException {
        boolean direct = Arrays.asList(options).contains(Direct.DIRECT);
        int capacity = length + 2 * ALIGN;
        try (Arena arena = Arena.ofConfined();
             FileChannel fc = FileChannel.open(file, READ);
             AuraFile af = AuraFile.open(shared.engine(), file, options)) {
            ByteBuffer expected = sentinelFilled(ByteBuffer.allocate(capacity));
            expected.position(ALIGN).limit(ALIGN + length);
            int expectedCount = fc.read(expected, position);
            assertReadAgreesWithContent(expectedCount, Arrays.copyOfRange(expected.array(), ALIGN, ALIGN + length),
                    position, length);

            if (kind.isSegment()) {
                MemorySegment segment = kind.newSegment(arena, length).fill(SENTINEL);
                int count = af.read(segment, position);
                assertThat(count).as("count").isEqualTo(expectedCount);
                int compared = direct && count > 0 ? count : length;
                assertThat(Arrays.copyOf(segment.toArray(JAVA_BYTE), compared)).as("bytes")
                        .isEqualTo(Arrays.copyOfRange(expected.array(), ALIGN, ALIGN + compared));
            } else {
                ByteBuffer buffer = sentinelFilled(kind.newBuffer(arena, capacity));
                buffer.position(ALIGN).limit(ALIGN + length);
                int count = af.read(buffer, position);
                assertThat(count).as("count").isEqualTo(expectedCount);
                assertThat(buffer.position()).as("position").isEqualTo(expected.position());
                assertThat(buffer.limit()).as("limit").isEqualTo(expected.limit());
                byte[] got = bytes(buffer);
                if (direct && count > 0) {
                    // O_DIRECT moves whole blocks: the kernel may zero the rest of the block
                    // after the end of the file, between the count and the limit.
                    Arrays.fill(got, ALIGN + count, ALIGN + length, SENTINEL);
                }
                assertThat(got).as("bytes").isEqualTo(expected.array());
            }
        }
    }

    /** Checks the reference itself: FileChannel's answer agrees with what the file holds. */
    private void assertReadAgreesWithContent(int count, byte[] read, long position, int length) {
        if (length == 0) {
            assertThat(count).isZero();
        } else if (position >= FILE_SIZE) {
            assertThat(count).isEqualTo(-1);
        } else {
            int n = (int) Math.min(length, FILE_SIZE - position);
            assertThat(count).isEqualTo(n);
            assertThat(Arrays.copyOf(read, n)).isEqualTo(Arrays.copyOfRange(content, (int) position, (int) position + n));
        }
    }

    private static ByteBuffer sentinelFilled(ByteBuffer b) {
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, SENTINEL);
        }
        return b;
    }

    /** {@return every byte of {@code b}, 0 to capacity} */
    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.duplicate().clear().get(out);
        return out;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readAtOrPastEndOfFileReturnsMinusOne(boolean direct) throws IOException {
        try (Arena arena = Arena.ofConfined(); AuraFile af = open(direct)) {
            for (long position : new long[] {17 * ALIGN, 100 * ALIGN}) {
                ByteBuffer buffer = Direct.aligned(arena, ALIGN).asByteBuffer();
                assertThat(af.read(buffer, position)).isEqualTo(-1);
                assertThat(buffer.position()).isZero();
                assertThat(af.read(Direct.aligned(arena, ALIGN), position)).isEqualTo(-1);
                assertThat(af.read(MemorySegment.ofArray(new byte[ALIGN]), position)).isEqualTo(-1);
                assertThat(af.read(ByteBuffer.allocate(ALIGN), position)).isEqualTo(-1);
            }
            if (!direct) {
                assertThat(af.read(ByteBuffer.allocate(10), FILE_SIZE)).isEqualTo(-1);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readIntoEmptyBufferReturnsZeroEvenAtEndOfFile(boolean direct) throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel fc = FileChannel.open(file, READ); AuraFile af = open(direct)) {
            for (long position : new long[] {0, 17 * ALIGN}) {
                assertThat(af.read(ByteBuffer.allocate(0), position)).isZero();
                assertThat(af.read(ByteBuffer.allocate(8).position(8), position)).isZero();
                assertThat(af.read(Direct.aligned(arena, ALIGN).asByteBuffer().limit(0), position)).isZero();
                assertThat(af.read(MemorySegment.ofArray(new byte[0]), position)).isZero();
                assertThat(af.read(Direct.aligned(arena, ALIGN).asSlice(0, 0), position)).isZero();
                assertThat(fc.read(ByteBuffer.allocate(0), position)).isZero();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readOfEmptyFileReturnsMinusOne(boolean direct) throws IOException {
        Path empty = dir.resolve("empty");
        Files.createFile(empty);
        try (Arena arena = Arena.ofConfined();
             AuraFile af = direct ? AuraFile.open(shared.engine(), empty, READ, Direct.DIRECT) : AuraFile.open(shared.engine(), empty)) {
            assertThat(af.read(Direct.aligned(arena, ALIGN).asByteBuffer(), 0)).isEqualTo(-1);
            assertThat(af.read(ByteBuffer.allocate(ALIGN), 0)).isEqualTo(-1);
            assertThat(af.size()).isZero();
        }
    }

    /** Larger than the pool's biggest class: the bounce buffer is allocated for the call alone. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void largeHeapReadMatchesFileChannel(boolean direct) throws IOException {
        int size = 5 << 20;
        byte[] big = randomBytes(size, 7);
        Path bigFile = dir.resolve("big");
        Files.write(bigFile, big);
        try (AuraFile af = direct ? AuraFile.open(shared.engine(), bigFile, READ, Direct.DIRECT) : AuraFile.open(shared.engine(), bigFile)) {
            ByteBuffer buffer = ByteBuffer.allocate(size);
            af.readFully(buffer, 0);
            assertThat(buffer.array()).isEqualTo(big);
            byte[] array = new byte[size];
            af.readFully(MemorySegment.ofArray(array), 0);
            assertThat(array).isEqualTo(big);
        }
    }

    @ParameterizedTest
    @EnumSource(BufferKind.class)
    void readFullyFillsTheBuffer(BufferKind kind) throws IOException {
        try (Arena arena = Arena.ofConfined(); AuraFile af = AuraFile.open(shared.engine(), file)) {
            int length = 3 * ALIGN + 17;
            if (kind.isSegment()) {
                MemorySegment segment = kind.newSegment(arena, length);
                af.readFully(segment, 5);
                assertThat(segment.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(content, 5, 5 + length));
            } else {
                ByteBuffer buffer = kind.newBuffer(arena, length + 10).position(10);
                af.readFully(buffer, 5);
                assertThat(buffer.position()).isEqualTo(buffer.limit());
                byte[] got = new byte[length];
                buffer.get(10, got);
                assertThat(got).isEqualTo(Arrays.copyOfRange(content, 5, 5 + length));
            }
        }
    }

    @Test
    void readIntoASliceOfAnArrayTouchesOnlyTheSlice() throws IOException {
        byte[] array = new byte[300];
        Arrays.fill(array, SENTINEL);
        ByteBuffer slice = ByteBuffer.wrap(array).position(100).slice().limit(50);
        try (AuraFile af = AuraFile.open(shared.engine(), file)) {
            assertThat(af.read(slice, 7)).isEqualTo(50);
        }
        assertThat(slice.position()).isEqualTo(50);
        assertThat(Arrays.copyOfRange(array, 100, 150)).isEqualTo(Arrays.copyOfRange(content, 7, 57));
        assertThat(Arrays.copyOf(array, 100)).containsOnly(SENTINEL);
        assertThat(Arrays.copyOfRange(array, 150, 300)).containsOnly(SENTINEL);
    }

    @Test
    void readFullyThrowsEofExceptionWhenTheFileIsShortAndLeavesWhatItRead() throws IOException {
        try (AuraFile af = AuraFile.open(shared.engine(), file)) {
            ByteBuffer buffer = ByteBuffer.allocate(200);
            assertThatThrownBy(() -> af.readFully(buffer, FILE_SIZE - 50)).isInstanceOf(EOFException.class)
                    .hasMessageContaining(String.valueOf(FILE_SIZE));
            assertThat(buffer.position()).isEqualTo(50);
            assertThat(Arrays.copyOf(buffer.array(), 50)).isEqualTo(Arrays.copyOfRange(content, FILE_SIZE - 50, FILE_SIZE));

            MemorySegment segment = MemorySegment.ofArray(new byte[200]);
            assertThatThrownBy(() -> af.readFully(segment, FILE_SIZE - 50)).isInstanceOf(EOFException.class);
            assertThatThrownBy(() -> af.readFully(ByteBuffer.allocate(1), FILE_SIZE)).isInstanceOf(EOFException.class);
        }
    }

    @Test
    void readFullyOfEmptyBufferAtEndOfFileReturnsNormally() throws IOException {
        try (AuraFile af = AuraFile.open(shared.engine(), file)) {
            af.readFully(ByteBuffer.allocate(0), FILE_SIZE + 100);
            af.readFully(MemorySegment.ofArray(new byte[0]), FILE_SIZE + 100);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readsWhatFileChannelWrotePastFiveGiB(boolean direct) throws IOException {
        Path sparse = dir.resolve("sparse");
        byte[] data = randomBytes(3 * ALIGN, 5);
        try (FileChannel fc = FileChannel.open(sparse, CREATE_NEW, WRITE)) {
            assertThat(fc.write(ByteBuffer.wrap(data), FIVE_GIB)).isEqualTo(data.length);
        }
        try (Arena arena = Arena.ofConfined();
             AuraFile af = direct ? AuraFile.open(shared.engine(), sparse, READ, Direct.DIRECT) : AuraFile.open(shared.engine(), sparse)) {
            assertThat(af.size()).isEqualTo(FIVE_GIB + data.length);

            MemorySegment segment = Direct.aligned(arena, data.length);
            assertThat(af.read(segment, FIVE_GIB)).isEqualTo(data.length);
            assertThat(segment.toArray(JAVA_BYTE)).isEqualTo(data);

            ByteBuffer heap = ByteBuffer.allocate(data.length);
            af.readFully(heap, FIVE_GIB);
            assertThat(heap.array()).isEqualTo(data);

            // The hole just below reads as zeros, and the end is where FileChannel put it.
            MemorySegment hole = Direct.aligned(arena, ALIGN).fill((byte) 1);
            assertThat(af.read(hole, FIVE_GIB - ALIGN)).isEqualTo(ALIGN);
            assertThat(hole.toArray(JAVA_BYTE)).containsOnly((byte) 0);
            assertThat(af.read(Direct.aligned(arena, ALIGN), FIVE_GIB + data.length)).isEqualTo(-1);
        }
    }

    private AuraFile open(boolean direct) throws IOException {
        return direct ? AuraFile.open(shared.engine(), file, READ, Direct.DIRECT) : AuraFile.open(shared.engine(), file, READ);
    }
}
