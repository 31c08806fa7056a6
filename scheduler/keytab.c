#include "keytab.h"

#include "strmap.h"

#include <string.h>

uint64_t rc_keytab_hash(const char *key, size_t *len)
{
    *len = strlen(key);
    return rc_strmap_hash(key); /* the core's one string hash */
}

/* The slot of key, or the empty slot where it would go. */
static size_t find_slot(const rc_keytab *t, const char *key, size_t len, uint64_t h)
{
    const size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const rc_keyslot *s = &t->slots[i];
        if (!s->e) return i;
        if (s->hash == h && s->e->len == len && memcmp(s->e->text, key, len) == 0) return i;
    }
}

rc_keyent *rc_keytab_find(const rc_keytab *t, const char *key)
{
    if (!t->cap) return NULL;
    size_t len;
    uint64_t h = rc_keytab_hash(key, &len);
    return t->slots[find_slot(t, key, len, h)].e;
}

static int grow(rc_keytab *t, const rc_alloc *a)
{
    const size_t ncap = t->cap ? t->cap * 2 : 64;
    rc_keyslot *ns = rc_calloc(a, ncap, sizeof *ns);
    if (!ns) return RC_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].e) continue;
        /* Keys are unique: the first empty slot from home is its place. */
        size_t j = (size_t)t->slots[i].hash & (ncap - 1);
        while (ns[j].e) j = (j + 1) & (ncap - 1);
        ns[j] = t->slots[i];
    }
    rc_free(a, t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

rc_keyent *rc_keytab_intern(rc_keytab *t, rc_small *sm, const rc_alloc *a, const char *key)
{
    size_t len;
    const uint64_t h = rc_keytab_hash(key, &len);
    if (len >= UINT32_MAX) return NULL;
    if (t->cap) {
        rc_keyent *e = t->slots[find_slot(t, key, len, h)].e;
        if (e) return e;
    }
    /* At most 70% full: probes compare hashes in the slot array, so a few
     * more of them cost little, and the table stays small. */
    if ((t->count + 1) * 10 > t->cap * 7 && grow(t, a)) return NULL;
    rc_keyent *e = rc_small_alloc(sm, a, sizeof *e + len + 1);
    if (!e) return NULL;
    if (sizeof *e + len + 1 > RC_SMALL_MAX) t->n_large++;
    e->hash = h;
    e->refs = 0;
    e->len = (uint32_t)len;
    rc_dlist_init(&e->waiters);
    e->ud = NULL;
    e->ghost = NULL;
    memcpy(e->text, key, len + 1);
    t->slots[find_slot(t, key, len, h)] = (rc_keyslot){h, e};
    t->count++;
    return e;
}

void rc_keytab_drop_unused(rc_keytab *t, rc_small *sm, const rc_alloc *a, rc_keyent *e)
{
    if (e->refs || e->waiters.len) return;
    const size_t mask = t->cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (t->slots[i].e != e) i = (i + 1) & mask;
    /* Backward-shift deletion: no tombstones. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; t->slots[j].e; j = (j + 1) & mask) {
        const size_t home = (size_t)t->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole] = (rc_keyslot){0, NULL};
    t->count--;
    if (sizeof *e + e->len + 1 > RC_SMALL_MAX) t->n_large--;
    rc_small_free(sm, a, e, sizeof *e + e->len + 1);
}

void rc_keytab_fini(rc_keytab *t, rc_small *sm, const rc_alloc *a)
{
    /* Entries still referred to (held, or with waiters) go with the slabs,
     * except those of long keys, which came from the allocator: only when
     * there are such is the table walked. */
    for (size_t i = 0; t->n_large && i < t->cap; i++) {
        rc_keyent *e = t->slots[i].e;
        if (e && sizeof *e + e->len + 1 > RC_SMALL_MAX) {
            rc_small_free(sm, a, e, sizeof *e + e->len + 1);
            t->n_large--;
        }
    }
    rc_free(a, t->slots);
    memset(t, 0, sizeof *t);
}
