package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The three io_uring system calls through libc's {@code long syscall(long number, ...)}: no library
 * beyond libc, so io_uring works wherever the kernel allows it, liburing installed or not.
 *
 * <p>Every argument is passed as a {@code long}: {@code syscall(2)} reads its variadic arguments
 * as {@code long}s, and an {@code int} passed variadically may leave the upper half of the
 * register undefined. The kernel truncates each to the parameter's declared type ({@code u32} for
 * the fd, counts and flags). libc returns -1 and sets errno on failure; results are normalised to
 * the negated-errno form.
 */
final class SyscallIoUring implements IoUringCalls {
    /**
     * {@code __NR_io_uring_setup}, {@code _enter}, {@code _register}: 425, 426 and 427 on every
     * architecture since Linux 5.1 (the system call table was unified for new calls; only alpha,
     * which the JDK does not run on, differs).
     */
    static final long NR_SETUP = 425;
    static final long NR_ENTER = 426;
    static final long NR_REGISTER = 427;

    private final MethodHandle setup;
    private final MethodHandle enter;
    private final MethodHandle register;

    SyscallIoUring() {
        // syscall(long number, ...): the number is the one fixed parameter.
        setup = NativeAccess.variadicDowncallWithErrno(NativeAccess.libc(), "syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), 1);
        enter = NativeAccess.variadicDowncallWithErrno(NativeAccess.libc(), "syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS,
                        JAVA_LONG), 1);
        register = NativeAccess.variadicDowncallWithErrno(NativeAccess.libc(), "syscall",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG), 1);
    }

    private static long u32(int value) {
        return Integer.toUnsignedLong(value);
    }

    private static int result(long r, MemorySegment captureState) {
        return r == -1 ? -NativeAccess.errno(captureState) : (int) r;
    }

    @Override
    public int setup(int entries, MemorySegment params) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = (long) setup.invokeExact(scratch.captureState(), NR_SETUP, u32(entries), params);
            return result(r, scratch.captureState());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public int enter(MemorySegment captureState, int ringFd, int toSubmit, int minComplete, int flags,
                     MemorySegment arg, long argSize) {
        try {
            long r = (long) enter.invokeExact(captureState, NR_ENTER, u32(ringFd), u32(toSubmit), u32(minComplete),
                    u32(flags), arg, argSize);
            return result(r, captureState);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public int register(int ringFd, int opcode, MemorySegment arg, int count) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = (long) register.invokeExact(scratch.captureState(), NR_REGISTER, u32(ringFd), u32(opcode), arg,
                    u32(count));
            return result(r, scratch.captureState());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
