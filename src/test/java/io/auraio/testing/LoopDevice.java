package io.auraio.testing;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * A block device for tests: a loop device over an image file, set up with {@code losetup} and
 * detached at {@link #close()}. Where one cannot be had (not root, no loop devices, a container's
 * device rules refusing the open) the test is skipped with the cause.
 */
public final class LoopDevice implements AutoCloseable {
    private final Path device;

    private LoopDevice(Path device) {
        this.device = device;
    }

    /** {@return a loop device over {@code image}}, or skips the calling test where none can be set up. */
    public static LoopDevice over(Path image) throws InterruptedException {
        String device = losetup("--find", "--show", image.toAbsolutePath().toString());
        Assumptions.assumeTrue(device != null && device.startsWith("/dev/"),
                "no loop device could be set up (losetup: " + device + ")");
        LoopDevice loop = new LoopDevice(Path.of(device));
        if (!opens(loop.device)) {
            loop.close();
            Assumptions.abort("the loop device " + device + " does not open (a container's device rules?)");
        }
        return loop;
    }

    /** {@return the device node, {@code /dev/loopN}} */
    public Path path() {
        return device;
    }

    /** Detaches the device; an interrupt meanwhile is kept for the caller to see. */
    @Override
    public void close() {
        try {
            losetup("--detach", device.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * {@return what {@code losetup} printed, trimmed, or null where it failed or is missing} Its
     * pipes are closed by then ({@link Commands}).
     */
    private static String losetup(String... args) throws InterruptedException {
        List<String> command = new ArrayList<>(List.of("losetup"));
        command.addAll(List.of(args));
        try {
            Commands.Ran ran = Commands.run(command);
            return ran.succeeded() ? ran.output().trim() : null;
        } catch (IOException missing) {
            return null;
        }
    }

    /** {@return whether {@code device} opens for reading} A container's device rules may refuse it (EPERM). */
    private static boolean opens(Path device) {
        try (FileChannel ch = FileChannel.open(device)) {
            return ch.isOpen();
        } catch (IOException e) {
            return false;
        }
    }
}
