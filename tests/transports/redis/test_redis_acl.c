/*
 * test_redis_acl.c -- the two ACL users of transports/redis/users.acl.in on
 * a real redis-server: the scheduler user and the agent user each do their
 * job (a work runs end to end through rc_redis and rc_redis_agent logged in
 * as them, and the scheduler user reads the snapshot), and the agent user
 * cannot read or call into another namespace, enqueue, register or load
 * functions.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_server.h"
#include "runcue_redis.h"
#include "runcue_transport.h"

#define PASSWORD "s3cret-acl"
#define PASSWORD_ENV "RC_TEST_ACL_PASSWORD"

static redis_server srv;
static redisContext *admin;

/* A blocking connection, logged in as user (NULL: the default user). */
static redisContext *login(const char *user)
{
    redisContext *c = redisConnectUnix(srv.sock);
    cr_assert(c && !c->err, "cannot connect");
    if (user) {
        redisReply *r = redisCommand(c, "AUTH %s %s", user, PASSWORD);
        cr_assert(r && r->type == REDIS_REPLY_STATUS, "AUTH %s: %s", user, r ? r->str : "?");
        freeReplyObject(r);
    }
    return c;
}

static redisReply *argv_cmd(redisContext *c, int argc, const char **argv)
{
    size_t lens[64];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    cr_assert(r, "no reply: %s", c->errstr);
    return r;
}

/* Replace every "@NS@" in line by ns, "@PASSWORD@" by the password. */
static void expand(const char *line, const char *ns, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = line; *p && o + 1 < cap;) {
        const char *val = NULL;
        size_t skip = 0;
        if (strncmp(p, "@NS@", 4) == 0) val = ns, skip = 4;
        if (strncmp(p, "@PASSWORD@", 10) == 0) val = PASSWORD, skip = 10;
        if (val) {
            o += (size_t)snprintf(out + o, cap - o, "%s", val);
            p += skip;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* Create namespace ns's users from the template, as ACL SETUSER commands. */
static void create_users(const char *ns)
{
    FILE *f = fopen(getenv("USERS_ACL"), "r");
    cr_assert(f, "cannot open the users template (USERS_ACL)");
    char line[4096], text[4096];
    int users = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "user ", 5) != 0) continue;
        expand(line, ns, text, sizeof text);
        const char *argv[64] = {"ACL", "SETUSER"};
        int argc = 2;
        for (char *w = strtok(text + 5, " \n"); w && argc < 64; w = strtok(NULL, " \n"))
            argv[argc++] = w;
        redisReply *r = argv_cmd(admin, argc, argv);
        cr_assert(r->type == REDIS_REPLY_STATUS, "ACL SETUSER %s: %s", argv[2], r->str);
        freeReplyObject(r);
        users++;
    }
    fclose(f);
    cr_assert_eq(users, 2, "the template has %d users", users);
}

static void setup(void)
{
    if (!redis_server_available()) cr_skip_test("redis-server is not installed: skipped");
    cr_assert(redis_server_start(&srv, false, NULL), "redis-server did not start");
    admin = login(NULL);
    const char *load[] = {"FUNCTION", "LOAD", rc_redis_library_text()};
    redisReply *r = argv_cmd(admin, 3, load);
    cr_assert(r->type == REDIS_REPLY_STRING, "FUNCTION LOAD: %s", r->str);
    freeReplyObject(r);
    create_users("a");
    create_users("b");
    setenv(PASSWORD_ENV, PASSWORD, 1);
}

static void teardown(void)
{
    if (admin) redisFree(admin);
    admin = NULL;
    redis_server_stop(&srv);
}

TestSuite(redis_acl, .init = setup, .fini = teardown, .timeout = 60);

static rc_job_status noop(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)job, (void)err, (void)errlen, (void)ud;
    *result = cJSON_CreateString("done");
    return RC_JOB_OK;
}

Test(redis_acl, scheduler_and_agent_users_do_their_jobs)
{
    rc_loop *loop;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), 0);
    rc_cue *sc, *ac;
    cr_assert_eq(rc_cue_new(&sc, loop, NULL), 0);
    cr_assert_eq(rc_cue_new(&ac, loop, NULL), 0);
    rc_redis *r = NULL;
    rc_redis_opts ro = {
        .conn = {.url = srv.url, .user = "rc-sched-a", .password_env = PASSWORD_ENV, .ns = "a"},
        .owner = "s"};
    cr_assert_eq(rc_redis_new(&r, sc, &ro), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_service(r, "api", "10/1", 2, 5, 3), 0);
    cr_assert_eq(rc_redis_task(r, "echo", "api"), 0);
    cr_assert_eq(rc_redis_wait_ready(r, 10), 0, "scheduler user: %s", rc_redis_errmsg(r));

    rc_pool *pool;
    cr_assert_eq(rc_pool_new(&pool, ac, 1), 0);
    cr_assert_eq(rc_pool_task(pool, "echo", NULL, noop, NULL), 0);
    const char *svcs[] = {"api"};
    rc_redis_agent_opts ao = {
        .conn = {.url = srv.url, .user = "rc-agent-a", .password_env = PASSWORD_ENV, .ns = "a"},
        .name = "agent1",
        .services = svcs,
        .n_services = 1,
        .slots = 1};
    rc_redis_agent *ag = NULL;
    cr_assert_eq(rc_redis_agent_new(&ag, ac, &ao, NULL, NULL), 0, "%s", rc_redis_last_error());
    cr_assert_eq(rc_redis_agent_wait_ready(ag, 10), 0, "agent user: %s", rc_redis_agent_errmsg(ag));

    for (int i = 0; i < 3; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "i", i);
        cr_assert_eq(rc_submit(sc, "echo", &(rc_submit_opts){.params = p}, NULL), 0);
    }
    rc_stats st = {0};
    double end = rc_to_seconds(rc_monotonic_now()) + 20;
    while (st.completed < 3 && rc_to_seconds(rc_monotonic_now()) < end) {
        rc_loop_run(loop, RC_RUN_ONCE);
        rc_cue_stats(sc, &st);
    }
    cr_assert_eq(st.completed, 3, "completed %llu of 3 (failed %llu)",
                 (unsigned long long)st.completed, (unsigned long long)st.failed);
    rc_redis_agent_stats as;
    rc_redis_agent_stats_get(ag, &as);
    cr_assert_eq(as.claimed, 3);
    /* let the last finish be confirmed before closing */
    for (int k = 0; k < 50 && (rc_redis_agent_stats_get(ag, &as), as.finishing > 0); k++)
        rc_loop_run(loop, RC_RUN_ONCE);

    /* the same work again: its enqueue looks at the old job's result (is
     * it unread?) with the commands the scheduler user is given */
    cJSON *again = cJSON_CreateObject();
    cJSON_AddNumberToObject(again, "i", 0);
    cr_assert_eq(rc_submit(sc, "echo", &(rc_submit_opts){.params = again}, NULL), 0);
    end = rc_to_seconds(rc_monotonic_now()) + 20;
    while (st.completed + st.failed < 4 && rc_to_seconds(rc_monotonic_now()) < end) {
        rc_loop_run(loop, RC_RUN_ONCE);
        rc_cue_stats(sc, &st);
    }
    cr_assert_eq(st.completed, 4, "the work submitted again: completed %llu, failed %llu",
                 (unsigned long long)st.completed, (unsigned long long)st.failed);
    for (int k = 0; k < 50 && (rc_redis_agent_stats_get(ag, &as), as.finishing > 0); k++)
        rc_loop_run(loop, RC_RUN_ONCE);

    /* the scheduler user reads the snapshot (runcue-dist status) */
    cJSON *snap = NULL;
    char err[256];
    cr_assert_eq(rc_redis_snapshot(&ro.conn, 5, &snap, err, sizeof err), 0, "%s", err);
    cJSON_Delete(snap);
    /* and a job (runcue-dist job) */
    cJSON *job = NULL;
    cr_assert_eq(rc_redis_job(&ro.conn, 5, "1", &job, err, sizeof err), 0, "%s", err);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(job, "found")));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(job, "state")), "done");
    cJSON_Delete(job);

    rc_redis_agent_free(ag);
    rc_pool_free(pool);
    rc_redis_free(r);
    rc_cue_free(ac);
    rc_cue_free(sc);
    rc_loop_free(loop);
}

static void expect_noperm(redisContext *c, int argc, const char **argv)
{
    redisReply *r = argv_cmd(c, argc, argv);
    cr_expect(r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0,
              "%s %s %s was not refused: %s", argv[0], argc > 1 ? argv[1] : "",
              argc > 3 ? argv[3] : "", r->type == REDIS_REPLY_ERROR ? r->str : "(allowed)");
    freeReplyObject(r);
}

Test(redis_acl, agent_confined_to_its_namespace_and_functions)
{
    /* namespace b has a service and a queued job */
    redisReply *r = redisCommand(admin, "FCALL runcue_register 1 rc:{b} api 0 0 -1 30000000 3");
    cr_assert(r && r->type == REDIS_REPLY_STRING, "register: %s", r ? r->str : "?");
    freeReplyObject(r);
    r = redisCommand(admin, "FCALL runcue_register 1 rc:{a} api 0 0 -1 30000000 3");
    freeReplyObject(r);
    r = redisCommand(admin, "FCALL runcue_enqueue 1 rc:{b} api s dd1 0.5 echo {} %s", "");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY, "enqueue");
    freeReplyObject(r);

    redisContext *ag = login("rc-agent-a");
    /* another namespace: neither read directly nor reached through a function */
    expect_noperm(ag, 2, (const char *[]){"HGETALL", "rc:{b}:job:1"});
    expect_noperm(ag, 2, (const char *[]){"GET", "rc:{b}:seq"});
    expect_noperm(ag, 4, (const char *[]){"LRANGE", "rc:{b}:dead", "0", "-1"});
    expect_noperm(ag, 7, (const char *[]){"FCALL", "runcue_claim", "1", "rc:{b}", "x", "1", "api"});
    expect_noperm(ag, 4, (const char *[]){"FCALL_RO", "runcue_snapshot", "1", "rc:{b}"});
    expect_noperm(ag, 2, (const char *[]){"SUBSCRIBE", "rc:{b}:wake"});
    /* its own namespace: no enqueue, register, cancel, no loading or scripts */
    expect_noperm(ag, 11,
                  (const char *[]){"FCALL", "runcue_enqueue", "1", "rc:{a}", "api", "s", "dd2",
                                   "0.5", "echo", "{}", ""});
    expect_noperm(ag, 10,
                  (const char *[]){"FCALL", "runcue_register", "1", "rc:{a}", "api", "0", "0", "-1",
                                   "1", "3"});
    expect_noperm(ag, 3, (const char *[]){"FUNCTION", "LOAD", "#!lua name=x\n"});
    expect_noperm(ag, 3, (const char *[]){"EVAL", "return 1", "0"});
    expect_noperm(ag, 2, (const char *[]){"KEYS", "*"});
    expect_noperm(ag, 3, (const char *[]){"CONFIG", "GET", "requirepass"});
    /* but it claims in its own, for any task or for its own */
    r = redisCommand(ag, "FCALL runcue_claim 1 rc:{a} x 1 api");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY, "claim in its own namespace: %s",
              r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
    freeReplyObject(r);
    r = redisCommand(ag, "FCALL runcue_claim_for 1 rc:{a} x 1 echo api");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY, "claim for its tasks: %s",
              r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
    freeReplyObject(r);
    redisFree(ag);

    /* the scheduler user of a cannot touch b either */
    redisContext *sc = login("rc-sched-a");
    expect_noperm(sc, 2, (const char *[]){"HGETALL", "rc:{b}:job:1"});
    expect_noperm(sc, 11,
                  (const char *[]){"FCALL", "runcue_enqueue", "1", "rc:{b}", "api", "s", "dd3",
                                   "0.5", "echo", "{}", ""});
    expect_noperm(sc, 7, (const char *[]){"FCALL", "runcue_claim", "1", "rc:{a}", "x", "1", "api"});
    redisFree(sc);
}
