/*
 * testutil.h -- helpers shared by the Criterion suites (header only).
 *
 * Everything here runs on a virtual clock: tests never sleep.  The pieces:
 *
 *   tu_loop_new / tu_cue_new   a virtual loop and a cue on it (assert on error)
 *   tu_task                    a handler context: counts calls, tracks how many
 *                              are running (and the peak), records start order
 *                              and times, and finishes each work synchronously
 *                              or after a virtual delay (via rc_loop_call_at)
 *   tu_rec                     recording hooks: on_start/on_complete/on_failure/
 *                              on_skip/on_event counters and an event log
 *   tu_submit / tu_params      submit with JSON params written as a string
 */
#ifndef RUNCUE_TESTUTIL_H
#define RUNCUE_TESTUTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runcue.h"

#define TU_MAX_LOG 1024

/* ------------------------------------------------------------------ */
/* Loop and cue                                                        */
/* ------------------------------------------------------------------ */

static inline rc_loop *tu_loop_new(void)
{
    rc_loop *loop = NULL;
    int rc = rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL});
    cr_assert_eq(rc, RC_OK, "rc_loop_new: %s", rc_strerror(rc));
    cr_assert_not_null(loop);
    return loop;
}

static inline rc_cue *tu_cue_new(rc_loop *loop, const rc_cue_opts *opts)
{
    rc_cue *cue = NULL;
    int rc = rc_cue_new(&cue, loop, opts);
    cr_assert_eq(rc, RC_OK, "rc_cue_new: %s", rc_strerror(rc));
    cr_assert_not_null(cue);
    return cue;
}

/* Run the loop until it goes idle; assert it did not fail. */
static inline void tu_run(rc_loop *loop)
{
    int rc = rc_loop_run(loop, RC_RUN_DEFAULT);
    cr_assert_geq(rc, 0, "rc_loop_run: %s", rc_strerror(rc));
}

/* Run the loop until the virtual clock reaches `seconds` (absolute). */
static inline void tu_run_until(rc_loop *loop, double seconds)
{
    int rc = rc_loop_run_until(loop, rc_seconds(seconds));
    cr_assert_geq(rc, 0, "rc_loop_run_until: %s", rc_strerror(rc));
}

static inline void tu_nothing(rc_loop *loop, void *arg)
{
    (void)loop;
    (void)arg;
}

/* Keep the loop alive (a referenced timer doing nothing) until `seconds`. */
static inline void tu_keepalive(rc_loop *loop, double seconds)
{
    int rc = rc_loop_call_at(loop, rc_seconds(seconds), tu_nothing, NULL);
    cr_assert_eq(rc, RC_OK, "rc_loop_call_at: %s", rc_strerror(rc));
}

static inline double tu_now_s(rc_loop *loop)
{
    return rc_to_seconds(rc_loop_now(loop));
}

static inline rc_stats tu_stats(const rc_cue *cue)
{
    rc_stats s;
    memset(&s, 0, sizeof s);
    rc_cue_stats(cue, &s);
    return s;
}

/* ------------------------------------------------------------------ */
/* Submitting work                                                     */
/* ------------------------------------------------------------------ */

/* Parse a JSON string (NULL: NULL) and assert it parsed. */
static inline cJSON *tu_json(const char *text)
{
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "bad JSON in test: %s", text);
    return j;
}

/* Submit work for `task` with params given as JSON text (NULL: none);
 * asserts success and returns the id. */
static inline rc_work_id tu_submit(rc_cue *cue, const char *task, const char *params_json)
{
    rc_submit_opts o;
    memset(&o, 0, sizeof o);
    o.params = tu_json(params_json);
    rc_work_id id = 0;
    int rc = rc_submit(cue, task, &o, &id);
    cr_assert_eq(rc, RC_OK, "rc_submit(%s): %s (%s)", task, rc_strerror(rc), rc_cue_errmsg(cue));
    cr_assert_gt(id, 0);
    return id;
}

/* Submit with an explicit options struct (params already set by the caller). */
static inline rc_work_id tu_submit_opts(rc_cue *cue, const char *task, const rc_submit_opts *o)
{
    rc_work_id id = 0;
    int rc = rc_submit(cue, task, o, &id);
    cr_assert_eq(rc, RC_OK, "rc_submit(%s): %s (%s)", task, rc_strerror(rc), rc_cue_errmsg(cue));
    return id;
}

/* A number from the work's params, or `dflt` if absent. */
static inline double tu_param_num(const rc_work *w, const char *key, double dflt)
{
    const cJSON *p = rc_work_params(w);
    const cJSON *v = p ? cJSON_GetObjectItemCaseSensitive(p, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* A string from the work's params, or NULL. */
static inline const char *tu_param_str(const rc_work *w, const char *key)
{
    const cJSON *p = rc_work_params(w);
    const cJSON *v = p ? cJSON_GetObjectItemCaseSensitive(p, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ------------------------------------------------------------------ */
/* A configurable task handler                                         */
/* ------------------------------------------------------------------ */

/*
 * Pass a tu_task as the handler's ud with tu_handler.  Zero-initialise it,
 * then set what the test needs:
 *   delay_s   virtual seconds from start to finish; a "delay" number in the
 *             work's params overrides it.  With delay 0 and !async the work
 *             finishes inside the handler (synchronously).
 *   async     finish through a timer even when the delay is 0.
 *   fail      non-NULL: finish with rc_fail(fail) instead of rc_complete.
 *   echo      complete with a copy of the params as the result.
 */
typedef struct tu_task {
    double delay_s;
    bool async;
    const char *fail;
    bool echo;

    int calls;       /* handler invocations */
    int running;     /* started and not yet finished through this helper */
    int max_running; /* peak of running */
    int finished;    /* finishes issued */
    int last_finish_rc;
    unsigned last_attempt;
    size_t n; /* entries in ids/starts (capped at TU_MAX_LOG) */
    rc_work_id ids[TU_MAX_LOG];
    rc_time starts[TU_MAX_LOG];
    rc_time ends[TU_MAX_LOG]; /* indexed like ids; set at finish */
} tu_task;

typedef struct tu_pending_finish {
    rc_cue *cue;
    rc_token tok;
    tu_task *task;
    cJSON *result;
    size_t slot;
} tu_pending_finish;

static inline void tu_task_finish(rc_cue *cue, rc_token tok, tu_task *t, cJSON *result, size_t slot)
{
    t->running--;
    t->finished++;
    if (slot < TU_MAX_LOG) t->ends[slot] = rc_loop_now(rc_cue_loop(cue));
    if (t->fail) {
        cJSON_Delete(result);
        t->last_finish_rc = rc_fail(cue, tok, t->fail);
    } else {
        t->last_finish_rc = rc_complete(cue, tok, result);
    }
}

static inline void tu_pending_fire(rc_loop *loop, void *arg)
{
    (void)loop;
    tu_pending_finish *p = arg;
    tu_task_finish(p->cue, p->tok, p->task, p->result, p->slot);
    free(p);
}

/* Finish `tok` at now + delay seconds through a loop timer. */
static inline void tu_finish_later(rc_cue *cue, rc_token tok, tu_task *t, cJSON *result,
                                   double delay_s, size_t slot)
{
    tu_pending_finish *p = malloc(sizeof *p);
    cr_assert_not_null(p);
    p->cue = cue;
    p->tok = tok;
    p->task = t;
    p->result = result;
    p->slot = slot;
    rc_loop *loop = rc_cue_loop(cue);
    int rc = rc_loop_call_at(loop, rc_loop_now(loop) + rc_seconds(delay_s), tu_pending_fire, p);
    cr_assert_eq(rc, RC_OK, "rc_loop_call_at: %s", rc_strerror(rc));
}

static inline void tu_handler(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    tu_task *t = ud;
    t->calls++;
    t->running++;
    if (t->running > t->max_running) t->max_running = t->running;
    t->last_attempt = tok.attempt;
    size_t slot = t->n;
    if (t->n < TU_MAX_LOG) {
        t->ids[t->n] = rc_work_get_id(w);
        t->starts[t->n] = rc_loop_now(rc_cue_loop(cue));
        t->n++;
    }
    double delay = tu_param_num(w, "delay", t->delay_s);
    cJSON *result = t->echo ? cJSON_Duplicate(rc_work_params(w), 1) : NULL;
    if (delay <= 0 && !t->async)
        tu_task_finish(cue, tok, t, result, slot);
    else
        tu_finish_later(cue, tok, t, result, delay, slot);
}

/* The position of `id` in the task's start order, or -1. */
static inline int tu_task_index(const tu_task *t, rc_work_id id)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i] == id) return (int)i;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Recording hooks                                                     */
/* ------------------------------------------------------------------ */

/*
 * tu_rec_hooks(rec) returns hooks whose notifications record into `rec`
 * (is_ready, is_stale and priority are left NULL for the test to set; they
 * receive the tu_rec as ud, and rec->user carries the test's own state).
 */
typedef struct tu_rec {
    void *user;

    int starts, completes, failures, skips, events;
    /* every event, in order */
    size_t n_events;
    rc_event_kind ev_kind[TU_MAX_LOG];
    rc_work_id ev_id[TU_MAX_LOG]; /* 0 for cue-wide events */
    rc_time ev_time[TU_MAX_LOG];
    double ev_duration[TU_MAX_LOG];
    bool ev_detail_null; /* set if any event had detail == NULL */
    /* on_start */
    size_t n_starts;
    rc_work_id start_id[TU_MAX_LOG];
    rc_time start_time[TU_MAX_LOG];
    rc_state start_state; /* state of the work seen by the last on_start */
    unsigned start_attempt;
    /* on_complete */
    size_t n_completes;
    rc_work_id complete_id[TU_MAX_LOG];
    double complete_duration[TU_MAX_LOG];
    char last_result[256]; /* the last result printed unformatted, "" if NULL */
    rc_state complete_state;
    /* on_failure */
    rc_work_id fail_id[TU_MAX_LOG];
    rc_fail_kind last_fail_kind;
    char last_error[256];
    rc_state failure_state;
    /* on_skip */
    rc_work_id skip_id[TU_MAX_LOG];
    rc_state skip_state;
    bool skip_flag; /* rc_work_skipped() seen in on_skip */
} tu_rec;

static inline void tu_rec_on_start(rc_cue *cue, const rc_work *w, void *ud)
{
    tu_rec *r = ud;
    if (r->n_starts < TU_MAX_LOG) {
        r->start_id[r->n_starts] = rc_work_get_id(w);
        r->start_time[r->n_starts] = rc_loop_now(rc_cue_loop(cue));
        r->n_starts++;
    }
    r->start_state = rc_work_state(w);
    r->start_attempt = rc_work_attempt(w);
    r->starts++;
}

static inline void tu_rec_on_complete(rc_cue *cue, const rc_work *w, const cJSON *result,
                                      double duration_s, void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    if (r->n_completes < TU_MAX_LOG) {
        r->complete_id[r->n_completes] = rc_work_get_id(w);
        r->complete_duration[r->n_completes] = duration_s;
        r->n_completes++;
    }
    r->last_result[0] = '\0';
    if (result) {
        char *s = cJSON_PrintUnformatted(result);
        if (s) {
            snprintf(r->last_result, sizeof r->last_result, "%s", s);
            cJSON_free(s);
        }
    }
    r->complete_state = rc_work_state(w);
    r->completes++;
}

static inline void tu_rec_on_failure(rc_cue *cue, const rc_work *w, rc_fail_kind kind,
                                     const char *error, void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    if (r->failures < TU_MAX_LOG) r->fail_id[r->failures] = rc_work_get_id(w);
    r->last_fail_kind = kind;
    snprintf(r->last_error, sizeof r->last_error, "%s", error ? error : "(null)");
    r->failure_state = rc_work_state(w);
    r->failures++;
}

static inline void tu_rec_on_skip(rc_cue *cue, const rc_work *w, void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    if (r->skips < TU_MAX_LOG) r->skip_id[r->skips] = rc_work_get_id(w);
    r->skip_state = rc_work_state(w);
    r->skip_flag = rc_work_skipped(w);
    r->skips++;
}

static inline void tu_rec_on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    if (r->n_events < TU_MAX_LOG) {
        r->ev_kind[r->n_events] = ev->kind;
        r->ev_id[r->n_events] = ev->work ? rc_work_get_id(ev->work) : 0;
        r->ev_time[r->n_events] = ev->time;
        r->ev_duration[r->n_events] = ev->duration;
        r->n_events++;
    }
    if (!ev->detail) r->ev_detail_null = true;
    r->events++;
}

static inline rc_hooks tu_rec_hooks(tu_rec *r)
{
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.on_start = tu_rec_on_start;
    h.on_complete = tu_rec_on_complete;
    h.on_failure = tu_rec_on_failure;
    h.on_skip = tu_rec_on_skip;
    h.on_event = tu_rec_on_event;
    h.ud = r;
    return h;
}

/* A zeroed tu_rec on the heap (it is large); free with free(). */
static inline tu_rec *tu_rec_new(void)
{
    tu_rec *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    return r;
}

/* A zeroed tu_task on the heap; free with free(). */
static inline tu_task *tu_task_new(void)
{
    tu_task *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    return t;
}

/* The events recorded for work `id`, in order, written to kinds (at most max). */
static inline size_t tu_rec_events_for(const tu_rec *r, rc_work_id id, rc_event_kind *kinds,
                                       size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_events && k < max; i++)
        if (r->ev_id[i] == id) kinds[k++] = r->ev_kind[i];
    return k;
}

/* How many recorded events are of `kind`. */
static inline size_t tu_rec_count(const tu_rec *r, rc_event_kind kind)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_events; i++)
        if (r->ev_kind[i] == kind) k++;
    return k;
}

#endif /* RUNCUE_TESTUTIL_H */
