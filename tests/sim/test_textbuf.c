/* test_textbuf.c -- the simulator's printf-free text building agrees with
 * snprintf, cut-off included. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "textbuf.h"

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A value of 1 to 20 digits, or one next to a power of ten. */
static uint64_t some_value(uint64_t *x)
{
    static const uint64_t edges[] = {0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000,
                                     UINT64_C(999999999999), UINT64_C(1000000000000),
                                     UINT64_C(18446744073709551615)};
    const uint64_t r = next(x);
    if (r % 4 == 0) return edges[(r >> 8) % (sizeof edges / sizeof *edges)];
    const unsigned digits = 1 + (unsigned)((r >> 16) % 20);
    uint64_t v = next(x);
    for (unsigned d = digits; d < 20; d++) v /= 10;
    return v;
}

Test(textbuf, prefix_number_suffix_as_snprintf_at_every_size)
{
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    for (int round = 0; round < 20000; round++) {
        const uint64_t v = some_value(&x);
        const unsigned width = (unsigned)(next(&x) % 26);
        const char *prefix = round % 3 ? "item_" : "";
        const char *suffix = round % 5 ? "" : "/x";
        char want[128];
        snprintf(want, sizeof want, "%s%0*" PRIu64 "%s", prefix, (int)width, v, suffix);
        for (size_t size = 1; size <= strlen(want) + 2; size++) {
            char got[128], cut[128];
            memset(got, '#', sizeof got);
            sim_textbuf t = sim_text_start(got, size);
            sim_text_str(&t, prefix);
            sim_text_uint(&t, v, width);
            sim_text_mem(&t, suffix, strlen(suffix));
            snprintf(cut, size, "%s", want);
            cr_assert_str_eq(got, cut, "%s cut to %zu bytes", want, size);
            cr_assert_eq(sim_text_len(&t, got), strlen(cut));
            cr_assert_eq(got[size], '#', "%s: wrote past %zu bytes", want, size);
        }
    }
}

Test(textbuf, widths_past_63_digits_are_63)
{
    char got[100], want[100];
    sim_textbuf t = sim_text_start(got, sizeof got);
    sim_text_uint(&t, 42, 1000);
    snprintf(want, sizeof want, "%063d", 42);
    cr_assert_str_eq(got, want);
}
