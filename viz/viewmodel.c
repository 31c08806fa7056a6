/* viewmodel.c -- see viewmodel.h. */
#include "viewmodel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

viewmodel *vm_new(rc_shm_reader *r)
{
    viewmodel *vm = calloc(1, sizeof *vm);
    if (!vm) return NULL;
    vm->reader = r;
    vm->sample_every = 100 * 1000 * 1000; /* 0.1 s, doubled as the run grows */
    vm->first_time = -1;
    vm->events_per_update = VM_EVENTS_PER_UPDATE;
    vm->status = "running";
    return vm;
}

void vm_free(viewmodel *vm)
{
    free(vm);
}

const vm_line *vm_line_at(const viewmodel *vm, uint64_t i)
{
    if (i >= vm->n_lines || i >= VM_LINES) return NULL;
    return &vm->lines[(vm->n_lines - 1 - i) % VM_LINES];
}

const vm_bar *vm_bar_at(const viewmodel *vm, uint64_t i)
{
    if (i >= vm->n_bars || i >= VM_BARS) return NULL;
    return &vm->bars[(vm->n_bars - 1 - i) % VM_BARS];
}

double vm_progress(const viewmodel *vm)
{
    const rc_shm_counters *c = &vm->snap.state.counters;
    if (!c->submitted) return 0;
    return (double)(c->completed + c->failed + c->skipped + c->cancelled) / (double)c->submitted;
}

static uint32_t service_index(const viewmodel *vm, const char *name)
{
    uint32_t n = vm_services(&vm->snap);
    for (uint32_t i = 0; i < n; i++)
        if (strncmp(vm->snap.state.services[i].name, name, sizeof vm->snap.state.services[i].name) ==
            0)
            return i;
    return UINT32_MAX;
}

/* The newest open bar of a work (scanning back a bounded way). */
static vm_bar *open_bar(viewmodel *vm, uint64_t id)
{
    uint64_t n = vm->n_bars < VM_BARS ? vm->n_bars : VM_BARS;
    for (uint64_t i = 0; i < n && i < 4096; i++) {
        vm_bar *b = &vm->bars[(vm->n_bars - 1 - i) % VM_BARS];
        if (b->work_id == id && b->outcome == VM_RUNNING) return b;
    }
    return NULL;
}

static int cmp_bar_id(const void *a, const void *b)
{
    uint64_t x = (*(const vm_bar *const *)a)->work_id, y = (*(const vm_bar *const *)b)->work_id;
    return x < y ? -1 : x > y;
}

size_t vm_running_progress(const viewmodel *vm, const vm_bar **out, size_t max)
{
    size_t k = 0;
    uint64_t n = vm->n_bars < VM_BARS ? vm->n_bars : VM_BARS;
    for (uint64_t i = 0; i < n && i < 4096 && k < max; i++) {
        const vm_bar *b = &vm->bars[(vm->n_bars - 1 - i) % VM_BARS];
        if (b->outcome == VM_RUNNING && b->progress >= 0) out[k++] = b;
    }
    qsort(out, k, sizeof *out, cmp_bar_id);
    return k;
}

static void add_line(viewmodel *vm, const rc_shm_event *e)
{
    vm_line *l = &vm->lines[vm->n_lines++ % VM_LINES];
    l->seq = e->seq;
    l->t = e->time;
    l->kind = e->kind;
    char work[112] = "";
    if (e->work_id)
        snprintf(work, sizeof work, "#%llu %s%s%s%s", (unsigned long long)e->work_id, e->task,
                 e->label[0] ? " [" : "", e->label, e->label[0] ? "]" : "");
    char ms[32] = "";
    if ((e->kind == RC_EV_COMPLETED || e->kind == RC_EV_FAILED) && e->duration > 0 &&
        e->duration < 1e9)
        snprintf(ms, sizeof ms, " %.0fms", e->duration * 1000);
    else if (e->kind == RC_EV_PROGRESS && e->progress >= 0 && e->progress <= 1)
        snprintf(ms, sizeof ms, " %3.0f%%", e->progress * 100.0);
    char extra[160];
    snprintf(extra, sizeof extra, "%s%s%.120s", ms, e->detail[0] && (ms[0] || work[0]) ? "  " : "",
             e->detail);
    snprintf(l->text, sizeof l->text, "%9.3fs  %-17.17s %.100s%.120s", vm_s(vm_span(e->time, vm->snap.published)),
             rc_shm_event_name(e->kind), work, extra);
}

static void take_event(viewmodel *vm, const rc_shm_event *e)
{
    if (vm->first_time < 0) vm->first_time = e->time;
    add_line(vm, e);
    switch (e->kind) {
    case RC_EV_STARTED: {
        vm_bar *b = &vm->bars[vm->n_bars++ % VM_BARS];
        *b = (vm_bar){.work_id = e->work_id, .start = e->time, .end = 0,
                      .service = service_index(vm, e->service), .outcome = VM_RUNNING,
                      .progress = -1};
        snprintf(b->task, sizeof b->task, "%.23s", e->task);
        break;
    }
    case RC_EV_PROGRESS: {
        vm_bar *b = open_bar(vm, e->work_id);
        if (b && e->progress >= 0 && e->progress <= 1) {
            b->progress = e->progress;
            snprintf(b->message, sizeof b->message, "%.39s", e->detail);
        }
        break;
    }
    case RC_EV_COMPLETED:
    case RC_EV_FAILED:
    case RC_EV_RETRY:
    case RC_EV_TIMEOUT: {
        vm_bar *b = open_bar(vm, e->work_id);
        if (b) {
            b->end = e->time;
            b->outcome = e->kind == RC_EV_COMPLETED ? VM_OK
                         : e->kind == RC_EV_RETRY   ? VM_RETRIED
                                                    : VM_FAILED;
        }
        break;
    }
    case RC_SHM_EV_ARTIFACTS_CHANGED:
    case RC_SHM_EV_MARK: {
        bool inval = e->kind == RC_SHM_EV_MARK && strncmp(e->detail, "invalidated", 11) == 0;
        /* Artifact changes are many (every produced output); keep the
         * invalidations, and marks of the writer's own. */
        if (e->kind == RC_SHM_EV_ARTIFACTS_CHANGED) break;
        vm_mark *m = &vm->marks[vm->n_marks++ % VM_MARKS];
        m->t = e->time;
        m->invalidation = inval;
        const char *what = inval ? e->detail + 11 : e->detail;
        while (*what == ':' || *what == ' ') what++;
        snprintf(m->what, sizeof m->what, "%.39s", what);
        break;
    }
    default: break;
    }
}

static void sample(viewmodel *vm)
{
    const rc_shm_state *st = &vm->snap.state;
    int64_t t = st->now;
    if (vm->n_samples && vm_span(t, vm->samples[vm->n_samples - 1].t) < vm->sample_every) {
        /* Keep the newest figures in the last sample until the next is due. */
        if (vm->n_samples > 1) {
            vm_sample *last = &vm->samples[vm->n_samples - 1];
            last->completed = st->counters.completed;
            last->failed = st->counters.failed;
        }
        return;
    }
    if (vm->n_samples == VM_SAMPLES) {
        /* Full: keep every other sample and sample half as often. */
        for (size_t i = 0; i < VM_SAMPLES / 2; i++) vm->samples[i] = vm->samples[2 * i];
        vm->n_samples = VM_SAMPLES / 2;
        if (vm->sample_every < INT64_MAX / 2) vm->sample_every *= 2;
    }
    vm->samples[vm->n_samples++] = (vm_sample){t, st->counters.pending, st->counters.running,
                                               st->counters.completed, st->counters.failed};
}

static void take_point(viewmodel *vm, vm_rate_point *pt)
{
    const rc_shm_state *st = &vm->snap.state;
    pt->t = st->now;
    pt->completed = st->counters.completed;
    for (uint32_t i = 0; i < st->n_services && i < RC_SHM_MAX_SERVICES; i++)
        pt->done[i] = st->services[i].completed + st->services[i].failed;
}

static const vm_rate_point *point_at(const viewmodel *vm, uint64_t i)
{
    return &vm->rate_points[i % VM_RATE_POINTS];
}

/* Rates over a sliding window: from the newest point at least the window
 * old (or the oldest kept) to now. */
static void rates(viewmodel *vm)
{
    const int64_t window = (int64_t)(VM_RATE_WINDOW_S * 1e9);
    const int64_t every = window / (VM_RATE_POINTS / 2);
    int64_t now = vm->snap.state.now;
    if (vm->n_rate_points && point_at(vm, vm->n_rate_points - 1)->t > now)
        vm->n_rate_points = 0; /* the clock went back: another writer */
    if (!vm->n_rate_points || vm_span(now, point_at(vm, vm->n_rate_points - 1)->t) >= every)
        take_point(vm, &vm->rate_points[vm->n_rate_points++ % VM_RATE_POINTS]);
    uint64_t oldest = vm->n_rate_points > VM_RATE_POINTS ? vm->n_rate_points - VM_RATE_POINTS : 0;
    const vm_rate_point *base = point_at(vm, oldest);
    for (uint64_t i = vm->n_rate_points; i-- > oldest;)
        if (vm_span(now, point_at(vm, i)->t) >= window) {
            base = point_at(vm, i);
            break;
        }
    double span = vm_s(vm_span(now, base->t));
    uint32_t f = vm->snap.state.flags;
    bool over = !(f & RC_SHM_LIVE) || (f & (RC_SHM_FINISHED | RC_SHM_STALLED));
    if (span <= 0 || (span < 1.0 && !over)) return; /* too short to say yet */
    vm_rate_point cur;
    take_point(vm, &cur);
    for (uint32_t i = 0; i < vm->snap.state.n_services && i < RC_SHM_MAX_SERVICES; i++)
        vm->rate[i] = cur.done[i] >= base->done[i] ? (double)(cur.done[i] - base->done[i]) / span
                                                   : 0;
    vm->throughput =
        cur.completed >= base->completed ? (double)(cur.completed - base->completed) / span : 0;
    vm->rate_span = span;
}

void vm_rate_limit(const rc_shm_service *sv, char *buf, size_t cap)
{
    if (!sv->rate_count) {
        snprintf(buf, cap, "none");
        return;
    }
    double w = sv->rate_window_s;
    const char *unit = w == 1 ? "s" : w == 60 ? "min" : w == 3600 ? "h" : NULL;
    if (unit)
        snprintf(buf, cap, "%u/%s", sv->rate_count, unit);
    else
        snprintf(buf, cap, "%u/%gs", sv->rate_count, w);
}

bool vm_update(viewmodel *vm)
{
    uint64_t gen = vm->snap.state.gen;
    uint64_t lines = vm->n_lines;
    vm->live = rc_shm_read(vm->reader, &vm->snap) == 0;
    /* On the stack (8 KiB): viewmodels in other threads share nothing. */
    enum { BATCH = 32 };
    rc_shm_event buf[BATCH];
    size_t left = vm->events_per_update ? vm->events_per_update : 1, n;
    vm->behind = false;
    while (left) {
        n = rc_shm_events(vm->reader, &vm->cursor, buf, left < BATCH ? left : BATCH, &vm->lost);
        if (!n) break;
        for (size_t i = 0; i < n; i++) take_event(vm, &buf[i]);
        left -= n;
    }
    /* The bound reached: whether more wait shows on the next call's first
     * read, so a view can come back at once instead of sleeping. */
    if (!left) vm->behind = true;
    uint32_t f = vm->snap.state.flags;
    const char *why = vm->live ? "" : rc_shm_writer_status(vm->reader);
    if (!strcmp(why, "died mid-update"))
        vm->status = "writer died mid-update";
    else if (!strcmp(why, "truncated") || !strcmp(why, "unreadable"))
        vm->status = "segment truncated";
    else if (!vm->live && (f & RC_SHM_LIVE))
        vm->status = "writer gone";
    else if (f & RC_SHM_STALLED)
        vm->status = "stalled";
    else if (f & RC_SHM_FINISHED || !(f & RC_SHM_LIVE))
        vm->status = "finished";
    else if (f & RC_SHM_PAUSED)
        vm->status = "paused";
    else
        vm->status = "running";
    sample(vm);
    rates(vm);
    return gen != vm->snap.state.gen || lines != vm->n_lines;
}

int vm_count_lines(const char *p)
{
    const char *line;
    int len, n = 0;
    while (vm_next_line(&p, &line, &len))
        n++;
    return n;
}

void vm_root_text(const rc_shm_root *r, char *buf, size_t n)
{
    char label[40] = "";
    if (r->label[0]) snprintf(label, sizeof label, " [%.31s]", r->label);
    snprintf(buf, n, "%.31s #%llu%s %.15s%s%.119s; blocks %llu", r->task, (unsigned long long)r->id,
             label, r->state, r->error[0] ? ": " : "", r->error, (unsigned long long)r->blocks);
}
