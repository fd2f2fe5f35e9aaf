package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.mapped.MappedReads;
import io.auraio.internal.pool.BufferPool;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;

/**
 * The buffers' side of {@link AuraFile}'s vectored transfers ({@link AuraFileChannel}'s scattering
 * reads and gathering writes): the caller's buffers made into what one system call or ring request
 * takes, then what it moved given back to them, their positions advanced in order. Through
 * {@code struct iovec}s ({@link #throughIovec}), or, for a {@link SlowFile}, one buffer that
 * gathers and scatters them ({@link #throughOneBuffer}). Where the transfer goes (the caller, a
 * ring, the offload pool) and what its failure means are the file's: its part comes as an
 * {@link Iovec} or a {@link OneBuffer}.
 */
final class VectoredTransfer {
    /** The file's transfer of an iovec. */
    @FunctionalInterface
    interface Iovec {
        /**
         * Transfers to or from the {@code count} {@code struct iovec}s at {@code iov}, {@code total}
         * bytes in all, in one {@code preadv}/{@code pwritev}. {@return the bytes transferred}
         *
         * @throws IOException the failure the caller sees
         */
        long transfer(MemorySegment iov, int count, long total) throws IOException;
    }

    /** The file's transfer of one buffer. */
    @FunctionalInterface
    interface OneBuffer {
        /**
         * Transfers {@code length} bytes to or from {@code address} in one {@code pread}/{@code pwrite}.
         * {@return the bytes transferred}
         *
         * @throws IOException the failure the caller sees
         */
        long transfer(long address, long length) throws IOException;
    }

    private VectoredTransfer() {}

    /**
     * One {@code preadv}/{@code pwritev} of the non-empty buffers of {@code bufs[offset, end)}, made
     * by {@code kernel} with an iovec of at most {@link AuraFile#MAX_TRANSFER} bytes. Heap memory and
     * memory another thread may free while the kernel works ({@link CallerMemory}) reach it as copies
     * in {@code pool}'s memory, which the call gives back. Advances the buffers' positions by what
     * was transferred, in order.
     *
     * @param direct whether the file is {@code DIRECT}: a copy then keeps its buffer's offset in a page
     * @return the byte count; 0 at end of file for a read
     */
    static long throughIovec(boolean read, ByteBuffer[] bufs, int offset, int end, BufferPool pool, boolean direct,
                             Iovec kernel) throws IOException {
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
        MemorySegment[] copies = new MemorySegment[n]; // the part of each bounce the kernel sees
        // Each entry's position and length as the call starts: the same buffer may come twice
        // (the JDK then leaves in it what the kernel wrote last, and each entry's position at
        // its start plus what it took).
        int[] starts = new int[n];
        long[] lengths = new long[n];
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
                CallerMemory.checkUsable(segment);
                long length = Math.min(segment.byteSize(), AuraFile.MAX_TRANSFER - total);
                // With DIRECT the buffer addresses are the kernel's to judge, as in the JDK's
                // readv/writev: it takes what the file system takes (tmpfs any, ext4 512).
                MemorySegment target = segment;
                // Heap memory, and memory another thread may free while the kernel works
                // (CallerMemory), reach the kernel as pool copies only.
                if (!segment.isNative() || CallerMemory.freeableByOthers(segment)) {
                    // With DIRECT a native buffer's copy (pool memory is page-aligned) sits at its
                    // address's offset in a page, so that the kernel judges the alignment it would
                    // judge of the buffer itself: a page-aligned copy took a misaligned direct
                    // buffer that FileChannel's readv/writev (and the kernel) refuse.
                    long shift = direct && segment.isNative() ? segment.address() & (AuraFile.PAGE - 1) : 0;
                    bounces[k] = pool.acquire(length + shift);
                    if (bounces[k].equals(MemorySegment.NULL)) {
                        throw Failures.io(read ? "readv" : "writev", Errno.ENOMEM);
                    }
                    copies[k] = bounces[k].asSlice(shift, length);
                    // A buffer whose memory faults (a MappedByteBuffer of a file another
                    // process cut short): as the kernel's writev, the buffers before it are
                    // written, and with none, EFAULT.
                    if (!read && !MappedReads.copyUnlessFaulted(segment, 0, copies[k], 0, length)) {
                        if (k == 0) {
                            throw Failures.transfer(Errno.EFAULT);
                        }
                        n = k;
                        break;
                    }
                    target = copies[k];
                }
                used[k] = b;
                segments[k] = segment;
                starts[k] = b.position();
                lengths[k] = length;
                iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * k, target.address());
                iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * k + 1, length);
                total += length;
                k++;
                if (total >= AuraFile.MAX_TRANSFER) {
                    n = k; // Linux stops at MAX_RW_COUNT anyway: leave the rest out
                    break;
                }
            }
            long r = kernel.transfer(iov, n, total);
            long left = r;
            for (int k = 0; k < n && left > 0 && read; k++) {
                int take = (int) Math.min(left, lengths[k]);
                if (copies[k] != null && !MappedReads.copyUnlessFaulted(copies[k], 0, segments[k], 0, take)) {
                    // Memory that faults (a MappedByteBuffer of a file another process cut
                    // short): as the kernel's readv, the bytes of the buffers before it
                    // count, and with none, EFAULT.
                    if (r == left) {
                        throw Failures.transfer(Errno.EFAULT);
                    }
                    r -= left;
                    break;
                }
                left -= take;
            }
            left = r;
            for (int k = 0; k < n && left > 0; k++) {
                int take = (int) Math.min(left, lengths[k]);
                used[k].position(starts[k] + take);
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
    }

    /**
     * Moves past {@code bytes} of the {@code struct iovec}s from index {@code first} on, changing
     * the one it ends inside so that it starts after them. {@return the index of the first
     * iovec with bytes left}
     */
    static int consume(MemorySegment iov, int first, long bytes) {
        while (bytes > 0) {
            long length = iov.getAtIndex(ValueLayout.JAVA_LONG, 2L * first + 1);
            if (bytes < length) {
                iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * first, iov.getAtIndex(ValueLayout.JAVA_LONG, 2L * first) + bytes);
                iov.setAtIndex(ValueLayout.JAVA_LONG, 2L * first + 1, length - bytes);
                return first;
            }
            bytes -= length;
            first++;
        }
        return first;
    }

    /**
     * A vectored transfer of a {@link SlowFile}: one {@code pread}/{@code pwrite} of one buffer
     * that gathers (before a write) or scatters (after a read) the caller's buffers, so that it is
     * one system call, as {@code preadv}/{@code pwritev} (an APPEND write lands in one piece).
     * Advances the buffers' positions by what was transferred, in order.
     *
     * @param kernel the file's one {@code pread}/{@code pwrite} of the gathering buffer
     * @return the byte count; 0 at end of file for a read
     */
    static long throughOneBuffer(boolean read, ByteBuffer[] bufs, int offset, int end, OneBuffer kernel)
            throws IOException {
        long total = 0;
        int[] starts = new int[end - offset]; // as the call starts: a buffer may come twice
        int[] lengths = new int[end - offset];
        for (int i = offset; i < end; i++) {
            starts[i - offset] = bufs[i].position();
            lengths[i - offset] = bufs[i].remaining();
            total = Math.min(AuraFile.MAX_TRANSFER, total + bufs[i].remaining());
        }
        if (total == 0) {
            return 0;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gathered = arena.allocate(total, 64);
            if (!read) {
                long at = 0;
                for (int i = offset; i < end && at < total; i++) {
                    MemorySegment b = MemorySegment.ofBuffer(bufs[i]);
                    long take = Math.min(b.byteSize(), total - at);
                    if (!MappedReads.copyUnlessFaulted(b, 0, gathered, at, take)) {
                        // Memory that faults (a MappedByteBuffer of a file another process cut
                        // short): as the kernel's writev, the buffers before it, or EFAULT.
                        if (at == 0) {
                            throw Failures.transfer(Errno.EFAULT);
                        }
                        total = at;
                        break;
                    }
                    at += take;
                }
            }
            long r = kernel.transfer(gathered.address(), total);
            long left = r;
            long at = 0;
            for (int i = offset; i < end && left > 0; i++) {
                ByteBuffer b = bufs[i];
                int take = (int) Math.min(left, lengths[i - offset]);
                if (read && !MappedReads.copyUnlessFaulted(gathered, at,
                        MemorySegment.ofBuffer(b.position(starts[i - offset])), 0, take)) {
                    // As for a write above: the bytes of the buffers before it, or EFAULT.
                    if (at == 0) {
                        throw Failures.transfer(Errno.EFAULT);
                    }
                    return at;
                }
                b.position(starts[i - offset] + take);
                at += take;
                left -= take;
            }
            return r;
        }
    }
}
