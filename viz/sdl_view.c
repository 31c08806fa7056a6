/* sdl_view.c -- the SDL2 view: runcue-viz and runcue-sim --sdl.
 *
 * Top to bottom: a header (segment, title, virtual clock, status, counts), a
 * legend, one swimlane per service with every work's run as a bar coloured by
 * outcome and the marks as vertical lines, a time axis, then queue depth /
 * running and throughput over the same time axis.  When the run is stalled a
 * red panel lists the blocked work and the wait-for diagnosis.
 *
 * Every frame is drawn by a software renderer into one ARGB8888 surface, which
 * is blitted to the window and, on leaving, written out as the screenshot, so
 * both are the same picture.  Nothing in it depends on the wall clock: for a
 * given seed the final frame is the same run to run. */
#include <SDL.h>
#include <SDL2_gfxPrimitives.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "live.h"
#include "viewmodel.h"

const bool live_have_sdl = true;

enum {
    LABEL_W = 160,  /* lane labels, chart titles */
    HEADER_H = 32,  /* y 0..31 */
    LANES_TOP = 52, /* below the legend row */
    CHART_H = 150,  /* the two charts at the bottom */
    AXIS_H = 14,    /* time labels under the lanes */
    MARGIN_R = 10,
    MAX_ROWS = 64, /* sub-rows per lane */
};

typedef struct rgb {
    Uint8 r, g, b;
} rgb;

static const rgb C_BG = {24, 26, 32}, C_HEAD = {34, 37, 46}, C_TEXT = {220, 222, 228},
                 C_DIM = {130, 134, 146}, C_GRID = {46, 49, 60}, C_LANE_A = {30, 33, 40},
                 C_LANE_B = {36, 39, 48}, C_RUN = {70, 130, 230}, C_OK = {60, 180, 90},
                 C_FAIL = {220, 60, 60}, C_RETRY = {240, 160, 40}, C_MARK = {240, 220, 60},
                 C_MARK_DIM = {110, 112, 120}, C_BLOCKED = {200, 80, 200},
                 C_PENDING = {80, 200, 220}, C_PANEL = {44, 22, 26},
                 C_PROGRESS = {250, 250, 250};

typedef struct view {
    viewmodel *vm;
    const live_opts *opts;
    const live_driver *drv; /* in process, else NULL */
    bool show_name;   /* not for the segment runcue-sim names after its pid */
    bool frozen;      /* attached: p freezes the picture */
    double zoom;      /* visible span in seconds; 0: fit all */
    int w, h;
    SDL_Surface *surf;
    SDL_Renderer *ren;
    /* This frame's time window and where it goes. */
    int64_t t0, t1;
    int x0, x1;
    int64_t row_end[RC_SHM_MAX_SERVICES][MAX_ROWS];
} view;

/* ---- drawing helpers ---- */

static Sint16 cl(double v)
{
    return !(v >= -32000) ? -32000 : v > 32000 ? 32000 : (Sint16)floor(v); /* NaN too */
}

static void box(view *v, int xa, int ya, int xb, int yb, rgb c)
{
    boxRGBA(v->ren, cl(xa), cl(ya), cl(xb), cl(yb), c.r, c.g, c.b, 255);
}

static void frame(view *v, int xa, int ya, int xb, int yb, rgb c)
{
    rectangleRGBA(v->ren, cl(xa), cl(ya), cl(xb), cl(yb), c.r, c.g, c.b, 255);
}

static void line(view *v, double xa, double ya, double xb, double yb, rgb c)
{
    lineRGBA(v->ren, cl(xa), cl(ya), cl(xb), cl(yb), c.r, c.g, c.b, 255);
}

/* Draws at most maxc characters (0: no limit); returns the width drawn. */
static int text(view *v, int x, int y, int maxc, rgb c, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int text(view *v, int x, int y, int maxc, rgb c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (maxc > 0 && (size_t)maxc < sizeof buf) buf[maxc] = 0;
    if (maxc < 0) buf[0] = 0;
    stringRGBA(v->ren, cl(x), cl(y), buf, c.r, c.g, c.b, 255);
    return 8 * (int)strlen(buf);
}

static rgb outcome_colour(uint32_t outcome)
{
    switch (outcome) {
    case VM_OK: return C_OK;
    case VM_FAILED: return C_FAIL;
    case VM_RETRIED: return C_RETRY;
    default: return C_RUN;
    }
}

/* A running bar's progress: a strip along its bottom edge, as long as the
 * fraction of the bar's width (at least a few pixels wide to be seen). */
static void progress_strip(view *v, int xa, int xb, int yb, double frac)
{
    int w = xb - xa + 1;
    if (w < 8) w = 8;
    int fill = (int)(frac * w + 0.5);
    if (fill < 1) return;
    box(v, xa, yb - 1, xa + fill - 1, yb, C_PROGRESS);
}

static rgb status_colour(const char *status)
{
    /* stalled, writer gone, writer died mid-update, segment truncated */
    if (!strcmp(status, "stalled") || !strncmp(status, "writer ", 7) ||
        !strncmp(status, "segment ", 8))
        return C_FAIL;
    if (!strcmp(status, "paused")) return C_RETRY;
    if (!strcmp(status, "finished")) return C_OK;
    return C_RUN;
}

/* ---- the time window ---- */

static int64_t fit_t0(const viewmodel *vm)
{
    return vm->first_time > 0 ? vm->first_time : 0;
}

static int64_t fit_t1(const viewmodel *vm)
{
    int64_t t0 = fit_t0(vm), now = vm->snap.state.now;
    return vm_span(now, t0) > 1000000000 ? now : vm_span(t0, -1000000000);
}

/* Fit: from the first event to now (at least a second).  Zoomed: the last
 * `zoom` seconds up to now. */
static void set_window(view *v)
{
    int64_t first = fit_t0(v->vm), now = v->vm->snap.state.now;
    if (v->zoom > 0 && v->zoom < vm_s(vm_span(now, first))) {
        v->t1 = now;
        double ns = v->zoom * 1e9; /* below 2^63 but for rounding */
        v->t0 = vm_span(now, ns < 9e18 ? (int64_t)ns : INT64_MAX);
    } else {
        v->t0 = first;
        v->t1 = fit_t1(v->vm);
    }
    if (v->t1 <= v->t0) v->t0 = vm_span(v->t1, 1);
    v->x0 = LABEL_W;
    v->x1 = v->w - MARGIN_R;
}

static double tx(const view *v, int64_t t)
{
    double span = (double)v->t1 - (double)v->t0;
    return v->x0 + ((double)t - (double)v->t0) / (span > 0 ? span : 1) * (v->x1 - v->x0);
}

static void zoom_by(view *v, double factor)
{
    double full = vm_s(vm_span(v->vm->snap.state.now, fit_t0(v->vm)));
    double span = (v->zoom > 0 && v->zoom < full ? v->zoom : full) * factor;
    if (span < 1e-3) span = 1e-3;
    v->zoom = span >= full ? 0 : span;
}

/* ---- the parts of a frame ---- */

static void draw_header(view *v)
{
    const viewmodel *vm = v->vm;
    const rc_shm_snapshot *s = &vm->snap;
    const rc_shm_counters *c = &s->state.counters;
    box(v, 0, 0, v->w - 1, HEADER_H - 1, C_HEAD);
    int x = 8;
    x += text(v, x, 6, 0, C_PENDING, "runcue");
    if (v->show_name) x += 16 + text(v, x + 16, 6, 40, C_TEXT, "%.48s", s->name);
    text(v, x + 16, 6, (v->w - x - 24) / 8, C_DIM, "%.255s", s->title);

    x = 8;
    x += text(v, x, 19, 0, C_TEXT, "t=%.3fs", vm_s(vm_span(s->state.now, s->published))) + 16;
    x += text(v, x, 19, 0, status_colour(vm->status), "%s%s", vm->status,
              v->frozen ? " (frozen)" : "") + 16;
    x += text(v, x, 19, 0, C_TEXT, "%3.0f%%", vm_progress(vm) * 100) + 16;
    x += text(v, x, 19, 0, C_OK, "completed %llu", (unsigned long long)c->completed) + 12;
    x += text(v, x, 19, 0, c->failed ? C_FAIL : C_DIM, "failed %llu",
              (unsigned long long)c->failed) + 12;
    x += text(v, x, 19, 0, C_PENDING, "pending %llu", (unsigned long long)c->pending) + 12;
    x += text(v, x, 19, 0, C_RUN, "running %llu", (unsigned long long)c->running) + 16;
    x += text(v, x, 19, 0, C_TEXT, "throughput %.1f/s", vm->throughput) + 16;
    /* A progress bar in what is left on the right. */
    int bx = v->w - 8 - 200;
    if (bx > x) {
        double p = vm_progress(vm);
        frame(v, bx, 18, bx + 199, 27, C_DIM);
        if (p > 0) box(v, bx + 1, 19, bx + 1 + (int)(p * 197), 26, C_OK);
    }
}

static void draw_legend(view *v)
{
    static const struct {
        const char *name;
        uint32_t outcome;
    } items[] = {{"running", VM_RUNNING}, {"ok", VM_OK}, {"failed", VM_FAILED},
                 {"retried", VM_RETRIED}};
    int x = 8, y = HEADER_H + 8;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        box(v, x, y, x + 7, y + 7, outcome_colour(items[i].outcome));
        x += 12 + text(v, x + 12, y, 0, C_TEXT, "%s", items[i].name) + 16;
    }
    line(v, x + 3, y - 1, x + 3, y + 8, C_MARK);
    x += 12 + text(v, x + 12, y, 0, C_TEXT, "invalidation") + 16;
    line(v, x + 3, y - 1, x + 3, y + 8, C_MARK_DIM);
    x += 12 + text(v, x + 12, y, 0, C_TEXT, "mark") + 24;
    if (v->zoom > 0)
        x += text(v, x, y, 0, C_DIM, "showing the last %.3gs (0: fit all)", v->zoom) + 24;
    const char *keys = v->drv ? "q quit  p pause  space step  +/- zoom  0 fit"
                              : "q quit  p freeze  +/- zoom  0 fit";
    int kx = v->w - 8 - 8 * (int)strlen(keys);
    if (kx > x) text(v, kx, y, 0, C_DIM, "%s", keys);
}

/* A 1-2-5 step in nanoseconds, at least 1, giving about `target` ticks
 * over span nanoseconds. */
static int64_t nice_step(double span, int target)
{
    double raw = span / (target > 0 ? target : 1);
    if (!(raw > 1)) return 1;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    double step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    return step < 9e18 ? (int64_t)step : INT64_MAX;
}

/* Ticks at whole multiples of the step, counted in integer nanoseconds
 * before drawing: the times come from the segment and may sit anywhere up
 * to INT64_MAX, where a tick counter in floating point stops moving and a
 * loop on it never ends. */
static void draw_grid(view *v, int top, int bottom, int label_y)
{
    int64_t t0 = v->t0, t1 = v->t1;
    if (t1 < t0) return;
    int64_t step = nice_step((double)t1 - (double)t0, (v->x1 - v->x0) / 110);
    /* The first multiple of step at or after t0, if there is one by t1
     * (division truncates toward zero: a negative t0 is already there). */
    int64_t first = t0 / step * step;
    if (first < t0) {
        if (first > INT64_MAX - step) return;
        first += step;
    }
    if (first > t1) return;
    uint64_t n = ((uint64_t)t1 - (uint64_t)first) / (uint64_t)step + 1;
    /* About the target by construction; the cap is for the rounding of a
     * span too wide for a double to hold exactly. */
    uint64_t cap = (uint64_t)(v->x1 > v->x0 ? v->x1 - v->x0 : 0) / 2 + 2;
    if (n > cap) n = cap;
    for (uint64_t i = 0; i < n; i++) {
        int64_t t = (int64_t)((uint64_t)first + i * (uint64_t)step); /* <= t1 */
        double x = tx(v, t);
        line(v, x, top, x, bottom, C_GRID);
        if (label_y >= 0) {
            line(v, x, label_y - 3, x, label_y - 1, C_DIM);
            if (x + 40 < v->w) text(v, (int)x + 2, label_y, 0, C_DIM, "%gs", vm_s(t));
        }
    }
}

static void draw_lanes(view *v, int top, int bottom)
{
    const viewmodel *vm = v->vm;
    const rc_shm_state *st = &vm->snap.state;
    uint32_t ns = st->n_services < RC_SHM_MAX_SERVICES ? st->n_services : RC_SHM_MAX_SERVICES;
    if (!ns) {
        text(v, v->x0 + 8, top + 8, 0, C_DIM, "no services yet");
        return;
    }
    int lane_h = (bottom - top) / (int)ns;
    if (lane_h < 3) lane_h = 3;
    int rows[RC_SHM_MAX_SERVICES];
    for (uint32_t i = 0; i < ns; i++) {
        const rc_shm_service *sv = &st->services[i];
        int y = top + (int)i * lane_h;
        box(v, 0, y, v->w - 1, y + lane_h - 1, i % 2 ? C_LANE_B : C_LANE_A);
        /* As many sub-rows as ran at once, within the limit and the room. */
        int cap = (lane_h - 6) / 4;
        if (cap < 1) cap = 1;
        if (cap > MAX_ROWS) cap = MAX_ROWS;
        int64_t n = (int64_t)sv->peak_running;
        if (sv->concurrent > 0 && n > sv->concurrent) n = sv->concurrent;
        rows[i] = n < 1 ? 1 : n > cap ? cap : (int)n;
        for (int r = 0; r < MAX_ROWS; r++) v->row_end[i][r] = INT64_MIN;
    }
    draw_grid(v, top, top + (int)ns * lane_h - 1, top + (int)ns * lane_h + 4);
    line(v, v->x0 - 1, top, v->x0 - 1, top + (int)ns * lane_h - 1, C_GRID);

    /* Bars, oldest first, each in the first sub-row free at its start. */
    int64_t now = st->now;
    uint64_t nb = vm->n_bars < VM_BARS ? vm->n_bars : VM_BARS;
    for (uint64_t k = nb; k-- > 0;) {
        const vm_bar *b = vm_bar_at(vm, k);
        if (!b || b->service >= ns) continue;
        uint32_t s = b->service;
        int64_t busy = b->end ? b->end : INT64_MAX;
        int row = -1;
        for (int r = 0; r < rows[s]; r++)
            if (v->row_end[s][r] <= b->start) {
                row = r;
                break;
            }
        if (row < 0) row = (int)(b->work_id % (uint64_t)rows[s]);
        if (busy > v->row_end[s][row]) v->row_end[s][row] = busy;
        int64_t end = b->end ? b->end : now;
        if (end < v->t0 || b->start > v->t1) continue;
        double xa = tx(v, b->start), xb = tx(v, end);
        if (xa < v->x0) xa = v->x0;
        if (xb > v->x1) xb = v->x1;
        /* Columns [xa, xb), less one for a gap between bars back to back. */
        int ia = (int)floor(xa), ib = (int)floor(xb) - 1;
        if (ib - ia >= 3) ib--;
        if (ib < ia) ib = ia;
        int row_h = (lane_h - 6) / rows[s];
        if (row_h < 1) row_h = 1;
        int ya = top + (int)s * lane_h + 3 + row * row_h;
        int yb = ya + row_h - 1 - (row_h >= 4);
        box(v, ia, ya, ib, yb, outcome_colour(b->outcome));
        if (b->outcome == VM_RUNNING && b->progress >= 0)
            progress_strip(v, ia, ib, yb, b->progress);
    }

    /* Marks across the lanes. */
    uint64_t nm = vm->n_marks < VM_MARKS ? vm->n_marks : VM_MARKS;
    for (uint64_t k = 0; k < nm; k++) {
        const vm_mark *m = &vm->marks[(vm->n_marks - nm + k) % VM_MARKS];
        if (m->t < v->t0 || m->t > v->t1) continue;
        double x = tx(v, m->t);
        line(v, x, top, x, top + (int)ns * lane_h - 1, m->invalidation ? C_MARK : C_MARK_DIM);
    }

    /* Labels, over the left column. */
    for (uint32_t i = 0; i < ns; i++) {
        const rc_shm_service *sv = &st->services[i];
        int y = top + (int)i * lane_h;
        box(v, 0, y, v->x0 - 2, y + lane_h - 1, i % 2 ? C_LANE_B : C_LANE_A);
        int lines = (lane_h - 4) / 10;
        int ty = y + (lane_h < 12 ? (lane_h - 8) / 2 : 4);
        text(v, 8, ty, 18, lines < 2 && sv->blocked ? C_BLOCKED : C_TEXT, "%.31s", sv->name);
        if (lines >= 2) {
            if (sv->concurrent > 0)
                text(v, 8, ty + 10, 18, C_DIM, "running %llu/%d",
                     (unsigned long long)sv->running, (int)sv->concurrent);
            else
                text(v, 8, ty + 10, 18, C_DIM, "running %llu", (unsigned long long)sv->running);
        }
        if (lines >= 3 && sv->blocked)
            text(v, 8, ty + 20, 18, C_BLOCKED, "blocked %llu", (unsigned long long)sv->blocked);
    }
}

/* One chart: the samples' figures over the lanes' time window.  Point
 * n_samples, where there is one, is the snapshot itself. */
typedef double (*sample_value)(const viewmodel *vm, size_t i);

static double s_pending(const viewmodel *vm, size_t i)
{
    return (double)(i < vm->n_samples ? vm->samples[i].pending : vm->snap.state.counters.pending);
}

static double s_running(const viewmodel *vm, size_t i)
{
    return (double)(i < vm->n_samples ? vm->samples[i].running : vm->snap.state.counters.running);
}

static double s_throughput(const viewmodel *vm, size_t i)
{
    if (i == 0 || i >= vm->n_samples) return 0;
    const vm_sample *a = &vm->samples[i - 1], *b = &vm->samples[i];
    double dt = vm_s(vm_span(b->t, a->t));
    if (dt <= 0 || b->completed < a->completed) return 0;
    return (double)(b->completed - a->completed) / dt;
}

static int64_t s_time(const viewmodel *vm, size_t i)
{
    return i < vm->n_samples ? vm->samples[i].t : vm->snap.state.now;
}

static void plot(view *v, int top, int bottom, double max, sample_value f, size_t n, rgb c)
{
    const viewmodel *vm = v->vm;
    for (size_t i = 1; i < n; i++) {
        int64_t ta = s_time(vm, i - 1), tb = s_time(vm, i);
        if (tb < v->t0 || ta > v->t1 || tb <= ta) continue;
        double fa = f(vm, i - 1), fb = f(vm, i);
        /* Clipped to the window. */
        int64_t ca = ta < v->t0 ? v->t0 : ta, cb = tb > v->t1 ? v->t1 : tb;
        double dt = (double)tb - (double)ta;
        if (!(dt > 0)) continue;
        double ga = fa + (fb - fa) * ((double)ca - (double)ta) / dt;
        double gb = fa + (fb - fa) * ((double)cb - (double)ta) / dt;
        line(v, tx(v, ca), bottom - ga / max * (bottom - top - 2), tx(v, cb),
             bottom - gb / max * (bottom - top - 2), c);
    }
}

static void draw_charts(view *v, int top, int bottom)
{
    const viewmodel *vm = v->vm;
    size_t n = vm->n_samples; /* and the snapshot, if it is newer */
    size_t n_now = n + (n && vm->snap.state.now > vm->samples[n - 1].t);
    double qmax = 1, rmax = 0;
    for (size_t i = 0; i < n_now; i++) {
        if (s_pending(vm, i) > qmax) qmax = s_pending(vm, i);
        if (s_running(vm, i) > qmax) qmax = s_running(vm, i);
        if (s_throughput(vm, i) > rmax) rmax = s_throughput(vm, i);
    }
    if (rmax <= 0) rmax = 1;
    int mid = top + (bottom - top) / 2;
    int ca[2] = {top, mid + 4}, cb[2] = {mid - 4, bottom};
    for (int k = 0; k < 2; k++) {
        box(v, v->x0, ca[k], v->x1, cb[k], C_LANE_A);
        draw_grid(v, ca[k], cb[k], -1);
        line(v, v->x0, cb[k], v->x1, cb[k], C_DIM);
        line(v, v->x0, ca[k], v->x0, cb[k], C_DIM);
    }
    text(v, 8, ca[0] + 2, 0, C_PENDING, "queue depth");
    text(v, 8, ca[0] + 13, 0, C_RUN, "running");
    if (cb[0] - ca[0] >= 34) text(v, 8, ca[0] + 26, 0, C_DIM, "max %.0f", qmax);
    plot(v, ca[0], cb[0], qmax, s_pending, n_now, C_PENDING);
    plot(v, ca[0], cb[0], qmax, s_running, n_now, C_RUN);
    text(v, 8, ca[1] + 2, 0, C_OK, "throughput/s");
    text(v, 8, ca[1] + 13, 0, C_DIM, "max %.1f", rmax);
    plot(v, ca[1], cb[1], rmax, s_throughput, n, C_OK);
}

/* The blocked panel, when the run is stalled: a band between the lanes' time
 * axis and the charts, the blocked work on the left and the wait-for
 * diagnosis on the right.  What does not fit ends in "... and N more". */
static bool blocked_shown(const view *v)
{
    const rc_shm_snapshot *s = &v->vm->snap;
    bool stalled = (s->state.flags & RC_SHM_STALLED) || !strcmp(v->vm->status, "stalled");
    return s->report.n_blocked && s->state.counters.pending && stalled;
}

static uint32_t roots_shown(const rc_shm_report *rep)
{
    return rep->n_roots < RC_SHM_MAX_ROOTS ? rep->n_roots : RC_SHM_MAX_ROOTS;
}

static uint32_t waitfor_lines(const rc_shm_report *rep)
{
    uint32_t n = 0;
    int len;
    for (const char *p = rep->waitfor, *wl; n < 4096 && vm_next_line(&p, &wl, &len);) n++;
    return n;
}

enum { PANEL_ROW = 11, PANEL_PAD = 20 };

/* The panel's height for at most `room` pixels: 0 if there is none. */
static int blocked_height(const view *v, int room)
{
    if (!blocked_shown(v)) return 0;
    const rc_shm_report *rep = &v->vm->snap.report;
    uint32_t left = roots_shown(rep) + rep->n_blocked + (rep->blocked_total > rep->n_blocked) +
                    (rep->roots_total > rep->n_roots);
    uint32_t right = waitfor_lines(rep);
    uint32_t rows = 1 + (left > right ? left : right);
    int h = PANEL_PAD + PANEL_ROW * (int)(rows > 200 ? 200 : rows);
    if (h > room) h = room;
    return h < PANEL_PAD + 3 * PANEL_ROW ? 0 : h;
}

/* One column: a title, then lines[i] for i < n, cut to `rows` rows; the
 * last row says how many were left out. */
typedef void (*panel_line)(view *v, int x, int y, int maxc, uint32_t i, void *ud);

static void panel_column(view *v, int x, int y, int maxc, int rows, uint32_t n, uint64_t total,
                         panel_line line_at, void *ud)
{
    uint32_t shown = (uint64_t)n <= (uint64_t)rows && total <= (uint64_t)rows ? n
                     : rows > 1                                                ? (uint32_t)rows - 1
                                                                               : 0;
    if (shown > n) shown = n;
    for (uint32_t i = 0; i < shown; i++, y += PANEL_ROW) line_at(v, x, y, maxc, i, ud);
    if (total > shown)
        text(v, x, y, maxc, C_DIM, "... and %llu more", (unsigned long long)(total - shown));
}

static int blocked_text(char *buf, size_t cap, const rc_shm_blocked *b)
{
    return snprintf(buf, cap, "#%llu %.31s: %.159s", (unsigned long long)b->id, b->task,
                    b->detail);
}

/* The left column: the root causes first (what to fix), then the blocked
 * work. */
static void blocked_line(view *v, int x, int y, int maxc, uint32_t i, void *ud)
{
    const rc_shm_report *rep = ud;
    char buf[240];
    if (i < roots_shown(rep)) {
        vm_root_text(&rep->roots[i], buf, sizeof buf);
        text(v, x, y, maxc, C_FAIL, "root: %s", buf);
        return;
    }
    blocked_text(buf, sizeof buf, &rep->blocked[i - roots_shown(rep)]);
    text(v, x, y, maxc, C_TEXT, "%s", buf);
}

typedef struct waitfor_walk {
    const char *p;
} waitfor_walk;

static void waitfor_line(view *v, int x, int y, int maxc, uint32_t i, void *ud)
{
    waitfor_walk *w = ud;
    const char *wl;
    int len;
    if (vm_next_line(&w->p, &wl, &len)) text(v, x, y, maxc, C_TEXT, "%.*s", len, wl);
}

static void draw_blocked(view *v, int top, int height)
{
    const rc_shm_report *rep = &v->vm->snap.report;
    int xa = 8, xb = v->w - 8;
    box(v, xa, top, xb, top + height - 1, C_PANEL);
    frame(v, xa, top, xb, top + height - 1, C_FAIL);
    frame(v, xa + 1, top + 1, xb - 1, top + height - 2, C_FAIL);
    int rows = (height - PANEL_PAD) / PANEL_ROW - 1; /* below the titles */
    uint32_t nb = rep->n_blocked < RC_SHM_MAX_BLOCKED ? rep->n_blocked : RC_SHM_MAX_BLOCKED;
    /* The blocked list as wide as its longest line (up to 2/5), the wait-for
     * diagnosis in the rest. */
    int widest = 34;
    for (uint32_t i = 0; i < nb && (int)i < rows; i++) {
        char buf[240];
        int n = blocked_text(buf, sizeof buf, &rep->blocked[i]);
        if (n > widest) widest = n;
    }
    int split = xa + 24 + 8 * widest;
    if (split > xa + (xb - xa) * 2 / 5) split = xa + (xb - xa) * 2 / 5;
    int y = top + 8;
    int lmax = (split - xa - 16) / 8, rmax = (xb - split - 16) / 8;
    text(v, xa + 8, y, lmax, C_FAIL, "STALLED: %llu pending work blocked",
         (unsigned long long)rep->blocked_total);
    panel_column(v, xa + 8, y + PANEL_ROW, lmax, rows, roots_shown(rep) + nb,
                 rep->roots_total + rep->blocked_total, blocked_line, (void *)rep);
    uint32_t nw = waitfor_lines(rep);
    if (!nw) return;
    line(v, split, top + 6, split, top + height - 7, C_FAIL);
    text(v, split + 8, y, rmax, C_RETRY, "wait-for:");
    char wf[sizeof rep->waitfor];
    snprintf(wf, sizeof wf, "%.*s", (int)sizeof wf - 1, rep->waitfor);
    waitfor_walk walk = {wf};
    panel_column(v, split + 8, y + PANEL_ROW, rmax, rows, nw, nw, waitfor_line, &walk);
}

static void draw(view *v)
{
    SDL_SetRenderDrawColor(v->ren, C_BG.r, C_BG.g, C_BG.b, 255);
    SDL_RenderClear(v->ren);
    set_window(v);
    int chart_top = v->h - (v->h < 4 * CHART_H ? v->h / 4 : CHART_H);
    int lanes_bottom = chart_top - AXIS_H - 6;
    /* The blocked panel takes at most two thirds of the lanes' room, below them. */
    int panel_h = blocked_height(v, (lanes_bottom - LANES_TOP) * 2 / 3);
    if (panel_h) lanes_bottom -= panel_h + 6;
    draw_header(v);
    draw_legend(v);
    draw_lanes(v, LANES_TOP, lanes_bottom);
    draw_charts(v, chart_top, v->h - 6);
    if (panel_h) draw_blocked(v, lanes_bottom + AXIS_H + 4, panel_h);
    SDL_RenderPresent(v->ren); /* flushes the batched drawing into the surface */
}

/* ---- canvas, window, screenshot ---- */

static void drop_canvas(view *v)
{
    if (v->ren) {
        /* SDL2_gfx caches glyph textures of the renderer: drop them first. */
        gfxPrimitivesSetFont(NULL, 0, 0);
        SDL_DestroyRenderer(v->ren);
        v->ren = NULL;
    }
    if (v->surf) SDL_FreeSurface(v->surf);
    v->surf = NULL;
}

static bool make_canvas(view *v, int w, int h)
{
    drop_canvas(v);
    v->w = w < 320 ? 320 : w;
    v->h = h < 240 ? 240 : h;
    v->surf = SDL_CreateRGBSurfaceWithFormat(0, v->w, v->h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (v->surf) {
        SDL_SetSurfaceBlendMode(v->surf, SDL_BLENDMODE_NONE);
        v->ren = SDL_CreateSoftwareRenderer(v->surf);
    }
    if (!v->ren) {
        live_error(v->opts, "cannot make a %dx%d canvas: %s", v->w, v->h, SDL_GetError());
        return false;
    }
    return true;
}

static void show(view *v, SDL_Window *win)
{
    SDL_Surface *ws = SDL_GetWindowSurface(win);
    if (!ws) return;
    SDL_BlitSurface(v->surf, NULL, ws, NULL);
    SDL_UpdateWindowSurface(win);
}

static int write_png(const view *v, SDL_Surface *surf, const char *path)
{
    SDL_Surface *rgb24 = SDL_ConvertSurfaceFormat(surf, SDL_PIXELFORMAT_RGB24, 0);
    if (!rgb24) {
        live_error(v->opts, "cannot write the screenshot '%s': %s", path, SDL_GetError());
        return 1;
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)rgb24->w;
    img.height = (png_uint_32)rgb24->h;
    img.format = PNG_FORMAT_RGB;
    /* Opened here, not by png_image_write_to_file: that one removes the
     * path when a write fails, and a device or pipe (/dev/full, /dev/stdout)
     * is no file of ours to remove.  A regular file is, half written. */
    FILE *f = fopen(path, "wb");
    int ok = 0;
    if (!f) {
        live_error(v->opts, "cannot write the screenshot '%s': %s", path, strerror(errno));
    } else {
        ok = png_image_write_to_stdio(&img, f, 0, rgb24->pixels, rgb24->pitch, NULL);
        const int werr = ferror(f) ? errno : 0;
        if (fclose(f) != 0 && ok) ok = 0, img.message[0] = 0;
        if (!ok) {
            live_error(v->opts, "cannot write the screenshot '%s': %s", path,
                       img.message[0] ? img.message : strerror(werr ? werr : errno));
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) remove(path);
        }
    }
    png_image_free(&img);
    SDL_FreeSurface(rgb24);
    return ok ? 0 : 1;
}

/* ---- the loop ---- */

static int on_key(view *v, SDL_Keycode k, bool *quit)
{
    switch (k) {
    case SDLK_q:
    case SDLK_ESCAPE: *quit = true; break;
    case SDLK_p:
        if (v->drv)
            live_pause(v->drv, !live_paused(v->drv));
        else
            v->frozen = !v->frozen;
        break;
    case SDLK_SPACE:
        if (v->drv && live_paused(v->drv)) return live_step(v->drv);
        break;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS: zoom_by(v, 0.5); break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        if (v->zoom > 0) zoom_by(v, 2);
        break;
    case SDLK_0:
    case SDLK_KP_0: v->zoom = 0; break;
    default: break;
    }
    return 0;
}

int live_sdl_run(const live_opts *opts)
{
    rc_shm_reader *r;
    int attached = live_attach(opts, &r);
    if (attached) return attached;
    view *v = calloc(1, sizeof *v);
    if (v) v->vm = vm_new(r);
    if (!v || !v->vm) {
        free(v);
        rc_shm_detach(r);
        live_error(opts, "out of memory");
        return 1;
    }
    v->opts = opts;
    v->drv = opts->driver;
    /* runcue-sim names its own segment after its pid: leave that out of the
     * picture, which is to be the same every run. */
    char own[32];
    snprintf(own, sizeof own, "sim-%d", (int)getpid());
    v->show_name = !(opts->driver && !strcmp(opts->shm_name, own));

    /* SIGINT and SIGTERM are ours, not SDL's (which would make them a quit):
     * leave as runcue-top does. */
    live_signals_catch();
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    /* Every frame is drawn in software already: show it through the video
     * driver's plain framebuffer, never through a GL texture. */
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");

    int rc = 0, status = 0;
    SDL_Window *win = NULL;
    if (!getenv("SDL_VIDEODRIVER") && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        /* No display to show a window on.  A screenshot needs none; a
         * window would only wait, unseen, for a key nobody can press. */
        if (!opts->screenshot) {
            live_error(opts, "no display (DISPLAY and WAYLAND_DISPLAY are not set): use "
                             "--screenshot FILE to draw without one, or set SDL_VIDEODRIVER");
            status = 1;
            goto out;
        }
        SDL_SetHint(SDL_HINT_VIDEODRIVER, "offscreen");
    }
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        live_error(opts, "cannot start SDL video: %s", SDL_GetError());
        status = 1;
        goto out;
    }
    int w = opts->width > 0 ? opts->width : 1280, h = opts->height > 0 ? opts->height : 720;
    char title[160];
    snprintf(title, sizeof title, "runcue-viz: %s", opts->shm_name);
    win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, w, h,
                           SDL_WINDOW_RESIZABLE);
    if (!win) {
        live_error(opts, "cannot open a window: %s", SDL_GetError());
        status = 1;
        goto out;
    }
    if (!make_canvas(v, w, h)) {
        status = 1;
        goto out;
    }

    /* Headless screenshot of a whole run: step from instant to instant, as
     * fast as it goes.  Unlike pacing by the wall clock, the samples come out
     * the same every run. */
    bool fast = opts->screenshot && v->drv;
    /* A screenshot is of the last frame: leave when the run is over. */
    bool exit_at_end = opts->exit_at_end || opts->screenshot;
    double last_shown = 0;
    bool quit = false;
    vm_update(v->vm); /* the first sample, before anything runs */
    while (!quit && !live_got_signal) {
        SDL_Event e;
        while (rc >= 0 && SDL_PollEvent(&e)) {
            if (e.type == SDL_QUIT)
                quit = true;
            else if (e.type == SDL_KEYDOWN)
                rc = on_key(v, e.key.keysym.sym, &quit);
            else if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED &&
                     (e.window.data1 != v->w || e.window.data2 != v->h) &&
                     !make_canvas(v, e.window.data1, e.window.data2)) {
                status = 1;
                goto out;
            }
        }
        if (rc < 0 || quit || live_got_signal) break;
        if (v->drv && !live_paused(v->drv)) rc = fast ? live_step(v->drv) : live_drive(v->drv);
        if (rc < 0) break;
        if (!v->frozen) vm_update(v->vm);
        bool over = v->drv ? live_over(v->drv) : !v->vm->live;
        bool leave = over && exit_at_end;
        double now = live_wall();
        if (!fast || leave || now - last_shown >= 0.033) {
            draw(v);
            show(v, win);
            last_shown = now;
        }
        if (leave) break;
        if (!fast && (v->frozen || !v->vm->behind)) SDL_Delay(33); /* behind: catch up */
    }
    if (rc < 0) {
        live_error(opts, "the run failed: %s", rc_strerror(rc));
        status = 1;
    } else if (opts->screenshot && !live_got_signal) {
        draw(v); /* the picture of the model as it is (the same if it was drawn) */
        status = write_png(v, v->surf, opts->screenshot);
    }
out:
    drop_canvas(v);
    if (win) SDL_DestroyWindow(win);
    SDL_Quit();
    vm_free(v->vm);
    free(v);
    rc_shm_detach(r);
    int sig = live_signals_release(opts);
    return status ? status : sig;
}
