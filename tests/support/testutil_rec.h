/*
 * testutil_rec.h -- a fuller recorder on top of testutil.h's tu_rec (header only).
 *
 * tu_xrec embeds a tu_rec (first member, so the tu_rec_* hooks work on it)
 * and adds what timing tests need: each failure with its kind and time, each
 * completion with its time and attempt, pending and stall warnings, event
 * details and pending counts, and a place to hold tokens of work a test
 * wants to keep running (tu_handler_hold) until it releases them.
 *
 *   tu_xrec *x = tu_xrec_new(loop);
 *   rc_hooks h = tu_xrec_hooks(x);   // set h.is_ready etc.; they get x as ud
 *   rc_cue_set_hooks(cue, &h);
 *   ...
 *   free(x);
 */
#ifndef RUNCUE_TESTUTIL_REC_H
#define RUNCUE_TESTUTIL_REC_H

#include <strings.h>

#include "testutil.h"

typedef struct tu_failure {
    rc_work_id id;
    rc_fail_kind kind;
    rc_time time;
    unsigned attempt;
    char error[160];
} tu_failure;

typedef struct tu_pending_warning {
    rc_work_id id;
    double pending_s;
    rc_time time;
} tu_pending_warning;

typedef struct tu_stall_warning {
    double since_s;
    size_t pending;
    rc_time time;
} tu_stall_warning;

typedef struct tu_xrec {
    tu_rec rec; /* must stay first: the tu_rec_* hooks receive this pointer */
    rc_loop *loop;

    size_t n_fail;
    tu_failure fail[TU_MAX_LOG];

    size_t n_pwarn;
    tu_pending_warning pwarn[TU_MAX_LOG];

    size_t n_swarn;
    tu_stall_warning swarn[TU_MAX_LOG];

    /* Parallel to rec.complete_id. */
    rc_time complete_time[TU_MAX_LOG];
    unsigned complete_attempt[TU_MAX_LOG];

    /* Parallel to rec.ev_kind. */
    size_t ev_pending[TU_MAX_LOG];
    unsigned ev_attempt[TU_MAX_LOG];
    char ev_detail[TU_MAX_LOG][128];

    /* Tokens kept by tu_handler_hold. */
    size_t n_held;
    rc_token held[TU_MAX_LOG];
    rc_work_id held_id[TU_MAX_LOG];
} tu_xrec;

static inline void tu_xrec_on_complete(rc_cue *cue, const rc_work *w, const cJSON *result,
                                       double duration_s, void *ud)
{
    tu_xrec *x = ud;
    size_t i = x->rec.n_completes;
    tu_rec_on_complete(cue, w, result, duration_s, &x->rec);
    if (i < TU_MAX_LOG) {
        x->complete_time[i] = rc_loop_now(x->loop);
        x->complete_attempt[i] = rc_work_attempt(w);
    }
}

static inline void tu_xrec_on_failure(rc_cue *cue, const rc_work *w, rc_fail_kind kind,
                                      const char *error, void *ud)
{
    tu_xrec *x = ud;
    tu_rec_on_failure(cue, w, kind, error, &x->rec);
    if (x->n_fail >= TU_MAX_LOG) return;
    tu_failure *f = &x->fail[x->n_fail++];
    f->id = rc_work_get_id(w);
    f->kind = kind;
    f->time = rc_loop_now(x->loop);
    f->attempt = rc_work_attempt(w);
    snprintf(f->error, sizeof f->error, "%s", error ? error : "(null)");
}

static inline void tu_xrec_on_pending_warning(rc_cue *cue, const rc_work *w, double pending_s,
                                              void *ud)
{
    (void)cue;
    tu_xrec *x = ud;
    if (x->n_pwarn < TU_MAX_LOG)
        x->pwarn[x->n_pwarn++] =
            (tu_pending_warning){rc_work_get_id(w), pending_s, rc_loop_now(x->loop)};
}

static inline void tu_xrec_on_stall_warning(rc_cue *cue, double since_s, size_t pending, void *ud)
{
    (void)cue;
    tu_xrec *x = ud;
    if (x->n_swarn < TU_MAX_LOG)
        x->swarn[x->n_swarn++] = (tu_stall_warning){since_s, pending, rc_loop_now(x->loop)};
}

static inline void tu_xrec_on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    tu_xrec *x = ud;
    size_t i = x->rec.n_events;
    tu_rec_on_event(cue, ev, &x->rec);
    if (i >= TU_MAX_LOG) return;
    x->ev_pending[i] = ev->pending;
    x->ev_attempt[i] = ev->work ? rc_work_attempt(ev->work) : 0;
    snprintf(x->ev_detail[i], sizeof x->ev_detail[i], "%s", ev->detail ? ev->detail : "(null)");
}

/* Hooks recording everything into x (ud = x).  is_ready, is_stale and
 * priority are NULL for the test to set. */
static inline rc_hooks tu_xrec_hooks(tu_xrec *x)
{
    rc_hooks h = tu_rec_hooks(&x->rec);
    h.on_complete = tu_xrec_on_complete;
    h.on_failure = tu_xrec_on_failure;
    h.on_pending_warning = tu_xrec_on_pending_warning;
    h.on_stall_warning = tu_xrec_on_stall_warning;
    h.on_event = tu_xrec_on_event;
    h.ud = x;
    return h;
}

/* A zeroed recorder on the heap for `loop`; free with free(). */
static inline tu_xrec *tu_xrec_new(rc_loop *loop)
{
    tu_xrec *x = calloc(1, sizeof *x);
    cr_assert_not_null(x);
    x->loop = loop;
    return x;
}

/* Install x's hooks on cue, with is_ready / is_stale (either may be NULL). */
static inline void tu_xrec_install(tu_xrec *x, rc_cue *cue,
                                   int (*is_ready)(rc_cue *, const rc_work *, rc_check *, void *),
                                   int (*is_stale)(rc_cue *, const rc_work *, rc_check *, void *))
{
    rc_hooks h = tu_xrec_hooks(x);
    h.is_ready = is_ready;
    h.is_stale = is_stale;
    rc_cue_set_hooks(cue, &h);
}

/* ---- queries ---- */

/* The recorded failure of work `id`, or NULL. */
static inline const tu_failure *tu_xrec_failure(const tu_xrec *x, rc_work_id id)
{
    for (size_t i = 0; i < x->n_fail; i++)
        if (x->fail[i].id == id) return &x->fail[i];
    return NULL;
}

/* How many failures were recorded for work `id`. */
static inline size_t tu_xrec_failures_of(const tu_xrec *x, rc_work_id id)
{
    size_t n = 0;
    for (size_t i = 0; i < x->n_fail; i++)
        if (x->fail[i].id == id) n++;
    return n;
}

/* The time work `id` completed (first completion), or -1. */
static inline rc_time tu_xrec_complete_time(const tu_xrec *x, rc_work_id id)
{
    for (size_t i = 0; i < x->rec.n_completes && i < TU_MAX_LOG; i++)
        if (x->rec.complete_id[i] == id) return x->complete_time[i];
    return -1;
}

/* The time of the n-th (0-based) on_start of work `id`, or -1. */
static inline rc_time tu_xrec_start_time(const tu_xrec *x, rc_work_id id, size_t nth)
{
    for (size_t i = 0; i < x->rec.n_starts; i++)
        if (x->rec.start_id[i] == id && nth-- == 0) return x->rec.start_time[i];
    return -1;
}

/* How many events of `kind` concern work `id` (0: cue-wide events). */
static inline size_t tu_xrec_count_for(const tu_xrec *x, rc_event_kind kind, rc_work_id id)
{
    size_t n = 0;
    for (size_t i = 0; i < x->rec.n_events; i++)
        if (x->rec.ev_kind[i] == kind && x->rec.ev_id[i] == id) n++;
    return n;
}

/* Index of the first event of `kind` for `id`, or -1. */
static inline int tu_xrec_find_event(const tu_xrec *x, rc_event_kind kind, rc_work_id id)
{
    for (size_t i = 0; i < x->rec.n_events; i++)
        if (x->rec.ev_kind[i] == kind && x->rec.ev_id[i] == id) return (int)i;
    return -1;
}

/* ---- holding work ---- */

/* A handler (ud = tu_xrec) that keeps the token and does not finish: the work
 * stays running until tu_xrec_release_* finishes it. */
static inline void tu_handler_hold(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)cue;
    tu_xrec *x = ud;
    cr_assert_lt(x->n_held, (size_t)TU_MAX_LOG);
    x->held_id[x->n_held] = rc_work_get_id(w);
    x->held[x->n_held++] = tok;
}

/* Complete every held token, oldest first; asserts each was accepted. */
static inline void tu_xrec_release_all(tu_xrec *x, rc_cue *cue)
{
    for (size_t i = 0; i < x->n_held; i++) {
        int rc = rc_complete(cue, x->held[i], NULL);
        cr_assert_eq(rc, RC_OK, "rc_complete(held %llu): %s", (unsigned long long)x->held_id[i],
                     rc_strerror(rc));
    }
    x->n_held = 0;
}

/* ---- small assertions ---- */

/* True if s mentions a timeout ("timeout", "timed out", case-insensitive). */
static inline bool tu_mentions_timeout(const char *s)
{
    return s &&
           (strcasestr(s, "timeout") || strcasestr(s, "timed out") || strcasestr(s, "time out"));
}

#define tu_assert_time_s(actual, expected_s)                                                       \
    cr_assert_eq((rc_time)(actual), rc_seconds(expected_s), "%s: t=%.9fs, expected %.9fs",         \
                 #actual, rc_to_seconds(actual), (double)(expected_s))

#endif /* RUNCUE_TESTUTIL_REC_H */
