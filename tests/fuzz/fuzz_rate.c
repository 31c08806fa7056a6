/*
 * fuzz_rate.c -- the rate-string parser (rc_parse_rate) and the seconds
 * conversion behind every option and field given in seconds (rc_seconds).
 *
 * The input, up to its first NUL, is a rate string.  It either parses to a
 * count from 1 to 10000000 and a finite window above a nanosecond and at
 * most 1e9 s, which printed back as "N/S" parses to the same values, or
 * fails with RC_EINVAL and a terminated one-line "bad rate" message.  The
 * first eight bytes, as a double, go through rc_seconds, which must
 * saturate instead of overflowing and keep the sign.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "runcue.h"

static void check_rate(const char *s)
{
    unsigned count = 0;
    double window = 0;
    char err[96];
    memset(err, 'x', sizeof err);
    int rc = rc_parse_rate(s, &count, &window, err, sizeof err);
    if (rc) {
        CHECK(rc == RC_EINVAL);
        CHECK(memchr(err, 0, sizeof err) != NULL);
        CHECK(strncmp(err, "bad rate", 8) == 0);
        return;
    }
    CHECK(count >= 1 && count <= 10000000);
    CHECK(isfinite(window) && window > 0 && window <= 1e9 && rc_seconds(window) > 0);
    /* Printed back in the N/S form, it reads the same. */
    char back[64];
    snprintf(back, sizeof back, "%u/%.17g", count, window);
    unsigned c2 = 0;
    double w2 = 0;
    CHECK(rc_parse_rate(back, &c2, &w2, NULL, 0) == 0);
    CHECK(c2 == count && w2 == window);
}

static void check_seconds(double d)
{
    rc_time t = rc_seconds(d);
    if (isnan(d)) {
        CHECK(t == 0);
        return;
    }
    if (d > 0) CHECK(t >= 0);
    if (d < 0) CHECK(t <= 0);
    if (d >= 9.3e9) CHECK(t == INT64_MAX);
    if (d <= -9.3e9) CHECK(t == INT64_MIN);
    if (fabs(d) < 9e9) CHECK(fabs(rc_to_seconds(t) - d) <= 1e-9 + fabs(d) * 1e-15);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = strnlen((const char *)data, size);
    char *s = malloc(n + 1);
    if (!s) return 0;
    memcpy(s, data, n);
    s[n] = 0;
    check_rate(s);
    free(s);
    if (size >= sizeof(double)) {
        double d;
        memcpy(&d, data, sizeof d);
        check_seconds(d);
    }
    return 0;
}
