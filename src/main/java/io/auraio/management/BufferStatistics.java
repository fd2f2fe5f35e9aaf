package io.auraio.management;

/**
 * Buffer pool statistics, the JMX form of {@link io.auraio.BufferStats}.
 *
 * @param allocatedBytes bytes of pool buffers handed out and not returned
 * @param buffers        pool buffers handed out and not returned
 * @param shards         the pool's shard count
 */
public record BufferStatistics(long allocatedBytes, long buffers, int shards) {}
