/* sim_internal.h -- the simulation's state, shared by the engine (sim.c)
 * and the report (report.c).  Private to libsim. */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "artstore.h"
#include "runcue_shm.h"
#include "sim.h"

/* A fake service: the remote side that counts limit violations. */
typedef struct fakesvc {
    char *name;
    int concurrent;
    unsigned rate_count;
    rc_time rate_window;
    rc_time *starts; /* ring of the last rate_count start times; grows (while
                      * not yet full, so still in order) with the starts made */
    unsigned starts_cap, starts_filled, starts_next;
    size_t in_flight, peak_in_flight;
    uint64_t completed, failed, violations;
    struct svc_times *times; /* NULL unless sim_track_service_times */
} fakesvc;

typedef struct simtask {
    sim *s;
    char *name;
    fakesvc *svc; /* NULL: no service */
    sim_profile profile;
    sim_done_fn done;
    void *ud;
    bool retry; /* failures are retryable (sim_task_retry) */
    /* The store's copy of name, once a work of the task wrote (NULL before,
     * or out of memory then: the name is looked up on each write). */
    const char *producer_label;
} simtask;

/* A call at a virtual time (sim_at), owned by the sim. */
typedef struct sim_call {
    sim *s;
    void (*fn)(sim *s, void *ud);
    void *ud;
    struct sim_call *next;
} sim_call;

typedef struct initial_work {
    simtask *task;
    char *label;
    char **keys; /* needs then produces */
    size_t n_needs, n_produces;
} initial_work;

/* One work in the fake service, between start and finish. */
typedef struct flight {
    sim *s;
    simtask *task;
    rc_token token;
    double latency_ms;
    bool ok, outlier;
    rc_time start;         /* when the fake service took it */
    unsigned progress_step; /* progress reports made (--progress-steps) */
    struct flight *next_free;
    struct flight *next_all; /* every flight ever made, freed with the sim */
} flight;

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

/* The queue waits and run times of one service's finished work. */
typedef struct svc_times {
    dvec waits, runs;
} svc_times;

/* A declared label template (sim_declare_labels). */
typedef struct label_tmpl {
    const char *text; /* borrowed */
    uint64_t count; /* 0: the text is the label */
    unsigned width;
} label_tmpl;

/* A tracked label and its figures, kept sorted by name. */
typedef struct tracked_label {
    char *name;
    sim_label_stats st;
} tracked_label;

struct sim {
    sim_config cfg;
    rc_loop *loop;
    rc_cue *cue;
    sim_artstore *store;
    sim_pcg32 rng[5];
    char errmsg[512];

    fakesvc **svcs;
    size_t n_svcs;
    simtask **tasks;
    size_t n_tasks;

    initial_work *initial;
    size_t n_initial, initial_cap;
    uint64_t workload_count;
    uint64_t keys_per_item, keys_extra; /* sim_reserve_keys: room made at sim_start */
    sim_workload_fn workload_fn;
    void *workload_ud;
    uint64_t next_initial; /* index into initial work, then the workload */
    rc_timer submit_timer;

    flight *free_flights;
    flight *all_flights;
    const flight *finishing; /* the flight whose result is being reported */

    sim_eventlog *log;
    rc_observer log_observer; /* the event log and the statistics */
    rc_shm_writer *shm;       /* the live segment, if published */
    sim_observer_fn observer;
    void *observer_ud;

    dvec waits, runs;
    uint64_t invalidations;
    rc_time last_event; /* the run's virtual duration, unless cut short */
    bool started, stalled, cut;
    bool unfinished; /* ended with work left that is not a stall (sim_finish) */
    char *stall_text;
    size_t stall_len;
    char *stall_json;        /* the diagnosis object (README: Machine-readable output) */
    char stall_summary[160]; /* the "diagnosis" record's detail */
    int setup_error;

    sim_summary summary;
    sim_service_result *svc_results;
    sim_stall_facts stall_facts;

    label_tmpl *label_tmpls;
    size_t n_label_tmpls;
    tracked_label *tracked;
    size_t n_tracked;
    bool track_times; /* some service's times are kept */

    sim_call *calls; /* every sim_at call, freed with the sim */
    /* Each submitted work's needs then produces, resolved to store handles
     * (the work's rc_submit_opts.ud), in chunks freed with the sim. */

    struct owned {
        void *p;
        void (*free_fn)(void *p);
    } *owned;
    size_t n_owned;
};


/* report.c */
void sim_dvec_push(dvec *d, double x);
/* Describe the stall (blocked work and the wait-for diagnosis, as text and
 * as JSON) once, while the pending work is all still there: at the exact
 * stall, or when the stall timeout is about to fail it (by_timeout). */
void sim_capture_stall(sim *s, bool by_timeout);
/* The time of the run's last event (what last_event says, and the cue's
 * events the sim's observer was not called for). */
rc_time sim_last_event(const sim *s);
/* Set the kinds of event the sim's observer is called for: all when a log,
 * an observer or tracked labels read them, else only those the statistics
 * need.  Called whenever one of those changes. */
void sim_watch_events(sim *s);
void sim_build_summary(sim *s);
/* sim_percentiles of the samples in d (reorders them). */
sim_percentiles sim_dvec_percentiles(dvec *d);

/* track.c */
/* Push ev's queue wait (if it started) and run time. */
void sim_record_times(dvec *waits, dvec *runs, const rc_event *ev);
/* Feed one event of the cue to the label and service trackers. */
void sim_track_event(sim *s, const rc_event *ev);
/* Free what the trackers and the label catalogue hold. */
void sim_track_free(sim *s);
/* Record the diagnosis's facts as names (sim_stall_facts). */
void sim_stall_facts_capture(sim *s, const rc_diagnosis *d);

#endif
