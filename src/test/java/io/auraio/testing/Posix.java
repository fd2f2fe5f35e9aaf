package io.auraio.testing;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The few libc calls the tests make themselves, through their own FFM downcalls (independent of the
 * library's binding, so a test checks the library against the kernel, not against itself):
 * {@code open}, {@code close}, {@code dup2}, {@code poll}, {@code gettid}, {@code tgkill} and a few more.
 */
public final class Posix {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    /** x86-64 / aarch64 value of {@code O_DIRECTORY}. */
    public static final int O_DIRECTORY = 0x10000;
    public static final int O_CLOEXEC = 0x80000;
    public static final short POLLIN = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    /** {@code struct pollfd { int fd; short events; short revents; }}. */
    private static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));

    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle DUP2 = downcall("dup2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle POLL = downcall("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Linker.Option.captureCallState("errno"));

    private static final MethodHandle SCHED_GETCPU = downcall("sched_getcpu", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETTID = downcall("gettid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle TGKILL = downcall("tgkill",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.captureCallState("errno"));
    /**
     * {@code SIGPIPE}: the JVM catches it and ignores it (so that a write to a closed pipe does not
     * end the process), which makes it a signal tests may send to any of its threads.
     */
    public static final int SIGPIPE = 13;
    /** {@code posix_fadvise} returns its error, errno is not set. */
    private static final MethodHandle FADVISE = downcall("posix_fadvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final int POSIX_FADV_DONTNEED = 4;
    private static final int POSIX_FADV_RANDOM = 1;
    private static final MethodHandle PREAD = downcall("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    /** x86-64 / aarch64 value of {@code O_NONBLOCK}. */
    public static final int O_NONBLOCK = 04000;
    private static final MethodHandle SETRLIMIT = downcall("setrlimit",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.captureCallState("errno"));
    private static final int RLIMIT_FSIZE = 1;

    private Posix() {}

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** {@code open(2)} with {@code O_CLOEXEC} added. {@return the descriptor} */
    public static int open(Path path, int flags) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path.toString()), flags | O_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("open " + path + " failed, errno " + errno(state));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Drops {@code path}'s pages from the page cache (written back first, then
     * {@code POSIX_FADV_DONTNEED} on a descriptor of its own), so that the next read of them waits
     * for the device.
     *
     * @return whether none of the file's pages is in memory afterwards: false where the file
     *         system keeps them (tmpfs, whose pages are the file), which a test that needs a miss
     *         takes as its assumption
     */
    public static boolean dropCachedPages(Path path) throws IOException {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(path)) {
            channel.force(true); // dirty pages are not dropped
        }
        int fd = open(path, O_RDONLY);
        try {
            fadvise(fd, POSIX_FADV_DONTNEED, path);
        } finally {
            close(fd);
        }
        return !anyPageInMemory(path);
    }

    /** {@code posix_fadvise(fd, 0, 0, advice)} of {@code path}'s descriptor {@code fd}. */
    private static void fadvise(int fd, int advice, Path path) throws IOException {
        int r;
        try {
            r = (int) FADVISE.invokeExact(fd, 0L, 0L, advice);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (r != 0) {
            throw new IOException("posix_fadvise " + path + " failed, error " + r);
        }
    }

    /**
     * Drops the file's pages (as {@link #dropCachedPages}), then reads its first {@code pages}
     * pages back through a descriptor that asks for no readahead ({@code POSIX_FADV_RANDOM}), so
     * that exactly those are in memory.
     *
     * @return false where the pages could not be dropped (tmpfs)
     */
    public static boolean keepOnlyTheFirstPages(Path path, int pages) throws IOException {
        if (!dropCachedPages(path)) {
            return false;
        }
        int fd = open(path, O_RDONLY);
        try (Arena arena = Arena.ofConfined()) {
            fadvise(fd, POSIX_FADV_RANDOM, path);
            long length = pages * 4096L;
            long n = (long) PREAD.invokeExact(fd, arena.allocate(length), length, 0L);
            if (n != length) {
                throw new IOException("pread of the first " + pages + " pages of " + path + " gave " + n);
            }
            return true;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            close(fd);
        }
    }

    /**
     * {@return whether any page of the file is in memory} Asked of {@code mincore} (through
     * {@link MemorySegment#isLoaded()}) on a mapping of the file that is never read, so asking
     * brings nothing in; for a file on overlayfs that is the underlying file's page cache, which
     * its reads use.
     */
    public static boolean anyPageInMemory(Path path) throws IOException {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(path);
             Arena arena = Arena.ofConfined()) {
            long size = channel.size();
            if (size == 0) {
                return false;
            }
            MemorySegment mapping = channel.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size, arena);
            for (long page = 0; page < size; page += 4096) {
                if (mapping.asSlice(page, Math.min(4096, size - page)).isLoaded()) {
                    return true;
                }
            }
            return false;
        }
    }

    /** {@return the descriptor's file status flags ({@code O_NONBLOCK}, ...), from /proc/self/fdinfo} */
    public static int statusFlags(int fd) throws IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/fdinfo", Integer.toString(fd)))) {
            if (line.startsWith("flags:")) {
                return Integer.parseInt(line.substring("flags:".length()).strip(), 8);
            }
        }
        throw new IllegalStateException("no flags in fdinfo of " + fd);
    }

    /** {@code close(2)}. */
    public static void close(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            if ((int) CLOSE.invokeExact(state, fd) < 0) {
                throw new IOException("close " + fd + " failed, errno " + errno(state));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Limits the size of the files this process writes ({@code setrlimit(RLIMIT_FSIZE)}, soft and
     * hard): a write past it fails with "File too large" (the JVM ignores the {@code SIGXFSZ} that
     * comes with it). For a JVM of its own: it cannot be raised again.
     */
    public static void limitFileSize(long bytes) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment limit = arena.allocate(JAVA_LONG, 2);
            limit.setAtIndex(JAVA_LONG, 0, bytes);
            limit.setAtIndex(JAVA_LONG, 1, bytes);
            if ((int) SETRLIMIT.invokeExact(state, RLIMIT_FSIZE, limit) < 0) {
                throw new IOException("setrlimit RLIMIT_FSIZE failed, errno " + errno(state));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code dup2(2)}: makes {@code newFd} refer to {@code oldFd}'s open file, atomically. */
    public static void dup2(int oldFd, int newFd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            if ((int) DUP2.invokeExact(state, oldFd, newFd) < 0) {
                throw new IOException("dup2 " + oldFd + " " + newFd + " failed, errno " + errno(state));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@return the CPU the calling (carrier) thread runs on now, from {@code sched_getcpu(3)}} */
    public static int schedGetCpu() {
        try {
            return (int) SCHED_GETCPU.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@return the calling thread's kernel thread id, from {@code gettid(2)}} */
    public static int gettid() {
        try {
            return (int) GETTID.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Sends {@code signal} to thread {@code tid} of this process ({@code tgkill(2)}).
     *
     * @return whether it was sent: false once the thread has exited (ESRCH)
     */
    public static boolean signalThread(int tid, int signal) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) TGKILL.invokeExact(state, (int) ProcessHandle.current().pid(), tid, signal);
            if (r < 0 && errno(state) != 3) { // ESRCH
                throw new IOException("tgkill " + tid + " failed, errno " + errno(state));
            }
            return r == 0;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code poll(2)} on one descriptor for {@code POLLIN}.
     *
     * @param timeoutMillis as for poll(2): 0 checks once, -1 waits without limit
     * @return whether the descriptor is readable
     */
    public static boolean readable(int fd, int timeoutMillis) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment pfd = arena.allocate(POLLFD);
            pfd.set(JAVA_INT, 0, fd);
            pfd.set(JAVA_SHORT, 4, POLLIN);
            int n;
            do {
                n = (int) POLL.invokeExact(state, pfd, 1L, timeoutMillis);
            } while (n < 0 && errno(state) == 4); // EINTR
            if (n < 0) {
                throw new IOException("poll " + fd + " failed, errno " + errno(state));
            }
            short revents = pfd.get(JAVA_SHORT, 6);
            if ((revents & ~POLLIN) != 0) {
                throw new IOException("poll " + fd + " reported revents 0x" + Integer.toHexString(revents));
            }
            return n == 1 && (revents & POLLIN) != 0;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
