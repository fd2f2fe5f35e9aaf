package io.auraio.internal.engine;

import io.auraio.internal.binding.Errno;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The lifecycle of one kind of registered resource (buffers or files) across all rings:
 * registered, draining (a deferred unregister waits for requests that use the resource; new ones
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

    private record State<T>(T resources, boolean draining, CompletableFuture<Void> unregistered) {}

    private final AtomicReference<State<T>> state = new AtomicReference<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Unregisterer unregisterer;

    Registration(Unregisterer unregisterer) {
        this.unregisterer = unregisterer;
    }

    /** {@return the registered resources, or null} */
    T current() {
        State<T> s = state.get();
        return s == null || s.draining() ? null : s.resources();
    }

    boolean isRegistered() {
        return state.get() != null;
    }

    /**
     * Records {@code resources} as registered.
     *
     * @return 0, or -EBUSY when something is registered or still draining
     */
    int set(T resources) {
        return state.compareAndSet(null, new State<>(resources, false, new CompletableFuture<>())) ? 0 : -Errno.EBUSY;
    }

    /** Clears a registration whose kernel side failed, so a later attempt can be made. */
    void clear() {
        state.set(null);
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
        if (s == null || s.draining()) {
            errnoOut[0] = s == null ? Errno.ENOENT : Errno.EBUSY;
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
     *         is registered
     */
    CompletableFuture<Void> requestUnregister() {
        while (true) {
            State<T> s = state.get();
            if (s == null) {
                return null;
            }
            if (s.draining()) {
                return s.unregistered();
            }
            if (state.compareAndSet(s, new State<>(s.resources(), true, s.unregistered()))) {
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
        unregisterer.unregisterAll().whenComplete((v, e) -> {
            state.set(null);
            unregistering.set(null);
            if (e != null) {
                s.unregistered().completeExceptionally(e);
            } else {
                s.unregistered().complete(null);
            }
        });
    }

    int inFlight() {
        return inFlight.get();
    }
}
