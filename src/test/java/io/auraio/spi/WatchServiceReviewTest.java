package io.auraio.spi;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;
import static org.assertj.core.api.Assertions.assertThat;

import io.auraio.testing.PeriodicTicker;
import io.auraio.testing.TestDirectory;
import io.auraio.testing.TestSupport;
import java.io.IOException;
import java.net.URI;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link AuraWatchService} against the platform's watch service, side by side: the same calls on
 * a directory of each file system must give the same answers (the same key objects, paths of the
 * caller's file system, the same exceptions), take on virtual threads must hold no carrier, and
 * the service's table of keys must not keep keys nobody can be given again.
 */
class WatchServiceReviewTest {
    @RegisterExtension
    final TestDirectory dir = new TestDirectory();

    private final FileSystem aura =
            new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
    private final List<FileSystem> both = List.of(FileSystems.getDefault(), aura);

    /** {@return a new directory named {@code name} under the test directory, as a path of {@code fs}} */
    private Path directory(FileSystem fs, String name) throws IOException {
        return Files.createDirectories(fs.getPath(dir.path().toAbsolutePath().resolve(name).toString()));
    }

    private static String name(FileSystem fs) {
        return fs == FileSystems.getDefault() ? "platform" : "aura";
    }

    /** {@return what {@code call} returned, or the class and message of what it threw} */
    private static String outcome(Callable<?> call) {
        try {
            return "returned " + call.call();
        } catch (Exception e) {
            return e.getClass().getName() + ": " + e.getMessage();
        }
    }

    /**
     * A key cancelled while it is queued stays in the queue, and comes out as the very key
     * {@code register} returned, invalid, with its events in paths of the caller's file system.
     * The provider forgot its key at the cancel and made a new one when it came out: a watcher's
     * map keyed by the registered key did not find it.
     */
    @Test
    void aKeyCancelledWhileQueuedComesOutAsTheKeyRegistered() throws Exception {
        for (FileSystem fs : both) {
            Path d = directory(fs, name(fs));
            try (WatchService watcher = fs.newWatchService()) {
                WatchKey registered = d.register(watcher, ENTRY_CREATE);
                Files.createFile(d.resolve("a"));
                WatchKey taken = watcher.poll(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS);
                assertThat(taken).as(name(fs)).isSameAs(registered);
                // Its event not polled: reset queues it again at once, and the cancel leaves it there.
                assertThat(taken.reset()).isTrue();
                taken.cancel();
                WatchKey again = watcher.poll();
                assertThat(again).as("%s: the cancelled key out of the queue", name(fs)).isSameAs(registered);
                assertThat(again.isValid()).isFalse();
                List<WatchEvent<?>> events = again.pollEvents();
                assertThat(events).hasSize(1);
                assertThat(events.getFirst().context()).isEqualTo(fs.getPath("a"));
                assertThat(((Path) events.getFirst().context()).getFileSystem()).isSameAs(fs);
                assertThat(again.reset()).isFalse();
                assertThat(watcher.poll()).isNull();
                if (watcher instanceof AuraWatchService ours) {
                    assertThat(ours.keysHeld()).as("an invalid key out of the queue never comes again").isZero();
                }
            }
        }
    }

    /**
     * A key whose directory is deleted comes out of the queue as the key registered, invalid, and
     * its reset says so; the provider's table then holds nothing for it.
     */
    @Test
    void aKeyWhoseDirectoryIsDeletedComesOutInvalidAndIsForgotten() throws Exception {
        for (FileSystem fs : both) {
            Path d = directory(fs, name(fs));
            try (WatchService watcher = fs.newWatchService()) {
                WatchKey registered = d.register(watcher, ENTRY_CREATE, ENTRY_DELETE);
                assertThat(registered.watchable()).isEqualTo(d);
                Files.delete(d);
                WatchKey key = watcher.poll(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS);
                assertThat(key).as(name(fs)).isSameAs(registered);
                assertThat(key.isValid()).isFalse();
                key.pollEvents();
                assertThat(key.reset()).isFalse();
                if (watcher instanceof AuraWatchService ours) {
                    assertThat(ours.keysHeld()).isZero();
                }
            }
        }
    }

    /**
     * Keys registered and cancelled while nothing queued them never come out of the queue; once
     * nobody holds them the provider's table lets them go, and a key a watcher still holds stays
     * the key {@code poll} gives.
     */
    @Test
    void keysNobodyHoldsAreLetGo() throws Exception {
        Path parent = directory(aura, "many");
        try (WatchService watcher = aura.newWatchService()) {
            AuraWatchService ours = (AuraWatchService) watcher;
            Path kept = directory(aura, "kept");
            WatchKey keptKey = kept.register(watcher, ENTRY_CREATE);
            for (int i = 0; i < 1000; i++) {
                Path d = Files.createDirectory(parent.resolve("d" + i));
                d.register(watcher, ENTRY_CREATE).cancel();
            }
            TestSupport.settle(() -> {
                System.gc();
                ours.poll(); // the table lets collected keys go at its next look-up
                return ours.keysHeld() == 1;
            }, Duration.ofSeconds(30));
            assertThat(ours.keysHeld()).as("keys left in the table").isEqualTo(1);
            Files.createFile(kept.resolve("f"));
            assertThat(watcher.poll(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS)).isSameAs(keptKey);
        }
    }

    /**
     * Four takers per carrier in {@code take()} on virtual threads hold no carrier (a ticker
     * runs); a file created wakes one of them with the registered key; closing the service ends
     * every other take with {@code ClosedWatchServiceException}, as the platform's.
     */
    @Test
    void takeOnVirtualThreadsHoldsNoCarrierAndCloseEndsItAsThePlatforms() throws Exception {
        int takers = 4 * Runtime.getRuntime().availableProcessors();
        List<List<String>> outcomes = new ArrayList<>();
        for (FileSystem fs : both) {
            Path d = directory(fs, name(fs));
            WatchService watcher = fs.newWatchService();
            WatchKey registered = d.register(watcher, ENTRY_CREATE);
            List<String> seen = Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < takers; i++) {
                threads.add(Thread.ofVirtual().start(() -> seen.add(outcome(() -> {
                    WatchKey k = watcher.take();
                    return k == registered ? "the registered key" : k;
                }))));
            }
            TestSupport.awaitCondition("every taker parked in take()",
                    () -> threads.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
            PeriodicTicker ticker = PeriodicTicker.run(Duration.ofMillis(200));
            assertThat(ticker.ticks()).as("%s: ticker runs while %d virtual threads take", name(fs), takers)
                    .isPositive();
            Files.createFile(d.resolve("f"));
            TestSupport.awaitCondition("one taker given the key", () -> seen.size() == 1);
            watcher.close();
            TestSupport.assertAllEnd(threads, TestSupport.HANG, () -> name(fs) + ": " + seen);
            List<String> sorted = new ArrayList<>(seen);
            Collections.sort(sorted);
            outcomes.add(sorted);
            assertThat(registered.isValid()).isFalse();
        }
        assertThat(outcomes.getFirst()).contains("returned the registered key")
                .contains(ClosedWatchServiceException.class.getName() + ": null");
        assertThat(outcomes.get(1)).isEqualTo(outcomes.getFirst());
    }

    /**
     * A virtual thread interrupted in {@code take()} or in {@code poll} with a timeout ends with
     * {@code InterruptedException} and its status cleared, and the service still works, as the
     * platform's.
     */
    @Test
    void anInterruptedTakeOrPollEndsAsThePlatforms() throws Exception {
        List<List<String>> outcomes = new ArrayList<>();
        for (FileSystem fs : both) {
            Path d = directory(fs, name(fs));
            try (WatchService watcher = fs.newWatchService()) {
                WatchKey registered = d.register(watcher, ENTRY_CREATE);
                List<String> o = Collections.synchronizedList(new ArrayList<>());
                List<Callable<?>> waits = List.of(watcher::take, () -> watcher.poll(1, TimeUnit.DAYS));
                for (Callable<?> wait : waits) {
                    Thread t = Thread.ofVirtual().start(() -> o.add(outcome(wait) + ", interrupted after: "
                            + Thread.currentThread().isInterrupted()));
                    TestSupport.awaitCondition("the waiter parked", () -> t.getState() == Thread.State.WAITING
                            || t.getState() == Thread.State.TIMED_WAITING);
                    t.interrupt();
                    TestSupport.joinAll(List.of(t));
                }
                Files.createFile(d.resolve("f"));
                o.add(outcome(() -> watcher.poll(TestSupport.HANG.toSeconds(), TimeUnit.SECONDS) == registered));
                outcomes.add(o);
            }
        }
        assertThat(outcomes.getFirst()).containsExactly(
                "java.lang.InterruptedException: null, interrupted after: false",
                "java.lang.InterruptedException: null, interrupted after: false",
                "returned true");
        assertThat(outcomes.get(1)).isEqualTo(outcomes.getFirst());
    }

    /** poll with and without a timeout, and every call after close, answer as the platform's. */
    @Test
    void pollAndCallsAfterCloseAnswerAsThePlatforms() throws Exception {
        List<List<String>> outcomes = new ArrayList<>();
        for (FileSystem fs : both) {
            Path d = directory(fs, name(fs));
            WatchService watcher = fs.newWatchService();
            WatchKey key = d.register(watcher, ENTRY_CREATE);
            List<String> o = new ArrayList<>();
            o.add(outcome(watcher::poll));
            o.add(outcome(() -> watcher.poll(0, TimeUnit.MILLISECONDS)));
            o.add(outcome(() -> watcher.poll(-1, TimeUnit.SECONDS)));
            o.add(outcome(() -> watcher.poll(20, TimeUnit.MILLISECONDS)));
            o.add(outcome(() -> watcher.poll(1, null)));
            watcher.close();
            o.add(outcome(() -> {
                watcher.close();
                return "closed again";
            }));
            o.add(outcome(watcher::poll));
            o.add(outcome(() -> watcher.poll(1, TimeUnit.SECONDS)));
            o.add(outcome(watcher::take));
            o.add(outcome(key::isValid));
            o.add(outcome(key::reset));
            o.add(outcome(() -> d.register(watcher, ENTRY_CREATE)));
            outcomes.add(o);
        }
        assertThat(outcomes.get(1)).isEqualTo(outcomes.getFirst());
        assertThat(outcomes.getFirst().get(6)).startsWith(ClosedWatchServiceException.class.getName());
    }

    /**
     * A watch service of another provider instance's file system is as foreign as the platform's:
     * its keys would give that file system's paths, never equal to this one's. Refused with
     * {@code ProviderMismatchException}, as the platform's path refuses a service not its own;
     * until 2026-12-07 it was accepted.
     */
    @Test
    void aWatchServiceOfAnotherProviderInstanceIsRefused() throws Exception {
        FileSystem other =
                new AuraFileSystemProvider(FileSystems.getDefault().provider()).getFileSystem(URI.create("file:///"));
        Path d = directory(aura, "aura");
        try (WatchService foreign = other.newWatchService(); WatchService own = aura.newWatchService()) {
            assertThat(outcome(() -> d.register(foreign, ENTRY_CREATE)))
                    .isEqualTo("java.nio.file.ProviderMismatchException: null");
            WatchKey key = d.register(own, ENTRY_CREATE);
            assertThat(key.watchable()).isEqualTo(d);
        }
    }

    /**
     * Registering with no events, a null or unsupported event kind, an unsupported modifier, on
     * a file or a missing directory, with no service or with another file system's service
     * (the platform's for a path of the provider: it was taken, and gave the platform's paths)
     * fails as the platform's; OVERFLOW is accepted and ignored.
     */
    @Test
    void registerFailsAsThePlatforms() throws Exception {
        WatchEvent.Kind<Object> bogusKind = new WatchEvent.Kind<>() {
            @Override
            public String name() {
                return "BOGUS";
            }

            @Override
            public Class<Object> type() {
                return Object.class;
            }

            @Override
            public String toString() {
                return name();
            }
        };
        WatchEvent.Modifier bogusModifier = () -> "BOGUS";
        List<List<String>> outcomes = new ArrayList<>();
        try (WatchService platformWatcher = FileSystems.getDefault().newWatchService();
             WatchService auraWatcher = aura.newWatchService()) {
            for (FileSystem fs : both) {
                WatchService watcher = fs == aura ? auraWatcher : platformWatcher;
                WatchService foreign = fs == aura ? platformWatcher : auraWatcher;
                Path d = directory(fs, name(fs));
                Path file = Files.createFile(d.resolve("file"));
                List<String> o = new ArrayList<>();
                o.add(outcome(() -> d.register(watcher)));
                o.add(outcome(() -> d.register(watcher, new WatchEvent.Kind<?>[] {null})));
                o.add(outcome(() -> d.register(watcher, (WatchEvent.Kind<?>[]) null)));
                o.add(outcome(() -> d.register(watcher, bogusKind)));
                o.add(outcome(() -> d.register(watcher, new WatchEvent.Kind<?>[] {ENTRY_CREATE}, bogusModifier)));
                o.add(outcome(() -> d.register(watcher, new WatchEvent.Kind<?>[] {ENTRY_CREATE},
                        (WatchEvent.Modifier) null)));
                o.add(outcome(() -> d.register(null, ENTRY_CREATE).getClass().getSimpleName()));
                o.add(outcome(() -> d.register(foreign, ENTRY_CREATE)));
                o.add(outcome(() -> file.register(watcher, ENTRY_CREATE)));
                o.add(outcome(() -> d.resolve("missing").register(watcher, ENTRY_CREATE)));
                o.add(outcome(() -> d.register(watcher, OVERFLOW).isValid()));
                o.add(outcome(() -> {
                    WatchKey k = d.register(watcher, OVERFLOW, ENTRY_CREATE);
                    return k == d.register(watcher, ENTRY_CREATE) && k.watchable().equals(d);
                }));
                outcomes.add(o.stream().map(s -> s.replace(dir.path().toAbsolutePath().toString(), "DIR")
                        .replace("DIR/" + name(fs), "DIR/X")).toList());
            }
        }
        assertThat(outcomes.get(1)).isEqualTo(outcomes.getFirst());
        assertThat(outcomes.getFirst().get(7)).startsWith("java.nio.file.ProviderMismatchException");
    }
}
