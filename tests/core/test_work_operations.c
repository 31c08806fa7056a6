/* test_work_operations.c -- submit, get, list, cancel, and work accessors. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_rec *rec;
static tu_task task;

static void install(const rc_cue_opts *opts)
{
    tu_rec_open(&loop, &cue, &rec, &task, opts);
}

static void setup(void)
{
    install(NULL);
}

static void teardown(void)
{
    tu_rec_close(loop, cue, rec);
}

TestSuite(work_operations, .init = setup, .fini = teardown);

Test(work_operations, work_ids_count_up_from_one_in_submission_order)
{
    tu_task u = {0};
    cr_assert_eq(rc_task(cue, "u", NULL, tu_handler, &u), RC_OK);
    rc_work_id a = 0, b = 0, c = 0;
    cr_assert_eq(rc_submit(cue, "t", NULL, &a), RC_OK);
    cr_assert_eq(rc_submit(cue, "u", NULL, &b), RC_OK);
    cr_assert_eq(rc_submit(cue, "t", NULL, &c), RC_OK);
    cr_assert_eq(a, 1);
    cr_assert_eq(b, 2);
    cr_assert_eq(c, 3);
    cr_assert_eq(rc_submit(cue, "t", NULL, NULL), RC_OK, "out_id may be NULL");
    cr_assert_not_null(rc_get(cue, 4));
}

Test(work_operations, ids_are_per_cue)
{
    rc_cue *other = tu_cue_new(loop, NULL);
    tu_task t2 = {0};
    cr_assert_eq(rc_task(other, "t", NULL, tu_handler, &t2), RC_OK);
    tu_submit(cue, "t", NULL);
    tu_submit(cue, "t", NULL);
    rc_work_id id = tu_submit(other, "t", NULL);
    cr_assert_eq(id, 1);
    tu_run(loop);
    rc_cue_free(other);
}

Test(work_operations, submit_of_unknown_task_is_enoent_and_leaves_params_with_the_caller)
{
    cJSON *params = tu_json("{\"x\":1}");
    rc_submit_opts o = {.params = params};
    rc_work_id id = 77;
    cr_assert_eq(rc_submit(cue, "nope", &o, &id), RC_ENOENT);
    cr_assert_neq(strlen(rc_cue_errmsg(cue)), 0);
    /* The caller still owns params: this must not double free. */
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(params, "x")->valueint, 1);
    cJSON_Delete(params);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.submitted, 0);
    cr_assert_eq(s.pending, 0);
    /* A failed submit does not use up an id. */
    cr_assert_eq(tu_submit(cue, "t", NULL), 1);
}

Test(work_operations, get_returns_the_work_with_its_fields)
{
    static const char *const needs[] = {"pages/001.png", "cfg"};
    static const char *const produces[] = {"text/001.txt"};
    char label[16] = "page one";
    rc_submit_opts o = {.params = tu_json("{\"page\":1}"),
                        .needs = needs,
                        .n_needs = 2,
                        .produces = produces,
                        .n_produces = 1,
                        .label = label};
    rc_work_id id = tu_submit_opts(cue, "t", &o);
    memcpy(label, "CHANGED", 8); /* the label was copied */

    const rc_work *w = rc_get(cue, id);
    cr_assert_not_null(w);
    cr_assert_eq(rc_work_get_id(w), id);
    cr_assert_str_eq(rc_work_task(w), "t");
    cr_assert_null(rc_work_service(w));
    cr_assert_str_eq(rc_work_label(w), "page one");
    cr_assert_eq(rc_work_attempt(w), 1);
    cr_assert_eq(rc_work_state(w), RC_PENDING);
    cr_assert_not(rc_work_skipped(w));
    cr_assert_eq(rc_work_created(w), 0);
    cr_assert_eq(rc_work_started(w), -1);
    cr_assert_eq(rc_work_finished(w), -1);
    cr_assert_null(rc_work_result(w));
    cr_assert_null(rc_work_error(w));
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(rc_work_params(w), "page")->valueint, 1);
    const char *const *keys = NULL;
    cr_assert_eq(rc_work_needs(w, &keys), 2);
    cr_assert_str_eq(keys[0], "pages/001.png");
    cr_assert_str_eq(keys[1], "cfg");
    cr_assert_eq(rc_work_produces(w, &keys), 1);
    cr_assert_str_eq(keys[0], "text/001.txt");
}

Test(work_operations, work_without_label_or_keys_reports_none)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    const rc_work *w = rc_get(cue, id);
    cr_assert_null(rc_work_label(w));
    const char *const *keys = NULL;
    cr_assert_eq(rc_work_needs(w, &keys), 0);
    cr_assert_eq(rc_work_produces(w, &keys), 0);
}

Test(work_operations, get_of_unknown_id_is_null)
{
    cr_assert_null(rc_get(cue, 1));
    tu_submit(cue, "t", NULL);
    cr_assert_null(rc_get(cue, 0));
    cr_assert_null(rc_get(cue, 2));
    cr_assert_null(rc_get(cue, UINT64_MAX));
}

Test(work_operations, get_after_finishing_reports_the_outcome)
{
    task.delay_s = 4;
    task.echo = true;
    rc_work_id id = tu_submit(cue, "t", "{\"k\":\"v\"}");
    tu_run(loop);
    const rc_work *w = rc_get(cue, id);
    cr_assert_not_null(w, "finished work stays visible (retain_finished = 0 keeps all)");
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert_eq(rc_work_started(w), 0);
    cr_assert_eq(rc_work_finished(w), rc_seconds(4));
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc_work_result(w), "k")),
                     "v");
}

Test(work_operations, list_filters_by_state_and_task_in_submission_order)
{
    tu_task u = {.delay_s = 10};
    cr_assert_eq(rc_task(cue, "u", NULL, tu_handler, &u), RC_OK);
    cr_assert_eq(rc_task(cue, "idle", NULL, NULL, NULL), RC_OK);
    rc_work_id t1 = tu_submit(cue, "t", NULL);    /* completes */
    rc_work_id u1 = tu_submit(cue, "u", NULL);    /* running at t=5 */
    rc_work_id i1 = tu_submit(cue, "idle", NULL); /* pending: no handler */
    rc_work_id t2 = tu_submit(cue, "t", NULL);    /* completes */
    rc_work_id i2 = tu_submit(cue, "idle", NULL); /* cancelled */
    cr_assert_eq(rc_cancel(cue, i2), RC_OK);
    tu_run_until(loop, 5);

    const rc_work *out[16];
    size_t n = rc_list(cue, -1, NULL, out, 16);
    cr_assert_eq(n, 5);
    rc_work_id all[] = {t1, u1, i1, t2, i2};
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(rc_work_get_id(out[i]), all[i]);

    n = rc_list(cue, RC_COMPLETED, NULL, out, 16);
    cr_assert_eq(n, 2);
    cr_assert_eq(rc_work_get_id(out[0]), t1);
    cr_assert_eq(rc_work_get_id(out[1]), t2);

    n = rc_list(cue, RC_RUNNING, NULL, out, 16);
    cr_assert_eq(n, 1);
    cr_assert_eq(rc_work_get_id(out[0]), u1);

    n = rc_list(cue, RC_PENDING, NULL, out, 16);
    cr_assert_eq(n, 1);
    cr_assert_eq(rc_work_get_id(out[0]), i1);

    n = rc_list(cue, RC_CANCELLED, NULL, out, 16);
    cr_assert_eq(n, 1);
    cr_assert_eq(rc_work_get_id(out[0]), i2);

    n = rc_list(cue, RC_FAILED, NULL, out, 16);
    cr_assert_eq(n, 0);

    n = rc_list(cue, -1, "idle", out, 16);
    cr_assert_eq(n, 2);
    cr_assert_eq(rc_work_get_id(out[0]), i1);
    cr_assert_eq(rc_work_get_id(out[1]), i2);

    n = rc_list(cue, RC_PENDING, "t", out, 16);
    cr_assert_eq(n, 0, "both filters apply");

    n = rc_list(cue, -1, "no-such-task", out, 16);
    cr_assert_eq(n, 0);
    tu_run(loop);
    cr_assert_eq(rc_cancel(cue, i1), RC_OK);
}

Test(work_operations, list_writes_at_most_max_items)
{
    for (int i = 0; i < 10; i++)
        tu_submit(cue, "t", NULL);
    const rc_work *out[4] = {NULL, NULL, NULL, NULL};
    cr_assert_eq(rc_list(cue, -1, NULL, out, 3), 3);
    cr_assert_eq(rc_work_get_id(out[0]), 1);
    cr_assert_eq(rc_work_get_id(out[2]), 3);
    cr_assert_null(out[3], "nothing written past max");
    cr_assert_eq(rc_list(cue, -1, NULL, out, 0), 0);
}

Test(work_operations, cancel_pending_work_marks_it_cancelled_and_it_never_runs)
{
    rc_work_id a = tu_submit(cue, "t", NULL);
    rc_work_id b = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_cancel(cue, a), RC_OK);
    const rc_work *w = rc_get(cue, a);
    cr_assert_not_null(w);
    cr_assert_eq(rc_work_state(w), RC_CANCELLED);
    tu_run(loop);
    cr_assert_eq(task.calls, 1);
    cr_assert_eq(task.ids[0], b);
    cr_assert_eq(rc_work_state(rc_get(cue, a)), RC_CANCELLED);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.cancelled, 1);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.pending, 0);
    rc_event_kind kinds[8];
    size_t n = tu_rec_events_for(rec, a, kinds, 8);
    cr_assert_geq(n, 1);
    cr_assert_eq(kinds[n - 1], RC_EV_CANCELLED);
    cr_assert_eq(rec->starts, 1);
}

Test(work_operations, cancel_waiting_work_removes_it_from_the_wait)
{
    cr_assert_eq(rc_task(cue, "idle", NULL, NULL, NULL), RC_OK);
    rc_work_id id = tu_submit(cue, "idle", NULL);
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).waiting, 1);
    cr_assert_eq(rc_cancel(cue, id), RC_OK);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.waiting, 0);
    cr_assert_eq(s.pending, 0);
    cr_assert_eq(s.cancelled, 1);
    /* A handler arriving later must not run it. */
    cr_assert_eq(rc_task_set_handler(cue, "idle", tu_handler, &task), RC_OK);
    tu_run(loop);
    cr_assert_eq(task.calls, 0);
}

Test(work_operations, cancel_delayed_work_stops_its_timer)
{
    rc_submit_opts o = {.delay_s = 100};
    rc_work_id id = tu_submit_opts(cue, "t", &o);
    cr_assert_eq(rc_cancel(cue, id), RC_OK);
    tu_run(loop);
    cr_assert_eq(task.calls, 0);
    cr_assert_lt(rc_loop_now(loop), rc_seconds(100), "nothing keeps the loop alive until t=100");
    cr_assert_eq(tu_stats(cue).delayed, 0);
}

Test(work_operations, cancel_running_work_is_refused_and_it_finishes_normally)
{
    task.delay_s = 3;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_RUNNING);
    cr_assert_eq(rc_cancel(cue, id), RC_ERUNNING);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_RUNNING);
    tu_run(loop);
    cr_assert_eq(task.last_finish_rc, RC_OK);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    cr_assert_eq(tu_stats(cue).cancelled, 0);
}

Test(work_operations, cancel_finished_work_is_efinished)
{
    rc_work_id done = tu_submit(cue, "t", NULL);
    tu_task f = {.fail = "boom"};
    cr_assert_eq(rc_task(cue, "f", NULL, tu_handler, &f), RC_OK);
    rc_work_id failed = tu_submit(cue, "f", NULL);
    rc_work_id cancelled = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_cancel(cue, cancelled), RC_OK);
    tu_run(loop);
    cr_assert_eq(rc_cancel(cue, done), RC_EFINISHED);
    cr_assert_eq(rc_cancel(cue, failed), RC_EFINISHED);
    cr_assert_eq(rc_cancel(cue, cancelled), RC_EFINISHED);
    cr_assert_eq(rc_work_state(rc_get(cue, done)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(cue, failed)), RC_FAILED);
    cr_assert_eq(tu_stats(cue).cancelled, 1);
}

Test(work_operations, cancel_unknown_work_is_enoent)
{
    cr_assert_eq(rc_cancel(cue, 1), RC_ENOENT);
    tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_cancel(cue, 2), RC_ENOENT);
    cr_assert_eq(rc_cancel(cue, 0), RC_ENOENT);
}

/* A timeout too long for the clock (here, past its end) means no timeout:
 * the wait ends when the work finishes, not at once. */
Test(work_operations, wait_with_a_timeout_past_the_end_of_time_waits_for_the_work)
{
    task.delay_s = 5;
    rc_work_id a = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_wait(cue, a, 1e300), RC_OK);
    rc_work_id b = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_wait(cue, b, 1e300), RC_OK);
    rc_work_id c = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_wait(cue, c, INFINITY), RC_OK);
    cr_assert_eq(rc_work_state(rc_get(cue, c)), RC_COMPLETED);
    cr_assert_float_eq(tu_now_s(loop), 15.0, 1e-9);
}

Test(work_operations, stats_track_the_lifecycle)
{
    tu_task slow = {.delay_s = 5};
    tu_serve(cue, "one", NULL, 1, "s", &slow);
    for (int i = 0; i < 3; i++)
        tu_submit(cue, "s", NULL);
    rc_submit_opts o = {.delay_s = 50};
    tu_submit_opts(cue, "t", &o);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.submitted, 4);
    cr_assert_eq(s.pending, 4);
    tu_run_until(loop, 1);
    s = tu_stats(cue);
    cr_assert_eq(s.running, 1);
    cr_assert_eq(s.queued, 2);
    cr_assert_eq(s.delayed, 1);
    cr_assert_eq(s.pending, 3, "queued + delayed");
    cr_assert_geq(s.passes, 1);
    tu_run(loop);
    tu_assert_settled(cue, (tu_settled){.submitted = 4, .completed = 4});
}

Test(work_operations, retain_finished_forgets_the_oldest_finished_work)
{
    teardown();
    install(&(rc_cue_opts){.retain_finished = 3});
    cr_assert_eq(rc_task(cue, "idle", NULL, NULL, NULL), RC_OK);
    rc_work_id waiting = tu_submit(cue, "idle", NULL);
    rc_work_id ids[6];
    for (int i = 0; i < 6; i++)
        ids[i] = tu_submit(cue, "t", NULL);
    tu_run(loop);
    for (int i = 0; i < 3; i++)
        cr_assert_null(rc_get(cue, ids[i]), "work %d should be forgotten", i);
    for (int i = 3; i < 6; i++)
        cr_assert_not_null(rc_get(cue, ids[i]), "work %d should be kept", i);
    cr_assert_not_null(rc_get(cue, waiting), "pending work is never forgotten");
    const rc_work *out[16];
    cr_assert_eq(rc_list(cue, -1, NULL, out, 16), 4);
    cr_assert_eq(rc_cancel(cue, ids[0]), RC_ENOENT);
    cr_assert_eq(tu_stats(cue).completed, 6, "counters still count forgotten work");
}

Test(work_operations, forget_non_producers_keeps_producers_and_pending_work)
{
    teardown();
    install(&(rc_cue_opts){.forget_non_producers = true});
    cr_assert_eq(rc_task(cue, "idle", NULL, NULL, NULL), RC_OK);
    rc_work_id waiting = tu_submit(cue, "idle", NULL);
    const char *keys[] = {"out"};
    rc_work_id producer = 0, plain[4];
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.produces = keys, .n_produces = 1}, &producer),
                 RC_OK);
    for (int i = 0; i < 4; i++)
        plain[i] = tu_submit(cue, "t", NULL);
    tu_run(loop);
    for (int i = 0; i < 4; i++)
        cr_assert_null(rc_get(cue, plain[i]), "finished work %d produces nothing: forgotten", i);
    cr_assert_not_null(rc_get(cue, producer), "a finished producer is kept for the diagnosis");
    cr_assert_not_null(rc_get(cue, waiting), "pending work is never forgotten");
    cr_assert_eq(rc_list(cue, -1, NULL, NULL, 0), 2);
    cr_assert_eq(tu_stats(cue).completed, 5, "counters still count forgotten work");
}

Test(work_operations, state_names_are_stable)
{
    cr_assert_str_eq(rc_state_name(RC_PENDING), "pending");
    cr_assert_str_eq(rc_state_name(RC_RUNNING), "running");
    cr_assert_str_eq(rc_state_name(RC_COMPLETED), "completed");
    cr_assert_str_eq(rc_state_name(RC_FAILED), "failed");
    cr_assert_str_eq(rc_state_name(RC_CANCELLED), "cancelled");
}

Test(work_operations, the_callers_pointer_comes_back_untouched)
{
    int mine = 7;
    rc_work_id a = 0, b = 0;
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.ud = &mine}, &a), RC_OK);
    cr_assert_eq(rc_submit(cue, "t", NULL, &b), RC_OK);
    cr_assert_eq(rc_work_ud(rc_get(cue, a)), &mine);
    cr_assert_null(rc_work_ud(rc_get(cue, b)));
    cr_assert_null(rc_work_ud(NULL));
    cr_assert_eq(mine, 7);
}
