package io.auraio.internal.offload;

import io.auraio.internal.binding.Libc;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The type of the file system an open descriptor is on ({@code "ext4"}, {@code "fuse.faultfs"},
 * ...), found without a call that could wait for that file system: the descriptor's device from
 * {@code statx(AT_STATX_DONT_SYNC)} (the superblock's, never asked of a FUSE daemon or an NFS
 * server), looked up in {@code /proc/self/mountinfo}'s {@code major:minor} and type columns.
 *
 * <p>{@code Files.getFileStore(path).type()} answers the same question, but parses mountinfo
 * afresh and stats the path every time (~100 µs, measured as the largest cost of copying a small
 * file with {@code AuraFile}); here the table is parsed once and reused for
 * {@link #MAX_AGE_NANOS}, so a lookup is one {@code statx} and a map probe.
 *
 * <p>A device the table does not list (a btrfs subvolume below the mounted one has a device of its
 * own; a mount made since the table was read) gives {@code null}, after one re-read of a table older
 * than {@link #MIN_REREAD_NANOS}: the caller then asks the JDK. A device number reused within
 * {@link #MAX_AGE_NANOS} by a new mount of another type (an anonymous device of a tmpfs unmounted
 * and a FUSE file system mounted in its place) would be named with the old type until the table is
 * read again. Thread-safe.
 */
public final class FileSystemTypes {
    /** How long a parsed table is used before {@code /proc/self/mountinfo} is read again. */
    static final long MAX_AGE_NANOS = 1_000_000_000L;
    /** A device not in the table re-reads it, but not more often than this. */
    static final long MIN_REREAD_NANOS = 50_000_000L;
    private static final String MOUNTINFO = "/proc/self/mountinfo";

    private record Snapshot(Map<Long, String> types, long readAt) {}

    private static volatile Snapshot snapshot;

    private FileSystemTypes() {}

    /**
     * {@return the type of the file system {@code fd} is on, as mountinfo names it, or {@code null}
     * when it cannot be told (a bad descriptor, a device mountinfo does not list)}
     *
     * @param fd an open file descriptor
     */
    public static String typeOf(int fd) {
        if (fd < 0) {
            return null;
        }
        long device = Libc.device(fd);
        if (device < 0) {
            return null;
        }
        long now = System.nanoTime();
        Snapshot s = snapshot;
        if (s == null || now - s.readAt() > MAX_AGE_NANOS) {
            s = reread(now);
        }
        String type = s.types().get(device);
        if (type == null && now - s.readAt() > MIN_REREAD_NANOS) {
            type = reread(now).types().get(device);
        }
        return type;
    }

    private static Snapshot reread(long now) {
        Snapshot s = new Snapshot(read(), now);
        snapshot = s;
        return s;
    }

    /** {@return device to type, from mountinfo; empty when it cannot be read} */
    static Map<Long, String> read() {
        String text;
        try (FileInputStream in = new FileInputStream(MOUNTINFO)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return Map.of();
        }
        return parse(text);
    }

    /**
     * {@return device to type from mountinfo's text} A line: mount ID, parent ID,
     * {@code major:minor}, root, mount point, options, optional fields, {@code -}, type, source,
     * super options (proc(5)). A device mounted more than once has one type.
     */
    static Map<Long, String> parse(String text) {
        Map<Long, String> types = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] fields = line.split(" ");
            if (fields.length < 10) {
                continue;
            }
            int colon = fields[2].indexOf(':');
            int dash = -1;
            for (int i = 6; i < fields.length; i++) {
                if (fields[i].equals("-")) {
                    dash = i;
                    break;
                }
            }
            if (colon < 0 || dash < 0 || dash + 1 >= fields.length) {
                continue;
            }
            try {
                long major = Long.parseLong(fields[2], 0, colon, 10);
                long minor = Long.parseLong(fields[2], colon + 1, fields[2].length(), 10);
                types.putIfAbsent((major << 32) | minor, MountTable.unescape(fields[dash + 1]));
            } catch (NumberFormatException e) {
                // not a line of the format above: skip it
            }
        }
        return Map.copyOf(types);
    }
}
