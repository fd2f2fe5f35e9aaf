package io.auraio.internal.sched;

import java.util.concurrent.locks.LockSupport;

/**
 * Yields and parks of a virtual thread that may be close to the end of its stack. Unmounting a
 * virtual thread copies its frames off the carrier; where they are interpreted or compiled by C1
 * ({@code -Xint}, {@code -XX:TieredStopAtLevel=1}) the copy can run out of native stack and the
 * yield or park throws {@code StackOverflowError} instead, the thread still mounted and running
 * (the JDK restores its state). Thrown out of a wait that sits between two steps that must go
 * together (a slot waited for at the gate, the gate's lock retried to give a slot back, a call
 * handed to the blocking offload, a closer waiting for a file's users), it would leave the ring a
 * slot short, a waiter queued that nobody takes, an offloaded call's memory or descriptor with no
 * owner, or a file closed but its descriptor never. These methods return instead,
 * as a spurious wake-up: every caller waits in a loop that looks at its condition again, so a
 * failed unmount becomes a spin until the condition holds. Nothing is called in the handler: the
 * thread is as deep as the call that just succeeded.
 */
public final class CarrierWaits {
    private CarrierWaits() {}

    /** {@link Thread#yield()}, or nothing if unmounting the thread runs out of stack. */
    public static void yieldOrStay() {
        try {
            Thread.yield();
        } catch (StackOverflowError e) {
            // Not unmounted: the caller's loop looks again.
        }
    }

    /** {@link LockSupport#park(Object)}, or an immediate return if unmounting runs out of stack. */
    public static void park(Object blocker) {
        try {
            LockSupport.park(blocker);
        } catch (StackOverflowError e) {
            // As a spurious wake-up: the caller's loop looks again.
        }
    }

    /** {@link LockSupport#parkNanos(Object, long)}, or an immediate return if unmounting runs out of stack. */
    public static void parkNanos(Object blocker, long nanos) {
        try {
            LockSupport.parkNanos(blocker, nanos);
        } catch (StackOverflowError e) {
            // As a spurious wake-up: the caller's loop looks again.
        }
    }
}
