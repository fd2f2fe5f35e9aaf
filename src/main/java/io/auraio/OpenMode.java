package io.auraio;

import io.auraio.internal.binding.OpenFlags;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;

/**
 * Open options turned into {@code open(2)} flags with the JDK's rules
 * ({@code FileChannel.open}): READ is the default, APPEND implies WRITE, CREATE and CREATE_NEW
 * only act with WRITE, DELETE_ON_CLOSE implies NOFOLLOW_LINKS.
 */
record OpenMode(boolean read, boolean write, boolean append, boolean direct, boolean deleteOnClose, int flags) {
    private static final int DEFAULT_MODE = 0666;

    static int creationMode() {
        return DEFAULT_MODE;
    }

    /**
     * {@return {@code options} as {@link java.nio.channels.FileChannel#open(java.nio.file.Path,
     * OpenOption...)} hands them on} It collects them in a {@code HashSet}, whose order decides
     * which of a null and an unsupported option is found first (a null is, almost always): an
     * array of standard options and {@code NOFOLLOW_LINKS} alone, where the order changes
     * nothing, is used as it is, without a set.
     */
    static Collection<OpenOption> asGiven(OpenOption[] options) {
        for (OpenOption option : options) {
            if (!(option instanceof StandardOpenOption) && option != LinkOption.NOFOLLOW_LINKS) {
                return new HashSet<>(Arrays.asList(options));
            }
        }
        return Arrays.asList(options);
    }

    static OpenMode of(Collection<? extends OpenOption> options) {
        boolean read = false, write = false, append = false, truncate = false, create = false, createNew = false;
        boolean deleteOnClose = false, sync = false, dsync = false, noFollow = false, direct = false;
        for (OpenOption option : options) {
            // As the JDK's UnixChannelFactory: each element in the collection's order, a null one
            // a NullPointerException with no message (an unknown one before it is unsupported).
            if (option == null) {
                throw new NullPointerException();
            }
            if (option instanceof StandardOpenOption o) {
                switch (o) {
                    case READ -> read = true;
                    case WRITE -> write = true;
                    case APPEND -> append = true;
                    case TRUNCATE_EXISTING -> truncate = true;
                    case CREATE -> create = true;
                    case CREATE_NEW -> createNew = true;
                    case DELETE_ON_CLOSE -> deleteOnClose = true;
                    case SPARSE -> { } // a hint the JDK ignores on Linux too
                    case SYNC -> sync = true;
                    case DSYNC -> dsync = true;
                }
            } else if (option == LinkOption.NOFOLLOW_LINKS) {
                noFollow = true;
            } else if (isDirect(option)) {
                direct = true;
            } else {
                throw new UnsupportedOperationException(option + " not supported");
            }
        }
        if (read && append) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && truncate) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        if (!read && !write) {
            if (append) {
                write = true;
            } else {
                read = true;
            }
        }
        int flags = read && write ? OpenFlags.O_RDWR : write ? OpenFlags.O_WRONLY : OpenFlags.O_RDONLY;
        if (write) {
            if (truncate) {
                flags |= OpenFlags.O_TRUNC;
            }
            if (append) {
                flags |= OpenFlags.O_APPEND;
            }
            if (createNew) {
                flags |= OpenFlags.O_CREAT | OpenFlags.O_EXCL;
            } else if (create) {
                flags |= OpenFlags.O_CREAT;
            }
        }
        // As the JDK: CREATE_NEW turns NOFOLLOW off even without WRITE (where it creates nothing),
        // so READ + CREATE_NEW + NOFOLLOW_LINKS opens through a symbolic link as FileChannel does.
        if (!createNew && (noFollow || deleteOnClose)) {
            flags |= OpenFlags.O_NOFOLLOW;
        }
        if (dsync) {
            flags |= OpenFlags.O_DSYNC;
        }
        if (sync) {
            flags |= OpenFlags.O_SYNC;
        }
        if (direct) {
            flags |= OpenFlags.O_DIRECT;
        }
        flags |= OpenFlags.O_CLOEXEC;
        return new OpenMode(read, write, append, direct, deleteOnClose, flags);
    }

    /**
     * {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}, recognised by name so that the library
     * does not need the {@code jdk.unsupported} module.
     */
    private static boolean isDirect(OpenOption option) {
        return option instanceof Enum<?> e && e.name().equals("DIRECT")
                && e.getDeclaringClass().getName().equals("com.sun.nio.file.ExtendedOpenOption");
    }
}
