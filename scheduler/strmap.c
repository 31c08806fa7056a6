#include "strmap.h"

#include <string.h>

uint64_t rc_strmap_hash(const char *s)
{
    /* FNV-1a, 64-bit. */
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    /* Slots come from the low bits, which FNV leaves poorly mixed. */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h ? h : 1;
}

void rc_strmap_free(const rc_alloc *a, rc_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        rc_free(a, m->slots[i].key);
    rc_free(a, m->slots);
    memset(m, 0, sizeof *m);
}

static size_t find(const rc_strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const rc_strslot *sl = &m->slots[i];
        if (!sl->key) return i;
        if (sl->hash == h && strcmp(sl->key, key) == 0) return i;
    }
}

void *rc_strmap_get(const rc_strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = find(m, key, rc_strmap_hash(key));
    return m->slots[i].key ? m->slots[i].val : NULL;
}

static int resize(const rc_alloc *a, rc_strmap *m, size_t ncap)
{
    rc_strslot *ns = rc_calloc(a, ncap, sizeof *ns);
    if (!ns) return RC_ENOMEM;
    rc_strmap old = *m;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key) continue;
        /* Keys are unique: the first empty slot from home is its place. */
        size_t j = old.slots[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = old.slots[i];
    }
    rc_free(a, old.slots);
    return 0;
}

int rc_strmap_put(const rc_alloc *a, rc_strmap *m, const char *key, void *val,
                  const char **stored_key)
{
    uint64_t h = rc_strmap_hash(key);
    if (m->cap) {
        size_t i = find(m, key, h);
        if (m->slots[i].key) {
            m->slots[i].val = val;
            if (stored_key) *stored_key = m->slots[i].key;
            return 0;
        }
    }
    if ((m->count + 1) * 2 > m->cap) {
        int rc = resize(a, m, m->cap ? m->cap * 2 : 16);
        if (rc) return rc;
    }
    char *copy = rc_strdup(a, key);
    if (!copy) return RC_ENOMEM;
    size_t i = find(m, key, h);
    m->slots[i] = (rc_strslot){h, copy, val};
    m->count++;
    if (stored_key) *stored_key = copy;
    return 0;
}

void *rc_strmap_del(const rc_alloc *a, rc_strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    size_t i = find(m, key, rc_strmap_hash(key));
    if (!m->slots[i].key) return NULL;
    void *val = m->slots[i].val;
    rc_free(a, m->slots[i].key);
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = (rc_strslot){0, NULL, NULL};
    m->count--;
    return val;
}

void rc_strmap_each(const rc_strmap *m, void (*fn)(const char *key, void *val, void *ud),
                    void *ud)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) fn(m->slots[i].key, m->slots[i].val, ud);
}
