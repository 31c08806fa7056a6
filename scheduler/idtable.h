/* idtable.h -- work ids to pointers, for ids handed out in sequence.
 *
 * A directory of pages of 4096 slots: lookup is two array reads, ids
 * submitted together sit together in memory, and a page is freed as soon as
 * its last id is forgotten, so a long-running cue holds pages only for the
 * window of ids still alive (plus 12 bytes of directory per 4096 ids). */
#ifndef RC_IDTABLE_H
#define RC_IDTABLE_H

#include <stdint.h>

#include "alloc.h"

#define RC_IDTABLE_PAGE_BITS 12

typedef struct rc_idtable {
    void ***pages;   /* pages[id >> bits], NULL when no id of that page is live */
    uint32_t *live;  /* live entries per page */
    size_t n_pages;  /* directory length */
    size_t pages_cap, live_cap;
    /* One page whose ids all went, kept (all NULL) for the next page that
     * is needed: work that comes and goes at a page's edge -- a few works
     * submitted, finished and forgotten, then a few more -- would otherwise
     * free and zero a whole page each time. */
    void **spare;
} rc_idtable;

void rc_idtable_free(const rc_alloc *a, rc_idtable *t);
void *rc_idtable_get(const rc_idtable *t, uint64_t id);
/* 0 or RC_ENOMEM (nothing changed). */
int rc_idtable_put(const rc_alloc *a, rc_idtable *t, uint64_t id, void *val);
void rc_idtable_del(const rc_alloc *a, rc_idtable *t, uint64_t id);
/* The live entry with the smallest id >= *id, its id stored in *id; NULL when
 * there is none.  Walks ids in order: iterate with ++id after each entry. */
void *rc_idtable_next(const rc_idtable *t, uint64_t *id);

#endif
