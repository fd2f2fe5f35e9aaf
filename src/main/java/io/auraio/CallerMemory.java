package io.auraio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What the library may assume about the lifetime of memory a caller hands it, through public
 * {@code java.lang.foreign} API only.
 *
 * <p>The JDK's FileChannel keeps a buffer's memory alive during a transfer by acquiring its
 * session (internal API): {@code Arena.close()} then throws. Public API can keep a segment's
 * memory alive only for the length of one downcall that takes it as an argument (the linker's
 * guarantee); a ring request outlives every downcall. So the library sorts memory by who can free
 * it while a request is in the kernel:
 * <ul>
 *   <li>the global scope: nobody; used as it is;</li>
 *   <li>a confined arena: only its owner thread, which must be the caller (else
 *       {@link WrongThreadException}, as FileChannel) and is parked in the call: used as it is by
 *       blocking calls; refused by the engine's callback and future forms, whose caller goes on
 *       running (IllegalStateException, as the JDK's asynchronous channels);</li>
 *   <li>anything else (shared and automatic arenas, direct buffers; public API cannot tell a
 *       shared arena, which any thread may close at any moment, from the others): the kernel only
 *       ever sees an engine-owned copy of it, and the caller's memory is read or written by Java
 *       code, which throws instead of touching freed memory. Synchronous calls on the caller's
 *       thread (the page-cache fast path) hold it through the downcall instead.</li>
 * </ul>
 */
final class CallerMemory {
    private static final MemorySegment.Scope GLOBAL = Arena.global().scope();
    /** A thread that never runs: memory it can access is accessible from any thread (not confined). */
    private static final Thread NO_OWNER = noOwner();

    private CallerMemory() {}

    /** An unstarted thread that keeps nothing of the thread that made it reachable. */
    private static Thread noOwner() {
        Thread t = Thread.ofPlatform().inheritInheritableThreadLocals(false).unstarted(() -> {});
        t.setContextClassLoader(null);
        return t;
    }

    /**
     * Checks that the calling thread may use {@code segment} now, as FileChannel checks a buffer.
     *
     * @throws IllegalStateException if its arena is closed
     * @throws WrongThreadException if it is confined to another thread
     */
    static void checkUsable(MemorySegment segment) {
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("Already closed");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException("Attempted access outside owning thread");
        }
    }

    /** {@return whether {@code segment} belongs to a confined arena} */
    static boolean isConfined(MemorySegment segment) {
        return !segment.isAccessibleBy(NO_OWNER);
    }

    /**
     * {@return whether a thread other than a parked blocking caller may free {@code segment}'s
     * memory while a request is in the kernel} True for native memory that is neither global nor
     * confined; heap memory is always copied anyway.
     */
    static boolean freeableByOthers(MemorySegment segment) {
        return segment.isNative() && !segment.scope().equals(GLOBAL) && !isConfined(segment);
    }
}
