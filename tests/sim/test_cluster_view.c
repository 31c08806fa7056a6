/* test_cluster_view.c -- a cluster run published live (cluster_publish):
 * a reader sees a row per agent, per scheduler and per service, the run's
 * starts on the agents' lanes, its faults as marks, and the end; the paced
 * run steps instant by instant and gives the same outcome. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "cluster_pace.h"
#include "runcue_shm.h"

static cluster *make(const char *faults, uint64_t count)
{
    cluster_config cc;
    char err[512];
    cluster_config_defaults(&cc);
    cr_assert_eq(cluster_parse_shape(&cc, "2:3", err, sizeof err), 0, "%s", err);
    if (faults) cr_assert_eq(cluster_parse_faults(&cc, faults, err, sizeof err), 0, "%s", err);
    cc.count = count;
    cc.seed = 7;
    cluster_service *s = &cc.services[0];
    snprintf(s->name, sizeof s->name, "api");
    s->concurrent = 4;
    s->rate_count = 20;
    s->rate_window_s = 1;
    s->lease_s = 2;
    s->max_deliveries = 10;
    s->latency_ms = 100;
    s->jitter = 0.2;
    cc.n_services = 1;
    size_t len;
    char *lua = cluster_load_functions(&len, err, sizeof err);
    cr_assert(lua, "%s", err);
    cluster *c;
    cr_assert_eq(cluster_new(&c, &cc, lua, len, err, sizeof err), 0, "%s", err);
    free(lua);
    return c;
}

static void name_of(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "cltest-%s-%d", what, (int)getpid());
}

Test(cluster_view, rows_lanes_and_fault_marks)
{
    cluster *c = make("crash:agent2@1s,partition:sched1@2s+1s", 60);
    char name[64], err[256];
    name_of(name, sizeof name, "rows");
    cr_assert_eq(cluster_publish(c, name, "a cluster", err, sizeof err), 0, "%s", err);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 1, err, sizeof err), 0, "%s", err);
    rc_shm_snapshot snap;
    cr_assert_eq(rc_shm_read(r, &snap), 0);
    cr_assert_str_eq(snap.title, "a cluster");
    cr_assert_eq(snap.state.n_services, 6); /* api, sched1, sched2, agent1..3 */
    cr_assert_eq(cluster_run(c), CLUSTER_DONE);
    rc_shm_read(r, &snap);
    cr_assert(snap.state.flags & RC_SHM_FINISHED);
    cr_assert_eq(snap.state.counters.completed, 60);
    cr_assert_eq(snap.state.counters.pending, 0);
    const rc_shm_service *api = rc_shm_find_service(&snap, "api");
    cr_assert(api);
    cr_assert_eq(api->concurrent, 4);
    cr_assert_eq(api->rate_count, 20);
    cr_assert_eq(api->completed, 60);
    uint64_t by_agents = 0;
    for (int i = 1; i <= 3; i++) {
        char an[16];
        snprintf(an, sizeof an, "agent%d", i);
        const rc_shm_service *a = rc_shm_find_service(&snap, an);
        cr_assert(a, "%s", an);
        cr_assert_eq(a->concurrent, 4); /* its slots */
        by_agents += a->completed;
    }
    cr_assert_eq(by_agents, 60);
    cr_assert(rc_shm_find_service(&snap, "sched2"));

    static rc_shm_event ev[RC_SHM_RING];
    uint64_t cursor = 0;
    size_t n = rc_shm_events(r, &cursor, ev, RC_SHM_RING, NULL);
    bool crash = false, crash_back = false, part_end = false, on_agent = false;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind == RC_SHM_EV_MARK && strcmp(ev[i].detail, "crash:agent2@1s") == 0) {
            crash = true;
            cr_assert_eq(ev[i].time, 1000000000);
        }
        if (ev[i].kind == RC_SHM_EV_MARK && strcmp(ev[i].detail, "end partition:sched1@2s+1s") == 0)
            part_end = true;
        if (ev[i].kind == RC_SHM_EV_MARK && strstr(ev[i].detail, "restarted")) crash_back = true;
        if (ev[i].kind == RC_EV_STARTED) {
            cr_assert(strncmp(ev[i].service, "agent", 5) == 0, "%s", ev[i].service);
            cr_assert(ev[i].work_id >= 1 && ev[i].work_id <= 60);
            on_agent = true;
        }
    }
    cr_assert(crash && part_end && on_agent);
    cr_assert(!crash_back); /* a crash without +D stays down */
    rc_shm_detach(r);
    cluster_free(c); /* unpublishes */
    cr_assert_neq(rc_shm_attach(&r, name, 0, err, sizeof err), 0);
}

Test(cluster_view, paced_steps_give_the_same_run)
{
    cluster *a = make("pause:agent1@1s+3s", 40);
    cluster *b = make("pause:agent1@1s+3s", 40);
    cr_assert_eq(cluster_run(a), CLUSTER_DONE);
    sim_pacer p;
    cluster_pacer_init(&p, b, 1);
    int64_t last = -1;
    for (int i = 0; i < 1000000 && !p.over; i++) {
        cr_assert_eq(sim_pacer_step(&p), 0);
        cr_assert_geq(cluster_now_us(b), last);
        last = cluster_now_us(b);
    }
    cr_assert(p.over);
    cr_assert_eq(p.outcome, CLUSTER_DONE);
    cr_assert_eq(cluster_now_us(a), cluster_now_us(b));
    char sa[4096], sb[4096];
    FILE *fa = fmemopen(sa, sizeof sa, "w"), *fb = fmemopen(sb, sizeof sb, "w");
    cluster_print_report_json(a, fa, "x");
    cluster_print_report_json(b, fb, "x");
    fclose(fa);
    fclose(fb);
    cr_assert_str_eq(sa, sb);
    cluster_free(a);
    cluster_free(b);
}

Test(cluster_view, a_fed_writer_refuses_a_taken_name)
{
    cluster *a = make(NULL, 5), *b = make(NULL, 5);
    char name[64], err[256];
    name_of(name, sizeof name, "taken");
    cr_assert_eq(cluster_publish(a, name, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cluster_publish(b, name, NULL, err, sizeof err), RC_EEXIST);
    cr_assert(strstr(err, "in use"), "%s", err);
    cr_assert_eq(cluster_publish(b, "bad/name", NULL, err, sizeof err), RC_EINVAL);
    cluster_free(a);
    cluster_free(b);
}

Test(cluster_faults, a_bad_spec_is_quoted_on_one_line_with_control_characters_shown_as_marks)
{
    cluster_config cc;
    char err[512];
    cluster_config_defaults(&cc);
    cr_assert_eq(cluster_parse_shape(&cc, "2\x1b[2J:3", err, sizeof err), -1);
    cr_assert_str_eq(err, "'2?[2J:3' is not SCHEDULERS:AGENTS (1..16 and 1..48, e.g. 2:8)");
    cr_assert_eq(cluster_parse_faults(&cc, "crash:agent1@5s\n,pause:agent2@1s", err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "'crash:agent1@5s?'"), "%s", err);
    for (const char *p = err; *p; p++) cr_assert_geq((unsigned char)*p, 0x20, "%s", err);
}

Test(cluster_faults, a_fault_as_written_reads_back_the_same)
{
    static const char *const specs[] = {
        "crash:agent1@1000000s",          /* not 1e+06s: a '+' reads as a duration */
        "engine-restart@2s+0.2s:loss=1.9999999s", /* not 2s: a window from 0 */
        "pause:agent2@0.25s+1e-06s",
        "partition:sched1@12.5s+3s",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        cluster_config cc, back;
        char err[256], text[128], again[128];
        cluster_config_defaults(&cc);
        cr_assert_eq(cluster_parse_faults(&cc, specs[i], err, sizeof err), 0, "%s: %s", specs[i],
                     err);
        cluster_fault_format(&cc.faults[0], text, sizeof text);
        cr_assert_str_eq(text, specs[i]);
        cluster_config_defaults(&back);
        cr_assert_eq(cluster_parse_faults(&back, text, err, sizeof err), 0, "%s: %s", text, err);
        cluster_fault_format(&back.faults[0], again, sizeof again);
        cr_assert_str_eq(again, text);
    }
    /* Below a nanosecond: nothing, not a number too small to print back. */
    cluster_config cc;
    char err[256], text[128];
    cluster_config_defaults(&cc);
    cr_assert_eq(cluster_parse_faults(&cc, "crash:agent1@1e-306ms", err, sizeof err), 0, "%s", err);
    cluster_fault_format(&cc.faults[0], text, sizeof text);
    cr_assert_str_eq(text, "crash:agent1@0s");
}
