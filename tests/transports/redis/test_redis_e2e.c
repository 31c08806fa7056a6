/*
 * test_redis_e2e.c -- a scheduler (rc_redis) and an agent (rc_redis_agent
 * with a thread pool) on one loop, through a real redis-server: results come
 * back in order of their work, the global limits hold at the functions, a
 * wrong password and another library version are clear errors.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "redis_server.h"
#include "runcue_redis.h"
#include "runcue_transport.h"

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

TestSuite(redis_e2e, .init = setup, .fini = teardown, .timeout = 60);

/* What the functions saw: start times and how many ran at once. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int running, peak, calls;
/* k1 exists once the producer's worker has run (the artifact is made by
 * the work, before its finish is sent, as a real artifact would be) */
static bool k1_made;
static rc_time starts[256];

static rc_job_status echo(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)err, (void)errlen, (void)ud;
    pthread_mutex_lock(&mu);
    if (cJSON_GetObjectItem(job->params, "makes_k1")) k1_made = true;
    if (calls < 256) starts[calls] = rc_monotonic_now();
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

static void stop_at(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    *(bool *)arg = true;
    rc_loop_stop(loop);
}

/* Run the loop until the cue has completed `n` or timeout_s passes. */
static void run_until_completed(rc_loop *loop, rc_cue *cue, uint64_t n, double timeout_s)
{
    bool timed_out = false;
    rc_timer t;
    rc_timer_init(&t, stop_at, &timed_out);
    rc_timer_start(loop, &t, rc_loop_now(loop) + rc_seconds(timeout_s));
    rc_stats st;
    for (;;) {
        rc_cue_stats(cue, &st);
        if (st.completed + st.failed >= n || timed_out) break;
        rc_loop_run(loop, RC_RUN_ONCE);
    }
    rc_timer_stop(loop, &t);
    cr_assert(!timed_out, "timed out: %llu of %llu finished",
              (unsigned long long)(st.completed + st.failed), (unsigned long long)n);
}

static void stop_flag(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    *(bool *)arg = true;
    rc_loop_stop(loop);
}

/* The loop, left to itself, stops within 15 s: nothing keeps it alive. */
static void goes_idle(rc_loop *loop)
{
    bool late = false;
    rc_timer t;
    rc_timer_init(&t, stop_flag, &late);
    rc_timer_set_ref(&t, false);
    rc_timer_start(loop, &t, rc_loop_now(loop) + rc_seconds(15));
    rc_loop_run(loop, RC_RUN_DEFAULT);
    rc_timer_stop(loop, &t);
    cr_assert(!late, "nothing in flight, yet the loop ran 15 s");
}

/* An agent named name serving the service api of namespace ns through the
 * tasks of cue ac, with slots; ready unless wait is false. */
static rc_redis_agent *agent_new(rc_cue *ac, const char *ns, const char *name, unsigned slots,
                                 bool wait)
{
    const char *svcs[] = {"api"};
    rc_redis_agent_opts ao = {.conn = {.url = srv.url, .ns = ns},
                              .name = name,
                              .services = svcs,
                              .n_services = 1,
                              .slots = slots};
    rc_redis_agent *ag;
    cr_assert_eq(rc_redis_agent_new(&ag, ac, &ao, NULL, NULL), 0, "%s", rc_redis_last_error());
    if (wait) cr_assert_eq(rc_redis_agent_wait_ready(ag, 5), 0, "%s", rc_redis_agent_errmsg(ag));
    return ag;
}

/* A loop, a scheduler's cue and rc_redis (owner s1) in namespace ns, with
 * the service api (2 at once, 5 s leases, 3 deliveries) and the tasks given,
 * ready. */
static rc_redis *sched_new(rc_loop **loop, rc_cue **sc, const char *ns, const char *const *tasks,
                           size_t n_tasks)
{
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    cr_assert_eq(rc_loop_new(loop, &lo), 0);
    cr_assert_eq(rc_cue_new(sc, *loop, NULL), 0);
    rc_redis_opts ro = {.conn = {.url = srv.url, .ns = ns}, .owner = "s1"};
    rc_redis *r;
    cr_assert_eq(rc_redis_new(&r, *sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_service(r, "api", NULL, 2, 5.0, 3), 0);
    for (size_t i = 0; i < n_tasks; i++)
        cr_assert_eq(rc_redis_task(r, tasks[i], "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(r, 5), 0, "%s", rc_redis_errmsg(r));
    return r;
}

/* A scheduler (sched_new, the task echo) and an agent (agent1, a pool of
 * `threads` running fn as echo, `slots`) on one loop. */
typedef struct world {
    rc_loop *loop;
    rc_cue *sc, *ac;
    rc_redis *r;
    rc_pool *pool;
    rc_redis_agent *ag;
} world;

static void world_new(world *w, const char *ns, rc_blocking_fn fn, unsigned threads, unsigned slots)
{
    const char *tasks[] = {"echo"};
    w->r = sched_new(&w->loop, &w->sc, ns, tasks, 1);
    cr_assert_eq(rc_cue_new(&w->ac, w->loop, NULL), 0);
    cr_assert_eq(rc_pool_new(&w->pool, w->ac, threads), 0);
    cr_assert_eq(rc_pool_task(w->pool, "echo", NULL, fn, NULL), 0);
    w->ag = agent_new(w->ac, ns, "agent1", slots, true);
}

static void world_free(world *w)
{
    rc_redis_agent_free(w->ag);
    rc_pool_free(w->pool);
    rc_redis_free(w->r);
    rc_cue_free(w->ac);
    rc_cue_free(w->sc);
    rc_loop_free(w->loop);
}

Test(redis_e2e, scheduler_and_agent_limits_hold)
{
    rc_loop *loop;
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    cr_assert_eq(rc_loop_new(&loop, &lo), 0);
    rc_cue *sc, *ac;
    cr_assert_eq(rc_cue_new(&sc, loop, NULL), 0);
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);

    rc_redis_opts ro = {.conn = {.url = srv.url, .ns = "e2e"}, .owner = "sched1"};
    rc_redis *r;
    cr_assert_eq(rc_redis_new(&r, sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_service(r, "api", "10/0.2", 2, 2.0, 3), 0);
    cr_assert_eq(rc_redis_task(r, "echo", "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(r, 5), 0, "%s", rc_redis_errmsg(r));

    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 4), 0);
    cr_assert_eq(rc_pool_task(pool, "echo", NULL, echo, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "e2e", "agent1", 4, true);

    enum { N = 30 };
    rc_work_id ids[N];
    for (int i = 0; i < N; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "i", i);
        rc_submit_opts so = {.params = p};
        cr_assert_eq(rc_submit(sc, "echo", &so, &ids[i]), 0);
    }
    run_until_completed(loop, sc, N, 20);
    rc_stats st;
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.completed, N);
    for (int i = 0; i < N; i++) {
        const rc_work *w = rc_get(sc, ids[i]);
        const cJSON *res = rc_work_result(w);
        cr_assert(res, "work %d has no result", i);
        cr_assert_eq(cJSON_GetObjectItem(res, "i")->valueint, i);
    }
    cr_assert_eq(calls, N, "each work ran once");
    cr_assert(peak <= 2, "at most 2 at once, saw %d", peak);
    /* never more than 10 starts in any 0.2 s, from the functions' own clock
     * (the server admits on its clock; the way from admission to a thread
     * varies by a few milliseconds, hence the 30 ms allowance) */
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (starts[j] < starts[i]) {
                rc_time t = starts[i];
                starts[i] = starts[j];
                starts[j] = t;
            }
    for (int i = 0; i + 10 < N; i++)
        cr_assert(starts[i + 10] - starts[i] >= rc_seconds(0.17), "11 starts within %.3f s",
                  rc_to_seconds(starts[i + 10] - starts[i]));
    rc_redis_stats rs;
    rc_redis_stats_get(r, &rs);
    cr_assert_eq(rs.results, N);
    cr_assert_eq(rs.in_flight, 0);
    /* the agent hears its last finish confirmed after the scheduler has the
     * result: give it the moment */
    rc_redis_agent_stats as;
    rc_time until = rc_loop_now(loop) + rc_seconds(5);
    for (rc_redis_agent_stats_get(ag, &as); as.finished < N && rc_loop_now(loop) < until;
         rc_redis_agent_stats_get(ag, &as))
        rc_loop_run(loop, RC_RUN_ONCE);
    cr_assert_eq(as.finished, N);
    cr_assert_eq(as.stale, 0);

    world_free(&(world){loop, sc, ac, r, pool, ag});
}

static void expect_failure(const char *url, const char *pw_env, const char *want)
{
    rc_loop *loop;
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    cr_assert_eq(rc_loop_new(&loop, &lo), 0);
    rc_cue *sc;
    cr_assert_eq(rc_cue_new(&sc, loop, NULL), 0);
    rc_redis_opts ro = {.conn = {.url = url, .ns = "e2e", .password_env = pw_env}, .owner = "s"};
    rc_redis *r;
    cr_assert_eq(rc_redis_new(&r, sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_wait_ready(r, 5), RC_ESYS);
    cr_assert_eq(rc_redis_status(r), RC_REDIS_FAILED);
    cr_assert(strstr(rc_redis_errmsg(r), want), "message: %s", rc_redis_errmsg(r));
    rc_redis_free(r);
    rc_cue_free(sc);
    rc_loop_free(loop);
}

Test(redis_e2e, other_library_version_refused)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *rep = redisCommand(c, "FUNCTION LOAD %s",
                                   "#!lua name=runcue\n"
                                   "redis.register_function{function_name='runcue_version', "
                                   "callback=function() return '0' end, flags={'no-writes'}}");
    cr_assert(rep && rep->type == REDIS_REPLY_STRING, "%s", rep ? rep->str : "");
    freeReplyObject(rep);
    redisFree(c);
    expect_failure(srv.url, NULL, "version 0 of the runcue functions library");
    /* and it is still there: not replaced */
    c = redisConnectUnix(srv.sock);
    rep = redisCommand(c, "FCALL_RO runcue_version 0");
    cr_assert_str_eq(rep->str, "0");
    freeReplyObject(rep);
    redisFree(c);
}

Test(redis_e2e, wrong_password_and_bad_options)
{
    redis_server_stop(&srv);
    cr_assert(redis_server_start(&srv, false, "requirepass right-one"));
    setenv("RC_TEST_PW", "wrong-one", 1);
    expect_failure(srv.url, "RC_TEST_PW", "refused the login");

    rc_loop *loop;
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    cr_assert_eq(rc_loop_new(&loop, &lo), 0);
    rc_cue *sc;
    cr_assert_eq(rc_cue_new(&sc, loop, NULL), 0);
    rc_redis *r;
    rc_redis_opts ro = {.conn = {.url = "redis://u:secret@localhost:1"}, .owner = "s"};
    cr_assert_eq(rc_redis_new(&r, sc, &ro), RC_EINVAL);
    cr_assert(strstr(rc_redis_last_error(), "password in the Redis URL is refused"));
    ro.conn.url = srv.url;
    ro.conn.ns = "bad ns";
    cr_assert_eq(rc_redis_new(&r, sc, &ro), RC_EINVAL);
    ro.conn.ns = NULL;
    ro.conn.password_file = "/nonexistent/pw";
    cr_assert_eq(rc_redis_new(&r, sc, &ro), RC_ESYS);
    cr_assert(strstr(rc_redis_last_error(), "password file"));
    rc_cue_free(sc);
    rc_loop_free(loop);
}

/* ---- artifacts announced by another scheduler ---- */

static int needs_k1(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue, (void)w, (void)ud;
    pthread_mutex_lock(&mu);
    bool made = k1_made;
    pthread_mutex_unlock(&mu);
    if (made) return 1;
    rc_check_wait_on(chk, "k1");
    return 0;
}

Test(redis_e2e, another_schedulers_artifact_wakes_waiting_work)
{
    rc_loop *loop;
    rc_loop_opts lo = {.clock = RC_CLOCK_MONOTONIC};
    cr_assert_eq(rc_loop_new(&loop, &lo), 0);
    rc_cue *ca, *cb, *ac;
    cr_assert_eq(rc_cue_new(&ca, loop, NULL), 0);
    cr_assert_eq(rc_cue_new(&cb, loop, NULL), 0);
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    rc_cue_set_hooks(cb, &(rc_hooks){.is_ready = needs_k1});
    rc_redis *ra, *rb;
    rc_redis_opts oa = {.conn = {.url = srv.url, .ns = "art"}, .owner = "sa"};
    rc_redis_opts ob = {.conn = {.url = srv.url, .ns = "art"}, .owner = "sb"};
    cr_assert_eq(rc_redis_new(&ra, ca, &oa), 0);
    cr_assert_eq(rc_redis_new(&rb, cb, &ob), 0);
    cr_assert_eq(rc_redis_service(ra, "api", NULL, 2, 2.0, 3), 0);
    cr_assert_eq(rc_redis_service(rb, "api", NULL, 2, 2.0, 3), 0);
    cr_assert_eq(rc_redis_task(ra, "echo", "api"), 0);
    cr_assert_eq(rc_redis_task(rb, "echo", "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(ra, 5), 0, "%s", rc_redis_errmsg(ra));
    cr_assert_eq(rc_redis_wait_ready(rb, 5), 0, "%s", rc_redis_errmsg(rb));
    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 2), 0);
    cr_assert_eq(rc_pool_task(pool, "echo", NULL, echo, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "art", "ag", 2, true);

    /* B's work waits on k1 with nothing of B's in flight; A makes k1 */
    cJSON *pb = cJSON_CreateObject();
    cJSON_AddStringToObject(pb, "w", "consumer");
    cr_assert_eq(rc_submit(cb, "echo", &(rc_submit_opts){.params = pb}, NULL), 0);
    rc_loop_run(loop, RC_RUN_NOWAIT);
    rc_stats st;
    rc_cue_stats(cb, &st);
    cr_assert_eq(st.waiting, 1);
    const char *prod[] = {"k1"};
    cJSON *pa = cJSON_CreateObject();
    cJSON_AddStringToObject(pa, "w", "producer");
    cJSON_AddTrueToObject(pa, "makes_k1");
    cr_assert_eq(rc_submit(ca, "echo",
                           &(rc_submit_opts){.params = pa, .produces = prod, .n_produces = 1},
                           NULL),
                 0);
    run_until_completed(loop, ca, 1, 10);
    run_until_completed(loop, cb, 1, 10);
    rc_redis_stats sb;
    rc_redis_stats_get(rb, &sb);
    cr_assert(sb.artifacts_seen >= 1, "B heard of k1 through the artifacts stream");
    rc_redis_stats_get(ra, &sb);
    cr_assert_eq(sb.artifacts_seen, 0, "A does not hear its own artifacts back");

    rc_redis_agent_free(ag);
    rc_pool_free(pool);
    rc_redis_free(ra);
    rc_redis_free(rb);
    rc_cue_free(ac);
    rc_cue_free(ca);
    rc_cue_free(cb);
    rc_loop_free(loop);
}

/* Run the loop in 50 ms steps until `want` items of the cue's blocked list
 * wait remotely with `needle` in their sentence, or timeout_s passes; the
 * list printed as rc_blocked_print writes it into out. */
static bool wait_remote(rc_loop *loop, rc_cue *cue, const char *needle, size_t want,
                        double timeout_s, char *out, size_t cap)
{
    bool timed_out = false;
    rc_timer t;
    rc_timer_init(&t, stop_at, &timed_out);
    rc_timer_start(loop, &t, rc_loop_now(loop) + rc_seconds(timeout_s));
    size_t hits = 0;
    while (!timed_out) {
        rc_blocked *list;
        size_t n;
        cr_assert_eq(rc_debug_blocked(cue, &list, &n), 0);
        hits = 0;
        for (size_t i = 0; i < n; i++)
            hits += list[i].reason == RC_BLOCK_REMOTE && strstr(list[i].detail, needle);
        FILE *f = fmemopen(out, cap, "w");
        rc_blocked_print(cue, list, n, 10, f);
        fclose(f);
        rc_blocked_free(cue, list);
        if (hits == want) break;
        rc_timer tick;
        rc_timer_init(&tick, stop_at, &(bool){false});
        rc_timer_start(loop, &tick, rc_loop_now(loop) + rc_seconds(0.05));
        rc_loop_run(loop, RC_RUN_DEFAULT);
        rc_timer_stop(loop, &tick);
    }
    rc_timer_stop(loop, &t);
    return hits == want;
}

Test(redis_e2e, remote_reasons_in_debug_blocked)
{
    rc_loop *loop;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), 0);
    rc_cue *sc;
    cr_assert_eq(rc_cue_new(&sc, loop, NULL), 0);
    rc_redis_opts ro = {.conn = {.url = srv.url, .ns = "why"}, .owner = "s"};
    rc_redis *r;
    cr_assert_eq(rc_redis_new(&r, sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_service(r, "api", "1/60", -1, 30, 3), 0);
    cr_assert_eq(rc_redis_task(r, "echo", "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(r, 5), 0, "%s", rc_redis_errmsg(r));
    for (int i = 0; i < 3; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "i", i);
        cr_assert_eq(rc_submit(sc, "echo", &(rc_submit_opts){.params = p}, NULL), 0);
    }
    /* no agent yet: all three wait in the remote queue */
    char text[4096];
    cr_assert(wait_remote(loop, sc, "remote: 0 leased, 3 queued", 3, 5, text, sizeof text),
              "blocked list:\n%s", text);
    cr_assert(strstr(text, ": remote - remote: 0 leased, 3 queued"), "%s", text);

    /* an agent claims one: the rate of 1 per 60 s is used up */
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *rep = redisCommand(c, "FCALL runcue_claim 1 rc:{why} x 1 api");
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && !strcmp(rep->element[0]->str, "jobs"));
    freeReplyObject(rep);
    cr_assert(wait_remote(loop, sc,
                          "remote: 1 leased, 2 queued; global rate 1 per 60s reached, "
                          "next start at t=",
                          3, 5, text, sizeof text),
              "blocked list:\n%s", text);
    redisFree(c);
    rc_redis_free(r);
    rc_cue_free(sc);
    rc_loop_free(loop);
}

/* ---- a server out of memory (maxmemory reached, noeviction) ---- */

/* Fill the server past its maxmemory (each SET is admitted while under it),
 * or empty it again. */
static void server_fill(bool full)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *rep = full ? redisCommand(c, "EVAL %s 0",
                                          "local s = string.rep('x', 1000000) "
                                          "for i = 1, 6 do redis.call('SET', 'junk' .. i, s) end")
                           : redisCommand(c, "DEL junk1 junk2 junk3 junk4 junk5 junk6");
    cr_assert(rep && rep->type != REDIS_REPLY_ERROR, "%s", rep ? rep->str : c->errstr);
    freeReplyObject(rep);
    redisFree(c);
}

static void server_kill_clients(void)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    freeReplyObject(redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes"));
    redisFree(c);
}

static void run_for(rc_loop *loop, double seconds)
{
    bool done = false;
    rc_timer t;
    rc_timer_init(&t, stop_at, &done);
    rc_timer_start(loop, &t, rc_loop_now(loop) + rc_seconds(seconds));
    while (!done)
        rc_loop_run(loop, RC_RUN_ONCE);
}

/* Run the loop until r has enqueued n works in all, at most 5 s; its stats. */
static rc_redis_stats wait_enqueued(rc_loop *loop, rc_redis *r, uint64_t n)
{
    rc_redis_stats rs = {0};
    for (int k = 0; k < 500 && rs.enqueued < n; k++) {
        run_for(loop, 0.01);
        rc_redis_stats_get(r, &rs);
    }
    return rs;
}

/* The job fills the server before it returns: its finish meets the OOM. */
static rc_job_status fill_then_echo(const rc_job *job, cJSON **result, char *err, size_t errlen,
                                    void *ud)
{
    (void)err, (void)errlen, (void)ud;
    pthread_mutex_lock(&mu);
    calls++;
    pthread_mutex_unlock(&mu);
    server_fill(true);
    *result = cJSON_Duplicate(job->params, 1);
    return RC_JOB_OK;
}

static void oom_server(void)
{
    redis_server_stop(&srv);
    cr_assert(redis_server_start(&srv, false, "maxmemory 4mb\nmaxmemory-policy noeviction"));
}

Test(redis_e2e, a_full_server_delays_enqueues_and_reconnects_never_fails_work)
{
    world w;
    oom_server();
    world_new(&w, "oom", echo, 2, 2);
    rc_loop *loop = w.loop;
    rc_cue *sc = w.sc;
    rc_redis *r = w.r;

    /* Full: the enqueue is refused, and so are the registration and the
     * results group sent again once the connections are dropped. */
    server_fill(true);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "i", 7);
    cr_assert_eq(rc_submit(sc, "echo", &(rc_submit_opts){.params = p}, NULL), 0);
    run_for(loop, 0.5);
    server_kill_clients();
    run_for(loop, 1.5);
    cr_assert_neq(rc_redis_status(r), RC_REDIS_FAILED, "%s", rc_redis_errmsg(r));
    rc_stats st;
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.failed, 0, "the work failed while the server was full");
    rc_redis_stats rs;
    rc_redis_stats_get(r, &rs);
    cr_assert_eq(rs.in_flight, 1);
    /* reconnects back off: a few, not one every 50 ms */
    cr_assert_leq(rs.reconnects, 8, "%llu reconnects in 2 s", (unsigned long long)rs.reconnects);

    server_fill(false);
    run_until_completed(loop, sc, 1, 15);
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.completed, 1);
    cr_assert_eq(calls, 1);

    world_free(&w);
}

Test(redis_e2e, a_finish_refused_by_a_full_server_is_sent_again_not_dropped)
{
    world w;
    oom_server();
    world_new(&w, "oom", fill_then_echo, 2, 2);
    rc_loop *loop = w.loop;
    rc_cue *sc = w.sc;
    rc_redis_agent *ag = w.ag;

    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "i", 7);
    cr_assert_eq(rc_submit(sc, "echo", &(rc_submit_opts){.params = p}, NULL), 0);
    /* the job ran and filled the server: its finish is refused meanwhile */
    rc_redis_agent_stats as;
    rc_time until = rc_loop_now(loop) + rc_seconds(5);
    for (rc_redis_agent_stats_get(ag, &as); as.finishing == 0 && rc_loop_now(loop) < until;
         rc_redis_agent_stats_get(ag, &as))
        rc_loop_run(loop, RC_RUN_ONCE);
    run_for(loop, 1.0);
    rc_redis_agent_stats_get(ag, &as);
    cr_assert_eq(as.stale, 0, "a finish refused for memory was counted stale");
    cr_assert_eq(as.finishing, 1, "the finish was dropped");

    server_fill(false);
    run_until_completed(loop, sc, 1, 4); /* well within the 5 s lease */
    rc_stats st;
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.completed, 1);
    cr_assert_eq(calls, 1, "the job ran %d times", calls);
    until = rc_loop_now(loop) + rc_seconds(5);
    for (rc_redis_agent_stats_get(ag, &as); as.finished < 1 && rc_loop_now(loop) < until;
         rc_redis_agent_stats_get(ag, &as))
        rc_loop_run(loop, RC_RUN_ONCE);
    cr_assert_eq(as.finished, 1);
    cr_assert_eq(as.stale, 0);

    world_free(&w);
}

Test(redis_e2e, a_restarted_scheduler_reads_every_result_left_pending_not_the_first_512)
{
    /* 600 results for scheduler s1 were read by an earlier run of it and
     * never acknowledged: pending in its group.  Started again, it reads
     * them all (a batch of 512, then the rest), not the first batch only. */
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *rep = redisCommand(c, "XGROUP CREATE rc:{pend}:res:s1 runcue 0 MKSTREAM");
    cr_assert(rep && rep->type == REDIS_REPLY_STATUS, "%s", rep ? rep->str : c->errstr);
    freeReplyObject(rep);
    enum { N = 600 };
    for (int i = 0; i < N; i++) {
        rep = redisCommand(c,
                           "XADD rc:{pend}:res:s1 * id %d status ok dd d%d result {} error "
                           "\"\" dl 1",
                           100000 + i, i);
        cr_assert(rep && rep->type == REDIS_REPLY_STRING);
        freeReplyObject(rep);
    }
    rep = redisCommand(c, "XREADGROUP GROUP runcue s1 COUNT 1000 STREAMS rc:{pend}:res:s1 >");
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY);
    freeReplyObject(rep);

    rc_loop *loop;
    rc_cue *sc;
    const char *tasks[] = {"echo"};
    rc_redis *r = sched_new(&loop, &sc, "pend", tasks, 1);
    /* A work in flight (no agent runs it): the results are read meanwhile. */
    cr_assert_eq(rc_submit(sc, "echo", NULL, NULL), 0);
    rc_redis_stats rs = {0};
    for (int k = 0; k < 200 && rs.results < N; k++) {
        run_for(loop, 0.01);
        rc_redis_stats_get(r, &rs);
    }
    cr_assert_eq(rs.results, N, "read %llu of the %d pending results",
                 (unsigned long long)rs.results, N);
    rc_redis_free(r);
    rc_cue_free(sc);
    rc_loop_free(loop);
    redisFree(c);
}

/* ---- params, results and messages of every size ---- */

/* The calls of FCALL the server has answered (INFO commandstats). */
static long long fcall_calls(redisContext *c)
{
    redisReply *rep = redisCommand(c, "INFO commandstats");
    cr_assert(rep && rep->type == REDIS_REPLY_STRING);
    const char *p = strstr(rep->str, "cmdstat_fcall:calls=");
    long long n = p ? atoll(p + strlen("cmdstat_fcall:calls=")) : 0;
    freeReplyObject(rep);
    return n;
}

/* params {"s": "xxx..."} with a string of n bytes */
static cJSON *params_of(size_t n)
{
    char *s = malloc(n + 1);
    cr_assert(s);
    memset(s, 'x', n);
    s[n] = '\0';
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "s", s);
    free(s);
    return p;
}

Test(redis_e2e, params_over_the_limit_fail_at_once_and_big_ones_go_a_few_to_a_call)
{
    rc_loop *loop;
    rc_cue *sc;
    const char *tasks[] = {"echo"};
    rc_redis *r = sched_new(&loop, &sc, "big", tasks, 1);
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);

    /* 64 MiB and a byte of params: failed here, never sent */
    rc_work_id big;
    const long long before = fcall_calls(c);
    rc_submit_opts so = {.params = params_of((size_t)64 << 20)};
    cr_assert_eq(rc_submit(sc, "echo", &so, &big), 0);
    run_until_completed(loop, sc, 1, 10);
    const char *e = rc_work_error(rc_get(sc, big));
    cr_assert(e && strstr(e, "params of 67108872 bytes: the server takes at most 64 MiB"), "%s",
              e ? e : "(none)");
    cr_assert_eq(fcall_calls(c), before, "the params were sent");

    /* three of 10 MiB: one call each (16 MiB a call), not one of 30 MiB */
    for (int i = 0; i < 3; i++) {
        so.params = params_of((size_t)10 << 20);
        cr_assert_eq(rc_submit(sc, "echo", &so, NULL), 0);
    }
    rc_redis_stats rs = wait_enqueued(loop, r, 3);
    cr_assert_eq(rs.enqueued, 3);
    cr_assert_eq(fcall_calls(c) - before, 3, "%lld calls for three enqueues",
                 fcall_calls(c) - before);
    /* and small ones still go together */
    for (int i = 0; i < 20; i++)
        cr_assert_eq(rc_submit(sc, "echo", NULL, NULL), 0);
    rs = wait_enqueued(loop, r, 23);
    cr_assert_eq(rs.enqueued, 23);
    cr_assert_eq(fcall_calls(c) - before, 4, "%lld calls", fcall_calls(c) - before);

    redisFree(c);
    rc_redis_free(r);
    rc_cue_free(sc);
    rc_loop_free(loop);
}

/* A result one byte over the limit: the JSON string of 64 MiB - 1 bytes
 * prints with its quotes as 64 MiB + 1. */
static rc_job_status huge_result(const rc_job *job, cJSON **result, char *err, size_t errlen,
                                 void *ud)
{
    (void)job, (void)err, (void)errlen, (void)ud;
    pthread_mutex_lock(&mu);
    calls++;
    pthread_mutex_unlock(&mu);
    const size_t n = ((size_t)64 << 20) - 1;
    char *s = malloc(n + 1);
    if (!s) return RC_JOB_RETRY;
    memset(s, 'r', n);
    s[n] = '\0';
    *result = cJSON_CreateString(s);
    free(s);
    return RC_JOB_OK;
}

/* A failure whose message is "x" and 50,000 two-byte characters. */
static void long_message(rc_cue *cue, const rc_work *work, rc_token tok, void *ud)
{
    (void)work, (void)ud;
    calls++;
    const size_t n = 1 + 2 * 50000;
    char *m = malloc(n + 1);
    cr_assert(m);
    m[0] = 'x';
    for (size_t i = 1; i < n; i += 2)
        m[i] = (char)0xC3, m[i + 1] = (char)0xA9; /* é */
    m[n] = '\0';
    rc_fail(cue, tok, m);
    free(m);
}

Test(redis_e2e, a_result_over_the_limit_fails_its_job_once_and_a_long_message_is_cut_whole)
{
    rc_loop *loop;
    rc_cue *sc, *ac;
    const char *tasks[] = {"huge", "wordy"};
    rc_redis *r = sched_new(&loop, &sc, "big", tasks, 2);
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);

    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 1), 0);
    cr_assert_eq(rc_pool_task(pool, "huge", NULL, huge_result, NULL), 0);
    cr_assert_eq(rc_service(ac, "words", NULL, 1), 0);
    cr_assert_eq(rc_task(ac, "wordy", "words", long_message, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "big", "agent1", 2, true);

    rc_work_id huge, wordy;
    cr_assert_eq(rc_submit(sc, "huge", NULL, &huge), 0);
    cr_assert_eq(rc_submit(sc, "wordy", NULL, &wordy), 0);
    run_until_completed(loop, sc, 2, 20);
    rc_stats st;
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.failed, 2);
    const char *e = rc_work_error(rc_get(sc, huge));
    cr_assert(e && strstr(e, "the result of 67108865 bytes is over the 64 MiB the server takes"),
              "%s", e ? e : "(none)");
    e = rc_work_error(rc_get(sc, wordy));
    cr_assert(e);
    /* 65,536 bytes would end inside an é: the cut keeps whole ones */
    cr_assert_eq(strlen(e), 65535);
    cr_assert_eq(e[0], 'x');
    cr_assert_eq((unsigned char)e[65533], 0xC3);
    cr_assert_eq((unsigned char)e[65534], 0xA9);
    cr_assert_eq(calls, 2, "the jobs ran %d times", calls);
    rc_redis_agent_stats as;
    rc_redis_agent_stats_get(ag, &as);
    cr_assert_eq(as.stale, 0);

    world_free(&(world){loop, sc, ac, r, pool, ag});
}

/* ---- the dedupe key and results already taken ---- */

Test(redis_e2e, work_submitted_again_after_its_result_was_taken_runs_again)
{
    /* The same task and params submitted again once the first result was
     * applied (an artifact invalidated, the work resubmitted): it runs again,
     * and is not handed the old result.  Two at once still run once. */
    world w;
    world_new(&w, "again", echo, 2, 2);
    rc_loop *loop = w.loop;
    rc_cue *sc = w.sc;

    rc_submit_opts so = {.params = cJSON_Parse("{\"i\": 1}")};
    cr_assert_eq(rc_submit(sc, "echo", &so, NULL), 0);
    run_until_completed(loop, sc, 1, 10);
    cr_assert_eq(calls, 1);
    /* the result is applied and acknowledged: give the acknowledgement its moment */
    run_for(loop, 0.2);
    so.params = cJSON_Parse("{\"i\": 1}");
    cr_assert_eq(rc_submit(sc, "echo", &so, NULL), 0);
    run_until_completed(loop, sc, 2, 10);
    cr_assert_eq(calls, 2, "the work submitted again was handed the old result");
    /* two submitted together: one job, both completed by it */
    for (int k = 0; k < 2; k++) {
        so.params = cJSON_Parse("{\"i\": 2}");
        cr_assert_eq(rc_submit(sc, "echo", &so, NULL), 0);
    }
    run_until_completed(loop, sc, 4, 10);
    cr_assert_eq(calls, 3, "two at once ran %d times", calls - 2);
    rc_stats st;
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.completed, 4);
    world_free(&w);
}

Test(redis_e2e, a_restarted_scheduler_takes_the_unread_result_of_its_work_without_a_rerun)
{
    /* The scheduler goes away with its work in flight; the job finishes and
     * its result waits unread.  The scheduler started again (same owner)
     * submits the same work: it gets that result, and nothing runs again. */
    rc_loop *loop;
    rc_cue *sc, *ac;
    const char *tasks[] = {"echo"};
    rc_redis *r = sched_new(&loop, &sc, "unread", tasks, 1);
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 1), 0);
    cr_assert_eq(rc_pool_task(pool, "echo", NULL, echo, NULL), 0);
    rc_submit_opts so = {.params = cJSON_Parse("{\"i\": 5}")};
    cr_assert_eq(rc_submit(sc, "echo", &so, NULL), 0);
    rc_redis_stats rs = wait_enqueued(loop, r, 1);
    cr_assert_eq(rs.enqueued, 1);
    rc_redis_free(r);
    rc_cue_free(sc);

    rc_redis_agent *ag = agent_new(ac, "unread", "agent1", 1, false);
    rc_redis_agent_stats as = {0};
    for (int k = 0; k < 500 && as.finished < 1; k++) {
        run_for(loop, 0.01);
        rc_redis_agent_stats_get(ag, &as);
    }
    cr_assert_eq(as.finished, 1);
    cr_assert_eq(calls, 1);

    cr_assert_eq(rc_cue_new(&sc, loop, NULL), 0);
    rc_redis_opts ro = {.conn = {.url = srv.url, .ns = "unread"}, .owner = "s1"};
    cr_assert_eq(rc_redis_new(&r, sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_service(r, "api", NULL, 2, 5.0, 3), 0);
    cr_assert_eq(rc_redis_task(r, "echo", "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(r, 5), 0, "%s", rc_redis_errmsg(r));
    rc_work_id id;
    so.params = cJSON_Parse("{\"i\": 5}");
    cr_assert_eq(rc_submit(sc, "echo", &so, &id), 0);
    run_until_completed(loop, sc, 1, 10);
    const cJSON *res = rc_work_result(rc_get(sc, id));
    cr_assert(res && cJSON_GetObjectItem(res, "i") && cJSON_GetObjectItem(res, "i")->valueint == 5);
    cr_assert_eq(calls, 1, "the work ran again");
    rc_redis_stats_get(r, &rs);
    cr_assert_eq(rs.reattached, 1);
    /* its stream entry, read after, is nobody's: acknowledged, not kept */
    rc_redis_agent_free(ag);
    ag = NULL;
    goes_idle(loop);

    world_free(&(world){loop, sc, ac, r, pool, ag});
}

/* ---- priority ---- */

static double params_p(rc_cue *cue, const rc_work *work, const rc_priority_ctx *ctx, void *ud)
{
    (void)cue, (void)ctx, (void)ud;
    const cJSON *p = cJSON_GetObjectItem(rc_work_params(work), "p");
    return p ? p->valuedouble : 0.5;
}

static int order[16], n_order;

static rc_job_status note_order(const rc_job *job, cJSON **result, char *err, size_t errlen,
                                void *ud)
{
    (void)err, (void)errlen, (void)ud;
    pthread_mutex_lock(&mu);
    if (n_order < 16) order[n_order++] = cJSON_GetObjectItem(job->params, "i")->valueint;
    pthread_mutex_unlock(&mu);
    *result = cJSON_CreateNull();
    return RC_JOB_OK;
}

Test(redis_e2e, the_cues_priority_orders_the_remote_queue)
{
    /* Five works queued remotely before any agent, one after the other,
     * lowest priority first (the cue's own queue never held two at once):
     * one agent with one slot runs them highest first. */
    rc_loop *loop;
    rc_cue *sc, *ac;
    const char *tasks[] = {"echo"};
    rc_redis *r = sched_new(&loop, &sc, "prio", tasks, 1);
    rc_cue_set_hooks(sc, &(rc_hooks){.priority = params_p});
    for (int i = 0; i < 5; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "i", i);
        cJSON_AddNumberToObject(p, "p", 0.1 + 0.2 * i);
        cr_assert_eq(rc_submit(sc, "echo", &(rc_submit_opts){.params = p}, NULL), 0);
        rc_redis_stats rs = wait_enqueued(loop, r, (uint64_t)i + 1);
        cr_assert_eq(rs.enqueued, (uint64_t)i + 1);
    }
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 1), 0);
    cr_assert_eq(rc_pool_task(pool, "echo", NULL, note_order, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "prio", "agent1", 1, true);
    run_until_completed(loop, sc, 5, 10);
    cr_assert_eq(n_order, 5);
    for (int k = 0; k < 5; k++)
        cr_assert_eq(order[k], 4 - k, "run %d was work %d (order %d %d %d %d %d)", k, order[k],
                     order[0], order[1], order[2], order[3], order[4]);
    /* without a hook, a work's priority is the middle one */
    cr_assert_eq(rc_work_priority(ac, NULL), 0.5);
    world_free(&(world){loop, sc, ac, r, pool, ag});
}

/* ---- agents that run different tasks of one service ---- */

static int ran_by[2][8]; /* [agent][i]: how often */

/* ud: the agent's index */
static rc_job_status run_on(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)err, (void)errlen;
    pthread_mutex_lock(&mu);
    ran_by[*(const int *)ud][cJSON_GetObjectItem(job->params, "i")->valueint & 7]++;
    pthread_mutex_unlock(&mu);
    *result = cJSON_CreateNull();
    return RC_JOB_OK;
}

Test(redis_e2e, agents_of_one_service_take_only_the_tasks_they_run)
{
    /* resize jobs and ocr jobs on one service: an agent for each; every job
     * runs once, on the agent that runs its task, and none fails there as
     * an unknown task */
    rc_loop *loop;
    rc_cue *sc, *ac[2];
    const char *tasks[] = {"resize", "ocr"};
    rc_redis *r = sched_new(&loop, &sc, "mixed", tasks, 2);
    rc_pool *pool[2];
    rc_redis_agent *ag[2];
    static const int index[2] = {0, 1};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(rc_cue_new(&ac[k], loop, NULL), 0);
        cr_assert_eq(rc_pool_new(&pool[k], ac[k], 2), 0);
        cr_assert_eq(rc_pool_task(pool[k], tasks[k], NULL, run_on, (void *)&index[k]), 0);
        const char *svcs[] = {"api"}, *mine[] = {tasks[k]};
        char name[16];
        snprintf(name, sizeof name, "agent%d", k);
        rc_redis_agent_opts ao = {.conn = {.url = srv.url, .ns = "mixed"},
                                  .name = name,
                                  .services = svcs,
                                  .n_services = 1,
                                  .slots = 2,
                                  .tasks = mine,
                                  .n_tasks = 1};
        cr_assert_eq(rc_redis_agent_new(&ag[k], ac[k], &ao, NULL, NULL), 0, "%s",
                     rc_redis_last_error());
        cr_assert_eq(rc_redis_agent_wait_ready(ag[k], 5), 0, "%s", rc_redis_agent_errmsg(ag[k]));
    }
    for (int i = 0; i < 8; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "i", i);
        cr_assert_eq(rc_submit(sc, tasks[i % 2], &(rc_submit_opts){.params = p}, NULL), 0);
    }
    run_until_completed(loop, sc, 8, 15);
    rc_stats st;
    rc_cue_stats(sc, &st);
    cr_assert_eq(st.completed, 8, "completed %llu, failed %llu", (unsigned long long)st.completed,
                 (unsigned long long)st.failed);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(ran_by[i % 2][i], 1, "job %d ran %d times on its agent", i, ran_by[i % 2][i]);
        cr_assert_eq(ran_by[1 - i % 2][i], 0, "job %d ran on the other agent", i);
    }
    /* a bad task list is refused, named */
    const char *svcs[] = {"api"}, *bad[] = {"a\nb"};
    rc_redis_agent *none;
    rc_redis_agent_opts ao = {.conn = {.url = srv.url, .ns = "mixed"},
                              .services = svcs,
                              .n_services = 1,
                              .slots = 1,
                              .tasks = bad,
                              .n_tasks = 1};
    cr_assert_eq(rc_redis_agent_new(&none, ac[0], &ao, NULL, NULL), RC_EINVAL);
    cr_assert(strstr(rc_redis_last_error(), "task name must be 1 to 256 bytes, no newline"), "%s",
              rc_redis_last_error());
    for (int k = 0; k < 2; k++) {
        rc_redis_agent_free(ag[k]);
        rc_pool_free(pool[k]);
        rc_cue_free(ac[k]);
    }
    rc_redis_free(r);
    rc_cue_free(sc);
    rc_loop_free(loop);
}

/* ---- progress from the agent's side to the scheduler's ---- */

typedef struct slow_job {
    rc_cue *cue;
    rc_token tok;
    rc_timer done;
} slow_job;

static void slow_done(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    slow_job *j = arg;
    rc_complete(j->cue, j->tok, cJSON_CreateNull());
    free(j);
}

/* Reports half way (with a control character in its words), completes
 * 300 ms later. */
static void slow_with_progress(rc_cue *cue, const rc_work *work, rc_token tok, void *ud)
{
    (void)work, (void)ud;
    rc_progress(cue, tok, 0.5, "half \x1b[2J way");
    slow_job *j = malloc(sizeof *j);
    cr_assert(j);
    j->cue = cue;
    j->tok = tok;
    rc_timer_init(&j->done, slow_done, j);
    rc_timer_start(rc_cue_loop(cue), &j->done, rc_loop_now(rc_cue_loop(cue)) + rc_seconds(0.3));
}

static int progress_seen;
static double progress_fraction;
static char progress_words[64];
static bool progress_before_end;

static void on_sched_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue, (void)ud;
    if (ev->kind == RC_EV_PROGRESS) {
        progress_seen++;
        progress_fraction = ev->progress;
        snprintf(progress_words, sizeof progress_words, "%s", ev->detail);
        progress_before_end = rc_work_state(ev->work) == RC_RUNNING;
    }
}

Test(redis_e2e, a_jobs_progress_reaches_the_scheduler_while_it_runs)
{
    rc_loop *loop;
    rc_cue *sc, *ac;
    const char *tasks[] = {"slow"};
    rc_redis *r = sched_new(&loop, &sc, "pg", tasks, 1);
    rc_cue_set_hooks(sc, &(rc_hooks){.on_event = on_sched_event});
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    cr_assert_eq(rc_service(ac, "local", NULL, 1), 0);
    cr_assert_eq(rc_task(ac, "slow", "local", slow_with_progress, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "pg", "agent1", 1, true);
    cr_assert_eq(rc_submit(sc, "slow", NULL, NULL), 0);
    run_until_completed(loop, sc, 1, 10);
    cr_assert_eq(progress_seen, 1);
    cr_assert_eq(progress_fraction, 0.5);
    cr_assert_str_eq(progress_words, "half ?[2J way");
    cr_assert(progress_before_end, "the progress came after the work had finished");
    rc_redis_stats rs;
    rc_redis_stats_get(r, &rs);
    cr_assert_eq(rs.progress, 1);
    cr_assert_eq(rs.results, 1);
    world_free(&(world){loop, sc, ac, r, NULL, ag});
}

/* ---- cancelling remote work ---- */

static const char *error_of(rc_cue *cue, rc_work_id id)
{
    const char *e = rc_work_error(rc_get(cue, id));
    return e ? e : "(none)";
}

static rc_redis *cancel_r;
static rc_work_id cancel_target; /* 0: the work starting */
static int cancel_rc = 1;

/* Cancels a work as another starts (or itself as it starts): in the same
 * loop iteration, before any enqueue of it is sent (that waits for the
 * iteration's end). */
static void cancel_at_start(rc_cue *cue, const rc_work *work, void *ud)
{
    (void)cue, (void)ud;
    if (cancel_target && rc_work_get_id(work) == cancel_target) return;
    cancel_rc = rc_redis_cancel(cancel_r, cancel_target ? cancel_target : rc_work_get_id(work));
}

Test(redis_e2e, remote_work_is_cancelled_before_it_is_sent_queued_or_shared)
{
    rc_loop *loop;
    rc_cue *sc, *ac;
    const char *tasks[] = {"echo"};
    rc_redis *r = sched_new(&loop, &sc, "cancel", tasks, 1);
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);

    /* not yet sent (the enqueue goes at the end of the loop's iteration):
     * cancelled by the next work's start, and cancelled as it starts */
    cancel_r = r;
    rc_cue_set_hooks(sc, &(rc_hooks){.on_start = cancel_at_start});
    rc_work_id first, second;
    cr_assert_eq(
        rc_submit(sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":10}")}, &first), 0);
    cancel_target = first;
    cr_assert_eq(
        rc_submit(sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":11}")}, &second), 0);
    run_for(loop, 0.1);
    cr_assert_eq(cancel_rc, 0);
    cr_assert_str_eq(error_of(sc, first), "cancelled");
    cr_assert_eq(rc_work_state(rc_get(sc, second)), RC_RUNNING);
    rc_redis_stats rs0;
    rc_redis_stats_get(r, &rs0);
    cr_assert_eq(rs0.enqueued, 1, "the cancelled work was sent");
    cr_assert_eq(rc_redis_cancel(r, second), 0); /* out of the way */
    for (int k = 0; k < 200 && rc_work_state(rc_get(sc, second)) == RC_RUNNING; k++)
        run_for(loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(sc, second)), RC_FAILED);
    cancel_target = 0;
    cancel_rc = 1;
    const long long calls_before = fcall_calls(c);
    rc_work_id unsent;
    cr_assert_eq(
        rc_submit(sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":1}")}, &unsent), 0);
    run_for(loop, 0.1);
    rc_cue_set_hooks(sc, &(rc_hooks){0});
    cr_assert_eq(cancel_rc, 0);
    cr_assert_eq(rc_work_state(rc_get(sc, unsent)), RC_FAILED);
    cr_assert_str_eq(error_of(sc, unsent), "cancelled");
    cr_assert_eq(fcall_calls(c), calls_before, "the cancelled work was sent");

    /* queued on the server: cancelled there */
    rc_work_id queued, a, b, d;
    cr_assert_eq(
        rc_submit(sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":2}")}, &queued), 0);
    /* three works of one job: cancelling the first and the last leaves the
     * middle one to run */
    rc_work_id *shared[] = {&a, &b, &d};
    for (int k = 0; k < 3; k++)
        cr_assert_eq(
            rc_submit(sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":3}")}, shared[k]),
            0);
    rc_redis_stats rs = wait_enqueued(loop, r, 5);
    cr_assert_eq(rs.enqueued, 5);
    cr_assert_eq(rc_cancel(sc, queued), RC_ERUNNING);
    cr_assert_eq(rc_redis_cancel(r, queued), 0);
    cr_assert_eq(rc_redis_cancel(r, a), 0);
    cr_assert_eq(rc_redis_cancel(r, d), 0);
    cr_assert_eq(rc_work_state(rc_get(sc, a)), RC_FAILED, "a shared one leaves at once");
    cr_assert_eq(rc_work_state(rc_get(sc, d)), RC_FAILED, "a shared one leaves at once");
    for (int k = 0; k < 200 && rc_work_state(rc_get(sc, queued)) == RC_RUNNING; k++)
        run_for(loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(sc, queued)), RC_FAILED);
    cr_assert(strstr(error_of(sc, queued), "cancelled"), "%s", error_of(sc, queued));

    /* an agent now runs what is left: b, and only b */
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 1), 0);
    cr_assert_eq(rc_pool_task(pool, "echo", NULL, echo, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "cancel", "agent1", 2, true);
    for (int k = 0; k < 300 && rc_work_state(rc_get(sc, b)) == RC_RUNNING; k++)
        run_for(loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(sc, b)), RC_COMPLETED, "%s", error_of(sc, b));
    run_for(loop, 0.3);
    cr_assert_eq(calls, 1, "%d jobs ran", calls);

    cr_assert_eq(rc_redis_cancel(r, b), RC_EFINISHED);
    cr_assert_eq(rc_redis_cancel(r, 999), RC_ENOENT);
    cr_assert_eq(rc_redis_cancel(NULL, b), RC_EINVAL);
    redisFree(c);
    world_free(&(world){loop, sc, ac, r, pool, ag});
}

/* Sleeps 2 s: cancelled meanwhile, its lease is lost at a heartbeat. */
static rc_job_status sleep_2s(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)job, (void)err, (void)errlen, (void)ud;
    pthread_mutex_lock(&mu);
    calls++;
    pthread_mutex_unlock(&mu);
    struct timespec ts = {2, 0};
    nanosleep(&ts, NULL);
    *result = cJSON_CreateNull();
    return RC_JOB_OK;
}

Test(redis_e2e, remote_work_cancelled_while_an_agent_runs_it)
{
    world w;
    world_new(&w, "cancel2", sleep_2s, 1, 1);
    rc_work_id id;
    cr_assert_eq(rc_submit(w.sc, "echo", NULL, &id), 0);
    for (int k = 0; k < 300 && calls == 0; k++)
        run_for(w.loop, 0.01);
    cr_assert_eq(calls, 1);
    cr_assert_eq(rc_redis_cancel(w.r, id), 0);
    for (int k = 0; k < 300 && rc_work_state(rc_get(w.sc, id)) == RC_RUNNING; k++)
        run_for(w.loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(w.sc, id)), RC_FAILED);
    cr_assert(strstr(error_of(w.sc, id), "cancelled"), "%s", error_of(w.sc, id));
    /* the agent hears of it at a heartbeat (a third of the 5 s lease) */
    rc_redis_agent_stats as = {0};
    for (int k = 0; k < 400 && as.lost + as.stale == 0; k++) {
        run_for(w.loop, 0.01);
        rc_redis_agent_stats_get(w.ag, &as);
    }
    cr_assert_eq(as.lost + as.stale, 1, "lost %llu stale %llu", (unsigned long long)as.lost,
                 (unsigned long long)as.stale);
    cr_assert_eq(as.finished, 0);
    world_free(&w);
}

/* Cancels the work whose progress it hears: one of two sharing a job. */
static void cancel_on_progress(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue, (void)ud;
    if (ev->kind == RC_EV_PROGRESS && cancel_target == rc_work_get_id(ev->work))
        cancel_rc = rc_redis_cancel(cancel_r, cancel_target);
}

Test(redis_e2e, work_cancelled_from_its_own_progress_report_leaves_the_other_running)
{
    rc_loop *loop;
    rc_cue *sc, *ac;
    const char *tasks[] = {"slow"};
    rc_redis *r = sched_new(&loop, &sc, "pgc", tasks, 1);
    rc_work_id a, b;
    cr_assert_eq(rc_submit(sc, "slow", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":1}")}, &a),
                 0);
    cr_assert_eq(rc_submit(sc, "slow", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":1}")}, &b),
                 0);
    cancel_r = r;
    cancel_target = b; /* the chain's head: the newest */
    rc_cue_set_hooks(sc, &(rc_hooks){.on_event = cancel_on_progress});
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    cr_assert_eq(rc_service(ac, "local", NULL, 1), 0);
    cr_assert_eq(rc_task(ac, "slow", "local", slow_with_progress, NULL), 0);
    rc_redis_agent *ag = agent_new(ac, "pgc", "agent1", 1, true);
    run_until_completed(loop, sc, 2, 10);
    cr_assert_eq(cancel_rc, 0);
    cr_assert_eq(rc_work_state(rc_get(sc, b)), RC_FAILED);
    cr_assert_eq(rc_work_state(rc_get(sc, a)), RC_COMPLETED, "%s", error_of(sc, a));
    cancel_target = 0;
    world_free(&(world){loop, sc, ac, r, NULL, ag});
}

Test(redis_e2e, a_cancel_lost_with_the_connection_still_cancels)
{
    /* The cancel is queued, then every connection is killed before it
     * leaves: the work fails "cancelled" all the same, and the job is
     * cancelled on the server once the connection is back. */
    rc_loop *loop;
    rc_cue *sc;
    const char *tasks[] = {"echo"};
    rc_redis *r = sched_new(&loop, &sc, "lostc", tasks, 1);
    rc_work_id id;
    cr_assert_eq(rc_submit(sc, "echo", NULL, &id), 0);
    wait_enqueued(loop, r, 1);
    cr_assert_eq(rc_redis_cancel(r, id), 0);
    server_kill_clients();
    for (int k = 0; k < 300 && rc_work_state(rc_get(sc, id)) == RC_RUNNING; k++)
        run_for(loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(sc, id)), RC_FAILED);
    cr_assert(strstr(error_of(sc, id), "cancelled"), "%s", error_of(sc, id));
    /* back: the job is cancelled there too, so no agent gets it */
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    const char *state = "";
    redisReply *rep = NULL;
    for (int k = 0; k < 300; k++) {
        run_for(loop, 0.01);
        if (rep) freeReplyObject(rep);
        rep = redisCommand(c, "HGET rc:{lostc}:job:1 st");
        state = rep && rep->type == REDIS_REPLY_STRING ? rep->str : "";
        if (strcmp(state, "cancelled") == 0) break;
    }
    cr_assert_str_eq(state, "cancelled");
    freeReplyObject(rep);
    redisFree(c);
    world_free(&(world){loop, sc, NULL, r, NULL, NULL});
}

Test(redis_e2e, work_joining_a_job_being_cancelled_gets_a_job_of_its_own)
{
    /* A waits alone on its job; B, the same work, is enqueued just before
     * A's cancel goes: B must not go down with A's job. */
    world w;
    world_new(&w, "join", echo, 1, 1);
    rc_redis_agent_free(w.ag); /* no agent until the cancel is done */
    w.ag = NULL;
    rc_work_id a, b;
    cr_assert_eq(rc_submit(w.sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":4}")}, &a),
                 0);
    wait_enqueued(w.loop, w.r, 1);
    cr_assert_eq(rc_submit(w.sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":4}")}, &b),
                 0);
    for (int k = 0; k < 10 && rc_work_state(rc_get(w.sc, b)) != RC_RUNNING; k++)
        rc_loop_run(w.loop, RC_RUN_ONCE);
    rc_loop_run(w.loop, RC_RUN_ONCE); /* B's enqueue on its way, its answer not yet read */
    cr_assert_eq(rc_redis_cancel(w.r, a), 0);
    for (int k = 0; k < 300 && rc_work_state(rc_get(w.sc, a)) == RC_RUNNING; k++)
        run_for(w.loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(w.sc, a)), RC_FAILED);
    w.ag = agent_new(w.ac, "join", "agent1", 1, true);
    for (int k = 0; k < 300 && rc_work_state(rc_get(w.sc, b)) == RC_RUNNING; k++)
        run_for(w.loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(w.sc, b)), RC_COMPLETED, "%s", error_of(w.sc, b));
    cr_assert_eq(calls, 1);
    world_free(&w);
}

/* Kill the scheduler's results reader (its XREADGROUP connection) only. */
static void kill_reader(void)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *rep = redisCommand(c, "CLIENT LIST");
    cr_assert(rep && rep->type == REDIS_REPLY_STRING);
    int killed = 0;
    char *save = NULL;
    for (char *line = strtok_r(rep->str, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strstr(line, "cmd=xreadgroup")) continue;
        freeReplyObject(redisCommand(c, "CLIENT KILL ID %lld", atoll(strstr(line, "id=") + 3)));
        killed++;
    }
    cr_assert_eq(killed, 1);
    freeReplyObject(rep);
    redisFree(c);
}

Test(redis_e2e, a_work_cancelled_on_the_server_is_not_enqueued_again_before_its_entry_comes)
{
    /* The cancel is answered "cancelled" while the results reader is away;
     * the command connection is then made ready again (a new service): the
     * work is over, and nothing runs it. */
    world w;
    world_new(&w, "settled", echo, 1, 1);
    rc_redis_agent_free(w.ag);
    w.ag = NULL;
    rc_work_id a;
    cr_assert_eq(rc_submit(w.sc, "echo", &(rc_submit_opts){.params = cJSON_Parse("{\"i\":7}")}, &a),
                 0);
    wait_enqueued(w.loop, w.r, 1);
    kill_reader();
    cr_assert_eq(rc_redis_cancel(w.r, a), 0);
    run_for(w.loop, 0.02);
    cr_assert_eq(rc_redis_service(w.r, "api2", NULL, 2, 5.0, 3), 0);
    run_for(w.loop, 0.3);
    cr_assert_eq(rc_work_state(rc_get(w.sc, a)), RC_FAILED);
    cr_assert_eq(rc_redis_cancel(w.r, a), RC_EFINISHED);
    w.ag = agent_new(w.ac, "settled", "agent1", 1, true);
    run_for(w.loop, 0.5);
    cr_assert_eq(calls, 0, "the cancelled work ran");
    world_free(&w);
}

Test(redis_e2e, after_a_cancel_lost_and_sent_again_the_loop_goes_idle, .timeout = 90)
{
    /* The job's "cancelled" entry comes for work already failed here: it is
     * acknowledged, not kept, and nothing keeps the loop alive. */
    world w;
    world_new(&w, "idlec", echo, 1, 1);
    rc_redis_agent_free(w.ag);
    w.ag = NULL;
    rc_work_id id;
    cr_assert_eq(rc_submit(w.sc, "echo", NULL, &id), 0);
    rc_redis_stats rs = wait_enqueued(w.loop, w.r, 1);
    cr_assert_eq(rc_redis_cancel(w.r, id), 0);
    server_kill_clients();
    for (int k = 0; k < 300 && rc_work_state(rc_get(w.sc, id)) == RC_RUNNING; k++)
        run_for(w.loop, 0.01);
    cr_assert_eq(rc_work_state(rc_get(w.sc, id)), RC_FAILED);
    run_for(w.loop, 1.0); /* back, the cancel sent again, its entry read */
    goes_idle(w.loop);
    rc_redis_stats_get(w.r, &rs);
    cr_assert_eq(rs.in_flight, 0);
    world_free(&w);
}

Test(redis_e2e, a_retry_answered_while_the_cancel_goes_does_not_run_the_work_again)
{
    /* The job is claimed and finished "retry" (here by hand) while the
     * results reader is away; the cancel then finds it finished.  The work
     * has a retry policy, yet it is not run again: it was cancelled. */
    world w;
    world_new(&w, "rtc", echo, 1, 1);
    rc_redis_agent_free(w.ag);
    w.ag = NULL;
    cr_assert_eq(rc_task_retry(w.sc, "echo", &(rc_retry_policy){.max_attempts = 3}), 0);
    rc_work_id a;
    cr_assert_eq(rc_submit(w.sc, "echo", NULL, &a), 0);
    wait_enqueued(w.loop, w.r, 1);
    kill_reader();
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err);
    redisReply *rep = redisCommand(c, "FCALL runcue_claim 1 rc:{rtc} x 1 api");
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 4, "%s",
              rep && rep->str ? rep->str : "claim");
    char tok[40];
    snprintf(tok, sizeof tok, "%s", rep->element[3]->str);
    freeReplyObject(rep);
    rep = redisCommand(c, "FCALL runcue_finish 1 rc:{rtc} x 1 1 %s retry %s %s 0", tok, "", "busy");
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY, "%s", rep && rep->str ? rep->str : "finish");
    freeReplyObject(rep);
    redisFree(c);
    cr_assert_eq(rc_redis_cancel(w.r, a), 0);
    for (int k = 0; k < 300 && rc_work_state(rc_get(w.sc, a)) == RC_RUNNING; k++)
        run_for(w.loop, 0.01);
    run_for(w.loop, 0.2);
    cr_assert_eq(rc_work_state(rc_get(w.sc, a)), RC_FAILED, "the work runs again");
    cr_assert(strstr(error_of(w.sc, a), "cancelled"), "%s", error_of(w.sc, a));
    cr_assert_eq(rc_work_attempt(rc_get(w.sc, a)), 1);
    world_free(&w);
}
