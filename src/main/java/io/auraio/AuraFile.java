package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.engine.RingPoller;
import io.auraio.internal.jfr.FileEvents;
import io.auraio.internal.jfr.RequestTrace;
import io.auraio.internal.pool.BufferPool;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

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
 * page-cache hits without a ring round trip and never blocks.
 *
 * <p><b>Buffers.</b> Native segments and direct buffers are handed to the kernel as they are; the
 * caller must keep their memory alive (not close its arena) until the call returns. Heap buffers
 * and heap segments are copied through a pooled native buffer. With {@code DIRECT}, the file
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
 * for file I/O on virtual threads).
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
    private static final int MAX_TRANSFER = 0x7ffff000;
    private static final long CLOSED = 1L << 62;
    private static final long CLOSE_RECANCEL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** One fast-path hit in this many yields the carrier, so a reader that always hits shares it. */
    private static final int FAST_PATH_YIELD_EVERY = 64;

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
    private static final int WRITE_UNDECIDED = -1;
    private static final int WRITE_RING = 0;
    private static final Set<String> PAGE_CACHE_FILE_SYSTEMS =
            Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "bcachefs");
    private static final int WRITE_NOWAIT = 1;
    private static final int WRITE_INLINE = 2;
    /** How buffered writes go: {@link #writeNative}. Always the ring for O_DIRECT. */
    private volatile int writePath;
    /** Bit 62: closed; low bits: threads inside an operation. */
    private final AtomicLong state = new AtomicLong();
    private final Object closeLock = new Object();
    private volatile Thread closer;
    private boolean fdClosed;

    private AuraFile(Engine engine, Path path, int fd, OpenMode mode, int memAlign, int offsetAlign) {
        this.engine = engine;
        this.core = engine.core();
        this.jdk = null;
        this.path = path;
        this.fd = fd;
        this.mode = mode;
        this.directMemoryAlignment = memAlign;
        this.directOffsetAlignment = offsetAlign;
        this.fastPath = !mode.direct();
        this.writePath = mode.direct() ? WRITE_RING : WRITE_UNDECIDED;
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
     */
    public static AuraFile open(Path path, OpenOption... options) throws IOException {
        if (AuraIO.backend() == Backend.JDK) {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(options, "options");
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
     */
    public static AuraFile open(Engine engine, Path path, OpenOption... options) throws IOException {
        Objects.requireNonNull(options, "options");
        return open(engine, path, new HashSet<>(Arrays.asList(options)));
    }

    /**
     * Opens a file on {@code engine}; never falls back to the JDK's file I/O.
     *
     * @param engine  the engine whose rings serve this file's requests
     * @param path    the file
     * @param options as for {@link #open(Path, OpenOption...)}
     * @return the open file
     * @throws IOException as for {@link #open(Path, OpenOption...)}
     */
    public static AuraFile open(Engine engine, Path path, Set<? extends OpenOption> options) throws IOException {
        return open(engine, path, options, OpenMode.creationMode());
    }

    /** As {@link #open(Engine, Path, Set)}, creating a new file with {@code creationMode} (before the umask). */
    static AuraFile open(Engine engine, Path path, Set<? extends OpenOption> options, int creationMode)
            throws IOException {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(path, "path");
        OpenMode mode = OpenMode.of(options);
        IoEngine core = engine.core();
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path.toString());
            fd = (int) core.select().execute(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, cPath.address(),
                    creationMode, mode.flags(), 0);
        }
        if (fd < 0) {
            throw Failures.open(path, -fd);
        }
        int memAlign = 0;
        int offsetAlign = 0;
        try {
            if (mode.direct()) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment statx = statx(core, fd, Statx.STATX_DIOALIGN | Statx.STATX_TYPE, arena);
                    // Filesystems that do not report DIOALIGN get the block size, as the JDK uses.
                    int blockSize = Math.max(512, Statx.blockSize(statx));
                    memAlign = Statx.directMemoryAlignment(statx) > 0 ? Statx.directMemoryAlignment(statx) : blockSize;
                    offsetAlign = Statx.directOffsetAlignment(statx) > 0 ? Statx.directOffsetAlignment(statx) : blockSize;
                }
            }
            if (mode.deleteOnClose()) {
                // As the JDK does: unlink at once; the open descriptor keeps the data until close.
                Files.deleteIfExists(path);
            }
        } catch (IOException | RuntimeException e) {
            closeDescriptor(core, fd);
            throw e;
        }
        return new AuraFile(engine, path, fd, mode, memAlign, offsetAlign);
    }

    private static MemorySegment statx(IoEngine core, int fd, int mask, Arena arena) throws IOException {
        MemorySegment statx = arena.allocate(Statx.BYTES, 8);
        MemorySegment empty = arena.allocateFrom("");
        long r = core.select().execute(Opcode.STATX, 0, fd, statx.address(), empty.address(), mask,
                Statx.AT_EMPTY_PATH, 0);
        if (r < 0) {
            throw Failures.io("statx", (int) -r);
        }
        return statx;
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
        if (state.decrementAndGet() == CLOSED) {
            Thread t = closer;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
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
            try {
                close();
            } catch (IOException closeFailure) {
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
        return Failures.io(op, errno);
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
     * @throws IllegalStateException if {@code dst} is a direct buffer whose memory (arena) is closed
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
        begin();
        try {
            checkReadable();
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
     * @throws IllegalStateException if {@code dst}'s arena is closed
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
            if (n < 0) {
                throw new EOFException("end of file at position " + p + " with " + dst.remaining()
                        + " bytes still to read");
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
            if (n < 0) {
                throw new EOFException("end of file at position " + (position + done) + " with "
                        + (dst.byteSize() - done) + " bytes still to read");
            }
            done += n;
        }
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
     * @throws NonWritableChannelException if the file was not opened for writing
     */
    public int write(MemorySegment src, long position) throws IOException {
        Objects.requireNonNull(src, "src");
        checkPosition(position);
        begin();
        try {
            checkWritable();
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
     * Advances the buffers' positions by what was transferred, in order. In JDK mode (whose
     * {@code FileChannel} has no positional readv/writev) the buffers are transferred one by one.
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
        checkPosition(position);
        begin();
        try {
            if (read) {
                checkReadable();
            } else {
                checkWritable();
            }
            if (jdk != null) {
                return transferEach(read, bufs, offset, end, position);
            }
            int n = 0;
            for (int i = offset; i < end; i++) {
                if (bufs[i].hasRemaining()) {
                    n++;
                }
            }
            if (n == 0) {
                return 0;
            }
            ByteBuffer[] used = new ByteBuffer[n];
            MemorySegment[] segments = new MemorySegment[n];
            MemorySegment[] bounces = new MemorySegment[n];
            BufferPool pool = core.pool();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment iov = arena.allocate(16L * n, 8);
                long total = 0;
                for (int i = offset, k = 0; i < end; i++) {
                    ByteBuffer b = bufs[i];
                    if (!b.hasRemaining()) {
                        continue;
                    }
                    MemorySegment segment = MemorySegment.ofBuffer(b);
                    if (!segment.scope().isAlive()) {
                        throw new IllegalStateException("Already closed");
                    }
                    long length = Math.min(segment.byteSize(), MAX_TRANSFER - total);
                    if (mode.direct()) {
                        checkDirectAlignment(segment, length, position + total);
                    }
                    MemorySegment target = segment;
                    if (!segment.isNative()) {
                        bounces[k] = pool.acquire(length);
                        if (bounces[k].equals(MemorySegment.NULL)) {
                            throw Failures.io(read ? "readv" : "writev", Errno.ENOMEM);
                        }
                        if (!read) {
                            MemorySegment.copy(segment, 0, bounces[k], 0, length);
                        }
                        target = bounces[k];
                    }
                    used[k] = b;
                    segments[k] = segment;
                    iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * k, target.address());
                    iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * k + 1, length);
                    total += length;
                    k++;
                    if (total >= MAX_TRANSFER) {
                        n = k; // Linux stops at MAX_RW_COUNT anyway: leave the rest out
                        break;
                    }
                }
                long r = submit(read ? Opcode.READV : Opcode.WRITEV, position, iov.address(), n, 0);
                if (r < 0) {
                    throw failure(read ? "readv" : "writev", r);
                }
                long left = r;
                for (int k = 0; k < n && left > 0; k++) {
                    int take = (int) Math.min(left, used[k].remaining());
                    if (read && bounces[k] != null) {
                        MemorySegment.copy(bounces[k], 0, segments[k], 0, take);
                    }
                    used[k].position(used[k].position() + take);
                    left -= take;
                }
                return r;
            } finally {
                for (MemorySegment bounce : bounces) {
                    if (bounce != null && !bounce.equals(MemorySegment.NULL)) {
                        pool.release(bounce);
                    }
                }
            }
        } finally {
            end();
        }
    }

    /**
     * JDK mode's readv/writev: buffer by buffer, stopping at the first one not filled or emptied;
     * a failure after some bytes reports those bytes, as a readv/writev that failed part way.
     */
    private long transferEach(boolean read, ByteBuffer[] bufs, int offset, int end, long position)
            throws IOException {
        long total = 0;
        for (int i = offset; i < end; i++) {
            ByteBuffer b = bufs[i];
            if (!b.hasRemaining()) {
                continue;
            }
            long n;
            try {
                n = transfer(read, MemorySegment.ofBuffer(b), position + total);
            } catch (IOException e) {
                if (total > 0 && !(e instanceof ClosedChannelException)) {
                    return total;
                }
                throw e;
            }
            b.position(b.position() + (int) n);
            total += n;
            if (b.hasRemaining()) {
                break;
            }
        }
        return total;
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

    private long transferUntraced(boolean read, MemorySegment segment, long position) throws IOException {
        // A segment (or direct buffer) of a closed arena still reports its address, and the kernel
        // would write into freed memory: refuse it as FileChannel does.
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("Already closed");
        }
        long length = Math.min(segment.byteSize(), MAX_TRANSFER);
        if (length == 0) {
            return 0;
        }
        if (mode.direct()) {
            checkDirectAlignment(segment, length, position);
        }
        if (jdk != null) {
            return jdk.transfer(read, segment.asSlice(0, length), position);
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
        try {
            long r = read ? readNative(target.address(), length, position)
                    : writeNative(target.address(), length, position);
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

    private long readNative(long address, long length, long position) {
        if (fastPath) {
            // The fast path never reaches a ring, so it checks the engine itself: after
            // Engine.close() every request fails with ESHUTDOWN, page-cache hits included.
            if (core.isClosed()) {
                return -Errno.ESHUTDOWN;
            }
            long r = Libc.preadv2(fd, address, length, position, Libc.RWF_NOWAIT);
            if (r >= 0) {
                core.countFastPath(r);
                if (ThreadLocalRandom.current().nextInt(FAST_PATH_YIELD_EVERY) == 0) {
                    Thread.yield();
                }
                if (r > 0 && r < length) {
                    // RWF_NOWAIT stops at the first page not in the page cache, where a blocking
                    // read (and FileChannel's) goes on to the end of the buffer or of the file.
                    return r + readRest(address + r, length - r, position + r);
                }
                return r;
            }
            int errno = (int) -r;
            if (errno == Errno.EOPNOTSUPP || errno == Errno.ESPIPE || errno == Errno.EINVAL) {
                fastPath = false; // this file can never take the fast path; stop trying
            } else if (errno != Errno.EAGAIN) {
                return r;
            }
        }
        return submit(Opcode.READ, position, address, (int) length, 0);
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
     */
    private long writeNative(long address, long length, long position) {
        int mode = writePath;
        if (mode == WRITE_UNDECIDED) {
            writePath = mode = pageCacheFileSystem() ? WRITE_NOWAIT : WRITE_RING;
        }
        if (mode == WRITE_RING) {
            return submit(Opcode.WRITE, position, address, (int) length, 0);
        }
        if (core.isClosed()) {
            return -Errno.ESHUTDOWN; // as every other request after Engine.close()
        }
        long r = Libc.pwritev2(fd, address, length, position, mode == WRITE_NOWAIT ? Libc.RWF_NOWAIT : 0);
        if (r >= 0) {
            core.countFastPath(r);
            if (ThreadLocalRandom.current().nextInt(FAST_PATH_YIELD_EVERY) == 0) {
                Thread.yield();
            }
            return r;
        }
        int errno = (int) -r;
        if (mode == WRITE_NOWAIT && errno == Errno.EOPNOTSUPP) {
            writePath = WRITE_INLINE; // no non-blocking buffered writes here: write as FileChannel does
            return writeNative(address, length, position);
        }
        if (errno == Errno.ESPIPE || errno == Errno.EINVAL || errno == Errno.EAGAIN) {
            if (errno != Errno.EAGAIN) {
                writePath = WRITE_RING; // a FIFO, a device: the ring copes with what pwrite cannot
            }
            return submit(Opcode.WRITE, position, address, (int) length, 0);
        }
        return r;
    }

    /**
     * {@return whether this file lives on a local filesystem whose buffered writes only copy into
     * the page cache} FUSE, NFS and other network or user-space filesystems may wait for a server
     * or a daemon in a write, which must not hold a carrier: their writes stay on the ring.
     */
    private boolean pageCacheFileSystem() {
        try {
            return PAGE_CACHE_FILE_SYSTEMS.contains(Files.getFileStore(path).type());
        } catch (IOException | RuntimeException e) {
            return false; // unlinked (DELETE_ON_CLOSE), or not a file store we can name: the ring is safe
        }
    }

    /**
     * {@return the bytes read of the rest of a short fast-path read: 0 at the end of the file, and
     * on an error, which the caller's next read reports}
     */
    private long readRest(long address, long length, long position) {
        long done = 0;
        while (done < length) {
            long r = Libc.preadv2(fd, address + done, length - done, position + done, Libc.RWF_NOWAIT);
            if (r == -Errno.EAGAIN) {
                long rest = submit(Opcode.READ, position + done, address + done, (int) (length - done), 0);
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
        return interruptible ? core.select().executeInterruptibly(opcode, 0, fd, position, address, length, opFlags, 0)
                : core.select().execute(opcode, 0, fd, position, address, length, opFlags, 0);
    }

    private void checkDirectAlignment(MemorySegment segment, long length, long position) throws AuraIOException {
        if (position % directOffsetAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the file position (" + position
                    + ") to be a multiple of " + directOffsetAlignment, Errno.EINVAL);
        }
        if (length % directOffsetAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the transfer length (" + length
                    + " bytes) to be a multiple of " + directOffsetAlignment, Errno.EINVAL);
        }
        if (segment.isNative() && segment.address() % directMemoryAlignment != 0) {
            throw new AuraIOException("O_DIRECT requires the buffer address (0x" + Long.toHexString(segment.address())
                    + ") to be a multiple of " + directMemoryAlignment, Errno.EINVAL);
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
     * when {@code metaData} is false.
     *
     * @param metaData whether file metadata must be written too
     * @throws ClosedChannelException if this file is closed
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
            long r = submit(Opcode.FSYNC, 0, 0, 0, metaData ? 0 : Opcode.FSYNC_DATASYNC);
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
     * {@return the file's current size in bytes, from {@code statx} through the ring}
     *
     * @throws ClosedChannelException if this file is closed
     * @throws AuraIOException on an I/O error or a closed engine
     */
    public long size() throws IOException {
        begin();
        try {
            if (jdk != null) {
                return jdk.size();
            }
            try (Arena arena = Arena.ofConfined()) {
                return Statx.size(statx(core, fd, Statx.STATX_SIZE, arena));
            }
        } finally {
            end();
        }
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
        return fd;
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
     * returns once no thread uses the file and its descriptor is closed. Idempotent; concurrent
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
            int r = closeDescriptor(core, fd);
            if (r < 0) {
                throw Failures.io("close", -r);
            }
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
        long last = System.nanoTime();
        boolean interrupted = false;
        while (state.get() != CLOSED) {
            long now = System.nanoTime();
            if (now - last > CLOSE_RECANCEL_NANOS) {
                everyWhile.run();
                last = now;
            }
            LockSupport.parkNanos(this, CLOSE_RECANCEL_NANOS);
            interrupted |= Thread.interrupted();
        }
        closer = null;
        fdClosed = true;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void cancelRequestsOnDescriptor() {
        for (int i = 0; i < core.ringCount(); i++) {
            core.ring(i).cancelFd(fd);
        }
    }

    /** Closes through the ring (close may block on network filesystems), or directly once the engine is down. */
    private static int closeDescriptor(IoEngine core, int fd) {
        RingPoller ring = core.select();
        long r = core.isClosed() ? -Errno.ESHUTDOWN : ring.execute(Opcode.CLOSE, 0, fd, 0, 0, 0, 0, 0);
        if (r == -Errno.ESHUTDOWN) {
            r = Libc.close(fd);
        }
        return (int) r;
    }

    @Override
    public String toString() {
        return "AuraFile[" + path + (isOpen() ? "" : ", closed") + "]";
    }
}
