package io.auraio;

import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.joinAll;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ten thousand virtual threads write and read back their own regions of one file through one
 * engine, at once; every byte is checked by each thread and again through {@link FileChannel}, and
 * afterwards no request, pool buffer or thread is left over.
 */
@ExtendWith(IoUringAvailable.class)
class ManyVirtualThreadsTest {
    private static final int THREADS = 10_000;
    private static final BufferKind[] KINDS = BufferKind.values();

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Region {@code i}'s bytes: different in every region and at every offset within it. */
    private static byte patternByte(int region, int offset) {
        return (byte) (region * 31 + offset * 7 + (region >>> 8) + (offset >>> 8) * 13);
    }

    private static byte[] pattern(int region, int size) {
        byte[] b = new byte[size];
        for (int j = 0; j < size; j++) {
            b[j] = patternByte(region, j);
        }
        return b;
    }

    /** Small queue depths make most threads wait for a slot in the admission gate. */
    @ParameterizedTest(name = "queueDepth {0}")
    @ValueSource(ints = {256, 8})
    void tenThousandVirtualThreadsWriteAndReadBackDisjointRegions(int queueDepth) throws Exception {
        run(queueDepth, 512, false);
    }

    @ParameterizedTest(name = "queueDepth {0}")
    @ValueSource(ints = {256, 8})
    void tenThousandVirtualThreadsWriteAndReadBackDisjointDirectRegions(int queueDepth) throws Exception {
        run(queueDepth, Direct.ALIGN, true);
    }

    private void run(int queueDepth, int regionSize, boolean direct) throws Exception {
        Path path = dir.resolve("shared");
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        Options options = Options.builder().ringCount(2).queueDepth(queueDepth).build();
        try (Engine engine = Engine.create(options);
             AuraFile file = direct ? AuraFile.open(engine, path, CREATE_NEW, READ, WRITE, Direct.DIRECT)
                     : AuraFile.open(engine, path, CREATE_NEW, READ, WRITE)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>(THREADS);
            for (int i = 0; i < THREADS; i++) {
                int region = i;
                threads.add(Thread.ofVirtual().name("region-" + i).start(() -> {
                    try {
                        go.await();
                        writeAndCheck(file, region, regionSize);
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            go.countDown();
            joinAll(threads);
            assertThat(failures).isEmpty();
            assertThat(file.size()).isEqualTo((long) THREADS * regionSize);
            assertNothingLeaked(engine);
        }
        verifyWithFileChannel(path, regionSize);
    }

    /** Writes region {@code i} with one kind of memory and reads it back with another. */
    private static void writeAndCheck(AuraFile file, int region, int size) throws IOException {
        byte[] expected = pattern(region, size);
        long position = (long) region * size;
        try (Arena arena = Arena.ofConfined()) {
            BufferKind writeKind = KINDS[region % KINDS.length];
            if (writeKind.isSegment()) {
                MemorySegment src = writeKind.newSegment(arena, size);
                MemorySegment.copy(expected, 0, src, JAVA_BYTE, 0, size);
                file.writeFully(src, position);
            } else {
                ByteBuffer src = writeKind.newBuffer(arena, size).put(0, expected);
                file.writeFully(src, position);
            }

            BufferKind readKind = KINDS[(region + 1) % KINDS.length];
            byte[] actual = new byte[size];
            if (readKind.isSegment()) {
                MemorySegment dst = readKind.newSegment(arena, size);
                file.readFully(dst, position);
                MemorySegment.copy(dst, JAVA_BYTE, 0, actual, 0, size);
            } else {
                ByteBuffer dst = readKind.newBuffer(arena, size);
                file.readFully(dst, position);
                dst.get(0, actual);
            }
            if (!Arrays.equals(actual, expected)) {
                throw new AssertionError("region " + region + " read back differs from what was written: first at byte "
                        + Arrays.mismatch(actual, expected));
            }
        }
    }

    private static void verifyWithFileChannel(Path path, int regionSize) throws IOException {
        try (FileChannel fc = FileChannel.open(path, READ)) {
            assertThat(fc.size()).isEqualTo((long) THREADS * regionSize);
            ByteBuffer chunk = ByteBuffer.allocate(256 * regionSize);
            long position = 0;
            while (position < fc.size()) {
                chunk.clear();
                while (chunk.hasRemaining() && fc.read(chunk, position + chunk.position()) > 0) {
                    // read until the chunk is full or the file ends
                }
                chunk.flip();
                int firstRegion = (int) (position / regionSize);
                for (int k = 0; k < chunk.limit(); k++) {
                    int region = firstRegion + k / regionSize;
                    int offset = k % regionSize;
                    if (chunk.get(k) != patternByte(region, offset)) {
                        throw new AssertionError("FileChannel sees a wrong byte in region " + region + " at " + offset);
                    }
                }
                position += chunk.limit();
            }
        }
    }
}
