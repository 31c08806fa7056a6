/* scenario_file.h -- load a runcue-sim scenario from a JSON file.
 *
 * A scenario file declares services (with their limits), tasks (with their
 * latency/error profile), artifacts that are valid from the start, and the
 * initial work with the keys it needs and produces.  The schema is in
 * scenarios/SCENARIO_FILES.md.
 *
 * The whole file is checked before anything is added to the sim: a file with
 * a mistake adds nothing (except when the sim itself refuses a service or
 * task, e.g. a name that is already registered: then what came before it
 * stays; free the sim).  Errors are one line:
 *
 *   FILE: cannot read: No such file or directory
 *   FILE:LINE:COL: JSON syntax error: expected ',' or '}' after a member, near '...'
 *   FILE: tasks[2].service: unknown service 'apii' (did you mean 'api'?)
 *   FILE: tasks[0]: unknown key 'latncy_ms' (did you mean 'latency_ms'?)
 *
 * The initial work is handed to the sim as its workload (sim_set_workload):
 * items are generated, in file order, when they are due, so "repeat" costs
 * memory only for the templates.  Load one file per sim, and do not set
 * another workload on it.
 */
#ifndef SCENARIO_FILE_H
#define SCENARIO_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "sim.h"

/* At most this many work items in all, counting every repetition. */
#define SCENARIO_FILE_MAX_WORK 10000000u
/* At most this many services, and this many tasks. */
#define SCENARIO_FILE_MAX_SERVICES 1000u
#define SCENARIO_FILE_MAX_TASKS 1000u
/* At most this many keys in inputs, and in one item's needs or produces. */
#define SCENARIO_FILE_MAX_INPUTS 100000u
#define SCENARIO_FILE_MAX_KEYS_PER_ITEM 100u
/* Artifact keys and labels: at most this many bytes each. */
#define SCENARIO_FILE_MAX_STRING 1000u
/* The labels and keys of all work items, counting every repetition (with
 * each {i} as 20 bytes), add up to at most this many bytes. */
#define SCENARIO_FILE_MAX_WORK_BYTES (1024u * 1024u * 1024u)
/* Files larger than this are refused. */
#define SCENARIO_FILE_MAX_BYTES (64u * 1024u * 1024u)

/*
 * Load the scenario file at path into s.  Defaults (latency, jitter, outliers,
 * outlier multiplier, error rate, and "cli" limits) come from
 * sim_get_config(s).
 * Returns 0; RC_EINVAL for an unreadable or invalid file; RC_ENOMEM when
 * memory ran out.  On error, err (if not NULL) holds a one-line message of at
 * most errlen bytes naming the file and the problem.
 */
int scenario_file_load(sim *s, const char *path, char *err, size_t errlen);

/* The same, and the file's "expect" section (expectations and seeds; see
 * expect.h) is added to expect when the whole file loads.  expect may be
 * NULL: the section is still checked.  The labels of the file's work are
 * declared to the sim (sim_declare_labels), so expectations can name them. */
typedef struct expect_set expect_set;
int scenario_file_load_expect(sim *s, const char *path, expect_set *expect, char *err,
                              size_t errlen);

/* The same from a NUL-terminated string; name_for_errors (NULL: "<string>")
 * stands for the file name in messages. */
int scenario_file_load_string(sim *s, const char *name_for_errors, const char *json, char *err,
                              size_t errlen);

/* The same from len bytes at data, which need not be NUL-terminated and may
 * hold NUL bytes (an error, as in a file); name_for_errors (NULL: "<buffer>")
 * stands for the file name in messages.  The caller keeps data: the loader
 * works on its own copy. */
int scenario_file_load_buffer(sim *s, const char *name_for_errors, const void *data, size_t len,
                              char *err, size_t errlen);

/*
 * A cluster scenario: a file whose top level has a "cluster" section (and
 * at most "name" and "description" besides) describes a run on the
 * simulated cluster (cluster.h): schedulers, agents, slots, the services
 * with their limits, leases and profiles, the faults and the work count
 * (SCENARIO_FILES.md).  *is_cluster says whether the file has the section;
 * if so it is checked into cc, with defaults from cfg (the command line).
 * Returns 0, RC_EINVAL for an unreadable file, bad JSON or a bad section
 * (a one-line message in err), RC_ENOMEM.  Files without the section are
 * left to scenario_file_load (which refuses the section).
 */
typedef struct cluster_config cluster_config;
int scenario_file_load_cluster(const char *path, const sim_config *cfg, cluster_config *cc,
                               bool *is_cluster, char *err, size_t errlen);
/* The same from len bytes of text (need not be NUL-terminated; name is
 * what messages call it). */
int scenario_file_load_cluster_buffer(const char *name, const char *text, size_t len,
                                      const sim_config *cfg, cluster_config *cc, bool *is_cluster,
                                      char *err, size_t errlen);

#endif
