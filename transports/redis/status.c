/*
 * status.c -- rc_redis_snapshot: a namespace's state as JSON, read with one
 * blocking call of the read-only runcue_snapshot function (for runcue-dist
 * status, benchmarks and diagnosis).  No loop: hiredis's synchronous API.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rconn.h"
#include "runcue_redis.h"

static double str_num(const redisReply *r)
{
    if (!r) return 0;
    if (r->type == REDIS_REPLY_INTEGER) return (double)r->integer;
    if (r->type == REDIS_REPLY_STRING) return strtod(r->str, NULL);
    return 0;
}

static const char *str_of(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

/* Seconds, rounded to the microsecond. */
static void add_s(cJSON *o, const char *name, double us)
{
    cJSON_AddNumberToObject(o, name, round(us) / 1e6);
}

static cJSON *service_row(const redisReply *row, double now)
{
    /* service name rate_n rate_w conc lease maxd queued leased inwin next
     * oldest_id oldest_until */
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", str_of(row->element[1]));
    cJSON_AddNumberToObject(s, "rate_n", str_num(row->element[2]));
    add_s(s, "rate_window_s", str_num(row->element[3]));
    cJSON_AddNumberToObject(s, "concurrent", str_num(row->element[4]));
    add_s(s, "lease_s", str_num(row->element[5]));
    cJSON_AddNumberToObject(s, "max_deliveries", str_num(row->element[6]));
    cJSON_AddNumberToObject(s, "queued", str_num(row->element[7]));
    cJSON_AddNumberToObject(s, "leased", str_num(row->element[8]));
    cJSON_AddNumberToObject(s, "starts_in_window", str_num(row->element[9]));
    double next = str_num(row->element[10]);
    add_s(s, "next_start_in_s", next > now ? next - now : 0);
    if (*str_of(row->element[11])) {
        cJSON *o = cJSON_AddObjectToObject(s, "oldest_lease");
        cJSON_AddStringToObject(o, "job", str_of(row->element[11]));
        add_s(o, "expires_in_s", str_num(row->element[12]) - now);
    } else {
        cJSON_AddNullToObject(s, "oldest_lease");
    }
    return s;
}

static int convert(const redisReply *rep, const char *ns, cJSON **out, char *err, size_t errlen)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) {
        snprintf(err, errlen, "runcue_snapshot: unexpected reply");
        return RC_EINVAL;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "namespace", ns);
    cJSON *svcs = cJSON_AddArrayToObject(root, "services");
    cJSON *agents = cJSON_AddArrayToObject(root, "agents");
    cJSON *stats = cJSON_AddObjectToObject(root, "stats");
    cJSON *dead = cJSON_AddObjectToObject(root, "dead");
    double now = 0, max_lease = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *row = rep->element[i];
        if (row->type != REDIS_REPLY_ARRAY || row->elements < 1) continue;
        const char *kind = str_of(row->element[0]);
        if (strcmp(kind, "now") == 0 && row->elements >= 2) {
            now = str_num(row->element[1]);
            add_s(root, "server_time_s", now);
        } else if (strcmp(kind, "service") == 0 && row->elements >= 13) {
            cJSON_AddItemToArray(svcs, service_row(row, now));
            if (str_num(row->element[5]) > max_lease) max_lease = str_num(row->element[5]);
        } else if (strcmp(kind, "agent") == 0 && row->elements >= 4) {
            cJSON *a = cJSON_CreateObject();
            double ago = now - str_num(row->element[2]);
            cJSON_AddStringToObject(a, "name", str_of(row->element[1]));
            add_s(a, "last_seen_s_ago", ago);
            cJSON_AddNumberToObject(a, "leases", str_num(row->element[3]));
            /* alive: seen within the longest lease (a working agent renews
             * at a third of it; an idle one claims at least every second) */
            cJSON_AddBoolToObject(a, "alive", ago <= fmax(max_lease, 2e6));
            cJSON_AddItemToArray(agents, a);
        } else if (strcmp(kind, "stat") == 0 && row->elements >= 3) {
            cJSON_AddNumberToObject(stats, str_of(row->element[1]), str_num(row->element[2]));
        } else if (strcmp(kind, "dead") == 0 && row->elements >= 2) {
            cJSON_AddNumberToObject(dead, "count", str_num(row->element[1]));
            cJSON *ids = cJSON_AddArrayToObject(dead, "newest");
            for (size_t k = 2; k < row->elements; k++)
                cJSON_AddItemToArray(ids, cJSON_CreateString(str_of(row->element[k])));
        }
    }
    *out = root;
    return 0;
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
    rc = RC_ESYS;
    if (!c || c->err) {
        snprintf(err, errlen, "cannot connect to Redis: %s", c ? c->errstr : "out of memory");
        goto done;
    }
    redisSetTimeout(c, tv);
    if (cfg.password) {
        rep = cfg.user ? redisCommand(c, "AUTH %s %s", cfg.user, cfg.password)
                       : redisCommand(c, "AUTH %s", cfg.password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis refused the login: %s", rep ? rep->str : c->errstr);
            goto done;
        }
        freeReplyObject(rep);
    }
    rep = redisCommand(c, "FCALL_RO runcue_version 0");
    if (!rep || rep->type != REDIS_REPLY_STRING ||
        strcmp(rep->str, rc_redis_library_version()) != 0) {
        if (rep && rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "not found"))
            snprintf(err, errlen, "the runcue functions library is not loaded on this server");
        else
            snprintf(err, errlen,
                     "the server's runcue functions library is %s%.40s, not version %s",
                     rep && rep->type == REDIS_REPLY_STRING ? "version " : "",
                     rep ? rep->str ? rep->str : "unknown" : c->errstr, rc_redis_library_version());
        goto done;
    }
    freeReplyObject(rep);
    rep = redisCommand(c, "FCALL_RO runcue_snapshot 1 %s", base);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "runcue_snapshot: %s", rep ? rep->str : c->errstr);
        goto done;
    }
    rc = convert(rep, ns, out, err, errlen);
done:
    if (rep) freeReplyObject(rep);
    if (c) redisFree(c);
    rconn_cfg_clear(&cfg);
    return rc;
}
