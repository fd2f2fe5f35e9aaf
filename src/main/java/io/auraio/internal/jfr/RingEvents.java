package io.auraio.internal.jfr;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntFunction;
import jdk.jfr.FlightRecorder;

/**
 * The engines' and rings' events: {@code io.auraio.RingStatistics} and
 * {@code io.auraio.EngineConfiguration}, emitted by JFR's periodic hooks for every registered
 * engine, and {@code io.auraio.AimdPhaseChange}, reported by a ring's poller.
 */
public final class RingEvents {
    private static final List<Source> SOURCES = new CopyOnWriteArrayList<>();

    /** Loaded only once Flight Recorder is initialized ({@link JfrState}): never committed, only asked isEnabled(). */
    private static final class Probes {
        static final AimdPhaseChangeEvent AIMD = new AimdPhaseChangeEvent();
        static final EngineConfigurationEvent CONFIGURATION = new EngineConfigurationEvent();
    }

    private RingEvents() {}

    /** When Flight Recorder initializes: the hooks run only while a recording takes their event. */
    static void addPeriodicHooks() {
        FlightRecorder.addPeriodicEvent(RingStatisticsEvent.class, RingEvents::emitRingStatistics);
        FlightRecorder.addPeriodicEvent(EngineConfigurationEvent.class, RingEvents::emitConfigurations);
    }

    /**
     * What a ring reports for {@code io.auraio.RingStatistics}.
     *
     * @param opsCompleted   requests completed since the ring started
     * @param bytes          bytes transferred since the ring started
     * @param inFlight       requests admitted and not released
     * @param inFlightLimit  the admission gate's limit
     * @param waiting        callers parked at the gate
     * @param phase          the controller's phase
     * @param p99Nanos       P99 of the last window, -1 before one
     * @param queueDepth     the ring's queue depth
     * @param batchThreshold the controller's batch threshold
     */
    public record RingSample(long opsCompleted, long bytes, int inFlight, int inFlightLimit, int waiting,
                             String phase, long p99Nanos, int queueDepth, int batchThreshold) {}

    /**
     * An engine's options, for {@code io.auraio.EngineConfiguration}.
     *
     * @param rings            ring count
     * @param queueDepth       each ring's queue depth
     * @param initialInFlight  the in-flight limit rings start with
     * @param minInFlight      the floor of the limit
     * @param targetP99Nanos   the P99 target, 0 for detected
     * @param adaptive         whether the controller adapts
     * @param sqpoll           whether the rings use SQPOLL
     * @param ringSelect       how a request's ring is chosen
     * @param bufferAlignment  the buffer pool's alignment
     */
    public record Configuration(int rings, int queueDepth, int initialInFlight, int minInFlight, long targetP99Nanos,
                                boolean adaptive, boolean sqpoll, String ringSelect, long bufferAlignment) {}

    /** A registered engine: {@link #close()} unregisters it. */
    public static final class Source implements AutoCloseable {
        private final Object owner;
        private final String name;
        private final Configuration configuration;
        private final IntFunction<RingSample> sampler;
        private final long[] lastOps;
        private final long[] lastBytes;
        /** Guarded by this: when the last event was emitted, or the engine registered (its counters 0). */
        private java.time.Instant lastEvent = java.time.Instant.now();
        /** Guarded by this: the counters when a recording started, and when they were read (null: none pending). */
        private final long[] startOps;
        private final long[] startBytes;
        private java.time.Instant startedAt;

        private Source(Object owner, String name, Configuration configuration, IntFunction<RingSample> sampler) {
            this.owner = owner;
            this.name = name;
            this.configuration = configuration;
            this.sampler = sampler;
            this.lastOps = new long[configuration.rings()];
            this.lastBytes = new long[configuration.rings()];
            this.startOps = new long[configuration.rings()];
            this.startBytes = new long[configuration.rings()];
        }

        @Override
        public void close() {
            SOURCES.remove(this);
        }
    }

    /**
     * Registers an engine for the periodic events, and emits its configuration event now if a
     * recording takes it.
     *
     * @param owner         identifies the engine to {@link #aimdChanged} (its rings' common owner)
     * @param name          the engine's name
     * @param configuration its options
     * @param sampler       the sample of ring {@code i}, called on JFR's periodic thread
     * @return the registration, to close when the engine closes
     */
    public static Source register(Object owner, String name, Configuration configuration,
                                  IntFunction<RingSample> sampler) {
        Source source = new Source(Objects.requireNonNull(owner), Objects.requireNonNull(name),
                Objects.requireNonNull(configuration), Objects.requireNonNull(sampler));
        SOURCES.add(source);
        if (JfrState.initialized && Probes.CONFIGURATION.isEnabled()) {
            emitConfiguration(source);
        }
        return source;
    }

    /** {@return whether a recording takes {@code io.auraio.AimdPhaseChange}} */
    public static boolean aimdEnabled() {
        return JfrState.initialized && Probes.AIMD.isEnabled();
    }

    /**
     * Emits {@code io.auraio.AimdPhaseChange}; call only when {@link #aimdEnabled()}.
     *
     * @param owner    the ring's owner, as registered
     * @param ring     the ring's index
     * @param oldPhase the phase before the controller's tick
     * @param newPhase the phase after it
     * @param oldLimit the in-flight limit before
     * @param newLimit the in-flight limit after
     */
    public static void aimdChanged(Object owner, int ring, String oldPhase, String newPhase, int oldLimit,
                                   int newLimit) {
        AimdPhaseChangeEvent e = new AimdPhaseChangeEvent();
        if (!e.shouldCommit()) {
            return;
        }
        e.engine = nameOf(owner);
        e.ring = ring;
        e.oldPhase = oldPhase;
        e.newPhase = newPhase;
        e.oldLimit = oldLimit;
        e.newLimit = newLimit;
        e.commit();
    }

    private static String nameOf(Object owner) {
        for (Source s : SOURCES) {
            if (s.owner == owner) {
                return s.name;
            }
        }
        return null; // an engine still starting or already closed
    }

    /**
     * A recording started: the rings' counters now, which its first event counts from unless a
     * recording already running took an event since it started (the next one then counts since
     * that one). Without this the first event of a recording counted everything since the engine
     * started or since an earlier recording's last event: hours of work reported as one period's.
     * JFR may run the periodic hook for the new recording before it tells its listeners; the hook
     * then starts the count itself ({@link #emitRingStatistics}).
     */
    static void recordingStarted(jdk.jfr.Recording started) {
        for (Source s : SOURCES) {
            synchronized (s) {
                if (s.lastEvent.isBefore(started.getStartTime())) {
                    for (int i = 0; i < s.lastOps.length; i++) {
                        RingSample sample = s.sampler.apply(i);
                        s.startOps[i] = sample.opsCompleted();
                        s.startBytes[i] = sample.bytes();
                    }
                    s.startedAt = java.time.Instant.now();
                }
            }
        }
    }

    /** {@return when the longest-running recording started, or null if none runs} */
    private static java.time.Instant earliestRunningStart() {
        java.time.Instant earliest = null;
        for (jdk.jfr.Recording r : FlightRecorder.getFlightRecorder().getRecordings()) {
            java.time.Instant start = r.getStartTime();
            if (r.getState() == jdk.jfr.RecordingState.RUNNING && start != null
                    && (earliest == null || start.isBefore(earliest))) {
                earliest = start;
            }
        }
        return earliest;
    }

    private static void emitRingStatistics() {
        java.time.Instant earliest = earliestRunningStart();
        for (Source s : SOURCES) {
            synchronized (s) { // the "since the last event" counters; JFR may run hooks of two periods
                if (earliest != null && s.lastEvent.isBefore(earliest)) {
                    // No running recording holds the last event: count from the recording's start
                    // (its listener's counters), or from now if the listener has not run yet.
                    boolean fromStart = s.startedAt != null && !s.startedAt.isBefore(earliest);
                    for (int i = 0; i < s.lastOps.length; i++) {
                        RingSample sample = fromStart ? null : s.sampler.apply(i);
                        s.lastOps[i] = fromStart ? s.startOps[i] : sample.opsCompleted();
                        s.lastBytes[i] = fromStart ? s.startBytes[i] : sample.bytes();
                    }
                }
                s.lastEvent = java.time.Instant.now();
                s.startedAt = null;
                for (int i = 0; i < s.lastOps.length; i++) {
                    RingSample sample = s.sampler.apply(i);
                    RingStatisticsEvent e = new RingStatisticsEvent();
                    e.engine = s.name;
                    e.ring = i;
                    e.operations = sample.opsCompleted() - s.lastOps[i];
                    e.bytes = sample.bytes() - s.lastBytes[i];
                    s.lastOps[i] = sample.opsCompleted();
                    s.lastBytes[i] = sample.bytes();
                    e.inFlight = sample.inFlight();
                    e.inFlightLimit = sample.inFlightLimit();
                    e.waiting = sample.waiting();
                    e.phase = sample.phase();
                    e.p99Latency = Math.max(0, sample.p99Nanos());
                    e.queueDepth = sample.queueDepth();
                    e.batchThreshold = sample.batchThreshold();
                    e.commit();
                }
            }
        }
    }

    private static void emitConfigurations() {
        for (Source s : SOURCES) {
            emitConfiguration(s);
        }
    }

    private static void emitConfiguration(Source s) {
        Configuration c = s.configuration;
        EngineConfigurationEvent e = new EngineConfigurationEvent();
        e.engine = s.name;
        e.rings = c.rings();
        e.queueDepth = c.queueDepth();
        e.initialInFlight = c.initialInFlight();
        e.minInFlight = c.minInFlight();
        e.targetP99Latency = c.targetP99Nanos();
        e.adaptive = c.adaptive();
        e.sqpoll = c.sqpoll();
        e.ringSelect = c.ringSelect();
        e.bufferAlignment = c.bufferAlignment();
        e.commit();
    }
}
