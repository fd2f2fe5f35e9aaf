package io.auraio.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/** The file a bench runs on: the user's ({@code --file}) or a temp file it creates, fills and deletes. */
final class BenchFile implements AutoCloseable {
    private static final int FILL_CHUNK = 1 << 20;

    private final Path path;
    private final boolean temporary;
    /**
     * Deletes a temp file when the JVM exits before {@link #close()} (Ctrl-C, SIGTERM): the
     * try-with-resources around the run never gets there, and a 256 MiB file was left behind.
     */
    private final Thread deleteAtExit;

    private BenchFile(Path path, boolean temporary) {
        this.path = path;
        this.temporary = temporary;
        if (temporary) {
            deleteAtExit = Thread.ofPlatform().name("auraio-bench-cleanup").unstarted(() -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    // exiting anyway; nothing to tell
                }
            });
            Runtime.getRuntime().addShutdownHook(deleteAtExit);
        } else {
            deleteAtExit = null;
        }
    }

    Path path() {
        return path;
    }

    boolean temporary() {
        return temporary;
    }

    /** Checks that the user's file exists and is a regular file that can be opened as the workload needs. */
    static BenchFile existing(Path file, boolean write) {
        if (!Files.exists(file)) {
            throw new UsageException("--file " + file + ": no such file (omit --file to bench on a temp file)");
        }
        if (!Files.isRegularFile(file) && !Files.isSymbolicLink(file)) {
            throw new UsageException("--file " + file + ": not a regular file");
        }
        if (!Files.isReadable(file) || (write && !Files.isWritable(file))) {
            throw new UsageException("--file " + file + ": not " + (write ? "readable and writable" : "readable"));
        }
        return new BenchFile(file, false);
    }

    /** Creates an empty temp file in {@code directory}; {@link #close()} deletes it. */
    static BenchFile temporary(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new UsageException("--directory " + directory + ": no such directory");
        }
        try {
            return new BenchFile(Files.createTempFile(directory, "auraio-bench-", ".dat"), true);
        } catch (AccessDeniedException e) {
            throw new UsageException("--directory " + directory + ": not writable (permission denied)");
        } catch (IOException e) {
            throw new UsageException("--directory " + directory + ": not writable, cannot create a temp file there ("
                    + reason(e) + ")");
        }
    }

    /** {@return whether this file can be opened with O_DIRECT and read with an aligned {@code bs} read} */
    boolean supportsDirect(long bs) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, DirectOption.DIRECT);
             Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(bs, 4096), 4096);
            ch.read(buf.asByteBuffer().limit((int) Math.min(bs, Integer.MAX_VALUE)), 0);
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * Writes {@code size} bytes of random data (random so that no layer can compress or dedupe them).
     *
     * @throws IOException what failed: a full disk ("No space left on device"), the device
     */
    void fill(long size) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ByteBuffer chunk = ByteBuffer.allocateDirect(FILL_CHUNK);
            byte[] random = new byte[FILL_CHUNK];
            for (long pos = 0; pos < size; pos += FILL_CHUNK) {
                ThreadLocalRandom.current().nextBytes(random);
                chunk.clear().put(random, 0, (int) Math.min(FILL_CHUNK, size - pos)).flip();
                while (chunk.hasRemaining()) {
                    ch.write(chunk, pos + chunk.position());
                }
            }
            ch.force(true);
        }
    }

    /**
     * Checks that the file system can hold {@code size} more bytes, before filling: a --size
     * beyond the free space filled the disk up to ENOSPC first.
     */
    void checkSpace(long size, String asked) {
        long free;
        try {
            free = Files.getFileStore(path).getUsableSpace();
        } catch (IOException e) {
            return; // the fill reports what goes wrong
        }
        if (free > 0 && size > free) {
            throw new UsageException("--size " + asked + ": more than the " + Sizes.format(free) + " free on the file "
                    + "system of " + path.getParent());
        }
    }

    long size() throws IOException {
        return Files.size(path);
    }

    private static String reason(IOException e) {
        String reason = e instanceof FileSystemException fse ? fse.getReason() : e.getMessage();
        return reason == null ? e.getClass().getSimpleName() : reason;
    }

    @Override
    public void close() throws IOException {
        if (temporary) {
            Files.deleteIfExists(path);
            try {
                Runtime.getRuntime().removeShutdownHook(deleteAtExit);
            } catch (IllegalStateException e) {
                // the JVM is exiting: the hook runs, and finds the file gone
            }
        }
    }
}
