package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.engine.RingPoller;
import io.auraio.internal.jfr.FileEvents;
import io.auraio.internal.jfr.RequestTrace;
import io.auraio.internal.mapped.MappedReads;
import io.auraio.internal.offload.BlockingOffload;
import io.auraio.internal.offload.SlowFileSystems;
import io.auraio.internal.platform.StackHeadroom;
import io.auraio.internal.pool.BufferPool;
import io.auraio.internal.sched.CarrierSharing;
import io.auraio.internal.sched.CarrierWaits;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A file opened for positional blocking I/O through an {@link Engine}'s io_uring rings.
 *
 * <pre>{@code
 * try (AuraFile f = AuraFile.open(path, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
 *     int n = f.read(alignedSegment, 8192); // parks this virtual thread, not its carrier
 * }
 * }</pre>
 *
 * <p>Every read and write parks the calling thread on its own request until the kernel completes
 * it; on a virtual thread the carrier stays free for other virtual threads. Reads of files opened
 * without {@code DIRECT} first try {@code preadv2(RWF_NOWAIT)} on the calling thread, which serves
 * page-cache hits without a ring round trip and never blocks. A regular file of a local file system
 * that has had many such hits is mapped read-only, and positioned reads of at most 32 KiB whose
 * pages are known to be in memory are copied from the mapping, with no system call, returning
 * exactly what {@code pread} would (a file shortened by another process included); the mapping is
 * unmapped when the file is closed. {@code -Dio.auraio.mappedReads=false} turns that off.
 *
 * <p><b>Buffers.</b> Heap buffers and heap segments are copied through a pooled native buffer
 * (reads copied from the file's mapping go into them directly).
 * Native memory is checked as {@code FileChannel} checks it: memory of a closed arena is
 * refused with {@link IllegalStateException}, memory of a confined arena used from a thread other
 * than its owner with {@link WrongThreadException}. The kernel never writes into memory that was
 * freed: memory of the global arena, and of a confined arena (whose only possible closer, its
 * owner, is the caller, parked in the call), is handed to the kernel as it is. Memory another
 * thread may free meanwhile (a shared arena; public API cannot tell it from an automatic arena or
 * a direct buffer) is handed to the kernel only in a system call made on the calling thread that
 * holds it alive (a page-cache read or write), where closing its arena throws
 * {@link IllegalStateException} as with {@code FileChannel}; a ring request gets a pooled copy
 * instead, so a shared arena closed while such a read waits (which {@code FileChannel} refuses)
 * makes the read throw {@link IllegalStateException} rather than write into freed memory. For
 * ring reads and writes without a copy, use a confined arena on its owner thread or the global
 * arena. With {@code DIRECT}, the file
 * position and the transfer length must be multiples of the file's O_DIRECT offset alignment and
 * a native buffer's address a multiple of its memory alignment (both reported by
 * {@code statx(STATX_DIOALIGN)}); anything else is an {@link AuraIOException} that says which
 * value must be aligned to what.
 *
 * <p><b>Threads.</b> An {@code AuraFile} is safe for use by any number of threads at once; reads
 * and writes at different positions proceed in parallel. {@link #close()} cancels the file's
 * requests still in the kernel, waits until every thread using the file has returned (those whose
 * request was cancelled get {@link AsynchronousCloseException}), then closes the descriptor, so
 * the descriptor number is never reused under a running request. As with {@code FileChannel},
 * interrupting a thread blocked in a read or write cancels its request in the kernel, closes the
 * file and throws {@link ClosedByInterruptException} (which {@code FileChannel} itself cannot do
 * for file I/O on virtual threads). That close does not wait for the file's other threads (one may
 * be in a read the kernel cannot cancel, of a hung FUSE file): their requests are cancelled and
 * the last of them to leave closes the descriptor. A file dropped without {@link #close()} has
 * its descriptor closed by a {@link Cleaner} once it is unreachable, as the JDK's channels do;
 * close files explicitly all the same, as the garbage collector may take long to find them.
 *
 * <p><b>Slow and remote file systems.</b> Reads and writes of files on FUSE, virtiofs, NFS, CIFS/SMB,
 * 9p, Ceph and Lustre (decided at open from the file's mount; {@code -Dauraio.offload.fileSystems}
 * changes the list) do not go through the ring: io_uring runs only a few of them at once there
 * (a FUSE connection's {@code max_background}, 12 by default) and cannot cancel one the daemon or
 * server holds. Each is a plain {@code pread}/{@code pwrite} on a pool of platform threads (up to
 * 1024, at most 256 per mount, so a hung mount leaves the rest running; {@code
 * -Dauraio.offload.transferThreads}, {@code -Dauraio.offload.transferPerMount}) into memory of its
 * own, the caller parked meanwhile; each holds an admission of one of the engine's rings, so the
 * in-flight limit ({@link Options}) bounds them as it bounds ring requests (their latencies feed the
 * AIMD controller only under a P99 target the user set). An interrupt or a close wakes the caller
 * at once, with {@link ClosedByInterruptException} or {@link AsynchronousCloseException}, even
 * while the daemon still holds the request: the system call goes on and its result is dropped, so
 * the caller's buffer is never written afterwards, but a write abandoned so may still reach the
 * file, as one of {@code FileChannel} may when its thread is interrupted during the call. The
 * descriptor stays open until the last such call returns, after {@link #close()} has returned.
 * {@link #force} and {@link #size} of such files ({@code fsync}/{@code fdatasync} and
 * {@code fstat}, which wait for the daemon or server as a read does) go to the same pool and wake
 * on interrupt and close the same way; they hold no admission of the in-flight limit, as they
 * move no data.
 *
 * <p><b>FIFOs and sockets</b> have no position: on them the {@code position} arguments are
 * ignored and each read or write takes the next bytes of the stream ({@link AuraFileChannel}
 * refuses positional transfers there with "Illegal seek", as {@code FileChannel} does). Opening a
 * FIFO waits for its other end, as {@code open(2)} and {@code FileChannel.open} do, with the
 * calling thread parked and not interruptible; the interrupt status is kept.
 *
 * <p><b>JDK mode.</b> A file opened with {@link #open(Path, OpenOption...)} (no engine) in a JVM whose
 * {@linkplain AuraIO#backend() backend} is {@link Backend#JDK} (io_uring cannot be used, or
 * {@code -Dauraio.backend=jdk}) is served by a {@link java.nio.channels.FileChannel} on the calling
 * thread instead; {@link #backend()} tells which mode a file is in. Every method keeps its contract
 * (positions, end of file, {@code readFully}/{@code writeFully}, {@code force}, {@code size}, the
 * exceptions, close and interrupt behaviour) with these differences: a blocked read or write holds
 * its carrier thread as {@code FileChannel} does, and an interrupt takes effect when the transfer
 * ends rather than cancelling it ({@link Thread#interrupt()} itself returns only then, as with
 * {@code FileChannel}); I/O errors are still {@link AuraIOException}s with the errno where
 * the JDK's message names one; with {@code DIRECT} the alignment is the file store's block size
 * ({@link java.nio.file.FileStore#getBlockSize()}), which {@code FileChannel} requires; {@link #fd()}
 * and {@link #engine()} throw {@link UnsupportedOperationException}, as there is no descriptor the
 * engine's request methods could use and no engine.
 */
public final class AuraFile implements AutoCloseable {
    /** Linux transfers at most this many bytes in one read or write ({@code MAX_RW_COUNT}). */
    static final int MAX_TRANSFER = 0x7ffff000;
    private static final long CLOSED = 1L << 62;
    /**
     * The position of a transfer at the kernel's file position: {@code -1}, as {@code preadv2(2)}
     * and io_uring take it. Never accepted from callers of the public methods.
     */
    static final long FILE_POSITION = -1;
    private static final long CLOSE_RECANCEL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** Null in JDK mode. */
    private final Engine engine;
    /** Null in JDK mode. */
    private final IoEngine core;
    /** The FileChannel serving this file in JDK mode; null in io_uring mode. */
    private final JdkFile jdk;
    private final Path path;
    private final int fd;
    private final OpenMode mode;
    private final int directMemoryAlignment;
    private final int directOffsetAlignment;
    /** Cleared by {@link #setUninterruptible()}: an interrupt then neither cancels I/O nor closes the file. */
    private volatile boolean interruptible = true;
    /** Cleared for files whose reads cannot take the RWF_NOWAIT path (FIFOs, FUSE, /proc). */
    private volatile boolean fastPath;
    /** Whether the file is mapped at its third read rather than after page-cache hits it cannot show. */
    private final boolean mapsWithoutHits;
    /**
     * An overlayfs file: its mapping tells which pages are in memory, and reads are never copied
     * from it. A mapping made through an overlay descriptor maps the real file that descriptor
     * opened (the lower layer's, for a file not yet copied up) for good, while {@code pread}
     * through it reads the upper copy once another process has opened the file for writing: a
     * copy from the mapping would return the bytes from before the copy-up, which FileChannel's
     * read does not (kernel 6.18; overlayfs documents that mappings do not follow a copy-up).
     */
    private final boolean residencyOnlyMapping;
    /**
     * A regular file on tmpfs, read with {@code pread} on the caller: its pages are its storage,
     * so a read waits only for a page swapped out, as a read of the Java heap itself would; and
     * tmpfs takes no {@code RWF_NOWAIT} read (EOPNOTSUPP, kernel 6.18), so the fast path cannot
     * serve it and io_uring hands every ring read of it to an io-wq thread (0.12x FileChannel's
     * cached reads with one reader, measured).
     */
    private final boolean readsOnCaller;
    /**
     * Set once the file's type is known to be a FIFO, socket or character device
     * ({@link #fileType()}), or a positioned transfer says ESPIPE: a stream, whose reads may wait
     * forever and so must not count against the ring's in-flight limit other files need.
     */
    private volatile boolean stream;
    private static final int WRITE_UNDECIDED = -1;
    private static final int WRITE_RING = 0;
    /**
     * overlayfs: a container's root (Docker's overlay2). It takes no {@code RWF_NOWAIT} read (so no
     * fast path, and io_uring sends every read to an io-wq thread), but its files map: a read is a
     * {@code pread} on the caller whenever the mapping says its pages are in memory
     * ({@link #mapsWithoutHits}, {@link #residencyOnlyMapping}).
     */
    private static final String OVERLAY = "overlay";
    private static final String TMPFS = "tmpfs";
    private static final Set<String> PAGE_CACHE_FILE_SYSTEMS =
            Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "bcachefs", OVERLAY);
    private static final int WRITE_NOWAIT = 1;
    private static final int WRITE_INLINE = 2;
    /** How buffered writes go: {@link #writeNative}. Always the ring for O_DIRECT. */
    private volatile int writePath;
    /** Bit 62: closed; low bits: threads inside an operation. */
    private final AtomicLong state = new UserCount();
    /**
     * Whether the file is closed or closing; asked by a ring request once it is where a close's
     * cancel finds it ({@code RingPoller.execute}), so that a request made as an interrupt's close
     * ran, which that close does not wait for, cannot be left waiting for ever.
     */
    private final BooleanSupplier closing = () -> (state.get() & CLOSED) != 0;
    private final Object closeLock = new Object();
    private volatile Thread closer;
    private boolean fdClosed;
    /** Closes the descriptor of a file dropped without {@link #close()}; null in JDK mode (its FileChannel has one). */
    private final Cleaner.Cleanable cleanable;

    /** Set by {@link #closeWithoutWaiting()}: the last thread to leave an operation closes the descriptor. */
    private volatile boolean closeOnLastLeave;
    /** Transfers on the offload pool for a file on FUSE, NFS, ... ({@link SlowFile}); null for others. */
    private final SlowFile slow;
    /**
     * Whether the descriptor still has the {@code O_NONBLOCK} of the open made without waiting
     * ({@link Libc#openCachedNonBlocking}), which the caller did not ask for. A ring would fail a
     * read or write of it that must wait (a page-cache miss) with EAGAIN rather than wait: cleared
     * by {@link #unblock()} before the descriptor first goes to a ring or leaves this class.
     */
    private volatile boolean nonBlocking;
    /** The file system's type as mountinfo names it ({@code ext4}, {@code fuse.faultfs}), or null if unknown. */
    private final String fileSystemType;
    /**
     * Page-cache reads copied from a mapping of the file ({@link MappedReads}); null where they
     * cannot be (O_DIRECT, not readable, not a regular file, FUSE/NFS, JDK mode, turned off).
     */
    private final MappedReads mapped;

    /**
     * @param type    the file's type when known at open ({@link #fileType()}), else 0
     * @param fileSystem the file system of the file's mount, or null when unknown
     * @param nonBlocking whether the descriptor has an {@code O_NONBLOCK} the caller did not ask for
     */
    private AuraFile(Engine engine, Path path, int fd, OpenMode mode, int memAlign, int offsetAlign, int type,
                     SlowFileSystems.FileSystem fileSystem, boolean nonBlocking) {
        this.engine = engine;
        this.core = engine.core();
        this.jdk = null;
        this.path = path;
        this.fd = fd;
        this.mode = mode;
        this.directMemoryAlignment = memAlign;
        this.directOffsetAlignment = offsetAlign;
        boolean overlay = fileSystem != null && OVERLAY.equals(fileSystem.type());
        this.readsOnCaller = !mode.direct() && type == REGULAR_FILE && fileSystem != null
                && TMPFS.equals(fileSystem.type());
        // On overlayfs and tmpfs preadv2(RWF_NOWAIT) would fail with EOPNOTSUPP at every read: no
        // fast path.
        this.fastPath = !mode.direct() && !overlay && !readsOnCaller;
        // SYNC/DSYNC writes wait for the device in the write itself: never on the caller's carrier.
        this.writePath = mode.direct() || (mode.flags() & OpenFlags.O_DSYNC) != 0 ? WRITE_RING : WRITE_UNDECIDED;
        this.fileType = type;
        this.nonBlocking = nonBlocking;
        this.stream = isStream(type);
        this.fileSystemType = fileSystem == null ? null : fileSystem.type();
        String slowKey = fileSystem == null || isStream(type) ? null : fileSystem.offloadKey();
        this.slow = slowKey == null ? null : new SlowFile(slowKey, fd);
        this.mapped = !mode.direct() && mode.read() && (type == 0 || type == REGULAR_FILE) && slow == null
                && pageCacheFileSystem() ? MappedReads.forFile(fd) : null;
        this.mapsWithoutHits = mapped != null && (overlay || readsOnCaller);
        this.residencyOnlyMapping = mapped != null && overlay;
        this.cleanable = SharedCleaner.get().register(this, new CloseUnreachable(core, fd, state, slow, mapped, path,
                readOnlyOnPageCache()));
    }

    /**
     * The cleaning action of a file that became unreachable while open, as the JDK's channels
     * have: refers to what closing needs, never to the file. No thread can be inside an
     * operation then (it would hold the file); requests of the engine's own forms on the
     * descriptor are cancelled first, as {@link #close()} does, so none outlives the number.
     * A {@link SlowFile}'s system calls that outlived their callers (the engine's close ended
     * their wait) may still use the descriptor: the last of them closes it then, as after
     * {@link #close()}.
     */
    private record CloseUnreachable(IoEngine core, int fd, AtomicLong state, SlowFile slow, MappedReads mapped,
                                    Path path, boolean readOnlyOnPageCache) implements Runnable {
        @Override
        public void run() {
            if ((state.getAndUpdate(s -> s | CLOSED) & CLOSED) != 0) {
                return; // close() ran (or runs): it closes the descriptor
            }
            if (mapped != null) {
                mapped.unmapAll();
            }
            DescriptorClose.cancelRequests(core, fd);
            core.forgetFile(fd);
            if (slow == null) {
                DescriptorClose.closeLocal(fd, path, readOnlyOnPageCache);
            } else {
                // Never waited for here: the Cleaner's one thread serves every other file too.
                slow.closeWhenUnused(() -> DescriptorClose.closeSlowUnwaited(slow.mountKey(), fd, path.toString()));
            }
        }
    }

    private AuraFile(JdkFile jdk, Path path, OpenMode mode) {
        this.engine = null;
        this.core = null;
        this.jdk = jdk;
        this.path = path;
        this.fd = -1;
        this.mode = mode;
        this.directMemoryAlignment = jdk.directAlignment();
        this.directOffsetAlignment = jdk.directAlignment();
        this.fastPath = false;
        this.cleanable = null;
        this.slow = null;
        this.fileSystemType = null;
        this.mapped = null;
        this.mapsWithoutHits = false;
        this.residencyOnlyMapping = false;
        this.readsOnCaller = false;
    }

    /**
     * Opens a file on the {@linkplain AuraIO#defaultEngine() default engine}, or, where io_uring
     * cannot be used ({@link AuraIO#backend()} is {@link Backend#JDK}), on the JDK's
     * {@link java.nio.channels.FileChannel} (see "JDK mode" above).
     *
     * @param path    the file
     * @param options {@link java.nio.file.StandardOpenOption}s, {@link java.nio.file.LinkOption#NOFOLLOW_LINKS}
     *                and {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}, with
     *                {@link java.nio.channels.FileChannel#open}'s rules
     * @return the open file
     * @throws java.nio.file.NoSuchFileException if the file does not exist and is not created
     * @throws java.nio.file.FileAlreadyExistsException if {@code CREATE_NEW} is given and it exists
     * @throws java.nio.file.AccessDeniedException if permission is denied
     * @throws AuraIOException if io_uring cannot be used and {@code -Dauraio.backend=io_uring} forbids
     *         the fallback, or another errno
     * @throws IOException if another I/O error occurs
     * @throws IllegalArgumentException for an invalid combination, e.g. {@code READ + APPEND}
     * @throws UnsupportedOperationException for an option this method does not know
     * @throws java.nio.file.ProviderMismatchException if {@code path} is not a path of the default
     *         ({@code file:}) file system, e.g. of a zip file system
     */
    public static AuraFile open(Path path, OpenOption... options) throws IOException {
        if (AuraIO.backend() == Backend.JDK) {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(options, "options");
            NativePath.checkDefaultFileSystem(path);
            return openJdk(path, new HashSet<>(Arrays.asList(options)));
        }
        return open(AuraIO.defaultEngine(), path, options);
    }

    /** Opens a file in JDK mode: served by the JDK's FileChannel, created with {@code attrs}. */
    static AuraFile openJdk(Path path, Set<? extends OpenOption> options,
                            java.nio.file.attribute.FileAttribute<?>... attrs) throws IOException {
        OpenMode mode = OpenMode.of(options); // the same option checks and exceptions as the io_uring mode
        return new AuraFile(JdkFile.open(path, options, mode, attrs), path, mode);
    }

    /**
     * Opens a file on {@code engine}; never falls back to the JDK's file I/O.
     *
     * @param engine  the engine whose rings serve this file's requests
     * @param path    the file
     * @param options as for {@link #open(Path, OpenOption...)}
     * @return the open file
     * @throws IOException as for {@link #open(Path, OpenOption...)}; {@link AuraIOException}
     *         with {@link AuraIOException#isShutdown()} if the engine is closed
     * @throws java.nio.file.ProviderMismatchException if {@code path} is not a path of the default file system
     */
    public static AuraFile open(Engine engine, Path path, OpenOption... options) throws IOException {
        Objects.requireNonNull(options, "options");
        return open(engine, path, OpenMode.asGiven(options), OpenMode.creationMode());
    }

    /**
     * Opens a file on {@code engine}; never falls back to the JDK's file I/O.
     *
     * @param engine  the engine whose rings serve this file's requests
     * @param path    the file
     * @param options as for {@link #open(Path, OpenOption...)}
     * @return the open file
     * @throws IOException as for {@link #open(Path, OpenOption...)}
     * @throws java.nio.file.ProviderMismatchException if {@code path} is not a path of the default file system
     */
    public static AuraFile open(Engine engine, Path path, Set<? extends OpenOption> options) throws IOException {
        return open(engine, path, options, OpenMode.creationMode());
    }

    /** As {@link #open(Engine, Path, Set)}, creating a new file with {@code creationMode} (before the umask). */
    static AuraFile open(Engine engine, Path path, Collection<? extends OpenOption> options, int creationMode)
            throws IOException {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(path, "path");
        NativePath.checkDefaultFileSystem(path);
        OpenMode mode = OpenMode.of(options);
        OpenedDescriptor opened = OpenedDescriptor.open(engine.core(), path, mode, creationMode);
        return new AuraFile(engine, path, opened.fd(), mode, opened.directMemoryAlignment(),
                opened.directOffsetAlignment(), opened.type(), opened.fileSystem(), opened.nonBlocking());
    }

    // ---- the template every operation follows: begin, check, work, end -----------------------

    private void begin() throws IOException {
        enter();
        if (interruptible && Thread.currentThread().isInterrupted()) {
            end(); // as FileChannel: an interrupted thread closes the file instead of doing I/O
        }
    }

    /** Counts this thread in as a user of the descriptor, which {@link #close()} waits for. */
    private void enter() throws ClosedChannelException {
        StackHeadroom.ensure();
        long s;
        do {
            s = state.get();
            if ((s & CLOSED) != 0) {
                throw new ClosedChannelException();
            }
        } while (!state.compareAndSet(s, s + 1));
    }

    /** Counts this thread out, waking a closer waiting for the last user. */
    private void leave() {
        leaveAndClose();
    }

    /**
     * As {@link #leave()}. {@return the failure of closing the descriptor when the deferred close
     * ran here and failed, else null}
     */
    private IOException leaveAndClose() {
        if (state.decrementAndGet() == CLOSED) {
            Thread t = closer;
            if (t != null) {
                LockSupport.unpark(t);
            } else if (closeOnLastLeave) {
                return finishDeferredClose();
            }
        }
        return null;
    }

    /**
     * Leaves an operation. If the thread was interrupted during it (its request was then
     * cancelled in the kernel) the file is closed and {@link ClosedByInterruptException} thrown,
     * as {@link java.nio.channels.FileChannel} does; the interrupt status stays set.
     */
    private void end() throws IOException {
        leave();
        if (interruptible && Thread.currentThread().isInterrupted()) {
            ClosedByInterruptException e = new ClosedByInterruptException();
            // Without waiting for the file's other threads: one of them may be in a read that
            // never finishes (a hung FUSE file), and this thread must still return.
            IOException closeFailure = closeWithoutWaiting();
            if (closeFailure != null) {
                e.addSuppressed(closeFailure);
            }
            throw e;
        }
    }

    /** Turns a failed request into the exception its caller should see. */
    private IOException failure(String op, long result) {
        int errno = (int) -result;
        if (interruptible && Thread.currentThread().isInterrupted() && (errno == Errno.ECANCELED || errno == Errno.EINTR)) {
            return new ClosedByInterruptException(); // end() closes the file
        }
        if ((state.get() & CLOSED) != 0 && (errno == Errno.ECANCELED || errno == Errno.EINTR)) {
            return new AsynchronousCloseException();
        }
        if (errno == Errno.ESHUTDOWN || errno == Errno.EAGAIN || errno == Errno.ECANCELED) {
            return Failures.io(op, errno); // the library's own conditions: said with the operation
        }
        return Failures.transfer(errno);
    }

    private static void checkPosition(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
    }

    // ---- reads ----------------------------------------------------------------------------

    /**
     * Reads bytes at {@code position} into {@code dst}, from its position up to its limit, and
     * advances its position by the count; the file position does not exist for an
     * {@code AuraFile}. Follows {@link java.nio.channels.FileChannel#read(ByteBuffer, long)}.
     *
     * @param dst      the buffer; heap, direct or a segment-backed buffer
     * @param position the file position, {@code >= 0}
     * @return the number of bytes read, possibly 0, or -1 if {@code position} is at or past the
     *         end of the file and {@code dst} has room
     * @throws IllegalArgumentException if {@code position} is negative or {@code dst} is read-only
     * @throws IllegalStateException if {@code dst} is a direct buffer whose memory (arena) is closed,
     *         or is closed by another thread during the read
     * @throws WrongThreadException if {@code dst}'s memory belongs to a confined arena of another thread
     * @throws ClosedChannelException if this file is closed
     * @throws AsynchronousCloseException if another thread closes the file during the read
     * @throws ClosedByInterruptException if the thread is interrupted before or during the read: the
     *         request is cancelled in the kernel and the file closed; the interrupt status stays set
     * @throws NonReadableChannelException if the file was not opened for reading
     * @throws AuraIOException on an I/O error (with its errno), a misaligned O_DIRECT transfer,
     *         or a closed engine
     */
    public int read(ByteBuffer dst, long position) throws IOException {
        Objects.requireNonNull(dst, "dst");
        checkPosition(position);
        return readBuffer(dst, position);
    }

    /**
     * Reads at the kernel's file position ({@code read(2)}), which the read advances: for
     * {@link AuraFileChannel}'s relative reads of a file with no position of its own (a FIFO, a
     * device). {@return the count, or -1 at the end}
     */
    int readAtFilePosition(ByteBuffer dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        return readBuffer(dst, FILE_POSITION);
    }

    private int readBuffer(ByteBuffer dst, long position) throws IOException {
        begin();
        try {
            checkReadable();
            if (mode.direct()) {
                checkDirectPosition(position); // before the buffer, as the JDK checks them
            }
            if (dst.isReadOnly()) {
                throw new IllegalArgumentException("Read-only buffer");
            }
            int remaining = dst.remaining();
            long n = transfer(true, MemorySegment.ofBuffer(dst), position);
            if (n > 0) {
                dst.position(dst.position() + (int) n);
            }
            return n == 0 && remaining > 0 ? -1 : (int) n;
        } finally {
            end();
        }
    }

    /**
     * Reads bytes at {@code position} into {@code dst}, at most {@code dst.byteSize()} (and at
     * most 2^31 - 4096, Linux's limit for one transfer).
     *
     * @param dst      the destination; a native segment is read into directly, a heap segment
     *                 through a pooled buffer
     * @param position the file position, {@code >= 0}
     * @return the number of bytes read, or -1 at end of file when {@code dst} is not empty
     * @throws IllegalArgumentException if {@code position} is negative or {@code dst} is read-only
     * @throws IllegalStateException if {@code dst}'s arena is closed, or is closed by another thread
     *         during the read
     * @throws WrongThreadException if {@code dst} belongs to a confined arena of another thread
     * @throws ClosedChannelException if this file is closed
     * @throws AsynchronousCloseException if another thread closes the file during the read
     * @throws ClosedByInterruptException if the thread is interrupted before or during the read: the
     *         request is cancelled in the kernel and the file closed; the interrupt status stays set
     * @throws NonReadableChannelException if the file was not opened for reading
     * @throws AuraIOException on an I/O error, a misaligned O_DIRECT transfer, or a closed engine
     */
    public int read(MemorySegment dst, long position) throws IOException {
        Objects.requireNonNull(dst, "dst");
        checkPosition(position);
        begin();
        try {
            checkReadable();
            if (dst.isReadOnly()) {
                throw new IllegalArgumentException("Read-only segment");
            }
            requireAlive(dst); // an empty segment too: the contract says so (no FileChannel call takes one)
            long n = transfer(true, dst, position);
            return n == 0 && dst.byteSize() > 0 ? -1 : (int) n;
        } finally {
            end();
        }
    }

    /**
     * Reads at {@code position} until {@code dst} has no bytes remaining, looping over short
     * reads; {@code dst}'s position ends at its limit.
     *
     * @param dst      the buffer
     * @param position the file position, {@code >= 0}
     * @throws EOFException if the end of the file comes first; {@code dst}'s position then tells
     *         how much was read
     * @throws IOException as for {@link #read(ByteBuffer, long)}
     * @throws IllegalArgumentException as for {@link #read(ByteBuffer, long)}
     * @throws IllegalStateException as for {@link #read(ByteBuffer, long)}
     * @throws NonReadableChannelException if the file was not opened for reading
     */
    public void readFully(ByteBuffer dst, long position) throws IOException {
        checkPosition(position);
        long p = position;
        while (dst.hasRemaining()) {
            int n = read(dst, p);
            if (n < 0 || dst.hasRemaining() && endedShortOfABlock(p + n)) {
                throw new EOFException("end of file at position " + (p + Math.max(n, 0)) + " with "
                        + dst.remaining() + " bytes still to read");
            }
            p += n;
        }
    }

    /**
     * Reads at {@code position} until {@code dst} is full, looping over short reads.
     *
     * @param dst      the destination
     * @param position the file position, {@code >= 0}
     * @throws EOFException if the end of the file comes first
     * @throws IOException as for {@link #read(MemorySegment, long)}
     * @throws IllegalArgumentException as for {@link #read(MemorySegment, long)}
     * @throws IllegalStateException as for {@link #read(MemorySegment, long)}
     * @throws NonReadableChannelException if the file was not opened for reading
     */
    public void readFully(MemorySegment dst, long position) throws IOException {
        checkPosition(position);
        long done = 0;
        while (done < dst.byteSize()) {
            int n = read(dst.asSlice(done), position + done);
            done += Math.max(n, 0);
            if (n < 0 || done < dst.byteSize() && endedShortOfABlock(position + done)) {
                throw new EOFException("end of file at position " + (position + done) + " with "
                        + (dst.byteSize() - done) + " bytes still to read");
            }
        }
    }

    /**
     * Whether an O_DIRECT read that ended at {@code end}, short of what was asked, ended at the end
     * of the file: the kernel cuts such a read short of a block only there, and the next read, at a
     * misaligned position, would be refused instead of telling the end of the file.
     */
    private boolean endedShortOfABlock(long end) {
        return mode.direct() && end % directOffsetAlignment != 0;
    }

    // ---- writes ---------------------------------------------------------------------------

    /**
     * Writes the bytes of {@code src} from its position up to its limit at {@code position}, and
     * advances its position by the count. Follows
     * {@link java.nio.channels.FileChannel#write(ByteBuffer, long)}; on a file opened with
     * {@code APPEND} Linux appends whatever the position.
     *
     * @param src      the buffer
     * @param position the file position, {@code >= 0}
     * @return the number of bytes written
     * @throws IllegalArgumentException if {@code position} is negative
     * @throws IllegalStateException if {@code src} is a direct buffer whose memory (arena) is closed
     * @throws WrongThreadException if {@code src}'s memory belongs to a confined arena of another thread
     * @throws ClosedChannelException if this file is closed
     * @throws AsynchronousCloseException if another thread closes the file during the write
     * @throws ClosedByInterruptException if the thread is interrupted before or during the write: the
     *         request is cancelled in the kernel and the file closed; the interrupt status stays set
     * @throws NonWritableChannelException if the file was not opened for writing
     * @throws AuraIOException on an I/O error (ENOSPC, EIO...), a misaligned O_DIRECT transfer,
     *         or a closed engine
     */
    public int write(ByteBuffer src, long position) throws IOException {
        Objects.requireNonNull(src, "src");
        checkPosition(position);
        return writeBuffer(src, position);
    }

    /** Writes at the kernel's file position ({@code write(2)}), as {@link #readAtFilePosition}. {@return the count} */
    int writeAtFilePosition(ByteBuffer src) throws IOException {
        Objects.requireNonNull(src, "src");
        return writeBuffer(src, FILE_POSITION);
    }

    private int writeBuffer(ByteBuffer src, long position) throws IOException {
        begin();
        try {
            checkWritable();
            long n = transfer(false, MemorySegment.ofBuffer(src), position);
            src.position(src.position() + (int) n);
            return (int) n;
        } finally {
            end();
        }
    }

    /**
     * Writes the bytes of {@code src} (at most 2^31 - 4096) at {@code position}.
     *
     * @param src      the source; native segments are written directly, heap segments through
     *                 a pooled buffer
     * @param position the file position, {@code >= 0}
     * @return the number of bytes written
     * @throws IOException as for {@link #write(ByteBuffer, long)}
     * @throws IllegalArgumentException if {@code position} is negative
     * @throws IllegalStateException if {@code src}'s arena is closed
     * @throws WrongThreadException if {@code src} belongs to a confined arena of another thread
     * @throws NonWritableChannelException if the file was not opened for writing
     */
    public int write(MemorySegment src, long position) throws IOException {
        Objects.requireNonNull(src, "src");
        checkPosition(position);
        begin();
        try {
            checkWritable();
            requireAlive(src); // an empty segment too, as for read(MemorySegment, long)
            return (int) transfer(false, src, position);
        } finally {
            end();
        }
    }

    /**
     * Writes all remaining bytes of {@code src} at {@code position}, looping over short writes.
     *
     * @param src      the buffer; its position ends at its limit
     * @param position the file position, {@code >= 0}
     * @throws IOException as for {@link #write(ByteBuffer, long)}
     * @throws IllegalArgumentException as for {@link #write(ByteBuffer, long)}
     * @throws IllegalStateException as for {@link #write(ByteBuffer, long)}
     * @throws NonWritableChannelException if the file was not opened for writing
     */
    public void writeFully(ByteBuffer src, long position) throws IOException {
        checkPosition(position);
        long p = position;
        while (src.hasRemaining()) {
            p += write(src, p);
        }
    }

    /**
     * Writes all of {@code src} at {@code position}, looping over short writes.
     *
     * @param src      the source
     * @param position the file position, {@code >= 0}
     * @throws IOException as for {@link #write(MemorySegment, long)}
     * @throws IllegalArgumentException as for {@link #write(MemorySegment, long)}
     * @throws IllegalStateException as for {@link #write(MemorySegment, long)}
     * @throws NonWritableChannelException if the file was not opened for writing
     */
    public void writeFully(MemorySegment src, long position) throws IOException {
        checkPosition(position);
        long done = 0;
        while (done < src.byteSize()) {
            done += write(src.asSlice(done), position + done);
        }
    }

    // ---- vectored transfers, for AuraFileChannel's scattering reads and gathering writes -----

    /**
     * One {@code preadv}/{@code pwritev} of the non-empty buffers of {@code bufs[offset, end)} at
     * {@code position}, as one ring request, so that a gathering write in APPEND mode lands in one
     * piece and a short transfer is cut where the kernel cuts it, as the JDK's readv/writev.
     * Advances the buffers' positions by what was transferred, in order. In JDK mode it is the
     * JDK channel's own readv/writev.
     *
     * @return the byte count; 0 at end of file for a read (the caller maps it to -1)
     */
    long transferVectored(boolean read, ByteBuffer[] bufs, int offset, int end, long position) throws IOException {
        // JDK mode goes buffer by buffer through transfer(), whose events are those of the JDK's calls.
        RequestTrace trace = jdk == null ? FileEvents.beginTransfer(read) : null; // null unless a recording takes it
        if (trace == null) {
            return transferVectoredUntraced(read, bufs, offset, end, position);
        }
        long requested = 0;
        for (int i = offset; i < end; i++) {
            requested += bufs[i].remaining();
        }
        long r = -1;
        try {
            return r = transferVectoredUntraced(read, bufs, offset, end, position);
        } finally {
            FileEvents.commitTransfer(trace, path.toString(), r, requested, true, mode.direct());
        }
    }

    private long transferVectoredUntraced(boolean read, ByteBuffer[] bufs, int offset, int end, long position)
            throws IOException {
        if (position != FILE_POSITION) {
            checkPosition(position);
        }
        begin();
        try {
            if (read) {
                checkReadable();
            } else {
                checkWritable();
            }
            if (mode.direct()) {
                // As the JDK: the position and each buffer's length, even when nothing is to move.
                checkDirectPosition(position);
                for (int i = offset; i < end; i++) {
                    checkDirectLength(bufs[i].remaining());
                }
            }
            if (jdk != null) {
                return jdk.transferVectored(read, bufs, offset, end - offset, position);
            }
            if (slow != null) {
                return VectoredTransfer.throughOneBuffer(read, bufs, offset, end, (address, length) -> {
                    long r = submitTransfer(read ? Opcode.READ : Opcode.WRITE, position, address, length, null);
                    if (r < 0) {
                        throw failure(read ? "readv" : "writev", r);
                    }
                    return r;
                });
            }
            return VectoredTransfer.throughIovec(read, bufs, offset, end, core.pool(), mode.direct(),
                    (iov, count, total) -> transferIovec(read, iov, count, total, position));
        } finally {
            end();
        }
    }

    /**
     * One {@code preadv}/{@code pwritev} of {@code count} {@code struct iovec}s of {@code total}
     * bytes in all: on the caller where a scalar transfer would be ({@link #vectorOnCaller}), else a
     * ring request. {@return the bytes transferred}
     */
    private long transferIovec(boolean read, MemorySegment iov, int count, long total, long position)
            throws IOException {
        if (position > Long.MAX_VALUE - total && !core.isClosed()) {
            throw failure(read ? "readv" : "writev", -Errno.EINVAL); // as in transferUntraced
        }
        long r = vectorOnCaller(read, iov, count, total, position);
        if (r == NOT_ON_CALLER) {
            r = submit(read ? Opcode.READV : Opcode.WRITEV, position, iov.address(), count, 0);
        }
        if (r < 0) {
            throw failure(read ? "readv" : "writev", r);
        }
        return r;
    }

    /** {@link #vectorOnCaller}'s answer when the transfer must go to the ring. */
    private static final long NOT_ON_CALLER = Long.MIN_VALUE;

    /**
     * A vectored transfer made on the caller where a scalar one would be (the page cache, tmpfs,
     * inline writes: {@link #readNative}, {@link #writeNative}), rather than a ring request, which
     * a cached read waits a poller's round trip for and a buffered write on ext4 an io-wq thread
     * (0.03-0.07x FileChannel's gathering writes and scattering reads, measured). The iovec's
     * memory is the caller's own or the pool's (memory another thread could free was copied to
     * the pool), so nothing needs holding.
     *
     * @param iov   {@code count} {@code struct iovec}s of {@code total} bytes in all
     * @return the bytes transferred, a negated errno, or {@link #NOT_ON_CALLER}
     */
    private long vectorOnCaller(boolean read, MemorySegment iov, int count, long total, long position) {
        if (core.isClosed()) {
            return NOT_ON_CALLER; // the ring's answer: ESHUTDOWN
        }
        if (!read) {
            int mode = decideWritePath();
            if (mode == WRITE_RING) {
                return NOT_ON_CALLER;
            }
            long r = Libc.pwritev2Vector(fd, iov.address(), count, position, mode == WRITE_NOWAIT ? Libc.RWF_NOWAIT : 0);
            if (r >= 0) {
                servedOnCaller(r);
                return r;
            }
            int errno = (int) -r;
            if (mode == WRITE_NOWAIT && errno == Errno.EOPNOTSUPP) {
                writePath = WRITE_INLINE;
                return vectorOnCaller(false, iov, count, total, position);
            }
            return afterWriteRefused(errno) ? NOT_ON_CALLER : r;
        }
        if (readsOnCaller) {
            long r = Libc.preadv2Vector(fd, iov.address(), count, position, 0);
            if (r >= 0) {
                servedOnCaller(r);
            }
            return r;
        }
        if (!fastPath) {
            return NOT_ON_CALLER;
        }
        long r = Libc.preadv2Vector(fd, iov.address(), count, position, Libc.RWF_NOWAIT);
        if (r < 0) {
            return afterFastPathRefused((int) -r) ? NOT_ON_CALLER : r;
        }
        servedOnCaller(r);
        if (r > 0 && r < total && position != FILE_POSITION && ((position + r) & (PAGE - 1)) == 0) {
            // Stopped at a page not in the page cache, or at an end of the file that is a page
            // boundary (as readNative's, readRest): the rest into the rest of the buffers, from
            // the page cache while it serves, then from the ring. An error there leaves the bytes
            // read so far, for the caller's next read to report.
            long done = r;
            int first = 0;
            while (done < total) {
                first = VectoredTransfer.consume(iov, first, r);
                long at = iov.address() + 16L * first;
                r = Libc.preadv2Vector(fd, at, count - first, position + done, Libc.RWF_NOWAIT);
                if (r == -Errno.EAGAIN) {
                    long rest = submit(Opcode.READV, position + done, at, count - first, 0);
                    return rest > 0 ? done + rest : done;
                }
                if (r <= 0) {
                    break;
                }
                core.countFastPath(r);
                done += r;
            }
            return done;
        }
        return r;
    }

    // ---- the transfer itself ----------------------------------------------------------------

    /** One read or write of at most {@link #MAX_TRANSFER} bytes; the caller is inside begin/end. */
    private long transfer(boolean read, MemorySegment segment, long position) throws IOException {
        RequestTrace trace = FileEvents.beginTransfer(read); // null unless a recording takes the event
        if (trace == null) {
            return transferUntraced(read, segment, position);
        }
        long r = -1;
        try {
            return r = transferUntraced(read, segment, position);
        } finally {
            FileEvents.commitTransfer(trace, path.toString(), r, segment.byteSize(), jdk == null, mode.direct());
        }
    }

    /** Throws IllegalStateException, FileChannel's "Already closed", for memory of a closed arena. */
    private static void requireAlive(MemorySegment segment) {
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("Already closed");
        }
    }

    private long transferUntraced(boolean read, MemorySegment segment, long position) throws IOException {
        long length = Math.min(segment.byteSize(), MAX_TRANSFER);
        if (mode.direct()) {
            checkDirectAlignment(segment, length, position); // as the JDK: an empty transfer too
        }
        if (length == 0) {
            return 0; // as FileChannel: an empty buffer is not touched, one of a closed arena included
        }
        // A segment (or direct buffer) of a closed arena still reports its address, and the kernel
        // would write into freed memory: refuse it as FileChannel does.
        requireAlive(segment);
        CallerMemory.checkUsable(segment); // a confined arena's memory, from another thread: as FileChannel
        if (jdk != null) {
            return jdk.transfer(read, segment.asSlice(0, length), position);
        }
        if (position > Long.MAX_VALUE - length && !core.isClosed()) {
            // A range past the largest offset: the kernel's EINVAL, said here, for preadv2's or
            // pwrite's EINVAL on the caller would take this file off the caller's paths for good.
            // (A closed engine is said first, as for every other request.)
            throw failure(read ? "read" : "write", -Errno.EINVAL);
        }
        // Memory another thread may free meanwhile (CallerMemory): held through synchronous
        // calls, copied through pool memory for ring requests.
        boolean freeableByOthers = CallerMemory.freeableByOthers(segment);
        boolean canHold = !freeableByOthers || Libc.canHoldDuringCall();
        // A read whose pages are in memory: pread on the caller (tmpfs: always; overlayfs: asked).
        boolean inMemory = read && readsOnCaller && canHold && !core.isClosed();
        if (read && mapped != null && (fastPath || mapsWithoutHits) && !core.isClosed()) {
            // From the page cache without a system call, into the caller's memory itself (heap
            // memory included: no bounce). Not served: preadv2 below, into the same memory.
            if (mapsWithoutHits) {
                mapped.mapWithoutHits(position, length);
            }
            if (!residencyOnlyMapping) {
                long r = mapped.read(segment, length, position);
                if (r > 0) {
                    servedOnCaller(r);
                    return r;
                }
            } else if (position != FILE_POSITION && canHold) {
                // overlayfs: a read the mapping says is in memory is a pread here, which cannot
                // wait (the mapping's residency is the lower file's until a copy-up, the upper's
                // pages then being the ones the copy-up just wrote), where an io-wq thread costs
                // ~40 µs. Otherwise a read at or over the end (a small file read whole: its one
                // short read, then the read that finds the end) is cut where the file ends now,
                // which is where pread would stop.
                inMemory = mapped.knownInMemory(position, length);
                if (!inMemory) {
                    long size = Libc.regularFileSize(fd);
                    if (size >= 0 && position >= size) {
                        servedOnCaller(0);
                        return 0;
                    }
                    // Not mapped (a file read once, whole), or past the mapped size: its pages'
                    // residency asked through a mapping of just them.
                    long within = Math.min(length, size - position);
                    inMemory = size >= 0 && (mapped.knownInMemory(position, within)
                            || MappedReads.inMemory(fd, position, within));
                }
            }
        }
        BufferPool pool = core.pool();
        MemorySegment bounce = null;
        MemorySegment target = segment;
        if (!segment.isNative()) {
            bounce = pool.acquire(length);
            if (bounce.equals(MemorySegment.NULL)) {
                throw Failures.io(read ? "read" : "write", Errno.ENOMEM);
            }
            if (!read) {
                MemorySegment.copy(segment, 0, bounce, 0, length);
            }
            target = bounce;
        }
        MemorySegment hold = bounce == null && freeableByOthers ? segment : null;
        try {
            long r = !read ? writeNative(target.address(), length, position, hold)
                    : inMemory ? pread(target.address(), length, position, 0, hold)
                    : readNative(target.address(), length, position, hold);
            if (inMemory && r >= 0) {
                servedOnCaller(r);
            }
            if (r < 0) {
                throw failure(read ? "read" : "write", r);
            }
            if (read && bounce != null && r > 0) {
                MemorySegment.copy(bounce, 0, segment, 0, r);
            }
            return r;
        } finally {
            if (bounce != null) {
                pool.release(bounce);
            }
        }
    }

    /**
     * {@code preadv2} on the calling thread; {@code hold}, when not null, is the caller's memory
     * that {@code address} lies in, kept alive for the call.
     */
    private long pread(long address, long length, long position, int flags, MemorySegment hold) {
        return hold == null ? Libc.preadv2(fd, address, length, position, flags)
                : Libc.preadv2Holding(fd, hold, address, length, position, flags);
    }

    private long pwrite(long address, long length, long position, int flags, MemorySegment hold) {
        if (flags == 0 && position != FILE_POSITION) {
            // Plain pwrite: the inline writes of ext4 files, cheaper by the iovec pwritev2 takes.
            return hold == null ? Libc.pwrite(fd, address, length, position)
                    : Libc.pwriteHolding(fd, hold, address, length, position);
        }
        return hold == null ? Libc.pwritev2(fd, address, length, position, flags)
                : Libc.pwritev2Holding(fd, hold, address, length, position, flags);
    }

    /**
     * A ring read or write of {@code length} bytes at {@code address}. With {@code hold} (memory
     * another thread may free while the request is in the kernel, which public API cannot
     * prevent) the kernel gets a pool buffer instead, and Java copies between it and the caller's
     * memory: that copy throws IllegalStateException if the memory was freed meanwhile, where
     * the kernel would have written into whatever lives there now.
     */
    private long submitTransfer(int opcode, long position, long address, long length, MemorySegment hold) {
        if (slow != null) {
            if (core.isClosed()) {
                return -Errno.ESHUTDOWN; // as every ring request after Engine.close()
            }
            // hold (memory another thread may free) is checked alive by the copy; other memory
            // is pool memory or memory that stays alive while this thread is in the call.
            MemorySegment memory = hold != null ? hold.asSlice(address - hold.address(), length)
                    : MemorySegment.ofAddress(address).reinterpret(length);
            return slow.transfer(core, opcode == Opcode.READ, memory, length, position, interruptible,
                    closing);
        }
        if (hold == null) {
            return submit(opcode, position, address, (int) length, 0);
        }
        BufferPool pool = core.pool();
        MemorySegment bounce = pool.acquire(length);
        if (bounce.equals(MemorySegment.NULL)) {
            return -Errno.ENOMEM;
        }
        try {
            long offset = address - hold.address();
            boolean read = opcode == Opcode.READ;
            // The caller's memory may fault (a MappedByteBuffer of a file another process cut
            // short): EFAULT, as the kernel says of such memory, never the copy's InternalError.
            if (!read && !MappedReads.copyUnlessFaulted(hold, offset, bounce, 0, length)) {
                return -Errno.EFAULT;
            }
            long r = submit(opcode, position, bounce.address(), (int) length, 0);
            if (read && r > 0 && !MappedReads.copyUnlessFaulted(bounce, 0, hold, offset, r)) {
                return -Errno.EFAULT;
            }
            return r;
        } finally {
            pool.release(bounce);
        }
    }

    private long readNative(long address, long length, long position, MemorySegment hold) {
        if (fastPath && (hold == null || Libc.canHoldDuringCall())) {
            // The fast path never reaches a ring, so it checks the engine itself: after
            // Engine.close() every request fails with ESHUTDOWN, page-cache hits included.
            if (core.isClosed()) {
                return -Errno.ESHUTDOWN;
            }
            long r = pread(address, length, position, Libc.RWF_NOWAIT, hold);
            if (r >= 0) {
                if (mapped != null && r > 0 && position != FILE_POSITION) {
                    mapped.afterPageCacheHit(position, r);
                }
                servedOnCaller(r);
                if (r > 0 && r < length && position != FILE_POSITION && ((position + r) & (PAGE - 1)) == 0) {
                    // RWF_NOWAIT stops at the first page not in the page cache, where a blocking
                    // read (and FileChannel's) goes on to the end of the buffer or of the file.
                    // That stop is at a page boundary (folios are whole pages): a short read that
                    // ends inside a page ended at the end of the file, and asking again for the
                    // rest would only be told 0 (a third system call per small file read whole).
                    // Not at the file position: a FIFO's or device's short read is the answer.
                    return r + readRest(address + r, length - r, position + r, hold);
                }
                return r;
            }
            if (!afterFastPathRefused((int) -r)) {
                return r;
            }
        }
        return submitTransfer(Opcode.READ, position, address, length, hold);
    }

    /**
     * {@return whether a read the caller's {@code preadv2(RWF_NOWAIT)} failed with {@code errno}
     * goes to the ring instead} EAGAIN (not in the page cache) does; EOPNOTSUPP, ESPIPE and EINVAL
     * (a file that can never take the fast path: FIFOs, FUSE, /proc) do, and this file stops
     * trying. Any other errno is the read's answer.
     */
    private boolean afterFastPathRefused(int errno) {
        if (errno == Errno.EOPNOTSUPP || errno == Errno.ESPIPE || errno == Errno.EINVAL) {
            stream |= errno == Errno.ESPIPE;
            fastPath = false;
            return true;
        }
        return errno == Errno.EAGAIN;
    }

    /**
     * After a transfer of {@code bytes} made on the calling thread without a ring or a park (the
     * page cache, read or written, or the file's mapping): counts it, and lets another virtual
     * thread have the carrier once this one's time budget is spent.
     */
    private void servedOnCaller(long bytes) {
        core.countFastPath(bytes);
        CarrierSharing.afterOperationWithoutPark();
    }

    /**
     * Writes through the page cache on the calling thread where the kernel cannot do it
     * asynchronously. A buffered write to a file whose filesystem lacks non-blocking buffered
     * writes ({@code pwritev2(RWF_NOWAIT)} gives EOPNOTSUPP, as ext4 does) is handed by io_uring to
     * its io-wq worker threads, which run the writes of one file one at a time: measured here at
     * 0.06x FileChannel's rate for one writer and 0.5x for 64. Such a write only copies into the
     * page cache (the device is not waited for, except under dirty-page throttling), so it is
     * done as FileChannel does it, with a plain {@code pwrite} on the caller. Where the kernel
     * supports RWF_NOWAIT the write is tried that way first and goes to the ring only on EAGAIN.
     * Files opened with {@code SYNC} or {@code DSYNC} ({@code O_SYNC} includes {@code O_DSYNC})
     * always write through the ring: each of their writes waits for the device to flush.
     *
     * <p>Checked again on kernel 6.18 (issue 11 item 4): ext4 still refuses RWF_NOWAIT buffered
     * writes (EOPNOTSUPP, for a new file, an overwrite of a cached page and an extending write
     * alike). A buffered write can block where it cannot be told apart beforehand: dirty-page
     * throttling ({@code balance_dirty_pages}, once dirty pages pass {@code vm.dirty_ratio},
     * 20% here), waiting for a page under writeback, a jbd2 journal handle, memory reclaim.
     * Measured with 4 writers of 1 MiB buffered writes to a 4 GiB file on 2 carriers: writes of
     * 0.1-0.3 s at the tail (p99.9 37-104 ms) for FileChannel and AuraFile alike, and a 1 ms
     * ticker virtual thread ran 0 times in 5 s with either, also over a 512 MiB range that never
     * reaches the throttle (the writers are CPU-bound copying at 10 GB/s). So this path keeps
     * FileChannel's behaviour, carrier held during throttling included; the ring's alternative
     * (io-wq, 0.06x) would cost every write for the rare one that blocks.
     */
    private long writeNative(long address, long length, long position, MemorySegment hold) {
        int mode = decideWritePath();
        if (mode == WRITE_RING || (hold != null && !Libc.canHoldDuringCall())) {
            return submitTransfer(Opcode.WRITE, position, address, length, hold);
        }
        if (core.isClosed()) {
            return -Errno.ESHUTDOWN; // as every other request after Engine.close()
        }
        long r = pwrite(address, length, position, mode == WRITE_NOWAIT ? Libc.RWF_NOWAIT : 0, hold);
        if (r >= 0) {
            servedOnCaller(r);
            return r;
        }
        int errno = (int) -r;
        if (mode == WRITE_NOWAIT && errno == Errno.EOPNOTSUPP) {
            writePath = WRITE_INLINE; // no non-blocking buffered writes here: write as FileChannel does
            return writeNative(address, length, position, hold);
        }
        return afterWriteRefused(errno) ? submitTransfer(Opcode.WRITE, position, address, length, hold) : r;
    }

    /** {@return how this file's buffered writes go ({@link #writePath}), decided at its first write} */
    private int decideWritePath() {
        int mode = writePath;
        if (mode == WRITE_UNDECIDED) {
            // A stream (a FIFO opened by name refuses RWF_NOWAIT) would be written inline, where
            // a write waiting for its reader holds the carrier and no close can cancel it.
            writePath = mode = !stream && pageCacheFileSystem() ? WRITE_NOWAIT : WRITE_RING;
        }
        return mode;
    }

    /**
     * {@return whether a write the caller's {@code pwrite} failed with {@code errno} goes to the
     * ring instead} EAGAIN (it would block) does; ESPIPE and EINVAL (a FIFO, a device) do, and so
     * do this file's later writes: the ring copes with what pwrite cannot. Any other errno is the
     * write's answer.
     */
    private boolean afterWriteRefused(int errno) {
        if (errno == Errno.ESPIPE || errno == Errno.EINVAL) {
            stream |= errno == Errno.ESPIPE;
            writePath = WRITE_RING;
            return true;
        }
        return errno == Errno.EAGAIN;
    }

    /**
     * {@return whether this file lives on a local filesystem whose buffered writes only copy into
     * the page cache} FUSE, NFS and other network or user-space filesystems may wait for a server
     * or a daemon in a write, which must not hold a carrier: their writes stay on the ring.
     */
    private boolean pageCacheFileSystem() {
        // From the mount ID read at open: no path lookup, which an unlinked file (DELETE_ON_CLOSE)
        // would fail; an unknown type takes the ring, which is safe.
        return isPageCacheFileSystem(fileSystemType);
    }

    /** {@return whether mountinfo's file system type {@code type} (null: unknown) is a local page-cache one} */
    static boolean isPageCacheFileSystem(String type) {
        return type != null && PAGE_CACHE_FILE_SYSTEMS.contains(type);
    }

    /**
     * {@return the bytes read of the rest of a short fast-path read: 0 at the end of the file, and
     * on an error, which the caller's next read reports}
     */
    private long readRest(long address, long length, long position, MemorySegment hold) {
        long done = 0;
        while (done < length) {
            long r = pread(address + done, length - done, position + done, Libc.RWF_NOWAIT, hold);
            if (r == -Errno.EAGAIN) {
                long rest = submitTransfer(Opcode.READ, position + done, address + done, length - done, hold);
                return rest > 0 ? done + rest : done;
            }
            if (r <= 0) {
                break;
            }
            core.countFastPath(r);
            done += r;
        }
        return done;
    }

    private long submit(int opcode, long position, long address, int length, int opFlags) {
        if (nonBlocking) {
            unblock();
        }
        return core.execute(opcode, 0, fd, position, address, length, opFlags, 0, interruptible, stream,
                closing);
    }

    private void checkDirectAlignment(MemorySegment segment, long length, long position) throws AuraIOException {
        checkDirectPosition(position);
        checkDirectLength(length);
        if (segment.isNative() && segment.address() % directMemoryAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the buffer address (0x" + Long.toHexString(segment.address())
                    + ") to be a multiple of " + directMemoryAlignment, Errno.EINVAL);
        }
    }

    /** {@return whether this file's engine is closed (its requests end with ESHUTDOWN); false in JDK mode} */
    boolean engineClosed() {
        return core != null && core.isClosed();
    }

    /** {@return the alignment O_DIRECT transfers need of file positions and lengths} Meaningful with {@code DIRECT} only. */
    int directOffsetAlignment() {
        return directOffsetAlignment;
    }

    /** The file position of an O_DIRECT transfer; at {@link #FILE_POSITION} the kernel checks it. */
    void checkDirectPosition(long position) throws AuraIOException {
        if (position != FILE_POSITION && position % directOffsetAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the file position (" + position
                    + ") to be a multiple of " + directOffsetAlignment, Errno.EINVAL);
        }
    }

    /**
     * The checks of an O_DIRECT write of {@code length} bytes from memory at {@code addressOffset}
     * in an aligned page, made before the write: for a transfer the JDK makes in one write that the
     * library makes in several.
     */
    void checkDirectWrite(long addressOffset, long length) throws AuraIOException {
        checkDirectLength(length);
        if (addressOffset % directMemoryAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the buffer address (a page + " + addressOffset
                    + ") to be a multiple of " + directMemoryAlignment, Errno.EINVAL);
        }
    }

    /** The check of an O_DIRECT transfer's length (a scattering read's buffers each, as the JDK). */
    void checkDirectLength(long length) throws AuraIOException {
        if (length % directOffsetAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the transfer length (" + length
                    + " bytes) to be a multiple of " + directOffsetAlignment, Errno.EINVAL);
        }
    }

    private void checkReadable() {
        if (!mode.read()) {
            throw new NonReadableChannelException();
        }
    }

    private void checkWritable() {
        if (!mode.write()) {
            throw new NonWritableChannelException();
        }
    }

    // ---- metadata ---------------------------------------------------------------------------

    /**
     * Flushes the file's data to its device: {@code fsync} through the ring, or {@code fdatasync}
     * when {@code metaData} is false. For a file of a slow file system (FUSE, NFS, ...) the call
     * is made on the offload pool, which its caller leaves on interrupt or close even while the
     * daemon or server holds it (see "Slow and remote file systems" above).
     *
     * @param metaData whether file metadata must be written too
     * @throws ClosedChannelException if this file is closed
     * @throws AsynchronousCloseException if another thread closes the file meanwhile
     * @throws ClosedByInterruptException if the thread is interrupted: the file is closed
     * @throws AuraIOException on an I/O error or a closed engine
     */
    public void force(boolean metaData) throws IOException {
        begin();
        RequestTrace trace = FileEvents.beginForce(); // null unless a recording takes the event
        try {
            if (jdk != null) {
                jdk.force(metaData);
                return;
            }
            long r = slow != null ? slowCall(d -> Libc.fsync(d, metaData))
                    : submit(Opcode.FSYNC, 0, 0, 0, metaData ? 0 : Opcode.FSYNC_DATASYNC);
            if (r < 0) {
                throw failure(metaData ? "fsync" : "fdatasync", r);
            }
        } finally {
            if (trace != null) {
                FileEvents.commitForce(trace, path.toString(), metaData);
            }
            end();
        }
    }

    /**
     * {@return the file's current size in bytes} As {@code FileChannel.size()}: a block device's is
     * the device's size (the inode's is 0), asked without I/O; on a local file system, {@code fstat}
     * on the caller (an open file's attributes are in memory); for a file of a slow file system,
     * {@code fstat} on the offload pool, as {@link #force}; otherwise {@code statx} through the ring.
     *
     * @throws ClosedChannelException if this file is closed
     * @throws AsynchronousCloseException if another thread closes the file meanwhile
     * @throws ClosedByInterruptException if the thread is interrupted: the file is closed
     * @throws AuraIOException on an I/O error or a closed engine
     */
    public long size() throws IOException {
        begin();
        try {
            if (jdk != null) {
                return jdk.size();
            }
            if (fileType() == Statx.S_IFBLK) {
                return deviceSize();
            }
            if (slow != null) {
                long r = slowCall(Libc::fstatSize);
                if (r < 0) {
                    throw failure("fstat", r);
                }
                return r;
            }
            if (pageCacheFileSystem() && !core.isClosed()) {
                // An open file's attributes are in memory on a local file system: fstat cannot
                // wait for a device, and is FileChannel's own size() (~0.3 µs, where a ring's
                // statx goes to an io-wq thread: 11,000 against 3.5 million calls a second).
                long r = Libc.fstatSize(fd);
                if (r < 0) {
                    throw failure("fstat", r);
                }
                return r;
            }
            try (Arena arena = Arena.ofConfined()) {
                // Through submit, so an interrupt or a close also ends a wait for admission.
                MemorySegment statx = arena.allocate(Statx.BYTES, 8);
                long r = submit(Opcode.STATX, statx.address(), arena.allocateFrom("").address(), Statx.STATX_SIZE,
                        Statx.AT_EMPTY_PATH);
                if (r < 0) {
                    throw failure("statx", r);
                }
                return Statx.size(statx);
            }
        } finally {
            end();
        }
    }

    /**
     * Truncates the file to {@code newSize} with {@code ftruncate} on this file's own descriptor,
     * for {@link AuraFileChannel#truncate}: off the carrier (a shrink frees pages and blocks, as a
     * last close does), on the offload pool; for a file of a slow file system through
     * {@link SlowFile#call}, which its caller leaves on interrupt or close as it leaves a read.
     * Not through a JDK channel reopened on {@code /proc/self/fd}: that reopen checks the file's
     * permissions again, and a file created read-only or {@code chmod}ed since could then not be
     * truncated through a descriptor open for writing (by a user other than root), where
     * {@code FileChannel} can. {@return false, having done nothing, in JDK mode}
     *
     * @throws AuraIOException with the errno
     */
    boolean truncateOwnDescriptor(long newSize) throws IOException {
        if (jdk != null) {
            return false;
        }
        begin();
        try {
            long r = slow != null ? slowCall(d -> Libc.ftruncate(d, newSize))
                    : BlockingOffload.shared().call(path, () -> Libc.ftruncate(fd, newSize));
            if (r < 0) {
                throw failure("ftruncate", r);
            }
            return true;
        } finally {
            end();
        }
    }

    /** A system call of a {@link SlowFile} on the offload pool; the caller is inside begin/end. */
    private long slowCall(java.util.function.IntToLongFunction syscall) {
        // Registered before the look at isClosed(): an Engine.close() after it wakes this caller,
        // which then sees the engine closed and leaves, as ring requests' callers do (a force the
        // daemon of a hung mount held kept its caller parked through the close).
        Runnable waker = slow::wakeAll;
        core.addCloseWaker(waker);
        try {
            if (core.isClosed()) {
                return -Errno.ESHUTDOWN; // as every ring request after Engine.close()
            }
            long r = slow.call(syscall, interruptible, () -> closing.getAsBoolean() || core.isClosed());
            return r == -Errno.ECANCELED && core.isClosed() && (state.get() & CLOSED) == 0 ? -Errno.ESHUTDOWN : r;
        } finally {
            core.removeCloseWaker(waker);
        }
    }

    /**
     * Sets the kernel's file position ({@code lseek(2)} with {@code SEEK_SET}), as
     * {@code FileChannel.position(long)} does: for a regular file this checks the position
     * against the file system's largest file (ext4: 16 TiB) and throws "Invalid argument" beyond,
     * as the JDK does; on a device it gives the position the device keeps (0 for
     * {@code /dev/zero}); on a FIFO it throws "Illegal seek".
     *
     * @return the new position
     * @throws AuraIOException with the errno
     */
    long seek(long newPosition) throws IOException {
        begin();
        try {
            if (jdk != null) {
                try {
                    return jdk.channel().position(newPosition).position();
                } catch (IOException e) {
                    throw JdkFile.translate(e);
                }
            }
            return lseekOrThrow(newPosition, Libc.SEEK_SET);
        } finally {
            end();
        }
    }

    /**
     * {@return the kernel's file position ({@code lseek(fd, 0, SEEK_CUR)}), which reads and writes
     * at {@link #FILE_POSITION} advance}
     *
     * @throws AuraIOException "Illegal seek" for a FIFO, as {@code FileChannel.position()}
     */
    long filePosition() throws IOException {
        begin();
        try {
            if (jdk != null) {
                try {
                    return jdk.channel().position();
                } catch (IOException e) {
                    throw JdkFile.translate(e);
                }
            }
            return lseekOrThrow(0, Libc.SEEK_CUR);
        } finally {
            end();
        }
    }

    /**
     * {@return the size of the block device this file is, from {@code lseek(SEEK_END)}} The
     * inode's size is 0 for a device node, where the JDK's {@code FileChannel.size()} asks the
     * device ({@code BLKGETSIZE64}). The descriptor's offset is put back; a block device's end is
     * known to the kernel without I/O.
     */
    private long deviceSize() throws IOException {
        begin();
        try {
            if (jdk != null) {
                return jdk.size();
            }
            long here = lseekOrThrow(0, Libc.SEEK_CUR);
            long end = lseekOrThrow(0, Libc.SEEK_END);
            lseekOrThrow(here, Libc.SEEK_SET);
            return end;
        } finally {
            end();
        }
    }

    private long lseekOrThrow(long offset, int whence) throws AuraIOException {
        long r = Libc.lseek(fd, offset, whence);
        if (r < 0) {
            throw new AuraIOException(Errno.message((int) -r), (int) -r); // the JDK's message: the errno's alone
        }
        return r;
    }

    /**
     * {@return the file's type: {@link Statx#S_IFIFO}, {@link Statx#S_IFCHR}, ... or a regular file's
     * {@code 0x8000}} In JDK mode from the path's {@code unix:mode} attribute; a regular file where
     * that cannot be read (the name is gone, as with {@code DELETE_ON_CLOSE}).
     */
    int fileType() throws IOException {
        int type = fileType;
        if (type == 0) {
            type = readFileType();
            stream |= isStream(type);
            fileType = type;
        }
        return type;
    }

    /**
     * Whether a file of {@code type} is a stream whose reads may wait forever: a FIFO, a socket, a
     * character device (a terminal). Known from the type, its transfers need not wait for the
     * ESPIPE a positioned one gets: those at {@link #FILE_POSITION} (a channel's) never get it.
     */
    private static boolean isStream(int type) {
        return type == Statx.S_IFIFO || type == Statx.S_IFSOCK || type == Statx.S_IFCHR;
    }

    /** The file's type, cached by {@link #fileType()}: it cannot change while the file is open. 0 until read. */
    private volatile int fileType;

    private int readFileType() throws IOException {
        if (jdk != null) {
            try {
                return (Integer) Files.getAttribute(path, "unix:mode") & 0xF000;
            } catch (IOException | RuntimeException e) {
                return REGULAR_FILE;
            }
        }
        return withDescriptor(fd -> {
            int type = Libc.fileType(fd);
            return type < 0 ? REGULAR_FILE : type;
        });
    }

    /** {@code S_IFREG}. */
    static final int REGULAR_FILE = 0x8000;
    /** The smallest page size: a page-cache read that stops at a missing page stops at a multiple of it. */
    static final long PAGE = 4096;

    /**
     * {@return whether this file and {@code other} are one file: same device and inode, from
     * cached attributes} For a transfer within one file, which {@code copy_file_range} refuses.
     * False where either is served by the JDK or has no attributes to compare.
     */
    boolean isSameFileAs(AuraFile other) throws IOException {
        if (jdk != null || other.jdk != null) {
            return false;
        }
        FileStat.Key mine = key();
        return mine != null && mine.equals(other.key());
    }

    private FileStat.Key key() throws IOException {
        return withDescriptor(fd -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment statx = arena.allocate(Statx.BYTES, 8);
                if (Libc.statxCached(fd, Statx.STATX_BASIC_STATS, statx) != 0) {
                    return null;
                }
                return new FileStat.Key(Statx.deviceNumber(statx), Statx.inode(statx));
            }
        });
    }

    /** Work on the descriptor number outside the ring, for {@link #withDescriptor}. */
    @FunctionalInterface
    interface DescriptorWork<T> {
        T run(int fd) throws IOException;
    }

    /**
     * Runs {@code work} on the descriptor while it cannot be closed: {@link #close()} waits for it
     * as for a read or write, so the number cannot name another file meanwhile. No interrupt
     * handling: the work is not I/O the ring could cancel.
     *
     * @throws ClosedChannelException if this file is closed
     */
    <T> T withDescriptor(DescriptorWork<T> work) throws IOException {
        enter();
        try {
            if (nonBlocking) {
                unblock();
            }
            return work.run(fd);
        } finally {
            leave();
        }
    }

    /**
     * Makes this file ignore interrupts, as the JDK's streams from {@code Files.newInputStream} /
     * {@code newOutputStream} do with their channel: an interrupted thread's reads and writes run
     * to completion, and the file stays open. (In JDK mode the JDK's channel handles interrupts
     * itself; this has no effect there.)
     */
    void setUninterruptible() {
        interruptible = false;
    }

    /** {@return the access mode and flags this file was opened with} */
    OpenMode mode() {
        return mode;
    }

    /**
     * {@return the file descriptor, for the engine's own request methods; valid until close}
     *
     * @throws UnsupportedOperationException in JDK mode ({@link #backend()} is {@link Backend#JDK}):
     *         the file has no descriptor the engine could use
     */
    public int fd() {
        if (jdk != null) {
            throw new UnsupportedOperationException("fd(): " + this + " is served by the JDK's FileChannel"
                    + " (backend JDK), not by an io_uring engine");
        }
        if (nonBlocking) {
            // The engine's own requests on it must wait as this file's do. Inside an operation,
            // so that a close cannot give the number to another file meanwhile.
            try {
                withDescriptor(d -> null);
            } catch (IOException closed) {
                // Closed: the number names nothing of this file's any more.
            }
        }
        return fd;
    }

    /**
     * Clears the {@code O_NONBLOCK} of the open made without waiting. Threads racing here each
     * make the same {@code fcntl}; the flag falls only after one succeeded. A failure (none is
     * expected on an open descriptor) leaves it set: a read that must wait then fails with EAGAIN
     * rather than block a carrier.
     */
    private void unblock() {
        if (Libc.setStatusFlags(fd, mode.flags()) == 0) {
            nonBlocking = false;
        }
    }

    /** {@return the path this file was opened with} */
    public Path path() {
        return path;
    }

    /**
     * {@return the engine serving this file}
     *
     * @throws UnsupportedOperationException in JDK mode ({@link #backend()} is {@link Backend#JDK}):
     *         no engine serves the file
     */
    public Engine engine() {
        if (jdk != null) {
            throw new UnsupportedOperationException("engine(): " + this + " is served by the JDK's FileChannel"
                    + " (backend JDK), not by an io_uring engine");
        }
        return engine;
    }

    /**
     * {@return what serves this file: {@link Backend#IO_URING} for a file opened on an engine,
     * {@link Backend#JDK} for one opened in JDK mode}
     */
    public Backend backend() {
        return jdk != null ? Backend.JDK : Backend.IO_URING;
    }

    /** The FileChannel serving this file in JDK mode, for what AuraFile does not do itself; null in io_uring mode. */
    java.nio.channels.FileChannel jdkChannel() {
        return jdk == null ? null : jdk.channel();
    }

    /** {@return whether this file is open} */
    public boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    /**
     * Closes the file: later calls throw {@link ClosedChannelException}; this file's requests
     * still in the kernel are cancelled (their threads get {@link AsynchronousCloseException});
     * returns once no thread uses the file and its descriptor is closed. A descriptor registered
     * with {@link Engine#registerFiles} is removed from the registered table first (its slots
     * emptied, as {@link Engine#updateFile updateFile(index, -1)} does), so the kernel lets go of
     * the file and a later file given the same number is not mistaken for it. Idempotent; concurrent
     * callers all return once the descriptor is closed.
     *
     * @throws IOException if closing the descriptor fails
     */
    @Override
    public void close() throws IOException {
        synchronized (closeLock) {
            if (fdClosed) {
                return;
            }
            state.getAndUpdate(s -> s | CLOSED);
            if (jdk != null) {
                closeJdk();
                return;
            }
            closer = Thread.currentThread();
            // Requests on this descriptor submitted through the engine's callback and future forms
            // are not counted as users of the file: cancel them too, or a read that never
            // completes (a FIFO) would outlive the file.
            cancelRequestsOnDescriptor();
            awaitUsersGone(this::cancelRequestsOnDescriptor);
            unmap();
            core.forgetFile(fd); // a registered descriptor must not outlive the file (Engine#registerFiles)
            int r = closeOwnDescriptor(true);
            cleanable.clean(); // deregisters; the action sees CLOSED and does nothing
            if (r < 0) {
                throw Failures.io("close", -r);
            }
        }
    }

    /**
     * Closes the file, as {@link #close()}, if no thread is inside an operation: then none can
     * enter meanwhile and the close does not wait. {@return false, having done nothing, when a
     * thread is inside one (or the file is closed or closing already)}
     *
     * @throws IOException if closing the descriptor fails
     */
    boolean closeIfUnused() throws IOException {
        if (!state.compareAndSet(0, CLOSED)) {
            return false;
        }
        close();
        return true;
    }

    /**
     * Closes the file without waiting for the threads still inside an operation, for closes that
     * must not block: an interrupted thread's own, and a channel's closed by
     * {@link Thread#interrupt()} on the interrupting thread. Their requests are cancelled (and
     * their waits for admission ended); the last of them to leave closes the descriptor.
     *
     * @return the failure of closing the descriptor when that happened here, else null
     */
    IOException closeWithoutWaiting() {
        if (jdk != null) {
            try {
                close(); // the JDK's channel signals its threads itself
                return null;
            } catch (IOException e) {
                return e;
            }
        }
        closeOnLastLeave = true; // before CLOSED: a thread leaving from now on sees it
        // This thread counts as a user while it cancels: the descriptor is closed (by the last
        // user to leave, or a close() waiting for them) only after every cancellation was sent,
        // so none can hit the CLOSE or a new file given the same number.
        long s = state.getAndUpdate(x -> (x & CLOSED) != 0 ? x : (x | CLOSED) + 1);
        if ((s & CLOSED) != 0) {
            return null; // closed or closing already
        }
        // Once: a thread that entered but had not yet put its request where this finds it sees
        // CLOSED once it has, and cancels the request itself (the closing check of submit()).
        cancelRequestsOnDescriptor();
        return leaveAndClose();
    }

    /** The deferred close: closes the descriptor unless a {@link #close()} did. {@return its failure, or null} */
    private IOException finishDeferredClose() {
        synchronized (closeLock) {
            if (fdClosed) {
                return null;
            }
            fdClosed = true;
            unmap();
            core.forgetFile(fd); // a registered descriptor must not outlive the file (Engine#registerFiles)
            int r = closeOwnDescriptor(false);
            cleanable.clean(); // deregisters; the action sees CLOSED and does nothing
            if (r < 0) {
                IOException e = Failures.io("close", -r);
                // A thread leaving an operation has nobody else to tell.
                System.getLogger(AuraFile.class.getName()).log(System.Logger.Level.WARNING, "closing " + this, e);
                return e;
            }
            return null;
        }
    }

    /**
     * JDK mode: closing the channel first makes threads blocked in it throw
     * AsynchronousCloseException (the JDK signals them); then wait until they have left.
     */
    private void closeJdk() throws IOException {
        closer = Thread.currentThread();
        IOException failure = null;
        try {
            jdk.close();
        } catch (IOException e) {
            failure = e;
        }
        awaitUsersGone(() -> {});
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * The closer's wait (closeLock held, {@link #closer} set): parks until no thread is inside an
     * operation, running {@code everyWhile} every {@link #CLOSE_RECANCEL_NANOS} meanwhile, then
     * marks the descriptor closed. An interrupt does not end the wait; its status is kept.
     */
    private void awaitUsersGone(Runnable everyWhile) {
        boolean interrupted = false;
        long last = state.get() == CLOSED ? 0 : System.nanoTime(); // no clock read when nobody is inside
        while (state.get() != CLOSED) {
            long now = System.nanoTime();
            if (now - last > CLOSE_RECANCEL_NANOS) {
                everyWhile.run();
                last = now;
            }
            CarrierWaits.parkNanos(this, CLOSE_RECANCEL_NANOS);
            interrupted |= Thread.interrupted();
        }
        closer = null;
        fdClosed = true;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * {@link #state}, alone on its cache line: every operation writes it twice (enter, leave), and
     * fields every operation reads ({@link #fastPath}, {@link #mapped}, ...) must not share that
     * line, or each write makes the other CPUs miss on them (64 page-cache readers on 2 CPUs: +3-4%
     * with the padding).
     * The padding follows the value; the line before it is the object's header and this class's
     * allocation neighbours, which are not written per operation.
     */
    @SuppressWarnings("unused")
    private static final class UserCount extends AtomicLong {
        private static final long serialVersionUID = 1L;
        private long p1, p2, p3, p4, p5, p6, p7;
    }

    /** {@return the file's mapped reads, or null where it has none} For tests. */
    MappedReads mappedReads() {
        return mapped;
    }

    /** Unmaps the file's mappings: only once no thread is inside an operation (none copies from them). */
    private void unmap() {
        if (mapped != null) {
            mapped.unmapAll();
        }
    }

    private void cancelRequestsOnDescriptor() {
        DescriptorClose.cancelRequests(core, fd);
        if (slow != null) {
            slow.wakeAll(); // callers parked on the offload pool see CLOSED and leave
        }
    }

    /**
     * Closes the descriptor, or, for a {@link SlowFile} whose system calls still use it (callers
     * that left them on interrupt or close), leaves that to the last of them.
     * {@return the close's result: 0, or a negated errno}
     *
     * @param mayWait whether this thread may wait for a slow file's {@code close(2)} ({@link #close()},
     *                as {@code FileChannel.close()} waits); else (a close that must not block: an
     *                interrupted caller's, {@link #closeWithoutWaiting}) it is handed to the pool
     */
    private int closeOwnDescriptor(boolean mayWait) {
        if (slow == null) {
            return DescriptorClose.closeLocal(fd, path, readOnlyOnPageCache());
        }
        return DescriptorClose.closeSlow(slow, fd, toString(), mayWait);
    }

    /** {@return whether this is a regular file open only for reading on a local page-cache file system} */
    private boolean readOnlyOnPageCache() {
        return !mode.write() && fileType == REGULAR_FILE && pageCacheFileSystem();
    }

    @Override
    public String toString() {
        return "AuraFile[" + path + (isOpen() ? "" : ", closed") + "]";
    }
}
