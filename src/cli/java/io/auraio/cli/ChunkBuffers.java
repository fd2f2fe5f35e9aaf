package io.auraio.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded pool of native chunk buffers, made when first needed: a run that copies one small file,
 * or copies everything inside the kernel, allocates (and zeroes, and faults in) one or none instead
 * of the whole pool up front (24 MiB for cp, measured as the largest piece of Java work in a short
 * run's start). At most {@code max} exist; a taker waits for one to be given back. Thread-safe.
 */
final class ChunkBuffers implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final BlockingQueue<MemorySegment> free;
    private final long size;
    private final long alignment;
    private final int max;
    private final AtomicInteger made = new AtomicInteger();

    ChunkBuffers(int max, long size, long alignment) {
        this.max = max;
        this.size = size;
        this.alignment = alignment;
        this.free = new ArrayBlockingQueue<>(max);
    }

    /** {@return a buffer of the chunk size: a free one, a new one while fewer than the most exist, else the next given back} */
    MemorySegment take() throws InterruptedException {
        MemorySegment buffer = free.poll();
        if (buffer != null) {
            return buffer;
        }
        for (int n = made.get(); n < max; n = made.get()) {
            if (made.compareAndSet(n, n + 1)) {
                return arena.allocate(size, alignment);
            }
        }
        return free.take();
    }

    /** Gives back a buffer from {@link #take()}. */
    void give(MemorySegment buffer) {
        free.add(buffer);
    }

    /** Frees every buffer; none may be in use. */
    @Override
    public void close() {
        arena.close();
    }
}
