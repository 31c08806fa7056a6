/*
 * fuzz_redis_replies.c -- the checks of the server's replies (replies.c) on
 * arbitrary reply trees.
 *
 * The input is decoded into a hiredis reply tree, as the network could make
 * one: each node a type byte, then its integer, its string (length, bytes)
 * or its elements (count, then each, at most MAX_DEPTH deep).  A string may
 * also be one of the words the protocol uses, so the fuzzer reaches past
 * the first check.  The tree then goes where a reply of each kind goes: a
 * claim and its job entries (the agent), an enqueue item, results stream
 * entries, a result as JSON, a snapshot and a job (the scheduler and status).
 * Beyond "no crash, no leak, no read past a string", what comes out must be
 * within the bounds replies.h promises.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replies.h"
#include "runcue.h"

#define MAX_DEPTH 4
#define MAX_NODES 4096

typedef struct input {
    const uint8_t *p, *end;
    size_t nodes;
} input;

static unsigned take(input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static size_t take16(input *in)
{
    size_t hi = take(in);
    return hi << 8 | take(in);
}

static const char *const words[] = {
    "jobs",     "wait",
    "empty",    "rate",
    "full",     "lease",
    "now",      "service",
    "agent",    "stat",
    "dead",     "id",
    "status",   "result",
    "error",    "dl",
    "ok",       "done",
    "fail",     "retry",
    "new",      "queued",
    "leased",   "1-1",
    "1",        "7",
    "2000000",  "{}",
    "[1,2]",    "inf",
    "nan",      "-1e30",
    "1e300",    "",
    "{}xyz",    "api",
    "echo",     "18446744073709551615-18446744073709551615",
    "svc",      "task",
    "st",       "eq",
    "fin",      "payload",
    "res",      "err",
    "pg",       "\x1b[2J",
    "progress", "99999999999999999999999999999999",
};

/* The nil that pads an array past the input's end (shared, never freed). */
static redisReply padding = {.type = REDIS_REPLY_NIL};

static redisReply *node(input *in, int depth);

static void set_string(redisReply *r, input *in)
{
    unsigned w = take(in);
    if (w & 0x80) { /* a word of the protocol */
        const char *s = words[(w & 0x7f) % (sizeof words / sizeof words[0])];
        r->len = strlen(s);
        r->str = malloc(r->len + 1);
        if (r->str) memcpy(r->str, s, r->len + 1);
        return;
    }
    size_t n = w;
    if (n == 0x7f) n = take16(in); /* a long one */
    size_t left = (size_t)(in->end - in->p);
    if (n > left) n = left;
    r->str = malloc(n + 1); /* as hiredis: NUL-terminated, NULs inside allowed */
    if (!r->str) return;
    memcpy(r->str, in->p, n);
    r->str[n] = '\0';
    r->len = n;
    in->p += n;
}

static redisReply *node(input *in, int depth)
{
    redisReply *r = calloc(1, sizeof *r);
    if (!r) abort();
    in->nodes++;
    unsigned t = take(in);
    switch (t % 6) {
    case 0:
    case 1:
        r->type = REDIS_REPLY_STRING;
        set_string(r, in);
        if (!r->str) r->type = REDIS_REPLY_NIL;
        break;
    case 2: {
        r->type = REDIS_REPLY_INTEGER;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | take(in);
        r->integer = (long long)v;
        break;
    }
    case 3:
        r->type = REDIS_REPLY_NIL;
        break;
    case 4:
        r->type = (t & 8) ? REDIS_REPLY_ERROR : REDIS_REPLY_STATUS;
        set_string(r, in);
        if (!r->str) r->type = REDIS_REPLY_NIL;
        break;
    default: {
        r->type = REDIS_REPLY_ARRAY;
        size_t n = take(in);
        if (n == 0xff) n = take16(in);
        if (depth >= MAX_DEPTH || in->nodes > MAX_NODES) n = 0;
        r->element = calloc(n ? n : 1, sizeof *r->element);
        if (!r->element) abort();
        for (size_t i = 0; i < n; i++) {
            /* past the input, the rest are nils: a count may exceed the bytes */
            if (in->p >= in->end || in->nodes > MAX_NODES) {
                r->element[i] = &padding; /* one node for them all: a run stays quick */
            } else {
                r->element[i] = node(in, depth + 1);
            }
        }
        r->elements = n;
    }
    }
    return r;
}

static void release(redisReply *r)
{
    if (r == &padding) return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        release(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static bool bounded_text(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n >= 1 && n <= max;
}

/* The agent: a claim and each of its job entries. */
static void check_claim(const redisReply *rep)
{
    rr_claim c;
    rr_claim_kind k = rr_claim_parse(rep, &c);
    CHECK(k == c.kind && k >= RR_CLAIM_JOBS && k <= RR_CLAIM_BAD);
    CHECK(memchr(c.why, '\0', sizeof c.why));
    if (k == RR_CLAIM_BAD) CHECK(c.why[0]);
    if (k == RR_CLAIM_WAIT) CHECK(c.wait_s >= RR_WAIT_MIN_S && c.wait_s <= RR_WAIT_MAX_S);
    if (k != RR_CLAIM_JOBS) return;
    CHECK(c.n_jobs <= RR_CLAIM_MAX && (c.n_jobs == 0 || 2 + 7 * c.n_jobs <= rep->elements));
    for (size_t i = 0; i < c.n_jobs; i++) {
        rr_job j;
        rr_job_verdict v = rr_job_parse(&rep->element[2 + 7 * i], &j);
        CHECK(v == RR_JOB_RUN || v == RR_JOB_REFUSE || v == RR_JOB_UNNAMED);
        if (v == RR_JOB_UNNAMED) {
            CHECK(j.why[0] && !j.params);
            continue;
        }
        CHECK(bounded_text(j.id, RR_ID_MAX) && bounded_text(j.tok, RR_ID_MAX));
        CHECK(strlen(j.id) == rep->element[2 + 7 * i]->len);
        if (v == RR_JOB_REFUSE) {
            CHECK(j.why[0] && !j.params);
            continue;
        }
        CHECK(j.params && bounded_text(j.task, RR_TASK_MAX));
        CHECK(isfinite(j.lease_s) && j.lease_s >= RR_LEASE_MIN_US / 1e6 &&
              j.lease_s <= RR_LEASE_MAX_US / 1e6);
        CHECK(j.beat_s >= RR_BEAT_MIN_S && j.beat_s <= j.lease_s / 3 + RR_BEAT_MIN_S);
        char *again = cJSON_PrintUnformatted(j.params);
        if (again) {
            cJSON *back;
            CHECK(rr_json_exact(again, strlen(again), &back) && back);
            cJSON_Delete(back);
            free(again);
        }
        cJSON_Delete(j.params);
    }
}

/* The scheduler: one enqueue item's reply. */
static void check_enqueued(const redisReply *rep)
{
    rr_enqueued e;
    rr_enq_kind k = rr_enqueued_parse(rep, &e);
    CHECK(k == e.kind);
    if (k == RR_ENQ_WAITING) CHECK(e.job > 0);
    if (k == RR_ENQ_REFUSED) CHECK(e.why != NULL);
    if (k == RR_ENQ_DONE && e.result) {
        cJSON *v;
        if (rr_json_exact(e.result, e.result_len, &v)) cJSON_Delete(v);
    }
}

/* The scheduler: entries of an XREADGROUP reply, [[stream, [[id, fields]...]]...]. */
static void check_results(const redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY) return;
    for (size_t s = 0; s < rep->elements; s++) {
        const redisReply *stream = rep->element[s];
        if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) continue;
        const redisReply *entries = stream->element[1];
        if (entries->type != REDIS_REPLY_ARRAY) continue;
        for (size_t e = 0; e < entries->elements; e++) {
            rr_result r;
            if (!rr_result_parse(entries->element[e], &r)) continue;
            CHECK(r.sid != NULL && r.deliveries >= 1);
            if (r.sid_ok) CHECK(strlen(r.sid) <= RR_SID_MAX);
            if (r.result) {
                cJSON *v;
                if (rr_json_exact(r.result, r.result_len, &v)) cJSON_Delete(v);
            }
        }
    }
}

/* The scheduler reading pending results on: a full batch's last id. */
static void check_batch(const redisReply *rep)
{
    char last[RR_SID_MAX + 1];
    for (size_t full = 1; full <= 3; full++)
        if (rr_batch_last(rep, full, last))
            CHECK(strlen(last) <= RR_SID_MAX && rr_stream_id_ok(last, strlen(last)));
}

static void check_snapshot(const redisReply *rep)
{
    cJSON *out;
    char err[RR_WHY_LEN];
    int rc = rr_snapshot_json(rep, "ns", &out, err, sizeof err);
    CHECK(rc == 0 || rc == RC_EINVAL);
    CHECK((rc == 0) == (out != NULL));
    if (out) {
        char *text = cJSON_PrintUnformatted(out);
        free(text);
        cJSON_Delete(out);
    }
}

/* A job's fields within their bounds, and no control character in them. */
static void check_job(const redisReply *rep)
{
    cJSON *out;
    char err[RR_WHY_LEN];
    int rc = rr_job_json(rep, "7", &out, err, sizeof err);
    CHECK(rc == 0 || rc == RC_EINVAL || rc == RC_ENOMEM);
    CHECK((rc == 0) == (out != NULL));
    if (!out) return;
    const cJSON *f;
    cJSON_ArrayForEach(f, out)
    {
        if (!cJSON_IsString(f)) continue;
        const unsigned char *t = (const unsigned char *)f->valuestring;
        CHECK(strlen((const char *)t) <= RR_JOB_TEXT);
        for (; *t; t++)
            CHECK(*t >= 0x20 && *t != 0x7f && !(t[0] == 0xC2 && t[1] >= 0x80 && t[1] <= 0x9F));
    }
    cJSON_Delete(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, data + size, 0};
    redisReply *rep = node(&in, 0);
    check_claim(rep);
    check_enqueued(rep);
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        check_enqueued(rep->element[i]);
    check_results(rep);
    check_batch(rep);
    check_snapshot(rep);
    check_job(rep);
    if (rep->type == REDIS_REPLY_STRING) {
        double f;
        if (rr_progress_fraction(rep->str, rep->len, &f)) CHECK(f >= 0 && f <= 1);
        cJSON *v;
        if (rr_json_exact(rep->str, rep->len, &v)) cJSON_Delete(v);
        (void)rr_stream_id_ok(rep->str, rep->len);
    }
    release(rep);
    return 0;
}
