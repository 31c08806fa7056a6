/* alloc.h -- the allocator every module of the core allocates through. */
#ifndef RC_ALLOC_H
#define RC_ALLOC_H

#include <stddef.h>

#include "runcue.h"

/* The allocator in force: the caller's, or the C library's.  A value copied
 * into each object at creation so no module reaches for a global. */
typedef struct rc_alloc {
    void *(*fn)(void *ud, void *p, size_t n);
    void *ud;
} rc_alloc;

rc_alloc rc_alloc_from(const rc_allocator *a);

static inline void *rc_malloc(const rc_alloc *a, size_t n)
{
    return a->fn(a->ud, NULL, n ? n : 1);
}
static inline void *rc_realloc(const rc_alloc *a, void *p, size_t n)
{
    return a->fn(a->ud, p, n ? n : 1);
}
static inline void rc_free(const rc_alloc *a, void *p)
{
    if (p) a->fn(a->ud, p, 0);
}
void *rc_calloc(const rc_alloc *a, size_t count, size_t size);
char *rc_strdup(const rc_alloc *a, const char *s);

/* Ask the kernel to back the page-aligned interior of a large block with
 * transparent huge pages.  Advice only: memory contents and ownership are
 * unchanged.  First-touch page faults dominate bulk submission otherwise. */
void rc_advise_huge(void *p, size_t n);
/* Ask the kernel to map the page-aligned interior of a block that will be
 * filled at once, in one call rather than a fault per page.  Advice only:
 * nothing changes if it is refused. */
void rc_prefault(void *p, size_t n);

/* Grow *items (of elem bytes each) so it holds at least need elements.
 * Returns 0 or RC_ENOMEM (leaving the array as it was). */
int rc_grow(const rc_alloc *a, void **items, size_t *cap, size_t need, size_t elem);

#endif
