/* test_canvas.c -- chain, group and chord (runcue_canvas.h) on the virtual
 * clock: results passed along, failure stops a chain with the failed step
 * as the diagnosis' root, cancel, retries inside a chord, result artifacts
 * freed when no longer needed, and waiting. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "runcue_canvas.h"
#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;

/* Finishing one second after the start, with a value computed at start. */
typedef struct later {
    rc_token tok;
    cJSON *result;
    const char *fail;
    bool retry;
} later;

static void finish_later_cb(rc_loop *l, void *arg)
{
    (void)l;
    later *x = arg;
    if (x->retry)
        rc_retry(cue, x->tok, x->fail);
    else if (x->fail)
        rc_fail(cue, x->tok, x->fail);
    else
        rc_complete(cue, x->tok, x->result);
    free(x);
}

static void finish_in(rc_token tok, cJSON *result, const char *fail, bool retry)
{
    later *x = calloc(1, sizeof *x);
    cr_assert_not_null(x);
    *x = (later){tok, result, fail, retry};
    cr_assert_eq(rc_loop_call_at(loop, rc_loop_now(loop) + rc_seconds(1), finish_later_cb, x), 0);
}

static double num(const rc_work *w, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rc_work_params(w), key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* add: x + y (+ previous) */
static void add(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)c;
    (void)ud;
    double v = num(w, "x", 0) + num(w, "y", 0) + num(w, RC_CHAIN_PARAM, 0);
    finish_in(tok, cJSON_CreateNumber(v), NULL, false);
}

/* mul: previous * k */
static void mul(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)c;
    (void)ud;
    finish_in(tok, cJSON_CreateNumber(num(w, RC_CHAIN_PARAM, 0) * num(w, "k", 1)), NULL, false);
}

/* collect: the results array as given, plus its sum */
static void collect(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)c;
    (void)ud;
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(rc_work_params(w), RC_CHORD_PARAM);
    double sum = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, rs) sum += e->valuedouble;
    finish_in(tok, cJSON_CreateNumber(sum), NULL, false);
}

static int flaky_calls;
/* flaky: fails (retryably) on its first attempt */
static void flaky(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)c;
    (void)ud;
    flaky_calls++;
    if (tok.attempt == 1)
        finish_in(tok, NULL, "flaky first attempt", true);
    else
        finish_in(tok, cJSON_CreateNumber(num(w, "x", 0)), NULL, false);
}

static void boom(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)c;
    (void)w;
    (void)ud;
    finish_in(tok, NULL, "boom", false);
}

static void setup(void)
{
    tu_open(&loop, &cue, NULL);
    cr_assert_eq(rc_service(cue, "cpu", NULL, 4), 0);
    cr_assert_eq(rc_task(cue, "add", "cpu", add, NULL), 0);
    cr_assert_eq(rc_task(cue, "mul", "cpu", mul, NULL), 0);
    cr_assert_eq(rc_task(cue, "collect", "cpu", collect, NULL), 0);
    cr_assert_eq(rc_task(cue, "flaky", "cpu", flaky, NULL), 0);
    cr_assert_eq(rc_task(cue, "boom", "cpu", boom, NULL), 0);
    flaky_calls = 0;
}

static void teardown(void)
{
    tu_close(loop, cue);
}

TestSuite(canvas, .init = setup, .fini = teardown);

static double result_num(rc_work_id id)
{
    const rc_work *w = rc_get(cue, id);
    cr_assert_not_null(w);
    const cJSON *r = rc_work_result(w);
    cr_assert(cJSON_IsNumber(r), "work %llu has no number result", (unsigned long long)id);
    return r->valuedouble;
}

Test(canvas, chain_passes_each_result_to_the_next_step)
{
    cJSON *p1 = tu_json("{\"x\": 1, \"y\": 2}"), *p2 = tu_json("{\"k\": 3}"),
          *p3 = tu_json("{\"x\": 10}");
    rc_sig steps[] = {{"add", p1, NULL}, {"mul", p2, NULL}, {"add", p3, "last"}};
    rc_flow f;
    cr_assert_eq(rc_chain(cue, "calc", steps, 3, &f), 0);
    cJSON_Delete(p1);
    cJSON_Delete(p2);
    cJSON_Delete(p3);
    cr_assert_eq(f.n, 3);
    cr_assert_str_eq(f.keys[0], "calc/0");
    cr_assert_str_eq(f.keys[2], "calc/2");
    cr_assert_eq(f.result, f.ids[2]);
    cr_assert_eq(rc_flow_status(cue, &f), RC_ST_PENDING);
    cr_assert_eq(rc_flow_wait(cue, &f, -1), 0);
    cr_assert_eq(rc_flow_status(cue, &f), RC_ST_COMPLETED);
    /* (1 + 2) * 3 + 10, one step a second */
    cr_assert_eq(result_num(f.ids[0]), 3);
    cr_assert_eq(result_num(f.ids[1]), 9);
    cr_assert_eq(result_num(f.result), 19);
    tu_assert_time_s(rc_loop_now(loop), 3.0);
    /* The step's params hold what it received, under the documented key. */
    const cJSON *prev =
        cJSON_GetObjectItemCaseSensitive(rc_work_params(rc_get(cue, f.ids[1])), RC_CHAIN_PARAM);
    cr_assert(cJSON_IsNumber(prev) && prev->valuedouble == 3);
    cr_assert_str_eq(rc_work_label(rc_get(cue, f.ids[2])), "last");
    cr_assert_str_eq(rc_work_label(rc_get(cue, f.ids[0])), "calc/0");
    /* Every result artifact was needed by one step, which finished: none kept. */
    for (size_t i = 0; i < f.n; i++)
        cr_assert_null(rc_result_artifact(cue, f.keys[i]));
    rc_flow_free(&f);
}

Test(canvas, group_runs_its_steps_in_parallel)
{
    cJSON *p[3] = {tu_json("{\"x\": 1, \"y\": 2}"), tu_json("{\"x\": 3, \"y\": 4}"),
                   tu_json("{\"x\": 5, \"y\": 6}")};
    rc_sig steps[] = {{"add", p[0], NULL}, {"add", p[1], NULL}, {"add", p[2], NULL}};
    rc_flow f;
    cr_assert_eq(rc_group(cue, "g", steps, 3, &f), 0);
    for (int i = 0; i < 3; i++)
        cJSON_Delete(p[i]);
    cr_assert_eq(f.result, 0);
    cr_assert_eq(rc_flow_wait(cue, &f, 10), 0);
    tu_assert_time_s(rc_loop_now(loop), 1.0); /* all three at once */
    cr_assert_eq(result_num(f.ids[0]), 3);
    cr_assert_eq(result_num(f.ids[1]), 7);
    cr_assert_eq(result_num(f.ids[2]), 11);
    rc_flow_free(&f);
}

Test(canvas, chord_callback_gets_the_ordered_results)
{
    cJSON *p[3] = {tu_json("{\"x\": 1, \"y\": 2}"), tu_json("{\"x\": 3, \"y\": 4}"),
                   tu_json("{\"x\": 5, \"y\": 6}")};
    rc_sig header[] = {{"add", p[0], NULL}, {"add", p[1], NULL}, {"add", p[2], NULL}};
    rc_sig cb = {"collect", NULL, "sum"};
    rc_flow f;
    cr_assert_eq(rc_chord(cue, "ch", header, 3, &cb, &f), 0);
    for (int i = 0; i < 3; i++)
        cJSON_Delete(p[i]);
    cr_assert_eq(f.n, 4);
    cr_assert_eq(f.result, f.ids[3]);
    /* While the callback waits, the header's results are kept. */
    tu_run_until(loop, 1.5);
    cr_assert_not_null(rc_result_artifact(cue, "ch/1"));
    cr_assert_eq(rc_result_artifact(cue, "ch/1")->valuedouble, 7);
    cr_assert_eq(rc_wait(cue, f.result, -1), 0);
    cr_assert_eq(result_num(f.result), 21);
    char *got = cJSON_PrintUnformatted(
        cJSON_GetObjectItemCaseSensitive(rc_work_params(rc_get(cue, f.result)), RC_CHORD_PARAM));
    cr_assert_str_eq(got, "[3,7,11]");
    free(got);
    /* The callback finished: the artifacts it needed are freed. */
    for (size_t i = 0; i < f.n; i++)
        cr_assert_null(rc_result_artifact(cue, f.keys[i]));
    rc_flow_free(&f);
}

Test(canvas, a_failed_step_stops_the_chain_and_is_the_root)
{
    rc_sig steps[] = {
        {"add", NULL, NULL}, {"boom", NULL, NULL}, {"mul", NULL, NULL}, {"mul", NULL, NULL}};
    rc_flow f;
    cr_assert_eq(rc_chain(cue, "c", steps, 4, &f), 0);
    cr_assert_eq(rc_flow_wait(cue, &f, -1), RC_EBLOCKED);
    cr_assert_eq(rc_flow_status(cue, &f), RC_ST_FAILED);
    rc_work_info in;
    rc_work_get_info(rc_get(cue, f.ids[1]), &in);
    cr_assert_eq(in.status, RC_ST_FAILED);
    cr_assert_str_eq(in.last_error, "boom");
    rc_work_get_info(rc_get(cue, f.ids[2]), &in);
    cr_assert_eq(in.status, RC_ST_PENDING);
    cr_assert_eq(in.started_at, -1);

    rc_diagnosis d;
    cr_assert_eq(rc_diagnose(cue, &d), 0);
    cr_assert_eq(d.n_failed_roots, 1);
    cr_assert_eq(d.failed_roots[0], f.ids[1]);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    rc_diagnosis_print(cue, &d, 20, out);
    fclose(out);
    cr_assert(strstr(text, "Root cause: boom #2 [c/1] failed (boom)"), "%s", text);
    free(text);
    rc_diagnosis_free(cue, &d);

    /* Cancelling the workflow cancels what never started. */
    size_t n = 0;
    cr_assert_eq(rc_flow_cancel(cue, &f, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rc_flow_wait(cue, &f, -1), 0);
    cr_assert_eq(tu_stats(cue).pending, 0);
    rc_flow_free(&f);
}

Test(canvas, cancel_leaves_running_steps_and_cancels_the_rest)
{
    rc_sig steps[] = {{"add", NULL, NULL}, {"mul", NULL, NULL}, {"mul", NULL, NULL}};
    rc_flow f;
    cr_assert_eq(rc_chain(cue, "c", steps, 3, &f), 0);
    tu_run_until(loop, 0.5);
    size_t n = 0;
    cr_assert_eq(rc_flow_cancel(cue, &f, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(rc_flow_wait(cue, &f, -1), 0);
    rc_work_info in;
    rc_work_get_info(rc_get(cue, f.ids[0]), &in);
    cr_assert_eq(in.status, RC_ST_COMPLETED); /* it was running: it finished */
    rc_work_get_info(rc_get(cue, f.ids[2]), &in);
    cr_assert_eq(in.status, RC_ST_CANCELLED);
    cr_assert_eq(rc_flow_status(cue, &f), RC_ST_CANCELLED);
    /* Nothing keeps step 0's result: its consumer was cancelled. */
    cr_assert_null(rc_result_artifact(cue, "c/0"));
    rc_flow_free(&f);
}

Test(canvas, a_retry_inside_a_chord_still_reaches_the_callback)
{
    cr_assert_eq(
        rc_task_retry(cue, "flaky", &(rc_retry_policy){.max_attempts = 3, .base_s = 2, .seed = 1}),
        0);
    cJSON *p0 = tu_json("{\"x\": 1}"), *p1 = tu_json("{\"x\": 2}");
    rc_sig header[] = {{"flaky", p0, NULL}, {"flaky", p1, NULL}};
    rc_sig cb = {"collect", NULL, NULL};
    rc_flow f;
    cr_assert_eq(rc_chord(cue, "r", header, 2, &cb, &f), 0);
    cJSON_Delete(p0);
    cJSON_Delete(p1);
    /* Between the attempts the step is retrying, with its error. */
    tu_run_until(loop, 1.5);
    rc_work_info in;
    rc_work_get_info(rc_get(cue, f.ids[0]), &in);
    cr_assert_eq(in.status, RC_ST_RETRYING);
    cr_assert_eq(in.attempts, 2);
    cr_assert_str_eq(in.last_error, "flaky first attempt");
    cr_assert_str_eq(rc_status_name(in.status), "retrying");
    cr_assert_eq(rc_flow_wait(cue, &f, 60), 0);
    cr_assert_eq(flaky_calls, 4);
    cr_assert_eq(result_num(f.result), 3);
    /* attempt 1 ends at 1 s, backoff 2 s, attempt 2 ends at 4 s, callback at 5 s */
    tu_assert_time_s(rc_loop_now(loop), 5.0);
    rc_flow_free(&f);
}

Test(canvas, a_failed_chord_step_blocks_the_callback)
{
    rc_sig header[] = {{"add", NULL, NULL}, {"boom", NULL, NULL}};
    rc_sig cb = {"collect", NULL, NULL};
    rc_flow f;
    cr_assert_eq(rc_chord(cue, "x", header, 2, &cb, &f), 0);
    cr_assert_eq(rc_flow_wait(cue, &f, 100), RC_EBLOCKED);
    cr_assert(strstr(rc_cue_errmsg(cue), "work can never finish: nothing is left to happen"), "%s",
              rc_cue_errmsg(cue));
    rc_diagnosis d;
    cr_assert_eq(rc_diagnose(cue, &d), 0);
    cr_assert_eq(d.n_failed_roots, 1);
    cr_assert_eq(d.failed_roots[0], f.ids[1]);
    rc_diagnosis_free(cue, &d);
    /* The first step's result is kept: the callback still needs it. */
    cr_assert_not_null(rc_result_artifact(cue, "x/0"));
    rc_flow_free(&f);
}

Test(canvas, a_bad_step_submits_nothing)
{
    rc_sig steps[] = {{"add", NULL, NULL}, {"nope", NULL, NULL}};
    rc_flow f;
    cr_assert_eq(rc_chain(cue, "bad", steps, 2, &f), RC_ENOENT);
    cr_assert_eq(f.n, 0);
    cr_assert_null(f.ids);
    tu_run(loop);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 0);
    cr_assert_eq(s.pending, 0);
    cr_assert_eq(rc_chain(cue, "", steps, 1, &f), RC_EINVAL);
    cr_assert_eq(rc_chain(cue, "n", steps, 0, &f), RC_EINVAL);
    cr_assert_eq(rc_chord(cue, "n", steps, 1, NULL, &f), RC_EINVAL);
    cJSON *arr = tu_json("[1]");
    rc_sig bad_params[] = {{"add", NULL, NULL}, {"mul", arr, NULL}};
    cr_assert_eq(rc_chain(cue, "n", bad_params, 2, &f), RC_EINVAL);
    cJSON_Delete(arr);
}

Test(canvas, wait_times_out_on_the_loops_clock)
{
    rc_sig steps[] = {{"add", NULL, NULL}, {"add", NULL, NULL}};
    rc_flow f;
    cr_assert_eq(rc_chain(cue, "t", steps, 2, &f), 0);
    cr_assert_eq(rc_flow_wait(cue, &f, 1.5), RC_ETIMEDOUT);
    cr_assert_str_eq(rc_cue_errmsg(cue), "wait: 1 of 2 work not finished after 1.5 s");
    tu_assert_time_s(rc_loop_now(loop), 1.5);
    cr_assert_eq(rc_flow_status(cue, &f), RC_ST_STARTED);
    cr_assert_eq(rc_flow_wait(cue, &f, 1.5), 0);
    tu_assert_time_s(rc_loop_now(loop), 2.0);
    cr_assert_eq(rc_wait(cue, 999, 1), RC_ENOENT);
    cr_assert_str_eq(rc_cue_errmsg(cue), "wait: no work 999 in this cue (never submitted to it, "
                                         "or forgotten after it finished)");
    rc_flow_free(&f);
}

static int done_calls;
static void on_done(rc_cue *c, void *ud)
{
    (void)c;
    done_calls++;
    *(rc_time *)ud = rc_loop_now(loop);
}

Test(canvas, the_waiter_calls_back_once_all_are_finished)
{
    rc_sig steps[] = {{"add", NULL, NULL}, {"add", NULL, NULL}, {"add", NULL, NULL}};
    rc_flow f;
    cr_assert_eq(rc_chain(cue, "w", steps, 3, &f), 0);
    rc_waiter wt = {0};
    rc_time when = -1;
    done_calls = 0;
    cr_assert_eq(rc_waiter_start(&wt, cue, f.ids, f.n, on_done, &when), 0);
    cr_assert_eq(rc_waiter_start(&wt, cue, f.ids, f.n, on_done, &when), RC_ESTATE);
    cr_assert_str_eq(rc_cue_errmsg(cue), "wait: the waiter is already waiting");
    tu_run(loop);
    cr_assert_eq(done_calls, 1);
    tu_assert_time_s(when, 3.0);
    /* Already finished: called back at the end of the next iteration. */
    cr_assert_eq(rc_waiter_start(&wt, cue, f.ids, 1, on_done, &when), 0);
    cr_assert_eq(done_calls, 1);
    tu_run(loop);
    cr_assert_eq(done_calls, 2);
    /* Cancelled: never called. */
    rc_flow f2;
    cr_assert_eq(rc_chain(cue, "w2", steps, 1, &f2), RC_OK);
    rc_waiter wt2 = {0};
    cr_assert_eq(rc_waiter_start(&wt2, cue, f2.ids, f2.n, on_done, &when), 0);
    rc_waiter_cancel(&wt2);
    tu_run(loop);
    cr_assert_eq(done_calls, 2);
    rc_flow_free(&f);
    rc_flow_free(&f2);
}

/* A chord's callback declares every header step's key: a header longer than
 * a work may declare is refused before anything is submitted. */
Test(canvas, chord_with_more_header_steps_than_a_work_declares_is_refused)
{
    enum { N = RC_MAX_DECLARED + 1 };
    rc_sig *header = calloc(N, sizeof *header);
    cr_assert_not_null(header);
    for (size_t i = 0; i < N; i++)
        header[i] = (rc_sig){"add", NULL, NULL};
    rc_sig cb = {"collect", NULL, NULL};
    rc_flow f;
    cr_assert_eq(rc_chord(cue, "big", header, N, &cb, &f), RC_EINVAL);
    cr_assert_eq(f.n, 0);
    cr_assert_null(f.ids);
    rc_stats st;
    rc_cue_stats(cue, &st);
    cr_assert_eq(st.submitted, 0, "nothing was submitted");
    free(header);
}
