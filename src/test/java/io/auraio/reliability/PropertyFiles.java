package io.auraio.reliability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Files for the property tests (which cannot use the Jupiter {@code TestDirectory} extension). */
final class PropertyFiles {
    private PropertyFiles() {}

    /** {@return a fresh directory under {@code target/test-files}} */
    static Path newDirectory(String prefix) throws IOException {
        Path root = Path.of(System.getProperty("basedir", "."), "target", "test-files");
        Files.createDirectories(root);
        return Files.createTempDirectory(root, prefix + "-");
    }

    /** {@return up to {@code length} bytes of {@code file} at {@code position}, as plain java.nio reads them} */
    static byte[] read(Path file, long position, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer dst = ByteBuffer.allocate(length);
            while (dst.hasRemaining() && ch.read(dst, position + dst.position()) > 0) {
                // until full or end of file
            }
            byte[] out = new byte[dst.position()];
            dst.flip().get(out);
            return out;
        }
    }
}
