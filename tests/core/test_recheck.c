/* test_recheck.c -- the check right before a queued work starts.
 *
 * Work is checked when it is first considered; if an artifact change was
 * announced while it sat in the run queue, it is checked again before it
 * starts.  With rc_cue_opts.recheck_declared_only that second check happens
 * only when the announcement was cue-wide or named one of the work's
 * declared needs or produces.
 *
 * The set-up: one service of concurrency 1 whose work takes a virtual
 * second.  Work A starts at once; work B (needs "in/x", produces "out/b")
 * is checked ready and waits in the queue until A finishes at t=1.  An
 * announcement at t=0.5 decides whether B is asked again. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_task task;

enum { MAX_IDS = 8 };
static int calls[MAX_IDS]; /* is_ready calls per work id */
static int stale_calls[MAX_IDS];
static bool x_valid;

static int is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    const rc_work_id id = rc_work_get_id(w);
    if (id < MAX_IDS) calls[id]++;
    const char *const *needs = NULL;
    const size_t n = rc_work_needs(w, &needs);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(needs[i], "in/x") == 0 && !x_valid) {
            rc_check_wait_on(check, needs[i]);
            return 0;
        }
    }
    return 1;
}

static int is_stale(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)check, (void)ud;
    const rc_work_id id = rc_work_get_id(w);
    if (id < MAX_IDS) stale_calls[id]++;
    return 1;
}

static void open_cue(bool declared_only)
{
    memset(calls, 0, sizeof calls);
    memset(stale_calls, 0, sizeof stale_calls);
    memset(&task, 0, sizeof task);
    x_valid = true;
    task.delay_s = 1;
    const rc_cue_opts o = {.recheck_declared_only = declared_only};
    tu_open(&loop, &cue, &o);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = is_ready, .is_stale = is_stale});
    tu_serve(cue, "svc", NULL, 1, "t", &task);
}

static void teardown(void)
{
    tu_close(loop, cue);
}

TestSuite(recheck, .fini = teardown);

#define STRS(...) ((const char *const[]){__VA_ARGS__})

/* A (nothing declared) and B (needs in/x, produces out/b), run to t=0.5:
 * A is running, B queued behind it. */
static rc_work_id start_two(void)
{
    tu_submit_opts(cue, "t", &(rc_submit_opts){.produces = STRS("out/a"), .n_produces = 1});
    const rc_work_id b = tu_submit_opts(
        cue, "t",
        &(rc_submit_opts){
            .needs = STRS("in/x"), .n_needs = 1, .produces = STRS("out/b"), .n_produces = 1});
    tu_run_until(loop, 0.5);
    cr_assert_eq(task.calls, 1, "A runs, B waits for the service");
    cr_assert_eq(calls[b], 1, "B was checked once when submitted");
    cr_assert_eq(tu_stats(cue).queued, 1);
    return b;
}

/* Announce key through a handle (rc_artifacts_changed_key). */
static void announce_entry(const char *key)
{
    rc_key *k = rc_key_hold(cue, key);
    cr_assert_not_null(k);
    cr_assert_eq(rc_artifacts_changed_key(cue, k), RC_OK);
    rc_key_release(cue, k);
}

/* Run to the end; B's is_ready calls, and B completed. */
static int finish(rc_work_id b)
{
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, b)), RC_COMPLETED);
    return calls[b];
}

Test(recheck, by_default_any_announcement_means_a_second_check)
{
    open_cue(false);
    const rc_work_id b = start_two();
    cr_assert_eq(rc_artifacts_changed(cue, "elsewhere/y"), RC_OK);
    cr_assert_eq(finish(b), 2, "asked again before it started");
    cr_assert_eq(stale_calls[b], 2);
}

Test(recheck, declared_only_skips_it_after_an_unrelated_announcement)
{
    open_cue(true);
    const rc_work_id b = start_two();
    cr_assert_eq(rc_artifacts_changed(cue, "elsewhere/y"), RC_OK);
    announce_entry("elsewhere/z");
    /* A's own completion announces out/a: not B's either. */
    cr_assert_eq(finish(b), 1, "nothing B declared changed: not asked again");
    cr_assert_eq(stale_calls[b], 1);
}

Test(recheck, declared_only_checks_again_when_a_need_was_announced)
{
    open_cue(true);
    const rc_work_id b = start_two();
    cr_assert_eq(rc_artifacts_changed(cue, "in/x"), RC_OK);
    cr_assert_eq(finish(b), 2);
}

Test(recheck, declared_only_checks_again_when_a_produce_was_announced)
{
    open_cue(true);
    const rc_work_id b = start_two();
    announce_entry("out/b");
    cr_assert_eq(finish(b), 2);
    cr_assert_eq(stale_calls[b], 2, "is_stale reads the produces: asked again");
}

Test(recheck, declared_only_checks_again_after_a_cue_wide_announcement)
{
    open_cue(true);
    const rc_work_id b = start_two();
    cr_assert_eq(rc_artifacts_changed(cue, NULL), RC_OK);
    cr_assert_eq(finish(b), 2);
}

Test(recheck, a_need_gone_invalid_while_queued_keeps_the_work_from_starting)
{
    for (int declared_only = 0; declared_only <= 1; declared_only++) {
        open_cue(declared_only);
        const rc_work_id b = start_two();
        x_valid = false;
        cr_assert_eq(rc_artifacts_changed(cue, "in/x"), RC_OK);
        tu_run(loop);
        cr_assert_eq(task.calls, 1, "B did not start (declared_only %d)", declared_only);
        cr_assert_eq(rc_work_state(rc_get(cue, b)), RC_PENDING);
        cr_assert_eq(tu_stats(cue).waiting, 1);
        x_valid = true;
        cr_assert_eq(rc_artifacts_changed(cue, "in/x"), RC_OK);
        cr_assert_eq(finish(b), 3);
        if (!declared_only) tu_close(loop, cue);
    }
}
