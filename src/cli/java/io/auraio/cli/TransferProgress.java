package io.auraio.cli;

import io.auraio.AuraIO;
import io.auraio.Engine;
import io.auraio.RingStats;
import io.auraio.Stats;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Progress of {@code auraio cp} and {@code auraio hash} on stderr: on a terminal a bar rewritten in
 * place (bytes, rate, ETA, files); otherwise one plain line per second, so logs get a readable
 * record. The total is unknown (no percentage, no ETA) until the walk of the sources has finished.
 */
final class TransferProgress implements AutoCloseable {
    private static final int BAR = 24;

    private final StatusLine status;
    private final String verb;
    private final LongSupplier bytes;
    private final LongSupplier files;
    private final LongSupplier totalBytes;
    private final long startNanos = System.nanoTime();
    private final Thread ticker;
    private volatile boolean stopped;

    /**
     * @param totalBytes the bytes to transfer, or -1 while not known yet
     */
    TransferProgress(PrintStream err, boolean terminal, String verb, LongSupplier bytes, LongSupplier files,
                     LongSupplier totalBytes) {
        this.status = new StatusLine(err, terminal);
        this.verb = verb;
        this.bytes = bytes;
        this.files = files;
        this.totalBytes = totalBytes;
        long period = status.periodNanos();
        this.ticker = Thread.ofVirtual().name("auraio-progress").start(() -> {
            while (!stopped) {
                try {
                    TimeUnit.NANOSECONDS.sleep(period);
                } catch (InterruptedException e) {
                    return;
                }
                synchronized (this) {
                    if (!stopped) {
                        status.show(line(terminal));
                    }
                }
            }
        });
    }

    String line(boolean terminal) {
        long done = bytes.getAsLong();
        long total = totalBytes.getAsLong();
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        double rate = done / seconds;
        String eta = total < 0 || rate <= 0 ? "?" : clock((total - Math.min(done, total)) / rate);
        String percent = total <= 0 ? "" : String.format(Locale.ROOT, "%3d%%", (int) (100.0 * Math.min(done, total) / total));
        String totalText = total < 0 ? "?" : bytes(total);
        if (terminal) {
            int filled = total <= 0 ? 0 : (int) (BAR * Math.min(done, total) / total);
            String bar = "[" + "#".repeat(filled) + ".".repeat(BAR - filled) + "]";
            return String.format(Locale.ROOT, "%s %s  %s / %s  %s/s  ETA %s  %d files", bar, percent, bytes(done),
                    totalText, bytes((long) rate), eta, files.getAsLong());
        }
        return String.format(Locale.ROOT, "%s %s of %s%s, %s/s, ETA %s, %d files", verb, bytes(done), totalText,
                percent.isEmpty() ? "" : " (" + percent.strip() + ")", bytes((long) rate), eta, files.getAsLong());
    }

    /**
     * {@return whether the progress output's reader is gone ({@code 2>&1 | head}): the command
     * then stops, as a C tool killed by SIGPIPE at its next progress line would}
     */
    boolean brokenPipe() {
        return status.brokenPipe();
    }

    /** Prints a message of its own (a failed file) on a line of its own: the live line is wiped first and redrawn at the next tick. */
    synchronized void interject(Runnable print) {
        status.clear();
        print.run();
    }

    /** Stops the ticker and removes the live line. */
    @Override
    public void close() {
        stopped = true;
        ticker.interrupt();
        try {
            ticker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            status.clear();
        }
    }

    /** {@return the closing line: what moved, how fast, and what the engine's rings did} */
    static String summary(String verb, long files, long bytes, long nanos) {
        double seconds = Math.max(1e-9, nanos / 1e9);
        return String.format(Locale.ROOT, "%s %d files, %s in %.2f s: %s/s; %s", verb, files, bytes(bytes), seconds,
                bytes((long) (bytes / seconds)), engineState());
    }

    /** {@return the tools' engine's rings and their AIMD state, or why the JDK's file I/O served instead} */
    static String engineState() {
        Engine engine;
        try {
            engine = ToolEngine.get();
        } catch (java.io.IOException e) {
            return "engine unavailable: " + e.getMessage();
        }
        if (engine == null) {
            return "backend JDK FileChannel" + AuraIO.fallbackCause().map(c -> " (" + c + ")").orElse("");
        }
        Stats s = engine.stats();
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "io_uring, %d rings, %d requests, in-flight limit %d in all, p99 %.2f ms", engine.ringCount(),
                s.opsCompleted(), s.optimalInFlight(), s.p99LatencyMs()));
        b.append(" [");
        for (int i = 0; i < engine.ringCount(); i++) {
            RingStats r = engine.ringStats(i);
            b.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "ring %d: %s limit %d", i,
                    r.aimdPhaseName(), r.inFlightLimit()));
        }
        return b.append(']').toString();
    }

    /** {@return a byte count in binary units, e.g. "1.21 GiB"} */
    static String bytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }

    private static String clock(double seconds) {
        long s = (long) Math.ceil(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
