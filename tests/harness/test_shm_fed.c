/* test_shm_fed.c -- a segment fed by hand (rc_shm_publish_fed): a reader
 * sees the fed state and events, the writer's own flags and counts, marks at
 * the last state's time, strings cut to their fields, and the end; the feed
 * calls ignore a writer that has a cue. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runcue_shm.h"

static void name_of(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "fedtest-%s-%d", what, (int)getpid());
}

Test(shm_fed, state_events_marks_and_end)
{
    char name[64], err[256];
    name_of(name, sizeof name, "a");
    rc_shm_writer *w;
    cr_assert_eq(rc_shm_publish_fed(&w, name, "fed by hand", RC_CLOCK_VIRTUAL, 5, err, sizeof err),
                 0, "%s", err);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 1, err, sizeof err), 0, "%s", err);
    rc_shm_snapshot snap;
    cr_assert_eq(rc_shm_read(r, &snap), 0);
    cr_assert_eq(snap.published, 5);
    cr_assert_str_eq(snap.title, "fed by hand");
    cr_assert(snap.state.flags & RC_SHM_LIVE);

    static rc_shm_state st;
    memset(&st, 0, sizeof st);
    st.now = 2000000000;
    st.flags = RC_SHM_STALLED;               /* not the caller's to set */
    st.n_services = RC_SHM_MAX_SERVICES + 5; /* clamped */
    snprintf(st.services[0].name, sizeof st.services[0].name, "agent1");
    st.services[0].concurrent = 8;
    st.services[0].running = 3;
    st.counters.completed = 7;
    rc_shm_event ev = {.time = 1500000000, .kind = RC_EV_STARTED, .work_id = 4, .progress = -1};
    memset(ev.service, 'x', sizeof ev.service); /* not terminated: cut */
    snprintf(ev.detail, sizeof ev.detail, "token 9");
    rc_shm_feed_event(w, &ev);
    rc_shm_feed_state(w, &st);
    rc_shm_mark(w, "crash", "agent2");

    cr_assert_eq(rc_shm_read(r, &snap), 0);
    cr_assert_eq(snap.state.now, 2000000000);
    cr_assert_eq(snap.state.n_services, RC_SHM_MAX_SERVICES);
    cr_assert_eq(snap.state.flags & RC_SHM_STALLED, 0);
    cr_assert_eq(snap.state.counters.completed, 7);
    const rc_shm_service *a = rc_shm_find_service(&snap, "agent1");
    cr_assert(a);
    cr_assert_eq(a->running, 3);
    rc_shm_event got[4];
    uint64_t cursor = 0;
    cr_assert_eq(rc_shm_events(r, &cursor, got, 4, NULL), 2);
    cr_assert_eq(got[0].kind, RC_EV_STARTED);
    cr_assert_eq(got[0].work_id, 4);
    cr_assert_eq(strlen(got[0].service), sizeof got[0].service - 1);
    cr_assert_str_eq(got[0].detail, "token 9");
    cr_assert_eq(got[1].kind, RC_SHM_EV_MARK);
    cr_assert_str_eq(got[1].detail, "crash: agent2");
    cr_assert_eq(got[1].time, 2000000000); /* the last state's time */

    rc_shm_set_flags(w, RC_SHM_FINISHED, 0);
    cr_assert_eq(rc_shm_read(r, &snap), 0);
    cr_assert(snap.state.flags & RC_SHM_FINISHED);
    rc_shm_unpublish(w);
    cr_assert_eq(rc_shm_read(r, &snap), RC_ESTATE);
    cr_assert_str_eq(rc_shm_writer_status(r), "finished");
    rc_shm_detach(r);
}

Test(shm_fed, bad_names_and_nulls)
{
    char err[256];
    rc_shm_writer *w;
    cr_assert_eq(rc_shm_publish_fed(NULL, "x", NULL, RC_CLOCK_VIRTUAL, 0, err, sizeof err),
                 RC_EINVAL);
    cr_assert_eq(rc_shm_publish_fed(&w, "bad/name", NULL, RC_CLOCK_VIRTUAL, 0, err, sizeof err),
                 RC_EINVAL);
    cr_assert_null(w);
    rc_shm_feed_event(NULL, NULL);
    rc_shm_feed_state(NULL, NULL);
    char name[64];
    name_of(name, sizeof name, "b");
    cr_assert_eq(rc_shm_publish_fed(&w, name, NULL, RC_CLOCK_VIRTUAL, 0, NULL, 0), 0);
    rc_shm_writer *again;
    cr_assert_eq(rc_shm_publish_fed(&again, name, NULL, RC_CLOCK_VIRTUAL, 0, err, sizeof err),
                 RC_EEXIST);
    rc_shm_feed_event(w, NULL);
    rc_shm_feed_state(w, NULL);
    rc_shm_unpublish(w);
}
