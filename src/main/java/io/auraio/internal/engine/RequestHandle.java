package io.auraio.internal.engine;

/**
 * Names one use of a slot: the slot and the generation it had when the request was submitted.
 * Stays safe to hold forever: once the slot moves on, the handle just reports "not pending".
 */
public final class RequestHandle {
    private final Slot slot;
    private final int generation;

    RequestHandle(Slot slot) {
        this.slot = slot;
        this.generation = slot.generation;
    }

    /** {@return whether the request has not completed yet} */
    public boolean isPending() {
        int s = slot.state;
        return slot.generation == generation && (s == Slot.QUEUED || s == Slot.IN_KERNEL);
    }

    /**
     * Asks for the request to be cancelled; best effort.
     *
     * @return 0 if a cancellation was submitted, or a negated errno: EALREADY once the request has
     *         completed, ESHUTDOWN when the engine is closing
     */
    public int cancel() {
        return slot.ring.cancel(slot, generation);
    }

    RingPoller ring() {
        return slot.ring;
    }
}
