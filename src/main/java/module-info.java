/**
 * AuraIO for Java: blocking file I/O for virtual threads, served by io_uring.
 *
 * <p>Exported: {@code io.auraio} (the API) and {@code io.auraio.spi} (the file system provider
 * that the JDK loads by name for {@code -Djava.nio.file.spi.DefaultFileSystemProvider}; not a
 * {@code provides} clause, as a default provider is not found through {@code ServiceLoader}).
 * The FFM bindings, the rings and their pollers, and the buffer pool are internal.
 */
module io.auraio {
    exports io.auraio;
    exports io.auraio.spi;
}
