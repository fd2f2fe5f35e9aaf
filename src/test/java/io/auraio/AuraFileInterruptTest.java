package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Interrupting a thread blocked in {@link AuraFile} I/O, with {@code FileChannel}'s contract. */
@ExtendWith(IoUringAvailable.class)
class AuraFileInterruptTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void interruptingAVirtualThreadBlockedInAReadCancelsItClosesTheFileAndThrowsClosedByInterrupt()
            throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    pipe.read(ByteBuffer.allocate(16), 0);
                } catch (Throwable t) {
                    thrown.set(t);
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            });
            TestSupport.awaitCondition("the read to be in flight", () -> engine.pendingCount() == 1);
            reader.interrupt();
            TestSupport.joinAll(List.of(reader));
            assertThat(thrown.get()).isInstanceOf(ClosedByInterruptException.class);
            assertThat(stillInterrupted.get()).isTrue();
            assertThat(pipe.isOpen()).isFalse();
            assertThat(engine.pendingCount()).isZero();
        }
    }

    @Test
    void aThreadInterruptedBeforeTheCallClosesTheFileWithoutDoingIo() throws Exception {
        Path path = dir.resolve("file");
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile file = AuraFile.open(engine, path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                     StandardOpenOption.WRITE)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread t = Thread.ofVirtual().unstarted(() -> {
                Thread.currentThread().interrupt();
                try {
                    file.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 0);
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            t.start();
            TestSupport.joinAll(List.of(t));
            assertThat(thrown.get()).isInstanceOf(ClosedByInterruptException.class);
            assertThat(file.isOpen()).isFalse();
            assertThat(java.nio.file.Files.size(path)).isZero();
        }
    }

    @Test
    void otherThreadsOfAFileClosedByAnInterruptGetAsynchronousCloseException() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build());
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            AtomicReference<Throwable> first = new AtomicReference<>();
            AtomicReference<Throwable> second = new AtomicReference<>();
            Thread a = Thread.ofVirtual().start(() -> {
                try {
                    pipe.read(ByteBuffer.allocate(16), 0);
                } catch (Throwable t) {
                    first.set(t);
                }
            });
            Thread b = Thread.ofVirtual().start(() -> {
                try {
                    pipe.read(ByteBuffer.allocate(16), 0);
                } catch (Throwable t) {
                    second.set(t);
                }
            });
            TestSupport.awaitCondition("both reads to be in flight", () -> engine.pendingCount() == 2);
            a.interrupt();
            TestSupport.joinAll(List.of(a, b));
            assertThat(first.get()).isInstanceOf(ClosedByInterruptException.class);
            assertThat(second.get()).isInstanceOf(java.nio.channels.AsynchronousCloseException.class)
                    .isNotInstanceOf(ClosedByInterruptException.class);
        }
    }

    /**
     * A ring CLOSE (a slow file's, closed on its caller; until 2026-12-06 also a writable local
     * file's, now closed on the offload) may wait for admission while a cancelFd for the same
     * descriptor comes (an interrupted thread's close cancels the file's requests while the
     * file's last user is closing the descriptor). That CLOSE is not the file's I/O: the cancel
     * must neither end its wait for admission (here forced: the ring is at its limit of 1, held by
     * a read that never finishes; the CLOSE waits at the gate or is held back by the poller) nor
     * cancel it in the kernel, or the descriptor stays open although the file reports closed.
     */
    @Test
    void aCancelForTheDescriptorDoesNotCancelADeferredCloseOfIt() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path file = dir.resolve("a");
        Files.write(file, new byte[16]);
        Options options = Options.builder().ringCount(1).disableAdaptive(true).initialInFlight(1).minInFlight(1)
                .build();
        try (Engine engine = Engine.create(options);
             AuraFile pipe = AuraFile.open(engine, fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofShared()) {
            int fd = io.auraio.testing.Posix.open(file, io.auraio.testing.Posix.O_RDWR);
            MemorySegment buf = arena.allocate(16);
            // A metered request that does not finish: the ring is at its limit of 1.
            Request hung = engine.read(pipe.fd(), BufferRef.of(buf), 16, 0, null);
            TestSupport.awaitCondition("the hung read in the kernel", () -> engine.core().ring(0).inKernel() == 1);
            AtomicReference<Long> closed = new AtomicReference<>();
            Thread closing = Thread.ofVirtual().start(() -> closed.set(engine.core().ring(0).execute(
                    io.auraio.internal.binding.Opcode.CLOSE, 0, fd, 0, 0, 0, 0, 0)));
            // It waits at the gate, or (the ring's requests take a free slot over the limit) is held
            // back by the poller until the ring is under its limit: either way not in the kernel.
            TestSupport.awaitCondition("the CLOSE waits for admission",
                    () -> engine.core().ring(0).waiting() == 1 || engine.core().ring(0).inUse() == 2);
            // What a second closer's cancelRequestsOnDescriptor sends meanwhile.
            engine.core().ring(0).cancelFd(fd);
            engine.cancel(hung);
            TestSupport.joinAll(List.of(closing));
            TestSupport.awaitCondition("the hung read to be cancelled", () -> !hung.isPending());
            assertThat(closed.get()).as("the CLOSE's result").isZero();
            Descriptors.assertClosed(fd, file, "the CLOSE that waited for admission");
        }
    }
}
