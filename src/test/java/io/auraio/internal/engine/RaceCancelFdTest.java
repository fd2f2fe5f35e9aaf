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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link RingPoller#cancelFd} (what {@code AuraFile.close()} relies on before it closes the
 * descriptor) must also cancel a request that was submitted before it but that the poller has not
 * taken from the submission stack yet; otherwise that request reaches the kernel after the close,
 * on a closed descriptor (EBADF) or on another file that reused its number. Found by the
 * reliability race test ({@code io.auraio.reliability.RaceTest}).
 */
@ExtendWith(IoUringAvailable.class)
class RaceCancelFdTest {
    private static final RingConfig CONFIG = new RingConfig(32, 32, 4, 0, false, false, 0, false);

    @Test
    void cancelFdCancelsARequestStillInTheSubmissionStack() throws Exception {
        IoEngine engine = IoEngine.start(1, CONFIG, IoEngine.Selection.ROUND_ROBIN, 4096);
        int efd = Libc.eventfd(0, Libc.EFD_CLOEXEC); // a read of it waits until someone writes
        try (Arena arena = Arena.ofShared()) {
            RingPoller ring = engine.ring(0);
            MemorySegment buffer = arena.allocate(8, 8);
            // Hold the poller in a ring task, so that the read below stays in the submission stack.
            CountDownLatch letGo = new CountDownLatch(1);
            RingProbe.holdPoller(ring, letGo);
            CompletableFuture<Long> read = new CompletableFuture<>();
            ring.submit(RingPoller.KIND_FUTURE, Opcode.READ, 0, efd, 0, buffer.address(), 8, 0, 0,
                    read::complete, null, false, false);
            Thread canceller = Thread.ofPlatform().start(() -> ring.cancelFd(efd));
            TestSupport.awaitCondition("cancelFd to wait for the poller",
                    () -> canceller.getState() == Thread.State.WAITING);
            letGo.countDown();
            TestSupport.joinAll(java.util.List.of(canceller));

            long result;
            try {
                result = read.get(10, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                result = Long.MIN_VALUE; // still waiting in the kernel: it was not cancelled
            }
            if (result == Long.MIN_VALUE) {
                buffer.set(ValueLayout.JAVA_LONG, 0, 1L);
                Libc.write(efd, buffer, 8); // let it finish, so that the engine can close
                read.get(60, TimeUnit.SECONDS);
            }
            assertThat(result).as("the read submitted before cancelFd").isEqualTo(-Errno.ECANCELED);
        } finally {
            engine.close();
            Libc.close(efd);
        }
    }
}
