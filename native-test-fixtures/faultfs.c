/*
 * faultfs: a FUSE filesystem that passes through to a backing directory and injects latency,
 * errors, short transfers and hangs into reads and writes, steered at run time through a
 * control file inside the mount.
 *
 *   faultfs BACKING_DIR MOUNTPOINT [-f] [-d] [-o fuse_option,...]
 *
 * Every file is opened with direct_io, so each read and write reaches the daemon (no page cache
 * hides a latency or a fault) and a short answer reaches the caller as a short read or write.
 * Attribute and entry caching are off. The control file "/.faultfs-control" is not listed by
 * readdir; write "key=value" lines (or bare commands) to it, read it for the knobs and counters.
 * The protocol is described in README.md; parse_line() below is its reference.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_PATH "/.faultfs-control"
#define MAX_EIO_OFFSETS 64
/* Injected EIOs remembered for the control file's "eio_at" lines; later ones are only counted. */
#define MAX_FAULT_LOG 4096
#define FAULT_LOG_PATH 96
#define MAX_THREADS "max_threads=1024"

enum { OP_READ = 1, OP_WRITE = 2, OP_FSYNC = 4, OP_META = 8, OP_FLUSH = 16 };
/* Metadata operations with a latency knob each ("<name>_latency_us"); lookup is getattr in libfuse's high-level API. */
enum { META_GETATTR, META_READDIR, META_UNLINK, META_RENAME, META_MKDIR, META_RMDIR, META_FSYNC, META_TRUNCATE,
       META_COUNT };
static const char *const meta_names[META_COUNT] = {"getattr", "readdir", "unlink", "rename", "mkdir", "rmdir",
                                                   "fsync", "truncate"};
enum { HANG_OFF = 0, HANG_ALL = 1, HANG_PATH = 2 };

/* An open file: a backing descriptor, or the control file's current text. */
struct handle {
    int fd;
    int control;
    char *path;          /* path at open time, for the "only" and "hang" filters */
    pthread_mutex_t lock; /* control handles: guards text */
    char *text;
    size_t text_len;
};

/* Which files a hang (or eio_fsync) applies to: none, all, or one path. */
struct hang {
    int mode;
    char path[PATH_MAX];
};

/* Knobs, counters and the hang queue; all guarded by lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;

    /* knobs */
    long long latency_min_us;
    long long latency_max_us;
    long long knee;
    long long eio_offsets[MAX_EIO_OFFSETS];
    int eio_offset_count;
    long long eio_every;
    double eio_prob;
    int eio_ops;
    unsigned long long seed;
    long long enospc_after; /* -1: off */
    long long short_reads;  /* 0: off */
    long long short_writes;
    long long no_lseek;     /* 1: lseek answers ENOSYS (the kernel then stops asking: SEEK_DATA/SEEK_HOLE see no holes) */
    struct hang hang_reads;
    struct hang hang_writes;
    char only[PATH_MAX]; /* empty: all files */
    struct hang eio_fsync; /* fsyncs of these files fail with EIO */
    long long meta_latency_us[META_COUNT];
    struct hang hang_meta; /* metadata operations on these paths block until released */
    struct hang hang_flush; /* flushes (each close(2) of a descriptor) of these files block until released */

    /* state */
    uint64_t rng;
    uint64_t eio_candidates; /* ops eligible for eio_every since it was set */
    long long enospc_written;
    uint64_t hang_next_ticket;
    uint64_t hang_released_upto; /* hung ops with a ticket below this may go */

    /* counters */
    uint64_t reads, writes, bytes_read, bytes_written;
    long long outstanding, outstanding_reads, outstanding_writes, max_outstanding;
    long long blocked_reads, blocked_writes, blocked_meta, blocked_flushes;
    uint64_t meta_ops, meta_delayed;
    uint64_t released;
    uint64_t delayed_ops, latency_us_total;
    uint64_t eio_injected, enospc_injected, short_reads_injected, short_writes_injected;
    uint64_t fsyncs, fsync_eio_injected;
    /* every injected EIO, in order, so that a test can match each failure to the caller that saw it */
    struct fault {
        int op;
        long long off;
        unsigned long long size;
        char path[FAULT_LOG_PATH];
    } fault_log[MAX_FAULT_LOG];
    int fault_log_count;
    uint64_t fault_log_dropped;
} st = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static int backing_fd = -1;
/*
 * --sync-dio: turn FUSE's asynchronous direct I/O off (libfuse's high-level fuse_main does not
 * take -o no_async_dio). With it on, the default, the kernel answers a short direct write of an
 * asynchronous caller (io_uring, AIO) with EIO (fs/fuse/file.c, fuse_aio_complete), so short
 * writes reach such callers as short writes only with this flag.
 */
static int sync_dio;
/*
 * --max-background=N: the connection's max_background (default here 1024, so that asynchronous
 * direct I/O is not held back). N=0 keeps the kernel's default (12), as a FUSE file system that does
 * not set it has: bench/fuse-slow.sh uses that to measure what io_uring gets from such a mount.
 */
static long max_background = 1024;

/* ---------------------------------------------------------------- knobs and counters */

static void reset_knobs_locked(void) {
    st.latency_min_us = st.latency_max_us = 0;
    st.knee = 0;
    st.eio_offset_count = 0;
    st.eio_every = 0;
    st.eio_prob = 0;
    st.eio_ops = OP_READ | OP_WRITE;
    st.seed = 1;
    st.rng = 1;
    st.enospc_after = -1;
    st.short_reads = st.short_writes = 0;
    st.no_lseek = 0;
    st.hang_reads.mode = st.hang_writes.mode = HANG_OFF;
    st.only[0] = '\0';
    st.eio_fsync.mode = HANG_OFF;
    memset(st.meta_latency_us, 0, sizeof st.meta_latency_us);
    st.hang_meta.mode = HANG_OFF;
    st.hang_flush.mode = HANG_OFF;
    st.eio_candidates = 0;
    st.enospc_written = 0;
}

static void reset_counters_locked(void) {
    st.reads = st.writes = st.bytes_read = st.bytes_written = 0;
    st.max_outstanding = st.outstanding;
    st.released = 0;
    st.delayed_ops = st.latency_us_total = 0;
    st.eio_injected = st.enospc_injected = st.short_reads_injected = st.short_writes_injected = 0;
    st.fsyncs = st.fsync_eio_injected = 0;
    st.meta_ops = st.meta_delayed = 0;
    st.fault_log_count = 0;
    st.fault_log_dropped = 0;
}

static void release_all_locked(void) {
    st.hang_released_upto = st.hang_next_ticket;
    pthread_cond_broadcast(&st.wake);
}

/* splitmix64: small, seedable, good enough for picking latencies and faults. */
static uint64_t next_random_locked(void) {
    uint64_t z = (st.rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double next_unit_locked(void) {
    return (next_random_locked() >> 11) * (1.0 / 9007199254740992.0);
}

static int parse_ll(const char *s, long long min, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < min) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_hang(const char *value, struct hang *h) {
    if (strcmp(value, "off") == 0 || strcmp(value, "0") == 0 || value[0] == '\0') {
        h->mode = HANG_OFF;
    } else if (strcmp(value, "all") == 0 || strcmp(value, "1") == 0) {
        h->mode = HANG_ALL;
    } else if (value[0] == '/' && strlen(value) < sizeof h->path) {
        h->mode = HANG_PATH;
        strcpy(h->path, value);
    } else {
        return -EINVAL;
    }
    return 0;
}

/* Applies one control line. Called with st.lock held. {@return 0 or -EINVAL} */
static int parse_line(char *line) {
    char *value = strchr(line, '=');
    if (value != NULL) {
        *value++ = '\0';
    }
    const char *key = line;
    long long n;

    if (strcmp(key, "reset") == 0 && value == NULL) {
        reset_knobs_locked();
        reset_counters_locked();
        release_all_locked();
        return 0;
    }
    if (strcmp(key, "reset_counters") == 0 && value == NULL) {
        reset_counters_locked();
        return 0;
    }
    if (strcmp(key, "release") == 0) {
        if (value == NULL || strcmp(value, "all") == 0) {
            st.hang_reads.mode = st.hang_writes.mode = st.hang_meta.mode = st.hang_flush.mode = HANG_OFF;
            release_all_locked();
            return 0;
        }
        if (parse_ll(value, 0, &n) != 0) {
            return -EINVAL;
        }
        uint64_t upto = st.hang_released_upto + (uint64_t) n;
        st.hang_released_upto = upto < st.hang_next_ticket ? upto : st.hang_next_ticket;
        pthread_cond_broadcast(&st.wake);
        return 0;
    }
    if (value == NULL) {
        return -EINVAL;
    }
    if (strcmp(key, "latency_us") == 0) {
        char *dots = strstr(value, "..");
        long long lo, hi;
        if (dots != NULL) {
            *dots = '\0';
            if (parse_ll(value, 0, &lo) != 0 || parse_ll(dots + 2, lo, &hi) != 0) {
                return -EINVAL;
            }
        } else {
            if (parse_ll(value, 0, &lo) != 0) {
                return -EINVAL;
            }
            hi = lo;
        }
        st.latency_min_us = lo;
        st.latency_max_us = hi;
        return 0;
    }
    if (strcmp(key, "knee") == 0) {
        return parse_ll(value, 0, &st.knee);
    }
    if (strcmp(key, "eio_offset") == 0) {
        if (strcmp(value, "none") == 0 || strcmp(value, "off") == 0) {
            st.eio_offset_count = 0;
            return 0;
        }
        if (st.eio_offset_count == MAX_EIO_OFFSETS || parse_ll(value, 0, &n) != 0) {
            return -EINVAL;
        }
        st.eio_offsets[st.eio_offset_count++] = n;
        return 0;
    }
    if (strcmp(key, "eio_every") == 0) {
        st.eio_candidates = 0;
        return parse_ll(value, 0, &st.eio_every);
    }
    if (strcmp(key, "eio_prob") == 0) {
        char *end;
        double p = strtod(value, &end);
        if (end == value || *end != '\0' || !(p >= 0 && p <= 1)) {
            return -EINVAL;
        }
        st.eio_prob = p;
        return 0;
    }
    if (strcmp(key, "eio_ops") == 0) {
        if (strcmp(value, "read") == 0) {
            st.eio_ops = OP_READ;
        } else if (strcmp(value, "write") == 0) {
            st.eio_ops = OP_WRITE;
        } else if (strcmp(value, "rw") == 0) {
            st.eio_ops = OP_READ | OP_WRITE;
        } else {
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "seed") == 0) {
        if (parse_ll(value, LLONG_MIN, &n) != 0) {
            return -EINVAL;
        }
        st.seed = (unsigned long long) n;
        st.rng = st.seed;
        return 0;
    }
    if (strcmp(key, "enospc_after") == 0) {
        if (strcmp(value, "off") == 0) {
            n = -1;
        } else if (parse_ll(value, 0, &n) != 0) {
            return -EINVAL;
        }
        st.enospc_after = n;
        st.enospc_written = 0;
        return 0;
    }
    if (strcmp(key, "short_reads") == 0) {
        return parse_ll(value, 0, &st.short_reads);
    }
    if (strcmp(key, "no_lseek") == 0) {
        if (parse_ll(value, 0, &n) != 0 || n > 1) {
            return -EINVAL;
        }
        st.no_lseek = n;
        return 0;
    }
    if (strcmp(key, "short_writes") == 0) {
        return parse_ll(value, 0, &st.short_writes);
    }
    if (strcmp(key, "hang_reads") == 0) {
        return parse_hang(value, &st.hang_reads);
    }
    if (strcmp(key, "hang_writes") == 0) {
        return parse_hang(value, &st.hang_writes);
    }
    if (strcmp(key, "eio_fsync") == 0) {
        return parse_hang(value, &st.eio_fsync);
    }
    if (strcmp(key, "hang_meta") == 0) {
        return parse_hang(value, &st.hang_meta);
    }
    if (strcmp(key, "hang_flush") == 0) {
        return parse_hang(value, &st.hang_flush);
    }
    if (strcmp(key, "meta_latency_us") == 0) {
        if (parse_ll(value, 0, &n) != 0) {
            return -EINVAL;
        }
        for (int i = 0; i < META_COUNT; i++) {
            st.meta_latency_us[i] = n;
        }
        return 0;
    }
    if (strcmp(key, "lookup_latency_us") == 0) {
        return parse_ll(value, 0, &st.meta_latency_us[META_GETATTR]);
    }
    for (int i = 0; i < META_COUNT; i++) {
        size_t len = strlen(meta_names[i]);
        if (strncmp(key, meta_names[i], len) == 0 && strcmp(key + len, "_latency_us") == 0) {
            return parse_ll(value, 0, &st.meta_latency_us[i]);
        }
    }
    if (strcmp(key, "only") == 0) {
        if (strcmp(value, "all") == 0 || value[0] == '\0') {
            st.only[0] = '\0';
            return 0;
        }
        if (value[0] != '/' || strlen(value) >= sizeof st.only) {
            return -EINVAL;
        }
        strcpy(st.only, value);
        return 0;
    }
    return -EINVAL;
}

static int apply_control(const char *buf, size_t size) {
    char *text = strndup(buf, size);
    if (text == NULL) {
        return -ENOMEM;
    }
    int res = 0;
    pthread_mutex_lock(&st.lock);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL && res == 0; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t') {
            line++;
        }
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (len == 0 || line[0] == '#') {
            continue;
        }
        res = parse_line(line);
        if (res != 0) {
            fprintf(stderr, "faultfs: rejected control line \"%s\"\n", line);
        }
    }
    pthread_mutex_unlock(&st.lock);
    free(text);
    return res;
}

static const char *hang_text(const struct hang *h) {
    return h->mode == HANG_OFF ? "off" : h->mode == HANG_ALL ? "all" : h->path;
}

/* The control file's text: every knob, then every counter, one "key=value" per line. */
static char *render_control(size_t *len) {
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (f == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&st.lock);
    if (st.latency_min_us == st.latency_max_us) {
        fprintf(f, "latency_us=%lld\n", st.latency_min_us);
    } else {
        fprintf(f, "latency_us=%lld..%lld\n", st.latency_min_us, st.latency_max_us);
    }
    fprintf(f, "knee=%lld\n", st.knee);
    fprintf(f, "eio_offset=");
    if (st.eio_offset_count == 0) {
        fprintf(f, "none");
    }
    for (int i = 0; i < st.eio_offset_count; i++) {
        fprintf(f, "%s%lld", i == 0 ? "" : ",", st.eio_offsets[i]);
    }
    fprintf(f, "\neio_every=%lld\n", st.eio_every);
    fprintf(f, "eio_prob=%g\n", st.eio_prob);
    fprintf(f, "eio_ops=%s\n", st.eio_ops == OP_READ ? "read" : st.eio_ops == OP_WRITE ? "write" : "rw");
    fprintf(f, "seed=%llu\n", st.seed);
    if (st.enospc_after < 0) {
        fprintf(f, "enospc_after=off\n");
    } else {
        fprintf(f, "enospc_after=%lld\n", st.enospc_after);
    }
    fprintf(f, "short_reads=%lld\n", st.short_reads);
    fprintf(f, "short_writes=%lld\n", st.short_writes);
    fprintf(f, "no_lseek=%lld\n", st.no_lseek);
    fprintf(f, "hang_reads=%s\n", hang_text(&st.hang_reads));
    fprintf(f, "hang_writes=%s\n", hang_text(&st.hang_writes));
    fprintf(f, "eio_fsync=%s\n", hang_text(&st.eio_fsync));
    fprintf(f, "only=%s\n", st.only[0] != '\0' ? st.only : "all");
    for (int i = 0; i < META_COUNT; i++) {
        fprintf(f, "%s_latency_us=%lld\n", meta_names[i], st.meta_latency_us[i]);
    }
    fprintf(f, "hang_meta=%s\n", hang_text(&st.hang_meta));
    fprintf(f, "hang_flush=%s\n", hang_text(&st.hang_flush));
    fprintf(f, "reads=%" PRIu64 "\n", st.reads);
    fprintf(f, "writes=%" PRIu64 "\n", st.writes);
    fprintf(f, "bytes_read=%" PRIu64 "\n", st.bytes_read);
    fprintf(f, "bytes_written=%" PRIu64 "\n", st.bytes_written);
    fprintf(f, "outstanding=%lld\n", st.outstanding);
    fprintf(f, "outstanding_reads=%lld\n", st.outstanding_reads);
    fprintf(f, "outstanding_writes=%lld\n", st.outstanding_writes);
    fprintf(f, "max_outstanding=%lld\n", st.max_outstanding);
    fprintf(f, "blocked_reads=%lld\n", st.blocked_reads);
    fprintf(f, "blocked_writes=%lld\n", st.blocked_writes);
    fprintf(f, "blocked_meta=%lld\n", st.blocked_meta);
    fprintf(f, "blocked_flushes=%lld\n", st.blocked_flushes);
    fprintf(f, "meta_ops=%" PRIu64 "\n", st.meta_ops);
    fprintf(f, "meta_delayed=%" PRIu64 "\n", st.meta_delayed);
    fprintf(f, "released=%" PRIu64 "\n", st.released);
    fprintf(f, "delayed_ops=%" PRIu64 "\n", st.delayed_ops);
    fprintf(f, "latency_us_total=%" PRIu64 "\n", st.latency_us_total);
    fprintf(f, "eio_injected=%" PRIu64 "\n", st.eio_injected);
    fprintf(f, "enospc_injected=%" PRIu64 "\n", st.enospc_injected);
    fprintf(f, "short_reads_injected=%" PRIu64 "\n", st.short_reads_injected);
    fprintf(f, "short_writes_injected=%" PRIu64 "\n", st.short_writes_injected);
    fprintf(f, "enospc_written=%lld\n", st.enospc_written);
    fprintf(f, "fsyncs=%" PRIu64 "\n", st.fsyncs);
    fprintf(f, "fsync_eio_injected=%" PRIu64 "\n", st.fsync_eio_injected);
    fprintf(f, "eio_log_dropped=%" PRIu64 "\n", st.fault_log_dropped);
    for (int i = 0; i < st.fault_log_count; i++) {
        const struct fault *e = &st.fault_log[i];
        fprintf(f, "eio_at=%s %s %lld %llu\n", e->op == OP_READ ? "read" : e->op == OP_WRITE ? "write" : "fsync",
                e->path, e->off, e->size);
    }
    pthread_mutex_unlock(&st.lock);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---------------------------------------------------------------- fault injection */

static int path_matches(const char *path, const char *want) {
    return path != NULL && strcmp(path, want) == 0;
}

static int hang_applies(const struct hang *h, const char *path) {
    return h->mode == HANG_ALL || (h->mode == HANG_PATH && path_matches(path, h->path));
}

static void unlock_mutex(void *m) {
    pthread_mutex_unlock(m);
}

static int session_exited(void) {
    struct fuse_context *ctx = fuse_get_context();
    return ctx != NULL && ctx->fuse != NULL && fuse_session_exited(fuse_get_session(ctx->fuse));
}

/* Waits, st.lock held, until this op's ticket is released or the session ends. */
static void hang_locked(int op) {
    uint64_t ticket = st.hang_next_ticket++;
    long long *blocked = op == OP_READ ? &st.blocked_reads : op == OP_WRITE ? &st.blocked_writes
                         : op == OP_FLUSH ? &st.blocked_flushes : &st.blocked_meta;
    (*blocked)++;
    pthread_cleanup_push(unlock_mutex, &st.lock);
    while (ticket >= st.hang_released_upto) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&st.wake, &st.lock, &until);
        if (ticket >= st.hang_released_upto && session_exited()) {
            break; /* unmounting: let the thread finish so the loop can join it */
        }
    }
    pthread_cleanup_pop(0);
    (*blocked)--;
    st.released++;
}

static void sleep_us(long long us) {
    struct timespec t = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* Counts an injected EIO and remembers where it hit. */
static void log_eio_locked(int op, const char *path, off_t off, size_t size) {
    if (op == OP_FSYNC) {
        st.fsync_eio_injected++;
    } else {
        st.eio_injected++;
    }
    if (st.fault_log_count == MAX_FAULT_LOG) {
        st.fault_log_dropped++;
        return;
    }
    struct fault *e = &st.fault_log[st.fault_log_count++];
    e->op = op;
    e->off = (long long) off;
    e->size = (unsigned long long) size;
    snprintf(e->path, sizeof e->path, "%s", path != NULL ? path : "?");
}

static int covers_eio_offset_locked(off_t off, size_t size) {
    for (int i = 0; i < st.eio_offset_count; i++) {
        if (st.eio_offsets[i] >= off && (unsigned long long) (st.eio_offsets[i] - off) < size) {
            return 1;
        }
    }
    return 0;
}

/*
 * Everything that happens to a read or write before it touches the backing file: counting, the
 * hang, the latency (with the knee), injected errors, ENOSPC and short transfers.
 * {@return 0 with *size possibly reduced, or a negated errno to answer with}. On 0 with a write,
 * *reserved is the ENOSPC budget taken (give back what was not written).
 */
static int enter_op(int op, const char *path, off_t off, size_t *size, long long *reserved) {
    long long latency = 0;
    int res = 0;
    *reserved = 0;

    pthread_mutex_lock(&st.lock);
    st.outstanding++;
    if (op == OP_READ) {
        st.reads++;
        st.outstanding_reads++;
    } else {
        st.writes++;
        st.outstanding_writes++;
    }
    if (st.outstanding > st.max_outstanding) {
        st.max_outstanding = st.outstanding;
    }
    if (st.only[0] != '\0' && !path_matches(path, st.only)) {
        pthread_mutex_unlock(&st.lock);
        return 0;
    }
    if (hang_applies(op == OP_READ ? &st.hang_reads : &st.hang_writes, path)) {
        hang_locked(op);
    }
    if (st.latency_max_us > 0) {
        latency = st.latency_min_us;
        if (st.latency_max_us > st.latency_min_us) {
            latency += (long long) (next_random_locked() % (uint64_t) (st.latency_max_us - st.latency_min_us + 1));
        }
        if (st.knee > 0 && st.outstanding > st.knee) {
            latency = (long long) ((double) latency * (double) st.outstanding / (double) st.knee);
        }
        st.delayed_ops++;
        st.latency_us_total += (uint64_t) latency;
    }
    if (st.eio_ops & op) {
        int eio = covers_eio_offset_locked(off, *size);
        if (st.eio_every > 0 && ++st.eio_candidates % (uint64_t) st.eio_every == 0) {
            eio = 1;
        }
        if (st.eio_prob > 0 && next_unit_locked() < st.eio_prob) {
            eio = 1;
        }
        if (eio) {
            log_eio_locked(op, path, off, *size);
            res = -EIO;
        }
    }
    if (res == 0 && op == OP_WRITE) {
        if (st.short_writes > 0 && *size > (unsigned long long) st.short_writes) {
            *size = (size_t) st.short_writes;
            st.short_writes_injected++;
        }
        if (st.enospc_after >= 0) {
            long long left = st.enospc_after - st.enospc_written;
            if (left <= 0) {
                st.enospc_injected++;
                res = -ENOSPC;
            } else {
                if ((unsigned long long) left < *size) {
                    *size = (size_t) left;
                }
                *reserved = (long long) *size;
                st.enospc_written += *reserved;
            }
        }
    }
    if (res == 0 && op == OP_READ && st.short_reads > 0 && *size > (unsigned long long) st.short_reads) {
        *size = (size_t) st.short_reads;
        st.short_reads_injected++;
    }
    pthread_mutex_unlock(&st.lock);

    if (latency > 0) {
        sleep_us(latency);
    }
    return res;
}

static void leave_op(int op, ssize_t result, long long reserved) {
    pthread_mutex_lock(&st.lock);
    st.outstanding--;
    if (op == OP_READ) {
        st.outstanding_reads--;
        if (result > 0) {
            st.bytes_read += (uint64_t) result;
        }
    } else {
        st.outstanding_writes--;
        if (result > 0) {
            st.bytes_written += (uint64_t) result;
        }
        long long unused = reserved - (result > 0 ? result : 0);
        if (unused > 0) {
            st.enospc_written -= unused;
        }
    }
    pthread_mutex_unlock(&st.lock);
}

/*
 * Before a metadata operation on path (and path2, for rename): count it, block if hang_meta
 * matches either path, then sleep the operation's latency. The mount's root and the control file
 * are exempt, so that the control file stays reachable while metadata hangs.
 */
static void enter_meta(int meta, const char *path, const char *path2) {
    int exempt = path == NULL || strcmp(path, "/") == 0 || strcmp(path, CONTROL_PATH) == 0;
    if (exempt && path2 == NULL) {
        return;
    }
    pthread_mutex_lock(&st.lock);
    st.meta_ops++;
    if (hang_applies(&st.hang_meta, path) || (path2 != NULL && hang_applies(&st.hang_meta, path2))) {
        hang_locked(OP_META);
    }
    long long latency = st.meta_latency_us[meta];
    if (latency > 0) {
        st.meta_delayed++;
    }
    pthread_mutex_unlock(&st.lock);
    if (latency > 0) {
        sleep_us(latency);
    }
}

/* ---------------------------------------------------------------- passthrough */

static const char *rel(const char *path) {
    return path[1] == '\0' ? "." : path + 1;
}

static int is_control(const char *path) {
    return path != NULL && strcmp(path, CONTROL_PATH) == 0;
}

static struct handle *handle_of(struct fuse_file_info *fi) {
    return fi != NULL ? (struct handle *) (uintptr_t) fi->fh : NULL;
}

static void control_attr(struct stat *s) {
    memset(s, 0, sizeof *s);
    s->st_mode = S_IFREG | 0666;
    s->st_nlink = 1;
    s->st_uid = getuid();
    s->st_gid = getgid();
    s->st_size = 0; /* like /proc files: read until EOF */
    s->st_blksize = 4096;
    clock_gettime(CLOCK_REALTIME, &s->st_mtim);
    s->st_atim = s->st_ctim = s->st_mtim;
}

static void *ffs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    cfg->direct_io = 1;
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->use_ino = 1;
    cfg->nullpath_ok = 1; /* fh-based ops work on unlinked files; handles keep their own path */
    cfg->hard_remove = 1; /* no .fuse_hidden files in the backing directory */
    /* Asynchronous direct I/O (io_uring, AIO) goes out as background requests: let many overlap. */
    if (max_background > 0) {
        conn->max_background = (unsigned) max_background;
        conn->congestion_threshold = (unsigned) (max_background * 3 / 4);
    }
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    if (sync_dio) {
        conn->want &= ~FUSE_CAP_ASYNC_DIO;
    }
    return NULL;
}

static int ffs_getattr(const char *path, struct stat *s, struct fuse_file_info *fi) {
    struct handle *h = handle_of(fi);
    if (h != NULL && h->control) {
        control_attr(s);
        return 0;
    }
    if (h != NULL) {
        enter_meta(META_GETATTR, h->path, NULL);
        return fstat(h->fd, s) == 0 ? 0 : -errno;
    }
    if (is_control(path)) {
        control_attr(s);
        return 0;
    }
    enter_meta(META_GETATTR, path, NULL);
    return fstatat(backing_fd, rel(path), s, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int ffs_access(const char *path, int mask) {
    if (is_control(path)) {
        return 0;
    }
    return faccessat(backing_fd, rel(path), mask, 0) == 0 ? 0 : -errno;
}

static int ffs_readlink(const char *path, char *buf, size_t size) {
    ssize_t n = readlinkat(backing_fd, rel(path), buf, size - 1);
    if (n < 0) {
        return -errno;
    }
    buf[n] = '\0';
    return 0;
}

/* An open directory, with its path for the metadata knobs (readdir gets no path: nullpath_ok). */
struct dir_handle {
    DIR *dir;
    char *path;
};

static int ffs_opendir(const char *path, struct fuse_file_info *fi) {
    int fd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -errno;
    }
    struct dir_handle *dh = malloc(sizeof *dh);
    char *copy = strdup(path);
    DIR *d = dh != NULL && copy != NULL ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int e = dh == NULL || copy == NULL ? ENOMEM : errno;
        close(fd);
        free(dh);
        free(copy);
        return -e;
    }
    dh->dir = d;
    dh->path = copy;
    fi->fh = (uint64_t) (uintptr_t) dh;
    return 0;
}

static int ffs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
    (void) path;
    (void) off;
    (void) flags;
    struct dir_handle *dh = (struct dir_handle *) (uintptr_t) fi->fh;
    enter_meta(META_READDIR, dh->path, NULL);
    DIR *d = dh->dir;
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat s;
        memset(&s, 0, sizeof s);
        s.st_ino = e->d_ino;
        s.st_mode = (mode_t) DTTOIF(e->d_type);
        if (filler(buf, e->d_name, &s, 0, 0) != 0) {
            break;
        }
    }
    return 0;
}

static int ffs_releasedir(const char *path, struct fuse_file_info *fi) {
    (void) path;
    struct dir_handle *dh = (struct dir_handle *) (uintptr_t) fi->fh;
    closedir(dh->dir);
    free(dh->path);
    free(dh);
    return 0;
}

static int ffs_mknod(const char *path, mode_t mode, dev_t rdev) {
    return mknodat(backing_fd, rel(path), mode, rdev) == 0 ? 0 : -errno;
}

static int ffs_mkdir(const char *path, mode_t mode) {
    enter_meta(META_MKDIR, path, NULL);
    return mkdirat(backing_fd, rel(path), mode) == 0 ? 0 : -errno;
}

static int ffs_unlink(const char *path) {
    if (is_control(path)) {
        return -EPERM;
    }
    enter_meta(META_UNLINK, path, NULL);
    return unlinkat(backing_fd, rel(path), 0) == 0 ? 0 : -errno;
}

static int ffs_rmdir(const char *path) {
    enter_meta(META_RMDIR, path, NULL);
    return unlinkat(backing_fd, rel(path), AT_REMOVEDIR) == 0 ? 0 : -errno;
}

static int ffs_symlink(const char *target, const char *path) {
    return symlinkat(target, backing_fd, rel(path)) == 0 ? 0 : -errno;
}

static int ffs_rename(const char *from, const char *to, unsigned int flags) {
    if (is_control(from) || is_control(to)) {
        return -EPERM;
    }
    enter_meta(META_RENAME, from, to);
    return renameat2(backing_fd, rel(from), backing_fd, rel(to), flags) == 0 ? 0 : -errno;
}

static int ffs_link(const char *from, const char *to) {
    return linkat(backing_fd, rel(from), backing_fd, rel(to), 0) == 0 ? 0 : -errno;
}

static int ffs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    struct handle *h = handle_of(fi);
    if ((h != NULL && h->control) || is_control(path)) {
        return 0;
    }
    if (h != NULL) {
        return fchmod(h->fd, mode) == 0 ? 0 : -errno;
    }
    return fchmodat(backing_fd, rel(path), mode, 0) == 0 ? 0 : -errno;
}

static int ffs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
    struct handle *h = handle_of(fi);
    if ((h != NULL && h->control) || is_control(path)) {
        return 0;
    }
    if (h != NULL) {
        return fchown(h->fd, uid, gid) == 0 ? 0 : -errno;
    }
    return fchownat(backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int ffs_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    struct handle *h = handle_of(fi);
    if ((h != NULL && h->control) || is_control(path)) {
        return 0;
    }
    /* A metadata operation: hang_meta and the latency knobs apply (an ftruncate the daemon holds). */
    enter_meta(META_TRUNCATE, h != NULL ? h->path : path, NULL);
    if (h != NULL) {
        return ftruncate(h->fd, size) == 0 ? 0 : -errno;
    }
    int fd = openat(backing_fd, rel(path), O_WRONLY);
    if (fd < 0) {
        return -errno;
    }
    int res = ftruncate(fd, size) == 0 ? 0 : -errno;
    close(fd);
    return res;
}

static int ffs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    struct handle *h = handle_of(fi);
    if ((h != NULL && h->control) || is_control(path)) {
        return 0;
    }
    if (h != NULL) {
        return futimens(h->fd, tv) == 0 ? 0 : -errno;
    }
    return utimensat(backing_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int new_handle(const char *path, int fd, int control, struct fuse_file_info *fi) {
    struct handle *h = calloc(1, sizeof *h);
    char *copy = strdup(path);
    if (h == NULL || copy == NULL) {
        free(h);
        free(copy);
        if (fd >= 0) {
            close(fd);
        }
        return -ENOMEM;
    }
    h->fd = fd;
    h->control = control;
    h->path = copy;
    pthread_mutex_init(&h->lock, NULL);
    fi->fh = (uint64_t) (uintptr_t) h;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return 0;
}

/* The backing file is an ordinary file: O_DIRECT would only add alignment rules to our buffers. */
static int backing_flags(int flags) {
    return flags & ~(O_DIRECT | O_NOFOLLOW);
}

static int ffs_open(const char *path, struct fuse_file_info *fi) {
    if (is_control(path)) {
        return new_handle(path, -1, 1, fi);
    }
    int fd = openat(backing_fd, rel(path), backing_flags(fi->flags));
    if (fd < 0) {
        return -errno;
    }
    return new_handle(path, fd, 0, fi);
}

static int ffs_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    if (is_control(path)) {
        return new_handle(path, -1, 1, fi);
    }
    int fd = openat(backing_fd, rel(path), backing_flags(fi->flags) | O_CREAT, mode);
    if (fd < 0) {
        return -errno;
    }
    return new_handle(path, fd, 0, fi);
}

static int control_read(struct handle *h, char *buf, size_t size, off_t off) {
    pthread_mutex_lock(&h->lock);
    if (off == 0 || h->text == NULL) {
        free(h->text);
        h->text = render_control(&h->text_len);
    }
    int n = 0;
    if (h->text == NULL) {
        n = -ENOMEM;
    } else if ((size_t) off < h->text_len) {
        n = (int) (h->text_len - (size_t) off < size ? h->text_len - (size_t) off : size);
        memcpy(buf, h->text + off, (size_t) n);
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

static int ffs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->control) {
        return control_read(h, buf, size, off);
    }
    long long reserved;
    int res = enter_op(OP_READ, h->path, off, &size, &reserved);
    ssize_t n = res;
    if (res == 0) {
        n = pread(h->fd, buf, size, off);
        if (n < 0) {
            n = -errno;
        }
    }
    leave_op(OP_READ, n, reserved);
    return (int) n;
}

static int ffs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->control) {
        int res = apply_control(buf, size);
        return res != 0 ? res : (int) size;
    }
    long long reserved;
    int res = enter_op(OP_WRITE, h->path, off, &size, &reserved);
    ssize_t n = res;
    if (res == 0) {
        n = pwrite(h->fd, buf, size, off);
        if (n < 0) {
            n = -errno;
        }
    }
    leave_op(OP_WRITE, n, reserved);
    return (int) n;
}

static int ffs_statfs(const char *path, struct statvfs *s) {
    (void) path;
    return fstatvfs(backing_fd, s) == 0 ? 0 : -errno;
}

static int ffs_flush(const char *path, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->control) {
        return 0;
    }
    /* hang_flush: the close(2) that sent this flush waits (a hung daemon's close). */
    pthread_mutex_lock(&st.lock);
    if (hang_applies(&st.hang_flush, h->path)) {
        hang_locked(OP_FLUSH);
    }
    pthread_mutex_unlock(&st.lock);
    /* close() of a duplicate reports delayed write errors of the backing file, as passthrough does. */
    int fd = dup(h->fd);
    if (fd < 0) {
        return -errno;
    }
    return close(fd) == 0 ? 0 : -errno;
}

static int ffs_release(const char *path, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->fd >= 0) {
        close(h->fd);
    }
    pthread_mutex_destroy(&h->lock);
    free(h->text);
    free(h->path);
    free(h);
    return 0;
}

static int ffs_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->control) {
        return 0;
    }
    /* A metadata operation: hang_meta and the latency knobs apply (an fsync the daemon holds). */
    enter_meta(META_FSYNC, h->path, NULL);
    pthread_mutex_lock(&st.lock);
    st.fsyncs++;
    int eio = hang_applies(&st.eio_fsync, h->path);
    if (eio) {
        log_eio_locked(OP_FSYNC, h->path, 0, 0);
    }
    pthread_mutex_unlock(&st.lock);
    if (eio) {
        return -EIO;
    }
    return (datasync ? fdatasync(h->fd) : fsync(h->fd)) == 0 ? 0 : -errno;
}

static int ffs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->control) {
        return -EOPNOTSUPP;
    }
    return fallocate(h->fd, mode, off, len) == 0 ? 0 : -errno;
}

static off_t ffs_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi) {
    (void) path;
    struct handle *h = handle_of(fi);
    if (h->control) {
        return -ESPIPE;
    }
    pthread_mutex_lock(&st.lock);
    int unsupported = st.no_lseek != 0;
    pthread_mutex_unlock(&st.lock);
    if (unsupported) {
        return -ENOSYS; /* as a file system without lseek: the kernel falls back to its generic one */
    }
    off_t r = lseek(h->fd, off, whence);
    return r >= 0 ? r : -errno;
}

static const struct fuse_operations ops = {
    .init = ffs_init,
    .getattr = ffs_getattr,
    .access = ffs_access,
    .readlink = ffs_readlink,
    .opendir = ffs_opendir,
    .readdir = ffs_readdir,
    .releasedir = ffs_releasedir,
    .mknod = ffs_mknod,
    .mkdir = ffs_mkdir,
    .unlink = ffs_unlink,
    .rmdir = ffs_rmdir,
    .symlink = ffs_symlink,
    .rename = ffs_rename,
    .link = ffs_link,
    .chmod = ffs_chmod,
    .chown = ffs_chown,
    .truncate = ffs_truncate,
    .utimens = ffs_utimens,
    .open = ffs_open,
    .create = ffs_create,
    .read = ffs_read,
    .write = ffs_write,
    .statfs = ffs_statfs,
    .flush = ffs_flush,
    .release = ffs_release,
    .fsync = ffs_fsync,
    .fallocate = ffs_fallocate,
    .lseek = ffs_lseek,
};

static void usage(const char *prog) {
    fprintf(stderr,
            "usage: %s BACKING_DIR MOUNTPOINT [--sync-dio] [--max-background=N] [-f] [-d] [-o fuse_option,...]\n"
            "Control: write key=value lines to MOUNTPOINT" CONTROL_PATH ", read it for counters.\n",
            prog);
}

int main(int argc, char *argv[]) {
    if (argc < 3 || argv[1][0] == '-') {
        usage(argv[0]);
        return 2;
    }
    backing_fd = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (backing_fd < 0) {
        fprintf(stderr, "faultfs: cannot open backing directory %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    pthread_mutex_lock(&st.lock);
    reset_knobs_locked();
    reset_counters_locked();
    pthread_mutex_unlock(&st.lock);

    /* argv without the backing directory, plus our defaults (later -o options override them). */
    char **args = calloc((size_t) argc + 4, sizeof *args);
    if (args == NULL) {
        return 1;
    }
    int n = 0;
    args[n++] = argv[0];
    args[n++] = "-o";
    args[n++] = "fsname=faultfs,subtype=faultfs," MAX_THREADS;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sync-dio") == 0) {
            sync_dio = 1;
        } else if (strncmp(argv[i], "--max-background=", 17) == 0) {
            char *end;
            max_background = strtol(argv[i] + 17, &end, 10);
            if (*end != '\0' || max_background < 0 || max_background > 65535) {
                usage(argv[0]);
                return 2;
            }
        } else {
            args[n++] = argv[i];
        }
    }
    args[n] = NULL;
    umask(0);
    int res = fuse_main(n, args, &ops, NULL);
    free(args);
    close(backing_fd);
    return res;
}
