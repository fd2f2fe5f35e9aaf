package io.auraio.testing;

import io.auraio.AuraIO;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a fresh JVM with this test run's class path and
 * {@code --enable-native-access=ALL-UNNAMED}, for what cannot be changed inside the test JVM: the
 * environment (an {@link UringFailShim}), system properties read once, a crash.
 *
 * <pre>{@code
 * ForkedJvm.Result r = ForkedJvm.of(PrintAvailability.class)
 *         .env(UringFailShim.environment("EPERM"))
 *         .run();
 * }</pre>
 */
public final class ForkedJvm {
    /** Default bound on a forked JVM's run; only turns a hang into a failure. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    private final String mainClass;
    private final List<String> jvmArgs = new ArrayList<>();
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> properties = new LinkedHashMap<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private Duration timeout = DEFAULT_TIMEOUT;
    private final List<String> launcher = new ArrayList<>();

    /**
     * How the forked JVM ended.
     *
     * @param exitCode its exit status, -1 if it was killed for exceeding the timeout
     * @param stdout everything it wrote to standard output
     * @param stderr everything it wrote to standard error
     * @param timedOut whether it was killed for exceeding the timeout
     */
    public record Result(int exitCode, String stdout, String stderr, boolean timedOut) {
        /**
         * {@return the {@code key=value} lines of standard output, in order, as a probe prints
         * them (split at the first {@code =}; a key printed again keeps its last value)}
         */
        public java.util.Map<String, String> values() {
            java.util.Map<String, String> values = new java.util.LinkedHashMap<>();
            for (String line : stdout.lines().toList()) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    values.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return values;
        }

        @Override
        public String toString() {
            return "forked JVM " + (timedOut ? "timed out" : "exited with " + exitCode)
                    + "\n--- stdout ---\n" + stdout + "\n--- stderr ---\n" + stderr;
        }
    }

    private ForkedJvm(String mainClass) {
        this.mainClass = mainClass;
    }

    /** {@return a fork of {@code mainClass}, which must be on this run's class path} */
    public static ForkedJvm of(Class<?> mainClass) {
        return new ForkedJvm(mainClass.getName());
    }

    /** Adds program arguments. {@return this} */
    public ForkedJvm args(String... values) {
        args.addAll(List.of(values));
        return this;
    }

    /** Adds JVM options (before the main class), e.g. {@code -Xmx64m}. {@return this} */
    public ForkedJvm jvmArgs(String... values) {
        jvmArgs.addAll(List.of(values));
        return this;
    }

    /** Sets {@code -Dkey=value}. {@return this} */
    public ForkedJvm property(String key, String value) {
        properties.put(key, value);
        return this;
    }

    /** Sets an environment variable (on top of this process's environment). {@return this} */
    public ForkedJvm env(String key, String value) {
        env.put(key, value);
        return this;
    }

    /** Sets environment variables (on top of this process's environment). {@return this} */
    public ForkedJvm env(Map<String, String> values) {
        env.putAll(values);
        return this;
    }

    /** Bounds the run; a JVM still running then is killed ({@link Result#timedOut()}). {@return this} */
    public ForkedJvm timeout(Duration value) {
        timeout = value;
        return this;
    }

    /**
     * Starts the JVM through a command that runs its arguments, e.g. {@code taskset -c 0} to run it
     * on one CPU. {@return this}
     */
    public ForkedJvm launcher(String... prefix) {
        launcher.addAll(List.of(prefix));
        return this;
    }

    /** {@return the command line {@link #run()} starts} */
    public List<String> command() {
        List<String> command = new ArrayList<>(launcher);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-Xshare:auto");
        // The io_uring binding, the request path and the way to the kernel this run tests
        // (-Dauraio.binding, -Dio.auraio.callerSubmit and -Dauraio.syscalls from the Maven command
        // line) hold in its forks too, unless a test chooses itself.
        for (String inherited : new String[] {AuraIO.BINDING_PROPERTY, "io.auraio.callerSubmit", "auraio.syscalls"}) {
            String value = System.getProperty(inherited);
            if (value != null && !properties.containsKey(inherited)) {
                command.add("-D" + inherited + "=" + value);
            }
        }
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        return command;
    }

    /**
     * Starts the JVM and waits for it to exit or time out.
     *
     * @return its exit status and output
     * @throws IOException if it cannot be started or its output cannot be read
     * @throws InterruptedException if interrupted while waiting (the JVM is then killed)
     */
    public Result run() throws IOException, InterruptedException {
        Path dir = FixtureAvailability.projectDirectory().resolve("target").resolve("forked-jvm");
        Files.createDirectories(dir);
        Path out = Files.createTempFile(dir, "stdout-", ".txt");
        Path err = Files.createTempFile(dir, "stderr-", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(command())
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().putAll(env);
            Process p = pb.start();
            boolean exited;
            try {
                exited = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                throw e;
            }
            if (!exited) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            return new Result(exited ? p.exitValue() : -1, Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8), !exited);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
