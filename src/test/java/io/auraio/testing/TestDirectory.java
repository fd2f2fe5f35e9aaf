package io.auraio.testing;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
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

    private final boolean forOthers;
    private Path path;

    public TestDirectory() {
        this(false);
    }

    private TestDirectory(boolean forOthers) {
        this.forOthers = forOthers;
    }

    /**
     * {@return a directory per test that other users can enter, for tests that run a tool as an
     * unprivileged user} Under {@code target/test-files} where every directory above it lets
     * others in; else (a clone inside a {@code 0700} directory, as {@code mktemp -d} makes, or
     * {@code /root}) under {@code java.io.tmpdir}, which may be a tmpfs: not for O_DIRECT.
     */
    public static TestDirectory enterableByOthers() {
        return new TestDirectory(true);
    }

    @Override
    public void beforeEach(ExtensionContext context) throws IOException {
        Files.createDirectories(ROOT);
        String prefix = context.getRequiredTestClass().getSimpleName() + "-"
                + context.getRequiredTestMethod().getName() + "-";
        Path root = !forOthers || othersCanEnter(ROOT) ? ROOT : Path.of(System.getProperty("java.io.tmpdir"));
        path = Files.createTempDirectory(root, prefix);
        if (forOthers) {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /**
     * {@return whether a user who is neither the owner nor in the group of any directory on the
     * way can enter {@code directory}: every directory from the root down to it lets others search}
     */
    public static boolean othersCanEnter(Path directory) throws IOException {
        for (Path p = directory.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            if (Files.exists(p) && !Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                return false;
            }
        }
        return true;
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
