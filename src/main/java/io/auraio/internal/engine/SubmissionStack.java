package io.auraio.internal.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The hand-over from submitting threads to the poller: a lock-free intrusive stack (submitters
 * push with a CAS, linking through {@link Slot#next}); the poller takes everything at once and
 * reverses it, so requests reach the kernel in arrival order. Nothing is allocated per request.
 */
final class SubmissionStack {
    private static final VarHandle HEAD;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(SubmissionStack.class, "head", Slot.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // accessed through HEAD
    private volatile Slot head;

    void push(Slot slot) {
        Slot h;
        do {
            h = head;
            slot.next = h;
        } while (!HEAD.compareAndSet(this, h, slot));
    }

    boolean isEmpty() {
        return head == null;
    }

    /** {@return every pushed slot, oldest first, as a list linked through {@link Slot#next}} */
    Slot takeAll() {
        Slot h = (Slot) HEAD.getAndSet(this, (Slot) null);
        Slot reversed = null;
        while (h != null) {
            Slot next = h.next;
            h.next = reversed;
            reversed = h;
            h = next;
        }
        return reversed;
    }
}
