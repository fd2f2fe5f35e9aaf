package io.auraio.internal.offload;

import io.auraio.internal.binding.MountIds;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which mount a path is on, from {@code /proc/self/mountinfo}, by the longest mount point that is
 * a prefix of the path's absolute, normalized name. No call here touches the file system the path
 * is on: a {@code stat} for {@code st_dev} would hang on the very mount whose callers must be told
 * apart. A symbolic link that leads to another mount is attributed to the mount its name is on.
 *
 * <p>The table is read again when older than {@link #MAX_AGE_NANOS}, so mounts made or removed
 * meanwhile are seen within that time. Mounts are found by ID ({@link #byId}) by the kind of ID
 * this process's {@code statx} calls ask for ({@link MountIds}): unique IDs where the kernel has
 * them, which no later mount gets, so that an ID the table knows is that mount's whatever its
 * age; else mountinfo's, which a mount made after the table was read may have taken from one
 * removed before. Thread-safe.
 */
final class MountTable {
    /** How long a parsed table is used before {@code /proc/self/mountinfo} is read again. */
    static final long MAX_AGE_NANOS = 1_000_000_000L;
    private static final String MOUNTINFO = "/proc/self/mountinfo";

    /**
     * One line of the table: mountinfo's mount ID, mount point, file system type, and an overlay's
     * layers (its lower, upper and data directories, as its super options name them; empty for
     * other file systems).
     */
    record Mount(long id, String point, String type, List<String> layers) {}

    /** @param byId the mounts by the IDs {@link #byId} is asked with: unique ones or mountinfo's */
    private record Snapshot(List<String> mountPoints, java.util.Map<Long, Mount> byId,
                            java.util.Map<String, String> typeByPoint, java.util.Map<String, Mount> byPoint,
                            Set<String> types, long readAt) {}

    private volatile Snapshot snapshot;
    /** Whether {@link #byId} is asked with unique mount IDs ({@code STATX_MNT_ID_UNIQUE}) or mountinfo's. */
    private final boolean uniqueIds;
    /**
     * The last list of mounts, unique ID to mountinfo ID, from which the next read takes the
     * mountinfo IDs of the mounts it lists again (a {@code statmount} per new mount only). Two
     * reads at once may each set it: either list is true.
     */
    private volatile java.util.Map<Long, Long> listed = java.util.Map.of();

    /** A table asked with the kind of mount ID this process's {@code statx} calls get ({@link MountIds#unique()}). */
    MountTable() {
        this(MountIds.unique());
    }

    /** A table asked with unique mount IDs, or with mountinfo's: for tests of either. */
    MountTable(boolean uniqueIds) {
        this.uniqueIds = uniqueIds;
    }

    /**
     * {@return the mount point {@code path} is on, or {@code "/"} when the table cannot be read} A
     * path of another file system than the host's (a zip file system's) is its own key.
     */
    String mountOf(Path path) {
        if (!"file".equals(path.getFileSystem().provider().getScheme())) {
            return path.getFileSystem().toString();
        }
        return pointOf(current(), path.toAbsolutePath().normalize().toString());
    }

    /** {@return the longest of {@code points} (longest first) that is {@code name} or a directory above it} */
    private static String pointOf(List<String> points, String name) {
        for (String mountPoint : points) {
            if (name.startsWith(mountPoint)
                    && (name.length() == mountPoint.length() || mountPoint.equals("/")
                        || name.charAt(mountPoint.length()) == '/')) {
                return mountPoint;
            }
        }
        return "/";
    }

    /**
     * {@return whether the overlay with mount ID {@code id} has a layer on a mount whose type
     * {@code test} accepts, through the overlays beneath it too, or a layer that cannot be placed
     * (a relative name, overlays nested too deep)} False for a mount that is not an overlay, or
     * not in the table. Lexical, as {@link #typeOf}: a layer named through a symbolic link into
     * another mount is taken for the mount its name is on.
     */
    boolean anyLayer(long id, Predicate<String> test) {
        Snapshot s = snapshot(MAX_AGE_NANOS);
        Mount m = s.byId().get(id);
        return m != null && anyLayer(s, m, test, 0);
    }

    private static boolean anyLayer(Snapshot s, Mount overlay, Predicate<String> test, int depth) {
        for (String layer : overlay.layers()) {
            if (!layer.startsWith("/") || depth > 8) {
                return true;
            }
            Mount under = s.byPoint().get(pointOf(s.mountPoints(), Path.of(layer).normalize().toString()));
            if (under == null || test.test(under.type()) || anyLayer(s, under, test, depth + 1)) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@return the layer directories an overlay's super options name ({@code lowerdir=a:b},
     * {@code lowerdir+=a}, {@code upperdir=}, {@code datadir+=}), with mountinfo's escapes undone}
     * Options are separated by commas (a comma in a name is escaped); lower directories by colons
     * not escaped with a backslash.
     */
    static List<String> overlayLayers(String superOptions) {
        List<String> layers = new ArrayList<>();
        for (String option : superOptions.split(",")) {
            int eq = option.indexOf('=');
            String key = eq < 0 ? option : option.substring(0, eq);
            if (!(key.equals("lowerdir") || key.equals("lowerdir+") || key.equals("upperdir")
                    || key.equals("datadir+"))) {
                continue;
            }
            String value = unescape(option.substring(eq + 1));
            StringBuilder layer = new StringBuilder();
            for (int i = 0; i <= value.length(); i++) {
                char c = i < value.length() ? value.charAt(i) : ':';
                if (c == '\\' && i + 1 < value.length()) {
                    layer.append(value.charAt(++i));
                } else if (c == ':') {
                    if (!layer.isEmpty()) { // "::" marks the data-only layers that follow
                        layers.add(layer.toString());
                    }
                    layer.setLength(0);
                } else {
                    layer.append(c);
                }
            }
        }
        return List.copyOf(layers);
    }

    /**
     * {@return the file system type of the mount {@code path} is on, by its name (the mount
     * uppermost at that point), or null when the table does not say} Lexical: a symbolic link on
     * the way to another mount is not followed.
     */
    String typeOf(Path path) {
        String point = mountOf(path);
        return snapshot(MAX_AGE_NANOS).typeByPoint().get(point);
    }

    /**
     * {@return whether any mount in the table has a file system type that {@code test} accepts}
     * A look at the few distinct types, no path resolved: lets a caller skip {@link #typeOf} for
     * every path when no mount could answer yes.
     */
    boolean anyType(Predicate<String> test) {
        Snapshot s = snapshot(MAX_AGE_NANOS);
        AnyType last = lastAnyType;
        if (last != null && last.of() == s && last.test() == test) {
            return last.answer(); // the same table and question as last time: every open asks it
        }
        boolean answer = false;
        for (String type : s.types()) {
            if (test.test(type)) {
                answer = true;
                break;
            }
        }
        lastAnyType = new AnyType(s, test, answer);
        return answer;
    }

    /** {@link #anyType}'s last answer, for the table it was given on. */
    private record AnyType(Snapshot of, Predicate<String> test, boolean answer) {}

    private volatile AnyType lastAnyType;

    private List<String> current() {
        return snapshot(MAX_AGE_NANOS).mountPoints();
    }

    private Snapshot snapshot(long maxAge) {
        Snapshot s = snapshot;
        long now = System.nanoTime();
        if (s == null || now - s.readAt() > maxAge) {
            s = read(now);
            snapshot = s;
        }
        return s;
    }

    /**
     * {@return the mount with ID {@code id} ({@code statx}'s {@code stx_mnt_id}, of this table's
     * kind), or null when the table has none} A mount made since the table was read is found by
     * reading it again, at most every {@link #MISS_REREAD_NANOS}; until then it is unknown.
     */
    Mount byId(long id) {
        Mount m = snapshot(MAX_AGE_NANOS).byId().get(id);
        return m != null ? m : snapshot(MISS_REREAD_NANOS).byId().get(id);
    }

    /** How old a table may be when a mount ID is not in it before it is read again. */
    static final long MISS_REREAD_NANOS = 10_000_000L;

    /**
     * {@return the mount points, longest first, and the mounts by ID} Read with {@code java.io},
     * which no provider serves.
     *
     * <p>By unique ID, the table is made of two reads: first {@code listmount}/{@code statmount},
     * each mount's unique ID and mountinfo ID, then mountinfo, what each mount is, joined by the
     * mountinfo ID. In that order the join cannot give a unique ID another mount's line: a mount's
     * mountinfo ID is freed only with the mount itself (its last reference gone), so while anything
     * can still ask for a file of a listed mount its ID is its own in the mountinfo read after; a
     * mount made after the listing is not in the table (read again, and unknown until then). Not
     * {@code statmount} alone: its type is the file system's ({@code fuse} where mountinfo says
     * {@code fuse.sshfs}) and an overlay's layers are not in its basic fields. Not a {@code statx}
     * of each mount point either: that walks the mounts above it and asks the file system beneath
     * (a hung FUSE daemon), and where mounts are stacked it gives the top one.
     */
    private Snapshot read(long now) {
        java.util.Map<Long, Long> oldIdByUnique = null;
        if (uniqueIds) { // before mountinfo: above
            oldIdByUnique = MountIds.list(listed);
            listed = oldIdByUnique != null ? oldIdByUnique : java.util.Map.of();
        }
        String text;
        try (FileInputStream in = new FileInputStream(MOUNTINFO)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return new Snapshot(List.of("/"), java.util.Map.of(), java.util.Map.of(), java.util.Map.of(), Set.of(), now);
        }
        List<String> points = new ArrayList<>();
        java.util.Map<Long, Mount> byOldId = new java.util.HashMap<>();
        java.util.Map<String, String> typeByPoint = new java.util.HashMap<>(); // later lines: mounted on top
        java.util.Map<String, Mount> byPoint = new java.util.HashMap<>();
        for (String line : text.split("\n")) {
            // mount ID, parent ID, major:minor, root, mount point, options, optional fields...,
            // "-", file system type, source, super options (proc(5))
            String[] fields = line.split(" ");
            if (fields.length >= 5) {
                String point = unescape(fields[4]);
                points.add(point);
                int dash = java.util.Arrays.asList(fields).indexOf("-");
                if (dash > 0 && dash + 1 < fields.length) {
                    try {
                        long id = Long.parseLong(fields[0]);
                        String type = unescape(fields[dash + 1]);
                        List<String> layers = type.equals("overlay") && dash + 3 < fields.length
                                ? overlayLayers(fields[dash + 3]) : List.of();
                        Mount mount = new Mount(id, point, type, layers);
                        byOldId.put(id, mount);
                        typeByPoint.put(point, type);
                        byPoint.put(point, mount);
                    } catch (NumberFormatException e) {
                        // not a mountinfo line
                    }
                }
            }
        }
        points.sort(Comparator.comparingInt(String::length).reversed());
        java.util.Map<Long, Mount> byId = byOldId;
        if (uniqueIds) {
            // No list (ENOMEM, ...): no mount is known by ID until the next read; none is taken for another.
            byId = new java.util.HashMap<>();
            if (oldIdByUnique != null) {
                for (java.util.Map.Entry<Long, Long> e : oldIdByUnique.entrySet()) {
                    Mount m = byOldId.get(e.getValue());
                    if (m != null) {
                        byId.put(e.getKey(), m);
                    }
                }
            }
        }
        return new Snapshot(List.copyOf(points), java.util.Map.copyOf(byId), java.util.Map.copyOf(typeByPoint),
                java.util.Map.copyOf(byPoint), Set.copyOf(typeByPoint.values()), now);
    }

    /** Undoes mountinfo's octal escapes ({@code \040} for a space, {@code \011}, {@code \012}, {@code \134}). */
    static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1, 3)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from, int n) {
        if (from + n > s.length()) {
            return false;
        }
        for (int i = from; i < from + n; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
