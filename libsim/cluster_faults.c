/* cluster_faults.c -- the cluster's shape ("K:M") and fault list, as the
 * command line and scenario files write them, checked to one-line errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

void cluster_config_defaults(cluster_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->schedulers = 2;
    cfg->agents = 4;
    cfg->slots = 4;
    cfg->count = 100;
    cfg->link_latency_ms = 1;
    cfg->link_jitter = 0.5;
}

static bool parse_uint(const char *p, const char *end, unsigned lo, unsigned hi, unsigned *out)
{
    if (p == end || end - p > 9) return false;
    unsigned v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Up to max bytes of what was given, for a one-line message: control
 * characters (C0, DEL, UTF-8 C1) shown as '?'.  out holds max + 1 bytes. */
static const char *shown(char *out, const char *s, size_t n, size_t max)
{
    if (n > max) n = max;
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        const bool c1 = c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                        (unsigned char)s[i + 1] <= 0x9f;
        out[i] = c < 0x20 || c == 0x7f || c1 ? '?' : (char)c;
        if (c1) out[++i] = '?';
    }
    out[n] = '\0';
    return out;
}

int cluster_parse_shape(cluster_config *cfg, const char *spec, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    unsigned k, m;
    if (!colon || !parse_uint(spec, colon, 1, 16, &k) ||
        !parse_uint(colon + 1, colon + strlen(colon), 1, 48, &m)) {
        char what[61];
        snprintf(err, errlen, "'%s' is not SCHEDULERS:AGENTS (1..16 and 1..48, e.g. 2:8)",
                 shown(what, spec, strlen(spec), 60));
        return -1;
    }
    cfg->schedulers = k;
    cfg->agents = m;
    return 0;
}

/* "5", "5s", "250ms", "1.5s": seconds, 0..1e6. */
static bool parse_time(const char *p, const char *end, double *out)
{
    char buf[32];
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    double scale = 1;
    if (n > 2 && strcmp(buf + n - 2, "ms") == 0) {
        buf[n - 2] = '\0';
        scale = 0.001;
    } else if (buf[n - 1] == 's') {
        buf[n - 1] = '\0';
    }
    if (buf[0] < '0' || buf[0] > '9') return false;
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (*e || errno || !isfinite(v) || v < 0 || v > 1e6) return false;
    /* To the nanosecond, the run's clock: "1e-306ms" is 0, not a number
     * too small to print and read back. */
    *out = round(v * scale * 1e9) / 1e9;
    return true;
}

static const char *const KINDS[] = {"crash", "pause", "partition", "engine-restart"};

static int fail(char *err, size_t errlen, const char *item, size_t n, const char *why)
{
    char what[81];
    snprintf(err, errlen, "'%s': %s", shown(what, item, n, 80), why);
    return -1;
}

/* One item: KIND[:TARGET]@T[+D][:loss=S]. */
static int parse_one(cluster_config *cfg, const char *p, size_t n, char *err, size_t errlen)
{
    const char *end = p + n, *at = memchr(p, '@', n);
    if (!at) return fail(err, errlen, p, n, "expected KIND:TARGET@TIME (e.g. crash:agent2@5s)");
    cluster_fault f = {0};
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *kend = colon ? colon : at;
    size_t klen = (size_t)(kend - p);
    int kind = -1;
    for (int i = 0; i < 4; i++)
        if (strlen(KINDS[i]) == klen && memcmp(p, KINDS[i], klen) == 0) kind = i;
    if (kind < 0)
        return fail(err, errlen, p, n, "unknown fault (crash, pause, partition or engine-restart)");
    f.kind = (cluster_fault_kind)kind;
    if (f.kind == CF_ENGINE_RESTART) {
        if (colon) return fail(err, errlen, p, n, "engine-restart takes no target");
    } else {
        if (!colon) return fail(err, errlen, p, n, "needs a target (agentN or schedN)");
        const char *t = colon + 1;
        size_t tl = (size_t)(at - t);
        const char *num;
        if (tl > 5 && memcmp(t, "agent", 5) == 0)
            num = t + 5;
        else if (tl > 5 && memcmp(t, "sched", 5) == 0) {
            num = t + 5;
            f.scheduler = true;
        } else
            return fail(err, errlen, p, n, "the target must be agentN or schedN");
        unsigned max = f.scheduler ? cfg->schedulers : cfg->agents;
        if (!parse_uint(num, at, 1, max, &f.target)) {
            char why[96];
            snprintf(why, sizeof why, "no such %s (this cluster has %u, numbered from 1)",
                     f.scheduler ? "scheduler" : "agent", max);
            return fail(err, errlen, p, n, why);
        }
        if (f.kind == CF_PAUSE && f.scheduler)
            return fail(err, errlen, p, n, "only agents can be paused");
    }
    const char *t = at + 1, *opts = memchr(t, ':', (size_t)(end - t));
    const char *tend = opts ? opts : end;
    const char *plus = memchr(t, '+', (size_t)(tend - t));
    if (!parse_time(t, plus ? plus : tend, &f.at_s))
        return fail(err, errlen, p, n, "bad time after '@' (e.g. 5s, 250ms)");
    if (plus && !parse_time(plus + 1, tend, &f.for_s))
        return fail(err, errlen, p, n, "bad duration after '+' (e.g. 4s)");
    if (plus && f.for_s <= 0) return fail(err, errlen, p, n, "the duration must be more than 0");
    if ((f.kind == CF_PAUSE || f.kind == CF_PARTITION) && !plus)
        return fail(err, errlen, p, n, "needs a duration (e.g. @8s+4s)");
    if (f.kind == CF_CRASH && f.scheduler && !plus) f.for_s = 1; /* schedulers restart */
    if (f.kind == CF_ENGINE_RESTART) {
        if (!plus) f.for_s = 0.2;
        f.loss_s = 1;
        if (opts) {
            if ((size_t)(end - opts) < 6 || memcmp(opts, ":loss=", 6) != 0 ||
                !parse_time(opts + 6, end, &f.loss_s))
                return fail(err, errlen, p, n, "expected :loss=S (e.g. :loss=1s)");
        }
    } else if (opts) {
        return fail(err, errlen, p, n, "only engine-restart takes options");
    }
    if (cfg->n_faults == CLUSTER_MAX_FAULTS) return fail(err, errlen, p, n, "too many faults (64)");
    cfg->faults[cfg->n_faults++] = f;
    return 0;
}

int cluster_parse_faults(cluster_config *cfg, const char *spec, char *err, size_t errlen)
{
    size_t len = strlen(spec);
    if (len == 0 || len > 8192) {
        snprintf(err, errlen, "expected a comma-separated fault list");
        return -1;
    }
    for (const char *p = spec; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0) {
            snprintf(err, errlen, "an empty item in the fault list");
            return -1;
        }
        if (parse_one(cfg, p, n, err, errlen)) return -1;
        p += n + (comma ? 1 : 0);
        if (comma && !*p) {
            snprintf(err, errlen, "the fault list ends in ','");
            return -1;
        }
    }
    /* One kept engine snapshot: each restart's fsync point comes after the
     * previous restart. */
    double last = -1;
    for (size_t i = 0; i < cfg->n_faults; i++) {
        const cluster_fault *f = &cfg->faults[i];
        if (f->kind != CF_ENGINE_RESTART) continue;
        if (f->at_s - f->loss_s <= last) {
            snprintf(err, errlen,
                     "engine restarts must be in time order, each one's loss window after "
                     "the previous restart");
            return -1;
        }
        last = f->at_s + f->for_s;
    }
    return 0;
}

/* A time as the spec writes it, read back the same: up to 1e6 s to the
 * nanosecond, so 15 significant digits and never an exponent with a '+'
 * (which would read as a duration). */
static int put_time(char *buf, size_t len, const char *before, double s)
{
    return snprintf(buf, len, "%s%.15gs", before, s);
}

void cluster_fault_format(const cluster_fault *f, char *buf, size_t len)
{
    char target[32] = "";
    if (f->kind != CF_ENGINE_RESTART)
        snprintf(target, sizeof target, ":%s%u", f->scheduler ? "sched" : "agent", f->target);
    int n = snprintf(buf, len, "%s%s", KINDS[f->kind], target);
    if (n >= 0 && (size_t)n < len) n += put_time(buf + n, len - (size_t)n, "@", f->at_s);
    if (n >= 0 && (size_t)n < len && f->for_s > 0)
        n += put_time(buf + n, len - (size_t)n, "+", f->for_s);
    if (n >= 0 && (size_t)n < len && f->kind == CF_ENGINE_RESTART)
        put_time(buf + n, len - (size_t)n, ":loss=", f->loss_s);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (16u << 20)) break; /* far more than the library */
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096) {
            fclose(f);
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}

char *cluster_load_functions(size_t *len, char *err, size_t errlen)
{
#ifdef RUNCUE_LUA_SOURCE
    static const char *const paths[] = {RUNCUE_LUA_SOURCE, RUNCUE_LUA_INSTALLED};
#else
    static const char *const paths[] = {"transports/redis/runcue.lua"};
#endif
    const char *env = getenv("RUNCUE_LUA");
    if (env && *env) {
        char *t = read_file(env, len);
        if (!t)
            snprintf(err, errlen, "cannot read the functions library '%.200s' (RUNCUE_LUA)", env);
        return t;
    }
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *t = read_file(paths[i], len);
        if (t) return t;
    }
    snprintf(err, errlen, "cannot find the functions library runcue.lua (set RUNCUE_LUA)");
    return NULL;
}
