package io.auraio.cli;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A small JSON writer for maps, lists, strings, numbers, booleans and null: enough for the bench report. */
final class Json {
    private static final MathContext SIGNIFICANT = new MathContext(6);

    private Json() {}

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, 0);
        return out.append('\n').toString();
    }

    private static void write(StringBuilder out, Object value, int indent) {
        switch (value) {
            case null -> out.append("null");
            case String s -> string(out, s);
            case Boolean b -> out.append(b);
            case Integer i -> out.append(i);
            case Long l -> out.append(l);
            case Double d -> number(out, d);
            case Float f -> number(out, f);
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                out.append("{\n");
                Iterator<? extends Map.Entry<?, ?>> it = map.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    out.append("  ".repeat(indent + 1));
                    string(out, String.valueOf(e.getKey()));
                    out.append(": ");
                    write(out, e.getValue(), indent + 1);
                    out.append(it.hasNext() ? ",\n" : "\n");
                }
                out.append("  ".repeat(indent)).append('}');
            }
            case List<?> list -> {
                // Lists of scalars stay on one line; lists of objects get one element per line.
                boolean flat = list.stream().noneMatch(v -> v instanceof Map || v instanceof List);
                out.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (!flat) {
                        out.append('\n').append("  ".repeat(indent + 1));
                    }
                    write(out, list.get(i), indent + 1);
                    if (i < list.size() - 1) {
                        out.append(flat ? ", " : ",");
                    }
                }
                if (!flat && !list.isEmpty()) {
                    out.append('\n').append("  ".repeat(indent));
                }
                out.append(']');
            }
            default -> throw new IllegalArgumentException("no JSON form for " + value.getClass());
        }
    }

    private static void number(StringBuilder out, double d) {
        if (!Double.isFinite(d)) {
            out.append("null");
        } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            out.append((long) d);
        } else {
            // Six significant digits are plenty for measurements and keep the file readable.
            BigDecimal rounded = new BigDecimal(d).round(SIGNIFICANT).stripTrailingZeros();
            out.append(Math.abs(d) >= 1e-4 ? rounded.toPlainString() : rounded.toString());
        }
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
