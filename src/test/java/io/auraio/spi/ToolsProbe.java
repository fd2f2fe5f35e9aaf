package io.auraio.spi;

import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.spi.ToolProvider;

/**
 * Run in a forked JVM with {@link AuraFileSystemProvider} as the default provider: JDK code that
 * lives on {@code java.nio.file} (javac, the zip file system) works through it. Argument: a
 * directory to work in. Prints {@code key=value} lines.
 */
public final class ToolsProbe {
    private ToolsProbe() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path source = Files.writeString(dir.resolve("Hello.java"), "class Hello { int answer() { return 42; } }\n");
        ToolProvider javac = ToolProvider.findFirst("javac").orElseThrow();
        int rc = javac.run(System.out, System.err, "-d", dir.resolve("classes").toString(), source.toString());
        System.out.println("javac=" + rc);
        System.out.println("classFile=" + Files.size(dir.resolve("classes/Hello.class")));
        Path zip = dir.resolve("z.zip");
        try (FileSystem z = FileSystems.newFileSystem(zip, Map.of("create", "true"))) {
            Files.copy(dir.resolve("classes/Hello.class"), z.getPath("/Hello.class"));
        }
        try (FileSystem z = FileSystems.newFileSystem(zip)) {
            System.out.println("zipped=" + Files.size(z.getPath("/Hello.class")));
        }
    }
}
