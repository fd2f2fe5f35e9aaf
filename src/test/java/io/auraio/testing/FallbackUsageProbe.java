package io.auraio.testing;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

import io.auraio.AuraFile;
import io.auraio.AuraFileChannel;
import io.auraio.AuraFiles;
import io.auraio.AuraIO;
import io.auraio.AuraIOException;
import io.auraio.Engine;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Main class for a {@link ForkedJvm} whose io_uring is made unusable: uses every way in (AuraFile,
 * AuraFileChannel, AuraFiles, the provider, the engine API) a few dozen times and prints, as
 * {@code key=value} lines: {@code backend}, {@code fds.new} (the descriptors open after the
 * rounds that were not after one warm-up round, number=target), {@code threads.new} (the threads
 * alive after the rounds that were not before them), {@code threads.ended} (those that ended
 * meanwhile: short-lived ones, not a leak), {@code data} ({@code ok} or what differed), {@code defaultEngine} and
 * {@code engineCreate} (the messages of their exceptions).
 *
 * <p>Argument: a directory to work in.
 */
public final class FallbackUsageProbe {
    private FallbackUsageProbe() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        FileSystem provider = new io.auraio.spi.AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        System.out.println("backend=" + AuraIO.backend());
        StringBuilder problems = new StringBuilder();
        round(dir, provider, -1, problems);
        java.util.Map<Integer, String> fdsBefore = Descriptors.open();
        java.util.Set<Thread> threadsBefore = java.util.Set.copyOf(Thread.getAllStackTraces().keySet());
        for (int i = 0; i < 40; i++) {
            round(dir, provider, i, problems);
        }
        System.out.println("fds.new=" + Descriptors.newSince(fdsBefore));
        // Threads alive now that were not before the rounds: a leak grows this. Counting them instead
        // compared a short-lived thread of the warm-up (one that ended during the rounds) with a leak.
        java.util.Set<Thread> threadsAfter = Thread.getAllStackTraces().keySet();
        System.out.println("threads.new=" + threadsAfter.stream().filter(t -> !threadsBefore.contains(t))
                .map(Thread::getName).sorted().toList());
        System.out.println("threads.ended=" + threadsBefore.stream().filter(t -> !threadsAfter.contains(t))
                .map(Thread::getName).sorted().toList());
        System.out.println("data=" + (problems.isEmpty() ? "ok" : problems.toString().trim()));
        try {
            AuraIO.defaultEngine();
            System.out.println("defaultEngine=created");
        } catch (AuraIOException e) {
            System.out.println("defaultEngine=" + e.getMessage());
        }
        try (Engine engine = Engine.create()) {
            System.out.println("engineCreate=created with " + engine.ringCount() + " rings");
        } catch (AuraIOException e) {
            System.out.println("engineCreate=" + e.getMessage());
        }
    }

    private static void round(Path dir, FileSystem provider, int i, StringBuilder problems) throws Exception {
        byte[] data = TestSupport.randomBytes(5000 + i, i);
        Path f = dir.resolve("f" + i);
        AuraFiles.write(f, data);
        if (!Arrays.equals(AuraFiles.readAllBytes(f), data)) {
            problems.append(" AuraFiles.readAllBytes ").append(i);
        }
        Path g = dir.resolve("g" + i);
        try (AuraFileChannel ch = AuraFileChannel.open(f, READ, WRITE);
             AuraFileChannel out = AuraFileChannel.open(g, READ, WRITE, java.nio.file.StandardOpenOption.CREATE)) {
            FileLock lock = ch.lock();
            if (ch.map(FileChannel.MapMode.READ_ONLY, 0, 100).get(3) != data[3]) {
                problems.append(" map ").append(i);
            }
            lock.release();
            ch.transferTo(0, data.length, out);
            out.force(true);
        }
        if (!Arrays.equals(Files.readAllBytes(g), data)) {
            problems.append(" transferTo ").append(i);
        }
        try (AuraFile af = AuraFile.open(f, READ)) {
            ByteBuffer b = ByteBuffer.allocate(data.length);
            af.readFully(b, 0);
        }
        try {
            AuraFile.open(dir.resolve("missing"), READ).close();
            problems.append(" a missing file opened");
        } catch (NoSuchFileException expected) {
            // as the JDK
        }
        Path p = provider.getPath(f.toString());
        if (!Arrays.equals(Files.readAllBytes(p), data)) {
            problems.append(" provider ").append(i);
        }
        try (var s = Files.newInputStream(p)) {
            s.readAllBytes();
        }
        AuraFiles.copy(f, dir.resolve("c" + i));
        AuraFiles.delete(dir.resolve("c" + i));
        Files.delete(g);
        Files.delete(f);
    }
}
