package io.auraio;

/**
 * Buffer pool statistics (the reference's {@code auraio_buffer_stats_t}), from
 * {@link Engine#bufferStats()}.
 *
 * @param totalAllocatedBytes bytes handed out by the pool and not yet given back (size classes,
 *                            so at least the sizes asked for)
 * @param totalBuffers        buffers handed out and not yet given back
 * @param shardCount          number of pool shards (one per CPU stripe)
 */
public record BufferStats(long totalAllocatedBytes, long totalBuffers, int shardCount) {}
