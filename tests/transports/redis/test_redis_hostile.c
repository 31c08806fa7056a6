/*
 * test_redis_hostile.c -- a server that breaks the protocol.  A real
 * redis-server runs a copy of the functions library changed in one place
 * (same version, so the transport accepts it), or the test itself plays the
 * other side; the agent and the scheduler must check what they are sent:
 * no more jobs run than slots, a bad lease, wait, id or payload is a clear
 * error, and a result that is not JSON fails its work.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "redis_server.h"
#include "runcue_redis.h"
#include "runcue_transport.h"

#define NS "hostile"

static redis_server srv;

static void setup(void)
{
    if (!redis_server_available()) cr_skip_test("redis-server is not installed: skipped");
    cr_assert(redis_server_start(&srv, false, NULL), "redis-server did not start");
}

static void teardown(void)
{
    redis_server_stop(&srv);
}

TestSuite(redis_hostile, .init = setup, .fini = teardown, .timeout = 60);

static redisReply *cmd(int argc, const char **argv)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    redisFree(c);
    cr_assert(r);
    return r;
}

/* Load the library with `from` replaced by `to` (once). */
static void load_changed(const char *from, const char *to)
{
    const char *text = rc_redis_library_text();
    const char *at = strstr(text, from);
    cr_assert(at, "'%s' is not in the library", from);
    size_t n = strlen(text) + strlen(to) + 1;
    char *lib = malloc(n);
    snprintf(lib, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    redisReply *r = cmd(4, (const char *[]){"FUNCTION", "LOAD", "REPLACE", lib});
    cr_assert(r->type == REDIS_REPLY_STRING, "FUNCTION LOAD: %s", r->str);
    freeReplyObject(r);
    free(lib);
}

static long long fcalls(void)
{
    redisReply *r = cmd(2, (const char *[]){"INFO", "commandstats"});
    const char *p = strstr(r->str, "cmdstat_fcall:calls=");
    long long n = p ? atoll(p + strlen("cmdstat_fcall:calls=")) : 0;
    freeReplyObject(r);
    return n;
}

static char *job_field(const char *id, const char *field)
{
    char key[64];
    snprintf(key, sizeof key, "rc:{" NS "}:job:%s", id);
    redisReply *r = cmd(3, (const char *[]){"HGET", key, field});
    char *v = strdup(r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return v;
}

/* What the functions saw. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int running, peak, calls;

static rc_job_status echo(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)err, (void)errlen, (void)ud;
    pthread_mutex_lock(&mu);
    calls++;
    if (++running > peak) peak = running;
    pthread_mutex_unlock(&mu);
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&mu);
    running--;
    pthread_mutex_unlock(&mu);
    *result = cJSON_Duplicate(job->params, 1);
    return RC_JOB_OK;
}

typedef struct world {
    rc_loop *loop;
    rc_cue *sc, *ac;
    rc_redis *r;
    rc_pool *pool;
    rc_redis_agent *ag;
} world;

/* A scheduler (service "api", task "echo") and, if slots > 0, an agent
 * with a pool of 4 threads, on one loop. */
static void world_new(world *w, unsigned slots)
{
    memset(w, 0, sizeof *w);
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    cr_assert_eq(rc_loop_new(&w->loop, &lo), 0);
    cr_assert_eq(rc_cue_new(&w->sc, w->loop, NULL), 0);
    rc_redis_opts ro = {.conn = {.url = srv.url, .ns = NS}, .owner = "sched1"};
    cr_assert_eq(rc_redis_new(&w->r, w->sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_service(w->r, "api", NULL, -1, 2.0, 3), 0);
    cr_assert_eq(rc_redis_task(w->r, "echo", "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(w->r, 5), 0, "%s", rc_redis_errmsg(w->r));
    if (!slots) return;
    cr_assert_eq(rc_cue_new(&w->ac, w->loop, NULL), 0);
    cr_assert_eq(rc_pool_new(&w->pool, w->ac, 4), 0);
    cr_assert_eq(rc_pool_task(w->pool, "echo", NULL, echo, NULL), 0);
    const char *svcs[] = {"api"};
    rc_redis_agent_opts ao = {.conn = {.url = srv.url, .ns = NS},
                              .name = "agent1",
                              .services = svcs,
                              .n_services = 1,
                              .slots = slots};
    cr_assert_eq(rc_redis_agent_new(&w->ag, w->ac, &ao, NULL, NULL), 0, "%s",
                 rc_redis_last_error());
    cr_assert_eq(rc_redis_agent_wait_ready(w->ag, 5), 0, "%s", rc_redis_agent_errmsg(w->ag));
}

static void world_free(world *w)
{
    rc_redis_agent_free(w->ag);
    rc_pool_free(w->pool);
    rc_redis_free(w->r);
    if (w->ac) rc_cue_free(w->ac);
    rc_cue_free(w->sc);
    rc_loop_free(w->loop);
}

static rc_work_id submit(world *w, int i)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "i", i);
    rc_submit_opts so = {.params = p};
    rc_work_id id;
    cr_assert_eq(rc_submit(w->sc, "echo", &so, &id), 0);
    return id;
}

/* Run the loop for `seconds`, or until the scheduler's cue has finished n
 * works (n > 0); false if it timed out waiting for them. */
static void tick(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)arg;
    rc_timer_start(loop, t, rc_loop_now(loop) + rc_seconds(0.005));
}

static bool run(world *w, double seconds, uint64_t n)
{
    rc_timer t; /* wakes the loop: the deadline is checked at least every 5 ms */
    rc_timer_init(&t, tick, NULL);
    rc_timer_start(w->loop, &t, rc_loop_now(w->loop));
    rc_time until = rc_loop_now(w->loop) + rc_seconds(seconds);
    rc_stats st;
    bool done = n == 0;
    while (rc_loop_now(w->loop) < until) {
        rc_cue_stats(w->sc, &st);
        if (n && st.completed + st.failed >= n) {
            done = true;
            break;
        }
        rc_loop_run(w->loop, RC_RUN_ONCE);
    }
    rc_timer_stop(w->loop, &t);
    return done;
}

Test(redis_hostile, agent_never_runs_more_than_its_slots_and_holds_the_surplus)
{
    /* every claim takes 3 jobs more than the agent asked for */
    load_changed("while n < k and tries", "while n < k + 3 and tries");
    world w;
    world_new(&w, 1);
    enum { N = 6 };
    for (int i = 0; i < N; i++)
        submit(&w, i);
    cr_assert(run(&w, 20, N), "the works did not finish");
    rc_stats st;
    rc_cue_stats(w.sc, &st);
    cr_assert_eq(st.completed, N, "all completed (%llu failed)", (unsigned long long)st.failed);
    cr_assert_eq(peak, 1, "one slot, but %d ran at once", peak);
    cr_assert_eq(calls, N, "each job ran once");
    rc_redis_agent_stats as;
    rc_redis_agent_stats_get(w.ag, &as);
    cr_assert_eq(as.stale, 0);
    cr_assert_eq(as.lost, 0);
    world_free(&w);
}

Test(redis_hostile, a_lease_that_is_not_a_finite_number_is_refused)
{
    load_changed("out[o + 6] = fmt(svc.lease)", "out[o + 6] = 'inf'");
    world w;
    world_new(&w, 1);
    rc_work_id id = submit(&w, 1);
    cr_assert(run(&w, 10, 1));
    const rc_work *wk = rc_get(w.sc, id);
    cr_assert_eq(rc_work_state(wk), RC_FAILED);
    cr_assert(strstr(rc_work_error(wk), "bad lease length 'inf'"), "%s", rc_work_error(wk));
    cr_assert_eq(calls, 0, "not run");
    world_free(&w);
}

Test(redis_hostile, a_negative_wait_does_not_make_the_agent_spin)
{
    load_changed("local function f_claim(keys, args)\n",
                 "local function f_claim(keys, args)\n"
                 "    if true then return {'wait', '0', 'rate', '-5000000'} end\n");
    world w;
    world_new(&w, 1);
    long long before = fcalls();
    run(&w, 0.3, 0);
    long long claims = fcalls() - before;
    /* at most one claim a millisecond (RR_WAIT_MIN_S) */
    cr_assert(claims <= 320, "%lld claims in 0.3 s", claims);
    world_free(&w);
}

Test(redis_hostile, a_wait_that_is_not_a_number_waits_the_safety_poll)
{
    load_changed("local function f_claim(keys, args)\n",
                 "local function f_claim(keys, args)\n"
                 "    if true then return {'wait', '0', 'rate', 'nan'} end\n");
    world w;
    world_new(&w, 1);
    long long before = fcalls();
    run(&w, 0.5, 0);
    long long claims = fcalls() - before;
    cr_assert(claims <= 2, "%lld claims in 0.5 s", claims);
    world_free(&w);
}

Test(redis_hostile, an_overlong_job_id_is_refused_not_cut_short)
{
    /* an id of 41 bytes: one cut to 20 would name another job */
    load_changed("out[o + 1] = id\n", "out[o + 1] = id .. string.rep('0', 40)\n");
    world w;
    world_new(&w, 1);
    submit(&w, 1);
    run(&w, 0.5, 0);
    cr_assert_eq(calls, 0, "not run");
    cr_assert(strstr(rc_redis_agent_errmsg(w.ag), "job id or token"), "%s",
              rc_redis_agent_errmsg(w.ag));
    char *st = job_field("1", "st");
    cr_assert_str_eq(st, "leased", "left leased on the server, delivered again after its lease");
    free(st);
    world_free(&w);
}

Test(redis_hostile, a_payload_with_bytes_after_its_json_fails_the_job)
{
    world w;
    world_new(&w, 1);
    redisReply *r = cmd(11, (const char *[]){"FCALL", "runcue_enqueue", "1", "rc:{" NS "}", "api",
                                             "someone", "", "0.5", "echo", "{}xyz", ""});
    cr_assert(r->type == REDIS_REPLY_ARRAY, "%s", r->str);
    freeReplyObject(r);
    cr_assert_eq(rc_redis_agent_wait_ready(w.ag, 1), 0);
    rc_redis_agent_stats as = {0};
    rc_time until = rc_loop_now(w.loop) + rc_seconds(5);
    for (; as.finished + as.stale < 1 && rc_loop_now(w.loop) < until;
         rc_redis_agent_stats_get(w.ag, &as))
        rc_loop_run(w.loop, RC_RUN_ONCE);
    cr_assert_eq(as.finished, 1);
    cr_assert_eq(calls, 0, "not run");
    char *st = job_field("1", "st"), *err = job_field("1", "err");
    cr_assert_str_eq(st, "failed");
    cr_assert(strstr(err, "payload is not JSON"), "%s", err);
    free(st);
    free(err);
    world_free(&w);
}

Test(redis_hostile, an_ok_result_that_is_not_json_fails_the_work)
{
    world w;
    world_new(&w, 0);
    rc_work_id id = submit(&w, 1);
    run(&w, 0.2, 0);
    /* the test is the agent: it claims the job and finishes it "ok" with a
     * result that is not one JSON value */
    redisReply *c =
        cmd(7, (const char *[]){"FCALL", "runcue_claim", "1", "rc:{" NS "}", "t", "1", "api"});
    cr_assert(c->type == REDIS_REPLY_ARRAY && c->elements == 9, "claim: %s", c->str);
    redisReply *f =
        cmd(12, (const char *[]){"FCALL", "runcue_finish", "1", "rc:{" NS "}", "t", "1",
                                 c->element[2]->str, c->element[3]->str, "ok", "{}xyz", "", "0"});
    cr_assert(f->type == REDIS_REPLY_ARRAY && strcmp(f->element[0]->str, "ok") == 0);
    freeReplyObject(f);
    freeReplyObject(c);
    cr_assert(run(&w, 5, 1));
    const rc_work *wk = rc_get(w.sc, id);
    cr_assert_eq(rc_work_state(wk), RC_FAILED);
    cr_assert(strstr(rc_work_error(wk), "not JSON"), "%s", rc_work_error(wk));
    world_free(&w);
}

Test(redis_hostile, an_error_reply_with_control_characters_is_shown_with_marks)
{
    /* A claim refused with ESC [2J (clear the screen) and a C1 CSI in the
     * error: the agent's message keeps the words, not the controls. */
    load_changed("local function f_claim(keys, args)\n",
                 "local function f_claim(keys, args)\n"
                 "    if true then return redis.error_reply('nope \\27[2J \\194\\155" "1m x') end\n");
    world w;
    world_new(&w, 1);
    run(&w, 0.3, 0);
    const char *msg = rc_redis_agent_errmsg(w.ag);
    cr_assert(strstr(msg, "claim: nope ?[2J ??1m x"), "%s", msg);
    for (const char *p = msg; *p; p++) cr_assert((unsigned char)*p >= 0x20, "%s", msg);
    world_free(&w);
}
