/* internal.h -- the scheduler's data structures, shared by cue.c (the
 * public object and its registries), dispatch.c (checks, starts and
 * finishes), timeouts.c (pending, stall, poll and refresh timers) and
 * diagnose.c (why work waits).
 *
 * Where a pending work item lives says what it waits for:
 *   DIRTY    submitted or woken; the next dispatch pass checks it
 *   WAITING  not ready (in a bucket per artifact key, or the unkeyed list),
 *            or its task has no handler (in the task's orphan list)
 *   QUEUED   ready, in its service's run queue behind a limit
 *   DELAYED  not before a time (submit delay or retry backoff)
 * Dispatch never rescans: each place is visited only when something that
 * concerns it changed. */
#ifndef RC_INTERNAL_H
#define RC_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"
#include "idmap.h"
#include "idtable.h"
#include "loop_internal.h"
#include "ratelimit.h"
#include "runcue.h"
#include "runq.h"
#include "strmap.h"

/* An intrusive, circular, doubly-linked list. */
typedef struct rc_dnode {
    struct rc_dnode *prev, *next;
} rc_dnode;

typedef struct rc_dlist {
    rc_dnode head;
    size_t len;
} rc_dlist;

static inline void rc_dlist_init(rc_dlist *l)
{
    l->head.prev = l->head.next = &l->head;
    l->len = 0;
}
static inline void rc_dlist_push_back(rc_dlist *l, rc_dnode *n)
{
    n->prev = l->head.prev;
    n->next = &l->head;
    l->head.prev->next = n;
    l->head.prev = n;
    l->len++;
}
static inline void rc_dlist_remove(rc_dlist *l, rc_dnode *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    l->len--;
}
static inline rc_dnode *rc_dlist_first(const rc_dlist *l)
{
    return l->head.next == &l->head ? NULL : l->head.next;
}
static inline rc_dnode *rc_dlist_next(const rc_dlist *l, const rc_dnode *n)
{
    return n->next == &l->head ? NULL : n->next;
}
/* Move every node of src to the back of dst. */
static inline void rc_dlist_splice(rc_dlist *dst, rc_dlist *src)
{
    if (!src->len) return;
    rc_dnode *first = src->head.next, *last = src->head.prev;
    first->prev = dst->head.prev;
    dst->head.prev->next = first;
    last->next = &dst->head;
    dst->head.prev = last;
    dst->len += src->len;
    rc_dlist_init(src);
}

#define RC_CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct rc_svc {
    char *name;
    char shm_name[32]; /* the name cut and zero-padded to the live segment's field */
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
    char shm_name[32]; /* as rc_svc.shm_name */
    rc_svc *svc; /* never NULL: tasks without a service use the cue's free one */
    rc_handler_fn handler;
    void *ud;
    bool has_retry;
    rc_retry_policy retry;
    uint64_t rng; /* splitmix64 state for backoff jitter */
    rc_dlist orphans; /* pending work waiting for a handler */
} rc_taskdef;

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

typedef struct rc_waitbucket {
    const char *key; /* the map's copy */
    rc_dlist list;
} rc_waitbucket;

typedef struct rc_delay {
    rc_timer timer;
    struct rc_work *work;
} rc_delay;

struct rc_work {
    rc_work_id id; /* 0 while on the free list */
    rc_taskdef *task;
    cJSON *params;
    char *label;
    char **needs, **produces;
    size_t n_needs, n_produces;

    rc_state state;
    uint8_t where;
    bool skipped;
    bool warned;
    bool in_age;
    unsigned attempt;
    rc_time created, pending_since, started, finished, not_before;
    uint64_t epoch; /* artifact epoch of the last check */

    rc_qnode q;     /* QUEUED */
    rc_dnode link;  /* DIRTY, WAITING, ORPHAN, FINISHED */
    rc_dnode age;   /* the pending-age list (pending timeouts) */
    rc_dnode all;   /* every live work, in id order */
    rc_waitbucket *bucket; /* WAITING on a key; NULL when unkeyed */
    rc_delay *delay;       /* DELAYED */

    rc_block_reason reason; /* of the last check, for WAITING */
    char *detail;           /* from rc_check_detail, or NULL */
    cJSON *result;
    char *error;
};

struct rc_check {
    rc_cue *cue;
    bool keyed;
    char *key; /* cue scratch */
    char detail[256];
    bool has_detail;
};

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
    rc_taskdef **tasks;
    size_t n_tasks, tasks_cap;

    rc_idtable works; /* id -> rc_work */
    rc_dlist all;    /* live works in id order */
    rc_dlist dirty;
    rc_dlist waiting_any; /* not ready, no key */
    rc_strmap waiting_by_key; /* key -> rc_waitbucket */
    rc_dlist finished;
    rc_work_id next_id;
    uint64_t epoch;

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

    /* Work structs come from slabs and go back to a free list: one
     * allocation per slab rather than per work, and memory is reused. */
    rc_work *free_works;
    void **slabs;
    size_t n_slabs, slabs_cap;
    size_t next_slab_works;
    cJSON *empty_params; /* what rc_work_params gives for work without params */

    struct rc_shm_writer *shm; /* shm.c: the live segment, if published */

    /* scratch for rc_check_wait_on */
    char *scratch;
    size_t scratch_cap;
};


/* shm.c */
void rc_shm_on_event(struct rc_shm_writer *w, const rc_event *ev);
void rc_shm_on_artifacts_changed(struct rc_shm_writer *w, const char *key);
void rc_shm_pad_name(char dst[32], const char *name);

/* cue.c */
void rc_cue_set_error(rc_cue *cue, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Only at safe points of the dispatch pass: see dispatch.c. */
void rc_cue_forget_finished(rc_cue *cue);
void rc_emit(rc_cue *cue, rc_event_kind kind, const rc_work *w, const char *detail,
             double duration, size_t pending);

/* dispatch.c */
void rc_request_pass(rc_cue *cue);
void rc_pass_cb(rc_loop *loop, void *arg);
void rc_mark_runnable(rc_cue *cue, rc_svc *svc);
void rc_make_dirty(rc_cue *cue, rc_work *w);
/* Take pending work out of wherever it waits (not RUNNING/FINISHED). */
void rc_unlink_pending(rc_cue *cue, rc_work *w);
void rc_leave_pending(rc_cue *cue, rc_work *w);
/* Fail pending work (timeouts): leave pending, then rc_finish_failed. */
void rc_fail_pending(rc_cue *cue, rc_work *w, rc_fail_kind kind, const char *error);
void rc_finish_failed(rc_cue *cue, rc_work *w, rc_fail_kind kind, const char *error);
void rc_rate_timer_fire(rc_loop *loop, rc_timer *t, void *arg);
int rc_schedule_delay(rc_cue *cue, rc_work *w, rc_time not_before);
void rc_record_progress(rc_cue *cue);

/* timeouts.c */
void rc_timeouts_init(rc_cue *cue);
void rc_timeouts_fini(rc_cue *cue);
void rc_age_add(rc_cue *cue, rc_work *w);
void rc_age_remove(rc_cue *cue, rc_work *w);
void rc_stall_arm(rc_cue *cue);
void rc_poll_arm(rc_cue *cue);
void rc_refresh_arm(rc_cue *cue);

static inline double rc_ns_to_s(rc_time t)
{
    return (double)t / 1e9;
}

#endif
