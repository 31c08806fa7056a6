/* artstore.c -- a fake artifact store: an open-addressing hash map for
 * lookups, and an array of the written entries in key order, made when an
 * enumeration asks for it (from the entry chunks, which hold every entry,
 * found by name or not).  Keys are never removed, so the map needs no
 * tombstones and an entry (with its key, allocated in the same block) never
 * moves.  Each slot keeps its entry's hash next to the pointer, so a probe
 * that misses never loads the entry.  Entries and producer labels live in
 * chunks freed with the store (nothing is freed one by one), and each
 * distinct label is kept once. */
#include "artstore.h"


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* An entry is made by the first write, or earlier by sim_artstore_ref; until
 * its first write it is only a place for a handle and counts nowhere. */
/* 32 bytes: a run keeps one per artifact key, millions of them. */
struct sim_artref {
    uint64_t version : 63; /* 0: never written (does not exist) */
    uint64_t valid : 1;
    const char *producer; /* NULL if none */
    void *ud;         /* sim_artref_set_ud */
    const char *key;  /* the store's copy (after the entry), or the caller's */
};
typedef struct sim_artref entry;
_Static_assert(sizeof(void *) != 8 || sizeof(entry) == 32, "a store handle is 32 bytes");

typedef struct slot {
    uint64_t hash;
    entry *e; /* NULL = empty */
} slot;

/* A chunk of entries and labels, bump-allocated. */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(uint64_t) char data[];
} chunk;

enum { CHUNK_BYTES = 64 * 1024 - 64 };

/* A producer label, kept once: a set of strings in the chunks. */
typedef struct label_slot {
    uint64_t hash;
    char *text; /* NULL = empty */
} label_slot;

struct sim_artstore {
    rc_allocator alloc;
    chunk *chunks;       /* entries, the newest chunk first */
    chunk *label_chunks; /* producer labels */
    label_slot *labels;
    size_t labels_cap, n_labels;
    slot *slots; /* cap slots; cap is a power of two */
    size_t cap;
    /* The written entries in key order, made when first enumerated and
     * made again when keys were written since (a run that enumerates
     * nothing keeps no list): n_sorted of them. */
    entry **sorted;
    size_t sorted_cap;
    size_t n_sorted;
    size_t count;   /* written entries */
    size_t entries; /* in the map: written, and handles not written yet */
    size_t valid_count;
    sim_artstore_listener_fn listener;
    void *listener_ud;
};

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

static void *mem_alloc(const sim_artstore *s, size_t n)
{
    return s->alloc.realloc(s->alloc.ud, NULL, n ? n : 1);
}

static void mem_free(const sim_artstore *s, void *p)
{
    if (p) s->alloc.realloc(s->alloc.ud, p, 0);
}

/* n bytes, aligned for an entry, from the chunk list *list.  NULL: out of
 * memory. */
/* Ask for the pages of a new chunk in one call, not a fault per page: it
 * is filled from start to end.  Advice only. */
static void prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    const uintptr_t page = 4096;
    const uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
    const uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

static void *chunk_alloc(sim_artstore *s, chunk **list, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    chunk *c = *list;
    if (!c || c->cap - c->used < n) {
        const size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
        if (!(c = mem_alloc(s, sizeof *c + cap))) return NULL;
        prefault(c, sizeof *c + cap);
        *c = (chunk){*list, 0, cap};
        *list = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* The bytes entry e takes in its chunk: the entry, and its key when the
 * store copied it (right after the entry). */
static size_t entry_bytes(const entry *e)
{
    const size_t n = sizeof *e + (e->key == (const char *)(e + 1) ? strlen(e->key) + 1 : 0);
    return (n + 7) & ~(size_t)7;
}

/* ------------------------------------------------------------------ */
/* Hash map                                                            */
/* ------------------------------------------------------------------ */

static uint64_t hash_key(const char *key)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    /* FNV's low bits depend only on the low bits of each step, and slots are
     * taken from the low bits: mix the high bits in (a murmur3 finalizer). */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

/* The slot holding `key`, or the empty slot where it would go. */
static slot *find_slot(slot *slots, size_t cap, const char *key, uint64_t hash)
{
    size_t i = (size_t)hash & (cap - 1);
    while (slots[i].e && (slots[i].hash != hash || strcmp(slots[i].e->key, key) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* The entry of `key`, written or not, or NULL. */
static entry *lookup_any(const sim_artstore *s, const char *key)
{
    if (!s || !key || s->cap == 0) return NULL;
    return find_slot(s->slots, s->cap, key, hash_key(key))->e;
}

/* The entry of `key` if it was ever written, or NULL. */
static entry *lookup(const sim_artstore *s, const char *key)
{
    entry *e = lookup_any(s, key);
    return e && e->version ? e : NULL;
}

/* Make room for one more entry in the map (load <= 1/2), so that inserting
 * it cannot fail.  0 or RC_ENOMEM. */
static int reserve_slot(sim_artstore *s)
{
    if (2 * (s->entries + 1) > s->cap) {
        const size_t cap = s->cap ? s->cap * 2 : 32;
        slot *slots = mem_alloc(s, cap * sizeof *slots);
        if (!slots) return RC_ENOMEM;
        memset(slots, 0, cap * sizeof *slots);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].e) {
                /* Keys are unique: the first empty slot from home is its place. */
                size_t j = (size_t)s->slots[i].hash & (cap - 1);
                while (slots[j].e)
                    j = (j + 1) & (cap - 1);
                slots[j] = s->slots[i];
            }
        mem_free(s, s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    return 0;
}
/* A new, never written entry for `key`, in no map: with a copy of the key,
 * or borrowing it.  NULL: out of memory. */
static entry *new_entry(sim_artstore *s, const char *key, bool borrow)
{
    const size_t len = borrow ? 0 : strlen(key) + 1;
    entry *e = chunk_alloc(s, &s->chunks, sizeof *e + len);
    if (!e) return NULL;
    e->version = 0;
    e->producer = NULL;
    e->ud = NULL;
    e->valid = false;
    e->key = borrow ? key : memcpy((char *)(e + 1), key, len);
    return e;
}

/* A new, never written entry for `key` in the map.  0 or RC_ENOMEM. */
static int insert(sim_artstore *s, const char *key, entry **out)
{
    if (reserve_slot(s) != 0) return RC_ENOMEM;
    entry *e = new_entry(s, key, false);
    if (!e) return RC_ENOMEM;
    const uint64_t h = hash_key(key);
    *find_slot(s->slots, s->cap, key, h) = (slot){h, e};
    s->entries++;
    *out = e;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sorted order                                                        */
/* ------------------------------------------------------------------ */

static int compare_entries(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->key, (*(entry *const *)b)->key);
}

/* The written entries in key order, in sorted[0, count).  Keys are unique,
 * so the order does not depend on the sort's stability.  0 or RC_ENOMEM. */
static int ensure_sorted(sim_artstore *s)
{
    if (s->n_sorted == s->count) return 0;
    if (s->count > s->sorted_cap) {
        entry **sorted = s->alloc.realloc(s->alloc.ud, s->sorted, s->count * sizeof *sorted);
        if (!sorted) return RC_ENOMEM;
        s->sorted = sorted;
        s->sorted_cap = s->count;
    }
    size_t n = 0;
    for (const chunk *c = s->chunks; c; c = c->next)
        for (size_t at = 0; at < c->used;) {
            entry *e = (entry *)(void *)(c->data + at);
            if (e->version && n < s->count) s->sorted[n++] = e;
            at += entry_bytes(e);
        }
    qsort(s->sorted, n, sizeof *s->sorted, compare_entries);
    s->n_sorted = n;
    return 0;
}

static void fill(const entry *e, sim_artifact *out)
{
    out->key = e->key;
    out->valid = e->valid;
    out->version = e->version;
    out->producer = e->producer;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

int sim_artstore_new(sim_artstore **out, const rc_allocator *alloc)
{
    if (!out) return RC_EINVAL;
    *out = NULL;
    rc_allocator a = rc_allocator_or_default(alloc);
    sim_artstore *s = a.realloc(a.ud, NULL, sizeof *s);
    if (!s) return RC_ENOMEM;
    *s = (sim_artstore){.alloc = a};
    *out = s;
    return 0;
}

void sim_artstore_free(sim_artstore *store)
{
    if (!store) return;
    for (int list = 0; list < 2; list++)
        for (chunk *c = list ? store->label_chunks : store->chunks; c;) {
            chunk *next = c->next;
            mem_free(store, c);
            c = next;
        }
    mem_free(store, store->labels);
    mem_free(store, store->sorted);
    mem_free(store, store->slots);
    mem_free(store, store);
}

void sim_artstore_set_listener(sim_artstore *store, sim_artstore_listener_fn fn, void *ud)
{
    if (!store) return;
    store->listener = fn;
    store->listener_ud = fn ? ud : NULL;
}

static void notify(const sim_artstore *s, entry *e)
{
    if (s->listener) s->listener(e->key, e, s->listener_ud);
}

/* The store's one copy of `text`.  NULL: out of memory. */
static char *intern_label(sim_artstore *s, const char *text)
{
    const uint64_t h = hash_key(text);
    if (s->labels_cap) {
        size_t i = (size_t)h & (s->labels_cap - 1);
        for (; s->labels[i].text; i = (i + 1) & (s->labels_cap - 1))
            if (s->labels[i].hash == h && strcmp(s->labels[i].text, text) == 0)
                return s->labels[i].text;
    }
    if (2 * (s->n_labels + 1) > s->labels_cap) {
        const size_t cap = s->labels_cap ? s->labels_cap * 2 : 16;
        label_slot *labels = mem_alloc(s, cap * sizeof *labels);
        if (!labels) return NULL;
        memset(labels, 0, cap * sizeof *labels);
        for (size_t i = 0; i < s->labels_cap; i++)
            if (s->labels[i].text) {
                size_t j = (size_t)s->labels[i].hash & (cap - 1);
                while (labels[j].text) j = (j + 1) & (cap - 1);
                labels[j] = s->labels[i];
            }
        mem_free(s, s->labels);
        s->labels = labels;
        s->labels_cap = cap;
    }
    const size_t len = strlen(text) + 1;
    char *copy = chunk_alloc(s, &s->label_chunks, len);
    if (!copy) return NULL;
    memcpy(copy, text, len);
    size_t i = (size_t)h & (s->labels_cap - 1);
    while (s->labels[i].text) i = (i + 1) & (s->labels_cap - 1);
    s->labels[i] = (label_slot){h, copy};
    s->n_labels++;
    return copy;
}

sim_artref *sim_artstore_ref(sim_artstore *store, const char *key)
{
    if (!store || !key) return NULL;
    entry *e = lookup_any(store, key);
    if (!e && insert(store, key, &e) != 0) return NULL;
    return e;
}

sim_artref *sim_artstore_add(sim_artstore *store, const char *key)
{
    return store && key ? new_entry(store, key, true) : NULL;
}

const char *sim_artref_key(const sim_artref *ref)
{
    return ref->key;
}

bool sim_artref_exists(const sim_artref *ref)
{
    return ref->version > 0;
}

bool sim_artref_is_valid(const sim_artref *ref)
{
    return ref->valid;
}

void *sim_artref_ud(const sim_artref *ref)
{
    return ref->ud;
}

void sim_artref_set_ud(sim_artref *ref, void *ud)
{
    ref->ud = ud;
}

const char *sim_artstore_label(sim_artstore *store, const char *producer)
{
    return store && producer ? intern_label(store, producer) : NULL;
}

int sim_artstore_write_ref_label(sim_artstore *store, sim_artref *e, const char *label)
{
    if (!store || !e) return RC_EINVAL;
    e->producer = label;
    if (!e->version) store->count++;
    e->version++;
    if (!e->valid) store->valid_count++;
    e->valid = true;
    notify(store, e);
    return 0;
}

int sim_artstore_write_ref(sim_artstore *store, sim_artref *e, const char *producer)
{
    if (!store || !e) return RC_EINVAL;
    /* Everything that can fail comes first: then the write cannot. */
    char *label = NULL;
    if (producer && !(label = intern_label(store, producer))) return RC_ENOMEM;
    return sim_artstore_write_ref_label(store, e, label);
}

int sim_artstore_write(sim_artstore *store, const char *key, const char *producer)
{
    if (!store || !key) return RC_EINVAL;
    sim_artref *e = sim_artstore_ref(store, key);
    return e ? sim_artstore_write_ref(store, e, producer) : RC_ENOMEM;
}

int sim_artstore_invalidate(sim_artstore *store, const char *key)
{
    if (!store || !key) return RC_EINVAL;
    return sim_artstore_invalidate_ref(store, lookup(store, key));
}

int sim_artstore_invalidate_ref(sim_artstore *store, sim_artref *e)
{
    if (!store) return RC_EINVAL;
    if (!e || !e->version) return RC_ENOENT;
    if (!e->valid) return 0;
    e->valid = false;
    store->valid_count--;
    notify(store, e);
    return 1;
}

bool sim_artstore_exists(const sim_artstore *store, const char *key)
{
    return lookup(store, key) != NULL;
}

bool sim_artstore_is_valid(const sim_artstore *store, const char *key)
{
    const entry *e = lookup(store, key);
    return e && e->valid;
}

uint64_t sim_artstore_version(const sim_artstore *store, const char *key)
{
    const entry *e = lookup(store, key);
    return e ? e->version : 0;
}

const char *sim_artstore_producer(const sim_artstore *store, const char *key)
{
    const entry *e = lookup(store, key);
    return e ? e->producer : NULL;
}

int sim_artstore_get(const sim_artstore *store, const char *key, sim_artifact *out)
{
    if (!store || !key || !out) return RC_EINVAL;
    const entry *e = lookup(store, key);
    if (!e) return RC_ENOENT;
    fill(e, out);
    return 0;
}

size_t sim_artstore_count(const sim_artstore *store)
{
    return store ? store->count : 0;
}

size_t sim_artstore_valid_count(const sim_artstore *store)
{
    return store ? store->valid_count : 0;
}

int sim_artstore_at(sim_artstore *store, size_t index, sim_artifact *out)
{
    if (!store || !out) return RC_EINVAL;
    if (index >= store->count) return RC_ENOENT;
    if (ensure_sorted(store)) return RC_ENOMEM;
    fill(store->sorted[index], out);
    return 0;
}

int sim_artstore_each(sim_artstore *store, void (*fn)(const sim_artifact *artifact, void *ud),
                      void *ud)
{
    if (!store || !fn) return RC_EINVAL;
    if (ensure_sorted(store)) return RC_ENOMEM;
    /* The keys there are now: fn may write new ones, which this does not
     * visit (unless fn enumerates too: that sorts the list again under this
     * loop).  Index, not pointer, and a snapshot per call, so what fn sees
     * is current. */
    const size_t n = store->n_sorted;
    for (size_t i = 0; i < n && i < store->n_sorted; i++) {
        sim_artifact a;
        fill(store->sorted[i], &a);
        fn(&a, ud);
    }
    return 0;
}
