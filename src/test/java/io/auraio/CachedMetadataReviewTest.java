package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.spi.AuraFileSystemProvider;
import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FaultFs;
import io.auraio.testing.Fifo;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.AccessMode;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile review of the metadata answered on a virtual thread's own carrier from the dentry cache
 * ({@link CachedMetadata}): every stat-like call of {@link AuraFiles}, and the provider's, on
 * awkward names (links in chains and loops, FIFOs, sockets, device nodes, "." and "..", names under
 * a file, too long a name, relative names, {@code /proc/self/fd} and {@code /proc/self/cwd}),
 * answered as the JDK's {@code Files} answers them on a platform thread, values and exceptions
 * alike, with no descriptor left open. {@link CachedMetadataTest} checks that the plain cases are
 * answered on the caller; this checks that the odd ones are answered right wherever they are.
 */
class CachedMetadataReviewTest {
    private static final LinkOption[] FOLLOW = {};
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final FileSystem aura =
            new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));

    /** The calls compared, each a function of a path to its answer (an exception is an answer). */
    private interface Call {
        Object apply(Path p) throws Exception;
    }

    private static Map<String, Call> jdkCalls(Path same) {
        Map<String, Call> calls = new LinkedHashMap<>();
        calls.put("exists", p -> Files.exists(p));
        calls.put("existsNoFollow", p -> Files.exists(p, NOFOLLOW));
        calls.put("notExists", p -> Files.notExists(p));
        calls.put("isDirectory", p -> Files.isDirectory(p));
        calls.put("isDirectoryNoFollow", p -> Files.isDirectory(p, NOFOLLOW));
        calls.put("isRegularFile", p -> Files.isRegularFile(p));
        calls.put("isSymbolicLink", p -> Files.isSymbolicLink(p));
        calls.put("size", p -> Files.size(p));
        calls.put("attributes", p -> summary(Files.readAttributes(p, BasicFileAttributes.class)));
        calls.put("attributesNoFollow", p -> summary(Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW)));
        calls.put("lastModified", p -> Files.getLastModifiedTime(p));
        calls.put("lastModifiedNoFollow", p -> Files.getLastModifiedTime(p, NOFOLLOW));
        calls.put("isReadable", p -> Files.isReadable(p));
        calls.put("isWritable", p -> Files.isWritable(p));
        calls.put("isExecutable", p -> Files.isExecutable(p));
        calls.put("checkAccess", p -> {
            p.getFileSystem().provider().checkAccess(p);
            return "ok";
        });
        calls.put("checkAccessRWX", p -> {
            p.getFileSystem().provider().checkAccess(p, AccessMode.READ, AccessMode.WRITE, AccessMode.EXECUTE);
            return "ok";
        });
        calls.put("isSameFile", p -> Files.isSameFile(p, p.getFileSystem().getPath(same.toString())));
        calls.put("isSameFileReversed", p -> Files.isSameFile(p.getFileSystem().getPath(same.toString()), p));
        calls.put("isHidden", p -> Files.isHidden(p));
        calls.put("createDirectoryOfExisting", p -> existsForTheJdk(p) ? Files.createDirectory(p) : "not tried");
        return calls;
    }

    /** The same calls through {@link AuraFiles} where it has them. */
    private static Map<String, Call> auraFilesCalls(Path same) {
        Map<String, Call> calls = new LinkedHashMap<>();
        calls.put("exists", p -> AuraFiles.exists(p));
        calls.put("existsNoFollow", p -> AuraFiles.exists(p, NOFOLLOW));
        calls.put("size", p -> AuraFiles.size(p));
        calls.put("attributes", p -> summary(AuraFiles.readAttributes(p, BasicFileAttributes.class)));
        calls.put("attributesNoFollow",
                p -> summary(AuraFiles.readAttributes(p, BasicFileAttributes.class, NOFOLLOW)));
        calls.put("checkAccess", p -> {
            AuraFiles.checkAccess(p);
            return "ok";
        });
        calls.put("checkAccessRWX", p -> {
            AuraFiles.checkAccess(p, AccessMode.READ, AccessMode.WRITE, AccessMode.EXECUTE);
            return "ok";
        });
        calls.put("isSameFile", p -> AuraFiles.isSameFile(p, same));
        calls.put("isSameFileReversed", p -> AuraFiles.isSameFile(same, p));
        calls.put("createDirectoryOfExisting", p -> existsForTheJdk(p) ? AuraFiles.createDirectory(p) : "not tried");
        return calls;
    }

    /**
     * {@return whether the JDK's own provider sees {@code p} (not following a link)} Only such
     * names are given to createDirectory: a missing one would be made by the first caller.
     */
    private static boolean existsForTheJdk(Path p) {
        return Files.exists(Path.of(p.toString()), NOFOLLOW);
    }

    private static String summary(BasicFileAttributes a) {
        return List.of(a.size(), a.isRegularFile(), a.isDirectory(), a.isSymbolicLink(), a.isOther(),
                a.lastModifiedTime(), a.creationTime(), a.fileKey()).toString();
    }

    private static String outcome(Call call, Path p) {
        try {
            return "returned " + call.apply(p);
        } catch (Exception e) {
            return "threw " + e.getClass().getName() + ": " + e.getMessage();
        }
    }

    /** Each awkward name, by a label. */
    private Map<String, Path> awkwardNames(Path base) throws Exception {
        Path file = Files.write(base.resolve("f"), new byte[321]);
        Path sub = Files.createDirectories(base.resolve("d/e"));
        Files.write(sub.resolve("g"), new byte[5]);
        Path noAccess = Files.write(base.resolve("mode000"), new byte[3]);
        Files.setPosixFilePermissions(noAccess, java.util.Set.of());
        Path exec = Files.write(base.resolve("exec"), new byte[3]);
        Files.setPosixFilePermissions(exec, java.nio.file.attribute.PosixFilePermissions.fromString("r-x------"));
        List<Path> links = new ArrayList<>();
        links.add(Files.createSymbolicLink(base.resolve("l1"), Path.of("f")));
        links.add(Files.createSymbolicLink(base.resolve("l2"), Path.of("l1")));
        links.add(Files.createSymbolicLink(base.resolve("l3"), base.resolve("l2")));
        links.add(Files.createSymbolicLink(base.resolve("ld"), Path.of("d")));
        links.add(Files.createSymbolicLink(base.resolve("loopA"), Path.of("loopB")));
        links.add(Files.createSymbolicLink(base.resolve("loopB"), Path.of("loopA")));
        links.add(Files.createSymbolicLink(base.resolve("self"), Path.of("self")));
        links.add(Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope")));
        links.add(Files.createSymbolicLink(base.resolve("toProc"), Path.of("/proc/self")));
        links.add(Files.createSymbolicLink(base.resolve("trailing"), Path.of("d/")));
        links.add(Files.createSymbolicLink(base.resolve("toFileChild"), Path.of("f/x")));
        for (Path l : links) {
            // Accessed after it was modified, as any older link: following a link whose access
            // time is due is refused by the cached walk (CachedMetadataTest).
            Files.getFileAttributeView(l, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.from(Instant.now().minusSeconds(3600)), FileTime.from(Instant.now()), null);
        }
        Path fifo = Fifo.create(base.resolve("fifo"));
        Path socket = base.resolve("sock");
        Map<String, Path> names = new LinkedHashMap<>();
        names.put("base", base);
        names.put("file", file);
        names.put("dir", base.resolve("d"));
        names.put("dot", base.resolve("d/."));
        names.put("dotdot", base.resolve("d/e/.."));
        names.put("dotdotThroughLink", base.resolve("ld/e/../e/g"));
        names.put("root", Path.of("/"));
        names.put("rootDotDot", Path.of("/.."));
        names.put("mode000", noAccess);
        names.put("exec", exec);
        for (Path l : links) {
            names.put("link " + l.getFileName(), l);
            names.put("link " + l.getFileName() + "/x", l.resolve("x"));
        }
        names.put("fifo", fifo);
        names.put("socket", socket);
        names.put("fileChild", file.resolve("x"));
        names.put("fileChildDotDot", file.resolve("..").resolve("f"));
        names.put("missing", base.resolve("missing"));
        names.put("missingChild", base.resolve("missing/x"));
        names.put("tooLongName", base.resolve("n".repeat(300)));
        names.put("tooLongPath", base.resolve(("a/".repeat(2100)) + "b"));
        names.put("nul", base.resolve("f").resolveSibling("no\u0001ne"));
        names.put("relative", Path.of("").toAbsolutePath().relativize(file));
        names.put("relativeDir", Path.of("").toAbsolutePath().relativize(sub));
        names.put("empty", Path.of(""));
        names.put("dotAlone", Path.of("."));
        names.put("procSelfFd", Path.of("/proc/self/fd/" + Descriptors.oneOn(base.resolve("open"))));
        names.put("procSelfCwd", Path.of("/proc/self/cwd"));
        names.put("procSelfCwdFile", Path.of("/proc/self/cwd").resolve(Path.of("").toAbsolutePath().relativize(file)));
        names.put("devNull", Path.of("/dev/null"));
        names.put("proc", Path.of("/proc/self/stat"));
        return names;
    }

    @Test
    void everyAwkwardNameIsAnsweredAsTheJdkAnswersIt() throws Exception {
        Path base = dir.path().toAbsolutePath();
        try (FileChannel open = FileChannel.open(Files.write(base.resolve("open"), new byte[77]), StandardOpenOption.READ);
             ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            assertThat(open.size()).isEqualTo(77); // named below through /proc/self/fd
            Map<String, Path> names = awkwardNames(base);
            // A socket's path must be short: bound in /tmp, linked into the test directory.
            Path shortDir = Files.createTempDirectory(Path.of("/tmp"), "cmr");
            server.bind(UnixDomainSocketAddress.of(shortDir.resolve("s")));
            Files.createLink(names.get("socket"), shortDir.resolve("s"));
            Files.delete(shortDir.resolve("s"));
            Files.delete(shortDir);
            assertAnsweredAsTheJdk(names, base.resolve("f"));
        }
    }

    /**
     * Device nodes made in the test directory (on its local file system, so answered on the
     * caller): a character device and a block device, neither opened (an {@code O_PATH} lookup
     * runs no driver's {@code open}), answered as the JDK answers them.
     */
    @Test
    void deviceNodesAreAnsweredAsTheJdkAnswersThem() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Files.write(base.resolve("f"), new byte[1]);
        Map<String, Path> names = new LinkedHashMap<>();
        for (String[] node : new String[][] {{"char", "c", "1", "3"}, {"block", "b", "7", "0"}}) {
            Path p = base.resolve(node[0]);
            // Its pipes closed before the descriptors are counted (Commands).
            Commands.Ran mknod = Commands.run("mknod", p.toString(), node[1], node[2], node[3]);
            assumeTrue(mknod.succeeded(), "cannot make a device node here (root needed): " + mknod);
            names.put(node[0], p);
            names.put(node[0] + "/x", p.resolve("x"));
        }
        assertAnsweredAsTheJdk(names, base.resolve("f"));
    }

    /**
     * Mount points: a tmpfs mounted in the test directory and a bind mount of a directory of it,
     * their roots, files in them, ".." out of them, answered as the JDK answers them (a mount made
     * a moment ago: the mount table is read again for its unknown ID).
     */
    @Test
    void mountPointsAndBindMountsAreAnsweredAsTheJdkAnswersThem() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path tmpfs = Files.createDirectories(base.resolve("tmpfs"));
        Path bound = Files.createDirectories(base.resolve("bound"));
        Path source = Files.createDirectories(base.resolve("source"));
        Files.write(source.resolve("g"), new byte[3]);
        mount(List.of("mount", "-t", "tmpfs", "tmpfs", tmpfs.toString()));
        try {
            mount(List.of("mount", "--bind", source.toString(), bound.toString()));
            try {
                Files.write(tmpfs.resolve("f"), new byte[11]);
                Map<String, Path> names = new LinkedHashMap<>();
                names.put("tmpfs", tmpfs);
                names.put("tmpfs/f", tmpfs.resolve("f"));
                names.put("tmpfs/..", tmpfs.resolve(".."));
                names.put("tmpfs/missing", tmpfs.resolve("missing"));
                names.put("bound", bound);
                names.put("bound/g", bound.resolve("g"));
                names.put("bound/../source/g", bound.resolve("../source/g"));
                assertAnsweredAsTheJdk(names, source.resolve("g")); // isSameFile: through the bind mount or not
            } finally {
                new ProcessBuilder("umount", "-l", bound.toString()).inheritIO().start().waitFor();
            }
        } finally {
            new ProcessBuilder("umount", "-l", tmpfs.toString()).inheritIO().start().waitFor();
        }
    }

    /**
     * Runs a mount command, its pipes closed before it returns ({@link Commands}: the descriptors
     * are counted next); skips the test where it fails (not root).
     */
    private static void mount(List<String> command) throws Exception {
        Commands.Ran ran = Commands.run(command);
        assumeTrue(ran.succeeded(), "cannot mount here (root needed): " + ran);
    }

    /**
     * Asks every call of {@link #jdkCalls} for every name: on a platform thread of the JDK's
     * provider, and on virtual threads through the provider and {@link AuraFiles}, three rounds
     * (the first may miss the cache; the third with the interrupt status set, which the JDK's
     * metadata calls ignore and keep), then through both on a platform thread; all must answer
     * alike, and leave no descriptor open.
     */
    private void assertAnsweredAsTheJdk(Map<String, Path> names, Path same) throws Exception {
        Map<String, Call> jdk = jdkCalls(same);
        List<String> platform = answers(names, jdk, Function.identity());
        List<String> differences = new ArrayList<>();
        Map<Integer, String> descriptors = null;
        for (int round = 0; round < 3; round++) {
            if (round == 1) {
                descriptors = Descriptors.open(); // the engine and the offload started in round 0
            }
            boolean interrupted = round == 2;
            List<String> viaProvider = TestSupport.onVirtualThread(
                    () -> keepsInterrupt(interrupted, () -> answers(names, jdk, p -> aura.getPath(p.toString()))));
            List<String> viaAuraFiles = TestSupport.onVirtualThread(
                    () -> keepsInterrupt(interrupted, () -> answers(names, auraFilesCalls(same), Function.identity())));
            diff("provider", platform, viaProvider, differences);
            diff("AuraFiles", answers(names, onlyKeys(jdk, auraFilesCalls(same)), Function.identity()),
                    viaAuraFiles, differences);
        }
        // And on this platform thread, where nothing is answered from the cache.
        diff("provider on a platform thread", platform, answers(names, jdk, p -> aura.getPath(p.toString())), differences);
        diff("AuraFiles on a platform thread", answers(names, onlyKeys(jdk, auraFilesCalls(same)), Function.identity()),
                answers(names, auraFilesCalls(same), Function.identity()), differences);
        assertThat(differences).as("answers unlike the JDK's").isEmpty();
        Descriptors.assertNoneNew(descriptors, CachedMetadataReviewTest::notARing, "the lookups");
    }

    /** {@return what {@code task} returns, run with the interrupt status set if {@code interrupted}, which it must keep} */
    private static <T> T keepsInterrupt(boolean interrupted, Callable<T> task) throws Exception {
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        T answer = task.call();
        assertThat(Thread.interrupted()).as("the interrupt status kept").isEqualTo(interrupted);
        return answer;
    }

    private static Map<String, Call> onlyKeys(Map<String, Call> from, Map<String, Call> keys) {
        Map<String, Call> out = new LinkedHashMap<>();
        for (String k : keys.keySet()) {
            out.put(k, from.get(k));
        }
        return out;
    }

    private static void diff(String who, List<String> expected, List<String> actual, List<String> differences) {
        for (int i = 0; i < expected.size(); i++) {
            if (!expected.get(i).equals(actual.get(i))) {
                differences.add(who + ": " + actual.get(i) + "\n      JDK: " + expected.get(i));
            }
        }
    }

    private static List<String> answers(Map<String, Path> names, Map<String, Call> calls, Function<Path, Path> in) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Path> n : names.entrySet()) {
            for (Map.Entry<String, Call> c : calls.entrySet()) {
                out.add(n.getKey() + " " + c.getKey() + ": " + outcome(c.getValue(), in.apply(n.getValue())));
            }
        }
        return out;
    }

    /**
     * {@return whether {@code target} may be a lookup's {@code O_PATH} descriptor, for the checks
     * that none is left} Not the rings and eventfds an engine makes as it is used from more CPUs.
     */
    private static boolean notARing(String target) {
        return !target.startsWith("anon_inode:");
    }

    /**
     * A process out of descriptors cannot make the cached lookup's {@code O_PATH} descriptor
     * (EMFILE), where the JDK's {@code access}/{@code stat} need none: that is no answer about the
     * path. {@code exists} took every failure of the lookup but EAGAIN for "no": a file that
     * exists was reported missing while descriptors ran short.
     */
    @Test
    void runningOutOfDescriptorsIsNoAnswerAboutThePath() throws Exception {
        assumeTrue(AuraIO.isAvailable(), "io_uring is not usable here: " + AuraIO.unavailabilityCause().orElse(""));
        // "cold": the access check's first use comes out of descriptors, with one to spare,
        // which the lookup takes
        for (String mode : List.of("warm", "cold")) {
            Path in = Files.createDirectories(dir.path().toAbsolutePath().resolve(mode));
            ForkedJvm.Result r = ForkedJvm.of(ExhaustionProbe.class).args(in.toString(), mode).run();
            assertThat(r.exitCode()).as("%s", r).isZero();
            Map<String, String> out = r.values();
            assertThat(out.get("hoarded")).as("%s", r).isNotNull();
            for (String call : List.of("exists", "existsNoFollow", "size", "checkAccess", "isSameFile", "createDirectory")) {
                assertThat(out.get("aura." + call)).as("%s while out of descriptors: %s", call, r)
                        .isNotNull().isEqualTo(out.get("jdk." + call));
            }
            assertThat(out.get("aura.exists")).isEqualTo("returned true");
            assertThat(out.get("later.checkAccess")).as("%s", r).isEqualTo("returned ok");
            assertThat(out.get("later.onPool")).as("answered on the caller later: %s", r).isEqualTo("0");
        }
    }

    /**
     * An overlay whose layer is a FUSE mount is an overlay in the mount table, a local page-cache
     * file system by its type; but its permission checks are the layer's: {@code faccessat2} of
     * the overlay's root, whose real inode is the FUSE mount's root (no upper layer), sends
     * {@code FUSE_ACCESS} to the daemon and waits for it. With the daemon stopped, checkAccess
     * answered on the callers' carriers held every one of them: no other virtual thread ran. An
     * overlay of that overlay is asked too (its layer's layer is the FUSE mount).
     */
    @Test
    void accessChecksOnAnOverlayOfAHungFuseMountHoldNoCarrier() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("cached-ovl")) {
            Path other = Files.createDirectories(dir.path().toAbsolutePath().resolve("lower2"));
            Path merged = Files.createDirectories(dir.path().toAbsolutePath().resolve("merged"));
            Commands.Ran mount = Commands.run("mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=" + fs.path() + ":" + other, merged.toString());
            assumeTrue(mount.succeeded(), "cannot mount an overlay of a FUSE mount here: " + mount);
            // An overlay of that overlay: its layer is no FUSE mount, the layer beneath is.
            Path other2 = Files.createDirectories(dir.path().toAbsolutePath().resolve("lower3"));
            Path nested = Files.createDirectories(dir.path().toAbsolutePath().resolve("nested"));
            Commands.Ran mount2 = Commands.run("mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=" + merged + ":" + other2, nested.toString());
            boolean nestedMounted = mount2.succeeded();
            long daemon = -1;
            List<Thread> callers = new ArrayList<>();
            try {
                assertThat(nestedMounted).as("an overlay of the overlay mounted: %s", mount2).isTrue();
                assertThat(TestSupport.onVirtualThread(() -> {
                    AuraFiles.checkAccess(merged, AccessMode.READ); // its mount is in the table now
                    AuraFiles.checkAccess(nested, AccessMode.READ);
                    return AuraFiles.exists(merged) && AuraFiles.exists(nested);
                })).isTrue();
                daemon = ProcessHandle.current().descendants()
                        .filter(h -> h.info().commandLine().orElse("").contains(fs.path().toString()))
                        .mapToLong(ProcessHandle::pid).findFirst().orElseThrow();
                for (Path target : List.of(merged, nested)) { // every carrier's caller on one overlay at a time
                    signal("STOP", daemon);
                    assertCallsHoldNoCarrier(accessCheckOf(target), "checkAccess on " + target, callers, 200);
                    signal("CONT", daemon);
                    TestSupport.joinAll(callers);
                    callers.clear();
                }
            } finally {
                if (daemon > 0) {
                    signal("CONT", daemon);
                }
                TestSupport.joinAll(callers);
                if (nestedMounted) {
                    new ProcessBuilder("umount", "-l", nested.toString()).inheritIO().start().waitFor();
                }
                new ProcessBuilder("umount", "-l", merged.toString()).inheritIO().start().waitFor();
            }
        }
    }

    /**
     * Starts one more caller than there are carriers (into {@code callers}), each making
     * {@code call} from a virtual thread on a mount whose daemon is stopped; after
     * {@code settleMillis}, another virtual thread must still run and no call may have ended.
     */
    private static void assertCallsHoldNoCarrier(Runnable call, String what, List<Thread> callers, long settleMillis)
            throws InterruptedException {
        int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
                Runtime.getRuntime().availableProcessors());
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        for (int i = 0; i < carriers + 1; i++) {
            callers.add(Thread.ofVirtual().start(() -> {
                try {
                    call.run();
                } finally {
                    done.incrementAndGet();
                }
            }));
        }
        Thread.sleep(settleMillis); // the callers are in their calls (on the offload's threads, or on their carriers)
        java.util.concurrent.CountDownLatch ran = new java.util.concurrent.CountDownLatch(1);
        Thread.ofVirtual().start(ran::countDown);
        assertThat(ran.await(TestSupport.HANG.toSeconds(), java.util.concurrent.TimeUnit.SECONDS))
                .as("a virtual thread ran while %d callers of %s waited", carriers + 1, what).isTrue();
        assertThat(done.get()).as("callers of %s done before the daemon went on", what).isZero();
    }

    /** {@return a call of {@code AuraFiles.checkAccess(target, READ)}, for {@link #assertCallsHoldNoCarrier}} */
    private static Runnable accessCheckOf(Path target) {
        return () -> {
            try {
                AuraFiles.checkAccess(target, AccessMode.READ);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    /**
     * One name, swapped by a platform thread among a 100-byte file, a 200-byte file, a directory, a
     * link to the small file, and a FIFO (each renamed in and out again, so the name is missing in
     * between), while virtual threads ask for it. Each answer must be one the name had at some
     * moment: a type and size of one of the five (never a mix), "missing" as the JDK says it, no
     * other failure; and no descriptor left open.
     */
    @Test
    void aNameSwappedWhileAskedIsAnsweredAsOneOfItsStates() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path name = base.resolve("name");
        Path held = Files.createDirectories(base.resolve("held"));
        List<Path> states = List.of(Files.write(held.resolve("small"), new byte[100]),
                Files.write(held.resolve("large"), new byte[200]), Files.createDirectories(held.resolve("dir")),
                Files.createSymbolicLink(held.resolve("link"), base.resolve("held/small")),
                Fifo.create(held.resolve("fifo")));
        java.util.Set<String> allowed = new java.util.HashSet<>();
        for (Path state : states) {
            BasicFileAttributes a = Files.readAttributes(state, BasicFileAttributes.class);
            allowed.add("attributes " + a.size() + " " + a.isRegularFile() + a.isDirectory() + a.isOther());
            allowed.add("size " + a.size());
        }
        allowed.addAll(List.of("exists true", "exists false", "access ok", "noFollow true", "noFollow false"));
        allowed.add("attributes " + missingText(name));
        allowed.add("size " + missingText(name));
        allowed.add("access " + missingText(name));
        TestSupport.onVirtualThread(() -> AuraFiles.exists(name)); // the engine and the offload started
        Map<Integer, String> descriptors = Descriptors.open();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ConcurrentHashMap<String, Boolean> seen = new java.util.concurrent.ConcurrentHashMap<>();
        Thread swapper = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; !stop.get(); i++) {
                    Path state = states.get(i % states.size());
                    Files.move(state, name, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    Files.move(name, state, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        List<Thread> askers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            askers.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 3_000; i++) {
                    seen.put("exists " + AuraFiles.exists(name), true);
                    seen.put("noFollow " + AuraFiles.exists(name, NOFOLLOW), true);
                    seen.put("attributes " + answer(() -> {
                        BasicFileAttributes a = AuraFiles.readAttributes(name, BasicFileAttributes.class);
                        return a.size() + " " + a.isRegularFile() + a.isDirectory() + a.isOther();
                    }), true);
                    seen.put("size " + answer(() -> AuraFiles.size(name)), true);
                    seen.put("access " + answer(() -> {
                        AuraFiles.checkAccess(name);
                        return "ok";
                    }), true);
                }
            }));
        }
        try {
            TestSupport.joinAll(askers);
        } finally {
            stop.set(true);
            TestSupport.joinAll(List.of(swapper));
        }
        assertThat(seen.keySet()).as("answers").isSubsetOf(allowed).contains("exists true", "size 100");
        Descriptors.assertNoneNew(descriptors, CachedMetadataReviewTest::notARing, "the lookups");
    }

    private static String missingText(Path p) {
        return "threw " + java.nio.file.NoSuchFileException.class.getName() + ": " + p;
    }

    private static String answer(Callable<?> call) {
        try {
            return String.valueOf(call.call());
        } catch (Exception e) {
            return "threw " + e.getClass().getName() + ": " + e.getMessage();
        }
    }

    /** An overlay of local layers is still answered on the caller: the check above is per layer. */
    @Test
    void anOverlayOfLocalLayersIsAnsweredOnTheCaller() throws Exception {
        try (io.auraio.testing.Overlay overlay = io.auraio.testing.Overlay.layers(dir.path().toAbsolutePath())) {
            Files.write(overlay.lower().resolve("f"), new byte[17]);
            overlay.mount();
            Path file = overlay.merged().resolve("f");
            Files.readAttributes(file, BasicFileAttributes.class); // cached
            long poolCalls = io.auraio.internal.offload.BlockingOffload.shared().callsOnPool();
            long size = TestSupport.onVirtualThread(() -> {
                AuraFiles.checkAccess(file, AccessMode.READ);
                return AuraFiles.size(file);
            });
            assertThat(size).isEqualTo(17);
            assertThat(io.auraio.internal.offload.BlockingOffload.shared().callsOnPool() - poolCalls)
                    .as("calls made on the offload's pool").isZero();
        }
    }

    /**
     * Mount IDs of mountinfo are reused (the lowest free one): a FUSE mount made just after a
     * tmpfs was unmounted gets the tmpfs's ID, and a mount table read within the second before
     * said tmpfs for that ID. checkAccess of the FUSE mount's root (found in the cache: a mount's
     * root needs no revalidation) was then answered on the caller, whose {@code faccessat2} waits
     * for the daemon: with it stopped, every carrier was held. Mounts are now known by their
     * unique IDs (Linux 6.8+), which no later mount gets, and an ID the table does not know is not
     * answered on the caller.
     */
    @Test
    void aFuseMountWithAReusedMountIdHoldsNoCarrier() throws Exception {
        assumeTrue(io.auraio.internal.binding.MountIds.unique(), "mounts are known by mountinfo's reused IDs here"
                + " (Linux before 6.8, listmount refused, or -Dauraio.uniqueMountIds=false): the hole stays open");
        FixtureAvailability.assumeFaultFs();
        Path point = Files.createDirectories(dir.path().toAbsolutePath().resolve("tmpfs"));
        mount(List.of("mount", "-t", "tmpfs", "tmpfs", point.toString()));
        long tmpfsId = mountIdOf(point);
        // Older than MountTable.MAX_AGE_NANOS (1 s), the table is read again at the next look: the
        // check below reads it, whatever the tests before left (an older table may know the ID).
        Thread.sleep(1_100);
        long tableRead = System.nanoTime();
        TestSupport.onVirtualThread(() -> { // answered on the caller: the table is read now, with the tmpfs
            AuraFiles.checkAccess(point, AccessMode.READ);
            return null;
        });
        Commands.Ran unmount = Commands.run("umount", point.toString());
        assertThat(unmount.succeeded()).as("%s", unmount).isTrue();
        try (FaultFs fs = FixtureAvailability.mountFaultFs("cached-reuse")) {
            long fuseId = mountIdOf(fs.path());
            long daemon = ProcessHandle.current().descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains(fs.path().toString()))
                    .mapToLong(ProcessHandle::pid).findFirst().orElseThrow();
            List<Thread> callers = new ArrayList<>();
            signal("STOP", daemon);
            try {
                long elapsed = System.nanoTime() - tableRead;
                assumeTrue(fuseId == tmpfsId,
                        "the FUSE mount got another mount ID than the tmpfs had (another mount between)");
                assumeTrue(elapsed < 800_000_000L, "mounting took " + elapsed / 1_000_000
                        + " ms: the table is read again by now, and the reused ID not tried");
                assertCallsHoldNoCarrier(accessCheckOf(fs.path()), "checkAccess on the hung mount", callers, 100);
            } finally {
                signal("CONT", daemon);
                TestSupport.joinAll(callers);
            }
        }
    }

    /**
     * A link on a local file system to a FUSE mount's root is followed by the cached walk (a
     * mount's root needs no revalidation), past the check of the path's name: the answer must
     * still come from the offload, where the daemon is waited for, and with the daemon stopped no
     * stat-like call of the link (exists, attributes, size, access, same file) holds a carrier.
     */
    @Test
    void aLinkToAStoppedFuseMountHoldsNoCarrier() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("cached-link")) {
            Path link = Files.createSymbolicLink(dir.path().toAbsolutePath().resolve("tofuse"), fs.path());
            Files.getFileAttributeView(link, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.from(Instant.now().minusSeconds(3600)), FileTime.from(Instant.now()), null);
            Path local = Files.write(dir.path().toAbsolutePath().resolve("local"), new byte[1]);
            List<Call> calls = List.of(p -> AuraFiles.exists(p), p -> AuraFiles.readAttributes(p, BasicFileAttributes.class),
                    p -> AuraFiles.size(p), p -> {
                        AuraFiles.checkAccess(p, AccessMode.READ);
                        return null;
                    }, p -> AuraFiles.isSameFile(local, p), p -> Files.isReadable(aura.getPath(p.toString())),
                    p -> Files.exists(aura.getPath(p.toString())));
            TestSupport.onVirtualThread(() -> { // every name cached, the mount in the table
                for (Call c : calls) {
                    c.apply(link);
                }
                return null;
            });
            long daemon = ProcessHandle.current().descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains(fs.path().toString()))
                    .mapToLong(ProcessHandle::pid).findFirst().orElseThrow();
            for (Call c : calls) {
                List<Thread> callers = new ArrayList<>();
                signal("STOP", daemon);
                try {
                    assertCallsHoldNoCarrier(() -> outcome(c, link), "call " + calls.indexOf(c) + " on the hung mount",
                            callers, 100);
                } finally {
                    signal("CONT", daemon);
                    TestSupport.joinAll(callers);
                }
            }
        }
    }

    /**
     * Following a link whose access time is due (relatime: not after its change, as a link made a
     * moment ago) updates that time; the cached walk refuses such a link and the answer is made
     * elsewhere, where the JDK's update happens as well. Each call, given its own such link,
     * leaves its access time as the JDK's call leaves the JDK's link.
     */
    @Test
    void accessTimesOfFollowedLinksAreUpdatedAsTheJdkUpdatesThem() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Files.write(base.resolve("f"), new byte[5]);
        Map<String, Call> calls = new LinkedHashMap<>();
        calls.put("exists", p -> AuraFiles.exists(p));
        calls.put("size", p -> AuraFiles.size(p));
        calls.put("attributes", p -> AuraFiles.readAttributes(p, BasicFileAttributes.class).size());
        calls.put("checkAccess", p -> {
            AuraFiles.checkAccess(p, AccessMode.READ);
            return "ok";
        });
        Map<String, Call> jdk = new LinkedHashMap<>();
        jdk.put("exists", p -> Files.exists(p));
        jdk.put("size", p -> Files.size(p));
        jdk.put("attributes", p -> Files.readAttributes(p, BasicFileAttributes.class).size());
        jdk.put("checkAccess", p -> {
            p.getFileSystem().provider().checkAccess(p, AccessMode.READ);
            return "ok";
        });
        List<String> ours = new ArrayList<>();
        List<String> theirs = new ArrayList<>();
        for (String call : calls.keySet()) {
            Path a = dueLink(base.resolve("aura-" + call));
            Path j = dueLink(base.resolve("jdk-" + call));
            FileTime aBefore = accessTime(a);
            FileTime jBefore = accessTime(j);
            ours.add(call + " " + TestSupport.onVirtualThread(() -> outcome(calls.get(call), a)) + " updated "
                    + !accessTime(a).equals(aBefore));
            theirs.add(call + " " + outcome(jdk.get(call), j) + " updated " + !accessTime(j).equals(jBefore));
        }
        assumeTrue(theirs.stream().allMatch(l -> l.endsWith("updated true")),
                "this file system does not update links' access times (noatime?): " + theirs);
        assertThat(ours).isEqualTo(theirs);
    }

    /** {@return a link at {@code link} to "f" whose access time is due: set before its change time} */
    private static Path dueLink(Path link) throws Exception {
        Files.createSymbolicLink(link, Path.of("f"));
        Files.getFileAttributeView(link, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .setTimes(FileTime.from(Instant.now().minusSeconds(7200)), FileTime.from(Instant.now().minusSeconds(7200)),
                        null);
        return link;
    }

    private static FileTime accessTime(Path link) throws Exception {
        return Files.readAttributes(link, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).lastAccessTime();
    }

    /** {@return the mount ID of the mount at {@code point}, from mountinfo} */
    private static long mountIdOf(Path point) throws Exception {
        long id = -1;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            if (fields[4].equals(point.toString())) {
                id = Long.parseLong(fields[0]); // the last one: mounted on top
            }
        }
        assertThat(id).as("%s in mountinfo", point).isPositive();
        return id;
    }

    /** Sends signal {@code name} to {@code pid}; after STOP, waits until every thread of it is stopped (it acts later). */
    private static void signal(String name, long pid) throws Exception {
        Commands.Ran kill = Commands.run("kill", "-" + name, Long.toString(pid));
        assertThat(kill.succeeded()).as("%s", kill).isTrue();
        if (name.equals("STOP")) {
            TestSupport.awaitCondition("the daemon stopped", () -> {
                try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
                    return tasks.allMatch(t -> {
                        try {
                            String stat = Files.readString(t.resolve("stat"));
                            return stat.charAt(stat.lastIndexOf(')') + 2) == 'T'; // state, after "(comm) "
                        } catch (java.io.IOException gone) {
                            return true; // a thread that ended
                        }
                    });
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    /** Main class of a {@link ForkedJvm}: the calls above, on a virtual thread, out of descriptors. */
    public static final class ExhaustionProbe {
        private ExhaustionProbe() {}

        /**
         * {@code args[0]}: a directory to make the file in; {@code args[1]} "cold": no access check
         * before descriptors run out, and one left to spare. Prints {@code key=value} lines.
         */
        public static void main(String[] args) throws Exception {
            io.auraio.testing.DescriptorExhaustionProbe.preloadLibraryClasses();
            Path file = Files.write(Path.of(args[0]).resolve("f"), new byte[9]);
            Path other = Files.createLink(Path.of(args[0]).resolve("g"), file);
            Map<String, Call> aura = new LinkedHashMap<>();
            aura.put("exists", p -> AuraFiles.exists(p));
            aura.put("existsNoFollow", p -> AuraFiles.exists(p, NOFOLLOW));
            aura.put("size", p -> AuraFiles.size(p));
            aura.put("checkAccess", p -> {
                AuraFiles.checkAccess(p, AccessMode.READ);
                return "ok";
            });
            aura.put("isSameFile", p -> AuraFiles.isSameFile(p, other));
            aura.put("createDirectory", p -> AuraFiles.createDirectory(p));
            Map<String, Call> jdk = new LinkedHashMap<>();
            jdk.put("exists", p -> Files.exists(p));
            jdk.put("existsNoFollow", p -> Files.exists(p, NOFOLLOW));
            jdk.put("size", p -> Files.size(p));
            jdk.put("checkAccess", p -> {
                p.getFileSystem().provider().checkAccess(p, AccessMode.READ);
                return "ok";
            });
            jdk.put("isSameFile", p -> Files.isSameFile(p, other));
            jdk.put("createDirectory", p -> Files.createDirectory(p));
            boolean cold = args.length > 1 && args[1].equals("cold");
            TestSupport.onVirtualThread(() -> { // the engine, the offload and the cache warmed up
                for (Map.Entry<String, Call> c : aura.entrySet()) {
                    if (!(cold && c.getKey().equals("checkAccess"))) { // cold: its first use is out of descriptors
                        outcome(c.getValue(), file);
                    }
                }
                return null;
            });
            List<Integer> hoard = new ArrayList<>();
            try {
                while (true) {
                    hoard.add(io.auraio.testing.Posix.open(Path.of("/dev/null"), io.auraio.testing.Posix.O_RDONLY));
                }
            } catch (java.io.IOException outOfDescriptors) {
                System.out.println("hoarded=" + hoard.size());
            }
            if (cold) { // one to spare: the lookup's own
                io.auraio.testing.Posix.close(hoard.removeLast());
            }
            List<String> lines = new ArrayList<>();
            TestSupport.onVirtualThread(() -> {
                for (Map.Entry<String, Call> c : aura.entrySet()) {
                    lines.add("aura." + c.getKey() + "=" + outcome(c.getValue(), file));
                }
                return null;
            });
            for (Map.Entry<String, Call> c : jdk.entrySet()) {
                lines.add("jdk." + c.getKey() + "=" + outcome(c.getValue(), file));
            }
            for (int fd : hoard) {
                io.auraio.testing.Posix.close(fd);
            }
            // With descriptors again, an access check is answered on the caller: nothing was decided for good.
            long poolCalls = io.auraio.internal.offload.BlockingOffload.shared().callsOnPool();
            lines.add("later.checkAccess=" + TestSupport.onVirtualThread(() -> outcome(aura.get("checkAccess"), file)));
            lines.add("later.onPool=" + (io.auraio.internal.offload.BlockingOffload.shared().callsOnPool() - poolCalls));
            lines.forEach(System.out::println);
        }
    }
}
