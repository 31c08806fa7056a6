/*
 * test_redis_replies.c -- the checks of replies.c on reply trees built by
 * hand (no server): lease and heartbeat bounds, ids never cut short, stream
 * ids of any length, snapshot size limits; and a password file with a NUL.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rconn.h"
#include "replies.h"
#include "runcue_redis.h"

/* ---- building replies ---- */

static redisReply *node(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = type;
    return r;
}

static redisReply *str(const char *s)
{
    redisReply *r = node(REDIS_REPLY_STRING);
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *integer(long long v)
{
    redisReply *r = node(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

static redisReply *array(size_t n)
{
    redisReply *r = node(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    return r;
}

static void release(redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        release(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

/* One job entry: id token task payload deliveries lease_us service. */
static redisReply **job_fields(const char *id, const char *tok, const char *payload,
                               const char *lease_us)
{
    static redisReply *f[7];
    const char *v[7] = {id, tok, "echo", payload, "1", lease_us, "api"};
    for (int i = 0; i < 7; i++)
        f[i] = str(v[i]);
    return f;
}

static void release_fields(redisReply **f)
{
    for (int i = 0; i < 7; i++)
        release(f[i]);
}

static rr_job_verdict job(const char *id, const char *tok, const char *payload,
                          const char *lease_us, rr_job *j)
{
    redisReply **f = job_fields(id, tok, payload, lease_us);
    rr_job_verdict v = rr_job_parse(f, j);
    release_fields(f);
    return v;
}

/* ---- the agent's claim ---- */

Test(redis_replies, a_lease_must_be_a_finite_number_within_the_library_bounds)
{
    const char *bad[] = {"inf", "-inf", "nan", "1e300", "-1e30", "999", "1e14", "5000x", "", "0x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rr_job j;
        cr_assert_eq(job("1", "7", "{}", bad[i], &j), RR_JOB_REFUSE, "lease '%s'", bad[i]);
        cr_assert(j.retry, "the server's fault: retried");
        cr_assert(strstr(j.why, "bad lease length"), "%s", j.why);
        cr_assert_null(j.params);
    }
    rr_job j;
    cr_assert_eq(job("1", "7", "{}", "2000000", &j), RR_JOB_RUN);
    cr_assert_float_eq(j.lease_s, 2.0, 1e-9);
    cr_assert_float_eq(j.beat_s, 2.0 / 3, 1e-9);
    cJSON_Delete(j.params);
}

Test(redis_replies, the_heartbeat_has_a_floor_whatever_the_lease)
{
    rr_job j;
    cr_assert_eq(job("1", "7", "{}", "1000", &j), RR_JOB_RUN);
    cr_assert_float_eq(j.beat_s, RR_BEAT_MIN_S, 1e-12, "a 1 ms lease beats every %g s", j.beat_s);
    cJSON_Delete(j.params);
}

Test(redis_replies, an_overlong_id_or_token_is_refused_not_cut)
{
    char id32[33], id33[34];
    memset(id32, '9', 32), id32[32] = '\0';
    memset(id33, '9', 33), id33[33] = '\0';
    rr_job j;
    cr_assert_eq(job(id32, id32, "{}", "5000000", &j), RR_JOB_RUN);
    cr_assert_str_eq(j.id, id32);
    cr_assert_str_eq(j.tok, id32);
    cJSON_Delete(j.params);
    cr_assert_eq(job(id33, "7", "{}", "5000000", &j), RR_JOB_UNNAMED);
    cr_assert(strstr(j.why, "job id or token"), "%s", j.why);
    cr_assert_eq(job("1", id33, "{}", "5000000", &j), RR_JOB_UNNAMED);
    cr_assert_eq(job("", "7", "{}", "5000000", &j), RR_JOB_UNNAMED);
}

Test(redis_replies, a_payload_must_be_exactly_one_json_value)
{
    rr_job j;
    cr_assert_eq(job("1", "7", "{}xyz", "5000000", &j), RR_JOB_REFUSE);
    cr_assert(!j.retry);
    cr_assert(strstr(j.why, "payload is not JSON"), "%s", j.why);
    cr_assert_eq(job("1", "7", "{} {}", "5000000", &j), RR_JOB_REFUSE);
    cr_assert_eq(job("1", "7", "", "5000000", &j), RR_JOB_REFUSE);
    cr_assert_eq(job("1", "7", " {\"a\":1}\n", "5000000", &j), RR_JOB_RUN);
    cJSON_Delete(j.params);
}

Test(redis_replies, a_task_name_with_a_nul_is_refused)
{
    redisReply **f = job_fields("1", "7", "{}", "5000000");
    f[2]->str[2] = '\0'; /* "ec\0o" */
    rr_job j;
    cr_assert_eq(rr_job_parse(f, &j), RR_JOB_REFUSE);
    release_fields(f);
}

static redisReply *wait_reply(const char *delay_us)
{
    redisReply *r = array(4);
    r->element[0] = str("wait");
    r->element[1] = str("0");
    r->element[2] = str("rate");
    r->element[3] = str(delay_us);
    return r;
}

Test(redis_replies, a_wait_is_bounded_both_ways)
{
    struct {
        const char *delay;
        double s;
    } cases[] = {{"-5000000", RR_WAIT_MIN_S},
                 {"nan", RR_WAIT_MAX_S},
                 {"inf", RR_WAIT_MAX_S},
                 {"junk", RR_WAIT_MAX_S},
                 {"1e300", RR_WAIT_MAX_S},
                 {"0", RR_WAIT_MIN_S},
                 {"200000", 0.201}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        redisReply *r = wait_reply(cases[i].delay);
        rr_claim c;
        cr_assert_eq(rr_claim_parse(r, &c), RR_CLAIM_WAIT);
        cr_assert_float_eq(c.wait_s, cases[i].s, 1e-9, "delay '%s': %g s", cases[i].delay,
                           c.wait_s);
        release(r);
    }
}

Test(redis_replies, a_claim_reads_at_most_the_library_limit_of_whole_entries)
{
    size_t n = 2 + 7 * (RR_CLAIM_MAX + 5) + 3;
    redisReply *r = array(n);
    r->element[0] = str("jobs");
    r->element[1] = integer(RR_CLAIM_MAX + 5);
    for (size_t i = 2; i < n; i++)
        r->element[i] = str("1");
    rr_claim c;
    cr_assert_eq(rr_claim_parse(r, &c), RR_CLAIM_JOBS);
    cr_assert_eq(c.n_jobs, RR_CLAIM_MAX);
    cr_assert(strstr(c.why, "more than 64"), "%s", c.why);
    release(r);
}

/* ---- the scheduler's results ---- */

static redisReply *entry(const char *sid, const char *job)
{
    redisReply *e = array(2), *f = array(4);
    e->element[0] = str(sid);
    e->element[1] = f;
    f->element[0] = str("id");
    f->element[1] = str(job);
    f->element[2] = str("status");
    f->element[3] = str("ok");
    return e;
}

Test(redis_replies, stream_ids_of_any_length_are_judged_whole)
{
    rr_result res;
    redisReply *e = entry("18446744073709551615-18446744073709551615", "12");
    cr_assert(rr_result_parse(e, &res));
    cr_assert(res.sid_ok, "the longest stream id fits");
    cr_assert_eq(res.job, 12);
    release(e);
    char longid[80];
    memset(longid, '1', sizeof longid - 1), longid[sizeof longid - 1] = '\0';
    longid[3] = '-';
    e = entry(longid, "12");
    cr_assert(rr_result_parse(e, &res));
    cr_assert(!res.sid_ok);
    release(e);
    e = entry("1-2", "12x");
    cr_assert(rr_result_parse(e, &res));
    cr_assert_eq(res.job, 0, "a job id must be all digits");
    release(e);
}

Test(redis_replies, an_ok_result_must_be_json)
{
    cJSON *v;
    cr_assert(!rr_json_exact("{}xyz", 5, &v));
    cr_assert(!rr_json_exact("not json", 8, &v));
    cr_assert(!rr_json_exact("{}\0{}", 5, &v));
    cr_assert(rr_json_exact("", 0, &v) && v == NULL, "empty: no result");
    cr_assert(rr_json_exact("[1] ", 4, &v) && cJSON_IsArray(v));
    cJSON_Delete(v);
}

/* ---- snapshots ---- */

Test(redis_replies, a_snapshot_with_too_many_rows_is_refused)
{
    redisReply *r = array(RR_SNAPSHOT_ROWS_MAX + 1);
    for (size_t i = 0; i < r->elements; i++)
        r->element[i] = node(REDIS_REPLY_NIL);
    cJSON *out;
    char err[160];
    cr_assert_eq(rr_snapshot_json(r, "ns", &out, err, sizeof err), RC_EINVAL);
    cr_assert_null(out);
    cr_assert(strstr(err, "more than 100000 rows besides the agents'"), "%s", err);
    release(r);
}

/* The server never forgets an agent (every restart under its default name,
 * host.pid, is a new one): their rows are not refused, only listed up to
 * RR_AGENTS_LISTED and the rest counted. */
Test(redis_replies, a_snapshot_lists_its_first_agents_and_counts_the_rest)
{
    const size_t n = RR_AGENTS_LISTED + 150000;
    redisReply *r = array(n + 1);
    r->element[0] = array(2);
    r->element[0]->element[0] = str("now");
    r->element[0]->element[1] = str("5000000");
    for (size_t i = 1; i <= n; i++) {
        redisReply *row = r->element[i] = array(4);
        char name[32];
        snprintf(name, sizeof name, "h.%zu", i);
        row->element[0] = str("agent");
        row->element[1] = str(name);
        row->element[2] = str("4000000");
        row->element[3] = str("0");
    }
    cJSON *out;
    char err[160] = "";
    cr_assert_eq(rr_snapshot_json(r, "ns", &out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(out, "agents")), RR_AGENTS_LISTED);
    cr_assert_eq(cJSON_GetObjectItem(out, "agents_unlisted")->valuedouble, 150000);
    cJSON_Delete(out);
    release(r);
}

Test(redis_replies, a_quote_of_outside_bytes_is_short_and_shows_controls_as_marks)
{
    char q[RR_QUOTE_LEN];
    cr_assert_str_eq(rr_quote(q,
                              "a\x1b[2J\xc2\x9b"
                              "1m\x7f\xc2\xa0",
                              12),
                     "a?[2J?1m?\xc2\xa0");
    /* A lone 9B is a control too; the 82 and 9B in a euro sign and in
     * U+8A1B (E8 A8 9B) are parts of characters, kept. */
    cr_assert_str_eq(rr_quote(q,
                              "\x9b"
                              "2J\xe2\x82\xac\xe8\xa8\x9b\x80",
                              10),
                     "?2J\xe2\x82\xac\xe8\xa8\x9b?");
    char long_text[300];
    memset(long_text, 'x', sizeof long_text);
    rr_quote(q, long_text, sizeof long_text);
    cr_assert_eq(strlen(q), RR_QUOTE_LEN - 1);
    cr_assert_str_eq(q + strlen(q) - 4, "x...");
    cr_assert_str_eq(rr_quote(q, "", 0), "");
}

Test(redis_replies, a_snapshot_row_too_long_is_refused)
{
    redisReply *r = array(1), *dead = array(RR_ROW_MAX + 1);
    r->element[0] = dead;
    dead->element[0] = str("dead");
    for (size_t i = 1; i < dead->elements; i++)
        dead->element[i] = str("1");
    cJSON *out;
    char err[160];
    cr_assert_eq(rr_snapshot_json(r, "ns", &out, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "a row of 65 elements"), "%s", err);
    release(r);
}

/* ---- the password file ---- */

Test(redis_replies, a_nul_in_the_password_file_is_refused)
{
    char path[] = "/tmp/runcue-pw-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "ab\0cd\n", 6), 6);
    close(fd);
    rc_redis_conn conn = {.url = "unix:/nonexistent/redis.sock", .password_file = path};
    cJSON *out;
    char err[256] = "";
    int rc = rc_redis_snapshot(&conn, 0.1, &out, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, RC_EINVAL, "%s", err);
    cr_assert(strstr(err, "NUL byte"), "%s", err);
}

Test(redis_replies, a_password_file_that_cannot_be_read_is_refused)
{
    /* A directory opens, then fails to read: it is no empty password. */
    rc_redis_conn conn = {.url = "unix:/nonexistent/redis.sock", .password_file = "/"};
    cJSON *out;
    char err[256] = "";
    int rc = rc_redis_snapshot(&conn, 0.1, &out, err, sizeof err);
    cr_assert_eq(rc, RC_ESYS, "%s", err);
    cr_assert(strstr(err, "cannot read the password file '/'"), "%s", err);
}

Test(redis_replies, a_password_file_and_a_password_variable_together_are_refused)
{
    rc_redis_conn conn = {.url = "unix:/nonexistent/redis.sock",
                          .password_file = "/nonexistent/pw",
                          .password_env = "RUNCUE_TEST_NO_SUCH_VARIABLE"};
    cJSON *out;
    char err[256] = "";
    int rc = rc_redis_snapshot(&conn, 0.1, &out, err, sizeof err);
    cr_assert_eq(rc, RC_EINVAL, "%s", err);
    cr_assert(strstr(err, "both a password file and a password variable"), "%s", err);
}

/* ---- the address ---- */

typedef struct url_case {
    const char *url;
    const char *host; /* NULL: refused (or a unix path, below) */
    int port;
    const char *user;
    const char *unix_path;
    const char *says; /* refused: a word the message holds */
} url_case;

Test(redis_url, addresses_are_read_whole_or_refused_in_words)
{
    static const url_case cases[] = {
        {"redis://localhost:6380", "localhost", 6380, NULL, NULL, NULL},
        {"localhost", "localhost", 6379, NULL, NULL, NULL},
        {"redis://h:1/", "h", 1, NULL, NULL, NULL},
        {"redis://h:1/0", "h", 1, NULL, NULL, NULL},
        {"redis://ops@h:7000", "h", 7000, "ops", NULL, NULL},
        {"redis://[::1]:6390", "::1", 6390, NULL, NULL, NULL},
        {"[fe80::1]", "fe80::1", 6379, NULL, NULL, NULL},
        {"unix:/run/redis.sock", NULL, 0, NULL, "/run/redis.sock", NULL},
        {"unix:///run/redis.sock", NULL, 0, NULL, "/run/redis.sock", NULL},
        /* A database other than 0, or a path: refused, not ignored. */
        {"redis://h:6379/2", NULL, 0, NULL, NULL, "database 0"},
        {"redis://h:6379/x@y", NULL, 0, NULL, NULL, "database 0"},
        {"redis://u:pw@h:1", NULL, 0, NULL, NULL, "password"},
        {"redis://@h:1", NULL, 0, NULL, NULL, "bad user"},
        {"redis://a b@h:1", NULL, 0, NULL, NULL, "bad user"},
        {"redis://h:0", NULL, 0, NULL, NULL, "bad port"},
        {"redis://h:65536", NULL, 0, NULL, NULL, "bad port"},
        {"redis://h:+1", NULL, 0, NULL, NULL, "bad port"},
        {"redis://h:", NULL, 0, NULL, NULL, "bad port"},
        {"redis://h:12x", NULL, 0, NULL, NULL, "bad port"},
        {"redis://::1:6379", NULL, 0, NULL, NULL, "brackets"},
        {"redis://[::1", NULL, 0, NULL, NULL, "']'"},
        {"redis://[::1]x", NULL, 0, NULL, NULL, "[address]:port"},
        {"redis://:6379", NULL, 0, NULL, NULL, "host:port"},
        {"redis://h\x1b[2J:1", NULL, 0, NULL, NULL, "h?[2J:1"},
        {"unix:run/redis.sock", NULL, 0, NULL, NULL, "absolute path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const url_case *c = &cases[i];
        rconn_cfg cfg;
        char err[256] = "";
        const int rc = rconn_cfg_parse(&cfg, &(rc_redis_conn){.url = c->url}, err, sizeof err);
        if (c->host || c->unix_path) {
            cr_expect_eq(rc, 0, "%s: %s", c->url, err);
            if (rc) continue;
            if (c->host) {
                cr_expect_str_eq(cfg.host, c->host, "%s", c->url);
                cr_expect_eq(cfg.port, c->port, "%s", c->url);
            } else {
                cr_expect_str_eq(cfg.unix_path, c->unix_path, "%s", c->url);
            }
            if (c->user)
                cr_expect_str_eq(cfg.user, c->user, "%s", c->url);
            else
                cr_expect_null(cfg.user, "%s", c->url);
            rconn_cfg_clear(&cfg);
        } else {
            cr_expect_eq(rc, RC_EINVAL, "%s", c->url);
            cr_expect(strstr(err, c->says) != NULL, "%s: '%s' lacks '%s'", c->url, err, c->says);
            for (const char *p = err; *p; p++)
                cr_expect((unsigned char)*p >= 0x20, "%s: a control byte in '%s'", c->url, err);
        }
    }
}

Test(redis_url, the_user_option_is_checked_and_wins_over_the_url)
{
    rconn_cfg cfg;
    char err[256] = "";
    cr_assert_eq(rconn_cfg_parse(&cfg, &(rc_redis_conn){.url = "redis://a@h:1", .user = "b"}, err,
                                 sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(cfg.user, "b");
    rconn_cfg_clear(&cfg);
    cr_assert_eq(
        rconn_cfg_parse(&cfg, &(rc_redis_conn){.url = "h:1", .user = "x\ny"}, err, sizeof err),
        RC_EINVAL);
    cr_assert(strstr(err, "bad Redis user 'x?y'"), "%s", err);
}

Test(redis_replies, a_message_is_defanged_in_place_and_kept_whole)
{
    char msg[] = "runcue_snapshot: \x1b[2J\xc2\x9b"
                 "1m\x9b \xe2\x82\xac\x7f end";
    rr_defang(msg);
    cr_assert_str_eq(msg, "runcue_snapshot: ?[2J??1m? \xe2\x82\xac? end");
}

Test(redis_replies, a_progress_fraction_is_a_number_from_0_to_1_and_nothing_else)
{
    double f = -1;
    cr_assert(rr_progress_fraction("0.25", 4, &f));
    cr_assert_eq(f, 0.25);
    cr_assert(rr_progress_fraction("1", 1, &f) && f == 1);
    cr_assert(rr_progress_fraction("0", 1, &f) && f == 0);
    const char *bad[] = {"", "1.5", "-0.1", "nan", "inf", "0.5x", " 0.5", "1e400"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(!rr_progress_fraction(bad[i], strlen(bad[i]), &f), "'%s' taken", bad[i]);
    cr_assert(!rr_progress_fraction("0.5\0", 4, &f), "a NUL inside");
    cr_assert(!rr_progress_fraction(NULL, 0, &f));
}

Test(redis_replies, a_text_is_cut_between_characters_not_inside_one)
{
    const char *s = "ab\xe2\x82\xac"
                    "cd"; /* a, b, the euro sign's 3 bytes, c, d */
    cr_assert_eq(rr_utf8_cut(s, 2), 2);
    cr_assert_eq(rr_utf8_cut(s, 3), 2, "inside the euro sign");
    cr_assert_eq(rr_utf8_cut(s, 4), 2);
    cr_assert_eq(rr_utf8_cut(s, 5), 5);
    cr_assert_eq(rr_utf8_cut(s, 7), 7, "the whole text");
    cr_assert_eq(rr_utf8_cut(s, 0), 0);
    /* continuation bytes with no lead: not UTF-8, cut where asked */
    cr_assert_eq(rr_utf8_cut("a\x80\x80\x80\x80\x80", 5), 5);
    cr_assert_eq(rr_utf8_cut("\x80\x80", 1), 1);
}

/* [[stream, [entries...]]] with the given entries' ids. */
static redisReply *batch(const char *const *ids, size_t n)
{
    redisReply *rep = array(1), *stream = array(2), *entries = array(n);
    rep->element[0] = stream;
    stream->element[0] = str("rc:{t}:res:s1");
    stream->element[1] = entries;
    for (size_t i = 0; i < n; i++)
        entries->element[i] = entry(ids[i], "7");
    return rep;
}

Test(redis_replies, a_full_batch_gives_its_last_id_to_read_on_from)
{
    char last[RR_SID_MAX + 1];
    const char *ids[] = {"1-0", "1-1", "18446744073709551615-18446744073709551615"};
    redisReply *rep = batch(ids, 3);
    cr_assert(rr_batch_last(rep, 3, last));
    cr_assert_str_eq(last, ids[2]);
    cr_assert_not(rr_batch_last(rep, 4, last), "a short batch: nothing follows");
    release(rep);
    const char *bad[] = {"1-0", "not-an-id"};
    rep = batch(bad, 2);
    cr_assert_not(rr_batch_last(rep, 2, last), "a last id that is no stream id");
    release(rep);
}
