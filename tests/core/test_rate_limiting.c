/* test_rate_limiting.c -- sliding-window rate limits and concurrency limits. */
#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;

/* Every start the cue reports through on_start, in order. */
#define MAX_STARTS 4096
typedef struct start_log {
    size_t n;
    rc_time at[MAX_STARTS];
    rc_work_id id[MAX_STARTS];
} start_log;
static start_log *S;

static void log_start(rc_cue *c, const rc_work *w, void *ud)
{
    (void)c;
    (void)ud;
    cr_assert_lt(S->n, MAX_STARTS);
    S->at[S->n] = rc_loop_now(loop);
    S->id[S->n] = rc_work_get_id(w);
    S->n++;
}

static void setup(void)
{
    tu_open(&loop, &cue, NULL);
    S = calloc(1, sizeof *S);
    cr_assert_not_null(S);
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.on_start = log_start;
    rc_cue_set_hooks(cue, &h);
}

static void teardown(void)
{
    tu_close(loop, cue);
    free(S);
}

TestSuite(rate_limiting, .init = setup, .fini = teardown);

/* Assert that no `count` + 1 starts fall in any half-open window of
 * `window` ns: start[i + count] - start[i] >= window for every i. */
static void assert_sliding_window(const rc_time *at, size_t n, unsigned count, rc_time window)
{
    for (size_t i = 1; i < n; i++)
        cr_assert_geq(at[i], at[i - 1], "start log out of order at %zu", i);
    for (size_t i = 0; i + count < n; i++)
        cr_assert_geq(at[i + count] - at[i], window,
                      "%u+1 starts within %.6fs: start %zu at %.9fs and start %zu at %.9fs", count,
                      rc_to_seconds(window), i, rc_to_seconds(at[i]), i + count,
                      rc_to_seconds(at[i + count]));
}

/* How many logged starts fall in [from, to). */
static size_t starts_between(double from, double to)
{
    size_t k = 0;
    for (size_t i = 0; i < S->n; i++)
        if (S->at[i] >= rc_seconds(from) && S->at[i] < rc_seconds(to)) k++;
    return k;
}

/* A burst: submit `count` items of task "t" when the timer fires. */
typedef struct burst {
    double at;
    int count;
    rc_time submitted_at;
    rc_work_id first, last;
} burst;

static void fire_burst(rc_loop *l, void *arg)
{
    burst *b = arg;
    b->submitted_at = rc_loop_now(l);
    for (int i = 0; i < b->count; i++) {
        rc_work_id id = tu_submit(cue, "t", NULL);
        if (i == 0) b->first = id;
        b->last = id;
    }
}

static void schedule_bursts(burst *bursts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(rc_loop_call_at(loop, rc_seconds(bursts[i].at), fire_burst, &bursts[i]),
                     RC_OK);
}

/* The start time of work `id` in the log. */
static rc_time start_of(rc_work_id id)
{
    for (size_t i = 0; i < S->n; i++)
        if (S->id[i] == id) return S->at[i];
    cr_assert_fail("work %llu never started", (unsigned long long)id);
    return -1;
}

Test(rate_limiting, sliding_window_holds_over_a_long_bursty_run_at_full_throughput)
{
    tu_task t = {0};
    tu_serve(cue, "api", "20/1", RC_NO_LIMIT, "t", &t);
    burst bursts[] = {
        {.at = 0, .count = 1000},    /* a backlog: 50 windows */
        {.at = 20.25, .count = 463}, /* joins the backlog mid-window */
        {.at = 200, .count = 300},   /* after an idle gap */
        {.at = 214.5, .count = 200}, /* half a window after the last full one */
        {.at = 300.5, .count = 7},   /* small bursts straddling a window edge */
        {.at = 300.7, .count = 30},
    };
    schedule_bursts(bursts, sizeof bursts / sizeof bursts[0]);
    tu_run(loop);

    cr_assert_eq(S->n, 2000);
    cr_assert_eq(t.calls, 2000);
    cr_assert_eq(tu_stats(cue).completed, 2000);
    assert_sliding_window(S->at, S->n, 20, RC_NSEC_PER_SEC);

    /* Never before submission, and at full rate: 20 starts per second
     * whenever there is a backlog. */
    for (size_t i = 0; i < sizeof bursts / sizeof bursts[0]; i++)
        cr_assert_geq(start_of(bursts[i].first), rc_seconds(bursts[i].at));
    cr_assert_eq(starts_between(0, 1), 20, "a full window at once: no warm-up");
    /* 1463 items from t=0 at 20/s: the last starts at t=73 (window 74). */
    double last_ab = rc_to_seconds(start_of(bursts[1].last));
    cr_assert_geq(last_ab, 73.0);
    cr_assert_leq(last_ab, 73.05, "throughput below the limit: last of the backlog at %.3fs",
                  last_ab);
    /* 300 items from t=200: windows 200..214; 200 more from 215..224. */
    double last_cd = rc_to_seconds(start_of(bursts[3].last));
    cr_assert_geq(last_cd, 224.0);
    cr_assert_leq(last_cd, 224.05, "last of the second backlog at %.3fs", last_cd);
    cr_assert_eq(start_of(bursts[2].first), rc_seconds(200), "idle service: starts at once");
    /* 7 at 300.5, 13 at 300.7, 7 at 301.5, the last 10 at 301.7. */
    double last_ef = rc_to_seconds(start_of(bursts[5].last));
    cr_assert_geq(last_ef, 301.7 - 1e-9);
    cr_assert_leq(last_ef, 301.75, "last of the straddling bursts at %.3fs", last_ef);
    cr_assert_eq(starts_between(300.5, 300.6), 7);
    cr_assert_eq(starts_between(300.7, 300.8), 13);
}

Test(rate_limiting, window_slides_instead_of_resetting_at_fixed_boundaries)
{
    tu_task t = {0};
    tu_serve(cue, "api", "20/1", RC_NO_LIMIT, "t", &t);
    burst bursts[] = {{.at = 0, .count = 10}, {.at = 0.9, .count = 30}};
    schedule_bursts(bursts, 2);
    tu_run(loop);
    cr_assert_eq(S->n, 40);
    assert_sliding_window(S->at, S->n, 20, RC_NSEC_PER_SEC);
    cr_assert_eq(starts_between(0.9, 0.95), 10, "10 slots free at 0.9");
    cr_assert_eq(starts_between(1.0, 1.05), 10, "10 more as the t=0 starts leave the window");
    cr_assert_eq(starts_between(1.05, 1.9), 0, "a fixed window reset at 1.0 would start more");
    cr_assert_eq(starts_between(1.9, 1.95), 10);
}

Test(rate_limiting, per_minute_limit_lets_the_next_start_exactly_one_window_later)
{
    tu_task t = {0};
    tu_serve(cue, "openai", "60/min", RC_NO_LIMIT, "t", &t);
    for (int i = 0; i < 61; i++)
        tu_submit(cue, "t", NULL);
    tu_run_until(loop, 30);
    cr_assert_eq(t.calls, 60);
    rc_service_info info;
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.starts_in_window, 60);
    cr_assert_eq(info.next_start, rc_seconds(60), "next slot when the first start leaves");
    cr_assert_eq(info.queued, 1);
    cr_assert_eq(tu_stats(cue).queued, 1);
    cr_assert_eq(tu_stats(cue).pending, 1);
    tu_run(loop);
    cr_assert_eq(t.calls, 61);
    cr_assert_eq(S->at[60], rc_seconds(60),
                 "half-open window: a start at exactly t+60s is allowed");
}

Test(rate_limiting, rate_limits_starts_not_completions)
{
    tu_task t = {.delay_s = 10};
    tu_serve(cue, "api", "2/1", RC_NO_LIMIT, "t", &t);
    for (int i = 0; i < 6; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    static const double expected[] = {0, 0, 1, 1, 2, 2};
    cr_assert_eq(S->n, 6);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(S->at[i], rc_seconds(expected[i]), "start %zu at %.3fs", i,
                     rc_to_seconds(S->at[i]));
    cr_assert_eq(t.max_running, 6, "no concurrency limit: all six overlap");
}

Test(rate_limiting, fractional_window_rate_is_enforced)
{
    tu_task t = {0};
    tu_serve(cue, "fast", "5/0.5", RC_NO_LIMIT, "t", &t);
    for (int i = 0; i < 15; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(S->n, 15);
    assert_sliding_window(S->at, S->n, 5, rc_seconds(0.5));
    cr_assert_eq(S->at[14], rc_seconds(1.0));
}

Test(rate_limiting, service_limits_with_numbers_is_enforced_like_a_rate_string)
{
    tu_task t = {0};
    cr_assert_eq(rc_service_limits(cue, "api", 3, 2.0, RC_NO_LIMIT), RC_OK);
    cr_assert_eq(rc_task(cue, "t", "api", tu_handler, &t), RC_OK);
    for (int i = 0; i < 10; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    assert_sliding_window(S->at, S->n, 3, rc_seconds(2));
    cr_assert_eq(S->at[9], rc_seconds(6));
}

/* Varying virtual run times from a fixed LCG: deterministic but irregular. */
static double lcg_delay(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return 0.1 + (double)(*state >> 8) / (double)(1u << 24) * 2.0;
}

/* Submit n works to task "t" with delays from lcg_delay(seed); run them all. */
static void run_irregular(int n, uint32_t seed)
{
    for (int i = 0; i < n; i++) {
        char buf[48];
        snprintf(buf, sizeof buf, "{\"delay\":%.6f}", lcg_delay(&seed));
        tu_submit(cue, "t", buf);
    }
    tu_run(loop);
}

Test(rate_limiting, concurrency_never_exceeds_the_limit)
{
    tu_task t = {0};
    tu_serve(cue, "pool", NULL, 3, "t", &t);
    run_irregular(60, 12345);
    cr_assert_eq(t.calls, 60);
    cr_assert_eq(t.max_running, 3, "the limit is reached but never exceeded");
    rc_service_info info;
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.peak_running, 3);
    cr_assert_eq(info.running, 0);
    cr_assert_eq(info.started, 60);
    cr_assert_eq(info.completed, 60);
}

Test(rate_limiting, concurrency_limit_uses_every_slot)
{
    tu_task t = {.delay_s = 1};
    tu_serve(cue, "pool", NULL, 3, "t", &t);
    for (int i = 0; i < 10; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.max_running, 3);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(4), "ceil(10/3) rounds of 1s");
    cr_assert_eq(starts_between(0, 0.5), 3);
    cr_assert_eq(starts_between(1, 1.5), 3);
    cr_assert_eq(starts_between(3, 3.5), 1);
}

Test(rate_limiting, concurrency_one_runs_work_strictly_one_after_another)
{
    tu_task t = {0};
    tu_serve(cue, "knife", NULL, 1, "t", &t);
    run_irregular(25, 99);
    cr_assert_eq(t.calls, 25);
    cr_assert_eq(t.max_running, 1);
    for (size_t i = 1; i < t.n; i++)
        cr_assert_geq(t.starts[i], t.ends[i - 1], "work %zu started before %zu finished", i, i - 1);
    cr_assert_eq(t.starts[24], t.ends[23], "and without idle gaps");
}

Test(rate_limiting, no_limit_service_starts_everything_at_once)
{
    tu_task t = {.delay_s = 5};
    tu_serve(cue, "free", NULL, RC_NO_LIMIT, "t", &t);
    for (int i = 0; i < 200; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.max_running, 200);
    cr_assert_eq(starts_between(0, 0.001), 200);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(5));
}

Test(rate_limiting, rate_and_concurrency_limits_hold_together)
{
    tu_task t = {.delay_s = 0.3};
    tu_serve(cue, "api", "5/1", 2, "t", &t);
    for (int i = 0; i < 40; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(t.calls, 40);
    cr_assert_eq(t.max_running, 2);
    assert_sliding_window(S->at, S->n, 5, RC_NSEC_PER_SEC);
    /* Concurrency allows 2 per 0.3s (6.7/s), so the rate is the bottleneck:
     * 40 starts at 5/s need 7 more windows after the first. */
    cr_assert_geq(S->at[39], rc_seconds(7));
    cr_assert_leq(S->at[39], rc_seconds(7.7), "last start at %.3fs", rc_to_seconds(S->at[39]));
}

Test(rate_limiting, a_full_service_does_not_hold_back_other_services)
{
    tu_task slow = {.delay_s = 100}, quick = {0};
    cr_assert_eq(rc_service(cue, "knife", NULL, 1), RC_OK);
    cr_assert_eq(rc_service(cue, "api", "1/hour", RC_NO_LIMIT), RC_OK);
    cr_assert_eq(rc_service(cue, "oven", NULL, 2), RC_OK);
    cr_assert_eq(rc_task(cue, "slice", "knife", tu_handler, &slow), RC_OK);
    cr_assert_eq(rc_task(cue, "call", "api", tu_handler, &quick), RC_OK);
    tu_task bake = {.delay_s = 1};
    cr_assert_eq(rc_task(cue, "bake", "oven", tu_handler, &bake), RC_OK);
    for (int i = 0; i < 3; i++) {
        tu_submit(cue, "slice", NULL);
        tu_submit(cue, "call", NULL);
    }
    for (int i = 0; i < 4; i++)
        tu_submit(cue, "bake", NULL);
    tu_run_until(loop, 2.0);
    cr_assert_eq(slow.calls, 1);
    cr_assert_eq(quick.calls, 1);
    cr_assert_eq(bake.calls, 4, "the oven keeps going while knife and api are held");
    cr_assert_eq(bake.finished, 4);
    tu_run(loop);
    cr_assert_eq(slow.calls, 3);
    cr_assert_eq(quick.calls, 3);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(7200), "the third api call waits two hours");
}

Test(rate_limiting, tasks_sharing_a_service_share_its_limits)
{
    tu_task a = {.delay_s = 1}, b = {.delay_s = 1};
    tu_serve(cue, "api", "4/10", 2, "a", &a);
    cr_assert_eq(rc_task(cue, "b", "api", tu_handler, &b), RC_OK);
    for (int i = 0; i < 4; i++) {
        tu_submit(cue, "a", NULL);
        tu_submit(cue, "b", NULL);
    }
    tu_run(loop);
    cr_assert_eq(a.calls + b.calls, 8);
    cr_assert_leq(a.max_running + b.max_running, 4);
    assert_sliding_window(S->at, S->n, 4, rc_seconds(10));
    rc_service_info info;
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.peak_running, 2, "two tasks, one limit");
    cr_assert_eq(info.started, 8);
}

Test(rate_limiting, starts_one_window_old_have_left_the_window)
{
    tu_task *t = tu_task_new();
    tu_serve(cue, "api", "2/1", RC_NO_LIMIT, "call", t);
    tu_submit(cue, "call", NULL);
    tu_submit(cue, "call", NULL);
    tu_keepalive(loop, 1.0);
    tu_keepalive(loop, 0.5);
    rc_service_info info;

    tu_run_until(loop, 0.5);
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.starts_in_window, 2, "both starts of t=0 are in the window at t=0.5");

    tu_run_until(loop, 1.0);
    cr_assert_eq(rc_service_get(cue, 0, &info), RC_OK);
    cr_assert_eq(info.starts_in_window, 0, "the window is half-open: (t-1s, t]");
    free(t);
}
