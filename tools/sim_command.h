/* sim_command.h -- the runcue-sim command line that reproduces a run.
 *
 * The live views show it in their header: every option that changes what
 * the run does, in one canonical order, each value written so that it reads
 * back as the same number.  Pacing and output options (--realtime, --speed,
 * --tui, --sdl, --shm, --log, -v, --report) are left out: they change how a
 * run is shown, never what it does. */
#ifndef TOOLS_SIM_COMMAND_H
#define TOOLS_SIM_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "sim.h"
#include "sim_cluster.h"

/* Write "runcue-sim --scenario NAME -n N ... --seed S" (or --scenario-file
 * FILE instead of --scenario and -n) for cfg into buf (cap bytes, always
 * terminated).  scenario_file NULL: a built-in scenario.  Options at their
 * defaults are left out, except -n and --seed.  A value that is not a plain
 * word (a path with spaces, say) is single-quoted for the shell.  Returns
 * false if the command did not fit: buf then ends in " ...". */
bool sim_command_line(char *buf, size_t cap, const sim_config *cfg, const char *scenario,
                      const char *scenario_file);
/* The same for a cluster run: the cluster's options given (--cluster,
 * --faults, --slots, --lease, --link-latency) before --seed.  co NULL:
 * sim_command_line. */
bool sim_command_line_cluster(char *buf, size_t cap, const sim_config *cfg, const char *scenario,
                              const char *scenario_file, const sim_cluster_opts *co);

#endif
