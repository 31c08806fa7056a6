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

void rc_runq_free(const rc_alloc *a, rc_runq *q)
{
    rc_free(a, q->ring);
    rc_free(a, q->heap);
    memset(q, 0, sizeof *q);
}

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

static void heap_set(rc_runq *q, size_t i, rc_qentry e)
{
    q->heap[i] = e;
    e.node->pos = i;
}

static void sift_up(rc_runq *q, size_t i)
{
    rc_qentry e = q->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_before(&e, &q->heap[parent])) break;
        heap_set(q, i, q->heap[parent]);
        i = parent;
    }
    heap_set(q, i, e);
}

static void sift_down(rc_runq *q, size_t i)
{
    rc_qentry e = q->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        const rc_qentry *bestp = &e;
        if (l < q->heap_len && entry_before(&q->heap[l], bestp)) best = l, bestp = &q->heap[l];
        if (l + 1 < q->heap_len && entry_before(&q->heap[l + 1], bestp)) best = l + 1;
        if (best == i) break;
        heap_set(q, i, q->heap[best]);
        i = best;
    }
    heap_set(q, i, e);
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
    if (rc_grow(a, (void **)&q->heap, &q->heap_cap, q->heap_len + 1, sizeof *q->heap))
        return RC_ENOMEM;
    node->where = RC_Q_HEAP;
    q->heap[q->heap_len++] = e;
    sift_up(q, q->heap_len - 1);
    return 0;
}

static void heap_remove_at(rc_runq *q, size_t i)
{
    q->heap[i].node->where = RC_Q_NONE;
    q->heap_len--;
    if (i == q->heap_len) return;
    heap_set(q, i, q->heap[q->heap_len]);
    sift_down(q, i);
    sift_up(q, i);
}

rc_qnode *rc_runq_peek(rc_runq *q)
{
    if (q->run_live) skip_tombstones(q);
    const rc_qentry *run = q->run_live ? ring_at(q, q->head) : NULL;
    const rc_qentry *heap = q->heap_len ? &q->heap[0] : NULL;
    if (run && (!heap || entry_before(run, heap))) return run->node;
    return heap ? heap->node : NULL;
}

rc_qnode *rc_runq_pop(rc_runq *q)
{
    rc_qnode *n = rc_runq_peek(q);
    if (n) rc_runq_remove(q, n);
    return n;
}

void rc_runq_remove(rc_runq *q, rc_qnode *node)
{
    if (node->where == RC_Q_RUN) {
        ring_at(q, node->pos)->node = NULL;
        node->where = RC_Q_NONE;
        q->run_live--;
        if (node->pos == q->head) skip_tombstones(q);
        if (q->run_live == 0) q->head = q->tail = 0;
    } else if (node->where == RC_Q_HEAP) {
        heap_remove_at(q, (size_t)node->pos);
    }
}
