/* dispatch.h -- the dispatch pass: checks, starts and finishes. */
#ifndef RC_DISPATCH_H
#define RC_DISPATCH_H

#include "cue_types.h"

/* The deferred pass (cue->pass's function). */
void rc_pass_cb(rc_loop *loop, void *arg);
/* rc_rate_timer's function: the service's rate window opened. */
void rc_rate_timer_fire(rc_loop *loop, rc_timer *t, void *arg);

/* Re-check waiting work: on `key` (and unkeyed waits), or all for NULL.
 * rc_artifacts_changed without its event (the cue's own reasons). */
int rc_recheck_waiting(rc_cue *cue, const char *key);
/* The priority hook's answer for w now, clamped to 0..1 (NaN: 0.5); the hook
 * must be set. */
double rc_priority_eval(rc_cue *cue, const rc_work *w);
/* Free the cue's detail frames (teardown). */
void rc_detail_frames_free(rc_cue *cue);

#endif
