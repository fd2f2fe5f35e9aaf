// Files' metadata and small-file calls from one virtual thread, through the platform's provider
// and through AuraFileSystemProvider (wrapping it, in the same JVM), alternated per call; calls
// per second (best of 3 rounds of 0.3 s each) and the ratio (docs/benchmarks.md, "Files calls
// from a virtual thread"):
//   java --enable-native-access=ALL-UNNAMED -cp target/auraio-0.1.0-SNAPSHOT.jar \
//        bench/ProviderCalls.java DIR
// DIR gets 200 files of 100 B (made once, kept); every name is cached after the first call.
import io.auraio.spi.AuraFileSystemProvider;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;

public class ProviderCalls {
    interface Call {
        void run(Path dir, long i) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Path platformDir = Path.of(args[0]).toAbsolutePath();
        FileSystem aura = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        Path auraDir = aura.getPath(platformDir.toString());
        Files.createDirectories(platformDir.resolve("list"));
        for (int i = 0; i < 200; i++) {
            Path f = platformDir.resolve("list/f" + i);
            if (!Files.exists(f)) {
                Files.write(f, new byte[100]);
            }
        }
        Map<String, Call> calls = new LinkedHashMap<>();
        calls.put("exists", (d, i) -> Files.exists(d.resolve("list/f1")));
        calls.put("isDirectory", (d, i) -> Files.isDirectory(d));
        calls.put("size", (d, i) -> Files.size(d.resolve("list/f1")));
        calls.put("getLastModifiedTime", (d, i) -> Files.getLastModifiedTime(d.resolve("list/f1")));
        calls.put("readAttributes", (d, i) -> Files.readAttributes(d.resolve("list/f1"), BasicFileAttributes.class));
        calls.put("isReadable", (d, i) -> Files.isReadable(d.resolve("list/f1")));
        calls.put("isSameFile", (d, i) -> Files.isSameFile(d.resolve("list/f1"), d.resolve("list/../list/f1")));
        calls.put("isHidden", (d, i) -> Files.isHidden(d.resolve("list/f1")));
        calls.put("createDirectories (exists)", (d, i) -> Files.createDirectories(d.resolve("list")));
        calls.put("readAllBytes", (d, i) -> Files.readAllBytes(d.resolve("list/f1")));
        calls.put("newInputStream", (d, i) -> {
            try (var in = Files.newInputStream(d.resolve("list/f1"))) {
                in.read(new byte[200]);
            }
        });
        calls.put("list 200", (d, i) -> {
            try (var s = Files.newDirectoryStream(d.resolve("list"))) {
                for (Path p : s) {
                    p.getFileName();
                }
            }
        });
        calls.put("write+delete", (d, i) -> {
            Path p = d.resolve("c" + (i % 100));
            Files.write(p, new byte[10]);
            Files.delete(p);
        });
        for (Map.Entry<String, Call> c : calls.entrySet()) {
            double jdk = 0;
            double ours = 0;
            for (int round = 0; round < 3; round++) {
                jdk = Math.max(jdk, rate(c.getValue(), platformDir));
                ours = Math.max(ours, rate(c.getValue(), auraDir));
            }
            System.out.printf("%-26s JDK %,12.0f/s  AuraFileSystemProvider %,12.0f/s  %.2fx%n",
                    c.getKey(), jdk, ours, ours / jdk);
        }
    }

    private static double rate(Call call, Path dir) throws Exception {
        double[] out = new double[1];
        Exception[] failure = new Exception[1];
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                long n = 0;
                long start = System.nanoTime();
                long end = start + 300_000_000L;
                while ((n & 15) != 0 || System.nanoTime() < end) {
                    call.run(dir, n++);
                }
                out[0] = n / ((System.nanoTime() - start) / 1e9);
            } catch (Exception e) {
                failure[0] = e;
            }
        });
        t.join();
        if (failure[0] != null) {
            throw failure[0];
        }
        return out[0];
    }
}
