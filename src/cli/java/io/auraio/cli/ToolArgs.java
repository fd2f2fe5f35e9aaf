package io.auraio.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.BiPredicate;

/**
 * The command lines of {@code cp}, {@code hash} and {@code tree} that scripts type, parsed without
 * picocli: its start (170 classes the AOT cache cannot hold, being Java 5 class files, and the
 * reflection over every option's annotations) was about half of a short tool run's 0.16-0.23 s.
 *
 * <p>Only what picocli would read the same way is taken here: known options each given once
 * (long or short, short flags clustered as in {@code -rp}), an option's value as the next argument
 * (or after {@code =} on a long option), {@code --} before operands, and operands anywhere. Anything
 * else ({@code --help}, an unknown or repeated option, an attached or missing value, a value that is
 * not one of the allowed) gives null, and picocli parses the line: its help and its messages stay
 * the only ones.
 */
final class ToolArgs {
    private ToolArgs() {}

    /**
     * {@return the command {@code args} asks for with its options set, or null when picocli must parse them}
     *
     * @param args the command line, its first element {@code cp}, {@code hash} or {@code tree}
     */
    static Callable<Integer> parse(String[] args, PrintStream out, PrintStream err, InputStream in, boolean terminal) {
        return switch (args[0]) {
            case "cp" -> {
                CpCommand cp = new CpCommand(err, terminal);
                boolean ok = parse(args, Map.of("-r", "r", "-R", "r", "--recursive", "r", "-p", "p", "--preserve", "p",
                        "--direct", "direct", "--progress", "progress"), Map.of(), cp.operands, (option, value) -> {
                            switch (option) {
                                case "r" -> cp.recursive = true;
                                case "p" -> cp.preserve = true;
                                case "direct" -> cp.direct = true;
                                default -> cp.progress = true;
                            }
                            return true;
                        });
                yield ok ? cp : null;
            }
            case "hash" -> {
                HashCommand hash = new HashCommand(out, err, in, terminal);
                boolean ok = parse(args, Map.of("-r", "r", "--recursive", "r", "--progress", "progress"),
                        Map.of("-a", "a", "--algorithm", "a", "-c", "c", "--check", "c"), hash.paths,
                        (option, value) -> switch (option) {
                            case "r" -> hash.recursive = true;
                            case "progress" -> hash.progress = true;
                            case "c" -> {
                                hash.check = value;
                                yield true;
                            }
                            default -> {
                                HashCommand.Algorithm algorithm = algorithm(value);
                                hash.algorithm = algorithm == null ? hash.algorithm : algorithm;
                                yield algorithm != null;
                            }
                        });
                yield ok ? hash : null;
            }
            case "tree" -> {
                TreeCommand tree = new TreeCommand(out);
                boolean ok = parse(args, Map.of("-s", "s", "--du", "du"), Map.of("-L", "L"), tree.paths,
                        (option, value) -> switch (option) {
                            case "s" -> tree.sizes = true;
                            case "du" -> tree.du = true;
                            default -> {
                                Integer level = integer(value);
                                tree.level = level;
                                yield level != null;
                            }
                        });
                yield ok ? tree : null;
            }
            default -> null;
        };
    }

    /**
     * Reads {@code args[1..]}: {@code flags} and {@code valued} map each option name to its key,
     * {@code set} takes a key and its value (null for a flag) and says whether it is valid.
     * {@return whether every argument was understood}
     */
    private static boolean parse(String[] args, Map<String, String> flags, Map<String, String> valued,
                                 List<String> operands, BiPredicate<String, String> set) {
        Set<String> seen = new HashSet<>();
        List<String> found = new ArrayList<>();
        boolean optionsEnded = false;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (optionsEnded || a.equals("-") || !a.startsWith("-")) {
                found.add(a);
            } else if (a.equals("--")) {
                optionsEnded = true;
            } else if (valued.containsKey(a)) {
                if (i + 1 == args.length || !isValue(args[i + 1]) || !seen.add(valued.get(a))
                        || !set.test(valued.get(a), args[++i])) {
                    return false;
                }
            } else if (a.startsWith("--") && a.indexOf('=') > 0) {
                String name = a.substring(0, a.indexOf('='));
                String key = valued.get(name);
                if (key == null || !seen.add(key) || !set.test(key, a.substring(name.length() + 1))) {
                    return false;
                }
            } else if (a.startsWith("--")) {
                String key = flags.get(a);
                if (key == null || !seen.add(key) || !set.test(key, null)) {
                    return false;
                }
            } else {
                for (int c = 1; c < a.length(); c++) { // -rp: every letter a flag
                    String key = flags.get("-" + a.charAt(c));
                    if (key == null || !seen.add(key) || !set.test(key, null)) {
                        return false;
                    }
                }
            }
        }
        operands.addAll(found);
        return true;
    }

    /** An option's value as the next argument: picocli takes {@code -} but not what looks like an option. */
    private static boolean isValue(String next) {
        return next.equals("-") || !next.startsWith("-");
    }

    private static HashCommand.Algorithm algorithm(String name) {
        for (HashCommand.Algorithm a : HashCommand.Algorithm.values()) {
            if (a.name().equalsIgnoreCase(name)) {
                return a;
            }
        }
        return null;
    }

    private static Integer integer(String text) {
        try {
            return Integer.valueOf(text);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
