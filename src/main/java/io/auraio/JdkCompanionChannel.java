package io.auraio;

import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.platform.PlatformProvider;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.StandardOpenOption;
import java.nio.file.spi.FileSystemProvider;
import java.util.Set;

/**
 * A JDK {@link FileChannel} on the same open file as an {@link AuraFileChannel}, for the work
 * that is not I/O the ring can do: {@code mmap}, {@code fcntl} locks and {@code ftruncate}.
 *
 * <p>In JDK mode ({@link AuraFile#backend()} is {@link Backend#JDK}) it is the file's own
 * {@code FileChannel}. Otherwise it is opened on first need by reopening {@code /proc/self/fd/<fd>}, which reaches the same
 * inode even after {@code DELETE_ON_CLOSE} unlinked the name or the file was renamed. Opened
 * through {@code java.io} rather than {@code java.nio.file}, so it never comes back through an
 * {@code AuraFileSystemProvider} installed as the default provider; a directory's, which
 * {@code java.io} cannot open, through the platform's provider ({@link PlatformProvider}). File locks taken through it
 * live in the JDK's own per-file lock table, so overlapping locks with any other channel of this
 * JVM are detected as the JDK detects them.
 */
final class JdkCompanionChannel {
    /**
     * One descriptor this JVM keeps in reserve (on {@code /dev/null}) for opening a companion
     * while the process is out of descriptors: {@code FileChannel.lock()} needs none, so
     * {@code AuraFileChannel.lock()} must not fail where it works. Spent on a failed open and
     * taken again when descriptors allow; -1 while there is none.
     */
    private static int reserve = -1; // guarded by RESERVE_LOCK
    private static final Object RESERVE_LOCK = new Object();

    private final AuraFile file;
    private final boolean readable;
    private final boolean writable;
    private FileChannel channel; // guarded by this
    private boolean closed; // guarded by this

    JdkCompanionChannel(AuraFile file, boolean readable, boolean writable) {
        this.file = file;
        this.readable = readable;
        this.writable = writable;
        if (file.jdkChannel() == null) {
            takeReserve();
        }
    }

    private static void takeReserve() {
        synchronized (RESERVE_LOCK) {
            if (reserve < 0) {
                int fd = Libc.open("/dev/null", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
                reserve = Math.max(fd, -1); // none to be had now: the next channel tries again
            }
        }
    }

    /** Closes the reserve descriptor so that the next open gets its number; false when there is none. */
    private static boolean spendReserve() {
        synchronized (RESERVE_LOCK) {
            if (reserve < 0) {
                return false;
            }
            Libc.close(reserve);
            reserve = -1;
            return true;
        }
    }

    /**
     * {@return the companion channel, opened with the owner's access mode on first call}
     *
     * @throws ClosedChannelException if {@link #close()} was called or the file is closed
     * @throws IOException if {@code /proc/self/fd} cannot be reopened
     */
    synchronized FileChannel get() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        FileChannel own = file.jdkChannel();
        if (own != null) {
            return own; // JDK mode: the file is a FileChannel already (closed with the file, not here)
        }
        if (channel == null) {
            // The file keeps its descriptor open until the reopen is done: a descriptor closed
            // meanwhile (an interrupt closes the file before this channel) could be reused.
            channel = file.withDescriptor(this::open);
        }
        return channel;
    }

    /**
     * Opens the companion; if that fails (out of descriptors, as the open's
     * FileNotFoundException, or a directory's FileSystemException, does not tell apart), spends
     * the reserve descriptor and tries once more, then takes a new reserve if descriptors allow.
     */
    private FileChannel open(int fd) throws IOException {
        try {
            return openProc(fd);
        } catch (FileNotFoundException | FileSystemException e) {
            if (!spendReserve()) {
                throw e;
            }
            try {
                return openProc(fd);
            } catch (FileNotFoundException | FileSystemException again) {
                again.addSuppressed(e);
                throw again;
            } finally {
                takeReserve();
            }
        }
    }

    private FileChannel openProc(int fd) throws IOException {
        String name = "/proc/self/fd/" + fd;
        if (file.fileType() == Statx.S_IFDIR) {
            // java.io opens no directory; the JDK's channel on one locks and maps as FileChannel
            // does (a shared lock, an empty mapping, ENODEV for more). Read-only: a directory's
            // descriptor can be nothing else.
            FileSystemProvider platform = PlatformProvider.get();
            return platform.newFileChannel(platform.getPath(URI.create("file://" + name)),
                    Set.of(StandardOpenOption.READ));
        }
        if (readable && writable) {
            return new RandomAccessFile(name, "rw").getChannel();
        }
        if (readable) {
            return new FileInputStream(name).getChannel();
        }
        // Append mode so that the stream's open never truncates; the companion itself never writes.
        return new FileOutputStream(name, true).getChannel();
    }

    /** Closes the companion (releasing its locks) and refuses to open another one. */
    void close() throws IOException {
        FileChannel c;
        synchronized (this) {
            closed = true;
            c = channel;
            channel = null;
        }
        if (c != null) {
            c.close();
        }
    }
}
