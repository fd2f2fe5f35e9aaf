package io.auraio.spi;

import java.net.URI;
import java.nio.file.AccessMode;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Run as an unprivileged user by {@code ProviderPathsReviewTest} (classes only: that user cannot
 * read root's Maven repository), and under {@code LANG=C}. Argument: a tree root prepared by root.
 * For each name given after it (or listed in it), the same calls through the platform's provider
 * and through {@link AuraFileSystemProvider}, each on a platform and a virtual thread; prints {@code kind name: outcomes} lines, the tree root
 * written {@code <base>} and the kind {@code <kind>}.
 */
public final class PermissionProbe {
    private PermissionProbe() {}

    public static void main(String[] args) throws Exception {
        Path plain = Path.of(args[0]);
        // With -Dprobe.treePerKind=true each kind works on a tree of its own, <root>/<kind> (the
        // calls then succeed, and change it); with no names given, the names are those listed in
        // the first tree (as the platform's paths: under LANG=C a non-ASCII name cannot be spelt).
        boolean perKind = Boolean.getBoolean("probe.treePerKind");
        FileSystem aura = new AuraFileSystemProvider(FileSystems.getDefault().provider())
                .getFileSystem(URI.create("file:///"));
        List<String> kinds = List.of("jdk-platform", "jdk-virtual", "aura-platform", "aura-virtual");
        List<Path> names = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            names.add(Path.of(args[i]));
        }
        if (names.isEmpty()) {
            Path first = perKind ? plain.resolve(kinds.getFirst()) : plain;
            try (var entries = Files.list(first)) {
                entries.map(Path::getFileName).filter(n -> !n.toString().equals("open")).sorted().forEach(names::add);
            }
        }
        for (int i = 0; i < names.size(); i++) {
            Path name = names.get(i);
            int index = i;
            for (String kind : kinds) {
                Path tree = perKind ? plain.resolve(kind) : plain;
                Path base = kind.startsWith("aura") ? aura.getPath(tree.toString()) : tree;
                String out = onThread(() -> calls(base, name, index, kind), kind.endsWith("virtual"));
                System.out.println(kind + " " + name + ": "
                        + out.replace(tree.toString(), "<base>").replace(kind, "<kind>").replace("\n", "\\n"));
            }
        }
    }

    private static String onThread(Callable<String> task, boolean virtual) throws InterruptedException {
        AtomicReference<String> out = new AtomicReference<>();
        Runnable r = () -> {
            try {
                out.set(task.call());
            } catch (Throwable e) {
                out.set("threw " + e);
            }
        };
        Thread t = virtual ? Thread.ofVirtual().start(r) : Thread.ofPlatform().start(r);
        t.join();
        return out.get();
    }

    private static String calls(Path base, Path name, int index, String kind) {
        Path p = base.resolve(name);
        Path scratch = base.resolve("open").resolve(kind);
        List<Function<Path, Object>> calls = List.of(
                q -> Files.exists(q) + " " + Files.notExists(q),
                q -> Files.isReadable(q) + " " + Files.isWritable(q) + " " + Files.isExecutable(q),
                q -> call(() -> {
                    q.getFileSystem().provider().checkAccess(q);
                    return "ok";
                }),
                q -> call(() -> {
                    q.getFileSystem().provider().checkAccess(q, AccessMode.READ, AccessMode.WRITE);
                    return "ok";
                }),
                q -> call(() -> Files.readAttributes(q, BasicFileAttributes.class).size()),
                q -> call(() -> Files.readAttributes(q, "unix:mode,uid").toString()),
                q -> call(() -> Files.isSameFile(q, base.resolve(name))),
                q -> call(() -> Files.isSameFile(q, base.resolve("open"))),
                q -> call(() -> {
                    try (var s = Files.newDirectoryStream(q)) {
                        List<String> n = new ArrayList<>();
                        s.forEach(e -> n.add(e.getFileName().toString()));
                        n.sort(null);
                        return n;
                    }
                }),
                q -> call(() -> Files.getFileStore(q).type()),
                q -> call(() -> Files.readString(q)),
                q -> call(() -> Files.copy(q, scratch).getFileName()),
                q -> call(() -> (kind.startsWith("aura") ? io.auraio.AuraFiles.copy(q, scratch.resolveSibling(kind + "-c"))
                        : Files.copy(q, scratch.resolveSibling(kind + "-c"))).getFileName()),
                q -> call(() -> {
                    // An existing target, replaced: left alone where the source cannot be read.
                    Path t = Files.writeString(scratch.resolveSibling(kind + "-r-" + index), "kept");
                    Object copied = call(() -> (kind.startsWith("aura")
                            ? io.auraio.AuraFiles.copy(q, t, StandardCopyOption.REPLACE_EXISTING)
                            : Files.copy(q, t, StandardCopyOption.REPLACE_EXISTING)).getFileName());
                    return copied + " target " + (Files.isRegularFile(t) ? Files.readString(t) : Files.exists(t));
                }),
                q -> call(() -> kind.startsWith("aura") ? io.auraio.AuraFiles.exists(q) + " "
                        + io.auraio.AuraFiles.readAttributes(q, BasicFileAttributes.class).size()
                        : Files.exists(q) + " " + Files.readAttributes(q, BasicFileAttributes.class).size()),
                q -> call(() -> {
                    if (kind.startsWith("aura")) {
                        io.auraio.AuraFiles.checkAccess(q, AccessMode.READ);
                    } else {
                        q.getFileSystem().provider().checkAccess(q, AccessMode.READ);
                    }
                    return "readable";
                }),
                q -> call(() -> Files.createDirectory(q.resolve("new")).getFileName()),
                q -> call(() -> Files.createDirectories(q.resolve("a/b")).getFileName()),
                q -> call(() -> Files.setLastModifiedTime(q, FileTime.fromMillis(0)).getFileName()),
                q -> call(() -> Files.createSymbolicLink(q.resolve("l"), Path.of("x")).getFileName()),
                q -> call(() -> Files.move(q, scratch.resolveSibling(kind + "-moved"),
                        StandardCopyOption.ATOMIC_MOVE).getFileName()),
                q -> call(() -> Files.deleteIfExists(q)),
                q -> Files.exists(q) + " " + Thread.currentThread().isInterrupted());
        List<String> out = new ArrayList<>();
        for (Function<Path, Object> c : calls) {
            out.add(String.valueOf(c.apply(p)));
        }
        return String.join(" | ", out);
    }

    private static Object call(Callable<?> c) {
        try {
            return c.call();
        } catch (Exception e) {
            // AuraIOException is the IOException the platform throws, with the errno as well
            String type = e instanceof io.auraio.AuraIOException ? "IOException" : e.getClass().getSimpleName();
            return type + ": " + e.getMessage();
        }
    }
}
