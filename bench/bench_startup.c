/*
 * bench_startup.c -- what a run costs before its first event: `runcue-sim
 * -n 1 -l 0` against /bin/true, both spawned (posix_spawn, stdout and stderr
 * to /dev/null) and waited for, interleaved, medians shown.  The goal: within
 * 2 ms of /bin/true, which a program linking ncurses and SDL2 at start-up
 * misses (the views load only when asked for, viz/live_load.c).
 *
 *   ./build/bench/bench_startup [--runs N]
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spawn argv with stdout and stderr to /dev/null; the wall time until it
 * exited, or -1 if it could not run or failed. */
static double spawn_time(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now_s();
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return -1;
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) return -1;
    return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    enum { MAX_RUNS = 1001 };
    static double t_true[MAX_RUNS], t_sim[MAX_RUNS];
    int runs = 51;
    if (argc == 3 && strcmp(argv[1], "--runs") == 0)
        runs = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: bench_startup [--runs N]\n");
        return 2;
    }
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "bench_startup: --runs: 1..%d\n", MAX_RUNS);
        return 2;
    }
    char *true_argv[] = {"/bin/true", NULL};
    char *sim_argv[] = {RUNCUE_SIM, "-n", "1", "-l", "0", "--no-tui", "--seed", "1", NULL};
    for (int i = 0; i < runs; i++) {
        t_true[i] = spawn_time(true_argv);
        t_sim[i] = spawn_time(sim_argv);
        if (t_true[i] < 0 || t_sim[i] < 0) {
            fprintf(stderr, "bench_startup: a run failed\n");
            return 1;
        }
    }
    qsort(t_true, (size_t)runs, sizeof *t_true, cmp_double);
    qsort(t_sim, (size_t)runs, sizeof *t_sim, cmp_double);
    double mt = t_true[runs / 2], ms = t_sim[runs / 2];
    printf("start-up, medians of %d interleaved runs:\n", runs);
    printf("  /bin/true              %7.2f ms\n", mt * 1e3);
    printf("  runcue-sim -n 1 -l 0   %7.2f ms   (+%.2f ms; goal: within 2 ms)  %s\n", ms * 1e3,
           (ms - mt) * 1e3, ms - mt <= 0.002 ? "ok" : "MISSED");
    return 0;
}
