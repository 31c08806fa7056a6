/* test_staleness.c -- is_stale: run stale work, skip work whose output is valid. */
#include "recorder.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_rec *rec;
static tu_task task;

/* The is_stale answer: a fixed value, or per work from a "valid" param. */
typedef struct oracle {
    int value; /* returned when the work has no "valid" param */
    int stale_calls;
    int ready_calls;
    bool not_ready; /* is_ready answers 0 while set */
} oracle;
static oracle O;

static int oracle_is_stale(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)check;
    (void)ud;
    O.stale_calls++;
    double valid = tu_param_num(w, "valid", -1);
    if (valid >= 0) return valid > 0 ? 0 : 1;
    return O.value;
}

static int oracle_is_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)w;
    (void)check;
    (void)ud;
    O.ready_calls++;
    return O.not_ready ? 0 : 1;
}

static void install_hooks(bool with_is_stale)
{
    rc_hooks h = tu_rec_hooks(rec);
    if (with_is_stale) h.is_stale = oracle_is_stale;
    h.is_ready = oracle_is_ready;
    rc_cue_set_hooks(cue, &h);
}

static void setup(void)
{
    tu_rec_open(&loop, &cue, &rec, &task, NULL);
    memset(&O, 0, sizeof O);
    O.value = 1;
    install_hooks(true);
}

static void teardown(void)
{
    tu_rec_close(loop, cue, rec);
}

TestSuite(staleness, .init = setup, .fini = teardown);

Test(staleness, stale_work_runs)
{
    O.value = 1;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_geq(O.stale_calls, 1);
    cr_assert_eq(task.calls, 1);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert_not(rc_work_skipped(w));
    cr_assert_eq(rec->skips, 0);
    cr_assert_eq(tu_stats(cue).completed, 1);
    cr_assert_eq(tu_stats(cue).skipped, 0);
}

Test(staleness, valid_output_skips_the_work_without_calling_the_handler)
{
    O.value = 0;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 0, "the handler must not be called for skipped work");
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert(rc_work_skipped(w));
    cr_assert_eq(rec->skips, 1);
    cr_assert_eq(rec->skip_id[0], id);
    cr_assert(rec->skip_flag, "on_skip sees the work marked skipped");
    cr_assert_eq(rec->skip_state, RC_COMPLETED);
    cr_assert_eq(rec->starts, 0, "skipped work never starts");
    cr_assert_eq(rec->completes, 0, "skipped work is not reported as completed");
}

Test(staleness, skipped_work_counts_as_skipped_not_completed)
{
    O.value = 0;
    tu_submit(cue, "t", NULL);
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    tu_assert_settled(cue, (tu_settled){.submitted = 2, .skipped = 2});
}

Test(staleness, skipped_work_has_no_result_no_error_and_a_finish_time)
{
    O.value = 0;
    tu_keepalive(loop, 4.0);
    rc_submit_opts o = {.delay_s = 3};
    rc_work_id id = tu_submit_opts(cue, "t", &o);
    tu_run(loop);
    const rc_work *w = rc_get(cue, id);
    cr_assert_null(rc_work_result(w));
    cr_assert_null(rc_work_error(w));
    cr_assert_eq(rc_work_finished(w), rc_seconds(3));
    cr_assert_eq(rc_work_started(w), -1, "skipped work never started");
}

Test(staleness, negative_is_stale_counts_as_stale_and_runs)
{
    O.value = -7;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 1);
    cr_assert_not(rc_work_skipped(rc_get(cue, id)));
    cr_assert_eq(tu_stats(cue).skipped, 0);
}

Test(staleness, without_is_stale_everything_runs)
{
    install_hooks(false);
    tu_submit(cue, "t", "{\"valid\":1}");
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(O.stale_calls, 0);
    cr_assert_eq(task.calls, 2);
    cr_assert_eq(tu_stats(cue).skipped, 0);
}

Test(staleness, is_stale_decides_per_work_in_a_mixed_batch)
{
    rc_work_id ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = tu_submit(cue, "t", (i % 2 == 0) ? "{\"valid\":1}" : "{\"valid\":0}");
    tu_run(loop);
    cr_assert_eq(task.calls, 5);
    for (int i = 0; i < 10; i++) {
        const rc_work *w = rc_get(cue, ids[i]);
        cr_assert_eq(rc_work_state(w), RC_COMPLETED);
        cr_assert_eq(rc_work_skipped(w), i % 2 == 0, "work %d", i);
        if (i % 2 == 1)
            cr_assert_geq(tu_task_index(&task, ids[i]), 0, "stale work %d ran", i);
        else
            cr_assert_eq(tu_task_index(&task, ids[i]), -1, "valid work %d did not run", i);
    }
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.skipped, 5);
    cr_assert_eq(s.completed, 5);
}

Test(staleness, skip_emits_a_skipped_event_and_no_start_or_complete)
{
    O.value = 0;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    rc_event_kind kinds[8];
    size_t n = tu_rec_events_for(rec, id, kinds, 8);
    cr_assert_eq(n, 2, "expected queued, skipped; got %zu events", n);
    cr_assert_eq(kinds[0], RC_EV_QUEUED);
    cr_assert_eq(kinds[1], RC_EV_SKIPPED);
}

Test(staleness, skipped_work_does_not_use_a_rate_slot_or_concurrency)
{
    /* One start per minute: if skips consumed the slot, the stale work would
     * wait a minute. */
    cr_assert_eq(rc_service(cue, "api", "1/min", 1), RC_OK);
    tu_task api = {.delay_s = 1};
    cr_assert_eq(rc_task(cue, "call", "api", tu_handler, &api), RC_OK);
    tu_submit(cue, "call", "{\"valid\":1}");
    tu_submit(cue, "call", "{\"valid\":1}");
    rc_work_id stale = tu_submit(cue, "call", "{\"valid\":0}");
    tu_run(loop);
    cr_assert_eq(api.calls, 1);
    cr_assert_eq(api.ids[0], stale);
    cr_assert_eq(api.starts[0], 0, "the stale work starts at once");
    rc_service_info info;
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.started, 1);
    cr_assert_eq(info.completed, 1);
}

Test(staleness, not_ready_work_is_neither_run_nor_skipped)
{
    O.not_ready = true;
    O.value = 0;
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    cr_assert_not(rc_work_skipped(rc_get(cue, id)));
    cr_assert_eq(rec->skips, 0);
    /* Once ready, its valid output makes it a skip. */
    O.not_ready = false;
    rc_artifacts_changed(cue, NULL);
    tu_run(loop);
    cr_assert(rc_work_skipped(rc_get(cue, id)));
    cr_assert_eq(task.calls, 0);
}

Test(staleness, queued_work_is_skipped_if_its_output_became_valid_before_it_starts)
{
    cr_assert_eq(rc_service(cue, "knife", NULL, 1), RC_OK);
    tu_task slow = {.delay_s = 10};
    cr_assert_eq(rc_task(cue, "slice", "knife", tu_handler, &slow), RC_OK);
    rc_work_id first = tu_submit(cue, "slice", NULL);
    rc_work_id second = tu_submit(cue, "slice", NULL);
    tu_run_until(loop, 5.0);
    cr_assert_eq(slow.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, second)), RC_PENDING);
    /* Someone else produced the second's output meanwhile. */
    O.value = 0;
    cr_assert_eq(rc_artifacts_changed(cue, NULL), RC_OK);
    tu_run(loop);
    cr_assert_eq(slow.calls, 1, "the second is skipped, not run");
    cr_assert_eq(rc_work_state(rc_get(cue, first)), RC_COMPLETED);
    cr_assert_not(rc_work_skipped(rc_get(cue, first)));
    cr_assert(rc_work_skipped(rc_get(cue, second)));
    cr_assert_eq(tu_stats(cue).skipped, 1);
    cr_assert_eq(tu_stats(cue).completed, 1);
}

/* Resubmitting finished work after a restart: only what is missing runs. */
Test(staleness, resubmitting_everything_runs_only_the_missing_outputs)
{
    bool done[6] = {false};
    rc_work_id ids[6];
    /* First run: all 6 stale.  Mark their outputs done in the test. */
    for (int i = 0; i < 6; i++)
        ids[i] = tu_submit(cue, "t", "{\"valid\":0}");
    tu_run(loop);
    cr_assert_eq(task.calls, 6);
    for (int i = 0; i < 6; i++)
        done[i] = rc_work_state(rc_get(cue, ids[i])) == RC_COMPLETED;
    /* Output 2 and 4 are lost; resubmit all six. */
    for (int i = 0; i < 6; i++)
        tu_submit(cue, "t", (done[i] && i != 2 && i != 4) ? "{\"valid\":1}" : "{\"valid\":0}");
    tu_run(loop);
    cr_assert_eq(task.calls, 8);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.skipped, 4);
    cr_assert_eq(s.completed, 8);
}

/* A skip of work that declares `produces` announces those keys. */
static int consumer_ready(rc_cue *c, const rc_work *w, rc_check *check, void *ud)
{
    (void)c;
    (void)ud;
    O.ready_calls++;
    if (!tu_param_str(w, "needs")) return 1;
    rc_check_wait_on(check, tu_param_str(w, "needs"));
    return O.not_ready ? 0 : 1;
}

Test(staleness, skip_announces_the_declared_produces_keys)
{
    rc_hooks h = tu_rec_hooks(rec);
    h.is_stale = oracle_is_stale;
    h.is_ready = consumer_ready;
    rc_cue_set_hooks(cue, &h);
    O.not_ready = true;
    rc_work_id consumer = tu_submit(cue, "t", "{\"needs\":\"out\",\"valid\":0}");
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, consumer)), RC_PENDING);
    O.not_ready = false; /* the artifact exists: whoever "produces" it is skipped */
    static const char *const produces[] = {"out"};
    rc_submit_opts o = {.params = tu_json("{\"valid\":1}"), .produces = produces, .n_produces = 1};
    rc_work_id producer = tu_submit_opts(cue, "t", &o);
    tu_run(loop);
    cr_assert(rc_work_skipped(rc_get(cue, producer)));
    cr_assert_eq(rc_work_state(rc_get(cue, consumer)), RC_COMPLETED,
                 "the skip announced 'out', so the consumer was rechecked and ran");
}

Test(staleness, is_stale_sees_the_work_params)
{
    O.value = 1;
    rc_work_id keep = tu_submit(cue, "t", "{\"valid\":1}");
    rc_work_id run = tu_submit(cue, "t", "{\"valid\":0}");
    tu_run(loop);
    cr_assert(rc_work_skipped(rc_get(cue, keep)));
    cr_assert_not(rc_work_skipped(rc_get(cue, run)));
    cr_assert_eq(task.calls, 1);
    cr_assert_eq(task.ids[0], run);
}
