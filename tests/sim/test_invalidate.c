/* test_invalidate.c -- sim_invalidate_key: invalidation through a held key
 * entry says and counts what sim_invalidate by name does, with and without
 * anything reading the log, and refuses what it cannot invalidate. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "sim.h"

typedef struct seen {
    int invalidated;
    char detail[128];
    double t;
} seen;

static void observe(sim *s, const sim_event_record *rec, void *ud)
{
    (void)s;
    seen *v = ud;
    if (strcmp(rec->event, "invalidated") != 0) return;
    v->invalidated++;
    snprintf(v->detail, sizeof v->detail, "%s", rec->detail ? rec->detail : "");
    v->t = rec->t;
}

typedef struct plan {
    bool by_key;
    int rc_first, rc_again, rc_null, rc_unwritten;
} plan;

/* At t=0.5 s, after "make" wrote doc/0: invalidate it twice (the second
 * time it is already invalid), then try a NULL key and one never written. */
static void act(sim *s, void *ud)
{
    plan *p = ud;
    rc_cue *cue = sim_cue(s);
    rc_key *k = rc_key_hold(cue, "doc/0");
    cr_assert_not_null(k);
    if (p->by_key) {
        p->rc_first = sim_invalidate_key(s, k, "the test");
        p->rc_again = sim_invalidate_key(s, k, "the test");
        p->rc_null = sim_invalidate_key(s, NULL, "the test");
        rc_key *never = rc_key_hold(cue, "never/written");
        cr_assert_not_null(never);
        p->rc_unwritten = sim_invalidate_key(s, never, NULL);
        cr_assert(strstr(sim_errmsg(s), "never/written") != NULL, "message: %s", sim_errmsg(s));
        rc_key_release(cue, never);
    } else {
        p->rc_first = sim_invalidate(s, "doc/0", "the test");
        p->rc_again = sim_invalidate(s, "doc/0", "the test");
    }
    rc_key_release(cue, k);
}

static const sim_summary *run(bool by_key, bool observed, seen *v, plan *p)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.seed = 7;
    sim *s = NULL;
    cr_assert_eq(sim_new(&s, &cfg), 0);
    sim_profile prof = {100, 0, 0, 1, 0};
    cr_assert_eq(sim_add_service(s, "svc", 1, 0, 0), 0);
    cr_assert_eq(sim_add_task(s, "make", "svc", &prof, NULL, NULL), 0);
    const char *out[] = {"doc/0"};
    sim_work_spec spec = {"make", "make_0", NULL, 0, out, 1, NULL};
    cr_assert_eq(sim_add_initial(s, &spec), 0);
    p->by_key = by_key;
    cr_assert_eq(sim_at(s, 0.5, act, p), 0);
    if (observed) sim_set_observer(s, observe, v);
    cr_assert_eq(sim_run(s), SIM_DONE);
    static sim_summary copy;
    copy = *sim_get_summary(s);
    sim_free(s);
    return &copy;
}

Test(invalidate_key, says_and_counts_what_invalidate_by_name_does)
{
    seen by_name = {0}, by_key = {0};
    plan pn = {0}, pk = {0};
    uint64_t n_name = run(false, true, &by_name, &pn)->invalidations;
    uint64_t n_key = run(true, true, &by_key, &pk)->invalidations;
    cr_assert_eq(pn.rc_first, 0);
    cr_assert_eq(pn.rc_again, 0);
    cr_assert_eq(pk.rc_first, 0);
    cr_assert_eq(pk.rc_again, 0, "already invalid is not an error");
    cr_assert_eq(n_name, 1);
    cr_assert_eq(n_key, 1, "the second call changed nothing");
    cr_assert_eq(by_key.invalidated, 1);
    cr_assert_str_eq(by_key.detail, "doc/0 by the test");
    cr_assert_str_eq(by_key.detail, by_name.detail);
    cr_assert_float_eq(by_key.t, 0.5, 1e-9);
}

Test(invalidate_key, counts_with_nothing_reading_the_log)
{
    seen unused = {0};
    plan p = {0};
    cr_assert_eq(run(true, false, &unused, &p)->invalidations, 1);
    cr_assert_eq(unused.invalidated, 0);
}

Test(invalidate_key, refuses_no_key_and_a_key_never_written)
{
    seen v = {0};
    plan p = {0};
    run(true, true, &v, &p);
    cr_assert_eq(p.rc_null, RC_EINVAL);
    cr_assert_eq(p.rc_unwritten, RC_ENOENT);
    cr_assert_eq(v.invalidated, 1, "refused calls log nothing");
}
