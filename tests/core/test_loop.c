/* test_loop.c -- the event loop on the virtual clock: timers, deferred calls,
 * references, run modes. */
#include "testutil.h"

#include <unistd.h>

#define MAX_FIRED 64

/* A log of which timer fired, and when. */
static struct {
    int who[MAX_FIRED];
    rc_time when[MAX_FIRED];
    size_t n;
} fired;

static rc_loop *loop;

static void setup(void)
{
    memset(&fired, 0, sizeof fired);
    loop = tu_loop_new();
}

static void teardown(void)
{
    rc_loop_free(loop);
}

TestSuite(loop, .init = setup, .fini = teardown);

static void note(rc_loop *l, int who)
{
    cr_assert_lt(fired.n, (size_t)MAX_FIRED);
    fired.who[fired.n] = who;
    fired.when[fired.n] = rc_loop_now(l);
    fired.n++;
}

/* Timer callback: arg points at an int naming the timer. */
static void on_timer(rc_loop *l, rc_timer *t, void *arg)
{
    (void)t;
    note(l, *(int *)arg);
}

/* rc_call_fn: arg points at an int naming the call. */
static void on_call(rc_loop *l, void *arg)
{
    note(l, *(int *)arg);
}

static const int ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static void arm(rc_timer *t, int who, double at)
{
    rc_timer_init(t, on_timer, (void *)&ids[who]);
    cr_assert_eq(rc_timer_start(loop, t, rc_seconds(at)), RC_OK);
}

/* ---- timers ---- */

Test(loop, new_loop_without_options_is_virtual_at_time_zero)
{
    rc_loop *l = NULL;
    cr_assert_eq(rc_loop_new(&l, NULL), RC_OK);
    cr_assert_eq(rc_loop_clock(l), RC_CLOCK_VIRTUAL);
    cr_assert_eq(rc_loop_now(l), 0);
    cr_assert_eq(rc_loop_run(l, RC_RUN_DEFAULT), 0, "an empty loop is idle at once");
    rc_loop_free(l);
}

Test(loop, virtual_loop_starts_at_the_given_time)
{
    rc_loop *l = NULL;
    cr_assert_eq(
        rc_loop_new(&l, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL, .start = rc_seconds(42)}),
        RC_OK);
    cr_assert_eq(rc_loop_now(l), rc_seconds(42));
    rc_loop_free(l);
}

Test(loop, timers_fire_in_time_order_with_the_clock_at_their_time)
{
    rc_timer a, b, c;
    arm(&a, 5, 5);
    arm(&b, 1, 1);
    arm(&c, 3, 3);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 3);
    cr_assert_eq(fired.who[0], 1);
    cr_assert_eq(fired.who[1], 3);
    cr_assert_eq(fired.who[2], 5);
    cr_assert_eq(fired.when[0], rc_seconds(1));
    cr_assert_eq(fired.when[1], rc_seconds(3));
    cr_assert_eq(fired.when[2], rc_seconds(5));
    cr_assert_eq(rc_loop_now(loop), rc_seconds(5));
    cr_assert_not(rc_timer_active(&a));
}

Test(loop, timers_due_at_the_same_time_fire_in_arm_order)
{
    rc_timer t[6];
    int order[] = {4, 2, 5, 0, 3, 1};
    for (int i = 0; i < 6; i++)
        arm(&t[i], order[i], 2);

    tu_run(loop);

    cr_assert_eq(fired.n, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(fired.who[i], order[i], "position %d", i);
}

Test(loop, rearming_a_timer_puts_it_after_timers_armed_before)
{
    rc_timer a, b, c;
    arm(&a, 0, 2);
    arm(&b, 1, 2);
    arm(&c, 2, 2);
    cr_assert_eq(rc_timer_start(loop, &a, rc_seconds(2)), RC_OK); /* re-arm: now last */

    tu_run(loop);

    cr_assert_eq(fired.n, 3, "a re-armed timer fires once");
    cr_assert_eq(fired.who[0], 1);
    cr_assert_eq(fired.who[1], 2);
    cr_assert_eq(fired.who[2], 0);
}

Test(loop, rearming_moves_the_timer_to_the_new_time)
{
    rc_timer a;
    arm(&a, 1, 2);
    cr_assert_eq(rc_timer_start(loop, &a, rc_seconds(7)), RC_OK);

    tu_run(loop);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.when[0], rc_seconds(7));
}

Test(loop, stopped_timer_does_not_fire)
{
    rc_timer a, b;
    arm(&a, 1, 1);
    arm(&b, 2, 2);
    cr_assert(rc_timer_active(&a));

    rc_timer_stop(loop, &a);
    cr_assert_not(rc_timer_active(&a));
    rc_timer_stop(loop, &a); /* stopping twice is harmless */
    tu_run(loop);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.who[0], 2);
}

Test(loop, stopping_the_only_timer_makes_the_loop_idle_without_moving_time)
{
    rc_timer a;
    arm(&a, 1, 10);
    rc_timer_stop(loop, &a);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 0);
    cr_assert_eq(rc_loop_now(loop), 0);
}

static rc_timer *victim;

static void stop_victim(rc_loop *l, rc_timer *t, void *arg)
{
    on_timer(l, t, arg);
    rc_timer_stop(l, victim);
}

Test(loop, a_timer_callback_can_stop_a_later_timer)
{
    rc_timer a, b;
    rc_timer_init(&a, stop_victim, (void *)&ids[1]);
    cr_assert_eq(rc_timer_start(loop, &a, rc_seconds(1)), RC_OK);
    arm(&b, 2, 2);
    victim = &b;

    tu_run(loop);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.who[0], 1);
}

static int ticks;

static void periodic(rc_loop *l, rc_timer *t, void *arg)
{
    (void)arg;
    note(l, ++ticks);
    if (ticks < 5) cr_assert_eq(rc_timer_start(l, t, rc_loop_now(l) + rc_seconds(1)), RC_OK);
}

Test(loop, a_timer_can_rearm_itself_from_its_callback)
{
    ticks = 0;
    rc_timer t;
    rc_timer_init(&t, periodic, NULL);
    cr_assert_eq(rc_timer_start(loop, &t, rc_seconds(1)), RC_OK);

    tu_run(loop);

    cr_assert_eq(fired.n, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(fired.when[i], rc_seconds(i + 1));
}

Test(loop, timer_armed_in_the_past_fires_at_now)
{
    rc_loop *l = NULL;
    cr_assert_eq(rc_loop_new(&l, &(rc_loop_opts){.start = rc_seconds(10)}), RC_OK);
    rc_timer a;
    rc_timer_init(&a, on_timer, (void *)&ids[3]);
    cr_assert_eq(rc_timer_start(l, &a, rc_seconds(4)), RC_OK);

    tu_run(l);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.when[0], rc_seconds(10), "clamped to now, time never goes back");
    cr_assert_eq(rc_loop_now(l), rc_seconds(10));
    rc_loop_free(l);
}

/* ---- references ---- */

Test(loop, unreferenced_timer_alone_does_not_keep_the_loop_running)
{
    rc_timer a;
    rc_timer_init(&a, on_timer, (void *)&ids[1]);
    rc_timer_set_ref(&a, false);
    cr_assert_eq(rc_timer_start(loop, &a, rc_seconds(5)), RC_OK);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 0);
    cr_assert_eq(rc_loop_now(loop), 0);
    rc_timer_stop(loop, &a);
}

Test(loop, unreferenced_timer_fires_while_something_else_keeps_the_loop_alive)
{
    rc_timer a, b;
    rc_timer_init(&a, on_timer, (void *)&ids[1]);
    rc_timer_set_ref(&a, false);
    cr_assert_eq(rc_timer_start(loop, &a, rc_seconds(5)), RC_OK);
    arm(&b, 2, 10);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 2);
    cr_assert_eq(fired.who[0], 1);
    cr_assert_eq(fired.when[0], rc_seconds(5));
    cr_assert_eq(fired.who[1], 2);
}

/* set_ref on an armed timer takes effect when it is next armed; until then
 * the loop counts it as it was armed, and nothing is counted twice. */
Test(loop, unreferencing_an_armed_timer_leaves_the_loop_idle_once_it_fired)
{
    rc_timer a;
    arm(&a, 1, 5);
    rc_timer_set_ref(&a, false);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(5));
}

Test(loop, referencing_an_armed_unreferenced_timer_leaves_the_loop_idle_once_it_fired)
{
    rc_timer a, b;
    rc_timer_init(&a, on_timer, (void *)&ids[1]);
    rc_timer_set_ref(&a, false);
    cr_assert_eq(rc_timer_start(loop, &a, rc_seconds(5)), RC_OK);
    rc_timer_set_ref(&a, true);
    arm(&b, 2, 10);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 2);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(10));
}

Test(loop, loop_ref_keeps_the_loop_alive_until_unref)
{
    rc_loop_ref(loop);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 1,
                 "referenced but nothing can happen on the virtual clock: still alive");
    rc_loop_unref(loop);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
}

static void unref_loop(rc_loop *l, void *arg)
{
    on_call(l, arg);
    rc_loop_unref(l);
}

Test(loop, unref_from_a_timer_lets_the_loop_go_idle)
{
    rc_loop_ref(loop);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(3), unref_loop, (void *)&ids[7]), RC_OK);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(3));
}

/* ---- call_at ---- */

static rc_loop *seen_loop;

static void record_loop(rc_loop *l, void *arg)
{
    seen_loop = l;
    on_call(l, arg);
}

Test(loop, call_at_runs_once_at_its_time_with_its_argument)
{
    seen_loop = NULL;
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(3), record_loop, (void *)&ids[4]), RC_OK);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.who[0], 4);
    cr_assert_eq(fired.when[0], rc_seconds(3));
    cr_assert_eq(seen_loop, loop);
}

Test(loop, calls_at_the_same_time_run_in_the_order_they_were_made)
{
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), on_call, (void *)&ids[4 - i]), RC_OK);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(0.5), on_call, (void *)&ids[9]), RC_OK);

    tu_run(loop);

    cr_assert_eq(fired.n, 6);
    cr_assert_eq(fired.who[0], 9);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(fired.who[i + 1], 4 - i);
}

Test(loop, call_at_with_no_function_is_rejected)
{
    cr_assert_eq(rc_loop_call_at(loop, 0, NULL, NULL), RC_EINVAL);
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
}

Test(loop, pending_calls_are_released_when_the_loop_is_freed)
{
    /* Never run: the loop owns these timers and must free them (ASan). */
    rc_loop *l = tu_loop_new();
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rc_loop_call_at(l, rc_seconds(i + 1), on_call, (void *)&ids[i]), RC_OK);
    rc_loop_free(l);
    cr_assert_eq(fired.n, 0);
}

/* ---- defer ---- */

static int a_arg, b_arg;
static int defer_runs_a, defer_runs_b;

static void deferred(rc_loop *l, void *arg)
{
    if (arg == &a_arg) defer_runs_a++;
    if (arg == &b_arg) defer_runs_b++;
    note(l, arg == &a_arg ? 100 : 200);
}

static void defer_three_times(rc_loop *l, void *arg)
{
    on_call(l, arg);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(rc_loop_defer(l, deferred, &a_arg), RC_OK);
    cr_assert_eq(rc_loop_defer(l, deferred, &b_arg), RC_OK);
}

Test(loop, duplicate_defers_in_one_iteration_run_once)
{
    defer_runs_a = defer_runs_b = 0;
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), defer_three_times, (void *)&ids[1]), RC_OK);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), defer_three_times, (void *)&ids[2]), RC_OK);

    tu_run(loop);

    cr_assert_eq(defer_runs_a, 1, "(deferred, &a) ran %d times", defer_runs_a);
    cr_assert_eq(defer_runs_b, 1, "(deferred, &b) ran %d times", defer_runs_b);
}

Test(loop, deferred_calls_run_after_every_timer_due_now)
{
    defer_runs_a = defer_runs_b = 0;
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), defer_three_times, (void *)&ids[1]), RC_OK);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), on_call, (void *)&ids[2]), RC_OK);

    tu_run(loop);

    cr_assert_eq(fired.n, 4);
    cr_assert_eq(fired.who[0], 1);
    cr_assert_eq(fired.who[1], 2, "the second timer due at t=1 runs before the deferred calls");
    cr_assert(fired.who[2] >= 100 && fired.who[3] >= 100);
    cr_assert_eq(fired.when[2], rc_seconds(1), "deferred calls run in the same instant");
}

Test(loop, defers_in_different_iterations_each_run)
{
    defer_runs_a = defer_runs_b = 0;
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), defer_three_times, (void *)&ids[1]), RC_OK);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(2), defer_three_times, (void *)&ids[2]), RC_OK);

    tu_run(loop);

    cr_assert_eq(defer_runs_a, 2);
    cr_assert_eq(defer_runs_b, 2);
}

static int redefer_left;

static void redefer(rc_loop *l, void *arg)
{
    on_call(l, arg);
    if (--redefer_left > 0) cr_assert_eq(rc_loop_defer(l, redefer, arg), RC_OK);
}

Test(loop, a_deferred_call_may_defer_itself_again)
{
    redefer_left = 3;
    cr_assert_eq(rc_loop_defer(loop, redefer, (void *)&ids[6]), RC_OK);

    tu_run(loop);

    cr_assert_eq(fired.n, 3);
    cr_assert_eq(rc_loop_now(loop), 0);
}

Test(loop, defer_from_outside_runs_on_the_next_run)
{
    cr_assert_eq(rc_loop_defer(loop, on_call, (void *)&ids[5]), RC_OK);
    cr_assert_eq(rc_loop_defer(loop, on_call, (void *)&ids[5]), RC_OK);
    cr_assert_eq(fired.n, 0, "defer never calls at once");

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.who[0], 5);
}

/* ---- post (from the loop thread) ---- */

Test(loop, post_runs_the_function_on_the_next_iteration)
{
    cr_assert_eq(rc_loop_post(loop, on_call, (void *)&ids[8]), RC_OK);
    cr_assert_eq(fired.n, 0);

    tu_run(loop);

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.who[0], 8);
}

/* ---- run modes ---- */

Test(loop, run_until_stops_at_the_time_running_timers_due_exactly_then)
{
    rc_timer a, b, c;
    arm(&a, 1, 1);
    arm(&b, 5, 5);
    arm(&c, 9, 10);

    int rc = rc_loop_run_until(loop, rc_seconds(5));

    cr_assert_eq(rc, 1, "a timer at t=10 keeps the loop alive");
    cr_assert_eq(fired.n, 2);
    cr_assert_eq(fired.who[1], 5);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(5));
    cr_assert(rc_timer_active(&c));

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    cr_assert_eq(fired.n, 3);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(10));
}

Test(loop, run_until_sets_the_virtual_clock_between_timers)
{
    rc_timer a, b;
    arm(&a, 1, 1);
    arm(&b, 2, 10);

    rc_loop_run_until(loop, rc_seconds(4.5));

    cr_assert_eq(fired.n, 1);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(4.5));
    rc_timer_stop(loop, &b);
}

Test(loop, run_until_on_an_idle_loop_advances_the_virtual_clock)
{
    cr_assert_eq(rc_loop_run_until(loop, rc_seconds(7)), 0);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(7));
}

static void stop_loop(rc_loop *l, void *arg)
{
    on_call(l, arg);
    rc_loop_stop(l);
}

Test(loop, stop_makes_run_return_after_the_current_iteration)
{
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), stop_loop, (void *)&ids[1]), RC_OK);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(2), on_call, (void *)&ids[2]), RC_OK);

    int rc = rc_loop_run(loop, RC_RUN_DEFAULT);

    cr_assert_eq(rc, 1, "stopped while a timer is still armed");
    cr_assert_eq(fired.n, 1);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(1));

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0, "a later run goes on");
    cr_assert_eq(fired.n, 2);
}

Test(loop, stop_before_run_does_not_prevent_the_next_run)
{
    rc_loop_stop(loop);
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(1), on_call, (void *)&ids[1]), RC_OK);

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);

    cr_assert_eq(fired.n, 1);
}

Test(loop, run_nowait_runs_what_is_due_without_moving_time)
{
    rc_timer a, b;
    arm(&a, 1, 0);
    arm(&b, 2, 5);

    int rc = rc_loop_run(loop, RC_RUN_NOWAIT);

    cr_assert_eq(rc, 1);
    cr_assert_eq(fired.n, 1);
    cr_assert_eq(fired.who[0], 1);
    cr_assert_eq(rc_loop_now(loop), 0);
    rc_timer_stop(loop, &b);
}

Test(loop, run_once_waits_for_the_next_timer_and_runs_it)
{
    rc_timer a, b;
    arm(&a, 1, 1);
    arm(&b, 2, 2);

    int rc = rc_loop_run(loop, RC_RUN_ONCE);

    cr_assert_eq(rc, 1);
    cr_assert_eq(fired.n, 1);
    cr_assert_eq(rc_loop_now(loop), rc_seconds(1));
    cr_assert_eq(rc_loop_run(loop, RC_RUN_ONCE), 0, "the last timer fired: idle");
    cr_assert_eq(fired.n, 2);
}

/* ---- fds and time conversions ---- */

static void fd_ready(rc_loop *l, int fd, unsigned events, void *arg)
{
    (void)l, (void)fd, (void)events, (void)arg;
    cr_assert_fail("no fd can be ready on the virtual clock");
}

Test(loop, watching_an_fd_on_the_virtual_clock_is_refused_with_a_message)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);

    int rc = rc_loop_watch_fd(loop, fds[0], RC_READABLE, fd_ready, NULL);

    cr_assert_lt(rc, 0);
    cr_assert_neq(rc_loop_errmsg(loop)[0], '\0');
    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0, "a refused watch keeps nothing alive");
    close(fds[0]);
    close(fds[1]);
}

Test(loop, seconds_convert_to_nanoseconds_rounded_and_saturated)
{
    cr_assert_eq(rc_seconds(1.5), INT64_C(1500000000));
    cr_assert_eq(rc_seconds(0), 0);
    cr_assert_eq(rc_seconds(2.0000000006), INT64_C(2000000001));
    cr_assert_eq(rc_seconds(1e30), RC_TIME_NEVER);
    cr_assert_float_eq(rc_to_seconds(INT64_C(2500000000)), 2.5, 1e-12);
}

/* ---- the next timer, for drivers that pace or step the clock ---- */

Test(loop, next_timer_is_the_earliest_armed_timer_referenced_or_not)
{
    cr_assert_eq(rc_loop_next_timer(loop), RC_TIME_NEVER, "no timer: never");
    rc_timer a, b, c;
    arm(&a, 0, 5);
    rc_timer_init(&b, on_timer, (void *)&ids[1]);
    rc_timer_set_ref(&b, false);
    cr_assert_eq(rc_timer_start(loop, &b, rc_seconds(2)), RC_OK);
    arm(&c, 2, 9);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(2), "an unreferenced timer counts too");

    rc_timer_stop(loop, &b);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(5), "a stopped timer does not");

    cr_assert_eq(rc_loop_run_until(loop, rc_seconds(5)), 1);
    cr_assert_eq(fired.n, 1);
    cr_assert_eq(rc_loop_next_timer(loop), rc_seconds(9), "a fired timer does not");
    cr_assert_eq(rc_loop_now(loop), rc_seconds(5), "asking does not move the clock");

    cr_assert_eq(rc_loop_run(loop, RC_RUN_DEFAULT), 0);
    cr_assert_eq(rc_loop_next_timer(loop), RC_TIME_NEVER);
}
