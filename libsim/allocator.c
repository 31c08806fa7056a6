/* allocator.c -- the C library fallback for rc_allocator (see allocator.h). */
#include "allocator.h"

#include <stdlib.h>

static void *libc_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

rc_allocator sim_allocator_or_libc(const rc_allocator *a)
{
    if (a && a->realloc) return *a;
    return (rc_allocator){libc_realloc, NULL};
}
