/*
 * bench_limit.c -- the bare event loop for single_queue: the physical limit
 * the simulator is measured against.
 *
 * The same events and statistics as `runcue-sim --scenario single_queue`:
 * `count` items submitted at t=0 into a FIFO, at most `concurrent` in
 * flight, each taking latency_ms +/- 20% (uniform), completions kept in a
 * binary heap of timers on a virtual clock; per item the queue wait and the
 * run time are kept, and p50/p95/p99 of both are computed at the end.  No
 * scheduler, no labels, no artifacts: what is left is the cost of the work
 * itself.
 *
 *   ./build/bench/bench_limit [--scenario S] [-n COUNT] [-l LATENCY_MS] [--reps N]
 *
 * --scenario pipeline, fanout or dynamic runs their bare loops (bench_floor.c)
 * instead.
 *
 * bench_sim links the same loop (bench_limit_run) and prints every
 * scenario's time as a ratio to it.
 */
#include "bench_limit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct timer {
    int64_t when; /* virtual ns */
    uint64_t item;
} timer;

typedef struct heap {
    timer *v;
    size_t n;
} heap;

static void heap_push(heap *h, timer t)
{
    size_t i = h->n++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (h->v[p].when <= t.when) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = t;
}

static timer heap_pop(heap *h)
{
    timer top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1].when < h->v[c].when) c++;
        if (last.when <= h->v[c].when) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* A small PCG32, as the simulator draws its latencies. */
uint32_t bench_pcg32(uint64_t *state)
{
    uint64_t old = *state;
    *state = old * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_percentiles(double *v, uint64_t n, double out[3])
{
    qsort(v, n, sizeof *v, cmp_double);
    static const double q[3] = {0.50, 0.95, 0.99};
    for (int i = 0; i < 3; i++)
        out[i] = n ? v[(uint64_t)(q[i] * (double)(n - 1))] : 0;
}

int bench_limit_run(uint64_t count, double latency_ms, int concurrent, bench_limit_result *out)
{
    memset(out, 0, sizeof *out);
    if (concurrent < 1) concurrent = 1;
    heap h = {malloc((size_t)concurrent * sizeof *h.v), 0};
    int64_t *submitted = malloc(count * sizeof *submitted); /* the FIFO */
    double *waits = malloc(count * sizeof *waits), *runs = malloc(count * sizeof *runs);
    int64_t *started = malloc(count * sizeof *started);
    if (!h.v || !submitted || !waits || !runs || !started) {
        free(h.v), free(submitted), free(waits), free(runs), free(started);
        return -1;
    }
    uint64_t rng = 42, head = 0, done = 0;
    int64_t now = 0;
    for (uint64_t i = 0; i < count; i++)
        submitted[i] = 0;
    while (done < count) {
        while (h.n < (size_t)concurrent && head < count) {
            uint64_t i = head++;
            started[i] = now;
            waits[i] = (double)(now - submitted[i]) / 1e9;
            double u = (double)bench_pcg32(&rng) / 4294967296.0;
            double ms = latency_ms * (1 + 0.2 * (2 * u - 1));
            heap_push(&h, (timer){now + (int64_t)(ms * 1e6), i});
            if (h.n > out->peak_in_flight) out->peak_in_flight = h.n;
        }
        timer t = heap_pop(&h);
        now = t.when;
        runs[t.item] = (double)(now - started[t.item]) / 1e9;
        done++;
    }
    out->completed = done;
    out->duration_s = (double)now / 1e9;
    bench_percentiles(waits, count, out->wait_p);
    bench_percentiles(runs, count, out->run_p);
    free(h.v), free(submitted), free(waits), free(runs), free(started);
    return 0;
}

#ifdef BENCH_LIMIT_MAIN
#include <stdio.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    double latency = 0;
    int reps = 5;
    const char *scenario = "single_queue";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc)
            scenario = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
            latency = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_limit [--scenario single_queue|pipeline|fanout|dynamic] "
                            "[-n COUNT] [-l LATENCY_MS] [--reps N]\n");
            return 2;
        }
    }
    if (n < 1 || n > 100000000 || reps < 1 || reps > 1000 || !(latency >= 0 && latency < 1e9)) {
        fprintf(stderr, "bench_limit: -n 1..1e8, --reps 1..1000, -l 0..1e9\n");
        return 2;
    }
    /* Every work of these graphs runs once: each item is 1, 3 or 7 works
     * (dynamic's count depends on its draws). */
    uint64_t expect = 0;
    if (strcmp(scenario, "single_queue") == 0)
        expect = n;
    else if (strcmp(scenario, "pipeline") == 0)
        expect = 3 * n;
    else if (strcmp(scenario, "fanout") == 0)
        expect = 7 * n;
    else if (strcmp(scenario, "dynamic") != 0) {
        fprintf(stderr, "bench_limit: unknown scenario '%s' (single_queue, pipeline, fanout, "
                        "dynamic)\n", scenario);
        return 2;
    }
    for (int r = 0; r < reps; r++) {
        bench_limit_result res;
        double t0 = now_s();
        const int rc = strcmp(scenario, "single_queue") == 0
                           ? bench_limit_run(n, latency, 5, &res)
                           : bench_floor_run(scenario, n, latency, 5, &res);
        const double took = now_s() - t0;
        if (rc) {
            fprintf(stderr, "bench_limit: out of memory\n");
            return 1;
        }
        if ((expect && res.completed != expect) || res.completed < n) {
            fprintf(stderr, "bench_limit: %s completed %llu works, expected %llu\n", scenario,
                    (unsigned long long)res.completed, (unsigned long long)(expect ? expect : n));
            return 1;
        }
        printf("bare %s: %llu items in %.3f s (%.0f ns/item), virtual %.3f s, wait p50 %.3f s\n",
               scenario, (unsigned long long)res.completed, took,
               took / (double)res.completed * 1e9, res.duration_s, res.wait_p[0]);
    }
    return 0;
}
#endif
