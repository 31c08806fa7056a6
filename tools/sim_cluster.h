/* sim_cluster.h -- runcue-sim's cluster mode (--cluster K:M, --faults,
 * --scenario cluster): the options it adds and the run. */
#ifndef SIM_CLUSTER_H
#define SIM_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "eventlog.h"
#include "sim.h"

typedef struct sim_cluster_opts {
    bool enabled;
    const char *shape;  /* "K:M" or NULL */
    const char *faults; /* or NULL */
    const char *record; /* --record-engine FILE */
    unsigned slots;     /* 0: default */
    double lease_s;     /* 0: default */
    double link_ms;     /* < 0: default */
    /* Live: --shm NAME, --tui or --sdl (a segment of its own if no --shm),
     * --realtime, --speed, --exit-at-end, --screenshot. */
    const char *shm_name;
    enum { SIM_CLUSTER_NO_VIEW, SIM_CLUSTER_TUI, SIM_CLUSTER_SDL } view;
    bool realtime, exit_at_end;
    double speed;
    const char *screenshot;
    const char *title; /* the views' header: the command that reproduces the run */
    /* A scenario file's cluster (scenario_file_load_cluster), or NULL: the
     * built-in scenario from the command line. */
    const struct cluster_config *preset;
    const char *file; /* its path: the report's scenario name */
} sim_cluster_opts;

/* Whether this build has the cluster simulation (Lua 5.1). */
extern const bool sim_cluster_available;

/* Check the shape and the fault list (while options are parsed, before
 * anything runs).  0, or -1 with the option's name in *opt and a one-line
 * message in err. */
int sim_cluster_check(const sim_cluster_opts *co, const char **opt, char *err, size_t errlen);

/*
 * Check the cluster options against the run's (one-line error on stderr and
 * exit 2 on bad input), run the cluster and print as the other scenarios do:
 * the summary, or --report json; the event log through `log`.  Returns the
 * exit status.
 */
int sim_cluster_main(const sim_cluster_opts *co, const sim_config *cfg, sim_eventlog *log,
                     bool report_json);

#endif
