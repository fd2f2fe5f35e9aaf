package io.auraio.internal.engine;

import static io.auraio.testing.TestSupport.awaitCondition;
import static io.auraio.testing.TestSupport.isIn;
import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.LockHolder;
import java.util.List;
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
            Thread queued;
            Thread reaper;
            try (LockHolder _ = LockHolder.hold(loop::runUnderQueueLockForTests)) {
                queued = Thread.ofVirtual().start(loop::stop); // stop() signals under the lock
                Thread virtual = queued;
                awaitCondition("the virtual thread queues for the lock", () -> loop.queuedForQueueLockForTests(virtual));
                reaper = Thread.ofPlatform().name("reaper").start(() -> loop.enqueue(new Slot(0, null)));
                Thread r = reaper;
                awaitCondition("the reaper waits for the lock",
                        () -> loop.queuedForQueueLockForTests(r) || isIn(r, "lockWithoutQueueing"));
                assertThat(loop.queuedForQueueLockForTests(reaper)).as("the reaper queued").isFalse();
            }
            joinAll(List.of(reaper, queued));
            assertThat(loop.readyForTests()).isEqualTo(1);
        }
    }
}
