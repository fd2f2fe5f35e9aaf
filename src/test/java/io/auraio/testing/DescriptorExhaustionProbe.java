package io.auraio.testing;

import io.auraio.AuraFile;
import io.auraio.AuraIO;
import io.auraio.AuraIOException;
import io.auraio.Engine;
import java.io.IOException;
import java.net.URISyntaxException;
import io.auraio.AuraFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Main class for a {@link ForkedJvm}: makes the library's first use while the process is out of
 * file descriptors, frees them, and uses it again. Prints {@code key=value} lines:
 * {@code first.available}, {@code first.backend}, {@code first.create} (the exception's class and
 * errno), then {@code later.available}, {@code later.backend}, {@code later.create},
 * {@code later.open} (the backend of a file opened without an engine), then, out of descriptors
 * again, {@code exhausted.jdkLock} and {@code exhausted.auraLock}: FileChannel's and
 * AuraFileChannel's {@code lock()}, and {@code exhausted.jdkDirectoryLock} and
 * {@code exhausted.auraDirectoryLock}: a shared lock of a directory's channels.
 */
public final class DescriptorExhaustionProbe {
    private DescriptorExhaustionProbe() {}

    /** Runs the probe; {@code args[0]} is a directory to create a file in. */
    public static void main(String[] args) throws Exception {
        preloadLibraryClasses();
        Path file = Files.writeString(Path.of(args[0]).resolve("probe.txt"), "x");
        List<Integer> hoard = new ArrayList<>();
        Posix.close(Posix.open(Path.of("/dev/null"), Posix.O_RDONLY)); // Posix's own handles, before the shortage
        try {
            while (true) {
                hoard.add(Posix.open(Path.of("/dev/null"), Posix.O_RDONLY));
            }
        } catch (IOException outOfDescriptors) {
            System.out.println("hoarded=" + hoard.size());
        }
        System.out.println("first.available=" + AuraIO.isAvailable());
        System.out.println("first.backend=" + AuraIO.backend());
        System.out.println("first.create=" + create());
        for (int fd : hoard) {
            Posix.close(fd);
        }
        System.out.println("later.available=" + AuraIO.isAvailable());
        System.out.println("later.backend=" + AuraIO.backend());
        System.out.println("later.create=" + create());
        try (AuraFile f = AuraFile.open(file, StandardOpenOption.READ)) {
            System.out.println("later.open=" + f.backend());
        }
        // Locks while out of descriptors again: FileChannel's needs none, and neither may ours.
        Path other = Files.writeString(Path.of(args[0]).resolve("probe2.txt"), "y");
        try (FileChannel jdk = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
             AuraFileChannel aura = AuraFileChannel.open(other, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            whileOutOfDescriptors(() -> {
                System.out.println("exhausted.jdkLock=" + lock(jdk));
                System.out.println("exhausted.auraLock=" + lock(aura));
            });
        }
        // Once more for a directory's channels (its companion is opened another way); the channel
        // opened with descriptors to spare takes the reserve again, which the lock above spent.
        Path dir = Path.of(args[0]);
        try (FileChannel jdk = FileChannel.open(dir, StandardOpenOption.READ);
             AuraFileChannel aura = AuraFileChannel.open(dir, StandardOpenOption.READ)) {
            whileOutOfDescriptors(() -> {
                System.out.println("exhausted.jdkDirectoryLock=" + sharedLock(jdk));
                System.out.println("exhausted.auraDirectoryLock=" + sharedLock(aura));
            });
        }
    }

    /** Runs {@code probe} while this process has no descriptor to spare, then frees them. */
    private static void whileOutOfDescriptors(Runnable probe) throws IOException {
        List<Integer> hoarded = hoard();
        try {
            probe.run();
        } finally {
            for (int fd : hoarded) {
                Posix.close(fd);
            }
        }
    }

    private static List<Integer> hoard() {
        List<Integer> fds = new ArrayList<>();
        try {
            while (true) {
                fds.add(Posix.open(Path.of("/dev/null"), Posix.O_RDONLY));
            }
        } catch (IOException outOfDescriptors) {
            return fds;
        }
    }

    private static String lock(FileChannel ch) {
        try (FileLock l = ch.lock()) {
            return "ok " + l.isValid();
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    private static String sharedLock(FileChannel ch) {
        try (FileLock l = ch.lock(0, Long.MAX_VALUE, true)) {
            return "ok " + l.isValid() + " " + l.isShared();
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    private static String create() {
        try (Engine e = Engine.create()) {
            return "ok " + e.ringCount();
        } catch (AuraIOException e) {
            return "AuraIOException errno=" + e.errno() + " " + e.getMessage();
        } catch (RuntimeException | Error e) {
            return e.getClass().getName() + " " + e.getMessage();
        }
    }

    /**
     * Loads (without initialising) every class of the library: loading one from the class path
     * opens its file, which a process without descriptors cannot do, and the point is the
     * library's own first-use behaviour, not the class loader's.
     */
    public static void preloadLibraryClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(AuraIO.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> names;
        try (Stream<Path> files = Files.walk(root)) {
            names = files.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class"))
                    .map(p -> root.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", ""))
                    .toList();
        }
        for (String name : names) {
            Class.forName(name, false, DescriptorExhaustionProbe.class.getClassLoader());
        }
    }
}
