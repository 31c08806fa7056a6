/*
 * replies.h -- the server's replies to the agent and the scheduler, checked.
 *
 * A reply comes from the network, so nothing in it is trusted: every count,
 * length and number is checked here before the agent or the scheduler acts
 * on it, and a bad one gets a sentence saying what was wrong.  These are
 * pure functions of a hiredis reply tree (no connection, no loop), so each
 * can be tested and fuzzed on trees built by hand (tests/fuzz/
 * fuzz_redis_replies.c).  Strings out of a reply point into it: they live as
 * long as the reply.  Any thread.
 */
#ifndef RC_REDIS_REPLIES_H
#define RC_REDIS_REPLIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#define RR_WHY_LEN 160
#define RR_ID_MAX 32           /* a job id or a token: the library refuses longer ones */
#define RR_TASK_MAX 256        /* a task name: the library's bound */
#define RR_CLAIM_MAX 64        /* jobs in one claim reply: the library's MAX_CLAIM */
#define RR_LEASE_MIN_US 1000.0 /* a lease's length: the bounds runcue_register takes */
#define RR_LEASE_MAX_US 1e13
/* A heartbeat at most every 10 ms, whatever the lease: a server cannot make
 * an agent storm it with extends (a lease under 30 ms may then lapse). */
#define RR_BEAT_MIN_S 0.01
/* A "wait" claims again within [1 ms, 1 s]: never at once (a busy loop),
 * never later than the safety poll. */
#define RR_WAIT_MIN_S 0.001
#define RR_WAIT_MAX_S 1.0
#define RR_SID_MAX 41               /* a stream id: two 64-bit decimals and a dash */
#define RR_SNAPSHOT_ROWS_MAX 100000 /* rows of one runcue_snapshot reply */
#define RR_ROW_MAX 64               /* elements of one of its rows */
#define RR_AGENTS_LISTED 10000      /* agents a snapshot lists (the rest counted) */
#define RR_QUOTE_LEN 104            /* rr_quote's buffer */
/* A job's params and its result: the most the library takes (str_arg in
 * runcue.lua).  A larger one is refused here, before it is sent. */
#define RR_PAYLOAD_MAX ((size_t)64 << 20)
#define RR_ERROR_MAX ((size_t)64 << 10) /* a failure's message: the library's bound */
#define RR_PROGRESS_MAX ((size_t)4096)  /* a progress message: the library's bound */
/* The params or results of one runcue_enqueue_many or runcue_finish: at most
 * this many bytes, or a single item.  The server holds a call's arguments
 * whole, and the function a copy of them: 64 results of 64 MiB in one call
 * would be gigabytes at once. */
#define RR_BATCH_BYTES ((size_t)16 << 20)

/* ---- agent: runcue_claim ---- */

typedef enum rr_claim_kind {
    RR_CLAIM_JOBS,
    RR_CLAIM_WAIT,
    RR_CLAIM_EMPTY,
    RR_CLAIM_BAD
} rr_claim_kind;

typedef struct rr_claim {
    rr_claim_kind kind;
    /* RR_CLAIM_JOBS: the job entries to read with rr_job_parse, each 7
     * elements from element[2]; at most RR_CLAIM_MAX */
    size_t n_jobs;
    double wait_s; /* RR_CLAIM_WAIT: when to claim again, RR_WAIT_MIN_S to RR_WAIT_MAX_S */
    /* RR_CLAIM_BAD: what was wrong; RR_CLAIM_JOBS: what was left out ("" if
     * nothing) -- entries past RR_CLAIM_MAX or a partial one stay leased on
     * the server until their leases end, and are delivered again */
    char why[RR_WHY_LEN];
} rr_claim;

/* Read a claim reply: {"jobs", n, n x 7 fields} | {"wait", t, why,
 * delay_us} | {"empty"}.  A wait with a delay that is not a number counts as
 * a wait of RR_WAIT_MAX_S.  Returns out->kind. */
rr_claim_kind rr_claim_parse(const redisReply *rep, rr_claim *out);

typedef enum rr_job_verdict {
    RR_JOB_RUN,     /* run it */
    RR_JOB_REFUSE,  /* it cannot run: finish it with why (retry: as "retry", else "fail") */
    RR_JOB_UNNAMED, /* its id or token is unusable: it cannot even be finished */
} rr_job_verdict;

typedef struct rr_job {
    char id[RR_ID_MAX + 1], tok[RR_ID_MAX + 1];
    const char *task;     /* RR_JOB_RUN: the task name, in the reply */
    cJSON *params;        /* RR_JOB_RUN: the payload, the caller's to free */
    double lease_s;       /* the lease's length (RR_JOB_RUN) */
    double beat_s;        /* the heartbeat interval: a third of it, at least RR_BEAT_MIN_S */
    bool retry;           /* RR_JOB_REFUSE: the server's fault, not the job's */
    char why[RR_WHY_LEN]; /* RR_JOB_REFUSE, RR_JOB_UNNAMED */
} rr_job;

/* Read one job entry of a claim: f[0..6] = id token task payload deliveries
 * lease_us service.  The id and token must be 1 to RR_ID_MAX bytes without
 * a NUL (never cut short: a cut one names another job), the lease a number
 * within the library's bounds, the task a name without a NUL, the payload
 * exactly one JSON value. */
rr_job_verdict rr_job_parse(redisReply *const *f, rr_job *out);

/* ---- scheduler: runcue_enqueue_many, the results stream, runcue_snapshot ---- */

typedef enum rr_enq_kind {
    RR_ENQ_WAITING, /* queued or leased: wait for the result of job */
    RR_ENQ_DONE,    /* done before: result (may be NULL) is its result */
    RR_ENQ_REFUSED, /* the server refused it: why */
    RR_ENQ_BAD,     /* not a reply runcue_enqueue gives */
} rr_enq_kind;

typedef struct rr_enqueued {
    rr_enq_kind kind;
    uint64_t job;       /* RR_ENQ_WAITING: > 0 */
    bool reattached;    /* RR_ENQ_WAITING: an existing job, not a new one */
    const char *result; /* RR_ENQ_DONE */
    size_t result_len;
    const char *why; /* RR_ENQ_REFUSED */
} rr_enqueued;

/* Read one item's reply within runcue_enqueue_many's: {id, state[, result]}
 * or {"", "error", message}, or an error reply. */
rr_enq_kind rr_enqueued_parse(const redisReply *rep, rr_enqueued *out);

typedef struct rr_result {
    const char *sid;                     /* the stream id */
    bool sid_ok;                         /* a well-formed one (only those can be acknowledged) */
    uint64_t job;                        /* 0: no job id, or not a number */
    const char *status, *result, *error; /* status NULL: none; the others may be NULL */
    size_t result_len;
    unsigned deliveries;
} rr_result;

/* Read one entry of the results stream: {stream id, {field, value, ...}}.
 * False if it is not an entry at all. */
bool rr_result_parse(const redisReply *entry, rr_result *out);

/* Whether s (n bytes) is a stream id: "<ms>-<seq>", each 1 to 20 digits. */
bool rr_stream_id_ok(const char *s, size_t n);

/* An XREADGROUP reply of one stream holding exactly `full` entries (a full
 * batch: more may follow) whose last id is a stream id: that id in last
 * (RR_SID_MAX + 1 bytes), to read on from.  False otherwise. */
bool rr_batch_last(const redisReply *rep, size_t full, char *last);

/* A result text as JSON: *out is the value (the caller's), or NULL for an
 * empty text (a work with no result).  False if the text is not exactly one
 * JSON value (nothing but white space may follow it). */
bool rr_json_exact(const char *s, size_t n, cJSON **out);

/* Up to 100 of the n bytes at s, from the server (or any outside source),
 * for a message: control characters (C0, DEL, C1 in UTF-8 or a lone byte
 * 80..9F) as '?', "..." when cut.  Returns out (RR_QUOTE_LEN bytes). */
const char *rr_quote(char *out, const char *s, size_t n);
/* The control characters of s as rr_quote shows them ('?' a byte), in
 * place, nothing cut: for a message already made that holds the server's
 * words (an error reply) beside our own. */
void rr_defang(char *s);
/* The length of s cut to at most max bytes, not inside a UTF-8 character
 * (a lead byte and its continuations go together); s has at least max
 * bytes before its NUL. */
size_t rr_utf8_cut(const char *s, size_t max);

/* Whether rep is a runcue_snapshot reply within bounds (an array of at most
 * RR_SNAPSHOT_ROWS_MAX rows besides its agents' -- the server keeps an agent
 * for an hour after its last call, so their rows are not bounded, only listed up to
 * RR_AGENTS_LISTED -- none longer than RR_ROW_MAX); why says what was
 * wrong. */
bool rr_snapshot_ok(const redisReply *rep, char *why, size_t whylen);

/* A runcue_snapshot reply as rc_redis_snapshot's JSON (see runcue_redis.h),
 * for namespace ns.  0, or RC_EINVAL with a sentence in err. */
int rr_snapshot_json(const redisReply *rep, const char *ns, cJSON **out, char *err, size_t errlen);

/* A "progress" entry's fraction (its result field, n bytes): a number in
 * 0..1 written with a digit first, the whole of it; false otherwise. */
bool rr_progress_fraction(const char *s, size_t n, double *out);

#define RR_JOB_TEXT 4096 /* runcue_job's params, result and error: at most this */

/* A runcue_job reply ({"now", t, field, value, ...}) as rc_redis_job's JSON
 * (see runcue_redis.h) for job id: only the fields it knows, each within
 * its bound, control characters shown as '?'.  0, or RC_EINVAL with a
 * sentence in err. */
int rr_job_json(const redisReply *rep, const char *id, cJSON **out, char *err, size_t errlen);

#endif
