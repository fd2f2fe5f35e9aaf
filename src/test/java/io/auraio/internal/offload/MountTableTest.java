package io.auraio.internal.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.MountIds;
import io.auraio.internal.binding.Statx;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The mount table as this process's {@code /proc/self/mountinfo} has it; checked against the file itself. */
class MountTableTest {
    /** Every file system type the table lists, read here independently (proc(5): the field after "-"). */
    private static Set<String> typesInMountinfo() throws Exception {
        Set<String> types = new HashSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            int dash = java.util.Arrays.asList(fields).indexOf("-");
            types.add(MountTable.unescape(fields[dash + 1]));
        }
        return types;
    }

    @Test
    void anyTypeSeesEveryTypeMountedAndNoOther() throws Exception {
        MountTable table = new MountTable();
        Set<String> types = typesInMountinfo();
        assertThat(types).isNotEmpty();
        for (String type : types) {
            assertThat(table.anyType(type::equals)).as(type).isTrue();
        }
        assertThat(table.anyType(t -> !types.contains(t))).as("a type nothing is mounted with").isFalse();
        assertThat(table.anyType(t -> false)).isFalse();
    }

    @Test
    void theRootsTypeIsOneOfTheTypes() {
        MountTable table = new MountTable();
        String rootType = table.typeOf(Path.of("/"));
        assertThat(rootType).isNotNull();
        assertThat(table.anyType(rootType::equals)).isTrue();
    }

    /** Where no slow file system is mounted, no path is slow (the shortcut), and where one is, its paths are. */
    @Test
    void aPathIsSlowOnlyIfSomeMountIsOfASlowType() throws Exception {
        boolean anySlowMounted = typesInMountinfo().stream().anyMatch(SlowFileSystems::isSlow);
        assertThat(new MountTable().anyType(SlowFileSystems::isSlow)).isEqualTo(anySlowMounted);
        if (!anySlowMounted) {
            assertThat(SlowFileSystems.isSlowPath(Path.of("/tmp/x"))).isFalse();
            assertThat(SlowFileSystems.isSlowPath(Path.of("/"))).isFalse();
        }
    }

    /**
     * An overlay's layers as its super options name them: the old single {@code lowerdir} with
     * colons (an escaped one kept in the name, {@code ::} before data-only layers), the new
     * {@code lowerdir+}/{@code datadir+} options, the upper directory, and mountinfo's octal escapes
     * (a space, a comma); work directories and other options are no layers.
     */
    @Test
    void overlayLayersAreReadFromTheSuperOptions() {
        assertThat(MountTable.overlayLayers("rw,lowerdir=/a:/b\\:c::/data,upperdir=/u\\040v,workdir=/w,"
                + "redirect_dir=on,uuid=on")).containsExactly("/a", "/b:c", "/data", "/u v");
        assertThat(MountTable.overlayLayers("ro,lowerdir+=/x\\054y,lowerdir+=/z,datadir+=/d"))
                .containsExactly("/x,y", "/z", "/d");
        assertThat(MountTable.overlayLayers("rw,relatime")).isEmpty();
    }

    /** A line of mountinfo as this test reads it: mount point and type. */
    private record Line(String point, String type) {}

    /** {@return mountinfo's lines by mount ID, in its order, read here independently (proc(5))} */
    private static Map<Long, Line> mountinfo() throws Exception {
        Map<Long, Line> lines = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            int dash = java.util.Arrays.asList(fields).indexOf("-");
            lines.put(Long.parseLong(fields[0]),
                    new Line(MountTable.unescape(fields[4]), MountTable.unescape(fields[dash + 1])));
        }
        return lines;
    }

    /** {@return the ID {@code statx} gives for the mount of {@code path}, of this process's kind; -1 when not cached} */
    private static long statxMountId(Path path) {
        int[] errno = new int[1];
        Long id = Libc.statCached(path.toString().getBytes(StandardCharsets.UTF_8), true, Statx.STATX_TYPE,
                Statx::mountId, errno);
        assertThat(errno[0]).as("statx of %s", path).isIn(0, Errno.EAGAIN);
        return id == null ? -1 : id;
    }

    /**
     * Where the kernel has unique mount IDs (Linux 6.8+), listmount gives every mount of this
     * process's mountinfo once (the root among them), and the table by unique ID says for each
     * the mount point and type mountinfo says; {@code statx}'s ID of a mount point (the top mount
     * there) is the listed ID of that mount. Other processes mount and unmount beside this test
     * (their FUSE fixtures): the lists are compared where mountinfo read before and after agree.
     */
    @Test
    void theUniqueIdTableAgreesWithMountinfoForEveryMount() throws Exception {
        assumeTrue(MountIds.unique(), "no unique mount IDs here (Linux before 6.8, listmount refused, or"
                + " -Dauraio.uniqueMountIds=false): mounts are known by mountinfo's IDs");
        Map<Long, Line> before = Map.of();
        Map<Long, Long> listed = null;
        Map<Long, Line> after = Map.of(1L, new Line("", ""));
        MountTable table = null;
        for (int attempt = 0; attempt < 20 && !before.equals(after); attempt++) {
            before = mountinfo();
            listed = MountIds.list();
            table = new MountTable(true);
            table.anyType(t -> true); // read now
            after = mountinfo();
        }
        assumeTrue(before.equals(after), "the mounts kept changing while listed (20 tries)");
        assertThat(listed).isNotNull();
        assertThat(listed.values()).as("the mountinfo IDs of the listed mounts")
                .containsExactlyInAnyOrderElementsOf(before.keySet());
        for (int read = 0; read < 2; read++) { // the second read takes the IDs of the first's mounts from it
            for (Map.Entry<Long, Long> e : listed.entrySet()) {
                MountTable.Mount m = table.byId(e.getKey());
                Line line = before.get(e.getValue());
                assertThat(m).as("mount %d (mountinfo %d, %s), read %d", e.getKey(), e.getValue(), line, read)
                        .isNotNull();
                assertThat(new Line(m.point(), m.type())).as("mount %d", e.getKey()).isEqualTo(line);
                assertThat(m.id()).isEqualTo(e.getValue());
            }
            Thread.sleep(MountTable.MISS_REREAD_NANOS / 1_000_000 + 1);
            assertThat(table.byId(-7)).isNull(); // unknown: read again
            assumeTrue(mountinfo().equals(before), "the mounts changed while compared");
        }
        // statx's ID of each mount point, where nothing is mounted on top of it (mountinfo lists
        // later mounts after), and the name is in the cache (no lookup made here: a FUSE fixture
        // stopped by another test must not hold this one)
        Map<String, Long> topAt = new HashMap<>();
        before.forEach((old, line) -> topAt.put(line.point(), old)); // the last line at a point: on top
        Map<Long, Long> uniqueByOld = new HashMap<>();
        listed.forEach((unique, old) -> uniqueByOld.put(old, unique));
        int asked = 0;
        for (Map.Entry<String, Long> top : topAt.entrySet()) {
            long id = statxMountId(Path.of(top.getKey()));
            if (id >= 0) {
                asked++;
                assertThat(id).as("statx's mount ID of %s", top.getKey()).isEqualTo(uniqueByOld.get(top.getValue()));
            }
        }
        assertThat(asked).as("mount points answered from the cache").isPositive();
        assertThat(statxMountId(Path.of("/"))).as("the root's").isEqualTo(uniqueByOld.get(topAt.get("/")));
    }

    /**
     * By mountinfo's IDs (kernels before 6.8, and {@code -Dauraio.uniqueMountIds=false}), the
     * table is as it always was: each of mountinfo's IDs gives its line.
     */
    @Test
    void theMountinfoIdTableAgreesWithMountinfoForEveryMount() throws Exception {
        Map<Long, Line> before = Map.of();
        Map<Long, Line> after = Map.of(1L, new Line("", ""));
        MountTable table = null;
        for (int attempt = 0; attempt < 20 && !before.equals(after); attempt++) {
            before = mountinfo();
            table = new MountTable(false);
            table.anyType(t -> true);
            after = mountinfo();
        }
        assumeTrue(before.equals(after), "the mounts kept changing while read (20 tries)");
        for (Map.Entry<Long, Line> e : before.entrySet()) {
            MountTable.Mount m = table.byId(e.getKey());
            assertThat(m).as("mount %d", e.getKey()).isNotNull();
            assertThat(new Line(m.point(), m.type())).isEqualTo(e.getValue());
        }
    }

    /**
     * A FUSE mount made after the table was read: its unique ID is unknown to that table until it
     * is read again (never another mount's), then it is the FUSE mount, whose transfers the offload
     * limits under its mount point, as {@link BlockingOffload#mountOf} names its share.
     */
    @Test
    void aNewFuseMountIsUnknownUntilReadThenKnownWithItsShare() throws Exception {
        assumeTrue(MountIds.unique(), "no unique mount IDs here: mountinfo's IDs are reused by design");
        MountTable table = new MountTable(true);
        table.anyType(t -> true); // read before the mount
        try (FaultFs fs = FixtureAvailability.mountFaultFs("mounttable")) {
            long id = statxMountId(fs.path()); // a mount's root needs no revalidation: cached
            assumeTrue(id >= 0, "the FUSE mount's root was not in the cache");
            MountTable.Mount now = table.byId(id); // read again only if the first read is 10 ms old
            assertThat(now == null ? "unknown" : now.type()).as("the new mount's ID in the table read before it")
                    .isIn("unknown", "fuse.faultfs");
            Thread.sleep(MountTable.MISS_REREAD_NANOS / 1_000_000 + 1);
            MountTable.Mount m = table.byId(id); // unknown: read again
            assertThat(m).as("the FUSE mount, once the table is read again").isNotNull();
            assertThat(m.type()).isEqualTo("fuse.faultfs");
            assertThat(m.point()).isEqualTo(fs.path().toString());
            SlowFileSystems.FileSystem shared = SlowFileSystems.of(id);
            assertThat(shared.type()).isEqualTo("fuse.faultfs");
            assertThat(shared.offloadKey()).isEqualTo(fs.path().toString())
                    .isEqualTo(BlockingOffload.shared().mountOf(fs.path().resolve("f")));
        }
    }

    /** Reading the table (by unique ID: listmount, statmount, mountinfo) leaves no descriptor open. */
    @Test
    void readingTheTableLeavesNoDescriptorOpen() throws Exception {
        for (boolean unique : List.of(true, false)) {
            MountTable table = new MountTable(unique);
            table.anyType(t -> true); // classes loaded, first read made
            Map<Integer, String> before = Descriptors.open();
            for (int i = 0; i < 50; i++) {
                Thread.sleep(MountTable.MISS_REREAD_NANOS / 1_000_000 + 1);
                assertThat(table.byId(-7)).isNull(); // unknown: read again each time
            }
            Descriptors.assertNoneNew(before, "50 reads of the mount table, unique IDs: " + unique);
        }
    }
}
