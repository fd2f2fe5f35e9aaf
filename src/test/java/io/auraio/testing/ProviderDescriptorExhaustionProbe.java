package io.auraio.testing;

import io.auraio.spi.AuraFileSystemProvider;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Main class for a {@link ForkedJvm}: the provider's first channel is asked for while the process
 * is out of file descriptors; then they are freed and a channel is asked for again. Prints
 * {@code first} (the first open's exception) and {@code later} (the class of the later channel).
 */
public final class ProviderDescriptorExhaustionProbe {
    private ProviderDescriptorExhaustionProbe() {}

    /** Runs the probe; {@code args[0]} is a directory to create a file in. */
    public static void main(String[] args) throws Exception {
        DescriptorExhaustionProbe.preloadLibraryClasses();
        Path file = Files.writeString(Path.of(args[0]).resolve("probe.txt"), "x");
        FileSystem fs = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        Path ours = fs.getPath(file.toString());
        // Logging set up before the shortage (its first record loads the time zone data): a warning
        // said then must be seen, not fail the open with java.lang.Error.
        System.getLogger("probe").log(System.Logger.Level.INFO, "logging set up");
        List<Integer> hoard = new ArrayList<>();
        Posix.close(Posix.open(Path.of("/dev/null"), Posix.O_RDONLY)); // Posix's own handles, before the shortage
        try {
            while (true) {
                hoard.add(Posix.open(Path.of("/dev/null"), Posix.O_RDONLY));
            }
        } catch (IOException outOfDescriptors) {
            // the shortage
        }
        String first;
        try (FileChannel ch = FileChannel.open(ours, StandardOpenOption.READ)) {
            first = "opened " + ch.getClass().getName();
        } catch (IOException e) {
            first = e.toString();
        } finally {
            for (int fd : hoard) {
                Posix.close(fd);
            }
        }
        System.out.println("first=" + first);
        try (FileChannel ch = FileChannel.open(ours, StandardOpenOption.READ)) {
            System.out.println("later=" + ch.getClass().getName());
        }
    }
}
