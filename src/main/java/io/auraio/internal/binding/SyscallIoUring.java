package io.auraio.internal.binding;

import java.lang.foreign.MemorySegment;

/**
 * The three io_uring system calls through libc's {@code long syscall(long number, ...)}
 * ({@link SystemCall}'s one downcall shape): no library beyond libc, so io_uring works wherever the
 * kernel allows it, liburing installed or not.
 *
 * <p>Every argument is passed as a {@code long}: {@code syscall(2)} reads its variadic arguments
 * as {@code long}s, and an {@code int} passed variadically may leave the upper half of the
 * register undefined. The kernel truncates each to the parameter's declared type ({@code u32} for
 * the fd, counts and flags). libc returns -1 and sets errno on failure; results are normalised to
 * the negated-errno form.
 */
final class SyscallIoUring implements IoUringCalls {
    SyscallIoUring() {}

    private static long u32(int value) {
        return Integer.toUnsignedLong(value);
    }

    private static int result(long r, MemorySegment captureState) {
        return r == -1 ? -NativeAccess.errno(captureState) : (int) r;
    }

    @Override
    public int setup(int entries, MemorySegment params) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.IO_URING_SETUP.call(scratch.captureState(), u32(entries), params.address(), 0, 0, 0,
                    0, params);
            return result(r, scratch.captureState());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public int enter(MemorySegment captureState, int ringFd, int toSubmit, int minComplete, int flags,
                     MemorySegment arg, long argSize) {
        try {
            long r = SystemCall.IO_URING_ENTER.call(captureState, u32(ringFd), u32(toSubmit), u32(minComplete),
                    u32(flags), arg.address(), argSize, arg);
            return result(r, captureState);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    @Override
    public int register(int ringFd, int opcode, MemorySegment arg, int count) {
        try (CallScratch scratch = CallScratch.acquire()) {
            long r = SystemCall.IO_URING_REGISTER.call(scratch.captureState(), u32(ringFd), u32(opcode),
                    arg.address(), u32(count), 0, 0, arg);
            return result(r, scratch.captureState());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
