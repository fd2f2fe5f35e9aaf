// One virtual thread creating, writing (10 B) and deleting files, through the platform's provider
// and through AuraFileSystemProvider (wrapping it, in the same JVM), alternated per round of 1 s;
// files per second and the mean time of Files.write and of Files.delete (docs/design.md, "The
// offload's hand-offs"):
//   java --enable-native-access=ALL-UNNAMED -cp target/auraio-0.1.0-SNAPSHOT.jar \
//        bench/CreateWriteDelete.java DIR
// DIR must exist; the program makes and deletes files named c0..c99 in it.
import io.auraio.spi.AuraFileSystemProvider;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;

public class CreateWriteDelete {
    public static void main(String[] args) throws Exception {
        FileSystem aura = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        for (int round = 0; round < 3; round++) {
            for (Path dir : new Path[] {Path.of(args[0]), aura.getPath(Path.of(args[0]).toAbsolutePath().toString())}) {
                long[] n = new long[1];
                long[] writeNanos = new long[1];
                long[] deleteNanos = new long[1];
                Exception[] failure = new Exception[1];
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        long end = System.nanoTime() + 1_000_000_000L;
                        while (System.nanoTime() < end) {
                            Path p = dir.resolve("c" + (n[0] % 100));
                            long start = System.nanoTime();
                            Files.write(p, new byte[10]);
                            long written = System.nanoTime();
                            Files.delete(p);
                            writeNanos[0] += written - start;
                            deleteNanos[0] += System.nanoTime() - written;
                            n[0]++;
                        }
                    } catch (Exception e) {
                        failure[0] = e;
                    }
                });
                t.join();
                if (failure[0] != null) {
                    throw failure[0];
                }
                System.out.printf("%-24s %,8d files/s  write %6.1f us  delete %6.1f us%n",
                        dir.getFileSystem().provider().getClass().getSimpleName(), n[0],
                        writeNanos[0] / 1e3 / n[0], deleteNanos[0] / 1e3 / n[0]);
            }
        }
    }
}
