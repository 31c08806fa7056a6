/*
 * runcue_transport.h -- how dispatched work reaches a handler in production.
 *
 * Two transports, both built on the public API of runcue.h (a task handler
 * plus rc_complete/rc_fail/rc_retry), so the scheduling is exactly the same
 * as in simulation:
 *
 *   rc_pool     blocking C functions on a pool of worker threads
 *   rc_workers  long-lived (or one-shot) subprocesses speaking the runqy
 *               worker protocol over stdin/stdout JSON lines
 *
 * Both need a loop on the monotonic clock (RC_CLOCK_MONOTONIC): completions
 * come back from threads and pipes.  All functions here are called on the
 * loop thread; user callbacks (hooks, logs) also run only on the loop thread.
 * The one exception is an rc_blocking_fn, which runs on a pool thread.
 */
#ifndef RUNCUE_TRANSPORT_H
#define RUNCUE_TRANSPORT_H

#include "runcue.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ------------------------------------------------------------------ */
/* Thread pool                                                         */
/* ------------------------------------------------------------------ */

typedef struct rc_pool rc_pool;

/* What a blocking function sees: the pool's own copy (params is a deep copy
 * of the work's params); nothing in it is shared with the cue. */
typedef struct rc_job {
    rc_work_id work_id;
    unsigned attempt;
    const char *task;
    const cJSON *params; /* read-only; valid until the function returns */
    void *pool_;         /* private: the pool's job, for rc_job_progress */
} rc_job;

/* The outcome a blocking function reports. */
typedef enum rc_job_status {
    RC_JOB_OK = 0,    /* *result (may stay NULL) is handed to rc_complete */
    RC_JOB_FAIL = 1,  /* failed for good: rc_fail with the message */
    RC_JOB_RETRY = 2, /* failed, may be retried: rc_retry with the message */
} rc_job_status;

/*
 * Runs on a pool thread, never the loop thread.  May block.  Must not call
 * into the cue or the loop.  Sets *result (ownership passes to runcue;
 * deleted unless the status is RC_JOB_OK) and/or writes a NUL-terminated
 * message of at most errlen bytes into err (empty: "failed").  Pool threads
 * run with asynchronous signals blocked.  A function cut by rc_pool_shutdown
 * may still be running after rc_pool_free returns: whatever ud points to must
 * outlive it.
 */
typedef rc_job_status (*rc_blocking_fn)(const rc_job *job, cJSON **result, char *err,
                                        size_t errlen, void *ud);

/* From inside a blocking function (its pool thread), report the job's
 * progress: rc_progress for its attempt (fraction 0..1, message copied).
 * Returns what rc_progress returns, or RC_ESTALE once a shutdown cut the
 * job (the cue may be gone then: nothing is sent). */
int rc_job_progress(const rc_job *job, double fraction, const char *message);

/* Start `threads` (1..4096) worker threads for `cue`.  Errors: RC_EINVAL;
 * RC_ESTATE if the cue's loop is not RC_CLOCK_MONOTONIC; RC_ENOMEM; RC_ESYS
 * (a thread could not be started; none is left running). */
int rc_pool_new(rc_pool **out, rc_cue *cue, unsigned threads);

/* Register a task whose handler runs fn(ud) on the pool (like rc_task).  The
 * outcome finishes the attempt on the loop thread, with retries under
 * rc_task_retry.  The service's limits hold at the functions themselves:
 * never more than `concurrent` running, never more than N starts in any
 * window (the pool briefly holds a job back to absorb thread wake-up
 * jitter).  Errors: those of rc_task, RC_EINVAL, RC_ESTATE (shut down),
 * RC_ENOMEM. */
int rc_pool_task(rc_pool *pool, const char *task, const char *service, rc_blocking_fn fn,
                 void *ud);

typedef struct rc_shutdown_report {
    size_t finished;   /* jobs that finished before the deadline */
    size_t cut_queued; /* jobs never started: failed "cut by shutdown" */
    size_t cut_running;/* jobs still running at the deadline: failed, result ignored */
    rc_work_id *cut_ids;
    size_t n_cut_ids;  /* ids of all cut work, ascending; free with rc_shutdown_report_free */
} rc_shutdown_report;

/*
 * 1) work dispatched from now on fails "pool is shut down"; 2) queued jobs
 * fail "cut by shutdown before it started"; 3) the loop runs until running
 * jobs finish or deadline_s passes (0: no wait; INFINITY: wait for all);
 * 4) jobs still running fail "cut by shutdown: still running after Xs".
 * Their threads finish on their own; a late result is counted in
 * rc_stats.stale_finishes, or dropped after rc_pool_free.  On return every
 * job of the pool is over in the cue.  report may be NULL.  Not from a
 * callback.  Errors: RC_EINVAL, RC_ESTATE (already shut down), RC_ENOMEM
 * (the shutdown still happened; cut_ids is NULL), or rc_loop_run's error.
 */
int rc_pool_shutdown(rc_pool *pool, double deadline_s, rc_shutdown_report *report);
/* Frees cut_ids (allocated with malloc) and clears it; for either
 * transport's report. */
void rc_shutdown_report_free(rc_shutdown_report *report);
/* Call before rc_cue_free and rc_loop_free, not from a callback.  Without a
 * prior shutdown it first does rc_pool_shutdown(pool, 0, NULL).  A thread
 * still inside a cut function is detached and exits when the function
 * returns, touching neither the cue nor the loop.  The pool's tasks stay
 * registered without a handler: their work waits as unknown_task. */
void rc_pool_free(rc_pool *pool);

/* ------------------------------------------------------------------ */
/* Subprocess workers (the runqy worker protocol)                      */
/* ------------------------------------------------------------------ */

/*
 * A worker process: prints {"status": "ready"} once loaded; then for every
 * request line on stdin, as runqy's worker host sends it,
 *   {"task_id": "<work id>.<attempt>", "type": "<task>", "payload": <params>,
 *    "retry_count": <attempt - 1>, "max_retry": <max_attempts - 1>,
 *    "queue": "<service, or empty>"}
 * it prints one line {"task_id": "...", "result": ..., "error": null |
 * "message", "retry": false | true} on stdout.  Its stderr is a log, never a
 * result.  Other stdout lines (a banner, print() output, a second ready line)
 * go to the log as "stdout: <line>" and are skipped, as runqy's host does,
 * unless `strict` is set.
 */
typedef struct rc_workers rc_workers;

typedef enum rc_worker_mode {
    RC_WORKERS_POOL = 0,    /* `processes` long-lived workers */
    RC_WORKERS_ONE_SHOT = 1 /* one process per work item, exits after it */
} rc_worker_mode;

typedef void (*rc_worker_log_fn)(rc_workers *workers, int pid, const char *line, void *ud);

typedef struct rc_workers_opts {
    const char *const *argv; /* NULL-terminated; argv[0] looked up in PATH */
    const char *name;        /* for messages; default argv[0] */
    rc_worker_mode mode;
    /* RC_WORKERS_POOL: pool size, >= 1.  RC_WORKERS_ONE_SHOT: most processes
     * at once, counting ones still exiting; 0 = no cap beyond the service's
     * limits. */
    unsigned processes;
    double ready_timeout_s;  /* 0: the default, 10 */
    double task_timeout_s;   /* 0: none */
    const char *cwd;         /* NULL: inherit */
    /* A stdout line that is not a protocol message kills the worker as
     * "printed garbage" (and retries its work), instead of being logged and
     * skipped. */
    bool strict;
    /* The longest stdout line, in bytes, without its newline; a longer one
     * kills the worker and retries its work.  0: the default, 10 MiB
     * (runqy's host allows 10 MB); at most 1 GiB.  The pool buffers up to
     * this much per worker. */
    size_t line_limit;
    /* Failed starts in a row before the pool stops replacing workers: a
     * worker that could not be started, or that died or was killed before
     * answering any request (it printed garbage, never became ready...).
     * Starts back off 0.1 s doubling to 5 s; after the budget, queued work is
     * retried with the last cause and only one probe worker is started at a
     * time, when work waits.  An answer resets the count.  0: the default,
     * 3; at most 1000. */
    unsigned spawn_budget;
    /* Each stderr line of a worker, its control characters (C0 but tab,
     * DEL, UTF-8 C1) shown as '?' so that no escape sequence reaches a
     * terminal; NULL: written to our stderr prefixed with the worker's
     * name and pid.  Also receives one line per worker that
     * died while no work was on it, prefixed "runcue: ". */
    rc_worker_log_fn on_stderr;
    void *ud;
    /* Output prefixes: a result of work whose params name an output_prefix
     * must keep its "outputs" under it (rc_prefix_check_outputs); one that
     * does not fails the work ("worker 'x' (pid N): wrote '...' outside its
     * prefix '...'"). */
    bool check_prefix;
} rc_workers_opts;

/*
 * Register `task` (on `service`, may be NULL) with a handler that sends each
 * work to a worker process.  The payload is the work's params.  Failures
 * name the worker and the cause: crashed (exit status or signal), printed
 * garbage, answered with the wrong task_id, never became ready, timed out.
 * The worker is then replaced; the work fails, or is retried under the
 * task's retry policy (rc_task_retry) when the cause may pass.  Nothing is
 * completed twice.
 *
 * Workers keep the loop alive only while they start, carry work or exit; an
 * idle pool does not, so rc_loop_run returns when the work is done (idle
 * workers' stderr is read when work next arrives).  A worker's {"error": ...}
 * fails the attempt ("worker 'x' (pid N): <error>") or retries it when
 * "retry" is true; crashes, garbage, wrong ids and timeouts retry it.  After
 * spawn_budget failed starts in a row (see rc_workers_opts), queued work is
 * retried with the last cause and one probe process is started per new work.
 * {"status": "error", "error": ...} before ready is a failed start.  Work
 * that waits a whole ready timeout while no worker carries any is retried
 * ("no worker 'x' took work N within 10.0s: <last cause>"), so rc_loop_run
 * returns even if no worker ever can.  An answer holding "\u0000" in a
 * string fails its work, naming the worker (results cannot hold a NUL).
 *
 * A long-lived (RC_WORKERS_POOL) worker that exits with status 0 after
 * answering, unasked, is a one-shot worker (runqy's run_once()): the pool
 * logs that once, switches to RC_WORKERS_ONE_SHOT with `processes` as its
 * cap, and hands the work it had sent that worker to the next process (not
 * charged as an attempt).
 * Errors: RC_EINVAL, RC_ESTATE (loop not monotonic), RC_ENOMEM, those of
 * rc_task; a command that cannot start is reported to the work, not here.
 * The library installs no signal handlers; writes to a worker cannot raise
 * SIGPIPE in the caller.
 */
int rc_workers_new(rc_workers **out, rc_cue *cue, const char *task, const char *service,
                   const rc_workers_opts *opts);

/* completed/failed/retried count the finishes this transport made (retried:
 * rc_retry calls, whatever the policy then does); crashed includes deaths
 * before ready and while idle. */
typedef struct rc_workers_stats {
    uint64_t spawned, ready, crashed, garbage, wrong_id, ready_timeouts, task_timeouts;
    uint64_t completed, failed, retried;
    size_t alive, busy;
} rc_workers_stats;
void rc_workers_stats_get(const rc_workers *w, rc_workers_stats *out);

/* Abort one work item of this transport: a queued one is taken off the
 * queue, a running one's worker process is killed (and replaced); the
 * attempt fails with `why`.  For a caller that lost the right to run it
 * (an expired lease).  Errors: RC_EINVAL, RC_ENOENT (not queued or running
 * here). */
int rc_workers_abort(rc_workers *w, rc_work_id id, const char *why);

/* Stop: queued work fails "cut by shutdown..."; workers still starting are
 * killed; the others get their stdin closed and the loop runs until they
 * exit or deadline_s passes (INFINITY allowed); then what is left is killed
 * and work still running is failed with a message saying so.  report may be
 * NULL.  Not from a callback.  Errors: RC_EINVAL, RC_ESTATE (already shut
 * down), RC_ENOMEM (cut_ids NULL; the shutdown still happened), or
 * rc_loop_run's error.  Call before rc_cue_free.  rc_workers_free after a
 * shutdown does not touch the cue; without one it first does
 * rc_workers_shutdown(w, 0, NULL). */
int rc_workers_shutdown(rc_workers *w, double deadline_s, rc_shutdown_report *report);
void rc_workers_free(rc_workers *w);

/* ------------------------------------------------------------------ */
/* Output prefixes and idempotency                                     */
/* ------------------------------------------------------------------ */

/*
 * The SQS worker SDK's model, over is_stale: a work names the directory it
 * writes under in params["output_prefix"]; it is done (not stale) once a
 * file named result.* exists there; fan-out children get sub-prefixes
 * (rc_prefix_child); and it may write nowhere else: a result that lists
 * what it wrote in "outputs" is checked (rc_prefix_check_outputs), which
 * the subprocess workers do with rc_workers_opts.check_prefix.
 */
#define RC_PREFIX_PARAM "output_prefix"
#define RC_PREFIX_OUTPUTS "outputs"

/* The work's output prefix, or NULL if its params name none.  Owned by the
 * work. */
const char *rc_prefix_of(const rc_work *work);
/* An is_stale hook (rc_hooks.is_stale): 1 (stale, run it) unless a result.*
 * file exists under the work's prefix; work without a prefix is stale.
 * Says why through the check.  Loop thread (it reads the directory). */
int rc_prefix_is_stale(rc_cue *cue, const rc_work *work, rc_check *check, void *ud);
/* "prefix/name" into out (len bytes).  name must be one path component (no
 * '/', not "." or "..").  RC_EINVAL if not, or if it does not fit.  Any
 * thread. */
int rc_prefix_child(char *out, size_t len, const char *prefix, const char *name);
/* Whether path lies strictly under prefix (a plain comparison of the
 * strings: no ".." components allowed, no symlinks followed).  Any thread. */
bool rc_prefix_contains(const char *prefix, const char *path);
/* 0 if result["outputs"] is absent or an array of paths under prefix;
 * RC_EINVAL with a sentence in err otherwise.  Any thread. */
int rc_prefix_check_outputs(const char *prefix, const cJSON *result, char *err, size_t errlen);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RUNCUE_TRANSPORT_H */
