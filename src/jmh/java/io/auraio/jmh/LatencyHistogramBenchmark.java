package io.auraio.jmh;

import io.auraio.internal.adaptive.LatencyHistogram;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * {@link LatencyHistogram#record}, which the poller calls for sampled completions. An internal class:
 * the benchmark jar runs on the class path, where module encapsulation does not apply.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class LatencyHistogramBenchmark {
    private final LatencyHistogram histogram = new LatencyHistogram(false);
    private long latency = 1;

    @Benchmark
    public void record() {
        // Cheap pseudo-random spread over 0 to ~12 ms, so that buckets and overflow all get hits.
        latency = (latency * 6364136223846793005L + 1442695040888963407L);
        histogram.record((latency >>> 40) & 0xFF_FFFF);
    }
}
