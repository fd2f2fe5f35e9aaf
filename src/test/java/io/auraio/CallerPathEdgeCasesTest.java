package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.spi.AuraFileSystemProvider;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.Posix;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessMode;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Edge cases of the paths that answer on the caller (scattering reads and gathering writes of the
 * page cache and tmpfs, cached metadata) and of the kernel's copy between two files, each against
 * the JDK: argument errors, empty and read-only buffers, more than {@code IOV_MAX} buffers, a file
 * partly in the page cache, odd names (loops, names too long, names under files), transfers past
 * the end, onto themselves and into {@code APPEND} targets.
 */
@ExtendWith(IoUringAvailable.class)
class CallerPathEdgeCasesTest {
    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static FileChannel open(boolean aura, Path path, OpenOption... options) throws Exception {
        return aura ? AuraFileChannel.open(shared.engine(), path, options) : FileChannel.open(path, options);
    }

    /** "returned x" or "threw Class: message", run on a virtual thread. */
    private static String outcome(Callable<?> task) throws InterruptedException {
        Object[] out = new Object[1];
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                out[0] = "returned " + task.call();
            } catch (Throwable e) {
                out[0] = "threw " + e.getClass().getName()
                        + (e instanceof NullPointerException ? "" : ": " + e.getMessage());
            }
        });
        t.join();
        return (String) out[0];
    }

    // ---- tmpfs: reads on the caller -------------------------------------------------------------

    private static Path tmpfsDirectory() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm)
                && "tmpfs".equals(Files.getFileStore(shm).type()), "no tmpfs /dev/shm");
        return Files.createTempDirectory(shm, "auraio-edge-cases");
    }

    private static void deleteTree(Path root) throws Exception {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Scattering reads and gathering writes of a tmpfs file (pread/pwrite on the caller): the JDK's. */
    @Test
    void vectoredTransfersOfATmpfsFileAreTheJdks() throws Exception {
        Path shm = tmpfsDirectory();
        try {
            byte[] data = TestSupport.nonZeroBytes(50_000, 9);
            List<Object> results = new ArrayList<>();
            for (boolean aura : new boolean[] {false, true}) {
                Path file = Files.write(shm.resolve("v-" + aura), data);
                results.add(TestSupport.onVirtualThread(() -> {
                    List<Object> r = new ArrayList<>();
                    try (FileChannel ch = open(aura, file, READ, WRITE); Arena shared = Arena.ofShared()) {
                        ch.position(40_000);
                        ByteBuffer[] bufs = {ByteBuffer.allocate(3000), ByteBuffer.allocateDirect(0),
                            shared.allocate(5000).asByteBuffer(), ByteBuffer.allocateDirect(4000)};
                        r.add(ch.read(bufs));
                        r.add(ch.read(bufs));
                        r.add(ch.position());
                        for (ByteBuffer b : bufs) {
                            r.add(b.position());
                            r.add(Arrays.hashCode(Arrays.copyOf(toArray(b.flip()), b.limit())));
                        }
                        ch.position(60_000);
                        r.add(ch.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {1, 2, 3}),
                            ByteBuffer.allocateDirect(5).put(new byte[] {4, 5, 6, 7, 8}).flip()}, 0, 2));
                        r.add(ch.position());
                        r.add(ch.size());
                    }
                    return r;
                }));
                results.add(Arrays.hashCode(Files.readAllBytes(file)));
            }
            assertThat(results.get(2)).isEqualTo(results.get(0));
            assertThat(results.get(3)).isEqualTo(results.get(1));
        } finally {
            deleteTree(shm);
        }
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }


    // ---- scattering reads over a file partly in the page cache (ext4: RWF_NOWAIT) ------------

    /**
     * Only the first page of the file is in the page cache: the caller's preadv2(RWF_NOWAIT)
     * stops at the page boundary (at a buffer's end, or inside one), the rest of the buffers
     * are read by the ring. Counts, positions and bytes are the JDK's.
     */
    @Test
    void aScatteringReadOfAFilePartlyInThePageCacheIsTheJdks() throws Exception {
        byte[] data = TestSupport.nonZeroBytes(64 * 1024, 21);
        Path file = Files.write(dir.resolve("partly"), data);
        int[][] layouts = {{1000, 3096, 5000, 100, 60000}, {3000, 3000, 3000, 70000}, {4096, 4096}, {1, 100000}};
        for (int[] layout : layouts) {
            for (int kind = 0; kind < 3; kind++) {
                int k = kind;
                List<Object> results = new ArrayList<>();
                for (boolean aura : new boolean[] {true, false}) {
                    assumeTrue(Posix.keepOnlyTheFirstPages(file, 1), "pages cannot be dropped here");
                    results.add(TestSupport.onVirtualThread(() -> {
                        try (FileChannel ch = open(aura, file, READ); Arena shared = Arena.ofShared()) {
                            ByteBuffer[] bufs = new ByteBuffer[layout.length];
                            for (int i = 0; i < layout.length; i++) {
                                bufs[i] = switch ((i + k) % 3) {
                                    case 0 -> ByteBuffer.allocate(layout[i]);
                                    case 1 -> ByteBuffer.allocateDirect(layout[i]);
                                    default -> shared.allocate(layout[i]).asByteBuffer();
                                };
                            }
                            List<Object> r = new ArrayList<>();
                            r.add(ch.read(bufs));
                            r.add(ch.position());
                            ByteBuffer all = ByteBuffer.allocate(Arrays.stream(layout).sum());
                            for (ByteBuffer b : bufs) {
                                r.add(b.position());
                                all.put(b.flip());
                            }
                            r.add(Arrays.hashCode(all.array()));
                            return r;
                        }
                    }));
                }
                assertThat(results.get(0)).as("layout %s kind %d", Arrays.toString(layout), kind)
                        .isEqualTo(results.get(1));
            }
        }
    }

    // ---- argument edge cases of the vectored calls -------------------------------------------

    @Test
    void vectoredArgumentEdgeCasesAreTheJdks() throws Exception {
        byte[] data = TestSupport.nonZeroBytes(20_000, 4);
        List<List<String>> results = new ArrayList<>();
        for (boolean aura : new boolean[] {false, true}) {
            Path file = Files.write(dir.resolve("edges-" + aura), data);
            List<String> r = new ArrayList<>();
            try (FileChannel ch = open(aura, file, READ, WRITE); Arena shared = Arena.ofShared()) {
                r.add(outcome(() -> ch.read(new ByteBuffer[0])));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5)}, 1, 0)));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5)}, 1, 1)));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5)}, -1, 1)));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5), null}, 0, 2)));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5), null}, 0, 1)));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(5),
                    ByteBuffer.allocate(0).asReadOnlyBuffer()})));
                r.add(outcome(() -> ch.position()));
                r.add(outcome(() -> ch.write(new ByteBuffer[] {ByteBuffer.allocate(0)})));
                r.add(outcome(() -> ch.write(new ByteBuffer[] {ByteBuffer.allocate(3).asReadOnlyBuffer()})));
                // Buffers with position == limit, among others.
                ByteBuffer full = ByteBuffer.allocate(10).position(10);
                ByteBuffer a = ByteBuffer.allocateDirect(7);
                r.add(outcome(() -> ch.read(new ByteBuffer[] {full, a, full}) + " " + a.position()));
                // A closed shared arena's buffer.
                Arena gone = Arena.ofShared();
                ByteBuffer closed = gone.allocate(10).asByteBuffer();
                gone.close();
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(3), closed})));
                r.add(outcome(() -> ch.position()));
                // A confined arena's buffer from another thread (outcome runs on a virtual thread).
                try (Arena confined = Arena.ofConfined()) {
                    ByteBuffer mine = confined.allocate(10).asByteBuffer();
                    r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(3), mine})));
                }
                r.add(outcome(() -> ch.position()));
                // At the end: -1 with room, 0 without.
                ch.position(20_000);
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(3)})));
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(0)})));
                ch.position(30_000);
                r.add(outcome(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(3), shared.allocate(3).asByteBuffer()})));
                r.add(outcome(() -> ch.position()));
                // Overlapping slices of one direct buffer: filled in iovec order.
                ch.position(100);
                ByteBuffer base = ByteBuffer.allocateDirect(20);
                ByteBuffer first = base.slice(5, 10);
                ByteBuffer second = base.slice(0, 10);
                r.add(outcome(() -> ch.read(new ByteBuffer[] {first, second}) + " "
                        + Arrays.toString(toArray(base.duplicate().clear()))));
                // A gathering write with the same buffer twice.
                ByteBuffer twice = ByteBuffer.wrap(new byte[] {9, 8, 7});
                ch.position(0);
                r.add(outcome(() -> ch.write(new ByteBuffer[] {twice, twice}) + " " + twice.position() + " "
                        + ch.position()));
            }
            r.add("content " + Arrays.hashCode(Files.readAllBytes(file)));
            results.add(r);
        }
        assertThat(results.get(1)).isEqualTo(results.get(0));
    }

    /** More than IOV_MAX buffers: the first 1024 non-empty ones, as the JDK's readv/writev. */
    @Test
    void moreThanIovMaxBuffersAreTheJdks() throws Exception {
        byte[] data = TestSupport.nonZeroBytes(30_000, 8);
        List<Object> results = new ArrayList<>();
        for (boolean aura : new boolean[] {false, true}) {
            Path file = Files.write(dir.resolve("iov-" + aura), data);
            results.add(TestSupport.onVirtualThread(() -> {
                List<Object> r = new ArrayList<>();
                try (FileChannel ch = open(aura, file, READ, WRITE)) {
                    ByteBuffer[] bufs = new ByteBuffer[1500];
                    for (int i = 0; i < bufs.length; i++) {
                        bufs[i] = i % 7 == 0 ? ByteBuffer.allocate(0) : i % 2 == 0 ? ByteBuffer.allocate(10)
                                : ByteBuffer.allocateDirect(10);
                    }
                    r.add(ch.read(bufs));
                    r.add(ch.position());
                    int filled = 0;
                    for (ByteBuffer b : bufs) {
                        filled += b.position() == 10 ? 1 : 0;
                        b.flip();
                    }
                    r.add(filled);
                    ch.position(100_000);
                    r.add(ch.write(bufs));
                    r.add(ch.position());
                    r.add(ch.size());
                }
                return r;
            }));
            results.add(Arrays.hashCode(Files.readAllBytes(file)));
        }
        assertThat(results.get(2)).isEqualTo(results.get(0));
        assertThat(results.get(3)).isEqualTo(results.get(1));
    }

    // ---- transfers -----------------------------------------------------------------------------

    @Test
    void transferEdgeCasesAreTheJdks() throws Exception {
        byte[] data = TestSupport.nonZeroBytes(100_000, 12);
        List<List<String>> results = new ArrayList<>();
        for (boolean aura : new boolean[] {false, true}) {
            Path src = Files.write(dir.resolve("src-" + aura), data);
            Path dst = Files.write(dir.resolve("dst-" + aura), new byte[50]);
            Path self = Files.write(dir.resolve("self-" + aura), data);
            Path selfBig = Files.write(dir.resolve("selfbig-" + aura), data);
            Path app = Files.write(dir.resolve("app-" + aura), new byte[7]);
            List<String> r = new ArrayList<>();
            try (FileChannel in = open(aura, src, READ);
                 FileChannel out = open(aura, dst, READ, WRITE);
                 FileChannel readOnly = open(aura, dst, READ);
                 FileChannel s = open(aura, self, READ, WRITE);
                 FileChannel sb = open(aura, selfBig, READ, WRITE);
                 FileChannel appender = open(aura, app, WRITE, APPEND)) {
                r.add(outcome(() -> in.transferTo(0, 10, readOnly)));
                r.add(outcome(() -> in.transferTo(-1, 10, out)));
                r.add(outcome(() -> in.transferTo(0, -1, out)));
                r.add(outcome(() -> in.transferTo(200_000, 10, out) + " " + out.position()));
                r.add(outcome(() -> in.transferTo(100_000, 10, out) + " " + out.position()));
                r.add(outcome(() -> in.transferTo(5, 0, out) + " " + out.position()));
                out.position(1000); // past the end: a hole before it
                r.add(outcome(() -> in.transferTo(99_990, 100, out) + " " + out.position() + " " + out.size()));
                r.add(outcome(() -> out.transferFrom(in, -1, 5)));
                r.add(outcome(() -> readOnly.transferFrom(in, 0, 5)));
                in.position(99_995);
                r.add(outcome(() -> out.transferFrom(in, 5000, 100) + " " + in.position() + " " + out.size()));
                in.position(200_000);
                r.add(outcome(() -> out.transferFrom(in, 0, 100) + " " + in.position()));
                in.position(0);
                r.add(outcome(() -> out.transferFrom(in, 7000, 0) + " " + in.position() + " " + out.size()));
                // APPEND target: at the end whatever the target's position.
                r.add(outcome(() -> in.transferTo(10, 20, appender) + " " + appender.position()));
                // Into itself, without overlap, then overlapping (small: read-write loop in both).
                r.add(outcome(() -> s.transferTo(0, 5000, s) + " " + s.position()));
                s.position(100);
                r.add(outcome(() -> s.transferTo(0, 3000, s) + " " + s.position()));
                s.position(20_000);
                r.add(outcome(() -> s.transferFrom(s, 0, 4000) + " " + s.position() + " " + s.size()));
                // Large into itself without overlap (copy_file_range of one descriptor).
                sb.position(100_000);
                r.add(outcome(() -> sb.transferTo(10_000, 60_000, sb) + " " + sb.position() + " " + sb.size()));
            }
            r.add("dst " + Arrays.hashCode(Files.readAllBytes(dst)));
            r.add("app " + Arrays.hashCode(Files.readAllBytes(app)));
            r.add("self " + Arrays.hashCode(Files.readAllBytes(self)));
            r.add("selfBig " + Arrays.hashCode(Files.readAllBytes(selfBig)));
            results.add(r);
        }
        assertThat(results.get(1)).isEqualTo(results.get(0));
    }

    // ---- cached metadata -------------------------------------------------------------------------

    @Test
    void cachedMetadataOfOddNamesIsTheJdks() throws Exception {
        Path base = dir.path().toAbsolutePath();
        Path file = Files.write(base.resolve("file"), new byte[33]);
        Files.createSymbolicLink(base.resolve("dangling"), Path.of("nowhere"));
        Files.createSymbolicLink(base.resolve("loop1"), Path.of("loop2"));
        Files.createSymbolicLink(base.resolve("loop2"), Path.of("loop1"));
        Files.createSymbolicLink(base.resolve("tofile"), Path.of("file"));
        Files.createDirectories(base.resolve("d"));
        Path fifo = io.auraio.testing.Fifo.create(base.resolve("fifo"));
        String longName = "x".repeat(300);
        Path relative = Path.of("").toAbsolutePath().relativize(file);
        List<Path> paths = List.of(file, base.resolve("dangling"), base.resolve("loop1"), base.resolve("tofile"),
                base.resolve("d"), fifo, base.resolve(longName), base.resolve("y".repeat(250) + "/" + "z".repeat(250)),
                base.resolve("file/child"), base.resolve("missing"), Path.of(""), relative,
                base.resolve("d/../file"), base.resolve("loop1/x"), Path.of("/"), base.resolve("dangling/x"));
        for (int round = 0; round < 2; round++) { // the second with every name cached
            for (Path p : paths) {
                List<Function<Boolean, String>> calls = List.of(
                    ours -> call(ours, () -> ours ? AuraFiles.exists(p) : Files.exists(p)),
                    ours -> call(ours, () -> ours ? AuraFiles.exists(p, LinkOption.NOFOLLOW_LINKS)
                            : Files.exists(p, LinkOption.NOFOLLOW_LINKS)),
                    ours -> call(ours, () -> attrs(ours ? AuraFiles.readAttributes(p, BasicFileAttributes.class)
                            : Files.readAttributes(p, BasicFileAttributes.class))),
                    ours -> call(ours, () -> attrs(ours ? AuraFiles.readAttributes(p, BasicFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS)
                            : Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS))),
                    ours -> call(ours, () -> ours ? AuraFiles.size(p) : Files.size(p)),
                    ours -> call(ours, () -> {
                        if (ours) {
                            AuraFiles.checkAccess(p, AccessMode.READ, AccessMode.EXECUTE);
                        } else {
                            p.getFileSystem().provider().checkAccess(p, AccessMode.READ, AccessMode.EXECUTE);
                        }
                        return "ok";
                    }),
                    ours -> call(ours, () -> {
                        if (ours) {
                            AuraFiles.checkAccess(p);
                        } else {
                            p.getFileSystem().provider().checkAccess(p);
                        }
                        return "ok";
                    }),
                    ours -> call(ours, () -> ours ? AuraFiles.isSameFile(p, file) : Files.isSameFile(p, file)),
                    ours -> call(ours, () -> ours ? AuraFiles.createDirectory(p) : Files.createDirectory(p)));
                for (int c = 0; c < calls.size(); c++) {
                    if (c == 8 && p.endsWith("missing")) {
                        continue; // would create it
                    }
                    String theirs = calls.get(c).apply(false);
                    String mine = calls.get(c).apply(true);
                    assertThat(mine).as("call %d of %s", c, p).isEqualTo(theirs);
                }
            }
        }
    }

    private static String attrs(BasicFileAttributes a) {
        return a.size() + " " + a.isRegularFile() + a.isDirectory() + a.isSymbolicLink() + a.isOther() + " "
                + a.lastModifiedTime() + " " + a.creationTime();
    }

    /** The outcome of {@code task}: on a virtual thread for AuraFiles, on this one for Files. */
    private static String call(boolean ours, Callable<?> task) {
        try {
            if (ours) {
                return outcome(task);
            }
            try {
                return "returned " + task.call();
            } catch (Throwable e) {
                return "threw " + e.getClass().getName() + ": " + e.getMessage();
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
