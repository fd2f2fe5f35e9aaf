package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Commands;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * File names as the kernel has them, bytes that need not be valid in the locale's charset: a name
 * that is not valid UTF-8, and under {@code LANG=C} any name that is not ASCII. The JDK keeps a
 * path's bytes and opens such files; the library must open the same files, in this JVM and in
 * forked JVMs under a UTF-8 and the C locale.
 */
class NativeNamesTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** Creates {@code bad\377name} (not UTF-8), {@code caf\303\251} (UTF-8 "café") and {@code plain}, each with its own bytes. */
    @BeforeEach
    void createNames() throws IOException, InterruptedException {
        Commands.Ran ran = Commands.run("sh", "-c",
                "cd \"$1\" && printf one > \"$(printf 'bad\\377name')\" && printf two > \"$(printf 'caf\\303\\251')\""
                        + " && printf three > plain", "sh", dir.path().toString());
        assertThat(ran.exitCode()).as("%s", ran).isZero();
    }

    private List<Path> entries() throws IOException {
        try (Stream<Path> list = Files.list(dir.path())) {
            return list.sorted().toList();
        }
    }

    @Test
    void namesThatAreNotValidInTheLocalesCharsetOpenTheSameFilesAsTheJdk() throws IOException {
        List<Path> entries = entries();
        assertThat(entries).hasSize(3);
        assertThat(entries).anySatisfy(p -> assertThat(p.toString()).contains("\uFFFD")); // the lossy toString()
        assertThat(compareWithTheJdk(entries)).isEmpty();
    }

    /**
     * What the UTF-8 shortcut of {@code NativePath.bytes} ({@code String.getBytes}, which would
     * write {@code ?} for an unpaired surrogate where the encoder reports it) rests on: no path of
     * the default file system holds one, whatever the locale's charset.
     */
    @Test
    void aPathNeverHoldsAnUnpairedSurrogate() {
        assertThatThrownBy(() -> dir.path().resolve("lone\uD800surrogate"))
                .isInstanceOf(java.nio.file.InvalidPathException.class);
    }

    /** A name with a supplementary character (a surrogate pair in the string) opens as the JDK opens it. */
    @Test
    void namesWithSupplementaryCharactersOpenTheSameFilesAsTheJdk() throws IOException {
        String charset = System.getProperty("sun.jnu.encoding");
        assumeTrue("UTF-8".equalsIgnoreCase(charset),
                "the JVM's path charset is " + charset + ", not UTF-8: such a name is no Path here (LANG is unset or C)");
        Files.writeString(dir.resolve("emoji-\uD83D\uDE00"), "four");
        assertThat(compareWithTheJdk(entries())).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"C", "C.UTF-8"})
    void namesOpenInAForkedJvmUnderTheLocale(String locale) throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(NativeNamesProbe.class)
                .env("LC_ALL", locale)
                .env("LANG", locale)
                .args(dir.path().toAbsolutePath().toString())
                .run();
        assertThat(r.exitCode()).as("%s", r).isZero();
        assertThat(r.stdout()).contains("entries=3");
        // Under C every non-ASCII name is lossy; under UTF-8 the one that is not UTF-8.
        assertThat(r.stdout()).as("%s", r).contains(locale.equals("C") ? "lossy=2" : "lossy=1");
    }

    /**
     * Reads every entry through the JDK and through the library, writes and copies through
     * {@link AuraFiles}. {@return a line for each difference from the JDK}
     */
    static List<String> compareWithTheJdk(List<Path> entries) throws IOException {
        List<String> mismatches = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Path p = entries.get(i);
            String name = "entry " + i;
            byte[] expected = NativeNamesProbe.readWithJdk(p);
            try {
                try (FileChannel ch = AuraFileChannel.open(p, StandardOpenOption.READ)) {
                    check(mismatches, name + " AuraFileChannel", expected, NativeNamesProbe.readAll(ch));
                }
                try (AuraFile f = AuraFile.open(p, StandardOpenOption.READ)) {
                    ByteBuffer buf = ByteBuffer.allocate(expected.length);
                    f.readFully(buf, 0);
                    check(mismatches, name + " AuraFile", expected, buf.array());
                }
                check(mismatches, name + " AuraFiles.readAllBytes", expected, AuraFiles.readAllBytes(p));
                if (AuraFiles.size(p) != Files.size(p)) {
                    mismatches.add(name + " AuraFiles.size " + AuraFiles.size(p) + " != " + Files.size(p));
                }
                byte[] updated = Arrays.copyOf(expected, expected.length + 1);
                AuraFiles.write(p, updated);
                check(mismatches, name + " AuraFiles.write", updated, NativeNamesProbe.readWithJdk(p));
                Path copy = p.resolveSibling("copy-" + i); // ASCII: under C the name cannot be spelt
                AuraFiles.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
                check(mismatches, name + " AuraFiles.copy", updated, NativeNamesProbe.readWithJdk(copy));
                Files.delete(copy);
                Files.write(p, expected);
            } catch (IOException e) {
                mismatches.add(name + " failed: " + e);
            }
        }
        return mismatches;
    }

    private static void check(List<String> mismatches, String what, byte[] expected, byte[] actual) {
        if (!Arrays.equals(expected, actual)) {
            mismatches.add(what + ": read " + Arrays.toString(actual) + " where the JDK read " + Arrays.toString(expected));
        }
    }
}
