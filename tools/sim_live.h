/* sim_live.h -- runcue-sim's paced runs: the views step a run through
 * libsim's pacer (pace.h), and --realtime runs it without a view. */
#ifndef SIM_LIVE_H
#define SIM_LIVE_H

#include "live.h"
#include "pace.h"

/* The live_driver_ops of a sim_pacer (its ctx). */
extern const live_driver_ops sim_live_pacer_ops;

/* Step the virtual clock no faster than the wall clock allows, without a
 * view, calling tick (if not NULL) at least every 0.1 s of wall time as it
 * waits.  Returns the outcome or an RC_E* code. */
int sim_live_realtime(sim_pacer *p, void (*tick)(void *ud), void *ud);

#endif
