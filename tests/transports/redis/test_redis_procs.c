/*
 * test_redis_procs.c -- the Redis transport with real processes: scheduler
 * processes (sched_proc) and runcue-agent processes running worker_c, all
 * against a private redis-server.  What ran is read from the workers' own
 * log (worker_c --log: start and end on CLOCK_MONOTONIC, shared by every
 * process on the machine), so the limits are checked where the work runs.
 *
 * Each test: limits across 2 schedulers and 4 agents; kill -9 of an agent
 * mid-task; SIGSTOP past the lease, then SIGCONT; redis-server killed and
 * restarted on its AOF; a scheduler killed and started again; a wrong
 * password, another library version, the library deleted mid-run, garbage
 * in a job, connections killed mid-run; runcue-agent's usage errors.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_server.h"
#include "runcue.h"
#include "runcue_redis.h"

extern char **environ;

static redis_server srv;
static char wlog[400]; /* the workers' shared log */
static char donedir[400];

#define MAX_LOG 4096
#define MAX_PROCS 16

static pid_t procs[MAX_PROCS];
static int n_procs;

static void setup(void)
{
    if (!redis_server_available()) cr_skip_test("redis-server is not installed: skipped");
    cr_assert(redis_server_start(&srv, true, NULL), "redis-server did not start");
    snprintf(wlog, sizeof wlog, "%s/work.log", srv.dir);
    snprintf(donedir, sizeof donedir, "%s/done", srv.dir);
    cr_assert_eq(mkdir(donedir, 0700), 0);
    n_procs = 0;
}

static void teardown(void)
{
    for (int i = 0; i < n_procs; i++) {
        if (procs[i] <= 0) continue;
        kill(procs[i], SIGCONT);
        kill(procs[i], SIGKILL);
        waitpid(procs[i], NULL, 0);
    }
    redis_server_stop(&srv);
}

TestSuite(redis_procs, .init = setup, .fini = teardown, .timeout = 90);

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start argv with stdout to `out` and stderr to `err` (NULL: to `out` too);
 * the pid is killed at teardown. */
static pid_t spawn_to(const char *out, const char *err, char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err)
        posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    else
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot start %s: %s", argv[0], strerror(rc));
    int slot = 0; /* a slot of one waited for, or a new one */
    while (slot < n_procs && procs[slot])
        slot++;
    cr_assert(slot < MAX_PROCS);
    procs[slot] = pid;
    if (slot == n_procs) n_procs++;
    return pid;
}

/* Start argv with stdout and stderr to `out`. */
static pid_t spawn(const char *out, char *const argv[])
{
    return spawn_to(out, NULL, argv);
}

/* Wait for pid to exit (timeout_s); its exit status, or -1 on a timeout. */
static int wait_exit(pid_t pid, double timeout_s)
{
    double until = mono_ms() + timeout_s * 1e3;
    while (mono_ms() < until) {
        int st;
        pid_t p = waitpid(pid, &st, WNOHANG);
        if (p == pid) {
            for (int i = 0; i < n_procs; i++)
                if (procs[i] == pid) procs[i] = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        nap_ms(10);
    }
    return -1;
}

static void agent_out(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/agent-%s.out", srv.dir, name);
}

/* runcue-agent NAME on service api, task job, with worker_c --log. */
static pid_t start_agent(const char *name, const char *slots, const char *ns)
{
    char out[500], logarg[420];
    agent_out(out, sizeof out, name);
    snprintf(logarg, sizeof logarg, "--log=%s", wlog);
    char *argv[] = {getenv("RUNCUE_AGENT"),
                    "--url",
                    srv.url,
                    "--ns",
                    (char *)ns,
                    "--service",
                    "api",
                    "--task",
                    "job",
                    "--slots",
                    (char *)slots,
                    "--name",
                    (char *)name,
                    "--",
                    getenv("WORKER_C"),
                    logarg,
                    NULL};
    return spawn(out, argv);
}

static void sched_out(char *buf, size_t len, const char *owner)
{
    snprintf(buf, len, "%s/sched-%s.out", srv.dir, owner);
}

/* sched_proc OWNER with the service's limits and its range of work. */
static pid_t start_sched(const char *owner, const char *limits, int first, int count, int ms)
{
    char out[500], a_url[400], a_owner[80], a_dir[420], a_first[32], a_count[32], a_ms[32];
    sched_out(out, sizeof out, owner);
    snprintf(a_url, sizeof a_url, "url=%s", srv.url);
    snprintf(a_owner, sizeof a_owner, "owner=%s", owner);
    snprintf(a_dir, sizeof a_dir, "dir=%s", donedir);
    snprintf(a_first, sizeof a_first, "first=%d", first);
    snprintf(a_count, sizeof a_count, "count=%d", count);
    snprintf(a_ms, sizeof a_ms, "ms=%d", ms);
    /* limits: "rate=R conc=C lease=S maxd=K", split on spaces */
    static char lim[256];
    snprintf(lim, sizeof lim, "%s", limits);
    char *argv[32] = {getenv("SCHED_PROC"), a_url, "ns=t", a_owner, a_dir, a_first, a_count, a_ms};
    int argc = 8;
    for (char *save = NULL, *tok = strtok_r(lim, " ", &save); tok && argc < 30;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    return spawn(out, argv);
}

/* ---- reading what happened ---- */

typedef struct run {
    char kind; /* 's' start, 'e' end */
    double t;
    int i;
    long pid;
} run;

static int read_log(run *out, int max)
{
    FILE *f = fopen(wlog, "r");
    if (!f) return 0;
    int n = 0;
    while (n < max &&
           fscanf(f, " %c %lf %d %ld", &out[n].kind, &out[n].t, &out[n].i, &out[n].pid) == 4)
        n++;
    fclose(f);
    return n;
}

static int count_kind(const run *r, int n, char kind)
{
    int c = 0;
    for (int k = 0; k < n; k++)
        c += r[k].kind == kind;
    return c;
}

static int starts_of(int i)
{
    static run r[MAX_LOG];
    int n = read_log(r, MAX_LOG), c = 0;
    for (int k = 0; k < n; k++)
        c += r[k].kind == 's' && r[k].i == i;
    return c;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* Lines "done I" of a scheduler's output into seen[I] (counts). */
static int count_done(const char *owner, int *seen, int max_i)
{
    char path[500];
    sched_out(path, sizeof path, owner);
    char *text = slurp(path), *save = NULL;
    int n = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int i;
        if (sscanf(line, "done %d", &i) == 1 && i >= 0 && i < max_i) {
            seen[i]++;
            n++;
        }
    }
    free(text);
    return n;
}

static bool wait_log_starts(int n, double timeout_s)
{
    static run r[MAX_LOG];
    double until = mono_ms() + timeout_s * 1e3;
    while (mono_ms() < until) {
        if (count_kind(r, read_log(r, MAX_LOG), 's') >= n) return true;
        nap_ms(5);
    }
    return false;
}

static redisContext *rc_sync(void)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    return c;
}

static long long server_stat(const char *field)
{
    redisContext *c = rc_sync();
    redisReply *rep = redisCommand(c, "HGET rc:{t}:stats %s", field);
    long long v = rep && rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : 0;
    freeReplyObject(rep);
    redisFree(c);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- the tests ---- */

Test(redis_procs, limits_hold_across_two_schedulers_and_four_agents)
{
    /* 8 starts per 0.5 s, 3 at once, over 8 slots on 4 agents */
    const char *lim = "rate=8/0.5 conc=3 lease=5 maxd=3";
    pid_t s1 = start_sched("s1", lim, 0, 20, 30);
    pid_t s2 = start_sched("s2", lim, 100, 20, 30);
    start_agent("a1", "2", "t");
    start_agent("a2", "2", "t");
    start_agent("a3", "2", "t");
    start_agent("a4", "2", "t");
    cr_assert_eq(wait_exit(s1, 30), 0, "s1 did not finish");
    cr_assert_eq(wait_exit(s2, 30), 0, "s2 did not finish");
    static int seen[200];
    cr_assert_eq(count_done("s1", seen, 200), 20);
    cr_assert_eq(count_done("s2", seen, 200), 20);

    static run r[MAX_LOG];
    int n = read_log(r, MAX_LOG);
    double st[64];
    int ns = 0, peak = 0;
    long pids[64];
    int npids = 0;
    for (int k = 0; k < n; k++) {
        if (r[k].kind != 's') continue;
        cr_assert(ns < 64);
        st[ns++] = r[k].t;
        bool known = false;
        for (int p = 0; p < npids; p++)
            known |= pids[p] == r[k].pid;
        if (!known && npids < 64) pids[npids++] = r[k].pid;
    }
    cr_assert_eq(ns, 40, "each work ran once: %d starts", ns);
    cr_assert(npids >= 2, "the work spread over the agents' workers (%d)", npids);
    /* at most 3 running at once: sweep the workers' intervals */
    for (int k = 0; k < n; k++) {
        if (r[k].kind != 's') continue;
        int at = 0;
        for (int j = 0; j < n; j++) {
            if (r[j].kind != 's') continue;
            double end = 1e300;
            for (int e = 0; e < n; e++)
                if (r[e].kind == 'e' && r[e].i == r[j].i) end = r[e].t;
            if (r[j].t <= r[k].t && end > r[k].t) at++;
        }
        if (at > peak) peak = at;
    }
    cr_assert(peak <= 3, "%d running at once", peak);
    /* never 9 starts within 0.5 s.  The server admits on its own clock
     * (test_redis_lib checks that window exactly, from the server's start
     * times); from admission to the worker's first instruction is a claim
     * reply, a pipe and a scheduler pass, which takes a few milliseconds on
     * a quiet machine and far more on a loaded one or under sanitizers:
     * 150 ms of allowance still catches a limiter that lets twice the rate
     * through (9 starts in about 250 ms). */
    qsort(st, (size_t)ns, sizeof st[0], cmp_double);
    double worst = 1e9;
    for (int k = 0; k + 8 < ns; k++)
        if (st[k + 8] - st[k] < worst) worst = st[k + 8] - st[k];
    cr_assert(worst >= 350, "9 starts within %.1f ms", worst);
    cr_assert_eq(server_stat("claims"), 40);
    cr_assert_eq(server_stat("finishes"), 40);
}

Test(redis_procs, kill9_agent_work_redelivered_after_lease_and_applied_once)
{
    pid_t s = start_sched("s1", "conc=4 lease=1 maxd=3", 0, 4, 1500);
    pid_t a1 = start_agent("a1", "4", "t");
    cr_assert(wait_log_starts(4, 10), "the four works did not start");
    kill(a1, SIGKILL);
    double killed = mono_ms();
    wait_exit(a1, 5);
    start_agent("a2", "4", "t");
    cr_assert_eq(wait_exit(s, 20), 0, "the scheduler did not finish");
    static int seen[8];
    cr_assert_eq(count_done("s1", seen, 8), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(seen[i], 1, "work %d applied %d times", i, seen[i]);
        cr_assert_eq(starts_of(i), 2, "work %d: in flight at the kill, run again", i);
    }
    /* redelivered within lease + 0.5 s of the kill */
    static run r[MAX_LOG];
    int n = read_log(r, MAX_LOG);
    double latest = 0;
    for (int k = 0; k < n; k++)
        if (r[k].kind == 's' && r[k].t > killed && r[k].t - killed > latest)
            latest = r[k].t - killed;
    cr_assert(latest > 0 && latest <= 1500, "redelivered %.0f ms after the kill", latest);
    char path[500];
    sched_out(path, sizeof path, "s1");
    char *text = slurp(path);
    cr_assert(strstr(text, "redelivered=4"), "%s", text);
    free(text);
    cr_assert_eq(server_stat("redeliveries"), 4);
    cr_assert_eq(server_stat("finishes"), 4);
}

Test(redis_procs, sigstop_past_the_lease_late_result_refused_applied_once)
{
    /* lease 0.6 s: heartbeats every 0.2 s keep a 1.5 s work leased */
    pid_t s = start_sched("s1", "conc=2 lease=0.6 maxd=3", 0, 1, 1500);
    pid_t a1 = start_agent("a1", "1", "t");
    cr_assert(wait_log_starts(1, 10));
    kill(a1, SIGSTOP);
    start_agent("a2", "1", "t");
    cr_assert_eq(wait_exit(s, 20), 0, "the scheduler did not finish");
    kill(a1, SIGCONT);
    /* a1 wakes with its worker's answer and an overdue heartbeat: the
     * server refuses the finish (stale), or the heartbeat learns the lease
     * is lost first and the worker is killed.  Either way nothing of a1
     * counts.  SIGTERM: it exits once nothing runs and no finish is
     * unanswered. */
    kill(a1, SIGTERM);
    int st = wait_exit(a1, 10);
    cr_assert_eq(st, 0, "a1 exit status %d", st);
    char path[500];
    agent_out(path, sizeof path, "a1");
    char *text = slurp(path);
    unsigned long long claimed, finished, stale, lost;
    const char *line = strstr(text, "runcue-agent: claimed");
    cr_assert(line, "%s", text);
    cr_assert_eq(sscanf(line,
                        "runcue-agent: claimed %llu, finished %llu, refused as stale %llu, leases "
                        "lost %llu",
                        &claimed, &finished, &stale, &lost),
                 4);
    cr_assert_eq(claimed, 1);
    cr_assert_eq(finished, 0, "a1's late result was accepted");
    cr_assert_eq(stale + lost, 1, "%s", text);
    cr_assert_eq((long long)stale, server_stat("stale"));
    free(text);
    static int seen[2];
    cr_assert_eq(count_done("s1", seen, 2), 1);
    cr_assert_eq(server_stat("finishes"), 1);
    cr_assert_eq(server_stat("redeliveries"), 1, "a2's heartbeats kept its lease");
}

Test(redis_procs, sigterm_drains_an_agent_that_publishes_a_segment_too)
{
    /* With --shm as without: SIGTERM stops the claims, the two running
     * works finish and are accepted, the agent exits 0 and its segment's
     * name is gone (nothing is left to a lease and run again). */
    pid_t s = start_sched("s1", "conc=2 lease=2 maxd=3", 0, 2, 800);
    char out[500], logarg[420], seg[64], path[128];
    agent_out(out, sizeof out, "a1");
    snprintf(logarg, sizeof logarg, "--log=%s", wlog);
    snprintf(seg, sizeof seg, "rcagent-%d", (int)getpid());
    char *argv[] = {getenv("RUNCUE_AGENT"),
                    "--url",
                    srv.url,
                    "--ns",
                    "t",
                    "--service",
                    "api",
                    "--task",
                    "job",
                    "--slots",
                    "2",
                    "--name",
                    "a1",
                    "--shm",
                    seg,
                    "--",
                    getenv("WORKER_C"),
                    logarg,
                    NULL};
    pid_t a1 = spawn(out, argv);
    cr_assert(wait_log_starts(2, 10), "the two works did not start");
    snprintf(path, sizeof path, "/dev/shm/runcue.%s", seg);
    cr_assert_eq(access(path, F_OK), 0, "no segment %s", path);
    kill(a1, SIGTERM);
    int st = wait_exit(a1, 10);
    char *text = slurp(out);
    cr_assert_eq(st, 0, "exit status %d: %s", st, text);
    cr_assert(strstr(text, "runcue-agent: claimed 2, finished 2,"), "%s", text);
    free(text);
    cr_assert_neq(access(path, F_OK), 0, "the segment %s is left", path);
    cr_assert_eq(wait_exit(s, 20), 0, "the scheduler did not finish");
    cr_assert_eq(server_stat("redeliveries"), 0);
    cr_assert_eq(server_stat("finishes"), 2);
}

Test(redis_procs, a_second_sigterm_cuts_the_drain_short_and_the_leases_redeliver)
{
    /* Two 3 s works running on a1; SIGTERM drains, a second SIGTERM leaves
     * at once (exit 1, saying what it left); a2 gets both after the lease. */
    pid_t s = start_sched("s1", "conc=2 lease=1 maxd=3", 0, 2, 3000);
    pid_t a1 = start_agent("a1", "2", "t");
    cr_assert(wait_log_starts(2, 10), "the two works did not start");
    kill(a1, SIGTERM);
    nap_ms(300);
    cr_assert_eq(waitpid(a1, NULL, WNOHANG), 0, "a1 left before its works finished");
    kill(a1, SIGTERM);
    double asked = mono_ms();
    int st = wait_exit(a1, 10);
    char out[500];
    agent_out(out, sizeof out, "a1");
    char *text = slurp(out);
    cr_assert_eq(st, 1, "exit status %d: %s", st, text);
    cr_assert(mono_ms() - asked < 2900, "a1 waited for its works");
    cr_assert(strstr(text, "a second signal cut the drain short: 2 running"), "%s", text);
    free(text);
    start_agent("a2", "2", "t");
    cr_assert_eq(wait_exit(s, 30), 0, "the scheduler did not finish");
    cr_assert_eq(server_stat("redeliveries"), 2);
}

Test(redis_procs, redis_restarted_on_its_aof_loses_nothing)
{
    pid_t s = start_sched("s1", "conc=4 lease=3 maxd=3", 0, 30, 40);
    start_agent("a1", "2", "t");
    start_agent("a2", "2", "t");
    cr_assert(wait_log_starts(8, 15));
    int before = count_done("s1", (int[30]){0}, 30);
    cr_assert(redis_server_restart(&srv), "redis-server did not come back");
    cr_assert(before < 30, "restarted mid-run (%d done)", before);
    int st = wait_exit(s, 40);
    char path[500];
    sched_out(path, sizeof path, "s1");
    char *text = slurp(path);
    cr_assert_eq(st, 0, "the scheduler did not finish: %d\n%s", st, text);
    free(text);
    static int seen[30];
    cr_assert_eq(count_done("s1", seen, 30), 30);
    static run r[MAX_LOG];
    int n = read_log(r, MAX_LOG);
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(seen[i], 1, "work %d applied %d times", i, seen[i]);
        cr_assert(starts_of(i) >= 1);
    }
    /* only work in flight at the restart may have run twice */
    cr_assert(count_kind(r, n, 's') <= 30 + 4, "%d starts", count_kind(r, n, 's'));

    cr_assert_eq(server_stat("finishes"), 30);
}

Test(redis_procs, scheduler_restarted_reattaches_or_skips)
{
    const char *lim = "conc=2 lease=3 maxd=3";
    pid_t s = start_sched("s1", lim, 0, 10, 250);
    start_agent("a1", "2", "t");
    static int seen[10];
    double until = mono_ms() + 15000;
    while (count_done("s1", (int[10]){0}, 10) < 3 && mono_ms() < until)
        nap_ms(5);
    kill(s, SIGKILL);
    wait_exit(s, 5);
    int before = count_done("s1", seen, 10);
    cr_assert(before >= 3);
    /* the same scheduler again: same owner, same work, same artifacts */
    char path[500];
    sched_out(path, sizeof path, "s1");
    char old[520];
    snprintf(old, sizeof old, "%s.1", path);
    cr_assert_eq(rename(path, old), 0);
    s = start_sched("s1", lim, 0, 10, 250);
    cr_assert_eq(wait_exit(s, 30), 0, "the restarted scheduler did not finish");
    char *text = slurp(path);
    int skipped = 0;
    for (const char *p = text; (p = strstr(p, "skip ")); p++)
        skipped++;
    cr_assert(skipped >= before, "skipped %d of %d done", skipped, before);
    count_done("s1", seen, 10);
    for (int i = 0; i < 10; i++) {
        char f[500];
        snprintf(f, sizeof f, "%s/%d", donedir, i);
        cr_assert_eq(access(f, F_OK), 0, "work %d has no artifact", i);
        /* Applied once: logged done once, or (killed between writing its
         * artifact and logging it) skipped by the restarted scheduler. */
        char skip_line[32];
        snprintf(skip_line, sizeof skip_line, "skip %d\n", i);
        bool skipped_now = strstr(text, skip_line) != NULL;
        cr_assert(seen[i] == 1 || (seen[i] == 0 && skipped_now), "work %d applied %d times\n%s", i,
                  seen[i], text);
        cr_assert_eq(starts_of(i), 1, "work %d ran %d times", i, starts_of(i));
    }
    free(text);
    cr_assert_eq(server_stat("claims"), 10, "no job ran twice");
}

static void expect_agent_fails(const char *pw_env, const char *want)
{
    char out[500], logarg[420];
    agent_out(out, sizeof out, "bad");
    unlink(out);
    snprintf(logarg, sizeof logarg, "--log=%s", wlog);
    char *argv[] = {getenv("RUNCUE_AGENT"),
                    "--url",
                    srv.url,
                    "--ns",
                    "t",
                    "--service",
                    "api",
                    "--task",
                    "job",
                    "--name",
                    "bad",
                    "--password-env",
                    (char *)pw_env,
                    "--",
                    getenv("WORKER_C"),
                    NULL};
    if (!pw_env) argv[11] = "--", argv[12] = getenv("WORKER_C"), argv[13] = NULL;
    pid_t a = spawn(out, argv);
    cr_assert_eq(wait_exit(a, 10), 1);
    char *text = slurp(out);
    cr_assert(strstr(text, want), "%s", text);
    free(text);
}

Test(redis_procs, wrong_password_is_a_clear_error)
{
    redis_server_stop(&srv);
    cr_assert(redis_server_start(&srv, false, "requirepass right-one"));
    setenv("RC_TEST_PW", "wrong-one", 1);
    expect_agent_fails("RC_TEST_PW", "Redis refused the login");
}

Test(redis_procs, other_library_version_is_a_clear_error)
{
    redisContext *c = rc_sync();
    redisReply *rep = redisCommand(c, "FUNCTION LOAD %s",
                                   "#!lua name=runcue\n"
                                   "redis.register_function{function_name='runcue_version', "
                                   "callback=function() return '0' end, flags={'no-writes'}}");
    cr_assert(rep && rep->type == REDIS_REPLY_STRING);
    freeReplyObject(rep);
    redisFree(c);
    expect_agent_fails(NULL, "version 0 of the runcue functions library");
}

Test(redis_procs, library_deleted_garbage_jobs_and_killed_connections)
{
    pid_t s = start_sched("s1", "conc=4 lease=3 maxd=3", 0, 40, 100);
    start_agent("a1", "2", "t");
    start_agent("a2", "2", "t");
    cr_assert(wait_log_starts(4, 15));
    redisContext *c = rc_sync();
    /* garbage: a job whose payload is not JSON, and a ready id with no job */
    redisReply *rep =
        redisCommand(c, "FCALL runcue_enqueue 1 rc:{t} api ghost g1 0.5 job %s", "{not json");
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY, "%s", rep ? rep->str : "");
    freeReplyObject(rep);
    freeReplyObject(redisCommand(c, "ZADD rc:{t}:ready:api 0 999999"));
    /* the library deleted mid-run: reloaded by whoever calls next */
    freeReplyObject(redisCommand(c, "FUNCTION DELETE runcue"));
    cr_assert(wait_log_starts(12, 15));
    /* every client's connection killed mid-call, twice */
    for (int k = 0; k < 2; k++) {
        cr_assert(count_done("s1", (int[40]){0}, 40) < 40, "killed mid-run");
        freeReplyObject(redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes"));
        cr_assert(wait_log_starts(16 + 4 * k, 15));
    }
    cr_assert_eq(wait_exit(s, 40), 0, "the scheduler did not finish");
    static int seen[40];
    cr_assert_eq(count_done("s1", seen, 40), 40);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(seen[i], 1, "work %d applied %d times", i, seen[i]);

    /* the garbage job failed with a reason, to its owner: once, though
     * perhaps only after its lease ran out (the kills can take the first
     * agent's failing call with them; an agent's next claim requeues it) */
    for (double until = mono_ms() + 10e3; mono_ms() < until; nap_ms(20)) {
        rep = redisCommand(c, "XLEN rc:{t}:res:ghost");
        const bool there = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
        freeReplyObject(rep);
        if (there) break;
    }
    rep = redisCommand(c, "XRANGE rc:{t}:res:ghost - +");
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1,
              "the garbage job's results: %zu", rep ? rep->elements : 0);
    const redisReply *f = rep->element[0]->element[1];
    bool found = false;
    for (size_t k = 0; k + 1 < f->elements; k += 2)
        if (strcmp(f->element[k]->str, "error") == 0)
            found = strstr(f->element[k + 1]->str, "payload is not JSON") != NULL;
    cr_assert(found, "the garbage job's error names it");
    freeReplyObject(rep);
    redisFree(c);
    cr_assert(server_stat("garbage") >= 1);
    /* the agents are alive */
    for (int i = 0; i < n_procs; i++)
        if (procs[i] > 0 && procs[i] != s) cr_assert_eq(kill(procs[i], 0), 0);
}

/* A command that must succeed on c (its reply freed); a for the one %s. */
static void must(redisContext *c, const char *fmt, const char *a)
{
    redisReply *rep = redisCommand(c, fmt, a);
    cr_assert(rep && rep->type != REDIS_REPLY_ERROR, "%s: %s", fmt, rep ? rep->str : c->errstr);
    freeReplyObject(rep);
}

/* The library loaded and service api of namespace ns registered, without a
 * scheduler process: jobs are enqueued by hand.  limits: "rate_n rate_w_us
 * conc lease_us maxd". */
static redisContext *bare_namespace(const char *ns, const char *limits)
{
    redisContext *c = rc_sync();
    must(c, "FUNCTION LOAD REPLACE %s", rc_redis_library_text());
    char cmd[200];
    snprintf(cmd, sizeof cmd, "FCALL runcue_register 1 rc:{%s} api %s", ns, limits);
    must(c, cmd, NULL);
    return c;
}

Test(redis_procs, a_job_that_hangs_is_given_up_after_task_timeout_and_retried)
{
    /* A worker that never answers: with --task-timeout the agent kills it
     * and finishes the job as a retry (it held a slot of the service's
     * global limit for good before). */
    redisContext *c = bare_namespace("tt", "10 1000000 3 2000000 5");
    must(c, "FCALL runcue_enqueue 1 rc:{tt} api own d1 0.5 job %s", "{\"mode\": \"hang\"}");
    redisReply *rep;
    char out[500];
    agent_out(out, sizeof out, "tt");
    char *argv[] = {getenv("RUNCUE_AGENT"),
                    "--url",
                    srv.url,
                    "--ns",
                    "tt",
                    "--service",
                    "api",
                    "--task",
                    "job",
                    "--task-timeout",
                    "0.5",
                    "--name",
                    "tt1",
                    "--",
                    getenv("WORKER_C"),
                    NULL};
    double t0 = mono_ms();
    pid_t a = spawn(out, argv);
    const redisReply *f = NULL;
    for (double until = t0 + 8e3; mono_ms() < until; nap_ms(20)) {
        rep = redisCommand(c, "XRANGE rc:{tt}:res:own - +");
        cr_assert(rep && rep->type == REDIS_REPLY_ARRAY);
        if (rep->elements > 0) {
            f = rep->element[0]->element[1];
            break;
        }
        freeReplyObject(rep);
    }
    cr_assert(f, "no result within 8 s: the hung job was never given up");
    const double took = mono_ms() - t0;
    const char *status = NULL, *error = NULL;
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
        if (strcmp(f->element[k]->str, "status") == 0) status = f->element[k + 1]->str;
        if (strcmp(f->element[k]->str, "error") == 0) error = f->element[k + 1]->str;
    }
    cr_assert(status && strcmp(status, "retry") == 0, "status %s", status ? status : "(none)");
    cr_assert(error && strstr(error, "timed out after 0.5"), "%s", error ? error : "(none)");
    cr_assert(took >= 500, "given up after %.0f ms", took);
    freeReplyObject(rep);
    kill(a, SIGTERM);
    cr_assert_eq(wait_exit(a, 10), 0);
    redisFree(c);
}

Test(redis_procs, an_agent_exits_when_idle_or_after_its_max_jobs)
{
    /* --max-jobs 3 of 5 queued jobs (two slots): three run, two stay; then
     * --exit-idle 0.5 with nothing left for it: gone within a second or so */
    redisContext *c = bare_namespace("idle", "0 0 -1 5000000 3");
    for (int i = 0; i < 5; i++) {
        char dd[8];
        snprintf(dd, sizeof dd, "d%d", i);
        must(c, "FCALL runcue_enqueue 1 rc:{idle} api own %s 0.5 job {}", dd);
    }
    redisReply *rep;
    char out[500];
    agent_out(out, sizeof out, "idle");
    char *max[] = {getenv("RUNCUE_AGENT"),
                   "--url",
                   srv.url,
                   "--ns",
                   "idle",
                   "--service",
                   "api",
                   "--task",
                   "job",
                   "--slots",
                   "2",
                   "--max-jobs",
                   "3",
                   "--",
                   getenv("WORKER_C"),
                   NULL};
    unlink(out);
    cr_assert_eq(wait_exit(spawn(out, max), 15), 0);
    char *text = slurp(out);
    cr_assert(strstr(text, "runcue-agent: claimed its --max-jobs: exiting"), "%s", text);
    cr_assert(strstr(text, "claimed 3, finished 3"), "%s", text);
    free(text);
    rep = redisCommand(c, "ZCARD rc:{idle}:ready:api");
    cr_assert_eq(rep->integer, 2, "%lld left queued", rep->integer);
    freeReplyObject(rep);
    rep = redisCommand(c, "DEL rc:{idle}:ready:api");
    freeReplyObject(rep);
    char *idle[] = {getenv("RUNCUE_AGENT"),
                    "--url",
                    srv.url,
                    "--ns",
                    "idle",
                    "--service",
                    "api",
                    "--task",
                    "job",
                    "--exit-idle",
                    "0.5",
                    "--",
                    getenv("WORKER_C"),
                    NULL};
    unlink(out);
    const double t0 = mono_ms();
    cr_assert_eq(wait_exit(spawn(out, idle), 10), 0);
    const double took = mono_ms() - t0;
    cr_assert(took >= 500 && took < 5000, "exited after %.0f ms", took);
    text = slurp(out);
    cr_assert(strstr(text, "runcue-agent: idle for its --exit-idle: exiting"), "%s", text);
    free(text);
    redisFree(c);
}

Test(redis_procs, agent_usage_errors_exit_2)
{
    char out[500];
    agent_out(out, sizeof out, "usage");
    char *help[] = {getenv("RUNCUE_AGENT"), "--help", NULL};
    cr_assert_eq(wait_exit(spawn(out, help), 5), 0);
    char *text = slurp(out);
    cr_assert(strstr(text, "usage: runcue-agent"));
    free(text);
    char *bad[][12] = {
        {getenv("RUNCUE_AGENT"), "--bogus", NULL},
        {getenv("RUNCUE_AGENT"), "--url", srv.url, "--service", "api", "--task", "job", NULL},
        {getenv("RUNCUE_AGENT"), "--slots", "0", NULL},
        {getenv("RUNCUE_AGENT"), "--url", srv.url, "--task", "job", "--", "true", NULL},
        {getenv("RUNCUE_AGENT"), "--url", srv.url, "--ns", "bad ns", "--service", "api", "--task",
         "job", "--", "true", NULL},
        {getenv("RUNCUE_AGENT"), "--url", srv.url, "--service", "api", "--task", "job", "--", "",
         NULL},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        unlink(out);
        int st = wait_exit(spawn(out, bad[k]), 5);
        text = slurp(out);
        cr_assert_eq(st, 2, "case %zu: status %d: %s", k, st, text);
        cr_assert(strstr(text, "runcue-agent"), "case %zu: %s", k, text);
        /* an unknown option: one line naming it, not getopt's and the usage */
        if (k == 0) cr_assert_str_eq(text, "runcue-agent: unknown option '--bogus' (see --help)\n");
        free(text);
    }
    /* the empty worker command is named, not an empty message */
    text = slurp(out);
    cr_assert(strstr(text, "worker command (after --) is empty"), "%s", text);
    free(text);
    /* numbers are digits and in range: nothing else in an otherwise whole command */
    const char *numbers[][3] = {
        {"--slots", " 4", "--slots must be 1 to 64"},
        {"--slots", "+4", "--slots must be 1 to 64"},
        {"--slots", "4x", "--slots must be 1 to 64"},
        {"--slots", "65", "--slots must be 1 to 64"},
        {"--slots", "0x4", "--slots must be 1 to 64"},
        {"--slots", "", "--slots must be 1 to 64"},
        {"--task-timeout", "0", "--task-timeout must be seconds"},
        {"--task-timeout", "-1", "--task-timeout must be seconds"},
        {"--task-timeout", "nan", "--task-timeout must be seconds"},
        {"--task-timeout", "1e7", "--task-timeout must be seconds"},
        {"--task-timeout", "2s", "--task-timeout must be seconds"},
        {"--ready-timeout", " 1", "--ready-timeout must be seconds"},
        {"--line-limit", "0", "--line-limit must be 1 to 1073741824 bytes"},
        {"--line-limit", "1073741825", "--line-limit must be 1 to 1073741824 bytes"},
        {"--line-limit", "-5", "--line-limit must be 1 to 1073741824 bytes"},
        {"--cwd", "", "--cwd is empty"},
        {"--exit-idle", "0", "--exit-idle must be seconds"},
        {"--max-jobs", "0", "--max-jobs must be 1 to 1000000000"},
        {"--max-jobs", "1x", "--max-jobs must be 1 to 1000000000"},
    };
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        char *argv[] = {getenv("RUNCUE_AGENT"),
                        "--url",
                        srv.url,
                        "--service",
                        "api",
                        "--task",
                        "job",
                        (char *)numbers[k][0],
                        (char *)numbers[k][1],
                        "--",
                        "true",
                        NULL};
        unlink(out);
        int st = wait_exit(spawn(out, argv), 5);
        text = slurp(out);
        cr_assert_eq(st, 2, "%s '%s': status %d: %s", numbers[k][0], numbers[k][1], st, text);
        cr_assert(strstr(text, numbers[k][2]), "%s '%s': %s", numbers[k][0], numbers[k][1], text);
        cr_assert(strncmp(text, "runcue-agent: ", 14) == 0 && !strchr(text, '\n')[1], "%s", text);
        free(text);
    }
    /* --version, for the agent and runcue-dist */
    char *ver[][3] = {{getenv("RUNCUE_AGENT"), "--version", NULL},
                      {getenv("RUNCUE_DIST"), "--version", NULL}};
    const char *want[] = {"runcue-agent " RC_VERSION_STRING "\n",
                          "runcue-dist " RC_VERSION_STRING "\n"};
    for (size_t k = 0; k < 2; k++) {
        unlink(out);
        cr_assert_eq(wait_exit(spawn(out, ver[k]), 5), 0);
        text = slurp(out);
        cr_assert_str_eq(text, want[k]);
        free(text);
    }
}

/* The job hash field `field` of the job whose payload has "i": i. */
static void job_field_by_i(int i, const char *field, char *out, size_t len)
{
    redisContext *c = rc_sync();
    out[0] = '\0';
    char want[32];
    snprintf(want, sizeof want, "\"i\":%d", i);
    for (int id = 1; id <= 16 && !out[0]; id++) {
        redisReply *rep = redisCommand(c, "HMGET rc:{t}:job:%d payload %s", id, field);
        if (rep && rep->type == REDIS_REPLY_ARRAY && rep->element[0]->type == REDIS_REPLY_STRING &&
            strstr(rep->element[0]->str, want) && rep->element[1]->type == REDIS_REPLY_STRING)
            snprintf(out, len, "%s", rep->element[1]->str);
        freeReplyObject(rep);
    }
    redisFree(c);
}

Test(redis_procs, worker_retry_and_fail_reach_the_scheduler_as_such)
{
    pid_t s1 = start_sched("s1", "conc=2 lease=3 maxd=3 mode=fail", 0, 1, 0);
    pid_t s2 = start_sched("s2", "conc=2 lease=3 maxd=3 mode=retry", 1, 1, 0);
    start_agent("a1", "2", "t");
    cr_assert_eq(wait_exit(s1, 20), 0);
    cr_assert_eq(wait_exit(s2, 20), 0);
    char st0[32], st1[32];
    job_field_by_i(0, "st", st0, sizeof st0);
    job_field_by_i(1, "st", st1, sizeof st1);
    cr_assert_str_eq(st0, "failed", "the worker's final failure");
    cr_assert_str_eq(st1, "retry", "the worker asked for a retry");
    char path[500];
    sched_out(path, sizeof path, "s1");
    char *text = slurp(path);
    cr_assert(strstr(text, "fail 0 ") && strstr(text, "failed on purpose"), "%s", text);
    free(text);
}

/* runcue-dist ARGS... with its output to `out`; its exit status. */
static int run_dist(const char *out, const char *a1, const char *a2, const char *a3)
{
    unlink(out);
    char *argv[] = {getenv("RUNCUE_DIST"),
                    "status",
                    "--url",
                    srv.url,
                    "--ns",
                    "t",
                    (char *)a1,
                    (char *)a2,
                    (char *)a3,
                    NULL};
    return wait_exit(spawn(out, argv), 10);
}

Test(redis_procs, dist_status_shows_services_agents_and_leases)
{
    char out[500];
    snprintf(out, sizeof out, "%s/dist.out", srv.dir);
    cr_assert_eq(run_dist(out, NULL, NULL, NULL), 1, "no library yet");
    char *text = slurp(out);
    cr_assert(strstr(text, "library is not loaded"), "%s", text);
    free(text);

    pid_t s = start_sched("s1", "rate=20/1 conc=2 lease=4 maxd=3", 0, 6, 1500);
    start_agent("a1", "1", "t");
    start_agent("a2", "1", "t");
    cr_assert(wait_log_starts(2, 15));
    cr_assert_eq(run_dist(out, "--json", NULL, NULL), 0);
    text = slurp(out);
    cJSON *root = cJSON_Parse(text);
    cr_assert(root, "not JSON: %s", text);
    cJSON *ns = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "namespaces"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(ns, "namespace")), "t");
    cJSON *svc = cJSON_GetArrayItem(cJSON_GetObjectItem(ns, "services"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(svc, "name")), "api");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "rate_n")), 20);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "rate_window_s")), 1);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "concurrent")), 2);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "lease_s")), 4);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "leased")), 2, "%s", text);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "queued")), 4, "%s", text);
    cr_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(svc, "starts_in_window")) >= 2);
    cJSON *oldest = cJSON_GetObjectItem(svc, "oldest_lease");
    cr_assert(cJSON_IsObject(oldest), "%s", text);
    double exp = cJSON_GetNumberValue(cJSON_GetObjectItem(oldest, "expires_in_s"));
    cr_assert(exp > 0 && exp <= 4, "expires in %g", exp);
    int agents = 0, leases = 0;
    cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(ns, "agents"))
    {
        agents++;
        leases += (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "leases"));
        cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "alive")));
    }
    cr_assert_eq(agents, 2);
    cr_assert_eq(leases, 2, "leased by agent");
    cr_assert_eq(
        cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ns, "dead"), "count")), 0);
    cJSON_Delete(root);
    free(text);
    /* the same for Prometheus: each metric's help and type once, a sample
     * per service, agent and counter */
    cr_assert_eq(run_dist(out, "--prometheus", NULL, NULL), 0);
    text = slurp(out);
    const char *lines[] = {"# TYPE runcue_queued gauge\n",
                           "runcue_leased{ns=\"t\",service=\"api\"} 2\n",
                           "runcue_concurrency_limit{ns=\"t\",service=\"api\"} 2\n",
                           "runcue_rate_limit{ns=\"t\",service=\"api\"} 20\n",
                           "runcue_agent_leases{ns=\"t\",agent=\"a1\"} 1\n",
                           "runcue_dead_letters{ns=\"t\"} 0\n",
                           "# TYPE runcue_events_total counter\n",
                           "runcue_events_total{ns=\"t\",event=\"claims\"} "};
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++)
        cr_assert(strstr(text, lines[k]), "no '%s' in:\n%s", lines[k], text);
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) /* every line a comment or a sample */
        cr_assert(*p == '#' || strncmp(p, "runcue_", 7) == 0, "%s", text);
    free(text);
    cr_assert_eq(run_dist(out, "--prometheus", "--json", NULL), 2);
    /* one job by id, and one that is not there */
    {
        unlink(out);
        char *argv[] = {
            getenv("RUNCUE_DIST"), "job", "--url", srv.url, "--ns", "t", "1", "999999", NULL};
        cr_assert_eq(wait_exit(spawn(out, argv), 10), 0);
        text = slurp(out);
        cr_assert(strstr(text, "job 1: "), "%s", text);
        cr_assert(strstr(text, "service api, task job, owner s1"), "%s", text);
        cr_assert(strstr(text, "enqueued "), "%s", text);
        cr_assert(strstr(text, "job 999999: no such job"), "%s", text);
        free(text);
        char *bad[] = {getenv("RUNCUE_DIST"), "job", "--url", srv.url, "--ns", "t", "12x", NULL};
        unlink(out);
        cr_assert_eq(wait_exit(spawn(out, bad), 10), 2);
        text = slurp(out);
        cr_assert(strstr(text, "a job id is 1 to 32 digits"), "%s", text);
        free(text);
        char *none[] = {getenv("RUNCUE_DIST"), "job", "--url", srv.url, NULL};
        unlink(out);
        cr_assert_eq(wait_exit(spawn(out, none), 10), 2);
    }

    cr_assert_eq(run_dist(out, NULL, NULL, NULL), 0);
    text = slurp(out);
    cr_assert(strstr(text, "service api: 20 per 1s, 2 at once, lease 4s"), "%s", text);
    cr_assert(strstr(text, "agent a1: alive"), "%s", text);
    cr_assert(strstr(text, "dead letters: 0"), "%s", text);
    free(text);
    /* stdout on a full disk: nothing was shown, and it says so */
    char *full[] = {getenv("RUNCUE_DIST"), "status", "--url", srv.url, "--ns", "t", NULL};
    unlink(out);
    cr_assert_eq(wait_exit(spawn_to("/dev/full", out, full), 10), 1);
    text = slurp(out);
    cr_assert(strstr(text, "runcue-dist: writing to stdout failed"), "%s", text);
    free(text);
    cr_assert_eq(run_dist(out, "--timeout", "x", NULL), 2);
    cr_assert_eq(run_dist(out, "--bogus", NULL, NULL), 2);
    text = slurp(out);
    cr_assert_str_eq(text, "runcue-dist: unknown option '--bogus' (see --help)\n");
    free(text);
    cr_assert_eq(wait_exit(s, 30), 0);
}
