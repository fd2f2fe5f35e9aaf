package io.auraio.internal.platform;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * Makes a caller run out of stack before a request changes what other threads share, not in the
 * middle of it. A {@code StackOverflowError} thrown between two steps that must go together (a
 * file's user count raised and lowered, the admission gate's lock taken and released, an SQE
 * filled and published) would leave a lock held or a count raised: the ring would stop serving,
 * or a close would wait forever. {@code FileChannel} survives the same caller (its waits pin the
 * carrier, and what it undoes is shallower than what it did); this library's requests go deeper
 * below the entry and may park and resume on another carrier, so it checks first: {@link #ensure}
 * calls down as deep as the request path goes below the point that calls it, and an overflow
 * happens there, before anything was changed.
 *
 * <p>Only where frames are large: in the interpreter and where C1 is the last tier
 * ({@code -Xint}, {@code -XX:TieredStopAtLevel=1..3}, {@code -XX:-UseCompiler}), as HotSpot
 * answers a few milliseconds after the first request. With C2
 * compiling (the default) the path's frames are small and inlined, and sweeps of a caller's stack
 * depth by depth found no overflow inside the library other than a virtual thread's park, which the
 * poller's wait already survives ({@code RingPoller.waitOutAfter}); the check would cost the
 * page-cache path a few percent there for nothing (docs/design.md, "A caller that runs out of
 * stack inside a request").
 */
public final class StackHeadroom {
    /** Calls of {@link #probe} for the request path's depth where C2 does not compile. */
    private static final int LEVELS_WITHOUT_C2 = 400;

    /**
     * Calls of {@link #probe} per check: 0 where C2 compiles. In the interpreter ({@code -Xint},
     * which the VM's name says) {@link #LEVELS_WITHOUT_C2} from the start; otherwise 0 until
     * HotSpot has said whether C2 compiles, a few milliseconds after the first request (a probe
     * meanwhile would cost every JVM's first requests, interpreted then, ~7 µs each, where the
     * hazard is a thread at its stack's end in a JVM without C2). Read once per request.
     */
    private static volatile int levels;

    static {
        Integer forced = Integer.getInteger("io.auraio.stackHeadroom.levels");
        if (forced != null) {
            levels = Math.max(0, forced);
        } else if (System.getProperty("java.vm.info", "").contains("interpreted mode")) {
            levels = LEVELS_WITHOUT_C2;
        } else {
            learnTheCompilersAside();
        }
    }

    private StackHeadroom() {}

    /**
     * Throws {@link StackOverflowError} here, before the caller changes any shared state, if the
     * request path it is about to take could run out of stack.
     */
    public static void ensure() {
        int n = levels;
        if (n > 0 && probe(n) != n) {
            throw new AssertionError("stack probe");
        }
    }

    /** {@return whether {@link #ensure} checks anything in this JVM, as far as known now} */
    public static boolean checks() {
        return levels > 0;
    }

    // Deliberately plain recursion: each level is a real frame in the interpreter, and C1
    // inlines at most one level of a recursive call.
    private static int probe(int n) {
        return n == 0 ? 0 : probe(n - 1) + 1;
    }

    /**
     * Asks HotSpot for its compilers on a thread of its own: the first use of the management
     * classes takes ~20 ms, which the first request of every JVM (a short script's only one)
     * would otherwise wait for (as {@code UringBinding.chooseInBackground} does for liburing).
     */
    private static void learnTheCompilersAside() {
        try {
            Thread.ofPlatform().daemon().name("auraio-compilers").start(() -> {
                if (!c2Compiles()) {
                    levels = LEVELS_WITHOUT_C2;
                }
            });
        } catch (OutOfMemoryError noThread) {
            // At the process's thread limit: no probe, as in a JVM with C2.
        }
    }

    private static boolean c2Compiles() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (vm == null) {
                return true;
            }
            if (!Boolean.parseBoolean(vm.getVMOption("UseCompiler").getValue())) {
                return false;
            }
            boolean tiered = Boolean.parseBoolean(vm.getVMOption("TieredCompilation").getValue());
            return !tiered || Integer.parseInt(vm.getVMOption("TieredStopAtLevel").getValue()) >= 4;
        } catch (RuntimeException | LinkageError e) {
            return true; // not HotSpot, or its options unreadable: assume an optimising compiler
        }
    }
}
