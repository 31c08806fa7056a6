/* Observers, deferred-call handles, the artifacts_changed event, and the
 * diagnosis as text: what the core offers to the layers above it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- an observer that writes down what it sees ---- */

typedef struct seen {
    char log[2048];
    int events, settled, freed;
    int unchecked_at_settle; /* settles at which some pending work was unchecked */
    rc_observer obs;
    bool leave_after_first; /* unobserve itself from its first on_event */
    const char *tag;        /* if set, events also go into shared_log as "tag:event;" */
} seen;

static char shared_log[2048];

static void seen_append(seen *s, const char *word)
{
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s;", word);
}

static void seen_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    seen *s = ud;
    s->events++;
    seen_append(s, rc_event_name(ev->kind));
    if (s->tag) {
        size_t n = strlen(shared_log);
        snprintf(shared_log + n, sizeof shared_log - n, "%s:%s;", s->tag, rc_event_name(ev->kind));
    }
    if (s->leave_after_first) cr_assert_eq(rc_cue_unobserve(cue, &s->obs), 0);
}

static void seen_settled(rc_cue *cue, void *ud)
{
    seen *s = ud;
    s->settled++;
    rc_stats st;
    rc_cue_stats(cue, &st);
    /* Settled: every pending item has been looked at by a pass. */
    if (st.pending != st.waiting + st.queued + st.delayed) s->unchecked_at_settle++;
}

static void seen_freed(rc_cue *cue, void *ud)
{
    seen *s = ud;
    s->freed++;
    /* The cue is still whole. */
    rc_stats st;
    rc_cue_stats(cue, &st);
    seen_append(s, "freed");
}

static void seen_init(seen *s)
{
    memset(s, 0, sizeof *s);
    s->obs = (rc_observer){.on_event = seen_event, .on_settled = seen_settled,
                           .on_cue_free = seen_freed, .ud = s};
}

static char hook_log[2048];
static void hook_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    (void)ud;
    size_t n = strlen(hook_log);
    snprintf(hook_log + n, sizeof hook_log - n, "hook:%s;", rc_event_name(ev->kind));
}

static tu_task instant;

Test(observers, see_every_event_in_the_order_added_before_the_hook)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &instant), 0);
    seen a, b;
    seen_init(&a);
    seen_init(&b);
    a.tag = "a";
    b.tag = "b";
    shared_log[0] = 0;
    cr_assert_eq(rc_cue_observe(cue, &a.obs), 0);
    cr_assert_eq(rc_cue_observe(cue, &b.obs), 0);
    hook_log[0] = 0;
    rc_cue_set_hooks(cue, &(rc_hooks){.on_event = hook_event});
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_str_eq(a.log, "queued;started;completed;");
    cr_assert_str_eq(b.log, a.log);
    cr_assert_str_eq(shared_log, "a:queued;b:queued;a:started;b:started;a:completed;b:completed;",
                     "a, added first, hears each event first");
    cr_assert_str_eq(hook_log, "hook:queued;hook:started;hook:completed;");
    rc_cue_free(cue);
    cr_assert_str_eq(a.log, "queued;started;completed;freed;");
    cr_assert_eq(a.freed, 1);
    cr_assert_eq(b.freed, 1);
    rc_loop_free(loop);
}

/* An observer's kinds choose the events it is called for; the cue still
 * says when the last event of each kind was sent. */
Test(observers, kinds_choose_the_events_and_the_cue_keeps_their_times)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    tu_task slow = {.delay_s = 2};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &slow), 0);
    cr_assert_eq(rc_cue_last_event(cue, 0), -1, "nothing sent yet");
    cr_assert_eq(rc_cue_last_event(NULL, 0), -1);
    seen few, all, none;
    seen_init(&few);
    seen_init(&all);
    seen_init(&none);
    few.obs.kinds = 1u << RC_EV_COMPLETED | 1u << RC_EV_FAILED;
    none.obs.kinds = 1u << RC_EV_PROGRESS;
    cr_assert_eq(rc_cue_observe(cue, &few.obs), 0);
    cr_assert_eq(rc_cue_observe(cue, &all.obs), 0);
    cr_assert_eq(rc_cue_observe(cue, &none.obs), 0);
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_str_eq(all.log, "queued;started;completed;");
    cr_assert_str_eq(few.log, "completed;", "only the kinds asked for");
    cr_assert_str_eq(none.log, "", "no event of its kinds");
    cr_assert_gt(few.settled, 0, "settles whatever its kinds");
    cr_assert_eq(rc_cue_last_event(cue, 1u << RC_EV_QUEUED), 0);
    cr_assert_eq(rc_cue_last_event(cue, 1u << RC_EV_STARTED), 0);
    cr_assert_eq(rc_cue_last_event(cue, 1u << RC_EV_COMPLETED), rc_seconds(2));
    cr_assert_eq(rc_cue_last_event(cue, 1u << RC_EV_QUEUED | 1u << RC_EV_COMPLETED), rc_seconds(2),
                 "the latest of the kinds given");
    cr_assert_eq(rc_cue_last_event(cue, 0), rc_seconds(2), "0: any kind");
    cr_assert_eq(rc_cue_last_event(cue, 1u << RC_EV_FAILED), -1, "none failed");
    /* Kinds changed while observing apply from the next event. */
    few.obs.kinds = 0;
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_str_eq(few.log, "completed;queued;started;completed;");
    cr_assert_eq(rc_cue_last_event(cue, 1u << RC_EV_QUEUED), rc_seconds(2));
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(observers, settle_once_per_iteration_with_no_pass_pending)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task slow = {.delay_s = 1};
    cr_assert_eq(rc_service(cue, "one", NULL, 1), 0);
    cr_assert_eq(rc_task(cue, "t", "one", tu_handler, &slow), 0);
    seen s;
    seen_init(&s);
    cr_assert_eq(rc_cue_observe(cue, &s.obs), 0);
    for (int i = 0; i < 5; i++) tu_submit(cue, "t", NULL);
    tu_run(loop);
    /* One instant for the submissions, then one per completion at t=1..5. */
    cr_assert_eq(s.settled, 6, "settled %d times", s.settled);
    cr_assert_eq(s.unchecked_at_settle, 0);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(observers, pausing_settles_and_is_readable)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    seen s;
    seen_init(&s);
    cr_assert_eq(rc_cue_observe(cue, &s.obs), 0);
    cr_assert_not(rc_cue_paused(cue));
    rc_cue_pause(cue, true);
    cr_assert(rc_cue_paused(cue));
    rc_loop_run(loop, RC_RUN_NOWAIT);
    cr_assert_eq(s.settled, 1);
    rc_cue_pause(cue, false);
    cr_assert_not(rc_cue_paused(cue));
    tu_run(loop);
    cr_assert_eq(s.settled, 2);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(observers, removed_ones_hear_nothing_more)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &instant), 0);
    seen quitter, stayer;
    seen_init(&quitter);
    seen_init(&stayer);
    quitter.leave_after_first = true;
    cr_assert_eq(rc_cue_observe(cue, &quitter.obs), 0);
    cr_assert_eq(rc_cue_observe(cue, &stayer.obs), 0);
    cr_assert_eq(rc_cue_observe(cue, &stayer.obs), RC_ESTATE);
    cr_assert_eq(rc_cue_observe(cue, NULL), RC_EINVAL);
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_str_eq(quitter.log, "queued;");
    cr_assert_str_eq(stayer.log, "queued;started;completed;");
    cr_assert_eq(rc_cue_unobserve(cue, &quitter.obs), RC_ENOENT);
    cr_assert_eq(rc_cue_unobserve(cue, &stayer.obs), 0);
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    rc_cue_free(cue);
    cr_assert_str_eq(stayer.log, "queued;started;completed;");
    cr_assert_eq(quitter.freed + stayer.freed, 0);
    rc_loop_free(loop);
}

static char changed_details[256];
static void changed_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    (void)ud;
    if (ev->kind != RC_EV_ARTIFACTS_CHANGED) return;
    cr_assert_null(ev->work);
    size_t n = strlen(changed_details);
    snprintf(changed_details + n, sizeof changed_details - n, "%s;", ev->detail);
}

Test(observers, announced_changes_are_events_and_internal_rechecks_are_not)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    changed_details[0] = 0;
    rc_observer o = {.on_event = changed_event};
    cr_assert_eq(rc_cue_observe(cue, &o), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.on_event = changed_event});
    cr_assert_str_eq(changed_details, "");
    cr_assert_eq(rc_artifacts_changed(cue, "pages/1"), 0);
    cr_assert_eq(rc_artifacts_changed(cue, NULL), 0);
    /* Observer and hook each: two of each announcement. */
    cr_assert_str_eq(changed_details, "pages/1;pages/1;all;all;");
    cr_assert_str_eq(rc_event_name(RC_EV_ARTIFACTS_CHANGED), "artifacts_changed");
    rc_cue_free(cue);
    rc_loop_free(loop);
}

static int never_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue;
    (void)w;
    (void)ud;
    rc_check_wait_on(chk, "never");
    return 0;
}

Test(observers, service_info_counts_waiting_work)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_service(cue, "gpu", NULL, RC_NO_LIMIT), 0);
    cr_assert_eq(rc_service(cue, "cpu", NULL, RC_NO_LIMIT), 0);
    cr_assert_eq(rc_task(cue, "train", "gpu", tu_handler, &instant), 0);
    cr_assert_eq(rc_task(cue, "prep", "cpu", tu_handler, &instant), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = never_ready});
    for (int i = 0; i < 3; i++) tu_submit(cue, "train", NULL);
    tu_submit(cue, "prep", NULL);
    tu_run(loop);
    rc_service_info gpu, cpu;
    cr_assert_eq(rc_service_get(cue, 0, &gpu), 0);
    cr_assert_eq(rc_service_get(cue, 1, &cpu), 0);
    cr_assert_eq(gpu.waiting, 3);
    cr_assert_eq(cpu.waiting, 1);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

/* ---- rc_defer ---- */

static char defer_log[256];
static void log_call(rc_loop *loop, void *arg)
{
    (void)loop;
    size_t n = strlen(defer_log);
    snprintf(defer_log + n, sizeof defer_log - n, "%s;", (const char *)arg);
}

static rc_defer later;
static void request_later(rc_loop *loop, void *arg)
{
    log_call(loop, arg);
    rc_defer_request(loop, &later);
}

static void timer_log(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    log_call(loop, arg);
}

Test(defer, a_handle_runs_once_in_request_order_and_can_be_cancelled)
{
    rc_loop *loop = tu_loop_new();
    rc_defer a, b, c;
    rc_defer_init(&a, log_call, "a");
    rc_defer_init(&b, log_call, "b");
    rc_defer_init(&c, log_call, "c");
    defer_log[0] = 0;
    cr_assert_not(rc_defer_pending(&a));
    rc_defer_request(loop, &b);
    rc_defer_request(loop, &a);
    rc_defer_request(loop, &b); /* already pending: no second call */
    rc_defer_request(loop, &c);
    cr_assert(rc_defer_pending(&b));
    rc_defer_cancel(loop, &c);
    cr_assert_not(rc_defer_pending(&c));
    rc_defer_cancel(loop, &c); /* cancelling twice is harmless */
    cr_assert_eq(rc_loop_run(loop, RC_RUN_NOWAIT), 0);
    cr_assert_str_eq(defer_log, "b;a;");
    cr_assert_not(rc_defer_pending(&a));
    cr_assert_not(rc_defer_pending(&b));
    rc_loop_free(loop);
}

Test(defer, requested_while_running_lands_after_timers_due_now)
{
    rc_loop *loop = tu_loop_new();
    rc_defer first;
    rc_defer_init(&first, request_later, "first");
    rc_defer_init(&later, log_call, "later");
    rc_timer t;
    rc_timer_init(&t, timer_log, "timer");
    defer_log[0] = 0;
    rc_defer_request(loop, &first);
    cr_assert_eq(rc_timer_start(loop, &t, rc_loop_now(loop)), 0);
    /* A pending handle keeps the loop alive by itself. */
    cr_assert_eq(rc_loop_run(loop, RC_RUN_NOWAIT), 0);
    cr_assert_str_eq(defer_log, "timer;first;later;");
    rc_loop_free(loop);
}

static rc_defer victim;
static void cancel_victim(rc_loop *loop, void *arg)
{
    log_call(loop, arg);
    rc_defer_cancel(loop, &victim);
}

Test(defer, cancelling_a_handle_of_the_same_round_skips_it)
{
    rc_loop *loop = tu_loop_new();
    rc_defer killer;
    rc_defer_init(&killer, cancel_victim, "killer");
    rc_defer_init(&victim, log_call, "victim");
    defer_log[0] = 0;
    rc_defer_request(loop, &killer);
    rc_defer_request(loop, &victim);
    rc_loop_run(loop, RC_RUN_NOWAIT);
    cr_assert_str_eq(defer_log, "killer;");
    rc_loop_free(loop);
}

/* ---- clocks and threads ---- */

static void *other_thread(void *arg)
{
    return (void *)(uintptr_t)rc_loop_on_thread(arg);
}

Test(clock, monotonic_now_does_not_go_back_and_threads_are_told_apart)
{
    rc_time t0 = rc_monotonic_now();
    rc_time t1 = rc_monotonic_now();
    cr_assert_gt(t0, 0);
    cr_assert_geq(t1, t0);
    rc_loop *loop = tu_loop_new();
    cr_assert(rc_loop_on_thread(loop));
    pthread_t th;
    void *answer = (void *)1;
    cr_assert_eq(pthread_create(&th, NULL, other_thread, loop), 0);
    pthread_join(th, &answer);
    cr_assert_eq((uintptr_t)answer, 0);
    rc_loop_free(loop);
}

/* ---- the diagnosis as text ---- */

static int needs_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue;
    (void)ud;
    const char *const *needs;
    size_t n = rc_work_needs(w, &needs);
    if (!n) return 1;
    rc_check_wait_on(chk, needs[0]);
    rc_check_detail(chk, "waiting on '%s'", needs[0]);
    return 0;
}

static char *print_all(rc_cue *cue, size_t max)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rc_blocked *list;
    size_t n;
    cr_assert_eq(rc_debug_blocked(cue, &list, &n), 0);
    rc_blocked_print(cue, list, n, max, f);
    rc_blocked_free(cue, list);
    rc_diagnosis d;
    cr_assert_eq(rc_diagnose(cue, &d), 0);
    rc_diagnosis_print(cue, &d, max, f);
    rc_diagnosis_free(cue, &d);
    fclose(f);
    return text;
}

Test(explain, names_cycles_missing_producers_and_failed_roots)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task failing = {.fail = "disk full"};
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &instant), 0);
    cr_assert_eq(rc_task(cue, "f", NULL, tu_handler, &failing), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = needs_ready});
    const char *x[] = {"x"}, *y[] = {"y"}, *z[] = {"z"}, *q[] = {"q"};
    tu_submit_opts(cue, "t", &(rc_submit_opts){.label = "A", .needs = x, .n_needs = 1,
                                               .produces = y, .n_produces = 1});
    tu_submit_opts(cue, "t", &(rc_submit_opts){.label = "B", .needs = y, .n_needs = 1,
                                               .produces = x, .n_produces = 1});
    tu_submit_opts(cue, "t", &(rc_submit_opts){.needs = q, .n_needs = 1});
    tu_submit_opts(cue, "f", &(rc_submit_opts){.label = "maker", .produces = z, .n_produces = 1});
    tu_submit_opts(cue, "t", &(rc_submit_opts){.label = "user", .needs = z, .n_needs = 1});
    tu_run(loop);
    char *text = print_all(cue, 20);
    cr_assert_str_eq(text,
                     "    t #1 [A]: not_ready - waiting on 'x': not produced yet (producer #2 "
                     "pending)\n"
                     "    t #2 [B]: not_ready - waiting on 'y': not produced yet (producer #1 "
                     "pending)\n"
                     "    t #3: not_ready - waiting on 'q': no producer\n"
                     "    t #5 [user]: not_ready - waiting on 'z': producer #4 failed\n"
                     "  Wait-for chains:\n"
                     "    t #1 [A] waits on 'x' <- t #2 [B] (pending)\n"
                     "    t #2 [B] waits on 'y' <- t #1 [A] (pending)\n"
                     "    t #3 waits on 'q' <- no producer\n"
                     "    t #5 [user] waits on 'z' <- f #4 [maker] FAILED: disk full\n"
                     "  Cycle: t #1 [A] -> t #2 [B] -> t #1 [A]\n"
                     "  Missing producer: nothing produces 'q'; waited on by t #3\n"
                     "  Root cause: f #4 [maker] failed (disk full); 1 waiting item depends on "
                     "it\n");
    free(text);
    /* Cut lists say how much they left out. */
    text = print_all(cue, 1);
    cr_assert(strstr(text, "    ... and 3 more\n"), "%s", text);
    free(text);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

/* Every unmet need is named, so the check here waits on all of them. */
static int all_needs_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue;
    (void)ud;
    const char *const *needs;
    size_t n = rc_work_needs(w, &needs);
    for (size_t i = 0; i < n; i++)
        rc_check_wait_on(chk, needs[i]);
    if (n) rc_check_detail(chk, "waiting on '%s'", needs[0]);
    return n == 0;
}

static void hold_forever(rc_cue *cue, const rc_work *w, rc_token token, void *ud)
{
    (void)cue, (void)w, (void)token, (void)ud;
}

Test(explain, names_cancelled_producers_two_causes_and_held_work)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task failing = {.fail = "disk full"};
    cr_assert_eq(rc_task(cue, "t", NULL, hold_forever, NULL), 0);
    cr_assert_eq(rc_task(cue, "f", NULL, tu_handler, &failing), 0);
    cr_assert_eq(rc_task(cue, "orphan", NULL, NULL, NULL), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = all_needs_ready});
    const char *a[] = {"a"}, *b[] = {"b"}, *ab[] = {"a", "b"}, *c[] = {"c"}, *d[] = {"d"};
    rc_work_id cancelled = tu_submit_opts(
        cue, "t",
        &(rc_submit_opts){.label = "maker", .produces = a, .n_produces = 1, .delay_s = 100});
    tu_submit_opts(cue, "f", &(rc_submit_opts){.label = "broken", .produces = b, .n_produces = 1});
    /* Two causes: a cancelled producer and a failed one. */
    tu_submit_opts(cue, "t",
                   &(rc_submit_opts){
                       .label = "both", .needs = ab, .n_needs = 2, .produces = c, .n_produces = 1});
    tu_submit_opts(cue, "t", &(rc_submit_opts){.label = "after", .needs = c, .n_needs = 1});
    tu_submit_opts(cue, "orphan",
                   &(rc_submit_opts){.label = "nobody", .produces = d, .n_produces = 1});
    tu_submit_opts(cue, "t", &(rc_submit_opts){.label = "held", .needs = d, .n_needs = 1});
    cr_assert_eq(rc_cancel(cue, cancelled), 0);
    tu_run(loop);
    char *text = print_all(cue, 20);
    cr_assert_str_eq(
        text,
        "    t #3 [both]: not_ready - waiting on 'a': producer #1 cancelled (+1 more unmet need)\n"
        "    t #4 [after]: not_ready - waiting on 'c': not produced yet (producer #3 pending)\n"
        "    orphan #5 [nobody]: unknown_task - task 'orphan' has no handler registered\n"
        "    t #6 [held]: not_ready - waiting on 'd': not produced yet (producer #5 pending)\n"
        "  Wait-for chains:\n"
        "    t #3 [both] waits on 'a' <- t #1 [maker] CANCELLED\n"
        "    t #3 [both] waits on 'b' <- f #2 [broken] FAILED: disk full\n"
        "    t #4 [after] waits on 'c' <- t #3 [both] (pending)\n"
        "    t #6 [held] waits on 'd' <- orphan #5 [nobody] (pending)\n"
        "  Root cause: t #1 [maker] was cancelled; 2 waiting items depend on it\n"
        "  Root cause: f #2 [broken] failed (disk full); 2 waiting items depend on it\n"
        "  Held: orphan #5 [nobody]: unknown_task - task 'orphan' has no handler registered; 1 "
        "waiting item depends on it\n");
    free(text);
    rc_cue_free(cue);
    rc_loop_free(loop);
}
