package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.pool.BufferPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a request needs from its caller, made once per submission: its SQE's fields, and what the
 * engine holds for it until the kernel is done (pool memory it owns, Buffers it retains, the
 * registered buffer or file it uses, the pool copy of caller memory: {@link Bounce}). Made by
 * {@link #transfer}, {@link #vector} and {@link #sync} (and by {@link MetadataRequest}'s
 * factories); a request that is not submitted after all is {@linkplain #unprepare undone}, one
 * that completed is {@linkplain #finish finished}.
 */
record PreparedRequest(int opcode, int sqeFlags, int fd, long offset, long address, int length, int bufIndex,
                       int opFlags, MemorySegment ownedMemory, Buffer[] retained, boolean fixedBuffer,
                       boolean fixedFile, Bounce bounce) {
    PreparedRequest(int opcode, int sqeFlags, int fd, long offset, long address, int length, int bufIndex,
                    int opFlags, MemorySegment ownedMemory, Buffer[] retained, boolean fixedBuffer, boolean fixedFile) {
        this(opcode, sqeFlags, fd, offset, address, length, bufIndex, opFlags, ownedMemory, retained, fixedBuffer,
                fixedFile, null);
    }

    static void checkFd(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("fd must be >= 0, was " + fd);
        }
    }

    static void checkOffset(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, was " + offset);
        }
    }

    /**
     * Refuses a chain whose links would see caller memory out of order because one of them reaches
     * the kernel as a copy (heap memory, a shared or automatic arena's, a Buffer's segment without
     * its owner, a direct buffer: {@link CallerMemory}):
     * <ul>
     *   <li>a copied write of memory that an earlier read of the chain fills: the copy is made when
     *       the chain is submitted, before the read has run, so the write would write the bytes
     *       from before the read and report success;</li>
     *   <li>a later link that uses, as it is, memory that an earlier read fills through a copy:
     *       the copy reaches the caller's memory only when the read is reaped, and the kernel runs
     *       the next link as soon as the read is done, often before that; a write then wrote the
     *       bytes from before the read (seen), a read had its bytes overwritten.</li>
     * </ul>
     * (A Buffer's own {@link Buffer#ref() ref()} and global memory reach the kernel as they are;
     * chains of those work. A confined arena's memory is refused in every request form.)
     *
     * @throws IllegalArgumentException naming the two links
     */
    static void checkChainMemory(PreparedRequest[] chain) {
        for (int w = 1; w < chain.length; w++) {
            PreparedRequest later = chain[w];
            boolean copiedWrite = later.bounce() != null
                    && (later.opcode() == Opcode.WRITE || later.opcode() == Opcode.WRITEV);
            List<long[]> used = memoryRanges(later);
            for (int r = 0; r < w; r++) {
                PreparedRequest read = chain[r];
                if (!isRead(read)) {
                    continue;
                }
                boolean copiedRead = read.bounce() != null;
                if (!copiedWrite && !(copiedRead && later.bounce() == null)) {
                    continue;
                }
                for (long[] filled : memoryRanges(read)) {
                    for (long[] range : used) {
                        if (range[0] < filled[0] + filled[1] && filled[0] < range[0] + range[1]) {
                            throw new IllegalArgumentException(copiedWrite
                                    ? "link " + w + " of the chain writes memory that link " + r + " reads into, and"
                                    + " that memory reaches the kernel as a copy made when the chain is submitted,"
                                    + " before the read: use a Buffer's ref() (Engine.allocateBuffer) or the"
                                    + " global arena's memory"
                                    : "link " + w + " of the chain uses memory that link " + r + " reads into"
                                    + " through a copy, which reaches that memory only once the read is reaped,"
                                    + " after the kernel ran link " + w + ": use a Buffer's ref() (not"
                                    + " BufferRef.of of its segment) or the global arena's memory");
                        }
                    }
                }
            }
        }
    }

    private static boolean isRead(PreparedRequest p) {
        return p.opcode() == Opcode.READ || p.opcode() == Opcode.READV || p.opcode() == Opcode.READ_FIXED;
    }

    /**
     * {@return the caller's memory a prepared read or write uses, as {address, length} pairs (for
     * a copied one, the caller's memory the copy stands for); none for other requests}
     */
    private static List<long[]> memoryRanges(PreparedRequest p) {
        List<long[]> ranges = new ArrayList<>();
        int op = p.opcode();
        if (p.bounce() != null) {
            for (MemorySegment m : p.bounce().callerMemory()) {
                ranges.add(new long[] {m.address(), m.byteSize()});
            }
        } else if (op == Opcode.READ || op == Opcode.WRITE || op == Opcode.READ_FIXED || op == Opcode.WRITE_FIXED) {
            ranges.add(new long[] {p.address(), p.length()});
        } else if (op == Opcode.READV || op == Opcode.WRITEV) {
            MemorySegment iov = MemorySegment.ofAddress(p.address()).reinterpret(16L * p.length());
            for (int i = 0; i < p.length(); i++) {
                ranges.add(new long[] {iov.getAtIndex(ValueLayout.JAVA_LONG, 2L * i),
                        iov.getAtIndex(ValueLayout.JAVA_LONG, 2L * i + 1)});
            }
        }
        return ranges;
    }

    /**
     * The pool copy the kernel reads or writes instead of caller memory that another thread may
     * free while the request is in the kernel (see {@link CallerMemory}); {@code callerMemory}
     * are the caller's segments, in order, that {@code memory} stands for.
     */
    private record Bounce(MemorySegment memory, MemorySegment[] callerMemory) {
        /**
         * Copies the caller's bytes in, for a write; gives the copy back to {@code pool} if that
         * fails (the caller's arena closed meanwhile: IllegalStateException).
         *
         * @throws AuraIOException EFAULT when the caller's memory faults (SIGBUS: a mapped file
         *         truncated under its mapping), as the kernel's write of it would say
         */
        void fillOrRelease(BufferPool pool, String op) throws AuraIOException {
            try {
                long at = 0;
                for (MemorySegment s : callerMemory) {
                    MemorySegment.copy(s, 0, memory, at, s.byteSize());
                    at += s.byteSize();
                }
            } catch (RuntimeException e) {
                pool.release(memory);
                throw e;
            } catch (InternalError fault) {
                pool.release(memory);
                throw Failures.request(op, Errno.EFAULT, "the buffer's memory faulted");
            }
        }

        /**
         * Copies the {@code count} bytes the kernel read out to the caller's memory. {@return
         * {@code count}, or -EFAULT when the caller's memory was freed meanwhile (the bytes are
         * lost, never written into memory that is no longer the caller's) or faults}
         */
        long drain(long count) {
            long left = count;
            try {
                for (MemorySegment s : callerMemory) {
                    if (left <= 0) {
                        break;
                    }
                    long n = Math.min(left, s.byteSize());
                    MemorySegment.copy(memory, count - left, s, 0, n);
                    left -= n;
                }
            } catch (IllegalStateException closed) {
                return -Errno.EFAULT;
            } catch (InternalError fault) {
                // The memory faulted (SIGBUS: a mapped file truncated under its mapping), where the
                // kernel would have said EFAULT. Not a failure of the ring: this runs on the thread
                // that completes requests, which must not die of a caller's memory.
                return -Errno.EFAULT;
            }
            return count;
        }
    }

    /** {@return whether the {@code length} bytes at {@code segment}'s start lie in {@code owner}'s memory} */
    private static boolean within(MemorySegment segment, long length, Buffer owner) {
        MemorySegment memory = owner.segment();
        long start = segment.address() - memory.address();
        return start >= 0 && start <= memory.byteSize() - length;
    }

    /**
     * Checks caller memory for a callback or future request, whose caller goes on running while
     * the kernel works, and {@return whether it must be copied through a {@link Bounce}}.
     *
     * @throws IllegalStateException for memory of a confined arena, as the JDK's asynchronous
     *         channels: its owner could close the arena while the kernel writes into it
     */
    private static boolean needsBounce(MemorySegment segment, String what) {
        if (CallerMemory.isConfined(segment)) {
            throw new IllegalStateException(what + " is memory of a confined arena, which its owner thread may close "
                    + "while the request is in the kernel: use a Buffer from allocateBuffer, or memory of a shared, "
                    + "automatic or the global arena");
        }
        return CallerMemory.freeableByOthers(segment);
    }

    private static MemorySegment bounceMemory(BufferPool pool, String op, long size) throws AuraIOException {
        MemorySegment m = pool.acquire(size);
        if (m.equals(MemorySegment.NULL)) {
            throw Failures.request(op, Errno.ENOMEM, "no memory for the copy of the caller's buffer");
        }
        return m;
    }

    /**
     * Prepares a read or write of {@code length} bytes at {@code offset} of {@code fd} with
     * {@code buf}, for a callback, future or chained request on {@code core}; throws as
     * {@link Engine#read(int, BufferRef, long, long, Callback, Object)} says.
     */
    static PreparedRequest transfer(IoEngine core, boolean read, int fd, BufferRef buf, long length, long offset)
            throws AuraIOException {
        checkFd(fd);
        Objects.requireNonNull(buf, "buf");
        checkOffset(offset);
        if (length < 0 || length > AuraFile.MAX_TRANSFER) {
            throw new IllegalArgumentException("length must be between 0 and " + AuraFile.MAX_TRANSFER + ", was "
                    + length);
        }
        if (offset > Long.MAX_VALUE - length) {
            throw new AuraIOException("offset + length overflows a file offset: " + offset + " + " + length,
                    Errno.EOVERFLOW);
        }
        boolean fixed = buf instanceof BufferRef.Fixed;
        long address;
        int bufIndex = 0;
        Buffer[] retained = null;
        Bounce bounce = null;
        if (buf instanceof BufferRef.Fixed f) {
            long[] addr = new long[1];
            int r = core.acquireFixedBuffer(f.index(), f.offset(), length, read, addr);
            if (r == -Errno.EINVAL) {
                throw new IllegalArgumentException("registered buffer " + f.index() + " at offset " + f.offset()
                        + " has no room for " + length + " bytes (or no such index)");
            }
            if (r == -Errno.EROFS) {
                throw new IllegalArgumentException("cannot read into a read-only segment (registered buffer "
                        + f.index() + ")");
            }
            if (r < 0) {
                throw Failures.request(read ? "read" : "write", -r, -r == Errno.ENOENT ? "no buffers are registered"
                        : "a deferred unregister of the registered buffers is draining");
            }
            address = addr[0];
            bufIndex = f.index();
        } else {
            BufferRef.Memory m = (BufferRef.Memory) buf;
            MemorySegment segment = m.segment();
            if (length > segment.byteSize()) {
                throw new IllegalArgumentException("length " + length + " exceeds the buffer's " + segment.byteSize()
                        + " bytes");
            }
            if (read && segment.isReadOnly()) {
                throw new IllegalArgumentException("cannot read into a read-only segment");
            }
            if (!segment.scope().isAlive()) {
                throw new IllegalStateException("the buffer's arena is closed");
            }
            if (m.owner() != null) {
                if (!m.owner().retain()) {
                    throw new IllegalStateException("the Buffer is closed");
                }
                if (!within(segment, length, m.owner())) {
                    // What the kernel would use is not what is held: another Buffer's memory (which
                    // its close would hand back to the pool while the kernel writes it) or a
                    // confined arena's, which the owner's hold would wave through.
                    m.owner().releaseUse();
                    throw new IllegalArgumentException("the segment is not memory of its owner " + m.owner()
                            + ": use BufferRef.of(segment), or the Buffer's own ref()");
                }
                retained = new Buffer[] {m.owner()};
            } else if (needsBounce(segment, "buf")) {
                Bounce b = new Bounce(bounceMemory(core.pool(), read ? "read" : "write", length),
                        new MemorySegment[] {segment.asSlice(0, length)});
                if (!read) {
                    b.fillOrRelease(core.pool(), "write");
                }
                bounce = b;
            }
            address = bounce != null ? bounce.memory().address() : segment.address();
        }
        int opcode = fixed ? (read ? Opcode.READ_FIXED : Opcode.WRITE_FIXED) : (read ? Opcode.READ : Opcode.WRITE);
        return new PreparedRequest(opcode, 0, fd, offset, address, (int) length, bufIndex, 0, null, retained,
                fixed, false, bounce).withFile(core);
    }

    /** As {@link #transfer}, for a {@code readv} or {@code writev} of {@code iov}. */
    static PreparedRequest vector(IoEngine core, boolean read, int fd, MemorySegment[] iov, long offset)
            throws AuraIOException {
        checkFd(fd);
        Objects.requireNonNull(iov, "iov");
        checkOffset(offset);
        if (iov.length == 0 || iov.length > 1024) {
            throw new IllegalArgumentException("iov must hold 1 to 1024 (IOV_MAX) buffers, held " + iov.length);
        }
        long total = 0;
        boolean bounced = false;
        for (int i = 0; i < iov.length; i++) {
            MemorySegment s = Objects.requireNonNull(iov[i], "iov[" + i + "]");
            if (!s.isNative()) {
                throw new IllegalArgumentException("iov[" + i + "] must be native memory");
            }
            if (read && s.isReadOnly()) {
                throw new IllegalArgumentException("iov[" + i + "] is read-only");
            }
            // As for read/write: a closed arena's segment still reports its address, and the
            // kernel would read or write freed memory.
            if (!s.scope().isAlive()) {
                throw new IllegalStateException("iov[" + i + "]'s arena is closed");
            }
            bounced |= needsBounce(s, "iov[" + i + "]");
            // Checked as it adds up: segments made with reinterpret can be so large that the sum
            // wraps negative and passes a check made at the end.
            if (s.byteSize() > AuraFile.MAX_TRANSFER - total) {
                throw new IllegalArgumentException("iov holds more than " + AuraFile.MAX_TRANSFER + " bytes, the most one"
                        + " transfer moves (iov[" + i + "] alone holds " + s.byteSize() + ")");
            }
            total += s.byteSize();
        }
        String op = read ? "readv" : "writev";
        MemorySegment vec = core.pool().acquire(16L * iov.length);
        if (vec.equals(MemorySegment.NULL)) {
            throw Failures.request(op, Errno.ENOMEM, "no memory for the iovec array");
        }
        Bounce bounce = null;
        if (bounced) {
            // One copy for the whole vector: the kernel sees consecutive slices of it.
            try {
                bounce = new Bounce(bounceMemory(core.pool(), op, total), iov.clone());
            } catch (AuraIOException e) {
                core.pool().release(vec);
                throw e;
            }
            if (!read) {
                try {
                    bounce.fillOrRelease(core.pool(), op);
                } catch (RuntimeException | AuraIOException e) {
                    core.pool().release(vec);
                    throw e;
                }
            }
        }
        long at = 0;
        for (int i = 0; i < iov.length; i++) {
            long address = bounce != null ? bounce.memory().address() + at : iov[i].address();
            vec.set(ValueLayout.JAVA_LONG, 16L * i, address);
            vec.set(ValueLayout.JAVA_LONG, 16L * i + 8, iov[i].byteSize());
            at += iov[i].byteSize();
        }
        return new PreparedRequest(read ? Opcode.READV : Opcode.WRITEV, 0, fd, offset, vec.address(), iov.length,
                0, 0, vec, null, false, false, bounce).withFile(core);
    }

    /**
     * Prepares an {@code fsync}, or with {@code dataOnly} an {@code fdatasync}, of {@code fd}: on its
     * plain descriptor even where {@code fd} is registered, as every request but a transfer
     * ({@link #withFile}).
     */
    static PreparedRequest sync(int fd, boolean dataOnly) {
        checkFd(fd);
        return new PreparedRequest(Opcode.FSYNC, 0, fd, 0, 0, 0, 0, dataOnly ? Opcode.FSYNC_DATASYNC : 0, null,
                null, false, false);
    }

    /**
     * For a transfer: counts the request as a user of the registered files when {@code fd} is
     * registered; the ring that puts it in the kernel then names the slot holding {@code fd} at that
     * moment, with {@code IOSQE_FIXED_FILE} (an {@link Engine#updateFile} may change the slot before).
     * Other requests name their plain descriptor: the kernel looks their slot up only when an io-wq
     * worker starts them ({@code RingPoller.nameFixedFile}, which decides it for every request).
     */
    PreparedRequest withFile(IoEngine core) {
        if (!core.acquireFixedFile(fd)) {
            return this;
        }
        return new PreparedRequest(opcode, sqeFlags, fd, offset, address, length, bufIndex, opFlags, ownedMemory,
                retained, fixedBuffer, true, bounce);
    }

    /** Undoes what {@link #transfer} took when the request is not submitted after all. */
    void unprepare(IoEngine core) {
        if (fixedBuffer) {
            core.releaseFixedBuffer();
        }
        if (fixedFile) {
            core.releaseFixedFile();
        }
        if (ownedMemory != null) {
            core.pool().release(ownedMemory);
        }
        if (bounce != null) {
            core.pool().release(bounce.memory());
        }
        releaseRetained();
    }

    /**
     * What a completed request leaves to do before its caller hears of it: the read bytes copied
     * out of its {@link Bounce}, whose memory goes back to the pool (the kernel is done with it).
     * {@return the result the caller gets}
     */
    long finish(IoEngine core, long result) {
        releaseRetained();
        if (bounce == null) {
            return result;
        }
        try {
            boolean read = opcode == Opcode.READ || opcode == Opcode.READV;
            return read && result > 0 ? bounce.drain(result) : result;
        } finally {
            core.pool().release(bounce.memory());
        }
    }

    private void releaseRetained() {
        if (retained != null) {
            for (Buffer b : retained) {
                b.releaseUse();
            }
        }
    }
}
