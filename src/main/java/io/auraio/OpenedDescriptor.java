package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.engine.IoEngine;
import io.auraio.internal.offload.BlockingOffload;
import io.auraio.internal.offload.SlowFileSystems;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The descriptor of an {@link AuraFile} opened on an engine, with what its open learned of the
 * file. {@link #open} opens it on the caller for a name in the dentry cache or under {@code /proc},
 * on the blocking offload for a creating or truncating open and on a slow file system, through the
 * ring otherwise (each says why); then it waits for a FIFO's other end as {@code open(2)} does, and
 * reads the file's type, mount and O_DIRECT alignment.
 *
 * @param fd                    the open descriptor
 * @param type                  the file's type when known at open ({@link AuraFile#fileType()}), else 0
 * @param fileSystem            the file system of the file's mount, or null when unknown
 * @param directMemoryAlignment with {@code DIRECT}, what a buffer's address must be a multiple of; else 0
 * @param directOffsetAlignment with {@code DIRECT}, what file positions and lengths must be multiples of; else 0
 * @param nonBlocking           whether the descriptor has an {@code O_NONBLOCK} the caller did not ask for,
 *                              still to be cleared before it first goes to a ring
 */
record OpenedDescriptor(int fd, int type, SlowFileSystems.FileSystem fileSystem, int directMemoryAlignment,
                        int directOffsetAlignment, boolean nonBlocking) {
    /** {@code S_IFDIR}. */
    private static final int DIRECTORY = 0x4000;

    /**
     * Opens {@code path} with {@code mode} for a file on the engine {@code core}, a file it creates
     * getting {@code creationMode} (before the umask).
     *
     * @throws IOException as {@link AuraFile#open(Engine, Path, java.util.Set)}
     */
    static OpenedDescriptor open(IoEngine core, Path path, OpenMode mode, int creationMode) throws IOException {
        int fd;
        boolean nonBlocking = false; // O_NONBLOCK of the cached open, still to be cleared
        boolean openedHere = false; // by this thread's own system call, not an io-wq worker's or the offload's
        byte[] bytes = NativePath.bytes(path);
        if (SlowFileSystems.isSlowPath(path)) {
            // On the blocking offload, whose per-mount share bounds what one mount can hold:
            // a ring's OPENAT that the kernel cannot resolve from its caches runs in one of the
            // ring's few bounded io-wq workers (4 per CPU), and opens that a hung FUSE daemon
            // or NFS server holds took them all: an open of a name on a healthy disk that was
            // not in the cache then waited too (measured: 48 opens on a hung mount, a local
            // open still waiting after 10 s). Not interruptible, as the JDK's open is not.
            fd = BlockingOffload.shared().call(path, () -> Libc.open(bytes, mode.flags(), creationMode));
        } else {
            // First as io_uring would try it inline, here: a name in the dentry cache opens
            // without waiting, and without the ring round trip that was a third of the cost of
            // reading a small file (issue 17); anything that would wait goes to the ring.
            fd = core.isClosed() ? -Errno.EAGAIN : Libc.openCachedNonBlocking(bytes, mode.flags()); // closed: ESHUTDOWN
            nonBlocking = fd >= 0 && (mode.flags() & OpenFlags.O_NONBLOCK) == 0;
            openedHere = fd != -Errno.EAGAIN;
            if (fd == -Errno.EAGAIN && !core.isClosed() && isProcName(bytes)
                    && (mode.flags() & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC)) == 0) {
                // A /proc name, opened on this thread as the JDK opens it: /proc/thread-self is the
                // thread that looks it up, which for the ring's open is an io-wq worker (its status,
                // its comm). Nothing there waits for a device; O_NONBLOCK as the cached open's, so
                // that a FIFO reached through /proc/self/fd waits below, off this thread.
                fd = Libc.open(bytes, mode.flags() | OpenFlags.O_NONBLOCK, creationMode);
                nonBlocking = fd >= 0 && (mode.flags() & OpenFlags.O_NONBLOCK) == 0;
                openedHere = true;
            } else if (fd == -Errno.EAGAIN && !core.isClosed()
                    && (mode.flags() & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC)) != 0) {
                // A creating or truncating open, which the kernel never makes inline from a ring
                // (it may wait for the journal): io-wq's thread is a hand-off from the poller,
                // itself woken for the request; the offload's, one, for which the caller polls
                // (a file written and closed by one virtual thread: 94 -> 21 µs, docs/design.md).
                fd = BlockingOffload.shared().call(path, () -> Libc.open(bytes, mode.flags(), creationMode));
            } else if (fd == -Errno.EAGAIN) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment cPath = NativePath.allocate(arena, bytes);
                    // Not interruptible, as the JDK's open is not; the interrupt status is kept.
                    fd = (int) core.execute(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, cPath.address(),
                            creationMode, mode.flags(), 0);
                }
            }
        }
        // One statx of cached attributes (never a FUSE daemon's or NFS server's round trip) per
        // open: the type (an open that may wait for a FIFO's other end needs it now) and the
        // mount, whose file system decides where transfers go (SlowFile).
        long[] mountId = {-1};
        int type = fd >= 0 ? Libc.fileTypeAndMount(fd, mountId) : 0;
        SlowFileSystems.FileSystem fileSystem = fileSystemOf(mountId[0]);
        if (fd >= 0 && !openedHere && fileSystem != null && PROC.equals(fileSystem.type())) {
            // A /proc file that another thread opened (an io-wq worker, or the offload's for a
            // creating or truncating open), by a name that isProcName does not know (a symbolic
            // link, a relative name) or not on this thread: opened again here, for the same reason
            // (a procfs file's open waits for nothing).
            int again = Libc.open(bytes, mode.flags(), creationMode);
            Libc.close(fd); // a procfs file: its close waits for nothing
            fd = again;
            type = fd >= 0 ? Libc.fileTypeAndMount(fd, mountId) : 0;
            fileSystem = fileSystemOf(mountId[0]);
        }
        if (nonBlocking && !(type == AuraFile.REGULAR_FILE && fileSystem != null && fileSystem.offloadKey() == null
                && AuraFile.isPageCacheFileSystem(fileSystem.type()))) {
            // A FIFO or a device waits in reads and writes as the caller opened it to, and only a
            // local page-cache file system is known to ignore O_NONBLOCK in the reads and writes
            // made on the caller (a FUSE daemon gets the flags with every request; network file
            // systems are not known; overlayfs hands its flags to the local file beneath): cleared
            // now. A regular file's on a local page-cache file system is cleared before its
            // descriptor first goes to a ring (AuraFile.unblock()): most small files read from the page
            // cache never go there.
            int r = Libc.setStatusFlags(fd, mode.flags());
            if (r < 0) {
                Libc.close(fd);
                throw Failures.open(path, -r);
            }
            nonBlocking = false;
        }
        int first = fd;
        fd = waitForFifoPartner(core, fd, type, bytes, mode, creationMode);
        if (fd < 0) {
            throw Failures.open(path, -fd, (mode.flags() & OpenFlags.O_NOFOLLOW) != 0);
        }
        if (first < 0) { // a FIFO's writer that waited for its reader: the type of the file it got
            type = Libc.fileTypeAndMount(fd, mountId);
            fileSystem = fileSystemOf(mountId[0]);
        }
        int memAlign = 0;
        int offsetAlign = 0;
        try {
            if (mode.direct()) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment statx = cachedStatx(fd, Statx.STATX_DIOALIGN | Statx.STATX_TYPE, arena);
                    // Filesystems that do not report DIOALIGN get the block size, as the JDK uses.
                    int blockSize = Math.max(512, Statx.blockSize(statx));
                    memAlign = Statx.directMemoryAlignment(statx) > 0 ? Statx.directMemoryAlignment(statx) : blockSize;
                    offsetAlign = Statx.directOffsetAlignment(statx) > 0 ? Statx.directOffsetAlignment(statx) : blockSize;
                }
            }
            if (mode.deleteOnClose() && type != DIRECTORY) {
                // As the JDK does: unlink at once (the open descriptor keeps the data until close),
                // best effort: a failure is ignored, and a directory (which unlink refuses) stays.
                // Off the carrier: an unlink may wait for the journal.
                try {
                    BlockingOffload.shared().call(path, () -> Files.deleteIfExists(path));
                } catch (IOException ignored) {
                    // best effort, as the JDK's
                }
            }
        } catch (IOException | RuntimeException e) {
            DescriptorClose.closeOnOffload(path, fd); // the open failed after it: not handed out
            throw e;
        }
        // The engine's registered table may hold this number for a file closed since (a raw
        // descriptor closed without unregistering, or one registered while its AuraFile closed):
        // the Engine API's requests on the number would go to that file. No registration made
        // before this open can be for this file: taken out, as AuraFile.close() takes out its own.
        core.forgetFile(fd);
        return new OpenedDescriptor(fd, Math.max(0, type), fileSystem, memAlign, offsetAlign, nonBlocking);
    }

    /** mountinfo's type of procfs. */
    private static final String PROC = "proc";
    private static final byte[] PROC_PREFIX = {'/', 'p', 'r', 'o', 'c', '/'};

    /**
     * {@return whether {@code path} (a path's bytes, as {@link NativePath#bytes}: no repeated
     * slash) names something under {@code /proc}, "/proc/thread-self" among them, or forms the
     * kernel resolves to it ("/proc/self/../thread-self")} Opened on the caller: see the open.
     */
    static boolean isProcName(byte[] path) {
        return path.length > PROC_PREFIX.length
                && Arrays.equals(path, 0, PROC_PREFIX.length, PROC_PREFIX, 0, PROC_PREFIX.length);
    }

    /** {@return the file system of mount {@code mountId} ({@code Statx.mountId}), or null when it is unknown (-1)} */
    private static SlowFileSystems.FileSystem fileSystemOf(long mountId) {
        return mountId < 0 ? null : SlowFileSystems.of(mountId);
    }

    /**
     * The ring tries an open inline with {@code O_NONBLOCK} first, which changes what opening a
     * FIFO does: for writing with no reader it fails with ENXIO, for reading it returns without
     * waiting for a writer. {@code open(2)} (and the JDK) waits for the other end: so does this,
     * off the carrier ({@link BlockingOpen}). For writing, with a blocking open. For reading, by
     * asking the descriptor already open whether a writer came: a second, blocking open would miss
     * a writer this one let in that wrote and closed before it (one waiting for a reader does so
     * within microseconds, its bytes left in the FIFO), and wait for the next one, for ever if none
     * comes. A creating or truncating open, which the kernel always runs in a worker, and a
     * read-write one, which never waits, need nothing.
     *
     * @return the descriptor to use, or a negated errno
     */
    private static int waitForFifoPartner(IoEngine core, int fd, int type, byte[] path, OpenMode mode,
                                          int creationMode) {
        if (!fifoOpenMayWait(mode)) {
            return fd;
        }
        if (fd == -Errno.ENXIO && mode.write()) {
            return BlockingOpen.open(path, mode.flags(), creationMode); // ENXIO again if no FIFO
        }
        if (fd >= 0 && mode.read() && type == Statx.S_IFIFO) {
            int waited;
            try {
                waited = BlockingOpen.awaitFifoWriter(fd);
            } catch (RuntimeException | Error e) {
                // No thread for the wait (OutOfMemoryError) or a system call failing oddly: the
                // descriptor must not leak. A FIFO's close waits for nothing.
                Libc.close(fd);
                throw e;
            }
            if (waited < 0) {
                Libc.close(fd);
                return waited;
            }
        }
        return fd;
    }

    /** Whether opening with {@code mode} may wait for a FIFO's other end: {@link #waitForFifoPartner}. */
    private static boolean fifoOpenMayWait(OpenMode mode) {
        return (mode.flags() & (OpenFlags.O_CREAT | OpenFlags.O_TRUNC)) == 0 && mode.read() != mode.write();
    }

    /**
     * {@return the {@code statx} of the open descriptor {@code fd}, from cached attributes, on the
     * caller} The descriptor is open, so its inode is in memory; a ring {@code STATX} of a FUSE or
     * NFS file asked the daemon or server on an io-wq worker, which nobody can cancel there: a hung
     * daemon held it, and {@link Engine#close()}, for ever.
     */
    private static MemorySegment cachedStatx(int fd, int mask, Arena arena) throws IOException {
        MemorySegment statx = arena.allocate(Statx.BYTES, 8);
        int r = Libc.statxCached(fd, mask, statx);
        if (r < 0) {
            throw Failures.io("statx", -r);
        }
        return statx;
    }
}
