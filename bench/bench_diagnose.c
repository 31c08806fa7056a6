/*
 * bench_diagnose.c -- how long rc_diagnose takes on large deadlocks.
 *
 *   a. chain:   N items in a chain behind one missing key, submitted tail
 *               first (the deepest wait-for chain there is)
 *   b. keys:    N items, each needing its own key that nothing produces
 *   c. roots:   N failed producers and N waiters, the first waiter waiting
 *               on the last producer (the roots are found in reverse order)
 *   d. cycle:   N items in one ring, each needing what the next produces
 *
 * Each case builds the stalled cue on the virtual clock, then times one
 * rc_diagnose (wall and CPU time) and, separately, rc_debug_blocked, and
 * checks what it found.  --quick uses N = 10^5; --check exits 1 if any
 * diagnosis takes 2 s or more, or finds the wrong thing; --case a..d runs
 * one case.
 *
 *   bench_diagnose [--quick] [--check] [-n N] [--case X]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runcue.h"

static double wall_seconds(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

/* This process's CPU time: on a shared machine, the figure other load does
 * not inflate (the work is single-threaded). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Nothing is ever valid: every declared need is unmet. */
static int nothing_ready(rc_cue *cue, const rc_work *w, rc_check *check, void *ud)
{
    (void)cue, (void)ud;
    const char *const *needs;
    size_t n = rc_work_needs(w, &needs);
    for (size_t i = 0; i < n; i++)
        rc_check_wait_on(check, needs[i]);
    return n == 0;
}

static void fail_at_once(rc_cue *cue, const rc_work *w, rc_token token, void *ud)
{
    (void)w, (void)ud;
    rc_fail(cue, token, "failed on purpose");
}

typedef struct bench {
    rc_loop *loop;
    rc_cue *cue;
} bench;

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_diagnose: %s: %s\n", what, rc_strerror(rc));
    exit(1);
}

static void open_bench(bench *b)
{
    int rc = rc_loop_new(&b->loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL});
    if (!rc) rc = rc_cue_new(&b->cue, b->loop, NULL);
    if (!rc) rc = rc_task(b->cue, "work", NULL, fail_at_once, NULL);
    if (rc) die("setup", rc);
    rc_cue_set_hooks(b->cue, &(rc_hooks){.is_ready = nothing_ready});
}

static void close_bench(bench *b)
{
    rc_cue_free(b->cue);
    rc_loop_free(b->loop);
}

static void submit(bench *b, const char *need, const char *produce)
{
    const char *needs[] = {need}, *produces[] = {produce};
    rc_submit_opts o = {.needs = needs,
                        .n_needs = need ? 1 : 0,
                        .produces = produces,
                        .n_produces = produce ? 1 : 0};
    int rc = rc_submit(b->cue, "work", &o, NULL);
    if (rc) die("submit", rc);
}

static void key(char *buf, size_t n, const char *prefix, size_t i)
{
    snprintf(buf, n, "%s/%zu", prefix, i);
}

/* ---- the cases ---- */

static void build_chain(bench *b, size_t n)
{
    char need[48], produce[48];
    for (size_t i = n; i-- > 0;) {
        if (i)
            key(need, sizeof need, "chain", i - 1);
        else
            snprintf(need, sizeof need, "missing");
        key(produce, sizeof produce, "chain", i);
        submit(b, need, produce);
    }
}

static void build_keys(bench *b, size_t n)
{
    char need[48];
    for (size_t i = 0; i < n; i++) {
        key(need, sizeof need, "nobody", i);
        submit(b, need, NULL);
    }
}

static void build_roots(bench *b, size_t n)
{
    char k[48];
    for (size_t i = 0; i < n; i++) {
        key(k, sizeof k, "out", i);
        submit(b, NULL, k);
    }
    rc_loop_run(b->loop, RC_RUN_DEFAULT); /* every producer fails */
    for (size_t i = 0; i < n; i++) {
        key(k, sizeof k, "out", n - 1 - i);
        submit(b, k, NULL);
    }
}

static void build_cycle(bench *b, size_t n)
{
    char need[48], produce[48];
    for (size_t i = 0; i < n; i++) {
        key(need, sizeof need, "ring", (i + 1) % n);
        key(produce, sizeof produce, "ring", i);
        submit(b, need, produce);
    }
}

/* What each case must find. */
static bool found_chain(const rc_diagnosis *d, size_t n)
{
    return d->n_missing == 1 && d->missing_info[0].blocks == n && d->n_cycles == 0 &&
           d->n_edges == n;
}

static bool found_keys(const rc_diagnosis *d, size_t n)
{
    return d->n_missing == n && d->n_cycles == 0 && d->missing_info[n - 1].n_waiters == 1;
}

static bool found_roots(const rc_diagnosis *d, size_t n)
{
    if (d->n_failed_roots != n || d->n_roots != n) return false;
    for (size_t i = 1; i < n; i++)
        if (d->failed_roots[i - 1] >= d->failed_roots[i] || d->roots[i].blocks != 1) return false;
    return true;
}

static bool found_cycle(const rc_diagnosis *d, size_t n)
{
    return d->n_cycles == 1 && d->cycle_len[0] == n && d->cycle_ring[0] && d->n_missing == 0;
}

typedef struct bench_case {
    const char *name;
    void (*build)(bench *b, size_t n);
    bool (*found)(const rc_diagnosis *d, size_t n);
} bench_case;

int main(int argc, char **argv)
{
    size_t n = 1000000;
    bool check = false;
    int only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            n = 100000;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc && argv[i + 1][0] >= 'a' &&
                 argv[i + 1][0] <= 'd' && !argv[i + 1][1])
            only = argv[++i][0];
        else {
            fprintf(stderr, "usage: bench_diagnose [--quick] [--check] [-n N] [--case a|b|c|d]\n");
            return 2;
        }
    }
    if (n < 2 || n > 100000000) {
        fprintf(stderr, "bench_diagnose: -n must be from 2 to 10^8\n");
        return 2;
    }
    static const bench_case cases[] = {
        {"chain behind one missing key, tail first", build_chain, found_chain},
        {"each item needing its own missing key", build_keys, found_keys},
        {"failed roots found in reverse order", build_roots, found_roots},
        {"one cycle through every item", build_cycle, found_cycle},
    };
    int status = 0;
    printf("rc_diagnose on stalled cues of N = %zu waiting items (virtual clock)\n", n);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        if (only && only != (int)('a' + c)) continue;
        bench b;
        open_bench(&b);
        double t0 = wall_seconds();
        cases[c].build(&b, n);
        rc_loop_run(b.loop, RC_RUN_DEFAULT);
        double built = wall_seconds() - t0;
        rc_diagnosis d;
        t0 = wall_seconds();
        double c0 = cpu_seconds();
        int rc = rc_diagnose(b.cue, &d);
        double took = wall_seconds() - t0, cpu = cpu_seconds() - c0;
        if (rc) die("rc_diagnose", rc);
        rc_blocked *list;
        size_t nb;
        t0 = wall_seconds();
        rc = rc_debug_blocked(b.cue, &list, &nb);
        double blocked = wall_seconds() - t0;
        if (rc) die("rc_debug_blocked", rc);
        bool ok = cases[c].found(&d, n) && nb == n;
        printf("  %c. %-42s diagnose %6.3f s (cpu %.3f s)  debug_blocked %6.3f s  (built in "
               "%.2f s)%s\n",
               (int)('a' + c), cases[c].name, took, cpu, blocked, built,
               ok ? "" : "  !! wrong findings");
        if (!ok || (check && took >= 2.0)) status = 1;
        rc_blocked_free(b.cue, list);
        rc_diagnosis_free(b.cue, &d);
        close_bench(&b);
    }
    return check ? status : 0;
}
