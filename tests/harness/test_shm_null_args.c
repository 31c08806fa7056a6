/* Every function of runcue_shm.h given NULL: RC_EINVAL (or its documented
 * value), never a crash. */
#include <criterion/criterion.h>

#include "runcue.h"
#include "runcue_shm.h"
#include "testutil.h"

static bool yes(const rc_shm_snapshot *s, void *ud)
{
    (void)s;
    (void)ud;
    return true;
}

Test(shm_null_args, writer)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    rc_shm_writer *w = (rc_shm_writer *)1;
    char err[128];
    cr_assert_eq(rc_shm_publish(NULL, cue, "x", NULL, err, sizeof err), RC_EINVAL);
    cr_assert_eq(rc_shm_publish(&w, NULL, "x", NULL, err, sizeof err), RC_EINVAL);
    cr_assert_null(w);
    cr_assert_eq(rc_shm_publish(&w, cue, NULL, NULL, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "name"), "%s", err);
    cr_assert_eq(rc_shm_publish(&w, cue, NULL, NULL, NULL, 0), RC_EINVAL);
    cr_assert_str_eq(rc_shm_writer_path(NULL), "");
    rc_shm_update(NULL);
    rc_shm_set_flags(NULL, RC_SHM_STALLED, 0);
    cr_assert_eq(rc_shm_refresh_report(NULL), RC_EINVAL);
    rc_shm_mark(NULL, "a", "b");
    rc_shm_unpublish(NULL);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(shm_null_args, reader)
{
    rc_shm_reader *r = (rc_shm_reader *)1;
    char err[128];
    cr_assert_eq(rc_shm_attach(NULL, "x", 0, err, sizeof err), RC_EINVAL);
    cr_assert_eq(rc_shm_attach(&r, NULL, 0, err, sizeof err), RC_EINVAL);
    cr_assert_null(r);
    cr_assert_eq(rc_shm_attach_with(&r, NULL, NULL, NULL, 0), RC_EINVAL);
    rc_shm_detach(NULL);
    rc_shm_snapshot *s = calloc(1, sizeof *s);
    cr_assert_eq(rc_shm_read(NULL, s), RC_EINVAL);
    cr_assert_not(rc_shm_writer_alive(NULL));
    cr_assert_str_eq(rc_shm_writer_status(NULL), "no reader");
    uint64_t cursor = 0, v;
    rc_shm_event ev;
    cr_assert_eq(rc_shm_events(NULL, &cursor, &ev, 1, NULL), 0);
    cr_assert_eq(rc_shm_wait(NULL, yes, NULL, 0, 0, s), RC_EINVAL);
    cr_assert_eq(rc_shm_counter(NULL, "completed", &v), RC_EINVAL);
    cr_assert_eq(rc_shm_counter(s, "completed", NULL), RC_EINVAL);
    cr_assert_eq(rc_shm_counter(s, NULL, &v), RC_ENOENT);
    cr_assert_eq(rc_shm_wait_counter(NULL, "completed", 1, 0, s), RC_EINVAL);
    cr_assert_null(rc_shm_find_service(NULL, "x"));
    cr_assert_null(rc_shm_find_service(s, NULL));
    cr_assert_str_eq(rc_shm_event_name(9999), "unknown");
    free(s);
}
