/* timeouts.c -- the timers that watch the cue as a whole:
 *   pending  warn about / fail work pending too long (per item, once)
 *   stall    warn about / fail everything when the cue makes no progress
 *   poll     re-check waiting work for changes the core cannot see
 *   refresh  re-evaluate priorities so an ageing callback prevents starvation
 *
 * None of them scans on a tick.  Pending work sits in a list ordered by when
 * it became pending, so the next deadline is at the head (timeouts) or at a
 * cursor (warnings, which leave the work in place).  The stall timer is armed
 * lazily: when it fires it compares against the last progress and re-arms. */
#include <stdio.h>

#include "dispatch.h"
#include "timeouts.h"
#include "work.h"

static void pending_fire(rc_loop *loop, rc_timer *t, void *arg);
static void stall_fire(rc_loop *loop, rc_timer *t, void *arg);
static void poll_fire(rc_loop *loop, rc_timer *t, void *arg);
static void refresh_fire(rc_loop *loop, rc_timer *t, void *arg);

void rc_timeouts_init(rc_cue *cue)
{
    rc_dlist_init(&cue->age);
    rc_timer_init(&cue->pending_timer, pending_fire, cue);
    rc_timer_init(&cue->stall_timer, stall_fire, cue);
    rc_timer_init(&cue->poll_timer, poll_fire, cue);
    rc_timer_init(&cue->refresh_timer, refresh_fire, cue);
    /* A timer that can fail work keeps the loop alive: it will unblock it.
     * Warnings and priority refreshes cannot, so they do not. */
    rc_timer_set_ref(&cue->pending_timer, cue->opts.pending_timeout > 0);
    rc_timer_set_ref(&cue->stall_timer, cue->opts.stall_timeout > 0);
    rc_timer_set_ref(&cue->refresh_timer, false);
}

void rc_timeouts_fini(rc_cue *cue)
{
    rc_timer_stop(cue->loop, &cue->pending_timer);
    rc_timer_stop(cue->loop, &cue->stall_timer);
    rc_timer_stop(cue->loop, &cue->poll_timer);
    rc_timer_stop(cue->loop, &cue->refresh_timer);
}

/* ---- pending ---- */

static void warn_pending(rc_cue *cue, rc_work *w, double waited)
{
    w->warned = true;
    if (cue->hooks.on_pending_warning)
        cue->hooks.on_pending_warning(cue, w, waited, cue->hooks.ud);
    else
        fprintf(stderr, "runcue: warning: %s[%llu] pending for %.1fs (threshold %gs)\n",
                w->task->name, (unsigned long long)w->id, waited, cue->opts.pending_warn_after);
    char detail[96];
    snprintf(detail, sizeof detail, "pending for %.3fs (threshold %gs)", waited,
             cue->opts.pending_warn_after);
    rc_emit(cue, RC_EV_PENDING_WARNING, w, detail, waited, 0);
}

static void pending_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    rc_cue *cue = arg;
    rc_time now = rc_loop_now(loop);
    if (cue->opts.pending_timeout > 0) {
        rc_time limit = rc_seconds(cue->opts.pending_timeout);
        rc_dnode *head;
        while ((head = rc_dlist_first(&cue->age))) {
            rc_work *w = RC_CONTAINER(head, rc_work, age);
            if (w->pending_since + limit > now) break;
            char msg[128];
            snprintf(msg, sizeof msg, "pending timeout: waited %.1fs (limit %gs)",
                     rc_ns_to_s(now - w->pending_since), cue->opts.pending_timeout);
            rc_fail_pending(cue, w, RC_FAIL_PENDING_TIMEOUT, msg);
        }
    }
    if (cue->opts.pending_warn_after > 0) {
        rc_time limit = rc_seconds(cue->opts.pending_warn_after);
        while (cue->warn_cursor && cue->warn_cursor->pending_since + limit <= now) {
            rc_work *w = cue->warn_cursor;
            cue->warn_cursor = rc_age_next(cue, w);
            warn_pending(cue, w, rc_ns_to_s(now - w->pending_since));
        }
    }
    rc_pending_arm(cue);
}

/* ---- stall ---- */

static void stall_fail_all(rc_cue *cue, double since)
{
    size_t n = rc_stall_pending(cue);
    char msg[128];
    snprintf(msg, sizeof msg, "stall timeout: no progress for %.1fs (limit %gs)", since,
             cue->opts.stall_timeout);
    char detail[96];
    snprintf(detail, sizeof detail, "no progress for %.3fs, %zu pending; failing them", since, n);
    rc_emit(cue, RC_EV_STALLED, NULL, detail, since, n);
    n = rc_stall_pending(cue); /* the observer may have changed things */
    rc_work_id *ids = rc_malloc(&cue->alloc, n * sizeof *ids);
    if (!ids) {
        /* No memory for the list: fail the oldest pending work one at a time,
         * starting over after each since callbacks may change the list. */
        for (;;) {
            rc_work *victim = NULL, *w;
            RC_FOR_EACH_WORK(cue, w)
            {
                if (w->state == RC_PENDING && w->where != RC_W_DELAYED) {
                    victim = w;
                    break;
                }
            }
            if (!victim) return;
            rc_fail_pending(cue, victim, RC_FAIL_STALL_TIMEOUT, msg);
        }
    }
    size_t k = 0;
    /* Collect first: on_failure may submit or cancel work. */
    rc_work *w;
    RC_FOR_EACH_WORK(cue, w)
    {
        if (k >= n) break;
        if (w->state == RC_PENDING && w->where != RC_W_DELAYED) ids[k++] = w->id;
    }
    for (size_t i = 0; i < k; i++) {
        w = rc_idtable_get(&cue->works, ids[i]);
        if (w && w->state == RC_PENDING && w->where != RC_W_DELAYED)
            rc_fail_pending(cue, w, RC_FAIL_STALL_TIMEOUT, msg);
    }
    rc_free(&cue->alloc, ids);
}

static void stall_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    rc_cue *cue = arg;
    size_t pending = rc_stall_pending(cue);
    if (pending == 0) return;
    rc_time now = rc_loop_now(loop);
    rc_time base =
        cue->stats.last_progress > cue->stall_base ? cue->stats.last_progress : cue->stall_base;
    double since = rc_ns_to_s(now - base);
    if (cue->opts.stall_timeout > 0 && now - base >= rc_seconds(cue->opts.stall_timeout)) {
        stall_fail_all(cue, since);
    } else if (cue->opts.stall_warn_after > 0 && !cue->stall_warned &&
               now - base >= rc_seconds(cue->opts.stall_warn_after)) {
        cue->stall_warned = true;
        if (cue->hooks.on_stall_warning)
            cue->hooks.on_stall_warning(cue, since, pending, cue->hooks.ud);
        else
            fprintf(stderr,
                    "runcue: warning: stall: no progress for %.1fs (%zu work items pending)\n",
                    since, pending);
        char detail[96];
        snprintf(detail, sizeof detail, "no progress for %.3fs, %zu pending", since, pending);
        rc_emit(cue, RC_EV_STALL_WARNING, NULL, detail, since, pending);
    }
    rc_stall_arm(cue);
}

/* ---- poll ---- */

static void poll_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop;
    (void)t;
    rc_cue *cue = arg;
    if (cue->stats.waiting) rc_artifacts_changed(cue, NULL);
}

/* ---- priority refresh ---- */

static void refresh_service(rc_cue *cue, rc_svc *s)
{
    size_t n = rc_runq_len(&s->q);
    if (!n) return;
    rc_work **items = rc_malloc(&cue->alloc, n * sizeof *items);
    if (!items) return; /* keep the old order; try again next time */
    for (size_t i = 0; i < n; i++)
        items[i] = RC_CONTAINER(rc_runq_pop(&s->q), rc_work, q);
    for (size_t i = 0; i < n; i++) {
        rc_work *w = items[i];
        const double p = rc_priority_eval(cue, w);
        /* Popping freed the space, so pushing back cannot need more. */
        rc_runq_push(&cue->alloc, &s->q, &w->q, p, w->id);
    }
    rc_free(&cue->alloc, items);
}

static void refresh_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop;
    (void)t;
    rc_cue *cue = arg;
    if (!cue->hooks.priority) return;
    for (size_t i = 0; i < cue->n_services; i++)
        refresh_service(cue, cue->services[i]);
    refresh_service(cue, &cue->free_svc);
    size_t queued = rc_runq_len(&cue->free_svc.q);
    for (size_t i = 0; i < cue->n_services; i++)
        queued += rc_runq_len(&cue->services[i]->q);
    if (queued) rc_refresh_arm(cue);
}
