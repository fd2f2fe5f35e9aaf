package io.auraio.internal.binding;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The one place that looks up native symbols. Every downcall handle of the binding layer is made
 * here so that the linker options (errno capture, critical) are chosen in a single, reviewable
 * spot.
 */
final class NativeAccess {
    static final Linker LINKER = Linker.nativeLinker();

    /** Layout of the call state that {@link Linker.Option#captureCallState} writes errno into. */
    static final MemoryLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();

    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private NativeAccess() {}

    static int errno(MemorySegment captureState) {
        return (int) ERRNO.get(captureState, 0L);
    }

    /** {@code int *__errno_location(void)}: the calling thread's errno (glibc and musl). */
    private static final class ErrnoLocation {
        static final MethodHandle HANDLE = criticalDowncall(libc(), "__errno_location",
                FunctionDescriptor.of(ValueLayout.ADDRESS));
    }

    /** Sets the calling OS thread's errno to 0, for a call whose errno is read only if it set one. */
    static void clearErrno() {
        try {
            MemorySegment errno = (MemorySegment) ErrnoLocation.HANDLE.invokeExact();
            errno.reinterpret(Integer.BYTES).set(ValueLayout.JAVA_INT, 0, 0);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    static SymbolLookup libc() {
        return LINKER.defaultLookup();
    }

    /**
     * liburing is loaded by its soname so that only the runtime package ({@code liburing2}) is
     * needed, not the development symlink.
     */
    static SymbolLookup liburing() {
        return SymbolLookup.libraryLookup("liburing.so.2", Arena.global());
    }

    private static MemorySegment symbol(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new UnsatisfiedLinkError("native symbol not found: " + name));
    }

    static MethodHandle downcall(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(lookup, name), descriptor);
    }

    /** A downcall whose first argument is the segment the JDK writes errno into after the call. */
    static MethodHandle downcallWithErrno(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(lookup, name), descriptor, CAPTURE_ERRNO);
    }

    /** As {@link #downcallWithErrno}, for a C variadic function whose variadic part starts at {@code firstVariadic}. */
    static MethodHandle variadicDowncallWithErrno(SymbolLookup lookup, String name, FunctionDescriptor descriptor,
                                                 int firstVariadic) {
        return LINKER.downcallHandle(symbol(lookup, name), descriptor, CAPTURE_ERRNO,
                Linker.Option.firstVariadicArg(firstVariadic));
    }

    /**
     * A downcall for a call that never blocks and never upcalls (a vDSO read, a string lookup):
     * {@code critical} skips the thread state transition.
     */
    static MethodHandle criticalDowncall(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(lookup, name), descriptor, Linker.Option.critical(false));
    }
}
