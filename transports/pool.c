/*
 * pool.c -- blocking C functions on a pool of worker threads (see
 * runcue_transport.h).
 *
 * Built only on the public API of runcue.h.  A pool task is an rc_task whose
 * handler, on the loop thread, copies everything the blocking function may
 * read into a job and queues it; a worker thread runs the function and
 * finishes the attempt with rc_complete/rc_fail/rc_retry, which post the
 * finish to the loop.
 *
 * Limits.  The cue counts the work as running from dispatch until that
 * finish is processed, and a function only ever runs inside that interval,
 * so a service's concurrency limit bounds the functions running at once
 * exactly.  A rate limit needs one more step, because threads pick jobs up a
 * little after their dispatch and not always equally late: see pool_rate.
 *
 * Thread rules.
 *   Loop thread:   every rc_pool_* function, the task handler, the shutdown
 *                  wait, and every user callback.  The cue calls hooks when it
 *                  processes a posted finish, which happens on the loop
 *                  thread; a worker never calls a hook.
 *   Worker thread: runs the blocking function on a job it owns (a deep copy
 *                  of the params, a copy of the task name), never reads cue
 *                  memory, and finishes the attempt while holding the pool
 *                  lock.  Holding the lock is what makes rc_pool_free safe: once
 *                  it has set `detached` under the lock, no worker touches the
 *                  cue or the loop again, so both may then be freed.
 *                  Workers start with asynchronous signals blocked, so the
 *                  application's signals reach the loop thread.
 *   Shared, under pool_core.lock: the queue, the running list, the flags,
 *                  the counters, each worker's `busy`, the rate gates and the
 *                  reference count.  Two exceptions: `detached` is written
 *                  only on the loop thread (under the lock), so the loop
 *                  thread may read it without the lock; and a rate gate's
 *                  newest start time is written without the lock by the one
 *                  thread it admitted (see pass_rate_gate).
 *   rc_pool itself (tasks, flags, thread ids) is touched on the loop thread
 *                  only.
 *
 * Lifetime.  The shared state (pool_core) is referenced by the pool handle,
 * by each worker thread until it exits, and by each late result on its way
 * to the loop.  rc_pool_free joins the idle workers and detaches the ones
 * still inside a blocking function after a shutdown deadline; whoever drops
 * the last reference frees the shared state.  Nothing waits for a busy
 * thread.
 *
 * Late results.  A job still running at the shutdown deadline is failed by
 * the loop ("cut").  When its function returns, the worker posts the result
 * through this file's own loop callback rather than calling rc_complete
 * itself: on the loop thread that callback hands it to rc_complete (which
 * refuses it with RC_ESTALE and counts it in rc_stats.stale_finishes) while
 * the pool still exists, and drops it once rc_pool_free has run -- a raw
 * rc_complete post would keep a cue pointer that may be dangling by then.
 */
#include "runcue_transport.h"
#include "shutdown.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    POOL_MAX_THREADS = 4096,
    POOL_ERRLEN = 512, /* the err buffer a blocking function may fill */
    CUT_BATCH = 64,    /* running jobs cut per turn of the lock */
};

/* How often a thread held by a rate gate looks again while another thread
 * writes its start time (that takes microseconds; nobody signals it). */
#define STAMP_POLL_NS INT64_C(20000)

/* ---- jobs ---- */

typedef struct pool_job {
    struct pool_job *prev, *next; /* in pool_core.queue or pool_core.running */
    rc_token token;
    rc_blocking_fn fn;
    void *ud;
    struct pool_rate *rate; /* the service's rate gate, or NULL */
    rc_job view;            /* what fn sees; view.task points into name */
    struct pool_core *core; /* for rc_job_progress */
    cJSON *params;          /* a deep copy the job owns */
    bool cut;               /* failed by the loop at a shutdown deadline */
    char name[];
} pool_job;

typedef struct job_list {
    pool_job *head, *tail;
    size_t len;
} job_list;

static void job_list_push(job_list *l, pool_job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->len++;
}

static void job_list_remove(job_list *l, pool_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->len--;
}

static pool_job *job_list_pop(job_list *l)
{
    pool_job *j = l->head;
    if (j) job_list_remove(l, j);
    return j;
}

static void job_free(pool_job *job)
{
    cJSON_Delete(job->params);
    free(job);
}

/* What a blocking function reported. */
typedef struct job_outcome {
    rc_job_status status;
    cJSON *result;
    char err[POOL_ERRLEN];
} job_outcome;

/* ---- shared state ---- */

/*
 * The cue spaces the dispatches of a rate-limited service, but a thread picks
 * a job up a little after its dispatch, and not always equally late: without
 * a second look, N+1 functions could start within one window while the cue
 * saw its N+1 starts a window apart.  So each pool keeps, per rate-limited
 * service, the times its functions actually started, and a thread holds a
 * job until the window allows it.  That only ever absorbs the jitter between
 * dispatch and pickup (the cue has already waited out the window), and it
 * makes the limit hold where it matters: at the start of the functions.
 */
typedef struct pool_rate {
    struct pool_rate *next; /* in pool_core.rates */
    unsigned count;         /* at most `count` starts ... */
    rc_time window;         /* ... in any window of this length */
    size_t len, oldest;     /* a ring of the last `count` start times */
    bool stamping;          /* a start was allowed; its time is being written */
    char *service;
    rc_time starts[];
} pool_rate;

typedef struct pool_core pool_core;

typedef struct pool_worker {
    pool_core *core;
    bool busy; /* inside a blocking function; under core->lock */
} pool_worker;

struct pool_core {
    pthread_mutex_t lock;
    pthread_cond_t work_ready;
    pthread_cond_t rate_wait; /* CLOCK_MONOTONIC: threads held by a rate gate */
    job_list queue;           /* dispatched, not yet picked up by a thread */
    job_list running;         /* picked up, not yet finished, not cut */
    size_t idle;              /* threads waiting on work_ready */
    size_t refs;              /* the handle + live threads + late results in flight */
    bool stopping;            /* threads exit once the queue is empty */
    bool detached;            /* rc_pool_free ran: the cue and the loop may be gone */
    size_t finished_while_stopping;
    pool_rate *rates; /* added on the loop thread under the lock; freed with the core */
    rc_cue *cue;
    rc_loop *loop;
    pool_worker workers[];
};

static void core_free(pool_core *core)
{
    for (pool_rate *r = core->rates, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    pthread_cond_destroy(&core->rate_wait);
    pthread_cond_destroy(&core->work_ready);
    pthread_mutex_destroy(&core->lock);
    free(core);
}

/* Drop one reference; called without the lock held. */
static void core_release(pool_core *core)
{
    pthread_mutex_lock(&core->lock);
    const bool last = --core->refs == 0;
    pthread_mutex_unlock(&core->lock);
    if (last) core_free(core);
}

/* ---- the pool handle (loop thread only) ---- */

typedef struct pool_task {
    struct pool_task *next;
    rc_pool *pool;
    rc_blocking_fn fn;
    void *ud;
    pool_rate *rate; /* the service's rate gate, or NULL */
    char name[];
} pool_task;

struct rc_pool {
    pool_core *core;
    rc_cue *cue;
    rc_loop *loop;
    pthread_t *threads;
    unsigned n_threads;
    pool_task *tasks;
    bool shut_down;
    rc_timer deadline_timer; /* wakes the loop at the shutdown deadline */
};

/* ---- finishing an attempt ---- */

/* Hand an outcome to the cue.  From a worker the call posts the finish to the
 * loop; on the loop thread it finishes at once and returns what finish says. */
static int deliver(rc_cue *cue, rc_token token, job_outcome *o)
{
    switch (o->status) {
    case RC_JOB_OK:
        return rc_complete(cue, token, o->result);
    case RC_JOB_RETRY:
        cJSON_Delete(o->result);
        return rc_retry(cue, token, o->err);
    case RC_JOB_FAIL:
        cJSON_Delete(o->result);
        return rc_fail(cue, token, o->err);
    }
    cJSON_Delete(o->result);
    char msg[64];
    snprintf(msg, sizeof msg, "blocking function returned an unknown status %d", (int)o->status);
    return rc_fail(cue, token, msg);
}

/* A result that came back after its job was cut, on its way to the loop. */
typedef struct late_result {
    pool_core *core;
    rc_token token;
    job_outcome outcome;
} late_result;

/* On the loop thread.  The attempt is over (the cut failed it), so the cue
 * refuses the finish with RC_ESTALE and counts it; nothing else changes. */
static void late_result_run(rc_loop *loop, void *arg)
{
    (void)loop;
    late_result *late = arg;
    pool_core *core = late->core;
    if (!core->detached)
        deliver(core->cue, late->token, &late->outcome);
    else
        cJSON_Delete(late->outcome.result);
    free(late);
    core_release(core);
}

/* Called by a worker with core->lock held, after fn returned. */
static void finish_job(pool_core *core, pool_job *job, job_outcome *o)
{
    if (!job->cut) {
        /* Not cut, so rc_pool_free has not run (it cuts every running job
         * first) and the cue is there to take the finish. */
        job_list_remove(&core->running, job);
        if (core->stopping) core->finished_while_stopping++;
        /* Fails only with RC_ENOMEM (the post could not be queued); the work
         * then stays running in the cue, as with any handler that loses its
         * token. */
        deliver(core->cue, job->token, o);
        return;
    }
    if (!core->detached) {
        late_result *late = malloc(sizeof *late);
        if (late) {
            late->core = core;
            late->token = job->token;
            late->outcome = *o;
            core->refs++;
            if (rc_loop_post(core->loop, late_result_run, late) == 0) return;
            core->refs--;
            free(late);
        }
    }
    /* Detached, or the late result could not be posted: drop it. */
    cJSON_Delete(o->result);
}

/* ---- worker threads ---- */

static struct timespec to_timespec(rc_time t)
{
    return (struct timespec){(time_t)(t / RC_NSEC_PER_SEC), (long)(t % RC_NSEC_PER_SEC)};
}

/*
 * With core->lock held: wait until the job's service allows one more start,
 * and take a slot in its ring.  False if the job was cut while it waited.
 * Otherwise *slot is where the caller writes the start time (NULL: no gate),
 * with stamp_start(), after it has released the lock and just before it calls
 * the function: then nothing (no unlock, no wakeup of another thread) comes
 * between the time counted and the function's first instruction.
 *
 * Only one start per gate is in that unlocked stretch at a time (`stamping`),
 * so the ring's times increase in ring order and its oldest entry is the
 * count-th most recent start: a start at `now` is allowed when that entry is
 * at least a window old, and its own time, stamped later, is >= now.
 */
static bool pass_rate_gate(pool_core *core, pool_job *job, rc_time **slot)
{
    pool_rate *r = job->rate;
    *slot = NULL;
    if (!r) return true;
    for (;;) {
        if (job->cut) return false;
        const rc_time now = rc_monotonic_now();
        rc_time allowed = now;
        if (__atomic_load_n(&r->stamping, __ATOMIC_ACQUIRE))
            allowed = now + STAMP_POLL_NS; /* stamped within microseconds */
        else if (r->len == r->count)
            allowed = r->starts[r->oldest] + r->window;
        if (now >= allowed) {
            size_t i = r->oldest;
            if (r->len < r->count)
                i = (r->oldest + r->len++) % r->count;
            else
                r->oldest = (r->oldest + 1) % r->count;
            __atomic_store_n(&r->stamping, true, __ATOMIC_RELAXED);
            *slot = &r->starts[i];
            return true;
        }
        const struct timespec until = to_timespec(allowed);
        pthread_cond_timedwait(&core->rate_wait, &core->lock, &until);
    }
}

/* Without the lock, right before the call: see pass_rate_gate. */
static void stamp_start(pool_rate *r, rc_time *slot)
{
    *slot = rc_monotonic_now();
    __atomic_store_n(&r->stamping, false, __ATOMIC_RELEASE);
}

static void run_job(pool_job *job, job_outcome *o)
{
    o->result = NULL;
    o->err[0] = '\0';
    o->status = job->fn(&job->view, &o->result, o->err, sizeof o->err, job->ud);
    o->err[sizeof o->err - 1] = '\0';
}

static void *worker_main(void *arg)
{
    pool_worker *self = arg;
    pool_core *core = self->core;
    job_outcome outcome;

    pthread_mutex_lock(&core->lock);
    for (;;) {
        while (!core->queue.head && !core->stopping) {
            core->idle++;
            pthread_cond_wait(&core->work_ready, &core->lock);
            core->idle--;
        }
        pool_job *job = job_list_pop(&core->queue);
        if (!job) break; /* stopping, and nothing left to start */
        job_list_push(&core->running, job);
        self->busy = true;
        rc_time *start_slot;
        if (!pass_rate_gate(core, job, &start_slot)) {
            /* Cut before it started: the loop has failed it already. */
            self->busy = false;
            job_free(job);
            continue;
        }
        pthread_mutex_unlock(&core->lock);

        if (start_slot) stamp_start(job->rate, start_slot);
        run_job(job, &outcome);
        cJSON_Delete(job->params);
        job->params = NULL;

        pthread_mutex_lock(&core->lock);
        self->busy = false;
        finish_job(core, job, &outcome);
        free(job);
    }
    const bool last = --core->refs == 0;
    pthread_mutex_unlock(&core->lock);
    if (last) core_free(core);
    return NULL;
}

/* Start the threads with asynchronous signals blocked, so a signal the
 * application handles (SIGINT, SIGTERM, SIGCHLD, ...) is delivered to the loop
 * thread and never interrupts a blocking function.  Faults stay deliverable. */
static int start_threads(rc_pool *pool)
{
    pool_core *core = pool->core;
    sigset_t all, old;
    sigfillset(&all);
    const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&all, faults[i]);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    int err = 0;
    unsigned started = 0;
    for (; started < pool->n_threads; started++) {
        pool_worker *w = &core->workers[started];
        w->core = core;
        pthread_mutex_lock(&core->lock);
        core->refs++;
        pthread_mutex_unlock(&core->lock);
        err = pthread_create(&pool->threads[started], NULL, worker_main, w);
        if (err) {
            pthread_mutex_lock(&core->lock);
            core->refs--;
            pthread_mutex_unlock(&core->lock);
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!err) return 0;

    pthread_mutex_lock(&core->lock);
    core->stopping = true;
    pthread_cond_broadcast(&core->work_ready);
    pthread_mutex_unlock(&core->lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(pool->threads[i], NULL);
    return RC_ESYS;
}

/* ---- the task handler (loop thread) ---- */

static pool_job *job_new(const pool_task *t, const rc_work *work, rc_token token)
{
    const size_t name_len = strlen(t->name) + 1;
    pool_job *job = calloc(1, sizeof *job + name_len);
    if (!job) return NULL;
    memcpy(job->name, t->name, name_len);
    const cJSON *params = rc_work_params(work);
    if (params) {
        job->params = cJSON_Duplicate(params, true);
        if (!job->params) {
            free(job);
            return NULL;
        }
    }
    job->token = token;
    job->fn = t->fn;
    job->ud = t->ud;
    job->rate = t->rate;
    job->view = (rc_job){
        .work_id = token.work_id,
        .attempt = token.attempt,
        .task = job->name,
        .params = job->params,
        .pool_ = job,
    };
    return job;
}

/* ---- progress (a pool thread) ---- */

int rc_job_progress(const rc_job *job, double fraction, const char *message)
{
    if (!job || !job->pool_) return RC_EINVAL;
    pool_job *j = job->pool_;
    pool_core *core = j->core;
    /* Under the lock, like a finish: a job that is not cut has a cue. */
    pthread_mutex_lock(&core->lock);
    int rc = j->cut ? RC_ESTALE : rc_progress(core->cue, j->token, fraction, message);
    pthread_mutex_unlock(&core->lock);
    return rc;
}

static void pool_handler(rc_cue *cue, const rc_work *work, rc_token token, void *ud)
{
    const pool_task *t = ud;
    rc_pool *pool = t->pool;
    if (pool->shut_down) {
        rc_fail(cue, token, "pool is shut down");
        return;
    }
    pool_job *job = job_new(t, work, token);
    if (!job) {
        rc_fail(cue, token, "pool: out of memory copying the job");
        return;
    }
    pool_core *core = pool->core;
    job->core = core;
    pthread_mutex_lock(&core->lock);
    job_list_push(&core->queue, job);
    if (core->idle) pthread_cond_signal(&core->work_ready);
    pthread_mutex_unlock(&core->lock);
}

/* ---- public API ---- */

static int init_conds(pool_core *core)
{
    if (pthread_cond_init(&core->work_ready, NULL) != 0) return -1;
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);
    if (!err) err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!err) err = pthread_cond_init(&core->rate_wait, &attr);
    pthread_condattr_destroy(&attr);
    if (err) pthread_cond_destroy(&core->work_ready);
    return err ? -1 : 0;
}

/* The rate gate for `service`, shared by every task of this pool on it;
 * NULL if it has no rate limit (or is unknown: rc_task will say so).  Sets
 * *oom on allocation failure. */
static pool_rate *rate_gate_for(rc_pool *pool, const char *service, bool *oom)
{
    *oom = false;
    if (!service) return NULL;
    rc_service_info info;
    bool found = false;
    for (size_t i = 0, n = rc_service_count(pool->cue); i < n && !found; i++)
        found = rc_service_get(pool->cue, i, &info) == 0 && strcmp(info.name, service) == 0;
    if (!found || info.rate_count == 0) return NULL;

    pool_core *core = pool->core;
    for (pool_rate *r = core->rates; r; r = r->next)
        if (strcmp(r->service, service) == 0) return r;
    const size_t name_len = strlen(service) + 1;
    pool_rate *r = calloc(1, sizeof *r + (size_t)info.rate_count * sizeof r->starts[0] + name_len);
    if (!r) {
        *oom = true;
        return NULL;
    }
    r->count = info.rate_count;
    r->window = rc_seconds(info.rate_window);
    r->service = (char *)&r->starts[info.rate_count];
    memcpy(r->service, service, name_len);
    pthread_mutex_lock(&core->lock);
    r->next = core->rates;
    core->rates = r;
    pthread_mutex_unlock(&core->lock);
    return r;
}

/* The shared state with its lock and condition variables; NULL and *rc set
 * on failure. */
static pool_core *core_new(rc_cue *cue, unsigned threads, int *rc)
{
    pool_core *core = calloc(1, sizeof *core + threads * sizeof core->workers[0]);
    if (!core) {
        *rc = RC_ENOMEM;
        return NULL;
    }
    if (pthread_mutex_init(&core->lock, NULL) != 0) {
        free(core);
        *rc = RC_ESYS;
        return NULL;
    }
    if (init_conds(core) != 0) {
        pthread_mutex_destroy(&core->lock);
        free(core);
        *rc = RC_ESYS;
        return NULL;
    }
    core->refs = 1; /* the handle */
    core->cue = cue;
    core->loop = rc_cue_loop(cue);
    return core;
}

int rc_pool_new(rc_pool **out, rc_cue *cue, unsigned threads)
{
    if (!out) return RC_EINVAL;
    *out = NULL;
    if (!cue || threads < 1 || threads > POOL_MAX_THREADS) return RC_EINVAL;
    /* Completions come back from other threads; a virtual clock would jump
     * past them (and rc_loop_run would return idle while they are running). */
    if (rc_loop_clock(rc_cue_loop(cue)) != RC_CLOCK_MONOTONIC) return RC_ESTATE;

    int rc = RC_ENOMEM;
    rc_pool *pool = calloc(1, sizeof *pool);
    pthread_t *tids = calloc(threads, sizeof *tids);
    pool_core *core = pool && tids ? core_new(cue, threads, &rc) : NULL;
    if (core) {
        pool->core = core;
        pool->cue = cue;
        pool->loop = core->loop;
        pool->threads = tids;
        pool->n_threads = threads;
        rc = start_threads(pool);
        if (rc == 0) {
            *out = pool;
            return 0;
        }
        core_free(core);
    }
    free(tids);
    free(pool);
    return rc;
}

int rc_pool_task(rc_pool *pool, const char *task, const char *service, rc_blocking_fn fn, void *ud)
{
    if (!pool || !task || !fn) return RC_EINVAL;
    if (pool->shut_down) return RC_ESTATE;
    bool oom;
    pool_rate *rate = rate_gate_for(pool, service, &oom);
    if (oom) return RC_ENOMEM;
    const size_t len = strlen(task) + 1;
    pool_task *t = malloc(sizeof *t + len);
    if (!t) return RC_ENOMEM;
    t->pool = pool;
    t->rate = rate;
    t->fn = fn;
    t->ud = ud;
    memcpy(t->name, task, len);
    const int rc = rc_task(pool->cue, task, service, pool_handler, t);
    if (rc) {
        free(t);
        return rc;
    }
    t->next = pool->tasks;
    pool->tasks = t;
    return 0;
}

/* ---- shutdown ---- */

static size_t running_count(pool_core *core)
{
    pthread_mutex_lock(&core->lock);
    const size_t n = core->running.len;
    pthread_mutex_unlock(&core->lock);
    return n;
}

static void deadline_reached(rc_loop *loop, rc_timer *timer, void *arg)
{
    /* Nothing to do: firing wakes the loop, and the shutdown wait looks at
     * the clock. */
    (void)loop, (void)timer, (void)arg;
}

/* Fail every job not yet started.  Returns how many there were. */
static size_t cut_queued(rc_pool *pool, rc_cut_list *cut)
{
    pool_core *core = pool->core;
    pthread_mutex_lock(&core->lock);
    core->stopping = true;
    core->finished_while_stopping = 0;
    job_list queued = core->queue;
    core->queue = (job_list){0};
    pthread_cond_broadcast(&core->work_ready);
    pthread_mutex_unlock(&core->lock);

    /* The jobs are ours alone now; rc_fail runs hooks, so no lock is held. */
    for (pool_job *j = queued.head, *next; j; j = next) {
        next = j->next;
        rc_cut_list_add(cut, j->token.work_id);
        rc_fail(pool->cue, j->token, "cut by shutdown before it started");
        job_free(j);
    }
    return queued.len;
}

/* Run the loop until no job is running or the deadline passes. */
static int wait_for_running(rc_pool *pool, double deadline_s)
{
    const rc_time deadline = rc_time_after(rc_monotonic_now(), deadline_s);
    int rc = 0;
    /* The ref keeps RC_RUN_ONCE waiting for a post even if nothing else keeps
     * the loop alive; the timer bounds that wait by the deadline. */
    rc_loop_ref(pool->loop);
    rc_timer_init(&pool->deadline_timer, deadline_reached, NULL);
    if (deadline != RC_TIME_NEVER) rc = rc_timer_start(pool->loop, &pool->deadline_timer, deadline);
    while (rc == 0 && running_count(pool->core) > 0 && rc_monotonic_now() < deadline) {
        const int r = rc_loop_run(pool->loop, RC_RUN_ONCE);
        if (r < 0) rc = r;
    }
    rc_timer_stop(pool->loop, &pool->deadline_timer);
    rc_loop_unref(pool->loop);
    return rc;
}

/* Fail every job still running; its thread's result will be ignored.
 * Returns how many there were.  Works in batches so that no allocation is
 * needed and no hook runs with the lock held. */
static size_t cut_running(rc_pool *pool, double deadline_s, rc_cut_list *cut)
{
    pool_core *core = pool->core;
    char msg[96];
    snprintf(msg, sizeof msg, "cut by shutdown: still running after %gs", deadline_s);
    size_t total = 0;
    for (;;) {
        rc_token batch[CUT_BATCH];
        size_t n = 0;
        pthread_mutex_lock(&core->lock);
        while (n < CUT_BATCH && core->running.head) {
            pool_job *j = job_list_pop(&core->running);
            j->cut = true; /* the job now belongs to its thread alone */
            batch[n++] = j->token;
        }
        /* A job held by a rate gate is dropped without being started. */
        if (n) pthread_cond_broadcast(&core->rate_wait);
        pthread_mutex_unlock(&core->lock);
        if (n == 0) return total;
        for (size_t i = 0; i < n; i++) {
            rc_cut_list_add(cut, batch[i].work_id);
            rc_fail(pool->cue, batch[i], msg);
        }
        total += n;
    }
}

int rc_pool_shutdown(rc_pool *pool, double deadline_s, rc_shutdown_report *report)
{
    if (report) *report = (rc_shutdown_report){0};
    if (!pool || isnan(deadline_s) || deadline_s < 0) return RC_EINVAL;
    if (pool->shut_down) return RC_ESTATE;
    pool->shut_down = true; /* from now on the handler fails new jobs */

    rc_cut_list cut = {0};
    const size_t n_queued = cut_queued(pool, &cut);
    int rc = wait_for_running(pool, deadline_s);
    const size_t n_running = cut_running(pool, deadline_s, &cut);

    /* Finishes posted by threads that returned before the cut are still in
     * the loop's queue: process them, so that every job of this pool is over
     * in the cue when shutdown returns. */
    const int r = rc_loop_run(pool->loop, RC_RUN_NOWAIT);
    if (r < 0 && rc == 0) rc = r;

    pthread_mutex_lock(&pool->core->lock);
    const size_t finished = pool->core->finished_while_stopping;
    pthread_mutex_unlock(&pool->core->lock);

    const int r_cut = rc_cut_list_report(&cut, finished, n_queued, n_running, report);
    return rc ? rc : r_cut;
}

void rc_pool_free(rc_pool *pool)
{
    if (!pool) return;
    if (!pool->shut_down) rc_pool_shutdown(pool, 0, NULL);

    /* Work for these tasks dispatched from now on waits as unknown_task
     * instead of reaching a handler whose pool is gone. */
    for (pool_task *t = pool->tasks; t; t = t->next)
        rc_task_set_handler(pool->cue, t->name, NULL, NULL);

    pool_core *core = pool->core;
    bool *busy = calloc(pool->n_threads, sizeof *busy);
    pthread_mutex_lock(&core->lock);
    core->detached = true;
    for (unsigned i = 0; i < pool->n_threads; i++) {
        /* Without the array, detach every thread: nothing ever waits. */
        if (busy) busy[i] = core->workers[i].busy;
    }
    pthread_mutex_unlock(&core->lock);
    /* An idle thread exits at once (stopping, empty queue); a busy one is
     * inside a function cut at the deadline and exits when it returns. */
    for (unsigned i = 0; i < pool->n_threads; i++) {
        if (busy && !busy[i])
            pthread_join(pool->threads[i], NULL);
        else
            pthread_detach(pool->threads[i]);
    }
    free(busy);
    core_release(core);

    for (pool_task *t = pool->tasks, *next; t; t = next) {
        next = t->next;
        free(t);
    }
    free(pool->threads);
    free(pool);
}
