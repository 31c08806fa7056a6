/* test_retry.c -- retry policies, backoff and stale tokens.
 *
 * A handler that finishes with rc_retry() is attempted again after a backoff
 * (base * 2^(k-1) before attempt k+1 when exponential), up to max_attempts;
 * on_failure comes once, after the last.  rc_fail() is final.  A token from an
 * attempt that is over is refused with RC_ESTALE. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_xrec *x;

/* What the handler does, by attempt; and what it saw. */
typedef enum { DO_DEFAULT, DO_RETRY, DO_FAIL, DO_COMPLETE, DO_HOLD } action;

static struct {
    action by_attempt[16]; /* index: attempt number; DO_DEFAULT: `otherwise` */
    action otherwise;
    int calls;
    rc_time start[16];  /* by attempt */
    rc_token token[16]; /* by attempt */
    unsigned attempt_seen[16];
    int finish_rc[16];
} H;

static void scripted(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)ud;
    unsigned a = rc_work_attempt(w);
    cr_assert_eq(tok.attempt, a, "the token carries the work's attempt");
    cr_assert_lt(a, 16u);
    H.calls++;
    H.start[a] = rc_loop_now(rc_cue_loop(c));
    H.token[a] = tok;
    H.attempt_seen[H.calls] = a;
    action act = H.by_attempt[a] ? H.by_attempt[a] : H.otherwise;
    switch (act) {
    case DO_RETRY:
        H.finish_rc[a] = rc_retry(c, tok, "transient");
        break;
    case DO_FAIL:
        H.finish_rc[a] = rc_fail(c, tok, "fatal");
        break;
    case DO_COMPLETE:
        H.finish_rc[a] = rc_complete(c, tok, NULL);
        break;
    case DO_HOLD:
    case DO_DEFAULT:
        break;
    }
}

static void setup(void)
{
    memset(&H, 0, sizeof H);
    H.otherwise = DO_RETRY;
    tu_open(&loop, &cue, NULL);
    x = tu_xrec_new(loop);
    tu_xrec_install(x, cue, NULL, NULL);
    cr_assert_eq(rc_task(cue, "t", NULL, scripted, NULL), RC_OK);
}

static void teardown(void)
{
    tu_close(loop, cue);
    free(x);
}

TestSuite(retry, .init = setup, .fini = teardown);

static void set_policy(unsigned max_attempts, double base_s, bool exponential)
{
    int rc = rc_task_retry(cue, "t",
                           &(rc_retry_policy){.max_attempts = max_attempts,
                                              .base_s = base_s,
                                              .exponential = exponential});
    cr_assert_eq(rc, RC_OK, "rc_task_retry: %s (%s)", rc_strerror(rc), rc_cue_errmsg(cue));
}

Test(retry, succeeds_on_the_third_attempt_after_two_retries)
{
    set_policy(3, 1, true);
    H.by_attempt[3] = DO_COMPLETE;
    rc_work_id id = tu_submit(cue, "t", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(H.calls, 3);
    cr_assert_eq(H.finish_rc[1], RC_OK);
    cr_assert_eq(H.finish_rc[2], RC_OK);
    cr_assert_eq(H.finish_rc[3], RC_OK);
    /* Backoff 1 s before attempt 2, then 2 s before attempt 3. */
    tu_assert_time_s(H.start[1], 0);
    tu_assert_time_s(H.start[2], 1);
    tu_assert_time_s(H.start[3], 3);
    cr_assert_eq(x->rec.completes, 1);
    cr_assert_eq(x->complete_attempt[0], 3, "rc_work_attempt at completion");
    cr_assert_eq(x->rec.failures, 0, "on_failure is never called when a retry succeeds");
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_RETRY, id), 2);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert_eq(rc_work_attempt(w), 3);
    tu_assert_time_s(rc_work_started(w), 3);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.retries, 2);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.failed, 0);
}

Test(retry, retry_events_come_at_each_failed_attempt)
{
    set_policy(3, 1, true);
    H.by_attempt[3] = DO_COMPLETE;
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run(loop);

    size_t seen = 0;
    rc_time want[] = {rc_seconds(0), rc_seconds(1)};
    for (size_t i = 0; i < x->rec.n_events; i++) {
        if (x->rec.ev_kind[i] != RC_EV_RETRY) continue;
        cr_assert_eq(x->rec.ev_id[i], id);
        cr_assert_lt(seen, (size_t)2);
        cr_assert_eq(x->rec.ev_time[i], want[seen], "retry event %zu at %.3fs", seen,
                     rc_to_seconds(x->rec.ev_time[i]));
        seen++;
    }
    cr_assert_eq(seen, 2);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_STARTED, id), 3);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_COMPLETED, id), 1);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_FAILED, id), 0);
}

Test(retry, all_attempts_failing_calls_on_failure_once_after_the_last)
{
    set_policy(3, 1, true);
    rc_work_id id = tu_submit(cue, "t", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(H.calls, 3);
    cr_assert_eq(x->n_fail, 1);
    cr_assert_eq(x->fail[0].id, id);
    cr_assert_eq(x->fail[0].kind, RC_FAIL_HANDLER);
    cr_assert_eq(x->fail[0].attempt, 3);
    tu_assert_time_s(x->fail[0].time, 3);
    cr_assert_not_null(strstr(x->fail[0].error, "transient"), "error: %s", x->fail[0].error);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_RETRY, id), 2);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_FAILED, id), 1);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_FAILED);
    cr_assert_eq(rc_work_attempt(w), 3);
    cr_assert_not_null(strstr(rc_work_error(w), "transient"));
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.retries, 2);
    cr_assert_eq(s.pending, 0);
}

Test(retry, rc_fail_is_final_even_with_a_retry_policy)
{
    set_policy(5, 1, true);
    H.otherwise = DO_FAIL;
    rc_work_id id = tu_submit(cue, "t", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(H.calls, 1);
    cr_assert_eq(x->n_fail, 1);
    cr_assert_eq(x->fail[0].attempt, 1);
    tu_assert_time_s(x->fail[0].time, 0);
    cr_assert_str_eq(x->fail[0].error, "fatal");
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_RETRY, id), 0);
    cr_assert_eq(tu_stats(cue).retries, 0);
    cr_assert(!rc_work_retry_asked(rc_get(cue, id)), "rc_fail asked for no retry");
}

Test(retry, rc_retry_without_a_policy_is_a_plain_failure)
{
    rc_work_id id = tu_submit(cue, "t", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(H.calls, 1);
    cr_assert_eq(x->n_fail, 1);
    cr_assert_eq(x->fail[0].kind, RC_FAIL_HANDLER);
    cr_assert_eq(tu_xrec_count_for(x, RC_EV_RETRY, id), 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_FAILED);
    /* the handler's wish is kept: a transport forwarding the outcome passes it on */
    cr_assert(rc_work_retry_asked(rc_get(cue, id)));
}

Test(retry, max_attempts_one_means_no_retries)
{
    set_policy(1, 1, true);
    tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(H.calls, 1);
    cr_assert_eq(x->n_fail, 1);
    cr_assert_eq(tu_stats(cue).retries, 0);
}

Test(retry, linear_backoff_waits_the_base_every_time)
{
    set_policy(4, 2, false);
    tu_submit(cue, "t", NULL);

    tu_run(loop);

    cr_assert_eq(H.calls, 4);
    tu_assert_time_s(H.start[1], 0);
    tu_assert_time_s(H.start[2], 2);
    tu_assert_time_s(H.start[3], 4);
    tu_assert_time_s(H.start[4], 6);
}

Test(retry, exponential_backoff_is_capped_at_max_s)
{
    int rc = rc_task_retry(
        cue, "t",
        &(rc_retry_policy){.max_attempts = 5, .base_s = 1, .max_s = 3, .exponential = true});
    cr_assert_eq(rc, RC_OK);
    tu_submit(cue, "t", NULL);

    tu_run(loop);

    /* Backoffs 1, 2, min(4,3), min(8,3). */
    cr_assert_eq(H.calls, 5);
    tu_assert_time_s(H.start[2], 1);
    tu_assert_time_s(H.start[3], 3);
    tu_assert_time_s(H.start[4], 6);
    tu_assert_time_s(H.start[5], 9);
}

/* Run one always-retrying item under `p` on a fresh loop; write the start
 * times of attempts 2..5 (relative to attempt 1) into out. */
static void jitter_run(const rc_retry_policy *p, rc_time out[4])
{
    rc_loop *l = tu_loop_new();
    rc_cue *c = tu_cue_new(l, NULL);
    cr_assert_eq(rc_task(c, "t", NULL, scripted, NULL), RC_OK);
    cr_assert_eq(rc_task_retry(c, "t", p), RC_OK);
    memset(&H, 0, sizeof H);
    H.otherwise = DO_RETRY;
    tu_submit(c, "t", NULL);
    tu_run(l);
    cr_assert_eq(H.calls, 5);
    for (int i = 0; i < 4; i++)
        out[i] = H.start[i + 2] - H.start[i + 1];
    tu_close(l, c);
}

Test(retry, jitter_stays_within_its_fraction_and_repeats_with_the_seed)
{
    rc_retry_policy p = {.max_attempts = 5, .base_s = 4, .jitter = 0.5, .seed = 42};
    rc_time a[4], b[4];
    jitter_run(&p, a);
    jitter_run(&p, b);

    bool any_off_base = false;
    for (int i = 0; i < 4; i++) {
        cr_assert_geq(a[i], rc_seconds(2), "backoff %d: %.3fs", i, rc_to_seconds(a[i]));
        cr_assert_leq(a[i], rc_seconds(6), "backoff %d: %.3fs", i, rc_to_seconds(a[i]));
        cr_assert_eq(a[i], b[i], "same seed, same backoff %d", i);
        any_off_base |= a[i] != rc_seconds(4);
    }
    cr_assert(any_off_base, "jitter 0.5 never moved a backoff");
}

Test(retry, work_waits_pending_not_running_during_the_backoff)
{
    set_policy(2, 10, false);
    H.by_attempt[2] = DO_COMPLETE;
    rc_work_id id = tu_submit(cue, "t", NULL);

    tu_run_until(loop, 5);

    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_PENDING);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.pending, 1);
    cr_assert_eq(s.running, 0);
    cr_assert_eq(s.retries, 1);

    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    tu_assert_time_s(H.start[2], 10);
}

Test(retry, backoff_frees_the_service_slot_for_other_work)
{
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    tu_task *other = tu_task_new();
    cr_assert_eq(rc_task(cue, "r", "one", scripted, NULL), RC_OK);
    cr_assert_eq(rc_task(cue, "o", "one", tu_handler, other), RC_OK);
    cr_assert_eq(rc_task_retry(cue, "r", &(rc_retry_policy){.max_attempts = 2, .base_s = 5}),
                 RC_OK);
    H.by_attempt[2] = DO_COMPLETE;
    tu_submit(cue, "r", NULL);
    tu_submit(cue, "o", NULL);

    tu_run(loop);

    cr_assert_eq(other->calls, 1);
    tu_assert_time_s(other->starts[0], 0);
    tu_assert_time_s(H.start[2], 5);
    cr_assert_eq(tu_stats(cue).completed, 2);
    free(other);
}

Test(retry, token_from_an_earlier_attempt_is_stale)
{
    set_policy(3, 1, true);
    H.by_attempt[2] = DO_HOLD; /* attempt 2 stays running */
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 1.5);
    cr_assert_eq(H.calls, 2);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_RUNNING);

    int rc1 = rc_complete(cue, H.token[1], NULL);
    int rc2 = rc_retry(cue, H.token[1], "late");
    int rc3 = rc_fail(cue, H.token[1], "late");

    cr_assert_eq(rc1, RC_ESTALE);
    cr_assert_eq(rc2, RC_ESTALE);
    cr_assert_eq(rc3, RC_ESTALE);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_RUNNING, "a stale finish changes nothing");
    cr_assert_eq(tu_stats(cue).stale_finishes, 3);
    cr_assert_eq(tu_rec_count(&x->rec, RC_EV_STALE_FINISH), 3);

    cr_assert_eq(rc_complete(cue, H.token[2], NULL), RC_OK);
    tu_run(loop);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert_eq(rc_work_attempt(w), 2);
    cr_assert_eq(H.calls, 2);
    cr_assert_eq(rc_complete(cue, H.token[2], NULL), RC_ESTALE, "and a double finish, too");
}

Test(retry, policy_errors_are_reported)
{
    cr_assert_eq(rc_task_retry(cue, "nope", &(rc_retry_policy){.max_attempts = 2, .base_s = 1}),
                 RC_ENOENT);
    cr_assert_eq(rc_task_retry(cue, "t", &(rc_retry_policy){.max_attempts = 0, .base_s = 1}),
                 RC_EINVAL);
    cr_assert_neq(rc_cue_errmsg(cue)[0], '\0');
    cr_assert_eq(rc_task_retry(cue, "t", &(rc_retry_policy){.max_attempts = 2, .base_s = -1}),
                 RC_EINVAL);
    cr_assert_eq(
        rc_task_retry(cue, "t", &(rc_retry_policy){.max_attempts = 2, .base_s = 1, .jitter = 1.5}),
        RC_EINVAL);

    /* A rejected policy left the task without retries. */
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(H.calls, 1);
}

Test(retry, max_attempts_is_bounded_with_a_message_naming_it)
{
    rc_retry_policy p = {.max_attempts = 65535, .base_s = 1};
    cr_assert_eq(rc_task_retry(cue, "t", &p), RC_OK, "%s", rc_cue_errmsg(cue));
    p.max_attempts = 65536;
    cr_assert_eq(rc_task_retry(cue, "t", &p), RC_EINVAL);
    cr_assert(strstr(rc_cue_errmsg(cue), "max_attempts must be from 1 to 65535 (got 65536)"), "%s",
              rc_cue_errmsg(cue));
    p.max_attempts = 0;
    cr_assert_eq(rc_task_retry(cue, "t", &p), RC_EINVAL);
}
