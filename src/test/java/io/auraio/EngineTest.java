package io.auraio;

import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Engine#create}: as many rings as asked, every selection mode serving I/O, the options kept. */
@ExtendWith(IoUringAvailable.class)
class EngineTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void createGivesAsManyRingsAsAsked(int rings) throws Exception {
        Options options = Options.builder().ringCount(rings).build();
        try (Engine engine = Engine.create(options)) {
            assertThat(engine.ringCount()).isEqualTo(rings);
            assertThat(engine.options()).isSameAs(options);
            assertThat(engine.isClosed()).isFalse();
            assertThat(engine.toString()).contains("rings=" + rings).doesNotContain("closed");
            for (int i = 0; i < rings; i++) {
                assertThat(engine.core().ring(i).index()).isEqualTo(i);
            }
            readAndWriteFromManyThreads(engine, false);
        }
    }

    @Test
    void ringCountZeroMeansOneRingPerProcessor() throws AuraIOException {
        try (Engine engine = Engine.create()) {
            assertThat(engine.ringCount()).isEqualTo(Runtime.getRuntime().availableProcessors());
        }
    }

    @ParameterizedTest
    @EnumSource(RingSelect.class)
    void everyRingSelectionServesIoWithTwoRings(RingSelect mode) throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).ringSelect(mode).build())) {
            assertThat(engine.options().ringSelect()).isEqualTo(mode);
            readAndWriteFromManyThreads(engine, false);
            readAndWriteFromManyThreads(engine, true);
        }
    }

    @Test
    void anEngineWithAdaptiveTuningOffAndASmallLimitServesManyThreads() throws Exception {
        Options options = Options.builder().ringCount(1).queueDepth(16).initialInFlight(2).minInFlight(1)
                .disableAdaptive(true).build();
        try (Engine engine = Engine.create(options)) {
            readAndWriteFromManyThreads(engine, true);
        }
    }

    @Test
    void anEngineWithSqpollServesIo() throws Exception {
        Options options = Options.builder().ringCount(1).enableSqpoll(true).sqpollIdleMs(10).build();
        try (Engine engine = Engine.create(options)) {
            readAndWriteFromManyThreads(engine, true);
        }
    }

    /** Heap memory goes through pool buffers; O_DIRECT must work whatever their alignment option. */
    @ParameterizedTest
    @ValueSource(longs = {8, 512, 8192})
    void anEngineWithAnyPoolAlignmentServesDirectIoThroughHeapBuffers(long alignment) throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).bufferAlignment(alignment).build())) {
            readAndWriteFromManyThreads(engine, true);
        }
    }

    @Test
    void createWithNullOptionsThrowsNullPointerException() {
        assertThatThrownBy(() -> Engine.create(null)).isInstanceOf(NullPointerException.class);
    }

    /**
     * 64 virtual threads each write their own 4 KiB block through heap or native memory, read it
     * back and compare; then nothing is pending.
     */
    private void readAndWriteFromManyThreads(Engine engine, boolean direct) throws Exception {
        Path path = dir.resolve("io-" + System.nanoTime());
        int threads = 64;
        int block = Direct.ALIGN;
        Files.write(path, new byte[threads * block]);
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (AuraFile file = direct ? AuraFile.open(engine, path, READ, WRITE, Direct.DIRECT)
                : AuraFile.open(engine, path, READ, WRITE)) {
            List<Thread> started = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int index = i;
                started.add(Thread.ofVirtual().start(() -> {
                    byte[] data = randomBytes(block, index);
                    long position = (long) index * block;
                    try (Arena arena = Arena.ofConfined()) {
                        if (index % 2 == 0) {
                            file.writeFully(ByteBuffer.wrap(data), position);
                            ByteBuffer back = ByteBuffer.allocate(block);
                            file.readFully(back, position);
                            check(index, back.array(), data);
                        } else {
                            MemorySegment segment = Direct.aligned(arena, block);
                            segment.asByteBuffer().put(data);
                            file.writeFully(segment, position);
                            segment.fill((byte) 0);
                            file.readFully(segment, position);
                            check(index, segment.toArray(JAVA_BYTE), data);
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            joinAll(started);
        }
        assertThat(failures).isEmpty();
        assertNothingLeaked(engine);
    }

    private static void check(int index, byte[] actual, byte[] expected) {
        if (!Arrays.equals(actual, expected)) {
            throw new AssertionError("block " + index + " reads back differently");
        }
    }
}
