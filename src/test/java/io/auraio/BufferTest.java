package io.auraio;

import static io.auraio.testing.TestSupport.joinAll;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Direct;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Engine#allocateBuffer}, {@link Buffer} and {@link Engine#bufferStats()} (the reference's
 * {@code auraio_buffer_alloc}/{@code auraio_buffer_free}/{@code auraio_get_buffer_stats}).
 */
@ExtendWith(IoUringAvailable.class)
class BufferTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static int nextPowerOfTwo(int n) {
        return Integer.highestOneBit(Math.max(1, n) * 2 - 1);
    }

    @ParameterizedTest(name = "bufferAlignment {0}")
    @ValueSource(longs = {4096, 65536})
    void buffersAreAlignedToTheOptionAndAsLargeAsAsked(long alignment) throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).bufferAlignment(alignment).build())) {
            List<Buffer> buffers = new ArrayList<>();
            for (long size : new long[] {0, 1, 4095, 4096, 5000, 100_000, 4 << 20, (4 << 20) + 1}) {
                Buffer b = engine.allocateBuffer(size);
                buffers.add(b);
                assertThat(b.size()).isEqualTo(size);
                assertThat(b.segment().byteSize()).isEqualTo(size);
                assertThat(b.segment().address() % alignment).as("size %d", size).isZero();
                assertThat(b.segment().isNative()).isTrue();
                if (size > 0) {
                    b.segment().fill((byte) 0x5a); // all of it is usable memory
                    assertThat(b.segment().get(JAVA_BYTE, size - 1)).isEqualTo((byte) 0x5a);
                }
            }
            assertThat(engine.bufferStats().totalBuffers()).isEqualTo(buffers.size());
            // Reused memory is aligned too.
            for (Buffer b : buffers) {
                b.close();
            }
            for (int i = 0; i < 10; i++) {
                try (Buffer b = engine.allocateBuffer(3000)) {
                    assertThat(b.segment().address() % alignment).isZero();
                }
            }
            assertThat(engine.bufferStats().totalBuffers()).isZero();
            assertThat(engine.bufferStats().totalAllocatedBytes()).isZero();
        }
    }

    @Test
    void bufferStatsCountBuffersOutAndTheirSizeClasses() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            assertThat(engine.bufferStats()).isEqualTo(new BufferStats(0, 0, engine.bufferStats().shardCount()));
            Buffer a = engine.allocateBuffer(100);
            Buffer b = engine.allocateBuffer(5000);
            BufferStats s = engine.bufferStats();
            assertThat(s.totalBuffers()).isEqualTo(2);
            assertThat(s.totalAllocatedBytes()).isGreaterThanOrEqualTo(5100).isEqualTo(4096 + 8192);
            assertThat(s.shardCount()).isBetween(1, nextPowerOfTwo(2));
            a.close();
            assertThat(engine.bufferStats().totalBuffers()).isEqualTo(1);
            b.close();
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    @Test
    void aClosedBuffersSegmentCannotBeAccessed() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            Buffer b = engine.allocateBuffer(64);
            b.segment().set(JAVA_LONG, 8, 42L); // typed views through layouts
            assertThat(b.segment().get(JAVA_LONG, 8)).isEqualTo(42L);
            b.segment().asSlice(16, 8).set(JAVA_INT, 4, 7);
            assertThat(b.segment().get(JAVA_INT, 20)).isEqualTo(7);
            assertThat(b.isClosed()).isFalse();
            assertThat(b.toString()).doesNotContain("closed");
            MemorySegment segment = b.segment();
            b.close();
            assertThat(b.isClosed()).isTrue();
            assertThat(b.toString()).contains("closed");
            assertThatThrownBy(() -> segment.get(JAVA_LONG, 8)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> segment.fill((byte) 1)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> b.segment().asByteBuffer().get()).isInstanceOf(IllegalStateException.class);
            b.close(); // idempotent
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    @Test
    void aBufferReferenceNamesItsBuffer() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             Buffer b = engine.allocateBuffer(128)) {
            BufferRef ref = b.ref();
            assertThat(ref.isRegistered()).isFalse();
            assertThat(ref).isInstanceOf(BufferRef.Memory.class);
            assertThat(((BufferRef.Memory) ref).owner()).isSameAs(b);
            assertThat(((BufferRef.Memory) ref).segment()).isEqualTo(b.segment());
        }
    }

    @Test
    void buffersMayBeClosedAfterTheEngine() throws Exception {
        Engine engine = Engine.create(Options.builder().ringCount(1).build());
        Buffer small = engine.allocateBuffer(100);
        Buffer large = engine.allocateBuffer(8 << 20);
        engine.close();
        small.segment().set(JAVA_BYTE, 99, (byte) 1); // still the caller's memory
        large.segment().set(JAVA_BYTE, (8 << 20) - 1, (byte) 1);
        assertThat(engine.bufferStats().totalBuffers()).isEqualTo(2);
        small.close();
        large.close();
        assertThat(engine.bufferStats().totalBuffers()).isZero();
        assertThatThrownBy(() -> small.segment().get(JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aBufferAllocatedByOneThreadMayBeClosedByAnother() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            LinkedBlockingQueue<Buffer> handOff = new LinkedBlockingQueue<>();
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            int count = 2000;
            Thread producer = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < count; i++) {
                        Buffer b = engine.allocateBuffer(1000 + i % 5000);
                        b.segment().set(JAVA_INT, 0, i);
                        handOff.add(b);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            });
            List<Thread> consumers = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                consumers.add(Thread.ofVirtual().start(() -> {
                    try {
                        while (true) {
                            Buffer b = handOff.poll(60, TimeUnit.SECONDS);
                            if (b == null || b.segment().get(JAVA_INT, 0) < 0) {
                                return;
                            }
                            b.close();
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            joinAll(List.of(producer));
            for (int c = 0; c < 4; c++) {
                Buffer poison = engine.allocateBuffer(4);
                poison.segment().set(JAVA_INT, 0, -1);
                handOff.add(poison);
            }
            joinAll(consumers);
            assertThat(failures).isEmpty();
            assertThat(handOff).isEmpty();
            assertThat(engine.bufferStats().totalBuffers()).as("only the four poison pills").isEqualTo(4);
        }
    }

    /**
     * Ten thousand virtual threads allocate, fill, check and free buffers at once: no two live
     * buffers share memory, every buffer comes back, and the pool's shards do not multiply with
     * the threads (striped by CPU, not by thread).
     */
    @Test
    void tenThousandVirtualThreadsAllocateAndFreeConcurrently() throws Exception {
        int threads = 10_000;
        try (Engine engine = Engine.create()) {
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> started = new ArrayList<>(threads);
            for (int i = 0; i < threads; i++) {
                int id = i;
                started.add(Thread.ofVirtual().start(() -> {
                    try {
                        go.await();
                        for (int round = 0; round < 3; round++) {
                            long size = 64L << ((id + round) % 8); // 64 B to 8 KiB
                            try (Buffer b = engine.allocateBuffer(size)) {
                                MemorySegment s = b.segment();
                                for (long off = 0; off + 4 <= size; off += 4) {
                                    s.set(JAVA_INT, off, id);
                                }
                                Thread.yield(); // let others allocate meanwhile
                                for (long off = 0; off + 4 <= size; off += 4) {
                                    if (s.get(JAVA_INT, off) != id) {
                                        throw new AssertionError("thread " + id + ": buffer shared with thread "
                                                + s.get(JAVA_INT, off));
                                    }
                                }
                            }
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            go.countDown();
            joinAll(started);
            assertThat(failures).isEmpty();
            BufferStats stats = engine.bufferStats();
            assertThat(stats.totalBuffers()).isZero();
            assertThat(stats.totalAllocatedBytes()).isZero();
            assertThat(stats.shardCount()).isBetween(1,
                    nextPowerOfTwo(Runtime.getRuntime().availableProcessors()));
            Leaks.assertNothingLeaked(engine);
        }
    }

    @Test
    void aNegativeSizeIsRefusedAndAnImpossibleOneFailsWithEnomem() throws Exception {
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            assertThatThrownBy(() -> engine.allocateBuffer(-1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("-1");
            // 1 TiB: more than this machine's memory, which the kernel refuses unless overcommit
            // is set to "always" (vm.overcommit_memory=1); Long.MAX_VALUE fails everywhere.
            for (long size : new long[] {1L << 40, Long.MAX_VALUE}) {
                if (size == 1L << 40 && overcommitAlways()) {
                    continue;
                }
                assertThatThrownBy(() -> engine.allocateBuffer(size)).as("size %d", size)
                        .isInstanceOf(AuraIOException.class)
                        .satisfies(e -> assertThat(((AuraIOException) e).errno()).isEqualTo(12));
            }
            assertThat(engine.bufferStats().totalBuffers()).isZero();
        }
    }

    private static boolean overcommitAlways() throws Exception {
        Path setting = Path.of("/proc/sys/vm/overcommit_memory");
        return Files.exists(setting) && Files.readString(setting).trim().equals("1");
    }

    /** The pool's memory is suitable for O_DIRECT as the reference promises. */
    @Test
    void poolBuffersServeDirectIo() throws Exception {
        Path path = dir.resolve("direct");
        byte[] data = randomBytes(4 * Direct.ALIGN, 1);
        Files.write(path, data);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, READ, WRITE, Direct.DIRECT);
             Buffer b = engine.allocateBuffer(2 * Direct.ALIGN)) {
            file.readFully(b.segment(), Direct.ALIGN);
            assertThat(b.segment().toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(data, Direct.ALIGN,
                    3 * Direct.ALIGN));
            Completions done = new Completions();
            Request r = engine.read(file.fd(), b.ref(), Direct.ALIGN, 0, done);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(r)).isEqualTo(Direct.ALIGN);
            assertThat(b.segment().asSlice(0, Direct.ALIGN).toArray(JAVA_BYTE))
                    .isEqualTo(Arrays.copyOfRange(data, 0, Direct.ALIGN));
        }
    }
}
