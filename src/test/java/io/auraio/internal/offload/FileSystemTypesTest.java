package io.auraio.internal.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.OpenFlags;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileSystemTypes}: the JDK's {@code FileStore.type()} is the oracle, on the mounts this machine has. */
class FileSystemTypesTest {
    @TempDir
    Path temp;

    @Test
    void namesTheTypeTheJdkNamesForFilesOnEveryReachableMount() throws IOException {
        int compared = 0;
        for (Path dir : new Path[] {temp, Path.of("/dev/shm"), Path.of("/proc/self"), Path.of("/sys/kernel")}) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            int fd = Libc.open(dir.toString(), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
            if (fd < 0) {
                continue;
            }
            try {
                String type = FileSystemTypes.typeOf(fd);
                assertThat(type).as("type of %s", dir).isEqualTo(Files.getFileStore(dir).type());
                compared++;
            } finally {
                Libc.close(fd);
            }
        }
        assumeTrue(compared > 0, "no directory could be opened");
    }

    @Test
    void aBadDescriptorHasNoType() {
        assertThat(FileSystemTypes.typeOf(-1)).isNull();
        assertThat(FileSystemTypes.typeOf(Integer.MAX_VALUE)).isNull();
    }

    @Test
    void parsesMountinfoLinesWithOptionalFieldsAndEscapes() {
        String text = """
                22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
                35 22 0:31 / /dev/shm rw,nosuid,nodev shared:5 master:2 - tmpfs tmpfs rw
                40 22 0:45 / /mnt/with\\040space rw - fuse.faultfs faultfs rw,user_id=0
                41 22 0:31 / /again rw - tmpfs tmpfs rw
                a broken line
                """;
        Map<Long, String> types = FileSystemTypes.parse(text);
        assertThat(types).containsEntry((253L << 32) | 1, "ext4")
                .containsEntry(31L, "tmpfs")
                .containsEntry(45L, "fuse.faultfs")
                .hasSize(3);
    }
}
