package io.auraio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/**
 * The process's file mode creation mask, which the kernel applies to a file's mode when it is
 * created; {@link FileCopy} applies it to the mode it sets after creating a file. Linux reports it
 * in {@code /proc/self/status} (since 4.7); without it the usual {@code 022} is assumed.
 */
final class Umask {
    private static final int DEFAULT = 0022;
    private static final PosixFilePermission[] BY_BIT = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };

    private Umask() {}

    /** {@return the permissions the umask removes} Read on each call: another thread may change it. */
    static Set<PosixFilePermission> permissions() {
        int mask = read();
        Set<PosixFilePermission> removed = EnumSet.noneOf(PosixFilePermission.class);
        for (int bit = 0; bit < BY_BIT.length; bit++) {
            if ((mask & (1 << bit)) != 0) {
                removed.add(BY_BIT[bit]);
            }
        }
        return removed;
    }

    private static int read() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) {
                    return Integer.parseInt(line.substring("Umask:".length()).trim(), 8);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // An older kernel or no /proc: fall through to the usual default.
        }
        return DEFAULT;
    }
}
