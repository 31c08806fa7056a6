/* test_execution.c -- handlers, tokens, synchronous and asynchronous finishes. */
#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;

static void setup(void)
{
    tu_open(&loop, &cue, NULL);
}

static void teardown(void)
{
    tu_close(loop, cue);
}

TestSuite(execution, .init = setup, .fini = teardown);

/* A handler that records what it was given and completes at once. */
typedef struct seen {
    int calls;
    rc_work_id id;
    rc_token tok;
    char task[64];
    char params[256];
    unsigned attempt;
    rc_state state;
    rc_time started;
} seen;

static void recording_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    seen *s = ud;
    s->calls++;
    s->id = rc_work_get_id(w);
    s->tok = tok;
    snprintf(s->task, sizeof s->task, "%s", rc_work_task(w));
    char *p = cJSON_PrintUnformatted(rc_work_params(w));
    snprintf(s->params, sizeof s->params, "%s", p ? p : "(null)");
    cJSON_free(p);
    s->attempt = rc_work_attempt(w);
    s->state = rc_work_state(w);
    s->started = rc_work_started(w);
    rc_complete(c, tok, NULL);
}

Test(execution, handler_receives_the_work_params_task_and_first_attempt)
{
    seen s = {0};
    cr_assert_eq(rc_task(cue, "extract_text", NULL, recording_handler, &s), RC_OK);
    rc_work_id id =
        tu_submit(cue, "extract_text",
                  "{\"page_path\":\"/data/page-001.png\",\"settings\":{\"language\":\"en\"}}");
    tu_run(loop);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.id, id);
    cr_assert_str_eq(s.task, "extract_text");
    cr_assert_str_eq(s.params,
                     "{\"page_path\":\"/data/page-001.png\",\"settings\":{\"language\":\"en\"}}");
    cr_assert_eq(s.attempt, 1);
    cr_assert_eq(s.state, RC_RUNNING, "the handler sees its work running");
    cr_assert_eq(s.tok.work_id, id, "the token names the work");
    cr_assert_eq(s.tok.attempt, 1);
}

Test(execution, work_without_params_gets_an_empty_object)
{
    seen s = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, recording_handler, &s), RC_OK);
    cr_assert_eq(rc_submit(cue, "t", NULL, NULL), RC_OK);
    tu_run(loop);
    cr_assert_eq(s.calls, 1);
    cr_assert_str_eq(s.params, "{}");
}

Test(execution, work_is_not_started_before_the_loop_runs)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    cr_assert_eq(t.calls, 0, "submit must not call the handler");
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    cr_assert_eq(rc_work_started(rc_get(cue, id)), -1);
    tu_run(loop);
    cr_assert_eq(t.calls, 1);
}

Test(execution, synchronous_completion_stores_the_result)
{
    tu_task t = {.echo = true};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", "{\"n\":42}");
    int rc = rc_loop_run(loop, RC_RUN_DEFAULT);
    cr_assert_eq(rc, 0, "the loop goes idle once the work is done");
    cr_assert_eq(t.last_finish_rc, RC_OK);
    const rc_work *w = rc_get(cue, id);
    cr_assert_not_null(w);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert_not(rc_work_skipped(w));
    const cJSON *res = rc_work_result(w);
    cr_assert_not_null(res);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(res, "n");
    cr_assert(cJSON_IsNumber(n));
    cr_assert_eq(n->valueint, 42);
    cr_assert_null(rc_work_error(w));
    cr_assert_eq(rc_work_finished(w), 0, "finished at virtual time 0");
    cr_assert_eq(tu_now_s(loop), 0.0, "a synchronous run takes no virtual time");
    tu_assert_settled(cue, (tu_settled){.submitted = 1, .completed = 1});
}

Test(execution, asynchronous_completion_keeps_work_running_until_finished)
{
    tu_task t = {.delay_s = 2.5};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run_until(loop, 1.0);
    cr_assert_eq(t.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_RUNNING);
    cr_assert_eq(tu_stats(cue).running, 1);
    cr_assert_eq(rc_work_finished(rc_get(cue, id)), -1);

    tu_run(loop);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert_eq(rc_work_started(w), 0);
    cr_assert_eq(rc_work_finished(w), rc_seconds(2.5));
    cr_assert_eq(rc_loop_now(loop), rc_seconds(2.5), "time jumped straight to the finish");
    cr_assert_eq(tu_stats(cue).running, 0);
}

Test(execution, handler_failure_marks_work_failed_with_the_message)
{
    tu_task t = {.fail = "vision API said no"};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.last_finish_rc, RC_OK);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_FAILED);
    cr_assert_not_null(rc_work_error(w));
    cr_assert_str_eq(rc_work_error(w), "vision API said no");
    cr_assert_null(rc_work_result(w));
    cr_assert_neq(rc_work_finished(w), -1);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.completed, 0);
}

Test(execution, asynchronous_failure_marks_work_failed_later)
{
    tu_task t = {.fail = "timeout upstream", .delay_s = 3};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_FAILED);
    cr_assert_str_eq(rc_work_error(w), "timeout upstream");
    cr_assert_eq(rc_work_finished(w), rc_seconds(3));
}

/* Finishes twice; records both return codes. */
typedef struct twice {
    int first, second, third;
    bool fail_first;
} twice;

static void double_finish_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)w;
    twice *t = ud;
    if (t->fail_first)
        t->first = rc_fail(c, tok, "first");
    else
        t->first = rc_complete(c, tok, cJSON_CreateString("first"));
    t->second = rc_complete(c, tok, NULL);
    t->third = rc_fail(c, tok, "again");
}

Test(execution, second_finish_is_refused_with_estale_and_changes_nothing)
{
    twice t = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, double_finish_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.first, RC_OK);
    cr_assert_eq(t.second, RC_ESTALE);
    cr_assert_eq(t.third, RC_ESTALE);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    cr_assert(cJSON_IsString(rc_work_result(w)));
    cr_assert_str_eq(cJSON_GetStringValue(rc_work_result(w)), "first");
    cr_assert_null(rc_work_error(w));
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.failed, 0);
    cr_assert_eq(s.stale_finishes, 2);
}

Test(execution, complete_after_fail_is_refused_and_work_stays_failed)
{
    twice t = {.fail_first = true};
    cr_assert_eq(rc_task(cue, "t", NULL, double_finish_handler, &t), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.first, RC_OK);
    cr_assert_eq(t.second, RC_ESTALE);
    cr_assert_eq(t.third, RC_ESTALE);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_FAILED);
    cr_assert_str_eq(rc_work_error(rc_get(cue, id)), "first");
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 0);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.stale_finishes, 2);
}

/* Remembers the token; the test finishes it after the loop went idle. */
static rc_token saved_tok;
static void save_token_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)w;
    (void)ud;
    saved_tok = tok;
    rc_complete(c, tok, NULL);
}

Test(execution, finishing_a_finished_work_from_outside_a_handler_is_estale)
{
    cr_assert_eq(rc_task(cue, "t", NULL, save_token_handler, NULL), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(saved_tok.work_id, id);
    cr_assert_eq(rc_complete(cue, saved_tok, NULL), RC_ESTALE);
    cr_assert_eq(rc_fail(cue, saved_tok, "late"), RC_ESTALE);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
    cr_assert_eq(tu_stats(cue).completed, 1);
    cr_assert_eq(tu_stats(cue).stale_finishes, 2);
    /* A token for work that never existed is refused too. */
    rc_token bogus = {.work_id = 999, .attempt = 1};
    cr_assert_lt(rc_complete(cue, bogus, NULL), 0);
}

static void retry_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)w;
    int *calls = ud;
    (*calls)++;
    rc_retry(c, tok, "flaky");
}

Test(execution, retry_without_a_policy_is_a_plain_failure)
{
    int calls = 0;
    cr_assert_eq(rc_task(cue, "t", NULL, retry_handler, &calls), RC_OK);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(calls, 1, "no policy: no second attempt");
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_FAILED);
    cr_assert_str_eq(rc_work_error(w), "flaky");
    cr_assert_eq(rc_work_attempt(w), 1);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.failed, 1);
    cr_assert_eq(s.retries, 0);
}

Test(execution, every_submitted_work_runs_exactly_once)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    for (int i = 0; i < 100; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.calls, 100);
    bool seen_id[101] = {false};
    for (size_t i = 0; i < t.n; i++) {
        cr_assert(t.ids[i] >= 1 && t.ids[i] <= 100);
        cr_assert_not(seen_id[t.ids[i]], "work %llu started twice", (unsigned long long)t.ids[i]);
        seen_id[t.ids[i]] = true;
    }
    tu_assert_settled(cue, (tu_settled){.submitted = 100, .completed = 100});
}

Test(execution, unlimited_work_with_async_handlers_all_runs_at_once)
{
    tu_task t = {.delay_s = 1};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    for (int i = 0; i < 50; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.max_running, 50, "no service: no concurrency limit");
    cr_assert_eq(rc_loop_now(loop), rc_seconds(1));
    cr_assert_eq(tu_stats(cue).completed, 50);
}

/* Reads the params only when finishing, long after the handler returned:
 * `work` must stay valid until the finish. */
typedef struct late_reader {
    rc_cue *cue;
    const rc_work *work;
    rc_token tok;
    char seen[64];
} late_reader;

static void late_read_fire(rc_loop *l, void *arg)
{
    (void)l;
    late_reader *r = arg;
    const char *v = tu_param_str(r->work, "name");
    snprintf(r->seen, sizeof r->seen, "%s", v ? v : "(null)");
    rc_complete(r->cue, r->tok, NULL);
}

static void late_read_handler(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    late_reader *r = ud;
    r->cue = c;
    r->work = w;
    r->tok = tok;
    rc_loop *l = rc_cue_loop(c);
    cr_assert_eq(rc_loop_call_at(l, rc_loop_now(l) + rc_seconds(5), late_read_fire, r), RC_OK);
}

Test(execution, work_stays_valid_until_the_handler_finishes_it)
{
    late_reader r = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, late_read_handler, &r), RC_OK);
    tu_submit(cue, "t", "{\"name\":\"page-7\"}");
    /* More work submitted meanwhile must not disturb the running item. */
    tu_task other = {0};
    cr_assert_eq(rc_task(cue, "u", NULL, tu_handler, &other), RC_OK);
    for (int i = 0; i < 20; i++)
        tu_submit(cue, "u", NULL);
    tu_run(loop);
    cr_assert_str_eq(r.seen, "page-7");
    cr_assert_eq(other.calls, 20);
}

Test(execution, paused_cue_starts_nothing_until_resumed)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_cue_pause(cue, true);
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.calls, 0);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    rc_cue_pause(cue, false);
    tu_run(loop);
    cr_assert_eq(t.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
}

Test(execution, delayed_work_does_not_start_before_its_delay)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &t), RC_OK);
    rc_submit_opts o = {.delay_s = 7.5};
    rc_work_id id = tu_submit_opts(cue, "t", &o);
    tu_run_until(loop, 7.0);
    cr_assert_eq(t.calls, 0);
    cr_assert_eq(tu_stats(cue).delayed, 1);
    tu_run(loop);
    cr_assert_eq(t.calls, 1);
    cr_assert_eq(t.starts[0], rc_seconds(7.5));
    cr_assert_eq(rc_work_started(rc_get(cue, id)), rc_seconds(7.5));
}

Test(execution, handlers_of_different_tasks_get_their_own_user_data)
{
    tu_task a = {0}, b = {0};
    cr_assert_eq(rc_task(cue, "a", NULL, tu_handler, &a), RC_OK);
    cr_assert_eq(rc_task(cue, "b", NULL, tu_handler, &b), RC_OK);
    tu_submit(cue, "a", NULL);
    tu_submit(cue, "b", NULL);
    tu_submit(cue, "b", NULL);
    tu_run(loop);
    cr_assert_eq(a.calls, 1);
    cr_assert_eq(b.calls, 2);
}
