package io.auraio.spi;

import java.io.IOException;
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
 * <p>A platform key has one wrapper for the service's life (until it is cancelled or a
 * {@code reset} says it is no longer valid), so that {@code poll} and {@code take} return the
 * very key {@code register} returned, as the platform's do: watchers keep maps keyed by it.
 */
final class AuraWatchService implements WatchService {
    private final AuraFileSystem fileSystem;
    private final WatchService platform;
    private final Map<WatchKey, Key> keys = new ConcurrentHashMap<>();

    AuraWatchService(AuraFileSystem fileSystem, WatchService platform) {
        this.fileSystem = fileSystem;
        this.platform = platform;
    }

    /** {@return the platform's service, which platform paths register with} */
    WatchService platform() {
        return platform;
    }

    /** {@return the key of this service for the platform's {@code key}; null stays null} */
    WatchKey wrap(WatchKey key) {
        return key == null ? null : keys.computeIfAbsent(key, Key::new);
    }

    @Override
    public void close() throws IOException {
        platform.close();
        keys.clear();
    }

    @Override
    public WatchKey poll() {
        return wrap(platform.poll());
    }

    @Override
    public WatchKey poll(long timeout, TimeUnit unit) throws InterruptedException {
        return wrap(platform.poll(timeout, unit));
    }

    @Override
    public WatchKey take() throws InterruptedException {
        return wrap(platform.take());
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
            boolean valid = platformKey.reset();
            if (!valid) {
                keys.remove(platformKey, this); // never returned again: forget it
            }
            return valid;
        }

        @Override
        public void cancel() {
            platformKey.cancel();
            keys.remove(platformKey, this);
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
