/* sim_progress.h -- one line of progress on stderr while a run goes on.
 *
 * runcue-sim shows it when stderr is a terminal and nothing else shows that
 * the run is alive (no live view, no -v): the counts, the virtual time, the
 * completion rate and the wall time elapsed, redrawn in place a few times a
 * second and erased when the run ends, so what the run prints is the same
 * with or without it.  Single-threaded: the run's thread. */
#ifndef TOOLS_SIM_PROGRESS_H
#define TOOLS_SIM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim.h"

typedef struct sim_progress {
    sim *s;
    rc_observer obs; /* counts events: the clock is read every so many */
    uint64_t events;
    double start, last_draw, last_completed_at;
    uint64_t last_completed;
    double rate; /* completions per wall second, since the last line */
    bool drawn;  /* a line is on the terminal */
} sim_progress;

/* Start watching s (the caller keeps p until sim_progress_stop). */
void sim_progress_start(sim_progress *p, sim *s);
/* Redraw the line if it is due; for loops that wait between events. */
void sim_progress_tick(sim_progress *p);
/* Stop watching and erase the line. */
void sim_progress_stop(sim_progress *p);

#endif
