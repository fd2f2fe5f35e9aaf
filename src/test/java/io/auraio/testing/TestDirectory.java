package io.auraio.testing;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh directory per test under {@code target/test-files} (on the build's disk, so O_DIRECT
 * works, unlike a tmpfs {@code /tmp}), deleted after the test. Register it as an instance field:
 * {@code @RegisterExtension final TestDirectory dir = new TestDirectory();}
 */
public final class TestDirectory implements BeforeEachCallback, AfterEachCallback {
    private static final Path ROOT = Path.of(System.getProperty("basedir", "."), "target", "test-files");

    private Path path;

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        Files.createDirectories(ROOT);
        String prefix = context.getRequiredTestClass().getSimpleName() + "-"
                + context.getRequiredTestMethod().getName() + "-";
        path = Files.createTempDirectory(ROOT, prefix);
    }

    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        if (path != null) {
            deleteRecursively(path);
            path = null;
        }
    }

    /** {@return this test's directory} */
    public Path path() {
        if (path == null) {
            throw new IllegalStateException("TestDirectory is only usable inside a test");
        }
        return path;
    }

    /** {@return {@code name} inside this test's directory} */
    public Path resolve(String name) {
        return path().resolve(name);
    }

    /** Deletes {@code root} and everything under it; nothing if it is null or does not exist. */
    public static void deleteRecursively(Path root) throws IOException {
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
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

}
