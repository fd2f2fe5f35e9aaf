import java.lang.foreign.*;
import java.lang.invoke.MethodHandle;
import java.nio.file.*;
import static java.lang.foreign.ValueLayout.*;

/**
 * Random 4 KiB reads of a file in the page cache, on one platform thread, alternating two system
 * calls through the same FFM downcall path: {@code pread} (what FileChannel makes, and may block
 * its carrier on a miss) and {@code preadv2} with {@code RWF_NOWAIT} (what AuraFile's fast path
 * makes: it fails with EAGAIN instead of blocking, and the read goes to the ring). Prints each
 * call's rate and their ratio: the kernel's ceiling for a non-blocking read served from the page
 * cache, against which AuraFile's one-thread page-cache ratio to FileChannel is read (issue 14;
 * docs/benchmarks.md, "page cache at one thread").
 *
 * <p>{@code java --enable-native-access=ALL-UNNAMED bench/PreadVsPreadv2.java FILE [ROUNDS]} (the
 * file read into the page cache first, e.g. with {@code cat FILE > /dev/null})
 */
public class PreadVsPreadv2 {
    private static final int RWF_NOWAIT = 0x8;
    private static final int BLOCK = 4096;

    public static void main(String[] args) throws Throwable {
        Path file = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        MethodHandle pread = linker.downcallHandle(libc.find("pread").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), Linker.Option.critical(false));
        MethodHandle preadv2 = linker.downcallHandle(libc.find("preadv2").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT),
                Linker.Option.critical(false));
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) open.invokeExact(arena.allocateFrom(file.toString()), 0);
            if (fd < 0) {
                throw new IllegalArgumentException("cannot open " + file);
            }
            long blocks = Files.size(file) / BLOCK;
            MemorySegment buf = arena.allocate(BLOCK, BLOCK);
            MemorySegment iov = arena.allocate(16, 8);
            iov.set(ADDRESS, 0, buf);
            iov.set(JAVA_LONG, 8, BLOCK);
            long ops = 2_000_000;
            double[] rate = new double[2];
            for (int round = 0; round <= rounds; round++) { // round 0 warms up, unreported
                for (int call = 0; call < 2; call++) {
                    long x = 88172645463325252L;
                    long misses = 0;
                    long start = System.nanoTime();
                    for (long i = 0; i < ops; i++) {
                        x ^= x << 13;
                        x ^= x >>> 7;
                        x ^= x << 17;
                        long offset = Math.floorMod(x, blocks) * BLOCK;
                        long r = call == 0 ? (long) pread.invokeExact(fd, buf, (long) BLOCK, offset)
                                : (long) preadv2.invokeExact(fd, iov, 1, offset, RWF_NOWAIT);
                        if (r != BLOCK) {
                            misses++;
                        }
                    }
                    double perSecond = ops / ((System.nanoTime() - start) / 1e9);
                    if (round > 0) {
                        rate[call] += perSecond;
                        System.out.printf("round %d %-20s %,10.0f reads/s%s%n", round,
                                call == 0 ? "pread" : "preadv2 RWF_NOWAIT", perSecond,
                                misses > 0 ? " (" + misses + " not served from the page cache)" : "");
                    }
                }
            }
            System.out.printf("preadv2 RWF_NOWAIT / pread: %.2f (mean over %d rounds)%n", rate[1] / rate[0], rounds);
        }
    }
}
