/* shm.c -- the live segment: writer and reader.  See runcue_shm.h.
 *
 * Ordering: a writer bumps a sequence number to odd (relaxed), issues a
 * release fence, writes, and stores the next even number with release.  A
 * reader loads the sequence with acquire, copies, issues an acquire fence and
 * loads the sequence again; the copy stands if both were the same even
 * number.  That is the Linux seqlock, done with the GCC atomic builtins so
 * the layout stays plain structs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "loop_internal.h"
#include "runcue_shm.h"

_Static_assert(sizeof(rc_shm_event) == 256, "an event record is four cache lines");

struct rc_shm_writer {
    rc_cue *cue;
    rc_shm_segment *seg;
    char name[RC_SHM_NAME_MAX + 1];
    uint64_t events;     /* events written */
    uint64_t gen;        /* publishes done */
    uint32_t flags;      /* RC_SHM_STALLED | RC_SHM_FINISHED as set by the writer */
    rc_defer update; /* the once-per-iteration publish */
    bool stuck;          /* pending work, nothing running or delayed, at the last publish */
    bool live;           /* publishing; cleared for the last state, at unpublish */
    int slot;            /* index in the signal cleanup table, or -1 */
};

struct rc_shm_reader {
    const rc_shm_segment *seg;
    size_t map_len;
    char name[RC_SHM_NAME_MAX + 1];
};

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define STORE_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* The writer's side of a sequence lock: odd while the guarded data is
 * written, the next even number once it is done. */
static void seq_write_begin(uint64_t *seq)
{
    STORE_RLX(seq, LOAD_RLX(seq) + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void seq_write_end(uint64_t *seq)
{
    STORE_REL(seq, LOAD_RLX(seq) + 1);
}

/* The reader's side: copy n bytes from src, guarded by *seq, until a copy
 * is not torn. */
static void seq_read(void *dst, const void *src, size_t n, const uint64_t *seq)
{
    for (unsigned tries = 0;; tries++) {
        uint64_t s1 = LOAD_ACQ(seq);
        if (!(s1 & 1)) {
            memcpy(dst, src, n);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (LOAD_RLX(seq) == s1) return;
        }
        if (tries > 64) sched_yield();
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
}

void rc_shm_pad_name(char dst[32], const char *name)
{
    memset(dst, 0, 32);
    copy_str(dst, 32, name);
}

static int check_shm_name(const char *name, char *err, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > RC_SHM_NAME_MAX) {
        snprintf(err, errlen, "shared memory name must be 1 to %d characters", RC_SHM_NAME_MAX);
        return RC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            snprintf(err, errlen,
                     "shared memory name '%s': only letters, digits, '-', '_' and '.' are allowed",
                     name);
            return RC_EINVAL;
        }
    }
    return 0;
}

static void shm_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/runcue.%s", name);
}

static bool pid_alive(int32_t pid)
{
    if (pid <= 0) return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* ---- signal cleanup: a fixed table, read by the handler ---- */

#define CLEANUP_SLOTS 8
static char cleanup_paths[CLEANUP_SLOTS][RC_SHM_NAME_MAX + 16];
static volatile sig_atomic_t cleanup_used[CLEANUP_SLOTS];

static int cleanup_add(const char *name)
{
    for (int i = 0; i < CLEANUP_SLOTS; i++) {
        if (!cleanup_used[i]) {
            shm_path(cleanup_paths[i], sizeof cleanup_paths[i], name);
            cleanup_used[i] = 1;
            return i;
        }
    }
    return -1;
}

static void cleanup_signal(int sig)
{
    for (int i = 0; i < CLEANUP_SLOTS; i++)
        if (cleanup_used[i]) shm_unlink(cleanup_paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

int rc_shm_cleanup_on_signals(void)
{
    static bool installed;
    if (installed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cleanup_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
        sigaction(SIGHUP, &sa, NULL))
        return RC_ESYS;
    installed = true;
    return 0;
}

/* ---- writer ---- */

static void write_event(rc_shm_writer *w, uint32_t kind, rc_time t, const rc_work *work,
                        const char *detail, double duration)
{
    uint64_t seq = ++w->events;
    rc_shm_event *e = &w->seg->events[(seq - 1) % RC_SHM_RING];
    STORE_RLX(&e->seq, 0);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    e->time = t;
    e->kind = kind;
    e->duration = duration;
    if (work) {
        e->work_id = work->id;
        e->attempt = work->attempt;
        /* Fixed-size copies of names padded at registration: no calls. */
        memcpy(e->task, work->task->shm_name, sizeof e->task);
        memcpy(e->service, work->task->svc->shm_name, sizeof e->service);
        if (work->label)
            copy_str(e->label, sizeof e->label, work->label);
        else
            e->label[0] = 0;
    } else {
        e->work_id = 0;
        e->attempt = 0;
        e->task[0] = e->service[0] = e->label[0] = 0;
    }
    if (detail && detail[0])
        copy_str(e->detail, sizeof e->detail, detail);
    else
        e->detail[0] = 0;
    STORE_REL(&e->seq, seq);
}

static void fill_state(rc_shm_writer *w, rc_shm_state *st)
{
    rc_cue *cue = w->cue;
    rc_stats s;
    rc_cue_stats(cue, &s);
    st->now = rc_loop_now(cue->loop);
    st->flags = (w->live ? RC_SHM_LIVE : 0) | w->flags | (cue->paused ? RC_SHM_PAUSED : 0);
    st->events_head = w->events;
    rc_shm_counters *c = &st->counters;
    c->submitted = s.submitted;
    c->completed = s.completed;
    c->failed = s.failed;
    c->skipped = s.skipped;
    c->cancelled = s.cancelled;
    c->retries = s.retries;
    c->pending = s.pending;
    c->running = s.running;
    c->waiting = s.waiting;
    c->queued = s.queued;
    c->delayed = s.delayed;
    c->stale_finishes = s.stale_finishes;
    c->last_progress = s.last_progress;
    size_t n = cue->n_services < RC_SHM_MAX_SERVICES ? cue->n_services : RC_SHM_MAX_SERVICES;
    st->n_services = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        rc_service_info si;
        rc_service_get(cue, i, &si);
        rc_shm_service *d = &st->services[i];
        memcpy(d->name, cue->services[i]->shm_name, sizeof d->name);
        d->concurrent = si.concurrent;
        d->rate_count = si.rate_count;
        d->rate_window_s = si.rate_window;
        d->running = si.running;
        d->peak_running = si.peak_running;
        d->queued = si.queued;
        d->starts_in_window = si.starts_in_window;
        d->started = si.started;
        d->completed = si.completed;
        d->failed = si.failed;
        d->blocked = cue->services[i]->waiting;
    }
}

static void publish(rc_shm_writer *w)
{
    rc_shm_segment *seg = w->seg;
    uint64_t gen = ++w->gen;
    rc_shm_state *st = &seg->states[gen % RC_SHM_SLOTS];
    seq_write_begin(&st->seq);
    st->gen = gen;
    fill_state(w, st);
    seq_write_end(&st->seq);
    STORE_REL(&seg->current, gen);

    /* Pending work with nothing running and no timer armed (no rate window
     * to wait out, no delay, no timeout) will not move by itself: say why in
     * the report, once per such spell. */
    rc_cue *cue = w->cue;
    bool stuck = cue->stats.pending > 0 && cue->stats.running == 0 && !rc_defer_pending(&cue->pass) &&
                 !cue->paused && rc_loop_next_timer(cue->loop) == RC_TIME_NEVER;
    if (w->live && stuck && !w->stuck) rc_shm_refresh_report(w);
    w->stuck = stuck;
}

static void deferred_update(rc_loop *loop, void *arg)
{
    (void)loop;
    publish(arg);
}

static void request_update(rc_shm_writer *w)
{
    rc_defer_request(w->cue->loop, &w->update);
}

void rc_shm_on_event(rc_shm_writer *w, const rc_event *ev)
{
    write_event(w, (uint32_t)ev->kind, ev->time, ev->work, ev->detail, ev->duration);
    if (ev->kind == RC_EV_STALL_WARNING || ev->kind == RC_EV_STALLED) rc_shm_refresh_report(w);
    request_update(w);
}

void rc_shm_on_artifacts_changed(rc_shm_writer *w, const char *key)
{
    write_event(w, RC_SHM_EV_ARTIFACTS_CHANGED, rc_loop_now(w->cue->loop), NULL,
                key ? key : "all", 0);
    request_update(w);
}

void rc_shm_mark(rc_shm_writer *w, const char *what, const char *detail)
{
    if (!w) return;
    char buf[96];
    snprintf(buf, sizeof buf, "%s%s%s", what ? what : "", detail && *detail ? ": " : "",
             detail ? detail : "");
    write_event(w, RC_SHM_EV_MARK, rc_loop_now(w->cue->loop), NULL, buf, 0);
    request_update(w);
}

rc_shm_writer *rc_shm_writer_of(rc_cue *cue)
{
    return cue ? cue->shm : NULL;
}

void rc_shm_update(rc_shm_writer *w)
{
    if (w) publish(w);
}

void rc_shm_set_flags(rc_shm_writer *w, uint32_t set, uint32_t clear)
{
    if (!w) return;
    set &= RC_SHM_STALLED | RC_SHM_FINISHED | RC_SHM_PAUSED;
    w->flags = (w->flags & ~clear) | set;
    if (set & RC_SHM_STALLED) rc_shm_refresh_report(w);
    publish(w);
}

static size_t appendf(char *buf, size_t cap, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t appendf(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
    if (len >= cap) return len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    if (n < 0) return len;
    return len + (size_t)n < cap ? len + (size_t)n : cap;
}

/* The wait-for diagnosis as lines: cycles, missing producers, failed roots,
 * then each waiter's edge. */
static void format_waitfor(rc_cue *cue, char *buf, size_t cap)
{
    buf[0] = 0;
    rc_diagnosis d;
    if (rc_diagnose(cue, &d)) return;
    size_t len = 0;
    for (size_t i = 0; i < d.n_cycles; i++) {
        len = appendf(buf, cap, len, "cycle:");
        for (size_t j = 0; j < d.cycle_len[i]; j++)
            len = appendf(buf, cap, len, " #%llu ->", (unsigned long long)d.cycles[i][j]);
        len = appendf(buf, cap, len, " #%llu\n", (unsigned long long)d.cycles[i][0]);
    }
    for (size_t i = 0; i < d.n_missing; i++)
        len = appendf(buf, cap, len, "missing producer: nothing produces '%s'\n", d.missing[i]);
    for (size_t i = 0; i < d.n_failed_roots; i++)
        len = appendf(buf, cap, len, "failed root: #%llu\n",
                      (unsigned long long)d.failed_roots[i]);
    for (size_t i = 0; i < d.n_edges; i++) {
        const rc_wait_edge *e = &d.edges[i];
        if (e->producer)
            len = appendf(buf, cap, len, "#%llu waits for '%s' from #%llu (%s)\n",
                          (unsigned long long)e->waiter, e->key,
                          (unsigned long long)e->producer, rc_state_name(e->producer_state));
        else
            len = appendf(buf, cap, len, "#%llu waits for '%s' (no producer)\n",
                          (unsigned long long)e->waiter, e->key);
    }
    if (len >= cap - 1 && cap > 4) memcpy(buf + cap - 5, "...\n", 5);
    rc_diagnosis_free(cue, &d);
}

int rc_shm_refresh_report(rc_shm_writer *w)
{
    if (!w) return RC_EINVAL;
    rc_cue *cue = w->cue;
    rc_blocked *list = NULL;
    size_t n = 0;
    int rc = rc_debug_blocked(cue, &list, &n);
    if (rc) return rc;
    rc_shm_report *r = &w->seg->report;
    seq_write_begin(&r->seq);
    r->taken = rc_loop_now(cue->loop);
    r->made++;
    r->blocked_total = n;
    r->n_blocked = (uint32_t)(n < RC_SHM_MAX_BLOCKED ? n : RC_SHM_MAX_BLOCKED);
    for (uint32_t i = 0; i < r->n_blocked; i++) {
        rc_shm_blocked *b = &r->blocked[i];
        b->id = list[i].id;
        b->reason = (uint32_t)list[i].reason;
        b->since = list[i].since;
        copy_str(b->task, sizeof b->task, list[i].task);
        copy_str(b->service, sizeof b->service, list[i].service);
        copy_str(b->label, sizeof b->label, list[i].label);
        copy_str(b->detail, sizeof b->detail, list[i].detail);
    }
    format_waitfor(cue, r->waitfor, sizeof r->waitfor);
    seq_write_end(&r->seq);
    rc_blocked_free(cue, list);
    return 0;
}

int rc_shm_publish(rc_cue *cue, const char *name, const char *title)
{
    char err[160];
    int rc = check_shm_name(name, err, sizeof err);
    if (rc) {
        rc_cue_set_error(cue, "%s", err);
        return rc;
    }
    if (cue->shm) {
        rc_cue_set_error(cue, "the cue already publishes as '%s'", cue->shm->name);
        return RC_ESTATE;
    }
    char path[RC_SHM_NAME_MAX + 16];
    shm_path(path, sizeof path, name);
    int fd = -1;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) break;
        if (errno != EEXIST) {
            rc_cue_set_error(cue, "shm_open %s: %s", path, strerror(errno));
            return RC_ESYS;
        }
        /* Someone has the name: live writer, or left over from a dead one? */
        int ofd = shm_open(path, O_RDONLY, 0);
        int32_t pid = 0;
        if (ofd >= 0) {
            struct stat st;
            if (fstat(ofd, &st) == 0 && (size_t)st.st_size >= sizeof(rc_shm_segment)) {
                const rc_shm_segment *old =
                    mmap(NULL, sizeof *old, PROT_READ, MAP_SHARED, ofd, 0);
                if (old != MAP_FAILED) {
                    uint64_t cur = LOAD_ACQ(&old->current);
                    bool live = LOAD_ACQ(&old->magic) == RC_SHM_MAGIC &&
                                (LOAD_RLX(&old->states[cur % RC_SHM_SLOTS].flags) & RC_SHM_LIVE);
                    if (live) pid = old->writer_pid;
                    munmap((void *)old, sizeof *old);
                }
            }
            close(ofd);
        }
        if (pid_alive(pid)) {
            rc_cue_set_error(cue,
                             "shared memory name '%s' is in use by a live writer (pid %d); "
                             "choose another name",
                             name, (int)pid);
            return RC_EEXIST;
        }
        shm_unlink(path); /* stale: reclaim */
    }
    if (fd < 0) {
        rc_cue_set_error(cue, "shm_open %s: %s", path, strerror(errno));
        return RC_ESYS;
    }
    if (ftruncate(fd, (off_t)sizeof(rc_shm_segment))) {
        rc_cue_set_error(cue, "ftruncate %s: %s", path, strerror(errno));
        close(fd);
        shm_unlink(path);
        return RC_ESYS;
    }
    rc_shm_segment *seg =
        mmap(NULL, sizeof *seg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (seg == MAP_FAILED) {
        rc_cue_set_error(cue, "mmap %s: %s", path, strerror(errno));
        shm_unlink(path);
        return RC_ESYS;
    }
    rc_shm_writer *w = rc_calloc(&cue->alloc, 1, sizeof *w);
    if (!w) {
        munmap(seg, sizeof *seg);
        shm_unlink(path);
        rc_cue_set_error(cue, "out of memory");
        return RC_ENOMEM;
    }
    w->cue = cue;
    rc_defer_init(&w->update, deferred_update, w);
    w->seg = seg;
    copy_str(w->name, sizeof w->name, name);
    /* The file is fresh from ftruncate: all zero. */
    seg->layout = RC_SHM_LAYOUT;
    seg->size = (uint32_t)sizeof *seg;
    seg->writer_pid = (int32_t)getpid();
    seg->clock = (uint32_t)rc_loop_clock(cue->loop);
    seg->published = rc_loop_now(cue->loop);
    copy_str(seg->name, sizeof seg->name, name);
    copy_str(seg->title, sizeof seg->title, title);
    cue->shm = w;
    w->live = true;
    publish(w);
    STORE_REL(&seg->magic, RC_SHM_MAGIC);
    w->slot = cleanup_add(name);
    return 0;
}

void rc_shm_unpublish(rc_cue *cue)
{
    rc_shm_writer *w = cue ? cue->shm : NULL;
    if (!w) return;
    rc_defer_cancel(cue->loop, &w->update);
    w->live = false;
    publish(w); /* the last state, without RC_SHM_LIVE */
    if (w->slot >= 0) cleanup_used[w->slot] = 0;
    char path[RC_SHM_NAME_MAX + 16];
    shm_path(path, sizeof path, w->name);
    shm_unlink(path);
    munmap(w->seg, sizeof *w->seg);
    cue->shm = NULL;
    rc_free(&cue->alloc, w);
}

/* ---- reader ---- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

int rc_shm_attach(rc_shm_reader **out, const char *name, double timeout_s, char *err,
                  size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (errlen) err[0] = 0;
    if (!out) return RC_EINVAL;
    *out = NULL;
    int rc = check_shm_name(name, err, errlen);
    if (rc) return rc;
    char path[RC_SHM_NAME_MAX + 16];
    shm_path(path, sizeof path, name);
    double deadline = mono_now() + (timeout_s > 0 ? timeout_s : 0);
    for (;;) {
        int fd = shm_open(path, O_RDONLY, 0);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st)) {
                snprintf(err, errlen, "fstat /dev/shm%s: %s", path, strerror(errno));
                close(fd);
                return RC_ESYS;
            }
            if ((size_t)st.st_size >= sizeof(rc_shm_segment)) {
                void *p = mmap(NULL, sizeof(rc_shm_segment), PROT_READ, MAP_SHARED, fd, 0);
                close(fd);
                if (p == MAP_FAILED) {
                    snprintf(err, errlen, "mmap /dev/shm%s: %s", path, strerror(errno));
                    return RC_ESYS;
                }
                const rc_shm_segment *seg = p;
                uint64_t magic = LOAD_ACQ(&seg->magic);
                if (magic == RC_SHM_MAGIC) {
                    if (seg->layout != RC_SHM_LAYOUT || seg->size != sizeof(rc_shm_segment)) {
                        snprintf(err, errlen,
                                 "'%s' has segment layout %u (%u bytes); this reader knows "
                                 "layout %u (%zu bytes)",
                                 name, seg->layout, seg->size, RC_SHM_LAYOUT,
                                 sizeof(rc_shm_segment));
                        munmap(p, sizeof(rc_shm_segment));
                        return RC_EINVAL;
                    }
                    rc_shm_reader *r = calloc(1, sizeof *r);
                    if (!r) {
                        munmap(p, sizeof(rc_shm_segment));
                        snprintf(err, errlen, "out of memory");
                        return RC_ENOMEM;
                    }
                    r->seg = seg;
                    r->map_len = sizeof(rc_shm_segment);
                    copy_str(r->name, sizeof r->name, name);
                    *out = r;
                    return 0;
                }
                munmap(p, sizeof(rc_shm_segment));
                if (magic != 0) {
                    snprintf(err, errlen, "/dev/shm%s is not a runcue segment", path);
                    return RC_EINVAL;
                }
                /* magic 0: the writer is still setting it up. */
            } else if (st.st_size != 0) {
                close(fd);
                snprintf(err, errlen, "/dev/shm%s is not a runcue segment (%lld bytes)", path,
                         (long long)st.st_size);
                return RC_EINVAL;
            } else {
                close(fd);
            }
        } else if (errno != ENOENT) {
            snprintf(err, errlen, "shm_open /dev/shm%s: %s", path, strerror(errno));
            return RC_ESYS;
        }
        if (mono_now() >= deadline) {
            snprintf(err, errlen, "no runcue segment named '%s' (looked for /dev/shm%s)", name,
                     path);
            return RC_ENOENT;
        }
        sleep_s(0.005);
    }
}

void rc_shm_detach(rc_shm_reader *r)
{
    if (!r) return;
    munmap((void *)r->seg, r->map_len);
    free(r);
}

static void read_state(const rc_shm_segment *seg, rc_shm_state *out)
{
    const rc_shm_state *st = &seg->states[LOAD_ACQ(&seg->current) % RC_SHM_SLOTS];
    seq_read(out, st, sizeof *out, &st->seq);
}

static bool reader_live(rc_shm_reader *r, const rc_shm_state *st)
{
    return (st->flags & RC_SHM_LIVE) && pid_alive(r->seg->writer_pid);
}

int rc_shm_read(rc_shm_reader *r, rc_shm_snapshot *out)
{
    const rc_shm_segment *seg = r->seg;
    out->writer_pid = seg->writer_pid;
    out->clock = seg->clock;
    out->published = seg->published;
    memcpy(out->name, seg->name, sizeof out->name);
    memcpy(out->title, seg->title, sizeof out->title);
    out->name[sizeof out->name - 1] = 0;
    out->title[sizeof out->title - 1] = 0;
    read_state(seg, &out->state);
    seq_read(&out->report, &seg->report, sizeof out->report, &seg->report.seq);
    out->writer_alive = reader_live(r, &out->state);
    return out->writer_alive ? 0 : RC_ESTATE;
}

bool rc_shm_writer_alive(rc_shm_reader *r)
{
    rc_shm_state st;
    read_state(r->seg, &st);
    return reader_live(r, &st);
}

const char *rc_shm_writer_status(rc_shm_reader *r)
{
    rc_shm_state st;
    read_state(r->seg, &st);
    if (!(st.flags & RC_SHM_LIVE)) return "finished";
    if (!pid_alive(r->seg->writer_pid)) return "gone";
    return "";
}

size_t rc_shm_events(rc_shm_reader *r, uint64_t *cursor, rc_shm_event *out, size_t max,
                     uint64_t *lost)
{
    const rc_shm_segment *seg = r->seg;
    uint64_t next = *cursor + 1;
    size_t n = 0;
    while (n < max) {
        const rc_shm_event *e = &seg->events[(next - 1) % RC_SHM_RING];
        uint64_t s1 = LOAD_ACQ(&e->seq);
        if (s1 == next) {
            memcpy(&out[n], e, sizeof *out);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (LOAD_RLX(&e->seq) == next) {
                n++;
                next++;
                continue;
            }
            s1 = LOAD_ACQ(&e->seq);
        }
        if (s1 > next) {
            /* Overwritten: the ring holds at most RC_SHM_RING events up to
             * s1, so the oldest that may still be there is s1-RC_SHM_RING+1. */
            uint64_t oldest = s1 - RC_SHM_RING + 1;
            if (lost) *lost += oldest - next;
            next = oldest;
            continue;
        }
        break; /* not written yet, or being written */
    }
    *cursor = next - 1;
    return n;
}

int rc_shm_wait(rc_shm_reader *r, rc_shm_pred pred, void *ud, double timeout_s, double poll_s,
                rc_shm_snapshot *last)
{
    rc_shm_snapshot *snap = last ? last : malloc(sizeof *snap);
    if (!snap) return RC_ENOMEM;
    if (poll_s <= 0) poll_s = 0.005;
    double deadline = mono_now() + timeout_s;
    int rc;
    for (;;) {
        int live = rc_shm_read(r, snap);
        if (pred(snap, ud)) {
            rc = 0;
            break;
        }
        if (live != 0) {
            rc = RC_ESTATE;
            break;
        }
        if (mono_now() >= deadline) {
            rc = RC_ENOENT;
            break;
        }
        sleep_s(poll_s);
    }
    if (!last) free(snap);
    return rc;
}

static const struct {
    const char *name;
    size_t off;
} counter_names[] = {
#define C(f) {#f, offsetof(rc_shm_counters, f)}
    C(submitted), C(completed), C(failed),  C(skipped), C(cancelled), C(retries),
    C(pending),   C(running),   C(waiting), C(queued),  C(delayed),   C(stale_finishes),
#undef C
};

/* The offset of a counter in rc_shm_counters, or SIZE_MAX. */
static size_t counter_offset(const char *name)
{
    for (size_t i = 0; name && i < sizeof counter_names / sizeof counter_names[0]; i++)
        if (strcmp(name, counter_names[i].name) == 0) return counter_names[i].off;
    return SIZE_MAX;
}

int rc_shm_counter(const rc_shm_snapshot *snap, const char *name, uint64_t *out)
{
    size_t off = counter_offset(name);
    if (off == SIZE_MAX) return RC_ENOENT;
    memcpy(out, (const char *)&snap->state.counters + off, sizeof *out);
    return 0;
}

struct counter_at_least {
    const char *name;
    uint64_t value;
};

static bool counter_pred(const rc_shm_snapshot *snap, void *ud)
{
    const struct counter_at_least *c = ud;
    uint64_t v = 0;
    return rc_shm_counter(snap, c->name, &v) == 0 && v >= c->value;
}

int rc_shm_wait_counter(rc_shm_reader *r, const char *name, uint64_t at_least, double timeout_s,
                        rc_shm_snapshot *last)
{
    if (counter_offset(name) == SIZE_MAX) return RC_EINVAL;
    struct counter_at_least c = {name, at_least};
    return rc_shm_wait(r, counter_pred, &c, timeout_s, 0, last);
}

const rc_shm_service *rc_shm_find_service(const rc_shm_snapshot *snap, const char *name)
{
    for (uint32_t i = 0; i < snap->state.n_services && i < RC_SHM_MAX_SERVICES; i++)
        if (name && strcmp(snap->state.services[i].name, name) == 0)
            return &snap->state.services[i];
    return NULL;
}

const char *rc_shm_event_name(uint32_t kind)
{
    if (kind < RC_EV__COUNT) return rc_event_name((rc_event_kind)kind);
    if (kind == RC_SHM_EV_ARTIFACTS_CHANGED) return "artifacts_changed";
    if (kind == RC_SHM_EV_MARK) return "mark";
    return "unknown";
}
