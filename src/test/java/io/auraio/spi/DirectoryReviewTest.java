package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraFiles;
import io.auraio.internal.offload.MetadataRouting;
import io.auraio.testing.Commands;
import io.auraio.testing.Descriptors;
import io.auraio.testing.FileOps;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AccessMode;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile review of directory listing, walking and the attribute calls beside them, as a user
 * porting from {@code java.nio.file.Files} meets them: thousands of entries, names with a newline,
 * bytes that are not UTF-8, 255-byte names, a tree deeper than {@code PATH_MAX}, links that loop
 * or dangle, streams closed while read (from the reader's thread and from another), filters that
 * throw, interrupts during a long walk. Each case runs through {@code Files} on the platform's
 * paths (the oracle), through {@link AuraFiles} on the same paths, and through {@code Files} on
 * {@link AuraFileSystemProvider}'s paths, each on a platform and a virtual thread, and the last two
 * again on a virtual thread with {@code -Dauraio.metadata=ring} (stat, mkdir, unlink, rename through
 * the ring), on eight identical trees, and requires the oracle's outcome (result, or exception type
 * and message) and no descriptor left open.
 */
class DirectoryReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private FileSystem fs;
    /**
     * How many files each tree's big/ holds: {@value #MANY}, many batches of a listing, unless a
     * test that lists no tree through the calls under test needs big/ only not empty.
     */
    private int bigEntries = MANY;

    @BeforeEach
    void createProvider() throws Exception {
        fs = new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
        // The default engine's ring and the offload's threads, started by a first call, stay open.
        Path warm = Files.writeString(dir.path().resolve("warm"), "warm");
        AuraFiles.size(warm);
        AuraFiles.readAllBytes(warm);
        TestSupport.onVirtualThread(() -> {
            try (Stream<Path> s = AuraFiles.list(dir.path())) {
                return s.count() + AuraFiles.size(warm) + AuraFiles.readAllBytes(warm).length;
            }
        });
    }

    @FunctionalInterface
    interface Scenario {
        Object run(FileOps ops, Path base) throws Exception;
    }

    /**
     * A scenario that only lists and walks, on a tree to which {@code setup} (a sh command run in
     * the tree) has added first: its eight runs share one tree (see {@link #differs}), which spares
     * making thousands of entries eight times.
     */
    record OnOneTree(String setup, Scenario body) implements Scenario {
        @Override
        public Object run(FileOps ops, Path base) throws Exception {
            return body.run(ops, base);
        }
    }

    /** A name that is 255 bytes long, the most a Linux name may be. */
    private static final String NAME_255 = "n".repeat(255);
    /** Stands for the name whose bytes are not UTF-8, which a path can only be given by a listing. */
    private static final String NOT_UTF_8 = "<not UTF-8>";

    /** {@return the entry of {@code base} whose name is not UTF-8, as the listing gives it} */
    private static Path notUtf8(FileOps o, Path base) throws IOException {
        try (Stream<Path> entries = o.list(base)) {
            return entries.filter(p -> p.getFileName().toString().startsWith("bad")).findFirst().orElseThrow();
        }
    }

    /** How many entries the big directory holds: many batches of the offload's 32. */
    private static final int MANY = 100;

    /**
     * f (5 bytes), d/ with d/a.txt, e/ empty, big/ with {@code bigEntries} files, a link to f, a
     * dangling link, a link to itself, a link to d/, a link from d/ up to the base (a cycle when
     * followed), names with a newline, a 255-byte name; {@link #addNotUtf8Names} adds a name whose
     * bytes are not UTF-8.
     */
    private static void populate(Path base, int bigEntries) throws Exception {
        Files.createDirectories(base);
        Files.write(base.resolve("f"), new byte[] {1, 2, 3, 4, 5});
        Files.setLastModifiedTime(base.resolve("f"), FileTime.fromMillis(1_000_000_000_000L));
        Files.createDirectories(base.resolve("d"));
        Files.write(base.resolve("d/a.txt"), new byte[] {9});
        Files.createDirectories(base.resolve("e"));
        Path big = Files.createDirectories(base.resolve("big"));
        for (int i = 0; i < bigEntries; i++) {
            Files.write(big.resolve("file" + i), new byte[0]);
        }
        Files.createSymbolicLink(base.resolve("link"), Path.of("f"));
        Files.createSymbolicLink(base.resolve("dangling"), Path.of("nope"));
        Files.createSymbolicLink(base.resolve("loop"), Path.of("loop"));
        Files.createSymbolicLink(base.resolve("dl"), Path.of("d"));
        Files.createSymbolicLink(base.resolve("d/up"), Path.of(".."));
        Files.write(base.resolve("new\nline"), new byte[] {1});
        Files.write(base.resolve(NAME_255), new byte[] {1, 2});
    }

    /**
     * Gives each of {@code bases}, made by {@link #populate}, its file whose name is not UTF-8,
     * which only a process that speaks bytes can name: one sh for them all, as a process per tree
     * was most of this class's time.
     */
    private static void addNotUtf8Names(Path dir, List<Path> bases) throws Exception {
        StringBuilder command = new StringBuilder("n=\"$(printf 'bad\\377\\376name')\" && for b in");
        for (Path b : bases) {
            command.append(" '").append(dir.relativize(b)).append('\'');
        }
        shell(dir, command.append("; do printf x > \"$b/$n\" || exit 1; done").toString());
    }

    /**
     * Runs {@code command} in {@code dir} with sh: another process changes the tree. Its pipes are
     * closed before this returns ({@link Commands}): left to the JDK's reaper, they were the 3
     * descriptors once seen open just after a walk past PATH_MAX (its scenario makes its tree with
     * sh first).
     */
    private static void shell(Path dir, String command) throws Exception {
        Commands.Ran ran = Commands.run(new ProcessBuilder("sh", "-c", command).directory(dir.toFile()));
        assertThat(ran.succeeded()).as("%s", ran).isTrue();
    }

    /** {@return "returned ..." or the exception's type and message, for a step inside a scenario} */
    static String outcomeOf(Callable<?> c) {
        try {
            return "returned " + c.call();
        } catch (Throwable e) {
            return "threw " + e.getClass().getName() + ": " + e.getMessage();
        }
    }

    /**
     * Runs {@code scenario} on eight fresh trees: through {@code Files} on the platform's paths,
     * {@code AuraFiles} on them and {@code Files} on the provider's, each on a platform and a
     * virtual thread, and the last two with the ring routing on a virtual thread; {@return "" if
     * every outcome is the first's and no descriptor was left open, else all eight} The eight
     * trees are made before the first run and removed after the last, each step with one sh for
     * all eight; a run sees only its own tree. Where {@code readOnly}, or the scenario is
     * {@link OnOneTree} (its setup run in the tree first), the eight runs share one tree instead,
     * and a run that changed it (names, kinds, sizes) differs by that.
     */
    private String differs(String name, Scenario scenario, boolean readOnlyScenarios) throws Exception {
        boolean readOnly = readOnlyScenarios || scenario instanceof OnOneTree;
        record Run(String side, boolean virtual, Path plain) {}
        Path parent = dir.path().toAbsolutePath();
        List<Run> runs = new ArrayList<>();
        for (String side : List.of("files", "aura-files", "provider", "aura-files-ring", "provider-ring")) {
            // The ring is asked from virtual threads only: a platform thread's calls are the offload's.
            for (boolean virtual : side.endsWith("-ring") ? new boolean[] {true} : new boolean[] {false, true}) {
                Path plain = parent.resolve(readOnly ? "shared" : side + "-" + virtual).resolve(name);
                if (runs.isEmpty() || !readOnly) {
                    populate(plain, bigEntries);
                }
                runs.add(new Run(side, virtual, plain));
            }
        }
        List<Path> trees = runs.stream().map(Run::plain).distinct().toList();
        addNotUtf8Names(parent, trees);
        if (scenario instanceof OnOneTree t) {
            shell(trees.getFirst(), t.setup());
        }
        String tree = readOnly ? snapshot(trees.getFirst()) : "";
        List<String> outcomes = new ArrayList<>();
        boolean treeChanged = false;
        boolean routing = MetadataRouting.ring;
        try {
            for (Run run : runs) {
                MetadataRouting.ring = run.side().endsWith("-ring");
                Path base = run.side().startsWith("provider") ? fs.getPath(run.plain().toString()) : run.plain();
                FileOps ops = run.side().startsWith("aura-files") ? FileOps.AURA : FileOps.JDK;
                Map<Integer, String> before = Descriptors.open();
                String o = TestSupport.outcome(() -> scenario.run(ops, base), run.plain(), run.virtual());
                // At once: a call must not return before its descriptors are closed.
                Map<Integer, String> left = Descriptors.newSince(before);
                String changed = readOnly && !snapshot(run.plain()).equals(tree) ? " (changed the tree)" : "";
                outcomes.add(run.side() + (run.virtual() ? "-virtual" : "-platform") + ": " + o
                        + (left.isEmpty() ? "" : " (descriptors left: " + left + ")") + changed);
                if (!changed.isEmpty()) {
                    treeChanged = true;
                    break; // the later runs would not start from the same tree
                }
            }
        } finally {
            MetadataRouting.ring = routing;
        }
        StringBuilder rm = new StringBuilder("rm -rf");
        for (Path t : trees) {
            rm.append(" '").append(parent.relativize(t)).append('\'');
        }
        shell(parent, rm.toString());
        String first = outcomes.getFirst().substring(outcomes.getFirst().indexOf(':'));
        boolean alike = !treeChanged && outcomes.stream().allMatch(o -> o.substring(o.indexOf(':')).equals(first));
        return alike ? "" : name + "\n   " + String.join("\n   ", outcomes);
    }

    /** {@return each name under {@code tree}, not following links, with its kind and size, sorted} */
    private static String snapshot(Path tree) throws IOException {
        try (Stream<Path> all = Files.walk(tree)) {
            return all.map(p -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    return tree.relativize(p) + (a.isSymbolicLink() ? " l" : a.isDirectory() ? " d" : " " + a.size());
                } catch (IOException e) {
                    return tree.relativize(p) + " " + e;
                }
            }).sorted().toList().toString();
        }
    }

    /** Runs each scenario through {@link #differs} on eight trees and requires no difference. */
    private void assertAllAlike(String prefix, List<Scenario> scenarios) throws Exception {
        assertAllAlike(prefix, scenarios, false);
    }

    /**
     * Runs each scenario through {@link #differs}, on one tree shared by its eight runs where
     * {@code readOnly} (scenarios that only list and walk), and requires no difference.
     */
    private void assertAllAlike(String prefix, List<Scenario> scenarios, boolean readOnly) throws Exception {
        List<String> diffs = new ArrayList<>();
        for (int i = 0; i < scenarios.size(); i++) {
            String d = differs(prefix + i, scenarios.get(i), readOnly);
            if (!d.isEmpty()) {
                diffs.add(d);
            }
        }
        assertThat(diffs).isEmpty();
    }

    /** {@return the stream's entries relative to {@code base}, sorted, and how many} */
    private static String names(Path base, Stream<Path> s) {
        try (s) {
            List<String> n = s.map(p -> base.relativize(p).toString()).sorted().toList();
            return n.size() + " " + (n.size() > 40 ? n.hashCode() : n);
        }
    }

    // ---- listing and walking ----------------------------------------------------------------

    @Test
    void listingsAndWalksOfAwkwardTreesAreTheJdks() throws Exception {
        List<Scenario> s = new ArrayList<>();
        s.add((o, b) -> names(b, o.list(b)));
        s.add((o, b) -> names(b, o.list(b.resolve("big"))));
        s.add((o, b) -> names(b, o.walk(b, Integer.MAX_VALUE)));
        s.add((o, b) -> names(b, o.walk(b, Integer.MAX_VALUE, FileVisitOption.FOLLOW_LINKS)));
        s.add((o, b) -> names(b, o.walk(b.resolve("d"), Integer.MAX_VALUE, FileVisitOption.FOLLOW_LINKS)));
        // walkFileTree and find, which read each entry's attributes (FOLLOW_LINKS: the cycle d/up
        // and the loop are failures handed to the visitor, by fileKey comparison).
        for (Set<FileVisitOption> options : List.of(Set.<FileVisitOption>of(), Set.of(FileVisitOption.FOLLOW_LINKS))) {
            s.add((o, b) -> {
                List<String> events = new ArrayList<>();
                Files.walkFileTree(b, options, 3, new java.nio.file.SimpleFileVisitor<>() {
                    @Override
                    public java.nio.file.FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                        events.add("pre " + b.relativize(d));
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                        events.add("file " + b.relativize(f) + " " + a.isSymbolicLink() + a.isRegularFile());
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult visitFileFailed(Path f, IOException e) {
                        events.add("failed " + b.relativize(f) + " " + e);
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }
                });
                events.sort(null);
                return events.size() + " " + events.stream().filter(e -> !e.startsWith("file big/")).toList();
            });
            s.add((o, b) -> names(b, Files.find(b, Integer.MAX_VALUE, (p, a) -> a.isDirectory() || a.size() > 1,
                    options.toArray(FileVisitOption[]::new))));
        }
        // Thousands of entries in one directory, listed and walked.
        s.add(new OnOneTree("mkdir many && cd many && seq -f 'e%.0f' 5000 | xargs touch",
                (o, b) -> names(b, o.list(b.resolve("many"))) + " " + names(b, o.walk(b.resolve("many"), 1))));
        // Each listed name leads back to its file: a newline, 255 bytes, bytes that are not UTF-8.
        s.add((o, b) -> {
            try (Stream<Path> entries = o.list(b)) {
                List<String> n = new ArrayList<>();
                for (Path p : (Iterable<Path>) entries::iterator) {
                    n.add(p.getFileName().toString().length() + ":" + o.exists(p, LinkOption.NOFOLLOW_LINKS) + ":"
                            + outcomeOf(() -> o.readAttributes(p, LinkOption.NOFOLLOW_LINKS).size()));
                }
                n.sort(null);
                return n;
            }
        });
        assertAllAlike("w", s);
    }

    @Test
    void walksAndListsFromLinksAndFilesAtEachDepthAreTheJdks() throws Exception {
        List<Scenario> s = new ArrayList<>();
        for (String start : List.of("dl", "link", "dangling", "loop", "f", "d", "nope")) {
            for (int depth : new int[] {-1, 0, 1}) {
                s.add((o, b) -> names(b, o.walk(b.resolve(start), depth)));
                s.add((o, b) -> names(b, o.walk(b.resolve(start), depth, FileVisitOption.FOLLOW_LINKS)));
            }
            s.add((o, b) -> names(b, o.list(b.resolve(start))));
        }
        assertAllAlike("ws", s, true); // walks and listings only: one tree for the eight runs
    }

    /**
     * Makes {@code base/deep} and 20 levels of 255-byte names below it, with a file {@code end} at
     * the bottom: deeper than PATH_MAX (4096 bytes), so made with paths relative to a directory
     * halfway down (a shell's {@code cd} refuses a directory whose whole path is too long).
     */
    private static void deepTree(Path base) throws Exception {
        String ten = String.join("/", java.util.Collections.nCopies(10, NAME_255));
        shell(base, "set -e; mkdir -p deep/" + ten + "; cd deep/" + ten + "; mkdir -p " + ten + "; touch " + ten + "/end");
    }

    /** A tree deeper than PATH_MAX (4096 bytes) of 255-byte names: the walk fails where the JDK's fails. */
    @Test
    void aWalkPastPathMaxFailsAsTheJdks() throws Exception {
        List<Scenario> s = new ArrayList<>();
        Scenario deep = (o, b) -> {
            deepTree(b);
            return names(b, o.walk(b.resolve("deep"), Integer.MAX_VALUE));
        };
        s.add(deep);
        s.add((o, b) -> {
            deepTree(b);
            try (Stream<Path> entries = o.walk(b.resolve("deep"), Integer.MAX_VALUE)) {
                Iterator<Path> it = entries.iterator();
                int n = 0;
                try {
                    while (it.hasNext()) {
                        it.next();
                        n++;
                    }
                } catch (java.io.UncheckedIOException e) {
                    return "after " + n + ": " + e.getCause() + " " + outcomeOf(it::hasNext);
                }
                return n;
            }
        });
        s.add((o, b) -> {
            deepTree(b);
            Path far = b.resolve("deep");
            for (int i = 0; i < 17; i++) {
                far = far.resolve(NAME_255);
            }
            Path p = far;
            return outcomeOf(() -> o.exists(p)) + " " + outcomeOf(() -> o.size(p)) + " "
                    + outcomeOf(() -> o.readAttributes(p).isDirectory()) + " " + outcomeOf(() -> {
                        o.checkAccess(p);
                        return "ok";
                    }) + " " + outcomeOf(() -> names(b, o.list(p))) + " " + outcomeOf(() -> o.createDirectory(p))
                    + " " + outcomeOf(() -> {
                        o.delete(p);
                        return "deleted";
                    });
        });
        s.add((o, b) -> {
            Path p = b.resolve(NAME_255 + "x");
            return outcomeOf(() -> o.exists(p)) + " " + outcomeOf(() -> o.size(p)) + " "
                    + outcomeOf(() -> o.readAttributes(p)) + " " + outcomeOf(() -> {
                        o.checkAccess(p);
                        return "ok";
                    }) + " " + outcomeOf(() -> names(b, o.list(p))) + " " + outcomeOf(() -> o.createDirectory(p))
                    + " " + outcomeOf(() -> {
                        o.delete(p);
                        return "deleted";
                    });
        });
        assertAllAlike("deep", s);
        // Not a case that fails alike in setting up: the JDK's walk itself meets the long name.
        Path base = dir.path().toAbsolutePath().resolve("oracle");
        Files.createDirectories(base);
        assertThat(TestSupport.outcome(() -> deep.run(FileOps.JDK, base), base, false))
                .contains("UncheckedIOException", "File name too long");
        shell(base, "rm -rf deep");
    }

    // ---- streams closed, changed or interrupted while read ----------------------------------

    @Test
    void streamsClosedChangedOrInterruptedWhileReadAreAnsweredAsTheJdks() throws Exception {
        List<Scenario> s = new ArrayList<>();
        // Entries removed while the big directory is listed: none twice, and it ends.
        s.add((o, b) -> {
            try (Stream<Path> entries = o.list(b.resolve("big"))) {
                Set<Path> seen = new HashSet<>();
                for (Path p : (Iterable<Path>) entries::iterator) {
                    if (!seen.add(p)) {
                        return "twice: " + p;
                    }
                    if (seen.size() == 1) {
                        shell(b, "rm -rf big");
                    }
                }
                return "ended";
            }
        });
        // Every entry renamed as it is listed: the listing ends, each original name seen once.
        s.add((o, b) -> {
            try (Stream<Path> entries = o.list(b.resolve("big"))) {
                Set<String> seen = new HashSet<>();
                for (Path p : (Iterable<Path>) entries::iterator) {
                    String n = p.getFileName().toString();
                    if (!n.startsWith("moved-") && !seen.add(n)) {
                        return "twice: " + n;
                    }
                    if (!n.startsWith("moved-")) {
                        Files.move(p, p.resolveSibling("moved-" + n));
                    }
                }
                return "ended, " + seen.size() + " seen";
            }
        });
        // The interrupt of a long walk is ignored and kept.
        s.add((o, b) -> {
            try (Stream<Path> entries = o.walk(b, Integer.MAX_VALUE)) {
                Iterator<Path> it = entries.iterator();
                int n = 0;
                while (it.hasNext()) {
                    it.next();
                    if (++n == 100) {
                        Thread.currentThread().interrupt();
                    }
                }
                return n + " interrupted=" + Thread.interrupted();
            }
        });
        // Interrupted again and again by another thread while it walks and lists: each ends with
        // every entry, as the JDK's, which ignore interrupts (the status kept: the case above).
        s.add(new OnOneTree("mkdir many && cd many && seq -f 'e%.0f' 3000 | xargs touch", (o, b) -> {
            Thread walker = Thread.currentThread();
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread interrupter = Thread.ofPlatform().start(() -> {
                while (!done.get()) {
                    walker.interrupt();
                    Thread.onSpinWait();
                }
            });
            String walked;
            try {
                walked = names(b, o.walk(b, Integer.MAX_VALUE)) + " " + names(b, o.list(b.resolve("many")));
            } finally {
                done.set(true);
                while (interrupter.isAlive()) {
                    try {
                        interrupter.join();
                    } catch (InterruptedException stillComing) {
                        // the storm's last interrupts: wait on
                    }
                }
                Thread.interrupted();
            }
            return walked;
        }));
        // Closed from another thread in the middle of the walk.
        s.add((o, b) -> {
            Stream<Path> entries = o.walk(b, Integer.MAX_VALUE);
            Iterator<Path> it = entries.iterator();
            it.next();
            Thread closer = Thread.ofPlatform().start(entries::close);
            closer.join();
            int more = 0;
            try {
                while (it.hasNext()) {
                    it.next();
                    more++;
                }
            } catch (IllegalStateException e) {
                return "after " + more + ": " + e;
            }
            return "more " + more;
        });
        assertAllAlike("c", s);
    }

    // ---- directory streams ------------------------------------------------------------------

    @Test
    void directoryStreamsClosedOrFilteredWhileReadAreTheJdks() throws Exception {
        List<Scenario> s = new ArrayList<>();
        // Closed after one entry: the rest of the stream is at its end, read ahead or not.
        s.add((o, b) -> {
            DirectoryStream<Path> ds = Files.newDirectoryStream(b.resolve("big"));
            Iterator<Path> it = ds.iterator();
            it.next();
            ds.close();
            int more = 0;
            while (it.hasNext()) {
                it.next();
                more++;
            }
            return "more " + more + " " + outcomeOf(it::next);
        });
        // Closed by another thread after one entry.
        s.add((o, b) -> {
            DirectoryStream<Path> ds = Files.newDirectoryStream(b.resolve("big"));
            try {
                Iterator<Path> it = ds.iterator();
                it.next();
                Thread closer = Thread.ofPlatform().start(() -> {
                    try {
                        ds.close();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                closer.join();
                int more = 0;
                while (it.hasNext()) {
                    it.next();
                    more++;
                }
                return "more " + more;
            } finally {
                ds.close();
            }
        });
        // hasNext, then closed: the entry hasNext found is still returned, as the JDK's.
        s.add((o, b) -> {
            DirectoryStream<Path> ds = Files.newDirectoryStream(b.resolve("big"));
            Iterator<Path> it = ds.iterator();
            it.next();
            boolean had = it.hasNext();
            ds.close();
            return had + " " + outcomeOf(() -> it.next() != null) + " " + it.hasNext();
        });
        // One iterator shared by four threads (the iterator is thread-safe): each entry once.
        s.add(new OnOneTree("mkdir many && cd many && seq -f 'e%.0f' 5000 | xargs touch", (o, b) -> {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(b.resolve("many"))) {
                Iterator<Path> it = ds.iterator();
                List<Path> seen = java.util.Collections.synchronizedList(new ArrayList<>());
                List<Throwable> failures = TestSupport.atOnce(4, () -> {
                    while (true) {
                        Path p;
                        try {
                            if (!it.hasNext()) {
                                return;
                            }
                            p = it.next();
                        } catch (java.util.NoSuchElementException e) {
                            return; // another thread took the last one between hasNext and next
                        }
                        seen.add(p);
                    }
                });
                return failures + " " + seen.size() + " distinct " + new HashSet<>(seen).size() + " null "
                        + seen.contains(null);
            }
        }));
        // A filter that throws an unchecked exception at its 3rd entry: the iterator goes on after it.
        s.add((o, b) -> {
            int[] calls = {0};
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(b.resolve("big"), p -> {
                if (++calls[0] == 3) {
                    throw new IllegalStateException("filter fails");
                }
                return true;
            })) {
                Iterator<Path> it = ds.iterator();
                int n = 0;
                List<String> seen = new ArrayList<>();
                while (true) {
                    try {
                        if (!it.hasNext()) {
                            break;
                        }
                        it.next();
                        n++;
                    } catch (IllegalStateException e) {
                        seen.add("at " + n + ": " + e.getMessage());
                    }
                }
                return seen + " then " + n + " calls " + calls[0];
            }
        });
        // A filter that reads attributes of what it is given, and one that sees the link loop.
        s.add((o, b) -> {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(b, p -> Files.isDirectory(p))) {
                List<String> n = new ArrayList<>();
                ds.forEach(p -> n.add(p.getFileName().toString()));
                n.sort(null);
                return n;
            }
        });
        s.add((o, b) -> {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(b, p -> Files.size(p) > 100)) {
                List<String> n = new ArrayList<>();
                ds.forEach(p -> n.add(p.getFileName().toString()));
                return n;
            }
        });
        // Exhausted: hasNext stays false, next throws, remove is refused.
        s.add((o, b) -> {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(b.resolve("d"))) {
                Iterator<Path> it = ds.iterator();
                int n = 0;
                while (it.hasNext()) {
                    it.next();
                    n++;
                }
                return n + " " + it.hasNext() + " " + outcomeOf(it::next) + " " + outcomeOf(() -> {
                    it.remove();
                    return "removed";
                }) + " " + outcomeOf(ds::iterator);
            }
        });
        assertAllAlike("ds", s);
    }

    /** The entries of the directory {@link #listingsClosedByAnotherThreadWhileReadEndWithTheirFirstEntries} lists: 10 batches. */
    private static final int ENTRIES = 320;

    /** A listing as a side opens it: its iterator and how it is closed. */
    private record Listing(Iterator<Path> iterator, AutoCloseable closer) {}

    @FunctionalInterface
    private interface Lister {
        Listing open(Path dir) throws IOException;
    }

    private static Listing ofStream(Stream<Path> s) {
        return new Listing(s.iterator(), s);
    }

    private static Listing ofDirectoryStream(DirectoryStream<Path> ds) {
        return new Listing(ds.iterator(), ds);
    }

    /**
     * A reader on one thread (platform, or virtual: then the entries come in batches from the
     * offload) and a closer on another, which closes the listing once the reader has taken a
     * random number of entries and a random while more (up to some 50 us), as the reader is in a
     * {@code hasNext} (reading a batch, or the next entry), for many rounds over a directory of
     * 320 entries: each round the
     * reader gets the first entries of the listing, in its order, each once, none from a
     * {@code hasNext} begun after the close returned, and no exception, as from the JDK's
     * {@code Files.list} (run the same way first). {@code AuraFiles.list}'s close dropped the
     * batch read ahead while a pool thread could be filling it for the reader.
     */
    @Test
    void listingsClosedByAnotherThreadWhileReadEndWithTheirFirstEntries() throws Exception {
        Path plain = dir.path().toAbsolutePath().resolve("closed-while-read");
        Files.createDirectories(plain);
        shell(plain, "seq -f 'e%.0f' " + ENTRIES + " | xargs touch");
        Path wrapped = fs.getPath(plain.toString());
        java.util.Map<String, Lister> sides = new java.util.LinkedHashMap<>();
        sides.put("files", d -> ofStream(Files.list(plain)));
        sides.put("aura-files", d -> ofStream(AuraFiles.list(plain)));
        sides.put("provider-list", d -> ofStream(Files.list(wrapped)));
        sides.put("provider-stream", d -> ofDirectoryStream(Files.newDirectoryStream(wrapped)));
        java.util.Random random = new java.util.Random(42);
        List<String> failures = new ArrayList<>();
        Map<Integer, String> before = Descriptors.open();
        for (var side : sides.entrySet()) {
            List<String> all = new ArrayList<>();
            Listing full = side.getValue().open(plain);
            full.iterator().forEachRemaining(p -> all.add(p.toString()));
            full.closer().close();
            assertThat(all).as(side.getKey()).hasSize(ENTRIES).doesNotHaveDuplicates();
            for (boolean virtual : new boolean[] {false, true}) {
                for (int round = 0; round < 150; round++) {
                    // Mostly at a batch's end, where a virtual reader's next hasNext takes a batch.
                    int closeAt = random.nextInt(4) > 0 ? 32 * random.nextInt(all.size() / 32 + 1)
                            : random.nextInt(all.size() + 10);
                    int spins = random.nextInt(2_000);
                    String f = closedWhileRead(side.getValue().open(plain), closeAt, spins, all, virtual);
                    if (!f.isEmpty() && failures.size() < 20) {
                        failures.add(side.getKey() + (virtual ? " virtual" : " platform") + " round " + round
                                + " closed at " + closeAt + " + " + spins + " spins: " + f);
                    }
                }
            }
        }
        assertThat(failures).isEmpty();
        Descriptors.assertNoneNew(before, "listings closed while read");
    }

    /**
     * One round of {@link #listingsClosedByAnotherThreadWhileReadEndWithTheirFirstEntries}.
     * {@return "" if the reader got the first entries of {@code all}, each once, none after the
     * close returned, and no exception; else what it got}
     */
    private static String closedWhileRead(Listing listing, int closeAt, int spins, List<String> all,
                                          boolean virtual) throws Exception {
        java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean readerDone = new java.util.concurrent.atomic.AtomicBoolean();
        List<String> got = new ArrayList<>();
        int[] afterClose = {0};
        Throwable[] thrown = new Throwable[2];
        Thread reader = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).unstarted(() -> {
            try {
                Iterator<Path> it = listing.iterator();
                while (true) {
                    boolean wasClosed = closed.get();
                    if (!it.hasNext()) {
                        break;
                    }
                    got.add(it.next().toString());
                    if (wasClosed) {
                        afterClose[0]++;
                    }
                    taken.incrementAndGet();
                }
            } catch (Throwable t) {
                thrown[0] = t;
            } finally {
                readerDone.set(true);
            }
        });
        Thread closer = Thread.ofPlatform().unstarted(() -> {
            try {
                while (taken.get() < closeAt && !readerDone.get()) {
                    Thread.onSpinWait();
                }
                for (int i = 0; i < spins; i++) {
                    Thread.onSpinWait();
                }
                listing.closer().close();
                closed.set(true);
            } catch (Throwable t) {
                thrown[1] = t;
            }
        });
        closer.start();
        reader.start();
        TestSupport.joinAll(List.of(reader, closer));
        List<String> problems = new ArrayList<>();
        if (thrown[0] != null || thrown[1] != null) {
            problems.add("reader threw " + thrown[0] + ", closer threw " + thrown[1]);
        }
        if (got.size() > all.size() || !got.equals(all.subList(0, got.size()))) {
            problems.add("not the listing's first " + got.size() + " entries, " + new HashSet<>(got).size()
                    + " distinct");
        }
        if (afterClose[0] > 0) {
            problems.add(afterClose[0] + " entries from a hasNext begun after the close");
        }
        return String.join("; ", problems);
    }

    // ---- attributes -------------------------------------------------------------------------

    @Test
    void attributeCallsOnLinksAndAwkwardNamesAreTheJdks() throws Exception {
        bigEntries = 3; // big/ is only a name in the listing of the base here
        List<Scenario> s = new ArrayList<>();
        for (String name : List.of("f", "d", "link", "dangling", "loop", "dl", "nope", "f/x", "loop/x", "dangling/x",
                "new\nline", NAME_255, NAME_255 + "x", "d/up/d/up/f", NOT_UTF_8)) {
            s.add((o, b) -> {
                Path p = name.equals(NOT_UTF_8) ? notUtf8(o, b) : b.resolve(name);
                List<String> out = new ArrayList<>();
                out.add(outcomeOf(() -> o.exists(p) + " " + o.exists(p, LinkOption.NOFOLLOW_LINKS)));
                out.add(outcomeOf(() -> o.size(p)));
                for (LinkOption[] lo : new LinkOption[][] {{}, {LinkOption.NOFOLLOW_LINKS}}) {
                    out.add(outcomeOf(() -> {
                        BasicFileAttributes a = o.readAttributes(p, lo);
                        return a.isDirectory() + " " + a.isRegularFile() + " " + a.isSymbolicLink() + " "
                                + a.isOther() + " " + (a.isDirectory() ? "-" : a.size()) + " "
                                + a.lastModifiedTime().equals(Files.getLastModifiedTime(p, lo)) + " "
                                + a.fileKey().equals(Files.readAttributes(p, BasicFileAttributes.class, lo).fileKey());
                    }));
                }
                out.add(outcomeOf(() -> {
                    o.checkAccess(p);
                    return "ok";
                }));
                out.add(outcomeOf(() -> {
                    o.checkAccess(p, AccessMode.READ, AccessMode.WRITE);
                    return "ok";
                }));
                out.add(outcomeOf(() -> Files.getLastModifiedTime(p).toMillis() > 0));
                out.add(outcomeOf(() -> Files.isDirectory(p) + " " + Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                        + " " + Files.isSymbolicLink(p) + " " + Files.isRegularFile(p)));
                out.add(outcomeOf(() -> Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName()));
                out.add(outcomeOf(() -> Files.setLastModifiedTime(p, FileTime.fromMillis(7000)) != null));
                out.add(outcomeOf(() -> Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS)));
                out.add(outcomeOf(() -> Files.setAttribute(p, "basic:lastAccessTime", FileTime.fromMillis(9000),
                        LinkOption.NOFOLLOW_LINKS) != null));
                out.add(outcomeOf(() -> o.isSameFile(p, b.resolve("f")) + " " + o.isSameFile(p, b.resolve("d"))));
                out.add(outcomeOf(() -> o.createDirectory(p)));
                out.add(outcomeOf(() -> o.createDirectories(p)));
                out.add(outcomeOf(() -> o.createDirectories(p.resolve("sub/deeper"))));
                out.add(outcomeOf(() -> o.deleteIfExists(p.resolve("sub/deeper"))));
                out.add(outcomeOf(() -> o.deleteIfExists(p.resolve("sub"))));
                out.add(outcomeOf(() -> {
                    o.delete(p);
                    return "deleted";
                }));
                out.add(outcomeOf(() -> o.exists(p, LinkOption.NOFOLLOW_LINKS)));
                out.add(outcomeOf(() -> o.deleteIfExists(p)));
                out.add(outcomeOf(() -> b.relativize(o.move(b.resolve("d/a.txt"), p)).toString().length()));
                out.add(outcomeOf(() -> b.relativize(o.move(p, b.resolve("back"))).toString()));
                out.add(outcomeOf(() -> o.createDirectories(p)));
                return String.join(" | ", out);
            });
        }
        assertAllAlike("attr", s);
    }

    // ---- copies and moves of directories ----------------------------------------------------

    @Test
    void copiesAndMovesOfDirectoriesAndLinksToThemAreTheJdks() throws Exception {
        // Copies and moves of big/ and onto it see it only as a directory that is not empty (the
        // entries are counted by Files.list, not the calls under test): three files say that as
        // well as a hundred, in about a fifth of the time to make the trees (792 of them).
        bigEntries = 3;
        List<Scenario> s = new ArrayList<>();
        java.nio.file.CopyOption[][] optionSets = {{}, {java.nio.file.StandardCopyOption.REPLACE_EXISTING},
            {java.nio.file.StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS},
            {java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES}};
        for (String[] pair : new String[][] {{"d", "g"}, {"dl", "g"}, {"d", "d"}, {"d", "dl"},
                {"e", "d/a.txt"}, {"e", "big"}, {"e", "dangling"}, {"d", "e"}, {"d", "d/sub/deeper"},
                {"big", "e"}, {"loop", "e"}}) {
            for (java.nio.file.CopyOption[] options : optionSets) {
                s.add((o, b) -> outcomeOf(() -> b.relativize(o.copy(b.resolve(pair[0]), b.resolve(pair[1]), options)))
                        + " " + kinds(b, pair));
                s.add((o, b) -> outcomeOf(() -> b.relativize(o.move(b.resolve(pair[0]), b.resolve(pair[1]), options)))
                        + " " + kinds(b, pair));
            }
            s.add((o, b) -> outcomeOf(() -> b.relativize(o.move(b.resolve(pair[0]), b.resolve(pair[1]),
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE))) + " " + kinds(b, pair));
        }
        assertAllAlike("cm", s);
    }

    /** {@return what each name of {@code pair} is now, not following links: kind and entries} */
    private static String kinds(Path base, String[] pair) throws IOException {
        List<String> out = new ArrayList<>();
        for (String name : pair) {
            Path p = base.resolve(name);
            if (Files.isSymbolicLink(p)) {
                out.add(name + " link " + Files.readSymbolicLink(p));
            } else if (Files.isDirectory(p)) {
                try (Stream<Path> entries = Files.list(p)) {
                    out.add(name + " dir " + entries.count() + " " + Integer.toOctalString(
                            (Integer) Files.getAttribute(p, "unix:mode")));
                }
            } else {
                out.add(name + (Files.exists(p) ? " file" : " absent"));
            }
        }
        return String.join(", ", out);
    }
}
