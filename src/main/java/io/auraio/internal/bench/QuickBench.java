package io.auraio.internal.bench;

import io.auraio.AuraFile;
import io.auraio.Engine;
import io.auraio.Options;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * A small side-by-side benchmark: random reads of one file from many virtual threads, through
 * {@link AuraFile} and through {@link FileChannel}, alternated in the same run. A stand-in for the
 * full bench command; dependency-free so that it ships in the core build.
 *
 * <p>{@code QuickBench [--threads N] [--bs BYTES] [--size MIB] [--seconds S] [--rounds R]
 * [--buffered] [--file PATH] [--engine aura|filechannel|both] [--no-adaptive] [--in-flight N]
 * [--queue-depth N] [--rings N]}
 */
public final class QuickBench {
    private record Result(String engine, long ops, double seconds, double cpuSeconds, long[] latencyNanos, int threads) {
        double iops() {
            return ops / seconds;
        }
    }

    private QuickBench() {}

    public static void main(String[] args) throws Exception {
        int threads = 64;
        int bs = 4096;
        long sizeMiB = 256;
        double seconds = 5;
        int rounds = 2;
        boolean direct = true;
        String engines = "both";
        Path file = null;
        Options.Builder options = Options.builder();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--no-adaptive" -> options.disableAdaptive(true);
                case "--in-flight" -> options.initialInFlight(Integer.parseInt(args[++i]));
                case "--queue-depth" -> options.queueDepth(Integer.parseInt(args[++i]));
                case "--rings" -> options.ringCount(Integer.parseInt(args[++i]));
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--bs" -> bs = Integer.parseInt(args[++i]);
                case "--size" -> sizeMiB = Long.parseLong(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--buffered" -> direct = false;
                case "--file" -> file = Path.of(args[++i]);
                case "--engine" -> engines = args[++i];
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (bs <= 0 || bs % 512 != 0 || threads <= 0 || sizeMiB <= 0 || seconds <= 0) {
            System.err.println("--bs must be a positive multiple of 512; --threads, --size, --seconds positive");
            System.exit(2);
        }
        boolean created = file == null;
        if (created) {
            file = Files.createTempFile(Path.of(System.getProperty("java.io.tmpdir")), "auraio-bench", ".dat");
            fill(file, sizeMiB << 20);
        }
        long fileSize = Files.size(file);
        System.out.printf("randread bs=%d threads=%d (virtual) %s file=%s size=%d MiB, %s s x %d rounds per engine%n",
                bs, threads, direct ? "O_DIRECT" : "buffered", file, fileSize >> 20, seconds, rounds);
        List<Result> aura = new ArrayList<>();
        List<Result> channel = new ArrayList<>();
        try (Engine engine = Engine.create(options.build())) {
            for (int r = 0; r < rounds; r++) {
                if (!engines.equals("filechannel")) {
                    aura.add(run("aura", engine, file, fileSize, bs, threads, seconds, direct));
                    print(aura.getLast());
                    for (int i = 0; i < engine.ringCount(); i++) {
                        var rs = engine.ringStats(i);
                        System.out.printf("    ring %d: limit %d, batch %d, phase %s, p99 %.2f ms%n", i, rs.inFlightLimit(),
                                rs.batchThreshold(), rs.aimdPhaseName(), rs.p99LatencyMs());
                    }
                }
                if (!engines.equals("aura")) {
                    channel.add(run("filechannel", null, file, fileSize, bs, threads, seconds, direct));
                    print(channel.getLast());
                }
            }
        } finally {
            if (created) {
                Files.deleteIfExists(file);
            }
        }
        if (!aura.isEmpty() && !channel.isEmpty()) {
            double a = aura.stream().mapToDouble(Result::iops).average().orElse(0);
            double c = channel.stream().mapToDouble(Result::iops).average().orElse(0);
            double ac = aura.stream().mapToDouble(x -> x.cpuSeconds / x.ops).average().orElse(0);
            double cc = channel.stream().mapToDouble(x -> x.cpuSeconds / x.ops).average().orElse(0);
            System.out.printf("mean IOPS aura %.0f, filechannel %.0f: ratio %.2f; CPU/op %.1f us vs %.1f us: ratio %.2f%n",
                    a, c, a / c, ac * 1e6, cc * 1e6, ac / cc);
        }
    }

    private static void fill(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
            byte[] random = new byte[1 << 20];
            for (long pos = 0; pos < size; pos += chunk.capacity()) {
                ThreadLocalRandom.current().nextBytes(random);
                chunk.clear().put(random).flip();
                while (chunk.hasRemaining()) {
                    ch.write(chunk, pos + chunk.position());
                }
            }
            ch.force(true);
        }
    }

    private static OpenOption directOption() {
        try {
            @SuppressWarnings({"unchecked", "rawtypes"})
            OpenOption o = (OpenOption) Enum.valueOf((Class) Class.forName("com.sun.nio.file.ExtendedOpenOption"), "DIRECT");
            return o;
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("com.sun.nio.file.ExtendedOpenOption is not available", e);
        }
    }

    private interface Reader extends AutoCloseable {
        void read(MemorySegment buf, ByteBuffer view, long position) throws IOException;

        @Override
        void close() throws IOException;
    }

    private static Result run(String name, Engine engine, Path file, long fileSize, int bs, int threads,
                              double seconds, boolean direct) throws Exception {
        OpenOption[] options = direct ? new OpenOption[] {StandardOpenOption.READ, directOption()}
                : new OpenOption[] {StandardOpenOption.READ};
        Reader reader;
        if (engine != null) {
            AuraFile f = AuraFile.open(engine, file, options);
            reader = new Reader() {
                public void read(MemorySegment buf, ByteBuffer view, long position) throws IOException {
                    f.read(buf, position);
                }

                public void close() throws IOException {
                    f.close();
                }
            };
        } else {
            FileChannel ch = FileChannel.open(file, options);
            reader = new Reader() {
                public void read(MemorySegment buf, ByteBuffer view, long position) throws IOException {
                    ch.read(view.clear(), position);
                }

                public void close() throws IOException {
                    ch.close();
                }
            };
        }
        long blocks = fileSize / bs;
        LongAdder ops = new LongAdder();
        long[][] latencies = new long[threads][];
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        double cpuBefore = ProcessCpu.seconds();
        long start = System.nanoTime();
        try (reader; Arena arena = Arena.ofShared()) {
            Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int id = t;
                MemorySegment buf = arena.allocate(bs, 4096);
                workers[t] = Thread.ofVirtual().start(() -> {
                    ByteBuffer view = buf.asByteBuffer();
                    long[] lat = new long[1 << 16];
                    int n = 0;
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    try {
                        long now;
                        while ((now = System.nanoTime()) < deadline) {
                            reader.read(buf, view, random.nextLong(blocks) * bs);
                            long done = System.nanoTime();
                            if (n == lat.length) {
                                lat = Arrays.copyOf(lat, n * 2);
                            }
                            lat[n++] = done - now;
                        }
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                    ops.add(n);
                    latencies[id] = Arrays.copyOf(lat, n);
                });
            }
            for (Thread w : workers) {
                w.join();
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpu = ProcessCpu.seconds() - cpuBefore;
        long[] all = Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
        return new Result(name, ops.sum(), elapsed, cpu, all, ProcessCpu.threads());
    }

    private static void print(Result r) {
        long[] l = r.latencyNanos;
        System.out.printf("  %-12s %9.0f IOPS  p50 %7.1f us  p99 %7.1f us  CPU/op %5.1f us  OS threads %d%n",
                r.engine, r.iops(), pct(l, 0.50) / 1e3, pct(l, 0.99) / 1e3, r.cpuSeconds / r.ops * 1e6, r.threads);
    }

    private static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    }
}
