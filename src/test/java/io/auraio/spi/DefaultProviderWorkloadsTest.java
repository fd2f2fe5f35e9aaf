package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The JDK's own tools and libraries running on {@link AuraFileSystemProvider} installed as the
 * default provider ({@link WorkloadsProbe} in a forked JVM) answer as on the platform's provider,
 * the same probe in another forked JVM: javac's class files byte for byte, the zip file system,
 * jar files, logging's file handler, the watch service, file stores, walks and copies of a tree
 * with symbolic links, URIs, {@code RandomAccessFile} mixed with the provider's channels; on a
 * platform thread and on a virtual one, with no descriptor left open and nothing logged.
 */
@ExtendWith(IoUringAvailable.class)
class DefaultProviderWorkloadsTest {
    private static final String PROPERTY = "java.nio.file.spi.DefaultFileSystemProvider";

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void theJdksToolsAndLibrariesAnswerAsOnThePlatformProvider() throws Exception {
        ForkedJvm.Result oracle = ForkedJvm.of(WorkloadsProbe.class)
                .args(Files.createDirectory(dir.path().resolve("platform")).toString())
                .run();
        ForkedJvm.Result aura = ForkedJvm.of(WorkloadsProbe.class)
                .property(PROPERTY, AuraFileSystemProvider.class.getName())
                .args(Files.createDirectory(dir.path().resolve("aura")).toString())
                .run();
        assertThat(oracle.exitCode()).as("%s", oracle).isZero();
        assertThat(aura.exitCode()).as("%s", aura).isZero();
        assertThat(aura.stderr()).as("%s", aura).isEqualTo(oracle.stderr()).isEmpty();
        Map<String, String> expected = oracle.values();
        Map<String, String> actual = aura.values();
        assertThat(expected.remove("provider")).isEqualTo("sun.nio.fs.LinuxFileSystemProvider");
        assertThat(actual.remove("provider")).isEqualTo(AuraFileSystemProvider.class.getName());
        Map<String, String> differences = new java.util.TreeMap<>();
        for (String key : new java.util.TreeSet<>(java.util.Set.copyOf(expected.keySet()))) {
            if (!expected.get(key).equals(actual.get(key))) {
                differences.put(key, "platform: " + expected.get(key) + ", aura: " + actual.get(key));
            }
        }
        actual.keySet().stream().filter(k -> !expected.containsKey(k)).forEach(k -> differences.put(k, "aura only: " + actual.get(k)));
        assertThat(differences).as("%s", aura).isEmpty();

        // What the oracle answered is what was meant (the probe could be wrong on both).
        for (String round : new String[] {"0", "1"}) {
            Map<String, String> v = new LinkedHashMap<>();
            actual.forEach((k, value) -> {
                if (k.startsWith(round + ".")) {
                    v.put(k.substring(2), value);
                }
            });
            assertThat(v.keySet()).as("%s", aura).noneMatch(k -> k.endsWith(".failed"));
            assertThat(v).as("round %s: %s", round, aura)
                    .containsEntry("javac.ok", "true")
                    .containsKeys("javac.p/A.class", "javac.p/B.class", "javac.p/C.class", "javac.p/C$D.class")
                    .containsEntry("javac.loaded", "bD")
                    .containsEntry("zipfs.walk", "[/, /a, /a/b, /a/b/x.txt, /a/y.txt]")
                    .containsEntry("zipfs.lines", "10000")
                    .containsEntry("zipfs.jarEntries", "[a/, a/b/, a/b/x.txt, a/y.txt]")
                    .containsEntry("zipfs.leftovers", "0")
                    .containsEntry("jar.manifest", "yes")
                    .containsEntry("jar.zipfs", "q")
                    .containsEntry("tree.walk", "[, a, a/b, a/b/f2, a/b/loop, a/f1, dangling, link]")
                    .containsEntry("tree.find", "[a/b/loop, dangling, link]")
                    .containsEntry("tree.copyLink", "true D/tree/a true")
                    .containsEntry("tree.copyAttributes", "true")
                    .containsEntry("tree.sameFile", "true")
                    .containsEntry("tree.mismatch", "0 -1")
                    .containsEntry("temp.permissions", "rw------- rwx------")
                    .containsEntry("temp.createFile", "rwx--x---")
                    .containsEntry("store.listed", "true")
                    .containsEntry("text.lines", "300000")
                    .containsEntry("text.mismatchSame", "-1")
                    .containsEntry("text.mismatch", "5000000")
                    .containsEntry("text.malformed", "java.nio.charset.MalformedInputException")
                    .containsEntry("async", "6 async! 6 true")
                    .containsEntry("mixed.reads", "0123456789 01AB456789")
                    .containsEntry("mixed.truncated", "4 10")
                    .containsEntry("mixed.after", "11 [48, 49, 65, 66, 0, 0, 0, 0, 0, 0, 88]")
                    .containsEntry("mixed.lock", "overlap")
                    .containsEntry("uri", "true true true")
                    .containsEntry("uri.file", "true true")
                    .containsEntry("uri.url", "u")
                    .containsEntry("logging.open", "[app0.log, app0.log.1, app0.log.1.lck, app0.log.lck, app1.log, app2.log]")
                    .containsEntry("logging.closed", "[app0.log, app0.log.1, app1.log, app2.log]")
                    .containsEntry("logging.append", "true")
                    .containsEntry("watch.kinds", "[ENTRY_CREATE, ENTRY_DELETE, ENTRY_MODIFY]")
                    .containsEntry("watch.checks", "[key=true watchable=true context=true,true resolved=true,true"
                            + " sameFileSystem=true]")
                    .containsEntry("watch.cancelled", "false false");
        }
        assertThat(actual).as("%s", aura).containsEntry("fdNew", "{}");
    }
}
