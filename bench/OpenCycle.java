// One pass over a cached file per open, as a file server reads: open, read it all in one chunk
// size, close; repeated, three rounds, microseconds per cycle. For the mapped-read path's cost on
// files read once per open (docs/design.md, "Mapped reads"):
//   java --enable-native-access=ALL-UNNAMED [-Dio.auraio.mappedReads=false] \
//        -cp target/auraio-0.1.0-SNAPSHOT.jar bench/OpenCycle.java FILE CHUNK_BYTES ITERATIONS
import io.auraio.*;
import java.nio.ByteBuffer;
import java.nio.file.*;

public class OpenCycle {
    public static void main(String[] a) throws Exception {
        Path p = Path.of(a[0]);
        int chunk = Integer.parseInt(a[1]);
        int iters = Integer.parseInt(a[2]);
        ByteBuffer b = ByteBuffer.allocate(chunk);
        long size = Files.size(p);
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                try (AuraFile f = AuraFile.open(p, StandardOpenOption.READ)) {
                    for (long pos = 0; pos < size; pos += chunk) { b.clear(); f.read(b, pos); }
                }
            }
            long t = System.nanoTime() - t0;
            System.out.printf("mapped=%s chunk=%d: %.1f us per open-read-close%n", System.getProperty("io.auraio.mappedReads", "true"), chunk, t / 1e3 / iters);
        }
    }
}
