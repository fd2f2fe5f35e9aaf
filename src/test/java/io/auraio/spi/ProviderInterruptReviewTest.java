package io.auraio.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.Fifo;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
}
