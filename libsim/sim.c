/* sim.c -- the simulation engine: the core on a virtual clock, fake services,
 * a fake artifact store, and the event log (an observer of the cue).  What it
 * reports is report.c's. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"
#include "textbuf.h"

/* ---- configuration ---- */

void sim_config_defaults(sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->count = 100;
    cfg->latency_ms = 100;
    cfg->jitter = 0.2;
    cfg->outlier_mult = 5;
    cfg->concurrent = 5;
}

sim_profile sim_profile_from_config(const sim_config *cfg)
{
    sim_profile p = {cfg->latency_ms, cfg->jitter, cfg->outlier_chance, cfg->outlier_mult,
                     cfg->error_rate};
    return p;
}

double sim_profile_max_latency_ms(double latency_ms, double jitter, double outlier_mult)
{
    double outlier = latency_ms * outlier_mult * 1.5, spread = latency_ms * (1 + jitter);
    return outlier > spread ? outlier : spread;
}

static int fail(sim *s, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(sim *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

const char *sim_errmsg(const sim *s)
{
    return s->errmsg;
}

const sim_config *sim_get_config(const sim *s)
{
    return &s->cfg;
}

rc_cue *sim_cue(sim *s)
{
    return s->cue;
}

rc_loop *sim_loop(sim *s)
{
    return s->loop;
}

sim_pcg32 *sim_rng(sim *s, sim_stream stream)
{
    return &s->rng[(unsigned)stream < 5 ? stream : 0];
}

/* ---- the event log ---- */

rc_time sim_last_event(const sim *s)
{
    /* Every kind but ARTIFACTS_CHANGED moves it (see on_event). */
    const uint32_t kinds = ((UINT32_C(1) << RC_EV__COUNT) - 1) & ~(UINT32_C(1) << RC_EV_ARTIFACTS_CHANGED);
    const rc_time core = rc_cue_last_event(s->cue, kinds);
    return core > s->last_event ? core : s->last_event;
}

void sim_watch_events(sim *s)
{
    /* Without a reader of every event, on_event is wanted only for the
     * times and failure counts (COMPLETED, FAILED, TIMEOUT) and the stall
     * (STALLED): the rest only moved last_event, which the cue keeps. */
    const uint32_t stats = UINT32_C(1) << RC_EV_COMPLETED | UINT32_C(1) << RC_EV_FAILED |
                           UINT32_C(1) << RC_EV_TIMEOUT | UINT32_C(1) << RC_EV_STALLED;
    s->log_observer.kinds = s->log || s->observer || s->n_tracked ? 0 : stats;
}

static void emit_at(sim *s, rc_time t, const char *event, const char *task,
                    const char *service, const char *work_id, const char *detail)
{
    s->last_event = t;
    if (!s->log && !s->observer) return;
    sim_event_record rec = {rc_to_seconds(t), event, task, service, work_id, detail};
    const char *diagnosis = strcmp(event, "diagnosis") == 0 ? s->stall_json : NULL;
    if (s->log) sim_eventlog_write_diagnosis(s->log, &rec, diagnosis);
    if (s->observer) s->observer(s, &rec, s->observer_ud);
}

/* The "diagnosis" record after a stall: the captured diagnosis as JSON. */
static void emit_diagnosis(sim *s, rc_time t)
{
    if (s->stall_json) emit_at(s, t, "diagnosis", NULL, NULL, NULL, s->stall_summary);
}

static void emit(sim *s, const char *event, const char *task, const char *service,
                 const char *work_id, const char *detail)
{
    emit_at(s, rc_loop_now(s->loop), event, task, service, work_id, detail);
}

static fakesvc *find_svc(sim *s, const char *name);

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    sim *s = ud;
    /* The store's own "invalidated" line says it, with the why. */
    if (ev->kind == RC_EV_ARTIFACTS_CHANGED) return;
    const rc_work *w = ev->work;
    s->last_event = ev->time;
    if (ev->kind == RC_EV_COMPLETED || (ev->kind == RC_EV_FAILED && w))
        sim_record_times(&s->waits, &s->runs, ev);
    sim_track_event(s, ev);
    if (ev->kind == RC_EV_STALLED) {
        /* The stall timeout is about to fail everything still pending:
         * describe it while it is all still there. */
        sim_capture_stall(s, true);
    }
    if ((ev->kind == RC_EV_TIMEOUT || ev->kind == RC_EV_FAILED) && w && !s->finishing) {
        /* Failed without its fake service failing it (a timeout): count it
         * on its service too, so the services' failures add up. */
        fakesvc *f = rc_work_service(w) ? find_svc(s, rc_work_service(w)) : NULL;
        if (f) f->failed++;
    }
    if (!s->log && !s->observer) return;
    char idbuf[24], detail[160];
    const char *id = NULL, *task = NULL, *service = NULL;
    if (w) {
        sim_textbuf t = sim_text_start(idbuf, sizeof idbuf);
        sim_text_uint(&t, rc_work_get_id(w), 1);
        id = idbuf;
        task = rc_work_task(w);
        service = rc_work_service(w);
    }
    const char *text = ev->detail;
    switch (ev->kind) {
    case RC_EV_QUEUED:
    case RC_EV_STARTED: text = w && rc_work_label(w) ? rc_work_label(w) : ""; break;
    case RC_EV_COMPLETED:
        snprintf(detail, sizeof detail, "%.0fms%s", ev->duration * 1000,
                 s->finishing && s->finishing->outlier ? " [outlier]" : "");
        text = detail;
        break;
    case RC_EV_PROGRESS:
        snprintf(detail, sizeof detail, "%.0f%%%s%.120s", ev->progress * 100,
                 ev->detail[0] ? " " : "", ev->detail);
        text = detail;
        break;
    default: break;
    }
    emit(s, rc_event_name(ev->kind), task, service, id, text);
    if (ev->kind == RC_EV_STALLED) emit_diagnosis(s, ev->time);
}

/* ---- artifacts and checks ---- */

/* A linked core key's pointer is the store's handle with its state in the
 * low bits (handles are 8-aligned): a check reads the core's entry of each
 * need and nothing behind it. */
enum { TAG_VALID = 1, TAG_EXISTS = 2, TAG_MASK = 3 };

static void *tag_ref(const sim_artref *r)
{
    return (void *)((uintptr_t)r | (sim_artref_is_valid(r) ? TAG_VALID : 0) |
                    (sim_artref_exists(r) ? TAG_EXISTS : 0));
}

static sim_artref *untag_ref(void *p)
{
    return (sim_artref *)((uintptr_t)p & ~(uintptr_t)TAG_MASK);
}

/* The store's handle of a key, through the core's entry of it: the core's
 * key table is the simulator's one index of artifact keys.  The first time
 * (the key's first write, invalidation or provision: a key nothing has
 * written is one the store does not have), the sim holds the entry for the
 * run and adds the key to the store, which cannot have it yet: every store
 * key is made here.  So an entry points at a handle exactly when the store
 * has the key, and a check that finds no handle knows the artifact was never
 * written.  NULL: out of memory. */
static sim_artref *link_key(sim *s, rc_key *k)
{
    void *linked = rc_key_ud(k);
    if (linked) return untag_ref(linked);
    if (!k || !rc_key_hold_key(s->cue, k)) return NULL;
    sim_artref *r = sim_artstore_add(s->store, rc_key_name(k));
    if (!r) {
        rc_key_release(s->cue, k);
        return NULL;
    }
    rc_key_set_ud(k, tag_ref(r));
    sim_artref_set_ud(r, k);
    return r;
}

/* The store's handle of a key named by a scenario. */
static sim_artref *ref_by_name(sim *s, const char *key)
{
    rc_key *k = rc_key_hold(s->cue, key);
    sim_artref *r = k ? link_key(s, k) : NULL;
    rc_key_release(s->cue, k);
    return r;
}

/* The store's handle of a work's i-th declared key. */
static sim_artref *key_ref(sim *s, const rc_work *w, size_t i)
{
    return link_key(s, rc_work_key(w, i));
}

static void artifact_changed(const char *key, sim_artref *ref, void *ud)
{
    sim *s = ud;
    rc_key *k = sim_artref_ud(ref);
    if (k) {
        rc_key_set_ud(k, tag_ref(ref));
        rc_artifacts_changed_key(s->cue, k);
    } else {
        rc_artifacts_changed(s->cue, key);
    }
}

static int is_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue;
    (void)ud;
    const char *const *needs;
    size_t n = rc_work_needs(w, &needs), unmet = 0;
    if (n > 1) rc_work_prefetch_keys(w); /* the entries' misses overlap */
    /* Every unmet need, so the diagnosis follows each; the first one is the
     * key the work is re-checked on.  Who would produce it the core says. */
    for (size_t i = 0; i < n; i++) {
        /* No handle: never written (neither valid nor existing). */
        const uintptr_t tag = (uintptr_t)rc_key_ud(rc_work_key(w, i));
        if (tag & TAG_VALID) continue;
        rc_check_wait_on(chk, needs[i]);
        /* "waiting on 'KEY'[ (invalid)]": every not-ready check says it,
         * as words around the key it waits on (no text is made). */
        if (!unmet++)
            rc_check_detail_around(chk, "waiting on '", needs[i],
                                   tag & TAG_EXISTS ? "' (invalid)" : "'");
    }
    return unmet == 0;
}

/* Invalidate the store's artifact r (key names it in errors), logged with
 * its why: the text is made only when something reads it. */
static int invalidate_ref(sim *s, sim_artref *r, const char *key, const char *why)
{
    int rc = sim_artstore_invalidate_ref(s->store, r);
    if (rc < 0) return fail(s, rc, "invalidate '%s': no such artifact", key);
    if (rc == 1) {
        s->invalidations++;
        if (!s->log && !s->observer && !s->shm) {
            s->last_event = rc_loop_now(s->loop); /* what emit does with no reader */
        } else {
            char detail[200];
            snprintf(detail, sizeof detail, "%s%s%s", key, why ? " by " : "", why ? why : "");
            emit(s, "invalidated", NULL, NULL, NULL, detail);
            rc_shm_mark(s->shm, "invalidated", detail);
        }
    }
    return 0;
}

int sim_invalidate(sim *s, const char *key, const char *why)
{
    sim_artref *r = ref_by_name(s, key);
    if (!r) return fail(s, RC_ENOMEM, "invalidate '%s': out of memory", key);
    return invalidate_ref(s, r, key, why);
}

int sim_invalidate_key(sim *s, rc_key *key, const char *why)
{
    if (!key) return fail(s, RC_EINVAL, "invalidate: no key");
    sim_artref *r = link_key(s, key);
    if (!r) return fail(s, RC_ENOMEM, "invalidate '%s': out of memory", rc_key_name(key));
    return invalidate_ref(s, r, rc_key_name(key), why);
}

int sim_provide(sim *s, const char *key)
{
    sim_artref *r = ref_by_name(s, key);
    int rc = r ? sim_artstore_write_ref(s->store, r, "input") : RC_ENOMEM;
    return rc ? fail(s, rc, "provide '%s': %s", key, rc_strerror(rc)) : 0;
}

/* ---- the fake service ---- */

/* Room in the start ring for one more start: it doubles up to rate_count
 * while it fills.  False if out of memory. */
static bool fake_room(fakesvc *f)
{
    if (f->starts_filled < f->starts_cap || f->starts_cap == f->rate_count) return true;
    unsigned ncap = f->starts_cap >= f->rate_count / 2 ? f->rate_count
                    : f->starts_cap ? f->starts_cap * 2
                                    : 16;
    if (ncap > f->rate_count) ncap = f->rate_count;
    rc_time *grown = realloc(f->starts, (size_t)ncap * sizeof *grown);
    if (!grown) return false;
    f->starts = grown;
    f->starts_cap = ncap;
    return true;
}

/* The remote side sees a start: count what breaks the service's limits.
 * False (nothing counted) if out of memory. */
static bool fake_start(sim *s, fakesvc *f)
{
    rc_time now = rc_loop_now(s->loop);
    if (f->rate_count && !fake_room(f)) return false;
    f->in_flight++;
    if (f->in_flight > f->peak_in_flight) f->peak_in_flight = f->in_flight;
    if (f->concurrent != RC_NO_LIMIT && f->in_flight > (size_t)f->concurrent) f->violations++;
    if (f->rate_count) {
        /* More than N starts within W: the Nth-previous start is too recent. */
        if (f->starts_filled == f->rate_count && now - f->starts[f->starts_next] < f->rate_window)
            f->violations++;
        f->starts[f->starts_next] = now;
        f->starts_next = (f->starts_next + 1) % f->rate_count;
        if (f->starts_filled < f->rate_count) f->starts_filled++;
    }
    return true;
}

static double draw_latency(sim *s, const sim_profile *p, bool *outlier)
{
    sim_pcg32 *rng = &s->rng[SIM_STREAM_LATENCY];
    /* Always the same number of draws, whatever the profile, so changing one
     * option does not shift every later draw. */
    double u_outlier = sim_pcg32_double(rng);
    double u_spread = sim_pcg32_double(rng);
    *outlier = p->outlier_chance > 0 && u_outlier < p->outlier_chance;
    if (!(p->latency_ms > 0)) return 0;
    double ms = *outlier ? p->latency_ms * p->outlier_mult * (0.8 + 0.7 * u_spread)
                         : p->latency_ms * (1 - p->jitter + 2 * p->jitter * u_spread);
    /* Saturate: the loaders refuse profiles beyond this, a library caller
     * gets the longest latency rather than an overflow. */
    return ms < SIM_LATENCY_MAX_MS ? ms : SIM_LATENCY_MAX_MS;
}

/* now + ms, saturated short of RC_TIME_NEVER (a timer there never fires). */
static rc_time time_after_ms(rc_time now, double ms)
{
    rc_time d = rc_seconds(ms / 1000.0);
    return d >= RC_TIME_NEVER - 1 - now ? RC_TIME_NEVER - 1 : now + d;
}

static void flight_done(rc_loop *loop, void *arg)
{
    (void)loop;
    flight *fl = arg;
    sim *s = fl->s;
    simtask *t = fl->task;
    const rc_work *w = rc_get(s->cue, fl->token.work_id);
    if (t->svc) {
        t->svc->in_flight--;
        if (fl->ok)
            t->svc->completed++;
        else
            t->svc->failed++;
    }
    if (fl->ok && w) {
        size_t n = rc_work_produces(w, NULL), n_needs = rc_work_needs(w, NULL);
        for (size_t i = 0; i < n; i++) {
            sim_artref *r = key_ref(s, w, n_needs + i);
            if (r && !t->producer_label) t->producer_label = sim_artstore_label(s->store, t->name);
            if (r && t->producer_label)
                sim_artstore_write_ref_label(s->store, r, t->producer_label);
            else if (r)
                sim_artstore_write_ref(s->store, r, t->name);
        }
    }
    if (t->done && w) t->done(s, w, fl->ok, t->ud);
    s->finishing = fl;
    if (fl->ok) {
        rc_complete(s->cue, fl->token, NULL);
    } else {
        char msg[200];
        snprintf(msg, sizeof msg, "%s error (simulated)", t->name);
        if (t->retry)
            rc_retry(s->cue, fl->token, msg);
        else
            rc_fail(s->cue, fl->token, msg);
    }
    s->finishing = NULL;
    fl->next_free = s->free_flights;
    s->free_flights = fl;
}

/* The time of a flight's next progress report, or -1 if there is none
 * strictly before it finishes (reports never outlive their flight). */
static rc_time next_progress_at(const flight *fl, unsigned steps)
{
    unsigned k = fl->progress_step + 1;
    if (k >= steps) return -1;
    rc_time at = time_after_ms(fl->start, fl->latency_ms * k / steps);
    rc_time end = time_after_ms(fl->start, fl->latency_ms);
    return at < end ? at : -1;
}

static void progress_tick(rc_loop *loop, void *arg)
{
    flight *fl = arg;
    sim *s = fl->s;
    unsigned steps = s->cfg.progress_steps;
    fl->progress_step++;
    char msg[48];
    snprintf(msg, sizeof msg, "step %u/%u", fl->progress_step, steps);
    rc_progress(s->cue, fl->token, (double)fl->progress_step / steps, msg);
    rc_time at = next_progress_at(fl, steps);
    if (at >= 0) rc_loop_call_at(loop, at, progress_tick, fl);
}

static void fake_handler(rc_cue *cue, const rc_work *w, rc_token token, void *ud)
{
    simtask *t = ud;
    sim *s = t->s;
    if (t->svc && !fake_start(s, t->svc)) {
        rc_fail(cue, token, "simulator out of memory");
        return;
    }
    flight *fl = s->free_flights;
    if (fl)
        s->free_flights = fl->next_free;
    else if ((fl = malloc(sizeof *fl))) {
        fl->next_all = s->all_flights;
        s->all_flights = fl;
    } else {
        if (t->svc) t->svc->in_flight--;
        rc_fail(cue, token, "simulator out of memory");
        return;
    }
    fl->s = s;
    fl->task = t;
    fl->token = token;
    fl->latency_ms = draw_latency(s, &t->profile, &fl->outlier);
    fl->ok = !(sim_pcg32_double(&s->rng[SIM_STREAM_ERRORS]) < t->profile.error_rate);
    (void)w;
    fl->start = rc_loop_now(s->loop);
    fl->progress_step = 0;
    rc_time at = time_after_ms(fl->start, fl->latency_ms);
    if (rc_loop_call_at(s->loop, at, flight_done, fl)) {
        fl->next_free = s->free_flights;
        s->free_flights = fl;
        if (t->svc) t->svc->in_flight--;
        rc_fail(cue, token, "simulator out of memory");
        return;
    }
    /* Progress reports come before the finish; a report that cannot be
     * scheduled is only missing from the log. */
    rc_time first = s->cfg.progress_steps ? next_progress_at(fl, s->cfg.progress_steps) : -1;
    if (first >= 0) rc_loop_call_at(s->loop, first, progress_tick, fl);
}

/* ---- building ---- */

int sim_new(sim **out, const sim_config *cfg)
{
    *out = NULL;
    sim *s = calloc(1, sizeof *s);
    if (!s) return RC_ENOMEM;
    s->cfg = *cfg;
    for (unsigned i = 1; i < 5; i++) sim_pcg32_init(&s->rng[i], cfg->seed, i);
    int rc = rc_loop_new(&s->loop, &(rc_loop_opts){.clock = RC_CLOCK_VIRTUAL});
    if (!rc)
        rc = rc_cue_new(&s->cue, s->loop,
                        &(rc_cue_opts){.stall_timeout = cfg->stall_timeout_s,
                                       .no_auto_notify = true,
                                       /* is_ready reads the declared needs only,
                                        * and every change is announced */
                                       .recheck_declared_only = true,
                                       .forget_non_producers = !cfg->keep_finished,
                                       .forget_completed = !cfg->keep_finished});
    if (!rc) rc = sim_artstore_new(&s->store, NULL);
    if (rc) {
        sim_free(s);
        return rc;
    }
    sim_artstore_set_listener(s->store, artifact_changed, s);
    rc_cue_set_hooks(s->cue, &(rc_hooks){.is_ready = is_ready, .ud = s});
    s->log_observer = (rc_observer){.on_event = on_event, .ud = s};
    sim_watch_events(s);
    rc_cue_observe(s->cue, &s->log_observer);
    *out = s;
    return 0;
}

static void free_initial(initial_work *iw)
{
    free(iw->label);
    for (size_t k = 0; k < iw->n_needs + iw->n_produces; k++) free(iw->keys[k]);
    free(iw->keys);
}

int sim_own(sim *s, void *p, void (*free_fn)(void *p))
{
    struct owned *grown = realloc(s->owned, (s->n_owned + 1) * sizeof *grown);
    if (!grown) {
        free_fn(p);
        return fail(s, RC_ENOMEM, "out of memory");
    }
    s->owned = grown;
    s->owned[s->n_owned++] = (struct owned){p, free_fn};
    return 0;
}

void sim_free(sim *s)
{
    if (!s) return;
    for (size_t i = s->n_owned; i-- > 0;) s->owned[i].free_fn(s->owned[i].p);
    free(s->owned);
    if (s->loop) rc_timer_stop(s->loop, &s->submit_timer);
    rc_cue_free(s->cue);
    rc_loop_free(s->loop);
    sim_artstore_free(s->store);
    sim_track_free(s);
    for (size_t i = 0; i < s->n_svcs; i++) {
        free(s->svcs[i]->name);
        free(s->svcs[i]->starts);
        free(s->svcs[i]);
    }
    for (size_t i = 0; i < s->n_tasks; i++) {
        free(s->tasks[i]->name);
        free(s->tasks[i]);
    }
    for (size_t i = 0; i < s->n_initial; i++) free_initial(&s->initial[i]);
    free(s->initial);
    free(s->svcs);
    free(s->tasks);
    /* In-flight ones too: a run cut by --duration leaves some on timers. */
    for (flight *f = s->all_flights; f;) {
        flight *next = f->next_all;
        free(f);
        f = next;
    }
    for (sim_call *c = s->calls; c;) {
        sim_call *next = c->next;
        free(c);
        c = next;
    }
    free(s->waits.v);
    free(s->runs.v);
    free(s->stall_text);
    free(s->stall_json);
    free(s->svc_results);
    free(s);
}

static fakesvc *find_svc(sim *s, const char *name)
{
    for (size_t i = 0; i < s->n_svcs; i++)
        if (strcmp(s->svcs[i]->name, name) == 0) return s->svcs[i];
    return NULL;
}

static simtask *find_task(sim *s, const char *name)
{
    for (size_t i = 0; i < s->n_tasks; i++)
        if (strcmp(s->tasks[i]->name, name) == 0) return s->tasks[i];
    return NULL;
}

int sim_add_service(sim *s, const char *name, int concurrent, unsigned rate_count,
                    double rate_window_s)
{
    int rc = rc_service_limits(s->cue, name, rate_count, rate_window_s, concurrent);
    if (rc) return fail(s, rc, "%s", rc_cue_errmsg(s->cue));
    fakesvc *f = calloc(1, sizeof *f);
    fakesvc **grown = realloc(s->svcs, (s->n_svcs + 1) * sizeof *grown);
    if (grown) s->svcs = grown;
    if (!f || !grown || !(f->name = strdup(name))) {
        if (f) free(f->name);
        free(f);
        return fail(s, RC_ENOMEM, "service '%s': out of memory", name);
    }
    f->concurrent = concurrent;
    f->rate_count = rate_count;
    f->rate_window = rate_count ? rc_seconds(rate_window_s) : 0;
    s->svcs[s->n_svcs++] = f;
    return 0;
}

int sim_add_task(sim *s, const char *name, const char *service, const sim_profile *profile,
                 sim_done_fn done, void *ud)
{
    fakesvc *f = NULL;
    if (service && !(f = find_svc(s, service)))
        return fail(s, RC_ENOENT, "task '%s': unknown service '%s'", name, service);
    simtask *t = calloc(1, sizeof *t);
    simtask **grown = realloc(s->tasks, (s->n_tasks + 1) * sizeof *grown);
    if (grown) s->tasks = grown;
    if (!t || !grown || !(t->name = strdup(name))) {
        free(t);
        return fail(s, RC_ENOMEM, "task '%s': out of memory", name);
    }
    int rc = rc_task(s->cue, name, service, fake_handler, t);
    if (rc) {
        free(t->name);
        free(t);
        return fail(s, rc, "%s", rc_cue_errmsg(s->cue));
    }
    t->s = s;
    t->svc = f;
    t->profile = *profile;
    t->done = done;
    t->ud = ud;
    s->tasks[s->n_tasks++] = t;
    return 0;
}

int sim_add_initial(sim *s, const sim_work_spec *spec)
{
    simtask *t = find_task(s, spec->task);
    if (!t) return fail(s, RC_ENOENT, "work: unknown task '%s'", spec->task);
    if (s->n_initial == s->initial_cap) {
        size_t ncap = s->initial_cap ? s->initial_cap * 2 : 64;
        initial_work *grown = realloc(s->initial, ncap * sizeof *grown);
        if (!grown) return fail(s, RC_ENOMEM, "work: out of memory");
        s->initial = grown;
        s->initial_cap = ncap;
    }
    initial_work iw = {t, NULL, NULL, spec->n_needs, spec->n_produces};
    size_t nk = spec->n_needs + spec->n_produces;
    bool ok = (!spec->label || (iw.label = strdup(spec->label))) &&
              (!nk || (iw.keys = calloc(nk, sizeof *iw.keys)));
    for (size_t k = 0; ok && k < nk; k++) {
        const char *key = k < spec->n_needs ? spec->needs[k] : spec->produces[k - spec->n_needs];
        ok = (iw.keys[k] = strdup(key)) != NULL;
    }
    if (!ok) {
        free_initial(&iw);
        return fail(s, RC_ENOMEM, "work: out of memory");
    }
    s->initial[s->n_initial++] = iw;
    return 0;
}

void sim_set_workload(sim *s, uint64_t count, sim_workload_fn fn, void *ud)
{
    s->workload_count = count;
    s->workload_fn = fn;
    s->workload_ud = ud;
}

void sim_reserve_keys(sim *s, uint64_t per_item, uint64_t extra)
{
    s->keys_per_item = per_item;
    s->keys_extra = extra;
}

int sim_submit_delayed(sim *s, const sim_work_spec *spec, double delay_s, double not_before_s,
                       rc_work_id *out_id)
{
    rc_submit_opts o = {.needs = spec->needs,
                        .n_needs = spec->n_needs,
                        .produces = spec->produces,
                        .n_produces = spec->n_produces,
                        .label = spec->label,
                        .keys = spec->keys,
                        .delay_s = delay_s,
                        .not_before = not_before_s > 0 ? rc_seconds(not_before_s) : 0};
    rc_work_id id;
    int rc = rc_submit(s->cue, spec->task, &o, &id);
    if (rc) return fail(s, rc, "%s", rc_cue_errmsg(s->cue));
    if (out_id) *out_id = id;
    return 0;
}

int sim_submit(sim *s, const sim_work_spec *spec, rc_work_id *out_id)
{
    return sim_submit_delayed(s, spec, 0, 0, out_id);
}

int sim_task_retry(sim *s, const char *task, const rc_retry_policy *policy)
{
    simtask *t = find_task(s, task);
    if (!t) return fail(s, RC_ENOENT, "retry: unknown task '%s'", task);
    int rc = rc_task_retry(s->cue, task, policy);
    if (rc) return fail(s, rc, "%s", rc_cue_errmsg(s->cue));
    t->retry = true;
    return 0;
}

int sim_cancel_label(sim *s, const char *label)
{
    rc_stats st;
    rc_cue_stats(s->cue, &st);
    if (!st.pending) return 0;
    const rc_work **list = malloc(st.pending * sizeof *list);
    rc_work_id *ids = malloc(st.pending * sizeof *ids);
    if (!list || !ids) {
        free(list);
        free(ids);
        return fail(s, RC_ENOMEM, "cancel: out of memory");
    }
    /* The ids first: a cancel may call back into the sim. */
    size_t n = rc_list(s->cue, RC_PENDING, NULL, list, st.pending), k = 0;
    for (size_t i = 0; i < n; i++)
        if (rc_work_label(list[i]) && strcmp(rc_work_label(list[i]), label) == 0)
            ids[k++] = rc_work_get_id(list[i]);
    int cancelled = 0;
    for (size_t i = 0; i < k; i++)
        if (rc_cancel(s->cue, ids[i]) == 0) cancelled++;
    free(list);
    free(ids);
    return cancelled;
}

static void call_fire(rc_loop *loop, void *arg)
{
    (void)loop;
    sim_call *c = arg;
    c->fn(c->s, c->ud);
}

int sim_at(sim *s, double t_s, void (*fn)(sim *s, void *ud), void *ud)
{
    sim_call *c = calloc(1, sizeof *c);
    if (!c) return fail(s, RC_ENOMEM, "out of memory");
    *c = (sim_call){s, fn, ud, s->calls};
    s->calls = c;
    int rc = rc_loop_call_at(s->loop, rc_seconds(t_s), call_fire, c);
    return rc ? fail(s, rc, "schedule at t=%gs: %s", t_s, rc_strerror(rc)) : 0;
}

int sim_publish(sim *s, const char *name, const char *title)
{
    char err[256];
    int rc = rc_shm_publish(&s->shm, s->cue, name, title, err, sizeof err);
    if (rc) return fail(s, rc, "%s", err);
    return 0;
}

rc_shm_writer *sim_shm(sim *s)
{
    return s->shm;
}

void sim_set_log(sim *s, sim_eventlog *log)
{
    s->log = log;
    sim_watch_events(s);
}

void sim_set_observer(sim *s, sim_observer_fn fn, void *ud)
{
    s->observer = fn;
    s->observer_ud = ud;
    sim_watch_events(s);
}

/* ---- running ---- */

static uint64_t initial_total(const sim *s)
{
    return s->n_initial + s->workload_count;
}

/* Submit initial item i (the listed ones first, then the generated ones). */
static int submit_initial(sim *s, uint64_t i)
{
    if (i < s->n_initial) {
        const initial_work *iw = &s->initial[i];
        sim_work_spec spec = {iw->task->name,
                              iw->label,
                              (const char *const *)iw->keys,
                              iw->n_needs,
                              (const char *const *)iw->keys + iw->n_needs,
                              iw->n_produces,
                              NULL};
        return sim_submit(s, &spec, NULL);
    }
    return s->workload_fn(s, i - s->n_initial, s->workload_ud);
}

static void submit_tick(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    sim *s = arg;
    if (s->next_initial >= initial_total(s)) return;
    int rc = submit_initial(s, s->next_initial++);
    if (rc) {
        s->setup_error = rc;
        rc_loop_stop(loop);
        return;
    }
    if (s->next_initial < initial_total(s)) {
        rc_time at = rc_seconds((double)s->next_initial / s->cfg.submit_rate);
        rc_timer_start(loop, &s->submit_timer, at);
    }
}

/* sim_reserve_keys's room, at the start of a run that submits everything
 * at t=0: items * per_item + extra keys, at most 2^26. */
static void reserve_keys(sim *s)
{
    const uint64_t max = UINT64_C(1) << 26, per = s->keys_per_item;
    const uint64_t items = initial_total(s);
    uint64_t n = per && items > max / per ? max : items * per;
    n = s->keys_extra > max - n ? max : n + s->keys_extra;
    /* A hint: out of memory leaves the table to grow as it would have. */
    if (n) (void)rc_key_reserve(s->cue, (size_t)n);
}

int sim_start(sim *s)
{
    if (s->started) return RC_ESTATE;
    s->started = true;
    if (s->cfg.submit_rate > 0) {
        rc_timer_init(&s->submit_timer, submit_tick, s);
        if (initial_total(s)) rc_timer_start(s->loop, &s->submit_timer, 0);
        return 0;
    }
    reserve_keys(s);
    for (uint64_t i = 0; i < initial_total(s); i++) {
        int rc = submit_initial(s, i);
        if (rc) return rc;
    }
    s->next_initial = initial_total(s);
    return 0;
}

int sim_run_until(sim *s, rc_time t)
{
    if (s->cfg.duration_s > 0) {
        rc_time end = rc_seconds(s->cfg.duration_s);
        if (t > end) t = end;
    }
    int alive = t == RC_TIME_NEVER ? rc_loop_run(s->loop, RC_RUN_DEFAULT)
                                   : rc_loop_run_until(s->loop, t);
    if (s->setup_error) return s->setup_error;
    if (alive <= 0) return alive;
    if (s->cfg.duration_s > 0 && rc_loop_now(s->loop) >= rc_seconds(s->cfg.duration_s)) return 0;
    return 1;
}

int sim_finish(sim *s)
{
    rc_stats st;
    rc_cue_stats(s->cue, &st);
    bool all_submitted = s->next_initial >= initial_total(s);
    bool nothing_can_happen = st.running == 0 && rc_loop_next_timer(s->loop) == RC_TIME_NEVER;
    if (st.pending > 0 && nothing_can_happen && all_submitted && !s->stalled) {
        /* Work pending, nothing running, no timer that could change that:
         * on the virtual clock this is an exact stall.  It happened at the
         * last event, even if --duration then moved the clock on. */
        sim_capture_stall(s, false);
        char detail[96];
        snprintf(detail, sizeof detail, "%zu pending, nothing can unblock them", st.pending);
        const rc_time last = sim_last_event(s);
        emit_at(s, last, "stalled", NULL, NULL, NULL, detail);
        emit_diagnosis(s, last);
    } else if (s->cfg.duration_s > 0 &&
               rc_loop_now(s->loop) >= rc_seconds(s->cfg.duration_s) &&
               (st.pending > 0 || st.running > 0 || !all_submitted)) {
        s->cut = true;
    } else if (!s->stalled && (st.pending > 0 || st.running > 0 || !all_submitted)) {
        /* Never "finished" with work left: say it was not. */
        s->unfinished = true;
    }
    sim_build_summary(s);
    if (s->log) sim_eventlog_flush(s->log);
    rc_shm_set_flags(s->shm, RC_SHM_FINISHED | (s->stalled ? RC_SHM_STALLED : 0), 0);
    return s->stalled ? SIM_STALLED : s->cut ? SIM_CUT : s->unfinished ? SIM_UNFINISHED : SIM_DONE;
}

int sim_run(sim *s)
{
    int rc = sim_start(s);
    if (rc) return rc;
    rc = sim_run_until(s, RC_TIME_NEVER);
    if (rc < 0) return rc;
    return sim_finish(s);
}

