package io.auraio.cli;

import java.io.PrintStream;

/**
 * Progress while a run goes: on a terminal one line rewritten in place ({@code \r}) a few times a
 * second; otherwise one plain line per second, so logs and pipes get a readable record.
 */
final class StatusLine {
    static final long TERMINAL_PERIOD_NANOS = 250_000_000L;
    static final long PLAIN_PERIOD_NANOS = 1_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private int shown;

    StatusLine(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /**
     * {@return whether the output failed (a closed pipe: {@code auraio bench | head}), so the bench
     * stops instead of running on for nobody}
     */
    boolean broken() {
        return out.checkError();
    }

    /** {@return whether the output failed because its reader is gone (a pipe into {@code head}), see {@link ToolOutput}} */
    boolean brokenPipe() {
        return ToolOutput.brokenPipe(out);
    }

    /** Thrown out of a run whose output {@linkplain #broken() broke}: the command then says "write error". */
    static final class Broken extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Broken() {
            super("write error", null, false, false);
        }
    }

    long periodNanos() {
        return terminal ? TERMINAL_PERIOD_NANOS : PLAIN_PERIOD_NANOS;
    }

    void show(String line) {
        if (terminal) {
            out.print("\r" + line + " ".repeat(Math.max(0, shown - line.length())));
            shown = line.length();
        } else {
            out.println(line);
        }
        out.flush();
    }

    /** Removes the live line (terminal only) so the report starts on a clean line. */
    void clear() {
        if (terminal && shown > 0) {
            out.print("\r" + " ".repeat(shown) + "\r");
            out.flush();
            shown = 0;
        }
    }
}
