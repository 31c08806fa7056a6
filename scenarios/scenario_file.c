/* scenario_file.c -- the JSON scenario-file loader (see scenario_file.h and
 * SCENARIO_FILES.md).
 *
 * The text's syntax is checked by json_strict, then cJSON parses it.  Two
 * phases follow: check the whole document (types, ranges, names, references)
 * into plain structs, then build the sim from them.  The work list becomes a
 * set of templates, owned by the sim, that a workload function expands item
 * by item when the sim submits it. */
#include "scenario_file.h"

#include "json_strict.h"
#include "suggest.h"

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
} loader;

/* Keep the message on one line whatever the file holds. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

static int failv(loader *L, int code, const char *path, const char *fmt, va_list ap)
{
    if (L->err && L->errlen) {
        char msg[512];
        vsnprintf(msg, sizeof msg, fmt, ap);
        if (path && *path)
            snprintf(L->err, L->errlen, "%s: %s: %s", L->file, path, msg);
        else
            snprintf(L->err, L->errlen, "%s: %s", L->file, msg);
        one_line(L->err);
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

/* At most max bytes of s (cut on a UTF-8 boundary), "..." if cut. */
static const char *clip(const char *s, char *buf, size_t bufsize)
{
    size_t max = bufsize - 4, n = strlen(s);
    if (n <= max) return s;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    memcpy(buf, s, max);
    memcpy(buf + max, "...", 4);
    return buf;
}

/* A short rendering of a value for "(got ...)". */
static const char *got(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsNumber(v)) {
        snprintf(buf, n, "%.15g", v->valuedouble);
    } else if (cJSON_IsString(v) && v->valuestring) {
        char c[GOT_LEN - 8];
        snprintf(buf, n, "'%s'", clip(v->valuestring, c, sizeof c));
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
            return bad(L, path, "unknown key '%s'%s", clip(name, q, sizeof q),
                       did_you_mean(name, keys, n, hint, sizeof hint));
        if (out[k]) return bad(L, path, "key '%s' appears twice", keys[k]);
        out[k] = c;
    }
    return 0;
}

static int need_member(loader *L, const char *path, const cJSON *v, const char *key)
{
    return v ? 0 : bad(L, path, "missing required key '%s'", key);
}

/* No control characters (they would break the one-line log formats). */
static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

/* A string: non-empty, no control characters; names also at most 200 bytes. */
static int get_string(loader *L, const char *path, const cJSON *v, bool is_name, const char **out)
{
    char g[GOT_LEN];
    if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring)
        return bad(L, path, "must be a non-empty string (got %s)", got(v, g, sizeof g));
    if (is_name && strlen(v->valuestring) > NAME_MAX_BYTES)
        return bad(L, path, "must be at most %d bytes long (got %zu)", NAME_MAX_BYTES,
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
               clip(name, q, sizeof q), section, first);
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
    uint64_t first; /* index of its first item in the workload */
    bool expand;    /* "repeat" given and some string holds {i} or {i4} */
} sf_item;

typedef struct sf_work {
    char **tasks;
    size_t n_tasks;
    sf_item *items;
    size_t n_items, items_cap;
    uint64_t total;
    char *buf; /* scratch for one expanded item */
    size_t buf_size;
    const char **ptrs; /* scratch key pointers */
    size_t ptrs_size;
} sf_work;

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
    free(w);
}

static size_t placeholders(const char *s)
{
    size_t n = 0;
    for (const char *p = s; (p = strchr(p, '{')) != NULL; p++)
        if (strncmp(p, "{i}", 3) == 0 || strncmp(p, "{i4}", 4) == 0) n++;
    return n;
}

/* Copy tmpl to *out with {i} and {i4} replaced; return the copy and advance
 * *out past its NUL. */
static const char *expand(char **out, const char *tmpl, uint64_t index)
{
    char *start = *out, *o = start;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{i}", 3) == 0) {
            o += sprintf(o, "%" PRIu64, index);
            p += 3;
        } else if (strncmp(p, "{i4}", 4) == 0) {
            o += sprintf(o, "%04" PRIu64, index);
            p += 4;
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
        it->n_produces};
    return sim_submit(s, &spec, NULL);
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
} model;

static void free_model(model *m)
{
    free(m->svcs);
    free(m->svc_names);
    free(m->tasks);
    free(m->task_names);
    free(m->inputs);
    free_work(m->work);
}

static size_t count_items(const cJSON *array)
{
    size_t n = 0;
    for (const cJSON *c = array->child; c; c = c->next)
        n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

static int parse_service(loader *L, const sim_config *cfg, const char *path, const cJSON *obj,
                         svc_def *out)
{
    static const char *const keys[] = {"name", "concurrent", "rate"};
    const cJSON *v[3];
    char p[PATH_LEN], g[GOT_LEN];
    int rc = members(L, path, obj, keys, 3, v);
    if (!rc) rc = need_member(L, path, v[0], "name");
    if (!rc) rc = get_string(L, join(p, path, "name"), v[0], true, &out->name);
    if (rc) return rc;

    /* Omitted or null: no limit. */
    out->concurrent = RC_NO_LIMIT;
    const cJSON *c = v[1];
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
    const cJSON *r = v[2];
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

static int parse_task(loader *L, const sim_config *cfg, const char *path, const cJSON *obj,
                      const model *m, task_def *out)
{
    static const char *const keys[] = {"name",     "service",      "latency_ms", "jitter",
                                       "outliers", "outlier_mult", "error_rate"};
    enum { K_NAME, K_SERVICE, K_LATENCY, K_JITTER, K_OUTLIERS, K_MULT, K_ERRORS, K_N };
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
                did_you_mean(svc, names, m->n_svcs, hint, sizeof hint);
                free(names);
            }
            return bad(L, p, "unknown service '%s'%s", clip(svc, q, sizeof q), hint);
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
    return rc;
}

/* needs or produces: an array of keys, checked and counted. */
static int check_keys(loader *L, const char *path, const cJSON *arr, size_t *n)
{
    char g[GOT_LEN], p[PATH_LEN];
    *n = 0;
    if (!arr) return 0;
    if (!cJSON_IsArray(arr))
        return bad(L, path, "must be an array of strings (got %s)", got(arr, g, sizeof g));
    for (const cJSON *c = arr->child; c; c = c->next, (*n)++) {
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
    static const char *const keys[] = {"task", "label", "needs", "produces", "repeat"};
    enum { K_TASK, K_LABEL, K_NEEDS, K_PRODUCES, K_REPEAT, K_N };
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
        did_you_mean(task, names, m->n_tasks, hint, sizeof hint);
        free(names);
        return bad(L, p, "unknown task '%s'%s", clip(task, q, sizeof q), hint);
    }
    if (v[K_LABEL]) rc = get_string(L, join(p, path, "label"), v[K_LABEL], false, &label);
    size_t n_needs = 0, n_produces = 0;
    if (!rc) rc = check_keys(L, join(p, path, "needs"), v[K_NEEDS], &n_needs);
    if (!rc) rc = check_keys(L, join(p, path, "produces"), v[K_PRODUCES], &n_produces);
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
    size_t k = 0;
    const cJSON *lists[2] = {v[K_NEEDS], v[K_PRODUCES]};
    for (int l = 0; l < 2; l++)
        for (const cJSON *c = lists[l] ? lists[l]->child : NULL; c; c = c->next)
            if (!(it->keys[k++] = dup_str(c->valuestring))) return no_memory(L);

    /* Room to expand it: each placeholder takes at most 20 digits. */
    if (v[K_REPEAT]) {
        size_t holes = it->label ? placeholders(it->label) : 0;
        size_t size = it->label ? strlen(it->label) + 1 : 0;
        for (k = 0; k < nk; k++) {
            holes += placeholders(it->keys[k]);
            size += strlen(it->keys[k]) + 1;
        }
        it->expand = holes > 0;
        size += holes * DIGITS_MAX;
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

static int check_document(loader *L, const sim_config *cfg, const cJSON *root, model *m)
{
    static const char *const keys[] = {"name",  "description", "services",
                                       "tasks", "inputs",      "work"};
    enum { K_NAME, K_DESC, K_SERVICES, K_TASKS, K_INPUTS, K_WORK, K_N };
    const cJSON *v[K_N];
    char p[PATH_LEN], g[GOT_LEN];
    const char *str;
    if (!cJSON_IsObject(root))
        return bad(L, NULL, "the top level must be an object (got %s)", got(root, g, sizeof g));
    int rc = members(L, "", root, keys, K_N, v);
    if (rc) return rc;
    for (int k = K_NAME; k <= K_DESC; k++)
        if (v[k] && !cJSON_IsString(v[k]))
            return bad(L, keys[k], "must be a string (got %s)", got(v[k], g, sizeof g));
    if (v[K_NAME] && (rc = get_string(L, "name", v[K_NAME], false, &str))) return rc;

    /* services */
    if ((rc = get_array(L, "services", v[K_SERVICES], false, NULL))) return rc;
    size_t n = v[K_SERVICES] ? count_items(v[K_SERVICES]) : 0;
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
    if ((rc = check_keys(L, "inputs", v[K_INPUTS], &m->n_inputs))) return rc;
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
    for (const cJSON *c = v[K_WORK]->child; c; c = c->next, i++)
        if ((rc = parse_work_item(L, index_of(p, "work", i), c, m))) return rc;
    return 0;
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
        if ((rc = sim_add_task(s, d->name, d->service, &d->profile, NULL, NULL)))
            return fail_code(L, as_load_error(rc), index_of(p, "tasks", i), "%s", sim_errmsg(s));
    }
    for (size_t i = 0; i < m->n_inputs; i++)
        if ((rc = sim_provide(s, m->inputs[i])))
            return fail_code(L, as_load_error(rc), index_of(p, "inputs", i), "%s", sim_errmsg(s));
    sf_work *w = m->work;
    m->work = NULL;
    if ((rc = sim_own(s, w, free_work))) return no_memory(L); /* sim_own freed w */
    sim_set_workload(s, w->total, generate, w);
    return 0;
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
        one_line(L->err);
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
    loader L = {name_for_errors ? name_for_errors : "<string>", err, errlen};
    if (err && errlen) *err = 0;
    if (!s || !json) return bad(&L, NULL, "no sim or no text given");
    size_t len = strlen(json);
    if (len > SCENARIO_FILE_MAX_BYTES) return too_large(&L);
    return load_text(&L, s, json, len);
}

int scenario_file_load_buffer(sim *s, const char *name_for_errors, const void *data, size_t len,
                              char *err, size_t errlen)
{
    loader L = {name_for_errors ? name_for_errors : "<buffer>", err, errlen};
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
    loader L = {path ? path : "<null>", err, errlen};
    if (err && errlen) *err = 0;
    if (!s || !path) return bad(&L, NULL, "no sim or no path given");
    FILE *f = fopen(path, "rb");
    if (!f) return bad(&L, NULL, "cannot read: %s", strerror(errno));
    size_t len = 0, cap = 0;
    char *buf = NULL;
    int rc = 0;
    for (;;) {
        if (cap - len < 2) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, ncap);
            if (!grown) {
                rc = no_memory(&L);
                break;
            }
            buf = grown;
            cap = ncap;
        }
        size_t got_n = fread(buf + len, 1, cap - len - 1, f);
        len += got_n;
        if (len > SCENARIO_FILE_MAX_BYTES) {
            rc = too_large(&L);
            break;
        }
        if (got_n == 0) {
            if (ferror(f)) rc = bad(&L, NULL, "cannot read: %s", strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!rc) {
        buf[len] = 0;
        rc = load_text(&L, s, buf, len);
    }
    free(buf);
    return rc;
}
