package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * One io_uring instance: the ring file descriptor, its three shared mappings, and the
 * {@code io_uring_enter}/{@code io_uring_register} calls on it. Created, driven and closed by a
 * single owner thread (required anyway by {@code IORING_SETUP_SINGLE_ISSUER}).
 */
public final class IoUring implements AutoCloseable {
    // io_uring_setup(2) flags
    public static final int SETUP_SQPOLL = 1 << 1;
    public static final int SETUP_CQSIZE = 1 << 3;
    public static final int SETUP_CLAMP = 1 << 4;
    /**
     * {@code IORING_SETUP_SUBMIT_ALL} (5.18): an SQE the kernel refuses while preparing it (a bad
     * path, an unknown flag) gets its error CQE and the rest of the batch is still submitted.
     * Without it the kernel stops the batch at that SQE; {@link #submit} copes either way.
     */
    public static final int SETUP_SUBMIT_ALL = 1 << 7;
    public static final int SETUP_COOP_TASKRUN = 1 << 8;
    public static final int SETUP_TASKRUN_FLAG = 1 << 9;
    public static final int SETUP_SINGLE_ISSUER = 1 << 12;
    public static final int SETUP_DEFER_TASKRUN = 1 << 13;

    // io_uring_params.features
    private static final int FEAT_SINGLE_MMAP = 1;
    public static final int FEAT_NODROP = 1 << 1;
    public static final int FEAT_EXT_ARG = 1 << 8;

    // io_uring_enter(2) flags
    private static final int ENTER_GETEVENTS = 1;
    private static final int ENTER_SQ_WAKEUP = 1 << 1;
    private static final int ENTER_EXT_ARG = 1 << 3;

    // mmap offsets
    private static final long OFF_SQ_RING = 0L;
    private static final long OFF_CQ_RING = 0x8000000L;
    private static final long OFF_SQES = 0x10000000L;

    // io_uring_register(2) opcodes
    public static final int REGISTER_BUFFERS = 0;
    public static final int UNREGISTER_BUFFERS = 1;
    public static final int REGISTER_FILES = 2;
    public static final int UNREGISTER_FILES = 3;
    public static final int REGISTER_EVENTFD = 4;
    public static final int REGISTER_FILES_UPDATE = 6;
    private static final int REGISTER_PROBE = 8;

    // struct io_uring_probe / io_uring_probe_op
    private static final long PROBE_HEADER_BYTES = 16;
    private static final long PROBE_OP_BYTES = 8;
    private static final long PROBE_LAST_OP = 0;     // __u8 last_op
    private static final long PROBE_OP_FLAGS = 2;    // __u16 flags within io_uring_probe_op
    private static final int IO_URING_OP_SUPPORTED = 1;

    // struct io_uring_getevents_arg and __kernel_timespec
    private static final long GETEVENTS_ARG_BYTES = 24;
    private static final long ARG_SIGMASK_SZ = 8;    // __u32 sigmask_sz
    private static final long ARG_TS = 16;           // __u64 ts (pointer)
    private static final long TIMESPEC_SEC = 0;
    private static final long TIMESPEC_NSEC = 8;
    private static final int KERNEL_SIGSET_BYTES = 8; // _NSIG / 8

    private final Arena arena;
    private final int fd;
    private final int setupFlags;
    private final int features;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final SubmissionQueue sq;
    private final CompletionQueue cq;
    private final BitSet supportedOps;
    /** errno capture, getevents argument and timespec of the owner's enter calls. */
    private final MemorySegment captureState;
    private final MemorySegment eventsArg;
    private final MemorySegment timespec;
    private boolean closed;

    private IoUring(Arena arena, int fd, int setupFlags, MemorySegment params, MemorySegment sqRing,
                    MemorySegment cqRing, MemorySegment sqes) {
        this.arena = arena;
        this.fd = fd;
        this.setupFlags = setupFlags;
        this.features = params.get(JAVA_INT, IoUringParams.FEATURES);
        this.sqRing = sqRing;
        this.cqRing = cqRing;
        this.sqes = sqes;
        this.sq = new SubmissionQueue(sqRing, sqes, params);
        this.cq = new CompletionQueue(cqRing, params);
        this.captureState = arena.allocate(NativeAccess.CAPTURE_LAYOUT);
        this.eventsArg = arena.allocate(GETEVENTS_ARG_BYTES, 8);
        this.timespec = arena.allocate(16, 8);
        this.supportedOps = probe(fd, arena);
    }

    /** What a failed setup attempt was refused with. */
    public record Refusal(int flags, int errno) {}

    /** Thrown when no combination of setup flags gives a ring; carries the last errno. */
    public static final class SetupException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int errno;

        public SetupException(int errno, String message) {
            super(message);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    /**
     * Creates a ring of at least {@code entries} SQEs, trying each flag set in
     * {@code flagCandidates} in order and falling back to the next when the kernel refuses one
     * with EINVAL (an unknown flag on an older kernel). Any other error ends the attempt: ENOMEM
     * (memlock limit), EPERM (seccomp, {@code io_uring_disabled}) and ENOSYS do not get better with
     * fewer flags.
     */
    public static IoUring create(int entries, int cqEntries, int[] flagCandidates, int sqThreadIdleMs,
                                 List<Refusal> refusals) throws SetupException {
        int lastErrno = Errno.EINVAL;
        for (int flags : flagCandidates) {
            Arena arena = Arena.ofShared();
            boolean done = false;
            try {
                MemorySegment params = arena.allocate(IoUringParams.BYTES, 8);
                int allFlags = flags | (cqEntries > 0 ? SETUP_CQSIZE | SETUP_CLAMP : 0);
                params.set(JAVA_INT, IoUringParams.FLAGS, allFlags);
                params.set(JAVA_INT, IoUringParams.CQ_ENTRIES, cqEntries);
                params.set(JAVA_INT, IoUringParams.SQ_THREAD_IDLE, sqThreadIdleMs);
                int fd = UringBinding.setup(entries, params);
                if (fd < 0) {
                    lastErrno = -fd;
                    refusals.add(new Refusal(allFlags, -fd));
                    if (-fd == Errno.EINVAL) {
                        continue;
                    }
                    break;
                }
                IoUring ring = map(arena, fd, allFlags, params);
                done = true;
                return ring;
            } finally {
                if (!done) {
                    arena.close();
                }
            }
        }
        throw new SetupException(lastErrno, "io_uring_setup failed: " + Errno.message(lastErrno)
                + " (errno " + lastErrno + ")");
    }

    private static IoUring map(Arena arena, int fd, int flags, MemorySegment params) throws SetupException {
        int features = params.get(JAVA_INT, IoUringParams.FEATURES);
        int sqEntries = params.get(JAVA_INT, IoUringParams.SQ_ENTRIES);
        int cqEntries = params.get(JAVA_INT, IoUringParams.CQ_ENTRIES);
        long sqSize = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.SQ_OFF_ARRAY)) + 4L * sqEntries;
        long cqSize = Integer.toUnsignedLong(params.get(JAVA_INT, IoUringParams.CQ_OFF_CQES)) + 16L * cqEntries;
        int[] errno = new int[1];
        List<MemorySegment> mapped = new ArrayList<>(3);
        try {
            boolean single = (features & FEAT_SINGLE_MMAP) != 0;
            long ringSize = single ? Math.max(sqSize, cqSize) : sqSize;
            MemorySegment sqRing = mapOrThrow(fd, OFF_SQ_RING, ringSize, errno, mapped);
            MemorySegment cqRing = single ? sqRing : mapOrThrow(fd, OFF_CQ_RING, cqSize, errno, mapped);
            MemorySegment sqes = mapOrThrow(fd, OFF_SQES, SubmissionQueue.SQE_BYTES * sqEntries, errno, mapped);
            return new IoUring(arena, fd, flags, params, sqRing, cqRing, sqes);
        } catch (SetupException | RuntimeException e) {
            mapped.forEach(Libc::munmap);
            Libc.close(fd);
            throw e;
        }
    }

    private static MemorySegment mapOrThrow(int fd, long offset, long size, int[] errno, List<MemorySegment> mapped)
            throws SetupException {
        MemorySegment m = Libc.mmapShared(fd, offset, size, errno);
        if (m == null) {
            throw new SetupException(errno[0], "mmap of io_uring failed: " + Errno.message(errno[0]));
        }
        mapped.add(m);
        return m;
    }

    private static BitSet probe(int fd, Arena arena) {
        BitSet ops = new BitSet(Opcode.PROBE_OPS);
        MemorySegment probe = arena.allocate(PROBE_HEADER_BYTES + PROBE_OP_BYTES * Opcode.PROBE_OPS, 8);
        if (UringBinding.register(fd, REGISTER_PROBE, probe, Opcode.PROBE_OPS) < 0) {
            // Kernels before 5.6 cannot be probed; assume the 5.1 baseline set.
            ops.set(Opcode.NOP, Opcode.READ_FIXED + 1);
            return ops;
        }
        int last = Byte.toUnsignedInt(probe.get(JAVA_BYTE, PROBE_LAST_OP));
        for (int op = 0; op <= last && op < Opcode.PROBE_OPS; op++) {
            long base = PROBE_HEADER_BYTES + op * PROBE_OP_BYTES;
            if ((probe.get(JAVA_SHORT, base + PROBE_OP_FLAGS) & IO_URING_OP_SUPPORTED) != 0) {
                ops.set(op);
            }
        }
        return ops;
    }

    public SubmissionQueue submissionQueue() {
        return sq;
    }

    public CompletionQueue completionQueue() {
        return cq;
    }

    public int fd() {
        return fd;
    }

    public int setupFlags() {
        return setupFlags;
    }

    public int features() {
        return features;
    }

    public boolean supports(int opcode) {
        return supportedOps.get(opcode);
    }

    /**
     * Publishes filled SQEs and submits every SQE the kernel has not consumed yet, without
     * waiting. Completions are also flushed ({@code GETEVENTS}), which a {@code DEFER_TASKRUN}
     * ring needs to post them at all.
     *
     * <p>Without {@link #SETUP_SUBMIT_ALL} the kernel stops a batch at the first SQE it refuses
     * while preparing it (an OPENAT whose path is empty or longer than PATH_MAX, an unknown
     * flag...): that SQE is consumed and completes with its error, the ones after it stay in the
     * ring. So {@code to_submit} is always everything between the kernel's head and our tail (never
     * only what this call published, or the SQEs left behind would never be submitted), and the
     * call is repeated while the kernel consumes some but not all of them.
     *
     * @return the number of SQEs submitted, or a negated errno when the kernel took none
     */
    public int submit() {
        sq.publish();
        boolean sqpoll = (setupFlags & SETUP_SQPOLL) != 0;
        if (sqpoll) {
            // The SQPOLL thread takes everything up to the tail itself; it only needs waking.
            int toSubmit = sq.unconsumed();
            if (!sq.needsWakeup()) {
                return toSubmit;
            }
            return UringBinding.enter(captureState, fd, toSubmit, 0, ENTER_SQ_WAKEUP, MemorySegment.NULL, 0);
        }
        if (sq.unconsumed() == 0 && (setupFlags & SETUP_DEFER_TASKRUN) == 0) {
            return 0;
        }
        return enterUntilConsumed(captureState, 0, ENTER_GETEVENTS, MemorySegment.NULL, 0);
    }

    /**
     * Submits the SQEs already published (by this or another thread), from any thread, without
     * waiting and without flushing completions: the caller-side submit of a ring set up without
     * {@link #SETUP_SINGLE_ISSUER}. The kernel serialises concurrent submitters itself; the SQEs
     * were filled and published under the owner's submission lock. Refused SQEs are handled as in
     * {@link #submit}.
     *
     * @return the number of SQEs submitted, or a negated errno when the kernel took none
     */
    public int submitPublished() {
        if ((setupFlags & (SETUP_SQPOLL | SETUP_SINGLE_ISSUER)) != 0) {
            throw new IllegalStateException("ring set up for one issuer");
        }
        if (sq.unconsumed() == 0) {
            return 0;
        }
        try (CallScratch scratch = CallScratch.acquire()) {
            return enterUntilConsumed(scratch.captureState(), 0, 0, MemorySegment.NULL, 0);
        }
    }

    /**
     * Submits the unconsumed SQEs, entering again while the kernel consumed some but stopped
     * short of the tail (a refused SQE ends a batch). Stops at an error, at a call that consumed
     * nothing, or once the kernel has taken every SQE.
     *
     * @return the SQEs consumed over all calls, or the negated errno of the first call that failed
     *         before any was consumed
     */
    private int enterUntilConsumed(MemorySegment capture, int minComplete, int flags, MemorySegment arg,
                                   long argSize) {
        int total = 0;
        // At most one refused SQE per call, so entries + 1 calls consume any ring; the bound
        // only guards against a kernel that reports progress it did not make.
        for (int calls = 0; calls <= sq.entries(); calls++) {
            int toSubmit = sq.unconsumed();
            int r = UringBinding.enter(capture, fd, toSubmit, minComplete, flags, arg, argSize);
            if (r < 0) {
                return total > 0 ? total : r;
            }
            total += r;
            if (r == 0 || r >= toSubmit || sq.unconsumed() == 0) {
                return total;
            }
            // The kernel stopped at a refused SQE; the rest must go in now, not wait (forever, when
            // the eventfd wake-up read is among them) for the next submit.
            minComplete = 0;
        }
        return total;
    }

    /**
     * Publishes filled SQEs, submits every unconsumed one (as {@link #submit}) and blocks until at
     * least one completion is posted or {@code timeoutNanos} passes ({@code <= 0}: no timeout).
     * Returns normally on timeout. When the kernel refuses an SQE of the batch, it returns without
     * waiting: the refused SQE's error completion is there to be reaped.
     *
     * @param timeoutNanos how long to wait at most, or 0 for no limit
     * @return the number of SQEs submitted, or a negated errno (EINTR, ETIME are normal)
     */
    public int submitAndWait(long timeoutNanos) {
        sq.publish();
        return submitPublishedAndWait(timeoutNanos);
    }

    /**
     * As {@link #submitAndWait}, but publishes nothing: the owner published its SQEs under its
     * submission lock and waits here without it, so that other threads may fill and submit SQEs
     * while it sleeps. Owner thread only (it uses the owner's getevents argument).
     *
     * @param timeoutNanos how long to wait at most, or 0 for no limit
     * @return the number of SQEs submitted, or a negated errno (EINTR, ETIME are normal)
     */
    public int submitPublishedAndWait(long timeoutNanos) {
        int flags = ENTER_GETEVENTS;
        if ((setupFlags & SETUP_SQPOLL) != 0) {
            if (sq.needsWakeup()) {
                flags |= ENTER_SQ_WAKEUP;
            }
            // SQPOLL: the kernel thread submits; to_submit is ignored apart from the wake-up.
            return UringBinding.enter(captureState, fd, sq.unconsumed(), 1, flags, MemorySegment.NULL, 0);
        }
        if (timeoutNanos > 0 && (features & FEAT_EXT_ARG) != 0) {
            timespec.set(JAVA_LONG, TIMESPEC_SEC, timeoutNanos / 1_000_000_000L);
            timespec.set(JAVA_LONG, TIMESPEC_NSEC, timeoutNanos % 1_000_000_000L);
            eventsArg.set(JAVA_LONG, 0, 0L);
            eventsArg.set(JAVA_INT, ARG_SIGMASK_SZ, KERNEL_SIGSET_BYTES);
            eventsArg.set(JAVA_LONG, ARG_TS, timespec.address());
            return enterUntilConsumed(captureState, 1, flags | ENTER_EXT_ARG, eventsArg, GETEVENTS_ARG_BYTES);
        }
        return enterUntilConsumed(captureState, 1, flags, MemorySegment.NULL, 0);
    }

    /**
     * {@code io_uring_register(2)} on this ring.
     *
     * @param opcode an {@code IORING_REGISTER_*} value
     * @param arg    the argument array
     * @param count  its element count
     * @return the result or a negated errno
     */
    public int register(int opcode, MemorySegment arg, int count) {
        return UringBinding.register(fd, opcode, arg, count);
    }

    /**
     * Unmaps the rings and closes the ring fd. The kernel cancels whatever is still in flight; the
     * caller must have waited for every request whose memory it is about to free.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Libc.munmap(sqes);
        if (cqRing.address() != sqRing.address()) {
            Libc.munmap(cqRing);
        }
        Libc.munmap(sqRing);
        Libc.close(fd);
        arena.close();
    }
}
