/* The harness calls a test writes against: rc_shm_wait with a predicate of
 * its own (it holds, it times out, the writer goes away, it comes true in
 * another process), and the blocked report a writer refreshes on demand
 * (rc_shm_refresh_report). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcue.h"
#include "runcue_shm.h"
#include "testutil.h"

TestSuite(shm_harness, .fini = tu_shm_forget);

static void shm_name(char *out, size_t cap, const char *what)
{
    char tagged[48];
    snprintf(tagged, sizeof tagged, "harness-%s", what);
    tu_shm_name(out, cap, tagged);
}

static int never_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue, (void)w, (void)ud;
    rc_check_wait_on(chk, "never");
    return 0;
}

/* A predicate of the test's own: the service `name` has completed at least
 * `n`, and nothing is pending.  Counts its calls. */
typedef struct done_pred {
    const char *service;
    uint64_t n;
    unsigned calls;
    uint64_t last_gen;
} done_pred;

static bool service_done(const rc_shm_snapshot *snap, void *ud)
{
    done_pred *p = ud;
    p->calls++;
    p->last_gen = snap->state.gen;
    const rc_shm_service *sv = rc_shm_find_service(snap, p->service);
    return sv && sv->completed >= p->n && snap->state.counters.pending == 0;
}

static tu_task quick = {.delay_s = 0.5};

static rc_cue *api_cue(rc_loop *loop)
{
    memset(&quick, 0, sizeof quick);
    quick.delay_s = 0.5;
    rc_cue *cue = tu_cue_new(loop, NULL);
    tu_serve(cue, "api", NULL, 2, "fetch", &quick);
    return cue;
}

/* A published in-process cue that has run `n` fetches, and a reader on it. */
typedef struct ran {
    rc_loop *loop;
    rc_cue *cue;
    rc_shm_writer *w;
    rc_shm_reader *r;
} ran;

static ran run_fetches(const char *what, int n)
{
    char name[64];
    shm_name(name, sizeof name, what);
    ran x;
    x.loop = tu_loop_new();
    x.cue = api_cue(x.loop);
    cr_assert_eq(rc_shm_publish(&x.w, x.cue, name, NULL, NULL, 0), 0);
    for (int i = 0; i < n; i++)
        tu_submit(x.cue, "fetch", NULL);
    tu_run(x.loop);
    cr_assert_eq(rc_shm_attach(&x.r, name, 1, NULL, 0), 0);
    return x;
}

static void ran_free(ran *x)
{
    rc_shm_detach(x->r);
    tu_close(x->loop, x->cue);
}

Test(shm_harness, wait_with_a_predicate_that_holds_returns_at_once_with_the_snapshot)
{
    ran x = run_fetches("holds", 3);
    rc_shm_reader *r = x.r;

    done_pred p = {.service = "api", .n = 3};
    rc_shm_snapshot *last = malloc(sizeof *last);
    cr_assert_eq(rc_shm_wait(r, service_done, &p, 10, 0, last), 0);
    cr_assert_eq(p.calls, 1, "held on the first look");
    cr_assert_eq(last->state.gen, p.last_gen, "*last is the snapshot the predicate saw");
    cr_assert_eq(rc_shm_find_service(last, "api")->completed, 3);
    /* Without *last as well. */
    cr_assert_eq(rc_shm_wait(r, service_done, &p, 10, 0, NULL), 0);

    free(last);
    ran_free(&x);
}

Test(shm_harness, wait_times_out_when_the_predicate_never_holds)
{
    ran x = run_fetches("timeout", 1);
    rc_shm_reader *r = x.r;

    done_pred p = {.service = "api", .n = 2};
    rc_shm_snapshot *last = malloc(sizeof *last);
    cr_assert_eq(rc_shm_wait(r, service_done, &p, 0.05, 0.01, last), RC_ENOENT);
    cr_assert_geq(p.calls, 2, "polled until the deadline (%u looks)", p.calls);
    cr_assert_eq(rc_shm_find_service(last, "api")->completed, 1, "*last holds what was seen");

    free(last);
    ran_free(&x);
}

Test(shm_harness, wait_ends_when_the_writer_goes_away_unless_the_last_state_holds)
{
    ran x = run_fetches("gone", 2);
    rc_shm_reader *r = x.r;
    rc_shm_unpublish(x.w);

    done_pred never = {.service = "api", .n = 3};
    cr_assert_eq(rc_shm_wait(r, service_done, &never, 10, 0, NULL), RC_ESTATE);
    cr_assert_eq(never.calls, 1, "no polling once the writer is gone");
    done_pred held = {.service = "api", .n = 2};
    cr_assert_eq(rc_shm_wait(r, service_done, &held, 10, 0, NULL), 0,
                 "the final state is looked at first");
    ran_free(&x);
}

/* The writer in a child: it publishes, waits for the word on `go`, runs its
 * work, and stays live until `go` closes. */
static void child_writer(const char *name, int go)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = api_cue(loop);
    rc_shm_writer *w;
    if (rc_shm_publish(&w, cue, name, NULL, NULL, 0)) _exit(1);
    char c;
    if (read(go, &c, 1) != 1) _exit(2);
    for (int i = 0; i < 5; i++)
        tu_submit(cue, "fetch", NULL);
    tu_run(loop);
    while (read(go, &c, 1) > 0) {
    }
    rc_cue_free(cue);
    rc_loop_free(loop);
    _exit(0);
}

Test(shm_harness, wait_sees_the_predicate_come_true_in_another_process, .timeout = 30)
{
    char name[64];
    shm_name(name, sizeof name, "child");
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(go[1]);
        child_writer(name, go[0]);
    }
    close(go[0]);
    rc_shm_reader *r;
    char err[200];
    cr_assert_eq(rc_shm_attach(&r, name, 10, err, sizeof err), 0, "%s", err);

    done_pred p = {.service = "api", .n = 5};
    cr_assert_eq(rc_shm_wait(r, service_done, &p, 0.02, 0.005, NULL), RC_ENOENT, "nothing ran yet");
    cr_assert_eq(write(go[1], "g", 1), 1);
    rc_shm_snapshot *last = malloc(sizeof *last);
    cr_assert_eq(rc_shm_wait(r, service_done, &p, 20, 0.001, last), 0);
    cr_assert_eq(rc_shm_find_service(last, "api")->completed, 5);
    cr_assert(last->writer_alive);

    close(go[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
    free(last);
    rc_shm_detach(r);
}

/* ---- the blocked report, refreshed on demand ---- */

Test(shm_harness, refresh_report_describes_the_pending_work_now)
{
    char name[64];
    shm_name(name, sizeof name, "report");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_task(cue, "never", NULL, tu_handler, NULL), RC_OK);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = never_ready});
    rc_shm_writer *w;
    cr_assert_eq(rc_shm_publish(&w, cue, name, NULL, NULL, 0), 0);
    cr_assert_eq(rc_shm_refresh_report(NULL), RC_EINVAL);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 1, NULL, 0), 0);
    rc_shm_snapshot *s = malloc(sizeof *s);

    enum { N = RC_SHM_MAX_BLOCKED + 6 };
    const char *needs[] = {"never"};
    for (int i = 0; i < N; i++)
        tu_submit_opts(cue, "never", &(rc_submit_opts){.needs = needs, .n_needs = 1});
    tu_run(loop); /* stuck: the writer refreshes once by itself */
    rc_shm_read(r, s);
    uint32_t made = s->report.made;
    cr_assert_geq(made, 1);

    /* Later, with the first two cancelled: a refresh on demand. */
    tu_keepalive(loop, 7);
    tu_run(loop);
    cr_assert_eq(rc_cancel(cue, 1), RC_OK);
    cr_assert_eq(rc_cancel(cue, 2), RC_OK);
    cr_assert_eq(rc_shm_refresh_report(w), 0);

    rc_shm_read(r, s);
    const rc_shm_report *rep = &s->report;
    cr_assert_eq(rep->made, made + 1);
    cr_assert_eq(rep->taken, rc_seconds(7));
    cr_assert_eq(rep->blocked_total, N - 2);
    cr_assert_eq(rep->n_blocked, RC_SHM_MAX_BLOCKED, "the report keeps what fits");
    for (uint32_t i = 0; i < rep->n_blocked; i++) {
        cr_assert_eq(rep->blocked[i].id, 3 + i, "entry %u", i);
        cr_assert_eq(rep->blocked[i].reason, RC_BLOCK_NOT_READY);
        cr_assert_str_eq(rep->blocked[i].task, "never");
    }
    cr_assert(strstr(rep->waitfor, "never #3 waits on 'never' <- no producer"), "%s", rep->waitfor);
    cr_assert_null(strstr(rep->waitfor, "never #1 "), "cancelled work is not described");

    free(s);
    rc_shm_detach(r);
    tu_close(loop, cue);
}
