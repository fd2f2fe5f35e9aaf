package io.auraio.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Durations as fio writes them: seconds by default, or a suffix {@code ms}, {@code s}, {@code m}. */
final class Durations implements ITypeConverter<Double> {
    @Override
    public Double convert(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        double scale = 1;
        if (v.endsWith("ms")) {
            scale = 1e-3;
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("s")) {
            v = v.substring(0, v.length() - 1);
        } else if (v.endsWith("m")) {
            scale = 60;
            v = v.substring(0, v.length() - 1);
        }
        try {
            double seconds = Double.parseDouble(v) * scale;
            if (!Double.isFinite(seconds)) {
                throw new NumberFormatException();
            }
            return seconds;
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a duration (use e.g. 5, 5s, 500ms, 1m)");
        }
    }
}
