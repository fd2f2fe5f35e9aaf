package io.auraio.testing;

import io.auraio.AuraIO;

/**
 * Main class for a {@link ForkedJvm}: prints {@code available=<true|false>} and
 * {@code cause=<AuraIO.unavailabilityCause() or empty>} on standard output, one per line.
 */
public final class PrintAvailability {
    private PrintAvailability() {}

    /** Prints the two lines; exits 0. */
    public static void main(String[] args) {
        System.out.println("available=" + AuraIO.isAvailable());
        System.out.println("cause=" + AuraIO.unavailabilityCause().orElse(""));
    }
}
