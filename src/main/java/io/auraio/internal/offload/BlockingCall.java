package io.auraio.internal.offload;

/**
 * A blocking system call to make on a pool thread: a platform provider's {@code stat},
 * {@code getdents}, {@code unlink}, ...
 *
 * @param <T> what it returns
 * @param <X> the checked exception it throws ({@link java.io.IOException}, or
 *            {@link RuntimeException} for a call that throws none)
 */
@FunctionalInterface
public interface BlockingCall<T, X extends Exception> {
    /**
     * Makes the call.
     *
     * @return its result
     * @throws X as the call
     */
    T call() throws X;
}
