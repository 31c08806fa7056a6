/* diagnose.c -- why pending work waits.
 *
 * rc_debug_blocked answers per item from what the scheduler already knows
 * (the last check's answer, the service's limits); it calls no user code.
 * rc_diagnose builds the wait-for graph from declared needs/produces: each
 * waiting item points at the work that would produce what it waits on, which
 * names missing producers, failed roots and cycles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe.h"

static void describe(const rc_cue *cue, const rc_work *w, rc_blocked *b)
{
    const rc_svc *s = w->task->svc;
    rc_time now = rc_loop_now(cue->loop);
    b->wait_key = NULL;
    switch (w->where) {
    case RC_W_WAITING: {
        b->reason = RC_BLOCK_NOT_READY;
        b->wait_key = w->bucket ? w->bucket->key : NULL;
        if (w->detail)
            snprintf(b->detail, sizeof b->detail, "%s", w->detail);
        else if (b->wait_key)
            snprintf(b->detail, sizeof b->detail, "is_ready returned false; waiting on '%s'",
                     b->wait_key);
        else {
            char *params = cJSON_PrintUnformatted(w->params);
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
                 rc_ns_to_s(w->not_before));
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

int rc_debug_blocked(rc_cue *cue, rc_blocked **out, size_t *n)
{
    if (!cue || !out || !n) return RC_EINVAL;
    *out = NULL;
    *n = 0;
    size_t count = cue->stats.pending;
    if (!count) return 0;
    rc_blocked *list = rc_calloc(&cue->alloc, count, sizeof *list);
    if (!list) {
        rc_cue_set_error(cue, "debug_blocked: out of memory for %zu items", count);
        return RC_ENOMEM;
    }
    size_t k = 0;
    for (rc_dnode *d = rc_dlist_first(&cue->all); d && k < count; d = rc_dlist_next(&cue->all, d)) {
        const rc_work *w = RC_CONTAINER(d, rc_work, all);
        if (w->state != RC_PENDING) continue;
        rc_blocked *b = &list[k++];
        b->id = w->id;
        b->task = w->task->name;
        b->service = w->task->svc->name;
        b->label = w->label;
        b->since = w->pending_since;
        describe(cue, w, b);
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

/* Who produces what: built when a diagnosis is asked for, since only a
 * diagnosis needs it (keeping it up to date would cost every submit). */
typedef struct rc_prodlist {
    const rc_work **items; /* in id order */
    size_t len, cap;
} rc_prodlist;

static void free_prodlist(const char *key, void *val, void *ud)
{
    (void)key;
    rc_prodlist *pl = val;
    rc_free(ud, pl->items);
    rc_free(ud, pl);
}

static int index_producers(rc_cue *cue, rc_strmap *idx)
{
    for (rc_dnode *n = rc_dlist_first(&cue->all); n; n = rc_dlist_next(&cue->all, n)) {
        const rc_work *w = RC_CONTAINER(n, rc_work, all);
        for (size_t i = 0; i < w->n_produces; i++) {
            rc_prodlist *pl = rc_strmap_get(idx, w->produces[i]);
            if (!pl) {
                if (!(pl = rc_calloc(&cue->alloc, 1, sizeof *pl))) return RC_ENOMEM;
                if (rc_strmap_put(&cue->alloc, idx, w->produces[i], pl, NULL)) {
                    rc_free(&cue->alloc, pl);
                    return RC_ENOMEM;
                }
            }
            if (rc_grow(&cue->alloc, (void **)&pl->items, &pl->cap, pl->len + 1,
                        sizeof *pl->items))
                return RC_ENOMEM;
            pl->items[pl->len++] = w;
        }
    }
    return 0;
}

/* The work that would produce `key`: the newest pending or running
 * producer, else the newest failed one, else none. */
static const rc_work *producer_of(const rc_strmap *idx, const char *key)
{
    const rc_prodlist *pl = rc_strmap_get(idx, key);
    if (!pl) return NULL;
    const rc_work *failed = NULL;
    for (size_t i = pl->len; i-- > 0;) {
        const rc_work *p = pl->items[i];
        if (p->state == RC_PENDING || p->state == RC_RUNNING) return p;
        if (p->state == RC_FAILED && !failed) failed = p;
    }
    return failed;
}

typedef struct graph {
    rc_cue *cue;
    rc_diagnosis *d;
    size_t edges_cap, cycles_cap, missing_cap, roots_cap;
    rc_idmap first_edge; /* waiter id -> (index of its first edge + 1) */
    rc_idmap color;      /* id -> 1 on the DFS stack, 2 done */
    rc_idmap seen_root;
    rc_work_id *stack;
    size_t stack_len, stack_cap;
} graph;

static int add_edge(graph *g, rc_work_id waiter, const char *key, const rc_work *p)
{
    rc_diagnosis *d = g->d;
    if (rc_grow(&g->cue->alloc, (void **)&d->edges, &g->edges_cap, d->n_edges + 1,
                sizeof *d->edges))
        return RC_ENOMEM;
    d->edges[d->n_edges++] = (rc_wait_edge){waiter, key, p ? p->id : 0,
                                            p ? p->state : RC_PENDING};
    return 0;
}

static int add_missing(graph *g, const char *key)
{
    rc_diagnosis *d = g->d;
    for (size_t i = 0; i < d->n_missing; i++)
        if (strcmp(d->missing[i], key) == 0) return 0;
    if (rc_grow(&g->cue->alloc, (void **)&d->missing, &g->missing_cap, d->n_missing + 1,
                sizeof *d->missing))
        return RC_ENOMEM;
    d->missing[d->n_missing++] = key;
    return 0;
}

static int add_root(graph *g, rc_work_id id)
{
    if (rc_idmap_get(&g->seen_root, id)) return 0;
    rc_diagnosis *d = g->d;
    if (rc_idmap_put(&g->cue->alloc, &g->seen_root, id, (void *)1) ||
        rc_grow(&g->cue->alloc, (void **)&d->failed_roots, &g->roots_cap, d->n_failed_roots + 1,
                sizeof *d->failed_roots))
        return RC_ENOMEM;
    d->failed_roots[d->n_failed_roots++] = id;
    return 0;
}

static int add_cycle(graph *g, size_t from)
{
    rc_diagnosis *d = g->d;
    size_t len = g->stack_len - from;
    rc_work_id *ids = rc_malloc(&g->cue->alloc, len * sizeof *ids);
    if (!ids) return RC_ENOMEM;
    memcpy(ids, &g->stack[from], len * sizeof *ids);
    size_t cap = g->cycles_cap;
    if (rc_grow(&g->cue->alloc, (void **)&d->cycles, &g->cycles_cap, d->n_cycles + 1,
                sizeof *d->cycles) ||
        (g->cycles_cap != cap &&
         !(d->cycle_len = rc_realloc(&g->cue->alloc, d->cycle_len,
                                     g->cycles_cap * sizeof *d->cycle_len)))) {
        rc_free(&g->cue->alloc, ids);
        return RC_ENOMEM;
    }
    d->cycles[d->n_cycles] = ids;
    d->cycle_len[d->n_cycles++] = len;
    return 0;
}

/* Depth-first from `id` along waiter -> producer edges.  A producer on the
 * stack closes a cycle; a failed producer is a root cause. */
static int visit(graph *g, rc_work_id id)
{
    rc_idmap_put(&g->cue->alloc, &g->color, id, (void *)1);
    if (rc_grow(&g->cue->alloc, (void **)&g->stack, &g->stack_cap, g->stack_len + 1,
                sizeof *g->stack))
        return RC_ENOMEM;
    g->stack[g->stack_len++] = id;
    size_t first = (size_t)(uintptr_t)rc_idmap_get(&g->first_edge, id);
    int rc = 0;
    for (size_t i = first ? first - 1 : g->d->n_edges; i < g->d->n_edges && !rc; i++) {
        const rc_wait_edge *e = &g->d->edges[i];
        if (e->waiter != id) break;
        if (!e->producer) continue;
        if (e->producer_state == RC_FAILED) {
            rc = add_root(g, e->producer);
            continue;
        }
        uintptr_t c = (uintptr_t)rc_idmap_get(&g->color, e->producer);
        if (c == 1) {
            for (size_t k = 0; k < g->stack_len; k++)
                if (g->stack[k] == e->producer) rc = add_cycle(g, k);
        } else if (c == 0 && rc_idmap_get(&g->first_edge, e->producer)) {
            rc = visit(g, e->producer);
        }
    }
    g->stack_len--;
    rc_idmap_put(&g->cue->alloc, &g->color, id, (void *)2);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rc_diagnose(rc_cue *cue, rc_diagnosis *out)
{
    if (!cue || !out) return RC_EINVAL;
    memset(out, 0, sizeof *out);
    graph g = {.cue = cue, .d = out};
    rc_strmap producers = {0};
    int rc = index_producers(cue, &producers);
    for (rc_dnode *n = rc_dlist_first(&cue->all); n && !rc; n = rc_dlist_next(&cue->all, n)) {
        const rc_work *w = RC_CONTAINER(n, rc_work, all);
        if (w->where != RC_W_WAITING) continue;
        const char *one = w->bucket ? w->bucket->key : NULL;
        const char *const *keys = one ? &one : (const char *const *)w->needs;
        size_t nkeys = one ? 1 : w->n_needs;
        if (!nkeys) continue;
        rc = rc_idmap_put(&cue->alloc, &g.first_edge, w->id, (void *)(uintptr_t)(out->n_edges + 1));
        for (size_t i = 0; i < nkeys && !rc; i++) {
            const rc_work *p = producer_of(&producers, keys[i]);
            rc = add_edge(&g, w->id, keys[i], p);
            if (!rc && !p) rc = add_missing(&g, keys[i]);
        }
    }
    /* Walk from every waiter in id order (edges are grouped by waiter). */
    for (size_t i = 0; i < out->n_edges && !rc; i++) {
        rc_work_id id = out->edges[i].waiter;
        if (!rc_idmap_get(&g.color, id)) rc = visit(&g, id);
    }
    if (!rc) {
        if (out->n_missing > 1) qsort(out->missing, out->n_missing, sizeof *out->missing, cmp_str);
        for (size_t i = 1; i < out->n_failed_roots; i++) {
            rc_work_id v = out->failed_roots[i];
            size_t j = i;
            for (; j > 0 && out->failed_roots[j - 1] > v; j--)
                out->failed_roots[j] = out->failed_roots[j - 1];
            out->failed_roots[j] = v;
        }
    }
    rc_strmap_each(&producers, free_prodlist, &cue->alloc);
    rc_strmap_free(&cue->alloc, &producers);
    rc_idmap_free(&cue->alloc, &g.first_edge);
    rc_idmap_free(&cue->alloc, &g.color);
    rc_idmap_free(&cue->alloc, &g.seen_root);
    rc_free(&cue->alloc, g.stack);
    if (rc) {
        rc_diagnosis_free(cue, out);
        rc_cue_set_error(cue, "diagnose: out of memory");
    }
    return rc;
}

void rc_diagnosis_free(rc_cue *cue, rc_diagnosis *d)
{
    if (!cue || !d) return;
    for (size_t i = 0; i < d->n_cycles; i++) rc_free(&cue->alloc, d->cycles[i]);
    rc_free(&cue->alloc, d->cycles);
    rc_free(&cue->alloc, d->cycle_len);
    rc_free(&cue->alloc, d->edges);
    rc_free(&cue->alloc, d->missing);
    rc_free(&cue->alloc, d->failed_roots);
    memset(d, 0, sizeof *d);
}
