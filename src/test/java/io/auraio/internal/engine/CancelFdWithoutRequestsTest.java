package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.internal.binding.Errno;
import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.Opcode;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link RingPoller#cancelFd} of a descriptor with no request in any of the ring's slots returns
 * without handing work to the poller: every {@code AuraFile.close()} calls it once per ring, and
 * the hand-off (an eventfd wake-up of the poller and a park until it answers) was a third of the
 * ring round trips of opening, reading and closing a small file (issue 17, {@code auraio hash -r}).
 * A descriptor that has a request queued still waits for the poller, which cancels it.
 */
@ExtendWith(IoUringAvailable.class)
class CancelFdWithoutRequestsTest {
    private static final RingConfig CONFIG = new RingConfig(32, 32, 4, 0, false, false, 0, false);

    @Test
    void cancelFdOfAnIdleDescriptorDoesNotWaitForThePoller() throws Exception {
        IoEngine engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        int busy = Libc.eventfd(0, Libc.EFD_CLOEXEC); // a read of it waits until someone writes
        int idle = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        CountDownLatch letGo = new CountDownLatch(1);
        try (Arena arena = Arena.ofShared()) {
            RingPoller ring = engine.ring(0);
            MemorySegment buffer = arena.allocate(8, 8);
            // Hold the poller in a ring task: anything that needs it waits until letGo.
            RingProbe.holdPoller(ring, letGo);
            CompletableFuture<Long> read = new CompletableFuture<>();
            ring.submit(RingPoller.KIND_FUTURE, Opcode.READ, 0, busy, 0, buffer.address(), 8, 0, 0,
                    read::complete, null, false, false);

            // No slot holds `idle`: the call returns while the poller is still held.
            Thread idleCanceller = Thread.ofPlatform().start(() -> ring.cancelFd(idle));
            assertThat(idleCanceller.join(java.time.Duration.ofSeconds(10)))
                    .as("cancelFd of a descriptor without requests returned with the poller busy").isTrue();

            // `busy` has a queued read: that call waits for the poller, which then cancels it.
            Thread busyCanceller = Thread.ofPlatform().start(() -> ring.cancelFd(busy));
            TestSupport.awaitCondition("cancelFd of the busy descriptor to wait for the poller",
                    () -> busyCanceller.getState() == Thread.State.WAITING);
            assertThat(busyCanceller.isAlive()).isTrue();
            letGo.countDown();
            TestSupport.joinAll(List.of(busyCanceller));
            long result = read.get(60, TimeUnit.SECONDS);
            if (result != -Errno.ECANCELED) {
                buffer.set(ValueLayout.JAVA_LONG, 0, 1L);
                Libc.write(busy, buffer, 8);
            }
            assertThat(result).as("the queued read of the busy descriptor").isEqualTo(-Errno.ECANCELED);
        } finally {
            letGo.countDown();
            engine.close();
            Libc.close(busy);
            Libc.close(idle);
        }
    }
}
