package io.auraio.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * {@link ToolArgs} against picocli, the oracle: every line it takes sets the command exactly as
 * picocli's parse of the same line does, and every line it cannot read the same way it leaves to
 * picocli (null).
 */
class ToolArgsTest {
    private final PrintStream out = new PrintStream(new ByteArrayOutputStream());
    private final PrintStream err = new PrintStream(new ByteArrayOutputStream());
    private final InputStream in = new ByteArrayInputStream(new byte[0]);

    /** The CLI is compiled apart from the tests (target/cli-classes): reached by reflection, as {@link Cli} does. */
    private static Class<?> cli(String name) throws ClassNotFoundException {
        return Class.forName("io.auraio.cli." + name);
    }

    private Object quick(String line) throws ReflectiveOperationException {
        Method parse = cli("ToolArgs").getDeclaredMethod("parse", String[].class, PrintStream.class, PrintStream.class,
                InputStream.class, boolean.class);
        parse.setAccessible(true);
        return parse.invoke(null, line.split(" "), out, err, in, false);
    }

    /** The command as picocli sets it from the same line (the parse only: nothing runs). */
    private Object picocli(String line) throws ReflectiveOperationException {
        String[] args = line.split(" ");
        Object command = switch (args[0]) {
            case "cp" -> construct("CpCommand", new Class<?>[] {PrintStream.class, boolean.class}, err, false);
            case "hash" -> construct("HashCommand",
                    new Class<?>[] {PrintStream.class, PrintStream.class, InputStream.class, boolean.class}, out, err, in,
                    false);
            default -> construct("TreeCommand", new Class<?>[] {PrintStream.class}, out);
        };
        new CommandLine(command).setCaseInsensitiveEnumValuesAllowed(true)
                .parseArgs(Arrays.copyOfRange(args, 1, args.length));
        return command;
    }

    private static Object construct(String name, Class<?>[] types, Object... args) throws ReflectiveOperationException {
        Constructor<?> c = cli(name).getDeclaredConstructor(types);
        c.setAccessible(true);
        return c.newInstance(args);
    }

    /** The fields the options and operands set. */
    private static List<Object> fields(Object command) throws ReflectiveOperationException {
        String[] names = switch (command.getClass().getSimpleName()) {
            case "CpCommand" -> new String[] {"recursive", "preserve", "direct", "progress", "operands"};
            case "HashCommand" -> new String[] {"algorithm", "recursive", "check", "progress", "paths"};
            case "TreeCommand" -> new String[] {"level", "sizes", "du", "paths"};
            default -> throw new AssertionError(command);
        };
        List<Object> values = new ArrayList<>();
        for (String name : names) {
            Field f = command.getClass().getDeclaredField(name);
            f.setAccessible(true);
            values.add(f.get(command));
        }
        return values;
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "cp a b", "cp -r a b", "cp -R a b c", "cp --recursive a b", "cp -rp a b", "cp -pr --direct a b",
        "cp a -r b", "cp --progress -p a b", "cp -- -r b", "cp - b", "cp a", "cp",
        "hash f", "hash -a md5 f", "hash -a SHA1 -r d", "hash --algorithm sha256 f g", "hash --algorithm=md5 f",
        "hash -c sums", "hash -c - ", "hash --check=sums", "hash -r --progress d", "hash -", "hash",
        "tree", "tree d", "tree -L 2 d", "tree -s --du d e", "tree -L 0", "tree --du -- -L",
    })
    void aLineItTakesSetsTheCommandAsPicocliDoes(String line) throws Exception {
        Object command = quick(line);
        assertThat(command).as(line).isNotNull();
        assertThat(fields(command)).as(line).isEqualTo(fields(picocli(line)));
    }

    /** The classes a tool run in its own JVM loads, from the JVM's class-loading log. */
    private static String classesLoaded(Path scratch, String... args) throws IOException {
        Path log = scratch.resolve("classes-" + System.nanoTime() + ".log");
        List<String> command = new ArrayList<>(Tools.auraioCommand(scratch));
        command.add(1, "-Xlog:class+load:file=" + log);
        command.addAll(List.of(args));
        Tools.Run run = Tools.run(command);
        assertThat(run.exitCode()).as(run.err()).isZero();
        return Files.readString(log);
    }

    /**
     * What the parse without picocli is for: a tool run that scripts make loads none of picocli
     * (its start was half of a short run's); its help still comes from picocli.
     */
    @Test
    void aToolRunLoadsNoPicocliClassAndItsHelpDoes(@TempDir Path scratch) throws IOException {
        Path file = Files.writeString(scratch.resolve("file"), "some bytes\n");
        assertThat(classesLoaded(scratch, "hash", "-a", "md5", file.toString())).doesNotContain(" picocli.");
        assertThat(classesLoaded(scratch, "tree", "-s", scratch.toString())).doesNotContain(" picocli.");
        assertThat(classesLoaded(scratch, "hash", "--help")).contains(" picocli.CommandLine ");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "cp --help", "cp -x a b", "cp -rx a b", "cp -r -r a b", "cp -rr a b", "cp --recursive=yes a b",
        "cp --dir a b", "hash -a", "hash -a sha512 f", "hash -amd5 f", "hash -a=md5 f", "hash -a md5 -a sha1 f",
        "hash -c", "hash -c -r d", "hash --help", "tree -L", "tree -L x", "tree -L2", "tree -L 1 -L 2",
        "tree --du=1", "tree --help",
    })
    void aLineItCannotReadAsPicocliWouldIsLeftToPicocli(String line) throws Exception {
        assertThat(quick(line)).as(line).isNull();
    }
}
