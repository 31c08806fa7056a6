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
 * check that named it, handles (rc_key_hold), or waiters.  The table keeps
 * each entry's hash in its slot array. */
#ifndef RC_KEYTAB_H
#define RC_KEYTAB_H

#include <stdint.h>

#include "alloc.h"
#include "dlist.h"
#include "small.h"

struct rc_ghost;

typedef struct rc_keyent {
    uint64_t hash;
    uint32_t refs; /* declaring works, checks, handles; waiters are apart */
    uint32_t len;  /* of text, without the terminator */
    rc_dlist waiters;
    void *ud; /* rc_key_set_ud */
    /* The newest forgotten completed producer of the key (forget_completed),
     * for the diagnosis; it holds a reference on the entry.  NULL: none. */
    struct rc_ghost *ghost;
    char text[];
} rc_keyent;

#define RC_KEYENT_OF(str) ((rc_keyent *)((char *)(str)-offsetof(rc_keyent, text)))

typedef struct rc_keyslot {
    uint64_t hash;
    rc_keyent *e; /* NULL = empty */
} rc_keyslot;

typedef struct rc_keytab {
    rc_keyslot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
    size_t n_large; /* entries too long for the slabs (from the allocator) */
} rc_keytab;

uint64_t rc_keytab_hash(const char *key, size_t *len);
/* The entry of key, or NULL. */
rc_keyent *rc_keytab_find(const rc_keytab *t, const char *key);
/* The entry of key, made (refs 0, no waiters) if there is none.  NULL: out of
 * memory. */
rc_keyent *rc_keytab_intern(rc_keytab *t, rc_small *sm, const rc_alloc *a, const char *key);
/* Remove and free e if nothing refers to it any more. */
void rc_keytab_drop_unused(rc_keytab *t, rc_small *sm, const rc_alloc *a, rc_keyent *e);
/* One reference fewer; the entry goes when it was the last. */
static inline void rc_keytab_unref(rc_keytab *t, rc_small *sm, const rc_alloc *a, rc_keyent *e)
{
    e->refs--;
    if (!e->refs && !e->waiters.len) rc_keytab_drop_unused(t, sm, a, e);
}
/* Free the table and every entry still in it. */
void rc_keytab_fini(rc_keytab *t, rc_small *sm, const rc_alloc *a);

#endif
