/* idmap.h -- open-addressing hash map from nonzero 64-bit ids to pointers.
 * Linear probing with backward-shift deletion: no tombstones, so lookups stay
 * short however many ids come and go. */
#ifndef RC_IDMAP_H
#define RC_IDMAP_H

#include <stdint.h>

#include "alloc.h"

typedef struct rc_idmap {
    uint64_t *keys; /* 0 = empty slot */
    void **vals;
    size_t cap;     /* power of two, or 0 */
    size_t count;
} rc_idmap;

void rc_idmap_free(const rc_alloc *a, rc_idmap *m);
void *rc_idmap_get(const rc_idmap *m, uint64_t key);
/* Insert or replace.  0 or RC_ENOMEM. */
int rc_idmap_put(const rc_alloc *a, rc_idmap *m, uint64_t key, void *val);
/* Remove; returns the value removed or NULL. */
void *rc_idmap_del(rc_idmap *m, uint64_t key);
/* Visit every entry, in no particular order (for freeing, never for what is
 * printed). */
void rc_idmap_each(const rc_idmap *m, void (*fn)(void *ud, uint64_t key, void *val), void *ud);

#endif
