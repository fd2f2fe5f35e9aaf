package io.auraio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Main class for {@link NativeNamesTest}'s forked JVMs (run under a given locale): lists the
 * directory named by the first argument and reads every entry through the JDK's
 * {@code FileChannel} and through {@link AuraFileChannel}, {@link AuraFile} and
 * {@link AuraFiles}, then writes and copies through {@link AuraFiles}. Prints
 * {@code jnu=<sun.jnu.encoding>}, {@code entries=<n>}, {@code lossy=<n>} (names whose
 * {@code toString()} lost bytes to U+FFFD) and one {@code MISMATCH ...} line per difference; exits
 * 0 when there is none.
 */
public final class NativeNamesProbe {
    private NativeNamesProbe() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        System.out.println("jnu=" + System.getProperty("sun.jnu.encoding"));
        List<Path> entries;
        try (Stream<Path> list = Files.list(dir)) {
            entries = list.sorted().toList();
        }
        System.out.println("entries=" + entries.size());
        System.out.println("lossy=" + entries.stream().filter(p -> p.toString().indexOf('\uFFFD') >= 0).count());
        List<String> mismatches = NativeNamesTest.compareWithTheJdk(entries);
        mismatches.forEach(m -> System.out.println("MISMATCH " + m));
        System.exit(mismatches.isEmpty() ? 0 : 1);
    }

    /** {@return the whole file read with the JDK's FileChannel} */
    static byte[] readWithJdk(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return readAll(ch);
        }
    }

    static byte[] readAll(FileChannel ch) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) ch.size() + 1);
        while (ch.read(buf) > 0) {
            // until the end
        }
        return Arrays.copyOf(buf.array(), buf.position());
    }
}
