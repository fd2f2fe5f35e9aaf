package io.auraio.internal.engine;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.auraio.internal.adaptive.AimdController;
import io.auraio.internal.adaptive.Phase;
import io.auraio.internal.binding.CompletionQueue;
import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.SubmissionQueue;
import io.auraio.internal.jfr.RequestTrace;
import io.auraio.internal.jfr.RingEvents;
import io.auraio.internal.platform.StackHeadroom;
import io.auraio.internal.sched.CarrierPolling;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * One io_uring and the platform thread that owns it. The poller reaps the ring's CQEs and is the
 * only thread that waits in the kernel for it. Submitting threads hand requests over through a
 * lock-free stack and wake the poller only when it sleeps, by writing an eventfd whose read the
 * poller keeps armed in the ring before it waits.
 *
 * <p>With {@link RingConfig#callerSubmit} (on by default, see docs/design.md) the poller owns a
 * second, small ring, the <em>caller ring</em>, and a thread running a blocking read or write on
 * a ring holding few requests ({@link #CALLER_MAX_IN_USE}) first tries to submit it there itself:
 * under the submission lock, which the poller holds for each pass and lets go only while it
 * sleeps, it fills the SQE, does the poller's bookkeeping (the request counts in the kernel,
 * against the same limit) and, after the lock, enters the kernel with {@code to_submit} and no
 * wait; then it polls for its completion while its carrier has nothing else to run. That saves
 * the eventfd write, the poller's wake-up and the unpark (one O_DIRECT reader: 0.7x -> 1.1-1.4x
 * FileChannel on 2 cores). The caller ring is set up without {@code SINGLE_ISSUER},
 * {@code DEFER_TASKRUN} and {@code COOP_TASKRUN}: a completion's task work runs on the thread that
 * submitted the request and must wake it when it sleeps (COOP_TASKRUN does not, and a carrier
 * parked with nothing to run would hold the completion back indefinitely); its CQEs signal the
 * poller's eventfd ({@code IORING_REGISTER_EVENTFD}), so that a completion nobody polls for wakes
 * the poller. Everything else, and every request of a busy ring, goes through the stack to the
 * poller's own ring, set up for one issuer with deferred task work: completions processed in
 * batches when the poller waits, nobody interrupted to post them (64 O_DIRECT readers: 0.7-0.8x
 * -> 0.95-1.15x FileChannel, at 0.5-0.7x its CPU per operation, where every caller submitting to
 * one shared ring cost each carrier an interrupt per completion).
 */
public final class RingPoller implements CompletionQueue.Handler {
    private static final int RUNNING = 0;
    /** In {@code io_uring_enter}, waiting for a completion: woken through the eventfd. */
    private static final int SLEEPING = 1;
    /**
     * Parked in Java while callers poll for every request in the kernel ({@link #parkWhileCallersPoll}):
     * woken by an unpark, which completions do not send.
     */
    private static final int PARKED = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(RingPoller.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** How long a closing poller sleeps between checks that every request has finished. */
    private static final long SHUTDOWN_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    /** How often a closing poller repeats cancels for requests that are still running. */
    private static final long CANCEL_REPEAT_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    /** SQEs kept free for the wake-up read and cancels. */
    private static final int RESERVED_SQES = 2;
    /**
     * How many times one request the kernel cancelled on its own is submitted again before it
     * ends with EAGAIN ({@link #cancelledByKernelAlone}). Under a profiler's signals every
     * 50 µs the kernel cancelled the first {@code statx} of 7 in 100 fresh rings: eight cancels of
     * one request in a row is a cause that does not pass.
     */
    static final int KERNEL_CANCEL_RESUBMITS = 8;
    /** How often the adaptive controller is ticked. */
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /**
     * A request in the kernel longer than this many times the controller's P99 latency (or its
     * P99 target), and longer than the floor below, is taken for one that may never finish (a hung
     * FUSE or NFS file, a FIFO without a writer) and stops counting against the in-flight limit.
     */
    private static final int STALE_P99_FACTOR = 8;
    /**
     * The floor: long enough that a live device's requests, delayed by a loaded machine, are not
     * taken for hung ones (the limit must still hold them: the controller's AIMD depends on it),
     * and that a slow device's first requests, before the controller has a view, give it samples.
     * Requests of a device slower than this per request stay uncounted.
     */
    private static final long STALE_FLOOR_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * With caller-side submits, how long after its last request the poller still sleeps bounded
     * by the tick rather than indefinitely: requests callers put into the kernel while it sleeps
     * must be seen by the tick (the controller, the stale-request scan), and a caller that finds it
     * sleeping indefinitely wakes it through the eventfd, which is the cost this path saves.
     */
    private static final long IDLE_BEFORE_UNBOUNDED_NANOS = TimeUnit.SECONDS.toNanos(1);

    /**
     * How long an idle poller parks, in Java, between looks at its queue once the JVM is exiting.
     * HotSpot's exit (System.exit, or the last non-daemon thread ending) waits up to 300 ms, in
     * 10 ms steps, for threads inside a native call, and an idle poller sits in io_uring_enter:
     * every program that used an engine it never closed (the default engine, which is never
     * closed) paid those 300 ms (28 ten-millisecond waits of the VM thread in strace). A shutdown
     * hook ({@link #leaveTheKernelForExit}) sets {@link #jvmExiting} and wakes every poller; from
     * then on an idle one parks here instead, and a request that still comes (other shutdown
     * hooks may do I/O) is seen within this bound. Busy pollers still wait in the kernel.
     */
    private static final long EXIT_IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static volatile boolean jvmExiting;
    private static final Set<RingPoller> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean EXIT_HOOK_ADDED = new AtomicBoolean();


    /** Thrown when a request that must not park cannot be taken now. */
    public static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;
        private final int errno;

        Refused(int errno) {
            super(Errno.message(errno), null, false, false);
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    /** {@link #submit} kind: the result is queued for the engine's poll/await/run callers. */
    public static final int KIND_CALLBACK = Slot.CALLBACK;
    /** {@link #submit} kind: the result is handed to a virtual thread, off the poller. */
    public static final int KIND_FUTURE = Slot.FUTURE;

    private record CancelRequest(Slot slot, int generation) {}

    private record RingTask(ToIntFunction<IoUring> work, CompletableFuture<Integer> result) {
        void run(IoUring ring) {
            try {
                result.complete(work.applyAsInt(ring));
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        }
    }

    private final int index;
    private final IoEngine owner;
    private final RingConfig config;
    private final AdmissionGate gate;
    private final SubmissionStack submissions = new SubmissionStack();
    /**
     * Guards the SQ and the poller's in-kernel bookkeeping (inKernel, the held-back list, the
     * submit counters) against caller-side submits. The poller holds it for each pass and lets go
     * only while it waits in the kernel; callers only ever try it, so they never wait for a pass.
     */
    private final ReentrantLock sqLock = new ReentrantLock();
    /** Whether callers may submit blocking transfers themselves: set once the ring is up. */
    private volatile boolean callerSubmit;
    /** Set at each tick: threads were waiting for admission, so callers leave submitting to the poller. */
    private volatile boolean gateQueued;
    private final ConcurrentLinkedQueue<CancelRequest> cancelRequests = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<RingTask> ringTasks = new ConcurrentLinkedQueue<>();
    /**
     * Counted down once the ring is set up or its setup failed ({@link #setupFailure}). Not a
     * future: its failure path allocates, and a setup failing for a full heap (an
     * OutOfMemoryError) must still tell {@link #start}, or the engine's creation waits for ever.
     */
    private final CountDownLatch setUp = new CountDownLatch(1);
    /** Why the ring could not be set up; written before {@link #setUp} is counted down. */
    private volatile Throwable setupFailure;
    /** When a pass of the loop first broke off ({@link #recoverFrom}), or 0; poller thread only. */
    private long brokenAtNanos;
    private final Thread thread;
    /**
     * The eventfd that wakes the poller, -1 until its thread made it ({@link #setUpRing}); read and
     * written under {@link #eventFdLock}.
     */
    private int eventFd = -1;
    /** Eight native bytes holding 1: what every wake-up adds to the eventfd counter. */
    private final MemorySegment wakeValue;
    /**
     * Guards the eventfd against being written after it is closed: other threads may still try to
     * wake a poller that has exited (a file closing as the engine closes), and a closed descriptor
     * number can already belong to another file.
     */
    private final Object eventFdLock = new Object();
    private boolean eventFdClosed;

    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state = RUNNING;
    private volatile boolean closing;
    /** Latched by {@link #failFatally} or {@link #recoverFrom}: the first failure that stopped the ring. */
    private volatile Throwable fatal;
    private final AimdController controller;

    /** The ring's descriptor while it is open, else -1: for {@link #ownsDescriptor}, from any thread. */
    private volatile int ringFd = -1;
    /** The caller ring's descriptor while it is open, else -1. */
    private volatile int callerRingFd = -1;

    // Poller-thread state.
    private IoUring ring;
    /**
     * The caller ring ({@link #submitHere}), or null where callers do not submit. Written once by
     * the poller before {@link #callerSubmit} is set, which callers read first.
     */
    private IoUring callerRing;
    private Arena pollerArena;
    private MemorySegment wakeBuffer;
    private boolean wakeArmed;
    private int inKernel;
    /** Of {@link #inKernel}: exempt requests, which do not count against the limit. */
    private int uncountedInKernel;
    /** Requests taken from the stack but not yet in an SQE: the SQ was full or the limit reached. */
    private Slot heldHead;
    private Slot heldTail;
    private long lastCancelRound;
    private long lastTick;
    private long reapNanos;
    private int sqesSinceSubmit;
    /** When the poller last had requests in the kernel or held back. */
    private long lastBusyNanos;
    /** Under the lock: the poller sleeps without a bound, so a caller that submits must wake it. */
    private boolean sleepsUnbounded;
    /** Set under the lock: the ring is unmapped. Volatile: a caller polling the CQ reads it without the lock. */
    private volatile boolean ringClosed;
    /** Callers between their caller-side submit and the return of their io_uring_enter. */
    private final AtomicInteger entering = new AtomicInteger();

    // Written by the poller only, read by anyone.
    private final CompletionCounters completions = new CompletionCounters();
    private volatile int inKernelView;
    private volatile int ringSetupFlags;
    private volatile long submitCalls;
    private volatile long sqesSubmitted;
    /** Requests whose caller saw them done while polling ({@link #pollWhileCarrierIsFree}), not parked. */
    private final LongAdder polledCompletions = new LongAdder();
    /** Times a polling caller let its CPU go ({@link CarrierPolling#yieldIfDue}). */
    private final LongAdder pollYields = new LongAdder();
    /** Requests the kernel cancelled though nobody asked it to, submitted again ({@link #cancelledByKernelAlone}). */
    private final LongAdder resubmittedAfterKernelCancel = new LongAdder();
    /**
     * Tests only, null otherwise: runs the caller-side submit in place of the calling thread (on a
     * thread that exits right after, as a carrier the scheduler retires would; one cannot be made
     * to exit on demand).
     */
    volatile Predicate<BooleanSupplier> submitterForTests;
    /**
     * Tests only: a caller-side submit publishes its SQE and leaves it to the poller, as when its
     * {@code io_uring_enter} fails (EINTR) or its passes for others' SQEs run out.
     */
    volatile boolean leaveCallerSubmitsForTests;
    /**
     * Tests only, null otherwise: runs on the caller of a blocking request once it holds its slot,
     * just before the request goes to the ring (where a caller the scheduler descheduled waits).
     */
    public volatile Runnable beforeRingForTests;
    /**
     * Tests only, null otherwise: runs on the caller of a blocking request once the request is in
     * the ring, as its wait begins; a test throws from it what a full heap throws there.
     */
    public volatile Runnable afterRingForTests;
    /**
     * Tests only, null otherwise: runs on whoever reaps a request's completion, once its CQE is
     * consumed and before the request is delivered; a test throws from it what a full heap throws.
     */
    public volatile Runnable completionForTests;
    /**
     * Tests only, null otherwise: asked, with the number of SQEs filled since the last submit,
     * whether the poller should take another pass before entering the kernel, as it does when it
     * gathers a batch; a test holds filled SQEs unsubmitted with it while a ring task runs.
     */
    public volatile IntPredicate gatherForTests;
    /**
     * Tests only, null otherwise: run by each poller with its ring's index once its ring is set up,
     * before it tells the engine; a test throws from it what a full heap throws there.
     */
    public static volatile IntConsumer setUpForTests;
    /**
     * Test seam: how long the poller parks while callers poll ({@link #parkWhileCallersPoll}), in
     * place of its tick-bounded sleep; a long one turns a missed wake-up into a hang. 0: the bound.
     */
    volatile long parkNanosForTests;
    /** Poller-written counters for tests ({@link #parks}, {@link #kernelWaits}). */
    private long parks;
    private long kernelWaits;
    /** Written under the submission lock: requests their caller submitted itself. */
    private volatile long callerSubmits;

    RingPoller(int index, IoEngine owner, RingConfig config, MemorySegment wakeValue) {
        this.index = index;
        this.owner = owner;
        this.config = config;
        this.wakeValue = wakeValue;
        this.controller = new AimdController(config.initialInFlight(), config.minInFlight(), config.queueDepth(),
                config.targetP99Nanos(), !config.adaptive(), System::nanoTime);
        this.gate = new AdmissionGate(this, config.queueDepth(), controller.inFlightLimit());
        this.thread = Thread.ofPlatform().name("auraio-ring-" + index).daemon(config.daemon()).unstarted(this::run);
    }

    /** {@return whether {@code fd} is this poller's ring or eventfd, while they are open} */
    boolean ownsDescriptor(int fd) {
        if (fd == ringFd || fd == callerRingFd) {
            return true;
        }
        synchronized (eventFdLock) {
            return !eventFdClosed && fd == eventFd;
        }
    }

    /**
     * Starts this poller's thread and waits until its ring is set up. The poller's tables are
     * made by its constructor, before anything native: an engine builds every ring's first
     * ({@link IoEngine#start}), so that a heap too small for them fails before a ring exists.
     *
     * @throws IoUring.SetupException when the kernel refused every way of setting up the ring
     */
    void start() throws IoUring.SetupException {
        try {
            thread.start();
        } catch (OutOfMemoryError e) {
            // The JDK's words for a failed pthread_create (EAGAIN): the process is at its thread
            // limit (a container's pids.max, ulimit -u) or out of memory for a stack.
            throw new IoUring.SetupException(Errno.EAGAIN, "cannot start the poller thread of ring " + index + " ("
                    + e.getMessage() + ")");
        }
        boolean interrupted = false;
        while (true) {
            try {
                setUp.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // setup takes microseconds: finish it rather than leak a ring
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable failed = setupFailure;
        if (failed == null) {
            return;
        }
        if (failed instanceof IoUring.SetupException se) {
            throw se;
        }
        if (failed instanceof Error error) {
            throw error; // an OutOfMemoryError where the heap is full
        }
        throw new IllegalStateException("ring " + index + " failed to start", failed);
    }

    private int[] setupFlagCandidates() {
        return withSubmitAll(config.sqpoll()
                ? new int[] {IoUring.SETUP_SQPOLL | IoUring.SETUP_SINGLE_ISSUER, IoUring.SETUP_SQPOLL}
                : new int[] {
                    IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN,
                    IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG,
                    IoUring.SETUP_COOP_TASKRUN | IoUring.SETUP_TASKRUN_FLAG,
                    0
                });
    }

    /**
     * Sets up the caller ring, where callers submit and poll ({@link #submitHere}): any thread
     * submits, and a completion's task work must wake the submitter, so no SINGLE_ISSUER (nor
     * DEFER_TASKRUN, which needs it) and no COOP_TASKRUN. Its CQEs signal the poller's eventfd.
     * Callers never have more than {@link #CALLER_MAX_IN_USE} requests in it but for a race of a
     * few; its CQ takes an overflow anyway (the kernel keeps what does not fit, IORING_FEAT_NODROP).
     *
     * @return the ring, or null when the kernel refused it or its eventfd (callers then hand
     *         every request to the poller, as with {@link RingConfig#callerSubmit} off)
     */
    private IoUring setUpCallerRing(int efd) {
        IoUring r;
        try {
            r = IoUring.create(CALLER_RING_ENTRIES, 2 * CALLER_RING_ENTRIES, withSubmitAll(new int[] {0}), 0,
                    new ArrayList<>());
        } catch (IoUring.SetupException refused) {
            return null; // e.g. the memlock limit, which the poller's own ring fit under
        }
        MemorySegment arg = pollerArena.allocate(JAVA_INT);
        arg.set(JAVA_INT, 0, efd);
        if (r.register(IoUring.REGISTER_EVENTFD, arg, 1) < 0) {
            r.close();
            return null;
        }
        return r;
    }

    /** SQ entries of the caller ring: {@link #CALLER_MAX_IN_USE} requests, races and a cancel each. */
    private static final int CALLER_RING_ENTRIES = 16;

    private int[] withSubmitAll(int[] base) {
        if (!config.submitAll()) {
            return base;
        }
        // Each with SUBMIT_ALL first (5.18+): a refused SQE then never holds up the ones behind it.
        // IoUring.submit copes without it, on older kernels.
        int[] candidates = new int[2 * base.length];
        for (int i = 0; i < base.length; i++) {
            candidates[2 * i] = base[i] | IoUring.SETUP_SUBMIT_ALL;
            candidates[2 * i + 1] = base[i];
        }
        return candidates;
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
        return execute(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex, false, false);
    }

    /**
     * As {@link #execute(int, int, int, long, long, int, int, int)}, but an interrupt of the
     * waiting thread asks the kernel to cancel the request (the thread still waits until the kernel
     * is done with it, then returns the result: {@code -ECANCELED}, or the transfer if it won the
     * race). The interrupt status is kept for the caller to act on.
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    public long executeInterruptibly(int opcode, int sqeFlags, int fd, long offset, long address, int length,
                                     int opFlags, int bufIndex) {
        return execute(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex, true, false);
    }

    /**
     * Runs one blocking request, as {@link #execute(int, int, int, long, long, int, int, int)} or,
     * with {@code cancelOnInterrupt}, as {@link #executeInterruptibly}. {@code mayWaitForever}
     * says the request may never complete (a read of a FIFO, a pipe, a terminal): it then does not
     * count against the ring's in-flight limit, which other files' requests need.
     *
     * <p>While the ring is at its limit the caller parks for admission. That wait ends with
     * {@code -ECANCELED} when the file's descriptor is closed ({@link #cancelFd}) and, with
     * {@code cancelOnInterrupt}, when the thread is interrupted (its status stays set).
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    public long execute(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                        int bufIndex, boolean cancelOnInterrupt, boolean mayWaitForever) {
        return execute(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex, cancelOnInterrupt,
                mayWaitForever, null);
    }

    /**
     * As {@link #execute(int, int, int, long, long, int, int, int, boolean, boolean)}, for a request
     * on a file that may be closed meanwhile without waiting for it (an interrupted thread's close
     * returns at once): {@code abandoned} (may be null) says whether the file is closing, and is
     * asked once the request is where {@link #cancelFd} finds it. If it is, the request is
     * cancelled here. Together with the closer's order (mark the file closing, then
     * {@link #cancelFd}) that leaves no request behind: either the closer's scan finds it, or
     * this thread sees the mark (both sides write, then read the other's location: {@link Slot#fd}
     * and the slot's state on this side).
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    public long execute(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                        int bufIndex, boolean cancelOnInterrupt, boolean mayWaitForever, BooleanSupplier abandoned) {
        return execute(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex, cancelOnInterrupt,
                mayWaitForever, abandoned, null);
    }

    /**
     * As {@link #execute(int, int, int, long, long, int, int, int, boolean, boolean, BooleanSupplier)},
     * incrementing {@code admitted} (may be null) once the ring takes the request: not when it
     * turns it away (shut down, or the wait for admission given up).
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    long execute(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                 int bufIndex, boolean cancelOnInterrupt, boolean mayWaitForever, BooleanSupplier abandoned,
                 LongAdder admitted) {
        StackHeadroom.ensure();
        RequestTrace trace = RequestTrace.current(); // null unless a recording takes io.auraio.File* events
        long asked = trace == null ? 0 : System.nanoTime();
        // A CLOSE waits under no descriptor: cancelFd, sent for the file it closes by a closer
        // still cancelling, must not end that wait (the descriptor would stay open).
        Slot slot = gate.acquireForRing(opcode == Opcode.CLOSE ? -1 : fd, mayWaitForever, cancelOnInterrupt);
        if (slot == null) {
            return -Errno.ESHUTDOWN;
        }
        if (slot == AdmissionGate.CANCELLED) {
            return -Errno.ECANCELED;
        }
        try {
            if (closing) {
                return -Errno.ESHUTDOWN;
            }
            if (admitted != null) {
                admitted.increment();
            }
            slot.prepare(Slot.BLOCKING, opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex);
            slot.usesFixedBuffer = false;
            slot.usesFixedFile = false;
            if (trace != null) {
                slot.submittedNanos = 0; // stays 0 if the request never reaches the kernel
            }
            Runnable hook = beforeRingForTests;
            if (hook != null) {
                hook.run();
            }
            // A request that may wait forever stays with the poller: it is exempt from the limit
            // and its task work must not tie it to a carrier thread's life.
            if (!callerSubmit || gateQueued || mayWaitForever || !takesCallerRing(opcode, sqeFlags)
                    || !submitOnThisThread(slot)) {
                enqueue(slot);
            }
            awaitDone(slot, cancelOnInterrupt, abandoned); // a request the kernel cancelled on its own is submitted again first
            if (trace != null) {
                boolean reachedKernel = slot.submittedNanos != 0;
                trace.ringRequest(index, reachedKernel ? slot.submittedNanos - asked : System.nanoTime() - asked,
                        reachedKernel ? slot.kernelNanos : 0);
            }
            return slot.result;
        } finally {
            release(slot);
        }
    }

    /**
     * Submits a request whose result goes to {@code completion}, without parking: CALLBACK
     * results are queued for the engine's event-loop callers, FUTURE results handed to an
     * executor. {@code ownedMemory} (may be null) is returned to the pool when the request is done.
     *
     * @return a handle for {@code isPending} and {@code cancel}
     * @throws Refused with EAGAIN when every slot of the ring is taken, ESHUTDOWN when closing
     */
    public RequestHandle submit(int kind, int opcode, int sqeFlags, int fd, long offset, long address, int length,
                                int opFlags, int bufIndex, AsyncCompletion completion, MemorySegment ownedMemory,
                                boolean usesFixedBuffer, boolean usesFixedFile) throws Refused {
        StackHeadroom.ensure();
        Slot slot = gate.tryAcquire();
        if (slot == null) {
            throw new Refused(closing || gate.isClosed() ? Errno.ESHUTDOWN : Errno.EAGAIN);
        }
        if (closing) {
            release(slot);
            throw new Refused(Errno.ESHUTDOWN);
        }
        slot.prepare(kind, opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex);
        slot.completion = completion;
        slot.ownedMemory = ownedMemory;
        slot.usesFixedBuffer = usesFixedBuffer;
        slot.usesFixedFile = usesFixedFile;
        RequestHandle handle = new RequestHandle(slot);
        enqueue(slot);
        return handle;
    }

    /**
     * Under the lock, on a caller: reaps what the kernel has posted in the caller ring. Completions
     * of requests that callers submitted are posted by task work on the submitting thread, then
     * wake the poller (the ring's eventfd); a caller already holding the lock (it just submitted)
     * unparks their waiters sooner and on its own CPU, where a wake-up costs about 1 µs instead of
     * 20-40 across CPUs (issue 14). The poller's own ring is the poller's to reap: its completions
     * are posted only when the poller enters the kernel (deferred task work).
     */
    private void drainHere() {
        CompletionQueue cq = callerRing.completionQueue();
        if (cq.hasCompletions()) {
            reapNanos = System.nanoTime();
            cq.drain(this);
        }
    }

    /**
     * On the caller-submit path, before parking: while few requests are in this ring's kernel and
     * no other virtual thread waits for a carrier, the caller polls the completion queue itself
     * for up to {@link #POLL_SPIN_NANOS}, reaping whatever is posted. A completion's task work runs
     * on the thread that submitted it (an interrupt of this very carrier, not a wake-up), so the
     * request ends without a sleeping thread on either side: one O_DIRECT reader on 2 cores went
     * from 0.79-0.84x FileChannel (parking) to 1.12-1.32x, for 1.6-2.1x FileChannel's CPU per
     * operation (docs/design.md). With more requests in the kernel two polling carriers cost the
     * carriers' liveness ({@link #POLL_MAX_IN_KERNEL}), and a carrier another virtual thread waits
     * for must not spin. An interrupt ends the polling; the park loop then handles it. While it
     * polls, its request counts as polled for ({@link #polledInKernel}), and a poller that finds
     * every request in the kernel so counted parks rather than be woken by their completions
     * ({@link #parkWhileCallersPoll}).
     *
     * @return whether the request is done with no wake-up of a parked poller owed (false: the
     *         caller did not poll, or stopped before its completion was reaped)
     */
    private boolean pollWhileCarrierIsFree(Slot slot) {
        if (inKernelView > POLL_MAX_IN_KERNEL || !CarrierPolling.mayPoll()) {
            return slot.state == Slot.DONE;
        }
        CompletionQueue cq = callerRing.completionQueue();
        long lastYield = System.nanoTime();
        long end = lastYield + POLL_SPIN_NANOS;
        // The ring stays mapped while this thread counts in `entering` (see run()): the CQ is
        // read here without the lock, and the closing poller unmaps only once no caller counts.
        entering.incrementAndGet();
        // Counted before marked: a reaper uncounts only what it finds marked (see stopPolling).
        polledInKernel.incrementAndGet();
        slot.setPolled();
        try {
            for (int spins = 1; !ringClosed; spins++) {
                if (slot.state == Slot.DONE) {
                    polledCompletions.increment();
                    return stopPolling(slot);
                }
                if (cq.hasCompletions()) {
                    reapHere();
                } else {
                    Thread.onSpinWait();
                }
                if ((spins & 31) == 0) {
                    long now = System.nanoTime();
                    if (CarrierPolling.mustStop(now, end)) {
                        return stopPolling(slot);
                    }
                    long yielded = CarrierPolling.yieldIfDue(now, lastYield);
                    if (yielded != lastYield) {
                        pollYields.increment();
                        lastYield = yielded;
                    }
                }
            }
            return stopPolling(slot); // the ring closed
        } finally {
            entering.decrementAndGet();
        }
    }

    /**
     * A caller stops polling for {@code slot}. Its reaper, seeing it marked polled, uncounted it
     * as it completed it: nothing more to do. Otherwise the caller uncounts it here, and the
     * count may have included it while nobody polled for it in the kernel (it stopped early, or
     * its request completed unmarked before the mark was set): a poller parked on that count
     * must be woken ({@code false}).
     *
     * @return whether the request completed while polled for, so that no wake-up is owed
     */
    private boolean stopPolling(Slot slot) {
        if (slot.clearPolled()) {
            polledInKernel.decrementAndGet();
            return false;
        }
        return true;
    }

    /**
     * Requests in the kernel whose callers poll for them ({@link Slot#setPolled}); may count, for
     * a moment, one already completed, whose caller then wakes a parked poller ({@link #stopPolling}).
     */
    private final AtomicInteger polledInKernel = new AtomicInteger();

    /** On a caller whose request is done: reaps others' completions if the lock is free. */
    private void reapHere() {
        if (callerSubmit && sqLock.tryLock()) {
            try {
                if (!ringClosed) {
                    drainHere();
                }
            } finally {
                sqLock.unlock();
            }
        }
    }

    /**
     * Submits the published SQEs from a caller, or leaves them to a caller already doing so (flat
     * combining). A caller that enters while another is in {@code io_uring_enter} waits for the
     * ring's {@code uring_lock} there, spinning (2.3% of the CPU at 256 O_DIRECT readers, the
     * submit itself 17%: docs/design.md), to submit one SQE; left to the one inside, which enters
     * again for whatever was published while it was in, the SQEs go in as a batch, under one block
     * plug. No SQE is stranded: a caller publishes its SQE, then (after a full fence) reads the
     * count of submitters; a submitter leaving lowers the count, then (after a full fence) reads
     * the SQ tail. Of two such threads at least one sees the other's write, so either the caller
     * submits itself or the leaving submitter sees its SQE and takes it. After
     * {@link #MAX_SUBMIT_PASSES} passes a submitter gives what is left to the poller, so one
     * caller cannot be kept submitting for others forever.
     *
     * @return whether SQEs are left that only the poller will submit (wake it)
     */
    private boolean submitPublishedOrLeaveIt(SubmissionQueue sq) {
        if (leaveCallerSubmitsForTests) {
            return true; // as when the kernel took none
        }
        VarHandle.fullFence(); // the SQ tail this caller published, before the count is read
        if (submitters.get() > 0) {
            combinedSubmits.increment();
            return false;
        }
        submitters.incrementAndGet();
        for (int pass = 1; ; pass++) {
            int r;
            try {
                r = callerRing.submitPublished();
            } finally {
                submitters.decrementAndGet();
            }
            VarHandle.fullFence(); // the count lowered, before the tail is read
            if (sq.unconsumed() == 0) {
                return false;
            }
            if (r <= 0 || pass >= MAX_SUBMIT_PASSES) {
                return true;
            }
            submitters.incrementAndGet();
        }
    }

    /**
     * Tries the submission lock for a caller-side submit. Held by the poller in a pass, it is
     * tried again for up to {@link #LOCK_SPIN_NANOS} while the caller's carrier has nothing else
     * to run (the caller would poll for its completion anyway): a request that goes to the stack
     * instead is the poller's, in the poller's ring, where its caller cannot poll for it; it parks,
     * and the poller waits in the kernel for its completion. One such request made the next one
     * meet the poller's pass again (it unparks the caller while its pass goes on), and one O_DIRECT
     * reader ran 13-19% slower, a few hundred requests in 60,000 taking that way (docs/design.md,
     * "Two rings per poller").
     */
    private boolean takeLockForSubmit() {
        if (sqLock.tryLock()) {
            return true;
        }
        if (!CarrierPolling.mayPoll()) {
            return false;
        }
        long end = System.nanoTime() + LOCK_SPIN_NANOS;
        do {
            Thread.onSpinWait();
            if (sqLock.tryLock()) {
                return true;
            }
        } while (System.nanoTime() - end < 0);
        return false;
    }

    /** How long a caller that would poll tries the submission lock while the poller's pass holds it. */
    private static final long LOCK_SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(20);

    /** Callers in, or on their way into, {@code io_uring_enter} to submit ({@link #submitPublishedOrLeaveIt}). */
    private final AtomicInteger submitters = new AtomicInteger();
    /** Passes one caller makes for SQEs others published while it was in the kernel. */
    private static final int MAX_SUBMIT_PASSES = 4;
    /** Caller-side submits left to another caller already in the kernel. */
    private final LongAdder combinedSubmits = new LongAdder();

    /** {@return how many caller-side submits were left to another caller in the kernel} For tests. */
    long combinedSubmits() {
        return combinedSubmits.sum();
    }

    /** {@link #submitHere} on the calling thread, or where {@link #submitterForTests} runs it. */
    private boolean submitOnThisThread(Slot s) {
        Predicate<BooleanSupplier> submitter = submitterForTests;
        return submitter == null ? submitHere(s) : submitter.test(() -> submitHere(s));
    }

    /**
     * The caller-side submit: puts {@code s} into an SQE of the caller ring and enters the kernel
     * on the calling thread, when the ring holds few requests ({@link #CALLER_MAX_IN_USE}), the
     * submission lock is free (the poller sleeps) and the request would go straight in were the
     * poller to take it (nothing held back, below the limit, room in the SQ, not closing). The
     * bookkeeping is the poller's, under its lock, so everything that looks at requests in the
     * kernel (cancels, close, the stale-request scan, the controller) sees this one as it sees its
     * own.
     *
     * @return whether the request reached the ring; false leaves it to {@link #enqueue}
     */
    private boolean submitHere(Slot s) {
        if (gate.inUse() > CALLER_MAX_IN_USE || !takeLockForSubmit()) {
            return false;
        }
        SubmissionQueue sq;
        boolean wakePoller;
        try {
            sq = callerRing.submissionQueue();
            if (closing || heldHead != null || s.cancelRequested || sq.freeEntries() <= RESERVED_SQES
                    || inKernel - uncountedInKernel >= controller.inFlightLimit()) {
                return false;
            }
            s.submittedNanos = System.nanoTime();
            s.uncountedInKernel = false;
            s.submittedByCaller = true;
            s.state = Slot.IN_KERNEL;
            inKernel++;
            inKernelView = inKernel;
            if (s.usesFixedFile) {
                nameFixedFile(s);
            }
            sq.push(s.opcode, s.sqeFlags, s.fd, s.offset, s.address, s.length, s.opFlags, s.userData(), s.bufIndex);
            sq.publish();
            controller.recordSubmitBatch(1);
            submitCalls++;
            sqesSubmitted++;
            callerSubmits++;
            wakePoller = sleepsUnbounded;
            sleepsUnbounded = false;
            drainHere();
            // The ring stays mapped until this caller is out of the kernel (see run()).
            entering.incrementAndGet();
        } finally {
            sqLock.unlock();
        }
        // Outside the lock, which a thread preempted in the kernel would hold against everyone
        // (the kernel serialises submitters itself, and whoever enters next submits every
        // published SQE, this one included).
        try {
            if (submitPublishedOrLeaveIt(sq)) {
                // The kernel took none (EAGAIN, EBUSY, EINTR), or the passes ran out: the poller's
                // next pass submits what is left.
                wakePoller = true;
            }
        } finally {
            entering.decrementAndGet();
        }
        if (wakePoller) {
            // The poller sleeps without a bound and must tick while this request is in the
            // kernel, or must submit it.
            wakeNow();
        }
        return true;
    }

    /**
     * Submits {@code links} as one linked chain ({@code IOSQE_IO_LINK} on every SQE but the last),
     * without parking: the slots are taken together, the chain is queued as one unit, and the
     * poller puts all its SQEs into the ring in one pass, only when the ring has room for all of
     * them, and counts them all against the in-flight limit (a chain longer than the limit goes
     * alone, when nothing else is in flight). The kernel starts a link only once the one before
     * it has succeeded, and fails the rest with ECANCELED when one fails (a short read or write
     * is a failure). A chain cancelled before it reaches the kernel (by a cancel of any of its
     * requests, or a close of a descriptor one names) completes every request with ECANCELED;
     * one the engine's close finds queued, with ESHUTDOWN.
     *
     * @return a handle per link, in order
     * @throws Refused with EAGAIN when fewer than {@code links.length} slots are free for callback
     *         and future requests, ESHUTDOWN when closing
     */
    public RequestHandle[] submitChain(int kind, Link[] links) throws Refused {
        StackHeadroom.ensure();
        Slot[] slots = gate.tryAcquire(links.length);
        if (slots == null) {
            throw new Refused(closing || gate.isClosed() ? Errno.ESHUTDOWN : Errno.EAGAIN);
        }
        if (closing) {
            for (Slot s : slots) {
                release(s);
            }
            throw new Refused(Errno.ESHUTDOWN);
        }
        RequestHandle[] handles = new RequestHandle[links.length];
        for (int i = 0; i < links.length; i++) {
            Link l = links[i];
            Slot slot = slots[i];
            slot.prepare(kind, l.opcode(), l.sqeFlags(), l.fd(), l.offset(), l.address(), l.length(), l.opFlags(),
                    l.bufIndex());
            slot.completion = l.completion();
            slot.ownedMemory = l.ownedMemory();
            slot.usesFixedBuffer = l.usesFixedBuffer();
            slot.usesFixedFile = l.usesFixedFile();
            handles[i] = new RequestHandle(slot);
        }
        for (int i = 0; i < slots.length; i++) {
            slots[i].linked = true;
            slots[i].chainNext = i + 1 < slots.length ? slots[i + 1] : null;
        }
        slots[0].chainLength = slots.length;
        enqueue(slots[0]); // the stack's CAS publishes every link's fields with the head's
        return handles;
    }

    private void enqueue(Slot slot) {
        submissions.push(slot);
        wakeIfAsleep();
    }

    /** Wakes the poller if it is {@link #PARKED}; one waiting in the kernel is left there. */
    private void wakeIfParked() {
        if (state == PARKED && STATE.compareAndSet(this, PARKED, RUNNING)) {
            LockSupport.unpark(thread);
        }
    }

    /**
     * Wakes the poller if it sleeps, the way it sleeps: the eventfd ends a wait in the kernel, an
     * unpark a park. What the poller must see (a pushed request, a caller that stopped polling) is
     * published before this reads the state; the poller reads it again after announcing its sleep,
     * so of the two at least one sees the other.
     */
    private void wakeIfAsleep() {
        while (true) {
            int s = state;
            if (s == RUNNING) {
                return;
            }
            if (STATE.compareAndSet(this, s, RUNNING)) {
                if (s == SLEEPING) {
                    signalEventFd();
                } else {
                    LockSupport.unpark(thread);
                }
                return;
            }
        }
    }

    private void signalEventFd() {
        synchronized (eventFdLock) {
            if (!eventFdClosed) {
                Libc.write(eventFd, wakeValue, 8);
            }
        }
    }

    private void closeEventFd() {
        synchronized (eventFdLock) {
            if (!eventFdClosed && eventFd >= 0) {
                Libc.close(eventFd);
            }
            eventFdClosed = true;
        }
    }

    /** How long a caller polls for its completion at most before it parks ({@link #pollWhileCarrierIsFree}). */
    private static final long POLL_SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(200);
    /**
     * A caller polls only while at most this many requests are in the ring's kernel. More polling
     * closes the gap at 4-16 O_DIRECT readers (0.72-0.83x FileChannel -> 0.95-1.19x with 16), but
     * two polling carriers delay every OS thread the scheduler wakes: the 1 ms periodic virtual
     * thread of {@code bench --liveness} ran 2.3-2.9 ms late at p99 with 16 against 1.7-1.8 ms
     * with 2 (FileChannel 0.7-2.1 ms) at 4 and 8 readers; measured so three times (stops 16, 17
     * and 30, docs/design.md). Liveness first.
     */
    private static final int POLL_MAX_IN_KERNEL = 2;

    /**
     * The most requests a ring may hold (queued, in the kernel, completing; the caller's own
     * included) for a caller to submit to the caller ring itself. Above it requests go to the
     * poller's ring, where completions cost no interrupt of a carrier and are processed in batches.
     * Measured on 2 cores, 4 KiB O_DIRECT reads (docs/design.md, "two rings per poller"): 2, 4
     * and 8 within each other's noise at 16 readers, 4 ahead at 64; callers keep the 1-2 requests
     * per ring where their polling pays.
     */
    static final int CALLER_MAX_IN_USE = 4;

    /**
     * Waits, on the caller, for a request in the ring to be done; cancels it first when
     * {@code abandoned} (may be null) says its file began closing before {@link #cancelFd} could
     * see the request.
     */
    private void awaitDone(Slot slot, boolean cancelOnInterrupt, BooleanSupplier abandoned) {
        try {
            awaitDoneOrFail(slot, cancelOnInterrupt, abandoned);
        } catch (Throwable failure) {
            waitOutAfter(slot, cancelOnInterrupt);
            throw failure;
        }
        reapHere();
    }

    /**
     * The wait for a request already in the ring failed with an error of the JVM's (an
     * OutOfMemoryError where the park or the cancel allocates): the kernel may still write into
     * the request's memory, which the caller frees once the error reaches it, and the slot would
     * go back to the gate with the request still in the ring. So the request is waited for first,
     * cancelled when its caller allowed that, as {@code FileChannel} is done with a buffer when
     * it throws. Every step that fails is tried again; the loop itself allocates nothing.
     */
    private void waitOutAfter(Slot slot, boolean cancel) {
        int generation = slot.generation; // unchanged until the slot is released, after this
        boolean cancelAsked = !cancel;
        boolean interrupted = false;
        while (slot.state != Slot.DONE) {
            try {
                if (!cancelAsked) {
                    cancel(slot, generation);
                    cancelAsked = true;
                }
                wakeIfParked();
                // Cleared while it waits, so that the park parks: kept for the caller below.
                interrupted |= Thread.interrupted();
                LockSupport.parkNanos(slot, WAIT_OUT_PARK_NANOS);
            } catch (Throwable again) {
                // The heap is still full: the next turn tries again.
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** How long {@link #waitOutAfter} parks between looks: it may not be unparked (its park failed). */
    private static final long WAIT_OUT_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private void awaitDoneOrFail(Slot slot, boolean cancelOnInterrupt, BooleanSupplier abandoned) {
        Runnable hook = afterRingForTests;
        if (hook != null) {
            hook.run();
        }
        boolean interrupted = false;
        int generation = slot.generation;
        if (abandoned != null && abandoned.getAsBoolean()) {
            cancel(slot, generation);
        }
        if (callerSubmit && (!slot.submittedByCaller || !pollWhileCarrierIsFree(slot))) {
            // Nobody polls for this request (any more), and the poller may have parked counting
            // it polled for, or before it was submitted: it is woken to wait for its completion.
            wakeIfParked();
        }
        while (slot.state != Slot.DONE) {
            LockSupport.park(slot);
            if (Thread.interrupted()) {
                if (!interrupted && cancelOnInterrupt) {
                    cancel(slot, generation);
                }
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Gives a finished slot back: its pool memory to the pool, the slot to the gate. */
    void release(Slot slot) {
        MemorySegment owned = slot.ownedMemory;
        if (owned != null) {
            slot.ownedMemory = null;
            owner.pool().release(owned);
        }
        slot.completion = null;
        gate.release(slot);
    }

    /** Registers, once per JVM, the shutdown hook of {@link #EXIT_IDLE_PARK_NANOS}. */
    private static void addExitHookOnce() {
        if (EXIT_HOOK_ADDED.compareAndSet(false, true)) {
            try {
                Runtime.getRuntime().addShutdownHook(
                        Thread.ofPlatform().name("auraio-exit").unstarted(RingPoller::leaveTheKernelForExit));
            } catch (IllegalStateException alreadyExiting) {
                jvmExiting = true;
            } catch (RuntimeException | Error e) {
                EXIT_HOOK_ADDED.set(false); // an OutOfMemoryError: the next ring adds it
                throw e;
            }
        }
    }

    /** The shutdown hook: idle pollers leave io_uring_enter and park in Java from now on. */
    private static void leaveTheKernelForExit() {
        jvmExiting = true;
        for (RingPoller poller : LIVE) {
            poller.wakeNow();
        }
    }

    private void wakeNow() {
        STATE.setVolatile(this, RUNNING);
        signalEventFd();
        LockSupport.unpark(thread); // parked rather than in the kernel (parkWhileCallersPoll)
    }

    // ---- transfers served off the ring (files on FUSE, NFS, ...: io.auraio.SlowFile) ---------

    /**
     * The admission a transfer served off the ring holds ({@link #admitOffloaded}): such transfers
     * count against this ring's in-flight limit like its own requests, and one older than the
     * device's latencies explain stops counting (a hung mount). Their latencies feed the controller
     * only under a P99 target the user set: the detected target models the ring's block device,
     * where latency grows with the queue the limit controls; a FUSE daemon's or a server's round
     * trip (50 ms, flat) is not that, and measured, with the detected target (10 ms until a clean
     * baseline), it cut the limit from 64 to 8 within 1.3 s and 64 readers of a 50 ms FUSE file
     * system from 1,189 to 288 reads/s. The pool's per-mount share bounds them meanwhile.
     */
    public static final class Offloaded {
        private final Slot slot;
        private final long since = System.nanoTime();
        /** The thread that waits for the transfer: woken when the ring closes ({@link #isClosing()}). */
        private final Thread caller = Thread.currentThread();
        /** Guarded by this: the poller found it stale; released: its transfer is over. */
        private boolean exempted;
        private boolean released;

        private Offloaded(Slot slot) {
            this.slot = slot;
        }
    }

    /** {@link #admitOffloaded}'s answer when the wait was given up (interrupt, or the file's close). */
    public static final Offloaded OFFLOAD_CANCELLED = new Offloaded(null);
    /** Admissions held off the ring now; the poller ticks while there are any. */
    private final java.util.Set<Offloaded> offloaded = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Completed off-ring transfers' {latency, bytes}, for the controller on the poller thread. */
    private final ConcurrentLinkedQueue<long[]> offloadedSamples = new ConcurrentLinkedQueue<>();

    /**
     * Admits a transfer served off the ring, parking while the ring is at its in-flight limit, as
     * {@link #execute(int, int, int, long, long, int, int, int, boolean, boolean)} does.
     *
     * @param fd            the file's descriptor: closing it ({@link #cancelFd}) ends the wait
     * @param interruptible whether an interrupt ends the wait (its status stays set)
     * @return the admission, to be given back with {@link #releaseOffloaded}; null once the ring is
     *         shut down; {@link #OFFLOAD_CANCELLED} when the wait was given up
     */
    public Offloaded admitOffloaded(int fd, boolean interruptible) {
        Slot slot = gate.acquire(fd, false, interruptible);
        if (slot == null) {
            return null;
        }
        if (slot == AdmissionGate.CANCELLED) {
            return OFFLOAD_CANCELLED;
        }
        if (closing) {
            release(slot);
            return null;
        }
        // Admission only: nothing of it is queued or in the kernel, so neither cancellation nor
        // the shutdown's wait for outstanding requests looks at it.
        slot.state = Slot.DONE;
        Offloaded o = new Offloaded(slot);
        offloaded.add(o);
        wakeIfAsleep(); // the poller ticks (controller, stale detection) while any are out
        return o;
    }

    /**
     * Gives back an admission of {@link #admitOffloaded}.
     *
     * @param o         the admission
     * @param result    the transfer's result (bytes, or a negated errno)
     * @param completed whether the transfer ran to its end, so that its latency is a sample of the
     *                  device (not when its caller left it, nor when it was found stale)
     */
    public void releaseOffloaded(Offloaded o, long result, boolean completed) {
        boolean sample;
        synchronized (o) {
            o.released = true;
            sample = completed && !o.exempted;
        }
        // The sample first: a poller that sees no admission out then sees the sample too, and
        // sleeps no longer than until its next tick (sleepBound); its next pass counts it.
        offloadedSamples.add(new long[] {sample && controller.userTargetP99Nanos() > 0
                ? System.nanoTime() - o.since : -1, Math.max(0, result)});
        offloaded.remove(o);
        release(o.slot);
    }

    /** {@return off-ring transfers done but not yet counted by the poller} For tests. */
    int pendingOffloadedSamples() {
        return offloadedSamples.size();
    }

    /** Poller thread, each pass: feeds completed off-ring transfers to the controller and the counters. */
    private void drainOffloadedSamples() {
        long[] sample;
        while ((sample = offloadedSamples.poll()) != null) {
            if (sample[0] >= 0) {
                controller.recordCompletion(sample[0], sample[1]);
            }
            completions.add(sample[1]);
        }
    }

    /**
     * Asks for one request to be cancelled.
     *
     * @return 0 when a cancellation was queued, -EALREADY when the request is done, -ESHUTDOWN
     *         when the ring is closing (it cancels everything itself then)
     */
    int cancel(Slot slot, int generation) {
        int s = slot.state;
        if (slot.generation != generation || s == Slot.DONE || s == Slot.FREE) {
            return -Errno.EALREADY;
        }
        if (closing) {
            return -Errno.ESHUTDOWN;
        }
        cancelRequests.add(new CancelRequest(slot, generation));
        wakeNow();
        return 0;
    }

    /**
     * Cancels every request of this ring on file descriptor {@code fd} (not counting registered
     * file indexes), and returns once the poller has sent the cancellations, so that the caller may
     * close the descriptor without a late cancel hitting a new file that reuses its number. Best
     * effort: a request the kernel is already running may still finish normally. A CLOSE of the
     * descriptor is never cancelled: cancelling it would leave the descriptor open; unless it is a
     * later link of a chain, which would close it again after the caller, on a reused number. A
     * chain with a later link on {@code fd} is cancelled from the link the kernel has started,
     * whatever descriptor that one names (the kernel cannot cancel a link still waiting).
     */
    public void cancelFd(int fd) {
        gate.cancelWaiters(fd); // threads still waiting for admission: they never reached the ring
        if (!gate.mayHoldRequestOn(fd) && !owner.hasRegisteredFiles()) {
            // Nothing of this descriptor in any slot: no request to cancel, so no hand-off to the
            // poller (an eventfd wake-up and a park per ring, on every close of a file). A request
            // in the kernel through a registered slot shows the slot there, not the descriptor.
            return;
        }
        callOnRing(u -> {
            // Only slots the poller owns are looked at: held-back requests and requests in the
            // kernel. A slot another thread is still preparing may hold a stale fd. Requests
            // already pushed but not yet taken are held first: they were submitted before this
            // call and would otherwise reach the kernel after the descriptor is closed.
            takeSubmissions();
            for (Slot h = heldHead; h != null; h = h.next) {
                for (Slot s = h; s != null; s = s.chainNext) { // every link of a chain
                    // A later link's CLOSE too: run after the closer's close(2), it would close
                    // whatever file got the number meanwhile.
                    if (namesDescriptor(s, fd) && (s.opcode != Opcode.CLOSE || s != h)) {
                        s.cancelRequested = true;
                    }
                }
            }
            SubmissionQueue sq = u.submissionQueue();
            for (int i = 0; i < gate.slotCount(); i++) {
                Slot s = gate.slot(i);
                if (s.state == Slot.IN_KERNEL
                        && ((namesDescriptor(s, fd) && s.opcode != Opcode.CLOSE) || laterLinkNames(s, fd))) {
                    if (sq.freeEntries() <= RESERVED_SQES) {
                        submitNow();
                    }
                    pushCancel(sq, s);
                    sqesSinceSubmit++;
                }
            }
            // Into the kernel before the caller closes the descriptor: SQEs filled while gathering a
            // batch (requests on this descriptor among them) and the cancels above, or the kernel
            // looks the number up after the close (EBADF; or the file that took the number since).
            submitNow();
            awaitTakenBySqThread();
            finishCancelledHeld();
            return 0;
        });
    }

    private static boolean namesDescriptor(Slot s, int fd) {
        // Through a registered slot too: the slot's reference keeps the file going after close(2),
        // and a read that never completes (a FIFO) would outlive the file.
        return ((s.sqeFlags & Opcode.SQE_FIXED_FILE) == 0 ? s.fd : s.plainFd) == fd;
    }

    /**
     * Whether a link after {@code s}, in the kernel, names {@code fd}. The kernel's cancel cannot
     * find such a link while it waits for the one before it (ENOENT): it would start once that one
     * completes, after the descriptor was closed, on whatever file reuses the number (a write into
     * it, a CLOSE of it). Cancelling {@code s}, the link the kernel has started when it is the
     * first still there, cancels every link after it. From a link in the kernel, the ones after it
     * are too (the kernel completes them after it): their slots were not reused.
     */
    private static boolean laterLinkNames(Slot s, int fd) {
        if (!s.linked) {
            return false;
        }
        for (Slot l = s.chainNext; l != null && l.linked && l.state == Slot.IN_KERNEL; l = l.chainNext) {
            if (namesDescriptor(l, fd)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code task} on the poller thread with the ring (for {@code io_uring_register}, which a
     * {@code SINGLE_ISSUER} ring accepts only from its owner) and waits for its result.
     *
     * @return the task's result, or -ESHUTDOWN when the ring is closing
     */
    int callOnRing(ToIntFunction<IoUring> task) {
        if (Thread.currentThread() == thread) {
            return task.applyAsInt(ring);
        }
        CompletableFuture<Integer> result = postToRing(task);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    throw (Error) e.getCause();
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Queues {@code task} to run on the poller thread with the ring, without waiting.
     *
     * @return the task's result, or -ESHUTDOWN when the ring closes first
     */
    CompletableFuture<Integer> postToRing(ToIntFunction<IoUring> task) {
        CompletableFuture<Integer> result = new CompletableFuture<>();
        ringTasks.add(new RingTask(task, result));
        if (closing) {
            result.complete(-Errno.ESHUTDOWN); // the poller may still run it; the answer stands
        } else {
            wakeNow();
        }
        return result;
    }

    /** Asks the poller to stop: queued requests fail with ESHUTDOWN, in-flight ones are cancelled. */
    void beginClose() {
        gate.close();
        closing = true;
        wakeNow();
        wakeOffloaded();
    }

    /** {@return whether the ring is shutting down} Off-ring transfers ({@link #admitOffloaded}) leave then. */
    public boolean isClosing() {
        return closing;
    }

    /**
     * Wakes the callers of off-ring transfers once {@link #closing} is set, so that they see
     * {@link #isClosing()} and leave, as the shutdown ends the ring's own requests: their system
     * call (a hung FUSE daemon's, say) may never return.
     */
    private void wakeOffloaded() {
        if (offloaded.isEmpty()) {
            return; // no iterator to allocate: a close under a full heap must get through
        }
        for (Offloaded o : offloaded) {
            LockSupport.unpark(o.caller);
        }
    }

    /** Waits for the poller thread to finish (it frees the ring once the kernel is done). */
    void awaitClosed() throws InterruptedException {
        if (Thread.currentThread() != thread) {
            thread.join();
        }
    }

    // ---- poller side ----------------------------------------------------------------------

    private void run() {
        if (!setUpRing()) {
            return;
        }
        sqLock.lock();
        try {
            while (true) {
                try {
                    loop();
                    break;
                } catch (Throwable t) {
                    if (!recoverFrom(t)) {
                        break;
                    }
                }
            }
            disarmWake();
            reportFailure();
        } finally {
            failRingTasks();
            // Under the lock: a caller reaping after its own request finished must not touch
            // the unmapped ring.
            ringClosed = true;
            while (entering.get() > 0) {
                // A caller still in io_uring_enter on this ring, or leaving its poll: microseconds,
                // unless its carrier waits for this very CPU, which a spin would hold until the
                // kernel's next tick (see CarrierPolling). This thread is a platform
                // thread: yield is sched_yield.
                Thread.yield();
            }
            ringFd = -1;
            callerRingFd = -1;
            ring.close();
            if (callerRing != null) {
                callerRing.close();
            }
            sqLock.unlock();
            LIVE.remove(this);
            closeEventFd();
            pollerArena.close();
        }
    }

    /**
     * Sets the ring up and tells {@link #start}. Whatever fails on the way (the kernel refusing
     * every flag set, or an OutOfMemoryError where the heap is full) undoes what was done, so
     * nothing of the ring stays behind, and is told the same way: a thread that died here without
     * telling left the engine's creation waiting for ever.
     *
     * @return whether the ring is up
     */
    private boolean setUpRing() {
        try {
            int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
            if (efd < 0) {
                throw new IoUring.SetupException(-efd, "eventfd failed: " + Errno.message(-efd));
            }
            synchronized (eventFdLock) {
                eventFd = efd;
            }
            pollerArena = Arena.ofConfined();
            int entries = Math.max(8, config.queueDepth() + 8);
            // Flags refused on the way (an older kernel) are not an error: the fallback is the point.
            List<IoUring.Refusal> refusals = new ArrayList<>();
            ring = IoUring.create(entries, entries * 2, setupFlagCandidates(), config.sqpollIdleMs(), refusals);
            ringSetupFlags = ring.setupFlags();
            wakeBuffer = pollerArena.allocate(8, 8);
            if (config.callerSubmit() && (ringSetupFlags & IoUring.SETUP_SQPOLL) == 0) {
                callerRing = setUpCallerRing(efd);
            }
            callerSubmit = callerRing != null;
            LIVE.add(this);
            addExitHookOnce();
            IntConsumer hook = setUpForTests;
            if (hook != null) {
                hook.accept(index);
            }
        } catch (Throwable e) {
            LIVE.remove(this);
            if (ring != null) {
                ring.close();
            }
            if (callerRing != null) {
                callerRing.close();
            }
            if (pollerArena != null) {
                pollerArena.close();
            }
            closeEventFd();
            setupFailure = e;
            setUp.countDown();
            return false;
        }
        ringFd = ring.fd();
        callerRingFd = callerRing == null ? -1 : callerRing.fd();
        setUp.countDown();
        return true;
    }

    /** How long a ring whose loop broke off keeps reaping what the kernel still holds. */
    private static final long BROKEN_DRAIN_BOUND_NANOS = TimeUnit.SECONDS.toNanos(5);

    /**
     * A pass of the loop broke off midway with {@code t}: what it was doing may be half done, so
     * the ring stops serving and closes itself, as {@link #beginClose} does, but its loop goes on
     * reaping: a poller that died here left every request in the kernel parked for ever, ring
     * tasks unanswered, and buffers the kernel still writes into given back to their owners.
     * Queued requests fail with ESHUTDOWN, in-flight ones are cancelled. Allocates nothing
     * before the ring is closing (the heap may be full); pauses a millisecond so that an error of
     * every pass cannot spin.
     *
     * @return whether to run the loop again: false once the ring has reaped for
     *         {@link #BROKEN_DRAIN_BOUND_NANOS} since the first error (a request a half-done
     *         pass lost is never returned, and closing must end)
     */
    private boolean recoverFrom(Throwable t) {
        long now = System.nanoTime();
        if (brokenAtNanos == 0) {
            brokenAtNanos = now;
        }
        if (fatal == null) {
            fatal = t;
        }
        closing = true; // first, allocation-free: all the loop needs to end the ring's requests
        try {
            stopServing();
        } catch (Throwable again) {
            // The gate is closed on the next try; closing alone already refuses new requests.
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        return now - brokenAtNanos < BROKEN_DRAIN_BOUND_NANOS;
    }

    /** Latches {@code failure} for {@link #fatalError()} (the first one stays) and stops serving. */
    private void stopServingAfter(Throwable failure) {
        if (fatal == null) {
            fatal = failure;
        }
        stopServing();
    }

    /**
     * After a failure ({@link #failFatally}, {@link #recoverFrom}), on the poller or on a caller
     * reaping under the lock: the ring shuts down as {@link #beginClose} asks it to: the gate
     * refuses, callers of off-ring transfers leave, and the poller's loop ends what it holds
     * (woken when this is not the poller).
     */
    private void stopServing() {
        gate.close();
        closing = true;
        wakeOffloaded();
        if (Thread.currentThread() != thread) {
            wakeNow();
        }
    }

    private static final System.Logger LOG = System.getLogger(RingPoller.class.getName());

    /** Says, once the ring has closed itself after a broken pass, why its requests were refused. */
    private void reportFailure() {
        Throwable t = fatal;
        if (brokenAtNanos == 0 || t == null) {
            return; // failFatally's failure is its request's EIO and Engine.fatalError()'s
        }
        try {
            LOG.log(System.Logger.Level.ERROR, "auraio ring " + index + " stopped serving: a pass of its poller "
                    + "failed, so it ended the requests it held and refuses new ones (ESHUTDOWN)", t);
        } catch (Throwable again) {
            // The heap is still full: the ring's requests have their ESHUTDOWN, which is what counts.
        }
    }

    private void loop() {
        SubmissionQueue sq = ring.submissionQueue();
        CompletionQueue cq = ring.completionQueue();
        while (true) {
            boolean shuttingDown = closing;
            runRingTasks();
            fillSubmissions(sq, shuttingDown);
            drainCancelRequests(sq);
            submitLeftInCallerRing();
            if (shuttingDown) {
                cancelInFlight(sq);
            }
            reapNanos = System.nanoTime();
            cq.drain(this);
            if (callerRing != null) {
                callerRing.completionQueue().drain(this);
            }
            drainOffloadedSamples();
            maybeTick(reapNanos);
            if (shuttingDown && inKernel == 0 && heldHead == null && submissions.isEmpty() && noSlotOutstanding()) {
                return;
            }
            if (brokenAtNanos != 0 && reapNanos - brokenAtNanos >= BROKEN_DRAIN_BOUND_NANOS) {
                return; // see recoverFrom
            }
            if (!shuttingDown && (shouldGather(!submissions.isEmpty(), sqesSinceSubmit, controller.batchThreshold(),
                    sq.freeEntries()) || gatherForTests(sqesSinceSubmit))) {
                // Requests are arriving faster than the kernel is entered: gather them into one
                // submit, up to the controller's batch threshold (2 while little is in flight).
                // Bounded: every pass fills at least one SQE from the non-empty stack or holds it.
                continue;
            }
            if ((heldHead != null && headFits(sq))
                    || !submissions.isEmpty() || cq.hasCompletions()
                    || (callerRing != null && callerRing.completionQueue().hasCompletions())) {
                submitNow();
                continue;
            }
            STATE.setVolatile(this, SLEEPING);
            // Re-check after announcing sleep: a submitter that pushed before seeing SLEEPING
            // will not write the eventfd, so its request must be seen here.
            if (workArrived(shuttingDown)) {
                STATE.setVolatile(this, RUNNING);
                submitNow();
                continue;
            }
            armWake(sq);
            countSubmit();
            long bound = sleepBound(shuttingDown);
            sq.publish();
            if (bound > 0 && parkWhileCallersPoll(sq, bound, shuttingDown)) {
                continue;
            }
            if (bound == 0 && jvmExiting) {
                ring.submit(); // the armed wake-up read, without waiting in the kernel
                sqLock.unlock();
                try {
                    LockSupport.parkNanos(EXIT_IDLE_PARK_NANOS);
                } finally {
                    sqLock.lock();
                }
                sleepsUnbounded = false;
                STATE.setVolatile(this, RUNNING);
                continue;
            }
            // Callers may submit while the poller sleeps: the lock is theirs until it wakes.
            kernelWaits++;
            sqLock.unlock();
            try {
                ring.submitPublishedAndWait(bound);
            } finally {
                sqLock.lock();
            }
            sleepsUnbounded = false;
            STATE.setVolatile(this, RUNNING);
        }
    }

    /**
     * Poller, under the lock, about to wait in the kernel (state {@link #SLEEPING}): when callers
     * poll for every request the ring has in the kernel, it parks instead, for at most {@code
     * bound}. A waiting poller is woken by each completion posted (the CQ's wait queue), though
     * the polling caller reaps it itself; woken on that caller's CPU, it took the CPU from the
     * caller at each request (one O_DIRECT writer: 0.83-0.88x FileChannel, 1.0x parked, and a
     * third less CPU per write; docs/design.md). Parked, only an unpark wakes it: a caller that
     * stops polling without its result, or submits without polling, unparks it (awaitDone), and
     * every other reason to wake does too ({@link #wakeIfAsleep}, {@link #wakeNow}). A polling
     * caller reaps every completion it sees, others' included.
     *
     * @return whether it parked (then the loop takes another pass); false: wait in the kernel
     */
    private boolean parkWhileCallersPoll(SubmissionQueue sq, long bound, boolean shuttingDown) {
        if (!callerSubmit || shuttingDown || !callersPollForAllInKernel()
                || !STATE.compareAndSet(this, SLEEPING, PARKED)) {
            // Wait in the kernel. A waker that took SLEEPING meanwhile wrote the eventfd: that
            // wait ends at once.
            return false;
        }
        // Re-check after announcing the park: a caller that stopped polling, or a submitter that
        // pushed, before seeing PARKED does not unpark, so it must be seen here.
        if (!callersPollForAllInKernel() || workArrived(shuttingDown)) {
            STATE.setVolatile(this, RUNNING);
            return true; // another pass sees what changed
        }
        if (sq.unconsumed() > 0) {
            ring.submit(); // the armed wake-up read: an eventfd write must still complete it
        }
        parks++;
        long forTests = parkNanosForTests;
        sqLock.unlock();
        try {
            LockSupport.parkNanos(this, forTests > 0 ? forTests : bound);
        } finally {
            sqLock.lock();
        }
        STATE.setVolatile(this, RUNNING);
        return true;
    }

    /**
     * Submits SQEs that callers published in the caller ring and left there: a caller whose
     * {@code io_uring_enter} failed (EINTR, EAGAIN) or whose passes ran out for others' SQEs
     * ({@link #submitPublishedOrLeaveIt}) leaves them to the poller and wakes it, and the poller's
     * own enters submit only its own ring. Poller, under the lock.
     */
    private void submitLeftInCallerRing() {
        if (callerRing != null && callerRing.submissionQueue().unconsumed() > 0) {
            callerRing.submitPublished(); // every caller publishes its SQE under this lock
        }
    }

    /** {@return how many times the poller parked while callers polled} Any thread; approximate while running. */
    long parks() {
        return parks;
    }

    /** {@return how many times the poller waited in the kernel} Any thread; approximate while running. */
    long kernelWaits() {
        return kernelWaits;
    }

    /**
     * {@return whether something for the poller came since its pass began: a request pushed, a
     * cancel, a ring task, or the close} Read again after the poller announces its sleep, in the
     * kernel or parked: whoever published such work before seeing the announcement did not wake it.
     */
    private boolean workArrived(boolean shuttingDown) {
        return !submissions.isEmpty() || !cancelRequests.isEmpty() || !ringTasks.isEmpty()
                || closing != shuttingDown;
    }

    /**
     * {@return whether every request in the kernel has a caller polling for it, and nothing waits
     * for the poller to put it in} Poller, under the lock.
     */
    private boolean callersPollForAllInKernel() {
        return heldHead == null && polledInKernel.get() >= inKernel;
    }

    /**
     * Whether the poller should take another pass to gather arriving requests rather than enter
     * the kernel now: only while more are already queued, fewer than {@code threshold} have been
     * gathered, and the SQ has room. Anything else submits at once, so a lone request never waits.
     */
    static boolean shouldGather(boolean moreQueued, int gathered, int threshold, int freeSqes) {
        return moreQueued && gathered < threshold && freeSqes > RESERVED_SQES;
    }

    private boolean gatherForTests(int gathered) {
        IntPredicate hook = gatherForTests;
        return hook != null && hook.test(gathered);
    }

    private void submitNow() {
        countSubmit();
        ring.submit();
    }

    /** How long {@link #awaitTakenBySqThread} waits at most: far beyond the microseconds it takes. */
    private static final long SQ_THREAD_TAKE_BOUND_NANOS = 1_000_000_000L;

    /**
     * On an SQPOLL ring a submit only publishes the SQEs (and wakes the kernel's SQ thread): the
     * kernel looks their files up when its thread takes them, which may be after a task that
     * follows has updated a registered slot or a close has freed a descriptor (a gathered read of
     * file A returned B's bytes, 17 times in 20). Waits until the thread has taken them all;
     * bounded, so a kernel thread that never gets there cannot hold the poller for ever.
     */
    private void awaitTakenBySqThread() {
        if ((ringSetupFlags & IoUring.SETUP_SQPOLL) == 0) {
            return;
        }
        SubmissionQueue sq = ring.submissionQueue();
        long deadline = System.nanoTime() + SQ_THREAD_TAKE_BOUND_NANOS;
        while (sq.unconsumed() > 0 && System.nanoTime() - deadline < 0) {
            Thread.yield(); // a platform thread: sched_yield, the CPU to the SQ thread if it shares it
            ring.submit(); // wakes the SQ thread again if it went idle meanwhile
        }
    }

    private void countSubmit() {
        if (sqesSinceSubmit > 0) {
            controller.recordSubmitBatch(sqesSinceSubmit);
            submitCalls++;
            sqesSubmitted += sqesSinceSubmit;
            sqesSinceSubmit = 0;
        }
    }

    /** {@return kernel entries that submitted at least one SQE} Any thread; approximate while running. */
    long submitCalls() {
        return submitCalls;
    }

    /** {@return requests whose caller saw them done while polling for them, without parking} Any thread. */
    long polledCompletions() {
        return polledCompletions.sum();
    }

    /** {@return how many times a polling caller let its CPU go} Any thread. */
    long pollYields() {
        return pollYields.sum();
    }

    /** {@return requests submitted again after the kernel cancelled them on its own} Any thread. */
    long resubmittedAfterKernelCancel() {
        return resubmittedAfterKernelCancel.sum();
    }

    /** {@return requests submitted by their calling thread rather than the poller} Any thread. */
    long callerSubmits() {
        return callerSubmits;
    }

    /** {@return SQEs handed to the kernel} Any thread; approximate while running. */
    long sqesSubmitted() {
        return sqesSubmitted;
    }


    /** How long the poller may sleep: unbounded when idle; up to the next tick while busy. */
    private long sleepBound(boolean shuttingDown) {
        if (shuttingDown) {
            return SHUTDOWN_POLL_NANOS;
        }
        long now = System.nanoTime();
        // offloaded before offloadedSamples: a transfer adds its sample before it leaves offloaded.
        if (inKernel > 0 || heldHead != null || !offloaded.isEmpty() || !offloadedSamples.isEmpty()) {
            lastBusyNanos = now;
            return Math.max(TimeUnit.MILLISECONDS.toNanos(1), lastTick + TICK_NANOS - now);
        }
        if (callerSubmit && now - lastBusyNanos < IDLE_BEFORE_UNBOUNDED_NANOS) {
            // Recently busy: callers may put requests into the kernel without waking it.
            return Math.max(TimeUnit.MILLISECONDS.toNanos(1), lastTick + TICK_NANOS - now);
        }
        sleepsUnbounded = callerSubmit;
        return 0;
    }

    /** Ticks the adaptive controller every 10 ms and applies its limit to the admission gate. */
    private void maybeTick(long now) {
        if (now - lastTick < TICK_NANOS && now >= lastTick) {
            return;
        }
        lastTick = now;
        int waiting = gate.waiting();
        controller.observePending(gate.meteredInUse(), waiting, inKernel - uncountedInKernel);
        // Threads queue at the gate: the ring is saturated, and requests are better gathered by
        // the poller into batches than entered one by one (measured at 256 O_DIRECT readers on 2
        // cores: caller submits there doubled CPU/op and the controller settled at a third of the
        // limit). Decided per tick; the caller path reopens once nobody waits.
        gateQueued = waiting > 0;
        Phase phaseBefore = controller.phase();
        int limitBefore = controller.inFlightLimit();
        controller.tick();
        int limit = controller.inFlightLimit();
        if ((limit != limitBefore || controller.phase() != phaseBefore) && RingEvents.aimdEnabled()) {
            RingEvents.aimdChanged(owner, index, phaseBefore.name(), controller.phase().name(), limitBefore, limit);
        }
        if (limit != gate.limit()) {
            gate.setLimit(limit);
        }
        exemptStaleRequests(now);
    }

    /**
     * Requests in the kernel for much longer than the device's latencies explain (a hung FUSE or
     * NFS file, a FIFO nobody writes) stop counting against the in-flight limit, so that they
     * cannot hold up every other file's requests on this ring. They stay in the kernel, cancellable.
     */
    private void exemptStaleRequests(long now) {
        if (inKernel == uncountedInKernel && offloaded.isEmpty()) {
            return;
        }
        long view = Math.max(controller.p99LatencyNanos(), config.targetP99Nanos());
        long stale = Math.max(STALE_FLOOR_NANOS, STALE_P99_FACTOR * view);
        for (Offloaded o : offloaded) {
            synchronized (o) { // not once released: its slot may already serve another request
                if (!o.released && !o.exempted && now - o.since > stale) {
                    o.exempted = true;
                    gate.exempt(o.slot);
                }
            }
        }
        for (int i = 0; i < gate.slotCount(); i++) {
            Slot s = gate.slot(i);
            if (s.state == Slot.IN_KERNEL && !s.uncountedInKernel && now - s.submittedNanos > stale) {
                s.uncountedInKernel = true;
                uncountedInKernel++;
                gate.exempt(s);
            }
        }
    }

    /** While closing: whether every handed-out slot has reached its end (none queued or in the kernel). */
    private boolean noSlotOutstanding() {
        for (int i = 0; i < gate.slotCount(); i++) {
            int s = gate.slot(i).state;
            if (s == Slot.QUEUED || s == Slot.IN_KERNEL) {
                return false;
            }
        }
        return true;
    }

    private void runRingTasks() {
        if (ringTasks.isEmpty()) {
            // Decided once: a task queued after this check runs at the next pass, after its
            // submit. Checking emptiness twice let a task that arrived in between run before the
            // gathered SQEs reached the kernel (the SQPOLL test read B in 1 round of 20).
            return;
        }
        if (sqesSinceSubmit > 0 || ring.submissionQueue().unconsumed() > 0) {
            // SQEs filled while gathering a batch (or published by a caller on its way into the
            // kernel) reach it before a task changes what they name: a registered file slot
            // updated, a descriptor a close cancels before close(2). None is filled while the
            // tasks run: the poller holds the submission lock.
            submitNow();
            awaitTakenBySqThread();
        }
        RingTask task;
        while ((task = ringTasks.poll()) != null) {
            task.run(ring);
        }
    }

    private void failRingTasks() {
        RingTask task;
        while ((task = ringTasks.poll()) != null) {
            task.result().complete(-Errno.ESHUTDOWN);
        }
    }

    private void hold(Slot s) {
        s.next = null;
        if (heldTail == null) {
            heldHead = s;
        } else {
            heldTail.next = s;
        }
        heldTail = s;
    }

    /** Moves the requests pushed by submitters to the end of the held-back list, in order. Poller thread only. */
    private void takeSubmissions() {
        Slot fresh = submissions.takeAll();
        while (fresh != null) {
            Slot next = fresh.next;
            hold(fresh);
            fresh = next;
        }
    }

    private void fillSubmissions(SubmissionQueue sq, boolean shuttingDown) {
        takeSubmissions();
        int limit = controller.inFlightLimit();
        while (heldHead != null) {
            Slot s = heldHead;
            if (s.chainLength > 0) {
                if (!fillChain(sq, s, shuttingDown, limit)) {
                    break;
                }
                continue;
            }
            if (shuttingDown || s.cancelRequested) {
                popHeld();
                finish(s, shuttingDown ? -Errno.ESHUTDOWN : -Errno.ECANCELED);
                continue;
            }
            if (sq.freeEntries() <= RESERVED_SQES) {
                break;
            }
            if (!s.exempt && inKernel - uncountedInKernel >= limit) {
                // Exempt requests (they may never finish) do not count against the limit, nor
                // wait for it, also when requests held back for it are ahead of them.
                submitExemptBehind(sq, s);
                break;
            }
            popHeld();
            pushToKernel(sq, s);
        }
        inKernelView = inKernel;
    }

    private void pushToKernel(SubmissionQueue sq, Slot s) {
        s.submittedNanos = System.nanoTime();
        s.state = Slot.IN_KERNEL;
        inKernel++;
        s.uncountedInKernel = s.exempt;
        if (s.exempt) {
            uncountedInKernel++;
        }
        if (s.usesFixedFile) {
            nameFixedFile(s);
        }
        sq.push(s.opcode, s.sqeFlags, s.fd, s.offset, s.address, s.length, s.opFlags, s.userData(), s.bufIndex);
        sqesSinceSubmit++;
    }

    /**
     * A request on a registered descriptor names the slot that holds it now, under the submission
     * lock: a task that updates the slot runs under it too, after this SQE reached the kernel
     * ({@link #runRingTasks}), and the kernel looks a transfer's slot up as it submits the SQE (other
     * requests name their plain descriptor: see the body). Named when the
     * request was prepared, the slot could hold another file by now (a read of A returned B's bytes).
     */
    private void nameFixedFile(Slot s) {
        if (!isTransfer(s.opcode)) {
            // Only a transfer's file is looked up as the kernel takes the SQE (it issues it at
            // once). An fsync, fallocate or sync_file_range is queued for an io-wq worker
            // unissued (REQ_F_FORCE_ASYNC), and its slot is looked up when the worker starts it:
            // an update of the slot by then would sync or allocate another file. Their plain
            // descriptor is safe: a close cancels them before it frees the number.
            return;
        }
        int index = (s.sqeFlags & Opcode.SQE_FIXED_FILE) == 0 ? owner.fixedFileIndex(s.fd) : -1;
        if (index >= 0) {
            s.plainFd = s.fd;
            s.fd = index;
            s.sqeFlags |= Opcode.SQE_FIXED_FILE;
        }
    }

    /** Submits the exempt, unchained requests held back behind {@code head} (which waits for the limit). */
    private void submitExemptBehind(SubmissionQueue sq, Slot head) {
        Slot previous = head;
        Slot s = head.next;
        while (s != null && sq.freeEntries() > RESERVED_SQES) {
            Slot next = s.next;
            if (s.exempt && s.chainLength == 0 && !s.cancelRequested) {
                unlinkHeld(previous, s);
                pushToKernel(sq, s);
            } else {
                previous = s;
            }
            s = next;
        }
    }

    /** {@return whether the first held-back request (or chain) could go into the SQ now} */
    private boolean headFits(SubmissionQueue sq) {
        int metered = inKernel - uncountedInKernel;
        int limit = controller.inFlightLimit();
        if (heldHead.chainLength > 0) {
            int n = heldHead.chainLength;
            return sq.freeEntries() - RESERVED_SQES >= n && (metered == 0 || metered + n <= limit);
        }
        return sq.freeEntries() > RESERVED_SQES && (heldHead.exempt || metered < limit);
    }

    /**
     * Puts the chain headed by the held-back {@code head} into the SQ, all of it or none.
     * {@return false when it must wait (no room in the SQ, or the ring at its limit)}
     */
    private boolean fillChain(SubmissionQueue sq, Slot head, boolean shuttingDown, int limit) {
        if (shuttingDown || anyLinkCancelled(head)) {
            popHeld();
            for (Slot l = head; l != null; ) {
                Slot next = l.chainNext; // read first: finish may release the slot
                finish(l, shuttingDown ? -Errno.ESHUTDOWN : -Errno.ECANCELED);
                l = next;
            }
            return true;
        }
        int n = head.chainLength;
        int metered = inKernel - uncountedInKernel;
        if (sq.freeEntries() - RESERVED_SQES < n || (metered > 0 && metered + n > limit)) {
            return false;
        }
        popHeld();
        long now = System.nanoTime();
        for (Slot l = head; l != null; ) {
            Slot next = l.chainNext;
            l.submittedNanos = now;
            l.state = Slot.IN_KERNEL;
            l.uncountedInKernel = false;
            inKernel++;
            if (l == head && l.usesFixedFile) {
                // Only the first link: the kernel starts (and looks the slot up for) a later one
                // when the link before it completes, after any update of the slot meanwhile. A
                // later link names its plain descriptor, which a close cancels it for (cancelFd).
                nameFixedFile(l);
            }
            sq.push(l.opcode, l.sqeFlags | (next != null ? Opcode.SQE_IO_LINK : 0), l.fd, l.offset, l.address,
                    l.length, l.opFlags, l.userData(), l.bufIndex);
            sqesSinceSubmit++;
            l = next;
        }
        return true;
    }

    private void popHeld() {
        unlinkHeld(null, heldHead);
    }

    /** Takes {@code s} out of the held-back list; {@code previous} is the slot before it, null for the head. */
    private void unlinkHeld(Slot previous, Slot s) {
        if (previous == null) {
            heldHead = s.next;
        } else {
            previous.next = s.next;
        }
        if (heldTail == s) {
            heldTail = previous;
        }
        s.next = null;
    }

    private void drainCancelRequests(SubmissionQueue sq) {
        CancelRequest c;
        boolean heldCancelled = false;
        while (sq.freeEntries() > 1 && (c = cancelRequests.poll()) != null) {
            Slot s = c.slot();
            if (s.generation != c.generation()) {
                continue;
            }
            if (s.state == Slot.IN_KERNEL) {
                if (!cancelInItsRing(sq, s)) {
                    cancelRequests.add(c); // the caller ring's SQ is full: its next submit empties it
                    break;
                }
            } else if (s.state == Slot.QUEUED) {
                s.cancelRequested = true; // still held back or in the stack: completes without the kernel
                heldCancelled = true;
            }
        }
        if (heldCancelled) {
            finishCancelledHeld();
        }
    }

    /**
     * Finishes, with ECANCELED, every held-back request marked cancelled, wherever it is in the
     * list. The submission loop only looks at the head, which may wait for the ring to be under
     * its limit: a cancelled request behind it (an interrupted caller, a closed file) would wait
     * that long too, where a caller parked at the gate woke at once. A chain with a cancelled link
     * ends whole, every link with ECANCELED, as the submission loop ends it at the head (it waited
     * for the head before: behind a FIFO read holding the ring's one place, until that read went
     * stale a second later). Poller thread only.
     */
    private void finishCancelledHeld() {
        takeSubmissions(); // pushed before the cancel: in the list now, so that they are seen
        Slot previous = null;
        Slot s = heldHead;
        while (s != null) {
            Slot next = s.next;
            if (anyLinkCancelled(s)) {
                unlinkHeld(previous, s);
                for (Slot l = s; l != null; ) { // a single request is a chain of one
                    Slot following = l.chainNext; // read first: finish may release the slot
                    finish(l, -Errno.ECANCELED);
                    l = following;
                }
            } else {
                previous = s;
            }
            s = next;
        }
    }

    /** {@return whether {@code head}, a held-back request or a chain's first link, or any later link, is cancelled} */
    private static boolean anyLinkCancelled(Slot head) {
        for (Slot l = head; l != null; l = l.chainNext) {
            if (l.cancelRequested) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sends an {@code ASYNC_CANCEL} of {@code s}, a request in the kernel, through the ring it is
     * in: the poller's (into {@code sq}, submitted with the pass) or the caller ring (submitted at
     * once: no SINGLE_ISSUER there, and the kernel serialises it with callers' submits). Poller, under
     * the lock.
     *
     * @return whether it was sent; false: the caller ring's SQ had no room
     */
    private boolean cancelInItsRing(SubmissionQueue sq, Slot s) {
        if (!s.submittedByCaller) {
            pushCancel(sq, s);
            return true;
        }
        SubmissionQueue callerSq = callerRing.submissionQueue();
        if (callerSq.freeEntries() == 0) {
            return false;
        }
        pushCancel(callerSq, s);
        callerSq.publish();
        callerRing.submit();
        return true;
    }

    /**
     * Puts an {@code ASYNC_CANCEL} of {@code s} into the SQ and marks it sent: a request that ends
     * with ECANCELED was cancelled by this ring only if so ({@link #execute}'s resubmission).
     */
    private static void pushCancel(SubmissionQueue sq, Slot s) {
        sq.push(Opcode.ASYNC_CANCEL, 0, -1, 0, s.userData(), 0, 0, UserData.CANCEL, 0);
        s.cancelSent = true;
    }

    /** Asks the kernel to cancel every request of this ring, repeating for ones still running. */
    private void cancelInFlight(SubmissionQueue sq) {
        long now = System.nanoTime();
        if (inKernel == 0 || now - lastCancelRound < CANCEL_REPEAT_NANOS) {
            return;
        }
        lastCancelRound = now;
        for (int i = 0; i < gate.slotCount() && sq.freeEntries() > 1; i++) {
            Slot s = gate.slot(i);
            if (s.state == Slot.IN_KERNEL) {
                cancelInItsRing(sq, s); // one the caller ring has no room for: in the next round
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
        long start = System.nanoTime();
        // Bounded only after a broken pass, which may have lost the cancel's completion: closing
        // the ring cancels the armed read too, and the kernel writes nothing for a cancelled read.
        while (wakeArmed && (brokenAtNanos == 0 || System.nanoTime() - start < BROKEN_DRAIN_BOUND_NANOS)) {
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
        try {
            Runnable hook = completionForTests;
            if (hook != null) {
                hook.run();
            }
            deliver(s, result);
        } catch (RuntimeException | Error e) {
            // Its CQE is consumed: nothing else will end this request. One handed back to the
            // stack (a resubmission) is the shutdown's to end.
            if (s.state == Slot.IN_KERNEL) {
                failFatally(s, e);
            } else {
                stopServingAfter(e);
            }
        }
    }

    /** {@link #complete}'s work for a request out of the kernel: resubmits it or finishes it. */
    private void deliver(Slot s, int result) {
        if (s.clearPolled()) {
            polledInKernel.decrementAndGet();
        }
        if (result == -Errno.ECANCELED && cancelledByKernelAlone(s)) {
            if (s.kernelCancels < KERNEL_CANCEL_RESUBMITS) {
                if (s.uncountedInKernel) {
                    s.uncountedInKernel = false;
                    uncountedInKernel--;
                }
                s.kernelCancels++;
                s.submittedByCaller = false; // the poller submits it again: it does not exit while the ring serves
                if (s.usesFixedFile && (s.sqeFlags & Opcode.SQE_FIXED_FILE) != 0) {
                    // Its SQE named the slot that held its file then; an update may have put
                    // another file there since: named again as it goes back in (nameFixedFile).
                    s.fd = s.plainFd;
                    s.sqeFlags &= ~Opcode.SQE_FIXED_FILE;
                }
                resubmittedAfterKernelCancel.increment();
                s.state = Slot.QUEUED; // last before the stack: a failure before it fails the request
                enqueue(s);
                return;
            }
            // The kernel cannot run it (no io-wq worker can start: the process at its thread
            // limit): EAGAIN, what that start failed with, says more than ECANCELED would.
            result = -Errno.EAGAIN;
        }
        long bytes = result > 0 && isTransfer(s.opcode) ? result : 0;
        completions.add(bytes);
        s.kernelNanos = reapNanos - s.submittedNanos;
        if (s.uncountedInKernel) {
            // Not a sample of the device: a FIFO's read waited for a writer, a request found stale
            // for a daemon or a server (a hung FUSE read released after a minute would make the
            // controller's P99 a minute, and with it the age at which the next hang is found).
            s.uncountedInKernel = false;
            uncountedInKernel--;
        } else {
            controller.recordCompletion(reapNanos - s.submittedNanos, bytes);
        }
        if (closing && (result == -Errno.ECANCELED || result == -Errno.EINTR)) {
            // Cancelled by the shutdown (cancelInFlight): the same outcome as a request that was
            // still queued when it began, so every caller close() wakes sees isShutdown().
            result = -Errno.ESHUTDOWN;
        }
        finish(s, result);
    }

    /**
     * Whether a request that completed with ECANCELED was cancelled by the kernel alone, so that it
     * never ran and is submitted again rather than failed. Nobody asked for it: no {@code
     * ASYNC_CANCEL} was sent for it (an interrupt, a close of its file, a cancel), the ring is not
     * closing, and it is not a link of a chain (whose later links fail with ECANCELED when an
     * earlier one fails). The kernel does that in two cases, both measured here: the thread that
     * entered the ring with the request exited (the scheduler retires a carrier idle for 30 s while
     * its virtual thread stayed parked on a request that long; the kernel cancels what it still held
     * of that thread's, queued in its io-wq or waiting on a poll: {@code IoUringTest}); and the
     * kernel could not start an io-wq worker for it ({@code statx}, {@code openat}, {@code fsync}
     * and other requests that block run on such workers), because a signal was pending on the
     * thread that had to start it: a CPU profiler's {@code SIGPROF} (JFR's CPU-time sampler too), any
     * signal sent to the thread. The kernel retries the start three times, then cancels every
     * request waiting for a worker when none is left. After {@link #KERNEL_CANCEL_RESUBMITS} such
     * cancels of one request (a worker that can never start: the process is at its thread limit)
     * it ends with EAGAIN, so that no caller waits forever.
     */
    private boolean cancelledByKernelAlone(Slot s) {
        return !closing && !s.cancelSent && !s.cancelRequested && !s.linked;
    }

    /**
     * A completion could not be delivered (the library's own code failed on the poller, e.g. out
     * of memory starting the thread that completes a future): the failure is latched for
     * {@link #fatalError()}, the request ends with EIO, and the ring shuts down in order: it
     * refuses new requests (ESHUTDOWN), ends queued ones with ESHUTDOWN, cancels those in the
     * kernel and waits for them, so no caller is left parked and no memory is freed under the
     * kernel. Under the lock: on the poller, or on a caller reaping.
     */
    private void failFatally(Slot s, Throwable failure) {
        stopServingAfter(failure);
        if (s.state == Slot.DONE) {
            return; // delivered before the failure
        }
        s.result = -Errno.EIO;
        switch (s.kind) {
            case Slot.BLOCKING -> {
                Thread waiter = s.waiter;
                s.state = Slot.DONE;
                LockSupport.unpark(waiter);
            }
            case Slot.CALLBACK -> {
                AsyncCompletion user = s.completion;
                s.completion = new AsyncCompletion() {
                    @Override
                    public void complete(long r) {
                        user.complete(-Errno.EIO);
                    }
                };
                s.state = Slot.DONE;
                gate.completed(s);
                owner.callbackReady(s);
            }
            default -> {
                AsyncCompletion completion = s.completion;
                s.state = Slot.DONE;
                release(s);
                try {
                    owner.completeAsync(completion, -Errno.EIO);
                } catch (RuntimeException | Error again) {
                    failure.addSuppressed(again); // the future stays incomplete; the failure says why
                }
            }
        }
    }

    /** {@return the failure that stopped this ring ({@link #failFatally}), or null} Any thread. */
    public Throwable fatalError() {
        return fatal;
    }

    /**
     * {@return whether a blocking request may go to the caller ring} A read or write that names
     * neither a registered buffer nor a registered file: those are registered with the poller's
     * ring only.
     */
    private static boolean takesCallerRing(int opcode, int sqeFlags) {
        return (opcode == Opcode.READ || opcode == Opcode.WRITE || opcode == Opcode.READV || opcode == Opcode.WRITEV)
                && (sqeFlags & Opcode.SQE_FIXED_FILE) == 0;
    }

    private static boolean isTransfer(int opcode) {
        return opcode == Opcode.READ || opcode == Opcode.WRITE || opcode == Opcode.READV
                || opcode == Opcode.WRITEV || opcode == Opcode.READ_FIXED || opcode == Opcode.WRITE_FIXED;
    }

    /** Delivers a result according to the request's kind. Poller thread only. */
    private void finish(Slot s, long result) {
        if (s.usesFixedBuffer || s.usesFixedFile) {
            owner.registeredRequestDone(s.usesFixedBuffer, s.usesFixedFile);
        }
        s.result = result;
        switch (s.kind) {
            case Slot.BLOCKING -> {
                Thread waiter = s.waiter;
                s.state = Slot.DONE; // volatile write publishes the result to the waiter
                LockSupport.unpark(waiter);
            }
            case Slot.CALLBACK -> {
                s.result = s.completion.kernelDone(result);
                s.state = Slot.DONE;
                // Before the event loop can see it (and release the slot): from now on the slot
                // no longer counts against the in-flight limit that blocking requests wait on.
                gate.completed(s);
                owner.callbackReady(s);
            }
            default -> {
                AsyncCompletion completion = s.completion;
                // Before release gives the request's memory back: what the kernel wrote there
                // (a statx buffer) is read out first.
                long delivered = completion.kernelDone(result);
                s.state = Slot.DONE;
                release(s);
                owner.completeAsync(completion, delivered);
            }
        }
    }

    // ---- observation ----------------------------------------------------------------------

    public int index() {
        return index;
    }

    public int inUse() {
        return gate.inUse();
    }

    /** {@return requests that count against the in-flight limit now (not exempt ones)} */
    int meteredInUse() {
        return gate.meteredInUse();
    }

    public int limit() {
        return gate.limit();
    }

    public int waiting() {
        return gate.waiting();
    }

    public int inKernel() {
        return inKernelView;
    }

    public long opsCompleted() {
        return completions.ops();
    }

    public long bytesTransferred() {
        return completions.bytes();
    }

    /** {@return operations completed and bytes moved, as one consistent pair} */
    public CompletionCounters.Snapshot completions() {
        return completions.snapshot();
    }

    /** {@return this ring's adaptive controller (its getters are safe from any thread)} */
    public AimdController controller() {
        return controller;
    }

    /**
     * Sets the floor of this ring's in-flight limit and has the poller apply it now, without
     * waiting for it. The controller raises a limit below a new floor at its tick, and an idle
     * poller does not tick (it sleeps in the kernel until a request comes): a ring nobody used
     * since would report its old limit for as long. Any thread.
     *
     * @throws IllegalArgumentException if {@code min} is outside 1 to the queue depth; nothing changed then
     */
    public void setMinInFlight(int min) {
        controller.setMinInFlight(min);
        postToRing(ring -> {
            lastTick = System.nanoTime() - TICK_NANOS; // this pass ticks (maybeTick), after the ring tasks
            return 0;
        });
    }

    int setupFlags() {
        return ringSetupFlags;
    }

    /** {@return the caller ring's setup flags, or -1 where callers do not submit} For tests. */
    int callerRingSetupFlags() {
        return callerSubmit ? callerRing.setupFlags() : -1;
    }

    public int queueDepth() {
        return config.queueDepth();
    }

    /** {@return the most requests this ring has held at once (queued, in the kernel or completing)} */
    public int peakInUse() {
        return gate.peakInUse();
    }

    boolean isPollerThread() {
        return Thread.currentThread() == thread;
    }

    /** {@return whether the ring's kernel knows {@code opcode} (IORING_REGISTER_PROBE, read at setup)} */
    public boolean supports(int opcode) {
        return ring.supports(opcode);
    }
}
