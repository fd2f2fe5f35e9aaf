package io.auraio.internal.engine;

import io.auraio.internal.binding.IoUring;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.pool.BufferPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The rings of one engine, how a request picks its ring, and the engine's buffer pool. Knows
 * nothing of files or channels.
 */
public final class IoEngine implements AutoCloseable {
    /** How a submission picks its ring (the reference's {@code auraio_ring_select_t}). */
    public enum Selection { ADAPTIVE, CPU_LOCAL, ROUND_ROBIN }

    /** Eight native bytes holding 1: what every poller wake-up adds to its eventfd. */
    private static final MemorySegment WAKE_VALUE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    private final RingPoller[] rings;
    private final Selection selection;
    private final BufferPool pool;
    private final AtomicInteger roundRobin = new AtomicInteger();
    private final LongAdder adaptiveSpills = new LongAdder();
    private final Object closeLock = new Object();
    private volatile boolean closed;
    private boolean terminated;

    private IoEngine(RingPoller[] rings, Selection selection, BufferPool pool) {
        this.rings = rings;
        this.selection = selection;
        this.pool = pool;
    }

    /**
     * Starts {@code ringCount} rings and their pollers.
     *
     * @throws IoUring.SetupException when a ring cannot be set up; rings already started are closed
     */
    public static IoEngine start(int ringCount, RingConfig config, Selection selection, long bufferAlignment)
            throws IoUring.SetupException {
        RingPoller[] rings = new RingPoller[ringCount];
        try {
            for (int i = 0; i < ringCount; i++) {
                rings[i] = RingPoller.start(i, config, WAKE_VALUE);
            }
        } catch (IoUring.SetupException | RuntimeException e) {
            for (RingPoller r : rings) {
                if (r != null) {
                    r.beginClose();
                    joinUninterruptibly(r);
                }
            }
            throw e;
        }
        return new IoEngine(rings, selection, new BufferPool(bufferAlignment, ringCount));
    }

    private static void joinUninterruptibly(RingPoller r) {
        boolean interrupted = false;
        while (true) {
            try {
                r.awaitClosed();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Checks that liburing loads and the kernel sets up a ring for this process.
     *
     * @return null when io_uring is usable, else why not
     */
    public static String unavailabilityCause() {
        try {
            IoUring ring = IoUring.create(2, 0, new int[] {0}, 0, new java.util.ArrayList<>());
            ring.close();
            return null;
        } catch (IoUring.SetupException e) {
            return e.getMessage();
        } catch (LinkageError | IllegalArgumentException | IllegalStateException e) {
            // libraryLookup throws IllegalArgumentException when liburing.so.2 cannot be loaded
            return "liburing.so.2 cannot be used: " + e;
        }
    }

    public boolean isClosed() {
        return closed;
    }

    public BufferPool pool() {
        return pool;
    }

    public int ringCount() {
        return rings.length;
    }

    public RingPoller ring(int index) {
        return rings[index];
    }

    /** {@return the ring the calling thread should submit to, per the selection mode} */
    public RingPoller select() {
        int n = rings.length;
        if (n == 1) {
            return rings[0];
        }
        return switch (selection) {
            case ROUND_ROBIN -> rings[Math.floorMod(roundRobin.getAndIncrement(), n)];
            case CPU_LOCAL -> rings[localIndex(n)];
            case ADAPTIVE -> selectAdaptive(n);
        };
    }

    private static int localIndex(int n) {
        int cpu = Libc.schedGetCpu();
        return cpu < 0 ? 0 : cpu % n;
    }

    /**
     * The reference's ADAPTIVE rule: stay on the local ring until it is above 75% of its
     * in-flight limit; stay anyway if it is an outlier (more than twice the average load); else
     * spill to the lighter of two randomly chosen other rings.
     */
    private RingPoller selectAdaptive(int n) {
        int local = localIndex(n);
        RingPoller localRing = rings[local];
        int load = localRing.inUse();
        if (load * 4 <= localRing.limit() * 3) {
            return localRing;
        }
        long total = 0;
        for (RingPoller r : rings) {
            total += r.inUse();
        }
        if ((long) load * n > 2 * total) {
            return localRing;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int a = (local + 1 + random.nextInt(n - 1)) % n;
        int b = (local + 1 + random.nextInt(n - 1)) % n;
        RingPoller choice = rings[a].inUse() <= rings[b].inUse() ? rings[a] : rings[b];
        adaptiveSpills.increment();
        return choice;
    }

    public long adaptiveSpills() {
        return adaptiveSpills.sum();
    }

    /** {@return requests queued, in the kernel or completing, over all rings} */
    public int pendingCount() {
        int sum = 0;
        for (RingPoller r : rings) {
            sum += r.inUse();
        }
        return sum;
    }

    public boolean isPollerThread() {
        for (RingPoller r : rings) {
            if (r.isPollerThread()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Fails new submissions, cancels in-flight requests, waits until the kernel has finished every
     * one of them and every caller has woken, then frees the rings and the pool. Idempotent and
     * callable from any thread; concurrent callers all return once the engine is down.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (terminated) {
                return;
            }
            closed = true;
            for (RingPoller r : rings) {
                r.beginClose();
            }
            for (RingPoller r : rings) {
                joinUninterruptibly(r);
            }
            pool.close();
            terminated = true;
        }
    }
}
