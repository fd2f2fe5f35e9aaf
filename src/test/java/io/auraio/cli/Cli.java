package io.auraio.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;

/**
 * Runs the {@code auraio} command in this JVM and captures what it prints. The CLI is compiled
 * separately from the library (target/cli-classes, on the test class path via surefire), so it is
 * reached by name through its one entry point, {@code Auraio.run(args, out, err, terminal)}.
 */
final class Cli {
    private static final Method RUN = entryPoint();

    record Result(int exitCode, String out, String err) {}

    private Cli() {}

    static Result run(String... args) {
        return run(false, args);
    }

    /** As {@link #run(String...)}, telling the command that its output is a terminal (live status lines). */
    static Result runOnTerminal(String... args) {
        return run(true, args);
    }

    /** As {@link #run(String...)}, telling the command whether its output is a terminal. */
    static Result run(boolean terminal, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            int code = (int) RUN.invoke(null, args, o, e, terminal);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        } catch (InvocationTargetException e) {
            throw new AssertionError("the CLI threw instead of returning an exit code", e.getCause());
        }
    }

    private static Method entryPoint() {
        try {
            return Class.forName("io.auraio.cli.Auraio")
                    .getMethod("run", String[].class, PrintStream.class, PrintStream.class, boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("CLI classes not on the test class path (target/cli-classes): " + e, e);
        }
    }
}
