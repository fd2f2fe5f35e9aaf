package io.auraio.micrometer;

import io.auraio.Engine;
import io.auraio.BufferStats;
import io.auraio.RingStats;
import io.auraio.Stats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Binds an {@link Engine}'s statistics to a Micrometer {@link MeterRegistry}, tagged
 * {@code engine=<}{@link Engine#name()}{@code >} (plus any tags given), and per ring
 * {@code ring=<index>}:
 *
 * <table class="striped">
 * <caption>Meters</caption>
 * <thead><tr><th>name</th><th>type</th><th>base unit</th><th>what</th></tr></thead>
 * <tbody>
 * <tr><td>{@code auraio.operations}</td><td>function counter</td><td>operations</td>
 *     <td>requests completed, the page cache fast path included</td></tr>
 * <tr><td>{@code auraio.bytes}</td><td>function counter</td><td>bytes</td><td>bytes transferred, the fast path included</td></tr>
 * <tr><td>{@code auraio.inflight}</td><td>gauge</td><td>requests</td><td>requests queued, in the kernel or completing</td></tr>
 * <tr><td>{@code auraio.buffers.allocated}</td><td>gauge</td><td>bytes</td><td>pool buffers handed out</td></tr>
 * <tr><td>{@code auraio.ring.operations}</td><td>function counter</td><td>operations</td><td>requests the ring completed</td></tr>
 * <tr><td>{@code auraio.ring.bytes}</td><td>function counter</td><td>bytes</td><td>bytes the ring transferred</td></tr>
 * <tr><td>{@code auraio.ring.inflight}</td><td>gauge</td><td>requests</td><td>requests admitted to the ring</td></tr>
 * <tr><td>{@code auraio.ring.inflight.limit}</td><td>gauge</td><td>requests</td><td>the admission gate's limit</td></tr>
 * <tr><td>{@code auraio.ring.latency.p99}</td><td>time gauge</td><td>(registry's)</td>
 *     <td>P99 latency of the controller's last window</td></tr>
 * <tr><td>{@code auraio.ring.throughput}</td><td>gauge</td><td>bytes per second</td><td>over the controller's last window</td></tr>
 * <tr><td>{@code auraio.ring.phase}</td><td>gauge</td><td></td>
 *     <td>the controller's phase code, 0 BASELINE to 5 CONVERGED ({@link io.auraio.AimdPhase})</td></tr>
 * <tr><td>{@code auraio.ring.batch.threshold}</td><td>gauge</td><td>requests</td><td>the batch threshold in force</td></tr>
 * <tr><td>{@code auraio.ring.queue.depth}</td><td>gauge</td><td>requests</td><td>the ring's queue depth</td></tr>
 * </tbody>
 * </table>
 *
 * <p>The meters read the engine when the registry asks. After the engine is closed they report
 * its last values, and from their first reading after the close they no longer hold the engine,
 * which can then be collected. Remove them with {@link MeterRegistry#remove} if the registry
 * outlives the engine. Binding an engine to a registry that still holds these meters
 * for a closed engine of the same name and tags (names are unique among open engines only)
 * replaces them: the registry would otherwise hand back the closed engine's meters, frozen.
 */
public final class AuraMeterBinder implements MeterBinder {
    private final Engine engine;
    private final Tags tags;

    /**
     * What the meters read: the engine while it is open; once it is closed, its last values,
     * taken at the first reading after the close has ended every request, and the engine is let
     * go.
     */
    private static final class Source {
        private volatile Engine engine;
        private final int rings;
        private volatile Stats lastStats;
        private volatile RingStats[] lastRings;
        private volatile BufferStats lastBuffers;

        Source(Engine engine) {
            this.engine = engine;
            this.rings = engine.ringCount();
        }

        /** {@return the engine to read, or null once it is closed and its last values are frozen} */
        private Engine open() {
            Engine e = engine;
            if (e == null) {
                return null;
            }
            if (!e.isClosed()) {
                return e;
            }
            synchronized (this) {
                // Closed, and done: the requests its close ended have been counted.
                if (engine != null && e.stats().currentInFlight() == 0) {
                    RingStats[] last = new RingStats[rings];
                    for (int i = 0; i < rings; i++) {
                        last[i] = e.ringStats(i);
                    }
                    lastStats = e.stats();
                    lastRings = last;
                    lastBuffers = e.bufferStats();
                    engine = null;
                }
                return engine;
            }
        }

        Stats stats() {
            Engine e = open();
            return e != null ? e.stats() : lastStats;
        }

        RingStats ringStats(int ring) {
            Engine e = open();
            return e != null ? e.ringStats(ring) : lastRings[ring];
        }

        BufferStats bufferStats() {
            Engine e = open();
            return e != null ? e.bufferStats() : lastBuffers;
        }
    }

    /**
     * A binder for {@code engine}, tagged {@code engine=<name>}.
     *
     * @param engine the engine
     */
    public AuraMeterBinder(Engine engine) {
        this(engine, Tags.empty());
    }

    /**
     * A binder for {@code engine}, tagged {@code engine=<name>} and {@code tags}.
     *
     * @param engine the engine
     * @param tags   more tags for every meter
     */
    public AuraMeterBinder(Engine engine, Iterable<Tag> tags) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.tags = Tags.concat(tags, "engine", engine.name());
    }

    private static final java.util.Set<String> ENGINE_METERS = java.util.Set.of("auraio.operations", "auraio.bytes",
            "auraio.inflight", "auraio.buffers.allocated");

    @Override
    public void bindTo(MeterRegistry registry) {
        removeEarlierMeters(registry);
        Source source = new Source(engine);
        FunctionCounter.builder("auraio.operations", source, e -> e.stats().opsCompleted()).tags(tags)
                .baseUnit("operations").description("Requests completed, the page cache fast path included")
                .register(registry);
        FunctionCounter.builder("auraio.bytes", source, e -> e.stats().bytesTransferred()).tags(tags)
                .baseUnit("bytes").description("Bytes transferred, the page cache fast path included")
                .register(registry);
        Gauge.builder("auraio.inflight", source, e -> e.stats().currentInFlight()).tags(tags).strongReference(true)
                .baseUnit("requests").description("Requests queued, in the kernel or completing").register(registry);
        Gauge.builder("auraio.buffers.allocated", source, e -> e.bufferStats().totalAllocatedBytes()).tags(tags)
                .strongReference(true).baseUnit("bytes").description("Pool buffer bytes handed out")
                .register(registry);
        for (int i = 0; i < engine.ringCount(); i++) {
            bindRing(registry, source, i);
        }
    }

    /**
     * Removes the meters this binder registers that the registry holds already: an earlier
     * binding's, of this engine (registered again below) or of a closed engine of the same name.
     */
    private void removeEarlierMeters(MeterRegistry registry) {
        java.util.Set<Tag> base = new java.util.HashSet<>();
        tags.forEach(base::add);
        for (io.micrometer.core.instrument.Meter m : List.copyOf(registry.getMeters())) {
            String name = m.getId().getName();
            java.util.Set<Tag> own = new java.util.HashSet<>(m.getId().getTags());
            if (name.startsWith("auraio.ring.")) {
                own.removeIf(t -> t.getKey().equals("ring"));
            } else if (!ENGINE_METERS.contains(name)) {
                continue;
            }
            if (name.startsWith("auraio.") && own.equals(base)) {
                registry.remove(m);
            }
        }
    }

    private void bindRing(MeterRegistry registry, Source source, int ring) {
        Tags ringTags = tags.and("ring", Integer.toString(ring));
        FunctionCounter.builder("auraio.ring.operations", source, e -> e.ringStats(ring).opsCompleted())
                .tags(ringTags).baseUnit("operations").description("Requests the ring completed").register(registry);
        FunctionCounter.builder("auraio.ring.bytes", source, e -> e.ringStats(ring).bytesTransferred())
                .tags(ringTags).baseUnit("bytes").description("Bytes the ring transferred").register(registry);
        gauge(registry, "auraio.ring.inflight", ringTags, "requests", "Requests admitted to the ring",
                s -> s.pendingCount(), source, ring);
        gauge(registry, "auraio.ring.inflight.limit", ringTags, "requests", "The ring's admission limit",
                s -> s.inFlightLimit(), source, ring);
        gauge(registry, "auraio.ring.throughput", ringTags, "bytes.per.second",
                "Throughput over the controller's last window", s -> s.throughputBps(), source, ring);
        gauge(registry, "auraio.ring.phase", ringTags, null,
                "AIMD phase code: 0 BASELINE, 1 PROBING, 2 STEADY, 3 BACKOFF, 4 SETTLING, 5 CONVERGED",
                s -> s.aimdPhase(), source, ring);
        gauge(registry, "auraio.ring.batch.threshold", ringTags, "requests", "The batch threshold in force",
                s -> s.batchThreshold(), source, ring);
        gauge(registry, "auraio.ring.queue.depth", ringTags, "requests", "The ring's queue depth",
                s -> s.queueDepth(), source, ring);
        TimeGauge.builder("auraio.ring.latency.p99", source, TimeUnit.MILLISECONDS,
                        e -> e.ringStats(ring).p99LatencyMs())
                .tags(ringTags).strongReference(true).description("P99 latency of the controller's last window")
                .register(registry);
    }

    private void gauge(MeterRegistry registry, String name, Tags ringTags, String unit, String description,
                       ToDoubleFunction<RingStats> value, Source source, int ring) {
        Gauge.Builder<Source> b = Gauge.builder(name, source, e -> value.applyAsDouble(e.ringStats(ring)))
                .tags(ringTags).strongReference(true).description(description);
        if (unit != null) {
            b.baseUnit(unit);
        }
        b.register(registry);
    }
}
