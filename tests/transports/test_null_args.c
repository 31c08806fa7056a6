/* Every function of runcue_transport.h given NULL (or an object in the
 * wrong state): RC_EINVAL (or its documented error), never a crash. */
#include <criterion/criterion.h>

#include "runcue.h"
#include "runcue_transport.h"
#include "testutil.h"

static rc_job_status job(const rc_job *j, cJSON **result, char *err, size_t errlen, void *ud)
{
    (void)j;
    (void)result;
    (void)err;
    (void)errlen;
    (void)ud;
    return RC_JOB_OK;
}

Test(transport_null_args, pool)
{
    rc_loop *loop;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), 0);
    rc_cue *cue;
    cr_assert_eq(rc_cue_new(&cue, loop, NULL), 0);
    rc_pool *p = (rc_pool *)1;
    cr_assert_eq(rc_pool_new(NULL, cue, 1), RC_EINVAL);
    cr_assert_eq(rc_pool_new(&p, NULL, 1), RC_EINVAL);
    cr_assert_null(p);
    cr_assert_eq(rc_pool_task(NULL, "t", NULL, job, NULL), RC_EINVAL);
    rc_shutdown_report rep;
    cr_assert_eq(rc_pool_shutdown(NULL, 1, &rep), RC_EINVAL);
    rc_shutdown_report_free(NULL);
    rc_pool_free(NULL);
    cr_assert_eq(rc_pool_new(&p, cue, 1), 0);
    cr_assert_eq(rc_pool_task(p, NULL, NULL, job, NULL), RC_EINVAL);
    cr_assert_eq(rc_pool_task(p, "t", NULL, NULL, NULL), RC_EINVAL);
    /* Wrong state: shut down twice, a task after shutdown. */
    cr_assert_eq(rc_pool_shutdown(p, 1, NULL), 0);
    cr_assert_eq(rc_pool_shutdown(p, 1, NULL), RC_ESTATE);
    cr_assert_eq(rc_pool_task(p, "t", NULL, job, NULL), RC_ESTATE);
    rc_pool_free(p);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(transport_null_args, workers)
{
    rc_loop *loop;
    cr_assert_eq(rc_loop_new(&loop, &(rc_loop_opts){.clock = RC_CLOCK_MONOTONIC}), 0);
    rc_cue *cue;
    cr_assert_eq(rc_cue_new(&cue, loop, NULL), 0);
    const char *argv[] = {"true", NULL};
    rc_workers_opts o = {.argv = argv, .processes = 1};
    rc_workers *w = (rc_workers *)1;
    cr_assert_eq(rc_workers_new(NULL, cue, "t", NULL, &o), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, NULL, "t", NULL, &o), RC_EINVAL);
    cr_assert_null(w);
    cr_assert_eq(rc_workers_new(&w, cue, NULL, NULL, &o), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, cue, "t", NULL, NULL), RC_EINVAL);
    cr_assert_eq(rc_workers_new(&w, cue, "t", NULL, &(rc_workers_opts){.processes = 1}),
                 RC_EINVAL);
    rc_workers_stats st;
    memset(&st, 0xff, sizeof st);
    rc_workers_stats_get(NULL, &st);
    cr_assert_eq(st.spawned, 0);
    rc_workers_stats_get(NULL, NULL);
    rc_shutdown_report rep;
    cr_assert_eq(rc_workers_shutdown(NULL, 1, &rep), RC_EINVAL);
    rc_workers_free(NULL);
    rc_cue_free(cue);
    rc_loop_free(loop);
}
