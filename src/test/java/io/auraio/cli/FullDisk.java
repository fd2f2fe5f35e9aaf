package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * A small tmpfs for one test to fill (a full disk on demand, with no timing involved: the space
 * runs out at a fixed number of bytes), and what a copy cut short must be: a prefix of its
 * source, as coreutils' cp leaves one. Mounting needs root; where it is refused the test is
 * skipped with the reason.
 *
 * <pre>{@code
 * try (FullDisk disk = FullDisk.mount(dir.resolve("small"), "4m")) {
 *     Cli.run("cp", source.toString(), disk.path("copy").toString());
 *     FullDisk.assertPrefixOf(disk.path("copy"), bytes);
 * }
 * }</pre>
 */
final class FullDisk implements AutoCloseable {
    private final Path mountPoint;

    private FullDisk(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /** Mounts a tmpfs of {@code size} (mount's {@code size=}: "4m") at {@code at}, made if missing; skips the test if it cannot. */
    static FullDisk mount(Path at, String size) throws IOException {
        assumeTrue(Tools.present("mount") && Tools.present("umount"), "mount and umount are not installed"
                + " (Debian: apt-get install mount)");
        Files.createDirectories(at);
        Tools.Run mounted = Tools.run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", at.toString());
        assumeTrue(mounted.exitCode() == 0, "cannot mount a tmpfs of " + size + " at " + at
                + " (needs root, CAP_SYS_ADMIN): " + mounted.err().strip());
        return new FullDisk(at);
    }

    /** {@return {@code name} on this file system} */
    Path path(String name) {
        return mountPoint.resolve(name);
    }

    @Override
    public void close() {
        if (Tools.run("umount", mountPoint.toString()).exitCode() != 0) {
            Tools.run("umount", "-l", mountPoint.toString()); // still busy: detach it, it goes once unused
        }
    }

    /** {@return {@code length} random bytes, none of them zero: a zero in a copy of them is a hole} */
    static byte[] nonZeroBytes(int length, long seed) {
        Random random = new Random(seed);
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (1 + random.nextInt(255));
        }
        return b;
    }

    /**
     * Asserts that {@code copy} holds a prefix of {@code source}: no longer, every byte the
     * source's at the same offset, in particular no run of zeros (a hole, or a block allocated and
     * never written) where the source has data.
     */
    static void assertPrefixOf(Path copy, byte[] source) throws IOException {
        byte[] left = Files.readAllBytes(copy);
        assertThat(left.length).as("size of %s (the source has %d bytes)", copy, source.length)
                .isLessThanOrEqualTo(source.length);
        for (int i = 0; i < left.length; i++) {
            if (left[i] == 0 && source[i] != 0) {
                int end = i;
                while (end < left.length && left[end] == 0 && source[end] != 0) {
                    end++;
                }
                throw new AssertionError(copy + " (" + left.length + " bytes) is not a prefix of its source: "
                        + (end - i) + " zero bytes at offset " + i + " where the source has data");
            }
        }
        assertThat(Arrays.mismatch(left, 0, left.length, source, 0, left.length))
                .as("first byte of %s (%d bytes) that differs from the source's", copy, left.length).isEqualTo(-1);
    }
}
