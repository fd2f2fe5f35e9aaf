package io.auraio;

/**
 * Receives the completion of a {@code statx} callback request ({@link Engine#statx(java.nio.file.Path,
 * StatCallback, Object, java.nio.file.LinkOption...)}); runs as a {@link Callback} does, on a thread
 * that calls the engine's {@code poll}, {@code await}, {@code run} or {@code drain}.
 */
@FunctionalInterface
public interface StatCallback {
    /**
     * Handles one completion.
     *
     * @param request the request; {@link Request#isPending()} is already false
     * @param result  0, or a negated errno ({@code -2} ENOENT, {@code -125} ECANCELED, ...)
     * @param stat    the attributes when {@code result} is 0, else null
     */
    void completed(Request request, long result, FileStat stat);
}
