/* pace.h -- running a simulation against the wall clock: virtual time paced
 * to `speed` virtual seconds per wall second, pause, and single steps from
 * one event instant to the next.  runcue-sim --realtime and the live views
 * (through tools/) use it, for a sim or, through sim_pace_run, for any run
 * on a virtual clock of its own (the cluster, cluster_pace.h).
 * Single-threaded, like the sim. */
#ifndef SIM_PACE_H
#define SIM_PACE_H

#include <stdbool.h>

#include "runcue_shm.h"
#include "sim.h"

/* What the pacer needs of a run. */
typedef struct sim_pace_run {
    void *run;
    rc_time (*now)(void *run);  /* its virtual clock */
    rc_time (*next)(void *run); /* its next event instant; RC_TIME_NEVER: none */
    /* Run up to `limit` (only the next instant if `one`) and publish.  1
     * while the run goes on, 0 when it is over (*outcome set), or a
     * negative RC_E* code. */
    int (*advance)(void *run, rc_time limit, bool one, int *outcome);
    rc_shm_writer *(*shm)(void *run); /* its segment, or NULL */
} sim_pace_run;

typedef struct sim_pacer {
    sim_pace_run r;
    double speed; /* virtual seconds per wall second */
    bool paused;
    bool over; /* the run ended; outcome holds its answer (sim_finish's for a sim) */
    int outcome;
    double wall_anchor; /* wall time at which virtual time was virt_anchor */
    double virt_anchor;
} sim_pacer;

/* Start pacing a started sim (sim_start) at `speed` (<= 0: 1). */
void sim_pacer_init(sim_pacer *p, sim *s, double speed);
/* Start pacing another run. */
void sim_pacer_init_run(sim_pacer *p, const sim_pace_run *run, double speed);
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
