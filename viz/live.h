/* live.h -- the live views' entry points.
 *
 * Both views draw a viewmodel (viewmodel.h) fed by a shared-memory reader.
 * Attached (runcue-top NAME, runcue-viz NAME) they only watch.  In process
 * (runcue-sim --tui / --sdl) the simulation publishes a segment, the view
 * attaches to it like any other watcher, and a live_driver steps the run:
 * paced to the wall clock (`speed` virtual seconds per second), pause, and
 * single steps from one event instant to the next.  Views read the segment
 * through the harness reader (runcue_shm.h) and nothing else. */
#ifndef VIZ_LIVE_H
#define VIZ_LIVE_H

#include <stdbool.h>
#include <stdio.h>

#include "runcue_shm.h"

/* What a view may ask of the run it shows in process.  The view knows no
 * simulator: the program hands it these operations (runcue-sim wires them
 * to libsim's pacer). */
typedef struct live_driver_ops {
    int (*drive)(void *ctx);  /* catch up with the wall clock; 0 or RC_E* */
    int (*step)(void *ctx);   /* run to the next instant; 0 or RC_E* */
    void (*pause)(void *ctx, bool paused);
    bool (*paused)(void *ctx);
    void (*set_speed)(void *ctx, double speed);
    double (*speed)(void *ctx);
    bool (*over)(void *ctx);  /* the run ended */
} live_driver_ops;

typedef struct live_driver {
    const live_driver_ops *ops;
    void *ctx;
} live_driver;

static inline int live_drive(const live_driver *d) { return d->ops->drive(d->ctx); }
static inline int live_step(const live_driver *d) { return d->ops->step(d->ctx); }
static inline void live_pause(const live_driver *d, bool p) { d->ops->pause(d->ctx, p); }
static inline bool live_paused(const live_driver *d) { return d->ops->paused(d->ctx); }
static inline double live_speed(const live_driver *d) { return d->ops->speed(d->ctx); }
static inline bool live_over(const live_driver *d) { return d->ops->over(d->ctx); }
static inline void live_set_speed(const live_driver *d, double v) { d->ops->set_speed(d->ctx, v); }

/* Wall-clock seconds (CLOCK_MONOTONIC). */
double live_wall(void);

typedef struct live_opts {
    const char *prog;       /* the program, for messages (NULL: "runcue") */
    const char *shm_name;   /* the segment to read */
    const live_driver *driver; /* in process: the run to step; NULL attached */
    bool exit_at_end;       /* return when the run is over without waiting for q */
    const char *screenshot; /* SDL: write the final frame here (PNG) and return
                               when the run is over; needs no display */
    int width, height;      /* SDL: window size (0: 1280x720) */
    double attach_timeout;  /* attached: seconds to wait for the segment */
    bool any_owner;         /* attach to a segment owned by another user too */
} live_opts;

/* The plain-text picture of a snapshot (runcue-top --once): the header with
 * `status`, counters, services and, when stalled, the blocked work and the
 * wait-for chain.  Bounded by the layout whatever the snapshot holds. */
void live_print(FILE *out, const rc_shm_snapshot *s, const char *status);

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

/* Attach to opts->shm_name, waiting up to opts->attach_timeout seconds; if
 * the segment is not there at once, say so on stderr before waiting.  0, or
 * an exit status with the reason on stderr: 2 for a malformed name (bad
 * usage), 1 for a segment that could not be read. */
int live_attach(const struct live_opts *opts, rc_shm_reader **out);

/* The options runcue-top and runcue-viz share, as getopt_long gave them
 * (c, optarg): --wait S ('w'), --any-owner ('a'), --version ('V'), each
 * into *opts.  -1 to go on (c is one of them, or another left to the
 * caller: then *handled is false), or the exit status to leave with (0
 * after --version, 2 with one line on stderr). */
int live_cli_option(live_opts *opts, int c, const char *arg, bool *handled);
/* The one NAME after the options (argv[optind]) into opts->shm_name: -1, or
 * 2 with one line on stderr if there is none or more than one. */
int live_cli_name(live_opts *opts, int argc, char **argv, int optind);

/* "PROG: message" on stderr, PROG from opts->prog. */
void live_error(const struct live_opts *opts, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Whether this build has them. */
extern const bool live_have_tui, live_have_sdl;

#endif
