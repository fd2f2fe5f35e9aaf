package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code auraio cp} where it copies inside the kernel ({@code copy_file_range}, source and target
 * on one file system) and where it cannot (another file system: reads and writes), on real files:
 * sparse files, files large enough to be copied in ranges by several threads, files that grow or
 * shrink while they are copied, a full disk; GNU cp as the oracle where it has an answer.
 */
class CpKernelCopyTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    /** FileMover.KERNEL_RANGE (the CLI classes are not on the test compile class path). */
    static final int KERNEL_RANGE = 8 << 20;

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aFileOfManyRangesIsCopiedExactlyAsCpCopiesIt() throws IOException {
        Tools.assumePresent("cp");
        Path source = dir.resolve("source");
        Files.write(source, random(3 * KERNEL_RANGE + 12345, 1)); // several ranges, the last short
        Cli.Result ours = Cli.run("cp", source.toString(), dir.resolve("ours").toString());
        Tools.Run theirs = Tools.run("cp", source.toString(), dir.resolve("theirs").toString());
        assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isZero();
        assertThat(ours.err()).isEmpty();
        assertThat(Files.mismatch(source, dir.resolve("ours"))).isEqualTo(-1);
        assertThat(Files.mismatch(dir.resolve("theirs"), dir.resolve("ours"))).isEqualTo(-1);
    }

    @Test
    void aSparseFileCopiesToTheSameBytes() throws IOException {
        Tools.assumePresent("cp");
        Path source = dir.resolve("sparse");
        try (FileChannel ch = FileChannel.open(source, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(random(5000, 2)), 0);
            ch.write(ByteBuffer.wrap(random(70000, 3)), 20L << 20);   // data between holes
            ch.write(ByteBuffer.wrap(random(100, 4)), (41L << 20) - 100); // data at the very end
            ch.truncate(41L << 20);
        }
        // a file that ends in a hole: data, then a length set past it
        Files.write(dir.resolve("hole-at-end"), random(10, 5));
        try (var raf = new java.io.RandomAccessFile(dir.resolve("hole-at-end").toFile(), "rw")) {
            raf.setLength(17L << 20);
        }
        for (String name : new String[] {"sparse", "hole-at-end"}) {
            Path s = dir.resolve(name);
            Cli.Result ours = Cli.run("cp", s.toString(), dir.resolve(name + ".ours").toString());
            Tools.Run theirs = Tools.run("cp", s.toString(), dir.resolve(name + ".theirs").toString());
            assertThat(ours.exitCode()).as(name).isEqualTo(theirs.exitCode()).isZero();
            assertThat(Files.size(dir.resolve(name + ".ours"))).as(name).isEqualTo(Files.size(s));
            assertThat(Files.mismatch(s, dir.resolve(name + ".ours"))).as(name).isEqualTo(-1);
            assertThat(Files.mismatch(dir.resolve(name + ".theirs"), dir.resolve(name + ".ours"))).as(name).isEqualTo(-1);
        }
    }

    @Test
    void acrossFileSystemsTheBytesAreReadAndWritten() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        assumeTrue(!Files.getFileStore(shm).type().equals(Files.getFileStore(dir.path()).type()),
                "/dev/shm is on the test directory's file system type: no second file system to copy across");
        Path there = Files.createTempDirectory(shm, "cp-across");
        try {
            byte[] big = random(2 * KERNEL_RANGE + 3, 6);
            Files.write(there.resolve("big"), big);
            Files.writeString(there.resolve("small"), "small\n");
            // from tmpfs to the test directory, and back
            Cli.Result in = Cli.run("cp", there.resolve("big").toString(), there.resolve("small").toString(),
                    dir.path().toString());
            assertThat(in.exitCode()).isZero();
            assertThat(in.err()).isEmpty();
            assertThat(Files.readAllBytes(dir.resolve("big"))).isEqualTo(big);
            assertThat(Files.readString(dir.resolve("small"))).isEqualTo("small\n");
            Cli.Result back = Cli.run("cp", dir.resolve("big").toString(), there.resolve("back").toString());
            assertThat(back.exitCode()).isZero();
            assertThat(Files.readAllBytes(there.resolve("back"))).isEqualTo(big);
        } finally {
            try (var paths = Files.walk(there)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aFileThatGrowsWhileCopiedIsCopiedToAPrefixOfWhatItBecame() throws Exception {
        Path source = dir.resolve("growing");
        byte[] start = random(2 * KERNEL_RANGE + 5, 7);
        Files.write(source, start);
        AtomicBoolean stop = new AtomicBoolean();
        byte[] more = random(256 * 1024, 8);
        Thread writer = Thread.ofPlatform().start(() -> {
            try (FileChannel ch = FileChannel.open(source, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
                for (int i = 0; i < 200 && !stop.get(); i++) { // at most 50 MiB more
                    ch.write(ByteBuffer.wrap(more));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Cli.Result ours;
        try {
            ours = Cli.run("cp", source.toString(), dir.resolve("copy").toString());
        } finally {
            stop.set(true);
            writer.join();
        }
        assertThat(ours.exitCode()).isZero();
        byte[] copy = Files.readAllBytes(dir.resolve("copy"));
        byte[] now = Files.readAllBytes(source);
        assertThat(copy.length).isGreaterThanOrEqualTo(start.length).isLessThanOrEqualTo(now.length);
        assertThat(Arrays.mismatch(copy, Arrays.copyOf(now, copy.length))).as("first difference").isEqualTo(-1);
    }

    @Test
    void aFileThatShrinksWhileCopiedIsCopiedToAPrefixOfWhatItWas() throws Exception {
        for (int round = 0; round < 3; round++) {
            Path source = dir.resolve("shrinking" + round);
            byte[] start = random(6 * KERNEL_RANGE, 9 + round);
            Files.write(source, start);
            long cut = KERNEL_RANGE + 4321;
            long delay = 5L * round;
            Thread cutter = Thread.ofPlatform().start(() -> {
                try (FileChannel ch = FileChannel.open(source, StandardOpenOption.WRITE)) {
                    Thread.sleep(delay); // early, or a little later: wherever the copy is then
                    ch.truncate(cut);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Cli.Result ours;
            try {
                ours = Cli.run("cp", source.toString(), dir.resolve("copy" + round).toString());
            } finally {
                cutter.join();
            }
            assertThat(ours.exitCode()).isZero();
            byte[] copy = Files.readAllBytes(dir.resolve("copy" + round));
            // Whatever the copy saw: no bytes that were never in the file, no gap, at least the part that stayed.
            assertThat(copy.length).isGreaterThanOrEqualTo((int) cut).isLessThanOrEqualTo(start.length);
            assertThat(Arrays.mismatch(copy, Arrays.copyOf(start, copy.length))).as("first difference").isEqualTo(-1);
        }
    }

    @Test
    void aFullDiskIsOneLineAsCpSaysItAlsoWhenTheKernelCopies() throws Exception {
        Tools.assumePresent("cp", "mount", "umount");
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a small tmpfs needs root");
        Path mnt = Files.createDirectories(dir.resolve("small-fs"));
        Tools.Run mounted = Tools.run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt.toString());
        assumeTrue(mounted.exitCode() == 0, "cannot mount a tmpfs here: " + mounted.err());
        try {
            Path source = mnt.resolve("source");
            Files.write(source, random(5 << 18, 10)); // 1.25 MiB of 2: a second copy cannot fit
            Path target = mnt.resolve("copy");
            Cli.Result ours = Cli.run("cp", source.toString(), target.toString());
            Files.deleteIfExists(target);
            Tools.Run theirs = Tools.run("cp", source.toString(), target.toString());
            assertThat(ours.err()).isEqualTo("auraio cp: error copying '" + source + "' to '" + target
                    + "': No space left on device\n");
            assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
            assertThat(ours.exitCode()).isEqualTo(theirs.exitCode()).isEqualTo(1);
        } finally {
            Tools.run("umount", "-l", mnt.toString());
        }
    }

    /**
     * A copy in the kernel that runs out of space while several threads copy its ranges (25 MiB
     * of non-zero bytes on a 40 MiB tmpfs, copied beside itself: the first 8 MiB range alone,
     * then the rest two or more ranges at once, the space gone 7 MiB into them) leaves a prefix of
     * the source, as cp: it had a hole where the range that failed first stopped, before the
     * part a later range had copied, unless the range that failed first had taken all the space
     * (so the copy is made a few times). Deterministic: the tmpfs is full at 15 MiB of copy
     * whatever the timing, and every copy must be a prefix.
     */
    @Test
    void aFullDiskDuringAParallelKernelCopyLeavesAPrefixOfTheSourceAsCp() throws Exception {
        Tools.assumePresent("cp");
        byte[] bytes = FullDisk.nonZeroBytes(3 * KERNEL_RANGE + (1 << 20), 11);
        try (FullDisk disk = FullDisk.mount(dir.resolve("small-fs"), "40m")) {
            Path source = Files.write(disk.path("source"), bytes);
            Path target = disk.path("copy");
            Cli.Result ours = null;
            for (int round = 0; round < 3; round++) { // each a new interleaving of the ranges' copies
                Files.deleteIfExists(target);
                ours = Cli.run("cp", source.toString(), target.toString());
                assertThat(ours.err()).isEqualTo("auraio cp: error copying '" + source + "' to '" + target
                        + "': No space left on device\n");
                assertThat(ours.exitCode()).isEqualTo(1);
                FullDisk.assertPrefixOf(target, bytes);
                assertThat(Files.size(target)).as("bytes copied before the disk was full").isPositive();
            }

            Files.delete(target);
            Tools.Run theirs = Tools.run("cp", source.toString(), target.toString());
            assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
            assertThat(theirs.exitCode()).isEqualTo(1);
            FullDisk.assertPrefixOf(target, bytes);
        }
    }
}
