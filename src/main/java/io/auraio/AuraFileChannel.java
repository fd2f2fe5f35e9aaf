package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Statx;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SelectableChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link FileChannel} whose reads, writes, {@code force} and {@code size} go through an
 * {@link Engine}'s io_uring rings: a drop-in replacement for {@link FileChannel#open(Path,
 * OpenOption...)} with the JDK's observable behaviour.
 *
 * <pre>{@code
 * try (FileChannel ch = AuraFileChannel.open(path, StandardOpenOption.READ)) {
 *     ByteBuffer buf = ByteBuffer.allocate(8192);
 *     while (ch.read(buf) > 0) { ... }   // parks this virtual thread, not its carrier
 * }
 * }</pre>
 *
 * <p>Every method follows {@code FileChannel}'s contract as the JDK implements it on Linux: the
 * same return values, the same buffer positions and limits afterwards, the same file position and
 * size, and the same exceptions for the same misuse ({@link NonReadableChannelException},
 * {@link NonWritableChannelException}, {@link ClosedChannelException},
 * {@link IllegalArgumentException} for negative positions and sizes and read-only destination
 * buffers, {@link IndexOutOfBoundsException} for bad array ranges, {@link NullPointerException}).
 * Reads, writes (relative, positional, scattering and gathering), {@code size}, {@code force} and
 * the data of {@code transferTo}/{@code transferFrom} go through the ring (between two of these
 * channels the kernel copies, {@code copy_file_range} off the carrier); a scattering read or
 * gathering write is one {@code readv}/{@code writev} request, as the JDK's, so a short count
 * is cut where the kernel cuts it and gathered {@code APPEND} records land in one piece. A file
 * with no position of its own (a FIFO, a character device such as {@code /dev/zero}) is read and
 * written at the kernel's file position, which {@code position()} reports, and positional
 * transfers on a FIFO fail with "Illegal seek", as with the JDK. {@code map}, {@code lock},
 * {@code tryLock} are kernel work rather than I/O and are delegated to a JDK {@code FileChannel}
 * reopened on {@code /proc/self/fd/<fd>} on first use (the shrinking step of {@code truncate}
 * is an {@code ftruncate} of this channel's own descriptor on the offload pool; for a file of a
 * slow file system, FUSE or NFS, as its reads are, so that the caller wakes on interrupt and close
 * while the daemon or server holds the call);
 * locks are tracked in the JDK's per-file lock table, so {@link java.nio.channels.OverlappingFileLockException} is thrown as the JDK throws it,
 * and {@link FileLock#channel()} returns this channel.
 *
 * <p><b>Threads, close and interrupts.</b> As {@code FileChannel}: safe for concurrent use;
 * relative operations and {@code position}, {@code size} and {@code truncate} serialize on a
 * position lock, positional ones proceed in parallel. Closing the channel from another thread
 * cancels its requests in the kernel and their threads get {@link AsynchronousCloseException};
 * interrupting a thread blocked in an operation cancels its request, closes the channel and throws
 * {@link ClosedByInterruptException} with the interrupt status still set; {@link Thread#interrupt()}
 * itself returns at once, whatever the channel's threads wait for in reads, writes and
 * transfers (the last of them to leave closes the descriptor); a thread waiting in
 * {@code lock()} for another process's lock holds {@code close()} and {@code interrupt()} until
 * the lock is granted, as with {@code FileChannel} (locks are the JDK's). Unlike the JDK's channel
 * on a virtual thread, a blocked read or write here really is woken by the interrupt and does not
 * hold its carrier. A channel that becomes unreachable without being closed has its file closed
 * by a {@link Cleaner}, as the JDK's channels do.
 *
 * <p><b>O_DIRECT.</b> {@code com.sun.nio.file.ExtendedOpenOption.DIRECT} is supported, with
 * {@link AuraFile}'s alignment rules; a misaligned position, length or buffer is an
 * {@link AuraIOException} (an {@code IOException}, as the JDK throws) that says what must be
 * aligned to what. A read changes only the bytes it returns: where the end of the file cuts it
 * short, the JDK's channel leaves the rest of the last block the kernel read (zeros past the end)
 * in a direct buffer, after the bytes it returns and up to the buffer's limit.
 *
 * <p><b>Memory another thread may free.</b> The JDK's channel keeps a buffer's arena open while a
 * transfer uses it (its {@code close()} then throws {@link IllegalStateException}); public API
 * cannot. A buffer of a shared or automatic arena, or a direct buffer, reaches a request in the
 * kernel as an engine-owned copy, so closing its arena meanwhile succeeds and the read then
 * throws {@code IllegalStateException} instead of writing into freed memory: the bytes that read
 * took from a FIFO or another file without positions are lost with it (a regular file's can be
 * read again).
 */
public final class AuraFileChannel extends FileChannel {
    /** Linux's {@code IOV_MAX}: the JDK hands at most this many non-empty buffers to one readv/writev. */
    private static final int IOV_MAX = 1024;
    /** From this count on, the JDK transfers from a file channel through a mapping ({@code MAPPED_TRANSFER_THRESHOLD}). */
    private static final long MAPPED_TRANSFER_THRESHOLD = 16 * 1024;
    /** The most the JDK's transfer from a file maps and writes at once ({@code MAPPED_TRANSFER_SIZE}). */
    private static final long MAPPED_TRANSFER_SIZE = 8L * 1024 * 1024;
    /** A mapping starts at a page: its first byte's address is the position's offset in one. */
    private static final long MAPPING_PAGE = 4096;

    private final AuraFile file;
    private final boolean readable;
    private final boolean writable;
    private final boolean append;
    private final boolean direct;
    /**
     * The file has no position of its own (a FIFO, a socket, a character device): relative reads
     * and writes go at the kernel's file position and {@code position()} is the kernel's, as in the
     * JDK (which reads {@code /dev/zero} and stays at position 0). Regular files and block devices
     * keep the position here.
     */
    private final boolean kernelPosition;
    /** False for a FIFO or socket, where positional reads and writes fail with "Illegal seek". */
    private final boolean seekable;
    /** Neither a regular file nor a directory: {@link #isOther()}. */
    private final boolean other;
    private final JdkCompanionChannel companion;
    /** Set by {@link #setUninterruptible()}: interrupts are ignored, as by the JDK's file streams. */
    private volatile boolean uninterruptible;
    /** Closes the file of a channel that became unreachable unclosed, as the JDK's channels do. */
    private final Cleaner.Cleanable cleanable;
    /** Serializes relative operations and position, size and truncate, as FileChannelImpl does. */
    private final Object positionLock = new Object();
    private long position; // guarded by positionLock; unused in append mode, where it is the size

    private AuraFileChannel(AuraFile file) {
        this.file = file;
        OpenMode mode = file.mode();
        this.readable = mode.read();
        this.writable = mode.write();
        this.append = mode.append();
        this.direct = mode.direct();
        int type = fileType(file);
        this.kernelPosition = type != AuraFile.REGULAR_FILE && type != Statx.S_IFBLK && type != Statx.S_IFDIR;
        this.seekable = type != Statx.S_IFIFO && type != Statx.S_IFSOCK;
        this.other = type != AuraFile.REGULAR_FILE && type != Statx.S_IFDIR;
        this.companion = new JdkCompanionChannel(file, readable, writable);
        this.cleanable = SharedCleaner.get().register(this, new CloseUnreachable(file));
    }

    private static int fileType(AuraFile file) {
        try {
            return file.fileType();
        } catch (IOException e) {
            return AuraFile.REGULAR_FILE; // only a closed file fails, and this one was just opened
        }
    }

    /** The cleaning action: refers to the file, never to the channel. */
    private record CloseUnreachable(AuraFile file) implements Runnable {
        @Override
        public void run() {
            try {
                file.close();
            } catch (IOException e) {
                // Nobody is left to report it to: the channel was dropped without close().
                System.getLogger(AuraFileChannel.class.getName()).log(System.Logger.Level.WARNING,
                        "closing an unreachable " + file, e);
            }
        }
    }

    // ---- opening ----------------------------------------------------------------------------

    /**
     * Opens a file on the {@linkplain AuraIO#defaultEngine() default engine}, with
     * {@link FileChannel#open(Path, OpenOption...)}'s rules. Where io_uring cannot be used the
     * channel is served by the JDK's own {@code FileChannel} ({@link AuraIO#backend()}), with the
     * same contract.
     *
     * @param path    the file; a path of the default ({@code file:}) file system
     * @param options {@link java.nio.file.StandardOpenOption}s,
     *                {@link java.nio.file.LinkOption#NOFOLLOW_LINKS} and
     *                {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}; READ when none of READ,
     *                WRITE, APPEND is given
     * @return the open channel, its position 0
     * @throws java.nio.file.NoSuchFileException if the file does not exist and is not created
     * @throws java.nio.file.FileAlreadyExistsException if {@code CREATE_NEW} is given and it exists
     * @throws java.nio.file.AccessDeniedException if permission is denied
     * @throws AuraIOException if io_uring cannot be used and {@code -Dauraio.backend=io_uring}
     *         forbids the {@linkplain AuraIO#backend() fallback to the JDK's file I/O}, or another errno
     * @throws IOException if another I/O error occurs
     * @throws IllegalArgumentException for an invalid combination, e.g. {@code READ + APPEND}
     * @throws UnsupportedOperationException for an option this method does not support
     * @throws ProviderMismatchException if {@code path} is not a path of a {@code file:} file system
     * @throws NullPointerException if {@code path}, {@code options} or an option is null
     */
    public static AuraFileChannel open(Path path, OpenOption... options) throws IOException {
        Objects.requireNonNull(options, "options");
        return open(path, new HashSet<>(Arrays.asList(options)));
    }

    /**
     * Opens a file on the {@linkplain AuraIO#defaultEngine() default engine}, with
     * {@link FileChannel#open(Path, Set, FileAttribute...)}'s rules; falls back to the JDK's
     * {@code FileChannel} as {@link #open(Path, OpenOption...)} does.
     *
     * @param path    the file; a path of the default ({@code file:}) file system
     * @param options as for {@link #open(Path, OpenOption...)}
     * @param attrs   attributes set atomically when the file is created: only
     *                {@code posix:permissions} (or {@code unix:permissions}), as the JDK on Linux
     * @return the open channel, its position 0
     * @throws IOException as for {@link #open(Path, OpenOption...)}
     * @throws IllegalArgumentException for an invalid combination of options
     * @throws UnsupportedOperationException for an option or attribute this method does not support
     * @throws ProviderMismatchException if {@code path} is not a path of a {@code file:} file system
     * @throws NullPointerException if an argument or an element is null
     */
    public static AuraFileChannel open(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(attrs, "attrs");
        if (AuraIO.backend() == Backend.JDK) { // served by the JDK's FileChannel
            checkDefaultFileSystem(path);
            SharedCleaner.start(); // before the file is opened: its failure leaves nothing open
            return new AuraFileChannel(AuraFile.openJdk(path, options, attrs));
        }
        return open(AuraIO.defaultEngine(), path, options, attrs);
    }

    private static void checkDefaultFileSystem(Path path) {
        if (!"file".equalsIgnoreCase(path.getFileSystem().provider().getScheme())) {
            throw new ProviderMismatchException("not a path of the default file system: " + path);
        }
    }

    /**
     * Opens a file on {@code engine}, with {@link FileChannel#open(Path, OpenOption...)}'s rules.
     *
     * @param engine  the engine whose rings serve this channel's requests
     * @param path    the file
     * @param options as for {@link #open(Path, OpenOption...)}
     * @return the open channel, its position 0
     * @throws IOException as for {@link #open(Path, OpenOption...)}; {@link AuraIOException}
     *         with {@link AuraIOException#isShutdown()} if the engine is closed
     * @throws IllegalArgumentException for an invalid combination of options
     * @throws UnsupportedOperationException for an option this method does not support
     * @throws ProviderMismatchException if {@code path} is not a path of a {@code file:} file system
     */
    public static AuraFileChannel open(Engine engine, Path path, OpenOption... options) throws IOException {
        Objects.requireNonNull(options, "options");
        return open(engine, path, new HashSet<>(Arrays.asList(options)));
    }

    /**
     * Opens a file on {@code engine}, with {@link FileChannel#open(Path, Set, FileAttribute...)}'s
     * rules: this is the form a {@link java.nio.file.spi.FileSystemProvider} calls.
     *
     * @param engine  the engine whose rings serve this channel's requests
     * @param path    the file
     * @param options as for {@link #open(Path, OpenOption...)}
     * @param attrs   attributes set atomically when the file is created: only
     *                {@code posix:permissions} (or {@code unix:permissions}), as the JDK on Linux;
     *                the process umask applies to them as to {@code open(2)}
     * @return the open channel, its position 0
     * @throws IOException as for {@link #open(Engine, Path, OpenOption...)}
     * @throws IllegalArgumentException for an invalid combination of options
     * @throws UnsupportedOperationException for an option or attribute this method does not support
     * @throws ProviderMismatchException if {@code path} is not a path of a {@code file:} file system
     */
    public static AuraFileChannel open(Engine engine, Path path, Set<? extends OpenOption> options,
                                       FileAttribute<?>... attrs) throws IOException {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
        checkDefaultFileSystem(path);
        int creationMode = creationMode(attrs);
        return new AuraFileChannel(AuraFile.open(engine, path, options, creationMode));
    }

    /** Maps creation attributes to a mode as the JDK's {@code UnixFileModeAttribute.toUnixMode} does. */
    private static int creationMode(FileAttribute<?>... attrs) {
        int mode = OpenMode.creationMode();
        for (FileAttribute<?> attr : attrs) {
            String name = attr.name();
            if (!name.equals("posix:permissions") && !name.equals("unix:permissions")) {
                throw new UnsupportedOperationException("'" + name + "' not supported as initial attribute");
            }
            mode = 0;
            for (Object o : (Set<?>) attr.value()) {
                PosixFilePermission permission = (PosixFilePermission) Objects.requireNonNull(o);
                mode |= 1 << (8 - permission.ordinal()); // OWNER_READ (0400) ... OTHERS_EXECUTE (0001)
            }
        }
        return mode;
    }

    // ---- reads ------------------------------------------------------------------------------

    /**
     * Reads from the file position into {@code dst} and advances the position by the count, as
     * {@link FileChannel#read(ByteBuffer)}.
     *
     * @param dst the buffer; heap, direct or segment-backed
     * @return the number of bytes read, possibly 0, or -1 at the end of the file
     * @throws NonReadableChannelException if not opened for reading
     * @throws IllegalArgumentException if {@code dst} is read-only
     * @throws ClosedChannelException if this channel is closed
     * @throws AsynchronousCloseException if another thread closes it during the read
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException on an I/O error or a misaligned O_DIRECT transfer
     */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        ensureOpen();
        checkReadable();
        synchronized (positionLock) {
            int n = 0;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return 0;
                }
                if (kernelPosition) {
                    n = file.readAtFilePosition(dst);
                    return n;
                }
                n = file.read(dst, position);
                if (n > 0) {
                    position += n;
                }
                return n;
            } finally {
                endBlocking(n > 0);
            }
        }
    }

    /**
     * Reads from the file position into {@code dsts[offset .. offset + length)}, filling each
     * buffer before the next, and advances the position by the count, as
     * {@link FileChannel#read(ByteBuffer[], int, int)}. Every buffer is checked before any byte is
     * read.
     *
     * @param dsts   the buffers
     * @param offset the first buffer to use
     * @param length how many buffers to use
     * @return the number of bytes read, possibly 0, or -1 at the end of the file
     * @throws IndexOutOfBoundsException if {@code offset} and {@code length} do not fit {@code dsts}
     * @throws NullPointerException if a buffer in the range is null
     * @throws IllegalArgumentException if a buffer in the range is read-only
     * @throws IOException as for {@link #read(ByteBuffer)}
     */
    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        ensureOpen();
        checkReadable();
        synchronized (positionLock) {
            long n = 0;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return 0;
                }
                n = scatter(dsts, offset, length, kernelPosition ? AuraFile.FILE_POSITION : position);
                if (n > 0 && !kernelPosition) {
                    position += n;
                }
                return n;
            } finally {
                endBlocking(n > 0);
            }
        }
    }

    /**
     * Reads at {@code position} into {@code dst} without changing the file position, as
     * {@link FileChannel#read(ByteBuffer, long)}.
     *
     * @param dst      the buffer
     * @param position the file position, {@code >= 0}
     * @return the number of bytes read, possibly 0, or -1 if {@code position} is at or beyond the
     *         end of the file
     * @throws IllegalArgumentException if {@code position} is negative or {@code dst} read-only
     * @throws IOException as for {@link #read(ByteBuffer)}
     */
    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        Objects.requireNonNull(dst);
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureOpen();
        checkReadable();
        int n = 0;
        try {
            beginBlocking();
            if (!isOpen()) {
                return -1;
            }
            if (!seekable && dst.hasRemaining()) {
                throw illegalSeek();
            }
            n = file.read(dst, position);
            return n;
        } finally {
            endBlocking(n > 0);
        }
    }

    /** The scattering read: buffers in order, stopping at the first that is not filled. */
    private long scatter(ByteBuffer[] dsts, int offset, int length, long at) throws IOException {
        if (direct) {
            // The JDK checks the position's alignment before the buffers (a read-only one: IAE).
            file.checkDirectPosition(at);
        }
        int end = usableRange(dsts, offset, length, true);
        boolean room = false;
        for (int i = offset; i < end; i++) {
            room |= dsts[i].hasRemaining();
        }
        long n = file.transferVectored(true, dsts, offset, end, at); // one readv, as the JDK
        return n == 0 && room ? -1 : n;
    }

    /**
     * Checks the buffers as the JDK does before a readv/writev, one buffer after the other (null,
     * read-only for reads, memory closed, with {@code DIRECT} its length's alignment), and
     * {@return the end of the range it would transfer: at most {@link #IOV_MAX} non-empty buffers}
     * (Alignment checked apart, after the others, a read-only buffer behind a misaligned one was an
     * IllegalArgumentException where the JDK's is the misaligned one's IOException.)
     */
    private int usableRange(ByteBuffer[] buffers, int offset, int length, boolean forRead) throws IOException {
        int nonEmpty = 0;
        int i = offset;
        while (i < offset + length && nonEmpty < IOV_MAX) {
            ByteBuffer b = buffers[i];
            if (forRead && b.isReadOnly()) {
                throw new IllegalArgumentException("Read-only buffer");
            }
            if (b.isDirect() && !MemorySegment.ofBuffer(b).scope().isAlive()) {
                // The JDK acquires every buffer's memory it walks, an empty one's too.
                throw new IllegalStateException("Already closed");
            }
            if (direct) {
                file.checkDirectLength(b.remaining());
            }
            if (b.hasRemaining()) {
                nonEmpty++;
            }
            i++;
        }
        return i;
    }

    // ---- writes -----------------------------------------------------------------------------

    /**
     * Writes {@code src} at the file position (at the end of the file in {@code APPEND} mode) and
     * advances the position by the count, as {@link FileChannel#write(ByteBuffer)}.
     *
     * @param src the buffer
     * @return the number of bytes written
     * @throws NonWritableChannelException if not opened for writing
     * @throws ClosedChannelException if this channel is closed
     * @throws AsynchronousCloseException if another thread closes it during the write
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException on an I/O error or a misaligned O_DIRECT transfer
     */
    @Override
    public int write(ByteBuffer src) throws IOException {
        ensureOpen();
        checkWritable();
        synchronized (positionLock) {
            int n = 0;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return 0;
                }
                if (kernelPosition) {
                    n = file.writeAtFilePosition(src);
                    // The ring's write to a FIFO or socket stops at what the buffer took; the JDK's
                    // write(2) waits for room for the rest: so does this (a failure after some
                    // bytes ends the loop and reports them, as the JDK's interrupted write does).
                    while (!seekable && n > 0 && src.hasRemaining()) {
                        try {
                            n += file.writeAtFilePosition(src);
                        } catch (IOException e) {
                            break; // the channel is closed now: the next call reports it
                        }
                    }
                    return n;
                }
                n = file.write(src, writePosition());
                if (!append) {
                    position += n;
                }
                return n;
            } finally {
                endBlocking(n > 0);
            }
        }
    }

    /**
     * Writes {@code srcs[offset .. offset + length)} in order at the file position and advances
     * the position by the count, as {@link FileChannel#write(ByteBuffer[], int, int)}.
     *
     * @param srcs   the buffers
     * @param offset the first buffer to use
     * @param length how many buffers to use
     * @return the number of bytes written
     * @throws IndexOutOfBoundsException if {@code offset} and {@code length} do not fit {@code srcs}
     * @throws NullPointerException if a buffer in the range is null
     * @throws IOException as for {@link #write(ByteBuffer)}
     */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        ensureOpen();
        checkWritable();
        synchronized (positionLock) {
            long n = 0;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return 0;
                }
                n = gather(srcs, offset, length, kernelPosition ? AuraFile.FILE_POSITION : writePosition());
                while (!seekable && n > 0 && hasRemaining(srcs, offset, length)) { // as write(ByteBuffer)
                    try {
                        n += gather(srcs, offset, length, AuraFile.FILE_POSITION);
                    } catch (IOException e) {
                        break;
                    }
                }
                if (!append && !kernelPosition) {
                    position += n;
                }
                return n;
            } finally {
                endBlocking(n > 0);
            }
        }
    }

    /**
     * Writes {@code src} at {@code position} without changing the file position, as
     * {@link FileChannel#write(ByteBuffer, long)}; in {@code APPEND} mode Linux appends whatever
     * the position, as it does for the JDK.
     *
     * @param src      the buffer
     * @param position the file position, {@code >= 0}
     * @return the number of bytes written
     * @throws IllegalArgumentException if {@code position} is negative
     * @throws IOException as for {@link #write(ByteBuffer)}
     */
    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        Objects.requireNonNull(src);
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureOpen();
        checkWritable();
        int n = 0;
        try {
            beginBlocking();
            if (!isOpen()) {
                return -1;
            }
            if (!seekable && src.hasRemaining()) {
                throw illegalSeek();
            }
            n = file.write(src, position);
            return n;
        } finally {
            endBlocking(n > 0);
        }
    }

    /**
     * Where a relative write goes. In append mode the kernel writes at the end whatever the
     * offset; O_DIRECT still needs the real end to check its alignment, as the JDK checks it.
     */
    private long writePosition() throws IOException {
        if (!append) {
            return position;
        }
        return direct ? file.size() : 0;
    }

    /** A positional transfer on a FIFO or socket: pread/pwrite's ESPIPE, which the ring would not give. */
    private static AuraIOException illegalSeek() {
        return new AuraIOException(Errno.message(Errno.ESPIPE), Errno.ESPIPE);
    }

    private static boolean hasRemaining(ByteBuffer[] buffers, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (buffers[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /** The gathering write: buffers in order, stopping at the first short write. */
    private long gather(ByteBuffer[] srcs, int offset, int length, long at) throws IOException {
        if (direct) {
            file.checkDirectPosition(at); // before the buffers (a null one: NPE), as the JDK
        }
        int end = usableRange(srcs, offset, length, false);
        return file.transferVectored(false, srcs, offset, end, at); // one writev, as the JDK
    }

    // ---- position, size, truncate, force ------------------------------------------------------

    /**
     * {@return the file position; in {@code APPEND} mode the file's size, as the JDK reports it}
     *
     * @throws ClosedChannelException if this channel is closed
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public long position() throws IOException {
        ensureOpen();
        synchronized (positionLock) {
            long p = -1;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return 0;
                }
                p = append ? file.size() : kernelPosition ? file.filePosition() : position;
                return p;
            } finally {
                endBlocking(p > -1);
            }
        }
    }

    /**
     * Sets the file position; a position beyond the end makes a later read return -1 and a later
     * write extend the file. In {@code APPEND} mode writes still go to the end.
     *
     * @param newPosition the new position, {@code >= 0}
     * @return this channel
     * @throws IllegalArgumentException if {@code newPosition} is negative
     * @throws ClosedChannelException if this channel is closed
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException "Invalid argument" if {@code newPosition} is past the largest file the
     *         file system allows (ext4: 16 TiB), "Illegal seek" on a FIFO, as the JDK's
     *         {@code lseek}; or another I/O error
     */
    @Override
    public AuraFileChannel position(long newPosition) throws IOException {
        ensureOpen();
        if (newPosition < 0) {
            throw new IllegalArgumentException();
        }
        synchronized (positionLock) {
            boolean completed = false;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return null;
                }
                // lseek, as the JDK: it refuses a position past the file system's largest file
                // (ext4: 16 TiB) with "Invalid argument", and a FIFO with "Illegal seek".
                long p = file.seek(newPosition);
                if (!kernelPosition) {
                    position = p;
                }
                completed = true;
                return this;
            } finally {
                endBlocking(completed);
            }
        }
    }

    /**
     * {@return the file's current size, {@link AuraFile#size()}: a block device's is the device's,
     * as the JDK's (its inode says 0)}
     *
     * @throws ClosedChannelException if this channel is closed
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public long size() throws IOException {
        ensureOpen();
        synchronized (positionLock) {
            long s = -1;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return -1;
                }
                s = file.size();
                return s;
            } finally {
                endBlocking(s > -1);
            }
        }
    }

    /**
     * Truncates the file to {@code newSize} if it is larger (a larger {@code newSize} changes
     * nothing) and moves the position back to {@code newSize} if it was beyond, as
     * {@link FileChannel#truncate(long)}.
     *
     * @param newSize the new size, {@code >= 0}
     * @return this channel
     * @throws IllegalArgumentException if {@code newSize} is negative
     * @throws NonWritableChannelException if not opened for writing
     * @throws ClosedChannelException if this channel is closed
     * @throws AsynchronousCloseException if another thread closes it meanwhile
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException "Illegal seek" on a FIFO or socket, as the JDK's {@code lseek}; or
     *         another I/O error
     */
    @Override
    public AuraFileChannel truncate(long newSize) throws IOException {
        ensureOpen();
        if (newSize < 0) {
            throw new IllegalArgumentException("Negative size");
        }
        checkWritable();
        synchronized (positionLock) {
            boolean completed = false;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return null;
                }
                // A device's position is the kernel's: asked first and set back after, as the
                // JDK's truncate does with lseek, which refuses a FIFO or socket ("Illegal seek").
                long kernel = kernelPosition ? file.filePosition() : -1;
                // On this channel's own descriptor, off the carrier (AuraFile#truncateOwnDescriptor);
                // the JDK mode's own channel does it there.
                // A block device's size is the device's: the kernel refuses its ftruncate
                // ("Invalid argument"), as the JDK's truncate finds.
                long size = file.size();
                if (newSize < size && !file.truncateOwnDescriptor(newSize)) {
                    onCompanion(true, c -> c.truncate(newSize));
                }
                if (kernel > newSize) {
                    file.seek(newSize);
                }
                if (position > newSize) {
                    position = newSize;
                }
                completed = true;
                return this;
            } finally {
                endBlocking(completed);
            }
        }
    }

    /**
     * Flushes the file to its device through the ring: {@code fsync}, or {@code fdatasync} when
     * {@code metaData} is false.
     *
     * @param metaData whether metadata must be written too
     * @throws ClosedChannelException if this channel is closed
     * @throws AsynchronousCloseException if another thread closes it meanwhile
     * @throws ClosedByInterruptException if the thread is interrupted: the channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public void force(boolean metaData) throws IOException {
        ensureOpen();
        boolean completed = false;
        try {
            beginBlocking();
            if (!isOpen()) {
                return;
            }
            file.force(metaData);
            completed = true;
        } finally {
            endBlocking(completed);
        }
    }

    // ---- transfers --------------------------------------------------------------------------

    /**
     * Copies up to {@code count} bytes from {@code position} of this file to {@code target},
     * without changing this channel's position, as {@link FileChannel#transferTo}: reads through
     * the ring and writes with {@code target.write}; into another {@code AuraFileChannel} not in
     * append mode, the kernel copies ({@code copy_file_range}, off the caller's carrier) where it
     * can, as the JDK's between its channels.
     *
     * @param position the file position to start at, {@code >= 0}
     * @param count    the most bytes to transfer, {@code >= 0}
     * @param target   the channel to write to
     * @return the number of bytes transferred: 0 if {@code position} is beyond the end
     * @throws IllegalArgumentException if {@code position} or {@code count} is negative
     * @throws NonReadableChannelException if this channel is not open for reading
     * @throws NonWritableChannelException if {@code target} is a file channel not open for writing
     * @throws ClosedChannelException if this channel or {@code target} is closed
     * @throws AsynchronousCloseException if either is closed by another thread meanwhile
     * @throws ClosedByInterruptException if the thread is interrupted: both channels are closed
     * @throws IOException on an I/O error before any byte was transferred
     */
    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        ensureOpen();
        if (!target.isOpen()) {
            throw new ClosedChannelException();
        }
        checkReadable();
        try {
            if (target instanceof AuraFileChannel a) {
                a.checkWritable();
            } else if (isJdkFileChannel(target)) {
                ((FileChannel) target).write(ByteBuffer.allocate(0), 0); // NonWritableChannelException up front, as the JDK
            }
            if (position < 0 || count < 0) {
                throw new IllegalArgumentException();
            }
            long size = size();
            if (position > size) {
                return 0;
            }
            // Files that report size 0 (/proc) may still have content: read until end of file
            // (and not with copy_file_range, which takes them for empty).
            if (size > 0) {
                count = Math.min(count, size - position);
            }
            return copyTo(position, count, target, size > 0);
        } catch (ClosedChannelException e) {
            throw transferFailed(e, target);
        }
    }

    private long copyTo(long position, long count, WritableByteChannel target, boolean sized) throws IOException {
        if (target instanceof AuraFileChannel out && bothOnJdkChannels(this, out)) {
            return copyByJdk(position, count, out);
        }
        if (sized && target instanceof AuraFileChannel out && !out.append && !out.kernelPosition) {
            long copied = copyInKernel(position, count, out);
            if (copied >= 0) {
                return copied;
            }
        }
        ChunkedTransfer.Writer out = (bb, done) -> target.write(bb);
        boolean directTarget = target instanceof AuraFileChannel a && a.direct;
        if (directTarget && count >= MAPPED_TRANSFER_THRESHOLD) {
            // The JDK writes a mapping of this file into a DIRECT target with one write, refused
            // as a whole where its address (the position's offset in its page) or length is not aligned.
            ((AuraFileChannel) target).checkMappedWrite(position, count);
        }
        if (direct && count >= MAPPED_TRANSFER_THRESHOLD) {
            return ChunkedTransfer.copyThroughAlignedReads(this, file.directOffsetAlignment(), position, count, out);
        }
        if (directTarget && count < MAPPED_TRANSFER_THRESHOLD) {
            // Below the mapping's threshold the JDK reads and writes 8 KiB at a time, so a DIRECT
            // target takes the aligned chunks and the transfer ends at the first that is not.
            return ChunkedTransfer.copy(count, ChunkedTransfer.DIRECT_TRANSFER_SIZE,
                    ChunkedTransfer.fileAt(this, position, false), out);
        }
        boolean whole = !direct && count >= MAPPED_TRANSFER_THRESHOLD && target instanceof AuraFileChannel a && a.append;
        // The JDK copies to its own file channels and to selectable ones in the kernel or from a
        // mapping, in chunks nobody sees; to any other channel it writes a chunk at a time.
        boolean jdkLoops = !(target instanceof AuraFileChannel || isJdkFileChannel(target)
                || target instanceof SelectableChannel);
        return ChunkedTransfer.copy(count, ChunkedTransfer.chunk(direct, whole, jdkLoops),
                ChunkedTransfer.fileAt(this, position, whole), out);
    }

    /**
     * A transfer between two files that the kernel copies itself ({@code copy_file_range}, through
     * {@link AuraFiles#copyRange}, off the caller's carrier), as the JDK's {@code transferTo} does,
     * where reading into memory and writing back took 1.7x as long (64 MiB, cached): written at
     * {@code out}'s position, which advances. An interrupt between two ranges ends it as the
     * JDK's: both channels closed, {@link ClosedByInterruptException}.
     *
     * @return the bytes copied, or -1 where the kernel cannot copy between these files (nothing
     *         was copied: the caller reads and writes)
     */
    private long copyInKernel(long position, long count, AuraFileChannel out) throws IOException {
        synchronized (out.positionLock) {
            long at = out.position;
            long done = copyRanges(!uninterruptible, file, position, out.file, at, count);
            if (done < 0 && !direct && !out.direct && at > position && at < position + count
                    && file.isSameFileAs(out.file)) {
                // The JDK's sendfile after copy_file_range's EINVAL for the overlap, at any count.
                done = ChunkedTransfer.copyForwardWithinFile(this, position, count, out, at);
            }
            out.position = at + Math.max(0, done);
            return done;
        }
    }

    /**
     * Whether both channels are in JDK mode ({@link AuraFile#backend()}) on files with a position
     * of their own: their transfers are then the JDK's own between the two files' FileChannels
     * ({@code copy_file_range}, its mapped transfer), with the channels' positions set on them
     * first and read back after. Read and written here, a transfer the kernel refused (a position
     * past the largest file) failed as the write's EINVAL, not the JDK's EFBIG, and
     * {@code transferFrom} left the source advanced by what it had read and never written.
     */
    private static boolean bothOnJdkChannels(AuraFileChannel in, AuraFileChannel out) {
        return in.file.jdkChannel() != null && out.file.jdkChannel() != null && !in.kernelPosition
                && !out.kernelPosition;
    }

    /**
     * {@code transferTo} in JDK mode ({@link #bothOnJdkChannels}): the JDK writes at its target
     * channel's position, which is {@code out}'s, set first and read back (under {@code out}'s
     * position lock, so its JDK channel's position serves nothing else meanwhile); an appending
     * channel's is its size, the JDK's too.
     */
    private long copyByJdk(long position, long count, AuraFileChannel out) throws IOException {
        FileChannel jdkOut = out.file.jdkChannel();
        synchronized (out.positionLock) {
            try {
                if (!out.append) {
                    jdkOut.position(out.position);
                }
                long n = file.jdkChannel().transferTo(position, count, jdkOut);
                if (!out.append) {
                    out.position = jdkOut.position();
                }
                return n;
            } catch (IOException e) {
                throw JdkFile.translate(e);
            }
        }
    }

    /**
     * {@code target.transferFrom(this, ...)} in JDK mode ({@link #bothOnJdkChannels}): the JDK
     * reads its source channel from its position, this channel's, set first and read back under
     * this channel's position lock.
     */
    private long copyFromPositionByJdk(AuraFileChannel target, long position, long count) throws IOException {
        FileChannel jdkIn = file.jdkChannel();
        synchronized (positionLock) {
            try {
                jdkIn.position(this.position);
                long n = target.file.jdkChannel().transferFrom(jdkIn, position, count);
                this.position = jdkIn.position();
                return n;
            } catch (IOException e) {
                throw JdkFile.translate(e);
            }
        }
    }

    /**
     * As {@link #copyInKernel} for {@code target.transferFrom(this, ...)}: from this channel's
     * position, which advances, into {@code target} at {@code position}.
     */
    private long copyFromPositionInKernel(AuraFileChannel target, long position, long count) throws IOException {
        synchronized (positionLock) {
            long at = this.position;
            long done = copyRanges(!target.uninterruptible, file, at, target.file, position, count);
            this.position = at + Math.max(0, done);
            return done;
        }
    }

    /**
     * As the JDK's transfer from a file channel where the kernel cannot copy (a mapping of the
     * source, from 16 KiB): from this channel's position, which advances by what was written
     * (not by what was read, as a read-and-write loop of {@code src.read} would: a first write
     * that fails, ENOSPC or a misaligned {@code DIRECT} target, then left the source up to 64 KiB
     * further on, those bytes never written), into {@code target} at {@code position}.
     */
    private long copyFromPositionByReads(AuraFileChannel target, long position, long count) throws IOException {
        synchronized (positionLock) {
            long at = this.position;
            long written;
            if (position > at && position < at + count && !direct && !target.direct && !target.append
                    && file.isSameFileAs(target.file)) {
                written = ChunkedTransfer.copyForwardWithinFile(this, at, count, target, position);
            } else {
                ChunkedTransfer.Writer out = (bb, done) -> target.write(bb, position + done);
                if (direct) {
                    // O_DIRECT reads need aligned positions and lengths, where the JDK's mapping takes any.
                    written = ChunkedTransfer.copyThroughAlignedReads(this, file.directOffsetAlignment(), at, count, out);
                } else {
                    boolean whole = !target.direct && target.append; // a mapped chunk's one write, as the JDK's
                    written = ChunkedTransfer.copy(count, ChunkedTransfer.chunk(target.direct, whole, false),
                            ChunkedTransfer.fileAt(this, at, whole), out);
                }
            }
            this.position = at + written;
            return written;
        }
    }

    /**
     * {@code copy_file_range} calls from {@code in} at {@code from} to {@code out} at {@code to}
     * until {@code count} bytes are copied or {@code in} ends; with {@code interruptible}, an
     * interrupt ends it before the next call, or after the last, with
     * {@link ClosedByInterruptException}.
     *
     * @return the bytes copied (an I/O error after some were is left for the next call to report),
     *         or -1 where the kernel cannot copy between these files (nothing was copied)
     */
    private static long copyRanges(boolean interruptible, AuraFile in, long from, AuraFile out, long to, long count)
            throws IOException {
        long done = 0;
        // With DIRECT on either side the JDK's one copy_file_range copies what the kernel copies
        // through its pipe (64 KiB of a 120 KiB range, aligned blocks only) and that count is the
        // transfer's; the kernel's refusal of a misaligned range sends both to reading and writing.
        boolean direct = in.mode().direct() || out.mode().direct();
        try {
            if (count == 0) {
                // As the JDK's copy_file_range of no bytes: the kernel still checks the target
                // position, and refuses one past the largest file ("File too large").
                return AuraFiles.copyRange(in, from, out, to, 0, true, direct) < 0 ? -1 : 0;
            }
            while (done < count) {
                if (interruptible && Thread.currentThread().isInterrupted()) {
                    throw new ClosedByInterruptException();
                }
                long n = AuraFiles.copyRange(in, from + done, out, to + done, count - done, false, direct);
                if (n < 0 && done == 0) {
                    return -1;
                }
                if (n <= 0) {
                    break;
                }
                done += n;
                if (direct) {
                    break;
                }
            }
        } catch (ClosedChannelException e) {
            throw e;
        } catch (AuraIOException e) {
            if (done == 0) {
                // The kernel's answer in the JDK's words ("File too large"), as the channel's
                // reads and writes report theirs, not AuraFiles.copyRange's "copy_file_range: ...".
                throw e.errno() > 0 ? new AuraIOException(Errno.message(e.errno()), e.errno(), e) : e;
            }
        } catch (IOException e) {
            if (done == 0) {
                throw e;
            }
        }
        if (interruptible && Thread.currentThread().isInterrupted()) {
            // As the JDK's end(): an interrupt while the copy ran (on the offload, which does not
            // stop for it) closes the channels, whatever was copied.
            throw new ClosedByInterruptException();
        }
        return done;
    }

    /**
     * Copies up to {@code count} bytes read from {@code src} (from its position, which advances)
     * into this file at {@code position}, without changing this channel's position, as
     * {@link FileChannel#transferFrom}; from another {@code AuraFileChannel}, this one not in
     * append mode, the kernel copies ({@code copy_file_range}, off the caller's carrier) where it
     * can, as the JDK's between its channels.
     *
     * @param src      the channel to read from
     * @param position the file position to write at, {@code >= 0}
     * @param count    the most bytes to transfer, {@code >= 0}
     * @return the number of bytes transferred
     * @throws IllegalArgumentException if {@code position} or {@code count} is negative
     * @throws NonReadableChannelException if {@code src} is a file channel not open for reading
     * @throws NonWritableChannelException if this channel is not open for writing
     * @throws ClosedChannelException if this channel or {@code src} is closed
     * @throws AsynchronousCloseException if either is closed by another thread meanwhile
     * @throws ClosedByInterruptException if the thread is interrupted: both channels are closed
     * @throws IOException on an I/O error before any byte was transferred
     */
    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        ensureOpen();
        if (!src.isOpen()) {
            throw new ClosedChannelException();
        }
        try {
            if (src instanceof AuraFileChannel a) {
                a.checkReadable();
            } else if (isJdkFileChannel(src)) {
                ((FileChannel) src).read(ByteBuffer.allocate(0), 0); // NonReadableChannelException up front, as the JDK
            }
            checkWritable();
            if (position < 0 || count < 0) {
                throw new IllegalArgumentException();
            }
            return copyFrom(src, position, count);
        } catch (ClosedChannelException e) {
            throw transferFailed(e, src);
        }
    }

    private long copyFrom(ReadableByteChannel src, long position, long count) throws IOException {
        if (src instanceof AuraFileChannel in && bothOnJdkChannels(in, this)) {
            return in.copyFromPositionByJdk(this, position, count);
        }
        if (isJdkFileChannel(src) && file.jdkChannel() != null && !kernelPosition) {
            // JDK mode, from the JDK's own channel: the JDK's transfer between the two, which
            // copies in the kernel (its checks of the position: checkWithinLargestFile).
            try {
                return file.jdkChannel().transferFrom(src, position, count);
            } catch (IOException e) {
                throw JdkFile.translate(e);
            }
        }
        // The JDK's mapped transfer is chosen by the count asked for, before the source's end cuts it.
        long asked = count;
        // As the JDK: not from files that say they are empty (/proc), which copy_file_range takes for empty.
        if (src instanceof AuraFileChannel in && !in.kernelPosition) {
            long size = in.size();
            if (size > 0) {
                // No further than the source's end as the transfer starts, where the JDK's one
                // copy_file_range (and its mapped transfer) stops: looping up to count copied, from a
                // file into itself past the source position (or into an appending channel of it),
                // the bytes just copied, again and again; with count Long.MAX_VALUE until the disk
                // was full. (At or past its end the count stays: the kernel then says 0, or EFBIG
                // for a position past the largest file, as to the JDK.)
                long left = size - in.position();
                if (left > 0) {
                    count = Math.min(count, left);
                }
                if (!append) {
                    long copied = in.copyFromPositionInKernel(this, position, count);
                    if (copied >= 0) {
                        return copied;
                    }
                }
                if (asked >= MAPPED_TRANSFER_THRESHOLD) {
                    if (direct && left > 0) {
                        checkMappedWrite(size - left, count);
                    }
                    return in.copyFromPositionByReads(this, position, count);
                }
                if (in.direct) {
                    // The JDK's read-and-write loop reads chunks of the count given, whole blocks
                    // with DIRECT: 4096 of a 4095-byte file reads it, 4095 is refused as misaligned.
                    count = asked;
                }
            }
        } else if (isJdkFileChannel(src) && !other && file.jdkChannel() == null && ((FileChannel) src).size() > 0) {
            if (!append) {
                // (Into an APPEND file the JDK's copy_file_range fails with EBADF before it looks at
                // the position, and its read-and-write loop appends wherever the position is.)
                checkWithinLargestFile(position); // a regular file's: a device's lseek stops at its end
            }
            if (direct && asked >= MAPPED_TRANSFER_THRESHOLD) {
                FileChannel in = (FileChannel) src;
                long at = in.position();
                long left = in.size() - at;
                if (left > 0) {
                    checkMappedWrite(at, Math.min(count, left));
                }
            }
        }
        // A file's channel of the JDK, which it copies from in the kernel: any chunk gives its
        // result. From any other channel the JDK reads a chunk at a time.
        boolean copiedInKernel = isJdkFileChannel(src);
        // Into an APPEND file the JDK writes each mapped chunk of a file channel with one write.
        boolean whole = copiedInKernel && append && !direct && asked >= MAPPED_TRANSFER_THRESHOLD;
        // Into an APPEND file the JDK does not copy in the kernel (EBADF) but writes at the position,
        // which fails past the largest offset rather than stop before it.
        ChunkedTransfer.ChannelReads reads = new ChunkedTransfer.ChannelReads(src, whole, copiedInKernel && !append,
                position);
        // The JDK's transfer from its own file channel copies in the kernel, or from 16 KiB on from a
        // mapping, and its source advances by what was written only. Into an APPEND or DIRECT file,
        // which the kernel refuses (or copies misaligned ranges of), a smaller transfer is its
        // read-and-write loop, whose source keeps what it read, as any other source does; an
        // AuraFileChannel source comes here only then (or when its file says it is empty).
        boolean givesBack = copiedInKernel && (asked >= MAPPED_TRANSFER_THRESHOLD || !append && !direct);
        long written = 0;
        try {
            written = ChunkedTransfer.copy(count, ChunkedTransfer.chunk(direct, whole, !copiedInKernel), reads,
                    (bb, done) -> write(bb, position + done));
            return written;
        } finally {
            if (givesBack && reads.read() > written) {
                giveBack((FileChannel) src, reads.read() - written);
            }
        }
    }

    /**
     * The JDK's transfer of {@link #MAPPED_TRANSFER_THRESHOLD} or more from a file writes a mapping
     * of the source, up to {@link #MAPPED_TRANSFER_SIZE} bytes, in one write: into a {@code DIRECT}
     * channel that write is refused as a whole, before a byte moves, where its length or its
     * address (the source position's offset in its page) is not aligned. Written chunk by chunk,
     * the aligned chunks went in and their count came back, the file changed where
     * {@code FileChannel} changes nothing.
     */
    private void checkMappedWrite(long sourcePosition, long count) throws AuraIOException {
        file.checkDirectWrite(sourcePosition % MAPPING_PAGE, Math.min(count, MAPPED_TRANSFER_SIZE));
    }

    /**
     * For a transfer from a file channel of the JDK, which the JDK makes with one
     * {@code copy_file_range}: the kernel refuses a target position at or past the largest file, or
     * the process's file size limit ({@code RLIMIT_FSIZE}), with "File too large" for any count, 0
     * included, before a byte is read, where a write there says "Invalid argument" once position
     * and count overflow, and nothing for no bytes. The same call of no bytes from this file into
     * itself makes the same checks; where this channel cannot make it (not readable, {@code APPEND},
     * {@code DIRECT}), {@code lseek} on its own descriptor (whose kernel position a regular file's
     * channel does not use) checks the largest file.
     */
    private void checkWithinLargestFile(long position) throws IOException {
        try {
            if (readable && AuraFiles.copyRange(file, 0, file, position, 0, true, false) >= 0) {
                return;
            }
            file.seek(position);
        } catch (AuraIOException e) {
            int errno = e.errno() == Errno.EINVAL ? Errno.EFBIG : e.errno(); // lseek's answer past the largest file
            if (errno <= 0) {
                throw e;
            }
            throw new AuraIOException(Errno.message(errno), errno, e);
        }
    }

    /**
     * {@return whether {@code channel} is a file channel of the JDK's own ({@code FileChannel.open},
     * a file stream's {@code getChannel()})} Only those have the JDK's transfers check their access
     * mode up front and copy their file in the kernel; any other {@code FileChannel} is the
     * application's, which the JDK reads and writes with its relative calls alone, as any channel
     * (its positional ones may not even be supported).
     */
    private static boolean isJdkFileChannel(Channel channel) {
        return channel instanceof FileChannel && channel.getClass().getModule() == FileChannel.class.getModule();
    }

    /**
     * Moves a file channel of the JDK's back over {@code unwritten} bytes it gave a transfer that
     * could not write them (a full disk, a position past the largest file), where the JDK's
     * transfer copies in the kernel or from a mapping and its source then advances by what was
     * written only. A source without positions (a FIFO) cannot: those bytes are lost, as with the
     * JDK's transfer from such a channel.
     */
    private static void giveBack(FileChannel src, long unwritten) {
        try {
            src.position(src.position() - unwritten);
        } catch (IOException | RuntimeException noPosition) {
            // a FIFO or device (Illegal seek), or closed meanwhile: nothing to give back to
        }
    }

    /**
     * As the JDK: a channel closed during a transfer is an {@link AsynchronousCloseException}, or
     * on an interrupt a {@link ClosedByInterruptException} after closing both channels.
     */
    private AsynchronousCloseException transferFailed(ClosedChannelException cce, Channel other) {
        ClosedByInterruptException cbie = null;
        if (cce instanceof ClosedByInterruptException e) {
            cbie = e;
        } else if (Thread.currentThread().isInterrupted()) {
            cbie = new ClosedByInterruptException();
        }
        if (cbie != null) {
            closeOnFailure(this, cbie);
            closeOnFailure(other, cbie);
            return cbie;
        }
        if (cce instanceof AsynchronousCloseException ace) {
            return ace;
        }
        AsynchronousCloseException ace = new AsynchronousCloseException();
        ace.addSuppressed(cce);
        return ace;
    }

    private static void closeOnFailure(Channel channel, Exception failure) {
        try {
            channel.close();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    // ---- map and locks: JDK work on the companion channel ----------------------------------

    /**
     * Maps a region of the file into memory, as {@link FileChannel#map(MapMode, long, long)}
     * (done by the JDK on this file; the mapping stays valid after this channel is closed).
     *
     * @param mode     read-only, read-write or private
     * @param position where the region starts, {@code >= 0}
     * @param size     the region's size, {@code 0 .. Integer.MAX_VALUE}
     * @return the mapped buffer
     * @throws IllegalArgumentException if {@code position} or {@code size} is negative or too large
     * @throws NonReadableChannelException if not opened for reading
     * @throws NonWritableChannelException if {@code mode} writes and the channel does not
     * @throws ClosedChannelException if this channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Size exceeds Integer.MAX_VALUE");
        }
        Objects.requireNonNull(mode, "Mode is null");
        ensureOpen();
        return onCompanion(false, c -> c.map(mode, position, size));
    }

    /**
     * Maps a region of the file as a segment of {@code arena}, as
     * {@link FileChannel#map(MapMode, long, long, Arena)}.
     *
     * @param mode   read-only, read-write or private
     * @param offset where the region starts, {@code >= 0}
     * @param size   the region's size, {@code >= 0}
     * @param arena  the arena whose closing unmaps the region
     * @return the mapped segment
     * @throws IllegalArgumentException if {@code offset} or {@code size} is negative
     * @throws IllegalStateException if {@code arena} is closed
     * @throws NonReadableChannelException if not opened for reading
     * @throws NonWritableChannelException if {@code mode} writes and the channel does not
     * @throws ClosedChannelException if this channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public MemorySegment map(MapMode mode, long offset, long size, Arena arena) throws IOException {
        Objects.requireNonNull(mode, "Mode is null");
        Objects.requireNonNull(arena, "Arena is null");
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("Already closed");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("Requested bytes offset must be >= 0.");
        }
        if (size < 0) {
            throw new IllegalArgumentException("Requested bytes size must be >= 0.");
        }
        ensureOpen();
        return onCompanion(false, c -> c.map(mode, offset, size, arena));
    }

    /**
     * Acquires a lock on a region of the file, waiting for it, as
     * {@link FileChannel#lock(long, long, boolean)}; {@link FileLock#channel()} is this channel.
     *
     * @param position where the region starts, {@code >= 0}
     * @param size     the region's size, {@code >= 0}; 0 locks to the end of any future size
     * @param shared   a shared (read) lock rather than an exclusive one
     * @return the lock
     * @throws IllegalArgumentException if {@code position} or {@code size} is negative
     * @throws NonReadableChannelException if {@code shared} and not opened for reading
     * @throws NonWritableChannelException if exclusive and not opened for writing
     * @throws java.nio.channels.OverlappingFileLockException if this JVM already holds or waits
     *         for an overlapping lock on the file
     * @throws ClosedChannelException if this channel is closed
     * @throws AsynchronousCloseException if another thread closes it while waiting
     * @throws FileLockInterruptionException if the thread is interrupted while waiting: the
     *         channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        checkLockable(shared);
        return new AuraFileLock(this, onCompanion(false, c -> c.lock(position, size, shared)));
    }

    /**
     * Tries to lock a region of the file without waiting, as
     * {@link FileChannel#tryLock(long, long, boolean)}.
     *
     * @param position where the region starts, {@code >= 0}
     * @param size     the region's size, {@code >= 0}; 0 locks to the end of any future size
     * @param shared   a shared (read) lock rather than an exclusive one
     * @return the lock, or null if another process holds an overlapping one
     * @throws IllegalArgumentException if {@code position} or {@code size} is negative
     * @throws NonReadableChannelException if {@code shared} and not opened for reading
     * @throws NonWritableChannelException if exclusive and not opened for writing
     * @throws java.nio.channels.OverlappingFileLockException if this JVM already holds or waits
     *         for an overlapping lock on the file
     * @throws ClosedChannelException if this channel is closed
     * @throws IOException on an I/O error
     */
    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        checkLockable(shared);
        FileLock lock = onCompanion(false, c -> c.tryLock(position, size, shared));
        return lock == null ? null : new AuraFileLock(this, lock);
    }

    private void checkLockable(boolean shared) throws ClosedChannelException {
        ensureOpen();
        if (shared && !readable) {
            throw new NonReadableChannelException();
        }
        if (!shared && !writable) {
            throw new NonWritableChannelException();
        }
    }

    /** {@link #begin()} for the I/O paths; nothing for an {@linkplain #setUninterruptible() uninterruptible} channel. */
    private void beginBlocking() {
        if (!uninterruptible) {
            begin();
        }
    }

    /**
     * {@return whether the file is neither a regular file nor a directory: a FIFO, a socket, a
     * character or block device} The JDK's stream over its own channel to such a file
     * ({@code Files.newInputStream}) reads it as a plain stream, never asking for its size or
     * position (a FIFO has neither: "Illegal seek"), in {@code readAllBytes}, {@code readNBytes},
     * {@code skip} and {@code transferTo}; {@link io.auraio.spi.AuraFileSystemProvider} asks this
     * to give its streams the same reads.
     */
    public boolean isOther() {
        return other;
    }

    /**
     * Makes this channel ignore interrupts, as the JDK does with the channel under a stream from
     * {@code Files.newInputStream} and {@code newOutputStream}: a thread whose interrupt status is
     * set, or gets set during a read or write, has it run to completion as usual, the channel stays
     * open and the status stays set. {@link AsynchronousCloseException} on a close by another thread
     * is unchanged. {@link io.auraio.spi.AuraFileSystemProvider} calls this for its streams; it
     * cannot be undone.
     */
    public void setUninterruptible() {
        uninterruptible = true;
        file.setUninterruptible();
    }

    /**
     * {@link #end(boolean)} for the I/O paths. An interrupt status seen here was set during the
     * operation (begin() closes the channel of a thread interrupted before it), so the channel
     * must end closed, as the JDK's would. Registering again on the interrupted thread closes it
     * here, on this thread, and end() then throws {@link ClosedByInterruptException}. Two cases
     * need it. On io_uring the interrupt wakes this thread's park before
     * {@link Thread#interrupt()} reaches the channel's interruptor, so this thread can leave and
     * unregister first; the interrupter then finds no blocker and the channel stayed open (seen
     * about 1 in 50). In JDK mode the file's own {@code FileChannel} runs its begin/end inside
     * ours, and its end() unregisters ours, so the interrupt closed only the inner channel.
     */
    private void endBlocking(boolean completed) throws AsynchronousCloseException {
        if (uninterruptible) {
            if (!completed && !isOpen()) {
                throw new AsynchronousCloseException();
            }
            return;
        }
        if (Thread.currentThread().isInterrupted()) {
            begin();
        }
        end(completed);
    }

    /** Work the JDK does on this file through the companion channel. */
    @FunctionalInterface
    private interface CompanionWork<T> {
        T on(FileChannel companion) throws IOException;
    }

    /**
     * Runs {@code work} on the companion channel. An interrupt during it closes the companion
     * (the JDK's own machinery); this channel then closes too, as a {@code FileChannel} would.
     * Inside this channel's begin/end ({@code withinBlocking}) the enclosing {@code end} then
     * throws {@link ClosedByInterruptException}; outside, the JDK's exception stays
     * ({@code FileLockInterruptionException} from {@code lock}). When this channel was closed
     * under the call, the companion's {@code ClosedChannelException} becomes an asynchronous close.
     */
    private <T> T onCompanion(boolean withinBlocking, CompanionWork<T> work) throws IOException {
        try {
            return work.on(companion.get());
        } catch (ClosedByInterruptException | FileLockInterruptionException e) {
            // The companion's end() replaced this channel's interrupt registration. begin() on an
            // interrupted thread registers it again, which closes this channel and marks the
            // thread as its interrupter.
            begin();
            if (!withinBlocking) {
                try {
                    end(false);
                } catch (ClosedByInterruptException expected) {
                    e.addSuppressed(expected); // the companion's exception is the one the JDK throws
                }
            }
            throw e;
        } catch (AsynchronousCloseException e) {
            throw e;
        } catch (ClosedChannelException e) {
            if (isOpen()) {
                throw e;
            }
            AsynchronousCloseException ace = new AsynchronousCloseException();
            ace.addSuppressed(e);
            throw ace;
        }
    }

    // ---- state ------------------------------------------------------------------------------

    private void ensureOpen() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
    }

    private void checkReadable() {
        if (!readable) {
            throw new NonReadableChannelException();
        }
    }

    private void checkWritable() {
        if (!writable) {
            throw new NonWritableChannelException();
        }
    }

    /** {@return the file under this channel} */
    AuraFile file() {
        return file;
    }

    /**
     * {@return the engine serving this channel}
     *
     * @throws UnsupportedOperationException if the channel is served by the JDK's file I/O
     *         ({@link #backend()} is {@link Backend#JDK}): there is no engine
     */
    public Engine engine() {
        return file.engine();
    }

    /** {@return what serves this channel's I/O: an io_uring engine, or the JDK's FileChannel (fallback)} */
    public Backend backend() {
        return file.backend();
    }

    /**
     * Closes the companion channel (releasing and invalidating this channel's locks), then the
     * file: its requests still in the kernel are cancelled and their threads get
     * {@link AsynchronousCloseException} (or {@link ClosedByInterruptException} when an interrupt
     * caused the close); returns once no thread uses the descriptor and it is closed.
     *
     * @throws IOException if closing either fails
     */
    @Override
    protected void implCloseChannel() throws IOException {
        IOException failure = null;
        try {
            companion.close();
        } catch (IOException e) {
            failure = e;
        }
        // On the interrupting thread (the JDK closes an interrupted thread's channel there) the
        // close must not wait for the interrupted thread, nor for the others, to leave: the last
        // to leave closes the descriptor. The cleaner stays registered then (its close would wait);
        // once the channel is unreachable nobody is inside it and that close returns at once.
        // The stack is walked only when a thread is inside an operation: with none, no close can
        // wait, and this one closes at once (none can enter once it is closed).
        boolean forInterrupt = false;
        try {
            if (!file.closeIfUnused()) {
                forInterrupt = closingForAnInterrupt();
                if (forInterrupt) {
                    IOException e = file.closeWithoutWaiting();
                    if (e != null) {
                        throw e;
                    }
                } else {
                    file.close();
                }
            }
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        if (!forInterrupt) {
            cleanable.clean();
        } // deregisters; its close of the already closed file does nothing
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * {@return whether this thread is inside {@link Thread#interrupt()} of another thread} The JDK
     * closes an interrupted thread's channel there, on the interrupting thread, before it even
     * unparks the interrupted one.
     */
    private static boolean closingForAnInterrupt() {
        return StackWalker.getInstance().walk(frames -> frames.anyMatch(f -> f.getMethodName().equals("interrupt")
                && (f.getClassName().equals("java.lang.Thread") || f.getClassName().equals("java.lang.VirtualThread"))));
    }

    @Override
    public String toString() {
        return "AuraFileChannel[" + file.path() + (isOpen() ? "" : ", closed") + "]";
    }
}
