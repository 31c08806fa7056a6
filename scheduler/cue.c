/* cue.c -- the cue object: options, registries of services and tasks,
 * submitting, finding, listing and cancelling work, and the accessors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "loop.h"
#include "results.h"
#include "timeouts.h"
#include "work.h"

static int fail(rc_cue *cue, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(rc_cue *cue, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cue->errmsg, sizeof cue->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static int check_seconds(rc_cue *cue, const char *what, double v)
{
    if (isnan(v) || v < 0 || v > 1e9)
        return fail(cue, RC_EINVAL, "%s must be between 0 and 1e9 seconds (got %g)", what, v);
    return 0;
}

static void svc_init_free(rc_cue *cue, rc_svc *s)
{
    memset(s, 0, sizeof *s);
    s->concurrent = RC_NO_LIMIT;
    s->cue = cue;
    s->index = SIZE_MAX;
    rc_timer_init(&s->rate_timer, rc_rate_timer_fire, s);
}

int rc_cue_new(rc_cue **out, rc_loop *loop, const rc_cue_opts *opts)
{
    if (!out) return RC_EINVAL;
    *out = NULL;
    if (!loop) return RC_EINVAL;
    rc_cue_opts defaults = {0};
    if (!opts) opts = &defaults;
    rc_alloc a = rc_alloc_from(opts->alloc);
    rc_cue *cue = rc_calloc(&a, 1, sizeof *cue);
    if (!cue) return RC_ENOMEM;
    cue->alloc = a;
    cue->loop = loop;
    cue->opts = *opts;
    cue->opts.alloc = NULL;
    const char *names[] = {"pending_warn_after", "pending_timeout", "stall_warn_after",
                           "stall_timeout", "poll_interval", "priority_refresh"};
    const double vals[] = {opts->pending_warn_after, opts->pending_timeout,
                           opts->stall_warn_after, opts->stall_timeout,
                           opts->poll_interval, opts->priority_refresh};
    for (size_t i = 0; i < 6; i++) {
        if (check_seconds(cue, names[i], vals[i])) {
            /* No cue to hold the message: the loop holds it. */
            rc_loop_set_error(loop, "rc_cue_new: %s", cue->errmsg);
            rc_free(&a, cue);
            return RC_EINVAL;
        }
    }
    rc_defer_init(&cue->pass, rc_pass_cb, cue);
    rc_observe_init(cue);
    svc_init_free(cue, &cue->free_svc);
    rc_dlist_init(&cue->dirty);
    rc_dlist_init(&cue->waiting_any);
    rc_dlist_init(&cue->finished);
    rc_dlist_init(&cue->forgettable);
    cue->next_id = 1;
    cue->stall_idle = true;
    cue->stats.last_progress = rc_loop_now(loop);
    rc_timeouts_init(cue);
    *out = cue;
    return 0;
}

static void svc_fini(rc_cue *cue, rc_svc *s)
{
    rc_timer_stop(cue->loop, &s->rate_timer);
    rc_rate_free(&cue->alloc, &s->rate);
    rc_runq_free(&cue->alloc, &s->q);
    rc_free(&cue->alloc, s->name);
}

void rc_cue_free(rc_cue *cue)
{
    if (!cue) return;
    rc_alloc a = cue->alloc;
    rc_observe_fini(cue);
    rc_timeouts_fini(cue);
    rc_work *w;
    cue->tearing_down = true;
    RC_FOR_EACH_WORK(cue, w) rc_work_release(cue, w);
    if (cue->running_refs) rc_loop_unref(cue->loop);
    rc_defer_cancel(cue->loop, &cue->pass);
    for (size_t i = 0; i < cue->n_services; i++) {
        svc_fini(cue, cue->services[i]);
        rc_free(&a, cue->services[i]);
    }
    svc_fini(cue, &cue->free_svc);
    for (size_t i = 0; i < cue->n_tasks; i++) {
        rc_free(&a, cue->tasks[i]->name);
        rc_free(&a, cue->tasks[i]);
    }
    rc_free(&a, cue->services);
    rc_free(&a, cue->tasks);
    rc_results_fini(cue);
    rc_ghosts_fini(cue);
    rc_keytab_fini(&cue->keys, &cue->small, &a);
    rc_small_fini(&cue->small, &a);
    rc_detail_frames_free(cue);
    rc_strmap_free(&a, &cue->services_by_name);
    rc_strmap_free(&a, &cue->tasks_by_name);
    rc_idtable_free(&a, &cue->works);
    rc_work_slabs_free(cue);
    cJSON_Delete(cue->empty_params);
    rc_free(&a, cue);
}

rc_loop *rc_cue_loop(const rc_cue *cue)
{
    return cue ? cue->loop : NULL;
}

void rc_cue_pause(rc_cue *cue, bool paused)
{
    if (!cue || cue->paused == paused) return;
    cue->paused = paused;
    /* A pause stops the stall clock; a resume starts it afresh, as if work
     * had just arrived (a warning given before the pause may come again). */
    if (!paused) cue->stall_warned = false;
    rc_stall_arm(cue);
    if (!paused) {
        for (size_t i = 0; i < cue->n_services; i++) rc_mark_runnable(cue, cue->services[i]);
        rc_mark_runnable(cue, &cue->free_svc);
        rc_request_pass(cue);
    }
    rc_observe_changed(cue);
}

bool rc_cue_paused(const rc_cue *cue)
{
    return cue && cue->paused;
}

void rc_cue_set_hooks(rc_cue *cue, const rc_hooks *hooks)
{
    if (!cue) return;
    bool had_priority = cue->hooks.priority != NULL;
    if (hooks)
        cue->hooks = *hooks;
    else
        memset(&cue->hooks, 0, sizeof cue->hooks);
    /* Checks may answer differently now: look at waiting work again. */
    rc_recheck_waiting(cue, NULL);
    if (had_priority != (cue->hooks.priority != NULL)) rc_refresh_arm(cue);
}

/* ---- names ---- */

static int check_name(rc_cue *cue, const char *what, const char *name)
{
    if (!name || !*name) return fail(cue, RC_EINVAL, "%s name must not be empty", what);
    size_t n = strlen(name);
    if (n > 200) return fail(cue, RC_EINVAL, "%s name is longer than 200 bytes", what);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            return fail(cue, RC_EINVAL, "%s name contains a control character", what);
    return 0;
}

/* ---- services ---- */

int rc_service_limits(rc_cue *cue, const char *name, unsigned count, double window_s,
                      int concurrent)
{
    if (!cue) return RC_EINVAL;
    int rc = check_name(cue, "service", name);
    if (rc) return rc;
    if (concurrent != RC_NO_LIMIT && concurrent < 1)
        return fail(cue, RC_EINVAL,
                    "service '%s': concurrent must be at least 1 (got %d); use RC_NO_LIMIT for "
                    "no limit",
                    name, concurrent);
    if (count > RC_RATE_MAX_COUNT)
        return fail(cue, RC_EINVAL, "service '%s': rate count %u is above 10000000", name, count);
    if (count && (isnan(window_s) || window_s <= 0 || window_s > 1e9 || rc_seconds(window_s) <= 0))
        return fail(cue, RC_EINVAL,
                    "service '%s': rate window must be from 1 ns to 1e9 seconds (got %g s)", name,
                    window_s);
    if (rc_strmap_get(&cue->services_by_name, name))
        return fail(cue, RC_EEXIST, "service '%s' is already registered", name);

    const rc_alloc *a = &cue->alloc;
    rc_svc *s = rc_malloc(a, sizeof *s);
    if (!s) goto oom;
    svc_init_free(cue, s);
    s->concurrent = concurrent;
    s->name = rc_strdup(a, name);
    if (!s->name) goto oom_svc;
    if (rc_rate_init(a, &s->rate, count, count ? rc_seconds(window_s) : 0)) goto oom_svc;
    if (rc_grow(a, (void **)&cue->services, &cue->services_cap, cue->n_services + 1,
                sizeof *cue->services))
        goto oom_svc;
    if (rc_strmap_put(a, &cue->services_by_name, name, s, NULL)) goto oom_svc;
    s->index = cue->n_services;
    cue->services[cue->n_services++] = s;
    return 0;
oom_svc:
    rc_rate_free(a, &s->rate);
    rc_free(a, s->name);
    rc_free(a, s);
oom:
    return fail(cue, RC_ENOMEM, "service '%s': out of memory", name);
}

int rc_service(rc_cue *cue, const char *name, const char *rate, int concurrent)
{
    if (!cue) return RC_EINVAL;
    unsigned count = 0;
    double window = 0;
    if (rate) {
        char err[200];
        if (rc_parse_rate(rate, &count, &window, err, sizeof err))
            return fail(cue, RC_EINVAL, "service '%s': %s", name ? name : "", err);
    }
    return rc_service_limits(cue, name, count, window, concurrent);
}

size_t rc_service_count(const rc_cue *cue)
{
    return cue ? cue->n_services : 0;
}

int rc_service_get(const rc_cue *cue, size_t index, rc_service_info *out)
{
    if (!cue || !out) return RC_EINVAL;
    if (index >= cue->n_services) return RC_ENOENT;
    const rc_svc *s = cue->services[index];
    rc_time now = rc_loop_now(cue->loop);
    out->name = s->name;
    out->concurrent = s->concurrent;
    out->rate_count = s->rate.count;
    out->rate_window = s->rate.count ? rc_ns_to_s(s->rate.window) : 0;
    out->running = s->running;
    out->peak_running = s->peak_running;
    out->queued = rc_runq_len(&s->q);
    out->waiting = s->waiting;
    out->starts_in_window = s->rate.count ? rc_rate_in_window(&s->rate, now) : 0;
    out->started = s->started;
    out->completed = s->completed;
    out->failed = s->failed;
    rc_time next = rc_rate_next_allowed(&s->rate);
    out->next_start = next == INT64_MIN ? now : next;
    return 0;
}

/* ---- tasks ---- */

int rc_task(rc_cue *cue, const char *name, const char *service, rc_handler_fn handler, void *ud)
{
    if (!cue) return RC_EINVAL;
    int rc = check_name(cue, "task", name);
    if (rc) return rc;
    if (rc_strmap_get(&cue->tasks_by_name, name))
        return fail(cue, RC_EEXIST, "task '%s' is already registered", name);
    rc_svc *svc = &cue->free_svc;
    if (service) {
        svc = rc_strmap_get(&cue->services_by_name, service);
        if (!svc)
            return fail(cue, RC_ENOENT, "task '%s': unknown service '%s' (register it first)",
                        name, service);
    }
    const rc_alloc *a = &cue->alloc;
    rc_taskdef *t = rc_calloc(a, 1, sizeof *t);
    if (!t) goto oom;
    t->name = rc_strdup(a, name);
    if (!t->name) goto oom_task;
    t->svc = svc;
    t->handler = handler;
    t->ud = ud;
    rc_dlist_init(&t->orphans);
    if (rc_grow(a, (void **)&cue->tasks, &cue->tasks_cap, cue->n_tasks + 1, sizeof *cue->tasks))
        goto oom_task;
    if (rc_strmap_put(a, &cue->tasks_by_name, name, t, NULL)) goto oom_task;
    cue->tasks[cue->n_tasks++] = t;
    return 0;
oom_task:
    rc_free(a, t->name);
    rc_free(a, t);
oom:
    return fail(cue, RC_ENOMEM, "task '%s': out of memory", name);
}

int rc_task_set_handler(rc_cue *cue, const char *name, rc_handler_fn handler, void *ud)
{
    if (!cue) return RC_EINVAL;
    if (!name) return fail(cue, RC_EINVAL, "set_handler: the task name is NULL");
    rc_taskdef *t = rc_strmap_get(&cue->tasks_by_name, name);
    if (!t) return fail(cue, RC_ENOENT, "unknown task '%s'", name);
    t->handler = handler;
    t->ud = ud;
    if (handler) {
        while (t->orphans.len) {
            rc_work *w = RC_CONTAINER(rc_dlist_first(&t->orphans), rc_work, link);
            rc_make_dirty(cue, w);
        }
    }
    return 0;
}

int rc_task_retry(rc_cue *cue, const char *name, const rc_retry_policy *p)
{
    if (!cue) return RC_EINVAL;
    if (!name) return fail(cue, RC_EINVAL, "task_retry: the task name is NULL");
    rc_taskdef *t = rc_strmap_get(&cue->tasks_by_name, name);
    if (!t) return fail(cue, RC_ENOENT, "unknown task '%s'", name);
    if (!p) {
        t->has_retry = false;
        return 0;
    }
    if (p->max_attempts < 1 || p->max_attempts > RC_MAX_ATTEMPTS)
        return fail(cue, RC_EINVAL, "task '%s': max_attempts must be from 1 to %u (got %u)", name,
                    (unsigned)RC_MAX_ATTEMPTS, p->max_attempts);
    if (isnan(p->base_s) || p->base_s < 0 || p->base_s > 1e9 || isnan(p->max_s) ||
        p->max_s < 0 || p->max_s > 1e9)
        return fail(cue, RC_EINVAL, "task '%s': backoff seconds must be between 0 and 1e9",
                    name);
    if (isnan(p->jitter) || p->jitter < 0 || p->jitter > 1)
        return fail(cue, RC_EINVAL, "task '%s': jitter must be between 0 and 1 (got %g)", name,
                    p->jitter);
    t->retry = *p;
    t->has_retry = true;
    t->rng = p->seed;
    return 0;
}

/* ---- submit ---- */

static int copy_keys(const rc_alloc *a, char ***dst, size_t *ndst, const char *const *src,
                     size_t n)
{
    if (!n) return 0;
    *dst = rc_calloc(a, n, sizeof **dst);
    if (!*dst) return RC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*dst)[i] = rc_strdup(a, src[i]);
        if (!(*dst)[i]) return RC_ENOMEM;
        *ndst = i + 1;
    }
    return 0;
}

/* The first keys of a submit that come as strings, hashed before the work is
 * made: their table slots are asked for then, so the cache misses of
 * looking them up overlap the making of the work. */
enum { PREHASH_KEYS = 8 };
typedef struct prehash {
    uint64_t h[PREHASH_KEYS]; /* 0: not hashed (given as an entry, or past the first 8) */
    size_t len[PREHASH_KEYS];
} prehash;

static const char *declared_key(const rc_submit_opts *opts, size_t k)
{
    return k < opts->n_needs ? opts->needs[k] : opts->produces[k - opts->n_needs];
}

static void prehash_keys(rc_cue *cue, const rc_submit_opts *opts, prehash *pre)
{
    const size_t n = opts->n_needs + opts->n_produces;
    for (size_t k = 0; k < n && k < PREHASH_KEYS; k++) {
        pre->h[k] = 0;
        if (opts->keys && opts->keys[k]) continue;
        pre->h[k] = rc_keytab_hash(declared_key(opts, k), &pre->len[k]);
        rc_keytab_prefetch(&cue->keys, pre->h[k]);
    }
}

/* The declared needs and produces, resolved to the cue's key entries once:
 * w->needs is a block of pointers to the entries' text (NULL when there are
 * no keys), the produces after the needs (rc_declared_produces), and the
 * work holds a reference on each entry.  0 or RC_ENOMEM (nothing held). */
static int copy_declared(rc_cue *cue, rc_work *w, const rc_submit_opts *opts,
                         const prehash *pre)
{
    const size_t n = opts->n_needs + opts->n_produces;
    if (!n) return 0;
    const rc_alloc *a = &cue->alloc;
    char **keys = rc_small_alloc(&cue->small, a, n * sizeof *keys);
    if (!keys) return RC_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        rc_keyent *e = opts->keys && opts->keys[k] ? (rc_keyent *)opts->keys[k]
                       : k < PREHASH_KEYS
                           ? rc_keytab_intern_hashed(&cue->keys, &cue->small, a,
                                                     declared_key(opts, k), pre->len[k],
                                                     pre->h[k])
                           : rc_keytab_intern(&cue->keys, &cue->small, a, declared_key(opts, k));
        if (!e || e->refs == UINT32_MAX) {
            while (k-- > 0) rc_keytab_unref(&cue->keys, &cue->small, a, RC_KEYENT_OF(keys[k]));
            rc_small_free(&cue->small, a, keys, n * sizeof *keys);
            return RC_ENOMEM;
        }
        e->refs++;
        keys[k] = e->text;
    }
    w->needs = keys;
    w->n_needs = (uint16_t)opts->n_needs;
    w->n_produces = (uint16_t)opts->n_produces;
    return 0;
}

/* The label in the work when it is short, else a copy.  0 or RC_ENOMEM. */
static int copy_label(rc_cue *cue, rc_work *w, const char *label)
{
    const size_t n = strlen(label) + 1;
    char *copy =
        n <= sizeof w->label_inline ? w->label_inline : rc_small_alloc(&cue->small, &cue->alloc, n);
    if (!copy) return RC_ENOMEM;
    memcpy(copy, label, n);
    if (copy == w->label_inline) {
        w->label_kind = RC_LABEL_IN_WORK;
    } else {
        w->label_heap = copy;
        w->label_kind = RC_LABEL_ALLOCATED;
    }
    return 0;
}

/* The result-artifact fields, for work that has any.  0 or RC_ENOMEM; on
 * error what was copied is w's to release. */
static int copy_flow(rc_cue *cue, rc_work *w, const rc_submit_opts *opts)
{
    if (!opts->n_inputs && !opts->result_key && !opts->input_param) return 0;
    const rc_alloc *a = &cue->alloc;
    rc_work_cold *c = rc_work_cold_of(cue, w);
    if (!c) return RC_ENOMEM;
    rc_work_flow *f = c->flow = rc_calloc(a, 1, sizeof *f);
    if (!f) return RC_ENOMEM;
    w->has_flow = true;
    f->input_list = opts->input_list;
    if (copy_keys(a, &f->inputs, &f->n_inputs, opts->inputs, opts->n_inputs) ||
        (opts->result_key && !(f->result_key = rc_strdup(a, opts->result_key))) ||
        (opts->input_param && !(f->input_param = rc_strdup(a, opts->input_param))))
        return RC_ENOMEM;
    return 0;
}

/* The task named name, the last few found tried first; NULL: none. */
static rc_taskdef *recent_task(rc_cue *cue, const char *name)
{
    enum { N = sizeof cue->recent_tasks / sizeof *cue->recent_tasks };
    for (unsigned i = 0; i < N; i++) {
        rc_taskdef *t = cue->recent_tasks[i];
        if (t && t->name[0] == name[0] && strcmp(t->name, name) == 0) return t;
    }
    rc_taskdef *t = rc_strmap_get(&cue->tasks_by_name, name);
    if (t) {
        cue->recent_tasks[cue->recent_next] = t;
        cue->recent_next = (cue->recent_next + 1) % N;
    }
    return t;
}

int rc_submit(rc_cue *cue, const char *task, const rc_submit_opts *opts, rc_work_id *out_id)
{
    if (!cue) return RC_EINVAL;
    static const rc_submit_opts none; /* not made on every call */
    if (!opts) opts = &none;
    if (!task) return fail(cue, RC_EINVAL, "submit: the task name is NULL");
    rc_taskdef *t = recent_task(cue, task);
    if (!t) return fail(cue, RC_ENOENT, "unknown task '%s'", task);
    if (opts->n_needs && !opts->needs && !opts->keys)
        return fail(cue, RC_EINVAL, "submit '%s': n_needs is %zu but needs is NULL", task,
                    opts->n_needs);
    if (opts->n_produces && !opts->produces && !opts->keys)
        return fail(cue, RC_EINVAL, "submit '%s': n_produces is %zu but produces is NULL", task,
                    opts->n_produces);
    if (opts->n_needs > RC_MAX_DECLARED || opts->n_produces > RC_MAX_DECLARED)
        return fail(cue, RC_EINVAL, "submit '%s': more than %u needs or produces", task,
                    (unsigned)RC_MAX_DECLARED);
#define GIVEN(k) (opts->keys && opts->keys[k])
    for (size_t i = 0; i < opts->n_needs; i++)
        if (!GIVEN(i) && (!opts->needs || !opts->needs[i] || !*opts->needs[i]))
            return fail(cue, RC_EINVAL, "submit '%s': needs[%zu] is empty", task, i);
    for (size_t i = 0; i < opts->n_produces; i++)
        if (!GIVEN(opts->n_needs + i) &&
            (!opts->produces || !opts->produces[i] || !*opts->produces[i]))
            return fail(cue, RC_EINVAL, "submit '%s': produces[%zu] is empty", task, i);
#undef GIVEN
    if (isnan(opts->delay_s) || opts->delay_s < 0 || opts->delay_s > 1e9)
        return fail(cue, RC_EINVAL, "submit '%s': delay must be between 0 and 1e9 seconds", task);
    if (opts->not_before < 0)
        return fail(cue, RC_EINVAL, "submit '%s': not_before must not be negative", task);
    if (opts->n_inputs && !opts->inputs)
        return fail(cue, RC_EINVAL, "submit '%s': input count given without keys", task);
    for (size_t i = 0; i < opts->n_inputs; i++)
        if (!opts->inputs[i] || !*opts->inputs[i])
            return fail(cue, RC_EINVAL, "submit '%s': inputs[%zu] is empty", task, i);
    if (opts->result_key && !*opts->result_key)
        return fail(cue, RC_EINVAL, "submit '%s': result_key is empty", task);
    if (opts->n_inputs && opts->params && !cJSON_IsObject(opts->params))
        return fail(cue, RC_EINVAL, "submit '%s': work with inputs needs object params", task);
    prehash pre;
    prehash_keys(cue, opts, &pre);
    rc_time start_at = rc_loop_now(cue->loop) + rc_seconds(opts->delay_s);
    if (opts->not_before > start_at) start_at = opts->not_before;
    bool delayed = start_at > rc_loop_now(cue->loop);

    const rc_alloc *a = &cue->alloc;
    rc_work *w = rc_work_alloc(cue);
    if (!w) return fail(cue, RC_ENOMEM, "submit '%s': out of memory", task);
    w->task = t;
    w->attempt = 1;
    w->state = RC_PENDING;
    w->started = -1;
    w->id = cue->next_id;
    if ((opts->label && copy_label(cue, w, opts->label)) || copy_declared(cue, w, opts, &pre) ||
        copy_flow(cue, w, opts))
        goto oom;
    if ((opts->ud || opts->params) && !rc_work_cold_of(cue, w)) goto oom;
    if (opts->ud) w->cold->ud = opts->ud;
    if (rc_idtable_put(a, &cue->works, w->id, w)) goto oom;
    rc_delay *delay = NULL;
    if ((delayed && (!rc_work_cold_of(cue, w) || !(delay = rc_calloc(a, 1, sizeof *delay)))) ||
        rc_results_hold(cue, w)) {
        rc_free(a, delay);
        rc_idtable_del(&cue->alloc, &cue->works, w->id);
        goto oom;
    }

    /* From here nothing fails: the work exists. */
    if (opts->params) w->cold->params = opts->params;
    cue->next_id++;
    rc_time now = rc_loop_now(cue->loop);
    w->created = w->pending_since = now;
    cue->stats.submitted++;
    cue->stats.pending++;
    if (out_id) *out_id = w->id;
    rc_emit(cue, RC_EV_QUEUED, w, "", 0, 0);
    if (delay) {
        w->cold->delay = delay;
        rc_schedule_delay(cue, w, start_at);
    } else {
        rc_age_add(cue, w);
        rc_make_dirty(cue, w);
    }
    rc_stall_arm(cue);
    return 0;

oom:
    if (w->cold) w->cold->params = NULL; /* the caller keeps params on error */
    rc_work_release(cue, w);
    return fail(cue, RC_ENOMEM, "submit '%s': out of memory", task);
}

/* ---- finding, listing, cancelling ---- */

const rc_work *rc_get(const rc_cue *cue, rc_work_id id)
{
    return cue ? rc_idtable_get(&cue->works, id) : NULL;
}

size_t rc_list(const rc_cue *cue, int state, const char *task, const rc_work **out, size_t max)
{
    size_t n = 0;
    if (!cue) return 0;
    if (!out) max = SIZE_MAX; /* only counting */
    const rc_work *w;
    RC_FOR_EACH_WORK(cue, w) {
        if (n >= max) break;
        if (state >= 0 && (int)w->state != state) continue;
        if (task && strcmp(w->task->name, task) != 0) continue;
        if (out) out[n] = w;
        n++;
    }
    return n;
}

int rc_cancel(rc_cue *cue, rc_work_id id)
{
    if (!cue) return RC_EINVAL;
    rc_work *w = rc_idtable_get(&cue->works, id);
    if (!w) return fail(cue, RC_ENOENT, "no work with id %llu", (unsigned long long)id);
    if (w->state == RC_RUNNING)
        return fail(cue, RC_ERUNNING,
                    "work %llu is running; it finishes through its handler",
                    (unsigned long long)id);
    if (w->state != RC_PENDING)
        return fail(cue, RC_EFINISHED, "work %llu already %s", (unsigned long long)id,
                    rc_state_name(w->state));
    rc_leave_pending(cue, w);
    w->state = RC_CANCELLED;
    cue->stats.cancelled++;
    rc_to_finished(cue, w);
    rc_stall_arm(cue);
    rc_request_pass(cue); /* forgets finished work beyond retain_finished */
    rc_emit(cue, RC_EV_CANCELLED, w, "", 0, 0);
    return 0;
}

void rc_cue_stats(const rc_cue *cue, rc_stats *out)
{
    /* Counters are kept as things happen; only the queue lengths are summed. */
    if (!out) return;
    if (!cue) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = cue->stats;
    out->queued = rc_runq_len(&cue->free_svc.q);
    for (size_t i = 0; i < cue->n_services; i++) out->queued += rc_runq_len(&cue->services[i]->q);
}

/* ---- accessors ---- */

rc_work_id rc_work_get_id(const rc_work *w)
{
    return w ? w->id : 0;
}
const char *rc_work_task(const rc_work *w)
{
    return w ? w->task->name : NULL;
}
const char *rc_work_service(const rc_work *w)
{
    return w ? w->task->svc->name : NULL;
}
const char *rc_work_label(const rc_work *w)
{
    return w ? rc_work_label_text(w) : NULL;
}
const cJSON *rc_work_params(const rc_work *w)
{
    if (!w) return NULL;
    if (RC_COLD(w)->params) return RC_COLD(w)->params;
    /* Work submitted without params shares one empty object per cue, made on
     * first use; if even that cannot be had, NULL. */
    rc_cue *cue = w->task->svc->cue;
    if (!cue->empty_params) cue->empty_params = cJSON_CreateObject();
    return cue->empty_params;
}
unsigned rc_work_attempt(const rc_work *w)
{
    return w ? w->attempt : 0;
}
unsigned rc_work_max_attempts(const rc_work *w)
{
    if (!w) return 0;
    return w->task->has_retry ? w->task->retry.max_attempts : 1;
}
rc_state rc_work_state(const rc_work *w)
{
    return w ? w->state : RC_PENDING;
}
bool rc_work_skipped(const rc_work *w)
{
    return w && w->skipped;
}
rc_time rc_work_created(const rc_work *w)
{
    return w ? w->created : -1;
}
rc_time rc_work_started(const rc_work *w)
{
    return w ? w->started : -1;
}
rc_time rc_work_finished(const rc_work *w)
{
    return w && w->where == RC_W_FINISHED ? w->finished : -1;
}
const cJSON *rc_work_result(const rc_work *w)
{
    return w && w->phase == RC_PHASE_FINISHED ? w->result : NULL;
}
bool rc_work_retry_asked(const rc_work *w)
{
    return w && w->retry_asked;
}
const char *rc_work_error(const rc_work *w)
{
    return w && w->state == RC_FAILED ? RC_COLD(w)->error : NULL;
}
size_t rc_work_needs(const rc_work *w, const char *const **keys)
{
    if (keys) *keys = w && w->n_needs ? (const char *const *)w->needs : NULL;
    return w ? w->n_needs : 0;
}
void *rc_work_ud(const rc_work *w)
{
    return w ? RC_COLD(w)->ud : NULL;
}
size_t rc_work_produces(const rc_work *w, const char *const **keys)
{
    if (keys) *keys = w && w->n_produces ? (const char *const *)rc_declared_produces(w) : NULL;
    return w ? w->n_produces : 0;
}

void rc_work_get_info(const rc_work *w, rc_work_info *out)
{
    if (!out) return;
    if (!w) {
        /* What the single getters say of no work: no attempt, no times. */
        *out = (rc_work_info){.created = -1,
                              .started_at = -1,
                              .finished_at = -1,
                              .progress = -1,
                              .progress_message = ""};
        return;
    }
    rc_status st = RC_ST_PENDING;
    switch (w->state) {
    case RC_PENDING: st = w->attempt > 1 ? RC_ST_RETRYING : RC_ST_PENDING; break;
    case RC_RUNNING: st = RC_ST_STARTED; break;
    case RC_COMPLETED: st = RC_ST_COMPLETED; break;
    case RC_FAILED: st = RC_ST_FAILED; break;
    case RC_CANCELLED: st = RC_ST_CANCELLED; break;
    }
    *out = (rc_work_info){
        .status = st,
        .ready = w->where == RC_W_FINISHED,
        .attempts = w->attempt,
        .created = w->created,
        .started_at = w->started,
        .finished_at = w->where == RC_W_FINISHED ? w->finished : -1,
        .progress = w->state == RC_RUNNING ? w->progress : -1,
        .progress_message =
            w->state == RC_RUNNING && RC_COLD(w)->progress_msg ? RC_COLD(w)->progress_msg : "",
        .last_error = RC_COLD(w)->error,
        .result = w->phase == RC_PHASE_FINISHED ? w->result : NULL,
    };
}

const cJSON *rc_result_artifact(const rc_cue *cue, const char *key)
{
    const rc_result_art *r = cue && key ? rc_strmap_get(&cue->results, key) : NULL;
    return r && r->has_value ? r->value : NULL;
}

/* ---- artifact key handles ---- */

rc_key *rc_key_hold(rc_cue *cue, const char *key)
{
    if (!cue || !key || !*key) return NULL;
    rc_keyent *e = rc_keytab_intern(&cue->keys, &cue->small, &cue->alloc, key);
    if (!e) return NULL;
    if (e->refs == UINT32_MAX) return NULL; /* held 4 billion times: refused */
    e->refs++;
    return (rc_key *)e;
}

int rc_key_hold_n(rc_cue *cue, const char *const *keys, size_t n, rc_key **out)
{
    if (!cue) return RC_EINVAL;
    if (n && (!keys || !out)) return fail(cue, RC_EINVAL, "key_hold_n: keys or out is NULL");
    for (size_t i = 0; i < n; i++)
        if (!keys[i] || !*keys[i])
            return fail(cue, RC_EINVAL, "key_hold_n: keys[%zu] is empty", i);
    /* In batches: hash and ask for the slots of a batch, then look them up. */
    enum { BATCH = 16 };
    uint64_t h[BATCH];
    size_t len[BATCH];
    for (size_t base = 0; base < n; base += BATCH) {
        const size_t m = n - base < BATCH ? n - base : BATCH;
        for (size_t j = 0; j < m; j++) {
            h[j] = rc_keytab_hash(keys[base + j], &len[j]);
            rc_keytab_prefetch(&cue->keys, h[j]);
        }
        for (size_t j = 0; j < m; j++) {
            rc_keyent *e = rc_keytab_intern_hashed(&cue->keys, &cue->small, &cue->alloc,
                                                   keys[base + j], len[j], h[j]);
            if (!e || e->refs == UINT32_MAX) {
                for (size_t k = 0; k < base + j; k++) {
                    rc_key_release(cue, out[k]);
                    out[k] = NULL;
                }
                return fail(cue, RC_ENOMEM, "key_hold_n: out of memory");
            }
            e->refs++;
            out[base + j] = (rc_key *)e;
        }
    }
    return 0;
}

int rc_key_reserve(rc_cue *cue, size_t n)
{
    if (!cue) return RC_EINVAL;
    if (rc_keytab_reserve(&cue->keys, &cue->alloc, n))
        return fail(cue, RC_ENOMEM, "key_reserve: out of memory for %zu keys", n);
    return 0;
}

void rc_key_counts(const rc_cue *cue, size_t *keys, size_t *room)
{
    if (keys) *keys = cue ? cue->keys.count : 0;
    if (room) *room = cue ? rc_keytab_room(&cue->keys) : 0;
}

rc_key *rc_key_hold_key(rc_cue *cue, rc_key *key)
{
    rc_keyent *e = (rc_keyent *)key;
    if (!cue || !e || e->refs == UINT32_MAX) return NULL;
    e->refs++;
    return key;
}

void rc_key_release(rc_cue *cue, rc_key *key)
{
    if (!cue || !key) return;
    rc_keytab_unref(&cue->keys, &cue->small, &cue->alloc, (rc_keyent *)key);
}

const char *rc_key_name(const rc_key *key)
{
    return key ? ((const rc_keyent *)key)->text : NULL;
}

void *rc_key_ud(const rc_key *key)
{
    return key ? ((const rc_keyent *)key)->ud : NULL;
}

void rc_key_set_ud(rc_key *key, void *ud)
{
    if (key) ((rc_keyent *)key)->ud = ud;
}

rc_key *rc_work_key(const rc_work *w, size_t i)
{
    if (!w || i >= (size_t)w->n_needs + w->n_produces) return NULL;
    return (rc_key *)RC_KEYENT_OF(w->needs[i]);
}

void rc_work_prefetch_keys(const rc_work *w)
{
    if (!w) return;
    const size_t n = (size_t)w->n_needs + w->n_produces;
    for (size_t i = 0; i < n; i++) __builtin_prefetch(&RC_KEYENT_OF(w->needs[i])->ud);
}
