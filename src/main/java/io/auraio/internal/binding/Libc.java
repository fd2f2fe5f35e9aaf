package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
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

    /** {@code RESOLVE_CACHED} (Linux 5.12): fail with EAGAIN rather than wait for a lookup. */
    private static final long RESOLVE_CACHED = 0x20;
    private static final int F_SETFL = 4;
    /** Cleared once openat2 answers ENOSYS: no cached opens tried again. */
    private static volatile boolean openat2Available = true;

    // Every system call goes through SystemCall's one downcall shape (why: its javadoc). Of the
    // functions of the C library itself, sched_getcpu is linked with this class (every engine's
    // ring selection asks it on the first request); the others on first use, in a holder class: a
    // short run (a tool, a script) that never needs one does not pay for its stub.

    /** {@code sched_getcpu(3)}, through the vDSO: ring selection and per-CPU buffer caches. */
    private static final MethodHandle SCHED_GETCPU = NativeAccess.criticalDowncall(NativeAccess.libc(),
            "sched_getcpu", FunctionDescriptor.of(JAVA_INT));

    /** {@code aligned_alloc(3)} and {@code free(3)}: the buffer pool's memory only. */
    private static final class Allocator {
        static final MethodHandle ALIGNED_ALLOC = NativeAccess.downcall(NativeAccess.libc(), "aligned_alloc",
                FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
        static final MethodHandle FREE = NativeAccess.downcall(NativeAccess.libc(), "free",
                FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** {@code strerror(3)}, linked on first use: error messages only. */
    private static final class StrError {
        static final MethodHandle HANDLE = NativeAccess.downcall(NativeAccess.libc(), "strerror",
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private Libc() {}

    /** {@code open(2)}; blocking, for platform threads and fallbacks only. */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            int fd = (int) SystemCall.OPENAT.call(scratch.captureState(), Statx.AT_FDCWD,
                    arena.allocateFrom(path).address(), flags, mode, 0, 0, MemorySegment.NULL);
            return fd >= 0 ? fd : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code open(2)} of a path given as its bytes (no NUL); blocking, for platform threads only. */
    public static int open(byte[] path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment cPath = cString(arena, path);
            int fd = (int) SystemCall.OPENAT.call(scratch.captureState(), Statx.AT_FDCWD, cPath.address(), flags, mode,
                    0, 0, MemorySegment.NULL);
            return fd >= 0 ? fd : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Opens the path whose bytes are {@code pathBytes} (no NUL) relative to the working directory
     * if that needs no wait:
     * {@code openat2(2)} with {@code RESOLVE_CACHED}, which fails with EAGAIN instead of looking
     * up a name that is not in the dentry cache, and with {@code O_NONBLOCK}, so that a FIFO or a
     * device does not wait for its other end. This is what io_uring's OPENAT tries inline before it
     * hands the open to a worker, made without the round trip to the ring. A creating or truncating
     * open always waits (EAGAIN).
     *
     * <p>The descriptor keeps {@code O_NONBLOCK}: the caller clears it with
     * {@link #setStatusFlags} before the descriptor is used for anything but reads and writes on
     * its own thread. A ring's read or write of a descriptor with {@code O_NONBLOCK} that would
     * wait fails with EAGAIN instead of going to a worker; a {@code pread}/{@code pwrite} of a
     * regular file does not look at it. Clearing it at once cost a third system call per open.
     *
     * @return the descriptor, a negated errno that is the open's answer, or {@code -EAGAIN} when
     *         it would have to wait or cannot be tried here (no openat2: Linux before 5.6, or a
     *         seccomp filter; EINVAL or EPERM, which the ring's open then answers itself)
     */
    public static int openCachedNonBlocking(byte[] pathBytes, int flags) {
        if (!openat2Available || (flags & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC | O_TMPFILE)) != 0) {
            return -Errno.EAGAIN;
        }
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment path = scratch.path(pathBytes); // no arena per open for a path that fits
            if (path != null) {
                return openCached(scratch, path, flags | OpenFlags.O_NONBLOCK);
            }
            try (Arena arena = Arena.ofConfined()) {
                return openCached(scratch, cString(arena, pathBytes), flags | OpenFlags.O_NONBLOCK);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code O_PATH}: a descriptor that only names the file (nothing is opened, no open() of a driver runs). */
    private static final int O_PATH = 010000000;

    /** Reads a {@code struct statx} while the call's scratch memory holds it. */
    @FunctionalInterface
    public interface StatxReader<T> {
        /** {@return what the caller wants of {@code statx}, or null for "not answered here"} */
        T read(MemorySegment statx);
    }

    /**
     * The attributes of the path whose bytes are {@code pathBytes}, if nothing in getting them
     * can wait: {@code openat2(O_PATH, RESOLVE_CACHED)}, which fails with EAGAIN instead of
     * looking up a name that is not in the dentry cache (and, with {@code O_PATH}, opens nothing:
     * a FIFO or a device is not waited for); then {@code statx} of that descriptor with
     * {@code AT_STATX_DONT_SYNC} (cached attributes: no FUSE daemon or NFS server is asked), read
     * by {@code reader}, which decides whether they answer (for the file systems whose attributes
     * are the file's own: {@link Statx#mountId}); then {@code close}.
     *
     * @param errno set to 0 when {@code reader}'s answer is returned; to EAGAIN when this cannot
     *              answer (a name not cached, {@code reader} said null, no {@code openat2}, or a
     *              failure of this process's, such as EMFILE); else to the errno of the lookup,
     *              which is the path's answer (ENOENT: a cached negative entry; ENOTDIR, ELOOP,
     *              ENAMETOOLONG, EACCES)
     * @return {@code reader}'s answer, or null
     */
    public static <T> T statCached(byte[] pathBytes, boolean followLinks, int mask, StatxReader<T> reader,
                                   int[] errno) {
        return statCached(pathBytes, followLinks, mask, -1, reader, errno);
    }

    private static volatile boolean faccessat2Available = true;

    /**
     * As {@link #statCached(byte[], boolean, int, StatxReader, int[])}, and where {@code reader}
     * answers, {@code faccessat2(fd, "", accessMode, AT_EMPTY_PATH)} of the descriptor (the real
     * user's permission, as {@code access(2)}): {@code reader}'s answer only if that allows
     * {@code accessMode} ({@code R_OK} 4, {@code W_OK} 2, {@code X_OK} 1, or 0 for existence);
     * any refusal leaves the question unanswered here (EAGAIN).
     *
     * @param accessMode the access to check, or -1 for none
     */
    public static <T> T statCached(byte[] pathBytes, boolean followLinks, int mask, int accessMode,
                                   StatxReader<T> reader, int[] errno) {
        errno[0] = Errno.EAGAIN;
        if (!openat2Available || pathBytes.length == 0) {
            return null;
        }
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment path = scratch.path(pathBytes);
            if (path == null) {
                return null; // longer than the scratch's path: not worth an arena here
            }
            int fd = openCached(scratch, path, O_PATH | OpenFlags.O_CLOEXEC | (followLinks ? 0 : OpenFlags.O_NOFOLLOW));
            if (fd < 0) {
                // Only the lookup's own verdicts answer for the path; EMFILE, ENFILE, ENOMEM are
                // about this process (the JDK's access/stat need no descriptor): not answered here.
                errno[0] = isAnswerAboutPath(-fd) ? -fd : Errno.EAGAIN;
                return null;
            }
            try {
                MemorySegment statx = scratch.statx();
                if (statx(scratch, fd, Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, mask | MountIds.statxMask(),
                        statx) != 0) {
                    return null;
                }
                T answer = reader.read(statx);
                if (answer == null) {
                    return null;
                }
                if (accessMode >= 0) {
                    if (!faccessat2Available) {
                        return null;
                    }
                    if (SystemCall.FACCESSAT2.call(scratch.captureState(), fd, EMPTY_PATH.address(), accessMode,
                            Statx.AT_EMPTY_PATH, 0, 0, MemorySegment.NULL) != 0) {
                        if (scratch.errno() == Errno.ENOSYS) {
                            faccessat2Available = false;
                        }
                        return null; // denied, a read-only file system, ...: the JDK's own answer elsewhere
                    }
                }
                errno[0] = 0;
                return answer;
            } finally {
                SystemCall.CLOSE.call(scratch.captureState(), fd); // an O_PATH descriptor: nothing to release
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@return whether a failed lookup's {@code errno} says something of the path itself (no such name, ...)} */
    private static boolean isAnswerAboutPath(int errno) {
        return errno == Errno.ENOENT || errno == Errno.ENOTDIR || errno == Errno.ELOOP || errno == Errno.ENAMETOOLONG
                || errno == Errno.EACCES;
    }

    /** {@return {@code bytes} as a NUL-terminated C string in {@code arena}} */
    private static MemorySegment cString(Arena arena, byte[] bytes) {
        MemorySegment c = arena.allocate(bytes.length + 1L); // zeroed: the last byte is the NUL
        MemorySegment.copy(bytes, 0, c, JAVA_BYTE, 0, bytes.length);
        return c;
    }

    /**
     * {@code openat2(AT_FDCWD, path, flags, RESOLVE_CACHED)}. {@return the descriptor, a negated
     * errno that is the open's answer, or {@code -EAGAIN} where it would wait or openat2 cannot be
     * used here (then no later call tries it: ENOSYS)}
     */
    private static int openCached(CallScratch scratch, MemorySegment path, int flags) throws Throwable {
        MemorySegment how = scratch.openHow(); // struct open_how { flags, mode, resolve }
        how.set(JAVA_LONG, 0, Integer.toUnsignedLong(flags));
        how.set(JAVA_LONG, 8, 0L);
        how.set(JAVA_LONG, 16, RESOLVE_CACHED);
        int fd = (int) SystemCall.OPENAT2.call(scratch.captureState(), Statx.AT_FDCWD, path.address(),
                how.address(), 24, 0, 0, path);
        if (fd < 0) {
            int errno = scratch.errno();
            if (errno == Errno.ENOSYS) {
                openat2Available = false;
            }
            return errno == Errno.ENOSYS || errno == Errno.EINVAL || errno == Errno.EPERM || errno == E2BIG
                    ? -Errno.EAGAIN : -errno;
        }
        return fd;
    }

    /**
     * {@code fcntl(fd, F_SETFL, flags)}: sets the status flags the kernel lets change
     * ({@code O_APPEND}, {@code O_NONBLOCK}, {@code O_DIRECT}, {@code O_NOATIME}, {@code O_ASYNC})
     * to those in {@code flags}, ignoring its others.
     *
     * @return 0, or a negated errno
     */
    public static int setStatusFlags(int fd, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            return SystemCall.FCNTL.call(scratch.captureState(), fd, F_SETFL, flags) != 0 ? -scratch.errno() : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final int O_TMPFILE = 020000000;
    private static final int E2BIG = 7;

    /** {@code close(2)}. */
    public static int close(int fd) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.CLOSE.call(scratch.captureState(), fd);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code poll(2)} events. */
    public static final short POLLIN = 0x1;
    public static final short POLLHUP = 0x10;
    /** {@code tee(2)}: do not wait for data or room. */
    public static final int SPLICE_F_NONBLOCK = 2;

    /**
     * Waits up to {@code timeoutNanos} for {@code events} on {@code fd} ({@code ppoll(2)} without a
     * signal mask); blocking, for platform threads only.
     *
     * @return the events reported (0 when the time ran out), or a negated errno
     */
    public static int poll(int fd, short events, long timeoutNanos) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment pollFd = arena.allocate(8, 8); // struct pollfd { int fd; short events, revents; }
            pollFd.set(JAVA_INT, 0, fd);
            pollFd.set(JAVA_SHORT, 4, events);
            MemorySegment timeout = arena.allocate(16, 8); // struct timespec
            timeout.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
            timeout.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
            long r = SystemCall.PPOLL.call(scratch.captureState(), pollFd.address(), 1, timeout.address(), 0, 8, 0,
                    MemorySegment.NULL);
            if (r < 0) {
                return -scratch.errno();
            }
            return r == 0 ? 0 : pollFd.get(JAVA_SHORT, 6) & 0xffff;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code tee(2)}: duplicates up to {@code length} bytes of pipe {@code in} into pipe {@code out}
     * without consuming them.
     *
     * @return the bytes duplicated, 0 when {@code in} is empty and has no writer, or a negated
     *         errno: EAGAIN, with {@link #SPLICE_F_NONBLOCK}, when it is empty but a writer has it open
     */
    public static long tee(int in, int out, long length, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.TEE.call(scratch.captureState(), in, out, length, flags, 0, 0, MemorySegment.NULL);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code pipe2(2)}: {@code ends} gets the read end, then the write end.
     *
     * @return 0, or a negated errno
     */
    public static int pipe(int[] ends, int flags) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment fds = arena.allocate(8, 4);
            long r = SystemCall.PIPE2.call(scratch.captureState(), fds.address(), flags, 0);
            if (r < 0) {
                return -scratch.errno();
            }
            ends[0] = fds.get(JAVA_INT, 0);
            ends[1] = fds.get(JAVA_INT, 4);
            return 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ftruncate(2)}; blocking, for platform threads and fallbacks only. */
    public static int ftruncate(int fd, long length) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.FTRUNCATE.call(scratch.captureState(), fd, length, 0);
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
            long r = (metaData ? SystemCall.FSYNC : SystemCall.FDATASYNC).call(scratch.captureState(), fd);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code sched_yield(2)}: lets the threads waiting for this CPU run before the caller goes on.
     * For a carrier that spins: the kernel does not preempt a running thread for a woken one until
     * the runner's slice ends (up to a 4 ms tick on a 250 Hz kernel), so a thread woken onto a
     * spinning CPU, the JDK's timer thread or a ring's poller, waits for the spin to end.
     */
    public static void schedYield() {
        try (CallScratch scratch = CallScratch.acquire()) {
            SystemCall.SCHED_YIELD.call(scratch.captureState(), 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code eventfd(2)}: a counter file descriptor, used to wake a sleeping poller. */
    public static int eventfd(int initval, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int fd = (int) SystemCall.EVENTFD2.call(scratch.captureState(), initval, flags, 0);
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
        try (CallScratch scratch = CallScratch.acquire()) {
            return SystemCall.WRITE.call(scratch.captureState(), fd, value.address(), length, 0, 0, 0, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code read(2)} of {@code length} bytes; for non-blocking eventfds only (returns -1 when the
     * counter is zero, without a reason, since the caller only needs to know it got nothing).
     */
    public static long read(int fd, MemorySegment into, long length) {
        try (CallScratch scratch = CallScratch.acquire()) {
            return SystemCall.READ.call(scratch.captureState(), fd, into.address(), length, 0, 0, 0, into);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code preadv2(2)} of one buffer. With {@link #RWF_NOWAIT} it never blocks: a page-cache
     * miss is {@code -EAGAIN}, which makes it safe on a virtual thread.
     */
    public static long preadv2(int fd, long address, long length, long offset, int flags) {
        return oneBuffer(SystemCall.PREADV2, fd, MemorySegment.NULL, address, length, offset, flags);
    }

    /** {@code pwritev2(2)} of one buffer; with {@link #RWF_NOWAIT} it never blocks. */
    public static long pwritev2(int fd, long address, long length, long offset, int flags) {
        return oneBuffer(SystemCall.PWRITEV2, fd, MemorySegment.NULL, address, length, offset, flags);
    }

    /**
     * {@code preadv2(2)} of the {@code count} buffers the {@code struct iovec} array at
     * {@code iov} names, whose memory no other thread may free during the call.
     *
     * @return the bytes read, or a negated errno
     */
    public static long preadv2Vector(int fd, long iov, int count, long offset, int flags) {
        return vector(SystemCall.PREADV2, fd, iov, count, offset, flags);
    }

    /** As {@link #preadv2Vector}, for {@code pwritev2(2)}. */
    public static long pwritev2Vector(int fd, long iov, int count, long offset, int flags) {
        return vector(SystemCall.PWRITEV2, fd, iov, count, offset, flags);
    }

    private static long vector(SystemCall call, int fd, long iov, int count, long offset, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = call.call(scratch.captureState(), fd, iov, count, offset, 0, flags, MemorySegment.NULL);
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
        return pwrite64(fd, MemorySegment.NULL, address, length, offset);
    }

    /** As {@link #pwrite}, from memory inside {@code hold}, kept alive for the call as by {@link #preadv2Holding}. */
    public static long pwriteHolding(int fd, MemorySegment hold, long address, long length, long offset) {
        return pwrite64(fd, requireHolding(hold), address, length, offset);
    }

    private static long pwrite64(int fd, MemorySegment hold, long address, long length, long offset) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.PWRITE64.call(scratch.captureState(), fd, address, length, offset, 0, 0, hold);
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
        return SystemCall.canHold();
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
        return oneBuffer(SystemCall.PREADV2, fd, requireHolding(hold), address, length, offset, flags);
    }

    /** As {@link #preadv2Holding}, for {@code pwritev2(2)}. */
    public static long pwritev2Holding(int fd, MemorySegment hold, long address, long length, long offset,
                                       int flags) {
        return oneBuffer(SystemCall.PWRITEV2, fd, requireHolding(hold), address, length, offset, flags);
    }

    /** {@code preadv2}/{@code pwritev2} of one buffer, holding {@code hold} (or nothing: NULL) for the call. */
    private static long oneBuffer(SystemCall call, int fd, MemorySegment hold, long address, long length,
                                  long offset, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment iov = scratch.iovec();
            iov.set(JAVA_LONG, 0, address);
            iov.set(JAVA_LONG, 8, length);
            // pos_l carries the whole 64-bit offset on 64-bit kernels; pos_h is then unused.
            long r = call.call(scratch.captureState(), fd, iov.address(), 1, offset, 0, flags, hold);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Byte offset of {@code st_size} in {@code struct stat} (same on x86-64 and aarch64). */
    private static final long STAT_SIZE_OFFSET = 48;

    /**
     * {@code fstat(2)}'s {@code st_size}, or a negated errno. For platform threads and for kernels
     * without {@code IORING_OP_STATX}.
     */
    public static long fstatSize(int fd) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment stat = scratch.statx(); // struct stat: 144 bytes on x86-64 and aarch64
            long r = SystemCall.FSTAT.call(scratch.captureState(), fd, stat.address(), 0);
            return r == 0 ? stat.get(JAVA_LONG, STAT_SIZE_OFFSET) : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code SEEK_SET} from {@code <unistd.h>}. */
    public static final int SEEK_SET = 0;
    /** {@code SEEK_CUR} from {@code <unistd.h>}. */
    public static final int SEEK_CUR = 1;
    /** {@code SEEK_END} from {@code <unistd.h>}. */
    public static final int SEEK_END = 2;

    /**
     * {@return the new file offset from {@code lseek(2)}, or a negated errno} Never waits for I/O
     * with {@code SEEK_SET} or {@code SEEK_CUR} (FUSE and NFS answer those in the kernel), so it
     * is safe on a virtual thread.
     */
    public static long lseek(int fd, long offset, int whence) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.LSEEK.call(scratch.captureState(), fd, offset, whence);
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
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = scratch.statx();
            long r = statx(scratch, fd,
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
            long r = SystemCall.COPY_FILE_RANGE.call(scratch.captureState(), in, offsets.address(), out,
                    offsets.address() + JAVA_LONG.byteSize(), length, 0, MemorySegment.NULL);
            return r >= 0 ? r : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * As {@link #fileType(int)}, and the descriptor's mount ID ({@link Statx#mountId}) into
     * {@code mountId[0]} (-1 when the kernel does not report it); cached attributes only, safe on a
     * virtual thread.
     *
     * @param fd      the descriptor
     * @param mountId where the mount ID goes
     * @return the {@code S_IFMT} bits, or a negated errno
     */
    public static int fileTypeAndMount(int fd, long[] mountId) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = scratch.statx();
            long r = statx(scratch, fd,
                    Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, Statx.STATX_TYPE | MountIds.statxMask(), statx);
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
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = scratch.statx();
            long r = statx(scratch, fd,
                    Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, Statx.STATX_NLINK, statx);
            return r != 0 ? -scratch.errno() : Statx.linkCount(statx);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code statx(2)} of an open descriptor from cached attributes ({@code AT_STATX_DONT_SYNC}:
     * never a FUSE daemon's or NFS server's round trip), into {@code statx} ({@link Statx#BYTES}).
     *
     * @return 0, or a negated errno
     */
    public static int statxCached(int fd, int mask, MemorySegment statx) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = statx(scratch, fd, Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC, mask, statx);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code statx(fd, "", flags, mask, buffer)}: of the descriptor itself ({@code AT_EMPTY_PATH} in flags). */
    private static long statx(CallScratch scratch, int fd, int flags, int mask, MemorySegment statx)
            throws Throwable {
        return SystemCall.STATX.call(scratch.captureState(), fd, EMPTY_PATH.address(), flags, mask,
                statx.address(), 0, MemorySegment.NULL);
    }

    /** {@code ""}, NUL-terminated, for calls on a descriptor ({@code AT_EMPTY_PATH}); never freed. */
    private static final MemorySegment EMPTY_PATH = Arena.global().allocate(1);

    /** {@code hold} as the one argument no call may drop: only where {@link #canHoldDuringCall()}. */
    private static MemorySegment requireHolding(MemorySegment hold) {
        if (!SystemCall.canHold()) {
            throw new UnsupportedOperationException("memory cannot be held during a call on this platform");
        }
        return hold;
    }

    /** {@code strerror(3)}. */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) StrError.HANDLE.invokeExact(errno);
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
        long p = mmap(fd, offset, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE);
        if (p < 0) {
            errnoOut[0] = (int) -p;
            return null;
        }
        return MemorySegment.ofAddress(p).reinterpret(length);
    }

    /** {@code mmap(2)} of {@code fd} at {@code offset}. {@return the address, or a negated errno} */
    private static long mmap(int fd, long offset, long length, int prot, int flags) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long p = SystemCall.MMAP.call(scratch.captureState(), 0, length, prot, flags, fd, offset,
                    MemorySegment.NULL);
            return p == MAP_FAILED ? -scratch.errno() : p;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Maps {@code length} bytes of {@code fd} from offset 0, shared and read-only, for reads that
     * copy from the page cache without a system call. Never waits for I/O (no
     * {@code MAP_POPULATE}: pages come in as they are touched).
     *
     * @return the mapping's address, or a negated errno
     */
    public static long mmapReadOnly(int fd, long length) {
        return mmap(fd, 0, length, PROT_READ, MAP_SHARED);
    }

    /**
     * As {@link #mmapReadOnly(int, long)}, from {@code offset} (a multiple of the page size).
     *
     * @return the mapping's address, or a negated errno
     */
    public static long mmapReadOnly(int fd, long offset, long length) {
        return mmap(fd, offset, length, PROT_READ, MAP_SHARED);
    }

    /**
     * {@code munmap(2)} of a mapping from {@link #mmapReadOnly}.
     *
     * @return 0, or a negated errno
     */
    public static int munmap(long address, long length) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.MUNMAP.call(scratch.captureState(), address, length, 0);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code mincore(2)}: for each page of {@code [address, address + length)}, which must lie in a
     * mapping, one byte of {@code vector} whose low bit says whether the page is in memory. Never
     * waits for I/O.
     *
     * @return 0, or a negated errno
     */
    public static int mincore(long address, long length, MemorySegment vector) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.MINCORE.call(scratch.captureState(), address, length, vector.address(), 0, 0, 0,
                    vector);
            return r == 0 ? 0 : -scratch.errno();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@return a regular file's size from {@code statx(2)}, or {@code -1} for any other type of file
     * and when the call fails} Does not wait for a server ({@code AT_STATX_DONT_SYNC}).
     */
    public static long regularFileSize(int fd) {
        try (CallScratch scratch = CallScratch.acquire()) {
            MemorySegment statx = scratch.statx();
            long r = statx(scratch, fd, Statx.AT_EMPTY_PATH | Statx.AT_STATX_DONT_SYNC,
                    Statx.STATX_TYPE | Statx.STATX_SIZE, statx);
            return r == 0 && Statx.fileType(statx) == Statx.S_IFREG ? Statx.size(statx) : -1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void munmap(MemorySegment mapping) {
        int r = munmap(mapping.address(), mapping.byteSize());
        assert r == 0 : "munmap failed";
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
            MemorySegment p = (MemorySegment) Allocator.ALIGNED_ALLOC.invokeExact(alignment, rounded);
            return p.address() == 0 ? MemorySegment.NULL : p.reinterpret(size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code free(3)} of memory from {@link #alignedAlloc}. */
    public static void free(MemorySegment memory) {
        try {
            Allocator.FREE.invokeExact(memory);
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
