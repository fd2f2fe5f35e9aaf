package io.auraio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;

/**
 * The read-a-chunk, write-it loop of {@link AuraFileChannel}'s transfers where the kernel does not
 * copy: one loop, {@link #copy}, for every such transfer, as the JDK's {@code FileChannelImpl} has
 * one shape for its own. What differs from one transfer to another is only where a chunk comes
 * from ({@link Reader}: a file at a position, whole aligned blocks of a {@code DIRECT} file, a
 * channel's position, a pattern repeated), where it goes ({@link Writer}: the target's position
 * or a position in it), and the chunk's size ({@link #chunk}). Which transfer takes which is the
 * channel's choice, made for the JDK transfer it stands for.
 */
final class ChunkedTransfer {
    /**
     * The chunk between files and into selectable channels, where the JDK copies in the kernel or
     * from a mapping and the channels see no chunk of it: any chunk gives the JDK's result, and a
     * larger one makes fewer round trips to the ring. Also the size of the blocks a {@code DIRECT}
     * file is read in ({@link #alignedBlocks}): a multiple of every alignment.
     */
    static final int TRANSFER_SIZE = 64 * 1024;
    /**
     * The chunk with {@code DIRECT}: the JDK's ({@code FileChannelImpl.TRANSFER_SIZE}), so that a
     * transfer stops where the JDK's does, at the first chunk that is not a multiple of the
     * alignment (a 10,000-byte file transfers 8192 bytes).
     */
    static final int DIRECT_TRANSFER_SIZE = 8192;
    /**
     * The JDK's chunk ({@code FileChannelImpl.TRANSFER_SIZE}) where it reads and writes another
     * channel itself: a {@code transferTo} target that is neither a file nor a selectable channel,
     * a {@code transferFrom} source that is not a file of its own (a pipe, a socket, the
     * application's channel), and a copy within one file that the kernel refuses below
     * {@code MAPPED_TRANSFER_THRESHOLD}. Such a channel sees every call: the count a failure
     * midway leaves, the bytes a source loses to a write that fails, and what a copy within one
     * file reads of what it wrote are the JDK's only with its chunk.
     */
    static final int JDK_TRANSFER_SIZE = 8192;
    /**
     * The chunk of a transfer of {@code MAPPED_TRANSFER_THRESHOLD} or more into an {@code APPEND}
     * channel ({@code whole}): the JDK's ({@code FileChannelImpl.MAPPED_TRANSFER_SIZE}), which the
     * kernel cannot copy into such a file and writes a mapped chunk of with one {@code write}, so
     * that threads appending to the file meanwhile never land inside it. Written in
     * {@link #TRANSFER_SIZE} pieces instead, their records came between the pieces.
     */
    static final int APPEND_TRANSFER_SIZE = 8 * 1024 * 1024;

    /** Where a chunk comes from. */
    @FunctionalInterface
    interface Reader {
        /**
         * Puts the next chunk, {@code done} bytes into the transfer, between the position and the
         * limit of {@code bb}, which comes cleared with its limit at the most the chunk may hold.
         *
         * @return the chunk's length, or 0 or less at the end of the source
         */
        int read(ByteBuffer bb, long done) throws IOException;
    }

    /** Where a chunk goes. */
    @FunctionalInterface
    interface Writer {
        /** Writes the bytes of {@code src}, {@code done} bytes into the transfer. {@return the bytes written} */
        int write(ByteBuffer src, long done) throws IOException;
    }

    private ChunkedTransfer() {}

    /**
     * {@return the chunk of a transfer} {@code direct} for a {@code DIRECT} file the chunks go
     * through the ring of ({@code transferTo}'s source, {@code transferFrom}'s target),
     * {@code whole} for a mapped transfer into an {@code APPEND} channel, {@code jdkLoops} where the
     * JDK reads or writes the other channel itself a chunk at a time.
     */
    static int chunk(boolean direct, boolean whole, boolean jdkLoops) {
        return direct ? DIRECT_TRANSFER_SIZE : whole ? APPEND_TRANSFER_SIZE
                : jdkLoops ? JDK_TRANSFER_SIZE : TRANSFER_SIZE;
    }

    /** {@link #copy(long, int, ByteBuffer, Reader, Writer)} through a buffer of one chunk. */
    static long copy(long count, int chunk, Reader in, Writer out) throws IOException {
        return copy(count, chunk, ByteBuffer.allocate((int) Math.min(count, chunk)), in, out);
    }

    /**
     * Copies up to {@code count} bytes from {@code in} to {@code out} through {@code bb}, at most
     * {@code chunk} bytes at a time, as the JDK's loops: it stops at the end of the source, and at
     * the first chunk the target takes only part of (a non-blocking channel, a short write), the
     * rest of that chunk unwritten; an I/O error after some bytes were written ends it with their
     * count, the error left for the next call to report.
     *
     * @return the bytes written
     * @throws IOException on an I/O error before any byte was written
     */
    static long copy(long count, int chunk, ByteBuffer bb, Reader in, Writer out) throws IOException {
        long written = 0;
        try {
            while (written < count) {
                bb.clear().limit((int) Math.min(count - written, chunk));
                int nr = in.read(bb, written);
                if (nr <= 0) {
                    break;
                }
                int nw = out.write(bb, written);
                written += nw;
                if (nw != nr) {
                    break;
                }
            }
            return written;
        } catch (IOException e) {
            if (written > 0) {
                return written;
            }
            throw e;
        }
    }

    /**
     * Chunks of {@code in} from {@code from} on, read at their positions; with {@code whole}, each
     * until it is full or the file ends, so that it goes to an {@code APPEND} target in one write as
     * the JDK's mapped chunk does. A read that fails after others filled part of the chunk ends the
     * chunk with what they read, as the JDK's write of a mapped chunk stops at the page that fails:
     * the transfer writes it and counts it, and the next chunk's first read, at the failing
     * position, reports the error (failing the chunk instead dropped up to 8 MiB that were read,
     * and a transfer that had written nothing before it threw where the same transfer into a
     * channel without {@code APPEND} returned those bytes).
     */
    static Reader fileAt(FileChannel in, long from, boolean whole) {
        return (bb, done) -> {
            long at = from + done;
            int nr = in.read(bb, at);
            while (whole && nr > 0 && bb.hasRemaining()) {
                int more;
                try {
                    more = in.read(bb, at + nr);
                } catch (ClosedChannelException e) {
                    throw e; // closed, or interrupted: the transfer ends as the JDK's does
                } catch (IOException e) {
                    break;
                }
                if (more <= 0) {
                    break;
                }
                nr += more;
            }
            bb.flip();
            return nr;
        };
    }

    /**
     * Chunks of a {@code DIRECT} file {@code in} from {@code from} on, read as the whole blocks of
     * {@code align} bytes around them, into a buffer of {@link #TRANSFER_SIZE}: the JDK's transfer
     * from an O_DIRECT file of {@code MAPPED_TRANSFER_THRESHOLD} or more goes through a mapping of
     * the file, which takes any position and count, where O_DIRECT reads need aligned ones. (Below
     * that count the JDK's transfer reads as the channel's do, and a misaligned position fails in
     * both.) The JDK's transfer from such a file into another ({@code transferFrom}) maps it too.
     */
    static long copyThroughAlignedReads(FileChannel in, int align, long from, long count, Writer out)
            throws IOException {
        return copy(count, TRANSFER_SIZE, ByteBuffer.allocate(TRANSFER_SIZE), alignedBlocks(in, align, from), out);
    }

    private static Reader alignedBlocks(FileChannel in, int align, long from) {
        return (blocks, done) -> {
            long pos = from + done;
            long start = pos - pos % align;
            int skip = (int) (pos - start);
            int wanted = Math.min(blocks.capacity(), skip + blocks.limit());
            blocks.limit((wanted + align - 1) / align * align);
            int nr = in.read(blocks, start);
            if (nr <= skip) {
                return 0; // the end of the file
            }
            blocks.limit(Math.min(nr, wanted)).position(skip);
            return blocks.remaining();
        };
    }

    /**
     * Chunks read from a channel's own position on, which advances ({@code transferFrom}'s source);
     * counts what it read, so that the transfer can give back to a file what it did not write.
     */
    static final class ChannelReads implements Reader {
        private final ReadableByteChannel src;
        private final boolean whole;
        private final boolean beforeLargestOffset;
        private final long to;
        private long read;

        /**
         * With {@code whole}, each chunk is read until it is full or the source ends, as the JDK's
         * mapped chunk into an {@code APPEND} target. With {@code beforeLargestOffset}, chunks
         * written at {@code to} on stop before {@code Long.MAX_VALUE}: the JDK copies from a file's
         * channel in the kernel, whose copy stops at the largest offset (tmpfs: Long.MAX_VALUE)
         * where a write across it fails ("Invalid argument").
         */
        ChannelReads(ReadableByteChannel src, boolean whole, boolean beforeLargestOffset, long to) {
            this.src = src;
            this.whole = whole;
            this.beforeLargestOffset = beforeLargestOffset;
            this.to = to;
        }

        /** {@return the bytes read so far} */
        long read() {
            return read;
        }

        @Override
        public int read(ByteBuffer bb, long done) throws IOException {
            if (beforeLargestOffset) {
                bb.limit((int) Math.min(bb.limit(), Long.MAX_VALUE - (to + done)));
            }
            int nr = src.read(bb);
            while (whole && nr > 0 && bb.hasRemaining()) {
                int more;
                try {
                    more = src.read(bb);
                } catch (IOException e) {
                    // Unlike a file's, these bytes are gone from the source: what was read is
                    // written, and the source's next read reports the error.
                    break;
                }
                if (more <= 0) {
                    break;
                }
                nr += more;
            }
            if (nr > 0) {
                read += nr;
            }
            bb.flip();
            return nr;
        }
    }

    /**
     * A copy within one file from {@code from} to {@code to} of {@code out}, past {@code from} and
     * before {@code from + count}: where {@code copy_file_range} refuses overlapping ranges, the
     * JDK's {@code sendfile} ({@code transferTo}) and its write from a mapping of the file
     * ({@code transferFrom}) copy front to back through the page cache, so the bytes written past
     * {@code to} are read again further on, and the target range ends up as the first
     * {@code to - from} source bytes over and over. (Reading it all first, as a copy to another file
     * does, left the source's bytes there instead.) Written as that: the pattern read once, then
     * whole repetitions of it a chunk at a time; a distance of more than a chunk is copied a chunk
     * at a time, each read after the writes before it, so that it reads what they wrote. (Not for
     * {@code DIRECT}, whose aligned transfers take their own ways.)
     *
     * @return the bytes written, as the read-and-write loop's count
     */
    static long copyForwardWithinFile(FileChannel in, long from, long count, FileChannel out, long to)
            throws IOException {
        long distance = to - from;
        Writer at = (bb, done) -> out.write(bb, to + done);
        if (distance >= TRANSFER_SIZE) {
            return copy(count, TRANSFER_SIZE, fileAt(in, from, false), at);
        }
        int d = (int) distance;
        ByteBuffer pattern = ByteBuffer.allocate(d);
        while (pattern.hasRemaining() && in.read(pattern, from + pattern.position()) > 0) {
            // the whole pattern: a read may be short
        }
        if (pattern.hasRemaining()) {
            return 0; // cut meanwhile: the copy would read nothing either
        }
        ByteBuffer repeated = ByteBuffer.allocate(TRANSFER_SIZE / d * d);
        while (repeated.hasRemaining()) {
            repeated.put(pattern.array());
        }
        // Nothing more to read: each chunk is the repetitions already in the buffer.
        return copy(count, repeated.capacity(), repeated, (bb, done) -> bb.remaining(), at);
    }
}
