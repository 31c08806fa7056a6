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
    unsigned progress_steps; /* --progress-steps: a running work reports progress
                                at 1/N, 2/N ... of its latency; 0 = none */
    bool keep_finished;      /* keep every finished work for rc_get after the
                                run; by default finished work that produces
                                nothing is forgotten (the reports never need
                                it), so memory follows what is pending */
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

/* The longest latency one run may draw: about 31.7 years, so times stay
 * far inside rc_time (292 years) and every sum of them saturates. */
#define SIM_LATENCY_MAX_MS 1e12
/* The longest latency the profile can draw (an outlier: latency x mult x
 * 1.5, or latency x (1 + jitter)); NaN-free for finite inputs. */
double sim_profile_max_latency_ms(double latency_ms, double jitter, double outlier_mult);

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
    /* Optional: the cue's entries of needs then produces (rc_work_key,
     * rc_key_hold), so they are not looked up again; NULL elements (or
     * keys NULL) are found from the strings. */
    rc_key *const *keys;
} sim_work_spec;

/* Queue work for the start of the run: submitted at t=0, or spaced by
 * --submit-rate.  The spec is copied. */
int sim_add_initial(sim *s, const sim_work_spec *spec);
/* Or generate the initial work: fn(s, i, ud) is called for i = 0..count-1,
 * at t=0 or spaced by --submit-rate, and submits with sim_submit.  Nothing is
 * copied up front, so a million items cost nothing until they are due. */
typedef int (*sim_workload_fn)(sim *s, uint64_t index, void *ud);
void sim_set_workload(sim *s, uint64_t count, sim_workload_fn fn, void *ud);
/* A hint for a workload whose initial items (sim_add_initial and
 * sim_set_workload) make up to per_item artifact keys each, and extra keys
 * besides: when every item is submitted at t=0 (no --submit-rate),
 * sim_start makes the cue's key table big enough for that many keys (at
 * most 2^26) before it submits them, so that the table does not grow, and
 * move every key, while they are made.  With a submit rate keys come and
 * go, and nothing is done.  A later call replaces the hint.  Out of memory
 * is ignored (the table grows as it would have), and nothing the run
 * prints changes. */
void sim_reserve_keys(sim *s, uint64_t per_item, uint64_t extra);
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
/* sim_invalidate for a key the caller holds the cue's entry of (no lookup). */
int sim_invalidate_key(sim *s, rc_key *key, const char *why);
/* Mark an artifact valid without a producer (initial inputs). */
int sim_provide(sim *s, const char *key);

/* Hand scenario data to the sim: free_fn(p) runs in sim_free. */
int sim_own(sim *s, void *p, void (*free_fn)(void *p));

/* ---- what expectations ask about (track.c) ----
 *
 * Kept only when asked for, so a run costs nothing more than it did unless
 * an expectation needs the data: a declared label template costs its text, a
 * tracked label a few counters, a tracked service's times 16 bytes per
 * finished work of that service. */

/* Declare the labels the scenario's work can carry, so a name can be checked
 * before the run: tmpl itself when count is 0; else the count labels tmpl
 * gives for index 0..count-1, where each index expression (index_expr.h:
 * "{i}", "{i4}", "{i-1}", "{i+1%N}", ...) is replaced, and "{i}" is
 * zero-padded to width digits (width 0 or 1: not padded).  tmpl is borrowed, not copied (a scenario declares one per work
 * template): it must live as long as s, e.g. a string literal or data handed
 * to sim_own.  0 or RC_ENOMEM / RC_EINVAL. */
int sim_declare_labels(sim *s, const char *tmpl, uint64_t count, unsigned width);

typedef enum sim_label_lookup {
    SIM_LABEL_KNOWN = 0,      /* some declared template gives it */
    SIM_LABEL_UNKNOWN = 1,    /* templates were declared; none gives it */
    SIM_LABEL_UNDECLARED = 2, /* the scenario declared no labels: cannot tell */
} sim_label_lookup;

/* Whether label is one the scenario can submit; when unknown, hint gets
 * " (did you mean 'x'?)" for a close declared label, or "". */
sim_label_lookup sim_label_known(const sim *s, const char *label, char *hint, size_t hintlen);

/* What happened to the work carrying one label (every item with it). */
typedef struct sim_label_stats {
    uint64_t queued, started, completed, failed;
    double first_start, last_start;       /* virtual seconds; valid if started */
    double first_complete, last_complete; /* valid if completed */
} sim_label_stats;

/* Record the starts and finishes of work labelled label from now on (before
 * sim_run).  Tracking a label twice is one tracking.  0 or RC_ENOMEM. */
int sim_track_label(sim *s, const char *label);
/* The figures of a tracked label; NULL if it is not tracked. */
const sim_label_stats *sim_label_get(const sim *s, const char *label);

/* Keep the queue wait and run time of every finished work of this service,
 * so the summary gives its percentiles (sim_service_result.times).  0,
 * RC_ENOENT (no such service) or RC_ENOMEM. */
int sim_track_service_times(sim *s, const char *service);

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
    SIM_DONE = 0,       /* nothing pending at the end */
    SIM_STALLED = 3,    /* work pending that nothing could unblock */
    SIM_CUT = 4,        /* --duration reached with work still going */
    SIM_UNFINISHED = 5, /* the loop ended with work pending or running that is
                         * not a stall: virtual time ran out (a bug if seen) */
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

typedef struct sim_percentiles {
    double p50, p95, p99;
} sim_percentiles;

typedef struct sim_service_result {
    const char *name;
    int concurrent; /* RC_NO_LIMIT if none */
    unsigned rate_count;
    double rate_window_s;
    uint64_t completed, failed;
    size_t peak_in_flight;
    uint64_t violations; /* starts the fake service saw that broke the limits */
    /* Its own percentiles, if sim_track_service_times asked for them. */
    bool times_tracked;
    sim_percentiles queue_wait_s, run_time_s;
} sim_service_result;

/* Why the run stalled, as names: work is named by its label, or "task #id"
 * without one.  Each list is NULL-terminated and keeps at most its first
 * SIM_STALL_FACTS_MAX entries (in the diagnosis's order); the n_ counts say
 * how many the diagnosis had. */
#define SIM_STALL_FACTS_MAX 64
typedef struct sim_stall_facts {
    char **missing; /* keys waited on that nothing produces */
    size_t n_missing;
    char **failed; /* failed work that waiters depend on */
    size_t n_failed;
    char ***cycles; /* each cycle's members, NULL-terminated */
    size_t n_cycles;
} sim_stall_facts;

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
    const sim_stall_facts *stall; /* NULL unless stalled */
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
