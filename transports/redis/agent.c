/*
 * agent.c -- rc_redis_agent: claims jobs into a local cue, heartbeats their
 * leases, finishes them with the fencing token.
 *
 * Two connections: commands (claim, extend, finish) and a subscription to
 * the namespace's wake channel, so an idle agent claims as soon as work is
 * queued or a slot frees anywhere, not on a poll.  A claim that says "wait
 * until t" (the rate ring admits at t, or a lease ends at t and its job may
 * be delivered again) arms a timer for t; "empty" waits for a wake message.
 * A one-second safety poll covers a lost wake.
 *
 * A claimed job becomes local work (rc_submit, params = the payload) on the
 * cue's task of the same name; an observer on the cue sees it complete or
 * fail and sends the finish, with the others of the same loop iteration
 * (one runcue_finish).  Each lease has its own heartbeat timer, every
 * third of the lease (at most every RR_BEAT_MIN_S).  Finishes lost with a
 * connection are sent again once it is back (the token makes a repeat
 * harmless).
 *
 * The replies are checked by replies.c before anything here acts on them.
 * Never more than `slots` jobs run: a job claimed beyond them is held (its
 * lease renewed) until a slot frees -- see take_job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "idmap64.h"
#include "rconn.h"
#include "replies.h"
#include "runcue_redis.h"

#define ERR_LEN 512
#define POLL_S 1.0
#define MAX_SLOTS 64

typedef struct ag_lease {
    struct rc_redis_agent *a;
    struct ag_lease *next_fin; /* finishes waiting for a connection, or held ones */
    rc_work_id local;          /* 0 while held */
    char job[RR_ID_MAX + 1], tok[RR_ID_MAX + 1];
    rc_time beat_every; /* a third of the lease, at least RR_BEAT_MIN_S */
    rc_timer beat;
    /* held (claimed beyond the free slots): what to start once a slot frees */
    char *task;
    cJSON *params;
    /* the finish, once the local work is over */
    bool done;
    char status[8];
    char *result, *error;
    size_t result_len, error_len;
    /* the local work's last progress, sent with a heartbeat (at once if the
     * last was sent a second ago or more) */
    char *pg_msg;
    char pg_frac[24];
    bool pg_dirty;
    rc_time pg_sent;
} ag_lease;

struct rc_redis_agent {
    rc_cue *cue;
    rc_loop *loop;
    rconn *cmd, *sub;
    char base[80], wake_key[100];
    char name[65];
    char **services;
    size_t n_services;
    char *tasks;         /* the tasks it runs, one a line (runcue_claim_for); NULL: any */
    uint64_t max_claims; /* 0: no limit */
    unsigned slots;
    rc_redis_lost_fn on_lost;
    void *ud;
    idmap64 leases;            /* local work id -> ag_lease */
    size_t running, finishing; /* local work running; finishes not yet answered */
    ag_lease *fin_head, *fin_tail;
    ag_lease *held_head, *held_tail; /* claimed, not started: no free slot yet */
    size_t n_held;
    bool claiming, draining, failed;
    bool woken; /* a wake came while a claim was in flight: claim again after it */
    rc_timer claim_timer;
    rc_defer fin_defer; /* sends the finishes of one loop iteration together */
    rc_observer obs;
    rc_redis_agent_stats stats;
    char err[ERR_LEN];
};

static void try_claim(rc_redis_agent *a);

static void lease_free(rc_redis_agent *a, ag_lease *l)
{
    rc_timer_stop(a->loop, &l->beat);
    free(l->task);
    cJSON_Delete(l->params);
    free(l->result);
    free(l->error);
    free(l->pg_msg);
    free(l);
}

/* ---- finishing ---- */

static void send_finishes(rc_redis_agent *a);

/* Queue a finish to send (now, or when the connection is back). */
static void fin_push(rc_redis_agent *a, ag_lease *l)
{
    l->next_fin = NULL;
    if (a->fin_tail)
        a->fin_tail->next_fin = l;
    else
        a->fin_head = l;
    a->fin_tail = l;
}

typedef struct ag_fin_batch { /* the leases of one runcue_finish, in order */
    rc_redis_agent *a;
    size_t n;
    ag_lease *leases[];
} ag_fin_batch;

static void on_finished(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    ag_fin_batch *bt = pd;
    rc_redis_agent *a = bt->a;
    redisReply *rep = reply;
    /* lost with the connection, library removed, server loading: again when
     * the connection is back (the token makes a repeat harmless) */
    bool again = !rep || rconn_transient(rep);
    bool each = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == bt->n;
    for (size_t i = 0; i < bt->n; i++) {
        ag_lease *l = bt->leases[i];
        if (again) {
            fin_push(a, l);
            continue;
        }
        a->finishing--;
        const redisReply *e = each ? rep->element[i] : NULL;
        if (e && e->type == REDIS_REPLY_STRING && strcmp(e->str, "ok") == 0)
            a->stats.finished++;
        else
            a->stats.stale++;
        lease_free(a, l);
    }
    free(bt);
    if (rep && again) {
        rconn_reset(a->cmd, rep->str);
        return;
    }
    if (!again) try_claim(a);
}

/* Send the queued finishes, up to MAX_SLOTS results to one runcue_finish. */
static void send_finishes(rc_redis_agent *a)
{
    enum { HEAD = 6, PER = 6 };
    while (a->fin_head && rconn_ready(a->cmd)) {
        size_t n = 0, bytes = 0;
        for (ag_lease *l = a->fin_head; l && n < MAX_SLOTS; l = l->next_fin, n++) {
            bytes += l->result_len + l->error_len;
            if (n > 0 && bytes > RR_BATCH_BYTES) break;
        }
        ag_fin_batch *bt = malloc(sizeof *bt + n * sizeof bt->leases[0]);
        if (!bt) break; /* sent by the next call */
        const char *argv[HEAD + PER * MAX_SLOTS];
        size_t lens[HEAD + PER * MAX_SLOTS];
        char nbuf[16];
        snprintf(nbuf, sizeof nbuf, "%zu", n);
        const char *head[HEAD] = {"FCALL", "runcue_finish", "1", a->base, a->name, nbuf};
        memcpy(argv, head, sizeof head);
        ag_lease *l = a->fin_head;
        for (size_t i = 0; i < n; i++, l = l->next_fin) {
            const char **p = argv + HEAD + PER * i;
            p[0] = l->job, p[1] = l->tok, p[2] = l->status;
            p[3] = l->result ? l->result : "", p[4] = l->error ? l->error : "", p[5] = "0";
            bt->leases[i] = l;
        }
        for (size_t i = 0; i < HEAD + PER * n; i++)
            lens[i] = strlen(argv[i]);
        bt->a = a;
        bt->n = n;
        if (rconn_cmd(a->cmd, on_finished, bt, (int)(HEAD + PER * n), argv, lens)) {
            free(bt);
            break;
        }
        a->fin_head = l;
        if (!a->fin_head) a->fin_tail = NULL;
    }
}

static void start_held(rc_redis_agent *a);

static void finish_deferred(rc_loop *loop, void *arg)
{
    (void)loop;
    send_finishes(arg);
    start_held(arg); /* the slots of the work just over */
}

/* The local work of a lease is over: queue its finish. */
static void local_over(rc_redis_agent *a, ag_lease *l, const char *status, const cJSON *result,
                       const char *error)
{
    idmap64_del(&a->leases, l->local);
    a->running--;
    rc_timer_stop(a->loop, &l->beat);
    snprintf(l->status, sizeof l->status, "%s", status);
    l->result = result ? cJSON_PrintUnformatted(result) : NULL;
    l->result_len = l->result ? strlen(l->result) : 0;
    char over[ERR_LEN];
    if (l->result_len > RR_PAYLOAD_MAX) {
        /* the server would refuse the whole finish: the job fails instead,
         * saying why, rather than run again and again */
        snprintf(over, sizeof over, "the result of %zu bytes is over the %zu MiB the server takes",
                 l->result_len, RR_PAYLOAD_MAX >> 20);
        free(l->result);
        l->result = NULL;
        l->result_len = 0;
        snprintf(l->status, sizeof l->status, "fail");
        error = over;
    }
    l->error_len = error ? strlen(error) : 0;
    if (l->error_len > RR_ERROR_MAX) l->error_len = rr_utf8_cut(error, RR_ERROR_MAX);
    l->error = error ? strndup(error, l->error_len) : NULL;
    a->finishing++;
    fin_push(a, l);
    rc_defer_request(a->loop, &a->fin_defer); /* with the others over in this iteration */
}

static void send_extend(rc_redis_agent *a, ag_lease *l);

/* The local work of a lease reported progress: keep the newest, and send it
 * unless one went out within the last second (the next heartbeat, or the
 * next report after that second, carries it). */
static void local_progress(rc_redis_agent *a, ag_lease *l, double fraction, const char *message)
{
    snprintf(l->pg_frac, sizeof l->pg_frac, "%.4f", fraction < 0 ? 0 : fraction > 1 ? 1 : fraction);
    size_t n = message ? strlen(message) : 0;
    if (n > RR_PROGRESS_MAX) n = rr_utf8_cut(message, RR_PROGRESS_MAX);
    char *m = malloc(n + 1);
    if (!m) return;
    if (n) memcpy(m, message, n);
    m[n] = '\0';
    free(l->pg_msg);
    l->pg_msg = m;
    l->pg_dirty = true;
    const rc_time now = rc_loop_now(a->loop);
    if (l->pg_sent == 0 || now - l->pg_sent >= rc_seconds(1)) send_extend(a, l);
}

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    rc_redis_agent *a = ud;
    if (!ev->work) return;
    if (ev->kind == RC_EV_PROGRESS) {
        ag_lease *l = idmap64_get(&a->leases, rc_work_get_id(ev->work));
        if (l) local_progress(a, l, ev->progress, ev->detail);
        return;
    }
    if (ev->kind != RC_EV_COMPLETED && ev->kind != RC_EV_FAILED && ev->kind != RC_EV_SKIPPED &&
        ev->kind != RC_EV_CANCELLED)
        return;
    ag_lease *l = idmap64_get(&a->leases, rc_work_get_id(ev->work));
    if (!l) return;
    if (ev->kind == RC_EV_FAILED)
        local_over(a, l, rc_work_retry_asked(ev->work) ? "retry" : "fail", NULL,
                   rc_work_error(ev->work));
    else if (ev->kind == RC_EV_CANCELLED)
        local_over(a, l, "fail", NULL, "cancelled by the agent");
    else
        local_over(a, l, "ok", rc_work_result(ev->work), NULL);
}

/* ---- heartbeats ---- */

static void on_extended(redisAsyncContext *ac, void *reply, void *pd);

typedef struct ag_beat { /* one extend in flight: the lease may be over by its reply */
    rc_redis_agent *a;
    rc_work_id local; /* 0: a held lease, found again by its job and token */
    char job[RR_ID_MAX + 1], tok[RR_ID_MAX + 1];
} ag_beat;

/* Renew the lease, with its progress if there is news. */
static void send_extend(rc_redis_agent *a, ag_lease *l)
{
    if (!rconn_ready(a->cmd)) return;
    const char *argv[] = {"FCALL", "runcue_extend", "1",       a->base,   a->name,
                          l->job,  l->tok,          l->pg_msg, l->pg_frac};
    const int argc = l->pg_dirty && l->pg_msg ? 9 : 7;
    size_t lens[9];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    /* The reply finds the lease again by its local id: it may be over. */
    ag_beat *b = malloc(sizeof *b);
    if (!b) return;
    b->a = a;
    b->local = l->local;
    memcpy(b->job, l->job, sizeof b->job);
    memcpy(b->tok, l->tok, sizeof b->tok);
    if (rconn_cmd(a->cmd, on_extended, b, argc, argv, lens) == 0) {
        a->stats.heartbeats++;
        if (argc == 9) {
            l->pg_dirty = false;
            l->pg_sent = rc_loop_now(a->loop);
        }
    } else {
        free(b);
    }
}

static void beat_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    ag_lease *l = arg;
    rc_redis_agent *a = l->a;
    rc_timer_start(a->loop, &l->beat, rc_loop_now(a->loop) + l->beat_every);
    send_extend(a, l);
}

/* Take the held lease of job and token out of the held list, if there. */
static ag_lease *held_take(rc_redis_agent *a, const char *job, const char *tok)
{
    ag_lease *prev = NULL;
    for (ag_lease *l = a->held_head; l; prev = l, l = l->next_fin) {
        if (strcmp(l->job, job) != 0 || strcmp(l->tok, tok) != 0) continue;
        if (prev)
            prev->next_fin = l->next_fin;
        else
            a->held_head = l->next_fin;
        if (a->held_tail == l) a->held_tail = prev;
        a->n_held--;
        return l;
    }
    return NULL;
}

static void on_extended(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    ag_beat *b = pd;
    rc_redis_agent *a = b->a;
    rc_work_id local = b->local;
    redisReply *rep = reply;
    bool lost = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
                rep->element[0]->type == REDIS_REPLY_STRING &&
                strcmp(rep->element[0]->str, "lost") == 0;
    ag_lease *l = NULL;
    if (lost && !local) {
        l = held_take(a, b->job, b->tok);
        /* Held when the beat was sent, started since: the running lease
         * of the same job and token (at most `slots` of them). */
        for (size_t k = 0; !l && k < a->leases.cap; k++) {
            ag_lease *r = a->leases.keys[k] ? a->leases.vals[k] : NULL;
            if (r && strcmp(r->job, b->job) == 0 && strcmp(r->tok, b->tok) == 0) local = r->local;
            if (local) l = idmap64_del(&a->leases, local);
        }
    } else if (lost) {
        l = idmap64_del(&a->leases, local);
    }
    free(b);
    if (!l) return;
    /* Expired (this agent was too slow to renew it) or cancelled: the job
     * belongs to someone else now.  Abort the local run; its finish would be
     * refused anyway.  A held one had not started: it is only dropped. */
    a->stats.lost++;
    if (local) a->running--;
    lease_free(a, l);
    if (local && a->on_lost) a->on_lost(a, local, a->ud);
    try_claim(a);
}

/* ---- claiming ---- */

static void claim_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    try_claim(arg);
}

static void wait_claim(rc_redis_agent *a, double seconds)
{
    if (seconds > POLL_S) seconds = POLL_S;
    rc_timer_start(a->loop, &a->claim_timer, rc_loop_now(a->loop) + rc_seconds(seconds));
}

/* Hand a claimed job to the local cue: its lease becomes a running work. */
static void run_lease(rc_redis_agent *a, ag_lease *l)
{
    rc_submit_opts so = {.params = l->params, .label = l->job};
    rc_work_id id = 0;
    int rc = rc_submit(a->cue, l->task, &so, &id);
    a->running++;
    if (rc) {
        char msg[ERR_LEN];
        char q[RR_QUOTE_LEN];
        snprintf(msg, sizeof msg, "agent %s: cannot run task '%s': %s", a->name,
                 rr_quote(q, l->task, strlen(l->task)), rc_cue_errmsg(a->cue));
        cJSON_Delete(l->params);
        l->params = NULL;
        local_over(a, l, "fail", NULL, msg);
        return;
    }
    l->params = NULL; /* the cue's now */
    free(l->task);
    l->task = NULL;
    l->local = id;
    if (idmap64_put(&a->leases, id, l)) {
        a->running--;
        lease_free(a, l); /* the lease expires and the job is delivered again */
    }
}

/* Start held jobs, oldest first, while slots are free. */
static void start_held(rc_redis_agent *a)
{
    while (a->held_head && a->running < a->slots) {
        ag_lease *l = a->held_head;
        a->held_head = l->next_fin;
        if (!a->held_head) a->held_tail = NULL;
        a->n_held--;
        run_lease(a, l);
    }
}

/*
 * One job entry of a claim reply.  It runs if a slot is free.  A job beyond
 * the free slots (a server that gives more than was asked) is held: its
 * lease is renewed like a running one, and it starts when a slot frees, so
 * the agent never runs more than its slots and no claimed job is dropped or
 * spends a delivery.  A job that cannot run here (a bad lease length, task
 * name or payload) is finished at once with the reason; one whose id or
 * token cannot be used is refused with a message and left to its lease's
 * end, after which the server delivers it again.
 */
static void take_job(rc_redis_agent *a, redisReply *const *f)
{
    rr_job j;
    rr_job_verdict v = rr_job_parse(f, &j);
    if (v == RR_JOB_UNNAMED) {
        snprintf(a->err, sizeof a->err, "agent %s: %s", a->name, j.why);
        return;
    }
    ag_lease *l = calloc(1, sizeof *l);
    char *task = v == RR_JOB_RUN ? strdup(j.task) : NULL;
    if (!l || (v == RR_JOB_RUN && !task)) {
        free(l);
        free(task);
        cJSON_Delete(j.params);
        return; /* the lease expires and the job is delivered again */
    }
    l->a = a;
    memcpy(l->job, j.id, sizeof l->job);
    memcpy(l->tok, j.tok, sizeof l->tok);
    rc_timer_init(&l->beat, beat_fire, l);
    a->stats.claimed++;
    if (v == RR_JOB_REFUSE) {
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg, "agent %s: %s", a->name, j.why);
        a->running++;
        local_over(a, l, j.retry ? "retry" : "fail", NULL, msg);
        return;
    }
    l->task = task;
    l->params = j.params;
    l->beat_every = rc_seconds(j.beat_s);
    rc_timer_start(a->loop, &l->beat, rc_loop_now(a->loop) + l->beat_every);
    if (a->running < a->slots) {
        run_lease(a, l);
        return;
    }
    l->next_fin = NULL;
    if (a->held_tail)
        a->held_tail->next_fin = l;
    else
        a->held_head = l;
    a->held_tail = l;
    a->n_held++;
}

static void on_claimed(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rc_redis_agent *a = pd;
    redisReply *rep = reply;
    a->claiming = false;
    if (!rep) return; /* reconnecting: claims again when ready */
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(a->err, sizeof a->err, "claim: %s", rep->str);
        rr_defang(a->err);
        /* the library was removed (FUNCTION DELETE, FLUSH), or the server
         * is loading: reconnecting loads it again, after a backoff */
        if (rconn_transient(rep)) {
            rconn_reset(a->cmd, a->err);
            return;
        }
        wait_claim(a, POLL_S);
        return;
    }
    rr_claim cl;
    rr_claim_kind kind = rr_claim_parse(rep, &cl);
    if (cl.why[0]) snprintf(a->err, sizeof a->err, "agent %s: %s", a->name, cl.why);
    if (kind == RR_CLAIM_BAD) {
        wait_claim(a, POLL_S);
        return;
    }
    bool woken = a->woken;
    a->woken = false;
    if (woken && kind != RR_CLAIM_JOBS) { /* work came while it was asked for */
        try_claim(a);
        return;
    }
    if (kind == RR_CLAIM_JOBS) {
        for (size_t i = 0; i < cl.n_jobs; i++)
            take_job(a, &rep->element[2 + 7 * i]);
        try_claim(a);
    } else if (kind == RR_CLAIM_WAIT) {
        /* rate: exactly when the ring admits; full or lease: when the next
         * lease ends (it may be delivered again), unless a wake comes first
         * (a slot freed, work queued).  The claim that follows reclaims it. */
        wait_claim(a, cl.wait_s);
    } else {
        wait_claim(a, POLL_S);
    }
}

static void try_claim(rc_redis_agent *a)
{
    start_held(a); /* claimed already: they run even while draining */
    if (a->max_claims && a->stats.claimed >= a->max_claims) a->draining = true;
    if (a->claiming || a->draining || a->failed || !rconn_ready(a->cmd)) return;
    if (a->running + a->n_held + (a->fin_head ? 1 : 0) >= a->slots) return;
    rc_timer_stop(a->loop, &a->claim_timer);
    char k[16];
    const uint64_t left = a->max_claims ? a->max_claims - a->stats.claimed : UINT64_MAX;
    uint64_t want = a->slots - a->running;
    if (want > left) want = left;
    snprintf(k, sizeof k, "%llu", (unsigned long long)want);
    const size_t head = a->tasks ? 7 : 6, argc = head + a->n_services;
    const char *argv[7 + MAX_SLOTS];
    size_t lens[7 + MAX_SLOTS];
    argv[0] = "FCALL", argv[1] = a->tasks ? "runcue_claim_for" : "runcue_claim", argv[2] = "1";
    argv[3] = a->base, argv[4] = a->name, argv[5] = k;
    if (a->tasks) argv[6] = a->tasks;
    for (size_t i = 0; i < a->n_services; i++)
        argv[head + i] = a->services[i];
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (rconn_cmd(a->cmd, on_claimed, a, (int)argc, argv, lens) == 0) a->claiming = true;
}

/* ---- connections ---- */

static void on_cmd_ready(rconn *c, void *ud)
{
    (void)c;
    rc_redis_agent *a = ud;
    a->claiming = false;
    send_finishes(a);
    try_claim(a);
}

static void on_wake(redisAsyncContext *ac, void *reply, void *pd)
{
    (void)ac;
    rc_redis_agent *a = pd;
    if (!reply) return;
    if (a->claiming) a->woken = true; /* that claim may have missed the new work */
    try_claim(a);
}

static void on_sub_ready(rconn *c, void *ud)
{
    rc_redis_agent *a = ud;
    const char *argv[] = {"SUBSCRIBE", a->wake_key};
    size_t lens[] = {9, strlen(a->wake_key)};
    rconn_cmd(c, on_wake, a, 2, argv, lens);
}

static void on_fatal(rconn *c, const char *why, void *ud)
{
    (void)c;
    rc_redis_agent *a = ud;
    snprintf(a->err, sizeof a->err, "%s", why);
    a->failed = true;
    rc_loop_stop(a->loop);
}

/* ---- public ---- */

static void agent_destroy(rc_redis_agent *a)
{
    a->draining = true;
    rconn_free(a->cmd);
    rconn_free(a->sub);
    a->cmd = a->sub = NULL;
    rc_timer_stop(a->loop, &a->claim_timer);
    rc_defer_cancel(a->loop, &a->fin_defer);
    rc_cue_unobserve(a->cue, &a->obs);
    for (size_t i = 0; i < a->leases.cap; i++)
        if (a->leases.keys[i]) lease_free(a, a->leases.vals[i]);
    idmap64_free(&a->leases);
    while (a->fin_head) {
        ag_lease *l = a->fin_head;
        a->fin_head = l->next_fin;
        lease_free(a, l);
    }
    while (a->held_head) {
        ag_lease *l = a->held_head;
        a->held_head = l->next_fin;
        lease_free(a, l);
    }
    for (size_t i = 0; i < a->n_services; i++)
        free(a->services[i]);
    free(a->services);
    free(a->tasks);
    free(a);
}

int rc_redis_agent_new(rc_redis_agent **out, rc_cue *cue, const rc_redis_agent_opts *opts,
                       rc_redis_lost_fn on_lost, void *ud)
{
    const char *why = NULL;
    if (!out || !cue || !opts)
        why = "rc_redis_agent_new: NULL argument";
    else if (opts->slots < 1 || opts->slots > MAX_SLOTS)
        why = "rc_redis_agent_new: slots must be 1 to 64";
    else if (opts->n_services < 1 || opts->n_services > MAX_SLOTS || !opts->services)
        why = "rc_redis_agent_new: name 1 to 64 services";
    else if (opts->name && !rconn_name_ok(opts->name))
        why = "rc_redis_agent_new: the agent name must be 1 to 64 of A-Z a-z 0-9 _ . -";
    else if (rc_loop_clock(rc_cue_loop(cue)) != RC_CLOCK_MONOTONIC)
        why = "the Redis transport needs a loop on the monotonic clock";
    for (size_t i = 0; !why && i < opts->n_services; i++)
        if (!rconn_name_ok(opts->services[i])) why = "rc_redis_agent_new: bad service name";
    if (!why && opts->n_tasks && (!opts->tasks || opts->n_tasks > MAX_SLOTS))
        why = "rc_redis_agent_new: name at most 64 tasks";
    size_t tasks_len = 0;
    for (size_t i = 0; !why && i < opts->n_tasks; i++) {
        const size_t n = opts->tasks[i] ? strlen(opts->tasks[i]) : 0;
        if (n < 1 || n > RR_TASK_MAX || strchr(opts->tasks[i], '\n'))
            why = "rc_redis_agent_new: a task name must be 1 to 256 bytes, no newline";
        tasks_len += n + 1;
    }
    if (why) return rc_redis_set_last_error(RC_EINVAL, why);
    rc_redis_agent *a = calloc(1, sizeof *a);
    if (!a) return rc_redis_set_last_error(RC_ENOMEM, "out of memory");
    a->cue = cue;
    a->loop = rc_cue_loop(cue);
    a->slots = opts->slots;
    a->max_claims = opts->max_jobs;
    a->on_lost = on_lost;
    a->ud = ud;
    rc_timer_init(&a->claim_timer, claim_fire, a);
    rc_defer_init(&a->fin_defer, finish_deferred, a);
    const char *ns = opts->conn.ns ? opts->conn.ns : "default";
    rconn_ns_key(a->base, sizeof a->base, ns);
    if (!rconn_name_ok(ns)) {
        free(a);
        return rc_redis_set_last_error(RC_EINVAL,
                                       "bad namespace: use 1 to 64 of A-Z a-z 0-9 _ . -");
    }
    snprintf(a->wake_key, sizeof a->wake_key, "%s:wake", a->base);
    if (opts->name) {
        snprintf(a->name, sizeof a->name, "%s", opts->name);
    } else {
        char host[40] = "host";
        gethostname(host, sizeof host - 1);
        for (char *p = host; *p; p++)
            if (!rconn_name_ok((char[]){*p, 0})) *p = '_';
        snprintf(a->name, sizeof a->name, "%.40s.%ld", host, (long)getpid());
    }
    a->services = calloc(opts->n_services, sizeof *a->services);
    int rc = a->services ? 0 : RC_ENOMEM;
    for (size_t i = 0; !rc && i < opts->n_services; i++, a->n_services++)
        if (!(a->services[i] = strdup(opts->services[i]))) rc = RC_ENOMEM;
    if (!rc && opts->n_tasks) { /* one a line, as runcue_claim_for takes them */
        if (!(a->tasks = malloc(tasks_len))) rc = RC_ENOMEM;
        for (size_t i = 0, at = 0; !rc && i < opts->n_tasks; i++) {
            const size_t n = strlen(opts->tasks[i]);
            memcpy(a->tasks + at, opts->tasks[i], n);
            at += n;
            a->tasks[at++] = i + 1 < opts->n_tasks ? '\n' : '\0';
        }
    }
    a->obs.on_event = on_event;
    a->obs.ud = a;
    if (!rc) rc = rc_cue_observe(cue, &a->obs);
    if (!rc)
        rc = rconn_open(&a->cmd, a->loop, &opts->conn, on_cmd_ready, on_fatal, a, a->err,
                        sizeof a->err);
    if (!rc)
        rc = rconn_open(&a->sub, a->loop, &opts->conn, on_sub_ready, on_fatal, a, a->err,
                        sizeof a->err);
    if (rc) {
        rc_redis_set_last_error(rc, a->err[0] ? a->err : rc_strerror(rc));
        agent_destroy(a);
        return rc;
    }
    *out = a;
    return 0;
}

static bool agent_ready(void *arg)
{
    rc_redis_agent *a = arg;
    return rconn_ready(a->cmd) && rconn_ready(a->sub) && !a->failed;
}

int rc_redis_agent_wait_ready(rc_redis_agent *a, double timeout_s)
{
    bool waiting = false;
    int rc = rc_redis_wait_until(a->loop, timeout_s, agent_ready, a, &a->failed, &waiting);
    if (rc && !a->failed)
        snprintf(a->err, sizeof a->err, "not connected after %gs: %s", timeout_s,
                 rconn_error(a->cmd));
    return a->failed ? RC_ESYS : rc;
}

rc_redis_state rc_redis_agent_status(const rc_redis_agent *a)
{
    if (a->failed) return RC_REDIS_FAILED;
    return agent_ready((void *)a) ? RC_REDIS_READY : RC_REDIS_CONNECTING;
}

const char *rc_redis_agent_errmsg(const rc_redis_agent *a)
{
    return a->err;
}

void rc_redis_agent_stats_get(const rc_redis_agent *a, rc_redis_agent_stats *out)
{
    *out = a->stats;
    out->running = a->running;
    out->finishing = a->finishing;
    out->reconnects = rconn_reconnects(a->cmd);
}

void rc_redis_agent_drain(rc_redis_agent *a)
{
    a->draining = true;
    rc_timer_stop(a->loop, &a->claim_timer);
}

void rc_redis_agent_free(rc_redis_agent *a)
{
    if (a) agent_destroy(a);
}
