package io.auraio.internal.pool;

import io.auraio.internal.binding.Libc;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Aligned native buffers in power-of-two size classes, kept in shards chosen by the CPU the
 * caller runs on. Striping by CPU rather than by thread matters on virtual threads: a cache per
 * virtual thread would be a cache per request. Memory comes from {@code aligned_alloc} because
 * the kernel, not Java, decides when a buffer is no longer used; the pool's owner returns a
 * buffer only once the kernel is done with it.
 *
 * <p>Nobody waits for a shard: a thread that finds its shard's lock held allocates, or frees,
 * instead. Its holder is another thread on the same CPU (a shard's critical sections do not
 * block), and a platform thread (the event loop returning a callback's buffer) must not queue
 * behind a virtual thread, which may wait long for a carrier (docs/design.md, "Locks the poller
 * shares with virtual threads").
 */
public final class BufferPool implements AutoCloseable {
    /** Smallest class; also the granularity of the classes' sizes. */
    public static final long MIN_CLASS = 4096;
    /** Largest pooled class; larger requests are allocated and freed each time. */
    public static final long MAX_CLASS = 4L << 20;
    private static final int CLASSES = Long.numberOfTrailingZeros(MAX_CLASS) - Long.numberOfTrailingZeros(MIN_CLASS) + 1;
    /** The least alignment of every buffer, whatever {@code alignment} is asked for: a page. */
    private static final long MIN_ALLOCATION_ALIGNMENT = 4096;
    /** Free bytes a shard keeps per class before it gives memory back. */
    private static final long KEEP_BYTES_PER_CLASS = 8L << 20;

    private final long alignment;
    private final Shard[] shards;
    // Adders, not one shared AtomicLong each: every bounced read and write changes both twice, from
    // every CPU, and they are only read for stats.
    private final LongAdder outstandingBytes = new LongAdder();
    private final LongAdder outstandingBuffers = new LongAdder();
    private volatile boolean closed;

    private static final class Shard {
        final ReentrantLock lock = new ReentrantLock();
        @SuppressWarnings({"unchecked", "rawtypes"})
        final ArrayDeque<MemorySegment>[] free = new ArrayDeque[CLASSES];

        Shard() {
            for (int i = 0; i < CLASSES; i++) {
                free[i] = new ArrayDeque<>();
            }
        }
    }

    /**
     * @param alignment  power of two every buffer's address is a multiple of
     * @param shardCount number of shards, rounded up to a power of two
     */
    public BufferPool(long alignment, int shardCount) {
        if (Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, was " + alignment);
        }
        this.alignment = alignment;
        int n = Integer.highestOneBit(Math.max(1, shardCount) * 2 - 1);
        this.shards = new Shard[n];
        for (int i = 0; i < n; i++) {
            shards[i] = new Shard();
        }
    }

    public long alignment() {
        return alignment;
    }

    public int shardCount() {
        return shards.length;
    }

    /** {@return the size a request of {@code size} bytes is rounded up to} */
    public static long classSize(long size) {
        if (size <= MIN_CLASS) {
            return MIN_CLASS;
        }
        return size > MAX_CLASS ? size : Long.highestOneBit(size - 1) << 1;
    }

    private static int classIndex(long classSize) {
        return Long.numberOfTrailingZeros(classSize) - Long.numberOfTrailingZeros(MIN_CLASS);
    }

    /** Test seam: runs {@code action} holding every shard's lock. */
    void runUnderShardLocksForTests(Runnable action) {
        for (Shard shard : shards) {
            shard.lock.lock();
        }
        try {
            action.run();
        } finally {
            for (Shard shard : shards) {
                shard.lock.unlock();
            }
        }
    }

    private Shard shard() {
        int cpu = Libc.schedGetCpu();
        return shards[(cpu < 0 ? 0 : cpu) & (shards.length - 1)];
    }

    /**
     * {@return an aligned buffer of at least {@code size} bytes (its size is the class size), or
     * {@link MemorySegment#NULL} when native memory is exhausted}
     */
    public MemorySegment acquire(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("size must not be negative, was " + size);
        }
        long cls = classSize(size);
        MemorySegment buffer = null;
        if (cls <= MAX_CLASS && !closed) {
            Shard shard = shard();
            if (shard.lock.tryLock()) { // see the class comment: a busy shard allocates instead
                try {
                    buffer = shard.free[classIndex(cls)].pollFirst();
                } finally {
                    shard.lock.unlock();
                }
            }
        }
        if (buffer == null) {
            // Never below a page: pool buffers also carry heap memory's bytes in O_DIRECT
            // transfers, whose memory alignment (the device's DMA alignment, at most a page) a
            // small bufferAlignment option would not meet; the kernel would answer EINVAL.
            buffer = Libc.alignedAlloc(Math.max(alignment, MIN_ALLOCATION_ALIGNMENT), cls);
            if (buffer.equals(MemorySegment.NULL)) {
                return MemorySegment.NULL;
            }
        }
        outstandingBytes.add(cls);
        outstandingBuffers.increment();
        return buffer;
    }

    /** Returns a buffer from {@link #acquire}; safe from any thread, and after {@link #close}. */
    public void release(MemorySegment buffer) {
        long cls = buffer.byteSize();
        outstandingBytes.add(-cls);
        outstandingBuffers.decrement();
        if (cls <= MAX_CLASS && !closed) {
            Shard shard = shard();
            if (shard.lock.tryLock()) { // a busy shard: freed instead
                try {
                    ArrayDeque<MemorySegment> list = shard.free[classIndex(cls)];
                    if (!closed && (list.size() + 1) * cls <= KEEP_BYTES_PER_CLASS) {
                        list.addFirst(buffer);
                        return;
                    }
                } finally {
                    shard.lock.unlock();
                }
            }
        }
        Libc.free(buffer);
    }

    /** {@return bytes handed out and not yet returned} */
    public long outstandingBytes() {
        return outstandingBytes.sum();
    }

    /** {@return buffers handed out and not yet returned} */
    public long outstandingBuffers() {
        return outstandingBuffers.sum();
    }

    /** Frees every cached buffer; buffers still out are freed when they come back. */
    @Override
    public void close() {
        closed = true;
        for (Shard shard : shards) {
            shard.lock.lock();
            try {
                for (ArrayDeque<MemorySegment> list : shard.free) {
                    MemorySegment m;
                    while ((m = list.pollFirst()) != null) {
                        Libc.free(m);
                    }
                }
            } finally {
                shard.lock.unlock();
            }
        }
    }
}
