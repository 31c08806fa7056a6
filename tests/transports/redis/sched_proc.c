/*
 * sched_proc.c -- a scheduler process for the Redis integration tests: a
 * cue whose task "job" runs on the remote service "api" (rc_redis).
 *
 *   sched_proc url=U ns=N owner=O dir=D [rate=R conc=C lease=S maxd=K
 *              first=F count=N ms=M mode=sleep]
 *
 * Submits work i = F .. F+N-1 with params {"mode": M, "ms": M, "i": i}.
 * Artifacts are files: work i is stale unless D/<i> exists, and on_complete
 * writes D/<i>, so a scheduler started again skips done work.  Prints, one
 * line each, flushed: "done I", "fail I ERROR", "skip I"; at the end
 * "stats enqueued=.. reattached=.. results=.. redelivered=.. dead=.. reconnects=..".
 * Exit 0 when every work is settled, 1 if the connection failed for good
 * (the message on stderr), 3 after 60 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runcue_redis.h"

static const char *dir = ".";

static int work_i(const rc_work *w)
{
    return cJSON_GetObjectItem(rc_work_params(w), "i")->valueint;
}

static int is_stale(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue, (void)chk, (void)ud;
    char path[600];
    snprintf(path, sizeof path, "%s/%d", dir, work_i(w));
    return access(path, F_OK) == 0 ? 0 : 1;
}

static void on_complete(rc_cue *cue, const rc_work *w, const cJSON *result, double d, void *ud)
{
    (void)cue, (void)d, (void)ud;
    char path[600];
    snprintf(path, sizeof path, "%s/%d", dir, work_i(w));
    FILE *f = fopen(path, "w");
    char *s = result ? cJSON_PrintUnformatted(result) : NULL;
    if (f) {
        fprintf(f, "%s\n", s ? s : "null");
        fclose(f);
    }
    cJSON_free(s);
    printf("done %d\n", work_i(w));
    fflush(stdout);
}

static void on_failure(rc_cue *cue, const rc_work *w, rc_fail_kind k, const char *err, void *ud)
{
    (void)cue, (void)k, (void)ud;
    printf("fail %d %s\n", work_i(w), err);
    fflush(stdout);
}

static void on_skip(rc_cue *cue, const rc_work *w, void *ud)
{
    (void)cue, (void)ud;
    printf("skip %d\n", work_i(w));
    fflush(stdout);
}

static void give_up(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    *(bool *)arg = true;
    rc_loop_stop(loop);
}

static const char *opt(int argc, char **argv, const char *name, const char *dflt)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
    return dflt;
}

int main(int argc, char **argv)
{
    rc_redis_opts ro = {.conn = {.url = opt(argc, argv, "url", NULL),
                                 .ns = opt(argc, argv, "ns", NULL),
                                 .password_env = opt(argc, argv, "password_env", NULL),
                                 .user = opt(argc, argv, "user", NULL)},
                        .owner = opt(argc, argv, "owner", "s1")};
    dir = opt(argc, argv, "dir", ".");
    int first = atoi(opt(argc, argv, "first", "0")), count = atoi(opt(argc, argv, "count", "1"));
    int ms = atoi(opt(argc, argv, "ms", "10"));
    const char *mode = opt(argc, argv, "mode", "sleep");

    rc_loop *loop;
    rc_cue *cue;
    if (rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}) ||
        rc_cue_new(&cue, loop, NULL))
        return 1;
    rc_cue_set_hooks(cue, &(rc_hooks){.is_stale = is_stale,
                                      .on_complete = on_complete,
                                      .on_failure = on_failure,
                                      .on_skip = on_skip});
    rc_redis *r;
    if (rc_redis_new(&r, cue, &ro)) {
        fprintf(stderr, "sched_proc: %s\n", rc_redis_last_error());
        return 1;
    }
    if (rc_redis_service(r, "api", opt(argc, argv, "rate", NULL),
                         atoi(opt(argc, argv, "conc", "-1")), atof(opt(argc, argv, "lease", "5")),
                         (unsigned)atoi(opt(argc, argv, "maxd", "3"))) ||
        rc_redis_task(r, "job", "api")) {
        fprintf(stderr, "sched_proc: %s\n", rc_redis_errmsg(r));
        return 2;
    }
    if (rc_redis_wait_ready(r, 10)) {
        fprintf(stderr, "sched_proc: %s\n", rc_redis_errmsg(r));
        return 1;
    }
    for (int i = first; i < first + count; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "mode", mode);
        cJSON_AddNumberToObject(p, "ms", ms);
        cJSON_AddNumberToObject(p, "i", i);
        rc_submit(cue, "job", &(rc_submit_opts){.params = p}, NULL);
    }
    bool timed_out = false;
    rc_timer t;
    rc_timer_init(&t, give_up, &timed_out);
    rc_timer_start(loop, &t, rc_loop_now(loop) + rc_seconds(60));
    rc_stats st;
    for (;;) {
        rc_cue_stats(cue, &st);
        if (st.completed + st.failed + st.skipped >= (uint64_t)count || timed_out) break;
        if (rc_redis_status(r) == RC_REDIS_FAILED) break;
        rc_loop_run(loop, RC_RUN_ONCE);
    }
    rc_timer_stop(loop, &t);
    rc_redis_stats rs;
    rc_redis_stats_get(r, &rs);
    printf("stats enqueued=%llu reattached=%llu results=%llu redelivered=%llu dead=%llu "
           "reconnects=%llu\n",
           (unsigned long long)rs.enqueued, (unsigned long long)rs.reattached,
           (unsigned long long)rs.results, (unsigned long long)rs.redelivered,
           (unsigned long long)rs.dead, (unsigned long long)rs.reconnects);
    fflush(stdout);
    int status = 0;
    if (rc_redis_status(r) == RC_REDIS_FAILED) {
        fprintf(stderr, "sched_proc: %s\n", rc_redis_errmsg(r));
        status = 1;
    } else if (timed_out) {
        status = 3;
    }
    /* work may still be running on a timeout: leave without freeing */
    if (status) return status;
    rc_redis_free(r);
    rc_cue_free(cue);
    rc_loop_free(loop);
    return 0;
}
