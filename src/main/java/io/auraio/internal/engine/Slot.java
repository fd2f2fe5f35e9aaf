package io.auraio.internal.engine;

/**
 * One preallocated request slot of a ring. A slot is owned by its submitter from
 * {@link AdmissionGate#acquire} until {@link AdmissionGate#release}; in between the poller reads
 * the request fields and writes the result. {@code user_data} carries the slot index and its
 * generation, and the generation moves on at every release, so a completion that arrives for an
 * earlier use of the slot can never complete the current one.
 */
final class Slot {
    static final int FREE = 0;
    static final int QUEUED = 1;
    static final int IN_KERNEL = 2;
    static final int DONE = 3;

    final int index;
    /** Bumped under the gate's lock at each release; read by the poller after the queue handoff. */
    int generation;

    // The request, written by the submitter before it is queued (the queue's CAS publishes them).
    int opcode;
    int sqeFlags;
    int fd;
    long offset;
    long address;
    int length;
    int opFlags;
    int bufIndex;

    /** The thread parked on this request. */
    Thread waiter;
    /** Set by the poller when the request reached the kernel; for latency samples. */
    long submittedNanos;
    /** Bytes or a negated errno, written by the poller before {@link #state} becomes DONE. */
    long result;
    /** Also a cancel request pending for this slot while it is queued or in the kernel. */
    volatile boolean cancelRequested;
    volatile int state;

    /** Link in the ring's submission stack; written by the submitter, read by the poller. */
    Slot next;

    Slot(int index) {
        this.index = index;
    }

    long userData() {
        return UserData.encode(index, generation);
    }

    void prepare(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags, int bufIndex) {
        this.opcode = opcode;
        this.sqeFlags = sqeFlags;
        this.fd = fd;
        this.offset = offset;
        this.address = address;
        this.length = length;
        this.opFlags = opFlags;
        this.bufIndex = bufIndex;
        this.result = 0;
        this.cancelRequested = false;
        this.waiter = Thread.currentThread();
    }
}
