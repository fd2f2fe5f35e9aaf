/**
 * AuraIO for Java: blocking file I/O for virtual threads, served by io_uring.
 *
 * <p>Exported: {@code io.auraio} (the API), {@code io.auraio.spi} (the file system provider
 * that the JDK loads by name for {@code -Djava.nio.file.spi.DefaultFileSystemProvider}; not a
 * {@code provides} clause, as a default provider is not found through {@code ServiceLoader}),
 * {@code io.auraio.management} (the MXBean interfaces, which JMX clients read by name) and
 * {@code io.auraio.micrometer} (a Micrometer {@code MeterBinder}; Micrometer is read only when the
 * application has it: {@code requires static}). The FFM bindings, the rings and their pollers,
 * the buffer pool and the Flight Recorder events are internal.
 *
 * <p>Besides {@code java.base} the module reads three JDK modules, no library: {@code jdk.jfr}
 * (the {@code io.auraio.*} Flight Recorder events), {@code java.management} (each engine's
 * MXBean) and {@code jdk.management} (the virtual-thread scheduler's queue length, which tells a
 * thread served from the page cache whether another waits for its carrier).
 */
// micrometer-core has no module-info, only an Automatic-Module-Name; "transitive" as the exported
// io.auraio.micrometer speaks Micrometer types (MeterBinder, MeterRegistry, Tag).
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module io.auraio {
    requires jdk.jfr;
    requires java.management;
    requires jdk.management;
    requires static transitive micrometer.core;

    exports io.auraio;
    exports io.auraio.spi;
    exports io.auraio.management;
    exports io.auraio.micrometer;
}
