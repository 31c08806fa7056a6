/* results.h -- result artifacts: the values completed work leaves under its
 * result_key, kept while unfinished work lists the key in its inputs (the
 * memory rule is runcue.h's, at rc_submit_opts).  Below work.c: it calls
 * only the base. */
#ifndef RC_RESULTS_H
#define RC_RESULTS_H

#include "cue_types.h"

/* Count w as a consumer of each of its inputs (at submit).  RC_ENOMEM:
 * nothing counted. */
int rc_results_hold(rc_cue *cue, rc_work *w);
/* w finished (or is freed): it no longer needs its inputs; those nobody else
 * needs are freed. */
void rc_results_release(rc_cue *cue, rc_work *w);
/* w completed (or was skipped): keep a copy of `value` (NULL: JSON null)
 * under its result_key if some consumer needs it.  True if kept. */
bool rc_results_store(rc_cue *cue, const rc_work *w, const cJSON *value);
/* The first input of w without a value yet, or NULL if all are there. */
const char *rc_results_missing(const rc_cue *cue, const rc_work *w);
/* Put w's inputs into its params (params[input_param]) before an attempt
 * starts.  RC_ENOMEM if cJSON could not allocate (the params lack them). */
int rc_results_fill(rc_cue *cue, rc_work *w);
/* Free every kept value (rc_cue_free). */
void rc_results_fini(rc_cue *cue);

#endif
