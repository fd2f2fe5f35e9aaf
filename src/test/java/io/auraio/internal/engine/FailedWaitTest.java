package io.auraio.internal.engine;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A blocking request's wait that fails with an error of the JVM's once the request is in the ring
 * (an OutOfMemoryError where the park or a cancel allocates; injected through
 * {@link RingPoller#afterRingForTests}): the error reaches the caller only once the kernel is done
 * with the request, whose memory the caller may free as soon as it has the error. A FIFO read
 * waits until the test writes, so "done" is the test's to decide.
 */
@ExtendWith(IoUringAvailable.class)
class FailedWaitTest {
    /** 64 slots, a fixed limit of 64, no SQPOLL, non-daemon pollers, callers submit. */
    private static final RingConfig CONFIG = new RingConfig(64, 64, 4, 0, false, false, 0, false, true, true);

    @TempDir
    Path dir;
    private IoEngine engine;
    private RingPoller ring;
    private int fifo = -1;
    private final OutOfMemoryError injected = new OutOfMemoryError("injected: the heap is full as the caller waits");

    @BeforeEach
    void start() throws Exception {
        engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        ring = engine.ring(0);
        // Read and write: its own writer, so the open does not wait.
        fifo = Libc.open(Fifo.create(dir.resolve("fifo")).toString(), OpenFlags.O_RDWR, 0);
        assertThat(fifo).isNotNegative();
    }

    @AfterEach
    void close() {
        ring.afterRingForTests = null;
        engine.close();
        if (fifo >= 0) {
            Libc.close(fifo);
        }
    }

    /**
     * An interruptible read is cancelled, and the error is thrown once the cancel is through: the
     * ring holds nothing of it, and the FIFO's next bytes go to the next read (a read left in the
     * kernel took them, and the next read waited for ever).
     */
    @Test
    void anInterruptibleRequestIsCancelledAndEndedBeforeTheErrorIsThrown() throws Exception {
        Throwable[] thrown = new Throwable[1];
        try (Arena arena = Arena.ofShared()) {
            Thread reader = startFailingRead(true, arena.allocate(16), thrown);
            assertThat(reader.join(Duration.ofSeconds(30))).as("the failed read returned").isTrue();
        }
        ring.afterRingForTests = null;
        assertThat(thrown[0]).isSameAs(injected);
        assertThat(ring.inKernel()).as("requests the ring still has in the kernel").isZero();
        assertThat(ring.inUse()).isZero();

        assertThat(readAfterWriting("hello")).isEqualTo("hello");
    }

    /**
     * A request its caller did not allow to be cancelled is waited for until it ends on its own:
     * the error comes after the FIFO is written, with the bytes in the caller's buffer.
     */
    @Test
    void anUninterruptibleRequestIsWaitedForBeforeTheErrorIsThrown() throws Exception {
        Throwable[] thrown = new Throwable[1];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            Thread reader = startFailingRead(false, buffer, thrown);
            assertThat(reader.join(Duration.ofMillis(300)))
                    .as("the read returned while the kernel still held its buffer").isFalse();
            write("early");
            assertThat(reader.join(Duration.ofSeconds(30))).as("the read returned once it ended").isTrue();
            assertThat(thrown[0]).isSameAs(injected);
            assertThat(buffer.getString(0, US_ASCII)).isEqualTo("early");
        }
        ring.afterRingForTests = null;
        assertThat(ring.inKernel()).isZero();
        assertThat(readAfterWriting("later")).isEqualTo("later");
    }

    /**
     * Starts a virtual thread reading the FIFO into {@code buffer} whose wait fails with
     * {@link #injected} once the read is in the ring; what it throws goes to {@code thrown[0]}.
     */
    private Thread startFailingRead(boolean interruptible, MemorySegment buffer, Throwable[] thrown) {
        ring.afterRingForTests = () -> {
            throw injected;
        };
        return Thread.ofVirtual().start(() -> {
            try {
                if (interruptible) {
                    ring.executeInterruptibly(Opcode.READ, 0, fifo, 0, buffer.address(), 16, 0, 0);
                } else {
                    ring.execute(Opcode.READ, 0, fifo, 0, buffer.address(), 16, 0, 0);
                }
            } catch (Throwable t) {
                thrown[0] = t;
            }
        });
    }

    private void write(String text) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocateFrom(text, US_ASCII);
            assertThat(Libc.write(fifo, bytes, text.length() + 1)).isEqualTo(text.length() + 1);
        }
    }

    /** Writes {@code text} to the FIFO and {@return what a new ring read of it got} */
    private String readAfterWriting(String text) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            long[] result = new long[1];
            Thread reader = Thread.ofVirtual().start(() -> result[0] = ring.execute(Opcode.READ, 0, fifo, 0,
                    buffer.address(), 16, 0, 0));
            TimeUnit.MILLISECONDS.sleep(20);
            write(text);
            assertThat(reader.join(Duration.ofSeconds(30))).as("the next read returned").isTrue();
            assertThat(result[0]).isEqualTo(text.length() + 1);
            return buffer.getString(0, US_ASCII);
        }
    }
}
