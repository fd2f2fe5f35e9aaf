package io.auraio.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs short commands for tests ({@code mkfifo}, {@code mount}, {@code sh -c ...}) to their end,
 * and returns only once every pipe to the command is closed, so that a test may count this
 * process's descriptors right after.
 *
 * <p>Left to the JDK, a process's pipes are closed by its process reaper thread, and only after
 * it has woken the threads in {@link Process#waitFor()}: in a bare loop of start, read, waitFor,
 * the pipes of a {@code true} were still open at the next look in about half of the rounds. A
 * test that counted {@code /proc/self/fd} after starting a command saw them as leaked
 * descriptors. A test that starts and waits for a process itself closes it with
 * {@link #closePipes(Process)} before it counts. (Redirects to or from files, and
 * {@link ProcessBuilder#inheritIO()}, make no pipe: the JDK closes the files it opened for them
 * before {@code start} returns.)
 */
public final class Commands {
    private Commands() {}

    /**
     * How a command ended.
     *
     * @param command the command line
     * @param exitCode its exit status
     * @param output what it wrote to standard output and standard error, in one
     */
    public record Ran(List<String> command, int exitCode, String output) {
        /** {@return whether it exited with status 0} */
        public boolean succeeded() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + ": exit " + exitCode + (output.isBlank() ? "" : ", " + output.strip());
        }
    }

    /** {@return how {@code command} ended} See {@link #run(ProcessBuilder)}. */
    public static Ran run(String... command) throws IOException, InterruptedException {
        return run(new ProcessBuilder(command));
    }

    /** {@return how {@code command} ended} See {@link #run(ProcessBuilder)}. */
    public static Ran run(List<String> command) throws IOException, InterruptedException {
        return run(new ProcessBuilder(command));
    }

    /**
     * Starts {@code builder}'s command with its standard error joined to its output and its input
     * from {@code /dev/null} (unless {@code builder} names an input), reads the output, and waits
     * for it to exit; its pipes are closed before this returns, whatever happens.
     *
     * @return its exit status and output
     * @throws IOException if it cannot be started (a missing command) or did not exit within
     *         {@link TestSupport#HANG} (it is then killed)
     * @throws InterruptedException if interrupted while waiting (it is then killed)
     */
    public static Ran run(ProcessBuilder builder) throws IOException, InterruptedException {
        return run(builder, TestSupport.HANG);
    }

    /**
     * As {@link #run(ProcessBuilder)}, with {@code bound} for how long it may take to exit after
     * its output ended, where a test bounds its command more tightly than {@link TestSupport#HANG}.
     *
     * @return its exit status and output
     * @throws IOException if it cannot be started (a missing command) or did not exit within
     *         {@code bound} (it is then killed)
     * @throws InterruptedException if interrupted while waiting (it is then killed)
     */
    public static Ran run(ProcessBuilder builder, Duration bound) throws IOException, InterruptedException {
        builder.redirectErrorStream(true);
        if (builder.redirectInput() == ProcessBuilder.Redirect.PIPE) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process p = builder.start();
        try {
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IOException(String.join(" ", builder.command()) + " did not exit within " + bound
                        + ": " + output);
            }
            return new Ran(builder.command(), p.exitValue(), output);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
            closePipes(p);
        }
    }

    /**
     * Closes the pipes to {@code p} (its input, output and error streams) now, rather than leaving
     * them to the JDK's reaper thread, which closes them a moment after {@link Process#waitFor()}
     * returns. What {@code p} wrote and was not read is lost.
     */
    public static void closePipes(Process p) throws IOException {
        try {
            p.getOutputStream().close();
        } finally {
            try {
                p.getInputStream().close();
            } finally {
                p.getErrorStream().close();
            }
        }
    }
}
