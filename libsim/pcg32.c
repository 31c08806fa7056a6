/* pcg32.c -- PCG32 (XSH RR 64/32), after Melissa O'Neill's pcg_basic.c. */
#include "pcg32.h"

#include <math.h>

/* The LCG multiplier of every 64-bit PCG generator. */
#define PCG32_MULT UINT64_C(6364136223846793005)

static void step(sim_pcg32 *rng)
{
    rng->state = rng->state * PCG32_MULT + rng->inc;
}

void sim_pcg32_init(sim_pcg32 *rng, uint64_t seed, uint64_t stream)
{
    rng->state = 0;
    rng->inc = (stream << 1) | 1u;
    step(rng);
    rng->state += seed;
    step(rng);
}

uint32_t sim_pcg32_next(sim_pcg32 *rng)
{
    /* The output permutes the state *before* the step, so the multiply and
     * the permutation can overlap in the CPU. */
    const uint64_t old = rng->state;
    step(rng);
    const uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    const uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31u));
}

uint32_t sim_pcg32_bounded(sim_pcg32 *rng, uint32_t bound)
{
    if (bound == 0) return 0;
    /* 2^32 % bound values at the bottom of the range would make the low
     * results more likely than the high ones; reject them.  Computed in
     * 32-bit arithmetic: (2^32 - bound) % bound == -bound % bound. */
    const uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        const uint32_t r = sim_pcg32_next(rng);
        if (r >= threshold) return r % bound;
    }
}

double sim_pcg32_double(sim_pcg32 *rng)
{
    const uint64_t hi = sim_pcg32_next(rng);
    const uint64_t lo = sim_pcg32_next(rng);
    const uint64_t bits53 = ((hi << 32) | lo) >> 11;
    return (double)bits53 * 0x1.0p-53;
}

double sim_pcg32_uniform(sim_pcg32 *rng, double a, double b)
{
    const double r = a + (b - a) * sim_pcg32_double(rng);
    if (a < b && r >= b) return nextafter(b, a);
    if (a > b && r <= b) return nextafter(b, a);
    return r;
}

void sim_pcg32_advance(sim_pcg32 *rng, uint64_t delta)
{
    /* Compose delta steps of x -> x * mult + inc by repeated squaring: after
     * the loop acc_mult = mult^delta and acc_plus = inc * (mult^delta - 1) /
     * (mult - 1), both mod 2^64. */
    uint64_t cur_mult = PCG32_MULT;
    uint64_t cur_plus = rng->inc;
    uint64_t acc_mult = 1;
    uint64_t acc_plus = 0;
    while (delta > 0) {
        if (delta & 1u) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    rng->state = acc_mult * rng->state + acc_plus;
}
