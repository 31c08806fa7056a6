/* test_realclock.c -- the loop and the cue on CLOCK_MONOTONIC.
 *
 * Short real intervals (10-50 ms) so each test stays well under a second:
 * timers never fire early, other threads wake a sleeping loop (a completion,
 * a post, a stop), and a rate limit holds in real time. */
#include "testutil.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define MS INT64_C(1000000)
/* Upper bounds are generous: a busy machine may be slow to schedule us, and
 * what they catch (a loop that was never woken, a timer waited out) takes
 * far longer or forever. */
#define LATE (5000 * MS)

static rc_time real_now(void)
{
    return rc_monotonic_now();
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static rc_loop *mono_loop_new(void)
{
    rc_loop *loop = NULL;
    int rc = rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC});
    cr_assert_eq(rc, RC_OK, "rc_loop_new(monotonic): %s", rc_strerror(rc));
    cr_assert_eq(rc_loop_clock(loop), RC_CLOCK_MONOTONIC);
    return loop;
}

/* ---- timers ---- */

typedef struct fire_log {
    rc_time due[8];
    rc_time loop_at[8]; /* rc_loop_now in the callback */
    rc_time real_at[8]; /* CLOCK_MONOTONIC read by the test in the callback */
    int who[8];
    size_t n;
} fire_log;

static fire_log fl;
static const int names[] = {0, 1, 2, 3};

static void on_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    cr_assert_lt(fl.n, (size_t)8);
    fl.due[fl.n] = t->when;
    fl.loop_at[fl.n] = rc_loop_now(loop);
    fl.real_at[fl.n] = real_now();
    fl.who[fl.n] = *(const int *)arg;
    fl.n++;
}

Test(realclock, timers_fire_in_order_and_never_before_they_are_due)
{
    memset(&fl, 0, sizeof fl);
    rc_loop *loop = mono_loop_new();
    rc_time t0 = real_now();
    rc_time base = rc_loop_now(loop);
    const int offs_ms[3] = {30, 10, 20};
    rc_timer t[3];
    for (int i = 0; i < 3; i++) {
        rc_timer_init(&t[i], on_fire, (void *)&names[i]);
        cr_assert_eq(rc_timer_start(loop, &t[i], base + offs_ms[i] * MS), RC_OK);
    }

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    rc_time elapsed = real_now() - t0;

    cr_assert_eq(fl.n, 3);
    cr_assert_eq(fl.who[0], 1);
    cr_assert_eq(fl.who[1], 2);
    cr_assert_eq(fl.who[2], 0);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_geq(fl.loop_at[i], fl.due[i], "timer %zu fired %.3f ms early on the loop clock",
                      i, (double)(fl.due[i] - fl.loop_at[i]) / MS);
        cr_assert_geq(fl.real_at[i], fl.due[i], "timer %zu fired early in real time", i);
    }
    cr_assert_geq(elapsed, 30 * MS);
    cr_assert_lt(elapsed, LATE, "took %.1f ms", (double)elapsed / MS);
    rc_loop_free(loop);
}

Test(realclock, run_until_on_a_referenced_idle_loop_sleeps_until_the_deadline)
{
    rc_loop *loop = mono_loop_new();
    rc_loop_ref(loop);
    rc_time t0 = real_now();

    int rc = rc_loop_run_until(loop, rc_loop_now(loop) + 25 * MS);
    rc_time elapsed = real_now() - t0;

    cr_assert_eq(rc, 1);
    cr_assert_geq(elapsed, 25 * MS);
    cr_assert_lt(elapsed, LATE);
    rc_loop_unref(loop);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    rc_loop_free(loop);
}

/* ---- cross-thread wakeups ---- */

typedef struct wake_ctx {
    rc_loop *loop;
    rc_cue *cue;
    rc_token token;
    int delay_ms;
    int finishes; /* how many times the thread calls rc_complete */
    int rc[2];    /* what rc_complete returned on the thread */
    pthread_t thread;
    bool thread_started;

    pthread_t loop_thread;
    bool post_ran_on_loop_thread;
    int completes;
    bool complete_on_loop_thread;
    rc_time started_real, completed_real;
} wake_ctx;

static wake_ctx W;

static void *finish_from_thread(void *arg)
{
    wake_ctx *c = arg;
    sleep_ms(c->delay_ms);
    for (int i = 0; i < c->finishes; i++)
        c->rc[i] = rc_complete(c->cue, c->token, NULL);
    return NULL;
}

static void threaded_handler(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)w, (void)ud;
    W.cue = cue;
    W.token = tok;
    W.started_real = real_now();
    cr_assert_eq(pthread_create(&W.thread, NULL, finish_from_thread, &W), 0);
    W.thread_started = true;
}

static void on_complete_check_thread(rc_cue *cue, const rc_work *w, const cJSON *result,
                                     double duration_s, void *ud)
{
    (void)cue, (void)w, (void)result, (void)duration_s, (void)ud;
    W.completes++;
    W.completed_real = real_now();
    W.complete_on_loop_thread = pthread_equal(pthread_self(), W.loop_thread) != 0;
}

static void threaded_cue_run(int finishes)
{
    memset(&W, 0, sizeof W);
    W.delay_ms = 20;
    W.finishes = finishes;
    W.loop_thread = pthread_self();
    W.loop = mono_loop_new();
    W.cue = tu_cue_new(W.loop, NULL);
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.on_complete = on_complete_check_thread;
    rc_cue_set_hooks(W.cue, &h);
    cr_assert_eq(rc_task(W.cue, "t", NULL, threaded_handler, NULL), RC_OK);
    rc_work_id id = tu_submit(W.cue, "t", NULL);

    rc_time t0 = real_now();
    int rc = rc_loop_run(W.loop, RC_RUN_DEFAULT);
    rc_time elapsed = real_now() - t0;
    if (W.thread_started) pthread_join(W.thread, NULL);
    /* The loop may go idle after the first finish, before the thread posts
     * the next: let it take what was posted since. */
    rc_loop_run(W.loop, RC_RUN_NOWAIT);

    cr_assert_eq(rc, 0);
    cr_assert(W.thread_started);
    cr_assert_eq(W.completes, 1);
    cr_assert(W.complete_on_loop_thread, "on_complete ran on another thread");
    cr_assert_geq(W.completed_real - W.started_real, 20 * MS);
    cr_assert_lt(elapsed, LATE, "the loop was not woken: %.1f ms", (double)elapsed / MS);
    cr_assert_eq(rc_work_state(rc_get(W.cue, id)), RC_COMPLETED);
}

Test(realclock, completion_from_another_thread_wakes_the_loop_and_finishes_on_the_loop_thread)
{
    threaded_cue_run(1);

    cr_assert_eq(W.rc[0], RC_OK);
    rc_stats s = tu_stats(W.cue);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.running, 0);
    tu_close(W.loop, W.cue);
}

Test(realclock, second_completion_from_a_thread_is_counted_as_stale)
{
    threaded_cue_run(2);

    /* From another thread the finish is posted: both calls return 0 at once,
     * and the second is only counted. */
    cr_assert_eq(W.rc[0], RC_OK);
    cr_assert_eq(W.rc[1], RC_OK);
    rc_stats s = tu_stats(W.cue);
    cr_assert_eq(s.completed, 1);
    cr_assert_eq(s.stale_finishes, 1);
    tu_close(W.loop, W.cue);
}

static void unref_on_loop(rc_loop *loop, void *arg)
{
    (void)arg;
    W.post_ran_on_loop_thread = pthread_equal(pthread_self(), W.loop_thread) != 0;
    rc_loop_unref(loop);
}

static void *post_from_thread(void *arg)
{
    wake_ctx *c = arg;
    sleep_ms(c->delay_ms);
    c->rc[0] = rc_loop_post(c->loop, unref_on_loop, NULL);
    return NULL;
}

Test(realclock, post_from_another_thread_wakes_a_sleeping_loop)
{
    memset(&W, 0, sizeof W);
    W.delay_ms = 20;
    W.loop_thread = pthread_self();
    W.loop = mono_loop_new();
    rc_loop_ref(W.loop); /* kept alive with nothing to wait for but the post */
    cr_assert_eq(pthread_create(&W.thread, NULL, post_from_thread, &W), 0);

    rc_time t0 = real_now();
    int rc = rc_loop_run(W.loop, RC_RUN_DEFAULT);
    rc_time elapsed = real_now() - t0;
    pthread_join(W.thread, NULL);

    cr_assert_eq(rc, 0);
    cr_assert_eq(W.rc[0], RC_OK);
    cr_assert(W.post_ran_on_loop_thread);
    cr_assert_geq(elapsed, 15 * MS);
    cr_assert_lt(elapsed, LATE);
    rc_loop_free(W.loop);
}

static void *stop_from_thread(void *arg)
{
    wake_ctx *c = arg;
    sleep_ms(c->delay_ms);
    rc_loop_stop(c->loop);
    return NULL;
}

Test(realclock, stop_from_another_thread_ends_a_sleeping_run)
{
    memset(&W, 0, sizeof W);
    W.delay_ms = 20;
    W.loop = mono_loop_new();
    rc_loop_ref(W.loop);
    cr_assert_eq(pthread_create(&W.thread, NULL, stop_from_thread, &W), 0);

    rc_time t0 = real_now();
    int rc = rc_loop_run(W.loop, RC_RUN_DEFAULT);
    rc_time elapsed = real_now() - t0;
    pthread_join(W.thread, NULL);

    cr_assert_eq(rc, 1, "stopped while still referenced");
    cr_assert_geq(elapsed, 15 * MS);
    cr_assert_lt(elapsed, LATE);
    rc_loop_unref(W.loop);
    rc_loop_free(W.loop);
}

/* ---- fds ---- */

static char fd_buf[8];
static unsigned fd_events;

static void on_readable(rc_loop *loop, int fd, unsigned events, void *arg)
{
    (void)arg;
    fd_events = events;
    ssize_t n = read(fd, fd_buf, sizeof fd_buf - 1);
    cr_assert_gt(n, 0);
    cr_assert_eq(rc_loop_unwatch_fd(loop, fd), RC_OK);
}

static int write_fd;

static void *write_later(void *arg)
{
    (void)arg;
    sleep_ms(20);
    ssize_t n = write(write_fd, "hi", 2);
    (void)n;
    return NULL;
}

Test(realclock, watched_fd_wakes_the_loop_when_readable)
{
    memset(fd_buf, 0, sizeof fd_buf);
    fd_events = 0;
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    write_fd = fds[1];
    rc_loop *loop = mono_loop_new();
    cr_assert_eq(rc_loop_watch_fd(loop, fds[0], RC_READABLE, on_readable, NULL), RC_OK);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, write_later, NULL), 0);

    rc_time t0 = real_now();
    int rc = rc_loop_run(loop, RC_RUN_DEFAULT);
    rc_time elapsed = real_now() - t0;
    pthread_join(th, NULL);

    cr_assert_eq(rc, 0, "unwatching the only fd leaves the loop idle");
    cr_assert(fd_events & RC_READABLE);
    cr_assert_str_eq(fd_buf, "hi");
    cr_assert_geq(elapsed, 15 * MS);
    cr_assert_lt(elapsed, LATE);
    rc_loop_free(loop);
    close(fds[0]);
    close(fds[1]);
}

/* ---- a rate limit in real time ---- */

static rc_time rl_start[32];
static size_t rl_n;

static void record_start(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)w, (void)ud;
    cr_assert_lt(rl_n, (size_t)32);
    rl_start[rl_n++] = rc_loop_now(rc_cue_loop(cue));
    cr_assert_eq(rc_complete(cue, tok, NULL), RC_OK);
}

Test(realclock, rate_limit_holds_in_real_time)
{
    rl_n = 0;
    rc_loop *loop = mono_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_service(cue, "api", "5/0.1", RC_NO_LIMIT), RC_OK);
    cr_assert_eq(rc_task(cue, "t", "api", record_start, NULL), RC_OK);
    for (int i = 0; i < 15; i++)
        tu_submit(cue, "t", NULL);

    rc_time t0 = real_now();
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    rc_time elapsed = real_now() - t0;

    cr_assert_eq(rl_n, 15);
    /* Never more than 5 starts in any 100 ms window... */
    for (size_t k = 0; k + 5 < rl_n; k++)
        cr_assert_geq(rl_start[k + 5] - rl_start[k], 100 * MS,
                      "starts %zu and %zu only %.3f ms apart", k, k + 5,
                      (double)(rl_start[k + 5] - rl_start[k]) / MS);
    /* ... so 15 starts take at least two windows. */
    cr_assert_geq(elapsed, 200 * MS);
    cr_assert_lt(elapsed, LATE, "took %.1f ms", (double)elapsed / MS);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.completed, 15);
    tu_close(loop, cue);
}

/* ---- durations ---- */

static void count_complete(rc_cue *cue, const rc_work *w, const cJSON *result, double duration_s,
                           void *ud)
{
    (void)cue, (void)w, (void)result;
    *(double *)ud = duration_s;
}

Test(realclock, completion_duration_is_measured_in_real_seconds)
{
    rc_loop *loop = mono_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    double duration = -1;
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.on_complete = count_complete;
    h.ud = &duration;
    rc_cue_set_hooks(cue, &h);
    tu_task *t = tu_task_new();
    t->delay_s = 0.03;
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, t), RC_OK);
    tu_submit(cue, "t", NULL);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_geq(duration, 0.03);
    cr_assert_lt(duration, rc_to_seconds(LATE));
    tu_close(loop, cue);
    free(t);
}

/* ---- the stall timer follows cancels ---- */

static int never_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue, (void)w, (void)ud;
    rc_check_wait_on(chk, "never");
    return 0;
}

static void cancel_work_1(rc_loop *loop, void *cue)
{
    (void)loop;
    cr_assert_eq(rc_cancel(cue, 1), RC_OK);
}

Test(realclock, cancelling_the_last_pending_item_lets_the_run_return_at_once)
{
    rc_loop *loop = mono_loop_new();
    rc_cue *cue = tu_cue_new(loop, &(rc_cue_opts){.stall_timeout = 20});
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = never_ready});
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, NULL), RC_OK);
    tu_submit(cue, "t", NULL);
    /* Measured from the instant the timer counts from (the loop's clock is
     * the monotonic clock), so the lower bound holds on a loaded machine. */
    rc_time t0 = rc_loop_now(loop);
    cr_assert_eq(rc_loop_call_at(loop, t0 + 20 * MS, cancel_work_1, cue), RC_OK);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    rc_time elapsed = real_now() - t0;

    cr_assert_eq(rc_work_state(rc_get(cue, 1)), RC_CANCELLED);
    cr_assert_geq(elapsed, 20 * MS);
    cr_assert_lt(elapsed, LATE, "the run waited %.1f ms, for the 20 s stall timer",
                 (double)elapsed / MS);
    tu_close(loop, cue);
}
