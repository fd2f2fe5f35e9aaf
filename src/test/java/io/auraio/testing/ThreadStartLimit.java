package io.auraio.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stops one thread of this JVM from starting threads, through a cgroup v1 {@code pids} group of its
 * own with {@code pids.max} 1: the thread is moved there alone (v1 moves single threads, by writing
 * their id to {@code tasks}), and every thread it starts would be a second task, so its
 * {@code clone} fails with EAGAIN. The kernel starts a ring's io-wq workers from the thread that
 * submitted to the ring, which makes this the way to make a worker's start fail on demand. Needs
 * root and a v1 {@code pids} hierarchy at {@code /sys/fs/cgroup/pids} ({@link #unsupported()} says
 * why not). {@link #close()} moves the thread back and removes the group.
 */
public final class ThreadStartLimit implements AutoCloseable {
    private static final Path PIDS = Path.of("/sys/fs/cgroup/pids");
    private static final AtomicInteger GROUPS = new AtomicInteger();

    private final Path group;

    private ThreadStartLimit(Path group) {
        this.group = group;
    }

    /** {@return why no thread can be limited here, or empty} */
    public static Optional<String> unsupported() {
        if (!Files.isWritable(PIDS.resolve("tasks"))) {
            return Optional.of("no writable cgroup v1 pids hierarchy at " + PIDS + " (root and cgroup v1 needed)");
        }
        return Optional.empty();
    }

    /**
     * Moves thread {@code tid} of this process into a new group where it may not start threads.
     *
     * @throws IOException if the group cannot be made or the thread moved
     */
    public static ThreadStartLimit on(int tid) throws IOException {
        return on(tid, 1);
    }

    /**
     * Moves thread {@code tid} of this process into a new group of at most {@code tasks} threads:
     * itself and what it starts ({@code tasks - 1} at once; a thread that exits frees its place).
     *
     * @throws IOException if the group cannot be made or the thread moved
     */
    public static ThreadStartLimit on(int tid, int tasks) throws IOException {
        removeGroupsOfEndedProcesses();
        Path group = Files.createDirectory(PIDS.resolve("auraio-test-" + ProcessHandle.current().pid() + "-" + tid
                + "-" + GROUPS.incrementAndGet()));
        ThreadStartLimit limit = new ThreadStartLimit(group);
        try {
            Files.writeString(group.resolve("pids.max"), Integer.toString(tasks));
            Files.writeString(group.resolve("tasks"), Integer.toString(tid));
            return limit;
        } catch (IOException | RuntimeException e) {
            limit.close();
            throw e;
        }
    }

    /** Removes the groups a killed test JVM left (empty once its threads are gone). */
    private static void removeGroupsOfEndedProcesses() throws IOException {
        try (var groups = Files.newDirectoryStream(PIDS, "auraio-test-*")) {
            for (Path g : groups) {
                String[] parts = g.getFileName().toString().split("-"); // auraio-test-PID-TID-N
                if (ProcessHandle.of(Long.parseLong(parts[2])).isEmpty()) {
                    Files.deleteIfExists(g);
                }
            }
        }
    }

    /** Lets the thread start threads again (the limit lifted, the thread still in the group). */
    public void lift() throws IOException {
        Files.writeString(group.resolve("pids.max"), "max");
    }

    /** {@return how many times a thread start failed on the limit, as the group counts them} */
    public long refusals() throws IOException {
        // "max <count>" in pids.events: starts refused because the group was at pids.max.
        String events = Files.readString(group.resolve("pids.events")).trim();
        return Long.parseLong(events.substring(events.indexOf(' ') + 1));
    }

    /**
     * Moves the thread, and any thread it started that still runs, back to the root group, and
     * removes this group.
     */
    @Override
    public void close() throws IOException {
        for (String task : Files.readAllLines(group.resolve("tasks"))) {
            try {
                Files.writeString(PIDS.resolve("tasks"), task);
            } catch (IOException exited) {
                // ESRCH: the thread has exited meanwhile, which takes it out of the group as well
            }
        }
        Files.deleteIfExists(group);
    }
}
