package io.auraio.cli;

import io.auraio.Engine;
import io.auraio.RingStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * One measured run: {@code threads} virtual threads do the workload through one engine for the ramp
 * time plus the runtime; the calling (platform) thread samples counters, the rings' AIMD state and
 * the OS thread count, prints the status line, and builds the {@link RunResult}.
 */
final class BenchRun {
    static final String AURA = "aura";
    static final String FILECHANNEL = "filechannel";

    /** How often the rings' AIMD state is sampled: often enough to see BASELINE (10 ticks of 10 ms) pass. */
    private static final long AIMD_SAMPLE_NANOS = 20_000_000L;
    /** Spacing of timeline points (JSON and plot). */
    private static final long TIMELINE_NANOS = 250_000_000L;

    private static final int RAMP = 0;
    private static final int MEASURE = 1;
    private static final int STOP = 2;

    private final BenchConfig config;
    private final String engineName;
    private final int round;
    private final StatusLine status;
    private volatile int state = RAMP;

    BenchRun(BenchConfig config, String engineName, int round, StatusLine status) {
        this.config = config;
        this.engineName = engineName;
        this.round = round;
        this.status = status;
    }

    /** Per-thread counters: written by one worker, read by the sampler. */
    private static final class Worker {
        final LogHistogram latency = new LogHistogram();
        final AtomicLong ops = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        long reads;
        long writes;
        long fsyncs;
    }

    RunResult execute() throws IOException, InterruptedException {
        Engine engine = engineName.equals(AURA) ? Engine.create(config.options()) : null;
        try (engine; IoTarget target = engine != null
                ? IoTarget.aura(engine, config.file(), config.direct(), config.rw().writes())
                : IoTarget.fileChannel(config.file(), config.direct(), config.rw().writes())) {
            return measure(engine, target);
        }
    }

    private RunResult measure(Engine engine, IoTarget target) throws InterruptedException {
        int threads = config.threads();
        Worker[] workers = new Worker[threads];
        Thread[] vthreads = new Thread[threads];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long blocks = config.size() / config.bs();
        for (int t = 0; t < threads; t++) {
            Worker w = workers[t] = new Worker();
            long firstBlock = blocks * t / threads;
            vthreads[t] = Thread.ofVirtual().name("bench-" + t).unstarted(() -> {
                // The worker's own confined arena: AuraFile hands its memory to the kernel as it
                // is, where a shared arena's is copied (another thread could free it meanwhile).
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment buf = arena.allocate(config.bs(), 4096);
                    if (config.rw().writes()) {
                        byte[] random = new byte[(int) config.bs()];
                        ThreadLocalRandom.current().nextBytes(random);
                        MemorySegment.copy(random, 0, buf, ValueLayout.JAVA_BYTE, 0, random.length);
                    }
                    work(target, w, buf, blocks, firstBlock);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    state = STOP;
                }
            });
        }

        List<RunResult.AimdEvent> aimd = new ArrayList<>();
        List<RunResult.TimelinePoint> timeline = new ArrayList<>();
        String[] lastPhase = engine == null ? new String[0] : new String[engine.ringCount()];
        int startThreads = ProcessCpu.threads();
        int peakThreads = startThreads;

        long start = System.nanoTime();
        for (Thread v : vthreads) {
            v.start();
        }
        long measureStart = start + (long) (config.ramp() * 1e9);
        long end = measureStart + (long) (config.runtime() * 1e9);
        double cpuBefore = Double.NaN;
        long allocBefore = -1;
        Liveness liveness = null;
        Interval timelineInterval = null;
        Interval statusInterval = null;
        long nextAimd = start;
        long nextTimeline = measureStart + TIMELINE_NANOS;
        long nextStatus = start + status.periodNanos();
        long now;
        boolean broken = false;
        while ((now = System.nanoTime()) < end && state != STOP && !(broken = status.broken())) {
            if (state == RAMP && now >= measureStart) {
                cpuBefore = ProcessCpu.seconds();
                allocBefore = Allocation.totalBytes();
                measureStart = now;
                end = now + (long) (config.runtime() * 1e9);
                nextTimeline = now + TIMELINE_NANOS;
                timelineInterval = new Interval(now);
                statusInterval = new Interval(now);
                nextStatus = now + status.periodNanos();
                if (config.liveness()) {
                    liveness = new Liveness(config.tickMillis());
                    liveness.start();
                }
                state = MEASURE;
            }
            if (engine != null && now >= nextAimd) {
                sampleAimd(engine, lastPhase, aimd, (now - start) / 1e9);
                nextAimd += AIMD_SAMPLE_NANOS;
            }
            if (timelineInterval != null && now >= nextTimeline) {
                peakThreads = Math.max(peakThreads, ProcessCpu.threads());
                timeline.add(point(engine, workers, timelineInterval, now, (now - measureStart) / 1e9));
                nextTimeline += TIMELINE_NANOS;
            }
            if (now >= nextStatus) {
                peakThreads = Math.max(peakThreads, ProcessCpu.threads());
                status.show(statusText(engine, workers, statusInterval, now, start, measureStart));
                nextStatus += status.periodNanos();
            }
            long wake = Math.min(Math.min(nextAimd, nextTimeline), Math.min(nextStatus, end));
            if (engine == null) {
                wake = Math.min(Math.min(nextTimeline, nextStatus), end);
            }
            long sleep = wake - System.nanoTime();
            if (sleep > 0) {
                LockSupport.parkNanos(sleep);
            }
        }
        long stop = System.nanoTime();
        boolean measured = state == MEASURE;
        if (measured && stop - (nextTimeline - TIMELINE_NANOS) >= TIMELINE_NANOS / 5) {
            // The last, partial interval: without it the timeline would end up to 250 ms early.
            timeline.add(point(engine, workers, timelineInterval, stop, (stop - measureStart) / 1e9));
        }
        state = STOP;
        if (liveness != null) {
            liveness.stop();
        }
        peakThreads = Math.max(peakThreads, ProcessCpu.threads());
        for (Thread v : vthreads) {
            v.join();
        }
        status.clear();
        if (failure.get() != null) {
            Throwable e = failure.get();
            throw e instanceof UncheckedIOException u ? u : new UncheckedIOException(
                    e instanceof IOException io ? io : new IOException(e.toString(), e));
        }
        if (broken) {
            throw new StatusLine.Broken();
        }
        if (!measured) {
            throw new IllegalStateException("the run stopped before its measured window began");
        }
        double cpu = ProcessCpu.seconds() - cpuBefore;
        long allocAfter = Allocation.totalBytes();
        long alloc = allocBefore < 0 || allocAfter < 0 ? -1 : allocAfter - allocBefore;
        if (engine != null) {
            sampleAimd(engine, lastPhase, aimd, (stop - start) / 1e9);
        }

        long[] buckets = new long[LogHistogram.BUCKETS];
        long ops = 0, bytes = 0, reads = 0, writes = 0, fsyncs = 0, max = 0;
        long[] opsPerThread = new long[workers.length];
        for (int t = 0; t < workers.length; t++) {
            Worker w = workers[t];
            w.latency.addTo(buckets);
            max = Math.max(max, w.latency.max());
            opsPerThread[t] = w.ops.get();
            ops += opsPerThread[t];
            bytes += w.bytes.get();
            reads += w.reads;
            writes += w.writes;
            fsyncs += w.fsyncs;
        }
        return new RunResult(engineName, round, ops, reads, writes, fsyncs, bytes, (stop - measureStart) / 1e9, cpu,
                alloc, startThreads, peakThreads, LogHistogram.Summary.of(buckets, max), buckets, List.copyOf(timeline),
                List.copyOf(aimd), liveness == null ? null : liveness.result((stop - measureStart) / 1e9),
                RunResult.OpsPerThread.of(opsPerThread));
    }

    private void work(IoTarget target, Worker w, MemorySegment buf, long blocks, long firstBlock) throws IOException {
        ByteBuffer view = buf.asByteBuffer();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        Workload rw = config.rw();
        long bs = config.bs();
        int fsyncEvery = config.fsync();
        long block = firstBlock;
        int sinceSync = 0;
        int s;
        while ((s = state) != STOP) {
            long position;
            if (rw.random()) {
                position = random.nextLong(blocks) * bs;
            } else {
                position = block * bs;
                block = block + 1 == blocks ? 0 : block + 1;
            }
            boolean write = rw.writes() && (!rw.reads() || random.nextBoolean());
            long t0 = System.nanoTime();
            int n = write ? target.write(buf, view, position) : target.read(buf, view, position);
            long t1 = System.nanoTime();
            if (s == MEASURE) {
                w.latency.record(t1 - t0);
                w.ops.setOpaque(w.ops.getPlain() + 1);
                w.bytes.setOpaque(w.bytes.getPlain() + Math.max(0, n));
                if (write) {
                    w.writes++;
                } else {
                    w.reads++;
                }
            }
            if (write && fsyncEvery > 0 && ++sinceSync == fsyncEvery) {
                sinceSync = 0;
                target.fsync();
                if (s == MEASURE) {
                    w.fsyncs++;
                }
            }
        }
    }

    private static void sampleAimd(Engine engine, String[] lastPhase, List<RunResult.AimdEvent> events, double seconds) {
        for (int i = 0; i < lastPhase.length; i++) {
            RingStats rs = engine.ringStats(i);
            String phase = rs.aimdPhaseName();
            if (!phase.equals(lastPhase[i])) {
                events.add(new RunResult.AimdEvent(seconds, i, phase, rs.inFlightLimit()));
                lastPhase[i] = phase;
            }
        }
    }

    private static long[] merged(Worker[] workers) {
        long[] buckets = new long[LogHistogram.BUCKETS];
        for (Worker w : workers) {
            w.latency.addTo(buckets);
        }
        return buckets;
    }

    private static long sum(Worker[] workers, boolean bytes) {
        long total = 0;
        for (Worker w : workers) {
            total += (bytes ? w.bytes : w.ops).getOpaque();
        }
        return total;
    }

    private static RunResult.TimelinePoint point(Engine engine, Worker[] workers, Interval interval, long now,
                                                 double seconds) {
        Interval.Rates r = interval.advance(merged(workers), sum(workers, false), sum(workers, true), now);
        List<Integer> limits = new ArrayList<>();
        List<String> phases = new ArrayList<>();
        int total = -1;
        if (engine != null) {
            total = 0;
            for (int i = 0; i < engine.ringCount(); i++) {
                RingStats rs = engine.ringStats(i);
                limits.add(rs.inFlightLimit());
                phases.add(rs.aimdPhaseName());
                total += rs.inFlightLimit();
            }
        }
        return new RunResult.TimelinePoint(seconds, r.iops(), r.bytesPerSecond(), r.p99Nanos(), total,
                List.copyOf(limits), List.copyOf(phases));
    }

    private String statusText(Engine engine, Worker[] workers, Interval interval, long now, long start,
                              long measureStart) {
        StringBuilder line = new StringBuilder();
        line.append(String.format(Locale.ROOT, "%-11s r%d ", engineName, round));
        if (interval == null) {
            line.append(String.format(Locale.ROOT, "ramp %4.1f/%.1fs", (now - start) / 1e9, config.ramp()));
        } else {
            Interval.Rates r = interval.advance(merged(workers), sum(workers, false), sum(workers, true), now);
            line.append(String.format(Locale.ROOT, "%5.1f/%.1fs %9s IOPS %8.1f MB/s p50 %s p99 %s",
                    (now - measureStart) / 1e9, config.runtime(), Report.count(r.iops()), r.bytesPerSecond() / 1e6,
                    Report.micros(r.p50Nanos()), Report.micros(r.p99Nanos())));
        }
        if (engine != null) {
            for (int i = 0; i < engine.ringCount(); i++) {
                RingStats rs = engine.ringStats(i);
                line.append(String.format(Locale.ROOT, " | ring%d lim %d %s", i, rs.inFlightLimit(),
                        rs.aimdPhaseName()));
            }
        }
        return line.toString();
    }

    /** Allocation counter for all threads (carriers included, so virtual threads' allocations count too). */
    static final class Allocation {
        private Allocation() {}

        static long totalBytes() {
            if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx
                    && mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled()) {
                return mx.getTotalThreadAllocatedBytes();
            }
            return -1;
        }
    }

    /**
     * A virtual thread that wants to run every {@code period}; records how late it actually ran. On a
     * scheduler whose carriers are all held by blocked file reads it runs late or not at all.
     */
    private final class Liveness {
        private final long periodNanos;
        private final LogHistogram lateness = new LogHistogram();
        private final AtomicLong ticks = new AtomicLong();
        private final double periodMillis;
        private Thread thread;
        private volatile boolean running = true;

        Liveness(double periodMillis) {
            this.periodMillis = periodMillis;
            this.periodNanos = (long) (periodMillis * 1e6);
        }

        void start() {
            thread = Thread.ofVirtual().name("bench-ticker").start(() -> {
                long due = System.nanoTime() + periodNanos;
                while (running) {
                    long now = System.nanoTime();
                    if (now < due) {
                        LockSupport.parkNanos(due - now);
                        continue;
                    }
                    lateness.record(now - due);
                    ticks.setOpaque(ticks.getPlain() + 1);
                    // Missed ticks are not made up: once behind, the next one is due a period after this one ran.
                    due += periodNanos;
                    if (due <= now) {
                        due = now + periodNanos;
                    }
                }
            });
        }

        void stop() throws InterruptedException {
            running = false;
            if (thread != null) {
                thread.join();
            }
        }

        RunResult.Liveness result(double seconds) {
            long[] buckets = new long[LogHistogram.BUCKETS];
            lateness.addTo(buckets);
            return new RunResult.Liveness(periodMillis, ticks.get(), (long) (seconds * 1e3 / periodMillis),
                    LogHistogram.Summary.of(buckets, lateness.max()));
        }
    }
}
