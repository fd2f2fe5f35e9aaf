/*
 * Copies a directory tree, as `cp -r SRC DEST` does for files, directories and symbolic links:
 * every regular file is copied by AuraFiles.copy (Files.copy's rules, its bytes through io_uring)
 * on its own virtual thread, so many files are in flight at once.
 *
 *   java --enable-native-access=ALL-UNNAMED -cp target/auraio-<version>.jar examples/CopyTree.java SRC DEST
 */
import io.auraio.AuraFiles;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

public class CopyTree {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: CopyTree SRC DEST");
            System.exit(2);
        }
        Path source = Path.of(args[0]);
        Path target = Path.of(args[1]);
        List<Future<Long>> copies = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(source);
             var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (Path from : (Iterable<Path>) walk::iterator) {
                Path to = target.resolve(source.relativize(from).toString());
                if (Files.isSymbolicLink(from)) {
                    Files.createSymbolicLink(to, Files.readSymbolicLink(from));
                } else if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(to); // walk() visits a directory before its contents
                } else {
                    copies.add(threads.submit(() -> {
                        AuraFiles.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                        return Files.size(to);
                    }));
                }
            }
        }
        long bytes = 0;
        for (Future<Long> copy : copies) {
            bytes += copy.get(); // rethrows the first failure
        }
        System.out.println("copied " + copies.size() + " files, " + bytes + " bytes");
    }
}
