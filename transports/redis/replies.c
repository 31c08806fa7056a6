/*
 * replies.c -- the server's replies, checked (see replies.h).
 */
#include "replies.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runcue.h"

/* ---- small checks ---- */

static bool is_str(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING && r->str;
}

/* A string reply without a NUL inside (a C string of its whole length). */
static bool is_text(const redisReply *r)
{
    return is_str(r) && memchr(r->str, '\0', r->len) == NULL;
}

static bool str_is(const redisReply *r, const char *s)
{
    return is_text(r) && strcmp(r->str, s) == 0;
}

/* s (n bytes) as a finite number, the whole of it; false otherwise. */
static bool parse_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf || memchr(s, '\0', n)) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* A decimal of 1 to 20 digits within uint64_t; false otherwise. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A job id or token into buf (RR_ID_MAX + 1 bytes): whole or not at all. */
static bool copy_id(const redisReply *r, char *buf)
{
    if (!is_text(r) || r->len == 0 || r->len > RR_ID_MAX) return false;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    return true;
}

bool rr_json_exact(const char *s, size_t n, cJSON **out)
{
    *out = NULL;
    if (!s || n == 0) return true;
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(s, n, &end, false);
    if (!v) return false;
    /* cJSON stops after the first value: anything but white space after it
     * means the text is not one JSON value */
    for (const char *p = end; p < s + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(v);
            return false;
        }
    }
    *out = v;
    return true;
}

/* ---- agent ---- */

rr_claim_kind rr_claim_parse(const redisReply *rep, rr_claim *out)
{
    memset(out, 0, sizeof *out);
    out->kind = RR_CLAIM_BAD;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || !is_text(rep->element[0])) {
        snprintf(out->why, sizeof out->why, "claim: not a reply runcue_claim gives");
        return out->kind;
    }
    const char *kind = rep->element[0]->str;
    if (strcmp(kind, "jobs") == 0) {
        size_t entries = rep->elements >= 2 ? (rep->elements - 2) / 7 : 0;
        size_t partial = rep->elements >= 2 ? (rep->elements - 2) % 7 : 0;
        out->kind = RR_CLAIM_JOBS;
        out->n_jobs = entries < RR_CLAIM_MAX ? entries : RR_CLAIM_MAX;
        if (entries > RR_CLAIM_MAX)
            snprintf(out->why, sizeof out->why,
                     "claim: %zu jobs in one reply, more than %d: the rest are left to "
                     "their leases' end",
                     entries, RR_CLAIM_MAX);
        else if (partial || rep->elements < 2)
            snprintf(out->why, sizeof out->why, "claim: a partial job entry, left out");
    } else if (strcmp(kind, "wait") == 0) {
        double delay_us;
        const redisReply *d = rep->elements >= 4 ? rep->element[3] : NULL;
        out->kind = RR_CLAIM_WAIT;
        out->wait_s = RR_WAIT_MAX_S;
        if (is_str(d) && parse_number(d->str, d->len, &delay_us)) {
            /* the delay, and a millisecond for the server's clock to be past it */
            double s = delay_us / 1e6 + RR_WAIT_MIN_S;
            out->wait_s = s < RR_WAIT_MIN_S ? RR_WAIT_MIN_S : s > RR_WAIT_MAX_S ? RR_WAIT_MAX_S : s;
        }
    } else if (strcmp(kind, "empty") == 0) {
        out->kind = RR_CLAIM_EMPTY;
    } else {
        char q[RR_QUOTE_LEN];
        snprintf(out->why, sizeof out->why, "claim: unknown reply '%s'",
                 rr_quote(q, kind, strlen(kind)));
    }
    return out->kind;
}

static rr_job_verdict refuse(rr_job *out, bool retry, const char *why, const redisReply *what)
{
    out->retry = retry;
    char q[RR_QUOTE_LEN];
    if (what && is_text(what))
        snprintf(out->why, sizeof out->why, "%s '%s'", why, rr_quote(q, what->str, what->len));
    else
        snprintf(out->why, sizeof out->why, "%s", why);
    return RR_JOB_REFUSE;
}

rr_job_verdict rr_job_parse(redisReply *const *f, rr_job *out)
{
    memset(out, 0, sizeof *out);
    if (!copy_id(f[0], out->id) || !copy_id(f[1], out->tok)) {
        out->id[0] = out->tok[0] = '\0';
        snprintf(out->why, sizeof out->why,
                 "claim: a job id or token that is not 1 to %d bytes of text: refused, "
                 "left to its lease's end",
                 RR_ID_MAX);
        return RR_JOB_UNNAMED;
    }
    double lease_us;
    if (!is_str(f[5]) || !parse_number(f[5]->str, f[5]->len, &lease_us) ||
        lease_us < RR_LEASE_MIN_US || lease_us > RR_LEASE_MAX_US)
        return refuse(out, true, "the server sent a bad lease length", f[5]);
    out->lease_s = lease_us / 1e6;
    out->beat_s = out->lease_s / 3 < RR_BEAT_MIN_S ? RR_BEAT_MIN_S : out->lease_s / 3;
    if (!is_text(f[2]) || f[2]->len == 0 || f[2]->len > RR_TASK_MAX)
        return refuse(out, false, "the task name is empty, too long or not text", NULL);
    if (!is_str(f[3])) return refuse(out, false, "the payload is not JSON", NULL);
    if (!rr_json_exact(f[3]->str, f[3]->len, &out->params) || !out->params)
        return refuse(out, false, "the payload is not JSON (or has more after its value)", NULL);
    out->task = f[2]->str;
    return RR_JOB_RUN;
}

/* ---- scheduler ---- */

rr_enq_kind rr_enqueued_parse(const redisReply *rep, rr_enqueued *out)
{
    memset(out, 0, sizeof *out);
    out->kind = RR_ENQ_BAD;
    if (!rep) return out->kind;
    if (rep->type == REDIS_REPLY_ERROR) {
        out->kind = RR_ENQ_REFUSED;
        out->why = is_text(rep) ? rep->str : "an unreadable error";
        return out->kind;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || !is_str(rep->element[0]) ||
        !is_text(rep->element[1]))
        return out->kind;
    const char *state = rep->element[1]->str;
    const redisReply *res = rep->elements > 2 ? rep->element[2] : NULL;
    if (strcmp(state, "error") == 0) {
        out->kind = RR_ENQ_REFUSED;
        out->why = is_text(res) ? res->str : "unknown error";
        return out->kind;
    }
    uint64_t job;
    if (!parse_u64(rep->element[0]->str, rep->element[0]->len, &job) || job == 0) return out->kind;
    if (strcmp(state, "done") == 0) {
        out->kind = RR_ENQ_DONE;
        out->result = is_str(res) ? res->str : NULL;
        out->result_len = is_str(res) ? res->len : 0;
    } else if (strcmp(state, "new") == 0 || strcmp(state, "queued") == 0 ||
               strcmp(state, "leased") == 0) {
        out->kind = RR_ENQ_WAITING;
        out->job = job;
        out->reattached = strcmp(state, "new") != 0;
    }
    return out->kind;
}

bool rr_stream_id_ok(const char *s, size_t n)
{
    const char *dash = n <= RR_SID_MAX ? memchr(s, '-', n) : NULL;
    uint64_t v;
    return dash && parse_u64(s, (size_t)(dash - s), &v) &&
           parse_u64(dash + 1, n - (size_t)(dash - s) - 1, &v);
}

/* The value of field `name` in a flat {field, value, ...} array, if a string. */
static const redisReply *field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (str_is(fields->element[i], name))
            return is_str(fields->element[i + 1]) ? fields->element[i + 1] : NULL;
    }
    return NULL;
}

bool rr_result_parse(const redisReply *entry, rr_result *out)
{
    memset(out, 0, sizeof *out);
    if (!entry || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        !is_str(entry->element[0]))
        return false;
    const redisReply *sid = entry->element[0], *f = entry->element[1];
    out->sid = sid->str;
    out->sid_ok = rr_stream_id_ok(sid->str, sid->len);
    const redisReply *id = field(f, "id"), *st = field(f, "status"), *res = field(f, "result"),
                     *er = field(f, "error"), *dl = field(f, "dl");
    if (!id || !parse_u64(id->str, id->len, &out->job)) out->job = 0;
    out->status = is_text(st) ? st->str : NULL;
    out->result = res ? res->str : NULL;
    out->result_len = res ? res->len : 0;
    out->error = is_text(er) ? er->str : NULL;
    uint64_t d = 1;
    if (dl && parse_u64(dl->str, dl->len, &d) && d <= UINT32_MAX)
        out->deliveries = (unsigned)d;
    else
        out->deliveries = 1;
    return true;
}

bool rr_batch_last(const redisReply *rep, size_t full, char *last)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1) return false;
    const redisReply *stream = rep->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) return false;
    const redisReply *entries = stream->element[1];
    if (entries->type != REDIS_REPLY_ARRAY || !full || entries->elements != full) return false;
    const redisReply *e = entries->element[full - 1];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 1) return false;
    const redisReply *id = e->element[0];
    if (id->type != REDIS_REPLY_STRING || !rr_stream_id_ok(id->str, id->len)) return false;
    memcpy(last, id->str, id->len + 1); /* at most RR_SID_MAX bytes */
    return true;
}

/* How many bytes at s (n of them, n > 0) are a control character: 2 for a
 * C1 control in UTF-8 (C2 80..9F: 9B is CSI), 1 for C0, DEL and a byte
 * 80..9F in no character (a lone 9B is CSI to a Latin-1 terminal), 0 for
 * anything else (other bytes in no character are kept).  *cont: the
 * continuation bytes the last lead byte still asks for (0 to start). */
static size_t control_len(const unsigned char *s, size_t n, unsigned *cont)
{
    const unsigned char c = s[0];
    if (c == 0xc2 && n > 1 && s[1] >= 0x80 && s[1] <= 0x9f) {
        *cont = 0;
        return 2;
    }
    if (c >= 0x80 && c <= 0xbf && *cont) {
        --*cont; /* in a character */
        return 0;
    }
    *cont = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xc2 && c <= 0xdf;
    return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f);
}

const char *rr_quote(char *out, const char *s, size_t n)
{
    enum { SHOWN = RR_QUOTE_LEN - 4 };
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, i = 0;
    unsigned cont = 0;
    for (; i < n && o < SHOWN; i++) {
        const size_t k = control_len(u + i, n - i, &cont);
        out[o++] = k ? '?' : s[i]; /* one mark for a control, whatever its length */
        if (k) i += k - 1;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

void rr_defang(char *s)
{
    unsigned char *u = (unsigned char *)s;
    const size_t n = strlen(s);
    unsigned cont = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t k = control_len(u + i, n - i, &cont);
        if (k) {
            memset(u + i, '?', k);
            i += k - 1;
        }
    }
}

int rr_job_json(const redisReply *rep, const char *id, cJSON **out, char *err, size_t errlen)
{
    /* the hash's field, the JSON's name; times become seconds from now */
    static const struct {
        const char *field, *name;
        enum { TEXT, COUNT, AGO, UNTIL } kind;
    } known[] = {
        {"svc", "service", TEXT},       {"task", "task", TEXT},
        {"owner", "owner", TEXT},       {"st", "state", TEXT},
        {"dl", "deliveries", COUNT},    {"ag", "agent", TEXT},
        {"eq", "enqueued_s_ago", AGO},  {"lu", "lease_ends_in_s", UNTIL},
        {"fin", "finished_s_ago", AGO}, {"err", "error", TEXT},
        {"pg", "progress", TEXT},       {"payload", "params", TEXT},
        {"res", "result", TEXT},
    };
    enum { N_KNOWN = sizeof known / sizeof known[0] };
    *out = NULL;
    double now = 0;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || rep->elements % 2 ||
        rep->elements > 2 + 2 * N_KNOWN || !str_is(rep->element[0], "now") ||
        !is_str(rep->element[1]) ||
        !parse_number(rep->element[1]->str, rep->element[1]->len, &now)) {
        snprintf(err, errlen, "runcue_job: unexpected reply");
        return RC_EINVAL;
    }
    cJSON *root = cJSON_CreateObject();
    if (!root) {
        snprintf(err, errlen, "out of memory");
        return RC_ENOMEM;
    }
    cJSON_AddStringToObject(root, "job", id);
    cJSON_AddBoolToObject(root, "found", rep->elements > 2);
    for (size_t i = 2; i < rep->elements; i += 2) {
        const redisReply *f = rep->element[i], *v = rep->element[i + 1];
        size_t k = 0;
        while (k < N_KNOWN && !str_is(f, known[k].field))
            k++;
        if (k == N_KNOWN || !is_str(v) || v->len > RR_JOB_TEXT ||
            cJSON_GetObjectItem(root, known[k].name)) {
            cJSON_Delete(root);
            snprintf(err, errlen, "runcue_job: unexpected field or value");
            return RC_EINVAL;
        }
        double x;
        if (known[k].kind == TEXT) {
            char *t = malloc(v->len + 1);
            if (!t) {
                cJSON_Delete(root);
                snprintf(err, errlen, "out of memory");
                return RC_ENOMEM;
            }
            memcpy(t, v->str, v->len);
            t[v->len] = '\0';
            for (size_t j = 0; j < v->len; j++)
                if (!t[j]) t[j] = '?'; /* a NUL inside: no C string ends there */
            rr_defang(t);
            cJSON_AddStringToObject(root, known[k].name, t);
            free(t);
        } else if (parse_number(v->str, v->len, &x)) {
            cJSON_AddNumberToObject(root, known[k].name,
                                    known[k].kind == COUNT ? x
                                    : known[k].kind == AGO ? (now - x) / 1e6
                                                           : (x - now) / 1e6);
        }
    }
    *out = root;
    return 0;
}

bool rr_progress_fraction(const char *s, size_t n, double *out)
{
    double f;
    /* digits first: strtod would also take leading space and a sign */
    if (!s || n == 0 || s[0] < '0' || s[0] > '9' || !parse_number(s, n, &f) || !(f >= 0 && f <= 1))
        return false;
    *out = f;
    return true;
}

size_t rr_utf8_cut(const char *s, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = max;
    /* back over at most 3 continuation bytes to the lead of the character
     * at the cut; a longer run is not UTF-8, and is cut where it is */
    for (int k = 0; k < 3 && n > 0 && (u[n] & 0xC0) == 0x80; k++)
        n--;
    if ((u[n] & 0xC0) == 0x80) return max;
    return n;
}

static bool is_agent_row(const redisReply *row)
{
    return row->type == REDIS_REPLY_ARRAY && row->elements >= 1 &&
           row->element[0]->type == REDIS_REPLY_STRING &&
           strcmp(row->element[0]->str, "agent") == 0;
}

bool rr_snapshot_ok(const redisReply *rep, char *why, size_t whylen)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) {
        snprintf(why, whylen, "runcue_snapshot: unexpected reply");
        return false;
    }
    size_t rows = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *row = rep->element[i];
        if (row->type == REDIS_REPLY_ARRAY && row->elements > RR_ROW_MAX) {
            snprintf(why, whylen, "runcue_snapshot: a row of %zu elements, more than %d",
                     row->elements, RR_ROW_MAX);
            return false;
        }
        if (!is_agent_row(row) && ++rows > RR_SNAPSHOT_ROWS_MAX) {
            snprintf(why, whylen, "runcue_snapshot: more than %d rows besides the agents'",
                     RR_SNAPSHOT_ROWS_MAX);
            return false;
        }
    }
    return true;
}

static double str_num(const redisReply *r)
{
    double v;
    if (!r) return 0;
    if (r->type == REDIS_REPLY_INTEGER) return (double)r->integer;
    if (is_str(r) && parse_number(r->str, r->len, &v)) return v;
    return 0;
}

static const char *str_of(const redisReply *r)
{
    return is_str(r) ? r->str : "";
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

int rr_snapshot_json(const redisReply *rep, const char *ns, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!rr_snapshot_ok(rep, err, errlen)) return RC_EINVAL;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "namespace", ns);
    cJSON *svcs = cJSON_AddArrayToObject(root, "services");
    cJSON *agents = cJSON_AddArrayToObject(root, "agents");
    cJSON *stats = cJSON_AddObjectToObject(root, "stats");
    cJSON *dead = cJSON_AddObjectToObject(root, "dead");
    double now = 0, max_lease = 0;
    size_t n_agents = 0, unlisted = 0;
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
        } else if (strcmp(kind, "agent") == 0 && row->elements >= 4 &&
                   ++n_agents > RR_AGENTS_LISTED) {
            unlisted++;
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
    if (unlisted) cJSON_AddNumberToObject(root, "agents_unlisted", (double)unlisted);
    *out = root;
    return 0;
}
