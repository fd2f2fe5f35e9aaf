package io.auraio.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code auraio hash}: the output of {@code sha256sum}, {@code sha1sum} or {@code md5sum} (so that
 * they check each other's lists), with files hashed in parallel by {@link FileDigester}. Lines
 * come out in the order of the arguments whatever order the files finish in.
 */
@Command(name = "hash", sortOptions = false, usageHelpAutoWidth = true,
        description = {"Prints or checks checksums as sha256sum/sha1sum/md5sum do, hashing files in parallel with "
                + "reads through io_uring ahead of the digest."})
final class HashCommand implements Callable<Integer> {
    /** Files in progress at once: each holds up to READ_AHEAD pooled buffers, so this many never starve the pool. */
    static final int FILES_IN_FLIGHT = FileDigester.BUFFERS / FileDigester.READ_AHEAD;

    enum Algorithm {
        SHA256("SHA-256", "SHA256", 64), SHA1("SHA-1", "SHA1", 40), MD5("MD5", "MD5", 32);

        final String jdkName;
        final String tag;
        final int hexLength;

        Algorithm(String jdkName, String tag, int hexLength) {
            this.jdkName = jdkName;
            this.tag = tag;
            this.hexLength = hexLength;
        }
    }

    @Option(names = {"-a", "--algorithm"}, paramLabel = "ALG", description = "sha256|sha1|md5 (default: sha256)")
    Algorithm algorithm = Algorithm.SHA256;

    @Option(names = {"-r", "--recursive"}, description = "hash the regular files under each directory (as find DIR "
            + "-type f), names sorted")
    boolean recursive;

    @Option(names = {"-c", "--check"}, paramLabel = "FILE", description = "read checksums from FILE ('-': stdin) and "
            + "check them, as sha256sum -c")
    String check;

    @Option(names = "--progress", description = "show progress on stderr and a summary with the rings' AIMD state")
    boolean progress;

    @Option(names = "--help", usageHelp = true, description = "show this help")
    boolean help;

    @Parameters(paramLabel = "PATH", description = "files (and with -r directories); none or '-': stdin")
    List<String> paths = new ArrayList<>();

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    private final boolean terminal;
    private final LongAdder filesDone = new LongAdder();
    /** The live progress line while there is one (--progress). */
    private volatile TransferProgress bar;
    private boolean failed;

    HashCommand(PrintStream out, PrintStream err, InputStream in, boolean terminal) {
        this.out = out;
        this.err = err;
        this.in = in;
        this.terminal = terminal;
    }

    /** One thing to hash and what to do with its result, in output order. */
    private record Job(String name, Path path, String expected, CompletableFuture<Object> result) {}

    @Override
    public Integer call() throws InterruptedException, IOException {
        if (check != null && !paths.isEmpty()) {
            throw new UsageException("-c takes its list as its argument; PATHs are not allowed with it");
        }
        long start = System.nanoTime();
        try (FileDigester digester = new FileDigester(algorithm.jdkName);
             ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            bar = progress
                    ? new TransferProgress(err, terminal, "hashed", digester::bytes, filesDone::sum, () -> -1)
                    : null;
            try {
                if (check != null) {
                    checkList(digester, threads);
                } else {
                    hashPaths(digester, threads);
                }
            } catch (StatusLine.Broken e) {
                // Nobody reads the sums any more: stop, as sha256sum | head does (SIGPIPE). The
                // executor's close waits for the few files in flight.
                return ToolOutput.BROKEN_PIPE;
            } finally {
                if (bar != null) {
                    bar.close();
                    bar = null;
                }
            }
            out.flush();
            if (progress) {
                err.println("auraio hash: " + TransferProgress.summary("hashed", filesDone.sum(), digester.bytes(),
                        System.nanoTime() - start));
            }
        }
        if (out.checkError()) {
            // A PrintStream keeps write errors to itself: the sums went nowhere (a full disk, a
            // closed stdout), which sha256sum reports and fails on.
            return Auraio.writeError("hash", out, err);
        }
        return failed ? 1 : 0;
    }

    // ---- printing sums --------------------------------------------------------------------------

    private void hashPaths(FileDigester digester, ExecutorService threads) throws InterruptedException {
        List<String> names = paths.isEmpty() ? List.of("-") : paths;
        Semaphore inFlight = new Semaphore(FILES_IN_FLIGHT);
        Deque<Job> pending = new ArrayDeque<>();
        for (String name : names) {
            if (name.equals("-")) {
                pending.add(submit(digester, threads, inFlight, name, null, null, -1));
                continue;
            }
            Path path = Path.of(name);
            if (recursive && !name.isEmpty() && Files.isDirectory(path)) {
                walk(path, name, digester, threads, inFlight, pending);
            } else {
                pending.add(submit(digester, threads, inFlight, name, path, null, -1));
            }
            printReady(pending, false);
        }
        printReady(pending, true);
    }

    private void walk(Path dir, String name, FileDigester digester, ExecutorService threads, Semaphore inFlight,
                      Deque<Job> pending) throws InterruptedException {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            entries.forEach(children::add);
        } catch (IOException e) {
            problem(Problems.quoteIfNeeded(name) + ": " + Problems.reason(e));
            return;
        }
        children.sort((a, b) -> compareNames(a.getFileName().toString(), b.getFileName().toString()));
        for (Path child : children) {
            String childName = CpCommand.join(name, child.getFileName().toString());
            BasicFileAttributes attrs;
            try {
                attrs = Files.readAttributes(child, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                problem(Problems.quoteIfNeeded(childName) + ": " + Problems.reason(e));
                continue;
            }
            if (attrs.isDirectory()) {
                walk(child, childName, digester, threads, inFlight, pending);
            } else if (attrs.isRegularFile()) {
                pending.add(submit(digester, threads, inFlight, childName, child, null, attrs.size()));
                printReady(pending, false);
            }
        }
    }

    /** Names in byte order of their UTF-8 form, as {@code LC_ALL=C sort} and tree(1) in the C locale order them. */
    static int compareNames(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /**
     * @param walkedSize the size of a regular file the walk found (its lstat), which then needs no
     *                   check that it is one nor a size request of its own; -1 for a named file
     */
    private Job submit(FileDigester digester, ExecutorService threads, Semaphore inFlight, String name, Path path,
                       String expected, long walkedSize) throws InterruptedException {
        CompletableFuture<Object> result = new CompletableFuture<>();
        inFlight.acquire();
        threads.execute(() -> {
            try {
                result.complete(path == null ? digester.digest(in)
                        : walkedSize >= 0 ? digester.digest(path, walkedSize) : digestRegular(digester, name, path));
            } catch (IOException e) {
                result.complete(e);
            } catch (Throwable t) {
                result.completeExceptionally(t);
            } finally {
                filesDone.increment();
                inFlight.release();
            }
        });
        return new Job(name, path, expected, result);
    }

    private static String digestRegular(FileDigester digester, String name, Path path)
            throws IOException, InterruptedException {
        if (name.isEmpty()) {
            // "" names nothing (sha256sum: No such file or directory); Path.of("") is the current directory.
            throw new java.nio.file.NoSuchFileException(name);
        }
        if (name.endsWith("/") && !Files.isDirectory(path)) {
            // "NAME/" must be a directory; Path drops the slash, the kernel does not.
            throw new java.nio.file.FileSystemException(name, null, Files.exists(path) ? "Not a directory"
                    : "No such file or directory");
        }
        if (Files.isDirectory(path)) {
            throw new java.nio.file.FileSystemException(path.toString(), null, "Is a directory");
        }
        return digester.digest(path, -1);
    }

    /** Prints the finished jobs at the head of the queue; with {@code all}, waits for every job. */
    private void printReady(Deque<Job> pending, boolean all) throws InterruptedException {
        while (!pending.isEmpty() && (all || pending.peekFirst().result().isDone()
                || pending.size() > 4 * FILES_IN_FLIGHT)) {
            if (ToolOutput.brokenPipe(out) || (bar != null && bar.brokenPipe())) {
                throw new StatusLine.Broken();
            }
            Job job = pending.pollFirst();
            Object r = outcome(job);
            if (job.expected() == null) {
                if (r instanceof IOException e) {
                    problem(Problems.quoteIfNeeded(job.name()) + ": " + Problems.reason(e));
                } else {
                    out.println(sumLine((String) r, job.name()));
                }
            } else {
                report(job, r);
            }
        }
    }

    private static Object outcome(Job job) throws InterruptedException {
        try {
            return job.result().get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** {@return sha256sum's line for a file: hex, two spaces, the name; escaped with a leading backslash if it holds \, \n or \r} */
    static String sumLine(String hex, String name) {
        boolean escape = name.indexOf('\\') >= 0 || name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0;
        return escape ? "\\" + hex + "  " + escape(name) : hex + "  " + name;
    }

    private static String escape(String name) {
        return name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }

    private void problem(String message) {
        failed = true;
        out.flush(); // keep stdout and stderr in the order they happened, as the C tools do
        TransferProgress live = bar;
        if (live != null) {
            live.interject(() -> err.println("auraio hash: " + message));
        } else {
            err.println("auraio hash: " + message);
        }
    }

    // ---- checking -------------------------------------------------------------------------------

    private int mismatched;
    private int unreadable;
    /** Which shape of untagged line this list uses, as sha256sum's: -1 none yet, 0 "HEX  NAME", 1 BSD's "HEX NAME". */
    private int bsdReversed = -1;

    private void checkList(FileDigester digester, ExecutorService threads) throws InterruptedException, IOException {
        String listName = check.equals("-") ? "standard input" : check;
        InputStream list;
        try {
            if (check.isEmpty()) {
                // "" names nothing (sha256sum -c ''); Path.of("") is the current directory.
                throw new java.nio.file.NoSuchFileException(check);
            }
            list = check.equals("-") ? in : Files.newInputStream(Path.of(check));
        } catch (IOException e) {
            problem(Problems.quoteIfNeeded(check) + ": " + Problems.reason(e));
            return;
        }
        List<String> lines;
        try {
            lines = new String(list.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            // Opened, then unreadable (a directory's EISDIR, EIO): sha256sum -c says "read error",
            // without the errno's text.
            problem(Problems.quoteIfNeeded(listName) + ": read error");
            return;
        } finally {
            if (list != in) {
                list.close();
            }
        }
        Semaphore inFlight = new Semaphore(FILES_IN_FLIGHT);
        Deque<Job> pending = new ArrayDeque<>();
        int improper = 0;
        int proper = 0;
        for (String line : lines) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue; // sha256sum -c skips empty lines and comments, without a warning
            }
            String[] entry = parse(line);
            if (entry == null) {
                improper++;
                continue;
            }
            proper++;
            String name = entry[1];
            pending.add(submit(digester, threads, inFlight, name, name.equals("-") ? null : Path.of(name), entry[0], -1));
            printReady(pending, false);
        }
        printReady(pending, true);
        if (proper == 0) {
            problem(Problems.quoteIfNeeded(listName) + ": no properly formatted checksum lines found");
            return;
        }
        if (improper > 0) {
            err.println("auraio hash: WARNING: " + improper + (improper == 1 ? " line is" : " lines are")
                    + " improperly formatted");
        }
        if (unreadable > 0) {
            err.println("auraio hash: WARNING: " + unreadable + " listed " + (unreadable == 1 ? "file" : "files")
                    + " could not be read");
        }
        if (mismatched > 0) {
            err.println("auraio hash: WARNING: " + mismatched + " computed " + (mismatched == 1 ? "checksum" : "checksums")
                    + " did NOT match");
        }
    }

    private void report(Job job, Object r) {
        String shown = job.name().indexOf('\n') >= 0 ? "\\" + escape(job.name()) : job.name();
        if (r instanceof IOException e) {
            problem(Problems.quoteIfNeeded(job.name()) + ": " + Problems.reason(e));
            out.println(shown + ": FAILED open or read");
            unreadable++;
        } else if (((String) r).equalsIgnoreCase(job.expected())) {
            out.println(shown + ": OK");
        } else {
            out.println(shown + ": FAILED");
            mismatched++;
            failed = true;
        }
    }

    /**
     * {@return {hex, name} of a checksum line in sha256sum's format ({@code HEX  NAME} or
     * {@code HEX *NAME}, a leading backslash marking an escaped name) or the tagged BSD format
     * ({@code SHA256 (NAME) = HEX}); null if the line is neither}
     */
    String[] parse(String line) {
        int start = 0;
        while (start < line.length() && (line.charAt(start) == ' ' || line.charAt(start) == '\t')) {
            start++; // as sha256sum: white space before the line's fields is skipped
        }
        boolean escaped = line.startsWith("\\", start);
        String s = line.substring(escaped ? start + 1 : start);
        String hex;
        String name;
        String tagPrefix = algorithm.tag + " (";
        if (s.startsWith(tagPrefix) && s.lastIndexOf(") = ") > tagPrefix.length()) {
            int close = s.lastIndexOf(") = ");
            name = s.substring(tagPrefix.length(), close);
            hex = s.substring(close + 4);
        } else {
            int n = algorithm.hexLength;
            if (s.length() < n + 2 || (s.charAt(n) != ' ' && s.charAt(n) != '\t')) {
                return null;
            }
            hex = s.substring(0, n);
            // "HEX  NAME" / "HEX *NAME", or BSD's reversed "HEX NAME" (md5 -r): sha256sum takes
            // whichever shape the first such line has, and calls a line of the other improper.
            if (s.length() == n + 2 || (s.charAt(n + 1) != ' ' && s.charAt(n + 1) != '*')) {
                if (bsdReversed == 0) {
                    return null;
                }
                bsdReversed = 1;
                name = s.substring(n + 1);
            } else if (bsdReversed != 1) {
                bsdReversed = 0;
                name = s.substring(n + 2);
            } else {
                name = s.substring(n + 1);
            }
        }
        if (hex.length() != algorithm.hexLength || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)
                || name.isEmpty()) {
            return null;
        }
        if (escaped) {
            name = unescape(name);
            if (name == null) {
                return null;
            }
        }
        return new String[] {hex.toLowerCase(Locale.ROOT), name};
    }

    private static String unescape(String name) {
        StringBuilder b = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (++i == name.length()) {
                return null;
            }
            switch (name.charAt(i)) {
                case '\\' -> b.append('\\');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                default -> {
                    return null;
                }
            }
        }
        return b.toString();
    }
}
