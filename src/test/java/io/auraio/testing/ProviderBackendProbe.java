package io.auraio.testing;

import io.auraio.spi.AuraFileSystemProvider;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Main class for a {@link ForkedJvm}: opens a channel through an {@link AuraFileSystemProvider}
 * and prints {@code channel} (its class) and {@code read} (what it read).
 */
public final class ProviderBackendProbe {
    private ProviderBackendProbe() {}

    /** Runs the probe; {@code args[0]} is a directory to create a file in. */
    public static void main(String[] args) throws Exception {
        Path file = Files.writeString(Path.of(args[0]).resolve("backend-probe.txt"), "probe");
        FileSystem fs = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        try (FileChannel ch = FileChannel.open(fs.getPath(file.toString()), StandardOpenOption.READ)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
            ch.read(b);
            System.out.println("channel=" + ch.getClass().getName());
            System.out.println("read=" + new String(b.array(), 0, b.position(), java.nio.charset.StandardCharsets.US_ASCII));
        }
    }
}
