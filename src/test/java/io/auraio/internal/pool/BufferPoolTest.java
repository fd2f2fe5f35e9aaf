package io.auraio.internal.pool;

import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.LockHolder;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link BufferPool}: size classes, alignment, reuse and the outstanding counts the leak checks rely on. */
class BufferPoolTest {
    @Test
    void sizesRoundUpToPowerOfTwoClassesUpToTheLargest() {
        assertThat(BufferPool.classSize(0)).isEqualTo(4096);
        assertThat(BufferPool.classSize(1)).isEqualTo(4096);
        assertThat(BufferPool.classSize(4096)).isEqualTo(4096);
        assertThat(BufferPool.classSize(4097)).isEqualTo(8192);
        assertThat(BufferPool.classSize(100_000)).isEqualTo(131_072);
        assertThat(BufferPool.classSize(BufferPool.MAX_CLASS)).isEqualTo(BufferPool.MAX_CLASS);
        assertThat(BufferPool.classSize(BufferPool.MAX_CLASS + 1)).isEqualTo(BufferPool.MAX_CLASS + 1);
    }

    @Test
    void buffersAreAlignedAndCountedUntilReturned() {
        try (BufferPool pool = new BufferPool(1 << 16, 2)) {
            MemorySegment a = pool.acquire(10);
            MemorySegment b = pool.acquire(5000);
            assertThat(a.address() % (1 << 16)).isZero();
            assertThat(b.address() % (1 << 16)).isZero();
            assertThat(a.byteSize()).isEqualTo(4096);
            assertThat(b.byteSize()).isEqualTo(8192);
            assertThat(pool.outstandingBuffers()).isEqualTo(2);
            assertThat(pool.outstandingBytes()).isEqualTo(4096 + 8192);
            pool.release(a);
            pool.release(b);
            assertThat(pool.outstandingBuffers()).isZero();
            assertThat(pool.outstandingBytes()).isZero();
        }
    }

    /** Pool buffers carry heap bytes in O_DIRECT transfers, which need the device's alignment. */
    @Test
    void buffersAreAtLeastPageAlignedWhateverTheAskedAlignment() {
        for (long alignment : new long[] {8, 16, 512}) {
            try (BufferPool pool = new BufferPool(alignment, 1)) {
                for (long size : new long[] {1, 4096, 5000, BufferPool.MAX_CLASS + 1}) {
                    MemorySegment m = pool.acquire(size);
                    assertThat(m.address() % 4096).as("alignment %d, size %d", alignment, size).isZero();
                    pool.release(m);
                }
            }
        }
    }

    /**
     * The event loop (a platform thread) returns callbacks' buffers: queued for a shard's lock
     * behind a virtual thread, it would wait until that thread got a carrier. Nobody waits for a
     * shard: a busy one allocates and frees instead.
     */
    @Test
    void aBusyShardIsNotWaitedFor() throws Exception {
        try (BufferPool pool = new BufferPool(4096, 1)) {
            MemorySegment cached = pool.acquire(4096);
            pool.release(cached);
            AtomicLong handedOut = new AtomicLong();
            try (LockHolder _ = LockHolder.hold(pool::runUnderShardLocksForTests)) {
                Thread user = Thread.ofPlatform().start(() -> {
                    MemorySegment m = pool.acquire(4096);
                    handedOut.set(m.address());
                    pool.release(m);
                });
                joinAll(List.of(user)); // fails (after TestSupport.HANG) if either waits for the shard
            }
            assertThat(handedOut.get()).as("a fresh buffer, not the cached one").isNotEqualTo(cached.address());
            assertThat(pool.outstandingBuffers()).isZero();
            MemorySegment again = pool.acquire(4096);
            assertThat(again.address()).as("the cache is intact").isEqualTo(cached.address());
            pool.release(again);
        }
    }

    @Test
    void aReturnedBufferIsHandedOutAgain() {
        try (BufferPool pool = new BufferPool(4096, 1)) {
            assertThat(pool.shardCount()).isEqualTo(1);
            MemorySegment a = pool.acquire(4096);
            pool.release(a);
            assertThat(pool.acquire(3000).address()).isEqualTo(a.address());
        }
    }

    @Test
    void buffersLargerThanTheLargestClassAreNotKept() {
        try (BufferPool pool = new BufferPool(4096, 1)) {
            MemorySegment big = pool.acquire(BufferPool.MAX_CLASS + 1);
            assertThat(big.byteSize()).isEqualTo(BufferPool.MAX_CLASS + 1);
            pool.release(big);
            assertThat(pool.outstandingBytes()).isZero();
        }
    }

    @Test
    void buffersMayComeBackAfterClose() {
        BufferPool pool = new BufferPool(4096, 1);
        MemorySegment a = pool.acquire(4096);
        pool.close();
        pool.release(a);
        assertThat(pool.outstandingBuffers()).isZero();
        MemorySegment b = pool.acquire(4096); // still served, just not cached
        pool.release(b);
        assertThat(pool.outstandingBuffers()).isZero();
    }

    @Test
    void invalidArgumentsAreRefused() {
        assertThatThrownBy(() -> new BufferPool(3000, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alignment");
        try (BufferPool pool = new BufferPool(4096, 1)) {
            assertThatThrownBy(() -> pool.acquire(-1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("size");
        }
    }
}
