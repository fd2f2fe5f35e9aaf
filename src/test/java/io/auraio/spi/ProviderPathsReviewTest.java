package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.internal.offload.BlockingOffload;
import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of the provider's calls that open no channel (attributes, access checks,
 * listing, copy, move, delete, links, file stores) and of {@code AuraFiles}' cached-metadata path
 * under them: awkward names, links that loop or dangle, a tree changed between two calls, option
 * combinations and stores of odd mounts. Each case runs through the platform's provider and
 * through {@link AuraFileSystemProvider}, each on a virtual and on a platform thread, on four
 * identical trees, and requires the same outcome (result, or exception type and message) and the
 * same tree left behind.
 */
class ProviderPathsReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private FileSystem fs;

    @BeforeEach
    void createProvider() {
        fs = new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
    }

    @FunctionalInterface
    interface Scenario {
        Object run(Path base) throws Exception;
    }

    /** A name that is 255 bytes long, the most a Linux name may be. */
    private static final String NAME_255 = "n".repeat(255);

    /**
     * f (5 bytes, mode 0640), d/ with d/a.txt, e/ empty, full/ with one file, a link to f, a
     * dangling link, a link to itself, a link to d/, names with a newline, a space, a leading dash.
     */
    private static void populate(Path base) throws IOException {
        Files.createDirectories(base);
        Files.write(base.resolve("f"), new byte[] {1, 2, 3, 4, 5});
        Files.setPosixFilePermissions(base.resolve("f"), PosixFilePermissions.fromString("rw-r-----"));
        Files.setLastModifiedTime(base.resolve("f"), FileTime.fromMillis(1_000_000_000_000L));
        Files.createDirectories(base.resolve("d"));
        Files.write(base.resolve("d/a.txt"), new byte[] {9});
        Files.createDirectories(base.resolve("e"));
        Files.createDirectories(base.resolve("full"));
        Files.write(base.resolve("full/x"), new byte[] {1});
        Files.createSymbolicLink(base.resolve("link"), Path.of("f"));
        Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        Files.createSymbolicLink(base.resolve("loop"), Path.of("loop"));
        Files.createSymbolicLink(base.resolve("dl"), Path.of("d"));
        Files.write(base.resolve("new\nline"), new byte[] {1});
        Files.write(base.resolve("sp ace"), new byte[] {1, 2});
        Files.write(base.resolve("-dash"), new byte[] {1, 2, 3});
        Files.createLink(base.resolve("hl"), base.resolve("f"));
    }

    /** The names under {@code base} with their kind and size, sorted; names as the platform gives them. */
    private static String tree(Path base) throws IOException {
        TreeMap<String, String> all = new TreeMap<>();
        try (Stream<Path> s = Files.walk(base)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String kind = Files.isSymbolicLink(p) ? "l" : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "d"
                        : Files.size(p) + "";
                all.put(base.relativize(p).toString(), kind);
            }
        }
        return all.toString();
    }

    /**
     * Runs {@code scenario} on four fresh trees {@code name}: through the platform and the
     * provider, each on a virtual and a platform thread; {@return "" if every outcome and tree is
     * the platform's on a platform thread, else all four}
     */
    private String differs(String name, Scenario scenario) throws Exception {
        return differs(name, scenario, scenario, true);
    }

    /**
     * Runs {@code jdk} on two fresh trees {@code name} (on a platform and a virtual thread), and
     * {@code ours} on two more, given the provider's path to each where {@code providerPaths}, else
     * the platform's; {@return "" if every outcome and tree is alike, else all four}
     */
    private String differs(String name, Scenario jdk, Scenario ours, boolean providerPaths) throws Exception {
        List<String> outcomes = new ArrayList<>();
        for (String kind : List.of("jdk-platform", "jdk-virtual", "aura-platform", "aura-virtual")) {
            Path plain = dir.path().toAbsolutePath().resolve(kind).resolve(name);
            populate(plain);
            boolean aura = kind.startsWith("aura");
            Path base = aura && providerPaths ? fs.getPath(plain.toString()) : plain;
            Scenario scenario = aura ? ours : jdk;
            outcomes.add(kind + ": " + TestSupport.outcome(() -> scenario.run(base), plain, kind.endsWith("virtual")) + " "
                    + tree(plain));
        }
        String first = outcomes.getFirst().substring(outcomes.getFirst().indexOf(':'));
        boolean alike = outcomes.stream().allMatch(o -> o.substring(o.indexOf(':')).equals(first));
        return alike ? "" : name + "\n   " + String.join("\n   ", outcomes);
    }

    /** Runs every scenario through {@link #differs} and requires no difference. */
    private void assertAllAlike(String prefix, List<Scenario> scenarios) throws Exception {
        List<String> diffs = new ArrayList<>();
        for (int i = 0; i < scenarios.size(); i++) {
            String d = differs(prefix + i, scenarios.get(i));
            if (!d.isEmpty()) {
                diffs.add(d);
            }
        }
        assertThat(diffs).isEmpty();
    }

    private static String attrs(Path p, LinkOption... o) throws IOException {
        var a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, o);
        return (a.isRegularFile() ? "f" : a.isDirectory() ? "d" : a.isSymbolicLink() ? "l" : "o") + a.size();
    }

    /** What the common calls answer for {@code p}: exists, attributes, access, a listing's view of it. */
    private static String probe(Path p) throws Exception {
        List<String> out = new ArrayList<>();
        Callable<?>[] calls = {
            () -> Files.exists(p),
            () -> Files.exists(p, LinkOption.NOFOLLOW_LINKS),
            () -> Files.notExists(p),
            () -> attrs(p),
            () -> attrs(p, LinkOption.NOFOLLOW_LINKS),
            () -> Files.isDirectory(p) + " " + Files.isRegularFile(p) + " " + Files.isSymbolicLink(p),
            () -> Files.isReadable(p) + " " + Files.isWritable(p) + " " + Files.isExecutable(p),
            () -> {
                p.getFileSystem().provider().checkAccess(p);
                return "ok";
            },
            () -> {
                p.getFileSystem().provider().checkAccess(p, AccessMode.EXECUTE);
                return "ok";
            },
            () -> Files.isSameFile(p, p.resolveSibling("f")),
            () -> Files.size(p),
            () -> new TreeMap<>(Files.readAttributes(p, "unix:mode,size,nlink")),
            () -> Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS).size(),
            () -> Files.readSymbolicLink(p),
        };
        for (Callable<?> c : calls) {
            try {
                out.add(String.valueOf(c.call()));
            } catch (Exception e) {
                out.add(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        return String.join(" | ", out);
    }

    // ---- names -------------------------------------------------------------------------------

    @Test
    void awkwardNamesAreAnsweredAsByThePlatform() throws Exception {
        assertAllAlike("n", awkwardNameScenarios());
    }

    /**
     * The calls that {@code -Dauraio.metadata=ring} sends through the ring from a virtual thread
     * (stat, unlink, mkdir, rename, symlink, link), on awkward names, a changed tree and with every
     * move option set: as the platform's.
     */
    @Test
    void withRingRoutingCallsAreThePlatforms() throws Exception {
        boolean routing = io.auraio.internal.offload.MetadataRouting.ring;
        try {
            io.auraio.internal.offload.MetadataRouting.ring = true;
            assertAllAlike("rn", awkwardNameScenarios());
            assertAllAlike("rc", changedTreeScenarios());
            assertAllAlike("ro", moveScenarios());
            assertThat(auraFilesPathCallDifferences("ra")).isEmpty();
        } finally {
            io.auraio.internal.offload.MetadataRouting.ring = routing;
        }
    }

    private static List<Scenario> awkwardNameScenarios() {
        List<Scenario> s = new ArrayList<>();
        for (String name : List.of("new\nline", "sp ace", "-dash", NAME_255, "n".repeat(256), "nope", "f/", "f/.",
                "f/x", "d/..", "dl/..", "dl/../f", "dl/../d/a.txt", "loop", "loop/x", "dangling", "dangling/x",
                "link", "dl")) {
            s.add(b -> probe(b.resolve(name)));
        }
        for (String name : List.of("new\nline", "sp ace", "-dash")) {
            s.add(b -> Files.copy(b.resolve(name), b.resolve(name + "2")).getFileName());
            s.add(b -> Files.move(b.resolve(name), b.resolve("d").resolve(name)).getFileName());
            s.add(b -> {
                Files.delete(b.resolve(name));
                return Files.exists(b.resolve(name));
            });
            s.add(b -> Files.createDirectory(b.resolve(name)));
            s.add(b -> Files.createDirectory(b.resolve(name + "-dir")).getFileName());
            s.add(b -> Files.createSymbolicLink(b.resolve(name + "-l"), Path.of(name)).getFileName());
            s.add(b -> Files.createLink(b.resolve(name + "-h"), b.resolve(name)).getFileName());
        }
        s.add(b -> Files.createFile(b.resolve(NAME_255 + "x")));
        s.add(b -> Files.createDirectory(b.resolve(NAME_255 + "x")));
        s.add(b -> Files.createDirectory(b.resolve(NAME_255)).getFileName().toString().length());
        s.add(b -> Files.copy(b.resolve("f"), b.resolve(NAME_255 + "x")));
        s.add(b -> Files.move(b.resolve("f"), b.resolve(NAME_255 + "x")));
        s.add(b -> Files.move(b.resolve("f"), b.resolve(NAME_255)).getFileName().toString().length());
        s.add(b -> Files.deleteIfExists(b.resolve(NAME_255 + "x")));
        s.add(b -> Files.createSymbolicLink(b.resolve("long"), Path.of("x".repeat(5000))));
        s.add(b -> {
            Files.createSymbolicLink(b.resolve("long"), Path.of("x".repeat(4000)));
            return probe(b.resolve("long"));
        });
        return s;
    }

    /** A path longer than PATH_MAX (4096 bytes) fails with the platform's ENAMETOOLONG; one just under it is looked up. */
    @Test
    void pathsOverPathMaxFailAsThePlatform() throws Exception {
        String deep = ("d".repeat(200) + "/").repeat(25); // 5,025 bytes
        String under = ("d".repeat(200) + "/").repeat(19); // with the base, under 4,096
        List<Scenario> s = new ArrayList<>();
        s.add(b -> probe(b.resolve(deep + "f")));
        s.add(b -> Files.createDirectories(b.resolve(deep)));
        s.add(b -> Files.createDirectory(b.resolve(deep)));
        s.add(b -> Files.deleteIfExists(b.resolve(deep)));
        s.add(b -> Files.copy(b.resolve("f"), b.resolve(deep + "f")));
        s.add(b -> Files.move(b.resolve("f"), b.resolve(deep + "f")));
        s.add(b -> {
            Files.createDirectories(b.resolve(under));
            return probe(b.resolve(under)) + " " + Files.createDirectory(b.resolve(under + "x")).getFileName();
        });
        assertAllAlike("m", s);
    }

    /**
     * A name that is not UTF-8 (a Latin-1 {@code é}, byte 0xE9) made by the shell: listed, then
     * looked up, copied, moved and deleted by the path the listing gave, as the platform does.
     */
    @Test
    void aNameThatIsNotUtf8IsServedAsByThePlatform() throws Exception {
        List<Scenario> s = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            int which = k;
            s.add(b -> {
                Commands.Ran ran = Commands.run(new ProcessBuilder("sh", "-c", "printf x > \"$(printf 'lat\\351n')\"")
                        .directory(b.toFile()));
                assertThat(ran.exitCode()).as("%s", ran).isZero();
                Path odd;
                try (Stream<Path> list = Files.list(b)) {
                    odd = list.filter(e -> e.getFileName().toString().startsWith("lat")).findFirst().orElseThrow();
                }
                return switch (which) {
                    case 0 -> probe(odd);
                    case 1 -> Files.copy(odd, b.resolve("copy")).getFileName() + " " + Files.size(b.resolve("copy"));
                    case 2 -> Files.move(odd, b.resolve("d").resolve(odd.getFileName())).getFileName().toString()
                            .length() + " " + Files.exists(odd);
                    case 3 -> Files.deleteIfExists(odd) + " " + Files.exists(odd, LinkOption.NOFOLLOW_LINKS);
                    case 4 -> Files.readString(odd) + " " + Files.createDirectory(odd.resolveSibling(
                            odd.getFileName() + "-d")).getFileName().toString().length();
                    default -> Files.isSameFile(odd, b.resolve(odd.getFileName().toString())) + " "
                            + Files.exists(b.resolve(odd.getFileName().toString()));
                };
            });
        }
        assertAllAlike("u", s);
    }

    /**
     * {@code AuraFiles}' path calls (on the caller from the dentry cache, or on the offload) on
     * the awkward names and links, against the {@code Files} calls they stand for.
     */
    @Test
    void auraFilesPathCallsOnAwkwardNamesAreFiles() throws Exception {
        assertThat(auraFilesPathCallDifferences("af")).isEmpty();
    }

    /** {@link #pathCall} on each awkward name through AuraFiles and through Files: {@return the differences} */
    private List<String> auraFilesPathCallDifferences(String prefix) throws Exception {
        List<String> names = List.of("new\nline", "sp ace", "-dash", NAME_255, "n".repeat(256), "nope", "f/", "f/x",
                "dl/..", "dl/../f", "loop", "loop/x", "dangling", "dangling/x", "link", "dl", "d", "e", "full", ".",
                "e/.", "d/.", "dangling/..", "dl/",
                ("d".repeat(200) + "/").repeat(25) + "f");
        List<String> diffs = new ArrayList<>();
        int i = 0;
        for (String name : names) {
            for (int call = 5; call < 12; call++) {
                int c = call;
                // Calls 0 to 5 change nothing: one tree for all of them.
                String d = differs(prefix + i++, b -> pathCalls(b.resolve(name), c, false),
                        b -> pathCalls(b.resolve(name), c, true), false);
                if (!d.isEmpty()) {
                    diffs.add(d);
                }
            }
        }
        return diffs;
    }

    /**
     * {@code AuraFiles.copy} of files whose size says 0 but that have content (procfs, sysfs: the
     * kernel copy cannot be used) and of a device, against {@code Files.copy}. /proc/self/mounts
     * is the machine's mount table: compared while no other process mounted meanwhile
     * ({@link TestSupport#assertWhileUnchanged}; one copy of four was once 1393 bytes, the others
     * 1537, each the table as it then was).
     */
    @Test
    void auraFilesCopyOfPseudoFilesIsFilesCopy() throws Exception {
        int[] trees = {0};
        for (String source : List.of("/proc/version", "/proc/self/mounts", "/sys/kernel/mm/transparent_hugepage/enabled",
                "/proc/sys/kernel/ostype", "/dev/null", "/sys/kernel", "/proc/self/fd/9999")) {
            assumeTrue(Files.exists(Path.of("/proc/version")), "no procfs");
            Scenario jdk = b -> {
                Path t = b.resolve("copy");
                Object r = outcomeOf(() -> Files.copy(Path.of(source), t, StandardCopyOption.REPLACE_EXISTING));
                return r + " " + (Files.isRegularFile(t) ? Files.size(t) + " " + Files.readString(t).equals(
                        Files.readString(Path.of(source))) : Files.exists(t));
            };
            Scenario ours = b -> {
                Path t = b.resolve("copy");
                Object r = outcomeOf(() -> io.auraio.AuraFiles.copy(Path.of(source), t,
                        StandardCopyOption.REPLACE_EXISTING));
                return r + " " + (Files.isRegularFile(t) ? Files.size(t) + " " + Files.readString(t).equals(
                        Files.readString(Path.of(source))) : Files.exists(t));
            };
            TestSupport.assertWhileUnchanged(Path.of(source),
                    () -> assertThat(differs("ps" + trees[0]++, jdk, ours, false)).as(source).isEmpty());
        }
    }

    /** {@link #pathCall} {@code which}, or calls 0 to 5 where {@code which} is 5, each outcome told. */
    private static String pathCalls(Path p, int which, boolean aura) {
        List<Object> out = new ArrayList<>();
        for (int c = which == 5 ? 0 : which; c <= which; c++) {
            int call = c;
            out.add(outcomeOf(() -> pathCall(p, call, aura)));
        }
        return out.toString();
    }

    /**
     * {@code AuraFiles}' path calls on a thread whose interrupt status is set: as the {@code Files}
     * calls they stand for, they run to the end and keep the status (a copy's source is read
     * whole, not closed by the interrupt).
     */
    @Test
    void auraFilesCallsOnAnInterruptedThreadAreFiles() throws Exception {
        List<String> diffs = new ArrayList<>();
        for (int call = 5; call < 12; call++) {
            int c = call;
            String d = differs("ai" + c, b -> interrupted(() -> pathCalls(b.resolve("f"), c, false)),
                    b -> interrupted(() -> pathCalls(b.resolve("f"), c, true)), false);
            if (!d.isEmpty()) {
                diffs.add(d);
            }
        }
        String d = differs("ai-big", b -> interrupted(() -> {
            Files.write(b.resolve("big"), new byte[8 << 20]);
            return Files.copy(b.resolve("big"), b.resolve("big2")).getFileName() + " " + Files.size(b.resolve("big2"))
                    + " " + Files.readAllBytes(b.resolve("big2")).length;
        }), b -> interrupted(() -> {
            io.auraio.AuraFiles.write(b.resolve("big"), new byte[8 << 20]);
            return io.auraio.AuraFiles.copy(b.resolve("big"), b.resolve("big2")).getFileName() + " "
                    + io.auraio.AuraFiles.size(b.resolve("big2")) + " "
                    + io.auraio.AuraFiles.readAllBytes(b.resolve("big2")).length;
        }), false);
        if (!d.isEmpty()) {
            diffs.add(d);
        }
        assertThat(diffs).isEmpty();
        TestSupport.settle(() -> BlockingOffload.shared().active() == 0, Duration.ofSeconds(10));
        assertThat(BlockingOffload.shared().active()).isZero();
    }

    /** Runs {@code call} with this thread's interrupt status set: {@return its outcome and the status after} */
    private static String interrupted(Callable<?> call) {
        Thread.currentThread().interrupt();
        Object r = outcomeOf(call);
        return r + " interrupted " + Thread.interrupted();
    }

    /** Call {@code which} of {@code AuraFiles} where {@code aura}, else of {@code Files}, on {@code p}. */
    private static Object pathCall(Path p, int which, boolean aura) throws Exception {
        Path f = p.resolveSibling("f");
        return switch (which) {
            case 0 -> (aura ? io.auraio.AuraFiles.exists(p) : Files.exists(p)) + " "
                    + (aura ? io.auraio.AuraFiles.exists(p, LinkOption.NOFOLLOW_LINKS)
                    : Files.exists(p, LinkOption.NOFOLLOW_LINKS));
            case 1 -> {
                var a = aura ? io.auraio.AuraFiles.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class)
                        : Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class);
                yield a.size() + " " + a.isDirectory() + " " + a.isSymbolicLink() + " " + a.fileKey().equals(
                        Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
            }
            case 2 -> {
                var a = aura ? io.auraio.AuraFiles.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS) : Files.readAttributes(p,
                        java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                yield a.size() + " " + a.isDirectory() + " " + a.isSymbolicLink() + " " + a.isOther();
            }
            case 3 -> {
                if (aura) {
                    io.auraio.AuraFiles.checkAccess(p, AccessMode.READ, AccessMode.EXECUTE);
                } else {
                    p.getFileSystem().provider().checkAccess(p, AccessMode.READ, AccessMode.EXECUTE);
                }
                yield "ok";
            }
            case 4 -> aura ? io.auraio.AuraFiles.isSameFile(p, f) : Files.isSameFile(p, f);
            case 5 -> aura ? io.auraio.AuraFiles.size(p) : Files.size(p);
            case 6 -> (aura ? io.auraio.AuraFiles.createDirectory(p) : Files.createDirectory(p)).getFileName();
            case 7 -> (aura ? io.auraio.AuraFiles.createDirectories(p) : Files.createDirectories(p)).getFileName();
            case 8 -> {
                if (aura) {
                    io.auraio.AuraFiles.delete(p);
                } else {
                    Files.delete(p);
                }
                yield "deleted";
            }
            case 9 -> aura ? io.auraio.AuraFiles.deleteIfExists(p) : Files.deleteIfExists(p);
            case 10 -> (aura ? io.auraio.AuraFiles.move(p, p.resolveSibling("moved"))
                    : Files.move(p, p.resolveSibling("moved"))).getFileName();
            default -> (aura ? io.auraio.AuraFiles.copy(p, p.resolveSibling("copied"), LinkOption.NOFOLLOW_LINKS)
                    : Files.copy(p, p.resolveSibling("copied"), LinkOption.NOFOLLOW_LINKS)).getFileName();
        };
    }

    // ---- a tree changed between two calls ----------------------------------------------------

    /** Runs {@code command} in {@code dir} with sh: another process changes the tree. */
    private static void shell(Path dir, String command) throws Exception {
        Commands.Ran ran = Commands.run(new ProcessBuilder("sh", "-c", command).directory(dir.toFile()));
        assertThat(ran.exitCode()).as("%s", ran).isZero();
    }

    /**
     * A name looked up (so in the dentry cache), then changed by another process: a directory
     * replaced by a file, a file renamed or deleted, a link retargeted. The second call answers
     * for the tree as it is now, as the platform's.
     */
    @Test
    void callsAfterAnotherProcessChangedTheTreeSeeTheNewTree() throws Exception {
        assertAllAlike("c", changedTreeScenarios());
    }

    private static List<Scenario> changedTreeScenarios() {
        List<Scenario> s = new ArrayList<>();
        s.add(b -> probe(b.resolve("d/a.txt")) + " " + probe(b.resolve("d")) + " // "
                + run(b, "rm -r d && printf 123 > d") + probe(b.resolve("d/a.txt")) + " " + probe(b.resolve("d")));
        s.add(b -> probe(b.resolve("f")) + " // " + run(b, "rm f && mkdir f") + probe(b.resolve("f"))
                + " " + Files.isDirectory(b.resolve("f")));
        s.add(b -> probe(b.resolve("f")) + " // " + run(b, "mv f g") + probe(b.resolve("f")) + " " + probe(b.resolve("g")));
        s.add(b -> probe(b.resolve("nope")) + " // " + run(b, "printf 12 > nope") + probe(b.resolve("nope")));
        s.add(b -> probe(b.resolve("link")) + " // " + run(b, "rm link && ln -s d link") + probe(b.resolve("link")));
        s.add(b -> probe(b.resolve("dl/a.txt")) + " // " + run(b, "rm -r d && mkdir d") + probe(b.resolve("dl/a.txt")));
        s.add(b -> {
            Files.exists(b.resolve("e"));
            shell(b, "rmdir e && printf 1 > e");
            return Files.createDirectory(b.resolve("e"));
        });
        s.add(b -> {
            Files.exists(b.resolve("e"));
            shell(b, "rmdir e");
            return Files.createDirectory(b.resolve("e")).getFileName() + " " + Files.isDirectory(b.resolve("e"));
        });
        s.add(b -> {
            Files.exists(b.resolve("e/x"));
            shell(b, "mkdir e/x");
            return Files.createDirectories(b.resolve("e/x/y")).getFileName();
        });
        s.add(b -> {
            boolean before = Files.isSameFile(b.resolve("f"), b.resolve("link"));
            shell(b, "rm f && printf 1 > f");
            return before + " " + Files.isSameFile(b.resolve("f"), b.resolve("link")) + " "
                    + Files.isSameFile(b.resolve("f"), b.resolve("d/a.txt"));
        });
        return s;
    }

    private static String run(Path b, String command) throws Exception {
        shell(b, command);
        return "";
    }

    // ---- copy and move -----------------------------------------------------------------------

    /**
     * The option sets for a copy: every combination of REPLACE_EXISTING, COPY_ATTRIBUTES and
     * NOFOLLOW_LINKS, and ATOMIC_MOVE (which a copy refuses whatever comes with it).
     */
    private static List<CopyOption[]> copyOptionSets() {
        List<CopyOption[]> sets = new ArrayList<>();
        CopyOption[] all = {StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES,
            LinkOption.NOFOLLOW_LINKS};
        for (int mask = 0; mask < 8; mask++) {
            List<CopyOption> c = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if ((mask & 1 << i) != 0) {
                    c.add(all[i]);
                }
            }
            sets.add(c.toArray(CopyOption[]::new));
        }
        sets.add(new CopyOption[] {StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING});
        return sets;
    }

    /**
     * The option sets for a move: every combination of REPLACE_EXISTING and ATOMIC_MOVE,
     * NOFOLLOW_LINKS (which a move ignores) with REPLACE_EXISTING, and COPY_ATTRIBUTES (which the
     * JDK's move refuses).
     */
    private static List<CopyOption[]> moveOptionSets() {
        return List.of(new CopyOption[0], new CopyOption[] {StandardCopyOption.REPLACE_EXISTING},
                new CopyOption[] {StandardCopyOption.ATOMIC_MOVE},
                new CopyOption[] {StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING},
                new CopyOption[] {LinkOption.NOFOLLOW_LINKS, StandardCopyOption.REPLACE_EXISTING},
                new CopyOption[] {StandardCopyOption.COPY_ATTRIBUTES});
    }

    /** Sources and targets: files, links, directories empty and not, missing ones, a file as a parent. */
    private static final String[][] PAIRS = {{"f", "g"}, {"f", "full"}, {"f", "e"}, {"f", "d/a.txt"},
        {"link", "g"}, {"dangling", "g"}, {"loop", "g"}, {"d", "full"}, {"d", "e"}, {"e", "f"}, {"f", "link"},
        {"nope", "g"}, {"f", "nope/g"}, {"f", "f/g"}, {"f", "f"}, {"link", "f"}, {"f", "dl/../f"}, {"f", "dangling"},
        {"d", "d/sub"}, {"f", "hl"}, {"hl", "f"}};

    @Test
    void copyAndMoveWithEachOptionSetAreThePlatforms() throws Exception {
        assertAllAlike("o", copyAndMoveScenarios());
    }

    private static List<Scenario> copyAndMoveScenarios() {
        List<Scenario> s = new ArrayList<>();
        for (String[] pair : PAIRS) {
            for (CopyOption[] o : copyOptionSets()) {
                s.add(b -> "copy " + outcomeOf(() -> Files.copy(b.resolve(pair[0]), b.resolve(pair[1]), o))
                        + " " + after(b.resolve(pair[1])));
            }
        }
        s.addAll(moveScenarios());
        return s;
    }

    private static List<Scenario> moveScenarios() {
        List<Scenario> s = new ArrayList<>();
        for (String[] pair : PAIRS) {
            for (CopyOption[] o : moveOptionSets()) {
                s.add(b -> "move " + outcomeOf(() -> Files.move(b.resolve(pair[0]), b.resolve(pair[1]), o))
                        + " " + after(b.resolve(pair[1])));
            }
        }
        return s;
    }

    /**
     * {@code AuraFiles.copy} (a copy of its own, in the kernel) and {@code AuraFiles.move} with
     * each option set, against {@code Files.copy} and {@code Files.move}; with the
     * metadata calls routed to the offload (the default) and to the ring.
     */
    @Test
    void auraFilesCopyAndMoveWithEachOptionSetAreFiles() throws Exception {
        List<String> diffs = new ArrayList<>();
        boolean routing = io.auraio.internal.offload.MetadataRouting.ring;
        try {
            for (boolean ring : new boolean[] {false, true}) {
                io.auraio.internal.offload.MetadataRouting.ring = ring;
                int i = 0;
                for (String[] pair : PAIRS) {
                    // (AuraFiles.copy asks the ring nothing: once is enough)
                    for (CopyOption[] o : ring ? List.<CopyOption[]>of() : copyOptionSets()) {
                        String d = differs("ac" + i++,
                                b -> "copy " + outcomeOf(() -> Files.copy(b.resolve(pair[0]), b.resolve(pair[1]), o))
                                        + " " + after(b.resolve(pair[1])),
                                b -> "copy " + outcomeOf(() -> io.auraio.AuraFiles.copy(b.resolve(pair[0]),
                                        b.resolve(pair[1]), o)) + " " + after(b.resolve(pair[1])), false);
                        if (!d.isEmpty()) {
                            diffs.add(d);
                        }
                    }
                    for (CopyOption[] o : moveOptionSets()) {
                        String d = differs((ring ? "ar" : "ao") + i++,
                                b -> "move " + outcomeOf(() -> Files.move(b.resolve(pair[0]), b.resolve(pair[1]), o))
                                        + " " + after(b.resolve(pair[1])),
                                b -> "move " + outcomeOf(() -> io.auraio.AuraFiles.move(b.resolve(pair[0]),
                                        b.resolve(pair[1]), o)) + " " + after(b.resolve(pair[1])), false);
                        if (!d.isEmpty()) {
                            diffs.add(d);
                        }
                    }
                }
            }
        } finally {
            io.auraio.internal.offload.MetadataRouting.ring = routing;
        }
        assertThat(diffs).isEmpty();
    }

    private static String outcomeOf(Callable<?> c) {
        try {
            Object r = c.call();
            return "-> " + (r instanceof Path p ? p.getFileName() : r);
        } catch (Exception e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    /** The target's mode, time (to the second) and kind, as copied, without following a link. */
    private static String after(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return "absent";
        }
        return Integer.toOctalString((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS))
                + " " + (Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() == 1_000_000_000_000L);
    }

    /**
     * {@code ATOMIC_MOVE} from one file system to another (a tmpfs to the test directory's) fails
     * with {@code AtomicMoveNotSupportedException} naming both files, and a plain move copies, as
     * the platform's.
     */
    @Test
    void anAtomicMoveAcrossFileSystemsFailsAsThePlatforms() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        Path other = Files.createTempDirectory(shm, "auraio-review-");
        try {
            assumeTrue(!Files.getFileStore(other).equals(Files.getFileStore(dir.path())),
                    "/dev/shm and the test directory are one file system");
            List<String> outcomes = new ArrayList<>();
            for (String kind : List.of("jdk-platform", "jdk-virtual", "aura-platform", "aura-virtual")) {
                Path src = other.resolve(kind);
                Files.writeString(src, "x");
                Files.createDirectories(other.resolve(kind + "-d/sub"));
                Path target = dir.path().toAbsolutePath().resolve(kind);
                Path s = kind.startsWith("aura") ? fs.getPath(src.toString()) : src;
                Path t = kind.startsWith("aura") ? fs.getPath(target.toString()) : target;
                Path sd = kind.startsWith("aura") ? fs.getPath(src + "-d") : Path.of(src + "-d");
                boolean virtual = kind.endsWith("virtual");
                String o = TestSupport.outcome(() -> outcomeOf(() -> Files.move(s, t, StandardCopyOption.ATOMIC_MOVE)) + " "
                        + Files.exists(s) + " " + Files.exists(t) + " "
                        + outcomeOf(() -> Files.move(s, t)) + " " + Files.exists(s) + " " + Files.readString(t) + " "
                        + outcomeOf(() -> Files.move(sd, t.resolveSibling(kind + "-d")))
                        + outcomeOf(() -> Files.move(sd, t.resolveSibling(kind + "-e"), StandardCopyOption.ATOMIC_MOVE)),
                        dir.path().toAbsolutePath(), virtual);
                outcomes.add(o.replace(other.toString(), "<other>").replace(kind, "<kind>"));
            }
            assertThat(new HashSet<>(outcomes)).as("%s", outcomes).hasSize(1);
        } finally {
            TestDirectory.deleteRecursively(other);
        }
    }

    // ---- directory streams -------------------------------------------------------------------

    @Test
    void directoryStreamMisuseIsAnsweredAsByThePlatform() throws Exception {
        List<Scenario> s = new ArrayList<>();
        s.add(b -> {
            try (var ds = Files.newDirectoryStream(b, p -> {
                throw new IOException("filter says no to " + p.getFileName());
            })) {
                return ds.iterator().hasNext();
            }
        });
        s.add(b -> {
            try (var ds = Files.newDirectoryStream(b)) {
                ds.iterator();
                return ds.iterator();
            }
        });
        s.add(b -> {
            var ds = Files.newDirectoryStream(b);
            ds.close();
            ds.close();
            return ds.iterator();
        });
        s.add(b -> {
            var ds = Files.newDirectoryStream(b.resolve("d"));
            var it = ds.iterator();
            ds.close();
            return it.hasNext() + " " + outcomeOf(it::next);
        });
        s.add(b -> {
            // Entries removed while the stream is read: none is returned twice, and it ends.
            try (var ds = Files.newDirectoryStream(b)) {
                Set<Path> seen = new HashSet<>();
                for (Path p : ds) {
                    if (!seen.add(p)) {
                        return "twice: " + p;
                    }
                    if (seen.size() == 1) {
                        shell(b, "rm -rf d e full && mkdir m1 m2");
                    }
                }
                return "ended";
            }
        });
        s.add(b -> {
            // The directory itself removed while its stream is open.
            try (var ds = Files.newDirectoryStream(b.resolve("e"))) {
                shell(b, "rmdir e");
                return ds.iterator().hasNext();
            }
        });
        s.add(b -> Files.newDirectoryStream(b.resolve("loop")));
        s.add(b -> Files.newDirectoryStream(b.resolve("dangling")));
        s.add(b -> Files.newDirectoryStream(b.resolve("f")));
        s.add(b -> Files.newDirectoryStream(b, (DirectoryStream.Filter<Path>) null));
        s.add(b -> {
            try (var ds = Files.newDirectoryStream(b.resolve("dl"), "*.txt")) {
                List<String> n = new ArrayList<>();
                ds.forEach(p -> n.add(p.toString()));
                return n;
            }
        });
        s.add(b -> {
            try (var ds = Files.newDirectoryStream(b, "{new?line,sp ace,-*}")) {
                List<String> n = new ArrayList<>();
                ds.forEach(p -> n.add(p.getFileName().toString()));
                n.sort(null);
                return n;
            }
        });
        assertAllAlike("s", s);
    }

    /** Runs {@code call} on the secure directory stream of {@code dir} (Linux's streams are secure). */
    private static Object secure(Path dir, SecureCall call) throws Exception {
        try (var ds = Files.newDirectoryStream(dir)) {
            assertThat(ds).isInstanceOf(java.nio.file.SecureDirectoryStream.class);
            return call.run((java.nio.file.SecureDirectoryStream<Path>) ds);
        }
    }

    @FunctionalInterface
    interface SecureCall {
        Object run(java.nio.file.SecureDirectoryStream<Path> ds) throws Exception;
    }

    /** The secure directory stream's operations, relative to the open directory, as the platform's. */
    @Test
    void secureDirectoryStreamOperationsAreThePlatforms() throws Exception {
        List<Scenario> s = new ArrayList<>();
        Path rel = Path.of("f");
        s.add(b -> secure(b, ds -> {
            ds.deleteFile(b.getFileSystem().getPath("d"));
            return "deleted";
        }));
        s.add(b -> secure(b, ds -> {
            ds.deleteDirectory(b.getFileSystem().getPath("f"));
            return "deleted";
        }));
        s.add(b -> secure(b, ds -> {
            ds.deleteDirectory(b.getFileSystem().getPath("full"));
            return "deleted";
        }));
        s.add(b -> secure(b, ds -> {
            ds.deleteFile(b.getFileSystem().getPath("nope"));
            return "deleted";
        }));
        s.add(b -> secure(b, ds -> {
            ds.deleteFile(b.getFileSystem().getPath("loop"));
            ds.deleteFile(b.getFileSystem().getPath("dl"));
            return "deleted";
        }));
        s.add(b -> secure(b, ds -> {
            ds.deleteFile(rel); // a path of the platform's, not this file system's
            return "deleted";
        }));
        s.add(b -> secure(b, ds -> {
            ds.move(b.getFileSystem().getPath("f"), ds, b.getFileSystem().getPath("g"));
            return "moved";
        }));
        s.add(b -> secure(b, ds -> {
            try (var sub = ds.newDirectoryStream(b.getFileSystem().getPath("d"))) {
                ds.move(b.getFileSystem().getPath("f"), sub, b.getFileSystem().getPath("g"));
                sub.move(b.getFileSystem().getPath("a.txt"), ds, b.getFileSystem().getPath("a2"));
                return "moved";
            }
        }));
        s.add(b -> secure(b, ds -> {
            try (var sub = ds.newDirectoryStream(b.getFileSystem().getPath("dl"), LinkOption.NOFOLLOW_LINKS)) {
                return sub;
            }
        }));
        s.add(b -> secure(b, ds -> {
            try (var sub = ds.newDirectoryStream(b.getFileSystem().getPath("dl"))) {
                List<String> n = new ArrayList<>();
                sub.forEach(p -> n.add(p.toString()));
                return n;
            }
        }));
        s.add(b -> secure(b, ds -> {
            try (var ch = ds.newByteChannel(b.getFileSystem().getPath("link"), Set.of(StandardOpenOption.READ))) {
                return ch.size();
            }
        }));
        s.add(b -> secure(b, ds -> {
            var v = ds.getFileAttributeView(b.getFileSystem().getPath("link"),
                    java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            var a = v.readAttributes();
            return a.isSymbolicLink() + " " + a.size() + " " + v.name();
        }));
        s.add(b -> secure(b, ds -> {
            var v = ds.getFileAttributeView(java.nio.file.attribute.BasicFileAttributeView.class);
            ds.close();
            return outcomeOf(v::readAttributes) + " " + outcomeOf(() -> ds.newDirectoryStream(
                    b.getFileSystem().getPath("d"))) + outcomeOf(() -> {
                        ds.deleteFile(b.getFileSystem().getPath("f"));
                        return "deleted";
                    });
        }));
        s.add(b -> secure(b, ds -> {
            // The directory renamed by another process while open: names stay relative to it.
            shell(b, "mv d d2 && mkdir d");
            ds.deleteFile(b.getFileSystem().getPath("f"));
            try (var sub = ds.newDirectoryStream(b.getFileSystem().getPath("d2"))) {
                sub.deleteFile(b.getFileSystem().getPath("a.txt"));
            }
            return "deleted";
        }));
        assertAllAlike("sds", s);
    }

    // ---- attributes --------------------------------------------------------------------------

    @Test
    void unknownAndReadOnlyAttributesFailAsThePlatform() throws Exception {
        List<Scenario> s = new ArrayList<>();
        for (String a : List.of("bogus:x", "bogus:*", "basic:bogus", "posix:", ":size", "basic:size,", "size,,mode",
                "unix:nope", "dos:*", "owner:owner", "acl:*", "user:nope", "posix:permissions,bogus", "basic:*,size")) {
            s.add(b -> new TreeMap<>(Files.readAttributes(b.resolve("f"), a)).keySet());
            s.add(b -> Files.getAttribute(b.resolve("f"), a));
        }
        for (String a : List.of("basic:size", "basic:isDirectory", "basic:fileKey", "unix:ino", "unix:nlink",
                "unix:ctime", "posix:group", "bogus:x", "basic:bogus", "size", "posix:permissions",
                "unix:mode", "basic:lastModifiedTime", "owner:owner")) {
            for (Object value : new Object[] {null, 5L, "text"}) {
                s.add(b -> {
                    Files.setAttribute(b.resolve("f"), a, value);
                    return after(b.resolve("f"));
                });
            }
        }
        s.add(b -> {
            Files.setAttribute(b.resolve("link"), "basic:lastModifiedTime", FileTime.fromMillis(5000),
                    LinkOption.NOFOLLOW_LINKS);
            return Files.getLastModifiedTime(b.resolve("link"), LinkOption.NOFOLLOW_LINKS) + " " + after(b.resolve("f"));
        });
        s.add(b -> {
            Files.setAttribute(b.resolve("dangling"), "posix:permissions", PosixFilePermissions.fromString("rwx------"));
            return "set";
        });
        s.add(b -> {
            Files.setAttribute(b.resolve("loop"), "basic:lastModifiedTime", FileTime.fromMillis(5000));
            return "set";
        });
        s.add(b -> Files.readAttributes(b.resolve("loop"), "unix:mode", LinkOption.NOFOLLOW_LINKS).get("mode") + " "
                + outcomeOf(() -> Files.readAttributes(b.resolve("loop"), "unix:mode")));
        s.add(b -> Files.readAttributes(b.resolve("f"), java.nio.file.attribute.DosFileAttributes.class).isHidden());
        s.add(b -> Files.getFileAttributeView(b.resolve("f"), java.nio.file.attribute.AclFileAttributeView.class));
        assertAllAlike("a", s);
    }

    /**
     * Access checks the cached path answers and those it leaves to the platform agree: execute of
     * a file without an execute bit is denied even to root, a mode-000 file and directory as the
     * platform says for this user.
     */
    @Test
    void accessChecksOfUnusualModesAreThePlatforms() throws Exception {
        List<Scenario> s = new ArrayList<>();
        for (String mode : List.of("---------", "r--------", "-w-------", "--x------", "------r-x", "rwxrwxrwx")) {
            s.add(b -> {
                Files.setPosixFilePermissions(b.resolve("f"), PosixFilePermissions.fromString(mode));
                Files.setPosixFilePermissions(b.resolve("d"), PosixFilePermissions.fromString(mode));
                try {
                    return probe(b.resolve("f")) + " // " + probe(b.resolve("d")) + " // " + probe(b.resolve("d/a.txt"))
                            + " // " + outcomeOf(() -> Files.createDirectory(b.resolve("d/n")))
                            + outcomeOf(() -> Files.createDirectory(b.resolve("d/a.txt")));
                } finally {
                    Files.setPosixFilePermissions(b.resolve("d"), PosixFilePermissions.fromString("rwx------"));
                }
            });
        }
        assertAllAlike("p", s);
    }

    /**
     * Refusals for an unprivileged user (nobody, through {@code setpriv}, in a JVM of its own: root
     * may do everything): a directory it cannot search or read, a file it cannot read, a link into
     * a closed directory. The cached path must not answer where the platform refuses, nor refuse
     * where it answers ({@link PermissionProbe} prints both providers' outcomes).
     */
    @Test
    void refusalsForAnUnprivilegedUserAreThePlatforms() throws Exception {
        assumeTrue(Commands.run("setpriv", "--version").succeeded(), "no setpriv");
        assumeTrue(Files.readString(Path.of("/proc/self/status")).lines()
                .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0")), "not root: cannot become nobody");
        Path project = io.auraio.testing.FixtureAvailability.projectDirectory();
        Files.setPosixFilePermissions(dir.path(), PosixFilePermissions.fromString("rwxr-xr-x"));
        assumeTrue(TestDirectory.othersCanEnter(dir.path()) && TestDirectory.othersCanEnter(project.resolve(
                "target/test-classes")), "nobody cannot enter the test directory or read the classes");
        Path base = dir.path().toAbsolutePath().resolve("perm");
        Files.createDirectories(base.resolve("closed"));
        Files.writeString(base.resolve("closed/f"), "closed");
        Files.createDirectories(base.resolve("noexec"));
        Files.writeString(base.resolve("noexec/f"), "noexec");
        Files.createDirectories(base.resolve("ro"));
        Files.writeString(base.resolve("ro/f"), "ro");
        Files.createDirectories(base.resolve("open"));
        Files.writeString(base.resolve("f600"), "secret");
        Files.writeString(base.resolve("f644"), "public");
        Files.createSymbolicLink(base.resolve("lnk"), Path.of("closed/f"));
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(base.resolve("closed"), PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(base.resolve("noexec"), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(base.resolve("open"), PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(base.resolve("f600"), PosixFilePermissions.fromString("rw-------"));
        for (String routing : List.of("offload", "ring")) {
            List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Dauraio.metadata=" + routing,
                    "-cp", project.resolve("target/classes") + ":" + project.resolve("target/test-classes"),
                    PermissionProbe.class.getName(), base.toString()));
            command.addAll(List.of("closed", "closed/f", "closed/nope", "noexec", "noexec/f", "f600", "f644", "ro",
                    "ro/f", "lnk"));
            Commands.Ran ran = Commands.run(command);
            assertThat(ran.exitCode()).as("%s", ran).isZero();
            assertProbedAlike(routing, ran.output(), 10);
        }
    }

    /** Requires {@link PermissionProbe}'s output {@code out} to hold {@code names} names, each with one outcome for every kind. */
    private static void assertProbedAlike(String what, String out, int names) {
        Map<String, Set<String>> byName = new TreeMap<>();
        for (String line : out.lines().toList()) {
            int space = line.indexOf(' ');
            int colon = line.indexOf(": ");
            assertThat(space).as(out).isPositive();
            byName.computeIfAbsent(line.substring(space + 1, colon), k -> new HashSet<>()).add(line.substring(colon));
        }
        assertThat(byName).as("%s: %s", what, out).hasSize(names);
        assertThat(byName.values()).as("%s: %s", what, out).allMatch(outcomes -> outcomes.size() == 1);
    }

    /**
     * Under {@code LANG=C} (the path charset ASCII: every non-ASCII name's {@code toString} is
     * lossy, so the cached path and the library take its bytes from its URI), a forked JVM's
     * calls on names made by the shell, as listed: through both providers, on both kinds of thread,
     * each on a tree of its own, alike.
     */
    @Test
    void underTheCLocaleNonAsciiNamesAreServedAsByThePlatform() throws Exception {
        Path root = dir.path().toAbsolutePath().resolve("c-locale");
        for (String kind : List.of("jdk-platform", "jdk-virtual", "aura-platform", "aura-virtual")) {
            Path tree = Files.createDirectories(root.resolve(kind).resolve("open"));
            shell(tree.getParent(), "printf one > \"$(printf 'caf\\303\\251')\" && printf two > \"$(printf 'bad\\377n')\""
                    + " && mkdir \"$(printf 'd\\303\\251')\" && printf 3 > \"$(printf 'd\\303\\251/\\303\\251')\""
                    + " && ln -s \"$(printf 'caf\\303\\251')\" \"$(printf 'l\\303\\251')\" && printf 4 > plain");
        }
        ForkedJvm.Result r = ForkedJvm.of(PermissionProbe.class).env("LC_ALL", "C").env("LANG", "C")
                .property("probe.treePerKind", "true").args(root.toString()).run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        assertProbedAlike("LANG=C", r.stdout(), 5);
    }

    // ---- channels: option sets ---------------------------------------------------------------

    private static String open(Path p, OpenOption... options) throws IOException {
        try (SeekableByteChannel ch = Files.newByteChannel(p, new HashSet<>(Arrays.asList(options)))) {
            return "size " + ch.size();
        }
    }

    @Test
    void illegalOpenOptionSetsFailAsThePlatforms() throws Exception {
        List<Scenario> s = new ArrayList<>();
        StandardOpenOption[] o = StandardOpenOption.values();
        s.add(b -> open(b.resolve("f"), StandardOpenOption.APPEND, StandardOpenOption.READ));
        s.add(b -> open(b.resolve("f"), StandardOpenOption.APPEND, StandardOpenOption.TRUNCATE_EXISTING));
        s.add(b -> open(b.resolve("f"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        s.add(b -> open(b.resolve("dangling"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        s.add(b -> open(b.resolve("dangling"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)
                + " " + Files.exists(b.resolve("nope")));
        s.add(b -> open(b.resolve("loop"), StandardOpenOption.CREATE, StandardOpenOption.WRITE));
        s.add(b -> open(b.resolve(NAME_255 + "x"), StandardOpenOption.CREATE, StandardOpenOption.WRITE));
        s.add(b -> open(b.resolve("f/"), StandardOpenOption.READ));
        s.add(b -> open(b.resolve("f/x"), StandardOpenOption.CREATE, StandardOpenOption.WRITE));
        s.add(b -> open(b.resolve("f"), StandardOpenOption.READ, StandardOpenOption.TRUNCATE_EXISTING));
        s.add(b -> open(b.resolve("f"), StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.SPARSE, StandardOpenOption.DSYNC, StandardOpenOption.SYNC));
        s.add(b -> {
            Files.newInputStream(b.resolve("f"), StandardOpenOption.APPEND).close();
            return "opened";
        });
        s.add(b -> {
            Files.newOutputStream(b.resolve("f"), StandardOpenOption.CREATE_NEW).close();
            return "opened";
        });
        s.add(b -> {
            // Deleted by another process while open with DELETE_ON_CLOSE: close does not fail.
            try (SeekableByteChannel ch = Files.newByteChannel(b.resolve("f"), Set.of(StandardOpenOption.READ,
                    StandardOpenOption.DELETE_ON_CLOSE))) {
                shell(b, "rm -f f");
                return ch.read(ByteBuffer.allocate(8));
            }
        });
        s.add(b -> {
            // Replaced by another process while open with DELETE_ON_CLOSE: the new file is deleted, as by the platform.
            try (SeekableByteChannel ch = Files.newByteChannel(b.resolve("f"), Set.of(StandardOpenOption.READ,
                    StandardOpenOption.DELETE_ON_CLOSE))) {
                shell(b, "rm -f f && printf 12 > f");
                return ch.size();
            }
        });
        for (StandardOpenOption a : o) {
            s.add(b -> open(b.resolve("link"), a, LinkOption.NOFOLLOW_LINKS));
        }
        assertAllAlike("c", s);
    }

    // ---- file stores -------------------------------------------------------------------------

    private static String store(Path p) throws IOException {
        FileStore s = Files.getFileStore(p);
        FileStore again = Files.getFileStore(p);
        FileStore jdk = Files.getFileStore(Path.of(p.toString()));
        return s + " name=" + s.name() + " type=" + s.type() + " ro=" + s.isReadOnly() + " equal="
                + (s.equals(again) && again.equals(s) && s.hashCode() == again.hashCode()
                        && s.equals(jdk) == jdk.equals(s) && s.hashCode() == jdk.hashCode())
                + " block=" + s.getBlockSize() + " views=" + s.supportsFileAttributeView("posix")
                + s.supportsFileAttributeView("user") + s.supportsFileAttributeView("bogus")
                + s.supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class)
                + s.supportsFileAttributeView(java.nio.file.attribute.DosFileAttributeView.class)
                + " store view=" + s.getFileStoreAttributeView(java.nio.file.attribute.FileStoreAttributeView.class)
                + " " + outcomeOf(() -> s.getAttribute("bogus")) + " " + outcomeOf(() -> s.getAttribute("basic:x"))
                + " " + outcomeOf(() -> s.getAttribute("totalSpace").equals(s.getTotalSpace()));
    }

    @Test
    void fileStoresOfOddFilesAreThePlatforms() throws Exception {
        List<Scenario> s = new ArrayList<>();
        s.add(b -> {
            Fifo.create(b.resolve("fifo"));
            return store(b.resolve("fifo"));
        });
        s.add(b -> store(b.getFileSystem().getPath("/proc/self")));
        s.add(b -> store(b.getFileSystem().getPath("/proc/self/fd/0")));
        s.add(b -> store(b.getFileSystem().getPath("/proc")));
        s.add(b -> store(b.getFileSystem().getPath("/dev/null")));
        s.add(b -> store(b.resolve("loop")));
        s.add(b -> store(b.resolve("dangling")));
        s.add(b -> store(b.resolve("new\nline")));
        assertAllAlike("st", s);
    }

    /**
     * Mounts at awkward points (spaces, parentheses, names the mount table escapes as
     * {@code \040}) and with awkward sources: each store of {@code getFileStores()} is found at
     * its mount point, and its name, type, text and identity are the platform store's. The mount
     * point is read from the platform store's text: a source with " (" in its name once made the
     * store's offload key a path that is no mount.
     */
    @Test
    void storesOfMountsAtAwkwardPointsAreThePlatforms() throws Exception {
        Path root = dir.path().toAbsolutePath();
        List<Path> points = List.of(root.resolve("m sp (x)"), root.resolve("m2"), root.resolve("m3 (a) (b)"),
                root.resolve("m4\ttab"), root.resolve("m5 back\\040slash\nline"));
        List<String> sources = List.of("src (y)", "a b", "(", "x) (y", "s5 \\134");
        List<Path> mounted = new ArrayList<>();
        try {
            for (int i = 0; i < points.size(); i++) {
                Files.createDirectories(points.get(i));
                Commands.Ran ran = Commands.run("mount", "-t", "tmpfs", "-o", "size=1m", sources.get(i),
                        points.get(i).toString());
                assumeTrue(ran.succeeded(), "mounting a tmpfs is refused here: " + ran);
                mounted.add(points.get(i));
            }
            Path bindPoint = root.resolve("bind (z)");
            Files.createDirectories(bindPoint);
            if (Commands.run("mount", "--bind", points.get(0).toString(), bindPoint.toString()).succeeded()) {
                mounted.add(bindPoint);
            }
            // The file stores are the machine's mounts: compared while no other process mounted meanwhile.
            TestSupport.assertWhileUnchanged(Path.of("/proc/self/mountinfo"), () -> assertStoresAreThePlatforms(
                    sources, mounted));
        } finally {
            for (Path p : mounted.reversed()) {
                Commands.run("umount", "-l", p.toString());
            }
        }
    }

    /** Every store of {@code fs} is the platform's; those of {@code sources} are at {@code mounted}. */
    private void assertStoresAreThePlatforms(List<String> sources, List<Path> mounted) throws Exception {
        FileSystem platform = FileSystems.getDefault();
        Map<String, FileStore> platformStores = new TreeMap<>();
        for (FileStore st : platform.getFileStores()) {
            platformStores.put(st.toString(), st);
        }
        int found = 0;
        for (FileStore ours : fs.getFileStores()) {
            FileStore theirs = platformStores.get(ours.toString());
            assertThat(theirs).as("%s", ours).isNotNull();
            assertThat(ours.name()).isEqualTo(theirs.name());
            assertThat(ours.type()).isEqualTo(theirs.type());
            // Unequal both ways, as two providers' stores (the platform's equals wants its class).
            assertThat(ours.equals(theirs)).isFalse();
            assertThat(theirs.equals(ours)).isFalse();
            assertThat(ours.hashCode()).isEqualTo(theirs.hashCode());
            if (sources.contains(ours.name())) {
                found++;
                Path point = AuraFileStore.mountPoint(theirs, platform);
                assertThat(mounted).as("mount point of %s", theirs).contains(point);
                // (the offload's mount table is read again within a second of a mount)
                TestSupport.settle(() -> BlockingOffload.shared().mountOf(point).equals(point.toString()),
                        Duration.ofSeconds(5));
                assertThat(BlockingOffload.shared().mountOf(point)).isEqualTo(point.toString());
                assertThat(Files.getFileStore(point)).isEqualTo(theirs);
                FileStore byPath = Files.getFileStore(fs.getPath(point.toString()));
                assertThat(byPath).isEqualTo(ours);
                assertThat(byPath.toString()).isEqualTo(theirs.toString());
                assertThat(ours.getTotalSpace()).isEqualTo(theirs.getTotalSpace());
            }
        }
        assertThat(found).as("the stores of the mounts made here").isEqualTo(mounted.size());
    }

    /** Null arguments to the provider's calls: a NullPointerException where the platform's throws one. */
    @Test
    void nullArgumentsFailAsThePlatforms() throws Exception {
        List<Scenario> s = new ArrayList<>();
        s.add(b -> npe(() -> b.getFileSystem().provider().isSameFile(b.resolve("f"), null)));
        s.add(b -> npe(() -> b.getFileSystem().provider().isSameFile(b.resolve("f"), b.resolve("f"))));
        s.add(b -> npe(() -> {
            b.getFileSystem().provider().checkAccess(b.resolve("f"), (AccessMode) null);
            return "ok";
        }));
        s.add(b -> npe(() -> {
            b.getFileSystem().provider().checkAccess(b.resolve("nope"), (AccessMode) null);
            return "ok";
        }));
        s.add(b -> npe(() -> Files.readAttributes(b.resolve("f"), (String) null)));
        s.add(b -> npe(() -> Files.readAttributes(b.resolve("f"), (Class<java.nio.file.attribute.BasicFileAttributes>) null)));
        s.add(b -> npe(() -> Files.setAttribute(b.resolve("f"), null, 1L)));
        s.add(b -> npe(() -> Files.getFileAttributeView(b.resolve("f"), null)));
        s.add(b -> npe(() -> Files.newDirectoryStream(b, (String) null)));
        s.add(b -> npe(() -> Files.copy(b.resolve("f"), (Path) null)));
        s.add(b -> npe(() -> Files.move(b.resolve("f"), null)));
        s.add(b -> npe(() -> Files.createSymbolicLink(b.resolve("l"), null)));
        s.add(b -> npe(() -> Files.createLink(b.resolve("l"), null)));
        s.add(b -> npe(() -> Files.copy(b.resolve("f"), b.resolve("g"), (CopyOption) null)));
        s.add(b -> npe(() -> Files.move(b.resolve("f"), b.resolve("g"), (CopyOption) null)));
        s.add(b -> npe(() -> Files.exists(b.resolve("f"), (LinkOption) null)));
        s.add(b -> npe(() -> Files.readAttributes(b.resolve("f"), java.nio.file.attribute.BasicFileAttributes.class,
                (LinkOption) null).size()));
        s.add(b -> npe(() -> Files.createDirectory(b.resolve("n"), (java.nio.file.attribute.FileAttribute<?>) null)));
        s.add(b -> npe(() -> Files.createDirectory(b.resolve("d"), (java.nio.file.attribute.FileAttribute<?>) null)));
        assertAllAlike("null", s);
    }

    /** {@return the outcome of {@code c}, a NullPointerException's message left out (the JDK's own differ by call site)} */
    private static String npe(Callable<?> c) {
        try {
            return "returned " + c.call();
        } catch (NullPointerException e) {
            return "NullPointerException";
        } catch (Exception e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    // ---- leaks and interrupts ----------------------------------------------------------------

    /**
     * The failing calls of this class, repeated on virtual threads whose interrupt status is set:
     * each keeps the status, no descriptor is left open and no call is left on the offload.
     */
    @Test
    void failingCallsLeaveNoDescriptorAndNoOffloadedCallAfterAnInterrupt() throws Exception {
        Path plain = dir.path().toAbsolutePath().resolve("leaks");
        populate(plain);
        Path b = fs.getPath(plain.toString());
        Callable<Object> round = () -> {
            Thread.currentThread().interrupt();
            for (String name : List.of("loop/x", "dangling", "f/x", "n".repeat(256), ("d".repeat(200) + "/").repeat(25))) {
                probe(b.resolve(name));
                outcomeOf(() -> Files.copy(b.resolve("f"), b.resolve(name)));
                outcomeOf(() -> Files.move(b.resolve(name), b.resolve("g"), StandardCopyOption.ATOMIC_MOVE));
                outcomeOf(() -> Files.newDirectoryStream(b.resolve(name)));
                outcomeOf(() -> Files.getFileStore(b.resolve(name)));
                outcomeOf(() -> Files.readAttributes(b.resolve(name), "unix:*"));
            }
            outcomeOf(() -> {
                try (var ds = Files.newDirectoryStream(b, p -> {
                    throw new IOException("no");
                })) {
                    return ds.iterator().hasNext();
                }
            });
            return Thread.currentThread().isInterrupted();
        };
        assertThat(TestSupport.onVirtualThread(round)).isEqualTo(true); // warm up: the engine, the pool
        Map<Integer, String> before = Descriptors.open();
        for (int k = 0; k < 10; k++) {
            assertThat(TestSupport.onVirtualThread(round)).isEqualTo(true);
        }
        TestSupport.settle(() -> BlockingOffload.shared().active() == 0, Duration.ofSeconds(10));
        assertThat(BlockingOffload.shared().active()).isZero();
        Descriptors.assertNoneNew(before, "10 rounds of failing calls, interrupted");
    }
}
