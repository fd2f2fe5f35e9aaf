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
 * ({@code -Xint}, {@code -XX:TieredStopAtLevel=1..3}, {@code -XX:-UseCompiler}). With C2
 * compiling (the default) the path's frames are small and inlined, and sweeps of a caller's stack
 * depth by depth found no overflow inside the library other than a virtual thread's park, which the
 * poller's wait already survives ({@code RingPoller.waitOutAfter}); the check would cost the
 * page-cache path a few percent there for nothing (docs/design.md, "A caller that runs out of
 * stack inside a request").
 */
public final class StackHeadroom {
    /** Calls of {@link #probe} per check; 0 where C2 compiles. */
    private static final int LEVELS = levels();

    private StackHeadroom() {}

    /**
     * Throws {@link StackOverflowError} here, before the caller changes any shared state, if the
     * request path it is about to take could run out of stack.
     */
    public static void ensure() {
        if (LEVELS > 0 && probe(LEVELS) != LEVELS) {
            throw new AssertionError("stack probe");
        }
    }

    /** {@return whether {@link #ensure} checks anything in this JVM} */
    public static boolean checks() {
        return LEVELS > 0;
    }

    // Deliberately plain recursion: each level is a real frame in the interpreter, and C1
    // inlines at most one level of a recursive call.
    private static int probe(int n) {
        return n == 0 ? 0 : probe(n - 1) + 1;
    }

    private static int levels() {
        Integer forced = Integer.getInteger("io.auraio.stackHeadroom.levels");
        if (forced != null) {
            return forced;
        }
        return c2Compiles() ? 0 : LEVELS_WITHOUT_C2;
    }

    private static final int LEVELS_WITHOUT_C2 = 400;

    private static boolean c2Compiles() {
        if (System.getProperty("java.vm.info", "").contains("interpreted mode")) {
            return false;
        }
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
