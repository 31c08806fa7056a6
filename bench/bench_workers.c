/*
 * bench_workers.c -- round trips through subprocess workers (the runqy
 * protocol over pipes) on the monotonic clock.
 *
 *   a. one long-lived C worker, one work at a time (service concurrent 1)
 *   b. four long-lived C workers, four at a time (service concurrent 4)
 *   c. one-shot: a process per work, four at a time (start-up cost)
 *
 * Each work is a no-op: the worker answers {"result": null} at once, so the
 * figures are the transport's own cost -- JSON both ways, two pipe hops, the
 * loop's wake-up, the dispatch pass -- per round trip.  The pools are started
 * and ready before the clock starts.
 *
 * Run: ./build/bench/bench_workers [--quick] [--worker PATH]
 * The worker defaults to the tests' worker_c (its path is built in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runcue.h"
#include "runcue_transport.h"

#ifndef BENCH_WORKER_C
#define BENCH_WORKER_C "worker_c"
#endif

typedef struct run_spec {
    const char *label;
    rc_worker_mode mode;
    unsigned processes;
    int concurrent;
    size_t n;
} run_spec;

typedef struct run_result {
    double seconds;
    uint64_t completed, failed, spawned;
    size_t peak_running;
} run_result;

static double mono_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void die(const char *what, int rc, rc_cue *cue)
{
    fprintf(stderr, "bench_workers: %s: %s%s%s\n", what, rc_strerror(rc), cue ? ": " : "",
            cue ? rc_cue_errmsg(cue) : "");
    exit(1);
}

static void quiet_log(rc_workers *w, int pid, const char *line, void *ud)
{
    (void)w, (void)ud;
    fprintf(stderr, "  worker %d: %s\n", pid, line);
}

static run_result run_one(const run_spec *spec, const char *worker)
{
    rc_loop *loop;
    rc_cue *cue;
    rc_workers *w;
    int rc;
    if ((rc = rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC})))
        die("rc_loop_new", rc, NULL);
    if ((rc = rc_cue_new(&cue, loop, &(rc_cue_opts){.retain_finished = 1000})))
        die("rc_cue_new", rc, NULL);
    if ((rc = rc_service(cue, "svc", NULL, spec->concurrent))) die("rc_service", rc, cue);
    const char *argv[] = {worker, NULL};
    rc_workers_opts opts = {.argv = argv,
                            .name = "worker_c",
                            .mode = spec->mode,
                            .processes = spec->processes,
                            .on_stderr = quiet_log};
    if ((rc = rc_workers_new(&w, cue, "noop", "svc", &opts))) die("rc_workers_new", rc, cue);
    /* Let a pool get ready before the clock starts. */
    if (rc_loop_run(loop, RC_RUN_DEFAULT) < 0) die("rc_loop_run", RC_ESYS, NULL);

    double t0 = mono_s();
    for (size_t i = 0; i < spec->n; i++) {
        cJSON *params = cJSON_CreateObject();
        cJSON_AddStringToObject(params, "mode", "noop");
        if ((rc = rc_submit(cue, "noop", &(rc_submit_opts){.params = params}, NULL)))
            die("rc_submit", rc, cue);
    }
    if (rc_loop_run(loop, RC_RUN_DEFAULT) < 0) die("rc_loop_run", RC_ESYS, NULL);
    run_result r = {.seconds = mono_s() - t0};

    rc_stats cs;
    rc_cue_stats(cue, &cs);
    rc_workers_stats ws;
    rc_workers_stats_get(w, &ws);
    rc_service_info si;
    rc_service_get(cue, 0, &si);
    r.completed = cs.completed;
    r.failed = cs.failed;
    r.spawned = ws.spawned;
    r.peak_running = si.peak_running;
    rc_workers_shutdown(w, 1.0, NULL);
    rc_workers_free(w);
    rc_cue_free(cue);
    rc_loop_free(loop);
    return r;
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *worker = BENCH_WORKER_C;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc) {
            worker = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_workers [--quick] [--worker PATH]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    const size_t scale = quick ? 10 : 1;
    const run_spec specs[] = {
        {"a. pool, 1 worker, 1 at a time", RC_WORKERS_POOL, 1, 1, 20000 / scale},
        {"b. pool, 4 workers, 4 at a time", RC_WORKERS_POOL, 4, 4, 20000 / scale},
        {"c. one-shot, 4 at a time", RC_WORKERS_ONE_SHOT, 0, 4, 1000 / scale},
    };

    printf("Round trips through subprocess workers (%s), no-op tasks\n\n", worker);
    printf("  %-34s %8s %9s %12s %10s %8s %6s\n", "run", "tasks", "seconds", "round trips/s",
           "us/task", "spawned", "peak");
    int status = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        run_result r = run_one(&specs[i], worker);
        printf("  %-34s %8zu %8.3fs %12.0f %10.1f %8llu %6zu\n", specs[i].label, specs[i].n,
               r.seconds, (double)specs[i].n / r.seconds, r.seconds * 1e6 / (double)specs[i].n,
               (unsigned long long)r.spawned, r.peak_running);
        if (r.completed != specs[i].n) {
            printf("    !! completed %llu of %zu (failed %llu)\n", (unsigned long long)r.completed,
                   specs[i].n, (unsigned long long)r.failed);
            status = 1;
        }
        fflush(stdout);
    }
    printf("\n  peak: most work running at once (the service limit); us/task: wall time per "
           "task\n");
    return status;
}
