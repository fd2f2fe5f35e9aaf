import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * How late {@code sched_yield} comes back for a thread that spins and yields every 5 us, as a
 * polling caller does ({@code RingPoller.POLL_YIELD_EVERY_NANOS}): a histogram over 3 s. On a quiet
 * machine nearly every yield returns within 10 us; beside busy processes some return a slice of
 * theirs later (1-4+ ms), which is what {@code RingPoller.POLL_YIELD_LOST_NANOS} detects
 * (docs/design.md, "Yields on a busy machine").
 *
 * <p>{@code java --enable-native-access=ALL-UNNAMED bench/YieldLatency.java} (try it beside
 * {@code yes > /dev/null &} twice).
 */
public class YieldLatency {
    public static void main(String[] args) throws Throwable {
        MethodHandle schedYield = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("sched_yield").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT));
        long[] limits = {10_000, 100_000, 500_000, 1_000_000, 2_000_000, 4_000_000, Long.MAX_VALUE};
        String[] names = {"<10us", "<100us", "<500us", "<1ms", "<2ms", "<4ms", ">=4ms"};
        long[] counts = new long[limits.length];
        long end = System.nanoTime() + 3_000_000_000L;
        long yields = 0;
        while (System.nanoTime() < end) {
            long spinStart = System.nanoTime();
            while (System.nanoTime() - spinStart < 5_000) {
                Thread.onSpinWait();
            }
            long before = System.nanoTime();
            int unused = (int) schedYield.invokeExact();
            long took = System.nanoTime() - before;
            yields++;
            int bucket = 0;
            while (took >= limits[bucket]) {
                bucket++;
            }
            counts[bucket]++;
        }
        StringBuilder line = new StringBuilder("yields " + yields + ":");
        for (int i = 0; i < names.length; i++) {
            line.append(' ').append(names[i]).append(' ').append(counts[i]);
        }
        System.out.println(line);
    }
}
