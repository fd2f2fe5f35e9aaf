package io.auraio.testing;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;

/**
 * A platform thread that holds a lock until closed, for tests of who waits for it and how:
 * {@code try (LockHolder _ = LockHolder.hold(gate::runUnderLockForTests)) { ... }}.
 */
public final class LockHolder implements AutoCloseable {
    private final Thread thread;
    private final CountDownLatch letGo = new CountDownLatch(1);

    private LockHolder(Consumer<Runnable> underLock) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        thread = Thread.ofPlatform().name("lock-holder").start(() -> underLock.accept(() -> {
            held.countDown();
            while (true) {
                try {
                    letGo.await();
                    return;
                } catch (InterruptedException e) {
                    // hold on until the test lets go
                }
            }
        }));
        held.await();
    }

    /**
     * {@return a holder, once it holds the lock} {@code underLock} runs the action it is given
     * holding the lock (a class's test seam).
     */
    public static LockHolder hold(Consumer<Runnable> underLock) throws InterruptedException {
        return new LockHolder(underLock);
    }

    /** Lets the lock go and waits for the holder to end (fails after {@link TestSupport#HANG}). */
    @Override
    public void close() {
        letGo.countDown();
        try {
            TestSupport.joinAll(List.of(thread));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while the lock holder ended", e);
        }
    }
}
