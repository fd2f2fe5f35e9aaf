package io.auraio;

import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
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
 * Writes through {@link AuraFile} leave the file as the same writes through {@link FileChannel}
 * do, return the same counts and move the buffer the same way; {@code writeFully}, {@code force}
 * and {@code size}.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileWriteTest {
    private static final int ALIGN = Direct.ALIGN;
    private static final int FILE_SIZE = 16 * ALIGN + 1234;
    private static final long FIVE_GIB = 5L << 30;

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(2).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Written through AuraFile. */
    private Path file;
    /** The same writes through FileChannel. */
    private Path reference;

    @BeforeEach
    void writeFiles() throws IOException {
        byte[] content = randomBytes(FILE_SIZE, 42);
        file = dir.resolve("data");
        reference = dir.resolve("reference");
        Files.write(file, content);
        Files.write(reference, content);
    }

    static Stream<Arguments> bufferedCases() {
        long[][] cases = {
            {0, 100}, {1, ALIGN}, {100, FILE_SIZE},
            {FILE_SIZE - 10, 100},       // extends the file
            {FILE_SIZE + 5000, 100},     // leaves a hole
            {50, 0}, {FILE_SIZE + 5000, 0},
        };
        return BufferKind.withEachKind(cases);
    }

    static Stream<Arguments> directCases() {
        long[][] cases = {
            {0, ALIGN}, {2 * ALIGN, 4 * ALIGN},
            {16 * ALIGN, 2 * ALIGN},      // rewrites the partial last block and extends the file
            {20 * ALIGN, ALIGN},          // leaves a hole
            {0, 0},
        };
        return BufferKind.withEachKind(cases);
    }

    @ParameterizedTest(name = "{0} at {1}, {2} bytes")
    @MethodSource("bufferedCases")
    void bufferedWriteMatchesFileChannel(BufferKind kind, long position, int length) throws IOException {
        writeMatchesFileChannel(kind, position, length, WRITE);
    }

    @ParameterizedTest(name = "{0} at {1}, {2} bytes")
    @MethodSource("directCases")
    void directWriteMatchesFileChannel(BufferKind kind, long position, int length) throws IOException {
        writeMatchesFileChannel(kind, position, length, WRITE, Direct.DIRECT);
    }

    /**
     * Writes the same bytes at {@code position} with both channels, from buffers whose position
     * is {@link #ALIGN}, and compares counts, buffer state, sizes and the whole files.
     */
    private void writeMatchesFileChannel(BufferKind kind, long position, int length, OpenOption... options)
            throws IOException {
        byte[] data = randomBytes(length + 2 * ALIGN, position + length);
        try (Arena arena = Arena.ofConfined();
             FileChannel fc = FileChannel.open(reference, WRITE);
             AuraFile af = AuraFile.open(shared.engine(), file, options)) {
            ByteBuffer expected = ByteBuffer.wrap(data.clone()).position(ALIGN).limit(ALIGN + length);
            int expectedCount = fc.write(expected, position);
            assertThat(expectedCount).isEqualTo(length);

            if (kind.isSegment()) {
                MemorySegment segment = kind.newSegment(arena, length);
                MemorySegment.copy(data, ALIGN, segment, JAVA_BYTE, 0, length);
                assertThat(af.write(segment, position)).as("count").isEqualTo(expectedCount);
            } else {
                ByteBuffer buffer = kind.newBuffer(arena, data.length).put(0, data);
                buffer.position(ALIGN).limit(ALIGN + length);
                assertThat(af.write(buffer, position)).as("count").isEqualTo(expectedCount);
                assertThat(buffer.position()).as("position").isEqualTo(expected.position());
                assertThat(buffer.limit()).as("limit").isEqualTo(expected.limit());
            }
            assertThat(af.size()).as("size").isEqualTo(fc.size());
        }
        assertThat(Files.readAllBytes(file)).as("file").isEqualTo(Files.readAllBytes(reference));
    }

    @ParameterizedTest
    @EnumSource(BufferKind.class)
    void writeFullyWritesEverythingAndFileChannelReadsItBack(BufferKind kind) throws IOException {
        byte[] data = randomBytes(3 * ALIGN + 17, 9);
        try (Arena arena = Arena.ofConfined(); AuraFile af = AuraFile.open(shared.engine(), file, WRITE)) {
            if (kind.isSegment()) {
                MemorySegment segment = kind.newSegment(arena, data.length);
                MemorySegment.copy(data, 0, segment, JAVA_BYTE, 0, data.length);
                af.writeFully(segment, 7);
            } else {
                ByteBuffer buffer = kind.newBuffer(arena, data.length + 10).position(10);
                buffer.put(10, data);
                af.writeFully(buffer, 7);
                assertThat(buffer.hasRemaining()).isFalse();
            }
        }
        byte[] written = Arrays.copyOfRange(Files.readAllBytes(file), 7, 7 + data.length);
        assertThat(written).isEqualTo(data);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void writesPastFiveGiBAreReadBackByFileChannel(boolean direct) throws IOException {
        Path sparse = dir.resolve("sparse");
        byte[] data = randomBytes(3 * ALIGN, 11);
        Files.createFile(sparse);
        try (Arena arena = Arena.ofConfined();
             AuraFile af = direct ? AuraFile.open(shared.engine(), sparse, WRITE, Direct.DIRECT)
                     : AuraFile.open(shared.engine(), sparse, WRITE)) {
            MemorySegment segment = Direct.aligned(arena, data.length);
            MemorySegment.copy(data, 0, segment, JAVA_BYTE, 0, data.length);
            assertThat(af.write(segment, FIVE_GIB)).isEqualTo(data.length);
            af.writeFully(ByteBuffer.wrap(data), FIVE_GIB + data.length);
            assertThat(af.size()).isEqualTo(FIVE_GIB + 2L * data.length);
        }
        try (FileChannel fc = FileChannel.open(sparse, READ)) {
            assertThat(fc.size()).isEqualTo(FIVE_GIB + 2L * data.length);
            for (long at : new long[] {FIVE_GIB, FIVE_GIB + data.length}) {
                ByteBuffer back = ByteBuffer.allocate(data.length);
                while (back.hasRemaining() && fc.read(back, at + back.position()) > 0) {
                    // read on until full
                }
                assertThat(back.array()).isEqualTo(data);
            }
            ByteBuffer hole = ByteBuffer.allocate(ALIGN);
            assertThat(fc.read(hole, FIVE_GIB - ALIGN)).isEqualTo(ALIGN);
            assertThat(hole.array()).containsOnly((byte) 0);
        }
    }

    @Test
    void writeFromReadOnlyMemoryIsAllowedAsWithFileChannel() throws IOException {
        byte[] data = randomBytes(1000, 17);
        try (FileChannel fc = FileChannel.open(reference, WRITE); AuraFile af = AuraFile.open(shared.engine(), file, WRITE)) {
            ByteBuffer heap = ByteBuffer.wrap(data).asReadOnlyBuffer();
            assertThat(fc.write(heap.duplicate(), 10)).isEqualTo(data.length);
            assertThat(af.write(heap, 10)).isEqualTo(data.length);
            assertThat(heap.position()).isEqualTo(data.length);
            ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip().asReadOnlyBuffer();
            assertThat(fc.write(direct.duplicate(), 5000)).isEqualTo(data.length);
            assertThat(af.write(direct, 5000)).isEqualTo(data.length);
            assertThat(af.write(MemorySegment.ofArray(data).asReadOnly(), 9000)).isEqualTo(data.length);
            assertThat(fc.write(ByteBuffer.wrap(data), 9000)).isEqualTo(data.length);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(Files.readAllBytes(reference));
    }

    @Test
    void writeOfEmptyBufferReturnsZeroAndLeavesTheSizeAlone() throws IOException {
        try (FileChannel fc = FileChannel.open(reference, WRITE); AuraFile af = AuraFile.open(shared.engine(), file, WRITE)) {
            assertThat(fc.write(ByteBuffer.allocate(0), FILE_SIZE + 100)).isZero();
            assertThat(af.write(ByteBuffer.allocate(0), FILE_SIZE + 100)).isZero();
            assertThat(af.write(MemorySegment.ofArray(new byte[0]), FILE_SIZE + 100)).isZero();
            assertThat(af.size()).isEqualTo(FILE_SIZE).isEqualTo(fc.size());
        }
    }

    @Test
    void appendModeAppendsWhateverThePositionAsFileChannelDoes() throws IOException {
        byte[] data = randomBytes(300, 3);
        try (FileChannel fc = FileChannel.open(reference, APPEND); AuraFile af = AuraFile.open(shared.engine(), file, APPEND)) {
            assertThat(fc.write(ByteBuffer.wrap(data), 0)).isEqualTo(data.length);
            assertThat(af.write(ByteBuffer.wrap(data), 0)).isEqualTo(data.length);
            assertThat(af.size()).isEqualTo(FILE_SIZE + data.length);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(Files.readAllBytes(reference));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void forceWithAndWithoutMetadataSucceedsAndKeepsTheData(boolean direct) throws IOException {
        byte[] data = randomBytes(ALIGN, 13);
        try (Arena arena = Arena.ofConfined();
             AuraFile af = direct ? AuraFile.open(shared.engine(), file, WRITE, Direct.DIRECT)
                     : AuraFile.open(shared.engine(), file, WRITE)) {
            MemorySegment segment = Direct.aligned(arena, ALIGN);
            MemorySegment.copy(data, 0, segment, JAVA_BYTE, 0, ALIGN);
            af.write(segment, 0);
            af.force(false);
            af.write(segment, 20 * ALIGN);
            af.force(true);
            assertThat(af.size()).isEqualTo(21 * ALIGN);
        }
        byte[] all = Files.readAllBytes(file);
        assertThat(Arrays.copyOf(all, ALIGN)).isEqualTo(data);
        assertThat(Arrays.copyOfRange(all, 20 * ALIGN, 21 * ALIGN)).isEqualTo(data);
    }

    @Test
    void forceOfFileOpenedForReadingSucceedsAsWithFileChannel() throws IOException {
        try (FileChannel fc = FileChannel.open(file, READ); AuraFile af = AuraFile.open(shared.engine(), file, READ)) {
            fc.force(true);
            af.force(true);
            af.force(false);
            assertThat(af.isOpen()).isTrue();
        }
    }

    @Test
    void sizeFollowsWritesAndTruncationByOthers() throws IOException {
        Path empty = dir.resolve("empty");
        try (AuraFile af = AuraFile.open(shared.engine(), empty, CREATE_NEW, READ, WRITE);
             FileChannel fc = FileChannel.open(empty, WRITE)) {
            assertThat(af.size()).isZero();
            af.write(ByteBuffer.wrap(new byte[10]), 1 << 20);
            assertThat(af.size()).isEqualTo((1 << 20) + 10).isEqualTo(fc.size());
            fc.truncate(5);
            assertThat(af.size()).isEqualTo(5);
        }
    }
}
