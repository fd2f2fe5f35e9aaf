package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.engine.RingPoller;
import io.auraio.internal.mapped.MappedReads;
import io.auraio.internal.offload.AbandonableCall;
import io.auraio.internal.offload.BlockingOffload;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.IntToLongFunction;

/**
 * The reads and writes of one {@link AuraFile} on a slow file system (FUSE, NFS, ...: see
 * {@code SlowFileSystems}), made with plain {@code pread}/{@code pwrite} on
 * {@link BlockingOffload#transfers()} while the caller parks, instead of on the ring; and the
 * file's other calls that may wait for the file system ({@code fsync}, {@code fstat},
 * {@code ftruncate}: {@link #call}), which its caller must be able to leave as well.
 *
 * <p>Why not the ring: io_uring reaches a FUSE file system through asynchronous requests, of which
 * a FUSE connection runs only {@code max_background} (12 by default) at once, and a request the
 * daemon holds cannot be cancelled; so 64 callers of a 50 ms file system got about 12 reads in
 * flight, and a caller on a hung daemon could leave neither on interrupt nor on close. Here every
 * caller has its own thread in the kernel, and can leave.
 *
 * <p><b>Leaving.</b> The system call works on memory the call owns ({@code malloc}ed, never the
 * caller's buffer nor the engine's pool, which {@link Engine#close()} frees): a write's bytes are
 * copied in before the call, a read's copied out after it. So a caller that is interrupted, or
 * whose file is closed, returns at once ({@code -ECANCELED}, which {@link AuraFile} turns into
 * {@link java.nio.channels.ClosedByInterruptException} or
 * {@link java.nio.channels.AsynchronousCloseException}); the call goes on in the kernel, its result
 * is dropped and its memory freed whenever it returns. A write abandoned so may still land in the
 * file afterwards, as one of {@link java.nio.channels.FileChannel} may when its thread is
 * interrupted during the system call.
 *
 * <p><b>Admission.</b> Each transfer holds an admission of one of the engine's rings while it is
 * in flight ({@link RingPoller#admitOffloaded}), so the ring's in-flight limit and its AIMD
 * controller govern these transfers as they do the ring's own requests, and a transfer older than
 * the device's latencies explain stops counting, as a hung ring request does. The pool's
 * per-mount share ({@link BlockingOffload#transfers()}) bounds the threads one hung mount can hold.
 *
 * <p><b>The descriptor</b> stays open while any call on the pool uses it, even after the file is
 * closed: otherwise a late {@code pwrite} could land in another file given the same number. The
 * file's close then leaves the descriptor to the last such call ({@link #closeWhenUnused}).
 */
final class SlowFile {
    /** Added to {@link #holds} once the file wants its descriptor closed. */
    private static final int CLOSE_PENDING = 1 << 30;

    private final String mountKey;
    private final int fd;
    /** Callers parked in a call now: woken by {@link #wakeAll()} when the file closes. */
    private final Set<Thread> waiting = ConcurrentHashMap.newKeySet();
    /** System calls that may still use the descriptor, plus {@link #CLOSE_PENDING} once closing. */
    private final AtomicInteger holds = new AtomicInteger();
    private volatile DescriptorClose deferredClose;

    /** Closes the descriptor (on whichever thread lets it go last: it must not block there). */
    @FunctionalInterface
    interface DescriptorClose {
        void close();
    }

    SlowFile(String mountKey, int fd) {
        this.mountKey = mountKey;
        this.fd = fd;
    }

    /**
     * Reads into, or writes from, the caller's {@code memory} (of {@code length} bytes) at
     * {@code position} ({@link AuraFile#FILE_POSITION}: at the file position). The caller is
     * inside an operation of the file, so the file is not closed before {@link #holds} counts this
     * call. {@return the count, or a negated errno; {@code -ECANCELED} when the caller gave up}
     *
     * @param interruptible whether an interrupt ends the wait
     * @param closed        whether the file is closed (checked after every wake-up)
     * @throws IllegalStateException if {@code memory}'s arena is closed (by another thread)
     */
    long transfer(IoEngine core, boolean read, MemorySegment memory, long length, long position,
                  boolean interruptible, BooleanSupplier closed) {
        // The chosen ring's in-flight limit (and its controller) governs these transfers as its own.
        int choice = core.choose();
        RingPoller ring = core.chosen(choice);
        RingPoller.Offloaded admitted = ring.admitOffloaded(fd, interruptible);
        if (admitted == null) {
            return -Errno.ESHUTDOWN;
        }
        if (admitted == RingPoller.OFFLOAD_CANCELLED) {
            return -Errno.ECANCELED; // interrupted, or the file closed, while waiting for admission
        }
        core.countSpill(choice);
        long r = BlockingOffload.ABANDONED;
        try {
            // The engine's close ends the wait too (the ring wakes its off-ring callers): it ends
            // the ring's own requests in the kernel, and a hung daemon's call may never return.
            r = transferAdmitted(read, memory, length, position, interruptible,
                    () -> closed.getAsBoolean() || ring.isClosing());
            if (r == -Errno.ECANCELED && ring.isClosing() && !closed.getAsBoolean()
                    && !(interruptible && Thread.currentThread().isInterrupted())) {
                r = -Errno.ESHUTDOWN; // as a ring request the shutdown ended
            }
            return r;
        } finally {
            ring.releaseOffloaded(admitted, r, r != BlockingOffload.ABANDONED && r != -Errno.ECANCELED
                    && r != -Errno.ESHUTDOWN);
        }
    }

    private long transferAdmitted(boolean read, MemorySegment memory, long length, long position,
                                  boolean interruptible, BooleanSupplier closed) {
        MemorySegment owned = Libc.alignedAlloc(64, Math.max(1, length));
        if (owned.equals(MemorySegment.NULL)) {
            return -Errno.ENOMEM;
        }
        if (!read) {
            boolean copied;
            try {
                // The caller's memory may fault (a MappedByteBuffer of a file another process cut
                // short): EFAULT, as the kernel says of such memory, never the copy's InternalError.
                copied = MappedReads.copyUnlessFaulted(memory, 0, owned, 0, length);
            } catch (RuntimeException | Error e) {
                Libc.free(owned);
                throw e;
            }
            if (!copied) {
                Libc.free(owned);
                return -Errno.EFAULT;
            }
        }
        Call call = new Call(read, owned, length, position);
        long r = runOnPool(call, interruptible, closed);
        if (r == BlockingOffload.ABANDONED) {
            return -Errno.ECANCELED; // the pool frees the memory and lets go of the descriptor
        }
        try {
            if (read && r > 0 && !MappedReads.copyUnlessFaulted(owned, 0, memory, 0, r)) {
                return -Errno.EFAULT; // as above
            }
            return r;
        } finally {
            call.free();
        }
    }

    /**
     * Makes a system call on the descriptor that touches no memory of the caller's
     * ({@code fsync}, {@code fstat}, {@code ftruncate}: {@code syscall} gets the descriptor and
     * allocates what else it needs itself, on the pool thread) on the offload pool, so that its
     * caller can leave it as it leaves a transfer. On a FUSE file such a call waits for the daemon
     * as a read does, and a ring request of it (io_uring's {@code FSYNC}, {@code STATX}) would hold
     * its caller until the daemon answers, which may be never. It holds no ring admission: it
     * moves no data, so the in-flight limit and its controller, which model the device's
     * throughput, have nothing to learn from it; the pool's per-mount share bounds it with the
     * mount's transfers. The caller is inside an operation of the file, as for
     * {@link #transfer}. {@return the call's result, or {@code -ECANCELED} when the caller gave up}
     *
     * @param syscall       the call, given the descriptor: its result or a negated errno
     * @param interruptible whether an interrupt ends the wait
     * @param closed        whether the file is closed (checked after every wake-up)
     */
    long call(IntToLongFunction syscall, boolean interruptible, BooleanSupplier closed) {
        MetaCall call = new MetaCall(syscall);
        long r = runOnPool(call, interruptible, closed);
        if (r == BlockingOffload.ABANDONED) {
            return -Errno.ECANCELED; // the pool lets go of the descriptor when the call returns
        }
        call.free();
        return r;
    }

    /**
     * Hands {@code call} to the pool as a user of the descriptor (which {@link #closeWhenUnused}
     * waits for) with this thread parked where {@link #wakeAll} finds it. {@return the call's
     * result, or {@link BlockingOffload#ABANDONED} when the caller gave up and the pool owns it}
     */
    private long runOnPool(AbandonableCall call, boolean interruptible, BooleanSupplier closed) {
        holds.incrementAndGet();
        Thread self = Thread.currentThread();
        waiting.add(self);
        try {
            return BlockingOffload.transfers().callAbandonable(mountKey, call, interruptible, closed);
        } finally {
            waiting.remove(self);
        }
    }

    /** Wakes every caller parked in a call, to look whether the file closed. */
    void wakeAll() {
        for (Thread t : waiting) {
            LockSupport.unpark(t);
        }
    }

    /**
     * Closes the descriptor with {@code close} now if no system call uses it, else leaves that to
     * the last one when it returns. {@return whether it ran here}
     */
    boolean closeWhenUnused(DescriptorClose close) {
        deferredClose = close; // before CLOSE_PENDING: the last call to return reads it
        if (holds.getAndAdd(CLOSE_PENDING) == 0) {
            deferredClose = null;
            close.close();
            return true;
        }
        return false;
    }

    /** {@return the mount point whose share of the offload pools this file's calls take} */
    String mountKey() {
        return mountKey;
    }

    /** {@return the system calls that still use the descriptor} For tests and toString. */
    int callsInKernel() {
        return holds.get() & (CLOSE_PENDING - 1);
    }

    private void letGo() {
        if (holds.decrementAndGet() == CLOSE_PENDING) {
            DescriptorClose close = deferredClose;
            deferredClose = null;
            if (close != null) {
                close.close();
            }
        }
    }

    /**
     * A call that uses the descriptor: released once, by the caller that took its result
     * ({@link #free()}) or by the pool when its caller abandoned it ({@link #release()}).
     */
    private abstract class DescriptorCall extends AbandonableCall {
        private final AtomicInteger released = new AtomicInteger();

        @Override
        protected final void release() {
            free();
        }

        final void free() {
            if (released.compareAndSet(0, 1)) {
                freeOwned();
                letGo();
            }
        }

        /** Frees what the call owns besides its hold on the descriptor. */
        void freeOwned() {}
    }

    /** One system call of {@link #call}. */
    private final class MetaCall extends DescriptorCall {
        private final IntToLongFunction syscall;

        MetaCall(IntToLongFunction syscall) {
            this.syscall = syscall;
        }

        @Override
        protected long call() {
            return syscall.applyAsLong(fd);
        }
    }

    /** One pread or pwrite of owned memory. */
    private final class Call extends DescriptorCall {
        private final boolean read;
        private final MemorySegment owned;
        private final long length;
        private final long position;

        Call(boolean read, MemorySegment owned, long length, long position) {
            this.read = read;
            this.owned = owned;
            this.length = length;
            this.position = position;
        }

        @Override
        protected long call() {
            return read ? Libc.preadv2(fd, owned.address(), length, position, 0)
                    : Libc.pwritev2(fd, owned.address(), length, position, 0);
        }

        @Override
        void freeOwned() {
            Libc.free(owned);
        }
    }
}
