package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scattering reads and gathering writes are one readv/writev each, as the JDK's: records written
 * by many appenders at once through separate channels never interleave, and the buffers of one
 * call of every kind are filled in order.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileChannelVectoredTest {
    private static final int APPENDERS = 32;
    private static final int RECORDS = 50;
    private static final int PIECE = 700;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void gatheredRecordsAppendedFromManyChannelsAtOnceNeverInterleave() throws Exception {
        Path log = dir.resolve("log");
        Files.write(log, new byte[0]);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < APPENDERS; t++) {
                byte id = (byte) t;
                threads.add(Thread.ofVirtual().start(() -> {
                    try (FileChannel ch = AuraFileChannel.open(engine, log, WRITE, APPEND)) {
                        for (int r = 0; r < RECORDS; r++) {
                            // Three pieces of one record, heap, direct and heap again.
                            ByteBuffer[] record = {
                                ByteBuffer.wrap(filled(PIECE, id)),
                                ByteBuffer.allocateDirect(PIECE).put(filled(PIECE, id)).flip(),
                                ByteBuffer.wrap(filled(PIECE, id)),
                            };
                            long n = ch.write(record);
                            if (n != 3L * PIECE) {
                                throw new AssertionError("short gathering write: " + n);
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            TestSupport.joinAll(threads);
            assertThat(failures).isEmpty();
            Leaks.assertNothingLeaked(engine);
        }
        byte[] content = Files.readAllBytes(log);
        int record = 3 * PIECE;
        assertThat(content).hasSize(APPENDERS * RECORDS * record);
        int[] perAppender = new int[APPENDERS];
        for (int at = 0; at < content.length; at += record) {
            byte id = content[at];
            byte[] got = Arrays.copyOfRange(content, at, at + record);
            assertThat(got).as("record at %d is one appender's, whole", at).isEqualTo(filled(record, id));
            perAppender[id]++;
        }
        assertThat(perAppender).containsOnly(RECORDS);
    }

    @Test
    void aScatteringReadFillsEveryKindOfBufferInOrderAsTheJdksDoes() throws Exception {
        Path file = dir.resolve("data");
        byte[] data = TestSupport.randomBytes(10_000, 9);
        Files.write(file, data);
        Set<java.nio.file.OpenOption> read = new HashSet<>(List.of(READ));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FileChannel aura = AuraFileChannel.open(engine, file, read);
             FileChannel jdk = FileChannel.open(file, READ)) {
            for (FileChannel ch : List.of(jdk, aura)) {
                ByteBuffer heap = ByteBuffer.allocate(3000).position(100).limit(2100);
                ByteBuffer empty = ByteBuffer.allocate(0);
                ByteBuffer direct = ByteBuffer.allocateDirect(5000);
                ByteBuffer rest = ByteBuffer.allocate(10_000);
                ch.position(500);
                long n = ch.read(new ByteBuffer[] {heap, empty, direct, rest});
                assertThat(n).as("%s", ch).isEqualTo(9_500);
                assertThat(ch.position()).isEqualTo(10_000);
                assertThat(heap.position()).isEqualTo(2100);
                assertThat(direct.position()).isEqualTo(5000);
                assertThat(rest.position()).isEqualTo(2500);
                assertThat(Arrays.copyOfRange(heap.array(), 100, 2100)).isEqualTo(Arrays.copyOfRange(data, 500, 2500));
                byte[] d = new byte[5000];
                direct.flip().get(d);
                assertThat(d).isEqualTo(Arrays.copyOfRange(data, 2500, 7500));
                assertThat(Arrays.copyOf(rest.array(), 2500)).isEqualTo(Arrays.copyOfRange(data, 7500, 10_000));
                assertThat(ch.read(new ByteBuffer[] {ByteBuffer.allocate(10)})).isEqualTo(-1);
            }
        }
        try (FileChannel out = AuraFileChannel.open(dir.resolve("out"), CREATE, WRITE)) {
            assertThat(out.write(new ByteBuffer[] {ByteBuffer.wrap(data, 0, 10), ByteBuffer.allocate(0)})).isEqualTo(10);
        }
    }

    /**
     * Scattering reads of a file in the page cache and gathering writes of a local file system are
     * made on the caller, as the scalar ones are (and as FileChannel's are): no ring request, where
     * each used to be one (a cached read then waited for a poller's round trip, a buffered ext4
     * write for an io-wq thread: 0.03-0.07x FileChannel). Every kind of buffer; FileChannel's bytes,
     * counts and positions.
     */
    @Test
    void cachedScatteringReadsAndGatheringWritesNeedNoRing() throws Exception {
        int size = 256 * 1024;
        Path file = dir.resolve("data");
        byte[] model = TestSupport.randomBytes(size, 21);
        Files.write(file, model);
        Files.readAllBytes(file); // in the page cache
        Random random = new Random(8);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FileChannel aura = AuraFileChannel.open(engine, file, READ, WRITE);
             FileChannel jdk = FileChannel.open(file, READ);
             Arena shared = Arena.ofShared();
             Arena confined = Arena.ofConfined()) {
            long before = ringOps(engine);
            for (int i = 0; i < 300; i++) {
                long position = random.nextInt(size + 4096);
                ByteBuffer[] ours = mixedBuffers(random, shared, confined);
                ByteBuffer[] theirs = Arrays.stream(ours).map(b -> ByteBuffer.allocate(b.remaining())).toArray(ByteBuffer[]::new);
                int[] starts = Arrays.stream(ours).mapToInt(ByteBuffer::position).toArray();
                aura.position(position);
                jdk.position(position);
                assertThat(aura.read(ours)).as("read at %d", position).isEqualTo(jdk.read(theirs));
                assertThat(aura.position()).isEqualTo(jdk.position());
                for (int k = 0; k < ours.length; k++) {
                    ByteBuffer filled = ours[k].duplicate().limit(ours[k].position()).position(starts[k]);
                    assertThat(filled).as("buffer %d of the read at %d", k, position).isEqualTo(theirs[k].flip());
                }
                if (i % 3 == 0) { // and a gathering write, into the model too
                    ByteBuffer[] pieces = mixedBuffers(random, shared, confined);
                    ByteBuffer[] written = Arrays.stream(pieces).map(ByteBuffer::duplicate).toArray(ByteBuffer[]::new);
                    long at = random.nextInt(size);
                    aura.position(at);
                    long n = aura.write(pieces);
                    assertThat(n).as("written whole").isEqualTo(Arrays.stream(written).mapToLong(ByteBuffer::remaining).sum());
                    assertThat(aura.position()).isEqualTo(at + n);
                    for (ByteBuffer piece : written) {
                        int len = piece.remaining();
                        if (at + len > model.length) {
                            model = Arrays.copyOf(model, (int) (at + len));
                        }
                        piece.get(model, (int) at, len);
                        at += len;
                    }
                    size = model.length;
                }
            }
            assertThat(ringOps(engine) - before).as("ring requests").isZero();
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
    }

    /**
     * A scattering read that starts in the page cache and reaches pages that are not there (the
     * caller's non-blocking read stops at the first) reads the rest too, into the rest of the
     * buffers: as much as FileChannel's read, the same bytes.
     */
    @Test
    void aScatteringReadReachingPagesNotInMemoryReadsAsMuchAsFileChannel() throws Exception {
        Path file = dir.resolve("data");
        byte[] data = TestSupport.randomBytes(64 * 1024, 4);
        Files.write(file, data);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FileChannel aura = AuraFileChannel.open(engine, file, READ)) {
            org.junit.jupiter.api.Assumptions.assumeTrue(io.auraio.testing.Posix.keepOnlyTheFirstPages(file, 3),
                    "this file system keeps the file's pages in memory (tmpfs): no read can miss");
            ByteBuffer heap = ByteBuffer.allocate(5000);
            ByteBuffer direct = ByteBuffer.allocateDirect(7000);
            ByteBuffer rest = ByteBuffer.allocate(60_000);
            assertThat(aura.read(new ByteBuffer[] {heap, direct, rest})).isEqualTo(data.length);
            assertThat(aura.position()).isEqualTo(data.length);
            byte[] got = new byte[data.length];
            heap.flip().get(got, 0, 5000);
            direct.flip().get(got, 5000, 7000);
            rest.flip().get(got, 12_000, data.length - 12_000);
            assertThat(got).isEqualTo(data);
        }
    }

    /**
     * The same buffer twice in one scattering read: the kernel writes the second iovec over the
     * first, and the JDK leaves that in the buffer, its position at its start plus one entry's
     * length. The copy back from the pool's memory gave the second entry nothing once the first
     * had filled the buffer (bytes 1-10 where the JDK has 11-20). Direct buffers (pool copies),
     * a confined arena's (the caller's memory itself) and a shared arena's (pool copies), read on
     * the caller from the page cache and, where the pages can be dropped, through the ring.
     */
    @Test
    void aBufferGivenTwiceInAScatteringReadHoldsWhatTheKernelWroteLast() throws Exception {
        byte[] data = new byte[20];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i + 1);
        }
        Path file = Files.write(dir.path().resolve("twice"), data);
        for (boolean cold : new boolean[] {false, true}) {
            for (String kind : new String[] {"direct", "confined", "shared"}) {
                List<Object> outcomes = new ArrayList<>();
                for (boolean aura : new boolean[] {false, true}) {
                    if (cold && !io.auraio.testing.Posix.dropCachedPages(file)) {
                        continue; // tmpfs: its pages are its storage; the cached case covers it
                    }
                    outcomes.add(TestSupport.onVirtualThread(() -> {
                        try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared();
                             FileChannel ch = aura ? AuraFileChannel.open(file, READ) : FileChannel.open(file, READ)) {
                            ByteBuffer b = switch (kind) {
                                case "direct" -> ByteBuffer.allocateDirect(10);
                                case "confined" -> confined.allocate(10).asByteBuffer();
                                default -> shared.allocate(10).asByteBuffer();
                            };
                            long n = ch.read(new ByteBuffer[] {b, b});
                            byte[] held = new byte[10];
                            b.get(0, held);
                            return List.of(n, b.position(), ch.position(), Arrays.toString(held));
                        }
                    }));
                }
                if (outcomes.size() == 2) {
                    assertThat(outcomes.get(1)).as("%s buffer twice, %s", kind, cold ? "pages dropped" : "cached")
                            .isEqualTo(outcomes.get(0));
                }
            }
        }
    }

    /** A FIFO's gathering write, which may wait for its reader, is no inline write: the ring's. */
    @Test
    void aGatheringWriteToAFifoGoesThroughTheRing() throws Exception {
        Path fifo = io.auraio.testing.Fifo.create(dir.resolve("fifo"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FileChannel aura = AuraFileChannel.open(engine, fifo, READ, WRITE); // no wait for a partner
             FileChannel reader = FileChannel.open(fifo, READ)) {
            long before = ringOps(engine);
            assertThat(aura.write(new ByteBuffer[] {ByteBuffer.wrap("gathered ".getBytes()),
                    ByteBuffer.allocateDirect(4).put("once".getBytes()).flip()})).isEqualTo(13);
            assertThat(ringOps(engine) - before).as("ring requests of the FIFO's write").isPositive();
            ByteBuffer got = ByteBuffer.allocate(13);
            while (got.hasRemaining() && reader.read(got) > 0) {
                // a pipe may hand the bytes over in pieces
            }
            assertThat(new String(got.array())).isEqualTo("gathered once");
        }
    }

    /** One to four buffers of 0-20,000 bytes: heap (some at an offset), direct, a confined and a shared arena's. */
    private static ByteBuffer[] mixedBuffers(Random random, Arena shared, Arena confined) {
        ByteBuffer[] bufs = new ByteBuffer[1 + random.nextInt(4)];
        for (int k = 0; k < bufs.length; k++) {
            int len = random.nextInt(20_001);
            bufs[k] = switch (random.nextInt(4)) {
                case 0 -> ByteBuffer.allocate(len + 10).position(10);
                case 1 -> ByteBuffer.allocateDirect(len);
                case 2 -> confined.allocate(Math.max(1, len)).asByteBuffer().limit(len);
                default -> shared.allocate(Math.max(1, len)).asByteBuffer().limit(len);
            };
            byte[] fill = new byte[bufs[k].remaining()];
            random.nextBytes(fill);
            bufs[k].put(fill).position(bufs[k].position() - fill.length); // bytes to write, same room to read into
        }
        return bufs;
    }

    private static long ringOps(Engine engine) {
        long ops = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            ops += engine.ringStats(i).opsCompleted();
        }
        return ops;
    }

    private static byte[] filled(int n, byte value) {
        byte[] b = new byte[n];
        Arrays.fill(b, value);
        return b;
    }
}
