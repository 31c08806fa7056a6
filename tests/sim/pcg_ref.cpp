// pcg_ref.cpp -- reference outputs of pcg32 from pcg_random.hpp, for
// test_pcg32.  Usage:
//   pcg_ref SEED STREAM COUNT [BOUND [ADVANCE]]
// prints COUNT outputs of pcg32(SEED, STREAM), one decimal per line: the raw
// 32-bit draws, or with BOUND > 0 the values of rng(BOUND).  With ADVANCE the
// generator first jumps ADVANCE steps with rng.advance().
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include <pcg_random.hpp>

static uint64_t arg_u64(const char *s)
{
    return std::strtoull(s, nullptr, 0);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        std::fprintf(stderr, "usage: %s SEED STREAM COUNT [BOUND [ADVANCE]]\n", argv[0]);
        return 2;
    }
    pcg32 rng(arg_u64(argv[1]), arg_u64(argv[2]));
    const uint64_t count = arg_u64(argv[3]);
    const uint32_t bound = argc > 4 ? uint32_t(arg_u64(argv[4])) : 0;
    if (argc > 5) rng.advance(arg_u64(argv[5]));
    for (uint64_t i = 0; i < count; i++) {
        const uint32_t v = bound ? rng(bound) : rng();
        std::printf("%" PRIu32 "\n", v);
    }
    return std::fflush(stdout) == 0 ? 0 : 1;
}
