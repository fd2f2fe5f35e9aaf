package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.Fifo;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code AuraFiles.readAttributes} (basic attributes) and {@code AuraFiles.exists} from a virtual
 * thread answer on the caller, with the JDK's values, when the path's names are in the dentry
 * cache and its file system is local, and leave everything else to the blocking offload (which
 * used to take every such call: 0.01-0.05x the JDK's rate on a virtual thread).
 */
class CachedMetadataTest {
    private static final LinkOption[] FOLLOW = {};
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void cachedNamesAreAnsweredOnTheCallerWithTheJdksValues() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path file = Files.write(base.resolve("f"), new byte[12_345]);
        Path sub = Files.createDirectories(base.resolve("d").resolve("e"));
        Path inner = Files.write(sub.resolve("g"), new byte[7]);
        Path link = Files.createSymbolicLink(base.resolve("link"), Path.of("f"));
        Path dirLink = Files.createSymbolicLink(base.resolve("dirlink"), Path.of("d"));
        Path dangling = Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        Path fifo = Fifo.create(base.resolve("fifo")); // a stat of it must not wait for a writer
        for (Path l : List.of(link, dirLink, dangling)) {
            // Following a link whose access time is due for an update (relatime: not after its
            // change) needs a write, which the cached walk refuses (EAGAIN): a link made in the same
            // clock tick as it is read would be. Accessed after it was modified, as any older link.
            Files.getFileAttributeView(l, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)),
                            java.nio.file.attribute.FileTime.from(java.time.Instant.now()), null);
        }
        List<Path> existing = List.of(base, file, sub, inner, link, dirLink, dirLink.resolve("e/g"), fifo,
                base.resolve("d/./e/../e/g"));
        for (Path p : existing) {
            Files.readAttributes(p, BasicFileAttributes.class); // every name looked up once: cached
        }
        assertThat(Files.exists(base.resolve("nope"))).isFalse(); // negative entries
        assertThat(Files.exists(base.resolve("missing"))).isFalse();
        long poolCalls = BlockingOffload.shared().callsOnPool();
        TestSupport.onVirtualThread(() -> {
            for (Path p : existing) {
                for (LinkOption[] options : List.of(FOLLOW, NOFOLLOW)) {
                    BasicFileAttributes ours = AuraFiles.readAttributes(p, BasicFileAttributes.class, options);
                    assertThat(ours).as("%s answered on the caller", p).isInstanceOf(JdkKeyedAttributes.class);
                    assertSameAttributes(p, ours, Files.readAttributes(p, BasicFileAttributes.class, options));
                    assertThat(AuraFiles.exists(p, options)).as("%s exists", p).isTrue();
                }
            }
            // A link followed to nothing, a missing name (both negative entries in the cache now).
            assertThat(AuraFiles.exists(dangling, FOLLOW)).isFalse();
            assertThat(AuraFiles.exists(dangling, NOFOLLOW)).isTrue();
            assertSameAttributes(dangling, AuraFiles.readAttributes(dangling, BasicFileAttributes.class, NOFOLLOW),
                    Files.readAttributes(dangling, BasicFileAttributes.class, NOFOLLOW));
            assertThat(AuraFiles.exists(base.resolve("missing"))).isFalse();
            return null;
        });
        assertThat(BlockingOffload.shared().callsOnPool() - poolCalls).as("calls made on the offload's pool").isZero();
        // A name under a file: the kernel's cached walk does not answer ENOTDIR; the offload says no.
        assertThat(TestSupport.onVirtualThread(() -> AuraFiles.exists(file.resolve("child")))).isFalse();
    }

    /**
     * checkAccess (what Files.isReadable and its siblings ask) and size are answered on the caller
     * too for cached names; a refusal is the JDK's own exception, made on the offload.
     */
    @Test
    void accessChecksAndSizesOfCachedNamesAreAnsweredOnTheCaller() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path file = Files.write(base.resolve("f"), new byte[4321]);
        Files.readAttributes(file, BasicFileAttributes.class);
        long poolCalls = BlockingOffload.shared().callsOnPool();
        TestSupport.onVirtualThread(() -> {
            AuraFiles.checkAccess(file);
            AuraFiles.checkAccess(file, java.nio.file.AccessMode.READ, java.nio.file.AccessMode.WRITE);
            AuraFiles.checkAccess(base, java.nio.file.AccessMode.EXECUTE);
            assertThat(AuraFiles.size(file)).isEqualTo(4321);
            return null;
        });
        assertThat(BlockingOffload.shared().callsOnPool() - poolCalls).as("calls made on the offload's pool").isZero();
        // Refused: the file is not executable (not even for root, with no x bit), and a missing name.
        TestSupport.onVirtualThread(() -> {
            for (Path p : List.of(file, base.resolve("missing"))) {
                java.nio.file.AccessMode[] modes = p == file
                        ? new java.nio.file.AccessMode[] {java.nio.file.AccessMode.EXECUTE} : new java.nio.file.AccessMode[0];
                AtomicReference<Throwable> jdk = new AtomicReference<>();
                try {
                    java.nio.file.FileSystems.getDefault().provider().checkAccess(p, modes);
                } catch (IOException e) {
                    jdk.set(e);
                }
                assertThat(jdk.get()).as("the JDK refuses %s", p).isNotNull();
                assertThatThrownBy(() -> AuraFiles.checkAccess(p, modes))
                        .isExactlyInstanceOf(jdk.get().getClass()).hasMessage(jdk.get().getMessage());
            }
            return null;
        });
    }

    /** What the cache cannot answer is the JDK's, exception and message included (through the offload). */
    @Test
    void failuresAreTheJdksOwn() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path file = Files.write(base.resolve("f"), new byte[1]);
        Path dangling = Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        TestSupport.onVirtualThread(() -> {
            for (Path p : List.of(base.resolve("missing"), dangling, file.resolve("child"))) {
                AtomicReference<Throwable> jdk = new AtomicReference<>();
                try {
                    Files.readAttributes(p, BasicFileAttributes.class);
                } catch (IOException e) {
                    jdk.set(e);
                }
                assertThat(jdk.get()).as("the JDK's failure for %s", p).isNotNull();
                assertThatThrownBy(() -> AuraFiles.readAttributes(p, BasicFileAttributes.class))
                        .isExactlyInstanceOf(jdk.get().getClass()).hasMessage(jdk.get().getMessage());
            }
            assertThatThrownBy(() -> AuraFiles.readAttributes(base.resolve("missing"), BasicFileAttributes.class))
                    .isInstanceOf(NoSuchFileException.class);
            return null;
        });
    }

    /**
     * A name not in the dentry cache (dropped, as root, with {@code drop_caches}) is not looked up
     * on the caller, where reading the directory could wait for the device: the offload answers.
     */
    @Test
    void aNameNotInTheDentryCacheGoesToTheOffload() throws Exception {
        Path sub = Files.createDirectories(dir.path().toAbsolutePath().resolve("cold"));
        Path file = Files.write(sub.resolve("f"), new byte[99]);
        BasicFileAttributes jdk = Files.readAttributes(file, BasicFileAttributes.class);
        assumeTrue(dropDentries(), "cannot drop the dentry cache here (root needed)");
        assumeTrue(CachedMetadata.stat(file, true) == null,
                "the name stayed in the dentry cache after drop_caches (in use elsewhere)");
        long poolCalls = BlockingOffload.shared().callsOnPool();
        BasicFileAttributes ours = TestSupport.onVirtualThread(() -> AuraFiles.readAttributes(file, BasicFileAttributes.class));
        assertThat(BlockingOffload.shared().callsOnPool()).as("answered by the offload").isGreaterThan(poolCalls);
        assertSameAttributes(file, ours, jdk);
    }

    /**
     * Mounts are known by their unique IDs where the kernel has them (Linux 6.8+), by mountinfo's
     * where it has not: forced here in fresh JVMs (the choice is made once) by a seccomp filter
     * that refuses {@code listmount} and {@code statmount} with ENOSYS (as a kernel before 6.8) or
     * EPERM (as a container runtime's profile that does not know them), and with
     * {@code -Dauraio.uniqueMountIds=false}. Either way the file's mount is found (statx's ID is
     * the kind the table is keyed by: mountinfo's ID of the mount, or the unique ID listmount gives
     * for it) and a cached name on it is answered on the caller.
     */
    @Test
    void cachedNamesAreAnsweredOnTheCallerByEitherKindOfMountId() throws Exception {
        Path file = Files.write(dir.path().toAbsolutePath().resolve("f"), new byte[321]);
        long mountinfoId = mountinfoIdOf(file);
        Map<String, io.auraio.testing.ForkedJvm> ways = new java.util.LinkedHashMap<>();
        ways.put("listmount ENOSYS", io.auraio.testing.SeccompRefusal.jvm("ENOSYS", 457, 458)
                .args(MountIdProbe.class.getName(), file.toString()));
        ways.put("listmount EPERM", io.auraio.testing.SeccompRefusal.jvm("EPERM", 457, 458)
                .args(MountIdProbe.class.getName(), file.toString()));
        ways.put("uniqueMountIds=false", io.auraio.testing.ForkedJvm.of(MountIdProbe.class)
                .property("auraio.uniqueMountIds", "false").args(file.toString()));
        ways.put("as the kernel has it", io.auraio.testing.ForkedJvm.of(MountIdProbe.class).args(file.toString()));
        for (Map.Entry<String, io.auraio.testing.ForkedJvm> way : ways.entrySet()) {
            io.auraio.testing.ForkedJvm.Result r = way.getValue().run();
            assertThat(r.exitCode()).as("%s: %s", way.getKey(), r).isZero();
            Map<String, String> out = r.values();
            if (!way.getKey().equals("as the kernel has it")) {
                assertThat(out.get("unique")).as("%s: %s", way.getKey(), r).isEqualTo("false");
                assertThat(out.get("mountId")).as("statx's ID: mountinfo's, %s: %s", way.getKey(), r)
                        .isEqualTo(Long.toString(mountinfoId));
            } else if (io.auraio.internal.binding.MountIds.unique()) {
                assertThat(out.get("unique")).as("%s", r).isEqualTo("true");
                Long listed = io.auraio.internal.binding.MountIds.list().entrySet().stream()
                        .filter(e -> e.getValue() == mountinfoId).map(Map.Entry::getKey).findFirst().orElseThrow();
                assertThat(out.get("mountId")).as("statx's ID: the listed unique one, %s", r)
                        .isEqualTo(Long.toString(listed));
            }
            assertThat(out.get("type")).as("%s: %s", way.getKey(), r).isNotEqualTo("null");
            assertThat(out.get("size")).as("%s: %s", way.getKey(), r).isEqualTo("321");
            assertThat(out.get("onPool")).as("answered on the caller, %s: %s", way.getKey(), r).isEqualTo("0");
        }
    }

    /** {@return mountinfo's ID of the mount {@code file} is on: the last mount at the longest mount point above it} */
    private static long mountinfoIdOf(Path file) throws Exception {
        String name = file.toRealPath().toString();
        long id = -1;
        int longest = -1;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            String point = fields[4];
            boolean above = point.equals("/") || name.equals(point) || name.startsWith(point + "/");
            if (above && point.length() >= longest) {
                longest = point.length();
                id = Long.parseLong(fields[0]);
            }
        }
        return id;
    }

    /** Main class of a {@link io.auraio.testing.ForkedJvm}: asks for {@code args[0]} on a virtual thread. */
    public static final class MountIdProbe {
        private MountIdProbe() {}

        /** Prints {@code unique}, {@code mountId} (statx's, of the table's kind), {@code type}, {@code size} and {@code onPool}. */
        public static void main(String[] args) throws Exception {
            Path file = Path.of(args[0]);
            Files.readAttributes(file, BasicFileAttributes.class); // cached
            int[] errno = new int[1];
            Long id = io.auraio.internal.binding.Libc.statCached(args[0].getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    true, io.auraio.internal.binding.Statx.STATX_TYPE, io.auraio.internal.binding.Statx::mountId, errno);
            long poolCalls = BlockingOffload.shared().callsOnPool();
            long size = TestSupport.onVirtualThread(() -> {
                AuraFiles.checkAccess(file, java.nio.file.AccessMode.READ);
                return AuraFiles.size(file);
            });
            System.out.println("unique=" + io.auraio.internal.binding.MountIds.unique());
            System.out.println("mountId=" + id);
            System.out.println("type=" + io.auraio.internal.offload.SlowFileSystems.of(id == null ? -1 : id).type());
            System.out.println("size=" + size);
            System.out.println("onPool=" + (BlockingOffload.shared().callsOnPool() - poolCalls));
        }
    }

    private static boolean dropDentries() throws Exception {
        Path knob = Path.of("/proc/sys/vm/drop_caches");
        if (!Files.isWritable(knob)) {
            return false;
        }
        try {
            Files.writeString(knob, "2"); // dentries and inodes not in use; no page is dropped
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void assertSameAttributes(Path p, BasicFileAttributes ours, BasicFileAttributes jdk) {
        List<Object> a = new ArrayList<>();
        List<Object> b = new ArrayList<>();
        for (BasicFileAttributes[] pair : new BasicFileAttributes[][] {{ours, null}, {jdk, null}}) {
            BasicFileAttributes x = pair[0];
            (x == ours ? a : b).addAll(List.of(x.size(), x.isRegularFile(), x.isDirectory(), x.isSymbolicLink(),
                    x.isOther(), x.lastModifiedTime(), x.lastAccessTime(), x.creationTime()));
        }
        assertThat(a).as("size, type and times of %s", p).isEqualTo(b);
    }
}
