package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.OpenFlags;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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

    /** The longest wait between two looks for a writer that has the FIFO open but wrote nothing yet. */
    private static final long MAX_LOOK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /**
     * Waits until the FIFO open for reading at {@code fd} has seen a writer, as a blocking
     * {@code open(2)} for reading waits for one; on a new daemon platform thread, the caller
     * parked meanwhile (not interruptibly, as {@link #open}).
     *
     * <p>{@code fd} was opened with {@code O_NONBLOCK}, which did not wait, and it let in a writer
     * that was waiting for a reader: that one may have written and closed before anything here
     * runs, its bytes left in the FIFO. A second, blocking open would then wait for the next writer
     * (for ever, if none comes), where the JDK's open, made before that writer came, read its bytes.
     * So this asks {@code fd} itself: {@code poll} reports bytes (POLLIN) or a writer that came and
     * left (POLLHUP, which the kernel holds back on a descriptor opened with {@code O_NONBLOCK} until
     * a writer has come), and {@code tee} of one byte without waiting tells a writer that is there
     * but wrote nothing yet (EAGAIN, where no writer gives 0). Neither of the two wakes when a writer
     * merely opens, so that is looked for at 1 ms, then at doubling intervals up to 100 ms.
     *
     * @return 0 once a writer was seen, or a negated errno
     */
    static int awaitFifoWriter(int fd) {
        CompletableFuture<Integer> seen = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("auraio-fifo-open").start(() -> {
            try {
                seen.complete(lookForWriter(fd));
            } catch (Throwable t) {
                seen.completeExceptionally(t);
            }
        });
        return seen.join();
    }

    private static int lookForWriter(int fd) {
        int[] scratch = new int[2]; // where tee may put the byte it duplicates: a pipe of our own
        int r = Libc.pipe(scratch, OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK);
        if (r < 0) {
            return r;
        }
        try {
            long wait = TimeUnit.MILLISECONDS.toNanos(1);
            while (true) {
                long t = Libc.tee(fd, scratch[1], 1, Libc.SPLICE_F_NONBLOCK);
                if (t > 0 || t == -Errno.EAGAIN) {
                    return 0; // bytes, or a writer that has the FIFO open
                }
                if (t < 0 && t != -Errno.EINTR) {
                    return (int) t;
                }
                int events = Libc.poll(fd, (short) (Libc.POLLIN | Libc.POLLHUP), wait);
                if (events > 0) {
                    return 0; // bytes, or a writer that came and left (an error: the read reports it)
                }
                if (events < 0 && events != -Errno.EINTR) {
                    return events;
                }
                wait = Math.min(2 * wait, MAX_LOOK_NANOS);
            }
        } finally {
            Libc.close(scratch[0]);
            Libc.close(scratch[1]);
        }
    }
}
