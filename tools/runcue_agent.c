/* runcue-agent -- the worker side of the Redis transport.
 *
 *   runcue-agent --url unix:/run/redis.sock --service api --task thumb \
 *                --slots 4 -- python3 worker.py
 *
 * Claims jobs of the named services as its slots free and runs each in a
 * runqy-protocol worker process (the command after --), heartbeating its
 * lease every third of the lease and killing the worker if the lease is
 * lost.  Design: a local cue whose tasks (--task, one per task name the
 * schedulers bind) are subprocess workers (rc_workers); rc_redis_agent maps
 * each claim to rc_submit and each local outcome to a finish.  SIGINT or
 * SIGTERM: stop claiming, let running jobs finish, exit; a second one: exit
 * at once, what runs left to its lease. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_opts.h"
#include "runcue_redis.h"
#include "runcue_shm.h"
#include "runcue_transport.h"
#include "shm_cleanup.h"

#define MAX_LIST 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: runcue-agent [options] -- WORKER-COMMAND [ARGS...]\n"
            "\n"
            "Claim jobs from runcue's Redis queues and run them in runqy-protocol workers.\n"
            "\n"
            "  --url URL            unix:/path/redis.sock or redis://host:port   (required)\n"
            "  --ns NAME            namespace                                     [default]\n"
            "  --user NAME          Redis ACL user\n"
            "  --password-file F    the password is the first line of F\n"
            "  --password-env VAR   the password is in $VAR (never on the command line)\n"
            "  --service NAME       claim from this service (repeat; at least one)\n"
            "  --task NAME          a task name the workers run (repeat; at least one)\n"
            "  --slots N            jobs at once, 1..64                           [1]\n"
            "  --name NAME          this agent's name in leases      [<host>.<pid>]\n"
            "  --one-shot           a worker process per job (default: a pool of N)\n"
            "  --task-timeout S     kill a worker that has not answered a job within S\n"
            "                       seconds; the job is finished as a retry  [none]\n"
            "  --ready-timeout S    seconds a new worker has to say it is ready   [10]\n"
            "  --line-limit BYTES   the longest line a worker may print        [10485760]\n"
            "  --strict             a line that is not the protocol kills the worker\n"
            "  --cwd DIR            the workers' working directory\n"
            "  --check-prefix       results must keep their outputs under the job's\n"
            "                       output_prefix\n"
            "  --exit-idle S        exit (0) after S seconds with no job claimed or running\n"
            "  --max-jobs N         claim no more once N jobs were claimed, finish them, exit\n"
            "                       (0)\n"
            "  --shm NAME           publish the local cue for runcue-top / runcue-viz\n"
            "  -h, --help           show this help\n"
            "  -V, --version        show the version\n"
            "\n"
            "On exit it prints its counts (claimed, finished, refused as stale, leases\n"
            "lost, heartbeats) on stderr.\n"
            "SIGINT or SIGTERM: stop claiming, let running jobs finish, exit; a second one:\n"
            "exit now, leaving what runs to its lease.\n"
            "Exit status: 0 stopped by a signal, --exit-idle or --max-jobs, 1 a fatal Redis\n"
            "error or a drain cut short, 2 bad usage.\n");
}

/* 1: drain (the first SIGINT or SIGTERM); 2: stop now (a second one). */
static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
    (void)sig;
    stop_requested = stop_requested ? 2 : 1;
}

typedef struct agent_ctx {
    rc_workers *workers[MAX_LIST];
    size_t n_workers;
} agent_ctx;

/* The lease is gone: kill the worker running it (its finish would be refused). */
static void on_lost(rc_redis_agent *a, rc_work_id id, void *ud)
{
    (void)a;
    agent_ctx *ctx = ud;
    for (size_t i = 0; i < ctx->n_workers; i++)
        if (rc_workers_abort(ctx->workers[i], id, "the lease was lost") == 0) return;
}

/* Stop the workers (running ones get 5 s), free the cue and the loop. */
static void close_all(agent_ctx *ctx, rc_cue *cue, rc_loop *loop)
{
    for (size_t i = 0; i < ctx->n_workers; i++) {
        rc_workers_shutdown(ctx->workers[i], 5, NULL);
        rc_workers_free(ctx->workers[i]);
    }
    rc_cue_free(cue);
    rc_loop_free(loop);
}

/* The periodic check: signals, and the exits --exit-idle and --max-jobs ask
 * for (a drain, as a signal's). */
typedef struct ticker {
    rc_redis_agent *a;
    double exit_idle_s;     /* 0: never */
    unsigned long max_jobs; /* 0: no limit */
    uint64_t claimed;       /* at the last change */
    rc_time busy_at;        /* the last time a job ran or was claimed */
    const char *why;        /* why it stopped by itself, or NULL */
} ticker;

static void tick(rc_loop *loop, rc_timer *t, void *arg)
{
    ticker *tk = arg;
    rc_redis_agent *a = tk->a;
    if (stop_requested == 2) {
        rc_loop_stop(loop);
        return;
    }
    rc_redis_agent_stats now;
    rc_redis_agent_stats_get(a, &now);
    const rc_time at = rc_loop_now(loop);
    if (now.claimed != tk->claimed || now.running || now.finishing) {
        tk->claimed = now.claimed;
        tk->busy_at = at;
    }
    if (!stop_requested && tk->max_jobs && now.claimed >= tk->max_jobs) {
        tk->why = "claimed its --max-jobs";
        stop_requested = 1;
    }
    if (!stop_requested && tk->exit_idle_s > 0 && at - tk->busy_at >= rc_seconds(tk->exit_idle_s)) {
        tk->why = "idle for its --exit-idle";
        stop_requested = 1;
    }
    if (stop_requested) {
        rc_redis_agent_drain(a);
        rc_redis_agent_stats st;
        rc_redis_agent_stats_get(a, &st);
        if (st.running == 0 && st.finishing == 0) {
            rc_loop_stop(loop);
            return;
        }
    }
    rc_timer_start(loop, t, rc_loop_now(loop) + rc_seconds(0.1));
}

static int bad(const char *msg, const char *arg)
{
    fprintf(stderr, "runcue-agent: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

/* A number of seconds, digits first (no sign, no space), more than 0 and at
 * most 1e6, the whole of s. */
static bool seconds(const char *s, double *out)
{
    char *end;
    double v = s[0] >= '0' && s[0] <= '9' ? strtod(s, &end) : 0;
    if (!(v > 0 && v <= 1e6) || *end) return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    rc_redis_agent_opts ao = {.slots = 1};
    const char *services[MAX_LIST], *tasks[MAX_LIST], *shm = NULL;
    size_t n_tasks = 0;
    bool one_shot = false;
    rc_workers_opts wo = {0};
    ticker tk = {0};
    static const struct option longs[] = {{"url", required_argument, 0, 'u'},
                                          {"ns", required_argument, 0, 'n'},
                                          {"user", required_argument, 0, 'U'},
                                          {"password-file", required_argument, 0, 'p'},
                                          {"password-env", required_argument, 0, 'e'},
                                          {"service", required_argument, 0, 's'},
                                          {"task", required_argument, 0, 't'},
                                          {"slots", required_argument, 0, 'k'},
                                          {"name", required_argument, 0, 'N'},
                                          {"one-shot", no_argument, 0, 'o'},
                                          {"shm", required_argument, 0, 'm'},
                                          {"task-timeout", required_argument, 0, 'T'},
                                          {"ready-timeout", required_argument, 0, 'R'},
                                          {"line-limit", required_argument, 0, 'L'},
                                          {"strict", no_argument, 0, 'S'},
                                          {"cwd", required_argument, 0, 'C'},
                                          {"check-prefix", no_argument, 0, 'P'},
                                          {"exit-idle", required_argument, 0, 'I'},
                                          {"max-jobs", required_argument, 0, 'M'},
                                          {"help", no_argument, 0, 'h'},
                                          {"version", no_argument, 0, 'V'},
                                          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:hV", longs, NULL)) != -1) {
        char *end;
        long v;
        switch (c) {
        case 'u':
            ao.conn.url = optarg;
            break;
        case 'n':
            ao.conn.ns = optarg;
            break;
        case 'U':
            ao.conn.user = optarg;
            break;
        case 'p':
            ao.conn.password_file = optarg;
            break;
        case 'e':
            ao.conn.password_env = optarg;
            break;
        case 's':
            if (ao.n_services >= MAX_LIST) return bad("at most 64 --service", NULL);
            services[ao.n_services++] = optarg;
            break;
        case 't':
            if (n_tasks >= MAX_LIST) return bad("at most 64 --task", NULL);
            tasks[n_tasks++] = optarg;
            break;
        case 'k':
            /* digits only: strtol would take " 4" and "+4" too */
            v = optarg[0] >= '0' && optarg[0] <= '9' ? strtol(optarg, &end, 10) : 0;
            if (v < 1 || v > 64 || *end) return bad("--slots must be 1 to 64", optarg);
            ao.slots = (unsigned)v;
            break;
        case 'N':
            ao.name = optarg;
            break;
        case 'o':
            one_shot = true;
            break;
        case 'm':
            shm = optarg;
            break;
        case 'T':
            if (!seconds(optarg, &wo.task_timeout_s))
                return bad("--task-timeout must be seconds, more than 0 and at most 1e6", optarg);
            break;
        case 'R':
            if (!seconds(optarg, &wo.ready_timeout_s))
                return bad("--ready-timeout must be seconds, more than 0 and at most 1e6", optarg);
            break;
        case 'L': {
            unsigned long long n =
                optarg[0] >= '0' && optarg[0] <= '9' ? strtoull(optarg, &end, 10) : 0;
            if (n < 1 || n > (1ull << 30) || *end)
                return bad("--line-limit must be 1 to 1073741824 bytes", optarg);
            wo.line_limit = (size_t)n;
            break;
        }
        case 'S':
            wo.strict = true;
            break;
        case 'C':
            if (!optarg[0]) return bad("--cwd is empty", NULL);
            wo.cwd = optarg;
            break;
        case 'P':
            wo.check_prefix = true;
            break;
        case 'I':
            if (!seconds(optarg, &tk.exit_idle_s))
                return bad("--exit-idle must be seconds, more than 0 and at most 1e6", optarg);
            break;
        case 'M': {
            unsigned long long n =
                optarg[0] >= '0' && optarg[0] <= '9' ? strtoull(optarg, &end, 10) : 0;
            if (n < 1 || n > 1000000000ull || *end)
                return bad("--max-jobs must be 1 to 1000000000", optarg);
            tk.max_jobs = (unsigned long)n;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("runcue-agent %s\n", RC_VERSION_STRING);
            return 0;
        default:
            cli_bad_option("runcue-agent", c, argv, longs);
            return 2;
        }
    }
    if (!ao.conn.url) return bad("--url is required", NULL);
    if (!ao.n_services) return bad("name at least one --service", NULL);
    if (!n_tasks) return bad("name at least one --task", NULL);
    if (optind >= argc) return bad("no worker command (after --)", NULL);
    if (!argv[optind][0]) return bad("the worker command (after --) is empty", NULL);
    ao.services = services;
    ao.tasks = tasks;
    ao.n_tasks = n_tasks;
    ao.max_jobs = tk.max_jobs;

    rc_loop *loop;
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    rc_cue *cue;
    if (rc_loop_new(&loop, &lo) || rc_cue_new(&cue, loop, NULL)) return 1;
    agent_ctx ctx = {0};
    wo.argv = (const char *const *)&argv[optind];
    wo.mode = one_shot ? RC_WORKERS_ONE_SHOT : RC_WORKERS_POOL;
    wo.processes = one_shot ? 0 : ao.slots;
    for (size_t i = 0; i < n_tasks; i++) {
        if (rc_workers_new(&ctx.workers[i], cue, tasks[i], NULL, &wo)) {
            fprintf(stderr, "runcue-agent: task '%s': %s\n", tasks[i], rc_cue_errmsg(cue));
            close_all(&ctx, cue, loop);
            return 2;
        }
        ctx.n_workers++;
    }
    rc_shm_writer *writer = NULL;
    if (shm) {
        char err[256];
        if (rc_shm_publish(&writer, cue, shm, "runcue-agent", err, sizeof err)) {
            fprintf(stderr, "runcue-agent: --shm %s: %s\n", shm, err);
            close_all(&ctx, cue, loop);
            return 2;
        }
        shm_cleanup_on_signals(writer);
    }
    rc_redis_agent *a = NULL;
    int rc = rc_redis_agent_new(&a, cue, &ao, on_lost, &ctx);
    if (rc) {
        fprintf(stderr, "runcue-agent: %s\n", rc_redis_last_error());
        close_all(&ctx, cue, loop);
        return rc == RC_EINVAL ? 2 : 1;
    }
    /* A drain with or without a segment: SIGINT and SIGTERM only ask for
     * it (freeing the cue at the end removes the segment's name); SIGHUP
     * still removes the name and dies (shm_cleanup). */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    rc_timer t;
    tk.a = a;
    tk.busy_at = rc_loop_now(loop);
    rc_timer_init(&t, tick, &tk);
    rc_timer_start(loop, &t, rc_loop_now(loop));
    while (rc_loop_run(loop, RC_RUN_DEFAULT) > 0) {
        if (rc_redis_agent_status(a) == RC_REDIS_FAILED || stop_requested == 2) break;
        if (stop_requested) {
            rc_redis_agent_stats st;
            rc_redis_agent_stats_get(a, &st);
            if (st.running == 0 && st.finishing == 0) break;
        }
    }
    int status = 0;
    rc_redis_agent_stats st;
    rc_redis_agent_stats_get(a, &st);
    if (rc_redis_agent_status(a) == RC_REDIS_FAILED) {
        fprintf(stderr, "runcue-agent: %s\n", rc_redis_agent_errmsg(a));
        status = 1;
    } else if (stop_requested == 2 && (st.running || st.finishing)) {
        /* Their leases end and the jobs are delivered again. */
        fprintf(stderr,
                "runcue-agent: a second signal cut the drain short: %llu running, %llu "
                "finishes unanswered, left to their leases\n",
                (unsigned long long)st.running, (unsigned long long)st.finishing);
        status = 1;
    }
    rc_timer_stop(loop, &t);
    if (tk.why && status == 0) fprintf(stderr, "runcue-agent: %s: exiting\n", tk.why);
    fprintf(stderr,
            "runcue-agent: claimed %llu, finished %llu, refused as stale %llu, leases lost %llu, "
            "heartbeats %llu\n",
            (unsigned long long)st.claimed, (unsigned long long)st.finished,
            (unsigned long long)st.stale, (unsigned long long)st.lost,
            (unsigned long long)st.heartbeats);
    rc_redis_agent_free(a);
    close_all(&ctx, cue, loop);
    return status;
}
