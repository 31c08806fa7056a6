/* Every public function of runcue.h given NULL (or an object in the wrong
 * state): an int function returns RC_EINVAL (or its documented error), a
 * getter its documented empty value, a void function does nothing.  None
 * crashes.  One test per function, so a crash names it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runcue.h"
#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;

static void setup(void)
{
    loop = tu_loop_new();
    cue = tu_cue_new(loop, NULL);
}

static void teardown(void)
{
    rc_cue_free(cue);
    rc_loop_free(loop);
}

TestSuite(null_args, .init = setup, .fini = teardown);

static void call_fn(rc_loop *l, void *arg)
{
    (void)l;
    (void)arg;
}
static void timer_fn(rc_loop *l, rc_timer *t, void *arg)
{
    (void)l;
    (void)t;
    (void)arg;
}
static void fd_fn(rc_loop *l, int fd, unsigned ev, void *arg)
{
    (void)l;
    (void)fd;
    (void)ev;
    (void)arg;
}

/* The cue's message is set and names the problem. */
static void says(const char *what)
{
    cr_assert(strstr(rc_cue_errmsg(cue), what), "message '%s' does not say '%s'",
              rc_cue_errmsg(cue), what);
}

/* ---- loop ---- */

Test(null_args, rc_loop_new)
{
    cr_assert_eq(rc_loop_new(NULL, NULL), RC_EINVAL);
    rc_loop *l = (rc_loop *)1;
    cr_assert_eq(rc_loop_new(&l, &(rc_loop_opts){.clock = (rc_clock_kind)7}), RC_EINVAL);
    cr_assert_null(l);
}
Test(null_args, rc_loop_free) { rc_loop_free(NULL); }
Test(null_args, rc_loop_getters)
{
    cr_assert_eq(rc_loop_now(NULL), 0);
    cr_assert_eq(rc_loop_clock(NULL), RC_CLOCK_VIRTUAL);
    cr_assert_str_eq(rc_loop_errmsg(NULL), "");
    cr_assert_eq(rc_loop_next_timer(NULL), RC_TIME_NEVER);
    cr_assert_not(rc_loop_on_thread(NULL));
}
Test(null_args, rc_loop_run)
{
    cr_assert_eq(rc_loop_run(NULL, RC_RUN_DEFAULT), RC_EINVAL);
    cr_assert_eq(rc_loop_run(loop, (rc_run_mode)9), RC_EINVAL);
    cr_assert_eq(rc_loop_run_until(NULL, 5), RC_EINVAL);
}
Test(null_args, rc_loop_void)
{
    rc_loop_stop(NULL);
    rc_loop_ref(NULL);
    rc_loop_unref(NULL);
}
Test(null_args, rc_timer)
{
    rc_timer t;
    rc_timer_init(NULL, timer_fn, NULL);
    rc_timer_init(&t, NULL, NULL);
    cr_assert_eq(rc_timer_start(NULL, &t, 0), RC_EINVAL);
    cr_assert_eq(rc_timer_start(loop, NULL, 0), RC_EINVAL);
    cr_assert_eq(rc_timer_start(loop, &t, 0), RC_EINVAL, "a timer without a callback");
    rc_timer_stop(NULL, &t);
    rc_timer_stop(loop, NULL);
    cr_assert_not(rc_timer_active(NULL));
    rc_timer_set_ref(NULL, true);
}
Test(null_args, rc_loop_call_at)
{
    cr_assert_eq(rc_loop_call_at(NULL, 0, call_fn, NULL), RC_EINVAL);
    cr_assert_eq(rc_loop_call_at(loop, 0, NULL, NULL), RC_EINVAL);
}
Test(null_args, rc_defer)
{
    rc_defer d;
    rc_defer_init(NULL, call_fn, NULL);
    rc_defer_init(&d, call_fn, NULL);
    rc_defer_request(NULL, &d);
    rc_defer_request(loop, NULL);
    rc_defer_cancel(NULL, &d);
    rc_defer_cancel(loop, NULL);
    cr_assert_not(rc_defer_pending(NULL));
    cr_assert_not(rc_defer_pending(&d));
    rc_defer_init(&d, NULL, NULL);
    rc_defer_request(loop, &d); /* no function: nothing to run, ignored */
    cr_assert_not(rc_defer_pending(&d));
    cr_assert_eq(rc_loop_defer(NULL, call_fn, NULL), RC_EINVAL);
    cr_assert_eq(rc_loop_defer(loop, NULL, NULL), RC_EINVAL);
}
Test(null_args, rc_loop_post)
{
    cr_assert_eq(rc_loop_post(NULL, call_fn, NULL), RC_EINVAL);
    cr_assert_eq(rc_loop_post(loop, NULL, NULL), RC_EINVAL);
}
Test(null_args, rc_loop_watch_fd)
{
    cr_assert_eq(rc_loop_watch_fd(NULL, 0, RC_READABLE, fd_fn, NULL), RC_EINVAL);
    cr_assert_eq(rc_loop_unwatch_fd(NULL, 0), RC_EINVAL);
    rc_loop *mono;
    cr_assert_eq(rc_loop_new(&mono, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), 0);
    cr_assert_eq(rc_loop_watch_fd(mono, 0, RC_READABLE, NULL, NULL), RC_EINVAL);
    cr_assert_eq(rc_loop_watch_fd(mono, -1, RC_READABLE, fd_fn, NULL), RC_EINVAL);
    rc_loop_free(mono);
    /* Wrong state: a virtual loop watches no fd. */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(rc_loop_watch_fd(loop, sv[0], RC_READABLE, fd_fn, NULL), RC_ESTATE);
    close(sv[0]);
    close(sv[1]);
}

/* ---- cue ---- */

Test(null_args, rc_cue_new)
{
    rc_cue *c = (rc_cue *)1;
    cr_assert_eq(rc_cue_new(NULL, loop, NULL), RC_EINVAL);
    cr_assert_eq(rc_cue_new(&c, NULL, NULL), RC_EINVAL);
    cr_assert_null(c);
}
Test(null_args, rc_cue_void_and_getters)
{
    rc_cue_free(NULL);
    cr_assert_null(rc_cue_loop(NULL));
    cr_assert_str_eq(rc_cue_errmsg(NULL), "");
    rc_cue_pause(NULL, true);
    cr_assert_not(rc_cue_paused(NULL));
    rc_cue_set_hooks(NULL, &(rc_hooks){0});
    rc_cue_set_hooks(cue, NULL); /* no hooks: the defaults */
}
Test(null_args, rc_service)
{
    cr_assert_eq(rc_service(NULL, "api", "1/s", 1), RC_EINVAL);
    cr_assert_eq(rc_service(cue, NULL, "1/s", 1), RC_EINVAL);
    says("name");
    cr_assert_eq(rc_service_limits(NULL, "api", 1, 1, 1), RC_EINVAL);
    cr_assert_eq(rc_service_limits(cue, NULL, 1, 1, 1), RC_EINVAL);
    says("name");
    cr_assert_eq(rc_service_count(NULL), 0);
    rc_service_info si;
    cr_assert_eq(rc_service_get(NULL, 0, &si), RC_EINVAL);
    cr_assert_eq(rc_service(cue, "api", NULL, 1), 0);
    cr_assert_eq(rc_service_get(cue, 0, NULL), RC_EINVAL);
    cr_assert_eq(rc_service_get(cue, 5, &si), RC_ENOENT);
}
Test(null_args, rc_parse_rate)
{
    unsigned n;
    double w;
    char err[128];
    cr_assert_eq(rc_parse_rate(NULL, &n, &w, err, sizeof err), RC_EINVAL);
    cr_assert_eq(rc_parse_rate("1/s", NULL, &w, err, sizeof err), RC_EINVAL);
    cr_assert_eq(rc_parse_rate("1/s", &n, NULL, err, sizeof err), RC_EINVAL);
    cr_assert_eq(rc_parse_rate("1/s", &n, &w, NULL, 0), 0);
    cr_assert_eq(rc_parse_rate("x", &n, &w, NULL, 0), RC_EINVAL);
}
Test(null_args, rc_task)
{
    cr_assert_eq(rc_task(NULL, "t", NULL, tu_handler, NULL), RC_EINVAL);
    cr_assert_eq(rc_task(cue, NULL, NULL, tu_handler, NULL), RC_EINVAL);
    says("name");
    cr_assert_eq(rc_task_set_handler(NULL, "t", tu_handler, NULL), RC_EINVAL);
    cr_assert_eq(rc_task_set_handler(cue, NULL, tu_handler, NULL), RC_EINVAL);
    cr_assert_eq(rc_task_retry(NULL, "t", &(rc_retry_policy){.max_attempts = 2}), RC_EINVAL);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, NULL), 0);
    cr_assert_eq(rc_task_retry(cue, NULL, &(rc_retry_policy){.max_attempts = 2}), RC_EINVAL);
    cr_assert_eq(rc_task_retry(cue, "t", NULL), 0, "NULL: no retries (documented)");
    cr_assert_eq(rc_task_set_handler(cue, "nope", tu_handler, NULL), RC_ENOENT);
    says("nope");
}
Test(null_args, rc_finish)
{
    rc_token tok = {.work_id = 1, .attempt = 1};
    cr_assert_eq(rc_complete(NULL, tok, NULL), RC_EINVAL);
    cr_assert_eq(rc_fail(NULL, tok, "x"), RC_EINVAL);
    cr_assert_eq(rc_retry(NULL, tok, "x"), RC_EINVAL);
    /* Wrong state: a token for no work, then for an attempt that is over. */
    cr_assert_eq(rc_complete(cue, tok, NULL), RC_ENOENT);
    says("no work");
    static tu_task quick;
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &quick), 0);
    tu_submit(cue, "t", NULL);
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, 1)), RC_COMPLETED);
    cr_assert_eq(rc_complete(cue, tok, NULL), RC_ESTALE);
    cr_assert_eq(rc_fail(cue, tok, NULL), RC_ESTALE);
    cr_assert_eq(rc_retry(cue, tok, NULL), RC_ESTALE);
    says("already over");
}
Test(null_args, rc_submit)
{
    rc_work_id id;
    cr_assert_eq(rc_submit(NULL, "t", NULL, &id), RC_EINVAL);
    cr_assert_eq(rc_submit(cue, NULL, NULL, &id), RC_EINVAL);
    says("task");
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, NULL), 0);
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.n_needs = 2}, &id), RC_EINVAL);
    says("needs");
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.n_produces = 1}, &id), RC_EINVAL);
    says("produces");
    const char *holes[] = {"a", NULL};
    cr_assert_eq(rc_submit(cue, "t", &(rc_submit_opts){.needs = holes, .n_needs = 2}, &id),
                 RC_EINVAL);
    cr_assert_eq(rc_submit(cue, "t", NULL, NULL), 0, "the id is optional");
}
Test(null_args, rc_get_list_cancel)
{
    const rc_work *out[4];
    cr_assert_null(rc_get(NULL, 1));
    cr_assert_eq(rc_list(NULL, -1, NULL, out, 4), 0);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, NULL), 0);
    tu_submit(cue, "t", NULL);
    cr_assert_eq(rc_list(cue, -1, NULL, NULL, 4), 1, "NULL out: only counted");
    cr_assert_eq(rc_cancel(NULL, 1), RC_EINVAL);
    cr_assert_eq(rc_cancel(cue, 99), RC_ENOENT);
    says("99");
}
Test(null_args, rc_work_getters)
{
    const char *const *keys = (const char *const *)1;
    cr_assert_eq(rc_work_get_id(NULL), 0);
    cr_assert_null(rc_work_task(NULL));
    cr_assert_null(rc_work_service(NULL));
    cr_assert_null(rc_work_label(NULL));
    cr_assert_null(rc_work_params(NULL));
    cr_assert_eq(rc_work_attempt(NULL), 0);
    cr_assert_eq(rc_work_state(NULL), RC_PENDING);
    cr_assert_not(rc_work_skipped(NULL));
    cr_assert_eq(rc_work_created(NULL), -1);
    cr_assert_eq(rc_work_started(NULL), -1);
    cr_assert_eq(rc_work_finished(NULL), -1);
    cr_assert_null(rc_work_result(NULL));
    cr_assert_null(rc_work_error(NULL));
    cr_assert_eq(rc_work_needs(NULL, &keys), 0);
    cr_assert_null(keys);
    cr_assert_eq(rc_work_produces(NULL, NULL), 0);
    cr_assert_eq(rc_work_max_attempts(NULL), 0);
    cr_assert_not(rc_work_retry_asked(NULL));
    cr_assert_eq(rc_work_priority(NULL, NULL), 0.5);
    cr_assert_null(rc_work_ud(NULL));
}
/* rc_get of a forgotten id is NULL: its info reads as nothing known. */
Test(null_args, rc_work_get_info)
{
    rc_work_info in;
    memset(&in, 0xff, sizeof in);
    rc_work_get_info(NULL, &in);
    cr_assert_eq(in.attempts, 0);
    cr_assert_not(in.ready);
    cr_assert_eq(in.created, -1);
    cr_assert_eq(in.started_at, -1);
    cr_assert_eq(in.finished_at, -1);
    cr_assert_eq(in.progress, -1);
    cr_assert_str_eq(in.progress_message, "");
    cr_assert_null(in.last_error);
    cr_assert_null(in.result);
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, NULL), 0);
    rc_work_get_info(rc_get(cue, tu_submit(cue, "t", NULL)), NULL);
}
Test(null_args, rc_result_artifact)
{
    cr_assert_null(rc_result_artifact(NULL, "k"));
    cr_assert_null(rc_result_artifact(cue, NULL));
}
Test(null_args, rc_check)
{
    rc_check_wait_on(NULL, "k");
    rc_check_detail(NULL, "%s", "x");
}
Test(null_args, names)
{
    cr_assert_str_eq(rc_strerror(12345), "unknown error");
    cr_assert_str_eq(rc_state_name((rc_state)99), "unknown");
    cr_assert_str_eq(rc_event_name((rc_event_kind)99), "unknown");
    cr_assert_str_eq(rc_block_reason_name((rc_block_reason)99), "unknown");
}
Test(null_args, observers)
{
    rc_observer o = {0};
    cr_assert_eq(rc_cue_observe(NULL, &o), RC_EINVAL);
    cr_assert_eq(rc_cue_observe(cue, NULL), RC_EINVAL);
    cr_assert_eq(rc_cue_unobserve(NULL, &o), RC_EINVAL);
    cr_assert_eq(rc_cue_unobserve(cue, NULL), RC_EINVAL);
    /* Wrong state: observed twice, or unobserved when not observing. */
    cr_assert_eq(rc_cue_unobserve(cue, &o), RC_ENOENT);
    says("does not observe");
    cr_assert_eq(rc_cue_observe(cue, &o), 0);
    cr_assert_eq(rc_cue_observe(cue, &o), RC_ESTATE);
    says("already observes");
    cr_assert_eq(rc_cue_unobserve(cue, &o), 0);
}
Test(null_args, rc_artifacts_changed)
{
    cr_assert_eq(rc_artifacts_changed(NULL, "k"), RC_EINVAL);
    cr_assert_eq(rc_artifacts_changed(cue, NULL), 0, "NULL: every key");
}
Test(null_args, rc_cue_stats)
{
    rc_stats s;
    memset(&s, 0xff, sizeof s);
    rc_cue_stats(NULL, &s);
    cr_assert_eq(s.submitted, 0, "zeroed for a NULL cue");
    rc_cue_stats(cue, NULL);
}
Test(null_args, diagnosis)
{
    rc_blocked *list = (rc_blocked *)1;
    size_t n = 7;
    cr_assert_eq(rc_debug_blocked(NULL, &list, &n), RC_EINVAL);
    cr_assert_eq(rc_debug_blocked(cue, NULL, &n), RC_EINVAL);
    cr_assert_eq(rc_debug_blocked(cue, &list, NULL), RC_EINVAL);
    rc_blocked_free(NULL, NULL);
    rc_blocked_free(cue, NULL);
    rc_diagnosis d;
    cr_assert_eq(rc_diagnose(NULL, &d), RC_EINVAL);
    cr_assert_eq(rc_diagnose(cue, NULL), RC_EINVAL);
    rc_diagnosis_free(NULL, NULL);
    rc_diagnosis_free(cue, NULL);
    FILE *f = fopen("/dev/null", "w");
    rc_blocked_print(NULL, NULL, 3, 10, f);
    rc_blocked_print(cue, NULL, 0, 10, NULL);
    rc_diagnosis_print(NULL, NULL, 10, f);
    rc_diagnosis_print(cue, NULL, 10, f);
    fclose(f);
}
Test(null_args, rc_allocator_or_default)
{
    rc_allocator a = rc_allocator_or_default(NULL);
    cr_assert_not_null(a.realloc);
    a = rc_allocator_or_default(&(rc_allocator){0});
    cr_assert_not_null(a.realloc);
}
