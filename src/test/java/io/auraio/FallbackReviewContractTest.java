package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Channels and files opened without an engine, so in the backend this JVM has, against the JDK's
 * {@code FileChannel} as the oracle: io_uring in the test run itself, {@link Backend#JDK} when
 * {@code FallbackReviewTest} runs this class again in a JVM with {@code -Dauraio.backend=jdk}. The
 * same expected answers in both modes.
 */
class FallbackReviewContractTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @FunctionalInterface
    private interface Opener {
        FileChannel open(Path path, OpenOption... options) throws IOException;
    }

    private static final Opener JDK = FileChannel::open;
    private static final Opener AURA = AuraFileChannel::open;

    private Path file(String name, int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return Files.write(dir.resolve(name), bytes);
    }

    /** The result, or the exception's type, with its message where the type is a plain IOException. */
    static String call(Callable<?> c) {
        try {
            return String.valueOf(c.call());
        } catch (AuraIOException e) {
            // The library's IOException subclass, by design: the type the JDK throws and its message.
            return IOException.class.getName() + ": " + e.getMessage();
        } catch (Exception e) {
            return e.getClass().getName() + (e.getClass() == IOException.class ? ": " + e.getMessage() : "");
        }
    }

    /** Failures the kernel reports for the transfer or seek itself. */
    private String kernelRefusals(Opener opener, String name) throws IOException {
        List<String> out = new ArrayList<>();
        try (FileChannel ch = opener.open(file(name, 1_000), READ, WRITE)) {
            out.add(call(() -> ch.read(ByteBuffer.allocate(10), Long.MAX_VALUE)));
            out.add(call(() -> ch.write(ByteBuffer.allocate(10), Long.MAX_VALUE - 5)));
            out.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(10)})));
            out.add(call(() -> ch.position(Long.MAX_VALUE)));
            out.add(call(() -> ch.position(1_000).read(ByteBuffer.allocate(10))));
        }
        Path d = Files.createDirectories(dir.resolve(name + "-dir"));
        try (FileChannel ch = opener.open(d, READ)) {
            out.add(call(() -> ch.read(ByteBuffer.allocate(10))));
            out.add(call(() -> ch.read(ByteBuffer.allocate(10), 0)));
            out.add(call(() -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(10)})));
        }
        return String.join(", ", out);
    }

    @Test
    void theKernelsRefusalsSayWhatTheJdkSays() throws IOException {
        // Before the fix, in JDK mode: "read: Invalid argument", "lseek: Invalid argument", "readv: Is a directory"...
        assertThat(kernelRefusals(AURA, "aura")).isEqualTo(kernelRefusals(JDK, "jdk"))
                .contains("java.io.IOException: Invalid argument").contains("Is a directory");
    }

    /** Transfers between two files that the kernel refuses: a position past the largest file. */
    private String transfersPastTheLargestFile(Opener opener, String name) throws IOException {
        List<String> out = new ArrayList<>();
        try (FileChannel in = opener.open(file(name + "-in", 1_000), READ);
             FileChannel to = opener.open(file(name + "-out", 10), READ, WRITE)) {
            in.position(200);
            out.add(call(() -> to.transferFrom(in, Long.MAX_VALUE - 100, 500)) + " in at " + in.position());
            out.add("size " + to.size());
        }
        return String.join(", ", out);
    }

    @Test
    void aTransferTheKernelRefusesLeavesTheSourceWhereItWasAsTheJdksDoes() throws IOException {
        // Before the fix, in JDK mode: "write: Invalid argument in at 700": read, then lost.
        assertThat(transfersPastTheLargestFile(AURA, "aura")).isEqualTo(transfersPastTheLargestFile(JDK, "jdk"))
                .contains("in at 200");
    }

    /** An operation of a channel, made by a thread whose interrupt status is set. */
    @FunctionalInterface
    private interface ChannelOp {
        Object apply(FileChannel ch, FileChannel other) throws Exception;
    }

    private static final java.util.Map<String, ChannelOp> INTERRUPTED_OPS = new java.util.LinkedHashMap<>();

    static {
        INTERRUPTED_OPS.put("read", (ch, o) -> ch.read(ByteBuffer.allocate(10)));
        INTERRUPTED_OPS.put("readAt", (ch, o) -> ch.read(ByteBuffer.allocate(10), 5));
        INTERRUPTED_OPS.put("readv", (ch, o) -> ch.read(new ByteBuffer[] {ByteBuffer.allocate(10)}));
        INTERRUPTED_OPS.put("write", (ch, o) -> ch.write(ByteBuffer.allocate(10)));
        INTERRUPTED_OPS.put("writeAt", (ch, o) -> ch.write(ByteBuffer.allocate(10), 5));
        INTERRUPTED_OPS.put("writev", (ch, o) -> ch.write(new ByteBuffer[] {ByteBuffer.allocate(10)}));
        INTERRUPTED_OPS.put("position", (ch, o) -> ch.position());
        INTERRUPTED_OPS.put("setPosition", (ch, o) -> ch.position(7).position());
        INTERRUPTED_OPS.put("size", (ch, o) -> ch.size());
        INTERRUPTED_OPS.put("truncate", (ch, o) -> ch.truncate(500).size());
        INTERRUPTED_OPS.put("force", (ch, o) -> {
            ch.force(true);
            return "forced";
        });
        INTERRUPTED_OPS.put("transferTo", (ch, o) -> ch.transferTo(0, 100, o));
        INTERRUPTED_OPS.put("transferFrom", (ch, o) -> ch.transferFrom(o, 0, 100));
        INTERRUPTED_OPS.put("lock", (ch, o) -> ch.lock().isValid());
        INTERRUPTED_OPS.put("tryLock", (ch, o) -> ch.tryLock().isValid());
        INTERRUPTED_OPS.put("map", (ch, o) -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 10).capacity());
    }

    /** Each operation on fresh channels by an interrupted thread: its answer, the channels' state, the status. */
    private String interrupted(Opener opener, String name) throws Exception {
        List<String> out = new ArrayList<>();
        for (var e : INTERRUPTED_OPS.entrySet()) {
            Path path = file(name + "-" + e.getKey(), 1_000);
            Path otherPath = file(name + "-" + e.getKey() + "-other", 300);
            String[] result = new String[1];
            try (FileChannel ch = opener.open(path, READ, WRITE); FileChannel other = opener.open(otherPath, READ, WRITE)) {
                Thread t = Thread.ofVirtual().unstarted(() -> {
                    Thread.currentThread().interrupt();
                    String r = call(() -> e.getValue().apply(ch, other));
                    result[0] = e.getKey() + " " + r + " open=" + ch.isOpen() + "/" + other.isOpen()
                            + " interrupted=" + Thread.currentThread().isInterrupted();
                });
                t.start();
                t.join();
            }
            out.add(result[0]);
        }
        return String.join("\n", out);
    }

    @Test
    void anInterruptedThreadsOperationsAnswerAsTheJdks() throws Exception {
        assertThat(interrupted(AURA, "aura")).isEqualTo(interrupted(JDK, "jdk"))
                .contains("read java.nio.channels.ClosedByInterruptException open=false/true interrupted=true");
    }
}
