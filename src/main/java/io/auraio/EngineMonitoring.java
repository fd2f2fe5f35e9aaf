package io.auraio;

import io.auraio.internal.adaptive.AimdController;
import io.auraio.internal.engine.CompletionCounters;
import io.auraio.internal.engine.RingPoller;
import io.auraio.internal.jfr.RingEvents;
import io.auraio.management.BufferStatistics;
import io.auraio.management.EngineMXBean;
import io.auraio.management.EngineStatistics;
import io.auraio.management.LatencyPercentiles;
import io.auraio.management.RingMXBean;
import io.auraio.management.RingStatistics;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanRegistrationException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * What makes an engine visible to monitoring while it is open: its name (unique among open
 * engines), its MXBeans on the platform MBean server and its registration for the periodic
 * Flight Recorder events. Started by {@link Engine#create}, stopped by {@link Engine#close()}.
 *
 * <p>The MXBeans are registered and unregistered by one background thread, in order: the
 * platform MBean server costs a few hundred milliseconds of class loading when it is first
 * asked for, which the first {@code Engine.create} of a JVM (a script's only one) should not
 * wait for. The thread exits when idle. An engine's MXBeans are registered
 * {@link #REGISTRATION_DELAY_MS} after it starts, and not at all if it closes first: a short run
 * (a tool, a script) then never starts the MBean server, which cost 5% of the CPU of
 * {@code auraio hash -r} of 15,224 files on 2 CPUs, beside the work it delayed; anything that
 * lives long enough to be watched is registered by the time someone looks.
 */
final class EngineMonitoring {
    private static final Set<String> NAMES = ConcurrentHashMap.newKeySet();
    private static final AtomicInteger UNNAMED = new AtomicInteger();
    /** How long after its start an engine's MXBeans are registered. */
    static final long REGISTRATION_DELAY_MS = 1000;
    /**
     * One thread, so registrations and unregistrations happen in the order they fall due: an
     * engine's unregistration (due at its close) before any registration of an engine started
     * later under the same name.
     */
    private static final ScheduledThreadPoolExecutor JMX = jmxThread();
    /** Engines whose registration has not run yet, for {@link #awaitRegistrations()}. */
    private static final Set<EngineMonitoring> PENDING = ConcurrentHashMap.newKeySet();

    private static ScheduledThreadPoolExecutor jmxThread() {
        ScheduledThreadPoolExecutor jmx = new ScheduledThreadPoolExecutor(1,
                r -> Thread.ofPlatform().daemon().name("auraio-jmx").unstarted(r));
        jmx.setKeepAliveTime(1, TimeUnit.SECONDS);
        jmx.allowCoreThreadTimeOut(true);
        jmx.setRemoveOnCancelPolicy(true);
        return jmx;
    }

    private final String name;
    private final List<ObjectName> registered = new ArrayList<>();
    private final RingEvents.Source events;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Runnable register;
    private final ScheduledFuture<?> registration;

    /**
     * Takes a name for a new engine: {@code requested}, or {@code default} for the shared
     * engine, or the next free {@code engine-N}. Released by {@link #stop()}, or by
     * {@link #releaseName} if the engine does not start.
     *
     * @throws IllegalArgumentException if an open engine already has {@code requested}
     */
    static String reserveName(String requested, boolean shared) {
        if (!requested.isEmpty() || shared) {
            String name = requested.isEmpty() ? Options.DEFAULT_ENGINE_NAME : requested;
            if (!NAMES.add(name)) {
                throw new IllegalArgumentException("an open engine is already named \"" + name
                        + "\": give this one another Options.name, or close that one first");
            }
            return name;
        }
        while (true) {
            String name = "engine-" + UNNAMED.incrementAndGet();
            if (NAMES.add(name)) {
                return name;
            }
        }
    }

    static void releaseName(String name) {
        NAMES.remove(name);
    }

    /** Registers {@code engine}'s event source now and its MXBeans in the background. */
    static EngineMonitoring start(Engine engine) {
        return new EngineMonitoring(engine);
    }

    /**
     * Makes every registration not yet due run now, then waits until every registration and
     * unregistration asked for so far is done; for tests.
     */
    static void awaitRegistrations() throws InterruptedException {
        for (EngineMonitoring m : PENDING) {
            if (m.registration.cancel(false)) {
                JMX.execute(m.register);
            }
        }
        try {
            JMX.submit(() -> { }).get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new AssertionError(e);
        }
    }

    private EngineMonitoring(Engine engine) {
        this.name = engine.name();
        this.register = () -> registerBeans(engine);
        ScheduledFuture<?> scheduled = null;
        try {
            scheduled = JMX.schedule(register, REGISTRATION_DELAY_MS, TimeUnit.MILLISECONDS);
        } catch (OutOfMemoryError noThread) {
            // "unable to create native thread": the process may start no thread now (a pids
            // limit). The registration stays queued and runs once the JMX thread starts for
            // another engine (registerBeans looks at stopped); the engine serves meanwhile.
        }
        this.registration = scheduled;
        if (scheduled != null) {
            PENDING.add(this);
            if (scheduled.isDone()) {
                PENDING.remove(this); // ran already (this thread stalled a second): nothing pending
            }
        }
        Options o = engine.options();
        this.events = RingEvents.register(engine.core(), name, new RingEvents.Configuration(engine.ringCount(),
                o.queueDepth(), o.initialInFlight(), o.minInFlight(),
                // The target the controllers were given: a positive target under 1 ns is 1 ns, not
                // 0 (detected), and one beyond a day a day, not Long.MAX_VALUE.
                Engine.targetP99Nanos(o.maxP99LatencyMs()),
                !o.disableAdaptive(), o.enableSqpoll(), o.ringSelect().name(), o.bufferAlignment()),
                i -> sample(engine, i));
    }

    /** On the JMX thread. A name someone else took leaves this engine unregistered, with a warning. */
    private void registerBeans(Engine engine) {
        PENDING.remove(this);
        if (stopped.get()) {
            return; // closed before its turn came
        }
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            register(server, new EngineBean(engine), engineObjectName(name));
            for (int i = 0; i < engine.ringCount(); i++) {
                register(server, new RingBean(engine, i), ringObjectName(name, i));
            }
        } catch (JMException e) {
            unregisterAll();
            // Looked up here, not in a static field: the logger's set-up (its finder, 3-5 ms) is
            // otherwise part of every engine's start, for a warning almost no run gives.
            System.getLogger("io.auraio").log(System.Logger.Level.WARNING,
                    "engine \"" + name + "\" has no MXBean: " + e, e);
        }
    }

    private void register(MBeanServer server, Object bean, ObjectName objectName) throws JMException {
        server.registerMBean(bean, objectName);
        registered.add(objectName);
    }

    /**
     * Unregisters everything (the MXBeans in the background, after their registration) and
     * releases the name, which a new engine may take at once; idempotent.
     */
    void stop() {
        if (stopped.compareAndSet(false, true)) {
            events.close();
            if (registration != null && registration.cancel(false)) {
                PENDING.remove(this); // closed before its registration was due: nothing to undo
            }
            try {
                JMX.execute(this::unregisterAll);
            } catch (OutOfMemoryError noThread) {
                // No JMX thread runs (none could start), so none registers beside this one:
                // unregistered here. The queued copy finds nothing left (idempotent).
                unregisterAll();
            }
            releaseName(name);
        }
    }

    /** On the JMX thread. */
    private void unregisterAll() {
        if (registered.isEmpty()) {
            return; // closed before its registration: the MBean server need not even start
        }
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (ObjectName objectName : registered) {
            try {
                server.unregisterMBean(objectName);
            } catch (InstanceNotFoundException alreadyGone) {
                // A JMX client unregistered it already: nothing is left to undo.
            } catch (MBeanRegistrationException e) {
                throw new IllegalStateException("cannot unregister " + objectName, e); // our beans have no preDeregister
            }
        }
        registered.clear();
    }

    static ObjectName engineObjectName(String name) {
        return objectName(EngineMXBean.DOMAIN + ":type=Engine,name=" + name);
    }

    static ObjectName ringObjectName(String name, int ring) {
        return objectName(EngineMXBean.DOMAIN + ":type=Ring,engine=" + name + ",ring=" + ring);
    }

    private static ObjectName objectName(String text) {
        try {
            return new ObjectName(text);
        } catch (JMException e) {
            throw new IllegalStateException("Options.name lets through a name JMX refuses: " + text, e);
        }
    }

    private static RingEvents.RingSample sample(Engine engine, int index) {
        RingPoller ring = engine.core().ring(index);
        AimdController c = ring.controller();
        CompletionCounters.Snapshot done = ring.completions();
        return new RingEvents.RingSample(done.ops(), done.bytes(), ring.inUse(), ring.limit(),
                ring.waiting(), c.phase().name(), c.p99LatencyNanos(), ring.queueDepth(), c.batchThreshold());
    }

    private static RingStatistics ringStatistics(Engine engine, int index) {
        RingPoller ring = engine.core().ring(index);
        AimdController c = ring.controller();
        CompletionCounters.Snapshot done = ring.completions();
        return new RingStatistics(index, done.ops(), done.bytes(), ring.inUse(), ring.limit(),
                ring.waiting(), c.batchThreshold(), Math.max(0, c.p99LatencyNanos()) / 1e6,
                c.targetP99Nanos() / 1e6, c.throughputBytesPerSecond(), c.phase().name(), ring.queueDepth());
    }

    /** Percentiles over the given histograms merged; each the upper edge of its bucket. */
    static LatencyPercentiles percentiles(List<Histogram> histograms) {
        long[] buckets = new long[Histogram.BUCKET_COUNT];
        long overflow = 0;
        int width = Histogram.BUCKET_WIDTH_US;
        for (Histogram h : histograms) {
            long[] b = h.buckets();
            for (int i = 0; i < Math.min(b.length, buckets.length); i++) {
                buckets[i] += b[i];
            }
            overflow += h.overflow();
            width = h.bucketWidthUs();
        }
        long total = overflow;
        for (long b : buckets) {
            total += b;
        }
        return new LatencyPercentiles(percentile(buckets, total, 0.50, width), percentile(buckets, total, 0.90, width),
                percentile(buckets, total, 0.99, width), percentile(buckets, total, 0.999, width), total);
    }

    private static double percentile(long[] buckets, long total, double p, int widthUs) {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(p * total);
        long seen = 0;
        for (int i = 0; i < buckets.length; i++) {
            seen += buckets[i];
            if (seen >= rank) {
                return (i + 1) * widthUs / 1000.0;
            }
        }
        return buckets.length * widthUs / 1000.0; // in the overflow: at least the last edge
    }

    /** The engine's MXBean. */
    private static final class EngineBean implements EngineMXBean {
        private final Engine engine;

        EngineBean(Engine engine) {
            this.engine = engine;
        }

        @Override
        public String getName() {
            return engine.name();
        }

        @Override
        public int getRingCount() {
            return engine.ringCount();
        }

        @Override
        public EngineStatistics getStats() {
            Stats s = engine.stats();
            return new EngineStatistics(s.opsCompleted(), s.bytesTransferred(), s.throughputBps(), s.p99LatencyMs(),
                    s.currentInFlight(), s.optimalInFlight(), s.optimalBatchSize(), s.adaptiveSpills(),
                    s.peakInFlight());
        }

        @Override
        public RingStatistics[] getRingStats() {
            RingStatistics[] rings = new RingStatistics[engine.ringCount()];
            for (int i = 0; i < rings.length; i++) {
                rings[i] = ringStatistics(engine, i);
            }
            return rings;
        }

        @Override
        public LatencyPercentiles getLatencyPercentiles() {
            List<Histogram> all = new ArrayList<>();
            for (int i = 0; i < engine.ringCount(); i++) {
                all.add(engine.histogram(i));
            }
            return percentiles(all);
        }

        @Override
        public BufferStatistics getBufferStats() {
            BufferStats b = engine.bufferStats();
            return new BufferStatistics(b.totalAllocatedBytes(), b.totalBuffers(), b.shardCount());
        }

        @Override
        public double getTargetP99LatencyMillis() {
            return controller(0).userTargetP99Nanos() / 1e6;
        }

        @Override
        public void setTargetP99LatencyMillis(double millis) {
            if (!(millis >= 0) || Double.isInfinite(millis)) {
                throw new IllegalArgumentException("TargetP99LatencyMillis must be a finite number >= 0 (0 = auto), was "
                        + millis);
            }
            for (int i = 0; i < engine.ringCount(); i++) {
                controller(i).setTargetP99Nanos(Engine.targetP99Nanos(millis)); // 1 ns to a day, as setMaxP99Latency
            }
        }

        @Override
        public int getMinInFlight() {
            return controller(0).minInFlight();
        }

        @Override
        public void setMinInFlight(int min) {
            engine.setMinInFlight(min); // the same setting: checks the range before any ring changes
        }

        @Override
        public int getBatchThreshold() {
            return controller(0).pinnedBatchThreshold();
        }

        @Override
        public void setBatchThreshold(int threshold) {
            controller(0).setBatchThreshold(threshold); // checks the range before any other ring changes
            for (int i = 1; i < engine.ringCount(); i++) {
                controller(i).setBatchThreshold(threshold);
            }
        }

        private AimdController controller(int ring) {
            return engine.core().ring(ring).controller();
        }
    }

    /** One ring's MXBean. */
    private static final class RingBean implements RingMXBean {
        private final Engine engine;
        private final int index;

        RingBean(Engine engine, int index) {
            this.engine = engine;
            this.index = index;
        }

        private RingPoller ring() {
            return engine.core().ring(index);
        }

        @Override
        public String getEngine() {
            return engine.name();
        }

        @Override
        public int getRing() {
            return index;
        }

        @Override
        public long getOpsCompleted() {
            return ring().opsCompleted();
        }

        @Override
        public long getBytesTransferred() {
            return ring().bytesTransferred();
        }

        @Override
        public int getInFlight() {
            return ring().inUse();
        }

        @Override
        public int getInFlightLimit() {
            return ring().limit();
        }

        @Override
        public int getWaiting() {
            return ring().waiting();
        }

        @Override
        public int getBatchThreshold() {
            return ring().controller().batchThreshold();
        }

        @Override
        public double getP99LatencyMillis() {
            return Math.max(0, ring().controller().p99LatencyNanos()) / 1e6;
        }

        @Override
        public double getTargetP99LatencyMillis() {
            return ring().controller().targetP99Nanos() / 1e6;
        }

        @Override
        public double getThroughputBytesPerSecond() {
            return ring().controller().throughputBytesPerSecond();
        }

        @Override
        public String getPhase() {
            return ring().controller().phase().name();
        }

        @Override
        public int getPhaseCode() {
            return ring().controller().phase().code();
        }

        @Override
        public int getQueueDepth() {
            return ring().queueDepth();
        }

        @Override
        public LatencyPercentiles getLatencyPercentiles() {
            return percentiles(List.of(engine.histogram(index)));
        }
    }
}
