package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * Which mount IDs this process knows mounts by, and the kernel's list of its mounts by them:
 * {@code listmount(2)} and {@code statmount(2)} ({@code <linux/mount.h>}, Linux 6.8).
 *
 * <p>Why: the ID of {@code /proc/self/mountinfo} (statx's {@code STATX_MNT_ID}) is the lowest
 * free one, so a mount made just after another was removed gets the removed one's ID, and a table
 * read before says the removed mount's file system for it (a FUSE mount was taken for the tmpfs
 * unmounted a moment before, and its access checks were made on the caller). The unique ID
 * ({@code STATX_MNT_ID_UNIQUE}, 64 bits) is never given to another mount. Where the kernel cannot
 * list mounts by it (before 6.8: ENOSYS; a seccomp filter that refuses the call: EPERM), or with
 * {@code -Dauraio.uniqueMountIds=false}, mounts are known by mountinfo's IDs, as before. Decided
 * once, at first use: every {@code statx} that asks for a mount asks for the one kind
 * ({@link #statxMask()}), and the mount table is keyed by it.
 */
public final class MountIds {
    /** Set to {@code false}, mounts are known by mountinfo's (reused) IDs even where the kernel has unique ones. */
    static final String PROPERTY = "auraio.uniqueMountIds";

    /** {@code LSMT_ROOT}: list the mounts under the caller's root. */
    private static final long LSMT_ROOT = 0xffffffffffffffffL;
    /** {@code STATMOUNT_MNT_BASIC}: the {@code mnt_...} fields, {@code mnt_id_old} among them. */
    private static final long STATMOUNT_MNT_BASIC = 0x2;

    // struct mnt_id_req { __u32 size; __u32 spare; __u64 mnt_id; __u64 param; }
    private static final long REQ_SIZE = 0;
    private static final long REQ_MNT_ID = 8;
    /** statmount: the request mask; listmount: the last ID listed (0: from the start). */
    private static final long REQ_PARAM = 16;
    /** {@code MNT_ID_REQ_SIZE_VER0}: every kernel with the calls takes it. */
    private static final int MNT_ID_REQ_SIZE_VER0 = 24;

    // struct statmount: fixed part of 512 bytes, then strings (none asked for here)
    private static final long STATMOUNT_BYTES = 512;
    private static final long SM_MASK = 8;             // __u64 mask: what was written
    private static final long SM_MNT_ID_OLD = 56;      // __u32 mnt_id_old: mountinfo's ID

    /** IDs asked of listmount at a time. */
    private static final int BATCH = 256;

    private MountIds() {}

    /** Decided at first use: a class of its own, so that the decision is a constant once made. */
    private static final class Decided {
        static final boolean UNIQUE = !"false".equals(System.getProperty(PROPERTY)) && listsAny();

        private static boolean listsAny() {
            Map<Long, Long> some = list(Map.of(), 1, BATCH);
            return some != null && !some.isEmpty();
        }
    }

    /** {@return whether mounts are known by their unique IDs (else by mountinfo's)} */
    public static boolean unique() {
        return Decided.UNIQUE;
    }

    /** {@return the {@code statx} mask bit that asks for a mount ID of the kind this process uses} */
    public static int statxMask() {
        return Decided.UNIQUE ? Statx.STATX_MNT_ID_UNIQUE : Statx.STATX_MNT_ID;
    }

    /**
     * {@return every mount reachable from this process's root, unique ID to mountinfo ID, or null
     * when the kernel would not list them} A mount removed between the listing and its
     * {@code statmount} is left out. One system call per 256 mounts, and a {@code statmount} per
     * mount; no descriptor.
     */
    public static Map<Long, Long> list() {
        return list(Map.of(), Integer.MAX_VALUE, BATCH);
    }

    /**
     * As {@link #list()}, taking the mountinfo ID of a mount listed in {@code known} (an earlier
     * list) from there, with no {@code statmount}: a unique ID is never another mount's, and a
     * mount's mountinfo ID is its own for its whole life.
     */
    public static Map<Long, Long> list(Map<Long, Long> known) {
        return list(known, Integer.MAX_VALUE, BATCH);
    }

    /**
     * As {@link #list(Map)}, stopping after about {@code most} mounts (the first use's probe asks
     * for 1), asking listmount for {@code batch} IDs at a time (tests ask for few, to go on from one
     * call's last ID as more than {@link #BATCH} mounts would).
     */
    static Map<Long, Long> list(Map<Long, Long> known, int most, int batch) {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment req = arena.allocate(MNT_ID_REQ_SIZE_VER0, 8);
            MemorySegment ids = arena.allocate(JAVA_LONG, batch);
            MemorySegment statmount = arena.allocate(STATMOUNT_BYTES, 8);
            Map<Long, Long> byUnique = new HashMap<>();
            long last = 0;
            while (true) {
                setRequest(req, LSMT_ROOT, last);
                long n = SystemCall.LISTMOUNT.call(scratch.captureState(), req.address(), ids.address(), batch, 0,
                        0, 0, MemorySegment.NULL);
                if (n < 0) {
                    return null; // ENOSYS, EPERM, ...: no list
                }
                for (int i = 0; i < n; i++) {
                    long unique = ids.getAtIndex(JAVA_LONG, i);
                    Long old = known.get(unique);
                    if (old != null) {
                        byUnique.put(unique, old);
                        continue;
                    }
                    setRequest(req, unique, STATMOUNT_MNT_BASIC);
                    long r = SystemCall.STATMOUNT.call(scratch.captureState(), req.address(), statmount.address(),
                            STATMOUNT_BYTES, 0, 0, 0, MemorySegment.NULL);
                    if (r == 0 && (statmount.get(JAVA_LONG, SM_MASK) & STATMOUNT_MNT_BASIC) != 0) {
                        byUnique.put(unique, Integer.toUnsignedLong(statmount.get(JAVA_INT, SM_MNT_ID_OLD)));
                    } // else gone since it was listed (ENOENT): left out
                }
                if (n < batch || byUnique.size() >= most) {
                    return byUnique;
                }
                last = ids.getAtIndex(JAVA_LONG, n - 1); // listed in ID order: the next call goes on after it
            }
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    private static void setRequest(MemorySegment req, long mountId, long param) {
        req.set(JAVA_INT, REQ_SIZE, MNT_ID_REQ_SIZE_VER0);
        req.set(JAVA_INT, REQ_SIZE + 4, 0); // spare
        req.set(JAVA_LONG, REQ_MNT_ID, mountId);
        req.set(JAVA_LONG, REQ_PARAM, param);
    }
}
