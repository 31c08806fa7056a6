/* test_readiness.c -- is_ready, waiting work, and artifact-change notifications. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_rec *rec;
static tu_task task;

/* The application's artifacts, as the is_ready callback sees them. */
typedef struct world {
    bool ready;           /* the default answer */
    int ready_value;      /* returned when !ready (0 or a negative code) */
    const char *wait_key; /* if set, not-ready answers wait on this key */
    int ready_calls;
    const char *detail; /* if set: this sentence, by id parity through either call */
    rc_work_id last_checked;
    rc_time last_check_time;
} world;
static world W;

static int world_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)ud;
    W.ready_calls++;
    W.last_checked = rc_work_get_id(w);
    W.last_check_time = rc_loop_now(loop);
    if (W.ready) return 1;
    if (W.wait_key) rc_check_wait_on(check, W.wait_key);
    if (W.detail && rc_work_get_id(w) % 2)
        rc_check_detail_text(check, W.detail);
    else if (W.detail)
        rc_check_detail(check, "%s", W.detail);
    else
        rc_check_detail(check, "input for %llu missing", (unsigned long long)rc_work_get_id(w));
    return W.ready_value;
}

static void install(rc_cue_opts *opts)
{
    tu_rec_open(&loop, &cue, &rec, &task, opts);
    memset(&W, 0, sizeof W);
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = world_is_ready;
    rc_cue_set_hooks(cue, &h);
}

static void setup(void)
{
    install(NULL);
}

static void teardown(void)
{
    tu_rec_close(loop, cue, rec);
}

TestSuite(readiness, .init = setup, .fini = teardown);

Test(readiness, ready_work_runs)
{
    W.ready = true;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 1);
    cr_assert_geq(W.ready_calls, 1, "is_ready must be asked");
    cr_assert_eq(W.last_checked, id);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
}

Test(readiness, not_ready_work_stays_pending_and_handler_is_not_called)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    cr_assert_eq(rec->starts, 0);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.pending, 1);
    cr_assert_eq(s.waiting, 1);
    cr_assert_eq(s.queued, 0);
    cr_assert_eq(s.completed, 0);
}

Test(readiness, negative_is_ready_counts_as_not_ready)
{
    W.ready_value = -3;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    cr_assert_eq(tu_stats(cue).waiting, 1);
    cr_assert_eq(tu_stats(cue).failed, 0, "a failed check does not fail the work");
}

Test(readiness, waiting_work_is_not_rechecked_without_a_notification)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    int calls = W.ready_calls;
    cr_assert_geq(calls, 1);
    W.ready = true; /* the artifact appears, but nobody says so */
    tu_run(loop);
    cr_assert_eq(W.ready_calls, calls, "no notification: no recheck");
    cr_assert_eq(task.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
}

Test(readiness, artifacts_changed_null_rechecks_and_starts_ready_work)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 0);
    int calls = W.ready_calls;
    W.ready = true;
    cr_assert_eq(rc_artifacts_changed(cue, NULL), RC_OK);
    cr_assert_eq(task.calls, 0,
                 "the recheck happens in the next dispatch pass, not inside the call");
    tu_run(loop);
    cr_assert_gt(W.ready_calls, calls);
    cr_assert_eq(task.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    cr_assert_eq(tu_stats(cue).waiting, 0);
}

/* Submit one work and run until it waits; then let the world become
 * `ready`, announce `changed` (NULL: every artifact) and run again.  Returns
 * the work; *calls_before: the is_ready calls made before the change. */
static rc_work_id wait_then_change(bool ready, const char *changed, int *calls_before)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    *calls_before = W.ready_calls;
    W.ready = ready;
    cr_assert_eq(rc_artifacts_changed(cue, changed), RC_OK);
    tu_run(loop);
    return id;
}

Test(readiness, artifacts_changed_while_still_not_ready_keeps_work_waiting)
{
    int calls;
    rc_work_id id = wait_then_change(false, NULL, &calls);
    cr_assert_eq(W.ready_calls, calls + 1, "rechecked exactly once");
    cr_assert_eq(task.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
}

Test(readiness, keyed_wait_is_not_rechecked_when_another_key_changes)
{
    W.wait_key = "pages/003.png";
    int calls;
    rc_work_id id = wait_then_change(true, "pages/004.png", &calls);
    cr_assert_eq(W.ready_calls, calls, "a change of another key must not recheck a keyed wait");
    cr_assert_eq(task.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
}

Test(readiness, keyed_wait_is_rechecked_when_its_key_changes)
{
    W.wait_key = "pages/003.png";
    int calls;
    rc_work_id id = wait_then_change(true, "pages/003.png", &calls);
    cr_assert_eq(W.ready_calls, calls + 1);
    cr_assert_eq(task.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
}

Test(readiness, keyed_wait_is_rechecked_when_all_artifacts_change)
{
    W.wait_key = "a";
    int calls;
    wait_then_change(true, NULL, &calls);
    cr_assert_eq(W.ready_calls, calls + 1);
    cr_assert_eq(task.calls, 1);
}

Test(readiness, unkeyed_wait_is_rechecked_on_any_key)
{
    int calls;
    wait_then_change(true, "anything/at/all", &calls);
    cr_assert_eq(W.ready_calls, calls + 1);
    cr_assert_eq(task.calls, 1);
}

/* Each work waits on the key named by its "key" param. */
static int per_work_key_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)ud;
    W.ready_calls++;
    const char *key = tu_param_str(w, "key");
    rc_check_wait_on(check, key);
    /* Ready once its key was announced (recorded in the world by the test). */
    return (W.wait_key && strcmp(W.wait_key, key) == 0) ? 1 : 0;
}

Test(readiness, only_the_waiters_on_the_announced_key_are_rechecked)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = per_work_key_is_ready;
    rc_cue_set_hooks(cue, &h);
    rc_work_id a1 = tu_submit(cue, "t", "{\"key\":\"a\"}");
    rc_work_id b1 = tu_submit(cue, "t", "{\"key\":\"b\"}");
    rc_work_id a2 = tu_submit(cue, "t", "{\"key\":\"a\"}");
    tu_run(loop);
    cr_assert_eq(W.ready_calls, 3);
    W.wait_key = "a";
    cr_assert_eq(rc_artifacts_changed(cue, "a"), RC_OK);
    tu_run(loop);
    cr_assert_eq(W.ready_calls, 5, "only the two waiters on 'a' are asked again");
    cr_assert_eq(rc_work_state(rc_get(cue, a1)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(cue, a2)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(cue, b1)), RC_PENDING);
}

Test(readiness, is_ready_calls_are_counted_in_stats)
{
    tu_submit(cue, "t", NULL);
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).checks, (uint64_t)W.ready_calls);
    rc_artifacts_changed(cue, NULL);
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).checks, (uint64_t)W.ready_calls);
    cr_assert_geq(W.ready_calls, 4);
}

/* Readiness decided by the work's params: {"needs": "x"} is ready when the
 * artifact flag x is set by a producer's handler. */
static bool artifact_x;

static int needs_x_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)ud;
    W.ready_calls++;
    const char *need = tu_param_str(w, "needs");
    if (!need) return 1;
    rc_check_wait_on(check, need);
    return artifact_x ? 1 : 0;
}

static void producer_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)w;
    tu_task *t = ud;
    t->calls++;
    artifact_x = true;
    rc_complete(c, tok, NULL);
}

Test(readiness, completion_announces_declared_produces_and_unblocks_the_consumer)
{
    artifact_x = false;
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = needs_x_is_ready;
    rc_cue_set_hooks(cue, &h);
    tu_task prod = {0};
    cr_assert_eq(rc_task(cue, "produce", NULL, producer_handler, &prod), RC_OK);
    /* The consumer comes first, so it must wait for the producer. */
    static const char *const needs[] = {"x"};
    rc_submit_opts copt = {.params = tu_json("{\"needs\":\"x\"}"), .needs = needs, .n_needs = 1};
    rc_work_id consumer = tu_submit_opts(cue, "t", &copt);
    static const char *const produces[] = {"x"};
    rc_submit_opts popt = {.produces = produces, .n_produces = 1};
    rc_work_id producer = tu_submit_opts(cue, "produce", &popt);
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, producer)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(cue, consumer)), RC_COMPLETED,
                 "the producer's completion announces 'x', so the consumer is rechecked");
    cr_assert_eq(task.calls, 1);
}

Test(readiness, no_auto_notify_leaves_the_consumer_waiting)
{
    teardown();
    install(&(rc_cue_opts){.no_auto_notify = true});
    artifact_x = false;
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = needs_x_is_ready;
    rc_cue_set_hooks(cue, &h);
    tu_task prod = {0};
    cr_assert_eq(rc_task(cue, "produce", NULL, producer_handler, &prod), RC_OK);
    rc_submit_opts copt = {.params = tu_json("{\"needs\":\"x\"}")};
    rc_work_id consumer = tu_submit_opts(cue, "t", &copt);
    static const char *const produces[] = {"x"};
    rc_submit_opts popt = {.produces = produces, .n_produces = 1};
    tu_submit_opts(cue, "produce", &popt);
    tu_run(loop);
    cr_assert_eq(prod.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, consumer)), RC_PENDING);
    /* An explicit announcement still works. */
    cr_assert_eq(rc_artifacts_changed(cue, "x"), RC_OK);
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, consumer)), RC_COMPLETED);
}

Test(readiness, queued_work_is_rechecked_before_it_starts_after_a_change)
{
    /* A serial service: work 2 is ready but queued behind work 1. */
    cr_assert_eq(rc_service(cue, "knife", NULL, 1), RC_OK);
    tu_task slow = {.delay_s = 10};
    cr_assert_eq(rc_task(cue, "slice", "knife", tu_handler, &slow), RC_OK);
    W.ready = true;
    rc_work_id first = tu_submit(cue, "slice", NULL);
    rc_work_id second = tu_submit(cue, "slice", NULL);
    tu_run_until(loop, 5.0);
    cr_assert_eq(rc_work_state(rc_get(cue, first)), RC_RUNNING);
    cr_assert_eq(rc_work_state(rc_get(cue, second)), RC_PENDING);
    cr_assert_eq(tu_stats(cue).queued, 1);
    /* Its input goes away while it waits for the knife. */
    W.ready = false;
    cr_assert_eq(rc_artifacts_changed(cue, NULL), RC_OK);
    tu_run(loop);
    cr_assert_eq(slow.calls, 1, "the second must not start: it is no longer ready");
    cr_assert_eq(rc_work_state(rc_get(cue, second)), RC_PENDING);
    cr_assert_eq(tu_stats(cue).waiting, 1);
    /* And it runs once the input is back. */
    W.ready = true;
    rc_artifacts_changed(cue, NULL);
    tu_run(loop);
    cr_assert_eq(slow.calls, 2);
    cr_assert_eq(rc_work_state(rc_get(cue, second)), RC_COMPLETED);
}

Test(readiness, poll_interval_rechecks_waiting_work_without_notifications)
{
    teardown();
    install(&(rc_cue_opts){.poll_interval = 5});
    tu_keepalive(loop, 40.0); /* so run_until really advances through the polls */
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 12.0);
    cr_assert_eq(task.calls, 0);
    cr_assert_geq(W.ready_calls, 3, "checked at submit and polled at least twice by t=12");
    W.ready = true;
    tu_run_until(loop, 30.0);
    cr_assert_eq(task.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    cr_assert_leq(rc_work_started(rc_get(cue, id)), rc_seconds(17.0),
                  "the next poll after t=12 is at most one interval later");
}

Test(readiness, not_ready_work_does_not_block_ready_work_behind_it)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = needs_x_is_ready;
    rc_cue_set_hooks(cue, &h);
    artifact_x = false;
    cr_assert_eq(rc_service(cue, "serial", NULL, 1), RC_OK);
    tu_task s = {0};
    cr_assert_eq(rc_task(cue, "s", "serial", tu_handler, &s), RC_OK);
    rc_work_id blocked = tu_submit(cue, "s", "{\"needs\":\"x\"}");
    rc_work_id free1 = tu_submit(cue, "s", NULL);
    rc_work_id free2 = tu_submit(cue, "s", NULL);
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, blocked)), RC_PENDING);
    cr_assert_eq(rc_work_state(rc_get(cue, free1)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(cue, free2)), RC_COMPLETED);
}

/* rc_check_detail_text keeps the sentence as rc_check_detail("%s") would,
 * cut at the same length. */
Test(readiness, detail_text_reads_as_formatted_detail)
{
    static const size_t lengths[] = {0, 1, 40, 254, 255, 256, 300, 1000};
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
        char text[1001];
        for (size_t i = 0; i < lengths[k]; i++) text[i] = (char)('a' + i % 26);
        text[lengths[k]] = 0;
        W.detail = text;
        rc_work_id a = tu_submit(cue, "t", NULL), b = tu_submit(cue, "t", NULL);
        tu_run(loop);
        rc_blocked *list;
        size_t n;
        cr_assert_eq(rc_debug_blocked(cue, &list, &n), 0);
        const char *da = NULL, *db = NULL;
        for (size_t i = 0; i < n; i++) {
            if (list[i].id == a) da = list[i].detail;
            if (list[i].id == b) db = list[i].detail;
        }
        cr_assert(da && db);
        cr_assert_str_eq(da, db, "length %zu: '%s' vs '%s'", lengths[k], da, db);
        cr_assert_eq(strlen(da), lengths[k] < 255 ? lengths[k] : strlen(db));
        rc_blocked_free(cue, list);
        cr_assert_eq(rc_cancel(cue, a), 0);
        cr_assert_eq(rc_cancel(cue, b), 0);
    }
    rc_check_detail_text(NULL, "x"); /* harmless */
}

/* ---- details that name the wait key ---- */

/* Each work waits on its "key" param and says "<pre><key><suf>" (its "pre"
 * and "suf" params) -- by id, through rc_check_detail, through
 * rc_check_detail_around after the wait (the words kept around the key), or
 * through rc_check_detail_around before it (the key not yet the wait key:
 * kept as text); a "plain" param makes it say that instead. */
static int framed_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    W.ready_calls++;
    const char *key = tu_param_str(w, "key");
    const char *plain = tu_param_str(w, "plain");
    const char *pre = tu_param_str(w, "pre"), *suf = tu_param_str(w, "suf");
    const unsigned how = (unsigned)(rc_work_get_id(w) % 3);
    if (!plain && how == 2) rc_check_detail_around(check, pre, key, suf);
    rc_check_wait_on(check, key);
    if (plain)
        rc_check_detail_text(check, plain);
    else if (how == 0)
        rc_check_detail(check, "%s%s%s", pre, key, suf);
    else if (how == 1)
        rc_check_detail_around(check, pre, key, suf);
    return 0;
}

/* The detail rc_debug_blocked gives for work id. */
static void blocked_detail(rc_work_id id, char *out, size_t n)
{
    rc_blocked *items = NULL;
    size_t count = 0;
    cr_assert_eq(rc_debug_blocked(cue, &items, &count), RC_OK);
    bool found = false;
    for (size_t i = 0; i < count; i++) {
        if (items[i].id != id) continue;
        snprintf(out, n, "%s", items[i].detail);
        found = true;
    }
    rc_blocked_free(cue, items);
    cr_assert(found, "work %llu is not blocked", (unsigned long long)id);
}

Test(readiness, details_around_the_wait_key_read_back_exactly)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = framed_is_ready;
    rc_cue_set_hooks(cue, &h);
    /* 40 kinds of words around keys: more than the cue keeps as frames, so
     * some are copied per work; the key at the start, the end, twice, not at
     * all; and one long enough that the sentence is cut. */
    enum { N = 120 };
    static char want[N][256];
    rc_work_id ids[N];
    char long_pre[300];
    memset(long_pre, 'p', sizeof long_pre - 1);
    long_pre[sizeof long_pre - 1] = 0;
    for (int i = 0; i < N; i++) {
        char key[32], pre[320], suf[32], params[800];
        snprintf(key, sizeof key, "k/%d", i);
        const int kind = i % 40;
        if (kind == 0) {
            snprintf(pre, sizeof pre, "%s", "");
            snprintf(suf, sizeof suf, "%s", "");
        } else if (kind == 1) {
            snprintf(pre, sizeof pre, "%s and again ", key);
            snprintf(suf, sizeof suf, "%s", "!");
        } else if (kind == 2) {
            snprintf(pre, sizeof pre, "%s", i < 80 ? long_pre : "short ");
            snprintf(suf, sizeof suf, "%s", " tail");
        } else {
            snprintf(pre, sizeof pre, "waiting (%d) on '", kind);
            snprintf(suf, sizeof suf, "'%s", kind % 2 ? " (invalid)" : "");
        }
        if (kind == 3) {
            snprintf(params, sizeof params, "{\"key\":\"%s\",\"plain\":\"nothing of the key\"}", key);
            snprintf(want[i], sizeof want[i], "nothing of the key");
        } else {
            snprintf(params, sizeof params, "{\"key\":\"%s\",\"pre\":\"%s\",\"suf\":\"%s\"}", key,
                     pre, suf);
            /* The sentence as the check keeps it: cut to 255 bytes. */
            char full[1024];
            snprintf(full, sizeof full, "%s%s%s", pre, key, suf);
            const size_t len = strlen(full) < sizeof want[i] ? strlen(full) : sizeof want[i] - 1;
            memcpy(want[i], full, len);
            want[i][len] = 0;
        }
        ids[i] = tu_submit(cue, "t", params);
    }
    tu_run(loop);
    for (int i = 0; i < N; i++) {
        char got[256];
        blocked_detail(ids[i], got, sizeof got);
        cr_assert_str_eq(got, want[i], "work %d", i);
    }
    /* Checked again (a change of every key): the details are replaced, the
     * framed and the copied alike, and read back the same. */
    cr_assert_eq(rc_artifacts_changed(cue, NULL), RC_OK);
    tu_run(loop);
    for (int i = 0; i < N; i += 7) {
        char got[256];
        blocked_detail(ids[i], got, sizeof got);
        cr_assert_str_eq(got, want[i], "work %d after a second check", i);
    }
    for (int i = 0; i < N; i += 3) cr_assert_eq(rc_cancel(cue, ids[i]), RC_OK);
    tu_run(loop);
}

/* rc_check_detail_around with a key other than the one waited on, with
 * temporaries that are gone when the check ends, and overridden by a later
 * detail in the same check. */
static int around_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    char key[64], other[64], pre[64], suf[64];
    snprintf(key, sizeof key, "%s", tu_param_str(w, "key"));
    snprintf(other, sizeof other, "%s", tu_param_str(w, "other"));
    snprintf(pre, sizeof pre, "waiting on '");
    snprintf(suf, sizeof suf, "'");
    rc_check_wait_on(check, key);
    const int how = (int)(rc_work_get_id(w) % 3);
    if (how == 0) {
        rc_check_detail_around(check, pre, other, suf); /* not the wait key */
    } else if (how == 1) {
        rc_check_detail_around(check, pre, key, suf);
    } else {
        rc_check_detail_around(check, pre, key, suf);
        rc_check_detail(check, "replaced for %s", key); /* the last one counts */
    }
    memset(key, 'x', sizeof key - 1); /* the caller's strings change after */
    memset(pre, 'y', sizeof pre - 1);
    key[sizeof key - 1] = pre[sizeof pre - 1] = 0;
    rc_check_detail_around(NULL, pre, key, suf); /* harmless */
    rc_check_detail_around(check, NULL, key, suf);
    rc_check_detail_around(check, pre, NULL, suf);
    rc_check_detail_around(check, pre, key, NULL);
    return 0;
}

Test(readiness, details_around_another_key_or_replaced_read_as_said)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = around_is_ready;
    rc_cue_set_hooks(cue, &h);
    enum { N = 30 };
    rc_work_id ids[N];
    for (int i = 0; i < N; i++) {
        char params[128];
        snprintf(params, sizeof params, "{\"key\":\"in/%d\",\"other\":\"elsewhere/%d\"}", i, i);
        ids[i] = tu_submit(cue, "t", params);
    }
    tu_run(loop);
    for (int i = 0; i < N; i++) {
        char got[256], want[256];
        blocked_detail(ids[i], got, sizeof got);
        const int how = (int)(ids[i] % 3);
        if (how == 0)
            snprintf(want, sizeof want, "waiting on 'elsewhere/%d'", i);
        else if (how == 1)
            snprintf(want, sizeof want, "waiting on 'in/%d'", i);
        else
            snprintf(want, sizeof want, "replaced for in/%d", i);
        cr_assert_str_eq(got, want, "work %d", i);
    }
}

/* A detail formatted with a 0 byte in it ends there, as it always read. */
static int nul_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    const char *key = tu_param_str(w, "key");
    rc_check_wait_on(check, key);
    rc_check_detail(check, "waiting%c on '%s'", 0, key);
    return 0;
}

Test(readiness, a_detail_with_a_zero_byte_ends_at_it)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_ready = nul_is_ready;
    rc_cue_set_hooks(cue, &h);
    rc_work_id ids[3];
    for (int i = 0; i < 3; i++) {
        char params[64];
        snprintf(params, sizeof params, "{\"key\":\"b%d\"}", i);
        ids[i] = tu_submit(cue, "t", params);
    }
    tu_run(loop);
    for (int i = 0; i < 3; i++) {
        char got[256];
        blocked_detail(ids[i], got, sizeof got);
        cr_assert_str_eq(got, "waiting", "work %d", i);
    }
}
