package io.auraio.internal.engine;

import io.auraio.internal.binding.CompletionQueue;
import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.SubmissionQueue;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * One io_uring and the platform thread that owns it. The poller is the only thread that fills
 * the ring's SQEs, reaps its CQEs or enters the kernel for it. Submitting threads hand requests
 * over through a lock-free stack and wake the poller only when it sleeps, by writing an eventfd
 * whose read the poller keeps armed in the ring before it waits.
 */
public final class RingPoller implements CompletionQueue.Handler {
    private static final int RUNNING = 0;
    private static final int SLEEPING = 1;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(RingPoller.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** How long a closing poller sleeps between checks that every slot came back. */
    private static final long SHUTDOWN_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    /** How often a closing poller repeats cancels for requests that are still running. */
    private static final long CANCEL_REPEAT_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private final int index;
    private final RingConfig config;
    private final AdmissionGate gate;
    private final SubmissionStack submissions = new SubmissionStack();
    private final ConcurrentLinkedQueue<Long> cancelRequests = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Integer> cancelFds = new ConcurrentLinkedQueue<>();
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private final Thread thread;
    private final int eventFd;
    /** Eight native bytes holding 1: what every wake-up adds to the eventfd counter. */
    private final MemorySegment wakeValue;

    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state = RUNNING;
    private volatile boolean closing;

    // Poller-thread state.
    private IoUring ring;
    private Arena pollerArena;
    private MemorySegment wakeBuffer;
    private boolean wakeArmed;
    private int inKernel;
    private Slot pending;          // taken from the stack but not yet in an SQE (SQ was full)
    private long lastCancelRound;

    // Counters written by the poller only, read by anyone.
    private volatile long opsCompleted;
    private volatile long bytesTransferred;
    private volatile int inKernelView;
    private volatile int ringSetupFlags;
    private final List<IoUring.Refusal> refusals = new ArrayList<>();

    private RingPoller(int index, RingConfig config, int eventFd, MemorySegment wakeValue) {
        this.index = index;
        this.config = config;
        this.eventFd = eventFd;
        this.wakeValue = wakeValue;
        this.gate = new AdmissionGate(config.queueDepth(), config.initialLimit());
        this.thread = Thread.ofPlatform().name("auraio-ring-" + index).daemon(config.daemon()).unstarted(this::run);
    }

    /**
     * Starts a poller and waits until its ring is set up.
     *
     * @throws IoUring.SetupException when the kernel refused every way of setting up the ring
     */
    static RingPoller start(int index, RingConfig config, MemorySegment wakeValue) throws IoUring.SetupException {
        int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        if (efd < 0) {
            throw new IoUring.SetupException(-efd, "eventfd failed: " + Errno.message(-efd));
        }
        RingPoller poller = new RingPoller(index, config, efd, wakeValue);
        poller.thread.start();
        try {
            poller.started.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IoUring.SetupException se) {
                throw se;
            }
            throw new IllegalStateException("ring " + index + " failed to start", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            poller.beginClose();
            throw new IoUring.SetupException(Errno.EINTR, "interrupted while starting ring " + index);
        }
        return poller;
    }

    private int[] setupFlagCandidates() {
        if (config.sqpoll()) {
            return new int[] {IoUring.SETUP_SQPOLL | IoUring.SETUP_SINGLE_ISSUER, IoUring.SETUP_SQPOLL};
        }
        return new int[] {
            IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN,
            IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG,
            IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG,
            0
        };
    }

    // ---- submitter side -------------------------------------------------------------------

    /**
     * Runs one request to completion, parking the calling thread (virtual or platform) until the
     * poller reports its result. Interrupts do not abandon the request (the kernel may still write
     * into its buffer); the interrupt status is kept.
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    public long execute(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                        int bufIndex) {
        Slot slot = gate.acquire();
        if (slot == null) {
            return -Errno.ESHUTDOWN;
        }
        try {
            if (closing) {
                return -Errno.ESHUTDOWN;
            }
            slot.prepare(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex);
            submissions.push(slot);
            wakeIfSleeping();
            awaitDone(slot);
            return slot.result;
        } finally {
            gate.release(slot);
        }
    }

    private static void awaitDone(Slot slot) {
        boolean interrupted = false;
        while (slot.state != Slot.DONE) {
            LockSupport.park(slot);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void wakeIfSleeping() {
        if (state == SLEEPING && STATE.compareAndSet(this, SLEEPING, RUNNING)) {
            Libc.write(eventFd, wakeValue, 8);
        }
    }

    private void wakeNow() {
        STATE.setVolatile(this, RUNNING);
        Libc.write(eventFd, wakeValue, 8);
    }

    /**
     * Asks the kernel to cancel every request of this ring on file descriptor {@code fd} that is
     * in flight when the poller gets to it. Best effort: a request already running may finish.
     */
    public void cancelFd(int fd) {
        cancelFds.add(fd);
        wakeNow();
    }

    /** Asks the poller to stop: queued requests fail with ESHUTDOWN, in-flight ones are cancelled. */
    void beginClose() {
        gate.close();
        closing = true;
        wakeNow();
    }

    /** Waits for the poller thread to finish (it frees the ring once the kernel is done). */
    void awaitClosed() throws InterruptedException {
        if (Thread.currentThread() != thread) {
            thread.join();
        }
    }

    // ---- poller side ----------------------------------------------------------------------

    private void run() {
        pollerArena = Arena.ofConfined();
        try {
            int entries = Math.max(8, config.queueDepth() + 8);
            ring = IoUring.create(entries, entries * 2, setupFlagCandidates(), config.sqpollIdleMs(), refusals);
        } catch (IoUring.SetupException | RuntimeException | Error e) {
            pollerArena.close();
            Libc.close(eventFd);
            started.completeExceptionally(e);
            return;
        }
        ringSetupFlags = ring.setupFlags();
        wakeBuffer = pollerArena.allocate(8, 8);
        started.complete(null);
        try {
            loop();
            disarmWake();
        } finally {
            ring.close();
            Libc.close(eventFd);
            pollerArena.close();
        }
    }

    private void loop() {
        SubmissionQueue sq = ring.submissionQueue();
        CompletionQueue cq = ring.completionQueue();
        while (true) {
            boolean shuttingDown = closing;
            fillSubmissions(sq, shuttingDown);
            drainCancelRequests(sq);
            if (shuttingDown) {
                cancelInFlight(sq);
            }
            cq.drain(this);
            if (shuttingDown && inKernel == 0 && pending == null && submissions.isEmpty() && gate.inUse() == 0) {
                return;
            }
            if (pending != null || !submissions.isEmpty() || cq.hasCompletions()) {
                ring.submit();
                continue;
            }
            STATE.setVolatile(this, SLEEPING);
            // Re-check after announcing sleep: a submitter that pushed before seeing SLEEPING
            // will not write the eventfd, so its request must be seen here.
            if (!submissions.isEmpty() || !cancelRequests.isEmpty() || !cancelFds.isEmpty()
                    || closing != shuttingDown) {
                STATE.setVolatile(this, RUNNING);
                ring.submit();
                continue;
            }
            armWake(sq);
            ring.submitAndWait(shuttingDown ? SHUTDOWN_POLL_NANOS : 0);
            STATE.setVolatile(this, RUNNING);
        }
    }

    private void fillSubmissions(SubmissionQueue sq, boolean shuttingDown) {
        Slot s = pending != null ? pending : submissions.takeAll();
        pending = null;
        // Keep one SQE for the wake-up read and a few for cancels.
        while (s != null) {
            Slot next = s.next;
            s.next = null;
            if (shuttingDown) {
                complete(s, -Errno.ESHUTDOWN);
            } else if (sq.freeEntries() <= 2) {
                s.next = next;
                pending = s;
                return;
            } else {
                s.submittedNanos = System.nanoTime();
                s.state = Slot.IN_KERNEL;
                inKernel++;
                sq.push(s.opcode, s.sqeFlags, s.fd, s.offset, s.address, s.length, s.opFlags, s.userData(), s.bufIndex);
            }
            s = next;
        }
        inKernelView = inKernel;
    }

    private void drainCancelRequests(SubmissionQueue sq) {
        Long target;
        while (sq.freeEntries() > 1 && (target = cancelRequests.poll()) != null) {
            sq.push(Opcode.ASYNC_CANCEL, 0, -1, 0, target, 0, 0, UserData.CANCEL, 0);
        }
        Integer fd;
        while ((fd = cancelFds.poll()) != null) {
            for (int i = 0; i < gate.capacity() && sq.freeEntries() > 1; i++) {
                Slot s = gate.slot(i);
                if (s.state == Slot.IN_KERNEL && s.fd == fd) {
                    sq.push(Opcode.ASYNC_CANCEL, 0, -1, 0, s.userData(), 0, 0, UserData.CANCEL, 0);
                }
            }
        }
    }

    /** Asks the kernel to cancel every request of this ring, repeating for ones still running. */
    private void cancelInFlight(SubmissionQueue sq) {
        long now = System.nanoTime();
        if (inKernel == 0 || now - lastCancelRound < CANCEL_REPEAT_NANOS) {
            return;
        }
        lastCancelRound = now;
        for (int i = 0; i < gate.capacity() && sq.freeEntries() > 1; i++) {
            Slot s = gate.slot(i);
            if (s.state == Slot.IN_KERNEL) {
                sq.push(Opcode.ASYNC_CANCEL, 0, -1, 0, s.userData(), 0, 0, UserData.CANCEL, 0);
            }
        }
    }

    private void armWake(SubmissionQueue sq) {
        if (!wakeArmed && sq.freeEntries() > 0) {
            sq.push(Opcode.READ, 0, eventFd, 0, wakeBuffer.address(), 8, 0, UserData.WAKE, 0);
            wakeArmed = true;
        }
    }

    /** Cancels the armed eventfd read and waits for it, so its buffer can be freed safely. */
    private void disarmWake() {
        if (!wakeArmed) {
            return;
        }
        SubmissionQueue sq = ring.submissionQueue();
        sq.push(Opcode.ASYNC_CANCEL, 0, -1, 0, UserData.WAKE, 0, 0, UserData.CANCEL_WAKE, 0);
        while (wakeArmed) {
            ring.submitAndWait(SHUTDOWN_POLL_NANOS);
            ring.completionQueue().drain(this);
        }
    }

    @Override
    public void complete(long userData, int result, int flags) {
        if (!UserData.isRequest(userData)) {
            if (userData == UserData.WAKE) {
                wakeArmed = false;
            }
            return;
        }
        Slot s = gate.slot(UserData.slot(userData));
        if (s.generation != UserData.generation(userData) || s.state != Slot.IN_KERNEL) {
            return; // a completion for an earlier use of this slot: never complete the current one
        }
        inKernel--;
        inKernelView = inKernel;
        if (result > 0 && isTransfer(s.opcode)) {
            bytesTransferred += result;
        }
        opsCompleted++;
        complete(s, result);
    }

    private static boolean isTransfer(int opcode) {
        return opcode == Opcode.READ || opcode == Opcode.WRITE || opcode == Opcode.READV
                || opcode == Opcode.WRITEV || opcode == Opcode.READ_FIXED || opcode == Opcode.WRITE_FIXED;
    }

    private static void complete(Slot s, long result) {
        Thread waiter = s.waiter;
        s.result = result;
        s.state = Slot.DONE; // volatile write publishes result to the waiter
        LockSupport.unpark(waiter);
    }

    // ---- observation ----------------------------------------------------------------------

    public int index() {
        return index;
    }

    int inUse() {
        return gate.inUse();
    }

    int limit() {
        return gate.limit();
    }

    int waiting() {
        return gate.waiting();
    }

    int inKernel() {
        return inKernelView;
    }

    long opsCompleted() {
        return opsCompleted;
    }

    long bytesTransferred() {
        return bytesTransferred;
    }

    int setupFlags() {
        return ringSetupFlags;
    }

    int queueDepth() {
        return config.queueDepth();
    }

    boolean isPollerThread() {
        return Thread.currentThread() == thread;
    }
}
