/* cluster_pace.h -- a cluster run paced to the wall clock by libsim's pacer
 * (pace.h): runcue-sim --cluster with --realtime, --tui or --sdl.
 * Single-threaded. */
#ifndef CLUSTER_PACE_H
#define CLUSTER_PACE_H

#include "cluster.h"
#include "pace.h"

/* Start pacing c at `speed` (<= 0: 1).  Over, p->outcome is
 * cluster_outcome_of(c); the pacer's calls return -1 if the engine failed
 * (cluster_errmsg). */
void cluster_pacer_init(sim_pacer *p, cluster *c, double speed);

#endif
