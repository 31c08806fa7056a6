/* runq.h -- the ready queue of one service: highest priority first, then
 * first submitted first.
 *
 * Work almost always arrives in order (FIFO without a priority callback, or
 * equal priorities), so the queue is a sorted run -- a ring that only ever
 * appends -- plus a binary heap for the few entries that arrive out of order
 * (older work coming back from a wait, or a higher priority).  Pop takes the
 * better of the two heads: O(1) for in-order arrivals, O(log n) otherwise.
 * Removal (cancel) is O(1) in the run (a tombstone) and O(log n) in the heap.
 */
#ifndef RC_RUNQ_H
#define RC_RUNQ_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"

/* Embedded in each queued item: where its entry lives. */
typedef struct rc_qnode {
    uint8_t where; /* RC_Q_NONE, RC_Q_RUN, RC_Q_HEAP */
    uint64_t pos;  /* absolute ring position, or heap index */
} rc_qnode;

enum { RC_Q_NONE = 0, RC_Q_RUN = 1, RC_Q_HEAP = 2 };

typedef struct rc_qentry {
    double prio;
    uint64_t seq;
    rc_qnode *node; /* NULL: tombstone */
} rc_qentry;

typedef struct rc_runq {
    rc_qentry *ring;
    size_t ring_cap;  /* power of two */
    uint64_t head;    /* absolute position of the first entry */
    uint64_t tail;    /* absolute position one past the last */
    size_t run_live;  /* entries in the ring that are not tombstones */
    double last_prio; /* key of the last append, for the order check */
    uint64_t last_seq;
    rc_qentry *heap;
    size_t heap_len, heap_cap;
} rc_runq;

void rc_runq_free(const rc_alloc *a, rc_runq *q);
int rc_runq_push(const rc_alloc *a, rc_runq *q, rc_qnode *node, double prio, uint64_t seq);
/* Remove and return the best entry's node, or NULL if empty. */
rc_qnode *rc_runq_pop(rc_runq *q);
/* The best entry's node without removing it, or NULL. */
rc_qnode *rc_runq_peek(rc_runq *q);
void rc_runq_remove(rc_runq *q, rc_qnode *node);
static inline size_t rc_runq_len(const rc_runq *q)
{
    return q->run_live + q->heap_len;
}

#endif
