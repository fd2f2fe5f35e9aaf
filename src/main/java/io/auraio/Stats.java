package io.auraio;

/**
 * Engine-wide statistics (the reference's {@code auraio_stats_t}): an immutable snapshot, taken
 * from any thread at any time with {@link Engine#stats()}.
 *
 * <p>Each counter is exact and never goes backwards, but a snapshot taken while requests complete
 * reads the caller-thread fast path's counters one after the other: it may count such a read
 * without its bytes, or bytes of one it does not count yet (each ring's pair is one snapshot:
 * {@link RingStats}). Bytes per request are to be taken over an interval (the differences of
 * two snapshots) or once the engine is idle, not from one snapshot during I/O.
 *
 * @param opsCompleted        requests completed, exact: by the kernel through the rings (or off
 *                            them for slow file systems) plus reads served by the caller-thread
 *                            fast path; a request cancelled or shut down before it reached the
 *                            kernel (its result ECANCELED or ESHUTDOWN) is not counted
 * @param bytesTransferred    bytes read and written by those requests, exact
 * @param throughputBps       current throughput over all rings, bytes per second
 * @param p99LatencyMs        the highest current P99 latency estimate of the rings, milliseconds
 *                            ({@link RingStats#p99LatencyMs()}: a P95 below 100 samples in a window)
 * @param currentInFlight     requests queued or in the kernel now
 * @param optimalInFlight     sum of the rings' adaptive in-flight limits
 * @param optimalBatchSize    sum of the rings' adaptive batch thresholds
 * @param adaptiveSpills      submissions that {@link RingSelect#ADAPTIVE} moved off the local ring
 * @param peakInFlight        the most requests one ring has held at once since the engine was
 *                            created (queued, in the kernel or completing), the highest over the
 *                            rings: how close the rings came to their queue depth
 */
public record Stats(long opsCompleted, long bytesTransferred, double throughputBps, double p99LatencyMs,
                    int currentInFlight, int optimalInFlight, int optimalBatchSize, long adaptiveSpills,
                    int peakInFlight) {}
