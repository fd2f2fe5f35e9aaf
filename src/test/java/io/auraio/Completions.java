package io.auraio;

import static io.auraio.testing.TestSupport.HANG;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A {@link Callback} that records every completion with the thread it ran on, and waits for
 * completions by driving the engine's event loop. Nothing here asserts on time: {@link
 * io.auraio.testing.TestSupport#HANG} only turns a hang into a failure.
 */
final class Completions implements Callback {
    /** One callback invocation. */
    record Completion(Request request, long result, Thread thread) {}

    private final Queue<Completion> completions = new ConcurrentLinkedQueue<>();

    @Override
    public void completed(Request request, long result) {
        completions.add(new Completion(request, result, Thread.currentThread()));
    }

    int count() {
        return completions.size();
    }

    List<Completion> all() {
        return List.copyOf(completions);
    }

    /** {@return the completion of {@code request}; fails if it has none or more than one} */
    Completion of(Request request) {
        List<Completion> matching = completions.stream().filter(c -> c.request() == request).toList();
        if (matching.size() != 1) {
            throw new AssertionError(request + " completed " + matching.size() + " times");
        }
        return matching.getFirst();
    }

    /** {@return the result of {@code request}'s only completion} */
    long resultOf(Request request) {
        return of(request).result();
    }

    /**
     * Runs the engine's event loop ({@link Engine#await}) until at least {@code n} callbacks of
     * this recorder have run; fails if that takes longer than {@code HANG}.
     */
    void awaitCount(Engine engine, int n) throws InterruptedException {
        long deadline = System.nanoTime() + HANG.toNanos();
        while (count() < n) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for " + n + " callbacks, " + count() + " ran");
            }
            if (engine.await(20) == 0) {
                Thread.sleep(1); // nothing outstanding yet (another thread submits): do not spin
            }
        }
    }
}
