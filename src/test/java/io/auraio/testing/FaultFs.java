package io.auraio.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A mounted faultfs ({@code native-test-fixtures/faultfs.c}): a FUSE filesystem over a fresh
 * backing directory whose reads and writes can be delayed, failed, shortened or held, switched at
 * run time through its control file. Every file on it is opened with {@code direct_io}, so each
 * read and write reaches the daemon.
 *
 * <pre>{@code
 * try (FaultFs fs = FixtureAvailability.mountFaultFs("MyTest")) {
 *     Path file = Files.write(fs.path("data"), bytes);
 *     fs.hangReads(file);
 *     ... start a reader, fs.awaitBlockedReads(1), ... fs.release();
 * }
 * }</pre>
 *
 * <p>Knob setters apply before they return (the daemon handles the control write synchronously)
 * and return {@code this}. Faults apply to reads and writes of regular files only, never to
 * metadata operations or the control file. Not thread-safe to configure from several threads at
 * once; reading {@link #counters()} is safe from any thread.
 */
public final class FaultFs implements AutoCloseable {
    /** Name of the control file in the mount's root (not listed by readdir). */
    public static final String CONTROL_FILE = ".faultfs-control";

    /**
     * Daemon flag (for {@link #mount}'s options) that turns FUSE's asynchronous direct I/O off.
     * With it on (libfuse's default),
     * the kernel answers a short direct write of an asynchronous caller (io_uring, AIO) with EIO
     * instead of the short count ({@code fs/fuse/file.c}, {@code fuse_aio_complete}); with it off,
     * {@link #shortWrites} reaches io_uring callers as short writes, at the price of io_uring
     * running each request on one of its (few) blocking workers.
     */
    public static final String SYNC_DIRECT_IO = "--sync-dio";

    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);

    private final Path directory;
    private final Path mountPoint;
    private final Path backing;
    private final Path log;
    private final Process daemon;
    private boolean closed;

    /** Which operations an injected EIO applies to. */
    public enum Ops {
        READ("read"), WRITE("write"), READ_WRITE("rw");

        private final String value;

        Ops(String value) {
            this.value = value;
        }
    }

    /**
     * A metadata operation with its own latency knob ({@code <name>_latency_us}). A lookup is a
     * {@link #GETATTR} in libfuse's high-level API, which faultfs uses.
     */
    public enum MetaOp {
        GETATTR("getattr"), READDIR("readdir"), UNLINK("unlink"), RENAME("rename"), MKDIR("mkdir"),
        RMDIR("rmdir"), FSYNC("fsync"), TRUNCATE("truncate");

        private final String value;

        MetaOp(String value) {
            this.value = value;
        }
    }

    /** The daemon's counters since the last {@link #reset()} or {@link #resetCounters()}. */
    public record Counters(long reads, long writes, long bytesRead, long bytesWritten, long outstanding,
                           long maxOutstanding, long blockedReads, long blockedWrites, long released,
                           long delayedOps, long latencyMicrosTotal, long eioInjected, long enospcInjected,
                           long shortReadsInjected, long shortWritesInjected, long fsyncs,
                           long fsyncEioInjected) {
        static Counters of(Map<String, String> s) {
            return new Counters(num(s, "reads"), num(s, "writes"), num(s, "bytes_read"), num(s, "bytes_written"),
                    num(s, "outstanding"), num(s, "max_outstanding"), num(s, "blocked_reads"),
                    num(s, "blocked_writes"), num(s, "released"), num(s, "delayed_ops"),
                    num(s, "latency_us_total"), num(s, "eio_injected"), num(s, "enospc_injected"),
                    num(s, "short_reads_injected"), num(s, "short_writes_injected"), num(s, "fsyncs"),
                    num(s, "fsync_eio_injected"));
        }

        private static long num(Map<String, String> s, String key) {
            String v = s.get(key);
            if (v == null) {
                throw new IllegalStateException("faultfs control file has no " + key + ": " + s);
            }
            return Long.parseLong(v);
        }
    }

    /**
     * One EIO the daemon injected, as its control file lists it ({@code eio_at=OP PATH OFFSET SIZE}).
     *
     * @param op     {@code "read"}, {@code "write"} or {@code "fsync"}
     * @param path   the file, from the mount root ({@code "/data"})
     * @param offset the request's file offset (0 for fsync)
     * @param size   the request's length in bytes (0 for fsync)
     */
    public record InjectedFault(String op, String path, long offset, long size) {
        static InjectedFault parse(String value) {
            String[] f = value.split(" ");
            if (f.length != 4) {
                throw new IllegalStateException("faultfs eio_at line has " + f.length + " fields: " + value);
            }
            return new InjectedFault(f[0], f[1], Long.parseLong(f[2]), Long.parseLong(f[3]));
        }
    }

    /** The daemon did not come up: its exit status or a timeout, and its log. */
    public static final class MountException extends IOException {
        private static final long serialVersionUID = 1L;

        MountException(String message) {
            super(message);
        }
    }

    private FaultFs(Path directory, Path mountPoint, Path backing, Path log, Process daemon) {
        this.directory = directory;
        this.mountPoint = mountPoint;
        this.backing = backing;
        this.log = log;
        this.daemon = daemon;
    }

    /** {@return the faultfs executable, {@code native-test-fixtures/build/faultfs}} */
    public static Path binary() {
        return FixtureAvailability.buildDirectory().resolve("faultfs");
    }

    /** {@return the directory under which mounts are made, {@code target/faultfs}} */
    public static Path root() {
        return FixtureAvailability.projectDirectory().resolve("target").resolve("faultfs");
    }

    /**
     * Starts a faultfs daemon over a fresh, empty backing directory and mounts it on a fresh
     * directory, both under {@link #root()}; returns once the mount answers. Prefer
     * {@link FixtureAvailability#mountFaultFs(String)}, which skips the test when this fails.
     *
     * @param name a short name for the directories (letters, digits, '-', '_')
     * @param fuseOptions extra {@code -o} options for the daemon, e.g. {@code "max_threads=8"}, or
     *                    faultfs flags starting with {@code --} ({@link #SYNC_DIRECT_IO})
     * @return the live mount
     * @throws MountException if the daemon exits or the mount does not appear in time
     */
    public static FaultFs mount(String name, String... fuseOptions) throws IOException, InterruptedException {
        Path binary = binary();
        if (!Files.isExecutable(binary)) {
            throw new MountException(binary + " is missing or not executable: run `make -C native-test-fixtures`");
        }
        Files.createDirectories(root());
        sweepStaleMounts();
        Path directory = Files.createTempDirectory(root(), name.replaceAll("[^A-Za-z0-9_-]", "_") + "-");
        Path mountPoint = Files.createDirectory(directory.resolve("mnt"));
        Path backing = Files.createDirectory(directory.resolve("backing"));
        Path log = directory.resolve("faultfs.log");
        List<String> command = new ArrayList<>(List.of(binary.toString(), backing.toString(), mountPoint.toString(), "-f"));
        for (String option : fuseOptions) {
            if (option.startsWith("--")) {
                command.add(option); // a flag of faultfs itself, e.g. SYNC_DIRECT_IO
            } else {
                command.add("-o");
                command.add(option);
            }
        }
        Process daemon = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        FaultFs fs = new FaultFs(directory, mountPoint, backing, log, daemon);
        try {
            fs.awaitMounted();
            return fs;
        } catch (IOException | InterruptedException | RuntimeException e) {
            try {
                fs.close();
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void awaitMounted() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + MOUNT_TIMEOUT.toNanos();
        Path control = control();
        while (!(Mounts.isFaultFs(mountPoint) && Files.exists(control))) {
            if (!daemon.isAlive()) {
                throw new MountException("faultfs exited with status " + daemon.exitValue() + ": " + logText());
            }
            if (System.nanoTime() - deadline > 0) {
                throw new MountException("faultfs did not mount " + mountPoint + " within " + MOUNT_TIMEOUT + ": "
                        + logText());
            }
            Thread.sleep(5);
        }
    }

    /** {@return the mount point; files created here appear in {@link #backing()}} */
    public Path path() {
        return mountPoint;
    }

    /** {@return {@code name} under the mount point} */
    public Path path(String name) {
        return mountPoint.resolve(name);
    }

    /** {@return the backing directory the mount passes through to} */
    public Path backing() {
        return backing;
    }

    /** {@return the control file, {@code <mount>/.faultfs-control}} */
    public Path control() {
        return mountPoint.resolve(CONTROL_FILE);
    }

    /** {@return the daemon's log (its stdout and stderr)} */
    public Path log() {
        return log;
    }

    /** {@return the path faultfs sees for {@code file}, a file under the mount: {@code "/name"}} */
    public String fusePath(Path file) {
        Path relative = mountPoint.relativize(file.toAbsolutePath().normalize());
        if (relative.startsWith("..") || relative.toString().isEmpty()) {
            throw new IllegalArgumentException(file + " is not under the mount " + mountPoint);
        }
        return "/" + relative.toString().replace(java.io.File.separatorChar, '/');
    }

    // ---------------------------------------------------------------- knobs

    /**
     * Writes raw control lines ({@code "key=value"} or a command), all in one write. A line the
     * daemon rejects fails the write ({@code EINVAL}) and stops the lines after it.
     *
     * @return this
     * @throws IOException if the daemon rejects a line (the message names the lines)
     */
    public FaultFs control(String... lines) throws IOException {
        String text = String.join("\n", lines) + "\n";
        try {
            // WRITE alone: O_CREAT (Files.writeString's default) takes the mount root's directory
            // lock exclusively, which waits behind lookups a hang knob holds in that root, so a
            // release() meant to end the hang hung itself (seen in MetadataCarrierLivenessTest).
            Files.writeString(control(), text, StandardCharsets.US_ASCII, java.nio.file.StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IOException("faultfs rejected control lines " + List.of(lines) + ": " + e.getMessage(), e);
        }
        return this;
    }

    /** Delays every read and write by {@code latency} (zero: no delay). {@return this} */
    public FaultFs latency(Duration latency) throws IOException {
        return control("latency_us=" + micros(latency));
    }

    /** Delays every read and write by a uniformly random time in {@code [min, max]}. {@return this} */
    public FaultFs latency(Duration min, Duration max) throws IOException {
        return control("latency_us=" + micros(min) + ".." + micros(max));
    }

    /**
     * Concurrency knee: with more than {@code k} reads and writes outstanding in the daemon, the
     * latency is multiplied by {@code outstanding / k} (0: off). {@return this}
     */
    public FaultFs knee(int k) throws IOException {
        return control("knee=" + k);
    }

    /** Fails with EIO every read or write whose byte range covers {@code offset} (adds to the set). {@return this} */
    public FaultFs eioAtOffset(long offset) throws IOException {
        return control("eio_offset=" + offset);
    }

    /** Clears the offsets of {@link #eioAtOffset}. {@return this} */
    public FaultFs noEioOffsets() throws IOException {
        return control("eio_offset=none");
    }

    /** Fails every {@code n}th read or write (counted from now) with EIO (0: off). {@return this} */
    public FaultFs eioEvery(long n) throws IOException {
        return control("eio_every=" + n);
    }

    /** Fails each read or write with EIO with probability {@code p}, drawn from a generator seeded with {@code seed}. {@return this} */
    public FaultFs eioProbability(double p, long seed) throws IOException {
        return control("seed=" + seed, "eio_prob=" + p);
    }

    /** Which operations the EIO knobs apply to (default both). {@return this} */
    public FaultFs eioOps(Ops ops) throws IOException {
        return control("eio_ops=" + ops.value);
    }

    /**
     * Lets {@code bytes} more bytes be written in total (from now), then fails writes with ENOSPC;
     * the write that crosses the limit is cut short at it. {@return this}
     */
    public FaultFs enospcAfter(long bytes) throws IOException {
        return control("enospc_after=" + bytes);
    }

    /** Turns {@link #enospcAfter} off. {@return this} */
    public FaultFs noEnospc() throws IOException {
        return control("enospc_after=off");
    }

    /** Each read returns at most {@code max} bytes (0: off). {@return this} */
    public FaultFs shortReads(int max) throws IOException {
        return control("short_reads=" + max);
    }

    /**
     * {@code lseek} answers ENOSYS, as on a file system without it. The kernel then stops asking
     * this mount for good and answers {@code SEEK_DATA}/{@code SEEK_HOLE} itself as if every file
     * were data up to its end: set this before the first such {@code lseek}. {@return this}
     */
    public FaultFs noLseek() throws IOException {
        return control("no_lseek=1");
    }

    /** Each write writes at most {@code max} bytes (0: off). {@return this} */
    public FaultFs shortWrites(int max) throws IOException {
        return control("short_writes=" + max);
    }

    /** Every read blocks in the daemon until {@linkplain #release() released}. {@return this} */
    public FaultFs hangReads() throws IOException {
        return control("hang_reads=all");
    }

    /** Reads of {@code file} (a file under the mount) block until released. {@return this} */
    public FaultFs hangReads(Path file) throws IOException {
        return control("hang_reads=" + fusePath(file));
    }

    /** Every write blocks in the daemon until released. {@return this} */
    public FaultFs hangWrites() throws IOException {
        return control("hang_writes=all");
    }

    /** Writes to {@code file} (a file under the mount) block until released. {@return this} */
    public FaultFs hangWrites(Path file) throws IOException {
        return control("hang_writes=" + fusePath(file));
    }

    /**
     * Delays every metadata operation ({@link MetaOp}: getattr, and so lookup, readdir, unlink,
     * rename, mkdir, rmdir, fsync, truncate) by {@code latency}; the mount's root and the control file are exempt.
     * {@return this}
     */
    public FaultFs metaLatency(Duration latency) throws IOException {
        return control("meta_latency_us=" + micros(latency));
    }

    /** Delays one kind of metadata operation by {@code latency} (zero: no delay). {@return this} */
    public FaultFs metaLatency(MetaOp op, Duration latency) throws IOException {
        return control(op.value + "_latency_us=" + micros(latency));
    }

    /**
     * Every metadata operation (but on the mount's root and the control file) blocks until
     * {@linkplain #release() released}. Keep blocked operations out of the mount's root
     * directory when they take its lock for writing (mkdir, unlink, rename there): the control
     * file is reached through that directory. {@return this}
     */
    public FaultFs hangMeta() throws IOException {
        return control("hang_meta=all");
    }

    /**
     * Metadata operations on {@code file} (a path under the mount) block until released: its
     * lookups and getattrs ({@code stat}, {@code fstat}), {@code fsync}/{@code fdatasync},
     * {@code truncate}/{@code ftruncate}. Open it first: an open looks it up. {@return this}
     */
    public FaultFs hangMeta(Path file) throws IOException {
        return control("hang_meta=" + fusePath(file));
    }

    /**
     * Every flush of {@code file} (a file under the mount) blocks until {@linkplain #release()
     * released}: the kernel sends one with each {@code close(2)} of a descriptor of it, and that
     * close waits for it, as for a hung daemon. {@return this}
     */
    public FaultFs hangFlush(Path file) throws IOException {
        return control("hang_flush=" + fusePath(file));
    }

    /** {@return how many flushes are blocked in the daemon by {@link #hangFlush} now} */
    public long blockedFlushes() throws IOException {
        return Long.parseLong(state().get("blocked_flushes"));
    }

    /** Waits until at least {@code n} flushes are blocked; fails after {@link TestSupport#HANG}. */
    public void awaitBlockedFlushes(long n) throws InterruptedException {
        TestSupport.awaitCondition(n + " flushes blocked in faultfs", () -> {
            try {
                return blockedFlushes() >= n;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** {@return how many metadata operations are blocked in the daemon by {@link #hangMeta()} now} */
    public long blockedMeta() throws IOException {
        return Long.parseLong(state().get("blocked_meta"));
    }

    /** {@return how many metadata operations the daemon has seen since the counters were reset} */
    public long metaOps() throws IOException {
        return Long.parseLong(state().get("meta_ops"));
    }

    /** Waits until at least {@code n} metadata operations are blocked; fails after {@link TestSupport#HANG}. */
    public void awaitBlockedMeta(long n) throws InterruptedException {
        TestSupport.awaitCondition(n + " metadata operations blocked in faultfs", () -> {
            try {
                return blockedMeta() >= n;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Releases every blocked read, write and metadata operation and turns the hang modes off. {@return this} */
    public FaultFs release() throws IOException {
        return control("release");
    }

    /** Releases the {@code n} longest-blocked operations; hang modes stay on. {@return this} */
    public FaultFs release(int n) throws IOException {
        return control("release=" + n);
    }

    /** Every fsync of {@code file} (a file under the mount) fails with EIO. {@return this} */
    public FaultFs eioFsync(Path file) throws IOException {
        return control("eio_fsync=" + fusePath(file));
    }

    /** Every fsync and fdatasync fails with EIO. {@return this} */
    public FaultFs eioFsync() throws IOException {
        return control("eio_fsync=all");
    }

    /** Turns {@link #eioFsync} off. {@return this} */
    public FaultFs noEioFsync() throws IOException {
        return control("eio_fsync=off");
    }

    /** Injects faults only into operations on {@code file} (a file under the mount). {@return this} */
    public FaultFs only(Path file) throws IOException {
        return control("only=" + fusePath(file));
    }

    /** Every knob back to its default (no faults), counters to zero, blocked operations released. {@return this} */
    public FaultFs reset() throws IOException {
        return control("reset");
    }

    /** Counters to zero; knobs unchanged. {@return this} */
    public FaultFs resetCounters() throws IOException {
        return control("reset_counters");
    }

    // ---------------------------------------------------------------- state

    /** {@return every knob and counter the control file reports, by name, in its order} */
    public Map<String, String> state() throws IOException {
        Map<String, String> state = new LinkedHashMap<>();
        for (String line : Files.readAllLines(control(), StandardCharsets.US_ASCII)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                state.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return state;
    }

    /**
     * {@return every EIO injected since the last {@link #reset()} or {@link #resetCounters()}, in
     * the order the daemon injected them} The daemon remembers the first 4096; it fails this call
     * if it had to drop any, so a caller never matches failures against a partial list.
     */
    public List<InjectedFault> injectedFaults() throws IOException {
        List<InjectedFault> faults = new ArrayList<>();
        long dropped = -1;
        for (String line : Files.readAllLines(control(), StandardCharsets.US_ASCII)) {
            if (line.startsWith("eio_at=")) {
                faults.add(InjectedFault.parse(line.substring("eio_at=".length())));
            } else if (line.startsWith("eio_log_dropped=")) {
                dropped = Long.parseLong(line.substring("eio_log_dropped=".length()));
            }
        }
        if (dropped != 0) {
            throw new IllegalStateException("faultfs dropped " + dropped + " entries of its EIO log"
                    + " (or does not keep one: rebuild the fixtures)");
        }
        return faults;
    }

    /** {@return the daemon's counters now} */
    public Counters counters() throws IOException {
        return Counters.of(state());
    }

    /** {@return how many reads are blocked in the daemon by a hang mode now} */
    public long blockedReads() throws IOException {
        return counters().blockedReads();
    }

    /** {@return how many writes are blocked in the daemon by a hang mode now} */
    public long blockedWrites() throws IOException {
        return counters().blockedWrites();
    }

    /** Waits until exactly {@code n} reads are blocked; fails after {@link TestSupport#HANG}. */
    public void awaitBlockedReads(long n) throws InterruptedException {
        TestSupport.awaitCondition(n + " reads blocked in faultfs", () -> uncheckedCounters().blockedReads() == n);
    }

    /** Waits until exactly {@code n} writes are blocked; fails after {@link TestSupport#HANG}. */
    public void awaitBlockedWrites(long n) throws InterruptedException {
        TestSupport.awaitCondition(n + " writes blocked in faultfs", () -> uncheckedCounters().blockedWrites() == n);
    }

    private Counters uncheckedCounters() {
        try {
            return counters();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- teardown

    /**
     * Releases blocked operations, unmounts ({@code fusermount3 -u}, then lazily with
     * {@code fusermount3 -uz}, then {@code umount -l}), stops the daemon and deletes the mount's
     * directories. A file still open on the mount makes the unmount lazy: it is detached at once and
     * the daemon is killed, so later operations on that file fail with {@code ENOTCONN}.
     *
     * @throws IOException if the mount could not be removed (the directories are then kept)
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        IOException failure = null;
        if (daemon.isAlive() && Mounts.isFaultFs(mountPoint)) {
            try {
                control("release");
            } catch (IOException e) {
                // a daemon that cannot take a control write is unmounted and killed below anyway
            }
        }
        boolean clean = false;
        try {
            clean = unmount(mountPoint);
        } catch (IOException e) {
            failure = e;
        }
        try {
            stopDaemon(clean);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = addTo(failure, new IOException("interrupted while stopping faultfs", e));
        }
        if (Mounts.isMounted(mountPoint)) {
            // A killed daemon leaves a dead mount ("Transport endpoint is not connected").
            try {
                unmount(mountPoint);
            } catch (IOException e) {
                failure = addTo(failure, e);
            }
        }
        if (!Mounts.isMounted(mountPoint)) {
            try {
                TestDirectory.deleteRecursively(directory);
            } catch (IOException e) {
                failure = addTo(failure, e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** After a clean unmount the daemon exits by itself; after a lazy one it would wait for the last open file. */
    private void stopDaemon(boolean cleanUnmount) throws InterruptedException {
        if (cleanUnmount && daemon.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            return;
        }
        daemon.destroy(); // SIGTERM: libfuse leaves its loop; pending requests fail with ECONNABORTED
        if (!daemon.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            daemon.destroyForcibly();
            daemon.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private static IOException addTo(IOException first, IOException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /**
     * Unmounts {@code mountPoint} by the first of the unmount commands that works.
     *
     * @return whether the plain (not lazy) unmount did it, or nothing was mounted
     */
    static boolean unmount(Path mountPoint) throws IOException {
        if (!Mounts.isMounted(mountPoint)) {
            return true;
        }
        List<List<String>> attempts = List.of(
                List.of("fusermount3", "-u", mountPoint.toString()),
                List.of("fusermount3", "-u", "-z", mountPoint.toString()),
                List.of("umount", "-l", mountPoint.toString()));
        StringBuilder errors = new StringBuilder();
        for (List<String> command : attempts) {
            String output = run(command);
            if (!Mounts.isMounted(mountPoint)) {
                return command == attempts.get(0);
            }
            errors.append("\n  ").append(String.join(" ", command)).append(": ").append(output);
        }
        throw new IOException("could not unmount " + mountPoint + ":" + errors);
    }

    private static String run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            try {
                p.getOutputStream().close();
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (!p.waitFor(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    return "timed out";
                }
                return "exit " + p.exitValue() + (output.isEmpty() ? "" : ", " + output);
            } finally {
                Commands.closePipes(p); // now, not a moment after waitFor: a test may count descriptors next
            }
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e.toString();
        }
    }

    /**
     * Unmounts faultfs mounts under {@link #root()} whose daemon is gone (left by a test JVM that
     * was killed); live mounts of other JVMs are left alone.
     */
    private static void sweepStaleMounts() {
        for (Path mount : Mounts.faultFsMountsUnder(root())) {
            if (Mounts.isDead(mount)) {
                try {
                    unmount(mount);
                } catch (IOException e) {
                    // best effort: a fresh directory is used anyway
                }
            }
        }
    }

    private String logText() {
        try {
            return Files.exists(log) ? Files.readString(log).strip() : "(no log)";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    private static long micros(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("negative latency " + d);
        }
        return TimeUnit.NANOSECONDS.toMicros(d.toNanos());
    }

    @Override
    public String toString() {
        return "FaultFs[" + mountPoint + " -> " + backing + (closed ? ", closed" : "") + "]";
    }
}
