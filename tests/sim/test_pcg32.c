/* test_pcg32.c -- PCG32 against the reference implementation and its own
 * promises: bounded results in range and unbiased, doubles with 53 bits,
 * independent streams.
 *
 * The reference is pcg_random.hpp (libpcg-cpp-dev), reached through the
 * pcg_ref program whose path meson passes in PCG_REF.  Without it those
 * tests are skipped (the configure step says why). */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pcg32.h"

#define N_REF 1000

typedef struct seed_pair {
    uint64_t seed, stream;
} seed_pair;

static const seed_pair pairs[] = {
    {42, 54}, /* pcg_basic's demo */
    {0, 0},
    {1, 1},
    {UINT64_C(0x853c49e6748fea9b), UINT64_C(0xda3e39cb94b95bdb)}, /* PCG32_INITIALIZER */
    {UINT64_MAX, UINT64_MAX},
    {123456789, UINT64_C(0x8000000000000007)}, /* stream with its top bit set */
    {UINT64_C(0xdeadbeefcafebabe), 3},
};
#define N_PAIRS (sizeof pairs / sizeof pairs[0])

/* Run the reference program; fill out[0..count) with its outputs.  Skips the
 * test if there is no reference program. */
static void reference(const seed_pair *p, size_t count, uint32_t bound, uint64_t advance,
                      uint32_t *out)
{
    const char *ref = getenv("PCG_REF");
    if (!ref || !*ref) cr_skip_test("PCG_REF not set: no reference implementation was built");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %llu %llu %zu %lu %llu", ref, (unsigned long long)p->seed,
             (unsigned long long)p->stream, count, (unsigned long)bound,
             (unsigned long long)advance);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f, "popen(%s) failed", cmd);
    size_t n = 0;
    unsigned long v;
    while (n < count && fscanf(f, "%lu", &v) == 1)
        out[n++] = (uint32_t)v;
    cr_assert_eq(pclose(f), 0, "%s did not exit cleanly", cmd);
    cr_assert_eq(n, count, "%s printed %zu values, wanted %zu", cmd, n, count);
}

Test(pcg32, first_1000_outputs_match_the_reference_for_every_seed_and_stream)
{
    static uint32_t want[N_REF];
    for (size_t i = 0; i < N_PAIRS; i++) {
        reference(&pairs[i], N_REF, 0, 0, want);
        sim_pcg32 rng;
        sim_pcg32_init(&rng, pairs[i].seed, pairs[i].stream);
        for (size_t k = 0; k < N_REF; k++)
            cr_assert_eq(sim_pcg32_next(&rng), want[k],
                         "seed %#llx stream %#llx: output %zu differs",
                         (unsigned long long)pairs[i].seed, (unsigned long long)pairs[i].stream, k);
    }
}

Test(pcg32, bounded_matches_the_reference_operator_with_bound)
{
    static const uint32_t bounds[] = {1, 2, 3, 6, 10, 1000, 0x80000001u, UINT32_MAX};
    static uint32_t want[N_REF];
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        for (size_t i = 0; i < 3; i++) {
            reference(&pairs[i], N_REF, bounds[b], 0, want);
            sim_pcg32 rng;
            sim_pcg32_init(&rng, pairs[i].seed, pairs[i].stream);
            for (size_t k = 0; k < N_REF; k++)
                cr_assert_eq(sim_pcg32_bounded(&rng, bounds[b]), want[k],
                             "bound %lu pair %zu: output %zu differs", (unsigned long)bounds[b], i,
                             k);
        }
    }
}

Test(pcg32, advance_matches_the_reference_advance)
{
    static const uint64_t deltas[] = {0, 1, 2, 999, UINT64_C(1) << 40, UINT64_MAX};
    uint32_t want[16];
    for (size_t d = 0; d < sizeof deltas / sizeof deltas[0]; d++) {
        reference(&pairs[0], 16, 0, deltas[d], want);
        sim_pcg32 rng;
        sim_pcg32_init(&rng, pairs[0].seed, pairs[0].stream);
        sim_pcg32_advance(&rng, deltas[d]);
        for (size_t k = 0; k < 16; k++)
            cr_assert_eq(sim_pcg32_next(&rng), want[k], "advance %llu: output %zu differs",
                         (unsigned long long)deltas[d], k);
    }
}

/* These need no reference program: pcg_basic's published demo output. */
Test(pcg32, seed_42_stream_54_gives_pcg_basic_demo_output)
{
    static const uint32_t want[] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                    0x83d2f293, 0xbfa4784b, 0xcbed606e};
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 42, 54);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        cr_assert_eq(sim_pcg32_next(&rng), want[k]);
}

Test(pcg32, advance_by_minus_d_goes_back_d_steps)
{
    sim_pcg32 rng, start;
    sim_pcg32_init(&rng, 7, 8);
    start = rng;
    for (int i = 0; i < 100; i++)
        sim_pcg32_next(&rng);
    sim_pcg32_advance(&rng, (uint64_t)0 - 100);
    cr_assert_eq(rng.state, start.state);
    cr_assert_eq(rng.inc, start.inc);
}

Test(pcg32, a_copied_generator_repeats_the_same_sequence)
{
    sim_pcg32 a;
    sim_pcg32_init(&a, 99, 1);
    sim_pcg32 b = a;
    for (int i = 0; i < 100; i++)
        cr_assert_eq(sim_pcg32_next(&a), sim_pcg32_next(&b));
}

Test(pcg32, bounded_results_stay_below_the_bound)
{
    static const uint32_t bounds[] = {1, 2, 3, 7, 10, 1000, 0x80000001u, UINT32_MAX};
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 2024, 5);
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++)
        for (int i = 0; i < 10000; i++)
            cr_assert_lt(sim_pcg32_bounded(&rng, bounds[b]), bounds[b]);
}

Test(pcg32, bounded_zero_returns_zero_without_drawing)
{
    sim_pcg32 rng, copy;
    sim_pcg32_init(&rng, 1, 2);
    copy = rng;
    cr_assert_eq(sim_pcg32_bounded(&rng, 0), 0);
    cr_assert_eq(rng.state, copy.state);
}

/* Pearson's chi-square over `bound` equally likely cells. */
static double chi_square(sim_pcg32 *rng, uint32_t bound, unsigned draws)
{
    unsigned counts[16] = {0};
    for (unsigned i = 0; i < draws; i++)
        counts[sim_pcg32_bounded(rng, bound)]++;
    const double expected = (double)draws / bound;
    double chi2 = 0;
    for (uint32_t c = 0; c < bound; c++)
        chi2 += (counts[c] - expected) * (counts[c] - expected) / expected;
    return chi2;
}

Test(pcg32, bounded_is_roughly_uniform)
{
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 31337, 11);
    /* Critical values at p = 0.001: 9 dof 27.88, 5 dof 20.52, 15 dof 37.70. */
    cr_assert_lt(chi_square(&rng, 10, 200000), 27.88);
    cr_assert_lt(chi_square(&rng, 6, 200000), 20.52);
    cr_assert_lt(chi_square(&rng, 16, 200000), 37.70);
}

Test(pcg32, bounded_has_no_modulo_bias_for_a_huge_bound)
{
    /* With bound = 3 * 2^30, plain r % bound would put the values below 2^30
     * twice as often as the others (1/2 of draws instead of 1/3). */
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 5, 6);
    const uint32_t bound = 3u << 30;
    unsigned low = 0;
    const unsigned draws = 300000;
    for (unsigned i = 0; i < draws; i++)
        low += sim_pcg32_bounded(&rng, bound) < (1u << 30);
    const double share = (double)low / draws;
    cr_assert(share > 0.33 && share < 0.337, "share of low values %f, want 1/3", share);
}

Test(pcg32, double_uses_two_draws_for_53_bits)
{
    sim_pcg32 rng, raw;
    sim_pcg32_init(&rng, 17, 4);
    raw = rng;
    for (int i = 0; i < 1000; i++) {
        const uint64_t hi = sim_pcg32_next(&raw), lo = sim_pcg32_next(&raw);
        const double want = (double)(((hi << 32) | lo) >> 11) / 9007199254740992.0;
        const double d = sim_pcg32_double(&rng);
        cr_assert_eq(d, want);
        cr_assert(d >= 0.0 && d < 1.0);
        cr_assert_eq(d * 9007199254740992.0, floor(d * 9007199254740992.0), "not k * 2^-53");
    }
}

Test(pcg32, double_is_roughly_uniform_on_0_1)
{
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 8, 9);
    double sum = 0, min = 1, max = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        const double d = sim_pcg32_double(&rng);
        sum += d;
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    cr_assert(fabs(sum / n - 0.5) < 0.005, "mean %f", sum / n);
    cr_assert_lt(min, 0.001);
    cr_assert_gt(max, 0.999);
}

Test(pcg32, uniform_stays_in_a_b)
{
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 3, 3);
    for (int i = 0; i < 100000; i++) {
        const double u = sim_pcg32_uniform(&rng, -2.5, 7.25);
        cr_assert(u >= -2.5 && u < 7.25, "%f out of [-2.5, 7.25)", u);
    }
    cr_assert_eq(sim_pcg32_uniform(&rng, 4.0, 4.0), 4.0);
    for (int i = 0; i < 1000; i++) {
        const double u = sim_pcg32_uniform(&rng, 1.0, 0.0);
        cr_assert(u > 0.0 && u <= 1.0, "%f out of (0, 1]", u);
    }
}

Test(pcg32, uniform_never_returns_b_even_when_rounding_would)
{
    /* Between 1 and nextafter(1, 2) every u > 0.5 rounds a + (b - a) * u
     * up to b. */
    sim_pcg32 rng;
    sim_pcg32_init(&rng, 10, 10);
    const double a = 1.0, b = nextafter(1.0, 2.0);
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(sim_pcg32_uniform(&rng, a, b), b);
}

static size_t shared_values(const uint32_t *x, const uint32_t *y, size_t n)
{
    size_t shared = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            shared += x[i] == y[j];
    return shared;
}

Test(pcg32, different_streams_of_one_seed_give_unrelated_sequences)
{
    /* Not equal, and not shifted copies of each other either: two random
     * sets of 1000 32-bit values share a value with probability ~2e-4. */
    enum { N = 1000, STREAMS = 6 };
    static uint32_t seq[STREAMS][N];
    for (uint64_t s = 0; s < STREAMS; s++) {
        sim_pcg32 rng;
        sim_pcg32_init(&rng, 42, s);
        for (size_t k = 0; k < N; k++)
            seq[s][k] = sim_pcg32_next(&rng);
    }
    for (size_t a = 0; a < STREAMS; a++)
        for (size_t b = a + 1; b < STREAMS; b++)
            cr_assert_leq(shared_values(seq[a], seq[b], N), 1, "streams %zu and %zu overlap", a, b);
}

Test(pcg32, draws_on_one_stream_do_not_move_another)
{
    sim_pcg32 latency, errors, alone;
    sim_pcg32_init(&latency, 42, 1);
    sim_pcg32_init(&errors, 42, 2);
    sim_pcg32_init(&alone, 42, 2);
    for (int i = 0; i < 1000; i++) {
        sim_pcg32_next(&latency);
        if (i % 3 == 0) sim_pcg32_next(&latency); /* one extra draw elsewhere */
        cr_assert_eq(sim_pcg32_next(&errors), sim_pcg32_next(&alone));
    }
}

Test(pcg32, streams_differing_only_in_the_top_bit_are_the_same)
{
    sim_pcg32 a, b;
    sim_pcg32_init(&a, 1, 5);
    sim_pcg32_init(&b, 1, 5 | (UINT64_C(1) << 63));
    cr_assert_eq(a.inc, b.inc);
    cr_assert_eq(sim_pcg32_next(&a), sim_pcg32_next(&b));
}
