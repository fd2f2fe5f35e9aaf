package io.auraio.jmh;

import io.auraio.AuraFile;
import io.auraio.AuraIOException;
import io.auraio.Buffer;
import io.auraio.Engine;
import io.auraio.Options;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Submit + complete through one ring, from one caller: the poller hand-off cost with no device
 * work (a read of {@code /dev/null}, which completes at once in the kernel) and with a real 4 KiB
 * O_DIRECT read of a file on disk (a page-cache miss every time).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class RoundTripBenchmark {
    private static final long FILE_SIZE = 64L << 20;
    private static final int BLOCK = 4096;

    private Engine engine;
    private AuraFile devNull;
    private AuraFile direct;
    private Buffer buffer;
    private Arena arena;
    private MemorySegment block;
    private Path file;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        engine = Engine.create(Options.builder().ringCount(1).build());
        devNull = AuraFile.open(engine, Path.of("/dev/null"), StandardOpenOption.READ);
        buffer = engine.allocateBuffer(BLOCK);
        // A shared arena: JMH's threads are not the setup thread. Its memory reaches ring requests
        // through a pool copy (AuraFile's rule for memory another thread may free), which this
        // round trip therefore includes.
        arena = Arena.ofShared();
        block = arena.allocate(BLOCK, BLOCK);
        // On the build's disk (not a tmpfs /tmp) so that O_DIRECT reads reach the device.
        Path dir = Files.createDirectories(Path.of("target", "jmh-files"));
        file = Files.createTempFile(dir, "roundtrip", ".dat");
        byte[] chunk = new byte[1 << 20];
        ThreadLocalRandom.current().nextBytes(chunk);
        try (var out = Files.newOutputStream(file, StandardOpenOption.WRITE)) {
            for (long written = 0; written < FILE_SIZE; written += chunk.length) {
                out.write(chunk);
            }
        }
        direct = AuraFile.open(engine, file, StandardOpenOption.READ, directOption());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        direct.close();
        devNull.close();
        buffer.close();
        arena.close();
        engine.close();
        Files.deleteIfExists(file);
    }

    /** A request that does no device work: the cost of submit, poller hand-off, complete and wake-up. */
    @Benchmark
    public long noOpThroughTheRing() throws AuraIOException {
        return engine.readAsync(devNull.fd(), buffer.ref(), BLOCK, 0).join();
    }

    /** A blocking 4 KiB O_DIRECT read through {@link AuraFile} at a random aligned offset. */
    @Benchmark
    public int directRead4k() throws IOException {
        long position = ThreadLocalRandom.current().nextLong(FILE_SIZE / BLOCK) * BLOCK;
        return direct.read(block, position);
    }

    private static OpenOption directOption() {
        // Named by reflection: com.sun.nio.file is jdk.unsupported, and javac's warning is an error here.
        try {
            for (Object constant : Class.forName("com.sun.nio.file.ExtendedOpenOption").getEnumConstants()) {
                if (((Enum<?>) constant).name().equals("DIRECT")) {
                    return (OpenOption) constant;
                }
            }
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no ExtendedOpenOption.DIRECT");
    }
}
