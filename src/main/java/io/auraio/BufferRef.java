package io.auraio;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Names the memory of a read or write (the reference's {@code auraio_buf_t}): native memory given
 * as a segment, or a slice of a buffer registered with {@link Engine#registerBuffers}.
 */
public sealed interface BufferRef permits BufferRef.Memory, BufferRef.Fixed {

    /**
     * Native memory. The kernel never writes into memory that was freed: a {@link Buffer} from
     * {@link Engine#allocateBuffer} is kept allocated by the library until the request completes,
     * and memory of the global arena is never freed, so both are handed to the kernel as they are.
     * Memory that another thread may free while the request is in the kernel (shared and automatic
     * arenas, direct buffers: public API cannot tell them apart) reaches the kernel as a pool copy:
     * a write's bytes are copied when it is submitted, a read's when it completes, and a read whose
     * memory was freed meanwhile completes with {@code -EFAULT} (bytes lost, nothing written).
     * Memory of a confined arena is refused by the request methods with
     * {@link IllegalStateException}, as by the JDK's asynchronous channels: its owner thread could
     * free it while the request runs.
     *
     * @param segment the memory; must be native
     * @param owner   the pool buffer the segment belongs to, or null; a request with an owner whose
     *                memory does not hold the segment's bytes is refused with
     *                {@link IllegalArgumentException} (the owner is what is kept allocated)
     */
    record Memory(MemorySegment segment, Buffer owner) implements BufferRef {
        /**
         * Checks the segment.
         *
         * @throws NullPointerException     if {@code segment} is null
         * @throws IllegalArgumentException if it is not native memory
         */
        public Memory {
            Objects.requireNonNull(segment, "segment");
            if (!segment.isNative()) {
                throw new IllegalArgumentException("an I/O buffer must be native memory (a heap segment's "
                        + "address can move); copy through a Buffer from Engine.allocateBuffer");
            }
        }

        @Override
        public boolean isRegistered() {
            return false;
        }
    }

    /**
     * A slice of a registered buffer, used with {@code READ_FIXED}/{@code WRITE_FIXED}.
     *
     * @param index  the buffer's index in {@link Engine#registerBuffers}
     * @param offset bytes from the start of that buffer
     */
    record Fixed(int index, long offset) implements BufferRef {
        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException if {@code index} or {@code offset} is negative
         */
        public Fixed {
            if (index < 0) {
                throw new IllegalArgumentException("registered buffer index must be >= 0, was " + index);
            }
            if (offset < 0) {
                throw new IllegalArgumentException("registered buffer offset must be >= 0, was " + offset);
            }
        }

        @Override
        public boolean isRegistered() {
            return true;
        }
    }

    /** {@return whether this names a registered buffer} */
    boolean isRegistered();

    /**
     * Native memory (the reference's {@code auraio_buf(ptr)}).
     *
     * @param segment native memory
     * @return the reference
     * @throws IllegalArgumentException if {@code segment} is not native
     */
    static BufferRef of(MemorySegment segment) {
        return new Memory(segment, null);
    }

    /**
     * A registered buffer at an offset (the reference's {@code auraio_buf_fixed(index, offset)}).
     *
     * @param index  registered buffer index
     * @param offset bytes into that buffer
     * @return the reference
     * @throws IllegalArgumentException if {@code index} or {@code offset} is negative
     */
    static BufferRef fixed(int index, long offset) {
        return new Fixed(index, offset);
    }

    /**
     * A registered buffer from its start (the reference's {@code auraio_buf_fixed_idx(index)}).
     *
     * @param index registered buffer index
     * @return the reference
     * @throws IllegalArgumentException if {@code index} is negative
     */
    static BufferRef fixed(int index) {
        return new Fixed(index, 0);
    }
}
