/* test_diagnose.c -- rc_debug_blocked and rc_diagnose.
 *
 * Every pending item can say why it waits (not_ready and on which key,
 * service_full, rate_limited and until when, unknown_task, delayed), and with
 * declared needs/produces the wait-for graph names missing producers, cycles
 * and failed producers. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_xrec *x;

/* Artifacts the test has made valid: a tiny set of keys. */
static const char *made[8];
static size_t n_made;

static bool have(const char *key)
{
    if (strncmp(key, "ok/", 3) == 0) return true; /* made, for tests of many needs */
    for (size_t i = 0; i < n_made; i++)
        if (strcmp(made[i], key) == 0) return true;
    return false;
}

/* Ready when every declared need exists; otherwise wait on the first
 * missing one, with a sentence naming it.  Tasks named "blind" wait without
 * saying on what. */
/* Set by a test: name every unmet need, not only the first. */
static bool name_all;

static int needs_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    if (strcmp(rc_work_task(w), "blind") == 0) return 0;
    const char *const *keys = NULL;
    size_t n = rc_work_needs(w, &keys), unmet = 0;
    for (size_t i = 0; i < n; i++) {
        if (!have(keys[i])) {
            rc_check_wait_on(check, keys[i]);
            if (!unmet++) rc_check_detail(check, "input %s missing", keys[i]);
            if (!name_all) return 0;
        }
    }
    return unmet == 0;
}

static void setup(void)
{
    n_made = 0;
    name_all = false;
    tu_open(&loop, &cue, NULL);
    x = tu_xrec_new(loop);
    tu_xrec_install(x, cue, needs_ready, NULL);
}

static void teardown(void)
{
    tu_close(loop, cue);
    free(x);
}

TestSuite(diagnose, .init = setup, .fini = teardown);

static rc_work_id submit_kp(const char *task, const char *need, const char *produce)
{
    const char *needs[] = {need};
    const char *produces[] = {produce};
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.needs = needs;
    o.n_needs = need ? 1 : 0;
    o.produces = produces;
    o.n_produces = produce ? 1 : 0;
    return tu_submit_opts(cue, task, &o);
}

typedef struct blocked_list {
    rc_blocked *items;
    size_t n;
} blocked_list;

static blocked_list blocked(void)
{
    blocked_list b = {NULL, 0};
    int rc = rc_debug_blocked(cue, &b.items, &b.n);
    cr_assert_eq(rc, RC_OK, "rc_debug_blocked: %s", rc_strerror(rc));
    return b;
}

#define assert_contains(haystack, needle)                                                          \
    cr_assert_not_null(strstr((haystack), (needle)), "\"%s\" does not contain \"%s\"", (haystack), \
                       (needle))

/* ---- rc_debug_blocked ---- */

Test(diagnose, nothing_pending_gives_an_empty_list)
{
    rc_blocked *items = (rc_blocked *)&x; /* poison: must be reset */
    size_t n = 99;
    cr_assert_eq(rc_debug_blocked(cue, &items, &n), RC_OK);
    cr_assert_null(items);
    cr_assert_eq(n, 0);
    rc_blocked_free(cue, items);
}

Test(diagnose, reason_names_are_stable_strings)
{
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_UNCHECKED), "unchecked");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_NOT_READY), "not_ready");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_SERVICE_FULL), "service_full");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_RATE_LIMITED), "rate_limited");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_UNKNOWN_TASK), "unknown_task");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_DELAYED), "delayed");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_PAUSED), "paused");
    cr_assert_str_eq(rc_block_reason_name(RC_BLOCK_REMOTE), "remote");
}

Test(diagnose, not_ready_names_the_key_and_the_checks_sentence)
{
    cr_assert_eq(rc_task(cue, "summarize", NULL, tu_handler_hold, x), RC_OK);
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    const char *needs[] = {"pages/003.png"};
    o.needs = needs;
    o.n_needs = 1;
    o.label = "summary of page 3";
    tu_run_until(loop, 2);
    rc_work_id id = tu_submit_opts(cue, "summarize", &o);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    blocked_list b = blocked();

    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_NOT_READY);
    cr_assert_str_eq(b.items[0].task, "summarize");
    cr_assert_null(b.items[0].service);
    cr_assert_str_eq(b.items[0].label, "summary of page 3");
    cr_assert_str_eq(b.items[0].wait_key, "pages/003.png");
    assert_contains(b.items[0].detail, "input pages/003.png missing");
    tu_assert_time_s(b.items[0].since, 2);
    rc_blocked_free(cue, b.items);
}

Test(diagnose, not_ready_without_a_key_has_no_wait_key)
{
    cr_assert_eq(rc_task(cue, "blind", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id id = tu_submit(cue, "blind", NULL);
    tu_run(loop);

    blocked_list b = blocked();

    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_NOT_READY);
    cr_assert_null(b.items[0].wait_key);
    cr_assert_neq(b.items[0].detail[0], '\0', "a not_ready item still gets a sentence");
    rc_blocked_free(cue, b.items);
}

Test(diagnose, service_full_names_the_service_and_its_occupancy)
{
    cr_assert_eq(rc_service(cue, "api", NULL, 2), RC_OK);
    cr_assert_eq(rc_task(cue, "call", "api", tu_handler_hold, x), RC_OK);
    rc_work_id ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = tu_submit(cue, "call", NULL);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 1, "running work keeps the loop alive");
    cr_assert_eq(x->n_held, 2);

    blocked_list b = blocked();

    cr_assert_eq(b.n, 3, "running items are not listed");
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(b.items[i].id, ids[i + 2], "submission order");
        cr_assert_eq(b.items[i].reason, RC_BLOCK_SERVICE_FULL);
        cr_assert_str_eq(b.items[i].service, "api");
        assert_contains(b.items[i].detail, "api");
        assert_contains(b.items[i].detail, "2/2");
    }
    rc_blocked_free(cue, b.items);

    tu_xrec_release_all(x, cue);
    tu_run(loop);
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).completed, 5);
}

Test(diagnose, rate_limited_names_the_rate_and_the_next_start)
{
    tu_task *t = tu_task_new();
    tu_serve(cue, "api", "2/10", RC_NO_LIMIT, "call", t);
    for (int i = 0; i < 3; i++)
        tu_submit(cue, "call", NULL);
    tu_run_until(loop, 1);
    cr_assert_eq(t->calls, 2);

    blocked_list b = blocked();

    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, 3);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_RATE_LIMITED);
    cr_assert_str_eq(b.items[0].service, "api");
    assert_contains(b.items[0].detail, "api");
    assert_contains(b.items[0].detail, "2");
    assert_contains(b.items[0].detail, "next start at t=10");
    rc_blocked_free(cue, b.items);

    rc_service_info info;
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.next_start, rc_seconds(10));
    cr_assert_eq(info.starts_in_window, 2);

    tu_run(loop);
    cr_assert_eq(t->calls, 3);
    tu_assert_time_s(t->starts[2], 10);
    free(t);
}

Test(diagnose, unknown_task_waits_until_a_handler_is_set)
{
    tu_task *t = tu_task_new();
    cr_assert_eq(rc_task(cue, "later", NULL, NULL, NULL), RC_OK);
    rc_work_id id = tu_submit(cue, "later", NULL);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0, "nothing can run it: idle");

    blocked_list b = blocked();
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_UNKNOWN_TASK);
    assert_contains(b.items[0].detail, "later");
    rc_blocked_free(cue, b.items);
    cr_assert_eq(tu_stats(cue).waiting, 1);

    cr_assert_eq(rc_task_set_handler(cue, "later", tu_handler, t), RC_OK);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(t->calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    b = blocked();
    cr_assert_eq(b.n, 0);
    free(t);
}

Test(diagnose, delayed_work_is_listed_as_delayed_until_its_time)
{
    tu_task *t = tu_task_new();
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, t), RC_OK);
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.delay_s = 5;
    rc_work_id id = tu_submit_opts(cue, "t", &o);
    tu_run_until(loop, 1);

    blocked_list b = blocked();
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_DELAYED);
    cr_assert_neq(b.items[0].detail[0], '\0');
    rc_blocked_free(cue, b.items);
    cr_assert_eq(tu_stats(cue).delayed, 1);

    tu_run(loop);
    cr_assert_eq(t->calls, 1);
    tu_assert_time_s(t->starts[0], 5);
    free(t);
}

Test(diagnose, not_before_holds_work_until_an_absolute_time)
{
    tu_task *t = tu_task_new();
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, t), RC_OK);
    tu_run_until(loop, 2);
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.not_before = rc_seconds(7);
    o.delay_s = 1; /* the later of now + 1 s and t=7 s wins */
    rc_work_id id = tu_submit_opts(cue, "t", &o);
    tu_run_until(loop, 3);

    blocked_list b = blocked();
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_DELAYED);
    cr_assert(strstr(b.items[0].detail, "delayed until t=7.000s") != NULL, "detail: %s",
              b.items[0].detail);
    rc_blocked_free(cue, b.items);

    tu_run(loop);
    cr_assert_eq(t->calls, 1);
    tu_assert_time_s(t->starts[0], 7);

    /* A not_before in the past is no delay at all; a negative one is refused. */
    o.delay_s = 0;
    o.not_before = rc_seconds(1);
    rc_work_id now_id = tu_submit_opts(cue, "t", &o);
    cr_assert_eq(tu_stats(cue).delayed, 0);
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, now_id)), RC_COMPLETED);
    o.not_before = -1;
    cr_assert_eq(rc_submit(cue, "t", &o, NULL), RC_EINVAL);
    free(t);
}

Test(diagnose, unchecked_work_is_listed_before_the_first_pass)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);

    blocked_list b = blocked();

    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_UNCHECKED);
    rc_blocked_free(cue, b.items);
    tu_run_until(loop, 0);
    tu_xrec_release_all(x, cue);
    tu_run(loop);
}

Test(diagnose, paused_cue_lists_ready_work_as_paused)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_cue_pause(cue, true);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(x->n_held, 0, "a paused cue starts nothing");

    blocked_list b = blocked();
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.items[0].id, id);
    cr_assert_eq(b.items[0].reason, RC_BLOCK_PAUSED);
    rc_blocked_free(cue, b.items);

    rc_cue_pause(cue, false);
    tu_run(loop);
    cr_assert_eq(x->n_held, 1);
    tu_xrec_release_all(x, cue);
    tu_run(loop);
}

Test(diagnose, every_pending_item_is_listed_in_submission_order_with_its_reason)
{
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    cr_assert_eq(rc_task(cue, "busy", "one", tu_handler_hold, x), RC_OK);
    cr_assert_eq(rc_task(cue, "blind", NULL, tu_handler_hold, x), RC_OK);
    cr_assert_eq(rc_task(cue, "nohandler", NULL, NULL, NULL), RC_OK);
    rc_submit_opts later;
    memset(&later, 0, sizeof later);
    later.delay_s = 100;

    rc_work_id r = tu_submit(cue, "busy", NULL);        /* runs */
    rc_work_id a = tu_submit(cue, "blind", NULL);       /* not_ready */
    rc_work_id b = tu_submit(cue, "busy", NULL);        /* service_full */
    rc_work_id c = tu_submit(cue, "nohandler", NULL);   /* unknown_task */
    rc_work_id d = tu_submit_opts(cue, "busy", &later); /* delayed */
    tu_run_until(loop, 1);

    blocked_list bl = blocked();

    cr_assert_eq(bl.n, 4);
    rc_work_id want_id[] = {a, b, c, d};
    rc_block_reason want[] = {RC_BLOCK_NOT_READY, RC_BLOCK_SERVICE_FULL, RC_BLOCK_UNKNOWN_TASK,
                              RC_BLOCK_DELAYED};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(bl.items[i].id, want_id[i], "item %zu", i);
        cr_assert_eq(bl.items[i].reason, want[i], "item %zu: %s", i,
                     rc_block_reason_name(bl.items[i].reason));
    }
    cr_assert_neq(bl.items[0].id, r);
    rc_blocked_free(cue, bl.items);

    /* Clean up: cancel what cannot finish, drain the rest. */
    cr_assert_eq(rc_cancel(cue, a), RC_OK);
    cr_assert_eq(rc_cancel(cue, c), RC_OK);
    cr_assert_eq(rc_cancel(cue, d), RC_OK);
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).pending, 0);
}

/* ---- rc_diagnose ---- */

static void diagnose(rc_diagnosis *d)
{
    memset(d, 0xA5, sizeof *d);
    int rc = rc_diagnose(cue, d);
    cr_assert_eq(rc, RC_OK, "rc_diagnose: %s", rc_strerror(rc));
}

static const rc_wait_edge *edge_of(const rc_diagnosis *d, rc_work_id waiter)
{
    for (size_t i = 0; i < d->n_edges; i++)
        if (d->edges[i].waiter == waiter) return &d->edges[i];
    return NULL;
}

Test(diagnose, nothing_waiting_gives_an_empty_diagnosis)
{
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_edges, 0);
    cr_assert_eq(d.n_cycles, 0);
    cr_assert_eq(d.n_missing, 0);
    cr_assert_eq(d.n_failed_roots, 0);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_need_nobody_produces_is_missing)
{
    cr_assert_eq(rc_task(cue, "consume", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id id = submit_kp("consume", "analysis.json", NULL);
    tu_run(loop);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_missing, 1);
    cr_assert_str_eq(d.missing[0], "analysis.json");
    cr_assert_eq(d.n_edges, 1);
    cr_assert_eq(d.edges[0].waiter, id);
    cr_assert_str_eq(d.edges[0].key, "analysis.json");
    cr_assert_eq(d.edges[0].producer, 0);
    cr_assert_eq(d.n_cycles, 0);
    cr_assert_eq(d.n_failed_roots, 0);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, missing_keys_are_deduplicated_and_sorted)
{
    cr_assert_eq(rc_task(cue, "consume", NULL, tu_handler_hold, x), RC_OK);
    submit_kp("consume", "zeta", NULL);
    submit_kp("consume", "alpha", NULL);
    submit_kp("consume", "zeta", NULL);
    submit_kp("consume", "mid", NULL);
    tu_run(loop);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_edges, 4);
    cr_assert_eq(d.n_missing, 3);
    cr_assert_str_eq(d.missing[0], "alpha");
    cr_assert_str_eq(d.missing[1], "mid");
    cr_assert_str_eq(d.missing[2], "zeta");
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_pending_producer_is_named_on_the_edge)
{
    /* C needs x from P; P needs y which nobody makes. */
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id p = submit_kp("t", "y", "x");
    rc_work_id c = submit_kp("t", "x", "out");
    tu_run(loop);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_edges, 2);
    const rc_wait_edge *ec = edge_of(&d, c);
    cr_assert_not_null(ec);
    cr_assert_str_eq(ec->key, "x");
    cr_assert_eq(ec->producer, p);
    cr_assert_eq(ec->producer_state, RC_PENDING);
    const rc_wait_edge *ep = edge_of(&d, p);
    cr_assert_not_null(ep);
    cr_assert_eq(ep->producer, 0);
    cr_assert_eq(d.n_missing, 1);
    cr_assert_str_eq(d.missing[0], "y");
    cr_assert_eq(d.n_cycles, 0);
    rc_diagnosis_free(cue, &d);
}

static bool cycle_has(const rc_diagnosis *d, size_t c, rc_work_id id)
{
    for (size_t i = 0; i < d->cycle_len[c]; i++)
        if (d->cycles[c][i] == id) return true;
    return false;
}

Test(diagnose, two_items_waiting_on_each_other_form_one_cycle)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id a = submit_kp("t", "x", "y"); /* A needs x, makes y */
    rc_work_id b = submit_kp("t", "y", "x"); /* B needs y, makes x */
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_cycles, 1);
    cr_assert_eq(d.cycle_len[0], 2);
    cr_assert(cycle_has(&d, 0, a));
    cr_assert(cycle_has(&d, 0, b));
    cr_assert_eq(d.n_missing, 0);
    cr_assert_eq(d.n_failed_roots, 0);
    const rc_wait_edge *ea = edge_of(&d, a);
    cr_assert_not_null(ea);
    cr_assert_eq(ea->producer, b);
    cr_assert_eq(ea->producer_state, RC_PENDING);
    const rc_wait_edge *eb = edge_of(&d, b);
    cr_assert_not_null(eb);
    cr_assert_eq(eb->producer, a);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_three_item_cycle_is_reported_once_in_edge_order)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id a = submit_kp("t", "k1", "k3"); /* A waits for C */
    rc_work_id b = submit_kp("t", "k2", "k1"); /* B waits for A */
    rc_work_id c = submit_kp("t", "k3", "k2"); /* C waits for B */
    tu_run(loop);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_cycles, 1);
    cr_assert_eq(d.cycle_len[0], 3);
    cr_assert(cycle_has(&d, 0, a) && cycle_has(&d, 0, b) && cycle_has(&d, 0, c));
    /* w0 -> w1 -> w2 -> w0 follows "waits for": A waits for B, i.e. for
     * each step the next id is the producer of the previous one's key. */
    for (size_t i = 0; i < 3; i++) {
        rc_work_id from = d.cycles[0][i], to = d.cycles[0][(i + 1) % 3];
        const rc_wait_edge *e = edge_of(&d, from);
        cr_assert_not_null(e);
        cr_assert_eq(e->producer, to, "cycle step %zu: %llu waits for %llu, not %llu", i,
                     (unsigned long long)from, (unsigned long long)e->producer,
                     (unsigned long long)to);
    }
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_failed_producer_is_a_failed_root)
{
    tu_task *failing = tu_task_new();
    failing->fail = "disk full";
    cr_assert_eq(rc_task(cue, "produce", NULL, tu_handler, failing), RC_OK);
    cr_assert_eq(rc_task(cue, "consume", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id p = submit_kp("produce", NULL, "x");
    rc_work_id c = submit_kp("consume", "x", NULL);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    cr_assert_eq(rc_work_state(rc_get(cue, p)), RC_FAILED);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_failed_roots, 1);
    cr_assert_eq(d.failed_roots[0], p);
    const rc_wait_edge *e = edge_of(&d, c);
    cr_assert_not_null(e);
    cr_assert_str_eq(e->key, "x");
    cr_assert_eq(e->producer, p);
    cr_assert_eq(e->producer_state, RC_FAILED);
    cr_assert_eq(d.n_missing, 0, "a failed producer still produces the key");
    cr_assert_eq(d.n_cycles, 0);
    rc_diagnosis_free(cue, &d);
    free(failing);
}

Test(diagnose, failed_roots_are_deduplicated)
{
    tu_task *failing = tu_task_new();
    failing->fail = "boom";
    cr_assert_eq(rc_task(cue, "produce", NULL, tu_handler, failing), RC_OK);
    cr_assert_eq(rc_task(cue, "consume", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id p = submit_kp("produce", NULL, "x");
    submit_kp("consume", "x", NULL);
    submit_kp("consume", "x", NULL);
    tu_run(loop);

    rc_diagnosis d;
    diagnose(&d);

    cr_assert_eq(d.n_edges, 2);
    cr_assert_eq(d.n_failed_roots, 1);
    cr_assert_eq(d.failed_roots[0], p);
    rc_diagnosis_free(cue, &d);
    free(failing);
}

Test(diagnose, a_running_producer_is_named_with_its_state)
{
    cr_assert_eq(rc_task(cue, "produce", NULL, tu_handler_hold, x), RC_OK);
    cr_assert_eq(rc_task(cue, "consume", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id p = submit_kp("produce", NULL, "x");
    rc_work_id c = submit_kp("consume", "x", NULL);
    tu_run(loop);
    cr_assert_eq(x->n_held, 1);

    rc_diagnosis d;
    diagnose(&d);

    const rc_wait_edge *e = edge_of(&d, c);
    cr_assert_not_null(e);
    cr_assert_eq(e->producer, p);
    cr_assert_eq(e->producer_state, RC_RUNNING);
    cr_assert_eq(d.n_missing, 0);
    cr_assert_eq(d.n_failed_roots, 0);
    rc_diagnosis_free(cue, &d);

    /* Finish the producer and make its artifact: the consumer then runs. */
    made[n_made++] = "x";
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    cr_assert_eq(x->n_held, 1, "the consumer started once x was announced");
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).completed, 2);
}

Test(diagnose, running_work_waiting_remotely_is_listed_with_the_transports_sentence)
{
    cr_assert_eq(rc_task(cue, "remote", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id a = tu_submit(cue, "remote", NULL);
    rc_work_id b = tu_submit(cue, "remote", NULL);
    rc_work_id pending = submit_kp("remote", "missing", NULL);
    tu_run(loop);
    cr_assert_eq(x->n_held, 2);

    /* running without a status: not listed (only the pending one is) */
    blocked_list l = blocked();
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.items[0].id, pending);
    rc_blocked_free(cue, l.items);

    cr_assert_eq(rc_work_set_remote_status(cue, b, "remote: 3 leased, 12 queued"), RC_OK);
    char long_text[600];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    cr_assert_eq(rc_work_set_remote_status(cue, a, long_text), RC_OK);
    l = blocked();
    cr_assert_eq(l.n, 3, "the pending item, then both running ones");
    cr_assert_eq(l.items[0].id, pending);
    cr_assert_eq(l.items[1].id, a);
    cr_assert_eq(l.items[1].reason, RC_BLOCK_REMOTE);
    cr_assert_eq(strlen(l.items[1].detail), RC_REMOTE_STATUS_MAX - 1, "bounded");
    cr_assert_eq(l.items[2].id, b);
    cr_assert_str_eq(l.items[2].detail, "remote: 3 leased, 12 queued");
    cr_assert_str_eq(l.items[2].task, "remote");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rc_blocked_print(cue, l.items, l.n, 10, f);
    fclose(f);
    assert_contains(text, "remote - remote: 3 leased, 12 queued");
    free(text);
    rc_blocked_free(cue, l.items);

    /* cleared by NULL; refused for work that is not running or unknown */
    cr_assert_eq(rc_work_set_remote_status(cue, a, NULL), RC_OK);
    l = blocked();
    cr_assert_eq(l.n, 2);
    rc_blocked_free(cue, l.items);
    cr_assert_eq(rc_work_set_remote_status(cue, pending, "x"), RC_ESTATE);
    cr_assert_eq(rc_work_set_remote_status(cue, 999999, "x"), RC_ENOENT);
    cr_assert_eq(rc_work_set_remote_status(NULL, a, "x"), RC_EINVAL);

    /* finished work is not listed any more */
    tu_xrec_release_all(x, cue);
    tu_run(loop);
    l = blocked();
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.items[0].id, pending);
    rc_blocked_free(cue, l.items);
}

/* ---- every cause, any size ---- */

static rc_work_id submit_keys(const char *task, const char *const *needs, size_t n_needs,
                              const char *produce)
{
    const char *produces[] = {produce};
    return tu_submit_opts(cue, task,
                          &(rc_submit_opts){.needs = needs,
                                            .n_needs = n_needs,
                                            .produces = produces,
                                            .n_produces = produce ? 1 : 0});
}

Test(diagnose, an_item_in_a_cycle_that_also_needs_a_missing_key_shows_both_causes)
{
    name_all = true;
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    const char *a_needs[] = {"y", "nowhere"};
    const char *b_needs[] = {"x"};
    rc_work_id a = submit_keys("t", a_needs, 2, "x");
    rc_work_id b = submit_keys("t", b_needs, 1, "y");
    tu_run(loop);

    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_edges, 3, "A has two edges, B one");
    cr_assert_eq(d.n_cycles, 1);
    cr_assert_eq(d.cycle_len[0], 2);
    cr_assert(cycle_has(&d, 0, a) && cycle_has(&d, 0, b));
    cr_assert_eq(d.n_missing, 1);
    cr_assert_str_eq(d.missing[0], "nowhere");
    cr_assert_eq(d.missing_info[0].n_waiters, 1);
    cr_assert_eq(d.missing_info[0].waiters[0], a);
    cr_assert_eq(d.missing_info[0].blocks, 2, "B waits on A, which waits on the key");
    cr_assert_eq(d.n_waiting, 2);
    rc_diagnosis_free(cue, &d);

    /* The blocked list counts the second unmet need. */
    blocked_list bl = blocked();
    cr_assert_eq(bl.items[0].id, a);
    cr_assert_eq(bl.items[0].n_unmet, 2);
    cr_assert(bl.items[0].has_producer_info);
    cr_assert_eq(bl.items[0].producer, b);
    cr_assert_eq(bl.items[0].producer_state, RC_PENDING);
    rc_blocked_free(cue, bl.items);
}

Test(diagnose, a_check_that_names_only_the_first_need_is_followed_on_it_alone)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    const char *needs[] = {"first", "second"};
    submit_keys("t", needs, 2, NULL);
    tu_run(loop);
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_edges, 1);
    cr_assert_str_eq(d.edges[0].key, "first");
    rc_diagnosis_free(cue, &d);
}

/* The unmet needs of a check are kept in the work (up to 32) or beside it
 * (more): on both sides of the line, every unmet need and only those are
 * followed, wherever it sits among the needs. */
Test(diagnose, unmet_needs_are_followed_on_both_sides_of_the_record_s_room)
{
    name_all = true;
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    static const size_t sizes[] = {31, 32, 33, 64, 65, 70};
    enum { MOST = 70 };
    static char names[sizeof sizes / sizeof *sizes][MOST][48];
    size_t expect_unmet[sizeof sizes / sizeof *sizes];
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const char *needs[MOST];
        expect_unmet[s] = 0;
        for (size_t i = 0; i < sizes[s]; i++) {
            /* Missing: every third, and the last. */
            const bool miss = i % 3 == 0 || i + 1 == sizes[s];
            snprintf(names[s][i], sizeof names[s][i], "%s/%zu/%zu", miss ? "miss" : "ok", s, i);
            needs[i] = names[s][i];
            expect_unmet[s] += miss;
        }
        submit_keys("t", needs, sizes[s], NULL);
    }
    tu_run(loop);
    blocked_list bl = blocked();
    cr_assert_eq(bl.n, sizeof sizes / sizeof *sizes);
    for (size_t s = 0; s < bl.n; s++)
        cr_assert_eq(bl.items[s].n_unmet, expect_unmet[s], "%zu needs: %zu unmet, expected %zu",
                     sizes[s], bl.items[s].n_unmet, expect_unmet[s]);
    rc_blocked_free(cue, bl.items);
    rc_diagnosis d;
    diagnose(&d);
    size_t total = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) total += expect_unmet[s];
    cr_assert_eq(d.n_missing, total);
    for (size_t i = 0; i < d.n_missing; i++)
        cr_assert(strncmp(d.missing[i], "miss/", 5) == 0, "followed a met need: %s",
                  d.missing[i]);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_cancelled_producer_is_a_root_not_a_missing_key)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id p = tu_submit_opts(
        cue, "t",
        &(rc_submit_opts){.produces = (const char *[]){"k"}, .n_produces = 1, .delay_s = 10});
    rc_work_id c = submit_kp("t", "k", NULL);
    cr_assert_eq(rc_cancel(cue, p), RC_OK);
    tu_run(loop);
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_missing, 0);
    cr_assert_eq(d.n_failed_roots, 0);
    cr_assert_eq(d.n_roots, 1);
    cr_assert_eq(d.roots[0].id, p);
    cr_assert_eq(d.roots[0].state, RC_CANCELLED);
    cr_assert_eq(d.roots[0].blocks, 1);
    cr_assert_eq(edge_of(&d, c)->producer_state, RC_CANCELLED);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_delayed_producer_is_held_with_its_reason)
{
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    rc_work_id p = tu_submit_opts(
        cue, "t",
        &(rc_submit_opts){.produces = (const char *[]){"k"}, .n_produces = 1, .delay_s = 10});
    submit_kp("t", "k", "k2");
    submit_kp("t", "k2", NULL);
    rc_loop_run_until(loop, rc_seconds(1));
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_held, 1);
    cr_assert_eq(d.held[0].item.id, p);
    cr_assert_eq(d.held[0].item.reason, RC_BLOCK_DELAYED);
    cr_assert_eq(d.held[0].blocks, 2, "both waiters wait on it, one through the other");
    cr_assert_eq(d.n_roots + d.n_missing + d.n_cycles, 0);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_component_that_is_not_a_ring_lists_exactly_its_members)
{
    name_all = true;
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    /* A needs b and c; B needs a; C needs a: one component {A, B, C} that
     * is no simple ring.  D waits on A from outside it. */
    const char *a_needs[] = {"b", "c"}, *b_needs[] = {"a"}, *c_needs[] = {"a"};
    rc_work_id a = submit_keys("t", a_needs, 2, "a");
    rc_work_id b = submit_keys("t", b_needs, 1, "b");
    rc_work_id c = submit_keys("t", c_needs, 1, "c");
    submit_kp("t", "a", NULL);
    /* And a self-loop. */
    rc_work_id e = submit_kp("t", "self", "self");
    tu_run(loop);
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_cycles, 2);
    cr_assert_eq(d.cycle_len[0], 3);
    cr_assert_not(d.cycle_ring[0]);
    cr_assert_eq(d.cycles[0][0], a);
    cr_assert_eq(d.cycles[0][1], b);
    cr_assert_eq(d.cycles[0][2], c);
    cr_assert_eq(d.cycle_blocks[0], 1, "D waits on the component");
    cr_assert_eq(d.cycle_len[1], 1);
    cr_assert(d.cycle_ring[1]);
    cr_assert_eq(d.cycles[1][0], e);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, a_chain_of_a_hundred_thousand_listed_tail_first_is_diagnosed)
{
    enum { N = 100000 };
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler_hold, x), RC_OK);
    char need[32], produce[32];
    for (size_t i = N; i-- > 0;) {
        snprintf(need, sizeof need, i ? "c/%zu" : "root-key", i - 1);
        snprintf(produce, sizeof produce, "c/%zu", i);
        submit_kp("t", need, produce);
    }
    tu_run(loop);
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_edges, N);
    cr_assert_eq(d.n_cycles, 0);
    cr_assert_eq(d.n_missing, 1);
    cr_assert_eq(d.missing_info[0].blocks, N);
    cr_assert_not(d.blocks_partial);
    rc_diagnosis_free(cue, &d);
}

Test(diagnose, failed_roots_found_in_reverse_order_come_out_sorted_with_their_counts)
{
    enum { N = 2000 };
    tu_task *failing = tu_task_new();
    failing->fail = "boom";
    cr_assert_eq(rc_task(cue, "produce", NULL, tu_handler, failing), RC_OK);
    cr_assert_eq(rc_task(cue, "consume", NULL, tu_handler_hold, x), RC_OK);
    char k[32];
    for (size_t i = 0; i < N; i++) {
        snprintf(k, sizeof k, "out/%zu", i);
        submit_kp("produce", NULL, k);
    }
    tu_run(loop);
    for (size_t i = 0; i < N; i++) {
        snprintf(k, sizeof k, "out/%zu", N - 1 - i);
        submit_kp("consume", k, NULL);
    }
    tu_run(loop);
    rc_diagnosis d;
    diagnose(&d);
    cr_assert_eq(d.n_failed_roots, N);
    cr_assert_eq(d.n_roots, N);
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(d.failed_roots[i], i + 1);
        cr_assert_eq(d.roots[i].id, i + 1);
        cr_assert_str_eq(d.roots[i].error, "boom");
        cr_assert_str_eq(d.roots[i].task, "produce");
        cr_assert_eq(d.roots[i].blocks, 1);
    }
    rc_diagnosis_free(cue, &d);
    free(failing);
}
