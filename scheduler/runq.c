#include "runq.h"

#include <string.h>

/* a comes before b: higher priority, then lower sequence. */
static bool before(double pa, uint64_t sa, double pb, uint64_t sb)
{
    if (pa != pb) return pa > pb;
    return sa < sb;
}

static bool entry_before(const rc_qentry *a, const rc_qentry *b)
{
    return before(a->prio, a->seq, b->prio, b->seq);
}

static void gone_free(const rc_alloc *a, rc_qgone *g)
{
    rc_free(a, g->seqs);
    memset(g, 0, sizeof *g);
}

void rc_runq_free(const rc_alloc *a, rc_runq *q)
{
    rc_free(a, q->ring);
    rc_free(a, q->heap);
    gone_free(a, &q->gone);
    memset(q, 0, sizeof *q);
}

/* ---- the set of removed heap entries ---- */

static size_t gone_home(const rc_qgone *g, uint64_t seq)
{
    seq *= UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(seq >> 32) & (g->cap - 1);
}

static bool gone_has(const rc_qgone *g, uint64_t seq)
{
    if (!g->n) return false;
    for (size_t i = gone_home(g, seq);; i = (i + 1) & (g->cap - 1)) {
        if (!g->used[i]) return false;
        if (g->seqs[i] == seq) return true;
    }
}

static void gone_put(rc_qgone *g, uint64_t seq)
{
    size_t i = gone_home(g, seq);
    while (g->used[i]) {
        if (g->seqs[i] == seq) return;
        i = (i + 1) & (g->cap - 1);
    }
    g->used[i] = 1;
    g->seqs[i] = seq;
    g->n++;
}

/* Add seq (at most half full).  0 or RC_ENOMEM (the set as it was). */
static int gone_add(const rc_alloc *a, rc_qgone *g, uint64_t seq)
{
    if ((g->n + 1) * 2 > g->cap) {
        const size_t ncap = g->cap ? g->cap * 2 : 16;
        if (ncap > SIZE_MAX / (sizeof *g->seqs + 1)) return RC_ENOMEM;
        uint64_t *seqs = rc_malloc(a, ncap * (sizeof *seqs + 1));
        if (!seqs) return RC_ENOMEM;
        rc_qgone old = *g;
        g->seqs = seqs;
        g->used = (uint8_t *)(seqs + ncap);
        memset(g->used, 0, ncap);
        g->cap = ncap;
        g->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.used[i]) gone_put(g, old.seqs[i]);
        rc_free(a, old.seqs);
    }
    gone_put(g, seq);
    return 0;
}

static void gone_clear(rc_qgone *g)
{
    if (g->n) memset(g->used, 0, g->cap);
    g->n = 0;
}

/* ---- the run ---- */

static rc_qentry *ring_at(const rc_runq *q, uint64_t pos)
{
    return &q->ring[pos & (q->ring_cap - 1)];
}

static int ring_grow(const rc_alloc *a, rc_runq *q)
{
    size_t ncap = q->ring_cap ? q->ring_cap * 2 : 64;
    rc_qentry *nr = rc_malloc(a, ncap * sizeof *nr);
    if (!nr) return RC_ENOMEM;
    rc_advise_huge(nr, ncap * sizeof *nr);
    /* Absolute positions stay valid: re-place each entry under the new mask. */
    for (uint64_t p = q->head; p < q->tail; p++) nr[p & (ncap - 1)] = *ring_at(q, p);
    rc_free(a, q->ring);
    q->ring = nr;
    q->ring_cap = ncap;
    return 0;
}

static void skip_tombstones(rc_runq *q)
{
    while (q->head < q->tail && ring_at(q, q->head)->node == NULL) q->head++;
    if (q->head == q->tail) q->head = q->tail = 0;
}

/* ---- the heap: entries move, the items they name are not written ---- */

static void sift_up(rc_runq *q, size_t i)
{
    rc_qentry e = q->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_before(&e, &q->heap[parent])) break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = e;
}

static void sift_down(rc_runq *q, size_t i)
{
    rc_qentry e = q->heap[i];
    const size_t n = q->heap_len;
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        const rc_qentry *bestp = &e;
        if (l < n && entry_before(&q->heap[l], bestp)) best = l, bestp = &q->heap[l];
        if (l + 1 < n && entry_before(&q->heap[l + 1], bestp)) best = l + 1;
        if (best == i) break;
        q->heap[i] = q->heap[best];
        i = best;
    }
    q->heap[i] = e;
}

/* Take out the entry at i (its item is no longer told). */
static void heap_take(rc_runq *q, size_t i)
{
    q->heap_len--;
    if (i == q->heap_len) return;
    q->heap[i] = q->heap[q->heap_len];
    sift_down(q, i);
    sift_up(q, i);
}

/* Rebuild the heap without the removed items' entries; the set empties. */
static void heap_compact(rc_runq *q)
{
    size_t n = 0;
    for (size_t i = 0; i < q->heap_len; i++)
        if (!gone_has(&q->gone, q->heap[i].seq)) q->heap[n++] = q->heap[i];
    q->heap_len = n;
    q->heap_gone = 0;
    gone_clear(&q->gone);
    for (size_t i = n / 2; i-- > 0;) sift_down(q, i);
}

/* Drop removed items' entries from the top, so that the top is live. */
static void heap_settle(rc_runq *q)
{
    while (q->heap_gone && q->heap_len && gone_has(&q->gone, q->heap[0].seq)) {
        q->heap_gone--;
        heap_take(q, 0);
        /* Their seqs stay in the set until it is cleared: the set is asked
         * only while some removed entry is still in the heap. */
        if (!q->heap_gone) gone_clear(&q->gone);
    }
}

int rc_runq_push(const rc_alloc *a, rc_runq *q, rc_qnode *node, double prio, uint64_t seq)
{
    rc_qentry e = {prio, seq, node};
    bool in_order = q->run_live == 0 || !before(prio, seq, q->last_prio, q->last_seq);
    if (in_order) {
        if (q->run_live == 0) q->head = q->tail = 0;
        if (q->tail - q->head == q->ring_cap && ring_grow(a, q)) return RC_ENOMEM;
        *ring_at(q, q->tail) = e;
        node->where = RC_Q_RUN;
        node->pos = q->tail++;
        q->run_live++;
        q->last_prio = prio;
        q->last_seq = seq;
        return 0;
    }
    /* An item removed from the heap may come back before its old entry is
     * dropped: the old one must not be taken for it.  A rebuild, O(n): in
     * the core a queued work that is removed leaves the queue for good (a
     * cancel, a timeout), so a caller that removes and re-queues the same
     * items over and over is the one that pays it. */
    if (q->gone.n && gone_has(&q->gone, seq)) heap_compact(q);
    if (rc_grow(a, (void **)&q->heap, &q->heap_cap, q->heap_len + 1, sizeof *q->heap))
        return RC_ENOMEM;
    node->where = RC_Q_HEAP;
    node->pos = seq;
    q->heap[q->heap_len++] = e;
    sift_up(q, q->heap_len - 1);
    return 0;
}

rc_qnode *rc_runq_peek(rc_runq *q)
{
    if (q->run_live) skip_tombstones(q);
    if (q->heap_gone) heap_settle(q);
    const rc_qentry *run = q->run_live ? ring_at(q, q->head) : NULL;
    const rc_qentry *heap = q->heap_len ? &q->heap[0] : NULL;
    if (run && (!heap || entry_before(run, heap))) return run->node;
    return heap ? heap->node : NULL;
}

rc_qnode *rc_runq_pop(rc_runq *q)
{
    if (q->run_live) skip_tombstones(q);
    if (q->heap_gone) heap_settle(q);
    const rc_qentry *run = q->run_live ? ring_at(q, q->head) : NULL;
    const rc_qentry *heap = q->heap_len ? &q->heap[0] : NULL;
    if (run && (!heap || entry_before(run, heap))) {
        rc_qnode *n = run->node;
        ring_at(q, q->head)->node = NULL;
        n->where = RC_Q_NONE;
        q->run_live--;
        skip_tombstones(q);
        if (q->run_live == 0) q->head = q->tail = 0;
        return n;
    }
    if (!heap) return NULL;
    rc_qnode *n = heap->node;
    n->where = RC_Q_NONE;
    heap_take(q, 0);
    return n;
}

void rc_runq_remove(const rc_alloc *a, rc_runq *q, rc_qnode *node)
{
    if (node->where == RC_Q_RUN) {
        ring_at(q, node->pos)->node = NULL;
        node->where = RC_Q_NONE;
        q->run_live--;
        if (node->pos == q->head) skip_tombstones(q);
        if (q->run_live == 0) q->head = q->tail = 0;
        return;
    }
    if (node->where != RC_Q_HEAP) return;
    const uint64_t seq = node->pos;
    node->where = RC_Q_NONE;
    if (gone_add(a, &q->gone, seq) == 0) {
        q->heap_gone++;
        /* More removed than live, or a set (which keeps the seqs of entries
         * already dropped while others wait) larger than the heap: rebuild
         * without them, so that the heap and the set stay within about
         * twice what is queued. */
        if (q->gone.n >= 64 && (q->heap_gone * 2 > q->heap_len || q->gone.n > q->heap_len))
            heap_compact(q);
        return;
    }
    /* No memory for the set: find the entry. */
    for (size_t i = 0; i < q->heap_len; i++) {
        if (q->heap[i].seq == seq && !gone_has(&q->gone, seq)) {
            heap_take(q, i);
            return;
        }
    }
}
