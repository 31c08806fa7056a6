/* test_artstore.c -- the fake artifact store: writes, versions, invalidation,
 * the change listener, sorted enumeration and clean failure. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artstore.h"
#include "pcg32.h"

static sim_artstore *new_store(void)
{
    sim_artstore *s = NULL;
    cr_assert_eq(sim_artstore_new(&s, NULL), 0);
    cr_assert_not_null(s);
    return s;
}

/* A listener that records the keys it hears, joined by spaces. */
typedef struct heard {
    char keys[4096];
    int calls;
} heard;

static void record_key(const char *key, sim_artref *ref, void *ud)
{
    heard *h = ud;
    /* The listener gets the key's own handle. */
    cr_assert_str_eq(sim_artref_key(ref), key);
    if (h->calls++) strcat(h->keys, " ");
    strcat(h->keys, key);
}

Test(artstore, an_empty_store_knows_nothing)
{
    sim_artstore *s = new_store();
    cr_assert_eq(sim_artstore_count(s), 0);
    cr_assert_eq(sim_artstore_valid_count(s), 0);
    cr_assert_not(sim_artstore_exists(s, "a"));
    cr_assert_not(sim_artstore_is_valid(s, "a"));
    cr_assert_eq(sim_artstore_version(s, "a"), 0);
    cr_assert_null(sim_artstore_producer(s, "a"));
    sim_artifact a;
    cr_assert_eq(sim_artstore_get(s, "a", &a), RC_ENOENT);
    cr_assert_eq(sim_artstore_at(s, 0, &a), RC_ENOENT);
    sim_artstore_free(s);
}

Test(artstore, a_write_makes_the_key_valid_at_version_one)
{
    sim_artstore *s = new_store();
    cr_assert_eq(sim_artstore_write(s, "pages/001.png", "split_pdf"), 0);
    cr_assert(sim_artstore_exists(s, "pages/001.png"));
    cr_assert(sim_artstore_is_valid(s, "pages/001.png"));
    cr_assert_eq(sim_artstore_version(s, "pages/001.png"), 1);
    cr_assert_str_eq(sim_artstore_producer(s, "pages/001.png"), "split_pdf");
    cr_assert_eq(sim_artstore_count(s), 1);
    cr_assert_eq(sim_artstore_valid_count(s), 1);
    sim_artstore_free(s);
}

Test(artstore, every_write_increments_the_version_and_replaces_the_producer)
{
    sim_artstore *s = new_store();
    for (uint64_t v = 1; v <= 5; v++) {
        char producer[16];
        snprintf(producer, sizeof producer, "run%llu", (unsigned long long)v);
        cr_assert_eq(sim_artstore_write(s, "k", producer), 0);
        cr_assert_eq(sim_artstore_version(s, "k"), v);
        cr_assert_str_eq(sim_artstore_producer(s, "k"), producer);
    }
    cr_assert_eq(sim_artstore_write(s, "k", NULL), 0);
    cr_assert_null(sim_artstore_producer(s, "k"));
    cr_assert_eq(sim_artstore_version(s, "k"), 6);
    cr_assert_eq(sim_artstore_count(s), 1);
    sim_artstore_free(s);
}

Test(artstore, the_store_copies_keys_and_labels)
{
    sim_artstore *s = new_store();
    char key[] = "mutable", label[] = "who";
    cr_assert_eq(sim_artstore_write(s, key, label), 0);
    key[0] = 'X';
    label[0] = 'X';
    cr_assert(sim_artstore_is_valid(s, "mutable"));
    cr_assert_str_eq(sim_artstore_producer(s, "mutable"), "who");
    sim_artstore_free(s);
}

Test(artstore, invalidate_makes_a_valid_key_stale_and_keeps_its_version)
{
    sim_artstore *s = new_store();
    sim_artstore_write(s, "a", "p");
    sim_artstore_write(s, "a", "p");
    cr_assert_eq(sim_artstore_invalidate(s, "a"), 1);
    cr_assert(sim_artstore_exists(s, "a"));
    cr_assert_not(sim_artstore_is_valid(s, "a"));
    cr_assert_eq(sim_artstore_version(s, "a"), 2);
    cr_assert_eq(sim_artstore_valid_count(s), 0);
    cr_assert_eq(sim_artstore_invalidate(s, "a"), 0, "already invalid");
    cr_assert_eq(sim_artstore_invalidate(s, "never"), RC_ENOENT);
    cr_assert_not(sim_artstore_exists(s, "never"), "invalidate must not create keys");
    /* A new write makes it valid again at the next version. */
    cr_assert_eq(sim_artstore_write(s, "a", "q"), 0);
    cr_assert(sim_artstore_is_valid(s, "a"));
    cr_assert_eq(sim_artstore_version(s, "a"), 3);
    cr_assert_eq(sim_artstore_valid_count(s), 1);
    sim_artstore_free(s);
}

Test(artstore, the_listener_hears_each_change_once_after_it_happened)
{
    sim_artstore *s = new_store();
    heard h = {.calls = 0};
    sim_artstore_set_listener(s, record_key, &h);
    sim_artstore_write(s, "b", NULL);
    sim_artstore_write(s, "a", NULL);
    sim_artstore_write(s, "b", NULL);
    sim_artstore_invalidate(s, "a");
    sim_artstore_invalidate(s, "a");    /* no change: not heard */
    sim_artstore_invalidate(s, "nope"); /* unknown: not heard */
    cr_assert_str_eq(h.keys, "b a b a");
    cr_assert_eq(h.calls, 4);

    sim_artstore_set_listener(s, NULL, NULL);
    sim_artstore_write(s, "c", NULL);
    cr_assert_eq(h.calls, 4);
    sim_artstore_free(s);
}

typedef struct observer {
    sim_artstore *store;
    bool valid_seen;
    uint64_t version_seen;
} observer;

static void observe(const char *key, sim_artref *ref, void *ud)
{
    observer *o = ud;
    cr_assert_eq(sim_artref_is_valid(ref), sim_artstore_is_valid(o->store, key));
    o->valid_seen = sim_artstore_is_valid(o->store, key);
    o->version_seen = sim_artstore_version(o->store, key);
}

Test(artstore, the_listener_sees_the_new_state)
{
    sim_artstore *s = new_store();
    observer o = {.store = s};
    sim_artstore_set_listener(s, observe, &o);
    sim_artstore_write(s, "x", "p");
    cr_assert(o.valid_seen);
    cr_assert_eq(o.version_seen, 1);
    sim_artstore_invalidate(s, "x");
    cr_assert_not(o.valid_seen);
    cr_assert_eq(o.version_seen, 1);
    sim_artstore_free(s);
}

static const char *const shuffled[] = {
    "pages/010.png", "b",  "pages/002.png", "a", "B", "", "pages/001.png", "aa", "z", "A",
    "\xC3\xA9",      "a/b"};
#define N_SHUFFLED (sizeof shuffled / sizeof shuffled[0])

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Test(artstore, at_enumerates_in_sorted_key_order)
{
    sim_artstore *s = new_store();
    for (size_t i = 0; i < N_SHUFFLED; i++)
        cr_assert_eq(sim_artstore_write(s, shuffled[i], NULL), 0);
    const char *want[N_SHUFFLED];
    memcpy(want, shuffled, sizeof want);
    qsort(want, N_SHUFFLED, sizeof want[0], compare_strings);
    cr_assert_eq(sim_artstore_count(s), N_SHUFFLED);
    for (size_t i = 0; i < N_SHUFFLED; i++) {
        sim_artifact a;
        cr_assert_eq(sim_artstore_at(s, i, &a), 0);
        cr_assert_str_eq(a.key, want[i], "index %zu", i);
        cr_assert(a.valid);
        cr_assert_eq(a.version, 1);
    }
    sim_artifact a;
    cr_assert_eq(sim_artstore_at(s, N_SHUFFLED, &a), RC_ENOENT);
    sim_artstore_free(s);
}

typedef struct collected {
    char keys[8192];
    size_t n;
} collected;

static void collect(const sim_artifact *a, void *ud)
{
    collected *c = ud;
    char item[128];
    snprintf(item, sizeof item, "%s%s:%d:%llu", c->n++ ? " " : "", a->key, a->valid,
             (unsigned long long)a->version);
    strcat(c->keys, item);
}

Test(artstore, each_enumerates_in_sorted_order_with_current_state)
{
    sim_artstore *s = new_store();
    sim_artstore_write(s, "c", NULL);
    sim_artstore_write(s, "a", NULL);
    sim_artstore_write(s, "b", NULL);
    sim_artstore_write(s, "a", NULL);
    sim_artstore_invalidate(s, "b");
    collected c = {.n = 0};
    sim_artstore_each(s, collect, &c);
    cr_assert_str_eq(c.keys, "a:1:2 b:0:1 c:1:1");
    sim_artstore_free(s);
}

/* Insert the same keys in many random orders, interleaving enumerations so
 * both the few-new-keys path and the sort-all path run: the order is always
 * the sorted one. */
Test(artstore, enumeration_order_does_not_depend_on_insertion_order)
{
    enum { N = 500 };
    static char keys[N][16];
    static const char *sorted[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%05zu", (i * 7919) % N);
        sorted[i] = keys[i];
    }
    qsort(sorted, N, sizeof sorted[0], compare_strings);
    for (uint64_t seed = 1; seed <= 10; seed++) {
        sim_pcg32 rng;
        sim_pcg32_init(&rng, seed, 0);
        size_t order[N];
        for (size_t i = 0; i < N; i++)
            order[i] = i;
        for (size_t i = N - 1; i > 0; i--) { /* Fisher-Yates */
            const size_t j = sim_pcg32_bounded(&rng, (uint32_t)(i + 1));
            const size_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        sim_artstore *s = new_store();
        for (size_t i = 0; i < N; i++) {
            cr_assert_eq(sim_artstore_write(s, keys[order[i]], NULL), 0);
            if (sim_pcg32_bounded(&rng, 50) == 0) {
                sim_artifact a;
                cr_assert_eq(sim_artstore_at(s, 0, &a), 0);
            }
        }
        for (size_t i = 0; i < N; i++) {
            sim_artifact a;
            cr_assert_eq(sim_artstore_at(s, i, &a), 0);
            cr_assert_str_eq(a.key, sorted[i], "seed %llu index %zu", (unsigned long long)seed, i);
        }
        sim_artstore_free(s);
    }
}

Test(artstore, many_keys_stay_findable_through_growth)
{
    enum { N = 20000 };
    sim_artstore *s = new_store();
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "artifact/%d", i);
        cr_assert_eq(sim_artstore_write(s, key, i % 2 ? "odd" : NULL), 0);
        if (i % 3 == 0) cr_assert_eq(sim_artstore_invalidate(s, key), 1);
    }
    cr_assert_eq(sim_artstore_count(s), N);
    size_t valid = 0;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "artifact/%d", i);
        cr_assert(sim_artstore_exists(s, key), "%s lost", key);
        cr_assert_eq(sim_artstore_is_valid(s, key), i % 3 != 0);
        valid += i % 3 != 0;
    }
    cr_assert_eq(sim_artstore_valid_count(s), valid);
    sim_artstore_free(s);
}

Test(artstore, null_arguments_are_rejected_not_crashed_on)
{
    sim_artstore *s = new_store();
    cr_assert_eq(sim_artstore_new(NULL, NULL), RC_EINVAL);
    cr_assert_eq(sim_artstore_write(s, NULL, "p"), RC_EINVAL);
    cr_assert_eq(sim_artstore_write(NULL, "k", "p"), RC_EINVAL);
    cr_assert_eq(sim_artstore_invalidate(s, NULL), RC_EINVAL);
    cr_assert_not(sim_artstore_exists(NULL, "k"));
    cr_assert_not(sim_artstore_is_valid(s, NULL));
    cr_assert_eq(sim_artstore_count(NULL), 0);
    sim_artifact a;
    cr_assert_eq(sim_artstore_get(s, NULL, &a), RC_EINVAL);
    cr_assert_eq(sim_artstore_at(s, 0, NULL), RC_EINVAL);
    sim_artstore_free(NULL);
    sim_artstore_free(s);
}

/* An allocator that fails the n-th allocation (counting from 1) and counts
 * live blocks, so a test can check nothing leaks or changes on failure. */
typedef struct flaky {
    int countdown; /* fail when it reaches 0; negative: never */
    long live;
} flaky;

static void *flaky_realloc(void *ud, void *p, size_t n)
{
    flaky *f = ud;
    if (n == 0) {
        if (p) f->live--;
        free(p);
        return NULL;
    }
    if (f->countdown >= 0 && f->countdown-- == 0) return NULL;
    void *q = realloc(p, n);
    if (q && !p) f->live++;
    return q;
}

Test(artstore, out_of_memory_changes_nothing_and_leaks_nothing)
{
    /* Fail each allocation of a run of writes in turn; every failed write
     * must leave the store as it was and not call the listener. */
    for (int fail_at = 0; fail_at < 60; fail_at++) {
        flaky f = {.countdown = -1};
        const rc_allocator alloc = {flaky_realloc, &f};
        sim_artstore *s = NULL;
        cr_assert_eq(sim_artstore_new(&s, &alloc), 0);
        heard h = {.calls = 0};
        sim_artstore_set_listener(s, record_key, &h);
        f.countdown = fail_at;
        int failures = 0;
        char key[16];
        for (int i = 0; i < 40; i++) {
            snprintf(key, sizeof key, "k%02d", i % 30);
            const size_t count = sim_artstore_count(s);
            const uint64_t version = sim_artstore_version(s, key);
            const int calls = h.calls;
            const int rc = sim_artstore_write(s, key, "producer");
            if (rc == RC_ENOMEM) {
                failures++;
                cr_assert_eq(sim_artstore_count(s), count);
                cr_assert_eq(sim_artstore_version(s, key), version);
                cr_assert_eq(h.calls, calls);
            } else {
                cr_assert_eq(rc, 0);
                cr_assert_eq(sim_artstore_version(s, key), version + 1);
            }
        }
        cr_assert_leq(failures, 1);
        f.countdown = -1; /* the enumeration's own failure: below */
        sim_artifact a;
        for (size_t i = 0; i < sim_artstore_count(s); i++)
            cr_assert_eq(sim_artstore_at(s, i, &a), 0);
        sim_artstore_free(s);
        cr_assert_eq(f.live, 0, "fail_at %d leaked %ld blocks", fail_at, f.live);
    }

    flaky f = {.countdown = 0};
    const rc_allocator alloc = {flaky_realloc, &f};
    sim_artstore *s = (sim_artstore *)&f;
    cr_assert_eq(sim_artstore_new(&s, &alloc), RC_ENOMEM);
    cr_assert_null(s);
}

/* The sorted order is made when first asked for: out of memory then is
 * an error of the enumeration, which changes nothing, and the next one
 * works. */
Test(artstore, an_enumeration_out_of_memory_says_so_and_the_next_works)
{
    flaky f = {.countdown = -1};
    const rc_allocator alloc = {flaky_realloc, &f};
    sim_artstore *s = NULL;
    cr_assert_eq(sim_artstore_new(&s, &alloc), 0);
    cr_assert_eq(sim_artstore_write(s, "b", "p"), 0);
    cr_assert_eq(sim_artstore_write(s, "a", NULL), 0);
    sim_artifact a;
    f.countdown = 0;
    cr_assert_eq(sim_artstore_at(s, 0, &a), RC_ENOMEM);
    f.countdown = 0;
    collected c = {0};
    cr_assert_eq(sim_artstore_each(s, collect, &c), RC_ENOMEM);
    cr_assert_eq(c.n, 0, "fn is not called");
    cr_assert_eq(sim_artstore_each(NULL, collect, &c), RC_EINVAL);
    cr_assert_eq(sim_artstore_each(s, NULL, &c), RC_EINVAL);
    f.countdown = -1;
    cr_assert_eq(sim_artstore_at(s, 0, &a), 0);
    cr_assert_str_eq(a.key, "a");
    cr_assert_eq(sim_artstore_each(s, collect, &c), 0);
    cr_assert_str_eq(c.keys, "a:1:1 b:1:1");
    /* Enumerated again after a new key: made again, with it. */
    cr_assert_eq(sim_artstore_write(s, "0", NULL), 0);
    cr_assert_eq(sim_artstore_at(s, 0, &a), 0);
    cr_assert_str_eq(a.key, "0");
    sim_artstore_free(s);
    cr_assert_eq(f.live, 0);
}

Test(artstore, a_handle_names_a_key_that_exists_only_once_written)
{
    sim_artstore *s = new_store();
    sim_artref *r = sim_artstore_ref(s, "b");
    cr_assert_not_null(r);
    cr_assert_eq(sim_artstore_ref(s, "b"), r, "one handle per key");
    cr_assert_str_eq(sim_artref_key(r), "b");
    cr_assert_not(sim_artref_exists(r));
    cr_assert_not(sim_artref_is_valid(r));
    cr_assert_not(sim_artstore_exists(s, "b"));
    cr_assert_eq(sim_artstore_count(s), 0);
    cr_assert_eq(sim_artstore_invalidate(s, "b"), RC_ENOENT);
    sim_artifact a;
    cr_assert_eq(sim_artstore_get(s, "b", &a), RC_ENOENT);
    cr_assert_eq(sim_artstore_at(s, 0, &a), RC_ENOENT);

    heard h = {0};
    sim_artstore_set_listener(s, record_key, &h);
    cr_assert_eq(sim_artstore_write(s, "c", "x"), 0);
    cr_assert_eq(sim_artstore_write_ref(s, r, "p"), 0);
    cr_assert_str_eq(h.keys, "c b");
    cr_assert(sim_artref_exists(r) && sim_artref_is_valid(r));
    cr_assert_eq(sim_artstore_version(s, "b"), 1);
    cr_assert_str_eq(sim_artstore_producer(s, "b"), "p");
    cr_assert_eq(sim_artstore_count(s), 2);
    cr_assert_eq(sim_artstore_at(s, 0, &a), 0);
    cr_assert_str_eq(a.key, "b");
    /* The same label again, then none. */
    cr_assert_eq(sim_artstore_write_ref(s, r, "p"), 0);
    cr_assert_str_eq(sim_artstore_producer(s, "b"), "p");
    cr_assert_eq(sim_artstore_write_ref(s, r, NULL), 0);
    cr_assert_null(sim_artstore_producer(s, "b"));
    cr_assert_eq(sim_artstore_version(s, "b"), 3);
    cr_assert_eq(sim_artstore_invalidate(s, "b"), 1);
    cr_assert_not(sim_artref_is_valid(r));
    sim_artstore_free(s);
}

/* Keys added without a lookup: reached through their handles only, counted
 * and listed like the others once written. */
Test(artstore, added_keys_are_reached_by_handle_not_by_name)
{
    sim_artstore *s = new_store();
    heard h = {.calls = 0};
    sim_artstore_set_listener(s, record_key, &h);
    sim_artref *b = sim_artstore_add(s, "b"), *a = sim_artstore_add(s, "a");
    cr_assert(a && b && a != b);
    cr_assert_str_eq(sim_artref_key(a), "a");
    cr_assert_not(sim_artref_exists(a));
    cr_assert_eq(sim_artstore_invalidate_ref(s, a), RC_ENOENT, "never written");
    cr_assert_eq(sim_artstore_count(s), 0);
    cr_assert_eq(sim_artstore_write_ref(s, b, "p"), 0);
    cr_assert_eq(sim_artstore_write_ref(s, a, "q"), 0);
    cr_assert_not(sim_artstore_exists(s, "a"), "not findable by name");
    cr_assert_eq(sim_artstore_count(s), 2);
    cr_assert_eq(sim_artstore_valid_count(s), 2);
    sim_artifact first;
    cr_assert_eq(sim_artstore_at(s, 0, &first), 0);
    cr_assert_str_eq(first.key, "a", "listed in key order");
    cr_assert_str_eq(first.producer, "q");
    cr_assert_eq(sim_artstore_invalidate_ref(s, a), 1);
    cr_assert_eq(sim_artstore_invalidate_ref(s, a), 0, "already invalid: no change");
    cr_assert_not(sim_artref_is_valid(a));
    cr_assert_eq(sim_artstore_valid_count(s), 1);
    cr_assert_str_eq(h.keys, "b a a");
    cr_assert_null(sim_artstore_add(NULL, "x"));
    cr_assert_null(sim_artstore_add(s, NULL));
    cr_assert_eq(sim_artstore_invalidate_ref(NULL, a), RC_EINVAL);
    cr_assert_eq(sim_artstore_invalidate_ref(s, NULL), RC_ENOENT);
    sim_artstore_free(s);
}

/* A label the store kept once names the producer of every write given it,
 * without a copy per write; it is the same copy a write by name keeps. */
Test(artstore, a_kept_label_is_the_producer_of_writes_given_it)
{
    sim_artstore *s = new_store();
    char name[8] = "extract";
    const char *label = sim_artstore_label(s, name);
    cr_assert_not_null(label);
    cr_assert_str_eq(label, "extract");
    cr_assert_neq(label, name, "the store's own copy");
    cr_assert_eq(sim_artstore_label(s, "extract"), label, "kept once");
    memcpy(name, "changed", 8); /* the caller's buffer is not the label */
    heard h = {0};
    sim_artstore_set_listener(s, record_key, &h);
    sim_artref *a = sim_artstore_add(s, "a"), *b = sim_artstore_add(s, "b");
    cr_assert(a && b);
    cr_assert_eq(sim_artstore_write_ref_label(s, a, label), 0);
    cr_assert_eq(sim_artstore_write_ref_label(s, b, label), 0);
    cr_assert_eq(sim_artstore_write_ref(s, b, "extract"), 0);
    cr_assert_str_eq(h.keys, "a b b", "each write heard");
    cr_assert(sim_artref_is_valid(a) && sim_artref_exists(b));
    cr_assert_eq(sim_artstore_count(s), 2);
    sim_artifact first, second;
    cr_assert_eq(sim_artstore_at(s, 0, &first), 0);
    cr_assert_eq(sim_artstore_at(s, 1, &second), 0);
    cr_assert_eq(first.producer, label, "no copy per write");
    cr_assert_eq(second.producer, label, "a write by name finds the same copy");
    cr_assert_eq(second.version, 2);
    cr_assert_eq(sim_artstore_write_ref_label(s, a, NULL), 0);
    cr_assert_eq(sim_artstore_at(s, 0, &first), 0);
    cr_assert_null(first.producer, "NULL: no producer");
    cr_assert_null(sim_artstore_label(NULL, "x"));
    cr_assert_null(sim_artstore_label(s, NULL));
    cr_assert_eq(sim_artstore_write_ref_label(NULL, a, label), RC_EINVAL);
    cr_assert_eq(sim_artstore_write_ref_label(s, NULL, label), RC_EINVAL);
    sim_artstore_free(s);
}
