package io.auraio.internal.binding;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;

/**
 * The system calls the binding makes, all through one downcall shape: libc's
 * {@code long syscall(long number, ...)} with six {@code long} arguments and one address that the
 * kernel never sees.
 *
 * <p>Why one shape: the FFM linker spins a stub, and the method handles around it, per function
 * descriptor and option set, not per function, and on a cold JVM each new shape costs 2-6 ms (the
 * first 16 ms) on the compiling thread (measured in docs/benchmarks.md, tools section). A
 * per-function binding of libc linked ~18 shapes, most of a short tool run's start; this class
 * links one. Every argument is a {@code long} (pointers as addresses): {@code syscall(2)} reads
 * its variadic arguments as {@code long}s, and the kernel truncates each to the type it declares.
 *
 * <p>The trailing address ({@code hold}) is for the caller's memory that must stay alive for the
 * call: the linker acquires the scope of every segment passed as an address until the call returns,
 * so another thread's {@code Arena.close()} fails instead of freeing memory under the kernel's
 * copy. Pass {@link MemorySegment#NULL} when there is nothing to hold.
 *
 * <p>System call numbers differ by architecture; this class knows x86-64's and the generic table's
 * (aarch64). Elsewhere, or with {@code -Dauraio.syscalls=libc} (which the CI's second run sets, so
 * that this path is tested too), each call goes through libc's function of the same name, adapted
 * to the same shape, and nothing can be held ({@link #canHold()} is false).
 */
enum SystemCall {
    READ(0, 63, "read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG)),
    WRITE(1, 64, "write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG)),
    CLOSE(3, 57, "close", FunctionDescriptor.of(JAVA_INT, JAVA_INT)),
    FSTAT(5, 80, "fstat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS)),
    LSEEK(8, 62, "lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT)),
    MMAP(9, 222, "mmap", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG)),
    MUNMAP(11, 215, "munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG)),
    /** {@code mincore(addr, length, vec)}: which pages of a mapping are in memory. */
    MINCORE(27, 232, "mincore", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS)),
    PWRITE64(18, 68, "pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG)),
    SCHED_YIELD(24, 124, "sched_yield", FunctionDescriptor.of(JAVA_INT)),
    /** {@code fcntl(int, int, ...)}: the third argument is variadic in C. */
    FCNTL(72, 25, "fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), 2),
    FSYNC(74, 82, "fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT)),
    FDATASYNC(75, 83, "fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT)),
    FTRUNCATE(77, 46, "ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG)),
    /** {@code openat(int, const char *, int, ...)}: the mode is variadic in C. */
    OPENAT(257, 56, "openat", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 3),
    /** libc's {@code eventfd(3)} is the {@code eventfd2} system call. */
    EVENTFD2(290, 19, "eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT)),
    COPY_FILE_RANGE(326, 285, "copy_file_range",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT)),
    /** {@code preadv2(fd, iov, iovcnt, pos_l, pos_h, flags)}: libc's wrapper takes one 64-bit offset. */
    PREADV2(327, 286, "preadv2", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT),
            -1, 4),
    PWRITEV2(328, 287, "pwritev2", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT),
            -1, 4),
    /** {@code ppoll(fds, nfds, timeout, sigmask, sigsetsize)}: libc's takes no {@code sigsetsize} (dropped). */
    PPOLL(271, 73, "ppoll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS)),
    TEE(276, 77, "tee", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT)),
    PIPE2(293, 59, "pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
    STATX(332, 291, "statx", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS)),
    /** The same number on every architecture (Linux 5.6+), and no libc wrapper. */
    OPENAT2(437, 437, null, null),
    /** {@code faccessat2} (Linux 5.8+): the same number everywhere; libc's faccessat may not reach it. */
    FACCESSAT2(439, 439, null, null),
    /** {@code statmount} and {@code listmount} (Linux 6.8+): the same numbers everywhere, no libc wrapper. */
    STATMOUNT(457, 457, null, null),
    LISTMOUNT(458, 458, null, null),
    /** io_uring's three calls: the same numbers on every architecture since Linux 5.1. */
    IO_URING_SETUP(425, 425, null, null),
    IO_URING_ENTER(426, 426, null, null),
    IO_URING_REGISTER(427, 427, null, null);

    /** Selects libc's functions over system call numbers, as on an architecture this class does not know. */
    static final String PROPERTY = "auraio.syscalls";

    /** {@code long syscall(long, ...)} with errno capture: (state, number, a1..a6, hold) -> long. */
    private static final MethodHandle SYSCALL = NativeAccess.variadicDowncallWithErrno(NativeAccess.libc(),
            "syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, ADDRESS), 1);

    private static final boolean ARCHITECTURE_KNOWN = switch (System.getProperty("os.arch", "")) {
        case "amd64", "x86_64", "aarch64" -> true;
        default -> false;
    };

    /** Whether calls go by number: the architecture's numbers are known and not turned off. */
    private static final boolean NUMBERS_KNOWN = ARCHITECTURE_KNOWN && !"libc".equals(System.getProperty(PROPERTY));

    private final long number;
    private final String function;
    private final FunctionDescriptor descriptor;
    private final int firstVariadic;
    /** Which of the six arguments the libc function skips (preadv2's pos_h), or -1. */
    private final int skippedArgument;
    /** libc's function adapted to {@link #SYSCALL}'s type without the number; made on first use. */
    private volatile MethodHandle viaFunction;

    SystemCall(long x86_64, long generic, String function, FunctionDescriptor descriptor) {
        this(x86_64, generic, function, descriptor, -1, -1);
    }

    SystemCall(long x86_64, long generic, String function, FunctionDescriptor descriptor, int firstVariadic) {
        this(x86_64, generic, function, descriptor, firstVariadic, -1);
    }

    SystemCall(long x86_64, long generic, String function, FunctionDescriptor descriptor, int firstVariadic,
               int skippedArgument) {
        this.number = archIsAarch64() ? generic : x86_64; // the same for the universal calls
        this.function = function;
        this.descriptor = descriptor;
        this.firstVariadic = firstVariadic;
        this.skippedArgument = skippedArgument;
    }

    // An enum constant's constructor cannot read the enum's static fields.
    private static boolean archIsAarch64() {
        return "aarch64".equals(System.getProperty("os.arch", ""));
    }

    /**
     * {@return whether calls go through {@code syscall(2)}, so that {@code hold} is held} False on
     * architectures whose numbers this class does not know, and under {@code -Dauraio.syscalls=libc}.
     */
    static boolean canHold() {
        return NUMBERS_KNOWN;
    }

    /**
     * Makes the call. {@return the result, or -1 with errno in {@code captureState}}
     *
     * @param captureState where the linker writes errno ({@link CallScratch#captureState()})
     * @param hold         memory kept alive for the call, or {@link MemorySegment#NULL}
     */
    long call(MemorySegment captureState, long a1, long a2, long a3, long a4, long a5, long a6, MemorySegment hold)
            throws Throwable {
        if (function == null || NUMBERS_KNOWN) {
            return (long) SYSCALL.invokeExact(captureState, number, a1, a2, a3, a4, a5, a6, hold);
        }
        return (long) viaFunction().invokeExact(captureState, a1, a2, a3, a4, a5, a6, hold);
    }

    /** As {@link #call}, by the number whatever {@code -Dauraio.syscalls} says: for tests. */
    long callByNumber(MemorySegment captureState, long a1, long a2, long a3, long a4, long a5, long a6,
                      MemorySegment hold) throws Throwable {
        if (!ARCHITECTURE_KNOWN && function != null) {
            throw new UnsupportedOperationException("no number for " + this + " on " + System.getProperty("os.arch"));
        }
        return (long) SYSCALL.invokeExact(captureState, number, a1, a2, a3, a4, a5, a6, hold);
    }

    /** {@return whether this class knows this architecture's system call numbers} */
    static boolean numbersKnownForThisArchitecture() {
        return ARCHITECTURE_KNOWN;
    }

    /** {@return whether libc has a function for this call (those without one always go by number)} */
    boolean hasFunction() {
        return function != null;
    }

    /** As {@link #call} with fewer arguments; the rest are 0 and nothing is held. */
    long call(MemorySegment captureState, long a1, long a2, long a3) throws Throwable {
        return call(captureState, a1, a2, a3, 0, 0, 0, MemorySegment.NULL);
    }

    long call(MemorySegment captureState, long a1) throws Throwable {
        return call(captureState, a1, 0, 0, 0, 0, 0, MemorySegment.NULL);
    }

    /**
     * libc's function, adapted to (state, a1..a6, hold) -> long: each {@code long} argument narrowed
     * to the function's {@code int} or made an address, the arguments it does not take dropped, its
     * result widened to {@code long} (an address to its value).
     */
    MethodHandle viaFunction() {
        MethodHandle h = viaFunction;
        if (h == null) {
            if (function == null) {
                throw new UnsupportedOperationException(this + " has no libc function");
            }
            h = adapt(firstVariadic < 0
                    ? NativeAccess.downcallWithErrno(NativeAccess.libc(), function, descriptor)
                    : NativeAccess.variadicDowncallWithErrno(NativeAccess.libc(), function, descriptor,
                            firstVariadic));
            viaFunction = h;
        }
        return h;
    }

    private MethodHandle adapt(MethodHandle target) {
        // target: (MemorySegment state, args of the descriptor) -> int | long | MemorySegment
        List<MemoryLayout> arguments = descriptor.argumentLayouts();
        MethodHandle h = target;
        for (int i = 0; i < arguments.size(); i++) {
            if (arguments.get(i) == ADDRESS) {
                h = MethodHandles.filterArguments(h, 1 + i, OF_ADDRESS);
            }
        }
        MemoryLayout result = descriptor.returnLayout().orElseThrow();
        if (result == ADDRESS) {
            h = MethodHandles.filterReturnValue(h, ADDRESS_OF);
        }
        // Now every argument is a long or an int, the result a long or an int: cast to all long.
        MethodType allLong = MethodType.methodType(long.class, MemorySegment.class);
        for (int i = 0; i < arguments.size(); i++) {
            allLong = allLong.appendParameterTypes(long.class);
        }
        h = MethodHandles.explicitCastArguments(h, allLong);
        if (skippedArgument >= 0) {
            h = MethodHandles.dropArguments(h, 1 + skippedArgument, long.class);
        }
        int taken = arguments.size() + (skippedArgument >= 0 ? 1 : 0);
        for (int i = taken; i < 6; i++) {
            h = MethodHandles.dropArguments(h, h.type().parameterCount(), long.class);
        }
        return MethodHandles.dropArguments(h, 7, MemorySegment.class);
    }

    private static final MethodHandle OF_ADDRESS;
    private static final MethodHandle ADDRESS_OF;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            OF_ADDRESS = lookup.findStatic(MemorySegment.class, "ofAddress",
                    MethodType.methodType(MemorySegment.class, long.class));
            ADDRESS_OF = lookup.findVirtual(MemorySegment.class, "address", MethodType.methodType(long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
