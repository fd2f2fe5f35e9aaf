package io.auraio;

import io.auraio.internal.binding.Errno;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The {@link Backend#JDK} mode of an {@link AuraFile}: its transfers, {@code force}, {@code size} and
 * {@code close} as {@link FileChannel} calls on the calling thread. {@link AuraFile} keeps its own
 * checks, begin/end template and close protocol around these calls, so both modes answer alike.
 */
final class JdkFile {
    /** A heap segment over something other than a {@code byte[]} goes through a copy of at most this size. */
    private static final int HEAP_COPY_MAX = 1 << 20;

    private final FileChannel channel;
    private final int directAlignment;

    private static final String ILLEGAL_SEEK = Errno.message(Errno.ESPIPE);

    private final Object vectoredLock = new Object();

    /** Cleared on the first ESPIPE: positional transfers then become plain ones. */
    private volatile boolean seekable = true;

    private JdkFile(FileChannel channel, int directAlignment) {
        this.channel = channel;
        this.directAlignment = directAlignment;
    }

    /**
     * Opens {@code path} with {@link FileChannel#open}. {@code DELETE_ON_CLOSE} is done here as the
     * io_uring mode does it (unlink right after the open, which is also what the JDK does) so that
     * the O_DIRECT alignment can be read from the file's store before the name goes.
     */
    static JdkFile open(Path path, Set<? extends OpenOption> options, OpenMode mode,
                        java.nio.file.attribute.FileAttribute<?>... attrs) throws IOException {
        Set<OpenOption> jdkOptions = new HashSet<>(options);
        if (jdkOptions.remove(StandardOpenOption.DELETE_ON_CLOSE)) {
            jdkOptions.add(LinkOption.NOFOLLOW_LINKS); // DELETE_ON_CLOSE implies it
        }
        FileChannel channel = FileChannel.open(path, jdkOptions, attrs);
        try {
            // FileChannel requires O_DIRECT transfers aligned to the store's block size (statvfs
            // f_frsize); AuraFile checks the same value first and reports it its own way.
            int alignment = mode.direct() ? (int) Files.getFileStore(path).getBlockSize() : 0;
            if (mode.deleteOnClose() && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                // Best effort, as the JDK's unlink: a failure is ignored, and a directory (which
                // unlink refuses; deleteIfExists would remove an empty one) stays.
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // best effort
                }
            }
            return new JdkFile(channel, alignment);
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
            } catch (IOException closeFailure) {
                e.addSuppressed(closeFailure);
            }
            throw e;
        }
    }

    /** {@return the alignment O_DIRECT positions, lengths and native addresses need; 0 without DIRECT} */
    int directAlignment() {
        return directAlignment;
    }

    FileChannel channel() {
        return channel;
    }

    /**
     * One read or write of all of {@code segment} (already capped to one transfer) at {@code position}.
     *
     * @return the byte count; 0 (not -1) at end of file, as a kernel read returns
     */
    long transfer(boolean read, MemorySegment segment, long position) throws IOException {
        try {
            ByteBuffer buffer = asByteBuffer(segment);
            if (buffer != null) {
                return count(transfer(read, buffer, position));
            }
            int length = (int) Math.min(segment.byteSize(), HEAP_COPY_MAX);
            byte[] copy = new byte[length];
            if (!read) {
                MemorySegment.copy(segment, 0, MemorySegment.ofArray(copy), 0, length);
            }
            int n = count(transfer(read, ByteBuffer.wrap(copy), position));
            if (read && n > 0) {
                MemorySegment.copy(MemorySegment.ofArray(copy), 0, segment, 0, n);
            }
            return n;
        } catch (IOException e) {
            throw translate(e);
        }
    }

    /** {@return a buffer over {@code segment}, or null for a heap segment over another array type than {@code byte[]}} */
    private static ByteBuffer asByteBuffer(MemorySegment segment) {
        try {
            return segment.asByteBuffer();
        } catch (UnsupportedOperationException e) {
            return null; // the caller copies through a byte[]
        }
    }

    private int transfer(boolean read, ByteBuffer buffer, long position) throws IOException {
        if (!seekable || position == AuraFile.FILE_POSITION) {
            return read ? channel.read(buffer) : channel.write(buffer);
        }
        try {
            return read ? channel.read(buffer, position) : channel.write(buffer, position);
        } catch (IOException e) {
            if (e.getClass() != IOException.class || !ILLEGAL_SEEK.equals(e.getMessage())) {
                throw e;
            }
            // A FIFO or character device: pread(2) refuses it, read(2) works. The io_uring mode
            // reads such a file at its current position too (the kernel ignores the offset).
            seekable = false;
            return read ? channel.read(buffer) : channel.write(buffer);
        }
    }

    /**
     * The JDK channel's readv/writev of {@code bufs[offset, offset + length)} at {@code position}
     * ({@link AuraFile#FILE_POSITION}: where the channel is). The channel has no positional form,
     * so its position is set first, under a lock; its position is not used for anything else but
     * the relative transfers of files with no position of their own, which never come here with
     * a position.
     *
     * @return the byte count; 0 (not -1) at end of file
     */
    long transferVectored(boolean read, ByteBuffer[] bufs, int offset, int length, long position) throws IOException {
        try {
            synchronized (vectoredLock) {
                if (position != AuraFile.FILE_POSITION) {
                    channel.position(position);
                }
                return Math.max(0, read ? channel.read(bufs, offset, length) : channel.write(bufs, offset, length));
            }
        } catch (IOException e) {
            throw translate(e);
        }
    }

    private static int count(int n) {
        return Math.max(n, 0);
    }

    void force(boolean metaData) throws IOException {
        try {
            channel.force(metaData);
        } catch (IOException e) {
            throw translate(e);
        }
    }

    long size() throws IOException {
        try {
            return channel.size();
        } catch (IOException e) {
            throw translate(e);
        }
    }

    void close() throws IOException {
        channel.close();
    }

    /**
     * A plain {@link IOException} from {@link FileChannel} carries only the C library's message for
     * the errno: find the errno back, so the caller gets the {@link AuraIOException} the io_uring mode
     * would throw. Subclasses (ClosedChannelException, ClosedByInterruptException...) are the JDK's
     * own answers and pass through. The message stays the JDK's ("Invalid argument", "Is a
     * directory"), as the io_uring mode's is for the kernel's answer to a transfer or seek: it
     * said "read: Invalid argument", "lseek: ...", differing from both FileChannel and io_uring mode.
     */
    static IOException translate(IOException e) {
        if (e.getClass() != IOException.class || e.getMessage() == null) {
            return e;
        }
        Integer errno = ErrnoByMessage.MAP.get(e.getMessage());
        return errno == null ? e : new AuraIOException(e.getMessage(), errno, e);
    }

    private static final class ErrnoByMessage {
        /** Linux errnos run from 1 to 133 (EHWPOISON). */
        private static final int LAST_ERRNO = 133;
        static final Map<String, Integer> MAP = new HashMap<>();

        static {
            for (int errno = LAST_ERRNO; errno >= 1; errno--) {
                MAP.put(Errno.message(errno), errno); // lowest errno wins where two share a message
            }
        }
    }
}
