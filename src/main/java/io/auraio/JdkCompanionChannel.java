package io.auraio;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;

/**
 * A JDK {@link FileChannel} on the same open file as an {@link AuraFileChannel}, for the work
 * that is not I/O the ring can do: {@code mmap}, {@code fcntl} locks and {@code ftruncate}.
 *
 * <p>In JDK mode ({@link AuraFile#backend()} is {@link Backend#JDK}) it is the file's own
 * {@code FileChannel}. Otherwise it is opened on first need by reopening {@code /proc/self/fd/<fd>}, which reaches the same
 * inode even after {@code DELETE_ON_CLOSE} unlinked the name or the file was renamed. Opened
 * through {@code java.io} rather than {@code java.nio.file}, so it never comes back through an
 * {@code AuraFileSystemProvider} installed as the default provider. File locks taken through it
 * live in the JDK's own per-file lock table, so overlapping locks with any other channel of this
 * JVM are detected as the JDK detects them.
 */
final class JdkCompanionChannel {
    private final AuraFile file;
    private final boolean readable;
    private final boolean writable;
    private FileChannel channel; // guarded by this
    private boolean closed; // guarded by this

    JdkCompanionChannel(AuraFile file, boolean readable, boolean writable) {
        this.file = file;
        this.readable = readable;
        this.writable = writable;
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

    private FileChannel open(int fd) throws IOException {
        String name = "/proc/self/fd/" + fd;
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
