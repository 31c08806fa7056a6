/* test_stall_timeout.c -- stall_warn_after, stall_timeout and exact stalls.
 *
 * Progress is any start, completion, failure or skip.  While work is pending
 * and nothing progresses for stall_warn_after, on_stall_warning fires once for
 * that stall; after stall_timeout every pending item fails with
 * RC_FAIL_STALL_TIMEOUT.  A batch that keeps completing never stalls, however
 * long its last item waits (unlike pending_timeout). */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_xrec *x;
static tu_task *never; /* task "never": is_ready always says no */
static tu_task *quick; /* task "quick": ready, completes at once */

static int ready_unless_never(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)ud;
    if (strcmp(rc_work_task(w), "never") == 0) {
        rc_check_wait_on(check, "never/exists");
        return 0;
    }
    return 1;
}

static void start_with(const rc_cue_opts *opts)
{
    tu_open(&loop, &cue, opts);
    x = tu_xrec_new(loop);
    never = tu_task_new();
    quick = tu_task_new();
    tu_xrec_install(x, cue, ready_unless_never, NULL);
    cr_assert_eq(rc_task(cue, "never", NULL, tu_handler, never), RC_OK);
    cr_assert_eq(rc_task(cue, "quick", NULL, tu_handler, quick), RC_OK);
}

static void finish(void)
{
    tu_close(loop, cue);
    free(x);
    free(never);
    free(quick);
}

/* Submit one "quick" item from a timer (arg: the cue). */
static void submit_quick(rc_loop *l, void *arg)
{
    (void)l;
    cr_assert_eq(rc_submit(arg, "quick", NULL, NULL), RC_OK);
}

/* ---- exact stalls without timeouts ---- */

Test(stall_timeout, without_timeouts_a_stall_returns_idle_with_pending_work)
{
    start_with(NULL);
    rc_work_id id = tu_submit(cue, "never", NULL);

    int rc = rc_loop_run(loop, RC_RUN_DEFAULT);

    cr_assert_eq(rc, 0, "an exact stall on the virtual clock is an idle return");
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.pending, 1);
    cr_assert_eq(s.running, 0);
    cr_assert_eq(s.waiting, 1);
    cr_assert_eq(rc_loop_now(loop), 0, "nothing was scheduled, so time did not move");
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    finish();
}

Test(stall_timeout, stall_after_some_progress_returns_idle_at_the_last_event)
{
    start_with(NULL);
    quick->delay_s = 3;
    rc_work_id done = tu_submit(cue, "quick", NULL);
    rc_work_id stuck = tu_submit(cue, "never", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    tu_assert_time_s(rc_loop_now(loop), 3);
    cr_assert_eq(rc_work_state(rc_get(cue, done)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(cue, stuck)), RC_PENDING);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.pending, 1);
    cr_assert_eq(s.running, 0);
    tu_assert_time_s(s.last_progress, 3);
    finish();
}

/* ---- warning ---- */

Test(stall_timeout, warning_fires_once_after_warn_after_without_progress)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 3});
    tu_submit(cue, "never", NULL);

    tu_run_until(loop, 100);

    cr_assert_eq(x->n_swarn, 1, "warned %zu times", x->n_swarn);
    tu_assert_time_s(x->swarn[0].time, 3);
    cr_assert_float_eq(x->swarn[0].since_s, 3.0, 1e-9);
    cr_assert_eq(x->swarn[0].pending, 1);
    cr_assert_eq(x->n_fail, 0, "a warning alone fails nothing");
    cr_assert_eq(tu_stats(cue).pending, 1);
    finish();
}

Test(stall_timeout, warning_event_is_cue_wide_with_the_pending_count)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 3});
    tu_submit(cue, "never", NULL);
    tu_submit(cue, "never", NULL);

    tu_run_until(loop, 100);

    cr_assert_eq(tu_rec_count(&x->rec, RC_EV_STALL_WARNING), 1);
    int i = tu_xrec_find_event(x, RC_EV_STALL_WARNING, 0);
    cr_assert_geq(i, 0, "the stall warning event has work == NULL");
    tu_assert_time_s(x->rec.ev_time[i], 3);
    cr_assert_eq(x->ev_pending[i], 2);
    cr_assert_float_eq(x->rec.ev_duration[i], 3.0, 1e-9);
    finish();
}

Test(stall_timeout, a_new_stall_after_progress_warns_again)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 3});
    tu_submit(cue, "never", NULL);
    /* Progress at t=10: a quick item starts and completes. */
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(10), submit_quick, cue), RC_OK);

    tu_run_until(loop, 100);

    cr_assert_eq(quick->calls, 1);
    cr_assert_eq(x->n_swarn, 2, "warned %zu times", x->n_swarn);
    tu_assert_time_s(x->swarn[0].time, 3);
    tu_assert_time_s(x->swarn[1].time, 13);
    cr_assert_float_eq(x->swarn[1].since_s, 3.0, 1e-9);
    cr_assert_eq(x->swarn[1].pending, 1);
    finish();
}

Test(stall_timeout, no_warning_while_nothing_is_pending)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 1, .stall_timeout = 2});
    quick->delay_s = 10; /* running 10 s, nothing pending meanwhile */
    rc_work_id id = tu_submit(cue, "quick", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_swarn, 0);
    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    finish();
}

/* ---- timeout ---- */

Test(stall_timeout, timeout_fails_all_pending_work_at_once)
{
    start_with(&(rc_cue_opts){.stall_timeout = 10});
    rc_work_id ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = tu_submit(cue, "never", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(x->n_fail, 3);
    for (int i = 0; i < 3; i++) {
        const tu_failure *f = tu_xrec_failure(x, ids[i]);
        cr_assert_not_null(f, "work %d did not fail", i);
        cr_assert_eq(f->kind, RC_FAIL_STALL_TIMEOUT);
        tu_assert_time_s(f->time, 10);
        cr_assert(tu_mentions_timeout(f->error) || strcasestr(f->error, "stall"), "error: %s",
                  f->error);
        cr_assert_eq(tu_xrec_count_for(x, RC_EV_TIMEOUT, ids[i]), 1);
        cr_assert_eq(rc_work_state(rc_get(cue, ids[i])), RC_FAILED);
    }
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 3);
    cr_assert_eq(s.pending, 0);
    cr_assert_eq(never->calls, 0);
    finish();
}

Test(stall_timeout, warning_comes_before_the_timeout)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 4, .stall_timeout = 10});
    tu_submit(cue, "never", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_swarn, 1);
    tu_assert_time_s(x->swarn[0].time, 4);
    cr_assert_eq(x->n_fail, 1);
    tu_assert_time_s(x->fail[0].time, 10);
    finish();
}

Test(stall_timeout, stall_is_measured_from_the_last_progress)
{
    /* A completes at t=4 (progress); B never becomes ready: it fails at 4+5. */
    start_with(&(rc_cue_opts){.stall_timeout = 5});
    quick->delay_s = 4;
    rc_work_id a = tu_submit(cue, "quick", NULL);
    rc_work_id b = tu_submit(cue, "never", NULL);

    tu_run(loop);

    tu_assert_time_s(tu_xrec_complete_time(x, a), 4);
    const tu_failure *f = tu_xrec_failure(x, b);
    cr_assert_not_null(f);
    cr_assert_eq(f->kind, RC_FAIL_STALL_TIMEOUT);
    tu_assert_time_s(f->time, 9);
    finish();
}

Test(stall_timeout, running_work_alone_is_not_progress_and_is_not_failed)
{
    /* A runs 0..10; B waits.  Nothing starts or finishes between 0 and 10,
     * so the cue stalls at 5: B (pending) fails, A (running) goes on. */
    start_with(&(rc_cue_opts){.stall_timeout = 5});
    quick->delay_s = 10;
    rc_work_id a = tu_submit(cue, "quick", NULL);
    rc_work_id b = tu_submit(cue, "never", NULL);

    tu_run(loop);

    const tu_failure *f = tu_xrec_failure(x, b);
    cr_assert_not_null(f);
    cr_assert_eq(f->kind, RC_FAIL_STALL_TIMEOUT);
    tu_assert_time_s(f->time, 5);
    cr_assert_null(tu_xrec_failure(x, a), "running work is not failed by a stall");
    cr_assert_eq(rc_work_state(rc_get(cue, a)), RC_COMPLETED);
    tu_assert_time_s(tu_xrec_complete_time(x, a), 10);
    finish();
}

Test(stall_timeout, stall_clock_starts_when_work_arrives_after_an_idle_spell)
{
    /* Nothing pending from 0 to 100: that is not a stall.  Work submitted at
     * t=100 gets the full stall_timeout. */
    start_with(&(rc_cue_opts){.stall_warn_after = 2, .stall_timeout = 5});
    tu_submit(cue, "quick", NULL); /* progress at t=0 */
    tu_run_until(loop, 100);
    rc_work_id b = tu_submit(cue, "never", NULL);

    tu_run(loop);

    cr_assert_eq(x->n_swarn, 1);
    tu_assert_time_s(x->swarn[0].time, 102);
    const tu_failure *f = tu_xrec_failure(x, b);
    cr_assert_not_null(f);
    tu_assert_time_s(f->time, 105);
    finish();
}

Test(stall_timeout, long_batch_that_keeps_completing_never_stalls)
{
    /* 20 items through one slot, 2 s each: the last waits 38 s, far beyond
     * stall_timeout, but something completes every 2 s. */
    start_with(&(rc_cue_opts){.stall_warn_after = 3, .stall_timeout = 5});
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    tu_task *slow = tu_task_new();
    slow->delay_s = 2;
    cr_assert_eq(rc_task(cue, "slow", "one", tu_handler, slow), RC_OK);
    for (int i = 0; i < 20; i++)
        tu_submit(cue, "slow", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(x->n_swarn, 0);
    cr_assert_eq(slow->calls, 20);
    tu_assert_time_s(slow->starts[19], 38);
    tu_assert_time_s(rc_loop_now(loop), 40);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 20);
    cr_assert_eq(s.failed, 0);
    free(slow);
    finish();
}

Test(stall_timeout, same_batch_under_pending_timeout_fails_the_late_items)
{
    /* The contrast from the README: pending_timeout=5 fails what has waited
     * 5 s even though the batch is progressing.  Items start at 0, 2, 4; the
     * other 17 have been pending 5 s at t=5. */
    start_with(&(rc_cue_opts){.pending_timeout = 5});
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    tu_task *slow = tu_task_new();
    slow->delay_s = 2;
    cr_assert_eq(rc_task(cue, "slow", "one", tu_handler, slow), RC_OK);
    for (int i = 0; i < 20; i++)
        tu_submit(cue, "slow", NULL);

    tu_run(loop);

    cr_assert_eq(slow->calls, 3);
    cr_assert_eq(x->n_fail, 17);
    for (size_t i = 0; i < x->n_fail; i++) {
        cr_assert_eq(x->fail[i].kind, RC_FAIL_PENDING_TIMEOUT);
        tu_assert_time_s(x->fail[i].time, 5);
    }
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 3);
    cr_assert_eq(s.failed, 17);
    free(slow);
    finish();
}

static int stale_unless_done(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c, (void)check, (void)ud;
    return strcmp(rc_work_task(w), "done") == 0 ? 0 : 1;
}

static void submit_done(rc_loop *l, void *arg)
{
    (void)l;
    cr_assert_eq(rc_submit(arg, "done", NULL, NULL), RC_OK);
}

Test(stall_timeout, skips_count_as_progress)
{
    /* A never-ready item, and an already-done item skipped at t=3, 6 and 9:
     * with stall_timeout=5 the skips keep the stall away until t=9, so the
     * stuck item fails at 9+5. */
    start_with(&(rc_cue_opts){.stall_timeout = 5});
    tu_xrec_install(x, cue, ready_unless_never, stale_unless_done);
    cr_assert_eq(rc_task(cue, "done", NULL, tu_handler, quick), RC_OK);
    rc_work_id stuck = tu_submit(cue, "never", NULL);
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(rc_loop_call_at(loop, rc_seconds(3.0 * i), submit_done, cue), RC_OK);

    tu_run(loop);

    cr_assert_eq(x->rec.skips, 3);
    cr_assert_eq(quick->calls, 0);
    const tu_failure *f = tu_xrec_failure(x, stuck);
    cr_assert_not_null(f);
    cr_assert_eq(f->kind, RC_FAIL_STALL_TIMEOUT);
    tu_assert_time_s(f->time, 14);
    finish();
}

Test(stall_timeout, work_submitted_after_a_stall_timeout_gets_a_fresh_stall_clock)
{
    start_with(&(rc_cue_opts){.stall_timeout = 5});
    rc_work_id a = tu_submit(cue, "never", NULL);
    tu_run_until(loop, 20);
    cr_assert_not_null(tu_xrec_failure(x, a));
    rc_work_id b = tu_submit(cue, "never", NULL);

    tu_run(loop);

    const tu_failure *f = tu_xrec_failure(x, b);
    cr_assert_not_null(f);
    tu_assert_time_s(f->time, 25);
    cr_assert_eq(tu_stats(cue).failed, 2);
    finish();
}

Test(stall_timeout, stall_timeout_off_leaves_stalled_work_pending)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 1});
    tu_submit(cue, "never", NULL);

    tu_run_until(loop, 3600);

    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(tu_stats(cue).pending, 1);
    finish();
}

/* ---- cancels: the stall timer follows them ---- */

Test(stall_timeout, cancelling_the_last_pending_item_disarms_the_stall_timer)
{
    start_with(&(rc_cue_opts){.stall_warn_after = 30, .stall_timeout = 60});
    rc_work_id id = tu_submit(cue, "never", NULL);
    cr_assert_geq(rc_loop_run(loop, RC_RUN_NOWAIT), 0);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(30), "armed for the warning");

    cr_assert_eq(rc_cancel(cue, id), RC_OK);

    cr_assert_eq(rc_loop_next_timer(loop), RC_TIME_NEVER, "nothing pending: no stall timer");
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    cr_assert_eq(rc_loop_now(loop), 0, "the loop returned at once, without waiting out a timer");
    cr_assert_eq(x->n_fail, 0);
    finish();
}

Test(stall_timeout, the_stall_timer_follows_cancels)
{
    start_with(&(rc_cue_opts){.stall_timeout = 60});
    rc_work_id a = tu_submit(cue, "never", NULL);
    rc_work_id b = tu_submit(cue, "never", NULL);
    tu_keepalive(loop, 10);
    tu_run_until(loop, 10);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(60));

    /* One of two cancelled: still a stall for the other, from t=0. */
    cr_assert_eq(rc_cancel(cue, a), RC_OK);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(60));

    /* The last one cancelled: disarmed, and the idle spell is no stall. */
    cr_assert_eq(rc_cancel(cue, b), RC_OK);
    cr_assert_eq(rc_loop_next_timer(loop), RC_TIME_NEVER);
    tu_keepalive(loop, 40);
    tu_run_until(loop, 40);

    /* New work counts from its arrival, not from the work cancelled. */
    rc_work_id c = tu_submit(cue, "never", NULL);
    cr_assert_geq(rc_loop_run(loop, RC_RUN_NOWAIT), 0);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(100));
    tu_run(loop);
    const tu_failure *f = tu_xrec_failure(x, c);
    cr_assert_not_null(f);
    cr_assert_eq(f->kind, RC_FAIL_STALL_TIMEOUT);
    tu_assert_time_s(f->time, 100);
    cr_assert_eq(x->n_fail, 1, "the cancelled work did not fail");
    finish();
}

/* ---- pause ---- */

Test(stall_timeout, time_while_paused_is_not_a_stall)
{
    /* Paused at t=0 with work queued: nothing starts until the resume at
     * t=100, yet nothing fails; then all of it runs. */
    start_with(&(rc_cue_opts){.stall_warn_after = 2, .stall_timeout = 5});
    rc_cue_pause(cue, true);
    for (int i = 0; i < 3; i++) tu_submit(cue, "quick", NULL);
    tu_run_until(loop, 100);
    cr_assert_eq(x->n_swarn, 0, "a warning at t=%g", x->n_swarn ? x->swarn[0].time : 0.0);
    cr_assert_eq(x->n_fail, 0);
    cr_assert_eq(tu_stats(cue).pending, 3);

    rc_cue_pause(cue, false);
    tu_run(loop);

    cr_assert_eq(tu_stats(cue).completed, 3);
    cr_assert_eq(x->n_fail, 0);
    finish();
}

Test(stall_timeout, the_stall_clock_starts_again_at_the_resume)
{
    /* Stuck from t=0: warned at 2, paused at 3, resumed at 50: warned again
     * at 52 and failed at 55, not at once. */
    start_with(&(rc_cue_opts){.stall_warn_after = 2, .stall_timeout = 5});
    rc_work_id b = tu_submit(cue, "never", NULL);
    tu_run_until(loop, 3);
    cr_assert_eq(x->n_swarn, 1);
    tu_assert_time_s(x->swarn[0].time, 2);
    rc_cue_pause(cue, true);
    tu_run_until(loop, 50);
    cr_assert_null(tu_xrec_failure(x, b), "failed while paused");

    rc_cue_pause(cue, false);
    tu_run(loop);

    cr_assert_eq(x->n_swarn, 2);
    tu_assert_time_s(x->swarn[1].time, 52);
    const tu_failure *f = tu_xrec_failure(x, b);
    cr_assert_not_null(f);
    cr_assert_eq(f->kind, RC_FAIL_STALL_TIMEOUT);
    tu_assert_time_s(f->time, 55);
    finish();
}
