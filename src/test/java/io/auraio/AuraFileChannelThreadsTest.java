package io.auraio;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link AuraFileChannel} on virtual threads, where the JDK's channel cannot be woken from a
 * blocked file read: interrupts and asynchronous closes end blocked requests in the kernel, and
 * many threads share one channel correctly. Every test ends with nothing pending in the engine.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileChannelThreadsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;

    @BeforeEach
    void createEngine() throws IOException {
        engine = Engine.create(Options.builder().ringCount(1).build());
    }

    @AfterEach
    void closeEngine() {
        Leaks.assertNothingLeaked(engine);
        engine.close();
    }

    @Test
    void interruptingAVirtualThreadBlockedInAReadClosesTheChannelBeforeInterruptReturns() throws Exception {
        try (AuraFileChannel ch = AuraFileChannel.open(engine, Fifo.create(dir.resolve("fifo")), READ, WRITE)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    ch.read(ByteBuffer.allocate(16));
                } catch (Throwable t) {
                    thrown.set(t);
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            });
            TestSupport.awaitCondition("the read to be in flight", () -> engine.pendingCount() == 1);
            reader.interrupt();
            // As AbstractInterruptibleChannel promises: the interrupt itself closes the channel.
            assertThat(ch.isOpen()).isFalse();
            TestSupport.joinAll(List.of(reader));
            assertThat(thrown.get()).isExactlyInstanceOf(ClosedByInterruptException.class);
            assertThat(stillInterrupted.get()).isTrue();
        }
    }

    @Test
    @SuppressWarnings("try") // closes the channel early on purpose
    void closingWakesEveryVirtualThreadBlockedInTheChannelWithAsynchronousCloseException() throws Exception {
        try (AuraFileChannel ch = AuraFileChannel.open(engine, Fifo.create(dir.resolve("fifo")), READ, WRITE)) {
            List<Thread> readers = new ArrayList<>();
            List<Throwable> thrown = java.util.Collections.synchronizedList(new ArrayList<>());
            // Relative reads (a FIFO refuses positional ones with "Illegal seek", as the JDK's):
            // one in flight in the kernel, the others blocked on the position lock behind it.
            for (int i = 0; i < 4; i++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    try {
                        ch.read(ByteBuffer.allocate(16));
                    } catch (Throwable t) {
                        thrown.add(t);
                    }
                }));
            }
            TestSupport.awaitCondition("one read in flight, three waiting for it", () -> engine.pendingCount() == 1
                    && readers.stream().filter(t -> t.getState() == Thread.State.BLOCKED).count() == 3);
            ch.close();
            TestSupport.joinAll(readers);
            assertThat(thrown).hasSize(4).allSatisfy(t -> assertThat(t).isExactlyInstanceOf(AsynchronousCloseException.class));
        }
    }

    @Test
    void aChannelDroppedWithoutCloseHasItsDescriptorClosedAsTheJdksChannelsDo() throws Exception {
        Path path = Files.write(dir.resolve("dropped"), new byte[] {1});
        int fd = openAndDrop(path);
        TestSupport.awaitCondition("the dropped channel's descriptor to be closed", () -> {
            System.gc();
            return !Descriptors.isOpenOn(fd, path);
        });
    }

    private int openAndDrop(Path path) throws IOException {
        AuraFileChannel ch = AuraFileChannel.open(engine, path, READ);
        int fd = ch.file().fd();
        assertThat(Descriptors.isOpenOn(fd, path)).isTrue();
        return fd;
    }

    /**
     * An interrupt closes the file before the channel; a lock or map asked for in between must not
     * reopen {@code /proc/self/fd/<n>} when the number may already name another file.
     */
    @Test
    void theJdkCompanionIsNeverOpenedOnADescriptorTheFileHasClosed() throws Exception {
        Path mine = Files.write(dir.resolve("mine"), new byte[] {1});
        Path other = Files.write(dir.resolve("other"), new byte[] {2});
        try (AuraFileChannel ch = AuraFileChannel.open(engine, mine, READ, WRITE)) {
            int fd = ch.file().fd();
            ch.file().close(); // what an interrupt in another thread does first
            try (FileChannel reuser = FileChannel.open(other, READ, WRITE)) {
                assumeTrue(Descriptors.isOpenOn(fd, other),
                        "another thread took the freed descriptor number first");
                assertThatThrownBy(ch::lock).isInstanceOf(ClosedChannelException.class);
                assertThatThrownBy(() -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1))
                        .isInstanceOf(ClosedChannelException.class);
                try (var lock = reuser.tryLock()) {
                    assertThat(lock).as("nothing locked the other file").isNotNull();
                }
            }
        }
    }

    @Test
    void relativeWritesFromManyVirtualThreadsNeverOverlap() throws Exception {
        Path path = dir.resolve("records");
        int threads = 64;
        int recordsEach = 20;
        int recordSize = 100;
        try (FileChannel ch = AuraFileChannel.open(engine, path, CREATE, WRITE)) {
            List<Thread> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                byte id = (byte) t;
                writers.add(Thread.ofVirtual().start(() -> {
                    byte[] record = new byte[recordSize];
                    Arrays.fill(record, id);
                    for (int r = 0; r < recordsEach; r++) {
                        try {
                            ByteBuffer buf = ByteBuffer.wrap(record);
                            while (buf.hasRemaining()) {
                                ch.write(buf);
                            }
                        } catch (IOException e) {
                            throw new AssertionError(e);
                        }
                    }
                }));
            }
            TestSupport.joinAll(writers);
            assertThat(ch.position()).isEqualTo((long) threads * recordsEach * recordSize);
        }
        byte[] file = Files.readAllBytes(path);
        int[] perThread = new int[threads];
        for (int i = 0; i < file.length; i += recordSize) {
            byte[] record = Arrays.copyOfRange(file, i, i + recordSize);
            byte id = record[0];
            assertThat(record).as("record at %d", i).containsOnly(id);
            perThread[id]++;
        }
        assertThat(perThread).containsOnly(recordsEach);
    }

    @Test
    void positionalReadsFromManyVirtualThreadsSeeTheirOwnBytes() throws Exception {
        byte[] data = TestSupport.randomBytes(1 << 20, 3);
        Path path = Files.write(dir.resolve("data"), data);
        try (FileChannel ch = AuraFileChannel.open(engine, path, READ)) {
            List<Thread> readers = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 64; t++) {
                int seed = t;
                readers.add(Thread.ofVirtual().start(() -> {
                    java.util.Random rnd = new java.util.Random(seed);
                    for (int i = 0; i < 50; i++) {
                        int at = rnd.nextInt(data.length - 4096);
                        ByteBuffer buf = rnd.nextBoolean() ? ByteBuffer.allocate(4096) : ByteBuffer.allocateDirect(4096);
                        try {
                            assertThat(ch.read(buf, at)).isEqualTo(4096);
                            byte[] got = new byte[4096];
                            buf.flip().get(got);
                            assertThat(got).isEqualTo(Arrays.copyOfRange(data, at, at + 4096));
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }
                }));
            }
            TestSupport.joinAll(readers);
            assertThat(failures).isEmpty();
            assertThat(ch.position()).isZero();
        }
    }
}
