/* cluster.h -- a simulated cluster on the virtual clock: K schedulers and M
 * agents that reach one engine over links with seeded latency and jitter,
 * and the engine is the Redis transport's own Functions library
 * (runcue.lua) running on the engine emulation (engine_emu.h).
 *
 * Schedulers enqueue work with dedupe keys, read their results stream and
 * apply each result; agents claim as their slots free, run the work in a
 * fake service, heartbeat at a third of the lease and finish with their
 * fencing token.  Faults are scheduled up front: agent crash (its leases
 * expire), agent pause (its late finish is refused), partition of an agent
 * or a scheduler, scheduler crash and restart (it resubmits; dedupe
 * attaches), engine restart losing the last S seconds of writes.
 *
 * The fake services check the limits at the engine's clock across the whole
 * cluster (never more than N starts in any window W, never more than C
 * holding a lease), and the run checks that every item is applied exactly
 * once and none is lost.  All randomness comes from PCG32 streams derived
 * from the seed: one per link, per agent's service latency, per error draw.
 *
 * Single-threaded.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "eventlog.h"
#include "runcue_shm.h"

enum { CLUSTER_MAX_SERVICES = 8, CLUSTER_MAX_FAULTS = 64, CLUSTER_MAX_ACTORS = 64 };

typedef enum cluster_fault_kind {
    CF_CRASH,          /* an agent (+D: restarts after D) or a scheduler (restarts after D) */
    CF_PAUSE,          /* an agent stops for D, then resumes */
    CF_PARTITION,      /* an agent's or a scheduler's link is cut for D */
    CF_ENGINE_RESTART, /* the engine is down for D and loses the last `loss` seconds */
} cluster_fault_kind;

typedef struct cluster_fault {
    cluster_fault_kind kind;
    bool scheduler;  /* the target is a scheduler (else an agent) */
    unsigned target; /* 1-based: agent2, sched1 */
    double at_s, for_s, loss_s;
} cluster_fault;

typedef struct cluster_service {
    char name[32];
    int concurrent;      /* -1: no limit */
    unsigned rate_count; /* 0: no rate limit */
    double rate_window_s;
    double lease_s;
    unsigned max_deliveries;
    double latency_ms, jitter, error_rate;
} cluster_service;

typedef struct cluster_config {
    unsigned schedulers, agents, slots;  /* slots per agent */
    uint64_t count;                      /* work items */
    double link_latency_ms, link_jitter; /* one way; +/- fraction */
    cluster_service services[CLUSTER_MAX_SERVICES];
    size_t n_services;
    cluster_fault faults[CLUSTER_MAX_FAULTS];
    size_t n_faults;
    double duration_s; /* 0: run to the end */
    uint64_t seed;
} cluster_config;

/* Defaults: 2 schedulers, 4 agents of 4 slots, 1 ms links with 50% jitter. */
void cluster_config_defaults(cluster_config *cfg);

/*
 * Parse a fault list, e.g.
 *   crash:agent2@5s,pause:agent1@8s+4s,partition:sched1@10s+3s,
 *   engine-restart@12s:loss=1s
 * into cfg->faults (appended), checking targets against cfg->schedulers and
 * cfg->agents.  0, or -1 with a one-line message in err.
 */
int cluster_parse_faults(cluster_config *cfg, const char *spec, char *err, size_t errlen);
/* One fault as the spec writes it ("pause:agent1@8s+4s"). */
void cluster_fault_format(const cluster_fault *f, char *buf, size_t len);
/* Parse "K:M" (schedulers:agents). */
int cluster_parse_shape(cluster_config *cfg, const char *spec, char *err, size_t errlen);

typedef struct cluster cluster;

/* Read the functions library from where the build installs it (or, in a
 * build tree, its source).  Returns malloc'd text or NULL with a message. */
char *cluster_load_functions(size_t *len, char *err, size_t errlen);

/* A cluster ready to run, its engine loaded with `lua` (the library text).
 * 0, or -1 with a message in err (bad configuration, library load error). */
int cluster_new(cluster **out, const cluster_config *cfg, const char *lua, size_t len, char *err,
                size_t errlen);
void cluster_free(cluster *c);
/* Log events (NULL: none); the caller owns the log. */
void cluster_set_log(cluster *c, sim_eventlog *log);
/* Record every engine call for the differential test (NULL: none). */
void cluster_record(cluster *c, FILE *fp);

typedef enum cluster_outcome {
    CLUSTER_DONE = 0,    /* every item applied (or failed for good) */
    CLUSTER_STALLED = 3, /* no progress for a long time */
    CLUSTER_CUT = 4,     /* --duration reached */
    CLUSTER_ERROR = -1,  /* the engine failed (see cluster_errmsg) */
} cluster_outcome;

/* Run to the end; the outcome. */
int cluster_run(cluster *c);

/* Stepping, for a paced run (cluster_pace.c): schedule the start (done by
 * the first cluster_advance), then run the events due at or before
 * until_us (only those of the next instant if `one`).  True once the run is
 * over (cluster_outcome_of says how).  The live view, if any, is published
 * on return. */
void cluster_start(cluster *c);
bool cluster_advance(cluster *c, int64_t until_us, bool one);
int64_t cluster_now_us(const cluster *c);
/* The next event's virtual time (INT64_MAX: none, or over). */
int64_t cluster_next_us(const cluster *c);
int cluster_outcome_of(const cluster *c);

/*
 * Publish the run live as shared memory NAME (runcue_shm.h, a fed writer):
 * a service row per agent (its slots as the limit, its running work, its
 * starts and completions; "(down)", "(paused)" or "(cut)" while faulted),
 * per scheduler (items in flight) and per service (the limits, the leases
 * held across the cluster, the starts in the current rate window); every log
 * event into the ring, with the agent as the service for started,
 * completed, lease_lost and stale_finish; each fault and its end as a mark.
 * The state is published every 50 ms of virtual time and when the run
 * stops.  The cluster owns the writer (cluster_free unpublishes).  0 or an
 * RC_E* code with a message in err.
 */
int cluster_publish(cluster *c, const char *name, const char *title, char *err, size_t errlen);
/* The writer, or NULL. */
rc_shm_writer *cluster_shm(const cluster *c);
const char *cluster_errmsg(const cluster *c);

/* The human summary, and one JSON object (stable key order). */
void cluster_print_summary(const cluster *c, FILE *out);
void cluster_print_report_json(const cluster *c, FILE *out, const char *scenario);

/* The invariants that must hold whatever the faults: nothing applied twice,
 * nothing lost (when the run was not cut), and, unless the engine lost
 * writes, no limit violations.  Returns the number broken and prints each
 * on out. */
int cluster_check_invariants(const cluster *c, FILE *out);

#endif
