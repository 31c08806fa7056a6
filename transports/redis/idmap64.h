/*
 * idmap64.h -- uint64 key -> pointer, open addressing (the transport's own;
 * the core's maps are private to it).  Key 0 is reserved.
 */
#ifndef RC_REDIS_IDMAP64_H
#define RC_REDIS_IDMAP64_H

#include <stddef.h>
#include <stdint.h>

typedef struct idmap64 {
    uint64_t *keys;
    void **vals;
    size_t cap, len; /* cap: 0 or a power of two */
} idmap64;

/* The value for key, or NULL. */
void *idmap64_get(const idmap64 *m, uint64_t key);
/* Set key's value (replacing).  -1 on allocation failure. */
int idmap64_put(idmap64 *m, uint64_t key, void *val);
/* Remove key; returns its value or NULL. */
void *idmap64_del(idmap64 *m, uint64_t key);
void idmap64_free(idmap64 *m);

#endif
