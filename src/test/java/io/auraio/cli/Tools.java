package io.auraio.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The system tools the {@code auraio cp/hash/tree} tests hold our commands against: run as
 * processes, with an assumption (skip, with the cause) where a tool is not installed.
 */
final class Tools {
    /** A finished process. */
    record Run(int exitCode, String out, String err) {}

    private Tools() {}

    /** {@return whether {@code tool} is an executable on the PATH} */
    static boolean present(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Skips the test, naming the missing tool and its Debian package, unless every tool is installed. */
    static void assumePresent(String... tools) {
        for (String tool : tools) {
            assumeTrue(present(tool), tool + " is not installed (Debian: apt-get install "
                    + (tool.equals("tree") ? "tree" : tool.equals("diff") ? "diffutils" : "coreutils") + ")");
        }
    }

    /** Runs {@code command} with {@code LC_ALL=C.UTF-8} (tree's and coreutils' messages and order then are fixed). */
    static Run run(List<String> command) {
        return run(command, null);
    }

    static Run run(List<String> command, byte[] stdin) {
        try {
            Path out = Files.createTempFile("auraio-tool", ".out");
            Path err = Files.createTempFile("auraio-tool", ".err");
            try {
                ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
                pb.environment().put("LC_ALL", "C.UTF-8");
                if (stdin == null) {
                    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                }
                Process p = pb.start();
                if (stdin != null) {
                    try (var in = p.getOutputStream()) {
                        in.write(stdin);
                    }
                }
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError(command + " did not finish in 120 s");
                }
                return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static Run run(String... command) {
        return run(List.of(command));
    }

    /**
     * {@return everything a copy must reproduce of the tree under {@code root}, by relative path:
     * the type, the permission bits, the bytes' SHA-256 or the link's target, and with
     * {@code times} the modification time}
     */
    static Map<String, String> describe(Path root, boolean times) throws IOException {
        Map<String, String> d = new TreeMap<>();
        List<Path> all = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.forEach(all::add);
        }
        for (Path p : all) {
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            String what;
            if (a.isSymbolicLink()) {
                what = "link -> " + Files.readSymbolicLink(p);
            } else if (a.isDirectory()) {
                what = "dir " + PosixFilePermissions.toString(a.permissions());
            } else {
                what = "file " + PosixFilePermissions.toString(a.permissions()) + " " + a.size() + " " + sha256(p);
            }
            if (times) {
                what += " mtime " + a.lastModifiedTime().toMillis();
            }
            d.put(root.relativize(p).toString(), what);
        }
        return d;
    }

    static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** {@return {@code message} with our program name turned into the system tool's, to compare stderr line by line} */
    static String asTool(String message, String ours, String theirs) {
        return message.replace(ours + ":", theirs + ":").replace("Try '" + ours + " --help'", "Try '" + theirs + " --help'");
    }

    /** The unprivileged user the permission tests run the tools as (root reads and writes everything). */
    static final int NOBODY = 65534;

    /** Skips unless this runs as root with setpriv (to become {@link #NOBODY}). */
    static void assumeRootWithSetpriv() {
        assumePresent("setpriv");
        boolean root;
        try {
            root = Files.readString(Path.of("/proc/self/status")).lines()
                    .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0"));
        } catch (IOException e) {
            root = false;
        }
        assumeTrue(root, "needs root to run the tools as the unprivileged user " + NOBODY);
    }

    /**
     * {@return the command that runs {@code auraio} in a fresh JVM that the unprivileged user can
     * start: target/classes, target/cli-classes and a copy of picocli in {@code scratch} (root's
     * Maven repository is not readable by that user)}
     */
    static List<String> auraioCommand(Path scratch) throws IOException {
        Path picocli;
        try {
            picocli = Files.copy(Path.of(picocli.CommandLine.class.getProtectionDomain().getCodeSource().getLocation()
                    .toURI()), scratch.resolve("picocli.jar"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (java.net.URISyntaxException e) {
            throw new AssertionError(e);
        }
        Files.setPosixFilePermissions(picocli, PosixFilePermissions.fromString("rw-r--r--"));
        Path project = io.auraio.testing.FixtureAvailability.projectDirectory();
        Path classes = project.resolve("target/classes");
        Path cliClasses = project.resolve("target/cli-classes");
        if (!io.auraio.testing.TestDirectory.othersCanEnter(classes)) {
            // A clone inside a directory others cannot enter (mktemp -d, /root): the classes too
            // go where the unprivileged user can read them.
            classes = copyTree(classes, scratch.resolve("classes"));
            cliClasses = copyTree(cliClasses, scratch.resolve("cli-classes"));
        }
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", classes + ":" + cliClasses + ":" + picocli,
                "io.auraio.cli.Auraio");
    }

    /** Copies the tree {@code from} to {@code to}, readable by everyone. {@return {@code to}} */
    private static Path copyTree(Path from, Path to) throws IOException {
        try (java.util.stream.Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else {
                    Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
        return to;
    }

    /** Runs {@code command} as {@link #NOBODY}. */
    static Run runAsNobody(List<String> command) {
        List<String> full = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups"));
        full.addAll(command);
        return run(full);
    }
}
