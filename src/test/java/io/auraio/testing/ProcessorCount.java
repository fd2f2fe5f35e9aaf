package io.auraio.testing;

/** Main class for a {@link ForkedJvm}: prints {@code processors=N}, the CPUs the JVM there sees. */
public final class ProcessorCount {
    private ProcessorCount() {}

    public static void main(String[] args) {
        System.out.println("processors=" + Runtime.getRuntime().availableProcessors());
    }
}
