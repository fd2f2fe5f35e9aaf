package io.auraio.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Process CPU time and thread count from {@code /proc/self}, without {@code jdk.management}. */
final class ProcessCpu {
    private static final double TICKS_PER_SECOND = 100.0; // USER_HZ on every Linux ABI the JDK supports

    private ProcessCpu() {}

    /** {@return user + system CPU seconds this process has used} */
    static double seconds() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    /** {@return the number of OS threads of this process} */
    static int threads() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Threads:")) {
                    return Integer.parseInt(line.substring(8).trim());
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
