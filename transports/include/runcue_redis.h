/*
 * runcue_redis.h -- limits shared by every scheduler and worker, through Redis.
 *
 * A namespace on a Redis 7 server holds services (their limits), queues of
 * jobs and leases.  One Functions library (runcue.lua, compiled in and loaded
 * with FUNCTION LOAD) makes every state change one atomic call on the
 * server's clock, so the promise runcue makes in one process holds across
 * all of them: never more than N starts in any window of W seconds, never
 * more than C leased at once.
 *
 *   rc_redis        the scheduler side: binds tasks of a cue to remote
 *                   queues.  The task's handler enqueues; the result comes
 *                   back through the scheduler's results stream (a consumer
 *                   group, acknowledged after it is applied) and finishes the
 *                   rc_token.  Produced artifact keys announced by other
 *                   schedulers reach rc_artifacts_changed.  While work is
 *                   in flight, a snapshot every second gives each work the
 *                   state of its service (rc_work_set_remote_status, shown by
 *                   rc_debug_blocked): "remote: 1 leased, 2 queued; global
 *                   rate 60 per 60s reached, next start at t=..." -- per
 *                   service, cleared when nothing of it is queued.
 *   rc_redis_agent  the worker side: claims jobs as its local cue has room,
 *                   runs them through that cue's own handlers (subprocess
 *                   workers, a thread pool), heartbeats each lease at a third
 *                   of its length and aborts the local run when the lease is
 *                   lost, then finishes with the fencing token.
 *
 * Both run hiredis's asynchronous API on the cue's loop (its fd watchers and
 * timers; no thread of their own), so the loop must be on the monotonic
 * clock.  Connections are re-established with backoff; commands lost with a
 * connection are sent again (enqueue is idempotent through its dedupe key,
 * finish through the fencing token).  All functions: loop thread only.
 *
 * Security: the password is read from a file or an environment variable,
 * never taken on a command line or in a URL.
 */
#ifndef RUNCUE_REDIS_H
#define RUNCUE_REDIS_H

#include "runcue.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* Where the server is and who we are to it. */
typedef struct rc_redis_conn {
    /* "unix:/path/redis.sock", "unix:///path", "redis://host:port",
     * "redis://user@host:port", "[::1]:port" or "host:port" (the port
     * 6379 if none; "/" or "/0" may follow).  A URL with a password in
     * it, or naming a database other than 0, is refused. */
    const char *url;
    const char *user;          /* ACL user; NULL: the default user */
    const char *password_file; /* its first line is the password; NULL: none */
    const char *password_env;  /* an environment variable holding it; NULL: none
                                * (not both: RC_EINVAL) */
    const char *ns;            /* namespace: [A-Za-z0-9_.-]{1,64}; NULL: "default" */
    double reconnect_max_s;    /* backoff cap; 0: 2 s */
} rc_redis_conn;

/* How a connection stands, for rc_redis_status / rc_redis_agent_status. */
typedef enum rc_redis_state {
    RC_REDIS_CONNECTING = 0, /* (re)connecting, authenticating, checking the library */
    RC_REDIS_READY = 1,
    RC_REDIS_FAILED = 2,     /* a fatal error (wrong password, library version); no retry */
} rc_redis_state;

/* The version of the functions library this build loads ("3"). */
const char *rc_redis_library_version(void);
/* The library's Lua text (starts "#!lua name=runcue"), for tools and tests. */
const char *rc_redis_library_text(void);

/*
 * A namespace's state, read with one blocking call (its own connection; no
 * loop needed): *out becomes a new JSON object the caller frees:
 *   {"namespace", "server_time_s",
 *    "services": [{"name", "rate_n", "rate_window_s", "concurrent",
 *                  "lease_s", "max_deliveries", "queued", "leased",
 *                  "starts_in_window", "next_start_in_s",
 *                  "oldest_lease": {"job", "expires_in_s"} | null}],
 *    "agents": [{"name", "last_seen_s_ago", "leases", "alive"}] (the
 *              first 10000 the server names; "agents_unlisted": how many
 *              more, when there are),
 *    "stats": {"claims", "finishes", "stale", "redeliveries", "dead", ...},
 *    "dead": {"count", "newest": [job ids]}}
 * Errors: RC_EINVAL (bad options), RC_ESYS (cannot connect, login refused,
 * library missing or of another version), with a sentence in err.  Any
 * thread.
 */
int rc_redis_snapshot(const rc_redis_conn *conn, double timeout_s, cJSON **out, char *err,
                      size_t errlen);

/* One job of the namespace conn->ns, as JSON: {"job", "found", and those it
 * has of "service", "task", "owner", "state", "deliveries", "agent",
 * "enqueued_s_ago", "lease_ends_in_s", "finished_s_ago", "error",
 * "progress", "params", "result"} (texts cut to 4096 bytes, control
 * characters as '?'), read with the read-only runcue_job.  A job is kept an
 * hour after it ends; the dead letters' ids are in rc_redis_snapshot's
 * "dead".  Errors and *out as rc_redis_snapshot's. */
int rc_redis_job(const rc_redis_conn *conn, double timeout_s, const char *id, cJSON **out,
                 char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Scheduler side                                                      */
/* ------------------------------------------------------------------ */

typedef struct rc_redis rc_redis;

typedef struct rc_redis_opts {
    rc_redis_conn conn;
    /* This scheduler's stable name: its results stream and consumer.  A
     * scheduler restarted under the same name re-attaches to its work.
     * [A-Za-z0-9_.-]{1,64}.  Required. */
    const char *owner;
} rc_redis_opts;

/* Start connecting `cue`'s scheduler to the server.  Returns at once; the
 * connection comes up on the loop (rc_redis_wait_ready waits for it).
 * Errors: RC_EINVAL (bad options, with a message in rc_redis_errmsg of the
 * NULL object: see rc_redis_last_error), RC_ESTATE (loop not monotonic),
 * RC_ENOMEM, RC_ESYS (the password file cannot be read). */
int rc_redis_new(rc_redis **out, rc_cue *cue, const rc_redis_opts *opts);
/* The message of the last rc_redis_new / rc_redis_agent_new that failed on
 * this thread ("" if none). */
const char *rc_redis_last_error(void);

/* Run the loop until the connection is ready or failed for good, or
 * timeout_s passes.  0 when ready; RC_ESYS (failed, or timed out) with the
 * reason in rc_redis_errmsg.  Not from a callback. */
int rc_redis_wait_ready(rc_redis *r, double timeout_s);
rc_redis_state rc_redis_status(const rc_redis *r);
const char *rc_redis_errmsg(const rc_redis *r);

/* Register a service in the namespace (also locally, unlimited: the limits
 * are kept by the server).  lease_s: how long a claim holds a job without a
 * heartbeat; max_deliveries: leases that may expire before the job is dead.
 * The server refuses limits different from those stored.  Sent when the
 * connection is ready; a refusal is reported by rc_redis_wait_ready and
 * makes the connection FAILED.  Errors: RC_EINVAL, RC_EEXIST, RC_ENOMEM. */
int rc_redis_service(rc_redis *r, const char *service, const char *rate, int concurrent,
                     double lease_s, unsigned max_deliveries);

/* Register `task` on `service` (rc_redis_service first) with a handler that
 * enqueues each work: payload = the params, dedupe key = the task and a hash
 * of the params (so a restarted scheduler re-attaches to live work, or takes
 * the retained result of done work).  The work runs in the cue until its
 * result comes back: "ok" completes it, "fail" fails it, "retry" and a dead
 * letter (leases expired max_deliveries times) call rc_retry (retries stay
 * the cue's policy).  An "ok" whose result is not one JSON value fails the
 * work, saying so.  Errors: those of rc_task, RC_EINVAL, RC_ENOMEM. */
int rc_redis_task(rc_redis *r, const char *task, const char *service);

typedef struct rc_redis_stats {
    uint64_t enqueued, reattached, results, acked, redelivered, dead;
    uint64_t artifacts_seen, reconnects, unknown_results;
    size_t in_flight;  /* work enqueued and not yet answered */
    uint64_t progress; /* progress reports from agents passed to rc_progress */
} rc_redis_stats;
void rc_redis_stats_get(const rc_redis *r, rc_redis_stats *out);

/* Cancel a work of r's tasks that runs remotely (rc_cancel refuses running
 * work: RC_ERUNNING).  It finishes through its handler, failed "cancelled"
 * (or "cancelled on the server"): at once if it was not yet sent, or shares
 * its job with other work, which goes on; otherwise its job is cancelled on
 * the server (an agent running it loses the lease at its next heartbeat
 * and stops it).  A job that finished first completes the work as usual.
 * 0: under way; RC_ENOENT: no such work; RC_EFINISHED: it is over;
 * RC_ESTATE: no connection to send the cancel on (try again); RC_EINVAL.
 * The loop thread. */
int rc_redis_cancel(rc_redis *r, rc_work_id id);

/* Close the connections.  Work still in flight stays running in the cue:
 * call before rc_cue_free, after the work is done or cancelled. */
void rc_redis_free(rc_redis *r);

/* ------------------------------------------------------------------ */
/* Agent side                                                          */
/* ------------------------------------------------------------------ */

typedef struct rc_redis_agent rc_redis_agent;

typedef struct rc_redis_agent_opts {
    rc_redis_conn conn;
    /* This agent's name in leases and status; NULL: "<host>.<pid>". */
    const char *name;
    /* The services it claims from, in order of preference. */
    const char *const *services;
    size_t n_services;
    /* Jobs running at once (>= 1). */
    unsigned slots;
    /* The tasks it runs (at most 64, each 1 to 256 bytes without a newline):
     * it claims only their jobs, looking through the first 64 ready jobs of
     * a service for one (runcue_claim_for), and leaves the others to agents
     * that run them.  NULL or none: it claims any job, and finishes one of a
     * task its cue lacks as failed. */
    const char *const *tasks;
    size_t n_tasks;
    /* Claim no more once this many jobs were claimed (each claim asks for
     * no more than are left), as rc_redis_agent_drain; 0: no limit. */
    uint64_t max_jobs;
} rc_redis_agent_opts;

/*
 * Claim jobs into `cue` (the agent's own, local cue) whenever fewer than
 * `slots` are running: each claimed job is rc_submit'ted to the cue's task
 * of the same name with the payload as params, and its outcome finishes the
 * lease (completed: "ok"; failed: "retry" if the local handler asked for a
 * retry with rc_retry, else "fail"; the scheduler's retry policy decides).  Bind those tasks first (rc_workers_new, rc_pool_task).  The
 * local tasks should have no retry policy of their own.  If a lease is lost
 * (expired, cancelled) the local work is cancelled and `on_lost` is called
 * so the caller can abort it (rc_workers_abort); its late finish is refused
 * by the server.  Never more than `slots` jobs run: jobs a claim gives
 * beyond the free slots are held, their leases renewed, and start as slots
 * free.  A job the agent cannot run (a payload that is not one JSON value,
 * an unknown task) is finished "fail" with the reason; one with a bad lease
 * length "retry"; one whose id or token is not 1 to 32 bytes is refused
 * (rc_redis_agent_errmsg) and left to its lease's end.
 * Errors: RC_EINVAL, RC_ESTATE, RC_ENOMEM, RC_ESYS.
 */
typedef void (*rc_redis_lost_fn)(rc_redis_agent *a, rc_work_id local_id, void *ud);
int rc_redis_agent_new(rc_redis_agent **out, rc_cue *cue, const rc_redis_agent_opts *opts,
                       rc_redis_lost_fn on_lost, void *ud);
int rc_redis_agent_wait_ready(rc_redis_agent *a, double timeout_s);
rc_redis_state rc_redis_agent_status(const rc_redis_agent *a);
const char *rc_redis_agent_errmsg(const rc_redis_agent *a);

typedef struct rc_redis_agent_stats {
    uint64_t claimed, finished, stale, lost, heartbeats, reconnects;
    size_t running;   /* jobs running in the local cue */
    size_t finishing; /* finishes sent or waiting for a connection, not yet answered */
} rc_redis_agent_stats;
void rc_redis_agent_stats_get(const rc_redis_agent *a, rc_redis_agent_stats *out);

/* Stop claiming; already running jobs still finish. */
void rc_redis_agent_drain(rc_redis_agent *a);
/* Close the connections.  Leases still held expire on the server. */
void rc_redis_agent_free(rc_redis_agent *a);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* RUNCUE_REDIS_H */
