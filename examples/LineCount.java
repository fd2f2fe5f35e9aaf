/*
 * Counts the lines of a file, as `wc -l FILE` does, reading it through AuraFile: the file is cut
 * into 1 MiB chunks and 8 virtual threads read and count them at once, each parked on its own
 * io_uring request while the others work.
 *
 *   java --enable-native-access=ALL-UNNAMED -cp target/auraio-<version>.jar examples/LineCount.java FILE
 */
import io.auraio.AuraFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

public class LineCount {
    static final int CHUNK = 1 << 20;
    static final int THREADS = 8;

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: LineCount FILE");
            System.exit(2);
        }
        Path path = Path.of(args[0]);
        try (AuraFile file = AuraFile.open(path, StandardOpenOption.READ);
             var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            long size = file.size();
            AtomicLong nextChunk = new AtomicLong();
            List<Future<Long>> counts = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                counts.add(threads.submit(() -> {
                    long lines = 0;
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment buf = arena.allocate(CHUNK);
                        long position;
                        while ((position = nextChunk.getAndIncrement() * CHUNK) < size) {
                            long end = Math.min(position + CHUNK, size);
                            for (long p = position; p < end; ) {
                                // Parks this virtual thread (not its carrier) until the kernel is done.
                                int n = file.read(buf.asSlice(0, end - p), p);
                                if (n < 0) {
                                    break; // the file shrank meanwhile
                                }
                                for (int i = 0; i < n; i++) {
                                    if (buf.get(ValueLayout.JAVA_BYTE, i) == '\n') {
                                        lines++;
                                    }
                                }
                                p += n;
                            }
                        }
                    }
                    return lines;
                }));
            }
            long total = 0;
            for (Future<Long> count : counts) {
                total += count.get();
            }
            System.out.println(total + " " + args[0]);
        }
    }
}
