package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Direct;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A blocking ring request made while its ring is at its in-flight limit takes a free slot and is
 * held back by the poller (its caller parks once, for the completion) rather than parking for
 * admission. It must keep every property a wait for admission had: it never reaches the kernel
 * over the limit, a close of its file ends it at once, an interrupt cancels it, and it completes
 * normally once the ring is under its limit.
 */
@ExtendWith(IoUringAvailable.class)
class HeldBackRequestsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final int BLOCK = 4096;

    @Test
    void heldBackRequestsEndOnInterruptAndCloseAndOtherwiseCompleteOnceTheRingIsUnderItsLimit() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        // Another FIFO for the exempt read: data written to the hung read's FIFO could end the hung read.
        Path otherFifo = Fifo.create(dir.resolve("other-fifo"));
        Path data = dir.resolve("data");
        Files.write(data, new byte[4 * BLOCK]);
        // A P99 target of 60 s: a request counts as hung (stops counting against the limit) only
        // after 8 x 60 s, so the hung read holds the limit for the whole test.
        Options options = Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(1).minInFlight(1)
                .maxP99LatencyMs(60_000).build();
        try (Engine engine = Engine.create(options);
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             AuraFile otherPipe = AuraFile.open(engine, otherFifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            var ring = engine.core().ring(0);
            // Opened first: an open is a ring request too, and would be held back like the reads.
            AuraFile interrupted = AuraFile.open(engine, data, StandardOpenOption.READ, Direct.DIRECT);
            AuraFile closed = AuraFile.open(engine, data, StandardOpenOption.READ, Direct.DIRECT);
            AuraFile completes = AuraFile.open(engine, data, StandardOpenOption.READ, Direct.DIRECT);
            // A metered request that does not finish: the ring is at its limit of 1.
            Request hung = engine.read(pipe.fd(), BufferRef.of(arena.allocate(16)), 16, 0, null);
            boolean hungCancelled = false;
            try {
                // In the kernel, not only holding a slot: the poller puts it there, and a read started
                // before that finds the ring under its limit and goes straight in (seen on a loaded
                // machine: the read meant to be held back had completed when the test looked).
                TestSupport.awaitCondition("the hung read in the kernel", () -> ring.inUse() == 1 && ring.inKernel() == 1);
                AtomicReference<Object> interruptedOutcome = new AtomicReference<>();
                AtomicReference<Object> closedOutcome = new AtomicReference<>();
                AtomicReference<Object> completedOutcome = new AtomicReference<>();
                // In this order: the one that completes first in line, so that the interrupted and the
                // closed one are behind a request that waits for the limit (the poller submits from
                // the head of its list).
                Thread c = Thread.ofVirtual().start(() -> completedOutcome.set(readOnce(completes, arena)));
                TestSupport.awaitCondition("one request held back", () -> ring.inUse() == 2);
                Thread b = Thread.ofVirtual().start(() -> closedOutcome.set(readOnce(closed, arena)));
                TestSupport.awaitCondition("two requests held back", () -> ring.inUse() == 3);
                Thread a = Thread.ofVirtual().start(() -> interruptedOutcome.set(readOnce(interrupted, arena)));
                // Three requests over the limit: each holds a slot, none waits at the gate, none is in the kernel.
                TestSupport.awaitCondition("three requests held back", () -> ring.inUse() == 4);
                assertThat(ring.waiting()).isZero();
                assertThat(ring.inKernel()).isEqualTo(1);
                assertThat(c.isAlive()).as("the read held back first, done with %s", completedOutcome).isTrue();

                // A request that may wait forever (a FIFO's read) does not count against the limit and
                // does not wait for it, though held-back requests are ahead of it.
                AtomicReference<Object> fifoOutcome = new AtomicReference<>();
                Thread fifoReader = Thread.ofVirtual().start(() -> {
                    try {
                        fifoOutcome.set(otherPipe.read(java.nio.ByteBuffer.allocate(5), 0));
                    } catch (Throwable t) {
                        fifoOutcome.set(t);
                    }
                });
                TestSupport.awaitCondition("the FIFO read in the kernel", () -> ring.inUse() == 5);
                Files.writeString(otherFifo, "hello"); // the JDK's open and close: no ring request to hold back
                TestSupport.joinAll(List.of(fifoReader));
                assertThat(fifoOutcome.get()).isEqualTo(5);

                // An interrupt cancels the held-back read; the file's close that follows is itself a ring
                // request, admitted once the ring is under its limit (as it was when it waited at the gate).
                a.interrupt();

                // From another thread: the close's own CLOSE request is held back too, until the ring
                // is under its limit; the reader must not wait for that.
                Thread closer = Thread.ofVirtual().start(() -> {
                    try {
                        closed.close();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                TestSupport.joinAll(List.of(b));
                assertThat(closedOutcome.get()).isInstanceOf(AsynchronousCloseException.class);

                // Still over the limit: the last one has not reached the kernel.
                assertThat(c.isAlive()).as("the read held back first, done with %s", completedOutcome).isTrue();
                engine.cancel(hung);
                hungCancelled = true;
                TestSupport.joinAll(List.of(a, c, closer));
                assertThat(interruptedOutcome.get()).isInstanceOf(ClosedByInterruptException.class);
                assertThat(interrupted.isOpen()).isFalse();
                assertThat(completedOutcome.get()).isEqualTo(BLOCK);
            } finally {
                if (!hungCancelled) {
                    // After a failed assertion: the files' closes at the end would otherwise be
                    // held back behind the hung read for 8 x 60 s.
                    engine.cancel(hung);
                }
            }
            TestSupport.awaitCondition("the hung read to be cancelled", () -> !hung.isPending());
            engine.poll(); // runs its (null) callback, which gives its slot back
            completes.close();
            Leaks.assertNothingLeaked(engine);
        }
    }

    /** {@return the bytes read, or what the read threw} */
    private static Object readOnce(AuraFile file, Arena arena) {
        try {
            return file.read(Direct.aligned(arena, BLOCK), 0);
        } catch (Throwable t) {
            return t;
        }
    }
}
