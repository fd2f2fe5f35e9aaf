package io.auraio.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code auraio cp}: GNU {@code cp}'s semantics for files and trees (the same messages, with
 * "auraio cp" for "cp", and exit status 1 when any file failed), with the bytes moved by
 * {@link FileMover}: many files and chunks in flight at once through the io_uring rings.
 *
 * <p>The walk runs on the calling thread: it checks each source against its target as cp does
 * (same file, directory over file, a directory into itself), creates directories, recreates
 * symbolic links and hands regular files to the mover, which copies them on virtual threads while
 * the walk goes on. Directories get their permissions (and with {@code -p} their times) once
 * everything in them is written, deepest first, as cp does.
 */
@Command(name = "cp", sortOptions = false, usageHelpAutoWidth = true,
        description = {"Copies SRC to DEST, or SRC... into the directory DEST, as cp(1) does, with many files and "
                + "chunks in flight at once through io_uring."})
final class CpCommand implements Callable<Integer> {
    @Option(names = {"-r", "-R", "--recursive"}, description = "copy directories recursively; symbolic links are "
            + "copied as links (as cp -r)")
    boolean recursive;

    @Option(names = {"-p", "--preserve"}, description = "keep permissions, owner (where allowed) and times")
    boolean preserve;

    @Option(names = "--direct", description = "O_DIRECT reads and writes, bypassing the page cache where the file "
            + "system allows it")
    boolean direct;

    @Option(names = "--progress", description = "show progress on stderr (a bar on a terminal, a line a second "
            + "otherwise) and a summary with the throughput and the rings' AIMD state")
    boolean progress;

    @Option(names = "--help", usageHelp = true, description = "show this help")
    boolean help;

    @Parameters(paramLabel = "SRC... DEST", description = "sources, then the target")
    List<String> operands = new ArrayList<>();

    private final PrintStream err;
    private final boolean terminal;
    private final AtomicBoolean failed = new AtomicBoolean();
    private final AtomicLong walkedBytes = new AtomicLong();
    private volatile boolean walkDone;
    /** Directories to finish once their contents are in, deepest first (the walk adds them post-order). */
    private final List<Runnable> finishDirectories = new ArrayList<>();
    private FileMover mover;
    /** The live progress line while there is one (--progress). */
    private volatile TransferProgress bar;
    /** Directories made by copying a directory into itself, which the walk must not descend into. */
    private final Set<Object> copiesIntoThemselves = new HashSet<>();

    CpCommand(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public Integer call() throws InterruptedException {
        if (operands.isEmpty()) {
            throw new UsageException("missing file operand");
        }
        if (operands.size() == 1) {
            throw new UsageException("missing destination file operand after " + Problems.quote(operands.get(0)));
        }
        String destName = operands.get(operands.size() - 1);
        Path dest = Path.of(destName);
        List<String> sources = operands.subList(0, operands.size() - 1);
        boolean destIsDirectory = Files.isDirectory(dest);
        if (sources.size() > 1 && !destIsDirectory) {
            // coreutils 9's wording: the errno of the failed lookup of DEST as a directory.
            problem("target " + Problems.quote(destName) + (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)
                    ? ": Not a directory" : ": No such file or directory"));
            return 1;
        }
        long start = System.nanoTime();
        Set<PosixFilePermission> umask = Umasks.current();
        boolean progressReaderGone = false;
        try (FileMover m = new FileMover(direct, preserve, umask, this::problem)) {
            mover = m;
            if (progress) {
                bar = new TransferProgress(err, terminal, "copied", m::bytes, m::files,
                        () -> walkDone ? walkedBytes.get() : -1);
            }
            // As cp: one source after the other. A source's copies finish before the next source
            // is looked at, so the next sees what the last made (two trees merge; the same name
            // twice is found just created), where the copies in flight used to race it.
            Set<Object> sourcesSeen = new HashSet<>();
            Set<Path> createdHere = new HashSet<>();
            for (int i = 0; i < sources.size(); i++) {
                if (i > 0) {
                    m.awaitIdle();
                }
                String sourceName = sources.get(i);
                Path source = Path.of(sourceName);
                String base = baseName(sourceName);
                Path target = destIsDirectory ? dest.resolve(base) : dest;
                String targetName = destIsDirectory ? join(destName, base) : destName;
                BasicFileAttributes sourceAttrs = attributesOrNull(source, recursive
                        ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0]);
                if (sourceAttrs != null && sourceAttrs.fileKey() != null && !sourcesSeen.add(sourceAttrs.fileKey())) {
                    warning("source " + (sourceAttrs.isDirectory() ? "directory " : "file ")
                            + Problems.quote(sourceName) + " specified more than once");
                    continue;
                }
                Path where = target.toAbsolutePath().normalize();
                if (sourceAttrs != null && !sourceAttrs.isDirectory() && createdHere.contains(where)) {
                    problem("will not overwrite just-created " + Problems.quote(targetName) + " with "
                            + Problems.quote(sourceName));
                    continue;
                }
                boolean existedBefore = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
                copyEntry(source, sourceName, target, targetName, umask, true, false);
                if (!existedBefore) {
                    createdHere.add(where);
                }
            }
            walkDone = true;
        } catch (StatusLine.Broken e) {
            // --progress into a pipe whose reader is gone (2>&1 | head), or a target pipe's reader
            // gone (cp FILE /dev/stdout | head): no new file is started, those in flight finish
            // (the mover's close waits for them), and the exit is 141, as a cp killed by SIGPIPE
            // at its next write would report.
            progressReaderGone = true;
        } finally {
            // The mover's close waited for every file; now the directories can take their final state.
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
        for (Runnable finish : finishDirectories) {
            finish.run();
        }
        if (progressReaderGone || mover.readerGone()) {
            return ToolOutput.BROKEN_PIPE;
        }
        if (progress) {
            err.println("auraio cp: " + TransferProgress.summary("copied", mover.files(), mover.bytes(),
                    System.nanoTime() - start) + (mover.directFallbacks() > 0
                    ? "; " + mover.directFallbacks() + " files through the page cache (no O_DIRECT there)" : ""));
        }
        return failed.get() ? 1 : 0;
    }

    /** Prints a warning ("auraio cp: warning: " + cp's message); the exit status stays. */
    private void warning(String message) {
        synchronized (err) {
            err.println("auraio cp: warning: " + message);
        }
    }

    /** Prints one failure ("auraio cp: " + cp's message) and remembers that the exit status is 1. */
    private void problem(String message) {
        failed.set(true);
        TransferProgress live = bar;
        if (live != null) {
            live.interject(() -> err.println("auraio cp: " + message));
        } else {
            synchronized (err) {
                err.println("auraio cp: " + message);
            }
        }
    }

    /**
     * Copies one source; {@code top} for those named on the command line. {@code inNewDirectory}:
     * the target's directory was made by this copy, so the target cannot exist yet and is not
     * looked up, as coreutils' cp does not (its {@code new_dst}): that was two failed lookups per
     * file, a third of the walk's time in a cold {@code cp -r}. Should another process make the
     * name meanwhile, the file's exclusive create fails, as cp's {@code O_EXCL} does.
     */
    private void copyEntry(Path source, String sourceName, Path target, String targetName,
                           Set<PosixFilePermission> umask, boolean top, boolean inNewDirectory)
            throws InterruptedException {
        TransferProgress live = bar;
        if ((live != null && live.brokenPipe()) || mover.readerGone()) {
            throw new StatusLine.Broken();
        }
        // "SRC/" promises a directory, and the kernel resolves it through a symbolic link; Path
        // drops the slash, and cp -r then copied the link, or a file, as if it had none.
        boolean slash = top && sourceName.length() > 1 && sourceName.endsWith("/");
        // cp -r copies symbolic links as links, also those named on the command line; plain cp follows them.
        LinkOption[] sourceLinks = recursive && !slash ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS}
                : new LinkOption[0];
        PosixFileAttributes attrs;
        try {
            attrs = Files.readAttributes(source, PosixFileAttributes.class, sourceLinks);
        } catch (IOException e) {
            problem("cannot stat " + Problems.quote(sourceName) + ": " + Problems.reason(e));
            return;
        }
        if (slash && !attrs.isDirectory()) {
            problem("cannot stat " + Problems.quote(sourceName) + ": Not a directory");
            return;
        }
        if (attrs.isDirectory() && !recursive) {
            problem("-r not specified; omitting directory " + Problems.quote(sourceName));
            return;
        }
        // The target itself, then, for a symbolic link, what it leads to (null: dangling).
        BasicFileAttributes existingLink = inNewDirectory ? null
                : attributesOrNull(target, new LinkOption[] {LinkOption.NOFOLLOW_LINKS});
        BasicFileAttributes existing = existingLink == null || !existingLink.isSymbolicLink() ? existingLink
                : attributesOrNull(target, new LinkOption[0]);
        if (top && targetName.endsWith("/") && !attrs.isSymbolicLink()
                && (existing == null || !existing.isDirectory())) {
            // "DEST/" promises a directory; Path drops the slash, cp does not: its stat of "DEST/"
            // fails (Not a directory), or, where nothing (or a dangling link) is there, its create.
            String quoted = Problems.quote(targetName);
            if (existing != null) {
                problem("cannot stat " + quoted + ": Not a directory");
                return;
            }
            if (!attrs.isDirectory()) {
                problem("cannot create regular file " + quoted + ": Not a directory");
                return;
            }
            if (existingLink != null) {
                problem("cannot create directory " + quoted + ": File exists");
                return;
            }
        }
        if (existing != null && existing.fileKey() != null && Objects.equals(existing.fileKey(), attrs.fileKey())) {
            problem(Problems.quote(sourceName) + " and " + Problems.quote(targetName) + " are the same file");
            return;
        }
        if (attrs.isDirectory()) {
            copyDirectory(source, sourceName, target, targetName, attrs, existing, existingLink, umask, top);
        } else if (attrs.isSymbolicLink()) {
            copyLink(source, sourceName, target, targetName, attrs, existing, existingLink);
        } else {
            if (existing != null && existing.isDirectory()) {
                problem("cannot overwrite directory " + Problems.quote(targetName) + " with non-directory");
                return;
            }
            if (existing == null && existingLink != null) {
                problem("not writing through dangling symlink " + Problems.quote(targetName));
                return;
            }
            if (recursive && !attrs.isRegularFile()) {
                problem("cannot copy special file " + Problems.quote(sourceName)
                        + ": auraio cp copies regular files, directories and symbolic links");
                return;
            }
            walkedBytes.addAndGet(attrs.size());
            mover.submit(source, sourceName, target, targetName, attrs, existing != null);
        }
    }

    private void copyDirectory(Path source, String sourceName, Path target, String targetName,
                               PosixFileAttributes attrs, BasicFileAttributes existing,
                               BasicFileAttributes existingLink, Set<PosixFilePermission> umask, boolean top)
            throws InterruptedException {
        // A symbolic link in the target, even to a directory, is not written through: cp -r
        // refuses it as a non-directory (it would put the tree wherever the link leads).
        if (existingLink != null && (existingLink.isSymbolicLink() || existing == null || !existing.isDirectory())) {
            problem("cannot overwrite non-directory " + Problems.quote(targetName) + " with directory "
                    + Problems.quote(sourceName));
            return;
        }
        // As cp: a directory copied into itself is reported, and copied once, without the copy itself.
        boolean intoItself = top && isInside(source, target);
        if (intoItself) {
            problem("cannot copy a directory, " + Problems.quote(sourceName) + ", into itself, "
                    + Problems.quote(targetName));
        }
        boolean created = existing == null;
        if (created) {
            try {
                Files.createDirectory(target);
            } catch (IOException e) {
                problem("cannot create directory " + Problems.quote(targetName) + ": " + Problems.reason(e));
                return;
            }
        }
        if (intoItself) {
            BasicFileAttributes copy = attributesOrNull(target, new LinkOption[0]);
            if (copy != null && copy.fileKey() != null) {
                copiesIntoThemselves.add(copy.fileKey());
            }
        }
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(source)) {
            for (Path child : entries) {
                children.add(child);
            }
        } catch (IOException e) {
            problem("cannot access " + Problems.quote(sourceName) + ": " + Problems.reason(e));
        }
        for (Path child : children) {
            String name = child.getFileName().toString();
            if (!copiesIntoThemselves.isEmpty()) {
                BasicFileAttributes c = attributesOrNull(child, new LinkOption[] {LinkOption.NOFOLLOW_LINKS});
                if (c != null && copiesIntoThemselves.contains(c.fileKey())) {
                    continue; // the copy being made: cp does not descend into it
                }
            }
            // The child's own name as a Path, which keeps its bytes (a name that is not valid in the
            // JVM's encoding became U+FFFD in the String, and resolved from it, another name).
            copyEntry(child, join(sourceName, name), target.resolve(child.getFileName()), join(targetName, name),
                    umask, false, created);
        }
        if (created || preserve) {
            finishDirectories.add(() -> {
                try {
                    // cp -r keeps a directory's sticky bit; cp -p its set-user/group-ID bits too.
                    FileMover.applyAttributes(target, attrs, FileMover.specialBits(source) & (preserve ? 07000 : 01000),
                            !created, preserve, umask);
                } catch (IOException e) {
                    problem("preserving permissions for " + Problems.quote(targetName) + ": " + Problems.reason(e));
                }
            });
        }
    }

    private void copyLink(Path source, String sourceName, Path target, String targetName, PosixFileAttributes attrs,
                          BasicFileAttributes existing, BasicFileAttributes existingLink) {
        if (existingLink != null && existingLink.isDirectory()) {
            problem("cannot overwrite directory " + Problems.quote(targetName) + " with non-directory");
            return;
        }
        Path linkTarget;
        try {
            linkTarget = Files.readSymbolicLink(source);
        } catch (IOException e) {
            problem("cannot read symbolic link " + Problems.quote(sourceName) + ": " + Problems.reason(e));
            return;
        }
        try {
            if (existingLink != null) {
                Files.delete(target); // cp -r replaces an existing file or link by the link
            }
            Files.createSymbolicLink(target, linkTarget);
        } catch (IOException e) {
            problem("cannot create symbolic link " + Problems.quote(targetName) + ": " + Problems.reason(e));
            return;
        }
        if (preserve) {
            try {
                FileMover.applyAttributes(target, attrs, 0, existing != null, true, Set.of());
            } catch (IOException e) {
                problem("preserving times for " + Problems.quote(targetName) + ": " + Problems.reason(e));
            }
        }
    }

    /** {@return whether {@code target} is {@code source} or lies under it, as cp refuses: "into itself"} */
    private static boolean isInside(Path source, Path target) {
        try {
            Path realSource = source.toRealPath();
            Path parent = target.toAbsolutePath().getParent();
            Path realTarget = parent == null ? target.toAbsolutePath()
                    : parent.toRealPath().resolve(target.getFileName());
            return realTarget.startsWith(realSource);
        } catch (IOException e) {
            return false; // the target's directory is missing: creating it reports that
        }
    }

    private static BasicFileAttributes attributesOrNull(Path path, LinkOption[] options) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, options);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null; // e.g. a dangling link followed, or a directory on the path not searchable
        }
    }

    /** {@return the last name of {@code name} as cp takes it: trailing slashes dropped} */
    static String baseName(String name) {
        String s = name;
        while (s.length() > 1 && s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        int slash = s.lastIndexOf('/');
        return slash >= 0 && s.length() > 1 ? s.substring(slash + 1) : s;
    }

    /** {@return {@code directory/name} as cp writes it in messages: no doubled slash} */
    static String join(String directory, String name) {
        return directory.endsWith("/") ? directory + name : directory + "/" + name;
    }
}
