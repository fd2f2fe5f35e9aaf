package io.auraio.internal.offload;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An iterator whose {@code hasNext} blocks in system calls (a directory stream's, {@code readdir};
 * a file tree walk's, {@code stat} and {@code readdir}), drawn on the {@link BlockingOffload} in
 * batches: a virtual caller parks while a pool thread takes up to {@link #BATCH} elements from the
 * source. A platform caller takes one element at a time on its own thread, as from the source
 * itself.
 *
 * <p>An unchecked exception the source throws (a {@link java.nio.file.DirectoryIteratorException},
 * an {@link java.io.UncheckedIOException}) comes after the elements taken before it, from the
 * {@code hasNext} or {@code next} call that reaches it. {@link #remove()} is not supported. Not
 * thread-safe, as the iterators it wraps.
 *
 * @param <T> the elements
 */
public final class BatchedIterator<T> implements Iterator<T> {
    /** Elements taken per hand-off: tokio's {@code ReadDir} takes 32. */
    public static final int BATCH = 32;

    private final BlockingOffload offload;
    private final Path path;
    private final Iterator<T> source;
    private final ArrayDeque<T> taken = new ArrayDeque<>();
    private RuntimeException pending;
    private boolean exhausted;

    /**
     * @param offload the pool
     * @param path    the path whose mount the source's calls touch
     * @param source  the blocking iterator
     */
    public BatchedIterator(BlockingOffload offload, Path path, Iterator<T> source) {
        this.offload = offload;
        this.path = path;
        this.source = source;
    }

    @Override
    public boolean hasNext() {
        if (taken.isEmpty() && pending == null && !exhausted) {
            int batch = Thread.currentThread().isVirtual() ? BATCH : 1;
            offload.call(path, () -> {
                try {
                    while (taken.size() < batch) {
                        if (!source.hasNext()) {
                            exhausted = true;
                            break;
                        }
                        taken.add(source.next());
                    }
                } catch (RuntimeException e) {
                    pending = e;
                }
                return null;
            });
        }
        if (!taken.isEmpty()) {
            return true;
        }
        if (pending != null) {
            RuntimeException e = pending;
            pending = null;
            throw e;
        }
        return false;
    }

    /**
     * Drops the elements taken and not yet returned, for the source's close: the iterator then
     * answers as the closed source does (a directory stream's is at its end, a walk's throws
     * {@link IllegalStateException}), rather than returning up to a batch read ahead.
     */
    public void discardTaken() {
        taken.clear();
    }

    @Override
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return taken.poll();
    }
}
