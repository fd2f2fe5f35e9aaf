package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
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

    private static byte[] filled(int n, byte value) {
        byte[] b = new byte[n];
        Arrays.fill(b, value);
        return b;
    }
}
