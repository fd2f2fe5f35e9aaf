package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.spi.AuraFileSystemProvider;
import io.auraio.testing.FileOps;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Random sequences of {@link AuraFiles} calls (and {@link AuraFileChannel#open}), and of
 * {@link Files} calls (and {@link FileChannel#open}) through {@link AuraFileSystemProvider}, run
 * beside the same calls on the platform's provider, each side in its own directory over the same
 * small set of names (files, directories, symbolic and hard links, names that do not exist, with
 * options valid and not), comparing after every step the result or the exception's type, and at the
 * end of each sequence both trees: every path's kind, content and link target.
 *
 * <p>The seed is printed in every failure; rerun one with {@code -Dauraio.files.seed=<seed>}. The
 * run is bounded by {@link #BUDGET} of sequences, not asserted on.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFilesDifferentialTest {
    private static final Duration BUDGET = Duration.ofSeconds(3);
    private static final int MAX_SEQUENCES = 300;
    private static final int OPS_PER_SEQUENCE = 40;
    /** The names every operation picks from, relative to each side's directory. */
    private static final String[] NAMES = {"a", "b", "c", "d", "d/e", "d/f", "d/g/h", "l", "d/m", "x/y"};

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /**
     * Through {@code way} ("AuraFiles" or "the provider"), on a platform thread or a virtual one:
     * on a virtual thread the calls take other paths (the caller's, the blocking offload).
     */
    @ParameterizedTest(name = "through {0} on a {1} thread")
    @CsvSource({"AuraFiles, platform", "AuraFiles, virtual", "the provider, platform", "the provider, virtual"})
    void randomCallSequencesGiveTheJdksAnswers(String way, String thread) throws Exception {
        // The provider's file system over the platform's: Files' calls on its paths go through it.
        FileSystem provider = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        Function<Path, Side> ours = way.equals("AuraFiles") ? root -> new Side(FileOps.AURA, root)
                : root -> new Side(FileOps.JDK, provider.getPath(root.toString()));
        String fixed = System.getProperty("auraio.files.seed");
        long master = fixed != null ? Long.parseLong(fixed) : System.nanoTime();
        Callable<Integer> sweep = () -> {
            long deadline = System.nanoTime() + BUDGET.toNanos();
            int sequences = 0;
            Random seeds = new Random(master);
            do {
                runSequence(fixed != null ? master : seeds.nextLong(), sequences, ours);
                sequences++;
            } while (fixed == null && sequences < MAX_SEQUENCES && System.nanoTime() - deadline < 0);
            return sequences;
        };
        int sequences;
        if (thread.equals("virtual")) {
            FutureTask<Integer> task = new FutureTask<>(sweep);
            Thread.ofVirtual().start(task);
            try {
                sequences = task.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Error error) {
                    throw error; // an assertion's failure, with the seed
                }
                throw (Exception) e.getCause();
            }
        } else {
            sequences = sweep.call();
        }
        System.out.println("AuraFilesDifferentialTest through " + way + " on a " + thread + " thread: " + sequences
                + " sequences of " + OPS_PER_SEQUENCE + " calls, master seed " + master);
        assertThat(sequences).isPositive();
    }

    private void runSequence(long seed, int index, Function<Path, Side> ours) throws IOException {
        Random rnd = new Random(seed);
        Path jdkRoot = Files.createDirectory(dir.resolve("jdk-" + index));
        Path auraRoot = Files.createDirectory(dir.resolve("aura-" + index));
        List<String> log = new ArrayList<>();
        for (int i = 0; i < OPS_PER_SEQUENCE; i++) {
            Call call = Call.random(rnd);
            log.add(call.toString());
            String expected = call.apply(new Side(FileOps.JDK, jdkRoot));
            String actual = call.apply(ours.apply(auraRoot));
            assertThat(actual).as(() -> failure(seed, log)).isEqualTo(expected);
        }
        assertThat(tree(auraRoot)).as(() -> failure(seed, log) + "\nthe trees differ").isEqualTo(tree(jdkRoot));
    }

    private static String failure(long seed, List<String> log) {
        return "seed " + seed + " (rerun with -Dauraio.files.seed=" + seed + "), calls:\n  " + String.join("\n  ", log);
    }

    /** Every path under {@code root}, sorted, with its kind and its content or link target. */
    private static String tree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return "(the directory itself was moved or deleted)";
        }
        try (Stream<Path> all = Files.walk(root)) {
            return all.sorted().map(p -> {
                try {
                    String name = root.relativize(p).toString();
                    if (Files.isSymbolicLink(p)) {
                        // Each side's links name paths in its own directory.
                        return name + " -> " + Files.readSymbolicLink(p).toString().replace(root.toString(), "<root>");
                    }
                    if (Files.isDirectory(p)) {
                        return name + "/";
                    }
                    return name + " " + Arrays.hashCode(Files.readAllBytes(p));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).collect(Collectors.joining("\n"));
        }
    }

    /** One side: its calls, on paths under its directory. */
    private record Side(FileOps ops, Path root) {}

    /** One random call with its arguments fixed, applied the same way to either side. */
    private record Call(String name, String p, String q, int flags, long seed) {
        static Call random(Random rnd) {
            String[] names = {"size", "readAllBytes", "readString", "write", "write", "write", "copy", "move",
                "exists", "checkAccess", "isSameFile", "readAttributes", "delete", "deleteIfExists",
                "createDirectory", "createDirectories", "createSymbolicLink", "createLink", "list", "walk",
                "channel", "channel"};
            return new Call(names[rnd.nextInt(names.length)], pick(rnd), pick(rnd), rnd.nextInt(1 << 10),
                    rnd.nextLong());
        }

        /** A name of {@link #NAMES}, now and then the root itself or a name inside a file. */
        private static String pick(Random rnd) {
            return switch (rnd.nextInt(20)) {
                case 0 -> "";
                case 1 -> "a/z";
                default -> NAMES[rnd.nextInt(NAMES.length)];
            };
        }

        private boolean flag(int bit) {
            return (flags & (1 << bit)) != 0;
        }

        String apply(Side side) {
            FileOps ops = side.ops();
            Path root = side.root();
            Path pp = p.isEmpty() ? root : root.resolve(p);
            Path qq = q.isEmpty() ? root : root.resolve(q);
            try {
                return switch (name) {
                    case "size" -> String.valueOf(ops.size(pp));
                    case "readAllBytes" -> String.valueOf(Arrays.hashCode(ops.readAllBytes(pp)));
                    case "readString" -> String.valueOf(ops.readString(pp).hashCode());
                    case "write" -> relative(root, ops.write(pp, content(), openOptions()));
                    case "copy" -> relative(root, ops.copy(pp, qq, copyOptions(false)));
                    case "move" -> relative(root, ops.move(pp, qq, copyOptions(true)));
                    case "exists" -> String.valueOf(flag(0)
                            ? ops.exists(pp, LinkOption.NOFOLLOW_LINKS) : ops.exists(pp));
                    case "checkAccess" -> {
                        ops.checkAccess(pp, accessModes());
                        yield "accessible";
                    }
                    case "isSameFile" -> String.valueOf(ops.isSameFile(pp, qq));
                    case "readAttributes" -> {
                        BasicFileAttributes a = flag(0)
                                ? ops.readAttributes(pp, LinkOption.NOFOLLOW_LINKS) : ops.readAttributes(pp);
                        yield "dir=" + a.isDirectory() + " file=" + a.isRegularFile() + " link=" + a.isSymbolicLink()
                                + " other=" + a.isOther() + " size=" + (a.isRegularFile() ? a.size() : -1);
                    }
                    case "delete" -> {
                        ops.delete(pp);
                        yield "deleted";
                    }
                    case "deleteIfExists" -> String.valueOf(ops.deleteIfExists(pp));
                    case "createDirectory" -> relative(root, ops.createDirectory(pp));
                    case "createDirectories" -> relative(root, ops.createDirectories(pp));
                    // Absolute targets, each side's inside its own directory: a relative one would
                    // leave it once a hard link to the link sits in a directory nearer the top.
                    case "createSymbolicLink" -> relative(root, ops.createSymbolicLink(pp, qq));
                    case "createLink" -> relative(root, ops.createLink(pp, qq));
                    case "list" -> {
                        try (Stream<Path> s = ops.list(pp)) {
                            yield s.map(x -> relative(root, x)).sorted().toList().toString();
                        }
                    }
                    case "walk" -> {
                        FileVisitOption[] follow = flag(0)
                                ? new FileVisitOption[] {FileVisitOption.FOLLOW_LINKS} : new FileVisitOption[0];
                        try (Stream<Path> s = ops.walk(pp, Integer.MAX_VALUE, follow)) {
                            yield s.map(x -> relative(root, x)).sorted().toList().toString();
                        }
                    }
                    case "channel" -> {
                        // Opens with any set of options (some refused together), writes, reads back.
                        Set<OpenOption> options = new HashSet<>(Arrays.asList(openOptions()));
                        if (flag(5)) {
                            options.add(StandardOpenOption.READ);
                        }
                        if (flag(4) && flag(3)) {
                            options.add(LinkOption.NOFOLLOW_LINKS);
                        }
                        boolean writes = options.contains(StandardOpenOption.WRITE)
                                || options.contains(StandardOpenOption.APPEND);
                        try (FileChannel ch = ops.open(pp, options)) {
                            String wrote = writes ? " wrote " + ch.write(ByteBuffer.wrap(content())) : "";
                            ByteBuffer back = ByteBuffer.allocate(100);
                            String read = options.contains(StandardOpenOption.READ) || !writes
                                    ? " read " + ch.read(back, 0) + " " + Arrays.hashCode(back.array()) : "";
                            yield "size " + ch.size() + " position " + ch.position() + wrote + read;
                        }
                    }
                    default -> throw new AssertionError(name);
                };
            } catch (UncheckedIOException e) {
                return "unchecked " + describe(e.getCause());
            } catch (IOException | RuntimeException e) {
                return describe(e);
            }
        }

        /**
         * The exception's type; for an error the JDK reports as a plain {@link IOException} with
         * the system's message ("Is a directory"), its message too: AuraFiles reports those as its
         * subclass {@link AuraIOException} (which adds the errno), by design.
         */
        private static String describe(Exception e) {
            if (e instanceof AuraIOException || e.getClass() == IOException.class) {
                return "IOException: " + e.getMessage();
            }
            return e.getClass().getName();
        }

        private static String relative(Path root, Path p) {
            return root.relativize(p).toString();
        }

        /** ASCII now and then, so that readString has text to decode as well as bytes it refuses. */
        private byte[] content() {
            Random r = new Random(seed);
            byte[] bytes = new byte[r.nextInt(3) == 0 ? 0 : r.nextInt(70_000)];
            if (flag(9)) {
                r.nextBytes(bytes);
            } else {
                Arrays.fill(bytes, (byte) ('a' + r.nextInt(26)));
            }
            return bytes;
        }

        /** Any subset of the writing options, READ among them now and then (refused with it). */
        private OpenOption[] openOptions() {
            List<OpenOption> options = new ArrayList<>();
            StandardOpenOption[] all = {StandardOpenOption.CREATE, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.APPEND, StandardOpenOption.WRITE,
                StandardOpenOption.SYNC};
            if (!flag(8)) {
                return new OpenOption[0]; // the default: CREATE, TRUNCATE_EXISTING, WRITE
            }
            for (int i = 0; i < all.length; i++) {
                if (flag(i)) {
                    options.add(all[i]);
                }
            }
            if (flag(7) && flag(6)) {
                options.add(StandardOpenOption.READ);
            }
            return options.toArray(OpenOption[]::new);
        }

        private CopyOption[] copyOptions(boolean move) {
            List<CopyOption> options = new ArrayList<>();
            if (flag(0)) {
                options.add(StandardCopyOption.REPLACE_EXISTING);
            }
            if (flag(1)) {
                options.add(move ? StandardCopyOption.ATOMIC_MOVE : StandardCopyOption.COPY_ATTRIBUTES);
            }
            if (flag(2)) {
                options.add(LinkOption.NOFOLLOW_LINKS);
            }
            return options.toArray(CopyOption[]::new);
        }

        private AccessMode[] accessModes() {
            List<AccessMode> modes = new ArrayList<>();
            for (AccessMode m : AccessMode.values()) {
                if (flag(m.ordinal())) {
                    modes.add(m);
                }
            }
            return modes.toArray(AccessMode[]::new);
        }

        @Override
        public String toString() {
            return name + "(" + p + ", " + q + ", flags=" + Integer.toBinaryString(flags) + ", seed=" + seed + ")";
        }
    }
}
