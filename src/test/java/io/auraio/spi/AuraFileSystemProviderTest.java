package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.auraio.AuraFileChannel;
import io.auraio.AuraIO;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link AuraFileSystemProvider} in this JVM, constructed around the platform provider as the JDK
 * does: its file system's paths lead back to it, channels are {@link AuraFileChannel}s, and every
 * other operation is the platform's on the same files.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileSystemProviderTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private AuraFileSystemProvider provider;
    private FileSystem fs;
    /** The test directory as a path of the provider's file system. */
    private Path root;

    @BeforeEach
    void createProvider() {
        provider = new AuraFileSystemProvider(FileSystems.getDefault().provider());
        fs = provider.getFileSystem(URI.create("file:///"));
        root = fs.getPath(dir.path().toAbsolutePath().toString());
    }

    @Test
    void theFileSystemAndItsPathsReportTheProvider() {
        assertThat(provider.getScheme()).isEqualTo("file");
        assertThat(fs.provider()).isSameAs(provider);
        assertThat(root.getFileSystem()).isSameAs(fs);
        assertThat(provider.getPath(root.toUri()).getFileSystem()).isSameAs(fs);
        assertThat(provider.getPath(root.toUri())).isEqualTo(root);
        assertThat(fs.getRootDirectories()).allSatisfy(r -> assertThat(r.getFileSystem()).isSameAs(fs));
        assertThat(fs.getSeparator()).isEqualTo("/");
        assertThat(fs.supportedFileAttributeViews()).contains("basic", "posix");
        assertThatThrownBy(() -> provider.getFileSystem(URI.create("jar:file:///x.jar!/")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new AuraFileSystemProvider(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void pathOperationsBehaveAsThePlatformsAndStayInTheFileSystem() {
        Path p = fs.getPath("a", "b", "..", "c.txt");
        Path platform = Path.of("a", "b", "..", "c.txt");
        assertThat(p.toString()).isEqualTo(platform.toString());
        assertThat(p.getNameCount()).isEqualTo(4);
        assertThat(p.getFileName().toString()).isEqualTo("c.txt");
        assertThat(p.getParent().getFileSystem()).isSameAs(fs);
        assertThat(p.normalize().toString()).isEqualTo("a/c.txt");
        assertThat(p.normalize().getFileSystem()).isSameAs(fs);
        assertThat(p.isAbsolute()).isFalse();
        assertThat(p.getRoot()).isNull();
        assertThat(p.toAbsolutePath().getFileSystem()).isSameAs(fs);
        assertThat(p.subpath(1, 3).toString()).isEqualTo("b/..");
        assertThat(p.startsWith(fs.getPath("a"))).isTrue();
        assertThat(p.startsWith("a/b")).isTrue();
        assertThat(p.endsWith(fs.getPath("c.txt"))).isTrue();
        assertThat(p.startsWith(platform)).isFalse(); // another provider's path is never a prefix
        assertThat(root.resolve("x").resolve(fs.getPath("y")).toString()).isEqualTo(root + "/x/y");
        assertThat(root.relativize(root.resolve("x/y")).toString()).isEqualTo("x/y");
        assertThat(root.resolve("x").compareTo(root.resolve("y"))).isNegative();
        assertThat(fs.getPath("q")).isEqualTo(fs.getPath("q")).hasSameHashCodeAs(fs.getPath("q"));
        assertThat(fs.getPath("q")).isNotEqualTo(Path.of("q"));
        assertThat(root.resolve("f").toFile().getPath()).isEqualTo(dir.path().toAbsolutePath() + "/f");
        assertThat(fs.getPathMatcher("glob:*.txt").matches(fs.getPath("c.txt"))).isTrue();
        List<String> names = new ArrayList<>();
        p.forEach(n -> names.add(n.toString()));
        assertThat(names).containsExactly("a", "b", "..", "c.txt");
    }

    @Test
    void pathsOfOtherFileSystemsAreRefused() throws IOException {
        try (FileSystem zip = FileSystems.newFileSystem(dir.resolve("z.zip"), Map.of("create", "true"))) {
            Path foreign = zip.getPath("/a");
            assertThatThrownBy(() -> root.resolve(foreign)).isInstanceOf(ProviderMismatchException.class);
            assertThatThrownBy(() -> provider.newFileChannel(foreign, Set.of())).isInstanceOf(ProviderMismatchException.class);
            assertThatThrownBy(() -> provider.delete(foreign)).isInstanceOf(ProviderMismatchException.class);
            assertThat(provider.isSameFile(root, foreign)).isFalse();
        }
    }

    @Test
    void channelsAreAuraFileChannelsOnTheDefaultEngine() throws IOException {
        Path file = root.resolve("data");
        long before = AuraIO.defaultEngine().stats().opsCompleted();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            assertThat(ch).isInstanceOf(AuraFileChannel.class);
            assertThat(((AuraFileChannel) ch).engine()).isSameAs(AuraIO.defaultEngine());
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        }
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            assertThat(ch).isInstanceOf(AuraFileChannel.class);
            assertThat(ch.size()).isEqualTo(3);
        }
        Files.write(file, new byte[] {4, 5}, StandardOpenOption.APPEND);
        assertThat(Files.readAllBytes(file)).containsExactly(1, 2, 3, 4, 5);
        assertThat(AuraIO.defaultEngine().stats().opsCompleted()).isGreaterThan(before);
        Path temp = Files.createTempFile(root, "t", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(temp))).isEqualTo("rw-------");
    }

    /**
     * {@code Files.readAllBytes} and {@code readString} make the JDK's channel uninterruptible, so
     * they read as usual on an interrupted thread and keep its status; through this provider too.
     * A channel the application opens itself stays interruptible, as the JDK's.
     */
    @Test
    void filesReadAllBytesIgnoresAnInterruptStatusAsWithTheJdksChannel() throws IOException {
        for (Path d : List.of(dir.path(), root)) {
            Path file = Files.write(d.resolve("r"), new byte[] {1, 2, 3});
            Thread.currentThread().interrupt();
            try {
                assertThat(Files.readAllBytes(file)).as("%s", d.getFileSystem()).containsExactly(1, 2, 3);
                assertThat(Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1))
                        .isEqualTo("\u0001\u0002\u0003");
                assertThat(Thread.currentThread().isInterrupted()).as("%s: status kept", d.getFileSystem()).isTrue();
                try (SeekableByteChannel ch = Files.newByteChannel(file)) {
                    assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(3)))
                            .isInstanceOf(java.nio.channels.ClosedByInterruptException.class);
                }
            } finally {
                Thread.interrupted();
            }
        }
    }

    /**
     * The platform's directory streams are {@link SecureDirectoryStream}s on Linux, which libraries
     * such as Guava's {@code MoreFiles.deleteRecursively} require: so are the provider's, and their
     * relative operations do the same as the platform's, side by side.
     */
    @Test
    void directoryStreamsAreSecureAsThePlatformsAndWorkAlike() throws IOException {
        for (Path base : List.of(dir.path().resolve("jdk"), root.resolve("aura"))) {
            Files.createDirectories(base.resolve("sub/deeper"));
            Files.write(base.resolve("sub/a"), new byte[] {1});
            Files.write(base.resolve("sub/deeper/b"), new byte[] {2, 3});
            Files.write(base.resolve("top"), new byte[] {4});
            Files.createDirectory(base.resolve("target"));
            try (DirectoryStream<Path> stream = Files.newDirectoryStream(base)) {
                assertThat(stream).as("%s", base.getFileSystem()).isInstanceOf(SecureDirectoryStream.class);
                SecureDirectoryStream<Path> secure = (SecureDirectoryStream<Path>) stream;
                Path name = base.getFileSystem().getPath("sub");
                try (SecureDirectoryStream<Path> sub = secure.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS);
                     SecureDirectoryStream<Path> target = secure.newDirectoryStream(base.getFileSystem().getPath("target"))) {
                    List<String> entries = new ArrayList<>();
                    for (Path entry : sub) {
                        assertThat(entry.getFileSystem()).isSameAs(base.getFileSystem());
                        entries.add(entry.getFileName().toString());
                    }
                    assertThat(entries).containsExactlyInAnyOrder("a", "deeper");
                    BasicFileAttributes attrs = sub.getFileAttributeView(base.getFileSystem().getPath("a"),
                            java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).readAttributes();
                    assertThat(attrs.size()).isEqualTo(1);
                    assertThat(secure.getFileAttributeView(java.nio.file.attribute.BasicFileAttributeView.class)
                            .readAttributes().isDirectory()).isTrue();
                    try (SeekableByteChannel ch = sub.newByteChannel(base.getFileSystem().getPath("a"),
                            Set.of(StandardOpenOption.READ))) {
                        assertThat(ch.size()).isEqualTo(1);
                    }
                    sub.move(base.getFileSystem().getPath("a"), target, base.getFileSystem().getPath("moved"));
                    try (SecureDirectoryStream<Path> deeper = sub.newDirectoryStream(base.getFileSystem().getPath("deeper"))) {
                        deeper.deleteFile(base.getFileSystem().getPath("b"));
                    }
                    sub.deleteDirectory(base.getFileSystem().getPath("deeper"));
                    assertThatThrownBy(() -> secure.deleteFile(base.getFileSystem().getPath("missing")))
                            .isInstanceOf(java.nio.file.NoSuchFileException.class);
                }
                secure.deleteDirectory(name);
                secure.deleteFile(base.getFileSystem().getPath("top"));
            }
            assertThat(Files.readAllBytes(base.resolve("target/moved"))).containsExactly(1);
            try (var listing = Files.list(base)) {
                assertThat(listing.map(p -> p.getFileName().toString())).containsExactly("target");
            }
        }
    }

    @Test
    void streamsIgnoreAnInterruptStatusAlreadySetAsTheJdksDo() throws IOException {
        Path file = root.resolve("s");
        Thread.currentThread().interrupt();
        try {
            try (var out = Files.newOutputStream(file)) {
                out.write(new byte[] {1, 2, 3});
            }
            try (var in = Files.newInputStream(file)) {
                assertThat(in.readAllBytes()).containsExactly(1, 2, 3);
            }
            assertThat(Files.readAllLines(file, java.nio.charset.StandardCharsets.ISO_8859_1)).hasSize(1);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThatThrownBy(() -> Files.newInputStream(file, StandardOpenOption.WRITE))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> Files.newOutputStream(file, StandardOpenOption.READ))
                .isInstanceOf(IllegalArgumentException.class);
        try (var out = Files.newOutputStream(file, StandardOpenOption.APPEND)) {
            out.write(4);
        }
        assertThat(Files.readAllBytes(file)).containsExactly(1, 2, 3, 4);
    }

    /**
     * An interrupt that arrives while a stream's read is blocked (a FIFO with no data) neither ends
     * the read nor closes the stream, for the JDK's stream and for this provider's alike: the read
     * returns the data once it comes, and the interrupt status is still set.
     */
    @Test
    void anInterruptDuringABlockedStreamReadIsIgnoredAsByTheJdksStream() throws Exception {
        Path fifo = io.auraio.testing.Fifo.create(dir.resolve("fifo"));
        for (boolean aura : new boolean[] {false, true}) {
            // O_RDWR keeps the FIFO open for writing without blocking the reader's open.
            try (FileChannel writer = FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
                 var in = aura ? Files.newInputStream(root.resolve("fifo")) : Files.newInputStream(fifo)) {
                int[] got = new int[1];
                boolean[] stillInterrupted = new boolean[1];
                Throwable[] thrown = new Throwable[1];
                Thread reader = Thread.ofVirtual().start(() -> {
                    try {
                        got[0] = in.read();
                        stillInterrupted[0] = Thread.currentThread().isInterrupted();
                    } catch (Throwable t) {
                        thrown[0] = t;
                    }
                });
                // Into the read (parked on its request for AuraFile, in read(2) for the JDK). Were it
                // not yet there, the interrupt would come before the read, which both also ignore.
                Thread.sleep(100);
                reader.interrupt();
                reader.join(200);
                assertThat(reader.isAlive()).as("aura=%s: still reading after the interrupt", aura).isTrue();
                writer.write(ByteBuffer.wrap(new byte[] {42}));
                TestSupport.joinAll(List.of(reader));
                assertThat(thrown[0]).as("aura=%s", aura).isNull();
                assertThat(got[0]).as("aura=%s", aura).isEqualTo(42);
                assertThat(stillInterrupted[0]).as("aura=%s: interrupt status kept", aura).isTrue();
            }
        }
    }

    @Test
    void watchServicesWorkOnThePathsAndTheirEventsResolveAgainstThem() throws Exception {
        try (WatchService watcher = fs.newWatchService()) {
            root.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
            Files.writeString(root.resolve("new.txt"), "x");
            WatchKey key = watcher.poll(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS);
            assertThat(key).as("a watch key within %s", TestSupport.HANG).isNotNull();
            Path created = (Path) key.pollEvents().getFirst().context();
            assertThat(created.toString()).isEqualTo("new.txt");
            Path resolved = root.resolve(created);
            assertThat(resolved.getFileSystem()).isSameAs(fs);
            assertThat(Files.readString(resolved)).isEqualTo("x");
        }
    }

    /**
     * A watcher's usual code: the key polled is the one registered, its watchable equals the
     * directory registered, an event's context equals the file's name as a path of the file
     * system, and the two resolved find the file in a map keyed by its path. With the platform's
     * paths in keys and events (each path's {@code equals} wants its own class) all but the first
     * were false.
     */
    @Test
    void watchKeysAndEventsGiveThePathsOfTheFileSystem() throws Exception {
        Path file = root.resolve("watched.txt");
        Map<Path, String> files = Map.of(file, "the file");
        try (WatchService watcher = fs.newWatchService()) {
            WatchKey registered = root.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
            assertThat(root.register(watcher, StandardWatchEventKinds.ENTRY_CREATE)).isSameAs(registered);
            assertThat(registered.watchable()).isEqualTo(root);
            Files.writeString(file, "x");
            WatchKey key = watcher.poll(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS);
            assertThat(key).as("a watch key within %s", TestSupport.HANG).isSameAs(registered);
            var event = key.pollEvents().getFirst();
            assertThat(event.kind()).isEqualTo(StandardWatchEventKinds.ENTRY_CREATE);
            assertThat(event.count()).isEqualTo(1);
            Path context = (Path) event.context();
            assertThat(context).isEqualTo(fs.getPath("watched.txt"));
            assertThat(context.getFileSystem()).isSameAs(fs);
            Path resolved = ((Path) key.watchable()).resolve(context);
            assertThat(resolved).isEqualTo(file);
            assertThat(files).containsKey(resolved);
            assertThat(key.reset()).isTrue();
            key.cancel();
            assertThat(key.isValid()).isFalse();
            assertThat(key.reset()).isFalse();
            assertThat(watcher.poll()).isNull();
        }
    }

    @Test
    void directoryStreamsListPathsOfTheFileSystem() throws IOException {
        Files.createDirectory(root.resolve("d"));
        Files.writeString(root.resolve("d/one.txt"), "1");
        Files.writeString(root.resolve("d/two.bin"), "2");
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root.resolve("d"), "*.txt")) {
            List<Path> list = new ArrayList<>();
            entries.forEach(list::add);
            assertThat(list).containsExactly(root.resolve("d/one.txt"));
            assertThat(list.getFirst().getFileSystem()).isSameAs(fs);
        }
        try (var walk = Files.walk(root)) {
            assertThat(walk.filter(Files::isRegularFile).count()).isEqualTo(2);
        }
    }

    @Test
    void otherOperationsAreThePlatformsOnTheSameFiles() throws IOException {
        Path a = Files.writeString(root.resolve("a"), "hello");
        Path link = Files.createSymbolicLink(root.resolve("link"), a);
        assertThat(Files.readSymbolicLink(link)).isEqualTo(a);
        assertThat(Files.readSymbolicLink(link).getFileSystem()).isSameAs(fs);
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(Files.isSameFile(link, a)).isTrue();
        Files.createLink(root.resolve("hard"), a);
        assertThat(Files.readString(root.resolve("hard"))).isEqualTo("hello");
        Files.copy(a, root.resolve("b"));
        Files.move(root.resolve("b"), root.resolve("c"), StandardCopyOption.ATOMIC_MOVE);
        assertThat(Files.exists(root.resolve("b"))).isFalse();
        assertThat(Files.readString(root.resolve("c"))).isEqualTo("hello");
        assertThat(Files.size(a)).isEqualTo(5);
        assertThat(Files.readAttributes(a, BasicFileAttributes.class).isRegularFile()).isTrue();
        assertThat(Files.readAttributes(a, "size")).containsEntry("size", 5L);
        Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("r--r-----"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(a))).isEqualTo("r--r-----");
        assertThat(Files.isHidden(root.resolve(".x"))).isTrue();
        assertThat(Files.getFileStore(a)).isEqualTo(Files.getFileStore(root));
        assertThat(Files.exists(link, LinkOption.NOFOLLOW_LINKS)).isTrue();
        assertThat(Files.deleteIfExists(root.resolve("c"))).isTrue();
        Files.delete(link);
        assertThat(Files.notExists(link)).isTrue();
    }

    /**
     * The store {@code Files.getFileStore} gives is one of {@code FileSystem.getFileStores()}, equal
     * both ways: the platform's stores in that list were never equal to the provider's (their
     * {@code equals} wants their own class), so a store looked up there was not found.
     */
    @Test
    void theFileStoreOfAPathIsOneOfTheFileSystemsStores() throws IOException {
        FileStore store = Files.getFileStore(root);
        List<FileStore> matches = new ArrayList<>();
        for (FileStore s : fs.getFileStores()) {
            if (s.equals(store)) {
                matches.add(s);
            }
        }
        assertThat(matches).as("%s in %s", store, fs.getFileStores()).isNotEmpty();
        FileStore listed = matches.getFirst();
        assertThat(store).isEqualTo(listed);
        assertThat(listed.hashCode()).isEqualTo(store.hashCode());
        assertThat(listed.toString()).isEqualTo(store.toString());
        assertThat(listed.type()).isEqualTo(store.type());
        assertThat(listed.getTotalSpace()).isEqualTo(store.getTotalSpace());
        assertThat(listed.getClass()).isEqualTo(store.getClass());
    }

    /**
     * Store equality is the platform's, among the provider's own stores: two paths on one mount
     * give equal stores (with equal hash codes), paths on two mounts do not, as through the
     * platform. A provider's store and a platform's store are unequal both ways: the provider's
     * store was equal to the platform's while the platform's was not equal to it, so a set or a
     * list answered by the order of its arguments.
     */
    @Test
    void fileStoresAreEqualAsThePlatformsAndSymmetrically() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("sub/dir")).toAbsolutePath();
        Path other = Path.of("/proc");
        List<Path> platformPaths = List.of(dir.path().toAbsolutePath(), sub, other);
        List<FileStore> platformStores = new ArrayList<>();
        List<FileStore> auraStores = new ArrayList<>();
        for (Path p : platformPaths) {
            platformStores.add(Files.getFileStore(p));
            auraStores.add(Files.getFileStore(fs.getPath(p.toString())));
        }
        assertThat(platformStores.get(0)).as("the oracle: one mount").isEqualTo(platformStores.get(1));
        assumeFalse(platformStores.get(0).equals(platformStores.get(2)),
                "/proc and the test directory are one file store here");
        for (int i = 0; i < platformPaths.size(); i++) {
            for (int j = 0; j < platformPaths.size(); j++) {
                FileStore a = auraStores.get(i);
                FileStore b = auraStores.get(j);
                boolean platformEqual = platformStores.get(i).equals(platformStores.get(j));
                assertThat(a.equals(b)).as("%s, %s", platformPaths.get(i), platformPaths.get(j)).isEqualTo(platformEqual);
                assertThat(b.equals(a)).as("%s, %s", platformPaths.get(j), platformPaths.get(i)).isEqualTo(platformEqual);
                if (platformEqual) {
                    assertThat(a.hashCode()).isEqualTo(b.hashCode());
                }
                assertThat(a.equals(platformStores.get(j))).as("ours %s, platform's %s", platformPaths.get(i),
                        platformPaths.get(j)).isFalse();
                assertThat(platformStores.get(j).equals(a)).isFalse();
            }
        }
        // A set of the provider's stores finds each of them, and only them.
        Set<FileStore> set = new HashSet<>(auraStores);
        assertThat(set).hasSize(2).contains(auraStores.toArray(FileStore[]::new))
                .doesNotContainAnyElementsOf(platformStores);
        assertThat(auraStores.get(0)).isNotEqualTo(null).isNotEqualTo(auraStores.get(0).toString());
    }
}
