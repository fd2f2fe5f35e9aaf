package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.internal.engine.RingPoller;
import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A poller thread that meets an error it did not expect: an OutOfMemoryError, which a full heap
 * throws wherever the poller allocates (a test run's forked JVM of 48 MiB hung when one struck ring
 * 8's poller), thrown here through the test seams at the two places it matters. Nothing may hang:
 * the engine's creation fails, or the ring closes itself and ends every request it holds.
 */
@ExtendWith(IoUringAvailable.class)
class PollerFailureTest {
    private static final Duration BOUND = Duration.ofSeconds(20);

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /**
     * A pass of the poller's loop breaks off while a FIFO read (which no data will ever end) waits
     * in the kernel, one blocking on a virtual thread and one as a future. Until 2026-12-07 the
     * poller thread died: both readers stayed parked for ever and the ring took requests no one
     * would submit. Now the ring closes itself: the reads end cancelled, a new request fails at
     * once with ESHUTDOWN, the error is the engine's {@code fatalError()}, and the engine still closes
     * (with files and buffers registered), leaving no descriptor behind.
     */
    @Test
    void aPollerPassThatBreaksOffClosesItsRingAndEndsEveryRequest() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path data = dir.resolve("data");
        Files.write(data, TestSupport.randomBytes(4096, 5));
        Map<Integer, String> before = Descriptors.open();
        OutOfMemoryError broke = heapFull("thrown by the test where the poller gathers SQEs");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             Arena arena = Arena.ofShared()) {
            RingPoller ring = engine.core().ring(0);
            AuraFile pipe = AuraFile.open(engine, fifo, READ, WRITE);
            AuraFile file = AuraFile.open(engine, data, READ);
            // Registered files and buffers, which the engine's close unregisters on each ring.
            engine.registerFiles(file.fd());
            Buffer pinned = engine.allocateBuffer(4096);
            engine.registerBuffers(pinned);
            CompletableFuture<Long> future = engine.readAsync(pipe.fd(), BufferRef.of(arena.allocate(16)), 16, 0);
            AtomicReference<Throwable> blocking = new AtomicReference<>();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    MemorySegment into = arena.allocate(16);
                    blocking.set(new AssertionError("the FIFO read returned " + pipe.read(into, 0) + " bytes"));
                } catch (Throwable t) {
                    blocking.set(t);
                }
            });
            TestSupport.settle(() -> ring.inKernel() == 2, BOUND);
            assertThat(ring.inKernel()).as("both FIFO reads in the kernel").isEqualTo(2);
            AtomicBoolean thrown = new AtomicBoolean();
            ring.gatherForTests = gathered -> {
                if (thrown.compareAndSet(false, true)) {
                    throw broke;
                }
                return false;
            };
            try {
                TestSupport.assertAllEnd(List.of(reader), BOUND, () -> "the blocking FIFO reader; in the kernel "
                        + ring.inKernel() + ", failure " + engine.fatalError());
                assertThat(thrown).as("the pass broke off").isTrue();
                assertThat(blocking.get()).as("the blocking read's end").isInstanceOf(IOException.class);
                assertThatThrownBy(() -> future.get(BOUND.toSeconds(), TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOfSatisfying(AuraIOException.class,
                                e -> assertThat(e.isCancelled() || e.isShutdown()).as("%s", e).isTrue());
                assertThat(engine.fatalError()).isSameAs(broke);
                assertThat(ring.isClosing()).isTrue();
                // A new request on the ring is refused at once, not queued for a poller that left.
                MemorySegment into = arena.allocate(4096);
                CompletableFuture<Long> late = engine.readAsync(file.fd(), BufferRef.of(into), 4096, 0);
                assertThatThrownBy(() -> late.get(BOUND.toSeconds(), TimeUnit.SECONDS))
                        .cause().isInstanceOfSatisfying(AuraIOException.class,
                                e -> assertThat(e.isShutdown()).as("%s", e).isTrue());
                TestSupport.settle(() -> ring.inKernel() == 0, BOUND);
                assertThat(ring.inKernel()).isZero();
            } finally {
                ring.gatherForTests = null;
            }
            pipe.close();
            file.close();
            pinned.close(); // stays allocated until the engine's close unregisters it
        }
        Descriptors.awaitNoneNew(before, "an engine whose ring closed itself, closed");
    }

    /**
     * Delivering a completion fails once its CQE is consumed (an OutOfMemoryError where the
     * reaper's bookkeeping allocates, thrown through {@link RingPoller#completionForTests}): until
     * 2026-12-07 the error left the reap with the request nobody would end, its reader parked for
     * ever. Now the request ends with an IOException (EIO), the error is the engine's
     * {@code fatalError()}, and the ring refuses what comes after.
     */
    @Test
    void aCompletionThatCannotBeDeliveredEndsItsRequestAndTheRing() throws Exception {
        Path data = dir.resolve("data");
        Files.write(data, TestSupport.randomBytes(4096, 6));
        OutOfMemoryError broke = heapFull("thrown by the test as a completion is delivered");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = openDirect(engine, data);
             Arena arena = Arena.ofShared()) {
            RingPoller ring = engine.core().ring(0);
            AtomicBoolean thrown = new AtomicBoolean();
            ring.completionForTests = () -> {
                if (thrown.compareAndSet(false, true)) {
                    throw broke;
                }
            };
            try {
                AtomicReference<Throwable> end = new AtomicReference<>();
                // O_DIRECT: every read goes to the ring. A platform thread never polls for it.
                Thread reader = Thread.ofPlatform().start(() -> {
                    try {
                        MemorySegment into = arena.allocate(4096, 4096);
                        for (int i = 0; i < 100 && !thrown.get(); i++) {
                            file.read(into, 0);
                        }
                        end.set(new AssertionError("no read reached the ring"));
                    } catch (Throwable t) {
                        end.set(t);
                    }
                });
                TestSupport.assertAllEnd(List.of(reader), BOUND, () -> "the reader; failure " + engine.fatalError());
                assertThat(thrown).as("a delivery failed").isTrue();
                assertThat(end.get()).as("the read whose delivery failed").isInstanceOf(IOException.class);
                assertThat(engine.fatalError()).isSameAs(broke);
                assertThat(ring.isClosing()).isTrue();
                assertThatThrownBy(() -> file.read(arena.allocate(4096, 4096), 0))
                        .as("a read after it").isInstanceOfSatisfying(AuraIOException.class,
                                e -> assertThat(e.isShutdown()).as("%s", e).isTrue());
            } finally {
                ring.completionForTests = null;
            }
        }
    }

    /**
     * The poller fails after the kernel set its ring up, before it told the engine (an
     * OutOfMemoryError where the heap is full). Until 2026-12-07 only a failure of the kernel's
     * setup was told: {@code Engine.create} waited for ever. Now it throws an AuraIOException
     * (ENOMEM) caused by that error, and the rings set up before, the failed one and their
     * threads are all gone.
     */
    @Test
    void aPollerFailingAfterItsRingIsSetUpFailsTheEnginesCreationLeavingNothing() throws Exception {
        Map<Integer, String> before = Descriptors.open();
        long pollers = pollerThreads();
        OutOfMemoryError broke = heapFull("thrown by the test once ring 1 is set up");
        RingPoller.setUpForTests = index -> {
            if (index == 1) {
                throw broke;
            }
        };
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread creator = Thread.ofPlatform().start(() -> {
            try (Engine e = Engine.create(Options.builder().ringCount(3).build())) {
                outcome.set(new AssertionError("created " + e));
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        try {
            TestSupport.assertAllEnd(List.of(creator), BOUND, () -> "Engine.create");
        } finally {
            RingPoller.setUpForTests = null;
        }
        assertThat(outcome.get()).isInstanceOfSatisfying(AuraIOException.class, e -> {
            assertThat(e.errno()).as("ENOMEM").isEqualTo(12);
            assertThat(e).hasMessageContaining("3 rings of queue depth").hasMessageContaining("Java heap");
            assertThat(e.getCause()).isSameAs(broke);
        });
        TestSupport.settle(() -> pollerThreads() == pollers, BOUND);
        assertThat(pollerThreads()).as("poller threads").isEqualTo(pollers);
        Descriptors.awaitNoneNew(before, "an engine whose creation failed");
        // The JVM goes on creating engines.
        try (Engine e = Engine.create(Options.builder().ringCount(3).build())) {
            assertThat(e.ringCount()).isEqualTo(3);
        }
    }

    /**
     * The default engine's creation fails for a full heap (the same setup failure, on the first
     * use of the library). The heap may be free a moment later, as a process out of descriptors
     * may free some: the failure must not be kept as the JVM's answer. Until 2026-12-07 an
     * ENOMEM was kept, and the JVM used the JDK's FileChannel for good. A forked JVM: the default
     * engine is one per JVM.
     */
    @Test
    void aDefaultEngineThatFoundTheHeapFullIsCreatedOnALaterUse() throws Exception {
        io.auraio.testing.ForkedJvm.Result r = io.auraio.testing.ForkedJvm.of(HeapFullAtFirstUseProbe.class).run();
        assertThat(r.timedOut()).as(r.toString()).isFalse();
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).as(r.toString())
                .contains("first.backend=JDK")
                .contains("first.create=AuraIOException errno 12")
                .contains("later.backend=IO_URING")
                .contains("later.create=engine of ");
    }

    /** Main class for {@link #aDefaultEngineThatFoundTheHeapFullIsCreatedOnALaterUse}. */
    static final class HeapFullAtFirstUseProbe {
        private HeapFullAtFirstUseProbe() {}

        public static void main(String[] args) {
            RingPoller.setUpForTests = index -> {
                throw heapFull("thrown by the probe while the default engine sets its rings up");
            };
            System.out.println("first.backend=" + AuraIO.backend());
            System.out.println("first.create=" + create());
            RingPoller.setUpForTests = null;
            System.out.println("later.backend=" + AuraIO.backend());
            System.out.println("later.create=" + create());
        }

        private static String create() {
            try {
                return "engine of " + AuraIO.defaultEngine().ringCount() + " rings";
            } catch (AuraIOException e) {
                return "AuraIOException errno " + e.errno() + ": " + e.getMessage();
            }
        }
    }

    /** {@return {@code path} opened for O_DIRECT reads} Skips the test where the file system refuses O_DIRECT. */
    private static AuraFile openDirect(Engine engine, Path path) throws IOException {
        try {
            return AuraFile.open(engine, path, READ, io.auraio.testing.Direct.DIRECT);
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("O_DIRECT refused here: " + e);
            throw e;
        }
    }

    /** An OutOfMemoryError without a stack trace: the ring's report of it stays one line in the test log. */
    private static OutOfMemoryError heapFull(String message) {
        return new OutOfMemoryError(message) {
            @Override
            public synchronized Throwable fillInStackTrace() {
                return this;
            }
        };
    }

    private static long pollerThreads() {
        return EngineLifecycleReviewTest.HalfwayProbe.pollers();
    }
}
