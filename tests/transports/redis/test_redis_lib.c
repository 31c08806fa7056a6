/*
 * test_redis_lib.c -- the functions library (runcue.lua) through a real
 * redis-server, one call at a time with hiredis's blocking API: limits
 * exact, fencing, dedupe, reclaim and dead letters, priority, cancel,
 * garbage, and the loader's version refusal.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_server.h"
#include "runcue_redis.h"

static redis_server srv;
static redisContext *rc;
#define NS "rc:{t}"

static void setup(void)
{
    if (!redis_server_available()) cr_skip_test("redis-server is not installed: skipped");
    cr_assert(redis_server_start(&srv, false, NULL), "redis-server did not start");
    rc = redisConnectUnix(srv.sock);
    cr_assert(rc && !rc->err);
    const char *argv[] = {"FUNCTION", "LOAD", rc_redis_library_text()};
    size_t lens[] = {8, 4, strlen(argv[2])};
    redisReply *r = redisCommandArgv(rc, 3, argv, lens);
    cr_assert(r && r->type == REDIS_REPLY_STRING, "FUNCTION LOAD: %s", r ? r->str : "?");
    freeReplyObject(r);
}

static void teardown(void)
{
    if (rc) redisFree(rc);
    rc = NULL;
    redis_server_stop(&srv);
}

TestSuite(redis_lib, .init = setup, .fini = teardown, .timeout = 60);

/* Run a command given as words (each a separate argument). */
static redisReply *cmd(int argc, ...)
{
    const char *argv[32];
    size_t lens[32];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    redisReply *r = redisCommandArgv(rc, argc, argv, lens);
    cr_assert(r, "no reply");
    return r;
}

static const char *str_el(redisReply *r, size_t i)
{
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements > i, "reply too short");
    cr_assert(r->element[i]->type == REDIS_REPLY_STRING, "element %zu not a string", i);
    return r->element[i]->str;
}

static void reg(const char *svc, const char *n, const char *w_us, const char *conc,
                const char *lease_us, const char *maxd)
{
    redisReply *r =
        cmd(10, "FCALL", "runcue_register", "1", NS, svc, n, w_us, conc, lease_us, maxd);
    cr_assert(r->type == REDIS_REPLY_STRING, "register: %s", r->str);
    freeReplyObject(r);
}

static long long enq(const char *svc, const char *dd, const char *prio)
{
    redisReply *r =
        cmd(10, "FCALL", "runcue_enqueue", "1", NS, svc, "s1", dd, prio, "work", "{\"x\":1}");
    long long id = atoll(str_el(r, 0));
    freeReplyObject(r);
    return id;
}

/* A claim of up to k; returns the reply (caller frees). */
static redisReply *claim(const char *agent, const char *k, const char *svc)
{
    return cmd(7, "FCALL", "runcue_claim", "1", NS, agent, k, svc);
}

static const char *finish(const char *agent, const char *id, const char *tok, const char *status)
{
    static char out[16];
    redisReply *r = cmd(12, "FCALL", "runcue_finish", "1", NS, agent, "1", id, tok, status,
                        "{\"r\":1}", "", "0");
    snprintf(out, sizeof out, "%s", str_el(r, 0));
    freeReplyObject(r);
    return out;
}

static long long stat_of(const char *name)
{
    redisReply *r = cmd(3, "HGET", NS ":stats", name);
    long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    freeReplyObject(r);
    return v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

Test(redis_lib, version_and_register_refuses_other_limits)
{
    redisReply *r = cmd(3, "FCALL_RO", "runcue_version", "0");
    cr_assert_str_eq(r->str, rc_redis_library_version());
    freeReplyObject(r);
    reg("api", "3", "1000000", "2", "2000000", "3");
    reg("api", "3", "1000000", "2", "2000000", "3"); /* the same again: fine */
    r = cmd(10, "FCALL", "runcue_register", "1", NS, "api", "4", "1000000", "2", "2000000", "3");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "registered with other limits"), "%s", r->str);
    freeReplyObject(r);
    r = cmd(10, "FCALL", "runcue_register", "1", "other:key", "api", "4", "1", "2", "2000000", "3");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "rc:{namespace}"), "%s", r->str);
    freeReplyObject(r);
    r = cmd(10, "FCALL", "runcue_register", "1", NS, "b", "x", "1", "2", "2000000", "3");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "bad rate count"), "%s", r->str);
    /* One prefix, as the library words it (a raised error reaches the
     * library's guard as a string that already carries it). */
    cr_assert(strncmp(r->str, "runcue: bad rate count", 22) == 0, "%s", r->str);
    freeReplyObject(r);
}

/* Starts recorded by the server (lease until - lease), never more than N in
 * any window W, while agents claim as fast as they can. */
Test(redis_lib, rate_window_exact)
{
    const int N = 5, total = 25;
    const double W = 200000; /* us */
    reg("api", "5", "200000", "-1", "10000000", "3");
    for (int i = 0; i < total; i++)
        enq("api", "", "0.5");
    int got = 0, waits = 0;
    while (got < total) {
        redisReply *r = claim(got % 2 ? "a" : "b", "4", "api");
        const char *kind = str_el(r, 0);
        if (strcmp(kind, "jobs") == 0) {
            got += (int)r->element[1]->integer;
        } else {
            cr_assert_str_eq(kind, "wait");
            cr_assert_str_eq(str_el(r, 2), "rate");
            waits++;
            long long delay = atoll(str_el(r, 3));
            cr_assert(delay >= 0 && delay <= W, "delay %lld", delay);
            sleep_ms((int)(delay / 1000) + 1);
        }
        freeReplyObject(r);
    }
    cr_assert(waits >= total / N - 1);
    double starts[64];
    for (int i = 1; i <= total; i++) {
        char key[64];
        snprintf(key, sizeof key, NS ":job:%d", i);
        redisReply *r = cmd(3, "HGET", key, "lu");
        starts[i - 1] = atof(r->str) - 10000000;
        freeReplyObject(r);
    }
    for (int i = 0; i < total; i++)
        for (int j = i + 1; j < total; j++)
            if (starts[j] < starts[i]) {
                double t = starts[i];
                starts[i] = starts[j];
                starts[j] = t;
            }
    for (int i = 0; i + N < total; i++)
        cr_assert(starts[i + N] - starts[i] >= W, "%d starts within %.0f us", N + 1,
                  starts[i + N] - starts[i]);
}

Test(redis_lib, concurrency_never_exceeded)
{
    reg("api", "0", "0", "3", "10000000", "3");
    for (int i = 0; i < 6; i++)
        enq("api", "", "0.5");
    redisReply *r = claim("a", "10", "api");
    cr_assert_str_eq(str_el(r, 0), "jobs");
    cr_assert_eq(r->element[1]->integer, 3);
    char id[24], tok[24];
    snprintf(id, sizeof id, "%s", str_el(r, 2));
    snprintf(tok, sizeof tok, "%s", str_el(r, 3));
    freeReplyObject(r);
    r = claim("b", "10", "api");
    cr_assert_str_eq(str_el(r, 0), "wait");
    cr_assert_str_eq(str_el(r, 2), "full");
    freeReplyObject(r);
    cr_assert_str_eq(finish("a", id, tok, "ok"), "ok");
    r = claim("b", "10", "api");
    cr_assert_str_eq(str_el(r, 0), "jobs");
    cr_assert_eq(r->element[1]->integer, 1);
    freeReplyObject(r);
}

Test(redis_lib, stale_token_refused_after_reclaim)
{
    reg("api", "0", "0", "-1", "50000", "3"); /* 50 ms lease */
    enq("api", "", "0.5");
    redisReply *r = claim("a", "1", "api");
    char id[24], tok_a[24], tok_b[24];
    snprintf(id, sizeof id, "%s", str_el(r, 2));
    snprintf(tok_a, sizeof tok_a, "%s", str_el(r, 3));
    freeReplyObject(r);
    sleep_ms(80);
    r = claim("b", "1", "api"); /* reclaims the expired lease, then takes it */
    cr_assert_str_eq(str_el(r, 0), "jobs");
    cr_assert_str_eq(str_el(r, 2), id);
    cr_assert_str_eq(str_el(r, 6), "2", "deliveries");
    snprintf(tok_b, sizeof tok_b, "%s", str_el(r, 3));
    freeReplyObject(r);
    cr_assert_str_neq(tok_a, tok_b);
    r = cmd(7, "FCALL", "runcue_extend", "1", NS, "a", id, tok_a);
    cr_assert_str_eq(str_el(r, 0), "lost");
    freeReplyObject(r);
    cr_assert_str_eq(finish("a", id, tok_a, "ok"), "stale");
    cr_assert_str_eq(finish("b", id, tok_b, "ok"), "ok");
    cr_assert_str_eq(finish("b", id, tok_b, "ok"), "stale");
    cr_assert_eq(stat_of("stale"), 2);
    cr_assert_eq(stat_of("redeliveries"), 1);
    r = cmd(2, "XLEN", NS ":res:s1");
    cr_assert_eq(r->integer, 1, "one result only");
    freeReplyObject(r);
}

Test(redis_lib, dedupe_reattaches_and_returns_done_result)
{
    reg("api", "0", "0", "-1", "10000000", "3");
    long long a = enq("api", "k1", "0.5");
    redisReply *r =
        cmd(10, "FCALL", "runcue_enqueue", "1", NS, "api", "s2", "k1", "0.5", "work", "{}");
    cr_assert_eq(atoll(str_el(r, 0)), a);
    cr_assert_str_eq(str_el(r, 1), "queued");
    freeReplyObject(r);
    r = claim("a", "1", "api");
    char id[24], tok[24];
    snprintf(id, sizeof id, "%s", str_el(r, 2));
    snprintf(tok, sizeof tok, "%s", str_el(r, 3));
    freeReplyObject(r);
    cr_assert_str_eq(finish("a", id, tok, "ok"), "ok");
    /* the result went to the re-attached owner's stream */
    r = cmd(2, "XLEN", NS ":res:s2");
    cr_assert_eq(r->integer, 1);
    freeReplyObject(r);
    r = cmd(10, "FCALL", "runcue_enqueue", "1", NS, "api", "s2", "k1", "0.5", "work", "{}");
    cr_assert_str_eq(str_el(r, 1), "done");
    cr_assert_str_eq(str_el(r, 2), "{\"r\":1}");
    freeReplyObject(r);
    /* handed out once: asked again, it is a new job, unread or not */
    r = cmd(10, "FCALL", "runcue_enqueue", "1", NS, "api", "s3", "k1", "0.5", "work", "{}");
    cr_assert_str_eq(str_el(r, 1), "new");
    const long long again = atoll(str_el(r, 0));
    freeReplyObject(r);
    r = claim("a", "1", "api");
    snprintf(id, sizeof id, "%s", str_el(r, 2));
    snprintf(tok, sizeof tok, "%s", str_el(r, 3));
    cr_assert_eq(atoll(id), again);
    freeReplyObject(r);
    cr_assert_str_eq(finish("a", id, tok, "ok"), "ok");
    /* its owner took the result (read, acknowledged, deleted): the same
     * work asked again is a new job */
    r = cmd(4, "XRANGE", NS ":res:s3", "-", "+");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    redisReply *d = cmd(3, "XDEL", NS ":res:s3", r->element[0]->element[0]->str);
    cr_assert_eq(d->integer, 1);
    freeReplyObject(d);
    freeReplyObject(r);
    r = cmd(10, "FCALL", "runcue_enqueue", "1", NS, "api", "s3", "k1", "0.5", "work", "{}");
    cr_assert_str_eq(str_el(r, 1), "new");
    cr_assert_neq(atoll(str_el(r, 0)), again);
    freeReplyObject(r);
}

Test(redis_lib, progress_with_a_fraction_goes_to_the_owners_stream)
{
    reg("api", "0", "0", "-1", "10000000", "3");
    long long id = enq("api", "p1", "0.5");
    redisReply *r = claim("a", "1", "api");
    char sid[24], tok[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(tok, sizeof tok, "%s", str_el(r, 3));
    freeReplyObject(r);
    r = cmd(9, "FCALL", "runcue_extend", "1", NS, "a", sid, tok, "a quarter", "0.25");
    cr_assert_str_eq(str_el(r, 0), "ok");
    freeReplyObject(r);
    /* a message alone is kept, not sent; a fraction out of 0..1 is refused */
    r = cmd(8, "FCALL", "runcue_extend", "1", NS, "a", sid, tok, "quiet");
    cr_assert_str_eq(str_el(r, 0), "ok");
    freeReplyObject(r);
    r = cmd(9, "FCALL", "runcue_extend", "1", NS, "a", sid, tok, "over", "1.5");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "bad progress fraction"), "%s", r->str);
    freeReplyObject(r);
    r = cmd(4, "XRANGE", NS ":res:s1", "-", "+");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1, "%zu entries", r->elements);
    const redisReply *f = r->element[0]->element[1];
    const char *want[][2] = {{"status", "progress"}, {"result", "0.25"}, {"error", "a quarter"}};
    for (int k = 0; k < 3; k++) {
        bool found = false;
        for (size_t i = 0; i + 1 < f->elements; i += 2)
            if (strcmp(f->element[i]->str, want[k][0]) == 0)
                found = strcmp(f->element[i + 1]->str, want[k][1]) == 0;
        cr_assert(found, "%s is not %s", want[k][0], want[k][1]);
    }
    freeReplyObject(r);
    r = cmd(3, "HGET", NS ":job:1", "pg");
    cr_assert_str_eq(r->str, "quiet");
    freeReplyObject(r);
    /* an owner that does not read (1000 entries wait): no more progress */
    for (int i = 0; i < 999; i++)
        freeReplyObject(cmd(5, "XADD", NS ":res:s1", "*", "id", "0"));
    r = cmd(9, "FCALL", "runcue_extend", "1", NS, "a", sid, tok, "more", "0.5");
    cr_assert_str_eq(str_el(r, 0), "ok");
    freeReplyObject(r);
    r = cmd(2, "XLEN", NS ":res:s1");
    cr_assert_eq(r->integer, 1000);
    freeReplyObject(r);
}

/* A claim for the tasks named (one a line), of up to k. */
static redisReply *claim_for(const char *agent, const char *k, const char *tasks, const char *svc)
{
    return cmd(8, "FCALL", "runcue_claim_for", "1", NS, agent, k, tasks, svc);
}

Test(redis_lib, a_claim_for_some_tasks_takes_only_their_jobs)
{
    reg("api", "0", "0", "-1", "10000000", "3");
    const char *tasks[] = {"a", "b", "a", "c"};
    for (int i = 0; i < 4; i++) {
        char dd[8];
        snprintf(dd, sizeof dd, "d%d", i);
        redisReply *r =
            cmd(10, "FCALL", "runcue_enqueue", "1", NS, "api", "s1", dd, "0.5", tasks[i], "{}");
        cr_assert_str_eq(str_el(r, 1), "new");
        freeReplyObject(r);
    }
    /* "b" and "c": the second and the fourth, in queue order, past the a's */
    redisReply *r = claim_for("x", "4", "b\nc", "api");
    cr_assert_str_eq(str_el(r, 0), "jobs");
    cr_assert_eq(r->element[1]->integer, 2);
    cr_assert_str_eq(str_el(r, 2), "2");
    cr_assert_str_eq(str_el(r, 4), "b");
    cr_assert_str_eq(str_el(r, 9), "4");
    cr_assert_str_eq(str_el(r, 11), "c");
    freeReplyObject(r);
    /* none of its tasks left: no job (a wait for the leases out), and the
     * a's stay queued */
    r = claim_for("x", "4", "b", "api");
    cr_assert_str_neq(str_el(r, 0), "jobs");
    freeReplyObject(r);
    /* an empty list is any task */
    r = claim_for("y", "1", "", "api");
    cr_assert_str_eq(str_el(r, 0), "jobs");
    cr_assert_str_eq(str_el(r, 2), "1");
    freeReplyObject(r);
    r = claim("z", "4", "api");
    cr_assert_eq(r->element[1]->integer, 1);
    cr_assert_str_eq(str_el(r, 2), "3");
    freeReplyObject(r);
    /* a list of more than 64 tasks is refused */
    char many[65 * 3] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, i ? "\nt" : "t");
    r = claim_for("x", "1", many, "api");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR);
    cr_assert(strstr(r->str, "bad task list"), "%s", r->str);
    freeReplyObject(r);
}

Test(redis_lib, dead_letter_after_max_deliveries)
{
    reg("api", "0", "0", "-1", "20000", "2");
    enq("api", "", "0.5");
    for (int i = 0; i < 2; i++) {
        redisReply *r = claim("a", "1", "api");
        cr_assert_str_eq(str_el(r, 0), "jobs");
        freeReplyObject(r);
        sleep_ms(40);
    }
    redisReply *r = cmd(6, "FCALL", "runcue_reclaim", "1", NS, "api", "10");
    cr_assert_eq(r->element[0]->integer, 0);
    cr_assert_eq(r->element[1]->integer, 1);
    freeReplyObject(r);
    r = cmd(4, "XRANGE", NS ":res:s1", "-", "+");
    cr_assert_eq(r->elements, 1);
    redisReply *f = r->element[0]->element[1];
    cr_assert_str_eq(f->element[3]->str, "dead");
    freeReplyObject(r);
    r = claim("a", "1", "api");
    cr_assert_str_eq(str_el(r, 0), "empty");
    freeReplyObject(r);
}

Test(redis_lib, priority_then_fifo)
{
    reg("api", "0", "0", "-1", "10000000", "3");
    long long lo = enq("api", "", "0.2");
    long long hi1 = enq("api", "", "0.9");
    long long hi2 = enq("api", "", "0.9");
    redisReply *r = claim("a", "3", "api");
    cr_assert_eq(atoll(str_el(r, 2)), hi1);
    cr_assert_eq(atoll(str_el(r, 9)), hi2);
    cr_assert_eq(atoll(str_el(r, 16)), lo);
    freeReplyObject(r);
}

Test(redis_lib, garbage_job_and_cancel)
{
    reg("api", "0", "0", "-1", "10000000", "3");
    freeReplyObject(cmd(4, "HSET", NS ":job:999", "junk", "1"));
    freeReplyObject(cmd(4, "ZADD", NS ":ready:api", "0", "999"));
    long long id = enq("api", "", "0.5");
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    redisReply *r = cmd(5, "FCALL", "runcue_cancel", "1", NS, ids);
    cr_assert_str_eq(r->str, "cancelled");
    freeReplyObject(r);
    r = claim("a", "1", "api");
    cr_assert_str_eq(str_el(r, 0), "empty");
    freeReplyObject(r);
    cr_assert_eq(stat_of("garbage"), 1);
    r = cmd(4, "FCALL_RO", "runcue_snapshot", "1", NS);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
}

Test(redis_lib, enqueue_many_answers_each_item)
{
    reg("api", "0", "0", "-1", "10000000", "3");
    long long a = enq("api", "k1", "0.5");
    /* a re-attach, a refused item (its neighbours still queued) and a new job */
    redisReply *r = cmd(26, "FCALL", "runcue_enqueue_many", "1", NS, "3", "api", "s1", "k1", "0.5",
                        "work", "{}", "", "nosuch", "s1", "", "0.5", "work", "{}", "", "api", "s1",
                        "k2", "0", "work", "{}", "p1");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 3, "reply: %s", r->str);
    cr_assert_eq(atoll(str_el(r->element[0], 0)), a);
    cr_assert_str_eq(str_el(r->element[0], 1), "queued");
    cr_assert_str_eq(str_el(r->element[1], 0), "");
    cr_assert_str_eq(str_el(r->element[1], 1), "error");
    cr_assert(strstr(str_el(r->element[1], 2), "unknown service 'nosuch'"), "%s",
              str_el(r->element[1], 2));
    long long b = atoll(str_el(r->element[2], 0));
    cr_assert_str_eq(str_el(r->element[2], 1), "new");
    cr_assert_gt(b, a);
    freeReplyObject(r);
    r = cmd(2, "ZCARD", NS ":ready:api");
    cr_assert_eq(r->integer, 2);
    freeReplyObject(r);
    /* a wrong argument count refuses the whole call */
    r = cmd(11, "FCALL", "runcue_enqueue_many", "1", NS, "2", "api", "s1", "k9", "0.5", "work",
            "{}");
    cr_assert(r->type == REDIS_REPLY_ERROR && strstr(r->str, "7 arguments per item"), "%s", r->str);
    freeReplyObject(r);
}

static long long zcard_agents(void)
{
    redisReply *r = cmd(2, "ZCARD", NS ":agents");
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static bool agent_listed(const char *name)
{
    redisReply *r = cmd(3, "ZSCORE", NS ":agents", name);
    bool listed = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return listed;
}

Test(redis_lib, agents_unseen_for_an_hour_are_forgotten_a_few_per_claim)
{
    reg("api", "0", "0", "3", "2000000", "3");
    /* The server's clock now, in microseconds. */
    redisReply *r = cmd(1, "TIME");
    long long now = atoll(str_el(r, 0)) * 1000000 + atoll(str_el(r, 1));
    freeReplyObject(r);
    char score[32], name[32];
    /* 20 agents gone for two hours (each under a name of its own, as a host
     * and a pid make), one quiet for half an hour. */
    for (int i = 0; i < 20; i++) {
        snprintf(score, sizeof score, "%lld", now - 7200LL * 1000000 + i);
        snprintf(name, sizeof name, "gone-%02d", i);
        freeReplyObject(cmd(4, "ZADD", NS ":agents", score, name));
    }
    snprintf(score, sizeof score, "%lld", now - 1800LL * 1000000);
    freeReplyObject(cmd(4, "ZADD", NS ":agents", score, "quiet"));
    cr_assert_eq(zcard_agents(), 21);

    freeReplyObject(claim("a1", "1", "api"));
    /* The 16 oldest go at this claim, the other 4 at the next. */
    cr_assert_eq(zcard_agents(), 21 + 1 - 16);
    cr_assert(!agent_listed("gone-00") && !agent_listed("gone-15"));
    cr_assert(agent_listed("gone-16") && agent_listed("quiet") && agent_listed("a1"));
    freeReplyObject(claim("a1", "1", "api"));
    cr_assert_eq(zcard_agents(), 2);
    cr_assert(agent_listed("quiet") && agent_listed("a1"));
}

Test(redis_lib, a_snapshot_of_a_server_that_does_not_answer_says_so)
{
    redisFree(rc);
    redis_server_stop(&srv);
    cr_assert(redis_server_start(&srv, false, "enable-debug-command yes"));
    rc = redisConnectUnix(srv.sock);
    cr_assert(rc && !rc->err);
    const char *argv[] = {"FUNCTION", "LOAD", rc_redis_library_text()};
    size_t lens[] = {8, 4, strlen(argv[2])};
    freeReplyObject(redisCommandArgv(rc, 3, argv, lens));
    /* the server busy for a second, its reply not awaited */
    redisAppendCommand(rc, "DEBUG SLEEP 1");
    int done = 0;
    while (!done)
        cr_assert_eq(redisBufferWrite(rc, &done), REDIS_OK);
    rc_redis_conn conn = {.url = srv.url, .ns = "t"};
    cJSON *out;
    char err[512];
    cr_assert_eq(rc_redis_snapshot(&conn, 0.2, &out, err, sizeof err), RC_ESYS);
    cr_assert(strstr(err, "no answer from Redis within 0.2s"), "%s", err);
    cr_assert_null(strstr(err, "library is"), "%s", err);
}
