package io.auraio.internal.offload;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestSupport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link BatchedIterator} on a real pool and real threads, over a source that ends once closed, as
 * a closed directory stream's iterator does, and that holds the thread taking one chosen element
 * until the test lets it go: the close then lands while a batch is being taken, every time.
 * ({@code DirectoryReviewTest.listingsClosedByAnotherThreadWhileReadEndWithTheirFirstEntries} does
 * the same with real listings and a close at random moments.)
 */
class BatchedIteratorTest {
    private final BlockingOffload offload = new BlockingOffload(4, 4);

    /** {@code size} elements "e0", "e1", ...; ends once closed; holds its taker at element {@code holdAt}. */
    private static final class ClosableSource implements Iterator<String> {
        private final int size;
        private final int holdAt;
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean closed;
        private int next;

        ClosableSource(int size, int holdAt) {
            this.size = size;
            this.holdAt = holdAt;
        }

        @Override
        public boolean hasNext() {
            return !closed && next < size;
        }

        @Override
        public String next() {
            if (next == holdAt) {
                held.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return "e" + next++;
        }
    }

    /** {@return the first {@code n} elements of a source} */
    private static List<String> first(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add("e" + i);
        }
        return out;
    }

    /**
     * Reads {@code it} to its end on a new thread, while this thread closes the source and
     * discards once the source holds its taker at the held element. {@return what the reader got}
     */
    private static List<String> readWhileClosed(BatchedIterator<String> it, ClosableSource source, boolean virtual)
            throws Exception {
        List<String> got = new ArrayList<>();
        AtomicBoolean closeReturned = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<String> afterClose = new ArrayList<>();
        Thread reader = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).start(() -> {
            try {
                while (true) {
                    boolean wasClosed = closeReturned.get();
                    if (!it.hasNext()) {
                        break;
                    }
                    String e = it.next();
                    got.add(e);
                    if (wasClosed) {
                        afterClose.add(e);
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        source.held.await();
        // As AuraFiles' stream closes: the source first, then what was read ahead of it.
        source.closed = true;
        it.discardTaken();
        closeReturned.set(true);
        source.release.countDown();
        TestSupport.joinAll(List.of(reader));
        assertThat(failure.get()).isNull();
        assertThat(afterClose).as("entries from a hasNext begun after the close").isEmpty();
        return got;
    }

    /**
     * A virtual reader's batch being taken on a pool thread when another thread closes the
     * stream: the batch is dropped, and the iterator ends as the closed source does. (The batch
     * was filled into the deque the close cleared: the elements taken after the clear came after
     * the close, and a fill and a clear at once skipped or repeated entries.)
     */
    @Test
    void aBatchBeingTakenWhenAnotherThreadDiscardsIsDropped() throws Exception {
        ClosableSource source = new ClosableSource(100, 40); // the second batch: 32 to 63
        BatchedIterator<String> it = new BatchedIterator<>(offload, Path.of("/"), source);
        assertThat(readWhileClosed(it, source, true)).isEqualTo(first(32));
        assertThat(it.hasNext()).isFalse();
    }

    /** The same for a platform reader, which takes one element at a time on its own thread. */
    @Test
    void anElementBeingTakenByAPlatformReaderWhenAnotherThreadDiscardsIsDropped() throws Exception {
        ClosableSource source = new ClosableSource(100, 40);
        BatchedIterator<String> it = new BatchedIterator<>(offload, Path.of("/"), source);
        assertThat(readWhileClosed(it, source, false)).isEqualTo(first(40));
        assertThat(it.hasNext()).isFalse();
    }

    /**
     * Discarded on the reader's own thread after a {@code hasNext}: the element it found is still
     * returned, as by the JDK's directory stream, and the rest of the batch is not.
     */
    @Test
    void theElementAHasNextFoundOutlivesADiscard() throws Exception {
        ClosableSource source = new ClosableSource(100, -1);
        BatchedIterator<String> it = new BatchedIterator<>(offload, Path.of("/"), source);
        List<String> got = TestSupport.onVirtualThread(() -> {
            List<String> out = new ArrayList<>();
            out.add(it.next());
            assertThat(it.hasNext()).isTrue();
            source.closed = true;
            it.discardTaken();
            out.add(it.next());
            assertThat(it.hasNext()).isFalse();
            try {
                it.next();
                out.add("no exception");
            } catch (NoSuchElementException expected) {
                out.add("end");
            }
            return out;
        });
        assertThat(got).containsExactly("e0", "e1", "end");
    }
}
