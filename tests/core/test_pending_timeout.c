/* test_pending_timeout.c -- pending_warn_after and pending_timeout.
 *
 * Both are measured per work item from the moment it became pending.  A warning
 * fires once per item; the timeout fails the item (RC_FAIL_PENDING_TIMEOUT, an
 * RC_EV_TIMEOUT event).  Work that started in time is not affected.  Every
 * time here is exact: the loop runs on the virtual clock. */
#include "recorder.h"

#include <criterion/redirect.h>

static rc_loop *loop;
static rc_cue *cue;
static tu_xrec *x;
static tu_task *quick; /* completes at once */

/* Readiness controlled by the test: work is ready while `ready_flag` is set. */
static bool ready_flag;

static int ready_if_flag(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)w, (void)ud;
    if (!ready_flag) rc_check_wait_on(check, "flag");
    return ready_flag ? 1 : 0;
}

static void start_with(const rc_cue_opts *opts)
{
    tu_open(&loop, &cue, opts);
    x = tu_xrec_new(loop);
    quick = tu_task_new();
    ready_flag = false;
    tu_xrec_install(x, cue, ready_if_flag, NULL);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, quick), RC_OK);
}

static void finish(void)
{
    tu_close(loop, cue);
    free(x);
    free(quick);
}

/* ---- timeout ---- */

Test(pending_timeout, never_ready_work_fails_at_exactly_the_timeout)
{
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    rc_work_id id = tu_submit(cue, "t", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(x->n_fail, 1);
    cr_assert_eq(x->fail[0].id, id);
    cr_assert_eq(x->fail[0].kind, RC_FAIL_PENDING_TIMEOUT);
    tu_assert_time_s(x->fail[0].time, 5);
    cr_assert(tu_mentions_timeout(x->fail[0].error), "error: %s", x->fail[0].error);
    cr_assert_eq(quick->calls, 0, "timed-out work must never reach its handler");

    const rc_work *w = rc_get(cue, id);
    cr_assert_not_null(w);
    cr_assert_eq(rc_work_state(w), RC_FAILED);
    cr_assert(tu_mentions_timeout(rc_work_error(w)), "rc_work_error: %s", rc_work_error(w));
    tu_assert_time_s(rc_work_finished(w), 5);
    cr_assert_eq(rc_work_started(w), -1);

    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.pending, 0);
    cr_assert_eq(s.completed, 0);
    finish();
}

Test(pending_timeout, timeout_emits_a_timeout_event_at_the_timeout)
{
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(tu_xrec_count_for(x, RC_EV_TIMEOUT, id), 1);
    int i = tu_xrec_find_event(x, RC_EV_TIMEOUT, id);
    tu_assert_time_s(x->rec.ev_time[i], 5);
    finish();
}

Test(pending_timeout, each_item_times_out_measured_from_its_own_submission)
{
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    rc_work_id a = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 1);
    rc_work_id b = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 2.5);
    rc_work_id c = tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_fail, 3);
    tu_assert_time_s(tu_xrec_failure(x, a)->time, 5);
    tu_assert_time_s(tu_xrec_failure(x, b)->time, 6);
    tu_assert_time_s(tu_xrec_failure(x, c)->time, 7.5);
    cr_assert_eq(tu_stats(cue).failed, 3);
    finish();
}

Test(pending_timeout, work_that_becomes_ready_before_the_timeout_runs_normally)
{
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 3);
    ready_flag = true;
    cr_assert_eq(rc_artifacts_changed(cue, "flag"), RC_OK);
    tu_run(loop);

    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(quick->calls, 1);
    tu_assert_time_s(quick->starts[0], 3);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_TIMEOUT, id), 0);
    finish();
}

Test(pending_timeout, running_longer_than_the_timeout_does_not_fail_started_work)
{
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    ready_flag = true;
    quick->delay_s = 20; /* runs for 20 s, far beyond the pending timeout */
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    tu_assert_time_s(tu_xrec_complete_time(x, id), 20);
    finish();
}

Test(pending_timeout, queued_work_times_out_only_if_it_cannot_start_in_time)
{
    /* One slot, 4 s per item: #1 runs 0-4, #2 starts at 4 (< 5) and runs
     * 4-8, #3 would start at 8 but has been pending 5 s at t=5. */
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    ready_flag = true;
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    tu_task *slow = tu_task_new();
    slow->delay_s = 4;
    cr_assert_eq(rc_task(cue, "slow", "one", tu_handler, slow), RC_OK);
    rc_work_id a = tu_submit(cue, "slow", NULL);
    rc_work_id b = tu_submit(cue, "slow", NULL);
    rc_work_id c = tu_submit(cue, "slow", NULL);

    tu_run(loop);

    cr_assert_eq(slow->calls, 2);
    tu_assert_time_s(tu_xrec_complete_time(x, a), 4);
    tu_assert_time_s(tu_xrec_complete_time(x, b), 8);
    cr_assert_eq(x->n_fail, 1);
    cr_assert_eq(x->fail[0].id, c);
    cr_assert_eq(x->fail[0].kind, RC_FAIL_PENDING_TIMEOUT);
    tu_assert_time_s(x->fail[0].time, 5);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 2);
    cr_assert_eq(s.failed, 1);
    free(slow);
    finish();
}

Test(pending_timeout, cancelled_work_does_not_time_out)
{
    start_with(&(rc_cue_opts){.pending_timeout = 5, .pending_warn_after = 3});
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 1);
    cr_assert_eq(rc_cancel(cue, id), RC_OK);
    tu_run_until(loop, 60);

    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(x->n_pwarn, 0);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_TIMEOUT, id), 0);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 0);
    cr_assert_eq(s.cancelled, 1);
    finish();
}

Test(pending_timeout, without_a_timeout_never_ready_work_stays_pending)
{
    start_with(NULL);
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 3600);

    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    cr_assert_eq(tu_stats(cue).pending, 1);
    finish();
}

Test(pending_timeout, timeout_failure_is_reported_once_even_with_more_time)
{
    start_with(&(rc_cue_opts){.pending_timeout = 2});
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 100);
    /* An artifact change later must not resurrect or re-fail the work. */
    ready_flag = true;
    cr_assert_eq(rc_artifacts_changed(cue, NULL), RC_OK);
    tu_run(loop);

    cr_assert_eq(tu_xrec_failures_of(x, id), 1);
    cr_assert_eq(quick->calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_FAILED);
    finish();
}

/* ---- warning ---- */

Test(pending_timeout, warning_fires_once_at_warn_after_with_the_pending_seconds)
{
    start_with(&(rc_cue_opts){.pending_warn_after = 2, .pending_timeout = 5});
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_pwarn, 1);
    cr_assert_eq(x->pwarn[0].id, id);
    tu_assert_time_s(x->pwarn[0].time, 2);
    cr_assert_float_eq(x->pwarn[0].pending_s, 2.0, 1e-9);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_PENDING_WARNING, id), 1);
    int i = tu_xrec_find_event(x, RC_EV_PENDING_WARNING, id);
    tu_assert_time_s(x->rec.ev_time[i], 2);
    cr_assert_float_eq(x->rec.ev_duration[i], 2.0, 1e-9);
    /* And the timeout still comes at 5. */
    cr_assert_eq(x->n_fail, 1);
    tu_assert_time_s(x->fail[0].time, 5);
    finish();
}

Test(pending_timeout, warning_alone_does_not_fail_the_work)
{
    start_with(&(rc_cue_opts){.pending_warn_after = 2});
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 1000);

    cr_assert_eq(x->n_pwarn, 1, "warned %zu times", x->n_pwarn);
    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    finish();
}

Test(pending_timeout, every_waiting_item_is_warned_once)
{
    start_with(&(rc_cue_opts){.pending_warn_after = 2});
    rc_work_id a = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 1);
    rc_work_id b = tu_submit(cue, "t", NULL);
    rc_work_id c = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 50);

    cr_assert_eq(x->n_pwarn, 3);
    cr_assert_eq(x->pwarn[0].id, a);
    tu_assert_time_s(x->pwarn[0].time, 2);
    /* b and c became pending together at t=1: both warned at t=3. */
    bool saw_b = false, saw_c = false;
    for (size_t i = 1; i < 3; i++) {
        tu_assert_time_s(x->pwarn[i].time, 3);
        saw_b |= x->pwarn[i].id == b;
        saw_c |= x->pwarn[i].id == c;
    }
    cr_assert(saw_b && saw_c);
    finish();
}

Test(pending_timeout, work_started_before_warn_after_is_never_warned)
{
    start_with(&(rc_cue_opts){.pending_warn_after = 2, .pending_timeout = 4});
    ready_flag = true;
    quick->delay_s = 10;
    tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_pwarn, 0);
    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(tu_stats(cue).completed, 1);
    finish();
}

static void capture_stderr(void)
{
    cr_redirect_stderr();
}

Test(pending_timeout, warning_without_a_callback_prints_a_line_to_stderr, .init = capture_stderr)
{
    tu_open(&loop, &cue, &(rc_cue_opts){.pending_warn_after = 1});
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.is_ready = ready_if_flag;
    ready_flag = false;
    rc_cue_set_hooks(cue, &h);
    tu_task *t = tu_task_new();
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, t), RC_OK);
    tu_submit(cue, "t", NULL);

    tu_run_until(loop, 10);
    fflush(stderr);

    cr_assert_stderr_neq_str("");
    tu_close(loop, cue);
    free(t);
}
