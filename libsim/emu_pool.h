/* emu_pool.h -- the engine emulation's small strings (hash fields and
 * values, set and sorted-set members, stream fields) from slabs of its own:
 * a free list per size class of 16 bytes up to EMU_POOL_MAX, larger ones
 * from malloc.  The keyspace holds millions of them; the pool makes each
 * allocation and release a pointer swap, and a whole engine's strings go at
 * once (emu_pool_destroy) instead of one by one.
 *
 * One pool per engine; single-threaded, like the engine.
 */
#ifndef EMU_POOL_H
#define EMU_POOL_H

#include <stdbool.h>
#include <stddef.h>

enum { EMU_POOL_MAX = 256, EMU_POOL_CLASSES = EMU_POOL_MAX / 16 };

typedef struct emu_pool {
    void *free_list[EMU_POOL_CLASSES];
    struct emu_slab *slabs;
    char *bump, *bump_end; /* the newest slab's unused part */
    bool dying;            /* emu_pool_free is a no-op: the whole pool goes next */
} emu_pool;

/* An empty pool (no allocation until the first string). */
void emu_pool_init(emu_pool *p);
/* n bytes (n >= 1), or NULL when out of memory. */
void *emu_pool_alloc(emu_pool *p, size_t n);
/* Give back what emu_pool_alloc(p, n) returned (NULL: nothing). */
void emu_pool_free(emu_pool *p, void *mem, size_t n);
/* Release every slab (and so every string of the pool); the strings that
 * came from malloc are the owners' to free before (or after
 * emu_pool_begin_destroy, which makes pooled frees free). */
void emu_pool_begin_destroy(emu_pool *p);
void emu_pool_destroy(emu_pool *p);

#endif
