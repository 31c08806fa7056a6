#include "keytab.h"

#include <string.h>

/* Eight bytes a step (a multiply and a shift each), then a finalizer that
 * mixes every bit into the low ones (the slot) and the top seven (the tag).
 * Keys are looked up by the million: FNV's byte a step cost more than the
 * table's probe.  The value is the same on every run of a build (nothing
 * printed depends on the table's order). */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 31);
}

uint64_t rc_keytab_hash(const char *key, size_t *len)
{
    const size_t n = strlen(key);
    *len = n;
    const unsigned char *p = (const unsigned char *)key;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ n, w;
    size_t left = n;
    for (; left >= 8; p += 8, left -= 8) {
        memcpy(&w, p, 8);
        h = mix(h, w);
    }
    if (left) {
        w = 0;
        memcpy(&w, p, left);
        h = mix(h, w);
    }
    h ^= h >> 32;
    h *= UINT64_C(0xd6e8feb86659fd93);
    h ^= h >> 32;
    return h ? h : 1;
}

void rc_keytab_prefetch(const rc_keytab *t, uint64_t h)
{
    if (!t->cap) return;
    const size_t i = rc_keytab_home(t, h);
    __builtin_prefetch(&t->ctrl[i]);
    __builtin_prefetch(&t->ents[i], 1);
}

/* The slot of key, or SIZE_MAX if it is not there. */
static size_t find_slot(const rc_keytab *t, const char *key, size_t len, uint64_t h)
{
    const uint8_t tag = rc_keytab_tag(h);
    for (size_t i = rc_keytab_home(t, h);; i = rc_keytab_next(t, i)) {
        const uint8_t c = t->ctrl[i];
        if (c == RC_KEYTAB_EMPTY) return SIZE_MAX;
        if (c != tag) continue;
        const rc_keyent *e = t->ents[i];
        /* key is a string of len bytes (rc_keytab_hash measured it). */
        if (e->hash == (uint32_t)h && strcmp(e->text, key) == 0) return i;
    }
}

/* The first free (empty or deleted) slot from h's home: where a key known
 * to be absent goes. */
static size_t free_slot(const rc_keytab *t, uint64_t h)
{
    size_t i = rc_keytab_home(t, h);
    while (t->ctrl[i] & 0x80) i = rc_keytab_next(t, i);
    return i;
}

rc_keyent *rc_keytab_find(const rc_keytab *t, const char *key)
{
    if (!t->cap) return NULL;
    size_t len;
    const uint64_t h = rc_keytab_hash(key, &len);
    const size_t i = find_slot(t, key, len, h);
    return i == SIZE_MAX ? NULL : t->ents[i];
}

enum { REHASH_AHEAD = 48 };

/* Rebuild the table with ncap slots and no tombstones.  0 or RC_ENOMEM
 * (the table as it was). */
static int rehash(rc_keytab *t, const rc_alloc *a, size_t ncap)
{
    /* Entries keep 32 bits of their hash: enough for a home in 2^32 slots. */
    if ((uint64_t)ncap > (uint64_t)UINT32_MAX + 1 || ncap > SIZE_MAX / (sizeof(rc_keyent *) + 1))
        return RC_ENOMEM;
    rc_keyent **ents = rc_malloc(a, ncap * (sizeof *ents + 1));
    if (!ents) return RC_ENOMEM;
    rc_advise_huge(ents, ncap * (sizeof *ents + 1));
    uint8_t *ctrl = (uint8_t *)(ents + ncap);
    memset(ctrl, RC_KEYTAB_EMPTY, ncap);
    rc_keytab old = *t;
    t->ents = ents;
    t->ctrl = ctrl;
    t->cap = ncap;
    t->deleted = 0;
    for (size_t i = 0; i < old.cap; i++) {
        /* The entries' hashes are read in slot order: ask for them far
         * enough ahead that a miss to memory is over by the time (a step
         * takes a few nanoseconds, a miss a hundred). */
        if (i + REHASH_AHEAD < old.cap && (old.ctrl[i + REHASH_AHEAD] & 0x80))
            __builtin_prefetch(old.ents[i + REHASH_AHEAD]);
        if (!(old.ctrl[i] & 0x80)) continue;
        const rc_keyent *e = old.ents[i];
        const size_t j = free_slot(t, e->hash);
        t->ctrl[j] = old.ctrl[i];
        t->ents[j] = old.ents[i];
    }
    rc_free(a, old.ents);
    return 0;
}

/* The keys a table of cap slots with `deleted` tombstones takes before it
 * grows: rc_keytab_intern_hashed grows it when the next entry would fill
 * more than 70% of it, tombstones counted. */
static size_t room_of(size_t cap, size_t deleted)
{
    const size_t most = cap / 10 * 7 + cap % 10 * 7 / 10;
    return most > deleted ? most - deleted : 0;
}

int rc_keytab_reserve(rc_keytab *t, const rc_alloc *a, size_t n)
{
    if (n <= rc_keytab_room(t)) return 0;
    if (n > SIZE_MAX / 20) return RC_ENOMEM;
    /* Rebuilt without tombstones, at the size that holds n (in steps of
     * 64 slots, not powers of two: three million keys take 4.3 million
     * slots, not 8.4), and never smaller than it is. */
    size_t cap = (n / 7 * 10 + (n % 7 * 10 + 6) / 7 + 63) / 64 * 64;
    while (room_of(cap, 0) < n) cap += 64;
    if (cap < t->cap) cap = t->cap;
    return rehash(t, a, cap);
}

size_t rc_keytab_room(const rc_keytab *t)
{
    return room_of(t->cap, t->deleted);
}

rc_keyent *rc_keytab_intern(rc_keytab *t, rc_small *sm, const rc_alloc *a, const char *key)
{
    size_t len;
    const uint64_t h = rc_keytab_hash(key, &len);
    return rc_keytab_intern_hashed(t, sm, a, key, len, h);
}

rc_keyent *rc_keytab_intern_hashed(rc_keytab *t, rc_small *sm, const rc_alloc *a,
                                   const char *key, size_t len, uint64_t h)
{
    if (len >= UINT32_MAX) return NULL;
    if (t->cap) {
        const size_t i = find_slot(t, key, len, h);
        if (i != SIZE_MAX) return t->ents[i];
    }
    /* At most 70% of the slots full or deleted (the room); a table mostly
     * of tombstones is rebuilt at its size, else at twice it (at most 2^32
     * slots: a reserved size need not be a power of two).  In 64 bits: a
     * table of a few hundred million slots times 7 overflows a 32-bit
     * size_t. */
    if (t->count + 1 > rc_keytab_room(t)) {
        const uint64_t cap = t->cap;
        const uint64_t twice = cap * 2 < (uint64_t)UINT32_MAX + 1 ? cap * 2 : (uint64_t)UINT32_MAX + 1;
        const uint64_t ncap = !cap ? 64 : ((uint64_t)t->count + 1) * 10 > cap * 7 / 2 ? twice : cap;
        if (ncap > SIZE_MAX || rehash(t, a, (size_t)ncap)) return NULL;
    }
    rc_keyent *e = rc_small_alloc(sm, a, rc_keyent_size(len));
    if (!e) return NULL;
    if (rc_keyent_size(len) > RC_SMALL_MAX) t->n_large++;
    e->hash = (uint32_t)h;
    e->refs = 0;
    e->waiters.first = NULL;
    e->ud = NULL;
    e->ghost = NULL;
    e->changed = 0;
    memcpy(e->text, key, len + 1);
    const size_t i = free_slot(t, h);
    if (t->ctrl[i] == RC_KEYTAB_DELETED) t->deleted--;
    t->ctrl[i] = rc_keytab_tag(h);
    t->ents[i] = e;
    t->count++;
    return e;
}

void rc_keytab_drop_unused(rc_keytab *t, rc_small *sm, const rc_alloc *a, rc_keyent *e)
{
    if (e->refs || e->waiters.first) return;
    /* From its home, the full slot that points at it. */
    size_t i = rc_keytab_home(t, e->hash);
    while (!(t->ctrl[i] & 0x80) || t->ents[i] != e) i = rc_keytab_next(t, i);
    /* A tombstone, unless the next slot is empty (then no probe passes
     * here on its way further). */
    if (t->ctrl[rc_keytab_next(t, i)] == RC_KEYTAB_EMPTY) {
        t->ctrl[i] = RC_KEYTAB_EMPTY;
    } else {
        t->ctrl[i] = RC_KEYTAB_DELETED;
        t->deleted++;
    }
    t->ents[i] = NULL;
    t->count--;
    const size_t size = rc_keyent_size(strlen(e->text));
    if (size > RC_SMALL_MAX) t->n_large--;
    rc_small_free(sm, a, e, size);
}

void rc_keytab_fini(rc_keytab *t, rc_small *sm, const rc_alloc *a)
{
    /* Entries still referred to (held, or with waiters) go with the slabs,
     * except those of long keys, which came from the allocator: only when
     * there are such is the table walked. */
    for (size_t i = 0; t->n_large && i < t->cap; i++) {
        rc_keyent *e = t->ctrl[i] & 0x80 ? t->ents[i] : NULL;
        const size_t size = e ? rc_keyent_size(strlen(e->text)) : 0;
        if (size > RC_SMALL_MAX) {
            rc_small_free(sm, a, e, size);
            t->n_large--;
        }
    }
    rc_free(a, t->ents);
    memset(t, 0, sizeof *t);
}
