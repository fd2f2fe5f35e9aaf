package io.auraio;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Statx;
import io.auraio.internal.offload.SlowFileSystems;
import java.nio.file.Path;

/**
 * A path's attributes, or whether it exists, answered on the calling virtual thread where nothing
 * in that can wait ({@link Libc#statCached}: every name of the path in the dentry cache, the file
 * on a local page-cache file system, whose inode is in memory once the name is), instead of on the
 * blocking offload's threads, whose hand-off costs ~10-60 µs a call (0.01-0.05x the JDK's cached
 * {@code stat} on a virtual thread, measured with the provider). Anything else (a name to read
 * from a directory on the device, FUSE, NFS, an unknown file system) is not answered here: the
 * caller takes its usual path, whose answers are the JDK's own.
 */
final class CachedMetadata {
    private static final int STAT_MASK = Statx.STATX_BASIC_STATS | Statx.STATX_BTIME;

    private CachedMetadata() {}

    /** {@return the attributes of {@code path}, or null when they cannot be had here without a wait} */
    static FileStat stat(Path path, boolean followLinks) {
        if (!answerable(path)) {
            return null;
        }
        int[] errno = new int[1];
        return Libc.statCached(NativePath.bytes(path), followLinks, STAT_MASK, CachedMetadata::local, errno);
    }

    /**
     * {@return 1 if {@code path} exists, 0 if it does not (its lookup failed from the cache: any
     * error, as {@code Files.exists} takes any error of its {@code stat} for "no"), -1 when that
     * cannot be told here without a wait}
     */
    static int exists(Path path, boolean followLinks) {
        if (!answerable(path)) {
            return -1;
        }
        int[] errno = new int[1];
        FileStat stat = Libc.statCached(NativePath.bytes(path), followLinks, Statx.STATX_TYPE, CachedMetadata::local,
                errno);
        return stat != null ? 1 : errno[0] == Errno.EAGAIN ? -1 : 0;
    }

    /**
     * {@return whether the real user may access {@code path} as {@code mode} asks ({@code R_OK} 4,
     * {@code W_OK} 2, {@code X_OK} 1, or 0: it exists), following links, as {@code access(2)}; false
     * when that cannot be told here without a wait, and for every refusal (whose exception is the
     * JDK's to make)}
     */
    static boolean accessible(Path path, int mode) {
        if (!answerable(path)) {
            return false;
        }
        int[] errno = new int[1];
        return Libc.statCached(NativePath.bytes(path), true, Statx.STATX_TYPE, mode, CachedMetadata::local,
                errno) != null;
    }

    /** A path of the host's file system, on none of the mounts whose metadata the offload serves (FUSE, NFS, ...). */
    private static boolean answerable(Path path) {
        return NativePath.isDefaultFileSystem(path) && !SlowFileSystems.isSlowPath(path);
    }

    /**
     * The attributes, where the file's mount is of a local page-cache file system (an overlay only
     * where none of its layers is on a FUSE or network mount: its permission checks are the
     * layer's, and wait for that daemon or server); else null.
     */
    private static FileStat local(java.lang.foreign.MemorySegment statx) {
        long mountId = Statx.mountId(statx);
        SlowFileSystems.FileSystem fs = SlowFileSystems.of(mountId);
        return fs.offloadKey() == null && AuraFile.isPageCacheFileSystem(fs.type())
                && !("overlay".equals(fs.type()) && SlowFileSystems.hasSlowLayer(mountId)) ? FileStat.of(statx) : null;
    }
}
