package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.IoUringAvailable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both bindings side by side in one JVM, whichever {@link UringBinding} chose: the same calls give
 * the same answers, errors as negated errnos (the syscall binding turns libc's -1 and errno into
 * them; liburing's build may do either). The kernel is the oracle.
 */
@ExtendWith(IoUringAvailable.class)
class UringBindingTest {
    private static final int REGISTER_PROBE = 8;
    private static final int OPS = 64;

    static Stream<Arguments> bindings() {
        Supplier<IoUringCalls> liburing = () -> {
            FixtureAvailability.assumeLiburing();
            return new LibUring();
        };
        Supplier<IoUringCalls> syscall = SyscallIoUring::new;
        return Stream.of(Arguments.of("liburing", liburing), Arguments.of("syscall", syscall));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void errorsAreNegatedErrnos(String name, Supplier<IoUringCalls> binding) {
        IoUringCalls calls = binding.get();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(IoUringParams.BYTES, 8);
            assertThat(calls.setup(0, params)).as("zero entries").isEqualTo(-Errno.EINVAL);
            params.set(JAVA_INT, IoUringParams.FLAGS, 1 << 31); // no such setup flag
            assertThat(calls.setup(8, params)).as("unknown flag").isEqualTo(-Errno.EINVAL);
            MemorySegment probe = arena.allocate(16 + 8 * OPS, 8);
            MemorySegment state = arena.allocate(NativeAccess.CAPTURE_LAYOUT);
            int closed = 1_000_000; // far above any descriptor this JVM has open
            assertThat(calls.register(closed, REGISTER_PROBE, probe, OPS)).as("no such fd").isEqualTo(-Errno.EBADF);
            assertThat(calls.enter(state, closed, 0, 0, 0, MemorySegment.NULL, 0)).isEqualTo(-Errno.EBADF);
            int notARing = Libc.open("/", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC, 0);
            assertThat(notARing).isNotNegative();
            try {
                assertThat(calls.register(notARing, REGISTER_PROBE, probe, OPS)).isEqualTo(-Errno.EOPNOTSUPP);
                assertThat(calls.enter(state, notARing, 0, 0, 0, MemorySegment.NULL, 0)).isEqualTo(-Errno.EOPNOTSUPP);
            } finally {
                Libc.close(notARing);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void aRingIsSetUpProbedAndEnteredAsWithTheOtherBinding(String name, Supplier<IoUringCalls> binding) {
        IoUringCalls calls = binding.get();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(IoUringParams.BYTES, 8);
            int fd = calls.setup(4, params);
            assertThat(fd).isNotNegative();
            try {
                assertThat(params.get(JAVA_INT, IoUringParams.SQ_ENTRIES)).isEqualTo(4);
                MemorySegment probe = arena.allocate(16 + 8 * OPS, 8);
                assertThat(calls.register(fd, REGISTER_PROBE, probe, OPS)).isZero();
                assertThat(probe.get(JAVA_BYTE, 0)).as("last op").isPositive();
                MemorySegment state = arena.allocate(NativeAccess.CAPTURE_LAYOUT);
                assertThat(calls.enter(state, fd, 0, 0, 1 /* GETEVENTS */, MemorySegment.NULL, 0)).isZero();
            } finally {
                Libc.close(fd);
            }
        }
    }
}
