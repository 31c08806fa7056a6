/* Unit tests of the core's internal modules: run queue, id map, string map,
 * rate ring.  They test the pieces the scheduler's guarantees rest on. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "idmap.h"
#include "idtable.h"
#include "ratelimit.h"
#include "runq.h"
#include "strmap.h"
#include "testutil.h"

typedef struct item {
    rc_qnode q;
    int id;
} item;

static rc_alloc A(void)
{
    return rc_alloc_from(NULL);
}

Test(runq, pops_in_priority_then_sequence_order)
{
    rc_alloc a = A();
    rc_runq q = {0};
    item it[6];
    double prio[6] = {0.5, 0.9, 0.5, 0.1, 0.9, 0.5};
    for (int i = 0; i < 6; i++) {
        it[i].id = i;
        it[i].q.where = RC_Q_NONE;
        cr_assert_eq(rc_runq_push(&a, &q, &it[i].q, prio[i], (uint64_t)i + 1), 0);
    }
    cr_assert_eq(rc_runq_len(&q), 6);
    int expect[6] = {1, 4, 0, 2, 5, 3};
    for (int i = 0; i < 6; i++) {
        rc_qnode *n = rc_runq_pop(&q);
        cr_assert_not_null(n);
        cr_assert_eq(((item *)n)->id, expect[i], "pop %d gave %d", i, ((item *)n)->id);
    }
    cr_assert_null(rc_runq_pop(&q));
    rc_runq_free(&a, &q);
}

Test(runq, older_work_returning_goes_before_newer)
{
    rc_alloc a = A();
    rc_runq q = {0};
    item it[5];
    for (int i = 0; i < 5; i++) it[i].id = i;
    /* seq 3, 4, 5 arrive in order, then seq 1 and 2 come back late. */
    rc_runq_push(&a, &q, &it[2].q, 0, 3);
    rc_runq_push(&a, &q, &it[3].q, 0, 4);
    rc_runq_push(&a, &q, &it[4].q, 0, 5);
    rc_runq_push(&a, &q, &it[1].q, 0, 2);
    rc_runq_push(&a, &q, &it[0].q, 0, 1);
    for (int i = 0; i < 5; i++) cr_assert_eq(((item *)rc_runq_pop(&q))->id, i);
    rc_runq_free(&a, &q);
}

Test(runq, removal_from_run_and_heap_leaves_the_rest_in_order)
{
    rc_alloc a = A();
    rc_runq q = {0};
    enum { N = 1000 };
    static item it[N];
    /* Even seqs in order (the run), odd seqs pushed afterwards (the heap). */
    for (int i = 0; i < N; i += 2) {
        it[i].id = i;
        rc_runq_push(&a, &q, &it[i].q, 0, (uint64_t)i);
    }
    for (int i = 1; i < N; i += 2) {
        it[i].id = i;
        rc_runq_push(&a, &q, &it[i].q, 0, (uint64_t)i);
    }
    for (int i = 0; i < N; i += 3) rc_runq_remove(&a, &q, &it[i].q);
    int last = -1;
    size_t popped = 0;
    rc_qnode *n;
    while ((n = rc_runq_pop(&q))) {
        int id = ((item *)n)->id;
        cr_assert(id % 3 != 0, "removed item %d came back", id);
        cr_assert_gt(id, last);
        last = id;
        popped++;
    }
    cr_assert_eq(popped, N - (N + 2) / 3);
    rc_runq_free(&a, &q);
}

Test(runq, ring_grows_while_popping_and_keeps_fifo)
{
    rc_alloc a = A();
    rc_runq q = {0};
    enum { N = 5000 };
    static item it[N];
    int next_expected = 0;
    for (int i = 0; i < N; i++) {
        it[i].id = i;
        cr_assert_eq(rc_runq_push(&a, &q, &it[i].q, 0, (uint64_t)i), 0);
        if (i % 7 == 0) cr_assert_eq(((item *)rc_runq_pop(&q))->id, next_expected++);
    }
    rc_qnode *n;
    while ((n = rc_runq_pop(&q))) cr_assert_eq(((item *)n)->id, next_expected++);
    cr_assert_eq(next_expected, N);
    rc_runq_free(&a, &q);
}

/* Seeded operations against a reference (a flag and a key per item, the
 * best found by a scan): push in any order, pop, peek, remove, and push
 * back what was removed, with priorities or without, and with the set of
 * removed heap entries refused memory part of the time. */
Test(runq, agrees_with_a_reference_over_seeded_operations)
{
    enum { N = 300, STEPS = 20000 };
    static item it[N];
    static bool queued[N];
    static double prio[N];
    for (uint64_t seed = 1; seed <= 8; seed++) {
        tu_counting r = {0};
        rc_alloc a = {tu_counting_realloc, &r};
        rc_runq q = {0};
        uint64_t x = seed * UINT64_C(0x9E3779B97F4A7C15);
        const bool prios = seed % 2 == 0;
        size_t n_queued = 0, removed_from_heap = 0, peak_heap = 0;
        memset(queued, 0, sizeof queued);
        for (int i = 0; i < N; i++) it[i].id = i;
        for (int step = 0; step < STEPS; step++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const unsigned op = (unsigned)(x % 10);
            const int i = (int)((x >> 8) % N);
            r.fail = seed >= 5 && (x >> 40) % 4 == 0;
            if (op < 4) { /* push i if it is not queued */
                if (queued[i]) continue;
                prio[i] = prios ? (double)((x >> 20) % 3) / 2 : 0;
                bool was_refused = r.fail;
                r.fail = false; /* the ring and heap themselves may grow */
                cr_assert_eq(rc_runq_push(&a, &q, &it[i].q, prio[i], (uint64_t)i), 0);
                r.fail = was_refused;
                queued[i] = true;
                n_queued++;
            } else if (op < 7) { /* pop: the best of the reference */
                int best = -1;
                for (int j = 0; j < N; j++)
                    if (queued[j] && (best < 0 || prio[j] > prio[best] ||
                                      (prio[j] == prio[best] && j < best)))
                        best = j;
                rc_qnode *peeked = rc_runq_peek(&q);
                rc_qnode *n = rc_runq_pop(&q);
                cr_assert_eq(peeked, n, "seed %llu step %d: peek and pop differ",
                             (unsigned long long)seed, step);
                if (best < 0) {
                    cr_assert_null(n, "seed %llu step %d: popped from an empty queue",
                                   (unsigned long long)seed, step);
                    continue;
                }
                cr_assert_not_null(n, "seed %llu step %d: nothing popped", (unsigned long long)seed,
                                   step);
                cr_assert_eq(((item *)n)->id, best, "seed %llu step %d: popped %d, expected %d",
                             (unsigned long long)seed, step, ((item *)n)->id, best);
                cr_assert_eq(n->where, RC_Q_NONE);
                queued[best] = false;
                n_queued--;
            } else { /* remove i if it is queued */
                if (!queued[i]) continue;
                if (it[i].q.where == RC_Q_HEAP) removed_from_heap++;
                rc_runq_remove(&a, &q, &it[i].q);
                cr_assert_eq(it[i].q.where, RC_Q_NONE);
                queued[i] = false;
                n_queued--;
            }
            cr_assert_eq(rc_runq_len(&q), n_queued, "seed %llu step %d: length",
                         (unsigned long long)seed, step);
            /* Removed entries do not pile up. */
            cr_assert_leq(q.heap_len, 2 * n_queued + 64, "seed %llu step %d: heap of %zu for %zu",
                          (unsigned long long)seed, step, q.heap_len, n_queued);
            cr_assert_leq(q.gone.n, q.heap_len + 64);
            if (q.heap_len > peak_heap) peak_heap = q.heap_len;
        }
        /* The run did what it is for. */
        cr_assert_geq(removed_from_heap, 500, "seed %llu: %zu removed from the heap",
                      (unsigned long long)seed, removed_from_heap);
        cr_assert_geq(peak_heap, 50);
        rc_runq_free(&a, &q);
        cr_assert_eq(r.live, 0, "seed %llu: %ld blocks left", (unsigned long long)seed, r.live);
    }
}

Test(runq, an_item_removed_from_the_heap_and_pushed_back_comes_out_once)
{
    rc_alloc a = A();
    rc_runq q = {0};
    static item it[11];
    for (int i = 0; i < 11; i++) it[i].id = i;
    /* 10 in the run; 9, 3, 1 and 2 out of order, in the heap. */
    rc_runq_push(&a, &q, &it[10].q, 0, 10);
    rc_runq_push(&a, &q, &it[9].q, 0, 9);
    rc_runq_push(&a, &q, &it[3].q, 0, 3);
    rc_runq_push(&a, &q, &it[1].q, 0, 1);
    rc_runq_push(&a, &q, &it[2].q, 0, 2);
    cr_assert_eq(it[2].q.where, RC_Q_HEAP);
    cr_assert_eq(it[9].q.where, RC_Q_HEAP);
    rc_runq_remove(&a, &q, &it[2].q);
    rc_runq_remove(&a, &q, &it[9].q);
    cr_assert_eq(rc_runq_len(&q), 3);
    /* 2 back before its old entry came to the top (and with 9's still in
     * the heap when it does): once, in its place. */
    cr_assert_eq(rc_runq_push(&a, &q, &it[2].q, 0, 2), 0);
    cr_assert_eq(rc_runq_len(&q), 4);
    const int want[] = {1, 2, 3, 10};
    for (int k = 0; k < 4; k++) {
        rc_qnode *n = rc_runq_pop(&q);
        cr_assert_not_null(n, "pop %d: nothing", k);
        cr_assert_eq(((item *)n)->id, want[k], "pop %d: %d, expected %d", k, ((item *)n)->id,
                     want[k]);
    }
    cr_assert_null(rc_runq_pop(&q));
    cr_assert_eq(rc_runq_len(&q), 0);
    /* Removed from the heap and never back: skipped, and its memory kept
     * no longer than its entry. */
    rc_runq_push(&a, &q, &it[5].q, 0, 5);
    rc_runq_push(&a, &q, &it[1].q, 0, 1);
    rc_runq_push(&a, &q, &it[3].q, 0, 3);
    rc_runq_remove(&a, &q, &it[1].q);
    cr_assert_eq(q.heap_gone, 1);
    cr_assert_eq(((item *)rc_runq_pop(&q))->id, 3);
    cr_assert_eq(q.heap_gone, 0);
    cr_assert_eq(q.gone.n, 0);
    cr_assert_eq(((item *)rc_runq_pop(&q))->id, 5);
    cr_assert_null(rc_runq_pop(&q));
    rc_runq_free(&a, &q);
}

Test(runq, without_memory_for_the_removed_set_a_heap_entry_is_taken_out_at_once)
{
    tu_counting r = {0};
    rc_alloc a = {tu_counting_realloc, &r};
    rc_runq q = {0};
    enum { N = 200 };
    static item it[N];
    /* The last one first (the run), then the rest in descending order:
     * every one of them out of order, in the heap. */
    for (int i = N - 1; i >= 0; i--) {
        it[i].id = i;
        cr_assert_eq(rc_runq_push(&a, &q, &it[i].q, 0, (uint64_t)i), 0);
    }
    cr_assert_eq(q.heap_len, N - 1);
    r.fail = true;
    for (int i = 0; i < N; i += 4) rc_runq_remove(&a, &q, &it[i].q);
    cr_assert_eq(q.heap_gone, 0, "nothing left behind to skip");
    cr_assert_eq(q.heap_len, N - 1 - N / 4);
    cr_assert_eq(rc_runq_len(&q), N - N / 4);
    int last = -1;
    rc_qnode *n;
    while ((n = rc_runq_pop(&q))) {
        const int id = ((item *)n)->id;
        cr_assert(id % 4 != 0, "removed item %d came back", id);
        cr_assert_gt(id, last);
        last = id;
    }
    cr_assert_eq(last, N - 1);
    r.fail = false;
    rc_runq_free(&a, &q);
    cr_assert_eq(r.live, 0);
}

Test(idmap, put_get_delete_many)
{
    rc_alloc a = A();
    rc_idmap m = {0};
    for (uint64_t i = 1; i <= 100000; i++) cr_assert_eq(rc_idmap_put(&a, &m, i, (void *)(uintptr_t)i), 0);
    for (uint64_t i = 1; i <= 100000; i += 2) cr_assert_eq(rc_idmap_del(&m, i), (void *)(uintptr_t)i);
    cr_assert_eq(m.count, 50000);
    for (uint64_t i = 1; i <= 100000; i++) {
        void *v = rc_idmap_get(&m, i);
        if (i % 2)
            cr_assert_null(v, "deleted id %lu still found", (unsigned long)i);
        else
            cr_assert_eq(v, (void *)(uintptr_t)i);
    }
    cr_assert_null(rc_idmap_get(&m, 0));
    cr_assert_null(rc_idmap_del(&m, 424242));
    rc_idmap_free(&a, &m);
}

Test(idtable, sliding_window_of_live_ids_frees_pages_behind_it)
{
    rc_alloc a = A();
    rc_idtable t = {0};
    /* Keep a window of 1000 live ids while 100000 pass through. */
    for (uint64_t id = 1; id <= 100000; id++) {
        cr_assert_eq(rc_idtable_put(&a, &t, id, (void *)(uintptr_t)id), 0);
        if (id > 1000) rc_idtable_del(&a, &t, id - 1000);
    }
    for (uint64_t id = 1; id <= 100000; id++) {
        void *v = rc_idtable_get(&t, id);
        if (id > 99000)
            cr_assert_eq(v, (void *)(uintptr_t)id);
        else
            cr_assert_null(v, "id %lu should be gone", (unsigned long)id);
    }
    size_t pages = 0;
    for (size_t i = 0; i < t.n_pages; i++) pages += t.pages[i] != NULL;
    cr_assert_leq(pages, 2, "pages behind the window must be freed (%zu held)", pages);
    cr_assert_null(rc_idtable_get(&t, 1u << 30));
    rc_idtable_del(&a, &t, 1u << 30); /* unknown ids are ignored */
    rc_idtable_free(&a, &t);
}

/* An allocator that counts new allocations and keeps the largest asked
 * for, to see what a structure costs. */
static size_t n_allocs, biggest;
static void *measuring_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (!p) n_allocs++;
    if (n > biggest) biggest = n;
    return realloc(p, n);
}

Test(idtable, a_page_emptied_and_refilled_is_not_made_again)
{
    rc_alloc a = rc_alloc_from(&(rc_allocator){measuring_realloc, NULL});
    rc_idtable t = {0};
    /* Work that comes and goes one at a time, within one page and across
     * many: a page is made once per page, not once per refill. */
    cr_assert_eq(rc_idtable_put(&a, &t, 1, (void *)1), 0);
    rc_idtable_del(&a, &t, 1);
    n_allocs = 0;
    const uint64_t n = 20000;
    for (uint64_t id = 2; id < n; id++) {
        cr_assert_eq(rc_idtable_put(&a, &t, id, (void *)(uintptr_t)id), 0);
        cr_assert_eq(rc_idtable_get(&t, id), (void *)(uintptr_t)id);
        rc_idtable_del(&a, &t, id);
        cr_assert_null(rc_idtable_get(&t, id));
    }
    /* The directory grows (two arrays, a few doublings); pages do not. */
    cr_assert_leq(n_allocs, 12, "%zu allocations for %llu one-at-a-time ids", n_allocs,
                  (unsigned long long)n);
    /* A reused page reads empty everywhere but where it was just put. */
    const uint64_t far = (uint64_t)7 << RC_IDTABLE_PAGE_BITS;
    cr_assert_eq(rc_idtable_put(&a, &t, far + 5, (void *)9), 0);
    for (uint64_t id = far; id < far + ((uint64_t)1 << RC_IDTABLE_PAGE_BITS); id++)
        cr_assert_eq(rc_idtable_get(&t, id), id == far + 5 ? (void *)9 : NULL, "id %llu",
                     (unsigned long long)id);
    uint64_t it = 0;
    cr_assert_eq(rc_idtable_next(&t, &it), (void *)9);
    cr_assert_eq(it, far + 5);
    rc_idtable_free(&a, &t);
}

Test(strmap, keys_are_copied_and_found_after_resizes_and_deletes)
{
    rc_alloc a = A();
    rc_strmap m = {0};
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        const char *stored = NULL;
        cr_assert_eq(rc_strmap_put(&a, &m, key, (void *)(uintptr_t)(i + 1), &stored), 0);
        cr_assert_str_eq(stored, key);
        cr_assert_neq(stored, key);
    }
    for (int i = 0; i < 5000; i += 3) {
        snprintf(key, sizeof key, "key-%d", i);
        cr_assert_eq(rc_strmap_del(&a, &m, key), (void *)(uintptr_t)(i + 1));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        void *v = rc_strmap_get(&m, key);
        cr_assert_eq(v, i % 3 ? (void *)(uintptr_t)(i + 1) : NULL, "key %s", key);
    }
    rc_strmap_free(&a, &m);
}

Test(ratelimit, sliding_window_allows_n_then_waits_for_the_oldest)
{
    rc_alloc a = A();
    rc_rate r;
    cr_assert_eq(rc_rate_init(&a, &r, 3, 1000), 0);
    cr_assert_eq(rc_rate_next_allowed(&r), INT64_MIN);
    rc_rate_record(&a, &r, 100);
    rc_rate_record(&a, &r, 200);
    cr_assert_eq(rc_rate_next_allowed(&r), INT64_MIN);
    rc_rate_record(&a, &r, 300);
    cr_assert_eq(rc_rate_next_allowed(&r), 1100);
    cr_assert_eq(rc_rate_in_window(&r, 1099), 3);
    cr_assert_eq(rc_rate_in_window(&r, 1100), 2);
    rc_rate_record(&a, &r, 1100);
    cr_assert_eq(rc_rate_next_allowed(&r), 1200);
    rc_rate_free(&a, &r);
}

/* 10000000/1 once allocated 80 MB up front per service: now the ring holds
 * only the starts made within the window. */
Test(ratelimit, a_huge_count_costs_memory_only_for_the_starts_made)
{
    rc_allocator m = {measuring_realloc, NULL};
    rc_alloc a = rc_alloc_from(&m);
    rc_rate r;
    biggest = 0;
    cr_assert_eq(rc_rate_init(&a, &r, RC_RATE_MAX_COUNT, 1000000000), 0);
    cr_assert_leq(biggest, 1024, "init asked for %zu bytes", biggest);
    for (rc_time t = 0; t < 1000; t++)
        rc_rate_record(&a, &r, t);
    cr_assert_eq(rc_rate_next_allowed(&r), INT64_MIN);
    cr_assert_eq(rc_rate_in_window(&r, 999), 1000);
    cr_assert_leq(biggest, 2048 * sizeof(rc_time), "1000 starts took %zu bytes", biggest);
    /* A window later, only what is still in it is kept. */
    for (rc_time t = 2000000000; t < 2000000010; t++)
        rc_rate_record(&a, &r, t);
    cr_assert_eq(rc_rate_in_window(&r, 2000000009), 10);
    rc_rate_free(&a, &r);
}

/* The same answers as the definition, over random start times: a start is
 * allowed at t when fewer than count starts lie in (t - window, t]. */
Test(ratelimit, agrees_with_the_definition_on_random_starts)
{
    rc_alloc a = A();
    uint64_t x = 88172645463325252u;
    for (int round = 0; round < 200; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned count = 1 + (unsigned)(x % 40);
        rc_time window = 1 + (rc_time)((x >> 8) % 500);
        rc_rate r;
        cr_assert_eq(rc_rate_init(&a, &r, count, window), 0);
        rc_time starts[400];
        int n = 0;
        rc_time t = 0;
        while (n < 400) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            t += (rc_time)(x % 7);
            unsigned in = 0;
            for (int i = 0; i < n; i++)
                in += starts[i] > t - window;
            cr_assert_eq(rc_rate_in_window(&r, t), in);
            bool allowed = in < count;
            cr_assert_eq(rc_rate_next_allowed(&r) <= t, allowed, "count %u window %lld t %lld",
                         count, (long long)window, (long long)t);
            if (!allowed) continue;
            rc_rate_record(&a, &r, t);
            starts[n++] = t;
        }
        rc_rate_free(&a, &r);
    }
}

Test(ratelimit, parse_accepts_units_and_plain_seconds)
{
    unsigned n;
    double w;
    struct {
        const char *s;
        unsigned n;
        double w;
    } ok[] = {{"60/min", 60, 60},   {"10/sec", 10, 1},  {"5/s", 5, 1},      {"7/second", 7, 1},
              {"1/m", 1, 60},       {"2/minute", 2, 60}, {"100/hour", 100, 3600},
              {"3/h", 3, 3600},     {"4/hr", 4, 3600},  {"20/1", 20, 1},    {"5/0.5", 5, 0.5},
              {"9/MIN", 9, 60},     {"8/hours", 8, 3600}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        cr_assert_eq(rc_parse_rate(ok[i].s, &n, &w, NULL, 0), 0, "%s", ok[i].s);
        cr_assert_eq(n, ok[i].n, "%s", ok[i].s);
        cr_assert_float_eq(w, ok[i].w, 1e-12, "%s", ok[i].s);
    }
    const char *bad[] = {"", "60", "/min", "0/min", "-1/sec", "1.5/sec", "20/0", "20/-1",
                         "5/fortnight", "5/", "x/min", "5/min/2", "99999999999/min", "5/1e99"};
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        cr_assert_eq(rc_parse_rate(bad[i], &n, &w, err, sizeof err), RC_EINVAL, "'%s'", bad[i]);
        cr_assert(strstr(err, "bad rate") != NULL, "message for '%s': %s", bad[i], err);
    }
}
