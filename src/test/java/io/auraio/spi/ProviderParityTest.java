package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFiles;
import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
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
 * What users reach through {@link AuraFileSystemProvider} and {@link AuraFiles} from virtual
 * threads, each call compared with the platform's answer to the same call, on an identical tree,
 * on a virtual thread too: result, exception type and message, and the tree left behind. The
 * first tests are cases that differed once (each fails without its fix); the rest, edge cases
 * checked at the same time.
 */
class ProviderParityTest {
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

    /** f (5 bytes), d/ with d/a.txt, e/ empty, link to f, dangling link, a link to itself. */
    private static void populate(Path base) throws IOException {
        Files.createDirectories(base);
        Files.write(base.resolve("f"), new byte[] {1, 2, 3, 4, 5});
        Files.createDirectories(base.resolve("d"));
        Files.write(base.resolve("d/a.txt"), new byte[] {9});
        Files.createDirectories(base.resolve("e"));
        Files.createSymbolicLink(base.resolve("link"), Path.of("f"));
        Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        Files.createSymbolicLink(base.resolve("loop"), Path.of("loop"));
    }

    /** The names under {@code base} (a platform path) with their kind and size, sorted. */
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
     * Runs {@code scenario} on a fresh tree {@code name} through the platform and through the
     * provider, each on a virtual thread: {@return "" if the outcomes (and the trees left) are
     * alike, else both}
     */
    private String differs(String name, Scenario scenario) throws Exception {
        Path jdk = dir.path().toAbsolutePath().resolve("jdk").resolve(name);
        Path aura = dir.path().toAbsolutePath().resolve("aura").resolve(name);
        populate(jdk);
        populate(aura);
        String a = TestSupport.outcomeOnVirtualThread(() -> scenario.run(jdk), jdk) + " " + tree(jdk);
        Path auraBase = fs.getPath(aura.toString());
        String b = TestSupport.outcomeOnVirtualThread(() -> scenario.run(auraBase), aura) + " " + tree(aura);
        return a.equals(b) ? "" : name + "\n   platform: " + a + "\n   provider: " + b;
    }

    private static String open(Path p, Set<OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        boolean directory = Files.isDirectory(p); // reading one: readingADirectoryFailsWithThePlatformsMessage
        try (SeekableByteChannel ch = Files.newByteChannel(p, options, attrs)) {
            String out = "size " + (directory ? "-" : ch.size());
            if (!directory) {
                try {
                    out += " read " + ch.read(ByteBuffer.allocate(2));
                } catch (Exception e) {
                    out += " read " + e.getClass().getSimpleName() + ": " + e.getMessage();
                }
            }
            try {
                out += " wrote " + ch.write(ByteBuffer.wrap(new byte[] {7}));
            } catch (Exception e) {
                out += " write " + e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            return out;
        }
    }

    private static Set<OpenOption> opts(OpenOption... o) {
        return new HashSet<>(Arrays.asList(o));
    }

    private static String outcome(Callable<?> task, Path base) throws InterruptedException {
        return TestSupport.outcomeOnVirtualThread(task, base);
    }

    private static Object mode(Path p) throws IOException {
        return Integer.toOctalString((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS));
    }

    // ---- cases that differed once ----------------------------------------------------------------

    /**
     * An open with NOFOLLOW_LINKS (or DELETE_ON_CLOSE, which implies it) of a symbolic link fails
     * with a plain {@code IOException("Too many levels of symbolic links (NOFOLLOW_LINKS
     * specified)")}, as the JDK's UnixChannelFactory says it (it was the usual ELOOP
     * {@code FileSystemException}).
     */
    @Test
    void openingALinkWithNoFollowFailsAsThePlatform() throws Exception {
        for (Set<OpenOption> o : List.of(opts(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS),
                opts(StandardOpenOption.WRITE, StandardOpenOption.CREATE, LinkOption.NOFOLLOW_LINKS),
                opts(StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE))) {
            assertThat(differs("nofollow" + o.hashCode(), b -> open(b.resolve("link"), o))).as("%s", o).isEmpty();
        }
    }

    /**
     * DELETE_ON_CLOSE is a best-effort {@code unlink}, whose failure is ignored: a directory
     * opened so stays, and the open succeeds (a {@code Files.deleteIfExists} removed an empty
     * directory, failed the open of a non-empty one and of ".").
     */
    @Test
    void deleteOnCloseOfADirectoryIsBestEffortAsThePlatforms() throws Exception {
        for (String name : List.of("e", "d", ".")) {
            assertThat(differs("doc-" + name.replace('.', 'x'), b -> open(b.resolve(name),
                    opts(StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE)))).as(name).isEmpty();
        }
    }

    /**
     * Reading a directory fails with the platform's message, {@code "Is a directory"} (it was
     * {@code "read: Is a directory"}), through the provider (a channel's read, Files.readString)
     * and through AuraFiles.readAllBytes; the exception is an {@link io.auraio.AuraIOException},
     * an {@code IOException} that also carries the errno.
     */
    @Test
    void readingADirectoryFailsWithThePlatformsMessage() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path d = Files.createDirectories(base.resolve("dd"));
        Path ours = fs.getPath(d.toString());
        List<Object> failures = new ArrayList<>();
        for (Callable<Object> read : List.<Callable<Object>>of(() -> Files.readString(d), () -> Files.readString(ours),
                () -> AuraFiles.readAllBytes(d))) {
            failures.add(TestSupport.onVirtualThread(() -> {
                try {
                    return "read " + read.call();
                } catch (IOException e) {
                    return "IOException: " + e.getMessage();
                }
            }));
        }
        assertThat(failures).containsOnly("IOException: Is a directory");
    }

    /**
     * AuraFiles.copy creates the target with the source's whole mode (setuid, setgid, sticky
     * included; less the umask), and with COPY_ATTRIBUTES sets the whole mode, as the JDK's copy
     * (it set the nine permission bits only).
     */
    @Test
    void auraFilesCopyKeepsSetuidSetgidAndStickyBitsAsFilesCopy() throws Exception {
        Path base = dir.path().toAbsolutePath();
        List<String> jdk = new ArrayList<>();
        List<String> aura = new ArrayList<>();
        int n = 0;
        for (int m : new int[] {04755, 02750, 01644}) {
            for (boolean attrs : new boolean[] {false, true}) {
                Path src = Files.write(base.resolve("s" + n), new byte[] {1, 2});
                Files.setAttribute(src, "unix:mode", m);
                StandardCopyOption[] o = attrs ? new StandardCopyOption[] {StandardCopyOption.COPY_ATTRIBUTES}
                        : new StandardCopyOption[0];
                Path j = base.resolve("j" + n);
                Path a = base.resolve("a" + n);
                jdk.add(outcome(() -> mode(Files.copy(src, j, o)), base));
                aura.add(outcome(() -> mode(AuraFiles.copy(src, a, o)), base));
                n++;
            }
        }
        assertThat(aura).isEqualTo(jdk);
    }

    /**
     * With COPY_ATTRIBUTES, AuraFiles.copy copies the user-defined extended attributes, as the
     * JDK's copy on Linux does (it copied none).
     */
    @Test
    void auraFilesCopyWithCopyAttributesCopiesExtendedAttributesAsFilesCopy() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path src = Files.write(base.resolve("src"), new byte[] {1});
        UserDefinedFileAttributeView view = Files.getFileAttributeView(src, UserDefinedFileAttributeView.class);
        try {
            view.write("k", ByteBuffer.wrap(new byte[] {42}));
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("no user xattrs here: " + e);
        }
        String jdk = outcome(() -> Files.getFileAttributeView(Files.copy(src, base.resolve("j"),
                StandardCopyOption.COPY_ATTRIBUTES), UserDefinedFileAttributeView.class).list(), base);
        String aura = outcome(() -> Files.getFileAttributeView(AuraFiles.copy(src, base.resolve("a"),
                StandardCopyOption.COPY_ATTRIBUTES), UserDefinedFileAttributeView.class).list(), base);
        assertThat(jdk).isEqualTo("returned [k]");
        assertThat(aura).isEqualTo(jdk);
    }

    /**
     * AuraFiles.readString of malformed input throws the JDK's exception, input length included
     * (a CharsetDecoder's says 2 where String's decoder says 1 for a sequence cut short at the
     * end, 1 where it says 4 for an out-of-range one).
     */
    @Test
    void auraFilesReadStringReportsMalformedInputAsFilesReadString() throws Exception {
        Path base = dir.path().toAbsolutePath();
        List<String> jdk = new ArrayList<>();
        List<String> aura = new ArrayList<>();
        int n = 0;
        for (byte[] bytes : List.of(new byte[] {'a', (byte) 0xE2, (byte) 0x82}, new byte[] {(byte) 0xC3, 0x28},
                new byte[] {(byte) 0xFF, 'b'}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80})) {
            Path f = Files.write(base.resolve("m" + n++), bytes);
            jdk.add(outcome(() -> Files.readString(f), base));
            aura.add(outcome(() -> AuraFiles.readString(f), base));
        }
        assertThat(aura).isEqualTo(jdk);
    }

    /**
     * AuraFiles.writeString of a lone surrogate throws the JDK's exception: unmappable in UTF-8
     * and ISO-8859-1 (String's coder), with no cause; malformed in US-ASCII.
     */
    @Test
    void auraFilesWriteStringReportsALoneSurrogateAsFilesWriteString() throws Exception {
        Path base = dir.path().toAbsolutePath();
        List<String> jdk = new ArrayList<>();
        List<String> aura = new ArrayList<>();
        for (java.nio.charset.Charset cs : List.of(StandardCharsets.UTF_8, StandardCharsets.US_ASCII,
                StandardCharsets.ISO_8859_1)) {
            jdk.add(outcome(() -> Files.writeString(base.resolve("w"), "a\uD800b", cs), base));
            aura.add(outcome(() -> AuraFiles.writeString(base.resolve("w"), "a\uD800b", cs), base));
        }
        assertThat(aura).isEqualTo(jdk);
    }

    /**
     * Opening a file with the immutable attribute for writing fails with EPERM, a
     * {@code FileSystemException("<path>: Operation not permitted")} as the JDK says it (only
     * EACCES is an AccessDeniedException; EPERM was one too).
     */
    @Test
    void openingAnImmutableFileForWritingFailsAsThePlatform() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path f = Files.write(base.resolve("immutable"), new byte[] {1});
        Commands.Ran immutable = Commands.run("chattr", "+i", f.toString());
        org.junit.jupiter.api.Assumptions.assumeTrue(immutable.succeeded(),
                "chattr +i not supported here: " + immutable);
        try {
            Path ours = fs.getPath(f.toString());
            String jdk = outcome(() -> open(f, opts(StandardOpenOption.WRITE)), base);
            String aura = outcome(() -> open(ours, opts(StandardOpenOption.WRITE)), base);
            assertThat(jdk).isEqualTo("threw java.nio.file.FileSystemException: <base>/immutable: Operation not permitted");
            assertThat(aura).isEqualTo(jdk);
        } finally {
            Commands.run("chattr", "-i", f.toString());
        }
    }

    /**
     * The provider used without being installed as the default: the JDK's TempFileHelper gives
     * temporary files 0600 and directories 0700 only where
     * {@code dir.getFileSystem() == FileSystems.getDefault()}; this provider's file system is not
     * that one unless installed, so Files.createTempFile/createTempDirectory through it made
     * world-readable 0644/0755 entries (with no FileAttribute given). The provider now asks for
     * the private permissions when the JDK's helper creates the file or directory.
     */
    @Test
    void tempFilesThroughTheProvidersFileSystemArePrivateAsThePlatforms() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path ours = fs.getPath(base.toString());
        assertThat(fs).isNotSameAs(java.nio.file.FileSystems.getDefault());
        List<Object> modes = new ArrayList<>();
        for (Path b : List.of(base, ours)) {
            modes.add(TestSupport.onVirtualThread(() -> List.of(mode(Files.createTempFile(b, "p", ".s")),
                    mode(Files.createTempDirectory(b, "p")), mode(Files.createFile(b.resolve("plain-" + modes.size()))))));
        }
        assertThat(modes.get(1)).isEqualTo(modes.get(0));
        assertThat(modes.get(0).toString()).contains("100600", "40700");
    }

    /**
     * A null among the open options fails through the provider as through the platform's: a
     * {@code NullPointerException} without a message (it said "null option"), and where an output
     * stream's options hold {@code READ} after the null, the platform's
     * {@code IllegalArgumentException("READ not allowed")} (the provider threw the null's first).
     * Nothing is written.
     */
    @Test
    void aNullOpenOptionFailsAsThePlatforms() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path f = Files.write(base.resolve("f"), new byte[] {1, 2, 3});
        Path ours = fs.getPath(f.toString());
        StandardOpenOption R = StandardOpenOption.READ, W = StandardOpenOption.WRITE;
        List<java.util.function.Function<Path, Callable<?>>> calls = List.of(
                p -> () -> closed(Files.newByteChannel(p, null, R)),
                p -> () -> closed(Files.newByteChannel(p, R, null)),
                p -> () -> closed(Files.newByteChannel(p, new java.util.LinkedHashSet<>(Arrays.asList(null, R)))),
                p -> () -> closed(Files.newByteChannel(p, new java.util.LinkedHashSet<>(Arrays.asList(R, null)))),
                p -> () -> closed(java.nio.channels.FileChannel.open(p, null, R)),
                p -> () -> closed(Files.newInputStream(p, null, R)),
                p -> () -> closed(Files.newOutputStream(p, null, R)),
                p -> () -> closed(Files.newOutputStream(p, (OpenOption) null)),
                p -> () -> closed(Files.newOutputStream(p, W, null)),
                p -> () -> closed(Files.newBufferedWriter(p, (OpenOption) null, R)),
                p -> () -> Files.write(p, new byte[] {4}, null, R),
                p -> () -> Files.write(p, new byte[] {4}, (OpenOption) null),
                p -> () -> Files.writeString(p, "x", (OpenOption) null, R),
                p -> () -> Files.write(p, List.of("x"), (OpenOption) null, StandardOpenOption.APPEND));
        for (int i = 0; i < calls.size(); i++) {
            String platform = outcome(calls.get(i).apply(f), base);
            assertThat(outcome(calls.get(i).apply(ours), base)).as("call %d", i).isEqualTo(platform);
            assertThat(Files.readAllBytes(f)).as("call %d", i).containsExactly(1, 2, 3);
        }
    }

    private static String closed(java.io.Closeable c) throws IOException {
        c.close();
        return "opened";
    }

    /**
     * {@code /proc/thread-self} read and written through the provider is the calling thread's, as
     * through the platform's (the ring's io-wq worker's, or an offload thread's for a write).
     * On a new platform thread, whose task entries no lookup has cached, the provider first.
     */
    @Test
    void procThreadSelfIsTheCallingThreadAsThroughThePlatform() throws Exception {
        Path status = Path.of("/proc/thread-self/status");
        Path comm = Path.of("/proc/thread-self/comm");
        Path ourStatus = fs.getPath(status.toString());
        Path ourComm = fs.getPath(comm.toString());
        List<String> read = onNewPlatformThread(() -> List.of(nameAndPid(Files.readAllBytes(ourStatus)),
                nameAndPid(Files.readAllBytes(status))));
        assertThat(read.get(0)).startsWith("[Name:\tprovider-").isEqualTo(read.get(1));
        List<String> lines = onNewPlatformThread(() -> List.of(Files.readString(ourComm), Files.readString(comm)));
        assertThat(lines.get(0)).isEqualTo(lines.get(1));
        String renamed = onNewPlatformThread(() -> {
            Files.writeString(ourComm, "aura-renamed");
            return Files.readString(comm);
        });
        assertThat(renamed).isEqualTo("aura-renamed\n");
    }

    /** The {@code Name:} and {@code Pid:} (the thread's ID) lines of a task's {@code status}. */
    private static String nameAndPid(byte[] status) {
        return new String(status, StandardCharsets.UTF_8).lines()
                .filter(l -> l.startsWith("Name:") || l.startsWith("Pid:")).toList().toString();
    }

    private static <T> T onNewPlatformThread(Callable<T> task) throws Exception {
        java.util.concurrent.CompletableFuture<T> result = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().name("provider-" + System.nanoTime()).start(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result.get(20, java.util.concurrent.TimeUnit.SECONDS);
    }

    // ---- edge cases checked: the platform's answers -------------------------------------------

    /**
     * Every combination of open options on files, missing names, directories, links, "." and
     * "d/..", through the provider and the platform: same outcome (bytes read and written,
     * exception type and message), same tree left.
     */
    @Test
    void openOptionCombinationsAreThePlatforms() throws Exception {
        List<String> targets = List.of("f", "missing", "d", "e", "link", "dangling", "loop", ".", "d/..", "f/x");
        StandardOpenOption R = StandardOpenOption.READ, W = StandardOpenOption.WRITE, A = StandardOpenOption.APPEND,
                T = StandardOpenOption.TRUNCATE_EXISTING, C = StandardOpenOption.CREATE,
                CN = StandardOpenOption.CREATE_NEW, D = StandardOpenOption.DELETE_ON_CLOSE;
        LinkOption NF = LinkOption.NOFOLLOW_LINKS;
        List<Set<OpenOption>> sets = List.of(opts(), opts(R), opts(W), opts(R, W), opts(A), opts(R, A), opts(A, T),
                opts(T), opts(C), opts(C, W), opts(CN, W), opts(CN, R), opts(CN, W, NF), opts(W, T), opts(R, NF),
                opts(W, NF, C), opts(R, D), opts(W, C, D), opts(CN, W, D), opts(W, StandardOpenOption.DSYNC),
                opts(R, W, StandardOpenOption.SYNC), opts(R, StandardOpenOption.SPARSE), opts(A, C, NF));
        List<String> diffs = new ArrayList<>();
        int i = 0;
        for (String t : targets) {
            for (Set<OpenOption> s : sets) {
                boolean link = List.of("link", "dangling", "loop").contains(t);
                boolean directory = List.of("d", "e", ".", "d/..").contains(t);
                if ((link && !s.contains(CN) && (s.contains(NF) || s.contains(D))) || (directory && s.contains(D))) {
                    continue; // openingALinkWithNoFollow..., deleteOnCloseOfADirectory...
                }
                String d = differs("c" + i++, b -> open(b.resolve(t), s));
                if (!d.isEmpty()) {
                    diffs.add(t + " " + s + ": " + d);
                }
            }
        }
        assertThat(diffs).isEmpty();
    }

    @Test
    void auraFilesEdgeCasesAreFiles() throws Exception {
        List<String> diffs = new ArrayList<>();
        int[] i = {0};
        java.util.function.Consumer<BiScenario> check = sc -> {
            try {
                String d = differs2("a" + i[0]++, sc);
                if (!d.isEmpty()) {
                    diffs.add(d);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        check.accept((b, a) -> copy(a, b.resolve("f/x"), b.resolve("g")));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("f/x")));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("f")));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("link")));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("link"), StandardCopyOption.REPLACE_EXISTING));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("d"), StandardCopyOption.REPLACE_EXISTING));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("e"), StandardCopyOption.REPLACE_EXISTING));
        check.accept((b, a) -> copy(a, b.resolve("link"), b.resolve("x"), LinkOption.NOFOLLOW_LINKS));
        check.accept((b, a) -> copy(a, b.resolve("d"), b.resolve("x")));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("nope/x")));
        check.accept((b, a) -> copy(a, b.resolve("dangling"), b.resolve("x")));
        check.accept((b, a) -> copy(a, b.resolve("loop"), b.resolve("x")));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("x"), StandardCopyOption.ATOMIC_MOVE));
        check.accept((b, a) -> copy(a, b.resolve("f"), b.resolve("dangling"), StandardCopyOption.REPLACE_EXISTING));
        check.accept((b, a) -> copy(a, Path.of("/proc/self/limits"), b.resolve("x")) + " "
                + (Files.size(b.resolve("x")) > 0));
        check.accept((b, a) -> a ? AuraFiles.readAllBytes(b.resolve("loop")) : Files.readAllBytes(b.resolve("loop")));
        check.accept((b, a) -> a ? AuraFiles.write(b.resolve("f"), new byte[1], StandardOpenOption.CREATE_NEW)
                : Files.write(b.resolve("f"), new byte[1], StandardOpenOption.CREATE_NEW));
        check.accept((b, a) -> a ? AuraFiles.write(b.resolve("f"), new byte[1], StandardOpenOption.APPEND)
                : Files.write(b.resolve("f"), new byte[1], StandardOpenOption.APPEND));
        check.accept((b, a) -> a ? AuraFiles.write(b.resolve("n"), new byte[1], StandardOpenOption.TRUNCATE_EXISTING)
                : Files.write(b.resolve("n"), new byte[1], StandardOpenOption.TRUNCATE_EXISTING));
        check.accept((b, a) -> a ? AuraFiles.write(b.resolve("d"), new byte[1]) : Files.write(b.resolve("d"), new byte[1]));
        check.accept((b, a) -> a ? AuraFiles.size(b.resolve("f/x")) : Files.size(b.resolve("f/x")));
        check.accept((b, a) -> a ? AuraFiles.size(b.resolve("loop")) : Files.size(b.resolve("loop")));
        check.accept((b, a) -> {
            try (Stream<Path> s = a ? AuraFiles.list(b.resolve("f")) : Files.list(b.resolve("f"))) {
                return s.count();
            }
        });
        check.accept((b, a) -> {
            Files.createSymbolicLink(b.resolve("d/up"), Path.of(".."));
            try (Stream<Path> s = a ? AuraFiles.walk(b, FileVisitOption.FOLLOW_LINKS)
                    : Files.walk(b, FileVisitOption.FOLLOW_LINKS)) {
                return s.count();
            }
        });
        check.accept((b, a) -> {
            try (Stream<Path> s = a ? AuraFiles.walk(b.resolve("nope")) : Files.walk(b.resolve("nope"))) {
                return s.count();
            }
        });
        check.accept((b, a) -> a ? AuraFiles.createDirectory(b.resolve("dangling")) : Files.createDirectory(b.resolve("dangling")));
        check.accept((b, a) -> a ? AuraFiles.createDirectory(b.resolve("f/x")) : Files.createDirectory(b.resolve("f/x")));
        check.accept((b, a) -> a ? AuraFiles.createDirectories(b.resolve("link/x")) : Files.createDirectories(b.resolve("link/x")));
        check.accept((b, a) -> a ? AuraFiles.exists(b.resolve("f/..")) + " " + AuraFiles.exists(b.resolve("loop"))
                + " " + AuraFiles.exists(b.resolve("loop"), LinkOption.NOFOLLOW_LINKS)
                : Files.exists(b.resolve("f/..")) + " " + Files.exists(b.resolve("loop"))
                + " " + Files.exists(b.resolve("loop"), LinkOption.NOFOLLOW_LINKS));
        check.accept((b, a) -> a ? AuraFiles.isSameFile(b.resolve("loop"), b.resolve("f"))
                : Files.isSameFile(b.resolve("loop"), b.resolve("f")));
        check.accept((b, a) -> {
            if (a) {
                AuraFiles.checkAccess(b.resolve("f/.."));
            } else {
                b.getFileSystem().provider().checkAccess(b.resolve("f/.."));
            }
            return "ok";
        });
        assertThat(diffs).isEmpty();
    }

    @FunctionalInterface
    interface BiScenario {
        Object run(Path base, boolean aura) throws Exception;
    }

    /** As {@link #differs(String, Scenario)}, platform paths on both sides; {@code aura}: which side runs. */
    private String differs2(String name, BiScenario scenario) throws Exception {
        Path jdk = dir.path().toAbsolutePath().resolve("jdk").resolve(name);
        Path aura = dir.path().toAbsolutePath().resolve("aura").resolve(name);
        populate(jdk);
        populate(aura);
        String a = TestSupport.outcomeOnVirtualThread(() -> scenario.run(jdk, false), jdk) + " " + tree(jdk);
        String b = TestSupport.outcomeOnVirtualThread(() -> scenario.run(aura, true), aura) + " " + tree(aura);
        return a.equals(b) ? "" : name + "\n   platform: " + a + "\n   aura: " + b;
    }

    private static Path copy(boolean aura, Path s, Path t, java.nio.file.CopyOption... o) throws IOException {
        return aura ? AuraFiles.copy(s, t, o) : Files.copy(s, t, o);
    }

    @Test
    void providerCallsOnEdgeCasesAreThePlatforms() throws Exception {
        List<String> diffs = new ArrayList<>();
        int[] i = {0};
        java.util.function.Consumer<Scenario> check = sc -> {
            try {
                String d = differs("p" + i[0]++, sc);
                if (!d.isEmpty()) {
                    diffs.add(d);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        FileAttribute<?> rwx = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        check.accept(b -> mode(Files.createFile(b.resolve("new"), rwx)));
        check.accept(b -> mode(Files.createFile(b.resolve("new"))));
        check.accept(b -> Files.createFile(b.resolve("f"), rwx));
        check.accept(b -> Files.createFile(b.resolve("n"), rwx, new FileAttribute<String>() {
            public String name() { return "dos:hidden"; }
            public String value() { return "x"; }
        }));
        check.accept(b -> Files.createFile(b.resolve(".")));
        check.accept(b -> Files.createFile(b.resolve("d/..")));
        check.accept(b -> Files.createFile(b.resolve("link")));
        check.accept(b -> Files.createFile(b.resolve("dangling")));
        check.accept(b -> {
            Path t = Files.createTempFile(b, "p", ".s", rwx);
            Object m = mode(t);
            Files.delete(t);
            return m;
        });
        check.accept(b -> Files.writeString(b.resolve("f"), "x", StandardOpenOption.READ));
        check.accept(b -> Files.newBufferedWriter(b.resolve("f"), StandardOpenOption.APPEND,
                StandardOpenOption.TRUNCATE_EXISTING));
        check.accept(b -> Files.newInputStream(b.resolve("f"), StandardOpenOption.WRITE));
        check.accept(b -> Files.newOutputStream(b.resolve("f"), StandardOpenOption.READ));
        check.accept(b -> {
            try (var in = Files.newInputStream(b.resolve("f"), StandardOpenOption.DELETE_ON_CLOSE)) {
                return in.readAllBytes().length;
            }
        });
        check.accept(b -> {
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < 200_000; k++) {
                sb.append("line ").append(k).append('\n');
            }
            Files.writeString(b.resolve("lines"), sb);
            try (Stream<String> s = Files.lines(b.resolve("lines")).parallel()) { // maps the file
                return s.mapToLong(String::length).sum();
            }
        });
        check.accept(b -> Files.readAllLines(b.resolve("f")));
        check.accept(b -> {
            try (Stream<Path> s = Files.walk(b, FileVisitOption.FOLLOW_LINKS)) {
                Files.createSymbolicLink(b.resolve("d/up"), Path.of(".."));
                return s.count();
            }
        });
        check.accept(b -> {
            Files.createSymbolicLink(b.resolve("d/up"), Path.of(".."));
            try (Stream<Path> s = Files.find(b, 10, (p, at) -> at.isDirectory(), FileVisitOption.FOLLOW_LINKS)) {
                return s.map(b::relativize).map(Path::toString).sorted().toList();
            }
        });
        check.accept(b -> {
            var s = Files.newDirectoryStream(b);
            s.close();
            return s.iterator().hasNext();
        });
        check.accept(b -> {
            var s = Files.newDirectoryStream(b);
            var it = s.iterator();
            s.close();
            return it.hasNext();
        });
        check.accept(b -> {
            try (var s = Files.newDirectoryStream(b, p -> {
                throw new IllegalStateException("boom");
            })) {
                return s.iterator().hasNext();
            }
        });
        check.accept(b -> {
            try (var s = Files.newDirectoryStream(b, "{f,d,e}")) {
                List<String> n = new ArrayList<>();
                s.forEach(p -> n.add(p.getFileName().toString()));
                n.sort(null);
                return n;
            }
        });
        check.accept(b -> Files.newDirectoryStream(b, "[bad"));
        for (String attrs : List.of("*", "posix:*", "unix:*", "bogus:*", "basic:size,bogus", "unix:", "",
                "posix:permissions,owner", "unix:ctime,rdev,nlink,ino,dev,uid,gid,mode", "user:*")) {
            check.accept(b -> {
                var m = new TreeMap<>(Files.readAttributes(b.resolve("f"), attrs));
                m.remove("lastAccessTime");
                m.replaceAll((k, v) -> v == null ? "null" : List.of("fileKey", "ino", "ctime", "creationTime",
                        "lastModifiedTime", "dev").contains(k) ? "x" : v);
                return m;
            });
        }
        check.accept(b -> Files.probeContentType(b.resolve("x.txt")) + " " + Files.probeContentType(b.resolve("f")));
        check.accept(b -> Files.getFileStore(b.resolve("loop")));
        check.accept(b -> Files.getFileStore(b.resolve("dangling")).type());
        check.accept(b -> {
            Files.move(b.resolve("d"), b.resolve("e"), StandardCopyOption.REPLACE_EXISTING);
            return "ok";
        });
        check.accept(b -> Files.move(b.resolve("f"), b.resolve("f")));
        check.accept(b -> Files.move(b.resolve("f"), b.resolve("d/a.txt"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING));
        check.accept(b -> Files.move(b.resolve("f"), b.resolve("nope/x"), StandardCopyOption.ATOMIC_MOVE));
        check.accept(b -> Files.copy(b.resolve("f"), b.resolve("f")));
        check.accept(b -> Files.copy(b.resolve("d"), b.resolve("e"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.COPY_ATTRIBUTES));
        check.accept(b -> Files.createDirectories(b.resolve("link/x")));
        check.accept(b -> Files.createDirectories(b.resolve("f/x")));
        check.accept(b -> Files.createDirectories(b.resolve("dangling")));
        check.accept(b -> Files.createDirectories(b.resolve("loop")));
        check.accept(b -> Files.createDirectory(b.resolve("loop")));
        check.accept(b -> Files.createDirectory(b.resolve("f/..")));
        check.accept(b -> Files.createDirectory(b.resolve("f"), rwx));
        check.accept(b -> mode(Files.createDirectories(b.resolve("n1/n2"), rwx)));
        check.accept(b -> Files.exists(b.resolve("f/..")) + " " + Files.isDirectory(b.resolve("f/..")) + " "
                + Files.exists(b.resolve("loop")) + " " + Files.isRegularFile(b.resolve("loop")) + " "
                + Files.notExists(b.resolve("loop")) + " " + Files.isReadable(b.resolve("loop")) + " "
                + Files.isWritable(b.resolve("f")) + " " + Files.isExecutable(b.resolve("d")));
        check.accept(b -> Files.size(b.resolve("f/..")));
        check.accept(b -> Files.isSameFile(b.resolve("loop"), b.resolve("f")));
        check.accept(b -> Files.isSameFile(b.resolve("f/.."), b));
        check.accept(b -> Files.getLastModifiedTime(b.resolve("loop")));
        check.accept(b -> Files.readSymbolicLink(b.resolve("loop")));
        check.accept(b -> {
            Files.deleteIfExists(b.resolve("loop"));
            return Files.deleteIfExists(b.resolve("d"));
        });
        check.accept(b -> {
            var v = Files.getFileAttributeView(b.resolve("link"), java.nio.file.attribute.BasicFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            v.setTimes(java.nio.file.attribute.FileTime.fromMillis(0), null, null);
            return Files.getLastModifiedTime(b.resolve("link"), LinkOption.NOFOLLOW_LINKS) + " "
                    + (Files.getLastModifiedTime(b.resolve("f")).toMillis() > 0); // the target is left alone
        });
        check.accept(b -> {
            var v = Files.getFileAttributeView(b.resolve("nope"), java.nio.file.attribute.PosixFileAttributeView.class);
            v.setPermissions(PosixFilePermissions.fromString("rwx------"));
            return "ok";
        });
        check.accept(b -> {
            var v = Files.getFileAttributeView(b.resolve("f"), java.nio.file.attribute.PosixFileAttributeView.class);
            v.setOwner(null);
            return "ok";
        });
        check.accept(b -> {
            var v = Files.getFileAttributeView(b.resolve("f"), java.nio.file.attribute.PosixFileAttributeView.class);
            v.setPermissions(null);
            return "ok";
        });
        assertThat(diffs).isEmpty();
    }

    /** Failing calls through the provider and AuraFiles leave no descriptor open. */
    @Test
    void failingCallsLeakNoDescriptors() throws Exception {
        Path base = dir.path().toAbsolutePath().resolve("fds");
        populate(base);
        Path ours = fs.getPath(base.toString());
        Callable<Object> round = () -> {
            List<Callable<?>> calls = List.of(
                    () -> open(ours.resolve("link"), opts(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)),
                    () -> open(ours.resolve("d"), opts(StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE)),
                    () -> Files.readString(ours.resolve("d")),
                    () -> Files.newDirectoryStream(ours.resolve("f")),
                    () -> Files.list(ours.resolve("nope")),
                    () -> Files.createFile(ours.resolve("f")),
                    () -> AuraFiles.copy(base.resolve("f"), base.resolve("d"), StandardCopyOption.REPLACE_EXISTING),
                    () -> AuraFiles.readAllBytes(base.resolve("d")),
                    () -> AuraFiles.write(base.resolve("d"), new byte[1]),
                    () -> {
                        try (var s = Files.newDirectoryStream(ours)) {
                            var it = s.iterator();
                            return it.next(); // stream closed with entries read ahead
                        }
                    },
                    () -> {
                        try (Stream<Path> s = Files.walk(ours)) {
                            return s.findFirst();
                        }
                    });
            for (Callable<?> c : calls) {
                try {
                    c.call();
                } catch (Exception expected) {
                    // the failure is the point
                }
            }
            return null;
        };
        TestSupport.onVirtualThread(round); // warm up: the engine, the pool
        Map<Integer, String> before = Descriptors.open();
        for (int k = 0; k < 20; k++) {
            TestSupport.onVirtualThread(round);
        }
        Descriptors.assertNoneNew(before, "20 rounds of failing calls");
    }

    /**
     * Metadata calls through the provider on a virtual thread whose interrupt status is set run
     * to completion and keep the status, as the platform's, and no pool thread is left busy.
     */
    @Test
    void interruptStatusIsKeptAndIgnoredAsByThePlatform() throws Exception {
        for (boolean aura : new boolean[] {false, true}) {
            Path plain = dir.path().toAbsolutePath().resolve(aura ? "ia" : "ij");
            populate(plain);
            Path b = aura ? fs.getPath(plain.toString()) : plain;
            Object got = TestSupport.onVirtualThread(() -> {
                Thread.currentThread().interrupt();
                List<Object> out = new ArrayList<>();
                out.add(Files.copy(b.resolve("f"), b.resolve("g")).getFileName());
                out.add(Files.createDirectory(b.resolve("nd")).getFileName());
                try (var s = Files.newDirectoryStream(b.resolve("d"))) {
                    s.forEach(p -> out.add(p.getFileName()));
                }
                out.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(b.resolve("f"))));
                out.add(Files.readString(b.resolve("d/a.txt")).length());
                out.add(Files.getFileStore(b.resolve("f")).type());
                out.add(Thread.currentThread().isInterrupted());
                return out.toString();
            });
            assertThat(got).as(aura ? "provider" : "platform").isEqualTo(
                    "[g, nd, a.txt, rw-r--r--, 1, "
                            + Files.getFileStore(plain).type() + ", true]");
        }
        TestSupport.settle(() -> io.auraio.internal.offload.BlockingOffload.shared().active() == 0,
                java.time.Duration.ofSeconds(5));
        assertThat(io.auraio.internal.offload.BlockingOffload.shared().active()).isZero();
    }

    /**
     * Paths of the wrapping file system against the platform's: operations that take a path accept
     * a platform path as the class documents; equality stays within a file system, as the
     * platform's; toUri, toRealPath, isSameFile agree.
     */
    @Test
    void pathOperationsAgainstPlatformPathsAreConsistent() throws Exception {
        Path base = dir.path().toAbsolutePath();
        populate(base.resolve("po"));
        Path plain = base.resolve("po");
        Path ours = fs.getPath(plain.toString());
        assertThat(ours.resolve(Path.of("f"))).isEqualTo(ours.resolve("f"));
        assertThat(ours.relativize(plain.resolve("d/a.txt")).toString()).isEqualTo("d/a.txt");
        assertThat(ours.compareTo(plain)).isZero();
        assertThat(ours.equals(plain)).isFalse();
        assertThat(plain.equals(ours)).isFalse();
        assertThat(ours.hashCode()).isEqualTo(plain.hashCode());
        assertThat(ours.toUri()).isEqualTo(plain.toUri());
        assertThat(ours.resolve("link").toRealPath()).isEqualTo(fs.getPath(plain.resolve("f").toRealPath().toString()));
        assertThat(ours.resolve("link").toRealPath().getFileSystem()).isSameAs(fs);
        assertThat(ours.toFile()).isEqualTo(plain.toFile());
        assertThat(fs.provider().getPath(plain.toUri())).isEqualTo(ours);
        Object same = TestSupport.onVirtualThread(() -> List.of(Files.isSameFile(ours.resolve("link"), plain.resolve("f")),
                Files.isSameFile(plain.resolve("f"), ours.resolve("f")), // the platform's: another provider's path
                fs.provider().isSameFile(ours.resolve("f"), plain.resolve("f"))));
        assertThat(same).isEqualTo(List.of(true, false, true));
        try (var watcher = fs.newWatchService()) {
            var key = ours.register(watcher, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE);
            Files.createFile(ours.resolve("watched"));
            var polled = watcher.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(polled).isSameAs(key);
            Path context = (Path) polled.pollEvents().get(0).context();
            assertThat(ours.resolve(context)).isEqualTo(ours.resolve("watched"));
        }
    }
}
