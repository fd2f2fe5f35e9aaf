package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scripts in {@code examples/} run as they are, with the JDK's source launcher and the library
 * on the class path ({@code target/classes} here, the jar for users), and give the answer the JDK
 * computes for the same input.
 */
class ExamplesTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final Path PROJECT = FixtureAvailability.projectDirectory();

    @Test
    void lineCountCountsAsWcDoes() throws IOException {
        Path file = dir.resolve("lines.txt");
        StringBuilder text = new StringBuilder();
        Random random = new Random(5);
        while (text.length() < 5 << 20) { // several of the example's 1 MiB chunks, the last one short
            text.append("x".repeat(random.nextInt(200))).append('\n');
        }
        text.append("no newline at the end");
        Files.writeString(file, text);
        long expected = text.chars().filter(c -> c == '\n').count();

        Tools.Run r = runExample("LineCount.java", file.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(expected + " " + file + "\n");
    }

    @Test
    void copyTreeCopiesFilesDirectoriesAndLinks() throws IOException {
        Path source = dir.resolve("src");
        Files.createDirectories(source.resolve("a/b/c"));
        Files.createDirectories(source.resolve("empty"));
        byte[] big = new byte[3 << 20];
        new Random(6).nextBytes(big);
        Files.write(source.resolve("a/big"), big);
        for (int i = 0; i < 50; i++) {
            Files.writeString(source.resolve("a/b/c/f" + i), "file " + i);
        }
        Files.createSymbolicLink(source.resolve("a/link"), Path.of("big"));
        Path target = dir.resolve("copy");

        Tools.Run r = runExample("CopyTree.java", source.toString(), target.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("copied 51 files, " + (big.length + 50 * 6 + 40 * 1) + " bytes\n");
        assertThat(Tools.describe(target, false)).isEqualTo(Tools.describe(source, false));
    }

    @Test
    void hashDirPrintsSha256sumLines() throws IOException {
        Path root = dir.resolve("tree");
        Files.createDirectories(root.resolve("sub"));
        byte[] big = new byte[(1 << 20) + 3];
        new Random(7).nextBytes(big);
        Files.write(root.resolve("sub/big"), big);
        Files.writeString(root.resolve("small"), "small\n");
        Files.write(root.resolve("empty"), new byte[0]);

        Tools.Run r = runExample("HashDir.java", root.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> expected = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                expected.add(Tools.sha256(f) + "  " + f);
            }
        }
        assertThat(r.out().lines().toList()).isEqualTo(expected);
        if (Tools.present("sha256sum")) {
            Tools.Run check = Tools.run(List.of("sha256sum", "-c", "--quiet", "-"), r.out().getBytes(StandardCharsets.UTF_8));
            assertThat(check.exitCode()).as(check.err()).isZero();
        }
    }

    private static Tools.Run runExample(String script, String... args) {
        Path classes = PROJECT.resolve("target/classes");
        assumeTrue(Files.isDirectory(classes.resolve("io/auraio")), "the library is not compiled: " + classes);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", classes.toString(),
                PROJECT.resolve("examples").resolve(script).toString()));
        command.addAll(List.of(args));
        return Tools.run(command);
    }
}
