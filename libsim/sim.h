/*
 * sim.h -- a simulation: the runcue core on a virtual clock, driving fake
 * services against a fake artifact store.
 *
 * A scenario builds the model through this API: services with declared
 * limits, tasks with a latency/error profile, and work with the artifact keys
 * it needs and produces.  The engine supplies the rest:
 *
 *   is_ready   every needed key is valid in the artifact store (the first
 *              missing one is the key the work waits on)
 *   handlers   a fake service: draws a latency (base, +/- jitter, outliers x
 *              multiplier) and an error, and finishes the work that much
 *              virtual time later; on success it writes the produced keys
 *   limits     the fake service also plays the remote side: it counts every
 *              start that breaks its service's declared concurrency or rate
 *
 * Randomness comes from PCG32, one stream per consumer (latency, errors,
 * invalidation, workload shape), all derived from one seed, so the same
 * options and seed give the same run, event for event, on any machine.
 *
 * Single-threaded: everything runs on the caller's thread.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "eventlog.h"
#include "pcg32.h"
#include "runcue.h"
#include "runcue_shm.h"

typedef struct sim sim;

/* The run's options: the runcue-sim command line. */
typedef struct sim_config {
    uint64_t count;         /* scenario size (-n) */
    double latency_ms;      /* base latency (-l) */
    double jitter;          /* +/- fraction (-j) */
    double outlier_chance;  /* --outliers */
    double outlier_mult;    /* --outlier-mult */
    double error_rate;      /* -e */
    double duration_s;      /* -d: stop at this virtual time; 0 = run to the end */
    int concurrent;         /* -c */
    unsigned rate_count;    /* -r N/S: N starts ...           (0 = no rate limit) */
    double rate_window_s;   /*          ... per S seconds */
    double submit_rate;     /* -s: initial work per second; 0 = all at t=0 */
    double stall_timeout_s; /* --timeout: fail pending work after this long without
                               progress; 0 = report the exact stall at once */
    uint64_t seed;
} sim_config;

/* The defaults of the original simulator. */
void sim_config_defaults(sim_config *cfg);

/* How a task's fake service behaves. */
typedef struct sim_profile {
    double latency_ms;
    double jitter;         /* +/- fraction, uniform */
    double outlier_chance; /* 0..1 */
    double outlier_mult;   /* outliers take latency x mult x U(0.8, 1.5) */
    double error_rate;     /* 0..1 */
} sim_profile;

/* The profile every task gets from the command line (latency, jitter,
 * outliers, errors), for scenarios to scale. */
sim_profile sim_profile_from_config(const sim_config *cfg);

/* Random streams.  Each consumer draws only from its own. */
typedef enum sim_stream {
    SIM_STREAM_LATENCY = 1,
    SIM_STREAM_ERRORS = 2,
    SIM_STREAM_INVALIDATION = 3,
    SIM_STREAM_WORKLOAD = 4,
} sim_stream;

int sim_new(sim **out, const sim_config *cfg);
void sim_free(sim *s);
const sim_config *sim_get_config(const sim *s);
rc_cue *sim_cue(sim *s);
rc_loop *sim_loop(sim *s);
sim_pcg32 *sim_rng(sim *s, sim_stream stream);
/* The last error message ("" if none). */
const char *sim_errmsg(const sim *s);

/* ---- building the model (scenarios, scenario files) ---- */

/* concurrent: RC_NO_LIMIT or >= 1; rate_count 0: no rate limit. */
int sim_add_service(sim *s, const char *name, int concurrent, unsigned rate_count,
                    double rate_window_s);

/*
 * Called when a work of the task finished in the fake service, after its
 * produced keys were written (ok) or not (failed), before runcue is told.
 * It may submit work (fan-out) and invalidate artifacts.
 */
typedef void (*sim_done_fn)(sim *s, const rc_work *work, bool ok, void *ud);

int sim_add_task(sim *s, const char *name, const char *service, const sim_profile *profile,
                 sim_done_fn done, void *ud);

typedef struct sim_work_spec {
    const char *task;
    const char *label; /* shown in the log; optional */
    const char *const *needs;
    size_t n_needs;
    const char *const *produces;
    size_t n_produces;
} sim_work_spec;

/* Queue work for the start of the run: submitted at t=0, or spaced by
 * --submit-rate.  The spec is copied. */
int sim_add_initial(sim *s, const sim_work_spec *spec);
/* Or generate the initial work: fn(s, i, ud) is called for i = 0..count-1,
 * at t=0 or spaced by --submit-rate, and submits with sim_submit.  Nothing is
 * copied up front, so a million items cost nothing until they are due. */
typedef int (*sim_workload_fn)(sim *s, uint64_t index, void *ud);
void sim_set_workload(sim *s, uint64_t count, sim_workload_fn fn, void *ud);
/* Submit work now (from a done hook or a workload function). */
int sim_submit(sim *s, const sim_work_spec *spec, rc_work_id *out_id);
/* The same, not before delay_s from now and not before the virtual time
 * not_before_s (0: none): the later of the two. */
int sim_submit_delayed(sim *s, const sim_work_spec *spec, double delay_s, double not_before_s,
                       rc_work_id *out_id);
/* Retries for a task's failures: its fake service's errors become retryable
 * (rc_retry) under this policy.  After sim_add_task. */
int sim_task_retry(sim *s, const char *task, const rc_retry_policy *policy);
/* Cancel every pending work item with this label; returns how many (or a
 * negative RC_E* code). */
int sim_cancel_label(sim *s, const char *label);
/* Call fn(s, ud) at virtual time t_s (seconds from the start).  A pending
 * call keeps the run going: a stall is only reported once none is left. */
int sim_at(sim *s, double t_s, void (*fn)(sim *s, void *ud), void *ud);
/* Make an artifact invalid (logged as "invalidated"); waiting work re-checks. */
int sim_invalidate(sim *s, const char *key, const char *why);
/* Mark an artifact valid without a producer (initial inputs). */
int sim_provide(sim *s, const char *key);

/* Hand scenario data to the sim: free_fn(p) runs in sim_free. */
int sim_own(sim *s, void *p, void (*free_fn)(void *p));

/* ---- output ---- */

/* Publish the run as the live segment /dev/shm/runcue.NAME (runcue_shm.h):
 * its events, state, "invalidated" marks and, at the end, whether it
 * finished or stalled.  The message is in sim_errmsg on error. */
int sim_publish(sim *s, const char *name, const char *title);
/* The segment's writer, or NULL if the run is not published. */
rc_shm_writer *sim_shm(sim *s);

/* Log every event to log (owned by the caller; NULL: none). */
void sim_set_log(sim *s, sim_eventlog *log);

/* Called after every event is logged, for live views.  NULL: none. */
typedef void (*sim_observer_fn)(sim *s, const sim_event_record *rec, void *ud);
void sim_set_observer(sim *s, sim_observer_fn fn, void *ud);

/* ---- running ---- */

typedef enum sim_outcome {
    SIM_DONE = 0,    /* nothing pending at the end */
    SIM_STALLED = 3, /* work pending that nothing could unblock */
    SIM_CUT = 4,     /* --duration reached with work still going */
} sim_outcome;

/* Submit the initial work and run to the end.  Returns a sim_outcome, or a
 * negative RC_E* code if the run could not be set up. */
int sim_run(sim *s);

/* Step-wise running, for live views: run until virtual time t (or the end).
 * Returns 1 while the run goes on, 0 at its end. */
int sim_start(sim *s);
int sim_run_until(sim *s, rc_time t);
/* After the last step: decide the outcome (stall diagnosis included). */
int sim_finish(sim *s);

/* ---- results ---- */

typedef struct sim_service_result {
    const char *name;
    int concurrent; /* RC_NO_LIMIT if none */
    unsigned rate_count;
    double rate_window_s;
    uint64_t completed, failed;
    size_t peak_in_flight;
    uint64_t violations; /* starts the fake service saw that broke the limits */
} sim_service_result;

typedef struct sim_percentiles {
    double p50, p95, p99;
} sim_percentiles;

typedef struct sim_summary {
    uint64_t submitted, completed, failed, skipped, cancelled, pending, running;
    uint64_t retries, invalidations;
    double duration_s; /* virtual */
    double throughput_per_s;
    bool stalled;
    uint64_t violations;
    sim_percentiles queue_wait_s, run_time_s;
    const sim_service_result *services;
    size_t n_services;
} sim_summary;

const sim_summary *sim_get_summary(sim *s);

/* The human summary (and, when stalled, the blocked list and wait-for
 * chains) as text. */
void sim_print_summary(sim *s, FILE *out, bool utf8);
/* The blocked work and wait-for chains captured when the run stalled. */
void sim_print_stall(sim *s, FILE *out, bool utf8);
/* The stall's diagnosis as one JSON object (README: Machine-readable output),
 * or NULL if the run did not stall.  Owned by the sim. */
const char *sim_stall_json(const sim *s);
/* One JSON object (stable key order) with the final summary and, when
 * stalled, the diagnosis. */
void sim_print_report_json(sim *s, FILE *out, const char *scenario);

#endif
