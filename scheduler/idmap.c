#include "idmap.h"

#include <string.h>

static size_t slot_of(uint64_t key, size_t cap)
{
    /* Fibonacci hashing spreads sequential ids over the table, so runs stay
     * short and backward-shift deletion stays cheap. */
    return (size_t)((key * UINT64_C(11400714819323198485)) >> 17) & (cap - 1);
}

void rc_idmap_free(const rc_alloc *a, rc_idmap *m)
{
    rc_free(a, m->keys);
    rc_free(a, m->vals);
    memset(m, 0, sizeof *m);
}

void *rc_idmap_get(const rc_idmap *m, uint64_t key)
{
    if (!m->cap || key == 0) return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) return m->vals[i];
        if (m->keys[i] == 0) return NULL;
    }
}

static void insert_fresh(rc_idmap *m, uint64_t key, void *val)
{
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] != 0) i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->vals[i] = val;
    m->count++;
}

static int resize(const rc_alloc *a, rc_idmap *m, size_t ncap)
{
    uint64_t *nk = rc_calloc(a, ncap, sizeof *nk);
    void **nv = rc_calloc(a, ncap, sizeof *nv);
    if (!nk || !nv) {
        rc_free(a, nk);
        rc_free(a, nv);
        return RC_ENOMEM;
    }
    rc_advise_huge(nk, ncap * sizeof *nk);
    rc_advise_huge(nv, ncap * sizeof *nv);
    rc_idmap old = *m;
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i]) insert_fresh(m, old.keys[i], old.vals[i]);
    rc_free(a, old.keys);
    rc_free(a, old.vals);
    return 0;
}

int rc_idmap_put(const rc_alloc *a, rc_idmap *m, uint64_t key, void *val)
{
    if (key == 0) return RC_EINVAL;
    if (m->cap) {
        for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
            if (m->keys[i] == key) {
                m->vals[i] = val;
                return 0;
            }
            if (m->keys[i] == 0) break;
        }
    }
    /* Keep the load under 1/2 so probe runs stay short. */
    if ((m->count + 1) * 2 > m->cap) {
        int rc = resize(a, m, m->cap ? m->cap * 2 : 64);
        if (rc) return rc;
    }
    insert_fresh(m, key, val);
    return 0;
}

void *rc_idmap_del(rc_idmap *m, uint64_t key)
{
    if (!m->cap || key == 0) return NULL;
    size_t mask = m->cap - 1;
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] != key) {
        if (m->keys[i] == 0) return NULL;
        i = (i + 1) & mask;
    }
    void *val = m->vals[i];
    /* Backward-shift: pull later members of the run into the hole unless
     * their home slot lies cyclically after the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
        size_t home = slot_of(m->keys[j], m->cap);
        size_t dist_j = (j - home) & mask;
        size_t dist_hole = (j - hole) & mask;
        if (dist_j >= dist_hole) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->vals[hole] = NULL;
    m->count--;
    return val;
}

void rc_idmap_each(const rc_idmap *m, void (*fn)(void *ud, uint64_t key, void *val), void *ud)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) fn(ud, m->keys[i], m->vals[i]);
}
