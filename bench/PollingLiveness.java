import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import jdk.management.VirtualThreadSchedulerMXBean;

/**
 * Carrier liveness beside a caller that polls for its completion, without io_uring: one virtual
 * thread makes "requests" that a platform thread completes ~55 us later (and unparks it), and either
 * parks for each ({@code park}), spins up to 200 us first ({@code spin}), or spins and leaves the spin
 * as soon as the scheduler reports a queued task, as {@code RingPoller.pollWhileCarrierIsFree} does
 * ({@code spincheck}), or does that and calls {@code sched_yield} every 5 us of its spin, as the poll loop
 * does since stop 17 ({@code spincheckyield}); a second virtual thread wants to run every 1 ms, and
 * its lateness is printed.
 * Made to separate the JDK scheduler's part in the polling's liveness cost (docs/design.md, "Callers
 * polling") from the ring's.
 *
 * <p>{@code java --enable-native-access=ALL-UNNAMED -Djdk.virtualThreadScheduler.parallelism=2
 * bench/PollingLiveness.java park|spin|spincheck|spincheckyield}
 */
public class PollingLiveness {
    static volatile boolean stop;
    static volatile long dueAt;       // when the outstanding request completes; 0 = none
    static volatile boolean done;
    static volatile Thread waiter;
    static final MethodHandle SCHED_YIELD = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("sched_yield").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT));

    public static void main(String[] a) throws Exception {
        String mode = a[0]; // park | spin | spincheck | spincheckyield
        boolean check = mode.startsWith("spincheck");
        boolean yield = mode.equals("spincheckyield");
        VirtualThreadSchedulerMXBean bean = ManagementFactory.getPlatformMXBean(VirtualThreadSchedulerMXBean.class);
        Thread device = Thread.ofPlatform().daemon().start(() -> {
            while (!stop) {
                long d = dueAt;
                if (d != 0 && System.nanoTime() >= d) {
                    dueAt = 0;
                    done = true;
                    Thread w = waiter;
                    if (w != null) LockSupport.unpark(w);
                } else {
                    LockSupport.parkNanos(20_000);
                }
            }
        });
        long[] ops = new long[1];
        Thread reader = Thread.ofVirtual().start(() -> {
            while (!stop) {
                done = false;
                waiter = Thread.currentThread();
                dueAt = System.nanoTime() + 55_000;
                if (!mode.equals("park")) {
                    long lastYield = System.nanoTime();
                    long end = lastYield + 200_000;
                    for (int i = 1; !done; i++) {
                        Thread.onSpinWait();
                        if ((i & 31) != 0) continue;
                        long now = System.nanoTime();
                        if (now > end || (check && bean.getQueuedVirtualThreadCount() > 0)) break;
                        if (yield && now - lastYield > 5_000) {
                            try {
                                int unused = (int) SCHED_YIELD.invokeExact();
                            } catch (Throwable t) {
                                throw new AssertionError(t);
                            }
                            lastYield = System.nanoTime();
                        }
                    }
                }
                while (!done && !stop) LockSupport.park();
                ops[0]++;
            }
        });
        long[] late = new long[3000];
        Thread ticker = Thread.ofVirtual().start(() -> {
            long next = System.nanoTime() + 1_000_000;
            for (int i = 0; i < late.length; i++) {
                LockSupport.parkNanos(next - System.nanoTime());
                late[i] = System.nanoTime() - next;
                next += 1_000_000;
            }
        });
        ticker.join();
        stop = true;
        LockSupport.unpark(reader);
        reader.join();
        Arrays.sort(late);
        System.out.printf("%-9s ops %6d: ticker late p50 %d us p99 %d us max %d us%n", mode, ops[0], late[1500] / 1000, late[2970] / 1000, late[2999] / 1000);
    }
}
