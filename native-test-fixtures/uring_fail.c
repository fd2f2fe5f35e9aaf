/*
 * uring_fail: makes io_uring setup fail the way real systems refuse it.
 *
 * Built as a library whose soname is "liburing.so.2" and which depends on the real liburing
 * (through the name "liburing-real.so.2", a symlink next to it). It defines only the ring-setup
 * entry points; every other liburing symbol is found in the real library behind it.
 *
 *   AURAIO_SHIM_FAIL=EPERM|ENOMEM|ENOSYS|EINVAL|EACCES|EFAULT|<number>
 *       errno the setup calls fail with; unset or empty: pass everything through.
 *   AURAIO_SHIM_FAIL_AFTER=N
 *       let the first N setup calls succeed, fail the ones after (default 0).
 *   AURAIO_SHIM_VERBOSE=1
 *       one line on stderr per intercepted call.
 *
 * A call io_uring_setup(0, p) always reaches the kernel (it must fail with EINVAL): callers use
 * it to find out whether liburing returns -errno or -1 with errno, and that answer must stay true.
 *
 * Failures use the real library's own convention, found with that same zero-entries call: -errno
 * for liburing built without libc (Debian's x86-64 build), -1 with errno set otherwise.
 * io_uring_queue_init*() always return -errno, as liburing documents.
 *
 * Why a library named liburing.so.2 and not a plain LD_PRELOAD interposer: a program that
 * dlopen()s "liburing.so.2" and looks symbols up with dlsym(handle, ...) (the JDK's
 * SymbolLookup.libraryLookup does exactly that) searches only that handle's dependency tree, so
 * a preloaded definition is never seen. A library whose soname is liburing.so.2 is either found
 * by that dlopen (LD_LIBRARY_PATH=build/uring-shim) or is already loaded under that soname
 * (LD_PRELOAD=build/uring_fail.so), and its definitions come first in the handle's search list.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct io_uring;
struct io_uring_params;

typedef int (*setup_fn)(unsigned entries, struct io_uring_params *p);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int fail_errno;          /* 0: pass through */
static long fail_after;         /* successful setup calls allowed before failing */
static long setup_calls;        /* non-probe setup calls seen (atomic) */
static int verbose;
static int negated_convention;  /* 1: the real io_uring_setup returns -errno */
static setup_fn real_setup;

static const struct {
    const char *name;
    int value;
} errnos[] = {
    {"EPERM", EPERM}, {"ENOMEM", ENOMEM}, {"ENOSYS", ENOSYS}, {"EINVAL", EINVAL},
    {"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EMFILE", EMFILE}, {"ENFILE", ENFILE},
    {"EAGAIN", EAGAIN}, {"EBUSY", EBUSY},
};

static int parse_errno(const char *s) {
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++) {
        if (strcmp(s, errnos[i].name) == 0) {
            return errnos[i].value;
        }
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v > 0 && v < 4096) {
        return (int) v;
    }
    fprintf(stderr, "uring_fail: AURAIO_SHIM_FAIL=%s is not an errno name or number; using EPERM\n", s);
    return EPERM;
}

static void init(void) {
    fail_errno = parse_errno(getenv("AURAIO_SHIM_FAIL"));
    const char *after = getenv("AURAIO_SHIM_FAIL_AFTER");
    fail_after = after != NULL ? strtol(after, NULL, 10) : 0;
    const char *v = getenv("AURAIO_SHIM_VERBOSE");
    verbose = v != NULL && *v != '\0' && strcmp(v, "0") != 0;

    real_setup = (setup_fn) dlsym(RTLD_NEXT, "io_uring_setup");
    if (real_setup != NULL) {
        /* Zero entries is always EINVAL; the sign of the answer tells the convention. */
        char params[120] = {0}; /* sizeof(struct io_uring_params) */
        errno = 0;
        int r = real_setup(0, (struct io_uring_params *) params);
        negated_convention = !(r == -1 && errno == EINVAL);
    } else {
        negated_convention = 1;
    }
    if (verbose) {
        fprintf(stderr, "uring_fail: fail=%d after=%ld real=%p convention=%s\n", fail_errno, fail_after,
                (void *) real_setup, negated_convention ? "-errno" : "-1/errno");
    }
}

/* Whether this (non-probe) setup call is to fail; counts it. */
static int should_fail(const char *what, unsigned entries) {
    pthread_once(&once, init);
    if (fail_errno == 0) {
        return 0;
    }
    long n = __atomic_fetch_add(&setup_calls, 1, __ATOMIC_RELAXED);
    int fail = n >= fail_after;
    if (verbose) {
        fprintf(stderr, "uring_fail: %s(%u) call %ld: %s\n", what, entries, n + 1,
                fail ? strerror(fail_errno) : "passed through");
    }
    return fail;
}

static int raw_setup(unsigned entries, struct io_uring_params *p) {
    if (real_setup != NULL) {
        return real_setup(entries, p);
    }
    int r = (int) syscall(__NR_io_uring_setup, entries, p);
    return r < 0 ? -errno : r;
}

int io_uring_setup(unsigned entries, struct io_uring_params *p) {
    pthread_once(&once, init);
    if (entries != 0 && should_fail("io_uring_setup", entries)) {
        errno = fail_errno;
        return negated_convention ? -fail_errno : -1;
    }
    return raw_setup(entries, p);
}

typedef int (*queue_init_params_fn)(unsigned entries, struct io_uring *ring, struct io_uring_params *p);
typedef int (*queue_init_fn)(unsigned entries, struct io_uring *ring, unsigned flags);

int io_uring_queue_init_params(unsigned entries, struct io_uring *ring, struct io_uring_params *p) {
    if (should_fail("io_uring_queue_init_params", entries)) {
        return -fail_errno;
    }
    queue_init_params_fn real = (queue_init_params_fn) dlsym(RTLD_NEXT, "io_uring_queue_init_params");
    return real != NULL ? real(entries, ring, p) : -ENOSYS;
}

int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags) {
    if (should_fail("io_uring_queue_init", entries)) {
        return -fail_errno;
    }
    queue_init_fn real = (queue_init_fn) dlsym(RTLD_NEXT, "io_uring_queue_init");
    return real != NULL ? real(entries, ring, flags) : -ENOSYS;
}
