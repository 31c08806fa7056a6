/* pace.h -- running a simulation against the wall clock: virtual time paced
 * to `speed` virtual seconds per wall second, pause, and single steps from
 * one event instant to the next.  runcue-sim --realtime and the live views
 * (through tools/) use it.  Single-threaded, like the sim. */
#ifndef SIM_PACE_H
#define SIM_PACE_H

#include <stdbool.h>

#include "sim.h"

typedef struct sim_pacer {
    sim *s;
    double speed; /* virtual seconds per wall second */
    bool paused;
    bool over;   /* the run ended; outcome holds sim_finish's answer */
    int outcome;
    double wall_anchor; /* wall time at which virtual time was virt_anchor */
    double virt_anchor;
} sim_pacer;

/* Start pacing a started sim (sim_start) at `speed` (<= 0: 1). */
void sim_pacer_init(sim_pacer *p, sim *s, double speed);
/* Run up to the virtual time the wall clock says (unless paused), then
 * publish the segment if there is one.  0, or a negative RC_E* code. */
int sim_pacer_drive(sim_pacer *p);
/* Run to the next instant at which something happens. */
int sim_pacer_step(sim_pacer *p);
/* Virtual time stands still while paused; the cue itself is not paused, so
 * the run stays the one the seed gives.  Shown in the segment's flags. */
void sim_pacer_pause(sim_pacer *p, bool paused);
/* Wall seconds until the next event instant is due (0 if it is, or if
 * nothing is to come). */
double sim_pacer_wait_s(const sim_pacer *p);
/* Change the speed keeping the current virtual time. */
void sim_pacer_set_speed(sim_pacer *p, double speed);

#endif
