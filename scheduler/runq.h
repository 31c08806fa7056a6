/* runq.h -- the ready queue of one service: highest priority first, then
 * first submitted first.
 *
 * Work almost always arrives in order (FIFO without a priority callback, or
 * equal priorities), so the queue is a sorted run -- a ring that only ever
 * appends -- plus a binary heap for the entries that arrive out of order
 * (older work coming back from a wait, or a higher priority).  Pop takes the
 * better of the two heads: O(1) for in-order arrivals, O(log n) otherwise.
 *
 * Removal (cancel, a timeout) is O(1) in the run (a tombstone) and lazy in
 * the heap: the entry's sequence number goes into a set of removed ones,
 * and the entry is dropped when it comes to the top (or when the heap is
 * rebuilt without them, once there are as many removed as live).  So the
 * heap never writes into the queued items: a pop of a heap of a million
 * moves some twenty entries, and writing each one's new place into its work
 * record cost a miss to memory apiece.  A sequence number is unique among
 * the queued items (the work's id).
 */
#ifndef RC_RUNQ_H
#define RC_RUNQ_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"

/* Embedded in each queued item: where its entry lives. */
typedef struct rc_qnode {
    uint8_t where; /* RC_Q_NONE, RC_Q_RUN, RC_Q_HEAP */
    uint64_t pos;  /* absolute ring position (RUN), or its sequence (HEAP) */
} rc_qnode;

enum { RC_Q_NONE = 0, RC_Q_RUN = 1, RC_Q_HEAP = 2 };

typedef struct rc_qentry {
    double prio;
    uint64_t seq;
    rc_qnode *node; /* NULL: tombstone (in the ring) */
} rc_qentry;

/* The sequence numbers of items removed while in the heap (open
 * addressing; used[i] says whether seqs[i] is one). */
typedef struct rc_qgone {
    uint64_t *seqs;
    uint8_t *used;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} rc_qgone;

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
    size_t heap_gone; /* entries in the heap whose item was removed */
    rc_qgone gone;    /* their sequence numbers (and some already dropped) */
} rc_runq;

void rc_runq_free(const rc_alloc *a, rc_runq *q);
int rc_runq_push(const rc_alloc *a, rc_runq *q, rc_qnode *node, double prio, uint64_t seq);
/* Remove and return the best entry's node, or NULL if empty. */
rc_qnode *rc_runq_pop(rc_runq *q);
/* The best entry's node without removing it, or NULL. */
rc_qnode *rc_runq_peek(rc_runq *q);
/* Take node out of the queue (it is in it).  a: for the set of removed
 * heap entries; without memory for it the entry is found and taken out at
 * once, in time linear in the heap. */
void rc_runq_remove(const rc_alloc *a, rc_runq *q, rc_qnode *node);
static inline size_t rc_runq_len(const rc_runq *q)
{
    return q->run_live + q->heap_len - q->heap_gone;
}

#endif
