/**
 * AuraIO for Java: blocking file I/O for virtual threads, served by io_uring.
 *
 * <p>Only {@code io.auraio} is exported; the FFM bindings, the rings and their pollers, and the
 * buffer pool are internal.
 */
module io.auraio {
    exports io.auraio;
}
