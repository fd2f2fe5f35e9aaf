package io.auraio.cli;

/** A problem with what the user asked for (bad option, unusable file): one line on stderr, exit code 2. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message, null, false, false);
    }
}
