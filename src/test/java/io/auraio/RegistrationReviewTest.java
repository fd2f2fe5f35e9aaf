package io.auraio;

import static io.auraio.AsyncFixtures.awaitInKernel;
import static io.auraio.AsyncFixtures.openFifo;
import static io.auraio.Leaks.assertNothingLeaked;
import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.randomBytes;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.AsyncFixtures.FifoFile;
import io.auraio.internal.binding.Errno;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of the registration API ({@link Engine#registerFiles}, {@link Engine#updateFile},
 * the buffer registration and the unregisters): requests that race a change of the table they
 * use, bad arguments, calls from callbacks, and an engine closed with registrations live.
 *
 * <p>Files A and B hold different bytes; a request on A's descriptor that returns B's bytes went
 * through a registered slot that held B by then.
 */
@ExtendWith(IoUringAvailable.class)
class RegistrationReviewTest {
    private static final int SIZE = 4096;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final List<Integer> openFds = new ArrayList<>();
    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (int fd : openFds) {
            Posix.close(fd);
        }
        arena.close();
    }

    /** A file of {@link #SIZE} bytes from {@code seed}, open read-only; closed after the test. */
    private int open(String name, long seed) throws Exception {
        Path path = dir.resolve(name);
        Files.write(path, randomBytes(SIZE, seed));
        int fd = Posix.open(path, Posix.O_RDONLY);
        openFds.add(fd);
        return fd;
    }

    private static byte[] head(long seed) {
        return Arrays.copyOf(randomBytes(SIZE, seed), 64);
    }

    private static int errnoOf(Throwable t) {
        return ((AuraIOException) t).errno();
    }

    /**
     * A ring at its in-flight limit of 1, held there by a FIFO read nobody writes: a read of A
     * through its registered slot is held back by the poller, and the slot is given to B (or
     * emptied) before the read reaches the kernel. The read named A: it must read A, through its
     * plain descriptor. Until 2026-12-07 the slot was chosen when the read was prepared: it read B's
     * bytes, or failed with EBADF from the emptied slot.
     */
    @Test
    void aReadHeldBackWhileItsSlotGoesToAnotherFileReadsTheFileItNamed() throws Exception {
        int a = open("a", 5);
        int b = open("b", 6);
        assertThat(readHeldBackAcrossAnUpdate(a, b)).as("A's bytes, not B's").isEqualTo(head(5));
    }

    @Test
    void aReadHeldBackWhileItsSlotIsEmptiedReadsTheFileItNamed() throws Exception {
        int a = open("a", 7);
        assertThat(readHeldBackAcrossAnUpdate(a, -1)).isEqualTo(head(7));
    }

    /**
     * Reads 64 bytes of {@code a}, registered at slot 0, held back until {@code updateFile(0, b)}
     * has returned. {@return the bytes read}
     */
    private byte[] readHeldBackAcrossAnUpdate(int a, int b) throws Exception {
        // A P99 target of 60 s: the FIFO read counts as hung only after 8 x 60 s, so it holds the
        // ring's limit of 1 for the whole test (as in HeldBackRequestsTest).
        Options options = Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(1).minInFlight(1)
                .maxP99LatencyMs(60_000).build();
        try (Engine engine = Engine.create(options);
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            var ring = engine.core().ring(0);
            engine.registerFiles(a);
            Completions done = new Completions();
            Request hung = engine.read(fifo.fd(), BufferRef.of(arena.allocate(16)), 16, 0, done);
            awaitCondition("the FIFO read in the kernel", () -> ring.inUse() == 1 && ring.inKernel() == 1);
            MemorySegment into = arena.allocate(64);
            CompletableFuture<Long> read = engine.readAsync(a, BufferRef.of(into), 64, 0);
            awaitCondition("the read of A held back", () -> ring.inUse() == 2);
            assertThat(ring.inKernel()).as("held back, not in the kernel").isEqualTo(1);
            engine.updateFile(0, b);
            assertThat(engine.cancel(hung)).isTrue();
            assertThat(read.get(HANG.toSeconds(), TimeUnit.SECONDS)).as("the read of A").isEqualTo(64);
            done.awaitCount(engine, 1);
            assertThat(done.resultOf(hung)).isEqualTo(-Errno.ECANCELED);
            engine.unregisterFiles();
            assertNothingLeaked(engine);
            return into.toArray(JAVA_BYTE);
        }
    }

    /**
     * A chain whose first link waits on a FIFO and whose second reads A through its registered
     * slot: the kernel looks the slot up only when it starts that link. An update that puts B in
     * the slot meanwhile must not make the read of A return B's bytes.
     */
    @Test
    void aChainedReadOfARegisteredFileWaitingInTheKernelStillReadsThatFileAfterItsSlotIsUpdated()
            throws Exception {
        int a = open("a", 1);
        int b = open("b", 2);
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             FifoFile fifo = openFifo(engine, dir.resolve("fifo"))) {
            engine.registerFiles(a);
            MemorySegment first = arena.allocate(8);
            MemorySegment second = arena.allocate(64);
            CompletableFuture<long[]> chain = engine.chain()
                    .read(fifo.fd(), BufferRef.of(first), 8, 0)
                    .read(a, BufferRef.of(second), 64, 0)
                    .submitAsync();
            awaitInKernel(engine, 2);
            engine.updateFile(0, b);
            fifo.write(ByteBuffer.wrap(new byte[8]), 0);
            long[] results = chain.get(HANG.toSeconds(), TimeUnit.SECONDS);
            assertThat(results[0]).isEqualTo(8);
            if (results[1] == 64) {
                assertThat(second.toArray(JAVA_BYTE)).as("the read of A returned A's bytes (B's: %s)",
                        Arrays.equals(second.toArray(JAVA_BYTE), head(2))).isEqualTo(head(1));
            }
            assertThat(results[1]).as("the read of A").isEqualTo(64);
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }

    /**
     * Readers of A and of B while another thread swaps A and B in slot 0 of the table, on two
     * rings: each read must return its own file's bytes, whatever the slot held when the request
     * was prepared.
     */
    @Test
    void readsOfFilesWhoseSlotIsSwappedMeanwhileReturnTheirOwnFilesBytes() throws Exception {
        int a = open("a", 3);
        int b = open("b", 4);
        try (Engine engine = Engine.create(Options.builder().ringCount(2).build())) {
            engine.registerFiles(a);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int fd = i % 2 == 0 ? a : b;
                byte[] expected = head(i % 2 == 0 ? 3 : 4);
                readers.add(Thread.ofPlatform().start(() -> {
                    try (Arena mine = Arena.ofShared()) {
                        MemorySegment into = mine.allocate(64);
                        while (System.nanoTime() < deadline && failure.get() == null) {
                            long n = engine.readAsync(fd, BufferRef.of(into), 64, 0).get(HANG.toSeconds(),
                                    TimeUnit.SECONDS);
                            assertThat(n).isEqualTo(64);
                            assertThat(into.toArray(JAVA_BYTE)).as("read of fd %d", fd).isEqualTo(expected);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            int swaps = 0;
            while (System.nanoTime() < deadline && failure.get() == null) {
                engine.updateFile(0, swaps++ % 2 == 0 ? b : a);
            }
            io.auraio.testing.TestSupport.joinAll(readers);
            assertThat(failure.get()).as("after %d swaps", swaps).isNull();
            engine.unregisterFiles();
            assertNothingLeaked(engine);
        }
    }
}
