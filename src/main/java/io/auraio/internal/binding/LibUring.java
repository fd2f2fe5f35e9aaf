package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The three io_uring system calls, through liburing 2.3's exported wrappers. The rest of liburing
 * (prep helpers, CQE peeking) is {@code static inline} and cannot be called through FFM, so SQEs
 * and CQEs are handled in Java over the mapped rings ({@link SubmissionQueue},
 * {@link CompletionQueue}).
 *
 * <p>liburing built without libc (Debian's x86-64 build) returns a negated errno from these
 * wrappers; built on libc's {@code syscall(2)} it returns -1 and sets errno. Which one is found out
 * once, from a call that must fail, and every result is normalised to the negated-errno form.
 */
final class LibUring implements IoUringCalls {
    private final MethodHandle setup;
    private final MethodHandle enter2;
    private final MethodHandle register;
    private final boolean returnsNegatedErrno;

    /**
     * Loads liburing.so.2 and looks up the three wrappers.
     *
     * @throws IllegalArgumentException if liburing.so.2 cannot be loaded
     * @throws UnsatisfiedLinkError if it lacks one of the wrappers
     */
    LibUring() {
        SymbolLookup uring = NativeAccess.liburing();
        FunctionDescriptor setupType = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        FunctionDescriptor enter2Type = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                JAVA_LONG);
        FunctionDescriptor registerType = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        setup = NativeAccess.downcallWithErrno(uring, "io_uring_setup", setupType);
        enter2 = NativeAccess.downcallWithErrno(uring, "io_uring_enter2", enter2Type);
        register = NativeAccess.downcallWithErrno(uring, "io_uring_register", registerType);
        returnsNegatedErrno = probeErrorConvention();
    }

    /**
     * Zero entries is always EINVAL: the sign of the answer tells the error convention. errno is
     * cleared first: where a seccomp filter or {@code io_uring_disabled} refuses the call with EPERM,
     * a negated-errno build answers -1 too, and only an errno left unset tells it from a libc
     * build's -1 (a stale errno of an earlier call would pass for the error and misname every
     * later refusal).
     */
    private boolean probeErrorConvention() {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment params = arena.allocate(IoUringParams.BYTES, 8);
            // No parking point between the two calls, so both run on the same OS thread.
            NativeAccess.clearErrno();
            int r = (int) setup.invokeExact(scratch.captureState(), 0, params);
            return r != -1 || scratch.errno() == 0;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    private int normalise(int r, MemorySegment captureState) {
        if (r >= 0 || returnsNegatedErrno) {
            return r;
        }
        return -NativeAccess.errno(captureState);
    }

    @Override
    public int setup(int entries, MemorySegment params) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = (int) setup.invokeExact(scratch.captureState(), entries, params);
            return normalise(r, scratch.captureState());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public int enter(MemorySegment captureState, int ringFd, int toSubmit, int minComplete, int flags,
                     MemorySegment arg, long argSize) {
        try {
            int r = (int) enter2.invokeExact(captureState, ringFd, toSubmit, minComplete, flags, arg, argSize);
            return normalise(r, captureState);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public int register(int ringFd, int opcode, MemorySegment arg, int count) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = (int) register.invokeExact(scratch.captureState(), ringFd, opcode, arg, count);
            return normalise(r, scratch.captureState());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
