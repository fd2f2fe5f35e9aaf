package io.auraio.internal.mapped;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.auraio.internal.binding.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Page-cache reads of one file served without a system call: copied from a shared, read-only
 * mapping of the file, for ranges whose pages were in memory a moment ago. A read that cannot be
 * served so ({@link #NOT_SERVED}) is made with {@code preadv2} as before; so is every read until
 * the file has had {@link #MAP_AFTER_HITS} page-cache hits of at most {@link #SMALL_READ} bytes or
 * of pages read again, which keeps a file read once (or in one pass) from paying for a mapping.
 *
 * <p><b>Exactly what {@code pread} returns.</b> The mapping and {@code pread} read the same page
 * cache, so writes by anyone (this process or another, {@code write} or a mapping) are seen as
 * {@code pread} sees them, and an {@code O_DIRECT} write, which drops the cached pages it
 * overwrites, is seen too (the next touch of such a page reads it again from the device). What a
 * mapping does not know is the file's size now; {@code pread} stops at it. A read is served only
 * within the size the file had when it was mapped; if another process has shortened the file
 * since, a page wholly past the new end raises SIGBUS, which the JVM turns into an
 * {@link InternalError} for the copy, and the bytes past the end in the last page read as zeros.
 * So: a copy that faults is not served (reads stop using the mapping until more hits have been
 * counted, and then serve the same memory up to the file's new size), and a copy whose last byte
 * is zero is not served either (it may lie past a new end, where {@code pread} would have returned
 * fewer bytes). A file that grew is read with {@code pread} past its mapped size, and mapped again,
 * at its new size, once it has doubled.
 *
 * <p><b>Why the copy goes through a method handle.</b> The JVM raises the InternalError for a
 * faulting copy asynchronously, at the thread's next safepoint poll. Where the copy is inlined into
 * the caller, that poll can be after the {@code try} that handles it (a loop's back edge in the
 * caller: measured, about 1 in 200 faults escaped so in a C2-compiled loop); a call through a
 * method handle held in a non-final field is never inlined, and the callee's return poll is
 * inside the {@code try} (0 escapes in 1.8 million faults; {@code MappedReadsTest} checks it).
 * The look at a read's last byte, made before the copy so that a declined read leaves the
 * caller's memory alone, is such a call too: inlined into the copy, its fault (the load skipped,
 * its register's old value taken for the byte) let the copy run before the error was thrown, and
 * the bytes past the count pread then returned were the stale mapping's (seen once in CI).
 *
 * <p><b>Residency.</b> A copy from a page that is not in memory would read it from the device on
 * the caller's carrier, which is what the {@code RWF_NOWAIT} path exists to prevent. Each
 * {@link #CHUNK_PAGES} pages of the mapping keep what {@code mincore(2)} said of them, asked again
 * after {@link #RESIDENCY_TTL_NANOS}; a read is served only where every page it covers was in
 * memory then. A page evicted within that window (memory pressure, another process's
 * {@code posix_fadvise(DONTNEED)} or {@code O_DIRECT} write) is read from the device on the
 * carrier, as {@code FileChannel} reads every miss.
 *
 * <p>Thread-safe. The mappings live until {@link #unmapAll()}, which the file calls once no thread
 * is inside an operation on it: a read in progress never copies from unmapped memory.
 */
public final class MappedReads {
    /** {@code -Dio.auraio.mappedReads=false} turns the mapped path off: every page-cache read is a {@code preadv2}. */
    public static final String PROPERTY = "io.auraio.mappedReads";
    /** Returned by {@link #read} for a read it did not serve. */
    public static final long NOT_SERVED = -1;
    /** Page-cache hits of a file before it is mapped (and again before it is mapped anew). */
    static final int MAP_AFTER_HITS = 64;
    /**
     * The largest read whose residency {@link #inMemory} asks: the probe's three system calls
     * (~2 µs) are a small part of copying 1 MiB, and an io-wq hand-off, the other way, ~30 µs.
     */
    static final long MAX_PROBED = 1 << 20;
    /** Reads after which a file whose hits cannot be seen is mapped ({@link #mapWithoutHits}). */
    static final int MAP_WITHOUT_HITS_AFTER = 3;
    /**
     * The largest read served from a mapping, and counted towards one. The system call a mapping
     * saves is ~0.6 us, a tenth of copying 64 KiB; a mapping's first touch of each page costs a
     * minor fault and its close the page tables' teardown, which a single pass of large reads
     * never earns back ({@code auraio hash} of a 512 MiB file in 256 KiB reads: 4-10% slower mapped).
     */
    static final long MAX_READ = 32 * 1024;
    /**
     * Reads of at most this many bytes count towards a mapping at every hit; larger ones only when
     * they read a page again ({@link #readAgain}). A mapping's first touch of a page (a minor fault,
     * its page-table entries, their teardown at close) costs about what the system call saves on a
     * read of 8 KiB: one pass over a 4 MiB file (open, read all, close; 600 times) took 4.5% longer
     * mapped in 8 KiB reads and 8% in 16 KiB ones, but 19% less in 4 KiB ones. Pages read again
     * (random reads of a hot file) cost nothing more.
     */
    static final long SMALL_READ = 4096;
    /** Slots of {@link #recentPages}. */
    private static final int RECENT_SLOTS = 256;
    /**
     * Larger reads of a file before it gets a table of recent pages: a file opened, read once in
     * a few chunks and closed (a file server's) never pays for one (2 KiB, zeroed: 3% of the cost
     * of opening, reading and closing a 16 KiB file); a file read again reaches it within a few
     * reads and is mapped at most this many hits later.
     */
    private static final int TABLE_AFTER_READS = 8;
    /** How long what {@code mincore} said of a chunk's pages is trusted. */
    static final long RESIDENCY_TTL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** {@code mmap} calls one file may make over its life (its first, and one per doubling). */
    static final int MAX_MAPPINGS = 8;
    /** At most the first 64 GiB of a file are mapped: 32,768 chunks of residency. */
    static final long MAX_MAPPED_BYTES = 64L << 30;
    /**
     * Mappings alive in the JVM at once. Each is a VMA of the process, which has 65,530 in all
     * ({@code vm.max_map_count}) for everything, the JVM's own memory included: a process that
     * runs out cannot grow its heap or start a thread. Past this, files are read with {@code pread}.
     */
    static final int MAX_LIVE_MAPPINGS = 4096;
    /** Address space mapped at once, of the 128 TiB a process has (the heap and the code cache reserve theirs too). */
    static final long MAX_LIVE_BYTES = 8L << 40;
    /** Reads declined for a last byte of zero, past which a file whose blocks mostly end so is no longer served. */
    private static final int ZERO_ENDS_TOLERATED = 64;

    private static final int PAGE_SHIFT = 12;
    private static final long PAGE_SIZE = 1L << PAGE_SHIFT;
    private static final int CHUNK_SHIFT = 9;
    /** Pages per residency chunk: 2 MiB of the file, one {@code mincore} call. */
    static final int CHUNK_PAGES = 1 << CHUNK_SHIFT;
    /** 4 KiB pages known: x86-64. Elsewhere (aarch64 may run 16 or 64 KiB pages) the path is off. */
    private static final boolean PAGE_SIZE_KNOWN = switch (System.getProperty("os.arch", "")) {
        case "amd64", "x86_64" -> true;
        default -> false;
    };
    private static final boolean ENABLED = PAGE_SIZE_KNOWN && !"false".equalsIgnoreCase(System.getProperty(PROPERTY));

    /** Mappings alive and their bytes, against {@link #MAX_LIVE_MAPPINGS} and {@link #MAX_LIVE_BYTES}. */
    private static final AtomicLong LIVE_MAPPINGS = new AtomicLong();
    private static final AtomicLong LIVE_BYTES = new AtomicLong();
    private static final LongAdder MAPPED = new LongAdder();

    /** The copy: not final, so never a constant the JIT could inline through (see the class comment). */
    private static MethodHandle copy = handle("copyFromMapping", byte.class, MemorySegment.class, long.class,
            MemorySegment.class, long.class);
    /**
     * The look at a read's last byte before the copy, a call of its own for the same reason: a
     * fault there must be thrown before the copy writes the caller's memory, at this call's return.
     */
    private static MethodHandle lastByte = handle("byteOfMapping", byte.class, MemorySegment.class, long.class);
    /** {@link #copyUnlessFaulted}'s copy, a call of its own for the same reason. */
    private static MethodHandle plainCopy = handle("copyBetween", void.class, MemorySegment.class, long.class,
            MemorySegment.class, long.class, long.class);

    private final int fd;
    /** What reads are served from; null until mapped, and after a fault until served anew. */
    private volatile Mapping mapping;
    /** Cleared for good when the file cannot be mapped, or has been mapped {@link #MAX_MAPPINGS} times. */
    private volatile boolean eligible;
    /** Page-cache hits outside the mapping since the last attempt; racy by design (a count, not a gate). */
    private int hits;
    private int mapAfter = MAP_AFTER_HITS;
    /**
     * Pages that larger reads started at, one per slot by a hash of the page (plus one: 0 is
     * empty), to tell a page read again; made at the {@link #TABLE_AFTER_READS}th such read.
     * Racy by design: a lost update only loses a hint.
     */
    private long[] recentPages;
    /** Larger reads before {@link #recentPages} is made, a racy count. */
    private int largerReads;
    /** Reads declined for a zero last byte, a racy count for {@link #ZERO_ENDS_TOLERATED}. */
    private int zeroEnds;
    /** Every mapping made, the latest last, unmapped by {@link #unmapAll()}. Guarded by this. */
    private final List<Region> made = new ArrayList<>();
    private boolean unmapped;
    private final LongAdder served = new LongAdder();
    private final LongAdder faults = new LongAdder();

    private MappedReads(int fd) {
        this.fd = fd;
        this.eligible = true;
    }

    /**
     * {@return the mapped reads of a regular file on a local page-cache file system, open for
     * reading as {@code fd}; or null where the path is off} The file is not mapped until
     * {@link #afterPageCacheHit} has been told of enough hits.
     */
    public static MappedReads forFile(int fd) {
        return ENABLED ? new MappedReads(fd) : null;
    }

    /**
     * Copies {@code length} bytes of the file at {@code position} into {@code destination} (at its
     * start) if the range lies in the mapping and its pages are in memory.
     *
     * @return {@code length}, or {@link #NOT_SERVED}, then having written nothing into
     *         {@code destination} unless the file was cut short during the copy: the caller then
     *         reads with {@code pread} into the same memory
     * @throws IllegalStateException if {@code destination}'s memory was freed, as any copy into it
     */
    public long read(MemorySegment destination, long length, long position) {
        Mapping m = mapping;
        if (m == null || position < 0 || length <= 0 || length > MAX_READ || length > m.size - position
                || !resident(m, position, length)) {
            return NOT_SERVED;
        }
        byte last;
        try {
            // The last byte first, from the mapping: a zero (a page another process cut short,
            // zero-filled past its new end) or a fault (a page past that end) declines the read
            // before the caller's memory is touched, so that a read pread then answers short leaves
            // the memory past its count as the JDK's read does.
            last = (byte) lastByte.invokeExact(m.region.memory, position + length - 1);
            if (last != 0) {
                last = (byte) copy.invokeExact(m.region.memory, position, destination, length);
            }
        } catch (InternalError e) {
            // SIGBUS: a page past the end of a file another process shortened, or a page that could
            // not be read in (an I/O error, which pread will report).
            faulted(m);
            return NOT_SERVED;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (last == 0) {
            // It may lie past a shortened file's end, where pread stops: pread decides. A file
            // whose blocks mostly end in zeros (sparse, zero-padded) would be copied twice.
            if (++zeroEnds > ZERO_ENDS_TOLERATED && zeroEnds > served.sum()) {
                eligible = false;
                mapping = null;
            }
            return NOT_SERVED;
        }
        served.increment(); // striped: a plain count here would be a write to a line every reader reads
        return length;
    }

    /**
     * {@return whether every page of {@code [position, position + length)} of the file was in
     * memory when the mapping's residency was last asked} For a file whose reads are not copied
     * from its mapping (an overlay's, whose mapping may not be the file {@code pread} reads): the
     * read is then a {@code pread} that cannot wait for the device. False where the file is not
     * mapped, the range is past the mapped size, or longer than {@link #MAX_PROBED}.
     */
    public boolean knownInMemory(long position, long length) {
        Mapping m = mapping;
        return m != null && position >= 0 && length > 0 && length <= MAX_PROBED && length <= m.size - position
                && resident(m, position, length);
    }

    /**
     * The copy, its own method for {@link #copy}: {@return the last byte copied} (Only a file cut
     * short during the copy itself, after {@link #byteOfMapping} looked, can leave bytes copied
     * past the count pread then returns.)
     */
    private static byte copyFromMapping(MemorySegment mapping, long position, MemorySegment destination, long length) {
        MemorySegment.copy(mapping, position, destination, 0, length);
        return destination.get(JAVA_BYTE, length - 1);
    }

    /**
     * {@return whether {@code length} bytes were copied, as
     * {@link MemorySegment#copy(MemorySegment, long, MemorySegment, long, long)}; false, some or
     * none of them copied, where the memory faulted (SIGBUS), where the kernel's own access to it
     * would have failed with EFAULT} Either side may be a mapping of a file another process
     * shortened (a caller's {@code MappedByteBuffer}). The fault is caught inside the call, as a
     * mapped read's is (see the class comment): an InternalError never reaches the caller.
     *
     * @throws IllegalStateException if either side's memory was freed
     */
    public static boolean copyUnlessFaulted(MemorySegment from, long fromOffset, MemorySegment to, long toOffset,
                                            long length) {
        try {
            plainCopy.invokeExact(from, fromOffset, to, toOffset, length);
            return true;
        } catch (InternalError fault) {
            return false;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The copy, its own method for {@link #plainCopy}. */
    private static void copyBetween(MemorySegment from, long fromOffset, MemorySegment to, long toOffset, long length) {
        MemorySegment.copy(from, fromOffset, to, toOffset, length);
    }

    /** One byte of a mapping, its own method for {@link #lastByte}: {@return the byte at {@code offset}} */
    private static byte byteOfMapping(MemorySegment mapping, long offset) {
        return mapping.get(JAVA_BYTE, offset);
    }

    /**
     * Tells of a read of {@code bytes} at {@code position} served by {@code preadv2} from the page
     * cache: after enough such hits outside the mapping, the file is mapped (again, if it has doubled).
     */
    public void afterPageCacheHit(long position, long bytes) {
        if (!eligible || bytes > MAX_READ) {
            return;
        }
        long end = position + bytes;
        Mapping m = mapping;
        if (m != null && end <= m.size) {
            return; // inside the mapping: its residency said no, or the last byte was zero
        }
        if ((bytes <= SMALL_READ || readAgain(position)) && ++hits >= mapAfter) {
            map();
        }
    }

    /**
     * {@return whether every page of {@code [position, position + length)} of the file is in
     * memory} Asked of {@code mincore} through a mapping of just those pages that is never
     * touched: it gets no page-table entries, so its {@code munmap} flushes no other CPU's TLB
     * (a mapping that was read from did, and made small files slower). For a read that nothing
     * else can tell the residency of: a file on overlayfs not mapped (yet), or a read larger than
     * a mapping serves. At most {@link #MAX_PROBED} bytes; false for more, and when a call fails.
     */
    public static boolean inMemory(int fd, long position, long length) {
        long start = position & -PAGE_SIZE;
        long span = ((position + length + PAGE_SIZE - 1) & -PAGE_SIZE) - start;
        if (!ENABLED || position < 0 || length <= 0 || length > MAX_PROBED) {
            return false;
        }
        long address = Libc.mmapReadOnly(fd, start, span);
        if (address < 0) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            int pages = (int) (span >>> PAGE_SHIFT);
            MemorySegment vector = arena.allocate(pages);
            if (Libc.mincore(address, span, vector) != 0) {
                return false;
            }
            for (int i = 0; i < pages; i++) {
                if ((vector.get(JAVA_BYTE, i) & 1) == 0) {
                    return false;
                }
            }
            return true;
        } finally {
            Libc.munmap(address, span);
        }
    }

    /**
     * Maps the file at its third read if it is not mapped (nor refused), for a file whose reads
     * cannot show a page-cache hit: on overlayfs {@code preadv2(RWF_NOWAIT)} fails with
     * EOPNOTSUPP, so no hit is ever counted, and every read not copied from the mapping goes to an
     * io-wq thread of the kernel (about 40 µs; 0.04-0.06x FileChannel's cached reads measured).
     * Its mapping is the underlying file's (overlayfs maps the lower or upper file itself), whose
     * residency {@code mincore} reports as for any other file; an overlay file's reads are not
     * copied from it ({@link #knownInMemory}): the mapping stays on the file the descriptor opened
     * while {@code pread} follows a copy-up. Reads past the mapped size count
     * towards a new mapping as hits do, so a file that grew to twice that size is mapped again.
     *
     * @param position where the read starts ({@code < 0}: at the file position, not counted)
     * @param length   its length
     */
    public void mapWithoutHits(long position, long length) {
        if (!eligible || unmapped) {
            return;
        }
        Mapping m = mapping;
        if (m == null) {
            // At the third read: a small file opened, read whole (a short read, then the read that
            // finds the end) and closed is not worth a mapping, whose munmap at close costs more.
            // (After a refusal at the JVM's limits, mapAfter reads: map() raised it.)
            if (++hits >= (mapAfter > MAP_AFTER_HITS ? mapAfter : MAP_WITHOUT_HITS_AFTER)) {
                map();
            }
        } else if (position >= 0 && position + length > m.size && ++hits >= mapAfter) {
            // Reads past the mapped size: the file grew. No hits to count here, so these reads are
            // counted instead; map() maps it again once it has doubled, else asks later, less often.
            map();
        }
    }

    /**
     * {@return whether a read starting at {@code position} starts at a page a read started at
     * before, as far as {@link #recentPages} remembers} One pass over a file never says yes.
     */
    private boolean readAgain(long position) {
        long[] recent = recentPages;
        if (recent == null) {
            if (++largerReads < TABLE_AFTER_READS) {
                return false;
            }
            recentPages = recent = new long[RECENT_SLOTS];
        }
        long page = position >>> PAGE_SHIFT;
        int slot = (int) ((page * 0x9E3779B97F4A7C15L) >>> 56); // the top 8 bits: RECENT_SLOTS = 256
        if (recent[slot] == page + 1) {
            return true;
        }
        recent[slot] = page + 1;
        return false;
    }

    private synchronized void map() {
        hits = 0;
        if (!eligible || unmapped) {
            return;
        }
        long size = Libc.regularFileSize(fd);
        if (size < 0) {
            eligible = false; // not a regular file, or not one statx can describe
            return;
        }
        Mapping current = mapping;
        size = Math.min(size, MAX_MAPPED_BYTES);
        if (size == 0 || (current != null && size < 2 * current.size)) {
            mapAfter = (int) Math.min(1 << 20, 2L * mapAfter); // ask again later, less often
            return;
        }
        Region latest = made.isEmpty() ? null : made.getLast();
        if (latest != null && size <= latest.length) {
            // After a fault: the file is shorter than the memory mapped, which stays valid up to
            // the file's end. Served again up to the new size, its residency asked anew.
            mapping = new Mapping(latest, size);
            return;
        }
        long length = (size + PAGE_SIZE - 1) & -PAGE_SIZE;
        if (made.size() >= MAX_MAPPINGS) {
            eligible = false; // this file's own cap: for good
            return;
        }
        if (!reserve(length)) {
            // The JVM's limits (live mappings, mapped bytes) are reached now, by other files that
            // may close: ask again later, less often (it used to give this file up for good).
            mapAfter = (int) Math.min(1 << 20, 2L * mapAfter);
            return;
        }
        long address = Libc.mmapReadOnly(fd, length);
        MemorySegment vector = address < 0 ? MemorySegment.NULL : Libc.alignedAlloc(8, CHUNK_PAGES);
        if (vector.equals(MemorySegment.NULL)) {
            // mmap: ENODEV (a file system without it), EACCES (not open for reading), ENOMEM.
            if (address >= 0) {
                Libc.munmap(address, length);
            }
            release(length);
            eligible = false;
            return;
        }
        Region region = new Region(address, length, vector);
        made.add(region);
        mapping = new Mapping(region, size);
        MAPPED.increment();
    }

    /** A copy from {@code m} faulted: the file is shorter than {@code m}'s size; stop serving that size. */
    private synchronized void faulted(Mapping m) {
        faults.increment();
        if (mapping == m) {
            mapping = null;
            hits = 0;
            mapAfter = MAP_AFTER_HITS;
        }
    }

    /** Counts a mapping of {@code length} bytes in, if the JVM's limits allow. {@return whether they did} */
    private static boolean reserve(long length) {
        if (LIVE_MAPPINGS.incrementAndGet() > MAX_LIVE_MAPPINGS | LIVE_BYTES.addAndGet(length) > MAX_LIVE_BYTES) {
            release(length);
            return false;
        }
        return true;
    }

    private static void release(long length) {
        LIVE_MAPPINGS.decrementAndGet();
        LIVE_BYTES.addAndGet(-length);
    }

    private static boolean resident(Mapping m, long position, long length) {
        long page = position >>> PAGE_SHIFT;
        long lastPage = (position + length - 1) >>> PAGE_SHIFT;
        long now = System.nanoTime();
        while (page <= lastPage) {
            int chunk = (int) (page >>> CHUNK_SHIFT);
            long[] state = m.residency.getAcquire(chunk);
            if (state == null || now - state[0] > RESIDENCY_TTL_NANOS) {
                state = refresh(m, chunk, now, state);
                if (state == null) {
                    return false;
                }
            }
            long lastInChunk = Math.min(lastPage, ((long) (chunk + 1) << CHUNK_SHIFT) - 1);
            for (; page <= lastInChunk; page++) {
                int i = (int) page & (CHUNK_PAGES - 1);
                if ((state[1 + (i >>> 6)] & (1L << i)) == 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Asks {@code mincore} which of a chunk's pages are in memory. {@return the chunk's new state;
     * {@code stale} when another thread is asking meanwhile (null if there is none: not served)}
     */
    private static long[] refresh(Mapping m, int chunk, long now, long[] stale) {
        if (!m.region.refreshing.tryLock()) {
            return stale;
        }
        try {
            long start = (long) chunk << (CHUNK_SHIFT + PAGE_SHIFT);
            long bytes = Math.min((long) CHUNK_PAGES << PAGE_SHIFT, m.region.length - start);
            if (Libc.mincore(m.region.address + start, bytes, m.region.vector) != 0) {
                return null;
            }
            long[] state = new long[1 + CHUNK_PAGES / 64];
            state[0] = now;
            int pages = (int) (bytes >>> PAGE_SHIFT);
            for (int i = 0; i < pages; i++) {
                if ((m.region.vector.get(JAVA_BYTE, i) & 1) != 0) {
                    state[1 + (i >>> 6)] |= 1L << i;
                }
            }
            m.residency.setRelease(chunk, state);
            return state;
        } finally {
            m.region.refreshing.unlock();
        }
    }

    /**
     * Unmaps every mapping this file made. Only once no thread is inside an operation on the file
     * (its close, or its cleaner): none can be copying. Idempotent.
     */
    public synchronized void unmapAll() {
        if (unmapped) {
            return;
        }
        unmapped = true;
        mapping = null;
        eligible = false;
        for (Region r : made) {
            Libc.munmap(r.address, r.length);
            Libc.free(r.vector);
            release(r.length);
        }
        made.clear();
    }

    /** {@return whether the file is mapped now} For tests. */
    public boolean isMapped() {
        return mapping != null;
    }

    /** {@return the reads of this file served from its mappings} */
    public long served() {
        return served.sum();
    }

    /** {@return the copies from this file's mappings that faulted (SIGBUS)} */
    public long faults() {
        return faults.sum();
    }

    /** {@return the mappings made in this JVM} */
    public static long mappingsMadeInThisJvm() {
        return MAPPED.sum();
    }

    /** {@return the mappings alive in this JVM (made and not yet unmapped)} */
    public static long liveMappingsInThisJvm() {
        return LIVE_MAPPINGS.get();
    }

    /** {@return whether the path is on in this JVM (x86-64, and not turned off by {@link #PROPERTY})} */
    public static boolean enabled() {
        return ENABLED;
    }

    private static MethodHandle handle(String name, Class<?> returns, Class<?>... parameters) {
        try {
            return MethodHandles.lookup().findStatic(MappedReads.class, name, MethodType.methodType(returns, parameters));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One {@code mmap}: {@code [0, length)} of the file at {@code address}. */
    private static final class Region {
        final long address;
        final long length;
        final MemorySegment memory;
        /** {@code mincore}'s vector, one byte per page of a chunk; used under {@link #refreshing}. */
        final MemorySegment vector;
        /** Serialises the use of {@link #vector}. */
        final ReentrantLock refreshing = new ReentrantLock();

        Region(long address, long length, MemorySegment vector) {
            this.address = address;
            this.length = length;
            this.memory = MemorySegment.ofAddress(address).reinterpret(length);
            this.vector = vector;
        }
    }

    /** What reads are served from: a region, up to {@code size} bytes of the file, and what is known in memory. */
    private static final class Mapping {
        final Region region;
        final long size;
        /** Per chunk: {@code [asked at (nanoTime), 8 words of page bits]}, or null until asked. */
        final AtomicReferenceArray<long[]> residency;

        Mapping(Region region, long size) {
            this.region = region;
            this.size = size;
            int chunks = (int) ((region.length + ((long) CHUNK_PAGES << PAGE_SHIFT) - 1) >>> (CHUNK_SHIFT + PAGE_SHIFT));
            this.residency = new AtomicReferenceArray<>(chunks);
        }
    }
}
