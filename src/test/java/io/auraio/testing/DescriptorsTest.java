package io.auraio.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Descriptors} names a descriptor left open by number and target, and takes none for a leak
 * that another thread closed or that was open before.
 */
class DescriptorsTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void aDescriptorLeftOpenIsNamedWithItsTarget() throws Exception {
        Path file = Files.write(dir.resolve("left"), new byte[1]);
        Map<Integer, String> before = Descriptors.open();
        try (FileChannel left = FileChannel.open(file, StandardOpenOption.READ)) {
            int fd = Descriptors.oneOn(file);
            assertThat(Descriptors.newSince(before)).containsEntry(fd, file.toRealPath().toString());
            assertThatThrownBy(() -> Descriptors.assertNoneNew(before, "the test's open"))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("the test's open")
                    .hasMessageContaining(fd + "=" + file.toRealPath());
            assertThat(left.isOpen()).isTrue();
        }
        Descriptors.assertNoneNew(before, "the test's open, closed");
    }

    /** What another thread closed meanwhile is no leak; a count would have hidden the one opened meanwhile. */
    @Test
    void aDescriptorClosedMeanwhileHidesNoNewOne() throws Exception {
        Path early = Files.write(dir.resolve("early"), new byte[1]);
        Path late = Files.write(dir.resolve("late"), new byte[1]);
        FileChannel closedMeanwhile = FileChannel.open(early, StandardOpenOption.READ);
        Map<Integer, String> before = Descriptors.open();
        closedMeanwhile.close();
        Descriptors.assertNoneNew(before, "a close");
        try (FileChannel opened = FileChannel.open(late, StandardOpenOption.READ)) {
            assertThat(Descriptors.newSince(before)).as("the same count as before, one of them new")
                    .containsKey(Descriptors.oneOn(late));
            assertThat(opened.isOpen()).isTrue();
        }
    }

    @Test
    void aDescriptorWhoseFileLostItsNameSinceIsNotNew() throws Exception {
        Path file = Files.write(dir.resolve("unlinked"), new byte[1]);
        try (FileChannel open = FileChannel.open(file, StandardOpenOption.READ)) {
            int fd = Descriptors.oneOn(file);
            Map<Integer, String> before = Descriptors.open();
            Files.delete(file);
            assertThat(Descriptors.target(fd)).endsWith(" (deleted)");
            Descriptors.assertNoneNew(before, "an unlink");
            assertThat(Descriptors.isOpenOn(fd, file)).as("open on the file without its name").isTrue();
            assertThat(open.isOpen()).isTrue();
        }
    }

    @Test
    void aClosedNumberIsNotOpenOnItsFileWhenAnotherFileTakesIt() throws Exception {
        Path first = Files.write(dir.resolve("first"), new byte[1]);
        Path second = Files.write(dir.resolve("second"), new byte[1]);
        int fd;
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ)) {
            fd = Descriptors.oneOn(first);
            assertThat(Descriptors.isOpenOn(fd, first)).isTrue();
            assertThatThrownBy(() -> Descriptors.assertClosed(fd, first, "an open file"))
                    .isInstanceOf(AssertionError.class).hasMessageContaining("descriptor " + fd);
            assertThat(ch.isOpen()).isTrue();
        }
        Descriptors.assertClosed(fd, first, "a closed file");
        try (FileChannel other = FileChannel.open(second, StandardOpenOption.READ)) {
            // Whether or not it took the number: the number does not name the first file.
            assertThat(Descriptors.isOpenOn(fd, first)).isFalse();
            assertThat(Descriptors.on(second)).hasSize(1);
            assertThat(other.isOpen()).isTrue();
        }
        assertThat(Descriptors.on(second)).isEmpty();
        assertThatThrownBy(() -> Descriptors.oneOn(second)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(second.toString());
    }
}
