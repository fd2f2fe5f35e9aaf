package io.auraio.internal.engine;

/**
 * Read-only views of a ring's package-private state, for tests of the public API in package
 * {@code io.auraio} (which see {@link IoEngine} through {@code Engine.core()}).
 */
public final class RingProbe {
    private RingProbe() {}

    /** {@return the index of the ring a request was submitted to} */
    public static int ringIndex(RequestHandle handle) {
        return handle.ring().index();
    }

    /** {@return requests the ring has completed through the kernel} */
    public static long opsCompleted(RingPoller ring) {
        return ring.opsCompleted();
    }

    /** {@return requests every ring of the engine has completed through the kernel} */
    public static long opsCompleted(IoEngine core) {
        long sum = 0;
        for (int i = 0; i < core.ringCount(); i++) {
            sum += core.ring(i).opsCompleted();
        }
        return sum;
    }

    /** {@return whether every ring of the engine has counted the off-ring transfers given back to it} */
    public static boolean offloadedCounted(IoEngine core) {
        for (int i = 0; i < core.ringCount(); i++) {
            if (core.ring(i).pendingOffloadedSamples() > 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Holds the ring's poller in a ring task until {@code letGo} counts down: anything that needs
     * the poller waits until then. Returns once the poller is held.
     */
    static void holdPoller(RingPoller ring, java.util.concurrent.CountDownLatch letGo) throws InterruptedException {
        java.util.concurrent.CountDownLatch pollerHeld = new java.util.concurrent.CountDownLatch(1);
        ring.postToRing(u -> {
            pollerHeld.countDown();
            try {
                letGo.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        });
        if (!pollerHeld.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
            throw new AssertionError("the poller did not run the holding task within 60 s");
        }
    }

    /** {@return slots of the ring in use: requests queued, in the kernel or completing} */
    public static int inUse(RingPoller ring) {
        return ring.inUse();
    }

    /** {@return requests of the ring that count against its in-flight limit (exempt ones do not)} */
    public static int meteredInUse(RingPoller ring) {
        return ring.meteredInUse();
    }

    /** {@return the ring's in-flight limit} */
    public static int limit(RingPoller ring) {
        return ring.limit();
    }

    /** {@return threads parked in the ring's admission gate, waiting for a slot} */
    public static int waiting(RingPoller ring) {
        return ring.waiting();
    }

    /** {@return requests of the ring in the kernel now} */
    public static int inKernel(RingPoller ring) {
        return ring.inKernel();
    }

    /** {@return the {@code IORING_SETUP_*} flags the ring was set up with} */
    public static int setupFlags(RingPoller ring) {
        return ring.setupFlags();
    }

    /** {@return the ring's request slots} */
    public static int queueDepth(RingPoller ring) {
        return ring.queueDepth();
    }

    /** {@return requests of all rings in the kernel now} */
    public static int inKernel(IoEngine engine) {
        int sum = 0;
        for (int i = 0; i < engine.ringCount(); i++) {
            sum += engine.ring(i).inKernel();
        }
        return sum;
    }
}
