import io.auraio.Engine;
import io.auraio.FileStat;
import java.nio.file.*;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.*;
import java.util.concurrent.*;

/**
 * The attributes of every entry of a tree, read twice ways on one virtual thread: the JDK's
 * {@code Files.readAttributes} (an lstat on the caller), and {@code Engine.statxAsync} through the
 * ring, 64 at a time per directory (io_uring hands every statx to an io-wq worker). Why
 * {@code auraio tree} keeps the first: docs/benchmarks.md, tools section.
 *
 * <p>{@code java --enable-native-access=ALL-UNNAMED -cp target/auraio-<version>.jar bench/StatxVsLstat.java DIR jdk|ring}
 */
public class StatxVsLstat {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        String mode = args[1];
        List<Path> dirs = new ArrayList<>();
        try (var s = Files.walk(root)) { s.filter(Files::isDirectory).forEach(dirs::add); }
        Map<Path, List<Path>> children = new HashMap<>();
        for (Path d : dirs) {
            List<Path> c = new ArrayList<>();
            try (var ds = Files.newDirectoryStream(d)) { for (Path p : ds) c.add(p); }
            children.put(d, c);
        }
        try (Engine engine = Engine.create()) {
            for (int round = 0; round < 3; round++) {
                long t = System.nanoTime();
                long[] total = new long[1];
                Thread v = Thread.ofVirtual().start(() -> {
                    try {
                        long s2 = 0;
                        for (Path d : dirs) {
                            List<Path> c = children.get(d);
                            if (mode.equals("jdk")) {
                                for (Path p : c) s2 += Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).size();
                            } else {
                                for (int i = 0; i < c.size(); i += 64) {
                                    List<CompletableFuture<FileStat>> fs = new ArrayList<>(64);
                                    for (Path p : c.subList(i, Math.min(c.size(), i + 64))) fs.add(engine.statxAsync(p, LinkOption.NOFOLLOW_LINKS));
                                    for (var f : fs) s2 += f.join().size();
                                }
                            }
                        }
                        total[0] = s2;
                    } catch (Exception e) { throw new RuntimeException(e); }
                });
                v.join();
                System.out.printf("%s round %d: %.1f ms, sum %d%n", mode, round, (System.nanoTime() - t) / 1e6, total[0]);
            }
        }
    }
}
