/* dlist.h -- an intrusive, circular, doubly-linked list. */
#ifndef RC_DLIST_H
#define RC_DLIST_H

#include <stddef.h>

typedef struct rc_dnode {
    struct rc_dnode *prev, *next;
} rc_dnode;

typedef struct rc_dlist {
    rc_dnode head;
    size_t len;
} rc_dlist;

static inline void rc_dlist_init(rc_dlist *l)
{
    l->head.prev = l->head.next = &l->head;
    l->len = 0;
}
static inline void rc_dlist_push_back(rc_dlist *l, rc_dnode *n)
{
    n->prev = l->head.prev;
    n->next = &l->head;
    l->head.prev->next = n;
    l->head.prev = n;
    l->len++;
}
static inline void rc_dlist_remove(rc_dlist *l, rc_dnode *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    l->len--;
}
static inline rc_dnode *rc_dlist_first(const rc_dlist *l)
{
    return l->head.next == &l->head ? NULL : l->head.next;
}
static inline rc_dnode *rc_dlist_next(const rc_dlist *l, const rc_dnode *n)
{
    return n->next == &l->head ? NULL : n->next;
}
/* Move every node of src to the back of dst. */
static inline void rc_dlist_splice(rc_dlist *dst, rc_dlist *src)
{
    if (!src->len) return;
    rc_dnode *first = src->head.next, *last = src->head.prev;
    first->prev = dst->head.prev;
    dst->head.prev->next = first;
    last->next = &dst->head;
    dst->head.prev = last;
    dst->len += src->len;
    rc_dlist_init(src);
}

/* The same ring of nodes held by one pointer, with no head node and no
 * count: for lists kept by the million (a key's waiters), where 8 bytes
 * matter more than an O(1) length.  first is NULL when empty, and
 * first->prev is the last node. */
typedef struct rc_ring {
    rc_dnode *first;
} rc_ring;

static inline void rc_ring_push_back(rc_ring *r, rc_dnode *n)
{
    rc_dnode *f = r->first;
    if (!f) {
        n->prev = n->next = n;
        r->first = n;
        return;
    }
    n->prev = f->prev;
    n->next = f;
    f->prev->next = n;
    f->prev = n;
}
static inline void rc_ring_remove(rc_ring *r, rc_dnode *n)
{
    if (n->next == n) {
        r->first = NULL;
    } else {
        n->prev->next = n->next;
        n->next->prev = n->prev;
        if (r->first == n) r->first = n->next;
    }
    n->prev = n->next = NULL;
}
/* More than one node. */
static inline int rc_ring_many(const rc_ring *r)
{
    return r->first && r->first->next != r->first;
}

#endif
