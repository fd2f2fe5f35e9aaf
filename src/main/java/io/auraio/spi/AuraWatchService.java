package io.auraio.spi;

import java.io.IOException;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.Watchable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The platform's watch service, its keys' {@link WatchKey#watchable() watchable} and its events'
 * {@link WatchEvent#context() context} paths of an {@link AuraFileSystem}. The platform's own
 * paths are never equal to this file system's (each path's {@code equals} wants its own class),
 * so with the platform's keys and events a watcher's usual code failed where the platform's
 * provider works: {@code event.context().equals(Path.of("app.conf"))},
 * {@code key.watchable().equals(dir)}, a {@code Map<Path, ...>} looked up with
 * {@code ((Path) key.watchable()).resolve(context)}; and {@code Files} calls on those paths
 * bypassed this provider for the platform's.
 *
 * <p>A platform key has one wrapper for as long as anyone holds that wrapper, so that {@code poll}
 * and {@code take} return the very key {@code register} returned, as the platform's do: watchers
 * keep maps keyed by it. The table holds the wrappers weakly rather than forgetting a key at its
 * {@code cancel}: a key cancelled while it is queued still comes out of the queue, as the
 * platform's does (it was then a new object that the watcher's map did not know), and a key
 * cancelled while it is not queued never comes out to say it can be forgotten. A wrapper nobody
 * holds is made again if its key comes out of the queue, which nobody can tell apart; an invalid
 * key out of the queue is forgotten at once.
 */
final class AuraWatchService implements WatchService {
    private final AuraFileSystem fileSystem;
    private final WatchService platform;
    private final Map<WatchKey, KeyRef> keys = new ConcurrentHashMap<>();
    /** Wrappers collected: their entries go at the next {@link #wrap}. */
    private final ReferenceQueue<Key> collected = new ReferenceQueue<>();

    AuraWatchService(AuraFileSystem fileSystem, WatchService platform) {
        this.fileSystem = fileSystem;
        this.platform = platform;
    }

    /** {@return the file system whose paths this service's keys and events give} */
    AuraFileSystem fileSystem() {
        return fileSystem;
    }

    /** {@return the platform's service, which platform paths register with} */
    WatchService platform() {
        return platform;
    }

    /** {@return the key of this service for the platform's {@code key}; null stays null} */
    WatchKey wrap(WatchKey key) {
        for (Reference<? extends Key> r; (r = collected.poll()) != null; ) {
            keys.remove(((KeyRef) r).platformKey, r);
        }
        if (key == null) {
            return null;
        }
        Key[] wrapper = new Key[1]; // held strongly until returned: the table's reference is weak
        keys.compute(key, (k, ref) -> {
            wrapper[0] = ref == null ? null : ref.get();
            if (wrapper[0] == null) {
                wrapper[0] = new Key(k);
                return new KeyRef(wrapper[0], collected);
            }
            return ref;
        });
        return wrapper[0];
    }

    /**
     * {@return the key of this service for {@code key}, which the platform's queue gave out} An
     * invalid key out of the queue never comes out again (its {@code reset} does nothing), so the
     * table forgets it at once.
     */
    private WatchKey dequeued(WatchKey key) {
        WatchKey wrapper = wrap(key);
        if (key != null && !key.isValid()) {
            keys.remove(key);
        }
        return wrapper;
    }

    /** {@return how many platform keys the table holds a wrapper for, for tests} */
    int keysHeld() {
        return keys.size();
    }

    @Override
    public void close() throws IOException {
        platform.close();
        keys.clear();
    }

    @Override
    public WatchKey poll() {
        return dequeued(platform.poll());
    }

    @Override
    public WatchKey poll(long timeout, TimeUnit unit) throws InterruptedException {
        return dequeued(platform.poll(timeout, unit));
    }

    @Override
    public WatchKey take() throws InterruptedException {
        return dequeued(platform.take());
    }

    @Override
    public String toString() {
        return platform.toString();
    }

    /** A platform key whose watchable and events' contexts are this file system's paths. */
    private final class Key implements WatchKey {
        private final WatchKey platformKey;
        private final Watchable watchable;

        Key(WatchKey platformKey) {
            this.platformKey = platformKey;
            Watchable w = platformKey.watchable();
            this.watchable = w instanceof Path p ? fileSystem.wrap(p) : w;
        }

        @Override
        public boolean isValid() {
            return platformKey.isValid();
        }

        @Override
        public List<WatchEvent<?>> pollEvents() {
            List<WatchEvent<?>> events = platformKey.pollEvents();
            List<WatchEvent<?>> wrapped = new ArrayList<>(events.size());
            for (WatchEvent<?> event : events) {
                wrapped.add(event.context() instanceof Path p ? new Event<>(event, fileSystem.wrap(p)) : event);
            }
            return wrapped;
        }

        @Override
        public boolean reset() {
            return platformKey.reset();
        }

        @Override
        public void cancel() {
            platformKey.cancel(); // stays in the table: if it is queued, it comes out as this key
        }

        @Override
        public Watchable watchable() {
            return watchable;
        }

        @Override
        public String toString() {
            return platformKey.toString();
        }
    }

    /** The table's weak reference to a wrapper, with the platform key its entry is under. */
    private static final class KeyRef extends WeakReference<Key> {
        final WatchKey platformKey;

        KeyRef(Key key, ReferenceQueue<Key> queue) {
            super(key, queue);
            this.platformKey = key.platformKey;
        }
    }

    /** A platform event with its context path as this file system's. */
    private record Event<T>(WatchEvent<?> platformEvent, Path path) implements WatchEvent<T> {
        @Override
        @SuppressWarnings("unchecked")
        public Kind<T> kind() {
            return (Kind<T>) platformEvent.kind();
        }

        @Override
        public int count() {
            return platformEvent.count();
        }

        @Override
        @SuppressWarnings("unchecked")
        public T context() {
            return (T) path;
        }

        @Override
        public String toString() {
            return platformEvent.toString();
        }
    }
}
