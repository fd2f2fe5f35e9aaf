package io.auraio.internal.engine;

import static io.auraio.testing.TestSupport.HANG;
import static io.auraio.testing.TestSupport.joinAll;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** {@link SubmissionStack}: what is pushed comes out of each takeAll oldest first, nothing lost. */
class SubmissionStackTest {
    private static List<Integer> indices(Slot head) {
        List<Integer> out = new ArrayList<>();
        for (Slot s = head; s != null; s = s.next) {
            out.add(s.index);
        }
        return out;
    }

    @Test
    void takeAllReturnsThePushedSlotsOldestFirst() {
        SubmissionStack stack = new SubmissionStack();
        assertThat(stack.isEmpty()).isTrue();
        assertThat(stack.takeAll()).isNull();
        for (int i = 0; i < 10; i++) {
            stack.push(new Slot(i, null));
        }
        assertThat(stack.isEmpty()).isFalse();
        assertThat(indices(stack.takeAll())).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(stack.isEmpty()).isTrue();
        assertThat(stack.takeAll()).isNull();
    }

    @Test
    void eachTakeAllHoldsOnlyWhatCameAfterThePreviousOne() {
        SubmissionStack stack = new SubmissionStack();
        stack.push(new Slot(0, null));
        stack.push(new Slot(1, null));
        stack.push(new Slot(2, null));
        assertThat(indices(stack.takeAll())).containsExactly(0, 1, 2);
        stack.push(new Slot(3, null));
        stack.push(new Slot(4, null));
        assertThat(indices(stack.takeAll())).containsExactly(3, 4);
    }

    @Test
    void concurrentPushersLoseNothingAndEachKeepsItsOwnOrder() throws Exception {
        SubmissionStack stack = new SubmissionStack();
        int pushers = 4;
        int perPusher = 20_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < pushers; p++) {
            int base = p * perPusher;
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                for (int i = 0; i < perPusher; i++) {
                    stack.push(new Slot(base + i, null));
                }
            }));
        }
        go.countDown();
        int[] lastSeen = new int[pushers];
        Arrays.fill(lastSeen, -1);
        int received = 0;
        long deadline = System.nanoTime() + HANG.toNanos();
        while (received < pushers * perPusher) {
            assertThat(System.nanoTime() - deadline).as("still receiving").isNegative();
            for (Slot s = stack.takeAll(); s != null; s = s.next) {
                int pusher = s.index / perPusher;
                assertThat(s.index).as("order of pusher %d", pusher).isGreaterThan(lastSeen[pusher]);
                lastSeen[pusher] = s.index;
                received++;
            }
        }
        joinAll(threads);
        assertThat(stack.takeAll()).isNull();
        for (int p = 0; p < pushers; p++) {
            assertThat(lastSeen[p]).isEqualTo(p * perPusher + perPusher - 1);
        }
    }
}
