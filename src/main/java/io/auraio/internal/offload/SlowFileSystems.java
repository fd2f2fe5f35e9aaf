package io.auraio.internal.offload;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which file systems' reads and writes go to {@link BlockingOffload#transfers()} instead of the
 * ring: those whose requests wait for a user-space daemon or a server, where io_uring's
 * asynchronous path is capped and a request in flight cannot be cancelled.
 *
 * <p>FUSE (statfs magic {@code 0x65735546}; mountinfo type {@code fuse}, {@code fuse.NAME},
 * {@code fuseblk}) and virtiofs, which is FUSE underneath: io_uring reaches them as asynchronous
 * requests, of which a FUSE connection runs {@code max_background} (12 by default) at once,
 * measured here at 1,178 reads in 5 s for 64 callers of a 50 ms file system where 64 threads in
 * {@code pread} reach 1,262 per second (issue 15); and a FUSE request in the daemon ignores
 * {@code IORING_OP_ASYNC_CANCEL}, so a caller on a hung daemon could not leave. NFS, CIFS/SMB, 9p,
 * Ceph and Lustre are in the set for the second reason (a hard mount's request waits for the server
 * uninterruptibly; io_uring hands such a buffered read to its few bounded io-wq workers), by
 * reading, not measured here: {@code -Dauraio.offload.fileSystems=fuse,nfs,...} replaces the set
 * (a name ending in {@code .} or equal to {@code fuse} also matches {@code fuse.NAME}; empty: none).
 */
public final class SlowFileSystems {
    private static final Set<String> TYPES = parse(System.getProperty("auraio.offload.fileSystems",
            "fuse,fuseblk,virtiofs,nfs,nfs4,cifs,smb3,9p,ceph,lustre"));
    private static final MountTable MOUNTS = new MountTable();
    /** One instance, so that the mount table can tell it asked this question before. */
    private static final java.util.function.Predicate<String> IS_SLOW = SlowFileSystems::isSlow;

    private SlowFileSystems() {}

    private static Set<String> parse(String list) {
        return Arrays.stream(list.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
    }

    /** {@return whether transfers of files on a file system of mountinfo type {@code type} are offloaded} */
    static boolean isSlow(String type) {
        if (type == null) {
            return false;
        }
        int dot = type.indexOf('.');
        return TYPES.contains(type) || (dot > 0 && TYPES.contains(type.substring(0, dot)));
    }

    /**
     * A mount's file system, as one open needs it.
     *
     * @param type       its type as mountinfo names it ({@code ext4}, {@code fuse.sshfs}, ...), or
     *                   null when unknown
     * @param offloadKey for a file system of this set, the key under which its transfers are
     *                   limited on {@link BlockingOffload#transfers()} (the mount point); else null
     */
    public record FileSystem(String type, String offloadKey) {}

    private static final FileSystem UNKNOWN = new FileSystem(null, null);

    /**
     * {@return the file system of the mount behind {@code statx}'s {@code stx_mnt_id}, unknown
     * (a null type) for a mount the table does not know yet} One look at the mount table per open.
     *
     * @param mountId the mount ID, as {@code Statx.mountId} reads it (unique where the kernel has
     *                unique IDs), or -1 when the kernel gave none
     */
    public static FileSystem of(long mountId) {
        if (mountId < 0) {
            return UNKNOWN; // no ID: nothing to look up, nor to read the table again for
        }
        MountTable.Mount m = MOUNTS.byId(mountId);
        return m == null ? UNKNOWN : new FileSystem(m.type(), isSlow(m.type()) ? m.point() : null);
    }

    /**
     * {@return whether the mount with ID {@code mountId} is an overlay with a layer on a file
     * system of this set (or one that cannot be placed)} Such an overlay's type is local, but its
     * permission checks, lookups and reads of that layer's files are that layer's: a hung FUSE
     * daemon beneath an overlay holds a {@code faccessat2} of the overlay's file.
     */
    public static boolean hasSlowLayer(long mountId) {
        return MOUNTS.anyLayer(mountId, IS_SLOW);
    }

    /**
     * {@return whether {@code path} names a file on a file system of this set, by its name (a
     * symbolic link into such a mount is not seen)} For opens, which happen before there is a
     * descriptor to ask.
     */
    public static boolean isSlowPath(java.nio.file.Path path) {
        // Most machines mount no such file system: then no path needs resolving against the table
        // (2-3 us an open, measured in a profile of auraio hash -r; this check is a few lookups).
        return MOUNTS.anyType(IS_SLOW) && isSlow(MOUNTS.typeOf(path));
    }
}
