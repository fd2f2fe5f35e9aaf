package io.auraio.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.auraio.internal.binding.Libc;
import io.auraio.internal.binding.OpenFlags;
import io.auraio.internal.binding.Opcode;
import io.auraio.internal.binding.Statx;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A request the kernel refuses at submit time must not stop its ring (issue 11): through a poller,
 * on rings with and without {@code IORING_SETUP_SUBMIT_ALL}, each refused request returns its
 * error, then good requests from several threads keep completing and the engine closes.
 */
@ExtendWith(IoUringAvailable.class)
class RefusedRequestEngineTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** A refused request made through a ring; returns the result. */
    @FunctionalInterface
    interface Refused extends ToLongFunction<RingPoller> {}

    static Stream<Arguments> refusals() {
        String tooLong = "/" + "a".repeat(5000);
        return Stream.of(
                Arguments.of("openat of an empty path", path("", (r, p) ->
                        r.execute(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, p, 0, OpenFlags.O_RDONLY, 0))),
                Arguments.of("openat of a PATH_MAX path", path(tooLong, (r, p) ->
                        r.execute(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, p, 0, OpenFlags.O_RDONLY, 0))),
                Arguments.of("openat of an unmapped address", (Refused) r ->
                        r.execute(Opcode.OPENAT, 0, Statx.AT_FDCWD, 0, 8, 0, OpenFlags.O_RDONLY, 0)),
                Arguments.of("statx of a PATH_MAX path", path(tooLong, (r, p) -> {
                    try (Arena a = Arena.ofConfined()) {
                        return r.execute(Opcode.STATX, 0, Statx.AT_FDCWD, a.allocate(Statx.BYTES, 8).address(), p,
                                Statx.STATX_SIZE, 0, 0);
                    }
                })),
                Arguments.of("an unknown opcode", (Refused) r -> r.execute(250, 0, -1, 0, 0, 0, 0, 0)),
                Arguments.of("an unknown SQE flag", (Refused) r -> r.execute(Opcode.NOP, 1 << 7, -1, 0, 0, 0, 0, 0)),
                Arguments.of("a fixed-buffer read, none registered", (Refused) r -> {
                    try (Arena a = Arena.ofConfined()) {
                        return r.execute(Opcode.READ_FIXED, 0, 0, 0, a.allocate(16).address(), 16, 0, 3);
                    }
                }),
                Arguments.of("a read of an invalid descriptor", (Refused) r -> {
                    try (Arena a = Arena.ofConfined()) {
                        return r.execute(Opcode.READ, 0, 1_000_000, 0, a.allocate(16).address(), 16, 0, 0);
                    }
                }),
                Arguments.of("an fsync with unknown flags", (Refused) r -> r.execute(Opcode.FSYNC, 0, 0, 0, 0, 0,
                        1 << 20, 0)));
    }

    private static Refused path(String path, PathRequest request) {
        return r -> {
            try (Arena a = Arena.ofConfined()) {
                return request.run(r, a.allocateFrom(path).address());
            }
        };
    }

    @FunctionalInterface
    interface PathRequest {
        long run(RingPoller ring, long pathAddress);
    }

    static Stream<Arguments> refusalsOnBothRingKinds() {
        return refusals().flatMap(a -> Stream.of(true, false).map(all -> Arguments.of(a.get()[0], a.get()[1], all)));
    }

    @ParameterizedTest(name = "{0}, SUBMIT_ALL asked: {2}")
    @MethodSource("refusalsOnBothRingKinds")
    void aRefusedRequestFailsAndTheRingKeepsServing(String what, Refused refused, boolean submitAll) throws Exception {
        Path file = Files.write(dir.resolve("good"), TestSupport.randomBytes(8192, 5));
        int fd = Libc.open(file.toString(), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
        RingConfig config = new RingConfig(16, 16, 4, 0, false, false, 0, false, submitAll);
        IoEngine engine = IoEngine.start(1, config, IoEngine.Selection.ROUND_ROBIN, 4096);
        try (Arena arena = Arena.ofShared()) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                RingPoller ring = engine.ring(0);
                for (int round = 0; round < 3; round++) {
                    assertThat(refused.applyAsLong(ring)).as(what).isNegative();
                    // Good requests from several threads at once, so they share the poller's batches.
                    List<Thread> threads = new ArrayList<>();
                    List<Long> results = java.util.Collections.synchronizedList(new ArrayList<>());
                    for (int t = 0; t < 8; t++) {
                        MemorySegment buf = arena.allocate(4096);
                        long position = (t % 2) * 4096L;
                        threads.add(Thread.ofVirtual().start(() ->
                                results.add(ring.execute(Opcode.READ, 0, fd, position, buf.address(), 4096, 0, 0))));
                    }
                    TestSupport.joinAll(threads);
                    assertThat(results).as("%s, round %d", what, round).hasSize(8).containsOnly(4096L);
                }
                engine.close();
            }, () -> what + ": the ring stopped serving after a refused request");
        } finally {
            engine.close();
            Libc.close(fd);
        }
    }
}
