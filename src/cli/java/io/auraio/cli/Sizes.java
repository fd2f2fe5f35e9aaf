package io.auraio.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Byte sizes as fio writes them: a number with an optional binary suffix {@code k}, {@code m},
 * {@code g}, {@code t} (also {@code KiB}, {@code KB}, ...: fio treats them as powers of 1024 by
 * default, and so do we). {@code 4k} is 4096.
 */
final class Sizes implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        int end = v.length();
        while (end > 0 && Character.isLetter(v.charAt(end - 1))) {
            end--;
        }
        String digits = v.substring(0, end);
        String suffix = v.substring(end);
        int shift = switch (suffix) {
            case "", "b" -> 0;
            case "k", "kb", "kib" -> 10;
            case "m", "mb", "mib" -> 20;
            case "g", "gb", "gib" -> 30;
            case "t", "tb", "tib" -> 40;
            default -> throw new TypeConversionException("'" + value + "' is not a size (use e.g. 4096, 4k, 256m, 1g)");
        };
        long number;
        try {
            number = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a size (use e.g. 4096, 4k, 256m, 1g)");
        }
        if (number < 0 || (shift > 0 && number > (Long.MAX_VALUE >> shift))) {
            throw new TypeConversionException("'" + value + "' is out of range");
        }
        return number << shift;
    }

    /** {@return {@code bytes} in the shortest exact form with a binary suffix, such as {@code 4k}} */
    static String format(long bytes) {
        String[] suffixes = {"", "k", "m", "g", "t"};
        int i = 0;
        while (i < suffixes.length - 1 && bytes != 0 && bytes % 1024 == 0) {
            bytes /= 1024;
            i++;
        }
        return bytes + suffixes[i];
    }
}
