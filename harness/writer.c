/* writer.c -- publishing a cue into a segment.  See runcue_shm.h.
 *
 * The writer is an observer of the cue, built on the public API only: each
 * event goes into the ring as it happens; the state is published when the
 * cue settles at the end of an iteration, into one of RC_SHM_SLOTS slots,
 * each under its own sequence lock.  It never blocks and never waits for a
 * reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment.h"

/* Event names are copied into fixed 32-byte fields.  Task and service names
 * are few and live as long as the cue, so each is padded once, on first
 * sight, and then copied at its fixed size: no strlen on the hot path.  The
 * cache is keyed by the name's address; a miss only costs a pad. */
enum { NAME_CACHE = 64 };
typedef struct padded_name {
    const char *key;
    char text[32];
} padded_name;

struct rc_shm_writer {
    rc_cue *cue;
    rc_observer obs;
    rc_defer update; /* publish after a mark */
    rc_shm_segment *seg;
    char path[RC_SHM_NAME_MAX + 16];
    uint64_t events; /* events written */
    uint64_t gen;    /* publishes done */
    uint32_t flags;  /* RC_SHM_STALLED | RC_SHM_FINISHED | RC_SHM_PAUSED as set by the writer */
    bool stuck;      /* pending work, nothing running, no timer, at the last settle */
    bool live;       /* publishing; cleared for the last state, at unpublish */
    padded_name names[NAME_CACHE];
    rc_shm_state fed;     /* a fed writer (no cue): the state as the caller gave it */
    rc_shm_report staged; /* the next report, made before it is copied in */
};

static const char *padded(rc_shm_writer *w, const char *name)
{
    static const char none[32];
    if (!name) return none;
    padded_name *p = &w->names[((uintptr_t)name >> 3) % NAME_CACHE];
    if (p->key != name) {
        memset(p->text, 0, sizeof p->text);
        rc_seg_copy_str(p->text, sizeof p->text, name);
        p->key = name;
    }
    return p->text;
}

static void write_event(rc_shm_writer *w, uint32_t kind, rc_time t, const rc_work *work,
                        const char *detail, double duration, double progress)
{
    uint64_t seq = ++w->events;
    rc_shm_event *e = &w->seg->events[(seq - 1) % RC_SHM_RING];
    STORE_RLX(&e->seq, 0);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    e->time = t;
    e->kind = kind;
    e->duration = duration;
    e->progress = (float)progress;
    if (work) {
        e->work_id = rc_work_get_id(work);
        e->attempt = rc_work_attempt(work);
        memcpy(e->task, padded(w, rc_work_task(work)), sizeof e->task);
        memcpy(e->service, padded(w, rc_work_service(work)), sizeof e->service);
        rc_seg_copy_str(e->label, sizeof e->label, rc_work_label(work));
    } else {
        e->work_id = 0;
        e->attempt = 0;
        e->task[0] = e->service[0] = e->label[0] = 0;
    }
    rc_seg_copy_str(e->detail, sizeof e->detail, detail);
    STORE_REL(&e->seq, seq);
}

static void fill_state(rc_shm_writer *w, rc_shm_state *st)
{
    rc_cue *cue = w->cue;
    rc_stats s;
    rc_cue_stats(cue, &s);
    st->now = rc_loop_now(rc_cue_loop(cue));
    st->flags = (w->live ? RC_SHM_LIVE : 0) | w->flags | (rc_cue_paused(cue) ? RC_SHM_PAUSED : 0);
    st->events_head = w->events;
    st->counters = (rc_shm_counters){
        .submitted = s.submitted,
        .completed = s.completed,
        .failed = s.failed,
        .skipped = s.skipped,
        .cancelled = s.cancelled,
        .retries = s.retries,
        .pending = s.pending,
        .running = s.running,
        .waiting = s.waiting,
        .queued = s.queued,
        .delayed = s.delayed,
        .stale_finishes = s.stale_finishes,
        .last_progress = s.last_progress,
    };
    size_t n = rc_service_count(cue);
    if (n > RC_SHM_MAX_SERVICES) n = RC_SHM_MAX_SERVICES;
    st->n_services = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        rc_service_info si;
        rc_service_get(cue, i, &si);
        rc_shm_service *d = &st->services[i];
        memcpy(d->name, padded(w, si.name), sizeof d->name);
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
        d->blocked = si.waiting;
    }
}

/* A fed writer's state: the caller's counters and rows, the writer's own
 * flags and event count. */
static void fill_fed(rc_shm_writer *w, rc_shm_state *st)
{
    const rc_shm_state *f = &w->fed;
    st->now = f->now;
    st->flags = (w->live ? RC_SHM_LIVE : 0) | w->flags;
    st->events_head = w->events;
    st->counters = f->counters;
    st->n_services = f->n_services < RC_SHM_MAX_SERVICES ? f->n_services : RC_SHM_MAX_SERVICES;
    memcpy(st->services, f->services, st->n_services * sizeof st->services[0]);
}

static void publish(rc_shm_writer *w)
{
    rc_shm_segment *seg = w->seg;
    uint64_t gen = ++w->gen;
    rc_shm_state *st = &seg->states[gen % RC_SHM_SLOTS];
    rc_seg_write_begin(&st->seq);
    st->gen = gen;
    if (w->cue)
        fill_state(w, st);
    else
        fill_fed(w, st);
    rc_seg_write_end(&st->seq);
    STORE_REL(&seg->current, gen);
}

/* The wait-for diagnosis as text; cut to fit at a line's end, with a last
 * line that says how many lines were left out. */
static void format_waitfor(rc_cue *cue, const rc_diagnosis *d, char *buf, size_t cap)
{
    buf[0] = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return;
    rc_diagnosis_print(cue, d, RC_SHM_MAX_BLOCKED, f);
    fclose(f);
    if (!text) return;
    if (len < cap) {
        memcpy(buf, text, len + 1);
        free(text);
        return;
    }
    enum { TAIL = 40 }; /* room for "... +N more lines\n" */
    size_t keep = 0;
    for (size_t i = 0; i < len && i + 1 < cap - TAIL; i++)
        if (text[i] == '\n') keep = i + 1;
    size_t more = 0;
    for (size_t i = keep; i < len; i++)
        more += text[i] == '\n';
    memcpy(buf, text, keep);
    snprintf(buf + keep, cap - keep, "... +%zu more line%s\n", more, more == 1 ? "" : "s");
    free(text);
}

/* The roots of the diagnosis, with task, label, state and error. */
static void fill_roots(const rc_diagnosis *d, rc_shm_report *r)
{
    r->roots_total = d->n_roots;
    r->n_roots = (uint32_t)(d->n_roots < RC_SHM_MAX_ROOTS ? d->n_roots : RC_SHM_MAX_ROOTS);
    for (uint32_t i = 0; i < r->n_roots; i++) {
        const rc_diag_root *x = &d->roots[i];
        rc_shm_root *o = &r->roots[i];
        o->id = x->id;
        o->blocks = x->blocks;
        rc_seg_copy_str(o->task, sizeof o->task, x->task);
        rc_seg_copy_str(o->label, sizeof o->label, x->label);
        rc_seg_copy_str(o->state, sizeof o->state,
                        x->skipped ? "skipped" : rc_state_name(x->state));
        rc_seg_copy_str(o->error, sizeof o->error, x->error);
    }
}

/* Make the report in `staged`, outside the sequence lock, so the lock is
 * held for one copy only. */
static void stage_report(rc_shm_writer *w, const rc_blocked *list, size_t n, uint32_t made)
{
    rc_cue *cue = w->cue;
    rc_shm_report *r = &w->staged;
    r->taken = rc_loop_now(rc_cue_loop(cue));
    r->made = made;
    r->blocked_total = n;
    r->n_blocked = (uint32_t)(n < RC_SHM_MAX_BLOCKED ? n : RC_SHM_MAX_BLOCKED);
    for (uint32_t i = 0; i < r->n_blocked; i++) {
        rc_shm_blocked *b = &r->blocked[i];
        b->id = list[i].id;
        b->reason = (uint32_t)list[i].reason;
        b->since = list[i].since;
        rc_seg_copy_str(b->task, sizeof b->task, list[i].task);
        rc_seg_copy_str(b->service, sizeof b->service, list[i].service);
        rc_seg_copy_str(b->label, sizeof b->label, list[i].label);
        rc_seg_copy_str(b->detail, sizeof b->detail, list[i].detail);
    }
    rc_diagnosis d;
    r->waitfor[0] = 0;
    r->n_roots = 0;
    r->roots_total = 0;
    if (rc_diagnose(cue, &d) == 0) {
        format_waitfor(cue, &d, r->waitfor, sizeof r->waitfor);
        fill_roots(&d, r);
        rc_diagnosis_free(cue, &d);
    }
}

int rc_shm_refresh_report(rc_shm_writer *w)
{
    if (w && !w->cue) return 0; /* a fed writer has no blocked report */
    if (!w) return RC_EINVAL;
    rc_cue *cue = w->cue;
    rc_blocked *list = NULL;
    size_t n = 0;
    int rc = rc_debug_blocked(cue, &list, &n);
    if (rc) return rc;
    rc_shm_report *r = &w->seg->report;
    stage_report(w, list, n, r->made + 1);
    rc_blocked_free(cue, list);
    rc_seg_write_begin(&r->seq);
    memcpy((char *)r + sizeof r->seq, (const char *)&w->staged + sizeof r->seq,
           sizeof *r - sizeof r->seq);
    rc_seg_write_end(&r->seq);
    return 0;
}

/* ---- the observer ---- */

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    rc_shm_writer *w = ud;
    uint32_t kind = ev->kind == RC_EV_ARTIFACTS_CHANGED ? (uint32_t)RC_SHM_EV_ARTIFACTS_CHANGED
                                                        : (uint32_t)ev->kind;
    write_event(w, kind, ev->time, ev->work, ev->detail, ev->duration,
                ev->kind == RC_EV_PROGRESS ? ev->progress : -1);
    if (ev->kind == RC_EV_STALL_WARNING || ev->kind == RC_EV_STALLED) rc_shm_refresh_report(w);
}

static void on_settled(rc_cue *cue, void *ud)
{
    rc_shm_writer *w = ud;
    rc_defer_cancel(rc_cue_loop(cue), &w->update);
    publish(w);
    /* Pending work with nothing running and no timer armed (no rate window
     * to wait out, no delay, no timeout) will not move by itself: say why in
     * the report, once per such spell. */
    rc_stats s;
    rc_cue_stats(cue, &s);
    bool stuck = s.pending > 0 && s.running == 0 && !rc_cue_paused(cue) &&
                 rc_loop_next_timer(rc_cue_loop(cue)) == RC_TIME_NEVER;
    if (w->live && stuck && !w->stuck) rc_shm_refresh_report(w);
    w->stuck = stuck;
}

static void release(rc_shm_writer *w)
{
    if (w->cue) rc_defer_cancel(rc_cue_loop(w->cue), &w->update);
    w->live = false;
    publish(w); /* the last state, without RC_SHM_LIVE */
    shm_unlink(w->path);
    munmap(w->seg, sizeof *w->seg);
    free(w);
}

static void on_cue_free(rc_cue *cue, void *ud)
{
    (void)cue;
    release(ud);
}

static void deferred_update(rc_loop *loop, void *arg)
{
    (void)loop;
    publish(arg);
}

/* ---- the API ---- */

void rc_shm_mark(rc_shm_writer *w, const char *what, const char *detail)
{
    if (!w) return;
    char buf[96];
    snprintf(buf, sizeof buf, "%s%s%s", what ? what : "", detail && *detail ? ": " : "",
             detail ? detail : "");
    if (!w->cue) {
        write_event(w, RC_SHM_EV_MARK, w->fed.now, NULL, buf, 0, -1);
        return;
    }
    write_event(w, RC_SHM_EV_MARK, rc_loop_now(rc_cue_loop(w->cue)), NULL, buf, 0, -1);
    rc_defer_request(rc_cue_loop(w->cue), &w->update);
}

void rc_shm_feed_event(rc_shm_writer *w, const rc_shm_event *ev)
{
    if (!w || w->cue || !ev) return;
    uint64_t seq = ++w->events;
    rc_shm_event *e = &w->seg->events[(seq - 1) % RC_SHM_RING];
    STORE_RLX(&e->seq, 0);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    e->time = ev->time;
    e->kind = ev->kind;
    e->attempt = ev->attempt;
    e->work_id = ev->work_id;
    e->duration = ev->duration;
    e->progress = ev->progress;
    rc_seg_copy_str(e->task, sizeof e->task, ev->task);
    rc_seg_copy_str(e->service, sizeof e->service, ev->service);
    rc_seg_copy_str(e->label, sizeof e->label, ev->label);
    rc_seg_copy_str(e->detail, sizeof e->detail, ev->detail);
    STORE_REL(&e->seq, seq);
}

void rc_shm_feed_state(rc_shm_writer *w, const rc_shm_state *st)
{
    if (!w || w->cue || !st) return;
    w->fed = *st;
    publish(w);
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

const char *rc_shm_writer_path(const rc_shm_writer *w)
{
    return w ? w->path : "";
}

void rc_shm_unpublish(rc_shm_writer *w)
{
    if (!w) return;
    if (w->cue) rc_cue_unobserve(w->cue, &w->obs);
    release(w);
}

static bool pread_all(int fd, void *dst, size_t n, size_t off)
{
    return pread(fd, dst, n, (off_t)off) == (ssize_t)n;
}

/* Who holds the name now.  Read with pread: the file is not ours and may
 * shrink while we look. */
typedef struct holder {
    int32_t pid;   /* a live writer's, or 0 */
    long foreign;  /* another user's uid, or -1 */
    bool irregular; /* not a regular file (a FIFO, a device...) */
} holder;

static holder live_holder(const char *path)
{
    holder h = {.foreign = -1};
    /* O_NONBLOCK: a FIFO put there by anyone would block the open until a
     * writer came; glibc's shm_open passes the flag on to open. */
    int fd = shm_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd < 0) return h;
    int32_t pid = 0;
    struct stat st;
    uint64_t magic = 0, cur = 0;
    uint32_t flags = 0;
    if (fstat(fd, &st) == 0) {
        if (st.st_uid != geteuid()) h.foreign = (long)st.st_uid;
        h.irregular = !S_ISREG(st.st_mode);
        size_t flags_at = offsetof(rc_shm_segment, states) + offsetof(rc_shm_state, flags);
        bool live = !h.irregular && pread_all(fd, &magic, sizeof magic, 0) &&
                    magic == RC_SHM_MAGIC &&
                    pread_all(fd, &cur, sizeof cur, offsetof(rc_shm_segment, current)) &&
                    pread_all(fd, &flags, sizeof flags,
                              flags_at + (size_t)(cur % RC_SHM_SLOTS) * sizeof(rc_shm_state)) &&
                    (flags & RC_SHM_LIVE);
        if (!live || !pread_all(fd, &pid, sizeof pid, offsetof(rc_shm_segment, writer_pid)))
            pid = 0;
    }
    close(fd);
    h.pid = rc_seg_pid_alive(pid) ? pid : 0;
    return h;
}

/* Create the file exclusively, reclaiming a stale one.  Returns the fd, or
 * -1 with *rc and err set. */
static int create_segment(const char *name, const char *path, int *rc, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) return fd;
        if (errno != EEXIST) break;
        holder h = live_holder(path);
        if (h.foreign >= 0) {
            snprintf(err, errlen,
                     "shared memory name '%s' is taken by another user (uid %ld); "
                     "choose another name",
                     name, h.foreign);
            *rc = RC_EEXIST;
            return -1;
        }
        /* Not ours to remove: whoever made something else under this name
         * meant it, and it is no stale segment. */
        if (h.irregular) {
            snprintf(err, errlen,
                     "shared memory name '%s' is taken by something that is not a runcue "
                     "segment (/dev/shm%s is not a regular file); choose another name",
                     name, path);
            *rc = RC_EEXIST;
            return -1;
        }
        if (h.pid) {
            snprintf(err, errlen,
                     "shared memory name '%s' is in use by a live writer (pid %d); "
                     "choose another name",
                     name, (int)h.pid);
            *rc = RC_EEXIST;
            return -1;
        }
        shm_unlink(path); /* stale: reclaim */
    }
    snprintf(err, errlen, "shm_open %s: %s", path, strerror(errno));
    *rc = RC_ESYS;
    return -1;
}

/* Create and map the segment for name; the writer with its header filled,
 * not yet live, or NULL with *rc and err set. */
static rc_shm_writer *open_writer(const char *name, const char *title, rc_clock_kind clock,
                                  rc_time now, int *rc, char *err, size_t errlen)
{
    *rc = rc_seg_check_name(name, err, errlen);
    if (*rc) return NULL;
    rc_shm_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        *rc = RC_ENOMEM;
        return NULL;
    }
    rc_seg_path(w->path, sizeof w->path, name);
    int fd = create_segment(name, w->path, rc, err, errlen);
    if (fd < 0) {
        free(w);
        return NULL;
    }
    rc_shm_segment *seg = MAP_FAILED;
    if (ftruncate(fd, (off_t)sizeof(rc_shm_segment)) == 0)
        seg = mmap(NULL, sizeof *seg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    else
        snprintf(err, errlen, "ftruncate %s: %s", w->path, strerror(errno));
    if (seg == MAP_FAILED && !err[0])
        snprintf(err, errlen, "mmap %s: %s", w->path, strerror(errno));
    close(fd);
    if (seg == MAP_FAILED) {
        shm_unlink(w->path);
        free(w);
        *rc = RC_ESYS;
        return NULL;
    }
    w->seg = seg;
    /* The file is fresh from ftruncate: all zero. */
    seg->layout = RC_SHM_LAYOUT;
    seg->size = (uint32_t)sizeof *seg;
    seg->writer_pid = (int32_t)getpid();
    seg->clock = (uint32_t)clock;
    seg->published = now;
    rc_seg_copy_str(seg->name, sizeof seg->name, name);
    rc_seg_copy_str(seg->title, sizeof seg->title, title);
    return w;
}

/* rc_shm_publish (cue given) and rc_shm_publish_fed (fed: clock and now
 * given). */
static int start_writer(rc_shm_writer **out, rc_cue *cue, bool fed, const char *name,
                        const char *title, rc_clock_kind clock, rc_time now, char *err,
                        size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!out) return RC_EINVAL;
    *out = NULL;
    if (!cue && !fed) {
        snprintf(err, errlen, "rc_shm_publish: cue is NULL");
        return RC_EINVAL;
    }
    if (cue) {
        clock = rc_loop_clock(rc_cue_loop(cue));
        now = rc_loop_now(rc_cue_loop(cue));
    }
    int rc;
    rc_shm_writer *w = open_writer(name, title, clock, now, &rc, err, errlen);
    if (!w) return rc;
    if (cue) {
        w->cue = cue;
        rc_defer_init(&w->update, deferred_update, w);
        w->obs = (rc_observer){
            .on_event = on_event, .on_settled = on_settled, .on_cue_free = on_cue_free, .ud = w};
        rc_cue_observe(cue, &w->obs);
    } else {
        w->fed.now = now;
    }
    w->live = true;
    publish(w);
    STORE_REL(&w->seg->magic, RC_SHM_MAGIC);
    *out = w;
    return 0;
}

int rc_shm_publish(rc_shm_writer **out, rc_cue *cue, const char *name, const char *title, char *err,
                   size_t errlen)
{
    return start_writer(out, cue, false, name, title, RC_CLOCK_VIRTUAL, 0, err, errlen);
}

int rc_shm_publish_fed(rc_shm_writer **out, const char *name, const char *title,
                       rc_clock_kind clock, rc_time now, char *err, size_t errlen)
{
    return start_writer(out, NULL, true, name, title, clock, now, err, errlen);
}
