/* track.c -- what expectations ask about, kept only when asked: the labels a
 * scenario can submit (templates, matched without expanding them), the
 * starts and finishes of tracked labels, per-service times, and the stall's
 * facts as names.  See sim.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_expr.h"
#include "sim_internal.h"
#include "suggest.h"

enum {
    DIGITS_MAX = 20,          /* a uint64_t in decimal */
    SUGGEST_TMPLS_MAX = 4096, /* templates looked at for a suggestion */
    CANDIDATES_MAX = 4096     /* indexes one label is compared at */
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- the label catalogue ---- */

/* The length of the placeholder at p (an index expression, index_expr.h),
 * or 0; *e gets it, "{i}" padded to the template's width. */
static size_t placeholder(const char *p, unsigned width, sim_index_expr *e)
{
    long n = *p == '{' ? sim_index_expr_parse(p, e) : 0;
    if (n <= 0) return 0;
    if (!e->width) e->width = (int)width;
    return (size_t)n;
}

/* The label template t gives for index, malloc'd (NULL: no memory). */
static char *expand(const label_tmpl *t, uint64_t index)
{
    size_t holes = 0, len = strlen(t->text);
    sim_index_expr e;
    for (const char *p = t->text; *p; p++)
        if (placeholder(p, t->width, &e)) holes++;
    char *out = malloc(len + holes * (DIGITS_MAX + 10) + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = t->text; *p;) {
        size_t n = placeholder(p, t->width, &e);
        if (n) {
            o += sim_index_expr_format(o, &e, index);
            p += n;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

/* The first placeholder's offset in text (*e: it), or SIZE_MAX. */
static size_t first_placeholder(const label_tmpl *t, sim_index_expr *e)
{
    for (const char *p = t->text; *p; p++)
        if (placeholder(p, t->width, e)) return (size_t)(p - t->text);
    return SIZE_MAX;
}

/* The indexes below which t's labels repeat: the least common multiple of
 * its moduli when every placeholder has one, else (or past it) count. */
static uint64_t label_period(const label_tmpl *t)
{
    uint64_t period = 1;
    sim_index_expr e;
    for (const char *p = t->text; *p && period < t->count; p++) {
        if (!placeholder(p, t->width, &e)) continue;
        if (!e.mod) return t->count;
        uint64_t a = period, b = (uint64_t)e.mod;
        while (b) {
            uint64_t r = a % b;
            a = b;
            b = r;
        }
        uint64_t step = (uint64_t)e.mod / a;
        period = period > t->count / step ? t->count : period * step;
    }
    return period < t->count ? period : t->count;
}

/* Does index give label? */
static bool gives_at(const label_tmpl *t, uint64_t index, const char *label)
{
    char *e = expand(t, index);
    bool same = e && strcmp(e, label) == 0;
    free(e);
    return same;
}

/* Does t give label?  The number at the first placeholder fixes the index
 * (or, under a modulus, the indexes one period apart): try each length of
 * that digit run and compare the expansions.  A modulus leaves more
 * candidates than are worth expanding only in odd templates; past
 * CANDIDATES_MAX the label is taken as one t may give. */
static bool tmpl_gives(const label_tmpl *t, const char *label)
{
    sim_index_expr e;
    size_t at = t->count ? first_placeholder(t, &e) : SIZE_MAX;
    if (at == SIZE_MAX) return strcmp(t->text, label) == 0;
    if (strncmp(t->text, label, at) != 0) return false;
    const char *d = label + at;
    bool negative = *d == '-';
    d += negative;
    uint64_t period = e.mod ? label_period(t) : 0;
    int64_t v = 0;
    for (size_t len = 1; len <= DIGITS_MAX && d[len - 1] >= '0' && d[len - 1] <= '9'; len++) {
        v = v * 10 + (d[len - 1] - '0');
        if (v > 2 * SIM_INDEX_ARG_MAX) break; /* beyond any value: |offset| + index */
        int64_t value = negative ? -v : v;
        if (!e.mod) {
            int64_t index = value - e.offset;
            if (index >= 0 && (uint64_t)index < t->count && gives_at(t, (uint64_t)index, label))
                return true;
            continue;
        }
        if (value < 0 || value >= e.mod) continue;
        uint64_t first = (uint64_t)((((value - e.offset) % e.mod) + e.mod) % e.mod);
        size_t tries = 0;
        for (uint64_t index = first; index < period; index += (uint64_t)e.mod) {
            if (++tries > CANDIDATES_MAX) return true;
            if (gives_at(t, index, label)) return true;
        }
    }
    return false;
}

int sim_declare_labels(sim *s, const char *tmpl, uint64_t count, unsigned width)
{
    if (!tmpl || !*tmpl || width > DIGITS_MAX) return RC_EINVAL;
    label_tmpl *grown = realloc(s->label_tmpls, (s->n_label_tmpls + 1) * sizeof *grown);
    if (!grown) return RC_ENOMEM;
    s->label_tmpls = grown;
    label_tmpl *t = &s->label_tmpls[s->n_label_tmpls];
    t->text = tmpl;
    t->count = count;
    t->width = width;
    s->n_label_tmpls++;
    return 0;
}

/* The first number in label, or 0: the index to show a template at. */
static uint64_t number_in(const char *label)
{
    const char *p = label + strcspn(label, "0123456789");
    errno = 0;
    unsigned long long v = strtoull(p, NULL, 10);
    return errno ? 0 : v;
}

sim_label_lookup sim_label_known(const sim *s, const char *label, char *hint, size_t hintlen)
{
    if (hintlen) *hint = 0;
    if (!s->n_label_tmpls) return SIM_LABEL_UNDECLARED;
    for (size_t i = 0; i < s->n_label_tmpls; i++)
        if (tmpl_gives(&s->label_tmpls[i], label)) return SIM_LABEL_KNOWN;
    /* A suggestion: each template at the index the label's number names. */
    size_t n = s->n_label_tmpls < SUGGEST_TMPLS_MAX ? s->n_label_tmpls : SUGGEST_TMPLS_MAX;
    char **names = calloc(n, sizeof *names);
    if (!names) return SIM_LABEL_UNKNOWN;
    uint64_t want = number_in(label);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const label_tmpl *t = &s->label_tmpls[i];
        sim_index_expr e;
        if (!t->count || first_placeholder(t, &e) == SIZE_MAX)
            names[k] = dup_str(t->text);
        else
            names[k] = expand(t, want < t->count ? want : t->count - 1);
        if (names[k]) k++;
    }
    sim_did_you_mean(label, (const char *const *)names, k, hint, hintlen);
    for (size_t i = 0; i < k; i++)
        free(names[i]);
    free(names);
    return SIM_LABEL_UNKNOWN;
}

/* ---- tracked labels ---- */

static int cmp_tracked(const void *a, const void *b)
{
    return strcmp(((const tracked_label *)a)->name, ((const tracked_label *)b)->name);
}

static tracked_label *find_tracked(const sim *s, const char *label)
{
    if (!s->n_tracked) return NULL;
    tracked_label key = {(char *)label, {0}};
    return bsearch(&key, s->tracked, s->n_tracked, sizeof key, cmp_tracked);
}

int sim_track_label(sim *s, const char *label)
{
    if (!label) return RC_EINVAL;
    if (find_tracked(s, label)) return 0;
    tracked_label *grown = realloc(s->tracked, (s->n_tracked + 1) * sizeof *grown);
    if (!grown) return RC_ENOMEM;
    s->tracked = grown;
    tracked_label *t = &s->tracked[s->n_tracked];
    memset(t, 0, sizeof *t);
    if (!(t->name = dup_str(label))) return RC_ENOMEM;
    s->n_tracked++;
    sim_watch_events(s);
    qsort(s->tracked, s->n_tracked, sizeof *s->tracked, cmp_tracked);
    return 0;
}

const sim_label_stats *sim_label_get(const sim *s, const char *label)
{
    const tracked_label *t = find_tracked(s, label);
    return t ? &t->st : NULL;
}

static void track_label(sim *s, const rc_event *ev)
{
    const char *label = rc_work_label(ev->work);
    tracked_label *t = label ? find_tracked(s, label) : NULL;
    if (!t) return;
    sim_label_stats *st = &t->st;
    double now = rc_to_seconds(ev->time);
    switch (ev->kind) {
    case RC_EV_QUEUED:
        st->queued++;
        break;
    case RC_EV_STARTED:
        if (!st->started++) st->first_start = now;
        st->last_start = now;
        break;
    case RC_EV_COMPLETED:
        if (!st->completed++) st->first_complete = now;
        st->last_complete = now;
        break;
    case RC_EV_FAILED:
        st->failed++;
        break;
    default:
        break;
    }
}

/* ---- per-service times ---- */

int sim_track_service_times(sim *s, const char *service)
{
    for (size_t i = 0; i < s->n_svcs; i++) {
        fakesvc *f = s->svcs[i];
        if (strcmp(f->name, service) != 0) continue;
        if (!f->times && !(f->times = calloc(1, sizeof *f->times))) return RC_ENOMEM;
        s->track_times = true;
        return 0;
    }
    return RC_ENOENT;
}

void sim_record_times(dvec *waits, dvec *runs, const rc_event *ev)
{
    rc_time started = rc_work_started(ev->work);
    if (started >= 0) sim_dvec_push(waits, rc_to_seconds(started - rc_work_created(ev->work)));
    sim_dvec_push(runs, ev->duration);
}

static void track_times(sim *s, const rc_event *ev)
{
    const char *service = rc_work_service(ev->work);
    for (size_t i = 0; service && i < s->n_svcs; i++) {
        fakesvc *f = s->svcs[i];
        if (f->times && strcmp(f->name, service) == 0) {
            sim_record_times(&f->times->waits, &f->times->runs, ev);
            return;
        }
    }
}

void sim_track_event(sim *s, const rc_event *ev)
{
    if (!ev->work) return;
    if (s->n_tracked) track_label(s, ev);
    if (s->track_times && (ev->kind == RC_EV_COMPLETED || ev->kind == RC_EV_FAILED))
        track_times(s, ev);
}

/* ---- the stall's facts ---- */

/* "label" or "task #id" for work id. */
static char *work_name(sim *s, rc_work_id id)
{
    const rc_work *w = rc_get(s->cue, id);
    char buf[64];
    if (w && rc_work_label(w)) return dup_str(rc_work_label(w));
    snprintf(buf, sizeof buf, "%.40s #%llu", w ? rc_work_task(w) : "work", (unsigned long long)id);
    return dup_str(buf);
}

void sim_stall_facts_capture(sim *s, const rc_diagnosis *d)
{
    sim_stall_facts *f = &s->stall_facts;
    size_t nm = d->n_missing < SIM_STALL_FACTS_MAX ? d->n_missing : SIM_STALL_FACTS_MAX;
    size_t nf = d->n_failed_roots < SIM_STALL_FACTS_MAX ? d->n_failed_roots : SIM_STALL_FACTS_MAX;
    size_t nc = d->n_cycles < SIM_STALL_FACTS_MAX ? d->n_cycles : SIM_STALL_FACTS_MAX;
    f->missing = calloc(nm + 1, sizeof *f->missing);
    f->failed = calloc(nf + 1, sizeof *f->failed);
    f->cycles = calloc(nc + 1, sizeof *f->cycles);
    if (!f->missing || !f->failed || !f->cycles) return; /* facts are a bonus */
    for (size_t i = 0; i < nm; i++)
        f->missing[i] = dup_str(d->missing[i]);
    for (size_t i = 0; i < nf; i++)
        f->failed[i] = work_name(s, d->failed_roots[i]);
    for (size_t i = 0; i < nc; i++) {
        size_t len = d->cycle_len[i] < SIM_STALL_FACTS_MAX ? d->cycle_len[i] : SIM_STALL_FACTS_MAX;
        if (!(f->cycles[i] = calloc(len + 1, sizeof **f->cycles))) break;
        for (size_t k = 0; k < len; k++)
            f->cycles[i][k] = work_name(s, d->cycles[i][k]);
    }
    f->n_missing = d->n_missing;
    f->n_failed = d->n_failed_roots;
    f->n_cycles = d->n_cycles;
}

static void free_names(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void sim_track_free(sim *s)
{
    free(s->label_tmpls);
    for (size_t i = 0; i < s->n_tracked; i++)
        free(s->tracked[i].name);
    free(s->tracked);
    for (size_t i = 0; i < s->n_svcs; i++) {
        svc_times *t = s->svcs[i]->times;
        if (!t) continue;
        free(t->waits.v);
        free(t->runs.v);
        free(t);
    }
    sim_stall_facts *f = &s->stall_facts;
    free_names(f->missing);
    free_names(f->failed);
    for (size_t i = 0; f->cycles && f->cycles[i]; i++)
        free_names(f->cycles[i]);
    free(f->cycles);
}
