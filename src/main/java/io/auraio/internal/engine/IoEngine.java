package io.auraio.internal.engine;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.UringBinding;
import io.auraio.internal.pool.BufferPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/**
 * The rings of one engine, how a request picks its ring, the callback event loop, registered
 * buffers and files, and the engine's buffer pool. Knows nothing of files or channels.
 */
public final class IoEngine implements AutoCloseable {
    /** How a submission picks its ring (the reference's {@code auraio_ring_select_t}). */
    public enum Selection { ADAPTIVE, CPU_LOCAL, ROUND_ROBIN }

    /** Eight native bytes holding 1: what every poller wake-up adds to its eventfd. */
    private static final MemorySegment WAKE_VALUE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    /** Registered files: the table as registered, and where each descriptor sits in it. */
    record FileTable(AtomicIntegerArray fds, Map<Integer, Integer> indexOf) {}

    private final RingPoller[] rings;
    private final Selection selection;
    private final BufferPool pool;
    private final EventLoop events;
    private final Registration<MemorySegment[]> buffers;
    private final Registration<FileTable> files;
    private final AtomicInteger roundRobin = new AtomicInteger();
    private final LongAdder adaptiveSpills = new LongAdder();
    private final AtomicInteger callbacksOutstanding = new AtomicInteger();
    private final LongAdder fastPathOps = new LongAdder();
    private final LongAdder fastPathBytes = new LongAdder();
    private final Object closeLock = new Object();
    private volatile boolean closed;
    /**
     * Wakers of callers that wait off the rings for something the engine's close must end (a slow
     * file's {@code fsync} the daemon holds), registered while they wait ({@link #addCloseWaker}).
     */
    private final java.util.Set<Runnable> closeWakers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private boolean terminated;

    private IoEngine(int ringCount, Selection selection, long bufferAlignment) throws IoUring.SetupException {
        this.rings = new RingPoller[ringCount];
        this.selection = selection;
        this.pool = new BufferPool(bufferAlignment, ringCount);
        this.events = new EventLoop();
        this.buffers = new Registration<>(() -> unregisterOnAllRings(IoUring.UNREGISTER_BUFFERS));
        this.files = new Registration<>(() -> unregisterOnAllRings(IoUring.UNREGISTER_FILES));
    }

    /**
     * Starts {@code ringCount} rings and their pollers.
     *
     * @throws IoUring.SetupException when a ring cannot be set up; rings already started are closed
     */
    public static IoEngine start(int ringCount, RingConfig config, Selection selection, long bufferAlignment)
            throws IoUring.SetupException {
        UringBinding.chooseInBackground();
        IoEngine engine = new IoEngine(ringCount, selection, bufferAlignment);
        RingPoller[] built = new RingPoller[ringCount];
        try {
            // Every ring's tables first, sized by the queue depth: most of the heap an engine
            // takes. A heap too small for them fails here, before a ring or a thread exists, and
            // dropping the tables gives it back; failing midway left the heap full of live rings
            // that could not even be woken to close (a wake-up's FFM call allocates).
            for (int i = 0; i < ringCount; i++) {
                built[i] = new RingPoller(i, engine, config, WAKE_VALUE);
            }
        } catch (OutOfMemoryError e) {
            built = null; // the tables, garbage before the cleanup below allocates
            engine.events.close();
            engine.pool.close();
            throw e;
        }
        try {
            for (int i = 0; i < ringCount; i++) {
                built[i].start();
                engine.rings[i] = built[i];
                built[i] = null;
            }
        } catch (IoUring.SetupException | RuntimeException | Error e) {
            built = null; // the rings not started are only tables
            // The rings already started are closed, their pollers gone: nothing is left behind.
            closeStarted(engine.rings);
            try {
                engine.events.close();
                engine.pool.close();
            } catch (RuntimeException | Error again) {
                // e says why the start failed; the rings, which held the memory, are closed.
            }
            throw e;
        }
        return engine;
    }

    /**
     * {@return whether a failure with {@code errno} and {@code cause} is one the process may get
     * over: it ran out of file descriptors (EMFILE, ENFILE), which it may free, could start no
     * thread (EAGAIN: at its thread limit), which may end, or found the Java heap full (an
     * engine's creation caused by an OutOfMemoryError: ENOMEM, which for a ring's setup means the
     * locked-memory limit, which stays)} Such a failure says nothing of whether io_uring can be
     * used, so it must not be kept as the answer.
     */
    public static boolean isTransient(int errno, Throwable cause) {
        return isTransient(errno) || cause instanceof OutOfMemoryError;
    }

    /**
     * {@return whether a failure with {@code errno} is one the process may get over, as
     * {@link #isTransient(int, Throwable)} without a cause}
     */
    public static boolean isTransient(int errno) {
        return errno == Errno.EMFILE || errno == Errno.ENFILE || errno == Errno.EAGAIN;
    }

    /**
     * What {@link #unavailabilityCause()} found.
     *
     * @param cause        null when io_uring is usable, else why not
     * @param isTransient  whether the cause is a shortage the process may get over ({@link #isTransient(int)})
     */
    public record Probe(String cause, boolean isTransient) {}

    /** {@return whether io_uring is usable, as {@link #unavailabilityCause()}, and whether a failure may pass} */
    public static Probe probe() {
        // A descriptor first: without one to spare, loading liburing would fail too, and the
        // binding chosen on that first load is kept for good (UringBinding).
        int canary = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        if (canary < 0) {
            return new Probe("cannot set up an io_uring: " + Errno.message(-canary), isTransient(-canary));
        }
        Libc.close(canary);
        try {
            IoUring ring = IoUring.create(2, 0, new int[] {0}, 0, new ArrayList<>());
            ring.close();
            return new Probe(null, false);
        } catch (IoUring.SetupException e) {
            return new Probe(e.getMessage(), isTransient(e.errno()));
        } catch (LinkageError | IllegalArgumentException | IllegalStateException e) {
            return new Probe(unavailabilityCause(), false);
        }
    }

    /**
     * Checks that the io_uring binding loads and the kernel sets up a ring for this process.
     *
     * @return null when io_uring is usable, else why not
     */
    public static String unavailabilityCause() {
        try {
            IoUring ring = IoUring.create(2, 0, new int[] {0}, 0, new ArrayList<>());
            ring.close();
            return null;
        } catch (IoUring.SetupException e) {
            return e.getMessage();
        } catch (LinkageError | IllegalArgumentException | IllegalStateException e) {
            // libraryLookup throws IllegalArgumentException when liburing.so.2 cannot be loaded
            return bindingFailure(e);
        }
    }

    /**
     * Describes why the io_uring binding could not be loaded: only the liburing binding can fail
     * to load, and only where {@code -Dauraio.binding=liburing} insists on it (by default a
     * liburing that cannot be loaded selects the syscall binding).
     */
    public static String bindingFailure(Throwable failure) {
        if (!UringBinding.requested().equals(UringBinding.LIBURING)) {
            // Not seen in practice (libc without syscall(2)); name() would need the failed class.
            return "the io_uring binding cannot be loaded (-D" + UringBinding.PROPERTY + "=" + UringBinding.requested()
                    + "): " + loadFailure(failure);
        }
        return "liburing.so.2 cannot be used (" + loadFailure(failure) + ") and -D" + UringBinding.PROPERTY + "="
                + UringBinding.LIBURING + " asks for it: install liburing2 (liburing 2.3 or later), or leave -D"
                + UringBinding.PROPERTY + " unset to use the kernel's io_uring through libc's syscall(2)";
    }

    /**
     * Describes why liburing's binding could not be loaded. The first failure arrives wrapped in an
     * {@link ExceptionInInitializerError} without a message, later ones as a {@link NoClassDefFoundError}
     * ("Could not initialize class") whose cause names the first: the innermost one says what happened.
     */
    public static String loadFailure(Throwable failure) {
        Throwable t = failure;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.toString();
    }

    /**
     * Closes the rings a failed start had set up, each once its poller is gone. Under a full heap
     * (the start failed with an OutOfMemoryError: the rings' arrays fill it) a close may fail too;
     * the other rings are closed first, which gives their memory back, and it is tried again.
     */
    private static void closeStarted(RingPoller[] rings) {
        boolean left = true;
        for (int round = 0; round < 3 && left; round++) {
            left = false;
            for (int i = 0; i < rings.length; i++) {
                RingPoller r = rings[i];
                if (r == null) {
                    continue;
                }
                try {
                    r.beginClose();
                    joinUninterruptibly(r);
                    rings[i] = null;
                } catch (RuntimeException | Error again) {
                    left = true;
                }
            }
        }
    }

    private static void joinUninterruptibly(RingPoller r) {
        boolean interrupted = false;
        while (true) {
            try {
                r.awaitClosed();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Registers {@code waker}, run by {@link #close()} after {@link #isClosed()} turns true, until
     * {@link #removeCloseWaker}: for a caller that waits off the rings, which registers before it
     * looks at {@code isClosed()} and removes it when it stops waiting.
     */
    public void addCloseWaker(Runnable waker) {
        closeWakers.add(waker);
    }

    /** Removes a waker {@link #addCloseWaker} registered. */
    public void removeCloseWaker(Runnable waker) {
        closeWakers.remove(waker);
    }

    public boolean isClosed() {
        return closed;
    }

    public BufferPool pool() {
        return pool;
    }

    public int ringCount() {
        return rings.length;
    }

    public RingPoller ring(int index) {
        return rings[index];
    }

    // ---- ring selection ---------------------------------------------------------------------

    /**
     * Runs one blocking request on the ring the calling thread should submit to, as
     * {@link RingPoller#execute(int, int, int, long, long, int, int, int)}.
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    public long execute(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                        int bufIndex) {
        return execute(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex, false, false, null);
    }

    /**
     * As {@link RingPoller#execute(int, int, int, long, long, int, int, int, boolean, boolean, BooleanSupplier)}
     * on the ring the calling thread should submit to.
     *
     * @return bytes transferred or the operation's result, or a negated errno
     */
    public long execute(int opcode, int sqeFlags, int fd, long offset, long address, int length, int opFlags,
                        int bufIndex, boolean cancelOnInterrupt, boolean mayWaitForever, BooleanSupplier abandoned) {
        int choice = choose();
        // A spill counts once the ring admits the request, not when the ring turns it away.
        return chosen(choice).execute(opcode, sqeFlags, fd, offset, address, length, opFlags, bufIndex,
                cancelOnInterrupt, mayWaitForever, abandoned, choice < 0 ? adaptiveSpills : null);
    }

    /**
     * As {@link RingPoller#submit} on the ring the calling thread should submit to.
     *
     * @return a handle for {@code isPending} and {@code cancel}
     * @throws RingPoller.Refused as {@link RingPoller#submit}: then no spill is counted
     */
    public RequestHandle submit(int kind, int opcode, int sqeFlags, int fd, long offset, long address, int length,
                                int opFlags, int bufIndex, AsyncCompletion completion, MemorySegment ownedMemory,
                                boolean usesFixedBuffer, boolean usesFixedFile) throws RingPoller.Refused {
        int choice = choose();
        RequestHandle handle = chosen(choice).submit(kind, opcode, sqeFlags, fd, offset, address, length, opFlags,
                bufIndex, completion, ownedMemory, usesFixedBuffer, usesFixedFile);
        countSpill(choice);
        return handle;
    }

    /**
     * As {@link RingPoller#submitChain} on the ring the calling thread should submit to: a chain
     * moved off the local ring counts as one spill.
     *
     * @return a handle per link, in order
     * @throws RingPoller.Refused as {@link RingPoller#submitChain}: then no spill is counted
     */
    public RequestHandle[] submitChain(int kind, Link[] links) throws RingPoller.Refused {
        int choice = choose();
        RequestHandle[] handles = chosen(choice).submitChain(kind, links);
        countSpill(choice);
        return handles;
    }

    /**
     * Picks the ring for one submission, as {@link #execute}, {@link #submit} and
     * {@link #submitChain} do, for a caller that hands it to the ring itself (a transfer admitted
     * to the ring and served off it): {@link #chosen} is the ring, and {@link #countSpill} counts
     * the choice once the ring took the submission.
     *
     * @return the ring's index, or {@code -1 - index} where {@link Selection#ADAPTIVE} moved it off
     *         the local ring
     */
    public int choose() {
        int n = rings.length;
        if (n == 1) {
            return 0;
        }
        return switch (selection) {
            case ROUND_ROBIN -> Math.floorMod(roundRobin.getAndIncrement(), n);
            case CPU_LOCAL -> localIndex(n);
            case ADAPTIVE -> chooseAdaptive(n);
        };
    }

    /** {@return the ring {@code choice} (of {@link #choose}) names} */
    public RingPoller chosen(int choice) {
        return rings[choice < 0 ? -1 - choice : choice];
    }

    /** Counts {@code choice} (of {@link #choose}) as a spill where it was one: call once the ring took the submission. */
    public void countSpill(int choice) {
        if (choice < 0) {
            adaptiveSpills.increment();
        }
    }

    private static int localIndex(int n) {
        int cpu = Libc.schedGetCpu();
        return cpu < 0 ? 0 : cpu % n;
    }

    /**
     * The reference's ADAPTIVE rule: stay on the local ring until it is above 75% of its
     * in-flight limit; stay anyway if it is an outlier (more than twice the average load); else
     * spill to the lighter of two randomly chosen other rings ({@code -1 - index}, as {@link #choose}).
     */
    private int chooseAdaptive(int n) {
        int local = localIndex(n);
        RingPoller localRing = rings[local];
        int load = localRing.inUse();
        if (load * 4 <= localRing.limit() * 3) {
            return local;
        }
        long total = 0;
        for (RingPoller r : rings) {
            total += r.inUse();
        }
        if ((long) load * n > 2 * total) {
            return local;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int a = (local + 1 + random.nextInt(n - 1)) % n;
        int b = (local + 1 + random.nextInt(n - 1)) % n;
        return -1 - (rings[a].inUse() <= rings[b].inUse() ? a : b);
    }

    /** {@return the submissions {@link Selection#ADAPTIVE} moved off the local ring that their ring took} */
    public long adaptiveSpills() {
        return adaptiveSpills.sum();
    }

    // ---- asynchronous completions -------------------------------------------------------------

    /** Counts a callback request the caller is about to submit; undone by {@link #callbackNotSubmitted}. */
    public void callbackSubmitting() {
        callbacksOutstanding.incrementAndGet();
    }

    public void callbackNotSubmitted() {
        callbacksOutstanding.decrementAndGet();
    }

    void callbackReady(Slot slot) {
        AsyncCompletion user = slot.completion;
        slot.completion = result -> {
            callbacksOutstanding.decrementAndGet();
            user.complete(result);
        };
        events.enqueue(slot);
    }

    /** Runs a future's completion off the poller thread, so no user stage ever runs there. */
    void completeAsync(AsyncCompletion completion, long result) {
        Thread.ofVirtual().name("auraio-complete").start(() -> completion.complete(result));
    }

    void registeredRequestDone(boolean usedBuffers, boolean usedFiles) {
        if (usedBuffers) {
            buffers.release();
        }
        if (usedFiles) {
            files.release();
        }
    }

    public int pollFd() {
        return events.pollFd();
    }

    /**
     * {@return whether {@code fd} is one of the engine's own descriptors (its poll eventfd, a
     * ring or a ring's eventfd) while the engine is open} Closed by a caller, the number would be
     * given to the caller's next file, which the engine would then write its wake-ups into.
     */
    public boolean ownsDescriptor(int fd) {
        if (closed) {
            return false;
        }
        if (fd == events.pollFd()) {
            return true;
        }
        for (RingPoller ring : rings) {
            if (ring.ownsDescriptor(fd)) {
                return true;
            }
        }
        return false;
    }

    public int poll() {
        return events.poll();
    }

    public int await(long timeoutNanos) throws InterruptedException {
        return events.await(timeoutNanos, callbacksOutstanding::get);
    }

    public void run() throws InterruptedException {
        events.run();
    }

    public void stop() {
        events.stop();
    }

    /** {@return callbacks run, or -1 on timeout} */
    public int drain(long timeoutNanos) throws InterruptedException {
        return events.drain(timeoutNanos, this::pendingCount);
    }

    public boolean isCallbackThread() {
        return events.isProcessingThread();
    }

    // ---- registered buffers -------------------------------------------------------------------

    /**
     * Registers {@code segments} (native, each at most 1 GiB) as fixed buffers on every ring.
     *
     * @param onDropped null, or what to run (once, idempotent) when the kernel has dropped these
     *                  buffers: after their unregister, or at close; not run when this fails
     * @return 0 or a negated errno (EBUSY when buffers are already registered)
     */
    public int registerBuffers(MemorySegment[] segments, Runnable onDropped) {
        MemorySegment[] registered = segments.clone();
        int r = buffers.set(registered, onDropped);
        if (r < 0) {
            return r;
        }
        MemorySegment iov = pool.acquire(16L * Math.max(1, segments.length));
        if (iov.equals(MemorySegment.NULL)) {
            buffers.clear(registered);
            return -Errno.ENOMEM;
        }
        try {
            for (int i = 0; i < segments.length; i++) {
                iov.set(JAVA_LONG, 16L * i, segments[i].address());
                iov.set(JAVA_LONG, 16L * i + 8, segments[i].byteSize());
            }
            // The kernel copies the iovecs and pins the pages during the call: iov may go after.
            r = registerOnAllRings(u -> u.register(IoUring.REGISTER_BUFFERS, iov, segments.length),
                    IoUring.UNREGISTER_BUFFERS);
        } finally {
            pool.release(iov);
        }
        if (r < 0) {
            buffers.clear(registered);
        } else {
            buffers.publish(registered);
        }
        return r;
    }

    /**
     * Counts a fixed-buffer request and checks its range.
     *
     * @param read whether the kernel writes into the buffer (READ_FIXED)
     * @return 0, or a negated errno: ENOENT (nothing registered), EBUSY (unregister draining),
     *         EINVAL (index or range outside the registered buffer), EROFS (a read into a
     *         read-only segment)
     */
    public int acquireFixedBuffer(int index, long offset, long length, boolean read, long[] addressOut) {
        int[] errno = new int[1];
        MemorySegment[] segs = buffers.acquire(errno);
        if (segs == null) {
            return -errno[0];
        }
        if (index < 0 || index >= segs.length || offset < 0 || length < 0 || offset > segs[index].byteSize() - length) {
            buffers.release();
            return -Errno.EINVAL;
        }
        if (read && segs[index].isReadOnly()) {
            // Registered for WRITE_FIXED, it may be read-only; the kernel would write into it.
            buffers.release();
            return -Errno.EROFS;
        }
        addressOut[0] = segs[index].address() + offset;
        return 0;
    }

    public void releaseFixedBuffer() {
        buffers.release();
    }

    /** @return a future done when the kernel has dropped the buffers, or null when none were registered */
    public CompletableFuture<Void> requestUnregisterBuffers() {
        return buffers.requestUnregister();
    }

    /** {@return the registered buffers, or null} */
    public MemorySegment[] registeredBuffers() {
        return buffers.current();
    }

    // ---- registered files -----------------------------------------------------------------------

    /**
     * Registers {@code fds} on every ring; later requests on those descriptors use their index
     * with {@code IOSQE_FIXED_FILE}.
     *
     * @return 0 or a negated errno
     */
    public int registerFiles(int[] fds) {
        if (closed) {
            return -Errno.ESHUTDOWN; // not EBUSY for a table registered when the engine closed
        }
        Map<Integer, Integer> indexOf = new ConcurrentHashMap<>();
        for (int i = 0; i < fds.length; i++) {
            if (fds[i] >= 0) {
                indexOf.putIfAbsent(fds[i], i);
            }
        }
        FileTable table = new FileTable(new AtomicIntegerArray(fds), indexOf);
        int r = files.set(table);
        if (r < 0) {
            return r;
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment array = arena.allocateFrom(JAVA_INT, fds);
            r = registerOnAllRings(u -> u.register(IoUring.REGISTER_FILES, array, fds.length),
                    IoUring.UNREGISTER_FILES);
        }
        if (r < 0) {
            files.clear(table);
        } else {
            files.publish(table);
        }
        return r;
    }

    /**
     * Tests only, null otherwise: runs in {@link #updateFile} between one ring's update and the
     * next's (where a thread descheduled there waits).
     */
    public volatile Runnable betweenRingUpdatesForTests;

    /**
     * Replaces the descriptor at {@code index} of the registered table ({@code -1} empties it).
     *
     * <p>The slot leaves the table here first, and takes {@code fd} only once every ring's kernel
     * table holds it: a ring looks a request's slot up when it puts the request in the kernel
     * ({@link #fixedFileIndex}), so a request on the old descriptor or the new one, put in the
     * kernel while some rings hold one and some the other, names its plain descriptor.
     *
     * @return 0 or a negated errno (ENOENT: no table; EINVAL: index out of range; ESHUTDOWN: closed)
     */
    public int updateFile(int index, int fd) {
        if (closed) {
            return -Errno.ESHUTDOWN; // not ENOENT once the rings (and their tables) are gone
        }
        // A user of the table while it updates, as a request is: an unregister (and a registration
        // after it) waits until every ring has the update, or the rings this thread had not reached
        // yet would take it into the next registration's table.
        FileTable table = files.acquire(new int[1]);
        if (table == null) {
            return files.isRegistered() ? -Errno.EBUSY : -Errno.ENOENT;
        }
        try {
            return updateFile(table, index, fd);
        } finally {
            files.release();
        }
    }

    private int updateFile(FileTable table, int index, int fd) {
        if (index < 0 || index >= table.fds().length()) {
            return -Errno.EINVAL;
        }
        if (fd < -1) {
            // The kernel takes -2 (IORING_REGISTER_FILES_SKIP) as "leave the slot as it is" and
            // succeeds: the table here would then say the slot is empty while the kernel keeps
            // the old file, which no close would take out any more.
            return -Errno.EBADF;
        }
        // One update of the table at a time: two interleaved ones would leave this table and the
        // kernel's naming different files at the slot.
        synchronized (table) {
            int old = table.fds().getAndSet(index, -1);
            forgetSlot(table, old, index);
            int r;
            try (Arena arena = Arena.ofShared()) {
                // struct io_uring_files_update { __u32 offset; __u32 resv; __aligned_u64 fds; }
                MemorySegment newFd = arena.allocateFrom(JAVA_INT, fd);
                MemorySegment update = arena.allocate(16, 8);
                update.set(JAVA_INT, 0, index);
                update.set(JAVA_LONG, 8, newFd.address());
                r = 0;
                for (RingPoller ring : rings) {
                    Runnable hook = betweenRingUpdatesForTests;
                    if (hook != null && ring != rings[0]) {
                        hook.run();
                    }
                    int rr = ring.callOnRing(u -> u.register(IoUring.REGISTER_FILES_UPDATE, update, 1));
                    if (rr < 0) {
                        r = rr;
                    }
                }
            }
            int now = r >= 0 ? fd : old; // refused (a bad descriptor): the kernel keeps the old file
            table.fds().set(index, now);
            if (now >= 0) {
                table.indexOf().put(now, index);
            }
            return Math.min(r, 0);
        }
    }

    /** {@code fd} no longer sits at {@code index}: the map names another slot holding it, or none. */
    private static void forgetSlot(FileTable table, int fd, int index) {
        if (fd >= 0 && table.indexOf().remove(fd, index)) {
            // The same descriptor may sit in another slot (registerFiles(fd, fd)): forgetFile
            // finds slots through this map, so it must keep naming one of them, or a close
            // leaves that slot holding the file open.
            for (int i = 0; i < table.fds().length(); i++) {
                if (table.fds().get(i) == fd) {
                    table.indexOf().putIfAbsent(fd, i);
                    break;
                }
            }
        }
    }

    /**
     * Empties every slot of the registered table that holds {@code fd}, on every ring, before the
     * descriptor is closed: the kernel's reference would otherwise keep the closed file open, and
     * requests naming the number, once reused by another open, would reach the old file.
     */
    public void forgetFile(int fd) {
        FileTable table = files.current();
        if (table == null || !table.indexOf().containsKey(fd)) {
            return;
        }
        synchronized (table) { // not between an update's emptying of a slot and its refilling
            for (int i = 0; i < table.fds().length(); i++) {
                if (table.fds().get(i) == fd) {
                    updateFile(i, -1);
                }
            }
        }
    }

    /**
     * Counts a request on {@code fd} as a user of the registered table (until
     * {@link #releaseFixedFile}) when {@code fd} is registered: the table then stays until the
     * request completes, and the ring that puts the request in the kernel looks its slot up then
     * ({@link #fixedFileIndex}), not now: the slot may hold another file by that time.
     *
     * @return whether the request was counted; false: it names the plain descriptor
     */
    public boolean acquireFixedFile(int fd) {
        if (!files.isRegistered()) {
            return false;
        }
        int[] errno = new int[1];
        FileTable table = files.acquire(errno);
        if (table == null) {
            return false;
        }
        if (!table.indexOf().containsKey(fd)) {
            files.release();
            return false;
        }
        return true;
    }

    /**
     * {@return the slot of the registered table that holds {@code fd} now, or -1 to name the plain
     * descriptor}; asked by a ring, for a request {@link #acquireFixedFile} counted, as it puts the
     * request in the kernel: under its submission lock, so no update of that ring's table (a task
     * its poller runs under that lock) comes between the answer and the kernel's look-up at submit.
     */
    public int fixedFileIndex(int fd) {
        FileTable table = files.current();
        Integer index = table == null ? null : table.indexOf().get(fd);
        return index == null ? -1 : index;
    }

    /** {@return whether files are registered, being registered or draining: requests may use a slot} */
    boolean hasRegisteredFiles() {
        return files.isRegistered();
    }

    public void releaseFixedFile() {
        files.release();
    }

    /** @return a future done when the kernel has dropped the files, or null when none were registered */
    public CompletableFuture<Void> requestUnregisterFiles() {
        return files.requestUnregister();
    }

    private int registerOnAllRings(java.util.function.ToIntFunction<IoUring> register, int unregisterOpcode) {
        List<RingPoller> done = new ArrayList<>();
        for (RingPoller ring : rings) {
            int r = ring.callOnRing(register);
            if (r < 0) {
                for (RingPoller d : done) {
                    d.callOnRing(u -> u.register(unregisterOpcode, MemorySegment.NULL, 0));
                }
                return r;
            }
            done.add(ring);
        }
        return 0;
    }

    private CompletableFuture<Void> unregisterOnAllRings(int opcode) {
        CompletableFuture<?>[] all = new CompletableFuture<?>[rings.length];
        for (int i = 0; i < rings.length; i++) {
            all[i] = rings[i].postToRing(u -> u.register(opcode, MemorySegment.NULL, 0));
        }
        return CompletableFuture.allOf(all);
    }

    /** Waits for {@code f}, ignoring interrupts (kept for the caller). */
    public static void awaitUninterruptibly(CompletableFuture<Void> f) {
        boolean interrupted = false;
        while (true) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- counters ---------------------------------------------------------------------------------

    /** Counts a read served by the caller-thread fast path, so engine stats stay exact. */
    public void countFastPath(long bytes) {
        fastPathOps.increment();
        fastPathBytes.add(bytes);
    }

    public long fastPathOps() {
        return fastPathOps.sum();
    }

    public long fastPathBytes() {
        return fastPathBytes.sum();
    }

    /** {@return requests queued, in the kernel or completing, over all rings} */
    public int pendingCount() {
        int sum = 0;
        for (RingPoller r : rings) {
            sum += r.inUse();
        }
        return sum;
    }

    public boolean isPollerThread() {
        for (RingPoller r : rings) {
            if (r.isPollerThread()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Fails new submissions, cancels in-flight requests, waits until the kernel has finished every
     * one of them and every caller has woken, runs the callbacks still queued on this thread, then
     * frees the rings and the pool. Idempotent and callable from any thread except a callback;
     * concurrent callers all return once the engine is down.
     *
     * @throws IllegalStateException when called from a completion callback
     */
    @Override
    public void close() {
        if (events.isProcessingThread()) {
            throw new IllegalStateException("close() called from a completion callback: close the engine from "
                    + "another thread, or call stop() and close after run() returns");
        }
        synchronized (closeLock) {
            if (terminated) {
                return;
            }
            closed = true;
            for (RingPoller r : rings) {
                r.beginClose();
            }
            for (Runnable waker : closeWakers) {
                waker.run(); // callers waiting off the rings look at isClosed() and leave
            }
            for (RingPoller r : rings) {
                joinUninterruptibly(r);
            }
            try {
                events.closeAndDeliverRest(); // every callback runs; the first one's throw comes after
            } finally {
                buffers.dropAtClose(); // the rings are gone: registered memory may be given back
                events.close();
                pool.close();
                terminated = true;
            }
        }
    }
}
