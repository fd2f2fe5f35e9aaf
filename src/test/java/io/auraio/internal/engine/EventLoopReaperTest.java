package io.auraio.internal.engine;

import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** {@link EventLoop}: how the reaper queues a callback completion. */
class EventLoopReaperTest {
    /**
     * A lock's queue is served in order: a poller queued behind a virtual thread for the
     * completion queue's lock waited until that thread got a carrier, which retrying virtual
     * threads busy on every carrier kept from it (the admission gate had that convoy, in CI).
     * The reaper retries the lock instead, so it gets it as soon as the holder lets go, whoever
     * queues for it.
     */
    @Test
    void theReaperDoesNotQueueForTheLockBehindAVirtualThread() throws Exception {
        try (EventLoop loop = new EventLoop()) {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch letGo = new CountDownLatch(1);
            Thread holder = Thread.ofPlatform().start(() -> loop.runUnderQueueLockForTests(() -> {
                held.countDown();
                awaitUninterruptibly(letGo);
            }));
            held.await();
            Thread queued = null;
            Thread reaper = null;
            try {
                queued = Thread.ofVirtual().start(loop::stop); // stop() signals under the lock
                Thread virtual = queued;
                awaitCondition("the virtual thread queues for the lock", () -> loop.queuedForQueueLockForTests(virtual));
                reaper = Thread.ofPlatform().name("reaper").start(() -> loop.enqueue(new Slot(0, null)));
                Thread r = reaper;
                awaitCondition("the reaper waits for the lock",
                        () -> loop.queuedForQueueLockForTests(r) || isIn(r, "lockWithoutQueueing"));
                assertThat(loop.queuedForQueueLockForTests(reaper)).as("the reaper queued").isFalse();
            } finally {
                letGo.countDown();
                joinAll(List.of(holder));
            }
            joinAll(List.of(reaper, queued));
            assertThat(loop.readyForTests()).isEqualTo(1);
        }
    }

    private static boolean isIn(Thread thread, String method) {
        return Arrays.stream(thread.getStackTrace()).anyMatch(f -> f.getMethodName().equals(method));
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // keep holding until the test lets go
            }
        }
    }
}
