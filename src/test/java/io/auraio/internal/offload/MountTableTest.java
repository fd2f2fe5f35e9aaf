package io.auraio.internal.offload;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
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
}
