package io.auraio.internal.binding;

import java.lang.foreign.MemorySegment;

/**
 * The three io_uring system calls, each answering the kernel's way: a result {@code >= 0} or a
 * negated errno. Two bindings make them: liburing's wrappers ({@link LibUring}) and libc's
 * {@code syscall(2)} ({@link SyscallIoUring}); {@link UringBinding} chooses one per JVM.
 */
sealed interface IoUringCalls permits LibUring, SyscallIoUring {
    /** {@code io_uring_setup(2)}: {@return the ring fd or a negated errno} */
    int setup(int entries, MemorySegment params);

    /**
     * {@code io_uring_enter(2)} with the extended argument ({@code io_uring_enter2}). Blocks when
     * {@code minComplete > 0}. {@code captureState} is the caller's own errno capture area.
     *
     * @return the number of SQEs submitted, or a negated errno
     */
    int enter(MemorySegment captureState, int ringFd, int toSubmit, int minComplete, int flags, MemorySegment arg,
              long argSize);

    /** {@code io_uring_register(2)}: {@return the call's result or a negated errno} */
    int register(int ringFd, int opcode, MemorySegment arg, int count);
}
