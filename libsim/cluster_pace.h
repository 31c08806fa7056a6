/* cluster_pace.h -- a cluster run paced to the wall clock, as pace.h does
 * for a sim: `speed` virtual seconds per wall second, pause, and single
 * steps from one instant to the next.  runcue-sim --cluster with --realtime,
 * --tui or --sdl uses it.  Single-threaded. */
#ifndef CLUSTER_PACE_H
#define CLUSTER_PACE_H

#include <stdbool.h>

#include "cluster.h"

typedef struct cluster_pacer {
    cluster *c;
    double speed; /* virtual seconds per wall second */
    bool paused;
    bool over; /* the run ended; outcome holds cluster_outcome_of */
    int outcome;
    double wall_anchor; /* wall time at which virtual time was virt_anchor */
    double virt_anchor;
} cluster_pacer;

/* Start pacing c at `speed` (<= 0: 1). */
void cluster_pacer_init(cluster_pacer *p, cluster *c, double speed);
/* Run up to the virtual time the wall clock says (unless paused); the live
 * view is published.  0, or -1 if the engine failed (cluster_errmsg). */
int cluster_pacer_drive(cluster_pacer *p);
/* Run the next instant at which something happens. */
int cluster_pacer_step(cluster_pacer *p);
/* Virtual time stands still while paused (shown in the segment's flags). */
void cluster_pacer_pause(cluster_pacer *p, bool paused);
/* Wall seconds until the next event is due (0 if it is, or none is). */
double cluster_pacer_wait_s(const cluster_pacer *p);
/* Change the speed keeping the current virtual time. */
void cluster_pacer_set_speed(cluster_pacer *p, double speed);

#endif
