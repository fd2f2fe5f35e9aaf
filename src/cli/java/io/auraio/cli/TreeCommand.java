package io.auraio.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code auraio tree}: tree(1)'s default listing (version 2.x: names sorted in the C locale's
 * order, hidden files left out, symbolic links shown with their target and not followed, the
 * root counted among the directories), with {@code -L}, {@code -s} and {@code --du} as tree
 * has them. The directories are read concurrently, each on its own virtual thread, before
 * anything is printed, so a cold cache or a slow file system waits for many directories at once.
 */
@Command(name = "tree", sortOptions = false, usageHelpAutoWidth = true,
        description = {"Lists directories as tree(1) does, reading them concurrently."})
final class TreeCommand implements Callable<Integer> {
    /** Directories being read at once. */
    static final int READERS = 64;

    @Option(names = "-L", paramLabel = "N", description = "descend at most N levels")
    Integer level;

    @Option(names = "-s", description = "print the size of each entry in bytes")
    boolean sizes;

    @Option(names = "--du", description = "directories' sizes as the sum of what they hold (implies -s), and the "
            + "total at the end")
    boolean du;

    @Option(names = "--help", usageHelp = true, description = "show this help")
    boolean help;

    @Parameters(paramLabel = "PATH", description = "directories to list (default: .)")
    List<String> paths = new ArrayList<>();

    private final PrintStream out;
    private final Lines lines;
    private final Semaphore readers = new Semaphore(READERS);
    private long directories;
    private long files;
    private long bytesUsed;
    /** A directory could not be read: tree exits 2 then (not with --du). */
    private boolean unreadable;

    TreeCommand(PrintStream out) {
        this.out = out;
        this.lines = out.charset().equals(StandardCharsets.UTF_8) ? Lines.UNICODE : Lines.ASCII;
    }

    /**
     * The branches tree draws: box-drawing characters when the output is UTF-8 (with two no-break
     * spaces after the vertical line, byte for byte as tree 2.x), ASCII otherwise (the C locale).
     */
    private enum Lines {
        UNICODE("├── ", "└── ", "│\u00a0\u00a0 "), ASCII("|-- ", "`-- ", "|   ");

        final String middle;
        final String last;
        final String through;

        Lines(String middle, String last, String through) {
            this.middle = middle;
            this.last = last;
            this.through = through;
        }
    }

    /** One entry: what lstat said, its children once read (null: not a directory, or not descended). */
    private static final class Node {
        final String name;
        final BasicFileAttributes attrs;
        final String linkTarget;
        final boolean directoryLink;
        List<Node> children;
        boolean unreadable;
        long total;

        Node(String name, BasicFileAttributes attrs, String linkTarget, boolean directoryLink) {
            this.name = name;
            this.attrs = attrs;
            this.linkTarget = linkTarget;
            this.directoryLink = directoryLink;
        }

        boolean isDirectory() {
            return attrs != null && (attrs.isDirectory() || directoryLink);
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        if (level != null && level < 1) {
            throw new UsageException("Invalid level, must be greater than 0.");
        }
        boolean showSizes = sizes || du;
        int status = 0;
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String name : paths.isEmpty() ? List.of(".") : paths) {
                Path path = Path.of(name);
                // "" names nothing (tree(1): error opening dir), where Path.of("") is the current directory.
                BasicFileAttributes attrs = name.isEmpty() ? null : attributes(path, new LinkOption[0]);
                Node root = new Node(name, attrs, null, false);
                if (attrs == null) {
                    status = 2; // tree exits 2 when a named directory does not exist
                    out.println(name + "  [error opening dir]");
                    continue;
                }
                if (!attrs.isDirectory()) {
                    files++;
                    out.println((showSizes ? size(attrs.size()) : "") + name + "  [error opening dir]");
                    continue;
                }
                read(root, path, 1, threads).get();
                total(root);
                // tree 2.x counts a root among the directories when it lists something in it, and
                // adds an empty root's own size to the bytes used; so does this, to print the same.
                if (root.children != null && !root.children.isEmpty()) {
                    directories++;
                } else {
                    bytesUsed += attrs.size();
                }
                out.println((showSizes ? size(du ? root.total : attrs.size()) : "") + name
                        + (root.unreadable ? "  [error opening dir]" : ""));
                unreadable |= root.unreadable;
                print(root, "", showSizes);
                if (ToolOutput.brokenPipe(out)) {
                    return ToolOutput.BROKEN_PIPE; // nobody reads the rest (| head): as tree killed by SIGPIPE
                }
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        out.println();
        String counts = directories + (directories == 1 ? " directory, " : " directories, ") + files
                + (files == 1 ? " file" : " files");
        out.println(du ? String.format(Locale.ROOT, "%12d bytes used in %s", bytesUsed, counts) : counts);
        return unreadable && !du ? 2 : status; // tree 2.1 reports an unreadable directory by status 2, except with --du
    }

    /** Reads {@code dir}'s entries into {@code node}, and its subdirectories in parallel, down to the level limit. */
    private Future<?> read(Node node, Path dir, int depth, ExecutorService threads) throws InterruptedException {
        readers.acquire();
        return threads.submit(() -> {
            List<Node> children = new ArrayList<>();
            List<Path> paths = new ArrayList<>();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                for (Path child : entries) {
                    String name = child.getFileName().toString();
                    if (!name.startsWith(".")) {
                        paths.add(child);
                    }
                }
            } catch (IOException e) {
                node.unreadable = true;
            } finally {
                readers.release();
            }
            paths.sort((a, b) -> HashCommand.compareNames(a.getFileName().toString(), b.getFileName().toString()));
            for (Path child : paths) {
                children.add(entry(child));
            }
            node.children = children;
            if (level == null || depth < level) {
                List<Future<?>> subdirectories = new ArrayList<>();
                for (int i = 0; i < children.size(); i++) {
                    Node c = children.get(i);
                    if (c.attrs != null && c.attrs.isDirectory()) {
                        subdirectories.add(read(c, paths.get(i), depth + 1, threads));
                    }
                }
                for (Future<?> f : subdirectories) {
                    f.get();
                }
            }
            return null;
        });
    }

    private static Node entry(Path child) {
        String name = child.getFileName().toString();
        BasicFileAttributes attrs = attributes(child, new LinkOption[] {LinkOption.NOFOLLOW_LINKS});
        if (attrs == null || !attrs.isSymbolicLink()) {
            return new Node(name, attrs, null, false);
        }
        String target;
        try {
            target = Files.readSymbolicLink(child).toString();
        } catch (IOException e) {
            target = "?";
        }
        return new Node(name, attrs, target, Files.isDirectory(child));
    }

    private static BasicFileAttributes attributes(Path path, LinkOption[] options) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, options);
        } catch (IOException e) {
            return null;
        }
    }

    /** Sets each directory's total to its own size plus its children's totals, as tree --du does. */
    private static long total(Node node) {
        long sum = node.attrs == null ? 0 : node.attrs.size();
        if (node.children != null) {
            for (Node c : node.children) {
                sum += total(c);
            }
        }
        node.total = sum;
        return sum;
    }

    private void print(Node dir, String indent, boolean showSizes) {
        List<Node> children = dir.children;
        if (children == null) {
            return;
        }
        for (int i = 0; i < children.size(); i++) {
            Node c = children.get(i);
            boolean last = i == children.size() - 1;
            if (c.isDirectory()) {
                directories++;
            } else {
                files++;
            }
            long shownSize = c.attrs == null ? 0 : du ? c.total : c.attrs.size();
            bytesUsed += shownSize;
            StringBuilder line = new StringBuilder(indent).append(last ? lines.last : lines.middle);
            if (showSizes) {
                line.append(size(shownSize));
            }
            appendPrintable(line, c.name);
            if (c.linkTarget != null) {
                appendPrintable(line.append(" -> "), c.linkTarget);
            }
            if (c.unreadable) {
                line.append("  [error opening dir]");
                unreadable = true;
            }
            out.println(line);
            print(c, indent + (last ? "    " : lines.through), showSizes);
        }
    }

    /**
     * Appends {@code name} as tree(1) prints it: a control character as a backslash and three
     * octal digits ({@code \012} for a newline), so that a name cannot break the listing's lines
     * or send escape sequences to the terminal.
     */
    static void appendPrintable(StringBuilder line, String name) {
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (ch < 0x20 || ch == 0x7f) {
                line.append('\\').append((char) ('0' + (ch >> 6))).append((char) ('0' + ((ch >> 3) & 7)))
                        .append((char) ('0' + (ch & 7)));
            } else {
                line.append(ch);
            }
        }
    }

    private static String size(long bytes) {
        return String.format(Locale.ROOT, "[%11d]  ", bytes);
    }
}
