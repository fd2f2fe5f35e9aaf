/*
 * Prints the SHA-256 of every regular file under a directory in sha256sum's format (so that
 * `sha256sum -c` checks the output), hashing the files in parallel: each on a virtual thread that
 * reads it through AuraFile in 256 KiB chunks.
 *
 *   java --enable-native-access=ALL-UNNAMED -cp target/auraio-<version>.jar examples/HashDir.java DIR
 */
import io.auraio.AuraFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

public class HashDir {
    static final int CHUNK = 256 * 1024;

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: HashDir DIR");
            System.exit(2);
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(Path.of(args[0]))) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> sums = files.stream().map(f -> threads.submit(() -> sha256(f))).toList();
            for (int i = 0; i < files.size(); i++) {
                System.out.println(sums.get(i).get() + "  " + files.get(i)); // in order, whatever finished first
            }
        }
    }

    static String sha256(Path path) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (AuraFile file = AuraFile.open(path, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK);
            long position = 0;
            int n;
            while ((n = file.read(buf, position)) >= 0) { // -1 at the end of the file, as FileChannel
                md.update(buf.asSlice(0, n).asByteBuffer());
                position += n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
