package io.auraio.internal.binding;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Which binding makes the io_uring system calls in this JVM, chosen once from the system property
 * {@value #PROPERTY}: {@code liburing} (liburing.so.2's wrappers, the design's library),
 * {@code syscall} (libc's {@code syscall(2)}, nothing to install) or {@code auto} (the default:
 * liburing where liburing.so.2 loads with the three calls, else syscall). With {@code auto} a
 * liburing that cannot be loaded only selects the syscall binding; with {@code liburing} its
 * failure is thrown by the first call (an {@link ExceptionInInitializerError}, then
 * {@link NoClassDefFoundError}s, whose innermost cause says why).
 */
public final class UringBinding {
    /** The system property that chooses the binding: {@code auto}, {@code liburing} or {@code syscall}. */
    public static final String PROPERTY = "auraio.binding";
    /** {@link #name()} of the liburing binding. */
    public static final String LIBURING = "liburing";
    /** {@link #name()} of the libc {@code syscall(2)} binding. */
    public static final String SYSCALL = "syscall";

    /** {@code liburing}, {@code syscall} or {@code auto}; an unknown value is warned about and taken as auto. */
    private static final String REQUESTED = fromProperty();

    private UringBinding() {}

    private static String fromProperty() {
        String value = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        return switch (value) {
            case LIBURING, SYSCALL, "auto" -> value;
            default -> {
                System.getLogger("io.auraio").log(System.Logger.Level.WARNING, "ignoring -D" + PROPERTY + "="
                        + value + " (expected auto, " + LIBURING + " or " + SYSCALL + ")");
                yield "auto";
            }
        };
    }

    private static final class Chosen {
        static final IoUringCalls CALLS;

        static {
            IoUringCalls calls;
            switch (REQUESTED) {
                case LIBURING -> calls = new LibUring(); // its failure is this JVM's answer: io_uring unavailable
                case SYSCALL -> calls = new SyscallIoUring();
                default -> {
                    try {
                        calls = new LibUring();
                    } catch (IllegalArgumentException | LinkageError e) {
                        // libraryLookup throws IllegalArgumentException when liburing.so.2 cannot be
                        // loaded, a missing wrapper is an UnsatisfiedLinkError.
                        // Not worth a warning: the syscall binding serves as well. Said for whoever
                        // wonders why an installed liburing is not used.
                        System.getLogger("io.auraio").log(System.Logger.Level.DEBUG, "liburing.so.2 not used ("
                                + e + "): io_uring through libc's syscall(2)");
                        calls = new SyscallIoUring();
                    }
                }
            }
            CALLS = calls;
        }
    }

    /**
     * Chooses the binding (loading and linking liburing's wrappers, 20-30 ms in a fresh JVM) on a
     * thread of its own, once per JVM, so that it overlaps the caller's own set-up (libc's linking,
     * the engine's structures) instead of following it on the first poller's thread. Only for
     * {@code auto}, whose choice cannot fail: with {@code liburing} a failure must reach the first
     * call as it happens ({@link ExceptionInInitializerError}), not a helper thread.
     */
    public static void chooseInBackground() {
        if (REQUESTED.equals("auto") && BACKGROUND_CHOICE_STARTED.compareAndSet(false, true)) {
            try {
                Thread.ofPlatform().daemon().name("auraio-binding").start(() -> {
                    try {
                        name();
                    } catch (Throwable e) {
                        // Not this thread's to report: the first real use of the binding fails with
                        // it (a NoClassDefFoundError whose cause is this one), where it is handled.
                    }
                });
            } catch (OutOfMemoryError noThread) {
                // At the process's thread limit: the first use of the binding chooses it instead.
            }
        }
    }

    private static final AtomicBoolean BACKGROUND_CHOICE_STARTED = new AtomicBoolean();

    /** {@return the binding asked for: {@value #LIBURING}, {@value #SYSCALL} or {@code auto}} */
    public static String requested() {
        return REQUESTED;
    }

    /**
     * {@return the binding serving this JVM: {@value #LIBURING} or {@value #SYSCALL}} With the
     * default {@code auto} the first call loads liburing to decide.
     */
    public static String name() {
        if (REQUESTED.equals(LIBURING)) {
            return LIBURING; // even where it cannot be loaded: then io_uring is unavailable
        }
        return Chosen.CALLS instanceof LibUring ? LIBURING : SYSCALL;
    }

    static int setup(int entries, MemorySegment params) {
        return Chosen.CALLS.setup(entries, params);
    }

    static int enter(MemorySegment captureState, int ringFd, int toSubmit, int minComplete, int flags,
                     MemorySegment arg, long argSize) {
        return Chosen.CALLS.enter(captureState, ringFd, toSubmit, minComplete, flags, arg, argSize);
    }

    static int register(int ringFd, int opcode, MemorySegment arg, int count) {
        return Chosen.CALLS.register(ringFd, opcode, arg, count);
    }
}
