/*
 * Smoke test for uring_fail.so from C ("make check"): a program linked against liburing calls
 * io_uring_setup and io_uring_queue_init and checks that both fail with the errno given as
 * argv[1] (0: both must succeed). Declares the few liburing functions it needs itself so that
 * only the runtime library is required.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct io_uring;
struct io_uring_params;
int io_uring_setup(unsigned entries, struct io_uring_params *p);
int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
void io_uring_queue_exit(struct io_uring *ring);

int main(int argc, char **argv) {
    int want = argc > 1 ? atoi(argv[1]) : 0;
    static _Alignas(64) char ring[4096];   /* larger than any liburing's struct io_uring */
    static _Alignas(8) char params[120];   /* sizeof(struct io_uring_params) */
    int failures = 0;

    errno = 0;
    int fd = io_uring_setup(4, (struct io_uring_params *) params);
    int setup_errno = fd >= 0 ? 0 : fd == -1 && errno != 0 ? errno : -fd;
    if (fd >= 0) {
        close(fd);
    }
    int r = io_uring_queue_init(4, (struct io_uring *) ring, 0);
    int init_errno = r < 0 ? -r : 0;
    if (r == 0) {
        io_uring_queue_exit((struct io_uring *) ring);
    }
    printf("io_uring_setup: %s; io_uring_queue_init: %s\n", setup_errno ? strerror(setup_errno) : "ok",
           init_errno ? strerror(init_errno) : "ok");
    if (setup_errno != want) {
        fprintf(stderr, "uring_check: io_uring_setup gave errno %d, expected %d\n", setup_errno, want);
        failures++;
    }
    if (init_errno != want) {
        fprintf(stderr, "uring_check: io_uring_queue_init gave errno %d, expected %d\n", init_errno, want);
        failures++;
    }
    return failures == 0 ? 0 : 1;
}
