package io.auraio.cli;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code auraio} command line: {@code auraio bench [options]}. Problems with what was asked
 * (a bad option, an unusable file) are one line on stderr and exit code 2; a failure while the
 * benchmark runs is one line and exit code 1 (the stack trace only with {@code -Dauraio.debug}).
 */
@Command(name = "auraio", mixinStandardHelpOptions = false, description = "AuraIO for Java tools")
public final class Auraio {
    static final int USAGE = 2;
    static final int FAILURE = 1;

    private Auraio() {}

    /**
     * Runs the command and exits with its exit code.
     *
     * @param args the command line; empty means {@code bench} with its defaults
     */
    public static void main(String[] args) {
        // Reproducible scheduling: as many carriers as CPUs, whatever the JDK's default becomes.
        if (System.getProperty("jdk.virtualThreadScheduler.parallelism") == null) {
            System.setProperty("jdk.virtualThreadScheduler.parallelism",
                    String.valueOf(Runtime.getRuntime().availableProcessors()));
        }
        var console = System.console();
        System.exit(run(args, System.out, System.err, console != null && console.isTerminal()));
    }

    /**
     * Runs the command with the given streams.
     *
     * @param args     the command line
     * @param out      standard output
     * @param err      standard error
     * @param terminal whether {@code out} is a terminal (live status line) or not (one line per second)
     * @return the exit code: 0 success, 1 failure while running, 2 bad usage
     */
    public static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        String[] effective = args.length == 0 ? new String[] {"bench"} : args;
        CommandLine cli = new CommandLine(new Auraio())
                .addSubcommand("bench", new BenchCommand(out, err, terminal))
                .addSubcommand("top", new TopCommand(out, err, terminal))
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true));
        cli.getSubcommands().get("bench").setCaseInsensitiveEnumValuesAllowed(true);
        cli.setParameterExceptionHandler((e, a) -> {
            err.println("auraio: " + oneLine(e.getMessage()) + " (see: auraio bench --help)");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            if (e instanceof UsageException) {
                err.println("auraio bench: " + e.getMessage());
                return USAGE;
            }
            Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
            err.println("auraio bench: failed: " + oneLine(String.valueOf(cause)));
            if (Boolean.getBoolean("auraio.debug")) {
                e.printStackTrace(err);
            }
            return FAILURE;
        });
        return cli.execute(effective);
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        return message.strip().replace("\r", "").replace('\n', ' ');
    }
}
