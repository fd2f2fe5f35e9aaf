package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.ExitingThread;
import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One ring driven by hand from the test thread: setup and its flag fallback, the opcode probe, and
 * SQEs filled through {@link SubmissionQueue} completing through {@link CompletionQueue}.
 */
@ExtendWith(IoUringAvailable.class)
class IoUringTest {
    private static final int NO_FLAGS = 0;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final List<IoUring.Refusal> refusals = new ArrayList<>();
    private IoUring ring;

    @AfterEach
    void closeRing() {
        if (ring != null) {
            ring.close();
        }
    }

    /** One completion as the handler saw it. */
    private record Cqe(long userData, int result, int flags) {}

    /** Waits for completions until {@code count} have been reaped. */
    private List<Cqe> reap(int count) {
        List<Cqe> cqes = new ArrayList<>();
        long deadline = System.nanoTime() + TestSupport.HANG.toNanos();
        while (cqes.size() < count) {
            assertThat(System.nanoTime() - deadline).as("waiting for %d completions", count).isNegative();
            ring.submitAndWait(10_000_000L);
            ring.completionQueue().drain((userData, result, flags) -> cqes.add(new Cqe(userData, result, flags)));
        }
        return cqes;
    }

    @Test
    void createsASmallRingOfTheAskedSize() throws IoUring.SetupException {
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        assertThat(ring.fd()).isNotNegative();
        assertThat(ring.setupFlags()).isZero();
        assertThat(refusals).isEmpty();
        assertThat(ring.submissionQueue().entries()).isEqualTo(8);
        assertThat(ring.submissionQueue().freeEntries()).isEqualTo(8);
        assertThat(ring.completionQueue().entries()).isEqualTo(16); // the kernel's default: twice the SQ
        assertThat(ring.completionQueue().hasCompletions()).isFalse();
        assertThat(ring.features() & IoUring.FEAT_NODROP).isNotZero();
    }

    @Test
    void anExplicitCompletionQueueSizeIsUsed() throws IoUring.SetupException {
        ring = IoUring.create(8, 64, new int[] {NO_FLAGS}, 0, refusals);
        assertThat(ring.completionQueue().entries()).isEqualTo(64);
        assertThat(ring.setupFlags()).isEqualTo(IoUring.SETUP_CQSIZE | IoUring.SETUP_CLAMP);
    }

    @Test
    void probeReportsTheOperationsTheLibraryUses() throws IoUring.SetupException {
        ring = IoUring.create(4, 0, new int[] {NO_FLAGS}, 0, refusals);
        for (int op : new int[] {Opcode.NOP, Opcode.READ, Opcode.WRITE, Opcode.OPENAT, Opcode.CLOSE, Opcode.STATX,
                Opcode.FSYNC, Opcode.ASYNC_CANCEL, Opcode.READ_FIXED, Opcode.WRITE_FIXED}) {
            assertThat(ring.supports(op)).as(Opcode.name(op)).isTrue();
        }
        assertThat(ring.supports(Opcode.PROBE_OPS - 1)).as("opcode 255").isFalse();
    }

    @Test
    void anUnknownSetupFlagIsRefusedWithEinvalAndTheNextCandidateIsUsed() throws IoUring.SetupException {
        ring = IoUring.create(8, 0, new int[] {1 << 31, NO_FLAGS}, 0, refusals);
        assertThat(ring.setupFlags()).isZero();
        assertThat(refusals).containsExactly(new IoUring.Refusal(1 << 31, Errno.EINVAL));
    }

    @Test
    void whenEveryCandidateIsRefusedSetupFailsWithTheLastErrno() {
        assertThatThrownBy(() -> IoUring.create(8, 0, new int[] {1 << 31, 1 << 30}, 0, refusals))
                .isInstanceOf(IoUring.SetupException.class)
                .hasMessageContaining(Errno.message(Errno.EINVAL))
                .extracting(e -> ((IoUring.SetupException) e).errno()).isEqualTo(Errno.EINVAL);
        assertThat(refusals).extracting(IoUring.Refusal::flags).containsExactly(1 << 31, 1 << 30);
    }

    @Test
    void theEnginesPreferredFlagsWorkFromTheCreatingThread() throws IoUring.SetupException {
        int preferred = IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN;
        ring = IoUring.create(8, 16, new int[] {preferred, NO_FLAGS}, 0, refusals);
        assumeTrue((ring.setupFlags() & preferred) == preferred,
                () -> "this kernel refuses SINGLE_ISSUER | DEFER_TASKRUN (6.1+): " + refusals);
        ring.submissionQueue().push(Opcode.NOP, 0, -1, 0, 0, 0, 0, 77L, 0);
        assertThat(reap(1)).containsExactly(new Cqe(77L, 0, 0));
    }

    @Test
    void aNopCompletesWithItsUserData() throws IoUring.SetupException {
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        SubmissionQueue sq = ring.submissionQueue();
        sq.push(Opcode.NOP, 0, -1, 0, 0, 0, 0, 0x1234_5678_9ABC_DEF0L, 0);
        assertThat(sq.freeEntries()).isEqualTo(7);
        assertThat(reap(1)).containsExactly(new Cqe(0x1234_5678_9ABC_DEF0L, 0, 0));
        assertThat(sq.freeEntries()).isEqualTo(8);
        assertThat(ring.completionQueue().overflow()).isZero();
    }

    @Test
    void aBatchOfNopsIsSubmittedInOneCallAndEachCompletes() throws IoUring.SetupException {
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        SubmissionQueue sq = ring.submissionQueue();
        for (long u = 1; u <= 8; u++) {
            sq.push(Opcode.NOP, 0, -1, 0, 0, 0, 0, u, 0);
        }
        assertThat(sq.freeEntries()).isZero();
        // unconsumed() counts what the kernel can see: nothing until the tail is published.
        assertThat(sq.unconsumed()).isZero();
        assertThat(sq.publish()).isEqualTo(8);
        assertThat(sq.unconsumed()).isEqualTo(8);
        assertThat(ring.submit()).isEqualTo(8);
        assertThat(reap(8)).extracting(Cqe::userData).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
    }

    @Test
    void aReadReturnsTheFilesBytesAndItsUserData() throws Exception {
        byte[] content = TestSupport.randomBytes(10_000, 1);
        Path path = Files.write(dir.resolve("f"), content);
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        int fd = Libc.open(path.toString(), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(500);
            ring.submissionQueue().push(Opcode.READ, 0, fd, 1000, buffer.address(), 500, 0, 42L, 0);
            ring.submissionQueue().push(Opcode.READ, 0, fd, 9_900, buffer.address(), 0, 0, 43L, 0);
            List<Cqe> cqes = reap(2);
            assertThat(cqes).containsExactlyInAnyOrder(new Cqe(42L, 500, 0), new Cqe(43L, 0, 0));
            assertThat(buffer.toArray(JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(content, 1000, 1500));
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
    }

    /**
     * The kernel fact behind the engine's resubmission of a caller-submitted request
     * ({@code RingPoller.execute}, {@code CallerSubmitTest}): a request belongs to the thread that
     * entered the kernel with it, and once that thread has exited (as the virtual-thread scheduler
     * retires a carrier idle for 30 s) a request of it waiting on a poll completes with
     * {@code -ECANCELED} when the poll fires, though nobody cancelled it, and its data is left
     * unread. (One queued in that thread's io-wq is cancelled at the exit; one an io-wq worker is
     * already running finishes normally, the exit waiting for it. Measured on 6.18.)
     */
    @Test
    void aPolledRequestWhoseSubmittingThreadExitedIsCancelledByTheKernel() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        int fd = Libc.open(fifo.toString(), OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, 0); // its own writer
        assertThat(fd).isNotNegative();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(16);
            int[] submitted = new int[1];
            ExitingThread.run(() -> {
                ring.submissionQueue().push(Opcode.READ, 0, fd, 0, buffer.address(), 16, 0, 1L, 0); // waits on a poll
                ring.submissionQueue().publish();
                submitted[0] = ring.submitPublished();
                return true;
            });
            assertThat(submitted[0]).isEqualTo(1);
            MemorySegment data = arena.allocate(16);
            data.fill((byte) 9);
            assertThat(Libc.write(fd, data, 16)).isEqualTo(16);
            assertThat(reap(1)).containsExactly(new Cqe(1L, -Errno.ECANCELED, 0));
            MemorySegment left = arena.allocate(16);
            assertThat(Libc.read(fd, left, 16)).as("the data, still in the FIFO").isEqualTo(16);
            assertThat(left.toArray(JAVA_BYTE)).containsOnly((byte) 9);
        } finally {
            assertThat(Libc.close(fd)).isZero();
        }
    }

    @Test
    void aReadOfABadDescriptorCompletesWithNegatedEbadf() throws IoUring.SetupException {
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(16);
            ring.submissionQueue().push(Opcode.READ, 0, 1_000_000, 0, buffer.address(), 16, 0, 5L, 0);
            assertThat(reap(1)).containsExactly(new Cqe(5L, -Errno.EBADF, 0));
        }
    }

    @Test
    void waitingWithATimeoutReturnsWhenNothingCompletes() throws IoUring.SetupException {
        ring = IoUring.create(8, 0, new int[] {NO_FLAGS}, 0, refusals);
        assertThat(ring.features() & IoUring.FEAT_EXT_ARG).isNotZero();
        assertThat(ring.submitAndWait(1_000_000L)).isEqualTo(-Errno.ETIME);
        assertThat(ring.completionQueue().hasCompletions()).isFalse();
    }

    @Test
    void closeIsIdempotent() throws IoUring.SetupException {
        IoUring r = IoUring.create(4, 0, new int[] {NO_FLAGS}, 0, refusals);
        int fd = r.fd();
        r.close();
        r.close();
        assertThat(Libc.close(fd)).as("the ring fd was closed").isEqualTo(-Errno.EBADF);
    }
}
