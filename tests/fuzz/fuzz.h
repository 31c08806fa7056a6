/* fuzz.h -- the entry point every fuzz target defines, called by libFuzzer
 * (scripts/fuzz.sh) or by driver.c over a corpus (meson test --suite fuzz). */
#ifndef RUNCUE_FUZZ_H
#define RUNCUE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <fcntl.h>
#include <unistd.h>

/* Run one input; returns 0.  A broken invariant aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the target: a broken one names itself and aborts, which
 * libFuzzer (and the corpus run) reports as a finding. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* stdout and stderr sent to /dev/null while a parser that prints runs (its
 * messages are the point of other tests; libFuzzer reports on stderr once
 * they are back): fuzz_unmute(fuzz_mute()) around the call. */
typedef struct fuzz_quiet {
    int out, err; /* the saved descriptors */
} fuzz_quiet;

static inline fuzz_quiet fuzz_mute(void)
{
    static int null_fd = -1;
    if (null_fd < 0 && (null_fd = open("/dev/null", O_WRONLY)) < 0) abort();
    fflush(stdout);
    fflush(stderr);
    fuzz_quiet q = {dup(1), dup(2)};
    if (q.out < 0 || q.err < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) abort();
    return q;
}

static inline void fuzz_unmute(fuzz_quiet q)
{
    fflush(stdout);
    fflush(stderr);
    dup2(q.out, 1);
    dup2(q.err, 2);
    close(q.out);
    close(q.err);
}

#endif /* RUNCUE_FUZZ_H */
