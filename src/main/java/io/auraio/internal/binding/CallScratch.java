package io.auraio.internal.binding;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Small native scratch areas (an iovec, the errno capture state, a statx buffer) for libc calls made on caller
 * threads. A fixed set is shared by all threads so that a call costs no allocation and a virtual
 * thread does not get a private copy (a {@code ThreadLocal} per virtual thread is one per
 * request). When every slot is taken the caller gets a fresh, confined one.
 */
final class CallScratch implements AutoCloseable {
    static final long IOVEC_OFFSET = 0;
    static final long CAPTURE_OFFSET = 16;
    /** A {@code struct statx} (or a {@code struct stat}, 144 bytes), 8-aligned. */
    static final long STATX_OFFSET = CAPTURE_OFFSET + Math.max(16, (NativeAccess.CAPTURE_LAYOUT.byteSize() + 7) & ~7);
    /** Room for a path of up to {@link #PATH_BYTES} bytes and its NUL. */
    static final long PATH_OFFSET = STATX_OFFSET + Statx.BYTES;
    /** The longest path {@link #path(byte[])} holds; longer ones need memory of their own. */
    static final int PATH_BYTES = 255;
    /** Whole cache lines, so that two threads' areas never share one. */
    private static final long SIZE = (PATH_OFFSET + PATH_BYTES + 1 + 63) & ~63;
    private static final int POOLED = 256;
    /**
     * Ints between two slots' flags in {@link #BUSY}: one cache line each. Packed, the flags of
     * threads on different CPUs shared lines, and every call's taking and giving back of a slot
     * made the other CPU miss (3% of the CPU of 64 virtual threads opening and reading small
     * files, in a profile).
     */
    private static final int STRIDE = 16;

    private static final MemorySegment POOL_MEMORY = Arena.global().allocate(SIZE * POOLED, 64);
    private static final AtomicIntegerArray BUSY = new AtomicIntegerArray(POOLED * STRIDE);
    private static final CallScratch[] POOL = new CallScratch[POOLED];

    static {
        for (int i = 0; i < POOLED; i++) {
            POOL[i] = new CallScratch(i, POOL_MEMORY.asSlice(i * SIZE, SIZE), null);
        }
    }

    private final int index;
    private final MemorySegment iovec;
    private final MemorySegment captureState;
    private final MemorySegment statx;
    private final MemorySegment openHow;
    private final MemorySegment path;
    private final Arena ownArena;

    private CallScratch(int index, MemorySegment memory, Arena ownArena) {
        this.index = index;
        this.iovec = memory.asSlice(IOVEC_OFFSET, 16);
        this.captureState = memory.asSlice(CAPTURE_OFFSET, NativeAccess.CAPTURE_LAYOUT.byteSize());
        this.statx = memory.asSlice(STATX_OFFSET, Statx.BYTES);
        this.openHow = statx.asSlice(0, 24);
        this.path = memory.asSlice(PATH_OFFSET, PATH_BYTES + 1L);
        this.ownArena = ownArena;
    }

    static CallScratch acquire() {
        int start = (int) (Thread.currentThread().threadId() & (POOLED - 1));
        for (int probe = 0; probe < POOLED; probe++) {
            int i = (start + probe) & (POOLED - 1);
            if (BUSY.get(i * STRIDE) == 0 && BUSY.compareAndSet(i * STRIDE, 0, 1)) {
                return POOL[i];
            }
        }
        Arena arena = Arena.ofConfined();
        return new CallScratch(-1, arena.allocate(SIZE, 16), arena);
    }

    /** A one-element {@code struct iovec} (base, length). */
    MemorySegment iovec() {
        return iovec;
    }

    /**
     * {@return room for a {@code struct statx} or {@code struct stat}} Not zeroed: the kernel writes
     * the whole structure on success (fields not asked for as zeros), and nothing is read on failure.
     */
    MemorySegment statx() {
        return statx;
    }

    /**
     * {@return a {@code struct open_how} (24 bytes), in the memory of {@link #statx()}, which no
     * call needs at the same time} Not zeroed: the caller sets all three fields.
     */
    MemorySegment openHow() {
        return openHow;
    }

    /**
     * {@return {@code bytes} as a NUL-terminated C string in this scratch area, or null when it is
     * longer than {@link #PATH_BYTES}} Saves an arena per open of a file by name.
     */
    MemorySegment path(byte[] bytes) {
        if (bytes.length > PATH_BYTES) {
            return null;
        }
        MemorySegment.copy(bytes, 0, path, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
        path.set(java.lang.foreign.ValueLayout.JAVA_BYTE, bytes.length, (byte) 0);
        return path;
    }

    MemorySegment captureState() {
        return captureState;
    }

    int errno() {
        return NativeAccess.errno(captureState);
    }

    @Override
    public void close() {
        if (ownArena != null) {
            ownArena.close();
        } else {
            BUSY.set(index * STRIDE, 0);
        }
    }
}
