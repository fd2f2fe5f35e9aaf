package io.auraio.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * This process's open descriptors, read from {@code /proc/self/fd}, for tests that check what
 * they leave open.
 *
 * <p>A leak check compares descriptors, not counts. Other threads of the JVM open and close
 * descriptors of their own while a test runs (the process reaper closing a child's pipes, a
 * socket of an earlier test's, another engine closing, the class loader opening a jar), so a
 * count moves either way with nothing of the test's left open, and a count that stayed the same
 * can hide a leak behind a descriptor someone else closed. A check asks instead that no descriptor
 * is open now that was not open before, number and target, and names those that are; where a test
 * expects one descriptor to be closed, it asks about that number and its target.
 *
 * <p>A snapshot is a map from number to target, as {@code readlink(2)} gives it: a path, or
 * {@code pipe:[inode]}, {@code socket:[inode]}, {@code anon_inode:[io_uring]}.
 */
public final class Descriptors {
    /**
     * How long {@link #awaitNoneNew} waits for a close that is asynchronous by design (a call that
     * ended on a hung file whose close runs later, a JDK channel closed by its cleaner); it only
     * bounds the wait before the failure.
     */
    public static final Duration SETTLE = Duration.ofSeconds(10);

    private static final Path FD = Path.of("/proc/self/fd");

    /** What the kernel appends to the target of a descriptor whose file was unlinked since. */
    private static final String DELETED = " (deleted)";

    private Descriptors() {}

    /** {@return every descriptor this process has open, number to target} Not the listing's own. */
    public static SortedMap<Integer, String> open() {
        return open(target -> true);
    }

    /** {@return the descriptors this process has open whose target {@code targets} accepts, number to target} */
    public static SortedMap<Integer, String> open(Predicate<String> targets) {
        // The names first, then their targets: the listing's own descriptor is closed by then and
        // drops out (readlink fails), like any closed since.
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(FD)) {
            fds.forEach(fd -> names.add(fd.getFileName().toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SortedMap<Integer, String> open = new TreeMap<>();
        for (String name : names) {
            int fd = Integer.parseInt(name);
            String target = target(fd);
            if (target != null && targets.test(target)) {
                open.put(fd, target);
            }
        }
        return open;
    }

    /** {@return the descriptors this process has open on {@code file} (its real path), number to target} */
    public static SortedMap<Integer, String> on(Path file) {
        String real;
        try {
            real = file.toRealPath().toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return open(real::equals);
    }

    /**
     * {@return the number of a descriptor this process has open on {@code file}} For a test that
     * must not ask the file object itself.
     *
     * @throws IllegalStateException if none is
     */
    public static int oneOn(Path file) {
        SortedMap<Integer, String> on = on(file);
        if (on.isEmpty()) {
            throw new IllegalStateException("no descriptor open on " + file);
        }
        return on.firstKey();
    }

    /** {@return the target of descriptor {@code fd} of this process, or {@code null} if it is not open} */
    public static String target(int fd) {
        try {
            return Files.readSymbolicLink(FD.resolve(Integer.toString(fd))).toString();
        } catch (IOException closed) {
            return null;
        }
    }

    /**
     * {@return whether descriptor {@code fd} of this process is open on {@code file} now, by its
     * absolute or its real path, whether or not the file still has that name} False where the
     * number is closed, or names another file (taken again since).
     */
    public static boolean isOpenOn(int fd, Path file) {
        String target = target(fd);
        if (target == null) {
            return false;
        }
        String named = undeleted(target);
        if (named.equals(file.toAbsolutePath().toString())) {
            return true;
        }
        try {
            return named.equals(file.toRealPath().toString());
        } catch (IOException gone) {
            return false; // unlinked, and not named by its absolute path
        }
    }

    /**
     * Asserts that descriptor {@code fd} is no longer open on {@code file}: closed, or reused by
     * another file (the number is free to be taken by anyone once closed).
     */
    public static void assertClosed(int fd, Path file, String context) {
        assertThat(isOpenOn(fd, file)).as("%s: descriptor %d is still open on %s", context, fd, file).isFalse();
    }

    /** {@return the descriptors open now that {@code before} does not hold, number to target} See {@link #newSince(Map, Predicate)}. */
    public static SortedMap<Integer, String> newSince(Map<Integer, String> before) {
        return newSince(before, target -> true);
    }

    /**
     * {@return the descriptors open now, whose target {@code targets} accepts, that {@code before}
     * does not hold (by number and target: a number closed and taken again by another file is new)}
     * A target whose file was unlinked since is the same target. Jars are not counted: the JVM opens
     * one of the class path as it first loads a class from it, and keeps it open.
     */
    public static SortedMap<Integer, String> newSince(Map<Integer, String> before, Predicate<String> targets) {
        SortedMap<Integer, String> added = new TreeMap<>();
        open(targets.and(target -> !target.endsWith(".jar"))).forEach((fd, target) -> {
            String was = before.get(fd);
            if (was == null || !Objects.equals(undeleted(was), undeleted(target))) {
                added.put(fd, target);
            }
        });
        return added;
    }

    /** Asserts at once that no descriptor is open that was not in {@code before}, naming those that are. */
    public static void assertNoneNew(Map<Integer, String> before, String context) {
        assertNoneNew(before, target -> true, context);
    }

    /**
     * Asserts at once that no descriptor whose target {@code targets} accepts is open that was not in
     * {@code before}, naming those that are. {@code before} may hold others: they are not asked about.
     */
    public static void assertNoneNew(Map<Integer, String> before, Predicate<String> targets, String context) {
        failIfAny(newSince(before, targets), context);
    }

    private static void failIfAny(SortedMap<Integer, String> left, String context) {
        if (!left.isEmpty()) {
            throw new AssertionError(context + ": descriptors left open (number=target): " + left);
        }
    }

    /**
     * As {@link #assertNoneNew(Map, String)}, after waiting up to {@link #SETTLE} for the new ones
     * to close: for a test whose descriptors are closed a moment after its calls return, by design.
     */
    public static void awaitNoneNew(Map<Integer, String> before, String context) {
        awaitNoneNew(before, target -> true, context);
    }

    /**
     * As {@link #assertNoneNew(Map, Predicate, String)}, after waiting up to {@link #SETTLE} for the new
     * ones to close; passes once one listing shows none. It judges that listing rather than taking
     * another: a descriptor another thread holds for a moment (the offload's mount table reads
     * {@code /proc/self/mountinfo} now and then) could be open in a second listing taken right
     * after a clean one, and failed a CI run so; a leaked descriptor is open in every listing.
     */
    public static void awaitNoneNew(Map<Integer, String> before, Predicate<String> targets, String context) {
        AtomicReference<SortedMap<Integer, String>> last = new AtomicReference<>();
        TestSupport.settle(() -> {
            last.set(newSince(before, targets));
            return last.get().isEmpty();
        }, SETTLE);
        failIfAny(last.get(), context);
    }

    private static String undeleted(String target) {
        return target.endsWith(DELETED) ? target.substring(0, target.length() - DELETED.length()) : target;
    }
}
