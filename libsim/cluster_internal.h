/* cluster_internal.h -- the cluster simulation's state, shared by the
 * actors (cluster.c) and the report (cluster_report.c).  Private to libsim. */
#ifndef CLUSTER_INTERNAL_H
#define CLUSTER_INTERNAL_H

#include "cluster.h"
#include "engine_emu.h"
#include "pcg32.h"
#include "runcue_shm.h"

/* The virtual clock's epoch on the engine: 2100-01-01, so a recorded run
 * replayed on a real server reads the recorded times (see
 * tests/sim/differential.py). */
#define CLUSTER_EPOCH_US INT64_C(4102444800000000)

typedef struct cl_event {
    int64_t t;
    uint64_t seq;
    int kind;
    int actor;    /* index into actors, or -1 */
    uint32_t inc; /* the actor's incarnation when this was scheduled */
    void *p;
    uint64_t a;
} cl_event;

typedef struct cl_actor {
    bool scheduler;
    unsigned idx; /* 0-based within its kind */
    char name[16];
    uint32_t inc; /* bumped by a crash: its pending events are void */
    bool down, paused;
    int cut; /* partitions in force */
    sim_pcg32 link;
    int64_t last_up, last_down; /* FIFO per direction */
    int64_t backoff;
    bool reconnect; /* a call failed: connect again first */
    cl_event *deferred;
    size_t n_deferred, cap_deferred;
} cl_actor;

typedef enum job_state { JOB_RUNNING, JOB_FINISHING, JOB_OVER } job_state;

/* One delivery of a job to an agent, and its execution in the service. */
typedef struct cl_job {
    int agent;
    uint32_t inc;
    job_state state;
    char id[24], tok[24];
    uint64_t item;
    unsigned svc;
    unsigned delivery;
    int64_t lease_us;
    int64_t local_deadline;   /* the agent's own view of when its lease ends */
    int64_t engine_lease_end; /* the engine's view (for the limit check) */
    bool holding;             /* counted by the service as holding a lease */
    bool started;             /* the agent got it and runs it */
    bool child_done, ok;
    bool finished_ok;         /* the engine took its finish */
    struct cl_job *next_all;
} cl_job;

typedef struct cl_svcstate {
    int64_t *ring; /* admit times, the last rate_count */
    unsigned ring_n, ring_next;
    cl_job **holding; /* executions holding a lease */
    size_t n_holding, cap_holding;
    size_t peak_holding;
    uint64_t starts, completed, rate_violations, conc_violations;
} cl_svcstate;

enum { ITEM_IDLE, ITEM_SUBMITTING, ITEM_INFLIGHT, ITEM_DONE };

typedef struct cl_sched {
    unsigned *queue; /* items to (re)submit, as indexes into own[] */
    size_t q_head, q_n, q_cap;
    size_t inflight_calls;
    bool registering, polling;
    size_t registered;
} cl_sched;

typedef struct cl_agent {
    unsigned busy; /* slots in use */
    bool claiming, wake_pending, claim_timer;
    sim_pcg32 latency, errors;
    uint64_t started, completed; /* for the live view */
} cl_agent;

typedef struct cl_fault_state {
    int64_t recovered_at; /* -1: not yet */
    uint64_t *items;      /* agent faults: items held at the fault */
    size_t n_items, n_left;
} cl_fault_state;

struct cluster {
    cluster_config cfg;
    engine_emu *engine;
    bool engine_down;
    sim_eventlog *log;
    char errmsg[512];

    cl_event *heap;
    size_t n_heap, cap_heap;
    uint64_t seq;
    int64_t now;

    cl_actor *actors; /* schedulers, then agents */
    size_t n_actors;
    cl_sched *scheds;
    cl_agent *agents;
    cl_job *all_jobs;

    /* per item */
    uint8_t *item_state; /* the owning scheduler's view */
    uint64_t *item_job;  /* the job id it waits for */
    uint8_t *applied;    /* the artifact store: applied results (saturating) */
    uint16_t *executions, *attempts;
    uint64_t resolved, failed;

    cl_svcstate svc[CLUSTER_MAX_SERVICES];
    cl_fault_state faults[CLUSTER_MAX_FAULTS];

    uint64_t applied_total, applied_twice, executed_twice, redeliveries, stale_finishes,
        lease_losses, resubmits, attached, retries, failed_calls;
    int64_t last_progress;
    bool lost_writes;
    int outcome;
    bool started, over;

    rc_shm_writer *shm; /* the live view (cluster_view.c), or NULL */
    int64_t view_next;  /* virtual time of its next state */
};

/* cluster_report.c */
double cl_seconds(int64_t t_us);

/* cluster_view.c: an event as the log has it, into the live view; the
 * state (rows per agent and per service) into the live view. */
void cl_view_event(cluster *c, const char *event, const char *svc, uint64_t item,
                   const char *detail);
void cl_view_publish(cluster *c);
/* An execution that ends without its finish taken (crash, lost lease,
 * refused finish): its bar on the agent's lane ends as retried. */
void cl_view_job_ended(cluster *c, const cl_job *j);

#endif
