package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The completion ring of one io_uring, reaped in Java. Not thread-safe: only the ring's owner
 * thread calls it.
 */
public final class CompletionQueue {
    // struct io_uring_cqe field offsets (<linux/io_uring.h>)
    private static final long CQE_BYTES = 16;
    private static final long CQE_USER_DATA = 0; // __u64 user_data
    private static final long CQE_RES = 8;       // __s32 res
    private static final long CQE_FLAGS = 12;    // __u32 flags

    private static final VarHandle INT = JAVA_INT.varHandle();

    /** Receives one completion. */
    @FunctionalInterface
    public interface Handler {
        void complete(long userData, int result, int flags);
    }

    private final MemorySegment ring;
    private final long headOffset;
    private final long tailOffset;
    private final long overflowOffset;
    private final long cqesOffset;
    private final int mask;
    private final int entries;

    CompletionQueue(MemorySegment ring, MemorySegment params) {
        this.ring = ring;
        this.headOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.CQ_OFF_HEAD));
        this.tailOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.CQ_OFF_TAIL));
        this.overflowOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.CQ_OFF_OVERFLOW));
        this.cqesOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.CQ_OFF_CQES));
        this.mask = ring.get(JAVA_INT, params.get(JAVA_INT, IoUringParams.CQ_OFF_RING_MASK));
        this.entries = ring.get(JAVA_INT, params.get(JAVA_INT, IoUringParams.CQ_OFF_RING_ENTRIES));
    }

    public int entries() {
        return entries;
    }

    /** {@return whether completions are waiting to be reaped} */
    public boolean hasCompletions() {
        return (int) INT.getAcquire(ring, tailOffset) != (int) INT.get(ring, headOffset);
    }

    /**
     * Hands every available completion to {@code handler}, freeing each slot first.
     *
     * @param handler receives each completion
     * @return the number of completions reaped
     */
    public int drain(Handler handler) {
        // Acquire: the CQE contents written by the kernel are visible once its tail store is.
        int tail = (int) INT.getAcquire(ring, tailOffset);
        int head = (int) INT.get(ring, headOffset);
        int h = head;
        for (; h != tail; h++) {
            long base = cqesOffset + (long) (h & mask) * CQE_BYTES;
            long userData = ring.get(JAVA_LONG, base + CQE_USER_DATA);
            int res = ring.get(JAVA_INT, base + CQE_RES);
            int flags = ring.get(JAVA_INT, base + CQE_FLAGS);
            // Free the slot before running the handler: it reads nothing more from the CQE.
            // Release: our reads of this CQE happen before the kernel may overwrite it.
            INT.setRelease(ring, headOffset, h + 1);
            handler.complete(userData, res, flags);
        }
        return h - head;
    }

    /** {@return completions the kernel had to drop (only on kernels without NODROP)} */
    public int overflow() {
        return (int) INT.getAcquire(ring, overflowOffset);
    }
}
