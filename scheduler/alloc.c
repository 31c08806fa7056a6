#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *libc_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

rc_allocator rc_allocator_or_default(const rc_allocator *a)
{
    if (a && a->realloc) return *a;
    return (rc_allocator){libc_realloc, NULL};
}

rc_alloc rc_alloc_from(const rc_allocator *a)
{
    rc_allocator chosen = rc_allocator_or_default(a);
    return (rc_alloc){chosen.realloc, chosen.ud};
}

void *rc_calloc(const rc_alloc *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = rc_malloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

char *rc_strdup(const rc_alloc *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = rc_malloc(a, n);
    if (p) memcpy(p, s, n);
    return p;
}

void rc_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (n < 2 * huge) return;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
    if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void rc_prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    const uintptr_t page = 4096;
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

int rc_grow(const rc_alloc *a, void **items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return RC_ENOMEM;
        ncap *= 2;
    }
    void *p = rc_realloc(a, *items, ncap * elem);
    if (!p) return RC_ENOMEM;
    rc_advise_huge(p, ncap * elem);
    *items = p;
    *cap = ncap;
    return 0;
}
