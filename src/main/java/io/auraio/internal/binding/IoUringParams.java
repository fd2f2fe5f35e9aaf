package io.auraio.internal.binding;

/**
 * Byte offsets of {@code struct io_uring_params} and the two offset tables inside it, from
 * {@code <linux/io_uring.h>}. These are the kernel's stable ABI; liburing's own
 * {@code struct io_uring} is private to each liburing version and never read.
 */
final class IoUringParams {
    static final long BYTES = 120;

    static final long SQ_ENTRIES = 0;       // __u32 sq_entries
    static final long CQ_ENTRIES = 4;       // __u32 cq_entries
    static final long FLAGS = 8;            // __u32 flags
    static final long SQ_THREAD_CPU = 12;   // __u32 sq_thread_cpu
    static final long SQ_THREAD_IDLE = 16;  // __u32 sq_thread_idle
    static final long FEATURES = 20;        // __u32 features
    static final long SQ_OFF = 40;          // struct io_sqring_offsets sq_off
    static final long CQ_OFF = 80;          // struct io_cqring_offsets cq_off

    // struct io_sqring_offsets
    static final long SQ_OFF_HEAD = SQ_OFF;
    static final long SQ_OFF_TAIL = SQ_OFF + 4;
    static final long SQ_OFF_RING_MASK = SQ_OFF + 8;
    static final long SQ_OFF_RING_ENTRIES = SQ_OFF + 12;
    static final long SQ_OFF_FLAGS = SQ_OFF + 16;
    static final long SQ_OFF_DROPPED = SQ_OFF + 20;
    static final long SQ_OFF_ARRAY = SQ_OFF + 24;

    // struct io_cqring_offsets
    static final long CQ_OFF_HEAD = CQ_OFF;
    static final long CQ_OFF_TAIL = CQ_OFF + 4;
    static final long CQ_OFF_RING_MASK = CQ_OFF + 8;
    static final long CQ_OFF_RING_ENTRIES = CQ_OFF + 12;
    static final long CQ_OFF_OVERFLOW = CQ_OFF + 16;
    static final long CQ_OFF_CQES = CQ_OFF + 20;

    private IoUringParams() {}
}
