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
    rc_time *starts; /* ring of the last rate_count start times */
    unsigned starts_filled, starts_next;
    size_t in_flight, peak_in_flight;
    uint64_t completed, failed, violations;
} fakesvc;

typedef struct simtask {
    sim *s;
    char *name;
    fakesvc *svc; /* NULL: no service */
    sim_profile profile;
    sim_done_fn done;
    void *ud;
    bool retry; /* failures are retryable (sim_task_retry) */
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
    struct flight *next_free;
    struct flight *next_all; /* every flight ever made, freed with the sim */
} flight;

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

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
    char *stall_text;
    size_t stall_len;
    char *stall_json;        /* the diagnosis object (README: Machine-readable output) */
    char stall_summary[160]; /* the "diagnosis" record's detail */
    int setup_error;

    sim_summary summary;
    sim_service_result *svc_results;

    sim_call *calls; /* every sim_at call, freed with the sim */

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
void sim_build_summary(sim *s);

#endif
