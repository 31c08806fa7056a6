/* cluster.c -- the cluster simulation's actors, links and faults
 * (cluster.h) on a virtual clock of its own: an event heap in microseconds,
 * ties broken by the order events were scheduled. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"

enum {
    EV_FAULT_BEGIN,
    EV_FAULT_END,
    EV_SNAPSHOT,
    EV_ARRIVE,    /* a request reaches the engine (p: rpc) */
    EV_REPLY,     /* its reply (or its failure) reaches the caller (p: rpc) */
    EV_CLAIM,     /* an agent's time to claim */
    EV_WAKE,      /* an agent hears the wake channel */
    EV_CHILD,     /* a job's work ends in the service (p: job) */
    EV_NOTIFY,    /* the agent learns that (p: job) */
    EV_HEARTBEAT, /* p: job */
    EV_FINISH,    /* (re)send a finish (p: job) */
    EV_SUBMIT,    /* a scheduler sends what it has queued */
    EV_POLL,      /* a scheduler reads its results */
    EV_RESTART,   /* a crashed actor comes back */
};

typedef enum rpc_kind {
    RPC_REGISTER,
    RPC_ENQUEUE,
    RPC_CLAIM,
    RPC_EXTEND,
    RPC_FINISH,
    RPC_XRANGE,
    RPC_XDEL
} rpc_kind;

typedef struct rpc {
    int actor;
    uint32_t inc;
    rpc_kind kind;
    int argc;
    char **argv;
    size_t *lens;
    ereply *reply; /* NULL: the call failed (link cut, engine down) */
    int64_t sent, exec_t;
    void *ctx;
    uint64_t a;
} rpc;

static const int64_t CALL_TIMEOUT = 500000; /* a lost call is noticed after this */
static const int64_t IDLE_POLL = 1000000;   /* an agent with nothing to do claims again */
static const int64_t RESULT_POLL = 20000;   /* a scheduler reads its results */
static const int64_t STALL_AFTER = 600000000;
static const size_t SUBMIT_WINDOW = 128;
static const unsigned MAX_ATTEMPTS = 5;
static const char NS_KEY[] = "rc:{sim}";

double cl_seconds(int64_t t_us)
{
    return (double)t_us / 1e6;
}

static void logf_(cluster *c, const char *event, const char *svc, uint64_t item, const char *fmt,
                  ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void logf_(cluster *c, const char *event, const char *svc, uint64_t item, const char *fmt,
                  ...)
{
    if (!c->log && !c->shm) return;
    char detail[200], wid[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (item != UINT64_MAX) snprintf(wid, sizeof wid, "w%" PRIu64, item);
    sim_event_record r = {cl_seconds(c->now),
                          event,
                          svc ? "work" : NULL,
                          svc,
                          item != UINT64_MAX ? wid : NULL,
                          detail};
    if (c->log) sim_eventlog_write(c->log, &r);
    if (c->shm) cl_view_event(c, event, svc, item, detail);
}

/* ------------------------------------------------------------- the heap */

static bool before(const cl_event *a, const cl_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push_event(cluster *c, cl_event ev)
{
    if (c->n_heap == c->cap_heap) {
        size_t cap = c->cap_heap ? c->cap_heap * 2 : 1024;
        cl_event *h = realloc(c->heap, cap * sizeof *h);
        if (!h) abort(); /* the simulator cannot go on without its clock */
        c->heap = h;
        c->cap_heap = cap;
    }
    ev.seq = c->seq++;
    size_t i = c->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&ev, &c->heap[parent])) break;
        c->heap[i] = c->heap[parent];
        i = parent;
    }
    c->heap[i] = ev;
}

static cl_event pop_event(cluster *c)
{
    cl_event top = c->heap[0], last = c->heap[--c->n_heap];
    size_t i = 0, n = c->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l >= n) break;
        if (l + 1 < n && before(&c->heap[l + 1], &c->heap[l])) l++;
        if (!before(&c->heap[l], &last)) break;
        c->heap[m] = c->heap[l];
        i = l;
    }
    if (n) c->heap[i] = last;
    return top;
}

static void at(cluster *c, int64_t t, int kind, int actor, void *p, uint64_t a)
{
    uint32_t inc = actor >= 0 ? c->actors[actor].inc : 0;
    push_event(c, (cl_event){t, 0, kind, actor, inc, p, a});
}

/* ------------------------------------------------------------ the links */

static int64_t link_delay(cluster *c, cl_actor *a)
{
    double base = c->cfg.link_latency_ms * 1000.0, j = c->cfg.link_jitter;
    double d = base * (1 + j * sim_pcg32_uniform(&a->link, -1, 1));
    return d < 1 ? 1 : (int64_t)d;
}

static rpc *rpc_new(cluster *c, int actor, rpc_kind kind, void *ctx, uint64_t a, int argc,
                    const char *const *argv)
{
    rpc *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->actor = actor;
    r->inc = c->actors[actor].inc;
    r->kind = kind;
    r->ctx = ctx;
    r->a = a;
    r->argc = argc;
    r->argv = calloc((size_t)argc, sizeof *r->argv);
    r->lens = calloc((size_t)argc, sizeof *r->lens);
    if (!r->argv || !r->lens) abort();
    for (int i = 0; i < argc; i++) {
        r->lens[i] = strlen(argv[i]);
        r->argv[i] = malloc(r->lens[i] + 1);
        if (!r->argv[i]) abort();
        memcpy(r->argv[i], argv[i], r->lens[i] + 1);
    }
    return r;
}

static void rpc_free(rpc *r)
{
    if (r->kind == RPC_CLAIM && r->ctx) {
        cl_job **jobs = r->ctx;
        for (uint64_t i = 0; i < r->a; i++)
            if (!jobs[i]->started) jobs[i]->state = JOB_OVER; /* its reply never arrived */
        free(jobs);
    }
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    free(r->lens);
    ereply_free(r->reply);
    free(r);
}

/* Send a call: it reaches the engine after the link's delay (in order), or
 * fails if the link is cut. */
static void send_rpc(cluster *c, rpc *r)
{
    cl_actor *a = &c->actors[r->actor];
    r->sent = c->now;
    if (a->cut) {
        at(c, c->now + CALL_TIMEOUT, EV_REPLY, r->actor, r, 0);
        return;
    }
    int64_t t = c->now + link_delay(c, a);
    if (t <= a->last_up) t = a->last_up + 1;
    a->last_up = t;
    at(c, t, EV_ARRIVE, -1, r, 0);
}

static void call(cluster *c, int actor, rpc_kind kind, void *ctx, uint64_t a, int argc,
                 const char *const *argv)
{
    send_rpc(c, rpc_new(c, actor, kind, ctx, a, argc, argv));
}

/* ------------------------------------------------- the services' checks */

static void hold(cluster *c, cl_job *j)
{
    cl_svcstate *s = &c->svc[j->svc];
    if (s->n_holding == s->cap_holding) {
        size_t cap = s->cap_holding ? s->cap_holding * 2 : 16;
        cl_job **h = realloc(s->holding, cap * sizeof *h);
        if (!h) abort();
        s->holding = h;
        s->cap_holding = cap;
    }
    s->holding[s->n_holding++] = j;
    j->holding = true;
}

static void release(cluster *c, cl_job *j)
{
    if (!j->holding) return;
    cl_svcstate *s = &c->svc[j->svc];
    for (size_t i = 0; i < s->n_holding; i++)
        if (s->holding[i] == j) {
            s->holding[i] = s->holding[--s->n_holding];
            break;
        }
    j->holding = false;
}

/* A start admitted by the engine at time t: check the limits as the
 * service sees them, across every scheduler and agent. */
static void admit(cluster *c, cl_job *j, int64_t t)
{
    const cluster_service *cs = &c->cfg.services[j->svc];
    cl_svcstate *s = &c->svc[j->svc];
    s->starts++;
    if (cs->rate_count) {
        int64_t w = (int64_t)llround(cs->rate_window_s * 1e6);
        if (s->ring_n == cs->rate_count && t - s->ring[s->ring_next] < w) s->rate_violations++;
        s->ring[s->ring_next] = t;
        s->ring_next = (s->ring_next + 1) % cs->rate_count;
        if (s->ring_n < cs->rate_count) s->ring_n++;
    }
    /* Leases that ended no longer count (an extend may bring one back). */
    for (size_t i = 0; i < s->n_holding;) {
        if (s->holding[i]->engine_lease_end <= t) {
            s->holding[i]->holding = false;
            s->holding[i] = s->holding[--s->n_holding];
        } else {
            i++;
        }
    }
    size_t live = s->n_holding;
    j->engine_lease_end = t + j->lease_us;
    hold(c, j);
    if (cs->concurrent >= 0 && live + 1 > (size_t)cs->concurrent) s->conc_violations++;
    if (live + 1 > s->peak_holding) s->peak_holding = live + 1;
}

/* -------------------------------------------------------- fault recovery */

/* Work held by a faulted agent started again (or finished): recovered? */
static void note_restart(cluster *c, uint64_t item)
{
    for (size_t f = 0; f < c->cfg.n_faults; f++) {
        cl_fault_state *fs = &c->faults[f];
        if (fs->recovered_at >= 0 || !fs->n_left) continue;
        for (size_t i = 0; i < fs->n_items; i++)
            if (fs->items[i] == item) {
                fs->items[i] = UINT64_MAX;
                if (--fs->n_left == 0) fs->recovered_at = c->now;
                break;
            }
    }
}

/* A scheduler or the whole cluster is back: every fault waiting on `who`
 * (an actor index, or -1 for the engine) has recovered. */
static void note_back(cluster *c, int who)
{
    for (size_t f = 0; f < c->cfg.n_faults; f++) {
        const cluster_fault *cf = &c->cfg.faults[f];
        cl_fault_state *fs = &c->faults[f];
        if (fs->recovered_at >= 0 || c->now < (int64_t)llround(cf->at_s * 1e6)) continue;
        bool engine = cf->kind == CF_ENGINE_RESTART;
        int target = engine          ? -1
                     : cf->scheduler ? (int)cf->target - 1
                                     : (int)(c->cfg.schedulers + cf->target - 1);
        bool sched_or_engine = engine || cf->scheduler;
        if (sched_or_engine && target == who &&
            c->now >= (int64_t)llround((cf->at_s + cf->for_s) * 1e6))
            fs->recovered_at = c->now;
    }
}

/* ---------------------------------------------------------------- agents */

static cl_agent *agent_of(cluster *c, int actor)
{
    return &c->agents[actor - (int)c->cfg.schedulers];
}

static void schedule_claim(cluster *c, int actor, int64_t t)
{
    cl_agent *ag = agent_of(c, actor);
    if (ag->claim_timer) return;
    ag->claim_timer = true;
    at(c, t, EV_CLAIM, actor, NULL, 0);
}

static void agent_claim(cluster *c, int actor)
{
    cl_actor *a = &c->actors[actor];
    cl_agent *ag = agent_of(c, actor);
    if (ag->claiming || a->down || ag->busy >= c->cfg.slots) return;
    ag->claiming = true;
    char k[16];
    snprintf(k, sizeof k, "%u", c->cfg.slots - ag->busy);
    /* as runcue-agent claims: for the tasks it runs (the schedulers' one) */
    const char *argv[7 + CLUSTER_MAX_SERVICES] = {"FCALL", "runcue_claim_for", "1", NS_KEY,
                                                  a->name, k, "work"};
    for (size_t i = 0; i < c->cfg.n_services; i++)
        argv[7 + i] = c->cfg.services[i].name;
    call(c, actor, RPC_CLAIM, NULL, 0, 7 + (int)c->cfg.n_services, argv);
}

static cl_job *job_new(cluster *c)
{
    cl_job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->next_all = c->all_jobs;
    c->all_jobs = j;
    return j;
}

static int svc_index(cluster *c, const char *name)
{
    for (size_t i = 0; i < c->cfg.n_services; i++)
        if (strcmp(c->cfg.services[i].name, name) == 0) return (int)i;
    return -1;
}

static void job_over(cluster *c, cl_job *j)
{
    if (j->state == JOB_OVER) return;
    j->state = JOB_OVER;
    if (c->shm && j->started && !j->finished_ok) cl_view_job_ended(c, j);
    cl_agent *ag = agent_of(c, j->agent);
    if (j->started && ag->busy) ag->busy--;
}

/* Lease lost (told by the engine, or by the agent's own clock): kill the
 * work and free the slot. */
static void lose_lease(cluster *c, cl_job *j, const char *why)
{
    c->lease_losses++;
    logf_(c, "lease_lost", c->cfg.services[j->svc].name, j->item, "%s %s", c->actors[j->agent].name,
          why);
    job_over(c, j);
    schedule_claim(c, j->agent, c->now);
}

static void send_finish(cluster *c, cl_job *j)
{
    cl_actor *a = &c->actors[j->agent];
    char item[32];
    snprintf(item, sizeof item, "%" PRIu64, j->item);
    const char *argv[] = {"FCALL",
                          "runcue_finish",
                          "1",
                          NS_KEY,
                          a->name,
                          "1",
                          j->id,
                          j->tok,
                          j->ok ? "ok" : "retry",
                          j->ok ? item : "",
                          j->ok ? "" : "simulated error",
                          "0"};
    call(c, j->agent, RPC_FINISH, j, 0, 12, argv);
}

static void send_extend(cluster *c, cl_job *j)
{
    const char *argv[] = {"FCALL", "runcue_extend", "1", NS_KEY, c->actors[j->agent].name,
                          j->id,   j->tok};
    call(c, j->agent, RPC_EXTEND, j, 0, 7, argv);
}

/* The agent begins a job the engine leased it: the work runs in the fake
 * service, and heartbeats keep its lease. */
static void start_job(cluster *c, int actor, cl_job *j, int64_t exec_t)
{
    cl_agent *ag = agent_of(c, actor);
    j->started = true;
    j->local_deadline = c->now + j->lease_us - (c->now - exec_t);
    ag->busy++;
    ag->started++;
    if (j->item < c->cfg.count && c->executions[j->item]++ > 0) c->executed_twice++;
    if (j->delivery > 1) c->redeliveries++;
    note_restart(c, j->item);
    const cluster_service *cs = &c->cfg.services[j->svc];
    logf_(c, "started", cs->name, j->item, "%s token %s delivery %u", c->actors[actor].name, j->tok,
          j->delivery);
    double ms = cs->latency_ms * (1 + cs->jitter * sim_pcg32_uniform(&ag->latency, -1, 1));
    j->ok = !(cs->error_rate > 0 && sim_pcg32_double(&ag->errors) < cs->error_rate);
    int64_t dur = ms < 0.001 ? 1 : (int64_t)(ms * 1000);
    at(c, c->now + dur, EV_CHILD, actor, j, 0);
    at(c, c->now + j->lease_us / 3, EV_HEARTBEAT, actor, j, 0);
}

static int64_t backoff(cl_actor *a)
{
    a->backoff = a->backoff ? a->backoff * 2 : 50000;
    if (a->backoff > 2000000) a->backoff = 2000000;
    return a->backoff;
}

static void on_claim_reply(cluster *c, rpc *r)
{
    int actor = r->actor;
    cl_actor *a = &c->actors[actor];
    cl_agent *ag = agent_of(c, actor);
    ag->claiming = false;
    const ereply *re = r->reply;
    if (!re || re->type != EREPLY_ARRAY || re->elements < 1 || !re->element[0]->str) {
        schedule_claim(c, actor, c->now + backoff(a));
        return;
    }
    a->backoff = 0;
    if (ag->busy + r->a > c->cfg.slots) abort(); /* the claim asked for free slots only */
    const char *what = re->element[0]->str;
    if (strcmp(what, "jobs") == 0) {
        cl_job **jobs = r->ctx;
        for (uint64_t i = 0; i < r->a; i++)
            start_job(c, actor, jobs[i], r->exec_t);
        note_back(c, -1); /* work flows: an engine restart is over */
        if (ag->busy < c->cfg.slots) schedule_claim(c, actor, c->now);
    } else if (strcmp(what, "wait") == 0 && re->elements >= 4 && re->element[3]->str) {
        int64_t delay = strtoll(re->element[3]->str, NULL, 10);
        int64_t when = r->exec_t + delay + 1;
        if (when > c->now + IDLE_POLL) when = c->now + IDLE_POLL;
        if (when < c->now) when = c->now;
        schedule_claim(c, actor, when);
    } else {
        schedule_claim(c, actor, c->now + IDLE_POLL);
    }
}

static void on_extend_reply(cluster *c, rpc *r)
{
    cl_job *j = r->ctx;
    if (j->state == JOB_OVER) return;
    const ereply *re = r->reply;
    if (re && re->type == EREPLY_ARRAY && re->elements >= 1 && re->element[0]->str &&
        strcmp(re->element[0]->str, "ok") == 0) {
        j->local_deadline = r->sent + j->lease_us;
        return;
    }
    if (re && re->type == EREPLY_ARRAY && re->elements >= 1 && re->element[0]->str &&
        strcmp(re->element[0]->str, "lost") == 0 && j->state == JOB_RUNNING)
        lose_lease(c, j, "(extend: lost)");
}

static void on_finish_reply(cluster *c, rpc *r)
{
    cl_job *j = r->ctx;
    if (j->state == JOB_OVER) return;
    const ereply *re = r->reply;
    cl_actor *a = &c->actors[j->agent];
    if (!re || re->type != EREPLY_ARRAY || re->elements < 1 || !re->element[0]->str) {
        at(c, c->now + backoff(a), EV_FINISH, j->agent, j, 0);
        return;
    }
    a->backoff = 0;
    if (strcmp(re->element[0]->str, "stale") == 0) {
        c->stale_finishes++;
        logf_(c, "stale_finish", c->cfg.services[j->svc].name, j->item, "%s token %s refused",
              a->name, j->tok);
    }
    job_over(c, j);
    schedule_claim(c, j->agent, c->now);
}

/* The engine's side of an agent's call, at the engine's clock. */
static void engine_effects(cluster *c, rpc *r)
{
    const ereply *re = r->reply;
    if (!re || re->type != EREPLY_ARRAY || re->elements < 1 || !re->element[0]->str) return;
    if (r->kind == RPC_EXTEND && strcmp(re->element[0]->str, "ok") == 0) {
        cl_job *j = r->ctx;
        j->engine_lease_end = r->exec_t + j->lease_us;
        if (!j->holding) hold(c, j);
    } else if (r->kind == RPC_FINISH) {
        cl_job *j = r->ctx;
        release(c, j);
        {
            if (strcmp(re->element[0]->str, "ok") == 0) {
                c->svc[j->svc].completed++;
                j->finished_ok = true;
                c->agents[c->actors[j->agent].idx].completed++;
                logf_(c, "completed", c->cfg.services[j->svc].name, j->item, "%s",
                      c->actors[j->agent].name);
            }
        }
        note_restart(c, j->item);
    }
}

static const char *str_of(const ereply *r)
{
    return r && r->str ? r->str : "";
}

/* The claim's admitted jobs, as the services see them (at the engine).
 * They hold their leases from now, whether or not the reply gets through. */
static void engine_admits(cluster *c, rpc *r)
{
    const ereply *re = r->reply;
    if (!re || re->type != EREPLY_ARRAY || re->elements < 2 ||
        strcmp(str_of(re->element[0]), "jobs") != 0)
        return;
    size_t n = (re->elements - 2) / 7;
    cl_job **jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs) abort();
    for (size_t i = 2; i + 7 <= re->elements; i += 7) {
        cl_job *j = job_new(c);
        j->agent = r->actor;
        j->inc = r->inc;
        snprintf(j->id, sizeof j->id, "%s", str_of(re->element[i]));
        snprintf(j->tok, sizeof j->tok, "%s", str_of(re->element[i + 1]));
        j->item = strtoull(str_of(re->element[i + 3]), NULL, 10);
        j->delivery = (unsigned)strtoul(str_of(re->element[i + 4]), NULL, 10);
        j->lease_us = strtoll(str_of(re->element[i + 5]), NULL, 10);
        int s = svc_index(c, str_of(re->element[i + 6]));
        j->svc = s < 0 ? 0 : (unsigned)s;
        admit(c, j, r->exec_t);
        jobs[r->a++] = j;
    }
    r->ctx = jobs;
}

/* ------------------------------------------------------------ schedulers */

static void sched_queue(cluster *c, unsigned k, unsigned own)
{
    cl_sched *s = &c->scheds[k];
    if (s->q_n == s->q_cap) {
        size_t cap = s->q_cap ? s->q_cap * 2 : 64;
        unsigned *q = malloc(cap * sizeof *q);
        if (!q) abort();
        for (size_t i = 0; i < s->q_n; i++)
            q[i] = s->queue[(s->q_head + i) % s->q_cap];
        free(s->queue);
        s->queue = q;
        s->q_head = 0;
        s->q_cap = cap;
    }
    s->queue[(s->q_head + s->q_n++) % s->q_cap] = own;
}

static uint64_t item_of(cluster *c, unsigned k, unsigned own)
{
    return (uint64_t)own * c->cfg.schedulers + k;
}

static void sched_register(cluster *c, unsigned k)
{
    cl_sched *s = &c->scheds[k];
    if (s->registering) return;
    s->registering = true;
    s->registered = 0;
    for (size_t i = 0; i < c->cfg.n_services; i++) {
        const cluster_service *cs = &c->cfg.services[i];
        char rn[24], rw[32], conc[24], lease[32], maxd[24];
        snprintf(rn, sizeof rn, "%u", cs->rate_count);
        snprintf(rw, sizeof rw, "%.0f", cs->rate_window_s * 1e6);
        snprintf(conc, sizeof conc, "%d", cs->concurrent);
        snprintf(lease, sizeof lease, "%.0f", cs->lease_s * 1e6);
        snprintf(maxd, sizeof maxd, "%u", cs->max_deliveries);
        const char *argv[] = {
            "FCALL", "runcue_register", "1", NS_KEY, cs->name, rn, rw, conc, lease, maxd};
        call(c, (int)k, RPC_REGISTER, NULL, 0, 10, argv);
    }
}

static void sched_send(cluster *c, unsigned k)
{
    cl_sched *s = &c->scheds[k];
    cl_actor *a = &c->actors[k];
    if (a->down || s->registering) return;
    if (a->reconnect) {
        sched_register(c, k);
        return;
    }
    while (s->q_n && s->inflight_calls < SUBMIT_WINDOW) {
        unsigned own = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_n--;
        uint64_t item = item_of(c, k, own);
        if (c->item_state[item] == ITEM_DONE) continue;
        c->item_state[item] = ITEM_SUBMITTING;
        const cluster_service *cs = &c->cfg.services[item % c->cfg.n_services];
        char dd[32], payload[32];
        snprintf(dd, sizeof dd, "w%" PRIu64, item);
        snprintf(payload, sizeof payload, "%" PRIu64, item);
        const char *argv[] = {"FCALL", "runcue_enqueue", "1",    NS_KEY, cs->name, a->name, dd,
                              "0.5",   "work",           payload};
        s->inflight_calls++;
        call(c, (int)k, RPC_ENQUEUE, NULL, item, 10, argv);
    }
}

static void resolve(cluster *c, uint64_t item)
{
    c->item_state[item] = ITEM_DONE;
    c->resolved++;
    c->last_progress = c->now;
}

static void apply(cluster *c, unsigned k, uint64_t item, const char *how)
{
    c->applied_total++;
    if (c->applied[item]) c->applied_twice++;
    if (c->applied[item] < 255) c->applied[item]++;
    logf_(c, "applied", c->cfg.services[item % c->cfg.n_services].name, item, "%s%s",
          c->actors[k].name, how);
    resolve(c, item);
}

/* A result that asks for another try (the core's retry policy). */
static void retry_item(cluster *c, unsigned k, uint64_t item, const char *why)
{
    if (++c->attempts[item] >= MAX_ATTEMPTS) {
        c->failed++;
        logf_(c, "failed", c->cfg.services[item % c->cfg.n_services].name, item, "%s", why);
        resolve(c, item);
        return;
    }
    c->retries++;
    logf_(c, "retry", c->cfg.services[item % c->cfg.n_services].name, item, "%s", why);
    c->item_state[item] = ITEM_IDLE;
    sched_queue(c, k, (unsigned)(item / c->cfg.schedulers));
}

static void on_register_reply(cluster *c, rpc *r)
{
    unsigned k = (unsigned)r->actor;
    cl_sched *s = &c->scheds[k];
    cl_actor *a = &c->actors[k];
    if (!r->reply || r->reply->type == EREPLY_ERROR) {
        /* Wait for every register of the round, then try again. */
        if (++s->registered == c->cfg.n_services) {
            s->registering = false;
            a->reconnect = true;
            at(c, c->now + backoff(a), EV_SUBMIT, r->actor, NULL, 0);
        }
        return;
    }
    if (++s->registered < c->cfg.n_services) return;
    s->registering = false;
    if (!a->reconnect) return;
    a->reconnect = false;
    a->backoff = 0;
    note_back(c, r->actor);
    /* Connected again: re-enqueue what is in flight (dedupe attaches). */
    for (uint64_t item = k; item < c->cfg.count; item += c->cfg.schedulers)
        if (c->item_state[item] == ITEM_INFLIGHT) {
            c->item_state[item] = ITEM_IDLE;
            c->resubmits++;
            sched_queue(c, k, (unsigned)(item / c->cfg.schedulers));
        }
    sched_send(c, k);
    at(c, c->now + RESULT_POLL, EV_POLL, r->actor, NULL, 0);
}

static void on_enqueue_reply(cluster *c, rpc *r)
{
    unsigned k = (unsigned)r->actor;
    cl_sched *s = &c->scheds[k];
    cl_actor *a = &c->actors[k];
    uint64_t item = r->a;
    s->inflight_calls--;
    const ereply *re = r->reply;
    if (c->item_state[item] != ITEM_SUBMITTING) {
        sched_send(c, k);
        return;
    }
    if (!re || re->type != EREPLY_ARRAY || re->elements < 2 || !re->element[0]->str ||
        !re->element[1]->str) {
        if (!re || re->type == EREPLY_ERROR) a->reconnect = true;
        c->item_state[item] = ITEM_IDLE;
        sched_queue(c, k, (unsigned)(item / c->cfg.schedulers));
        at(c, c->now + backoff(a), EV_SUBMIT, r->actor, NULL, 0);
        return;
    }
    a->backoff = 0;
    const char *st = re->element[1]->str;
    const char *svc = c->cfg.services[item % c->cfg.n_services].name;
    if (strcmp(st, "done") == 0) {
        c->attached++;
        apply(c, k, item, " (attached to done work)");
    } else {
        c->item_state[item] = ITEM_INFLIGHT;
        c->item_job[item] = strtoull(re->element[0]->str, NULL, 10);
        if (strcmp(st, "new") == 0) {
            logf_(c, "queued", svc, item, "%s job %s", a->name, re->element[0]->str);
        } else {
            c->attached++;
            logf_(c, "attached", svc, item, "%s job %s (%s)", a->name, re->element[0]->str, st);
        }
    }
    sched_send(c, k);
}

static const char *field(const ereply *fv, const char *name)
{
    for (size_t i = 0; i + 1 < fv->elements; i += 2)
        if (fv->element[i]->str && strcmp(fv->element[i]->str, name) == 0)
            return fv->element[i + 1]->str ? fv->element[i + 1]->str : "";
    return "";
}

static void on_xrange_reply(cluster *c, rpc *r)
{
    unsigned k = (unsigned)r->actor;
    cl_sched *s = &c->scheds[k];
    cl_actor *a = &c->actors[k];
    s->polling = false;
    const ereply *re = r->reply;
    if (!re || re->type != EREPLY_ARRAY) {
        a->reconnect = true;
        at(c, c->now + backoff(a), EV_SUBMIT, r->actor, NULL, 0);
        at(c, c->now + a->backoff, EV_POLL, r->actor, NULL, 0);
        return;
    }
    size_t n = re->elements;
    const char **ids = calloc(n + 4, sizeof *ids);
    if (!ids) abort();
    ids[0] = "XDEL";
    char key[64];
    snprintf(key, sizeof key, "%s:res:%s", NS_KEY, a->name);
    ids[1] = key;
    int nid = 2;
    for (size_t i = 0; i < n; i++) {
        const ereply *e = re->element[i];
        if (e->type != EREPLY_ARRAY || e->elements < 2 || !e->element[0]->str) continue;
        ids[nid++] = e->element[0]->str;
        const ereply *fv = e->element[1];
        const char *dd = field(fv, "dd"), *status = field(fv, "status");
        if (dd[0] != 'w') continue;
        uint64_t item = strtoull(dd + 1, NULL, 10);
        if (item >= c->cfg.count || item % c->cfg.schedulers != k) continue;
        uint64_t id = strtoull(field(fv, "id"), NULL, 10);
        /* Only the job this scheduler waits for; anything else is stale
         * (or was applied before a restart). */
        if (c->item_state[item] != ITEM_INFLIGHT || c->item_job[item] != id) continue;
        if (strcmp(status, "ok") == 0)
            apply(c, k, item, "");
        else if (strcmp(status, "cancelled") == 0)
            resolve(c, item);
        else
            retry_item(c, k, item, status);
    }
    if (nid > 2) call(c, (int)k, RPC_XDEL, NULL, 0, nid, ids);
    free(ids);
    sched_send(c, k);
    at(c, c->now + (n ? 0 : RESULT_POLL), EV_POLL, r->actor, NULL, 0);
}

static void sched_poll(cluster *c, unsigned k)
{
    cl_sched *s = &c->scheds[k];
    cl_actor *a = &c->actors[k];
    if (s->polling || a->down) return;
    s->polling = true;
    char key[64];
    snprintf(key, sizeof key, "%s:res:%s", NS_KEY, a->name);
    const char *argv[] = {"XRANGE", key, "-", "+", "COUNT", "256"};
    call(c, (int)k, RPC_XRANGE, NULL, 0, 6, argv);
}

static void sched_start(cluster *c, unsigned k)
{
    cl_sched *s = &c->scheds[k];
    cl_actor *a = &c->actors[k];
    s->q_head = s->q_n = 0;
    s->inflight_calls = 0;
    s->registering = s->polling = false;
    /* Resubmit every owned item whose result is not applied (is_stale). */
    for (uint64_t item = k; item < c->cfg.count; item += c->cfg.schedulers) {
        if (c->applied[item] || c->item_state[item] == ITEM_DONE) {
            c->item_state[item] = ITEM_DONE;
            continue;
        }
        c->item_state[item] = ITEM_IDLE;
        sched_queue(c, k, (unsigned)(item / c->cfg.schedulers));
    }
    a->reconnect = true;
    sched_send(c, k);
}

/* -------------------------------------------------------------- dispatch */

static void on_reply(cluster *c, rpc *r)
{
    switch (r->kind) {
    case RPC_REGISTER:
        on_register_reply(c, r);
        break;
    case RPC_ENQUEUE:
        on_enqueue_reply(c, r);
        break;
    case RPC_XRANGE:
        on_xrange_reply(c, r);
        break;
    case RPC_XDEL:
        break;
    case RPC_CLAIM:
        on_claim_reply(c, r);
        break;
    case RPC_EXTEND:
        on_extend_reply(c, r);
        break;
    case RPC_FINISH:
        on_finish_reply(c, r);
        break;
    }
}

static void on_publish(const char *channel, const char *message, void *ud)
{
    cluster *c = ud;
    for (size_t i = c->cfg.schedulers; i < c->n_actors; i++) {
        cl_actor *a = &c->actors[i];
        cl_agent *ag = &c->agents[i - c->cfg.schedulers];
        if (a->down || a->cut || ag->wake_pending || ag->busy >= c->cfg.slots) continue;
        ag->wake_pending = true;
        int64_t t = c->now + link_delay(c, a);
        if (t <= a->last_down) t = a->last_down + 1;
        a->last_down = t;
        at(c, t, EV_WAKE, (int)i, NULL, 0);
    }
}

static void engine_arrive(cluster *c, rpc *r)
{
    cl_actor *a = &c->actors[r->actor];
    r->exec_t = c->now;
    int64_t back;
    if (c->engine_down || a->cut) {
        r->reply = NULL; /* refused or lost */
        back = c->now + CALL_TIMEOUT;
    } else {
        engine_emu_set_time(c->engine, CLUSTER_EPOCH_US + c->now);
        r->reply = engine_emu_call(c->engine, r->argc, (const char *const *)r->argv, r->lens);
        if (!r->reply) abort();
        if (engine_emu_unimplemented(c->engine)) {
            snprintf(c->errmsg, sizeof c->errmsg,
                     "the engine emulation does not implement '%s' (called by %s)",
                     engine_emu_unimplemented(c->engine), a->name);
            c->outcome = CLUSTER_ERROR;
        }
        if (r->kind == RPC_CLAIM)
            engine_admits(c, r);
        else
            engine_effects(c, r);
        back = c->now + link_delay(c, a);
        if (back <= a->last_down) back = a->last_down + 1;
        a->last_down = back;
    }
    at(c, back, EV_REPLY, r->actor, r, r->inc);
}

/* A reply reaches its caller: lost if the caller crashed since, or the link
 * is cut now; held while the caller is paused. */
static void deliver_reply(cluster *c, cl_event *ev)
{
    rpc *r = ev->p;
    cl_actor *a = &c->actors[r->actor];
    if (a->inc != r->inc) {
        rpc_free(r);
        return;
    }
    if (a->cut && r->reply) {
        ereply_free(r->reply);
        r->reply = NULL;
        int64_t t = r->sent + CALL_TIMEOUT;
        if (t > c->now) {
            at(c, t, EV_REPLY, r->actor, r, 0);
            return;
        }
    }
    if (!r->reply || r->reply->type == EREPLY_ERROR) {
        c->failed_calls++;
        if (!r->reply) a->reconnect = true;
    }
    /* The cluster's bookkeeping of jobs admitted by a claim that is lost. */
    on_reply(c, r);
    rpc_free(r);
}

static void heartbeat(cluster *c, cl_job *j)
{
    if (j->state == JOB_OVER) return;
    if (c->now >= j->local_deadline && j->state == JOB_RUNNING) {
        lose_lease(c, j, "(lease ended by the agent's clock)");
        return;
    }
    send_extend(c, j);
    at(c, c->now + j->lease_us / 3, EV_HEARTBEAT, j->agent, j, 0);
}

static void fault_begin(cluster *c, size_t fi);
static void fault_end(cluster *c, size_t fi);

static bool agent_event(int kind)
{
    return kind == EV_REPLY || kind == EV_CLAIM || kind == EV_WAKE || kind == EV_NOTIFY ||
           kind == EV_HEARTBEAT || kind == EV_FINISH;
}

static void dispatch(cluster *c, cl_event *ev)
{
    if (ev->actor >= 0) {
        cl_actor *a = &c->actors[ev->actor];
        if (ev->kind != EV_REPLY && ev->kind != EV_RESTART && ev->inc != a->inc) return;
        if (a->paused && agent_event(ev->kind)) {
            if (a->n_deferred == a->cap_deferred) {
                size_t cap = a->cap_deferred ? a->cap_deferred * 2 : 16;
                cl_event *d = realloc(a->deferred, cap * sizeof *d);
                if (!d) abort();
                a->deferred = d;
                a->cap_deferred = cap;
            }
            a->deferred[a->n_deferred++] = *ev;
            return;
        }
    }
    switch (ev->kind) {
    case EV_FAULT_BEGIN:
        fault_begin(c, (size_t)ev->a);
        break;
    case EV_FAULT_END:
        fault_end(c, (size_t)ev->a);
        break;
    case EV_SNAPSHOT:
        if (engine_emu_snapshot(c->engine)) abort();
        break;
    case EV_ARRIVE:
        engine_arrive(c, ev->p);
        break;
    case EV_REPLY:
        deliver_reply(c, ev);
        break;
    case EV_CLAIM:
        agent_of(c, ev->actor)->claim_timer = false;
        agent_claim(c, ev->actor);
        break;
    case EV_WAKE:
        agent_of(c, ev->actor)->wake_pending = false;
        agent_claim(c, ev->actor);
        break;
    case EV_CHILD: {
        cl_job *j = ev->p;
        j->child_done = true;
        at(c, c->now, EV_NOTIFY, ev->actor, j, 0);
        break;
    }
    case EV_NOTIFY: {
        cl_job *j = ev->p;
        if (j->state != JOB_RUNNING) break;
        j->state = JOB_FINISHING;
        send_finish(c, j);
        break;
    }
    case EV_HEARTBEAT:
        heartbeat(c, ev->p);
        break;
    case EV_FINISH: {
        cl_job *j = ev->p;
        if (j->state == JOB_FINISHING) send_finish(c, j);
        break;
    }
    case EV_SUBMIT:
        sched_send(c, (unsigned)ev->actor);
        break;
    case EV_POLL:
        sched_poll(c, (unsigned)ev->actor);
        break;
    case EV_RESTART: {
        cl_actor *a = &c->actors[ev->actor];
        a->down = false;
        logf_(c, "restarted", NULL, UINT64_MAX, "%s", a->name);
        if (a->scheduler)
            sched_start(c, (unsigned)ev->actor);
        else
            schedule_claim(c, ev->actor, c->now);
        break;
    }
    }
}

/* ---------------------------------------------------------------- faults */

static int fault_actor(cluster *c, const cluster_fault *f)
{
    return f->scheduler ? (int)f->target - 1 : (int)(c->cfg.schedulers + f->target - 1);
}

/* The items an agent holds now: the fault has recovered when each has
 * started again or finished. */
static void remember_held(cluster *c, size_t fi, int actor)
{
    cl_fault_state *fs = &c->faults[fi];
    size_t n = 0;
    for (cl_job *j = c->all_jobs; j; j = j->next_all)
        if (j->agent == actor && j->state != JOB_OVER) n++;
    fs->items = calloc(n ? n : 1, sizeof *fs->items);
    if (!fs->items) abort();
    for (cl_job *j = c->all_jobs; j; j = j->next_all)
        if (j->agent == actor && j->state != JOB_OVER) fs->items[fs->n_items++] = j->item;
    fs->n_left = fs->n_items;
    if (!n) fs->recovered_at = c->now;
}

static void fault_begin(cluster *c, size_t fi)
{
    const cluster_fault *f = &c->cfg.faults[fi];
    char spec[96];
    cluster_fault_format(f, spec, sizeof spec);
    logf_(c, "fault", NULL, UINT64_MAX, "%s", spec);
    if (f->kind == CF_ENGINE_RESTART) {
        c->engine_down = true;
        engine_emu_restore(c->engine);
        c->lost_writes = c->lost_writes || f->loss_s > 0;
        at(c, c->now + (int64_t)llround(f->for_s * 1e6), EV_FAULT_END, -1, NULL, fi);
        return;
    }
    int actor = fault_actor(c, f);
    cl_actor *a = &c->actors[actor];
    if (!f->scheduler) remember_held(c, fi, actor);
    switch (f->kind) {
    case CF_CRASH:
        if (a->down) return;
        a->down = true;
        a->inc++;
        a->paused = false;
        a->n_deferred = 0;
        a->backoff = 0;
        if (!a->scheduler) {
            cl_agent *ag = agent_of(c, actor);
            for (cl_job *j = c->all_jobs; j; j = j->next_all)
                if (j->agent == actor && j->state != JOB_OVER) job_over(c, j);
            ag->busy = 0;
            ag->claiming = ag->wake_pending = ag->claim_timer = false;
        }
        if (f->for_s > 0)
            at(c, c->now + (int64_t)llround(f->for_s * 1e6), EV_RESTART, actor, NULL, 0);
        break;
    case CF_PAUSE:
        a->paused = true;
        at(c, c->now + (int64_t)llround(f->for_s * 1e6), EV_FAULT_END, -1, NULL, fi);
        break;
    case CF_PARTITION:
        a->cut++;
        at(c, c->now + (int64_t)llround(f->for_s * 1e6), EV_FAULT_END, -1, NULL, fi);
        break;
    default:
        break;
    }
}

static void fault_end(cluster *c, size_t fi)
{
    const cluster_fault *f = &c->cfg.faults[fi];
    char spec[96];
    cluster_fault_format(f, spec, sizeof spec);
    logf_(c, "fault_end", NULL, UINT64_MAX, "%s", spec);
    if (f->kind == CF_ENGINE_RESTART) {
        c->engine_down = false;
        return;
    }
    cl_actor *a = &c->actors[fault_actor(c, f)];
    if (f->kind == CF_PAUSE && a->paused) {
        a->paused = false;
        /* Everything that happened meanwhile reaches it now, in order. */
        for (size_t i = 0; i < a->n_deferred; i++) {
            cl_event ev = a->deferred[i];
            ev.t = c->now;
            push_event(c, ev);
        }
        a->n_deferred = 0;
    } else if (f->kind == CF_PARTITION && a->cut) {
        a->cut--;
        if (a->scheduler) {
            at(c, c->now, EV_SUBMIT, fault_actor(c, f), NULL, 0);
            at(c, c->now, EV_POLL, fault_actor(c, f), NULL, 0);
        } else {
            schedule_claim(c, fault_actor(c, f), c->now);
        }
    }
}

/* ------------------------------------------------------------------- api */

static bool check_config(const cluster_config *cfg, char *err, size_t errlen)
{
    if (cfg->schedulers < 1 || cfg->agents < 1 ||
        cfg->schedulers + cfg->agents > CLUSTER_MAX_ACTORS) {
        snprintf(err, errlen, "a cluster needs 1..16 schedulers and 1..48 agents");
        return false;
    }
    if (cfg->slots < 1 || cfg->slots > 64 || cfg->n_services < 1 ||
        cfg->n_services > CLUSTER_MAX_SERVICES || cfg->count > 100000000) {
        snprintf(err, errlen, "bad cluster configuration (slots 1..64, 1..8 services)");
        return false;
    }
    for (size_t i = 0; i < cfg->n_services; i++) {
        const cluster_service *s = &cfg->services[i];
        if (!s->name[0] || s->lease_s < 0.001 || s->max_deliveries < 1 ||
            (s->rate_count && s->rate_window_s <= 0) || s->rate_count > 100000) {
            snprintf(err, errlen, "service '%s': bad limits", s->name);
            return false;
        }
    }
    return true;
}

int cluster_new(cluster **out, const cluster_config *cfg, const char *lua, size_t len, char *err,
                size_t errlen)
{
    *out = NULL;
    if (!check_config(cfg, err, errlen)) return -1;
    cluster *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->cfg = *cfg;
    if (engine_emu_new(&c->engine, lua, len, err, errlen)) {
        free(c);
        return -1;
    }
    engine_emu_on_publish(c->engine, on_publish, c);
    c->n_actors = cfg->schedulers + cfg->agents;
    c->actors = calloc(c->n_actors, sizeof *c->actors);
    c->scheds = calloc(cfg->schedulers, sizeof *c->scheds);
    c->agents = calloc(cfg->agents, sizeof *c->agents);
    size_t n = cfg->count ? cfg->count : 1;
    c->item_state = calloc(n, 1);
    c->item_job = calloc(n, sizeof *c->item_job);
    c->applied = calloc(n, 1);
    c->executions = calloc(n, sizeof *c->executions);
    c->attempts = calloc(n, sizeof *c->attempts);
    bool ok = c->actors && c->scheds && c->agents && c->item_state && c->item_job && c->applied &&
              c->executions && c->attempts;
    for (size_t i = 0; ok && i < cfg->n_services; i++) {
        unsigned rn = cfg->services[i].rate_count;
        c->svc[i].ring = calloc(rn ? rn : 1, sizeof *c->svc[i].ring);
        ok = c->svc[i].ring != NULL;
    }
    if (!ok) {
        cluster_free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n_actors; i++) {
        cl_actor *a = &c->actors[i];
        a->scheduler = i < cfg->schedulers;
        a->idx = (unsigned)(a->scheduler ? i : i - cfg->schedulers);
        snprintf(a->name, sizeof a->name, "%s%u", a->scheduler ? "sched" : "agent", a->idx + 1);
        sim_pcg32_init(&a->link, cfg->seed, 100 + i);
        if (!a->scheduler) {
            sim_pcg32_init(&c->agents[a->idx].latency, cfg->seed, 200 + i);
            sim_pcg32_init(&c->agents[a->idx].errors, cfg->seed, 300 + i);
        }
    }
    for (size_t f = 0; f < cfg->n_faults; f++)
        c->faults[f].recovered_at = -1;
    *out = c;
    return 0;
}

void cluster_free(cluster *c)
{
    if (!c) return;
    while (c->n_heap) {
        cl_event ev = pop_event(c);
        if (ev.kind == EV_ARRIVE || ev.kind == EV_REPLY) rpc_free(ev.p);
    }
    for (size_t i = 0; c->actors && i < c->n_actors; i++) {
        for (size_t d = 0; d < c->actors[i].n_deferred; d++)
            if (c->actors[i].deferred[d].kind == EV_REPLY) rpc_free(c->actors[i].deferred[d].p);
        free(c->actors[i].deferred);
    }
    for (cl_job *j = c->all_jobs; j;) {
        cl_job *next = j->next_all;
        free(j);
        j = next;
    }
    for (size_t i = 0; c->scheds && i < c->cfg.schedulers; i++)
        free(c->scheds[i].queue);
    for (size_t i = 0; i < CLUSTER_MAX_SERVICES; i++) {
        free(c->svc[i].ring);
        free(c->svc[i].holding);
    }
    for (size_t f = 0; f < CLUSTER_MAX_FAULTS; f++)
        free(c->faults[f].items);
    engine_emu_free(c->engine);
    free(c->heap);
    free(c->actors);
    free(c->scheds);
    free(c->agents);
    free(c->item_state);
    free(c->item_job);
    free(c->applied);
    free(c->executions);
    free(c->attempts);
    rc_shm_unpublish(c->shm);
    free(c);
}

void cluster_set_log(cluster *c, sim_eventlog *log)
{
    c->log = log;
}
void cluster_record(cluster *c, FILE *fp)
{
    engine_emu_record(c->engine, fp);
}
const char *cluster_errmsg(const cluster *c)
{
    return c->errmsg;
}

void cluster_start(cluster *c)
{
    const cluster_config *cfg = &c->cfg;
    if (c->started) return;
    c->started = true;
    for (size_t f = 0; f < cfg->n_faults; f++) {
        const cluster_fault *cf = &cfg->faults[f];
        int64_t t = (int64_t)llround(cf->at_s * 1e6);
        if (cf->kind == CF_ENGINE_RESTART) {
            /* Like AOF everysec: writes up to the last fsync survive, the
             * last `loss` seconds do not. */
            int64_t snap = (int64_t)llround((cf->at_s - cf->loss_s) * 1e6);
            if (snap >= 0) at(c, snap, EV_SNAPSHOT, -1, NULL, 0);
        }
        at(c, t, EV_FAULT_BEGIN, -1, NULL, f);
    }
    for (unsigned k = 0; k < cfg->schedulers; k++)
        sched_start(c, k);
    for (size_t i = cfg->schedulers; i < c->n_actors; i++)
        schedule_claim(c, (int)i, 0);
    c->outcome = CLUSTER_DONE;
}

/* Time for the live view's next state (every 50 ms of virtual time). */
static void maybe_publish(cluster *c)
{
    if (c->shm && c->now >= c->view_next) {
        cl_view_publish(c);
        c->view_next = c->now + 50000;
    }
}

bool cluster_advance(cluster *c, int64_t until_us, bool one)
{
    const cluster_config *cfg = &c->cfg;
    if (c->over) return true;
    cluster_start(c);
    int64_t end = cfg->duration_s > 0 ? (int64_t)llround(cfg->duration_s * 1e6) : INT64_MAX;
    int64_t instant = -1;
    while (c->resolved < cfg->count && c->n_heap) {
        int64_t next = c->heap[0].t;
        if ((next > until_us && until_us < end) || (one && instant >= 0 && next > instant)) {
            if (c->shm) cl_view_publish(c);
            return false;
        }
        cl_event ev = pop_event(c);
        if (ev.t > end) {
            push_event(c, ev);
            c->now = end;
            c->outcome = CLUSTER_CUT;
            break;
        }
        c->now = instant = ev.t;
        dispatch(c, &ev);
        if (c->outcome == CLUSTER_ERROR) break;
        if (c->now - c->last_progress > STALL_AFTER) {
            c->outcome = CLUSTER_STALLED;
            break;
        }
        maybe_publish(c);
    }
    if (c->resolved < cfg->count && c->outcome == CLUSTER_DONE) c->outcome = CLUSTER_STALLED;
    c->over = true;
    if (c->shm) cl_view_publish(c);
    return true;
}

int64_t cluster_now_us(const cluster *c)
{
    return c->now;
}

int64_t cluster_next_us(const cluster *c)
{
    return c->over || !c->n_heap ? INT64_MAX : c->heap[0].t;
}

int cluster_outcome_of(const cluster *c)
{
    return c->outcome;
}

int cluster_run(cluster *c)
{
    cluster_advance(c, INT64_MAX, false);
    return c->outcome;
}
