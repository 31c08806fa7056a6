/* live.h -- the live views' entry points.
 *
 * Both views draw a viewmodel (viewmodel.h) fed by a shared-memory reader.
 * Attached (runcue-top NAME, runcue-viz NAME) they only watch.  In process
 * (runcue-sim --tui / --sdl) the simulation publishes a segment, the view
 * attaches to it like any other watcher, and a live_driver steps the
 * simulation: virtual time paced to the wall clock (`speed` virtual seconds
 * per second), pause, and single steps from one event instant to the next. */
#ifndef VIZ_LIVE_H
#define VIZ_LIVE_H

#include <stdbool.h>

#include "runcue_shm.h"

typedef struct sim sim;

typedef struct live_driver {
    sim *s;          /* NULL when attached: nothing to drive */
    double speed;    /* virtual seconds per wall second */
    bool paused;
    bool over;       /* the run ended; outcome holds sim_finish's answer */
    int outcome;
    double wall_anchor; /* wall time at which virtual time was virt_anchor */
    double virt_anchor;
} live_driver;

void live_driver_init(live_driver *d, sim *s, double speed);
/* Run the simulation up to the virtual time the wall clock says (unless
 * paused).  Returns a negative RC_E* code on failure, else 0. */
int live_drive(live_driver *d);
/* Run to the next instant at which something happens (while paused). */
int live_step(live_driver *d);
void live_pause(live_driver *d, bool paused);
/* Wall seconds until the next event instant is due (0 if it is, or if
 * nothing is to come). */
double live_wait_s(const live_driver *d);
/* Change the speed keeping the current virtual time. */
void live_set_speed(live_driver *d, double speed);
/* Wall-clock seconds (CLOCK_MONOTONIC). */
double live_wall(void);

typedef struct live_opts {
    const char *shm_name;   /* the segment to read */
    live_driver *driver;    /* in process: the simulation to step; NULL attached */
    bool exit_at_end;       /* return when the run is over without waiting for q */
    const char *screenshot; /* SDL: write the final frame here (PNG) */
    int width, height;      /* SDL: window size (0: 1280x720) */
    double attach_timeout;  /* attached: seconds to wait for the segment */
} live_opts;

/* ncurses dashboard (tui.c).  Returns 0, or 1 with a message on stderr.
 * Built without ncurses: says so and returns 1. */
int live_tui_run(const live_opts *opts);
/* SDL2 view (sdl_view.c).  Same contract. */
int live_sdl_run(const live_opts *opts);
/* While a view runs, SIGINT and SIGTERM only set live_got_signal: the view
 * leaves its loop and restores the terminal or closes its window first.
 * live_signals_release puts the old handlers back and returns 0 if no signal
 * came; else 130 in process (the caller cleans up), or dies of the signal. */
#include <signal.h>
extern volatile sig_atomic_t live_got_signal;
void live_signals_catch(void);
int live_signals_release(const live_opts *opts);

/* Whether this build has them. */
extern const bool live_have_tui, live_have_sdl;

#endif
