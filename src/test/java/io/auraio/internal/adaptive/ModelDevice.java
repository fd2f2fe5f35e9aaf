package io.auraio.internal.adaptive;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * A deterministic, event-driven model of a ring in front of a device, driving an
 * {@link AimdController} the way the engine will, on simulated time.
 *
 * <p>The device has {@code channels} parallel servers, each taking {@code serviceNanos} per
 * request (times 1 +/- {@code jitter}, from a seeded generator), and a FIFO queue in front of
 * them: up to {@code channels} requests in flight it answers in the service time; beyond that
 * (the knee) throughput stays flat and latency grows linearly with what is in flight. Demand is a
 * closed loop of {@code demand} callers, each re-issuing a request as soon as its last one
 * completed; callers beyond the controller's in-flight limit wait at the gate.
 *
 * <p>Every 10 simulated ms (or irregularly, see {@link #setTickJitter}) the model calls {@code observePending} and {@code tick}, then applies
 * the controller's limit, as the poller will. The controller's clock is simulated time plus an
 * offset the test can step; completion latencies are measured on that clock, so a request that
 * straddles a step back reports a negative latency, as it would in the engine.
 */
final class ModelDevice {
    static final long TICK_NANOS = 10_000_000L;
    static final long BYTES_PER_REQUEST = 4096;

    /** What one tick looked like. */
    record TickSample(long tick, int limit, Phase phase, long p99EstimateNanos, long exactP99Nanos,
                      long targetNanos, long completions) {}

    private final SplittableRandom random;
    private final SplittableRandom tickRandom;
    private final double jitter;
    private double tickJitter;
    private final SplittableRandom reapRandom;
    private double lateReapFraction;
    private long lateReapNanos;
    private final LongHeap servers = new LongHeap();
    private final LongHeap completions = new LongHeap();
    /** Callers whose request completed but who have not run yet: keyed by when they do. */
    private final LongHeap returning = new LongHeap();
    private long callerReturnNanos;
    private final List<TickSample> history = new ArrayList<>();
    private long[] tickLatencies = new long[1024];
    private int tickCount;
    private AimdController controller;
    private long now;
    private long clockOffset;
    private long serviceNanos;
    private int channels;
    private int demand;
    private int inFlight;
    private int waiting;
    private long ticks;

    ModelDevice(long serviceNanos, int channels, double jitter, long seed) {
        this.serviceNanos = serviceNanos;
        this.jitter = jitter;
        this.random = new SplittableRandom(seed);
        this.tickRandom = new SplittableRandom(seed + 1);
        this.reapRandom = new SplittableRandom(seed + 2);
        setChannels(channels);
    }

    /** {@return the clock to give the controller: simulated nanoseconds plus the step offset} */
    LongSupplier clock() {
        return () -> now + clockOffset;
    }

    void attach(AimdController c) {
        this.controller = c;
    }

    void setDemand(int callers) {
        demand = callers;
        int outstanding = inFlight + waiting + returning.size();
        if (outstanding < callers) {
            waiting += callers - outstanding;
        } else {
            waiting -= Math.min(waiting, outstanding - callers);
        }
        admit();
    }

    /** Changes the device: new requests take {@code nanos} each on {@code channelCount} servers. */
    void setDevice(long nanos, int channelCount) {
        serviceNanos = nanos;
        setChannels(channelCount);
    }

    private void setChannels(int count) {
        while (channels < count) {
            servers.add(now, 0, 0);
            channels++;
        }
        while (channels > count) {
            servers.poll();
            channels--;
        }
    }

    /** Steps the controller's clock (not the device) by {@code deltaNanos}, which may be negative. */
    void stepClock(long deltaNanos) {
        clockOffset += deltaNanos;
    }

    /** Lets {@code nanos} of simulated time pass with the device running but no ticks (the poller was not ticking). */
    void runWithoutTicks(long nanos) {
        runUntil(now + nanos);
    }

    /** From now on each tick comes 10 ms times 1 +/- {@code fraction} after the previous one. */
    void setTickJitter(double fraction) {
        tickJitter = fraction;
    }

    /**
     * From now on a {@code fraction} of completions is reported {@code nanos} late, whatever is in
     * flight: a busy CPU delaying the poller that reaps them. The device and its callers are not
     * slowed (the model's throughput is unchanged); only the latency the controller sees grows.
     */
    void setLateReaps(double fraction, long nanos) {
        lateReapFraction = fraction;
        lateReapNanos = nanos;
    }

    /**
     * From now on a caller whose request completed runs {@code nanos} later (0: at once), holding
     * its slot meanwhile, as a virtual thread does until it returns: a cold JIT or a busy CPU.
     * The slot counts as in use, but the device no longer has the request.
     */
    void setCallerReturnNanos(long nanos) {
        callerReturnNanos = nanos;
    }

    void runTicks(int n) {
        for (int i = 0; i < n; i++) {
            runUntil(now + Math.round(TICK_NANOS * (1 + tickJitter * (2 * tickRandom.nextDouble() - 1))));
            controller.observePending(inFlight + returning.size(), waiting, inFlight);
            controller.tick();
            admit();
            history.add(new TickSample(ticks++, controller.inFlightLimit(), controller.phase(),
                    controller.p99LatencyNanos(), exactTickP99(), controller.targetP99Nanos(), tickCount));
            tickCount = 0;
        }
    }

    private void runUntil(long until) {
        while (true) {
            boolean completion = completions.size() > 0 && completions.peekKey() <= until;
            boolean callerRuns = returning.size() > 0 && returning.peekKey() <= until;
            if (callerRuns && (!completion || returning.peekKey() <= completions.peekKey())) {
                now = returning.poll();
                reissue();
                continue;
            }
            if (!completion) {
                break;
            }
            long submittedAt = completions.peekA();
            long clockAtSubmit = completions.peekB();
            now = completions.poll();
            inFlight--;
            long exact = now - submittedAt;
            long late = lateReapFraction > 0 && reapRandom.nextDouble() < lateReapFraction ? lateReapNanos : 0;
            controller.recordCompletion(now + clockOffset - clockAtSubmit + late, BYTES_PER_REQUEST);
            if (tickCount == tickLatencies.length) {
                tickLatencies = Arrays.copyOf(tickLatencies, tickCount * 2);
            }
            tickLatencies[tickCount++] = exact;
            if (callerReturnNanos > 0) {
                returning.add(now + callerReturnNanos, 0, 0);
            } else {
                reissue();
            }
        }
        now = until;
    }

    /** A caller whose request completed runs: it issues its next one, if demand still wants it. */
    private void reissue() {
        if (inFlight + waiting + returning.size() < demand) {
            waiting++;
        }
        admit();
    }

    private void admit() {
        int limit = controller.inFlightLimit();
        int batch = 0;
        while (waiting > 0 && inFlight < limit) {
            waiting--;
            inFlight++;
            batch++;
            long start = Math.max(now, servers.poll());
            long service = Math.round(serviceNanos * (1 + jitter * (2 * random.nextDouble() - 1)));
            long done = start + Math.max(1, service);
            servers.add(done, 0, 0);
            completions.add(done, now, now + clockOffset);
        }
        if (batch > 0) {
            controller.recordSubmitBatch(batch);
        }
    }

    private long exactTickP99() {
        if (tickCount == 0) {
            return -1;
        }
        long[] l = Arrays.copyOf(tickLatencies, tickCount);
        Arrays.sort(l);
        return l[(int) Math.ceil(0.99 * tickCount) - 1];
    }

    List<TickSample> history() {
        return history;
    }

    int inFlight() {
        return inFlight;
    }

    int waiting() {
        return waiting;
    }

    /** A binary min-heap of long keys, each with two long payloads. */
    static final class LongHeap {
        private long[] keys = new long[64];
        private long[] as = new long[64];
        private long[] bs = new long[64];
        private int size;

        int size() {
            return size;
        }

        long peekKey() {
            return keys[0];
        }

        long peekA() {
            return as[0];
        }

        long peekB() {
            return bs[0];
        }

        void add(long key, long a, long b) {
            if (size == keys.length) {
                keys = Arrays.copyOf(keys, size * 2);
                as = Arrays.copyOf(as, size * 2);
                bs = Arrays.copyOf(bs, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (keys[parent] <= key) {
                    break;
                }
                move(parent, i);
                i = parent;
            }
            keys[i] = key;
            as[i] = a;
            bs[i] = b;
        }

        /** Removes the smallest key. {@return that key} */
        long poll() {
            long top = keys[0];
            size--;
            long key = keys[size];
            long a = as[size];
            long b = bs[size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && keys[child + 1] < keys[child]) {
                    child++;
                }
                if (keys[child] >= key) {
                    break;
                }
                move(child, i);
                i = child;
            }
            if (size > 0) {
                keys[i] = key;
                as[i] = a;
                bs[i] = b;
            }
            return top;
        }

        private void move(int from, int to) {
            keys[to] = keys[from];
            as[to] = as[from];
            bs[to] = bs[from];
        }
    }
}
