package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The submission ring of one io_uring, filled in Java. Not thread-safe: one thread at a time fills
 * and publishes it (the ring's owner, or whoever holds the owner's submission lock). Entries are
 * written into the SQE array and published by a release-store of the tail, so the kernel never
 * sees a half-written entry. {@link #unconsumed()} reads only ring memory, so any thread may ask.
 */
public final class SubmissionQueue {
    // struct io_uring_sqe field offsets (<linux/io_uring.h>)
    static final long SQE_BYTES = 64;
    private static final long SQE_OPCODE = 0;      // __u8 opcode
    private static final long SQE_FLAGS = 1;       // __u8 flags (IOSQE_*)
    private static final long SQE_IOPRIO = 2;      // __u16 ioprio
    private static final long SQE_FD = 4;          // __s32 fd
    private static final long SQE_OFF = 8;         // __u64 off / addr2
    private static final long SQE_ADDR = 16;       // __u64 addr
    private static final long SQE_LEN = 24;        // __u32 len
    private static final long SQE_OP_FLAGS = 28;   // __u32 rw_flags / fsync_flags / open_flags / ...
    private static final long SQE_USER_DATA = 32;  // __u64 user_data
    private static final long SQE_BUF_INDEX = 40;  // __u16 buf_index
    private static final long SQE_PERSONALITY = 42; // __u16 personality
    private static final long SQE_FILE_INDEX = 44; // __u32 splice_fd_in / file_index
    private static final long SQE_ADDR3 = 48;      // __u64 addr3
    private static final long SQE_PAD2 = 56;       // __u64 __pad2[1]

    /** {@code IORING_SQ_NEED_WAKEUP}: the SQPOLL thread sleeps and needs {@code IORING_ENTER_SQ_WAKEUP}. */
    static final int SQ_NEED_WAKEUP = 1;

    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MemorySegment ring;
    private final MemorySegment sqes;
    private final long headOffset;
    private final long tailOffset;
    private final long flagsOffset;
    private final int mask;
    private final int entries;
    /** Next tail to publish; entries between the published tail and this are filled but unseen. */
    private int localTail;

    SubmissionQueue(MemorySegment ring, MemorySegment sqes, MemorySegment params) {
        this.ring = ring;
        this.sqes = sqes;
        this.headOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.SQ_OFF_HEAD));
        this.tailOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.SQ_OFF_TAIL));
        this.flagsOffset = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.SQ_OFF_FLAGS));
        this.mask = ring.get(JAVA_INT, params.get(JAVA_INT, IoUringParams.SQ_OFF_RING_MASK));
        this.entries = ring.get(JAVA_INT, params.get(JAVA_INT, IoUringParams.SQ_OFF_RING_ENTRIES));
        long array = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.SQ_OFF_ARRAY));
        // Identity indirection: SQE slot i is always named by array[i], set once.
        for (int i = 0; i < entries; i++) {
            ring.set(JAVA_INT, array + 4L * i, i);
        }
        this.localTail = (int) INT.getAcquire(ring, tailOffset);
    }

    public int entries() {
        return entries;
    }

    /** {@return how many SQEs can be filled before the kernel consumes more} */
    public int freeEntries() {
        // Acquire: entries the kernel has consumed may be reused only once it is done reading them.
        int head = (int) INT.getAcquire(ring, headOffset);
        return entries - (localTail - head);
    }

    /**
     * {@return the number of SQEs published but not yet consumed by the kernel} Reads the shared
     * tail, not the filler's private one, so a thread that does not hold the submission lock (one
     * entering the kernel to submit or wait) gets a sound {@code to_submit}.
     */
    public int unconsumed() {
        int head = (int) INT.getAcquire(ring, headOffset);
        return (int) INT.getAcquire(ring, tailOffset) - head;
    }

    /**
     * Fills the next SQE; every field is written, so no stale value from an earlier use survives.
     * The caller has checked {@link #freeEntries()}.
     */
    public void push(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                     long userData, int bufIndex) {
        long base = (long) (localTail & mask) * SQE_BYTES;
        sqes.set(JAVA_BYTE, base + SQE_OPCODE, (byte) opcode);
        sqes.set(JAVA_BYTE, base + SQE_FLAGS, (byte) sqeFlags);
        sqes.set(JAVA_SHORT, base + SQE_IOPRIO, (short) 0);
        sqes.set(JAVA_INT, base + SQE_FD, fd);
        sqes.set(JAVA_LONG, base + SQE_OFF, offset);
        sqes.set(JAVA_LONG, base + SQE_ADDR, address);
        sqes.set(JAVA_INT, base + SQE_LEN, length);
        sqes.set(JAVA_INT, base + SQE_OP_FLAGS, opFlags);
        sqes.set(JAVA_LONG, base + SQE_USER_DATA, userData);
        sqes.set(JAVA_SHORT, base + SQE_BUF_INDEX, (short) bufIndex);
        sqes.set(JAVA_SHORT, base + SQE_PERSONALITY, (short) 0);
        sqes.set(JAVA_INT, base + SQE_FILE_INDEX, 0);
        sqes.set(JAVA_LONG, base + SQE_ADDR3, 0L);
        sqes.set(JAVA_LONG, base + SQE_PAD2, 0L);
        localTail++;
    }

    /**
     * Makes every filled SQE visible to the kernel.
     *
     * @return how many SQEs were published by this call: the {@code to_submit} of
     *         {@code io_uring_enter}
     */
    public int publish() {
        int published = (int) INT.get(ring, tailOffset);
        // Release: the SQE stores above must be visible before the kernel sees the new tail.
        INT.setRelease(ring, tailOffset, localTail);
        return localTail - published;
    }

    boolean needsWakeup() {
        // A full fence between the tail just published and this read (liburing's
        // io_uring_smp_mb): x86 may otherwise read the flags before the tail store is visible,
        // and miss a SQ thread that saw the old tail and went to sleep, leaving the SQEs unseen.
        java.lang.invoke.VarHandle.fullFence();
        return ((int) INT.getAcquire(ring, flagsOffset) & SQ_NEED_WAKEUP) != 0;
    }
}
