package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.Direct;
import io.auraio.testing.ForkedJvm;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A caller that runs out of stack inside a request gets its {@code StackOverflowError}, and
 * nothing else breaks: the ring still serves other threads, the file closes, the engine closes. As
 * {@code FileChannel} behaves for the same caller (checked with {@code bench/StackEndSweep.java}).
 *
 * <p>Each case forks a JVM with C1 as the last tier ({@code -XX:TieredStopAtLevel=1}), whose large
 * frames make a request run out of stack deep inside the library, where the default JIT's do not:
 * a thread recurses to every depth from its stack's end back up, makes a request at the bottom of
 * each (through {@code AuraFile}, or the engine's callback API and its event loop), until 150
 * in a row complete. Before {@code StackHeadroom} and {@code CarrierWaits} every
 * such sweep left the gate's lock held, a slot or a file's user count raised: the read from
 * another thread or the closes then hung (measured: 4 sweeps of 4; and with the headroom check
 * turned off, {@code -Dio.auraio.stackHeadroom.levels=0}, every AuraFile case hangs in both CI
 * modes, the callback case in the poller-only one).
 */
@ExtendWith(IoUringAvailable.class)
class StackEndTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @ParameterizedTest(name = "{0} thread, {1}")
    @CsvSource({
            "platform, direct-read", "virtual, direct-read", "virtual, direct-write", "virtual, buffered-read",
            "platform, callback-read"})
    void aCallerOutOfStackInsideARequestLeavesTheRingServingAndTheFileAndEngineClosable(String thread, String what)
            throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[64 * 4096]);
        ForkedJvm.Result r = ForkedJvm.of(Sweep.class)
                // Carriers' stacks (a virtual thread's limit) of 256 KiB: a quarter of the frames to
                // copy at each park of the deep thread, where the poller-only path parks every request.
                .jvmArgs("-XX:TieredStopAtLevel=1", "-Xss256k")
                .args(file.toString(), thread, what)
                .timeout(Duration.ofSeconds(150))
                .run();
        Map<String, String> v = r.values();
        assumeTrue(!v.containsKey("skip"), () -> "O_DIRECT: " + v.get("skip"));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(v).as(r.toString()).containsEntry("probes", "true").containsEntry("sweep", "finished");
        // The sweep reached the stack's end inside the library (else it proves nothing) and then
        // completed 150 requests in a row.
        assertThat(Long.parseLong(v.get("overflowsInside"))).as(r.toString()).isPositive();
        assertThat(Long.parseLong(v.get("completed"))).as(r.toString()).isGreaterThanOrEqualTo(150);
        assertThat(v).as(r.toString())
                .containsEntry("anotherThreadsRequest", "4096")
                .containsEntry("fileClosed", "true")
                .containsEntry("engineClosed", "true");
    }

    /**
     * The probe is on only where C2 does not compile: in the default JVM it costs a request nothing
     * once HotSpot has answered (a few milliseconds after the first use).
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "-Dauraio.test.none, false", "-XX:TieredStopAtLevel=1, true", "-XX:TieredStopAtLevel=3, true",
            "-Xint, true", "-XX:-TieredCompilation, false", "-XX:-UseCompiler, true"})
    void theProbeRunsOnlyWhereC2DoesNotCompile(String jvmOption, boolean probes) throws Exception {
        ForkedJvm.Result r = ForkedJvm.of(ProbeState.class).jvmArgs(jvmOption).run();
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.values()).as(r.toString()).containsEntry("probes", String.valueOf(probes));
    }

    /** Prints whether requests probe, once HotSpot has answered (its thread has ended). */
    static final class ProbeState {
        private ProbeState() {}

        public static void main(String[] args) throws Exception {
            io.auraio.internal.platform.StackHeadroom.checks(); // the first use starts the question
            awaitTheCompilersAnswer();
            System.out.println("probes=" + io.auraio.internal.platform.StackHeadroom.checks());
        }
    }

    /** Waits for the thread that asks HotSpot whether C2 compiles, if it still runs. */
    static void awaitTheCompilersAnswer() throws InterruptedException {
        TestSupport.joinAll(TestSupport.threadsNamed("auraio-compilers"));
    }

    /** The sweep, in the forked JVM: prints {@code key=value} lines. */
    static final class Sweep {
        private static Engine engine;
        private static AuraFile file;
        private static ByteBuffer buffer;
        private static boolean callbacks;
        private static volatile boolean callbackRan;
        private static boolean writes;
        private static boolean inRequest;
        private static long requests;

        private Sweep() {}

        public static void main(String[] args) throws Exception {
            Path path = Path.of(args[0]);
            boolean virtual = args[1].equals("virtual");
            boolean direct = !args[2].startsWith("buffered");
            writes = args[2].endsWith("write");
            callbacks = args[2].startsWith("callback");
            engine = Engine.create(Options.builder().ringCount(1).build());
            try {
                file = direct
                        ? AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE, Direct.DIRECT)
                        : AuraFile.open(engine, path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (IOException e) {
                System.out.println("skip=" + e);
                System.out.flush();
                System.exit(0); // the engine's pollers would keep the JVM up
                return;
            }
            buffer = ByteBuffer.allocateDirect(2 * Direct.ALIGN).alignedSlice(Direct.ALIGN).limit(Direct.ALIGN);
            request(); // the first request has HotSpot asked whether C2 compiles; the sweep starts after the answer
            awaitTheCompilersAnswer();
            System.out.println("probes=" + io.auraio.internal.platform.StackHeadroom.checks());
            Thread sweeper = (virtual ? Thread.ofVirtual() : Thread.ofPlatform().stackSize(512 * 1024))
                    .start(Sweep::sweep);
            sweeper.join(Duration.ofSeconds(90));
            System.out.println("sweep=" + (sweeper.isAlive() ? "hung" : "finished"));
            Thread other = Thread.ofPlatform().daemon().start(() -> {
                try {
                    System.out.println("anotherThreadsRequest=" + request());
                    file.close();
                    System.out.println("fileClosed=true");
                    engine.close();
                    System.out.println("engineClosed=true");
                } catch (Exception e) {
                    System.out.println("failure=" + e);
                }
            });
            other.join(Duration.ofSeconds(10));
            System.out.flush();
            System.exit(0);
        }

        private static void sweep() {
            try {
                request();
                for (int i = 0; i < 20_000; i++) {
                    descend(50, false); // compiled before the search, as during the sweep
                }
                int top = 1000;
                while (true) {
                    try {
                        descend(top, false);
                        top *= 2;
                    } catch (StackOverflowError e) {
                        break;
                    }
                }
                // The deepest recursion that completes; the sweep starts just above it, where not
                // even a request's first frames fit (higher while one completes there: the end
                // moves a little with the carrier a virtual thread runs on).
                int low = top / 2;
                int high = top;
                while (low < high) {
                    int mid = (low + high + 1) / 2;
                    try {
                        descend(mid, false);
                        low = mid;
                    } catch (StackOverflowError e) {
                        high = mid - 1;
                    }
                }
                top = low + 64;
                while (true) {
                    try {
                        descend(top, true);
                        top += 256;
                    } catch (StackOverflowError e) {
                        break;
                    }
                }
                long inside = 0;
                long completed = 0;
                int inARow = 0;
                for (int depth = top; depth > 0 && inARow < 150; depth--) {
                    inRequest = false;
                    try {
                        descend(depth, true);
                        completed++;
                        inARow++;
                    } catch (StackOverflowError e) {
                        if (inRequest) {
                            inside++;
                            inARow = 0;
                        }
                    }
                }
                System.out.println("overflowsInside=" + inside);
                System.out.println("completed=" + completed);
            } catch (IOException e) {
                System.out.println("failure=" + e);
            }
        }

        // One method for the search of the stack's end and for the sweep, so that both run the
        // same frames: a method still interpreted has frames twice the size of a compiled one.
        private static int descend(int depth, boolean thenRequest) throws IOException {
            return depth > 0 ? descend(depth - 1, thenRequest) + 1 : thenRequest ? request() : 0;
        }

        private static int request() throws IOException {
            buffer.clear().limit(Direct.ALIGN);
            inRequest = true;
            long position = (requests++ % 64) * Direct.ALIGN;
            int n;
            if (callbacks) { // the engine's callback API: a read, then the event loop until it ran
                callbackRan = false;
                engine.read(file.fd(), BufferRef.of(java.lang.foreign.MemorySegment.ofBuffer(buffer)), Direct.ALIGN,
                        position, (request, result) -> callbackRan = true);
                while (!callbackRan) {
                    try {
                        engine.await(100);
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
                n = Direct.ALIGN;
            } else {
                n = writes ? file.write(buffer, position) : file.read(buffer, position);
            }
            inRequest = false;
            return n;
        }
    }
}
