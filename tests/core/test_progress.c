/* test_progress.c -- rc_progress from the loop thread and from others, the
 * progress event, result states and times in rc_work_get_info. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;
static rc_token held;
static int progress_events;
static double last_fraction;
static char last_message[RC_PROGRESS_MSG_MAX];

static void hold(rc_cue *c, const rc_work *w, rc_token tok, void *ud)
{
    (void)c;
    (void)w;
    (void)ud;
    held = tok;
}

static void on_event(rc_cue *c, const rc_event *ev, void *ud)
{
    (void)c;
    (void)ud;
    if (ev->kind != RC_EV_PROGRESS) return;
    progress_events++;
    last_fraction = ev->progress;
    snprintf(last_message, sizeof last_message, "%s", ev->detail);
}

static void setup(void)
{
    tu_open(&loop, &cue, NULL);
    cr_assert_eq(rc_task(cue, "t", NULL, hold, NULL), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.on_event = on_event});
    progress_events = 0;
}

static void teardown(void)
{
    tu_close(loop, cue);
}

TestSuite(progress, .init = setup, .fini = teardown);

Test(progress, is_kept_on_the_work_and_sent_as_an_event)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    rc_work_info in;
    rc_work_get_info(rc_get(cue, id), &in);
    cr_assert_eq(in.status, RC_ST_PENDING);
    cr_assert_eq(in.progress, -1);
    tu_run(loop);
    rc_work_get_info(rc_get(cue, id), &in);
    cr_assert_eq(in.status, RC_ST_STARTED);
    cr_assert_eq(in.started_at, 0);
    cr_assert_eq(in.finished_at, -1);
    cr_assert_eq(rc_progress(cue, held, 0.25, "a quarter"), 0);
    cr_assert_eq(progress_events, 1);
    cr_assert_float_eq(last_fraction, 0.25, 1e-12);
    cr_assert_str_eq(last_message, "a quarter");
    rc_work_get_info(rc_get(cue, id), &in);
    cr_assert_float_eq(in.progress, 0.25, 1e-12);
    cr_assert_str_eq(in.progress_message, "a quarter");
    cr_assert_eq(rc_progress(cue, held, 1.5, NULL), RC_EINVAL);
    cr_assert_eq(rc_progress(cue, held, 0.0 / 0.0, NULL), RC_EINVAL);
    cr_assert_eq(progress_events, 1);
    cr_assert_str_eq(rc_event_name(RC_EV_PROGRESS), "progress");

    cr_assert_eq(rc_complete(cue, held, cJSON_CreateString("ok")), 0);
    cr_assert_eq(rc_progress(cue, held, 0.5, "late"), RC_ESTALE);
    cr_assert_eq(progress_events, 1);
    rc_work_get_info(rc_get(cue, id), &in);
    cr_assert_eq(in.status, RC_ST_COMPLETED);
    cr_assert(in.ready);
    cr_assert_eq(in.progress, -1);
    cr_assert_str_eq(cJSON_GetStringValue(in.result), "ok");
    cr_assert_eq(in.attempts, 1);
    cr_assert_null(in.last_error);
}

Test(progress, a_long_message_is_cut)
{
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_assert_eq(rc_progress(cue, held, 0.5, big), 0);
    cr_assert_eq(strlen(last_message), RC_PROGRESS_MSG_MAX - 1);
}

static void *from_thread(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 4; i++)
        rc_progress(cue, held, i / 4.0, "step");
    rc_complete(cue, held, NULL);
    return NULL;
}

Test(progress, from_another_thread_is_posted_to_the_loop)
{
    rc_loop_free(loop);
    rc_cue_free(cue);
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), 0);
    cr_assert_eq(rc_cue_new(&cue, loop, NULL), 0);
    cr_assert_eq(rc_task(cue, "t", NULL, hold, NULL), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.on_event = on_event});
    rc_work_id id = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_NOWAIT), 1); /* started; holds the loop */
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, from_thread, NULL), 0);
    cr_assert_eq(rc_wait(cue, id, 10), 0);
    pthread_join(th, NULL);
    cr_assert_eq(progress_events, 4);
    cr_assert_float_eq(last_fraction, 1.0, 1e-12);
}

Test(progress, states_through_cancel_and_failure)
{
    rc_work_id a = tu_submit(cue, "t", NULL);
    rc_work_id b = tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_cancel(cue, b), 0);
    rc_work_info in;
    rc_work_get_info(rc_get(cue, b), &in);
    cr_assert_eq(in.status, RC_ST_CANCELLED);
    cr_assert(in.ready);
    cr_assert_eq(in.finished_at, 0);
    cr_assert_str_eq(rc_status_name(RC_ST_CANCELLED), "cancelled");
    tu_run(loop);
    tu_keepalive(loop, 2);
    tu_run(loop);
    cr_assert_eq(rc_fail(cue, held, "bad input"), 0);
    rc_work_get_info(rc_get(cue, a), &in);
    cr_assert_eq(in.status, RC_ST_FAILED);
    cr_assert_str_eq(in.last_error, "bad input");
    tu_assert_time_s(in.finished_at, 2.0);
    cr_assert_eq(rc_wait(cue, a, 0), 0); /* already finished */
}

/* A finished work's result shares room with what the running attempt
 * reported: after progress with a message and a remote status, the result
 * is there, the progress reads as none, and releasing the cue frees all
 * of it (LeakSanitizer says so in the ASan build). */
Test(progress, a_result_after_progress_and_remote_status_is_kept_whole)
{
    rc_work_id id = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(rc_progress(cue, held, 0.75, "three quarters"), RC_OK);
    cr_assert_eq(rc_work_set_remote_status(cue, id, "queued remotely"), RC_OK);
    cJSON *result = cJSON_CreateObject();
    cJSON_AddNumberToObject(result, "pages", 12);
    cr_assert_eq(rc_complete(cue, held, result), RC_OK);
    tu_run(loop);
    const rc_work *w = rc_get(cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED);
    const cJSON *pages = cJSON_GetObjectItemCaseSensitive(rc_work_result(w), "pages");
    cr_assert(cJSON_IsNumber(pages));
    cr_assert_eq(pages->valueint, 12);
    rc_work_info in;
    rc_work_get_info(w, &in);
    cr_assert_eq(in.status, RC_ST_COMPLETED);
    cr_assert_eq(in.progress, -1, "no progress once finished");
    cr_assert_str_eq(in.progress_message, "");
    cr_assert_eq(in.result, rc_work_result(w));
    /* A failed one has no result, whatever it reported. */
    rc_work_id other = tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(rc_progress(cue, held, 0.5, "half"), RC_OK);
    cr_assert_eq(rc_fail(cue, held, "broke"), RC_OK);
    tu_run(loop);
    cr_assert_null(rc_work_result(rc_get(cue, other)));
    rc_work_get_info(rc_get(cue, other), &in);
    cr_assert_null(in.result);
}
