package io.auraio.internal.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The operations a ring completed and the bytes they moved: written by the ring's poller only,
 * read by anyone as a consistent pair. Two separate volatile counters let a reader (a JFR period,
 * an MXBean, {@code Engine.stats()}) see one completion's bytes without its operation, so a period
 * of 4 KiB writes could report more 4 KiB blocks than operations. A sequence counter (odd while
 * the poller updates) makes the pair one snapshot; on x86 the writer's release stores and fences
 * compile to plain moves, cheaper than the two volatile stores they replace.
 */
public final class CompletionCounters {
    private static final VarHandle VERSION;
    private static final VarHandle OPS;
    private static final VarHandle BYTES;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            VERSION = l.findVarHandle(CompletionCounters.class, "version", long.class);
            OPS = l.findVarHandle(CompletionCounters.class, "ops", long.class);
            BYTES = l.findVarHandle(CompletionCounters.class, "bytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Odd while the poller is between its two stores of one completion. */
    @SuppressWarnings("unused") // through VERSION
    private long version;
    @SuppressWarnings("unused") // through OPS
    private long ops;
    @SuppressWarnings("unused") // through BYTES
    private long bytes;

    /** One pair as it stood at one moment. */
    public record Snapshot(long ops, long bytes) {}

    /** The poller only: one more operation, which moved {@code moved} bytes. */
    void add(long moved) {
        long v = (long) VERSION.get(this); // the only writer reads its own stores plainly
        VERSION.setOpaque(this, v + 1);
        VarHandle.storeStoreFence(); // the odd version is visible before either counter moves
        OPS.setOpaque(this, (long) OPS.get(this) + 1);
        BYTES.setOpaque(this, (long) BYTES.get(this) + moved);
        VERSION.setRelease(this, v + 2);
    }

    long ops() {
        return (long) OPS.getOpaque(this);
    }

    long bytes() {
        return (long) BYTES.getOpaque(this);
    }

    /** Both counters from one moment; retries while the poller is mid-update (a few nanoseconds). */
    Snapshot snapshot() {
        for (int tries = 1; ; tries++) {
            long before = (long) VERSION.getAcquire(this);
            long o = (long) OPS.getOpaque(this);
            long b = (long) BYTES.getOpaque(this);
            VarHandle.loadLoadFence(); // the counters are read before the version is read again
            if ((before & 1) == 0 && before == (long) VERSION.getOpaque(this)) {
                return new Snapshot(o, b);
            }
            if ((tries & 63) == 0) {
                Thread.yield(); // the poller was descheduled mid-update: let it run
            } else {
                Thread.onSpinWait();
            }
        }
    }
}
