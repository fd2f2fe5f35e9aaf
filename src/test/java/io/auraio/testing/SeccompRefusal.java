package io.auraio.testing;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Main class for a {@link ForkedJvm} whose io_uring is refused the way container runtimes refuse
 * it: before anything else runs, the JVM installs on all its threads a seccomp filter that makes
 * the three io_uring system calls ({@code io_uring_setup}, {@code _enter}, {@code _register}: 425,
 * 426, 427) fail with a chosen errno, then runs another main class. What the kernel does for Docker's
 * default profile (EPERM) or for a runtime that hides the calls (ENOSYS); the sysctl
 * {@code kernel.io_uring_disabled}, which also answers EPERM, is global and never touched by a test.
 *
 * <p>Arguments: the errno ({@code EPERM} or {@code ENOSYS}; {@code EPERM@457-458} refuses those
 * system call numbers instead), the main class, its arguments.
 *
 * <p>The filter is a classic BPF program ({@code struct sock_filter}, {@code <linux/filter.h>}):
 * <pre>
 *   ld  [4]              ; seccomp_data.arch
 *   jeq AUDIT_ARCH, 0, 4 ; another ABI: allow
 *   ld  [0]              ; seccomp_data.nr
 *   jge 425, 0, 2        ; below io_uring_setup (or the first refused): allow
 *   jgt 427, 1, 0        ; above io_uring_register (or the last refused): allow
 *   ret ERRNO | errno
 *   ret ALLOW
 * </pre>
 * installed with {@code prctl(PR_SET_NO_NEW_PRIVS, 1)} (required without CAP_SYS_ADMIN) and
 * {@code seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)}, TSYNC so that the
 * JVM's threads started already (the poller threads to come inherit it anyway) are filtered too.
 */
public final class SeccompRefusal {
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final long SECCOMP_SET_MODE_FILTER = 1;
    private static final long SECCOMP_FILTER_FLAG_TSYNC = 1;
    private static final int SECCOMP_RET_ERRNO = 0x0005_0000;
    private static final int SECCOMP_RET_ALLOW = 0x7fff_0000;
    private static final int AUDIT_ARCH_X86_64 = 0xC000_003E;
    private static final int AUDIT_ARCH_AARCH64 = 0xC000_00B7;
    /** {@code __NR_seccomp} on x86-64 and aarch64. */
    private static final long NR_SECCOMP_X86_64 = 317;
    private static final long NR_SECCOMP_AARCH64 = 277;

    // BPF opcodes: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, ...|BPF_JGE|..., ...|BPF_JGT|..., BPF_RET|BPF_K
    private static final short LD_W_ABS = 0x20;
    private static final short JEQ_K = 0x15;
    private static final short JGE_K = 0x35;
    private static final short JGT_K = 0x25;
    private static final short RET_K = 0x06;
    /** Offsets in {@code struct seccomp_data}: {@code int nr; __u32 arch; ...}. */
    private static final int DATA_NR = 0;
    private static final int DATA_ARCH = 4;

    /** {@code struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }}. */
    private static final StructLayout SOCK_FILTER = MemoryLayout.structLayout(JAVA_SHORT.withName("code"),
            JAVA_BYTE.withName("jt"), JAVA_BYTE.withName("jf"), JAVA_INT.withName("k"));
    /** {@code struct sock_fprog { unsigned short len; struct sock_filter *filter; }}. */
    private static final StructLayout SOCK_FPROG = MemoryLayout.structLayout(JAVA_SHORT.withName("len"),
            MemoryLayout.paddingLayout(6), ADDRESS.withName("filter"));

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private SeccompRefusal() {}

    /** {@return why this machine cannot run the filter, or empty} */
    public static Optional<String> unsupported() {
        String arch = System.getProperty("os.arch", "");
        if (!arch.equals("amd64") && !arch.equals("x86_64") && !arch.equals("aarch64")) {
            return Optional.of("the seccomp test filter is written for x86-64 and aarch64, this is " + arch);
        }
        return Optional.empty();
    }

    /**
     * {@return a JVM that refuses itself the io_uring system calls with {@code errno} before running
     * the main class given next with {@link ForkedJvm#args}} Skips the calling test where the filter
     * cannot be built.
     *
     * @param errno {@code "EPERM"} or {@code "ENOSYS"}
     */
    public static ForkedJvm jvm(String errno) {
        unsupported().ifPresent(Assumptions::abort);
        return ForkedJvm.of(SeccompRefusal.class).args(errno);
    }

    /**
     * As {@link #jvm(String)}, refusing the system calls numbered {@code first} to {@code last}
     * instead (the same numbers on x86-64 and aarch64 from 403 on: statmount 457, listmount 458).
     */
    public static ForkedJvm jvm(String errno, int first, int last) {
        unsupported().ifPresent(Assumptions::abort);
        return ForkedJvm.of(SeccompRefusal.class).args(errno + "@" + first + "-" + last);
    }

    /** Installs the filter, then runs {@code args[1]}'s main with {@code args[2..]}. */
    public static void main(String[] args) throws Throwable {
        int at = args[0].indexOf('@');
        if (at < 0) {
            install(errno(args[0]));
        } else {
            String[] range = args[0].substring(at + 1).split("-");
            install(errno(args[0].substring(0, at)), Integer.parseInt(range[0]), Integer.parseInt(range[1]));
        }
        Class<?> main = Class.forName(args[1]);
        try {
            main.getMethod("main", String[].class).invoke(null, (Object) Arrays.copyOfRange(args, 2, args.length));
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static int errno(String name) {
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "EPERM" -> 1;
            case "ENOSYS" -> 38;
            default -> Integer.parseInt(name);
        };
    }

    /** Makes io_uring_setup, io_uring_enter and io_uring_register fail with {@code errno} in every thread of this process. */
    public static void install(int errno) throws Throwable {
        install(errno, 425, 427);
    }

    /** Makes the system calls numbered {@code first} to {@code last} fail with {@code errno} in every thread of this process. */
    public static void install(int errno, int first, int last) throws Throwable {
        boolean x86 = !System.getProperty("os.arch").equals("aarch64");
        int auditArch = x86 ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;
        long nrSeccomp = x86 ? NR_SECCOMP_X86_64 : NR_SECCOMP_AARCH64;
        try (Arena arena = Arena.ofConfined()) {
            int[][] program = {
                {LD_W_ABS, 0, 0, DATA_ARCH},
                {JEQ_K, 0, 4, auditArch},
                {LD_W_ABS, 0, 0, DATA_NR},
                {JGE_K, 0, 2, first},
                {JGT_K, 1, 0, last},
                {RET_K, 0, 0, SECCOMP_RET_ERRNO | errno},
                {RET_K, 0, 0, SECCOMP_RET_ALLOW},
            };
            MemorySegment filter = arena.allocate(SOCK_FILTER, program.length);
            for (int i = 0; i < program.length; i++) {
                MemorySegment insn = filter.asSlice(i * SOCK_FILTER.byteSize(), SOCK_FILTER);
                insn.set(JAVA_SHORT, 0, (short) program[i][0]);
                insn.set(JAVA_BYTE, 2, (byte) program[i][1]);
                insn.set(JAVA_BYTE, 3, (byte) program[i][2]);
                insn.set(JAVA_INT, 4, program[i][3]);
            }
            MemorySegment prog = arena.allocate(SOCK_FPROG);
            prog.set(JAVA_SHORT, 0, (short) program.length);
            prog.set(ADDRESS, 8, filter);
            MemorySegment state = arena.allocate(CALL_STATE);

            MethodHandle prctl = LINKER.downcallHandle(LIBC.find("prctl").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                    Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
            int r = (int) prctl.invokeExact(state, PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
            if (r != 0) {
                throw new IllegalStateException("prctl(PR_SET_NO_NEW_PRIVS) failed, errno " + ERRNO.get(state, 0L));
            }
            // glibc 2.36 has no seccomp() wrapper: the system call itself.
            MethodHandle syscall = LINKER.downcallHandle(LIBC.find("syscall").orElseThrow(),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS),
                    Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
            long s = (long) syscall.invokeExact(state, nrSeccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                    prog);
            if (s != 0) {
                // > 0: the id of a thread that could not be synchronised; -1: errno says why.
                throw new IllegalStateException("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) failed: " + s + ", errno "
                        + ERRNO.get(state, 0L));
            }
        }
    }
}
