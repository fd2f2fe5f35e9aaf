package io.auraio;

import static io.auraio.testing.TestSupport.randomBytes;
import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.auraio.internal.binding.Errno;
import io.auraio.testing.Direct;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The {@link AuraFile} contract for files opened without an engine, so in the backend this JVM
 * has: io_uring in the test run itself, and {@link Backend#JDK} when {@code FallbackTest} runs this
 * class again in a JVM with {@code -Dauraio.backend=jdk}. The same cases with the same expected
 * answers in both modes.
 */
class FallbackContractTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private AuraFile open(String name, OpenOption... options) throws IOException {
        return AuraFile.open(dir.resolve(name), options);
    }

    @Test
    void filesOpenedWithoutAnEngineUseTheBackendOfTheJvm() throws IOException {
        try (AuraFile f = open("f", CREATE_NEW, WRITE)) {
            assertThat(f.backend()).isEqualTo(AuraIO.backend());
            if (f.backend() == Backend.JDK) {
                assertThat(AuraIO.fallbackCause()).isPresent();
                assertThatThrownBy(f::fd).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("backend JDK");
                assertThatThrownBy(f::engine).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("backend JDK");
                assertThat(f.jdkChannel()).isNotNull();
            } else {
                assertThat(AuraIO.fallbackCause()).isEmpty();
                assertThat(f.fd()).isNotNegative();
                assertThat(f.engine()).isSameAs(AuraIO.defaultEngine());
                assertThat(f.jdkChannel()).isNull();
            }
        }
    }

    @Test
    void everyBufferKindRoundTrips() throws IOException {
        byte[] data = randomBytes(10_000, 1);
        try (AuraFile f = open("f", CREATE_NEW, READ, WRITE); Arena arena = Arena.ofConfined()) {
            ByteBuffer heap = ByteBuffer.wrap(data, 0, 1000);
            assertThat(f.write(heap, 0)).isEqualTo(1000);
            assertThat(heap.position()).isEqualTo(1000);
            ByteBuffer direct = ByteBuffer.allocateDirect(1000).put(data, 1000, 1000).flip();
            assertThat(f.write(direct, 1000)).isEqualTo(1000);
            assertThat(direct.hasRemaining()).isFalse();
            MemorySegment nativeSegment = arena.allocate(1000);
            MemorySegment.copy(data, 2000, nativeSegment, ValueLayout.JAVA_BYTE, 0, 1000);
            assertThat(f.write(nativeSegment, 2000)).isEqualTo(1000);
            assertThat(f.write(MemorySegment.ofArray(data).asSlice(3000, 1000), 3000)).isEqualTo(1000);
            long[] longs = new long[125];
            MemorySegment.copy(MemorySegment.ofArray(data), 4000, MemorySegment.ofArray(longs), 0, 1000);
            assertThat(f.write(MemorySegment.ofArray(longs), 4000)).isEqualTo(1000);
            ByteBuffer readOnly = ByteBuffer.wrap(data, 5000, 5000).asReadOnlyBuffer();
            f.writeFully(readOnly, 5000);
            assertThat(f.size()).isEqualTo(data.length);
            assertThat(Files.readAllBytes(dir.resolve("f"))).isEqualTo(data);

            ByteBuffer heapBack = ByteBuffer.allocate(3000);
            heapBack.position(1000);
            assertThat(f.read(heapBack, 0)).isEqualTo(2000);
            assertThat(heapBack.position()).isEqualTo(3000);
            assertThat(heapBack.array()).startsWith(new byte[1000]);
            ByteBuffer directBack = ByteBuffer.allocateDirect(2000);
            f.readFully(directBack, 2000);
            assertThat(directBack.flip()).isEqualTo(ByteBuffer.wrap(data, 2000, 2000));
            MemorySegment nativeBack = arena.allocate(1000);
            assertThat(f.read(nativeBack, 4000)).isEqualTo(1000);
            assertThat(nativeBack.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(data, 4000, 1000));
            long[] longsBack = new long[500];
            f.readFully(MemorySegment.ofArray(longsBack), 6000);
            assertThat(MemorySegment.ofArray(longsBack).toArray(ValueLayout.JAVA_BYTE))
                    .isEqualTo(slice(data, 6000, 4000));
        }
    }

    private static byte[] slice(byte[] data, int from, int length) {
        byte[] out = new byte[length];
        System.arraycopy(data, from, out, 0, length);
        return out;
    }

    @Test
    void endOfFileIsMinusOneOnlyWhenTheBufferHasRoom() throws IOException {
        try (AuraFile f = open("f", CREATE_NEW, READ, WRITE)) {
            f.writeFully(ByteBuffer.wrap(new byte[100]), 0);
            assertThat(f.read(ByteBuffer.allocate(10), 100)).isEqualTo(-1);
            assertThat(f.read(ByteBuffer.allocate(10), 5000)).isEqualTo(-1);
            assertThat(f.read(ByteBuffer.allocate(0), 100)).isZero();
            assertThat(f.read(MemorySegment.ofArray(new byte[10]), 100)).isEqualTo(-1);
            assertThat(f.read(MemorySegment.ofArray(new byte[0]), 100)).isZero();
            assertThat(f.read(ByteBuffer.allocate(200), 50)).isEqualTo(50);
        }
    }

    @Test
    void readFullyPastTheEndThrowsEofExceptionAndLeavesTheBytesItRead() throws IOException {
        try (AuraFile f = open("f", CREATE_NEW, READ, WRITE)) {
            f.writeFully(ByteBuffer.wrap(randomBytes(100, 2)), 0);
            ByteBuffer dst = ByteBuffer.allocate(150);
            assertThatThrownBy(() -> f.readFully(dst, 0)).isInstanceOf(EOFException.class);
            assertThat(dst.position()).isEqualTo(100);
            assertThatThrownBy(() -> f.readFully(MemorySegment.ofArray(new byte[10]), 95))
                    .isInstanceOf(EOFException.class);
        }
    }

    @Test
    void misuseIsRefusedAsFileChannelRefusesIt() throws IOException {
        Files.write(dir.resolve("r"), new byte[10]);
        try (AuraFile readOnly = open("r", READ); AuraFile writeOnly = open("w", CREATE_NEW, WRITE)) {
            assertThatThrownBy(() -> readOnly.write(ByteBuffer.allocate(1), 0))
                    .isInstanceOf(NonWritableChannelException.class);
            assertThatThrownBy(() -> writeOnly.read(ByteBuffer.allocate(1), 0))
                    .isInstanceOf(NonReadableChannelException.class);
            assertThatThrownBy(() -> readOnly.read(ByteBuffer.allocate(1), -1))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> readOnly.read(ByteBuffer.allocate(1).asReadOnlyBuffer(), 0))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> readOnly.read(MemorySegment.ofArray(new byte[1]).asReadOnly(), 0))
                    .isInstanceOf(IllegalArgumentException.class);
            MemorySegment freed;
            try (Arena arena = Arena.ofConfined()) {
                freed = arena.allocate(10);
            }
            assertThatThrownBy(() -> readOnly.read(freed, 0)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void openFailsAsFileChannelOpenFails() throws IOException {
        assertThatThrownBy(() -> open("missing", READ)).isInstanceOf(NoSuchFileException.class);
        Files.write(dir.resolve("exists"), new byte[1]);
        assertThatThrownBy(() -> open("exists", CREATE_NEW, WRITE)).isInstanceOf(FileAlreadyExistsException.class);
        assertThatThrownBy(() -> open("exists", READ, APPEND)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> open("exists", READ, LinkOption.NOFOLLOW_LINKS, new OpenOption() {}))
                .isInstanceOf(UnsupportedOperationException.class);
        Files.createSymbolicLink(dir.resolve("link"), dir.resolve("exists"));
        assertThatThrownBy(() -> open("link", READ, LinkOption.NOFOLLOW_LINKS)).isInstanceOf(IOException.class);
    }

    @Test
    void aClosedFileRefusesEverything() throws IOException {
        AuraFile f = open("f", CREATE_NEW, READ, WRITE);
        f.close();
        f.close();
        assertThat(f.isOpen()).isFalse();
        assertThatThrownBy(() -> f.read(ByteBuffer.allocate(1), 0)).isInstanceOf(ClosedChannelException.class);
        assertThatThrownBy(() -> f.write(ByteBuffer.allocate(1), 0)).isInstanceOf(ClosedChannelException.class);
        assertThatThrownBy(() -> f.force(true)).isInstanceOf(ClosedChannelException.class);
        assertThatThrownBy(f::size).isInstanceOf(ClosedChannelException.class);
    }

    @Test
    void anInterruptedThreadClosesTheFileWithClosedByInterruptException() throws Exception {
        Files.write(dir.resolve("f"), new byte[100]);
        AuraFile f = open("f", READ);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread t = Thread.ofVirtual().unstarted(() -> {
            Thread.currentThread().interrupt();
            thrown.set(catchThrowable(() -> f.read(ByteBuffer.allocate(10), 0)));
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        t.start();
        t.join();
        assertThat(thrown.get()).isInstanceOf(ClosedByInterruptException.class);
        assertThat(stillInterrupted.get()).isTrue();
        assertThat(f.isOpen()).isFalse();
        assertThatThrownBy(() -> f.read(ByteBuffer.allocate(1), 0)).isInstanceOf(ClosedChannelException.class);
    }

    @Test
    void closeFromAnotherThreadWaitsForABlockedReaderThenRefusesEverything() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("FallbackContractTest")) {
            Path file = fs.path("blocked");
            Files.write(file, new byte[4096]);
            AuraFile f = AuraFile.open(file, READ);
            fs.hangReads(file);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    outcome.set(f.read(ByteBuffer.allocate(4096), 0));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            fs.awaitBlockedReads(1);
            AtomicReference<Throwable> closeFailure = new AtomicReference<>();
            Thread closer = Thread.ofPlatform().start(() -> closeFailure.set(catchThrowable(f::close)));
            TestSupport.awaitCondition("the file is marked closed", () -> !f.isOpen());
            assertThatThrownBy(() -> f.read(ByteBuffer.allocate(1), 0)).isInstanceOf(ClosedChannelException.class);
            fs.release(); // a FUSE read cannot be taken back: the daemon answers it
            reader.join();
            closer.join();
            assertThat(closeFailure.get()).isNull();
            // As FileChannel: a transfer that completed is returned even though the file closed
            // meanwhile; one that did not throws AsynchronousCloseException.
            assertThat(outcome.get()).satisfiesAnyOf(
                    o -> assertThat(o).isEqualTo(4096),
                    o -> assertThat(o).isInstanceOf(AsynchronousCloseException.class));
        }
    }

    @Test
    void interruptingABlockedReaderClosesTheFileWithClosedByInterruptException() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("FallbackContractTest")) {
            Path file = fs.path("blocked");
            Files.write(file, new byte[4096]);
            AuraFile f = AuraFile.open(file, READ);
            fs.hangReads(file);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                thrown.set(catchThrowable(() -> f.read(ByteBuffer.allocate(4096), 0)));
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
            fs.awaitBlockedReads(1);
            // In JDK mode Thread.interrupt() itself waits until the read ends (FileChannel closes
            // the channel from the interrupting thread and waits for its readers): interrupt from
            // another thread, and release the read once the interrupt status is set.
            Thread interrupter = Thread.ofPlatform().start(reader::interrupt);
            // (io_uring mode takes the interrupt status while it cancels; then interrupt() returns at once.)
            TestSupport.awaitCondition("the interrupt is delivered",
                    () -> reader.isInterrupted() || !interrupter.isAlive());
            fs.release();
            reader.join();
            interrupter.join();
            assertThat(thrown.get()).isInstanceOf(ClosedByInterruptException.class);
            assertThat(stillInterrupted.get()).isTrue();
            assertThat(f.isOpen()).isFalse();
        }
    }

    @Test
    void appendWritesAtTheEndWhateverThePosition() throws IOException {
        Files.write(dir.resolve("f"), "abc".getBytes());
        try (AuraFile f = open("f", APPEND)) {
            f.writeFully(ByteBuffer.wrap("def".getBytes()), 0);
            f.force(false);
        }
        assertThat(Files.readString(dir.resolve("f"))).isEqualTo("abcdef");
    }

    @Test
    void deleteOnCloseRemovesTheNameButKeepsTheData() throws IOException {
        Path p = dir.resolve("f");
        try (AuraFile f = AuraFile.open(p, CREATE_NEW, READ, WRITE, DELETE_ON_CLOSE)) {
            assertThat(p).doesNotExist();
            f.writeFully(ByteBuffer.wrap("kept".getBytes()), 0);
            ByteBuffer back = ByteBuffer.allocate(4);
            f.readFully(back, 0);
            assertThat(new String(back.array())).isEqualTo("kept");
        }
        assertThat(p).doesNotExist();
    }

    @Test
    void directTransfersMustBeAlignedAndAlignedOnesWork() throws IOException {
        byte[] data = randomBytes(2 * Direct.ALIGN, 3);
        Files.write(dir.resolve("f"), data);
        try (AuraFile f = open("f", READ, WRITE, Direct.DIRECT); Arena arena = Arena.ofConfined()) {
            MemorySegment buf = Direct.aligned(arena, 2 * Direct.ALIGN);
            f.readFully(buf, 0);
            assertThat(buf.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(data);
            assertThat(f.write(buf.asSlice(0, Direct.ALIGN), Direct.ALIGN)).isEqualTo(Direct.ALIGN);
            assertThatThrownBy(() -> f.read(buf.asSlice(0, Direct.ALIGN), 1))
                    .isInstanceOf(AuraIOException.class).hasMessageContaining("file position")
                    .hasMessageContaining("multiple of")
                    .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(Errno.EINVAL));
            assertThatThrownBy(() -> f.read(buf.asSlice(0, 100), 0))
                    .isInstanceOf(AuraIOException.class).hasMessageContaining("transfer length");
            assertThatThrownBy(() -> f.read(buf.asSlice(1, Direct.ALIGN), 0))
                    .isInstanceOf(AuraIOException.class).hasMessageContaining("buffer address");
            ByteBuffer heap = ByteBuffer.allocate(Direct.ALIGN);
            assertThat(f.read(heap, 0)).as("heap buffers go through an aligned copy").isEqualTo(Direct.ALIGN);
        }
    }

    @Test
    void ioErrorsAreAuraIoExceptionsWithTheErrno() throws IOException {
        try (AuraFile f = AuraFile.open(dir.path(), READ)) {
            Throwable e = catchThrowable(() -> f.read(ByteBuffer.allocate(10), 0));
            assertThat(e).isInstanceOf(AuraIOException.class).hasMessageContaining("Is a directory");
            assertThat(((AuraIOException) e).errno()).isEqualTo(Errno.EISDIR);
        }
    }

    @Test
    void virtualThreadsReadAndWriteDisjointRangesAtOnce() throws Exception {
        int threads = 32;
        int block = 64 * 1024;
        byte[] data = randomBytes(threads * block, 4);
        try (AuraFile f = open("f", CREATE_NEW, READ, WRITE)) {
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int index = i;
                workers.add(Thread.ofVirtual().start(() -> {
                    try {
                        f.writeFully(ByteBuffer.wrap(data, index * block, block), (long) index * block);
                        ByteBuffer back = ByteBuffer.allocate(block);
                        f.readFully(back, (long) index * block);
                        assertThat(back.array()).isEqualTo(slice(data, index * block, block));
                    } catch (Throwable t) {
                        synchronized (failures) {
                            failures.add(t);
                        }
                    }
                }));
            }
            TestSupport.joinAll(workers);
            assertThat(failures).isEmpty();
            assertThat(f.size()).isEqualTo(data.length);
        }
        assertThat(Files.readAllBytes(dir.resolve("f"))).isEqualTo(data);
    }

    @Test
    void createOpensAnExistingFileWithoutTruncatingIt() throws IOException {
        Files.write(dir.resolve("f"), "12345".getBytes());
        try (AuraFile f = open("f", CREATE, WRITE)) {
            assertThat(f.size()).isEqualTo(5);
        }
    }
}
