/*
 * runcue_canvas.h -- workflows over result artifacts: chain, group, chord.
 *
 * A thin layer over runcue.h that only *generates* submissions: each step
 * is ordinary work whose result is kept as a result artifact
 * (rc_submit_opts.result_key) and fed into the params of the steps that
 * need it (rc_submit_opts.inputs), with the same keys declared as
 * needs/produces.  So a workflow runs the same on the virtual clock, in the
 * thread pool and with subprocess workers, a failed step shows up in
 * rc_diagnose as the failed root its successors wait on, and rc_cancel
 * works on each step.
 *
 * Keys: step i of a workflow named NAME has the result key "NAME/i" (i from
 * 0 in submission order; a chord's callback comes last) and, unless given,
 * the label "NAME/i".  Names must be unique among the cue's workflows.
 *
 *   chain   step i+1 needs step i: params["previous"] (RC_CHAIN_PARAM) is
 *           step i's result.  A failed step stops the chain: the steps
 *           after it wait, and rc_diagnose names the failed step as root.
 *   group   independent steps; each result is that work's (rc_get).
 *   chord   a group, then a callback that needs all of them:
 *           params["results"] (RC_CHORD_PARAM) is the array of the group's
 *           results in the order given.
 *
 * Memory: results live as the core's result artifacts (runcue.h,
 * rc_submit_opts: kept while a later step still needs them).  The rc_flow
 * belongs to the caller: rc_flow_free.  Loop thread only.
 */
#ifndef RUNCUE_CANVAS_H
#define RUNCUE_CANVAS_H

#include "runcue.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define RC_CHAIN_PARAM "previous"
#define RC_CHORD_PARAM "results"

/* One step: a task and its params (copied; NULL: {}; must be an object for
 * steps that receive results), and an optional label (copied). */
typedef struct rc_sig {
    const char *task;
    const cJSON *params;
    const char *label;
} rc_sig;

/* A submitted workflow. */
typedef struct rc_flow {
    size_t n;          /* steps */
    rc_work_id *ids;   /* ids[i]: step i's work, in submission order */
    char **keys;       /* keys[i]: step i's result key ("NAME/i") */
    rc_work_id result; /* the step whose result is the workflow's: a chain's
                          last, a chord's callback; 0 for a group */
} rc_flow;

/*
 * Submit a workflow in one call.  On success *out holds its ids and keys
 * (free with rc_flow_free).  On error nothing stays submitted (what was
 * submitted is cancelled before it could start) and *out is empty.
 * Errors: RC_EINVAL (no steps, an empty name, a step without a task, params
 * that are not an object where results go, a chord of more than
 * RC_MAX_DECLARED header steps), RC_ENOENT (unknown task),
 * RC_ENOMEM; rc_cue_errmsg says which step.
 */
int rc_chain(rc_cue *cue, const char *name, const rc_sig *steps, size_t n, rc_flow *out);
int rc_group(rc_cue *cue, const char *name, const rc_sig *steps, size_t n, rc_flow *out);
int rc_chord(rc_cue *cue, const char *name, const rc_sig *header, size_t n, const rc_sig *callback,
             rc_flow *out);

/* Cancel every step that has not started (running steps finish through
 * their handlers; steps waiting on them stay cancelled).  *cancelled (if not
 * NULL) receives how many were cancelled. */
int rc_flow_cancel(rc_cue *cue, const rc_flow *flow, size_t *cancelled);

/* rc_wait_all over every step (see runcue.h). */
int rc_flow_wait(rc_cue *cue, const rc_flow *flow, double timeout_s);

/* The workflow's status: failed or cancelled if any step is, started if
 * any step runs or finished while others remain, completed once all are;
 * else pending. */
rc_status rc_flow_status(const rc_cue *cue, const rc_flow *flow);

/* Free what rc_chain/rc_group/rc_chord put in *flow (not the struct). */
void rc_flow_free(rc_flow *flow);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RUNCUE_CANVAS_H */
