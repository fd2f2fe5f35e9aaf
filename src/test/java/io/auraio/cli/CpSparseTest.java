package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.auraio.testing.FaultFs;
import io.auraio.testing.FixtureAvailability;
import io.auraio.testing.TestDirectory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code auraio cp} keeps a sparse file's holes, as coreutils' cp ({@code --sparse=auto}) does:
 * the copy holds the same bytes as the source and as cp's copy, and takes no more blocks ({@code stat -c %b}) than the source nor
 * than cp's own copy of it, on one file system (data copied in the kernel), across two (read and
 * written) and from a FUSE file system with and without {@code lseek} (where it has none, the
 * file is copied whole, holes as zeros, and must still be right).
 */
class CpSparseTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private static final long MIB = 1 << 20;

    private static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /**
     * Writes a file with holes not only at its ends: a hole first, data, a hole, data larger than
     * one kernel copy range (8 MiB, so several threads copy it), a hole, a little data, a hole last.
     */
    private static Path sparseFile(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(random(64 * 1024, 1)), 1 * MIB);
            ch.write(ByteBuffer.wrap(random((int) (20 * MIB), 2)), 4 * MIB);
            ch.write(ByteBuffer.wrap(random(100, 3)), 30 * MIB + 5);
        }
        try (var file = new java.io.RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(40 * MIB); // a hole last (FileChannel.truncate only shortens)
        }
        return path;
    }

    /** {@return the blocks (512 bytes) allocated to {@code file}: stat's %b, which the JDK does not expose} */
    private static long blocks(Path file) {
        Tools.Run stat = Tools.run("stat", "-c", "%b", file.toString());
        assertThat(stat.exitCode()).as("stat " + file + ": " + stat.err()).isZero();
        return Long.parseLong(stat.out().strip());
    }

    /** Skips unless the file system of {@code sparse} keeps holes (the source then has far fewer blocks than its size). */
    private static void assumeHoles(Path sparse) throws IOException {
        long allocated = blocks(sparse) * 512;
        assumeTrue(allocated < Files.size(sparse) - 8 * MIB,
                "the file system of " + sparse + " keeps no holes: " + allocated + " bytes allocated of " + Files.size(sparse));
    }

    /** Copies {@code source} with auraio cp and with cp into {@code into}, and checks both copies. */
    private static void copyAndCompare(Path source, Path into, String name, boolean mustStaySparse) throws IOException {
        Path ours = into.resolve(name + ".ours");
        Path theirs = into.resolve(name + ".theirs");
        Cli.Result us = Cli.run("cp", source.toString(), ours.toString());
        Tools.Run them = Tools.run("cp", source.toString(), theirs.toString());
        assertThat(us.err()).as(name).isEmpty();
        assertThat(us.exitCode()).as(name).isEqualTo(them.exitCode()).isZero();
        assertThat(Files.size(ours)).as(name + ": size").isEqualTo(Files.size(source));
        assertThat(Files.mismatch(source, ours)).as(name + ": first byte that differs from the source").isEqualTo(-1);
        assertThat(Files.mismatch(theirs, ours)).as(name + ": first byte that differs from cp's copy").isEqualTo(-1);
        long sourceBlocks = blocks(source);
        long ourBlocks = blocks(ours);
        long theirBlocks = blocks(theirs);
        if (mustStaySparse) {
            assertThat(ourBlocks).as(name + ": blocks of our copy (source " + sourceBlocks + ", cp's copy "
                    + theirBlocks + ")").isLessThanOrEqualTo(sourceBlocks).isLessThanOrEqualTo(theirBlocks);
        }
        // Where the holes cannot be seen the blocks are not compared: the file is copied whole,
        // and cp may still make holes of the zeros it reads (its own sparse detection).
    }

    @Test
    void holesStayHolesOnOneFileSystem() throws IOException {
        Tools.assumePresent("cp", "stat");
        Path source = sparseFile(dir.resolve("sparse"));
        assumeHoles(source);
        copyAndCompare(source, dir.path(), "sparse", true);
        // Only holes, and a hole before data that ends the file.
        Path empty = dir.resolve("all-hole");
        try (var file = new java.io.RandomAccessFile(empty.toFile(), "rw")) {
            file.setLength(5 * MIB);
        }
        copyAndCompare(empty, dir.path(), "all-hole", true);
        Path tail = dir.resolve("data-last");
        try (FileChannel ch = FileChannel.open(tail, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(random(3000, 4)), 3 * MIB - 3000);
        }
        copyAndCompare(tail, dir.path(), "data-last", true);
    }

    @Test
    void holesStayHolesAcrossFileSystems() throws IOException {
        Tools.assumePresent("cp", "stat");
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        assumeTrue(!Files.getFileStore(shm).type().equals(Files.getFileStore(dir.path()).type()),
                "/dev/shm is on the test directory's file system type: no second file system to copy across");
        Path there = Files.createTempDirectory(shm, "cp-sparse");
        try {
            Path source = sparseFile(there.resolve("sparse"));
            assumeHoles(source);
            assumeHoles(sparseFile(dir.resolve("probe"))); // the target's file system keeps holes too
            copyAndCompare(source, dir.path(), "to-disk", true); // tmpfs to the disk: read and written
            copyAndCompare(sparseFile(dir.resolve("sparse")), there, "to-tmpfs", true);
        } finally {
            try (Stream<Path> paths = Files.walk(there)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void fromFuseWithAndWithoutLseek() throws Exception {
        Tools.assumePresent("cp", "stat");
        assumeHoles(sparseFile(dir.resolve("probe")));
        try (FaultFs fs = FixtureAvailability.mountFaultFs("CpSparseTest")) {
            Path source = sparseFile(fs.path("sparse"));
            copyAndCompare(source, dir.path(), "fuse", true); // faultfs forwards lseek to its backing file
        }
        try (FaultFs fs = FixtureAvailability.mountFaultFs("CpSparseTest-nolseek")) {
            fs.noLseek(); // before any lseek: the kernel then never asks this mount again
            Path source = sparseFile(fs.path("sparse"));
            copyAndCompare(source, dir.path(), "fuse-without-lseek", false);
        }
    }

    /**
     * A sparse file copied onto a file system that fills part way leaves a prefix of the source
     * with the source's holes still holes, and cp's message and exit status: on one file system
     * (a 32 MiB tmpfs holding the source; the space runs out while two threads copy the ranges of
     * its 20 MiB extent in the kernel, which left a hole of zeros before a later range's data)
     * and across two (onto an 8 MiB tmpfs: read and written, in order). The prefix rule is about
     * data: the source's holes before the cut stay holes (no more blocks than its data there).
     * Which range took the last of the space depends on timing, so the copy is made a few times;
     * the space runs out at the same byte each time, and every copy must be such a prefix.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"on one file system", "across file systems"})
    void aSparseCopyCutShortByAFullDiskLeavesAPrefixWithItsHoles(String where) throws Exception {
        Tools.assumePresent("cp", "stat");
        boolean one = where.startsWith("on one");
        try (FullDisk disk = FullDisk.mount(dir.resolve("small-fs"), one ? "32m" : "8m")) {
            Path source = one ? disk.path("sparse") : dir.resolve("sparse");
            byte[] first = FullDisk.nonZeroBytes(64 * 1024, 1);
            byte[] second = FullDisk.nonZeroBytes((int) (20 * MIB), 2);
            try (FileChannel ch = FileChannel.open(source, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(first), 1 * MIB);
                ch.write(ByteBuffer.wrap(second), 4 * MIB);
            }
            try (var file = new java.io.RandomAccessFile(source.toFile(), "rw")) {
                file.setLength(40 * MIB);
            }
            assumeHoles(source);
            byte[] bytes = Files.readAllBytes(source);
            Path target = disk.path("copy");
            Tools.Run theirs = Tools.run("cp", source.toString(), target.toString());
            FullDisk.assertPrefixOf(target, bytes);
            Files.delete(target);
            for (int round = 0; round < 3; round++) { // each a new interleaving of the ranges' copies
                Cli.Result ours = Cli.run("cp", source.toString(), target.toString());
                if (one) {
                    // In the kernel, as cp copies a file without holes; cp 9.1 reads and writes a
                    // sparse one there, and says "error writing" for the same full disk.
                    assertThat(ours.err()).isEqualTo("auraio cp: error copying '" + source + "' to '" + target
                            + "': No space left on device\n");
                    assertThat(theirs.err()).endsWith(": No space left on device\n").hasLineCount(1);
                } else {
                    assertThat(ours.err()).isEqualTo("auraio cp: error writing '" + target
                            + "': No space left on device\n");
                    assertThat(Tools.asTool(ours.err(), "auraio cp", "cp")).isEqualTo(theirs.err());
                }
                assertThat(ours.exitCode()).as(where).isEqualTo(theirs.exitCode()).isEqualTo(1);
                FullDisk.assertPrefixOf(target, bytes);
                // The source's data in the copy's prefix: what the copy may take, its holes nothing.
                long size = Files.size(target);
                long data = Math.max(0, Math.min(size, 1 * MIB + first.length) - 1 * MIB)
                        + Math.max(0, Math.min(size, 4 * MIB + second.length) - 4 * MIB);
                assertThat(blocks(target) * 512).as("%s: bytes allocated to our copy of %d bytes, %d of them data",
                        where, size, data).isLessThanOrEqualTo(data + 64 * 1024);
                Files.delete(target);
            }
        }
    }
}
