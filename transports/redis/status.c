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

int rc_redis_snapshot(const rc_redis_conn *conn, double timeout_s, cJSON **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    rconn_cfg cfg;
    int rc = rconn_cfg_parse(&cfg, conn, err, errlen);
    if (rc) return rc;
    const char *ns = conn->ns ? conn->ns : "default";
    char base[80];
    rconn_ns_key(base, sizeof base, ns);
    struct timeval tv = {(long)timeout_s, (long)((timeout_s - (long)timeout_s) * 1e6)};
    redisContext *c = cfg.unix_path ? redisConnectUnixWithTimeout(cfg.unix_path, tv)
                                    : redisConnectWithTimeout(cfg.host, cfg.port, tv);
    redisReply *rep = NULL;
    char q[RR_QUOTE_LEN]; /* the server's words, quoted for a message */
    rc = RC_ESYS;
    if (!c || c->err) {
        snprintf(err, errlen, "cannot connect to Redis: %s", c ? c->errstr : "out of memory");
        goto done;
    }
    redisSetTimeout(c, tv);
    if (cfg.password) {
        rep = cfg.user ? redisCommand(c, "AUTH %s %s", cfg.user, cfg.password)
                       : redisCommand(c, "AUTH %s", cfg.password);
        if (!rep) {
            no_reply(err, errlen, c, timeout_s, "logging in");
            goto done;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis refused the login: %s", rr_quote(q, rep->str, rep->len));
            goto done;
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
            snprintf(err, errlen,
                     "the server's runcue functions library is %s%s, not version %s",
                     rep->type == REDIS_REPLY_STRING ? "version " : "",
                     rr_quote(q, got, strlen(got)), rc_redis_library_version());
        }
        goto done;
    }
    freeReplyObject(rep);
    rep = redisCommand(c, "FCALL_RO runcue_snapshot 1 %s", base);
    if (!rep) {
        no_reply(err, errlen, c, timeout_s, "runcue_snapshot");
        goto done;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "runcue_snapshot: %s", rr_quote(q, rep->str, rep->len));
        goto done;
    }
    rc = rr_snapshot_json(rep, ns, out, err, errlen);
done:
    if (rep) freeReplyObject(rep);
    if (c) redisFree(c);
    rconn_cfg_clear(&cfg);
    return rc;
}
