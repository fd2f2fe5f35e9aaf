package io.auraio.cli;

/**
 * Runs {@code Auraio.main} in a JVM of its own with a shutdown hook that reports, on stderr, the
 * engine poller threads still alive when the JVM exits: each one sits in {@code io_uring_enter},
 * and HotSpot's exit waits up to 300 ms for threads inside a native call ({@link ToolEngine}).
 */
final class ExitProbe {
    private ExitProbe() {}

    public static void main(String[] args) throws ReflectiveOperationException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long pollers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && t.getName().startsWith("auraio-ring-")).count();
            System.err.println("poller threads at exit: " + pollers);
        }));
        // By name: the CLI classes are not on the test compile class path (as in Cli).
        Class.forName("io.auraio.cli.Auraio").getMethod("main", String[].class).invoke(null, (Object) args);
    }
}
