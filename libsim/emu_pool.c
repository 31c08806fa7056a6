/* emu_pool.c -- slabs of small strings.  See emu_pool.h. */
#include "emu_pool.h"

#include <stdlib.h>
#include <string.h>

enum { SLAB_BYTES = 256 * 1024 };

typedef struct emu_slab {
    struct emu_slab *next;
    _Alignas(16) char mem[];
} emu_slab;

void emu_pool_init(emu_pool *p)
{
    memset(p, 0, sizeof *p);
}

static size_t class_of(size_t n)
{
    return (n + 15) / 16 - 1; /* 1..16 -> 0, 17..32 -> 1, ... */
}

void *emu_pool_alloc(emu_pool *p, size_t n)
{
    if (n > EMU_POOL_MAX) return malloc(n);
    size_t c = class_of(n ? n : 1);
    void *mem = p->free_list[c];
    if (mem) {
        memcpy(&p->free_list[c], mem, sizeof(void *));
        return mem;
    }
    size_t size = (c + 1) * 16;
    if ((size_t)(p->bump_end - p->bump) < size) {
        emu_slab *s = malloc(sizeof *s + SLAB_BYTES);
        if (!s) return NULL;
        s->next = p->slabs;
        p->slabs = s;
        p->bump = s->mem;
        p->bump_end = s->mem + SLAB_BYTES;
    }
    mem = p->bump;
    p->bump += size;
    return mem;
}

void emu_pool_free(emu_pool *p, void *mem, size_t n)
{
    if (!mem) return;
    if (n > EMU_POOL_MAX) {
        free(mem);
        return;
    }
    if (p->dying) return;
    size_t c = class_of(n ? n : 1);
    memcpy(mem, &p->free_list[c], sizeof(void *));
    p->free_list[c] = mem;
}

void emu_pool_begin_destroy(emu_pool *p)
{
    p->dying = true;
}

void emu_pool_destroy(emu_pool *p)
{
    for (emu_slab *s = p->slabs; s;) {
        emu_slab *next = s->next;
        free(s);
        s = next;
    }
    emu_pool_init(p);
}
