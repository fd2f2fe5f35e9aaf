package io.auraio.internal.engine;

import io.auraio.internal.binding.Errno;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The lifecycle of one kind of registered resource (buffers or files) across all rings:
 * being registered, registered, draining (a deferred unregister waits for requests that use the resource; new ones
 * are refused with EBUSY), unregistered. The kernel-side work is done by callbacks the engine
 * provides; this class only counts users and decides when the unregister may run.
 *
 * @param <T> what is registered (the buffers' segments, or the file descriptors)
 */
final class Registration<T> {
    /** Unregisters on every ring; runs on a poller thread or the caller, must not block on pollers. */
    interface Unregisterer {
        CompletableFuture<Void> unregisterAll();
    }

    /**
     * One registration. {@code live} is false while the kernel registration is under way
     * ({@link #set} to {@link #publish}): nothing may use or unregister it yet, as an unregister
     * posted to a ring before the registration reached it would leave the kernel holding what this
     * class calls unregistered. {@code onDropped} (may be null) runs once the kernel has dropped the
     * resources, before {@code unregistered} completes: it belongs to this registration, so a later
     * one's resources are never released by it.
     */
    private record State<T>(T resources, boolean live, boolean draining, CompletableFuture<Void> unregistered,
                            Runnable onDropped) {}

    private final AtomicReference<State<T>> state = new AtomicReference<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Unregisterer unregisterer;

    Registration(Unregisterer unregisterer) {
        this.unregisterer = unregisterer;
    }

    /** {@return the registered resources, or null} */
    T current() {
        State<T> s = state.get();
        return s == null || !s.live() || s.draining() ? null : s.resources();
    }

    /** {@return whether something is registered, being registered or draining} */
    boolean isRegistered() {
        return state.get() != null;
    }

    /**
     * Reserves the registration for {@code resources}, before the kernel registration; the caller
     * then calls {@link #publish} or {@link #clear}.
     *
     * @return 0, or -EBUSY when something is registered, being registered or still draining
     */
    int set(T resources) {
        return set(resources, null);
    }

    /**
     * As {@link #set(Object)}, with what to run (idempotent) once the kernel has dropped
     * {@code resources}: after their unregister, or {@link #dropAtClose()}. Not run when the caller
     * {@link #clear}s a registration that failed.
     *
     * @return 0, or -EBUSY when something is registered, being registered or still draining
     */
    int set(T resources, Runnable onDropped) {
        return state.compareAndSet(null, new State<>(resources, false, false, new CompletableFuture<>(), onDropped))
                ? 0 : -Errno.EBUSY;
    }

    /** The kernel registration of {@code resources} succeeded: requests may use them, and unregister them. */
    void publish(T resources) {
        state.updateAndGet(s -> s != null && s.resources() == resources && !s.live()
                ? new State<>(resources, true, false, s.unregistered(), s.onDropped()) : s);
    }

    /** Clears the registration of {@code resources}, whose kernel side failed, so a later attempt can be made. */
    void clear(T resources) {
        state.updateAndGet(s -> s != null && s.resources() == resources ? null : s);
    }

    /**
     * Counts one request that uses the resources.
     *
     * @return the resources, or null when nothing is registered (-ENOENT) or a deferred unregister
     *         is draining (-EBUSY): {@code errnoOut[0]} says which
     */
    T acquire(int[] errnoOut) {
        inFlight.incrementAndGet();
        State<T> s = state.get();
        if (s == null || !s.live() || s.draining()) {
            errnoOut[0] = s == null || !s.live() ? Errno.ENOENT : Errno.EBUSY;
            release();
            return null;
        }
        return s.resources();
    }

    /** A request that used the resources has completed. */
    void release() {
        if (inFlight.decrementAndGet() == 0) {
            maybeUnregister();
        }
    }

    /**
     * Starts a deferred unregister.
     *
     * @return a future completed once the kernel has dropped the resources, or null when nothing
     *         is registered (or its registration has not completed yet)
     */
    CompletableFuture<Void> requestUnregister() {
        while (true) {
            State<T> s = state.get();
            if (s == null || !s.live()) {
                return null;
            }
            if (s.draining()) {
                return s.unregistered();
            }
            if (state.compareAndSet(s, new State<>(s.resources(), true, true, s.unregistered(), s.onDropped()))) {
                maybeUnregister();
                return s.unregistered();
            }
        }
    }

    private final AtomicReference<State<T>> unregistering = new AtomicReference<>();

    private void maybeUnregister() {
        State<T> s = state.get();
        if (s == null || !s.draining() || inFlight.get() != 0 || !unregistering.compareAndSet(null, s)) {
            return;
        }
        if (state.get() != s) {
            // Read before another thread unregistered s and cleared it: the kernel's resources now
            // may be those of a registration made since, live, which this would have unregistered
            // under its requests (a READ_FIXED failed with EFAULT). Give the turn back, and look
            // again: the current registration's drain may have found the turn taken and left.
            unregistering.set(null);
            maybeUnregister();
            return;
        }
        unregisterer.unregisterAll().whenComplete((v, e) -> {
            runOnDropped(s);
            // Only this registration's state: a close may have dropped it already.
            state.compareAndSet(s, null);
            unregistering.set(null);
            if (e != null) {
                s.unregistered().completeExceptionally(e);
            } else {
                s.unregistered().complete(null);
            }
            // A registration made and drained since the state cleared found this unregister under
            // way (the CAS above) and left; without this look it would drain forever.
            maybeUnregister();
        });
    }

    /**
     * The rings are closed, so the kernel holds nothing any more: runs the current registration's
     * {@code onDropped} (its unregister may never have been asked for) and forgets it.
     */
    void dropAtClose() {
        State<T> s = state.getAndSet(null);
        if (s != null) {
            runOnDropped(s);
        }
    }

    private static void runOnDropped(State<?> s) {
        if (s.onDropped() != null) {
            s.onDropped().run(); // idempotent: the unregister and the close may both get here
        }
    }

    int inFlight() {
        return inFlight.get();
    }
}
