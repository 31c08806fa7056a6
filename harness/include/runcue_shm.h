/*
 * runcue_shm.h -- a cue's live state in shared memory, and the harness that
 * reads it.
 *
 * Like Varnish's shared-memory counters and log: a cue, simulated or in
 * production, publishes its live state into a POSIX shared-memory segment
 * (/dev/shm/runcue.NAME).  Other programs attach to watch it (runcue-top,
 * runcue-viz) or to test it (the harness below) without slowing it down.
 *
 * Writer: never blocks and never waits for readers.  Every event goes into a
 * ring of fixed-size records; the counters and the service table are
 * published once per loop iteration into one of RC_SHM_SLOTS state slots,
 * each guarded by its own sequence number (odd while being written), so a
 * reader copying a slot has RC_SHM_SLOTS-1 publishes of grace before the
 * writer comes back to it.
 * Readers: copy a slot and retry if its sequence changed, so every snapshot
 * is consistent.  A reader notices a writer that finished (it cleared
 * RC_SHM_LIVE), died (its pid is gone), or died mid-update (a sequence that
 * stays odd).
 *
 * The segment is created mode 0600.  Readers treat it as untrusted bytes
 * (another user may have created the name first, or may hold it open): they
 * refuse one owned by another user unless told (rc_shm_attach_opts
 * any_owner); they never map it, but copy with pread, so a segment that
 * shrinks is noticed ("truncated") instead of raising SIGBUS; every count is
 * clamped to the layout's bounds and every string comes out NUL-terminated,
 * with control characters (C0, DEL and C1) and bytes that are not
 * well-formed UTF-8 replaced by '?', byte for byte; every loop is bounded.
 *
 * The layout is versioned (RC_SHM_LAYOUT); readers refuse any other.
 */
#ifndef RUNCUE_SHM_H
#define RUNCUE_SHM_H

#include "runcue.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define RC_SHM_MAX_SERVICES 32
#define RC_SHM_RING 4096 /* recent events kept */
#define RC_SHM_MAX_BLOCKED 64
#define RC_SHM_MAX_ROOTS 16
#define RC_SHM_NAME_MAX 48
#define RC_SHM_TITLE_MAX 255 /* longer titles are cut */
/* How long a reader waits on a sequence lock that stays odd while the
 * writer's process is there, before it reports "died mid-update" (seconds;
 * if the process is gone it gives up at once). */
#define RC_SHM_STUCK_AFTER_S 1.0

/* Event kinds beyond rc_event_kind, written by the segment itself. */
enum {
    RC_SHM_EV_ARTIFACTS_CHANGED = 64, /* rc_artifacts_changed; detail: the key or "all" */
    RC_SHM_EV_MARK = 65,              /* rc_shm_mark: the writer's own note */
};

/* Flags in the state. */
enum {
    RC_SHM_LIVE = 1,     /* the writer is publishing (cleared on unpublish) */
    RC_SHM_STALLED = 2,  /* the writer says the run is stalled (blocked report filled) */
    RC_SHM_FINISHED = 4, /* the writer says the run is over */
    RC_SHM_PAUSED = 8,   /* the cue is paused */
};

/* ---- the layout: fixed-size, no pointers ---- */

typedef struct rc_shm_counters {
    uint64_t submitted, completed, failed, skipped, cancelled, retries;
    uint64_t pending, running, waiting, queued, delayed;
    uint64_t stale_finishes;
    int64_t last_progress; /* rc_time */
} rc_shm_counters;

typedef struct rc_shm_service {
    char name[32];
    int32_t concurrent; /* RC_NO_LIMIT if none */
    uint32_t rate_count; /* 0: no rate limit */
    double rate_window_s;
    uint64_t running, peak_running, queued, starts_in_window;
    uint64_t started, completed, failed;
    uint64_t blocked; /* pending work for this service that is not ready */
} rc_shm_service;

typedef struct rc_shm_state {
    uint64_t seq;   /* even: stable; odd: being written */
    uint64_t gen;   /* which publish this is */
    int64_t now;    /* the cue's clock (rc_time) at this publish */
    uint32_t flags; /* RC_SHM_* */
    uint32_t n_services;
    uint64_t events_head; /* events written so far (the newest has seq == events_head) */
    rc_shm_counters counters;
    rc_shm_service services[RC_SHM_MAX_SERVICES];
} rc_shm_state;

typedef struct rc_shm_event { /* 256 bytes: four cache lines */
    uint64_t seq;  /* 1, 2, 3 ... over the segment's life; 0 while being written */
    int64_t time;  /* rc_time */
    uint32_t kind; /* rc_event_kind or RC_SHM_EV_* */
    uint32_t attempt;
    uint64_t work_id; /* 0 for cue-wide events */
    double duration;
    char task[32];
    char service[32];
    char label[32];
    float progress; /* RC_EV_PROGRESS: 0..1; otherwise -1 */
    char detail[116];
} rc_shm_event;

typedef struct rc_shm_blocked {
    uint64_t id;
    uint32_t reason; /* rc_block_reason */
    uint32_t pad;
    int64_t since; /* rc_time */
    char task[32];
    char service[32];
    char label[32];
    char detail[160];
} rc_shm_blocked;

/* A root cause of the stall: finished work that waiters depend on. */
typedef struct rc_shm_root {
    uint64_t id;
    uint64_t blocks; /* waiting work whose chains reach it */
    char task[32];
    char label[32];
    char state[16];  /* "failed", "cancelled", "skipped" or "completed" */
    char error[120]; /* failed: its error; else "" */
} rc_shm_root;

typedef struct rc_shm_report {
    uint64_t seq;       /* a sequence lock of its own */
    int64_t taken;      /* rc_time when the report was made */
    uint32_t n_blocked; /* entries filled */
    uint32_t made;      /* reports made so far; 0: none yet */
    uint64_t blocked_total; /* pending work it describes (may exceed the entries) */
    rc_shm_blocked blocked[RC_SHM_MAX_BLOCKED];
    char waitfor[4096]; /* the wait-for diagnosis as text, one finding a line; cut to
                           fit, it ends in "... +N more lines" */
    uint32_t n_roots;   /* entries of roots filled */
    uint32_t pad2;
    uint64_t roots_total;                /* roots in the diagnosis (may exceed the entries) */
    rc_shm_root roots[RC_SHM_MAX_ROOTS]; /* by id */
} rc_shm_report;


/* ---- writer (the cue side) ---- */

typedef struct rc_shm_writer rc_shm_writer;

/*
 * Publish `cue` as /dev/shm/runcue.NAME (NAME: 1 to 48 of letters, digits,
 * '-', '_', '.').  The writer observes the cue (rc_cue_observe): every event
 * of the cue goes into the segment, and its state is published once per loop
 * iteration.  A name held by a live writer is refused (RC_EEXIST, the
 * message names the pid); a stale one (its writer gone) is reclaimed.
 * `title` (at most RC_SHM_TITLE_MAX bytes are kept) may be NULL.  On success *out is the writer; it belongs to the
 * cue: rc_cue_free unpublishes and frees it, or rc_shm_unpublish does first.
 * Errors: RC_EINVAL, RC_EEXIST, RC_ENOMEM, RC_ESYS; err (if not NULL)
 * receives a message of at most errlen bytes naming the problem.
 * The library installs no signal handlers: a program that wants the name
 * removed when it is killed unlinks rc_shm_writer_path() itself.
 */
int rc_shm_publish(rc_shm_writer **out, rc_cue *cue, const char *name, const char *title,
                   char *err, size_t errlen);
/* Whether name may name a segment (1 to 48 of letters, digits, '-', '_',
 * '.'): 0, or RC_EINVAL with a message naming the problem in err (if not
 * NULL, at most errlen bytes).  rc_shm_publish and rc_shm_attach check the
 * same; a program reading a name from its user can say so before it starts. */
int rc_shm_check_name(const char *name, char *err, size_t errlen);
/* The segment's POSIX shared-memory name ("/runcue.NAME"), for shm_unlink. */
const char *rc_shm_writer_path(const rc_shm_writer *w);
/* Publish the state now (it is also done once per loop iteration). */
void rc_shm_update(rc_shm_writer *w);
/* Set and clear flags (RC_SHM_STALLED, RC_SHM_FINISHED, RC_SHM_PAUSED; the
 * last is also shown while the cue is paused).  Setting RC_SHM_STALLED
 * refreshes the blocked report.  Publishes. */
void rc_shm_set_flags(rc_shm_writer *w, uint32_t set, uint32_t clear);
/* Refresh the blocked report from rc_debug_blocked and rc_diagnose.  Done by
 * itself on stall warnings, on RC_EV_STALLED and when the cue settles with
 * pending work, nothing running and no timer armed. */
int rc_shm_refresh_report(rc_shm_writer *w);
/* Put a note of the writer's own into the event ring (RC_SHM_EV_MARK). */
void rc_shm_mark(rc_shm_writer *w, const char *what, const char *detail);
/* Stop publishing, clear RC_SHM_LIVE, remove the name and free the writer.
 * Attached readers keep their mapping and see the final state. */
void rc_shm_unpublish(rc_shm_writer *w);

/*
 * A segment fed by hand, for a writer that has no cue (the cluster
 * simulation, whose actors are not cues): like rc_shm_publish, but the
 * caller puts the events and the state in.  `clock` and `now` fill the
 * header (the views count from `now`).  The writer belongs to the caller,
 * who ends it with rc_shm_unpublish.  rc_shm_mark, rc_shm_update,
 * rc_shm_set_flags work on it (a mark takes the time of the last state fed);
 * it has no blocked report.  Errors as rc_shm_publish.  The caller's thread.
 */
int rc_shm_publish_fed(rc_shm_writer **out, const char *name, const char *title,
                       rc_clock_kind clock, rc_time now, char *err, size_t errlen);
/* Put an event into a fed writer's ring: its time, kind, work_id, attempt,
 * duration, progress and strings are copied (strings cut to their fields);
 * its seq is the writer's.  Ignored for a writer with a cue. */
void rc_shm_feed_event(rc_shm_writer *w, const rc_shm_event *ev);
/* Publish a fed writer's state: now, counters and the service rows
 * (n_services clamped to RC_SHM_MAX_SERVICES) from st; seq, gen, flags and
 * events_head are the writer's.  Ignored for a writer with a cue. */
void rc_shm_feed_state(rc_shm_writer *w, const rc_shm_state *st);

/* ---- reader: the harness ---- */

typedef struct rc_shm_reader rc_shm_reader;

/* What a reader copies out at once: one consistent state, the report, and
 * the header. */
typedef struct rc_shm_snapshot {
    int32_t writer_pid;
    uint32_t clock;
    int64_t published; /* the writer's clock at rc_shm_publish: the views count from it */
    char name[RC_SHM_NAME_MAX + 1];
    char title[RC_SHM_TITLE_MAX + 1];
    bool writer_alive; /* the pid is there and RC_SHM_LIVE is set */
    rc_shm_state state;
    rc_shm_report report;
} rc_shm_snapshot;

/* How to attach (all zero: the defaults). */
typedef struct rc_shm_attach_opts {
    double timeout_s;     /* wait this long for the name to appear (0: try once) */
    bool any_owner;       /* read a segment owned by another user (refused by default) */
    double stuck_after_s; /* give up on an odd sequence lock after this (0: RC_SHM_STUCK_AFTER_S) */
} rc_shm_attach_opts;

/* Attach by name.  opts may be NULL.  On success *out is the reader; the
 * caller frees it with rc_shm_detach.  Errors: RC_ENOENT (not there in
 * time), RC_EINVAL (out NULL, bad name, not a runcue segment, another
 * layout, owned by another user without any_owner), RC_ENOMEM, RC_ESYS.
 * err (if not NULL) receives a message naming the problem.  Any thread; a
 * reader is used by one thread at a time. */
int rc_shm_attach_with(rc_shm_reader **out, const char *name, const rc_shm_attach_opts *opts,
                       char *err, size_t errlen);
/* rc_shm_attach_with with only a timeout. */
int rc_shm_attach(rc_shm_reader **out, const char *name, double timeout_s, char *err,
                  size_t errlen);
/* Close the reader (NULL: nothing). */
void rc_shm_detach(rc_shm_reader *r);

/* Copy a consistent snapshot.  Returns 0 while the writer is live,
 * RC_ESTATE once it finished or died, or the segment cannot be trusted any
 * more (rc_shm_writer_status says which): the snapshot then holds the last
 * consistent state and report.  Returns within a bounded time (about
 * RC_SHM_STUCK_AFTER_S at most, then at once while it stays so).
 * RC_EINVAL if r or out is NULL. */
int rc_shm_read(rc_shm_reader *r, rc_shm_snapshot *out);
/* The writer's process exists and has not unpublished (false for NULL). */
bool rc_shm_writer_alive(rc_shm_reader *r);
/* Why the writer is not live: "finished", "gone" (its process died),
 * "died mid-update" (a sequence lock stayed odd: the writer was killed, or
 * stopped, while it wrote), "truncated" (the segment shrank below its
 * layout), "unreadable" (a read failed), or "" if it is live.  "no reader"
 * for NULL. */
const char *rc_shm_writer_status(rc_shm_reader *r);

/* Events after *cursor (0 to start at the oldest kept), oldest first: copies
 * up to max into out, advances *cursor past them, and adds to *lost (if not
 * NULL) the events overwritten before this reader saw them.  Returns the
 * count copied.  *cursor never moves backwards, and a ring with numbers that
 * cannot be is read no further than where they start.  0 if r, cursor or
 * out is NULL. */
size_t rc_shm_events(rc_shm_reader *r, uint64_t *cursor, rc_shm_event *out, size_t max,
                     uint64_t *lost);

/* Wait until pred(snapshot, ud) holds, polling every poll_s (0: 5 ms), for up
 * to timeout_s.  Returns 0 when it held, RC_ENOENT on timeout, RC_ESTATE if
 * the writer went away first without it holding, RC_EINVAL if r or pred is
 * NULL.  *last (if not NULL) receives the last snapshot seen. */
typedef bool (*rc_shm_pred)(const rc_shm_snapshot *snap, void *ud);
int rc_shm_wait(rc_shm_reader *r, rc_shm_pred pred, void *ud, double timeout_s, double poll_s,
                rc_shm_snapshot *last);

/* A counter by name: submitted completed failed skipped cancelled retries
 * pending running waiting queued delayed stale_finishes.  RC_ENOENT if
 * there is none of that name, RC_EINVAL if snap or out is NULL. */
int rc_shm_counter(const rc_shm_snapshot *snap, const char *name, uint64_t *out);
/* Wait until the named counter is at least `at_least` (RC_EINVAL for a NULL
 * reader or an unknown name). */
int rc_shm_wait_counter(rc_shm_reader *r, const char *name, uint64_t at_least, double timeout_s,
                        rc_shm_snapshot *last);
/* The service row of that name in a snapshot, or NULL (also for NULL). */
const rc_shm_service *rc_shm_find_service(const rc_shm_snapshot *snap, const char *name);
/* "queued", ..., "artifacts_changed", "mark". */
const char *rc_shm_event_name(uint32_t kind);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RUNCUE_SHM_H */
