package io.auraio.internal.jfr;

/** The file event classes, for tests outside this package that ask JFR about their settings. */
public final class FileEventsProbe {
    public static final Class<?> READ = FileReadEvent.class;
    public static final Class<?> WRITE = FileWriteEvent.class;
    public static final Class<?> FORCE = FileForceEvent.class;

    private FileEventsProbe() {}
}
