/*
 * test_pool.c -- the thread-pool transport on the real (monotonic) clock.
 *
 * One blocking function, `job_fn`, does what each work's params ask: hold
 * until the test releases it, sleep, fail, or ask for a retry until some
 * attempt.  It records, from its own thread, which thread ran it, when it
 * started and how many functions were inside it at once.  The hooks record,
 * on the loop thread, every start and every end of every work.  Intervals
 * are short (10-200 ms) so each test stays well under a second.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "runcue_transport.h"

#define MS INT64_C(1000000)
/* Upper bounds and waits for conditions are generous: a busy machine may be
 * slow to schedule a thread, and what the bounds catch (waiting out a
 * deadline, waiting for a held job) takes far longer or forever. */
#define LATE (10000 * MS)
#define MAX_WORK 512

TestSuite(pool, .timeout = 10);

static rc_time real_now(void)
{
    return rc_monotonic_now();
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ------------------------------------------------------------------ */
/* The fixture                                                         */
/* ------------------------------------------------------------------ */

typedef struct pool_fx {
    rc_loop *loop;
    rc_cue *cue;
    rc_pool *pool;
    pthread_t loop_thread;

    /* Written by job_fn on pool threads. */
    pthread_mutex_t lock;
    pthread_cond_t gate_cond;
    bool gate_open; /* "hold" jobs wait for this (at most 2 s) */
    size_t n_calls;
    pthread_t call_thread[MAX_WORK];
    rc_time call_start[MAX_WORK];
    const cJSON *call_params[MAX_WORK];
    atomic_int inside;      /* functions running right now */
    atomic_int inside_peak; /* the most at once */
    atomic_int held;        /* "hold" jobs waiting at the gate */
    atomic_int returned;    /* functions that have returned */

    /* Written by the hooks on the loop thread. */
    unsigned starts[MAX_WORK + 1];    /* by work id */
    unsigned completes[MAX_WORK + 1]; /* by work id */
    unsigned failures[MAX_WORK + 1];  /* by work id */
    size_t n_completes, n_failures;
    const cJSON *start_params[MAX_WORK + 1]; /* rc_work_params at on_start */
    size_t hooks_off_loop;                   /* hook calls on another thread */
    unsigned progress[MAX_WORK + 1];         /* RC_EV_PROGRESS events by work id */
    double last_progress;
} pool_fx;

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    pool_fx *fx = ud;
    if (ev->kind != RC_EV_PROGRESS || !ev->work) return;
    rc_work_id id = rc_work_get_id(ev->work);
    if (id <= MAX_WORK) fx->progress[id]++;
    fx->last_progress = ev->progress;
}

static bool on_loop_thread(const pool_fx *fx)
{
    return pthread_equal(pthread_self(), fx->loop_thread) != 0;
}

static void on_start(rc_cue *cue, const rc_work *w, void *ud)
{
    (void)cue;
    pool_fx *fx = ud;
    if (!on_loop_thread(fx)) fx->hooks_off_loop++;
    const rc_work_id id = rc_work_get_id(w);
    cr_assert_leq(id, MAX_WORK);
    fx->starts[id]++;
    fx->start_params[id] = rc_work_params(w);
}

static void on_complete(rc_cue *cue, const rc_work *w, const cJSON *result, double duration_s,
                        void *ud)
{
    (void)cue, (void)result, (void)duration_s;
    pool_fx *fx = ud;
    if (!on_loop_thread(fx)) fx->hooks_off_loop++;
    fx->completes[rc_work_get_id(w)]++;
    fx->n_completes++;
}

static void on_failure(rc_cue *cue, const rc_work *w, rc_fail_kind kind, const char *error,
                       void *ud)
{
    (void)cue, (void)kind, (void)error;
    pool_fx *fx = ud;
    if (!on_loop_thread(fx)) fx->hooks_off_loop++;
    fx->failures[rc_work_get_id(w)]++;
    fx->n_failures++;
}

static int param_int(const cJSON *params, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/* Wait at the gate until the test opens it, or 2 s. */
static void wait_at_gate(pool_fx *fx)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&fx->lock);
    atomic_fetch_add(&fx->held, 1);
    while (!fx->gate_open)
        if (pthread_cond_timedwait(&fx->gate_cond, &fx->lock, &until) != 0) break;
    pthread_mutex_unlock(&fx->lock);
}

/* params: {"n": int, "hold": true, "sleep_ms": int, "fail": "msg",
 *          "retry_until": attempt}.  Result: {"n": 2n, "attempt": k}. */
static rc_job_status job_fn(const rc_job *job, cJSON **result, char *err, size_t errlen, void *ud)
{
    pool_fx *fx = ud;
    const rc_time started = real_now();
    const int now_inside = atomic_fetch_add(&fx->inside, 1) + 1;
    for (int peak = atomic_load(&fx->inside_peak); now_inside > peak;)
        if (atomic_compare_exchange_weak(&fx->inside_peak, &peak, now_inside)) break;

    pthread_mutex_lock(&fx->lock);
    if (fx->n_calls < MAX_WORK) {
        fx->call_thread[fx->n_calls] = pthread_self();
        fx->call_start[fx->n_calls] = started;
        fx->call_params[fx->n_calls] = job->params;
        fx->n_calls++;
    }
    pthread_mutex_unlock(&fx->lock);

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(job->params, "hold"))) wait_at_gate(fx);
    const int sleep_for = param_int(job->params, "sleep_ms", 0);
    if (sleep_for > 0) sleep_ms(sleep_for);
    const int steps = param_int(job->params, "progress_steps", 0);
    for (int k = 1; k < steps; k++)
        if (rc_job_progress(job, (double)k / steps, "working") != 0) break;

    rc_job_status status = RC_JOB_OK;
    const cJSON *fail = cJSON_GetObjectItemCaseSensitive(job->params, "fail");
    if (cJSON_IsString(fail)) {
        snprintf(err, errlen, "%s", fail->valuestring);
        status = RC_JOB_FAIL;
    } else if ((int)job->attempt < param_int(job->params, "retry_until", 0)) {
        snprintf(err, errlen, "not yet (attempt %u)", job->attempt);
        status = RC_JOB_RETRY;
    } else {
        *result = cJSON_CreateObject();
        cJSON_AddNumberToObject(*result, "n", 2 * param_int(job->params, "n", 0));
        cJSON_AddNumberToObject(*result, "attempt", job->attempt);
    }
    atomic_fetch_sub(&fx->inside, 1);
    atomic_fetch_add(&fx->returned, 1);
    return status;
}

static pool_fx *fx_new(unsigned threads)
{
    pool_fx *fx = calloc(1, sizeof *fx);
    cr_assert_not_null(fx);
    fx->loop_thread = pthread_self();
    pthread_mutex_init(&fx->lock, NULL);
    pthread_cond_init(&fx->gate_cond, NULL);
    cr_assert_eq(rc_loop_new(&fx->loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), RC_OK);
    fx->cue = tu_cue_new(fx->loop, NULL);
    rc_hooks h = {0};
    h.on_start = on_start;
    h.on_complete = on_complete;
    h.on_failure = on_failure;
    h.on_event = on_event;
    h.ud = fx;
    rc_cue_set_hooks(fx->cue, &h);
    const int rc = rc_pool_new(&fx->pool, fx->cue, threads);
    cr_assert_eq(rc, RC_OK, "rc_pool_new: %s", rc_strerror(rc));
    return fx;
}

static void fx_open_gate(pool_fx *fx)
{
    pthread_mutex_lock(&fx->lock);
    fx->gate_open = true;
    pthread_cond_broadcast(&fx->gate_cond);
    pthread_mutex_unlock(&fx->lock);
}

/* Shut down (if the test has not), free everything. */
static void fx_free(pool_fx *fx)
{
    fx_open_gate(fx);
    rc_pool_shutdown(fx->pool, 5, NULL);
    rc_pool_free(fx->pool);
    rc_cue_free(fx->cue);
    rc_loop_free(fx->loop);
    pthread_cond_destroy(&fx->gate_cond);
    pthread_mutex_destroy(&fx->lock);
    free(fx);
}

static void fx_task(pool_fx *fx, const char *task, const char *service)
{
    const int rc = rc_pool_task(fx->pool, task, service, job_fn, fx);
    cr_assert_eq(rc, RC_OK, "rc_pool_task: %s (%s)", rc_strerror(rc), rc_cue_errmsg(fx->cue));
}

/* Run the loop until it goes idle: every work has ended. */
static rc_time fx_run(pool_fx *fx)
{
    const rc_time t0 = real_now();
    const int rc = rc_loop_run(fx->loop, RC_RUN_DEFAULT);
    cr_assert_eq(rc, 0, "rc_loop_run: %s", rc_strerror(rc));
    return real_now() - t0;
}

static void wake_up(rc_loop *loop, rc_timer *timer, void *arg)
{
    (void)loop, (void)timer, (void)arg;
}

/* Run the loop until the cue has counted `n` stale finishes, or LATE. */
static void fx_run_until_stale(pool_fx *fx, uint64_t n)
{
    rc_timer limit;
    rc_timer_init(&limit, wake_up, NULL);
    const rc_time until = real_now() + LATE;
    cr_assert_eq(rc_timer_start(fx->loop, &limit, until), RC_OK);
    rc_loop_ref(fx->loop);
    while (tu_stats(fx->cue).stale_finishes < n && real_now() < until)
        cr_assert_geq(rc_loop_run(fx->loop, RC_RUN_ONCE), 0);
    rc_loop_unref(fx->loop);
    rc_timer_stop(fx->loop, &limit);
}

/* Busy-wait (the loop is not needed) until `n` jobs wait at the gate. */
static void fx_wait_held(pool_fx *fx, int n)
{
    const rc_time until = real_now() + LATE;
    while (atomic_load(&fx->held) < n && real_now() < until)
        sleep_ms(1);
    cr_assert_eq(atomic_load(&fx->held), n, "only %d jobs reached the gate",
                 atomic_load(&fx->held));
}

/* Busy-wait until `n` functions are running. */
static void fx_wait_inside(pool_fx *fx, int n)
{
    const rc_time until = real_now() + LATE;
    while (atomic_load(&fx->inside) < n && real_now() < until)
        sleep_ms(1);
    cr_assert_eq(atomic_load(&fx->inside), n, "only %d functions started",
                 atomic_load(&fx->inside));
}

/* Dispatch what is ready without waiting for anything. */
static void fx_dispatch(pool_fx *fx)
{
    cr_assert_geq(rc_loop_run(fx->loop, RC_RUN_NOWAIT), 0);
}

/* Every submitted work ended exactly once (completed or failed). */
static void assert_each_work_ended_once(const pool_fx *fx, rc_work_id first, rc_work_id last)
{
    for (rc_work_id id = first; id <= last; id++)
        cr_assert_eq(fx->completes[id] + fx->failures[id], 1,
                     "work %llu ended %u times (completed %u, failed %u)", (unsigned long long)id,
                     fx->completes[id] + fx->failures[id], fx->completes[id], fx->failures[id]);
    cr_assert_eq(fx->n_completes + fx->n_failures, (size_t)(last - first + 1));
}

static const char *work_error(const pool_fx *fx, rc_work_id id)
{
    const rc_work *w = rc_get(fx->cue, id);
    cr_assert_not_null(w);
    return rc_work_error(w) ? rc_work_error(w) : "(none)";
}

/* ------------------------------------------------------------------ */
/* Creating a pool                                                     */
/* ------------------------------------------------------------------ */

Test(pool, new_refuses_a_loop_on_the_virtual_clock)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    rc_pool *pool = (rc_pool *)&pool; /* must be overwritten */

    cr_assert_eq(rc_pool_new(&pool, cue, 2), RC_ESTATE);
    cr_assert_null(pool);

    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(pool, new_refuses_zero_threads_and_missing_arguments)
{
    rc_loop *loop = NULL;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), RC_OK);
    rc_cue *cue = tu_cue_new(loop, NULL);
    rc_pool *pool = NULL;

    cr_assert_eq(rc_pool_new(&pool, cue, 0), RC_EINVAL);
    cr_assert_eq(rc_pool_new(&pool, NULL, 1), RC_EINVAL);
    cr_assert_eq(rc_pool_new(NULL, cue, 1), RC_EINVAL);
    cr_assert_null(pool);

    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(pool, task_registration_reports_the_cues_errors)
{
    pool_fx *fx = fx_new(1);
    fx_task(fx, "t", NULL);

    cr_assert_eq(rc_pool_task(fx->pool, "t", NULL, job_fn, fx), RC_EEXIST);
    cr_assert_eq(rc_pool_task(fx->pool, "u", "no-such-service", job_fn, fx), RC_ENOENT);
    cr_assert_eq(rc_pool_task(fx->pool, "v", NULL, NULL, fx), RC_EINVAL);

    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

Test(pool, functions_run_on_pool_threads_and_callbacks_on_the_loop_thread)
{
    pool_fx *fx = fx_new(4);
    fx_task(fx, "double", NULL);
    enum { N = 16 };
    for (int i = 1; i <= N; i++) {
        char params[64];
        snprintf(params, sizeof params, "{\"n\": %d, \"sleep_ms\": 2}", i);
        tu_submit(fx->cue, "double", params);
    }

    fx_run(fx);

    cr_assert_eq(fx->n_calls, N);
    for (size_t i = 0; i < fx->n_calls; i++)
        cr_assert(!pthread_equal(fx->call_thread[i], fx->loop_thread),
                  "call %zu ran on the loop thread", i);
    cr_assert_eq(fx->hooks_off_loop, 0, "%zu hook calls off the loop thread", fx->hooks_off_loop);
    for (rc_work_id id = 1; id <= N; id++) {
        cr_assert_eq(fx->starts[id], 1);
        const rc_work *w = rc_get(fx->cue, id);
        cr_assert_eq(rc_work_state(w), RC_COMPLETED);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(rc_work_result(w), "n");
        cr_assert(cJSON_IsNumber(n));
        cr_assert_eq(n->valueint, 2 * (int)id, "work %llu: result n = %d", (unsigned long long)id,
                     n->valueint);
    }
    assert_each_work_ended_once(fx, 1, N);
    cr_assert_eq(tu_stats(fx->cue).stale_finishes, 0);
    fx_free(fx);
}

Test(pool, a_function_reads_its_own_copy_of_the_params)
{
    pool_fx *fx = fx_new(1);
    fx_task(fx, "t", NULL);
    const rc_work_id id = tu_submit(fx->cue, "t", "{\"n\": 21, \"deep\": {\"list\": [1, 2, 3]}}");

    fx_run(fx);

    cr_assert_eq(fx->n_calls, 1);
    cr_assert_neq(fx->call_params[0], NULL);
    cr_assert_neq(fx->call_params[0], fx->start_params[id],
                  "the thread was handed the cue's own params");
    const cJSON *result = rc_work_result(rc_get(fx->cue, id));
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(result, "n")->valueint, 42);
    fx_free(fx);
}

Test(pool, a_function_reports_progress_through_its_job)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    const rc_work_id a = tu_submit(fx->cue, "t", "{\"progress_steps\": 5}");
    const rc_work_id b = tu_submit(fx->cue, "t", "{\"progress_steps\": 2}");

    fx_run(fx);

    cr_assert_eq(fx->progress[a], 4);
    cr_assert_eq(fx->progress[b], 1);
    cr_assert_eq(fx->completes[a], 1);
    cr_assert_eq(fx->completes[b], 1);
    cr_assert_eq(rc_job_progress(NULL, 0.5, NULL), RC_EINVAL);
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */
/* ------------------------------------------------------------------ */

Test(pool, a_failing_function_fails_the_work_with_its_message)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    const rc_work_id id = tu_submit(fx->cue, "t", "{\"fail\": \"disk full\"}");

    fx_run(fx);

    cr_assert_eq(rc_work_state(rc_get(fx->cue, id)), RC_FAILED);
    cr_assert_str_eq(work_error(fx, id), "disk full");
    cr_assert_eq(fx->failures[id], 1);
    cr_assert_eq(fx->completes[id], 0);
    cr_assert_eq(fx->hooks_off_loop, 0);
    fx_free(fx);
}

Test(pool, a_retryable_failure_is_retried_under_the_task_policy_and_then_succeeds)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    const rc_retry_policy policy = {.max_attempts = 3, .base_s = 0.01};
    cr_assert_eq(rc_task_retry(fx->cue, "t", &policy), RC_OK);
    const rc_work_id id = tu_submit(fx->cue, "t", "{\"n\": 5, \"retry_until\": 2}");

    fx_run(fx);

    const rc_work *w = rc_get(fx->cue, id);
    cr_assert_eq(rc_work_state(w), RC_COMPLETED, "state %s: %s", rc_state_name(rc_work_state(w)),
                 work_error(fx, id));
    cr_assert_eq(rc_work_attempt(w), 2);
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(rc_work_result(w), "attempt")->valueint, 2);
    cr_assert_eq(fx->n_calls, 2);
    cr_assert_eq(fx->starts[id], 2);
    cr_assert_eq(fx->completes[id], 1);
    cr_assert_eq(fx->failures[id], 0);
    const rc_stats s = tu_stats(fx->cue);
    cr_assert_eq(s.retries, 1);
    cr_assert_eq(s.stale_finishes, 0);
    fx_free(fx);
}

Test(pool, every_work_ends_exactly_once_under_mixed_outcomes)
{
    pool_fx *fx = fx_new(4);
    fx_task(fx, "t", NULL);
    const rc_retry_policy policy = {.max_attempts = 2, .base_s = 0.001};
    cr_assert_eq(rc_task_retry(fx->cue, "t", &policy), RC_OK);
    enum { N = 300 };
    for (int i = 1; i <= N; i++) {
        /* ok, failed, retried then ok, retried until out of attempts */
        static const char *const kinds[] = {"{}", "{\"fail\": \"no\"}", "{\"retry_until\": 2}",
                                            "{\"retry_until\": 9}"};
        tu_submit(fx->cue, "t", kinds[i % 4]);
    }

    fx_run(fx);

    assert_each_work_ended_once(fx, 1, N);
    const rc_stats s = tu_stats(fx->cue);
    cr_assert_eq(s.completed, N / 2);
    cr_assert_eq(s.failed, N / 2);
    cr_assert_eq(s.retries, N / 2);
    cr_assert_eq(s.stale_finishes, 0);
    cr_assert_eq(s.running, 0);
    cr_assert_eq(fx->hooks_off_loop, 0);
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

Test(pool, a_service_concurrency_limit_bounds_the_functions_running_at_once)
{
    pool_fx *fx = fx_new(4);
    cr_assert_eq(rc_service(fx->cue, "db", NULL, 2), RC_OK);
    fx_task(fx, "q", "db");
    enum { N = 12 };
    for (int i = 0; i < N; i++)
        tu_submit(fx->cue, "q", "{\"sleep_ms\": 10}");

    const rc_time elapsed = fx_run(fx);

    cr_assert_eq(fx->n_calls, N);
    cr_assert_eq(atomic_load(&fx->inside_peak), 2, "peak %d functions at once",
                 atomic_load(&fx->inside_peak));
    rc_service_info info;
    cr_assert_eq(rc_service_get(fx->cue, 0, &info), RC_OK);
    cr_assert_eq(info.peak_running, 2);
    /* Two at a time, 10 ms each: at least six rounds. */
    cr_assert_geq(elapsed, 60 * MS);
    assert_each_work_ended_once(fx, 1, N);
    fx_free(fx);
}

static int cmp_time(const void *a, const void *b)
{
    const rc_time x = *(const rc_time *)a, y = *(const rc_time *)b;
    return (x > y) - (x < y);
}

Test(pool, a_service_rate_limit_holds_at_the_start_of_the_functions)
{
    pool_fx *fx = fx_new(4);
    cr_assert_eq(rc_service(fx->cue, "api", "10/0.1", RC_NO_LIMIT), RC_OK);
    fx_task(fx, "call", "api");
    enum { N = 30 };
    for (int i = 0; i < N; i++)
        tu_submit(fx->cue, "call", "{\"sleep_ms\": 1}");

    const rc_time elapsed = fx_run(fx);

    cr_assert_eq(fx->n_calls, N);
    rc_time start[N];
    memcpy(start, fx->call_start, sizeof start);
    qsort(start, N, sizeof start[0], cmp_time);
    /* Never 11 starts within 100 ms, measured inside the functions. */
    for (size_t k = 0; k + 10 < N; k++)
        cr_assert_geq(start[k + 10] - start[k], 100 * MS, "starts %zu and %zu only %.3f ms apart",
                      k, k + 10, (double)(start[k + 10] - start[k]) / MS);
    cr_assert_geq(elapsed, 200 * MS);
    cr_assert_lt(elapsed, LATE, "took %.1f ms", (double)elapsed / MS);
    assert_each_work_ended_once(fx, 1, N);
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* Shutdown                                                            */
/* ------------------------------------------------------------------ */

Test(pool, shutdown_with_nothing_running_returns_at_once_and_only_once)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    rc_shutdown_report report;

    cr_assert_eq(rc_pool_shutdown(fx->pool, -1.0, &report), RC_EINVAL);
    cr_assert_eq(rc_pool_shutdown(fx->pool, NAN, &report), RC_EINVAL);
    const rc_time t0 = real_now();
    cr_assert_eq(rc_pool_shutdown(fx->pool, 30.0, &report), RC_OK);
    cr_assert_lt(real_now() - t0, LATE, "waited for a deadline with nothing running");

    cr_assert_eq(report.finished, 0);
    cr_assert_eq(report.cut_queued, 0);
    cr_assert_eq(report.cut_running, 0);
    cr_assert_eq(report.n_cut_ids, 0);
    rc_shutdown_report_free(&report);
    cr_assert_eq(rc_pool_shutdown(fx->pool, 1.0, &report), RC_ESTATE);
    cr_assert_eq(rc_pool_task(fx->pool, "u", NULL, job_fn, fx), RC_ESTATE);
    fx_free(fx);
}

/*
 * Two threads: work 1 holds (it would take 2 s), work 2 takes 50 ms, works
 * 3-5 wait in the queue.  With a 0.2 s deadline: 3-5 are cut before they
 * start, 2 finishes, 1 is cut while running and its late result is refused.
 */
Test(pool, shutdown_cuts_queued_jobs_and_jobs_still_running_at_the_deadline)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    const rc_work_id slow = tu_submit(fx->cue, "t", "{\"hold\": true}");
    const rc_work_id quick = tu_submit(fx->cue, "t", "{\"sleep_ms\": 50}");
    for (int i = 0; i < 3; i++)
        tu_submit(fx->cue, "t", "{}");
    fx_dispatch(fx);
    fx_wait_inside(fx, 2);

    rc_shutdown_report report;
    const rc_time t0 = real_now();
    const int rc = rc_pool_shutdown(fx->pool, 0.2, &report);
    const rc_time took = real_now() - t0;

    cr_assert_eq(rc, RC_OK, "rc_pool_shutdown: %s", rc_strerror(rc));
    cr_assert_geq(took, 190 * MS, "returned after %.1f ms", (double)took / MS);
    cr_assert_lt(took, LATE, "returned after %.1f ms", (double)took / MS);
    cr_assert_eq(report.finished, 1);
    cr_assert_eq(report.cut_queued, 3);
    cr_assert_eq(report.cut_running, 1);
    cr_assert_eq(report.n_cut_ids, 4);
    const rc_work_id want[] = {1, 3, 4, 5};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(report.cut_ids[i], want[i], "cut_ids[%zu] = %llu", i,
                     (unsigned long long)report.cut_ids[i]);
    rc_shutdown_report_free(&report);
    cr_assert_null(report.cut_ids);

    cr_assert_eq(rc_work_state(rc_get(fx->cue, quick)), RC_COMPLETED);
    cr_assert_eq(rc_work_state(rc_get(fx->cue, slow)), RC_FAILED);
    cr_assert_str_eq(work_error(fx, slow), "cut by shutdown: still running after 0.2s");
    for (rc_work_id id = 3; id <= 5; id++)
        cr_assert_str_eq(work_error(fx, id), "cut by shutdown before it started");
    cr_assert_eq(fx->n_calls, 2, "a queued job started after shutdown");
    assert_each_work_ended_once(fx, 1, 5);
    cr_assert_eq(tu_stats(fx->cue).stale_finishes, 0);

    /* The slow function now returns: its result is refused as stale and
     * changes nothing else. */
    fx_open_gate(fx);
    fx_run_until_stale(fx, 1);

    const rc_stats s = tu_stats(fx->cue);
    cr_assert_eq(s.stale_finishes, 1);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.failed, 4);
    cr_assert_eq(s.running, 0);
    cr_assert_eq(rc_work_state(rc_get(fx->cue, slow)), RC_FAILED);
    assert_each_work_ended_once(fx, 1, 5);
    cr_assert_eq(fx->hooks_off_loop, 0);

    rc_pool_free(fx->pool);
    fx->pool = NULL;
    rc_cue_free(fx->cue);
    rc_loop_free(fx->loop);
    free(fx);
}

Test(pool, work_dispatched_after_shutdown_fails_at_once)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    cr_assert_eq(rc_pool_shutdown(fx->pool, 0, NULL), RC_OK);
    const rc_work_id id = tu_submit(fx->cue, "t", "{}");

    fx_run(fx);

    cr_assert_eq(rc_work_state(rc_get(fx->cue, id)), RC_FAILED);
    cr_assert_str_eq(work_error(fx, id), "pool is shut down");
    cr_assert_eq(fx->n_calls, 0);
    fx_free(fx);
}

Test(pool, shutdown_waits_for_running_jobs_that_finish_before_the_deadline)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    tu_submit(fx->cue, "t", "{\"sleep_ms\": 30}");
    tu_submit(fx->cue, "t", "{\"sleep_ms\": 30, \"fail\": \"bad input\"}");
    fx_dispatch(fx);
    fx_wait_inside(fx, 2);

    rc_shutdown_report report;
    const rc_time t0 = real_now();
    cr_assert_eq(rc_pool_shutdown(fx->pool, 30.0, &report), RC_OK);
    const rc_time took = real_now() - t0;

    cr_assert_lt(took, LATE, "waited %.1f ms for 30 ms jobs", (double)took / MS);
    cr_assert_eq(report.finished, 2);
    cr_assert_eq(report.cut_queued + report.cut_running, 0);
    cr_assert_eq(report.n_cut_ids, 0);
    cr_assert_eq(rc_work_state(rc_get(fx->cue, 1)), RC_COMPLETED);
    cr_assert_str_eq(work_error(fx, 2), "bad input");
    assert_each_work_ended_once(fx, 1, 2);
    rc_shutdown_report_free(&report);
    fx_free(fx);
}

Test(pool, an_infinite_deadline_waits_for_every_running_job)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    tu_submit(fx->cue, "t", "{\"sleep_ms\": 20}");
    tu_submit(fx->cue, "t", "{\"sleep_ms\": 60}");
    fx_dispatch(fx);
    fx_wait_inside(fx, 2);

    rc_shutdown_report report;
    cr_assert_eq(rc_pool_shutdown(fx->pool, INFINITY, &report), RC_OK);

    cr_assert_eq(report.finished, 2);
    cr_assert_eq(report.n_cut_ids, 0);
    cr_assert_eq(tu_stats(fx->cue).completed, 2);
    rc_shutdown_report_free(&report);
    fx_free(fx);
}

/*
 * The pool, the cue and the loop are all freed while a cut function is still
 * running; when it returns, its thread must touch none of them (run under
 * AddressSanitizer to see a use after free).
 */
Test(pool, free_does_not_wait_for_a_thread_still_running_after_the_deadline)
{
    pool_fx *fx = fx_new(2);
    fx_task(fx, "t", NULL);
    const rc_work_id id = tu_submit(fx->cue, "t", "{\"hold\": true, \"n\": 1}");
    fx_dispatch(fx);
    fx_wait_held(fx, 1);

    rc_shutdown_report report;
    cr_assert_eq(rc_pool_shutdown(fx->pool, 0.02, &report), RC_OK);
    cr_assert_eq(report.cut_running, 1);
    cr_assert_eq(report.cut_ids[0], id);
    rc_shutdown_report_free(&report);

    /* The function holds at the gate until the test opens it: free
     * returning at all shows it did not wait for the thread. */
    rc_pool_free(fx->pool);
    cr_assert_eq(atomic_load(&fx->returned), 0, "rc_pool_free waited for the busy thread");
    rc_cue_free(fx->cue);
    rc_loop_free(fx->loop);

    /* Let the function return and its thread finish on its own. */
    fx_open_gate(fx);
    const rc_time until = real_now() + LATE;
    while (atomic_load(&fx->returned) == 0 && real_now() < until)
        sleep_ms(5);
    cr_assert_eq(atomic_load(&fx->returned), 1);
    sleep_ms(50);
    pthread_mutex_destroy(&fx->lock);
    pthread_cond_destroy(&fx->gate_cond);
    free(fx);
}

Test(pool, free_without_shutdown_cuts_running_work_at_once)
{
    pool_fx *fx = fx_new(1);
    fx_task(fx, "t", NULL);
    const rc_work_id id = tu_submit(fx->cue, "t", "{\"hold\": true}");
    fx_dispatch(fx);
    fx_wait_held(fx, 1);

    rc_pool_free(fx->pool);

    cr_assert_eq(rc_work_state(rc_get(fx->cue, id)), RC_FAILED);
    cr_assert_str_eq(work_error(fx, id), "cut by shutdown: still running after 0s");
    fx_open_gate(fx);
    const rc_time until = real_now() + LATE;
    while (atomic_load(&fx->returned) == 0 && real_now() < until)
        sleep_ms(1);
    sleep_ms(20);
    /* The result came back after the pool was freed: dropped, not even
     * counted as stale. */
    fx_dispatch(fx);
    cr_assert_eq(tu_stats(fx->cue).stale_finishes, 0);
    cr_assert_eq(tu_stats(fx->cue).failed, 1);
    rc_cue_free(fx->cue);
    rc_loop_free(fx->loop);
    pthread_mutex_destroy(&fx->lock);
    pthread_cond_destroy(&fx->gate_cond);
    free(fx);
}

Test(pool, after_free_work_for_a_pool_task_waits_for_a_handler)
{
    pool_fx *fx = fx_new(1);
    fx_task(fx, "t", NULL);
    cr_assert_eq(rc_pool_shutdown(fx->pool, 0, NULL), RC_OK);
    rc_pool_free(fx->pool);
    const rc_work_id id = tu_submit(fx->cue, "t", "{}");

    fx_dispatch(fx);

    cr_assert_eq(rc_work_state(rc_get(fx->cue, id)), RC_PENDING);
    rc_blocked *blocked = NULL;
    size_t n = 0;
    cr_assert_eq(rc_debug_blocked(fx->cue, &blocked, &n), RC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(blocked[0].reason, RC_BLOCK_UNKNOWN_TASK);
    rc_blocked_free(fx->cue, blocked);
    rc_cue_free(fx->cue);
    rc_loop_free(fx->loop);
    pthread_mutex_destroy(&fx->lock);
    pthread_cond_destroy(&fx->gate_cond);
    free(fx);
}
