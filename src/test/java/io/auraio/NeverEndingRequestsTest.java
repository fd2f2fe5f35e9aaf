package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.auraio.internal.engine.RingProbe;
import io.auraio.testing.FaultFs;
import io.auraio.testing.Fifo;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Requests that may never finish must not stop the other files of their ring (issue 11, item 2):
 * reads of a FIFO nobody writes, and reads of a hung FUSE file, once filled the ring's in-flight
 * limit, so that every other blocking call on the ring (opens and reads of local files,
 * {@code size()}) waited in the admission gate, and {@link Thread#interrupt()} of a channel's
 * reader hung on the interrupting thread.
 */
@ExtendWith(IoUringAvailable.class)
class NeverEndingRequestsTest {
    private static final Duration BOUND = Duration.ofSeconds(30);

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** A read that returned normally. */
    private static final class Returned extends Exception {
        private static final long serialVersionUID = 1L;
    }

    /** One ring of 16 slots with a fixed in-flight limit of 4: four never-ending reads fill it. */
    private static Engine smallEngine() throws AuraIOException {
        return Engine.create(Options.builder().ringCount(1).queueDepth(16).initialInFlight(4).minInFlight(1)
                .disableAdaptive(true).build());
    }

    @Test
    void fourPendingFifoReadsLeaveLocalFilesServedAndInterruptsPrompt() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path local = Files.write(dir.resolve("local"), TestSupport.randomBytes(20_000, 1));
        Queue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
        // O_RDWR on a FIFO: a writer exists (so opens do not wait) but never writes.
        try (RandomAccessFile _ = new RandomAccessFile(fifo.toFile(), "rw");
             Engine engine = smallEngine()) {
            AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ);
            List<Thread> readers = new ArrayList<>();
            java.util.concurrent.atomic.AtomicReferenceArray<Throwable> byReader =
                    new java.util.concurrent.atomic.AtomicReferenceArray<>(4);
            for (int i = 0; i < 4; i++) {
                int index = i;
                readers.add(Thread.ofVirtual().start(() -> {
                    Throwable outcome;
                    try {
                        pipe.read(ByteBuffer.allocate(16), 0);
                        outcome = new AssertionError("a read of an empty FIFO returned");
                    } catch (Throwable t) {
                        outcome = t;
                    }
                    byReader.set(index, outcome);
                    outcomes.add(outcome);
                }));
            }
            TestSupport.awaitCondition("4 FIFO reads in the ring", () -> engine.pendingCount() >= 4);
            assertTimeoutPreemptively(BOUND, () -> {
                try (AuraFile f = AuraFile.open(engine, local, StandardOpenOption.READ)) {
                    assertThat(f.size()).isEqualTo(20_000);
                    ByteBuffer dst = ByteBuffer.allocate(20_000);
                    f.readFully(dst, 0);
                    assertThat(dst.array()).isEqualTo(Files.readAllBytes(local));
                }
                try (AuraFileChannel ch = AuraFileChannel.open(engine, local, Set.of(StandardOpenOption.READ))) {
                    assertThat(ch.size()).isEqualTo(20_000);
                }
                Thread interrupter = Thread.ofPlatform().start(() -> readers.get(0).interrupt());
                interrupter.join();
                readers.get(0).join();
            }, "a local file or an interrupt waited behind FIFO reads");
            assertThat(byReader.get(0)).isInstanceOf(ClosedByInterruptException.class);
            assertTimeoutPreemptively(BOUND, () -> {
                pipe.close(); // closed by the interrupt already; the others were woken by it
                TestSupport.joinAll(readers);
            });
            assertThat(outcomes).hasSize(4).allSatisfy(t -> assertThat(t)
                    .isInstanceOfAny(ClosedByInterruptException.class, AsynchronousCloseException.class));
            Leaks.assertNothingLeaked(engine);
        }
    }

    @Test
    void hungFuseReadsLeaveLocalFilesServedAndAChannelInterruptNeverBlocksTheInterrupter() throws Exception {
        Path local = Files.write(dir.resolve("local"), TestSupport.randomBytes(20_000, 2));
        try (FaultFs fs = FixtureAvailability.mountFaultFs("neverEnding")) {
            Files.write(fs.backing().resolve("held"), new byte[64 * 1024]);
            fs.hangReads(fs.path("held"));
            Queue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
            Engine engine = smallEngine();
            try {
                AuraFileChannel held = AuraFileChannel.open(engine, fs.path("held"), Set.of(StandardOpenOption.READ));
                List<Thread> readers = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    long position = i * 4096L;
                    readers.add(Thread.ofVirtual().start(() -> {
                        try {
                            held.read(ByteBuffer.allocate(4096), position);
                            outcomes.add(new Returned());
                        } catch (Throwable t) {
                            outcomes.add(t);
                        }
                    }));
                }
                fs.awaitBlockedReads(4);
                assertTimeoutPreemptively(BOUND, () -> {
                    try (FileChannel ch = AuraFileChannel.open(engine, local, Set.of(StandardOpenOption.READ))) {
                        ByteBuffer dst = ByteBuffer.allocate(20_000);
                        while (dst.hasRemaining() && ch.read(dst) > 0) {
                            // reads on, as FileChannel callers do
                        }
                        assertThat(dst.position()).isEqualTo(20_000);
                    }
                    // The kernel cannot cancel a read the FUSE daemon holds; interrupt() must return anyway.
                    Thread interrupter = Thread.ofPlatform().start(() -> readers.get(0).interrupt());
                    interrupter.join();
                    assertThat(held.isOpen()).isFalse();
                }, "a local file or interrupt() waited behind hung FUSE reads");
                fs.release();
                assertTimeoutPreemptively(BOUND, () -> TestSupport.joinAll(readers));
                // A read the daemon held could not be cancelled: once released it completed, and as
                // with FileChannel (end(true)) a completed read returns its bytes despite the close.
                assertThat(outcomes).hasSize(4).allSatisfy(t -> assertThat(t).isInstanceOfAny(
                        ClosedByInterruptException.class, AsynchronousCloseException.class, Returned.class));
                assertThat(outcomes).filteredOn(t -> t instanceof ClosedByInterruptException).hasSize(1);
                Leaks.assertNothingLeaked(engine);
            } finally {
                fs.release(); // else the engine's close would wait for the held reads for good
                engine.close();
            }
        }
    }

    @Test
    void throughTheProvider300FifoReadersLeaveLocalReadsServed() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path local = Files.writeString(dir.resolve("local"), "local bytes");
        var provider = new io.auraio.spi.AuraFileSystemProvider(java.nio.file.FileSystems.getDefault().provider());
        var fs = provider.getFileSystem(java.net.URI.create("file:///"));
        Path fifoPath = fs.getPath(fifo.toString());
        Path localPath = fs.getPath(local.toString());
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> readers = new ArrayList<>();
        Engine shared = AuraIO.defaultEngine(); // the provider's
        try (RandomAccessFile _ = new RandomAccessFile(fifo.toFile(), "rw")) {
            for (int i = 0; i < 300; i++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    try {
                        Files.readString(fifoPath); // until every writer has closed
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            TestSupport.awaitCondition("FIFO readers to be in the rings", () -> shared.pendingCount() >= 4);
            Thread.sleep(200); // more of them arrive meanwhile; not needed for the check, only for the load
            assertTimeoutPreemptively(BOUND, () -> {
                for (int i = 0; i < 6; i++) {
                    assertThat(Files.readString(localPath)).isEqualTo("local bytes");
                }
            }, "a local read through the provider waited behind FIFO reads");
            // Every reader past its open before the writer goes: an open after that would wait
            // for the next writer, for good (a slow start under load, not what is tested here).
            TestSupport.awaitCondition("every FIFO reader in its read", () -> shared.pendingCount() >= 300);
        } // closing the only writer ends every reader with end of file
        assertTimeoutPreemptively(BOUND, () -> TestSupport.joinAll(readers));
        assertThat(failures).isEmpty();
    }

    /**
     * A channel reads a FIFO at the kernel's file position, where no ESPIPE tells the file it is a
     * stream: its type must. Those reads, which may wait forever, are then admitted exempt from the
     * ring's limit at once, not counted against it until the ring finds them stale. The stale
     * threshold is made irrelevant here (eight times a P99 target of a minute): two pending channel
     * reads of a FIFO on a ring with a limit of 2 count for nothing, and a local open and read
     * complete while they are still pending. Writes through the channel likewise.
     */
    @Test
    void fifoReadsThroughAChannelDoNotCountAgainstTheRingsLimit() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path local = Files.writeString(dir.resolve("local"), "local bytes");
        Options options = Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(2).minInFlight(2)
                .maxP99LatencyMs(60_000).build();
        List<Thread> readers = new ArrayList<>();
        Queue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
        List<AuraFileChannel> channels = new ArrayList<>();
        try (Engine engine = Engine.create(options);
             RandomAccessFile _ = new RandomAccessFile(fifo.toFile(), "rw")) { // a writer that never writes
            var ring = engine.core().ring(0);
            for (int i = 0; i < 2; i++) {
                AuraFileChannel ch = AuraFileChannel.open(engine, fifo, StandardOpenOption.READ);
                channels.add(ch);
                readers.add(Thread.ofVirtual().start(() -> {
                    try {
                        ch.read(ByteBuffer.allocate(16));
                        outcomes.add(new Returned());
                    } catch (Throwable t) {
                        outcomes.add(t);
                    }
                }));
            }
            TestSupport.awaitCondition("both FIFO reads in the kernel", () -> ring.inUse() == 2 && ring.inKernel() == 2);
            assertThat(RingProbe.meteredInUse(ring)).as("FIFO reads counted against the ring's limit").isZero();
            assertTimeoutPreemptively(BOUND, () -> {
                try (AuraFile f = AuraFile.open(engine, local, StandardOpenOption.READ)) {
                    ByteBuffer dst = ByteBuffer.allocate(64);
                    f.read(dst, 0);
                    assertThat(dst.position()).isEqualTo("local bytes".length());
                }
            }, "a local open and read waited behind FIFO reads through channels");
            assertThat(ring.inUse()).as("the FIFO reads are still pending").isEqualTo(2);
            for (AuraFileChannel ch : channels) {
                ch.close();
            }
            assertTimeoutPreemptively(BOUND, () -> TestSupport.joinAll(readers));
            assertThat(outcomes).hasSize(2).allMatch(t -> t instanceof AsynchronousCloseException);
            try (AuraFileChannel writer = AuraFileChannel.open(engine, fifo, StandardOpenOption.WRITE)) {
                assertThat(writer.write(ByteBuffer.wrap(new byte[] {1}))).isEqualTo(1);
            }
            Leaks.assertNothingLeaked(engine);
        }
    }

    /** As the reads above, a channel's write to a FIFO nobody reads, which waits for good, counts for nothing. */
    @Test
    void aFifoWriteThroughAChannelDoesNotCountAgainstTheRingsLimit() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Options options = Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(1).minInFlight(1)
                .maxP99LatencyMs(60_000).build();
        Queue<Throwable> outcomes = new ConcurrentLinkedQueue<>();
        try (Engine engine = Engine.create(options);
             RandomAccessFile _ = new RandomAccessFile(fifo.toFile(), "rw")) { // a reader that never reads
            var ring = engine.core().ring(0);
            AuraFileChannel ch = AuraFileChannel.open(engine, fifo, StandardOpenOption.WRITE);
            // More than a pipe holds: the write waits in the kernel for a read that never comes
            // (on its carrier, before: a FIFO refuses RWF_NOWAIT, and the write went inline).
            ByteBuffer src = ByteBuffer.allocate(4 << 20);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    ch.write(src);
                    outcomes.add(new Returned());
                } catch (Throwable t) {
                    outcomes.add(t);
                }
            });
            TestSupport.awaitCondition("the FIFO write in the kernel", () -> RingProbe.inKernel(ring) == 1);
            assertThat(RingProbe.meteredInUse(ring)).as("a FIFO write counted against the ring's limit").isZero();
            ch.close();
            assertTimeoutPreemptively(BOUND, () -> TestSupport.joinAll(List.of(writer)));
            // As the JDK's write(2) interrupted after some bytes: the count, then a closed channel.
            assertThat(outcomes).singleElement().isInstanceOf(Returned.class);
            assertThat(src.position()).isPositive().isLessThan(src.capacity());
            assertThat(ch.isOpen()).isFalse();
            Leaks.assertNothingLeaked(engine);
        }
    }
}
