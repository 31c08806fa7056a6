/*
 * bench_shm.c -- what publishing the live segment costs runcue-sim.
 *
 * Each case runs the runcue-sim binary on a built-in scenario three ways,
 * interleaved so drift in the machine's speed hits all three alike:
 *
 *   plain          no segment
 *   --shm          publishing the live segment
 *   --shm+reader   publishing, with this process attached: a reader thread
 *                  takes a snapshot and drains the event ring every 10 ms,
 *                  as runcue-top does every 50 ms
 *
 * and reports the median wall time of each and the overhead against plain.
 * Target: published and watched under +10% at -n 1000000.
 *
 *   ./build/bench/bench_shm [--quick] [--reps N]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include "runcue_shm.h"

static double wall_seconds(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

typedef struct watcher {
    char name[64];
    atomic_bool stop;
    unsigned long snapshots, events, lost;
} watcher;

static void *watch_thread(void *arg)
{
    watcher *w = arg;
    rc_shm_reader *r;
    char err[200];
    if (rc_shm_attach(&r, w->name, 5, err, sizeof err)) {
        if (!atomic_load(&w->stop)) fprintf(stderr, "bench_shm: attach: %s\n", err);
        return NULL;
    }
    rc_shm_snapshot *snap = malloc(sizeof *snap);
    static rc_shm_event ev[1024];
    uint64_t cursor = 0, lost = 0;
    while (!atomic_load(&w->stop)) {
        rc_shm_read(r, snap);
        w->snapshots++;
        size_t n;
        while ((n = rc_shm_events(r, &cursor, ev, 1024, &lost)) > 0) w->events += n;
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
    }
    w->lost = (unsigned long)lost;
    free(snap);
    rc_shm_detach(r);
    return NULL;
}

enum mode { PLAIN, PUBLISHED, WATCHED };
static const char *mode_names[] = {"plain", "--shm", "--shm+reader"};

/* One run of runcue-sim, timed from fork to exit. */
static double run_once(const char *scen, uint64_t count, enum mode mode, watcher *w)
{
    char n[32];
    snprintf(n, sizeof n, "%llu", (unsigned long long)count);
    snprintf(w->name, sizeof w->name, "bench-%d", (int)getpid());
    char *argv[] = {(char *)RUNCUE_SIM, "--scenario", (char *)scen, "-n", n, "--seed", "1",
                    mode == PLAIN ? NULL : "--shm", w->name, NULL};
    fflush(stdout);
    double t0 = wall_seconds();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    pthread_t th;
    if (mode == WATCHED) {
        atomic_store(&w->stop, false);
        w->snapshots = w->events = w->lost = 0;
        pthread_create(&th, NULL, watch_thread, w);
    }
    int status;
    waitpid(pid, &status, 0);
    double t = wall_seconds() - t0;
    if (mode == WATCHED) {
        atomic_store(&w->stop, true);
        pthread_join(th, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_shm: runcue-sim %s -n %s failed (status %d)\n", scen, n, status);
        exit(1);
    }
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    bool quick = false;
    int reps = 9;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_shm [--quick] [--reps N]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 50) reps = 9;
    if (quick) reps = 1;
    const struct {
        const char *scenario;
        uint64_t count;
    } cases[] = {
        {"single_queue", quick ? 100000 : 1000000},
        {"pipeline", quick ? 10000 : 100000},
        {"fanout", quick ? 10000 : 100000},
    };
    watcher w = {0};
    printf("%-13s %9s  %-10s %9s %9s  %s\n", "scenario", "n", "mode", "median s", "best s",
           "vs plain");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double t[3][50];
        unsigned long snaps = 0, events = 0, lost = 0;
        for (int r = 0; r < reps; r++) {
            for (int m = 0; m < 3; m++) {
                t[m][r] = run_once(cases[c].scenario, cases[c].count, (enum mode)m, &w);
                if (m == WATCHED) {
                    snaps += w.snapshots;
                    events += w.events;
                    lost += w.lost;
                }
            }
        }
        double med[3];
        for (int m = 0; m < 3; m++) {
            qsort(t[m], (size_t)reps, sizeof t[m][0], cmp_double);
            med[m] = t[m][reps / 2];
            char vs[32] = "";
            if (m) snprintf(vs, sizeof vs, "%+.1f%%", (med[m] / med[0] - 1) * 100);
            printf("%-13s %9llu  %-10s %9.3f %9.3f  %s\n", cases[c].scenario,
                   (unsigned long long)cases[c].count, mode_names[m], med[m], t[m][0], vs);
        }
        printf("%-13s %9s  reader: %lu snapshots, %lu events read, %lu overwritten unread\n", "",
               "", snaps / (unsigned long)reps, events / (unsigned long)reps,
               lost / (unsigned long)reps);
    }
    return 0;
}
