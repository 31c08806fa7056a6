/* test_keys.c -- artifact key handles, through the public API only.
 *
 * rc_key_hold / rc_key_hold_key / rc_key_release hand out the cue's entry
 * of a key, kept once; rc_key_name and rc_key_ud / rc_key_set_ud read and
 * tag it; rc_work_key gives the entries of a work's declared keys (needs,
 * then produces) and rc_work_needs / rc_work_produces are their text;
 * rc_submit_opts.keys passes entries instead of strings; and
 * rc_artifacts_changed_key wakes the work waiting on an entry.
 *
 * An entry lives while anything refers to it (a handle, a work that declares
 * the key, a work waiting on it); one nothing refers to any more is freed and
 * a later hold makes a new one, with ud NULL.  That is how the suite sees an
 * entry's lifetime from outside: tag it, then look with a fresh hold.
 *
 * The cue forgets finished non-producers at once and keeps one finished
 * producer, so a test can also let go of the references works hold. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_xrec *x;
static tu_task task;

/* ---- artifacts the test made valid, and the check that reads them ---- */

enum { MAX_AVAIL = 16, MAX_IDS = 64 };
static char avail[MAX_AVAIL][64];
static size_t n_avail;
static unsigned checks[MAX_IDS]; /* is_ready calls per work id */

static bool available(const char *key)
{
    for (size_t i = 0; i < n_avail; i++)
        if (strcmp(avail[i], key) == 0) return true;
    return false;
}

static void make_available(const char *key)
{
    cr_assert_lt(n_avail, (size_t)MAX_AVAIL);
    snprintf(avail[n_avail++], sizeof avail[0], "%s", key);
}

/* Task "t": ready when every declared need is valid, else waits on the first
 * missing one.  Work submitted with a ud waits on that string instead: a key
 * it does not declare.  Task "blind": never ready, and names no key. */
static int key_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    const rc_work_id id = rc_work_get_id(w);
    if (id < MAX_IDS) checks[id]++;
    if (strcmp(rc_work_task(w), "blind") == 0) return 0;
    const char *side = rc_work_ud(w);
    if (side) {
        if (available(side)) return 1;
        rc_check_wait_on(check, side);
        return 0;
    }
    const char *const *needs = NULL;
    const size_t n = rc_work_needs(w, &needs);
    for (size_t i = 0; i < n; i++) {
        if (!available(needs[i])) {
            rc_check_wait_on(check, needs[i]);
            return 0;
        }
    }
    return 1;
}

/* Task "make": its produces become valid, then it completes. */
static void make_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)ud;
    const char *const *produces = NULL;
    const size_t n = rc_work_produces(w, &produces);
    for (size_t i = 0; i < n; i++)
        make_available(produces[i]);
    cr_assert_eq(rc_complete(c, tok, NULL), RC_OK);
}

static void setup(void)
{
    n_avail = 0;
    memset(checks, 0, sizeof checks);
    memset(&task, 0, sizeof task);
    const rc_cue_opts opts = {.forget_non_producers = true, .retain_finished = 1};
    tu_open(&loop, &cue, &opts);
    x = tu_xrec_new(loop);
    tu_xrec_install(x, cue, key_ready, NULL);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &task), RC_OK);
    cr_assert_eq(rc_task(cue, "blind", NULL, tu_handler, &task), RC_OK);
    cr_assert_eq(rc_task(cue, "make", NULL, make_handler, NULL), RC_OK);
}

static void teardown(void)
{
    tu_close(loop, cue);
    free(x);
}

TestSuite(keys, .init = setup, .fini = teardown);

/* ---- helpers ---- */

#define STRS(...) ((const char *const[]){__VA_ARGS__})
#define ENTRIES(...) ((rc_key *const[]){__VA_ARGS__})

static rc_work_id submit(const char *task_name, rc_submit_opts o)
{
    rc_work_id id = 0;
    const int rc = rc_submit(cue, task_name, &o, &id);
    cr_assert_eq(rc, RC_OK, "submit '%s': %s (%s)", task_name, rc_strerror(rc), rc_cue_errmsg(cue));
    return id;
}

/* Work of task "t" that needs `key` (declared). */
static rc_work_id submit_need(const char *key)
{
    return submit("t", (rc_submit_opts){.needs = STRS(key), .n_needs = 1});
}

/* Work of task "t" that waits on `key` without declaring it. */
static rc_work_id submit_side(const char *key)
{
    return submit("t", (rc_submit_opts){.ud = (void *)key});
}

static rc_key *hold(const char *key)
{
    rc_key *k = rc_key_hold(cue, key);
    cr_assert_not_null(k, "rc_key_hold(\"%s\")", key);
    return k;
}

/* Set the ud of key's entry through a handle that is given back at once: the
 * tag stays only if something else keeps the entry. */
static void tag(const char *key, void *ud)
{
    rc_key *k = hold(key);
    rc_key_set_ud(k, ud);
    rc_key_release(cue, k);
}

/* The ud a fresh hold of key sees (NULL: the entry is new).  The hold is
 * given back, so looking keeps nothing alive. */
static void *probe_ud(const char *key)
{
    rc_key *k = hold(key);
    void *ud = rc_key_ud(k);
    rc_key_release(cue, k);
    return ud;
}

static rc_state state_of(rc_work_id id)
{
    const rc_work *w = rc_get(cue, id);
    cr_assert_not_null(w, "work %llu is gone", (unsigned long long)id);
    return rc_work_state(w);
}

static bool completed(rc_work_id id)
{
    return tu_xrec_complete_time(x, id) >= 0;
}

/* The detail of the last ARTIFACTS_CHANGED event from index `from` on, or
 * NULL if there is none; it must be cue-wide. */
static const char *changed_detail(size_t from)
{
    const char *detail = NULL;
    for (size_t i = from; i < x->rec.n_events; i++) {
        if (x->rec.ev_kind[i] != RC_EV_ARTIFACTS_CHANGED) continue;
        cr_assert_eq(x->rec.ev_id[i], 0, "artifacts_changed names no work");
        detail = x->ev_detail[i];
    }
    return detail;
}

static size_t count_changed(size_t from)
{
    size_t n = 0;
    for (size_t i = from; i < x->rec.n_events; i++)
        n += x->rec.ev_kind[i] == RC_EV_ARTIFACTS_CHANGED;
    return n;
}

/* rc_debug_blocked's list; *n items (free with rc_blocked_free). */
static rc_blocked *blocked(size_t *n)
{
    rc_blocked *items = NULL;
    cr_assert_eq(rc_debug_blocked(cue, &items, n), RC_OK);
    return items;
}

/* The key work `id` waits on, as rc_debug_blocked says (NULL: not listed or
 * no key); the pointer is the cue's, valid while the work waits. */
static const char *blocked_key(rc_work_id id)
{
    size_t n = 0;
    rc_blocked *items = blocked(&n);
    const char *key = NULL;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (items[i].id != id) continue;
        found = true;
        cr_assert_eq(items[i].reason, RC_BLOCK_NOT_READY);
        key = items[i].wait_key;
    }
    rc_blocked_free(cue, items);
    cr_assert(found, "work %llu is not blocked", (unsigned long long)id);
    return key;
}

/* ---- holding ---- */

Test(keys, a_hold_of_the_same_key_gives_the_same_entry)
{
    char name[] = "pages/003.png";
    rc_key *a = hold(name);
    rc_key *b = hold("pages/003.png");
    rc_key *other = hold("pages/004.png");
    cr_assert_eq(a, b, "one entry per key");
    cr_assert_neq(a, other);
    cr_assert_eq(rc_key_hold_key(cue, a), a, "rc_key_hold_key hands back the entry");

    /* The name is the cue's copy, not the caller's buffer. */
    cr_assert_str_eq(rc_key_name(a), "pages/003.png");
    cr_assert_neq(rc_key_name(a), name);
    name[0] = 'X';
    cr_assert_str_eq(rc_key_name(a), "pages/003.png");
    cr_assert_str_eq(rc_key_name(other), "pages/004.png");
    cr_assert_eq(rc_key_name(a), rc_key_name(b), "one text per entry");

    /* Three holds of a: it stays through the first two releases. */
    int tagged;
    rc_key_set_ud(a, &tagged);
    rc_key_release(cue, a);
    rc_key_release(cue, b);
    cr_assert_eq(hold("pages/003.png"), a);
    cr_assert_eq(rc_key_ud(a), &tagged);
    rc_key_release(cue, a); /* the hold just taken */
    rc_key_release(cue, a); /* the rc_key_hold_key */
    cr_assert_null(probe_ud("pages/003.png"), "released as often as held: a new entry");
    rc_key_release(cue, other);
}

Test(keys, ud_belongs_to_the_entry_and_is_lost_with_it)
{
    int one, two;
    rc_key *k = hold("ud/key");
    cr_assert_null(rc_key_ud(k), "a new entry has no ud");
    rc_key_set_ud(k, &one);
    cr_assert_eq(rc_key_ud(k), &one);
    cr_assert_eq(probe_ud("ud/key"), &one, "another hold sees the same ud");
    rc_key_set_ud(k, &two);
    cr_assert_eq(probe_ud("ud/key"), &two);
    rc_key_set_ud(k, NULL);
    cr_assert_null(probe_ud("ud/key"));
    rc_key_set_ud(k, &one);
    rc_key_release(cue, k);
    cr_assert_null(probe_ud("ud/key"), "nothing held it: freed");

    tag("loose/key", &one);
    cr_assert_null(probe_ud("loose/key"), "a tag on an entry nothing keeps is lost at once");
}

/* What keeps an entry alive, and how it lets go.  take returns the work it
 * made (0: none) and may set *handle; drop undoes it.  declared: it holds a
 * reference (a handle or a declaration), so the entry also outlives a change
 * of the key; a mere waiter leaves its entry's list while it is checked
 * again, and the contract promises nothing for the ud then. */
typedef struct holder {
    const char *what;
    rc_work_id (*take)(const char *key, rc_key **handle);
    void (*drop)(rc_work_id id, rc_key *handle);
    bool declared;
} holder;

static rc_work_id take_handle(const char *key, rc_key **handle)
{
    *handle = hold(key);
    return 0;
}

static rc_work_id take_handle_twice(const char *key, rc_key **handle)
{
    rc_key *first = hold(key);
    *handle = rc_key_hold_key(cue, first);
    cr_assert_eq(*handle, first);
    rc_key_release(cue, first);
    return 0;
}

static void drop_handle(rc_work_id id, rc_key *handle)
{
    (void)id;
    rc_key_release(cue, handle);
}

static rc_work_id take_pending_need(const char *key, rc_key **handle)
{
    (void)handle;
    rc_work_id id = submit_need(key);
    tu_run(loop);
    cr_assert_eq(state_of(id), RC_PENDING);
    cr_assert_str_eq(blocked_key(id), key);
    return id;
}

static rc_work_id take_side_waiter(const char *key, rc_key **handle)
{
    (void)handle;
    rc_work_id id = submit_side(key);
    tu_run(loop);
    cr_assert_eq(state_of(id), RC_PENDING);
    cr_assert_str_eq(blocked_key(id), key, "waits on a key it does not declare");
    return id;
}

static rc_work_id take_pending_producer(const char *key, rc_key **handle)
{
    (void)handle;
    rc_work_id id = submit("blind", (rc_submit_opts){.produces = STRS(key), .n_produces = 1});
    tu_run(loop);
    cr_assert_eq(state_of(id), RC_PENDING);
    return id;
}

static rc_work_id take_finished_producer(const char *key, rc_key **handle)
{
    (void)handle;
    rc_work_id id = submit("t", (rc_submit_opts){.produces = STRS(key), .n_produces = 1});
    tu_run(loop);
    cr_assert_eq(state_of(id), RC_COMPLETED, "kept: the cue keeps one finished producer");
    return id;
}

/* Cancel the work if it is pending, then let the cue forget it: a
 * non-producer at once, a producer when another finished producer pushes it
 * out of retain_finished. */
static void drop_work(rc_work_id id, rc_key *handle)
{
    (void)handle;
    if (state_of(id) == RC_PENDING) cr_assert_eq(rc_cancel(cue, id), RC_OK);
    tu_run(loop);
    if (rc_get(cue, id)) {
        submit("t", (rc_submit_opts){.produces = STRS("push/out"), .n_produces = 1});
        tu_run(loop);
    }
    cr_assert_null(rc_get(cue, id), "work %llu is forgotten", (unsigned long long)id);
}

static const holder holders[] = {
    {"a handle", take_handle, drop_handle, true},
    {"a handle taken again with rc_key_hold_key", take_handle_twice, drop_handle, true},
    {"a pending work that needs the key", take_pending_need, drop_work, true},
    {"a work waiting on the key without declaring it", take_side_waiter, drop_work, false},
    {"a pending work that produces the key", take_pending_producer, drop_work, true},
    {"a finished producer the cue keeps", take_finished_producer, drop_work, true},
};

Test(keys, ud_stays_while_anything_refers_to_the_entry)
{
    static int marker[sizeof holders / sizeof holders[0]];
    for (size_t i = 0; i < sizeof holders / sizeof holders[0]; i++) {
        const holder *h = &holders[i];
        char key[32];
        snprintf(key, sizeof key, "keep/%zu", i);
        cr_assert_null(probe_ud(key));
        rc_key *handle = NULL;
        const rc_work_id id = h->take(key, &handle);
        tag(key, &marker[i]);
        cr_assert_eq(probe_ud(key), &marker[i], "%s keeps the entry (and its ud)", h->what);
        if (h->declared) {
            /* Announcing a change does not let go of it either. */
            cr_assert_eq(rc_artifacts_changed(cue, key), RC_OK);
            tu_run(loop);
            cr_assert_eq(probe_ud(key), &marker[i], "%s keeps it across a change", h->what);
        }
        h->drop(id, handle);
        cr_assert_null(probe_ud(key), "once %s is gone the entry is freed", h->what);
    }
}

Test(keys, many_entries_stay_put_while_the_table_grows)
{
    enum { N = 3000 };
    static rc_key *held[N];
    static int marker[N];
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/%d", i);
        held[i] = hold(key);
        rc_key_set_ud(held[i], &marker[i]);
    }
    /* Entries do not move when the table grows: every handle is still the
     * entry of its key, with its name and ud. */
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/%d", i);
        cr_assert_str_eq(rc_key_name(held[i]), key);
        cr_assert_eq(rc_key_ud(held[i]), &marker[i]);
        rc_key *again = hold(key);
        cr_assert_eq(again, held[i], "entry of %s moved", key);
        rc_key_release(cue, again);
    }
    /* Let go of two thirds in an interleaved order; the rest are found. */
    for (int i = 0; i < N; i++)
        if (i % 3) rc_key_release(cue, held[i]);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "many/%d", i);
        cr_assert_eq(probe_ud(key), i % 3 ? NULL : (void *)&marker[i], "%s", key);
    }
    for (int i = 0; i < N; i += 3)
        rc_key_release(cue, held[i]);
    for (int i = 0; i < N; i += 7) {
        snprintf(key, sizeof key, "many/%d", i);
        cr_assert_null(probe_ud(key), "%s", key);
    }
}

/* ---- the keys of a work ---- */

/* Every declared key of w, by rc_work_key and by the strings, agree. */
static void assert_declared(const rc_work *w, const char *const *needs, size_t n_needs,
                            const char *const *produces, size_t n_produces)
{
    const char *const *got_needs = NULL, *const *got_produces = NULL;
    cr_assert_eq(rc_work_needs(w, &got_needs), n_needs);
    cr_assert_eq(rc_work_produces(w, &got_produces), n_produces);
    for (size_t i = 0; i < n_needs + n_produces; i++) {
        const bool is_need = i < n_needs;
        const char *want = is_need ? needs[i] : produces[i - n_needs];
        const char *got = is_need ? got_needs[i] : got_produces[i - n_needs];
        rc_key *k = rc_work_key(w, i);
        cr_assert_not_null(k, "rc_work_key(w, %zu)", i);
        cr_assert_str_eq(rc_key_name(k), want, "declared key %zu", i);
        cr_assert_eq(got, rc_key_name(k), "the work's string %zu is its entry's text", i);
        rc_key *fresh = hold(want);
        cr_assert_eq(fresh, k, "rc_work_key(w, %zu) is the cue's entry of %s", i, want);
        rc_key_release(cue, fresh);
    }
    cr_assert_null(rc_work_key(w, n_needs + n_produces), "one past the end");
    cr_assert_null(rc_work_key(w, n_needs + n_produces + 1));
    cr_assert_null(rc_work_key(w, SIZE_MAX));
}

Test(keys, work_key_indexes_needs_then_produces)
{
    const char *const needs[] = {"in/a", "in/b", "in/a"};
    const char *const produces[] = {"out/c", "in/b"};
    rc_work_id id = submit(
        "blind",
        (rc_submit_opts){.needs = needs, .n_needs = 3, .produces = produces, .n_produces = 2});
    const rc_work *w = rc_get(cue, id);
    assert_declared(w, needs, 3, produces, 2);
    cr_assert_eq(rc_work_key(w, 0), rc_work_key(w, 2), "a key named twice is one entry");
    cr_assert_eq(rc_work_key(w, 1), rc_work_key(w, 4), "a need and a produce of one key");

    /* Another work that declares a key shares its entry. */
    rc_work_id id2 = submit("blind", (rc_submit_opts){.produces = STRS("in/a"), .n_produces = 1});
    const rc_work *w2 = rc_get(cue, id2);
    w = rc_get(cue, id);
    cr_assert_eq(rc_work_key(w2, 0), rc_work_key(w, 0));
    const char *const *p2 = NULL, *const *n1 = NULL;
    rc_work_produces(w2, &p2);
    rc_work_needs(w, &n1);
    cr_assert_eq(p2[0], n1[0], "both works' strings are the entry's text");

    /* A work with no keys has none to give. */
    rc_work_id bare = submit("blind", (rc_submit_opts){0});
    assert_declared(rc_get(cue, bare), NULL, 0, NULL, 0);
    cr_assert_null(rc_work_key(rc_get(cue, bare), 0));
}

Test(keys, many_and_long_declared_keys)
{
    /* More keys than a small block of pointers holds, more needs than one
     * word of unmet bits, keys longer than a slab's objects, and produces
     * that repeat needs. */
    enum { NEEDS = 100, PRODUCES = 50, LONG = 300 };
    static char text[NEEDS + PRODUCES][LONG + 16];
    const char *needs[NEEDS], *produces[PRODUCES];
    for (size_t i = 0; i < NEEDS + PRODUCES; i++) {
        int n = snprintf(text[i], sizeof text[i], "decl/%zu/", i);
        if (i % 10 == 0) memset(text[i] + n, 'x', LONG - (size_t)n);
        if (i < NEEDS)
            needs[i] = text[i];
        else
            produces[i - NEEDS] = i % 5 == 0 ? needs[i - NEEDS] : text[i];
    }
    cr_assert_eq(strlen(needs[10]), LONG);
    const rc_work_id id =
        submit("blind",
               (rc_submit_opts){
                   .needs = needs, .n_needs = NEEDS, .produces = produces, .n_produces = PRODUCES});
    assert_declared(rc_get(cue, id), needs, NEEDS, produces, PRODUCES);
    int marker;
    tag(needs[10], &marker);
    cr_assert_eq(probe_ud(needs[10]), &marker);
    drop_work(id, NULL);
    cr_assert_null(probe_ud(needs[10]), "the long key went with its work");
}

Test(keys, submit_with_entries_reads_no_strings_where_an_entry_is_given)
{
    rc_key *ka = hold("in/a");
    rc_key *kc = hold("out/c");
    /* needs: an entry with no string, then a string with no entry;
     * produces: an entry with no string. */
    rc_work_id id = submit("blind", (rc_submit_opts){.needs = STRS(NULL, "in/b"),
                                                     .n_needs = 2,
                                                     .produces = STRS(NULL),
                                                     .n_produces = 1,
                                                     .keys = ENTRIES(ka, NULL, kc)});
    const rc_work *w = rc_get(cue, id);
    assert_declared(w, STRS("in/a", "in/b"), 2, STRS("out/c"), 1);
    cr_assert_eq(rc_work_key(w, 0), ka);
    cr_assert_eq(rc_work_key(w, 2), kc);

    /* No string arrays at all: every key given as an entry. */
    rc_work_id all =
        submit("blind", (rc_submit_opts){.n_needs = 1, .n_produces = 1, .keys = ENTRIES(kc, ka)});
    assert_declared(rc_get(cue, all), STRS("out/c"), 1, STRS("in/a"), 1);

    /* An entry wins over the string beside it (the string is not read). */
    rc_work_id over = submit(
        "blind", (rc_submit_opts){.needs = STRS("ignored"), .n_needs = 1, .keys = ENTRIES(ka)});
    assert_declared(rc_get(cue, over), STRS("in/a"), 1, NULL, 0);

    /* The works hold the entries: they outlive the handles. */
    int marker;
    rc_key_set_ud(ka, &marker);
    rc_key_release(cue, ka);
    rc_key_release(cue, kc);
    cr_assert_eq(probe_ud("in/a"), &marker);
    cr_assert_str_eq(rc_key_name(rc_work_key(rc_get(cue, id), 0)), "in/a");
}

Test(keys, work_declaring_an_entry_waits_on_it_and_runs_when_it_changes)
{
    rc_key *k = hold("in/x");
    rc_work_id id = submit("t", (rc_submit_opts){.n_needs = 1, .keys = ENTRIES(k)});
    tu_run(loop);
    cr_assert_eq(state_of(id), RC_PENDING);
    cr_assert_eq(blocked_key(id), rc_key_name(k), "filed under its entry");
    make_available("in/x");
    cr_assert_eq(rc_artifacts_changed_key(cue, k), RC_OK);
    tu_run(loop);
    cr_assert(completed(id));
    rc_key_release(cue, k);
}

Test(keys, a_null_string_without_an_entry_is_refused)
{
    rc_key *ka = hold("in/a");
    const struct {
        const char *what;
        rc_submit_opts o;
    } cases[] = {
        {"need NULL, no keys", {.needs = STRS(NULL), .n_needs = 1}},
        {"need NULL, its entry NULL", {.needs = STRS(NULL), .n_needs = 1, .keys = ENTRIES(NULL)}},
        {"second need has neither",
         {.needs = STRS("x", NULL), .n_needs = 2, .keys = ENTRIES(ka, NULL)}},
        {"produce has neither",
         {.n_needs = 1, .produces = STRS(NULL), .n_produces = 1, .keys = ENTRIES(ka, NULL)}},
        {"no needs array, entry NULL", {.n_needs = 1, .keys = ENTRIES(NULL)}},
        {"no produces array, entry NULL", {.n_produces = 1, .keys = ENTRIES(NULL)}},
        {"empty need, entry NULL", {.needs = STRS(""), .n_needs = 1, .keys = ENTRIES(NULL)}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc_work_id id = 99;
        rc_submit_opts o = cases[i].o;
        cr_assert_eq(rc_submit(cue, "t", &o, &id), RC_EINVAL, "%s", cases[i].what);
        cr_assert_neq(strlen(rc_cue_errmsg(cue)), 0, "%s: a message", cases[i].what);
        cr_assert_eq(id, 99, "%s: no id", cases[i].what);
    }
    cr_assert_eq(tu_stats(cue).submitted, 0);
    /* The refused submissions kept no reference to ka. */
    int marker;
    rc_key_set_ud(ka, &marker);
    rc_key_release(cue, ka);
    cr_assert_null(probe_ud("in/a"));
}

/* ---- changes ---- */

Test(keys, changed_key_wakes_exactly_the_work_waiting_on_it)
{
    const rc_work_id a = submit_need("k/1"), b = submit_need("k/2"), c = submit_need("k/1"),
                     side = submit_side("k/1"), unkeyed = submit("blind", (rc_submit_opts){0});
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).waiting, 5);
    const rc_work_id ids[] = {a, b, c, side, unkeyed};
    unsigned before[5];
    for (size_t i = 0; i < 5; i++) {
        before[i] = checks[ids[i]];
        cr_assert_eq(before[i], 1, "work %zu checked once", i);
    }

    make_available("k/1");
    rc_key *k = hold("k/1");
    const size_t ev0 = x->rec.n_events;
    cr_assert_eq(rc_artifacts_changed_key(cue, k), RC_OK);
    cr_assert_eq(count_changed(ev0), 1, "one artifacts_changed event, at once");
    cr_assert_str_eq(changed_detail(ev0), "k/1", "its detail is the key");
    tu_run(loop);

    /* The waiters of k/1 (declared or not) and the unkeyed one are checked
     * again; the waiter of k/2 is not. */
    const unsigned want[5] = {2, 1, 2, 2, 2};
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(checks[ids[i]], want[i], "work #%llu checked %u times, expected %u",
                     (unsigned long long)ids[i], checks[ids[i]], want[i]);
    cr_assert(completed(a));
    cr_assert(completed(c));
    cr_assert(completed(side));
    cr_assert_eq(state_of(b), RC_PENDING);
    cr_assert_str_eq(blocked_key(b), "k/2");
    cr_assert_eq(tu_stats(cue).waiting, 2);

    /* A key nothing waits on: the event, and only the unkeyed work again. */
    rc_key *idle = hold("k/idle");
    const size_t ev1 = x->rec.n_events;
    cr_assert_eq(rc_artifacts_changed_key(cue, idle), RC_OK);
    cr_assert_str_eq(changed_detail(ev1), "k/idle");
    tu_run(loop);
    cr_assert_eq(checks[b], 1);
    cr_assert_eq(checks[unkeyed], 3);
    rc_key_release(cue, idle);
    rc_key_release(cue, k);
}

/* Two ways to announce a change of key. */
typedef struct announcer {
    const char *what;
    int (*announce)(const char *key);
} announcer;

static int announce_by_name(const char *key)
{
    return rc_artifacts_changed(cue, key);
}

/* A handle only for the call: the entry may go with its last waiter. */
static int announce_by_entry(const char *key)
{
    rc_key *k = hold(key);
    const int rc = rc_artifacts_changed_key(cue, k);
    rc_key_release(cue, k);
    return rc;
}

static const announcer announcers[] = {
    {"rc_artifacts_changed", announce_by_name},
    {"rc_artifacts_changed_key", announce_by_entry},
};

Test(keys, waiting_on_a_key_that_is_not_declared)
{
    static int marker[2];
    for (size_t i = 0; i < 2; i++) {
        const announcer *an = &announcers[i];
        char key[32];
        snprintf(key, sizeof key, "side/%zu", i);
        const rc_work_id id = submit_side(key);
        tu_run(loop);
        cr_assert_eq(checks[id], 1);
        cr_assert_str_eq(blocked_key(id), key);

        /* A handle sees the entry the work waits on. */
        rc_key *h = hold(key);
        cr_assert_eq(blocked_key(id), rc_key_name(h), "%s: the waiter's entry", an->what);
        rc_key_set_ud(h, &marker[i]);

        /* Still missing: checked again, and filed again under the key. */
        const size_t ev0 = x->rec.n_events;
        cr_assert_eq(an->announce(key), RC_OK);
        cr_assert_str_eq(changed_detail(ev0), key, "%s", an->what);
        tu_run(loop);
        cr_assert_eq(checks[id], 2, "%s: checked again", an->what);
        cr_assert_eq(state_of(id), RC_PENDING);
        cr_assert_eq(blocked_key(id), rc_key_name(h), "%s: filed again", an->what);

        /* The waiter alone keeps the entry once the handle goes. */
        rc_key_release(cue, h);
        cr_assert_eq(probe_ud(key), &marker[i], "%s: the waiter keeps it", an->what);

        make_available(key);
        cr_assert_eq(an->announce(key), RC_OK);
        tu_run(loop);
        cr_assert(completed(id), "%s: woken and run", an->what);
        cr_assert_null(probe_ud(key), "%s: the entry went with its last waiter", an->what);
    }
}

Test(keys, a_waiter_whose_entry_is_dropped_on_wake_is_filed_again)
{
    /* Nothing but the waiter refers to side/x: each change frees the entry
     * when the work leaves its list, and the check makes a new one. */
    const rc_work_id id = submit_side("side/x");
    tu_run(loop);
    for (unsigned round = 0; round < 4; round++) {
        cr_assert_eq(announcers[round % 2].announce("side/x"), RC_OK);
        tu_run(loop);
        cr_assert_eq(checks[id], round + 2);
        cr_assert_str_eq(blocked_key(id), "side/x", "round %u", round);
        cr_assert_eq(tu_stats(cue).waiting, 1);
    }
    make_available("side/x");
    cr_assert_eq(rc_artifacts_changed(cue, "side/x"), RC_OK);
    tu_run(loop);
    cr_assert(completed(id));
}

Test(keys, a_producer_wakes_the_work_waiting_on_its_key)
{
    const rc_work_id declared = submit_need("gen/1");
    const rc_work_id side = submit_side("gen/1");
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).waiting, 2);
    const size_t ev0 = x->rec.n_events;
    const rc_work_id producer =
        submit("make", (rc_submit_opts){.produces = STRS("gen/1"), .n_produces = 1});
    tu_run(loop);
    cr_assert(completed(producer));
    cr_assert_str_eq(changed_detail(ev0), "gen/1", "its produce is announced");
    cr_assert(completed(declared));
    cr_assert(completed(side));
    cr_assert_gt(tu_xrec_find_event(x, RC_EV_COMPLETED, declared),
                 tu_xrec_find_event(x, RC_EV_COMPLETED, producer));
}

/* ---- diagnosis ---- */

Test(keys, diagnosis_names_the_keys_work_waits_on)
{
    rc_key *ka = hold("in/a");
    const rc_work_id by_entry = submit("t", (rc_submit_opts){.n_needs = 1, .keys = ENTRIES(ka)});
    const rc_work_id side = submit_side("side/b");
    tu_run(loop);

    size_t n = 0;
    rc_blocked *items = blocked(&n);
    cr_assert_eq(n, 2);
    cr_assert_eq(items[0].id, by_entry);
    cr_assert_str_eq(items[0].wait_key, "in/a");
    cr_assert_eq(items[0].wait_key, rc_key_name(ka), "the entry's text");
    cr_assert(items[0].has_producer_info);
    cr_assert_eq(items[0].producer, 0, "nothing produces in/a");
    cr_assert_eq(items[1].id, side);
    cr_assert_str_eq(items[1].wait_key, "side/b");
    rc_blocked_free(cue, items);

    rc_diagnosis d;
    cr_assert_eq(rc_diagnose(cue, &d), RC_OK);
    bool edge = false, missing = false;
    for (size_t i = 0; i < d.n_edges; i++)
        if (d.edges[i].waiter == by_entry && strcmp(d.edges[i].key, "in/a") == 0) edge = true;
    for (size_t i = 0; i < d.n_missing; i++)
        if (strcmp(d.missing[i], "in/a") == 0) missing = true;
    cr_assert(edge, "an edge from #%llu on in/a", (unsigned long long)by_entry);
    cr_assert(missing, "in/a is missing a producer");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    rc_diagnosis_print(cue, &d, 10, f);
    fclose(f);
    cr_assert_not_null(strstr(text, "'in/a'"), "%s", text);
    free(text);
    rc_diagnosis_free(cue, &d);

    /* With a producer, the item names it. */
    const rc_work_id producer =
        submit("blind", (rc_submit_opts){.produces = STRS("in/a"), .n_produces = 1});
    tu_run(loop);
    items = blocked(&n);
    cr_assert_eq(items[0].producer, producer);
    cr_assert_eq(items[0].producer_state, RC_PENDING);
    rc_blocked_free(cue, items);
    rc_key_release(cue, ka);
}

/* ---- NULL ---- */

Test(keys, null_arguments_are_harmless)
{
    int marker;
    rc_key *k = hold("n/k");
    rc_key_set_ud(k, &marker);
    const size_t ev0 = x->rec.n_events;

    cr_assert_null(rc_key_hold(NULL, "n/k"));
    cr_assert_null(rc_key_hold(cue, NULL));
    cr_assert_null(rc_key_hold(cue, ""), "the empty key is refused");
    cr_assert_null(rc_key_hold_key(NULL, k));
    cr_assert_null(rc_key_hold_key(cue, NULL));
    rc_key_release(cue, NULL);
    rc_key_release(NULL, k); /* ignored: k stays held once */
    cr_assert_null(rc_key_name(NULL));
    cr_assert_null(rc_key_ud(NULL));
    rc_key_set_ud(NULL, &marker);
    cr_assert_null(rc_work_key(NULL, 0));
    cr_assert_eq(rc_artifacts_changed_key(NULL, k), RC_EINVAL);
    cr_assert_eq(rc_artifacts_changed_key(cue, NULL), RC_EINVAL);
    cr_assert_eq(count_changed(ev0), 0, "a refused announcement emits nothing");

    cr_assert_eq(probe_ud("n/k"), &marker, "k was held once all along");
    rc_key_release(cue, k);
    cr_assert_null(probe_ud("n/k"));
}

/* ---- holding many at once ---- */

/* 200 names (many of rc_key_hold_n's batches of 16; the table grows while
 * they are held), with repeats:
 * name i is "many/(i % 150)". */
enum { N_MANY = 200, N_DISTINCT = 150 };
static char many_names[N_MANY][32];
static const char *many[N_MANY];

static void make_many(void)
{
    for (int i = 0; i < N_MANY; i++) {
        snprintf(many_names[i], sizeof many_names[i], "many/%d", i % N_DISTINCT);
        many[i] = many_names[i];
    }
}

Test(keys, hold_n_gives_the_entries_hold_gives_and_holds_each_once_per_name)
{
    make_many();
    rc_key *out[N_MANY];
    cr_assert_eq(rc_key_hold_n(cue, many, N_MANY, out), RC_OK);
    static int tags[N_DISTINCT];
    for (int i = 0; i < N_MANY; i++) {
        cr_assert_str_eq(rc_key_name(out[i]), many[i]);
        cr_assert_eq(out[i], out[i % N_DISTINCT], "a repeated name is the same entry");
        rc_key *one = hold(many[i]);
        cr_assert_eq(one, out[i], "the entry rc_key_hold gives");
        rc_key_release(cue, one);
        rc_key_set_ud(out[i], &tags[i % N_DISTINCT]);
    }
    /* Held once per appearance: names 0..49 twice, the others once. */
    for (int i = 0; i < N_DISTINCT; i++) rc_key_release(cue, out[i]);
    for (int i = 0; i < N_DISTINCT; i++) {
        if (i < N_MANY - N_DISTINCT)
            cr_assert_eq(probe_ud(many[i]), &tags[i], "%s was held twice", many[i]);
        else
            cr_assert_null(probe_ud(many[i]), "%s was held once", many[i]);
    }
    for (int i = N_DISTINCT; i < N_MANY; i++) rc_key_release(cue, out[i]);
    for (int i = 0; i < N_DISTINCT; i++) cr_assert_null(probe_ud(many[i]));
}

Test(keys, hold_n_refuses_bad_arguments_and_holds_nothing)
{
    int marker;
    rc_key *k = hold("bad/0");
    rc_key_set_ud(k, &marker);
    rc_key *out[3] = {NULL, NULL, NULL};
    cr_assert_eq(rc_key_hold_n(NULL, STRS("bad/0"), 1, out), RC_EINVAL);
    cr_assert_eq(rc_key_hold_n(cue, NULL, 1, out), RC_EINVAL);
    cr_assert_eq(rc_key_hold_n(cue, STRS("bad/0"), 1, NULL), RC_EINVAL);
    cr_assert_eq(rc_key_hold_n(cue, STRS("bad/0", ""), 2, out), RC_EINVAL);
    cr_assert(strstr(rc_cue_errmsg(cue), "keys[1] is empty"), "%s", rc_cue_errmsg(cue));
    cr_assert_eq(rc_key_hold_n(cue, STRS("bad/0", "bad/1", NULL), 3, out), RC_EINVAL);
    cr_assert(strstr(rc_cue_errmsg(cue), "keys[2] is empty"), "%s", rc_cue_errmsg(cue));
    cr_assert_eq(rc_key_hold_n(cue, NULL, 0, NULL), RC_OK, "nothing to hold");
    /* Nothing was held by the refused calls: one release frees bad/0. */
    rc_key_release(cue, k);
    cr_assert_null(probe_ud("bad/0"));
    cr_assert_null(probe_ud("bad/1"));
}

/* An allocator that fails from its n-th call on (n < 0: never). */
static long fail_from, alloc_calls;
static void *failing_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (fail_from >= 0 && alloc_calls++ >= fail_from) return NULL;
    return realloc(p, n);
}

Test(keys, hold_n_out_of_memory_holds_nothing_at_every_failure_point)
{
    make_many();
    const rc_allocator fa = {failing_realloc, NULL};
    int failures = 0;
    for (long k = 0; k < 64; k++) {
        fail_from = -1;
        rc_cue *c = NULL;
        cr_assert_eq(rc_cue_new(&c, loop, &(rc_cue_opts){.alloc = &fa}), RC_OK);
        rc_key *out[N_MANY];
        alloc_calls = 0;
        fail_from = k;
        const int rc = rc_key_hold_n(c, many, N_MANY, out);
        fail_from = -1;
        cr_assert(rc == RC_OK || rc == RC_ENOMEM, "k=%ld: %d", k, rc);
        if (rc == RC_OK) {
            for (int i = 0; i < N_MANY; i++) rc_key_release(c, out[i]);
        } else {
            failures++;
        }
        /* Whatever happened, holding them again and letting go once each
         * leaves no entry: the failed call kept no reference. */
        static int tag;
        cr_assert_eq(rc_key_hold_n(c, many, N_MANY, out), RC_OK);
        for (int i = 0; i < N_MANY; i++) rc_key_set_ud(out[i], &tag);
        for (int i = 0; i < N_MANY; i++) rc_key_release(c, out[i]);
        for (int i = 0; i < N_DISTINCT; i++) {
            rc_key *again = rc_key_hold(c, many[i]);
            cr_assert_not_null(again);
            cr_assert_null(rc_key_ud(again), "k=%ld: %s kept a reference", k, many[i]);
            rc_key_release(c, again);
        }
        rc_cue_free(c);
    }
    cr_assert_gt(failures, 0, "some allocation failed");
}

Test(keys, prefetch_keys_is_a_hint_and_changes_nothing)
{
    rc_work_prefetch_keys(NULL);
    const rc_work_id id =
        submit("t", (rc_submit_opts){.needs = STRS("p/a", "p/b"), .n_needs = 2,
                                     .produces = STRS("p/c"), .n_produces = 1});
    const rc_work_id bare = submit("t", (rc_submit_opts){0});
    rc_work_prefetch_keys(rc_get(cue, id));
    rc_work_prefetch_keys(rc_get(cue, bare));
    const char *const *needs = NULL;
    cr_assert_eq(rc_work_needs(rc_get(cue, id), &needs), 2);
    cr_assert_str_eq(needs[1], "p/b");
    cr_assert_str_eq(rc_key_name(rc_work_key(rc_get(cue, id), 2)), "p/c");
}

/* ---- making room for keys ---- */

Test(keys, reserve_makes_room_that_holding_then_fits_in)
{
    size_t keys = 1, room = 1;
    rc_key_counts(NULL, &keys, &room);
    cr_assert_eq(keys, 0);
    cr_assert_eq(room, 0);
    rc_key_counts(cue, NULL, NULL); /* either may be NULL */
    cr_assert_eq(rc_key_reserve(NULL, 10), RC_EINVAL);
    cr_assert_eq(rc_key_reserve(cue, 5000), RC_OK);
    rc_key_counts(cue, &keys, &room);
    cr_assert_eq(keys, 0);
    cr_assert_geq(room, 5000);
    const size_t reserved = room;
    /* 5000 keys: the room does not change (the table did not grow), and
     * every one is there with its ud. */
    static rc_key *held[5000];
    static int tags[5000];
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "room/%d", i);
        held[i] = hold(name);
        rc_key_set_ud(held[i], &tags[i]);
    }
    rc_key_counts(cue, &keys, &room);
    cr_assert_eq(keys, 5000);
    cr_assert_eq(room, reserved, "the table grew: room %zu, was %zu", room, reserved);
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof name, "room/%d", i);
        cr_assert_eq(probe_ud(name), &tags[i], "%s", name);
    }
    /* Less than the room changes nothing. */
    cr_assert_eq(rc_key_reserve(cue, 10), RC_OK);
    rc_key_counts(cue, NULL, &room);
    cr_assert_eq(room, reserved);
    for (int i = 0; i < 5000; i++) rc_key_release(cue, held[i]);
    rc_key_counts(cue, &keys, NULL);
    cr_assert_eq(keys, 0);
}

Test(keys, reserve_out_of_memory_names_the_problem_and_keeps_the_keys)
{
    const rc_allocator fa = {failing_realloc, NULL};
    fail_from = -1;
    rc_cue *c = NULL;
    cr_assert_eq(rc_cue_new(&c, loop, &(rc_cue_opts){.alloc = &fa}), RC_OK);
    static int tag;
    rc_key *k = rc_key_hold(c, "kept/1");
    rc_key_set_ud(k, &tag);
    size_t room_before;
    rc_key_counts(c, NULL, &room_before);
    alloc_calls = 0;
    fail_from = 0;
    cr_assert_eq(rc_key_reserve(c, 100000), RC_ENOMEM);
    fail_from = -1;
    cr_assert(strstr(rc_cue_errmsg(c), "key_reserve: out of memory for 100000 keys"), "%s",
              rc_cue_errmsg(c));
    size_t keys, room;
    rc_key_counts(c, &keys, &room);
    cr_assert_eq(keys, 1);
    cr_assert_eq(room, room_before);
    rc_key *again = rc_key_hold(c, "kept/1");
    cr_assert_eq(rc_key_ud(again), &tag);
    rc_key_release(c, again);
    cr_assert_eq(rc_key_reserve(c, SIZE_MAX), RC_ENOMEM, "more than any table");
    rc_key_release(c, k);
    rc_cue_free(c);
}

/* A work declares at most 65535 needs, and as many produces: more is
 * refused with a message, and nothing is submitted. */
Test(keys, declared_keys_are_bounded_per_work)
{
    enum { MOST = 65535 };
    static char names[MOST + 1][24];
    static const char *list[MOST + 1];
    for (size_t i = 0; i <= MOST; i++) {
        snprintf(names[i], sizeof names[i], "k%zu", i);
        list[i] = names[i];
    }
    rc_stats before, after;
    rc_cue_stats(cue, &before);
    rc_work_id id = 0;
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.needs = list, .n_needs = MOST + 1}, &id),
                 RC_EINVAL);
    cr_assert(strstr(rc_cue_errmsg(cue), "more than 65535 needs or produces"), "%s",
              rc_cue_errmsg(cue));
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.produces = list, .n_produces = MOST + 1},
                           &id),
                 RC_EINVAL);
    rc_cue_stats(cue, &after);
    cr_assert_eq(after.submitted, before.submitted);
    /* The most is taken, and the work says so. */
    id = submit("t", (rc_submit_opts){.needs = list, .n_needs = MOST, .produces = list + 1,
                                       .n_produces = MOST});
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_needs(w, NULL), MOST);
    cr_assert_eq(rc_work_produces(w, NULL), MOST);
}
