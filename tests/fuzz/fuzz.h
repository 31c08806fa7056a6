/* fuzz.h -- the entry point every fuzz target defines, called by libFuzzer
 * (scripts/fuzz.sh) or by driver.c over a corpus (meson test --suite fuzz). */
#ifndef RUNCUE_FUZZ_H
#define RUNCUE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Run one input; returns 0.  A broken invariant aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* RUNCUE_FUZZ_H */
