/* viewmodel.h -- what the live views draw, built from the shared-memory
 * segment only (runcue_shm.h).  runcue-top, runcue-viz and runcue-sim's
 * --tui/--sdl all feed one of these from a reader; in process the simulation
 * publishes a segment and attaches to it like any other watcher, so no view
 * reaches into the scheduler.
 *
 * vm_update takes a snapshot and drains new events into:
 *   - recent event lines (a ring of VM_LINES, newest last);
 *   - bars: every work's run on its service's lane, from start to finish,
 *     coloured by outcome (a ring of VM_BARS);
 *   - samples of queue depth, running and completions over time;
 *   - marks: invalidations and artifact changes, on the time axis. */
#ifndef VIZ_VIEWMODEL_H
#define VIZ_VIEWMODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "runcue_shm.h"

#define VM_LINES 512
#define VM_BARS 8192
#define VM_SAMPLES 1024
#define VM_MARKS 256
#define VM_RATE_POINTS 64
/* A ring's worth: a view further behind than that has lost events anyway. */
#define VM_EVENTS_PER_UPDATE RC_SHM_RING
/* Rates are taken over the last this many seconds of the writer's clock. */
#define VM_RATE_WINDOW_S 10.0

typedef enum vm_outcome {
    VM_RUNNING = 0,
    VM_OK,
    VM_FAILED,
    VM_RETRIED, /* an attempt failed, another follows */
} vm_outcome;

typedef struct vm_bar {
    uint64_t work_id;
    int64_t start, end; /* rc_time; end 0 while running */
    uint32_t service;   /* index in the snapshot's services */
    uint32_t outcome;   /* vm_outcome */
    float progress;     /* the last progress event of this run: 0..1; -1 none */
    char task[24];
    char message[40]; /* its message */
} vm_bar;

typedef struct vm_sample {
    int64_t t;
    uint64_t pending, running, completed, failed;
} vm_sample;

typedef struct vm_mark {
    int64_t t;
    bool invalidation; /* else an artifact change */
    char what[40];
} vm_mark;

/* Counts at one instant, for rates over a sliding window. */
typedef struct vm_rate_point {
    int64_t t;
    uint64_t completed;
    uint64_t done[RC_SHM_MAX_SERVICES]; /* completed + failed */
} vm_rate_point;

typedef struct vm_line {
    uint64_t seq;
    int64_t t;
    uint32_t kind;
    char text[256];
} vm_line;

typedef struct viewmodel {
    rc_shm_reader *reader;
    rc_shm_snapshot snap; /* the latest */
    bool live;            /* the writer is publishing */
    const char *status;   /* "running", "stalled", "finished", "paused", "writer gone",
                             "writer died mid-update", "segment truncated" */

    uint64_t cursor, lost;
    /* Events taken per vm_update, at most (VM_EVENTS_PER_UPDATE unless a
     * caller sets another, at least 1): a writer faster than the view would
     * otherwise keep it reading and never drawing.  The rest stay in the
     * ring for the next call; `behind` says some were left. */
    size_t events_per_update;
    bool behind;
    vm_line lines[VM_LINES];
    uint64_t n_lines; /* written so far; the newest is lines[(n_lines-1) % VM_LINES] */

    vm_bar bars[VM_BARS];
    uint64_t n_bars;

    vm_sample samples[VM_SAMPLES];
    size_t n_samples;
    int64_t sample_every; /* rc_time between samples; doubles when full */

    vm_mark marks[VM_MARKS];
    uint64_t n_marks;

    int64_t first_time; /* time of the first event seen */
    /* Counts this view saw, a few a second of the writer's clock: rates come
     * from the newest and the one about VM_RATE_WINDOW_S older, so a view
     * attached mid-run shows what happens now, not an average since t=0. */
    vm_rate_point rate_points[VM_RATE_POINTS];
    uint64_t n_rate_points;
    /* per service: completed + failed per second over the window */
    double rate[RC_SHM_MAX_SERVICES];
    double throughput; /* completed per second over the window */
    double rate_span;  /* seconds the rates cover (0: not known yet) */
} viewmodel;

/* Allocates the model (it is large) and attaches it to `r` (not owned). */
viewmodel *vm_new(rc_shm_reader *r);
void vm_free(viewmodel *vm);
/* Take a snapshot and the new events, up to events_per_update of them.
 * Returns true if anything changed. */
bool vm_update(viewmodel *vm);

/* The i-th newest line (0 = newest), or NULL. */
const vm_line *vm_line_at(const viewmodel *vm, uint64_t i);
/* The i-th newest bar, or NULL. */
const vm_bar *vm_bar_at(const viewmodel *vm, uint64_t i);

/* Running work that reported progress, by work id: fills out with up to max
 * bars (scanning back a bounded way) and returns how many. */
size_t vm_running_progress(const viewmodel *vm, const vm_bar **out, size_t max);
/* A service's rate limit as text: "5/s", "60/min", "3/2.5s" or "none". */
void vm_rate_limit(const rc_shm_service *sv, char *buf, size_t cap);

/* Work finished (completed + failed + skipped + cancelled) over submitted. */
double vm_progress(const viewmodel *vm);

/* Walks a text line by line (the report's wait-for): sets *line and *len
 * to the line at *p, without its newline, and moves *p past it.  False at
 * the end. */
static inline bool vm_next_line(const char **p, const char **line, int *len)
{
    if (!**p) return false;
    const char *nl = strchr(*p, '\n');
    *line = *p;
    *len = nl ? (int)(nl - *p) : (int)strlen(*p);
    *p += *len + (nl != NULL);
    return true;
}

/* The lines left in a text from p. */
int vm_count_lines(const char *p);

/* One root cause of the stall report as a line:
 * "task #id [label] failed: error; blocks N". */
void vm_root_text(const rc_shm_root *r, char *buf, size_t n);
/* a - b, saturated: the segment's times are untrusted and may be anything. */
static inline int64_t vm_span(int64_t a, int64_t b)
{
    int64_t d;
    if (!__builtin_sub_overflow(a, b, &d)) return d;
    return b < 0 ? INT64_MAX : INT64_MIN;
}

/* The snapshot's service count, never past the layout's table. */
static inline uint32_t vm_services(const rc_shm_snapshot *s)
{
    return s->state.n_services < RC_SHM_MAX_SERVICES ? s->state.n_services : RC_SHM_MAX_SERVICES;
}

/* Seconds of an rc_time. */
static inline double vm_s(int64_t t)
{
    return (double)t / 1e9;
}

#endif
