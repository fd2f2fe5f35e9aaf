package io.auraio;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.DSYNC;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.IoUringAvailable;
import io.auraio.testing.TestDirectory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Random sequences of {@code FileChannel} operations run on a JDK channel and an
 * {@link AuraFileChannel} over two files with the same content, comparing after every step the
 * return value or exception type, every buffer's position, limit and content, the channel's
 * position and size, and at the end of each sequence the bytes of both files.
 *
 * <p>The seed is printed in every failure; rerun one with {@code -Dauraio.channel.seed=<seed>}.
 * The run is bounded by {@link #BUDGET} of sequences, not asserted on.
 */
@ExtendWith(IoUringAvailable.class)
class AuraFileChannelDifferentialTest {
    private static final Duration BUDGET = Duration.ofSeconds(3);
    private static final int MAX_SEQUENCES = 400;
    private static final int OPS_PER_SEQUENCE = 60;
    private static final int MAX_FILE = 20_000;
    private static final List<Set<OpenOption>> OPTION_SETS = List.of(
            Set.of(READ), Set.of(WRITE), Set.of(READ, WRITE), Set.of(APPEND), Set.of(WRITE, APPEND),
            Set.of(READ, WRITE, TRUNCATE_EXISTING), Set.of(WRITE, CREATE), Set.of(READ, WRITE, DSYNC));

    @RegisterExtension
    static final SharedEngine shared = new SharedEngine(Options.builder().ringCount(1).build());

    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    @Test
    void randomOperationSequencesGiveTheJdksAnswers() throws IOException {
        String fixed = System.getProperty("auraio.channel.seed");
        long master = fixed != null ? Long.parseLong(fixed) : System.nanoTime();
        long deadline = System.nanoTime() + BUDGET.toNanos();
        int sequences = 0;
        Random seeds = new Random(master);
        do {
            long seed = fixed != null ? master : seeds.nextLong();
            runSequence(seed);
            sequences++;
        } while (fixed == null && sequences < MAX_SEQUENCES && System.nanoTime() - deadline < 0);
        System.out.println("AuraFileChannelDifferentialTest: " + sequences + " sequences of " + OPS_PER_SEQUENCE
                + " operations, master seed " + master);
        assertThat(sequences).isPositive();
    }

    private void runSequence(long seed) throws IOException {
        Random rnd = new Random(seed);
        Path jdkPath = dir.resolve("jdk-" + seed);
        Path auraPath = dir.resolve("aura-" + seed);
        byte[] initial = new byte[rnd.nextInt(MAX_FILE)];
        rnd.nextBytes(initial);
        Files.write(jdkPath, initial);
        Files.write(auraPath, initial);
        Set<OpenOption> options = OPTION_SETS.get(rnd.nextInt(OPTION_SETS.size()));
        List<String> log = new ArrayList<>();
        log.add("open " + options + " on " + initial.length + " bytes");
        try (FileChannel jdk = FileChannel.open(jdkPath, options);
             FileChannel aura = AuraFileChannel.open(shared.engine(), auraPath, options)) {
            for (int i = 0; i < OPS_PER_SEQUENCE; i++) {
                Op op = Op.random(rnd);
                log.add(op.toString());
                String expected = op.apply(jdk);
                String actual = op.apply(aura);
                assertThat(actual).as(() -> failure(seed, log)).isEqualTo(expected);
                assertThat(observe(aura)).as(() -> failure(seed, log)).isEqualTo(observe(jdk));
            }
        }
        assertThat(Files.readAllBytes(auraPath)).as(() -> failure(seed, log) + "\nfinal file contents differ")
                .isEqualTo(Files.readAllBytes(jdkPath));
        Files.delete(jdkPath);
        Files.delete(auraPath);
    }

    private static String failure(long seed, List<String> log) {
        return "seed " + seed + " (rerun with -Dauraio.channel.seed=" + seed + "), operations:\n  "
                + String.join("\n  ", log);
    }

    /** Channel state after a step: open, position, size (or the exception each throws). */
    private static String observe(FileChannel ch) {
        return "open=" + ch.isOpen() + " position=" + call(ch::position) + " size=" + call(ch::size);
    }

    @FunctionalInterface
    private interface Call {
        Object run() throws Exception;
    }

    private static String call(Call c) {
        try {
            return String.valueOf(c.run());
        } catch (Exception e) {
            return e.getClass().getName();
        }
    }

    /** How a test buffer is made: the same spec makes equal buffers for both channels. */
    private record BufferSpec(boolean direct, boolean readOnly, int capacity, int position, int limit, long fill) {
        static BufferSpec random(Random rnd) {
            int capacity = rnd.nextInt(10) == 0 ? 0 : rnd.nextInt(rnd.nextBoolean() ? 64 : 12_000) + 1;
            int limit = rnd.nextInt(capacity + 1);
            int position = rnd.nextInt(limit + 1);
            return new BufferSpec(rnd.nextBoolean(), rnd.nextInt(12) == 0, capacity, position, limit, rnd.nextLong());
        }

        ByteBuffer create() {
            ByteBuffer b = direct ? ByteBuffer.allocateDirect(capacity) : ByteBuffer.allocate(capacity);
            byte[] content = new byte[capacity];
            new Random(fill).nextBytes(content);
            b.put(content).clear().limit(limit).position(position);
            return readOnly ? b.asReadOnlyBuffer() : b;
        }

        static String describe(ByteBuffer b) {
            ByteBuffer all = b.duplicate().clear();
            byte[] bytes = new byte[all.remaining()];
            all.get(bytes);
            return "[pos=" + b.position() + " lim=" + b.limit() + " crc=" + Arrays.hashCode(bytes) + "]";
        }
    }

    /** One random operation with its arguments fixed, applied the same way to either channel. */
    private record Op(String name, long a, long b, BufferSpec[] buffers, int offset, int length, long seed) {
        static Op random(Random rnd) {
            String[] names = {"read", "read", "readAt", "readAt", "write", "write", "writeAt", "writeAt",
                "readv", "writev", "position", "setPosition", "size", "truncate", "force", "transferTo",
                "transferFrom", "map", "tryLock", "close"};
            String name = names[rnd.nextInt(names.length - (rnd.nextInt(30) == 0 ? 0 : 1))];
            int count = name.endsWith("v") ? rnd.nextInt(5) : 1;
            BufferSpec[] buffers = new BufferSpec[count];
            for (int i = 0; i < count; i++) {
                buffers[i] = BufferSpec.random(rnd);
            }
            int offset = count == 0 ? 0 : rnd.nextInt(count + 1) - (rnd.nextInt(20) == 0 ? 1 : 0);
            int length = rnd.nextInt(count + 2 - Math.max(0, offset)) - (rnd.nextInt(20) == 0 ? 1 : 0);
            return new Op(name, position(rnd), rnd.nextInt(15_000) - (rnd.nextInt(20) == 0 ? 20_000 : 0),
                    buffers, offset, length, rnd.nextLong());
        }

        /** Mostly in or near the file, sometimes far beyond or negative. */
        private static long position(Random rnd) {
            return switch (rnd.nextInt(10)) {
                case 0 -> -1 - rnd.nextInt(10);
                case 1 -> MAX_FILE + rnd.nextInt(100_000);
                default -> rnd.nextInt(MAX_FILE + 100);
            };
        }

        String apply(FileChannel ch) {
            ByteBuffer[] bufs = Arrays.stream(buffers).map(BufferSpec::create).toArray(ByteBuffer[]::new);
            String result = call(() -> switch (name) {
                case "read" -> ch.read(bufs[0]);
                case "readAt" -> ch.read(bufs[0], a);
                case "write" -> ch.write(bufs[0]);
                case "writeAt" -> ch.write(bufs[0], a);
                case "readv" -> ch.read(bufs, offset, length);
                case "writev" -> ch.write(bufs, offset, length);
                case "position" -> ch.position();
                case "setPosition" -> ch.position(a) == ch;
                case "size" -> ch.size();
                case "truncate" -> ch.truncate(a) == ch;
                case "force" -> {
                    ch.force(a % 2 == 0);
                    yield "forced";
                }
                case "transferTo" -> transferTo(ch);
                case "transferFrom" -> transferFrom(ch);
                case "map" -> map(ch);
                case "tryLock" -> tryLock(ch);
                case "close" -> {
                    ch.close();
                    yield "closed";
                }
                default -> throw new AssertionError(name);
            });
            StringBuilder out = new StringBuilder(result);
            for (ByteBuffer buf : bufs) {
                out.append(' ').append(BufferSpec.describe(buf));
            }
            return out.toString();
        }

        private String transferTo(FileChannel ch) throws IOException {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            long n = ch.transferTo(a, b, Channels.newChannel(out));
            return n + " " + HexFormat.of().formatHex(out.toByteArray()).hashCode();
        }

        private String transferFrom(FileChannel ch) throws IOException {
            byte[] data = new byte[(int) Math.floorMod(seed, 9_000L)];
            new Random(seed).nextBytes(data);
            ByteArrayInputStream in = new ByteArrayInputStream(data);
            ReadableByteChannel src = Channels.newChannel(in);
            long n = ch.transferFrom(src, a, b);
            return n + " left=" + in.available();
        }

        /** Maps only inside the file: pages past its end would fault. */
        private String map(FileChannel ch) throws IOException {
            long size = ch.size();
            long at = Math.floorMod(a, size + 1);
            long len = Math.min(Math.abs(b), size - at);
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, at, len);
            byte[] bytes = new byte[m.remaining()];
            m.get(bytes);
            return len + " " + Arrays.hashCode(bytes);
        }

        private String tryLock(FileChannel ch) throws IOException {
            try (FileLock lock = ch.tryLock(a, Math.abs(b), seed % 2 == 0)) {
                return lock == null ? "null" : lock.position() + "+" + lock.size() + " shared=" + lock.isShared()
                        + " same=" + (lock.channel() == ch);
            }
        }

        @Override
        public String toString() {
            return name + "(a=" + a + ", b=" + b + ", buffers=" + Arrays.toString(buffers) + ", offset=" + offset
                    + ", length=" + length + ", seed=" + seed + ")";
        }
    }
}
