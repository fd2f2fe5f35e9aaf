package io.auraio.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.HashMap;
import java.util.Map;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;

/**
 * {@code auraio bench --jfr FILE}: a Flight Recorder recording of the run with the JDK's
 * "default" settings plus AuraIO's ({@code META-INF/auraio.jfc} of the library jar), written to
 * FILE when closed.
 */
final class BenchRecording implements AutoCloseable {
    static final String SETTINGS = "/META-INF/auraio.jfc";

    private final Recording recording;

    private BenchRecording(Recording recording) {
        this.recording = recording;
    }

    /** {@return a started recording to {@code file}, or one that records nothing when {@code file} is null} */
    static BenchRecording start(Path file) throws IOException {
        if (file == null) {
            return new BenchRecording(null);
        }
        Map<String, String> settings;
        try {
            settings = new HashMap<>(Configuration.getConfiguration("default").getSettings());
            settings.putAll(auraSettings().getSettings());
        } catch (ParseException e) {
            throw new IOException("cannot read the Flight Recorder settings: " + e.getMessage(), e);
        }
        Recording recording = new Recording(settings);
        recording.setName("auraio bench");
        recording.setDestination(file);
        recording.start();
        return new BenchRecording(recording);
    }

    static Configuration auraSettings() throws IOException, ParseException {
        try (InputStream in = BenchRecording.class.getResourceAsStream(SETTINGS)) {
            if (in == null) {
                throw new IOException(SETTINGS + " is missing from the class path");
            }
            try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                return Configuration.create(reader);
            }
        }
    }

    /** Stops the recording, which writes it to its file. */
    @Override
    public void close() {
        if (recording != null) {
            recording.stop();
            recording.close();
        }
    }
}
