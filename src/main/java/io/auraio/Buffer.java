package io.auraio;

import io.auraio.internal.pool.BufferPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Aligned native memory from an engine's pool (the reference's {@code auraio_buffer_alloc} and
 * the C++/Rust RAII {@code Buffer}). Usable from any thread, closable by any thread, and safe to
 * close after the engine is closed.
 *
 * <p>The contents of a new buffer are unspecified, as with the reference's allocator: pool memory
 * is reused without being cleared. {@link #segment()} is valid until {@link #close()}; after that, access through it throws
 * {@link IllegalStateException} instead of touching reused memory. While a request submitted with
 * {@link #ref()} is in flight, the memory is returned to the pool only once the request completes,
 * and while the buffer is registered ({@link Engine#registerBuffers}) only once it is
 * unregistered: the kernel never writes into memory that was given back.
 */
public final class Buffer implements AutoCloseable {
    private static final int CLOSED = 1 << 30;

    private final BufferPool pool;
    private final MemorySegment raw;
    private final Arena arena;
    private final MemorySegment segment;
    /** Bit 30: closed; low bits: requests and registrations using the memory. */
    private final AtomicInteger users = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();

    Buffer(BufferPool pool, MemorySegment raw, long size) {
        this.pool = pool;
        this.raw = raw;
        this.arena = Arena.ofShared();
        this.segment = raw.asSlice(0, size).reinterpret(arena, null);
    }

    /** {@return the memory, aligned to the engine's {@code bufferAlignment}; invalid after close} */
    public MemorySegment segment() {
        return segment;
    }

    /** {@return the size asked for, in bytes} */
    public long size() {
        return segment.byteSize();
    }

    /** {@return a reference to the whole buffer for the engine's read and write requests} */
    public BufferRef ref() {
        return new BufferRef.Memory(segment, this);
    }

    /** {@return whether {@link #close()} has been called} */
    public boolean isClosed() {
        return (users.get() & CLOSED) != 0;
    }

    /** Counts one user of the memory; false when already closed. */
    boolean retain() {
        int u;
        do {
            u = users.get();
            if ((u & CLOSED) != 0) {
                return false;
            }
        } while (!users.compareAndSet(u, u + 1));
        return true;
    }

    /** A user is done; the last one after close gives the memory back. */
    void releaseUse() {
        if (users.decrementAndGet() == CLOSED) {
            pool.release(raw);
        }
    }

    /**
     * Closes the buffer: the segment becomes inaccessible and the memory returns to the pool once
     * no request or registration uses it. Idempotent.
     *
     * @throws IllegalStateException if another thread is accessing the segment at this moment
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        try {
            arena.close(); // first: it refuses while another thread is inside an access
        } catch (IllegalStateException e) {
            closing.set(false);
            throw e;
        }
        if (users.getAndAdd(CLOSED) == 0) {
            pool.release(raw);
        }
    }

    @Override
    public String toString() {
        return "Buffer[size=" + size() + (isClosed() ? ", closed" : "") + "]";
    }
}
