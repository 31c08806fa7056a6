/*
 * status.c -- rc_redis_snapshot: a namespace's state as JSON, read with one
 * blocking call of the read-only runcue_snapshot function (for runcue-dist
 * status, benchmarks and diagnosis).  No loop: hiredis's synchronous API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rconn.h"
#include "replies.h"
#include "runcue_redis.h"

/* Why a call got no reply: a server that does not answer within the
 * timeout (hiredis says only "Resource temporarily unavailable"), or the
 * connection's own error. */
static void no_reply(char *err, size_t errlen, const redisContext *c, double timeout_s,
                     const char *what)
{
    if (c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily"))
        snprintf(err, errlen, "%s: no answer from Redis within %gs", what, timeout_s);
    else
        snprintf(err, errlen, "%s: %s", what, c->errstr);
}

/* Connect (a timeout of timeout_s on every call), log in, and check the
 * library's version: the connection, or NULL with a sentence in err and
 * *rc set. */
static redisContext *open_checked(const rconn_cfg *cfg, double timeout_s, char *err, size_t errlen,
                                  int *rc)
{
    struct timeval tv = {(long)timeout_s, (long)((timeout_s - (long)timeout_s) * 1e6)};
    redisContext *c = cfg->unix_path ? redisConnectUnixWithTimeout(cfg->unix_path, tv)
                                     : redisConnectWithTimeout(cfg->host, cfg->port, tv);
    redisReply *rep = NULL;
    char q[RR_QUOTE_LEN]; /* the server's words, quoted for a message */
    *rc = RC_ESYS;
    if (!c || c->err) {
        snprintf(err, errlen, "cannot connect to Redis: %s", c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (cfg->password) {
        rep = cfg->user ? redisCommand(c, "AUTH %s %s", cfg->user, cfg->password)
                        : redisCommand(c, "AUTH %s", cfg->password);
        if (!rep) {
            no_reply(err, errlen, c, timeout_s, "logging in");
            goto fail;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis refused the login: %s", rr_quote(q, rep->str, rep->len));
            goto fail;
        }
        freeReplyObject(rep);
    }
    rep = redisCommand(c, "FCALL_RO runcue_version 0");
    if (!rep || rep->type != REDIS_REPLY_STRING ||
        strcmp(rep->str, rc_redis_library_version()) != 0) {
        if (!rep)
            no_reply(err, errlen, c, timeout_s, "checking the runcue functions library");
        else if (rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "not found"))
            snprintf(err, errlen, "the runcue functions library is not loaded on this server");
        else if (rep->type == REDIS_REPLY_ERROR) /* loading its data, no right to call it */
            snprintf(err, errlen, "cannot check the runcue functions library: %s",
                     rr_quote(q, rep->str, rep->len));
        else {
            const char *got = rep->str ? rep->str : "unknown";
            snprintf(err, errlen, "the server's runcue functions library is %s%s, not version %s",
                     rep->type == REDIS_REPLY_STRING ? "version " : "",
                     rr_quote(q, got, strlen(got)), rc_redis_library_version());
        }
        goto fail;
    }
    freeReplyObject(rep);
    *rc = 0;
    return c;
fail:
    if (rep) freeReplyObject(rep);
    if (c) redisFree(c);
    return NULL;
}

/* Call the read-only function fn on namespace ns (with arg, if not NULL)
 * and hand its reply to parse. */
static int call_ro(const rc_redis_conn *conn, double timeout_s, const char *fn, const char *arg,
                   int (*parse)(const redisReply *, const char *, cJSON **, char *, size_t),
                   const char *what, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    rconn_cfg cfg;
    int rc = rconn_cfg_parse(&cfg, conn, err, errlen);
    if (rc) return rc;
    char base[80];
    rconn_ns_key(base, sizeof base, conn->ns ? conn->ns : "default");
    redisContext *c = open_checked(&cfg, timeout_s, err, errlen, &rc);
    if (c) {
        redisReply *rep = arg ? redisCommand(c, "FCALL_RO %s 1 %s %s", fn, base, arg)
                              : redisCommand(c, "FCALL_RO %s 1 %s", fn, base);
        char q[RR_QUOTE_LEN];
        rc = RC_ESYS;
        if (!rep)
            no_reply(err, errlen, c, timeout_s, fn);
        else if (rep->type == REDIS_REPLY_ERROR)
            snprintf(err, errlen, "%s: %s", fn, rr_quote(q, rep->str, rep->len));
        else if ((rc = parse(rep, what, out, err, errlen)) == RC_EINVAL)
            rc = RC_ESYS; /* the server's reply, not the caller's options */
        if (rep) freeReplyObject(rep);
        redisFree(c);
    }
    rconn_cfg_clear(&cfg);
    return rc;
}

int rc_redis_snapshot(const rc_redis_conn *conn, double timeout_s, cJSON **out, char *err,
                      size_t errlen)
{
    return call_ro(conn, timeout_s, "runcue_snapshot", NULL, rr_snapshot_json,
                   conn && conn->ns ? conn->ns : "default", out, err, errlen);
}

int rc_redis_job(const rc_redis_conn *conn, double timeout_s, const char *id, cJSON **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > RR_ID_MAX || strspn(id, "0123456789") != n) {
        snprintf(err, errlen, "a job id is 1 to %d digits", RR_ID_MAX);
        return RC_EINVAL;
    }
    return call_ro(conn, timeout_s, "runcue_job", id, rr_job_json, id, out, err, errlen);
}
