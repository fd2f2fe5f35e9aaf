package io.auraio.spi;

import io.auraio.AuraIO;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Run in a forked JVM where io_uring setup fails, with {@link AuraFileSystemProvider} as the
 * default provider: files still open (through the platform). Argument: a directory to work in.
 */
public final class PlatformFallbackProbe {
    private PlatformFallbackProbe() {}

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]).resolve("f.bin");
        byte[] data = {1, 2, 3, 4, 5};
        Files.write(file, data);
        System.out.println("defaultProvider=" + FileSystems.getDefault().provider().getClass().getName());
        System.out.println("available=" + AuraIO.isAvailable());
        System.out.println("cause=" + AuraIO.unavailabilityCause().orElse(""));
        System.out.println("roundTrip=" + Arrays.equals(Files.readAllBytes(file), data));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            System.out.println("channel=" + ch.getClass().getName());
        }
    }
}
