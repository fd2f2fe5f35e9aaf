package io.auraio.cli;

import io.auraio.AuraFile;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

/**
 * Digests files for {@code auraio hash}: each file read through an {@link AuraFile} with up to
 * {@link #READ_AHEAD} chunk reads in flight ahead of the {@link MessageDigest}, which takes the
 * chunks in order on the file's own virtual thread. The chunks come from a pool of native buffers
 * shared by all files, and at most as many digests compute at once as there are processors, so
 * many files can wait on the disk while every core hashes.
 */
final class FileDigester implements AutoCloseable {
    static final int CHUNK = 256 * 1024;
    static final int READ_AHEAD = 4;
    static final int BUFFERS = 64;

    private final String algorithm;
    private final ChunkBuffers buffers = new ChunkBuffers(BUFFERS, CHUNK, 4096);
    private final Semaphore cores = new Semaphore(Runtime.getRuntime().availableProcessors());
    private final LongAdder bytes = new LongAdder();
    /** A digest never updated, cloned for each file; made on first use. */
    private volatile MessageDigest prototype;

    FileDigester(String algorithm) {
        this.algorithm = algorithm;
    }

    /** {@return bytes digested so far} */
    long bytes() {
        return bytes.sum();
    }

    /** {@return a new digest of the chosen algorithm} */
    MessageDigest newDigest() {
        MessageDigest p = prototype;
        if (p == null) {
            try {
                p = MessageDigest.getInstance(algorithm);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JDK has no " + algorithm, e);
            }
            prototype = p;
        }
        try {
            // A clone of a fresh digest: getInstance looks the provider's service up per call,
            // a measurable part of hashing a small file.
            return (MessageDigest) p.clone();
        } catch (CloneNotSupportedException e) {
            try {
                return MessageDigest.getInstance(algorithm);
            } catch (NoSuchAlgorithmException again) {
                throw new IllegalStateException("the JDK has no " + algorithm, again);
            }
        }
    }

    /**
     * {@return the lower-case hex digest of the file at {@code path}}
     *
     * @param sizeHint the size the caller saw (a walk's lstat), to save asking again; -1 to ask.
     *                 Only a guide: what the file holds when read is what is digested
     * @throws IOException if it cannot be opened or read
     */
    String digest(Path path, long sizeHint) throws IOException, InterruptedException {
        MessageDigest md = newDigest();
        try (AuraFile file = ToolEngine.open(path, StandardOpenOption.READ)) {
            long size = sizeHint >= 0 ? sizeHint : file.size();
            long position = size > CHUNK ? digestPipelined(file, size, md) : 0;
            // Small files, and whatever follows the announced size (a growing file, a /proc file).
            MemorySegment buf = buffers.take();
            try {
                while (true) {
                    int n = file.read(buf, position);
                    if (n < 0) {
                        break;
                    }
                    update(md, buf, n);
                    position += n;
                    if (n < CHUNK && position >= size && size > 0) {
                        break; // a short read at the announced end of a regular file: its end
                    }
                }
            } finally {
                buffers.give(buf);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** {@return the lower-case hex digest of everything {@code in} holds} */
    String digest(InputStream in) throws IOException, InterruptedException {
        MessageDigest md = newDigest();
        byte[] buf = new byte[CHUNK];
        int n;
        while ((n = in.read(buf)) >= 0) {
            cores.acquire();
            try {
                md.update(buf, 0, n);
            } finally {
                cores.release();
            }
            bytes.add(n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Digests the first {@code size} bytes with reads of the next chunks in flight while one is
     * digested. {@return the position reached: {@code size}, or less if the file shrank}
     */
    private long digestPipelined(AuraFile file, long size, MessageDigest md) throws IOException, InterruptedException {
        long chunks = (size + CHUNK - 1) / CHUNK;
        Read[] window = new Read[READ_AHEAD];
        long issued = 0;
        long position = 0;
        try {
            for (; issued < Math.min(READ_AHEAD, chunks); issued++) {
                window[(int) issued] = Read.start(file, buffers.take(), issued * CHUNK, (int) Math.min(CHUNK, size - issued * CHUNK));
            }
            for (long chunk = 0; chunk < chunks; chunk++) {
                int slot = (int) (chunk % READ_AHEAD);
                Read r = window[slot];
                int n = r.await();
                update(md, r.buffer, n);
                position += n;
                if (n < r.length) {
                    return position; // the file shrank; the caller reads on from here to its end
                }
                if (issued < chunks) {
                    window[slot] = Read.start(file, r.buffer, issued * CHUNK, (int) Math.min(CHUNK, size - issued * CHUNK));
                    issued++;
                } else {
                    window[slot] = null;
                    buffers.give(r.buffer);
                }
            }
            return position;
        } finally {
            for (int i = 0; i < window.length; i++) {
                Read r = window[i];
                if (r != null) {
                    r.awaitQuietly();
                    buffers.give(r.buffer);
                    window[i] = null;
                }
            }
        }
    }

    private void update(MessageDigest md, MemorySegment buf, int n) throws InterruptedException {
        if (n <= 0) {
            return;
        }
        cores.acquire();
        try {
            md.update(buf.asSlice(0, n).asByteBuffer());
        } finally {
            cores.release();
        }
        bytes.add(n);
    }

    /** One chunk read on its own virtual thread, filled to its length unless the file ends first. */
    private static final class Read {
        final MemorySegment buffer;
        final int length;
        private final Thread thread;
        private int count;
        private IOException failure;

        private Read(AuraFile file, MemorySegment buffer, long position, int length) {
            this.buffer = buffer;
            this.length = length;
            this.thread = Thread.ofVirtual().start(() -> {
                try {
                    int got = 0;
                    while (got < length) {
                        int n = file.read(buffer.asSlice(got, length - got), position + got);
                        if (n < 0) {
                            break;
                        }
                        got += n;
                    }
                    count = got;
                } catch (IOException e) {
                    failure = e;
                }
            });
        }

        static Read start(AuraFile file, MemorySegment buffer, long position, int length) {
            return new Read(file, buffer, position, length);
        }

        int await() throws IOException, InterruptedException {
            thread.join();
            if (failure != null) {
                throw failure;
            }
            return count;
        }

        void awaitQuietly() {
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        buffers.close();
    }
}
