#include "small.h"

#include <stdint.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define RC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RC_ASAN 1
#endif
#endif
#ifdef RC_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum { SLAB_BYTES = 64 * 1024 };

/* Classes 8 bytes apart: a key entry of a 25-byte key takes 72 bytes, not
 * 80, and a needs block of one key 8, not 16. */
enum { CLASS_STEP = 8 };

static size_t class_of(size_t n)
{
    return (n + CLASS_STEP - 1) / CLASS_STEP - 1;
}

static int new_slab(rc_small *s, const rc_alloc *a)
{
    /* What is left of the old slab is lost: at most RC_SMALL_MAX bytes. */
    if (s->spare) {
        s->bump = s->spare;
        s->bump_end = s->spare_end;
        s->spare = s->spare_end = NULL;
        return 0;
    }
    if (rc_grow(a, (void **)&s->slabs, &s->slabs_cap, s->n_slabs + 1, sizeof *s->slabs))
        return RC_ENOMEM;
    char *slab = rc_malloc(a, SLAB_BYTES);
    if (!slab) return RC_ENOMEM;
    rc_prefault(slab, SLAB_BYTES); /* it is handed out from start to end */
    s->slabs[s->n_slabs++] = (rc_small_slab){slab, SLAB_BYTES};
    s->bump = slab;
    s->bump_end = slab + SLAB_BYTES;
    POISON(slab, SLAB_BYTES);
    return 0;
}

bool rc_small_give(rc_small *s, const rc_alloc *a, void *mem, size_t bytes)
{
    if (s->spare || bytes < SLAB_BYTES ||
        rc_grow(a, (void **)&s->slabs, &s->slabs_cap, s->n_slabs + 1, sizeof *s->slabs))
        return false;
    s->slabs[s->n_slabs++] = (rc_small_slab){mem, bytes};
    /* Objects are 8-byte aligned: the block's start, rounded up. */
    s->spare = (char *)(((uintptr_t)mem + 7) & ~(uintptr_t)7);
    s->spare_end = (char *)mem + bytes;
    POISON(mem, bytes);
    return true;
}

void *rc_small_alloc(rc_small *s, const rc_alloc *a, size_t n)
{
    if (n == 0) n = 1;
    if (n > RC_SMALL_MAX) return rc_malloc(a, n);
    const size_t c = class_of(n), size = (c + 1) * CLASS_STEP;
    void *p = s->free[c];
    if (p) {
        UNPOISON(p, size);
        memcpy(&s->free[c], p, sizeof(void *));
        return p;
    }
    if ((size_t)(s->bump_end - s->bump) < size && new_slab(s, a)) return NULL;
    p = s->bump;
    s->bump += size;
    UNPOISON(p, size);
    return p;
}

void rc_small_free(rc_small *s, const rc_alloc *a, void *p, size_t n)
{
    if (!p) return;
    if (n == 0) n = 1;
    if (n > RC_SMALL_MAX) {
        rc_free(a, p);
        return;
    }
    const size_t c = class_of(n);
    memcpy(p, &s->free[c], sizeof(void *));
    s->free[c] = p;
    POISON(p, (c + 1) * CLASS_STEP);
}

void rc_small_fini(rc_small *s, const rc_alloc *a)
{
    for (size_t i = 0; i < s->n_slabs; i++) {
        UNPOISON(s->slabs[i].mem, s->slabs[i].bytes);
        rc_free(a, s->slabs[i].mem);
    }
    rc_free(a, s->slabs);
    memset(s, 0, sizeof *s);
}
