package io.auraio.testing;

import io.auraio.AuraFile;
import io.auraio.AuraFiles;
import io.auraio.AuraIO;
import io.auraio.AuraIOException;
import io.auraio.Engine;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Main class for a {@link ForkedJvm} whose io_uring is made unusable: uses {@link AuraFile} and
 * {@link AuraFiles} as a script would (write, read, copy a multi-chunk file) and prints what a test
 * checks, one {@code key=value} per line on standard output: {@code backend}, {@code fallbackCause},
 * {@code binding}, {@code fileBackend}, {@code data} ({@code ok} or what differed), {@code engineCreate} (the
 * message of {@link Engine#create()}'s exception, or {@code created}). Exits 0 unless something
 * threw unexpectedly.
 *
 * <p>Argument: a directory to work in.
 */
public final class FallbackProbe {
    /** Spans several {@code AuraFiles} chunks, with a partial last one. */
    private static final int SIZE = 3 * 1024 * 1024 + 12345;

    private FallbackProbe() {}

    /** Runs the probe; {@code args[0]} is the working directory. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        System.out.println("backend=" + AuraIO.backend());
        System.out.println("fallbackCause=" + AuraIO.fallbackCause().orElse(""));
        System.out.println("binding=" + AuraIO.binding());
        byte[] data = TestSupport.randomBytes(SIZE, 42);
        Path written = dir.resolve("written");
        AuraFiles.write(written, data);
        String problem = "";
        if (!Arrays.equals(Files.readAllBytes(written), data)) {
            problem += " AuraFiles.write wrote other bytes;";
        }
        if (!Arrays.equals(AuraFiles.readAllBytes(written), data)) {
            problem += " AuraFiles.readAllBytes read other bytes;";
        }
        Path copy = AuraFiles.copy(written, dir.resolve("copy"));
        if (!Arrays.equals(Files.readAllBytes(copy), data)) {
            problem += " AuraFiles.copy made another file;";
        }
        if (AuraFiles.size(copy) != SIZE) {
            problem += " AuraFiles.size is " + AuraFiles.size(copy) + ";";
        }
        try (AuraFile f = AuraFile.open(dir.resolve("rw"), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            System.out.println("fileBackend=" + f.backend());
            f.writeFully(ByteBuffer.wrap(data), 0);
            f.force(true);
            ByteBuffer back = ByteBuffer.allocate(SIZE);
            f.readFully(back, 0);
            if (!Arrays.equals(back.array(), data) || f.size() != SIZE) {
                problem += " AuraFile read back other bytes or size;";
            }
        }
        System.out.println("data=" + (problem.isEmpty() ? "ok" : problem.trim()));
        try (Engine engine = Engine.create()) {
            System.out.println("engineCreate=created with " + engine.ringCount() + " rings");
        } catch (AuraIOException e) {
            System.out.println("engineCreate=" + e.getMessage());
            System.out.println("engineCreateErrno=" + e.errno());
        }
    }
}
