/* diagnose.c -- why pending work waits.
 *
 * rc_debug_blocked answers per item from what the scheduler already knows
 * (the last check's answer, the service's limits, what a transport said of
 * running work that waits remotely); it calls no user code.
 * rc_diagnose builds the wait-for graph from declared needs/produces: each
 * unmet need of each waiting item points at the work that would produce it,
 * which names missing producers, finished roots, held producers and cycles.
 * Every walk is iterative (no recursion, whatever the depth of a chain) and
 * every lookup hashed or binary-searched, so a diagnosis of a million items
 * takes about a second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "work.h"

static void describe_reason(const rc_cue *cue, const rc_work *w, rc_blocked *b)
{
    const rc_svc *s = w->task->svc;
    rc_time now = rc_loop_now(cue->loop);
    b->wait_key = NULL;
    switch (w->where) {
    case RC_W_WAITING: {
        b->reason = RC_BLOCK_NOT_READY;
        b->wait_key = w->wait_key ? w->wait_key->text : NULL;
        if (w->detail && w->detail_framed) {
            const rc_detail_frame *f = (const rc_detail_frame *)w->detail;
            snprintf(b->detail, sizeof b->detail, "%.*s%s%s", (int)f->prefix_len, f->text,
                     w->wait_key->text, f->text + f->prefix_len);
        } else if (w->detail)
            snprintf(b->detail, sizeof b->detail, "%s", w->detail);
        else if (b->wait_key)
            snprintf(b->detail, sizeof b->detail, "is_ready returned false; waiting on '%s'",
                     b->wait_key);
        else {
            char *params = cJSON_PrintUnformatted(RC_COLD(w)->params);
            snprintf(b->detail, sizeof b->detail, "is_ready returned false for %s(params=%s)",
                     w->task->name, params ? params : "?");
            cJSON_free(params);
        }
        break;
    }
    case RC_W_ORPHAN:
        b->reason = RC_BLOCK_UNKNOWN_TASK;
        snprintf(b->detail, sizeof b->detail, "task '%s' has no handler registered",
                 w->task->name);
        break;
    case RC_W_DELAYED:
        b->reason = RC_BLOCK_DELAYED;
        snprintf(b->detail, sizeof b->detail, "delayed until t=%.3fs",
                 rc_ns_to_s(RC_COLD(w)->delay ? RC_COLD(w)->delay->not_before : 0));
        break;
    case RC_W_QUEUED: {
        rc_time next = rc_rate_next_allowed(&s->rate);
        if (cue->paused) {
            b->reason = RC_BLOCK_PAUSED;
            snprintf(b->detail, sizeof b->detail, "dispatching is paused");
        } else if (s->concurrent != RC_NO_LIMIT && s->running >= (size_t)s->concurrent) {
            b->reason = RC_BLOCK_SERVICE_FULL;
            snprintf(b->detail, sizeof b->detail, "service '%s' at capacity (%zu/%d)", s->name,
                     s->running, s->concurrent);
        } else if (next > now) {
            b->reason = RC_BLOCK_RATE_LIMITED;
            snprintf(b->detail, sizeof b->detail,
                     "service '%s': rate %u per %gs reached, next start at t=%.3fs", s->name,
                     s->rate.count, rc_ns_to_s(s->rate.window), rc_ns_to_s(next));
        } else {
            b->reason = RC_BLOCK_UNCHECKED;
            snprintf(b->detail, sizeof b->detail, "ready; starts at the next dispatch pass");
        }
        break;
    }
    default:
        b->reason = RC_BLOCK_UNCHECKED;
        snprintf(b->detail, sizeof b->detail, "submitted; checked at the next dispatch pass");
        break;
    }
}

/* ---- who produces what ---- */

/* Which producer of a key counts: work that may still produce it, else work
 * that ended without producing it, else work that produced it (the output is
 * no longer valid, or the waiter would not wait). */
enum { RANK_COMPLETED = 1, RANK_ENDED, RANK_ACTIVE };

static int rank_of(const rc_work *p)
{
    if (p->state == RC_PENDING || p->state == RC_RUNNING) return RANK_ACTIVE;
    if (p->state == RC_COMPLETED && !p->skipped) return RANK_COMPLETED;
    return RANK_ENDED;
}

/* A fixed-size hash table over strings the cue already holds (keys are
 * borrowed, never copied): sized once for every key it will hold, so a
 * million keys cost no allocation each. */
typedef struct keyslot {
    uint64_t hash; /* 0: empty */
    const char *key;
    const void *val;
} keyslot;

typedef struct keyindex {
    keyslot *slots;
    size_t mask;
    rc_idmap fakes; /* ghost id -> its stand-in work record, made for this index */
} keyindex;

static int keyindex_init(const rc_alloc *a, keyindex *ki, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) {
        if (cap > SIZE_MAX / 4 / sizeof *ki->slots) return RC_ENOMEM;
        cap *= 2;
    }
    ki->slots = rc_calloc(a, cap, sizeof *ki->slots);
    ki->mask = cap - 1;
    return ki->slots ? 0 : RC_ENOMEM;
}

/* The slot holding key, or the empty one where it would go (the caller
 * claims it by setting hash, key and val). */
static keyslot *keyindex_slot(const keyindex *ki, const char *key, uint64_t *hash)
{
    uint64_t h = *hash = rc_strmap_hash(key);
    for (size_t i = h & ki->mask;; i = (i + 1) & ki->mask) {
        keyslot *s = &ki->slots[i];
        if (!s->hash || (s->hash == h && strcmp(s->key, key) == 0)) return s;
    }
}

static const void *keyindex_get(const keyindex *ki, const char *key)
{
    uint64_t h;
    const keyslot *s = ki->slots ? keyindex_slot(ki, key, &h) : NULL;
    return s && s->hash ? s->val : NULL;
}

/* Key -> the producer that counts (the newest of the best rank).  Built when
 * asked for, since only a diagnosis needs it (keeping it up to date would
 * cost every submit). */
/* A record that stands for a forgotten completed producer (its ghost) in
 * the diagnosis: only what the diagnosis reads is filled in.  One per ghost
 * and index.  NULL: out of memory. */
static const rc_work *ghost_work(rc_cue *cue, keyindex *idx, const rc_ghost *g)
{
    rc_work *f = rc_idmap_get(&idx->fakes, g->id);
    if (f) return f;
    if (!(f = rc_calloc(&cue->alloc, 1, sizeof *f))) return NULL;
    if (rc_idmap_put(&cue->alloc, &idx->fakes, g->id, f)) {
        rc_free(&cue->alloc, f);
        return NULL;
    }
    f->id = g->id;
    f->task = g->task;
    f->state = RC_COMPLETED;
    f->where = RC_W_FINISHED;
    f->epoch = g->epoch;
    f->started = -1;
    if (g->has_label) {
        f->label_kind = RC_LABEL_ALLOCATED;
        f->label_heap = (char *)g->label; /* read only, never freed through f */
    }
    return f;
}

static void free_fake(void *ud, uint64_t id, void *val)
{
    (void)id;
    rc_free(ud, val);
}

static void keyindex_free(rc_cue *cue, keyindex *idx)
{
    rc_free(&cue->alloc, idx->slots);
    idx->slots = NULL;
    rc_idmap_each(&idx->fakes, free_fake, &cue->alloc);
    rc_idmap_free(&cue->alloc, &idx->fakes);
}

/* Ghosts on key e stand in for its producer when no live producer ranks
 * above a completed one that is newer. */
static int add_ghost(rc_cue *cue, keyindex *idx, const rc_keyent *e)
{
    if (!e || !e->ghost) return 0;
    uint64_t h;
    keyslot *s = keyindex_slot(idx, e->text, &h);
    const rc_work *live = s->hash ? s->val : NULL;
    if (live && (rank_of(live) > RANK_COMPLETED || live->id > e->ghost->id)) return 0;
    const rc_work *f = ghost_work(cue, idx, e->ghost);
    if (!f) return RC_ENOMEM;
    *s = (keyslot){h, e->text, f};
    return 0;
}

static int index_producers(rc_cue *cue, keyindex *idx)
{
    size_t total = 0;
    const rc_work *w;
    RC_FOR_EACH_WORK(cue, w) {
        total += w->n_produces;
        /* Room for the ghosts of what pending work needs. */
        if (cue->opts.forget_completed && w->state == RC_PENDING) total += w->n_needs + 1;
    }
    if (keyindex_init(&cue->alloc, idx, total)) return RC_ENOMEM;
    RC_FOR_EACH_WORK(cue, w) {
        int rank = rank_of(w);
        for (size_t i = 0; i < w->n_produces; i++) {
            uint64_t h;
            const char *key = rc_declared_produces(w)[i];
            keyslot *s = keyindex_slot(idx, key, &h);
            if (s->hash && rank_of(s->val) > rank) continue;
            *s = (keyslot){h, key, w};
        }
    }
    if (!cue->opts.forget_completed) return 0;
    /* Forgotten completed producers, only where pending work may look. */
    RC_FOR_EACH_WORK(cue, w) {
        if (w->state != RC_PENDING) continue;
        int rc = w->where == RC_W_WAITING ? add_ghost(cue, idx, w->wait_key) : 0;
        for (size_t i = 0; !rc && i < w->n_needs; i++)
            rc = add_ghost(cue, idx, RC_KEYENT_OF(w->needs[i]));
        if (rc) {
            keyindex_free(cue, idx);
            return rc;
        }
    }
    return 0;
}

static const rc_work *producer_of(const keyindex *idx, const char *key)
{
    return keyindex_get(idx, key);
}

/* The unmet needs of a waiting item, in the order its check named them: the
 * key it is filed under, then the other needs the check named; or every
 * declared need if the check named none.  Calls fn for each; stops at the
 * first non-zero return. */
typedef int (*need_fn)(void *ud, const rc_work *w, const char *key);

static bool unmet_bit(const rc_work *w, size_t i)
{
    const uint64_t small = w->unmet_small;
    const uint64_t *bits = w->n_needs > RC_UNMET_SMALL ? RC_COLD(w)->unmet_big : &small;
    return bits && (bits[i / 64] >> (i % 64)) & 1;
}

/* A need the last check found unmet, other than the one the work is filed
 * under, is re-checked only when that one changes: if its producer completed
 * since the check, it may well be met now, so it is not followed. */
static bool met_since_check(const rc_work *w, const rc_work *producer)
{
    return producer && producer->state == RC_COMPLETED && !producer->skipped &&
           producer->epoch >= w->epoch;
}

static int each_unmet_need(const rc_work *w, const keyindex *producers, need_fn fn, void *ud)
{
    const char *filed = w->wait_key ? w->wait_key->text : NULL;
    int rc = 0;
    if (filed) rc = fn(ud, w, filed);
    if (filed && !w->has_unmet) return rc;
    for (size_t i = 0; i < w->n_needs && !rc; i++) {
        if (w->has_unmet && !unmet_bit(w, i)) continue;
        if (filed && strcmp(w->needs[i], filed) == 0) continue;
        if (filed && met_since_check(w, producer_of(producers, w->needs[i]))) continue;
        rc = fn(ud, w, w->needs[i]);
    }
    return rc;
}

static int count_need(void *ud, const rc_work *w, const char *key)
{
    (void)w, (void)key;
    ++*(size_t *)ud;
    return 0;
}

/* ---- rc_debug_blocked ---- */

/* Which work b is about. */
static void name_work(const rc_work *w, rc_blocked *b)
{
    memset(b, 0, sizeof *b);
    b->id = w->id;
    b->task = w->task->name;
    b->service = w->task->svc->name;
    b->label = rc_work_label_text(w);
}

static void describe(const rc_cue *cue, const rc_work *w, const keyindex *producers, rc_blocked *b)
{
    name_work(w, b);
    b->since = w->pending_since;
    describe_reason(cue, w, b);
    if (w->where != RC_W_WAITING || !b->wait_key || !w->n_needs || !producers) return;
    const rc_work *p = producer_of(producers, b->wait_key);
    b->has_producer_info = true;
    b->producer = p ? p->id : 0;
    b->producer_state = p ? p->state : RC_PENDING;
    b->producer_skipped = p && p->skipped;
    each_unmet_need(w, producers, count_need, &b->n_unmet);
}

/* Running work that waits in a remote queue. */
static void describe_remote(const rc_work *w, rc_blocked *b)
{
    name_work(w, b);
    b->since = w->started;
    b->reason = RC_BLOCK_REMOTE;
    snprintf(b->detail, sizeof b->detail, "%s", RC_COLD(w)->remote_status);
}

int rc_work_set_remote_status(rc_cue *cue, rc_work_id id, const char *text)
{
    if (!cue) return RC_EINVAL;
    rc_work *w = rc_idtable_get(&cue->works, id);
    if (!w) {
        rc_cue_set_error(cue, "remote status: no work with id %llu", (unsigned long long)id);
        return RC_ENOENT;
    }
    if (w->state != RC_RUNNING) {
        rc_cue_set_error(cue, "remote status: work %llu is not running", (unsigned long long)id);
        return RC_ESTATE;
    }
    char buf[RC_REMOTE_STATUS_MAX];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    char *copy = NULL;
    rc_work_cold *c = buf[0] || w->cold ? rc_work_cold_of(cue, w) : NULL;
    if (buf[0] && (!c || !(copy = rc_strdup(&cue->alloc, buf)))) {
        rc_cue_set_error(cue, "remote status: out of memory");
        return RC_ENOMEM;
    }
    if (!c) return 0;
    rc_free(&cue->alloc, c->remote_status);
    c->remote_status = copy;
    return 0;
}

int rc_debug_blocked(rc_cue *cue, rc_blocked **out, size_t *n)
{
    if (!cue || !out || !n) return RC_EINVAL;
    *out = NULL;
    *n = 0;
    size_t count = cue->stats.pending + cue->stats.running;
    if (!count) return 0;
    keyindex producers = {0};
    rc_blocked *list = rc_calloc(&cue->alloc, count, sizeof *list);
    if (!list || (cue->stats.waiting && index_producers(cue, &producers))) {
        rc_free(&cue->alloc, list);
        keyindex_free(cue, &producers);
        rc_cue_set_error(cue, "debug_blocked: out of memory for %zu items", count);
        return RC_ENOMEM;
    }
    size_t k = 0;
    const rc_work *w;
    RC_FOR_EACH_WORK(cue, w) {
        if (k >= count) break;
        if (w->state != RC_PENDING) continue;
        describe(cue, w, producers.slots ? &producers : NULL, &list[k++]);
    }
    RC_FOR_EACH_WORK(cue, w) {
        if (k >= count) break;
        if (w->state == RC_RUNNING && RC_COLD(w)->remote_status) describe_remote(w, &list[k++]);
    }
    keyindex_free(cue, &producers);
    if (!k) {
        rc_free(&cue->alloc, list);
        list = NULL;
    }
    *out = list;
    *n = k;
    return 0;
}

void rc_blocked_free(rc_cue *cue, rc_blocked *list)
{
    if (!cue) return;
    rc_free(&cue->alloc, list);
}

/* ---- the wait-for graph ---- */

#define NONE SIZE_MAX

/* What an edge leads to. */
enum { TO_NOTHING, TO_NODE, TO_MISSING, TO_ROOT, TO_HELD, N_KINDS };

typedef struct graph {
    rc_cue *cue;
    rc_diagnosis *d;
    keyindex producers;
    size_t edges_cap;
    const rc_work **prod; /* per edge: its producer, or NULL */
    size_t prod_cap;
    /* Nodes: the waiting items with at least one edge, in id order. */
    const rc_work **node;
    size_t n, node_cap;
    size_t *first; /* node i's edges: d->edges[first[i] .. first[i+1]) */
    size_t first_cap;
    /* Per edge: what it leads to, and which one (node index, or the index
     * among the missing keys, roots or held producers). */
    uint8_t *kind;
    size_t *to;
    /* The causes, in the order found. */
    const char **miss;
    const rc_work **root, **held;
    size_t n_miss, n_root, n_held, miss_cap, root_cap, held_cap;
    keyindex miss_index;             /* key -> index + 1 */
    rc_idmap root_index, held_index; /* id -> index + 1 */
    /* Strongly connected components: comp[i] for node i; the cyclic ones. */
    size_t *comp;
    size_t *cyc_members; /* node indexes, grouped by cycle */
    size_t *cyc_first;   /* n_cyc + 1 */
    size_t n_cyc, cyc_members_len, cyc_cap;
    /* Reverse graph edges (producer node -> waiter nodes), CSR. */
    size_t *rfirst, *rsrc;
} graph;

#define ALLOC_N(g, ptr, count)                                                                     \
    ((ptr) = rc_calloc(&(g)->cue->alloc, (count) ? (count) : 1, sizeof *(ptr)))

static int push_cause(graph *g, const void ***arr, size_t *len, size_t *cap, const void *v)
{
    if (rc_grow(&g->cue->alloc, (void **)arr, cap, *len + 1, sizeof **arr)) return RC_ENOMEM;
    (*arr)[(*len)++] = v;
    return 0;
}

/* The index of cause `v` (a key or a work) in its list, added if new. */
static int cause_index(graph *g, int kind, const char *key, const rc_work *p, size_t *out)
{
    rc_cue *cue = g->cue;
    if (kind == TO_MISSING) {
        uint64_t h;
        keyslot *s = keyindex_slot(&g->miss_index, key, &h);
        if (!s->hash) {
            if (push_cause(g, (const void ***)&g->miss, &g->n_miss, &g->miss_cap, key))
                return RC_ENOMEM;
            *s = (keyslot){h, key, (const void *)(uintptr_t)g->n_miss};
        }
        *out = (uintptr_t)s->val - 1;
        return 0;
    }
    rc_idmap *m = kind == TO_ROOT ? &g->root_index : &g->held_index;
    uintptr_t at = (uintptr_t)rc_idmap_get(m, p->id);
    if (!at) {
        const rc_work ***arr = kind == TO_ROOT ? &g->root : &g->held;
        size_t *len = kind == TO_ROOT ? &g->n_root : &g->n_held;
        size_t *cap = kind == TO_ROOT ? &g->root_cap : &g->held_cap;
        at = *len + 1;
        if (rc_idmap_put(&cue->alloc, m, p->id, (void *)at) ||
            push_cause(g, (const void ***)arr, len, cap, p))
            return RC_ENOMEM;
    }
    *out = at - 1;
    return 0;
}

static int add_edge(void *ud, const rc_work *w, const char *key)
{
    graph *g = ud;
    rc_diagnosis *d = g->d;
    if (rc_grow(&g->cue->alloc, (void **)&d->edges, &g->edges_cap, d->n_edges + 1,
                sizeof *d->edges) ||
        rc_grow(&g->cue->alloc, (void **)&g->prod, &g->prod_cap, d->n_edges + 1, sizeof *g->prod))
        return RC_ENOMEM;
    const rc_work *p = producer_of(&g->producers, key);
    g->prod[d->n_edges] = p;
    d->edges[d->n_edges++] =
        (rc_wait_edge){w->id, key, p ? p->id : 0, p ? p->state : RC_PENDING, p && p->skipped};
    return 0;
}

/* Every waiting item with an unmet need becomes a node, with an edge per
 * unmet need. */
static int collect_edges(graph *g)
{
    rc_cue *cue = g->cue;
    const rc_work *w;
    RC_FOR_EACH_WORK(cue, w) {
        if (w->where != RC_W_WAITING) continue;
        size_t before = g->d->n_edges;
        int rc = each_unmet_need(w, &g->producers, add_edge, g);
        if (rc) return rc;
        if (g->d->n_edges == before) continue;
        if (rc_grow(&cue->alloc, (void **)&g->node, &g->node_cap, g->n + 1, sizeof *g->node) ||
            rc_grow(&cue->alloc, (void **)&g->first, &g->first_cap, g->n + 2, sizeof *g->first))
            return RC_ENOMEM;
        g->first[g->n] = before;
        g->node[g->n++] = w;
    }
    if (!g->first && !(g->first = rc_calloc(&cue->alloc, 1, sizeof *g->first))) return RC_ENOMEM;
    g->first[g->n] = g->d->n_edges;
    g->d->n_waiting = g->n;
    return 0;
}

/* The node index of work id, or NONE (nodes are in id order). */
static size_t node_of(const graph *g, rc_work_id id)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->node[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n && g->node[lo]->id == id ? lo : NONE;
}

/* Say where each edge leads. */
static int classify_edges(graph *g)
{
    rc_diagnosis *d = g->d;
    size_t m = d->n_edges, n_missing = 0;
    for (size_t e = 0; e < m; e++)
        n_missing += !d->edges[e].producer;
    if (!ALLOC_N(g, g->kind, m) || !ALLOC_N(g, g->to, m) ||
        keyindex_init(&g->cue->alloc, &g->miss_index, n_missing))
        return RC_ENOMEM;
    for (size_t e = 0; e < m; e++) {
        const rc_wait_edge *x = &d->edges[e];
        const rc_work *p = g->prod[e];
        int kind = !x->producer                      ? TO_MISSING
                   : x->producer_state == RC_RUNNING ? TO_NOTHING
                   : x->producer_state != RC_PENDING ? TO_ROOT
                                                     : TO_HELD;
        g->to[e] = NONE;
        if (kind == TO_HELD && (g->to[e] = node_of(g, x->producer)) != NONE) kind = TO_NODE;
        g->kind[e] = (uint8_t)kind;
        if (kind >= TO_MISSING) {
            int rc = cause_index(g, kind, x->key, p, &g->to[e]);
            if (rc) return rc;
        }
    }
    return 0;
}

/* ---- cycles: Tarjan's strongly connected components, without recursion ---- */

static int add_component(graph *g, const size_t *members, size_t len)
{
    rc_cue *cue = g->cue;
    if (rc_grow(&cue->alloc, (void **)&g->cyc_first, &g->cyc_cap, g->n_cyc + 2,
                sizeof *g->cyc_first))
        return RC_ENOMEM;
    if (!g->cyc_members &&
        !(g->cyc_members = rc_malloc(&cue->alloc, (g->n ? g->n : 1) * sizeof *g->cyc_members)))
        return RC_ENOMEM;
    g->cyc_first[g->n_cyc] = g->cyc_members_len;
    memcpy(&g->cyc_members[g->cyc_members_len], members, len * sizeof *members);
    g->cyc_members_len += len;
    g->cyc_first[++g->n_cyc] = g->cyc_members_len;
    return 0;
}

static bool self_loop(const graph *g, size_t v)
{
    for (size_t e = g->first[v]; e < g->first[v + 1]; e++)
        if (g->kind[e] == TO_NODE && g->to[e] == v) return true;
    return false;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int find_cycles(graph *g)
{
    size_t n = g->n, counter = 0, sp = 0;
    size_t *index = NULL, *low = NULL, *cursor = NULL, *stack = NULL, *call = NULL;
    bool *on = NULL;
    int rc = RC_ENOMEM;
    if (!ALLOC_N(g, index, n) || !ALLOC_N(g, low, n) || !ALLOC_N(g, cursor, n) ||
        !ALLOC_N(g, stack, n) || !ALLOC_N(g, call, n) || !ALLOC_N(g, on, n) ||
        !ALLOC_N(g, g->comp, n))
        goto out;
    for (size_t v = 0; v < n; v++)
        index[v] = NONE;
    rc = 0;
    for (size_t r = 0; r < n && !rc; r++) {
        if (index[r] != NONE) continue;
        size_t depth = 0;
        call[depth++] = r;
        index[r] = low[r] = counter++;
        cursor[r] = g->first[r];
        stack[sp++] = r;
        on[r] = true;
        while (depth && !rc) {
            size_t v = call[depth - 1];
            if (cursor[v] < g->first[v + 1]) {
                size_t e = cursor[v]++;
                if (g->kind[e] != TO_NODE) continue;
                size_t t = g->to[e];
                if (index[t] == NONE) {
                    index[t] = low[t] = counter++;
                    cursor[t] = g->first[t];
                    stack[sp++] = t;
                    on[t] = true;
                    call[depth++] = t;
                } else if (on[t] && index[t] < low[v]) {
                    low[v] = index[t];
                }
                continue;
            }
            depth--;
            if (depth && low[v] < low[call[depth - 1]]) low[call[depth - 1]] = low[v];
            if (low[v] != index[v]) continue;
            size_t from = sp;
            do
                on[stack[--from]] = false;
            while (stack[from] != v);
            size_t len = sp - from;
            for (size_t k = from; k < sp; k++)
                g->comp[stack[k]] = g->n_cyc;
            if (len > 1 || self_loop(g, v)) {
                qsort(&stack[from], len, sizeof *stack, cmp_size);
                rc = add_component(g, &stack[from], len);
            } else {
                g->comp[v] = NONE;
            }
            sp = from;
        }
    }
out:
    rc_free(&g->cue->alloc, index);
    rc_free(&g->cue->alloc, low);
    rc_free(&g->cue->alloc, cursor);
    rc_free(&g->cue->alloc, stack);
    rc_free(&g->cue->alloc, call);
    rc_free(&g->cue->alloc, on);
    return rc;
}

/* A component in which every member waits on exactly one other member is a
 * ring: write it in the order of its edges, from its smallest id.  Else its
 * members stay in id order.  out gets node indexes. */
static bool ring_order(const graph *g, size_t c, size_t *out)
{
    const size_t *m = &g->cyc_members[g->cyc_first[c]];
    size_t len = g->cyc_first[c + 1] - g->cyc_first[c];
    size_t v = m[0];
    for (size_t k = 0; k < len; k++) {
        size_t next = NONE;
        for (size_t e = g->first[v]; e < g->first[v + 1]; e++) {
            if (g->kind[e] != TO_NODE || g->comp[g->to[e]] != c) continue;
            if (next != NONE && next != g->to[e]) return false;
            next = g->to[e];
        }
        out[k] = v;
        v = next;
    }
    return v == m[0];
}

/* ---- what each cause blocks ---- */

/* Reverse the graph edges once (CSR), so each count is a backward walk. */
static int reverse_edges(graph *g)
{
    size_t n = g->n, m = g->d->n_edges;
    if (!ALLOC_N(g, g->rfirst, n + 1) || !ALLOC_N(g, g->rsrc, m)) return RC_ENOMEM;
    for (size_t e = 0; e < m; e++)
        if (g->kind[e] == TO_NODE) g->rfirst[g->to[e] + 1]++;
    for (size_t v = 0; v < n; v++)
        g->rfirst[v + 1] += g->rfirst[v];
    size_t *fill = NULL;
    if (!ALLOC_N(g, fill, n)) return RC_ENOMEM;
    for (size_t v = 0; v < n; v++)
        for (size_t e = g->first[v]; e < g->first[v + 1]; e++)
            if (g->kind[e] == TO_NODE) g->rsrc[g->rfirst[g->to[e]] + fill[g->to[e]]++] = v;
    rc_free(&g->cue->alloc, fill);
    return 0;
}

typedef struct counter {
    const graph *g;
    size_t *stamp, *queue;
    size_t qlen, budget;
    bool partial;
} counter;

static void reach(counter *k, size_t mark, size_t v, size_t *count)
{
    if (k->stamp[v] == mark) return;
    k->stamp[v] = mark;
    k->queue[k->qlen++] = v;
    ++*count;
}

/* Waiting items whose chains reach the seeds (the seeds included). */
static size_t count_upstream(counter *k, size_t mark, const size_t *seeds, size_t n_seeds)
{
    const graph *g = k->g;
    size_t count = 0;
    k->qlen = 0;
    for (size_t i = 0; i < n_seeds; i++)
        reach(k, mark, seeds[i], &count);
    if (k->partial) return count;
    for (size_t h = 0; h < k->qlen; h++) {
        size_t v = k->queue[h];
        size_t deg = g->rfirst[v + 1] - g->rfirst[v];
        if (deg > k->budget) {
            k->partial = true;
            break;
        }
        k->budget -= deg;
        for (size_t r = g->rfirst[v]; r < g->rfirst[v + 1]; r++)
            reach(k, mark, g->rsrc[r], &count);
    }
    return count;
}

/* ---- filling the diagnosis ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A cause's work and where it was found, sorted by id without touching
 * the work (a million roots sort in cache). */
typedef struct id_at {
    rc_work_id id;
    size_t at;
} id_at;

static int cmp_id_at(const void *a, const void *b)
{
    rc_work_id x = ((const id_at *)a)->id, y = ((const id_at *)b)->id;
    return (x > y) - (x < y);
}

/* The direct waiters of every cause of one kind, grouped by cause (CSR),
 * each waiter once per cause. */
static int waiters_of(graph *g, int kind, size_t n_causes, size_t **first_out, size_t **src_out)
{
    const rc_alloc *a = &g->cue->alloc;
    size_t *first = NULL, *src = NULL, *seen = NULL, *pos = NULL;
    if (!ALLOC_N(g, first, n_causes + 1) || !ALLOC_N(g, src, g->d->n_edges) ||
        !ALLOC_N(g, seen, n_causes) || !ALLOC_N(g, pos, n_causes)) {
        rc_free(a, first);
        rc_free(a, src);
        rc_free(a, seen);
        return RC_ENOMEM;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t c = 0; c < n_causes; c++)
            seen[c] = NONE;
        for (size_t v = 0; v < g->n; v++)
            for (size_t e = g->first[v]; e < g->first[v + 1]; e++) {
                size_t c = g->to[e];
                if (g->kind[e] != kind || seen[c] == v) continue;
                seen[c] = v;
                if (pass == 0)
                    first[c + 1]++;
                else
                    src[pos[c]++] = v;
            }
        for (size_t c = 0; pass == 0 && c < n_causes; c++) {
            first[c + 1] += first[c];
            pos[c] = first[c];
        }
    }
    rc_free(a, seen);
    rc_free(a, pos);
    *first_out = first;
    *src_out = src;
    return 0;
}

static int fill_missing(graph *g, counter *k, size_t *mark)
{
    rc_diagnosis *d = g->d;
    size_t nm = g->n_miss;
    if (!nm) return 0;
    size_t *first = NULL, *src = NULL;
    int rc = waiters_of(g, TO_MISSING, nm, &first, &src);
    if (rc) return rc;
    const char **keys = NULL;
    rc_work_id *flat = NULL;
    rc = RC_ENOMEM;
    if (!ALLOC_N(g, keys, nm) || !ALLOC_N(g, d->missing_info, nm) || !ALLOC_N(g, flat, first[nm]))
        goto out;
    memcpy(keys, g->miss, nm * sizeof *keys);
    qsort(keys, nm, sizeof *keys, cmp_str);
    size_t at = 0;
    for (size_t i = 0; i < nm; i++) {
        size_t c = (uintptr_t)keyindex_get(&g->miss_index, keys[i]) - 1;
        rc_diag_missing *mi = &d->missing_info[i];
        mi->key = keys[i];
        mi->waiters = &flat[at];
        mi->n_waiters = first[c + 1] - first[c];
        for (size_t j = first[c]; j < first[c + 1]; j++)
            flat[at++] = g->node[src[j]]->id;
        mi->blocks = count_upstream(k, ++*mark, &src[first[c]], mi->n_waiters);
    }
    d->missing = keys;
    d->n_missing = nm;
    keys = NULL;
    flat = NULL;
    rc = 0;
out:
    rc_free(&g->cue->alloc, keys);
    rc_free(&g->cue->alloc, flat);
    rc_free(&g->cue->alloc, first);
    rc_free(&g->cue->alloc, src);
    return rc;
}

/* Roots or held producers: sorted by id, each with what it blocks. */
static int fill_producers(graph *g, counter *k, size_t *mark, int kind)
{
    rc_diagnosis *d = g->d;
    const rc_work **list = kind == TO_ROOT ? g->root : g->held;
    size_t np = kind == TO_ROOT ? g->n_root : g->n_held;
    if (!np) return 0;
    size_t *first = NULL, *src = NULL;
    int rc = waiters_of(g, kind, np, &first, &src);
    if (rc) return rc;
    id_at *sorted = NULL;
    rc = RC_ENOMEM;
    if (!ALLOC_N(g, sorted, np)) goto out;
    for (size_t i = 0; i < np; i++)
        sorted[i] = (id_at){list[i]->id, i};
    qsort(sorted, np, sizeof *sorted, cmp_id_at);
    if (kind == TO_HELD) {
        if (!ALLOC_N(g, d->held, np)) goto out;
    } else if (!ALLOC_N(g, d->roots, np) || !ALLOC_N(g, d->failed_roots, np)) {
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        size_t c = sorted[i].at;
        const rc_work *p = list[c];
        size_t blocks = count_upstream(k, ++*mark, &src[first[c]], first[c + 1] - first[c]);
        if (kind == TO_HELD) {
            d->held[i].blocks = blocks;
            describe(g->cue, p, &g->producers, &d->held[i].item);
            continue;
        }
        d->roots[i] =
            (rc_diag_root){p->id,    p->task->name, rc_work_label_text(p),
                           p->state, p->skipped,    p->state == RC_FAILED ? RC_COLD(p)->error : NULL,
                           blocks};
        if (p->state == RC_FAILED) d->failed_roots[d->n_failed_roots++] = p->id;
    }
    if (kind == TO_HELD)
        d->n_held = np;
    else
        d->n_roots = np;
    rc = 0;
out:
    rc_free(&g->cue->alloc, sorted);
    rc_free(&g->cue->alloc, first);
    rc_free(&g->cue->alloc, src);
    return rc;
}

static int fill_cycles(graph *g, counter *k, size_t *mark)
{
    rc_diagnosis *d = g->d;
    size_t nc = g->n_cyc;
    if (!nc) return 0;
    if (!ALLOC_N(g, d->cycles, nc) || !ALLOC_N(g, d->cycle_len, nc) ||
        !ALLOC_N(g, d->cycle_ring, nc) || !ALLOC_N(g, d->cycle_blocks, nc))
        return RC_ENOMEM;
    /* Components come out of Tarjan's walk in reverse topological order:
     * report them by their smallest id (members are sorted and nodes in id
     * order, so that is a component's first member). */
    size_t *ring = NULL;
    int rc = RC_ENOMEM;
    if (!ALLOC_N(g, ring, g->n)) goto out;
    size_t i = 0;
    for (size_t v = 0; v < g->n; v++) {
        size_t c = g->comp[v];
        if (c == NONE || g->cyc_members[g->cyc_first[c]] != v) continue;
        const size_t *m = &g->cyc_members[g->cyc_first[c]];
        size_t len = g->cyc_first[c + 1] - g->cyc_first[c];
        bool is_ring = ring_order(g, c, ring);
        const size_t *seq = is_ring ? ring : m;
        rc_work_id *ids = rc_malloc(&g->cue->alloc, len * sizeof *ids);
        if (!ids) goto out;
        for (size_t j = 0; j < len; j++)
            ids[j] = g->node[seq[j]]->id;
        d->cycles[i] = ids;
        d->cycle_len[i] = len;
        d->cycle_ring[i] = is_ring;
        d->cycle_blocks[i] = count_upstream(k, ++*mark, m, len) - len;
        d->n_cycles = ++i;
    }
    rc = 0;
out:
    rc_free(&g->cue->alloc, ring);
    return rc;
}

static void free_graph(graph *g)
{
    const rc_alloc *a = &g->cue->alloc;
    keyindex_free(g->cue, &g->producers);
    rc_free(a, g->miss_index.slots);
    rc_idmap_free(a, &g->root_index);
    rc_idmap_free(a, &g->held_index);
    void *arrays[] = {g->node, g->first, g->prod,        g->kind,      g->to,     g->miss, g->root,
                      g->held, g->comp,  g->cyc_members, g->cyc_first, g->rfirst, g->rsrc};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        rc_free(a, arrays[i]);
}

int rc_diagnose(rc_cue *cue, rc_diagnosis *out)
{
    if (!cue || !out) return RC_EINVAL;
    memset(out, 0, sizeof *out);
    graph g = {.cue = cue, .d = out};
    counter k = {.g = &g};
    size_t mark = 0;
    int rc = index_producers(cue, &g.producers);
    if (!rc) rc = collect_edges(&g);
    if (!rc) rc = classify_edges(&g);
    if (!rc) rc = find_cycles(&g);
    if (!rc) rc = reverse_edges(&g);
    if (!rc && (!ALLOC_N(&g, k.stamp, g.n) || !ALLOC_N(&g, k.queue, g.n))) rc = RC_ENOMEM;
    /* A few passes over the graph for all the counts together; past that
     * they are lower bounds (blocks_partial). */
    k.budget = 32 * (g.n + out->n_edges) + ((size_t)1 << 20);
    if (!rc) rc = fill_cycles(&g, &k, &mark);
    if (!rc) rc = fill_missing(&g, &k, &mark);
    if (!rc) rc = fill_producers(&g, &k, &mark, TO_ROOT);
    if (!rc) rc = fill_producers(&g, &k, &mark, TO_HELD);
    out->blocks_partial = k.partial;
    rc_free(&cue->alloc, k.stamp);
    rc_free(&cue->alloc, k.queue);
    free_graph(&g);
    if (rc) {
        rc_diagnosis_free(cue, out);
        rc_cue_set_error(cue, "diagnose: out of memory");
    }
    return rc;
}

void rc_diagnosis_free(rc_cue *cue, rc_diagnosis *d)
{
    if (!cue || !d) return;
    const rc_alloc *a = &cue->alloc;
    for (size_t i = 0; i < d->n_cycles; i++)
        rc_free(a, d->cycles[i]);
    if (d->missing_info && d->n_missing) rc_free(a, (void *)d->missing_info[0].waiters);
    void *arrays[] = {d->cycles,  d->cycle_len,    d->cycle_ring,   d->cycle_blocks, d->edges,
                      d->missing, d->missing_info, d->failed_roots, d->roots,        d->held};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        rc_free(a, arrays[i]);
    memset(d, 0, sizeof *d);
}
