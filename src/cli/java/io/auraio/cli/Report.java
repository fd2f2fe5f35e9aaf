package io.auraio.cli;

import io.auraio.AuraIO;
import io.auraio.Options;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The human-readable report and the JSON document ({@code auraio-bench/1}, see docs/benchmarks.md). */
final class Report {
    static final String SCHEMA = "auraio-bench/1";
    private static final int HISTOGRAM_WIDTH = 40;
    /** Phase changes per ring in the text report; a long run can have hundreds. */
    private static final int AIMD_EVENTS_SHOWN = 16;

    private Report() {}

    static String count(double value) {
        return String.format(Locale.ROOT, "%,.0f", value);
    }

    /** {@return nanoseconds as microseconds or milliseconds, whichever reads better} */
    static String micros(long nanos) {
        return nanos >= 10_000_000 ? String.format(Locale.ROOT, "%.1fms", nanos / 1e6)
                : String.format(Locale.ROOT, "%.0fus", nanos / 1e3);
    }

    static void header(PrintStream out, BenchConfig c) {
        out.printf(Locale.ROOT, "%s bs=%s size=%s %s threads=%d (virtual) file=%s%s%n", c.rw().label(),
                Sizes.format(c.bs()), Sizes.format(c.size()), c.direct() ? "O_DIRECT" : "buffered", c.threads(),
                c.file(), c.tempFile() ? " (temp)" : "");
        if (c.directNote() != null) {
            out.println("note: " + c.directNote());
        }
        int runs = c.rounds() * c.engine().engines().size();
        out.printf(Locale.ROOT, "engine %s, %d round(s): %d run(s) of %.1fs (+%.1fs ramp)%s%s%n", c.engine().label(),
                c.rounds(), runs, c.runtime(), c.ramp(), c.fsync() > 0 ? ", fsync every " + c.fsync() + " writes" : "",
                c.liveness() ? String.format(Locale.ROOT, ", liveness tick %.1fms", c.tickMillis()) : "");
        if (c.engine() != EngineChoice.FILECHANNEL) {
            Options o = c.options();
            out.printf(Locale.ROOT, "aura: %s rings, queue depth %d, %s, in-flight start %d, target p99 %s, ring select %s%n",
                    o.ringCount() == 0 ? "auto (one per core)" : String.valueOf(o.ringCount()), o.queueDepth(), o.disableAdaptive() ? "adaptive off" : "adaptive on",
                    o.initialInFlight(), o.maxP99LatencyMs() > 0 ? o.maxP99LatencyMs() + " ms" : "auto",
                    o.ringSelect().name().toLowerCase(Locale.ROOT));
            // Which library makes the io_uring system calls: liburing where it loads, else libc.
            out.println("aura: io_uring binding " + (AuraIO.binding().equals("liburing") ? "liburing (liburing.so.2)"
                    : "syscall (libc's syscall(2))") + ", -D" + AuraIO.BINDING_PROPERTY + "="
                    + System.getProperty(AuraIO.BINDING_PROPERTY, "auto"));
        }
    }

    static void run(PrintStream out, RunResult r) {
        LogHistogram.Summary l = r.latency();
        out.printf(Locale.ROOT, "%s round %d: %s IOPS, %.1f MB/s, %s ops (%s reads, %s writes%s) in %.2fs%n", r.engine(),
                r.round(), count(r.iops()), r.bytesPerSecond() / 1e6, count(r.ops()), count(r.reads()),
                count(r.writes()), r.fsyncs() > 0 ? ", " + count(r.fsyncs()) + " fsyncs" : "", r.seconds());
        out.printf(Locale.ROOT, "  latency: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s%n", micros(l.p50()),
                micros(l.p90()), micros(l.p99()), micros(l.p999()), micros(l.max()), micros((long) l.mean()));
        out.printf(Locale.ROOT, "  CPU/op %.2f us  OS threads peak %d (%d at start)  heap alloc %s B/op%n",
                r.cpuMicrosPerOp(), r.osThreadsPeak(), r.osThreadsAtStart(), Double.isNaN(r.allocBytesPerOp()) ? "n/a"
                        : String.format(Locale.ROOT, "%.1f", r.allocBytesPerOp()));
        RunResult.OpsPerThread shares = r.perThread();
        out.printf(Locale.ROOT, "  ops per thread: min %s  median %s  max %s%n", count(shares.min()),
                count(shares.median()), count(shares.max()));
        if (r.liveness() != null) {
            RunResult.Liveness v = r.liveness();
            out.printf(Locale.ROOT, "  liveness: %.1fms tick ran %s of %s times, late p50 %s p99 %s max %s%n",
                    v.periodMillis(), count(v.ticks()), count(v.expected()), micros(v.lateness().p50()),
                    micros(v.lateness().p99()), micros(v.lateness().max()));
        }
        if (!r.aimd().isEmpty()) {
            out.print("  AIMD (s since start, ramp included):");
            int ring = -1;
            List<RunResult.AimdEvent> byRing = r.aimd().stream()
                    .sorted(Comparator.comparingInt(RunResult.AimdEvent::ring)).toList();
            int shown = 0;
            int hidden = 0;
            for (RunResult.AimdEvent e : byRing) {
                if (e.ring() != ring) {
                    if (hidden > 0) {
                        out.printf(Locale.ROOT, " ... %d more (--json has them all)", hidden);
                    }
                    ring = e.ring();
                    shown = 0;
                    hidden = 0;
                    out.printf(Locale.ROOT, "%n    ring %d:", ring);
                }
                if (shown++ < AIMD_EVENTS_SHOWN) {
                    out.printf(Locale.ROOT, " %.2fs %s(%d)", e.seconds(), e.phase(), e.inFlightLimit());
                } else {
                    hidden++;
                }
            }
            if (hidden > 0) {
                out.printf(Locale.ROOT, " ... %d more (--json has them all)", hidden);
            }
            out.println();
        }
        histogram(out, r.buckets());
    }

    /** One row per power-of-two latency range in microseconds, with a bar scaled to the biggest row. */
    static void histogram(PrintStream out, long[] buckets) {
        long total = 0;
        long[] rows = new long[64];
        for (int i = 0; i < buckets.length; i++) {
            if (buckets[i] > 0) {
                long us = Math.max(1, LogHistogram.lowerBound(i) / 1000);
                rows[63 - Long.numberOfLeadingZeros(us)] += buckets[i];
                total += buckets[i];
            }
        }
        if (total == 0) {
            return;
        }
        int first = 0;
        int last = rows.length - 1;
        while (rows[first] == 0) {
            first++;
        }
        while (rows[last] == 0) {
            last--;
        }
        long biggest = 0;
        for (long row : rows) {
            biggest = Math.max(biggest, row);
        }
        out.println("  latency histogram (us):");
        for (int i = first; i <= last; i++) {
            int bar = (int) Math.round(HISTOGRAM_WIDTH * (double) rows[i] / biggest);
            out.printf(Locale.ROOT, "    %8d - %-8d |%-" + HISTOGRAM_WIDTH + "s %6.2f%%%n", i == 0 ? 0 : 1L << i,
                    (2L << i) - 1, "#".repeat(bar), 100.0 * rows[i] / total);
        }
    }

    /** Mean over rounds of one engine's runs. */
    record Mean(String engine, int runs, double iops, double bytesPerSecond, double cpuMicrosPerOp,
                double allocBytesPerOp, double p99Micros, int osThreadsPeak, int osThreadsAdded,
                Double livenessP99Micros) {
        static Mean of(String engine, List<RunResult> all) {
            List<RunResult> rs = all.stream().filter(r -> r.engine().equals(engine)).toList();
            if (rs.isEmpty()) {
                return null;
            }
            Double liveness = rs.getFirst().liveness() == null ? null
                    : rs.stream().mapToDouble(r -> r.liveness().lateness().p99() / 1e3).average().orElse(0);
            return new Mean(engine, rs.size(), rs.stream().mapToDouble(RunResult::iops).average().orElse(0),
                    rs.stream().mapToDouble(RunResult::bytesPerSecond).average().orElse(0),
                    rs.stream().mapToDouble(RunResult::cpuMicrosPerOp).average().orElse(0),
                    rs.stream().mapToDouble(RunResult::allocBytesPerOp).average().orElse(Double.NaN),
                    rs.stream().mapToDouble(r -> r.latency().p99() / 1e3).average().orElse(0),
                    rs.stream().mapToInt(RunResult::osThreadsPeak).max().orElse(0),
                    rs.stream().mapToInt(RunResult::osThreadsAdded).max().orElse(0), liveness);
        }
    }

    static void summary(PrintStream out, List<RunResult> results) {
        Mean aura = Mean.of(BenchRun.AURA, results);
        Mean channel = Mean.of(BenchRun.FILECHANNEL, results);
        out.println("summary (mean over rounds):");
        for (Mean m : new Mean[] {aura, channel}) {
            if (m != null) {
                out.printf(Locale.ROOT, "  %-11s %12s IOPS %9.1f MB/s  p99 %8.0f us  CPU/op %6.2f us  alloc %6.1f B/op  OS threads %d (+%d)%s%n",
                        m.engine(), count(m.iops()), m.bytesPerSecond() / 1e6, m.p99Micros(), m.cpuMicrosPerOp(),
                        m.allocBytesPerOp(), m.osThreadsPeak(), m.osThreadsAdded(), m.livenessP99Micros() == null ? ""
                                : String.format(Locale.ROOT, "  tick late p99 %.0f us", m.livenessP99Micros()));
            }
        }
        if (aura != null && channel != null) {
            out.printf(Locale.ROOT, "  ratio aura/filechannel: IOPS %.2f  CPU/op %.2f%n", aura.iops() / channel.iops(),
                    aura.cpuMicrosPerOp() / channel.cpuMicrosPerOp());
        }
    }

    static Map<String, Object> json(BenchConfig c, List<RunResult> results) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("schema", SCHEMA);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("rw", c.rw().label());
        config.put("bs", c.bs());
        config.put("size", c.size());
        config.put("file", c.file().toString());
        config.put("tempFile", c.tempFile());
        config.put("direct", c.direct());
        config.put("directNote", c.directNote());
        config.put("threads", c.threads());
        config.put("runtimeSeconds", c.runtime());
        config.put("rampSeconds", c.ramp());
        config.put("rounds", c.rounds());
        config.put("fsync", c.fsync());
        config.put("engine", c.engine().label());
        config.put("liveness", c.liveness());
        config.put("tickMillis", c.tickMillis());
        Options o = c.options();
        Map<String, Object> aura = new LinkedHashMap<>();
        aura.put("rings", o.ringCount());
        aura.put("queueDepth", o.queueDepth());
        aura.put("adaptive", !o.disableAdaptive());
        aura.put("initialInFlight", o.initialInFlight());
        aura.put("targetP99Ms", o.maxP99LatencyMs());
        aura.put("ringSelect", o.ringSelect().name().toLowerCase(Locale.ROOT));
        config.put("aura", aura);
        root.put("config", config);
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cpus", Runtime.getRuntime().availableProcessors());
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        machine.put("schedulerParallelism", System.getProperty("jdk.virtualThreadScheduler.parallelism"));
        root.put("machine", machine);
        List<Object> runs = new ArrayList<>();
        for (RunResult r : results) {
            runs.add(runJson(r));
        }
        root.put("runs", runs);
        Map<String, Object> summary = new LinkedHashMap<>();
        Mean am = Mean.of(BenchRun.AURA, results);
        Mean cm = Mean.of(BenchRun.FILECHANNEL, results);
        for (Mean m : new Mean[] {am, cm}) {
            if (m != null) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("runs", m.runs());
                s.put("iops", m.iops());
                s.put("bytesPerSecond", m.bytesPerSecond());
                s.put("p99Us", m.p99Micros());
                s.put("cpuUsPerOp", m.cpuMicrosPerOp());
                s.put("allocBytesPerOp", m.allocBytesPerOp());
                s.put("osThreadsPeak", m.osThreadsPeak());
                s.put("osThreadsAdded", m.osThreadsAdded());
                s.put("livenessLateP99Us", m.livenessP99Micros());
                summary.put(m.engine(), s);
            }
        }
        if (am != null && cm != null) {
            Map<String, Object> ratio = new LinkedHashMap<>();
            ratio.put("iops", am.iops() / cm.iops());
            ratio.put("cpuPerOp", am.cpuMicrosPerOp() / cm.cpuMicrosPerOp());
            summary.put("ratioAuraToFilechannel", ratio);
        }
        root.put("summary", summary);
        return root;
    }

    private static Map<String, Object> runJson(RunResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("engine", r.engine());
        m.put("round", r.round());
        m.put("ops", r.ops());
        m.put("reads", r.reads());
        m.put("writes", r.writes());
        m.put("fsyncs", r.fsyncs());
        m.put("bytes", r.bytes());
        m.put("seconds", r.seconds());
        m.put("iops", r.iops());
        m.put("bytesPerSecond", r.bytesPerSecond());
        m.put("latencyUs", latencyJson(r.latency()));
        m.put("cpuUsPerOp", r.cpuMicrosPerOp());
        m.put("allocBytesPerOp", r.allocBytesPerOp());
        m.put("osThreadsAtStart", r.osThreadsAtStart());
        m.put("osThreadsPeak", r.osThreadsPeak());
        Map<String, Object> shares = new LinkedHashMap<>();
        shares.put("min", r.perThread().min());
        shares.put("median", r.perThread().median());
        shares.put("max", r.perThread().max());
        m.put("opsPerThread", shares);
        List<Object> histogram = new ArrayList<>();
        for (int i = 0; i < r.buckets().length; i++) {
            if (r.buckets()[i] > 0) {
                histogram.add(List.of(LogHistogram.lowerBound(i), r.buckets()[i]));
            }
        }
        m.put("histogramNs", histogram);
        List<Object> timeline = new ArrayList<>();
        for (RunResult.TimelinePoint p : r.timeline()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("t", p.seconds());
            t.put("iops", p.iops());
            t.put("bytesPerSecond", p.bytesPerSecond());
            t.put("p99Us", p.p99Nanos() / 1e3);
            t.put("inFlightLimit", p.inFlightLimit() < 0 ? null : p.inFlightLimit());
            t.put("ringLimits", p.ringLimits());
            t.put("ringPhases", p.ringPhases());
            timeline.add(t);
        }
        m.put("timeline", timeline);
        List<Object> aimd = new ArrayList<>();
        for (RunResult.AimdEvent e : r.aimd()) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("t", e.seconds());
            a.put("ring", e.ring());
            a.put("phase", e.phase());
            a.put("inFlightLimit", e.inFlightLimit());
            aimd.add(a);
        }
        m.put("aimd", aimd);
        if (r.liveness() != null) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("periodMs", r.liveness().periodMillis());
            v.put("ticks", r.liveness().ticks());
            v.put("expectedTicks", r.liveness().expected());
            v.put("latenessUs", latencyJson(r.liveness().lateness()));
            m.put("liveness", v);
        } else {
            m.put("liveness", null);
        }
        return m;
    }

    private static Map<String, Object> latencyJson(LogHistogram.Summary l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", l.p50() / 1e3);
        m.put("p90", l.p90() / 1e3);
        m.put("p99", l.p99() / 1e3);
        m.put("p99_9", l.p999() / 1e3);
        m.put("max", l.max() / 1e3);
        m.put("mean", l.mean() / 1e3);
        return m;
    }
}
