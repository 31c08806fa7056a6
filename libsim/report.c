/* report.c -- what a simulation reports: the statistics it gathers, the
 * summary (text and JSON) and the stall report.  See sim.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

void sim_dvec_push(dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 1024;
        double *nv = realloc(d->v, ncap * sizeof *nv);
        if (!nv) return; /* a percentile from fewer samples beats a failed run */
        d->v = nv;
        d->cap = ncap;
    }
    d->v[d->n++] = x;
}

/* ---- the stall report ---- */

enum {
    STALL_LIST_MAX = 20,  /* lines per list in the text */
    JSON_LIST_MAX = 1000, /* entries per list in the JSON (with the total) */
};

static void json_str(FILE *out, const char *str);

static void json_str_or_null(FILE *out, const char *str)
{
    if (str)
        json_str(out, str);
    else
        fputs("null", out);
}

/* ",\"KEY\":[" ... the first JSON_LIST_MAX entries ... "],\"n_KEY\":N" */
static size_t json_list_open(FILE *out, const char *key, size_t n, bool *truncated)
{
    fprintf(out, ",\"%s\":[", key);
    if (n > JSON_LIST_MAX) *truncated = true;
    return n < JSON_LIST_MAX ? n : JSON_LIST_MAX;
}

static void json_list_close(FILE *out, const char *key, size_t n)
{
    fprintf(out, "],\"n_%s\":%zu", key, n);
}

static void json_producer(FILE *out, rc_work_id producer, rc_state state, bool skipped)
{
    if (!producer) {
        fputs(",\"producer\":null,\"producer_state\":null", out);
        return;
    }
    fprintf(out, ",\"producer\":%llu,\"producer_state\":\"%s\"", (unsigned long long)producer,
            skipped ? "skipped" : rc_state_name(state));
}

/* One pending item, as rc_debug_blocked describes it (held producers: with
 * the number of waiting items they block). */
static void json_item(FILE *out, const rc_blocked *b, const size_t *blocks)
{
    fprintf(out, "{\"id\":%llu,\"task\":", (unsigned long long)b->id);
    json_str(out, b->task);
    fputs(",\"service\":", out);
    json_str_or_null(out, b->service);
    fputs(",\"label\":", out);
    json_str_or_null(out, b->label);
    fprintf(out, ",\"reason\":\"%s\",\"detail\":", rc_block_reason_name(b->reason));
    json_str(out, b->detail);
    fputs(",\"wait_key\":", out);
    json_str_or_null(out, b->wait_key);
    if (b->has_producer_info)
        json_producer(out, b->producer, b->producer_state, b->producer_skipped);
    fprintf(out, ",\"unmet\":%zu", b->n_unmet);
    if (blocks) fprintf(out, ",\"blocks\":%zu", *blocks);
    fputc('}', out);
}

static void json_ids(FILE *out, const rc_work_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)ids[i]);
}

/* The diagnosis object: one schema for --report json and the event log's
 * "diagnosis" record (README: Machine-readable output). */
static void json_diagnosis(FILE *out, double at, const double *timeout_at, const rc_blocked *list,
                           size_t nb, const rc_diagnosis *d)
{
    bool cut = false;
    fprintf(out, "{\"at\":%.6f,\"stall_timeout_at\":", at);
    if (timeout_at)
        fprintf(out, "%.6f", *timeout_at);
    else
        fputs("null", out);
    static const char *const item_lists[2] = {"blocked", "failed_by_stall_timeout"};
    for (int l = 0; l < 2; l++) {
        size_t n = (l == 1) == (timeout_at != NULL) ? nb : 0;
        size_t shown = json_list_open(out, item_lists[l], n, &cut);
        for (size_t i = 0; i < shown; i++) {
            if (i) fputc(',', out);
            json_item(out, &list[i], NULL);
        }
        json_list_close(out, item_lists[l], n);
    }
    size_t shown = json_list_open(out, "chains", d->n_edges, &cut);
    for (size_t i = 0; i < shown; i++) {
        const rc_wait_edge *e = &d->edges[i];
        fprintf(out, "%s{\"waiter\":%llu,\"key\":", i ? "," : "", (unsigned long long)e->waiter);
        json_str(out, e->key);
        json_producer(out, e->producer, e->producer_state, e->producer_skipped);
        fputc('}', out);
    }
    json_list_close(out, "chains", d->n_edges);
    shown = json_list_open(out, "cycles", d->n_cycles, &cut);
    for (size_t i = 0; i < shown; i++) {
        size_t len = d->cycle_len[i] < JSON_LIST_MAX ? d->cycle_len[i] : JSON_LIST_MAX;
        if (len < d->cycle_len[i]) cut = true;
        fprintf(out, "%s{\"members\":[", i ? "," : "");
        json_ids(out, d->cycles[i], len);
        fprintf(out, "],\"n_members\":%zu,\"ring\":%s,\"blocks\":%zu}", d->cycle_len[i],
                d->cycle_ring[i] ? "true" : "false", d->cycle_blocks[i]);
    }
    json_list_close(out, "cycles", d->n_cycles);
    shown = json_list_open(out, "missing", d->n_missing, &cut);
    for (size_t i = 0; i < shown; i++) {
        const rc_diag_missing *m = &d->missing_info[i];
        size_t len = m->n_waiters < JSON_LIST_MAX ? m->n_waiters : JSON_LIST_MAX;
        if (len < m->n_waiters) cut = true;
        fprintf(out, "%s{\"key\":", i ? "," : "");
        json_str(out, m->key);
        fputs(",\"waiters\":[", out);
        json_ids(out, m->waiters, len);
        fprintf(out, "],\"n_waiters\":%zu,\"blocks\":%zu}", m->n_waiters, m->blocks);
    }
    json_list_close(out, "missing", d->n_missing);
    shown = json_list_open(out, "roots", d->n_roots, &cut);
    for (size_t i = 0; i < shown; i++) {
        const rc_diag_root *r = &d->roots[i];
        fprintf(out, "%s{\"id\":%llu,\"task\":", i ? "," : "", (unsigned long long)r->id);
        json_str(out, r->task);
        fputs(",\"label\":", out);
        json_str_or_null(out, r->label);
        fprintf(out,
                ",\"state\":\"%s\",\"error\":", r->skipped ? "skipped" : rc_state_name(r->state));
        json_str_or_null(out, r->error);
        fprintf(out, ",\"blocks\":%zu}", r->blocks);
    }
    json_list_close(out, "roots", d->n_roots);
    shown = json_list_open(out, "held", d->n_held, &cut);
    for (size_t i = 0; i < shown; i++) {
        fputs(i ? "," : "", out);
        json_item(out, &d->held[i].item, &d->held[i].blocks);
    }
    json_list_close(out, "held", d->n_held);
    fprintf(out, ",\"blocks_partial\":%s,\"truncated\":%s}", d->blocks_partial ? "true" : "false",
            cut ? "true" : "false");
}

void sim_capture_stall(sim *s, bool by_timeout)
{
    if (s->stalled) return;
    s->stalled = true;
    rc_stats st;
    rc_cue_stats(s->cue, &st);
    /* The stall began at the last progress; the stall timeout fires later. */
    const rc_time last = sim_last_event(s);
    double at = rc_to_seconds(by_timeout ? st.last_progress : last);
    double timeout_at = rc_to_seconds(last);
    rc_blocked *blocked = NULL;
    size_t nb = 0;
    rc_debug_blocked(s->cue, &blocked, &nb);
    rc_diagnosis d;
    bool diagnosed = rc_diagnose(s->cue, &d) == 0;
    FILE *f = open_memstream(&s->stall_text, &s->stall_len);
    if (f) {
        const char *items = nb == 1 ? "work item" : "work items";
        if (by_timeout)
            fprintf(f,
                    "Stall at t=%.3fs: %zu %s could not move; the stall timeout failed %s at "
                    "t=%.3fs\n",
                    at, nb, items, nb == 1 ? "it" : "them", timeout_at);
        else
            fprintf(f, "Stall at t=%.3fs: %zu %s blocked\n", at, nb, items);
        rc_blocked_print(s->cue, blocked, nb, STALL_LIST_MAX, f);
        if (diagnosed) rc_diagnosis_print(s->cue, &d, STALL_LIST_MAX, f);
        fclose(f);
    }
    size_t json_len;
    f = diagnosed ? open_memstream(&s->stall_json, &json_len) : NULL;
    if (f) {
        json_diagnosis(f, at, by_timeout ? &timeout_at : NULL, blocked, nb, &d);
        fclose(f);
    }
    if (diagnosed) {
        sim_stall_facts_capture(s, &d);
        snprintf(s->stall_summary, sizeof s->stall_summary,
                 "%zu %s: %zu cycles, %zu missing keys, %zu roots, %zu held", nb,
                 by_timeout ? "failed by the stall timeout" : "blocked", d.n_cycles, d.n_missing,
                 d.n_roots, d.n_held);
        rc_diagnosis_free(s->cue, &d);
    }
    rc_blocked_free(s->cue, blocked);
}

const char *sim_stall_json(const sim *s)
{
    return s->stall_json;
}

void sim_print_stall(sim *s, FILE *out, bool utf8)
{
    if (!s->stalled || !s->stall_text) return;
    fprintf(out, "%s %s", utf8 ? "\u26a0" : "!", s->stall_text);
}

/* ---- summary ---- */

/* Put the k-th smallest of v[0..n) at v[k], smaller ones before it
 * (Hoare's selection; median-of-three pivots, no randomness). */
static void select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

sim_percentiles sim_dvec_percentiles(dvec *d)
{
    sim_percentiles p = {0, 0, 0};
    if (!d->n) return p;
    /* Nearest rank; select the highest first so each later selection only
     * has to look below it. */
    const double q[3] = {0.99, 0.95, 0.50};
    double *outp[3] = {&p.p99, &p.p95, &p.p50};
    size_t bound = d->n;
    for (int i = 0; i < 3; i++) {
        size_t rank = (size_t)ceil(q[i] * (double)d->n);
        if (rank < 1) rank = 1;
        size_t k = rank - 1;
        select_kth(d->v, bound, k);
        *outp[i] = d->v[k];
        bound = k + 1;
    }
    return p;
}

void sim_build_summary(sim *s)
{
    rc_stats st;
    rc_cue_stats(s->cue, &st);
    sim_summary *sm = &s->summary;
    sm->submitted = st.submitted;
    sm->completed = st.completed;
    sm->failed = st.failed;
    sm->skipped = st.skipped;
    sm->cancelled = st.cancelled;
    sm->pending = st.pending;
    sm->running = st.running;
    sm->retries = st.retries;
    sm->invalidations = s->invalidations;
    sm->duration_s = rc_to_seconds(s->cut ? rc_loop_now(s->loop) : sim_last_event(s));
    sm->throughput_per_s = sm->duration_s > 0 ? (double)st.completed / sm->duration_s : 0;
    sm->stalled = s->stalled;
    sm->queue_wait_s = sim_dvec_percentiles(&s->waits);
    sm->run_time_s = sim_dvec_percentiles(&s->runs);
    free(s->svc_results);
    s->svc_results = calloc(s->n_svcs ? s->n_svcs : 1, sizeof *s->svc_results);
    sm->violations = 0;
    for (size_t i = 0; s->svc_results && i < s->n_svcs; i++) {
        const fakesvc *f = s->svcs[i];
        s->svc_results[i] = (sim_service_result){.name = f->name,
                                                 .concurrent = f->concurrent,
                                                 .rate_count = f->rate_count,
                                                 .rate_window_s = rc_to_seconds(f->rate_window),
                                                 .completed = f->completed,
                                                 .failed = f->failed,
                                                 .peak_in_flight = f->peak_in_flight,
                                                 .violations = f->violations,
                                                 .times_tracked = f->times != NULL};
        if (f->times) {
            s->svc_results[i].queue_wait_s = sim_dvec_percentiles(&f->times->waits);
            s->svc_results[i].run_time_s = sim_dvec_percentiles(&f->times->runs);
        }
        sm->violations += f->violations;
    }
    sm->stall = s->stalled ? &s->stall_facts : NULL;
    sm->services = s->svc_results;
    sm->n_services = s->svc_results ? s->n_svcs : 0;
}

const sim_summary *sim_get_summary(sim *s)
{
    return &s->summary;
}

static void limit_text(char *buf, size_t n, const sim_service_result *r)
{
    char conc[32] = "-", rate[48] = "";
    if (r->concurrent != RC_NO_LIMIT) snprintf(conc, sizeof conc, "%d", r->concurrent);
    if (r->rate_count) snprintf(rate, sizeof rate, ", rate %u/%gs", r->rate_count, r->rate_window_s);
    snprintf(buf, n, "limit %s%s", conc, rate);
}

void sim_print_summary(sim *s, FILE *out, bool utf8)
{
    const sim_summary *sm = &s->summary;
    fprintf(out, "Summary (seed %llu)\n", (unsigned long long)s->cfg.seed);
    fprintf(out, "  submitted %llu  completed %llu  failed %llu  skipped %llu  cancelled %llu",
            (unsigned long long)sm->submitted, (unsigned long long)sm->completed,
            (unsigned long long)sm->failed, (unsigned long long)sm->skipped,
            (unsigned long long)sm->cancelled);
    if (sm->pending || sm->running)
        fprintf(out, "  pending %llu  running %llu", (unsigned long long)sm->pending,
                (unsigned long long)sm->running);
    fprintf(out, "\n");
    if (sm->retries || sm->invalidations)
        fprintf(out, "  retries %llu  invalidations %llu\n", (unsigned long long)sm->retries,
                (unsigned long long)sm->invalidations);
    fprintf(out, "  virtual duration %.3fs  throughput %.1f/s\n", sm->duration_s,
            sm->throughput_per_s);
    fprintf(out, "  queue wait  p50 %.3fs  p95 %.3fs  p99 %.3fs\n", sm->queue_wait_s.p50,
            sm->queue_wait_s.p95, sm->queue_wait_s.p99);
    fprintf(out, "  run time    p50 %.3fs  p95 %.3fs  p99 %.3fs\n", sm->run_time_s.p50,
            sm->run_time_s.p95, sm->run_time_s.p99);
    fprintf(out, "  Services:\n");
    for (size_t i = 0; i < sm->n_services; i++) {
        const sim_service_result *r = &sm->services[i];
        char lim[96];
        limit_text(lim, sizeof lim, r);
        fprintf(out, "    %-12s completed %-8llu failed %-6llu peak %zu (%s)  violations %llu\n",
                r->name, (unsigned long long)r->completed, (unsigned long long)r->failed,
                r->peak_in_flight, lim, (unsigned long long)r->violations);
    }
    if (s->cut) fprintf(out, "  stopped at --duration %.3fs with work unfinished\n", s->cfg.duration_s);
    if (s->unfinished)
        fprintf(out, "  NOT finished: the run ended at t=%.3fs with work pending or running\n",
                rc_to_seconds(rc_loop_now(s->loop)));
    sim_print_stall(s, out, utf8);
}

static void json_str(FILE *out, const char *str)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void sim_print_report_json(sim *s, FILE *out, const char *scenario)
{
    const sim_summary *sm = &s->summary;
    fprintf(out, "{\"scenario\":");
    json_str(out, scenario ? scenario : "");
    fprintf(out,
            ",\"seed\":%llu,\"submitted\":%llu,\"completed\":%llu,\"failed\":%llu,"
            "\"skipped\":%llu,\"cancelled\":%llu,\"pending\":%llu,\"running\":%llu,"
            "\"retries\":%llu,\"invalidations\":%llu,\"duration_s\":%.6f,"
            "\"throughput_per_s\":%.6f,\"stalled\":%s,\"cut\":%s,\"violations\":%llu,",
            (unsigned long long)s->cfg.seed, (unsigned long long)sm->submitted,
            (unsigned long long)sm->completed, (unsigned long long)sm->failed,
            (unsigned long long)sm->skipped, (unsigned long long)sm->cancelled,
            (unsigned long long)sm->pending, (unsigned long long)sm->running,
            (unsigned long long)sm->retries, (unsigned long long)sm->invalidations,
            sm->duration_s, sm->throughput_per_s, sm->stalled ? "true" : "false",
            s->cut ? "true" : "false", (unsigned long long)sm->violations);
    fprintf(out,
            "\"queue_wait_s\":{\"p50\":%.6f,\"p95\":%.6f,\"p99\":%.6f},"
            "\"run_time_s\":{\"p50\":%.6f,\"p95\":%.6f,\"p99\":%.6f},\"services\":[",
            sm->queue_wait_s.p50, sm->queue_wait_s.p95, sm->queue_wait_s.p99,
            sm->run_time_s.p50, sm->run_time_s.p95, sm->run_time_s.p99);
    for (size_t i = 0; i < sm->n_services; i++) {
        const sim_service_result *r = &sm->services[i];
        fprintf(out, "%s{\"name\":", i ? "," : "");
        json_str(out, r->name);
        fprintf(out, ",\"completed\":%llu,\"failed\":%llu,\"peak_in_flight\":%zu,\"concurrent\":",
                (unsigned long long)r->completed, (unsigned long long)r->failed,
                r->peak_in_flight);
        if (r->concurrent == RC_NO_LIMIT)
            fprintf(out, "null");
        else
            fprintf(out, "%d", r->concurrent);
        if (r->rate_count)
            fprintf(out, ",\"rate\":{\"count\":%u,\"window_s\":%.6f}", r->rate_count,
                    r->rate_window_s);
        else
            fprintf(out, ",\"rate\":null");
        fprintf(out, ",\"violations\":%llu}", (unsigned long long)r->violations);
    }
    fprintf(out, "],\"diagnosis\":%s}\n", s->stall_json ? s->stall_json : "null");
}
