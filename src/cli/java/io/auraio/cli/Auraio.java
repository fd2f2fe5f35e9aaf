package io.auraio.cli;

import io.auraio.AuraIOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code auraio} command line: {@code auraio bench [options]}, and the tools {@code auraio cp},
 * {@code auraio hash} and {@code auraio tree}. For {@code bench}, problems with what was asked (a
 * bad option, an unusable file) are one line on stderr and exit code 2; a failure while the
 * benchmark runs is one line and exit code 1 (the stack trace only with {@code -Dauraio.debug}).
 * The tools answer as the coreutils and tree(1) they stand in for: a usage problem is its line and
 * a "Try ... --help" line with exit code 1, a failed file its own line and exit code 1 at the end.
 */
@Command(name = "auraio", mixinStandardHelpOptions = false, description = "AuraIO for Java tools")
public final class Auraio {
    static final int USAGE = 2;
    static final int FAILURE = 1;
    /** The commands that stand in for coreutils/tree(1) and report usage errors as those do (exit 1). */
    private static final java.util.Set<String> COREUTILS_STYLE = java.util.Set.of("cp", "hash", "tree");
    private static final java.util.Set<String> SUBCOMMANDS = java.util.Set.of("bench", "cp", "hash", "tree", "top");

    /** What {@code auraio --help} prints: the commands (each one's own --help lists its options). */
    private static final String HELP = """
            Usage: auraio [COMMAND] [OPTIONS]
            AuraIO for Java tools. Commands:
              bench  side-by-side benchmark of AuraFile and FileChannel (the default)
              cp     copies files and directories, as cp
              hash   prints or checks checksums, as sha256sum/sha1sum/md5sum
              tree   lists directories, as tree(1)
              top    live view of another JVM's AuraIO rings
            'auraio COMMAND --help' lists a command's options.
            """;

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
        boolean terminal = console != null && console.isTerminal();
        // System.out flushes at every line: one write(2) per line, ~15,000 for a tree or a hash of
        // the JDK's sources. Into a pipe or a file the tools write in blocks, as coreutils do.
        // Both streams note a reader gone away (ToolOutput): the command then exits 141, silently.
        ToolOutput out = !terminal && args.length > 0 && COREUTILS_STYLE.contains(args[0])
                ? ToolOutput.of(1, 1 << 16, false, System.out.charset())
                : ToolOutput.of(1, 8192, true, System.out.charset());
        ToolOutput err = ToolOutput.of(2, 8192, true, System.err.charset());
        int code;
        try {
            code = run(args, out, err, terminal);
        } finally {
            out.flush();
            err.flush();
        }
        if (out.brokenPipe() || err.brokenPipe()) {
            // Also where the last block only failed in the flush above, after the command returned.
            code = ToolOutput.BROKEN_PIPE;
        }
        ToolEngine.close(); // its pollers out of io_uring_enter: the JVM's exit then does not wait for them
        System.exit(code);
    }

    /**
     * Runs the command with the given streams.
     *
     * @param args     the command line
     * @param out      standard output
     * @param err      standard error
     * @param terminal whether {@code out} is a terminal (live status line) or not (one line per second)
     * @return the exit code: 0 success, 1 failure while running, 2 bad usage, 141 output into a pipe
     *         whose reader is gone (only with the {@link ToolOutput} streams of {@link #main})
     */
    public static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        String[] effective = args.length == 0 ? new String[] {"bench"} : args;
        if (effective.length == 1 && java.util.Set.of("--help", "-h", "help").contains(effective[0])) {
            out.print(HELP);
            out.flush();
            return 0;
        }
        if (effective[0].equals("cp") || effective[0].equals("hash")) {
            // The first use of the library sets up the default engine (native bindings, rings,
            // poller threads: a good part of a short run); let that overlap the parsing below.
            Thread.ofPlatform().daemon().name("auraio-warm-up").start(() -> {
                try {
                    ToolEngine.get();
                } catch (AuraIOException e) {
                    // the first open reports it, to the file it concerns
                }
            });
            if (effective[0].equals("cp")) {
                Extents.prepare();
            }
        }
        if (COREUTILS_STYLE.contains(effective[0])) {
            // The lines scripts type, without picocli's start (ToolArgs); anything else goes on to it.
            Callable<Integer> tool = ToolArgs.parse(effective, out, err, System.in, terminal);
            if (tool != null) {
                try {
                    Integer code = tool.call();
                    return code == null ? 0 : code;
                } catch (Exception e) {
                    return failed(effective[0], e, err);
                }
            }
        }
        // Only the command asked for is built: picocli reflects over every option of every command
        // it is given (bench's are many), a good part of a short tool run's start. A name that is
        // no command gets them all, for picocli's message.
        String asked = effective[0];
        boolean known = SUBCOMMANDS.contains(asked);
        CommandLine cli = new CommandLine(new Auraio());
        if (!known || asked.equals("bench")) {
            cli.addSubcommand("bench", new BenchCommand(out, err, terminal));
        }
        if (!known || asked.equals("cp")) {
            cli.addSubcommand("cp", new CpCommand(err, terminal));
        }
        if (!known || asked.equals("hash")) {
            cli.addSubcommand("hash", new HashCommand(out, err, System.in, terminal));
        }
        if (!known || asked.equals("tree")) {
            cli.addSubcommand("tree", new TreeCommand(out));
        }
        if (!known || asked.equals("top")) {
            cli.addSubcommand("top", new TopCommand(out, err, terminal));
        }
        cli.setCaseInsensitiveEnumValuesAllowed(true)
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true));
        for (CommandLine sub : cli.getSubcommands().values()) {
            sub.setCaseInsensitiveEnumValuesAllowed(true);
        }
        cli.setParameterExceptionHandler((e, a) -> {
            String name = e.getCommandLine().getCommandName();
            if (e.getCommandLine() == cli) {
                err.println("auraio: " + oneLine(e.getMessage()) + " (see: auraio --help)");
                return USAGE;
            }
            if (!COREUTILS_STYLE.contains(name)) {
                err.println("auraio " + name + ": " + oneLine(e.getMessage()) + " (see: auraio " + name + " --help)");
                return USAGE;
            }
            return usage(err, name, oneLine(e.getMessage()));
        });
        cli.setExecutionExceptionHandler((e, command, parsed) -> failed(command.getCommandName(), e, err));
        return cli.execute(effective);
    }

    /**
     * What a command whose output {@code broken} failed says, and its exit code: nothing and 141
     * where the reader went away ({@code | head}: the C tools die of SIGPIPE there, see
     * {@link ToolOutput}), otherwise "write error" on {@code err} and 1.
     */
    static int writeError(String name, PrintStream broken, PrintStream err) {
        if (ToolOutput.brokenPipe(broken)) {
            return ToolOutput.BROKEN_PIPE;
        }
        err.println("auraio " + name + ": write error");
        return FAILURE;
    }

    /** What a command that threw says, and its exit code: a usage problem, or a failure while it ran. */
    private static int failed(String name, Exception e, PrintStream err) {
        if (e instanceof UsageException) {
            if (COREUTILS_STYLE.contains(name)) {
                return usage(err, name, e.getMessage());
            }
            err.println("auraio " + name + ": " + e.getMessage());
            return USAGE;
        }
        Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
        err.println("auraio " + name + ": failed: " + oneLine(String.valueOf(cause)));
        if (Boolean.getBoolean("auraio.debug")) {
            e.printStackTrace(err);
        }
        return FAILURE;
    }

    /**
     * A usage problem of cp, hash or tree, reported as coreutils does: the problem, a line that
     * points to the help, and exit status 1 (the tools these commands stand in for use 1).
     */
    private static int usage(PrintStream err, String command, String message) {
        err.println("auraio " + command + ": " + message);
        err.println("Try 'auraio " + command + " --help' for more information.");
        return FAILURE;
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        return message.strip().replace("\r", "").replace('\n', ' ');
    }
}
