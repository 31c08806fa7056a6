/* emu_dict.h -- a string-keyed hash map for the engine emulation: the
 * keyspace and the member index of sorted sets.
 *
 * Keys are byte strings (any bytes, with a length); the map copies them.
 * Values are the caller's pointers.  Iteration order is the bucket order,
 * which depends only on the keys inserted (no addresses, no randomness).
 * Single-threaded.
 */
#ifndef EMU_DICT_H
#define EMU_DICT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct emu_dict_entry {
    char *key;
    size_t len;
    void *value;
    unsigned hash;
    struct emu_dict_entry *next;
} emu_dict_entry;

typedef struct emu_dict {
    emu_dict_entry **buckets;
    size_t n_buckets, count;
} emu_dict;

/* An empty map (no allocation until the first insert). */
void emu_dict_init(emu_dict *d);
/* Free the entries (not the values). */
void emu_dict_clear(emu_dict *d);
/* The entry for key, or NULL. */
emu_dict_entry *emu_dict_find(const emu_dict *d, const char *key, size_t len);
/* The entry for key, made (value NULL) if missing; NULL only when out of
 * memory.  *created says which. */
emu_dict_entry *emu_dict_upsert(emu_dict *d, const char *key, size_t len, bool *created);
/* Remove key; returns its value (NULL if it was not there). */
void *emu_dict_remove(emu_dict *d, const char *key, size_t len);
/* Call fn for every entry (it must not change the map). */
void emu_dict_each(const emu_dict *d, void (*fn)(emu_dict_entry *e, void *ud), void *ud);

#endif
