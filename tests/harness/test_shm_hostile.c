/* Segments made by hand, as any local user could: counts past the tables,
 * strings without an end, a ring with numbers that cannot be, a segment
 * cut short after attach, a sequence lock left odd by a writer that died
 * mid-update, and a name owned by someone else.  The readers and the views
 * built on them must stay in bounds and return in bounded time. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pty.h>
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
#include "segment.h"
#include "testutil.h"

static double now_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void shm_name(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "hostile-%d-%s", (int)getpid(), what);
}

/* A well-formed live segment named NAME, written by hand with `pid` as its
 * writer; returns the mapping to spoil. */
static rc_shm_segment *craft(const char *name, int32_t pid)
{
    char path[128];
    rc_seg_path(path, sizeof path, name);
    shm_unlink(path);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0, "shm_open %s", path);
    cr_assert_eq(ftruncate(fd, sizeof(rc_shm_segment)), 0);
    rc_shm_segment *seg =
        mmap(NULL, sizeof *seg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(seg, MAP_FAILED);
    seg->layout = RC_SHM_LAYOUT;
    seg->size = sizeof *seg;
    seg->writer_pid = pid;
    seg->clock = RC_CLOCK_VIRTUAL;
    rc_seg_copy_str(seg->name, sizeof seg->name, name);
    seg->current = 1;
    seg->states[1].gen = 1;
    seg->states[1].flags = RC_SHM_LIVE;
    seg->magic = RC_SHM_MAGIC;
    return seg;
}

static void uncraft(const char *name, rc_shm_segment *seg)
{
    char path[128];
    rc_seg_path(path, sizeof path, name);
    munmap(seg, sizeof *seg);
    shm_unlink(path);
}

static rc_shm_reader *attach(const char *name)
{
    rc_shm_reader *r = NULL;
    char err[256];
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), 0, "%s", err);
    return r;
}

/* A fixed-size field holds a string: terminated, well-formed UTF-8, no
 * control characters (C0, DEL, C1). */
static void assert_clean(const char *s, size_t cap, bool newlines)
{
    const char *end = memchr(s, 0, cap);
    cr_assert(end, "a string field is not terminated");
    for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)end;) {
        unsigned c = *p, cp, n;
        if (c < 0x80) {
            cr_assert((c >= 0x20 && c != 0x7f) || (newlines && c == '\n'),
                      "control character 0x%02x in '%s'", c, s);
            p++;
            continue;
        }
        n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        cp = c & (0x7f >> n);
        for (unsigned i = 1; i < n; i++) {
            cr_assert((p[i] & 0xc0) == 0x80, "malformed UTF-8 in '%s'", s);
            cp = cp << 6 | (p[i] & 0x3f);
        }
        cr_assert(c >= 0xc2 && c <= 0xf4 && cp >= (n == 2 ? 0x80u : n == 3 ? 0x800u : 0x10000u) &&
                      cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff),
                  "malformed UTF-8 in '%s'", s);
        cr_assert(cp > 0x9f, "C1 control U+%04X in '%s'", cp, s);
        p += n;
    }
}
#define ASSERT_CLEAN(field) assert_clean((field), sizeof(field), false)

/* Counts past the tables and strings with no end, as a hostile user writes
 * them: every field full, and the stall report shown. */
static void spoil(rc_shm_segment *seg)
{
    memset(seg->name, 'N', sizeof seg->name);
    memset(seg->title, '\033', sizeof seg->title);
    seg->published = INT64_MIN;
    rc_shm_state *st = &seg->states[1];
    st->n_services = 1000;
    st->now = INT64_MAX;
    st->flags = RC_SHM_LIVE | RC_SHM_STALLED;
    st->counters.pending = 5;
    for (int i = 0; i < RC_SHM_MAX_SERVICES; i++) {
        memset(st->services[i].name, 'S', sizeof st->services[i].name);
        st->services[i].concurrent = 0;
        st->services[i].running = UINT64_MAX;
        st->services[i].completed = UINT64_MAX;
    }
    rc_shm_report *rep = &seg->report;
    rep->made = 1;
    rep->n_blocked = 100000;
    rep->blocked_total = UINT64_MAX;
    for (int i = 0; i < RC_SHM_MAX_BLOCKED; i++) {
        memset(rep->blocked[i].task, 'T', sizeof rep->blocked[i].task);
        memset(rep->blocked[i].detail, '\a', sizeof rep->blocked[i].detail);
        memset(rep->blocked[i].label, 'L', sizeof rep->blocked[i].label);
        memset(rep->blocked[i].service, 'V', sizeof rep->blocked[i].service);
    }
    memset(rep->waitfor, 'W', sizeof rep->waitfor);
    for (int i = 0; i < RC_SHM_RING; i++) {
        rc_shm_event *e = &seg->events[i];
        e->seq = (uint64_t)i + 1;
        e->kind = 0xffffffffu;
        e->time = i % 2 ? INT64_MIN : INT64_MAX;
        memset(e->task, 'k', sizeof e->task);
        memset(e->service, 's', sizeof e->service);
        memset(e->label, '\r', sizeof e->label);
        memset(e->detail, 'd', sizeof e->detail);
    }
}

/* A spoiled segment named after `what`, its name in name. */
static rc_shm_segment *spoiled(char *name, size_t cap, const char *what)
{
    shm_name(name, cap, what);
    rc_shm_segment *seg = craft(name, getpid());
    spoil(seg);
    return seg;
}

/* Finding 1: counts and strings are the segment's, the bounds are ours. */
Test(shm_hostile, counts_and_strings_are_bounded)
{
    char name[64];
    rc_shm_segment *seg = spoiled(name, sizeof name, "bounds");
    rc_shm_reader *r = attach(name);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), 0);
    ASSERT_CLEAN(s->name);
    ASSERT_CLEAN(s->title);
    cr_assert_eq(s->state.n_services, RC_SHM_MAX_SERVICES);
    for (int i = 0; i < RC_SHM_MAX_SERVICES; i++) ASSERT_CLEAN(s->state.services[i].name);
    cr_assert_eq(s->report.n_blocked, RC_SHM_MAX_BLOCKED);
    for (int i = 0; i < RC_SHM_MAX_BLOCKED; i++) {
        ASSERT_CLEAN(s->report.blocked[i].task);
        ASSERT_CLEAN(s->report.blocked[i].service);
        ASSERT_CLEAN(s->report.blocked[i].label);
        ASSERT_CLEAN(s->report.blocked[i].detail);
    }
    assert_clean(s->report.waitfor, sizeof s->report.waitfor, true);
    cr_assert_null(rc_shm_find_service(s, "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"));

    static rc_shm_event ev[RC_SHM_RING];
    uint64_t cursor = 0, lost = 0;
    cr_assert_eq(rc_shm_events(r, &cursor, ev, RC_SHM_RING, &lost), RC_SHM_RING);
    for (int i = 0; i < RC_SHM_RING; i++) {
        ASSERT_CLEAN(ev[i].task);
        ASSERT_CLEAN(ev[i].label);
        ASSERT_CLEAN(ev[i].detail);
        cr_assert_str_eq(rc_shm_event_name(ev[i].kind), "unknown");
    }
    free(s);
    rc_shm_detach(r);
    uncraft(name, seg);
}

/* C1 controls, as UTF-8 (C2 9B is CSI) or as lone bytes (0x9b is CSI to a
 * Latin-1 terminal), and malformed UTF-8 become '?' byte for byte; text in
 * any script stays as written. */
Test(shm_hostile, c1_controls_and_malformed_utf8_are_replaced)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80"},
        {"a\xc2\x9b" "31mb", "a??31mb"},           /* CSI, encoded */
        {"a\xc2\x85" "b\xc2\xa0" "c", "a??b\xc2\xa0" "c"}, /* NEL goes, NBSP stays */
        {"a\x9b" "31m", "a?31m"},                   /* CSI, one byte */
        {"\xc0\xaf\xe0\x80\xaf", "?????"},         /* overlong */
        {"\xed\xa0\x80", "???"},                    /* a surrogate */
        {"\xf4\x90\x80\x80\xff", "?????"},         /* past U+10FFFF, FF */
        {"cut \xe2\x86", "cut ??"},                 /* a sequence cut short */
        {"\x1b[2J\x7f", "?[2J?"},
    };
    char name[64];
    shm_name(name, sizeof name, "c1");
    rc_shm_segment *seg = craft(name, getpid());
    rc_shm_state *st = &seg->states[1];
    st->n_services = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        rc_seg_copy_str(st->services[i].name, sizeof st->services[i].name, cases[i].in);
    rc_shm_reader *r = attach(name);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_str_eq(s->state.services[i].name, cases[i].out, "case %zu", i);
        ASSERT_CLEAN(s->state.services[i].name);
    }
    free(s);
    rc_shm_detach(r);
    uncraft(name, seg);
}

/* Run a program with its output in a pipe; the exit status and up to cap
 * bytes of what it wrote, within `timeout` seconds or it is killed. */
static int run_capture(char *const argv[], char *out, size_t cap, double timeout)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    size_t len = 0;
    double deadline = now_s() + timeout;
    int status = 0;
    for (;;) {
        ssize_t k = read(fds[0], out + len, cap - 1 - len);
        if (k > 0) len += (size_t)k;
        if (waitpid(pid, &status, WNOHANG) == pid) break;
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s did not finish within %.0f s", argv[0], timeout);
        }
        usleep(5000);
    }
    ssize_t k;
    while (len < cap - 1 && (k = read(fds[0], out + len, cap - 1 - len)) > 0) len += (size_t)k;
    out[len] = 0;
    close(fds[0]);
    return status;
}

/* Finding 1: runcue-top --once on the same segment prints within bounds. */
Test(shm_hostile, runcue_top_once_prints_a_crafted_segment, .timeout = 30)
{
    const char *top = getenv("RUNCUE_TOP");
    if (!top) cr_skip_test("runcue-top is not built");
    char name[64];
    rc_shm_segment *seg = spoiled(name, sizeof name, "top");
    static char out[1 << 16];
    int status = run_capture((char *[]){(char *)top, "--once", name, NULL}, out, sizeof out, 20);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, out);
    int services = 0;
    for (const char *p = out; (p = strstr(p, "\nservice ")); p++) services++;
    cr_assert_eq(services, RC_SHM_MAX_SERVICES, "%s", out);
    cr_assert_null(strchr(out, '\033'), "an escape from the segment reached the terminal");
    cr_assert(strstr(out, "blocked ("), "%s", out);
    uncraft(name, seg);
}

/* Finding 1: a segment cut short after attach is noticed, without SIGBUS. */
Test(shm_hostile, a_segment_truncated_after_attach, .timeout = 30)
{
    char name[64];
    shm_name(name, sizeof name, "trunc");
    rc_shm_segment *seg = craft(name, getpid());
    seg->states[1].counters.submitted = 7;
    rc_shm_reader *r = attach(name);
    rc_shm_snapshot *s = malloc(sizeof *s);
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_eq(s->state.counters.submitted, 7);

    char path[128];
    rc_seg_path(path, sizeof path, name);
    int fd = shm_open(path, O_RDWR, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 4096), 0);
    close(fd);
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    cr_assert_eq(s->state.counters.submitted, 7, "the last good state is kept");
    cr_assert_str_eq(rc_shm_writer_status(r), "truncated");
    cr_assert_not(rc_shm_writer_alive(r));
    static rc_shm_event ev[16];
    uint64_t cursor = 0;
    cr_assert_eq(rc_shm_events(r, &cursor, ev, 16, NULL), 0);
    cr_assert_eq(rc_shm_wait_counter(r, "completed", 1, 5.0, s), RC_ESTATE);
    /* And one cut short before attach is refused. */
    rc_shm_detach(r);
    char err[256];
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "4096 bytes"), "%s", err);
    free(s);
    uncraft(name, seg);
}

/* Finding 1: a ring whose numbers cannot be.  Every call returns, the
 * cursor never goes back, and the count stays within what was asked. */
Test(shm_hostile, a_crafted_event_ring, .timeout = 20)
{
    char name[64];
    shm_name(name, sizeof name, "ring");
    rc_shm_segment *seg = craft(name, getpid());
    rc_shm_reader *r = attach(name);
    static rc_shm_event ev[64];
    /* What each slot holds, and where the reader starts. */
    static const struct {
        const char *what;
        uint64_t start;
    } cases[] = {
        {"one ahead (the old reader went back a lap)", 0},
        {"a lap and one ahead", 0},
        {"at the end of the numbers", UINT64_MAX - 3},
        {"all ones", 0},
        {"lapped once", 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int i = 0; i < RC_SHM_RING; i++)
            seg->events[i].seq = c == 0   ? (uint64_t)i + 2
                                 : c == 1 ? (uint64_t)i + 2 + RC_SHM_RING
                                 : c == 2 ? UINT64_MAX - (uint64_t)(RC_SHM_RING - 1 - i)
                                 : c == 3 ? UINT64_MAX
                                          : (uint64_t)i + 1 + RC_SHM_RING;
        uint64_t cursor = cases[c].start, lost = 0;
        for (int call = 0; call < 10; call++) {
            uint64_t before = cursor;
            size_t n = rc_shm_events(r, &cursor, ev, 64, &lost);
            cr_assert_leq(n, 64);
            cr_assert_geq(cursor, before, "%s: the cursor went back from %llu to %llu",
                          cases[c].what, (unsigned long long)before,
                          (unsigned long long)cursor);
            for (size_t i = 0; i < n; i++)
                cr_assert(ev[i].seq > (i ? ev[i - 1].seq : before) && ev[i].seq <= cursor,
                          "%s", cases[c].what);
        }
        if (c == 4) {
            cr_assert_eq(lost, RC_SHM_RING, "lapped once: %llu lost", (unsigned long long)lost);
            cr_assert_eq(cursor, RC_SHM_RING + 10 * 64);
        }
    }
    rc_shm_detach(r);
    uncraft(name, seg);
}

/* Finding 2: a writer killed while it wrote the report leaves its sequence
 * odd.  Readers say so at once (its process is gone) instead of spinning. */
Test(shm_hostile, a_writer_killed_mid_update, .timeout = 30)
{
    char name[64];
    shm_name(name, sizeof name, "killed");
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        rc_loop *loop = tu_loop_new();
        rc_cue *cue = tu_cue_new(loop, NULL);
        rc_shm_writer *w;
        if (rc_shm_publish(&w, cue, name, "doomed", NULL, 0)) _exit(1);
        /* Open our own segment and stop in the middle of a report update,
         * as a writer killed there would. */
        char path[128];
        rc_seg_path(path, sizeof path, name);
        int fd = shm_open(path, O_RDWR, 0);
        rc_shm_segment *seg = mmap(NULL, sizeof *seg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (seg == MAP_FAILED) _exit(1);
        rc_seg_write_begin(&seg->report.seq);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        raise(SIGKILL);
    }
    close(ready[1]);
    char x;
    cr_assert_eq(read(ready[0], &x, 1), 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status));
    rc_shm_reader *r = attach(name);
    rc_shm_snapshot *s = malloc(sizeof *s);
    double t0 = now_s();
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    cr_assert_lt(now_s() - t0, 0.5, "a dead writer's odd lock is given up at once");
    cr_assert_str_eq(rc_shm_writer_status(r), "died mid-update");
    cr_assert_str_eq(s->title, "doomed");
    cr_assert_eq(rc_shm_wait_counter(r, "completed", 1, 5.0, s), RC_ESTATE);
    cr_assert_lt(now_s() - t0, 1.0);
    rc_shm_detach(r);
    char path[128];
    rc_seg_path(path, sizeof path, name);
    shm_unlink(path);
    free(s);
    close(ready[0]);
}

/* Finding 2: an odd lock while the writer's process is there (stopped, or a
 * crafted segment naming a live pid) is given up after a bounded time, and
 * at once on the reads after. */
Test(shm_hostile, an_odd_lock_of_a_live_pid_is_given_up, .timeout = 30)
{
    char name[64];
    shm_name(name, sizeof name, "stuck");
    rc_shm_segment *seg = craft(name, getpid());
    seg->report.seq = 1;
    rc_shm_reader *r = NULL;
    char err[256];
    rc_shm_attach_opts o = {.stuck_after_s = 0.3};
    cr_assert_eq(rc_shm_attach_with(&r, name, &o, err, sizeof err), 0, "%s", err);
    rc_shm_snapshot *s = malloc(sizeof *s);
    double t0 = now_s();
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    double took = now_s() - t0;
    cr_assert(took >= 0.25 && took < 2.0, "gave up after %.3f s", took);
    cr_assert_str_eq(rc_shm_writer_status(r), "died mid-update");
    t0 = now_s();
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    cr_assert_lt(now_s() - t0, 0.1, "once given up, a read does not wait again");
    /* The writer comes back to it: the reader recovers. */
    seg->report.seq = 2;
    cr_assert_eq(rc_shm_read(r, s), 0);
    cr_assert_str_eq(rc_shm_writer_status(r), "");
    /* The default bound is RC_SHM_STUCK_AFTER_S. */
    seg->states[1].seq = 3;
    rc_shm_detach(r);
    r = attach(name);
    t0 = now_s();
    cr_assert_eq(rc_shm_read(r, s), RC_ESTATE);
    took = now_s() - t0;
    cr_assert(took >= RC_SHM_STUCK_AFTER_S * 0.9 && took < RC_SHM_STUCK_AFTER_S + 2.0,
              "gave up after %.3f s", took);
    rc_shm_detach(r);
    free(s);
    uncraft(name, seg);
}

/* Finding 1: segments are 0600, and a reader refuses another user's unless
 * told to read it. */
Test(shm_hostile, ownership)
{
    char name[64];
    shm_name(name, sizeof name, "owner");
    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    rc_shm_writer *w;
    char err[256];
    cr_assert_eq(rc_shm_publish(&w, cue, name, NULL, err, sizeof err), 0, "%s", err);
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", rc_shm_writer_path(w));
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    rc_cue_free(cue);
    rc_loop_free(loop);

    if (geteuid() != 0) cr_skip_test("giving a segment to another user needs root");
    rc_shm_segment *seg = craft(name, getpid());
    cr_assert_eq(chown(path, 65534, 65534), 0);
    rc_shm_reader *r = NULL;
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), RC_EINVAL);
    cr_assert(strstr(err, "uid 65534") && strstr(err, "any_owner"), "%s", err);
    cr_assert_eq(rc_shm_attach_with(&r, name, &(rc_shm_attach_opts){.any_owner = true}, err,
                                    sizeof err),
                 0, "%s", err);
    rc_shm_detach(r);
    /* A writer does not take over a name another user holds. */
    loop = tu_loop_new();
    cue = tu_cue_new(loop, NULL);
    cr_assert_eq(rc_shm_publish(&w, cue, name, NULL, err, sizeof err), RC_EEXIST);
    cr_assert(strstr(err, "another user"), "%s", err);
    rc_cue_free(cue);
    rc_loop_free(loop);
    uncraft(name, seg);
}

/* A FIFO where a segment should be, as any local user can make one in
 * /dev/shm: the reader and the writer refuse it at once and say why, where
 * an open that waits for the FIFO's writer would never return. */
Test(shm_hostile, a_fifo_under_the_name_is_refused_at_once, .timeout = 30)
{
    char name[64], path[128], err[256];
    shm_name(name, sizeof name, "fifo");
    rc_seg_path(path, sizeof path, name);
    char fs_path[160];
    snprintf(fs_path, sizeof fs_path, "/dev/shm%s", path);
    unlink(fs_path);
    cr_assert_eq(mkfifo(fs_path, 0600), 0, "mkfifo %s", fs_path);

    double t0 = now_s();
    rc_shm_reader *r = NULL;
    cr_assert_eq(rc_shm_attach(&r, name, 0, err, sizeof err), RC_EINVAL, "%s", err);
    cr_assert_null(r);
    cr_assert(strstr(err, "not a regular file"), "%s", err);

    rc_loop *loop = tu_loop_new();
    rc_cue *cue = tu_cue_new(loop, NULL);
    rc_shm_writer *w = NULL;
    cr_assert_eq(rc_shm_publish(&w, cue, name, NULL, err, sizeof err), RC_EEXIST, "%s", err);
    cr_assert(strstr(err, "not a regular file") && strstr(err, name), "%s", err);
    rc_cue_free(cue);
    rc_loop_free(loop);
    cr_assert_lt(now_s() - t0, 5.0);
    /* Refused, not removed: it was not the writer's to take. */
    struct stat st;
    cr_assert_eq(stat(fs_path, &st), 0);
    cr_assert(S_ISFIFO(st.st_mode));

    const char *top = getenv("RUNCUE_TOP");
    if (top) {
        static char out[4096];
        int status = run_capture((char *[]){(char *)top, "--once", "--wait", "0", name, NULL},
                                 out, sizeof out, 10);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, out);
        cr_assert(strstr(out, "not a regular file"), "%s", out);
    }
    cr_assert_eq(unlink(fs_path), 0);
}

/* Wait up to `timeout` for pid to exit; its status, or -1 (then killed). */
static int wait_exit(pid_t pid, double timeout)
{
    double deadline = now_s() + timeout;
    int status;
    while (now_s() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Read what the program wrote to its terminal until `want` shows up. */
static bool pty_wait_for(int master, const char *want, double timeout)
{
    static char screen[1 << 16];
    size_t len = 0;
    double deadline = now_s() + timeout;
    while (now_s() < deadline) {
        ssize_t k = read(master, screen + len, sizeof screen - 1 - len);
        if (k > 0) {
            len += (size_t)k;
            screen[len] = 0;
            if (strstr(screen, want)) return true;
            if (len > sizeof screen / 2) {
                memmove(screen, screen + len / 2, len - len / 2);
                len -= len / 2;
            }
        } else {
            usleep(10000);
        }
    }
    return false;
}

/* Finding 2: the dashboard on a writer that died mid-update says so, and
 * leaves on q and on SIGTERM. */
Test(shm_hostile, runcue_top_leaves_a_stuck_segment, .timeout = 60)
{
    const char *top = getenv("RUNCUE_TOP");
    if (!top || !getenv("RUNCUE_HAVE_TUI")) cr_skip_test("runcue-top's dashboard is not built");
    char name[64];
    shm_name(name, sizeof name, "toptui");
    rc_shm_segment *seg = craft(name, getpid());
    seg->report.seq = 1; /* odd, and the writer's pid (ours) is alive */
    for (int how = 0; how < 2; how++) {
        int master;
        struct winsize ws = {.ws_row = 30, .ws_col = 100};
        pid_t pid = forkpty(&master, NULL, NULL, &ws);
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            setenv("TERM", "xterm", 1);
            execl(top, top, name, (char *)NULL);
            _exit(127);
        }
        fcntl(master, F_SETFL, O_NONBLOCK);
        cr_assert(pty_wait_for(master, "died mid-update", 15), "no 'died mid-update' shown");
        double t0 = now_s();
        if (how == 0)
            cr_assert_eq(write(master, "q", 1), 1);
        else
            kill(pid, SIGTERM);
        int status = wait_exit(pid, 10);
        cr_assert_neq(status, -1, "runcue-top did not leave on %s", how ? "SIGTERM" : "q");
        cr_assert_lt(now_s() - t0, 5.0);
        if (how == 0) cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (how == 1) cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        close(master);
    }
    uncraft(name, seg);
}

/* Whether process pid has /dev/shm/runcue.NAME open, within `timeout`. */
static bool holds_open(pid_t pid, const char *name, double timeout)
{
    char want[128], dir[64], link[256], path[320];
    snprintf(want, sizeof want, "/dev/shm/runcue.%s", name);
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    double deadline = now_s() + timeout;
    while (now_s() < deadline) {
        for (int fd = 0; fd < 64; fd++) {
            snprintf(path, sizeof path, "%s/%d", dir, fd);
            ssize_t k = readlink(path, link, sizeof link - 1);
            if (k <= 0) continue;
            link[k] = 0;
            if (!strcmp(link, want)) return true;
        }
        usleep(10000);
    }
    return false;
}

/* Finding 2: the SDL view too leaves on SIGTERM. */
Test(shm_hostile, runcue_viz_leaves_a_stuck_segment, .timeout = 60)
{
    const char *viz = getenv("RUNCUE_VIZ");
    if (!viz) cr_skip_test("runcue-viz is not built");
    char name[64];
    rc_shm_segment *seg = spoiled(name, sizeof name, "viz");
    seg->report.seq = 1;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        setenv("SDL_VIDEODRIVER", "offscreen", 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(viz, viz, "--size", "640x400", name, (char *)NULL);
        _exit(127);
    }
    /* Once it holds the segment open it is in its loop, or in the read
     * that gives up on the stuck report. */
    cr_assert(holds_open(pid, name, 15), "runcue-viz never attached");
    cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "runcue-viz left early");
    double t0 = now_s();
    kill(pid, SIGTERM);
    int status = wait_exit(pid, 10);
    cr_assert_neq(status, -1, "runcue-viz did not leave on SIGTERM");
    cr_assert_lt(now_s() - t0, 5.0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    uncraft(name, seg);
}

/* Event times at the ends of the range, as a forged segment may hold them:
 * runcue-viz fits its time axis and grid to them, draws its frame and
 * leaves, where a tick counter in floating point would stop moving near
 * INT64_MAX and never end the grid. */
Test(shm_hostile, runcue_viz_draws_times_at_the_ends_of_the_range, .timeout = 120)
{
    const char *viz = getenv("RUNCUE_VIZ");
    if (!viz) cr_skip_test("runcue-viz is not built");
    static const int64_t times[] = {INT64_MAX - 2000, INT64_MAX, INT64_MAX - 1000000000,
                                    INT64_MIN, -1, 1};
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    char png[64];
    snprintf(png, sizeof png, "/tmp/runcue-hostile-%d.png", (int)getpid());
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char name[64];
        shm_name(name, sizeof name, "vizgrid");
        rc_shm_segment *seg = craft(name, 0); /* the writer is gone: one frame */
        rc_shm_state *st = &seg->states[1];
        st->now = INT64_MAX;
        st->n_services = 1;
        rc_seg_copy_str(st->services[0].name, sizeof st->services[0].name, "api");
        st->services[0].concurrent = 1;
        rc_shm_event *e = &seg->events[0];
        e->kind = RC_EV_STARTED;
        e->time = times[i];
        e->work_id = 1;
        e->progress = -1;
        rc_seg_copy_str(e->service, sizeof e->service, "api");
        rc_seg_copy_str(e->task, sizeof e->task, "t");
        e->seq = 1;
        unlink(png);
        static char out[4096];
        int status = run_capture((char *[]){(char *)viz, "--wait", "1", "--size", "640x400",
                                            "--screenshot", png, name, NULL},
                                 out, sizeof out, 20);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "time %lld: status %d: %s",
                  (long long)times[i], status, out);
        cr_assert_eq(access(png, F_OK), 0, "time %lld: no screenshot", (long long)times[i]);
        uncraft(name, seg);
    }
    unlink(png);
}
