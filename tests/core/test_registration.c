/* test_registration.c -- services, tasks, and rate strings. */
#include "testutil.h"

static rc_loop *loop;
static rc_cue *cue;

static void setup(void)
{
    tu_open(&loop, &cue, NULL);
}

static void teardown(void)
{
    tu_close(loop, cue);
}

TestSuite(registration, .init = setup, .fini = teardown);

static rc_service_info service_info(size_t index)
{
    rc_service_info info;
    memset(&info, 0, sizeof info);
    int rc = rc_service_get(cue, index, &info);
    cr_assert_eq(rc, RC_OK, "rc_service_get(%zu): %s", index, rc_strerror(rc));
    return info;
}

Test(registration, service_records_name_rate_and_concurrency)
{
    cr_assert_eq(rc_service(cue, "api", "60/min", 5), RC_OK, "%s", rc_cue_errmsg(cue));
    cr_assert_eq(rc_service_count(cue), 1);
    rc_service_info info = service_info(0);
    cr_assert_str_eq(info.name, "api");
    cr_assert_eq(info.concurrent, 5);
    cr_assert_eq(info.rate_count, 60);
    cr_assert_float_eq(info.rate_window, 60.0, 1e-9);
    cr_assert_eq(info.running, 0);
    cr_assert_eq(info.started, 0);
}

Test(registration, service_without_rate_or_concurrency_limit_is_accepted)
{
    cr_assert_eq(rc_service(cue, "free", NULL, RC_NO_LIMIT), RC_OK, "%s", rc_cue_errmsg(cue));
    rc_service_info info = service_info(0);
    cr_assert_str_eq(info.name, "free");
    cr_assert_eq(info.concurrent, RC_NO_LIMIT);
    cr_assert_eq(info.rate_count, 0);
}

Test(registration, services_are_listed_in_registration_order)
{
    cr_assert_eq(rc_service(cue, "zeta", NULL, 1), RC_OK);
    cr_assert_eq(rc_service(cue, "alpha", "10/s", 2), RC_OK);
    cr_assert_eq(rc_service(cue, "mid", "100/hour", RC_NO_LIMIT), RC_OK);
    cr_assert_eq(rc_service_count(cue), 3);
    cr_assert_str_eq(service_info(0).name, "zeta");
    cr_assert_str_eq(service_info(1).name, "alpha");
    cr_assert_str_eq(service_info(2).name, "mid");
    rc_service_info out;
    cr_assert_eq(rc_service_get(cue, 3, &out), RC_ENOENT);
}

Test(registration, duplicate_service_name_is_rejected_with_eexist)
{
    cr_assert_eq(rc_service(cue, "api", "60/min", 5), RC_OK);
    cr_assert_eq(rc_service(cue, "api", "10/sec", 1), RC_EEXIST);
    cr_assert_eq(rc_service_count(cue), 1);
    rc_service_info info = service_info(0);
    cr_assert_eq(info.concurrent, 5, "the first registration must be unchanged");
    cr_assert_eq(info.rate_count, 60);
    cr_assert_neq(strlen(rc_cue_errmsg(cue)), 0, "an error message is expected");
}

Test(registration, bad_rate_strings_are_rejected_and_nothing_is_registered)
{
    static const char *const bad[] = {"abc", "20/0", "0/min", "-1/sec", "5/fortnight", "",
                                      "5",   "/min", "5/",    "5/-1",   "5/min/extra"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = rc_service(cue, "api", bad[i], 5);
        cr_assert_eq(rc, RC_EINVAL, "rate '%s' must be rejected, got %d", bad[i], rc);
        const char *msg = rc_cue_errmsg(cue);
        cr_assert_not_null(msg);
        cr_assert(strstr(msg, "api") != NULL, "message for '%s' should name the service: %s",
                  bad[i], msg);
        if (bad[i][0] != '\0')
            cr_assert(strstr(msg, bad[i]) != NULL, "message should quote the rate '%s': %s", bad[i],
                      msg);
        cr_assert_eq(rc_service_count(cue), 0, "nothing may be registered for '%s'", bad[i]);
    }
    /* The name is still free. */
    cr_assert_eq(rc_service(cue, "api", "60/min", 5), RC_OK, "%s", rc_cue_errmsg(cue));
    cr_assert_eq(rc_service_count(cue), 1);
}

Test(registration, bad_concurrency_is_rejected_and_the_name_stays_free)
{
    static const int bad[] = {0, -5, -2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rc_service(cue, "knife", NULL, bad[i]), RC_EINVAL, "concurrent=%d", bad[i]);
        cr_assert(strstr(rc_cue_errmsg(cue), "knife") != NULL,
                  "message should name the service: %s", rc_cue_errmsg(cue));
        cr_assert_eq(rc_service_count(cue), 0);
    }
    cr_assert_eq(rc_service(cue, "knife", NULL, 1), RC_OK, "%s", rc_cue_errmsg(cue));
    cr_assert_eq(service_info(0).concurrent, 1);
}

Test(registration, bad_service_name_is_rejected)
{
    cr_assert_eq(rc_service(cue, NULL, NULL, 1), RC_EINVAL);
    cr_assert_eq(rc_service(cue, "", NULL, 1), RC_EINVAL);
    cr_assert_eq(rc_service_count(cue), 0);
}

Test(registration, service_limits_takes_numbers_and_zero_count_means_no_rate)
{
    cr_assert_eq(rc_service_limits(cue, "a", 5, 0.5, 2), RC_OK, "%s", rc_cue_errmsg(cue));
    cr_assert_eq(rc_service_limits(cue, "b", 0, 0, RC_NO_LIMIT), RC_OK, "%s", rc_cue_errmsg(cue));
    rc_service_info a = service_info(0), b = service_info(1);
    cr_assert_eq(a.rate_count, 5);
    cr_assert_float_eq(a.rate_window, 0.5, 1e-12);
    cr_assert_eq(a.concurrent, 2);
    cr_assert_eq(b.rate_count, 0);
    cr_assert_eq(b.concurrent, RC_NO_LIMIT);
}

Test(registration, service_limits_rejects_a_nonpositive_window)
{
    cr_assert_eq(rc_service_limits(cue, "a", 5, 0.0, 2), RC_EINVAL);
    cr_assert_eq(rc_service_limits(cue, "a", 5, -1.0, 2), RC_EINVAL);
    cr_assert_eq(rc_service_limits(cue, "a", 5, NAN, 2), RC_EINVAL);
    cr_assert_eq(rc_service_limits(cue, "a", 5, 1.0, 0), RC_EINVAL);
    cr_assert_eq(rc_service_count(cue), 0);
    cr_assert_eq(rc_service_limits(cue, "a", 5, 1.0, 2), RC_OK);
}

/* A positive window out of range is not called "not positive". */
Test(registration, service_limits_says_what_is_wrong_with_a_window_out_of_range)
{
    static const double bad[] = {1e-12, 2e9, 0.0, -1.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rc_service_limits(cue, "a", 5, bad[i], 2), RC_EINVAL);
        const char *msg = rc_cue_errmsg(cue);
        cr_assert(strstr(msg, "'a'") && strstr(msg, "from 1 ns to 1e9 seconds"), "window %g: %s",
                  bad[i], msg);
    }
    cr_assert_eq(rc_service_count(cue), 0);
}

Test(registration, task_with_unknown_service_is_rejected_with_enoent)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "extract", "nope", tu_handler, &t), RC_ENOENT);
    cr_assert_neq(strlen(rc_cue_errmsg(cue)), 0);
    /* Not registered: submitting for it fails. */
    rc_work_id id = 0;
    cr_assert_eq(rc_submit(cue, "extract", NULL, &id), RC_ENOENT);
}

Test(registration, duplicate_task_name_is_rejected_with_eexist)
{
    tu_task t1 = {0}, t2 = {0};
    tu_serve(cue, "api", NULL, 1, "extract", &t1);
    cr_assert_eq(rc_task(cue, "extract", NULL, tu_handler, &t2), RC_EEXIST);
    /* The first registration is the one that runs. */
    tu_submit(cue, "extract", NULL);
    tu_run(loop);
    cr_assert_eq(t1.calls, 1);
    cr_assert_eq(t2.calls, 0);
}

Test(registration, bad_task_name_is_rejected)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, NULL, NULL, tu_handler, &t), RC_EINVAL);
    cr_assert_eq(rc_task(cue, "", NULL, tu_handler, &t), RC_EINVAL);
}

Test(registration, task_without_service_records_no_service_on_its_work)
{
    tu_task t = {0};
    cr_assert_eq(rc_service(cue, "api", NULL, 1), RC_OK);
    cr_assert_eq(rc_task(cue, "free", NULL, tu_handler, &t), RC_OK);
    cr_assert_eq(rc_task(cue, "limited", "api", tu_handler, &t), RC_OK);
    rc_work_id a = tu_submit(cue, "free", NULL);
    rc_work_id b = tu_submit(cue, "limited", NULL);
    cr_assert_null(rc_work_service(rc_get(cue, a)));
    cr_assert_str_eq(rc_work_service(rc_get(cue, b)), "api");
    cr_assert_str_eq(rc_work_task(rc_get(cue, b)), "limited");
}

Test(registration, work_for_a_task_without_handler_waits_until_one_is_set)
{
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "later", NULL, NULL, NULL), RC_OK);
    rc_work_id id = tu_submit(cue, "later", NULL);
    tu_run(loop);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_PENDING);
    rc_stats s = tu_stats(cue);
    cr_assert_eq(s.pending, 1);
    cr_assert_eq(s.waiting, 1, "work with no handler counts as waiting");

    cr_assert_eq(rc_task_set_handler(cue, "later", tu_handler, &t), RC_OK);
    tu_run(loop);
    cr_assert_eq(t.calls, 1);
    cr_assert_eq(rc_work_state(rc_get(cue, id)), RC_COMPLETED);
}

Test(registration, set_handler_for_unknown_task_is_enoent)
{
    tu_task t = {0};
    cr_assert_eq(rc_task_set_handler(cue, "ghost", tu_handler, &t), RC_ENOENT);
}

Test(registration, two_cues_on_one_loop_have_separate_registries)
{
    rc_cue *other = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_service(cue, "api", NULL, 1), RC_OK);
    cr_assert_eq(rc_service(other, "api", NULL, 3), RC_OK, "the name is per cue");
    cr_assert_eq(rc_service_count(cue), 1);
    cr_assert_eq(rc_service_count(other), 1);
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "only_here", NULL, tu_handler, &t), RC_OK);
    cr_assert_eq(rc_submit(other, "only_here", NULL, NULL), RC_ENOENT);
    rc_cue_free(other);
}

/* ------------------------------------------------------------------ */
/* rc_parse_rate                                                       */
/* ------------------------------------------------------------------ */

static void expect_rate(const char *s, unsigned count, double window)
{
    unsigned c = 12345;
    double w = -1;
    char err[128] = "";
    int rc = rc_parse_rate(s, &c, &w, err, sizeof err);
    cr_assert_eq(rc, RC_OK, "'%s' should parse: %s", s, err);
    cr_assert_eq(c, count, "'%s': count %u, expected %u", s, c, count);
    cr_assert_float_eq(w, window, 1e-9, "'%s': window %g, expected %g", s, w, window);
}

/* "count/unit" parses as `count` per `window` seconds for every spelling of
 * the unit in `units` (NULL-terminated). */
static void expect_units(unsigned count, const char *const *units, double window)
{
    for (const char *const *u = units; *u; u++) {
        char s[32];
        snprintf(s, sizeof s, "%u/%s", count, *u);
        expect_rate(s, count, window);
    }
}

Test(registration, parse_rate_accepts_every_second_alias)
{
    static const char *const units[] = {"sec", "s", "second", "seconds", NULL};
    expect_units(7, units, 1);
}

Test(registration, parse_rate_accepts_every_minute_alias)
{
    static const char *const units[] = {"min", "m", "minute", "minutes", NULL};
    expect_units(60, units, 60);
}

Test(registration, parse_rate_accepts_every_hour_alias)
{
    static const char *const units[] = {"hour", "h", "hr", "hours", NULL};
    expect_units(100, units, 3600);
}

Test(registration, parse_rate_accepts_plurals_of_abbreviated_units)
{
    expect_rate("3/secs", 3, 1);
    expect_rate("3/mins", 3, 60);
    expect_rate("3/hrs", 3, 3600);
}

Test(registration, parse_rate_accepts_count_per_seconds_form)
{
    expect_rate("20/1", 20, 1);
    expect_rate("5/0.5", 5, 0.5);
    expect_rate("3/90", 3, 90);
    expect_rate("1/2.25", 1, 2.25);
}

Test(registration, parse_rate_rejects_malformed_strings_with_a_message)
{
    static const char *const bad[] = {"abc", "20/0", "0/min", "-1/sec", "5/fortnight", "",
                                      "5",   "/min", "5/",    "5/-1",   "x/min",       "5/0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned c = 0;
        double w = 0;
        char err[128] = "";
        int rc = rc_parse_rate(bad[i], &c, &w, err, sizeof err);
        cr_assert_eq(rc, RC_EINVAL, "'%s' should be rejected, got %d", bad[i], rc);
        cr_assert_neq(strlen(err), 0, "'%s' should come with a message", bad[i]);
    }
}

Test(registration, parse_rate_error_message_respects_the_buffer_size)
{
    char err[8];
    memset(err, 'X', sizeof err);
    unsigned c;
    double w;
    cr_assert_eq(rc_parse_rate("5/fortnight", &c, &w, err, sizeof err), RC_EINVAL);
    cr_assert(memchr(err, '\0', sizeof err) != NULL, "the message must be terminated in 8 bytes");
    /* A NULL buffer is allowed. */
    cr_assert_eq(rc_parse_rate("5/fortnight", &c, &w, NULL, 0), RC_EINVAL);
}

Test(registration, strerror_names_every_code)
{
    static const int codes[] = {RC_OK,       RC_EINVAL,    RC_ENOMEM, RC_EEXIST, RC_ENOENT,
                                RC_ERUNNING, RC_EFINISHED, RC_ESTALE, RC_ESYS,   RC_ESTATE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = rc_strerror(codes[i]);
        cr_assert_not_null(s);
        cr_assert_neq(strlen(s), 0, "code %d has an empty name", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, rc_strerror(codes[j]), "codes %d and %d share a name", codes[i],
                              codes[j]);
    }
    cr_assert_not_null(rc_strerror(-999));
    cr_assert_not_null(rc_strerror(42));
}

/* rc_submit keeps its last few tasks at hand: work of six tasks whose
 * names share first letters, in turns, in runs and at random, each gets
 * the task it names, and an unknown name is still refused. */
Test(registration, submit_finds_each_task_whatever_the_order)
{
    static const char *const names[] = {"fetch", "fetch2", "format", "f", "load", "lint"};
    enum { N = sizeof names / sizeof *names, WORKS = 600 };
    for (int i = 0; i < N; i++) cr_assert_eq(rc_task(cue, names[i], NULL, NULL, NULL), RC_OK);
    static rc_work_id ids[WORKS];
    static int which[WORKS];
    uint64_t seed = 7;
    for (int k = 0; k < WORKS; k++) {
        seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
        /* turns of three, turns of all six, runs of one, then random */
        which[k] = k < 100 ? k % 3 : k < 200 ? k % N : k < 300 ? (k / 10) % N
                                                      : (int)((seed >> 33) % N);
        cr_assert_eq(rc_submit(cue, names[which[k]], NULL, &ids[k]), RC_OK);
        if (k % 50 == 0) {
            cr_assert_eq(rc_submit(cue, "fetch3", NULL, NULL), RC_ENOENT);
            cr_assert_eq(rc_submit(cue, "", NULL, NULL), RC_ENOENT);
        }
    }
    for (int k = 0; k < WORKS; k++)
        cr_assert_str_eq(rc_work_task(rc_get(cue, ids[k])), names[which[k]], "work %d", k);
}

Test(registration, a_bad_cue_option_is_refused_and_named_in_the_loops_message)
{
    static const char *const names[] = {"pending_warn_after", "pending_timeout",
                                        "stall_warn_after",   "stall_timeout",
                                        "poll_interval",      "priority_refresh"};
    const double bad[] = {-1, NAN, 2e9};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            rc_cue_opts o = {0};
            double *field[] = {&o.pending_warn_after, &o.pending_timeout, &o.stall_warn_after,
                               &o.stall_timeout,      &o.poll_interval,   &o.priority_refresh};
            *field[i] = bad[b];
            rc_cue *c = (rc_cue *)&o; /* set to NULL on failure */
            cr_assert_eq(rc_cue_new(&c, loop, &o), RC_EINVAL, "%s = %g", names[i], bad[b]);
            cr_assert_null(c);
            const char *msg = rc_loop_errmsg(loop);
            cr_assert(strstr(msg, "rc_cue_new: ") == msg && strstr(msg, names[i]) &&
                          strstr(msg, "between 0 and 1e9 seconds"),
                      "%s = %g: '%s'", names[i], bad[b], msg);
        }
    }
    /* The loop goes on as before: a good cue is made on it. */
    rc_cue *c = NULL;
    rc_cue_opts good = {.stall_timeout = 30};
    cr_assert_eq(rc_cue_new(&c, loop, &good), RC_OK);
    rc_cue_free(c);
}
