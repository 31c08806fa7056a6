/*
 * bench_floor.c -- bare event loops for pipeline, fanout and dynamic: what
 * those scenarios cost with nothing but their own work, the floor under the
 * simulator's cost per item (bench_limit.c is single_queue's).
 *
 * The same shape of work as `runcue-sim --scenario pipeline|fanout|dynamic
 * -l 0`: the same services and concurrency, the same dependency graph drawn
 * the same way (fanout: each split, when done, submits 5 processes that
 * need it and an aggregate that needs the 5; dynamic: documents of 2-4 api and 1-3 local artifacts drawn from
 * pools of twice the documents, 30% of the local ones needing an api one, a
 * check after each publish that one time in five invalidates 1-2 of the
 * document's api artifacts and its published one, which are fetched and
 * published again), every work checked when submitted, woken when the
 * artifact it waits on is written, checked again before it starts, its
 * queue wait and run time kept and their p50/p95/p99 computed at the end.
 *
 * Bare means: works and artifacts are integers into arrays, a need is a
 * bit, a wait is a list through the works, queues are rings, completions a
 * binary heap.  No names, no labels, no callbacks, no events, no memory
 * beyond what the graph needs.  The item counts come out within a few per
 * cent of the simulator's (its random draws are other ones), so the figure
 * to compare is the cost per item.
 */
#include "bench_limit.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { NONE = UINT32_MAX, MAX_SVC = 4 };

typedef struct bwork {
    uint8_t kind, svc;
    uint32_t idx;
    uint32_t next; /* in a waiter list */
    int64_t submitted, started;
} bwork;

typedef struct ring {
    uint32_t *v;
    size_t cap, head, len;
} ring;

typedef struct ctimer {
    int64_t when;
    uint64_t seq;
    uint32_t work;
} ctimer;

typedef struct floor_doc {
    uint32_t api[4], local[3];
    uint8_t n_api, n_local;
} floor_doc;

enum { S_PIPELINE, S_FANOUT, S_DYNAMIC };

typedef struct floor_run {
    int shape;
    bool dynamic;
    uint64_t n;
    double latency_ms;
    uint64_t rng;
    int64_t now;
    uint64_t seq;
    bwork *w;
    size_t n_w, cap_w;
    ring q[MAX_SVC];
    int conc[MAX_SVC], running[MAX_SVC];
    ctimer *heap;
    size_t heap_n, heap_cap;
    uint8_t *valid;   /* per key */
    uint32_t *waiters; /* per key: the first waiting work */
    double *waits, *runs;
    size_t n_done, cap_done;
    /* dynamic */
    floor_doc *docs;
    uint32_t n_api, n_local;
    int32_t *local_dep;
    bool oom;
} floor_run;

static uint32_t bounded(uint64_t *state, uint32_t n)
{
    return (uint32_t)(((uint64_t)bench_pcg32(state) * n) >> 32);
}

static double unit(uint64_t *state)
{
    return (double)bench_pcg32(state) / 4294967296.0;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t n = *cap ? *cap * 2 : 1024;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

static bool ring_push(ring *r, uint32_t v)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        uint32_t *nv = malloc(cap * sizeof *nv);
        if (!nv) return false;
        for (size_t i = 0; i < r->len; i++) nv[i] = r->v[(r->head + i) & (r->cap - 1)];
        free(r->v);
        r->v = nv;
        r->cap = cap;
        r->head = 0;
    }
    r->v[(r->head + r->len++) & (r->cap - 1)] = v;
    return true;
}

static uint32_t ring_pop(ring *r)
{
    uint32_t v = r->v[r->head];
    r->head = (r->head + 1) & (r->cap - 1);
    r->len--;
    return v;
}

static bool before(const ctimer *a, const ctimer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static bool heap_push(floor_run *f, ctimer t)
{
    if (!grow((void **)&f->heap, &f->heap_cap, f->heap_n + 1, sizeof *f->heap)) return false;
    size_t i = f->heap_n++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!before(&t, &f->heap[p])) break;
        f->heap[i] = f->heap[p];
        i = p;
    }
    f->heap[i] = t;
    return true;
}

static ctimer heap_pop(floor_run *f)
{
    ctimer top = f->heap[0], last = f->heap[--f->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= f->heap_n) break;
        if (c + 1 < f->heap_n && before(&f->heap[c + 1], &f->heap[c])) c++;
        if (!before(&f->heap[c], &last)) break;
        f->heap[i] = f->heap[c];
        i = c;
    }
    if (f->heap_n) f->heap[i] = last;
    return top;
}

/* ---- the two graphs: kinds, services, keys ---- */

enum { P_EXTRACT, P_TRANSFORM, P_LOAD };        /* services local, api, storage */
enum { D_API, D_LOCAL, D_PUBLISH, D_CHECK };    /* services api, local, publisher, checker */
enum { F_SPLIT, F_PROCESS, F_AGGREGATE, FAN = 5 }; /* services splitter, processor, aggregator */

/* Key numbers.  pipeline: extracted i, transformed n+i, loaded 2n+i.
 * fanout: split b, part n+5b+k (process 5b+k), aggregate 6n+b.  dynamic: api i, local n_api+i, published n_api+n_local+d (a check's
 * output nobody needs is not kept). */
static uint32_t key_api(const floor_run *f, uint32_t i) { (void)f; return i; }
static uint32_t key_local(const floor_run *f, uint32_t i) { return f->n_api + i; }
static uint32_t key_pub(const floor_run *f, uint32_t d) { return f->n_api + f->n_local + d; }

/* The needs of work x in out; how many. */
static size_t needs_of(const floor_run *f, const bwork *x, uint32_t out[7])
{
    if (f->shape == S_FANOUT) {
        if (x->kind == F_SPLIT) return 0;
        if (x->kind == F_PROCESS) {
            out[0] = x->idx / FAN;
            return 1;
        }
        for (unsigned k = 0; k < FAN; k++) out[k] = (uint32_t)(f->n + FAN * x->idx + k);
        return FAN;
    }
    if (!f->dynamic) {
        if (x->kind == P_EXTRACT) return 0;
        out[0] = (uint32_t)((x->kind == P_TRANSFORM ? 0 : f->n) + x->idx);
        return 1;
    }
    switch (x->kind) {
    case D_LOCAL:
        if (f->local_dep[x->idx] < 0) return 0;
        out[0] = key_api(f, (uint32_t)f->local_dep[x->idx]);
        return 1;
    case D_PUBLISH: {
        const floor_doc *d = &f->docs[x->idx];
        size_t n = 0;
        for (unsigned k = 0; k < d->n_api; k++) out[n++] = key_api(f, d->api[k]);
        for (unsigned k = 0; k < d->n_local; k++) out[n++] = key_local(f, d->local[k]);
        return n;
    }
    case D_CHECK: out[0] = key_pub(f, x->idx); return 1;
    default: return 0;
    }
}

/* The key work x writes, or NONE. */
static uint32_t produces(const floor_run *f, const bwork *x)
{
    if (f->shape == S_FANOUT)
        return (uint32_t)(x->kind == F_SPLIT ? x->idx
                          : x->kind == F_PROCESS ? f->n + x->idx
                                                 : 6 * f->n + x->idx);
    if (!f->dynamic) return (uint32_t)(x->kind * f->n + x->idx);
    switch (x->kind) {
    case D_API: return key_api(f, x->idx);
    case D_LOCAL: return key_local(f, x->idx);
    case D_PUBLISH: return key_pub(f, x->idx);
    default: return NONE;
    }
}

/* Ready: queued at its service.  Else it waits on its first unmet need. */
static void check(floor_run *f, uint32_t id)
{
    bwork *x = &f->w[id];
    uint32_t need[7];
    const size_t n = needs_of(f, x, need);
    for (size_t k = 0; k < n; k++)
        if (!f->valid[need[k]]) {
            x->next = f->waiters[need[k]];
            f->waiters[need[k]] = id;
            return;
        }
    if (!ring_push(&f->q[x->svc], id)) f->oom = true;
}

static void submit(floor_run *f, uint8_t kind, uint32_t idx)
{
    /* Each kind has a service of its own, numbered as the kinds. */
    if (!grow((void **)&f->w, &f->cap_w, f->n_w + 1, sizeof *f->w)) {
        f->oom = true;
        return;
    }
    const uint32_t id = (uint32_t)f->n_w++;
    f->w[id] = (bwork){kind, kind, idx, NONE, f->now, 0};
    check(f, id);
}

static void write_key(floor_run *f, uint32_t key)
{
    f->valid[key] = 1;
    uint32_t id = f->waiters[key];
    f->waiters[key] = NONE;
    while (id != NONE) {
        const uint32_t next = f->w[id].next;
        check(f, id);
        id = next;
    }
}

static void completed(floor_run *f, uint32_t id)
{
    /* Copies: a submit may move the works. */
    const bwork x = f->w[id];
    const uint32_t key = produces(f, &x);
    if (key != NONE) write_key(f, key);
    if (f->shape == S_FANOUT && x.kind == F_SPLIT) {
        for (uint32_t k = 0; k < FAN; k++) submit(f, F_PROCESS, FAN * x.idx + k);
        submit(f, F_AGGREGATE, x.idx);
    }
    if (!f->dynamic) return;
    const uint32_t d = x.idx;
    if (x.kind == D_PUBLISH) {
        submit(f, D_CHECK, d);
    } else if (x.kind == D_CHECK) {
        /* Always two draws (chance, how many), then the picks. */
        const double chance = unit(&f->rng);
        unsigned how_many = 1 + bounded(&f->rng, 2);
        const floor_doc *dc = &f->docs[d];
        if (chance >= 0.2 || !dc->n_api) return;
        if (how_many > dc->n_api) how_many = dc->n_api;
        uint32_t pool[4];
        memcpy(pool, dc->api, sizeof pool);
        unsigned left = dc->n_api;
        for (unsigned k = 0; k < how_many; k++) {
            const unsigned pick = bounded(&f->rng, left);
            const uint32_t a = pool[pick];
            pool[pick] = pool[--left];
            f->valid[key_api(f, a)] = 0;
            submit(f, D_API, a);
        }
        f->valid[key_pub(f, d)] = 0;
        submit(f, D_PUBLISH, d);
    }
}

/* Start what the services allow; a work whose needs went since it was
 * queued waits again. */
static void dispatch(floor_run *f)
{
    for (int s = 0; s < MAX_SVC; s++)
        while (f->running[s] < f->conc[s] && f->q[s].len) {
            const uint32_t id = ring_pop(&f->q[s]);
            bwork *x = &f->w[id];
            uint32_t need[7];
            const size_t n = needs_of(f, x, need);
            size_t k = 0;
            while (k < n && f->valid[need[k]]) k++;
            if (k < n) {
                check(f, id);
                continue;
            }
            x->started = f->now;
            const double u = unit(&f->rng);
            const double ms = f->latency_ms * (1 + 0.2 * (2 * u - 1));
            if (!heap_push(f, (ctimer){f->now + (int64_t)(ms * 1e6), f->seq++, id})) f->oom = true;
            f->running[s]++;
        }
}

static void sample(uint64_t *rng, uint32_t *scratch, uint32_t n, uint32_t *out, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        const uint32_t j = i + bounded(rng, n - i);
        const uint32_t t = scratch[i];
        scratch[i] = scratch[j];
        scratch[j] = t;
        out[i] = scratch[i];
    }
}

/* The dynamic graph and its initial work (api fetches, local processes,
 * publishes, in that order).  false: out of memory. */
static bool build_dynamic(floor_run *f)
{
    const uint64_t n = f->n;
    f->n_api = (uint32_t)(n * 2 > 10 ? n * 2 : 10);
    f->n_local = (uint32_t)(n * 2 > 8 ? n * 2 : 8);
    f->docs = calloc(n, sizeof *f->docs);
    f->local_dep = malloc(f->n_local * sizeof *f->local_dep);
    uint32_t *sa = malloc(f->n_api * sizeof *sa), *sl = malloc(f->n_local * sizeof *sl);
    uint8_t *api_needed = calloc(f->n_api, 1), *local_needed = calloc(f->n_local, 1);
    bool ok = f->docs && f->local_dep && sa && sl && api_needed && local_needed;
    if (ok) {
        for (uint32_t i = 0; i < f->n_api; i++) sa[i] = i;
        for (uint32_t i = 0; i < f->n_local; i++) sl[i] = i;
        for (uint64_t d = 0; d < n; d++) {
            floor_doc *dc = &f->docs[d];
            dc->n_api = (uint8_t)(2 + bounded(&f->rng, 3));
            dc->n_local = (uint8_t)(1 + bounded(&f->rng, 3));
            sample(&f->rng, sa, f->n_api, dc->api, dc->n_api);
            sample(&f->rng, sl, f->n_local, dc->local, dc->n_local);
            for (unsigned k = 0; k < dc->n_api; k++) api_needed[dc->api[k]] = 1;
            for (unsigned k = 0; k < dc->n_local; k++) local_needed[dc->local[k]] = 1;
        }
        uint32_t n_needed = 0;
        for (uint32_t i = 0; i < f->n_api; i++)
            if (api_needed[i]) sa[n_needed++] = i;
        for (uint32_t i = 0; i < f->n_local; i++) {
            f->local_dep[i] = -1;
            if (!local_needed[i]) continue;
            const double u = unit(&f->rng);
            const uint32_t pick = bounded(&f->rng, n_needed ? n_needed : 1);
            if (u < 0.3 && n_needed) f->local_dep[i] = (int32_t)sa[pick];
        }
        for (uint32_t i = 0; i < f->n_api && !f->oom; i++)
            if (api_needed[i]) submit(f, D_API, i);
        for (uint32_t i = 0; i < f->n_local && !f->oom; i++)
            if (local_needed[i]) submit(f, D_LOCAL, i);
        for (uint64_t d = 0; d < n && !f->oom; d++) submit(f, D_PUBLISH, (uint32_t)d);
    }
    free(sa), free(sl), free(api_needed), free(local_needed);
    return ok && !f->oom;
}

int bench_floor_run(const char *scenario, uint64_t count, double latency_ms, int concurrent,
                    bench_limit_result *out)
{
    memset(out, 0, sizeof *out);
    floor_run f = {0};
    if (strcmp(scenario, "pipeline") == 0)
        f.shape = S_PIPELINE;
    else if (strcmp(scenario, "fanout") == 0)
        f.shape = S_FANOUT;
    else if (strcmp(scenario, "dynamic") == 0)
        f.shape = S_DYNAMIC;
    else
        return -1;
    f.dynamic = f.shape == S_DYNAMIC;
    if (count < 1 || count > 100000000) return -1;
    if (concurrent < 1) concurrent = 1;
    f.n = count;
    f.latency_ms = latency_ms;
    f.rng = 42;
    size_t n_keys;
    if (f.dynamic) {
        const int c[] = {concurrent, concurrent * 2, 2, 1};
        memcpy(f.conc, c, sizeof c);
        n_keys = (size_t)(count * 2 > 10 ? count * 2 : 10) + (count * 2 > 8 ? count * 2 : 8) + count;
    } else if (f.shape == S_FANOUT) {
        const int c[] = {1, concurrent, 2, 0};
        memcpy(f.conc, c, sizeof c);
        n_keys = 7 * count;
    } else {
        const int c[] = {concurrent * 2, concurrent, concurrent, 0};
        memcpy(f.conc, c, sizeof c);
        n_keys = 3 * count;
    }
    f.valid = calloc(n_keys, 1);
    f.waiters = malloc(n_keys * sizeof *f.waiters);
    int rc = -1;
    if (!f.valid || !f.waiters) goto out;
    memset(f.waiters, 0xff, n_keys * sizeof *f.waiters);
    if (f.dynamic) {
        if (!build_dynamic(&f)) goto out;
    } else if (f.shape == S_FANOUT) {
        for (uint64_t b = 0; b < count && !f.oom; b++) submit(&f, F_SPLIT, (uint32_t)b);
        if (f.oom) goto out;
    } else {
        for (uint64_t i = 0; i < count && !f.oom; i++) {
            submit(&f, P_EXTRACT, (uint32_t)i);
            submit(&f, P_TRANSFORM, (uint32_t)i);
            submit(&f, P_LOAD, (uint32_t)i);
        }
        if (f.oom) goto out;
    }
    for (;;) {
        dispatch(&f);
        if (f.oom) goto out;
        if (!f.heap_n) break;
        const ctimer t = heap_pop(&f);
        f.now = t.when;
        bwork *x = &f.w[t.work];
        f.running[x->svc]--;
        if (f.n_done == f.cap_done) {
            const size_t cap = f.cap_done ? f.cap_done * 2 : 1024;
            double *wv = realloc(f.waits, cap * sizeof *wv);
            if (wv) f.waits = wv;
            double *rv = wv ? realloc(f.runs, cap * sizeof *rv) : NULL;
            if (!rv) goto out;
            f.runs = rv;
            f.cap_done = cap;
        }
        f.waits[f.n_done] = (double)(x->started - x->submitted) / 1e9;
        f.runs[f.n_done++] = (double)(f.now - x->started) / 1e9;
        completed(&f, t.work);
        if (f.oom) goto out;
    }
    out->completed = f.n_done;
    out->duration_s = (double)f.now / 1e9;
    bench_percentiles(f.waits, f.n_done, out->wait_p);
    bench_percentiles(f.runs, f.n_done, out->run_p);
    rc = 0;
out:
    for (int s = 0; s < MAX_SVC; s++) free(f.q[s].v);
    free(f.w), free(f.heap), free(f.valid), free(f.waiters), free(f.waits), free(f.runs);
    free(f.docs), free(f.local_dep);
    return rc;
}
