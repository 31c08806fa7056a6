/*
 * rconn.c -- a hiredis asynchronous connection on an rc_loop (see rconn.h).
 */
#include "rconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_text.h"
#include "replies.h"

#define BACKOFF_MIN_S 0.05
#define ERR_LEN 512

typedef enum { ST_IDLE, ST_CONNECTING, ST_AUTH, ST_VERSION, ST_LOAD, ST_READY, ST_FATAL } cstate;

struct rconn {
    rc_loop *loop;
    rconn_cfg cfg;
    redisAsyncContext *ac;
    cstate st;
    bool want_read, want_write, watched;
    int fd;
    bool closing;
    bool engaged; /* watch the fd (keep the loop alive); else only remember */
    bool loaded_once; /* FUNCTION LOAD already raced once */
    bool was_reset;   /* the last drop was rconn_reset: keep backing off */
    double backoff_s;
    rc_timer retry_timer;
    uint64_t reconnects;
    char err[ERR_LEN];
};

/* ---- event hooks on the loop ---- */

static void on_fd(rc_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop, (void)fd;
    rconn *c = arg;
    redisAsyncContext *ac = c->ac;
    if (!ac) return;
    if (events & (RC_READABLE | RC_HANGUP | RC_ERROR)) redisAsyncHandleRead(ac);
    if (c->ac == ac && (events & RC_WRITABLE)) redisAsyncHandleWrite(ac);
}

static void update_watch(rconn *c)
{
    unsigned ev = (c->want_read ? RC_READABLE : 0) | (c->want_write ? RC_WRITABLE : 0);
    if (ev && c->engaged) {
        if (rc_loop_watch_fd(c->loop, c->fd, ev, on_fd, c) == 0) c->watched = true;
    } else if (c->watched) {
        rc_loop_unwatch_fd(c->loop, c->fd);
        c->watched = false;
    }
}

/* hiredis's event hooks: each says which directions it wants watched. */
enum { KEEP = -1 };
static void want(void *pd, int read, int write)
{
    rconn *c = pd;
    if (read != KEEP) c->want_read = read;
    if (write != KEEP) c->want_write = write;
    update_watch(c);
}
static void ev_add_read(void *pd) { want(pd, 1, KEEP); }
static void ev_del_read(void *pd) { want(pd, 0, KEEP); }
static void ev_add_write(void *pd) { want(pd, KEEP, 1); }
static void ev_del_write(void *pd) { want(pd, KEEP, 0); }
static void ev_cleanup(void *pd) { want(pd, 0, 0); }

/* ---- states ---- */

static void start_connect(rconn *c);

static void schedule_retry(rconn *c)
{
    if (c->closing || c->st == ST_FATAL) return;
    c->st = ST_IDLE;
    double d = c->backoff_s;
    c->backoff_s = c->backoff_s * 2 > c->cfg.backoff_max_s ? c->cfg.backoff_max_s : c->backoff_s * 2;
    rc_timer_start(c->loop, &c->retry_timer, rc_loop_now(c->loop) + rc_seconds(d));
}

static void fatal(rconn *c, const char *fmt, const char *detail)
{
    snprintf(c->err, sizeof c->err, fmt, detail);
    rr_defang(c->err); /* detail may be the server's */
    bool was = c->st == ST_FATAL;
    c->st = ST_FATAL;
    if (c->ac) redisAsyncDisconnect(c->ac);
    if (!was && c->cfg.on_fatal) c->cfg.on_fatal(c, c->err, c->cfg.ud);
}

static void went_down(rconn *c, const char *why)
{
    bool was_ready = c->st == ST_READY;
    if (c->st != ST_FATAL) {
        snprintf(c->err, sizeof c->err, "%s", why);
        schedule_retry(c);
    }
    if (was_ready && !c->closing && c->cfg.on_down) c->cfg.on_down(c, why, c->cfg.ud);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rconn *c = ac->data;
    if (!c || c->ac != ac) return;
    if (status != REDIS_OK) {
        char why[ERR_LEN];
        snprintf(why, sizeof why, "cannot connect to Redis: %s", ac->errstr);
        c->ac = NULL; /* hiredis frees it after this call */
        went_down(c, why);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rconn *c = ac->data;
    if (!c || c->ac != ac) return;
    char why[ERR_LEN];
    if (status == REDIS_OK)
        snprintf(why, sizeof why, "disconnected from Redis");
    else
        snprintf(why, sizeof why, "lost the Redis connection: %s", ac->errstr);
    c->ac = NULL;
    went_down(c, why);
}

static int send_raw(rconn *c, redisCallbackFn *fn, int argc, const char **argv, const size_t *lens)
{
    if (!c->ac) return RC_ESTATE;
    return redisAsyncCommandArgv(c->ac, fn, c, argc, argv, lens) == REDIS_OK ? 0 : RC_ESYS;
}

static void check_version(rconn *c);

static void become_ready(rconn *c)
{
    c->st = ST_READY;
    /* A server that accepts connections but refuses the commands (out of
     * memory) is reset at each attempt: only a drop of its own ends that. */
    if (!c->was_reset) c->backoff_s = BACKOFF_MIN_S;
    c->was_reset = false;
    c->err[0] = '\0';
    if (c->cfg.on_ready) c->cfg.on_ready(c, c->cfg.ud);
}

static void on_load(redisAsyncContext *ac, void *r, void *pd)
{
    rconn *c = pd;
    redisReply *rep = r;
    if (!rep || c->ac != ac) return;
    if (rconn_transient(rep)) {
        rconn_reset(c, rep->str);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        if (strstr(rep->str, "already exists") && !c->loaded_once) {
            c->loaded_once = true; /* another process loaded it first: check its version */
            check_version(c);
            return;
        }
        fatal(c, "cannot load the runcue functions library: %s", rep->str);
        return;
    }
    become_ready(c);
}

static void on_version(redisAsyncContext *ac, void *r, void *pd)
{
    rconn *c = pd;
    redisReply *rep = r;
    if (!rep || c->ac != ac) return;
    if (rconn_transient(rep) && !strstr(rep->str, "Function not found")) {
        rconn_reset(c, rep->str); /* loading its data: try again after a backoff */
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        if (strstr(rep->str, "not found") || strstr(rep->str, "Function not")) {
            c->st = ST_LOAD;
            const char *argv[] = {"FUNCTION", "LOAD", rc_redis_lua_text};
            size_t lens[] = {8, 4, strlen(rc_redis_lua_text)};
            if (send_raw(c, on_load, 3, argv, lens)) rconn_reset(c, "cannot send FUNCTION LOAD");
            return;
        }
        fatal(c, "cannot check the runcue functions library: %s", rep->str);
        return;
    }
    if (rep->type != REDIS_REPLY_STRING || strcmp(rep->str, rc_redis_lua_version) != 0) {
        char got[RR_QUOTE_LEN];
        if (rep->type == REDIS_REPLY_STRING)
            rr_quote(got, rep->str, rep->len);
        else
            snprintf(got, sizeof got, "(not a string)");
        char msg[ERR_LEN];
        snprintf(msg, sizeof msg,
                 "the server has version %s of the runcue functions library; this build needs "
                 "version %s and does not replace it (FUNCTION DELETE runcue once nothing of "
                 "version %s runs)",
                 got, rc_redis_lua_version, got);
        fatal(c, "%s", msg);
        return;
    }
    become_ready(c);
}

static void check_version(rconn *c)
{
    c->st = ST_VERSION;
    const char *argv[] = {"FCALL_RO", "runcue_version", "0"};
    size_t lens[] = {8, 14, 1};
    if (send_raw(c, on_version, 3, argv, lens)) rconn_reset(c, "cannot send FCALL");
}

static void on_auth(redisAsyncContext *ac, void *r, void *pd)
{
    rconn *c = pd;
    redisReply *rep = r;
    if (!rep || c->ac != ac) return;
    if (rconn_transient(rep)) {
        rconn_reset(c, rep->str);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        fatal(c, "Redis refused the login: %s", rep->str);
        return;
    }
    check_version(c);
}

static void start_connect(rconn *c)
{
    if (c->closing || c->st == ST_FATAL) return;
    redisAsyncContext *ac = c->cfg.unix_path ? redisAsyncConnectUnix(c->cfg.unix_path)
                                             : redisAsyncConnect(c->cfg.host, c->cfg.port);
    if (!ac) {
        snprintf(c->err, sizeof c->err, "cannot connect to Redis: out of memory");
        schedule_retry(c);
        return;
    }
    if (ac->err) {
        snprintf(c->err, sizeof c->err, "cannot connect to Redis: %s", ac->errstr);
        redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    c->reconnects++;
    c->ac = ac;
    c->st = ST_CONNECTING;
    c->loaded_once = false;
    c->fd = ac->c.fd;
    c->want_read = c->want_write = c->watched = false;
    ac->data = c;
    ac->ev.data = c;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (c->cfg.password) {
        c->st = ST_AUTH;
        const char *argv[3];
        size_t lens[3];
        int argc = 0;
        argv[argc] = "AUTH", lens[argc++] = 4;
        if (c->cfg.user) argv[argc] = c->cfg.user, lens[argc++] = strlen(c->cfg.user);
        argv[argc] = c->cfg.password, lens[argc++] = strlen(c->cfg.password);
        send_raw(c, on_auth, argc, argv, lens);
    } else {
        check_version(c);
    }
}

static void retry_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    start_connect(arg);
}

/* ---- public ---- */

int rconn_new(rconn **out, rc_loop *loop, rconn_cfg *cfg)
{
    if (rc_loop_clock(loop) != RC_CLOCK_MONOTONIC) return RC_ESTATE;
    rconn *c = calloc(1, sizeof *c);
    if (!c) return RC_ENOMEM;
    c->loop = loop;
    c->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    c->backoff_s = BACKOFF_MIN_S;
    c->fd = -1;
    c->engaged = true;
    rc_timer_init(&c->retry_timer, retry_fire, c);
    c->reconnects = (uint64_t)-1; /* the first connect is not a reconnect */
    start_connect(c);
    *out = c;
    return 0;
}

int rconn_open(rconn **out, rc_loop *loop, const rc_redis_conn *conn,
               void (*on_ready)(rconn *, void *), void (*on_fatal)(rconn *, const char *, void *),
               void *ud, char *err, size_t errlen)
{
    *out = NULL;
    rconn_cfg cfg;
    int rc = rconn_cfg_parse(&cfg, conn, err, errlen);
    if (rc) return rc;
    cfg.on_ready = on_ready;
    cfg.on_fatal = on_fatal;
    cfg.ud = ud;
    rc = rconn_new(out, loop, &cfg);
    if (rc) {
        rconn_cfg_clear(&cfg);
        snprintf(err, errlen, "%s",
                 rc == RC_ESTATE ? "the Redis transport needs a loop on the monotonic clock"
                                 : "out of memory");
    }
    return rc;
}

void rconn_free(rconn *c)
{
    if (!c) return;
    c->closing = true;
    rc_timer_stop(c->loop, &c->retry_timer);
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        redisAsyncFree(ac);
        c->ac = NULL;
    }
    rconn_cfg_clear(&c->cfg);
    free(c);
}

bool rconn_ready(const rconn *c)
{
    return c->st == ST_READY && c->ac;
}

rc_redis_state rconn_state(const rconn *c)
{
    return c->st == ST_READY ? RC_REDIS_READY
                             : (c->st == ST_FATAL ? RC_REDIS_FAILED : RC_REDIS_CONNECTING);
}

const char *rconn_error(const rconn *c)
{
    return c->err;
}

uint64_t rconn_reconnects(const rconn *c)
{
    return c->reconnects == (uint64_t)-1 ? 0 : c->reconnects;
}

int rconn_cmd(rconn *c, redisCallbackFn *fn, void *pd, int argc, const char **argv,
              const size_t *lens)
{
    if (!rconn_ready(c)) return RC_ESTATE;
    return redisAsyncCommandArgv(c->ac, fn, pd, argc, argv, lens) == REDIS_OK ? 0 : RC_ESYS;
}

void rconn_set_engaged(rconn *c, bool engaged)
{
    if (c->engaged == engaged) return;
    c->engaged = engaged;
    rc_timer_set_ref(&c->retry_timer, engaged);
    if (c->ac && c->fd >= 0) update_watch(c);
}

void rconn_reset(rconn *c, const char *why)
{
    snprintf(c->err, sizeof c->err, "%s", why);
    rr_defang(c->err); /* often an error reply */
    c->was_reset = true;
    if (c->ac) redisAsyncDisconnect(c->ac);
}

bool rconn_transient(const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR || !reply->str) return false;
    static const char *const prefixes[] = {"LOADING", "BUSY ", "MASTERDOWN", "TRYAGAIN", "OOM "};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(reply->str, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return strstr(reply->str, "Function not found") != NULL;
}

const char *rc_redis_library_version(void)
{
    return rc_redis_lua_version;
}

const char *rc_redis_library_text(void)
{
    return rc_redis_lua_text;
}
