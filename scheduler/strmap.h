/* strmap.h -- open-addressing hash map from strings (copied) to pointers.
 * Used for names and artifact keys.  Never iterate it for anything printed:
 * its order depends on hashing; callers keep their own ordered lists. */
#ifndef RC_STRMAP_H
#define RC_STRMAP_H

#include <stdint.h>

#include "alloc.h"

/* One slot: the hash sits next to the key, so a probe compares hashes in
 * the slot array and follows a key pointer only when they are equal. */
typedef struct rc_strslot {
    uint64_t hash;
    char *key; /* NULL = empty slot */
    void *val;
} rc_strslot;

typedef struct rc_strmap {
    rc_strslot *slots;
    size_t cap;
    size_t count;
} rc_strmap;

void rc_strmap_free(const rc_alloc *a, rc_strmap *m);
/* The map's string hash (never 0), for tables that borrow their keys. */
uint64_t rc_strmap_hash(const char *s);
void *rc_strmap_get(const rc_strmap *m, const char *key);
/* Insert or replace.  On success *stored_key (if not NULL) is the map's copy
 * of the key, valid until the entry is removed.  0 or RC_ENOMEM. */
int rc_strmap_put(const rc_alloc *a, rc_strmap *m, const char *key, void *val,
                  const char **stored_key);
void *rc_strmap_del(const rc_alloc *a, rc_strmap *m, const char *key);
/* Visit every entry (unordered). */
void rc_strmap_each(const rc_strmap *m, void (*fn)(const char *key, void *val, void *ud),
                    void *ud);

#endif
