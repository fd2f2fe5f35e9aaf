package io.auraio.cli;

import io.auraio.Options;
import io.auraio.RingSelect;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code auraio bench}: fio-like side-by-side benchmark of AuraFile and FileChannel on virtual threads. */
@Command(name = "bench", sortOptions = false, usageHelpAutoWidth = true,
        description = {"Runs a workload from virtual threads through AuraFile and/or FileChannel and reports IOPS, "
                + "bandwidth, latency, CPU and heap allocation per operation, OS threads and the AIMD trajectory.",
                "With no options: 4 KiB random reads of a 256 MiB temp file, 64 virtual threads, O_DIRECT when the "
                        + "file system supports it, both engines alternated for 2 rounds of 5 s."})
final class BenchCommand implements Callable<Integer> {
    /** Each worker keeps a ~10 KB latency histogram that the status line merges four times a second. */
    static final int MAX_THREADS = 16384;
    /** The longest --runtime and --ramp: a year (1e300 s overflowed the run's deadline in nanoseconds). */
    static final double MAX_SECONDS = 365 * 24 * 3600.0;
    /** The longest --tick, in ms: an hour (Infinity was taken, and measured nothing). */
    static final double MAX_TICK_MILLIS = 3600e3;

    @Option(names = "--rw", paramLabel = "PATTERN", description = "read|write|randread|randwrite|randrw (default: ${DEFAULT-VALUE})")
    Workload rw = Workload.RANDREAD;

    @Option(names = "--bs", paramLabel = "SIZE", converter = Sizes.class, description = "bytes per I/O, k/m/g suffixes (default: 4k)")
    long bs = 4096;

    @Option(names = "--size", paramLabel = "SIZE", converter = Sizes.class,
            description = "bytes of the file to cover (default: 256m for the temp file, the whole --file otherwise)")
    Long size;

    @Option(names = "--file", paramLabel = "PATH", description = "existing file to use (default: a temp file it creates, fills and deletes)")
    Path file;

    @Option(names = "--directory", paramLabel = "DIR", description = "where the temp file goes (default: java.io.tmpdir)")
    Path directory;

    @Option(names = "--threads", paramLabel = "N", description = "virtual threads doing I/O (default: ${DEFAULT-VALUE})")
    int threads = 64;

    @Option(names = "--runtime", paramLabel = "TIME", converter = Durations.class, description = "measured time per run: 5, 5s, 500ms, 1m (default: 5s)")
    double runtime = 5;

    @Option(names = "--ramp", paramLabel = "TIME", converter = Durations.class, description = "unmeasured warm-up per run (default: 1s)")
    double ramp = 1;

    @Option(names = "--rounds", paramLabel = "N", description = "rounds; each runs every chosen engine once (default: ${DEFAULT-VALUE})")
    int rounds = 2;

    @Option(names = "--direct", description = "O_DIRECT (default: O_DIRECT if the file system supports it)")
    boolean direct;

    @Option(names = "--buffered", description = "buffered I/O through the page cache")
    boolean buffered;

    @Option(names = "--fsync", paramLabel = "N", description = "fsync after every N writes per thread (default: 0, never)")
    int fsync;

    @Option(names = "--engine", paramLabel = "ENGINE", description = "aura|filechannel|both; both alternates them and prints the ratio (default: both)")
    EngineChoice engine = EngineChoice.BOTH;

    @Option(names = "--ring-select", paramLabel = "MODE", description = "adaptive|cpu_local|round_robin (default: the library's)")
    RingSelect ringSelect;

    @Option(names = "--queue-depth", paramLabel = "N", description = "io_uring queue depth per ring")
    Integer queueDepth;

    @Option(names = "--rings", paramLabel = "N", description = "number of rings (default: one per core)")
    Integer rings;

    @Option(names = "--in-flight", paramLabel = "N", description = "initial in-flight limit per ring (fixed with --no-adaptive)")
    Integer inFlight;

    @Option(names = "--target-p99", paramLabel = "MS", description = "P99 latency target for the AIMD controller, in ms (default: automatic)")
    Double targetP99;

    @Option(names = "--no-adaptive", description = "turn the AIMD controller off")
    boolean noAdaptive;

    @Option(names = "--liveness", description = "also measure how late a periodic virtual thread runs while the workers do I/O")
    boolean liveness;

    @Option(names = "--tick", paramLabel = "MS", description = "period of the --liveness virtual thread in ms (default: ${DEFAULT-VALUE})")
    double tickMillis = 1;

    @Option(names = "--json", paramLabel = "FILE", description = "write the results as JSON (schema auraio-bench/1); '-' for stdout (the text report then goes to stderr)")
    String json;

    @Option(names = "--plot", paramLabel = "FILE.svg", description = "draw throughput, p99 and in-flight limit over time as SVG")
    Path plot;

    @Option(names = "--jfr", paramLabel = "FILE.jfr", description = "record the run with Flight Recorder: the JDK's "
            + "default settings plus every io.auraio event (see docs/observability.md)")
    Path jfr;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help")
    boolean help;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;

    BenchCommand(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        validate();
        Options options = options();
        boolean jsonToStdout = "-".equals(json);
        PrintStream text = jsonToStdout ? err : out;
        checkOutput("--json", jsonToStdout || json == null ? null : Path.of(json));
        checkOutput("--plot", plot);
        checkOutput("--jfr", jfr);

        try (BenchFile benchFile = file != null ? BenchFile.existing(file, rw.writes())
                : BenchFile.temporary(directory != null ? directory : Path.of(System.getProperty("java.io.tmpdir")))) {
            boolean useDirect = !buffered;
            String note = null;
            if (direct && bs % 512 != 0) {
                throw new UsageException("--bs " + bs + ": O_DIRECT needs a multiple of 512 (or use --buffered)");
            }
            // An unaligned --bs fails any O_DIRECT read: the probe then asks the file system alone,
            // and the check below names the block size (it said "no O_DIRECT support" before).
            if (useDirect && !benchFile.supportsDirect(bs % 512 == 0 ? bs : 4096)) {
                if (direct) {
                    throw new UsageException("--direct: " + benchFile.path() + " is on a file system without O_DIRECT "
                            + "support (use --buffered)");
                }
                useDirect = false;
                note = "the file system of " + benchFile.path() + " does not support O_DIRECT: running buffered";
            }
            if (useDirect && bs % 512 != 0) {
                throw new UsageException("--bs " + bs + ": O_DIRECT needs a multiple of 512 (or use --buffered)");
            }
            long covered;
            if (benchFile.temporary()) {
                covered = size != null ? size : 256L << 20;
                if (covered < bs) {
                    throw new UsageException("--size " + covered + " is smaller than --bs " + bs);
                }
                benchFile.checkSpace(covered, String.valueOf(covered));
                covered -= covered % bs;
                text.printf("filling %s with %s of random data...%n", benchFile.path(), Sizes.format(covered));
                try {
                    benchFile.fill(covered);
                } catch (IOException e) {
                    // The space checked above went meanwhile (another writer took it), or the
                    // device failed: a failure of the run, not of the options. Returning closes
                    // (deletes) the temp file.
                    err.println("auraio bench: " + benchFile.path() + ": cannot fill the bench file: "
                            + Problems.reason(e));
                    return Auraio.FAILURE;
                }
            } else {
                long fileSize = benchFile.size();
                covered = size != null ? Math.min(size, fileSize) : fileSize;
                covered -= covered % bs;
                if (covered < bs) {
                    throw new UsageException("--file " + benchFile.path() + ": " + fileSize + " bytes, less than one --bs block");
                }
            }
            BenchConfig config = new BenchConfig(rw, bs, covered, benchFile.path(), benchFile.temporary(), useDirect,
                    note, threads, runtime, ramp, rounds, fsync, engine, options, liveness, tickMillis);
            List<RunResult> results;
            BenchRecording recording = BenchRecording.start(jfr);
            try {
                results = run(config, text);
            } catch (StatusLine.Broken e) {
                return Auraio.writeError("bench", text, err);
            } finally {
                recording.close();
            }
            if (json != null) {
                String doc = Json.write(Report.json(config, results));
                if (jsonToStdout) {
                    out.print(doc);
                    out.flush();
                } else {
                    Files.writeString(Path.of(json), doc, StandardCharsets.UTF_8);
                }
            }
            if (plot != null) {
                Files.writeString(plot, SvgPlot.render(config.rw().label() + " bs=" + Sizes.format(bs) + " threads="
                        + threads + (useDirect ? " O_DIRECT" : " buffered"), results), StandardCharsets.UTF_8);
            }
        }
        if (out.checkError()) {
            // A PrintStream keeps write errors to itself: the report (or --json -) went nowhere.
            return Auraio.writeError("bench", out, err);
        }
        return 0;
    }

    private List<RunResult> run(BenchConfig config, PrintStream text) throws IOException, InterruptedException {
        Report.header(text, config);
        // Started here, outside every measured run: each engine registers its MXBeans a second
        // after it starts, inside the run's first measured second (the ramp is 1 s), and the first
        // registration of a JVM starts the platform MBean server (~4 MB of allocation and a burst
        // of class loading, which was 73 of the 128 B/op and part of the CPU/op of a 4 s run of
        // one O_DIRECT reader). Later engines' registrations are a few objects each.
        ManagementFactory.getPlatformMBeanServer();
        StatusLine status = new StatusLine(text, terminal);
        List<RunResult> results = new ArrayList<>();
        for (int round = 1; round <= config.rounds(); round++) {
            // A-B, B-A, A-B...: whatever drifts during the run (device, page cache, JIT) favours neither engine.
            List<String> order = new ArrayList<>(config.engine().engines());
            if (round % 2 == 0) {
                Collections.reverse(order);
            }
            for (String name : order) {
                RunResult r = new BenchRun(config, name, round, status).execute();
                Report.run(text, r);
                results.add(r);
            }
        }
        Report.summary(text, results);
        text.flush();
        return results;
    }

    private void validate() {
        if (bs <= 0) {
            throw new UsageException("--bs must be positive (was " + bs + ")");
        }
        if (bs > Integer.MAX_VALUE) {
            throw new UsageException("--bs must be below 2g (was " + bs + ")");
        }
        if (size != null && size <= 0) {
            throw new UsageException("--size must be positive (was " + size + ")");
        }
        if (threads <= 0 || threads > MAX_THREADS) {
            throw new UsageException("--threads must be 1 to " + MAX_THREADS + " (was " + threads + ")");
        }
        if (runtime <= 0) {
            throw new UsageException("--runtime must be positive (was " + runtime + ")");
        }
        if (runtime < 1e-3) {
            // Shorter, the run ended before its measured window began ("failed: IllegalStateException").
            throw new UsageException("--runtime must be at least 1ms (was " + runtime + ")");
        }
        if (runtime > MAX_SECONDS) {
            throw new UsageException("--runtime must be at most 365 days (was " + runtime + ")");
        }
        if (ramp < 0) {
            throw new UsageException("--ramp must not be negative (was " + ramp + ")");
        }
        if (ramp > MAX_SECONDS) {
            throw new UsageException("--ramp must be at most 365 days (was " + ramp + ")");
        }
        if (rounds <= 0) {
            throw new UsageException("--rounds must be positive (was " + rounds + ")");
        }
        if (fsync < 0) {
            throw new UsageException("--fsync must not be negative (was " + fsync + ")");
        }
        if (!(tickMillis > 0)) {
            throw new UsageException("--tick must be positive (was " + tickMillis + ")");
        }
        if (tickMillis > MAX_TICK_MILLIS) {
            throw new UsageException("--tick must be at most " + (long) MAX_TICK_MILLIS + " ms (was " + tickMillis + ")");
        }
        if (direct && buffered) {
            throw new UsageException("--direct and --buffered exclude each other");
        }
        if (file != null && directory != null) {
            throw new UsageException("--directory is for the temp file; it makes no sense with --file");
        }
        // An empty name is no file, as for the tools the others mirror: Path.of("") would be the
        // current directory (a temp file created there, or "is a directory").
        noEmptyName("--file", file);
        noEmptyName("--directory", directory);
        noEmptyName("--json", json == null ? null : Path.of(json));
        noEmptyName("--plot", plot);
        noEmptyName("--jfr", jfr);
    }

    private static void noEmptyName(String option, Path path) {
        if (path != null && path.toString().isEmpty()) {
            throw new UsageException(option + " '': No such file or directory");
        }
    }

    private Options options() {
        Options.Builder b = Options.builder();
        // Each value checked by the builder, its message prefixed with the option that gave it
        // (the builder names its own parameters: "queueDepth must be ...").
        option("--queue-depth", queueDepth, () -> b.queueDepth(queueDepth));
        option("--rings", rings, () -> b.ringCount(rings));
        option("--in-flight", inFlight, () -> b.initialInFlight(inFlight));
        option("--target-p99", targetP99, () -> b.maxP99LatencyMs(targetP99));
        if (ringSelect != null) {
            b.ringSelect(ringSelect);
        }
        b.disableAdaptive(noAdaptive);
        try {
            return b.build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static void option(String name, Object value, Runnable set) {
        if (value == null) {
            return;
        }
        try {
            set.run();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new UsageException(name + " " + value + ": " + e.getMessage());
        }
    }

    private static void checkOutput(String option, Path path) {
        if (path == null) {
            return;
        }
        if (Files.isDirectory(path)) {
            throw new UsageException(option + " " + path + ": is a directory");
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new UsageException(option + " " + path + ": no such directory " + parent);
        }
        if (!Files.isWritable(parent) || (Files.exists(path) && !Files.isWritable(path))) {
            throw new UsageException(option + " " + path + ": not writable");
        }
    }
}
