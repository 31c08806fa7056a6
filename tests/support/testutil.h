/*
 * testutil.h -- the loop and cue fixtures shared by the Criterion suites
 * (defined in testutil.c, linked through test_support_dep).
 *
 * Everything here runs on a virtual clock: tests never sleep.  The pieces:
 *
 *   tu_loop_new / tu_cue_new   a virtual loop and a cue on it (assert on error)
 *   tu_open / tu_close         both at once, for a suite's .init and .fini
 *   tu_task                    a handler context: counts calls, tracks how many
 *                              are running (and the peak), records start order
 *                              and times, and finishes each work synchronously
 *                              or after a virtual delay (via rc_loop_call_at)
 *   tu_submit / tu_params      submit with JSON params written as a string
 *
 * The recorders (tu_rec, tu_xrec) are in recorder.h.
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

/* A loop on the virtual clock. */
rc_loop *tu_loop_new(void);

/* A cue on `loop` with `opts` (NULL: defaults). */
rc_cue *tu_cue_new(rc_loop *loop, const rc_cue_opts *opts);

/* A virtual loop and a cue on it with `opts` (NULL: defaults). */
void tu_open(rc_loop **loop, rc_cue **cue, const rc_cue_opts *opts);

/* Free the cue, then its loop. */
void tu_close(rc_loop *loop, rc_cue *cue);

/* Run the loop until it goes idle; assert it did not fail. */
void tu_run(rc_loop *loop);

/* Run the loop until the virtual clock reaches `seconds` (absolute). */
void tu_run_until(rc_loop *loop, double seconds);

/* Keep the loop alive (a referenced timer doing nothing) until `seconds`. */
void tu_keepalive(rc_loop *loop, double seconds);

/* The loop's clock in seconds. */
double tu_now_s(rc_loop *loop);

/* The cue's statistics. */
rc_stats tu_stats(const rc_cue *cue);

/* The finished-work counts of rc_stats, as a test expects them. */
typedef struct tu_settled {
    uint64_t submitted, completed, failed, skipped, cancelled;
} tu_settled;

/* Assert the cue's finished-work counts are `want` and no work is left
 * pending (waiting, queued or delayed) or running. */
void tu_assert_settled(const rc_cue *cue, tu_settled want);

/* ------------------------------------------------------------------ */
/* Submitting work                                                     */
/* ------------------------------------------------------------------ */

/* Parse a JSON string (NULL: NULL) and assert it parsed. */
cJSON *tu_json(const char *text);

/* Submit work for `task` with params given as JSON text (NULL: none);
 * asserts success and returns the id. */
rc_work_id tu_submit(rc_cue *cue, const char *task, const char *params_json);

/* Submit with an explicit options struct (params already set by the caller). */
rc_work_id tu_submit_opts(rc_cue *cue, const char *task, const rc_submit_opts *o);

/* A number from the work's params, or `dflt` if absent. */
double tu_param_num(const rc_work *w, const char *key, double dflt);

/* A string from the work's params, or NULL. */
const char *tu_param_str(const rc_work *w, const char *key);

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

/* The handler (ud = tu_task). */
void tu_handler(rc_cue *cue, const rc_work *w, rc_token tok, void *ud);

/* Service `service` (rate and concurrency as for rc_service) and task
 * `task` on it, handled by tu_handler with `t`; asserts both register. */
void tu_serve(rc_cue *cue, const char *service, const char *rate, int concurrent, const char *task,
              tu_task *t);

/* A zeroed tu_task on the heap; free with free(). */
tu_task *tu_task_new(void);

/* The position of `id` in the task's start order, or -1. */
int tu_task_index(const tu_task *t, rc_work_id id);

/* ------------------------------------------------------------------ */
/* Shared-memory names                                                 */
/* ------------------------------------------------------------------ */

/* A segment name unique to this process, "WHAT-PID", remembered so that
 * tu_shm_forget (a test's .fini, which runs even after a failed assertion)
 * can remove what a failed test left in /dev/shm. */
void tu_shm_name(char *out, size_t cap, const char *what);
/* Unlink every segment named by tu_shm_name in this process (those already
 * gone are skipped) and forget them. */
void tu_shm_forget(void);

/* ------------------------------------------------------------------ */
/* Small assertions                                                    */
/* ------------------------------------------------------------------ */

/* True if s mentions a timeout ("timeout", "timed out", case-insensitive). */
bool tu_mentions_timeout(const char *s);

#define tu_assert_time_s(actual, expected_s)                                                       \
    cr_assert_eq((rc_time)(actual), rc_seconds(expected_s), "%s: t=%.9fs, expected %.9fs",         \
                 #actual, rc_to_seconds(actual), (double)(expected_s))

/* ------------------------------------------------------------------ */
/* A counting allocator (an rc_allocator's realloc: ud is a tu_counting) */
/* ------------------------------------------------------------------ */

typedef struct tu_counting {
    long calls; /* requests with n > 0 */
    long live;  /* blocks handed out and not freed */
    bool fail;  /* refuse every request */
} tu_counting;

void *tu_counting_realloc(void *ud, void *p, size_t n);

#endif /* RUNCUE_TESTUTIL_H */
