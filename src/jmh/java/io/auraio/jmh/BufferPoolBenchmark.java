package io.auraio.jmh;

import io.auraio.AuraIOException;
import io.auraio.Buffer;
import io.auraio.Engine;
import io.auraio.Options;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/** Pool allocate + free ({@link Engine#allocateBuffer} and {@link Buffer#close}) of aligned native buffers. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class BufferPoolBenchmark {
    @Param({"4096", "65536"})
    public int size;

    private Engine engine;

    @Setup(Level.Trial)
    public void setUp() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(1).build());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    public long allocateAndFree() throws AuraIOException {
        try (Buffer b = engine.allocateBuffer(size)) {
            return b.size();
        }
    }

    /** Two threads allocating and freeing at once: the striping's job. */
    @Benchmark
    @Threads(2)
    public long allocateAndFreeContended() throws AuraIOException {
        try (Buffer b = engine.allocateBuffer(size)) {
            return b.size();
        }
    }
}
