// A file server's pattern on cached small files: open, read the whole file, close, on virtual
// threads, FileChannel and AuraFile alternated in rounds of the same JVM; files per second each
// round and the median ratio. For the per-open costs (docs/benchmarks.md, "Small files"):
//   java --enable-native-access=ALL-UNNAMED -cp target/auraio-0.1.0-SNAPSHOT.jar \
//        bench/SmallFiles.java DIR FILE_BYTES THREADS [ROUNDS] [SECONDS_PER_ROUND]
// DIR gets 1000 files of FILE_BYTES (made once, kept); reads use a 16 KiB heap buffer, as a
// server copying into its response would.
import io.auraio.AuraFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;

public class SmallFiles {
    private static final int FILES = 1000;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int size = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        long nanos = (long) ((args.length > 4 ? Double.parseDouble(args[4]) : 2) * 1e9);
        Files.createDirectories(dir);
        byte[] data = new byte[size];
        Path[] paths = new Path[FILES];
        for (int i = 0; i < FILES; i++) {
            paths[i] = dir.resolve("f" + i);
            if (!Files.exists(paths[i]) || Files.size(paths[i]) != size) {
                Files.write(paths[i], data);
            }
        }
        List<Double> ratios = new ArrayList<>();
        for (int round = 0; round <= rounds; round++) { // round 0 warms both up, not counted
            double fc = run(paths, threads, nanos, false);
            double aura = run(paths, threads, nanos, true);
            if (round > 0) {
                ratios.add(aura / fc);
            }
            System.out.printf("round %d: %d B files, %d threads: FileChannel %.0f/s, AuraFile %.0f/s, %.2fx%n",
                    round, size, threads, fc, aura, aura / fc);
        }
        Collections.sort(ratios);
        System.out.printf("median AuraFile/FileChannel over %d rounds: %.2fx%n", rounds, ratios.get(ratios.size() / 2));
    }

    private static double run(Path[] paths, int threads, long nanos, boolean aura) throws Exception {
        LongAdder files = new LongAdder();
        long end = System.nanoTime() + nanos;
        try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < threads; t++) {
                int first = t * 7;
                executor.submit(() -> {
                    ByteBuffer buffer = ByteBuffer.allocate(16384);
                    for (int i = first; System.nanoTime() < end; i++) {
                        Path path = paths[i % paths.length];
                        if (aura) {
                            try (AuraFile file = AuraFile.open(path, StandardOpenOption.READ)) {
                                long position = 0;
                                for (int r; (r = file.read(buffer.clear(), position)) > 0; ) {
                                    position += r;
                                }
                            }
                        } else {
                            try (FileChannel file = FileChannel.open(path, StandardOpenOption.READ)) {
                                long position = 0;
                                for (int r; (r = file.read(buffer.clear(), position)) > 0; ) {
                                    position += r;
                                }
                            }
                        }
                        files.increment();
                    }
                    return null;
                });
            }
        }
        return files.sum() / (nanos / 1e9);
    }
}
