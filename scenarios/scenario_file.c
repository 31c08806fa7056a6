/* scenario_file.c -- the JSON scenario-file loader (see scenario_file.h and
 * SCENARIO_FILES.md).
 *
 * The text's syntax is checked by json_strict, then cJSON parses it.  Two
 * phases follow: check the whole document (types, ranges, names, references)
 * into plain structs, then build the sim from them.  The work list becomes a
 * set of templates, owned by the sim, that a workload function expands item
 * by item when the sim submits it. */
#include "scenario_file.h"

#include "expect.h"
#include "index_expr.h"
#include "json_strict.h"
#include "suggest.h"
#include "utf8.h"
#ifdef RC_HAVE_CLUSTER
#include "cluster.h"
#endif

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    NAME_MAX_BYTES = 200,     /* the core's limit on service and task names */
    MAX_CONCURRENT = 1000000, /* as runcue-sim --concurrent */
    PATH_LEN = 96,
    GOT_LEN = 64,
    DIGITS_MAX = 20, /* a uint64_t in decimal */
};
#define LATENCY_MAX_MS 1e9 /* as runcue-sim --latency */
#define OUTLIER_MULT_MAX 1e6

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

typedef struct loader {
    const char *file; /* for messages */
    char *err;
    size_t errlen;
    expect_set *expect; /* receives the "expect" section; NULL: checked, dropped */
} loader;

static int failv(loader *L, int code, const char *path, const char *fmt, va_list ap)
{
    if (L->err && L->errlen) {
        char msg[512];
        vsnprintf(msg, sizeof msg, fmt, ap);
        if (path && *path)
            snprintf(L->err, L->errlen, "%s: %s: %s", L->file, path, msg);
        else
            snprintf(L->err, L->errlen, "%s: %s", L->file, msg);
        sim_one_line(L->err);
    }
    return code;
}

static int bad(loader *L, const char *path, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int bad(loader *L, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(L, RC_EINVAL, path, fmt, ap);
    va_end(ap);
    return rc;
}

static int fail_code(loader *L, int code, const char *path, const char *fmt, ...) PRINTF_LIKE(4, 5);
static int fail_code(loader *L, int code, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(L, code, path, fmt, ap);
    va_end(ap);
    return rc;
}

static int no_memory(loader *L)
{
    return fail_code(L, RC_ENOMEM, NULL, "out of memory");
}

/* A short rendering of a value for "(got ...)". */
static const char *got(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%.15g", v->valuedouble);
    } else if (cJSON_IsString(v) && v->valuestring) {
        char c[GOT_LEN - 8];
        snprintf(buf, n, "'%s'", sim_clip(v->valuestring, c, sizeof c));
    } else if (cJSON_IsTrue(v)) {
        snprintf(buf, n, "true");
    } else if (cJSON_IsFalse(v)) {
        snprintf(buf, n, "false");
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, n, "null");
    } else if (cJSON_IsArray(v)) {
        snprintf(buf, n, "an array");
    } else if (cJSON_IsObject(v)) {
        snprintf(buf, n, "an object");
    } else {
        snprintf(buf, n, "an unknown value");
    }
    return buf;
}

static const char *join(char *buf, const char *base, const char *key)
{
    int n = snprintf(buf, PATH_LEN, "%s%s%s", base, *base ? "." : "", key);
    return n < 0 ? "" : buf; /* a long path is cut, never overrun */
}

static const char *index_of(char *buf, const char *base, size_t i)
{
    int n = snprintf(buf, PATH_LEN, "%s[%zu]", base, i);
    return n < 0 ? "" : buf;
}

/* ------------------------------------------------------------------ */
/* Checking values                                                     */
/* ------------------------------------------------------------------ */

/* Sort obj's members into out[] by keys[]: unknown and repeated keys are
 * errors. */
static int members(loader *L, const char *path, const cJSON *obj, const char *const *keys, size_t n,
                   const cJSON **out)
{
    char g[GOT_LEN];
    if (!cJSON_IsObject(obj))
        return bad(L, path, "must be an object (got %s)", got(obj, g, sizeof g));
    for (size_t k = 0; k < n; k++)
        out[k] = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        const char *name = c->string ? c->string : "";
        size_t k = 0;
        while (k < n && strcmp(name, keys[k]) != 0)
            k++;
        char q[GOT_LEN], hint[96];
        if (k == n)
            return bad(L, path, "unknown key '%s'%s", sim_clip(name, q, sizeof q),
                       sim_did_you_mean(name, keys, n, hint, sizeof hint));
        if (out[k]) return bad(L, path, "key '%s' appears twice", keys[k]);
        out[k] = c;
    }
    return 0;
}

static int need_member(loader *L, const char *path, const cJSON *v, const char *key)
{
    return v ? 0 : bad(L, path, "missing required key '%s'", key);
}

/* No control characters, C1 ones included (they would break the one-line
 * log formats, or move a terminal's cursor): see sim_utf8_control_len. */
static bool printable(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        if (sim_utf8_control_len(u)) return false;
        const size_t n = sim_utf8_seq_len(u);
        u += n ? n : 1;
    }
    return true;
}

/* A string: non-empty, no control characters; names at most 200 bytes,
 * keys and labels at most SCENARIO_FILE_MAX_STRING. */
static int get_string(loader *L, const char *path, const cJSON *v, bool is_name, const char **out)
{
    char g[GOT_LEN];
    if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring)
        return bad(L, path, "must be a non-empty string (got %s)", got(v, g, sizeof g));
    size_t max = is_name ? NAME_MAX_BYTES : SCENARIO_FILE_MAX_STRING;
    if (strlen(v->valuestring) > max)
        return bad(L, path, "must be at most %zu bytes long (got %zu)", max,
                   strlen(v->valuestring));
    if (!printable(v->valuestring)) return bad(L, path, "must not contain control characters");
    *out = v->valuestring;
    return 0;
}

static int get_number(loader *L, const char *path, const cJSON *v, double lo, double hi,
                      const char *what, double *out)
{
    char g[GOT_LEN];
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return bad(L, path, "must be %s (got %s)", what, got(v, g, sizeof g));
    *out = v->valuedouble;
    return 0;
}

static bool is_whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= lo &&
           v->valuedouble <= hi && floor(v->valuedouble) == v->valuedouble;
}

static bool is_cli(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring && strcmp(v->valuestring, "cli") == 0;
}

/* ------------------------------------------------------------------ */
/* The checked model                                                   */
/* ------------------------------------------------------------------ */

typedef struct svc_def {
    const char *name; /* into the cJSON tree */
    int concurrent;
    unsigned rate_count;
    double rate_window_s;
} svc_def;

typedef struct task_def {
    const char *name;
    const char *service; /* NULL: none */
    sim_profile profile;
    bool has_retry;
    rc_retry_policy retry;
} task_def;

/* Names sorted for lookups and duplicate checks. */
typedef struct named {
    const char *name;
    size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return (x->index > y->index) - (x->index < y->index);
}

static int cmp_name_only(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Sort; on duplicates return true and the earliest second occurrence. */
static bool sort_names(named *v, size_t n, size_t *dup, size_t *first)
{
    if (n) qsort(v, n, sizeof *v, cmp_named);
    bool found = false;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i - 1].name, v[i].name) != 0) continue;
        /* v[i-1] .. are one group; v[i] is its second occurrence only if
         * v[i-1] starts the group. */
        if (i >= 2 && strcmp(v[i - 2].name, v[i].name) == 0) continue;
        if (!found || v[i].index < *dup) {
            *dup = v[i].index;
            *first = v[i - 1].index;
            found = true;
        }
    }
    return found;
}

/* Sort v; a repeated name is an error at its earliest second occurrence:
 * "SECTION[i].name: duplicate WHAT name 'x' (first declared at SECTION[j])". */
static int unique_names(loader *L, named *v, size_t n, const char *section, const char *what)
{
    size_t dup = 0, first = 0;
    if (!sort_names(v, n, &dup, &first)) return 0;
    const char *name = "";
    for (size_t i = 0; i < n; i++)
        if (v[i].index == dup) name = v[i].name;
    char p[PATH_LEN], q[GOT_LEN];
    snprintf(p, sizeof p, "%s[%zu].name", section, dup);
    return bad(L, p, "duplicate %s name '%s' (first declared at %s[%zu])", what,
               sim_clip(name, q, sizeof q), section, first);
}

static const named *find_name(const named *v, size_t n, const char *name)
{
    named key = {name, 0};
    return n ? bsearch(&key, v, n, sizeof *v, cmp_name_only) : NULL;
}

/* The work templates: owned by the sim, expanded by the workload function. */
typedef struct sf_item {
    size_t task; /* index into sf_work.tasks */
    char *label; /* NULL: none */
    char **keys; /* needs, then produces */
    size_t n_needs, n_produces;
    uint64_t first;               /* index of its first item in the workload */
    bool expand;                  /* "repeat" given and some string holds an index expression */
    double delay_s, not_before_s; /* "delay_s", "not_before"; 0: none */
} sf_item;

typedef struct sf_action sf_action;

typedef struct sf_work {
    char **tasks;
    size_t n_tasks;
    sf_item *items;
    size_t n_items, items_cap;
    uint64_t total;
    uint64_t total_bytes; /* labels and keys, every repetition counted */
    char *buf;            /* scratch for one expanded item */
    size_t buf_size;
    const char **ptrs; /* scratch key pointers */
    size_t ptrs_size;
    uint64_t initial; /* the items of "work"; "actions" submit the ones after */
    sf_action *actions;
    size_t n_actions;
} sf_work;

static void free_actions(sf_work *w);
static int as_load_error(int rc);

static void free_work(void *p)
{
    sf_work *w = p;
    if (!w) return;
    for (size_t i = 0; i < w->n_items; i++) {
        sf_item *it = &w->items[i];
        free(it->label);
        if (it->keys)
            for (size_t k = 0; k < it->n_needs + it->n_produces; k++)
                free(it->keys[k]);
        free(it->keys);
    }
    free(w->items);
    for (size_t i = 0; i < w->n_tasks; i++)
        free(w->tasks[i]);
    free(w->tasks);
    free(w->buf);
    free(w->ptrs);
    free_actions(w);
    free(w);
}

/* ------------------------------------------------------------------ */
/* Index expressions in repeated items (the grammar: index_expr.h)     */
/* ------------------------------------------------------------------ */

static size_t placeholders(const char *s)
{
    size_t n = 0;
    sim_index_expr e;
    for (const char *p = s; (p = strchr(p, '{')) != NULL; p++)
        if (sim_index_expr_parse(p, &e) > 0) n++;
    return n;
}

/* Copy tmpl to *out with its index expressions replaced; return the copy
 * and advance *out past its NUL. */
static const char *expand(char **out, const char *tmpl, uint64_t index)
{
    char *start = *out, *o = start;
    sim_index_expr e;
    for (const char *p = tmpl; *p;) {
        long n = *p == '{' ? sim_index_expr_parse(p, &e) : 0;
        if (n > 0) {
            o += sim_index_expr_format(o, &e, index);
            p += n;
        } else {
            *o++ = *p++;
        }
    }
    *o++ = 0;
    *out = o;
    return start;
}

static int generate(sim *s, uint64_t index, void *ud)
{
    const sf_work *w = ud;
    size_t lo = 0, hi = w->n_items; /* the last item with first <= index */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->items[mid].first <= index)
            lo = mid;
        else
            hi = mid;
    }
    const sf_item *it = &w->items[lo];
    const char *const *keys = (const char *const *)it->keys;
    const char *label = it->label;
    if (it->expand) {
        uint64_t r = index - it->first;
        char *o = w->buf;
        if (label) label = expand(&o, label, r);
        for (size_t k = 0; k < it->n_needs + it->n_produces; k++)
            w->ptrs[k] = expand(&o, it->keys[k], r);
        if (keys) keys = w->ptrs;
    }
    /* No keys: no pointer arithmetic on NULL. */
    sim_work_spec spec = {
        w->tasks[it->task], label, keys, it->n_needs, keys ? keys + it->n_needs : NULL,
        it->n_produces, NULL};
    return sim_submit_delayed(s, &spec, it->delay_s, it->not_before_s, NULL);
}

typedef struct model {
    svc_def *svcs;
    size_t n_svcs;
    named *svc_names;
    task_def *tasks;
    size_t n_tasks;
    named *task_names;
    const char **inputs;
    size_t n_inputs;
    sf_work *work;
    expect_set *expect; /* the "expect" section, parsed */
} model;

static void free_model(model *m)
{
    free(m->svcs);
    free(m->svc_names);
    free(m->tasks);
    free(m->task_names);
    free(m->inputs);
    free_work(m->work);
    expect_set_free(m->expect);
}

static size_t count_items(const cJSON *array)
{
    size_t n = 0;
    for (const cJSON *c = array->child; c; c = c->next)
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Retries, timing and index checks                                    */
/* ------------------------------------------------------------------ */

enum { RETRY_ATTEMPTS_MAX = 100 };
#define TIME_MAX_S 1e9 /* virtual seconds, as --duration */

/* tasks[].retry: {"attempts": N, "backoff_s": S, "exponential": bool,
 * "max_backoff_s": S}: the fake service's errors are retried. */
static int parse_retry(loader *L, const char *path, const cJSON *obj, task_def *out)
{
    static const char *const keys[] = {"attempts", "backoff_s", "exponential", "max_backoff_s"};
    enum { K_ATTEMPTS, K_BACKOFF, K_EXP, K_MAX, K_N };
    const cJSON *v[K_N];
    char p[PATH_LEN], g[GOT_LEN];
    int rc = members(L, path, obj, keys, K_N, v);
    if (!rc) rc = need_member(L, path, v[K_ATTEMPTS], "attempts");
    if (rc) return rc;
    if (!is_whole(v[K_ATTEMPTS], 1, RETRY_ATTEMPTS_MAX))
        return bad(L, join(p, path, "attempts"), "must be a whole number from 1 to %d (got %s)",
                   RETRY_ATTEMPTS_MAX, got(v[K_ATTEMPTS], g, sizeof g));
    rc_retry_policy *r = &out->retry;
    *r = (rc_retry_policy){.max_attempts = (unsigned)v[K_ATTEMPTS]->valuedouble};
    if (v[K_BACKOFF])
        rc = get_number(L, join(p, path, "backoff_s"), v[K_BACKOFF], 0, TIME_MAX_S,
                        "a number of seconds from 0 to 1e9", &r->base_s);
    if (!rc && v[K_MAX])
        rc = get_number(L, join(p, path, "max_backoff_s"), v[K_MAX], 0, TIME_MAX_S,
                        "a number of seconds from 0 to 1e9", &r->max_s);
    if (!rc && v[K_EXP]) {
        if (!cJSON_IsBool(v[K_EXP]))
            return bad(L, join(p, path, "exponential"), "must be true or false (got %s)",
                       got(v[K_EXP], g, sizeof g));
        r->exponential = cJSON_IsTrue(v[K_EXP]);
    }
    out->has_retry = rc == 0;
    return rc;
}

/* work[].delay_s and work[].not_before: when the item may start. */
static int parse_item_timing(loader *L, const char *path, const cJSON *delay,
                             const cJSON *not_before, sf_item *it)
{
    char p[PATH_LEN];
    int rc = 0;
    if (delay)
        rc = get_number(L, join(p, path, "delay_s"), delay, 0, TIME_MAX_S,
                        "a number of seconds from 0 to 1e9", &it->delay_s);
    if (!rc && not_before)
        rc = get_number(L, join(p, path, "not_before"), not_before, 0, TIME_MAX_S,
                        "a virtual time in seconds from 0 to 1e9", &it->not_before_s);
    return rc;
}

/* Every "{i..." in a repeated item's label and keys must be a whole index
 * expression. */
static int check_index_exprs(loader *L, const char *path, const sf_item *it, size_t nk)
{
    char p[PATH_LEN], q[GOT_LEN];
    for (size_t k = 0; k <= nk; k++) {
        const char *str = k < nk ? it->keys[k] : it->label;
        if (!str) continue;
        sim_index_expr e;
        for (const char *c = str; (c = strchr(c, '{')) != NULL; c++) {
            if (sim_index_expr_parse(c, &e) >= 0) continue;
            const char *where = k == nk ? join(p, path, "label")
                                : k < it->n_needs
                                    ? index_of(q, join(p, path, "needs"), k)
                                    : index_of(q, join(p, path, "produces"), k - it->n_needs);
            char w[PATH_LEN], c2[GOT_LEN];
            snprintf(w, sizeof w, "%s", where);
            return bad(L, w,
                       "bad index expression in '%s' (use {i}, {i4}, {i-1}, {i+1}, {i4+1} or "
                       "{i+1%%N})",
                       sim_clip(str, c2, sizeof c2));
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

/* A service's limits: concurrent and rate (omitted or null: no limit;
 * "cli": the command line's). */
static int parse_limits(loader *L, const sim_config *cfg, const char *path, const cJSON *c,
                        const cJSON *r, svc_def *out)
{
    char p[PATH_LEN], g[GOT_LEN];
    out->concurrent = RC_NO_LIMIT;
    if (is_cli(c)) {
        out->concurrent = cfg->concurrent >= 1 ? cfg->concurrent : RC_NO_LIMIT;
    } else if (c && !cJSON_IsNull(c)) {
        if (!is_whole(c, 1, MAX_CONCURRENT)) {
            if (is_whole(c, 1, INFINITY))
                return bad(L, join(p, path, "concurrent"), "must be at most %d (got %s)",
                           MAX_CONCURRENT, got(c, g, sizeof g));
            return bad(L, join(p, path, "concurrent"),
                       "must be a positive integer or null (no limit) or \"cli\" (got %s)",
                       got(c, g, sizeof g));
        }
        out->concurrent = (int)c->valuedouble;
    }

    out->rate_count = 0;
    out->rate_window_s = 0;
    if (is_cli(r)) {
        if (cfg->rate_count) {
            out->rate_count = cfg->rate_count;
            out->rate_window_s = cfg->rate_window_s;
        }
    } else if (r && !cJSON_IsNull(r)) {
        if (!cJSON_IsString(r) || !r->valuestring)
            return bad(L, join(p, path, "rate"),
                       "must be a rate such as \"20/1\" or \"60/min\", null (no limit) or "
                       "\"cli\" (got %s)",
                       got(r, g, sizeof g));
        char msg[256];
        if (rc_parse_rate(r->valuestring, &out->rate_count, &out->rate_window_s, msg, sizeof msg))
            return bad(L, join(p, path, "rate"), "%s", msg);
    }
    return 0;
}

static int parse_service(loader *L, const sim_config *cfg, const char *path, const cJSON *obj,
                         svc_def *out)
{
    static const char *const keys[] = {"name", "concurrent", "rate"};
    const cJSON *v[3];
    char p[PATH_LEN];
    int rc = members(L, path, obj, keys, 3, v);
    if (!rc) rc = need_member(L, path, v[0], "name");
    if (!rc) rc = get_string(L, join(p, path, "name"), v[0], true, &out->name);
    if (rc) return rc;
    return parse_limits(L, cfg, path, v[1], v[2], out);
}

static int parse_task(loader *L, const sim_config *cfg, const char *path, const cJSON *obj,
                      const model *m, task_def *out)
{
    static const char *const keys[] = {"name",     "service",      "latency_ms", "jitter",
                                       "outliers", "outlier_mult", "error_rate", "retry"};
    enum { K_NAME, K_SERVICE, K_LATENCY, K_JITTER, K_OUTLIERS, K_MULT, K_ERRORS, K_RETRY, K_N };
    const cJSON *v[K_N];
    char p[PATH_LEN];
    int rc = members(L, path, obj, keys, K_N, v);
    if (!rc) rc = need_member(L, path, v[K_NAME], "name");
    if (!rc) rc = get_string(L, join(p, path, "name"), v[K_NAME], true, &out->name);
    if (rc) return rc;

    out->service = NULL;
    if (v[K_SERVICE]) {
        const char *svc;
        rc = get_string(L, join(p, path, "service"), v[K_SERVICE], true, &svc);
        if (rc) return rc;
        if (!find_name(m->svc_names, m->n_svcs, svc)) {
            char q[GOT_LEN], hint[96] = "";
            if (m->n_svcs == 0) {
                snprintf(hint, sizeof hint, " (the file declares no services)");
            } else {
                const char **names = malloc(m->n_svcs * sizeof *names);
                if (!names) return no_memory(L);
                for (size_t i = 0; i < m->n_svcs; i++)
                    names[i] = m->svcs[i].name;
                sim_did_you_mean(svc, names, m->n_svcs, hint, sizeof hint);
                free(names);
            }
            return bad(L, p, "unknown service '%s'%s", sim_clip(svc, q, sizeof q), hint);
        }
        out->service = svc;
    }

    sim_profile d = sim_profile_from_config(cfg);
    out->profile = d;
    sim_profile *pr = &out->profile;
    if (v[K_LATENCY])
        rc = get_number(L, join(p, path, "latency_ms"), v[K_LATENCY], 0, LATENCY_MAX_MS,
                        "a number of milliseconds from 0 to 1e9", &pr->latency_ms);
    if (!rc && v[K_JITTER])
        rc = get_number(L, join(p, path, "jitter"), v[K_JITTER], 0, 1, "a number from 0 to 1",
                        &pr->jitter);
    if (!rc && v[K_OUTLIERS])
        rc = get_number(L, join(p, path, "outliers"), v[K_OUTLIERS], 0, 1, "a number from 0 to 1",
                        &pr->outlier_chance);
    if (!rc && v[K_MULT])
        rc = get_number(L, join(p, path, "outlier_mult"), v[K_MULT], 1, OUTLIER_MULT_MAX,
                        "a number from 1 to 1e6", &pr->outlier_mult);
    if (!rc && v[K_ERRORS])
        rc = get_number(L, join(p, path, "error_rate"), v[K_ERRORS], 0, 1, "a number from 0 to 1",
                        &pr->error_rate);
    if (!rc && sim_profile_max_latency_ms(pr->latency_ms, pr->jitter, pr->outlier_mult) >
                   SIM_LATENCY_MAX_MS)
        rc = bad(L, join(p, path, v[K_LATENCY] || !v[K_MULT] ? "latency_ms" : "outlier_mult"),
                 "latency %g ms with outlier_mult %g can draw latencies beyond %g ms (latency x "
                 "mult x 1.5), more than the simulator represents",
                 pr->latency_ms, pr->outlier_mult, SIM_LATENCY_MAX_MS);
    if (!rc && v[K_RETRY]) rc = parse_retry(L, join(p, path, "retry"), v[K_RETRY], out);
    return rc;
}

/* needs, produces or inputs: an array of at most max keys, checked and
 * counted. */
static int check_keys(loader *L, const char *path, const cJSON *arr, size_t max, size_t *n)
{
    char g[GOT_LEN], p[PATH_LEN];
    *n = 0;
    if (!arr) return 0;
    if (!cJSON_IsArray(arr))
        return bad(L, path, "must be an array of strings (got %s)", got(arr, g, sizeof g));
    for (const cJSON *c = arr->child; c; c = c->next, (*n)++) {
        if (*n == max) return bad(L, path, "holds more than %zu keys (the limit)", max);
        const char *key;
        int rc = get_string(L, index_of(p, path, *n), c, false, &key);
        if (rc) return rc;
    }
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int parse_work_item(loader *L, const char *path, const cJSON *obj, model *m)
{
    static const char *const keys[] = {"task",   "label",   "needs",     "produces",
                                       "repeat", "delay_s", "not_before"};
    enum { K_TASK, K_LABEL, K_NEEDS, K_PRODUCES, K_REPEAT, K_DELAY, K_NOT_BEFORE, K_N };
    const cJSON *v[K_N];
    char p[PATH_LEN], g[GOT_LEN];
    const char *task, *label = NULL;
    int rc = members(L, path, obj, keys, K_N, v);
    if (!rc) rc = need_member(L, path, v[K_TASK], "task");
    if (!rc) rc = get_string(L, join(p, path, "task"), v[K_TASK], true, &task);
    if (rc) return rc;
    const named *t = find_name(m->task_names, m->n_tasks, task);
    if (!t) {
        char q[GOT_LEN], hint[96];
        const char **names = malloc(m->n_tasks * sizeof *names);
        if (!names) return no_memory(L);
        for (size_t i = 0; i < m->n_tasks; i++)
            names[i] = m->tasks[i].name;
        sim_did_you_mean(task, names, m->n_tasks, hint, sizeof hint);
        free(names);
        return bad(L, p, "unknown task '%s'%s", sim_clip(task, q, sizeof q), hint);
    }
    if (v[K_LABEL]) rc = get_string(L, join(p, path, "label"), v[K_LABEL], false, &label);
    size_t n_needs = 0, n_produces = 0;
    if (!rc)
        rc = check_keys(L, join(p, path, "needs"), v[K_NEEDS], SCENARIO_FILE_MAX_KEYS_PER_ITEM,
                        &n_needs);
    if (!rc)
        rc = check_keys(L, join(p, path, "produces"), v[K_PRODUCES],
                        SCENARIO_FILE_MAX_KEYS_PER_ITEM, &n_produces);
    if (rc) return rc;

    uint64_t repeat = 1;
    if (v[K_REPEAT]) {
        if (!is_whole(v[K_REPEAT], 1, SCENARIO_FILE_MAX_WORK))
            return bad(L, join(p, path, "repeat"), "must be a whole number from 1 to %u (got %s)",
                       SCENARIO_FILE_MAX_WORK, got(v[K_REPEAT], g, sizeof g));
        repeat = (uint64_t)v[K_REPEAT]->valuedouble;
    }
    sf_work *w = m->work;
    if (w->total + repeat > SCENARIO_FILE_MAX_WORK)
        return bad(L, v[K_REPEAT] ? join(p, path, "repeat") : path,
                   "the work adds up to more than %u items (the limit)", SCENARIO_FILE_MAX_WORK);

    /* The template. */
    if (w->n_items == w->items_cap) {
        size_t cap = w->items_cap ? w->items_cap * 2 : 16;
        sf_item *grown = realloc(w->items, cap * sizeof *grown);
        if (!grown) return no_memory(L);
        w->items = grown;
        w->items_cap = cap;
    }
    sf_item *it = &w->items[w->n_items++];
    memset(it, 0, sizeof *it);
    it->task = t->index;
    it->first = w->total;
    size_t nk = n_needs + n_produces;
    if ((label && !(it->label = dup_str(label))) ||
        (nk && !(it->keys = calloc(nk, sizeof *it->keys))))
        return no_memory(L);
    it->n_needs = n_needs;
    it->n_produces = n_produces;
    if ((rc = parse_item_timing(L, path, v[K_DELAY], v[K_NOT_BEFORE], it))) return rc;
    size_t k = 0;
    const cJSON *lists[2] = {v[K_NEEDS], v[K_PRODUCES]};
    for (int l = 0; l < 2; l++)
        for (const cJSON *c = lists[l] ? lists[l]->child : NULL; c; c = c->next)
            if (!(it->keys[k++] = dup_str(c->valuestring))) return no_memory(L);

    /* The bytes its strings take, each placeholder as 20 digits and a sign:
     * within the budget for all the work, and room to expand it. */
    if (v[K_REPEAT] && (rc = check_index_exprs(L, path, it, nk))) return rc;
    size_t holes = it->label ? placeholders(it->label) : 0;
    size_t size = it->label ? strlen(it->label) + 1 : 0;
    for (k = 0; k < nk; k++) {
        holes += placeholders(it->keys[k]);
        size += strlen(it->keys[k]) + 1;
    }
    size += holes * (DIGITS_MAX + 1);
    uint64_t bytes = (uint64_t)size * (v[K_REPEAT] ? repeat : 1);
    if (bytes > SCENARIO_FILE_MAX_WORK_BYTES - w->total_bytes)
        return bad(L, v[K_REPEAT] ? join(p, path, "repeat") : path,
                   "the labels and keys of the work add up to more than %u MiB (the limit)",
                   SCENARIO_FILE_MAX_WORK_BYTES >> 20);
    w->total_bytes += bytes;
    if (v[K_REPEAT]) {
        it->expand = holes > 0;
        if (it->expand && size > w->buf_size) {
            char *b = realloc(w->buf, size);
            if (!b) return no_memory(L);
            w->buf = b;
            w->buf_size = size;
        }
        if (it->expand && nk > w->ptrs_size) {
            const char **pp = realloc(w->ptrs, nk * sizeof *pp);
            if (!pp) return no_memory(L);
            w->ptrs = pp;
            w->ptrs_size = nk;
        }
    }
    w->total += repeat;
    return 0;
}

/* An array member: absent is an error only when required; nonempty names
 * what it must hold at least one of. */
static int get_array(loader *L, const char *key, const cJSON *v, bool required,
                     const char *nonempty)
{
    char g[GOT_LEN];
    if (!v) return required ? bad(L, NULL, "missing required key '%s'", key) : 0;
    if (!cJSON_IsArray(v)) return bad(L, key, "must be an array (got %s)", got(v, g, sizeof g));
    if (nonempty && !v->child) return bad(L, key, "must list at least one %s", nonempty);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Canvases: "chain", "group" and "chord" work items                   */
/* ------------------------------------------------------------------ */

/* A canvas item expands into ordinary work items with generated keys, named
 * as runcue_canvas.h names them: step i of the canvas NAME produces
 * "NAME/i" and is labelled "NAME/i" unless it has a label; a chain's step
 * needs the step before; a chord's callback comes last and needs every
 * header step.  Steps hold task, label, needs and produces. */

static bool is_canvas(const cJSON *obj)
{
    return cJSON_IsObject(obj) && (cJSON_GetObjectItemCaseSensitive(obj, "chain") ||
                                   cJSON_GetObjectItemCaseSensitive(obj, "group") ||
                                   cJSON_GetObjectItemCaseSensitive(obj, "chord"));
}

/* Append "NAME/i" to the array `key` of item (made if absent; left alone if
 * it is not an array: the work item's check says so). */
static bool add_canvas_key(cJSON *item, const char *key, const char *name, size_t i)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(item, key);
    if (!arr && !(arr = cJSON_AddArrayToObject(item, key))) return false;
    if (!cJSON_IsArray(arr)) return true;
    char buf[NAME_MAX_BYTES + DIGITS_MAX + 2];
    snprintf(buf, sizeof buf, "%s/%zu", name, i);
    cJSON *k = cJSON_CreateString(buf);
    return k && cJSON_AddItemToArray(arr, k);
}

/* Step i of canvas `name`, needing steps first .. first+n_in-1. */
static int canvas_step(loader *L, const char *path, const cJSON *step, const char *name, size_t i,
                       size_t first, size_t n_in, model *m)
{
    static const char *const keys[] = {"task", "label", "needs", "produces"};
    const cJSON *v[4];
    int rc = members(L, path, step, keys, 4, v);
    if (rc) return rc;
    cJSON *item = cJSON_Duplicate(step, true);
    bool ok = item != NULL;
    char label[NAME_MAX_BYTES + DIGITS_MAX + 2];
    snprintf(label, sizeof label, "%s/%zu", name, i);
    if (ok && !v[1]) ok = cJSON_AddStringToObject(item, "label", label) != NULL;
    for (size_t j = first; ok && j < first + n_in; j++)
        ok = add_canvas_key(item, "needs", name, j);
    if (ok) ok = add_canvas_key(item, "produces", name, i);
    if (ok) rc = parse_work_item(L, path, item, m);
    cJSON_Delete(item);
    return ok ? rc : no_memory(L);
}

/* The steps of one array: a chain's each need the one before. */
static int canvas_steps(loader *L, const char *path, const cJSON *arr, const char *name,
                        bool chained, model *m, size_t *n)
{
    char g[GOT_LEN], p[PATH_LEN];
    if (!cJSON_IsArray(arr) || !arr->child)
        return bad(L, path, "must be a non-empty array of steps (got %s)", got(arr, g, sizeof g));
    *n = 0;
    for (const cJSON *c = arr->child; c; c = c->next, (*n)++) {
        int rc = canvas_step(L, index_of(p, path, *n), c, name, *n, *n ? *n - 1 : 0,
                             chained && *n > 0, m);
        if (rc) return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Scheduled actions                                                   */
/* ------------------------------------------------------------------ */

/* actions[]: {"at": T, "cancel": "label"} cancels the pending work with that
 * label; {"at": T, "invalidate": "key"} makes an artifact invalid;
 * {"at": T, "submit": [work items]} submits more work.  Exactly one of the
 * three. */
enum { ACTION_CANCEL, ACTION_INVALIDATE, ACTION_SUBMIT };

struct sf_action {
    sf_work *w;
    double at;
    int kind;
    char *arg;             /* the label or key */
    uint64_t first, count; /* submit: the workload items to submit */
};

static void free_actions(sf_work *w)
{
    for (size_t i = 0; i < w->n_actions; i++)
        free(w->actions[i].arg);
    free(w->actions);
}

static int parse_action(loader *L, const char *path, const cJSON *obj, model *m, sf_action *a)
{
    static const char *const keys[] = {"at", "cancel", "invalidate", "submit"};
    enum { K_AT, K_CANCEL, K_INVALIDATE, K_SUBMIT, K_N };
    const cJSON *v[K_N];
    char p[PATH_LEN], q[PATH_LEN];
    int rc = members(L, path, obj, keys, K_N, v);
    if (!rc) rc = need_member(L, path, v[K_AT], "at");
    if (!rc)
        rc = get_number(L, join(p, path, "at"), v[K_AT], 0, TIME_MAX_S,
                        "a virtual time in seconds from 0 to 1e9", &a->at);
    if (rc) return rc;
    int given = !!v[K_CANCEL] + !!v[K_INVALIDATE] + !!v[K_SUBMIT];
    if (given != 1)
        return bad(L, path, "needs exactly one of 'cancel', 'invalidate' or 'submit' (got %d)",
                   given);
    a->w = m->work;
    if (v[K_SUBMIT]) {
        a->kind = ACTION_SUBMIT;
        snprintf(p, sizeof p, "%.80s.submit", path); /* as join, cut sooner */
        if ((rc = get_array(L, p, v[K_SUBMIT], true, "work item"))) return rc;
        a->first = m->work->total;
        size_t i = 0;
        for (const cJSON *c = v[K_SUBMIT]->child; c; c = c->next, i++)
            if ((rc = parse_work_item(L, index_of(q, p, i), c, m))) return rc;
        a->count = m->work->total - a->first;
        return 0;
    }
    const char *str;
    a->kind = v[K_CANCEL] ? ACTION_CANCEL : ACTION_INVALIDATE;
    rc = get_string(L, join(p, path, v[K_CANCEL] ? "cancel" : "invalidate"),
                    v[K_CANCEL] ? v[K_CANCEL] : v[K_INVALIDATE], false, &str);
    if (!rc && !(a->arg = dup_str(str))) rc = no_memory(L);
    return rc;
}

static int parse_actions(loader *L, const cJSON *arr, model *m)
{
    char p[PATH_LEN];
    int rc = get_array(L, "actions", arr, false, NULL);
    size_t n = arr && !rc ? count_items(arr) : 0;
    if (rc || !n) return rc;
    sf_work *w = m->work;
    if (!(w->actions = calloc(n, sizeof *w->actions))) return no_memory(L);
    for (const cJSON *c = arr->child; c; c = c->next, w->n_actions++)
        if ((rc = parse_action(L, index_of(p, "actions", w->n_actions), c, m,
                               &w->actions[w->n_actions])))
            return rc;
    return 0;
}

/* At an action's time: do it.  What it changes the log shows (cancelled,
 * invalidated, queued); an invalidation of a key that was never written does
 * nothing. */
static void run_action(sim *s, void *ud)
{
    const sf_action *a = ud;
    if (a->kind == ACTION_CANCEL)
        sim_cancel_label(s, a->arg);
    else if (a->kind == ACTION_INVALIDATE)
        sim_invalidate(s, a->arg, "action");
    else
        for (uint64_t i = 0; i < a->count; i++)
            generate(s, a->first + i, a->w);
}

static int schedule_actions(loader *L, sim *s, sf_work *w)
{
    char p[PATH_LEN];
    for (size_t i = 0; i < w->n_actions; i++) {
        /* A cancel of a label no work carries would do nothing, silently:
         * a misspelt label, most likely. */
        char hint[96], q[GOT_LEN];
        if (w->actions[i].kind == ACTION_CANCEL &&
            sim_label_known(s, w->actions[i].arg, hint, sizeof hint) == SIM_LABEL_UNKNOWN) {
            char at[PATH_LEN];
            return bad(L, join(at, index_of(p, "actions", i), "cancel"),
                       "no work is labelled '%s'%s", sim_clip(w->actions[i].arg, q, sizeof q),
                       hint);
        }
        int rc = sim_at(s, w->actions[i].at, run_action, &w->actions[i]);
        if (rc)
            return fail_code(L, as_load_error(rc), index_of(p, "actions", i), "%s", sim_errmsg(s));
    }
    return 0;
}

static int parse_canvas(loader *L, const char *path, const cJSON *obj, model *m)
{
    static const char *const keys[] = {"name", "chain", "group", "chord"};
    enum { K_NAME, K_CHAIN, K_GROUP, K_CHORD, K_N };
    const cJSON *v[K_N];
    char p[PATH_LEN], q[PATH_LEN];
    const char *name;
    int rc = members(L, path, obj, keys, K_N, v);
    if (!rc) rc = need_member(L, path, v[K_NAME], "name");
    if (!rc) rc = get_string(L, join(p, path, "name"), v[K_NAME], true, &name);
    if (rc) return rc;
    if (!!v[K_CHAIN] + !!v[K_GROUP] + !!v[K_CHORD] != 1)
        return bad(L, path, "holds more than one of 'chain', 'group' and 'chord'");
    size_t n;
    if (v[K_CHAIN]) return canvas_steps(L, join(p, path, "chain"), v[K_CHAIN], name, true, m, &n);
    if (v[K_GROUP]) return canvas_steps(L, join(p, path, "group"), v[K_GROUP], name, false, m, &n);
    static const char *const chord_keys[] = {"header", "callback"};
    const cJSON *c[2];
    const char *at = join(q, path, "chord");
    if ((rc = members(L, at, v[K_CHORD], chord_keys, 2, c))) return rc;
    if ((rc = need_member(L, at, c[0], "header")) || (rc = need_member(L, at, c[1], "callback")))
        return rc;
    if ((rc = canvas_steps(L, join(p, path, "chord.header"), c[0], name, false, m, &n))) return rc;
    return canvas_step(L, join(p, path, "chord.callback"), c[1], name, n, 0, n, m);
}

static int check_document(loader *L, const sim_config *cfg, const cJSON *root, model *m)
{
    static const char *const keys[] = {"name", "description", "services", "tasks",  "inputs",
                                       "work", "actions",     "expect",   "cluster"};
    enum {
        K_NAME,
        K_DESC,
        K_SERVICES,
        K_TASKS,
        K_INPUTS,
        K_WORK,
        K_ACTIONS,
        K_EXPECT,
        K_CLUSTER,
        K_N
    };
    const cJSON *v[K_N];
    char p[PATH_LEN], g[GOT_LEN];
    const char *str;
    if (!cJSON_IsObject(root))
        return bad(L, NULL, "the top level must be an object (got %s)", got(root, g, sizeof g));
    int rc = members(L, "", root, keys, K_N, v);
    if (rc) return rc;
    if (v[K_CLUSTER])
        return bad(L, "cluster",
                   "a cluster scenario runs on the simulated cluster "
                   "(runcue-sim --scenario-file), not on one cue");
    for (int k = K_NAME; k <= K_DESC; k++)
        if (v[k] && !cJSON_IsString(v[k]))
            return bad(L, keys[k], "must be a string (got %s)", got(v[k], g, sizeof g));
    if (v[K_NAME] && (rc = get_string(L, "name", v[K_NAME], false, &str))) return rc;

    /* services */
    if ((rc = get_array(L, "services", v[K_SERVICES], false, NULL))) return rc;
    size_t n = v[K_SERVICES] ? count_items(v[K_SERVICES]) : 0;
    if (n > SCENARIO_FILE_MAX_SERVICES)
        return bad(L, "services", "holds %zu services, more than %u (the limit)", n,
                   SCENARIO_FILE_MAX_SERVICES);
    if (n) {
        m->svcs = calloc(n, sizeof *m->svcs);
        m->svc_names = calloc(n, sizeof *m->svc_names);
        if (!m->svcs || !m->svc_names) return no_memory(L);
        for (const cJSON *c = v[K_SERVICES]->child; c; c = c->next, m->n_svcs++) {
            rc = parse_service(L, cfg, index_of(p, "services", m->n_svcs), c, &m->svcs[m->n_svcs]);
            if (rc) return rc;
            m->svc_names[m->n_svcs] = (named){m->svcs[m->n_svcs].name, m->n_svcs};
        }
        if ((rc = unique_names(L, m->svc_names, n, "services", "service"))) return rc;
    }

    /* tasks */
    if ((rc = get_array(L, "tasks", v[K_TASKS], true, "task"))) return rc;
    n = count_items(v[K_TASKS]);
    if (n > SCENARIO_FILE_MAX_TASKS)
        return bad(L, "tasks", "holds %zu tasks, more than %u (the limit)", n,
                   SCENARIO_FILE_MAX_TASKS);
    m->tasks = calloc(n, sizeof *m->tasks);
    m->task_names = calloc(n, sizeof *m->task_names);
    if (!m->tasks || !m->task_names) return no_memory(L);
    for (const cJSON *c = v[K_TASKS]->child; c; c = c->next, m->n_tasks++) {
        rc = parse_task(L, cfg, index_of(p, "tasks", m->n_tasks), c, m, &m->tasks[m->n_tasks]);
        if (rc) return rc;
        m->task_names[m->n_tasks] = (named){m->tasks[m->n_tasks].name, m->n_tasks};
    }
    if ((rc = unique_names(L, m->task_names, n, "tasks", "task"))) return rc;

    /* inputs */
    if ((rc = check_keys(L, "inputs", v[K_INPUTS], SCENARIO_FILE_MAX_INPUTS, &m->n_inputs)))
        return rc;
    if (m->n_inputs) {
        m->inputs = calloc(m->n_inputs, sizeof *m->inputs);
        if (!m->inputs) return no_memory(L);
        size_t i = 0;
        for (const cJSON *c = v[K_INPUTS]->child; c; c = c->next)
            m->inputs[i++] = c->valuestring;
    }

    /* work */
    if ((rc = get_array(L, "work", v[K_WORK], true, "work item"))) return rc;
    m->work = calloc(1, sizeof *m->work);
    if (!m->work) return no_memory(L);
    m->work->tasks = calloc(m->n_tasks, sizeof *m->work->tasks);
    if (!m->work->tasks) return no_memory(L);
    for (size_t i = 0; i < m->n_tasks; i++, m->work->n_tasks++)
        if (!(m->work->tasks[i] = dup_str(m->tasks[i].name))) return no_memory(L);
    size_t i = 0;
    for (const cJSON *c = v[K_WORK]->child; c; c = c->next, i++) {
        const char *at = index_of(p, "work", i);
        if ((rc = is_canvas(c) ? parse_canvas(L, at, c, m) : parse_work_item(L, at, c, m)))
            return rc;
    }
    m->work->initial = m->work->total;
    if ((rc = parse_actions(L, v[K_ACTIONS], m))) return rc;

    /* expect (expect.c) */
    if (v[K_EXPECT]) {
        if (!(m->expect = expect_set_new())) return no_memory(L);
        rc = expect_add_json(m->expect, v[K_EXPECT], L->file, L->err, L->errlen);
    }
    return rc;
}

/* What the sim refused, as this API's codes: RC_ENOMEM or RC_EINVAL. */
static int as_load_error(int rc)
{
    return rc == RC_ENOMEM ? RC_ENOMEM : RC_EINVAL;
}

static int build(loader *L, sim *s, model *m)
{
    char p[PATH_LEN];
    int rc;
    for (size_t i = 0; i < m->n_svcs; i++) {
        const svc_def *d = &m->svcs[i];
        if ((rc = sim_add_service(s, d->name, d->concurrent, d->rate_count, d->rate_window_s)))
            return fail_code(L, as_load_error(rc), index_of(p, "services", i), "%s", sim_errmsg(s));
    }
    for (size_t i = 0; i < m->n_tasks; i++) {
        const task_def *d = &m->tasks[i];
        if ((rc = sim_add_task(s, d->name, d->service, &d->profile, NULL, NULL)) ||
            (d->has_retry && (rc = sim_task_retry(s, d->name, &d->retry))))
            return fail_code(L, as_load_error(rc), index_of(p, "tasks", i), "%s", sim_errmsg(s));
    }
    for (size_t i = 0; i < m->n_inputs; i++)
        if ((rc = sim_provide(s, m->inputs[i])))
            return fail_code(L, as_load_error(rc), index_of(p, "inputs", i), "%s", sim_errmsg(s));
    sf_work *w = m->work;
    m->work = NULL;
    if ((rc = sim_own(s, w, free_work))) return no_memory(L); /* sim_own freed w */
    /* The labels its work can carry, for expectations that name one (the
     * sim borrows them from w, which it now owns). */
    for (size_t i = 0; i < w->n_items; i++) {
        const sf_item *it = &w->items[i];
        uint64_t repeat = (i + 1 < w->n_items ? w->items[i + 1].first : w->total) - it->first;
        if (it->label && (rc = sim_declare_labels(s, it->label, it->expand ? repeat : 0, 0)))
            return no_memory(L);
    }
    sim_set_workload(s, w->initial, generate, w);
    /* Room for the keys the initial work produces (a produce key that holds
     * the index of a repeated item is a new key each time): a hint. */
    uint64_t produced = 0;
    for (size_t i = 0; i < w->n_items && w->items[i].first < w->initial; i++) {
        const sf_item *it = &w->items[i];
        uint64_t end = i + 1 < w->n_items ? w->items[i + 1].first : w->total;
        if (end > w->initial) end = w->initial;
        for (size_t k = 0; k < it->n_produces; k++) /* at most the file's work limit each */
            produced += it->expand && placeholders(it->keys[it->n_needs + k]) ? end - it->first : 1;
    }
    sim_reserve_keys(s, 0, produced);
    return schedule_actions(L, s, w);
}

/* ------------------------------------------------------------------ */
/* JSON text                                                           */
/* ------------------------------------------------------------------ */

_Static_assert(JSON_STRICT_MAX_DEPTH == CJSON_NESTING_LIMIT,
               "the syntax check refuses exactly the nesting cJSON refuses");

/* "FILE:LINE:COL: JSON syntax error: WHY, near 'TEXT'" */

static int syntax_error(loader *L, const json_strict_error *e)
{
    if (L->err && L->errlen) {
        if (*e->near)
            snprintf(L->err, L->errlen, "%s:%zu:%zu: JSON syntax error: %s, near '%s'", L->file,
                     e->line, e->col, e->why, e->near);
        else
            snprintf(L->err, L->errlen, "%s:%zu:%zu: JSON syntax error: %s", L->file, e->line,
                     e->col, e->why);
        sim_one_line(L->err);
    }
    return RC_EINVAL;
}

/* Check the syntax strictly, then parse; text[len] must be a NUL. */
static int parse_json(loader *L, const char *text, size_t len, cJSON **out)
{
    json_strict_error e;
    size_t body;
    if (!json_strict_check(text, len, &body, &e)) return syntax_error(L, &e);
    text += body;
    len -= body;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) { /* valid JSON that cJSON cannot take (a 64-digit number, no memory) */
        json_strict_locate(text, len,
                           end && end >= text && end <= text + len ? (size_t)(end - text) : 0,
                           "cJSON cannot parse this", &e);
        return syntax_error(L, &e);
    }
    *out = root;
    return 0;
}

static int load_text(loader *L, sim *s, const char *text, size_t len)
{
    cJSON *root = NULL;
    int rc = parse_json(L, text, len, &root);
    if (rc) return rc;
    model m = {0};
    rc = check_document(L, sim_get_config(s), root, &m);
    if (!rc) rc = build(L, s, &m);
    if (!rc && L->expect && m.expect && expect_merge(L->expect, m.expect)) rc = no_memory(L);
    free_model(&m);
    cJSON_Delete(root);
    return rc;
}

static int too_large(loader *L)
{
    return bad(L, NULL, "too large (more than %u MiB)", SCENARIO_FILE_MAX_BYTES >> 20);
}

int scenario_file_load_string(sim *s, const char *name_for_errors, const char *json, char *err,
                              size_t errlen)
{
    loader L = {name_for_errors ? name_for_errors : "<string>", err, errlen, NULL};
    if (err && errlen) *err = 0;
    if (!s || !json) return bad(&L, NULL, "no sim or no text given");
    size_t len = strlen(json);
    if (len > SCENARIO_FILE_MAX_BYTES) return too_large(&L);
    return load_text(&L, s, json, len);
}

int scenario_file_load_buffer(sim *s, const char *name_for_errors, const void *data, size_t len,
                              char *err, size_t errlen)
{
    loader L = {name_for_errors ? name_for_errors : "<buffer>", err, errlen, NULL};
    if (err && errlen) *err = 0;
    if (!s || (!data && len)) return bad(&L, NULL, "no sim or no text given");
    if (len > SCENARIO_FILE_MAX_BYTES) return too_large(&L);
    char *text = malloc(len + 1);
    if (!text) return no_memory(&L);
    if (len) memcpy(text, data, len);
    text[len] = 0;
    int rc = load_text(&L, s, text, len);
    free(text);
    return rc;
}

int scenario_file_load(sim *s, const char *path, char *err, size_t errlen)
{
    return scenario_file_load_expect(s, path, NULL, err, errlen);
}

/* The file's bytes, NUL-terminated, into *out (malloc'd); 0 or an error. */
static int read_file(loader *L, const char *path, char **out, size_t *out_len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return bad(L, NULL, "cannot read: %s", strerror(errno));
    size_t len = 0, cap = 0;
    char *buf = NULL;
    int rc = 0;
    for (;;) {
        if (cap - len < 2) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, ncap);
            if (!grown) {
                rc = no_memory(L);
                break;
            }
            buf = grown;
            cap = ncap;
        }
        size_t got_n = fread(buf + len, 1, cap - len - 1, f);
        len += got_n;
        if (len > SCENARIO_FILE_MAX_BYTES) {
            rc = too_large(L);
            break;
        }
        if (got_n == 0) {
            if (ferror(f)) rc = bad(L, NULL, "cannot read: %s", strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return 0;
}

int scenario_file_load_expect(sim *s, const char *path, expect_set *expect, char *err,
                              size_t errlen)
{
    loader L = {path ? path : "<null>", err, errlen, expect};
    if (err && errlen) *err = 0;
    if (!s || !path) return bad(&L, NULL, "no sim or no path given");
    char *buf;
    size_t len;
    int rc = read_file(&L, path, &buf, &len);
    if (!rc) rc = load_text(&L, s, buf, len);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Cluster scenarios                                                   */
/* ------------------------------------------------------------------ */

#ifdef RC_HAVE_CLUSTER
/* A whole number in [lo, hi] (left out: *out unchanged). */
static int get_count(loader *L, const char *path, const cJSON *v, double lo, double hi,
                     uint64_t *out)
{
    if (!v) return 0;
    char g[GOT_LEN];
    if (!is_whole(v, lo, hi))
        return bad(L, path, "must be a whole number from %.0f to %.0f (got %s)", lo, hi,
                   got(v, g, sizeof g));
    *out = (uint64_t)v->valuedouble;
    return 0;
}

/* A number in [lo, hi] (left out: *out unchanged). */
static int get_opt_number(loader *L, const char *path, const cJSON *v, double lo, double hi,
                          double *out)
{
    char what[80];
    snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
    return v ? get_number(L, path, v, lo, hi, what, out) : 0;
}

/* cluster.services[i]: a name, limits, a lease and a fake service's
 * profile (left out: the command line's). */
static int parse_cluster_service(loader *L, const sim_config *cfg, const char *path,
                                 const cJSON *obj, cluster_service *out)
{
    static const char *const keys[] = {"name",           "concurrent", "rate",   "lease_s",
                                       "max_deliveries", "latency_ms", "jitter", "error_rate"};
    enum { S_NAME, S_CONC, S_RATE, S_LEASE, S_MAXDEL, S_LAT, S_JIT, S_ERR, S_N };
    const cJSON *v[S_N];
    char p[PATH_LEN];
    const char *name;
    int rc = members(L, path, obj, keys, S_N, v);
    if (!rc) rc = need_member(L, path, v[S_NAME], "name");
    if (!rc) rc = get_string(L, join(p, path, "name"), v[S_NAME], true, &name);
    if (rc) return rc;
    if (strlen(name) >= sizeof out->name)
        return bad(L, join(p, path, "name"), "must be at most %zu bytes long in a cluster",
                   sizeof out->name - 1);
    svc_def lim;
    if ((rc = parse_limits(L, cfg, path, v[S_CONC], v[S_RATE], &lim))) return rc;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->concurrent = lim.concurrent == RC_NO_LIMIT ? -1 : lim.concurrent;
    out->rate_count = lim.rate_count;
    out->rate_window_s = lim.rate_window_s;
    out->lease_s = 2;
    uint64_t maxdel = 10;
    out->latency_ms = cfg->latency_ms;
    out->jitter = cfg->jitter;
    out->error_rate = cfg->error_rate;
    if ((rc =
             get_opt_number(L, join(p, path, "lease_s"), v[S_LEASE], 0.01, 86400, &out->lease_s)) ||
        (rc = get_count(L, join(p, path, "max_deliveries"), v[S_MAXDEL], 1, 1000, &maxdel)) ||
        (rc = get_opt_number(L, join(p, path, "latency_ms"), v[S_LAT], 0, LATENCY_MAX_MS,
                             &out->latency_ms)) ||
        (rc = get_opt_number(L, join(p, path, "jitter"), v[S_JIT], 0, 1, &out->jitter)) ||
        (rc = get_opt_number(L, join(p, path, "error_rate"), v[S_ERR], 0, 1, &out->error_rate)))
        return rc;
    out->max_deliveries = (unsigned)maxdel;
    return 0;
}

/* The "cluster" section into cc (see SCENARIO_FILES.md). */
static int parse_cluster(loader *L, const sim_config *cfg, const cJSON *obj, cluster_config *cc)
{
    static const char *const keys[] = {"schedulers",      "agents",      "slots",    "work",
                                       "link_latency_ms", "link_jitter", "services", "faults"};
    enum { C_SCHED, C_AGENTS, C_SLOTS, C_WORK, C_LINK, C_LJIT, C_SERVICES, C_FAULTS, C_N };
    const cJSON *v[C_N];
    char p[PATH_LEN], g[GOT_LEN];
    int rc = members(L, "cluster", obj, keys, C_N, v);
    if (rc) return rc;
    cluster_config_defaults(cc);
    cc->count = cfg->count;
    uint64_t k = cc->schedulers, m = cc->agents, slots = cc->slots;
    if ((rc = get_count(L, "cluster.schedulers", v[C_SCHED], 1, 16, &k)) ||
        (rc = get_count(L, "cluster.agents", v[C_AGENTS], 1, 48, &m)) ||
        (rc = get_count(L, "cluster.slots", v[C_SLOTS], 1, 64, &slots)) ||
        (rc = get_count(L, "cluster.work", v[C_WORK], 1, SCENARIO_FILE_MAX_WORK, &cc->count)) ||
        (rc = get_opt_number(L, "cluster.link_latency_ms", v[C_LINK], 0, 60000,
                             &cc->link_latency_ms)) ||
        (rc = get_opt_number(L, "cluster.link_jitter", v[C_LJIT], 0, 1, &cc->link_jitter)))
        return rc;
    cc->schedulers = (unsigned)k;
    cc->agents = (unsigned)m;
    cc->slots = (unsigned)slots;

    if ((rc = get_array(L, "cluster.services", v[C_SERVICES], true, "service"))) return rc;
    size_t n = count_items(v[C_SERVICES]);
    if (n > CLUSTER_MAX_SERVICES)
        return bad(L, "cluster.services", "holds %zu services, more than %d (the limit)", n,
                   CLUSTER_MAX_SERVICES);
    for (const cJSON *c = v[C_SERVICES]->child; c; c = c->next, cc->n_services++) {
        cluster_service *cs = &cc->services[cc->n_services];
        rc = parse_cluster_service(L, cfg, index_of(p, "cluster.services", cc->n_services), c, cs);
        if (rc) return rc;
        for (size_t i = 0; i < cc->n_services; i++)
            if (strcmp(cc->services[i].name, cs->name) == 0)
                return bad(L, index_of(p, "cluster.services", cc->n_services),
                           "service '%s' is declared twice", cs->name);
    }

    const cJSON *f = v[C_FAULTS];
    if (f && !cJSON_IsNull(f)) {
        if (!cJSON_IsString(f) || !f->valuestring)
            return bad(L, "cluster.faults",
                       "must be a fault list such as \"crash:agent2@5s,pause:agent1@8s+4s\" "
                       "(got %s)",
                       got(f, g, sizeof g));
        char msg[256];
        if (*f->valuestring && cluster_parse_faults(cc, f->valuestring, msg, sizeof msg))
            return bad(L, "cluster.faults", "%s", msg);
    }
    return 0;
}
#endif

static int load_cluster_text(loader *L, const char *text, size_t len, const sim_config *cfg,
                             cluster_config *cc, bool *is_cluster);

int scenario_file_load_cluster(const char *path, const sim_config *cfg, cluster_config *cc,
                               bool *is_cluster, char *err, size_t errlen)
{
    loader L = {path ? path : "<null>", err, errlen, NULL};
    if (err && errlen) *err = 0;
    *is_cluster = false;
    if (!path || !cfg || !cc) return bad(&L, NULL, "no path given");
    char *buf;
    size_t len;
    int rc = read_file(&L, path, &buf, &len);
    if (!rc) rc = load_cluster_text(&L, buf, len, cfg, cc, is_cluster);
    free(buf);
    return rc;
}

int scenario_file_load_cluster_buffer(const char *name, const char *text, size_t len,
                                      const sim_config *cfg, cluster_config *cc, bool *is_cluster,
                                      char *err, size_t errlen)
{
    loader L = {name ? name : "<buffer>", err, errlen, NULL};
    if (err && errlen) *err = 0;
    *is_cluster = false;
    if ((!text && len) || !cfg || !cc) return bad(&L, NULL, "no text given");
    if (len > SCENARIO_FILE_MAX_BYTES) return too_large(&L);
    char *copy = malloc(len + 1); /* the parser reads up to a NUL */
    if (!copy) return no_memory(&L);
    if (len) memcpy(copy, text, len);
    copy[len] = 0;
    int rc = load_cluster_text(&L, copy, len, cfg, cc, is_cluster);
    free(copy);
    return rc;
}

static int load_cluster_text(loader *L, const char *text, size_t len, const sim_config *cfg,
                             cluster_config *cc, bool *is_cluster)
{
    cJSON *root = NULL;
    int rc = parse_json(L, text, len, &root);
    if (rc) return rc;
    const cJSON *section =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "cluster") : NULL;
    if (section) {
        *is_cluster = true;
#ifdef RC_HAVE_CLUSTER
        static const char *const keys[] = {"name", "description", "cluster"};
        const cJSON *v[3];
        char g[GOT_LEN];
        const char *str;
        rc = members(L, "", root, keys, 3, v);
        for (int k = 0; !rc && k < 2; k++)
            if (v[k] && !cJSON_IsString(v[k]))
                rc = bad(L, keys[k], "must be a string (got %s)", got(v[k], g, sizeof g));
        if (!rc && v[0]) rc = get_string(L, "name", v[0], false, &str);
        if (!rc) rc = parse_cluster(L, cfg, section, cc);
#else
        rc =
            bad(L, "cluster", "this build has no cluster simulation (configured without Lua 5.1)");
#endif
    }
    cJSON_Delete(root);
    return rc;
}
