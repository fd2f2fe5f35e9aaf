// Metadata calls from 64 virtual threads, three ways side by side, alternated, 3 measured rounds
// after a warm-up round: AuraFiles through the blocking offload (the default), AuraFiles through
// the ring (-Dauraio.metadata=ring's routing), and the JDK's Files directly (which holds a carrier
// per call). Each call is readAttributes(BasicFileAttributes) + exists on one of 256 small files.
//   ./mvnw -q compile && javac -cp target/classes -d /tmp/mb bench/MetaBench.java
//   java --enable-native-access=ALL-UNNAMED -cp target/classes:/tmp/mb MetaBench [directory]
import io.auraio.AuraFiles;
import io.auraio.internal.offload.MetadataRouting;
import java.nio.file.*;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.*;
import java.util.concurrent.atomic.*;

public class MetaBench {
    public static void main(String[] a) throws Exception {
        Path dir = Files.createTempDirectory(Path.of(a.length > 0 ? a[0] : "/tmp"), "mb");
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 256; i++) files.add(Files.write(dir.resolve("f" + i), new byte[i]));
        int threads = 64; long millis = 2000;
        for (int round = 0; round < 4; round++) {
            for (int mode = 0; mode < 3; mode++) {
                boolean ring = mode == 1; boolean jdk = mode == 2;
                MetadataRouting.ring = ring;
                AtomicBoolean stop = new AtomicBoolean();
                LongAdderHolder ops = new LongAdderHolder();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    ts.add(Thread.ofVirtual().start(() -> {
                        int i = id; long n = 0;
                        try {
                            while (!stop.get()) {
                                Path f = files.get(i++ & 255);
                                if (jdk) { Files.readAttributes(f, BasicFileAttributes.class).size(); Files.exists(f); }
                                else { AuraFiles.readAttributes(f, BasicFileAttributes.class).size(); AuraFiles.exists(f); }
                                n += 2;
                            }
                        } catch (Exception e) { throw new RuntimeException(e); }
                        ops.add(n);
                    }));
                }
                Thread.sleep(millis); stop.set(true);
                for (Thread t : ts) t.join();
                if (round > 0) System.out.printf("round %d %-8s %,d calls/s%n", round, jdk ? "jdk-Files" : ring ? "ring" : "offload", ops.sum() * 1000 / millis);
            }
        }
        MetadataRouting.ring = false;
    }
    static final class LongAdderHolder { final java.util.concurrent.atomic.LongAdder a = new java.util.concurrent.atomic.LongAdder(); void add(long n){a.add(n);} long sum(){return a.sum();} }
}
