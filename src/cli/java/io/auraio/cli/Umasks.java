package io.auraio.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * The process's umask, which cp takes off a new file's permissions: read from
 * {@code /proc/self/status} (Linux 4.7 and later), as Java has no call for it.
 */
final class Umasks {
    private static final PosixFilePermission[] BITS = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };

    private Umasks() {}

    /** {@return the permissions the umask removes; 022 if the kernel does not say} */
    static Set<PosixFilePermission> current() {
        int mask = 0022;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) {
                    mask = Integer.parseInt(line.substring("Umask:".length()).strip(), 8);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // keep the common default
        }
        Set<PosixFilePermission> removed = EnumSet.noneOf(PosixFilePermission.class);
        for (int bit = 0; bit < BITS.length; bit++) {
            if ((mask & (1 << bit)) != 0) {
                removed.add(BITS[bit]);
            }
        }
        return removed;
    }
}
