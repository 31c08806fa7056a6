/* work.h -- work states: the moves of a work item between the places of
 * cue_types.h, and the timers that watch pending work, armed as it moves. */
#ifndef RC_WORK_H
#define RC_WORK_H

#include "observe.h"

/* Work records come from slabs and go back to them. */
rc_work *rc_work_alloc(rc_cue *cue);
void rc_work_release(rc_cue *cue, rc_work *w);
/* rc_cue_free: every slab (set tearing_down before releasing the works). */
void rc_work_slabs_free(rc_cue *cue);
/* The work's cold fields, made (all empty) the first time.  NULL: out of
 * memory. */
rc_work_cold *rc_work_cold_of(rc_cue *cue, rc_work *w);
/* Replace the work's error message with a copy of error ("failed" when NULL
 * or empty); out of memory leaves none. */
void rc_work_set_error(rc_cue *cue, rc_work *w, const char *error);
/* Free what the work's phase union holds, clear it, and enter `phase`
 * (RC_PHASE_RUNNING starts with no progress report). */
void rc_work_phase(rc_cue *cue, rc_work *w, enum rc_phase phase);
/* A completed work keeps result (owned; NULL: none) in its phase union
 * (RC_PHASE_FINISHED). */
void rc_work_keep_result(rc_work *w, cJSON *result);
/* Let go of a checked work's detail (a copy, or the cue's frame). */
void rc_work_drop_detail(rc_cue *cue, rc_work *w);

/* Have the dispatch pass run at the end of this iteration (one per
 * iteration however many changes ask for it). */
void rc_request_pass(rc_cue *cue);
/* The service may start work: visit it in the next pass. */
void rc_mark_runnable(rc_cue *cue, rc_svc *svc);

/* Take pending work out of wherever it waits (not RUNNING/FINISHED). */
void rc_unlink_pending(rc_cue *cue, rc_work *w);
/* The work leaves the pending state for good (started, cancelled, failed). */
void rc_leave_pending(rc_cue *cue, rc_work *w);
/* Put pending work on the dirty list: the next pass checks it. */
void rc_make_dirty(rc_cue *cue, rc_work *w);
/* Wait as DELAYED until not_before.  RC_ENOMEM: made dirty at once instead. */
int rc_schedule_delay(rc_cue *cue, rc_work *w, rc_time not_before);
void rc_to_finished(rc_cue *cue, rc_work *w);
/* Whether rc_cue_forget_finished has anything to do (checked inline on the
 * dispatch loop's every step). */
static inline bool rc_forget_due(const rc_cue *cue)
{
    return cue->forgettable.len || cue->opts.retain_finished;
}

/* Forget finished non-producers (opts.forget_non_producers) and the oldest
 * finished work beyond opts.retain_finished.  Only at safe
 * points of the dispatch pass: see dispatch.c. */
void rc_cue_forget_finished(rc_cue *cue);
/* rc_cue_free, before the key table goes: free the ghosts that forgotten
 * producers left on their keys and that the slabs do not take with them. */
void rc_ghosts_fini(rc_cue *cue);

/* The error text kept with failed work ("failed" when none is given). */
char *rc_copy_error(rc_cue *cue, const char *error);
/* Fail work that is no longer pending: state, counters, on_failure, event. */
void rc_finish_failed(rc_cue *cue, rc_work *w, rc_fail_kind kind, const char *error);
/* Fail pending work (timeouts): leave pending, then rc_finish_failed. */
void rc_fail_pending(rc_cue *cue, rc_work *w, rc_fail_kind kind, const char *error);

/* A start, completion, failure or skip: the stall clock starts over. */
void rc_record_progress(rc_cue *cue);
/* The pending-age list (pending warnings and timeouts), oldest first. */
void rc_age_add(rc_cue *cue, rc_work *w);
void rc_age_remove(rc_cue *cue, rc_work *w);
rc_work *rc_age_next(rc_cue *cue, rc_work *w);
void rc_pending_arm(rc_cue *cue);
/* Pending work that could stall the cue (delayed work has its own timer). */
size_t rc_stall_pending(const rc_cue *cue);
void rc_stall_arm(rc_cue *cue);
void rc_poll_arm(rc_cue *cue);
void rc_refresh_arm(rc_cue *cue);

#endif
