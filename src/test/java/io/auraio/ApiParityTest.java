package io.auraio;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@code docs/api-parity.md} honest: every Java name in a table's "Java" column exists, by
 * reflection, in package {@code io.auraio} (or the JDK), and every test class a "Test" column
 * names exists.
 *
 * <p>Only the "Java" column is read: a C name in the "Reference" column or in prose is never
 * looked up. In the "Java" column, each backticked token that starts like a Java name is checked:
 * {@code Type}, {@code Type.Nested}, {@code Type.member}, {@code Type.member(params)}, or a bare
 * {@code member} / {@code member(params)} / {@code CONSTANT}, which belongs to the last type named in
 * the same cell (or, with none, to any type of the package). {@code Type.a/b/c} names several
 * members; {@code [, X]} in a parameter list is an optional trailing parameter (both forms must
 * exist); generics are ignored. Tokens that are not names ({@code -125}) are skipped.
 */
class ApiParityTest {
    private static final Path DOC = Path.of(System.getProperty("basedir", "."), "docs", "api-parity.md");

    @Test
    void everyJavaNameInTheParityTableExists() throws IOException {
        Checker checker = Checker.forApi();
        List<Row> rows = Row.parse(Files.readString(DOC));
        assertThat(rows).as("tables found in %s", DOC).hasSizeGreaterThan(50);
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (Row row : rows) {
            List<String> problems = checker.checkCell(row.java());
            checked += Checker.tokens(row.java()).size();
            for (String p : problems) {
                missing.add("line " + row.line() + ": " + p);
            }
        }
        assertThat(checked).as("names checked").isGreaterThan(100);
        assertThat(missing).as("Java names in %s that do not exist", DOC).isEmpty();
    }

    @Test
    void everyTestClassNamedInTheParityTableExists() throws IOException {
        List<String> missing = new ArrayList<>();
        for (Row row : Row.parse(Files.readString(DOC))) {
            if (row.test() == null) {
                continue;
            }
            for (String name : Checker.tokens(row.test())) {
                if (!name.matches("[A-Z]\\w*Test")) {
                    continue;
                }
                try {
                    Class.forName("io.auraio." + name);
                } catch (ClassNotFoundException e) {
                    missing.add("line " + row.line() + ": " + name);
                }
            }
        }
        assertThat(missing).as("test classes named in %s that do not exist", DOC).isEmpty();
    }

    /** The checker itself: it must find what is missing, and only read the Java column. */
    @Test
    void theCheckerReportsMissingNamesAndIgnoresTheOtherColumnsAndProse() {
        String doc = """
                # Doc

                | Reference | Java | Test |
                |---|---|---|
                | `auraio_nothing` | `Engine.read(int, BufferRef, long, long, Callback[, Object])` | `EngineCallbackTest` |
                | `auraio_wait` | `Engine.await(long timeoutMillis)` (`wait` is taken by `Object.wait`) | x |
                | `auraio_x` | `Options` + `Options.Builder`, `Builder.queueDepth(int)` | x |
                | `auraio_y` | `AuraIO.VERSION_MAJOR`, `VERSION_MINOR`; `CompletableFuture<Long>` | x |
                | `auraio_z` | `AuraFile.read/write/force`, `BufferRef.Memory`, `isRegistered() == false` | x |
                | `auraio_r` | `Callback` (`completed(Request, long)`), result `-125` | x |
                | `auraio_s` | none: prose without names | - |
                | `auraio_t` | - | - |
                | `auraio_missing` | `Engine.noSuchMethod()`, `Engine.read(String)`, `NoSuchType` | x |
                | `auraio_more` | `Engine.fsync(int, Callback[, String])`, `AuraFile.read/nope`, `Options.Nope` | x |
                | `auraio_arr` | `Engine.readv(int, MemorySegment[], long, Callback[, Object])`, `Engine.poll(int)` | x |

                Prose with `Engine.gone()` outside a table is not read.

                | Reference rule | Java |
                |---|---|
                | `auraio_rule` | All `Engine` methods; `poll`/`await` are serialized; `notAMember` |
                """;
        List<Row> rows = Row.parse(doc);
        assertThat(rows).hasSize(12);
        assertThat(rows.getFirst().test()).contains("EngineCallbackTest");
        assertThat(rows.getLast().test()).isNull();
        Checker checker = Checker.forApi();
        List<String> problems = new ArrayList<>();
        for (Row row : rows) {
            problems.addAll(checker.checkCell(row.java()));
        }
        assertThat(problems).containsExactly(
                "Engine.noSuchMethod(): no such member of io.auraio.Engine",
                "Engine.read(String): no such member of io.auraio.Engine",
                "NoSuchType: no such type",
                "Engine.fsync(int, Callback[, String]): no such member of io.auraio.Engine",
                "AuraFile.read/nope: no such member of io.auraio.AuraFile",
                "Options.Nope: no such member of io.auraio.Options",
                "Engine.poll(int): no such member of io.auraio.Engine",
                "notAMember: no type of io.auraio has such a member");
    }

    // ---- the table reader ------------------------------------------------------------------------

    /** One table row: its "Java" cell, its "Test" cell (null when the table has none), its line. */
    record Row(int line, String java, String test) {
        static List<Row> parse(String markdown) {
            List<Row> rows = new ArrayList<>();
            String[] lines = markdown.split("\n", -1);
            int i = 0;
            while (i < lines.length) {
                if (i + 1 < lines.length && isRow(lines[i]) && lines[i + 1].trim().matches("\\|(\\s*:?-+:?\\s*\\|)+")) {
                    List<String> header = cells(lines[i]);
                    int java = header.indexOf("Java");
                    int test = header.indexOf("Test");
                    i += 2;
                    while (i < lines.length && isRow(lines[i])) {
                        List<String> cells = cells(lines[i]);
                        if (java >= 0 && java < cells.size()) {
                            rows.add(new Row(i + 1, cells.get(java), test >= 0 && test < cells.size()
                                    ? cells.get(test) : null));
                        }
                        i++;
                    }
                } else {
                    i++;
                }
            }
            return rows;
        }

        private static boolean isRow(String line) {
            return line.trim().startsWith("|");
        }

        /** Splits a row on the pipes that are not inside backticks. */
        private static List<String> cells(String line) {
            String s = line.trim();
            List<String> cells = new ArrayList<>();
            StringBuilder cell = new StringBuilder();
            boolean code = false;
            for (int i = 1; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '`') {
                    code = !code;
                }
                if (c == '|' && !code) {
                    cells.add(cell.toString().trim());
                    cell.setLength(0);
                } else {
                    cell.append(c);
                }
            }
            if (!cell.toString().isBlank()) {
                cells.add(cell.toString().trim());
            }
            return cells;
        }
    }

    // ---- the name checker ----------------------------------------------------------------------------

    /** Resolves names against the types of package {@code io.auraio}, then the JDK. */
    static final class Checker {
        private static final Pattern BACKTICKED = Pattern.compile("`([^`]+)`");
        /** A dotted name (members may be joined by '/'), then an optional parameter list. */
        private static final Pattern NAME = Pattern.compile("^([A-Za-z_$][\\w$]*(?:[./][A-Za-z_$][\\w$]*)*)"
                + "\\s*(?:\\(([^)]*)\\))?");
        private static final Pattern OPTIONAL = Pattern.compile("\\[\\s*,([^\\]]*)\\]");
        private static final List<String> JDK_PACKAGES = List.of("java.lang", "java.util.concurrent",
                "java.lang.foreign", "java.io", "java.nio.file", "java.nio.channels", "java.util");

        private final Map<String, Class<?>> topLevel;
        private final Map<String, List<Class<?>>> nestedBySimpleName = new LinkedHashMap<>();

        private Checker(Map<String, Class<?>> topLevel) {
            this.topLevel = topLevel;
            for (Class<?> c : topLevel.values()) {
                addNested(c);
            }
        }

        private void addNested(Class<?> c) {
            for (Class<?> n : c.getClasses()) {
                nestedBySimpleName.computeIfAbsent(n.getSimpleName(), k -> new ArrayList<>()).add(n);
                addNested(n);
            }
        }

        /** A checker over the public top-level types of {@code io.auraio}, read from the compiled classes. */
        static Checker forApi() {
            Map<String, Class<?>> types = new LinkedHashMap<>();
            for (String name : classFileNames()) {
                try {
                    Class<?> c = Class.forName("io.auraio." + name);
                    if (Modifier.isPublic(c.getModifiers())) {
                        types.put(name, c);
                    }
                } catch (ClassNotFoundException e) {
                    throw new AssertionError(e);
                }
            }
            assertThat(types).as("public types of io.auraio").containsKeys("Engine", "Options", "Buffer");
            return new Checker(types);
        }

        private static List<String> classFileNames() {
            try {
                Path location = Path.of(Engine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                if (Files.isDirectory(location)) {
                    return topLevelClassNames(location.resolve("io/auraio"));
                }
                try (FileSystem jar = FileSystems.newFileSystem(location)) {
                    return topLevelClassNames(jar.getPath("io/auraio"));
                }
            } catch (IOException | URISyntaxException e) {
                throw new AssertionError("cannot list the classes of io.auraio", e);
            }
        }

        private static List<String> topLevelClassNames(Path dir) throws IOException {
            try (Stream<Path> files = Files.list(dir)) {
                return files.map(p -> p.getFileName().toString())
                        .filter(n -> n.endsWith(".class") && !n.contains("$") && !n.equals("package-info.class"))
                        .map(n -> n.substring(0, n.length() - ".class".length()))
                        .sorted().toList();
            }
        }

        /** {@return the backticked tokens of a cell} */
        static List<String> tokens(String cell) {
            List<String> tokens = new ArrayList<>();
            Matcher m = BACKTICKED.matcher(cell);
            while (m.find()) {
                tokens.add(m.group(1).trim());
            }
            return tokens;
        }

        /** {@return one message per name of {@code cell} that does not exist} */
        List<String> checkCell(String cell) {
            List<String> problems = new ArrayList<>();
            Class<?> context = null;
            for (String token : tokens(cell)) {
                String plain = token;
                String previous;
                do { // strip generics, innermost first
                    previous = plain;
                    plain = plain.replaceAll("<[^<>]*>", "");
                } while (!plain.equals(previous));
                Matcher m = NAME.matcher(plain);
                if (!m.find()) {
                    continue; // not a name: "-125", "/"
                }
                String name = m.group(1);
                String params = m.group(2);
                String shown = params == null ? name : name + "(" + params + ")";
                String[] parts = name.split("\\.");
                // The longest prefix that is a type.
                Class<?> type = null;
                int used = 0;
                Optional<Class<?>> first = parts[0].contains("/") ? Optional.empty() : type(parts[0]);
                if (first.isPresent()) {
                    type = first.get();
                    used = 1;
                    while (used < parts.length) {
                        Class<?> nested = nested(type, parts[used]);
                        if (nested == null) {
                            break;
                        }
                        type = nested;
                        used++;
                    }
                }
                if (type != null) {
                    context = type;
                    if (used == parts.length) {
                        if (params != null) {
                            problems.add(shown + ": a type, not a method");
                        }
                    } else if (used == parts.length - 1) {
                        if (!hasMembers(type, parts[used], params)) {
                            problems.add(shown + ": no such member of " + type.getName());
                        }
                    } else {
                        problems.add(shown + ": no such member of " + type.getName());
                    }
                } else if (parts.length == 1 && !looksLikeType(parts[0])) {
                    // A bare member: of the cell's last type, or else (prose such as "request after
                    // `close()`" in a cell about another type) of any type of the package.
                    Class<?> owner = context;
                    if ((owner == null || !hasMembers(owner, parts[0], params))
                            && allTypes().noneMatch(t -> hasMembers(t, parts[0], params))) {
                        problems.add(shown + ": no type of io.auraio has such a member");
                    }
                } else {
                    problems.add(shown + ": no such type");
                }
            }
            return problems;
        }

        private Stream<Class<?>> allTypes() {
            return Stream.concat(topLevel.values().stream(), nestedBySimpleName.values().stream().flatMap(List::stream));
        }

        /** UpperCamelCase (not ALL_CAPS, which is a constant). */
        private static boolean looksLikeType(String s) {
            return Character.isUpperCase(s.charAt(0)) && !s.equals(s.toUpperCase());
        }

        private Optional<Class<?>> type(String simpleName) {
            if (!looksLikeType(simpleName)) {
                return Optional.empty();
            }
            Class<?> c = topLevel.get(simpleName);
            if (c != null) {
                return Optional.of(c);
            }
            List<Class<?>> nested = nestedBySimpleName.getOrDefault(simpleName, List.of());
            if (nested.size() == 1) {
                return Optional.of(nested.getFirst());
            }
            for (String pkg : JDK_PACKAGES) {
                try {
                    return Optional.of(Class.forName(pkg + "." + simpleName));
                } catch (ClassNotFoundException e) {
                    // try the next package
                }
            }
            try {
                return Optional.of(Class.forName("io.auraio." + simpleName)); // a test class
            } catch (ClassNotFoundException e) {
                return Optional.empty();
            }
        }

        private static Class<?> nested(Class<?> type, String simpleName) {
            for (Class<?> n : type.getClasses()) {
                if (n.getSimpleName().equals(simpleName)) {
                    return n;
                }
            }
            return null;
        }

        /** {@code names} may be {@code a/b/c}: each must exist. */
        private static boolean hasMembers(Class<?> type, String names, String params) {
            return Arrays.stream(names.split("/")).allMatch(n -> hasMember(type, n, params));
        }

        private static boolean hasMember(Class<?> type, String name, String params) {
            if (params == null) {
                return Arrays.stream(type.getMethods()).anyMatch(m -> m.getName().equals(name))
                        || Arrays.stream(type.getFields()).anyMatch(f -> f.getName().equals(name))
                        || (type.isRecord() && Arrays.stream(type.getRecordComponents())
                                .map(RecordComponent::getName).anyMatch(name::equals))
                        || nested(type, name) != null;
            }
            return signatures(params).stream().allMatch(signature -> Arrays.stream(type.getMethods())
                    .anyMatch(m -> m.getName().equals(name) && parameterNames(m).equals(signature)));
        }

        private static List<String> parameterNames(Method m) {
            return Arrays.stream(m.getParameterTypes()).map(Class::getSimpleName).toList();
        }

        /**
         * {@return the parameter type lists a parameter text stands for: {@code "int, Callback[, Object]"}
         * is {@code [int, Callback]} and {@code [int, Callback, Object]}}
         */
        private static List<List<String>> signatures(String params) {
            Matcher optional = OPTIONAL.matcher(params); // "[, X]"; "X[]" is an array type
            if (optional.find()) {
                String without = params.substring(0, optional.start()) + params.substring(optional.end());
                String with = params.substring(0, optional.start()) + ", " + optional.group(1)
                        + params.substring(optional.end());
                List<List<String>> all = new ArrayList<>(signatures(without));
                all.addAll(signatures(with));
                return all;
            }
            List<String> types = new ArrayList<>();
            for (String p : params.split(",")) {
                String t = p.trim();
                if (t.isEmpty()) {
                    continue;
                }
                t = t.split("\\s+")[0]; // "long timeoutMillis" names a long
                types.add(t.endsWith("...") ? t.substring(0, t.length() - 3) + "[]" : t);
            }
            return List.of(types);
        }
    }
}
