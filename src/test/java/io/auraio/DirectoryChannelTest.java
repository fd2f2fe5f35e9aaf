package io.auraio;

import static java.nio.file.StandardOpenOption.READ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.auraio.testing.Descriptors;
import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A channel open on a directory: what needs a JDK channel beside the file's own descriptor (locks,
 * mappings) answers as {@code FileChannel.open(dir, READ)} does, side by side. The companion
 * channel was reopened with {@code java.io}, which opens no directory: every lock and map threw
 * {@code FileNotFoundException} "(Is a directory)" where the JDK locks and maps.
 */
@ExtendWith(IoUringAvailable.class)
class DirectoryChannelTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private Engine engine;

    @BeforeEach
    void createEngine() throws AuraIOException {
        engine = Engine.create(Options.builder().ringCount(1).build());
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    /** {@return what {@code call} returned, or the exception's class and message} */
    private static String outcome(Callable<?> call) {
        try {
            Object r = call.call();
            if (r instanceof FileLock l) {
                String s = "lock " + l.position() + "+" + l.size() + (l.isShared() ? " shared" : " exclusive")
                        + (l.isValid() ? " valid" : "");
                l.release();
                return s;
            }
            if (r instanceof MappedByteBuffer m) {
                return "mapped " + m.capacity() + (m.isReadOnly() ? " read-only" : "");
            }
            return String.valueOf(r);
        } catch (Exception e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    private static List<String> outcomes(FileChannel ch) {
        List<String> o = new ArrayList<>();
        o.add(outcome(() -> ch.tryLock(0, Long.MAX_VALUE, true)));
        o.add(outcome(() -> ch.lock(0, 10, true)));
        o.add(outcome(() -> ch.tryLock()));
        o.add(outcome(() -> ch.lock()));
        o.add(outcome(() -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 0)));
        o.add(outcome(() -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1)));
        o.add(outcome(() -> ch.map(FileChannel.MapMode.READ_WRITE, 0, 0)));
        o.add(outcome(() -> ch.map(FileChannel.MapMode.PRIVATE, 0, 0)));
        return o;
    }

    @Test
    void locksAndMapsOfADirectoryAnswerAsFileChannels() throws Exception {
        Path d = dir.path();
        List<String> expected;
        try (FileChannel jdk = FileChannel.open(d, READ)) {
            expected = outcomes(jdk);
        }
        // The first channel of the JVM takes the descriptor it keeps in reserve (JdkCompanionChannel), for good.
        AuraFileChannel.open(engine, Files.createFile(d.resolve("f")), READ).close();
        Map<Integer, String> before = Descriptors.open();
        try (FileChannel aura = AuraFileChannel.open(engine, d, READ)) {
            assertThat(outcomes(aura)).isEqualTo(expected);
        }
        Descriptors.assertNoneNew(before, "a directory's channel, its locks and maps, closed");
        assertThat(expected.get(0)).as("the JDK's own answer, which the test compares with")
                .isEqualTo("lock 0+" + Long.MAX_VALUE + " shared valid");
    }

    /** The directory's locks live in the JDK's lock table, as a FileChannel's: overlaps are seen both ways. */
    @Test
    void aDirectorysLockOverlapsAFileChannelsLockOnIt() throws Exception {
        Path d = dir.path();
        try (FileChannel aura = AuraFileChannel.open(engine, d, READ); FileChannel jdk = FileChannel.open(d, READ)) {
            try (FileLock held = aura.lock(0, 100, true)) {
                assertThat(held.isValid()).isTrue();
                assertThatThrownBy(() -> jdk.tryLock(50, 10, true)).isInstanceOf(OverlappingFileLockException.class);
            }
            try (FileLock held = jdk.lock(0, 100, true)) {
                assertThat(held.isValid()).isTrue();
                assertThatThrownBy(() -> aura.tryLock(50, 10, true)).isInstanceOf(OverlappingFileLockException.class);
            }
        }
    }
}
