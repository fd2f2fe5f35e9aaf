package io.auraio.testing;

/** A JVM with no AuraIO engine: prints {@code READY} and waits until standard input closes. */
public final class IdleJvm {
    private IdleJvm() {}

    public static void main(String[] args) throws Exception {
        System.out.println("READY");
        System.out.flush();
        while (System.in.read() >= 0) {
            // until the test closes our standard input
        }
    }
}
