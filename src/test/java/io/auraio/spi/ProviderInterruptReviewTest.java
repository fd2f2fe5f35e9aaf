package io.auraio.spi;

import static io.auraio.testing.InterruptRounds.withReader;
import static io.auraio.testing.InterruptRounds.withWriter;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.AuraIO;
import io.auraio.testing.Descriptors;
import io.auraio.testing.Fifo;
import io.auraio.testing.InterruptRounds;
import io.auraio.testing.InterruptRounds.Kind;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A review of {@link AuraFileSystemProvider}'s streams, channels and {@code Files} calls against
 * the platform's: interrupts at random moments, FIFOs (where a call can wait), devices. Each
 * check compares with the JDK's answer to the same call.
 */
@ExtendWith(IoUringAvailable.class)
class ProviderInterruptReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private FileSystem fs;

    @BeforeEach
    void createProvider() {
        fs = new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
    }

    @FunctionalInterface
    interface StreamScenario {
        Object run(InputStream in, Path base) throws Exception;
    }

    /**
     * Reads {@code fifo} (a path of {@code base}'s file system) with {@code scenario} on a virtual
     * thread while a platform thread writes {@code text} into it and closes it. {@return the outcome}
     */
    private static String readFifo(Path base, String name, String text, StreamScenario scenario) throws Exception {
        Path fifo = base.resolve(name);
        Thread writer = Thread.ofPlatform().start(() -> {
            try (OutputStream out = new FileOutputStream(Path.of(fifo.toString()).toFile())) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            } catch (Exception e) {
                // the reader left early (readNBytes): a broken pipe is expected
            }
        });
        String outcome = TestSupport.outcomeOnVirtualThread(() -> {
            try (InputStream in = Files.newInputStream(fifo)) {
                return scenario.run(in, base);
            }
        }, Path.of(base.toString()));
        TestSupport.joinAll(List.of(writer));
        return outcome;
    }

    /**
     * {@code Files.newInputStream} of a FIFO (a pipe: {@code /dev/stdin}, {@code <(cmd)}) reads as
     * the JDK's stream: the JDK's reads its own channel to a FIFO or device as a plain stream,
     * where its stream over any other {@code SeekableByteChannel} asks the channel's size and
     * position, which a FIFO refuses with "Illegal seek". Failed before: {@code readAllBytes},
     * {@code readNBytes}, {@code skip} and {@code transferTo} into a file's stream threw
     * "Illegal seek".
     */
    @Test
    void aFifosInputStreamReadsAsTheJdks() throws Exception {
        Map<String, StreamScenario> scenarios = new LinkedHashMap<>();
        scenarios.put("readAllBytes", (in, base) -> new String(in.readAllBytes(), StandardCharsets.UTF_8));
        scenarios.put("readNBytes", (in, base) -> new String(in.readNBytes(5), StandardCharsets.UTF_8));
        scenarios.put("skip", (in, base) -> in.skip(3) + " then " + (char) in.read());
        scenarios.put("transferTo a file", (in, base) -> {
            Path target = base.resolve("copy");
            long n;
            try (OutputStream out = Files.newOutputStream(target)) {
                n = in.transferTo(out);
            }
            return n + " " + Files.readString(target);
        });
        scenarios.put("transferTo memory", (in, base) -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            return in.transferTo(out) + " " + out.toString(StandardCharsets.UTF_8);
        });
        Path jdk = Files.createDirectories(dir.resolve("jdk"));
        Path aura = fs.getPath(Files.createDirectories(dir.resolve("aura")).toString());
        Fifo.create(jdk.resolve("fifo"));
        Fifo.create(Path.of(aura.toString()).resolve("fifo"));
        StringBuilder differences = new StringBuilder();
        for (Map.Entry<String, StreamScenario> s : scenarios.entrySet()) {
            String text = "hello, fifo";
            String expected = readFifo(jdk, "fifo", text, s.getValue());
            String actual = readFifo(aura, "fifo", text, s.getValue());
            if (!expected.equals(actual)) {
                differences.append("\n").append(s.getKey()).append(": platform ").append(expected)
                        .append(", provider ").append(actual);
            }
        }
        assertThat(differences.toString()).isEmpty();
    }

    /**
     * {@code skip} on a character device's stream reads and drops, as the JDK's: the provider's
     * stream computed the new position from {@code size()} (0 for a device) and skipped nothing
     * (failed before: 0 where the JDK skips 10).
     */
    @Test
    void aDevicesInputStreamSkipsAsTheJdks() throws Exception {
        Path zero = Path.of("/dev/zero");
        String expected = TestSupport.outcomeOnVirtualThread(() -> {
            try (InputStream in = Files.newInputStream(zero)) {
                return in.skip(10) + " " + in.readNBytes(4).length;
            }
        }, dir.path());
        String actual = TestSupport.outcomeOnVirtualThread(() -> {
            try (InputStream in = Files.newInputStream(fs.getPath("/dev/zero"))) {
                return in.skip(10) + " " + in.readNBytes(4).length;
            }
        }, dir.path());
        assertThat(actual).isEqualTo(expected).isEqualTo("returned 10 4");
    }

    /** A call of the review, what the JDK does on interrupt, and the result it must return. */
    private record Round(String name, Kind kind, InterruptRounds.Call call, Callable<Object> expected) {}

    /**
     * The provider's calls from a virtual thread interrupted at moments drawn from fixed seeds:
     * {@code Files.readAllBytes}, the streams, {@code Files.write}, {@code copy}, {@code move} and
     * the directory calls ignore it, as the JDK's, and return their result; a channel from
     * {@code newByteChannel} reads or writes, or throws {@link ClosedByInterruptException} and is
     * closed; the status is kept in every case. Then no descriptor, request or pool buffer is left.
     */
    @Test
    void callsInterruptedAtRandomMomentsAnswerAsTheJdks() throws Exception {
        byte[] big = TestSupport.randomBytes(3 << 20, 7);
        Path base = Files.createDirectories(dir.resolve("tree"));
        Files.write(base.resolve("big"), big);
        for (int i = 0; i < 40; i++) {
            Files.write(base.resolve("entry" + i), new byte[10]);
        }
        Path b = fs.getPath(base.toString());
        Files.readAllBytes(b.resolve("big")); // the engine, and a channel's reserve descriptor, before the count
        List<Round> rounds = List.of(
                new Round("readAllBytes", Kind.IGNORES, () -> Files.readAllBytes(b.resolve("big")), () -> big),
                new Round("newInputStream", Kind.IGNORES, () -> {
                    try (InputStream in = Files.newInputStream(b.resolve("big"))) {
                        return in.readAllBytes();
                    }
                }, () -> big),
                new Round("newOutputStream", Kind.IGNORES, () -> {
                    try (OutputStream out = Files.newOutputStream(b.resolve("out"))) {
                        out.write(big);
                    }
                    return Files.readAllBytes(base.resolve("out"));
                }, () -> big),
                new Round("write", Kind.IGNORES, () -> Files.readAllBytes(Path.of(
                        Files.write(b.resolve("written"), big).toString())), () -> big),
                new Round("copy", Kind.IGNORES, () -> {
                    Files.copy(b.resolve("big"), b.resolve("copy"), StandardCopyOption.REPLACE_EXISTING);
                    return Files.readAllBytes(base.resolve("copy"));
                }, () -> big),
                new Round("copy from a stream", Kind.IGNORES, () -> {
                    Files.copy(new ByteArrayInputStream(big), b.resolve("copied"), StandardCopyOption.REPLACE_EXISTING);
                    return Files.readAllBytes(base.resolve("copied"));
                }, () -> big),
                new Round("stream transferTo stream", Kind.IGNORES, () -> {
                    try (InputStream in = Files.newInputStream(b.resolve("big"));
                         OutputStream out = Files.newOutputStream(b.resolve("transferred"))) {
                        in.transferTo(out);
                    }
                    return Files.readAllBytes(base.resolve("transferred"));
                }, () -> big),
                new Round("move", Kind.IGNORES, () -> {
                    Files.write(base.resolve("moving"), big, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.WRITE);
                    Files.move(b.resolve("moving"), b.resolve("moved"), StandardCopyOption.REPLACE_EXISTING);
                    return Files.readAllBytes(base.resolve("moved"));
                }, () -> big),
                new Round("newDirectoryStream", Kind.IGNORES, () -> {
                    int n = 0;
                    try (var entries = Files.newDirectoryStream(b, "entry*")) {
                        for (Path ignored : entries) {
                            n++;
                        }
                    }
                    return n;
                }, () -> 40),
                new Round("walk", Kind.IGNORES, () -> {
                    try (Stream<Path> s = Files.walk(b)) {
                        return s.filter(p -> p.getFileName().toString().startsWith("entry")).count();
                    }
                }, () -> 40L),
                new Round("newBufferedReader", Kind.IGNORES, () -> {
                    try (BufferedReader r = Files.newBufferedReader(b.resolve("big"), StandardCharsets.ISO_8859_1)) {
                        return r.lines().mapToLong(String::length).sum() > 0;
                    }
                }, () -> true),
                new Round("newByteChannel read", Kind.CHANNEL, () -> {
                    try (SeekableByteChannel ch = Files.newByteChannel(b.resolve("big"))) {
                        ByteBuffer buffer = ByteBuffer.allocate(big.length);
                        return closedIfInterrupted(ch, () -> {
                            while (buffer.hasRemaining() && ch.read(buffer) >= 0) {
                                // reads the whole file
                            }
                            return buffer.array();
                        });
                    }
                }, () -> big),
                new Round("newByteChannel write", Kind.CHANNEL, () -> {
                    try (SeekableByteChannel ch = Files.newByteChannel(b.resolve("channel"), StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                        closedIfInterrupted(ch, () -> {
                            ByteBuffer buffer = ByteBuffer.wrap(big);
                            while (buffer.hasRemaining()) {
                                ch.write(buffer);
                            }
                            return null;
                        });
                    }
                    return Files.readAllBytes(base.resolve("channel"));
                }, () -> big),
                new Round("FileChannel.open transferTo", Kind.CHANNEL, () -> {
                    try (FileChannel in = FileChannel.open(b.resolve("big"));
                         FileChannel out = FileChannel.open(b.resolve("channel2"), StandardOpenOption.CREATE,
                                 StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                        closedIfInterrupted(in, () -> {
                            long done = 0;
                            while (done < big.length) {
                                done += in.transferTo(done, big.length - done, out);
                            }
                            return null;
                        });
                    }
                    return Files.readAllBytes(base.resolve("channel2"));
                }, () -> big));
        check(rounds, Duration.ofMillis(5));
        assertThat(Files.readAllBytes(b.resolve("big"))).isEqualTo(big); // the engine still serves
    }

    /**
     * On a FIFO the calls wait (for the other end, then for bytes or room): an interrupt does not
     * end the wait of {@code Files.readAllBytes}, the streams or {@code Files.write}, and loses no
     * byte; a channel's read ends with {@link ClosedByInterruptException}, as the JDK's.
     */
    @Test
    void callsWaitingOnAFifoAnswerInterruptsAsTheJdks() throws Exception {
        Path fifo = Fifo.create(dir.resolve("fifo"));
        Path f = fs.getPath(fifo.toString());
        byte[] bytes = TestSupport.randomBytes(100_000, 3); // more than a pipe holds: the writer waits too
        Files.readAllBytes(fs.getPath(Files.write(dir.resolve("warm"), bytes).toString()));
        check(List.of(
                new Round("readAllBytes", Kind.IGNORES, () -> withWriter(fifo, bytes, () -> Files.readAllBytes(f)),
                        () -> bytes),
                new Round("newInputStream", Kind.IGNORES, () -> withWriter(fifo, bytes, () -> {
                    try (InputStream in = Files.newInputStream(f)) {
                        return in.readAllBytes();
                    }
                }), () -> bytes),
                new Round("newByteChannel", Kind.CHANNEL, () -> withWriter(fifo, bytes, () -> {
                    try (SeekableByteChannel ch = Files.newByteChannel(f)) {
                        return closedIfInterrupted(ch, () -> {
                            ByteBuffer buffer = ByteBuffer.allocate(bytes.length);
                            while (buffer.hasRemaining() && ch.read(buffer) >= 0) {
                                // reads until the writer closes
                            }
                            return buffer.array();
                        });
                    }
                }), () -> bytes),
                new Round("write", Kind.IGNORES, () -> withReader(fifo, () -> Files.write(f, bytes)), () -> bytes),
                new Round("newOutputStream", Kind.IGNORES, () -> withReader(fifo, () -> {
                    try (OutputStream out = Files.newOutputStream(f)) {
                        out.write(bytes);
                    }
                    return null;
                }), () -> bytes)),
                Duration.ofMillis(4));
    }

    /** {@return what {@code call} returns} Checks that a {@link ClosedByInterruptException} left {@code ch} closed. */
    private static Object closedIfInterrupted(java.nio.channels.Channel ch, Callable<Object> call) throws Exception {
        try {
            return call.call();
        } catch (ClosedByInterruptException e) {
            if (ch.isOpen()) {
                throw new AssertionError("a channel left open by ClosedByInterruptException", e);
            }
            throw e;
        }
    }

    private static void check(List<Round> rounds, Duration maxSpin) throws Exception {
        Map<Integer, String> descriptors = Descriptors.open();
        StringBuilder wrong = new StringBuilder();
        long seed = 100;
        for (Round r : rounds) {
            wrong.append(InterruptRounds.run(r.name(), seed++, 12, maxSpin, r.kind(), r.call(), r.expected()));
        }
        assertThat(wrong.toString()).isEmpty();
        // A close the offload makes for an interrupted caller ends a little later.
        Descriptors.awaitNoneNew(descriptors, "the interrupted rounds");
        var engine = AuraIO.defaultEngine();
        TestSupport.settle(() -> engine.stats().currentInFlight() == 0, Duration.ofSeconds(10));
        assertThat(engine.stats().currentInFlight()).as("requests in flight").isZero();
        assertThat(engine.bufferStats().totalBuffers()).as("pool buffers not returned").isZero();
    }

    /**
     * A thread interrupted before the call: each call answers as the JDK's (a result, or the
     * channel's {@link ClosedByInterruptException}) and leaves the status set.
     */
    @Test
    void callsOfAThreadInterruptedBeforehandAnswerAsTheJdks() throws Exception {
        Map<String, StreamScenario> calls = new LinkedHashMap<>();
        calls.put("readAllBytes", (in, base) -> Files.readAllBytes(base.resolve("f")).length);
        calls.put("readString", (in, base) -> Files.readString(base.resolve("f")).length());
        calls.put("readAllLines", (in, base) -> Files.readAllLines(base.resolve("f")).size());
        calls.put("write", (in, base) -> Files.write(base.resolve("w"), new byte[1000]).getFileName());
        calls.put("writeString", (in, base) -> Files.writeString(base.resolve("w"), "x").getFileName());
        calls.put("newInputStream", (in, base) -> {
            try (InputStream s = Files.newInputStream(base.resolve("f"))) {
                return s.readAllBytes().length;
            }
        });
        calls.put("newOutputStream", (in, base) -> {
            try (OutputStream s = Files.newOutputStream(base.resolve("o"))) {
                s.write(1);
            }
            return 1;
        });
        calls.put("newByteChannel read", (in, base) -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("f"))) {
                return ch.read(ByteBuffer.allocate(4));
            }
        });
        calls.put("newByteChannel write", (in, base) -> {
            try (SeekableByteChannel ch = Files.newByteChannel(base.resolve("o"), StandardOpenOption.WRITE)) {
                return ch.write(ByteBuffer.allocate(4));
            }
        });
        calls.put("copy", (in, base) -> Files.copy(base.resolve("f"), base.resolve("c"),
                StandardCopyOption.REPLACE_EXISTING).getFileName());
        calls.put("mismatch", (in, base) -> Files.mismatch(base.resolve("f"), base.resolve("o")));
        calls.put("list", (in, base) -> {
            try (Stream<Path> s = Files.list(base)) {
                return s.count() > 0;
            }
        });
        Path jdk = Files.createDirectories(dir.resolve("jdk-before"));
        Path aura = Files.createDirectories(dir.resolve("aura-before"));
        for (Path p : List.of(jdk, aura)) {
            Files.writeString(p.resolve("f"), "one\ntwo\n");
        }
        Path auraBase = fs.getPath(aura.toString());
        StringBuilder differences = new StringBuilder();
        for (Map.Entry<String, StreamScenario> c : calls.entrySet()) {
            String expected = interruptedBefore(() -> c.getValue().run(null, jdk));
            String actual = interruptedBefore(() -> c.getValue().run(null, auraBase));
            if (!expected.equals(actual)) {
                differences.append("\n").append(c.getKey()).append(": platform ").append(expected)
                        .append(", provider ").append(actual);
            }
        }
        assertThat(differences.toString()).isEmpty();
    }

    /** {@return the outcome of {@code call} on a virtual thread interrupted before it, and its status after} */
    private static String interruptedBefore(Callable<Object> call) throws InterruptedException {
        AtomicReference<String> outcome = new AtomicReference<>();
        Thread t = Thread.ofVirtual().unstarted(() -> {
            Thread.currentThread().interrupt();
            String text;
            try {
                text = "returned " + call.call();
            } catch (Throwable e) {
                text = "threw " + e.getClass().getName();
            }
            outcome.set(text + ", interrupted " + Thread.currentThread().isInterrupted());
        });
        t.start();
        TestSupport.joinAll(List.of(t));
        return outcome.get();
    }
}
