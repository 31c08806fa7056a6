/*
 * bench_redis.c -- the Redis transport against a private redis-server that
 * it starts itself (tests/transports/redis/redis_server.c), no-op work:
 *
 *   1. claim -> finish throughput with 1, 2, 4, 8 agent processes (each a
 *      loop of one claim of up to 16 jobs and one finish of all of them),
 *      and the server's CPU per job (INFO cpu, enqueue + claim + finish);
 *   2. end to end through rc_redis and rc_redis_agent processes: works/s
 *      with 1, 2, 4 agents, all submitted at once; latency, idle, one at a
 *      time (p50 / p99 / p999); recovery after kill -9 of an agent that
 *      holds a 2 s lease (the kill -> on_complete by another agent);
 *   3. limit accuracy: 4 claimers against 20 starts per 1 s for 3 s; the
 *      most starts seen in any 1 s window.
 *
 *   bench_redis [--quick]
 */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_server.h"
#include "runcue_redis.h"
#include "runcue_transport.h"

static redis_server srv;

static redisContext *conn(void)
{
    redisContext *c = redisConnectUnix(srv.sock);
    if (!c || c->err) {
        fprintf(stderr, "bench_redis: cannot connect\n");
        exit(1);
    }
    return c;
}

static double now_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static double server_cpu(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO cpu");
    double sys = 0, user = 0;
    const char *p = r && r->type == REDIS_REPLY_STRING ? r->str : "";
    const char *s = strstr(p, "used_cpu_sys:"), *u = strstr(p, "used_cpu_user:");
    if (s) sys = atof(s + 13);
    if (u) user = atof(u + 14);
    freeReplyObject(r);
    return sys + user;
}

static void cmd_ok(redisContext *c, redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_redis: %s\n", r ? r->str : c->errstr);
        exit(1);
    }
    freeReplyObject(r);
}

static void load_library(redisContext *c)
{
    cmd_ok(c, redisCommand(c, "FUNCTION LOAD REPLACE %s", rc_redis_library_text()));
}

/* Enqueue n jobs on service s, pipelined. */
static void enqueue(redisContext *c, const char *ns, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "FCALL runcue_enqueue 1 rc:{%s} %s bench %s 0.5 noop {}", ns, s, "");
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) exit(1);
        cmd_ok(c, r);
    }
}

/* An agent process: claim up to k, finish them all in one call, until empty.
 * With times != NULL: records each claim's time (limit accuracy) until end_s. */
static int agent_loop(const char *ns, const char *s, int k, double end_s, FILE *times)
{
    redisContext *c = conn();
    char name[32];
    snprintf(name, sizeof name, "b%ld", (long)getpid());
    int done = 0;
    for (;;) {
        redisReply *r = redisCommand(c, "FCALL runcue_claim 1 rc:{%s} %s %d %s", ns, name, k, s);
        if (!r || r->type != REDIS_REPLY_ARRAY) exit(1);
        const char *kind = r->element[0]->str;
        if (strcmp(kind, "jobs") == 0) {
            double t = now_s();
            size_t n = (r->elements - 2) / 7;
            const char *argv[6 + 64 * 6];
            size_t lens[6 + 64 * 6];
            int argc = 0;
            char base[80], nbuf[24];
            snprintf(base, sizeof base, "rc:{%s}", ns);
            snprintf(nbuf, sizeof nbuf, "%zu", n);
            argv[argc++] = "FCALL", argv[argc++] = "runcue_finish", argv[argc++] = "1";
            argv[argc++] = base, argv[argc++] = name, argv[argc++] = nbuf;
            for (size_t j = 0; j < n; j++) {
                argv[argc++] = r->element[2 + j * 7]->str;
                argv[argc++] = r->element[3 + j * 7]->str;
                argv[argc++] = "ok", argv[argc++] = "", argv[argc++] = "", argv[argc++] = "0";
                if (times) fprintf(times, "%.6f\n", t);
            }
            for (int a = 0; a < argc; a++)
                lens[a] = strlen(argv[a]);
            cmd_ok(c, redisCommandArgv(c, argc, argv, lens));
            done += (int)n;
        } else if (strcmp(kind, "wait") == 0 && end_s > 0) {
            double d = atof(r->element[3]->str) / 1e6;
            struct timespec ts = {(time_t)d, (long)((d - (long)d) * 1e9)};
            nanosleep(&ts, NULL);
        } else if (end_s <= 0) {
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
        if (end_s > 0 && now_s() >= end_s) break;
    }
    redisFree(c);
    return done;
}

static void throughput(int jobs)
{
    printf("claim -> finish, %d no-op jobs, claims of up to 16, finishes of all of them\n", jobs);
    printf("  agents   jobs/s   server CPU per job (enqueue+claim+finish)\n");
    redisContext *c = conn();
    cmd_ok(c, redisCommand(c, "FCALL runcue_register 1 rc:{tp} api 0 0 -1 30000000 3"));
    for (int agents = 1; agents <= 8; agents *= 2) {
        double cpu0 = server_cpu(c);
        enqueue(c, "tp", "api", jobs);
        double t0 = now_s();
        for (int a = 0; a < agents; a++)
            if (fork() == 0) _exit(agent_loop("tp", "api", 16, 0, NULL) >= 0 ? 0 : 1);
        for (int a = 0; a < agents; a++)
            wait(NULL);
        double dt = now_s() - t0;
        double cpu = server_cpu(c) - cpu0;
        printf("  %6d  %7.0f   %5.1f us\n", agents, jobs / dt, cpu / jobs * 1e6);
        fflush(stdout);
    }
    redisFree(c);
}

/* ---- end-to-end latency through rc_redis and rc_redis_agent ---- */

static rc_job_status noop(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)job, (void)result, (void)err, (void)errlen, (void)ud;
    return RC_JOB_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A scheduler on its own loop: namespace ns, service "api" (no rate,
 * concurrency -1, lease_s), task "noop" bound to it. */
typedef struct bench_sched {
    rc_loop *loop;
    rc_cue *cue;
    rc_redis *r;
} bench_sched;

static void sched_open(bench_sched *b, const char *ns, double lease_s)
{
    rc_loop_new(&b->loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC});
    rc_cue_new(&b->cue, b->loop, NULL);
    rc_redis_opts ro = {.conn = {.url = srv.url, .ns = ns}, .owner = "s"};
    if (rc_redis_new(&b->r, b->cue, &ro) || rc_redis_service(b->r, "api", NULL, -1, lease_s, 3) ||
        rc_redis_task(b->r, "noop", "api") || rc_redis_wait_ready(b->r, 5)) {
        fprintf(stderr, "bench_redis: scheduler: %s\n",
                b->r ? rc_redis_errmsg(b->r) : rc_redis_last_error());
        exit(1);
    }
}

static void sched_close(bench_sched *b)
{
    rc_redis_free(b->r);
    rc_cue_free(b->cue);
    rc_loop_free(b->loop);
}

static uint64_t completed(rc_cue *cue)
{
    rc_stats st;
    rc_cue_stats(cue, &st);
    return st.completed;
}

/* Submit work i (params {"i": i}). */
static void submit_i(bench_sched *b, int i)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "i", i);
    rc_submit(b->cue, "noop", &(rc_submit_opts){.params = p}, NULL);
}

/* Run b's loop until `want` works have completed. */
static void run_until(bench_sched *b, uint64_t want)
{
    while (completed(b->cue) < want)
        rc_loop_run(b->loop, RC_RUN_ONCE);
}

/* ---- agent processes: rc_redis_agent on a local cue, a pool of no-ops ---- */

static int hang_fd = -1; /* the hanging handler writes a byte here when it starts */

static rc_job_status hang(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)job, (void)result, (void)err, (void)errlen, (void)ud;
    if (write(hang_fd, "x", 1) != 1) _exit(1);
    sleep(60);
    return RC_JOB_OK;
}

/* Fork an agent process on ns with `slots` slots running noop (or hang),
 * until it is killed. */
static pid_t agent_proc(const char *ns, unsigned slots, bool hanging)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    rc_loop *loop;
    rc_cue *cue;
    rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC});
    rc_cue_new(&cue, loop, &(rc_cue_opts){.retain_finished = 16});
    rc_pool *pool;
    rc_pool_new(&pool, cue, slots);
    rc_pool_task(pool, "noop", NULL, hanging ? hang : noop, NULL);
    const char *svcs[] = {"api"};
    char name[32];
    snprintf(name, sizeof name, "a%ld", (long)getpid());
    rc_redis_agent_opts ao = {.conn = {.url = srv.url, .ns = ns},
                              .name = name,
                              .services = svcs,
                              .n_services = 1,
                              .slots = slots};
    rc_redis_agent *ag;
    if (rc_redis_agent_new(&ag, cue, &ao, NULL, NULL) || rc_redis_agent_wait_ready(ag, 5)) _exit(1);
    for (;;)
        rc_loop_run(loop, RC_RUN_ONCE);
}

static void kill_wait(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- end to end: rc_submit -> agent process -> on_complete ---- */

static void end_to_end(int n)
{
    printf("end to end, %d no-op works submitted at once, rc_submit -> runcue agent processes "
           "(rc_redis_agent, a pool of 16 no-op threads each) -> on_complete\n",
           n);
    printf("  agents   works/s   server CPU per work\n");
    redisContext *c = conn();
    for (int agents = 1; agents <= 4; agents *= 2) {
        char ns[16];
        snprintf(ns, sizeof ns, "e2e%d", agents);
        pid_t pids[4];
        for (int a = 0; a < agents; a++)
            pids[a] = agent_proc(ns, 16, false);
        bench_sched b;
        sched_open(&b, ns, 30);
        double cpu0 = server_cpu(c);
        double t0 = now_s();
        for (int i = 0; i < n; i++)
            submit_i(&b, i);
        run_until(&b, (uint64_t)n);
        double dt = now_s() - t0;
        double cpu = server_cpu(c) - cpu0;
        printf("  %6d  %8.0f   %5.1f us\n", agents, n / dt, cpu / n * 1e6);
        fflush(stdout);
        for (int a = 0; a < agents; a++)
            kill_wait(pids[a]);
        sched_close(&b);
    }
    redisFree(c);
}

static void latency(int n)
{
    pid_t ag = agent_proc("lat", 1, false);
    bench_sched b;
    sched_open(&b, "lat", 30);
    double *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        submit_i(&b, i);
        run_until(&b, (uint64_t)i + 1);
        lat[i] = (now_s() - t0) * 1e3;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("end to end, idle, %d works one at a time (agent process, 1 slot): p50 %.3f ms, "
           "p99 %.3f ms, p999 %.3f ms\n",
           n, lat[n / 2], lat[n * 99 / 100], lat[n * 999 / 1000]);
    fflush(stdout);
    free(lat);
    kill_wait(ag);
    sched_close(&b);
}

/* ---- recovery: kill -9 an agent holding a 2 s lease ---- */

static void tick_cb(rc_loop *loop, rc_timer *timer, void *arg)
{
    (void)loop, (void)timer, (void)arg;
}

static void recovery(void)
{
    int fds[2];
    if (pipe(fds)) exit(1);
    hang_fd = fds[1];
    pid_t a = agent_proc("rec", 1, true);
    bench_sched b;
    sched_open(&b, "rec", 2);
    submit_i(&b, 0);
    struct pollfd pf = {.fd = fds[0], .events = POLLIN};
    rc_timer tick;
    rc_timer_init(&tick, tick_cb, NULL);
    while (poll(&pf, 1, 0) == 0) { /* run the loop in 1 ms steps until the job hangs */
        rc_timer_start(b.loop, &tick, rc_loop_now(b.loop) + rc_seconds(0.001));
        rc_loop_run(b.loop, RC_RUN_ONCE);
    }
    rc_timer_stop(b.loop, &tick);
    double started = now_s();
    pid_t spare = agent_proc("rec", 1, false); /* idle, waiting for the lease to end */
    usleep(200000);
    double t0 = now_s();
    kill_wait(a);
    run_until(&b, 1);
    double t1 = now_s();
    printf("kill -9 an agent 0.2 s into a job with a 2 s lease: completed by another agent "
           "%.3f s after the kill, %.3f s after the lease began\n",
           t1 - t0, t1 - started);
    kill_wait(spare);
    sched_close(&b);
    close(fds[0]);
    close(fds[1]);
}

/* ---- limit accuracy ---- */

/* The most of t[0..n) in any window [x, x + w). */
static int worst_window(double *t, int n, double w)
{
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    int worst = 0;
    for (int i = 0, j = 0; i < n; i++) {
        while (j < n && t[j] - t[i] < w)
            j++;
        if (j - i > worst) worst = j - i;
    }
    return worst;
}

static void accuracy(double seconds)
{
    redisContext *c = conn();
    cmd_ok(c, redisCommand(c, "FCALL runcue_register 1 rc:{acc} api 20 1000000 -1 30000000 3"));
    enqueue(c, "acc", "api", 2000);
    char path[400];
    snprintf(path, sizeof path, "%s/starts", srv.dir);
    double end = now_s() + seconds;
    for (int a = 0; a < 4; a++) {
        if (fork() == 0) {
            FILE *f = fopen(path, "a");
            setvbuf(f, NULL, _IOLBF, 0);
            agent_loop("acc", "api", 1, end, f);
            fclose(f);
            _exit(0);
        }
    }
    for (int a = 0; a < 4; a++)
        wait(NULL);
    FILE *f = fopen(path, "r");
    static double t[4096], st[4096];
    int n = 0, ns = 0;
    while (n < 4096 && fscanf(f, "%lf", &t[n]) == 1)
        n++;
    fclose(f);
    /* the server's own start times: lease until - lease */
    for (int id = 1; id <= 2000 && ns < 4096; id++) {
        redisReply *r = redisCommand(c, "HGET rc:{acc}:job:%d lu", id);
        if (r && r->type == REDIS_REPLY_STRING) st[ns++] = (atof(r->str) - 30000000) / 1e6;
        freeReplyObject(r);
    }
    printf("limit 20 per 1 s, 4 claimers, %.0f s: %d starts; worst 1 s window %d by the "
           "server's clock, %d by the claimers' clocks (when each reply arrived)\n",
           seconds, ns, worst_window(st, ns, 1.0), worst_window(t, n, 1.0));
    redisFree(c);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (!redis_server_available()) {
        fprintf(stderr, "bench_redis: redis-server is not on PATH\n");
        return 1;
    }
    if (!redis_server_start(&srv, false, NULL)) return 1;
    redisContext *c = conn();
    load_library(c);
    redisFree(c);
    throughput(quick ? 4000 : 40000);
    end_to_end(quick ? 4000 : 20000);
    latency(quick ? 200 : 5000);
    recovery();
    accuracy(quick ? 1.5 : 3.0);
    redis_server_stop(&srv);
    return 0;
}
