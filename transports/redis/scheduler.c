/*
 * scheduler.c -- rc_redis: a cue's tasks bound to remote queues.
 *
 * Three connections: commands (register, enqueue), results (XREADGROUP on
 * this scheduler's stream, BLOCK) and artifacts (XREAD on the namespace's
 * artifacts stream, BLOCK).  A work's handler puts an item on the send
 * queue, sent at the end of the loop iteration with the others queued in it
 * (one runcue_enqueue_many); its reply gives the job id, under which the item waits for
 * its result.  Every item still waiting is enqueued again when the command
 * connection comes back (the dedupe key makes that idempotent, and a server
 * that lost the job gets it again).  The connections keep the loop alive only
 * while something is in flight.  While work waits, a snapshot every second
 * tells the cue why (rc_work_set_remote_status: queued and leased counts, the
 * global rate and concurrency), for rc_debug_blocked.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap64.h"
#include "rconn.h"
#include "replies.h"
#include "runcue_redis.h"

#define ERR_LEN 512
#define READ_COUNT "512" /* entries one read may return: READ_COUNT_N as text */
enum { READ_COUNT_N = 512 };
#define STASH_MAX 4096
#define STASH_KEEP_S 10.0
#define GROUP "runcue"
#define ENQUEUE_BATCH 256 /* items per runcue_enqueue_many (the library's MAX_ENQUEUE) */
#define ACK_MAX 1024      /* stream ids acknowledged in one XACK and one XDEL */
#define SID_LEN (RR_SID_MAX + 1)
#define STATUS_EVERY_S 1.0

static _Thread_local char last_error[ERR_LEN];

const char *rc_redis_last_error(void)
{
    return last_error;
}

int rc_redis_set_last_error(int rc, const char *msg)
{
    snprintf(last_error, sizeof last_error, "%s", msg);
    return rc;
}

typedef struct rs_item {
    struct rs_item *next; /* send queue, or the chain of one job */
    struct rs_binding *b;
    rc_token tok;
    uint64_t job;           /* 0 until the enqueue reply */
    const char *svc, *task; /* the binding's */
    char *payload;
    size_t payload_len;
    char *produces; /* the work's produced keys, one per line */
    char dd[160];
    char prio[24]; /* the work's priority, 0..1 */
    bool sent;
    bool cancelling; /* its job's runcue_cancel is unanswered */
} rs_item;

typedef struct rs_binding {
    struct rs_binding *next;
    struct rc_redis *r;
    char *task, *svc;
} rs_binding;

typedef struct rs_service {
    struct rs_service *next;
    char *name;
    unsigned rate_n;
    double rate_w;
    int conc;
    double lease_s;
    unsigned maxd;
} rs_service;

typedef struct rs_stash { /* a result that came before its enqueue reply */
    struct rs_stash *next;
    uint64_t job;
    char stream_id[SID_LEN];
    char status[16];
    char *result, *error;
    size_t result_len; /* the result may hold a NUL: kept whole */
    unsigned dl;
    rc_time at;
} rs_stash;

/* A small set of ids (work or job ids, a handful at a time), unordered. */
typedef struct rs_ids {
    uint64_t *v;
    size_t n, cap;
} rs_ids;

static bool ids_has(const rs_ids *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id) return true;
    return false;
}

/* Remove id; whether it was there. */
static bool ids_take(rs_ids *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id) {
            s->v[i] = s->v[--s->n];
            return true;
        }
    return false;
}

/* Add id (once): 0, or RC_ENOMEM. */
static int ids_add(rs_ids *s, uint64_t id)
{
    if (ids_has(s, id)) return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) return RC_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return 0;
}

struct rc_redis {
    rc_cue *cue;
    rc_loop *loop;
    rconn *cmd, *res, *art;
    char base[80];
    char owner[65];
    char res_key[160], art_key[100];
    char art_last[48];
    rs_binding *bindings;
    rs_service *services;
    rs_item *sq_head, *sq_tail; /* to send */
    idmap64 waiting;            /* job id -> rs_item chain */
    size_t in_flight, unanswered_cmds;
    rs_stash *stash;
    size_t n_stash;
    bool res_reading, art_reading, waiting_ready, failed, closing;
    rc_observer obs;       /* re-engages the artifacts reader when work waits on keys */
    rc_timer status_timer; /* the remote status of waiting work, every STATUS_EVERY_S */
    bool status_asked;
    rc_defer flush_defer; /* sends the items queued in one loop iteration together */
    size_t n_acks;
    char acks[ACK_MAX][SID_LEN]; /* to acknowledge and delete, in one XACK and one XDEL */
    rc_redis_stats stats;
    char err[ERR_LEN];
    /* rc_redis_cancel of work whose enqueue is unanswered: cancelled when
     * its job id comes */
    rs_ids cancels;
    /* jobs whose runcue_cancel is unanswered: an enqueue that attaches to
     * one is sent again (after the cancel, a new job) */
    rs_ids cancelling;
    /* jobs whose runcue_cancel went with a lost connection: sent again when
     * it is back (their work has already failed here) */
    rs_ids recancel;
    /* jobs whose result nothing waits for any more (their work failed here
     * as cancelled, or took its result from the enqueue's answer): their
     * stream entry is acknowledged when it comes, not stashed */
    rs_ids abandoned;
    rc_timer stash_timer; /* expires stashed results when no read comes */
};

/* ---- engagement: keep the loop alive only while something is in flight ---- */

static void engage_update(rc_redis *r)
{
    if (r->closing) return;
    bool on = r->in_flight > 0 || r->unanswered_cmds > 0 || r->waiting_ready || r->n_stash > 0 ||
              r->recancel.n > 0;
    rconn_set_engaged(r->cmd, on);
    rconn_set_engaged(r->res, on);
    /* Work that waits on keys may be woken by another scheduler's artifact:
     * keep reading the artifacts stream while any waits. */
    rc_stats st;
    rc_cue_stats(r->cue, &st);
    rconn_set_engaged(r->art, on || st.waiting > 0);
}

static void on_settled(rc_cue *cue, void *ud)
{
    (void)cue;
    engage_update(ud);
}

static void set_failed(rc_redis *r, const char *why)
{
    snprintf(r->err, sizeof r->err, "%s", why);
    rr_defang(r->err); /* often an error reply */
    r->failed = true;
    rc_loop_stop(r->loop);
}

/* ---- sending enqueues ---- */

static void flush(rc_redis *r);

static void send_push(rc_redis *r, rs_item *it)
{
    it->next = NULL;
    it->sent = false;
    if (r->sq_tail)
        r->sq_tail->next = it;
    else
        r->sq_head = it;
    r->sq_tail = it;
}

static void item_free(rs_item *it)
{
    free(it->payload);
    free(it->produces);
    free(it);
}

/* Finish one item with a status from the server.  A result that is not
 * JSON fails the work, saying so: completing it without its result would
 * lose the result without a word. */
static void finish_item(rc_redis *r, rs_item *it, const char *status, const char *result,
                        size_t rlen, const char *error)
{
    ids_take(&r->cancels, it->tok.work_id); /* a cancel too late: over anyway */
    char msg[ERR_LEN];
    if (it->cancelling && strcmp(status, "ok") != 0 && strcmp(status, "done") != 0 &&
        strcmp(status, "fail") != 0)
        status = "cancelled"; /* a retry or a dead letter racing the cancel: not run again */
    cJSON *value;
    if (strcmp(status, "ok") == 0 || strcmp(status, "done") == 0) {
        if (rr_json_exact(result, rlen, &value)) {
            rc_complete(r->cue, it->tok, value);
        } else {
            char q[RR_QUOTE_LEN];
            snprintf(msg, sizeof msg, "the result from the server is not JSON (%zu bytes: '%s')",
                     rlen, rr_quote(q, result, rlen));
            rc_fail(r->cue, it->tok, msg);
        }
    } else if (strcmp(status, "fail") == 0) {
        rc_fail(r->cue, it->tok, error && *error ? error : "failed remotely");
    } else if (strcmp(status, "cancelled") == 0) {
        rc_fail(r->cue, it->tok, "cancelled on the server");
    } else {
        snprintf(msg, sizeof msg, "%s%s", strcmp(status, "dead") == 0 ? "dead letter: " : "",
                 error && *error ? error : "failed remotely");
        rc_retry(r->cue, it->tok, msg);
    }
    r->in_flight--;
    item_free(it);
}

static void finish_chain(rc_redis *r, uint64_t job, const char *status, const char *result,
                         size_t rlen, const char *error)
{
    rs_item *it = idmap64_del(&r->waiting, job);
    while (it) {
        rs_item *next = it->next;
        finish_item(r, it, status, result, rlen, error);
        it = next;
    }
}

/* A job's progress ("progress" entry: result the fraction, error the
 * message) to the work waiting for it; none waiting (not yet enqueued, or
 * gone): dropped, a later report or the result will come. */
static void progress_chain(rc_redis *r, uint64_t job, const char *fraction, size_t flen,
                           const char *message)
{
    char msg[RR_PROGRESS_MAX + 1];
    double f;
    if (!rr_progress_fraction(fraction, flen, &f)) return;
    snprintf(msg, sizeof msg, "%s", message ? message : "");
    rr_defang(msg); /* the agent's words */
    r->stats.progress++;
    /* The tokens first: an observer of the progress may cancel work of the
     * chain, which frees its item. */
    size_t n = 0;
    for (rs_item *it = idmap64_get(&r->waiting, job); it; it = it->next)
        n++;
    rc_token one, *toks = n > 1 ? malloc(n * sizeof *toks) : &one;
    if (!toks) return;
    n = 0;
    for (rs_item *it = idmap64_get(&r->waiting, job); it; it = it->next)
        toks[n++] = it->tok;
    for (size_t i = 0; i < n; i++)
        rc_progress(r->cue, toks[i], f, msg);
    if (toks != &one) free(toks);
}

static void ack(rc_redis *r, const char *stream_id);
static bool stash_take(rc_redis *r, uint64_t job);
static int cancel_waiting(rc_redis *r, uint64_t job, rs_item *it);
static void abandon_job(rc_redis *r, uint64_t job);

static void ack_flush(rc_redis *r);

/* Fail an item the server refused. */
static void refuse_item(rc_redis *r, rs_item *it, const char *why)
{
    char msg[ERR_LEN];
    snprintf(msg, sizeof msg, "enqueue refused: %s", why);
    rr_defang(msg); /* the server's words */
    ids_take(&r->cancels, it->tok.work_id);
    r->in_flight--;
    rc_fail(r->cue, it->tok, msg);
    item_free(it);
}

/* One item's reply within runcue_enqueue_many's: {id, state[, result]} or
 * {"", "error", message}. */
static void enqueued_item(rc_redis *r, rs_item *it, const redisReply *rep)
{
    rr_enqueued e;
    switch (rr_enqueued_parse(rep, &e)) {
    case RR_ENQ_REFUSED:
        refuse_item(r, it, e.why);
        return;
    case RR_ENQ_BAD:
        ids_take(&r->cancels, it->tok.work_id);
        r->in_flight--;
        rc_fail(r->cue, it->tok, "enqueue: unexpected reply from the server");
        item_free(it);
        return;
    case RR_ENQ_DONE:
        r->stats.reattached++;
        finish_item(r, it, "ok", e.result, e.result_len, NULL);
        abandon_job(r, e.job); /* its stream entry, if any, is now nobody's */
        return;
    case RR_ENQ_WAITING:
        break;
    }
    uint64_t job = e.job;
    if (ids_has(&r->cancelling, job)) {
        /* attached to a job being cancelled: asked again, it comes after the
         * cancel on this connection, and is a new job */
        send_push(r, it);
        rc_defer_request(r->loop, &r->flush_defer);
        return;
    }
    if (e.reattached) r->stats.reattached++;
    r->stats.enqueued++;
    it->job = job;
    it->next = idmap64_get(&r->waiting, job);
    if (idmap64_put(&r->waiting, job, it)) {
        r->in_flight--;
        rc_fail(r->cue, it->tok, "out of memory");
        item_free(it);
    } else if (!stash_take(r, job) && ids_take(&r->cancels, it->tok.work_id)) {
        cancel_waiting(r, job, it);
    }
}

/* ---- cancelling ---- */

typedef struct rs_cancel { /* one runcue_cancel in flight */
    rc_redis *r;
    uint64_t job;
} rs_cancel;

static void on_cancelled(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rs_cancel *c = pd;
    rc_redis *r = c->r;
    const uint64_t job = c->job;
    free(c);
    r->unanswered_cmds--;
    ids_take(&r->cancelling, job);
    const redisReply *rep = reply;
    /* "cancelled": the stream's "cancelled" result fails the work; "finished":
     * its result comes.  No answer (the connection went, the cancel may or
     * may not have run), an error or "unknown": failed here, and whatever
     * comes for the job later finds nothing waiting. */
    /* "finished": its result comes and is applied as usual.  Anything else
     * fails the work here: "cancelled" (the stream's entry follows, and is
     * acknowledged unread), no answer or a transient error (the cancel may
     * not have run: sent again once the connection is back), another error
     * or "unknown". */
    const bool settled =
        rep && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "finished") == 0;
    if (rep && rconn_transient(rep) && !r->closing) ids_add(&r->recancel, job);
    if (!rep && !r->closing) {      /* the job may still be queued or running: cancel it later */
        ids_add(&r->recancel, job); /* out of memory: the job may run, its work failed here */
    }
    if (!settled && !r->closing) {
        abandon_job(r, job);
        const bool on_server =
            rep && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "cancelled") == 0;
        rs_item *it = idmap64_get(&r->waiting, job), *keep = NULL;
        if (it) idmap64_del(&r->waiting, job);
        while (it) {
            rs_item *next = it->next;
            if (it->cancelling) {
                r->in_flight--;
                rc_fail(r->cue, it->tok, on_server ? "cancelled on the server" : "cancelled");
                item_free(it);
            } else {
                it->next = keep;
                keep = it;
            }
            it = next;
        }
        if (keep && idmap64_put(&r->waiting, job, keep)) {
            while (keep) { /* out of memory: cannot wait for them any more */
                rs_item *next = keep->next;
                r->in_flight--;
                rc_fail(r->cue, keep->tok, "out of memory");
                item_free(keep);
                keep = next;
            }
        }
    }
    engage_update(r);
}

/* Fail `it`, waiting for `job`, as cancelled: alone on its job, the job is
 * cancelled on the server (the stream's "cancelled" result fails the work);
 * sharing it with other work (the same task and params), it only leaves
 * the chain. */
static int cancel_waiting(rc_redis *r, uint64_t job, rs_item *it)
{
    rs_item *head = idmap64_get(&r->waiting, job);
    if (head == it && !it->next) {
        if (it->cancelling) return 0;
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long)job);
        const char *argv[] = {"FCALL", "runcue_cancel", "1", r->base, id};
        size_t lens[5];
        for (int i = 0; i < 5; i++)
            lens[i] = strlen(argv[i]);
        rs_cancel *c = malloc(sizeof *c);
        if (!c || ids_add(&r->cancelling, job)) {
            free(c);
            return RC_ENOMEM;
        }
        c->r = r;
        c->job = job;
        if (rconn_cmd(r->cmd, on_cancelled, c, 5, argv, lens)) {
            free(c);
            ids_take(&r->cancelling, job);
            return RC_ESTATE;
        }
        r->unanswered_cmds++;
        it->cancelling = true;
        return 0;
    }
    if (head == it) {
        if (idmap64_put(&r->waiting, job, it->next)) return RC_ENOMEM;
    } else {
        rs_item *p = head;
        while (p && p->next != it)
            p = p->next;
        if (!p) return RC_ENOENT;
        p->next = it->next;
    }
    r->in_flight--;
    rc_fail(r->cue, it->tok, "cancelled");
    item_free(it);
    return 0;
}

int rc_redis_cancel(rc_redis *r, rc_work_id id)
{
    if (!r || !id) return RC_EINVAL;
    /* not sent yet: never reaches the server */
    for (rs_item **pp = &r->sq_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
        rs_item *it = *pp;
        if (it->tok.work_id != id) continue;
        *pp = it->next;
        if (r->sq_tail == it) r->sq_tail = prev;
        r->in_flight--;
        rc_fail(r->cue, it->tok, "cancelled");
        item_free(it);
        return 0;
    }
    for (size_t i = 0; i < r->waiting.cap; i++) {
        if (!r->waiting.keys[i]) continue;
        for (rs_item *it = r->waiting.vals[i]; it; it = it->next)
            if (it->tok.work_id == id) return cancel_waiting(r, r->waiting.keys[i], it);
    }
    /* sent, unanswered: its work is running in the cue and nowhere above */
    const rc_work *w = rc_get(r->cue, id);
    if (!w) return RC_ENOENT;
    bool ours = false; /* a task bound to r */
    for (rs_binding *b = r->bindings; b && !ours; b = b->next)
        ours = strcmp(b->task, rc_work_task(w)) == 0;
    if (!ours) return RC_ENOENT;
    if (rc_work_state(w) != RC_RUNNING) return RC_EFINISHED;
    return ids_add(&r->cancels, id);
}

typedef struct rs_batch { /* the items of one runcue_enqueue_many, in order */
    rc_redis *r;
    size_t n;
    rs_item *items[];
} rs_batch;

static void on_enqueued(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rs_batch *bt = pd;
    redisReply *rep = reply;
    rc_redis *r = bt->r;
    r->unanswered_cmds--;
    bool again = !rep || rconn_transient(rep); /* lost connection, library gone, loading */
    bool whole = rep && !again && (rep->type != REDIS_REPLY_ARRAY || rep->elements != bt->n);
    for (size_t i = 0; i < bt->n; i++) {
        rs_item *it = bt->items[i];
        if (again) {
            send_push(r, it);
        } else if (!whole) {
            enqueued_item(r, it, rep->element[i]);
        } else if (rep->type == REDIS_REPLY_ERROR) {
            refuse_item(r, it, rep->str);
        } else {
            r->in_flight--;
            rc_fail(r->cue, it->tok, "enqueue: unexpected reply from the server");
            item_free(it);
        }
    }
    free(bt);
    if (rep && again) rconn_reset(r->cmd, rep->str);
    ack_flush(r);
    engage_update(r);
}

/* Send the queued items, ENQUEUE_BATCH to one runcue_enqueue_many. */
static void flush(rc_redis *r)
{
    enum { HEAD = 5, PER = 7 };
    while (r->sq_head && rconn_ready(r->cmd)) {
        size_t n = 0, bytes = 0;
        for (rs_item *it = r->sq_head; it && n < ENQUEUE_BATCH; it = it->next, n++) {
            bytes += it->payload_len;
            if (n > 0 && bytes > RR_BATCH_BYTES) break;
        }
        rs_batch *bt = malloc(sizeof *bt + n * sizeof bt->items[0]);
        const char **argv = malloc((HEAD + PER * n) * sizeof *argv);
        size_t *lens = malloc((HEAD + PER * n) * sizeof *lens);
        if (!bt || !argv || !lens) {
            free(bt), free(argv), free(lens);
            break; /* sent by the next flush */
        }
        char nbuf[16];
        snprintf(nbuf, sizeof nbuf, "%zu", n);
        const char *head[HEAD] = {"FCALL", "runcue_enqueue_many", "1", r->base, nbuf};
        memcpy(argv, head, sizeof head);
        rs_item *it = r->sq_head;
        for (size_t i = 0; i < n; i++, it = it->next) {
            const char *a[PER] = {it->svc, it->dd, it->prio, it->task, it->payload, it->produces};
            const char **p = argv + HEAD + PER * i;
            p[0] = a[0], p[1] = r->owner, p[2] = a[1], p[3] = a[2], p[4] = a[3], p[5] = a[4];
            p[6] = a[5];
            bt->items[i] = it;
        }
        for (size_t i = 0; i < HEAD + PER * n; i++)
            lens[i] = strlen(argv[i]);
        bt->r = r;
        bt->n = n;
        int rc = rconn_cmd(r->cmd, on_enqueued, bt, (int)(HEAD + PER * n), argv, lens);
        free(argv);
        free(lens);
        if (rc) {
            free(bt);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            rs_item *sent = r->sq_head;
            r->sq_head = sent->next;
            sent->next = NULL;
            sent->sent = true;
        }
        if (!r->sq_head) r->sq_tail = NULL;
        r->unanswered_cmds++;
    }
}

static void flush_deferred(rc_loop *loop, void *arg)
{
    (void)loop;
    flush(arg);
    engage_update(arg);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The produced keys joined by newlines (keys with a newline are left out). */
static char *join_produces(const rc_work *work)
{
    const char *const *keys;
    size_t n = rc_work_produces(work, &keys), len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(keys[i]) + 1;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strchr(keys[i], '\n')) continue;
        size_t k = strlen(keys[i]);
        if (p != out) *p++ = '\n';
        memcpy(p, keys[i], k);
        p += k;
    }
    *p = '\0';
    return out;
}

static void handler(rc_cue *cue, const rc_work *work, rc_token tok, void *ud)
{
    rs_binding *b = ud;
    rc_redis *r = b->r;
    if (ids_take(&r->cancels, tok.work_id)) { /* cancelled as it started */
        rc_fail(cue, tok, "cancelled");
        return;
    }
    rs_item *it = calloc(1, sizeof *it);
    char *payload = it ? cJSON_PrintUnformatted(rc_work_params(work)) : NULL;
    char *produces = it ? join_produces(work) : NULL;
    if (!it || !payload || !produces) {
        free(it);
        free(payload);
        free(produces);
        rc_retry(cue, tok, "out of memory");
        return;
    }
    const size_t plen = strlen(payload);
    if (plen > RR_PAYLOAD_MAX) {
        /* the server would refuse it (or drop the connection over it) */
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg, "params of %zu bytes: the server takes at most %zu MiB", plen,
                 RR_PAYLOAD_MAX >> 20);
        free(it);
        free(payload);
        free(produces);
        rc_fail(cue, tok, msg);
        return;
    }
    it->tok = tok;
    it->svc = b->svc;
    it->task = b->task;
    it->payload = payload;
    it->payload_len = plen;
    snprintf(it->prio, sizeof it->prio, "%.6f", rc_work_priority(cue, work));
    it->produces = produces;
    it->b = b;
    uint64_t h = fnv1a(fnv1a(UINT64_C(14695981039346656037), b->task), payload);
    snprintf(it->dd, sizeof it->dd, "%.100s:%016llx", b->task, (unsigned long long)h);
    r->in_flight++;
    send_push(r, it);
    rc_defer_request(r->loop, &r->flush_defer);
}

/* ---- results ---- */

static void read_results(rc_redis *r, const char *from);

static void on_ack(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac, (void)reply;
    rc_redis *r = pd;
    r->unanswered_cmds--;
    engage_update(r);
}

/* Acknowledge and delete the stream ids gathered so far: one XACK, one XDEL.
 * Unsent (no connection), they stay pending in the group and are read again. */
static void ack_flush(rc_redis *r)
{
    if (!r->n_acks) return;
    enum { HEAD = 3 };
    const char *argv[HEAD + ACK_MAX];
    size_t lens[HEAD + ACK_MAX];
    argv[0] = "XACK", argv[1] = r->res_key, argv[2] = GROUP;
    for (size_t i = 0; i < r->n_acks; i++)
        argv[HEAD + i] = r->acks[i];
    for (size_t i = 0; i < HEAD + r->n_acks; i++)
        lens[i] = strlen(argv[i]);
    int n = (int)(HEAD + r->n_acks);
    if (rconn_cmd(r->res, on_ack, r, n, argv, lens) == 0) r->unanswered_cmds++;
    argv[1] = "XDEL", argv[2] = r->res_key, lens[1] = 4, lens[2] = strlen(r->res_key);
    if (rconn_cmd(r->res, on_ack, r, n - 1, argv + 1, lens + 1) == 0) r->unanswered_cmds++;
    r->n_acks = 0;
}

/* stream_id: a well-formed one (rr_stream_id_ok), so it fits. */
static void ack(rc_redis *r, const char *stream_id)
{
    if (r->n_acks == ACK_MAX) ack_flush(r);
    snprintf(r->acks[r->n_acks++], SID_LEN, "%s", stream_id);
    r->stats.acked++;
}

static const redisReply *field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0) {
            const redisReply *v = fields->element[i + 1];
            return v->type == REDIS_REPLY_STRING && !memchr(v->str, '\0', v->len) ? v : NULL;
        }
    }
    return NULL;
}

/* Each entry of an XREAD/XREADGROUP reply: [[stream, [[id, fields]...]]...]. */
static void for_each_entry(rc_redis *r, const redisReply *rep,
                           void (*fn)(rc_redis *, const redisReply *))
{
    for (size_t s = 0; s < rep->elements; s++) {
        const redisReply *stream = rep->element[s];
        if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) continue;
        const redisReply *entries = stream->element[1];
        if (entries->type != REDIS_REPLY_ARRAY) continue;
        for (size_t e = 0; e < entries->elements; e++)
            fn(r, entries->element[e]);
    }
}

static void stash_free(rs_stash *s)
{
    free(s->result);
    free(s->error);
    free(s);
}

/* A stashed result for job, if any: apply it now. */
static bool stash_take(rc_redis *r, uint64_t job)
{
    for (rs_stash **pp = &r->stash; *pp; pp = &(*pp)->next) {
        rs_stash *s = *pp;
        if (s->job != job) continue;
        *pp = s->next;
        r->n_stash--;
        finish_chain(r, job, s->status, s->result, s->result_len, s->error);
        ack(r, s->stream_id);
        stash_free(s);
        return true;
    }
    return false;
}

/* A result nothing waited for (its job abandoned): dropped from the stash and
 * acknowledged if it came already, else when it comes. */
static void abandon_job(rc_redis *r, uint64_t job)
{
    for (rs_stash **pp = &r->stash; *pp; pp = &(*pp)->next) {
        rs_stash *s = *pp;
        if (s->job != job) continue;
        *pp = s->next;
        r->n_stash--;
        ack(r, s->stream_id);
        stash_free(s);
        return;
    }
    ids_add(&r->abandoned, job); /* out of memory: stashed when it comes, then expired */
}

/* Drop stashed results nobody claimed within STASH_KEEP_S. */
static void stash_expire(rc_redis *r)
{
    rc_time now = rc_loop_now(r->loop);
    for (rs_stash **pp = &r->stash; *pp;) {
        rs_stash *s = *pp;
        if (now - s->at < rc_seconds(STASH_KEEP_S) && r->n_stash <= STASH_MAX) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        r->n_stash--;
        r->stats.unknown_results++;
        ack(r, s->stream_id);
        stash_free(s);
    }
}

/* The stash's oldest entries are due: expired even when no read returns
 * (a blocked read does not return without new results). */
static void stash_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    rc_redis *r = arg;
    stash_expire(r);
    ack_flush(r);
    rc_time oldest = RC_TIME_NEVER;
    for (const rs_stash *s = r->stash; s; s = s->next)
        if (s->at < oldest) oldest = s->at;
    if (r->stash) rc_timer_start(loop, &r->stash_timer, oldest + rc_seconds(STASH_KEEP_S));
    engage_update(r);
}

/*
 * One entry of the results stream.  Its stream id is acknowledged once the
 * entry is applied or known useless.  An id that is not a stream id (a real
 * server never sends one) cannot be acknowledged -- XACK would refuse it --
 * so such an entry is still applied to work waiting for it, and the
 * scheduler's error names the problem; read again after a reconnect, it
 * finds no work and is dropped.
 */
static void apply_entry(rc_redis *r, const redisReply *entry)
{
    rr_result e;
    if (!rr_result_parse(entry, &e)) return;
    if (!e.sid_ok) {
        char q[RR_QUOTE_LEN];
        snprintf(r->err, sizeof r->err,
                 "the results stream has an entry whose id '%s' is not a stream id: not "
                 "acknowledged",
                 rr_quote(q, e.sid, strlen(e.sid)));
    }
    if (!e.job || !e.status) {
        r->stats.unknown_results++;
        if (e.sid_ok) ack(r, e.sid);
        return;
    }
    if (strcmp(e.status, "progress") == 0) {
        progress_chain(r, e.job, e.result, e.result_len, e.error);
        if (e.sid_ok) ack(r, e.sid);
        return;
    }
    r->stats.results++;
    if (e.deliveries > 1) r->stats.redelivered++;
    if (strcmp(e.status, "dead") == 0) r->stats.dead++;
    if (idmap64_get(&r->waiting, e.job)) {
        finish_chain(r, e.job, e.status, e.result, e.result_len, e.error);
        if (e.sid_ok) ack(r, e.sid);
        return;
    }
    if (!e.sid_ok) { /* a stash entry is acknowledged later: it needs an id for that */
        r->stats.unknown_results++;
        return;
    }
    if (ids_take(&r->abandoned, e.job)) { /* its work is over already */
        ack(r, e.sid);
        return;
    }
    rs_stash *s = calloc(1, sizeof *s);
    if (!s) return; /* stays pending in the group; read again after a reconnect */
    s->job = e.job;
    snprintf(s->stream_id, sizeof s->stream_id, "%s", e.sid);
    snprintf(s->status, sizeof s->status, "%.15s", e.status);
    s->result = malloc(e.result_len + 1);
    if (s->result) {
        if (e.result_len) memcpy(s->result, e.result, e.result_len);
        s->result[e.result_len] = '\0';
        s->result_len = e.result_len;
    }
    s->error = strdup(e.error ? e.error : "");
    s->dl = e.deliveries;
    s->at = rc_loop_now(r->loop);
    if (!s->result || !s->error) {
        stash_free(s);
        return;
    }
    s->next = r->stash;
    r->stash = s;
    r->n_stash++;
    if (!rc_timer_active(&r->stash_timer))
        rc_timer_start(r->loop, &r->stash_timer, s->at + rc_seconds(STASH_KEEP_S));
}

/* Apply a read's entries, then read on from `next` (">": new ones). */
static void took_results(rc_redis *r, const redisReply *rep, const char *next)
{
    r->res_reading = false;
    if (!rep) return; /* reconnecting: on_res_ready reads again */
    if (rep->type == REDIS_REPLY_ARRAY) {
        for_each_entry(r, rep, apply_entry);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->err, sizeof r->err, "reading results: %s", rep->str);
        rr_defang(r->err);
        rconn_reset(r->res, r->err);
        return;
    }
    stash_expire(r);
    ack_flush(r);
    read_results(r, next);
    engage_update(r);
}

static void on_results(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    took_results(pd, reply, ">");
}

static void on_pending(redisAsyncContext *ac, void *reply, void *pd)
{
    /* The group's pending entries for this consumer (after a restart or a
     * dropped connection), a batch at a time, each read after the last one
     * of the batch before; then new ones. */
    (void)ac;
    const redisReply *rep = reply;
    char last[RR_SID_MAX + 1];
    took_results(pd, rep, rep && rr_batch_last(rep, READ_COUNT_N, last) ? last : ">");
}

static void read_results(rc_redis *r, const char *from)
{
    if (r->res_reading || !rconn_ready(r->res)) return;
    bool block = strcmp(from, ">") == 0;
    const char *argv[] = {"XREADGROUP", "GROUP", GROUP,     r->owner,   "COUNT", READ_COUNT,
                          "BLOCK",      "0",     "STREAMS", r->res_key, from};
    int argc = 11;
    const char **a = argv;
    const char *nb[] = {"XREADGROUP", "GROUP",   GROUP,      r->owner, "COUNT",
                        READ_COUNT,   "STREAMS", r->res_key, from};
    if (!block) {
        a = nb;
        argc = 9;
    }
    size_t lens[11];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(a[i]);
    if (rconn_cmd(r->res, block ? on_results : on_pending, r, argc, a, lens) == 0)
        r->res_reading = true;
}

static void on_group(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rc_redis *r = pd;
    redisReply *rep = reply;
    if (!rep) return;
    if (rconn_transient(rep)) {
        rconn_reset(r->res, rep->str);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR && !strstr(rep->str, "BUSYGROUP")) {
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg, "cannot create the results group: %s", rep->str);
        set_failed(r, msg);
        return;
    }
    read_results(r, "0");
}

static void on_res_ready(rconn *c, void *ud)
{
    (void)c;
    rc_redis *r = ud;
    r->res_reading = false;
    const char *argv[] = {"XGROUP", "CREATE", r->res_key, GROUP, "0", "MKSTREAM"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    rconn_cmd(r->res, on_group, r, 6, argv, lens);
}

/* ---- artifacts announced by other schedulers ---- */

static void read_artifacts(rc_redis *r);

static void artifact_entry(rc_redis *r, const redisReply *en)
{
    if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
        en->element[0]->type != REDIS_REPLY_STRING)
        return;
    /* The position to read on from: a well-formed id only (one cut short
     * or malformed would make the next read fail or go back). */
    if (!rr_stream_id_ok(en->element[0]->str, en->element[0]->len) ||
        en->element[0]->len >= sizeof r->art_last)
        return;
    memcpy(r->art_last, en->element[0]->str, en->element[0]->len + 1);
    const redisReply *key = field(en->element[1], "key");
    const redisReply *owner = field(en->element[1], "owner");
    if (!key || (owner && strcmp(owner->str, r->owner) == 0)) return;
    r->stats.artifacts_seen++;
    rc_artifacts_changed(r->cue, key->str);
}

static void on_artifacts(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rc_redis *r = pd;
    redisReply *rep = reply;
    r->art_reading = false;
    if (!rep) return;
    if (rep->type == REDIS_REPLY_ARRAY) {
        for_each_entry(r, rep, artifact_entry);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        rconn_reset(r->art, rep->str);
        return;
    }
    read_artifacts(r);
}

static void read_artifacts(rc_redis *r)
{
    if (r->art_reading || !rconn_ready(r->art)) return;
    const char *argv[] = {"XREAD", "COUNT",   READ_COUNT, "BLOCK",
                          "0",     "STREAMS", r->art_key, r->art_last};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    if (rconn_cmd(r->art, on_artifacts, r, 8, argv, lens) == 0) r->art_reading = true;
}

static void on_art_ready(rconn *c, void *ud)
{
    (void)c;
    rc_redis *r = ud;
    r->art_reading = false;
    read_artifacts(r);
}

/* ---- the command connection ---- */

static void on_registered(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rc_redis *r = pd;
    redisReply *rep = reply;
    r->unanswered_cmds--;
    if (rconn_transient(rep))
        rconn_reset(r->cmd, rep->str); /* registered again once reloaded */
    else if (rep && rep->type == REDIS_REPLY_ERROR)
        set_failed(r, rep->str);
    engage_update(r);
}

/* ---- remote status: why work in flight has not started remotely ---- */

/* Element i of a snapshot row as a number (integers and numeric strings). */
static double row_num(const redisReply *row, size_t i)
{
    if (i >= row->elements) return 0;
    const redisReply *e = row->element[i];
    if (e->type == REDIS_REPLY_INTEGER) return (double)e->integer;
    if (e->type != REDIS_REPLY_STRING) return 0;
    char *end;
    double v = strtod(e->str, &end);
    return end != e->str && !*end && isfinite(v) ? v : 0;
}

/* The sentence for service row `row` (see runcue_snapshot), or "" when
 * nothing is queued (all the work in flight is leased: it runs). */
static void status_text(const rc_redis *r, const redisReply *row, double now_us, char *out,
                        size_t cap)
{
    double rate_n = row_num(row, 2), rate_w = row_num(row, 3), conc = row_num(row, 4);
    double queued = row_num(row, 7), leased = row_num(row, 8), inwin = row_num(row, 9);
    double next = row_num(row, 10);
    out[0] = '\0';
    if (queued <= 0) return;
    int n = snprintf(out, cap, "remote: %.0f leased, %.0f queued", leased, queued);
    if (n > 0 && (size_t)n < cap && rate_n > 0 && inwin >= rate_n) {
        double at = rc_to_seconds(rc_loop_now(r->loop)) + (next - now_us) / 1e6;
        n += snprintf(out + n, cap - (size_t)n,
                      "; global rate %.0f per %gs reached, next start at t=%.3fs", rate_n,
                      rate_w / 1e6, at);
    }
    if (n > 0 && (size_t)n < cap && conc >= 0 && leased >= conc)
        snprintf(out + n, cap - (size_t)n, "; at most %.0f leased at once", conc);
}

/* One of the services this scheduler registered, by name. */
static bool own_service(const rc_redis *r, const char *name)
{
    for (const rs_service *s = r->services; s; s = s->next)
        if (strcmp(s->name, name) == 0) return true;
    return false;
}

/* A snapshot beyond the bounds of rr_snapshot_ok is set aside, with the
 * reason in the scheduler's error; only the rows of this scheduler's own
 * services are matched against its waiting work. */
static void on_status(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rc_redis *r = pd;
    const redisReply *rep = reply;
    r->status_asked = false;
    if (r->closing || !rep || rep->type != REDIS_REPLY_ARRAY) return;
    char why[RR_WHY_LEN];
    if (!rr_snapshot_ok(rep, why, sizeof why)) {
        snprintf(r->err, sizeof r->err, "%s", why);
        return;
    }
    double now_us = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *row = rep->element[i];
        if (row->type != REDIS_REPLY_ARRAY || row->elements < 2 ||
            row->element[0]->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(row->element[0]->str, "now") == 0) now_us = row_num(row, 1);
        if (strcmp(row->element[0]->str, "service") != 0 || row->elements < 11 ||
            row->element[1]->type != REDIS_REPLY_STRING || !own_service(r, row->element[1]->str))
            continue;
        char text[RC_REMOTE_STATUS_MAX];
        status_text(r, row, now_us, text, sizeof text);
        for (size_t k = 0; k < r->waiting.cap; k++)
            for (rs_item *it = r->waiting.keys[k] ? r->waiting.vals[k] : NULL; it; it = it->next)
                if (strcmp(it->svc, row->element[1]->str) == 0)
                    (void)rc_work_set_remote_status(r->cue, it->tok.work_id, text);
    }
}

/* Ask for a snapshot while work is in flight; the timer keeps no loop alive. */
static void status_tick(rc_loop *loop, rc_timer *t, void *arg)
{
    rc_redis *r = arg;
    if (r->in_flight > 0 && !r->status_asked && rconn_ready(r->cmd)) {
        const char *argv[] = {"FCALL_RO", "runcue_snapshot", "1", r->base};
        size_t lens[] = {8, 15, 1, strlen(r->base)};
        r->status_asked = rconn_cmd(r->cmd, on_status, r, 4, argv, lens) == 0;
    }
    rc_timer_start(loop, t, rc_loop_now(loop) + rc_seconds(STATUS_EVERY_S));
}

static void on_cmd_ready(rconn *c, void *ud)
{
    (void)c;
    rc_redis *r = ud;
    for (rs_service *s = r->services; s; s = s->next) {
        char rn[32], rw[32], conc[32], lease[32], maxd[32];
        snprintf(rn, sizeof rn, "%u", s->rate_n);
        snprintf(rw, sizeof rw, "%.0f", s->rate_w * 1e6);
        snprintf(conc, sizeof conc, "%d", s->conc);
        snprintf(lease, sizeof lease, "%.0f", s->lease_s * 1e6);
        snprintf(maxd, sizeof maxd, "%u", s->maxd);
        const char *argv[] = {
            "FCALL", "runcue_register", "1", r->base, s->name, rn, rw, conc, lease, maxd};
        size_t lens[10];
        for (int i = 0; i < 10; i++)
            lens[i] = strlen(argv[i]);
        if (rconn_cmd(r->cmd, on_registered, r, 10, argv, lens) == 0) r->unanswered_cmds++;
    }
    /* Cancels the lost connection took with it: their work failed already. */
    for (size_t i = 0; i < r->recancel.n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%llu", (unsigned long long)r->recancel.v[i]);
        const char *argv[] = {"FCALL", "runcue_cancel", "1", r->base, id};
        size_t lens[5];
        for (int k = 0; k < 5; k++)
            lens[k] = strlen(argv[k]);
        if (rconn_cmd(r->cmd, on_ack, r, 5, argv, lens) == 0) r->unanswered_cmds++;
    }
    r->recancel.n = 0;
    /* Everything waiting for a result is enqueued again: idempotent through
     * the dedupe key, and a server that lost a job gets it back. */
    rs_item *kept = NULL; /* those whose cancel is in flight: they wait for its answer */
    for (size_t i = 0; i < r->waiting.cap; i++) {
        if (!r->waiting.keys[i]) continue;
        rs_item *it = r->waiting.vals[i];
        while (it) {
            rs_item *next = it->next;
            if (it->cancelling) {
                it->next = kept;
                kept = it;
            } else {
                send_push(r, it);
            }
            it = next;
        }
    }
    idmap64_free(&r->waiting);
    while (kept) { /* alone on their jobs (a cancel is sent for those only) */
        rs_item *next = kept->next;
        kept->next = NULL;
        if (idmap64_put(&r->waiting, kept->job, kept)) {
            r->in_flight--;
            rc_fail(r->cue, kept->tok, "cancelled");
            item_free(kept);
        }
        kept = next;
    }
    flush(r);
    engage_update(r);
}

static void on_fatal(rconn *c, const char *why, void *ud)
{
    (void)c;
    set_failed(ud, why);
}

/* ---- public ---- */

#define fail_new rc_redis_set_last_error

int rc_redis_new(rc_redis **out, rc_cue *cue, const rc_redis_opts *opts)
{
    last_error[0] = '\0';
    if (!out || !cue || !opts) return fail_new(RC_EINVAL, "rc_redis_new: NULL argument");
    if (!rconn_name_ok(opts->owner))
        return fail_new(RC_EINVAL, "rc_redis_new: owner must be 1 to 64 of A-Z a-z 0-9 _ . -");
    rc_loop *loop = rc_cue_loop(cue);
    if (rc_loop_clock(loop) != RC_CLOCK_MONOTONIC)
        return fail_new(RC_ESTATE, "the Redis transport needs a loop on the monotonic clock");
    rc_redis *r = calloc(1, sizeof *r);
    if (!r) return fail_new(RC_ENOMEM, "out of memory");
    r->cue = cue;
    r->loop = loop;
    rc_defer_init(&r->flush_defer, flush_deferred, r);
    const char *ns = opts->conn.ns ? opts->conn.ns : "default";
    if (!rconn_ns_key(r->base, sizeof r->base, ns)) {
        free(r);
        return fail_new(RC_EINVAL, "bad namespace: use 1 to 64 of A-Z a-z 0-9 _ . -");
    }
    snprintf(r->owner, sizeof r->owner, "%s", opts->owner);
    snprintf(r->res_key, sizeof r->res_key, "%s:res:%s", r->base, r->owner);
    snprintf(r->art_key, sizeof r->art_key, "%s:art", r->base);
    snprintf(r->art_last, sizeof r->art_last, "$");
    int rc;
    char err[ERR_LEN] = "";
    if ((rc = rconn_open(&r->cmd, loop, &opts->conn, on_cmd_ready, on_fatal, r, err, sizeof err)) ||
        (rc = rconn_open(&r->res, loop, &opts->conn, on_res_ready, on_fatal, r, err, sizeof err)) ||
        (rc = rconn_open(&r->art, loop, &opts->conn, on_art_ready, on_fatal, r, err, sizeof err))) {
        rconn_free(r->cmd);
        rconn_free(r->res);
        free(r);
        return fail_new(rc, err);
    }
    r->obs.on_settled = on_settled;
    r->obs.ud = r;
    if ((rc = rc_cue_observe(cue, &r->obs))) {
        rconn_free(r->cmd);
        rconn_free(r->res);
        rconn_free(r->art);
        free(r);
        return fail_new(rc, "out of memory");
    }
    rc_timer_init(&r->status_timer, status_tick, r);
    rc_timer_init(&r->stash_timer, stash_fire, r);
    rc_timer_set_ref(&r->stash_timer, false); /* the engaged connections keep the loop */
    rc_timer_set_ref(&r->status_timer, false);
    rc_timer_start(loop, &r->status_timer, rc_loop_now(loop) + rc_seconds(STATUS_EVERY_S));
    engage_update(r);
    *out = r;
    return 0;
}

static void wait_timeout(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t, (void)arg;
    rc_loop_stop(loop);
}

int rc_redis_wait_until(rc_loop *loop, double timeout_s, bool (*ready)(void *), void *arg,
                        bool *failed, bool *waiting)
{
    rc_timer t;
    rc_timer_init(&t, wait_timeout, NULL);
    rc_time deadline = rc_loop_now(loop) + rc_seconds(timeout_s);
    rc_timer_start(loop, &t, deadline);
    *waiting = true;
    while (!ready(arg) && !*failed && rc_loop_now(loop) < deadline)
        if (rc_loop_run(loop, RC_RUN_ONCE) < 0) break;
    *waiting = false;
    rc_timer_stop(loop, &t);
    return ready(arg) ? 0 : RC_ESYS;
}

static bool sched_ready(void *arg)
{
    rc_redis *r = arg;
    return rconn_ready(r->cmd) && rconn_ready(r->res) && rconn_ready(r->art) &&
           r->unanswered_cmds == 0 && !r->failed;
}

int rc_redis_wait_ready(rc_redis *r, double timeout_s)
{
    r->waiting_ready = true;
    engage_update(r);
    int rc = rc_redis_wait_until(r->loop, timeout_s, sched_ready, r, &r->failed, &r->waiting_ready);
    engage_update(r);
    if (rc && !r->failed) {
        snprintf(r->err, sizeof r->err, "not connected after %gs: %s", timeout_s,
                 rconn_error(r->cmd)[0] ? rconn_error(r->cmd) : rconn_error(r->res));
    }
    return r->failed ? RC_ESYS : rc;
}

rc_redis_state rc_redis_status(const rc_redis *r)
{
    if (r->failed) return RC_REDIS_FAILED;
    return sched_ready((void *)r) ? RC_REDIS_READY : RC_REDIS_CONNECTING;
}

const char *rc_redis_errmsg(const rc_redis *r)
{
    return r->err;
}

int rc_redis_service(rc_redis *r, const char *service, const char *rate, int concurrent,
                     double lease_s, unsigned max_deliveries)
{
    if (!r || !rconn_name_ok(service)) return RC_EINVAL;
    unsigned n = 0;
    double w = 0;
    char perr[128];
    if (rate && rc_parse_rate(rate, &n, &w, perr, sizeof perr)) {
        snprintf(r->err, sizeof r->err, "service '%s': %s", service, perr);
        return RC_EINVAL;
    }
    if (concurrent < RC_NO_LIMIT || !(lease_s >= 0.001 && lease_s <= 1e6) || max_deliveries < 1 ||
        max_deliveries > 1000000) {
        snprintf(r->err, sizeof r->err, "service '%s': bad concurrency, lease or deliveries",
                 service);
        return RC_EINVAL;
    }
    int rc = rc_service(r->cue, service, NULL, RC_NO_LIMIT);
    if (rc) return rc;
    rs_service *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(service))) {
        free(s);
        return RC_ENOMEM;
    }
    s->rate_n = n;
    s->rate_w = w;
    s->conc = concurrent;
    s->lease_s = lease_s;
    s->maxd = max_deliveries;
    s->next = r->services;
    r->services = s;
    if (rconn_ready(r->cmd)) on_cmd_ready(r->cmd, r);
    return 0;
}

int rc_redis_task(rc_redis *r, const char *task, const char *service)
{
    if (!r || !task || !service) return RC_EINVAL;
    rs_binding *b = calloc(1, sizeof *b);
    if (!b || !(b->task = strdup(task)) || !(b->svc = strdup(service))) {
        if (b) free(b->task);
        free(b);
        return RC_ENOMEM;
    }
    b->r = r;
    int rc = rc_task(r->cue, task, service, handler, b);
    if (rc) {
        free(b->task);
        free(b->svc);
        free(b);
        return rc;
    }
    b->next = r->bindings;
    r->bindings = b;
    return 0;
}

void rc_redis_stats_get(const rc_redis *r, rc_redis_stats *out)
{
    *out = r->stats;
    out->in_flight = r->in_flight;
    uint64_t rc = rconn_reconnects(r->cmd);
    out->reconnects = rc;
}

void rc_redis_free(rc_redis *r)
{
    if (!r) return;
    r->closing = true;
    rc_timer_stop(r->loop, &r->status_timer);
    rc_timer_stop(r->loop, &r->stash_timer);
    rc_defer_cancel(r->loop, &r->flush_defer);
    rc_cue_unobserve(r->cue, &r->obs);
    rconn_free(r->cmd);
    rconn_free(r->res);
    rconn_free(r->art);
    rs_item *it = r->sq_head;
    while (it) {
        rs_item *next = it->next;
        item_free(it);
        it = next;
    }
    for (size_t i = 0; i < r->waiting.cap; i++) {
        for (it = r->waiting.keys[i] ? r->waiting.vals[i] : NULL; it;) {
            rs_item *next = it->next;
            item_free(it);
            it = next;
        }
    }
    idmap64_free(&r->waiting);
    free(r->cancels.v);
    free(r->cancelling.v);
    free(r->recancel.v);
    free(r->abandoned.v);
    while (r->stash) {
        rs_stash *s = r->stash;
        r->stash = s->next;
        stash_free(s);
    }
    while (r->services) {
        rs_service *s = r->services;
        r->services = s->next;
        free(s->name);
        free(s);
    }
    for (rs_binding *b = r->bindings; b;) {
        rs_binding *next = b->next;
        rc_task_set_handler(r->cue, b->task, NULL, NULL);
        free(b->task);
        free(b->svc);
        free(b);
        b = next;
    }
    free(r);
}
