package io.auraio;

import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Wrong use of an open {@link AuraFile} gets the exception a {@link FileChannel} user expects;
 * where FileChannel has the same rule, the same call on a FileChannel is checked side by side.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileMisuseTest {
    private static final int ALIGN = Direct.ALIGN;
    private static final int FILE_SIZE = 8 * ALIGN;

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Path file;
    private byte[] content;

    @BeforeEach
    void writeFile() throws IOException {
        content = randomBytes(FILE_SIZE, 3);
        file = dir.resolve("data");
        Files.write(file, content);
    }

    /** Asserts that both calls throw {@code type}. */
    private static void bothThrow(Class<? extends Throwable> type, ThrowingCallable aura, ThrowingCallable fileChannel) {
        assertThatThrownBy(fileChannel).as("FileChannel").isInstanceOf(type);
        assertThatThrownBy(aura).as("AuraFile").isInstanceOf(type);
    }

    @Test
    void everyOperationOnAClosedFileThrowsClosedChannelException() throws IOException {
        AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE);
        FileChannel fc = FileChannel.open(file, READ, WRITE);
        af.close();
        fc.close();
        Class<ClosedChannelException> closed = ClosedChannelException.class;
        bothThrow(closed, () -> af.read(ByteBuffer.allocate(8), 0), () -> fc.read(ByteBuffer.allocate(8), 0));
        bothThrow(closed, () -> af.write(ByteBuffer.allocate(8), 0), () -> fc.write(ByteBuffer.allocate(8), 0));
        bothThrow(closed, af::size, fc::size);
        bothThrow(closed, () -> af.force(true), () -> fc.force(true));
        bothThrow(closed, () -> af.force(false), () -> fc.force(false));
        // An empty buffer does not skip the check.
        bothThrow(closed, () -> af.read(ByteBuffer.allocate(0), 0), () -> fc.read(ByteBuffer.allocate(0), 0));
        assertThatThrownBy(() -> af.read(MemorySegment.ofArray(new byte[8]), 0)).isInstanceOf(closed);
        assertThatThrownBy(() -> af.write(MemorySegment.ofArray(new byte[8]), 0)).isInstanceOf(closed);
        assertThatThrownBy(() -> af.readFully(ByteBuffer.allocate(8), 0)).isInstanceOf(closed);
        assertThatThrownBy(() -> af.writeFully(ByteBuffer.allocate(8), 0)).isInstanceOf(closed);
        assertThat(af.isOpen()).isEqualTo(fc.isOpen()).isFalse();
    }

    @Test
    void negativePositionThrowsIllegalArgumentExceptionEvenOnAClosedFile() throws IOException {
        try (AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE); FileChannel fc = FileChannel.open(file, READ, WRITE)) {
            negativePositionIsRefused(af, fc);
        }
        AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE);
        FileChannel fc = FileChannel.open(file, READ, WRITE);
        af.close();
        fc.close();
        negativePositionIsRefused(af, fc);
    }

    private static void negativePositionIsRefused(AuraFile af, FileChannel fc) {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        bothThrow(iae, () -> af.read(ByteBuffer.allocate(8), -1), () -> fc.read(ByteBuffer.allocate(8), -1));
        bothThrow(iae, () -> af.write(ByteBuffer.allocate(8), -1), () -> fc.write(ByteBuffer.allocate(8), -1));
        bothThrow(iae, () -> af.read(ByteBuffer.allocate(8), Long.MIN_VALUE),
                () -> fc.read(ByteBuffer.allocate(8), Long.MIN_VALUE));
        assertThatThrownBy(() -> af.read(MemorySegment.ofArray(new byte[8]), -1)).isInstanceOf(iae);
        assertThatThrownBy(() -> af.write(MemorySegment.ofArray(new byte[8]), -1)).isInstanceOf(iae);
        assertThatThrownBy(() -> af.readFully(ByteBuffer.allocate(8), -1)).isInstanceOf(iae);
        assertThatThrownBy(() -> af.readFully(MemorySegment.ofArray(new byte[8]), -1)).isInstanceOf(iae);
        assertThatThrownBy(() -> af.writeFully(ByteBuffer.allocate(8), -1)).isInstanceOf(iae);
        assertThatThrownBy(() -> af.writeFully(MemorySegment.ofArray(new byte[8]), -1)).isInstanceOf(iae);
    }

    @Test
    void readIntoReadOnlyMemoryThrowsIllegalArgumentException() throws IOException {
        try (Arena arena = Arena.ofConfined();
             AuraFile af = AuraFile.open(shared.engine(), file, READ);
             FileChannel fc = FileChannel.open(file, READ)) {
            bothThrow(IllegalArgumentException.class, () -> af.read(ByteBuffer.allocate(8).asReadOnlyBuffer(), 0),
                    () -> fc.read(ByteBuffer.allocate(8).asReadOnlyBuffer(), 0));
            bothThrow(IllegalArgumentException.class, () -> af.read(ByteBuffer.allocateDirect(8).asReadOnlyBuffer(), 0),
                    () -> fc.read(ByteBuffer.allocateDirect(8).asReadOnlyBuffer(), 0));
            assertThatThrownBy(() -> af.read(MemorySegment.ofArray(new byte[8]).asReadOnly(), 0))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> af.read(arena.allocate(8).asReadOnly(), 0))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void writeToAFileOpenedForReadingOnlyThrowsNonWritableChannelException() throws IOException {
        try (AuraFile af = AuraFile.open(shared.engine(), file, READ); FileChannel fc = FileChannel.open(file, READ)) {
            Class<NonWritableChannelException> type = NonWritableChannelException.class;
            bothThrow(type, () -> af.write(ByteBuffer.allocate(8), 0), () -> fc.write(ByteBuffer.allocate(8), 0));
            bothThrow(type, () -> af.write(ByteBuffer.allocate(0), 0), () -> fc.write(ByteBuffer.allocate(0), 0));
            assertThatThrownBy(() -> af.write(MemorySegment.ofArray(new byte[8]), 0)).isInstanceOf(type);
            assertThatThrownBy(() -> af.writeFully(ByteBuffer.allocate(8), 0)).isInstanceOf(type);
            assertThatThrownBy(() -> af.writeFully(MemorySegment.ofArray(new byte[8]), 0)).isInstanceOf(type);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(content);
    }

    @Test
    void readFromAFileOpenedForWritingOnlyThrowsNonReadableChannelException() throws IOException {
        try (AuraFile af = AuraFile.open(shared.engine(), file, WRITE); FileChannel fc = FileChannel.open(file, WRITE)) {
            Class<NonReadableChannelException> type = NonReadableChannelException.class;
            bothThrow(type, () -> af.read(ByteBuffer.allocate(8), 0), () -> fc.read(ByteBuffer.allocate(8), 0));
            bothThrow(type, () -> af.read(ByteBuffer.allocate(0), 0), () -> fc.read(ByteBuffer.allocate(0), 0));
            assertThatThrownBy(() -> af.read(MemorySegment.ofArray(new byte[8]), 0)).isInstanceOf(type);
            assertThatThrownBy(() -> af.readFully(ByteBuffer.allocate(8), 0)).isInstanceOf(type);
            assertThatThrownBy(() -> af.readFully(MemorySegment.ofArray(new byte[8]), 0)).isInstanceOf(type);
        }
    }

    @Test
    void memoryOfAClosedArenaIsRefusedWithIllegalStateException() throws IOException {
        Arena closedArena = Arena.ofConfined();
        MemorySegment segment = closedArena.allocate(ALIGN, ALIGN);
        ByteBuffer buffer = closedArena.allocate(ALIGN, ALIGN).asByteBuffer();
        closedArena.close();
        try (AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE);
             AuraFile direct = AuraFile.open(shared.engine(), file, READ, WRITE, Direct.DIRECT);
             FileChannel fc = FileChannel.open(file, READ, WRITE)) {
            Class<IllegalStateException> ise = IllegalStateException.class;
            bothThrow(ise, () -> af.read(buffer, 0), () -> fc.read(buffer, 0));
            bothThrow(ise, () -> af.write(buffer, 0), () -> fc.write(buffer, 0));
            assertThatThrownBy(() -> af.read(segment, 0)).isInstanceOf(ise);
            assertThatThrownBy(() -> af.write(segment, 0)).isInstanceOf(ise);
            assertThatThrownBy(() -> direct.read(segment, 0)).isInstanceOf(ise);
            assertThatThrownBy(() -> direct.write(segment, 0)).isInstanceOf(ise);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(content);
    }

    @Test
    void nullBuffersThrowNullPointerException() throws IOException {
        try (AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE); FileChannel fc = FileChannel.open(file, READ, WRITE)) {
            Class<NullPointerException> npe = NullPointerException.class;
            bothThrow(npe, () -> af.read((ByteBuffer) null, 0), () -> fc.read(null, 0));
            bothThrow(npe, () -> af.write((ByteBuffer) null, 0), () -> fc.write(null, 0));
            assertThatThrownBy(() -> af.read((MemorySegment) null, 0)).isInstanceOf(npe);
            assertThatThrownBy(() -> af.write((MemorySegment) null, 0)).isInstanceOf(npe);
            assertThatThrownBy(() -> af.readFully((ByteBuffer) null, 0)).isInstanceOf(npe);
            assertThatThrownBy(() -> af.readFully((MemorySegment) null, 0)).isInstanceOf(npe);
            assertThatThrownBy(() -> af.writeFully((ByteBuffer) null, 0)).isInstanceOf(npe);
            assertThatThrownBy(() -> af.writeFully((MemorySegment) null, 0)).isInstanceOf(npe);
        }
    }

    // ---- O_DIRECT alignment ------------------------------------------------------------------

    @Test
    void misalignedDirectPositionIsRefusedWithAMessageSayingWhatToAlign() throws IOException {
        try (Arena arena = Arena.ofConfined(); AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE, Direct.DIRECT)) {
            MemorySegment block = Direct.aligned(arena, ALIGN);
            assertInvalid(() -> af.read(block, 1), "file position (1)");
            assertInvalid(() -> af.write(block, 1), "file position (1)");
            assertInvalid(() -> af.read(ByteBuffer.allocate(ALIGN), ALIGN + 1), "file position (" + (ALIGN + 1) + ")");
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(content);
        assertFileChannelRefusesDirect(ch -> ch.read(Direct.aligned(Arena.ofAuto(), ALIGN).asByteBuffer(), 1));
    }

    @Test
    void misalignedDirectLengthIsRefusedWithAMessageSayingWhatToAlign() throws IOException {
        try (Arena arena = Arena.ofConfined(); AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE, Direct.DIRECT)) {
            MemorySegment shortBlock = Direct.aligned(arena, ALIGN).asSlice(0, ALIGN - 1);
            assertInvalid(() -> af.read(shortBlock, 0), "transfer length (" + (ALIGN - 1) + " bytes)");
            assertInvalid(() -> af.write(shortBlock, 0), "transfer length (" + (ALIGN - 1) + " bytes)");
            // Heap memory goes through an aligned pool buffer, but its length still counts.
            assertInvalid(() -> af.write(ByteBuffer.allocate(100), 0), "transfer length (100 bytes)");
            assertInvalid(() -> af.read(MemorySegment.ofArray(new byte[100]), 0), "transfer length (100 bytes)");
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(content);
        assertFileChannelRefusesDirect(
                ch -> ch.read(Direct.aligned(Arena.ofAuto(), ALIGN * 2).asByteBuffer().limit(100), 0));
    }

    @Test
    void misalignedDirectBufferAddressIsRefusedWithAMessageSayingWhatToAlign() throws IOException {
        try (Arena arena = Arena.ofConfined(); AuraFile af = AuraFile.open(shared.engine(), file, READ, WRITE, Direct.DIRECT)) {
            MemorySegment shifted = Direct.aligned(arena, 2 * ALIGN).asSlice(1, ALIGN);
            assertInvalid(() -> af.read(shifted, 0), "buffer address (0x" + Long.toHexString(shifted.address()) + ")");
            assertInvalid(() -> af.write(shifted, 0), "buffer address");
            ByteBuffer shiftedBuffer = Direct.aligned(arena, 2 * ALIGN).asByteBuffer().position(1).limit(1 + ALIGN);
            assertInvalid(() -> af.read(shiftedBuffer, 0), "buffer address");
            assertThat(shiftedBuffer.position()).isEqualTo(1);
            // The same bytes from heap memory are fine: they are copied through an aligned buffer.
            ByteBuffer heap = ByteBuffer.allocate(2 * ALIGN).position(1).limit(1 + ALIGN);
            assertThat(af.read(heap, 0)).isEqualTo(ALIGN);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(content);
        assertFileChannelRefusesDirect(ch -> ch.read(Direct.aligned(Arena.ofAuto(), 2 * ALIGN).asByteBuffer()
                .position(1).limit(1 + ALIGN), 0));
    }

    private static void assertInvalid(ThrowingCallable call, String what) {
        assertThatThrownBy(call).isInstanceOf(AuraIOException.class)
                .matches(t -> ((AuraIOException) t).isInvalid(), "isInvalid()")
                .hasMessageContaining("O_DIRECT requires the " + what)
                .hasMessageMatching(".* to be a multiple of [1-9][0-9]*");
    }

    @FunctionalInterface
    private interface ChannelCall {
        void call(FileChannel channel) throws IOException;
    }

    /** FileChannel refuses the same misaligned transfer too, with a plain IOException. */
    private void assertFileChannelRefusesDirect(ChannelCall call) throws IOException {
        try (FileChannel fc = FileChannel.open(file, READ, WRITE, Direct.DIRECT)) {
            assertThatThrownBy(() -> call.call(fc)).isInstanceOf(IOException.class);
        }
    }

    // ---- the default engine --------------------------------------------------------------

    @Test
    void closingTheDefaultEngineThrowsUnsupportedOperationExceptionAndLeavesItRunning() throws IOException {
        Engine shared = AuraIO.defaultEngine();
        assertThatThrownBy(shared::close).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("default engine");
        assertThat(shared.isClosed()).isFalse();
        try (AuraFile af = AuraFile.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(16);
            assertThat(af.read(b, 0)).isEqualTo(16);
        }
    }
}
