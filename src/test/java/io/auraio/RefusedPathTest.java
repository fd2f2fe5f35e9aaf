package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Paths the kernel refuses while preparing the request (issue 11): an empty path and one of
 * PATH_MAX bytes or more once stopped every later request on their ring, Engine.close() included.
 * The JDK is the oracle for what each gives.
 */
@ExtendWith(IoUringAvailable.class)
class RefusedPathTest {
    private static final Duration BOUND = Duration.ofSeconds(30);

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void theEmptyPathIsTheCurrentDirectoryAsInTheJdk() throws Exception {
        Path good = Files.write(dir.resolve("good"), TestSupport.randomBytes(10_000, 1));
        try (Engine engine = Engine.create(Options.builder().ringCount(1).build())) {
            assertTimeoutPreemptively(BOUND, () -> {
                IOException jdk = readAllOfEmptyPath(FileChannel.open(Path.of(""), StandardOpenOption.READ));
                IOException ours = readAllOfEmptyPath(AuraFileChannel.open(engine, Path.of(""),
                        java.util.Set.of(StandardOpenOption.READ)));
                assertThat(jdk).hasMessageContaining("Is a directory");
                assertThat(ours).isInstanceOf(IOException.class).hasMessageContaining("Is a directory");
                assertGoodRequestsComplete(engine, good);
            });
        }
    }

    private static IOException readAllOfEmptyPath(FileChannel channel) {
        try (channel) {
            channel.read(ByteBuffer.allocate(16));
            throw new AssertionError("a read of the current directory succeeded");
        } catch (IOException e) {
            return e;
        }
    }

    @Test
    void aPathOfPathMaxBytesFailsAsInTheJdkAndTheRingKeepsServing() throws Exception {
        Path good = Files.write(dir.resolve("good"), TestSupport.randomBytes(10_000, 2));
        Path tooLong = dir.resolve("x".repeat(200) + "/" + "y".repeat(4000));
        assertThatThrownBy(() -> FileChannel.open(tooLong, StandardOpenOption.READ).close())
                .isInstanceOf(FileSystemException.class).hasMessageContaining("File name too long");
        Engine engine = Engine.create(Options.builder().ringCount(1).build());
        try {
            assertTimeoutPreemptively(BOUND, () -> {
                for (int round = 0; round < 5; round++) {
                    assertThatThrownBy(() -> AuraFile.open(engine, tooLong, StandardOpenOption.READ))
                            .isInstanceOf(FileSystemException.class).hasMessageContaining("File name too long");
                    assertGoodRequestsComplete(engine, good);
                }
                engine.close();
            }, "the ring stopped serving after a refused path");
        } finally {
            engine.close();
        }
    }

    @Test
    void theEmptyPathThroughTheProviderIsADirectoryAndLaterReadsComplete() throws Exception {
        Path good = Files.write(dir.resolve("good"), "hello".getBytes());
        var provider = new io.auraio.spi.AuraFileSystemProvider(java.nio.file.FileSystems.getDefault().provider());
        var fs = provider.getFileSystem(java.net.URI.create("file:///"));
        assertTimeoutPreemptively(BOUND, () -> {
            IOException jdk = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> Files.readAllBytes(Path.of("")));
            IOException ours = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                    () -> Files.readAllBytes(fs.getPath("")));
            // Not NoSuchFileException: the JDK's IOException, here as its subclass with the errno.
            assertThat(jdk).hasMessageContaining("Is a directory");
            assertThat(ours).isNotInstanceOf(java.nio.file.NoSuchFileException.class)
                    .hasMessageContaining("Is a directory");
            for (int i = 0; i < 4; i++) {
                assertThat(Files.readString(fs.getPath(good.toString()))).isEqualTo("hello");
            }
        });
    }

    /** Opens, reads, sizes and closes {@code good} from several threads on {@code engine}. */
    private static void assertGoodRequestsComplete(Engine engine, Path good) throws Exception {
        byte[] expected = Files.readAllBytes(good);
        List<Throwable> failures = TestSupport.atOnce(8, () -> {
            try (AuraFile f = AuraFile.open(engine, good, StandardOpenOption.READ)) {
                assertThat(f.size()).isEqualTo(expected.length);
                ByteBuffer dst = ByteBuffer.allocate(expected.length);
                f.readFully(dst, 0);
                assertThat(dst.array()).isEqualTo(expected);
            }
        });
        assertThat(failures).containsOnlyNulls();
    }
}
