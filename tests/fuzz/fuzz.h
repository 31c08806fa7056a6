/* fuzz.h -- the entry point every fuzz target defines, called by libFuzzer
 * (scripts/fuzz.sh) or by driver.c over a corpus (meson test --suite fuzz). */
#ifndef RUNCUE_FUZZ_H
#define RUNCUE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif /* RUNCUE_FUZZ_H */
