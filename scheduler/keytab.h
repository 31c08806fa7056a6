/* keytab.h -- the cue's artifact keys, each kept once.
 *
 * A work's declared needs and produces are resolved to entries here when it
 * is submitted (one hash lookup per key), and the work keeps pointers to the
 * entries' text: its rc_work_needs() strings ARE the entries' text, so the
 * entry of a declared key is found from the string without hashing
 * (RC_KEYENT_OF).  Work that waits on a key sits in the entry's waiter list,
 * so filing a waiting work and waking the waiters of a key cost no lookup.
 *
 * An entry lives while something refers to it: works that declare it, a
 * check that named it, handles (rc_key_hold), or waiters. */
#ifndef RC_KEYTAB_H
#define RC_KEYTAB_H

#include <stdint.h>

#include "alloc.h"
#include "dlist.h"
#include "small.h"

struct rc_ghost;

/* 40 bytes and the text: a key of up to 23 bytes takes 64, of up to 31
 * bytes 72 (the slabs' classes are 8 bytes apart), and a run keeps
 * millions. */
typedef struct rc_keyent {
    /* The low 32 bits of the key's hash: its home slot in tables of up to
     * 2^32 slots (the top 7 bits, its tag, are in the slot's control byte). */
    uint32_t hash;
    uint32_t refs; /* declaring works, checks, handles; waiters are apart */
    rc_ring waiters; /* the works WAITING on the key (their link) */
    void *ud; /* rc_key_set_ud */
    /* The newest forgotten completed producer of the key (forget_completed),
     * for the diagnosis; it holds a reference on the entry.  NULL: none. */
    struct rc_ghost *ghost;
    /* The cue's artifact epoch when the key was last announced changed (0:
     * never, while this entry lived). */
    uint64_t changed;
    char text[];
} rc_keyent;

#define RC_KEYENT_OF(str) ((rc_keyent *)((char *)(str)-offsetof(rc_keyent, text)))

/* The bytes an entry of a key of len bytes takes. */
static inline size_t rc_keyent_size(size_t len)
{
    return offsetof(rc_keyent, text) + len + 1;
}

/* Open addressing in two arrays: a control byte per slot (empty, deleted,
 * or full with 7 bits of the hash) and the entry pointers.  A probe reads the
 * control bytes -- 64 slots a cache line, a table of millions of keys in a
 * few megabytes -- and follows a pointer only when the 7 bits match, so
 * adding a new key costs no read of the entries. */
enum { RC_KEYTAB_EMPTY = 0, RC_KEYTAB_DELETED = 1 };

typedef struct rc_keytab {
    uint8_t *ctrl;    /* cap bytes: RC_KEYTAB_EMPTY, _DELETED, or 0x80 | tag */
    rc_keyent **ents; /* cap pointers (one allocation with ctrl) */
    size_t cap;       /* a multiple of 64 up to 2^32, or 0 */
    size_t count;     /* entries */
    size_t deleted;   /* tombstones */
    size_t n_large;   /* entries too long for the slabs (from the allocator) */
} rc_keytab;

/* The home slot of a key of hash h: the low 32 bits scaled to the table
 * (a multiply and a shift, so the size need not be a power of two and a
 * reserved table is no bigger than its keys ask for). */
static inline size_t rc_keytab_home(const rc_keytab *t, uint64_t h)
{
    return (size_t)(((uint64_t)(uint32_t)h * (uint64_t)t->cap) >> 32);
}

/* The slot after i, round to the first. */
static inline size_t rc_keytab_next(const rc_keytab *t, size_t i)
{
    return i + 1 == t->cap ? 0 : i + 1;
}

/* The control byte of a full slot whose entry has hash h. */
static inline uint8_t rc_keytab_tag(uint64_t h)
{
    return (uint8_t)(0x80 | (h >> 57));
}

/* key's hash, and its length in *len. */
uint64_t rc_keytab_hash(const char *key, size_t *len);
/* Ask for the cache lines a key of hash h is looked for in first: a caller
 * that hashes its keys early and does other work before interning them
 * overlaps the table's cache misses with that work. */
void rc_keytab_prefetch(const rc_keytab *t, uint64_t h);
/* The entry of key, or NULL. */
rc_keyent *rc_keytab_find(const rc_keytab *t, const char *key);
/* The entry of key, made (refs 0, no waiters) if there is none.  NULL: out of
 * memory. */
rc_keyent *rc_keytab_intern(rc_keytab *t, rc_small *sm, const rc_alloc *a, const char *key);
/* The same with key's length and hash already known (rc_keytab_hash). */
rc_keyent *rc_keytab_intern_hashed(rc_keytab *t, rc_small *sm, const rc_alloc *a,
                                   const char *key, size_t len, uint64_t h);
/* Room for n entries in all without growing (the table is rebuilt at
 * once when it has less).  0 or RC_ENOMEM (the table as it was). */
int rc_keytab_reserve(rc_keytab *t, const rc_alloc *a, size_t n);
/* How many entries the table holds before it grows. */
size_t rc_keytab_room(const rc_keytab *t);
/* Remove and free e if nothing refers to it any more. */
void rc_keytab_drop_unused(rc_keytab *t, rc_small *sm, const rc_alloc *a, rc_keyent *e);
/* One reference fewer; the entry goes when it was the last. */
static inline void rc_keytab_unref(rc_keytab *t, rc_small *sm, const rc_alloc *a, rc_keyent *e)
{
    e->refs--;
    if (!e->refs && !e->waiters.first) rc_keytab_drop_unused(t, sm, a, e);
}
/* Free the table and every entry still in it. */
void rc_keytab_fini(rc_keytab *t, rc_small *sm, const rc_alloc *a);

#endif
