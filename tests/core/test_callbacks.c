/* test_callbacks.c -- on_start, on_complete, on_failure, on_skip, on_event,
 * and callbacks/handlers that submit or cancel work. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_rec *rec;
static tu_task task;

static void setup(void)
{
    tu_rec_open(&loop, &cue, &rec, &task, NULL);
}

static void teardown(void)
{
    tu_rec_close(loop, cue, rec);
}

TestSuite(callbacks, .init = setup, .fini = teardown);

static void expect_events(rc_work_id id, const rc_event_kind *expected, size_t n)
{
    rc_event_kind kinds[16];
    size_t got = tu_rec_events_for(rec, id, kinds, 16);
    cr_assert_eq(got, n, "work %llu: %zu events, expected %zu", (unsigned long long)id, got, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(kinds[i], expected[i], "work %llu event %zu: %s, expected %s",
                     (unsigned long long)id, i, rc_event_name(kinds[i]),
                     rc_event_name(expected[i]));
}

Test(callbacks, on_start_sees_running_work_on_its_first_attempt)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(rec->starts, 1);
    cr_assert_eq(rec->start_id[0], id);
    cr_assert_eq(rec->start_state, RC_RUNNING);
    cr_assert_eq(rec->start_attempt, 1);
}

Test(callbacks, on_complete_gets_the_result_and_the_virtual_run_time)
{
    task.delay_s = 2.5;
    task.echo = true;
    rc_work_id id = tu_submit(cue, "t", "{\"text\":\"hello\"}");
    tu_run(loop);
    cr_assert_eq(rec->completes, 1);
    cr_assert_eq(rec->complete_id[0], id);
    cr_assert_str_eq(rec->last_result, "{\"text\":\"hello\"}");
    cr_assert_float_eq(rec->complete_duration[0], 2.5, 1e-9);
    cr_assert_eq(rec->complete_state, RC_COMPLETED);
}

static void start_later(rc_loop *l, void *arg)
{
    (void)l;
    (void)arg;
    tu_submit(cue, "t", "{\"delay\":0.75}");
}

Test(callbacks, duration_is_measured_from_start_not_from_submission)
{
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    tu_task s = {.delay_s = 4};
    cr_assert_eq(rc_task(cue, "s", "one", tu_handler, &s), RC_OK);
    tu_submit(cue, "s", NULL);
    rc_work_id second = tu_submit(cue, "s", NULL); /* waits 4s for the slot */
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(10), start_later, NULL), RC_OK);
    tu_run(loop);
    cr_assert_eq(rec->completes, 3);
    cr_assert_eq(rec->complete_id[1], second);
    cr_assert_float_eq(rec->complete_duration[0], 4.0, 1e-9);
    cr_assert_float_eq(rec->complete_duration[1], 4.0, 1e-9, "queue time is not run time");
    cr_assert_float_eq(rec->complete_duration[2], 0.75, 1e-9);
}

Test(callbacks, synchronous_completion_has_zero_duration)
{
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(rec->completes, 1);
    cr_assert_float_eq(rec->complete_duration[0], 0.0, 1e-12);
    cr_assert_str_eq(rec->last_result, "", "NULL result is passed as NULL");
}

Test(callbacks, on_failure_gets_handler_kind_and_the_error)
{
    tu_task f = {.fail = "disk full", .delay_s = 1};
    cr_assert_eq(rc_task(cue, "f", NULL, tu_handler, &f), RC_OK);
    rc_work_id id = tu_submit(cue, "f", NULL);
    tu_run(loop);
    cr_assert_eq(rec->failures, 1);
    cr_assert_eq(rec->fail_id[0], id);
    cr_assert_eq(rec->last_fail_kind, RC_FAIL_HANDLER);
    cr_assert_str_eq(rec->last_error, "disk full");
    cr_assert_eq(rec->failure_state, RC_FAILED);
    cr_assert_eq(rec->completes, 0);
}

static int never_stale(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)w;
    (void)check;
    (void)ud;
    return 0;
}

Test(callbacks, on_skip_is_called_for_valid_output_instead_of_start_and_complete)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_stale = never_stale;
    rc_cue_set_hooks(cue, &h);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(rec->skips, 1);
    cr_assert_eq(rec->skip_id[0], id);
    cr_assert(rec->skip_flag);
    cr_assert_eq(rec->starts, 0);
    cr_assert_eq(rec->completes, 0);
    cr_assert_eq(task.calls, 0);
}

Test(callbacks, on_event_sees_every_event_of_a_completed_work_in_order)
{
    task.delay_s = 1;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    static const rc_event_kind expected[] = {RC_EV_QUEUED, RC_EV_STARTED, RC_EV_COMPLETED};
    expect_events(id, expected, 3);
    cr_assert_not(rec->ev_detail_null, "detail is never NULL");
    /* Times and duration ride on the events. */
    for (size_t i = 0; i < rec->n_events; i++) {
        if (rec->ev_kind[i] == RC_EV_STARTED) cr_assert_eq(rec->ev_time[i], 0);
        if (rec->ev_kind[i] == RC_EV_COMPLETED) {
            cr_assert_eq(rec->ev_time[i], rc_seconds(1));
            cr_assert_float_eq(rec->ev_duration[i], 1.0, 1e-9);
        }
    }
}

Test(callbacks, on_event_sees_failed_skipped_and_cancelled_work)
{
    tu_task f = {.fail = "nope"};
    cr_assert_eq(rc_task(cue, "f", NULL, tu_handler, &f), RC_OK);
    rc_hooks h = tu_rec_hooks(rec);
    rc_cue_set_hooks(cue, &h);
    rc_work_id failed = tu_submit(cue, "f", NULL);
    rc_work_id cancelled = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_cancel(cue, cancelled), RC_OK);
    tu_run(loop);
    h.is_stale = never_stale;
    rc_cue_set_hooks(cue, &h);
    rc_work_id skipped = tu_submit(cue, "t", NULL);
    tu_run(loop);

    static const rc_event_kind ev_failed[] = {RC_EV_QUEUED, RC_EV_STARTED, RC_EV_FAILED};
    static const rc_event_kind ev_cancelled[] = {RC_EV_QUEUED, RC_EV_CANCELLED};
    static const rc_event_kind ev_skipped[] = {RC_EV_QUEUED, RC_EV_SKIPPED};
    expect_events(failed, ev_failed, 3);
    expect_events(cancelled, ev_cancelled, 2);
    expect_events(skipped, ev_skipped, 2);
    cr_assert_eq(tu_rec_count(rec, RC_EV_QUEUED), 3);
}

/* Typed callbacks come before on_event for the same change. */
static char order_log[512];
static void log_append(const char *s)
{
    size_t n = strlen(order_log);
    snprintf(order_log + n, sizeof order_log - n, "%s;", s);
}
static void ord_start(rc_cue *c, const rc_work *w, void *ud)
{
    (void)c;
    (void)w;
    (void)ud;
    log_append("on_start");
}
static void ord_complete(rc_cue *c, const rc_work *w, const cJSON *r, double d, void *ud)
{
    (void)c;
    (void)w;
    (void)r;
    (void)d;
    (void)ud;
    log_append("on_complete");
}
static void ord_event(rc_cue *c, const rc_event *ev, void *ud)
{
    (void)c;
    (void)ud;
    log_append(rc_event_name(ev->kind));
}

Test(callbacks, typed_callbacks_run_before_on_event)
{
    order_log[0] = '\0';
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.on_start = ord_start;
    h.on_complete = ord_complete;
    h.on_event = ord_event;
    rc_cue_set_hooks(cue, &h);
    task.delay_s = 1;
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_str_eq(order_log, "queued;on_start;started;on_complete;completed;");
}

Test(callbacks, event_names_are_stable)
{
    cr_assert_str_eq(rc_event_name(RC_EV_QUEUED), "queued");
    cr_assert_str_eq(rc_event_name(RC_EV_STARTED), "started");
    cr_assert_str_eq(rc_event_name(RC_EV_COMPLETED), "completed");
    cr_assert_str_eq(rc_event_name(RC_EV_FAILED), "failed");
    cr_assert_str_eq(rc_event_name(RC_EV_SKIPPED), "skipped");
    cr_assert_str_eq(rc_event_name(RC_EV_CANCELLED), "cancelled");
    for (int k = 0; k < RC_EV__COUNT; k++) {
        cr_assert_not_null(rc_event_name((rc_event_kind)k));
        cr_assert_neq(strlen(rc_event_name((rc_event_kind)k)), 0);
    }
}

Test(callbacks, a_second_finish_emits_a_stale_finish_event)
{
    rc_token tok = {0};
    task.delay_s = 0;
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    tok.work_id = 1;
    tok.attempt = 1;
    cr_assert_eq(rc_complete(cue, tok, NULL), RC_ESTALE);
    tu_run(loop);
    cr_assert_eq(tu_rec_count(rec, RC_EV_STALE_FINISH), 1);
    cr_assert_eq(tu_rec_count(rec, RC_EV_COMPLETED), 1, "no second completion");
    cr_assert_eq(rec->completes, 1);
}

Test(callbacks, hooks_receive_their_user_data_and_are_copied)
{
    tu_rec *other = tu_rec_new();
    rc_hooks h = tu_rec_hooks(other);
    rc_cue_set_hooks(cue, &h);
    /* Changing the caller's struct afterwards has no effect. */
    h.ud = rec;
    h.on_start = NULL;
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(other->starts, 1);
    cr_assert_eq(other->completes, 1);
    cr_assert_eq(rec->starts, 0);
    cr_assert_eq(rec->events, 0);
    free(other);
}

/* Fan-out: a "split" handler submits one "page" work per page. */
static int fanout_children;
static void split_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)ud;
    int pages = (int)tu_param_num(w, "pages", 0);
    for (int i = 0; i < pages; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "{\"page\":%d}", i);
        rc_submit_opts o = {.params = tu_json(buf)};
        if (rc_submit(c, "t", &o, NULL) == RC_OK)
            fanout_children++;
        else
            cJSON_Delete(o.params);
    }
    rc_complete(c, tok, NULL);
}

Test(callbacks, handler_can_submit_new_work)
{
    fanout_children = 0;
    cr_assert_eq(rc_task(cue, "split", NULL, split_handler, NULL), RC_OK);
    rc_work_id parent = tu_submit(cue, "split", "{\"pages\":12}");
    tu_run(loop);
    cr_assert_eq(fanout_children, 12);
    cr_assert_eq(task.calls, 12);
    cr_assert_eq(rc_work_state(rc_get(cue, parent)), RC_COMPLETED);
    /* Children got the next ids in submission order. */
    for (size_t i = 0; i < task.n; i++)
        cr_assert_eq(task.ids[i], parent + 1 + i);
    cr_assert_eq(tu_stats(cue).completed, 13);
}

/* on_complete chains the next stage: stage N submits stage N+1 until 5. */
static void chain_complete(rc_cue *c, const rc_work *w, const cJSON *result, double d, void *ud)
{
    tu_rec_on_complete(c, w, result, d, ud);
    int stage = (int)tu_param_num(w, "stage", 0);
    if (stage < 5) {
        char buf[32];
        snprintf(buf, sizeof buf, "{\"stage\":%d,\"delay\":1}", stage + 1);
        tu_submit(c, "t", buf);
    }
}

Test(callbacks, on_complete_can_submit_follow_up_work)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.on_complete = chain_complete;
    rc_cue_set_hooks(cue, &h);
    tu_submit(cue, "t", "{\"stage\":1,\"delay\":1}");
    tu_run(loop);
    cr_assert_eq(task.calls, 5);
    cr_assert_eq(rec->completes, 5);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(5), "each stage starts when the previous ends");
    for (size_t i = 0; i < task.n; i++)
        cr_assert_eq(task.starts[i], rc_seconds((double)i));
}

/* on_start of the first work cancels every other pending work. */
static rc_work_id cancel_targets[8];
static int cancel_results[8];
static size_t n_cancel_targets;
static void cancel_others_on_start(rc_cue *c, const rc_work *w, void *ud)
{
    tu_rec_on_start(c, w, ud);
    if (rc_work_get_id(w) != 1) return;
    for (size_t i = 0; i < n_cancel_targets; i++)
        cancel_results[i] = rc_cancel(c, cancel_targets[i]);
}

Test(callbacks, on_start_can_cancel_pending_work_safely)
{
    cr_assert_eq(rc_service(cue, "one", NULL, 1), RC_OK);
    tu_task s = {.delay_s = 1};
    cr_assert_eq(rc_task(cue, "s", "one", tu_handler, &s), RC_OK);
    rc_hooks h = tu_rec_hooks(rec);
    h.on_start = cancel_others_on_start;
    rc_cue_set_hooks(cue, &h);
    rc_work_id first = tu_submit(cue, "s", NULL);
    n_cancel_targets = 0;
    for (int i = 0; i < 4; i++)
        cancel_targets[n_cancel_targets++] = tu_submit(cue, "s", NULL);
    tu_run(loop);
    cr_assert_eq(first, 1);
    cr_assert_eq(s.calls, 1, "only the first ran");
    for (size_t i = 0; i < n_cancel_targets; i++) {
        cr_assert_eq(cancel_results[i], RC_OK);
        cr_assert_eq(rc_work_state(rc_get(cue, cancel_targets[i])), RC_CANCELLED);
    }
    cr_assert_eq(rc_work_state(rc_get(cue, first)), RC_COMPLETED);
    rc_stats st = tu_stats(cue);
    cr_assert_eq(st.cancelled, 4);
    cr_assert_eq(st.pending, 0);
}

/* A handler that cancels a sibling queued in the same dispatch pass. */
static rc_work_id sibling;
static int sibling_cancel_rc;
static void cancel_sibling_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    tu_task *t = ud;
    t->calls++;
    if (rc_work_get_id(w) == 1) sibling_cancel_rc = rc_cancel(c, sibling);
    rc_complete(c, tok, NULL);
}

Test(callbacks, handler_can_cancel_work_queued_behind_it_in_the_same_pass)
{
    tu_task c = {0};
    cr_assert_eq(rc_task(cue, "c", NULL, cancel_sibling_handler, &c), RC_OK);
    tu_submit(cue, "c", NULL);
    sibling = tu_submit(cue, "c", NULL);
    rc_work_id third = tu_submit(cue, "c", NULL);
    tu_run(loop);
    cr_assert_eq(sibling_cancel_rc, RC_OK);
    cr_assert_eq(c.calls, 2, "the cancelled sibling never runs");
    cr_assert_eq(rc_work_state(rc_get(cue, sibling)), RC_CANCELLED);
    cr_assert_eq(rc_work_state(rc_get(cue, third)), RC_COMPLETED);
}

/* on_failure resubmits a fallback. */
static void fallback_on_failure(rc_cue *c, const rc_work *w, rc_fail_kind k, const char *e,
                                void *ud)
{
    tu_rec_on_failure(c, w, k, e, ud);
    tu_submit(c, "t", "{\"fallback\":1}");
}

Test(callbacks, on_failure_can_submit_a_fallback)
{
    tu_task f = {.fail = "primary down"};
    cr_assert_eq(rc_task(cue, "f", NULL, tu_handler, &f), RC_OK);
    rc_hooks h = tu_rec_hooks(rec);
    h.on_failure = fallback_on_failure;
    rc_cue_set_hooks(cue, &h);
    tu_submit(cue, "f", NULL);
    tu_run(loop);
    cr_assert_eq(rec->failures, 1);
    cr_assert_eq(task.calls, 1);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.completed, 1);
}

/* Hooks may be replaced while work is running. */
Test(callbacks, hooks_set_mid_run_apply_to_later_events)
{
    task.delay_s = 2;
    tu_rec *late = tu_rec_new();
    rc_hooks none;
    memset(&none, 0, sizeof none);
    rc_cue_set_hooks(cue, &none);
    tu_submit(cue, "t", NULL);
    tu_run_until(loop, 1);
    rc_hooks h = tu_rec_hooks(late);
    rc_cue_set_hooks(cue, &h);
    tu_run(loop);
    cr_assert_eq(late->starts, 0, "the start happened before the hooks were set");
    cr_assert_eq(late->completes, 1);
    cr_assert_float_eq(late->complete_duration[0], 2.0, 1e-9);
    cr_assert_eq(rec->completes, 0);
    free(late);
}
