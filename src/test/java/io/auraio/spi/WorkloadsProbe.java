package io.auraio.spi;

import io.auraio.testing.Descriptors;
import io.auraio.testing.TestSupport;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Run in a forked JVM by {@link DefaultProviderWorkloadsTest}, once on the platform's provider (the
 * oracle) and once with {@link AuraFileSystemProvider} as the default: the JDK's own tools and
 * libraries that live on {@code java.nio.file} (javac, the zip file system, jar files, logging's
 * file handler, the watch service, file stores, tree walks and copies with symbolic links, URIs,
 * class loading from a directory) and the JDK's channels and streams that bypass the provider
 * ({@code RandomAccessFile}, {@code FileInputStream}) mixed with its channels. Each workload
 * prints {@code round.key=value} lines, its directory written as {@code D}, for the test to compare.
 * Arguments: a directory to work in. Round 0 runs on the main thread, round 1 on a virtual
 * thread; the descriptors open after round 1 that were not before it are printed as {@code fdNew}
 * (number=target, {@code {}} where none is).
 */
public final class WorkloadsProbe {
    private WorkloadsProbe() {}

    private static String round;
    private static Path dir;

    private static void print(String key, Object value) {
        System.out.println(round + "." + key + "=" + String.valueOf(value).replace(dir.toString(), "D"));
    }

    private static String digest(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private interface Workload {
        void run() throws Exception;
    }

    private static void workload(String name, Workload w) {
        try {
            w.run();
        } catch (Exception | Error e) {
            print(name + ".failed", e);
            e.printStackTrace(System.err);
        }
    }

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args[0]);
        System.out.println("provider=" + FileSystems.getDefault().provider().getClass().getName());
        runRound("0", base.resolve("r0"));
        Map<Integer, String> before = Descriptors.open();
        Thread t = Thread.ofVirtual().start(() -> runRound("1", base.resolve("r1")));
        t.join();
        // A descriptor another thread holds for a moment (the JVM's, a pool thread's) is not left
        // open: the ones new after round 1 are those still open after a while.
        TestSupport.settle(() -> Descriptors.newSince(before).isEmpty(), Descriptors.SETTLE);
        System.out.println("fdNew=" + Descriptors.newSince(before));
    }

    private static void runRound(String name, Path roundDir) {
        round = name;
        dir = roundDir;
        workload("setup", () -> Files.createDirectories(dir));
        workload("javac", WorkloadsProbe::javac);
        workload("zipfs", WorkloadsProbe::zipFileSystem);
        workload("jar", WorkloadsProbe::jarFiles);
        workload("tree", WorkloadsProbe::tree);
        workload("temp", WorkloadsProbe::temporaryFiles);
        workload("store", WorkloadsProbe::fileStores);
        workload("text", WorkloadsProbe::text);
        workload("async", WorkloadsProbe::asynchronousChannel);
        workload("mixed", WorkloadsProbe::mixedWithRandomAccessFile);
        workload("uri", WorkloadsProbe::uris);
        workload("logging", WorkloadsProbe::logging);
        workload("watch", WorkloadsProbe::watch);
        workload("directory", WorkloadsProbe::directoryChannel);
    }

    /** A channel on a directory: a shared lock and an empty mapping, as the platform's channel gives. */
    private static void directoryChannel() throws Exception {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            try (FileLock lock = ch.tryLock(0, Long.MAX_VALUE, true)) {
                print("directory.lock", lock.isShared() + " " + lock.isValid());
            }
            print("directory.map", ch.map(FileChannel.MapMode.READ_ONLY, 0, 0).capacity());
        }
    }

    /** A three-file package compiled by the system compiler, then loaded from the class directory. */
    private static void javac() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/p"));
        Files.writeString(src.resolve("A.java"), "package p; public class A { public static String s() { return B.x + C.y(); } }");
        Files.writeString(src.resolve("B.java"), "package p; class B { static String x = \"b\"; }");
        Files.writeString(src.resolve("C.java"),
                "package p; class C { static String y() { return D.class.getSimpleName(); } static class D {} }");
        Path out = dir.resolve("out");
        // Only A is named: B and C are found on the source path. (java.util.spi's ToolProvider:
        // the tests, compiled into the module, do not read java.compiler.)
        int rc = java.util.spi.ToolProvider.findFirst("javac").orElseThrow().run(System.out, System.err,
                "-d", out.toString(), "-sourcepath", dir.resolve("src").toString(), src.resolve("A.java").toString());
        print("javac.ok", rc == 0);
        try (Stream<Path> s = Files.walk(out)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                print("javac." + out.relativize(f), digest(Files.readAllBytes(f)));
            }
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, null)) {
            print("javac.loaded", loader.loadClass("p.A").getMethod("s").invoke(null));
        }
    }

    /** A jar created, changed and read back through the zip file system, then by JarFile and ZipFile. */
    private static void zipFileSystem() throws Exception {
        Path zip = dir.resolve("z.jar");
        Files.writeString(dir.resolve("plain.txt"), "plain");
        try (FileSystem z = FileSystems.newFileSystem(zip, Map.of("create", "true"))) {
            Files.createDirectories(z.getPath("/a/b"));
            Files.writeString(z.getPath("/a/b/x.txt"), "hello".repeat(1000));
            try (BufferedWriter w = Files.newBufferedWriter(z.getPath("/a/y.txt"))) {
                for (int i = 0; i < 10_000; i++) {
                    w.write("line " + i + "\n");
                }
            }
            Files.copy(dir.resolve("plain.txt"), z.getPath("/plain.txt"));
        }
        try (FileSystem z = FileSystems.newFileSystem(zip, Map.of())) {
            Files.writeString(z.getPath("/a/b/x.txt"), "changed", StandardOpenOption.APPEND);
            Files.delete(z.getPath("/plain.txt"));
        }
        try (FileSystem z = FileSystems.newFileSystem(zip)) {
            try (Stream<Path> s = Files.walk(z.getPath("/"))) {
                print("zipfs.walk", s.map(Path::toString).sorted().toList());
            }
            print("zipfs.x", digest(Files.readAllBytes(z.getPath("/a/b/x.txt"))));
            try (Stream<String> lines = Files.lines(z.getPath("/a/y.txt"))) {
                print("zipfs.lines", lines.count());
            }
            Files.copy(z.getPath("/a/b/x.txt"), dir.resolve("extracted.txt"));
            print("zipfs.extracted", digest(Files.readAllBytes(dir.resolve("extracted.txt"))));
        }
        try (JarFile jar = new JarFile(zip.toFile())) {
            print("zipfs.jarEntries", jar.stream().map(ZipEntry::getName).sorted().toList());
        }
        try (ZipFile zf = new ZipFile(zip.toFile()); InputStream in = zf.getInputStream(zf.getEntry("a/b/x.txt"))) {
            print("zipfs.zipFile", digest(in.readAllBytes()));
        }
        try (Stream<Path> s = Files.list(dir)) { // the zip file system's temporary files are gone
            print("zipfs.leftovers", s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("zipfstmp")).count());
        }
    }

    /** A jar with a manifest written through Files.newOutputStream, read by JarFile and the zip file system. */
    private static void jarFiles() throws Exception {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().putValue("X-Probe", "yes");
        Path jar = dir.resolve("m.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), m)) {
            out.putNextEntry(new JarEntry("q.txt"));
            out.write("q".getBytes(StandardCharsets.UTF_8));
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            print("jar.manifest", jf.getManifest().getMainAttributes().getValue("X-Probe"));
        }
        try (FileSystem z = FileSystems.newFileSystem(jar)) {
            print("jar.zipfs", Files.readString(z.getPath("q.txt")));
        }
    }

    /** Walks, finds and copies of a tree with a link to a directory, a loop and a dangling link. */
    private static void tree() throws Exception {
        Path t = dir.resolve("tree");
        Files.createDirectories(t.resolve("a/b"));
        Files.writeString(t.resolve("a/f1"), "1");
        Files.writeString(t.resolve("a/b/f2"), "22");
        Files.createSymbolicLink(t.resolve("link"), t.resolve("a"));
        Files.createSymbolicLink(t.resolve("a/b/loop"), t);
        Files.createSymbolicLink(t.resolve("dangling"), Path.of("nope")); // relative: its size is the same in each run
        try (Stream<Path> s = Files.walk(t)) {
            print("tree.walk", s.map(p -> t.relativize(p).toString()).sorted().toList());
        }
        try (Stream<Path> s = Files.walk(t, FileVisitOption.FOLLOW_LINKS)) {
            print("tree.walkFollow", s.count());
        } catch (RuntimeException e) {
            print("tree.walkFollow", e.getClass().getName() + " " + e.getCause().getClass().getName());
        }
        try (Stream<Path> s = Files.find(t, 10, (p, a) -> a.isSymbolicLink())) {
            print("tree.find", s.map(p -> t.relativize(p).toString()).sorted().toList());
        }
        List<String> visited = new ArrayList<>();
        Files.walkFileTree(t, EnumSet.of(FileVisitOption.FOLLOW_LINKS), 10, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                visited.add(t.relativize(f) + ":" + a.isRegularFile() + "," + a.isSymbolicLink() + "," + a.size());
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) {
                visited.add(t.relativize(f) + ":" + e.getClass().getSimpleName());
                return FileVisitResult.CONTINUE;
            }
        });
        Collections.sort(visited);
        print("tree.walkFileTree", visited);
        Path c = Files.createDirectories(dir.resolve("copy"));
        Files.copy(t.resolve("link"), c.resolve("l1"), LinkOption.NOFOLLOW_LINKS);
        Files.copy(t.resolve("link"), c.resolve("l2"));
        print("tree.copyLink", Files.isSymbolicLink(c.resolve("l1")) + " " + Files.readSymbolicLink(c.resolve("l1"))
                + " " + Files.isDirectory(c.resolve("l2"), LinkOption.NOFOLLOW_LINKS));
        Files.copy(t.resolve("a/f1"), c.resolve("f1"), StandardCopyOption.COPY_ATTRIBUTES);
        print("tree.copyAttributes", Files.getLastModifiedTime(c.resolve("f1")).equals(Files.getLastModifiedTime(t.resolve("a/f1"))));
        try (InputStream in = Files.newInputStream(t.resolve("a/b/f2"))) {
            Files.copy(in, c.resolve("f2"));
        }
        print("tree.copyStream", Files.readString(c.resolve("f2")));
        print("tree.realPath", t.resolve("link/b/../f1").toRealPath() + " " + t.resolve("link/b/../f1").toRealPath().equals(t.resolve("a/f1")));
        print("tree.sameFile", Files.isSameFile(t.resolve("link/f1"), t.resolve("a/f1")));
        print("tree.mismatch", Files.mismatch(t.resolve("a/f1"), t.resolve("a/b/f2")) + " " + Files.mismatch(t.resolve("a/f1"), c.resolve("f1")));
    }

    private static void temporaryFiles() throws Exception {
        Path f = Files.createTempFile(dir, "x", ".tmp");
        Path d = Files.createTempDirectory(dir, "d");
        print("temp.permissions", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)) + " "
                + PosixFilePermissions.toString(Files.getPosixFilePermissions(d)));
        Path g = Files.createFile(dir.resolve("perm"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x---")));
        print("temp.createFile", PosixFilePermissions.toString(Files.getPosixFilePermissions(g)));
    }

    /** Files.getFileStore's store is one of FileSystem.getFileStores(), and answers as it. */
    private static void fileStores() throws Exception {
        FileStore store = Files.getFileStore(dir);
        boolean listed = false;
        for (FileStore s : FileSystems.getDefault().getFileStores()) {
            if (s.equals(store) && store.equals(s) && s.hashCode() == store.hashCode()) {
                listed = s.name().equals(store.name()) && s.type().equals(store.type())
                        && s.getTotalSpace() == store.getTotalSpace() && s.toString().equals(store.toString());
            }
        }
        print("store.listed", listed);
        print("store.posix", store.supportsFileAttributeView("posix") + " " + store.getAttribute("totalSpace").equals(store.getTotalSpace()));
    }

    /** Buffered writers and readers, Files.lines (also parallel) and mismatch on a 5 MB file of UTF-8. */
    private static void text() throws Exception {
        Path f = dir.resolve("big.txt");
        try (BufferedWriter w = Files.newBufferedWriter(f)) {
            for (int i = 0; i < 300_000; i++) {
                w.write("line \u00e9\u4e2d " + i);
                w.newLine();
            }
        }
        print("text.size", Files.size(f));
        try (Stream<String> lines = Files.lines(f)) {
            print("text.lines", lines.count());
        }
        try (Stream<String> lines = Files.lines(f)) {
            print("text.linesParallel", lines.parallel().mapToLong(String::hashCode).sum());
        }
        try (BufferedReader r = Files.newBufferedReader(f)) {
            long sum = 0;
            for (String s; (s = r.readLine()) != null; ) {
                sum += s.hashCode();
            }
            print("text.reader", sum);
        }
        print("text.readAllLines", Files.readAllLines(f).size() + " " + Files.readString(f).length());
        Path g = dir.resolve("big2.txt");
        Files.copy(f, g);
        print("text.mismatchSame", Files.mismatch(f, g));
        try (FileChannel ch = FileChannel.open(g, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'Z'}), 5_000_000);
        }
        print("text.mismatch", Files.mismatch(f, g));
        Files.write(dir.resolve("bad"), new byte[] {(byte) 0xff, (byte) 0xfe});
        try {
            Files.readString(dir.resolve("bad"));
        } catch (IOException e) {
            print("text.malformed", e.getClass().getName());
        }
        print("text.probe", Files.probeContentType(dir.resolve("big.txt")) + " " + Files.probeContentType(dir.resolve("z.jar")));
    }

    private static void asynchronousChannel() throws Exception {
        Path f = dir.resolve("async");
        try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(f, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap("async!".getBytes(StandardCharsets.UTF_8)), 0).get();
            ByteBuffer b = ByteBuffer.allocate(10);
            int n = ch.read(b, 0).get();
            FileLock lock = ch.lock().get();
            print("async", n + " " + new String(b.array(), 0, n, StandardCharsets.UTF_8) + " " + ch.size() + " " + lock.isValid());
            lock.release();
        }
    }

    /** The provider's channel and a RandomAccessFile, FileInputStream, FileOutputStream on one file. */
    private static void mixedWithRandomAccessFile() throws Exception {
        Path f = dir.resolve("mixed");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
                RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            ch.write(ByteBuffer.wrap("0123456789".getBytes(StandardCharsets.UTF_8)));
            byte[] b = new byte[10];
            raf.readFully(b);
            raf.seek(2);
            raf.write("AB".getBytes(StandardCharsets.UTF_8));
            ByteBuffer bb = ByteBuffer.allocate(10);
            ch.read(bb, 0);
            print("mixed.reads", new String(b, StandardCharsets.UTF_8) + " " + new String(bb.array(), StandardCharsets.UTF_8));
            raf.setLength(4);
            print("mixed.truncated", ch.size() + " " + ch.position());
            ch.write(ByteBuffer.wrap("X".getBytes(StandardCharsets.UTF_8)));
            try (FileInputStream in = new FileInputStream(f.toFile())) {
                print("mixed.after", raf.length() + " " + Arrays.toString(in.readAllBytes()));
            }
            FileLock lock = ch.lock();
            try {
                raf.getChannel().tryLock();
                print("mixed.lock", "none");
            } catch (OverlappingFileLockException e) { // one lock table for the JVM, as the JDK's channels
                print("mixed.lock", "overlap");
            }
            lock.release();
        }
        try (FileOutputStream out = new FileOutputStream(f.toFile(), true)) {
            out.write('!');
        }
        print("mixed.append", Arrays.toString(Files.readAllBytes(f)));
    }

    private static void uris() throws Exception {
        Path f = dir.resolve("u v#%.txt");
        Files.writeString(f, "u");
        URI u = f.toUri();
        print("uri", u.getRawPath().endsWith("/u%20v%23%25.txt") + " " + Path.of(u).equals(f) + " " + Path.of(f.toFile().toURI()).equals(f));
        print("uri.file", f.toFile().toPath().equals(f) + " " + f.toFile().toPath().getFileSystem().equals(f.getFileSystem()));
        try (InputStream in = u.toURL().openStream()) {
            print("uri.url", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        print("uri.dir", dir.toUri().toString().endsWith("/"));
        try {
            Path.of(URI.create("file:///tmp/x?q"));
        } catch (IllegalArgumentException e) {
            print("uri.query", e.getMessage());
        }
        print("uri.relative", Path.of("rel").toFile().toPath().equals(Path.of("rel")) + " "
                + Path.of("rel").toAbsolutePath().toString().equals(new File("rel").getAbsolutePath()));
        print("uri.matcher", FileSystems.getDefault().getPathMatcher("glob:**/*.txt").matches(f));
    }

    /**
     * A {@code java.util.logging.FileHandler} on {@code pattern}, through reflection: the tests,
     * compiled into the module, do not read java.logging (this probe runs on the class path).
     */
    private static Object fileHandler(String pattern, int limit, int count, boolean append) throws Exception {
        return Class.forName("java.util.logging.FileHandler").getConstructor(String.class, int.class, int.class, boolean.class)
                .newInstance(pattern, limit, count, append);
    }

    private static void publish(Object handler, String message) throws Exception {
        Class<?> level = Class.forName("java.util.logging.Level");
        Object record = Class.forName("java.util.logging.LogRecord").getConstructor(level, String.class)
                .newInstance(level.getField("INFO").get(null), message);
        Class.forName("java.util.logging.Handler").getMethod("publish", record.getClass()).invoke(handler, record);
    }

    private static void close(Object handler) throws Exception {
        Class.forName("java.util.logging.Handler").getMethod("close").invoke(handler);
    }

    /** FileHandler's rotation and lock files: two handlers on one pattern, then appending. */
    private static void logging() throws Exception {
        Path logs = Files.createDirectories(dir.resolve("logs"));
        String pattern = logs.resolve("app%g.log").toString();
        Object h1 = fileHandler(pattern, 2000, 3, false);
        Object h2 = fileHandler(pattern, 2000, 3, false); // the first holds app%g.log's lock: .1
        for (int i = 0; i < 100; i++) {
            publish(h1, "message number " + i);
        }
        try (Stream<Path> s = Files.list(logs)) {
            print("logging.open", s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        close(h1);
        close(h2);
        try (Stream<Path> s = Files.list(logs)) {
            print("logging.closed", s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Object h3 = fileHandler(logs.resolve("app%u.log").toString(), 0, 1, true);
        publish(h3, "appended");
        close(h3);
        print("logging.append", Files.readString(logs.resolve("app0.log")).contains("appended"));
    }

    /**
     * A watch service's events of a file created, written and deleted: the key is the one
     * registered, its watchable the directory registered, the context equal to the file's name.
     */
    private static void watch() throws Exception {
        Path watched = Files.createDirectories(dir.resolve("watched"));
        Path f = watched.resolve("w.txt");
        try (WatchService ws = FileSystems.getDefault().newWatchService()) {
            WatchKey registered = watched.register(ws, StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
            Files.writeString(f, "1");
            Files.delete(f);
            Set<String> kinds = new TreeSet<>();
            Set<String> checks = new TreeSet<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!kinds.contains("ENTRY_DELETE") && System.nanoTime() < deadline) {
                WatchKey key = ws.poll(1, TimeUnit.SECONDS);
                if (key == null) {
                    continue;
                }
                for (WatchEvent<?> e : key.pollEvents()) {
                    kinds.add(e.kind().name());
                    Path context = (Path) e.context();
                    Path resolved = ((Path) key.watchable()).resolve(context);
                    checks.add("key=" + (key == registered) + " watchable=" + key.watchable().equals(watched)
                            + " context=" + context.equals(Path.of("w.txt")) + "," + Path.of("w.txt").equals(context)
                            + " resolved=" + resolved.equals(f) + "," + Set.of(f).contains(resolved)
                            + " sameFileSystem=" + (context.getFileSystem() == f.getFileSystem()));
                }
                key.reset();
            }
            print("watch.kinds", kinds);
            print("watch.checks", checks);
            registered.cancel();
            print("watch.cancelled", registered.isValid() + " " + registered.reset());
        }
    }
}
