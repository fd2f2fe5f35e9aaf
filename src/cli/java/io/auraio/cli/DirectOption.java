package io.auraio.cli;

import java.nio.file.OpenOption;

/**
 * {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}, looked up by name: the class is exported by
 * {@code jdk.unsupported}, but naming it in source draws javac's "internal proprietary API" warning,
 * which this build treats as an error.
 */
final class DirectOption {
    static final OpenOption DIRECT = lookup();

    private DirectOption() {}

    private static OpenOption lookup() {
        try {
            for (Object constant : Class.forName("com.sun.nio.file.ExtendedOpenOption").getEnumConstants()) {
                if (constant instanceof Enum<?> e && e.name().equals("DIRECT")) {
                    return (OpenOption) constant;
                }
            }
            throw new IllegalStateException("com.sun.nio.file.ExtendedOpenOption has no DIRECT");
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("com.sun.nio.file.ExtendedOpenOption is not available", e);
        }
    }
}
