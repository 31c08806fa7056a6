/* artstore.c -- a fake artifact store: an open-addressing hash map for
 * lookups plus an array of the same entries kept in key order for every
 * enumeration.  Keys are never removed, so the map needs no tombstones and
 * an entry (with its key, allocated in the same block) never moves. */
#include "artstore.h"


#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint64_t hash;
    uint64_t version;
    char *producer; /* NULL if none */
    bool valid;
    char key[]; /* the store's copy */
} entry;

struct sim_artstore {
    rc_allocator alloc;
    entry **slots; /* cap slots, NULL = empty; cap is a power of two */
    size_t cap;
    entry **sorted; /* count entries; [0, n_sorted) in key order, the rest new */
    size_t sorted_cap;
    size_t n_sorted;
    size_t count;
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

static char *mem_strdup(const sim_artstore *s, const char *str)
{
    const size_t n = strlen(str) + 1;
    char *copy = mem_alloc(s, n);
    if (copy) memcpy(copy, str, n);
    return copy;
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
static entry **find_slot(entry **slots, size_t cap, const char *key, uint64_t hash)
{
    size_t i = (size_t)hash & (cap - 1);
    while (slots[i] && (slots[i]->hash != hash || strcmp(slots[i]->key, key) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static entry *lookup(const sim_artstore *s, const char *key)
{
    if (!s || !key || s->cap == 0) return NULL;
    return *find_slot(s->slots, s->cap, key, hash_key(key));
}

/* Make room for one more entry in both the map (load <= 1/2) and the sorted
 * array, so that inserting it cannot fail.  0 or RC_ENOMEM. */
static int reserve_one(sim_artstore *s)
{
    if (s->count + 1 > s->sorted_cap) {
        const size_t cap = s->sorted_cap ? s->sorted_cap * 2 : 16;
        entry **sorted = s->alloc.realloc(s->alloc.ud, s->sorted, cap * sizeof *sorted);
        if (!sorted) return RC_ENOMEM;
        s->sorted = sorted;
        s->sorted_cap = cap;
    }
    if (2 * (s->count + 1) > s->cap) {
        const size_t cap = s->cap ? s->cap * 2 : 32;
        entry **slots = mem_alloc(s, cap * sizeof *slots);
        if (!slots) return RC_ENOMEM;
        memset(slots, 0, cap * sizeof *slots);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                *find_slot(slots, cap, s->slots[i]->key, s->slots[i]->hash) = s->slots[i];
        mem_free(s, s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    return 0;
}

static int insert(sim_artstore *s, const char *key, entry **out)
{
    if (reserve_one(s) != 0) return RC_ENOMEM;
    const size_t len = strlen(key) + 1;
    entry *e = mem_alloc(s, sizeof *e + len);
    if (!e) return RC_ENOMEM;
    e->hash = hash_key(key);
    e->version = 0;
    e->producer = NULL;
    e->valid = false;
    memcpy(e->key, key, len);
    *find_slot(s->slots, s->cap, key, e->hash) = e;
    s->sorted[s->count++] = e;
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

/* Bring the keys added since the last enumeration into order.  A few new
 * keys are placed by binary search; many at once are sorted with the rest.
 * Keys are unique, so the order does not depend on the sort's stability. */
static void ensure_sorted(sim_artstore *s)
{
    const size_t fresh = s->count - s->n_sorted;
    if (fresh == 0) return;
    if (fresh > 8 && fresh * 16 > s->n_sorted) {
        qsort(s->sorted, s->count, sizeof *s->sorted, compare_entries);
        s->n_sorted = s->count;
        return;
    }
    for (; s->n_sorted < s->count; s->n_sorted++) {
        entry *e = s->sorted[s->n_sorted];
        size_t lo = 0, hi = s->n_sorted;
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;
            if (strcmp(s->sorted[mid]->key, e->key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(&s->sorted[lo + 1], &s->sorted[lo], (s->n_sorted - lo) * sizeof *s->sorted);
        s->sorted[lo] = e;
    }
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
    for (size_t i = 0; i < store->count; i++) {
        mem_free(store, store->sorted[i]->producer);
        mem_free(store, store->sorted[i]);
    }
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

static void notify(const sim_artstore *s, const char *key)
{
    if (s->listener) s->listener(key, s->listener_ud);
}

int sim_artstore_write(sim_artstore *store, const char *key, const char *producer)
{
    if (!store || !key) return RC_EINVAL;
    /* Copy the label first: once the entry exists, nothing may fail. */
    char *label = NULL;
    if (producer && !(label = mem_strdup(store, producer))) return RC_ENOMEM;
    entry *e = lookup(store, key);
    if (!e && insert(store, key, &e) != 0) {
        mem_free(store, label);
        return RC_ENOMEM;
    }
    mem_free(store, e->producer);
    e->producer = label;
    e->version++;
    if (!e->valid) store->valid_count++;
    e->valid = true;
    notify(store, e->key);
    return 0;
}

int sim_artstore_invalidate(sim_artstore *store, const char *key)
{
    if (!store || !key) return RC_EINVAL;
    entry *e = lookup(store, key);
    if (!e) return RC_ENOENT;
    if (!e->valid) return 0;
    e->valid = false;
    store->valid_count--;
    notify(store, e->key);
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
    ensure_sorted(store);
    fill(store->sorted[index], out);
    return 0;
}

void sim_artstore_each(sim_artstore *store, void (*fn)(const sim_artifact *artifact, void *ud),
                       void *ud)
{
    if (!store || !fn) return;
    ensure_sorted(store);
    /* Index, not pointer: fn may write keys, and a snapshot per call keeps
     * what fn sees current. */
    for (size_t i = 0; i < store->n_sorted; i++) {
        sim_artifact a;
        fill(store->sorted[i], &a);
        fn(&a, ud);
    }
}
