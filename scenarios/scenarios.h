/* scenarios.h -- the built-in workloads of runcue-sim.
 *
 * Each builds its model on a sim (services, tasks, initial work) from the run's
 * options; the same shapes as the original simulator's scenarios, with every
 * work item declaring the artifacts it needs and produces so any wait can be
 * explained. */
#ifndef SCENARIOS_H
#define SCENARIOS_H

#include <stddef.h>

#include "sim.h"

typedef struct scenario {
    const char *name;
    const char *description;
    /* Build the model.  0 or a negative RC_E* code (message in sim_errmsg). */
    int (*build)(sim *s);
} scenario;

/* The registry, in listing order. */
const scenario *scenario_list(size_t *n);
/* NULL if no scenario has that name. */
const scenario *scenario_find(const char *name);

#endif
