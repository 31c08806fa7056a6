/* artstore.h -- a fake artifact store for simulations.
 *
 * Maps artifact keys (strings) to {valid, version, producer}.  Producers
 * write artifacts when their work completes, consumers ask whether their
 * inputs are valid, and invalidation makes an artifact stale so the work
 * that produced it must run again.  A change listener hears every write and
 * every invalidation; the simulator connects it to rc_artifacts_changed(cue,
 * key) so the core re-checks exactly the work waiting on that key.
 *
 * Determinism: lookups go through a hash map, but every enumeration
 * (sim_artstore_at, sim_artstore_each) is in ascending strcmp() order of the
 * keys, never in hash or pointer order.  Keys are never removed.
 *
 * Ownership: the store copies keys and producer labels.  Strings it hands
 * out (sim_artifact.key, .producer, the listener's key) belong to the store
 * and are valid until sim_artstore_free() (each distinct producer label is
 * kept once).  Not thread-safe: one thread at a time per store.
 *
 * Errors: 0 or a negative RC_E* code from runcue.h; on error nothing changed
 * and the listener was not called.
 */
#ifndef SIM_ARTSTORE_H
#define SIM_ARTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runcue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim_artstore sim_artstore;

/* A snapshot of one artifact.  The strings belong to the store. */
typedef struct sim_artifact {
    const char *key;
    bool valid;
    uint64_t version;     /* writes so far: 1 after the first */
    const char *producer; /* the label of the last write; NULL if none */
} sim_artifact;

typedef struct sim_artref sim_artref;

/* Called after a write or an invalidation changed `key` (whose handle is
 * `ref`).  It may read the store and write or invalidate other existing keys
 * (their listener calls nest); it must not free the store. */
typedef void (*sim_artstore_listener_fn)(const char *key, sim_artref *ref, void *ud);

/* Create an empty store.  alloc may be NULL (the C library).
 * Errors: RC_EINVAL (out NULL), RC_ENOMEM. */
int sim_artstore_new(sim_artstore **out, const rc_allocator *alloc);
/* Free the store and every string it handed out.  NULL is a no-op. */
void sim_artstore_free(sim_artstore *store);

/* Install (fn not NULL) or remove (fn NULL) the one change listener. */
void sim_artstore_set_listener(sim_artstore *store, sim_artstore_listener_fn fn, void *ud);

/*
 * Write `key`: create it if new, mark it valid, add one to its version and
 * record `producer` (copied; NULL clears the label).  Then the listener is
 * called with the key.  Errors: RC_EINVAL (store or key NULL), RC_ENOMEM.
 */
int sim_artstore_write(sim_artstore *store, const char *key, const char *producer);

/*
 * Handles: a key resolved once, for callers that ask about the same keys
 * again and again (the simulator resolves a work's needs and produces when
 * it is submitted).  sim_artstore_ref returns the key's handle, making one
 * if the key was never written -- such a key still does not exist for every
 * other call until its first write.  A handle belongs to the store and stays
 * valid until sim_artstore_free().  NULL: out of memory (or NULL argument).
 * sim_artstore_write_ref is sim_artstore_write for a handle.
 */
sim_artref *sim_artstore_ref(sim_artstore *store, const char *key);
/* A handle for a key the caller knows the store does not have, made without
 * a lookup and NOT findable by name afterwards (no by-name call sees it; the
 * sorted enumeration and the counts do): for a caller that indexes the keys
 * itself (the simulator, through the core's key entries) and so reaches
 * every key through its handle.  The store borrows `key`: the caller keeps
 * it unchanged until the store is freed.  NULL: out of memory (or NULL
 * argument). */
sim_artref *sim_artstore_add(sim_artstore *store, const char *key);
/* sim_artstore_invalidate for a handle. */
int sim_artstore_invalidate_ref(sim_artstore *store, sim_artref *ref);
int sim_artstore_write_ref(sim_artstore *store, sim_artref *ref, const char *producer);
/* The store's one copy of a producer label (kept until the store is freed),
 * for writes that name the same producer many times; NULL: out of memory
 * (or NULL argument). */
const char *sim_artstore_label(sim_artstore *store, const char *producer);
/* sim_artstore_write_ref with a label sim_artstore_label gave (NULL: none),
 * which is neither copied nor looked up again. */
int sim_artstore_write_ref_label(sim_artstore *store, sim_artref *ref, const char *label);
const char *sim_artref_key(const sim_artref *ref);
bool sim_artref_exists(const sim_artref *ref);
bool sim_artref_is_valid(const sim_artref *ref);
/* A pointer of the caller's kept with the handle (NULL until set). */
void *sim_artref_ud(const sim_artref *ref);
void sim_artref_set_ud(sim_artref *ref, void *ud);

/*
 * Mark `key` invalid.  Returns 1 if it was valid (the listener is called), 0
 * if it already was invalid (nothing happens), RC_ENOENT if the key was never
 * written, RC_EINVAL if store or key is NULL.  The version is unchanged.
 */
int sim_artstore_invalidate(sim_artstore *store, const char *key);

/* Queries.  An unknown key (or a NULL argument) is: not existing, not valid,
 * version 0, producer NULL. */
bool sim_artstore_exists(const sim_artstore *store, const char *key);
bool sim_artstore_is_valid(const sim_artstore *store, const char *key);
uint64_t sim_artstore_version(const sim_artstore *store, const char *key);
const char *sim_artstore_producer(const sim_artstore *store, const char *key);
/* Fill *out.  0 or RC_ENOENT (RC_EINVAL for NULL arguments). */
int sim_artstore_get(const sim_artstore *store, const char *key, sim_artifact *out);

/* How many keys the store holds; how many of them are valid. */
size_t sim_artstore_count(const sim_artstore *store);
size_t sim_artstore_valid_count(const sim_artstore *store);

/*
 * Enumerate in ascending strcmp() order of the keys.  Both take a mutable
 * store because the sorted order is computed on demand.
 *
 * sim_artstore_at: the index-th key in that order, 0 <= index < count.
 *   0, RC_ENOENT (index out of range) or RC_ENOMEM.
 * sim_artstore_each: call fn for every artifact in that order.  fn may write
 *   and invalidate keys; a key it creates is not visited this time.  0,
 *   RC_EINVAL (store or fn NULL) or RC_ENOMEM (fn not called).
 * The order is made when first asked for after keys were written (a store
 * that is never enumerated keeps no list of its keys), which is what can
 * run out of memory.
 */
int sim_artstore_at(sim_artstore *store, size_t index, sim_artifact *out);
int sim_artstore_each(sim_artstore *store, void (*fn)(const sim_artifact *artifact, void *ud),
                      void *ud);

#ifdef __cplusplus
}
#endif
#endif /* SIM_ARTSTORE_H */
