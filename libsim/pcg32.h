/* pcg32.h -- the PCG32 random number generator (XSH RR 64/32).
 *
 * Exactly the generator of the PCG paper and pcg_basic.c (and of the C++
 * class pcg32 in pcg_random.hpp): a 64-bit LCG state, an odd increment that
 * selects one of 2^63 independent streams, and a 32-bit output permutation.
 * The simulator gives every random consumer (latency, errors, invalidation,
 * workload shape) its own stream, so one extra draw in one place changes
 * nothing anywhere else.
 *
 * A sim_pcg32 is a plain value: the caller owns its memory (on the stack or
 * inside another struct), it holds no pointers, and copying it forks the
 * sequence.  Nothing here allocates, reads a clock or touches a global; the
 * functions are safe from any thread as long as one generator is not used by
 * two threads at once.
 */
#ifndef SIM_PCG32_H
#define SIM_PCG32_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim_pcg32 {
    uint64_t state; /* the LCG state; every value is valid */
    uint64_t inc;   /* the stream's increment; always odd */
} sim_pcg32;

/*
 * Seed `rng` with pcg32_srandom_r(rng, seed, stream) semantics: inc =
 * (stream << 1) | 1, state = 0, one step, state += seed, one step.  The same
 * (seed, stream) gives the same sequence as pcg32(seed, stream) in C++.
 * Streams differ only in the low 63 bits of `stream` (its top bit is shifted
 * out).
 */
void sim_pcg32_init(sim_pcg32 *rng, uint64_t seed, uint64_t stream);

/* The next 32 uniformly distributed bits. */
uint32_t sim_pcg32_next(sim_pcg32 *rng);

/*
 * A uniform integer in [0, bound) without modulo bias, by pcg_basic's
 * threshold method: draws below (2^32 - bound) % bound are rejected and drawn
 * again (at most a 50% chance each time, usually far less).  The results
 * equal pcg32's operator()(bound) in C++.  bound 0 returns 0 and draws
 * nothing.
 */
uint32_t sim_pcg32_bounded(sim_pcg32 *rng, uint32_t bound);

/*
 * A uniform double in [0, 1) with 53 random bits, from exactly two draws:
 * the first draw gives the high 32 bits, the second the low 32, and the top
 * 53 bits of that 64-bit number are scaled by 2^-53.  Every result is a
 * multiple of 2^-53; 1.0 is never returned.
 */
double sim_pcg32_double(sim_pcg32 *rng);

/*
 * A uniform double in [a, b) for a < b, from one sim_pcg32_double() (two
 * draws).  a + (b - a) * u can round up to b; then the largest double below
 * b is returned instead, so b itself never is.  a == b returns a; a > b
 * gives a value in (b, a].
 */
double sim_pcg32_uniform(sim_pcg32 *rng, double a, double b);

/*
 * Jump ahead `delta` steps in O(log delta), as if sim_pcg32_next() had been
 * called delta times (Brown's "random number generation with arbitrary
 * stride").  Going back d steps is advancing by -d (mod 2^64).
 */
void sim_pcg32_advance(sim_pcg32 *rng, uint64_t delta);

#ifdef __cplusplus
}
#endif
#endif /* SIM_PCG32_H */
