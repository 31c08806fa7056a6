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
 * Then the ratios (bench_limit.c is the bare single_queue loop): each
 * scenario at -l 0 against the bare loop, runs interleaved (loop, scenario,
 * loop, scenario ...), each in a fresh child process, medians shown: the
 * time, the time per item, the ratio to the bare loop, the cost per item as
 * a ratio to single_queue's, the bytes per item (peak RSS growth over the
 * items submitted; single_queue submits all at t=0, so these are bytes per
 * pending item), and the growth t(N)/t(N/100).  Next to each scenario runs
 * its own bare loop too (bench_floor.c: pipeline's, fanout's and dynamic's
 * graphs with nothing but their own work), so the table also says how far
 * each is over its own floor, and how much of its cost per item over
 * single_queue's its work alone asks for.
 *
 *   ./build/bench/bench_sim [--quick] [--reps N] [--check] [--ratios-only] [-n N]
 *
 * --quick  one run per case and the large cases at a tenth of their size
 * --reps   runs per case (default 5; 3 for the large ones); with
 *          --ratios-only, interleaved runs per scenario (default 3, at most 101)
 * --check  exit 1 if a figure misses its target (default: report only)
 * --ratios-only  only the ratios; -n their size (default 1000000)
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

#include "bench_limit.h"

#ifndef RC_BENCH_BUILD
#define RC_BENCH_BUILD "unknown"
#endif
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
    double latency_ms; /* 0: the default; negative: -l 0 (no latency) */
    double target_s;
    size_t rss_limit_kb; /* 0: none */
    bool large;
    double submit_rate; /* 0: all at t=0 */
    int concurrent;     /* 0: the default */
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
    if (bc->latency_ms > 0)
        cfg.latency_ms = bc->latency_ms;
    else if (bc->latency_ms < 0)
        cfg.latency_ms = 0; /* as the bare loop it is compared with */
    if (bc->submit_rate > 0) cfg.submit_rate = bc->submit_rate;
    if (bc->concurrent > 0) cfg.concurrent = bc->concurrent;
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

/* ---- ratios to the bare loop ---- */

typedef struct child_fig {
    double seconds;
    double user, sys; /* CPU seconds of the run in user mode and in the kernel */
    uint64_t items;
    double bytes; /* peak RSS growth */
} child_fig;

/* This process's CPU seconds so far, in user mode and in the kernel. */
static void cpu_seconds(double *user, double *sys)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) {
        *user = *sys = 0;
        return;
    }
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static size_t rss_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256], fmt[32];
    size_t kb = 0;
    snprintf(fmt, sizeof fmt, "%s: %%zu kB", field);
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, fmt, &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* One run in a fresh child: the case; or (bc NULL) the bare loop of
 * `floor` (bench_floor.c), or of single_queue when floor is NULL too. */
static int child_run_any(const bench_case *bc, const char *floor, uint64_t count, child_fig *out)
{
    int fd[2];
    if (pipe(fd)) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fd[0]);
        child_fig f = {0};
        size_t base = rss_kb("VmRSS");
        double user0, sys0;
        cpu_seconds(&user0, &sys0);
        if (bc) {
            run_result r;
            if (run_once(bc, count, &r) || r.outcome != SIM_DONE) _exit(1);
            f.seconds = r.seconds;
            f.items = r.submitted;
        } else {
            bench_limit_result r;
            double t0 = wall_seconds();
            if (floor ? bench_floor_run(floor, count, 0, 5, &r) : bench_limit_run(count, 0, 5, &r))
                _exit(1);
            f.seconds = wall_seconds() - t0;
            f.items = r.completed;
        }
        f.bytes = ((double)rss_kb("VmHWM") - (double)base) * 1024.0;
        cpu_seconds(&f.user, &f.sys);
        f.user -= user0;
        f.sys -= sys0;
        _exit(write(fd[1], &f, sizeof f) == (ssize_t)sizeof f ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], out, sizeof *out);
    close(fd[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
        got != (ssize_t)sizeof *out)
        return -1;
    return 0;
}

static int child_run_case(const bench_case *bc, uint64_t count, child_fig *out)
{
    return child_run_any(bc, NULL, count, out);
}

/* One run of a scenario at -l 0, or the bare loop (name NULL). */
static int child_run(const char *name, uint64_t count, child_fig *out)
{
    bench_case bc = {name, count, -1, 0, 0, false, 0, 0};
    return child_run_case(name ? &bc : NULL, count, out);
}

/* One run of a scenario's own bare loop; single_queue's is the bare loop. */
static int child_run_floor(const char *name, uint64_t count, child_fig *out)
{
    return child_run_any(NULL, strcmp(name, "single_queue") == 0 ? NULL : name, count, out);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct ratio_fig {
    double t, t_limit, per_item, bytes;
    double user_per_item; /* the median user-mode CPU time of an item */
    double sys_share;     /* the median kernel share of the run's CPU time */
    double x_bare; /* the median of each run's time over its bare loop's */
    /* with_floor: the median of each run's time over its own scenario's
     * bare loop's (bench_floor.c), and of that loop's time per item over
     * the bare single_queue loop's; 0 without */
    double x_floor, floor_x_bare;
    double t_floor;       /* the median time of that bare loop */
    uint64_t floor_items; /* the work it ran */
    uint64_t items;
} ratio_fig;

/* Interleaved runs of the bare loop, the scenario's own bare loop (with
 * floor; single_queue's is the bare loop) and the scenario; the medians. */
static int measure(const char *name, uint64_t count, int reps, bool with_floor, ratio_fig *out)
{
    enum { MAX = 101 };
    double t[MAX], tl[MAX], b[MAX], x[MAX], u[MAX], k[MAX], xf[MAX], fb[MAX], tfs[MAX];
    child_fig f;
    if (reps < 1 || reps > MAX) return -1;
    out->x_floor = out->floor_x_bare = out->t_floor = 0;
    out->floor_items = 0;
    for (int i = 0; i < reps; i++) {
        if (child_run(NULL, count, &f)) return -1;
        tl[i] = f.seconds;
        const uint64_t bare_items = f.items;
        double tf = tl[i];
        uint64_t floor_items = bare_items;
        if (with_floor && strcmp(name, "single_queue") != 0) {
            if (child_run_floor(name, count, &f)) return -1;
            tf = f.seconds;
            floor_items = f.items;
        }
        if (child_run(name, count, &f)) return -1;
        t[i] = f.seconds;
        x[i] = t[i] / (tl[i] > 1e-9 ? tl[i] : 1e-9);
        b[i] = f.bytes / (double)(f.items ? f.items : 1);
        u[i] = f.user / (double)(f.items ? f.items : 1);
        k[i] = f.user + f.sys > 0 ? f.sys / (f.user + f.sys) : 0;
        tfs[i] = tf;
        out->floor_items = floor_items;
        xf[i] = t[i] / (tf > 1e-9 ? tf : 1e-9);
        fb[i] = (tf / (double)(floor_items ? floor_items : 1)) /
                (tl[i] > 1e-9 ? tl[i] / (double)(bare_items ? bare_items : 1) : 1e-9);
        out->items = f.items;
    }
    if (with_floor) {
        out->x_floor = median_of(xf, reps);
        out->floor_x_bare = median_of(fb, reps);
        out->t_floor = median_of(tfs, reps);
    }
    out->t = median_of(t, reps);
    out->t_limit = median_of(tl, reps);
    out->bytes = median_of(b, reps);
    out->x_bare = median_of(x, reps);
    out->user_per_item = median_of(u, reps);
    out->sys_share = median_of(k, reps);
    out->per_item = out->t / (double)(out->items ? out->items : 1);
    return 0;
}

/* x sq/item: each scenario's cost per item over single_queue's, both as
 * measured against the bare loop run next to them (so a machine that is
 * slower while one scenario runs than while the other does moves the bare
 * loop's time with it): (x bare / items) over single_queue's.
 * user x sq: the same for the CPU time in user mode alone, without the
 * kernel's (mostly clearing first-touched pages, whose cost on a virtual
 * machine depends on the host); kernel: the kernel's share of the CPU time.
 * x floor: the time over the scenario's own bare loop's (bench_floor.c; for
 * single_queue the bare loop itself), run next to it; floor x sq: that bare
 * loop's cost per item over the bare single_queue loop's -- the part of x
 * sq/item that is the scenario's own work, not the scheduler's. */
static int print_ratios(uint64_t n, bool quick, int reps)
{
    static const char *const names[] = {"single_queue", "pipeline", "fanout", "dynamic"};
    int small_reps = quick ? 3 : 15;
    if (!reps) reps = quick ? 1 : 3;
    uint64_t small = n / 100 ? n / 100 : 1;
    printf("\nratios, -l 0, -n %" PRIu64 ": medians of %d interleaved runs (bare loop: "
           "bench_limit.c); growth: t(%" PRIu64 ")/t(%" PRIu64 "), %d runs at the small size\n",
           n, reps, n, small, small_reps);
    printf("build: %s%s\n", RC_BENCH_BUILD,
           strcmp(RC_BENCH_BUILD, "release, lto") == 0
               ? ""
               : " (the README's figures are from -Dbuildtype=release -Db_lto=true)");
    printf("%-13s %9s %10s %9s %10s %11s %11s %8s %10s %7s %8s %10s\n", "scenario", "items",
           "time", "ns/item", "x bare", "x sq/item", "bytes/item", "growth", "user x sq", "kernel",
           "x floor", "floor x sq");
    printf("-----------------------------------------------------------------------------------"
           "-----------------------------------------\n");
    enum { N = sizeof names / sizeof *names };
    double sq_x_per_item = 0, sq_user = 0;
    ratio_fig bigs[N], littles[N];
    for (size_t i = 0; i < N; i++) {
        ratio_fig big, little;
        if (measure(names[i], n, reps, true, &big) ||
            measure(names[i], small, small_reps, true, &little)) {
            fprintf(stderr, "bench_sim: %s: a run failed\n", names[i]);
            return 1;
        }
        const double x_per_item = big.x_bare / (double)(big.items ? big.items : 1);
        if (i == 0) sq_x_per_item = x_per_item, sq_user = big.user_per_item;
        char tb[32];
        fmt_time(tb, sizeof tb, big.t);
        printf("%-13s %9" PRIu64 " %10s %9.0f %9.1fx %10.1fx %11.0f %8.0f %9.1fx %6.0f%% %7.1fx "
               "%9.1fx\n",
               names[i], big.items, tb, big.per_item * 1e9, big.x_bare,
               x_per_item / sq_x_per_item, big.bytes, big.t / little.t,
               sq_user > 0 ? big.user_per_item / sq_user : 0, big.sys_share * 100, big.x_floor,
               big.floor_x_bare);
        fflush(stdout);
        bigs[i] = big;
        littles[i] = little;
    }
    /* The floors alone: how far a scenario's own work, with nothing else,
     * is from single_queue's, and how it grows. */
    printf("\nthe bare loops (bench_limit.c, bench_floor.c), run beside the above: medians\n");
    printf("%-13s %9s %10s %9s %11s %8s\n", "scenario", "items", "time", "ns/item", "x sq/item",
           "growth");
    printf("----------------------------------------------------------------\n");
    for (size_t i = 0; i < N; i++) {
        char tb[32];
        fmt_time(tb, sizeof tb, bigs[i].t_floor);
        printf("%-13s %9" PRIu64 " %10s %9.0f %10.1fx %8.0f\n", names[i], bigs[i].floor_items, tb,
               bigs[i].t_floor / (double)(bigs[i].floor_items ? bigs[i].floor_items : 1) * 1e9,
               bigs[i].floor_x_bare,
               littles[i].t_floor > 0 ? bigs[i].t_floor / littles[i].t_floor : 0);
    }
    return 0;
}

/* Retention: work trickles in (a steady submit rate), so little is pending
 * at any time; peak memory then grows only with what is kept of finished
 * work -- the 16 bytes of times per item for exact percentiles, and per
 * artifact key its state and what the diagnosis names its producer by. */
static int print_retention(bool quick)
{
    /* count: n (10n is run too); a tenth of it with --quick */
    static const bench_case cases[] = {
        {"single_queue", 1000000, 1, 0, 0, false, 10000, 20},
        {"pipeline", 100000, 1, 0, 0, false, 1000, 20},
    };
    printf("\nretention: a steady submit rate, little pending; peak RSS at n and 10n items "
           "(-l 1 -c 20; -s 10000/s and 1000/s)\n");
    printf("%-13s %10s %12s %12s %22s\n", "scenario", "n", "peak (n)", "peak (10n)",
           "bytes per finished item");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const uint64_t n = quick ? cases[i].count / 10 : cases[i].count;
        child_fig a, b;
        if (child_run_case(&cases[i], n, &a) || child_run_case(&cases[i], 10 * n, &b)) {
            fprintf(stderr, "bench_sim: retention %s: a run failed\n", cases[i].scenario);
            return 1;
        }
        printf("%-13s %10" PRIu64 " %9.1f MiB %9.1f MiB %22.0f\n", cases[i].scenario, n,
               a.bytes / 1048576.0, b.bytes / 1048576.0,
               (b.bytes - a.bytes) / (double)(b.items - a.items));
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    bool quick = false, check = false, ratios_only = false, retention_only = false;
    int reps = 0;
    uint64_t ratio_n = 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--ratios-only") == 0)
            ratios_only = true;
        else if (strcmp(argv[i], "--retention") == 0)
            retention_only = true;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            ratio_n = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_sim [--quick] [--reps N] [--check] [--ratios-only] "
                            "[--retention] [-n N]\n");
            return 2;
        }
    }
    if (reps < 0 || reps > 1000 || (ratios_only && reps > 101)) {
        fprintf(stderr, "bench_sim: --reps: 1..1000 (1..101 with --ratios-only)\n");
        return 2;
    }
    if (ratio_n < 100 || ratio_n > 100000000) {
        fprintf(stderr, "bench_sim: -n: 100..1e8\n");
        return 2;
    }
    if (quick && ratio_n == 1000000) ratio_n = 100000;
    if (ratios_only) return print_ratios(ratio_n, quick, reps);
    if (retention_only) return print_retention(quick);

    static const bench_case cases[] = {
        {"fanout", 1000, 0, 0.050, 0, false, 0, 0},
        {"fanout", 100000, 0, 3.0, 0, true, 0, 0},
        {"dynamic", 1000, 0, 0.100, 0, false, 0, 0},
        {"single_queue", 1000000, 100, 3.0, 1024u * 1024u, true, 0, 0},
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
    if (print_ratios(ratio_n, quick, 0) || print_retention(quick)) return 1;
    return check && !all_ok ? 1 : 0;
}
