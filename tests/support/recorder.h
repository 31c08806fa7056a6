/*
 * recorder.h -- hooks that record what a cue tells them (defined in
 * recorder.c, linked through test_support_dep).
 *
 * tu_rec: on_start/on_complete/on_failure/on_skip/on_event counters and an
 * event log.  tu_rec_hooks(rec) returns hooks recording into `rec`
 * (is_ready, is_stale and priority are left NULL for the test to set; they
 * receive the tu_rec as ud, and rec->user carries the test's own state).
 *
 * tu_xrec embeds a tu_rec (first member, so the hooks' ud is the same
 * pointer) and adds what timing tests need: each failure with its kind and
 * time, each completion with its time and attempt, pending and stall
 * warnings, event details and pending counts, and a place to hold tokens of
 * work a test wants to keep running (tu_handler_hold) until it releases them.
 *
 *   tu_xrec *x = tu_xrec_new(loop);
 *   rc_hooks h = tu_xrec_hooks(x);   // set h.is_ready etc.; they get x as ud
 *   rc_cue_set_hooks(cue, &h);
 *   ...
 *   free(x);
 */
#ifndef RUNCUE_RECORDER_H
#define RUNCUE_RECORDER_H

#include "testutil.h"

struct tu_xrec;

typedef struct tu_rec {
    void *user;
    struct tu_xrec *ext; /* the tu_xrec this is part of, or NULL */

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

/* The notification hooks of tu_rec_hooks (ud = the tu_rec), for tests that
 * wrap them. */
void tu_rec_on_start(rc_cue *cue, const rc_work *w, void *ud);
void tu_rec_on_complete(rc_cue *cue, const rc_work *w, const cJSON *result, double duration_s,
                        void *ud);
void tu_rec_on_failure(rc_cue *cue, const rc_work *w, rc_fail_kind kind, const char *error,
                       void *ud);
void tu_rec_on_skip(rc_cue *cue, const rc_work *w, void *ud);
void tu_rec_on_event(rc_cue *cue, const rc_event *ev, void *ud);

/* Hooks whose notifications record into r (ud = r). */
rc_hooks tu_rec_hooks(tu_rec *r);

/* A zeroed tu_rec on the heap (it is large); free with free(). */
tu_rec *tu_rec_new(void);

/* The fixture of suites around one recorder: a virtual loop, a cue on it
 * with `opts` (NULL: defaults), a new tu_rec installed as its hooks, and task
 * "t" handled by tu_handler with `task` (zeroed first).  Undo with
 * tu_rec_close. */
void tu_rec_open(rc_loop **loop, rc_cue **cue, tu_rec **rec, tu_task *task,
                 const rc_cue_opts *opts);
void tu_rec_close(rc_loop *loop, rc_cue *cue, tu_rec *rec);

/* The events recorded for work `id`, in order, written to kinds (at most max). */
size_t tu_rec_events_for(const tu_rec *r, rc_work_id id, rc_event_kind *kinds, size_t max);

/* How many recorded events are of `kind`. */
size_t tu_rec_count(const tu_rec *r, rc_event_kind kind);

/* ------------------------------------------------------------------ */
/* The fuller recorder                                                 */
/* ------------------------------------------------------------------ */

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
    tu_rec rec; /* must stay first: the hooks' ud is this pointer */
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

/* Hooks recording everything into x (ud = x).  is_ready, is_stale and
 * priority are NULL for the test to set. */
rc_hooks tu_xrec_hooks(tu_xrec *x);

/* A zeroed recorder on the heap for `loop`; free with free(). */
tu_xrec *tu_xrec_new(rc_loop *loop);

/* Install x's hooks on cue, with is_ready / is_stale (either may be NULL). */
void tu_xrec_install(tu_xrec *x, rc_cue *cue,
                     int (*is_ready)(rc_cue *, const rc_work *, rc_check *, void *),
                     int (*is_stale)(rc_cue *, const rc_work *, rc_check *, void *));

/* ---- queries ---- */

/* The recorded failure of work `id`, or NULL. */
const tu_failure *tu_xrec_failure(const tu_xrec *x, rc_work_id id);

/* How many failures were recorded for work `id`. */
size_t tu_xrec_failures_of(const tu_xrec *x, rc_work_id id);

/* The time work `id` completed (first completion), or -1. */
rc_time tu_xrec_complete_time(const tu_xrec *x, rc_work_id id);

/* The time of the n-th (0-based) on_start of work `id`, or -1. */
rc_time tu_xrec_start_time(const tu_xrec *x, rc_work_id id, size_t nth);

/* How many events of `kind` concern work `id` (0: cue-wide events). */
size_t tu_xrec_count_for(const tu_xrec *x, rc_event_kind kind, rc_work_id id);

/* Index of the first event of `kind` for `id`, or -1. */
int tu_xrec_find_event(const tu_xrec *x, rc_event_kind kind, rc_work_id id);

/* ---- holding work ---- */

/* A handler (ud = tu_xrec) that keeps the token and does not finish: the work
 * stays running until tu_xrec_release_all finishes it. */
void tu_handler_hold(rc_cue *cue, const rc_work *w, rc_token tok, void *ud);

/* Complete every held token, oldest first; asserts each was accepted. */
void tu_xrec_release_all(tu_xrec *x, rc_cue *cue);

#endif /* RUNCUE_RECORDER_H */
