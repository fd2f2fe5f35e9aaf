package io.auraio;

import static io.auraio.PreparedRequest.checkFd;
import static io.auraio.PreparedRequest.checkOffset;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.pool.BufferPool;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.CopyOption;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * A prepared metadata request: its SQE, and what its failure names (see {@link Failures#path}).
 * Made from the caller's arguments, checked as {@code Files} checks them, by the factories named
 * for the system call ({@link #open}, {@link #close}, {@link #stat}, {@link #allocate},
 * {@link #truncate}, {@link #syncRange}, {@link #advise}, {@link #unlink}, {@link #rename},
 * {@link #mkdir}, {@link #symlink}, {@link #link}); those that need the engine take it as
 * {@code core}: its pool holds the paths and the kernel's answer, and a close asks it whose the
 * descriptor is. {@link Engine} runs it in each request form, and a
 * {@link Decoder} reads its answer.
 *
 * @param target   the path EEXIST or ENOTEMPTY names, when not {@code file}
 * @param noFollow an open with {@code O_NOFOLLOW}, whose ELOOP the JDK reports apart
 */
record MetadataRequest(String op, PreparedRequest prepared, Path file, Path other, Path target, boolean noFollow) {
    MetadataRequest(String op, PreparedRequest prepared, Path file, Path other, Path target) {
        this(op, prepared, file, other, target, false);
    }

    IOException failure(int errno) {
        if (noFollow && errno == Errno.ELOOP) {
            return Failures.open(file, errno, true);
        }
        return Failures.path(op, file, other, errno, target);
    }

    /**
     * Reads what a completed request left in its memory: on the poller for callback and future
     * requests, before that memory goes back to the pool; on the caller for blocking ones.
     */
    @FunctionalInterface
    interface Decoder<T> {
        T decode(MemorySegment memory, long result);
    }

    static final Decoder<Long> RESULT = (m, r) -> r;
    static final Decoder<Integer> DESCRIPTOR = (m, r) -> (int) r;
    static final Decoder<FileStat> STAT = (m, r) -> FileStat.of(m);

    /**
     * {@return pool memory holding {@code outBytes} for the kernel's answer, then each path's bytes
     * NUL-terminated} It stays allocated until the request's slot is released, after the kernel's
     * completion, whatever the caller does meanwhile.
     */
    private static MemorySegment requestMemory(BufferPool pool, String op, long outBytes, byte[] first, byte[] second)
            throws AuraIOException {
        long size = outBytes + first.length + 1 + (second == null ? 0 : second.length + 1L);
        MemorySegment m = pool.acquire(size);
        if (m.equals(MemorySegment.NULL)) {
            throw Failures.request(op, Errno.ENOMEM, "no memory for the request's paths");
        }
        MemorySegment.copy(first, 0, m, ValueLayout.JAVA_BYTE, outBytes, first.length);
        m.set(ValueLayout.JAVA_BYTE, outBytes + first.length, (byte) 0);
        if (second != null) {
            long at = outBytes + first.length + 1;
            MemorySegment.copy(second, 0, m, ValueLayout.JAVA_BYTE, at, second.length);
            m.set(ValueLayout.JAVA_BYTE, at + second.length, (byte) 0);
        }
        return m;
    }

    private static byte[] pathBytes(Path path, String name) {
        Objects.requireNonNull(path, name);
        NativePath.checkDefaultFileSystem(path);
        return NativePath.bytes(path);
    }

    private static PreparedRequest pathRequest(int opcode, int dirFd, long offset, long address, int length,
                                               int opFlags, MemorySegment memory) {
        return new PreparedRequest(opcode, 0, dirFd, offset, address, length, 0, opFlags, memory, null, false, false);
    }

    static MetadataRequest open(IoEngine core, Path path, OpenOption... options) throws AuraIOException {
        Objects.requireNonNull(options, "options");
        Set<OpenOption> set = new HashSet<>();
        for (OpenOption o : options) {
            set.add(Objects.requireNonNull(o, "option"));
        }
        OpenMode mode = OpenMode.of(set);
        if (mode.deleteOnClose()) {
            throw new UnsupportedOperationException("DELETE_ON_CLOSE needs the path when the descriptor is closed: "
                    + "open with AuraFile.open");
        }
        byte[] b = pathBytes(path, "path");
        MemorySegment m = requestMemory(core.pool(), "openat", 0, b, null);
        return new MetadataRequest("openat", pathRequest(Opcode.OPENAT, Statx.AT_FDCWD, 0, m.address(),
                OpenMode.creationMode(), mode.flags(), m), path, null, null,
                (mode.flags() & OpenFlags.O_NOFOLLOW) != 0);
    }

    static MetadataRequest close(IoEngine core, int fd) {
        checkFd(fd);
        if (core.ownsDescriptor(fd)) {
            throw new IllegalArgumentException("fd " + fd + " is the engine's own (its pollFd or a ring's): closed, "
                    + "its number would go to another file, which the engine would write into");
        }
        // A registered slot would keep the file open after the close (see registerFiles).
        core.forgetFile(fd);
        return new MetadataRequest("close", new PreparedRequest(Opcode.CLOSE, 0, fd, 0, 0, 0, 0, 0, null, null, false,
                false), null, null, null);
    }

    static MetadataRequest stat(IoEngine core, Path path, LinkOption... options) throws AuraIOException {
        int flags = followLinks(options) ? 0 : Statx.AT_SYMLINK_NOFOLLOW;
        byte[] b = pathBytes(path, "path");
        MemorySegment m = requestMemory(core.pool(), "statx", Statx.BYTES, b, null);
        return new MetadataRequest("statx", pathRequest(Opcode.STATX, Statx.AT_FDCWD, m.address(),
                m.address() + Statx.BYTES, Statx.STATX_BASIC_STATS | Statx.STATX_BTIME, flags, m), path, null, null);
    }

    static MetadataRequest stat(IoEngine core, int fd) throws AuraIOException {
        checkFd(fd);
        MemorySegment m = requestMemory(core.pool(), "statx", Statx.BYTES, new byte[0], null);
        return new MetadataRequest("statx", pathRequest(Opcode.STATX, fd, m.address(), m.address() + Statx.BYTES,
                Statx.STATX_BASIC_STATS | Statx.STATX_BTIME, Statx.AT_EMPTY_PATH, m), null, null, null);
    }

    static boolean followLinks(LinkOption... options) {
        Objects.requireNonNull(options, "options");
        boolean follow = true;
        for (LinkOption o : options) {
            if (Objects.requireNonNull(o, "option") == LinkOption.NOFOLLOW_LINKS) {
                follow = false;
            }
        }
        return follow;
    }

    /**
     * A request on {@code fd} that is not a transfer: it names the plain descriptor even where
     * {@code fd} is registered (the kernel queues these for an io-wq worker unissued, and a slot is
     * looked up only when the worker starts them: {@code RingPoller.nameFixedFile}).
     */
    private static MetadataRequest fdRequest(String op, int opcode, int fd, long offset, long address, int length,
                                             int opFlags) {
        return new MetadataRequest(op, new PreparedRequest(opcode, 0, fd, offset, address, length, 0, opFlags, null,
                null, false, false), null, null, null);
    }

    static MetadataRequest allocate(int fd, long offset, long length, AllocateMode mode) {
        checkFd(fd);
        checkOffset(offset);
        Objects.requireNonNull(mode, "mode");
        if (length <= 0 || offset > Long.MAX_VALUE - length) {
            throw new IllegalArgumentException("length must be > 0 and offset + length a file offset, was " + offset
                    + " + " + length);
        }
        return fdRequest("fallocate", Opcode.FALLOCATE, fd, offset, length, mode.bits, 0);
    }

    static MetadataRequest truncate(int fd, long length) {
        checkFd(fd);
        if (length < 0) {
            throw new IllegalArgumentException("length must be >= 0, was " + length);
        }
        return fdRequest("ftruncate", Opcode.FTRUNCATE, fd, length, 0, 0, 0);
    }

    /** The kernel reads these lengths from a 32-bit field. */
    private static final long MAX_RANGE = 0xFFFF_FFFFL;

    static MetadataRequest syncRange(int fd, long offset, long length, SyncRangeFlag... flags) {
        checkFd(fd);
        checkOffset(offset);
        Objects.requireNonNull(flags, "flags");
        checkRange(length);
        int bits = 0;
        for (SyncRangeFlag f : flags) {
            bits |= Objects.requireNonNull(f, "flag").bits;
        }
        return fdRequest("sync_file_range", Opcode.SYNC_FILE_RANGE, fd, offset, 0, (int) length, bits);
    }

    private static void checkRange(long length) {
        if (length < 0 || length > MAX_RANGE) {
            throw new IllegalArgumentException("length must be between 0 (to the end of the file) and " + MAX_RANGE
                    + ", was " + length);
        }
    }

    static MetadataRequest advise(int fd, long offset, long length, Advice advice) {
        checkFd(fd);
        checkOffset(offset);
        Objects.requireNonNull(advice, "advice");
        checkRange(length);
        return fdRequest("fadvise", Opcode.FADVISE, fd, offset, 0, (int) length, advice.value);
    }

    static MetadataRequest unlink(IoEngine core, Path path, boolean directory) throws AuraIOException {
        byte[] b = pathBytes(path, "path");
        MemorySegment m = requestMemory(core.pool(), "unlinkat", 0, b, null);
        return new MetadataRequest("unlinkat", pathRequest(Opcode.UNLINKAT, Statx.AT_FDCWD, 0, m.address(), 0,
                directory ? Statx.AT_REMOVEDIR : 0, m), path, null, null);
    }

    static MetadataRequest rename(IoEngine core, Path source, Path target, CopyOption... options)
            throws AuraIOException {
        Objects.requireNonNull(options, "options");
        boolean replace = false;
        for (CopyOption o : options) {
            Objects.requireNonNull(o, "option");
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o != StandardCopyOption.ATOMIC_MOVE && o != LinkOption.NOFOLLOW_LINKS) {
                // rename(2) is atomic and never follows links; it copies nothing.
                throw new UnsupportedOperationException("Unsupported copy option: " + o);
            }
        }
        byte[] from = pathBytes(source, "source");
        byte[] to = pathBytes(target, "target");
        MemorySegment m = requestMemory(core.pool(), "renameat", 0, from, to);
        long toAddress = m.address() + from.length + 1;
        return new MetadataRequest("renameat", pathRequest(Opcode.RENAMEAT, Statx.AT_FDCWD, toAddress, m.address(),
                Statx.AT_FDCWD, replace ? 0 : Statx.RENAME_NOREPLACE, m), source, target, target);
    }

    static MetadataRequest mkdir(IoEngine core, Path dir, FileAttribute<?>... attrs) throws AuraIOException {
        Objects.requireNonNull(attrs, "attrs");
        int mode = 0777;
        for (FileAttribute<?> a : attrs) {
            Objects.requireNonNull(a, "attribute");
            if (!a.name().equals("posix:permissions") && !a.name().equals("unix:permissions")) {
                throw new UnsupportedOperationException("'" + a.name() + "' not supported as initial attribute");
            }
            mode = 0;
            for (Object p : (Set<?>) a.value()) {
                mode |= 1 << (8 - ((PosixFilePermission) p).ordinal());
            }
        }
        byte[] b = pathBytes(dir, "dir");
        MemorySegment m = requestMemory(core.pool(), "mkdirat", 0, b, null);
        return new MetadataRequest("mkdirat", pathRequest(Opcode.MKDIRAT, Statx.AT_FDCWD, 0, m.address(), mode, 0, m),
                dir, null, null);
    }

    static MetadataRequest symlink(IoEngine core, Path link, Path target) throws AuraIOException {
        byte[] l = pathBytes(link, "link");
        Objects.requireNonNull(target, "target");
        NativePath.checkDefaultFileSystem(target); // as the JDK: ProviderMismatchException
        // The target is stored as given, relative or not: its bytes, not a resolved file; the
        // empty path stays empty (the kernel refuses it, as for the JDK), not the "." that names
        // the current directory where a path is looked up.
        byte[] t = target.toString().isEmpty() ? new byte[0] : NativePath.bytes(target);
        MemorySegment m = requestMemory(core.pool(), "symlinkat", 0, t, l);
        long linkAddress = m.address() + t.length + 1;
        return new MetadataRequest("symlinkat", pathRequest(Opcode.SYMLINKAT, Statx.AT_FDCWD, linkAddress,
                m.address(), 0, 0, m), link, null, null);
    }

    static MetadataRequest link(IoEngine core, Path link, Path existing, LinkOption... options) throws AuraIOException {
        int flags = followLinks(options) ? Statx.AT_SYMLINK_FOLLOW : 0;
        byte[] l = pathBytes(link, "link");
        byte[] e = pathBytes(existing, "existing");
        MemorySegment m = requestMemory(core.pool(), "linkat", 0, e, l);
        long linkAddress = m.address() + e.length + 1;
        return new MetadataRequest("linkat", pathRequest(Opcode.LINKAT, Statx.AT_FDCWD, linkAddress, m.address(),
                Statx.AT_FDCWD, flags, m), link, existing, link);
    }
}
