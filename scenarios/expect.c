/* expect.c -- expectations: parsing, preparing and checking (see expect.h). */
#include "expect.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

enum {
    TOKENS_MAX = EXPECT_NAMES_MAX + 8,
    SHOW_LEN = 48, /* bytes of a name shown in a message */
    VERDICT_LEN = 192,
};
#define NUMBER_MAX 1e15

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- the model ---- */

typedef enum kind {
    K_NO_STALL,
    K_STALL,         /* any stall */
    K_STALL_CYCLE,   /* names: the cycle's members */
    K_STALL_MISSING, /* names[0]: the key */
    K_STALL_FAILED,  /* names[0]: the failed work */
    K_METRIC,
    K_ORDER,
} kind;

typedef enum unit { U_COUNT, U_TIME, U_RATE } unit;

enum { SCOPE_OVERALL = 1, SCOPE_SERVICE = 2, SCOPE_BOTH = 3 };

typedef enum metric_id {
    M_SUBMITTED,
    M_COMPLETED,
    M_FAILED,
    M_SKIPPED,
    M_CANCELLED,
    M_PENDING,
    M_RUNNING,
    M_RETRIES,
    M_INVALIDATIONS,
    M_VIOLATIONS,
    M_PEAK,
    M_DURATION,
    M_THROUGHPUT,
    M_WAIT_P50,
    M_WAIT_P95,
    M_WAIT_P99,
    M_RUN_P50,
    M_RUN_P95,
    M_RUN_P99,
    M_N
} metric_id;

static const struct metric {
    const char *name;
    int scopes;
    unit unit;
} METRICS[M_N] = {
    {"submitted", SCOPE_OVERALL, U_COUNT},
    {"completed", SCOPE_BOTH, U_COUNT},
    {"failed", SCOPE_BOTH, U_COUNT},
    {"skipped", SCOPE_OVERALL, U_COUNT},
    {"cancelled", SCOPE_OVERALL, U_COUNT},
    {"pending", SCOPE_OVERALL, U_COUNT},
    {"running", SCOPE_OVERALL, U_COUNT},
    {"retries", SCOPE_OVERALL, U_COUNT},
    {"invalidations", SCOPE_OVERALL, U_COUNT},
    {"violations", SCOPE_BOTH, U_COUNT},
    {"peak_in_flight", SCOPE_SERVICE, U_COUNT},
    {"duration", SCOPE_OVERALL, U_TIME},
    {"throughput", SCOPE_BOTH, U_RATE},
    {"queue_wait.p50", SCOPE_BOTH, U_TIME},
    {"queue_wait.p95", SCOPE_BOTH, U_TIME},
    {"queue_wait.p99", SCOPE_BOTH, U_TIME},
    {"run_time.p50", SCOPE_BOTH, U_TIME},
    {"run_time.p95", SCOPE_BOTH, U_TIME},
    {"run_time.p99", SCOPE_BOTH, U_TIME},
};

typedef enum op { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE } op;
static const char *const OP_TEXT[] = {"<", "<=", ">", ">=", "==", "!="};

typedef enum when { W_STARTS, W_COMPLETES } when;

typedef struct expectation {
    char *text, *origin;
    kind kind;
    char **names; /* stall names; order: names[0] = X, names[1] = Y */
    size_t n_names;
    /* K_METRIC */
    metric_id metric;
    char *service; /* NULL: overall */
    op op;
    double value;
    /* K_ORDER: X when before/after (t | Y when2) */
    when when, when2;
    bool before, vs_label;
    double t;
    /* the verdict */
    bool checked, held;
    char expected[VERDICT_LEN], actual[VERDICT_LEN];
} expectation;

struct expect_set {
    expectation *v;
    size_t n, cap;
    uint64_t *seeds;
    size_t n_seeds;
};

expect_set *expect_set_new(void)
{
    return calloc(1, sizeof(expect_set));
}

static void free_expectation(expectation *e)
{
    free(e->text);
    free(e->origin);
    for (size_t i = 0; i < e->n_names; i++)
        free(e->names[i]);
    free(e->names);
    free(e->service);
}

void expect_set_free(expect_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->n; i++)
        free_expectation(&set->v[i]);
    free(set->v);
    free(set->seeds);
    free(set);
}

size_t expect_count(const expect_set *set)
{
    return set->n;
}

size_t expect_seeds(const expect_set *set, const uint64_t **seeds)
{
    *seeds = set->seeds;
    return set->n_seeds;
}

expect_result expect_get(const expect_set *set, size_t i)
{
    const expectation *e = &set->v[i];
    return (expect_result){e->text, e->origin, e->checked, e->held, e->expected, e->actual};
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- messages ---- */

/* A name as shown in a message: at most SHOW_LEN bytes. */
static const char *clip(const char *s, char *buf)
{
    return sim_clip(s, buf, SHOW_LEN + 4);
}

typedef struct parser {
    const char *origin, *text;
    char *err;
    size_t errlen;
} parser;

static int bad(const parser *P, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int bad(const parser *P, const char *fmt, ...)
{
    if (!P->err || !P->errlen) return RC_EINVAL;
    char msg[384], t[204];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (P->text)
        snprintf(P->err, P->errlen, "%s: '%s': %s", P->origin, sim_clip(P->text, t, sizeof t), msg);
    else
        snprintf(P->err, P->errlen, "%s: %s", P->origin, msg);
    sim_one_line(P->err);
    return RC_EINVAL;
}

/* ---- words ---- */

typedef struct token {
    const char *s; /* NUL-terminated, in the parser's copy */
    bool quoted;
} token;

static bool op_char(char c)
{
    return c == '<' || c == '>' || c == '=' || c == '!';
}

/* Split buf (modified in place) into tokens. */
static int tokenize(const parser *P, char *buf, token *tok, size_t *n)
{
    *n = 0;
    char *p = buf;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p) return 0;
        if (*n == TOKENS_MAX) return bad(P, "too many words (at most %d)", TOKENS_MAX);
        token *t = &tok[(*n)++];
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            char *end = strchr(p, q);
            if (!end) return bad(P, "a quote %c is not closed", q);
            if (end == p) return bad(P, "an empty name in quotes");
            *t = (token){p, true};
            *end = 0;
            p = end + 1;
            if (*p && *p != ' ' && *p != '\t' && *p != ',' && !op_char(*p))
                return bad(P, "a closing quote must be followed by a space");
            continue;
        }
        char *start = p;
        if (op_char(*p)) {
            while (op_char(*p))
                p++;
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != ',' && *p != '\'' && *p != '"' &&
                   !op_char(*p))
                p++;
        }
        *t = (token){start, false};
        if (*p) {
            /* Terminate, but keep the character that ends the word. */
            char c = *p;
            if (c == ' ' || c == '\t' || c == ',') {
                *p++ = 0;
            } else {
                memmove(p + 1, p, strlen(p) + 1);
                *p++ = 0;
            }
        }
    }
}

static bool is_word(const token *t, const char *w)
{
    return t && !t->quoted && strcmp(t->s, w) == 0;
}

/* ---- numbers ---- */

/* A number token with an optional unit: value in seconds for U_TIME. */
static int number(const parser *P, const token *t, unit u, const char *what, double *out)
{
    char shown[SHOW_LEN + 8];
    if (!t) return bad(P, "expected %s at the end", what);
    if (t->quoted) return bad(P, "expected %s, got the name '%s'", what, clip(t->s, shown));
    if (*t->s == '-' || *t->s == '+')
        return bad(P, "expected %s, got '%s' (no sign)", what, clip(t->s, shown));
    char *end;
    errno = 0;
    double v = strtod(t->s, &end);
    if (end == t->s || errno || !isfinite(v) || v > NUMBER_MAX)
        return bad(P, "expected %s, got '%s'", what, clip(t->s, shown));
    if (u == U_TIME && strcmp(end, "ms") == 0)
        v /= 1000;
    else if (*end &&
             !((u == U_TIME && strcmp(end, "s") == 0) || (u == U_RATE && strcmp(end, "/s") == 0)))
        return bad(P, "'%s': unknown unit '%s' (%s)", clip(t->s, shown), end,
                   u == U_TIME   ? "use s or ms"
                   : u == U_RATE ? "use /s"
                                 : "a count has none");
    if (u == U_COUNT && floor(v) != v)
        return bad(P, "'%s' must be a whole number", clip(t->s, shown));
    *out = v;
    return 0;
}

/* ---- sentences ---- */

static int parse_op(const parser *P, const token *t, op *out)
{
    static const char *const words[] = {"<", "<=", ">", ">=", "==", "!=", "="};
    static const op ops[] = {OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_EQ};
    char shown[SHOW_LEN + 8];
    if (!t) return bad(P, "expected a comparison (< <= > >= == !=) at the end");
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!t->quoted && strcmp(t->s, words[i]) == 0) {
            *out = ops[i];
            return 0;
        }
    return bad(P, "expected a comparison (< <= > >= == !=), got '%s'", clip(t->s, shown));
}

static int add_name(const parser *P, expectation *e, const token *t, const char *what)
{
    char shown[SHOW_LEN + 8];
    if (!t) return bad(P, "expected %s at the end", what);
    if (!t->quoted && op_char(*t->s))
        return bad(P, "expected %s, got '%s'", what, clip(t->s, shown));
    char **grown = realloc(e->names, (e->n_names + 1) * sizeof *grown);
    if (!grown) return RC_ENOMEM;
    e->names = grown;
    if (!(e->names[e->n_names] = dup_str(t->s))) return RC_ENOMEM;
    e->n_names++;
    return 0;
}

static int trailing(const parser *P, const token *tok, size_t n, size_t used)
{
    char shown[SHOW_LEN + 8];
    return used < n ? bad(P, "unexpected '%s' at the end", clip(tok[used].s, shown)) : 0;
}

static int parse_stall(const parser *P, expectation *e, const token *tok, size_t n)
{
    if (n == 1) {
        e->kind = K_STALL;
        return 0;
    }
    int rc;
    if (is_word(&tok[1], "cycle")) {
        e->kind = K_STALL_CYCLE;
        if (n < 3) return bad(P, "'stall cycle' needs the labels of the cycle's work");
        for (size_t i = 2; i < n; i++)
            if ((rc = add_name(P, e, &tok[i], "a label"))) return rc;
        return 0;
    }
    if (is_word(&tok[1], "missing") || is_word(&tok[1], "failed")) {
        bool missing = is_word(&tok[1], "missing");
        e->kind = missing ? K_STALL_MISSING : K_STALL_FAILED;
        rc = add_name(P, e, n > 2 ? &tok[2] : NULL, missing ? "an artifact key" : "a label");
        return rc ? rc : trailing(P, tok, n, 3);
    }
    char shown[SHOW_LEN + 8];
    return bad(P, "after 'stall': 'cycle LABEL...', 'missing KEY' or 'failed LABEL', not '%s'",
               clip(tok[1].s, shown));
}

static int parse_when(const parser *P, const token *t, when *out)
{
    char shown[SHOW_LEN + 8];
    if (is_word(t, "starts"))
        *out = W_STARTS;
    else if (is_word(t, "completes"))
        *out = W_COMPLETES;
    else if (!t)
        return bad(P, "expected 'starts' or 'completes' at the end");
    else
        return bad(P, "expected 'starts' or 'completes', got '%s'", clip(t->s, shown));
    return 0;
}

/* label X starts|completes before|after (T | [label] Y starts|completes) */
static int parse_order(const parser *P, expectation *e, const token *tok, size_t n)
{
    e->kind = K_ORDER;
    char shown[SHOW_LEN + 8];
    int rc = add_name(P, e, n > 1 ? &tok[1] : NULL, "a label");
    if (!rc) rc = parse_when(P, n > 2 ? &tok[2] : NULL, &e->when);
    if (rc) return rc;
    if (n < 4) return bad(P, "expected 'before' or 'after' at the end");
    if (!is_word(&tok[3], "before") && !is_word(&tok[3], "after"))
        return bad(P, "expected 'before' or 'after', got '%s'", clip(tok[3].s, shown));
    e->before = is_word(&tok[3], "before");
    size_t i = 4;
    if (i + 1 < n && is_word(&tok[i], "t") && is_word(&tok[i + 1], "=")) i += 2; /* t = 5 */
    const token *t = i < n ? &tok[i] : NULL;
    if (i > 4 || (t && !t->quoted && ((*t->s >= '0' && *t->s <= '9') || *t->s == '.'))) {
        if ((rc = number(P, t, U_TIME, "a time", &e->t))) return rc;
        return trailing(P, tok, n, i + 1);
    }
    if (is_word(t, "label")) t = ++i < n ? &tok[i] : NULL;
    e->vs_label = true;
    if ((rc = add_name(P, e, t, "a time or a label"))) return rc;
    if ((rc = parse_when(P, i + 1 < n ? &tok[i + 1] : NULL, &e->when2))) return rc;
    return trailing(P, tok, n, i + 2);
}

static int find_metric(const parser *P, const token *t, metric_id *out)
{
    char shown[SHOW_LEN + 8], hint[SHOW_LEN + 32];
    const char *names[M_N];
    for (int m = 0; m < M_N; m++) {
        names[m] = METRICS[m].name;
        if (t && !t->quoted && strcmp(t->s, names[m]) == 0) {
            *out = (metric_id)m;
            return 0;
        }
    }
    if (!t) return bad(P, "expected a metric at the end");
    return bad(P, "unknown metric '%s'%s", clip(t->s, shown),
               sim_did_you_mean(t->s, names, M_N, hint, sizeof hint));
}

/* [service NAME] METRIC OP NUMBER */
static int parse_metric(const parser *P, expectation *e, const token *tok, size_t n)
{
    e->kind = K_METRIC;
    size_t i = 0;
    int rc;
    if (is_word(&tok[0], "service")) {
        if (n < 2) return bad(P, "expected a service name after 'service'");
        if (!(e->service = dup_str(tok[1].s))) return RC_ENOMEM;
        i = 2;
    }
    if ((rc = find_metric(P, i < n ? &tok[i] : NULL, &e->metric))) return rc;
    const struct metric *m = &METRICS[e->metric];
    if (e->service && !(m->scopes & SCOPE_SERVICE))
        return bad(P, "'%s' is a figure of the whole run, not of a service", m->name);
    if (!e->service && !(m->scopes & SCOPE_OVERALL))
        return bad(P, "'%s' is a figure of a service: write 'service NAME %s ...'", m->name,
                   m->name);
    if ((rc = parse_op(P, i + 1 < n ? &tok[i + 1] : NULL, &e->op))) return rc;
    const char *what = m->unit == U_TIME   ? "a number of seconds"
                       : m->unit == U_RATE ? "a number per second"
                                           : "a whole number";
    if ((rc = number(P, i + 2 < n ? &tok[i + 2] : NULL, m->unit, what, &e->value))) return rc;
    return trailing(P, tok, n, i + 3);
}

static int parse_sentence(const parser *P, expectation *e, const token *tok, size_t n)
{
    if (n == 0) return bad(P, "empty");
    if (is_word(&tok[0], "no")) {
        e->kind = K_NO_STALL;
        if (n < 2 || !is_word(&tok[1], "stall")) return bad(P, "'no' must be followed by 'stall'");
        return trailing(P, tok, n, 2);
    }
    if (is_word(&tok[0], "stall")) return parse_stall(P, e, tok, n);
    if (is_word(&tok[0], "label")) return parse_order(P, e, tok, n);
    return parse_metric(P, e, tok, n);
}

static int grow(expect_set *set)
{
    if (set->n < set->cap) return 0;
    size_t cap = set->cap ? set->cap * 2 : 8;
    expectation *v = realloc(set->v, cap * sizeof *v);
    if (!v) return RC_ENOMEM;
    set->v = v;
    set->cap = cap;
    return 0;
}

static int add(expect_set *set, const char *text, const char *origin, bool implicit, char *err,
               size_t errlen)
{
    parser P = {origin ? origin : "--expect", text, err, errlen};
    if (err && errlen) *err = 0;
    if (!text) return bad(&P, "no text");
    if (set->n >= EXPECT_MAX) return bad(&P, "too many expectations (at most %d)", EXPECT_MAX);
    size_t len = strlen(text);
    if (len > EXPECT_TEXT_MAX)
        return bad(&(parser){P.origin, NULL, err, errlen},
                   "an expectation of %zu bytes (at most %d)", len, EXPECT_TEXT_MAX);
    for (const char *p = text; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return bad(&P, "a control character");
    if (grow(set)) return RC_ENOMEM;
    /* Room for a NUL after every character: tokenize splits in place. */
    char *buf = malloc(2 * len + 2);
    token *tok = malloc(TOKENS_MAX * sizeof *tok);
    expectation *e = &set->v[set->n];
    memset(e, 0, sizeof *e);
    int rc = buf && tok ? 0 : RC_ENOMEM;
    size_t n = 0;
    if (!rc) {
        memcpy(buf, text, len + 1);
        rc = tokenize(&P, buf, tok, &n);
    }
    if (!rc) rc = parse_sentence(&P, e, tok, n);
    if (!rc &&
        (!(e->text = dup_str(text)) || !(e->origin = dup_str(implicit ? "default" : P.origin))))
        rc = RC_ENOMEM;
    free(buf);
    free(tok);
    if (rc) {
        if (rc == RC_ENOMEM) bad(&P, "out of memory");
        free_expectation(e);
        return rc;
    }
    set->n++;
    return 0;
}

int expect_add(expect_set *set, const char *text, const char *origin, char *err, size_t errlen)
{
    return add(set, text, origin, false, err, errlen);
}

/* ---- the scenario file's section ---- */

static const char *got_json(const cJSON *v)
{
    return cJSON_IsNumber(v)   ? "a number"
           : cJSON_IsString(v) ? "a string"
           : cJSON_IsBool(v)   ? "a boolean"
           : cJSON_IsNull(v)   ? "null"
           : cJSON_IsArray(v)  ? "an array"
                               : "an object";
}

static int add_checks(expect_set *set, const cJSON *arr, const char *file, const char *path,
                      char *err, size_t errlen)
{
    char where[160];
    snprintf(where, sizeof where, "%s: %s", file, path);
    parser P = {where, NULL, err, errlen};
    if (!cJSON_IsArray(arr)) return bad(&P, "must be an array of strings (got %s)", got_json(arr));
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        snprintf(where, sizeof where, "%s: %s[%zu]", file, path, i);
        if (!cJSON_IsString(c) || !c->valuestring || !*c->valuestring)
            return bad(&P, "must be a non-empty string (got %s)", got_json(c));
        int rc = add(set, c->valuestring, where, false, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

static int add_seeds(expect_set *set, const cJSON *arr, const char *file, char *err, size_t errlen)
{
    char where[160];
    snprintf(where, sizeof where, "%s: expect.seeds", file);
    parser P = {where, NULL, err, errlen};
    if (!cJSON_IsArray(arr) || !arr->child) return bad(&P, "must be an array of at least one seed");
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        /* 2^53: every whole number up to it is exact in JSON's doubles. */
        if (!cJSON_IsNumber(c) || !(c->valuedouble >= 0) || c->valuedouble > 9007199254740992.0 ||
            floor(c->valuedouble) != c->valuedouble)
            return bad(&P, "[%zu]: must be a whole number from 0 to 2^53", i);
        if (set->n_seeds >= EXPECT_SEEDS_MAX)
            return bad(&P, "too many seeds (at most %d)", EXPECT_SEEDS_MAX);
        uint64_t *grown = realloc(set->seeds, (set->n_seeds + 1) * sizeof *grown);
        if (!grown) return RC_ENOMEM;
        set->seeds = grown;
        set->seeds[set->n_seeds++] = (uint64_t)c->valuedouble;
    }
    return 0;
}

int expect_add_json(expect_set *set, const cJSON *v, const char *file, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    if (cJSON_IsArray(v)) return add_checks(set, v, file, "expect", err, errlen);
    char where[160], hint[96];
    snprintf(where, sizeof where, "%s: expect", file);
    parser P = {where, NULL, err, errlen};
    if (!cJSON_IsObject(v))
        return bad(&P,
                   "must be an array of expectations or an object with \"checks\" "
                   "and \"seeds\" (got %s)",
                   got_json(v));
    static const char *const keys[] = {"checks", "seeds"};
    const cJSON *checks = NULL, *seeds = NULL;
    for (const cJSON *c = v->child; c; c = c->next) {
        const char *k = c->string ? c->string : "";
        char shown[SHOW_LEN + 8];
        const cJSON **slot = strcmp(k, "checks") == 0  ? &checks
                             : strcmp(k, "seeds") == 0 ? &seeds
                                                       : NULL;
        if (!slot)
            return bad(&P, "unknown key '%s'%s", clip(k, shown),
                       sim_did_you_mean(k, keys, 2, hint, sizeof hint));
        if (*slot) return bad(&P, "key '%s' appears twice", k);
        *slot = c;
    }
    int rc = seeds ? add_seeds(set, seeds, file, err, errlen) : 0;
    if (!rc && checks) rc = add_checks(set, checks, file, "expect.checks", err, errlen);
    return rc;
}

int expect_merge(expect_set *dst, expect_set *src)
{
    if (dst->n + src->n > dst->cap) {
        expectation *v = realloc(dst->v, (dst->n + src->n) * sizeof *v);
        if (!v) return RC_ENOMEM;
        dst->v = v;
        dst->cap = dst->n + src->n;
    }
    if (src->n_seeds) {
        uint64_t *s = realloc(dst->seeds, (dst->n_seeds + src->n_seeds) * sizeof *s);
        if (!s) return RC_ENOMEM;
        dst->seeds = s;
        memcpy(dst->seeds + dst->n_seeds, src->seeds, src->n_seeds * sizeof *s);
        dst->n_seeds += src->n_seeds;
        src->n_seeds = 0;
    }
    if (src->n) memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
    dst->n += src->n;
    src->n = 0;
    return 0;
}

/* ---- preparing ---- */

static int check_label(const parser *P, sim *s, const char *label, bool track)
{
    char hint[SHOW_LEN + 32], shown[SHOW_LEN + 8];
    if (sim_label_known(s, label, hint, sizeof hint) == SIM_LABEL_UNKNOWN)
        return bad(P, "unknown label '%s'%s", clip(label, shown), hint);
    return track && sim_track_label(s, label) ? RC_ENOMEM : 0;
}

/* A name the stall report gives work without a label: "task #17". */
static bool unlabelled_name(const char *name)
{
    const char *hash = strstr(name, " #");
    return hash && hash[2] && strspn(hash + 2, "0123456789") == strlen(hash + 2);
}

static int check_service(const parser *P, sim *s, const expectation *e)
{
    rc_cue *cue = sim_cue(s);
    size_t n = rc_service_count(cue);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) return RC_ENOMEM;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        rc_service_info info;
        if (rc_service_get(cue, i, &info) == 0) names[i] = info.name;
        if (names[i] && strcmp(names[i], e->service) == 0) found = true;
        if (!names[i]) names[i] = "";
    }
    int rc = 0;
    if (!found) {
        char hint[SHOW_LEN + 32], shown[SHOW_LEN + 8];
        rc = bad(P, "unknown service '%s'%s", clip(e->service, shown),
                 sim_did_you_mean(e->service, names, n, hint, sizeof hint));
    }
    free(names);
    if (rc) return rc;
    unit u = METRICS[e->metric].unit;
    bool percentile = u == U_TIME && e->metric != M_DURATION;
    return percentile && sim_track_service_times(s, e->service) ? RC_ENOMEM : 0;
}

static int prepare_one(expect_set *set, size_t i, sim *s, char *err, size_t errlen)
{
    expectation *e = &set->v[i];
    parser P = {e->origin, e->text, err, errlen};
    int rc = 0;
    switch (e->kind) {
    case K_STALL_CYCLE:
    case K_STALL_FAILED:
        for (size_t k = 0; !rc && k < e->n_names; k++)
            if (!unlabelled_name(e->names[k])) rc = check_label(&P, s, e->names[k], false);
        break;
    case K_ORDER:
        rc = check_label(&P, s, e->names[0], true);
        if (!rc && e->vs_label) rc = check_label(&P, s, e->names[1], true);
        break;
    case K_METRIC:
        if (e->service) rc = check_service(&P, s, e);
        break;
    default:
        break;
    }
    if (rc == RC_ENOMEM) bad(&P, "out of memory");
    return rc;
}

int expect_prepare(expect_set *set, sim *s, bool defaults, char *err, size_t errlen)
{
    if (err && errlen) *err = 0;
    bool says_stall = false, says_violations = false;
    for (size_t i = 0; i < set->n; i++) {
        const expectation *e = &set->v[i];
        if (e->kind != K_METRIC && e->kind != K_ORDER) says_stall = true;
        if (e->kind == K_METRIC && e->metric == M_VIOLATIONS && !e->service) says_violations = true;
    }
    int rc = 0;
    if (defaults && !says_stall) rc = add(set, "no stall", NULL, true, err, errlen);
    if (!rc && defaults && !says_violations)
        rc = add(set, "violations == 0", NULL, true, err, errlen);
    for (size_t i = 0; !rc && i < set->n; i++)
        rc = prepare_one(set, i, s, err, errlen);
    return rc;
}

/* ---- checking ---- */

static bool compare(double a, op o, double b)
{
    switch (o) {
    case OP_LT:
        return a < b;
    case OP_LE:
        return a <= b;
    case OP_GT:
        return a > b;
    case OP_GE:
        return a >= b;
    case OP_EQ:
        return a == b;
    case OP_NE:
        return a != b;
    }
    return false;
}

static const sim_service_result *find_service(const sim_summary *sm, const char *name)
{
    for (size_t i = 0; i < sm->n_services; i++)
        if (strcmp(sm->services[i].name, name) == 0) return &sm->services[i];
    return NULL;
}

static double pick(const sim_percentiles *p, int which)
{
    return which == 0 ? p->p50 : which == 1 ? p->p95 : p->p99;
}

/* The figure of the run (svc NULL) or of a service. */
static double figure(const sim_summary *sm, const sim_service_result *svc, metric_id m)
{
    switch (m) {
    case M_SUBMITTED:
        return (double)sm->submitted;
    case M_COMPLETED:
        return (double)(svc ? svc->completed : sm->completed);
    case M_FAILED:
        return (double)(svc ? svc->failed : sm->failed);
    case M_SKIPPED:
        return (double)sm->skipped;
    case M_CANCELLED:
        return (double)sm->cancelled;
    case M_PENDING:
        return (double)sm->pending;
    case M_RUNNING:
        return (double)sm->running;
    case M_RETRIES:
        return (double)sm->retries;
    case M_INVALIDATIONS:
        return (double)sm->invalidations;
    case M_VIOLATIONS:
        return (double)(svc ? svc->violations : sm->violations);
    case M_PEAK:
        return svc ? (double)svc->peak_in_flight : 0;
    case M_DURATION:
        return sm->duration_s;
    case M_THROUGHPUT:
        if (!svc) return sm->throughput_per_s;
        return sm->duration_s > 0 ? (double)svc->completed / sm->duration_s : 0;
    case M_WAIT_P50:
    case M_WAIT_P95:
    case M_WAIT_P99:
        return pick(svc ? &svc->queue_wait_s : &sm->queue_wait_s, (int)(m - M_WAIT_P50));
    case M_RUN_P50:
    case M_RUN_P95:
    case M_RUN_P99:
        return pick(svc ? &svc->run_time_s : &sm->run_time_s, (int)(m - M_RUN_P50));
    case M_N:
        break;
    }
    return 0;
}

static void format_value(char *buf, size_t n, double v, unit u)
{
    if (u == U_COUNT)
        snprintf(buf, n, "%.0f", v);
    else if (u == U_TIME)
        snprintf(buf, n, "%.6gs", v);
    else
        snprintf(buf, n, "%.6g/s", v);
}

static void check_metric(expectation *e, const sim_summary *sm)
{
    const sim_service_result *svc = e->service ? find_service(sm, e->service) : NULL;
    unit u = METRICS[e->metric].unit;
    char want[64];
    format_value(want, sizeof want, e->value, u);
    snprintf(e->expected, sizeof e->expected, "%s %s", OP_TEXT[e->op], want);
    if (e->service && !svc) {
        e->held = false;
        snprintf(e->actual, sizeof e->actual, "no such service in the run");
        return;
    }
    double v = figure(sm, svc, e->metric);
    e->held = compare(v, e->op, e->value);
    format_value(e->actual, sizeof e->actual, v, u);
}

/* A short account of the stall: its first cause. */
static void stall_text(char *buf, size_t n, const sim_summary *sm)
{
    const sim_stall_facts *f = sm->stall;
    char shown[SHOW_LEN + 8];
    int len = snprintf(buf, n, "a stall at t=%.6gs", sm->duration_s);
    if (len < 0 || (size_t)len >= n || !f) return;
    if (f->cycles && f->cycles[0]) {
        len += snprintf(buf + len, n - (size_t)len, " (cycle");
        for (size_t i = 0; f->cycles[0][i] && (size_t)len < n; i++)
            len += snprintf(buf + len, n - (size_t)len, "%s%s", i ? " -> " : " ",
                            clip(f->cycles[0][i], shown));
        if ((size_t)len < n) snprintf(buf + len, n - (size_t)len, ")");
    } else if (f->missing && f->missing[0]) {
        snprintf(buf + len, n - (size_t)len, " (nothing produces '%s'%s)",
                 clip(f->missing[0], shown), f->n_missing > 1 ? ", ..." : "");
    } else if (f->failed && f->failed[0]) {
        snprintf(buf + len, n - (size_t)len, " (failed: %s%s)", clip(f->failed[0], shown),
                 f->n_failed > 1 ? ", ..." : "");
    }
}

static bool listed(char *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], name) == 0) return true;
    return false;
}

/* Is the cycle's member set the expectation's names? */
static bool same_cycle(char *const *cycle, const expectation *e)
{
    size_t len = 0;
    while (cycle[len])
        len++;
    if (len != e->n_names) return false;
    for (size_t i = 0; i < e->n_names; i++)
        if (!listed(cycle, e->names[i])) return false;
    return true;
}

static void join_names(char *buf, size_t n, char *const *names, size_t count)
{
    char shown[SHOW_LEN + 8];
    size_t len = 0;
    *buf = 0;
    for (size_t i = 0; names && i < count && names[i] && len < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? " " : "", clip(names[i], shown));
        if (w < 0) break;
        len += (size_t)w;
    }
}

static void check_stall(expectation *e, const sim_summary *sm)
{
    const sim_stall_facts *f = sm->stall;
    char names[VERDICT_LEN - 32];
    join_names(names, sizeof names, e->names, e->n_names);
    switch (e->kind) {
    case K_NO_STALL:
        snprintf(e->expected, sizeof e->expected, "no stall");
        break;
    case K_STALL:
        snprintf(e->expected, sizeof e->expected, "a stall");
        break;
    case K_STALL_CYCLE:
        snprintf(e->expected, sizeof e->expected, "a stall, cycle %s", names);
        break;
    case K_STALL_MISSING:
        snprintf(e->expected, sizeof e->expected, "a stall, nothing producing '%s'", names);
        break;
    default:
        snprintf(e->expected, sizeof e->expected, "a stall, failed %s", names);
        break;
    }
    if (!sm->stalled) {
        e->held = e->kind == K_NO_STALL;
        snprintf(e->actual, sizeof e->actual, "no stall (the run ended at t=%.6gs)",
                 sm->duration_s);
        return;
    }
    stall_text(e->actual, sizeof e->actual, sm);
    e->held = false;
    if (e->kind == K_STALL) e->held = true;
    for (size_t i = 0; e->kind == K_STALL_CYCLE && f && f->cycles && f->cycles[i]; i++)
        if (same_cycle(f->cycles[i], e)) e->held = true;
    if (e->kind == K_STALL_MISSING && f) e->held = listed(f->missing, e->names[0]);
    if (e->kind == K_STALL_FAILED && f) e->held = listed(f->failed, e->names[0]);
    if (e->held || !f || e->kind == K_NO_STALL || e->kind == K_STALL) return;
    /* Say what the stall's facts were instead. */
    char *const *list = e->kind == K_STALL_MISSING    ? f->missing
                        : e->kind == K_STALL_FAILED   ? f->failed
                        : (f->cycles && f->cycles[0]) ? f->cycles[0]
                                                      : NULL;
    char found[VERDICT_LEN - 40];
    join_names(found, sizeof found, list, 8);
    const char *what = e->kind == K_STALL_MISSING  ? "missing"
                       : e->kind == K_STALL_FAILED ? "failed"
                                                   : "cycle";
    snprintf(e->actual, sizeof e->actual, "a stall, %s: %s", what, *found ? found : "none");
}

/* The time of label's event for an order check: the latest (before) or
 * the earliest (after) of every item's.  False, with why in why, when not
 * every item with that label did it. */
static bool event_time(const sim *s, const char *label, when w, bool latest, double *t, char *why,
                       size_t whylen)
{
    char shown[SHOW_LEN + 8];
    const sim_label_stats *st = sim_label_get(s, label);
    uint64_t did = !st ? 0 : w == W_STARTS ? st->started : st->completed;
    uint64_t of = st ? st->queued : 0;
    if (!of) {
        snprintf(why, whylen, "no work labelled '%s' was submitted", clip(label, shown));
        return false;
    }
    if (did < of) {
        snprintf(why, whylen, "'%s': %llu of %llu %s", clip(label, shown), (unsigned long long)did,
                 (unsigned long long)of, w == W_STARTS ? "started" : "completed");
        return false;
    }
    if (w == W_STARTS)
        *t = latest ? st->last_start : st->first_start;
    else
        *t = latest ? st->last_complete : st->first_complete;
    return true;
}

static void check_order(expectation *e, const sim *s)
{
    char shown[SHOW_LEN + 8];
    const char *verb = e->when == W_STARTS ? "starts" : "completes";
    const char *rel = e->before ? "at or before" : "at or after";
    char x_shown[SHOW_LEN + 8];
    const char *x_name = clip(e->names[0], x_shown);
    if (e->vs_label)
        snprintf(e->expected, sizeof e->expected, "'%s' %s %s '%s' %s", x_name, verb, rel,
                 clip(e->names[1], shown), e->when2 == W_STARTS ? "starts" : "completes");
    else
        snprintf(e->expected, sizeof e->expected, "'%s' %s %s t=%.6gs", x_name, verb, rel, e->t);
    e->held = false;
    double x, ref = e->t;
    if (!event_time(s, e->names[0], e->when, e->before, &x, e->actual, sizeof e->actual)) return;
    /* Before: the earliest of Y's; after: the latest. */
    if (e->vs_label &&
        !event_time(s, e->names[1], e->when2, !e->before, &ref, e->actual, sizeof e->actual))
        return;
    e->held = e->before ? x <= ref : x >= ref;
    int len = snprintf(e->actual, sizeof e->actual, "%s %s at t=%.6gs",
                       e->before ? "the last" : "the first",
                       e->when == W_STARTS ? "start" : "completion", x);
    if (e->vs_label && len > 0 && (size_t)len < sizeof e->actual)
        snprintf(e->actual + len, sizeof e->actual - (size_t)len, ", '%s' %s at t=%.6gs",
                 clip(e->names[1], shown), e->when2 == W_STARTS ? "starts" : "completes", ref);
}

size_t expect_check(expect_set *set, sim *s)
{
    const sim_summary *sm = sim_get_summary(s);
    size_t broken = 0;
    for (size_t i = 0; i < set->n; i++) {
        expectation *e = &set->v[i];
        if (e->kind == K_METRIC)
            check_metric(e, sm);
        else if (e->kind == K_ORDER)
            check_order(e, s);
        else
            check_stall(e, sm);
        sim_one_line(e->actual);
        sim_one_line(e->expected);
        e->checked = true;
        if (!e->held) broken++;
    }
    return broken;
}
