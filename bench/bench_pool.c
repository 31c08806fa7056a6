/*
 * bench_pool.c -- round trips per second through the thread pool.
 *
 * Each of N work units runs a no-op blocking function on a pool thread; one
 * round trip is: the loop dispatches the work, the handler copies its params
 * and queues the job, a thread picks it up, calls the function, posts the
 * completion, and the loop processes it (on_complete, the next dispatch).
 * Everything is real: a loop on CLOCK_MONOTONIC, real threads, real wakeups.
 *
 * Three windows of work in flight, set with a service's concurrency limit:
 *   threads  one unit per thread: every start waits for a finish, so this is
 *            the latency of a round trip (two thread wakeups per unit)
 *   256      a pipeline: threads rarely sleep, the loop batches completions
 *   all      no limit: the first dispatch pass queues all N at once
 *
 * "cpu" is user + system time of the whole process (loop and threads) per
 * unit.  Run: ./build/bench/bench_pool [--quick]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "runcue_transport.h"

static double wall_seconds(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void must(int rc, const char *what, const rc_cue *cue)
{
    if (rc >= 0) return;
    fprintf(stderr, "bench_pool: %s: %s%s%s\n", what, rc_strerror(rc), cue ? ": " : "",
            cue ? rc_cue_errmsg(cue) : "");
    exit(1);
}

static rc_job_status noop(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)job, (void)result, (void)err, (void)errlen, (void)ud;
    return RC_JOB_OK;
}

typedef struct figures {
    double submit_s; /* submitting N units */
    double run_s;    /* from the first dispatch until the last completion */
    double cpu_s;    /* process CPU time over run_s */
} figures;

/* window: the service's concurrency limit, or RC_NO_LIMIT. */
static figures run_once(unsigned threads, int window, size_t n)
{
    rc_loop *loop;
    rc_cue *cue;
    rc_pool *pool;
    must(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), "rc_loop_new", NULL);
    /* Keep a bounded history: the figure is the pool's, not a growing table's. */
    must(rc_cue_new(&cue, loop, &(rc_cue_opts){.retain_finished = 1024}), "rc_cue_new", NULL);
    must(rc_service(cue, "svc", NULL, window), "rc_service", cue);
    must(rc_pool_new(&pool, cue, threads), "rc_pool_new", NULL);
    must(rc_pool_task(pool, "noop", "svc", noop, NULL), "rc_pool_task", cue);

    figures f;
    double t0 = wall_seconds();
    for (size_t i = 0; i < n; i++)
        must(rc_submit(cue, "noop", NULL, NULL), "rc_submit", cue);
    f.submit_s = wall_seconds() - t0;

    const double cpu0 = cpu_seconds();
    t0 = wall_seconds();
    must(rc_loop_run(loop, RC_RUN_DEFAULT), "rc_loop_run", cue);
    f.run_s = wall_seconds() - t0;
    f.cpu_s = cpu_seconds() - cpu0;

    rc_stats s;
    rc_cue_stats(cue, &s);
    if (s.completed != n || s.failed != 0 || s.stale_finishes != 0) {
        fprintf(stderr,
                "bench_pool: %zu units: completed %" PRIu64 ", failed %" PRIu64 ", stale %" PRIu64
                "\n",
                n, s.completed, s.failed, s.stale_finishes);
        exit(1);
    }
    must(rc_pool_shutdown(pool, 1.0, NULL), "rc_pool_shutdown", cue);
    rc_pool_free(pool);
    rc_cue_free(cue);
    rc_loop_free(loop);
    return f;
}

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const size_t n = quick ? 20000 : 200000;
    const unsigned thread_counts[] = {1, 2, 4};

    printf("bench_pool: %zu no-op units per run, monotonic clock\n\n", n);
    printf("%-8s %-9s %12s %10s %12s %10s\n", "threads", "in flight", "round trips/s", "us/unit",
           "cpu us/unit", "submit s");
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        const unsigned threads = thread_counts[t];
        const int windows[] = {(int)threads, 256, RC_NO_LIMIT};
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            const figures f = run_once(threads, windows[w], n);
            char label[16];
            if (windows[w] == RC_NO_LIMIT)
                snprintf(label, sizeof label, "all");
            else if (w == 0)
                snprintf(label, sizeof label, "%d (=thr)", windows[w]);
            else
                snprintf(label, sizeof label, "%d", windows[w]);
            printf("%-8u %-9s %12.0f %10.2f %12.2f %10.3f\n", threads, label, (double)n / f.run_s,
                   f.run_s / (double)n * 1e6, f.cpu_s / (double)n * 1e6, f.submit_s);
            fflush(stdout);
        }
    }
    return 0;
}
