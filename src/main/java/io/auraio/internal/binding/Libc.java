package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The C library calls the library needs. Every method returns the call's non-negative result, or
 * a negated errno on failure (the kernel's own convention, so ring results and libc results are
 * handled alike). None of these may be called on a virtual thread if it can block: {@code open},
 * {@code close} and {@code fstat} are for platform threads and fallbacks only.
 */
public final class Libc {
    /** {@code RWF_NOWAIT} from {@code <linux/fs.h>}: fail with EAGAIN instead of blocking. */
    public static final int RWF_NOWAIT = 0x8;
    /** {@code EFD_CLOEXEC} from {@code <sys/eventfd.h>}. */
    public static final int EFD_CLOEXEC = 0x80000;
    /** {@code EFD_NONBLOCK}: reads of a zero counter fail with EAGAIN instead of blocking. */
    public static final int EFD_NONBLOCK = 0x800;
    /** {@code EFD_SEMAPHORE}: each read takes 1 from the counter. */
    public static final int EFD_SEMAPHORE = 0x1;

    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_SHARED = 0x01;
    private static final int MAP_POPULATE = 0x8000;
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle WRITE;
    private static final MethodHandle READ;
    private static final MethodHandle PREADV2;
    private static final MethodHandle PWRITEV2;
    private static final MethodHandle PWRITE;
    private static final MethodHandle FSTAT;
    private static final MethodHandle STATX;
    private static final MethodHandle LSEEK;
    private static final MethodHandle FTRUNCATE;
    private static final MethodHandle FSYNC;
    private static final MethodHandle FDATASYNC;
    private static final MethodHandle COPY_FILE_RANGE;
    private static final MethodHandle STRERROR;
    private static final MethodHandle SCHED_GETCPU;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle FREE;
    /** {@code syscall(2)} as preadv2/pwritev2 with one unused trailing argument; null where the numbers are unknown. */
    private static final MethodHandle SYSCALL_HOLDING;
    /** {@code syscall(SYS_openat2, dirfd, path, how, size)}. */
    private static final MethodHandle OPENAT2;
    private static final MethodHandle FCNTL;
    /** {@code SYS_openat2}: 437 on every architecture (Linux 5.6+). */
    private static final long SYS_OPENAT2 = 437;
    /** {@code RESOLVE_CACHED} (Linux 5.12): fail with EAGAIN rather than wait for a lookup. */
    private static final long RESOLVE_CACHED = 0x20;
    private static final int F_SETFL = 4;
    /** Cleared once openat2 answers ENOSYS: no cached opens tried again. */
    private static volatile boolean openat2Available = true;
    private static final long SYS_PREADV2;
    private static final long SYS_PWRITEV2;
    private static final long SYS_PWRITE64;

    static {
        SymbolLookup libc = NativeAccess.libc();
        // open(const char *, int, ...): the mode is a variadic argument.
        OPEN = NativeAccess.variadicDowncallWithErrno(libc, "open",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 2);
        CLOSE = NativeAccess.downcallWithErrno(libc, "close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        OPENAT2 = NativeAccess.variadicDowncallWithErrno(libc, "syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG), 1);
        // int fcntl(int, int, ...): F_SETFL's flags are a variadic argument.
        FCNTL = NativeAccess.variadicDowncallWithErrno(libc, "fcntl",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), 2);
        EVENTFD = NativeAccess.downcallWithErrno(libc, "eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
        WRITE = NativeAccess.downcall(libc, "write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        READ = NativeAccess.downcall(libc, "read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        PREADV2 = NativeAccess.downcallWithErrno(libc, "preadv2",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT));
        PWRITEV2 = NativeAccess.downcallWithErrno(libc, "pwritev2",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT));
        PWRITE = NativeAccess.downcallWithErrno(libc, "pwrite",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        FSTAT = NativeAccess.downcallWithErrno(libc, "fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        STATX = NativeAccess.downcallWithErrno(libc, "statx",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        LSEEK = NativeAccess.downcallWithErrno(libc, "lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
        FTRUNCATE = NativeAccess.downcallWithErrno(libc, "ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
        FSYNC = NativeAccess.downcallWithErrno(libc, "fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        FDATASYNC = NativeAccess.downcallWithErrno(libc, "fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        // ssize_t copy_file_range(int, off64_t *, int, off64_t *, size_t, unsigned int): glibc 2.27+.
        COPY_FILE_RANGE = NativeAccess.downcallWithErrno(libc, "copy_file_range",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        STRERROR = NativeAccess.downcall(libc, "strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        SCHED_GETCPU = NativeAccess.criticalDowncall(libc, "sched_getcpu", FunctionDescriptor.of(JAVA_INT));
        MMAP = NativeAccess.downcallWithErrno(libc, "mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        MUNMAP = NativeAccess.downcall(libc, "munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        ALIGNED_ALLOC = NativeAccess.downcall(libc, "aligned_alloc", FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
        FREE = NativeAccess.downcall(libc, "free", FunctionDescriptor.ofVoid(ADDRESS));
        // The system call numbers of preadv2, pwritev2 and pwrite64 (asm/unistd_64.h; the generic
        // table on aarch64).
        String arch = System.getProperty("os.arch", "");
        long[] numbers = switch (arch) {
            case "amd64", "x86_64" -> new long[] {327, 328, 18};
            case "aarch64" -> new long[] {286, 287, 68};
            default -> null;
        };
        SYS_PREADV2 = numbers == null ? -1 : numbers[0];
        SYS_PWRITEV2 = numbers == null ? -1 : numbers[1];
        SYS_PWRITE64 = numbers == null ? -1 : numbers[2];
        // long syscall(long number, ...): number, fd, iov, iovcnt, pos_l, pos_h, flags, then the
        // caller's buffer, which the kernel never sees (syscall(2) passes six arguments on).
        SYSCALL_HOLDING = numbers == null ? null : NativeAccess.variadicDowncallWithErrno(libc, "syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                        JAVA_LONG, ADDRESS), 1);
    }

    private Libc() {}

    /** {@code open(2)}; blocking, for platform threads and fallbacks only. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            int fd = (int) OPEN.invokeExact(scratch.captureState(), arena.allocateFrom(path), flags, mode);
            return fd >= 0 ? fd : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code open(2)} of a path given as its bytes (no NUL); blocking, for platform threads only. */
    public static int open(byte[] path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment cPath = arena.allocate(path.length + 1L);
            MemorySegment.copy(path, 0, cPath, JAVA_BYTE, 0, path.length);
            int fd = (int) OPEN.invokeExact(scratch.captureState(), cPath, flags, mode);
            return fd >= 0 ? fd : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Opens {@code path} (NUL-terminated) relative to the working directory if that needs no wait:
     * {@code openat2(2)} with {@code RESOLVE_CACHED}, which fails with EAGAIN instead of looking
     * up a name that is not in the dentry cache, and with {@code O_NONBLOCK}, so that a FIFO or a
     * device does not wait for its other end (cleared again unless {@code flags} has it). This is
     * what io_uring's OPENAT tries inline before it hands the open to a worker, made without the
     * round trip to the ring. A creating or truncating open always waits (EAGAIN).
     *
     * @return the descriptor, a negated errno that is the open's answer, or {@code -EAGAIN} when
     *         it would have to wait or cannot be tried here (no openat2: Linux before 5.6, or a
     *         seccomp filter; EINVAL or EPERM, which the ring's open then answers itself)
     */
    public static int openCached(MemorySegment path, int flags) {
        if (!openat2Available || (flags & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC | O_TMPFILE)) != 0) {
            return -Errno.EAGAIN;
        }
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment how = arena.allocate(24, 8); // struct open_how { flags, mode, resolve }, zeroed
            how.set(JAVA_LONG, 0, Integer.toUnsignedLong(flags | OpenFlags.O_NONBLOCK));
            how.set(JAVA_LONG, 16, RESOLVE_CACHED);
            int fd = (int) (long) OPENAT2.invokeExact(scratch.captureState(), SYS_OPENAT2, Statx.AT_FDCWD, path, how,
                    24L);
            if (fd < 0) {
                int errno = scratch.errno();
                if (errno == Errno.ENOSYS) {
                    openat2Available = false;
                }
                return errno == Errno.ENOSYS || errno == Errno.EINVAL || errno == Errno.EPERM || errno == E2BIG
                        ? -Errno.EAGAIN : -errno;
            }
            if ((flags & OpenFlags.O_NONBLOCK) == 0
                    && (int) FCNTL.invokeExact(scratch.captureState(), fd, F_SETFL, flags) != 0) {
                close(fd);
                return -Errno.EAGAIN; // the ring's open then
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final int O_TMPFILE = 020000000;
    private static final int E2BIG = 7;

    /** {@code close(2)}. */
    public static int close(int fd) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = (int) CLOSE.invokeExact(scratch.captureState(), fd);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ftruncate(2)}; blocking, for platform threads and fallbacks only. */
    public static int ftruncate(int fd, long length) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = (int) FTRUNCATE.invokeExact(scratch.captureState(), fd, length);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code fsync(2)}, or {@code fdatasync(2)} when {@code metaData} is false; blocking, for
     * platform threads only (the offload pool's calls on files of slow file systems).
     *
     * @return 0, or a negated errno
     */
    public static int fsync(int fd, boolean metaData) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = metaData ? (int) FSYNC.invokeExact(scratch.captureState(), fd)
                    : (int) FDATASYNC.invokeExact(scratch.captureState(), fd);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code eventfd(2)}: a counter file descriptor, used to wake a sleeping poller. */
    public static int eventfd(int initval, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int fd = (int) EVENTFD.invokeExact(scratch.captureState(), initval, flags);
            return fd >= 0 ? fd : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Adds {@code value} (8 native bytes) to an eventfd counter. Never blocks unless the counter
     * would overflow 2^64-2, which a wake-up counter cannot reach; errors are returned as -1 only
     * because nobody acts on them (a failed wake is followed by the next one).
     */
    public static long write(int fd, MemorySegment value, long length) {
        try {
            return (long) WRITE.invokeExact(fd, value, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code read(2)} of {@code length} bytes; for non-blocking eventfds only (returns -1 when the
     * counter is zero, without a reason, since the caller only needs to know it got nothing).
     */
    public static long read(int fd, MemorySegment into, long length) {
        try {
            return (long) READ.invokeExact(fd, into, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code preadv2(2)} of one buffer. With {@link #RWF_NOWAIT} it never blocks: a page-cache
     * miss is {@code -EAGAIN}, which makes it safe on a virtual thread.
     */
    public static long preadv2(int fd, long address, long length, long offset, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment iov = scratch.iovec();
            iov.set(JAVA_LONG, 0, address);
            iov.set(JAVA_LONG, 8, length);
            long r = (long) PREADV2.invokeExact(scratch.captureState(), fd, iov, 1, offset, flags);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code pwritev2(2)} of one buffer; with {@link #RWF_NOWAIT} it never blocks. */
    public static long pwritev2(int fd, long address, long length, long offset, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment iov = scratch.iovec();
            iov.set(JAVA_LONG, 0, address);
            iov.set(JAVA_LONG, 8, length);
            long r = (long) PWRITEV2.invokeExact(scratch.captureState(), fd, iov, 1, offset, flags);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code pwrite(2)}: as {@link #pwritev2} without flags, for about 0.1 us less per call (no
     * iovec for the kernel to copy in and check: 1.01 against 1.10 us for a 4 KiB page-cache read
     * by pread against preadv2 on this machine, a C loop).
     */
    public static long pwrite(int fd, long address, long length, long offset) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = (long) PWRITE.invokeExact(scratch.captureState(), fd, MemorySegment.ofAddress(address), length,
                    offset);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** As {@link #pwrite}, from memory inside {@code hold}, kept alive for the call as by {@link #preadv2Holding}. */
    public static long pwriteHolding(int fd, MemorySegment hold, long address, long length, long offset) {
        try (CallScratch scratch = CallScratch.acquire()) {
            // syscall(SYS_pwrite64, fd, buf, count, offset): the two zeros and hold are never seen.
            long r = (long) SYSCALL_HOLDING.invokeExact(scratch.captureState(), SYS_PWRITE64, (long) fd,
                    MemorySegment.ofAddress(address), length, offset, 0L, 0L, hold);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@return whether {@link #preadv2Holding} and {@link #pwritev2Holding} can be used on this
     * platform} Where they cannot, memory another thread may free must not be handed to a
     * synchronous read or write either: copy through memory the caller owns.
     */
    public static boolean canHoldDuringCall() {
        return SYSCALL_HOLDING != null;
    }

    /**
     * As {@link #preadv2}, into {@code length} bytes at {@code address} inside {@code hold}, whose
     * memory is kept alive for the call: the FFM linker acquires the scope of every segment passed
     * as an address argument until the call returns ({@link java.lang.foreign.Linker}'s downcall
     * guarantee), so another thread's {@code Arena.close()} fails with IllegalStateException
     * instead of freeing the memory under the kernel's copy, as the JDK's FileChannel holds its
     * buffers. {@code hold} goes to {@code syscall(2)} as an extra variadic argument, which C
     * allows and the kernel never sees.
     *
     * @throws IllegalStateException if {@code hold}'s arena is already closed
     * @throws WrongThreadException if {@code hold} is confined to another thread
     */
    public static long preadv2Holding(int fd, MemorySegment hold, long address, long length, long offset, int flags) {
        return holding(SYS_PREADV2, fd, hold, address, length, offset, flags);
    }

    /** As {@link #preadv2Holding}, for {@code pwritev2(2)}. */
    public static long pwritev2Holding(int fd, MemorySegment hold, long address, long length, long offset,
                                       int flags) {
        return holding(SYS_PWRITEV2, fd, hold, address, length, offset, flags);
    }

    private static long holding(long number, int fd, MemorySegment hold, long address, long length, long offset,
                                int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment iov = scratch.iovec();
            iov.set(JAVA_LONG, 0, address);
            iov.set(JAVA_LONG, 8, length);
            // pos_l carries the whole 64-bit offset on 64-bit kernels; pos_h is then unused.
            long r = (long) SYSCALL_HOLDING.invokeExact(scratch.captureState(), number, (long) fd, iov, 1L, offset,
                    0L, (long) flags, hold);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Byte offset of {@code st_size} in {@code struct stat} (same on x86-64 and aarch64). */
    private static final long STAT_SIZE_OFFSET = 48;
    private static final long STAT_BYTES = 256;

    /**
     * {@code fstat(2)}'s {@code st_size}, or a negated errno. For platform threads and for kernels
     * without {@code IORING_OP_STATX}.
     */
    public static long fstatSize(int fd) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment stat = arena.allocate(STAT_BYTES, 8);
            int r = (int) FSTAT.invokeExact(scratch.captureState(), fd, stat);
            return r == 0 ? stat.get(JAVA_LONG, STAT_SIZE_OFFSET) : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code SEEK_SET} from {@code <unistd.h>}. */
    public static final int SEEK_SET = 0;
    /** {@code SEEK_CUR} from {@code <unistd.h>}. */
    public static final int SEEK_CUR = 1;

    /**
     * {@return the new file offset from {@code lseek(2)}, or a negated errno} Never waits for I/O
     * with {@code SEEK_SET} or {@code SEEK_CUR} (FUSE and NFS answer those in the kernel), so it
     * is safe on a virtual thread.
     */
    public static long lseek(int fd, long offset, int whence) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = (long) LSEEK.invokeExact(scratch.captureState(), fd, offset, whence);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The file type of an open descriptor ({@link Statx#fileType}), from {@code statx(2)} with
     * {@code AT_STATX_DONT_SYNC}: cached attributes only, so it never waits for a FUSE daemon or an
     * NFS server and is safe on a virtual thread (a file's type cannot change while it is open).
     *
     * @return the {@code S_IFMT} bits, or a negated errno
     */
    public static int fileType(int fd) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            int r = (int) STATX.invokeExact(scratch.captureState(), fd, arena.allocateFrom(""),
                    Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, Statx.STATX_TYPE, statx);
            return r == 0 ? Statx.fileType(statx) : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code copy_file_range(2)} of up to {@code length} bytes from {@code in} at {@code inPosition}
     * to {@code out} at {@code outPosition}, neither descriptor's file offset used or changed.
     * Blocking (it reads and writes inside the kernel): for platform threads, or offloaded.
     *
     * @return the bytes copied (0 at the end of {@code in}), or a negated errno
     */
    public static long copyFileRange(int in, long inPosition, int out, long outPosition, long length) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment offsets = arena.allocate(JAVA_LONG, 2);
            offsets.setAtIndex(JAVA_LONG, 0, inPosition);
            offsets.setAtIndex(JAVA_LONG, 1, outPosition);
            long r = (long) COPY_FILE_RANGE.invokeExact(scratch.captureState(), in, offsets, out,
                    offsets.asSlice(JAVA_LONG.byteSize()), length, 0);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * As {@link #fileType(int)}, and the descriptor's mount ID ({@code STATX_MNT_ID}) into
     * {@code mountId[0]} (-1 when the kernel does not report it); cached attributes only, safe on a
     * virtual thread.
     *
     * @param fd      the descriptor
     * @param mountId where the mount ID goes
     * @return the {@code S_IFMT} bits, or a negated errno
     */
    public static int fileTypeAndMount(int fd, long[] mountId) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            int r = (int) STATX.invokeExact(scratch.captureState(), fd, arena.allocateFrom(""),
                    Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, Statx.STATX_TYPE | Statx.STATX_MNT_ID, statx);
            if (r != 0) {
                mountId[0] = -1;
                return -scratch.errno();
            }
            mountId[0] = Statx.mountId(statx);
            return Statx.fileType(statx);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@return the descriptor's file's link count from cached attributes ({@code statx} of the
     * descriptor, {@code AT_STATX_DONT_SYNC}: no server or daemon asked), or a negated errno} 0
     * when its last name is gone: the last close then frees the file.
     */
    public static int linkCount(int fd) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = arena.allocate(Statx.BYTES, 8);
            int r = (int) STATX.invokeExact(scratch.captureState(), fd, arena.allocateFrom(""),
                    Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, Statx.STATX_NLINK, statx);
            return r != 0 ? -scratch.errno() : Statx.linkCount(statx);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code strerror(3)}. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code sched_getcpu(3)}: the CPU the calling (carrier) thread runs on, or a negated errno. */
    public static int schedGetCpu() {
        try {
            return (int) SCHED_GETCPU.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Maps {@code length} bytes of {@code fd} at {@code offset} shared and read-write, as the
     * io_uring rings are mapped. {@return the mapping, sized, or null with the errno in
     * {@code errnoOut[0]}}
     */
    static MemorySegment mmapShared(int fd, long offset, long length, int[] errnoOut) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment p = (MemorySegment) MMAP.invokeExact(scratch.captureState(), MemorySegment.NULL, length,
                    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
            if (p.address() == MAP_FAILED) {
                errnoOut[0] = scratch.errno();
                return null;
            }
            return p.reinterpret(length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void munmap(MemorySegment mapping) {
        try {
            int r = (int) MUNMAP.invokeExact(mapping, mapping.byteSize());
            assert r == 0 : "munmap failed";
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code aligned_alloc(3)}: native memory that the JVM does not track, for buffers whose
     * lifetime the library manages itself (the kernel may write into them after Java is done).
     *
     * @param alignment a power of two
     * @param size      bytes wanted
     * @return the memory, sized, or {@link MemorySegment#NULL} when the C library has none
     */
    public static MemorySegment alignedAlloc(long alignment, long size) {
        try {
            long rounded = (size + alignment - 1) / alignment * alignment;
            MemorySegment p = (MemorySegment) ALIGNED_ALLOC.invokeExact(alignment, rounded);
            return p.address() == 0 ? MemorySegment.NULL : p.reinterpret(size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code free(3)} of memory from {@link #alignedAlloc}. */
    public static void free(MemorySegment memory) {
        try {
            FREE.invokeExact(memory);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            return re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from a native call", t);
    }
}
