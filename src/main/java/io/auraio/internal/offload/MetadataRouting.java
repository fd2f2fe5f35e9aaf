package io.auraio.internal.offload;

/**
 * Where {@code AuraFiles}' and the provider's metadata calls with an io_uring opcode (statx,
 * unlinkat, mkdirat, renameat, symlinkat, linkat) go from a virtual thread: to the blocking
 * offload (the default) or, with {@code -Dauraio.metadata=ring}, to the default engine's ring.
 *
 * <p>Why the offload is the default, measured here (Linux 6.18): the kernel runs these opcodes
 * only in its io-wq workers ({@code REQ_F_FORCE_ASYNC}), as "bound" work, of which a ring runs at
 * most {@code min(SQ entries, 4 x CPUs)} at once. Callers of a hung FUSE mount then take every
 * worker of the ring, and the metadata calls of healthy mounts queue behind them until the mount
 * answers (MetadataCarrierLivenessTest's hung-mount case, with ring routing: 64 healthy callers
 * still waiting after 60 s), where the offload caps each mount at its share of the pool. The ring
 * saves a thread handoff per call on healthy mounts.
 */
public final class MetadataRouting {
    /** Whether metadata calls with an opcode go to the ring; for tests to flip, read on every call. */
    public static volatile boolean ring = "ring".equals(System.getProperty("auraio.metadata"));

    private MetadataRouting() {}
}
