package io.auraio.internal.engine;

/** Receives the result of a CALLBACK or FUTURE request: bytes transferred or a negated errno. */
@FunctionalInterface
public interface AsyncCompletion {
    void complete(long result);
}
