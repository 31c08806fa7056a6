/* cue_types.h -- the scheduler's data structures, and nothing else.  The
 * modules that work on them stand in one direction, each calling only those
 * below it (scripts/check-layers.sh holds them to it):
 *
 *   cue.c        the public object: registries, submit, cancel, accessors
 *   timeouts.c   what the pending, stall, poll and refresh timers do
 *   dispatch.c   the dispatch pass: checks, starts, finishes, artifacts
 *   diagnose.c   why work waits
 *   work.c       work states: where a pending item lives, and every move
 *                between places; the timers' arming; finished work
 *   observe.c    events to observers and hooks; the cue's error message
 *   cue_types.h  these structures, over the base (loop, maps, run queue,
 *                rate ring, allocation)
 *
 * Where a pending work item lives says what it waits for:
 *   DIRTY    submitted or woken; the next dispatch pass checks it
 *   WAITING  not ready (in its key entry's waiters, or the unkeyed list),
 *            or its task has no handler (in the task's orphan list)
 *   QUEUED   ready, in its service's run queue behind a limit
 *   DELAYED  not before a time (submit delay or retry backoff)
 * Dispatch never rescans: each place is visited only when something that
 * concerns it changed. */
#ifndef RC_CUE_TYPES_H
#define RC_CUE_TYPES_H

#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"
#include "dlist.h"
#include "idmap.h"
#include "idtable.h"
#include "keytab.h"
#include "ratelimit.h"
#include "runcue.h"
#include "runq.h"
#include "small.h"
#include "strmap.h"

#define RC_CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct rc_svc {
    char *name;
    size_t index;
    int concurrent; /* RC_NO_LIMIT or >= 1 */
    rc_rate rate;
    size_t running, peak_running;
    size_t waiting; /* pending work of its tasks that is not ready */
    uint64_t started, completed, failed;
    rc_runq q;
    rc_timer rate_timer; /* armed while rate-limited with work queued */
    bool runnable;       /* on the cue's runnable list */
    struct rc_svc *next_runnable;
    struct rc_cue *cue;
} rc_svc;

typedef struct rc_taskdef {
    char *name;
    rc_svc *svc; /* never NULL: tasks without a service use the cue's free one */
    rc_handler_fn handler;
    void *ud;
    bool has_retry;
    rc_retry_policy retry;
    uint64_t rng; /* splitmix64 state for backoff jitter */
    rc_dlist orphans; /* pending work waiting for a handler */
} rc_taskdef;

/* Which part of a work's phase union holds something. */
enum rc_phase {
    RC_PHASE_NONE = 0,
    RC_PHASE_CHECKED,  /* filed waiting by a check; kept until it starts */
    RC_PHASE_RUNNING,  /* started; kept until it is checked again or finishes */
    RC_PHASE_FINISHED, /* completed with a result; kept until released */
};

enum rc_where {
    RC_W_NONE = 0,
    RC_W_DIRTY,
    RC_W_WAITING,
    RC_W_ORPHAN,
    RC_W_QUEUED,
    RC_W_DELAYED,
    RC_W_RUNNING,
    RC_W_FINISHED,
};

typedef struct rc_delay {
    rc_timer timer;
    struct rc_work *work;
    rc_time not_before; /* when the timer fires */
} rc_delay;

/* The result-artifact fields of a work (results.c), allocated only for work
 * that declares a result_key, inputs or an input_param: most work has none. */
typedef struct rc_work_flow {
    char *result_key; /* keep the result under this key; NULL: none */
    char **inputs;    /* result keys it needs, filled into its params */
    size_t n_inputs;
    char *input_param; /* NULL: "input" */
    bool input_list;
    bool inputs_held; /* counted as a consumer of its inputs */
} rc_work_flow;

/* What is kept of a completed producer once it is forgotten (forget_completed):
 * what the diagnosis names a producer by.  Referenced from the key entries it
 * is the newest forgotten producer of; freed when none refers to it. */
typedef struct rc_ghost {
    uint64_t id;
    struct rc_taskdef *task;
    uint64_t epoch; /* the artifact epoch when it finished */
    uint32_t refs;  /* key entries naming it */
    bool has_label;
    char label[];
} rc_ghost;

/* A slab of work records. */
typedef struct rc_wslab {
    char *mem;             /* the allocation; NULL: this entry is free */
    char *recs;            /* n records, from the first 64-byte boundary in mem */
    struct rc_work *free;  /* released records, linked through their task */
    uint32_t n, bump;      /* records in it; the first never handed out */
    uint32_t live;         /* records in use */
    bool listed;           /* on the cue's partial list */
} rc_wslab;

/* What few works need: kept apart (from the cue's small slab, when first
 * needed) so that every pending item does not carry it.  Read through
 * RC_COLD, which gives all-empty fields for a work without one. */
typedef struct rc_work_cold {
    cJSON *params;          /* NULL: none (rc_work_params gives an empty object) */
    void *ud;               /* rc_submit_opts.ud */
    rc_delay *delay;        /* DELAYED (and kept for the next delay) */
    uint64_t *unmet_big;    /* RC_PHASE_CHECKED, more than RC_UNMET_SMALL needs */
    char *progress_msg;     /* RC_PHASE_RUNNING: rc_progress's message */
    char *remote_status;    /* RC_PHASE_RUNNING: rc_work_set_remote_status */
    char *error;            /* the last failure's message */
    rc_work_flow *flow;     /* result artifacts; NULL: none */
} rc_work_cold;

static const rc_work_cold rc_no_cold;
#define RC_COLD(w) ((const rc_work_cold *)((w)->cold ? (w)->cold : &rc_no_cold))

/* Labels up to this many bytes (with the terminator) live in the work. */
enum { RC_LABEL_INLINE = 16 };
enum rc_label_kind { RC_LABEL_NONE = 0, RC_LABEL_IN_WORK, RC_LABEL_ALLOCATED };

/* A work item.  Field order packs it: every pending item holds one. */
/* The words around the wait key in a waiting work's detail, kept once per
 * cue: a check that says "waiting on 'KEY'" for a million keys keeps one
 * frame ("waiting on '", "'") and each work points at it, and the detail
 * reads prefix + the wait key's text + suffix.  Details that do not contain
 * their wait key, and any past the first RC_DETAIL_FRAMES frames, are copied
 * per work. */
enum { RC_DETAIL_FRAMES = 16 };
typedef struct rc_detail_frame {
    size_t prefix_len, suffix_len;
    char text[]; /* the prefix, then the suffix and a terminator */
} rc_detail_frame;

/* 128 bytes, two cache lines (the slabs are 64-byte aligned; in a cue that
 * tracks pending ages the age node makes it 144, and most records three
 * lines): every pending item holds one, and a dispatch pass reads it whole.  A finished
 * work's result shares the phase union. */
enum { RC_UNMET_SMALL = 32 }; /* unmet needs kept in the record (more: cold) */
_Static_assert(RC_MAX_DECLARED <= UINT16_MAX && RC_MAX_ATTEMPTS <= UINT16_MAX,
               "the record's counts are 16 bits");

struct rc_work {
    rc_work_id id; /* 0 while on the free list */
    rc_taskdef *task;
    char **needs; /* needs then produces: the text of their key entries */
    uint16_t n_needs, n_produces; /* rc_submit refuses more than RC_MAX_DECLARED */
    uint16_t attempt;             /* rc_task_retry allows RC_MAX_ATTEMPTS */
    uint16_t slab; /* the cue's work slab that holds this record */
    uint8_t state; /* rc_state */
    uint8_t where; /* enum rc_where */
    uint8_t phase : 2; /* enum rc_phase: which part of the phase union is in use */
    uint8_t label_kind : 2; /* enum rc_label_kind */
    bool skipped : 1;
    bool retry_asked : 1; /* the last attempt ended with rc_retry */
    bool warned : 1;
    bool in_age : 1;
    /* WAITING: the declared needs the last check named unmet (bit i: needs[i]
     * in unmet_small; cold->unmet_big when there are more than
     * RC_UNMET_SMALL needs), for the diagnosis.  Cleared with the phase. */
    bool has_unmet : 1;
    bool detail_framed : 1; /* detail is an rc_detail_frame around wait_key */
    /* cold->flow is set (result inputs or a result key): the checks and the
     * dispatch learn that a work has none without reading its cold part. */
    bool has_flow : 1;
    uint32_t unmet_small;
    rc_time created, started;
    union {                    /* a finished work is never pending again */
        rc_time pending_since; /* pending */
        rc_time finished;      /* FINISHED (rc_work_finished_at) */
    };
    /* Artifact epoch: of the last check while pending; when it finished once
     * finished (finished work never becomes pending again). */
    uint64_t epoch;

    /* Where the work is says which one is in use: the run queue reads and
     * writes q only while the work is QUEUED. */
    union {
        rc_qnode q;    /* QUEUED */
        rc_dnode link; /* DIRTY, WAITING, ORPHAN, FINISHED */
    };

    /* What the last check left, what the running attempt reported, or the
     * result it completed with: never two at once, so they share room;
     * phase says which (rc_work_phase). */
    union {
        struct {                 /* RC_PHASE_CHECKED */
            rc_keyent *wait_key; /* WAITING on a key (in its waiters); NULL: unkeyed */
            char *detail; /* from rc_check_detail, or NULL; an rc_detail_frame
                           * when detail_framed */
        };
        double progress; /* RC_PHASE_RUNNING: rc_progress's last report; -1: none */
        cJSON *result;   /* RC_PHASE_FINISHED: rc_complete's result (owned) */
    };
    rc_work_cold *cold; /* NULL: none yet (RC_COLD reads it) */
    union {             /* label_kind says which (rc_work_label_text) */
        char label_inline[RC_LABEL_INLINE];
        char *label_heap; /* allocated when longer */
    };
    /* The node on the pending-age list: there only in cues with pending
     * warnings or timeouts, whose records rc_work_alloc makes longer. */
    rc_dnode age[];
};

_Static_assert(sizeof(void *) != 8 || sizeof(struct rc_work) == 128,
               "a work record is two cache lines: every pending item pays for it");

/* The declared produces: they follow the needs in one block.  Only for work
 * with n_produces > 0. */
static inline char **rc_declared_produces(const rc_work *w)
{
    return w->needs + w->n_needs;
}

/* The work's result flow, or NULL (most work: then w->cold is not read). */
static inline rc_work_flow *rc_work_flow_of(const rc_work *w)
{
    return w->has_flow ? w->cold->flow : NULL;
}

/* The work's label, or NULL when it has none. */
static inline const char *rc_work_label_text(const rc_work *w)
{
    return w->label_kind == RC_LABEL_IN_WORK     ? w->label_inline
           : w->label_kind == RC_LABEL_ALLOCATED ? w->label_heap
                                                 : NULL;
}

/* A result artifact: the value a completed work left under its result_key,
 * and how many unfinished works list the key in their inputs. */
typedef struct rc_result_art {
    cJSON *value;
    bool has_value;
    size_t consumers;
} rc_result_art;

struct rc_check {
    rc_cue *cue;
    const rc_work *work; /* whose needs the unmet bits index; NULL: none */
    bool keyed;
    rc_keyent *key; /* held (a reference) until the check is over */
    size_t cursor; /* where the next unmet need is looked for first */
    bool any_unmet;
    uint64_t unmet_small;
    uint64_t *unmet_big; /* handed to the work when it is filed waiting */
    char detail[256];
    size_t detail_len; /* strlen(detail) */
    bool has_detail;
    /* rc_check_detail_around with the wait key: detail holds the prefix
     * (around_plen bytes) and then the suffix, and the sentence is
     * prefix + key's text + suffix. */
    bool around;
    size_t around_plen;
};

/* A check of w (NULL: none) that has found nothing yet.  Field by field:
 * the detail's bytes are read only up to detail_len, and only with
 * has_detail, so they are not zeroed -- an initializer would clear all 256
 * of them on every check, and that cost more than the rest of a check of
 * one need. */
static inline void rc_check_init(rc_check *chk, rc_cue *cue, const rc_work *w)
{
    chk->cue = cue;
    chk->work = w;
    chk->keyed = false;
    chk->key = NULL;
    chk->cursor = 0;
    chk->any_unmet = false;
    chk->unmet_small = 0;
    chk->unmet_big = NULL;
    chk->detail[0] = '\0';
    chk->detail_len = 0;
    chk->has_detail = false;
    chk->around = false;
    chk->around_plen = 0;
}

/* Every live work of `cue` in id order, as `w` (declared by the caller). */
#define RC_FOR_EACH_WORK(cue, w)                                                       \
    for (uint64_t rc_each_id_ = 0; ((w) = rc_idtable_next(&(cue)->works, &rc_each_id_)); \
         rc_each_id_++)

struct rc_cue {
    rc_alloc alloc;
    rc_loop *loop;
    rc_cue_opts opts;
    rc_hooks hooks;
    char errmsg[512];

    rc_strmap services_by_name;
    rc_svc **services;
    size_t n_services, services_cap;
    rc_svc free_svc; /* for tasks without a service: no limits */

    rc_strmap tasks_by_name;
    /* rc_submit's last few tasks, tried before the map: work comes in runs
     * of a task, or in turns of a few (tasks are never removed). */
    rc_taskdef *recent_tasks[4];
    unsigned recent_next; /* the slot the next miss goes to */
    rc_taskdef **tasks;
    size_t n_tasks, tasks_cap;

    rc_idtable works; /* id -> rc_work */
    rc_dlist dirty;
    rc_dlist waiting_any; /* not ready, no key */
    rc_keytab keys;  /* artifact keys: declared, waited on, or held */
    rc_small small;  /* key entries, needs blocks, long labels */
    size_t n_large_ghosts; /* ghosts too long for the slabs (from the allocator) */
    struct rc_detail_frame *frames[RC_DETAIL_FRAMES]; /* dispatch.c */
    size_t n_frames;
    rc_dlist finished;
    rc_dlist forgettable; /* finished, forgotten at the next safe point */
    rc_strmap results; /* result key -> rc_result_art (results.c) */
    rc_work_id next_id;
    uint64_t epoch;
    uint64_t epoch_all; /* of the last cue-wide announcement */

    rc_svc *runnable_head, *runnable_tail;
    rc_defer pass; /* the deferred dispatch pass */
    bool in_pass, paused;
    size_t running_refs;

    rc_stats stats;

    /* timeouts.c */
    rc_dlist age;
    rc_work *warn_cursor;
    rc_timer pending_timer;
    rc_timer stall_timer;
    bool stall_warned;
    bool stall_idle; /* nothing was pending: the next pending work starts the clock */
    rc_time stall_base;
    rc_timer poll_timer;
    rc_timer refresh_timer;

    /* Work records come from slabs (work.c): one allocation per slab rather
     * than per work, memory reused as work comes and goes, and a slab whose
     * works are all gone is given back, so memory follows what is kept. */
    rc_wslab *wslabs;     /* indexed by rc_work.slab; mem NULL: a free entry */
    size_t n_wslabs, wslabs_cap;
    size_t cur_slab;      /* where works are taken from; n_wslabs: none */
    uint16_t *partial;    /* slabs (not the current) that have free works */
    size_t n_partial, partial_cap;
    size_t empty_slabs;   /* slabs with no live work (at most one is kept) */
    size_t next_slab_works;
    bool tearing_down;    /* rc_cue_free: slabs go all at once at the end */
    cJSON *empty_params; /* what rc_work_params gives for work without params */

    /* observe.c */
    rc_observer *observers; /* in the order they were added */
    size_t n_settle;        /* observers with on_settled */
    rc_time last_event_at[RC_EV__COUNT]; /* per kind, -1: none sent */
    rc_defer settle;        /* their end-of-iteration call */
};


static inline double rc_ns_to_s(rc_time t)
{
    return (double)t / 1e9;
}

#endif
