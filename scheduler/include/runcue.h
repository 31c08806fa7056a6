/*
 * runcue.h -- decide *when* work runs across rate-limited services.
 *
 * runcue schedules work by artifact validity ("B is ready when its inputs
 * are valid") across services that have concurrency and rate limits.  The
 * application decides *what* the work does; runcue decides when it starts.
 *
 * The pieces:
 *
 *   rc_loop     an event loop with timers and a pluggable clock.  The virtual
 *               clock jumps straight to the next timer (a simulated hour takes
 *               milliseconds and every run is a pure function of its inputs);
 *               the monotonic clock sleeps until the next timer, a watched
 *               file descriptor, or a completion posted by another thread.
 *   rc_cue      one scheduler: services, tasks, work.  Several cues may share a
 *               loop; nothing in the library is global.
 *   rc_work     one unit of work: a task name, JSON params, an attempt number.
 *   rc_token    handed to a task handler with the work; the handler finishes
 *               the work exactly once with rc_complete() or rc_fail(), at once
 *               or later (a timer, a thread, a subprocess).
 *
 * Errors: functions that can fail return 0 or a negative RC_E* code.
 * rc_strerror() names the code; rc_cue_errmsg() / rc_loop_errmsg() hold a
 * sentence about the last failure on that object ("service 'api': bad rate
 * '20/0': window must be positive").  A user mistake never aborts the process.
 * A NULL where an object or an output is expected is such a mistake: a
 * function returning int returns RC_EINVAL (with a message when there is an
 * object to hold one), a getter returns its empty value (0, false, NULL, ""
 * or -1 for times; RC_TIME_NEVER for rc_loop_next_timer), and a void
 * function does nothing.
 *
 * Threads: every function must be called on the loop's thread (the thread
 * that runs rc_loop_run) unless its comment says otherwise.  Callbacks and
 * handlers always run on the loop thread.  rc_complete(), rc_fail() and
 * rc_loop_post() may be called from any thread.
 *
 * Time: rc_time is nanoseconds on the loop's clock.  Virtual loops start at
 * the time given in rc_loop_opts (default 0).  Public options take seconds as
 * double for convenience.
 */
#ifndef RUNCUE_H
#define RUNCUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden: what this header declares
 * is its interface, and the rest stays inside it. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0
#define RC_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

enum {
    RC_OK = 0,
    RC_EINVAL = -1,    /* an argument is malformed or out of range */
    RC_ENOMEM = -2,    /* out of memory; nothing was changed */
    RC_EEXIST = -3,    /* a service or task of that name already exists */
    RC_ENOENT = -4,    /* no such service, task or work */
    RC_ERUNNING = -5,  /* the work is running; it finishes through its handler */
    RC_EFINISHED = -6, /* the work already finished (completed, failed, cancelled) */
    RC_ESTALE = -7,    /* a token for an attempt that is over (double completion) */
    RC_ESYS = -8,      /* a system call failed; the message names it */
    RC_ESTATE = -9,    /* the call is not allowed in the object's current state */
    RC_ETIMEDOUT = -10, /* rc_wait: the timeout passed first */
    RC_EBLOCKED = -11,  /* rc_wait: the loop went idle with the work unfinished (a
                           stall: rc_diagnose says why) */
};

/* A static, never-NULL name for an RC_E* code ("invalid argument"). */
const char *rc_strerror(int code);

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

typedef int64_t rc_time; /* nanoseconds */

#define RC_NSEC_PER_SEC INT64_C(1000000000)
#define RC_TIME_NEVER INT64_MAX

/* Seconds to rc_time, rounded to the nearest nanosecond and saturated. */
rc_time rc_seconds(double seconds);
/* rc_time to seconds. */
double rc_to_seconds(rc_time t);
/* CLOCK_MONOTONIC now, the clock of RC_CLOCK_MONOTONIC loops.  Any thread.
 * For programs and transports that measure real time; the core itself reads
 * time only through its loop. */
rc_time rc_monotonic_now(void);

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

/*
 * One function does all allocation, like lua_Alloc: realloc(ud, p, n) with
 * n == 0 frees p and returns NULL; otherwise it returns a block of n bytes
 * (or NULL on failure, leaving p untouched).  Tests use it to inject
 * allocation failures.  NULL means the C library's realloc/free.
 * cJSON values (params, results) use cJSON's own allocator.
 */
typedef struct rc_allocator {
    void *(*realloc)(void *ud, void *p, size_t n);
    void *ud;
} rc_allocator;
/* *a when a and a->realloc are set, else the C library's realloc and free
 * behind the same contract.  For modules built on runcue that take an
 * allocator the same way. */
rc_allocator rc_allocator_or_default(const rc_allocator *a);

/* ------------------------------------------------------------------ */
/* Event loop                                                          */
/* ------------------------------------------------------------------ */

typedef struct rc_loop rc_loop;

typedef enum rc_clock_kind {
    RC_CLOCK_VIRTUAL = 0,   /* time jumps to the next timer; never sleeps */
    RC_CLOCK_MONOTONIC = 1, /* CLOCK_MONOTONIC; sleeps until something is due */
} rc_clock_kind;

typedef struct rc_loop_opts {
    rc_clock_kind clock;
    rc_time start;             /* virtual clock only: the initial time */
    const rc_allocator *alloc; /* NULL: the C library */
} rc_loop_opts;

/* Create a loop.  opts may be NULL (virtual clock at t=0). */
int rc_loop_new(rc_loop **out, const rc_loop_opts *opts);
/* Free a loop.  Every cue on it must have been freed first. */
void rc_loop_free(rc_loop *loop);

/* The loop's current time.  Stable during one callback on the virtual clock. */
rc_time rc_loop_now(const rc_loop *loop);
rc_clock_kind rc_loop_clock(const rc_loop *loop);
/* The message about the last failure on this loop ("" if none). */
const char *rc_loop_errmsg(const rc_loop *loop);

typedef enum rc_run_mode {
    RC_RUN_DEFAULT = 0, /* until nothing keeps the loop alive or rc_loop_stop() */
    RC_RUN_ONCE = 1,    /* one iteration; may wait for the next due thing */
    RC_RUN_NOWAIT = 2,  /* one iteration; never waits */
} rc_run_mode;

/*
 * Run the loop.  The loop is alive while it has a referenced timer, a
 * watched fd, or a reference taken with rc_loop_ref() (a cue holds one while
 * work is running).  Returns 1 if the loop is still alive, 0 if it went idle,
 * or a negative code on a system error.
 *
 * On the virtual clock an idle return while a cue still has pending work is
 * an exact stall: nothing running, nothing scheduled that could unblock it.
 */
int rc_loop_run(rc_loop *loop, rc_run_mode mode);
/* Run until the clock reaches `until` (or idle/stop).  Timers due at exactly
 * `until` run.  On the virtual clock the time is then set to `until`. */
int rc_loop_run_until(rc_loop *loop, rc_time until);
/* When the next timer (referenced or not) is due; RC_TIME_NEVER if none.
 * Lets a driver pace virtual time to a wall clock, or step it. */
rc_time rc_loop_next_timer(const rc_loop *loop);
/* Whether the calling thread is the loop's (the last to run it).  Any thread. */
bool rc_loop_on_thread(const rc_loop *loop);
/* Make rc_loop_run return after the current iteration.  Any thread. */
void rc_loop_stop(rc_loop *loop);

void rc_loop_ref(rc_loop *loop);
void rc_loop_unref(rc_loop *loop);

/* Timers.  The caller owns the rc_timer memory; the fields are private. */
typedef struct rc_timer rc_timer;
typedef void (*rc_timer_fn)(rc_loop *loop, rc_timer *timer, void *arg);
struct rc_timer {
    rc_time when;
    uint64_t seq;
    size_t heap_index;
    rc_timer_fn cb;
    void *arg;
    unsigned flags;
};

void rc_timer_init(rc_timer *timer, rc_timer_fn cb, void *arg);
/* (Re)arm for absolute time `when` (clamped to now).  Timers due at the same
 * time fire in the order they were armed. */
int rc_timer_start(rc_loop *loop, rc_timer *timer, rc_time when);
void rc_timer_stop(rc_loop *loop, rc_timer *timer);
bool rc_timer_active(const rc_timer *timer);
/* An unreferenced timer fires but does not keep the loop alive by itself.
 * On an armed timer the change takes effect when it is next armed. */
void rc_timer_set_ref(rc_timer *timer, bool ref);

/* Call fn(arg) once at absolute time `when`; the loop owns the timer. */
typedef void (*rc_call_fn)(rc_loop *loop, void *arg);
int rc_loop_call_at(rc_loop *loop, rc_time when, rc_call_fn fn, void *arg);

/*
 * Deferred calls: run fn(arg) at the end of the current loop iteration, after
 * every timer due now, in the order they were requested.  A call requested
 * while deferred calls run lands in the next round of the same iteration
 * (after the timers that round made due).
 *
 * rc_defer is a handle the caller owns, like rc_timer: requesting it is O(1)
 * and never allocates, requesting it again before it ran does nothing, and it
 * can be cancelled.  The fields are private.  A pending handle keeps the loop
 * alive.  Cancel it before freeing its memory.
 */
typedef struct rc_defer rc_defer;
struct rc_defer {
    rc_defer *prev, *next; /* in the loop's list while pending; NULL otherwise */
    rc_call_fn fn;
    void *arg;
};
void rc_defer_init(rc_defer *defer, rc_call_fn fn, void *arg);
void rc_defer_request(rc_loop *loop, rc_defer *defer);
void rc_defer_cancel(rc_loop *loop, rc_defer *defer);
bool rc_defer_pending(const rc_defer *defer);

/* The same without a handle: the loop allocates one.  Many defers of the same
 * (fn, arg) in one iteration run once.  RC_ENOMEM if it cannot allocate. */
int rc_loop_defer(rc_loop *loop, rc_call_fn fn, void *arg);

/* Run fn(arg) on the loop thread soon.  Any thread; wakes a sleeping loop.
 * Returns RC_ENOMEM if the message could not be queued. */
int rc_loop_post(rc_loop *loop, rc_call_fn fn, void *arg);

/* Watch a file descriptor (monotonic clock only).  events: RC_READABLE and/or
 * RC_WRITABLE.  The callback receives the events that are ready, plus
 * RC_HANGUP/RC_ERROR when the kernel reports them. */
enum { RC_READABLE = 1, RC_WRITABLE = 2, RC_HANGUP = 4, RC_ERROR = 8 };
typedef void (*rc_fd_fn)(rc_loop *loop, int fd, unsigned events, void *arg);
int rc_loop_watch_fd(rc_loop *loop, int fd, unsigned events, rc_fd_fn cb, void *arg);
int rc_loop_unwatch_fd(rc_loop *loop, int fd);

/* ------------------------------------------------------------------ */
/* Cue                                                                 */
/* ------------------------------------------------------------------ */

typedef struct rc_cue rc_cue;
typedef struct rc_work rc_work;
typedef struct rc_key rc_key; /* an artifact key the cue keeps (see rc_key_hold) */
typedef uint64_t rc_work_id; /* 1, 2, 3 ... in submission order, per cue */

typedef struct rc_cue_opts {
    /* Seconds; 0 turns each off.  With the README's meanings:
     * pending_*: measured from when the work entered the pending state;
     * stall_*:   measured from the last start, completion, failure or skip
     *            while work is pending.  Warnings fire once (per work item;
     *            per stall). */
    double pending_warn_after;
    double pending_timeout;
    double stall_warn_after;
    double stall_timeout;
    /* Re-check every waiting (not ready) item this often, for artifact
     * changes the core cannot be told about.  0: only on notifications. */
    double poll_interval;
    /* With a priority callback: re-evaluate the priority of queued work this
     * often, so a callback that ages work by wait_time can prevent
     * starvation.  0: priority is evaluated when work is queued. */
    double priority_refresh;
    /* Keep at most this many finished work items for rc_get/rc_list (the
     * oldest finished are forgotten first).  0: keep all. */
    size_t retain_finished;
    /* Forget finished work that declared no `produces` keys at the next
     * dispatch pass, whatever retain_finished says: memory then grows with
     * what is pending and with the producers, not with everything ever
     * submitted.  Finished producers stay (within retain_finished), since the
     * wait-for diagnosis (rc_diagnose) names them as roots. */
    bool forget_non_producers;
    /* Forget completed producers too (at the next dispatch pass), keeping of
     * each only what the wait-for diagnosis names it by -- its id, task,
     * label and when it finished -- on the keys it produced: memory then
     * grows with what is pending, failed and with the keys, not with every
     * finished producer.  rc_get() no longer finds them.  Diagnoses and
     * rc_debug_blocked read the same as if they were kept, with
     * retain_finished 0 (with a cap, forgotten completed producers no longer
     * count against it, so the failed ones it keeps differ).  Non-producers
     * are forget_non_producers' business. */
    bool forget_completed;
    /* The application's is_ready and is_stale read only a work's declared
     * needs and produces (and changes announced cue-wide): then the check
     * right before a work starts is skipped when no announcement named one
     * of its declared keys since its last check -- the answer would be the
     * same.  Work with result inputs is checked again as without it.  Off:
     * any announcement since the last check means a new check. */
    bool recheck_declared_only;
    /* Announce a work's declared `produces` keys as changed when it completes
     * or is skipped (see rc_artifacts_changed).  Default on; set
     * no_auto_notify to turn it off. */
    bool no_auto_notify;
    const rc_allocator *alloc;
} rc_cue_opts;

/* Create a cue on `loop`.  opts may be NULL (all defaults).  A bad option
 * is RC_EINVAL, named in rc_loop_errmsg(loop) (there is no cue to hold it). */
int rc_cue_new(rc_cue **out, rc_loop *loop, const rc_cue_opts *opts);
/* Free a cue and all its work.  Must not be called from a callback or while
 * work is running: a later rc_complete() would have no cue to reach. */
void rc_cue_free(rc_cue *cue);
rc_loop *rc_cue_loop(const rc_cue *cue);
/* The message about the last failure on this cue ("" if none). */
const char *rc_cue_errmsg(const rc_cue *cue);

/* Stop (paused = true) or resume dispatching new work.  Running work goes on;
 * pending work stays pending.  Time while paused is no stall: the stall clock
 * (stall_warn_after, stall_timeout) stops, and starts afresh at the resume;
 * pending_warn_after and pending_timeout go on counting (an item's own). */
void rc_cue_pause(rc_cue *cue, bool paused);
bool rc_cue_paused(const rc_cue *cue);

/* ------------------------------------------------------------------ */
/* Services                                                            */
/* ------------------------------------------------------------------ */

#define RC_NO_LIMIT (-1)

/*
 * Register a service: a bucket of limits, not an executor.
 *   rate:       NULL for none, or "N/unit" with unit sec|s|second, min|m|minute,
 *               hour|h|hr (and their plurals), or "N/S": N starts per S seconds
 *               (S may be fractional, e.g. "5/0.5").  Never more than N starts
 *               in ANY window of that length (a sliding window).
 *   concurrent: at most this many running at once, or RC_NO_LIMIT.
 * Errors: RC_EINVAL (bad name, rate or limit), RC_EEXIST (duplicate name).
 * Nothing is registered on error.
 */
int rc_service(rc_cue *cue, const char *name, const char *rate, int concurrent);
/* The same with the rate as numbers: count starts per window_s seconds;
 * count 0 means no rate limit. */
int rc_service_limits(rc_cue *cue, const char *name, unsigned count, double window_s,
                      int concurrent);

/* Parse a rate string as rc_service() does.  On error writes a message of at
 * most errlen bytes into err (if not NULL). */
int rc_parse_rate(const char *rate, unsigned *count, double *window_s, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Tasks, handlers, completion                                         */
/* ------------------------------------------------------------------ */

/* Finishes one attempt of one work item.  A value: copy it freely. */
typedef struct rc_token {
    rc_work_id work_id;
    uint32_t attempt;
    void *hint_; /* private to the cue */
} rc_token;

/*
 * A task handler starts the work.  It must finish the attempt exactly once,
 * now or later, with rc_complete() or rc_fail().  `work` is valid until then.
 */
typedef void (*rc_handler_fn)(rc_cue *cue, const rc_work *work, rc_token token, void *ud);

/*
 * Register a task.  service may be NULL (no limits).  handler may be NULL:
 * work for the task may be submitted and waits as unknown_task until
 * rc_task_set_handler() provides one.
 * Errors: RC_EINVAL (bad name), RC_EEXIST, RC_ENOENT (unknown service).
 */
int rc_task(rc_cue *cue, const char *name, const char *service, rc_handler_fn handler, void *ud);
int rc_task_set_handler(rc_cue *cue, const char *name, rc_handler_fn handler, void *ud);

/*
 * Retries.  A failure that says it is retryable (rc_retry()) is attempted
 * again after a backoff, up to max_attempts attempts in all; on_failure comes
 * only after the last.  Backoff before attempt k+1: base * (exponential ?
 * 2^(k-1) : 1), capped at max_s (0: no cap), then spread by +/- jitter
 * fraction (0..1) drawn from a generator seeded with `seed`.
 */
/* The most attempts a retry policy allows (rc_task_retry refuses more). */
enum { RC_MAX_ATTEMPTS = 65535 };

typedef struct rc_retry_policy {
    unsigned max_attempts; /* 1 to RC_MAX_ATTEMPTS; 1 means no retries */
    double base_s;
    double max_s;
    bool exponential;
    double jitter;
    uint64_t seed;
} rc_retry_policy;
int rc_task_retry(rc_cue *cue, const char *name, const rc_retry_policy *policy);

/*
 * Finish an attempt.  rc_complete takes ownership of result (may be NULL).
 * rc_fail: the attempt failed for good.  rc_retry: the attempt failed and may
 * be retried under the task's retry policy (a plain failure without one).
 *
 * A second finish of the same attempt returns RC_ESTALE and changes nothing;
 * it is also counted in rc_stats.stale_finishes.  Any thread: from a thread
 * other than the loop's, the finish is posted to the loop and the call returns
 * 0 at once (a stale finish is then only counted).
 */
int rc_complete(rc_cue *cue, rc_token token, cJSON *result);
int rc_fail(rc_cue *cue, rc_token token, const char *error);
int rc_retry(rc_cue *cue, rc_token token, const char *error);

/*
 * Report progress of a running attempt: fraction 0..1 and an optional
 * message (copied; at most RC_PROGRESS_MSG_MAX-1 bytes are kept).  The work
 * keeps the latest report (rc_work_get_info) until its next attempt starts,
 * and an RC_EV_PROGRESS event carries it (event.progress, detail: the
 * message).  Progress does not count as progress for the stall clock.
 * Errors: RC_EINVAL (fraction NaN or outside 0..1), RC_ESTALE (the attempt
 * is over), RC_ENOENT.  Any thread: from a thread other than the loop's, the
 * report is posted to the loop and the call returns 0 at once (a stale
 * report is then dropped).
 */
#define RC_PROGRESS_MSG_MAX 128
int rc_progress(rc_cue *cue, rc_token token, double fraction, const char *message);

/* ------------------------------------------------------------------ */
/* Work                                                                */
/* ------------------------------------------------------------------ */

typedef enum rc_state {
    RC_PENDING = 0,
    RC_RUNNING,
    RC_COMPLETED, /* includes skipped work: see rc_work_skipped() */
    RC_FAILED,
    RC_CANCELLED,
} rc_state;
const char *rc_state_name(rc_state state); /* "pending", ... */

/* The most needs, and the most produces, one work declares. */
enum { RC_MAX_DECLARED = 65535 };

typedef struct rc_submit_opts {
    /* JSON params for the handler.  On success the cue owns it; on error the
     * caller still does.  NULL: an empty object. */
    cJSON *params;
    /* Artifact keys this work needs and produces (copied).  Optional; with
     * them rc_diagnose() can name the producer a blocked item waits for. */
    const char *const *needs;
    size_t n_needs; /* at most RC_MAX_DECLARED; more is refused (RC_EINVAL) */
    const char *const *produces;
    size_t n_produces; /* at most RC_MAX_DECLARED */
    /* Not before now + delay_s (seconds), and not before not_before (an
     * absolute time on the loop's clock; 0: none): the later of the two.
     * Waits as "delayed until t" until then. */
    double delay_s;
    rc_time not_before;
    /* A short name for logs and diagnosis (copied).  Optional. */
    const char *label;

    /* Result artifacts (optional; what workflows are built from, see
     * runcue_canvas.h).  result_key: when this work completes, the cue keeps
     * a copy of its result under that key.  inputs: result keys this work
     * needs; it is not ready (waiting on the key, before is_ready is asked)
     * until each has a value, and when an attempt starts its params get
     * params[input_param] = the single input's value, or, with input_list or
     * several inputs, an array of the values in the order of `inputs`
     * (input_param NULL: "input").  Keys are copied.
     *
     * Memory rule: a result artifact is kept while some unfinished work
     * (pending or running) lists its key in `inputs`, and is freed when the
     * last of them completes, fails, is skipped or is cancelled; if nothing
     * lists it when its producer completes, it is not kept at all (the result
     * stays readable through rc_get until the producer is forgotten, see
     * retain_finished).  So submit consumers no later than their producers'
     * completion -- workflows submit all their steps at once.  A consumer's
     * params hold their own copy of its inputs for as long as the work is
     * kept. */
    const char *result_key;
    const char *const *inputs;
    size_t n_inputs;
    const char *input_param;
    bool input_list;

    /* The caller's pointer for this work, handed back by rc_work_ud().  The
     * cue never reads or frees it; the caller keeps what it points to alive
     * for as long as the work is kept. */
    void *ud;

    /* Optional: this cue's entries of the declared keys, needs first then
     * produces (from rc_key_hold or rc_work_key on this cue, and alive: held,
     * or declared by live work), so they are not looked up again.  A NULL element is looked up from its string; where an entry is
     * given, the string may be NULL (and is not read). */
    rc_key *const *keys;
} rc_submit_opts;

/*
 * Queue work for `task`.  opts may be NULL.  *out_id (if not NULL) receives
 * the new id.  May be called from handlers and callbacks (fan-out).
 * Errors: RC_ENOENT (unknown task), RC_EINVAL, RC_ENOMEM.
 */
int rc_submit(rc_cue *cue, const char *task, const rc_submit_opts *opts, rc_work_id *out_id);

/* Look up work by id; NULL if unknown (or forgotten, see retain_finished).
 * The pointer is valid until the next call into the cue that can finish or
 * free work; copy what you need. */
const rc_work *rc_get(const rc_cue *cue, rc_work_id id);

/* Fill `out` with up to `max` items in submission order that match the
 * filters (state < 0: any; task NULL: any).  Returns how many were written;
 * with out NULL, how many match (max is then ignored). */
size_t rc_list(const rc_cue *cue, int state, const char *task, const rc_work **out, size_t max);

/*
 * Cancel work.  Pending: it becomes cancelled (on_event CANCELLED).
 * Errors: RC_ERUNNING (it will finish through its handler), RC_EFINISHED,
 * RC_ENOENT.
 */
int rc_cancel(rc_cue *cue, rc_work_id id);

/* Work accessors.  Strings are owned by the work. */
rc_work_id rc_work_get_id(const rc_work *w);
const char *rc_work_task(const rc_work *w);
const char *rc_work_service(const rc_work *w); /* NULL if the task has none */
const char *rc_work_label(const rc_work *w);   /* NULL if none was given */
const cJSON *rc_work_params(const rc_work *w);
unsigned rc_work_attempt(const rc_work *w); /* 1, 2, ... */
/* The most attempts its task allows (rc_task_retry's max_attempts; 1 without a
 * policy).  0 if w is NULL. */
unsigned rc_work_max_attempts(const rc_work *w);
rc_state rc_work_state(const rc_work *w);
bool rc_work_skipped(const rc_work *w);
rc_time rc_work_created(const rc_work *w);
rc_time rc_work_started(const rc_work *w);  /* of the last attempt; -1 if never */
rc_time rc_work_finished(const rc_work *w); /* -1 if not finished */
const cJSON *rc_work_result(const rc_work *w);
const char *rc_work_error(const rc_work *w); /* NULL unless failed */
/* Whether the last finished attempt ended with rc_retry (not rc_fail): a
 * failed work whose handler asked for another attempt that its task's retry
 * policy did not grant.  A transport that forwards the outcome elsewhere
 * passes that on. */
bool rc_work_retry_asked(const rc_work *w);
/* The priority the cue's priority hook gives w now (0..1, as it orders the
 * queue), or 0.5 without a hook or with a NULL argument.  For a transport
 * that hands work on to another queue (the Redis transport does).  The
 * loop thread. */
double rc_work_priority(rc_cue *cue, const rc_work *w);
size_t rc_work_needs(const rc_work *w, const char *const **keys);
/* rc_submit_opts.ud of the work (NULL if none, or w NULL).  Any thread that
 * may read the work. */
void *rc_work_ud(const rc_work *w);
size_t rc_work_produces(const rc_work *w, const char *const **keys);

/*
 * Result states: what became of a work, in the words task queues use.
 *
 *   runcue             ouroboros   when
 *   RC_ST_PENDING      PENDING     submitted, waiting to start (RECEIVED
 *                                  has no separate state: the cue holds the
 *                                  work from submission)
 *   RC_ST_STARTED      STARTED     an attempt is running
 *   RC_ST_RETRYING     RETRY       an attempt failed and another is due
 *   RC_ST_COMPLETED    SUCCESS     completed (or skipped: its output was valid)
 *   RC_ST_FAILED       FAILURE     failed for good (handler or timeout)
 *   RC_ST_CANCELLED    REVOKED     cancelled before it started
 */
typedef enum rc_status {
    RC_ST_PENDING = 0,
    RC_ST_STARTED,
    RC_ST_RETRYING,
    RC_ST_COMPLETED,
    RC_ST_FAILED,
    RC_ST_CANCELLED,
} rc_status;
const char *rc_status_name(rc_status status); /* "pending", "started", ... */

/* Everything rc_get knows about a work, at once.  Pointers are owned by the
 * work and valid as long as rc_get's pointer is. */
typedef struct rc_work_info {
    rc_status status;
    bool ready;          /* finished: completed, failed or cancelled */
    unsigned attempts;   /* attempts started or due (1, 2, ...) */
    rc_time created;
    rc_time started_at;  /* of the last attempt; -1 if never started */
    rc_time finished_at; /* -1 if not finished */
    double progress;     /* the running attempt's last rc_progress; -1 if none */
    const char *progress_message; /* "" if none */
    const char *last_error; /* the last attempt's error (also while retrying); NULL if none */
    const cJSON *result;    /* completed: the result (may be NULL) */
} rc_work_info;
void rc_work_get_info(const rc_work *w, rc_work_info *out);

/* The value of a result artifact (see rc_submit_opts.result_key) while the
 * cue keeps it, else NULL.  Owned by the cue. */
const cJSON *rc_result_artifact(const rc_cue *cue, const char *key);

/*
 * Waiting, from the loop thread: drive the loop (rc_loop_run, one iteration
 * at a time) until every listed work is finished (completed, failed, skipped
 * or cancelled, or forgotten after finishing).  timeout_s on the loop's clock
 * (virtual seconds on the virtual clock); negative: no timeout.
 * Returns 0 when all are finished -- whatever their outcome: look at
 * rc_work_get_info --, RC_ETIMEDOUT, RC_EBLOCKED (the loop went idle first:
 * the work can never finish; rc_diagnose says why), RC_ENOENT (an id is
 * unknown), RC_ESTATE (someone else stopped the loop), or a negative loop
 * error; rc_cue_errmsg says which work (how many of them were left, or the
 * unknown id).  Other cues on the loop run meanwhile.  Not from a
 * callback or handler (the loop is already running there).
 */
int rc_wait(rc_cue *cue, rc_work_id id, double timeout_s);
int rc_wait_all(rc_cue *cue, const rc_work_id *ids, size_t n, double timeout_s);


/* ------------------------------------------------------------------ */
/* Checks and callbacks                                                */
/* ------------------------------------------------------------------ */

/* Passed to is_ready / is_stale so they can say more than yes or no. */
typedef struct rc_check rc_check;
/* The artifact key the work waits on.  Keyed waits are re-checked only when
 * that key (or "all") is announced changed; unkeyed waits on any change.
 * Call it once per unmet key: the first one files the work (it is re-checked
 * when that key changes); every one that is a declared need is remembered,
 * so rc_diagnose follows all of an item's unmet needs, not just the first. */
void rc_check_wait_on(rc_check *check, const char *key);
/* A sentence for debug_blocked ("input pages/003.png missing"). */
void rc_check_detail(rc_check *check, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The same with the sentence as it is (no format): for checks that build
 * their text themselves, as the simulator does on every not-ready check. */
void rc_check_detail_text(rc_check *check, const char *text);
/* The sentence prefix + key + suffix, as rc_check_detail_text would keep it
 * (cut at 255 bytes).  When key is the key the check waits on (an earlier
 * rc_check_wait_on named it), nothing is formatted or copied but the words:
 * the cue keeps each prefix and suffix once and the work points at them, so
 * a check that says "waiting on 'KEY'" of a million keys costs no text.
 * Any of the strings may be the caller's temporaries. */
void rc_check_detail_around(rc_check *check, const char *prefix, const char *key,
                            const char *suffix);

typedef struct rc_priority_ctx {
    double wait_time;   /* seconds since the work was submitted */
    size_t queue_depth; /* pending work in the cue */
} rc_priority_ctx;

/* How a work failed, for on_failure. */
typedef enum rc_fail_kind {
    RC_FAIL_HANDLER = 0,     /* rc_fail / rc_retry with no attempts left */
    RC_FAIL_PENDING_TIMEOUT, /* pending longer than pending_timeout */
    RC_FAIL_STALL_TIMEOUT,   /* the cue made no progress for stall_timeout */
} rc_fail_kind;

typedef enum rc_event_kind {
    RC_EV_QUEUED = 0,
    RC_EV_STARTED,
    RC_EV_COMPLETED,
    RC_EV_FAILED,
    RC_EV_SKIPPED,
    RC_EV_CANCELLED,
    RC_EV_RETRY,           /* an attempt failed; another is scheduled */
    RC_EV_PENDING_WARNING, /* work pending longer than pending_warn_after */
    RC_EV_STALL_WARNING,   /* no progress for stall_warn_after (work NULL) */
    RC_EV_TIMEOUT,         /* work failed by pending or stall timeout */
    RC_EV_STALE_FINISH,    /* a second finish of one attempt was refused */
    RC_EV_STALLED,         /* stall_timeout reached: sent while all the work it is
                              about to fail is still pending (work NULL), so an
                              observer can call rc_debug_blocked/rc_diagnose */
    RC_EV_ARTIFACTS_CHANGED, /* rc_artifacts_changed (work NULL); detail: the key,
                                or "all" */
    RC_EV_PROGRESS,          /* rc_progress: event.progress, detail: the message */
    RC_EV__COUNT
} rc_event_kind;
const char *rc_event_name(rc_event_kind kind); /* "queued", ... */

typedef struct rc_event {
    rc_event_kind kind;
    rc_time time;
    const rc_work *work; /* NULL for cue-wide events */
    const char *detail;  /* never NULL; "" if nothing to add */
    double duration;     /* COMPLETED/FAILED: run seconds; warnings: waited seconds */
    size_t pending;      /* STALL_WARNING: pending count */
    double progress;     /* PROGRESS: 0..1; otherwise 0 */
} rc_event;

/*
 * The application's side of the contract.  Every member may be NULL.
 *
 * is_ready: 1 ready, 0 not ready, negative = the check failed, which counts
 *           as not ready.  NULL: always ready.
 * is_stale: 1 stale (run it), 0 output valid (skip it), negative = the check
 *           failed, which counts as stale.  NULL: always stale.
 *           Both are asked when work is first considered and again right
 *           before it starts if any artifact change was announced since
 *           (with rc_cue_opts.recheck_declared_only: a change of one of its
 *           declared keys, or a cue-wide one).
 * priority: 0.0 (lowest) .. 1.0 (highest), clamped; NaN means 0.5.  NULL:
 *           first in, first out by submission.  Equal priorities are FIFO.
 * on_*:     notifications, called on the loop thread after the state change.
 *           They may submit and cancel work.  on_event sees every event (the
 *           typed callbacks are called first).
 * If pending/stall warnings are configured but their callbacks are NULL, a
 * line is printed to stderr, as the README describes.
 */
typedef struct rc_hooks {
    int (*is_ready)(rc_cue *cue, const rc_work *work, rc_check *check, void *ud);
    int (*is_stale)(rc_cue *cue, const rc_work *work, rc_check *check, void *ud);
    double (*priority)(rc_cue *cue, const rc_work *work, const rc_priority_ctx *ctx, void *ud);
    void (*on_start)(rc_cue *cue, const rc_work *work, void *ud);
    void (*on_complete)(rc_cue *cue, const rc_work *work, const cJSON *result, double duration_s,
                        void *ud);
    void (*on_failure)(rc_cue *cue, const rc_work *work, rc_fail_kind kind, const char *error,
                       void *ud);
    void (*on_skip)(rc_cue *cue, const rc_work *work, void *ud);
    void (*on_pending_warning)(rc_cue *cue, const rc_work *work, double pending_s, void *ud);
    void (*on_stall_warning)(rc_cue *cue, double since_progress_s, size_t pending, void *ud);
    void (*on_event)(rc_cue *cue, const rc_event *event, void *ud);
    void *ud;
} rc_hooks;

/* Install hooks (copied).  May be called at any time on the loop thread. */
void rc_cue_set_hooks(rc_cue *cue, const rc_hooks *hooks);

/*
 * Observers watch a cue without the cue knowing who they are: the live
 * segment (runcue_shm.h), the simulator's event log, a metrics exporter.  A
 * cue has any number.  The caller owns the struct, like rc_timer: fill the
 * public members, then rc_cue_observe; it must stay valid until it is
 * removed or the cue is freed.
 *
 *   on_event     every event, before hooks.on_event sees it, observers in the
 *                order they were added.  The same rules as hooks.on_event.
 *   kinds        the kinds of event on_event is called for, as bits
 *                (1u << RC_EV_...); 0, as a zeroed struct has it: all.  An
 *                observer that needs few kinds saves a call per event, and
 *                rc_cue_last_event still says when the others were sent.
 *   on_settled   once at the end of a loop iteration in which the cue emitted
 *                events, ran a dispatch pass or was paused or resumed, at a
 *                moment when no dispatch pass is pending: rc_cue_stats,
 *                rc_service_get and rc_debug_blocked then show the state that
 *                instant settled into.  It may not submit or cancel work.
 *   on_cue_free  rc_cue_free is freeing the cue; the cue is still whole.  The
 *                observer is removed after this call.
 *
 * Each may be NULL.  An observer may remove itself from inside its own
 * callback.  Loop thread only.
 */
typedef struct rc_observer rc_observer;
struct rc_observer {
    void (*on_event)(rc_cue *cue, const rc_event *event, void *ud);
    void (*on_settled)(rc_cue *cue, void *ud);
    void (*on_cue_free)(rc_cue *cue, void *ud);
    void *ud;
    uint32_t kinds;     /* RC_EV_* bits for on_event; 0: every kind */
    rc_observer *next_; /* private */
    rc_cue *cue_;       /* private: the cue it observes, or NULL */
};
/* Errors: RC_EINVAL (NULL), RC_ESTATE (it already observes a cue). */
int rc_cue_observe(rc_cue *cue, rc_observer *observer);
/* Errors: RC_ENOENT (it does not observe this cue). */
int rc_cue_unobserve(rc_cue *cue, rc_observer *observer);
/* The time of the latest event of the given kinds (RC_EV_* bits; 0: any)
 * the cue sent while it had an observer or an on_event hook, whether or
 * not an observer's kinds let it through; -1 if none (or cue NULL). */
rc_time rc_cue_last_event(const rc_cue *cue, uint32_t kinds);

/*
 * The callback form: done(cue, ud) is called once, on the loop thread, when
 * every listed work is finished (as for rc_wait).  The caller owns the
 * rc_waiter and the ids (distinct; they must stay valid while it waits),
 * like rc_timer: nothing is allocated.  It observes the cue
 * (rc_cue_observe) until done is called, rc_waiter_cancel, or the cue is
 * freed.  If all are already finished, done is called from a deferred call
 * at the end of the current loop iteration.  Errors: RC_EINVAL, RC_ENOENT
 * (an id is unknown; nothing set up), RC_ESTATE (the waiter is in use).
 */
typedef struct rc_waiter rc_waiter;
typedef void (*rc_waiter_fn)(rc_cue *cue, void *ud);
struct rc_waiter {
    rc_observer obs_;       /* private */
    rc_defer defer_;        /* private */
    rc_cue *cue_;           /* private: NULL when idle */
    const rc_work_id *ids_; /* private */
    size_t n_, left_;       /* private */
    bool sorted_;           /* private */
    rc_waiter_fn done_;     /* private */
    void *ud_;              /* private */
};
int rc_waiter_start(rc_waiter *waiter, rc_cue *cue, const rc_work_id *ids, size_t n,
                    rc_waiter_fn done, void *ud);
/* Stop waiting; done is not called.  Safe on a waiter that finished. */
void rc_waiter_cancel(rc_waiter *waiter);

/*
 * Tell the cue artifacts changed: waiting work is re-checked in the next
 * dispatch pass.  key NULL: every waiting item.  Otherwise: items waiting on
 * that key plus items whose wait has no key.  Work already queued behind a
 * service is re-checked before it starts.
 */
int rc_artifacts_changed(rc_cue *cue, const char *key);

/*
 * Artifact key handles.  The cue keeps each artifact key once: a work's
 * declared needs and produces are resolved to the cue's entries when it is
 * submitted, and its rc_work_needs()/rc_work_produces() strings are those
 * entries' text.  A program that names the same keys again and again (an
 * artifact store, a file watcher) can hold an entry and skip the lookups:
 *
 *   rc_key *k = rc_key_hold(cue, "pages/003.png");   one lookup, here
 *   rc_key_set_ud(k, my_record);                      a pointer of yours
 *   ...
 *   rc_artifacts_changed_key(cue, k);                 no lookup
 *   rc_key_release(cue, k);
 *
 * rc_work_key(w, i) is the entry of the work's i-th declared key (needs
 * first, then produces), valid while the work is (hold it to keep it).  The
 * ud pointer stays with the entry while anything holds it or declares the
 * key; an entry nothing refers to any more is freed, and a later hold of the
 * same key makes a new one (with ud NULL).  An entry belongs to its cue:
 * never hand one cue's entry to another.  All of these are for the loop's
 * thread.
 */
/* The entry of `key` (made if the cue has none), held once more.  NULL:
 * cue or key NULL or empty, or out of memory. */
rc_key *rc_key_hold(rc_cue *cue, const char *key);
/* rc_key_hold of n keys at once: out[i] is keys[i]'s entry.  The table's
 * cache misses of the n lookups overlap, so a program that makes several
 * new keys together (the outputs of the work it is about to submit) holds
 * them in about the time of one.  0, RC_EINVAL (cue, keys or out NULL, or a
 * key NULL or empty; nothing held) or RC_ENOMEM (nothing held). */
int rc_key_hold_n(rc_cue *cue, const char *const *keys, size_t n, rc_key **out);
/* Make room in the cue's key table for n keys in all, so that it does not
 * grow (and move every entry) while a program that knows how many keys it
 * will make makes them.  The table is made as large as n keys need (at
 * most 70% full, in steps of 64 slots), not rounded up to a power of two,
 * and it doubles from there if more come.  A hint: nothing else changes.
 * 0, RC_EINVAL (cue NULL) or RC_ENOMEM (the table as it was). */
int rc_key_reserve(rc_cue *cue, size_t n);
/* How many keys the cue keeps now (declared by work, held, waited on) in
 * *keys, and how many its table holds before it grows in *room (either may
 * be NULL; a NULL cue gives 0s). */
void rc_key_counts(const rc_cue *cue, size_t *keys, size_t *room);
/* Hold an entry you have (rc_work_key) once more, without a lookup.
 * Returns key, or NULL (cue or key NULL, or held 4 billion times). */
rc_key *rc_key_hold_key(rc_cue *cue, rc_key *key);
/* Let go of one rc_key_hold or rc_key_hold_key.  NULL is ignored. */
void rc_key_release(rc_cue *cue, rc_key *key);
const char *rc_key_name(const rc_key *key);
void *rc_key_ud(const rc_key *key);
void rc_key_set_ud(rc_key *key, void *ud);
/* The entry of declared key i of w: needs[0..n_needs), then produces.  NULL
 * if i is out of range. */
rc_key *rc_work_key(const rc_work *w, size_t i);
/* Ask for the cache lines of w's key entries (their ud) ahead of reading
 * them: an is_ready that reads the ud of several needs calls it first, and
 * their cache misses overlap.  A hint only; w NULL is ignored. */
void rc_work_prefetch_keys(const rc_work *w);
/* rc_artifacts_changed(cue, rc_key_name(key)), without the lookup. */
int rc_artifacts_changed_key(rc_cue *cue, rc_key *key);

/* ------------------------------------------------------------------ */
/* Introspection and diagnosis                                         */
/* ------------------------------------------------------------------ */

typedef struct rc_stats {
    uint64_t submitted;
    uint64_t completed; /* not counting skipped */
    uint64_t failed;    /* including timeouts */
    uint64_t skipped;
    uint64_t cancelled;
    uint64_t retries;
    size_t pending; /* all pending work: unchecked + waiting + queued + delayed */
    size_t running;
    size_t waiting; /* pending and not ready (or no handler) */
    size_t queued;  /* pending, ready, held back by a service limit */
    size_t delayed;
    uint64_t passes;         /* dispatch passes run */
    uint64_t checks;         /* is_ready calls */
    uint64_t stale_finishes; /* refused second finishes */
    rc_time last_progress;
} rc_stats;
void rc_cue_stats(const rc_cue *cue, rc_stats *out);

typedef struct rc_service_info {
    const char *name;
    int concurrent; /* RC_NO_LIMIT if none */
    unsigned rate_count; /* 0 if no rate limit */
    double rate_window;  /* seconds */
    size_t running;
    size_t peak_running;
    size_t queued;          /* ready work waiting for this service */
    size_t waiting;         /* pending work of its tasks that is not ready (or
                               has no handler) */
    size_t starts_in_window; /* starts in the last rate_window */
    uint64_t started, completed, failed;
    rc_time next_start; /* when the rate limit next allows a start; <= now if it does */
} rc_service_info;
/* Services in registration order, index 0 .. rc_service_count()-1. */
size_t rc_service_count(const rc_cue *cue);
int rc_service_get(const rc_cue *cue, size_t index, rc_service_info *out);

typedef enum rc_block_reason {
    RC_BLOCK_UNCHECKED = 0, /* submitted; the next dispatch pass looks at it */
    RC_BLOCK_NOT_READY,
    RC_BLOCK_SERVICE_FULL,
    RC_BLOCK_RATE_LIMITED,
    RC_BLOCK_UNKNOWN_TASK,
    RC_BLOCK_DELAYED,
    RC_BLOCK_PAUSED,
    RC_BLOCK_REMOTE, /* running here, waiting in a remote queue (rc_work_set_remote_status) */
} rc_block_reason;
const char *rc_block_reason_name(rc_block_reason r); /* "not_ready", ... */

typedef struct rc_blocked {
    rc_work_id id;
    const char *task;
    const char *service;  /* NULL if none */
    const char *label;    /* NULL if none */
    rc_block_reason reason;
    const char *wait_key; /* not_ready: the key waited on, if known; else NULL */
    char detail[256];     /* a sentence a person can act on */
    rc_time since;        /* when it became pending */
    /* not_ready on a key, for work that declared needs: who would produce
     * wait_key (see rc_wait_edge; has_producer_info false: not known), and
     * how many declared needs the last check found unmet (0: not known). */
    bool has_producer_info;
    rc_work_id producer; /* 0: no work produces it */
    rc_state producer_state;
    bool producer_skipped;
    size_t n_unmet;
} rc_blocked;

/*
 * For transports that run work elsewhere: why running work `id` has not
 * started there yet, as a sentence ("remote: 3 leased, 12 queued; global rate
 * 60 per 60s reached, next start in 4.2s").  The text is copied (at most
 * RC_REMOTE_STATUS_MAX - 1 bytes); NULL or "" clears it, and so does the
 * work's next start.  While the work runs with a status set, rc_debug_blocked
 * lists it too, with reason RC_BLOCK_REMOTE and the text as its detail.
 * Errors: RC_EINVAL, RC_ENOENT (no such work), RC_ESTATE (not running).
 * Loop thread.
 */
#define RC_REMOTE_STATUS_MAX 256
int rc_work_set_remote_status(rc_cue *cue, rc_work_id id, const char *text);

/* Every pending item and why it waits, in submission order, then running
 * items waiting remotely (RC_BLOCK_REMOTE).  *out is an array
 * of *n items to release with rc_blocked_free (both set to NULL/0 if none).
 * Linear in the live work (the producers of waited-on keys are indexed once
 * per call). */
int rc_debug_blocked(rc_cue *cue, rc_blocked **out, size_t *n);
void rc_blocked_free(rc_cue *cue, rc_blocked *list);

/*
 * The wait-for graph, for work that declared needs/produces.  For each pending
 * item that is not ready, every unmet need is followed: the keys the last
 * check named with rc_check_wait_on (all of them), or every declared need if
 * the check named none.  Each need K leads to the work that would produce K:
 * the newest pending or running producer; else the newest failed, cancelled
 * or skipped one; else the newest completed one (its output is not valid any
 * more); or none.  From there:
 *
 *   cycles     pending work that waits on itself through others: each
 *              strongly connected component of the graph, exact members
 *   missing    keys no work produces, with the work that waits on them
 *   roots      finished producers that will not produce what is waited on:
 *              failed, cancelled, skipped, or completed with an output that is
 *              no longer valid; each reported once, with what it blocks
 *   held       pending producers that wait on something other than an
 *              artifact: a service's rate or concurrency, a delay, a missing
 *              handler, a pause, or a check that named no key
 *
 * An item with several unmet needs has an edge for each, so every cause it
 * waits on is found.  Iterative and near-linear: O((V + E) log V) for V
 * waiting items and E edges, whatever the depth of the chains.
 */
typedef struct rc_wait_edge {
    rc_work_id waiter;
    const char *key;
    rc_work_id producer;    /* 0: no producer */
    rc_state producer_state;
    bool producer_skipped; /* completed by being skipped */
} rc_wait_edge;

/* A key nothing produces. */
typedef struct rc_diag_missing {
    const char *key;
    const rc_work_id *waiters; /* the work waiting on it directly, by id */
    size_t n_waiters;
    size_t blocks; /* waiting work whose chains reach it */
} rc_diag_missing;

/* A finished producer that leaves waiters waiting forever. */
typedef struct rc_diag_root {
    rc_work_id id;
    const char *task;
    const char *label; /* NULL if none */
    rc_state state;    /* RC_FAILED, RC_CANCELLED or RC_COMPLETED */
    bool skipped;      /* RC_COMPLETED by being skipped */
    const char *error; /* RC_FAILED: its error; else NULL */
    size_t blocks;     /* waiting work whose chains reach it */
} rc_diag_root;

/* A pending producer held by something other than an artifact. */
typedef struct rc_diag_held {
    rc_blocked item; /* as rc_debug_blocked describes it */
    size_t blocks;   /* waiting work whose chains reach it */
} rc_diag_held;

typedef struct rc_diagnosis {
    /* Grouped by waiter, in id order; each waiter's unmet needs in the order
     * its check named them. */
    rc_wait_edge *edges;
    size_t n_edges;
    /* Each cycle: a strongly connected component of waiting work, w0 -> w1
     * -> ... -> w0 (w0 not repeated) when it is a simple ring, else its
     * members by id.  cycles[i] has cycle_len[i] ids; cycle_ring[i] says
     * which, cycle_blocks[i] how much other waiting work waits on it. */
    rc_work_id **cycles;
    size_t *cycle_len;
    size_t n_cycles;
    /* Keys waited on that no work produces, deduplicated, sorted. */
    const char **missing;
    size_t n_missing;
    /* Failed work that blocked waiters depend on, deduplicated, by id. */
    rc_work_id *failed_roots;
    size_t n_failed_roots;

    /* Added fields.  Strings point into the cue's work: valid until the next
     * call into the cue that can finish or free work. */
    bool *cycle_ring;
    size_t *cycle_blocks;
    rc_diag_missing *missing_info; /* n_missing, parallel to missing */
    rc_diag_root *roots;           /* every root by id, failed ones included */
    size_t n_roots;
    rc_diag_held *held; /* by id */
    size_t n_held;
    size_t n_waiting; /* waiting items with at least one edge */
    /* The blocks counts are exact unless this is set (a graph so entangled
     * that counting them exactly would cost more than a few passes over it;
     * then they are lower bounds). */
    bool blocks_partial;
} rc_diagnosis;
int rc_diagnose(rc_cue *cue, rc_diagnosis *out);
void rc_diagnosis_free(rc_cue *cue, rc_diagnosis *d);

/*
 * Both as text, the words runcue-sim's stall report, the live segment and
 * the views use.  Work is named "task #id [label]".  Each list stops after
 * max_items lines with "... and N more".
 *
 * rc_blocked_print, a line per item:
 *     task #id [label]: reason - detail[: producer phrase][ (+N more unmet needs)]
 *   where the producer phrase is one of
 *     no producer | not produced yet (producer #12 pending) |
 *     not produced yet (producer #12 running) | producer #7 failed |
 *     producer #7 cancelled | producer #7 skipped | producer #7 completed
 * rc_diagnosis_print, in this order:
 *   Wait-for chains:
 *     task #id [label] waits on 'key' <- task #id [label] (pending|running)
 *                                        ... FAILED: its error | CANCELLED |
 *                                        SKIPPED | COMPLETED, output not valid |
 *                                        no producer
 *   Cycle: A #1 -> B #2 -> A #1[; N more waiting items depend on it]
 *   Cycle of N work items waiting on each other: A #1, B #2, ...[; ...]
 *   Missing producer: nothing produces 'key'; waited on by A #3 [l] (and N more)
 *   Root cause: task #id [label] failed (error); N waiting items depend on it
 *   Root cause: task #id [label] was cancelled; N waiting items depend on it
 *   Held: task #id [label]: reason - detail; N waiting items depend on it
 */
void rc_blocked_print(const rc_cue *cue, const rc_blocked *list, size_t n, size_t max_items,
                      FILE *out);
void rc_diagnosis_print(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RUNCUE_H */
