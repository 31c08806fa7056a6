#include "idtable.h"

#include <string.h>

#define PAGE_SLOTS ((size_t)1 << RC_IDTABLE_PAGE_BITS)

void rc_idtable_free(const rc_alloc *a, rc_idtable *t)
{
    for (size_t i = 0; i < t->n_pages; i++) rc_free(a, t->pages[i]);
    rc_free(a, t->spare);
    rc_free(a, t->pages);
    rc_free(a, t->live);
    memset(t, 0, sizeof *t);
}

void *rc_idtable_get(const rc_idtable *t, uint64_t id)
{
    uint64_t p = id >> RC_IDTABLE_PAGE_BITS;
    if (p >= t->n_pages || !t->pages[p]) return NULL;
    return t->pages[p][id & (PAGE_SLOTS - 1)];
}

int rc_idtable_put(const rc_alloc *a, rc_idtable *t, uint64_t id, void *val)
{
    uint64_t p = id >> RC_IDTABLE_PAGE_BITS;
    if (p >= SIZE_MAX / sizeof(void *)) return RC_ENOMEM;
    if (p >= t->n_pages) {
        size_t need = (size_t)p + 1;
        if (rc_grow(a, (void **)&t->pages, &t->pages_cap, need, sizeof *t->pages) ||
            rc_grow(a, (void **)&t->live, &t->live_cap, need, sizeof *t->live))
            return RC_ENOMEM;
        memset(&t->pages[t->n_pages], 0, (need - t->n_pages) * sizeof *t->pages);
        memset(&t->live[t->n_pages], 0, (need - t->n_pages) * sizeof *t->live);
        t->n_pages = need;
    }
    if (!t->pages[p]) {
        if (t->spare) {
            t->pages[p] = t->spare;
            t->spare = NULL;
        } else if (!(t->pages[p] = rc_calloc(a, PAGE_SLOTS, sizeof(void *)))) {
            return RC_ENOMEM;
        }
    }
    void **slot = &t->pages[p][id & (PAGE_SLOTS - 1)];
    if (!*slot) t->live[p]++;
    *slot = val;
    return 0;
}

void rc_idtable_del(const rc_alloc *a, rc_idtable *t, uint64_t id)
{
    uint64_t p = id >> RC_IDTABLE_PAGE_BITS;
    if (p >= t->n_pages || !t->pages[p]) return;
    void **slot = &t->pages[p][id & (PAGE_SLOTS - 1)];
    if (!*slot) return;
    *slot = NULL;
    if (--t->live[p] == 0) {
        if (t->spare)
            rc_free(a, t->pages[p]);
        else
            t->spare = t->pages[p]; /* every slot is NULL again */
        t->pages[p] = NULL;
    }
}

void *rc_idtable_next(const rc_idtable *t, uint64_t *id)
{
    uint64_t p = *id >> RC_IDTABLE_PAGE_BITS;
    size_t i = (size_t)(*id & (PAGE_SLOTS - 1));
    for (; p < t->n_pages; p++, i = 0) {
        void **page = t->pages[p];
        if (!page) continue;
        for (; i < PAGE_SLOTS; i++) {
            if (page[i]) {
                *id = (p << RC_IDTABLE_PAGE_BITS) | i;
                return page[i];
            }
        }
    }
    return NULL;
}
