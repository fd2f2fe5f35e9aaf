package io.auraio.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * An overlayfs mount (a container's root: Docker's overlay2) of directories under a test's
 * directory: fill {@link #lower()} first, then {@link #mount()}; {@link #close()} unmounts. Needs
 * root; {@link #mount()} skips the test where it cannot mount.
 */
public final class Overlay implements AutoCloseable {
    private final Path lower;
    private final Path upper;
    private final Path work;
    private final Path merged;
    private boolean mounted;

    private Overlay(Path base) throws IOException {
        lower = Files.createDirectories(base.resolve("lower"));
        upper = Files.createDirectories(base.resolve("upper"));
        work = Files.createDirectories(base.resolve("work"));
        merged = Files.createDirectories(base.resolve("merged"));
    }

    /** {@return the layers' directories under {@code base}, not mounted yet} */
    public static Overlay layers(Path base) throws IOException {
        return new Overlay(base);
    }

    /** The read-only layer: a file here is copied up to the upper layer when first opened for writing. */
    public Path lower() {
        return lower;
    }

    /** The overlay itself, where its files are opened. */
    public Path merged() {
        return merged;
    }

    /** Mounts the overlay at {@link #merged()}; skips the calling test where that fails (not root). */
    public void mount() throws IOException, InterruptedException {
        Commands.Ran mount = Commands.run("mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work, merged.toString());
        mounted = mount.succeeded();
        assumeTrue(mounted, "cannot mount an overlay here (root needed): " + mount);
    }

    /** Unmounts it (lazily: a file a failed test left open does not keep it). */
    @Override
    public void close() throws IOException {
        if (mounted) {
            mounted = false;
            try {
                new ProcessBuilder("umount", "-l", merged.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted unmounting " + merged);
            }
        }
    }
}
