/* small.h -- a cue's small objects (key entries, needs blocks, labels) come
 * from slabs in size classes of 8 bytes, with a free list per class: one
 * allocation per 64 KiB rather than per object, memory reused as work comes
 * and goes, and teardown frees the slabs, not millions of objects.  Larger
 * requests go to the allocator.  The caller gives the size again on free.
 * Under AddressSanitizer free objects are poisoned, so a use after free is
 * still caught. */
#ifndef RC_SMALL_H
#define RC_SMALL_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"

enum { RC_SMALL_MAX = 256, RC_SMALL_CLASSES = RC_SMALL_MAX / 8 };

typedef struct rc_small_slab {
    void *mem; /* from the allocator, freed by rc_small_fini */
    size_t bytes;
} rc_small_slab;

typedef struct rc_small {
    void *free[RC_SMALL_CLASSES]; /* per class, linked through the first word */
    char *bump, *bump_end;        /* the rest of the newest slab */
    char *spare, *spare_end;      /* a given block (rc_small_give), used next */
    rc_small_slab *slabs;
    size_t n_slabs, slabs_cap;
} rc_small;

/* n bytes (aligned to 8: what the cue keeps there holds nothing wider than
 * a pointer or a uint64_t), or NULL when out of memory. */
void *rc_small_alloc(rc_small *s, const rc_alloc *a, size_t n);
/* Give back p, allocated with the same n.  NULL is ignored. */
void rc_small_free(rc_small *s, const rc_alloc *a, void *p, size_t n);
/* Offer mem (bytes long, from the allocator, pages already touched) as the
 * next slab: objects are carved from it once the current slab is full, so
 * they take memory the process has rather than new pages.  Taken (true: it
 * is freed with the slabs) only when no given block is waiting yet, so at
 * most one idle block is held; false: the caller keeps it. */
bool rc_small_give(rc_small *s, const rc_alloc *a, void *mem, size_t bytes);
/* Free every slab (and so every small object still held). */
void rc_small_fini(rc_small *s, const rc_alloc *a);

#endif
