/* emu_dict.c -- a chained hash map of byte-string keys (FNV-1a). */
#include "emu_dict.h"

#include <stdlib.h>
#include <string.h>

static unsigned hash_of(const char *key, size_t len)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h;
}

void emu_dict_init(emu_dict *d)
{
    memset(d, 0, sizeof *d);
}

void emu_dict_clear(emu_dict *d)
{
    for (size_t b = 0; b < d->n_buckets; b++) {
        emu_dict_entry *e = d->buckets[b];
        while (e) {
            emu_dict_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(d->buckets);
    emu_dict_init(d);
}

emu_dict_entry *emu_dict_find(const emu_dict *d, const char *key, size_t len)
{
    if (!d->n_buckets) return NULL;
    unsigned h = hash_of(key, len);
    for (emu_dict_entry *e = d->buckets[h & (d->n_buckets - 1)]; e; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) return e;
    return NULL;
}

static bool grow(emu_dict *d)
{
    size_t n = d->n_buckets ? d->n_buckets * 2 : 16;
    emu_dict_entry **b = calloc(n, sizeof *b);
    if (!b) return false;
    for (size_t i = 0; i < d->n_buckets; i++) {
        emu_dict_entry *e = d->buckets[i];
        while (e) {
            emu_dict_entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->n_buckets = n;
    return true;
}

emu_dict_entry *emu_dict_upsert(emu_dict *d, const char *key, size_t len, bool *created)
{
    emu_dict_entry *e = emu_dict_find(d, key, len);
    *created = false;
    if (e) return e;
    if (d->count >= d->n_buckets && !grow(d)) return NULL;
    /* The key lives right after the entry: one allocation. */
    e = malloc(sizeof *e + len + 1);
    if (!e) return NULL;
    e->key = (char *)(e + 1);
    e->value = NULL;
    memcpy(e->key, key, len);
    e->key[len] = '\0';
    e->len = len;
    e->hash = hash_of(key, len);
    e->next = d->buckets[e->hash & (d->n_buckets - 1)];
    d->buckets[e->hash & (d->n_buckets - 1)] = e;
    d->count++;
    *created = true;
    return e;
}

void *emu_dict_remove(emu_dict *d, const char *key, size_t len)
{
    if (!d->n_buckets) return NULL;
    unsigned h = hash_of(key, len);
    for (emu_dict_entry **p = &d->buckets[h & (d->n_buckets - 1)]; *p; p = &(*p)->next) {
        emu_dict_entry *e = *p;
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
            void *v = e->value;
            *p = e->next;
            free(e);
            d->count--;
            return v;
        }
    }
    return NULL;
}

void emu_dict_each(const emu_dict *d, void (*fn)(emu_dict_entry *e, void *ud), void *ud)
{
    for (size_t b = 0; b < d->n_buckets; b++)
        for (emu_dict_entry *e = d->buckets[b]; e; e = e->next)
            fn(e, ud);
}
