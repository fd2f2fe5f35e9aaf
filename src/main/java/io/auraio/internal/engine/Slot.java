package io.auraio.internal.engine;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One preallocated request slot of a ring. A slot is owned by its submitter from
 * {@link AdmissionGate#acquire} until it is released: by the parked caller once it has read the
 * result, by the event-loop thread once a callback has run, or by the poller for a future. In
 * between the poller reads the request fields and writes the result. {@code user_data} carries
 * the slot index and its generation, and the generation moves on at every release, so a
 * completion that arrives for an earlier use of the slot can never complete the current one.
 */
final class Slot {
    static final int FREE = 0;
    /** Handed out; the request is being prepared, is queued for the poller or held back by it. */
    static final int QUEUED = 1;
    static final int IN_KERNEL = 2;
    static final int DONE = 3;

    /** The calling thread parks until the poller unparks it. */
    static final int BLOCKING = 0;
    /** The completion is queued for the thread that calls the engine's poll, await or run. */
    static final int CALLBACK = 1;
    /** The completion is handed to an executor by the poller (user code never runs there). */
    static final int FUTURE = 2;

    final int index;
    final RingPoller ring;
    /** Bumped under the gate's lock at each release; read by the poller after the queue handoff. */
    int generation;

    // The request, written by the submitter before it is queued (the queue's CAS publishes them).
    int kind;
    int opcode;
    int sqeFlags;
    /**
     * Volatile: {@link RingPoller#cancelFd}'s scan reads it from the closing thread, and a
     * closing file relies on that read seeing the descriptor of a request whose caller then
     * missed the close (see {@link RingPoller#execute}'s {@code abandoned}).
     */
    volatile int fd;
    long offset;
    long address;
    int length;
    int opFlags;
    int bufIndex;
    /** Pool memory the request owns (an iovec array), returned when the slot is released. */
    MemorySegment ownedMemory;
    /** For CALLBACK and FUTURE requests: what to tell when the request completes. */
    AsyncCompletion completion;
    /** Whether this request counts as a user of the registered buffers / files. */
    boolean usesFixedBuffer;
    boolean usesFixedFile;
    /**
     * With {@code IOSQE_FIXED_FILE} in {@link #sqeFlags} ({@link #fd} is then a slot of the
     * registered table): the descriptor the request named, which a close of it cancels it for.
     */
    int plainFd;
    /** Set under the gate's lock while a completed callback request waits for its callback. */
    boolean completedHeld;
    /** Set under the gate's lock while the request does not count against the limit (may wait forever). */
    boolean exempt;
    /** Set under the gate's lock for a callback or future request (at most the queue depth at once). */
    boolean async;

    /** Poller only: the request is in the kernel and does not count against the limit there. */
    boolean uncountedInKernel;

    /** The thread parked on a BLOCKING request. */
    Thread waiter;
    /** Set by the poller when the request reached the kernel; for latency samples. */
    long submittedNanos;
    /** Set by the poller at completion: reaped minus submitted; for the io.auraio.File* events. */
    long kernelNanos;
    /** Bytes or a negated errno, written before {@link #state} becomes DONE. */
    long result;
    /** Set when the calling thread put the request into the ring itself (the caller-submit path). */
    boolean submittedByCaller;
    /** Poller only: set when an {@code ASYNC_CANCEL} for this request was put into the ring. */
    boolean cancelSent;
    /** Set when the request must complete with ECANCELED without reaching the kernel. */
    volatile boolean cancelRequested;
    /** Whether the request is one of a linked chain's ({@link RingPoller#submitChain}). */
    boolean linked;
    /** Times the kernel cancelled this request on its own and it was submitted again. */
    int kernelCancels;
    volatile int state;
    /**
     * Set while its caller polls for it in the kernel ({@code RingPoller.pollWhileCarrierIsFree}),
     * and counted then in the ring's count of polled requests; cleared, and uncounted, by whoever
     * ends that first: the reaper of its completion, or the caller as it stops polling
     * ({@link #clearPolled}).
     */
    @SuppressWarnings("unused") // through POLLED
    private volatile boolean polled;
    private static final VarHandle POLLED;

    static {
        try {
            POLLED = MethodHandles.lookup().findVarHandle(Slot.class, "polled", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Marks the request polled for by its caller. */
    void setPolled() {
        POLLED.setVolatile(this, true);
    }

    /** {@return whether this call cleared the polled mark (then the caller uncounts it)} */
    boolean clearPolled() {
        return (boolean) POLLED.getVolatile(this) && POLLED.compareAndSet(this, true, false);
    }

    /** Link in the ring's submission stack, or in the poller's held-back list. */
    Slot next;
    /**
     * The next request of a linked chain ({@code IOSQE_IO_LINK}), or null. Only a chain's head is
     * in the stack or the held-back list; its links follow it through this, until submitted.
     */
    Slot chainNext;
    /** On a chain's head: how many requests the chain holds; 0 for a request on its own. */
    int chainLength;

    Slot(int index, RingPoller ring) {
        this.index = index;
        this.ring = ring;
    }

    long userData() {
        return UserData.encode(index, generation);
    }

    void prepare(int kind, int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                 int bufIndex) {
        this.kind = kind;
        this.opcode = opcode;
        this.sqeFlags = sqeFlags;
        this.fd = fd;
        this.plainFd = -1;
        this.offset = offset;
        this.address = address;
        this.length = length;
        this.opFlags = opFlags;
        this.bufIndex = bufIndex;
        this.result = 0;
        this.cancelRequested = false;
        this.submittedByCaller = false;
        this.cancelSent = false;
        this.chainNext = null;
        this.chainLength = 0;
        this.linked = false;
        this.kernelCancels = 0;
        this.waiter = kind == BLOCKING ? Thread.currentThread() : null;
    }
}
