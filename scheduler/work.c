/* work.c -- work states: where a pending work item lives and every move
 * between places (see cue_types.h), how it leaves the pending state, and
 * what is kept of finished work.  The timers that watch pending work are
 * armed here, as work moves; what they do when they fire is timeouts.c's.
 *
 * Everything above (dispatch, timeouts, the cue object) changes work through
 * these functions; this file calls only observe.c and the base. */
#include <string.h>

#include "results.h"
#include "work.h"

/* ---- work records ---- */

static bool age_enabled(const rc_cue *cue)
{
    return cue->opts.pending_warn_after > 0 || cue->opts.pending_timeout > 0;
}

static size_t record_size(const rc_cue *cue)
{
    /* The options are fixed for the cue's life, and so is the record size. */
    return sizeof(rc_work) + (age_enabled(cue) ? sizeof(rc_dnode) : 0);
}

/* A new slab, made the current one.  0 or RC_ENOMEM. */
static int new_slab(rc_cue *cue, size_t size)
{
    size_t i = 0;
    while (i < cue->n_wslabs && cue->wslabs[i].mem) i++; /* slabs are few */
    if (i > UINT16_MAX) return RC_ENOMEM;
    if (i == cue->n_wslabs && rc_grow(&cue->alloc, (void **)&cue->wslabs, &cue->wslabs_cap,
                                      i + 1, sizeof *cue->wslabs))
        return RC_ENOMEM;
    /* Slabs grow geometrically (64 .. 65536 works) so small cues stay small
     * and large runs make few allocations. */
    const size_t n = cue->next_slab_works ? cue->next_slab_works : 64;
    /* Records start on a cache line: a 128-byte record is two lines, not
     * three, for every pass that reads it. */
    char *mem = rc_malloc(&cue->alloc, n * size + 63);
    if (!mem) return RC_ENOMEM;
    rc_advise_huge(mem, n * size + 63);
    char *recs = (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    if (i == cue->n_wslabs) cue->n_wslabs++;
    cue->wslabs[i] = (rc_wslab){mem, recs, NULL, (uint32_t)n, 0, 0, false};
    cue->cur_slab = i;
    cue->empty_slabs++;
    if (n < 65536) cue->next_slab_works = n * 2;
    return 0;
}

static bool has_room(const rc_wslab *s)
{
    return s->mem && (s->free || s->bump < s->n);
}

rc_work *rc_work_alloc(rc_cue *cue)
{
    const size_t size = record_size(cue);
    while (cue->cur_slab >= cue->n_wslabs || !has_room(&cue->wslabs[cue->cur_slab])) {
        /* The current slab is full: another one with room, or a new one. */
        bool found = false;
        while (!found && cue->n_partial) {
            const size_t i = cue->partial[--cue->n_partial];
            cue->wslabs[i].listed = false;
            if ((found = has_room(&cue->wslabs[i]))) cue->cur_slab = i;
        }
        if (!found && new_slab(cue, size)) return NULL;
    }
    rc_wslab *s = &cue->wslabs[cue->cur_slab];
    rc_work *w = s->free;
    if (w)
        s->free = (rc_work *)w->task; /* the free list's link */
    else
        w = (rc_work *)(s->recs + (size_t)s->bump++ * size);
    if (s->live++ == 0) cue->empty_slabs--;
    /* The record in a size the compiler knows (a few vector stores; a
     * string instruction of a run-time length starts slower than that),
     * then the pending-age node, if the records have one. */
    memset(w, 0, sizeof *w);
    if (size > sizeof *w) memset((char *)w + sizeof *w, 0, size - sizeof *w);
    w->slab = (uint16_t)cue->cur_slab;
    return w;
}

/* The record goes back to its slab; a slab left with no live work is given
 * back too (one such slab is kept, so work that comes and goes at a slab's
 * edge does not make and free slabs over and over): to the cue's small
 * objects when they have no such block waiting -- what forgotten work
 * leaves (its producers' ghosts) then takes pages the run already has --
 * else to the allocator. */
static void free_record(rc_cue *cue, rc_work *w)
{
    const size_t i = w->slab;
    rc_wslab *s = &cue->wslabs[i];
    w->id = 0;
    w->task = (rc_taskdef *)s->free;
    s->free = w;
    if (--s->live == 0) {
        cue->empty_slabs++;
        if (!cue->tearing_down && i != cue->cur_slab && cue->empty_slabs > 1) {
            if (!rc_small_give(&cue->small, &cue->alloc, s->mem,
                               (size_t)(s->recs - s->mem) + (size_t)s->n * record_size(cue)))
                rc_free(&cue->alloc, s->mem);
            *s = (rc_wslab){0}; /* a stale entry on the partial list finds mem NULL */
            cue->empty_slabs--;
            return;
        }
    }
    if (!s->listed && i != cue->cur_slab &&
        !rc_grow(&cue->alloc, (void **)&cue->partial, &cue->partial_cap, cue->n_partial + 1,
                 sizeof *cue->partial)) {
        /* (Out of memory: its free records wait until the cue is freed.) */
        cue->partial[cue->n_partial++] = (uint16_t)i;
        s->listed = true;
    }
}

void rc_work_slabs_free(rc_cue *cue)
{
    for (size_t i = 0; i < cue->n_wslabs; i++) rc_free(&cue->alloc, cue->wslabs[i].mem);
    rc_free(&cue->alloc, cue->wslabs);
    rc_free(&cue->alloc, cue->partial);
}

rc_work_cold *rc_work_cold_of(rc_cue *cue, rc_work *w)
{
    if (!w->cold && (w->cold = rc_small_alloc(&cue->small, &cue->alloc, sizeof *w->cold)))
        memset(w->cold, 0, sizeof *w->cold);
    return w->cold;
}

void rc_work_set_error(rc_cue *cue, rc_work *w, const char *error)
{
    rc_work_cold *c = rc_work_cold_of(cue, w);
    if (!c) return;
    rc_free(&cue->alloc, c->error);
    c->error = rc_copy_error(cue, error);
}

void rc_work_drop_detail(rc_cue *cue, rc_work *w)
{
    if (w->detail && !w->detail_framed)
        rc_small_free(&cue->small, &cue->alloc, w->detail, strlen(w->detail) + 1);
    w->detail = NULL;
    w->detail_framed = false;
}

void rc_work_phase(rc_cue *cue, rc_work *w, enum rc_phase phase)
{
    rc_work_cold *c = w->cold;
    if (w->phase == RC_PHASE_CHECKED) {
        rc_work_drop_detail(cue, w);
        if (c) rc_free(&cue->alloc, c->unmet_big);
    } else if (w->phase == RC_PHASE_FINISHED) {
        cJSON_Delete(w->result);
    }
    if ((w->phase == RC_PHASE_RUNNING || w->phase == RC_PHASE_FINISHED) && c) {
        rc_free(&cue->alloc, c->progress_msg);
        rc_free(&cue->alloc, c->remote_status);
        c->progress_msg = c->remote_status = NULL;
    }
    if (c) c->unmet_big = NULL;
    w->wait_key = NULL;
    w->detail = NULL;
    w->detail_framed = false;
    w->unmet_small = 0;
    w->phase = (uint8_t)phase;
    if (phase == RC_PHASE_RUNNING) w->progress = -1;
}

void rc_work_keep_result(rc_work *w, cJSON *result)
{
    /* The running attempt's messages stay in the cold record until the
     * work is released (rc_work_phase frees them then). */
    w->wait_key = NULL;
    w->detail = NULL;
    w->unmet_small = 0;
    w->result = result;
    w->phase = RC_PHASE_FINISHED;
}

void rc_work_release(rc_cue *cue, rc_work *w)
{
    const rc_alloc *a = &cue->alloc;
    if (w->label_kind == RC_LABEL_ALLOCATED)
        rc_small_free(&cue->small, a, w->label_heap, strlen(w->label_heap) + 1);
    if (w->needs) {
        const size_t n = (size_t)w->n_needs + w->n_produces;
        for (size_t k = 0; k < n; k++)
            rc_keytab_unref(&cue->keys, &cue->small, a, RC_KEYENT_OF(w->needs[k]));
        rc_small_free(&cue->small, a, w->needs, n * sizeof *w->needs);
    }
    rc_work_phase(cue, w, RC_PHASE_NONE);
    rc_results_release(cue, w);
    rc_work_cold *c = w->cold;
    if (c) {
        cJSON_Delete(c->params);
        rc_free(a, c->error);
        rc_work_flow *f = c->flow;
        if (f) {
            rc_free(a, f->result_key);
            for (size_t i = 0; i < f->n_inputs; i++) rc_free(a, f->inputs[i]);
            rc_free(a, f->inputs);
            rc_free(a, f->input_param);
            rc_free(a, f);
        }
        if (c->delay) {
            rc_timer_stop(cue->loop, &c->delay->timer);
            rc_free(a, c->delay);
        }
        rc_small_free(&cue->small, a, c, sizeof *c);
        w->cold = NULL;
    }
    free_record(cue, w);
}

/* ---- the pass and runnable services ---- */

void rc_request_pass(rc_cue *cue)
{
    /* A running pass loops until nothing is left, so it sees this change. */
    if (!cue->in_pass) rc_defer_request(cue->loop, &cue->pass);
}

void rc_mark_runnable(rc_cue *cue, rc_svc *svc)
{
    if (!svc->runnable) {
        svc->runnable = true;
        svc->next_runnable = NULL;
        if (cue->runnable_tail)
            cue->runnable_tail->next_runnable = svc;
        else
            cue->runnable_head = svc;
        cue->runnable_tail = svc;
    }
    rc_request_pass(cue);
}

void rc_unlink_pending(rc_cue *cue, rc_work *w)
{
    switch (w->where) {
    case RC_W_DIRTY: rc_dlist_remove(&cue->dirty, &w->link); break;
    case RC_W_WAITING:
        if (w->wait_key) {
            rc_keyent *e = w->wait_key;
            rc_ring_remove(&e->waiters, &w->link);
            w->wait_key = NULL;
            rc_keytab_drop_unused(&cue->keys, &cue->small, &cue->alloc, e); /* if unused */
        } else {
            rc_dlist_remove(&cue->waiting_any, &w->link);
        }
        cue->stats.waiting--;
        w->task->svc->waiting--;
        break;
    case RC_W_ORPHAN:
        rc_dlist_remove(&w->task->orphans, &w->link);
        cue->stats.waiting--;
        w->task->svc->waiting--;
        break;
    case RC_W_QUEUED:
        rc_runq_remove(&cue->alloc, &w->task->svc->q, &w->q);
        /* Nothing left to start: a rate timer would only hold the loop (and
         * virtual time) to an instant nobody needs. */
        if (!rc_runq_len(&w->task->svc->q)) rc_timer_stop(cue->loop, &w->task->svc->rate_timer);
        break;
    case RC_W_DELAYED:
        rc_timer_stop(cue->loop, &w->cold->delay->timer);
        cue->stats.delayed--;
        break;
    default: break;
    }
    w->where = RC_W_NONE;
}

/* The work leaves the pending state for good (started, cancelled, failed). */
void rc_leave_pending(rc_cue *cue, rc_work *w)
{
    rc_unlink_pending(cue, w);
    rc_age_remove(cue, w);
    cue->stats.pending--;
}

void rc_make_dirty(rc_cue *cue, rc_work *w)
{
    rc_unlink_pending(cue, w);
    w->where = RC_W_DIRTY;
    rc_dlist_push_back(&cue->dirty, &w->link);
    rc_request_pass(cue);
}

void rc_to_finished(rc_cue *cue, rc_work *w)
{
    w->where = RC_W_FINISHED;
    w->finished = rc_loop_now(cue->loop);
    w->epoch = cue->epoch;
    bool forget = (cue->opts.forget_non_producers && !w->n_produces) ||
                  (cue->opts.forget_completed && w->state == RC_COMPLETED && !w->skipped &&
                   w->n_produces);
    rc_dlist_push_back(forget ? &cue->forgettable : &cue->finished, &w->link);
    rc_results_release(cue, w);
}

/* The bytes a ghost takes (its label follows it). */
static size_t ghost_size(const rc_ghost *g)
{
    return sizeof *g + (g->has_label ? strlen(g->label) + 1 : 0);
}

static void ghost_unref(rc_cue *cue, rc_ghost *g)
{
    if (--g->refs) return;
    const size_t size = ghost_size(g);
    if (size > RC_SMALL_MAX) cue->n_large_ghosts--;
    rc_small_free(&cue->small, &cue->alloc, g, size);
}

/* A completed producer is forgotten: what the diagnosis names it by stays on
 * each key it produced, unless a newer one is there.  Out of memory: the
 * diagnosis will not find it (as if forgotten outright). */
static void leave_ghost(rc_cue *cue, const rc_work *w)
{
    const char *label = rc_work_label_text(w);
    const size_t len = label ? strlen(label) + 1 : 0;
    rc_ghost *g = rc_small_alloc(&cue->small, &cue->alloc, sizeof *g + len);
    if (!g) return;
    *g = (rc_ghost){w->id, w->task, w->epoch, 0, label != NULL};
    if (label) memcpy(g->label, label, len);
    for (size_t i = 0; i < w->n_produces; i++) {
        rc_keyent *e = RC_KEYENT_OF(rc_declared_produces(w)[i]);
        if (e->ghost == g || (e->ghost && e->ghost->id > g->id)) continue;
        if (e->ghost)
            ghost_unref(cue, e->ghost);
        else
            e->refs++; /* the ghost keeps the key */
        e->ghost = g;
        g->refs++;
    }
    if (!g->refs)
        rc_small_free(&cue->small, &cue->alloc, g, sizeof *g + len);
    else if (sizeof *g + len > RC_SMALL_MAX)
        cue->n_large_ghosts++;
}

void rc_ghosts_fini(rc_cue *cue)
{
    /* Ghosts of labels too long for the slabs came from the allocator; the
     * others go with the slabs.  Only when there are such is the key table
     * walked. */
    const rc_keytab *t = &cue->keys;
    for (size_t i = 0; cue->n_large_ghosts && i < t->cap; i++) {
        rc_keyent *e = t->ctrl[i] & 0x80 ? t->ents[i] : NULL;
        if (!e || !e->ghost) continue;
        ghost_unref(cue, e->ghost);
        e->ghost = NULL;
    }
}

/* Forget the first finished work on `list`. */
static void forget_first(rc_cue *cue, rc_dlist *list)
{
    rc_work *w = RC_CONTAINER(rc_dlist_first(list), rc_work, link);
    rc_dlist_remove(list, &w->link);
    rc_idtable_del(&cue->alloc, &cue->works, w->id);
    if (cue->opts.forget_completed && w->state == RC_COMPLETED && !w->skipped && w->n_produces)
        leave_ghost(cue, w);
    rc_work_release(cue, w);
}

/* Forget finished non-producers (opts.forget_non_producers) and the oldest
 * finished work beyond opts.retain_finished. */
void rc_cue_forget_finished(rc_cue *cue)
{
    while (cue->forgettable.len) forget_first(cue, &cue->forgettable);
    size_t keep = cue->opts.retain_finished;
    if (!keep) return;
    while (cue->finished.len > keep) forget_first(cue, &cue->finished);
}

/* ---- progress, pending age, and the timers they arm ---- */

void rc_record_progress(rc_cue *cue)
{
    cue->stats.last_progress = rc_loop_now(cue->loop);
    cue->stall_warned = false;
    rc_stall_arm(cue);
}

/* ---- delays ---- */

static void delay_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop;
    (void)t;
    rc_delay *d = arg;
    rc_work *w = d->work;
    rc_cue *cue = w->task->svc->cue;
    w->where = RC_W_NONE;
    cue->stats.delayed--;
    w->pending_since = rc_loop_now(loop);
    rc_age_add(cue, w);
    rc_make_dirty(cue, w);
    rc_stall_arm(cue);
}

int rc_schedule_delay(rc_cue *cue, rc_work *w, rc_time not_before)
{
    rc_work_cold *c = rc_work_cold_of(cue, w);
    if (!c || (!c->delay && !(c->delay = rc_calloc(&cue->alloc, 1, sizeof *c->delay)))) goto now;
    rc_timer_init(&c->delay->timer, delay_fire, c->delay);
    c->delay->work = w;
    if (rc_timer_start(cue->loop, &c->delay->timer, not_before)) goto now;
    c->delay->not_before = not_before;
    w->where = RC_W_DELAYED;
    cue->stats.delayed++;
    return 0;
now:
    /* No memory for a timer: run it without the delay rather than lose it. */
    w->pending_since = rc_loop_now(cue->loop);
    rc_age_add(cue, w);
    rc_make_dirty(cue, w);
    return RC_ENOMEM;
}

/* ---- failing ---- */

char *rc_copy_error(rc_cue *cue, const char *error)
{
    return rc_strdup(&cue->alloc, error && *error ? error : "failed");
}

void rc_finish_failed(rc_cue *cue, rc_work *w, rc_fail_kind kind, const char *error)
{
    w->state = RC_FAILED;
    rc_work_set_error(cue, w, error);
    cue->stats.failed++;
    rc_to_finished(cue, w);
    rc_request_pass(cue); /* the pass forgets finished work beyond retain_finished */
    const char *msg = RC_COLD(w)->error ? RC_COLD(w)->error : "failed (message lost: out of memory)";
    if (cue->hooks.on_failure) cue->hooks.on_failure(cue, w, kind, msg, cue->hooks.ud);
    double ran = w->started >= 0 && kind == RC_FAIL_HANDLER
                     ? rc_ns_to_s(w->finished - w->started)
                     : 0;
    rc_emit(cue, kind == RC_FAIL_HANDLER ? RC_EV_FAILED : RC_EV_TIMEOUT, w, msg, ran, 0);
}

void rc_fail_pending(rc_cue *cue, rc_work *w, rc_fail_kind kind, const char *error)
{
    rc_leave_pending(cue, w);
    rc_finish_failed(cue, w, kind, error);
    rc_stall_arm(cue);
}

rc_work *rc_age_next(rc_cue *cue, rc_work *w)
{
    rc_dnode *n = rc_dlist_next(&cue->age, w->age);
    return n ? RC_CONTAINER(n, rc_work, age) : NULL;
}

void rc_pending_arm(rc_cue *cue)
{
    rc_time when = RC_TIME_NEVER;
    rc_dnode *head = rc_dlist_first(&cue->age);
    if (head && cue->opts.pending_timeout > 0)
        when = RC_CONTAINER(head, rc_work, age)->pending_since +
               rc_seconds(cue->opts.pending_timeout);
    if (cue->warn_cursor && cue->opts.pending_warn_after > 0) {
        rc_time w = cue->warn_cursor->pending_since + rc_seconds(cue->opts.pending_warn_after);
        if (w < when) when = w;
    }
    if (when == RC_TIME_NEVER)
        rc_timer_stop(cue->loop, &cue->pending_timer);
    else if (!rc_timer_active(&cue->pending_timer) || cue->pending_timer.when != when)
        rc_timer_start(cue->loop, &cue->pending_timer, when);
}

void rc_age_add(rc_cue *cue, rc_work *w)
{
    if (!age_enabled(cue)) return;
    rc_dlist_push_back(&cue->age, w->age);
    w->in_age = true;
    if (!cue->warn_cursor && cue->opts.pending_warn_after > 0 && !w->warned)
        cue->warn_cursor = w;
    /* Newer work never has an earlier deadline: arm only if idle. */
    if (!rc_timer_active(&cue->pending_timer)) rc_pending_arm(cue);
}

void rc_age_remove(rc_cue *cue, rc_work *w)
{
    if (!w->in_age) return;
    if (cue->warn_cursor == w) cue->warn_cursor = rc_age_next(cue, w);
    rc_dlist_remove(&cue->age, w->age);
    w->in_age = false;
    /* A later deadline is found when the timer fires; only an empty list must
     * stop it, or a referenced timer would hold the loop (and virtual time)
     * to a deadline nobody has. */
    if (cue->age.len == 0 || !cue->warn_cursor) rc_pending_arm(cue);
}

size_t rc_stall_pending(const rc_cue *cue)
{
    /* Delayed work has a timer that will wake it: it cannot stall the cue. */
    return cue->stats.pending - cue->stats.delayed;
}

void rc_stall_arm(rc_cue *cue)
{
    double warn = cue->opts.stall_warn_after, timeout = cue->opts.stall_timeout;
    if (warn <= 0 && timeout <= 0) return;
    /* Nothing pending, or the cue paused (its own choice, not a stall): no
     * clock, and the next pending work or the resume starts one afresh. */
    if (rc_stall_pending(cue) == 0 || cue->paused) {
        rc_timer_stop(cue->loop, &cue->stall_timer);
        cue->stall_idle = true;
        return;
    }
    if (rc_timer_active(&cue->stall_timer)) return; /* re-checked when it fires */
    /* Time with nothing pending is not a stall: count from whichever came
     * last, the last progress or the moment work became pending. */
    rc_time now = rc_loop_now(cue->loop);
    rc_time base = cue->stats.last_progress;
    if (cue->stall_idle) {
        base = now;
        cue->stall_idle = false;
        cue->stall_base = now;
    } else if (cue->stall_base > base) {
        base = cue->stall_base;
    }
    rc_time when = RC_TIME_NEVER;
    if (warn > 0 && !cue->stall_warned) when = base + rc_seconds(warn);
    if (timeout > 0 && base + rc_seconds(timeout) < when) when = base + rc_seconds(timeout);
    if (when != RC_TIME_NEVER) rc_timer_start(cue->loop, &cue->stall_timer, when);
}

void rc_poll_arm(rc_cue *cue)
{
    if (cue->opts.poll_interval <= 0 || cue->stats.waiting == 0) return;
    if (rc_timer_active(&cue->poll_timer)) return;
    rc_timer_start(cue->loop, &cue->poll_timer,
                   rc_loop_now(cue->loop) + rc_seconds(cue->opts.poll_interval));
}

void rc_refresh_arm(rc_cue *cue)
{
    if (!cue->hooks.priority || cue->opts.priority_refresh <= 0) {
        rc_timer_stop(cue->loop, &cue->refresh_timer);
        return;
    }
    if (rc_timer_active(&cue->refresh_timer)) return;
    rc_timer_start(cue->loop, &cue->refresh_timer,
                   rc_loop_now(cue->loop) + rc_seconds(cue->opts.priority_refresh));
}
