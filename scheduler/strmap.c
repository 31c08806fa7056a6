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
    for (size_t i = 0; i < m->cap; i++) rc_free(a, m->keys[i]);
    rc_free(a, m->keys);
    rc_free(a, m->hashes);
    rc_free(a, m->vals);
    memset(m, 0, sizeof *m);
}

static size_t find(const rc_strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (!m->keys[i]) return i;
        if (m->hashes[i] == h && strcmp(m->keys[i], key) == 0) return i;
    }
}

void *rc_strmap_get(const rc_strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = find(m, key, rc_strmap_hash(key));
    return m->keys[i] ? m->vals[i] : NULL;
}

static int resize(const rc_alloc *a, rc_strmap *m, size_t ncap)
{
    char **nk = rc_calloc(a, ncap, sizeof *nk);
    uint64_t *nh = rc_calloc(a, ncap, sizeof *nh);
    void **nv = rc_calloc(a, ncap, sizeof *nv);
    if (!nk || !nh || !nv) {
        rc_free(a, nk);
        rc_free(a, nh);
        rc_free(a, nv);
        return RC_ENOMEM;
    }
    rc_strmap old = *m;
    m->keys = nk;
    m->hashes = nh;
    m->vals = nv;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.keys[i]) continue;
        size_t j = find(m, old.keys[i], old.hashes[i]);
        m->keys[j] = old.keys[i];
        m->hashes[j] = old.hashes[i];
        m->vals[j] = old.vals[i];
    }
    rc_free(a, old.keys);
    rc_free(a, old.hashes);
    rc_free(a, old.vals);
    return 0;
}

int rc_strmap_put(const rc_alloc *a, rc_strmap *m, const char *key, void *val,
                  const char **stored_key)
{
    uint64_t h = rc_strmap_hash(key);
    if (m->cap) {
        size_t i = find(m, key, h);
        if (m->keys[i]) {
            m->vals[i] = val;
            if (stored_key) *stored_key = m->keys[i];
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
    m->keys[i] = copy;
    m->hashes[i] = h;
    m->vals[i] = val;
    m->count++;
    if (stored_key) *stored_key = copy;
    return 0;
}

void *rc_strmap_del(const rc_alloc *a, rc_strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    size_t i = find(m, key, rc_strmap_hash(key));
    if (!m->keys[i]) return NULL;
    void *val = m->vals[i];
    rc_free(a, m->keys[i]);
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = m->hashes[j] & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->keys[hole] = m->keys[j];
            m->hashes[hole] = m->hashes[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = NULL;
    m->hashes[hole] = 0;
    m->vals[hole] = NULL;
    m->count--;
    return val;
}

void rc_strmap_each(const rc_strmap *m, void (*fn)(const char *key, void *val, void *ud),
                    void *ud)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) fn(m->keys[i], m->vals[i], ud);
}
