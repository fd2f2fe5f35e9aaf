package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three tools side by side with the system's on a real tree that nobody here wrote: the JDK's
 * own sources for {@code java.util} (some 370 files in a dozen directories), unpacked from the
 * running JDK's {@code lib/src.zip}. Identical results: tree's output, {@code sha256sum -c} of
 * ours, {@code diff -r} of a copy.
 */
class RealTreeParityTest {
    private static final String PREFIX = "java.base/java/util/";

    @TempDir
    static Path work;

    private static Path tree;

    @BeforeAll
    static void unpack() throws IOException {
        Path zip = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        assumeTrue(Files.isRegularFile(zip), "this JDK has no lib/src.zip (a JRE, or a JDK built without sources)");
        tree = work.resolve("src");
        try (InputStream in = Files.newInputStream(zip); ZipInputStream z = new ZipInputStream(in)) {
            ZipEntry e;
            while ((e = z.getNextEntry()) != null) {
                if (!e.getName().startsWith(PREFIX) || e.isDirectory()) {
                    continue;
                }
                Path target = tree.resolve(e.getName());
                Files.createDirectories(target.getParent());
                Files.copy(z, target);
            }
        }
        assumeTrue(Files.isDirectory(tree.resolve(PREFIX)), "src.zip has no " + PREFIX);
    }

    @Test
    void treeListsItAsTreeDoes() {
        Tools.assumePresent("tree");
        for (List<String> options : List.of(List.<String>of(), List.of("-s"), List.of("--du"), List.of("-L", "2"))) {
            String root = tree.resolve("java.base").toString();
            List<String> args = new java.util.ArrayList<>(List.of("tree"));
            args.addAll(options);
            args.add(root);
            Tools.Run theirs = Tools.run(args);
            Cli.Result ours = Cli.run(args.toArray(String[]::new));

            assertThat(ours.out()).as("tree %s", options).isEqualTo(theirs.out());
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isZero();
        }
    }

    @Test
    void sha256sumChecksOurSumsAndPrintsTheSame() {
        Tools.assumePresent("sha256sum", "find");
        Cli.Result ours = Cli.run("hash", "-r", tree.toString());
        assertThat(ours.exitCode()).as(ours.err()).isZero();
        assertThat(ours.out().lines().count()).isGreaterThan(300);

        Tools.Run check = Tools.run(List.of("sha256sum", "-c", "--quiet", "-"), ours.out().getBytes());
        assertThat(check.exitCode()).as(check.out() + check.err()).isZero();
        Tools.Run theirs = Tools.run("find", tree.toString(), "-type", "f", "-exec", "sha256sum", "{}", "+");
        assertThat(ours.out().lines().sorted().toList()).isEqualTo(theirs.out().lines().sorted().toList());
    }

    @Test
    void copyIsIdenticalByDiffAndAsCpMakesIt() throws IOException {
        Tools.assumePresent("diff", "cp");
        Path ours = work.resolve("ours");
        Path theirs = work.resolve("theirs");
        Cli.Result r = Cli.run("cp", "-r", tree.toString(), ours.toString());
        Tools.Run cp = Tools.run("cp", "-r", tree.toString(), theirs.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(cp.exitCode()).isZero();

        Tools.Run diff = Tools.run("diff", "-r", tree.toString(), ours.toString());
        assertThat(diff.exitCode()).as(diff.out() + diff.err()).isZero();
        assertThat(Tools.describe(ours, false)).isEqualTo(Tools.describe(theirs, false));
    }
}
