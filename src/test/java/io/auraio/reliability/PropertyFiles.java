package io.auraio.reliability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/** Files for the property tests (which cannot use the Jupiter {@code TestDirectory} extension). */
final class PropertyFiles {
    private PropertyFiles() {}

    /** {@return a fresh directory under {@code target/test-files}} */
    static Path newDirectory(String prefix) throws IOException {
        Path root = Path.of(System.getProperty("basedir", "."), "target", "test-files");
        Files.createDirectories(root);
        return Files.createTempDirectory(root, prefix + "-");
    }

    static void deleteRecursively(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
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
