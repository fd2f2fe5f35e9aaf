package io.auraio;

import io.auraio.internal.binding.Libc;
import java.util.concurrent.CompletableFuture;

/**
 * A blocking {@code open(2)} on a platform thread of its own, for the opens that must wait: a
 * FIFO's, which waits for the other end. The ring's inline open attempt cannot wait (it opens with
 * {@code O_NONBLOCK}: a FIFO opened for writing with no reader fails with ENXIO, one opened for
 * reading returns at once), and an open waiting in an io-wq worker would hold one of the few
 * bounded workers (4 per CPU) that every ring's fsync, statx and creating opens need: a handful of
 * FIFOs waiting would stop them all. A thread per waiting open is what the JDK spends too (its
 * {@code FileChannel.open} blocks its carrier, which the scheduler compensates for).
 */
final class BlockingOpen {
    private BlockingOpen() {}

    /**
     * Opens {@code path} with a blocking {@code open(2)} on a new daemon platform thread; the
     * caller parks until it returns. Not interruptible, as the JDK's open is not: the interrupt
     * status is kept.
     *
     * @return the descriptor, or a negated errno
     */
    static int open(byte[] path, int flags, int creationMode) {
        CompletableFuture<Integer> fd = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("auraio-blocking-open").start(() -> {
            try {
                fd.complete(Libc.open(path, flags, creationMode));
            } catch (Throwable t) {
                fd.completeExceptionally(t);
            }
        });
        return fd.join(); // parks a virtual thread; uninterruptible, the status kept
    }
}
