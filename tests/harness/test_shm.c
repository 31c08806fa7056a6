/* The live segment and the harness: a writer in this process, in a child
 * that dies, in a forked runcue-sim and in a small program on the real
 * clock.  Every snapshot must hold the live invariants: in flight never
 * above a service's limit, counters that add up, events in order. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcue.h"
#include "runcue_shm.h"
#include "testutil.h"


/* Publish, keeping the writer and the message for the test to look at. */
static rc_shm_writer *last_writer;
static char last_err[256];
static int publish(rc_cue *cue, const char *name, const char *title)
{
    return rc_shm_publish(&last_writer, cue, name, title, last_err, sizeof last_err);
}

static void shm_name(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "test-%d-%s", (int)getpid(), what);
}

/* The invariants every snapshot must hold. */
static void check_snapshot(const rc_shm_snapshot *s)
{
    const rc_shm_counters *c = &s->state.counters;
    cr_assert_leq(s->state.n_services, RC_SHM_MAX_SERVICES);
    for (uint32_t i = 0; i < s->state.n_services; i++) {
        const rc_shm_service *sv = &s->state.services[i];
        if (sv->concurrent != RC_NO_LIMIT)
            cr_assert_leq(sv->running, (uint64_t)sv->concurrent,
                          "service %s: %llu running, limit %d (t=%lld)", sv->name,
                          (unsigned long long)sv->running, sv->concurrent,
                          (long long)s->state.now);
        cr_assert_leq(sv->peak_running, sv->concurrent == RC_NO_LIMIT ? UINT64_MAX
                                                                      : (uint64_t)sv->concurrent);
        if (sv->rate_count)
            cr_assert_leq(sv->starts_in_window, sv->rate_count, "service %s: rate exceeded",
                          sv->name);
        cr_assert_eq(sv->started, sv->completed + sv->failed + sv->running,
                     "service %s: started %llu != completed %llu + failed %llu + running %llu",
                     sv->name, (unsigned long long)sv->started,
                     (unsigned long long)sv->completed, (unsigned long long)sv->failed,
                     (unsigned long long)sv->running);
    }
    /* Everything submitted is accounted for exactly once. */
    cr_assert_eq(c->submitted, c->completed + c->failed + c->skipped + c->cancelled + c->pending +
                                   c->running,
                 "submitted %llu != completed %llu + failed %llu + skipped %llu + cancelled %llu "
                 "+ pending %llu + running %llu",
                 (unsigned long long)c->submitted, (unsigned long long)c->completed,
                 (unsigned long long)c->failed, (unsigned long long)c->skipped,
                 (unsigned long long)c->cancelled, (unsigned long long)c->pending,
                 (unsigned long long)c->running);
    cr_assert_geq(c->pending, c->waiting + c->queued + c->delayed);
}

/* Reads events from a cursor and checks they come in order. */
typedef struct event_reader {
    uint64_t cursor, lost, seen;
    int64_t last_time;
    uint64_t by_kind[128];
} event_reader;

static void drain_events(rc_shm_reader *r, event_reader *er)
{
    static rc_shm_event buf[512];
    for (;;) {
        uint64_t before = er->cursor, lost_before = er->lost;
        size_t n = rc_shm_events(r, &er->cursor, buf, 512, &er->lost);
        uint64_t expect = before + 1 + (er->lost - lost_before);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(buf[i].seq, expect + i, "event seq %llu, expected %llu",
                         (unsigned long long)buf[i].seq, (unsigned long long)(expect + i));
            if (er->lost == 0)
                cr_assert_geq(buf[i].time, er->last_time, "event %llu goes back in time",
                              (unsigned long long)buf[i].seq);
            er->last_time = buf[i].time;
            if (buf[i].kind < 128) er->by_kind[buf[i].kind]++;
        }
        er->seen += n;
        if (n < 512) return;
    }
}

/* ---- in process, virtual clock ---- */

static tu_task slow3 = {.delay_s = 1.0};

static rc_cue *limited_cue(rc_loop *loop)
{
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_service(cue, "api", NULL, 3), 0);
    cr_assert_eq(rc_task(cue, "fetch", "api", tu_handler, &slow3), 0);
    return cue;
}

Test(shm, publish_read_and_follow_a_run)
{
    memset(&slow3, 0, sizeof slow3);
    slow3.delay_s = 1.0;
    char name[64];
    shm_name(name, sizeof name, "run");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = limited_cue(loop);
    cr_assert_eq(publish(cue, name, "unit test"), 0, "%s", last_err);

    rc_shm_reader *r = NULL;
    char err[200];
    cr_assert_eq(rc_shm_attach(&r, name, 1.0, err, sizeof err), 0, "%s", err);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_str_eq(s->name, name);
    cr_assert_str_eq(s->title, "unit test");
    cr_assert_eq(s->writer_pid, getpid());
    cr_assert_eq(s->clock, RC_CLOCK_VIRTUAL);
    cr_assert(s->state.flags & RC_SHM_LIVE);
    cr_assert_eq(s->state.n_services, 1);
    cr_assert_str_eq(s->state.services[0].name, "api");
    cr_assert_eq(s->state.services[0].concurrent, 3);

    for (int i = 0; i < 20; i++) tu_submit(cue, "fetch", NULL);
    rc_shm_update(last_writer);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_eq(s->state.counters.submitted, 20);
    cr_assert_eq(s->state.counters.pending, 20);
    check_snapshot(s);

    event_reader er = {0};
    for (int step = 1; step <= 13; step++) {
        tu_run_until(loop, step * 0.5);
        cr_assert_eq(rc_shm_read(r, s), 0);
        check_snapshot(s);
        /* Published at the last change; an explicit update brings it to now. */
        cr_assert_leq(s->state.now, rc_loop_now(loop));
        rc_shm_update(last_writer);
        cr_assert_eq(rc_shm_read(r, s), 0);
        cr_assert_eq(s->state.now, rc_loop_now(loop));
        drain_events(r, &er);
    }
    /* 20 works, 3 at a time, 1 s each: at 6.5 s, six rounds are done. */
    cr_assert_eq(s->state.counters.completed, 18);
    cr_assert_eq(s->state.services[0].running, 2);
    tu_run(loop);
    cr_assert_eq(rc_shm_read(r, s), 0);
    check_snapshot(s);
    drain_events(r, &er);
    cr_assert_eq(s->state.counters.completed, 20);
    cr_assert_eq(s->state.services[0].completed, 20);
    cr_assert_eq(s->state.services[0].peak_running, 3);
    cr_assert_eq(er.lost, 0);
    cr_assert_eq(er.seen, 60);
    cr_assert_eq(er.by_kind[RC_EV_QUEUED], 20);
    cr_assert_eq(er.by_kind[RC_EV_STARTED], 20);
    cr_assert_eq(er.by_kind[RC_EV_COMPLETED], 20);
    cr_assert_eq(s->state.events_head, 60);

    /* The writer finishes: readers keep the last state and are told. */
    rc_cue_free(cue);
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    cr_assert_not(s->state.flags & RC_SHM_LIVE);
    cr_assert_eq(s->state.counters.completed, 20);
    cr_assert_str_eq(rc_shm_writer_status(r), "finished");
    cr_assert_not(rc_shm_writer_alive(r));
    rc_shm_detach(r);
    /* And the name is gone. */
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), RC_ENOENT);
    cr_assert(strstr(err, name), "%s", err);
    free(s);
    rc_loop_free(loop);
}

Test(shm, events_carry_work_details)
{
    char name[64];
    shm_name(name, sizeof name, "details");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task failing = {.fail = "upstream said no"};
    cr_assert_eq(rc_service(cue, "svc", NULL, RC_NO_LIMIT), 0);
    cr_assert_eq(rc_task(cue, "boom", "svc", tu_handler, &failing), 0);
    cr_assert_eq(publish(cue, name, NULL), 0);
    rc_work_id id = tu_submit_opts(cue, "boom", &(rc_submit_opts){.label = "item-7"});
    rc_artifacts_changed(cue, "pages/1");
    rc_shm_mark(last_writer, "invalidated", "pages/2");
    tu_run(loop);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 0, NULL, 0), 0);
    rc_shm_event ev[16];
    uint64_t cursor = 0, lost = 0;
    size_t n = rc_shm_events(r, &cursor, ev, 16, &lost);
    cr_assert_eq(n, 5);
    cr_assert_eq(cursor, 5);
    cr_assert_eq(ev[0].kind, RC_EV_QUEUED);
    cr_assert_eq(ev[0].work_id, id);
    cr_assert_str_eq(ev[0].task, "boom");
    cr_assert_str_eq(ev[0].service, "svc");
    cr_assert_str_eq(ev[0].label, "item-7");
    cr_assert_eq(ev[1].kind, RC_SHM_EV_ARTIFACTS_CHANGED);
    cr_assert_str_eq(ev[1].detail, "pages/1");
    cr_assert_eq(ev[2].kind, RC_SHM_EV_MARK);
    cr_assert_str_eq(ev[2].detail, "invalidated: pages/2");
    cr_assert_eq(ev[3].kind, RC_EV_STARTED);
    cr_assert_eq(ev[3].attempt, 1);
    cr_assert_eq(ev[4].kind, RC_EV_FAILED);
    cr_assert_str_eq(ev[4].detail, "upstream said no");
    cr_assert_str_eq(rc_shm_event_name(ev[4].kind), "failed");
    cr_assert_str_eq(rc_shm_event_name(ev[1].kind), "artifacts_changed");
    /* Nothing new: the cursor stays. */
    cr_assert_eq(rc_shm_events(r, &cursor, ev, 16, &lost), 0);
    cr_assert_eq(cursor, 5);
    rc_shm_detach(r);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(shm, a_slow_reader_is_told_what_it_lost)
{
    char name[64];
    shm_name(name, sizeof name, "lost");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task instant;
    cr_assert_eq(rc_task(cue, "t", NULL, tu_handler, &instant), 0);
    cr_assert_eq(publish(cue, name, NULL), 0);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 0, NULL, 0), 0);
    for (int i = 0; i < 4; i++) tu_submit(cue, "t", NULL);
    event_reader er = {0};
    drain_events(r, &er);
    cr_assert_eq(er.seen, 4);
    for (int i = 0; i < 5000; i++) tu_submit(cue, "t", NULL);
    tu_run(loop);
    /* 5004 queued + started + completed = 15012 events; the ring keeps
     * RC_SHM_RING of them. */
    drain_events(r, &er);
    cr_assert_eq(er.cursor, 15012);
    cr_assert_eq(er.seen + er.lost, 15012);
    cr_assert_eq(er.seen, 4 + RC_SHM_RING);
    cr_assert_eq(er.lost, 15012 - 4 - RC_SHM_RING);
    rc_shm_detach(r);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

static int never_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue;
    (void)w;
    (void)ud;
    rc_check_wait_on(chk, "model.bin");
    rc_check_detail(chk, "input model.bin missing");
    return 0;
}

Test(shm, the_blocked_report_fills_when_work_is_stuck)
{
    char name[64];
    shm_name(name, sizeof name, "stuck");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task t;
    cr_assert_eq(rc_task(cue, "train", NULL, tu_handler, &t), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = never_ready});
    cr_assert_eq(publish(cue, name, NULL), 0);
    const char *needs[] = {"model.bin", NULL};
    tu_submit_opts(cue, "train", &(rc_submit_opts){.needs = needs, .label = "epoch-1"});
    tu_run(loop);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 0, NULL, 0), 0);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_eq(s->state.counters.waiting, 1);
    cr_assert_eq(s->state.services[0].blocked, 0); /* no services registered */
    cr_assert_eq(s->report.made, 1);
    cr_assert_eq(s->report.taken, 0);
    cr_assert_eq(s->report.blocked_total, 1);
    cr_assert_eq(s->report.n_blocked, 1);
    cr_assert_str_eq(s->report.blocked[0].task, "train");
    cr_assert_str_eq(s->report.blocked[0].label, "epoch-1");
    cr_assert_eq(s->report.blocked[0].reason, RC_BLOCK_NOT_READY);
    cr_assert(strstr(s->report.blocked[0].detail, "model.bin missing"), "%s",
              s->report.blocked[0].detail);
    cr_assert(strstr(s->report.waitfor, "nothing produces 'model.bin'"), "%s", s->report.waitfor);
    /* The writer's own verdict. */
    rc_shm_set_flags(last_writer, RC_SHM_STALLED | RC_SHM_FINISHED, 0);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert(s->state.flags & RC_SHM_STALLED);
    cr_assert(s->state.flags & RC_SHM_FINISHED);
    free(s);
    rc_shm_detach(r);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

Test(shm, blocked_per_service)
{
    char name[64];
    shm_name(name, sizeof name, "persvc");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task t;
    cr_assert_eq(rc_service(cue, "gpu", NULL, RC_NO_LIMIT), 0);
    cr_assert_eq(rc_service(cue, "cpu", NULL, RC_NO_LIMIT), 0);
    cr_assert_eq(rc_task(cue, "train", "gpu", tu_handler, &t), 0);
    cr_assert_eq(rc_task(cue, "prep", "cpu", tu_handler, &t), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = never_ready});
    cr_assert_eq(publish(cue, name, NULL), 0);
    for (int i = 0; i < 3; i++) tu_submit(cue, "train", NULL);
    tu_submit(cue, "prep", NULL);
    tu_run(loop);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 0, NULL, 0), 0);
    rc_shm_snapshot *s = malloc(sizeof *s);
    rc_shm_read(r, s);
    cr_assert_eq(rc_shm_find_service(s, "gpu")->blocked, 3);
    cr_assert_eq(rc_shm_find_service(s, "cpu")->blocked, 1);
    cr_assert_null(rc_shm_find_service(s, "tpu"));
    rc_cue_set_hooks(cue, &(rc_hooks){0});
    rc_artifacts_changed(cue, NULL);
    tu_run(loop);
    rc_shm_read(r, s);
    cr_assert_eq(rc_shm_find_service(s, "gpu")->blocked, 0);
    cr_assert_eq(rc_shm_find_service(s, "gpu")->completed, 3);
    uint64_t v;
    cr_assert_eq(rc_shm_counter(s, "completed", &v), 0);
    cr_assert_eq(v, 4);
    cr_assert_eq(rc_shm_counter(s, "bogus", &v), RC_ENOENT);
    free(s);
    rc_shm_detach(r);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

/* ---- names ---- */

Test(shm, names_are_checked_and_a_live_one_is_refused)
{
    rc_loop *loop = tu_loop_new();
    rc_cue *a = tu_cue_new(loop, NULL), *b = tu_cue_new(loop, NULL);
    cr_assert_eq(publish(a, "", NULL), RC_EINVAL);
    cr_assert_eq(publish(a, "has/slash", NULL), RC_EINVAL);
    cr_assert(strstr(last_err, "has/slash"), "%s", last_err);
    char longname[80];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cr_assert_eq(publish(a, longname, NULL), RC_EINVAL);

    char name[64];
    shm_name(name, sizeof name, "dup");
    cr_assert_eq(publish(a, name, NULL), 0);
    rc_shm_writer *wa = last_writer;
    /* Held by a live writer, this process or another: refused, naming it. */
    cr_assert_eq(publish(a, name, NULL), RC_EEXIST);
    cr_assert_eq(publish(b, name, NULL), RC_EEXIST);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    cr_assert(strstr(last_err, pid), "%s", last_err);
    rc_shm_unpublish(wa);
    cr_assert_eq(publish(b, name, NULL), 0, "%s", last_err);
    rc_cue_free(a);
    rc_cue_free(b);
    rc_loop_free(loop);
}

Test(shm, attach_errors_name_the_problem)
{
    rc_shm_reader *r = (rc_shm_reader *)1;
    char err[200];
    char name[64];
    shm_name(name, sizeof name, "absent");
    cr_assert_eq(rc_shm_attach(&r, name, 0.05, err, sizeof err), RC_ENOENT);
    cr_assert_null(r);
    cr_assert(strstr(err, "no runcue segment"), "%s", err);
    cr_assert_eq(rc_shm_attach(&r, "../etc", 0, err, sizeof err), RC_EINVAL);

    /* Something else under our prefix. */
    shm_name(name, sizeof name, "junk");
    char path[128];
    snprintf(path, sizeof path, "/runcue.%s", name);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "hello", 5), 5);
    close(fd);
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "not a runcue segment"), "%s", err);
    shm_unlink(path);
}

/* A child publishes and dies without cleaning up. */
Test(shm, a_dead_writer_is_noticed_and_its_name_reclaimed)
{
    char name[64];
    shm_name(name, sizeof name, "dead");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        rc_loop *loop = tu_loop_new();
        rc_cue *cue = tu_cue_new(loop, NULL);
        rc_task(cue, "t", NULL, tu_handler, &slow3);
        if (publish(cue, name, "doomed")) _exit(1);
        tu_submit(cue, "t", NULL);
        rc_shm_update(last_writer);
        _exit(0); /* no rc_cue_free: the segment stays */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rc_shm_reader *r;
    char err[200];
    cr_assert_eq(rc_shm_attach(&r, name, 1, err, sizeof err), 0, "%s", err);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    cr_assert_eq(s->writer_pid, pid);
    cr_assert(s->state.flags & RC_SHM_LIVE);
    cr_assert_not(s->writer_alive);
    cr_assert_eq(s->state.counters.submitted, 1);
    cr_assert_str_eq(rc_shm_writer_status(r), "gone");
    cr_assert_eq(rc_shm_wait_counter(r, "completed", 1, 1.0, s), RC_ESTATE);
    rc_shm_detach(r);

    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    cr_assert_eq(publish(cue, name, "reclaimed"), 0, "%s", last_err);
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_str_eq(s->title, "reclaimed");
    cr_assert_eq(s->state.counters.submitted, 0);
    rc_shm_detach(r);
    free(s);
    rc_cue_free(cue);
    rc_loop_free(loop);
}

/* ---- other processes ---- */

static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Watch a writer in another process until it is done, checking every
 * snapshot and the order of every event. */
static void watch(rc_shm_reader *r, rc_shm_snapshot *s, event_reader *er, unsigned *snapshots)
{
    *snapshots = 0;
    for (;;) {
        int live = rc_shm_read(r, s);
        check_snapshot(s);
        drain_events(r, er);
        ++*snapshots;
        if (live) break;
        usleep(2000);
    }
    drain_events(r, er);
}

#ifdef RUNCUE_HAVE_SIM
Test(shm, a_forked_runcue_sim, .timeout = 60)
{
    const char *sim = getenv("RUNCUE_SIM");
    cr_assert_not_null(sim, "RUNCUE_SIM is not set");
    char name[64];
    shm_name(name, sizeof name, "sim");
    char *argv[] = {(char *)sim, "--scenario", "fanout", "-n", "300", "--seed", "7", "-r",
                    "40/1",      "--realtime", "--speed", "40", "--shm", name, NULL};
    pid_t pid = spawn(argv);
    rc_shm_reader *r;
    char err[200];
    cr_assert_eq(rc_shm_attach(&r, name, 10, err, sizeof err), 0, "%s", err);

    /* A second writer of the same name is refused, naming the pid. */
    {
        char out[64];
        snprintf(out, sizeof out, "/tmp/runcue-shm-test-%d.err", (int)getpid());
        char *argv2[] = {(char *)sim, "--scenario", "fanout", "-n", "3", "--seed", "7",
                         "--shm", name, NULL};
        pid_t p2 = fork();
        cr_assert_geq(p2, 0);
        if (p2 == 0) {
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 2);
            execv(argv2[0], argv2);
            _exit(127);
        }
        int st2;
        waitpid(p2, &st2, 0);
        cr_assert(WIFEXITED(st2));
        cr_assert_eq(WEXITSTATUS(st2), 2);
        char msg[512] = {0};
        FILE *f = fopen(out, "r");
        cr_assert_not_null(f);
        size_t got = fread(msg, 1, sizeof msg - 1, f);
        fclose(f);
        unlink(out);
        cr_assert_gt(got, 0);
        char want[64];
        snprintf(want, sizeof want, "live writer (pid %d)", (int)pid);
        cr_assert(strstr(msg, want), "%s", msg);
    }

    rc_shm_snapshot *s = malloc(sizeof *s);
    event_reader er = {0};
    unsigned snapshots;
    watch(r, s, &er, &snapshots);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "runcue-sim exit %d", status);
    cr_assert_gt(snapshots, 10, "only %u snapshots", snapshots);
    /* fanout: 1 split + 5 process + 1 aggregate per item. */
    cr_assert(s->state.flags & RC_SHM_FINISHED);
    cr_assert_not(s->state.flags & RC_SHM_LIVE);
    cr_assert_eq(s->state.counters.submitted, 2100);
    cr_assert_eq(s->state.counters.completed, 2100);
    cr_assert_eq(s->state.n_services, 3);
    const rc_shm_service *proc = rc_shm_find_service(s, "processor");
    cr_assert_not_null(proc);
    cr_assert_eq(proc->completed, 1500);
    cr_assert_eq(proc->peak_running, 5);
    cr_assert(strstr(s->title, "--seed 7"), "%s", s->title);
    cr_assert_eq(er.seen + er.lost, s->state.events_head);
    cr_assert_eq(er.by_kind[RC_EV_COMPLETED] + er.lost >= 2100, true);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/runcue.%s", name);
    cr_assert_neq(access(path, F_OK), 0, "the segment outlived its writer");
    free(s);
    rc_shm_detach(r);
}

Test(shm, sigterm_removes_the_segment, .timeout = 30)
{
    const char *sim = getenv("RUNCUE_SIM");
    cr_assert_not_null(sim, "RUNCUE_SIM is not set");
    char name[64];
    shm_name(name, sizeof name, "term");
    char *argv[] = {(char *)sim,  "--scenario", "single_queue", "-n",   "1000", "--seed",
                    "1",          "--realtime", "--speed",      "1",    "--shm",  name,
                    NULL};
    pid_t pid = spawn(argv);
    rc_shm_reader *r;
    char err[200];
    cr_assert_eq(rc_shm_attach(&r, name, 10, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rc_shm_wait_counter(r, "completed", 1, 10, NULL), 0);
    cr_assert(rc_shm_writer_alive(r));
    kill(pid, SIGTERM);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/runcue.%s", name);
    cr_assert_neq(access(path, F_OK), 0, "SIGTERM left the segment behind");
    cr_assert_str_eq(rc_shm_writer_status(r), "gone");
    rc_shm_detach(r);
}

#endif /* RUNCUE_HAVE_SIM */

/* A small program on the real clock: threads, a rate limit, files. */
Test(shm, a_real_clock_program, .timeout = 60)
{
    const char *prog = getenv("RUNCUE_EXAMPLE_PIPELINE");
    cr_assert_not_null(prog, "RUNCUE_EXAMPLE_PIPELINE is not set");
    char name[64];
    shm_name(name, sizeof name, "real");
    char *argv[] = {(char *)prog, "-n", "40", "--shm", name, NULL};
    pid_t pid = spawn(argv);
    rc_shm_reader *r;
    char err[200];
    cr_assert_eq(rc_shm_attach(&r, name, 10, err, sizeof err), 0, "%s", err);
    rc_shm_snapshot *s = malloc(sizeof *s);
    event_reader er = {0};
    unsigned snapshots;
    watch(r, s, &er, &snapshots);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(s->clock, RC_CLOCK_MONOTONIC);
    cr_assert_gt(snapshots, 10);
    cr_assert_eq(s->state.counters.completed, 120);
    const rc_shm_service *api = rc_shm_find_service(s, "api");
    cr_assert_not_null(api);
    cr_assert_eq(api->completed, 40);
    cr_assert_leq(api->peak_running, 3);
    cr_assert_eq(er.lost, 0);
    cr_assert_eq(er.by_kind[RC_EV_COMPLETED], 120);
    free(s);
    rc_shm_detach(r);
}

static int needs_all(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue, (void)ud;
    const char *const *needs;
    size_t n = rc_work_needs(w, &needs);
    for (size_t i = 0; i < n; i++)
        rc_check_wait_on(chk, needs[i]);
    return n == 0;
}

Test(shm, the_report_names_its_roots_and_says_what_it_cut)
{
    char name[64];
    shm_name(name, sizeof name, "roots");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    static tu_task failing = {.fail = "disk full"}, hold;
    cr_assert_eq(rc_task(cue, "make", NULL, tu_handler, &failing), 0);
    cr_assert_eq(rc_task(cue, "use", NULL, tu_handler, &hold), 0);
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = needs_all});
    cr_assert_eq(publish(cue, name, NULL), 0);
    /* 20 failed producers, each waited on by 10 consumers: 200 chains, more
     * than the wait-for text holds. */
    enum { ROOTS = 20, PER = 10 };
    char key[32], label[32];
    for (int i = 0; i < ROOTS; i++) {
        snprintf(key, sizeof key, "out/%d", i);
        snprintf(label, sizeof label, "maker-%d", i);
        const char *produces[] = {key};
        tu_submit_opts(cue, "make",
                       &(rc_submit_opts){.produces = produces, .n_produces = 1, .label = label});
    }
    tu_run(loop);
    for (int i = 0; i < ROOTS * PER; i++) {
        snprintf(key, sizeof key, "out/%d", i % ROOTS);
        const char *needs[] = {key};
        tu_submit_opts(cue, "use", &(rc_submit_opts){.needs = needs, .n_needs = 1});
    }
    tu_run(loop);
    rc_shm_reader *r;
    cr_assert_eq(rc_shm_attach(&r, name, 0, NULL, 0), 0);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_eq(s->report.roots_total, ROOTS);
    cr_assert_eq(s->report.n_roots, RC_SHM_MAX_ROOTS);
    cr_assert_eq(s->report.roots[0].id, 1);
    cr_assert_str_eq(s->report.roots[0].task, "make");
    cr_assert_str_eq(s->report.roots[0].label, "maker-0");
    cr_assert_str_eq(s->report.roots[0].state, "failed");
    cr_assert_str_eq(s->report.roots[0].error, "disk full");
    cr_assert_eq(s->report.roots[0].blocks, PER);
    /* Cut at a line's end, saying how many lines were left out. */
    const char *last = strrchr(s->report.waitfor, '\n');
    cr_assert_not_null(last);
    while (last > s->report.waitfor && last[-1] != '\n')
        last--;
    cr_assert(strncmp(last, "... +", 5) == 0 && strstr(last, " more lines\n"), "%s", last);
    free(s);
    rc_shm_detach(r);
    rc_cue_free(cue);
    rc_loop_free(loop);
}
