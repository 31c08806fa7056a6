/* fuzz_golden.c -- a libFuzzer target for the golden compare
 * (libsim/golden.c): a recording and a run's log made of the input.
 *
 *   bytes 0-1  the recording's length (little-endian, cut to what is there)
 *   byte 2     the byte limit per log: 0 the default, else that many
 *              times 64
 *   then       the recording, then the run's log
 *
 * The compare must return 0 (same), 1 (a report that begins as promised)
 * or RC_EINVAL (a log past the limit, said in one line); the same bytes on
 * both sides within the limit must be the same; the report must be
 * terminated lines without control characters; and the sanitizers must
 * stay quiet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "golden.h"
#include "runcue.h"

/* A FILE reading those bytes (fmemopen refuses none on this libc, but an
 * empty log is kept apart all the same). */
static FILE *reading(const uint8_t *p, size_t n)
{
    return n ? fmemopen((void *)p, n, "r") : fopen("/dev/null", "r");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t n_expected = (size_t)data[0] | (size_t)data[1] << 8;
    uint64_t limit = data[2] ? (uint64_t)data[2] * 64 : SIM_GOLDEN_BYTES_MAX;
    const uint8_t *rest = data + 3;
    size_t n_rest = size - 3;
    if (n_expected > n_rest) n_expected = n_rest;
    FILE *expected = reading(rest, n_expected), *got = reading(rest + n_expected, n_rest - n_expected);
    char *report = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&report, &len);
    CHECK(expected && got && out);
    int rc = sim_golden_compare_max(expected, got, "fuzz", out, limit);
    fclose(out);
    fclose(expected);
    fclose(got);

    CHECK(rc == 0 || rc == 1 || rc == RC_EINVAL);
    if (rc == 0) CHECK(len == 0);
    if (rc == 1) CHECK(strncmp(report, "golden: fuzz: the run differs at line ", 38) == 0);
    if (rc == RC_EINVAL) CHECK(strstr(report, " goes on past ") && strchr(report, '\n') == report + len - 1);
    bool same_bytes = n_expected == n_rest - n_expected &&
                      memcmp(rest, rest + n_expected, n_expected) == 0;
    if (same_bytes && n_expected <= limit) CHECK(rc == 0);
    CHECK(strlen(report) == len); /* no NUL from the logs */
    CHECK(len == 0 || report[len - 1] == '\n');
    for (size_t i = 0; i < len; i++)
        CHECK((unsigned char)report[i] >= 0x20 ? report[i] != 0x7f : report[i] == '\n');
    free(report);
    return 0;
}
