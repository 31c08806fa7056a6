/*
 * bench_sim.c -- wall-clock figures for the simulator engine (libsim + the
 * built-in scenarios), without the runcue-sim command line and without an
 * event log.
 *
 *   fanout        -n 1000                 target <  50 ms
 *   fanout        -n 100000               target <   3 s
 *   dynamic       -n 1000                 target < 100 ms
 *   single_queue  -n 1000000 -l 100       target <   3 s, peak RSS < 1 GiB
 *
 * Each case is run a few times (sim_new, build, sim_run, sim_free, timed
 * together with CLOCK_MONOTONIC); the table shows the best and the median.
 * Each case runs in a child process of its own, so "peak RSS" (VmHWM over
 * the case's runs) is that case's alone.
 *
 *   ./build/bench/bench_sim [--quick] [--reps N] [--check]
 *
 * --quick  one run per case and the large cases at a tenth of their size
 * --reps   runs per case (default 5; 3 for the large ones)
 * --check  exit 1 if a figure misses its target (default: report only)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scenarios.h"
#include "sim.h"

static double wall_seconds(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static size_t peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb) return kb;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss;
}

typedef struct bench_case {
    const char *scenario;
    uint64_t count;
    double latency_ms; /* 0: the default */
    double target_s;
    size_t rss_limit_kb; /* 0: none */
    bool large;
} bench_case;

typedef struct run_result {
    double seconds;
    int outcome;
    uint64_t submitted, completed, violations;
} run_result;

static int run_once(const bench_case *bc, uint64_t count, run_result *out)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.count = count;
    if (bc->latency_ms > 0) cfg.latency_ms = bc->latency_ms;
    cfg.seed = 42;
    const scenario *sc = scenario_find(bc->scenario);
    if (!sc) {
        fprintf(stderr, "bench_sim: no scenario '%s'\n", bc->scenario);
        return -1;
    }
    double t0 = wall_seconds();
    sim *s;
    int rc = sim_new(&s, &cfg);
    if (rc) {
        fprintf(stderr, "bench_sim: sim_new: %s\n", rc_strerror(rc));
        return -1;
    }
    rc = sc->build(s);
    if (rc) {
        fprintf(stderr, "bench_sim: %s: %s\n", bc->scenario, sim_errmsg(s));
        sim_free(s);
        return -1;
    }
    int outcome = sim_run(s);
    const sim_summary *sm = sim_get_summary(s);
    out->outcome = outcome;
    out->submitted = sm->submitted;
    out->completed = sm->completed;
    out->violations = sm->violations;
    sim_free(s);
    out->seconds = wall_seconds() - t0;
    if (outcome < 0) {
        fprintf(stderr, "bench_sim: %s: run failed: %s\n", bc->scenario, rc_strerror(outcome));
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (s < 1)
        snprintf(buf, n, "%.1f ms", s * 1e3);
    else
        snprintf(buf, n, "%.3f s", s);
}

/* One case, in its own process: its runs and its row.  0: on target, 1:
 * missed, 2: a run failed. */
static int run_case(const bench_case *bc, bool quick, int reps)
{
    enum { MAX_REPS = 1000 };
    static double times[MAX_REPS];
    uint64_t count = quick && bc->large ? bc->count / 10 : bc->count;
    int n = reps ? reps : quick ? 1 : bc->large ? 3 : 5;
    run_result r = {0};
    for (int i = 0; i < n; i++) {
        if (run_once(bc, count, &r)) return 2;
        times[i] = r.seconds;
    }
    size_t rss = peak_rss_kb();
    qsort(times, (size_t)n, sizeof *times, cmp_double);
    double best = times[0];
    double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    bool ok = median < bc->target_s && (!bc->rss_limit_kb || rss < bc->rss_limit_kb) &&
              r.outcome == SIM_DONE && r.violations == 0;
    if (quick && bc->large) ok = true; /* a tenth of the size: no verdict */
    char b[32], m[32], t[32], tt[24], lat[16];
    fmt_time(b, sizeof b, best);
    fmt_time(m, sizeof m, median);
    fmt_time(tt, sizeof tt, bc->target_s);
    snprintf(t, sizeof t, "< %s", tt);
    snprintf(lat, sizeof lat, "%g", bc->latency_ms > 0 ? bc->latency_ms : 100.0);
    printf("%-13s %9" PRIu64 " %6s %5d %11s %11s %11s %6.1f MiB %10" PRIu64 "  %s\n",
           bc->scenario, count, lat, n, b, m, t, (double)rss / 1024.0, r.completed,
           quick && bc->large ? "(quick: no verdict)"
           : ok               ? "ok"
                              : "MISSED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    bool quick = false, check = false;
    int reps = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_sim [--quick] [--reps N] [--check]\n");
            return 2;
        }
    }
    if (reps < 0 || reps > 1000) {
        fprintf(stderr, "bench_sim: --reps: 1..1000\n");
        return 2;
    }

    static const bench_case cases[] = {
        {"fanout", 1000, 0, 0.050, 0, false},
        {"fanout", 100000, 0, 3.0, 0, true},
        {"dynamic", 1000, 0, 0.100, 0, false},
        {"single_queue", 1000000, 100, 3.0, 1024u * 1024u, true},
    };
    enum { N_CASES = sizeof cases / sizeof *cases };

    printf("%-13s %9s %6s %5s %11s %11s %11s %10s %10s  verdict\n", "scenario", "-n", "-l",
           "runs", "best", "median", "target", "peak RSS", "completed");
    printf("---------------------------------------------------------------------------------"
           "-------------------\n");
    bool all_ok = true;
    for (size_t c = 0; c < N_CASES; c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("bench_sim: fork");
            return 1;
        }
        if (pid == 0) {
            int rc = run_case(&cases[c], quick, reps);
            fflush(stdout);
            _exit(rc);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
            fprintf(stderr, "bench_sim: %s -n %" PRIu64 " did not finish\n", cases[c].scenario,
                    cases[c].count);
            return 1;
        }
        if (WEXITSTATUS(status) == 1) all_ok = false;
    }
    if (!all_ok) printf("some figures missed their targets\n");
    return check && !all_ok ? 1 : 0;
}
