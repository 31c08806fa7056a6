/*
 * rconn.h -- one hiredis asynchronous connection on an rc_loop.
 *
 * hiredis's event hooks (addRead, delRead, addWrite, delWrite, cleanup) are
 * attached to the loop's fd watchers; nothing else runs on a thread.  The
 * connection authenticates, makes sure the runcue functions library of this
 * build is loaded (loading it if absent, refusing another version), then
 * calls on_ready.  When it drops, every command in flight gets a NULL reply,
 * on_down is called, and it reconnects after a backoff (50 ms doubling up to
 * the cap).  A fatal error (wrong password, other library version, no right
 * to load the library) stops it: on_fatal, and no more attempts.
 */
#ifndef RC_REDIS_RCONN_H
#define RC_REDIS_RCONN_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "runcue.h"
#include "runcue_redis.h"

typedef struct rconn rconn;

typedef struct rconn_cfg {
    char *unix_path; /* or host/port */
    char *host;
    int port;
    char *user;     /* NULL: default user */
    char *password; /* NULL: none */
    double backoff_max_s;
    void (*on_ready)(rconn *c, void *ud);
    void (*on_down)(rconn *c, const char *why, void *ud);
    void (*on_fatal)(rconn *c, const char *why, void *ud);
    void *ud;
} rconn_cfg;

/* Parse the public connection options into cfg (strings malloc'ed; free
 * with rconn_cfg_clear).  err gets a sentence on failure.  RC_EINVAL for bad
 * options, RC_ESYS for an unreadable password file, RC_ENOMEM. */
int rconn_cfg_parse(rconn_cfg *cfg, const rc_redis_conn *conn, char *err, size_t errlen);
void rconn_cfg_clear(rconn_cfg *cfg);

/* Start connecting; cfg is moved into the connection (cleared). */
int rconn_new(rconn **out, rc_loop *loop, rconn_cfg *cfg);
/* Parse conn and start connecting, in one call.  err gets a sentence. */
int rconn_open(rconn **out, rc_loop *loop, const rc_redis_conn *conn,
               void (*on_ready)(rconn *, void *), void (*on_fatal)(rconn *, const char *, void *),
               void *ud, char *err, size_t errlen);
/* Disconnect and free; commands in flight get NULL replies first. */
void rconn_free(rconn *c);

bool rconn_ready(const rconn *c);
rc_redis_state rconn_state(const rconn *c);
const char *rconn_error(const rconn *c);
uint64_t rconn_reconnects(const rconn *c);

/* Send a command (only when ready; RC_ESTATE otherwise).  fn gets the reply,
 * or NULL if the connection dropped first. */
int rconn_cmd(rconn *c, redisCallbackFn *fn, void *pd, int argc, const char **argv,
              const size_t *lens);
/* Engaged (the default), the connection's fd and retry timer keep the loop
 * alive; disengaged, nothing is watched: replies wait in the socket until it
 * is engaged again.  Lets a scheduler's loop go idle when nothing is in
 * flight. */
void rconn_set_engaged(rconn *c, bool engaged);
/* Drop the connection and reconnect (after a protocol surprise or a
 * transient error).  Resets in a row back off as failed connects do. */
void rconn_reset(rconn *c, const char *why);
/* Whether reply is an error that a new connection cures: the library was
 * removed since the connection checked it (reconnecting loads it again), or
 * the server is loading its data, busy or out of memory (maxmemory reached
 * with noeviction: reconnecting backs off until it has room again).  The
 * caller resets the connection and sends the command again. */
bool rconn_transient(const redisReply *reply);

/* A namespace's base key "rc:{ns}" into buf; false if ns is malformed. */
bool rconn_ns_key(char *buf, size_t len, const char *ns);
/* Whether s is a valid name: [A-Za-z0-9_.-]{1,64}. */
bool rconn_name_ok(const char *s);

/* Set the message rc_redis_last_error returns; returns rc. */
int rc_redis_set_last_error(int rc, const char *msg);
/* Run the loop until ready(arg), *failed, or timeout_s; *waiting is true
 * meanwhile.  0 when ready, RC_ESYS otherwise.  Not from a callback. */
int rc_redis_wait_until(rc_loop *loop, double timeout_s, bool (*ready)(void *), void *arg,
                        bool *failed, bool *waiting);

#endif
