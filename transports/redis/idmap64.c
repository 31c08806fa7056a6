/*
 * idmap64.c -- uint64 key -> pointer, linear probing with backward-shift
 * deletion (see idmap64.h).
 */
#include "idmap64.h"

#include <stdlib.h>

static size_t slot(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= UINT64_C(0xff51afd7ed558ccd);
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void *idmap64_get(const idmap64 *m, uint64_t key)
{
    if (!m->cap || !key) return NULL;
    for (size_t i = slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) return m->vals[i];
        if (!m->keys[i]) return NULL;
    }
}

static int grow(idmap64 *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = calloc(cap, sizeof *keys);
    void **vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->keys[j]) continue;
        size_t i = slot(m->keys[j], cap);
        while (keys[i]) i = (i + 1) & (cap - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int idmap64_put(idmap64 *m, uint64_t key, void *val)
{
    if (!key) return -1;
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m)) return -1;
    size_t i = slot(key, m->cap);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 0;
}

void *idmap64_del(idmap64 *m, uint64_t key)
{
    if (!m->cap || !key) return NULL;
    size_t mask = m->cap - 1, i = slot(key, m->cap);
    while (m->keys[i] != key) {
        if (!m->keys[i]) return NULL;
        i = (i + 1) & mask;
    }
    void *val = m->vals[i];
    m->len--;
    /* Shift later members of the run back over the hole. */
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = slot(m->keys[j], m->cap);
        int move = ((j - home) & mask) >= ((j - i) & mask);
        if (move) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    return val;
}

void idmap64_free(idmap64 *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->len = 0;
}
