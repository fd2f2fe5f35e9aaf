package io.auraio.internal.binding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SQEs the kernel refuses while preparing them (issue 11): without {@code IORING_SETUP_SUBMIT_ALL}
 * {@code io_uring_enter} stops its batch at such an SQE, and a submit that passed only the newly
 * published count left every SQE behind it in the ring for good. Each refusal is followed, in the
 * same batch, by good requests, on rings with and without SUBMIT_ALL: all of them must complete
 * after one {@link IoUring#submit()}.
 */
@ExtendWith(IoUringAvailable.class)
class RefusedSqeTest {
    private static final long GOOD_NOP = 1_000;
    private static final long GOOD_READ = 1_001;
    private static final long BAD = 7;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_TMPFILE = 020000000 | O_DIRECTORY;

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final Arena arena = Arena.ofShared();
    private IoUring ring;

    @AfterEach
    void close() {
        if (ring != null) {
            ring.close();
        }
        arena.close();
    }

    /** One SQE that the kernel refuses (or fails), filled into {@code sq} with user data {@code userData}. */
    @FunctionalInterface
    interface BadSqe {
        void push(SubmissionQueue sq, Arena arena, long userData);
    }

    private static BadSqe openat(String path, int flags) {
        return (sq, arena, u) -> sq.push(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, arena.allocateFrom(path).address(),
                0, flags, u, 0);
    }

    static Stream<Arguments> refusals() {
        String tooLong = "a".repeat(5000);
        String componentTooLong = "/tmp/" + "b".repeat(300);
        return Stream.of(
                Arguments.of("openat of an empty path", openat("", OpenFlags.O_RDONLY)),
                Arguments.of("openat of a path of PATH_MAX bytes or more", openat(tooLong, OpenFlags.O_RDONLY)),
                Arguments.of("openat of a path component over NAME_MAX", openat(componentTooLong, OpenFlags.O_RDONLY)),
                Arguments.of("openat of an unmapped path address", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, 8, 0, OpenFlags.O_RDONLY, u, 0)),
                Arguments.of("openat with invalid flags (O_TMPFILE read-only)", openat("/tmp", O_TMPFILE)),
                Arguments.of("statx of an empty path without AT_EMPTY_PATH", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.STATX, 0, Statx.AT_FDCWD, a.allocate(Statx.BYTES, 8).address(),
                                a.allocateFrom("").address(), Statx.STATX_SIZE, 0, u, 0)),
                Arguments.of("statx of a too long path", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.STATX, 0, Statx.AT_FDCWD, a.allocate(Statx.BYTES, 8).address(),
                                a.allocateFrom(tooLong).address(), Statx.STATX_SIZE, 0, u, 0)),
                Arguments.of("an unknown opcode", (BadSqe) (sq, a, u) -> sq.push(250, 0, -1, 0, 0, 0, 0, u, 0)),
                Arguments.of("an unknown SQE flag", (BadSqe) (sq, a, u) -> sq.push(Opcode.NOP, 1 << 7, -1, 0, 0, 0, 0, u, 0)),
                Arguments.of("a fixed-buffer read with no buffers registered", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.READ_FIXED, 0, 0, 0, a.allocate(16).address(), 16, 0, u, 5)),
                Arguments.of("a fixed-file read with no files registered", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.READ, Opcode.SQE_FIXED_FILE, 3, 0, a.allocate(16).address(), 16, 0, u, 0)),
                Arguments.of("a read of an invalid descriptor", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.READ, 0, 1_000_000, 0, a.allocate(16).address(), 16, 0, u, 0)),
                Arguments.of("a readv of 2000 iovecs (over IOV_MAX)", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.READV, 0, 0, 0, a.allocate(16L * 2000, 8).address(), 2000, 0, u, 0)),
                Arguments.of("a cancel with unknown flags", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.ASYNC_CANCEL, 0, -1, 0, 12345, 0, 1 << 30, u, 0)),
                Arguments.of("an fsync with unknown flags", (BadSqe) (sq, a, u) ->
                        sq.push(Opcode.FSYNC, 0, 0, 0, 0, 0, 1 << 20, u, 0)));
    }

    static Stream<Arguments> refusalsOnEachRingKind() {
        return refusals().flatMap(a -> Stream.of(0, IoUring.SETUP_SUBMIT_ALL,
                        IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN)
                .map(flags -> Arguments.of(a.get()[0], a.get()[1], flags)));
    }

    @ParameterizedTest(name = "{0}, setup flags {2}")
    @MethodSource("refusalsOnEachRingKind")
    void theRequestsAfterARefusedSqeInTheSameBatchStillComplete(String what, BadSqe bad, int flags) throws Exception {
        openRing(flags);
        Path file = Files.write(dir.resolve("good"), TestSupport.randomBytes(4096, 3));
        int fd = Libc.open(file.toString(), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        assertThat(fd).isNotNegative();
        try {
            SubmissionQueue sq = ring.submissionQueue();
            bad.push(sq, arena, BAD);
            pushGood(sq, fd);
            ring.submit(); // one submit, as the poller makes: nothing may stay behind
            Map<Long, Integer> results = reapExactly(3);
            assertThat(results).as(what).containsEntry(GOOD_NOP, 0).containsEntry(GOOD_READ, 4096);
            assertThat(results.get(BAD)).as("%s completes with an error", what).isNegative();
            assertThat(sq.unconsumed()).isZero();
        } finally {
            Libc.close(fd);
        }
    }

    @ParameterizedTest(name = "setup flags {0}")
    @MethodSource("ringKinds")
    void everyRefusalInOneBatchCompletesAndSoDoesEveryGoodRequestBetweenThem(int flags) throws Exception {
        openRing(flags);
        Path file = Files.write(dir.resolve("good"), TestSupport.randomBytes(4096, 4));
        int fd = Libc.open(file.toString(), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        try {
            SubmissionQueue sq = ring.submissionQueue();
            List<BadSqe> bads = refusals().map(a -> (BadSqe) a.get()[1]).toList();
            long u = 1;
            for (BadSqe bad : bads) {
                bad.push(sq, arena, 10_000 + u);
                sq.push(Opcode.NOP, 0, -1, 0, 0, 0, 0, 20_000 + u, 0);
                u++;
            }
            ring.submitAndWait(1_000_000L); // the poller's sleep: it must not sleep on SQEs left behind
            Map<Long, Integer> results = reapExactly(2 * bads.size());
            for (long i = 1; i < u; i++) {
                assertThat(results).containsEntry(20_000 + i, 0);
                assertThat(results.get(10_000 + i)).isNegative();
            }
            assertThat(sq.unconsumed()).isZero();
        } finally {
            Libc.close(fd);
        }
    }

    static Stream<Integer> ringKinds() {
        return Stream.of(0, IoUring.SETUP_SUBMIT_ALL, IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN);
    }

    private void openRing(int flags) throws IoUring.SetupException {
        List<IoUring.Refusal> refused = new ArrayList<>();
        ring = IoUring.create(64, 256, new int[] {flags}, 0, refused);
        assumeTrue(ring != null, () -> "ring setup refused: " + refused);
    }

    private void pushGood(SubmissionQueue sq, int fd) {
        sq.push(Opcode.NOP, 0, -1, 0, 0, 0, 0, GOOD_NOP, 0);
        sq.push(Opcode.READ, 0, fd, 0, arena.allocate(4096).address(), 4096, 0, GOOD_READ, 0);
    }

    /**
     * Reaps completions until {@code count} have arrived, without submitting anything new: a
     * wait with to_submit 0, so SQEs the first submit left behind are never picked up here.
     */
    private Map<Long, Integer> reapExactly(int count) {
        Map<Long, Integer> results = new HashMap<>();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (results.size() < count && System.nanoTime() < deadline) {
            ring.completionQueue().drain((userData, result, f) -> results.put(userData, result));
            if (results.size() < count) {
                ring.submitAndWait(10_000_000L);
            }
        }
        assertThat(results).as("completions after 5 s").hasSize(count);
        return results;
    }
}
