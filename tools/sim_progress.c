/* sim_progress.c -- see sim_progress.h. */
#include "sim_progress.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum { EVENTS_PER_LOOK = 256 };
static const double FIRST_AFTER_S = 0.5, EVERY_S = 0.25;

static double wall(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

/* "12.3k" for big counts, to keep the line short. */
static void human(char *out, size_t cap, double v)
{
    if (v >= 1e9)
        snprintf(out, cap, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, cap, "%.1fk", v / 1e3);
    else
        snprintf(out, cap, "%.0f", v);
}

static void draw(sim_progress *p, double now)
{
    rc_stats st;
    rc_cue_stats(sim_cue(p->s), &st);
    if (now > p->last_completed_at) {
        p->rate = (double)(st.completed - p->last_completed) / (now - p->last_completed_at);
        p->last_completed = st.completed;
        p->last_completed_at = now;
    }
    char done[16], sub[16], rate[16];
    human(done, sizeof done, (double)st.completed);
    human(sub, sizeof sub, (double)st.submitted);
    human(rate, sizeof rate, p->rate);
    char line[200];
    int n = snprintf(line, sizeof line,
                     "completed %s/%s  failed %llu  running %zu  t=%.1fs  %s/s  elapsed %.1fs",
                     done, sub, (unsigned long long)st.failed, st.running,
                     rc_to_seconds(rc_loop_now(sim_loop(p->s))), rate, now - p->start);
    /* Never wider than the terminal: a wrapped line cannot be redrawn. */
    struct winsize ws;
    int cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1 : 79;
    if (n > cols) n = cols;
    if (n < 0) n = 0;
    fprintf(stderr, "\r%.*s\033[K", n, line);
    fflush(stderr);
    p->drawn = true;
    p->last_draw = now;
}

void sim_progress_tick(sim_progress *p)
{
    double now = wall();
    if (now - p->start < FIRST_AFTER_S || now - p->last_draw < EVERY_S) return;
    draw(p, now);
}

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    sim_progress *p = ud;
    if (++p->events % EVENTS_PER_LOOK == 0) sim_progress_tick(p);
}

void sim_progress_start(sim_progress *p, sim *s)
{
    *p = (sim_progress){.s = s};
    p->start = p->last_draw = p->last_completed_at = wall();
    p->obs.on_event = on_event;
    p->obs.ud = p;
    rc_cue_observe(sim_cue(s), &p->obs);
}

void sim_progress_stop(sim_progress *p)
{
    rc_cue_unobserve(sim_cue(p->s), &p->obs);
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}
