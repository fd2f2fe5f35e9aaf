package io.auraio.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/** Reads {@code /proc/self/mountinfo} for {@link FaultFs}: is a directory a mount point, and of what. */
final class Mounts {
    static final String FAULTFS_TYPE = "fuse.faultfs";

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private record Entry(Path mountPoint, String type) {}

    private Mounts() {}

    static boolean isMounted(Path dir) {
        Path p = canonical(dir);
        return entries().stream().anyMatch(e -> e.mountPoint().equals(p));
    }

    static boolean isFaultFs(Path dir) {
        Path p = canonical(dir);
        return entries().stream().anyMatch(e -> e.mountPoint().equals(p) && e.type().equals(FAULTFS_TYPE));
    }

    static List<Path> faultFsMountsUnder(Path root) {
        Path r = canonical(root);
        return entries().stream()
                .filter(e -> e.type().equals(FAULTFS_TYPE) && e.mountPoint().startsWith(r))
                .map(Entry::mountPoint)
                .toList();
    }

    /** {@return whether {@code mount} is a FUSE mount whose daemon is gone} */
    static boolean isDead(Path mount) {
        try {
            Files.readAttributes(mount, BasicFileAttributes.class);
            return false;
        } catch (FileSystemException e) {
            String reason = e.getReason();
            return reason != null && reason.contains("not connected");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The path as mountinfo spells it: symbolic links in its parent resolved (the directory itself
     * is not touched, since stat on a dead FUSE mount fails).
     */
    private static Path canonical(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        if (parent == null) {
            return abs;
        }
        try {
            return parent.toRealPath().resolve(abs.getFileName());
        } catch (IOException e) {
            return abs;
        }
    }

    private static List<Entry> entries() {
        List<String> lines;
        try {
            lines = Files.readAllLines(MOUNTINFO);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Entry> entries = new ArrayList<>(lines.size());
        for (String line : lines) {
            // "36 35 98:0 /root /mount/point rw,noatime shared:1 - fstype source rw,..."
            String[] fields = line.split(" ");
            int dash = List.of(fields).indexOf("-");
            if (fields.length < 5 || dash < 0 || dash + 1 >= fields.length) {
                continue;
            }
            entries.add(new Entry(Path.of(unescape(fields[4])), fields[dash + 1]));
        }
        return entries;
    }

    /** mountinfo escapes space, tab, newline and backslash as {@code \ooo}. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
