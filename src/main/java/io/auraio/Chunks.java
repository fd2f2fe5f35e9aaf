package io.auraio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Splits a byte range into chunks and works on them from a few virtual threads at once, so that
 * many requests are in flight for one large file ({@link AuraFiles}): each worker has one read or
 * write outstanding at a time, so the worker count is the depth.
 */
final class Chunks {
    /** Bytes per request. */
    static final int CHUNK = 256 * 1024;
    /** Workers, hence requests in flight, at most. */
    static final int MAX_WORKERS = 16;

    /** The work on one chunk. */
    @FunctionalInterface
    interface Task {
        /**
         * Works on {@code [offset, offset + length)}.
         *
         * @param worker the worker's index, {@code 0 <= worker < }{@link #workers(long)}
         * @return the bytes done; fewer than {@code length} means the end of the file came first
         */
        long run(int worker, long offset, int length) throws IOException;
    }

    private Chunks() {}

    /** {@return how many workers {@link #forEach} uses for {@code size} bytes} */
    static int workers(long size) {
        long chunks = (size + CHUNK - 1) / CHUNK;
        return (int) Math.max(1, Math.min(MAX_WORKERS, chunks));
    }

    /**
     * Runs {@code task} on every chunk of {@code [0, size)}, on the calling thread when there is one
     * chunk, else on {@link #workers(long)} virtual threads; the first failure stops the others and
     * is thrown (with later ones suppressed). Interrupts are ignored, as by the {@code Files}
     * methods this serves: the calling thread waits for its workers and keeps its interrupt status.
     *
     * @return where the end of the file was met: the lowest offset a chunk stopped short at, else {@code size}
     */
    static long forEach(long size, Task task) throws IOException {
        int workers = workers(size);
        if (workers == 1) {
            return size == 0 ? 0 : task.run(0, 0, (int) size);
        }
        AtomicLong nextChunk = new AtomicLong();
        AtomicLong end = new AtomicLong(size);
        List<Throwable> failures = new ArrayList<>();
        List<Thread> threads = new ArrayList<>(workers);
        for (int w = 0; w < workers; w++) {
            int worker = w;
            threads.add(Thread.ofVirtual().name("auraio-chunk-" + w).start(() -> {
                try {
                    long chunk;
                    while ((chunk = nextChunk.getAndIncrement()) * CHUNK < end.get()) {
                        long offset = chunk * CHUNK;
                        int length = (int) Math.min(CHUNK, size - offset);
                        long done = task.run(worker, offset, length);
                        if (done < length) {
                            end.accumulateAndGet(offset + done, Math::min);
                        }
                    }
                } catch (Throwable t) {
                    end.set(0); // stop the others at their next chunk
                    synchronized (failures) {
                        failures.add(t);
                    }
                }
            }));
        }
        if (joinAll(threads)) {
            Thread.currentThread().interrupt();
        }
        if (!failures.isEmpty()) {
            Throwable first = failures.getFirst();
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            switch (first) {
                case IOException e -> throw e;
                case RuntimeException e -> throw e;
                case Error e -> throw e;
                default -> throw new UncheckedIOException(new IOException(first));
            }
        }
        return end.get();
    }

    /** Joins every thread, whatever interrupts come. {@return whether the caller was interrupted} */
    private static boolean joinAll(List<Thread> threads) {
        boolean interrupted = false;
        for (Thread t : threads) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        return interrupted;
    }
}
