package io.auraio.internal.offload;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
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
 * {@code hasNext} or {@code next} call that reaches it. {@link #remove()} is not supported. The
 * source's elements are never null. Not thread-safe, as the iterators it wraps, but for
 * {@link #discardTaken()}, which any thread may call while another iterates (a stream closed by
 * another thread, as the JDK's directory streams allow).
 *
 * @param <T> the elements
 */
public final class BatchedIterator<T> implements Iterator<T> {
    /** Elements taken per hand-off: tokio's {@code ReadDir} takes 32. */
    public static final int BATCH = 32;

    private final BlockingOffload offload;
    private final Path path;
    private final Iterator<T> source;
    /**
     * Guards {@link #taken} and {@link #discards}: a batch is filled on a pool thread into a list
     * of its own and published here, so that a close on a third thread never meets the deque
     * half-filled (an {@code ArrayDeque} filled and cleared at once skipped and repeated entries).
     */
    private final Object lock = new Object();
    private final ArrayDeque<T> taken = new ArrayDeque<>();
    /** How often {@link #discardTaken()} ran: a batch whose filling it overlapped is dropped. */
    private int discards;
    /** The caller's: the element a {@code hasNext} found, which a discard does not take back (as the JDK's). */
    private T found;
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
        while (found == null) {
            synchronized (lock) {
                found = taken.poll();
            }
            if (found != null) {
                break;
            }
            if (pending != null) {
                RuntimeException e = pending;
                pending = null;
                throw e;
            }
            if (exhausted) {
                return false;
            }
            fill();
        }
        return true;
    }

    /**
     * Takes the next batch from the source and publishes it, unless {@link #discardTaken()} ran
     * meanwhile: elements taken before the source's close are dropped, and the closed source is
     * asked again (the next {@code hasNext} round), to answer as it does once closed.
     */
    private void fill() {
        int batch = Thread.currentThread().isVirtual() ? BATCH : 1;
        int discardsBefore;
        synchronized (lock) {
            discardsBefore = discards;
        }
        List<T> elements = new ArrayList<>(batch);
        RuntimeException failure = offload.call(path, () -> {
            try {
                while (elements.size() < batch) {
                    if (!source.hasNext()) {
                        exhausted = true;
                        break;
                    }
                    elements.add(source.next());
                }
            } catch (RuntimeException e) {
                return e;
            }
            return null;
        });
        synchronized (lock) {
            if (discards != discardsBefore) {
                exhausted = false; // the closed source's own answer is asked for
                return;
            }
            taken.addAll(elements);
        }
        pending = failure;
    }

    /**
     * Drops the elements taken and not yet returned, for the source's close: the iterator then
     * answers as the closed source does (a directory stream's is at its end, a walk's throws
     * {@link IllegalStateException}), rather than returning up to a batch read ahead, but for the
     * element a {@code hasNext} already found, as the JDK's directory stream does. Any thread may
     * call it, also while another is in {@code hasNext}: a batch being taken meanwhile is dropped
     * too.
     */
    public void discardTaken() {
        synchronized (lock) {
            discards++;
            taken.clear();
        }
    }

    @Override
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        T element = found;
        found = null;
        return element;
    }
}
