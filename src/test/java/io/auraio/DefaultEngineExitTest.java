package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A JVM that used the default engine, which is never closed, exits without its pollers sitting in
 * {@code io_uring_enter}: HotSpot's exit waits up to 300 ms for threads inside a native call, so
 * every short program paid that. The fork's own shutdown hook looks at the pollers while the JVM
 * exits: each must be seen out of native code (parked: WAITING or TIMED_WAITING) or ended. A
 * poller in the kernel stays RUNNABLE for good, which fails this.
 */
@ExtendWith(IoUringAvailable.class)
class DefaultEngineExitTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void idlePollersLeaveTheKernelWhenTheJvmExits() throws Exception {
        Path file = dir.resolve("data");
        Files.writeString(file, "bytes of the default engine\n");
        for (String exit : List.of("return", "System.exit")) {
            ForkedJvm.Result r = ForkedJvm.of(Probe.class).args(file.toString(), exit).run();
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.stdout()).as(r.toString()).contains("read 28 bytes on IO_URING").doesNotContain("pollers: 0;").contains("pollers in native at exit: none");
        }
    }

    /** Reads through the default engine, then exits by returning from main or by System.exit. */
    static final class Probe {
        private Probe() {}

        public static void main(String[] args) throws Exception {
            byte[] bytes = AuraFiles.readAllBytes(Path.of(args[0]));
            System.out.println("read " + bytes.length + " bytes on " + AuraIO.backend());
            Runtime.getRuntime().addShutdownHook(new Thread(Probe::reportPollers));
            if (args[1].equals("System.exit")) {
                System.exit(0);
            }
        }

        /** Waits (at most 5 s) until every poller has been seen out of native code once. */
        private static void reportPollers() {
            List<Thread> pollers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("auraio-ring-")).toList();
            java.util.Set<Thread> seenOut = new java.util.HashSet<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (seenOut.size() < pollers.size() && System.nanoTime() < deadline) {
                for (Thread t : pollers) {
                    Thread.State state = t.getState();
                    if (state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING
                            || state == Thread.State.TERMINATED) {
                        seenOut.add(t);
                    }
                }
                Thread.onSpinWait();
            }
            List<String> stuck = pollers.stream().filter(t -> !seenOut.contains(t)).map(Thread::getName).toList();
            System.out.println("pollers: " + pollers.size() + "; pollers in native at exit: "
                    + (stuck.isEmpty() ? "none" : stuck));
            System.out.flush();
        }
    }
}
