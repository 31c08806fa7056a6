/* test_priority.c -- the order queued work starts in. */
#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;
static tu_task task;

/* Priority from the "p" param ("nan" string means NaN); counts calls. */
typedef struct prio_state {
    int calls;
    double max_wait;
    size_t max_depth;
    int bad_ctx; /* calls with a negative wait or an impossible depth */
} prio_state;
static prio_state P;

static double param_priority(rc_cue *c, const rc_work *w, const rc_priority_ctx *ctx, void *ud)
{
    (void)c;
    (void)ud;
    P.calls++;
    if (ctx->wait_time > P.max_wait) P.max_wait = ctx->wait_time;
    if (ctx->queue_depth > P.max_depth) P.max_depth = ctx->queue_depth;
    if (ctx->wait_time < 0) P.bad_ctx++;
    const char *s = tu_param_str(w, "p");
    if (s && strcmp(s, "nan") == 0) return NAN;
    return tu_param_num(w, "p", 0.5);
}

static void set_priority(double (*fn)(rc_cue *, const rc_work *, const rc_priority_ctx *, void *))
{
    rc_hooks h;
    memset(&h, 0, sizeof h);
    h.priority = fn;
    rc_cue_set_hooks(cue, &h);
}

static void install(const rc_cue_opts *opts, double delay_s)
{
    tu_open(&loop, &cue, opts);
    memset(&task, 0, sizeof task);
    memset(&P, 0, sizeof P);
    task.delay_s = delay_s;
    /* Serial: the start order is exactly the priority order. */
    tu_serve(cue, "serial", NULL, 1, "t", &task);
}

static void setup(void)
{
    install(NULL, 0);
}

static void teardown(void)
{
    tu_close(loop, cue);
}

TestSuite(priority, .init = setup, .fini = teardown);

/* Submit one work per JSON param string; return ids in `ids`. */
static void submit_all(const char *const *params, size_t n, rc_work_id *ids)
{
    for (size_t i = 0; i < n; i++)
        ids[i] = tu_submit(cue, "t", params[i]);
}

static void expect_order(const rc_work_id *expected, size_t n)
{
    cr_assert_eq(task.n, n, "started %zu, expected %zu", task.n, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(task.ids[i], expected[i], "position %zu: started work %llu, expected %llu", i,
                     (unsigned long long)task.ids[i], (unsigned long long)expected[i]);
}

Test(priority, without_a_priority_callback_work_starts_in_submission_order)
{
    rc_work_id ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = tu_submit(cue, "t", NULL);
    tu_run(loop);
    expect_order(ids, 8);
}

Test(priority, higher_priority_starts_first)
{
    set_priority(param_priority);
    static const char *const params[] = {"{\"p\":0.1}", "{\"p\":0.9}", "{\"p\":0.5}", "{\"p\":0.7}",
                                         "{\"p\":0.3}"};
    rc_work_id ids[5];
    submit_all(params, 5, ids);
    tu_run(loop);
    rc_work_id expected[] = {ids[1], ids[3], ids[2], ids[4], ids[0]};
    expect_order(expected, 5);
    cr_assert_geq(P.calls, 5, "every work gets a priority");
}

Test(priority, equal_priorities_start_in_submission_order)
{
    set_priority(param_priority);
    static const char *const params[] = {"{\"p\":0.4}", "{\"p\":0.8}", "{\"p\":0.4}",
                                         "{\"p\":0.8}", "{\"p\":0.4}", "{\"p\":0.8}"};
    rc_work_id ids[6];
    submit_all(params, 6, ids);
    tu_run(loop);
    rc_work_id expected[] = {ids[1], ids[3], ids[5], ids[0], ids[2], ids[4]};
    expect_order(expected, 6);
}

Test(priority, priorities_above_one_are_clamped_to_one)
{
    set_priority(param_priority);
    /* 7.0 clamps to 1.0: equal to the earlier 1.0, so FIFO between them. */
    static const char *const params[] = {"{\"p\":0.9}", "{\"p\":1.0}", "{\"p\":7.0}",
                                         "{\"p\":0.95}"};
    rc_work_id ids[4];
    submit_all(params, 4, ids);
    tu_run(loop);
    rc_work_id expected[] = {ids[1], ids[2], ids[3], ids[0]};
    expect_order(expected, 4);
}

Test(priority, priorities_below_zero_are_clamped_to_zero)
{
    set_priority(param_priority);
    /* -3 clamps to 0.0: equal to the later 0.0, so it starts before it. */
    static const char *const params[] = {"{\"p\":0.1}", "{\"p\":-3}", "{\"p\":0.0}",
                                         "{\"p\":0.05}"};
    rc_work_id ids[4];
    submit_all(params, 4, ids);
    tu_run(loop);
    rc_work_id expected[] = {ids[0], ids[3], ids[1], ids[2]};
    expect_order(expected, 4);
}

Test(priority, nan_priority_counts_as_one_half)
{
    set_priority(param_priority);
    static const char *const params[] = {"{\"p\":0.4}", "{\"p\":\"nan\"}", "{\"p\":0.5}",
                                         "{\"p\":0.6}", "{\"p\":\"nan\"}"};
    rc_work_id ids[5];
    submit_all(params, 5, ids);
    tu_run(loop);
    rc_work_id expected[] = {ids[3], ids[1], ids[2], ids[4], ids[0]};
    expect_order(expected, 5);
}

static void submit_late_high(rc_loop *l, void *arg)
{
    (void)l;
    rc_work_id *out = arg;
    *out = tu_submit(cue, "t", "{\"p\":0.9}");
}

Test(priority, late_high_priority_work_overtakes_queued_work)
{
    teardown();
    install(NULL, 1.0);
    set_priority(param_priority);
    rc_work_id a = tu_submit(cue, "t", "{\"p\":0.1}");
    rc_work_id b = tu_submit(cue, "t", "{\"p\":0.2}");
    rc_work_id c = 0;
    cr_assert_eq(rc_loop_call_at(loop, rc_seconds(0.5), submit_late_high, &c), RC_OK);
    tu_run(loop);
    rc_work_id expected[] = {b, c, a};
    expect_order(expected, 3);
    cr_assert_eq(task.starts[1], rc_seconds(1.0));
    cr_assert_eq(task.starts[2], rc_seconds(2.0));
}

Test(priority, priority_orders_work_within_each_service_independently)
{
    set_priority(param_priority);
    tu_task other = {0};
    tu_serve(cue, "other", NULL, 1, "o", &other);
    rc_work_id o_low = tu_submit(cue, "o", "{\"p\":0.1}");
    rc_work_id t_low = tu_submit(cue, "t", "{\"p\":0.2}");
    rc_work_id o_high = tu_submit(cue, "o", "{\"p\":0.8}");
    rc_work_id t_high = tu_submit(cue, "t", "{\"p\":0.9}");
    tu_run(loop);
    cr_assert_eq(other.n, 2);
    cr_assert_eq(other.ids[0], o_high);
    cr_assert_eq(other.ids[1], o_low);
    rc_work_id expected[] = {t_high, t_low};
    expect_order(expected, 2);
}

Test(priority, priority_context_reports_wait_time_and_queue_depth)
{
    set_priority(param_priority);
    for (int i = 0; i < 4; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(P.bad_ctx, 0, "wait_time is never negative");
    cr_assert_geq(P.max_depth, 4, "four pending when the first were queued");
    cr_assert_leq(P.max_depth, 4, "never more than the four submitted");
}

/* Low-priority work ages: its priority grows with its wait, so with
 * priority_refresh it eventually beats a steady stream of 0.5 work. */
static double aging_priority(rc_cue *c, const rc_work *w, const rc_priority_ctx *ctx, void *ud)
{
    (void)c;
    (void)ud;
    P.calls++;
    if (ctx->wait_time > P.max_wait) P.max_wait = ctx->wait_time;
    if (tu_param_str(w, "old")) return ctx->wait_time / 10.0;
    return 0.5;
}

Test(priority, priority_refresh_lets_aged_work_overtake_newer_work)
{
    teardown();
    install(&(rc_cue_opts){.priority_refresh = 1.0}, 1.0);
    set_priority(aging_priority);
    rc_work_id old = tu_submit(cue, "t", "{\"old\":\"yes\"}");
    for (int i = 0; i < 20; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    int pos = tu_task_index(&task, old);
    cr_assert_geq(pos, 0);
    cr_assert_lt(task.starts[pos], rc_seconds(10),
                 "aged work should start once its priority passes 0.5 (t~6), not last (t=20); "
                 "started at %.3fs",
                 rc_to_seconds(task.starts[pos]));
    cr_assert_gt(P.max_wait, 4.0, "the callback saw the wait grow");
}

Test(priority, without_refresh_priority_is_evaluated_when_queued)
{
    teardown();
    install(NULL, 1.0);
    set_priority(aging_priority);
    rc_work_id old = tu_submit(cue, "t", "{\"old\":\"yes\"}");
    for (int i = 0; i < 5; i++)
        tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(task.ids[5], old, "priority 0 at queue time: it runs last");
}

Test(priority, priority_does_not_bypass_the_concurrency_limit)
{
    set_priority(param_priority);
    task.delay_s = 2;
    for (int i = 0; i < 10; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "{\"p\":%g}", i / 10.0);
        tu_submit(cue, "t", buf);
    }
    tu_run(loop);
    cr_assert_eq(task.max_running, 1);
    cr_assert_eq(task.calls, 10);
    for (size_t i = 1; i < task.n; i++)
        cr_assert_lt(task.ids[i], task.ids[i - 1], "descending priority = descending id here");
}
