package io.auraio.internal.adaptive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {
    private static final long US = 1_000;

    @Test
    void bucketsAreFiftyMicrosecondsWideFromZero() {
        LatencyHistogram h = new LatencyHistogram(false);
        h.record(0);
        h.record(49 * US);
        h.record(50 * US - 1);
        h.record(50 * US);
        h.record(99 * US);
        h.record(100 * US);
        LatencyHistogram.Snapshot s = h.snapshot();
        assertThat(s.bucket(0)).isEqualTo(3);
        assertThat(s.bucket(1)).isEqualTo(2);
        assertThat(s.bucket(2)).isEqualTo(1);
        assertThat(s.totalCount()).isEqualTo(6);
        assertThat(s.overflow()).isZero();
        assertThat(s.bucketWidthUs()).isEqualTo(50);
        assertThat(s.maxTrackedUs()).isEqualTo(10_000);
    }

    @Test
    void tenMillisecondsAndAboveCountAsOverflow() {
        LatencyHistogram h = new LatencyHistogram(false);
        h.record(10_000 * US - 1);
        h.record(10_000 * US);
        h.record(TimeUnit.SECONDS.toNanos(3));
        LatencyHistogram.Snapshot s = h.snapshot();
        assertThat(s.bucket(199)).isEqualTo(1);
        assertThat(s.overflow()).isEqualTo(2);
        assertThat(s.totalCount()).isEqualTo(3);
        assertThat(s.largestNanos()).isEqualTo(TimeUnit.SECONDS.toNanos(3));
    }

    @Test
    void negativeLatencyFromAClockStepCountsAsZero() {
        LatencyHistogram h = new LatencyHistogram(false);
        h.record(-5_000_000);
        assertThat(h.snapshot().bucket(0)).isEqualTo(1);
    }

    @Test
    void outOfRangeBucketIndexReadsAsZero() {
        LatencyHistogram.Snapshot s = new LatencyHistogram(false).snapshot();
        assertThat(s.bucket(-1)).isZero();
        assertThat(s.bucket(200)).isZero();
        assertThat(s.buckets()).hasSize(LatencyHistogram.BUCKETS);
    }

    @Test
    void percentilesInterpolateWithinTheBucketAndNeverExceedTheLargestSample() {
        LatencyHistogram h = new LatencyHistogram(false);
        // 100 samples: 1 us, 11 us, ..., 991 us: 5 per 50 us bucket over buckets 0..19.
        for (int i = 0; i < 100; i++) {
            h.record((10L * i + 1) * US);
        }
        LatencyHistogram.Snapshot s = h.snapshot();
        long p50 = s.percentileNanos(0.50);
        long p99 = s.percentileNanos(0.99);
        assertThat(p50).isBetween(450 * US, 550 * US);  // true P50: 491 us
        assertThat(p99).isBetween(950 * US, 991 * US);  // true P99: 981 us; capped at the largest, 991 us
        assertThat(s.percentileNanos(1.0)).isEqualTo(991 * US);
        assertThat(s.percentileNanos(0.0)).isBetween(0L, 50 * US);
    }

    @Test
    void samplesOfOneValueGiveThatValueNotTheBucketTop() {
        LatencyHistogram h = new LatencyHistogram(false);
        for (int i = 0; i < 1000; i++) {
            h.record(200 * US);
        }
        assertThat(h.snapshot().percentileNanos(0.99)).isEqualTo(200 * US);
    }

    @Test
    void percentileInTheOverflowReportsTheLargestSample() {
        LatencyHistogram h = new LatencyHistogram(false);
        for (int i = 0; i < 90; i++) {
            h.record(100 * US);
        }
        for (int i = 0; i < 10; i++) {
            h.record(40_000 * US);
        }
        LatencyHistogram.Snapshot s = h.snapshot();
        assertThat(s.percentileNanos(0.99)).isEqualTo(40_000 * US);
        assertThat(s.percentileNanos(0.5)).isLessThan(150 * US);
    }

    @Test
    void percentileOfAnEmptyWindowIsMinusOne() {
        assertThat(new LatencyHistogram(false).snapshot().percentileNanos(0.99)).isEqualTo(-1);
    }

    @Test
    void percentileRejectsQuantilesOutsideZeroToOne() {
        LatencyHistogram.Snapshot s = new LatencyHistogram(false).snapshot();
        assertThatThrownBy(() -> s.percentileNanos(99)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.percentileNanos(-0.1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.percentileNanos(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void snapshotIsImmutable() {
        LatencyHistogram h = new LatencyHistogram(false);
        h.record(75 * US);
        LatencyHistogram.Snapshot s = h.snapshot();
        long[] copy = s.buckets();
        copy[1] = 1000;
        h.record(75 * US);
        h.rotate();
        assertThat(s.bucket(1)).isEqualTo(1);
        assertThat(s.buckets()[1]).isEqualTo(1);
        assertThat(s.totalCount()).isEqualTo(1);

        long[] source = new long[LatencyHistogram.BUCKETS];
        source[3] = 7;
        LatencyHistogram.Snapshot built = new LatencyHistogram.Snapshot(source, 0, 7, 50, 10_000, 0);
        source[3] = 0;
        assertThat(built.bucket(3)).isEqualTo(7);
    }

    @Test
    void rotateReturnsTheClosedWindowAndStartsAnEmptyOne() {
        LatencyHistogram h = new LatencyHistogram(false);
        h.record(10 * US);
        h.record(60 * US);
        LatencyHistogram.Snapshot closed = h.rotate();
        assertThat(closed.totalCount()).isEqualTo(2);
        assertThat(h.count()).isZero();
        assertThat(h.snapshot().totalCount()).isZero();
        assertThat(h.lastWindow()).isEqualTo(closed);

        h.record(300 * US);
        LatencyHistogram.Snapshot second = h.rotate();
        assertThat(second.totalCount()).isEqualTo(1);
        assertThat(second.bucket(6)).isEqualTo(1);
        assertThat(second.bucket(0)).isZero();

        // Back to the first window: it was cleared when it closed.
        h.record(500 * US);
        LatencyHistogram.Snapshot third = h.rotate();
        assertThat(third.totalCount()).isEqualTo(1);
        assertThat(third.bucket(0)).isZero();
        assertThat(third.bucket(1)).isZero();
        assertThat(third.largestNanos()).isEqualTo(500 * US);
    }

    /** The controller reads each closed window in place; over many rotations (three windows cycling) it must see exactly that window. */
    @Test
    void windowsReadInPlaceMatchTheirSnapshotsOverManyRotations() {
        LatencyHistogram h = new LatencyHistogram(false);
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        assertThat(h.lastWindowCount()).isZero();
        assertThat(h.lastWindowPercentileNanos(0.99)).isEqualTo(-1);
        for (int window = 0; window < 20; window++) {
            int samples = window % 4 == 3 ? 0 : 1 + random.nextInt(500);
            long[] recorded = new long[samples];
            for (int i = 0; i < samples; i++) {
                recorded[i] = random.nextLong(12_000 * US); // some beyond the tracked 10 ms: overflow
                h.record(recorded[i]);
            }
            h.rotateWindow();
            LatencyHistogram.Snapshot closed = h.lastWindow();
            assertThat(h.lastWindowCount()).isEqualTo(samples).isEqualTo(closed.totalCount());
            assertThat(h.count()).isZero();
            for (double q : new double[] {0.5, 0.95, 0.99, 1.0}) {
                assertThat(h.lastWindowPercentileNanos(q)).isEqualTo(closed.percentileNanos(q));
            }
            if (samples > 0) {
                assertThat(closed.largestNanos()).isEqualTo(java.util.Arrays.stream(recorded).max().orElseThrow());
            }
        }
    }

    @Test
    void lastWindowIsEmptyBeforeTheFirstRotation() {
        assertThat(new LatencyHistogram(false).lastWindow().totalCount()).isZero();
    }

    @Test
    void accumulatingHistogramKeepsEverySampleAndRefusesToRotate() {
        LatencyHistogram h = new LatencyHistogram(true);
        assertThat(h.accumulatesForever()).isTrue();
        for (int i = 0; i < 1000; i++) {
            h.record(i * US);
        }
        assertThatThrownBy(h::rotate).isInstanceOf(IllegalStateException.class);
        assertThat(h.snapshot().totalCount()).isEqualTo(1000);
        assertThat(h.count()).isEqualTo(1000);
    }

    @Test
    void readersOnOtherThreadsSeeWholeGrowingCounts() throws Exception {
        LatencyHistogram h = new LatencyHistogram(true);
        int samples = 2_000_000;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < samples; i++) {
                h.record((i % 300) * US);
            }
        });
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                long last = 0;
                while (last < samples) {
                    LatencyHistogram.Snapshot s = h.snapshot();
                    assertThat(s.totalCount()).isBetween(last, (long) samples);
                    last = s.totalCount();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        writer.join();
        reader.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(reader.getState() != Thread.State.TERMINATED).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(h.snapshot().totalCount()).isEqualTo(samples);
    }
}
