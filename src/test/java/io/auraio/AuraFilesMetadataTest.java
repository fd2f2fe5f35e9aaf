package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.offload.MetadataRouting;
import io.auraio.testing.FaultFs;
import io.auraio.testing.FileOps;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link AuraFiles}' exists, delete, createDirectories, move, list and walk against {@link Files}
 * from virtual threads (so they run on the blocking offload): the same answers and exceptions; and
 * on a FUSE file system with slow metadata, a ticker keeps running.
 */
class AuraFilesMetadataTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @FunctionalInterface
    interface Scenario {
        Object run(FileOps ops, Path base) throws Exception;
    }

    static Stream<Arguments> scenarios() {
        List<Arguments> all = new ArrayList<>();
        add(all, "exists", (o, b) -> o.exists(b.resolve("f")) + " " + o.exists(b.resolve("nope")) + " "
                + o.exists(b.resolve("dangling")) + " " + o.exists(b.resolve("dangling"), LinkOption.NOFOLLOW_LINKS));
        add(all, "delete", (o, b) -> {
            o.delete(b.resolve("f"));
            return Files.exists(b.resolve("f"));
        });
        add(all, "delete missing", (o, b) -> {
            o.delete(b.resolve("nope"));
            return "ok";
        });
        add(all, "delete non-empty directory", (o, b) -> {
            o.delete(b.resolve("d"));
            return "ok";
        });
        add(all, "createDirectories", (o, b) -> o.createDirectories(b.resolve("x/y/z")) + " "
                + Files.isDirectory(b.resolve("x/y/z")));
        add(all, "createDirectories existing", (o, b) -> o.createDirectories(b.resolve("d")));
        add(all, "createDirectories over a file", (o, b) -> o.createDirectories(b.resolve("f")));
        add(all, "createDirectories below a file", (o, b) -> o.createDirectories(b.resolve("f/g")));
        add(all, "move", (o, b) -> o.move(b.resolve("f"), b.resolve("g")) + " " + Files.exists(b.resolve("g")));
        add(all, "move onto existing", (o, b) -> o.move(b.resolve("f"), b.resolve("d")));
        add(all, "move replacing", (o, b) -> o.move(b.resolve("f"), b.resolve("d/a"), StandardCopyOption.REPLACE_EXISTING)
                + " " + Files.size(b.resolve("d/a")));
        add(all, "move missing", (o, b) -> o.move(b.resolve("nope"), b.resolve("g")));
        add(all, "delete empty directory", (o, b) -> {
            o.delete(b.resolve("d/s/b"));
            o.delete(b.resolve("d/s"));
            return Files.exists(b.resolve("d/s"));
        });
        add(all, "delete a dangling link", (o, b) -> {
            o.delete(b.resolve("dangling"));
            return Files.exists(b.resolve("dangling"), LinkOption.NOFOLLOW_LINKS);
        });
        add(all, "delete below a file", (o, b) -> {
            o.delete(b.resolve("f/x"));
            return "ok";
        });
        add(all, "deleteIfExists", (o, b) -> o.deleteIfExists(b.resolve("f")) + " " + o.deleteIfExists(b.resolve("f"))
                + " " + o.deleteIfExists(b.resolve("nope/x")));
        add(all, "deleteIfExists non-empty directory", (o, b) -> o.deleteIfExists(b.resolve("d")));
        add(all, "createDirectory", (o, b) -> o.createDirectory(b.resolve("n")) + " " + Files.isDirectory(b.resolve("n")));
        add(all, "createDirectory with permissions", (o, b) -> {
            o.createDirectory(b.resolve("n"), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx--x---")));
            return PosixFilePermissions.toString(Files.getPosixFilePermissions(b.resolve("n")));
        });
        add(all, "createDirectory existing", (o, b) -> o.createDirectory(b.resolve("d")));
        add(all, "createDirectory over a file", (o, b) -> o.createDirectory(b.resolve("f")));
        add(all, "createDirectory without parent", (o, b) -> o.createDirectory(b.resolve("nope/n")));
        add(all, "createDirectory unsupported attribute", (o, b) -> o.createDirectory(b.resolve("n"),
                new FileAttribute<Boolean>() {
                    public String name() {
                        return "dos:hidden";
                    }

                    public Boolean value() {
                        return true;
                    }
                }));
        add(all, "createDirectories over a link to a directory", (o, b) -> {
            Files.createSymbolicLink(b.resolve("dl"), b.resolve("d"));
            return o.createDirectories(b.resolve("dl"));
        });
        add(all, "readAttributes", (o, b) -> basic(o.readAttributes(b.resolve("f"))) + " "
                + basic(o.readAttributes(b.resolve("d"))));
        add(all, "readAttributes of a link, followed and not", (o, b) -> {
            Files.createSymbolicLink(b.resolve("l"), Path.of("f")); // relative: the same link in both trees
            return basic(o.readAttributes(b.resolve("l"))) + " "
                    + basic(o.readAttributes(b.resolve("l"), LinkOption.NOFOLLOW_LINKS));
        });
        add(all, "readAttributes missing", (o, b) -> o.readAttributes(b.resolve("nope")));
        add(all, "readAttributes of a dangling link", (o, b) -> o.readAttributes(b.resolve("dangling")));
        add(all, "move replacing a file", (o, b) -> o.move(b.resolve("f"), b.resolve("d/a"),
                StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE) + " " + Files.size(b.resolve("d/a")));
        add(all, "move atomic onto existing", (o, b) -> o.move(b.resolve("f"), b.resolve("d/a"),
                StandardCopyOption.ATOMIC_MOVE) + " " + Files.size(b.resolve("d/a")));
        add(all, "move onto itself", (o, b) -> o.move(b.resolve("f"), b.resolve("f")) + " " + Files.size(b.resolve("f")));
        add(all, "move onto a hard link of itself", (o, b) -> {
            Files.createLink(b.resolve("h"), b.resolve("f"));
            return o.move(b.resolve("f"), b.resolve("h")) + " " + Files.exists(b.resolve("f"));
        });
        add(all, "move a directory", (o, b) -> o.move(b.resolve("d"), b.resolve("e")) + " "
                + Files.exists(b.resolve("e/m79")));
        add(all, "move a directory over an empty one", (o, b) -> {
            Files.createDirectory(b.resolve("empty"));
            return o.move(b.resolve("d/s"), b.resolve("empty"), StandardCopyOption.REPLACE_EXISTING) + " "
                    + Files.exists(b.resolve("empty/b"));
        });
        add(all, "move a file over a directory", (o, b) -> o.move(b.resolve("f"), b.resolve("d/s"),
                StandardCopyOption.REPLACE_EXISTING));
        add(all, "move a file over an empty directory", (o, b) -> {
            Files.createDirectory(b.resolve("empty"));
            return o.move(b.resolve("f"), b.resolve("empty"), StandardCopyOption.REPLACE_EXISTING) + " "
                    + Files.isRegularFile(b.resolve("empty"));
        });
        add(all, "move a directory over a file", (o, b) -> o.move(b.resolve("d/s"), b.resolve("f"),
                StandardCopyOption.REPLACE_EXISTING) + " " + Files.isDirectory(b.resolve("f")));
        add(all, "move to a missing directory", (o, b) -> o.move(b.resolve("f"), b.resolve("nope/g")));
        add(all, "createSymbolicLink", (o, b) -> o.createSymbolicLink(b.resolve("s"), Path.of("f")) + " "
                + Files.readSymbolicLink(b.resolve("s")) + " " + Files.size(b.resolve("s")));
        add(all, "createSymbolicLink existing", (o, b) -> o.createSymbolicLink(b.resolve("f"), Path.of("x")));
        add(all, "createSymbolicLink without parent", (o, b) -> o.createSymbolicLink(b.resolve("nope/s"), Path.of("x")));
        add(all, "createLink", (o, b) -> o.createLink(b.resolve("h"), b.resolve("f")) + " "
                + Files.isSameFile(b.resolve("h"), b.resolve("f")));
        add(all, "createLink of a link links the link", (o, b) -> o.createLink(b.resolve("h"), b.resolve("dangling"))
                + " " + Files.isSymbolicLink(b.resolve("h")));
        add(all, "createLink existing", (o, b) -> o.createLink(b.resolve("f"), b.resolve("d/a")));
        add(all, "createLink to missing", (o, b) -> o.createLink(b.resolve("h"), b.resolve("nope")));
        add(all, "createLink of a directory", (o, b) -> o.createLink(b.resolve("h"), b.resolve("d")));
        add(all, "list", (o, b) -> names(o.list(b.resolve("d")), b));
        add(all, "list of a file", (o, b) -> names(o.list(b.resolve("f")), b));
        add(all, "list missing", (o, b) -> names(o.list(b.resolve("nope")), b));
        add(all, "walk", (o, b) -> names(o.walk(b, Integer.MAX_VALUE), b));
        add(all, "walk to depth 1", (o, b) -> names(o.walk(b, 1), b));
        add(all, "walk missing", (o, b) -> names(o.walk(b.resolve("nope"), Integer.MAX_VALUE), b));
        add(all, "walk negative depth", (o, b) -> names(o.walk(b, -1), b));
        add(all, "walk following a loop", (o, b) -> {
            Files.createSymbolicLink(b.resolve("d/loop"), b);
            return names(o.walk(b, Integer.MAX_VALUE, FileVisitOption.FOLLOW_LINKS), b);
        });
        return all.stream();
    }

    private static void add(List<Arguments> all, String name, Scenario s) {
        all.add(Arguments.of(name, s));
    }

    /**
     * The basic attributes the JDK and {@link FileStat} must agree on, as a string. The two trees are made one after the other, so a
     * time the test did not set (a link a scenario makes) is compared as "recent", not to the
     * second, which two creations can straddle.
     */
    private static String basic(BasicFileAttributes a) {
        long mtime = a.lastModifiedTime().toMillis() / 1000;
        String time = mtime == FIXED_MTIME.toMillis() / 1000 ? String.valueOf(mtime)
                : Math.abs(System.currentTimeMillis() / 1000 - mtime) < 600 ? "recent" : String.valueOf(mtime);
        return a.size() + " " + a.isRegularFile() + " " + a.isDirectory() + " " + a.isSymbolicLink() + " "
                + a.isOther() + " " + time + " " + (a.fileKey() != null);
    }

    /** Every entry {@link #populate} makes gets this modification time, the same in both trees. */
    private static final java.nio.file.attribute.FileTime FIXED_MTIME =
            java.nio.file.attribute.FileTime.fromMillis(1_700_000_000_000L);

    /** The stream's paths relative to {@code base}, in its order; closes it. */
    private static List<String> names(Stream<Path> stream, Path base) {
        try (stream) {
            return stream.map(p -> base.relativize(p).toString()).toList();
        }
    }

    private static void populate(Path base) throws IOException {
        Files.createDirectories(base.resolve("d/s"));
        Files.write(base.resolve("f"), new byte[3]);
        Files.createFile(base.resolve("d/a"));
        Files.createFile(base.resolve("d/s/b"));
        for (int i = 0; i < 80; i++) { // more than one batch
            Files.createFile(base.resolve("d/m" + i));
        }
        Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        // Children first: setting a child's time leaves its directory's modification time alone.
        try (Stream<Path> all = Files.walk(base)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class,
                        LinkOption.NOFOLLOW_LINKS).setTimes(FIXED_MTIME, null, null);
            }
        }
    }

    private static String outcome(Scenario s, FileOps ops, Path base) throws InterruptedException {
        return TestSupport.outcomeOnVirtualThread(() -> s.run(ops, base), base);
    }

    /** The same scenarios with the metadata calls that have an opcode made as ring requests ({@code -Dauraio.metadata=ring}). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void answersAsFilesThroughTheRing(String name, Scenario scenario) throws Exception {
        boolean was = MetadataRouting.ring;
        MetadataRouting.ring = true;
        try {
            answersAsFilesFromAVirtualThread(name, scenario);
        } finally {
            MetadataRouting.ring = was;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void answersAsFilesFromAVirtualThread(String name, Scenario scenario) throws Exception {
        Path jdkBase = dir.path().toAbsolutePath().resolve("jdk");
        Path auraBase = dir.path().toAbsolutePath().resolve("aura");
        populate(jdkBase);
        populate(auraBase);
        String jdk = outcome(scenario, FileOps.JDK, jdkBase);
        String aura = outcome(scenario, FileOps.AURA, auraBase);
        if (name.startsWith("list") || name.startsWith("walk")) {
            // Two directories need not list in the same order: the same tree must, below.
            assertThat(sortedLines(aura)).as(name).isEqualTo(sortedLines(jdk));
        } else {
            assertThat(aura).as(name).isEqualTo(jdk);
        }
    }

    private static List<String> sortedLines(String outcome) {
        return outcome.startsWith("returned [")
                ? Stream.of(outcome.substring(10, outcome.length() - 1).split(", ")).sorted().toList()
                : List.of(outcome);
    }

    @Test
    void fromAVirtualThreadTheRoutedCallsAreRingRequests() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(AuraIO.backend() == Backend.IO_URING,
                "io_uring is not usable here: " + AuraIO.fallbackCause().orElse(""));
        Engine engine = AuraIO.defaultEngine();
        boolean was = MetadataRouting.ring;
        MetadataRouting.ring = true;
        try {
            ringRequests(engine);
        } finally {
            MetadataRouting.ring = was;
        }
    }

    private void ringRequests(Engine engine) throws Exception {
        Path b = dir.path().toAbsolutePath().resolve("ring");
        populate(b);
        List<Scenario> calls = List.of(
                (o, p) -> o.exists(p.resolve("f")),
                (o, p) -> o.readAttributes(p.resolve("f")),
                (o, p) -> o.createDirectory(p.resolve("n")),
                (o, p) -> o.createDirectories(p.resolve("n")),
                (o, p) -> o.createSymbolicLink(p.resolve("s"), Path.of("f")),
                (o, p) -> o.createLink(p.resolve("h"), p.resolve("f")),
                (o, p) -> o.move(p.resolve("h"), p.resolve("h2")),
                (o, p) -> {
                    o.delete(p.resolve("h2"));
                    return null;
                },
                (o, p) -> o.deleteIfExists(p.resolve("s")));
        for (int i = 0; i < calls.size(); i++) {
            Scenario call = calls.get(i);
            long before = engine.stats().opsCompleted();
            String outcome = outcome(call, FileOps.AURA, b);
            assertThat(outcome).as("call %d", i).startsWith("returned");
            if (i >= 2) { // exists and readAttributes of cached names are answered on the caller (CachedMetadataTest)
                assertThat(engine.stats().opsCompleted()).as("ring requests made by call %d", i).isGreaterThan(before);
            }
        }
    }

    @Test
    void listAndWalkGiveFilesOrderOnTheSameTree() throws Exception {
        Path base = dir.path().toAbsolutePath().resolve("t");
        populate(base);
        for (Scenario s : List.<Scenario>of((o, b) -> names(o.list(b.resolve("d")), b),
                (o, b) -> names(o.walk(b, Integer.MAX_VALUE), b))) {
            assertThat(outcome(s, FileOps.AURA, base)).isEqualTo(outcome(s, FileOps.JDK, base)).contains("m79");
        }
    }

    @Test
    void aTickerKeepsRunningWhileVirtualThreadsListAndWalkASlowFileSystem() throws Exception {
        try (FaultFs fs = FixtureAvailability.mountFaultFs("aurafiles-metadata")) {
            for (int i = 0; i < 16; i++) {
                Files.createDirectories(fs.backing().resolve("t" + i + "/s"));
                Files.createFile(fs.backing().resolve("t" + i + "/s/f"));
            }
            fs.metaLatency(Duration.ofMillis(20));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong calls = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                Path mine = fs.path("t" + (i % 16));
                workers.add(Thread.ofVirtual().start(() -> {
                    try {
                        while (!stop.get()) {
                            assertThat(AuraFiles.exists(mine.resolve("s/f"))).isTrue();
                            try (Stream<Path> s = AuraFiles.walk(mine)) {
                                assertThat(s.count()).isEqualTo(3);
                            }
                            calls.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            long start = System.nanoTime();
            AtomicLong ticks = new AtomicLong();
            Thread ticker = Thread.ofVirtual().start(() -> {
                while (System.nanoTime() - start < Duration.ofSeconds(2).toNanos()) {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                    ticks.incrementAndGet();
                }
            });
            Thread.sleep(2000);
            long seen = ticks.get();
            stop.set(true);
            TestSupport.joinAll(workers);
            TestSupport.joinAll(List.of(ticker));
            assertThat(failure.get()).isNull();
            System.out.println("[AuraFiles on 20 ms metadata] ticker ran " + seen + " times in 2 s; "
                    + calls.get() + " exists+walk rounds");
            assertThat(calls.get()).isPositive();
            assertThat(seen).as("ticker runs in 2 s (~2,000 if never late)").isGreaterThan(200);
        }
    }
}
