package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.offload.MetadataRouting;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AccessMode;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every call the provider routes through the blocking offload, made from a virtual thread (so it
 * runs on the offload's pool) through {@link AuraFileSystemProvider} and, on an identical tree,
 * through the platform provider: the same results, the same exception types and messages.
 */
class ProviderOffloadDifferentialTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private FileSystem fs;

    /** A call on a tree: {@code base} is the tree's root, a path of the provider under test. */
    @FunctionalInterface
    interface Scenario {
        Object run(Path base) throws Exception;
    }

    @BeforeEach
    void createProvider() {
        fs = new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
    }

    static Stream<Arguments> scenarios() {
        List<Arguments> all = new ArrayList<>();
        add(all, "checkAccess existing", b -> {
            b.getFileSystem().provider().checkAccess(b.resolve("f"), AccessMode.READ, AccessMode.WRITE);
            return "ok";
        });
        add(all, "checkAccess missing", b -> {
            b.getFileSystem().provider().checkAccess(b.resolve("nope"));
            return "ok";
        });
        add(all, "checkAccess execute denied", b -> {
            b.getFileSystem().provider().checkAccess(b.resolve("f"), AccessMode.EXECUTE);
            return "ok";
        });
        add(all, "readAttributes basic", b -> basic(Files.readAttributes(b.resolve("f"), BasicFileAttributes.class)));
        add(all, "readAttributes basic of a link, not followed", b ->
                basic(Files.readAttributes(b.resolve("link"), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS))
                        .replaceAll(" \\S+$", "")); // the link's own time: when populate made it
        add(all, "readAttributes missing", b -> Files.readAttributes(b.resolve("nope"), BasicFileAttributes.class));
        add(all, "readAttributes by name", b ->
                new TreeMap<>(Files.readAttributes(b.resolve("f"), "posix:permissions,size,isDirectory")).toString());
        add(all, "readAttributes unix view", b ->
                new TreeMap<>(Files.readAttributes(b.resolve("f"), "unix:nlink,mode")).toString());
        add(all, "readAttributes unknown view", b -> Files.readAttributes(b.resolve("f"), "bogus:x"));
        add(all, "readAttributesIfExists missing", b ->
                b.getFileSystem().provider().readAttributesIfExists(b.resolve("nope"), BasicFileAttributes.class));
        add(all, "readAttributesIfExists existing", b -> basic(b.getFileSystem().provider()
                .readAttributesIfExists(b.resolve("f"), BasicFileAttributes.class)));
        add(all, "readAttributesIfExists below a file", b ->
                b.getFileSystem().provider().readAttributesIfExists(b.resolve("f/x"), BasicFileAttributes.class));
        add(all, "isDirectory and isRegularFile", b -> Files.isDirectory(b.resolve("d")) + " "
                + Files.isDirectory(b.resolve("f")) + " " + Files.isDirectory(b.resolve("nope")) + " "
                + Files.isRegularFile(b.resolve("f")) + " " + Files.isRegularFile(b.resolve("dangling")) + " "
                + Files.isRegularFile(b.resolve("link"), LinkOption.NOFOLLOW_LINKS));
        add(all, "createDirectory with permissions", b -> {
            Files.createDirectory(b.resolve("p"), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwxr-x---")));
            return PosixFilePermissions.toString(Files.getPosixFilePermissions(b.resolve("p")));
        });
        add(all, "deleteIfExists non-empty directory", b -> Files.deleteIfExists(b.resolve("ne")));
        add(all, "move atomic onto existing", b -> Files.move(b.resolve("f"), b.resolve("d/f2"),
                StandardCopyOption.ATOMIC_MOVE) + " " + Files.move(b.resolve("d/f2"), b.resolve("link"),
                StandardCopyOption.ATOMIC_MOVE) + " " + Files.isSymbolicLink(b.resolve("link")));
        add(all, "createLink of a symbolic link", b -> Files.createLink(b.resolve("h"), b.resolve("link")) + " "
                + Files.isSymbolicLink(b.resolve("h")));
        add(all, "size", b -> Files.size(b.resolve("f")));
        add(all, "size of missing", b -> Files.size(b.resolve("nope")));
        add(all, "exists", b -> Files.exists(b.resolve("f")) + " " + Files.exists(b.resolve("nope"))
                + " " + Files.exists(b.resolve("dangling")) + " " + Files.exists(b.resolve("dangling"), LinkOption.NOFOLLOW_LINKS));
        add(all, "setAttribute times", b -> {
            Files.setAttribute(b.resolve("f"), "lastModifiedTime", FileTime.fromMillis(1_000_000_000_000L));
            return Files.getLastModifiedTime(b.resolve("f"));
        });
        add(all, "setAttribute permissions", b -> {
            Files.setAttribute(b.resolve("f"), "posix:permissions", PosixFilePermissions.fromString("r--r-----"));
            return PosixFilePermissions.toString(Files.getPosixFilePermissions(b.resolve("f")));
        });
        add(all, "setAttribute unknown", b -> {
            Files.setAttribute(b.resolve("f"), "basic:bogus", 1);
            return "ok";
        });
        add(all, "setAttribute missing", b -> {
            Files.setAttribute(b.resolve("nope"), "lastModifiedTime", FileTime.fromMillis(0));
            return "ok";
        });
        add(all, "attribute view: times", b -> {
            Files.setLastModifiedTime(b.resolve("f"), FileTime.fromMillis(1_234_567_000L));
            var view = Files.getFileAttributeView(b.resolve("f"), java.nio.file.attribute.BasicFileAttributeView.class);
            return view.name() + " " + view.readAttributes().lastModifiedTime();
        });
        add(all, "attribute view: permissions and owner", b -> {
            Files.setPosixFilePermissions(b.resolve("f"), PosixFilePermissions.fromString("rw-r-----"));
            var view = Files.getFileAttributeView(b.resolve("f"), java.nio.file.attribute.PosixFileAttributeView.class);
            return PosixFilePermissions.toString(view.readAttributes().permissions()) + " "
                    + (view.getOwner().equals(Files.getOwner(b.resolve("f")))) + " " + view.name();
        });
        add(all, "attribute view: missing file", b -> Files.getFileAttributeView(b.resolve("nope"),
                java.nio.file.attribute.PosixFileAttributeView.class).readAttributes());
        add(all, "attribute view: setTimes on missing file", b -> {
            Files.setLastModifiedTime(b.resolve("nope"), FileTime.fromMillis(0));
            return "ok";
        });
        add(all, "attribute view: user-defined", b -> {
            var view = Files.getFileAttributeView(b.resolve("f"),
                    java.nio.file.attribute.UserDefinedFileAttributeView.class);
            try {
                view.write("user.k", java.nio.ByteBuffer.wrap(new byte[] {7}));
            } catch (IOException e) { // a file system without user xattrs: both sides alike
                return "no xattrs: " + e.getClass().getName() + " " + view.list();
            }
            return view.list() + " " + view.size("user.k");
        });
        add(all, "attribute view: unsupported type", b -> Files.getFileAttributeView(b.resolve("f"),
                java.nio.file.attribute.DosFileAttributeView.class) == null);
        add(all, "secure directory stream attribute views", b -> {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(b.resolve("d"))) {
                SecureDirectoryStream<Path> secure = (SecureDirectoryStream<Path>) s;
                var own = secure.getFileAttributeView(java.nio.file.attribute.BasicFileAttributeView.class);
                var entry = secure.getFileAttributeView(b.getFileSystem().getPath("a.txt"),
                        java.nio.file.attribute.PosixFileAttributeView.class);
                return own.readAttributes().isDirectory() + " " + entry.readAttributes().size() + " "
                        + secure.getFileAttributeView(b.getFileSystem().getPath("nope"),
                                java.nio.file.attribute.BasicFileAttributeView.class).readAttributes();
            }
        });
        add(all, "newDirectoryStream", b -> list(b.resolve("d"), "*"));
        add(all, "newDirectoryStream glob", b -> list(b.resolve("d"), "*.txt"));
        add(all, "newDirectoryStream of a file", b -> list(b.resolve("f"), "*"));
        add(all, "newDirectoryStream missing", b -> list(b.resolve("nope"), "*"));
        add(all, "newDirectoryStream filter throws", b -> {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(b.resolve("d"), e -> {
                throw new IOException("filter says no");
            })) {
                return s.iterator().hasNext();
            }
        });
        add(all, "newDirectoryStream iterator twice", b -> {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(b.resolve("d"))) {
                s.iterator();
                return s.iterator();
            }
        });
        add(all, "newDirectoryStream iterator remove", b -> {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(b.resolve("d"))) {
                Iterator<Path> it = s.iterator();
                it.next();
                it.remove();
                return "removed";
            }
        });
        add(all, "newDirectoryStream of many entries", b -> {
            for (int i = 0; i < 100; i++) {
                Files.createFile(b.resolve("d").resolve("m" + i));
            }
            return list(b.resolve("d"), "m*");
        });
        add(all, "secure directory stream", b -> {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(b.resolve("d"))) {
                SecureDirectoryStream<Path> secure = (SecureDirectoryStream<Path>) s;
                Path name = b.getFileSystem().getPath("a.txt");
                secure.move(name, secure, b.getFileSystem().getPath("moved.txt"));
                secure.deleteFile(b.getFileSystem().getPath("b.log"));
                try (SecureDirectoryStream<Path> sub = secure.newDirectoryStream(b.getFileSystem().getPath("s"))) {
                    List<String> names = new ArrayList<>();
                    sub.forEach(p -> names.add(p.getFileName().toString()));
                    secure.deleteDirectory(b.getFileSystem().getPath("s"));
                    return names + " " + list(b.resolve("d"), "*");
                }
            }
        });
        add(all, "secure directory stream delete missing", b -> {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(b.resolve("d"))) {
                ((SecureDirectoryStream<Path>) s).deleteFile(b.getFileSystem().getPath("nope"));
                return "ok";
            }
        });
        add(all, "createDirectory", b -> Files.createDirectory(b.resolve("new")) + " " + Files.isDirectory(b.resolve("new")));
        add(all, "createDirectory existing", b -> Files.createDirectory(b.resolve("d")));
        add(all, "createDirectory without parent", b -> Files.createDirectory(b.resolve("nope/new")));
        add(all, "delete", b -> {
            Files.delete(b.resolve("f"));
            return Files.exists(b.resolve("f"));
        });
        add(all, "delete missing", b -> {
            Files.delete(b.resolve("nope"));
            return "ok";
        });
        add(all, "delete non-empty directory", b -> {
            Files.delete(b.resolve("ne"));
            return "ok";
        });
        add(all, "deleteIfExists", b -> Files.deleteIfExists(b.resolve("f")) + " " + Files.deleteIfExists(b.resolve("f")));
        add(all, "move", b -> Files.move(b.resolve("f"), b.resolve("g")) + " " + Files.size(b.resolve("g")));
        add(all, "move onto existing", b -> Files.move(b.resolve("f"), b.resolve("ne")));
        add(all, "move replacing a non-empty directory", b ->
                Files.move(b.resolve("f"), b.resolve("ne"), StandardCopyOption.REPLACE_EXISTING));
        add(all, "move atomic", b -> Files.move(b.resolve("f"), b.resolve("d/f2"), StandardCopyOption.ATOMIC_MOVE));
        add(all, "move missing", b -> Files.move(b.resolve("nope"), b.resolve("g")));
        add(all, "copy", b -> Files.copy(b.resolve("f"), b.resolve("c")) + " " + Files.size(b.resolve("c")));
        add(all, "copy onto existing", b -> Files.copy(b.resolve("f"), b.resolve("d")));
        add(all, "copy with an unsupported option", b -> Files.copy(b.resolve("f"), b.resolve("c"), StandardCopyOption.ATOMIC_MOVE));
        add(all, "createLink and isSameFile", b -> Files.createLink(b.resolve("h"), b.resolve("f")) + " "
                + Files.isSameFile(b.resolve("h"), b.resolve("f")) + " "
                + Files.readAttributes(b.resolve("f"), "unix:nlink"));
        add(all, "createLink to missing", b -> Files.createLink(b.resolve("h"), b.resolve("nope")));
        add(all, "createSymbolicLink and readSymbolicLink", b ->
                Files.createSymbolicLink(b.resolve("l2"), b.getFileSystem().getPath("f")) + " "
                + Files.readSymbolicLink(b.resolve("l2")) + " " + Files.isSymbolicLink(b.resolve("l2")));
        add(all, "createSymbolicLink existing", b -> Files.createSymbolicLink(b.resolve("f"), b.getFileSystem().getPath("x")));
        add(all, "readSymbolicLink of a file", b -> Files.readSymbolicLink(b.resolve("f")));
        add(all, "isSameFile", b -> Files.isSameFile(b.resolve("f"), b.resolve("link")) + " "
                + Files.isSameFile(b.resolve("f"), b.resolve("d")) + " " + Files.isSameFile(b.resolve("f"), b.resolve("f")));
        add(all, "isSameFile missing", b -> Files.isSameFile(b.resolve("f"), b.resolve("nope")));
        add(all, "isHidden", b -> Files.isHidden(b.resolve(".hidden")) + " " + Files.isHidden(b.resolve("f")));
        add(all, "getFileStore", b -> {
            var store = Files.getFileStore(b.resolve("f"));
            return store.name() + " " + store.type() + " " + store.supportsFileAttributeView("posix");
        });
        add(all, "file store space and attributes", b -> {
            var store = Files.getFileStore(b.resolve("f"));
            var again = Files.getFileStore(b.resolve("d"));
            return (store.getTotalSpace() > 0) + " " + (store.getUsableSpace() >= 0) + " "
                    + (store.getUnallocatedSpace() >= 0) + " " + store.getBlockSize() + " "
                    + store.getAttribute("totalSpace").equals(store.getTotalSpace()) + " "
                    + store.supportsFileAttributeView("user") + " "
                    + store.supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class) + " "
                    + store.isReadOnly() + " " + store.equals(again) + " " + (store.hashCode() == again.hashCode())
                    + " " + store.getFileStoreAttributeView(java.nio.file.attribute.FileStoreAttributeView.class);
        });
        add(all, "file store unknown attribute", b -> Files.getFileStore(b.resolve("f")).getAttribute("bogus"));
        add(all, "getFileStore missing", b -> Files.getFileStore(b.resolve("nope")));
        return all.stream();
    }

    private static void add(List<Arguments> all, String name, Scenario scenario) {
        all.add(Arguments.of(name, scenario));
    }

    private static String basic(BasicFileAttributes a) {
        return a.size() + " " + a.isRegularFile() + " " + a.isDirectory() + " " + a.isSymbolicLink() + " "
                + a.lastModifiedTime();
    }

    private static List<String> list(Path dir, String glob) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, glob)) {
            for (Path p : s) {
                assertThat(p.getFileSystem()).isSameAs(dir.getFileSystem());
                names.add(dir.relativize(p).toString());
            }
        }
        names.sort(null);
        return names;
    }

    /** The same tree under {@code base} (a platform path), with identical times. */
    private static void populate(Path base) throws IOException {
        Files.createDirectories(base);
        Files.write(base.resolve("f"), new byte[] {1, 2, 3, 4, 5});
        Files.createDirectories(base.resolve("d/s"));
        Files.createFile(base.resolve("d/a.txt"));
        Files.createFile(base.resolve("d/b.log"));
        Files.createFile(base.resolve("d/s/inner"));
        Files.createDirectories(base.resolve("ne"));
        Files.createFile(base.resolve("ne/x"));
        Files.createFile(base.resolve(".hidden"));
        Files.createSymbolicLink(base.resolve("link"), Path.of("f"));
        Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        Files.setLastModifiedTime(base.resolve("f"), FileTime.fromMillis(1_600_000_000_000L));
    }

    /** Runs {@code scenario} on a fresh virtual thread: its result, or the exception it threw, as text. */
    private static String outcome(Scenario scenario, Path base) throws InterruptedException {
        return TestSupport.outcomeOnVirtualThread(() -> scenario.run(base), base);
    }

    /** The same, with the calls that have an io_uring opcode made as ring requests ({@code -Dauraio.metadata=ring}). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void givesThePlatformProvidersAnswerThroughTheRing(String name, Scenario scenario) throws Exception {
        boolean was = MetadataRouting.ring;
        MetadataRouting.ring = true;
        try {
            givesThePlatformProvidersAnswerFromAVirtualThread(name, scenario);
        } finally {
            MetadataRouting.ring = was;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void givesThePlatformProvidersAnswerFromAVirtualThread(String name, Scenario scenario) throws Exception {
        Path jdkBase = dir.path().toAbsolutePath().resolve("jdk");
        Path auraBase = dir.path().toAbsolutePath().resolve("aura");
        populate(jdkBase);
        populate(auraBase);
        String jdk = outcome(scenario, jdkBase).replace("/jdk", "/X");
        String aura = outcome(scenario, fs.getPath(auraBase.toString())).replace("/aura", "/X");
        assertThat(aura).as(name).isEqualTo(jdk);
    }
}
