/* test_keytab.c -- white-box tests of the cue's key table (keytab.c), its
 * slab allocator (small.c), and the references the cue keeps on entries.
 *
 *   keytab    a randomized differential test: thousands of seeded intern /
 *             find / reference / waiter / drop steps against a plain array
 *             that knows which keys must be there, with families of keys
 *             chosen to share their home slot (long probe chains, runs that
 *             wrap around the end of the slot array, deletions from the
 *             middle of them).  After every step: the count, every key's
 *             find, and the table's own invariants.
 *   small     every size class aligned to 8 and distinct while live, freed
 *             objects reused by their class, larger requests passed to the
 *             allocator, fini freeing every slab (a counting allocator says
 *             so; LeakSanitizer too in the ASan build), poisoning under ASan.
 *   cue_keys  the cue's table through the public API: checks, cancels,
 *             result inputs and refused submissions leave no entry behind;
 *             a saturated entry is refused; rc_cue_free frees every entry. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cue_types.h"
#include "keytab.h"
#include "small.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* ---- a counting allocator (testutil's) ---- */

typedef tu_counting counting;
#define counting_realloc tu_counting_realloc

static rc_alloc counting_alloc(counting *c)
{
    return (rc_alloc){counting_realloc, c};
}

/* ---- a seeded generator ---- */

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: the state must not be 0. */
    uint64_t x = *s ? *s : UINT64_C(0x2545F4914F6CDD1D);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static size_t below(uint64_t *s, size_t n)
{
    return (size_t)(next_rand(s) % n);
}

/* ================================================================== */
/* keytab: differential test                                           */
/* ================================================================== */

/* The reference: which keys must be in the table, and what refers to them. */
typedef struct ref_key {
    const char *key;
    rc_keyent *e; /* what the table returned; NULL: must not be there */
    uint32_t refs;
    bool waiting; /* node is in e->waiters */
    rc_dnode node;
} ref_key;

enum {
    FAMILY = 48,  /* keys per colliding family */
    FAMILIES = 3, /* home slots 1023, 0 and 1 of a 1024-slot table */
    PLAIN = 160,  /* keys of any hash, some longer than a small object */
    KEYS = FAMILY * FAMILIES + PLAIN,
    KEY_MAX = 16 + 250 + PLAIN, /* the longest plain key, and room */
    ABSENT = 24,                /* keys that are never interned */
    HOME_SHIFT = 22, /* a family: keys whose hash's low 32 bits share their top
                        10 (see add_family) */
    STEPS = 4000,
    SEEDS = 6,
};

/* The keys, made once per process: finding a family takes ~50k hashes. */
static char universe[KEYS][KEY_MAX];
static char absent[ABSENT][32];

/* Keys whose home is `home` in a table of 1024 slots (the top 10 of the
 * hash's low 32 bits), at *n on.  rc_keytab_home scales those bits to the
 * table, so the families used here share one home in every table of up to
 * 1024 slots, of whatever size: 1023's is the last slot, 0's the first, and
 * 1's the first or (in larger tables) the second. */
static void add_family(size_t *n, size_t home)
{
    size_t len;
    for (unsigned long i = 0, found = 0; found < FAMILY; i++) {
        char *k = universe[*n];
        snprintf(k, KEY_MAX, "fam%zu/%lu", home, i);
        if ((uint32_t)rc_keytab_hash(k, &len) >> HOME_SHIFT != home) continue;
        cr_assert_eq(len, strlen(k));
        found++;
        ++*n;
    }
}

static void make_universe(void)
{
    static bool made;
    if (made) return;
    size_t n = 0;
    add_family(&n, 1023); /* the last slot: its runs wrap to slot 0 */
    add_family(&n, 0);
    add_family(&n, 1);
    for (size_t i = 0; i < PLAIN; i++) {
        /* "p<i>/" and letters: mostly short, some longer than a slab's
         * objects (their entries come from the allocator), one empty. */
        const size_t extra = i % 17 == 0 ? 250 + i : i % 40;
        char *k = universe[n++];
        size_t len = i == 0 ? 0 : (size_t)snprintf(k, 16, "p%zu/", i);
        for (size_t j = 0; i && j < extra; j++)
            k[len++] = (char)('a' + (i * 7 + j * 13) % 26);
        k[len] = 0;
    }
    cr_assert_eq(n, (size_t)KEYS);
    for (size_t i = 0; i < ABSENT; i++)
        snprintf(absent[i], sizeof absent[i], "absent/%zu", i);
    made = true;
}

typedef struct model {
    ref_key keys[KEYS];
    size_t live;
    rc_keytab t;
    rc_small sm;
    counting cnt;
    rc_alloc a;
    uint64_t seed;  /* the generator's state */
    uint64_t seed0; /* where it started, for messages */
    size_t step;
} model;

static void model_init(model *m, uint64_t seed)
{
    make_universe();
    memset(m, 0, sizeof *m);
    m->seed = m->seed0 = seed;
    m->a = counting_alloc(&m->cnt);
    for (size_t i = 0; i < KEYS; i++)
        m->keys[i].key = universe[i];
}

/* The table's memory back: every block of the allocator came back. */
static void model_fini(model *m)
{
    rc_keytab_fini(&m->t, &m->sm, &m->a);
    rc_small_fini(&m->sm, &m->a);
    cr_assert_eq(m->cnt.live, 0, "seed %llu: %ld blocks left", (unsigned long long)m->seed0,
                 m->cnt.live);
}

/* cr_assert with the seed and step the failure came from. */
#define M_ASSERT(m, cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char msg_[256];                                                                        \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);                                              \
            cr_assert_fail("seed %llu, step %zu: %s", (unsigned long long)(m)->seed0, (m)->step,   \
                           msg_);                                                                  \
        }                                                                                          \
    } while (0)

/* The table's own invariants: a size in steps of 64 at most 70% full, the
 * count of the entries, each slot's hash its entry's, and no empty slot
 * between an entry's home and its slot (else find would stop short). */
static void check_table(model *m)
{
    const rc_keytab *t = &m->t;
    if (!t->cap) {
        M_ASSERT(m, t->count == 0, "no slots, %zu entries", t->count);
        return;
    }
    M_ASSERT(m, t->cap % 64 == 0, "cap %zu", t->cap);
    M_ASSERT(m, (t->count + t->deleted) * 10 <= t->cap * 7, "%zu entries and %zu tombstones in %zu slots",
             t->count, t->deleted, t->cap);
    size_t n = 0, dead = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const uint8_t c = t->ctrl[i];
        if (c == RC_KEYTAB_DELETED) dead++;
        if (!(c & 0x80)) {
            M_ASSERT(m, c == RC_KEYTAB_EMPTY || c == RC_KEYTAB_DELETED, "slot %zu: control %u", i, c);
            continue;
        }
        const rc_keyent *e = t->ents[i];
        n++;
        size_t len;
        const uint64_t h = rc_keytab_hash(e->text, &len);
        M_ASSERT(m, c == rc_keytab_tag(h), "slot %zu: tag differs from its key's hash", i);
        M_ASSERT(m, e->hash == (uint32_t)h, "slot %zu: the entry's hash", i);
        for (size_t j = rc_keytab_home(t, e->hash); j != i; j = rc_keytab_next(t, j))
            M_ASSERT(m, t->ctrl[j] != RC_KEYTAB_EMPTY, "slot %zu: a hole at %zu on the way from home",
                     i, j);
    }
    M_ASSERT(m, dead == t->deleted, "%zu tombstones, counted %zu", dead, t->deleted);
    M_ASSERT(m, n == t->count, "%zu entries in slots, count %zu", n, t->count);
}

/* Every key is found exactly when the reference has it, as the same entry,
 * whole. */
static void check_all(model *m)
{
    M_ASSERT(m, m->t.count == m->live, "count %zu, expected %zu", m->t.count, m->live);
    for (size_t i = 0; i < (size_t)KEYS; i++) {
        const ref_key *r = &m->keys[i];
        rc_keyent *e = rc_keytab_find(&m->t, r->key);
        M_ASSERT(m, e == r->e, "find(\"%.40s\") gave %p, expected %p", r->key, (void *)e,
                 (void *)r->e);
        if (!e) continue;
        M_ASSERT(m, e->ud == r && e->refs == r->refs && (e->waiters.first != NULL) == r->waiting,
                 "entry of \"%.40s\" changed", r->key);
        M_ASSERT(m, strcmp(e->text, r->key) == 0, "text of \"%.40s\"",
                 r->key);
    }
    for (size_t i = 0; i < ABSENT; i++)
        M_ASSERT(m, !rc_keytab_find(&m->t, absent[i]), "%.31s found", absent[i]);
    check_table(m);
}

/* Intern r's key; the entry must be r's if the reference has one, else new
 * and blank.  The entry's ud points back to r. */
static rc_keyent *intern(model *m, ref_key *r)
{
    rc_keyent *e = rc_keytab_intern(&m->t, &m->sm, &m->a, r->key);
    M_ASSERT(m, e, "intern(\"%.40s\") failed", r->key);
    if (r->e) {
        M_ASSERT(m, e == r->e, "intern(\"%.40s\") made a second entry", r->key);
        return e;
    }
    size_t len;
    M_ASSERT(m, e->refs == 0 && !e->waiters.first && !e->ud, "a new entry is blank");
    M_ASSERT(m, e->hash == (uint32_t)rc_keytab_hash(r->key, &len) && len == strlen(e->text),
             "hash and length");
    M_ASSERT(m, ((uintptr_t)e & 7) == 0, "entry aligned");
    e->ud = r;
    r->e = e;
    m->live++;
    return e;
}

/* The reference's side of rc_keytab_drop_unused. */
static void forget_if_unused(model *m, ref_key *r)
{
    if (r->refs || r->waiting) return;
    r->e = NULL;
    m->live--;
}

/* One reference fewer (rc_key_release, a forgotten work). */
static void release(model *m, ref_key *r)
{
    rc_keytab_unref(&m->t, &m->sm, &m->a, r->e);
    r->refs--;
    forget_if_unused(m, r);
}

/* The work waiting on r's key leaves its list (rc_unlink_pending). */
static void unwait(model *m, ref_key *r)
{
    rc_keyent *e = r->e;
    rc_ring_remove(&e->waiters, &r->node);
    r->waiting = false;
    if (!e->waiters.first && !e->refs) rc_keytab_drop_unused(&m->t, &m->sm, &m->a, e);
    forget_if_unused(m, r);
}

/* Steps, like the cue's uses of the table. */
typedef enum op { OP_HOLD, OP_PEEK, OP_RELEASE, OP_WAIT, OP_UNWAIT, OP_DROP_USED, OP_N } op;

/* A key the reference has; NULL if none matches. */
static ref_key *pick_live(model *m, bool (*fits)(const ref_key *))
{
    const size_t start = below(&m->seed, (size_t)KEYS);
    for (size_t k = 0; k < (size_t)KEYS; k++) {
        ref_key *r = &m->keys[(start + k) % (size_t)KEYS];
        if (r->e && fits(r)) return r;
    }
    return NULL;
}

static bool has_refs(const ref_key *r)
{
    return r->refs > 0;
}

static bool is_waiting(const ref_key *r)
{
    return r->waiting;
}

static bool is_held_or_waited(const ref_key *r)
{
    return r->refs > 0 || r->waiting;
}

static void run_step(model *m, op o)
{
    ref_key *r = &m->keys[below(&m->seed, (size_t)KEYS)];
    rc_keyent *e;
    switch (o) {
    case OP_HOLD: /* rc_key_hold, a declaring work */
        e = intern(m, r);
        e->refs++;
        r->refs++;
        break;
    case OP_PEEK: /* a check that named a key and did not file the work */
        e = intern(m, r);
        e->refs++;
        rc_keytab_unref(&m->t, &m->sm, &m->a, e);
        forget_if_unused(m, r);
        break;
    case OP_RELEASE:
        if ((r = pick_live(m, has_refs))) release(m, r);
        break;
    case OP_WAIT: /* rc_check_wait_on + file_waiting + the check's end */
        if (r->waiting) return;
        e = intern(m, r);
        e->refs++;
        rc_ring_push_back(&e->waiters, &r->node);
        r->waiting = true;
        rc_keytab_unref(&m->t, &m->sm, &m->a, e);
        break;
    case OP_UNWAIT:
        if ((r = pick_live(m, is_waiting))) unwait(m, r);
        break;
    case OP_DROP_USED: /* must leave an entry something refers to */
        if (!(r = pick_live(m, is_held_or_waited))) return;
        rc_keytab_drop_unused(&m->t, &m->sm, &m->a, r->e);
        break;
    case OP_N:
        break;
    }
}

/* Weights per phase: fill up (the table grows), churn, drain. */
static op pick_op(model *m)
{
    static const unsigned weights[3][OP_N] = {
        {50, 10, 15, 15, 5, 5},
        {25, 10, 25, 15, 15, 10},
        {5, 10, 50, 5, 25, 5},
    };
    const unsigned *w = weights[m->step * 3 / STEPS];
    unsigned total = 0;
    for (int i = 0; i < OP_N; i++)
        total += w[i];
    unsigned x = (unsigned)below(&m->seed, total);
    for (int i = 0; i < OP_N; i++) {
        if (x < w[i]) return (op)i;
        x -= w[i];
    }
    return OP_HOLD;
}

/* Let go of everything, checking on the way: the table ends empty. */
static void drain(model *m)
{
    for (size_t i = 0; i < (size_t)KEYS; i++) {
        ref_key *r = &m->keys[i];
        while (r->refs)
            release(m, r);
        if (r->waiting) unwait(m, r);
        if (i % 16 == 0) check_all(m);
    }
    check_all(m);
    M_ASSERT(m, m->t.count == 0, "%zu entries left", m->t.count);
}

/* The seeded operations, on a table made with room for `reserve` keys
 * first (0: none, it grows from nothing). */
static void seeded_operations(size_t reserve)
{
    static model m;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        model_init(&m, seed * UINT64_C(0x5851F42D4C957F2D));
        if (reserve) cr_assert_eq(rc_keytab_reserve(&m.t, &m.a, reserve), 0);
        const size_t first_cap = m.t.cap;
        size_t peak = 0, peak_cap = 0;
        check_all(&m);
        for (m.step = 0; m.step < STEPS; m.step++) {
            run_step(&m, pick_op(&m));
            check_all(&m);
            if (m.live > peak) peak = m.live;
        }
        peak_cap = m.t.cap;
        /* The run did what it is for: the table grew and held many keys of
         * each family at once. */
        cr_assert_geq(peak, 100, "seed %llu: at most %zu keys at once", (unsigned long long)seed,
                      peak);
        cr_assert_geq(peak_cap, reserve ? 2 * first_cap : 256,
                      "seed %llu: the table only reached %zu slots", (unsigned long long)seed,
                      peak_cap);
        drain(&m);
        model_fini(&m);
    }
}

Test(keytab, agrees_with_a_reference_over_seeded_operations)
{
    seeded_operations(0);
}

Test(keytab, a_table_sized_to_a_reservation_agrees_with_the_reference)
{
    /* 100 keys: 192 slots, three steps of 64, then 384 as it grows -- no
     * power of two, and the first family's runs still wrap from the last
     * slot to the first. */
    seeded_operations(100);
}

Test(keytab, colliding_keys_come_and_go_in_every_order)
{
    /* Exhaustive over a small case: five keys of one home slot, inserted in
     * order, then removed in each of the 120 orders; after each removal the
     * rest are found and the chain has no hole. */
    static model m;
    enum { K = 5 };
    size_t perm[K];
    for (unsigned code = 0; code < 120; code++) {
        model_init(&m, code);
        /* Two stragglers of the neighbouring homes interleave with the run. */
        size_t use[K + 2] = {0, 1, 2, 3, 4, FAMILY, 2 * FAMILY};
        for (size_t i = 0; i < K + 2; i++) {
            ref_key *r = &m.keys[use[i]];
            intern(&m, r)->refs++;
            r->refs++;
        }
        check_all(&m);
        /* The code-th permutation of 0..K-1 (Lehmer code). */
        bool taken[K] = {0};
        unsigned rest = code;
        for (size_t i = 0; i < K; i++) {
            unsigned fact = 1;
            for (size_t f = 2; f < K - i; f++)
                fact *= (unsigned)f;
            unsigned pick = rest / fact;
            rest %= fact;
            for (size_t j = 0; j < K; j++) {
                if (taken[j]) continue;
                if (!pick--) {
                    perm[i] = j;
                    taken[j] = true;
                    break;
                }
            }
        }
        for (size_t i = 0; i < K; i++) {
            m.step = i + 1; /* messages: the code is the seed, the removal the step */
            release(&m, &m.keys[use[perm[i]]]);
            check_all(&m);
        }
        drain(&m);
        model_fini(&m);
    }
}

/* Free a test's table and slabs: every block came back. */
static void table_free(rc_keytab *t, rc_small *sm, const rc_alloc *a, const counting *c)
{
    rc_keytab_fini(t, sm, a);
    rc_small_fini(sm, a);
    cr_assert_eq(c->live, 0, "%ld blocks left", c->live);
}

Test(keytab, a_key_dropped_from_the_last_slot_looks_at_the_first)
{
    /* A 192-slot table (room for 100 keys): the first family's home is the
     * last slot, so its second key wraps to slot 0. */
    make_universe();
    counting c = {0};
    rc_alloc a = counting_alloc(&c);
    rc_keytab t = {0};
    rc_small sm = {0};
    cr_assert_eq(rc_keytab_reserve(&t, &a, 100), 0);
    cr_assert_eq(t.cap, 192);
    const size_t last = t.cap - 1;
    rc_keyent *first = rc_keytab_intern(&t, &sm, &a, universe[0]);
    cr_assert_not_null(first);
    cr_assert_eq(rc_keytab_home(&t, first->hash), last);
    cr_assert_eq(t.ents[last], first);
    cr_assert_eq(t.ctrl[0], RC_KEYTAB_EMPTY);
    /* Alone: dropped with slot 0 empty, its slot is empty again (no
     * tombstone). */
    rc_keytab_drop_unused(&t, &sm, &a, first);
    cr_assert_eq(t.ctrl[last], RC_KEYTAB_EMPTY);
    cr_assert_eq(t.deleted, 0);
    cr_assert_null(rc_keytab_find(&t, universe[0]));
    /* Two: the second in slot 0.  Dropping the first leaves a tombstone
     * (a probe for the second passes there), and the second is found. */
    first = rc_keytab_intern(&t, &sm, &a, universe[0]);
    rc_keyent *second = rc_keytab_intern(&t, &sm, &a, universe[1]);
    cr_assert_eq(t.ents[last], first);
    cr_assert_eq(t.ents[0], second);
    rc_keytab_drop_unused(&t, &sm, &a, first);
    cr_assert_eq(t.ctrl[last], RC_KEYTAB_DELETED);
    cr_assert_eq(t.deleted, 1);
    cr_assert_eq(rc_keytab_find(&t, universe[1]), second);
    /* The second out of slot 0, whose next slot is empty: no tombstone. */
    rc_keytab_drop_unused(&t, &sm, &a, second);
    cr_assert_eq(t.ctrl[0], RC_KEYTAB_EMPTY);
    cr_assert_eq(t.count, 0);
    table_free(&t, &sm, &a, &c);
}

Test(keytab, an_empty_table_finds_nothing)
{
    rc_keytab t = {0};
    cr_assert_null(rc_keytab_find(&t, "anything"));
    cr_assert_null(rc_keytab_find(&t, ""));
    rc_keytab_fini(&t, &(rc_small){0}, &(rc_alloc){counting_realloc, &(counting){0}});
    cr_assert_eq(t.cap, 0);
}

Test(keytab, intern_out_of_memory_returns_null_and_changes_nothing)
{
    counting c = {0};
    rc_alloc a = counting_alloc(&c);
    rc_keytab t = {0};
    rc_small sm = {0};
    c.fail = true;
    cr_assert_null(rc_keytab_intern(&t, &sm, &a, "k"));
    cr_assert_eq(t.count, 0);
    c.fail = false;
    rc_keyent *e = rc_keytab_intern(&t, &sm, &a, "k");
    cr_assert_not_null(e);
    cr_assert_eq(rc_keytab_find(&t, "k"), e);
    cr_assert_eq(t.count, 1);
    rc_keytab_drop_unused(&t, &sm, &a, e);
    cr_assert_eq(t.count, 0);
    cr_assert_null(rc_keytab_find(&t, "k"));
    table_free(&t, &sm, &a, &c);
}

Test(keytab, reserve_makes_room_for_n_and_the_table_then_does_not_grow)
{
    counting c = {0};
    rc_alloc a = counting_alloc(&c);
    rc_keytab t = {0};
    rc_small sm = {0};
    cr_assert_eq(rc_keytab_room(&t), 0);
    cr_assert_eq(rc_keytab_reserve(&t, &a, 0), 0, "room for none: nothing to do");
    cr_assert_eq(t.cap, 0);
    /* Keys made before the reserve are kept through it. */
    char name[32];
    rc_keyent *early[10];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "early/%d", i);
        early[i] = rc_keytab_intern(&t, &sm, &a, name);
        cr_assert_not_null(early[i]);
    }
    cr_assert_eq(rc_keytab_reserve(&t, &a, 1000), 0);
    const size_t cap = t.cap, room = rc_keytab_room(&t);
    cr_assert_geq(room, 1000, "room for %zu", room);
    cr_assert_eq(cap % 64, 0, "in steps of 64: %zu", cap);
    /* 1000 keys at 70% need 1429 slots: the next step of 64, not 2048. */
    cr_assert_eq(cap, 1472, "no bigger than needed: %zu", cap);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "early/%d", i);
        cr_assert_eq(rc_keytab_find(&t, name), early[i], "%s kept", name);
    }
    /* A smaller reserve changes nothing; 990 more keys fit without growing. */
    const long calls = c.calls;
    cr_assert_eq(rc_keytab_reserve(&t, &a, 500), 0);
    cr_assert_eq(c.calls, calls, "no allocation for room already there");
    for (int i = 0; i < 990; i++) {
        snprintf(name, sizeof name, "late/%d", i);
        cr_assert_not_null(rc_keytab_intern(&t, &sm, &a, name));
        cr_assert_eq(t.cap, cap, "the table grew at key %d", i);
    }
    cr_assert_eq(t.count, 1000);
    cr_assert_eq(rc_keytab_room(&t), room);
    /* The next key past the room grows it, as ever. */
    for (size_t i = 0; t.count <= room; i++) {
        snprintf(name, sizeof name, "past/%zu", i);
        cr_assert_not_null(rc_keytab_intern(&t, &sm, &a, name));
    }
    cr_assert_eq(t.cap, 2 * cap);
    for (int i = 0; i < 990; i++) {
        snprintf(name, sizeof name, "late/%d", i);
        cr_assert_not_null(rc_keytab_find(&t, name), "%s after growing", name);
    }
    table_free(&t, &sm, &a, &c);
}

Test(keytab, reserve_counts_tombstones_and_clears_them)
{
    counting c = {0};
    rc_alloc a = counting_alloc(&c);
    rc_keytab t = {0};
    rc_small sm = {0};
    char name[32];
    rc_keyent *e[40];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "k/%d", i);
        e[i] = rc_keytab_intern(&t, &sm, &a, name);
    }
    /* Dropped from the middle of runs: some leave tombstones. */
    for (int i = 0; i < 40; i += 2) rc_keytab_drop_unused(&t, &sm, &a, e[i]);
    cr_assert_gt(t.deleted, 0, "the drops left tombstones");
    const size_t room = rc_keytab_room(&t);
    cr_assert_eq(room + t.deleted, t.cap * 7 / 10, "room %zu, %zu tombstones", room, t.deleted);
    /* Asking for more than the room rebuilds the table: no tombstones. */
    cr_assert_eq(rc_keytab_reserve(&t, &a, room + 1), 0);
    cr_assert_eq(t.deleted, 0);
    cr_assert_geq(rc_keytab_room(&t), room + 1);
    cr_assert_eq(t.count, 20);
    for (int i = 1; i < 40; i += 2) {
        snprintf(name, sizeof name, "k/%d", i);
        cr_assert_eq(rc_keytab_find(&t, name), e[i]);
    }
    table_free(&t, &sm, &a, &c);
}

Test(keytab, reserve_out_of_memory_keeps_the_table_as_it_was)
{
    counting c = {0};
    rc_alloc a = counting_alloc(&c);
    rc_keytab t = {0};
    rc_small sm = {0};
    rc_keyent *k = rc_keytab_intern(&t, &sm, &a, "kept");
    const size_t cap = t.cap;
    c.fail = true;
    cr_assert_eq(rc_keytab_reserve(&t, &a, 100000), RC_ENOMEM);
    cr_assert_eq(t.cap, cap);
    cr_assert_eq(rc_keytab_find(&t, "kept"), k);
    /* Room no table could have: refused before any allocation. */
    c.fail = false;
    const long calls = c.calls;
    cr_assert_eq(rc_keytab_reserve(&t, &a, SIZE_MAX), RC_ENOMEM);
    cr_assert_eq(rc_keytab_reserve(&t, &a, SIZE_MAX / 10), RC_ENOMEM);
    /* Entries keep 32 bits of their hash: at most 2^32 slots. */
    cr_assert_eq(rc_keytab_reserve(&t, &a, (size_t)UINT32_MAX), RC_ENOMEM);
    cr_assert_eq(c.calls, calls);
    cr_assert_eq(rc_keytab_find(&t, "kept"), k);
    table_free(&t, &sm, &a, &c);
}

/* ================================================================== */
/* small                                                               */
/* ================================================================== */

static size_t class_bytes(size_t n)
{
    return ((n ? n : 1) + 7) / 8 * 8;
}

typedef struct block {
    unsigned char *p;
    size_t n;
} block;

static int by_address(const void *a, const void *b)
{
    const uintptr_t x = (uintptr_t)((const block *)a)->p, y = (uintptr_t)((const block *)b)->p;
    return x < y ? -1 : x > y;
}

static void fill(const block *b)
{
    memset(b->p, (int)(b->n * 31 + 7) & 0xff, b->n);
}

static void assert_filled(const block *b)
{
    const unsigned char want = (unsigned char)((b->n * 31 + 7) & 0xff);
    for (size_t i = 0; i < b->n; i++)
        cr_assert_eq(b->p[i], want, "block of %zu bytes overwritten at %zu", b->n, i);
}

/* The suite's slab allocator, on a counting allocator. */
static counting sc;
static rc_alloc sa;
static rc_small sm;

static void small_open(void)
{
    memset(&sc, 0, sizeof sc);
    memset(&sm, 0, sizeof sm);
    sa = counting_alloc(&sc);
}

/* fini, and every block came back. */
static void small_done(void)
{
    rc_small_fini(&sm, &sa);
    cr_assert_eq(sc.live, 0, "%ld blocks left after fini", sc.live);
}

TestSuite(small, .init = small_open);

Test(small, every_size_is_aligned_and_distinct_while_live)
{
    enum { COPIES = 3, SIZES = RC_SMALL_MAX + 1 };
    static block blocks[COPIES * SIZES];
    size_t nb = 0;
    for (size_t copy = 0; copy < COPIES; copy++) {
        for (size_t n = 0; n < SIZES; n++) {
            block *b = &blocks[nb++];
            b->n = n;
            b->p = rc_small_alloc(&sm, &sa, n);
            cr_assert_not_null(b->p, "alloc(%zu)", n);
            cr_assert_eq((uintptr_t)b->p % 8, 0, "alloc(%zu) at %p", n, (void *)b->p);
            fill(b);
        }
    }
    for (size_t i = 0; i < nb; i++)
        assert_filled(&blocks[i]);
    qsort(blocks, nb, sizeof *blocks, by_address);
    for (size_t i = 0; i + 1 < nb; i++)
        cr_assert_leq((uintptr_t)blocks[i].p + class_bytes(blocks[i].n), (uintptr_t)blocks[i + 1].p,
                      "a block of %zu bytes overlaps the next", blocks[i].n);
    /* About 100 KiB in 8-byte classes: two slabs, not an allocation each. */
    cr_assert_leq(sc.calls, 8, "%ld allocator calls for %zu objects", sc.calls, nb);
    small_done();
}

Test(small, a_freed_object_is_reused_by_its_class_only)
{
    for (size_t cls = 0; cls < RC_SMALL_CLASSES; cls++) {
        const size_t lo = cls * 8 + 1, hi = (cls + 1) * 8;
        void *p = rc_small_alloc(&sm, &sa, hi);
        rc_small_free(&sm, &sa, p, hi);
        void *q = rc_small_alloc(&sm, &sa, lo);
        cr_assert_eq(q, p, "class %zu: %zu bytes reuse a freed %zu-byte object", cls, lo, hi);
        rc_small_free(&sm, &sa, q, lo);
        /* Another class does not take it. */
        const size_t other = cls + 1 < RC_SMALL_CLASSES ? hi + 1 : 1;
        void *r = rc_small_alloc(&sm, &sa, other);
        cr_assert_neq(r, p, "%zu bytes took a freed object of class %zu", other, cls);
        cr_assert_eq(rc_small_alloc(&sm, &sa, hi), p, "class %zu: still on its free list", cls);
    }
    /* Last freed, first reused. */
    void *x = rc_small_alloc(&sm, &sa, 40), *y = rc_small_alloc(&sm, &sa, 40);
    rc_small_free(&sm, &sa, x, 40);
    rc_small_free(&sm, &sa, y, 40);
    cr_assert_eq(rc_small_alloc(&sm, &sa, 40), y);
    cr_assert_eq(rc_small_alloc(&sm, &sa, 40), x);

    /* Churn: objects come and go, the memory does not grow. */
    enum { LIVE = 2000 };
    static block live[LIVE];
    uint64_t seed = 42;
    for (size_t i = 0; i < LIVE; i++) {
        live[i].n = 1 + below(&seed, RC_SMALL_MAX);
        live[i].p = rc_small_alloc(&sm, &sa, live[i].n);
        fill(&live[i]);
    }
    const long calls = sc.calls;
    for (int round = 0; round < 20000; round++) {
        block *b = &live[below(&seed, LIVE)];
        assert_filled(b);
        rc_small_free(&sm, &sa, b->p, b->n);
        b->p = rc_small_alloc(&sm, &sa, b->n); /* the same size: its class has one free */
        fill(b);
    }
    cr_assert_eq(sc.calls, calls, "freed objects were not reused");
    for (size_t i = 0; i < LIVE; i++)
        assert_filled(&live[i]);
    small_done();
}

Test(small, larger_requests_go_to_the_allocator)
{
    void *small = rc_small_alloc(&sm, &sa, RC_SMALL_MAX);
    const long calls = sc.calls, live = sc.live;
    const size_t sizes[] = {RC_SMALL_MAX + 1, 1000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = rc_small_alloc(&sm, &sa, sizes[i]);
        cr_assert_not_null(p);
        cr_assert_eq(sc.calls, calls + 1, "%zu bytes: one allocator call", sizes[i]);
        cr_assert_eq(sc.live, live + 1);
        memset(p, 0xab, sizes[i]);
        rc_small_free(&sm, &sa, p, sizes[i]);
        cr_assert_eq(sc.live, live, "%zu bytes: given back to the allocator", sizes[i]);
        sc.calls = calls;
    }
    /* A slab serves RC_SMALL_MAX-byte objects until it is used up. */
    for (int i = 0; i < 64 * 1024 / RC_SMALL_MAX - 2; i++)
        rc_small_alloc(&sm, &sa, RC_SMALL_MAX);
    cr_assert_eq(sc.calls, calls, "objects from the slab");
    rc_small_free(&sm, &sa, small, RC_SMALL_MAX);
    rc_small_free(&sm, &sa, NULL, 8); /* ignored */
    small_done();
}

Test(small, fini_frees_every_slab_with_objects_still_held)
{
    uint64_t seed = 7;
    for (int i = 0; i < 50000; i++)
        cr_assert_not_null(rc_small_alloc(&sm, &sa, 1 + below(&seed, 256)));
    cr_assert_gt(sm.n_slabs, 10, "the objects span many slabs");
    cr_assert_gt(sc.live, 10);
    rc_small_fini(&sm, &sa);
    cr_assert_eq(sc.live, 0, "%ld blocks left", sc.live);
    cr_assert_eq(sm.n_slabs, 0);
    cr_assert_null(sm.slabs);
    for (size_t i = 0; i < RC_SMALL_CLASSES; i++)
        cr_assert_null(sm.free[i]);
    /* Usable again. */
    void *p = rc_small_alloc(&sm, &sa, 24);
    cr_assert_not_null(p);
    small_done();
}

Test(small, out_of_memory_gives_null_and_recovers)
{
    sc.fail = true;
    cr_assert_null(rc_small_alloc(&sm, &sa, 16));
    cr_assert_null(rc_small_alloc(&sm, &sa, 300));
    sc.fail = false;
    void *p = rc_small_alloc(&sm, &sa, 16);
    cr_assert_not_null(p);
    memset(p, 1, 16);
    small_done();
}

Test(small, free_objects_are_poisoned_under_asan)
{
#ifdef TEST_ASAN
    char *p = rc_small_alloc(&sm, &sa, 48);
    cr_assert_not(__asan_address_is_poisoned(p));
    cr_assert_not(__asan_address_is_poisoned(p + 47));
    cr_assert(__asan_address_is_poisoned(p + 48), "the rest of the slab is poisoned");
    rc_small_free(&sm, &sa, p, 48);
    cr_assert(__asan_address_is_poisoned(p), "a freed object is poisoned");
    cr_assert(__asan_address_is_poisoned(p + 40));
    char *q = rc_small_alloc(&sm, &sa, 48);
    cr_assert_eq(q, p);
    cr_assert_not(__asan_address_is_poisoned(q + 47), "reused: usable again");
    small_done();
#else
    cr_skip_test("not an AddressSanitizer build");
#endif
}

Test(small, a_given_block_is_carved_once_the_slab_is_full_and_freed_with_the_slabs)
{
    enum { BLOCK = 256 * 1024 };
    /* The current slab first: one object starts it. */
    unsigned char *first = rc_small_alloc(&sm, &sa, 64);
    cr_assert_not_null(first);
    unsigned char *given = rc_malloc(&sa, BLOCK);
    cr_assert_not_null(given);
    cr_assert(rc_small_give(&sm, &sa, given, BLOCK), "taken when none waits");
    /* A second block is not taken while the first waits: at most one idle. */
    unsigned char *other = rc_malloc(&sa, BLOCK);
    cr_assert_not(rc_small_give(&sm, &sa, other, BLOCK));
    rc_free(&sa, other);
    const long calls = sc.calls;
    /* Fill the current slab and then some: the rest comes from the block,
     * 8-byte aligned, with no allocator call. */
    size_t in_block = 0;
    for (int i = 0; i < 5000; i++) {
        unsigned char *p = rc_small_alloc(&sm, &sa, 64);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 8, 0);
        if (p >= given && p + 64 <= given + BLOCK) in_block++;
        memset(p, 0xab, 64);
    }
    cr_assert_gt(in_block, 3000, "%zu of the objects came from the block", in_block);
    cr_assert_eq(sc.calls, calls, "no allocator call while the block lasts");
    /* Taken into use, another block may be given. */
    unsigned char *next = rc_malloc(&sa, BLOCK);
    cr_assert(rc_small_give(&sm, &sa, next, BLOCK));
    /* Too small to be worth a slab: not taken. */
    unsigned char *tiny = rc_malloc(&sa, 1024);
    cr_assert_not(rc_small_give(&sm, &sa, tiny, 1024));
    rc_free(&sa, tiny);
    /* The given blocks go back with the slabs: every allocation is freed. */
    small_done();
}

/* ================================================================== */
/* cue_keys: the cue's table through the public API                    */
/* ================================================================== */

static rc_loop *loop;
static rc_cue *cue;
static counting cue_cnt;
static rc_allocator cue_allocator;
static tu_task task;

/* Checks that name keys.  is_ready: work with a ud waits on it (a string)
 * until the test sets `ready`; every check names "peek/ready" and "peek/2"
 * anyway.  is_stale: names "peek/stale", then says stale. */
static bool ready;

static int peek_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    const char *side = rc_work_ud(w);
    if (side && !ready) {
        rc_check_wait_on(check, side);
        return 0;
    }
    rc_check_wait_on(check, "peek/ready");
    rc_check_wait_on(check, "peek/2");
    return 1;
}

static int peek_stale(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)w, (void)ud;
    rc_check_wait_on(check, "peek/stale");
    return 1;
}

static void cue_open(void)
{
    ready = false;
    memset(&cue_cnt, 0, sizeof cue_cnt);
    memset(&task, 0, sizeof task);
    cue_allocator = (rc_allocator){counting_realloc, &cue_cnt};
    const rc_cue_opts opts = {
        .forget_non_producers = true, .retain_finished = 1, .alloc = &cue_allocator};
    tu_open(&loop, &cue, &opts);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = peek_ready, .is_stale = peek_stale});
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &task), RC_OK);
}

static void cue_close(void)
{
    rc_cue_free(cue); /* NULL if the test freed it */
    rc_loop_free(loop);
}

TestSuite(cue_keys, .init = cue_open, .fini = cue_close);

#define STRS(...) ((const char *const[]){__VA_ARGS__})

static rc_work_id submit(rc_submit_opts o)
{
    rc_work_id id = 0;
    const int rc = rc_submit(cue, "t", &o, &id);
    cr_assert_eq(rc, RC_OK, "%s (%s)", rc_strerror(rc), rc_cue_errmsg(cue));
    return id;
}

static size_t n_entries(void)
{
    return cue->keys.count;
}

Test(cue_keys, checks_that_named_keys_and_passed_leave_no_entry)
{
    const rc_work_id id = submit((rc_submit_opts){0});
    tu_run(loop);
    cr_assert_eq(task.calls, 1);
    cr_assert_null(rc_get(cue, id), "forgotten");
    cr_assert_eq(n_entries(), 0, "is_ready and is_stale named keys; %zu entries left", n_entries());
}

Test(cue_keys, work_that_waited_on_keys_leaves_no_entry)
{
    /* One waits on a key it declares, one on a key it does not; the first
     * is cancelled, the second finishes. */
    const rc_work_id declared =
        submit((rc_submit_opts){.needs = STRS("in/1"), .n_needs = 1, .ud = (void *)"in/1"});
    const rc_work_id side = submit((rc_submit_opts){.ud = (void *)"side/1"});
    tu_run(loop);
    cr_assert_eq(n_entries(), 2, "in/1 (declared, waited on) and side/1 (waited on)");
    cr_assert_eq(rc_cancel(cue, declared), RC_OK);
    tu_run(loop);
    cr_assert_eq(n_entries(), 1);
    ready = true;
    cr_assert_eq(rc_artifacts_changed(cue, "side/1"), RC_OK);
    tu_run(loop);
    cr_assert_null(rc_get(cue, side));
    cr_assert_eq(n_entries(), 0);
}

Test(cue_keys, result_inputs_leave_no_entry)
{
    const rc_work_id consumer = submit((rc_submit_opts){.inputs = STRS("r/1"), .n_inputs = 1});
    tu_run(loop);
    cr_assert_eq(n_entries(), 1, "the consumer waits on r/1");
    submit((rc_submit_opts){.result_key = "r/1"});
    tu_run(loop);
    cr_assert_eq(task.calls, 2);
    cr_assert_null(rc_get(cue, consumer));
    cr_assert_eq(n_entries(), 0);
}

Test(cue_keys, a_saturated_entry_is_refused_and_a_failed_submit_keeps_nothing)
{
    rc_key *k = rc_key_hold(cue, "sat");
    cr_assert_not_null(k);
    rc_keyent *e = (rc_keyent *)k;
    e->refs = UINT32_MAX; /* as if held 4 billion times */
    cr_assert_null(rc_key_hold(cue, "sat"));
    cr_assert_null(rc_key_hold_key(cue, k));
    cr_assert_eq(e->refs, UINT32_MAX, "refused holds take nothing");

    /* The first key is new, the second saturated: refused, and the new
     * entry goes again. */
    rc_work_id id = 0;
    rc_submit_opts o = {.needs = STRS("fresh", "sat"), .n_needs = 2};
    cr_assert_eq(rc_submit(cue, "t", &o, &id), RC_ENOMEM);
    cr_assert_eq(id, 0);
    cr_assert_eq(n_entries(), 1, "only sat is left");
    cr_assert_null(rc_keytab_find(&cue->keys, "fresh"));
    /* The same with an entry given. */
    rc_key *held = rc_key_hold(cue, "held");
    o = (rc_submit_opts){.n_needs = 1, .n_produces = 1, .keys = (rc_key *const[]){held, k}};
    cr_assert_eq(rc_submit(cue, "t", &o, &id), RC_ENOMEM);
    cr_assert_eq(((rc_keyent *)held)->refs, 1, "the refused submit gave its reference back");
    cr_assert_eq(tu_stats(cue).submitted, 0);

    e->refs = 1;
    rc_key_release(cue, k);
    rc_key_release(cue, held);
    cr_assert_eq(n_entries(), 0);
}

Test(cue_keys, a_work_key_held_outlives_its_work)
{
    const rc_work_id id = submit((rc_submit_opts){.needs = STRS("kept/1"), .n_needs = 1});
    ready = true;
    rc_key *k = rc_key_hold_key(cue, rc_work_key(rc_get(cue, id), 0));
    cr_assert_not_null(k);
    int marker;
    rc_key_set_ud(k, &marker);
    tu_run(loop);
    cr_assert_null(rc_get(cue, id), "the work is forgotten");
    cr_assert_str_eq(rc_key_name(k), "kept/1");
    cr_assert_eq(rc_key_ud(k), &marker);
    cr_assert_eq(rc_keytab_find(&cue->keys, "kept/1"), (rc_keyent *)k);
    rc_key_release(cue, k);
    cr_assert_eq(n_entries(), 0);
}

/* rc_cue_free frees every key entry, whatever still refers to it: a handle
 * (the simulator holds the keys it links to the end), or work still waiting
 * on the key.  The counting allocator says whether all the cue's memory came
 * back. */
typedef enum ref_kind { BY_HANDLE, BY_DECLARED_WAITER, BY_SIDE_WAITER } ref_kind;

typedef struct free_case {
    size_t key_len;
    ref_kind how;
} free_case;

static const char *const how_name[] = {"a handle", "a work waiting on its declared need",
                                       "a work waiting on a key it does not declare"};

static void free_cue_referring_to_a_key(const free_case *fc)
{
    char key[512];
    cr_assert_lt(fc->key_len, sizeof key);
    memset(key, 'k', fc->key_len);
    key[fc->key_len] = 0;
    switch (fc->how) {
    case BY_HANDLE:
        cr_assert_not_null(rc_key_hold(cue, key));
        break; /* never released */
    case BY_DECLARED_WAITER:
        submit((rc_submit_opts){.needs = STRS(key), .n_needs = 1, .ud = key});
        break;
    case BY_SIDE_WAITER:
        submit((rc_submit_opts){.ud = key});
        break;
    }
    tu_run(loop);
    cr_assert_eq(n_entries(), 1);
    if (fc->how != BY_HANDLE) cr_assert_eq(tu_stats(cue).waiting, 1);
    rc_cue_free(cue);
    cue = NULL; /* cue_close frees only the loop */
    cr_assert_eq(cue_cnt.live, 0, "the cue freed with a %zu-byte key held by %s: %ld blocks leaked",
                 fc->key_len, how_name[fc->how], cue_cnt.live);
}

static free_case short_key_cases[] = {
    {9, BY_HANDLE},   {9, BY_DECLARED_WAITER},   {9, BY_SIDE_WAITER},
    {200, BY_HANDLE}, {200, BY_DECLARED_WAITER}, {200, BY_SIDE_WAITER},
};

ParameterizedTestParameters(cue_keys, cue_free_frees_every_entry_still_referred_to)
{
    return cr_make_param_array(free_case, short_key_cases,
                               sizeof short_key_cases / sizeof short_key_cases[0]);
}

ParameterizedTest(free_case *fc, cue_keys, cue_free_frees_every_entry_still_referred_to)
{
    free_cue_referring_to_a_key(fc);
}

/*
 * Entries of keys of 208 bytes or more (a 48-byte rc_keyent and the text)
 * are larger than RC_SMALL_MAX and come from the allocator, not a slab: an
 * entry still referred to when the cue goes -- held by a handle (the
 * simulator holds its keys to the end), or with work still in its waiter
 * list -- must still be freed by rc_cue_free (rc_keytab_fini frees every
 * entry left in the table).  Found by these tests.
 */
static free_case long_key_cases[] = {
    {300, BY_HANDLE},
    {300, BY_DECLARED_WAITER},
    {300, BY_SIDE_WAITER},
};

ParameterizedTestParameters(cue_keys, cue_free_frees_long_key_entries_still_referred_to)
{
    return cr_make_param_array(free_case, long_key_cases,
                               sizeof long_key_cases / sizeof long_key_cases[0]);
}

ParameterizedTest(free_case *fc, cue_keys, cue_free_frees_long_key_entries_still_referred_to)
{
    free_cue_referring_to_a_key(fc);
}
