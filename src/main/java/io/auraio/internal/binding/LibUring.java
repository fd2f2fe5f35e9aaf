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
final class LibUring {
    private static final MethodHandle SETUP;
    private static final MethodHandle ENTER2;
    private static final MethodHandle REGISTER;
    private static final boolean RETURNS_NEGATED_ERRNO;

    static {
        SymbolLookup uring = NativeAccess.liburing();
        FunctionDescriptor setup = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
        FunctionDescriptor enter2 = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG);
        FunctionDescriptor register = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        SETUP = NativeAccess.downcallWithErrno(uring, "io_uring_setup", setup);
        ENTER2 = NativeAccess.downcallWithErrno(uring, "io_uring_enter2", enter2);
        REGISTER = NativeAccess.downcallWithErrno(uring, "io_uring_register", register);
        RETURNS_NEGATED_ERRNO = probeErrorConvention();
    }

    private LibUring() {}

    /** Zero entries is always EINVAL: the sign of the answer tells the error convention. */
    private static boolean probeErrorConvention() {
        try (Arena arena = Arena.ofConfined(); CallScratch scratch = CallScratch.acquire()) {
            MemorySegment params = arena.allocate(IoUringParams.BYTES, 8);
            int r = (int) SETUP.invokeExact(scratch.captureState(), 0, params);
            return r != -1 || scratch.errno() == 0;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    private static int normalise(int r, CallScratch scratch) {
        if (r >= 0 || RETURNS_NEGATED_ERRNO) {
            return r;
        }
        return -scratch.errno();
    }

    /** {@code io_uring_setup(2)}: {@return the ring fd or a negated errno} */
    static int setup(int entries, MemorySegment params) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = (int) SETUP.invokeExact(scratch.captureState(), entries, params);
            return normalise(r, scratch);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * {@code io_uring_enter2(2)}. Blocks when {@code minComplete > 0}: only ever called by the
     * ring's own platform poller thread. {@code captureState} is the poller's own scratch so the
     * hot loop allocates nothing.
     */
    static int enter(MemorySegment captureState, int ringFd, int toSubmit, int minComplete, int flags,
                     MemorySegment arg, long argSize) {
        try {
            int r = (int) ENTER2.invokeExact(captureState, ringFd, toSubmit, minComplete, flags, arg, argSize);
            return r >= 0 || RETURNS_NEGATED_ERRNO ? r : -NativeAccess.errno(captureState);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** {@code io_uring_register(2)}: {@return the call's result or a negated errno} */
    static int register(int ringFd, int opcode, MemorySegment arg, int count) {
        try (CallScratch scratch = CallScratch.acquire()) {
            int r = (int) REGISTER.invokeExact(scratch.captureState(), ringFd, opcode, arg, count);
            return normalise(r, scratch);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
