package io.auraio.spi;

import static java.nio.file.StandardOpenOption.READ;

import io.auraio.AuraIO;
import io.auraio.Engine;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Run in a forked JVM with {@code -Djava.nio.file.spi.DefaultFileSystemProvider} set (by
 * {@link AuraFileSystemProviderForkedTest}): opens files through the JDK's ordinary entry points,
 * with no mention of AuraIO, and prints {@code key=value} lines for the test to check.
 * Argument: a directory to work in.
 */
public final class DefaultProviderProbe {
    private DefaultProviderProbe() {}

    private static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        byte[] data = new byte[100_000];
        new Random(1).nextBytes(data);
        print("defaultProvider", FileSystems.getDefault().provider().getClass().getName());
        print("pathProvider", dir.getFileSystem().provider().getClass().getName());
        print("toPathProvider", new File(args[0]).toPath().getFileSystem().provider().getClass().getName());

        Path a = dir.resolve("a.bin");
        Files.write(a, data);
        // Its pages dropped, the first read misses the page cache and goes to a ring (whatever
        // else the probe does may all be answered on the caller or the offload).
        print("pagesDropped", io.auraio.testing.Posix.dropCachedPages(a));
        try (FileChannel ch = FileChannel.open(a, READ)) {
            print("FileChannel.open", ch.getClass().getName());
            ByteBuffer buf = ByteBuffer.allocate(data.length);
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // read to the end
            }
            print("FileChannel.open.roundTrip", Arrays.equals(buf.array(), data));
        }
        try (SeekableByteChannel ch = Files.newByteChannel(a)) {
            print("Files.newByteChannel", ch.getClass().getName());
        }
        print("Files.readAllBytes.roundTrip", Arrays.equals(Files.readAllBytes(a), data));
        try (InputStream in = Files.newInputStream(a)) {
            print("Files.newInputStream.roundTrip", Arrays.equals(in.readAllBytes(), data));
        }
        Path b = dir.resolve("b.bin");
        try (OutputStream out = Files.newOutputStream(b)) {
            out.write(data, 0, 1000);
        }
        print("Files.newOutputStream.size", Files.size(b));

        // No attributes: on the default file system the JDK asks for rw------- itself.
        Path text = Files.createTempFile(dir, "probe", ".txt");
        Files.writeString(text, "one\ntwo\nthree\n");
        print("createTempFile.permissions", PosixFilePermissions.toString(Files.getPosixFilePermissions(text)));
        print("Files.readAllLines", Files.readAllLines(text));
        try (Stream<String> lines = Files.lines(text)) { // maps the file
            print("Files.lines", lines.toList());
        }
        Files.copy(a, dir.resolve("c.bin"));
        print("Files.copy.roundTrip", Arrays.equals(Files.readAllBytes(dir.resolve("c.bin")), data));
        try (java.nio.file.DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            print("Files.newDirectoryStream.secure", stream instanceof java.nio.file.SecureDirectoryStream);
        }
        Thread.currentThread().interrupt(); // Files.readAllBytes ignores it, as with the JDK's channel
        boolean readInterrupted = Arrays.equals(Files.readAllBytes(a), data);
        print("Files.readAllBytes.interrupted", readInterrupted + " " + Thread.interrupted());
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> files = walk.filter(Files::isRegularFile).toList();
            print("Files.walk.count", files.size());
            print("Files.walk.provider", files.getFirst().getFileSystem().provider().getClass().getName());
        }
        Files.delete(b);
        print("deleted", !Files.exists(b));
        Engine engine = AuraIO.defaultEngine();
        long ringOps = 0;
        long ringBytes = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            ringOps += engine.ringStats(i).opsCompleted(); // requests of the rings, not fast-path reads
            ringBytes += engine.ringStats(i).bytesTransferred();
        }
        print("ringOps", ringOps);
        print("ringBytes", ringBytes);
        // Engine-wide: ring requests plus the page-cache transfers AuraFile does on the caller
        // (RWF_NOWAIT reads, buffered writes on a local filesystem), which never reach a ring.
        print("engineBytes", engine.stats().bytesTransferred());
    }
}
