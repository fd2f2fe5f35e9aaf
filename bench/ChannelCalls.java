// FileChannel calls besides the scalar read and write, on one virtual thread, FileChannel and
// AuraFileChannel alternated in rounds of the same JVM: gathering writes (a 100 B header and a
// 4,000 B body, as a log appender's record), scattering reads of the same shape, and size().
// Calls per second each round and the median ratio (docs/benchmarks.md, "Other channel calls"):
//   java --enable-native-access=ALL-UNNAMED -cp target/auraio-0.1.0-SNAPSHOT.jar \
//        bench/ChannelCalls.java FILE [ROUNDS] [SECONDS_PER_ROUND]
// FILE is made (64 MiB) and read once first, so that every read is a page-cache hit; put it on
// the file system to measure (ext4, tmpfs, an overlay).
import io.auraio.AuraFileChannel;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

public class ChannelCalls {
    private static final long SPAN = 60L << 20;
    private static final int RECORD = 4100;

    interface Call {
        void run(FileChannel ch, long i) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        long nanos = (long) ((args.length > 2 ? Double.parseDouble(args[2]) : 1) * 1e9);
        Files.write(file, new byte[64 << 20]);
        Files.readAllBytes(file);
        ByteBuffer header = ByteBuffer.allocate(100);
        ByteBuffer body = ByteBuffer.allocate(RECORD - 100);
        ByteBuffer[] record = {header, body};
        Map<String, Call> calls = new java.util.LinkedHashMap<>();
        calls.put("gathering write", (ch, i) -> {
            header.clear();
            body.clear();
            ch.position(i * RECORD % SPAN);
            ch.write(record);
        });
        calls.put("scattering read", (ch, i) -> {
            header.clear();
            body.clear();
            ch.position(i * RECORD % SPAN);
            ch.read(record);
        });
        calls.put("size", (ch, i) -> ch.size());
        Map<String, List<Double>> ratios = new TreeMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (Map.Entry<String, Call> call : calls.entrySet()) {
                double jdk = rate(FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE),
                        call.getValue(), nanos);
                double aura = rate(AuraFileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE),
                        call.getValue(), nanos);
                System.out.printf("round %d: %-16s FileChannel %,.0f/s, AuraFileChannel %,.0f/s, %.2fx%n",
                        round, call.getKey(), jdk, aura, aura / jdk);
                ratios.computeIfAbsent(call.getKey(), k -> new ArrayList<>()).add(aura / jdk);
            }
        }
        for (Map.Entry<String, List<Double>> r : ratios.entrySet()) {
            List<Double> sorted = new ArrayList<>(r.getValue());
            Collections.sort(sorted);
            System.out.printf("median AuraFileChannel/FileChannel, %s: %.2fx%n", r.getKey(), sorted.get(sorted.size() / 2));
        }
    }

    /** Calls per second on a virtual thread, the channel closed after. */
    private static double rate(FileChannel ch, Call call, long nanos) throws Exception {
        double[] result = new double[1];
        Exception[] failure = new Exception[1];
        Thread t = Thread.ofVirtual().start(() -> {
            try (ch) {
                long n = 0;
                long start = System.nanoTime();
                long end = start + nanos;
                while ((n & 63) != 0 || System.nanoTime() < end) {
                    call.run(ch, n++);
                }
                result[0] = n / ((System.nanoTime() - start) / 1e9);
            } catch (Exception e) {
                failure[0] = e;
            }
        });
        t.join();
        if (failure[0] != null) {
            throw failure[0];
        }
        return result[0];
    }
}
