/* bench_limit.h -- the bare single_queue event loop (bench_limit.c), the
 * yardstick the simulator benchmarks divide by. */
#ifndef BENCH_LIMIT_H
#define BENCH_LIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_limit_result {
    uint64_t completed;
    size_t peak_in_flight;
    double duration_s;          /* virtual */
    double wait_p[3], run_p[3]; /* p50, p95, p99, seconds */
} bench_limit_result;

/* Run `count` items through the bare loop (at most `concurrent` in flight,
 * latency_ms +/- 20% each).  Single-threaded; allocates and frees its own
 * memory.  0, or -1 when out of memory. */
int bench_limit_run(uint64_t count, double latency_ms, int concurrent, bench_limit_result *out);

/* What the bare loops share: the next draw of a small PCG32 at *state, and
 * p50, p95 and p99 of v's n values (sorting v) in out. */
uint32_t bench_pcg32(uint64_t *state);
void bench_percentiles(double *v, uint64_t n, double out[3]);

/* The bare loop of pipeline, fanout or dynamic (bench_floor.c): their graphs with
 * nothing but their own work, `count` as runcue-sim's -n.  0; -1 for an
 * unknown scenario, a count out of 1..1e8, or out of memory. */
int bench_floor_run(const char *scenario, uint64_t count, double latency_ms, int concurrent,
                    bench_limit_result *out);

#endif
